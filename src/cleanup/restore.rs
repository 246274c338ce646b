//! Undo: putting deleted manifests back from their backups: missing blobs first, then the
//! manifests, children first, then the tags. Before anything is put, every blob they need is
//! checked with HEAD; a blob garbage collection removed is uploaded again from the blob backup
//! (`backup_blobs`, [`super::blob_backup`]) when it holds it. When some are gone and not kept,
//! nothing is restored and the missing blobs are named.

use std::collections::BTreeMap;

use serde::Serialize;

use super::blob_backup::BlobStore;
use super::journal::{AuditEntry, BackupMeta, Journal, JournalError};
use crate::registry::manifest::{Manifest, parse_manifest};
use crate::registry::{Client, Digest, ManifestRef, RegistryError, RepoName, Tag};

/// Why a backup was not restored.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RestoreError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("cannot read the backup: {0}")]
    Journal(#[from] JournalError),
    #[error(
        "{what}: cannot restore: {} blob(s) are gone (garbage-collected) and not kept in a blob backup (backup_blobs): {}; nothing was restored",
        missing.len(),
        missing.iter().map(Digest::as_str).collect::<Vec<_>>().join(", ")
    )]
    BlobsGone { what: String, missing: Vec<Digest> },
    /// A kept blob could not be uploaded again: the manifests were not put back.
    #[error("{what}: cannot put the kept blobs back ({reason}); no manifest was restored")]
    PutBack { what: String, reason: String },
}

impl From<crate::registry::reference::ReferenceError> for RestoreError {
    fn from(e: crate::registry::reference::ReferenceError) -> Self {
        RestoreError::Registry(e.into())
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RestoreResult {
    pub id: String,
    pub repository: String,
    pub digest: String,
    /// The tags put back on `digest`.
    pub tags: Vec<String>,
    /// Tags of the backup that were pushed again (to another digest) since the delete: left
    /// where they are, as a sentence each.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub left_alone: Vec<String>,
    /// Blobs garbage collection had removed, uploaded again from the blob backup.
    #[serde(default)]
    pub blobs_put_back: usize,
    #[serde(default)]
    pub bytes_put_back: u64,
}

/// Restores backup `id` into `client`'s registry.
pub async fn restore(
    client: &Client,
    journal: &Journal,
    id: &str,
) -> Result<RestoreResult, RestoreError> {
    let meta: BackupMeta = journal.load_backup(id)?;
    let repo = RepoName::parse(&meta.repository)?;
    let root = journal.backup_manifest(id, &meta.digest)?;
    let mut children = Vec::new();
    for child in &meta.children {
        children.push((child, journal.backup_manifest(id, &child.digest)?));
    }
    // Every blob must still exist, or the restored image would be broken.
    let mut needed: BTreeMap<Digest, u64> = BTreeMap::new();
    for (bytes, media_type) in std::iter::once((&root, meta.media_type.as_str()))
        .chain(children.iter().map(|(c, b)| (b, c.media_type.as_str())))
    {
        if let Ok(Manifest::Image(m)) = parse_manifest(bytes, media_type) {
            needed.insert(m.config.digest.clone(), m.config.size);
            needed.extend(m.layers.iter().map(|l| (l.digest.clone(), l.size)));
        }
    }
    let mut missing = Vec::new();
    for (blob, size) in &needed {
        match client.head_blob(&repo, blob).await {
            Ok(_) => {}
            Err(e) if e.is_not_found() => missing.push((blob.clone(), *size)),
            Err(e) => return Err(e.into()),
        }
    }
    let what = || format!("{repo}@{}", meta.digest);
    let blobs_put_back = missing.len();
    let bytes_put_back = missing.iter().fold(0u64, |a, (_, s)| a.saturating_add(*s));
    if !missing.is_empty() {
        let store = BlobStore::existing(journal);
        let (kept, gone): (Vec<_>, Vec<_>) = missing
            .into_iter()
            .partition(|(d, _)| store.as_ref().is_some_and(|s| s.has(d)));
        if !gone.is_empty() {
            return Err(RestoreError::BlobsGone {
                what: what(),
                missing: gone.into_iter().map(|(d, _)| d).collect(),
            });
        }
        if let Some(store) = store {
            store
                .put_back(client, &repo, &kept)
                .await
                .map_err(|reason| RestoreError::PutBack {
                    what: what(),
                    reason,
                })?;
        }
    }
    for (child, bytes) in &children {
        let digest = Digest::parse(&child.digest)?;
        client
            .put_manifest(
                &repo,
                &ManifestRef::Digest(digest),
                &child.media_type,
                bytes.clone(),
            )
            .await?;
    }
    let digest = Digest::parse(&meta.digest)?;
    client
        .put_manifest(
            &repo,
            &ManifestRef::Digest(digest.clone()),
            &meta.media_type,
            root.clone(),
        )
        .await?;
    let mut tags = Vec::new();
    let mut left_alone = Vec::new();
    for tag in &meta.tags {
        let reference = ManifestRef::Tag(Tag::parse(tag)?);
        // A tag pushed again since the delete is someone's newer work: never move it back.
        match client.head_manifest(&repo, &reference).await {
            Ok(head)
                if head.digest != digest
                    && !rewritten_by_us(client, &meta, &repo, &root, &reference).await =>
            {
                left_alone.push(format!(
                    "tag {tag} now points at {}; left alone",
                    head.digest
                ));
                continue;
            }
            Ok(_) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e.into()),
        }
        client
            .put_manifest(&repo, &reference, &meta.media_type, root.clone())
            .await?;
        tags.push(tag.clone());
    }
    let _ = journal.append(&AuditEntry {
        time: jiff::Timestamp::now().to_string(),
        registry: meta.registry.clone(),
        repository: meta.repository.clone(),
        tags: tags.clone(),
        digest: meta.digest.clone(),
        action: "restore".into(),
        result: "done".into(),
        detail: left_alone.join("; "),
        backup: Some(meta.id.clone()),
    });
    Ok(RestoreResult {
        id: meta.id,
        repository: meta.repository,
        digest: meta.digest,
        tags,
        left_alone,
        blobs_put_back,
        bytes_put_back,
    })
}

/// Whether the tag of a rewritten referrers index (`meta.action == "rewrite"`) still points
/// at what the rewrite left: an index listing nothing the backed-up one did not. Someone who
/// pushed a referrer since added an entry, and their index is left alone.
async fn rewritten_by_us(
    client: &Client,
    meta: &BackupMeta,
    repo: &RepoName,
    old: &[u8],
    reference: &ManifestRef,
) -> bool {
    if meta.action != "rewrite" {
        return false;
    }
    let Ok(now) = client.get_manifest(repo, reference).await else {
        return false;
    };
    let entries = |bytes: &[u8]| -> Option<Vec<String>> {
        let index: serde_json::Value = serde_json::from_slice(bytes).ok()?;
        index
            .get("manifests")?
            .as_array()?
            .iter()
            .map(|m| Some(m.get("digest")?.as_str()?.to_string()))
            .collect()
    };
    match (entries(old), entries(&now.bytes)) {
        (Some(old), Some(now)) => now.iter().all(|d| old.contains(d)),
        _ => false,
    }
}
