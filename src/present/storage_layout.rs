//! The storage-level numbers (read from the registry's own storage, `crate::storage`) as
//! text: the summary beside the API-level `du`, the per-repository table, the untagged
//! manifests, the uploads and what `garbage-collect` would do. Written once for the CLI and
//! the TUI.

use jiff::Timestamp;

use super::columns::{
    Align::Left, Align::Right, ColumnSpec, Width::Fill, Width::Fixed, col, table,
};
use super::text::short_digest;
use super::units::{age_or_unknown, count, size};
use crate::cleanup::untagged::ProtectedManifest;
use crate::storage::account::{StorageReport, UntaggedManifest, UploadRow};

/// What `du` says when it has no access to the storage.
pub const UNSEEN: &str = "without the registry's storage (--storage PATH, or `storage` in its config entry) du sees what tags reach only: not untagged manifests, blobs waiting for garbage collection or abandoned uploads";

/// What the TUI's storage view says when the registry has no `storage` in its config entry.
pub const UNSEEN_TUI: &str = "without `storage` in this registry's config entry (storage = \"/var/lib/registry\") this view sees what tags reach only: not untagged manifests, blobs waiting for garbage collection or abandoned uploads";

pub const STORAGE_REPO_COLUMNS: &[ColumnSpec] = &[
    col("REPOSITORY", Fill(3), Left),
    col("TAGS", Fixed(6), Right),
    col("MANIFESTS", Fixed(9), Right),
    col("UNTAGGED", Fixed(8), Right),
    col("TAGGED", Fixed(10), Right),
    col("UNTAGGED ONLY", Fixed(13), Right),
    col("UPLOADS", Fixed(10), Right),
];

pub const UNTAGGED_COLUMNS: &[ColumnSpec] = &[
    col("REPOSITORY", Fill(3), Left),
    col("DIGEST", Fixed(19), Left),
    col("PUSHED", Fixed(8), Right),
    col("LAST TAG", Fill(1), Left),
    col("ONLY IT HOLDS", Fixed(13), Right),
];

/// The summary, the tables and the collector's forecast, as lines.
pub fn storage_lines(report: &StorageReport, now: Timestamp) -> Vec<String> {
    let mut lines = storage_summary_lines(report);
    if !report.untagged.is_empty() {
        lines.push(String::new());
        let rows: Vec<Vec<String>> = report
            .untagged
            .iter()
            .map(|u| {
                vec![
                    u.repository.to_string(),
                    short_digest(u.digest.as_str()),
                    age_or_unknown(u.pushed, now),
                    u.last_tag.as_ref().map_or(String::new(), |t| t.to_string()),
                    size(u.bytes),
                ]
            })
            .collect();
        lines.extend(table(UNTAGGED_COLUMNS, &rows));
    }
    lines
}

/// The summary, the per-repository table and the collector's forecast: what the TUI shows
/// above its rows of untagged manifests and uploads.
pub fn storage_summary_lines(report: &StorageReport) -> Vec<String> {
    let t = &report.registry;
    let gc = &report.garbage_collect;
    let mut lines = vec![
        format!(
            "storage {}: {}, physical {}",
            report.location,
            count(t.blobs, "blob"),
            size(t.physical_bytes)
        ),
        format!(
            "  referenced by tagged images       {}",
            size(t.tagged_bytes)
        ),
        format!(
            "  held only by untagged manifests   {} ({})",
            size(t.untagged_only_bytes),
            count(t.untagged_manifests, "manifest")
        ),
        format!(
            "  unreferenced (collected next run) {}",
            size(t.unreferenced_bytes)
        ),
        format!(
            "  uploads in progress or abandoned  {} ({}); abandoned (started before {}): {} ({})",
            size(t.upload_bytes),
            count(t.uploads, "upload"),
            report.abandoned_before.strftime("%Y-%m-%d %H:%M UTC"),
            size(t.abandoned_upload_bytes),
            count(t.abandoned_uploads, "upload")
        ),
        format!(
            "garbage-collect would delete {} ({}); with --delete-untagged {} ({}, {} removed)",
            size(gc.plain.bytes),
            count(gc.plain.blobs, "blob"),
            size(gc.delete_untagged.bytes),
            count(gc.delete_untagged.blobs, "blob"),
            count(gc.delete_untagged.manifests_removed.len(), "manifest"),
        ),
    ];
    for broken in &gc.delete_untagged.broken_indexes {
        let tags: Vec<&str> = broken.tags.iter().map(|t| t.as_str()).collect();
        let children: Vec<String> = broken
            .children
            .iter()
            .map(|c| short_digest(c.as_str()))
            .collect();
        lines.push(format!(
            "  --delete-untagged breaks {}:{} ({}): it removes the platform manifests {}",
            broken.repository,
            tags.join(","),
            short_digest(broken.digest.as_str()),
            children.join(", ")
        ));
    }
    for m in &gc.plain.would_fail_on {
        lines.push(format!(
            "  garbage-collect stops with an error at {}@{}: its manifest cannot be read",
            m.repository, m.digest
        ));
    }
    for p in &report.problems {
        lines.push(format!("  note: {p}"));
    }
    lines.push(String::new());
    let rows: Vec<Vec<String>> = report
        .repositories
        .iter()
        .map(|r| {
            vec![
                r.repository.to_string(),
                r.tags.to_string(),
                r.manifests.to_string(),
                r.untagged_manifests.to_string(),
                size(r.tagged_bytes),
                size(r.untagged_only_bytes),
                size(r.upload_bytes),
            ]
        })
        .collect();
    lines.extend(table(STORAGE_REPO_COLUMNS, &rows));
    lines
}

