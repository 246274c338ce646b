//! Applying a plan against a registry, one step at a time, journaled.
//!
//! Before a repository's first delete, its tags are listed again and the ones the plan has
//! not seen (pushed since the scan) are resolved: a step whose digest (or a platform manifest
//! of it) now carries such a tag is skipped with a sentence, since deleting it would take that
//! tag along. Every step re-resolves its own tags too: a tag that moved since the plan is
//! skipped and reported. The manifest bytes are backed up and an audit line is written before anything is
//! deleted. A step whose work is already done (a rerun after an interruption) is recognised
//! and not repeated, so applying the same plan twice deletes nothing twice. A failure that
//! every later step would share (the registry is unreachable, or refuses deletes) stops the
//! run there instead of failing each remaining step alike.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;

use super::blob_backup::{BlobBackup, BlobBackupError, BlobStore};
use super::journal::{
    AuditEntry, BackupManifest, BackupMeta, Journal, JournalError, new_backup_id,
};
use super::plan::{Mode, Plan, PlannedDeletion};
use super::unseen::{Unseen, pushed_onto, unseen_tags};
use crate::registry::manifest::{OCI_CONFIG, OCI_MANIFEST};
use crate::registry::{Client, Digest, ManifestRef, RegistryError, RepoName, Tag};

/// Why a step failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StepError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The backup could not be written: nothing of the step was deleted.
    #[error("cannot save the backup, so nothing was deleted: {0}")]
    Backup(#[from] JournalError),
    /// The tags of the repository could not be listed or resolved again, so tags pushed since
    /// the scan could not be ruled out: nothing there is deleted.
    #[error(
        "cannot list the tags of {repository} again to look for tags pushed since the plan was made, so nothing there was deleted: {source}"
    )]
    Recheck {
        repository: RepoName,
        source: RegistryError,
    },
    /// Untagging: the tag moved between the check and the move to the placeholder.
    #[error("{repository}:{tag}: the tag moved to {now} while it was being removed; left alone")]
    MovedWhileUntagging {
        repository: RepoName,
        tag: Tag,
        now: Digest,
    },
    /// Untagging: the placeholder could not be deleted, and the tag could not be put back.
    #[error(
        "{repository}:{tag}: removing the tag failed ({removing}) and putting it back failed too ({putting_back}): {tag} now points at the placeholder {placeholder}; restore its backup (regatta restore) to point it at {original} again"
    )]
    StuckOnPlaceholder {
        repository: RepoName,
        tag: Tag,
        placeholder: Digest,
        original: Digest,
        removing: Box<RegistryError>,
        putting_back: Box<RegistryError>,
    },
}

