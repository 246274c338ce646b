//! Below the API: reading a Distribution registry's own storage (`docker/registry/v2/`) to
//! account for every byte, including what the API cannot show: untagged manifests, blobs
//! waiting for garbage collection, abandoned uploads, tag history.
//!
//! Read-only: nothing here writes to the storage; what changes goes through the registry's
//! API or its own garbage collector. Layering: like `registry/` and `layout/`, a source of
//! data; `account` and `collector` are pure functions over the [`snapshot::Snapshot`].
//!
//! - [`backend`]: the trait the storages implement; [`dir`]: the filesystem driver's root;
//!   [`s3`]: the s3 driver's bucket.
//! - [`paths`]: what a path of the layout is.
//! - [`snapshot`]: the concurrent read into a model.
//! - [`collector`]: what `garbage-collect` deletes, plain and with `--delete-untagged`.
//! - [`account`]: the numbers per registry and repository.

pub mod account;
pub mod backend;
pub mod collector;
pub mod dir;
pub mod paths;
pub mod s3;
pub mod snapshot;
#[cfg(test)]
mod tests;

use std::path::Path;

use backend::{StorageBackend, StorageError};

/// Opens a storage location as written in the config or on the command line: a directory
/// (the filesystem driver's `rootdirectory`), or `s3://BUCKET/ROOT` (the s3 driver's bucket
/// and `rootdirectory`; region, endpoint and credentials from the AWS environment).
pub async fn open(location: &str) -> Result<Box<dyn StorageBackend>, StorageError> {
    if location.starts_with("s3://") {
        let s3 = s3::S3Storage::open(location)?;
        s3.check().await?;
        return Ok(Box::new(s3));
    }
    Ok(Box::new(dir::DirStorage::open(Path::new(location))?))
}

/// Reads the storage and builds the report (uploads started before `abandoned_before` are
/// abandoned).
pub async fn read_report(
    backend: &dyn StorageBackend,
    abandoned_before: jiff::Timestamp,
) -> Result<account::StorageReport, StorageError> {
    let snapshot = snapshot::read_snapshot(backend, &snapshot::ReadOptions::default()).await?;
    Ok(account::report(&snapshot, abandoned_before))
}
