//! The journal of destructive work, under the platform data dir (`$XDG_DATA_HOME/regatta`):
//! `audit.jsonl` (one JSON line per step: time, registry, repository, tags, digest, action,
//! result) and `backups/<id>/` (the exact manifest bytes, children included, saved before a
//! delete so a restore can put them back).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A journal file that could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JournalError {
    #[error("{}: {detail}", path.display())]
    Io { path: PathBuf, detail: String },
    #[error("{0:?} is not a backup id")]
    NotABackupId(String),
    #[error("{}: {detail}", path.display())]
    Corrupt { path: PathBuf, detail: String },
}

impl JournalError {
    fn io(path: &Path) -> impl Fn(std::io::Error) -> JournalError + '_ {
        move |e| JournalError::Io {
            path: path.to_path_buf(),
            detail: e.to_string(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Journal {
    dir: PathBuf,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BackupManifest {
    pub digest: String,
    pub media_type: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BackupMeta {
    pub id: String,
    pub time: String,
    pub registry: String,
    pub repository: String,
    /// `delete` or `untag`.
    pub action: String,
    pub digest: String,
    pub media_type: String,
    /// The tags that pointed at `digest` and are to be put back.
    pub tags: Vec<String>,
    /// Platform manifests of an index, restored before it.
    pub children: Vec<BackupManifest>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AuditEntry {
    pub time: String,
    pub registry: String,
    pub repository: String,
    pub tags: Vec<String>,
    pub digest: String,
    /// `delete`, `untag` or `restore`.
    pub action: String,
    /// `started`, `done`, `already_done`, `skipped` or `failed`.
    pub result: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<String>,
}

impl Journal {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// `$XDG_DATA_HOME/regatta` (the platform data dir elsewhere).
    pub fn default_location() -> Option<Self> {
        directories::ProjectDirs::from("", "", "regatta").map(|d| Self::new(d.data_dir()))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn audit_path(&self) -> PathBuf {
        self.dir.join("audit.jsonl")
    }

    fn backup_dir(&self, id: &str) -> PathBuf {
        self.dir.join("backups").join(id)
    }

    /// Appends one line and syncs it, so a killed process leaves every finished line behind.
    pub fn append(&self, entry: &AuditEntry) -> Result<(), JournalError> {
        let path = self.audit_path();
        let io = JournalError::io(&path);
        std::fs::create_dir_all(&self.dir).map_err(JournalError::io(&self.dir))?;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(&io)?;
        let mut line = Vec::new();
        if ends_torn(&path) {
            // A killed process left half a line: end it so this one parses.
            line.push(b'\n');
        }
        line.extend(
            serde_json::to_vec(entry).map_err(|e| JournalError::Corrupt {
                path: path.clone(),
                detail: e.to_string(),
            })?,
        );
        line.push(b'\n');
        file.write_all(&line).map_err(&io)?;
        file.sync_data().map_err(&io)
    }

    /// Every audit line that parses (a torn last line of a killed process is skipped).
    pub fn audit(&self) -> Vec<AuditEntry> {
        std::fs::read_to_string(self.audit_path())
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Saves the manifests (`(digest, bytes)`, root first) and their metadata; written to a
    /// temp dir and renamed, so a backup is complete or absent.
    pub fn save_backup(
        &self,
        meta: &BackupMeta,
        manifests: &[(String, Vec<u8>)],
    ) -> Result<(), JournalError> {
        let final_dir = self.backup_dir(&meta.id);
        let tmp = self.dir.join("backups").join(format!(".{}.tmp", meta.id));
        let io = JournalError::io(&tmp);
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(tmp.join("manifests")).map_err(&io)?;
        for (digest, bytes) in manifests {
            std::fs::write(tmp.join("manifests").join(file_name(digest)), bytes).map_err(&io)?;
        }
        let meta_json = serde_json::to_vec_pretty(meta).map_err(|e| JournalError::Corrupt {
            path: tmp.join("meta.json"),
            detail: e.to_string(),
        })?;
        std::fs::write(tmp.join("meta.json"), meta_json).map_err(&io)?;
        let _ = std::fs::remove_dir_all(&final_dir);
        std::fs::rename(&tmp, &final_dir).map_err(JournalError::io(&final_dir))
    }

    pub fn load_backup(&self, id: &str) -> Result<BackupMeta, JournalError> {
        if id.contains('/') || id.contains("..") || id.is_empty() {
            return Err(JournalError::NotABackupId(id.to_string()));
        }
        let path = self.backup_dir(id).join("meta.json");
        let text = std::fs::read(&path).map_err(JournalError::io(&path))?;
        serde_json::from_slice(&text).map_err(|e| JournalError::Corrupt {
            path,
            detail: e.to_string(),
        })
    }

    pub fn backup_manifest(&self, id: &str, digest: &str) -> Result<Vec<u8>, JournalError> {
        let path = self
            .backup_dir(id)
            .join("manifests")
            .join(file_name(digest));
        std::fs::read(&path).map_err(JournalError::io(&path))
    }

    /// Every backup, newest first.
    pub fn backups(&self) -> Vec<BackupMeta> {
        let Ok(entries) = std::fs::read_dir(self.dir.join("backups")) else {
            return Vec::new();
        };
        let mut out: Vec<BackupMeta> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| !n.starts_with('.'))
            .filter_map(|id| self.load_backup(&id).ok())
            .collect();
        out.sort_by(|a, b| b.time.cmp(&a.time).then_with(|| b.id.cmp(&a.id)));
        out
    }
}

fn ends_torn(path: &Path) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut file) = std::fs::File::open(path) else {
        return false;
    };
    let mut last = [0u8; 1];
    file.seek(SeekFrom::End(-1)).is_ok() && file.read_exact(&mut last).is_ok() && last[0] != b'\n'
}

fn file_name(digest: &str) -> String {
    digest.replace(':', "-")
}

/// A new backup id: time plus the digest's start, unique and sortable.
pub fn new_backup_id(now: jiff::Timestamp, digest: &str) -> String {
    let hex = digest.split(':').nth(1).unwrap_or("x");
    format!(
        "{}-{}-{:04x}",
        now.strftime("%Y%m%dT%H%M%S"),
        &hex[..hex.len().min(12)],
        fastrand::u16(..)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backups_and_audit_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::new(dir.path());
        let meta = BackupMeta {
            id: new_backup_id(jiff::Timestamp::UNIX_EPOCH, "sha256:abcdef0123456789"),
            time: "2026-01-01T00:00:00Z".into(),
            registry: "r".into(),
            repository: "a/b".into(),
            action: "delete".into(),
            digest: "sha256:ab".into(),
            media_type: "m".into(),
            tags: vec!["v1".into()],
            children: vec![],
        };
        j.save_backup(&meta, &[("sha256:ab".into(), b"{}".to_vec())])
            .unwrap();
        assert_eq!(j.backups(), vec![meta.clone()]);
        assert_eq!(j.backup_manifest(&meta.id, "sha256:ab").unwrap(), b"{}");
        assert!(j.load_backup("../x").is_err());
        let entry = AuditEntry {
            time: "t".into(),
            registry: "r".into(),
            repository: "a/b".into(),
            tags: vec!["v1".into()],
            digest: "sha256:ab".into(),
            action: "delete".into(),
            result: "done".into(),
            detail: String::new(),
            backup: Some(meta.id.clone()),
        };
        j.append(&entry).unwrap();
        // A torn line from a killed process does not hide the others.
        std::fs::OpenOptions::new()
            .append(true)
            .open(j.audit_path())
            .unwrap()
            .write_all(b"{\"time\":\"t")
            .unwrap();
        j.append(&entry).unwrap();
        assert_eq!(j.audit().len(), 2);
    }
}
