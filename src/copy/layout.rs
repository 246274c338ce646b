//! OCI image layouts as ends of a copy: `regatta export` writes one (oci-layout, index.json
//! with `org.opencontainers.image.ref.name` per tag, blobs/<alg>/<hex>), `regatta import`
//! reads one that skopeo, crane or oras wrote.
//!
//! Writes are atomic per file: a blob is streamed into a temporary file beside its place and
//! renamed there only once the whole body checked out, and index.json is replaced whole. A
//! layout interrupted half-way holds complete blobs and an index naming only images whose
//! blobs are all there (tags are written last, as on a registry).

use std::io;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use futures::StreamExt;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::ends::{ByteStream, CopyDestination, CopySource};
use crate::layout::{LayoutSource, REF_NAME};
use crate::registry::{
    Digest, FetchedManifest, ManifestRef, MountAnswer, RegistryAddr, RegistryError, RepoName,
    Source, Tag, UploadSession,
};

const OCI_LAYOUT: &str = r#"{"imageLayoutVersion":"1.0.0"}"#;

fn io_error(path: &Path, e: &io::Error) -> RegistryError {
    RegistryError::Io {
        path: path.display().to_string(),
        detail: e.to_string(),
    }
}

fn blob_path(dir: &Path, digest: &Digest) -> PathBuf {
    dir.join("blobs")
        .join(digest.algorithm())
        .join(digest.hex())
}

/// A temporary name beside `path`, unique to this process and call.
fn temporary(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(
        ".{name}.partial-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ))
}

/// One OCI image layout being written. Every repository of a copy goes into this one layout;
/// its tags become the ref names.
pub struct LayoutDestination {
    dir: PathBuf,
    /// index.json is read, changed and replaced by one writer at a time.
    index: tokio::sync::Mutex<()>,
}

impl LayoutDestination {
    /// Opens `dir` for writing: an existing layout is added to, an absent or empty directory
    /// becomes a new one. A directory holding anything else is refused.
    pub fn create(dir: &Path) -> Result<Self, RegistryError> {
        let refuse = |detail: &str| RegistryError::Io {
            path: dir.display().to_string(),
            detail: detail.to_string(),
        };
        if dir.exists() {
            if !dir.is_dir() {
                return Err(refuse("exists and is not a directory"));
            }
            let is_layout = dir.join("oci-layout").is_file();
            let empty = std::fs::read_dir(dir)
                .map_err(|e| io_error(dir, &e))?
                .next()
                .is_none();
            if !is_layout && !empty {
                return Err(refuse(
                    "holds files but no oci-layout: name an empty directory or an OCI image layout",
                ));
            }
        }
        std::fs::create_dir_all(dir.join("blobs/sha256")).map_err(|e| io_error(dir, &e))?;
        let layout_file = dir.join("oci-layout");
        if !layout_file.exists() {
            std::fs::write(&layout_file, OCI_LAYOUT).map_err(|e| io_error(&layout_file, &e))?;
        }
        let index = dir.join("index.json");
        if !index.exists() {
            let empty = json!({
                "schemaVersion": 2,
                "mediaType": crate::registry::manifest::OCI_INDEX,
                "manifests": [],
            });
            write_atomically(&index, empty.to_string().as_bytes())?;
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            index: tokio::sync::Mutex::new(()),
        })
    }

    fn read_index(&self) -> Result<Value, RegistryError> {
        let path = self.dir.join("index.json");
        let bytes = std::fs::read(&path).map_err(|e| io_error(&path, &e))?;
        serde_json::from_slice(&bytes).map_err(|e| RegistryError::Io {
            path: path.display().to_string(),
            detail: format!("not valid JSON: {e}"),
        })
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), RegistryError> {
    let temp = temporary(path);
    std::fs::write(&temp, bytes).map_err(|e| io_error(&temp, &e))?;
    std::fs::rename(&temp, path).map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        io_error(path, &e)
    })
}

fn ref_name(entry: &Value) -> Option<&str> {
    entry.get("annotations")?.get(REF_NAME)?.as_str()
}

#[async_trait]
impl CopyDestination for LayoutDestination {
    fn name(&self) -> String {
        self.dir.display().to_string()
    }

    fn registry(&self) -> Option<&RegistryAddr> {
        None
    }

    fn shares_blobs(&self) -> bool {
        true
    }

    async fn has_manifest(&self, _repo: &RepoName, digest: &Digest) -> Result<bool, RegistryError> {
        Ok(blob_path(&self.dir, digest).is_file())
    }

    async fn tag_digest(
        &self,
        _repo: &RepoName,
        tag: &Tag,
    ) -> Result<Option<Digest>, RegistryError> {
        let index = self.read_index()?;
        let found = index["manifests"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| ref_name(e) == Some(tag.as_str()))
            .and_then(|e| e["digest"].as_str())
            .and_then(|d| Digest::parse(d).ok());
        Ok(found)
    }

    async fn has_blob(&self, _repo: &RepoName, digest: &Digest) -> Result<bool, RegistryError> {
        Ok(blob_path(&self.dir, digest).is_file())
    }