/// The TUI's rows below the API: untagged manifests (they can be marked and deleted), the
/// platform manifests of tagged indexes (shown, never deleted) and uploads.
pub const STORAGE_ROW_COLUMNS: &[ColumnSpec] = &[
    col("", Fixed(1), Left),
    col("KIND", Fixed(14), Left),
    col("REPOSITORY", Fill(2), Left),
    col("DIGEST / UPLOAD", Fixed(19), Left),
    col("AGE", Fixed(8), Right),
    col("LAST TAG / NOTE", Fill(2), Left),
    col("ONLY IT HOLDS", Fixed(13), Right),
];

/// An untagged manifest's row: pushed when, which tag it last was, the bytes only it holds.
pub fn untagged_row(u: &UntaggedManifest, marked: bool, now: Timestamp) -> Vec<String> {
    vec![
        if marked { "*" } else { "" }.to_string(),
        if u.is_index {
            "untagged index"
        } else {
            "untagged"
        }
        .to_string(),
        u.repository.to_string(),
        short_digest(u.digest.as_str()),
        age_or_unknown(u.pushed, now),
        u.last_tag
            .as_ref()
            .map_or_else(|| "(never tagged)".to_string(), |t| format!("was {t}")),
        size(u.bytes),
    ]
}

/// A platform manifest of a tagged index: untagged to Distribution, needed by the image.
pub fn protected_row(p: &ProtectedManifest) -> Vec<String> {
    vec![
        String::new(),
        "protected".to_string(),
        p.repository.to_string(),
        short_digest(p.digest.as_str()),
        String::new(),
        format!("platform of {}", index_name(p)),
        String::new(),
    ]
}

/// An upload's row: started when, abandoned or not, the bytes received.
pub fn upload_row(u: &UploadRow, now: Timestamp) -> Vec<String> {
    vec![
        String::new(),
        "upload".to_string(),
        u.repository.to_string(),
        u.id.chars().take(19).collect(),
        age_or_unknown(u.started, now),
        if u.abandoned {
            "abandoned"
        } else {
            "in progress"
        }
        .to_string(),
        size(u.bytes),
    ]
}

/// Why a protected manifest cannot be marked, in one line.
pub fn protected_why(p: &ProtectedManifest) -> String {
    format!(
        "{}@{} cannot be marked: it is a platform manifest of {}, and deleting it would break that image",
        p.repository,
        short_digest(p.digest.as_str()),
        index_name(p)
    )
}

/// Why an upload cannot be marked, in one line (checked against Distribution 2.8: DELETE on
/// an upload answers BLOB_UPLOAD_INVALID without the `_state` token only its client holds).
pub const UPLOAD_WHY: &str = "uploads cannot be cancelled from here: Distribution cancels an upload only for the client holding its state token; the registry's uploadpurging (storage.maintenance, by default uploads older than 168h, every 24h) removes abandoned ones";

/// `repo:tag,tag (sha256:abcdef…)`, the tagged index a protected manifest belongs to.
fn index_name(p: &ProtectedManifest) -> String {
    let tags: Vec<&str> = p.tags.iter().map(|t| t.as_str()).collect();
    format!(
        "{}:{} ({})",
        p.repository,
        tags.join(","),
        short_digest(p.index.as_str())
    )
}
