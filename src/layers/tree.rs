//! A layer's files, or the merged filesystem, as a tree to browse: directories with the
//! bytes of everything under them, each entry marked with what the layer does to the layers
//! below (adds, changes, removes; from [`super::merge`] and [`super::diff`]), or in the
//! merged tree with the layer that last wrote it.
//!
//! Built once per listing: the nodes, their aggregated sizes and both child orders (by name
//! and by size) are computed when the tree is made. What a browser shows at any moment
//! ([`visible`]) is one pass over the nodes, and drawing asks only for the rows on screen.

use std::collections::{HashMap, HashSet};

use super::diff::differs;
use super::entry::{EntryKind, Listing, Whiteout};
use super::merge::{Merged, merge};

/// What an entry of a layer does to the filesystem of the layers below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Change {
    /// The path was not there below.
    Added,
    /// The path was there and differs (kind, size, content, link, mode, owner).
    Changed,
    /// A whiteout or an opaque directory deletes the path (and what is under it).
    Removed,
}

/// One path of the tree. The root is node 0 (path `.`), never shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The last component of the path (not sanitized).
    pub name: String,
    pub path: String,
    pub kind: EntryKind,
    /// A regular file's bytes (a removed path: the bytes it removes).
    pub size: u64,
    /// Bytes of the regular files at or under this path (removed paths not counted in
    /// their parents: they are not in the filesystem any more).
    pub total: u64,
    /// Regular files at or under this path (same rule).
    pub files: u64,
    /// Layer trees: what this layer does to the path (`None`: unchanged, or a directory
    /// that only holds what is below it).
    pub change: Option<Change>,
    /// Merged trees: the layer (0 = bottom) that last wrote the path.
    pub layer: Option<usize>,
    /// Merged trees: how many layers wrote this path (more than one: overwritten).
    pub writes: u32,
    pub link: Option<String>,
    pub parent: u32,
    pub depth: u16,
    /// Children sorted by name, and by size (largest first, then by name).
    pub by_name: Vec<u32>,
    pub by_size: Vec<u32>,
}

/// What a tree shows: one layer over the ones below it, or all layers merged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TreeOf {
    /// The layer at this index (0 = bottom).
    Layer(usize),
    Merged,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileTree {
    pub of: TreeOf,
    /// How many layers the image has (or were read, for a layer tree: those up to it).
    pub layers: usize,
    pub nodes: Vec<Node>,
}

/// Files at least this share of the tree's bytes count as large (`1/LARGE_SHARE`), and
/// always from [`LARGE_MIN`] bytes up.
pub const LARGE_SHARE: u64 = 100;
pub const LARGE_MIN: u64 = 1024 * 1024;

struct Builder {
    nodes: Vec<Node>,
    index: HashMap<String, u32>,
}

impl Builder {
    fn new() -> Self {
        let root = Node {
            name: ".".into(),
            path: ".".into(),
            kind: EntryKind::Dir,
            size: 0,
            total: 0,
            files: 0,
            change: None,
            layer: None,
            writes: 0,
            link: None,
            parent: 0,
            depth: 0,
            by_name: Vec::new(),
            by_size: Vec::new(),
        };
        let mut index = HashMap::new();
        index.insert(".".to_string(), 0);
        Self {
            nodes: vec![root],
            index,
        }
    }

    /// The node of `path`, made (with any missing parent directories) when absent.
    fn node(&mut self, path: &str) -> u32 {
        if let Some(&n) = self.index.get(path) {
            return n;
        }
        let (parent_path, name) = match path.rsplit_once('/') {
            Some((p, n)) => (p, n),
            None => (".", path),
        };
        let parent = self.node(parent_path);
        let id = self.nodes.len() as u32;
        let depth = self.nodes[parent as usize].depth + 1;
        self.nodes.push(Node {
            name: name.to_string(),
            path: path.to_string(),
            kind: EntryKind::Dir,
            size: 0,
            total: 0,
            files: 0,
            change: None,
            layer: None,
            writes: 0,
            link: None,
            parent,
            depth,
            by_name: Vec::new(),
            by_size: Vec::new(),
        });
        self.nodes[parent as usize].by_name.push(id);
        self.index.insert(path.to_string(), id);
        id
    }