    async fn mount(
        &self,
        _repo: &RepoName,
        _digest: &Digest,
        _from: &RepoName,
    ) -> Result<MountAnswer, RegistryError> {
        Ok(MountAnswer::Declined(None))
    }

    async fn write_blob(
        &self,
        _repo: &RepoName,
        digest: &Digest,
        _size: u64,
        mut body: ByteStream,
        _session: Option<UploadSession>,
    ) -> Result<(), RegistryError> {
        let path = blob_path(&self.dir, digest);
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(|e| io_error(parent, &e))?;
        }
        let temp = temporary(&path);
        let mut file = tokio::fs::File::create(&temp)
            .await
            .map_err(|e| io_error(&temp, &e))?;
        let written: Result<(), io::Error> = async {
            while let Some(chunk) = body.next().await {
                file.write_all(&chunk?).await?;
            }
            file.flush().await?;
            file.sync_all().await
        }
        .await;
        drop(file);
        match written {
            Ok(()) => tokio::fs::rename(&temp, &path)
                .await
                .map_err(|e| io_error(&path, &e)),
            Err(e) => {
                let _ = tokio::fs::remove_file(&temp).await;
                Err(io_error(&path, &e))
            }
        }
    }

    async fn put_manifest(
        &self,
        _repo: &RepoName,
        reference: &ManifestRef,
        media_type: &str,
        bytes: Vec<u8>,
    ) -> Result<(), RegistryError> {
        match reference {
            ManifestRef::Digest(digest) => {
                if !digest.matches(&bytes) {
                    return Err(RegistryError::DigestMismatch {
                        what: format!("manifest for {}", self.dir.display()),
                        expected: digest.to_string(),
                        actual: Digest::sha256_of(&bytes).to_string(),
                    });
                }
                let path = blob_path(&self.dir, digest);
                if path.is_file() {
                    return Ok(());
                }
                write_atomically(&path, &bytes)
            }
            ManifestRef::Tag(tag) => {
                // As on a registry, a tag's PUT stores the manifest too.
                let digest = Digest::sha256_of(&bytes);
                let path = blob_path(&self.dir, &digest);
                if !path.is_file() {
                    write_atomically(&path, &bytes)?;
                }
                let _guard = self.index.lock().await;
                let mut index = self.read_index()?;
                let entry = json!({
                    "mediaType": media_type,
                    "digest": digest.as_str(),
                    "size": bytes.len(),
                    "annotations": { REF_NAME: tag.as_str() },
                });
                let manifests = index
                    .as_object_mut()
                    .map(|o| o.entry("manifests").or_insert_with(|| json!([])));
                let Some(Value::Array(list)) = manifests else {
                    return Err(RegistryError::Io {
                        path: self.dir.join("index.json").display().to_string(),
                        detail: "its manifests is not a list".into(),
                    });
                };
                list.retain(|e| ref_name(e) != Some(tag.as_str()));
                list.push(entry);
                let text = serde_json::to_vec_pretty(&index).map_err(|e| RegistryError::Io {
                    path: self.dir.display().to_string(),
                    detail: e.to_string(),
                })?;
                write_atomically(&self.dir.join("index.json"), &text)
            }
        }
    }
}

/// An OCI image layout (one repository) read as the source of a copy.
pub struct LayoutOrigin {
    layout: LayoutSource,
}

impl LayoutOrigin {
    pub fn new(layout: LayoutSource) -> Self {
        Self { layout }
    }

    pub fn layout(&self) -> &LayoutSource {
        &self.layout
    }
}

const READ_CHUNK: usize = 256 * 1024;

#[async_trait]
impl CopySource for LayoutOrigin {
    fn name(&self) -> String {
        self.layout.path().display().to_string()
    }

    fn registry(&self) -> Option<&RegistryAddr> {
        None
    }

    async fn tags(&self, repo: &RepoName) -> Result<Vec<Tag>, RegistryError> {
        Source::tags(&self.layout, repo).await
    }

    async fn manifest(
        &self,
        repo: &RepoName,
        reference: &ManifestRef,
    ) -> Result<FetchedManifest, RegistryError> {
        Source::manifest(&self.layout, repo, reference).await
    }

    async fn open_blob(
        &self,
        repo: &RepoName,
        digest: &Digest,
        _size: u64,
    ) -> Result<ByteStream, RegistryError> {
        let path = blob_path(&self.layout.layout_dir(repo)?, digest);
        let file = tokio::fs::File::open(&path).await.map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                RegistryError::NotFound {
                    what: format!("blob {digest} ({})", path.display()),
                }
            } else {
                io_error(&path, &e)
            }
        })?;
        let chunks = futures::stream::unfold(Some(file), |file| async move {
            let mut file = file?;
            let mut buffer = vec![0u8; READ_CHUNK];
            match file.read(&mut buffer).await {
                Ok(0) => None,
                Ok(n) => {
                    buffer.truncate(n);
                    Some((Ok(bytes::Bytes::from(buffer)), Some(file)))
                }
                Err(e) => Some((Err(e), None)),
            }
        });
        Ok(chunks.boxed())
    }
}
