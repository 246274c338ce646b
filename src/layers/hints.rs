//! Why an image is big, from its layer listings: wasted bytes and an efficiency score as
//! dive measures them, duplicate files by content hash, the largest files and directories
//! of the merged filesystem, and known waste ([`super::waste`]: package manager caches and
//! lists, `.git`, build toolchains left in a runtime image).
//!
//! Dive's measure (`filetree.Efficiency`), kept exactly so the numbers can be compared:
//! every leaf path of every layer (a path no other entry of the same layer lies under)
//! counts its size; a whiteout counts the size of the directory it deletes (all entries
//! under it in the layers below), or 0 for a file; a path met in two or more layers is an
//! inefficiency, and the wasted bytes are the sum of those paths' sizes over all their
//! layers (the surviving copy included). The score is the sum of each path's smallest size
//! over the sum of all sizes. Opaque-directory markers count for nothing, as in dive.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use super::entry::{EntryKind, Listing, OPAQUE_MARKER, Whiteout};
use super::merge::{Merged, merge};
use super::waste::known_waste;
pub use super::waste::{KnownWaste, WasteKind};

/// How many items the lists of a report keep.
pub const TOP: usize = 20;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hints {
    /// Bytes of the regular files a container sees.
    pub file_bytes: u64,
    /// Bytes of the regular files of all layers, overwritten and deleted ones included.
    pub layer_file_bytes: u64,
    pub wasted_bytes: u64,
    /// 1.0 when nothing is written twice or deleted; lower is worse.
    pub efficiency: f64,
    /// Paths written in more than one layer (or deleted), largest first.
    pub inefficiencies: Vec<Inefficiency>,
    /// Bytes of the extra copies of files with the same content.
    pub duplicate_bytes: u64,
    /// Groups of regular files with the same content (and size), largest waste first.
    pub duplicates: Vec<Duplicate>,
    pub largest_files: Vec<SizedPath>,
    /// Directories by the bytes of the files under them, largest first.
    pub largest_dirs: Vec<SizedPath>,
    /// Known kinds of waste found in the merged filesystem, largest first.
    pub known_waste: Vec<KnownWaste>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Inefficiency {
    pub path: String,
    /// Layers that wrote or deleted it.
    pub count: usize,
    pub cumulative_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Duplicate {
    pub sha256: String,
    pub size: u64,
    /// (layer position from 1, path), in layer order.
    pub copies: Vec<(usize, String)>,
    /// `size` times the copies beyond the first.
    pub extra_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SizedPath {
    pub path: String,
    pub bytes: u64,
    /// For a file: the layer (from 1) that last wrote it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<usize>,
}

/// The hints of an image whose layers are `listings`, bottom first.
pub fn hints(listings: &[Listing]) -> Hints {
    let (efficiency, wasted_bytes, inefficiencies) = dive_efficiency(listings);
    let merged = merge(listings);
    let (duplicate_bytes, duplicates) = duplicates(listings);
    Hints {
        file_bytes: merged.file_bytes(),
        layer_file_bytes: listings
            .iter()
            .fold(0u64, |a, l| a.saturating_add(l.file_bytes())),
        wasted_bytes,
        efficiency,
        inefficiencies,
        duplicate_bytes,
        duplicates,
        largest_files: largest_files(&merged),
        largest_dirs: largest_dirs(&merged),
        known_waste: known_waste(&merged),
    }
}

#[derive(Default)]
struct PathData {
    count: usize,
    cumulative: u64,
    min: u64,
}

/// Dive's score, wasted bytes and inefficient paths (see the module doc).
pub fn dive_efficiency(listings: &[Listing]) -> (f64, u64, Vec<Inefficiency>) {
    let mut data: HashMap<String, PathData> = HashMap::new();
    let mut stacked = Merged::default();
    for (i, listing) in listings.iter().enumerate() {
        let mut parents: HashSet<&str> = HashSet::new();
        for e in &listing.entries {
            let mut p = e.path.as_str();
            while let Some((parent, _)) = p.rsplit_once('/') {
                if !parents.insert(parent) {
                    break;
                }
                p = parent;
            }
        }
        for e in &listing.entries {
            if e.path == "." || parents.contains(e.path.as_str()) {
                continue;
            }
            let (path, size) = match e.whiteout() {
                Some(Whiteout::Opaque(_)) => continue,
                Some(Whiteout::Removes(path)) => {
                    let size = match stacked.entries.get(&path) {
                        Some(old) if old.entry.kind == EntryKind::Dir => stacked
                            .below(&path)
                            .fold(old.entry.size, |a, (_, m)| a.saturating_add(m.entry.size)),
                        _ => 0,
                    };
                    (path, size)
                }
                None => (e.path.clone(), e.size),
            };
            let d = data.entry(path).or_default();
            d.min = if d.count == 0 { size } else { d.min.min(size) };
            d.count += 1;
            d.cumulative = d.cumulative.saturating_add(size);
        }
        stacked.apply(i, listing);
    }
    let (mut min_sum, mut all_sum, mut wasted) = (0u64, 0u64, 0u64);
    let mut inefficiencies = Vec::new();
    for (path, d) in data {
        min_sum = min_sum.saturating_add(d.min);
        all_sum = all_sum.saturating_add(d.cumulative);
        if d.count >= 2 {
            wasted = wasted.saturating_add(d.cumulative);
            inefficiencies.push(Inefficiency {
                path,
                count: d.count,
                cumulative_bytes: d.cumulative,
            });
        }
    }
    inefficiencies.sort_by(|a, b| {
        b.cumulative_bytes
            .cmp(&a.cumulative_bytes)
            .then_with(|| a.path.cmp(&b.path))
    });
    let score = if all_sum == 0 {
        1.0
    } else {
        min_sum as f64 / all_sum as f64
    };
    (score, wasted, inefficiencies)
}

/// Regular files of any layer with the same content hash and a size above 0.
fn duplicates(listings: &[Listing]) -> (u64, Vec<Duplicate>) {
    let mut groups: BTreeMap<(&str, u64), Vec<(usize, String)>> = BTreeMap::new();
    for (i, listing) in listings.iter().enumerate() {
        for e in &listing.entries {
            if e.kind != EntryKind::File || e.size == 0 || e.whiteout().is_some() {
                continue;
            }
            if let Some(hash) = &e.sha256 {
                groups
                    .entry((hash.as_str(), e.size))
                    .or_default()
                    .push((i + 1, e.path.clone()));
            }
        }
    }
    let mut out: Vec<Duplicate> = groups
        .into_iter()
        .filter(|(_, copies)| copies.len() > 1)
        .map(|((hash, size), copies)| Duplicate {
            sha256: hash.to_string(),
            size,
            extra_bytes: size.saturating_mul(copies.len() as u64 - 1),
            copies,
        })
        .collect();
    out.sort_by(|a, b| {
        b.extra_bytes
            .cmp(&a.extra_bytes)
            .then_with(|| a.sha256.cmp(&b.sha256))
    });
    let total = out
        .iter()
        .fold(0u64, |a, d| a.saturating_add(d.extra_bytes));
    (total, out)
}

fn largest_files(merged: &Merged) -> Vec<SizedPath> {
    let mut files: Vec<SizedPath> = merged
        .entries
        .iter()
        .filter(|(_, m)| m.entry.kind == EntryKind::File)
        .map(|(p, m)| SizedPath {
            path: p.clone(),
            bytes: m.entry.size,
            layer: Some(m.layer + 1),
        })
        .collect();
    files.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.path.cmp(&b.path)));
    files.truncate(TOP);
    files
}

/// Directories (explicit or implied by a path) by the bytes of the files under them.
pub fn dir_sizes(merged: &Merged) -> BTreeMap<String, u64> {
    let mut sizes: BTreeMap<String, u64> = BTreeMap::new();
    for (path, m) in &merged.entries {
        if m.entry.kind != EntryKind::File {
            continue;
        }
        let mut p = path.as_str();
        while let Some((parent, _)) = p.rsplit_once('/') {
            let s = sizes.entry(parent.to_string()).or_default();
            *s = s.saturating_add(m.entry.size);
            p = parent;
        }
    }
    sizes
}

fn largest_dirs(merged: &Merged) -> Vec<SizedPath> {
    let mut dirs: Vec<SizedPath> = dir_sizes(merged)
        .into_iter()
        .map(|(path, bytes)| SizedPath {
            path,
            bytes,
            layer: None,
        })
        .collect();
    dirs.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.path.cmp(&b.path)));
    dirs.truncate(TOP);
    dirs
}

