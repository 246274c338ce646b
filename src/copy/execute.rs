//! Carrying out a [`CopyPlan`], in an order that never shows a half-copied image under a tag:
//! a mount after the transfer that brings its blob into the repository it mounts from, a
//! manifest after all its blobs and children, a tag after its manifest, each step as soon as
//! those have ended ([`super::schedule`]). A step whose prerequisites failed is skipped and
//! listed; nothing after it pretends otherwise. Killed at any point, the destination holds
//! complete blobs and complete manifests only, and the same command planned again finds them
//! present: only what is missing moves.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};

use serde::Serialize;

use super::ask::{Asked, ask_blob};
use super::plan::{BlobAction, CopyPlan, Ends, PlannedBlob, PlannedManifest};
use super::schedule::{Ended, Schedule, Step};
use super::transfer::transfer;
use crate::registry::{Digest, ManifestRef, MountAnswer, RepoName};

/// Counters a front end reads while a copy runs (the CLI's bars, the TUI's pane): both read
/// [`CopyProgress::snapshot`].
#[derive(Debug, Default)]
pub struct CopyProgress {
    /// Blob bytes read from the source and sent on so far.
    pub bytes_moved: Arc<AtomicU64>,
    pub blobs_done: AtomicUsize,
    pub manifests_done: AtomicUsize,
    pub tags_done: AtomicUsize,
    /// The blobs being streamed right now, in the order they started.
    active: Mutex<Vec<ActiveBlob>>,
}

#[derive(Debug)]
struct ActiveBlob {
    id: u64,
    digest: Digest,
    repository: RepoName,
    size: u64,
    moved: Arc<AtomicU64>,
}

/// One blob on its way, as last seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobProgress {
    pub digest: Digest,
    pub repository: RepoName,
    pub size: u64,
    pub moved: u64,
}

/// The counters of a running copy at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProgressSnapshot {
    pub bytes_moved: u64,
    pub blobs_done: usize,
    pub manifests_done: usize,
    pub tags_done: usize,
    /// The blobs being streamed, oldest first.
    pub active: Vec<BlobProgress>,
}

impl CopyProgress {
    pub fn snapshot(&self) -> ProgressSnapshot {
        let active = match self.active.lock() {
            Ok(active) => active
                .iter()
                .map(|a| BlobProgress {
                    digest: a.digest.clone(),
                    repository: a.repository.clone(),
                    size: a.size,
                    moved: a.moved.load(Ordering::Relaxed),
                })
                .collect(),
            Err(_) => Vec::new(),
        };
        ProgressSnapshot {
            bytes_moved: self.bytes_moved.load(Ordering::Relaxed),
            blobs_done: self.blobs_done.load(Ordering::Relaxed),
            manifests_done: self.manifests_done.load(Ordering::Relaxed),
            tags_done: self.tags_done.load(Ordering::Relaxed),
            active,
        }
    }

    /// Lists `blob` as active until the returned guard is dropped (when its transfer ends,
    /// or is dropped half-way by a cancel).
    pub(super) fn start(&self, blob: &PlannedBlob) -> (ActiveGuard<'_>, Arc<AtomicU64>) {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        let moved = Arc::new(AtomicU64::new(0));
        if let Ok(mut active) = self.active.lock() {
            active.push(ActiveBlob {
                id,
                digest: blob.digest.clone(),
                repository: blob.repository.clone(),
                size: blob.size,
                moved: moved.clone(),
            });
        }
        (ActiveGuard { progress: self, id }, moved)
    }
}

pub(super) struct ActiveGuard<'a> {
    progress: &'a CopyProgress,
    id: u64,
}

impl Drop for ActiveGuard<'_> {
    fn drop(&mut self) {
        if let Ok(mut active) = self.progress.active.lock() {
            active.retain(|a| a.id != self.id);
        }
    }
}

/// A step that did not happen, and why, in one sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CopyFailure {
    pub what: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CopyOutcome {
    pub blobs_transferred: usize,
    pub bytes_transferred: u64,
    pub blobs_mounted: usize,
    /// Blobs the plan had not asked for ([`BlobAction::AskOnApply`]) that the destination
    /// turned out to have: nothing moved for them.
    pub blobs_found_present: usize,
    pub manifests_pushed: usize,
    pub tags_set: usize,
    pub failures: Vec<CopyFailure>,
}

