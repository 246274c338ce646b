//! `bytes_freed`: what deleting a selection of tags gives back once garbage collection runs.
//!
//! Deleting a tag deletes its manifest digest, so every other tag on that digest in the same
//! repository goes too (the selection is widened, and the widening is shown). Deleting an
//! index also deletes its child manifests that no remaining manifest of that repository
//! references: Distribution's plain `garbage-collect` keeps every manifest that still has a
//! revision link, so without that cascade a multi-arch image frees almost nothing.
//! Untagged manifests and blobs of interrupted uploads are invisible to the API and outside
//! the prediction.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::attached::Attachments;
use super::followers::{Role, followers, rewrites};
use super::model::StorageModel;
use crate::registry::{Digest, RepoName, Tag};

/// What the prediction cannot see; shown wherever `bytes_freed` is.
pub const PREDICTION_NOTE: &str = "untagged manifests and blobs of interrupted uploads are invisible to the registry API and not part of this prediction";

/// Why a manifest is in a deletion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Goes {
    /// A tag on it was selected (serialized `tag`).
    #[serde(rename = "tag")]
    Tag,
    /// A platform manifest of a deleted index (serialized `index child`).
    #[serde(rename = "index child")]
    IndexChild,
    /// Attached to a deleted manifest (`parent`): a signature, an SBOM, an attestation
    /// (serialized `referrer`).
    #[serde(rename = "referrer")]
    Referrer,
    /// The referrers fallback index (`sha256-<hex>`) of a deleted manifest (`parent`)
    /// (serialized `referrers index`).
    #[serde(rename = "referrers index")]
    FallbackIndex,
    /// A referrers fallback index of a surviving subject (`parent`) that lists manifests
    /// that go: rewritten without them (`dropped`), not deleted (serialized `rewritten`).
    #[serde(rename = "rewritten")]
    Rewritten,
}

/// Whether the referrers of what is deleted go with it (the default) or stay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Referrers {
    #[default]
    Follow,
    Keep,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManifestDeletion {
    pub repository: RepoName,
    pub digest: Digest,
    pub media_type: String,
    /// Every tag that goes with this digest.
    pub tags: Vec<Tag>,
    /// Of `tags`, those not asked for: they share the digest.
    pub widened: Vec<Tag>,
    pub reason: Goes,
    /// For an index child, the deleted index it belongs to; for a referrer or a referrers
    /// index, the deleted subject it goes with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<Digest>,
    /// For a rewritten referrers index, the entries it loses.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dropped: Vec<Digest>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeletionPlan {
    pub deletions: Vec<ManifestDeletion>,
    /// Requested tags that could not be found (or resolved) in the model (serialized as
    /// `REPOSITORY:TAG`).
    #[serde(serialize_with = "repo_tags")]
    pub unknown: Vec<(RepoName, Tag)>,
    pub bytes_freed: u64,
    pub note: &'static str,
    /// The blobs (and manifest documents) garbage collection removes, with their sizes:
    /// the set `bytes_freed` sums. Not part of the JSON.
    #[serde(skip)]
    pub freed: BTreeMap<Digest, u64>,
}

/// `(repository, tag)` pairs as `REPOSITORY:TAG` strings, as `--json` has always printed them.
pub fn repo_tags<S: serde::Serializer>(
    pairs: &[(RepoName, Tag)],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(pairs.iter().map(|(r, t)| format!("{r}:{t}")))
}

impl DeletionPlan {
    pub fn tag_count(&self) -> usize {
        self.deletions.iter().map(|d| d.tags.len()).sum()
    }
}

/// Plans deleting `selection` (by digest), with the referrers of what goes, and predicts
/// `bytes_freed`.
pub fn plan_deletion(model: &StorageModel, selection: &[(RepoName, Tag)]) -> DeletionPlan {
    plan_deletion_with(model, selection, Referrers::Follow)
}