    /// Sizes summed bottom up (a child always has a larger index than its parent), then
    /// both orders of every directory's children.
    fn finish(mut self, of: TreeOf, layers: usize) -> FileTree {
        for n in &mut self.nodes {
            let file = n.kind == EntryKind::File;
            n.total = if file { n.size } else { 0 };
            n.files = u64::from(file);
            if n.change == Some(Change::Removed) {
                n.total = n.size;
            }
        }
        for id in (1..self.nodes.len()).rev() {
            let (parent, total, files, removed) = {
                let n = &self.nodes[id];
                (
                    n.parent as usize,
                    n.total,
                    n.files,
                    n.change == Some(Change::Removed),
                )
            };
            if !removed {
                let p = &mut self.nodes[parent];
                p.total = p.total.saturating_add(total);
                p.files += files;
            }
        }
        for id in 0..self.nodes.len() {
            let mut children = std::mem::take(&mut self.nodes[id].by_name);
            let nodes = &self.nodes;
            children.sort_by(|&a, &b| nodes[a as usize].name.cmp(&nodes[b as usize].name));
            let mut by_size = children.clone();
            by_size.sort_by(|&a, &b| {
                let (a, b) = (&nodes[a as usize], &nodes[b as usize]);
                b.total.cmp(&a.total).then_with(|| a.name.cmp(&b.name))
            });
            self.nodes[id].by_name = children;
            self.nodes[id].by_size = by_size;
        }
        FileTree {
            of,
            layers,
            nodes: self.nodes,
        }
    }
}

impl FileTree {
    /// The tree of `listings[layer]`, each entry marked against the merged filesystem of
    /// the layers below it (`listings[..layer]`).
    pub fn of_layer(listings: &[Listing], layer: usize) -> FileTree {
        let mut b = Builder::new();
        let Some(listing) = listings.get(layer) else {
            return b.finish(TreeOf::Layer(layer), listings.len());
        };
        let below = merge(&listings[..layer]);
        let written: HashSet<&str> = listing
            .entries
            .iter()
            .filter(|e| e.whiteout().is_none())
            .map(|e| e.path.as_str())
            .collect();
        for e in &listing.entries {
            match e.whiteout() {
                Some(Whiteout::Removes(path)) => removed(&mut b, &below, &path),
                Some(Whiteout::Opaque(dir)) => {
                    // Everything the layers below had in `dir` that this layer does not
                    // write again; a removed directory stands for what is under it.
                    let mut covered: Option<String> = None;
                    let paths: Vec<&String> = below.below(dir).map(|(p, _)| p).collect();
                    for p in paths {
                        if covered
                            .as_deref()
                            .is_some_and(|c| p.starts_with(c) && p[c.len()..].starts_with('/'))
                        {
                            continue;
                        }
                        if !written.contains(p.as_str()) {
                            removed(&mut b, &below, p);
                            covered = Some(p.clone());
                        }
                    }
                }
                None if e.path == "." => {}
                None => {
                    let change = match below.entries.get(&e.path) {
                        None => Some(Change::Added),
                        Some(old) if differs(&old.entry, e) => Some(Change::Changed),
                        Some(_) => None,
                    };
                    let id = b.node(&e.path) as usize;
                    let n = &mut b.nodes[id];
                    n.kind = e.kind;
                    n.size = e.size;
                    n.link = e.link.clone();
                    n.change = change;
                }
            }
        }
        b.finish(TreeOf::Layer(layer), listings.len())
    }

    /// The merged filesystem of `listings` (bottom first): what a container sees, each
    /// path with the layer that last wrote it and how many layers wrote it.
    pub fn merged(listings: &[Listing]) -> FileTree {
        let fs = merge(listings);
        let mut writes: HashMap<&str, u32> = HashMap::new();
        for listing in listings {
            for e in &listing.entries {
                if e.whiteout().is_none() {
                    *writes.entry(e.path.as_str()).or_default() += 1;
                }
            }
        }
        let mut b = Builder::new();
        for (path, m) in &fs.entries {
            let id = b.node(path) as usize;
            let n = &mut b.nodes[id];
            n.kind = m.entry.kind;
            n.size = m.entry.size;
            n.link = m.entry.link.clone();
            n.layer = Some(m.layer);
            n.writes = writes.get(path.as_str()).copied().unwrap_or(1);
        }
        b.finish(TreeOf::Merged, listings.len())
    }

    pub fn root(&self) -> &Node {
        &self.nodes[0]
    }

    /// Counts of added, changed and removed paths (layer trees).
    pub fn change_counts(&self) -> (usize, usize, usize) {
        let count = |c| self.nodes.iter().filter(|n| n.change == Some(c)).count();
        (
            count(Change::Added),
            count(Change::Changed),
            count(Change::Removed),
        )
    }

