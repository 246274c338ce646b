//! The ground truth of what a [`FixtureBuilder`](super::fixtures::FixtureBuilder) pushed:
//! computed from the bytes the builder made, never read back from the registry, so that tests
//! compare what the client reports with what is really there.

use std::collections::{BTreeMap, BTreeSet};

use regatta::registry::{Digest, RepoName, Tag};

/// Everything pushed to a registry, by repository.
#[derive(Debug, Clone, Default)]
pub struct Fixture {
    pub repos: BTreeMap<String, RepoTruth>,
}

/// One repository: where its tags point and every manifest it stores.
#[derive(Debug, Clone, Default)]
pub struct RepoTruth {
    /// Tag -> digest of the manifest it points to.
    pub tags: BTreeMap<String, Digest>,
    /// Every manifest the repository stores: tagged ones, index children and manifests left
    /// untagged when a tag moved on.
    pub manifests: BTreeMap<Digest, ManifestTruth>,
}

/// One manifest (image or index) as pushed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestTruth {
    pub digest: Digest,
    pub media_type: String,
    /// The manifest document, byte for byte.
    pub document: Vec<u8>,
    /// `document.len()`.
    pub manifest_size: u64,
    /// Compressed bytes of the distinct config and layer blobs this reference needs; for an
    /// index, the union over its platforms, each blob counted once. Manifests not included.
    pub size: u64,
    /// Those blobs: digest -> size.
    pub blobs: BTreeMap<Digest, u64>,
    pub is_index: bool,
    /// Image: the config blob.
    pub config: Option<Digest>,
    /// Image: the config document, byte for byte (env, labels, entrypoint, history, ...).
    pub config_document: Option<Vec<u8>>,
    /// Image: the layer blobs in order.
    pub layers: Vec<Digest>,
    /// Image: the sha256 of each uncompressed layer (`rootfs.diff_ids`), in order.
    pub diff_ids: Vec<String>,
    /// Image: `os/arch[/variant]`.
    pub platform: Option<String>,
    /// Image: the config's `created`.
    pub created: Option<String>,
    /// Index: the child manifests in order, with their platforms.
    pub children: Vec<(Digest, String)>,
}

impl Fixture {
    /// Repository names, sorted (the order Distribution's catalog uses).
    pub fn repo_names(&self) -> Vec<String> {
        self.repos.keys().cloned().collect()
    }

    pub fn repo(&self, repo: &str) -> &RepoTruth {
        self.repos
            .get(repo)
            .unwrap_or_else(|| panic!("the fixture has no repository {repo}"))
    }

    /// The tags of `repo`, sorted.
    pub fn tags(&self, repo: &str) -> Vec<String> {
        self.repo(repo).tags.keys().cloned().collect()
    }

    /// The manifest `repo:tag` points to.
    pub fn tagged(&self, repo: &str, tag: &str) -> &ManifestTruth {
        let r = self.repo(repo);
        let digest = r
            .tags
            .get(tag)
            .unwrap_or_else(|| panic!("the fixture has no tag {repo}:{tag}"));
        &r.manifests[digest]
    }

    pub fn manifest(&self, repo: &str, digest: &Digest) -> &ManifestTruth {
        self.repo(repo)
            .manifests
            .get(digest)
            .unwrap_or_else(|| panic!("the fixture has no manifest {repo}@{digest}"))
    }

    /// The tags of `repo` that point to `digest`, sorted.
    pub fn tags_on(&self, repo: &str, digest: &Digest) -> Vec<String> {
        self.repo(repo)
            .tags
            .iter()
            .filter(|(_, d)| *d == digest)
            .map(|(t, _)| t.clone())
            .collect()
    }

    /// Manifests of `repo` that no tag points to and no index of the repo lists.
    pub fn untagged(&self, repo: &str) -> Vec<&ManifestTruth> {
        let r = self.repo(repo);
        let tagged: BTreeSet<&Digest> = r.tags.values().collect();
        let children: BTreeSet<&Digest> = r
            .manifests
            .values()
            .flat_map(|m| m.children.iter().map(|(d, _)| d))
            .collect();
        r.manifests
            .values()
            .filter(|m| !tagged.contains(&m.digest) && !children.contains(&m.digest))
            .collect()
    }

    /// Every distinct blob and manifest in the registry: digest -> size.
    pub fn stored(&self) -> BTreeMap<Digest, u64> {
        let mut all = BTreeMap::new();
        for repo in self.repos.values() {
            for m in repo.manifests.values() {
                all.insert(m.digest.clone(), m.manifest_size);
                all.extend(m.blobs.iter().map(|(d, s)| (d.clone(), *s)));
            }
        }
        all
    }

    /// What `TestRegistry::blob_store_bytes` reads: distinct blobs plus manifests, each once
    /// however many repositories share it.
    pub fn stored_bytes(&self) -> u64 {
        self.stored().values().sum()
    }

    /// Mirrors `DELETE /v2/R/manifests/DIGEST`: the manifest and every tag on it go. An index's
    /// children stay (untagged), as on Distribution.
    pub fn remove_manifest(&mut self, repo: &str, digest: &Digest) {
        let r = self
            .repos
            .get_mut(repo)
            .unwrap_or_else(|| panic!("the fixture has no repository {repo}"));
        assert!(
            r.manifests.remove(digest).is_some(),
            "the fixture has no manifest {repo}@{digest}"
        );
        r.tags.retain(|_, d| d != digest);
    }

    /// Adds what a later push put in the same registry (its tags win).
    pub fn merge(&mut self, other: Fixture) {
        for (name, repo) in other.repos {
            let mine = self.repos.entry(name).or_default();
            mine.tags.extend(repo.tags);
            mine.manifests.extend(repo.manifests);
        }
    }
}

/// `RepoName` from a fixture name (they are all valid).
pub fn repo(name: &str) -> RepoName {
    RepoName::parse(name).expect("a valid repository name")
}

/// `Tag` from a fixture tag (they are all valid).
pub fn tag(name: &str) -> Tag {
    Tag::parse(name).expect("a valid tag")
}
