//! The read interface every front end and the analysis use. The HTTP [`Client`](super::Client)
//! and the on-disk OCI image layout both implement it, so a view never knows which it reads.

use async_trait::async_trait;

use super::error::RegistryError;
use super::manifest::{Manifest, parse_manifest};
use super::reference::{Digest, ManifestRef, RepoName, Tag};

/// What a HEAD (or a cheap look-up) says about a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestHead {
    pub digest: Digest,
    pub media_type: String,
    pub size: u64,
}

/// A manifest body with its digest, exactly as the registry stored it.
#[derive(Debug, Clone)]
pub struct FetchedManifest {
    pub digest: Digest,
    pub media_type: String,
    pub bytes: Vec<u8>,
    pub manifest: Manifest,
}

impl FetchedManifest {
    /// Builds a fetched manifest from raw bytes, checking them against `expected` when given.
    /// `what` names the manifest in errors (`repo@digest` or `repo:tag`).
    pub fn from_bytes(
        what: &str,
        bytes: Vec<u8>,
        content_type: &str,
        expected: Option<&Digest>,
    ) -> Result<Self, RegistryError> {
        let digest = match expected {
            Some(expected) => {
                if !expected.matches(&bytes) {
                    return Err(RegistryError::DigestMismatch {
                        what: what.to_string(),
                        expected: expected.to_string(),
                        actual: Digest::sha256_of(&bytes).to_string(),
                    });
                }
                expected.clone()
            }
            None => Digest::sha256_of(&bytes),
        };
        let manifest = parse_manifest(&bytes, content_type).map_err(|e| {
            use super::manifest::ManifestParseError as P;
            match e {
                P::Schema1 => RegistryError::Schema1 {
                    what: what.to_string(),
                },
                P::UnsupportedMediaType(media_type) => RegistryError::UnsupportedMediaType {
                    what: what.to_string(),
                    media_type,
                },
                P::Malformed(detail) => RegistryError::Malformed {
                    url: what.to_string(),
                    detail,
                },
            }
        })?;
        let media_type = match &manifest {
            Manifest::Image(m) => m.media_type.clone(),
            Manifest::Index(i) => i.media_type.clone(),
        }
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| {
            let ct = content_type.split(';').next().unwrap_or("").trim();
            if !ct.is_empty() && ct != "application/json" {
                ct.to_string()
            } else if manifest.is_index() {
                super::manifest::OCI_INDEX.to_string()
            } else {
                super::manifest::OCI_MANIFEST.to_string()
            }
        });
        Ok(Self {
            digest,
            media_type,
            bytes,
            manifest,
        })
    }
}

/// Names a listing left out: names that are not valid repository or tag names (NUL, newline,
/// 5,000 characters, `../`), and names sent twice. Never silent: the scan lists them as a
/// failure and `regatta tags` warns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Skipped {
    pub invalid: usize,
    pub duplicates: usize,
}

impl Skipped {
    pub fn is_empty(&self) -> bool {
        self.invalid == 0 && self.duplicates == 0
    }

    /// "3 tags with invalid names skipped, 1 duplicate tag skipped" (`noun`: "tag",
    /// "repository"); `None` when nothing was skipped.
    pub fn sentence(&self, noun: &str) -> Option<String> {
        let plural = |n: usize| match (n, noun) {
            (1, _) => noun.to_string(),
            (_, "repository") => "repositories".to_string(),
            _ => format!("{noun}s"),
        };
        let mut parts = Vec::new();
        if self.invalid > 0 {
            parts.push(format!(
                "{} {} with invalid names skipped",
                self.invalid,
                plural(self.invalid)
            ));
        }
        if self.duplicates > 0 {
            parts.push(format!(
                "{} duplicate {} skipped",
                self.duplicates,
                plural(self.duplicates)
            ));
        }
        (!parts.is_empty()).then(|| parts.join(", "))
    }
}

/// Called with each page of a listing as it arrives, so lists can fill in while loading.
pub type PageSink<'a, T> = &'a (dyn Fn(&[T]) + Send + Sync);

/// Read access to a set of repositories: a registry over HTTP or an OCI layout on disk.
#[async_trait]
pub trait Source: Send + Sync {
    /// A short name for breadcrumbs and messages (`127.0.0.1:5000`, `demo`).
    fn name(&self) -> String;

    /// The prefix of a full reference to `repo` (`host:port/repo`), used to copy references.
    fn reference_prefix(&self, repo: &RepoName) -> String;

    /// The full reference people paste: `host:port/repo:tag` or `host:port/repo@sha256:…`.
    fn full_reference(&self, repo: &RepoName, reference: &ManifestRef) -> String {
        let separator = if reference.digest().is_some() {
            '@'
        } else {
            ':'
        };
        format!("{}{separator}{reference}", self.reference_prefix(repo))
    }

    /// Checks that the source answers (and accepts our credentials).
    async fn ping(&self) -> Result<(), RegistryError> {
        Ok(())
    }

    /// Every repository, reporting each page to `on_page` as it arrives.
    async fn repositories(
        &self,
        on_page: PageSink<'_, RepoName>,
    ) -> Result<Vec<RepoName>, RegistryError>;

    /// Every tag of `repo` (in the order the source gives them).
    async fn tags(&self, repo: &RepoName) -> Result<Vec<Tag>, RegistryError>;

    /// [`repositories`](Self::repositories), with the names the listing left out.
    async fn repositories_checked(
        &self,
        on_page: PageSink<'_, RepoName>,
    ) -> Result<(Vec<RepoName>, Skipped), RegistryError> {
        Ok((self.repositories(on_page).await?, Skipped::default()))
    }

    /// [`tags`](Self::tags), with the names the listing left out.
    async fn tags_checked(&self, repo: &RepoName) -> Result<(Vec<Tag>, Skipped), RegistryError> {
        Ok((self.tags(repo).await?, Skipped::default()))
    }

    /// The digest, media type and size of a manifest, without its body where possible.
    async fn resolve(
        &self,
        repo: &RepoName,
        reference: &ManifestRef,
    ) -> Result<ManifestHead, RegistryError>;

    /// A manifest body; a body fetched by digest is checked against the digest.
    async fn manifest(
        &self,
        repo: &RepoName,
        reference: &ManifestRef,
    ) -> Result<FetchedManifest, RegistryError>;

    /// A (small) blob's bytes, checked against its digest: used for image configs.
    async fn blob(&self, repo: &RepoName, digest: &Digest) -> Result<Vec<u8>, RegistryError>;

    /// The referrers of `subject` from the OCI 1.1 referrers API; `Ok(None)` when the source
    /// has none (the default: OCI layouts, and registries that answer the endpoint with 404).
    async fn referrers(
        &self,
        _repo: &RepoName,
        _subject: &Digest,
        _artifact_type: Option<&str>,
    ) -> Result<Option<super::referrers::ReferrersListing>, RegistryError> {
        Ok(None)
    }
}