/// [`plan_deletion`], with the referrers of what goes following it or not.
pub fn plan_deletion_with(
    model: &StorageModel,
    selection: &[(RepoName, Tag)],
    referrers: Referrers,
) -> DeletionPlan {
    let mut requested: BTreeMap<&RepoName, BTreeSet<&Tag>> = BTreeMap::new();
    let mut digests: BTreeMap<&RepoName, BTreeSet<Digest>> = BTreeMap::new();
    let mut unknown = Vec::new();
    for (repo, tag) in selection {
        match model.repos.get(repo).and_then(|r| r.tags.get(tag)) {
            Some(Some(d)) => {
                requested.entry(repo).or_default().insert(tag);
                digests.entry(repo).or_default().insert(d.clone());
            }
            _ => unknown.push((repo.clone(), tag.clone())),
        }
    }
    let mut deletions = Vec::new();
    let mut deleted_by_repo: BTreeMap<&RepoName, BTreeSet<Digest>> = BTreeMap::new();
    let mut rewritten_by_repo: BTreeMap<&RepoName, Rewritten> = BTreeMap::new();
    for (repo, deleted_tags_digests) in &digests {
        let remaining: Vec<&Digest> = model
            .tag_digests(repo)
            .map(|(_, d)| d)
            .filter(|d| !deleted_tags_digests.contains(*d))
            .collect();
        let keep = model.revisions(remaining);
        let asked = requested.get(repo).cloned().unwrap_or_default();
        let mut deleted = BTreeSet::new();
        for digest in deleted_tags_digests {
            let tags: Vec<&Tag> = model
                .tag_digests(repo)
                .filter(|(_, d)| *d == digest)
                .map(|(t, _)| t)
                .collect();
            deletions.push(ManifestDeletion {
                repository: (*repo).clone(),
                digest: digest.clone(),
                media_type: media_type(model, digest),
                tags: tags.iter().map(|t| (*t).clone()).collect(),
                widened: tags
                    .iter()
                    .filter(|t| !asked.contains(**t))
                    .map(|t| (*t).clone())
                    .collect(),
                reason: Goes::Tag,
                parent: None,
                dropped: Vec::new(),
            });
            deleted.insert(digest.clone());
            for child in model.revisions([digest]) {
                // A child that is itself selected by a tag goes in its own turn, with its
                // tags (listed once, and backed up with them).
                if &child != digest
                    && !keep.contains(&child)
                    && !deleted_tags_digests.contains(&child)
                    && deleted.insert(child.clone())
                {
                    deletions.push(ManifestDeletion {
                        repository: (*repo).clone(),
                        digest: child.clone(),
                        media_type: media_type(model, &child),
                        tags: Vec::new(),
                        widened: Vec::new(),
                        reason: Goes::IndexChild,
                        parent: Some(digest.clone()),
                        dropped: Vec::new(),
                    });
                }
            }
        }
        let attachments = Attachments::of_repo(model, repo);
        if referrers == Referrers::Follow {
            for f in followers(model, repo, &attachments, &deleted) {
                let tags: Vec<Tag> = model
                    .tag_digests(repo)
                    .filter(|(_, d)| **d == f.digest)
                    .map(|(t, _)| t.clone())
                    .collect();
                deletions.push(ManifestDeletion {
                    repository: (*repo).clone(),
                    digest: f.digest.clone(),
                    media_type: media_type(model, &f.digest),
                    tags,
                    // Bookkeeping tags of what goes: expected, not a surprise.
                    widened: Vec::new(),
                    reason: match f.role {
                        Role::Referrer => Goes::Referrer,
                        Role::FallbackIndex => Goes::FallbackIndex,
                    },
                    parent: Some(f.subject),
                    dropped: Vec::new(),
                });
                deleted.insert(f.digest);
            }
        }
        let mut rewritten = BTreeMap::new();
        for r in rewrites(model, &attachments, &deleted, false) {
            deletions.push(ManifestDeletion {
                repository: (*repo).clone(),
                digest: r.index.clone(),
                media_type: media_type(model, &r.index),
                tags: vec![r.tag],
                widened: Vec::new(),
                reason: Goes::Rewritten,
                parent: Some(r.subject),
                dropped: r.dropped.clone(),
            });
            rewritten.insert(r.index, r.dropped.into_iter().collect());
        }
        deleted_by_repo.insert(repo, deleted);
        rewritten_by_repo.insert(repo, rewritten);
    }
    let freed = blobs_freed_rewriting(model, &deleted_by_repo, &rewritten_by_repo);
    DeletionPlan {
        deletions,
        unknown,
        bytes_freed: sum_sizes(&freed),
        note: PREDICTION_NOTE,
        freed,
    }
}

/// Rewritten referrers indexes of one repository: index -> the entries it loses.
pub type Rewritten = BTreeMap<Digest, BTreeSet<Digest>>;

/// Bytes that garbage collection removes after the manifests in `deleted` (per repository)
/// are deleted: blobs marked before and no longer marked after.
pub fn bytes_freed(model: &StorageModel, deleted: &BTreeMap<&RepoName, BTreeSet<Digest>>) -> u64 {
    bytes_freed_rewriting(model, deleted, &BTreeMap::new())
}