impl CopyOutcome {
    pub fn is_complete(&self) -> bool {
        self.failures.is_empty()
    }
}

type Key = (RepoName, Digest);

enum BlobResult {
    Transferred(u64),
    Mounted,
    FoundPresent,
    Failed(CopyFailure),
}

/// What a step's request came back with.
enum StepResult {
    Blob(BlobResult),
    /// A manifest or a tag: the failure, if it failed.
    Pushed(Option<CopyFailure>),
}

/// Copies what `plan` says, through `ends` (the same clients that planned it), each step as
/// soon as what it needs is there ([`super::schedule`]). `concurrency` bounds the steps in
/// flight.
pub async fn apply(
    plan: &CopyPlan,
    ends: &Ends<'_>,
    concurrency: usize,
    progress: &CopyProgress,
) -> CopyOutcome {
    let concurrency = concurrency.max(1);
    let mut run = Run {
        plan,
        schedule: Schedule::new(plan, ends.destination.shares_blobs()),
        outcome: CopyOutcome::default(),
        by_tag: stored_by_tag(plan),
        deferred: HashSet::new(),
        stored_by_tag: HashSet::new(),
    };
    let mut running: FuturesUnordered<BoxFuture<'_, (usize, StepResult)>> = FuturesUnordered::new();
    loop {
        while running.len() < concurrency {
            let Some(id) = run.schedule.next() else {
                break;
            };
            if let Some(request) = run.start(id, ends, progress) {
                running.push(request);
            }
        }
        let Some((id, result)) = running.next().await else {
            break;
        };
        run.record(id, result);
    }
    let never: Vec<Step> = run.schedule.never_ready().collect();
    for step in never {
        run.skip_never_ready(step);
    }
    let mut outcome = run.outcome;
    outcome.manifests_pushed += run.stored_by_tag.len();
    // Steps end in any order; failures are listed blobs first, then manifests, then tags.
    outcome.failures.sort_by_key(|f| failure_rank(&f.what));
    outcome
}

fn failure_rank(what: &str) -> u8 {
    if what.starts_with("blob ") {
        0
    } else if what.starts_with("manifest ") {
        1
    } else {
        2
    }
}

/// A manifest a tag of this copy will point at, and that no other manifest lists, is stored
/// by its tag PUT, which also stores it: pushing it by digest first would be the same upload
/// twice. Its prerequisites are checked all the same.
fn stored_by_tag(plan: &CopyPlan) -> HashSet<Key> {
    let listed: HashSet<Key> = plan
        .manifests
        .iter()
        .flat_map(|m| m.children.iter().map(|c| (m.repository.clone(), c.clone())))
        .collect();
    plan.images
        .iter()
        .filter(|i| i.tag.needs_push())
        .map(|i| (i.destination_repository.clone(), i.digest.clone()))
        .filter(|key| !listed.contains(key))
        .collect()
}

/// A copy under way: its schedule and what has come of it so far.
struct Run<'p> {
    plan: &'p CopyPlan,
    schedule: Schedule,
    outcome: CopyOutcome,
    /// Manifests to be stored by their tag's PUT.
    by_tag: HashSet<Key>,
    /// Those of them whose prerequisites are there: their tag may be set.
    deferred: HashSet<Key>,
    /// Those of them whose tag was set.
    stored_by_tag: HashSet<Key>,
}

