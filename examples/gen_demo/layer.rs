//! Layers: gzip'd tars with fixed modes, owners and mtimes, and a gzip header with mtime 0,
//! so the same files always give the same bytes.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::{Context, Result};
use flate2::{Compression, GzBuilder};

use super::oci::{Blob, sha256};

/// Seconds since the epoch of an RFC 3339 time.
pub fn epoch(time: &str) -> Result<u64> {
    let ts: jiff::Timestamp = time.parse().with_context(|| format!("time {time:?}"))?;
    u64::try_from(ts.as_second()).context("a time before 1970")
}

enum Entry {
    Dir,
    File { data: Vec<u8>, mode: u32 },
    Symlink(String),
}

/// The files of one layer. Parent directories are added as entries, as `docker build` does.
pub struct LayerBuilder {
    created: String,
    entries: BTreeMap<String, Entry>,
}

impl LayerBuilder {
    pub fn new(created: &str) -> Self {
        Self {
            created: created.to_string(),
            entries: BTreeMap::new(),
        }
    }

    fn parents(&mut self, path: &str) {
        let mut prefix = String::new();
        let parts: Vec<&str> = path.split('/').collect();
        for part in &parts[..parts.len() - 1] {
            prefix.push_str(part);
            prefix.push('/');
            self.entries.entry(prefix.clone()).or_insert(Entry::Dir);
        }
    }

    pub fn dir(mut self, path: &str) -> Self {
        self.parents(path);
        self.entries.insert(format!("{path}/"), Entry::Dir);
        self
    }

    pub fn file(self, path: &str, data: impl Into<Vec<u8>>) -> Self {
        self.with_mode(path, data, 0o644)
    }

    pub fn exec(self, path: &str, data: impl Into<Vec<u8>>) -> Self {
        self.with_mode(path, data, 0o755)
    }

    fn with_mode(mut self, path: &str, data: impl Into<Vec<u8>>, mode: u32) -> Self {
        self.parents(path);
        let data = data.into();
        self.entries
            .insert(path.to_string(), Entry::File { data, mode });
        self
    }

    pub fn symlink(mut self, path: &str, target: &str) -> Self {
        self.parents(path);
        self.entries
            .insert(path.to_string(), Entry::Symlink(target.to_string()));
        self
    }

    /// An OCI whiteout: the file `path` of lower layers is deleted.
    pub fn whiteout(self, path: &str) -> Self {
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
        let marker = if dir.is_empty() {
            format!(".wh.{name}")
        } else {
            format!("{dir}/.wh.{name}")
        };
        self.file(&marker, Vec::new())
    }

    pub fn build(self) -> Result<Layer> {
        let mtime = epoch(&self.created)?;
        let mut tar = tar::Builder::new(Vec::new());
        for (path, entry) in &self.entries {
            let mut header = tar::Header::new_ustar();
            header.set_mtime(mtime);
            header.set_uid(0);
            header.set_gid(0);
            match entry {
                Entry::Dir => {
                    header.set_entry_type(tar::EntryType::Directory);
                    header.set_mode(0o755);
                    header.set_size(0);
                    tar.append_data(&mut header, path, std::io::empty())?;
                }
                Entry::File { data, mode } => {
                    header.set_entry_type(tar::EntryType::Regular);
                    header.set_mode(*mode);
                    header.set_size(data.len() as u64);
                    tar.append_data(&mut header, path, data.as_slice())?;
                }
                Entry::Symlink(target) => {
                    header.set_entry_type(tar::EntryType::Symlink);
                    header.set_mode(0o777);
                    header.set_size(0);
                    tar.append_link(&mut header, path, target)?;
                }
            }
        }
        let tar = tar.into_inner()?;
        let mut gz = GzBuilder::new()
            .mtime(0)
            .write(Vec::new(), Compression::best());
        gz.write_all(&tar)?;
        Ok(Layer {
            blob: Blob::new(gz.finish()?),
            diff_id: sha256(&tar),
            created: self.created,
        })
    }
}

/// A gzip'd tar layer and the digest of the tar inside (the config's `diff_ids`).
#[derive(Debug, Clone)]
pub struct Layer {
    pub blob: Blob,
    pub diff_id: String,
    pub created: String,
}