/// [`bytes_freed`] where referrers indexes are also rewritten without some entries. The
/// rewritten index's own document counts as staying: it is replaced by a slightly smaller
/// one whose bytes exist only once it is written, so the prediction is short by that
/// difference (tens of bytes per entry dropped), never over.
pub fn bytes_freed_rewriting(
    model: &StorageModel,
    deleted: &BTreeMap<&RepoName, BTreeSet<Digest>>,
    rewritten: &BTreeMap<&RepoName, Rewritten>,
) -> u64 {
    sum_sizes(&blobs_freed_rewriting(model, deleted, rewritten))
}

/// The sum of the sizes, saturating (a lying registry's sizes must not overflow).
pub fn sum_sizes(blobs: &BTreeMap<Digest, u64>) -> u64 {
    blobs.values().fold(0u64, |a, s| a.saturating_add(*s))
}

/// What [`bytes_freed_rewriting`] sums: each blob and manifest document garbage collection
/// removes, with its size. A blob backup keeps exactly these (`backup_blobs`).
pub fn blobs_freed_rewriting(
    model: &StorageModel,
    deleted: &BTreeMap<&RepoName, BTreeSet<Digest>>,
    rewritten: &BTreeMap<&RepoName, Rewritten>,
) -> BTreeMap<Digest, u64> {
    let mut before: BTreeMap<Digest, u64> = BTreeMap::new();
    let mut after: BTreeMap<Digest, u64> = BTreeMap::new();
    for repo in model.repos.keys() {
        let revisions = model.revisions(model.tag_digests(repo).map(|(_, d)| d));
        before.extend(model.marked(&revisions));
        let mut remaining: BTreeSet<Digest> = match deleted.get(repo) {
            Some(gone) => revisions.difference(gone).cloned().collect(),
            None => revisions,
        };
        for (index, dropped) in rewritten.get(repo).into_iter().flatten() {
            if !remaining.remove(index) {
                continue;
            }
            for (blob, size) in model.marked(&BTreeSet::from([index.clone()])) {
                if !dropped.contains(&blob) {
                    after.insert(blob, size);
                }
            }
        }
        after.extend(model.marked(&remaining));
    }
    before
        .into_iter()
        .filter(|(d, _)| !after.contains_key(d))
        .collect()
}

