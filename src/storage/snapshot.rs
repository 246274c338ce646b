//! Reading Distribution's storage into a [`Snapshot`]: every blob with its size (from the
//! listing, never its content), and per repository its layer links, manifest revisions, tags
//! with their history, and uploads. Manifest bodies are read (they are small) to know what
//! each manifest references. Listings run concurrently by prefix: blobs by their two-hex shard,
//! repositories by their first name component.
//!
//! Memory is proportional to the number of blobs, links and manifests, not to their bytes.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};

use futures::{StreamExt, TryStreamExt};
use jiff::Timestamp;
use serde::Serialize;

use super::backend::{StorageBackend, StorageError, StoredFile};
use super::paths::{Item, blob_data, classify};
use crate::registry::{Digest, RepoName, Tag};

/// A link file holds a digest: a few dozen bytes.
const LINK_LIMIT: u64 = 1024;

#[derive(Debug, Clone, Copy)]
pub struct ReadOptions {
    /// Listings and reads in flight at once.
    pub concurrency: usize,
    /// Manifests bigger than this are not read (Distribution refuses bodies over 4 MiB).
    pub manifest_limit: u64,
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self {
            concurrency: 16,
            manifest_limit: 4 * 1024 * 1024,
        }
    }
}

/// What a manifest references, as Distribution's `Manifest.References()` gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// An image manifest: its config (if any) and layers (schema 1: its `fsLayers`).
    Image {
        config: Option<Digest>,
        layers: Vec<Digest>,
    },
    /// An index or manifest list: its child manifests.
    Index { children: Vec<Digest> },
    /// Not readable as a manifest; Distribution's collector stops on such a revision.
    Unreadable(String),
}

impl Body {
    /// The blobs Distribution's collector marks for this manifest: config and layers, or the
    /// children's own documents (not what the children reference).
    pub fn references(&self) -> Vec<&Digest> {
        match self {
            Body::Image { config, layers } => config.iter().chain(layers).collect(),
            Body::Index { children } => children.iter().collect(),
            Body::Unreadable(_) => Vec::new(),
        }
    }

    /// Parses a manifest document (image manifest, index, manifest list, schema 1).
    pub fn parse(bytes: &[u8]) -> Body {
        let value: serde_json::Value = match serde_json::from_slice(bytes) {
            Ok(v) => v,
            Err(e) => return Body::Unreadable(format!("not JSON: {e}")),
        };
        let digests = |list: &serde_json::Value, key: &str| -> Result<Vec<Digest>, String> {
            list.as_array()
                .map(|items| {
                    items
                        .iter()
                        .map(|item| {
                            item[key]
                                .as_str()
                                .and_then(|d| Digest::parse(d).ok())
                                .ok_or_else(|| format!("an entry without a valid {key}"))
                        })
                        .collect()
                })
                .unwrap_or_else(|| Ok(Vec::new()))
        };
        let result = if value.get("manifests").is_some() {
            digests(&value["manifests"], "digest").map(|children| Body::Index { children })
        } else if value.get("fsLayers").is_some() {
            digests(&value["fsLayers"], "blobSum").map(|layers| Body::Image {
                config: None,
                layers,
            })
        } else {
            let config = match value.get("config") {
                None => Ok(None),
                Some(c) => c["digest"]
                    .as_str()
                    .and_then(|d| Digest::parse(d).ok())
                    .map(Some)
                    .ok_or_else(|| "a config without a valid digest".to_string()),
            };
            config.and_then(|config| {
                digests(&value["layers"], "digest").map(|layers| Body::Image { config, layers })
            })
        };
        result.unwrap_or_else(Body::Unreadable)
    }
}

/// One tag: where `current` points, and every digest its `index` holds (its history), with
/// when that entry was last written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagStore {
    pub current: Option<Digest>,
    pub history: BTreeMap<Digest, Option<Timestamp>>,
}