impl<'p> Run<'p> {
    /// Starts step `id`: its request, or `None` when it ended without one (skipped for a
    /// failed prerequisite, or a manifest left to its tag).
    fn start<'a>(
        &mut self,
        id: usize,
        ends: &'a Ends<'a>,
        progress: &'a CopyProgress,
    ) -> Option<BoxFuture<'a, (usize, StepResult)>>
    where
        'p: 'a,
    {
        let plan = self.plan;
        match self.schedule.step(id) {
            Step::Blob(i) => {
                let blob = &plan.blobs[i];
                Some(
                    async move {
                        let result = copy_blob(ends, blob, progress).await;
                        progress.blobs_done.fetch_add(1, Ordering::Relaxed);
                        (id, StepResult::Blob(result))
                    }
                    .boxed(),
                )
            }
            Step::Manifest(i) => {
                let m = &plan.manifests[i];
                let key = (m.repository.clone(), m.digest.clone());
                if let Some(reason) = self.missing_prerequisite(m) {
                    self.fail(
                        id,
                        format!("manifest {}@{}", m.repository, m.digest),
                        reason,
                    );
                    return None;
                }
                if self.by_tag.contains(&key) {
                    self.deferred.insert(key);
                    self.schedule.finish(id, Ended::Done);
                    return None;
                }
                Some(
                    async move {
                        let failure = ends
                            .destination
                            .put_manifest(
                                &m.repository,
                                &ManifestRef::Digest(m.digest.clone()),
                                &m.media_type,
                                m.bytes.clone(),
                            )
                            .await
                            .err()
                            .map(|e| CopyFailure {
                                what: format!("manifest {}@{}", m.repository, m.digest),
                                reason: e.to_string(),
                            });
                        progress.manifests_done.fetch_add(1, Ordering::Relaxed);
                        (id, StepResult::Pushed(failure))
                    }
                    .boxed(),
                )
            }
            Step::Tag(i) => {
                let image = &plan.images[i];
                let Some(tag) = image.destination_tag.as_ref() else {
                    self.schedule.finish(id, Ended::Done);
                    return None;
                };
                let repo = &image.destination_repository;
                let what = format!("tag {repo}:{tag}");
                let manifest = plan.manifest(repo, &image.digest);
                let copied = match self.schedule.manifest_step(repo, &image.digest) {
                    Some(step) => !self.schedule.failed(step),
                    None => manifest.is_some_and(|m| m.present),
                };
                let Some(manifest) = manifest.filter(|_| copied) else {
                    progress.tags_done.fetch_add(1, Ordering::Relaxed);
                    let reason = format!("not set: {} was not copied", image.digest);
                    self.fail(id, what, reason);
                    return None;
                };
                Some(
                    async move {
                        let failure = ends
                            .destination
                            .put_manifest(
                                repo,
                                &ManifestRef::Tag(tag.clone()),
                                &manifest.media_type,
                                manifest.bytes.clone(),
                            )
                            .await
                            .err()
                            .map(|e| CopyFailure {
                                what,
                                reason: e.to_string(),
                            });
                        progress.tags_done.fetch_add(1, Ordering::Relaxed);
                        (id, StepResult::Pushed(failure))
                    }
                    .boxed(),
                )
            }
        }
    }

    /// Why manifest `m` cannot be pushed: a manifest it lists, or one of its blobs, did not
    /// make it (the first listed, the first of its blobs).
    fn missing_prerequisite(&self, m: &PlannedManifest) -> Option<String> {
        let repo = &m.repository;
        let child_failed = m.children.iter().any(|c| {
            self.schedule
                .manifest_step(repo, c)
                .is_some_and(|step| self.schedule.failed(step))
        });
        if child_failed {
            return Some("not pushed: a manifest it lists was not copied".into());
        }
        if m.children
            .iter()
            .any(|c| self.plan.manifest(repo, c).is_none())
        {
            return Some("not pushed: a manifest it lists is not in the plan".into());
        }
        let blob = m.blobs.iter().find(|b| {
            self.schedule
                .blob_step(repo, b)
                .is_some_and(|step| self.schedule.failed(step))
        })?;
        Some(format!("not pushed: its blob {blob} was not copied"))
    }

    fn fail(&mut self, id: usize, what: String, reason: String) {
        self.outcome.failures.push(CopyFailure { what, reason });
        self.schedule.finish(id, Ended::Failed);
    }

    /// Counts what step `id`'s request came back with, and readies what waited for it.
    fn record(&mut self, id: usize, result: StepResult) {
        let outcome = &mut self.outcome;
        let ended = match result {
            StepResult::Blob(result) => match result {
                BlobResult::Transferred(bytes) => {
                    outcome.blobs_transferred += 1;
                    outcome.bytes_transferred = outcome.bytes_transferred.saturating_add(bytes);
                    Ended::Done
                }
                BlobResult::Mounted => {
                    outcome.blobs_mounted += 1;
                    Ended::Done
                }
                BlobResult::FoundPresent => {
                    outcome.blobs_found_present += 1;
                    Ended::Done
                }
                BlobResult::Failed(f) => {
                    outcome.failures.push(f);
                    Ended::Failed
                }
            },
            StepResult::Pushed(Some(f)) => {
                outcome.failures.push(f);
                Ended::Failed
            }
            StepResult::Pushed(None) => {
                match self.schedule.step(id) {
                    Step::Tag(i) => {
                        outcome.tags_set += 1;
                        let image = &self.plan.images[i];
                        let key = (image.destination_repository.clone(), image.digest.clone());
                        if self.deferred.contains(&key) {
                            self.stored_by_tag.insert(key);
                        }
                    }
                    _ => outcome.manifests_pushed += 1,
                }
                Ended::Done
            }
        };
        self.schedule.finish(id, ended);
    }

    /// A step whose prerequisites never all ended (cannot happen with a plan from
    /// [`super::plan::plan_copy`]: an index cannot list itself): listed, never carried out.
    fn skip_never_ready(&mut self, step: Step) {
        let plan = self.plan;
        let (what, reason) = match step {
            Step::Blob(i) => {
                let b = &plan.blobs[i];
                let what = format!("blob {} into {}", b.digest, b.repository);
                (what, "not copied: the transfer it waits for never ended")
            }
            Step::Manifest(i) => {
                let m = &plan.manifests[i];
                let what = format!("manifest {}@{}", m.repository, m.digest);
                (what, "not pushed: a manifest it lists is not in the plan")
            }
            Step::Tag(i) => {
                let image = &plan.images[i];
                let what = format!("tag {}@{}", image.destination_repository, image.digest);
                (what, "not set: its manifest was not copied")
            }
        };
        self.outcome.failures.push(CopyFailure {
            what,
            reason: reason.into(),
        });
    }
}

