//! The storage numbers of a registry, per repository and in total. Every number here has a
//! definition in the README and the same name in `--json`. Sums never wrap: the scan keeps
//! every blob and image within 2^53 bytes, and a total stops at 2^64 - 1 (see
//! [`saturating_total`]).

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::attached::Attachments;
use super::model::StorageModel;
use super::size::saturating_total;
use crate::registry::{Digest, RepoName};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RepoStats {
    pub repository: String,
    pub tags: usize,
    /// Sum of the `size` of each tag (aliases counted again): what a naive tool shows.
    pub logical_bytes: u64,
    /// Distinct blobs the repository's tags reference, manifests included.
    pub stored_bytes: u64,
    /// Of `stored_bytes`, the blobs no other repository references.
    pub unique_bytes: u64,
    /// `stored_bytes - unique_bytes`.
    pub shared_bytes: u64,
    /// Of `stored_bytes`, the blobs the repository's image tags reach (every tag that is not
    /// a referrer's bookkeeping: see [`Attachments`]).
    pub image_bytes: u64,
    /// `stored_bytes - image_bytes`: the blobs only attached artifacts reach (signatures,
    /// attestations, SBOMs, their referrers and the fallback indexes listing them). A blob
    /// an image uses too counts as image bytes.
    pub artifact_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegistryStats {
    pub repositories: usize,
    pub tags: usize,
    pub logical_bytes: u64,
    /// Distinct blobs referenced by any tag of any repository, manifests included.
    pub physical_bytes: u64,
    /// `logical_bytes / physical_bytes` (0 for an empty registry).
    pub dedup_ratio: f64,
    /// Of `physical_bytes`, the blobs no image tag reaches, only attached artifacts.
    pub artifact_bytes: u64,
}

/// Per-repository numbers, in repository order.
pub fn repo_stats(model: &StorageModel) -> Vec<RepoStats> {
    let marked: BTreeMap<&RepoName, BTreeMap<Digest, u64>> = model
        .repos
        .keys()
        .map(|r| (r, model.repo_marked(r)))
        .collect();
    let mut holders: HashMap<&Digest, usize> = HashMap::new();
    for blobs in marked.values() {
        for d in blobs.keys() {
            *holders.entry(d).or_default() += 1;
        }
    }
    marked
        .iter()
        .map(|(repo, blobs)| {
            let stored = saturating_total(blobs.values().copied());
            let unique = saturating_total(
                blobs
                    .iter()
                    .filter(|(d, _)| holders.get(d) == Some(&1))
                    .map(|(_, s)| *s),
            );
            let images = image_marked(model, repo);
            let artifacts = saturating_total(
                blobs
                    .iter()
                    .filter(|(d, _)| !images.contains_key(*d))
                    .map(|(_, s)| *s),
            );
            let tags = model.repos.get(*repo).map_or(0, |r| r.tags.len());
            let logical = saturating_total(
                model
                    .tag_digests(repo)
                    .filter_map(|(_, d)| model.image_size(d)),
            );
            RepoStats {
                repository: repo.to_string(),
                tags,
                logical_bytes: logical,
                stored_bytes: stored,
                unique_bytes: unique,
                shared_bytes: stored.saturating_sub(unique),
                image_bytes: stored.saturating_sub(artifacts),
                artifact_bytes: artifacts,
            }
        })
        .collect()
}

/// Totals over the repositories in `stats` (physical from the model, so shared blobs count once).
pub fn registry_stats(model: &StorageModel, stats: &[RepoStats]) -> RegistryStats {
    let mut physical: BTreeMap<Digest, u64> = BTreeMap::new();
    let mut images: BTreeMap<Digest, u64> = BTreeMap::new();
    for s in stats {
        if let Ok(repo) = RepoName::parse(&s.repository) {
            physical.extend(model.repo_marked(&repo));
            if s.artifact_bytes > 0 {
                images.extend(image_marked(model, &repo));
            } else {
                images.extend(model.repo_marked(&repo));
            }
        }
    }
    let artifact_bytes = saturating_total(
        physical
            .iter()
            .filter(|(d, _)| !images.contains_key(*d))
            .map(|(_, s)| *s),
    );
    let logical = saturating_total(stats.iter().map(|s| s.logical_bytes));
    let physical = saturating_total(physical.values().copied());
    RegistryStats {
        repositories: stats.len(),
        tags: stats.iter().map(|s| s.tags).sum(),
        logical_bytes: logical,
        physical_bytes: physical,
        dedup_ratio: if physical == 0 {
            0.0
        } else {
            logical as f64 / physical as f64
        },
        artifact_bytes,
    }
}

/// The blobs (manifests included) the image tags of `repo` reach: every resolved tag that
/// is not bookkeeping of an attached artifact (a `sha256-<hex>` or cosign tag, or a tag on a
/// manifest carrying `subject`).
pub fn image_marked(model: &StorageModel, repo: &RepoName) -> BTreeMap<Digest, u64> {
    let attachments = Attachments::of_repo(model, repo);
    let digests: Vec<&Digest> = model
        .tag_digests(repo)
        .filter(|(t, _)| !attachments.is_attached_tag(t))
        .map(|(_, d)| d)
        .collect();
    model.marked(&model.revisions(digests))
}

/// Bytes of a set of manifests as the registry stores them: the distinct blobs they and
/// what they reference hold, manifests included (an index's children with their blobs).
/// Used for the referrers of an image: a blob two of them share counts once.
pub fn manifests_bytes(model: &StorageModel, digests: &[Digest]) -> u64 {
    saturating_total(model.marked(&model.revisions(digests)).values().copied())
}