/// An upload under `_uploads/<id>/`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Upload {
    pub id: String,
    /// Bytes received so far (`data`).
    pub bytes: u64,
    /// Every file of the upload (`data`, `startedat`, hash states).
    pub disk_bytes: u64,
    /// `startedat`, when readable.
    pub started: Option<Timestamp>,
}

/// One repository's part of the layout.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepoStore {
    /// Whether it has a `_layers` directory: Distribution's collector only visits those.
    pub has_layers: bool,
    pub layers: BTreeSet<Digest>,
    /// Manifest revisions (link present), with the link's modification time: when it was
    /// pushed (last).
    pub revisions: BTreeMap<Digest, Option<Timestamp>>,
    pub tags: BTreeMap<Tag, TagStore>,
    pub uploads: BTreeMap<String, Upload>,
}

/// Requests made to read the storage (on object storage, each is one HTTP request or a page
/// sequence).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ReadCounts {
    pub listings: u64,
    pub reads: u64,
}

/// Everything read from one storage.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub location: String,
    /// Every blob (`data` present) and its size.
    pub blobs: HashMap<Digest, u64>,
    pub repos: BTreeMap<RepoName, RepoStore>,
    /// Bodies of every stored revision and of every index child found.
    pub bodies: HashMap<Digest, Body>,
    /// Things found that do not fit the layout, in sentences.
    pub problems: Vec<String>,
    pub counts: ReadCounts,
}

impl Snapshot {
    /// Whether a manifest revision counts for Distribution: its link and its blob are there.
    pub fn revision_stored(&self, repo: &RepoStore, digest: &Digest) -> bool {
        repo.revisions.contains_key(digest) && self.blobs.contains_key(digest)
    }

    pub fn blob_size(&self, digest: &Digest) -> Option<u64> {
        self.blobs.get(digest).copied()
    }
}

struct Counter {
    listings: AtomicU64,
    reads: AtomicU64,
}

struct Reader<'a> {
    backend: &'a dyn StorageBackend,
    options: ReadOptions,
    counter: Counter,
}

impl Reader<'_> {
    async fn list_files(&self, prefix: &str) -> Result<Vec<StoredFile>, StorageError> {
        self.counter.listings.fetch_add(1, Ordering::Relaxed);
        self.backend.list_files(prefix).await
    }

    async fn list_dirs(&self, prefix: &str) -> Result<Vec<String>, StorageError> {
        self.counter.listings.fetch_add(1, Ordering::Relaxed);
        self.backend.list_dirs(prefix).await
    }

    async fn read(
        &self,
        path: &str,
        limit: u64,
        what: &'static str,
    ) -> Result<Vec<u8>, StorageError> {
        self.counter.reads.fetch_add(1, Ordering::Relaxed);
        self.backend.read(path, limit, what).await
    }

    async fn read_link(&self, path: &str) -> Result<Option<Digest>, StorageError> {
        let bytes = self.read(path, LINK_LIMIT, "link").await?;
        Ok(std::str::from_utf8(&bytes)
            .ok()
            .and_then(|s| Digest::parse(s.trim()).ok()))
    }

    /// Lists every prefix concurrently and concatenates the files.
    async fn list_all(&self, prefixes: Vec<String>) -> Result<Vec<StoredFile>, StorageError> {
        let lists: Vec<Vec<StoredFile>> = futures::stream::iter(prefixes)
            .map(|p| async move { self.list_files(&p).await })
            .buffer_unordered(self.options.concurrency.max(1))
            .try_collect()
            .await?;
        Ok(lists.into_iter().flatten().collect())
    }

    /// `blobs/<alg>/<shard>/` for every algorithm and shard.
    async fn blob_shards(&self) -> Result<Vec<String>, StorageError> {
        let mut shards = Vec::new();
        for alg in self.list_dirs("blobs/").await? {
            let prefix = format!("blobs/{alg}/");
            for shard in self.list_dirs(&prefix).await? {
                shards.push(format!("{prefix}{shard}/"));
            }
        }
        Ok(shards)
    }
}