fn media_type(model: &StorageModel, digest: &Digest) -> String {
    model
        .manifests
        .get(digest)
        .map(|m| m.media_type.clone())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::model::{ManifestBody, ManifestInfo, ScanEvent};
    use crate::analysis::storage::{registry_stats, repo_stats};

    fn d(n: u8) -> Digest {
        Digest::parse(&format!("sha256:{}", format!("{n:02x}").repeat(32))).unwrap()
    }
    fn repo(s: &str) -> RepoName {
        RepoName::parse(s).unwrap()
    }
    fn tag(s: &str) -> Tag {
        Tag::parse(s).unwrap()
    }

    fn image(m: &mut StorageModel, digest: u8, doc: u64, config: (u8, u64), layers: &[(u8, u64)]) {
        m.apply(ScanEvent::Manifest {
            digest: d(digest),
            info: ManifestInfo {
                media_type: "image".into(),
                doc_size: doc,
                subject: None,
                kind: crate::analysis::artifact::ArtifactKind::Image,
                body: ManifestBody::Image {
                    config: (d(config.0), config.1),
                    layers: layers.iter().map(|(l, s)| (d(*l), *s)).collect(),
                    platform: None,
                },
            },
        });
    }

    fn tagged(m: &mut StorageModel, r: &str, t: &str, digest: u8) {
        m.apply(ScanEvent::Tags {
            repo: repo(r),
            tags: vec![tag(t)],
        });
        m.apply(ScanEvent::Resolved {
            repo: repo(r),
            tag: tag(t),
            digest: d(digest),
        });
    }

    /// Two repos sharing a base layer (10: 1000 bytes); app has v1 and latest on one digest,
    /// and a multi-arch index (50) with two children (51, 52).
    fn fixture() -> StorageModel {
        let mut m = StorageModel::default();
        image(&mut m, 1, 100, (2, 20), &[(10, 1000), (11, 300)]);
        image(&mut m, 3, 110, (4, 22), &[(10, 1000), (12, 400)]);
        image(&mut m, 51, 90, (53, 30), &[(10, 1000), (54, 500)]);
        image(&mut m, 52, 91, (55, 31), &[(56, 600), (54, 500)]);
        m.apply(ScanEvent::Manifest {
            digest: d(50),
            info: ManifestInfo {
                media_type: "index".into(),
                doc_size: 200,
                subject: None,
                kind: crate::analysis::artifact::ArtifactKind::Index,
                body: ManifestBody::Index {
                    children: vec![d(51), d(52)],
                },
            },
        });
        tagged(&mut m, "app", "v1", 1);
        tagged(&mut m, "app", "latest", 1);
        tagged(&mut m, "other", "1.0", 3);
        tagged(&mut m, "multi", "v2", 50);
        m
    }

    #[test]
    fn sizes_and_repo_numbers() {
        let m = fixture();
        assert_eq!(m.image_size(&d(1)), Some(1320));
        // Index: union of children's blobs, layer 54 once.
        assert_eq!(m.image_size(&d(50)), Some(30 + 1000 + 500 + 31 + 600));
        let stats = repo_stats(&m);
        let app = &stats[0];
        assert_eq!(app.repository, "app");
        assert_eq!(app.logical_bytes, 2 * 1320);
        assert_eq!(app.stored_bytes, 100 + 20 + 1000 + 300);
        assert_eq!(app.unique_bytes, 100 + 20 + 300);
        assert_eq!(app.shared_bytes, 1000);
        let total = registry_stats(&m, &stats);
        assert_eq!(
            total.physical_bytes,
            (100 + 20 + 1000 + 300) + (110 + 22 + 400) + (200 + 90 + 91 + 30 + 500 + 31 + 600)
        );
    }

    #[test]
    fn deleting_a_tag_widens_to_its_aliases() {
        let m = fixture();
        let plan = plan_deletion(&m, &[(repo("app"), tag("v1"))]);
        assert_eq!(plan.deletions.len(), 1);
        assert_eq!(plan.deletions[0].widened, vec![tag("latest")]);
        // The shared base layer stays (other repos use it).
        assert_eq!(plan.bytes_freed, 100 + 20 + 300);
    }

    #[test]
    fn deleting_an_index_cascades_to_its_children() {
        let m = fixture();
        let plan = plan_deletion(&m, &[(repo("multi"), tag("v2"))]);
        assert_eq!(plan.deletions.len(), 3);
        assert!(
            plan.deletions[1..]
                .iter()
                .all(|x| x.reason == Goes::IndexChild)
        );
        assert_eq!(plan.bytes_freed, 200 + 90 + 91 + 30 + 500 + 31 + 600);
    }

    #[test]
    fn a_child_that_is_also_selected_by_its_own_tag_is_deleted_once_as_a_tag() {
        // 60 is an index of 61 and 62; 61 also has a tag of its own. 60 sorts first, so the
        // cascade reaches 61 before 61's own turn comes.
        let mut m = StorageModel::default();
        image(&mut m, 61, 90, (63, 30), &[(64, 500)]);
        image(&mut m, 62, 91, (65, 31), &[(66, 600)]);
        m.apply(ScanEvent::Manifest {
            digest: d(60),
            info: ManifestInfo {
                media_type: "index".into(),
                doc_size: 200,
                subject: None,
                kind: crate::analysis::artifact::ArtifactKind::Index,
                body: ManifestBody::Index {
                    children: vec![d(61), d(62)],
                },
            },
        });
        tagged(&mut m, "multi", "1", 60);
        tagged(&mut m, "multi", "1-amd64", 61);
        let plan = plan_deletion(
            &m,
            &[(repo("multi"), tag("1")), (repo("multi"), tag("1-amd64"))],
        );
        let mut digests: Vec<&str> = plan.deletions.iter().map(|x| x.digest.as_str()).collect();
        digests.sort();
        digests.dedup();
        assert_eq!(digests.len(), plan.deletions.len(), "{plan:#?}");
        let own = plan.deletions.iter().find(|x| x.digest == d(61)).unwrap();
        assert_eq!(own.reason, Goes::Tag);
        assert_eq!(own.tags, vec![tag("1-amd64")]);
        assert_eq!(plan.bytes_freed, 200 + 90 + 30 + 500 + 91 + 31 + 600);
    }

    #[test]
    fn deleting_everything_frees_everything() {
        let m = fixture();
        let all: Vec<_> = [
            ("app", "v1"),
            ("app", "latest"),
            ("other", "1.0"),
            ("multi", "v2"),
        ]
        .iter()
        .map(|(r, t)| (repo(r), tag(t)))
        .collect();
        let plan = plan_deletion(&m, &all);
        let stats = repo_stats(&m);
        assert_eq!(plan.bytes_freed, registry_stats(&m, &stats).physical_bytes);
        let plan = plan_deletion(&m, &[(repo("nope"), tag("x"))]);
        assert_eq!(plan.unknown, vec![(repo("nope"), tag("x"))]);
        assert_eq!(plan.bytes_freed, 0);
    }
}
