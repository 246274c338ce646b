//! The layers of one platform image, each with its share of the image, how many other tags
//! (in any repository) use the same blob, and the build step that made it (non-empty
//! history entries match layers one to one, in order). The sharing comes from the storage
//! scan; the top bar says how many bytes no other tag references.

use std::cmp::Ordering;
use std::sync::Arc;

use ratatui::Frame;
use ratatui::layout::Rect;

use super::Ctx;
use crate::analysis::sharing::TagSharing;
use crate::analysis::size::manifest_size;
use crate::present::text::layer_steps;
use crate::registry::image::{ImageTree, PlatformImage};
use crate::registry::{Descriptor, RepoName, Tag};
use crate::tui::columns::{Field, LAYER_COLUMNS, LayerLine, layer_row};
use crate::tui::format;
use crate::tui::listing::{Listing, Rows, SortKey, larger_first};
use crate::tui::widgets::table::{TableRow, render_table};

#[derive(Debug)]
pub struct LayerRows {
    pub tree: Arc<ImageTree>,
    pub image: usize,
    created_by: Vec<Option<String>>,
    /// What the filter matches: digest and build step.
    texts: Vec<String>,
    pub image_size: u64,
}

impl LayerRows {
    pub fn new(tree: Arc<ImageTree>, image: usize) -> Self {
        let (created_by, texts, image_size) = match tree.images.get(image) {
            Some(img) => {
                let created_by = layer_steps(img);
                let texts = img
                    .manifest
                    .layers
                    .iter()
                    .zip(&created_by)
                    .map(|(l, c)| format!("{} {}", l.digest.hex(), c.as_deref().unwrap_or("")))
                    .collect();
                (created_by, texts, manifest_size(&img.manifest))
            }
            None => (Vec::new(), Vec::new(), 0),
        };
        Self {
            tree,
            image,
            created_by,
            texts,
            image_size,
        }
    }

    pub fn platform_image(&self) -> Option<&PlatformImage> {
        self.tree.images.get(self.image)
    }

    fn layer(&self, row: usize) -> Option<&Descriptor> {
        self.platform_image()?.manifest.layers.get(row)
    }

    pub fn created_by(&self, row: usize) -> Option<&str> {
        self.created_by.get(row)?.as_deref()
    }
}

impl Rows for LayerRows {
    fn len(&self) -> usize {
        self.texts.len()
    }
    fn text(&self, row: usize) -> &str {
        &self.texts[row]
    }
    fn has(&self, _row: usize, _key: SortKey) -> bool {
        true
    }
    fn compare(&self, a: usize, b: usize, key: SortKey) -> Ordering {
        match key {
            SortKey::Size => {
                let size = |r| self.layer(r).map_or(0, |l| l.size);
                larger_first(size(a), size(b)).then(a.cmp(&b))
            }
            _ => a.cmp(&b),
        }
    }
}

#[derive(Debug)]
pub struct LayersView {
    pub entry: usize,
    pub repo: RepoName,
    /// What this view adds to the breadcrumbs: the platform, preceded by the tag when the
    /// tag was a single manifest (no manifest view in between).
    pub crumbs: Vec<String>,
    pub rows: LayerRows,
    pub listing: Listing,
    /// The tag this image was opened from, when it was opened from a tag.
    pub tag: Option<Tag>,
    /// Who else uses each blob, from the storage model (`None` until the scan knows the tag).
    pub sharing: Option<TagSharing>,
    /// The storage generation `sharing` was computed from.
    pub sharing_generation: Option<u64>,
}

impl LayersView {
    pub const SORT_KEYS: &'static [SortKey] = &[SortKey::Position, SortKey::Size];

    pub fn new(
        entry: usize,
        repo: RepoName,
        crumbs: Vec<String>,
        tree: Arc<ImageTree>,
        image: usize,
    ) -> Self {
        Self {
            entry,
            repo,
            crumbs,
            rows: LayerRows::new(tree, image),
            listing: Listing::new(Self::SORT_KEYS),
            tag: None,
            sharing: None,
            sharing_generation: None,
        }
    }

    pub fn with_tag(mut self, tag: Option<Tag>) -> Self {
        self.tag = tag;
        self
    }

    /// Other tags using the blob of `row`, when the scan knows.
    fn used_by(&self, row: usize) -> Option<Field<usize>> {
        self.tag.as_ref()?;
        let Some(sharing) = &self.sharing else {
            return Some(Field::Loading);
        };
        let layer = self.rows.layer(row)?;
        Some(match sharing.users_of(&layer.digest) {
            Some(u) => Field::Known(u.tags),
            None => Field::Loading,
        })
    }

    /// The bytes of this tag no other tag references (its manifests and config included).
    pub fn progress(&self) -> Option<String> {
        let sharing = self.sharing.as_ref()?;
        Some(format!(
            "unique to this tag {}",
            format::size(sharing.unique_bytes)
        ))
    }

    pub fn detail(&self) -> Option<String> {
        let row = self.listing.selected_row()?;
        let layer = self.rows.layer(row)?;
        let mut text = layer.digest.to_string();
        if let Some(u) = self
            .sharing
            .as_ref()
            .and_then(|s| s.users_of(&layer.digest))
        {
            if u.tags == 0 {
                text.push_str(" · no other tag uses it");
            } else {
                text.push_str(&format!(" · also in {}", u.examples.join(", ")));
                if u.tags > u.examples.len() {
                    text.push_str(&format!(" and {} more", u.tags - u.examples.len()));
                }
            }
        }
        if let Some(step) = self.rows.created_by(row) {
            text.push_str(&format!(" · {}", step.trim()));
        }
        Some(text)
    }

    pub fn render(&self, f: &mut Frame, area: Rect, ctx: &Ctx<'_>) {
        let empty = match self.rows.platform_image() {
            Some(i) if i.manifest.layers.is_empty() => "this image has no layers",
            _ => "no layers match",
        };
        render_table(
            f,
            area,
            LAYER_COLUMNS,
            &self.listing.table,
            &ctx.theme,
            empty,
            |p| match self
                .listing
                .row_at(p)
                .and_then(|r| Some((r, self.rows.layer(r)?)))
            {
                Some((r, layer)) => layer_row(&LayerLine {
                    position: r + 1,
                    digest: &layer.digest,
                    media_type: &layer.media_type,
                    size: layer.size,
                    image_size: self.rows.image_size,
                    used_by: self.used_by(r),
                    created_by: self.rows.created_by(r),
                })
                .into(),
                None => TableRow::default(),
            },
        );
    }
}
