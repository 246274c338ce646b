//! What each list shows: column specs as data and one pure function per row kind that turns
//! a row's values into cell text (k9s's `render/`). The TUI lays the specs out in a table
//! widget; the CLI prints the same specs and rows as aligned plain text ([`table`]). Every
//! string that came from a source is sanitized here, at the one place text is made, so no
//! view or command can forget it. No terminal types.

use jiff::Timestamp;

use super::text::{digest_hex12, media_type};
use super::units::{age, percent, size};
use crate::registry::Digest;
use crate::sanitize::sanitize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Width {
    /// Exactly this many cells.
    Fixed(u16),
    /// At least this many, sharing what is left with the other `Min` and `Fill` columns.
    Min(u16),
    /// A share of what is left (the weight).
    Fill(u16),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnSpec {
    pub title: &'static str,
    pub width: Width,
    pub align: Align,
}

pub(super) const fn col(title: &'static str, width: Width, align: Align) -> ColumnSpec {
    ColumnSpec {
        title,
        width,
        align,
    }
}

use Align::{Left, Right};
use Width::{Fill, Fixed, Min};

pub const REGISTRY_COLUMNS: &[ColumnSpec] = &[
    col("REGISTRY", Min(12), Left),
    col("LOCATION", Fill(2), Left),
    col("STATE", Fixed(12), Left),
    col("DETAIL", Fill(3), Left),
];

const REPO: [ColumnSpec; 5] = [
    col("REPOSITORY", Fill(1), Left),
    col("TAGS", Fixed(7), Right),
    col("LOGICAL", Fixed(10), Right),
    col("STORED", Fixed(10), Right),
    col("UNIQUE", Fixed(10), Right),
];

/// The repository list.
pub const REPO_COLUMNS: &[ColumnSpec] = &REPO;

/// The TUI's repository list on a token registry: what the credential may do in each
/// (`r`, `rw`, `rwd`; empty until known).
pub const REPO_GRANT_COLUMNS: &[ColumnSpec] = &[
    REPO[0],
    REPO[1],
    REPO[2],
    REPO[3],
    REPO[4],
    col("MAY", Fixed(4), Left),
];

/// `regatta du`: the repository list's columns and the bytes shared with other repositories.
pub const DU_COLUMNS: &[ColumnSpec] = &[
    REPO[0],
    REPO[1],
    REPO[2],
    REPO[3],
    REPO[4],
    col("SHARED", Fixed(10), Right),
];

const TAG: [ColumnSpec; 7] = [
    col("", Fixed(1), Left),
    col("TAG", Fill(2), Left),
    col("DIGEST", Fixed(12), Left),
    col("SIZE", Fixed(10), Right),
    col("AGE", Fixed(4), Right),
    col("PLATFORMS", Fill(2), Left),
    col("SHARED", Fixed(6), Right),
];

pub const TAG_COLUMNS: &[ColumnSpec] = &TAG;

/// The tag list of a repository where something is attached to an image (signatures,
/// SBOMs, attestations): what is attached to each, before SHARED.
pub const TAG_ATTACHED_COLUMNS: &[ColumnSpec] = &[
    TAG[0],
    TAG[1],
    TAG[2],
    TAG[3],
    TAG[4],
    TAG[5],
    col("ATTACHED", Fixed(16), Left),
    TAG[6],
];

pub const PLATFORM_COLUMNS: &[ColumnSpec] = &[
    col("PLATFORM", Min(16), Left),
    col("DIGEST", Fixed(12), Left),
    col("SIZE", Fixed(10), Right),
    col("LAYERS", Fixed(6), Right),
    col("MEDIA TYPE", Fill(1), Left),
];

pub const LAYER_COLUMNS: &[ColumnSpec] = &[
    col("#", Fixed(3), Right),
    col("DIGEST", Fixed(12), Left),
    col("MEDIA TYPE", Fixed(22), Left),
    col("SIZE", Fixed(10), Right),
    col("SHARE", Fixed(6), Right),
    col("USED BY", Fixed(9), Right),
    col("CREATED BY", Fill(1), Left),
];

/// The TUI's file tree of one layer: the mark (`+` added, `~` changed, `-` removed), the
/// bytes at or under the path, the tree.
pub const FILE_TREE_COLUMNS: &[ColumnSpec] = &[
    col("", Fixed(1), Left),
    col("SIZE", Fixed(10), Right),
    col("FILES", Fixed(7), Right),
    col("PATH", Fill(1), Left),
];

/// The TUI's merged filesystem: the layer that last wrote the path (`L1` is the bottom),
/// `~` when more than one layer wrote it, the bytes, the tree.
pub const MERGED_TREE_COLUMNS: &[ColumnSpec] = &[
    col("LAYER", Fixed(5), Left),
    col("", Fixed(1), Left),
    col("SIZE", Fixed(10), Right),
    col("FILES", Fixed(7), Right),
    col("PATH", Fill(1), Left),
];

/// `inspect --sharing`: who else uses each layer (the layer view's USED BY, and the tags its
/// detail line names).
pub const LAYER_USERS_COLUMNS: &[ColumnSpec] = &[
    col("LAYER", Fixed(12), Left),
    col("USED BY", Fixed(9), Right),
    col("ALSO IN", Fill(1), Left),
];

const BACKUP: [ColumnSpec; 5] = [
    col("AGE", Fixed(4), Right),
    col("ACTION", Fixed(6), Left),
    col("REPOSITORY", Fill(2), Left),
    col("DIGEST", Fixed(12), Left),
    col("TAGS", Fill(3), Left),
];

/// The recently deleted list (one registry).
pub const BACKUP_COLUMNS: &[ColumnSpec] = &BACKUP;

/// `regatta restore --list`: the backup's id (what `restore` takes), then the list's columns
/// (the repository prefixed with its registry: the list spans every registry).
pub const RESTORE_COLUMNS: &[ColumnSpec] = &[
    col("ID", Min(8), Left),
    BACKUP[0],
    BACKUP[1],
    BACKUP[2],
    BACKUP[3],
    BACKUP[4],
];

/// How a digest cell reads: the TUI's narrow column shows 12 hex characters, the CLI's
/// table (which scripts and people copy from) the whole digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Digests {
    Short,
    Full,
}

