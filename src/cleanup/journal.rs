//! The journal of destructive work, under the platform data dir (`$XDG_DATA_HOME/regatta`):
//! `audit.jsonl` (one JSON line per step: time, registry, repository, tags, digest, action,
//! result) and `backups/<id>/` (the exact manifest bytes, children included, saved before a
//! delete so a restore can put them back).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

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
    pub fn append(&self, entry: &AuditEntry) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.audit_path())?;
        let mut line = Vec::new();
        if ends_torn(&self.audit_path()) {
            // A killed process left half a line: end it so this one parses.
            line.push(b'\n');
        }
        line.extend(serde_json::to_vec(entry).map_err(std::io::Error::other)?);
        line.push(b'\n');
        file.write_all(&line)?;
        file.sync_data()
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
    ) -> std::io::Result<()> {
        let final_dir = self.backup_dir(&meta.id);
        let tmp = self.dir.join("backups").join(format!(".{}.tmp", meta.id));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(tmp.join("manifests"))?;
        for (digest, bytes) in manifests {
            std::fs::write(tmp.join("manifests").join(file_name(digest)), bytes)?;
        }
        let meta_json = serde_json::to_vec_pretty(meta).map_err(std::io::Error::other)?;
        std::fs::write(tmp.join("meta.json"), meta_json)?;
        let _ = std::fs::remove_dir_all(&final_dir);
        std::fs::rename(&tmp, &final_dir)
    }

    pub fn load_backup(&self, id: &str) -> std::io::Result<BackupMeta> {
        if id.contains('/') || id.contains("..") || id.is_empty() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a backup id",
            ));
        }
        let text = std::fs::read(self.backup_dir(id).join("meta.json"))?;
        serde_json::from_slice(&text).map_err(std::io::Error::other)
    }

    pub fn backup_manifest(&self, id: &str, digest: &str) -> std::io::Result<Vec<u8>> {
        std::fs::read(
            self.backup_dir(id)
                .join("manifests")
                .join(file_name(digest)),
        )
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
