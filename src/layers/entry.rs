//! What a layer listing holds: one [`Entry`] per tar member, in archive order.

use serde::{Deserialize, Serialize};

use crate::registry::Digest;

/// What a tar member is. Extension headers (PAX, GNU long names) are folded into the member
/// they describe and never appear here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    Hardlink,
    CharDevice,
    BlockDevice,
    Fifo,
    /// A type flag regatta does not know (kept so the listing stays complete).
    Other,
}

impl EntryKind {
    /// The first letter of `ls -l` and `tar -tv` (`-`, `d`, `l`, `h`, `c`, `b`, `p`, `?`).
    pub fn letter(self) -> char {
        match self {
            EntryKind::File => '-',
            EntryKind::Dir => 'd',
            EntryKind::Symlink => 'l',
            EntryKind::Hardlink => 'h',
            EntryKind::CharDevice => 'c',
            EntryKind::BlockDevice => 'b',
            EntryKind::Fifo => 'p',
            EntryKind::Other => '?',
        }
    }
}

/// One member of a layer's tar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The path as the archive names it, made relative (`./usr/` and `/usr` are `usr`); the
    /// root directory is `.`. Names that are not UTF-8 are read lossily. Not sanitized: print
    /// it through [`crate::sanitize`].
    pub path: String,
    pub kind: EntryKind,
    /// Bytes of a regular file (a sparse file's full size, holes included); for other kinds
    /// what the header says (normally 0).
    pub size: u64,
    /// Permission bits with setuid/setgid/sticky (`0o7777`).
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    /// Seconds since the epoch.
    pub mtime: i64,
    /// A symlink's target, or the path a hardlink points at (relative like `path`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// A character or block device's (major, minor).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<(u32, u32)>,
    /// sha256 of a regular file's content (a sparse file's with its holes as zeros),
    /// lowercase hex; for duplicate detection across layers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Stored as a sparse file.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sparse: bool,
}

/// What an OCI whiteout entry means for the layers below it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Whiteout<'a> {
    /// `dir/.wh.name`: `dir/name` (and everything under it) is deleted.
    Removes(String),
    /// `dir/.wh..wh..opq`: everything the lower layers had under `dir` is hidden.
    Opaque(&'a str),
}

pub const WHITEOUT_PREFIX: &str = ".wh.";
pub const OPAQUE_MARKER: &str = ".wh..wh..opq";

impl Entry {
    /// The whiteout this entry stands for, when its name is one (OCI image spec, "Whiteouts").
    pub fn whiteout(&self) -> Option<Whiteout<'_>> {
        let (dir, name) = match self.path.rsplit_once('/') {
            Some((dir, name)) => (dir, name),
            None => ("", self.path.as_str()),
        };
        if name == OPAQUE_MARKER {
            return Some(Whiteout::Opaque(if dir.is_empty() { "." } else { dir }));
        }
        let removed = name.strip_prefix(WHITEOUT_PREFIX)?;
        if removed.is_empty() {
            return None;
        }
        Some(Whiteout::Removes(if dir.is_empty() {
            removed.to_string()
        } else {
            format!("{dir}/{removed}")
        }))
    }
}

/// How a layer's bytes were compressed (found from its first bytes, the media type only
/// breaking a tie).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Compression {
    Gzip,
    Zstd,
    None,
}

/// Every entry of one layer, and what it took to read them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing {
    pub layer: Digest,
    pub compression: Compression,
    /// Bytes of the blob as stored (compressed).
    pub compressed_bytes: u64,
    /// Bytes of the uncompressed tar.
    pub tar_bytes: u64,
    pub entries: Vec<Entry>,
}

impl Listing {
    /// Sum of the sizes of regular files (what the layer adds to a filesystem).
    pub fn file_bytes(&self) -> u64 {
        self.entries
            .iter()
            .filter(|e| e.kind == EntryKind::File)
            .fold(0u64, |a, e| a.saturating_add(e.size))
    }
}

/// Makes a tar name relative: strips leading `/` and `./`, and a trailing `/`; the root is `.`.
pub fn normalize_path(raw: &str) -> String {
    let mut p = raw;
    loop {
        let before = p.len();
        p = p.trim_start_matches('/');
        while let Some(rest) = p.strip_prefix("./") {
            p = rest;
        }
        if p.len() == before {
            break;
        }
    }
    let p = p.trim_end_matches('/');
    if p.is_empty() || p == "." {
        ".".to_string()
    } else {
        p.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str) -> Entry {
        Entry {
            path: path.into(),
            kind: EntryKind::File,
            size: 0,
            mode: 0o644,
            uid: 0,
            gid: 0,
            mtime: 0,
            link: None,
            device: None,
            sha256: None,
            sparse: false,
        }
    }

    #[test]
    fn whiteouts_are_recognised() {
        assert_eq!(
            entry("etc/.wh.passwd").whiteout(),
            Some(Whiteout::Removes("etc/passwd".into()))
        );
        assert_eq!(
            entry(".wh.tmp").whiteout(),
            Some(Whiteout::Removes("tmp".into()))
        );
        assert_eq!(
            entry("var/cache/.wh..wh..opq").whiteout(),
            Some(Whiteout::Opaque("var/cache"))
        );
        assert_eq!(
            entry(".wh..wh..opq").whiteout(),
            Some(Whiteout::Opaque("."))
        );
        assert_eq!(entry("etc/passwd").whiteout(), None);
        assert_eq!(entry("etc/x.wh.y").whiteout(), None);
    }

    #[test]
    fn paths_are_made_relative() {
        assert_eq!(normalize_path("./usr/share/"), "usr/share");
        assert_eq!(normalize_path("/usr"), "usr");
        assert_eq!(normalize_path("./"), ".");
        assert_eq!(normalize_path("."), ".");
        assert_eq!(normalize_path("/./a/"), "a");
        assert_eq!(normalize_path("a/b"), "a/b");
    }
}
