//! The storage model of a registry: repositories -> tags -> manifests (an index -> its child
//! manifests) -> blobs, with every blob's size. Manifest documents are blobs too (Distribution
//! keeps them in the same blob store), so their bytes count in the storage numbers.
//!
//! The model is filled by events (from the scanner, or replayed in a front end), so the TUI
//! and the CLI build exactly the same thing.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::artifact::{ArtifactKind, classify};
use crate::registry::manifest::{Manifest, Platform};
use crate::registry::{Digest, FetchedManifest, RepoName, Tag};

/// What a manifest document says, reduced to what storage needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestBody {
    Image {
        config: (Digest, u64),
        layers: Vec<(Digest, u64)>,
        platform: Option<Platform>,
    },
    Index {
        children: Vec<Digest>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestInfo {
    pub media_type: String,
    /// Bytes of the manifest document itself (a blob in the registry's store).
    pub doc_size: u64,
    pub body: ManifestBody,
    /// The manifest this one is attached to (its OCI 1.1 `subject`), if any.
    pub subject: Option<Digest>,
    /// What the manifest is: an image, an index, a signature, an SBOM...
    pub kind: ArtifactKind,
}

impl ManifestInfo {
    pub fn from_fetched(m: &FetchedManifest) -> Self {
        let body = match &m.manifest {
            Manifest::Image(image) => ManifestBody::Image {
                config: (image.config.digest.clone(), image.config.size),
                layers: image
                    .layers
                    .iter()
                    .map(|l| (l.digest.clone(), l.size))
                    .collect(),
                platform: None,
            },
            Manifest::Index(index) => ManifestBody::Index {
                children: index.manifests.iter().map(|d| d.digest.clone()).collect(),
            },
        };
        let subject = match &m.manifest {
            Manifest::Image(image) => image.subject.as_ref().map(|s| s.digest.clone()),
            Manifest::Index(index) => index.subject.as_ref().map(|s| s.digest.clone()),
        };
        Self {
            media_type: m.media_type.clone(),
            doc_size: m.bytes.len() as u64,
            body,
            subject,
            kind: classify(m, None),
        }
    }
}

/// What the config of an image says that storage and policies use.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConfigInfo {
    pub created: Option<jiff::Timestamp>,
    pub platform: Option<Platform>,
}

/// One fact learned while scanning. Applying the same events gives the same model.
#[derive(Debug, Clone)]
pub enum ScanEvent {
    Repositories(Vec<RepoName>),
    Tags {
        repo: RepoName,
        tags: Vec<Tag>,
    },
    Resolved {
        repo: RepoName,
        tag: Tag,
        digest: Digest,
    },
    Manifest {
        digest: Digest,
        info: ManifestInfo,
    },
    Config {
        digest: Digest,
        info: ConfigInfo,
    },
    Failed {
        repo: Option<RepoName>,
        what: String,
        error: String,
    },
    /// Every repository to scan is known (the catalog was read to the end).
    RepositoriesListed,
    /// Everything of this repository is in: its tags, their manifests and configs (or the
    /// failures that stand for them). Progress only: the model is the same without it.
    RepositoryScanned(RepoName),
    /// A referrers fallback index lists a manifest the registry answers 404 for: a stale
    /// entry (OCI 1.1 asks clients to keep the index true), not a failure of the scan.
    MissingEntry {
        repo: RepoName,
        index: Digest,
        digest: Digest,
        /// The size the index's descriptor gives it: the registry keeps the document's
        /// blob while an index lists it, so garbage collection frees it only once no index
        /// does.
        size: u64,
    },
}

/// A part of a scan that failed, as `--json` reports it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ScanFailure {
    pub what: String,
    pub error: String,
}

/// 1980-01-02T00:00:00Z: created dates up to here are reproducible-build placeholders.
pub const REPRODUCIBLE_EPOCH_END: i64 = 315_619_200;

#[derive(Debug, Clone, Default)]
pub struct RepoEntry {
    /// Every tag listed; `None` until resolved (or when resolving failed).
    pub tags: BTreeMap<Tag, Option<Digest>>,
    pub tags_listed: bool,
}

#[derive(Debug, Clone, Default)]
pub struct StorageModel {
    pub repos: BTreeMap<RepoName, RepoEntry>,
    pub manifests: HashMap<Digest, ManifestInfo>,
    pub configs: HashMap<Digest, ConfigInfo>,
    /// Failures seen while scanning: the numbers leave these parts out.
    pub failures: Vec<(Option<RepoName>, String, String)>,
    /// Manifests a referrers fallback index lists that the registry no longer has: known
    /// to be gone, so an index listing them is still completely known.
    pub missing: HashMap<Digest, u64>,
}

