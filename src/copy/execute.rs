//! Carrying out a [`CopyPlan`], in an order that never shows a half-copied image under a tag:
//! blobs first (transfers, then mounts, some of which mount what a transfer just brought),
//! then manifests children first, then tags. A step whose prerequisites failed is skipped and
//! listed; nothing after it pretends otherwise. Killed at any point, the destination holds
//! complete blobs and complete manifests only, and the same command planned again finds them
//! present: only what is missing moves.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use futures::StreamExt;

use serde::Serialize;

use super::ask::{Asked, ask_blob};
use super::plan::{BlobAction, CopyPlan, Ends, PlannedBlob, PlannedImage, PlannedManifest};
use crate::registry::upload::{StreamFault, Verdict, verified};
use crate::registry::{Digest, ManifestRef, MountAnswer, RegistryError, RepoName, UploadSession};

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
    fn start(&self, blob: &PlannedBlob) -> (ActiveGuard<'_>, Arc<AtomicU64>) {
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

struct ActiveGuard<'a> {
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

/// Copies what `plan` says, through `ends` (the same clients that planned it). `concurrency`
/// bounds the blobs and manifests in flight.
pub async fn apply(
    plan: &CopyPlan,
    ends: &Ends<'_>,
    concurrency: usize,
    progress: &CopyProgress,
) -> CopyOutcome {
    let concurrency = concurrency.max(1);
    let mut outcome = CopyOutcome::default();
    let mut failed: HashSet<Key> = HashSet::new();

    // 1. Transfers (and blobs still to ask for, which may need one), then 2. mounts (a mount
    // from another destination repository may need the transfer that brings the blob there).
    let transfers: Vec<&PlannedBlob> = plan
        .blobs
        .iter()
        .filter(|b| matches!(b.action, BlobAction::Transfer | BlobAction::AskOnApply))
        .collect();
    let mounts: Vec<&PlannedBlob> = plan
        .blobs
        .iter()
        .filter(|b| matches!(b.action, BlobAction::Mount { .. }))
        .collect();
    for phase in [transfers, mounts] {
        // Futures made first, then streamed: the copy stays a `Send` future a TUI worker
        // can spawn (rust-lang/rust#102211).
        let copying: Vec<_> = phase
            .into_iter()
            .map(|blob| async move {
                let result = copy_blob(ends, blob, progress).await;
                progress.blobs_done.fetch_add(1, Ordering::Relaxed);
                ((blob.repository.clone(), blob.digest.clone()), result)
            })
            .collect();
        let results: Vec<(Key, BlobResult)> = futures::stream::iter(copying)
            .buffer_unordered(concurrency)
            .collect()
            .await;
        for (key, result) in results {
            match result {
                BlobResult::Transferred(bytes) => {
                    outcome.blobs_transferred += 1;
                    outcome.bytes_transferred = outcome.bytes_transferred.saturating_add(bytes);
                }
                BlobResult::Mounted => outcome.blobs_mounted += 1,
                BlobResult::FoundPresent => outcome.blobs_found_present += 1,
                BlobResult::Failed(f) => {
                    failed.insert(key);
                    outcome.failures.push(f);
                }
            }
        }
    }

    // 3. Manifests, level by level: images, then the indexes of images, and so on.
    let mut pending: Vec<&PlannedManifest> = plan.manifests.iter().filter(|m| !m.present).collect();
    let mut done: HashSet<Key> = plan
        .manifests
        .iter()
        .filter(|m| m.present)
        .map(|m| (m.repository.clone(), m.digest.clone()))
        .collect();
    // A manifest a tag of this copy will point at, and that no other manifest lists, is
    // stored by its tag PUT (step 4), which also stores it: pushing it by digest first would
    // be the same upload twice. Its prerequisites are checked here all the same.
    let listed: HashSet<Key> = plan
        .manifests
        .iter()
        .flat_map(|m| m.children.iter().map(|c| (m.repository.clone(), c.clone())))
        .collect();
    let by_tag: HashSet<Key> = plan
        .images
        .iter()
        .filter(|i| i.tag.needs_push())
        .map(|i| (i.destination_repository.clone(), i.digest.clone()))
        .filter(|key| !listed.contains(key))
        .collect();
    let mut deferred: HashSet<Key> = HashSet::new();
    while !pending.is_empty() {
        let (ready, waiting): (Vec<&PlannedManifest>, Vec<&PlannedManifest>) =
            pending.into_iter().partition(|m| {
                m.children
                    .iter()
                    .all(|c| done.contains(&(m.repository.clone(), c.clone())))
            });
        let ready_count = ready.len();
        let mut pushable = Vec::new();
        for m in ready {
            match missing_prerequisite(m, &failed) {
                Some(reason) => {
                    failed.insert((m.repository.clone(), m.digest.clone()));
                    outcome.failures.push(CopyFailure {
                        what: format!("manifest {}@{}", m.repository, m.digest),
                        reason,
                    });
                }
                None => {
                    let key = (m.repository.clone(), m.digest.clone());
                    if by_tag.contains(&key) {
                        done.insert(key.clone());
                        deferred.insert(key);
                    } else {
                        pushable.push(m);
                    }
                }
            }
        }
        let pushing: Vec<_> = pushable
            .into_iter()
            .map(|m| async move {
                let result = ends
                    .destination
                    .put_manifest(
                        &m.repository,
                        &ManifestRef::Digest(m.digest.clone()),
                        &m.media_type,
                        m.bytes.clone(),
                    )
                    .await
                    .map(|_| ());
                progress.manifests_done.fetch_add(1, Ordering::Relaxed);
                ((m.repository.clone(), m.digest.clone()), result)
            })
            .collect();
        let results: Vec<(Key, Result<(), RegistryError>)> = futures::stream::iter(pushing)
            .buffer_unordered(concurrency)
            .collect()
            .await;
        for (key, result) in results {
            match result {
                Ok(()) => {
                    outcome.manifests_pushed += 1;
                    done.insert(key);
                }
                Err(e) => {
                    outcome.failures.push(CopyFailure {
                        what: format!("manifest {}@{}", key.0, key.1),
                        reason: e.to_string(),
                    });
                    failed.insert(key);
                }
            }
        }
        // Children that failed leave their indexes waiting forever: fail those now.
        let (still, blocked): (Vec<&PlannedManifest>, Vec<&PlannedManifest>) =
            waiting.into_iter().partition(|m| {
                !m.children
                    .iter()
                    .any(|c| failed.contains(&(m.repository.clone(), c.clone())))
            });
        for m in blocked {
            failed.insert((m.repository.clone(), m.digest.clone()));
            outcome.failures.push(CopyFailure {
                what: format!("manifest {}@{}", m.repository, m.digest),
                reason: "not pushed: a manifest it lists was not copied".into(),
            });
        }
        if ready_count == 0 && !still.is_empty() {
            // Children the plan does not hold (cannot happen with a plan from plan_copy).
            for m in still {
                outcome.failures.push(CopyFailure {
                    what: format!("manifest {}@{}", m.repository, m.digest),
                    reason: "not pushed: a manifest it lists is not in the plan".into(),
                });
            }
            break;
        }
        pending = still;
    }

    // 4. Tags, last: each on a complete image.
    let tags = plan.images.iter().filter(|i| i.tag.needs_push());
    let tagging: Vec<_> = tags
        .map(|image| {
            let done = &done;
            async move {
                let repo = &image.destination_repository;
                let key = (repo.clone(), image.digest.clone());
                let failure = set_tag(plan, ends, image, done).await;
                progress.tags_done.fetch_add(1, Ordering::Relaxed);
                (key, failure)
            }
        })
        .collect();
    let tag_results: Vec<(Key, Option<CopyFailure>)> = futures::stream::iter(tagging)
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let mut tags_set = 0;
    let mut stored_by_tag: HashSet<Key> = HashSet::new();
    for (key, failure) in tag_results {
        match failure {
            Some(f) => outcome.failures.push(f),
            None => {
                tags_set += 1;
                if deferred.contains(&key) {
                    stored_by_tag.insert(key);
                }
            }
        }
    }
    outcome.tags_set = tags_set;
    outcome.manifests_pushed += stored_by_tag.len();
    outcome
}

/// Points `image`'s tag at its manifest, when that manifest and all below it are there.
async fn set_tag(
    plan: &CopyPlan,
    ends: &Ends<'_>,
    image: &PlannedImage,
    done: &HashSet<Key>,
) -> Option<CopyFailure> {
    let tag = image.destination_tag.as_ref()?;
    let repo = &image.destination_repository;
    let what = format!("tag {repo}:{tag}");
    if !done.contains(&(repo.clone(), image.digest.clone())) {
        return Some(CopyFailure {
            what,
            reason: format!("not set: {} was not copied", image.digest),
        });
    }
    let Some(manifest) = plan.manifest(repo, &image.digest) else {
        return Some(CopyFailure {
            what,
            reason: format!("not set: {} is not in the plan", image.digest),
        });
    };
    ends.destination
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
        })
}

