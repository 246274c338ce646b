//! An index (multi-platform image): its platform manifests with digest and size. Enter opens
//! one platform's layers.

use std::cmp::Ordering;
use std::sync::Arc;

use ratatui::Frame;
use ratatui::layout::Rect;

use super::Ctx;
use crate::analysis::size::manifest_size;
use crate::registry::RepoName;
use crate::registry::image::{ImageTree, PlatformImage};
use crate::tui::columns::{PLATFORM_COLUMNS, PlatformLine, platform_row};
use crate::tui::format;
use crate::tui::listing::{Listing, Rows, SortKey, by_name, larger_first};
use crate::tui::widgets::table::{TableRow, render_table};

#[derive(Debug)]
pub struct PlatformRows {
    pub tree: Arc<ImageTree>,
    names: Vec<String>,
    sizes: Vec<u64>,
}

impl PlatformRows {
    pub fn new(tree: Arc<ImageTree>) -> Self {
        let names = tree
            .images
            .iter()
            .map(|i| format::platform(i.platform.as_ref()))
            .collect();
        let sizes = tree
            .images
            .iter()
            .map(|i| manifest_size(&i.manifest))
            .collect();
        Self { tree, names, sizes }
    }

    pub fn image(&self, row: usize) -> Option<&PlatformImage> {
        self.tree.images.get(row)
    }
}

impl Rows for PlatformRows {
    fn len(&self) -> usize {
        self.names.len()
    }
    fn text(&self, row: usize) -> &str {
        &self.names[row]
    }
    fn has(&self, _row: usize, _key: SortKey) -> bool {
        true
    }
    fn compare(&self, a: usize, b: usize, key: SortKey) -> Ordering {
        let (x, y) = (&self.names[a], &self.names[b]);
        match key {
            SortKey::Size => larger_first(self.sizes[a], self.sizes[b]),
            SortKey::Position => a.cmp(&b),
            _ => by_name(x, y),
        }
    }
}

#[derive(Debug)]
pub struct ManifestView {
    pub entry: usize,
    pub repo: RepoName,
    /// The tag or digest the user opened, for the breadcrumbs.
    pub label: String,
    pub rows: PlatformRows,
    pub listing: Listing,
}

impl ManifestView {
    pub const SORT_KEYS: &'static [SortKey] = &[SortKey::Position, SortKey::Name, SortKey::Size];

    pub fn new(entry: usize, repo: RepoName, label: String, tree: Arc<ImageTree>) -> Self {
        Self {
            entry,
            repo,
            label,
            rows: PlatformRows::new(tree),
            listing: Listing::new(Self::SORT_KEYS),
        }
    }

    /// The selected platform's index in the tree.
    pub fn selected(&self) -> Option<usize> {
        self.listing.selected_row()
    }

    pub fn render(&self, f: &mut Frame, area: Rect, ctx: &Ctx<'_>) {
        render_table(
            f,
            area,
            PLATFORM_COLUMNS,
            &self.listing.table,
            &ctx.theme,
            "no platform manifests",
            |p| match self
                .listing
                .row_at(p)
                .and_then(|r| Some((r, self.rows.image(r)?)))
            {
                Some((r, image)) => platform_row(&PlatformLine {
                    platform: &self.rows.names[r],
                    digest: &image.digest,
                    size: self.rows.sizes[r],
                    layers: image.manifest.layers.len(),
                    media_type: &image.media_type,
                })
                .into(),
                None => TableRow::default(),
            },
        );
    }
}
