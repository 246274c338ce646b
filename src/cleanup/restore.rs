//! Undo: putting deleted manifests back from their backups, children first, then the tags.
//! Before anything is put, every blob they need is checked with HEAD; when garbage collection
//! has already removed some, nothing is restored and the missing blobs are named.

use serde::Serialize;

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
        "{what}: cannot restore: {} blob(s) are gone (garbage-collected): {}; nothing was restored",
        missing.len(),
        missing.iter().map(Digest::as_str).collect::<Vec<_>>().join(", ")
    )]
    BlobsGone { what: String, missing: Vec<Digest> },
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
    let mut needed: Vec<Digest> = Vec::new();
    for (bytes, media_type) in std::iter::once((&root, meta.media_type.as_str()))
        .chain(children.iter().map(|(c, b)| (b, c.media_type.as_str())))
    {
        if let Ok(Manifest::Image(m)) = parse_manifest(bytes, media_type) {
            needed.push(m.config.digest.clone());
            needed.extend(m.layers.iter().map(|l| l.digest.clone()));
        }
    }
    needed.sort();
    needed.dedup();
    let mut missing = Vec::new();
    for blob in &needed {
        match client.head_blob(&repo, blob).await {
            Ok(_) => {}
            Err(e) if e.is_not_found() => missing.push(blob.clone()),
            Err(e) => return Err(e.into()),
        }
    }
    if !missing.is_empty() {
        return Err(RestoreError::BlobsGone {
            what: format!("{repo}@{}", meta.digest),
            missing,
        });
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
