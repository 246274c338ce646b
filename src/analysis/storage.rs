//! The storage numbers of a registry, per repository and in total. Every number here has a
//! definition in the README and the same name in `--json`. Sums never wrap: the scan keeps
//! every blob and image within 2^53 bytes, and a total stops at 2^64 - 1 (see
//! [`saturating_total`]).

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::attached::Attachments;
use super::model::StorageModel;
use super::size::saturating_total;
use crate::registry::referrers::scheme_of;
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
            // Most repositories hold no attached artifact: a cheap look at their tag names
            // and manifests spares them the referrers model (the TUI recomputes this often).
            let artifacts = if may_hold_artifacts(model, repo, blobs) {
                let images = image_marked(model, repo);
                saturating_total(
                    blobs
                        .iter()
                        .filter(|(d, _)| !images.contains_key(*d))
                        .map(|(_, s)| *s),
                )
            } else {
                0
            };
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

/// Whether any tag of `repo` is named as a referrer's (`sha256-<hex>`, cosign's) or any
/// manifest its tags reach (`marked`) carries `subject`: only then can it hold attached
/// artifacts.
fn may_hold_artifacts(
    model: &StorageModel,
    repo: &RepoName,
    marked: &BTreeMap<Digest, u64>,
) -> bool {
    model
        .repos
        .get(repo)
        .is_some_and(|r| r.tags.keys().any(|t| scheme_of(t).is_some()))
        || marked
            .keys()
            .any(|d| model.manifests.get(d).is_some_and(|m| m.subject.is_some()))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::artifact::ArtifactKind;
    use crate::analysis::model::{ManifestBody, ManifestInfo, ScanEvent};
    use crate::registry::Tag;

    fn d(n: u8) -> Digest {
        Digest::parse(&format!("sha256:{}", format!("{n:02x}").repeat(32))).expect("digest")
    }

    fn image(m: &mut StorageModel, digest: Digest, config: (u8, u64), layers: &[(u8, u64)]) {
        m.apply(ScanEvent::Manifest {
            digest,
            info: ManifestInfo {
                media_type: "application/vnd.oci.image.manifest.v1+json".into(),
                doc_size: 100,
                body: ManifestBody::Image {
                    config: (d(config.0), config.1),
                    layers: layers.iter().map(|(n, s)| (d(*n), *s)).collect(),
                    platform: None,
                },
                subject: None,
                kind: ArtifactKind::Image,
            },
        });
    }

    fn tag(m: &mut StorageModel, repo: &str, t: &str, digest: Digest) {
        let repo = RepoName::parse(repo).expect("repo");
        let t = Tag::parse(t).expect("tag");
        m.apply(ScanEvent::Tags {
            repo: repo.clone(),
            tags: vec![t.clone()],
        });
        m.apply(ScanEvent::Resolved {
            repo,
            tag: t,
            digest,
        });
    }

    #[test]
    fn stored_bytes_split_into_images_and_artifacts_a_shared_blob_counting_as_image() {
        let mut m = StorageModel::default();
        image(&mut m, d(1), (10, 5), &[(11, 1000)]);
        tag(&mut m, "app", "v1", d(1));
        // A signature whose second layer is the image's own layer (as odd as it is, it must
        // not count twice nor as an artifact).
        image(&mut m, d(2), (20, 7), &[(21, 300), (11, 1000)]);
        tag(&mut m, "app", &format!("sha256-{}.sig", d(1).hex()), d(2));
        // Another repository with no attached artifact.
        image(&mut m, d(3), (30, 5), &[(31, 50)]);
        tag(&mut m, "plain", "v1", d(3));
        let stats = repo_stats(&m);
        let app = &stats[0];
        assert_eq!(app.stored_bytes, 100 + 5 + 1000 + 100 + 7 + 300);
        assert_eq!(app.artifact_bytes, 100 + 7 + 300);
        assert_eq!(app.image_bytes + app.artifact_bytes, app.stored_bytes);
        let plain = &stats[1];
        assert_eq!(
            (plain.artifact_bytes, plain.image_bytes),
            (0, plain.stored_bytes)
        );
        assert_eq!(registry_stats(&m, &stats).artifact_bytes, 407);
        assert_eq!(manifests_bytes(&m, &[d(2)]), 100 + 7 + 300 + 1000);
    }
}
