//! `bytes_freed` for a selection that changes often (marks toggled one by one) over a model
//! that does not: how many (repository, manifest) pairs keep each blob is counted once, and
//! each selection then costs the tags of the repositories it touches rather than a walk over
//! the whole registry. Same definition and same result as [`plan_deletion`]'s `bytes_freed`
//! (the tests compare them over every subset of a fixture).
//!
//! [`plan_deletion`]: super::freed::plan_deletion

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::attached::Attachments;
use super::followers::{followers, rewrites};
use super::model::StorageModel;
use crate::registry::{Digest, RepoName, Tag};

#[derive(Debug, Clone, Default)]
pub struct FreedIndex {
    /// For each blob: how many (repository, live manifest) pairs mark it, and its size.
    holders: HashMap<Digest, (usize, u64)>,
    /// The attachments of each repository that has any: their referrers go with what is
    /// deleted, as in [`plan_deletion`].
    ///
    /// [`plan_deletion`]: super::freed::plan_deletion
    attachments: HashMap<RepoName, Attachments>,
}

/// What garbage collection marks for one manifest (its document; an image's config and
/// layers; an index's children's documents).
fn marked_by(model: &StorageModel, manifest: &Digest) -> BTreeMap<Digest, u64> {
    model.marked(&BTreeSet::from([manifest.clone()]))
}

impl FreedIndex {
    pub fn new(model: &StorageModel) -> Self {
        let mut memo: HashMap<Digest, BTreeMap<Digest, u64>> = HashMap::new();
        let mut holders: HashMap<Digest, (usize, u64)> = HashMap::new();
        for repo in model.repos.keys() {
            let revisions = model.revisions(model.tag_digests(repo).map(|(_, d)| d));
            for manifest in revisions {
                let blobs = memo
                    .entry(manifest)
                    .or_insert_with_key(|m| marked_by(model, m));
                for (blob, size) in blobs.iter() {
                    holders.entry(blob.clone()).or_insert((0, *size)).0 += 1;
                }
            }
        }
        let attachments = model
            .repos
            .keys()
            .map(|repo| (repo.clone(), Attachments::of_repo(model, repo)))
            .filter(|(_, a)| !a.is_empty())
            .collect();
        Self {
            holders,
            attachments,
        }
    }