impl Digests {
    fn show(self, digest: &Digest) -> String {
        match self {
            Digests::Short => digest.short().to_string(),
            Digests::Full => digest.to_string(),
        }
    }
}

/// Rows as aligned plain text under the specs' titles, for the CLI: each column as wide as
/// its widest cell (the specs' widths are for a screen), right-aligned columns padded on
/// the left, and a column no row has anything in left out (the layer list's USED BY
/// without a scan). Cells are sanitized again (a no-op for cells made here).
pub fn table(specs: &[ColumnSpec], rows: &[Vec<String>]) -> Vec<String> {
    let cells: Vec<Vec<String>> =
        std::iter::once(specs.iter().map(|s| s.title.to_string()).collect())
            .chain(
                rows.iter()
                    .map(|r| r.iter().map(|c| sanitize(c).into_owned()).collect()),
            )
            .collect();
    let cell = |row: &Vec<String>, i: usize| row.get(i).map_or("", String::as_str).to_string();
    let shown: Vec<usize> = (0..specs.len())
        .filter(|&i| rows.is_empty() || cells[1..].iter().any(|r| !cell(r, i).is_empty()))
        .collect();
    let widths: Vec<usize> = shown
        .iter()
        .map(|&i| {
            cells
                .iter()
                .map(|r| cell(r, i).chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    cells
        .iter()
        .map(|row| {
            let line: Vec<String> = shown
                .iter()
                .zip(&widths)
                .map(|(&i, &width)| {
                    let spec = specs[i];
                    let cell = cell(row, i);
                    match spec.align {
                        Align::Left => format!("{cell:<width$}"),
                        Align::Right => format!("{cell:>width$}"),
                    }
                })
                .collect();
            line.join("  ").trim_end().to_string()
        })
        .collect()
}

/// A value that arrives later, or not at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field<T> {
    Loading,
    Known(T),
    Failed,
}

impl<T> Field<T> {
    pub fn known(&self) -> Option<&T> {
        match self {
            Field::Known(v) => Some(v),
            _ => None,
        }
    }

    fn show(&self, f: impl FnOnce(&T) -> String) -> String {
        match self {
            Field::Loading => "…".to_string(),
            Field::Known(v) => f(v),
            Field::Failed => "error".to_string(),
        }
    }
}

fn short(digest: Option<&Digest>) -> String {
    digest.map_or_else(|| "…".to_string(), |d| d.short().to_string())
}

pub struct RegistryLine<'a> {
    pub name: &'a str,
    pub location: &'a str,
    pub state: &'a str,
    pub detail: &'a str,
}

pub fn registry_row(line: &RegistryLine<'_>) -> Vec<String> {
    vec![
        sanitize(line.name).into_owned(),
        sanitize(line.location).into_owned(),
        line.state.to_string(),
        sanitize(line.detail).into_owned(),
    ]
}

/// A repository's storage numbers as `regatta du` defines them; `Loading` while the scan
/// has not got far enough for a number to be final.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RepoSizes {
    pub logical: Field<u64>,
    pub stored: Field<u64>,
    pub unique: Field<u64>,
}

pub struct RepoLine<'a> {
    pub name: &'a str,
    pub tags: Field<usize>,
    /// `None` when no scan has run: the columns stay empty.
    pub sizes: Option<RepoSizes>,
}

pub fn repo_row(line: &RepoLine<'_>) -> Vec<String> {
    let size = |f: Field<u64>| f.show(|s| size(*s));
    let (logical, stored, unique) = match line.sizes {
        Some(s) => (size(s.logical), size(s.stored), size(s.unique)),
        None => (String::new(), String::new(), String::new()),
    };
    vec![
        sanitize(line.name).into_owned(),
        line.tags.show(|n| n.to_string()),
        logical,
        stored,
        unique,
    ]
}

