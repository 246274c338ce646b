//! The filesystem a container sees: the layers stacked bottom first, whiteouts applied
//! (OCI image spec, "Applying Changesets"), each entry with the layer that last wrote it.

use std::collections::BTreeMap;

use super::entry::{Entry, EntryKind, Listing, Whiteout};

/// One path of the merged filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergedEntry {
    /// Index into the listings (0 = bottom layer) of the layer that last wrote the path.
    pub layer: usize,
    pub entry: Entry,
}

/// Paths in byte order, so a directory's descendants are one contiguous range.
#[derive(Debug, Clone, Default)]
pub struct Merged {
    pub entries: BTreeMap<String, MergedEntry>,
}

impl Merged {
    /// Applies one more layer on top (its index is `layer`).
    pub fn apply(&mut self, layer: usize, listing: &Listing) {
        // Whiteouts first: they delete what the layers below had, never this layer's own
        // entries (whatever their order in the archive).
        for e in &listing.entries {
            match e.whiteout() {
                Some(Whiteout::Removes(path)) => {
                    self.entries.remove(&path);
                    self.remove_below(&path);
                }
                Some(Whiteout::Opaque(dir)) => {
                    if dir == "." {
                        self.entries.clear();
                    } else {
                        self.remove_below(dir);
                    }
                }
                None => {}
            }
        }
        for e in &listing.entries {
            if e.whiteout().is_some() || e.path == "." {
                continue;
            }
            // Something that is no directory replaces a directory and everything in it.
            if e.kind != EntryKind::Dir
                && self
                    .entries
                    .get(&e.path)
                    .is_some_and(|old| old.entry.kind == EntryKind::Dir)
            {
                self.remove_below(&e.path);
            }
            self.entries.insert(
                e.path.clone(),
                MergedEntry {
                    layer,
                    entry: e.clone(),
                },
            );
        }
    }

    fn remove_below(&mut self, dir: &str) {
        let doomed: Vec<String> = self.below(dir).map(|(p, _)| p.clone()).collect();
        for p in doomed {
            self.entries.remove(&p);
        }
    }

    /// The entries under `dir` (not `dir` itself).
    pub fn below<'a>(
        &'a self,
        dir: &str,
    ) -> impl Iterator<Item = (&'a String, &'a MergedEntry)> + 'a {
        let prefix = format!("{dir}/");
        self.entries
            .range(prefix.clone()..)
            .take_while(move |(p, _)| p.starts_with(&prefix))
    }

    /// Bytes of the regular files.
    pub fn file_bytes(&self) -> u64 {
        self.entries
            .values()
            .filter(|m| m.entry.kind == EntryKind::File)
            .fold(0u64, |a, m| a.saturating_add(m.entry.size))
    }
}

/// The merged filesystem of `listings`, bottom layer first.
pub fn merge(listings: &[Listing]) -> Merged {
    let mut merged = Merged::default();
    for (i, listing) in listings.iter().enumerate() {
        merged.apply(i, listing);
    }
    merged
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::layers::entry::Compression;
    use crate::registry::Digest;

    pub fn file(path: &str, size: u64) -> Entry {
        Entry {
            path: path.into(),
            kind: EntryKind::File,
            size,
            mode: 0o644,
            uid: 0,
            gid: 0,
            mtime: 0,
            link: None,
            device: None,
            sha256: Some(format!("{path}-{size}")),
            sparse: false,
        }
    }

    pub fn dir(path: &str) -> Entry {
        Entry {
            kind: EntryKind::Dir,
            sha256: None,
            ..file(path, 0)
        }
    }

    pub fn layer(n: u8, entries: Vec<Entry>) -> Listing {
        Listing {
            layer: Digest::sha256_of(&[n]),
            compression: Compression::Gzip,
            compressed_bytes: 0,
            tar_bytes: 0,
            entries,
        }
    }

    #[test]
    fn whiteouts_opaque_dirs_and_replacements() {
        let listings = vec![
            layer(
                0,
                vec![
                    dir("etc"),
                    file("etc/a", 1),
                    file("etc/b", 2),
                    dir("var/cache"),
                    file("var/cache/x", 3),
                    dir("opt/tool"),
                    file("opt/tool/bin", 4),
                    file("etc-keep", 5),
                ],
            ),
            layer(
                1,
                vec![
                    file("etc/.wh.a", 0),
                    file("var/cache/new", 6),
                    file("var/cache/.wh..wh..opq", 0),
                    file("opt/tool", 7),
                    file("etc/b", 8),
                ],
            ),
        ];
        let merged = merge(&listings);
        let paths: Vec<(&str, usize)> = merged
            .entries
            .iter()
            .map(|(p, m)| (p.as_str(), m.layer))
            .collect();
        assert_eq!(
            paths,
            vec![
                ("etc", 0),
                ("etc-keep", 0),
                ("etc/b", 1),
                ("opt/tool", 1),
                ("var/cache", 0),
                ("var/cache/new", 1),
            ]
        );
        assert_eq!(merged.file_bytes(), 5 + 8 + 7 + 6);
    }
}
