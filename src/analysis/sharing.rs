//! Who else uses the blobs of a tag: for each blob of the tag's image (manifest documents,
//! configs, layers), the other tags in any repository whose images reference it, and the
//! bytes that no other tag references at all. Also how the tags of a repository share
//! digests. Pure functions over the [`StorageModel`].

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::model::{ManifestBody, StorageModel};
use crate::registry::{Digest, RepoName, Tag};

/// How many example users a blob keeps: enough to name a few, bounded for a base layer that
/// every tag of a large registry shares.
pub const EXAMPLES: usize = 5;

/// The other users of one blob.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlobUse {
    /// Other tags (any repository, aliases included) whose images reference the blob.
    pub tags: usize,
    /// The repositories of those tags.
    pub repos: BTreeSet<RepoName>,
    /// The first few of those tags, as `repo:tag`, in repository then tag order.
    pub examples: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagSharing {
    /// Every blob the tag keeps alive (manifest documents included) with its size.
    pub blobs: BTreeMap<Digest, u64>,
    /// The other users of each blob in `blobs`.
    pub users: HashMap<Digest, BlobUse>,
    /// Bytes of the blobs no other tag anywhere references: what deleting this tag alone
    /// would free if it had no alias.
    pub unique_bytes: u64,
}

impl TagSharing {
    pub fn users_of(&self, blob: &Digest) -> Option<&BlobUse> {
        self.users.get(blob)
    }
}

/// The sharing of `repo:tag`; `None` when the model does not know the tag's digest yet.
pub fn tag_sharing(model: &StorageModel, repo: &RepoName, tag: &Tag) -> Option<TagSharing> {
    let digest = model.repos.get(repo)?.tags.get(tag)?.as_ref()?;
    let blobs = model.marked(&model.revisions([digest]));
    let mut users: HashMap<Digest, BlobUse> = blobs
        .keys()
        .map(|d| (d.clone(), BlobUse::default()))
        .collect();
    // The blobs of each digest that are also ours, computed once per digest.
    let mut hits: HashMap<&Digest, Vec<Digest>> = HashMap::new();
    for (r, entry) in &model.repos {
        for (t, d) in &entry.tags {
            let Some(d) = d else { continue };
            if r == repo && t == tag {
                continue;
            }
            let shared = hits.entry(d).or_insert_with(|| {
                model
                    .marked(&model.revisions([d]))
                    .into_keys()
                    .filter(|b| blobs.contains_key(b))
                    .collect()
            });
            for blob in shared.iter() {
                if let Some(u) = users.get_mut(blob) {
                    u.tags += 1;
                    u.repos.insert(r.clone());
                    if u.examples.len() < EXAMPLES {
                        u.examples.push(format!("{r}:{t}"));
                    }
                }
            }
        }
    }
    let unique_bytes = blobs
        .iter()
        .filter(|(d, _)| users.get(*d).is_none_or(|u| u.tags == 0))
        .map(|(_, s)| *s)
        .fold(0u64, u64::saturating_add);
    Some(TagSharing {
        blobs,
        users,
        unique_bytes,
    })
}

/// How the resolved tags of one repository share digests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DigestSharing {
    /// Resolved tags.
    pub tags: usize,
    /// Distinct digests among them.
    pub digests: usize,
    /// Tags whose digest at least one other tag of the repository points at too: deleting
    /// any of them by digest takes the others along.
    pub tags_sharing: usize,
}

pub fn digest_sharing(model: &StorageModel, repo: &RepoName) -> DigestSharing {
    let mut per_digest: HashMap<&Digest, usize> = HashMap::new();
    for (_, d) in model.tag_digests(repo) {
        *per_digest.entry(d).or_default() += 1;
    }
    DigestSharing {
        tags: per_digest.values().sum(),
        digests: per_digest.len(),
        tags_sharing: per_digest.values().filter(|&&n| n > 1).sum(),
    }
}

