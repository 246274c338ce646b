//! OCI image layouts on disk as a [`Source`]: browse what skopeo, crane or oras wrote, or a
//! zot storage directory, exactly as a registry is browsed.
//!
//! A path is either ONE layout (it holds `oci-layout`, `index.json` and `blobs/`; the repository
//! is named after the directory) or a ROOT of layouts, one per repository, nested for names with
//! slashes: `root/acme/api/index.json` is repository `acme/api`. Tags are the
//! `org.opencontainers.image.ref.name` annotations of `index.json`'s descriptors.
//!
//! The spec: <https://github.com/opencontainers/image-spec/blob/main/image-layout.md>.

mod discover;
mod index;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use async_trait::async_trait;

use crate::registry::{
    Digest, FetchedManifest, MAX_DOCUMENT_BYTES, ManifestHead, ManifestRef, PageSink,
    RegistryError, RepoName, Source, Tag,
};

pub(crate) use discover::is_layout;
pub use index::REF_NAME;

use index::{IndexEntry, blob_path, read_blob, read_index};

/// A directory of OCI image layouts, read through [`Source`]. Cheap to clone.
#[derive(Debug, Clone)]
pub struct LayoutSource {
    name: String,
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    shape: Shape,
}

#[derive(Debug)]
enum Shape {
    /// `path` is itself a layout, holding one repository.
    Single { repo: RepoName },
    /// `path` holds layouts below it. The map is refreshed by each repository listing, so a
    /// repository pushed since is found.
    Root {
        repos: RwLock<BTreeMap<RepoName, PathBuf>>,
    },
}

impl LayoutSource {
    /// Opens `path` as one layout or as a root of layouts, whichever it is. Fails when the path
    /// is not a directory, when a layout there lacks `index.json`, or when a root holds no
    /// layout at all (most likely the wrong directory). It reads the disk (a root is walked to
    /// find its layouts), so async callers should run it on the blocking pool.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, RegistryError> {
        let path = path.as_ref();
        let metadata = std::fs::metadata(path).map_err(|e| io_error(path, &e))?;
        if !metadata.is_dir() {
            return Err(RegistryError::Io {
                path: path.display().to_string(),
                detail: "not a directory; an OCI image layout is a directory holding oci-layout, index.json and blobs/".to_string(),
            });
        }
        let shape = if discover::is_layout(path) {
            // Reading the index now reports a broken layout at once, not on first use.
            read_index(path)?;
            Shape::Single {
                repo: discover::repo_name_for_dir(path)?,
            }
        } else {
            let repos = discover::scan_root(path)?;
            if repos.is_empty() {
                return Err(RegistryError::Io {
                    path: path.display().to_string(),
                    detail: "no OCI image layout here or below (a layout is a directory with oci-layout and index.json)".to_string(),
                });
            }
            Shape::Root {
                repos: RwLock::new(repos),
            }
        };
        let name = std::fs::canonicalize(path)
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| path.display().to_string());
        Ok(Self {
            name,
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                shape,
            }),
        })
    }

    /// The same source under another display name (the bundled demo is called `demo`).
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The directory this source was opened on.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The one repository of a single layout; `None` for a root of layouts.
    pub fn single_repository(&self) -> Option<RepoName> {
        match &self.inner.shape {
            Shape::Single { repo } => Some(repo.clone()),
            Shape::Root { .. } => None,
        }
    }

    /// The layout directory holding `repo`.
    pub fn layout_dir(&self, repo: &RepoName) -> Result<PathBuf, RegistryError> {
        self.inner.layout_dir(repo)
    }

    /// Runs a blocking read off the async threads.
    async fn blocking<T, F>(&self, read: F) -> Result<T, RegistryError>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> Result<T, RegistryError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || read(&inner))
            .await
            .map_err(|e| RegistryError::Io {
                path: self.inner.path.display().to_string(),
                detail: format!("the file-reading task failed: {e}"),
            })?
    }
}

impl Inner {
    fn repositories(&self) -> Result<Vec<RepoName>, RegistryError> {
        match &self.shape {
            Shape::Single { repo } => Ok(vec![repo.clone()]),
            Shape::Root { repos } => {
                let found = discover::scan_root(&self.path)?;
                let names = found.keys().cloned().collect();
                *repos.write().unwrap_or_else(|e| e.into_inner()) = found;
                Ok(names)
            }
        }
    }

    fn layout_dir(&self, repo: &RepoName) -> Result<PathBuf, RegistryError> {
        match &self.shape {
            Shape::Single { repo: only } if only == repo => Ok(self.path.clone()),
            Shape::Single { repo: only } => Err(RegistryError::NotFound {
                what: format!(
                    "repository {repo} (the layout at {} holds only {only})",
                    self.path.display()
                ),
            }),
            Shape::Root { repos } => {
                // A panic while holding the lock cannot leave the map half-written: it is
                // replaced whole.
                let listed = repos
                    .read()
                    .unwrap_or_else(|e| e.into_inner())
                    .get(repo)
                    .cloned();
                if let Some(dir) = listed {
                    return Ok(dir);
                }
                // Not listed yet: a repository written since the last listing. Valid names
                // have no `..` or empty components, so the join stays under the root.
                let dir = repo
                    .as_str()
                    .split('/')
                    .fold(self.path.clone(), |p, c| p.join(c));
                if discover::is_layout(&dir) {
                    Ok(dir)
                } else {
                    Err(RegistryError::NotFound {
                        what: format!("repository {repo} under {}", self.path.display()),
                    })
                }
            }
        }
    }

    fn entries(&self, repo: &RepoName) -> Result<(PathBuf, Vec<IndexEntry>), RegistryError> {
        let dir = self.layout_dir(repo)?;
        let entries = read_index(&dir)?;
        Ok((dir, entries))
    }

