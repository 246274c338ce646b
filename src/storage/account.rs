//! The storage-level numbers of a registry and of each repository, from a [`Snapshot`]:
//! pure functions, no I/O. Names are the ones `--json` uses and the README defines.
//!
//! - `physical_bytes`: every blob in the blob store (manifests included), each once.
//! - `tagged_bytes`: blobs the tagged images reference (an index with its children), what the
//!   API-level `du` calls `physical_bytes`.
//! - `untagged_only_bytes`: blobs plain `garbage-collect` keeps only because an untagged
//!   manifest revision references them.
//! - `unreferenced_bytes`: blobs plain `garbage-collect` deletes now.
//! - uploads: bytes received by uploads never finished; `abandoned` past a threshold.

use std::collections::{BTreeSet, HashMap, HashSet};

use jiff::Timestamp;
use serde::Serialize;

use super::collector::{GcMode, GcPrediction, predict};
use super::snapshot::{Body, ReadCounts, RepoStore, Snapshot};
use crate::registry::{Digest, RepoName, Tag};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StorageTotals {
    pub blobs: usize,
    pub physical_bytes: u64,
    pub tagged_bytes: u64,
    pub untagged_only_bytes: u64,
    pub unreferenced_bytes: u64,
    pub untagged_manifests: usize,
    pub uploads: usize,
    pub upload_bytes: u64,
    pub abandoned_uploads: usize,
    pub abandoned_upload_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RepoStorage {
    pub repository: RepoName,
    pub tags: usize,
    /// Manifest revisions stored (tagged, index children, untagged).
    pub manifests: usize,
    pub untagged_manifests: usize,
    /// Distinct blobs the repository links (`_layers` and revisions) that are stored.
    pub linked_bytes: u64,
    pub tagged_bytes: u64,
    /// Blobs its untagged manifests hold that no tagged image anywhere references.
    pub untagged_only_bytes: u64,
    pub upload_bytes: u64,
    pub abandoned_upload_bytes: u64,
}

/// A stored manifest revision that no tag reaches (neither tagged nor a child of a tagged
/// index in its repository).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UntaggedManifest {
    pub repository: RepoName,
    pub digest: Digest,
    /// When its revision link was written: when it was (last) pushed.
    pub pushed: Option<Timestamp>,
    /// The tag that pointed at it most recently, from the tags' history.
    pub last_tag: Option<Tag>,
    /// Every tag whose history holds it.
    pub former_tags: Vec<Tag>,
    pub is_index: bool,
    /// Blobs it references (itself included) that no tagged image references.
    pub bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PastDigest {
    pub digest: Digest,
    /// When the tag was (last) set to it.
    pub tagged: Option<Timestamp>,
    /// Whether the manifest is still stored in the repository.
    pub stored: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TagHistory {
    pub repository: RepoName,
    pub tag: Tag,
    pub current: Option<Digest>,
    /// Earlier digests, newest first.
    pub before: Vec<PastDigest>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UploadRow {
    pub repository: RepoName,
    pub id: String,
    pub bytes: u64,
    pub started: Option<Timestamp>,
    pub abandoned: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GcPredictions {
    pub plain: GcPrediction,
    pub delete_untagged: GcPrediction,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StorageReport {
    pub location: String,
    pub registry: StorageTotals,
    pub repositories: Vec<RepoStorage>,
    pub untagged: Vec<UntaggedManifest>,
    pub uploads: Vec<UploadRow>,
    pub tag_history: Vec<TagHistory>,
    pub garbage_collect: GcPredictions,
    /// Uploads started before this are abandoned.
    pub abandoned_before: Timestamp,
    pub problems: Vec<String>,
    pub requests: ReadCounts,
}

fn sum<'a>(snapshot: &Snapshot, digests: impl IntoIterator<Item = &'a Digest>) -> u64 {
    digests
        .into_iter()
        .filter_map(|d| snapshot.blob_size(d))
        .fold(0u64, u64::saturating_add)
}

/// Every blob `root` keeps alive through its references, children followed to any depth:
/// manifests (itself included), configs and layers. Only stored blobs.
pub fn closure<'s>(snapshot: &'s Snapshot, root: &'s Digest, out: &mut HashSet<&'s Digest>) {
    let mut stack = vec![root];
    while let Some(d) = stack.pop() {
        if !snapshot.blobs.contains_key(d) || !out.insert(d) {
            continue;
        }
        match snapshot.bodies.get(d) {
            Some(Body::Index { children }) => stack.extend(children),
            Some(body) => out.extend(
                body.references()
                    .into_iter()
                    .filter(|r| snapshot.blobs.contains_key(*r)),
            ),
            None => {}
        }
    }
}

/// The manifests a repository's tags reach (tagged ones and their children at any depth).
fn tagged_manifests<'s>(snapshot: &'s Snapshot, repo: &'s RepoStore) -> HashSet<&'s Digest> {
    let mut out = HashSet::new();
    let mut stack: Vec<&Digest> = repo
        .tags
        .values()
        .filter_map(|t| t.current.as_ref())
        .collect();
    while let Some(d) = stack.pop() {
        if !out.insert(d) {
            continue;
        }
        if let Some(Body::Index { children }) = snapshot.bodies.get(d) {
            stack.extend(children);
        }
    }
    out
}

/// The stored revisions of `repo` no tag reaches.
pub fn untagged_revisions<'s>(snapshot: &'s Snapshot, repo: &'s RepoStore) -> Vec<&'s Digest> {
    let tagged = tagged_manifests(snapshot, repo);
    repo.revisions
        .keys()
        .filter(|d| snapshot.blobs.contains_key(*d) && !tagged.contains(d))
        .collect()
}

/// Builds the whole report. `abandoned_before`: uploads started earlier are abandoned.
pub fn report(snapshot: &Snapshot, abandoned_before: Timestamp) -> StorageReport {
    let mut tagged_all: HashSet<&Digest> = HashSet::new();
    let mut per_repo_tagged: HashMap<&RepoName, HashSet<&Digest>> = HashMap::new();
    for (name, repo) in &snapshot.repos {
        let mut set = HashSet::new();
        for d in repo.tags.values().filter_map(|t| t.current.as_ref()) {
            closure(snapshot, d, &mut set);
        }
        tagged_all.extend(set.iter().copied());
        per_repo_tagged.insert(name, set);
    }

    let plain = predict(snapshot, GcMode::Plain);
    let delete_untagged = predict(snapshot, GcMode::DeleteUntagged);

    let mut repositories = Vec::new();
    let mut untagged = Vec::new();
    let mut uploads = Vec::new();
    let mut tag_history = Vec::new();
    let mut untagged_union: HashSet<&Digest> = HashSet::new();
    for (name, repo) in &snapshot.repos {
        let mut repo_untagged: HashSet<&Digest> = HashSet::new();
        let revisions = untagged_revisions(snapshot, repo);
        for digest in &revisions {
            let mut held = HashSet::new();
            closure(snapshot, digest, &mut held);
            held.retain(|d| !tagged_all.contains(d));
            repo_untagged.extend(held.iter().copied());
            let (last_tag, former_tags) = former_tags(repo, digest);
            untagged.push(UntaggedManifest {
                repository: name.clone(),
                digest: (*digest).clone(),
                pushed: repo.revisions.get(*digest).copied().flatten(),
                last_tag,
                former_tags,
                is_index: matches!(snapshot.bodies.get(*digest), Some(Body::Index { .. })),
                bytes: sum(snapshot, held),
            });
        }
        untagged_union.extend(repo_untagged.iter().copied());
        let linked: HashSet<&Digest> = repo
            .layers
            .iter()
            .chain(repo.revisions.keys())
            .filter(|d| snapshot.blobs.contains_key(*d))
            .collect();
        let mut upload_bytes = 0u64;
        let mut abandoned_bytes = 0u64;
        for u in repo.uploads.values() {
            let abandoned = u.started.is_some_and(|t| t < abandoned_before);
            upload_bytes = upload_bytes.saturating_add(u.bytes);
            if abandoned {
                abandoned_bytes = abandoned_bytes.saturating_add(u.bytes);
            }
            uploads.push(UploadRow {
                repository: name.clone(),
                id: u.id.clone(),
                bytes: u.bytes,
                started: u.started,
                abandoned,
            });
        }
        for (tag, t) in &repo.tags {
            let mut before: Vec<PastDigest> = t
                .history
                .iter()
                .filter(|(d, _)| Some(*d) != t.current.as_ref())
                .map(|(d, when)| PastDigest {
                    digest: d.clone(),
                    tagged: *when,
                    stored: snapshot.revision_stored(repo, d),
                })
                .collect();
            before.sort_by(|a, b| b.tagged.cmp(&a.tagged).then(a.digest.cmp(&b.digest)));
            tag_history.push(TagHistory {
                repository: name.clone(),
                tag: tag.clone(),
                current: t.current.clone(),
                before,
            });
        }
        repositories.push(RepoStorage {
            repository: name.clone(),
            tags: repo.tags.values().filter(|t| t.current.is_some()).count(),
            manifests: repo
                .revisions
                .keys()
                .filter(|d| snapshot.blobs.contains_key(*d))
                .count(),
            untagged_manifests: revisions.len(),
            linked_bytes: sum(snapshot, linked),
            tagged_bytes: sum(
                snapshot,
                per_repo_tagged.get(name).into_iter().flatten().copied(),
            ),
            untagged_only_bytes: sum(snapshot, repo_untagged),
            upload_bytes,
            abandoned_upload_bytes: abandoned_bytes,
        });
    }

    let physical = snapshot
        .blobs
        .values()
        .fold(0u64, |a, b| a.saturating_add(*b));
    let registry = StorageTotals {
        blobs: snapshot.blobs.len(),
        physical_bytes: physical,
        tagged_bytes: sum(snapshot, tagged_all.iter().copied()),
        untagged_only_bytes: sum(snapshot, untagged_union.iter().copied()),
        unreferenced_bytes: plain.bytes,
        untagged_manifests: untagged.len(),
        uploads: uploads.len(),
        upload_bytes: uploads.iter().map(|u| u.bytes).fold(0, u64::saturating_add),
        abandoned_uploads: uploads.iter().filter(|u| u.abandoned).count(),
        abandoned_upload_bytes: uploads
            .iter()
            .filter(|u| u.abandoned)
            .map(|u| u.bytes)
            .fold(0, u64::saturating_add),
    };
    StorageReport {
        location: snapshot.location.clone(),
        registry,
        repositories,
        untagged,
        uploads,
        tag_history,
        garbage_collect: GcPredictions {
            plain,
            delete_untagged,
        },
        abandoned_before,
        problems: snapshot.problems.clone(),
        requests: snapshot.counts,
    }
}

/// The tag that last pointed at `digest` (newest history entry) and every tag that did.
fn former_tags(repo: &RepoStore, digest: &Digest) -> (Option<Tag>, Vec<Tag>) {
    let mut holders: Vec<(&Tag, Option<Timestamp>)> = repo
        .tags
        .iter()
        .filter_map(|(tag, t)| t.history.get(digest).map(|when| (tag, *when)))
        .collect();
    let tags: BTreeSet<Tag> = holders.iter().map(|(t, _)| (*t).clone()).collect();
    holders.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    (
        holders.first().map(|(t, _)| (*t).clone()),
        tags.into_iter().collect(),
    )
}
