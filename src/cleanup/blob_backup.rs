//! Blob backups (`backup_blobs`): a backup that survives garbage collection.
//!
//! A plain backup keeps manifest documents only, so `regatta restore` works only while the
//! registry still has their blobs. With `backup_blobs`, every config and layer blob the plan
//! frees (exactly the set `bytes_freed` sums, from [`blobs_freed_rewriting`]) is downloaded
//! before anything is deleted, and each backup's manifests are tagged there with the backup's
//! id. A blob that cannot be downloaded stops the whole apply before its first delete: a plan
//! is never applied from partial knowledge.
//!
//! The blobs go into ONE OCI image layout beside the backups (`<data>/backup-blobs`), written
//! by the same code as `regatta export` ([`LayoutDestination`]): a blob shared by two deleted
//! images is stored once, each is streamed to a temporary file with its digest checked and
//! renamed into place only when complete, and a backup can be read by tools nobody here wrote
//! (`skopeo inspect oci:<data>/backup-blobs:<ID>`). Restoring streams them back with the copy
//! executor's [`transfer_blob`], after a HEAD shows the registry lacks them.
//!
//! [`blobs_freed_rewriting`]: crate::analysis::freed::blobs_freed_rewriting

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use futures::StreamExt;
use serde::Serialize;

use super::journal::Journal;
use super::plan::{Mode, Plan};
use crate::analysis::model::StorageModel;
use crate::copy::layout::{LayoutDestination, LayoutOrigin};
use crate::copy::{CopyDestination, Ends, transfer_blob};
use crate::layout::LayoutSource;
use crate::registry::{Client, Digest, ManifestRef, RegistryError, RepoName, Tag};

/// The layout's directory name under the journal's directory.
pub const STORE_DIR: &str = "backup-blobs";

/// Blobs downloaded at once.
const IN_FLIGHT: usize = 4;

/// One blob a blob backup keeps, and the repository it is read from (one that loses it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeptBlob {
    pub repository: RepoName,
    pub digest: Digest,
    pub size: u64,
}

/// What a plan's blob backup keeps: the config and layer blobs of the plan's freed set (its
/// manifest documents are in every backup anyway), and their bytes on disk.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BlobBackup {
    pub blobs: Vec<KeptBlob>,
    pub bytes: u64,
}

/// The config and layer blobs among `plan.freed`, each with a repository of the plan's
/// deleted manifests that references it (where it can still be downloaded from).
pub fn blobs_to_keep(plan: &Plan, model: &StorageModel) -> BlobBackup {
    let mut found: BTreeMap<Digest, KeptBlob> = BTreeMap::new();
    for step in plan.deletions.iter().filter(|d| d.mode == Mode::Delete) {
        let revisions = model.revisions(std::iter::once(&step.digest).chain(&step.children));
        for (digest, size) in model.marked(&revisions) {
            let is_manifest =
                model.manifests.contains_key(&digest) || model.missing.contains_key(&digest);
            if is_manifest || !plan.freed.contains_key(&digest) || found.contains_key(&digest) {
                continue;
            }
            found.insert(
                digest.clone(),
                KeptBlob {
                    repository: step.repository.clone(),
                    digest,
                    size,
                },
            );
        }
    }
    let blobs: Vec<KeptBlob> = found.into_values().collect();
    let bytes = blobs.iter().fold(0u64, |a, b| a.saturating_add(b.size));
    BlobBackup { blobs, bytes }
}

/// Why a blob backup was not made: the apply stops before its first delete.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BlobBackupError {
    #[error("cannot open the blob backup {}: {source}", path.display())]
    Open {
        path: PathBuf,
        source: RegistryError,
    },
    #[error(
        "cannot keep blob {digest} of {repository} in the backup ({reason}), so nothing was deleted"
    )]
    Download {
        repository: RepoName,
        digest: Digest,
        reason: String,
    },
}

async fn download(
    ends: &Ends<'_>,
    blob: KeptBlob,
    moved: Arc<AtomicU64>,
) -> Result<(), BlobBackupError> {
    transfer_blob(
        ends,
        (&blob.repository, &blob.repository),
        &blob.digest,
        blob.size,
        moved,
    )
    .await
    .map_err(|reason| BlobBackupError::Download {
        repository: blob.repository.clone(),
        digest: blob.digest.clone(),
        reason,
    })
}

/// The layout holding kept blobs.
pub struct BlobStore {
    dir: PathBuf,
    layout: LayoutDestination,
}

impl BlobStore {
    /// Where `journal`'s blob backups are.
    pub fn dir_of(journal: &Journal) -> PathBuf {
        journal.dir().join(STORE_DIR)
    }

    /// Opens the store, creating it when absent.
    pub fn open(journal: &Journal) -> Result<Self, BlobBackupError> {
        let dir = Self::dir_of(journal);
        let layout = LayoutDestination::create(&dir).map_err(|source| BlobBackupError::Open {
            path: dir.clone(),
            source,
        })?;
        Ok(Self { dir, layout })
    }