// Referenced so the marker's name stays in one place (entry.rs).
const _: &str = OPAQUE_MARKER;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::merge::tests::{dir, file, layer};

    #[test]
    fn dive_counts_overwrites_and_deletions() {
        let listings = vec![
            layer(
                0,
                vec![
                    dir("app"),
                    file("app/a", 100),
                    file("app/b", 50),
                    dir("tmp/build"),
                    file("tmp/build/x", 30),
                    file("tmp/build/y", 20),
                ],
            ),
            layer(
                1,
                vec![
                    file("app/a", 120),
                    file("app/.wh.b", 0),
                    file("tmp/.wh.build", 0),
                ],
            ),
        ];
        let (score, wasted, ineff) = dive_efficiency(&listings);
        // a: 100 + 120; b: 50 + 0; tmp/build: dir entry (a parent in layer 0, so no leaf
        // there) deleted with 0 + 30 + 20 under it.
        assert_eq!(wasted, 220 + 50);
        assert_eq!(ineff[0].path, "app/a");
        assert_eq!(ineff.len(), 2, "{ineff:?}");
        // Leaves: a(100,120) b(50,0) x(30) y(20) tmp/build(50 from the whiteout).
        let min = 100 + 30 + 20 + 50;
        let all = 220 + 50 + 30 + 20 + 50;
        assert!((score - f64::from(min) / f64::from(all)).abs() < 1e-12);
    }
}