/// Whether every tag of `repo` is listed, resolved, and its manifests (an index's children
/// too) are known: then the repository's own numbers are final.
pub fn repo_complete(model: &StorageModel, repo: &RepoName) -> bool {
    let Some(entry) = model.repos.get(repo) else {
        return false;
    };
    entry.tags_listed
        && entry
            .tags
            .values()
            .all(|d| d.as_ref().is_some_and(|d| manifests_known(model, d)))
}

fn manifests_known(model: &StorageModel, digest: &Digest) -> bool {
    let mut stack = vec![digest];
    let mut seen = BTreeSet::new();
    while let Some(d) = stack.pop() {
        if !seen.insert(d) || model.missing.contains_key(d) {
            continue;
        }
        match model.manifests.get(d).map(|m| &m.body) {
            None => return false,
            Some(ManifestBody::Index { children }) => stack.extend(children),
            Some(ManifestBody::Image { .. }) => {}
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::model::{ManifestInfo, ScanEvent};

    fn d(n: u8) -> Digest {
        Digest::parse(&format!("sha256:{}", format!("{n:02x}").repeat(32))).unwrap()
    }
    fn repo(s: &str) -> RepoName {
        RepoName::parse(s).unwrap()
    }
    fn tag(s: &str) -> Tag {
        Tag::parse(s).unwrap()
    }

    fn image(m: &mut StorageModel, digest: u8, layers: &[(u8, u64)]) {
        m.apply(ScanEvent::Manifest {
            digest: d(digest),
            info: ManifestInfo {
                media_type: "image".into(),
                doc_size: 10,
                subject: None,
                kind: crate::analysis::artifact::ArtifactKind::Image,
                body: ManifestBody::Image {
                    config: (d(digest + 100), 5),
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

    /// app:v1 and app:v2 share the base layer 50 with other:1.0; app:v2 has an alias.
    fn fixture() -> StorageModel {
        let mut m = StorageModel::default();
        image(&mut m, 1, &[(50, 1000), (51, 300)]);
        image(&mut m, 2, &[(50, 1000), (52, 400)]);
        image(&mut m, 3, &[(50, 1000), (53, 700)]);
        tagged(&mut m, "app", "v1", 1);
        tagged(&mut m, "app", "v2", 2);
        tagged(&mut m, "app", "latest", 2);
        tagged(&mut m, "other", "1.0", 3);
        m
    }

    #[test]
    fn a_layer_names_its_other_users_and_unique_bytes_skip_shared_blobs() {
        let m = fixture();
        let s = tag_sharing(&m, &repo("app"), &tag("v1")).unwrap();
        let base = s.users_of(&d(50)).unwrap();
        assert_eq!(base.tags, 3);
        assert_eq!(base.repos.len(), 2);
        assert_eq!(base.examples, ["app:latest", "app:v2", "other:1.0"]);
        assert_eq!(s.users_of(&d(51)).unwrap().tags, 0);
        // Manifest (10), config (5) and layer 51 (300) are v1's alone.
        assert_eq!(s.unique_bytes, 10 + 5 + 300);
        // An alias shares everything: nothing is unique to v2.
        let s = tag_sharing(&m, &repo("app"), &tag("v2")).unwrap();
        assert_eq!(s.unique_bytes, 0);
        assert!(tag_sharing(&m, &repo("app"), &tag("nope")).is_none());
    }

    #[test]
    fn digest_sharing_and_completeness() {
        let mut m = fixture();
        let s = digest_sharing(&m, &repo("app"));
        assert_eq!((s.tags, s.digests, s.tags_sharing), (3, 2, 2));
        assert!(repo_complete(&m, &repo("app")));
        m.apply(ScanEvent::Tags {
            repo: repo("app"),
            tags: vec![tag("v3")],
        });
        assert!(!repo_complete(&m, &repo("app")), "v3 is not resolved");
        m.apply(ScanEvent::Resolved {
            repo: repo("app"),
            tag: tag("v3"),
            digest: d(9),
        });
        assert!(!repo_complete(&m, &repo("app")), "its manifest is unknown");
        assert!(repo_complete(&m, &repo("other")));
    }
}
