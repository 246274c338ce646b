//! What changed between two images: their configs (env, labels, entrypoint, cmd, user,
//! working dir, ports, history), their layers (shared, only in one, with bytes), and their
//! merged filesystems file by file (added, removed, changed, size delta), largest first.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::Listing;
use super::entry::{Entry, EntryKind};
use super::merge::{Merged, merge};
use crate::registry::image::PlatformImage;
use crate::registry::{Descriptor, ImageConfig};

/// A value that differs: what it was in the first image and in the second.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change<T> {
    pub before: T,
    pub after: T,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ConfigDiff {
    /// By variable name: `None` where one image does not set it.
    pub env: BTreeMap<String, Change<Option<String>>>,
    pub labels: BTreeMap<String, Change<Option<String>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Change<Option<Vec<String>>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Change<Option<Vec<String>>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<Change<Option<String>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<Change<Option<String>>>,
    pub ports_added: Vec<String>,
    pub ports_removed: Vec<String>,
    /// Build steps (`created_by`) both histories start with.
    pub history_common: usize,
    /// The steps after the common ones, in each image.
    pub history_only_before: Vec<String>,
    pub history_only_after: Vec<String>,
}

impl ConfigDiff {
    pub fn is_empty(&self) -> bool {
        *self
            == ConfigDiff {
                history_common: self.history_common,
                ..ConfigDiff::default()
            }
    }
}

fn env_map(c: &ImageConfig) -> BTreeMap<String, String> {
    c.config
        .env
        .iter()
        .map(|e| match e.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (e.clone(), String::new()),
        })
        .collect()
}

fn map_diff(
    a: &BTreeMap<String, String>,
    b: &BTreeMap<String, String>,
) -> BTreeMap<String, Change<Option<String>>> {
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| {
            (
                k.clone(),
                Change {
                    before: a.get(k).cloned(),
                    after: b.get(k).cloned(),
                },
            )
        })
        .collect()
}

fn changed<T: PartialEq + Clone>(a: &T, b: &T) -> Option<Change<T>> {
    (a != b).then(|| Change {
        before: a.clone(),
        after: b.clone(),
    })
}

fn non_empty(s: &Option<String>) -> Option<String> {
    s.clone().filter(|s| !s.is_empty())
}

