//! Where Distribution's storage is read from: a small trait over "list the files under a
//! prefix" and "read one small file", so that a directory (the filesystem driver's root) and an
//! object store (the s3 driver's bucket) are read by the same code. Paths are relative to
//! `docker/registry/v2/` and use `/`; directory prefixes end with `/`.
//!
//! Read-only by construction: the trait has no method that writes or deletes.

use async_trait::async_trait;

/// One file found by a listing, with what the listing itself says about it (no content read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    /// Relative to `docker/registry/v2/`, e.g. `blobs/sha256/ab/ab12…/data`.
    pub path: String,
    pub size: u64,
    /// Last modification (the filesystem's mtime, the object's `LastModified`).
    pub modified: Option<jiff::Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    #[error("{location} holds no Distribution storage (there is no docker/registry/v2 in it)")]
    NotAStorage { location: String },
    #[error("cannot read {path} in the storage: {detail}")]
    Read { path: String, detail: String },
    #[error("{path} in the storage is {size} bytes, more than the {limit} bytes a {what} may have")]
    TooLarge {
        path: String,
        size: u64,
        limit: u64,
        what: &'static str,
    },
}

/// A read-only view of `docker/registry/v2/`.
#[async_trait]
pub trait StorageBackend: Send + Sync {
    /// Where it is, for people (`/var/lib/registry`, `s3://bucket/prefix`).
    fn describe(&self) -> String;

    /// Every file under `prefix`, at any depth, in no particular order. A prefix that does not
    /// exist is an empty list, as on object storage. Backends with directories also report
    /// each `_layers` directory as an entry `…/_layers/` of size 0: Distribution counts a
    /// repository by that directory, empty or not.
    async fn list_files(&self, prefix: &str) -> Result<Vec<StoredFile>, StorageError>;

    /// The names of the directories directly under `prefix` (object storage: the common
    /// prefixes of a delimited listing).
    async fn list_dirs(&self, prefix: &str) -> Result<Vec<String>, StorageError>;

    /// The content of the file at `path`, refused past `limit` bytes (`what` names it in the
    /// error: link, manifest, ...).
    async fn read(
        &self,
        path: &str,
        limit: u64,
        what: &'static str,
    ) -> Result<Vec<u8>, StorageError>;
}
