//! The filesystem driver's root directory (`storage.filesystem.rootdirectory`, by default
//! `/var/lib/registry`). A walk costs one directory read per directory and one `stat` per file,
//! the same metadata calls as `find ROOT -type f -printf '%s\n'`.

use std::path::{Path, PathBuf};

use async_trait::async_trait;

use super::backend::{StorageBackend, StorageError, StoredFile};

/// `ROOT/docker/registry/v2`, read-only.
#[derive(Debug, Clone)]
pub struct DirStorage {
    root: PathBuf,
    v2: PathBuf,
}

impl DirStorage {
    /// Opens `root`: the rootdirectory (with `docker/registry/v2` in it), or that `v2`
    /// directory itself.
    pub fn open(root: &Path) -> Result<Self, StorageError> {
        let v2 = if root.ends_with("docker/registry/v2") {
            root.to_path_buf()
        } else {
            root.join("docker/registry/v2")
        };
        if !v2.is_dir() {
            return Err(StorageError::NotAStorage {
                location: root.display().to_string(),
            });
        }
        Ok(Self {
            root: root.to_path_buf(),
            v2,
        })
    }

    fn full(&self, relative: &str) -> PathBuf {
        self.v2.join(relative.trim_end_matches('/'))
    }
}

fn read_error(path: &Path, e: &std::io::Error) -> StorageError {
    StorageError::Read {
        path: path.display().to_string(),
        detail: e.to_string(),
    }
}

/// Walks `dir` (whose path relative to the v2 root is `relative`, ending with `/` or empty),
/// pushing every regular file. Symbolic links are not followed (the registry writes none).
pub fn walk_files(
    dir: &Path,
    relative: &str,
    out: &mut Vec<StoredFile>,
) -> Result<(), StorageError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(read_error(dir, &e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| read_error(dir, &e))?;
        let kind = entry
            .file_type()
            .map_err(|e| read_error(&entry.path(), &e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            // Distribution writes ASCII names only; anything else is not its.
            continue;
        };
        let mut path = String::with_capacity(relative.len() + name.len() + 1);
        path.push_str(relative);
        path.push_str(name);
        if kind.is_dir() {
            path.push('/');
            if name == "_layers" {
                // Distribution's collector visits a repository for its `_layers` directory,
                // even an empty one: report the directory itself (see `StorageBackend`).
                out.push(StoredFile {
                    path: path.clone(),
                    size: 0,
                    modified: None,
                });
            }
            walk_files(&entry.path(), &path, out)?;
        } else if kind.is_file() {
            let meta = entry
                .metadata()
                .map_err(|e| read_error(&entry.path(), &e))?;
            out.push(StoredFile {
                path,
                size: meta.len(),
                modified: meta
                    .modified()
                    .ok()
                    .and_then(|t| jiff::Timestamp::try_from(t).ok()),
            });
        }
    }
    Ok(())
}

#[async_trait]
impl StorageBackend for DirStorage {
    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    async fn list_files(&self, prefix: &str) -> Result<Vec<StoredFile>, StorageError> {
        let dir = self.full(prefix);
        let relative = if prefix.is_empty() || prefix.ends_with('/') {
            prefix.to_string()
        } else {
            format!("{prefix}/")
        };
        tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            walk_files(&dir, &relative, &mut out).map(|()| out)
        })
        .await
        .map_err(|e| StorageError::Read {
            path: prefix.to_string(),
            detail: e.to_string(),
        })?
    }

    async fn list_dirs(&self, prefix: &str) -> Result<Vec<String>, StorageError> {
        let dir = self.full(prefix);
        tokio::task::spawn_blocking(move || {
            let entries = match std::fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
                Err(e) => return Err(read_error(&dir, &e)),
            };
            let mut names = Vec::new();
            for entry in entries {
                let entry = entry.map_err(|e| read_error(&dir, &e))?;
                if entry.file_type().is_ok_and(|k| k.is_dir())
                    && let Some(name) = entry.file_name().to_str()
                {
                    names.push(name.to_string());
                }
            }
            names.sort();
            Ok(names)
        })
        .await
        .map_err(|e| StorageError::Read {
            path: prefix.to_string(),
            detail: e.to_string(),
        })?
    }

    async fn read(
        &self,
        path: &str,
        limit: u64,
        what: &'static str,
    ) -> Result<Vec<u8>, StorageError> {
        use tokio::io::AsyncReadExt;
        let full = self.full(path);
        let file = tokio::fs::File::open(&full)
            .await
            .map_err(|e| read_error(&full, &e))?;
        let size = file
            .metadata()
            .await
            .map_err(|e| read_error(&full, &e))?
            .len();
        if size > limit {
            return Err(StorageError::TooLarge {
                path: path.to_string(),
                size,
                limit,
                what,
            });
        }
        let mut bytes = Vec::with_capacity(size as usize);
        file.take(limit)
            .read_to_end(&mut bytes)
            .await
            .map_err(|e| read_error(&full, &e))?;
        Ok(bytes)
    }
}