    /// Whether `n` counts as large in this tree (see [`LARGE_SHARE`]).
    pub fn is_large(&self, n: &Node) -> bool {
        n.kind == EntryKind::File && n.size >= (self.root().total / LARGE_SHARE).max(LARGE_MIN)
    }

    /// Whether `n` counts as changed: marked in a layer tree; written by more than one
    /// layer in the merged tree (directories excepted: every layer lists its parents).
    pub fn is_changed(&self, n: &Node) -> bool {
        match self.of {
            TreeOf::Layer(_) => n.change.is_some(),
            TreeOf::Merged => n.kind != EntryKind::Dir && n.writes > 1,
        }
    }
}

/// A removed node for `path`, with the bytes the layers below had there.
fn removed(b: &mut Builder, below: &Merged, path: &str) {
    let (kind, own) = match below.entries.get(path) {
        Some(m) => (m.entry.kind, m.entry.size),
        None => (EntryKind::File, 0),
    };
    let under = below
        .below(path)
        .filter(|(_, m)| m.entry.kind == EntryKind::File)
        .fold(0u64, |a, (_, m)| a.saturating_add(m.entry.size));
    let size = if kind == EntryKind::File { own } else { under };
    let id = b.node(path) as usize;
    let n = &mut b.nodes[id];
    n.kind = kind;
    n.size = size;
    n.change = Some(Change::Removed);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TreeSort {
    #[default]
    Name,
    /// Largest first.
    Size,
}

/// Which entries a tree shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Shown {
    #[default]
    All,
    /// Marked entries (a layer tree), or entries written by more than one layer (merged).
    Changed,
    /// Files of at least 1% of the tree's bytes (and 1 MiB).
    Large,
}

impl Shown {
    pub fn next(self) -> Shown {
        match self {
            Shown::All => Shown::Changed,
            Shown::Changed => Shown::Large,
            Shown::Large => Shown::All,
        }
    }
}

/// How a tree is browsed: which directories are folded, the order, what is shown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TreeState {
    /// Nodes folded shut (everything starts open, as dive does).
    pub folded: HashSet<u32>,
    pub sort: TreeSort,
    pub shown: Shown,
    /// Shows the paths containing this text (any case) and the directories above them.
    pub filter: String,
}

/// One row to draw: a node and its depth.
pub type Row = u32;