impl StepError {
    /// Errors that say nothing about the step and everything about the registry: every
    /// later step would fail the same way (slowly, for an unreachable one, after retries).
    fn shared_by_every_step(&self) -> bool {
        let error = match self {
            StepError::Registry(e) => e,
            StepError::Recheck { .. }
            | StepError::Backup(_)
            | StepError::MovedWhileUntagging { .. }
            | StepError::StuckOnPlaceholder { .. } => return false,
        };
        matches!(
            error,
            RegistryError::Unreachable { .. } | RegistryError::DeleteDisabled { .. }
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", content = "detail", rename_all = "snake_case")]
pub enum Outcome {
    Done,
    /// An earlier (interrupted) run already did it.
    AlreadyDone,
    Skipped(String),
    /// The digest now carries a tag pushed since the plan was made, which deleting it would
    /// take along: left alone (the sentence names the tags).
    Unseen(String),
    Failed(String),
}

#[derive(Debug, Clone, Serialize)]
pub struct StepResult {
    #[serde(flatten)]
    pub step: PlannedDeletion,
    pub outcome: Outcome,
    pub backup: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ApplyReport {
    pub steps: Vec<StepResult>,
    /// True when a cancel stopped the run before the end.
    pub cancelled: bool,
    /// Set when a failure that every later step would share (the registry is unreachable,
    /// or refuses deletes) stopped the run: the steps after the failed one were not tried.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
}

impl ApplyReport {
    pub fn all_done(&self) -> bool {
        !self.cancelled
            && self.stopped.is_none()
            && self
                .steps
                .iter()
                .all(|s| matches!(s.outcome, Outcome::Done | Outcome::AlreadyDone))
    }
}

/// Progress of an apply: step `index` of `total` starts or ends.
#[derive(Debug, Clone)]
pub enum ApplyEvent {
    Started {
        index: usize,
        total: usize,
        what: String,
    },
    Finished {
        index: usize,
        outcome: Outcome,
    },
}

pub struct Applier<'a> {
    pub client: &'a Client,
    /// The registry's name in the journal (config name or host).
    pub registry: String,
    pub journal: &'a Journal,
}

impl Applier<'_> {
    /// Applies every step in order. `cancel` stops before the next step (the current one
    /// finishes, and everything done is journaled).
    pub async fn apply(
        &self,
        plan: &Plan,
        cancel: &AtomicBool,
        on_event: &(dyn Fn(ApplyEvent) + Send + Sync),
    ) -> ApplyReport {
        let total = plan.deletions.len();
        let mut steps = Vec::with_capacity(total);
        let mut unseen: BTreeMap<RepoName, Unseen> = BTreeMap::new();
        // With `backup_blobs`, every blob the plan frees is kept before the first delete;
        // when one cannot be, nothing is deleted.
        let store = match &plan.blob_backup {
            None => None,
            Some(backup) => match self.keep_blobs(backup).await {
                Ok(store) => Some(store),
                Err(e) => {
                    return ApplyReport {
                        steps,
                        cancelled: false,
                        stopped: Some(e.to_string()),
                    };
                }
            },
        };
        let store = store.as_ref();
        for (index, step) in plan.deletions.iter().enumerate() {
            if cancel.load(Ordering::SeqCst) {
                return ApplyReport {
                    steps,
                    cancelled: true,
                    stopped: None,
                };
            }
            on_event(ApplyEvent::Started {
                index,
                total,
                what: format!(
                    "{} {}@{}",
                    mode_name(step.mode),
                    step.repository,
                    step.digest
                ),
            });
            let mut stopped = None;
            let followed = match subject_left(step, &steps) {
                Some(why) => {
                    self.log(step, "skipped", &why, None);
                    Err(Outcome::Skipped(why))
                }
                None => Ok(()),
            };
            let result = match followed {
                Ok(()) => self.guarded_step(plan, step, &mut unseen, store).await,
                Err(outcome) => Ok((outcome, None)),
            };
            let (outcome, backup) = match result {
                Ok(result) => result,
                Err(e) => {
                    if e.shared_by_every_step() {
                        stopped = Some(format!(
                            "the {} remaining step(s) were not tried: each would fail the same way",
                            total - index - 1
                        ));
                    }
                    (Outcome::Failed(e.to_string()), None)
                }
            };
            on_event(ApplyEvent::Finished {
                index,
                outcome: outcome.clone(),
            });
            steps.push(StepResult {
                step: step.clone(),
                outcome,
                backup,
            });
            if stopped.is_some() && index + 1 < total {
                return ApplyReport {
                    steps,
                    cancelled: false,
                    stopped,
                };
            }
        }
        ApplyReport {
            steps,
            cancelled: false,
            stopped: None,
        }
    }

    /// A step, after making sure no tag pushed since the scan sits on what it deletes.
    /// Untagging needs no such check: it moves one tag to a placeholder of its own.
    async fn guarded_step(
        &self,
        plan: &Plan,
        step: &PlannedDeletion,
        unseen: &mut BTreeMap<RepoName, Unseen>,
        store: Option<&BlobStore>,
    ) -> Result<(Outcome, Option<String>), StepError> {
        // A rewrite deletes the old index by digest too.
        if step.mode != Mode::Untag {
            let repo = &step.repository;
            if !unseen.contains_key(repo) {
                let found = unseen_tags(self.client, plan, repo)
                    .await
                    .map_err(|source| {
                        // An unreachable registry is said as such, as for any step.
                        if StepError::Registry(source.clone()).shared_by_every_step() {
                            StepError::Registry(source)
                        } else {
                            StepError::Recheck {
                                repository: repo.clone(),
                                source,
                            }
                        }
                    })?;
                unseen.insert(repo.clone(), found);
            }
            if let Some(why) = unseen.get(repo).and_then(|u| pushed_onto(step, u)) {
                self.log(step, "skipped", &why, None);
                return Ok((Outcome::Unseen(why), None));
            }
        }
        self.step(step, store).await
    }

    async fn step(
        &self,
        step: &PlannedDeletion,
        store: Option<&BlobStore>,
    ) -> Result<(Outcome, Option<String>), StepError> {
        let (repo, digest) = (&step.repository, &step.digest);
        // Re-resolve right before acting: a tag that moved is not ours to delete any more.
        let mut still_there = Vec::new();
        for tag in &step.tags {
            match self
                .client
                .head_manifest(repo, &ManifestRef::Tag(tag.clone()))
                .await
            {
                Ok(head) if &head.digest == digest => still_there.push(tag.clone()),
                Ok(head) => {
                    let why = format!("tag {tag} moved to {} since the plan was made", head.digest);
                    self.log(step, "skipped", &why, None);
                    return Ok((Outcome::Skipped(why), None));
                }
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e.into()),
            }
        }
        match step.mode {
            Mode::Delete => self.delete(step, repo, digest, &still_there, store).await,
            Mode::Rewrite => match still_there.first() {
                None => {
                    self.log(step, "already_done", "the index is already gone", None);
                    Ok((Outcome::AlreadyDone, None))
                }
                Some(tag) => self.rewrite(step, repo, digest, tag).await,
            },
            Mode::Untag => match still_there.first() {
                None => {
                    self.log(step, "already_done", "the tag is already gone", None);
                    Ok((Outcome::AlreadyDone, None))
                }
                Some(tag) => self.untag(step, repo, digest, tag).await,
            },
        }
    }

    async fn delete(
        &self,
        step: &PlannedDeletion,
        repo: &RepoName,
        digest: &Digest,
        still_there: &[Tag],
        store: Option<&BlobStore>,
    ) -> Result<(Outcome, Option<String>), StepError> {
        let root = match self
            .client
            .get_manifest(repo, &ManifestRef::Digest(digest.clone()))
            .await
        {
            Ok(m) => m,
            Err(e) if e.is_not_found() && still_there.is_empty() => {
                // Done by an earlier run; finish the cascade it may not have finished.
                self.delete_children(repo, step).await?;
                self.log(step, "already_done", "the manifest is already gone", None);
                return Ok((Outcome::AlreadyDone, None));
            }
            Err(e) => return Err(e.into()),
        };
        let mut manifests = vec![(root.digest.to_string(), root.bytes.clone())];
        let mut kept = vec![(
            root.digest.clone(),
            root.media_type.clone(),
            root.bytes.clone(),
        )];
        let mut children = Vec::new();
        for child in &step.children {
            match self
                .client
                .get_manifest(repo, &ManifestRef::Digest(child.clone()))
                .await
            {
                Ok(m) => {
                    children.push(BackupManifest {
                        digest: m.digest.to_string(),
                        media_type: m.media_type.clone(),
                    });
                    kept.push((m.digest.clone(), m.media_type.clone(), m.bytes.clone()));
                    manifests.push((m.digest.to_string(), m.bytes));
                }
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e.into()),
            }
        }
        let backup = self.backup(step, &root.media_type, children, &manifests)?;
        if let Some(store) = store {
            // The manifests beside their blobs, under the backup's id (`oci:DIR:ID`).
            store
                .tag(repo, &backup, &kept)
                .await
                .map_err(|e| JournalError::Io {
                    path: store.dir().to_path_buf(),
                    detail: e.to_string(),
                })?;
        }
        self.log(step, "started", "", Some(&backup));
        if let Err(e) = self.client.delete_manifest(repo, digest).await
            && !e.is_not_found()
        {
            self.log(step, "failed", &e.to_string(), Some(&backup));
            return Err(e.into());
        }
        self.delete_children(repo, step).await?;
        self.log(step, "done", "", Some(&backup));
        Ok((Outcome::Done, Some(backup)))
    }