    fn tags(&self, repo: &RepoName) -> Result<Vec<Tag>, RegistryError> {
        let (_, entries) = self.entries(repo)?;
        let mut tags: Vec<Tag> = Vec::new();
        for tag in entries.into_iter().filter_map(|e| e.tag) {
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        Ok(tags)
    }

    /// The descriptor `tag` names. Writers append, so a tag listed twice means its last entry.
    fn tagged(&self, repo: &RepoName, tag: &Tag) -> Result<(PathBuf, IndexEntry), RegistryError> {
        let (dir, entries) = self.entries(repo)?;
        let entry = entries
            .into_iter()
            .rev()
            .find(|e| e.tag.as_ref() == Some(tag))
            .ok_or_else(|| RegistryError::NotFound {
                what: format!("tag {repo}:{tag} in {}", dir.join("index.json").display()),
            })?;
        Ok((dir, entry))
    }

    fn resolve(
        &self,
        repo: &RepoName,
        reference: &ManifestRef,
    ) -> Result<ManifestHead, RegistryError> {
        if let ManifestRef::Tag(tag) = reference {
            let (dir, entry) = self.tagged(repo, tag)?;
            let d = entry.descriptor;
            if !d.media_type.is_empty() {
                let path = blob_path(&dir, &d.digest);
                if !path.is_file() {
                    return Err(RegistryError::NotFound {
                        what: format!("manifest {repo}:{tag} ({})", path.display()),
                    });
                }
                return Ok(ManifestHead {
                    digest: d.digest,
                    media_type: d.media_type,
                    size: d.size,
                });
            }
        }
        // By digest (or a descriptor without a media type): the blob itself says.
        let fetched = self.manifest(repo, reference)?;
        Ok(ManifestHead {
            digest: fetched.digest,
            media_type: fetched.media_type,
            size: fetched.bytes.len() as u64,
        })
    }

    fn manifest(
        &self,
        repo: &RepoName,
        reference: &ManifestRef,
    ) -> Result<FetchedManifest, RegistryError> {
        let (dir, digest, media_type, size) = match reference {
            ManifestRef::Tag(tag) => {
                let (dir, entry) = self.tagged(repo, tag)?;
                let d = entry.descriptor;
                (dir, d.digest, d.media_type, Some(d.size))
            }
            ManifestRef::Digest(digest) => {
                (self.layout_dir(repo)?, digest.clone(), String::new(), None)
            }
        };
        let what = match reference {
            ManifestRef::Tag(tag) => format!("{repo}:{tag}"),
            ManifestRef::Digest(digest) => format!("{repo}@{digest}"),
        };
        let bytes = read_blob(
            &dir,
            &digest,
            MAX_DOCUMENT_BYTES,
            &format!("manifest {what}"),
        )?;
        if let Some(size) = size.filter(|s| *s != bytes.len() as u64) {
            return Err(RegistryError::Malformed {
                url: dir.join("index.json").display().to_string(),
                detail: format!(
                    "the descriptor of {what} says {size} bytes, the blob has {}",
                    bytes.len()
                ),
            });
        }
        FetchedManifest::from_bytes(&what, bytes, &media_type, Some(&digest))
    }

    fn blob(&self, repo: &RepoName, digest: &Digest) -> Result<Vec<u8>, RegistryError> {
        let dir = self.layout_dir(repo)?;
        read_blob(
            &dir,
            digest,
            MAX_DOCUMENT_BYTES,
            &format!("blob {digest} in {repo}"),
        )
    }
}

#[async_trait]
impl Source for LayoutSource {
    fn name(&self) -> String {
        self.name.clone()
    }

    /// skopeo's `oci:` transport syntax: `oci:/path/to/layout` + `:tag` names an image.
    fn reference_prefix(&self, repo: &RepoName) -> String {
        match self.inner.layout_dir(repo) {
            Ok(dir) => format!("oci:{}", dir.display()),
            Err(_) => format!("oci:{}/{repo}", self.inner.path.display()),
        }
    }

    async fn repositories(
        &self,
        on_page: PageSink<'_, RepoName>,
    ) -> Result<Vec<RepoName>, RegistryError> {
        let repos = self.blocking(Inner::repositories).await?;
        on_page(&repos);
        Ok(repos)
    }

    async fn tags(&self, repo: &RepoName) -> Result<Vec<Tag>, RegistryError> {
        let repo = repo.clone();
        self.blocking(move |inner| inner.tags(&repo)).await
    }

    async fn resolve(
        &self,
        repo: &RepoName,
        reference: &ManifestRef,
    ) -> Result<ManifestHead, RegistryError> {
        let (repo, reference) = (repo.clone(), reference.clone());
        self.blocking(move |inner| inner.resolve(&repo, &reference))
            .await
    }

    async fn manifest(
        &self,
        repo: &RepoName,
        reference: &ManifestRef,
    ) -> Result<FetchedManifest, RegistryError> {
        let (repo, reference) = (repo.clone(), reference.clone());
        self.blocking(move |inner| inner.manifest(&repo, &reference))
            .await
    }

    async fn blob(&self, repo: &RepoName, digest: &Digest) -> Result<Vec<u8>, RegistryError> {
        let (repo, digest) = (repo.clone(), digest.clone());
        self.blocking(move |inner| inner.blob(&repo, &digest)).await
    }
}

pub(crate) fn io_error(path: &Path, e: &std::io::Error) -> RegistryError {
    RegistryError::Io {
        path: path.display().to_string(),
        detail: e.to_string(),
    }
}

#[cfg(test)]
mod tests;
