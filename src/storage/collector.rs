//! What Distribution 2.8's `garbage-collect` would delete, worked out from a [`Snapshot`] by
//! its own marking rules (`registry/storage/garbagecollect.go`, v2.8.2):
//!
//! - Repositories are the directories with a `_layers` directory; `_layers` links themselves
//!   keep nothing alive.
//! - In each, every revision whose link and blob are there is enumerated. Plain: it is marked
//!   with its references (an image: config and layers; an index: its children's documents
//!   only, the children being revisions marked on their own). With `--delete-untagged`, a
//!   revision no tag's `current` points at is removed instead and marks nothing, even when a
//!   tagged index lists it: the index keeps the child's document, its config and layers go
//!   (distribution issue 3178).
//! - Every blob not marked in any repository is deleted. Uploads are not touched.
//!
//! Hazard: a revision's digest is taken from its path; Distribution reads the link, which
//! holds that same digest unless the storage was edited by hand.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde::Serialize;

use super::snapshot::{Body, Snapshot};
use crate::registry::{Digest, RepoName, Tag};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GcMode {
    /// `garbage-collect CONFIG`
    Plain,
    /// `garbage-collect --delete-untagged CONFIG`
    DeleteUntagged,
}

/// A revision `--delete-untagged` removes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemovedManifest {
    pub repository: RepoName,
    pub digest: Digest,
}

/// A tagged index whose platform manifests `--delete-untagged` removes (their layers go too).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BrokenIndex {
    pub repository: RepoName,
    pub digest: Digest,
    pub tags: Vec<Tag>,
    /// The children it loses.
    pub children: Vec<Digest>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GcPrediction {
    pub mode: GcMode,
    /// Blobs (manifests included) it deletes.
    pub blobs: usize,
    /// Their bytes: what the blob store loses.
    pub bytes: u64,
    pub manifests_removed: Vec<RemovedManifest>,
    /// Tagged indexes it breaks (empty in plain mode).
    pub broken_indexes: Vec<BrokenIndex>,
    /// Revisions whose body cannot be read: the real collector stops there with an error.
    pub would_fail_on: Vec<RemovedManifest>,
    #[serde(skip)]
    pub deleted: BTreeMap<Digest, u64>,
}

/// The digests `current` links point at in one repository.
fn tagged_now(snapshot: &Snapshot, repo: &RepoName) -> HashSet<Digest> {
    snapshot.repos.get(repo).map_or_else(HashSet::new, |r| {
        r.tags.values().filter_map(|t| t.current.clone()).collect()
    })
}

/// Predicts one run of the collector.
pub fn predict(snapshot: &Snapshot, mode: GcMode) -> GcPrediction {
    let mut marked: HashSet<&Digest> = HashSet::new();
    let mut removed = Vec::new();
    let mut would_fail_on = Vec::new();
    for (name, repo) in &snapshot.repos {
        if !repo.has_layers {
            continue;
        }
        let tagged = tagged_now(snapshot, name);
        for digest in repo.revisions.keys() {
            if !snapshot.blobs.contains_key(digest) {
                continue;
            }
            if mode == GcMode::DeleteUntagged && !tagged.contains(digest) {
                removed.push(RemovedManifest {
                    repository: name.clone(),
                    digest: digest.clone(),
                });
                continue;
            }
            marked.insert(digest);
            match snapshot.bodies.get(digest) {
                Some(Body::Unreadable(_)) | None => would_fail_on.push(RemovedManifest {
                    repository: name.clone(),
                    digest: digest.clone(),
                }),
                Some(body) => marked.extend(body.references()),
            }
        }
    }
    let deleted: BTreeMap<Digest, u64> = snapshot
        .blobs
        .iter()
        .filter(|(d, _)| !marked.contains(d))
        .map(|(d, s)| (d.clone(), *s))
        .collect();
    let broken_indexes = if mode == GcMode::DeleteUntagged {
        broken_indexes(snapshot, &removed)
    } else {
        Vec::new()
    };
    GcPrediction {
        mode,
        blobs: deleted.len(),
        bytes: deleted.values().fold(0u64, |a, b| a.saturating_add(*b)),
        manifests_removed: removed,
        broken_indexes,
        would_fail_on,
        deleted,
    }
}

/// Tagged indexes (at any depth under a tag) whose children are among `removed`.
fn broken_indexes(snapshot: &Snapshot, removed: &[RemovedManifest]) -> Vec<BrokenIndex> {
    let gone: BTreeSet<(&RepoName, &Digest)> =
        removed.iter().map(|r| (&r.repository, &r.digest)).collect();
    let mut out = Vec::new();
    for (name, repo) in &snapshot.repos {
        let mut by_digest: BTreeMap<&Digest, Vec<Tag>> = BTreeMap::new();
        for (tag, t) in &repo.tags {
            if let Some(d) = &t.current {
                by_digest.entry(d).or_default().push(tag.clone());
            }
        }
        for (digest, tags) in by_digest {
            let mut lost = BTreeSet::new();
            let mut stack = vec![digest];
            let mut seen = HashSet::new();
            while let Some(d) = stack.pop() {
                if !seen.insert(d) {
                    continue;
                }
                if let Some(Body::Index { children }) = snapshot.bodies.get(d) {
                    for child in children {
                        if gone.contains(&(name, child)) {
                            lost.insert(child.clone());
                        }
                        stack.push(child);
                    }
                }
            }
            if !lost.is_empty() {
                out.push(BrokenIndex {
                    repository: name.clone(),
                    digest: digest.clone(),
                    tags,
                    children: lost.into_iter().collect(),
                });
            }
        }
    }
    out
}