async fn copy_blob(ends: &Ends<'_>, blob: &PlannedBlob, progress: &CopyProgress) -> BlobResult {
    let what = format!("blob {} into {}", blob.digest, blob.repository);
    let fail = |reason: String| {
        BlobResult::Failed(CopyFailure {
            what: what.clone(),
            reason,
        })
    };
    let mut session = blob.session.clone();
    match &blob.action {
        BlobAction::Mount { from } => {
            match ends
                .destination
                .mount(&blob.repository, &blob.digest, from)
                .await
            {
                Ok(MountAnswer::Mounted) => return BlobResult::Mounted,
                // Declined (the registry started an upload instead): send the bytes there.
                Ok(MountAnswer::Declined(opened)) => session = opened,
                Err(e) => return fail(e.to_string()),
            }
        }
        // A plan applied without [`super::ask::ask_blobs`]: asked now, as it would have been.
        BlobAction::AskOnApply => match ask_blob(ends, &blob.repository, &blob.digest).await {
            Ok(Asked::Present) => return BlobResult::FoundPresent,
            Ok(Asked::Missing(opened)) => session = opened,
            Err(e) => return fail(format!("asking the destination for it: {e}")),
        },
        BlobAction::Present | BlobAction::Transfer => {}
    }
    match transfer(ends, blob, progress, session).await {
        Ok(()) => BlobResult::Transferred(blob.size),
        Err(reason) => fail(reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blob_is_listed_as_active_until_its_transfer_ends_or_is_dropped() {
        let progress = CopyProgress::default();
        let blob = PlannedBlob {
            repository: RepoName::parse("acme/api").unwrap(),
            source_repository: RepoName::parse("acme/api").unwrap(),
            digest: Digest::sha256_of(b"layer"),
            size: 100,
            action: BlobAction::Transfer,
            session: None,
        };
        let (guard, moved) = progress.start(&blob);
        moved.fetch_add(40, Ordering::Relaxed);
        let active = progress.snapshot().active;
        assert_eq!(active.len(), 1);
        assert_eq!((active[0].moved, active[0].size), (40, 100));
        assert_eq!(active[0].digest, blob.digest);
        drop(guard);
        assert!(progress.snapshot().active.is_empty());
    }
}