pub fn config_diff(a: &ImageConfig, b: &ImageConfig) -> ConfigDiff {
    let ports = |c: &ImageConfig| -> BTreeSet<String> {
        c.config
            .exposed_ports
            .as_ref()
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default()
    };
    let (pa, pb) = (ports(a), ports(b));
    let steps = |c: &ImageConfig| -> Vec<String> {
        c.history
            .iter()
            .map(|h| h.created_by.clone().unwrap_or_default())
            .collect()
    };
    let (sa, sb) = (steps(a), steps(b));
    let common = sa.iter().zip(&sb).take_while(|(x, y)| x == y).count();
    ConfigDiff {
        env: map_diff(&env_map(a), &env_map(b)),
        labels: map_diff(
            &a.config.labels.clone().unwrap_or_default(),
            &b.config.labels.clone().unwrap_or_default(),
        ),
        entrypoint: changed(&a.config.entrypoint, &b.config.entrypoint),
        cmd: changed(&a.config.cmd, &b.config.cmd),
        user: changed(&non_empty(&a.config.user), &non_empty(&b.config.user)),
        working_dir: changed(
            &non_empty(&a.config.working_dir),
            &non_empty(&b.config.working_dir),
        ),
        ports_added: pb.difference(&pa).cloned().collect(),
        ports_removed: pa.difference(&pb).cloned().collect(),
        history_common: common,
        history_only_before: sa[common..].to_vec(),
        history_only_after: sb[common..].to_vec(),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LayerRef {
    pub digest: String,
    pub size: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LayersDiff {
    pub shared: Vec<LayerRef>,
    pub only_before: Vec<LayerRef>,
    pub only_after: Vec<LayerRef>,
    pub shared_bytes: u64,
    pub only_before_bytes: u64,
    pub only_after_bytes: u64,
}

pub fn layers_diff(a: &[Descriptor], b: &[Descriptor]) -> LayersDiff {
    let in_a: BTreeSet<&str> = a.iter().map(|l| l.digest.as_str()).collect();
    let in_b: BTreeSet<&str> = b.iter().map(|l| l.digest.as_str()).collect();
    let refs = |ls: &[Descriptor], keep: &dyn Fn(&str) -> bool| -> Vec<LayerRef> {
        let mut seen = BTreeSet::new();
        ls.iter()
            .filter(|l| keep(l.digest.as_str()) && seen.insert(l.digest.as_str()))
            .map(|l| LayerRef {
                digest: l.digest.to_string(),
                size: l.size,
            })
            .collect()
    };
    let shared = refs(a, &|d| in_b.contains(d));
    let only_before = refs(a, &|d| !in_b.contains(d));
    let only_after = refs(b, &|d| !in_a.contains(d));
    let sum = |v: &[LayerRef]| v.iter().fold(0u64, |s, l| s.saturating_add(l.size));
    LayersDiff {
        shared_bytes: sum(&shared),
        only_before_bytes: sum(&only_before),
        only_after_bytes: sum(&only_after),
        shared,
        only_before,
        only_after,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileChange {
    Added,
    Removed,
    Changed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileDiff {
    pub path: String,
    pub change: FileChange,
    pub kind: EntryKind,
    /// Size in the first image (0 when added).
    pub size_before: u64,
    /// Size in the second image (0 when removed).
    pub size_after: u64,
    pub size_delta: i64,
}

/// Whether two entries of the same path differ in anything a container would notice.
pub fn differs(a: &Entry, b: &Entry) -> bool {
    a.kind != b.kind
        || a.size != b.size
        || a.sha256 != b.sha256
        || a.link != b.link
        || a.mode != b.mode
        || a.uid != b.uid
        || a.gid != b.gid
        || a.device != b.device
}

/// The file-level diff of two merged filesystems, the largest change first (by the larger
/// of the two sizes, then by path). Directories whose only change is their mtime are not
/// changes.
pub fn files_diff(a: &Merged, b: &Merged) -> Vec<FileDiff> {
    let mut out = Vec::new();
    let delta = |before: u64, after: u64| {
        i64::try_from(after)
            .unwrap_or(i64::MAX)
            .saturating_sub(i64::try_from(before).unwrap_or(i64::MAX))
    };
    for (path, ma) in &a.entries {
        match b.entries.get(path) {
            None => out.push(FileDiff {
                path: path.clone(),
                change: FileChange::Removed,
                kind: ma.entry.kind,
                size_before: ma.entry.size,
                size_after: 0,
                size_delta: delta(ma.entry.size, 0),
            }),
            Some(mb) if differs(&ma.entry, &mb.entry) => out.push(FileDiff {
                path: path.clone(),
                change: FileChange::Changed,
                kind: mb.entry.kind,
                size_before: ma.entry.size,
                size_after: mb.entry.size,
                size_delta: delta(ma.entry.size, mb.entry.size),
            }),
            Some(_) => {}
        }
    }
    for (path, mb) in &b.entries {
        if !a.entries.contains_key(path) {
            out.push(FileDiff {
                path: path.clone(),
                change: FileChange::Added,
                kind: mb.entry.kind,
                size_before: 0,
                size_after: mb.entry.size,
                size_delta: delta(0, mb.entry.size),
            });
        }
    }
    out.sort_by(|x, y| {
        let big = |d: &FileDiff| d.size_before.max(d.size_after);
        big(y).cmp(&big(x)).then_with(|| x.path.cmp(&y.path))
    });
    out
}

/// One side of a diff: the reference people gave and the platform image's digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageRef {
    pub reference: String,
    pub digest: String,
}

/// Everything `regatta diff` and the TUI's diff view report about two images.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageDiff {
    pub before: ImageRef,
    pub after: ImageRef,
    /// Absent when either image has no readable config.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<ConfigDiff>,
    pub layers: LayersDiff,
    pub files: Vec<FileDiff>,
}

/// The diff of two platform images named `before.0` and `after.0`, from the listings of
/// all their layers (bottom first). The CLI and the TUI both call this.
pub fn image_diff(
    before: (String, &PlatformImage, &[Listing]),
    after: (String, &PlatformImage, &[Listing]),
) -> ImageDiff {
    let (ia, ib) = (before.1, after.1);
    ImageDiff {
        before: ImageRef {
            reference: before.0,
            digest: ia.digest.to_string(),
        },
        after: ImageRef {
            reference: after.0,
            digest: ib.digest.to_string(),
        },
        config: match (&ia.config, &ib.config) {
            (Some(ca), Some(cb)) => Some(config_diff(ca, cb)),
            _ => None,
        },
        layers: layers_diff(&ia.manifest.layers, &ib.manifest.layers),
        files: files_diff(&merge(before.2), &merge(after.2)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::merge::tests::{file, layer};

    #[test]
    fn files_added_removed_changed_largest_first() {
        let a = merge(&[layer(
            0,
            vec![file("x", 10), file("gone", 500), file("same", 1)],
        )]);
        let b = merge(&[layer(
            1,
            vec![file("x", 30), file("new", 100), file("same", 1)],
        )]);
        let d = files_diff(&a, &b);
        let got: Vec<(&str, FileChange, i64)> = d
            .iter()
            .map(|f| (f.path.as_str(), f.change, f.size_delta))
            .collect();
        assert_eq!(
            got,
            vec![
                ("gone", FileChange::Removed, -500),
                ("new", FileChange::Added, 100),
                ("x", FileChange::Changed, 20),
            ]
        );
    }
}