/// The nodes shown, top to bottom. While a filter or a [`Shown`] restriction is on, the
/// directories leading to a match are open whatever their fold.
pub fn visible(tree: &FileTree, state: &TreeState) -> Vec<Row> {
    let needle = state.filter.to_lowercase();
    let restricted = !needle.is_empty() || state.shown != Shown::All;
    let keep: Option<Vec<bool>> = restricted.then(|| {
        let mut keep: Vec<bool> = tree
            .nodes
            .iter()
            .map(|n| {
                let text = needle.is_empty() || n.path.to_lowercase().contains(&needle);
                let shown = match state.shown {
                    Shown::All => true,
                    Shown::Changed => tree.is_changed(n),
                    Shown::Large => tree.is_large(n),
                };
                text && shown
            })
            .collect();
        keep[0] = false;
        for id in (1..tree.nodes.len()).rev() {
            if keep[id] {
                keep[tree.nodes[id].parent as usize] = true;
            }
        }
        keep
    });
    let mut out = Vec::new();
    let mut stack: Vec<u32> = Vec::new();
    let children = |id: u32| -> &[u32] {
        let n = &tree.nodes[id as usize];
        match state.sort {
            TreeSort::Name => &n.by_name,
            TreeSort::Size => &n.by_size,
        }
    };
    stack.extend(children(0).iter().rev());
    while let Some(id) = stack.pop() {
        if let Some(keep) = &keep
            && !keep[id as usize]
        {
            continue;
        }
        out.push(id);
        let open = restricted || !state.folded.contains(&id);
        if open {
            stack.extend(children(id).iter().rev());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::merge::tests::{dir, file, layer};

    fn listings() -> Vec<Listing> {
        vec![
            layer(
                0,
                vec![
                    dir("etc"),
                    file("etc/motd", 8),
                    file("etc/passwd", 100),
                    dir("var/cache"),
                    file("var/cache/a", 30),
                    file("var/cache/b", 40),
                ],
            ),
            layer(
                1,
                vec![
                    dir("etc"),
                    file("etc/.wh.motd", 0),
                    file("etc/passwd", 120),
                    file("var/cache/.wh..wh..opq", 0),
                    file("var/cache/b", 40),
                    dir("opt/app"),
                    file("opt/app/bin", 5000),
                ],
            ),
        ]
    }

    fn find<'a>(t: &'a FileTree, path: &str) -> &'a Node {
        t.nodes.iter().find(|n| n.path == path).expect(path)
    }

    fn paths(t: &FileTree, rows: &[Row]) -> Vec<String> {
        rows.iter()
            .map(|&r| t.nodes[r as usize].path.clone())
            .collect()
    }

    #[test]
    fn a_layer_marks_what_it_adds_changes_and_removes() {
        let t = FileTree::of_layer(&listings(), 1);
        let mark = |p| find(&t, p).change;
        assert_eq!(mark("etc"), None, "the same directory again");
        assert_eq!(mark("etc/motd"), Some(Change::Removed));
        assert_eq!(mark("etc/passwd"), Some(Change::Changed));
        assert_eq!(mark("var/cache/a"), Some(Change::Removed), "opaque");
        // Written again under the opaque directory: same content, so no change.
        assert_eq!(mark("var/cache/b"), None);
        assert_eq!(mark("opt/app/bin"), Some(Change::Added));
        assert_eq!(mark("opt"), None, "implicit parent");
        assert_eq!(find(&t, "etc/motd").size, 8);
        assert_eq!(find(&t, "var/cache/a").size, 30);
        // Totals count what the layer holds, not what it removes.
        assert_eq!(find(&t, "etc").total, 120);
        assert_eq!(find(&t, "var").total, 40);
        assert_eq!(t.root().total, 120 + 40 + 5000);
        assert_eq!(t.root().files, 3);
        assert_eq!(t.change_counts(), (2, 1, 2));
    }

    #[test]
    fn folding_sorting_and_filtering() {
        let t = FileTree::of_layer(&listings(), 1);
        let mut s = TreeState::default();
        assert_eq!(
            paths(&t, &visible(&t, &s)),
            [
                "etc",
                "etc/motd",
                "etc/passwd",
                "opt",
                "opt/app",
                "opt/app/bin",
                "var",
                "var/cache",
                "var/cache/a",
                "var/cache/b"
            ]
        );
        s.folded.insert(find_id(&t, "etc"));
        s.folded.insert(find_id(&t, "var/cache"));
        assert_eq!(
            paths(&t, &visible(&t, &s)),
            ["etc", "opt", "opt/app", "opt/app/bin", "var", "var/cache"]
        );
        s.sort = TreeSort::Size;
        assert_eq!(
            paths(&t, &visible(&t, &s)),
            ["opt", "opt/app", "opt/app/bin", "etc", "var", "var/cache"]
        );
        // A filter opens what leads to its matches.
        s.filter = "PASS".into();
        assert_eq!(paths(&t, &visible(&t, &s)), ["etc", "etc/passwd"]);
        s.filter.clear();
        s.shown = Shown::Changed;
        s.sort = TreeSort::Name;
        assert_eq!(
            paths(&t, &visible(&t, &s)),
            [
                "etc",
                "etc/motd",
                "etc/passwd",
                "opt",
                "opt/app",
                "opt/app/bin",
                "var",
                "var/cache",
                "var/cache/a"
            ]
        );
    }

    fn find_id(t: &FileTree, path: &str) -> u32 {
        t.nodes.iter().position(|n| n.path == path).expect(path) as u32
    }

    #[test]
    fn the_merged_tree_says_who_wrote_what() {
        let t = FileTree::merged(&listings());
        assert!(t.nodes.iter().all(|n| n.path != "etc/motd"));
        assert!(t.nodes.iter().all(|n| n.path != "var/cache/a"));
        assert_eq!(find(&t, "etc/passwd").layer, Some(1));
        assert_eq!(find(&t, "etc/passwd").writes, 2);
        assert_eq!(find(&t, "var/cache").layer, Some(0));
        assert_eq!(t.root().total, 120 + 40 + 5000);
        let s = TreeState {
            shown: Shown::Changed,
            ..TreeState::default()
        };
        assert_eq!(
            paths(&t, &visible(&t, &s)),
            ["etc", "etc/passwd", "var", "var/cache", "var/cache/b"]
        );
        let s = TreeState {
            shown: Shown::Large,
            ..TreeState::default()
        };
        // 5000 bytes is 96% of the tree but under the 1 MiB floor.
        assert!(visible(&t, &s).is_empty());
    }
}