    /// The bytes garbage collection would remove after `selection` is deleted by digest
    /// (aliases widened, index children cascaded as [`plan_deletion`] does). `model` must
    /// be the model the index was built from.
    ///
    /// [`plan_deletion`]: super::freed::plan_deletion
    pub fn bytes_freed(&self, model: &StorageModel, selection: &[(RepoName, Tag)]) -> u64 {
        let mut digests: BTreeMap<&RepoName, BTreeSet<&Digest>> = BTreeMap::new();
        for (repo, tag) in selection {
            if let Some(Some(d)) = model.repos.get(repo).and_then(|r| r.tags.get(tag)) {
                digests.entry(repo).or_default().insert(d);
            }
        }
        let mut released: HashMap<Digest, usize> = HashMap::new();
        for (repo, gone) in &digests {
            // What the remaining tags keep alive matters only for an index's children; it
            // costs a walk over the repository's tags, so it is computed only when needed.
            let mut keep: Option<BTreeSet<Digest>> = None;
            let mut deleted: BTreeSet<Digest> = BTreeSet::new();
            for &digest in gone {
                deleted.insert(digest.clone());
                for child in model.revisions([digest]) {
                    if &child == digest {
                        continue;
                    }
                    let keep = keep.get_or_insert_with(|| {
                        let remaining = model
                            .tag_digests(repo)
                            .map(|(_, d)| d)
                            .filter(|d| !gone.contains(d));
                        model.revisions(remaining)
                    });
                    if !keep.contains(&child) {
                        deleted.insert(child);
                    }
                }
            }
            if let Some(attachments) = self.attachments.get(*repo) {
                let follow = followers(model, repo, attachments, &deleted);
                deleted.extend(follow.into_iter().map(|f| f.digest));
                // A rewritten referrers index stops marking the entries it loses.
                for r in rewrites(model, attachments, &deleted, false) {
                    for child in r.dropped {
                        if model.manifests.contains_key(&child)
                            || model.missing.contains_key(&child)
                        {
                            *released.entry(child).or_default() += 1;
                        }
                    }
                }
            }
            for manifest in &deleted {
                for blob in marked_by(model, manifest).into_keys() {
                    *released.entry(blob).or_default() += 1;
                }
            }
        }
        released
            .iter()
            .filter_map(|(blob, count)| match self.holders.get(blob) {
                Some((holders, size)) if holders == count => Some(*size),
                _ => None,
            })
            .fold(0u64, u64::saturating_add)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::freed::{Goes, plan_deletion};
    use crate::analysis::model::{ManifestBody, ManifestInfo, ScanEvent};

    fn d(n: u8) -> Digest {
        Digest::parse(&format!("sha256:{}", format!("{n:02x}").repeat(32))).unwrap()
    }

    fn image(m: &mut StorageModel, digest: u8, config: (u8, u64), layers: &[(u8, u64)]) {
        m.apply(ScanEvent::Manifest {
            digest: d(digest),
            info: ManifestInfo {
                media_type: "image".into(),
                doc_size: 100 + u64::from(digest),
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

    fn index(m: &mut StorageModel, digest: u8, children: &[u8]) {
        m.apply(ScanEvent::Manifest {
            digest: d(digest),
            info: ManifestInfo {
                media_type: "index".into(),
                doc_size: 200,
                subject: None,
                kind: crate::analysis::artifact::ArtifactKind::Index,
                body: ManifestBody::Index {
                    children: children.iter().map(|c| d(*c)).collect(),
                },
            },
        });
    }

    fn tagged(m: &mut StorageModel, r: &str, t: &str, digest: u8) {
        let (repo, tag) = (RepoName::parse(r).unwrap(), Tag::parse(t).unwrap());
        m.apply(ScanEvent::Tags {
            repo: repo.clone(),
            tags: vec![tag.clone()],
        });
        m.apply(ScanEvent::Resolved {
            repo,
            tag,
            digest: d(digest),
        });
    }

    /// Aliases, a layer shared across repositories, an index whose child is also tagged on
    /// its own, the same index in two repositories, and a tag whose manifest is unknown.
    fn fixture() -> StorageModel {
        let mut m = StorageModel::default();
        image(&mut m, 1, (2, 20), &[(10, 1000), (11, 300)]);
        image(&mut m, 3, (4, 22), &[(10, 1000), (12, 400)]);
        image(&mut m, 51, (53, 30), &[(10, 1000), (54, 500)]);
        image(&mut m, 52, (55, 31), &[(56, 600), (54, 500)]);
        index(&mut m, 50, &[51, 52]);
        tagged(&mut m, "app", "v1", 1);
        tagged(&mut m, "app", "latest", 1);
        tagged(&mut m, "app", "v0", 3);
        tagged(&mut m, "other", "1.0", 3);
        tagged(&mut m, "multi", "v2", 50);
        tagged(&mut m, "multi", "amd64", 51);
        tagged(&mut m, "copy", "v2", 50);
        tagged(&mut m, "ghost", "x", 99);
        m
    }

    fn attached(m: &mut StorageModel, digest: u8, subject: u8, layer: (u8, u64)) {
        image(m, digest, (120, 7), &[layer]);
        if let Some(info) = m.manifests.get_mut(&d(digest)) {
            info.subject = Some(d(subject));
        }
    }

    fn scheme(subject: u8, suffix: &str) -> String {
        format!("sha256-{}{suffix}", d(subject).hex())
    }

    /// `app:v1` (1) and `app:v0` (3) signed by cosign (101, 103: one config blob shared), v1
    /// with an SBOM (102) in its fallback index (110) and a signature (104) of the SBOM in the
    /// SBOM's fallback index (111); the SBOM is also listed in v0's fallback index (112).
    fn with_referrers() -> StorageModel {
        let mut m = fixture();
        image(&mut m, 101, (120, 7), &[(130, 40)]);
        tagged(&mut m, "app", &scheme(1, ".sig"), 101);
        image(&mut m, 103, (120, 7), &[(131, 41)]);
        tagged(&mut m, "app", &scheme(3, ".sig"), 103);
        attached(&mut m, 102, 1, (132, 300));
        index(&mut m, 110, &[102]);
        tagged(&mut m, "app", &scheme(1, ""), 110);
        attached(&mut m, 104, 102, (133, 50));
        index(&mut m, 111, &[104]);
        tagged(&mut m, "app", &scheme(102, ""), 111);
        index(&mut m, 112, &[102]);
        tagged(&mut m, "app", &scheme(3, ""), 112);
        tagged(&mut m, "app", "sbom", 102);
        m
    }

    #[test]
    fn with_referrers_every_selection_frees_what_plan_deletion_says() {
        let m = with_referrers();
        let tags: Vec<(RepoName, Tag)> = ["v1", "v0", "latest", &scheme(1, ".sig"), "sbom"]
            .iter()
            .map(|t| (RepoName::parse("app").unwrap(), Tag::parse(t).unwrap()))
            .chain([(
                RepoName::parse("other").unwrap(),
                Tag::parse("1.0").unwrap(),
            )])
            .collect();
        let index = FreedIndex::new(&m);
        for bits in 0u32..(1 << tags.len()) {
            let selection: Vec<_> = (0..tags.len())
                .filter(|i| bits & (1 << i) != 0)
                .map(|i| tags[i].clone())
                .collect();
            let expected = plan_deletion(&m, &selection).bytes_freed;
            assert_eq!(index.bytes_freed(&m, &selection), expected, "{selection:?}");
        }
        // v1 alone: its signature goes (not the shared config blob), its fallback index goes,
        // the SBOM stays (v0's index lists it) with its signature and fallback index.
        let v1 = [tags[0].clone(), tags[2].clone()];
        let plan = plan_deletion(&m, &v1);
        let gone: Vec<Digest> = plan.deletions.iter().map(|x| x.digest.clone()).collect();
        assert_eq!(gone, vec![d(1), d(101), d(110)]);
        assert_eq!(plan.bytes_freed, 101 + 20 + 300 + (201 + 40) + 200);
        // The SBOM alone: it goes with its signature and index; v1's and v0's indexes are
        // rewritten without it, their documents counted as staying.
        let plan = plan_deletion(&m, &[tags[4].clone()]);
        let gone: Vec<(Digest, Goes)> = plan
            .deletions
            .iter()
            .map(|x| (x.digest.clone(), x.reason))
            .collect();
        assert_eq!(
            gone,
            vec![
                (d(102), Goes::Tag),
                (d(104), Goes::Referrer),
                (d(111), Goes::FallbackIndex),
                (d(110), Goes::Rewritten),
                (d(112), Goes::Rewritten),
            ]
        );
        assert_eq!(plan.bytes_freed, (202 + 300) + (204 + 50) + 200);
    }

    #[test]
    fn every_selection_frees_what_plan_deletion_says() {
        let m = fixture();
        let tags: Vec<(RepoName, Tag)> = m
            .repos
            .iter()
            .flat_map(|(r, e)| e.tags.keys().map(move |t| (r.clone(), t.clone())))
            .collect();
        assert_eq!(tags.len(), 8);
        let index = FreedIndex::new(&m);
        let mut nonzero = 0;
        for bits in 0u32..(1 << tags.len()) {
            let selection: Vec<_> = (0..tags.len())
                .filter(|i| bits & (1 << i) != 0)
                .map(|i| tags[i].clone())
                .collect();
            let expected = plan_deletion(&m, &selection).bytes_freed;
            assert_eq!(index.bytes_freed(&m, &selection), expected, "{selection:?}");
            nonzero += usize::from(expected > 0);
        }
        assert!(
            nonzero > 100,
            "the fixture frees something in most selections"
        );
    }
}