    /// Writes the referrers fallback index `digest` again under `tag` without the entries of
    /// the step the registry no longer has (those whose deletion did not happen stay
    /// listed), then deletes the old index by digest: the tag has moved off it, so no tag
    /// goes with it, and garbage collection can free it. The old index is backed up first,
    /// so `regatta restore` can put it back under its tag.
    async fn rewrite(
        &self,
        step: &PlannedDeletion,
        repo: &RepoName,
        digest: &Digest,
        tag: &Tag,
    ) -> Result<(Outcome, Option<String>), StepError> {
        let old = self
            .client
            .get_manifest(repo, &ManifestRef::Digest(digest.clone()))
            .await?;
        let mut gone = Vec::new();
        for entry in &step.children {
            match self
                .client
                .head_manifest(repo, &ManifestRef::Digest(entry.clone()))
                .await
            {
                Ok(_) => {}
                Err(e) if e.is_not_found() => gone.push(entry.as_str()),
                Err(e) => return Err(e.into()),
            }
        }
        if gone.is_empty() {
            let why = "every entry it would lose is still there".to_string();
            self.log(step, "skipped", &why, None);
            return Ok((Outcome::Skipped(why), None));
        }
        let Some(rewritten) = without_entries(&old.bytes, &gone) else {
            let why = "the index is not a JSON document with a manifests list".to_string();
            self.log(step, "skipped", &why, None);
            return Ok((Outcome::Skipped(why), None));
        };
        let backup = self.backup(
            step,
            &old.media_type,
            Vec::new(),
            &[(old.digest.to_string(), old.bytes.clone())],
        )?;
        self.log(step, "started", "", Some(&backup));
        let result = async {
            self.client
                .put_manifest(
                    repo,
                    &ManifestRef::Tag(tag.clone()),
                    &old.media_type,
                    rewritten,
                )
                .await?;
            match self.client.delete_manifest(repo, digest).await {
                Ok(()) => Ok(()),
                Err(e) if e.is_not_found() => Ok(()),
                Err(e) => Err(e),
            }
        }
        .await;
        match result {
            Ok(()) => {
                self.log(step, "done", "", Some(&backup));
                Ok((Outcome::Done, Some(backup)))
            }
            Err(e) => {
                self.log(step, "failed", &e.to_string(), Some(&backup));
                Err(e.into())
            }
        }
    }

