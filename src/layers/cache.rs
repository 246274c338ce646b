//! Listings on disk, keyed by layer digest: `<cache>/listings/<algorithm>/<hex>`. A layer is
//! immutable, so its listing never goes stale: a layer shared by 300 tags is read once.
//!
//! Format (version 1): the 8 bytes `RGLIST\0\x01`, then zstd-compressed JSON of the
//! [`Listing`]. A file of another version, or one that does not decode or names another
//! layer, counts as absent (the layer is read again and the file replaced), so the format
//! can change without a migration.

use std::path::{Path, PathBuf};

use super::entry::Listing;
use crate::registry::Digest;

const MAGIC: &[u8; 8] = b"RGLIST\0\x01";

#[derive(Debug, Clone)]
pub struct ListingCache {
    root: PathBuf,
}

impl ListingCache {
    /// Listings under `root` (the same directory the manifest cache uses, see
    /// [`crate::registry::cache::DigestCache::root`]).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Beside the manifest and config cache, when the platform has a cache directory.
    pub fn default_location() -> Option<Self> {
        crate::registry::cache::DigestCache::default_location().map(|c| Self::new(c.root()))
    }

    pub fn path(&self, layer: &Digest) -> PathBuf {
        self.root
            .join("listings")
            .join(layer.algorithm())
            .join(layer.hex())
    }

    pub async fn get(&self, layer: &Digest) -> Option<Listing> {
        let bytes = tokio::fs::read(self.path(layer)).await.ok()?;
        let layer = layer.clone();
        tokio::task::spawn_blocking(move || decode(&bytes, &layer))
            .await
            .ok()
            .flatten()
    }

    /// Stores `listing`; a failure only costs reading the layer again next time.
    pub async fn put(&self, listing: &Listing) {
        let path = self.path(&listing.layer);
        let listing = listing.clone();
        let written = tokio::task::spawn_blocking(move || write(&path, &listing)).await;
        if let Ok(Err(e)) = written {
            tracing::debug!("cannot cache a layer listing: {e}");
        }
    }
}

pub fn encode(listing: &Listing) -> std::io::Result<Vec<u8>> {
    let json = serde_json::to_vec(listing)?;
    let mut out = MAGIC.to_vec();
    out.extend(zstd::encode_all(&json[..], 3)?);
    Ok(out)
}

pub fn decode(bytes: &[u8], layer: &Digest) -> Option<Listing> {
    let body = bytes.strip_prefix(MAGIC)?;
    let json = zstd::decode_all(body).ok()?;
    let listing: Listing = serde_json::from_slice(&json).ok()?;
    (listing.layer == *layer).then_some(listing)
}

fn write(path: &Path, listing: &Listing) -> std::io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other("no parent directory"))?;
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.{}.{}",
        listing.layer.hex(),
        std::process::id(),
        fastrand::u64(..)
    ));
    let result = std::fs::write(&tmp, encode(listing)?).and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::entry::{Compression, Entry, EntryKind};

    fn listing(layer: &Digest) -> Listing {
        Listing {
            layer: layer.clone(),
            compression: Compression::Gzip,
            compressed_bytes: 10,
            tar_bytes: 2048,
            entries: vec![Entry {
                path: "etc/hosts".into(),
                kind: EntryKind::File,
                size: 5,
                mode: 0o644,
                uid: 1,
                gid: 2,
                mtime: 3,
                link: None,
                device: None,
                sha256: Some("ab".into()),
                sparse: false,
            }],
        }
    }

    #[test]
    fn round_trip_and_foreign_files_are_absent() {
        let layer = Digest::sha256_of(b"layer");
        let other = Digest::sha256_of(b"other");
        let bytes = encode(&listing(&layer)).expect("encode");
        assert_eq!(decode(&bytes, &layer), Some(listing(&layer)));
        assert_eq!(decode(&bytes, &other), None, "a listing of another layer");
        let mut future = bytes.clone();
        future[7] = 2;
        assert_eq!(decode(&future, &layer), None, "another format version");
        assert_eq!(decode(&bytes[..bytes.len() / 2], &layer), None, "torn file");
    }
}