impl StorageModel {
    pub fn apply(&mut self, event: ScanEvent) {
        match event {
            ScanEvent::Repositories(repos) => {
                for repo in repos {
                    self.repos.entry(repo).or_default();
                }
            }
            ScanEvent::Tags { repo, tags } => {
                let entry = self.repos.entry(repo).or_default();
                entry.tags_listed = true;
                for tag in tags {
                    entry.tags.entry(tag).or_insert(None);
                }
            }
            ScanEvent::Resolved { repo, tag, digest } => {
                self.repos
                    .entry(repo)
                    .or_default()
                    .tags
                    .insert(tag, Some(digest));
            }
            ScanEvent::Manifest { digest, info } => {
                self.manifests.insert(digest, info);
            }
            ScanEvent::Config { digest, info } => {
                self.configs.insert(digest, info);
            }
            ScanEvent::Failed { repo, what, error } => self.failures.push((repo, what, error)),
            ScanEvent::MissingEntry { digest, size, .. } => {
                self.missing.insert(digest, size);
            }
            ScanEvent::RepositoriesListed | ScanEvent::RepositoryScanned(_) => {}
        }
    }

    /// Whether every listed tag is resolved and every manifest it needs is known.
    pub fn is_complete(&self) -> bool {
        self.failures.is_empty()
            && self.repos.values().all(|r| {
                r.tags_listed
                    && r.tags
                        .values()
                        .all(|d| d.as_ref().is_some_and(|d| self.revision_set(d).is_some()))
            })
    }

    /// The tags of `repo` with their digests (resolved ones only).
    pub fn tag_digests<'a>(
        &'a self,
        repo: &RepoName,
    ) -> impl Iterator<Item = (&'a Tag, &'a Digest)> + 'a {
        self.repos.get(repo).into_iter().flat_map(|r| {
            r.tags
                .iter()
                .filter_map(|(t, d)| d.as_ref().map(|d| (t, d)))
        })
    }

    /// The manifest digests a revision keeps alive in its repository: itself and, for an
    /// index, its children (recursively). `None` when a needed manifest is not known yet.
    fn revision_set(&self, digest: &Digest) -> Option<BTreeSet<Digest>> {
        let mut out = BTreeSet::new();
        let mut stack = vec![digest.clone()];
        while let Some(d) = stack.pop() {
            if !out.insert(d.clone()) {
                continue;
            }
            match &self.manifests.get(&d)?.body {
                ManifestBody::Index { children } => stack.extend(
                    children
                        .iter()
                        .filter(|c| !self.missing.contains_key(*c))
                        .cloned(),
                ),
                ManifestBody::Image { .. } => {}
            }
        }
        Some(out)
    }

    /// Manifest digests kept alive in a repository by a set of tag digests.
    pub(crate) fn revisions<'a>(
        &self,
        digests: impl IntoIterator<Item = &'a Digest>,
    ) -> BTreeSet<Digest> {
        let mut out = BTreeSet::new();
        for d in digests {
            match self.revision_set(d) {
                Some(set) => out.extend(set),
                None => {
                    out.insert(d.clone());
                }
            }
        }
        out
    }

    /// What garbage collection marks for a set of manifest revisions: each manifest document,
    /// and the config and layers of each image manifest.
    pub(crate) fn marked(&self, revisions: &BTreeSet<Digest>) -> BTreeMap<Digest, u64> {
        let mut blobs = BTreeMap::new();
        for d in revisions {
            let Some(info) = self.manifests.get(d) else {
                continue;
            };
            blobs.insert(d.clone(), info.doc_size);
            match &info.body {
                ManifestBody::Image { config, layers, .. } => {
                    blobs.insert(config.0.clone(), config.1);
                    for (l, size) in layers {
                        blobs.insert(l.clone(), *size);
                    }
                }
                // An index marks its children's documents (not their layers: those are
                // marked through the children's own revisions).
                ManifestBody::Index { children } => {
                    for c in children {
                        if let Some(child) = self.manifests.get(c) {
                            blobs.insert(c.clone(), child.doc_size);
                        } else if let Some(size) = self.missing.get(c) {
                            blobs.insert(c.clone(), *size);
                        }
                    }
                }
            }
        }
        blobs
    }

    /// Distinct config and layer blobs of an image or index (its `size` is their sum).
    pub fn image_blobs(&self, digest: &Digest) -> BTreeMap<Digest, u64> {
        let revisions = self.revisions([digest]);
        let mut blobs = self.marked(&revisions);
        for d in &revisions {
            blobs.remove(d);
        }
        blobs
    }

    /// `size` of an image: distinct config and layer bytes (union over platforms).
    pub fn image_size(&self, digest: &Digest) -> Option<u64> {
        self.revision_set(digest)?;
        Some(super::size::saturating_total(
            self.image_blobs(digest).values().copied(),
        ))
    }

    /// Blobs (manifests included) kept alive by each repository's tags.
    pub(crate) fn repo_marked(&self, repo: &RepoName) -> BTreeMap<Digest, u64> {
        let digests: Vec<&Digest> = self.tag_digests(repo).map(|(_, d)| d).collect();
        self.marked(&self.revisions(digests))
    }

    /// The created date of an image (the newest among an index's platforms). Reproducible
    /// builds (ko, Bazel, nix, buildpacks) write 1970 or 1980 there: such a date says nothing
    /// of the image's age and counts as unknown, so no policy or audit takes it for old.
    pub fn created(&self, digest: &Digest) -> Option<jiff::Timestamp> {
        let revisions = self.revision_set(digest)?;
        revisions
            .iter()
            .filter_map(|d| match &self.manifests.get(d)?.body {
                ManifestBody::Image { config, .. } => self.configs.get(&config.0)?.created,
                ManifestBody::Index { .. } => None,
            })
            .filter(|created| created.as_second() > REPRODUCIBLE_EPOCH_END)
            .max()
    }

    /// Other tags in the same repository on the same digest.
    pub fn aliases(&self, repo: &RepoName, tag: &Tag) -> Vec<Tag> {
        let Some(Some(digest)) = self.repos.get(repo).and_then(|r| r.tags.get(tag)) else {
            return Vec::new();
        };
        self.tag_digests(repo)
            .filter(|(t, d)| *t != tag && *d == digest)
            .map(|(t, _)| t.clone())
            .collect()
    }
}