    async fn delete_children(
        &self,
        repo: &RepoName,
        step: &PlannedDeletion,
    ) -> Result<(), RegistryError> {
        for child in &step.children {
            match self.client.delete_manifest(repo, child).await {
                Ok(()) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Removes one tag and leaves its aliases: the OCI 1.1 tag delete where the registry has
    /// it; else the tag is pointed at a tiny unique placeholder manifest, which is then
    /// deleted by digest (taking only that tag with it).
    async fn untag(
        &self,
        step: &PlannedDeletion,
        repo: &RepoName,
        digest: &Digest,
        tag: &Tag,
    ) -> Result<(Outcome, Option<String>), StepError> {
        let root = self
            .client
            .get_manifest(repo, &ManifestRef::Digest(digest.clone()))
            .await?;
        let backup = self.backup(
            step,
            &root.media_type,
            Vec::new(),
            &[(root.digest.to_string(), root.bytes.clone())],
        )?;
        self.log(step, "started", "", Some(&backup));
        let result = match self.client.delete_tag(repo, tag).await {
            Ok(()) => Ok(()),
            Err(RegistryError::Status {
                status: 400 | 404 | 405 | 501,
                ..
            })
            | Err(RegistryError::DeleteDisabled { .. })
            | Err(RegistryError::NotFound { .. }) => {
                self.untag_with_placeholder(repo, digest, tag, &root.media_type, &root.bytes)
                    .await
            }
            Err(e) => Err(e.into()),
        };
        match result {
            Ok(()) => {
                self.log(step, "done", "", Some(&backup));
                Ok((Outcome::Done, Some(backup)))
            }
            Err(e) => {
                self.log(step, "failed", &e.to_string(), Some(&backup));
                Err(e)
            }
        }
    }

    /// Hazard: the tag points at the placeholder until the placeholder is deleted. When that
    /// delete fails (deletes disabled: a 405 on the tag delete does not tell that apart from a
    /// registry without tag deletes), the tag is put back on `original`, so a failed untag
    /// leaves the tag where it was; only the small untagged placeholder stays behind.
    async fn untag_with_placeholder(
        &self,
        repo: &RepoName,
        digest: &Digest,
        tag: &Tag,
        original_media_type: &str,
        original: &[u8],
    ) -> Result<(), StepError> {
        let config = serde_json::json!({
            "regatta": "placeholder used to remove a single tag",
            "repository": repo.as_str(),
            "tag": tag.as_str(),
            "nonce": format!("{:016x}", fastrand::u64(..)),
        })
        .to_string()
        .into_bytes();
        let size = config.len();
        let config_digest = self.client.upload_blob(repo, config).await?;
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": { "mediaType": OCI_CONFIG, "digest": config_digest.as_str(), "size": size },
            "layers": [],
        })
        .to_string()
        .into_bytes();
        // Last check before moving the tag: it must still point where the plan said.
        let head = self
            .client
            .head_manifest(repo, &ManifestRef::Tag(tag.clone()))
            .await?;
        if &head.digest != digest {
            return Err(StepError::MovedWhileUntagging {
                repository: repo.clone(),
                tag: tag.clone(),
                now: head.digest,
            });
        }
        let placeholder = self
            .client
            .put_manifest(repo, &ManifestRef::Tag(tag.clone()), OCI_MANIFEST, manifest)
            .await?;
        let Err(error) = self.client.delete_manifest(repo, &placeholder).await else {
            return Ok(());
        };
        match self
            .client
            .put_manifest(
                repo,
                &ManifestRef::Tag(tag.clone()),
                original_media_type,
                original.to_vec(),
            )
            .await
        {
            Ok(_) => Err(error.into()),
            Err(putting_back) => Err(StepError::StuckOnPlaceholder {
                repository: repo.clone(),
                tag: tag.clone(),
                placeholder,
                original: digest.clone(),
                removing: Box::new(error),
                putting_back: Box::new(putting_back),
            }),
        }
    }

    /// Downloads the blobs of a blob backup into the store (see [`super::blob_backup`]).
    async fn keep_blobs(&self, backup: &BlobBackup) -> Result<BlobStore, BlobBackupError> {
        let store = BlobStore::open(self.journal)?;
        store.keep(self.client, backup).await?;
        Ok(store)
    }

    fn backup(
        &self,
        step: &PlannedDeletion,
        media_type: &str,
        children: Vec<BackupManifest>,
        manifests: &[(String, Vec<u8>)],
    ) -> Result<String, StepError> {
        let now = jiff::Timestamp::now();
        let meta = BackupMeta {
            id: new_backup_id(now, step.digest.as_str()),
            time: now.to_string(),
            registry: self.registry.clone(),
            repository: step.repository.to_string(),
            action: mode_name(step.mode).to_string(),
            digest: step.digest.to_string(),
            media_type: media_type.to_string(),
            tags: step.tags.iter().map(Tag::to_string).collect(),
            children,
        };
        self.journal.save_backup(&meta, manifests)?;
        Ok(meta.id)
    }

    fn log(&self, step: &PlannedDeletion, result: &str, detail: &str, backup: Option<&str>) {
        let entry = AuditEntry {
            time: jiff::Timestamp::now().to_string(),
            registry: self.registry.clone(),
            repository: step.repository.to_string(),
            tags: step.tags.iter().map(Tag::to_string).collect(),
            digest: step.digest.to_string(),
            action: mode_name(step.mode).to_string(),
            result: result.to_string(),
            detail: detail.to_string(),
            backup: backup.map(str::to_string),
        };
        if let Err(e) = self.journal.append(&entry) {
            tracing::error!("cannot write the audit log: {e}");
        }
    }
}

/// An index document without the `manifests` entries whose digest is in `gone`, every other
/// field as it was; `None` when it is not a JSON object with a `manifests` list.
fn without_entries(document: &[u8], gone: &[&str]) -> Option<Vec<u8>> {
    let mut index: serde_json::Value = serde_json::from_slice(document).ok()?;
    let entries = index.get_mut("manifests")?.as_array_mut()?;
    entries.retain(|e| {
        e.get("digest")
            .and_then(|d| d.as_str())
            .is_none_or(|d| !gone.contains(&d))
    });
    serde_json::to_vec(&index).ok()
}

/// Why a step that follows its subject (a referrer, a fallback index) must not run: the
/// subject's step did not delete it (skipped, failed) or is not in the plan before it. A
/// referrer of a surviving image is never deleted.
fn subject_left(step: &PlannedDeletion, done: &[StepResult]) -> Option<String> {
    let subject = step.reason.follows()?;
    let went = done.iter().any(|s| {
        s.step.repository == step.repository
            && s.step.mode == Mode::Delete
            && (&s.step.digest == subject || s.step.children.contains(subject))
            && matches!(s.outcome, Outcome::Done | Outcome::AlreadyDone)
    });
    (!went).then(|| format!("its subject {subject} was not deleted, so it stays attached to it"))
}

pub fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Delete => "delete",
        Mode::Untag => "untag",
        Mode::Rewrite => "rewrite",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cleanup::plan::Reason;

