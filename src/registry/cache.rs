//! An on-disk cache of immutable documents (manifests and configs) keyed by digest:
//! `<root>/blobs/<algorithm>/<hex>`. Content addressed, so it is never stale; each entry is
//! written through a temp file and a rename, and checked against its digest when read, so a
//! torn or corrupted file is detected and fetched again.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;

use super::error::RegistryError;
use super::read_through::{DocumentStore, ReadThrough};
use super::reference::{Digest, ManifestRef, RepoName};
use super::source::{FetchedManifest, Source};

/// Documents larger than this are not cached (layers never pass through here anyway).
const MAX_CACHED_BYTES: usize = super::client::MAX_DOCUMENT_BYTES as usize;

#[derive(Debug, Clone)]
pub struct DigestCache {
    root: PathBuf,
}

impl DigestCache {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The platform cache dir (`$XDG_CACHE_HOME/regatta`), when there is one.
    pub fn default_location() -> Option<Self> {
        directories::ProjectDirs::from("", "", "regatta").map(|d| Self::new(d.cache_dir()))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, digest: &Digest) -> PathBuf {
        self.root
            .join("blobs")
            .join(digest.algorithm())
            .join(digest.hex())
    }

    /// The cached bytes of `digest`; a corrupt entry is removed and reported as absent.
    pub async fn get(&self, digest: &Digest) -> Option<Vec<u8>> {
        let path = self.path(digest);
        let bytes = tokio::fs::read(&path).await.ok()?;
        if digest.matches(&bytes) {
            Some(bytes)
        } else {
            tracing::warn!(%digest, "removing a corrupt cache entry");
            let _ = tokio::fs::remove_file(&path).await;
            None
        }
    }

    /// Stores `bytes` under `digest` (only when they match it). Failures only cost a refetch.
    pub async fn put(&self, digest: &Digest, bytes: &[u8]) {
        if bytes.len() > MAX_CACHED_BYTES || !digest.matches(bytes) {
            return;
        }
        let path = self.path(digest);
        let Some(dir) = path.parent() else { return };
        if tokio::fs::create_dir_all(dir).await.is_err() {
            return;
        }
        let tmp = dir.join(format!(
            ".{}.{}.{}",
            digest.hex(),
            std::process::id(),
            fastrand::u64(..)
        ));
        if tokio::fs::write(&tmp, bytes).await.is_ok()
            && tokio::fs::rename(&tmp, &path).await.is_ok()
        {
            return;
        }
        let _ = tokio::fs::remove_file(&tmp).await;
    }
}

/// Counts of what the cache answered.
#[derive(Debug, Default)]
pub struct CacheStats {
    pub hits: AtomicU64,
    pub misses: AtomicU64,
}

impl CacheStats {
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }
}

/// The disk as a [`DocumentStore`]: manifests by digest and blobs are answered from a
/// [`DigestCache`] before the source behind is asked.
pub struct DiskDocuments {
    cache: DigestCache,
    stats: CacheStats,
}

/// A [`Source`] that answers manifests-by-digest and blobs from a [`DigestCache`] before
/// asking the inner source. Tag lookups always go to the inner source (tags move).
pub type CachingSource = ReadThrough<DiskDocuments>;

impl ReadThrough<DiskDocuments> {
    pub fn new(inner: Arc<dyn Source>, cache: DigestCache) -> Self {
        Self::over(
            inner,
            DiskDocuments {
                cache,
                stats: CacheStats::default(),
            },
        )
    }

    pub fn stats(&self) -> &CacheStats {
        &self.store().stats
    }
}

#[async_trait]
impl DocumentStore for DiskDocuments {
    async fn manifest(
        &self,
        inner: &dyn Source,
        repo: &RepoName,
        digest: &Digest,
    ) -> Result<FetchedManifest, RegistryError> {
        if let Some(bytes) = self.cache.get(digest).await {
            let what = format!("{repo}@{digest} (cached)");
            if let Ok(m) = FetchedManifest::from_bytes(&what, bytes, "", Some(digest)) {
                self.stats.hits.fetch_add(1, Ordering::Relaxed);
                return Ok(m);
            }
        }
        self.stats.misses.fetch_add(1, Ordering::Relaxed);
        let fetched = inner
            .manifest(repo, &ManifestRef::Digest(digest.clone()))
            .await?;
        self.cache.put(&fetched.digest, &fetched.bytes).await;
        Ok(fetched)
    }

    /// A tag's manifest came from the registry: a miss.
    async fn keep_manifest(&self, manifest: &FetchedManifest) {
        self.stats.misses.fetch_add(1, Ordering::Relaxed);
        self.cache.put(&manifest.digest, &manifest.bytes).await;
    }

    async fn blob(
        &self,
        inner: &dyn Source,
        repo: &RepoName,
        digest: &Digest,
    ) -> Result<Vec<u8>, RegistryError> {
        if let Some(bytes) = self.cache.get(digest).await {
            self.stats.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(bytes);
        }
        self.stats.misses.fetch_add(1, Ordering::Relaxed);
        let bytes = inner.blob(repo, digest).await?;
        self.cache.put(digest, &bytes).await;
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn round_trip_and_corruption_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let cache = DigestCache::new(dir.path());
        let bytes = br#"{"schemaVersion":2}"#.to_vec();
        let digest = Digest::sha256_of(&bytes);
        assert!(cache.get(&digest).await.is_none());
        cache.put(&digest, &bytes).await;
        assert_eq!(cache.get(&digest).await.unwrap(), bytes);
        // A torn write or bit flip: the entry no longer hashes to its name.
        std::fs::write(cache.path(&digest), b"{\"schemaVersion\":3}").unwrap();
        assert!(cache.get(&digest).await.is_none());
        assert!(
            !cache.path(&digest).exists(),
            "the corrupt entry is removed"
        );
        // Bytes that do not match the digest are never stored.
        cache.put(&digest, b"other").await;
        assert!(cache.get(&digest).await.is_none());
    }
}