pub struct TagLine<'a> {
    /// Marked for deletion.
    pub marked: bool,
    pub tag: &'a str,
    pub digest: Option<&'a Digest>,
    pub size: Field<u64>,
    pub created: Option<Timestamp>,
    pub platforms: &'a str,
    /// How many other tags in the list point at the same digest.
    pub shared: usize,
}

pub fn tag_row(line: &TagLine<'_>, now: Timestamp) -> Vec<String> {
    vec![
        if line.marked { "*" } else { "" }.to_string(),
        sanitize(line.tag).into_owned(),
        short(line.digest),
        line.size.show(|s| size(*s)),
        // Blank, not `-`: a tag's date arrives with its config, later than the row.
        line.created.map_or_else(String::new, |c| age(c, now)),
        sanitize(line.platforms).into_owned(),
        if line.shared > 0 {
            format!("+{}", line.shared)
        } else {
            String::new()
        },
    ]
}

/// A tag row under [`TAG_ATTACHED_COLUMNS`]: [`tag_row`] with what is attached to the image
/// (made by [`crate::present::referrers::AttachedSummary::cell`]).
pub fn tag_attached_row(line: &TagLine<'_>, attached: &str, now: Timestamp) -> Vec<String> {
    let mut cells = tag_row(line, now);
    let shared = cells.pop().unwrap_or_default();
    cells.push(sanitize(attached).into_owned());
    cells.push(shared);
    cells
}

pub struct PlatformLine<'a> {
    pub platform: &'a str,
    pub digest: &'a Digest,
    pub size: u64,
    pub layers: usize,
    pub media_type: &'a str,
}

/// A platform row as the TUI shows it (short digest).
pub fn platform_row(line: &PlatformLine<'_>) -> Vec<String> {
    platform_cells(line, Digests::Short)
}

pub fn platform_cells(line: &PlatformLine<'_>, digests: Digests) -> Vec<String> {
    vec![
        sanitize(line.platform).into_owned(),
        digests.show(line.digest),
        size(line.size),
        line.layers.to_string(),
        sanitize(&media_type(line.media_type)).into_owned(),
    ]
}

pub struct LayerLine<'a> {
    /// 1-based position in the manifest.
    pub position: usize,
    pub digest: &'a Digest,
    pub media_type: &'a str,
    pub size: u64,
    /// The platform image's size, for the share.
    pub image_size: u64,
    /// How many other tags use the blob; `None` without a scan.
    pub used_by: Option<Field<usize>>,
    pub created_by: Option<&'a str>,
}

/// `only this`, `1 tag`, `12 tags`.
pub fn used_by(others: usize) -> String {
    match others {
        0 => "only this".to_string(),
        1 => "1 tag".to_string(),
        n => format!("{n} tags"),
    }
}

/// A layer row as the TUI shows it (short digest).
pub fn layer_row(line: &LayerLine<'_>) -> Vec<String> {
    layer_cells(line, Digests::Short)
}

pub fn layer_cells(line: &LayerLine<'_>, digests: Digests) -> Vec<String> {
    vec![
        line.position.to_string(),
        digests.show(line.digest),
        sanitize(&media_type(line.media_type)).into_owned(),
        size(line.size),
        percent(line.size, line.image_size),
        line.used_by
            .map_or_else(String::new, |f| f.show(|n| used_by(*n))),
        sanitize(line.created_by.unwrap_or("").trim()).into_owned(),
    ]
}

pub struct BackupLine<'a> {
    /// When it was deleted (RFC 3339, from the journal).
    pub time: &'a str,
    pub action: &'a str,
    pub repository: &'a str,
    pub digest: &'a str,
    pub tags: &'a [String],
    /// Platform manifests saved with an index.
    pub children: usize,
}

/// A backup row as the TUI shows it (short digest).
pub fn backup_row(line: &BackupLine<'_>, now: Timestamp) -> Vec<String> {
    backup_cells(line, now, Digests::Short)
}

pub fn backup_cells(line: &BackupLine<'_>, now: Timestamp, digests: Digests) -> Vec<String> {
    let age = line
        .time
        .parse::<Timestamp>()
        .map_or_else(|_| "?".to_string(), |t| age(t, now));
    // The journal is a file on disk: no assumption that the digest is well formed.
    let digest = match digests {
        Digests::Short => digest_hex12(line.digest),
        Digests::Full => line.digest.to_string(),
    };
    let mut tags = if line.tags.is_empty() {
        "(untagged)".to_string()
    } else {
        line.tags.join(", ")
    };
    if line.children > 0 {
        tags.push_str(&format!(" (+{} platform manifests)", line.children));
    }
    vec![
        age,
        sanitize(line.action).into_owned(),
        sanitize(line.repository).into_owned(),
        sanitize(&digest).into_owned(),
        sanitize(&tags).into_owned(),
    ]
}