impl StorageModel {
    /// What failed during the scan, for reports.
    pub fn failure_list(&self) -> Vec<ScanFailure> {
        self.failures
            .iter()
            .map(|(_, what, error)| ScanFailure {
                what: what.clone(),
                error: error.clone(),
            })
            .collect()
    }

    /// The size of every blob the model knows: manifests, configs and layers.
    pub fn blob_sizes(&self) -> HashMap<Digest, u64> {
        let mut sizes = HashMap::new();
        for (digest, info) in &self.manifests {
            sizes.insert(digest.clone(), info.doc_size);
            if let ManifestBody::Image { config, layers, .. } = &info.body {
                sizes.insert(config.0.clone(), config.1);
                for (l, size) in layers {
                    sizes.insert(l.clone(), *size);
                }
            }
        }
        sizes
    }
}

/// Building a model by hand in unit tests: digests from one byte, image and index manifests,
/// tags. Every helper applies events, as the scanner would.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// `sha256:nnnn…` (the byte `n` repeated).
    pub fn digest(n: u8) -> Digest {
        Digest::parse(&format!("sha256:{}", format!("{n:02x}").repeat(32))).expect("digest")
    }

    /// An image manifest of `doc_size` bytes with config `digest(200)` (2 bytes).
    pub fn image(
        m: &mut StorageModel,
        d: Digest,
        doc_size: u64,
        layers: Vec<(Digest, u64)>,
        subject: Option<Digest>,
    ) {
        m.apply(ScanEvent::Manifest {
            digest: d,
            info: ManifestInfo {
                media_type: "application/vnd.oci.image.manifest.v1+json".into(),
                doc_size,
                body: ManifestBody::Image {
                    config: (digest(200), 2),
                    layers,
                    platform: None,
                },
                subject,
                kind: ArtifactKind::Image,
            },
        });
    }

    /// An index manifest of `doc_size` bytes.
    pub fn index(m: &mut StorageModel, d: Digest, doc_size: u64, children: Vec<Digest>) {
        m.apply(ScanEvent::Manifest {
            digest: d,
            info: ManifestInfo {
                media_type: "application/vnd.oci.image.index.v1+json".into(),
                doc_size,
                body: ManifestBody::Index { children },
                subject: None,
                kind: ArtifactKind::Index,
            },
        });
    }

    /// `repo:tag` listed and resolved to `d`.
    pub fn tagged(m: &mut StorageModel, repo: &str, tag: &str, d: Digest) {
        let repo = RepoName::parse(repo).expect("repo");
        let tag = Tag::parse(tag).expect("tag");
        m.apply(ScanEvent::Tags {
            repo: repo.clone(),
            tags: vec![tag.clone()],
        });
        m.apply(ScanEvent::Resolved {
            repo,
            tag,
            digest: d,
        });
    }
}
