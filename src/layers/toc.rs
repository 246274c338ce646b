//! The table of contents that eStargz and zstd:chunked layers carry: a JSON document in the
//! format of CRFS's `stargz.index.json` (`{"version":1,"entries":[...]}`), one entry per tar
//! member plus `chunk` entries that continue a file. eStargz spells the mtime `modTime`,
//! zstd:chunked `modtime`; the rest is the same.

use serde::Deserialize;

use super::entry::{Entry, EntryKind, normalize_path};

/// A TOC larger than this (uncompressed) is not read through Range; the layer is streamed.
pub const MAX_TOC_BYTES: u64 = 64 * 1024 * 1024;

/// sha256 of no bytes: the content hash of an empty file, which TOCs leave out.
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

#[derive(Debug, Deserialize)]
struct Toc {
    #[serde(default)]
    entries: Vec<TocEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TocEntry {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    size: u64,
    #[serde(default, alias = "modtime")]
    mod_time: Option<String>,
    #[serde(default)]
    link_name: Option<String>,
    #[serde(default)]
    mode: u64,
    #[serde(default)]
    uid: u64,
    #[serde(default)]
    gid: u64,
    #[serde(default)]
    dev_major: u32,
    #[serde(default)]
    dev_minor: u32,
    #[serde(default)]
    digest: Option<String>,
}

/// Entries from a TOC's JSON, in archive order (`chunk` entries continue a file and are
/// skipped). Whiteouts are the `.wh.` files the tar holds, as when the layer is streamed.
pub fn entries_of_toc(json: &[u8]) -> Result<Vec<Entry>, String> {
    let toc: Toc = serde_json::from_slice(json).map_err(|e| format!("bad TOC: {e}"))?;
    let mut out = Vec::with_capacity(toc.entries.len());
    for t in toc.entries {
        let kind = match t.kind.as_str() {
            "reg" => EntryKind::File,
            "dir" => EntryKind::Dir,
            "symlink" => EntryKind::Symlink,
            "hardlink" => EntryKind::Hardlink,
            "char" => EntryKind::CharDevice,
            "block" => EntryKind::BlockDevice,
            "fifo" => EntryKind::Fifo,
            "chunk" => continue,
            _ => EntryKind::Other,
        };
        let mtime = t
            .mod_time
            .as_deref()
            .and_then(|m| m.parse::<jiff::Timestamp>().ok())
            .map_or(0, |t| t.as_second());
        let size = if kind == EntryKind::File { t.size } else { 0 };
        let sha256 = match (kind, t.digest) {
            (EntryKind::File, Some(d)) => d.strip_prefix("sha256:").map(str::to_string),
            (EntryKind::File, None) if size == 0 => Some(EMPTY_SHA256.to_string()),
            _ => None,
        };
        out.push(Entry {
            path: normalize_path(&t.name),
            kind,
            size,
            mode: (t.mode & 0o7777) as u32,
            uid: t.uid,
            gid: t.gid,
            mtime,
            link: match kind {
                EntryKind::Symlink => t.link_name,
                EntryKind::Hardlink => t.link_name.map(|l| normalize_path(&l)),
                _ => None,
            },
            device: matches!(kind, EntryKind::CharDevice | EntryKind::BlockDevice)
                .then_some((t.dev_major, t.dev_minor)),
            sha256,
            sparse: false,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_of_the_mtime_and_chunks_skipped() {
        let json = br#"{"version":1,"entries":[
            {"type":"dir","name":"./","mode":493,"modtime":"2026-01-02T03:04:05Z"},
            {"type":"reg","name":"./a","mode":33188,"size":3,"modTime":"1970-01-01T00:01:00Z",
             "uid":7,"gid":8,"digest":"sha256:abc","offset":1,"endOffset":2},
            {"type":"chunk","name":"./a","offset":2,"chunkSize":1,"chunkOffset":2},
            {"type":"reg","name":"./.wh.gone","mode":420},
            {"type":"hardlink","name":"./b","linkName":"./a","mode":420},
            {"type":"symlink","name":"./c","linkName":"a","mode":511},
            {"type":"char","name":"./dev/null","devMajor":1,"devMinor":3,"mode":438}
        ]}"#;
        let entries = entries_of_toc(json).expect("parsed");
        let paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, [".", "a", ".wh.gone", "b", "c", "dev/null"]);
        assert_eq!(entries[0].mtime, 1_767_323_045);
        assert_eq!(entries[1].mtime, 60);
        assert_eq!(entries[1].mode, 0o644);
        assert_eq!((entries[1].uid, entries[1].gid), (7, 8));
        assert_eq!(entries[1].sha256.as_deref(), Some("abc"));
        assert_eq!(entries[2].sha256.as_deref(), Some(EMPTY_SHA256));
        assert_eq!(entries[3].link.as_deref(), Some("a"));
        assert_eq!(entries[3].sha256, None);
        assert_eq!(entries[4].link.as_deref(), Some("a"));
        assert_eq!(entries[5].device, Some((1, 3)));
    }

    #[test]
    fn not_a_toc_is_an_error() {
        assert!(entries_of_toc(b"[1,2]").is_err());
    }
}