fn missing_prerequisite(m: &PlannedManifest, failed: &HashSet<Key>) -> Option<String> {
    let blob = m
        .blobs
        .iter()
        .find(|b| failed.contains(&(m.repository.clone(), (*b).clone())))?;
    Some(format!("not pushed: its blob {blob} was not copied"))
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

/// Streams one blob from the source to the destination, its digest and size checked on the
/// way: a wrong body is cut off before its end, so the destination never completes it.
async fn transfer(
    ends: &Ends<'_>,
    blob: &PlannedBlob,
    progress: &CopyProgress,
    session: Option<UploadSession>,
) -> Result<(), String> {
    // Counted into the blob's own bar and into the total as the bytes pass.
    let (_active, moved) = progress.start(blob);
    let counted = Counted {
        moved,
        total: Some(progress.bytes_moved.clone()),
        session,
    };
    transfer_counted(
        ends,
        (&blob.source_repository, &blob.repository),
        &blob.digest,
        blob.size,
        counted,
    )
    .await
}

/// Where a transfer's bytes are counted, and the upload session to send them into.
struct Counted {
    moved: Arc<AtomicU64>,
    total: Option<Arc<AtomicU64>>,
    session: Option<UploadSession>,
}

/// Streams blob `digest` of `size` bytes from the source's repository `repos.0` to the
/// destination's `repos.1`, hashed and counted on the way into `moved`: a wrong body is cut
/// off before its end, so nothing is completed under `digest`. Copies use it, and so do blob
/// backups (registry to backup layout before a delete, and back on restore). The error is
/// one sentence.
pub async fn transfer_blob(
    ends: &Ends<'_>,
    repos: (&RepoName, &RepoName),
    digest: &Digest,
    size: u64,
    moved: Arc<AtomicU64>,
) -> Result<(), String> {
    let counted = Counted {
        moved,
        total: None,
        session: None,
    };
    transfer_counted(ends, repos, digest, size, counted).await
}

/// [`transfer_blob`], the bytes counted into `total` too as they pass, and sent into an
/// upload session already open when there is one.
async fn transfer_counted(
    ends: &Ends<'_>,
    repos: (&RepoName, &RepoName),
    digest: &Digest,
    size: u64,
    Counted {
        moved,
        total,
        session,
    }: Counted,
) -> Result<(), String> {
    let chunks = ends
        .source
        .open_blob(repos.0, digest, size)
        .await
        .map_err(|e| format!("reading it from the source: {e}"))?;
    let verdict = Arc::new(Verdict::default());
    let counted = chunks.inspect(move |chunk| {
        if let (Ok(bytes), Some(total)) = (chunk, &total) {
            total.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        }
    });
    let stream = verified(counted, digest.clone(), size, verdict.clone(), moved);
    let result = ends
        .destination
        .write_blob(repos.1, digest, size, stream.boxed(), session)
        .await;
    // What the stream found wins over how the upload ended: it is why the upload ended.
    match (verdict.fault(), result) {
        (Some(fault), _) => Err(fault_sentence(digest, &fault)),
        (None, Ok(())) => Ok(()),
        (None, Err(e)) => Err(e.to_string()),
    }
}

fn fault_sentence(digest: &Digest, fault: &StreamFault) -> String {
    match fault {
        StreamFault::DigestMismatch { actual } => format!(
            "the source sent bytes that hash to {actual}, not {digest}: aborted, nothing was written under that digest"
        ),
        StreamFault::WrongSize { expected, actual } => {
            format!("the source sent {actual} bytes where the manifest says {expected}: aborted")
        }
        StreamFault::SourceBroke(detail) => {
            format!("the source's body broke off ({detail}): aborted; run the copy again to resume")
        }
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