/// Reads the whole storage behind `backend`.
pub async fn read_snapshot(
    backend: &dyn StorageBackend,
    options: &ReadOptions,
) -> Result<Snapshot, StorageError> {
    let reader = Reader {
        backend,
        options: *options,
        counter: Counter {
            listings: AtomicU64::new(0),
            reads: AtomicU64::new(0),
        },
    };
    let mut snapshot = Snapshot {
        location: backend.describe(),
        ..Snapshot::default()
    };

    let shards = reader.blob_shards().await?;
    for file in reader.list_all(shards).await? {
        if let Item::Blob(digest) = classify(&file.path) {
            snapshot.blobs.insert(digest, file.size);
        }
    }

    let tops: Vec<String> = reader
        .list_dirs("repositories/")
        .await?
        .into_iter()
        .map(|top| format!("repositories/{top}/"))
        .collect();
    let files = reader.list_all(tops).await?;
    let mut currents: Vec<(RepoName, Tag, String)> = Vec::new();
    let mut started: Vec<(RepoName, String, String)> = Vec::new();
    for file in files {
        let item = classify(&file.path);
        let Some((repo, store)) = repo_entry(&mut snapshot, &item) else {
            continue;
        };
        match item {
            Item::Layer { digest, .. } => {
                store.has_layers = true;
                store.layers.insert(digest);
            }
            Item::LayersOther { .. } => store.has_layers = true,
            Item::Revision { digest, .. } => {
                store.revisions.insert(digest, file.modified);
            }
            Item::TagCurrent { tag, .. } => match Tag::parse(&tag) {
                Ok(tag) => {
                    store.tags.entry(tag.clone()).or_default();
                    currents.push((repo, tag, file.path));
                }
                Err(_) => snapshot.problems.push(format!(
                    "{repo}: a tag directory with an invalid name {tag:?}"
                )),
            },
            Item::TagHistory { tag, digest, .. } => {
                if let Ok(tag) = Tag::parse(&tag) {
                    store
                        .tags
                        .entry(tag)
                        .or_default()
                        .history
                        .insert(digest, file.modified);
                }
            }
            Item::UploadData { id, .. } => {
                let upload = upload(store, &id);
                upload.bytes = file.size;
                upload.disk_bytes += file.size;
            }
            Item::UploadStarted { id, .. } => {
                upload(store, &id).disk_bytes += file.size;
                started.push((repo, id, file.path));
            }
            Item::UploadOther { id, .. } => upload(store, &id).disk_bytes += file.size,
            Item::Blob(_) | Item::Other => {}
        }
    }

    let links: Vec<(RepoName, Tag, Option<Digest>)> = futures::stream::iter(currents)
        .map(|(repo, tag, path)| {
            let reader = &reader;
            async move { Ok::<_, StorageError>((repo, tag, reader.read_link(&path).await?)) }
        })
        .buffer_unordered(options.concurrency.max(1))
        .try_collect()
        .await?;
    for (repo, tag, digest) in links {
        if let Some(store) = snapshot.repos.get_mut(&repo) {
            store.tags.entry(tag).or_default().current = digest;
        }
    }

    let times: Vec<(RepoName, String, Option<Timestamp>)> = futures::stream::iter(started)
        .map(|(repo, id, path)| {
            let reader = &reader;
            async move {
                let bytes = reader.read(&path, LINK_LIMIT, "startedat file").await?;
                let time = std::str::from_utf8(&bytes)
                    .ok()
                    .and_then(|s| s.trim().parse::<Timestamp>().ok());
                Ok::<_, StorageError>((repo, id, time))
            }
        })
        .buffer_unordered(options.concurrency.max(1))
        .try_collect()
        .await?;
    for (repo, id, time) in times {
        if let Some(store) = snapshot.repos.get_mut(&repo) {
            upload(store, &id).started = time;
        }
    }

    read_bodies(&reader, &mut snapshot).await?;
    snapshot.counts = ReadCounts {
        listings: reader.counter.listings.load(Ordering::Relaxed),
        reads: reader.counter.reads.load(Ordering::Relaxed),
    };
    Ok(snapshot)
}