    /// Opens the store when one was ever written, for restores.
    pub fn existing(journal: &Journal) -> Option<Self> {
        let dir = Self::dir_of(journal);
        if !dir.join("oci-layout").is_file() {
            return None;
        }
        Self::open(journal).ok()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the store holds blob `digest` (complete: partial files have other names).
    pub fn has(&self, digest: &Digest) -> bool {
        self.dir
            .join("blobs")
            .join(digest.algorithm())
            .join(digest.hex())
            .is_file()
    }

    /// Downloads every blob of `backup` the store lacks, digests checked; the first failure
    /// is returned (the blobs already complete stay: a rerun does not fetch them again).
    pub async fn keep(&self, client: &Client, backup: &BlobBackup) -> Result<(), BlobBackupError> {
        let ends = Ends {
            source: client,
            destination: &self.layout,
        };
        let ends = &ends;
        let moved = Arc::new(AtomicU64::new(0));
        let wanted: Vec<KeptBlob> = backup
            .blobs
            .iter()
            .filter(|b| !self.has(&b.digest))
            .cloned()
            .collect();
        let mut downloads = futures::stream::iter(wanted)
            .map(|blob| download(ends, blob, moved.clone()))
            .buffer_unordered(IN_FLIGHT);
        while let Some(result) = downloads.next().await {
            result?;
        }
        Ok(())
    }

    /// Stores a backup's manifests (`(digest, media type, bytes)`, root first) and tags the
    /// root with the backup's `id`, children first, so the layout names only complete images.
    pub async fn tag(
        &self,
        repo: &RepoName,
        id: &str,
        manifests: &[(Digest, String, Vec<u8>)],
    ) -> Result<(), RegistryError> {
        let Some(((_, media_type, root), children)) = manifests.split_first() else {
            return Ok(());
        };
        for (digest, media_type, bytes) in children {
            self.layout
                .put_manifest(
                    repo,
                    &ManifestRef::Digest(digest.clone()),
                    media_type,
                    bytes.clone(),
                )
                .await?;
        }
        let tag = Tag::parse(id)?;
        self.layout
            .put_manifest(repo, &ManifestRef::Tag(tag), media_type, root.clone())
            .await
    }

    /// Uploads `blobs` (`(digest, size)`) from the store into `repo`, each checked on the way.
    /// The caller has asked the registry (HEAD) and found them missing.
    pub async fn put_back(
        &self,
        client: &Client,
        repo: &RepoName,
        blobs: &[(Digest, u64)],
    ) -> Result<(), String> {
        let dir = self.dir.clone();
        let layout = tokio::task::spawn_blocking(move || LayoutSource::open(dir))
            .await
            .map_err(|e| format!("reading the blob backup: {e}"))?
            .map_err(|e| format!("reading the blob backup: {e}"))?;
        let Some(layout_repo) = layout.single_repository() else {
            return Err(format!(
                "{} is not one OCI image layout",
                self.dir.display()
            ));
        };
        let origin = LayoutOrigin::new(layout);
        let ends = Ends {
            source: &origin,
            destination: client,
        };
        let moved = Arc::new(AtomicU64::new(0));
        for (digest, size) in blobs {
            transfer_blob(&ends, (&layout_repo, repo), digest, *size, moved.clone())
                .await
                .map_err(|e| format!("blob {digest}: {e}"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::model::testing::{digest as d, image, index, tagged};
    use crate::cleanup::plan::plan_rm;

    /// `app`: v1 and v2 share layer 10 and the config (200); `multi:latest` is an index (50)
    /// of two platforms (51, 52) with layers of their own.
    fn model() -> StorageModel {
        let mut m = StorageModel::default();
        image(&mut m, d(1), 100, vec![(d(10), 1000), (d(11), 300)], None);
        image(&mut m, d(2), 110, vec![(d(10), 1000), (d(12), 400)], None);
        image(&mut m, d(51), 90, vec![(d(13), 500)], None);
        image(&mut m, d(52), 91, vec![(d(14), 600)], None);
        index(&mut m, d(50), 200, vec![d(51), d(52)]);
        tagged(&mut m, "app", "v1", d(1));
        tagged(&mut m, "app", "v2", d(2));
        tagged(&mut m, "multi", "latest", d(50));
        m
    }

    #[test]
    fn a_blob_backup_keeps_the_freed_configs_and_layers_each_from_a_repository_losing_it() {
        let m = model();
        let selection = [
            (
                RepoName::parse("app").expect("repo"),
                Tag::parse("v2").expect("tag"),
            ),
            (
                RepoName::parse("multi").expect("repo"),
                Tag::parse("latest").expect("tag"),
            ),
        ];
        let plan = plan_rm(&m, &selection, Mode::Delete);
        assert_eq!(plan.blob_backup, None, "off unless asked for");
        let plan = plan.keeping_blobs(&m);
        let backup = plan.blob_backup.clone().expect("asked for");
        let kept: Vec<(&str, Digest, u64)> = backup
            .blobs
            .iter()
            .map(|b| (b.repository.as_str(), b.digest.clone(), b.size))
            .collect();
        // Layer 10 and the config stay (v1 uses them); the manifests are in every backup.
        assert_eq!(
            kept,
            vec![
                ("app", d(12), 400),
                ("multi", d(13), 500),
                ("multi", d(14), 600)
            ]
        );
        assert_eq!(backup.bytes, 1500);
        // Exactly the freed set bytes_freed sums, less the manifest documents.
        let documents = 110 + 200 + 90 + 91;
        assert_eq!(plan.bytes_freed, backup.bytes + documents);
        assert_eq!(plan.freed.len(), kept.len() + 4);
    }
}
