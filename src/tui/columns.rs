//! What each list shows: column specs as data and one pure function per row kind that turns
//! a row's values into cell text. Every string that came from a source is sanitized here, at
//! the one place text is made, so no view can forget it. No terminal types: the CLI's table
//! output can share these.

use jiff::Timestamp;

use super::format;
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

const fn col(title: &'static str, width: Width, align: Align) -> ColumnSpec {
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

pub const REPO_COLUMNS: &[ColumnSpec] = &[
    col("REPOSITORY", Fill(1), Left),
    col("TAGS", Fixed(7), Right),
    col("LOGICAL", Fixed(10), Right),
    col("STORED", Fixed(10), Right),
    col("UNIQUE", Fixed(10), Right),
];

pub const TAG_COLUMNS: &[ColumnSpec] = &[
    col("", Fixed(1), Left),
    col("TAG", Fill(2), Left),
    col("DIGEST", Fixed(12), Left),
    col("SIZE", Fixed(10), Right),
    col("AGE", Fixed(4), Right),
    col("PLATFORMS", Fill(2), Left),
    col("SHARED", Fixed(6), Right),
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

pub const BACKUP_COLUMNS: &[ColumnSpec] = &[
    col("AGE", Fixed(4), Right),
    col("ACTION", Fixed(6), Left),
    col("REPOSITORY", Fill(2), Left),
    col("DIGEST", Fixed(12), Left),
    col("TAGS", Fill(3), Left),
];

pub const FINDING_COLUMNS: &[ColumnSpec] = &[
    col("FINDING", Fixed(19), Left),
    col("REPOSITORY", Fill(2), Left),
    col("TAGS", Fixed(5), Right),
    col("FREES", Fixed(10), Right),
    col("DETAIL", Fill(4), Left),
];

/// How a finding's kind reads in the list (`stale builds`).
pub fn finding_kind(kind: crate::audit::FindingKind) -> String {
    kind.name().replace('_', " ")
}

/// An audit finding's cells: its repository and detail (which names tags) sanitized.
pub fn finding_row(finding: &crate::audit::Finding) -> Vec<String> {
    vec![
        finding_kind(finding.kind),
        sanitize(&finding.repository).into_owned(),
        finding.tags.len().to_string(),
        format::size(finding.bytes_freed),
        sanitize(&finding.detail).into_owned(),
    ]
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
    let size = |f: Field<u64>| f.show(|s| format::size(*s));
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
        line.size.show(|s| format::size(*s)),
        line.created
            .map_or_else(String::new, |c| format::age(c, now)),
        sanitize(line.platforms).into_owned(),
        if line.shared > 0 {
            format!("+{}", line.shared)
        } else {
            String::new()
        },
    ]
}

pub struct PlatformLine<'a> {
    pub platform: &'a str,
    pub digest: &'a Digest,
    pub size: u64,
    pub layers: usize,
    pub media_type: &'a str,
}

pub fn platform_row(line: &PlatformLine<'_>) -> Vec<String> {
    vec![
        sanitize(line.platform).into_owned(),
        line.digest.short().to_string(),
        format::size(line.size),
        line.layers.to_string(),
        sanitize(&format::media_type(line.media_type)).into_owned(),
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

pub fn layer_row(line: &LayerLine<'_>) -> Vec<String> {
    vec![
        line.position.to_string(),
        line.digest.short().to_string(),
        sanitize(&format::media_type(line.media_type)).into_owned(),
        format::size(line.size),
        format::percent(line.size, line.image_size),
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

pub fn backup_row(line: &BackupLine<'_>, now: Timestamp) -> Vec<String> {
    let age = line
        .time
        .parse::<Timestamp>()
        .map_or_else(|_| "?".to_string(), |t| format::age(t, now));
    // The journal is a file on disk: no assumption that the digest is well formed.
    let short: String = line
        .digest
        .split_once(':')
        .map_or(line.digest, |(_, hex)| hex)
        .chars()
        .take(12)
        .collect();
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
        sanitize(&short).into_owned(),
        sanitize(&tags).into_owned(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sanitize::PLACEHOLDER;

    #[test]
    fn every_row_has_one_cell_per_column() {
        let d = Digest::sha256_of(b"x");
        let now: Timestamp = "2025-06-01T00:00:00Z".parse().unwrap();
        let reg = RegistryLine {
            name: "a",
            location: "b",
            state: "ok",
            detail: "",
        };
        assert_eq!(registry_row(&reg).len(), REGISTRY_COLUMNS.len());
        let repo = RepoLine {
            name: "a",
            tags: Field::Loading,
            sizes: Some(RepoSizes {
                logical: Field::Known(2048),
                stored: Field::Known(1024),
                unique: Field::Loading,
            }),
        };
        assert_eq!(repo_row(&repo), ["a", "…", "2 KiB", "1 KiB", "…"]);
        let tag = TagLine {
            marked: true,
            tag: "v1",
            digest: Some(&d),
            size: Field::Known(2048),
            created: Some("2025-05-29T00:00:00Z".parse().unwrap()),
            platforms: "linux/amd64",
            shared: 2,
        };
        assert_eq!(
            tag_row(&tag, now),
            vec!["*", "v1", d.short(), "2 KiB", "3d", "linux/amd64", "+2"]
        );
        let p = PlatformLine {
            platform: "x",
            digest: &d,
            size: 1,
            layers: 2,
            media_type: "",
        };
        assert_eq!(platform_row(&p).len(), PLATFORM_COLUMNS.len());
        let l = LayerLine {
            position: 1,
            digest: &d,
            media_type: "",
            size: 1,
            image_size: 4,
            used_by: Some(Field::Known(0)),
            created_by: Some("RUN x"),
        };
        assert_eq!(layer_row(&l)[4], "25.0%");
        assert_eq!(layer_row(&l)[5], "only this");
        assert_eq!(layer_row(&l).len(), LAYER_COLUMNS.len());
    }

    #[test]
    fn cells_are_sanitized() {
        let tag = TagLine {
            marked: false,
            tag: "v1\u{7}",
            digest: None,
            size: Field::Failed,
            created: None,
            platforms: "linux/\u{1b}[2Jamd64",
            shared: 0,
        };
        let cells = tag_row(&tag, Timestamp::UNIX_EPOCH);
        assert_eq!(cells[1], format!("v1{PLACEHOLDER}"));
        assert_eq!(cells[5], format!("linux/{PLACEHOLDER}amd64"));
        assert_eq!(cells[3], "error");
    }
}