fn upload<'s>(store: &'s mut RepoStore, id: &str) -> &'s mut Upload {
    store
        .uploads
        .entry(id.to_string())
        .or_insert_with(|| Upload {
            id: id.to_string(),
            ..Upload::default()
        })
}

fn repo_entry<'s>(
    snapshot: &'s mut Snapshot,
    item: &Item,
) -> Option<(RepoName, &'s mut RepoStore)> {
    let name = match item {
        Item::Layer { repo, .. }
        | Item::LayersOther { repo }
        | Item::Revision { repo, .. }
        | Item::TagCurrent { repo, .. }
        | Item::TagHistory { repo, .. }
        | Item::UploadData { repo, .. }
        | Item::UploadStarted { repo, .. }
        | Item::UploadOther { repo, .. } => repo,
        Item::Blob(_) | Item::Other => return None,
    };
    match RepoName::parse(name) {
        Ok(repo) => {
            let store = snapshot.repos.entry(repo.clone()).or_default();
            Some((repo, store))
        }
        Err(_) => {
            let line = format!("a repository directory with an invalid name {name:?}");
            if !snapshot.problems.contains(&line) {
                snapshot.problems.push(line);
            }
            None
        }
    }
}

/// Reads the body of every stored revision, then of index children not read yet, until none
/// is left. A manifest whose blob is gone is not read (Distribution skips such revisions).
async fn read_bodies(reader: &Reader<'_>, snapshot: &mut Snapshot) -> Result<(), StorageError> {
    let mut wanted: BTreeSet<Digest> = snapshot
        .repos
        .values()
        .flat_map(|r| r.revisions.keys())
        .chain(
            snapshot
                .repos
                .values()
                .flat_map(|r| r.tags.values().filter_map(|t| t.current.as_ref())),
        )
        .filter(|d| snapshot.blobs.contains_key(*d))
        .cloned()
        .collect();
    while !wanted.is_empty() {
        let limit = reader.options.manifest_limit;
        let read: Vec<(Digest, Body)> = futures::stream::iter(std::mem::take(&mut wanted))
            .map(|digest| async move {
                let body = match reader.read(&blob_data(&digest), limit, "manifest").await {
                    Ok(bytes) => Body::parse(&bytes),
                    Err(e @ StorageError::TooLarge { .. }) => Body::Unreadable(e.to_string()),
                    Err(e) => return Err(e),
                };
                Ok((digest, body))
            })
            .buffer_unordered(reader.options.concurrency.max(1))
            .try_collect()
            .await?;
        for (digest, body) in read {
            if let Body::Unreadable(why) = &body {
                snapshot
                    .problems
                    .push(format!("manifest {digest} cannot be read: {why}"));
            }
            if let Body::Index { children } = &body {
                for child in children {
                    if !snapshot.bodies.contains_key(child) && snapshot.blobs.contains_key(child) {
                        wanted.insert(child.clone());
                    }
                }
            }
            snapshot.bodies.insert(digest, body);
        }
        wanted.retain(|d| !snapshot.bodies.contains_key(d));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_give_what_distribution_marks() {
        let a = Digest::sha256_of(b"a");
        let b = Digest::sha256_of(b"b");
        let image = format!(
            r#"{{"schemaVersion":2,"config":{{"digest":"{a}","size":1}},"layers":[{{"digest":"{b}","size":2}}]}}"#
        );
        assert_eq!(
            Body::parse(image.as_bytes()),
            Body::Image {
                config: Some(a.clone()),
                layers: vec![b.clone()]
            }
        );
        let index = format!(r#"{{"manifests":[{{"digest":"{a}"}},{{"digest":"{b}"}}]}}"#);
        assert_eq!(Body::parse(index.as_bytes()).references(), vec![&a, &b]);
        assert!(matches!(Body::parse(b"nope"), Body::Unreadable(_)));
        assert!(matches!(
            Body::parse(br#"{"config":{"digest":"bad"}}"#),
            Body::Unreadable(_)
        ));
    }
}