    fn d(n: u8) -> Digest {
        Digest::parse(&format!("sha256:{}", format!("{n:02x}").repeat(32))).expect("digest")
    }

    fn step(digest: Digest, children: Vec<Digest>, reason: Reason) -> PlannedDeletion {
        PlannedDeletion {
            repository: RepoName::parse("app").expect("repo"),
            digest,
            mode: Mode::Delete,
            tags: Vec::new(),
            widened: Vec::new(),
            children,
            reason,
        }
    }

    fn result(step: PlannedDeletion, outcome: Outcome) -> StepResult {
        StepResult {
            step,
            outcome,
            backup: None,
        }
    }

    #[test]
    fn a_follower_runs_only_once_its_subject_went() {
        let sig = step(
            d(2),
            Vec::new(),
            Reason::Referrer {
                subject: d(1),
                kind: "cosign signature".into(),
                bytes: 10,
            },
        );
        let subject = step(d(1), Vec::new(), Reason::Requested);
        assert_eq!(
            subject_left(&sig, &[]),
            Some(format!(
                "its subject {} was not deleted, so it stays attached to it",
                d(1)
            )),
            "no step deleted the subject"
        );
        for (outcome, runs) in [
            (Outcome::Done, true),
            (Outcome::AlreadyDone, true),
            (Outcome::Skipped("tag moved".into()), false),
            (Outcome::Unseen("tag pushed".into()), false),
            (Outcome::Failed("HTTP 500".into()), false),
        ] {
            let done = [result(subject.clone(), outcome.clone())];
            assert_eq!(subject_left(&sig, &done).is_none(), runs, "{outcome:?}");
        }
        // A subject that is a platform manifest of a deleted index.
        let index = step(d(9), vec![d(1)], Reason::Requested);
        assert_eq!(subject_left(&sig, &[result(index, Outcome::Done)]), None);
        // Steps that follow nothing always run.
        assert_eq!(subject_left(&subject, &[]), None);
    }

    #[test]
    fn a_rewritten_index_loses_exactly_the_gone_entries() {
        let old = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [
                {"digest": d(1).as_str(), "size": 10, "artifactType": "a"},
                {"digest": d(2).as_str(), "size": 20, "artifactType": "b"},
            ],
            "annotations": {"k": "v"},
        });
        let bytes = serde_json::to_vec(&old).expect("json");
        let new = without_entries(&bytes, &[d(1).as_str()]).expect("an index");
        let new: serde_json::Value = serde_json::from_slice(&new).expect("json");
        let mut want = old.clone();
        if let Some(m) = want["manifests"].as_array_mut() {
            m.remove(0);
        }
        assert_eq!(new, want);
        assert_eq!(without_entries(b"[1, 2]", &[d(1).as_str()]), None);
        assert_eq!(without_entries(b"not json", &[]), None);
    }
}
