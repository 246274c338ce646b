//! The tags of one repository, read from the registry's storage model: the tag list, each
//! tag's digest and its image's size, age and platforms fill in as the scan learns them (the
//! app asks the scan to take this repository first).

use std::cmp::Ordering;
use std::collections::HashMap;

use ratatui::Frame;
use ratatui::layout::Rect;

use super::Ctx;
use crate::registry::{Digest, RepoName, Tag};
use crate::tui::action::ReqId;
use crate::tui::columns::{Field, TAG_COLUMNS, TagLine, tag_row};
use crate::tui::listing::{Listing, Rows, SortKey, by_name, larger_first};
use crate::tui::storage::ImageSummary;
use crate::tui::widgets::table::{TableRow, render_table};

#[derive(Debug, Clone)]
pub struct TagRow {
    pub tag: Tag,
    /// The digest the tag points at, as the storage scan resolved it.
    pub resolved: Field<Digest>,
    pub image: Field<ImageSummary>,
}

impl TagRow {
    pub fn digest(&self) -> Option<&Digest> {
        self.resolved.known()
    }

    fn is_done(&self) -> bool {
        self.resolved == Field::Failed || self.image != Field::Loading
    }
}

/// Rows in the order the source listed them, with indexes by tag and by digest, and running
/// counts so progress costs nothing to ask for on large lists.
#[derive(Debug, Default)]
pub struct TagRows {
    rows: Vec<TagRow>,
    by_tag: HashMap<Tag, usize>,
    by_digest: HashMap<Digest, Vec<usize>>,
    done: usize,
    failed: usize,
}

impl TagRows {
    pub fn set_tags(&mut self, tags: Vec<Tag>) {
        self.rows.clear();
        self.by_tag.clear();
        self.by_digest.clear();
        self.done = 0;
        self.failed = 0;
        for tag in tags {
            if self.by_tag.contains_key(&tag) {
                continue;
            }
            self.by_tag.insert(tag.clone(), self.rows.len());
            self.rows.push(TagRow {
                tag,
                resolved: Field::Loading,
                image: Field::Loading,
            });
        }
    }

    pub fn get(&self, row: usize) -> Option<&TagRow> {
        self.rows.get(row)
    }

    pub fn iter(&self) -> impl Iterator<Item = &TagRow> {
        self.rows.iter()
    }

    /// Changes row `i`, keeping the counts right.
    fn change(&mut self, i: usize, f: impl FnOnce(&mut TagRow)) {
        let row = &mut self.rows[i];
        let (was_done, was_failed) = (row.is_done(), row.image == Field::Failed);
        f(row);
        let (is_done, is_failed) = (row.is_done(), row.image == Field::Failed);
        self.done = self.done + usize::from(is_done) - usize::from(was_done);
        self.failed = self.failed + usize::from(is_failed) - usize::from(was_failed);
    }

    /// Records a tag's digest, with its image's summary when that is already known.
    pub fn resolved(&mut self, tag: &Tag, digest: Digest, image: Option<ImageSummary>) {
        let Some(&i) = self.by_tag.get(tag) else {
            return;
        };
        if self.rows[i].resolved.known().is_some() {
            return; // answered already
        }
        self.by_digest.entry(digest.clone()).or_default().push(i);
        self.change(i, |row| {
            row.resolved = Field::Known(digest);
            if let Some(image) = image {
                row.image = Field::Known(image);
            }
        });
    }

    pub fn resolve_failed(&mut self, tag: &Tag) {
        if let Some(&i) = self.by_tag.get(tag) {
            self.change(i, |row| {
                row.resolved = Field::Failed;
                row.image = Field::Failed;
            });
        }
    }

    /// Fills every tag on `digest`; returns whether any row changed.
    pub fn image(&mut self, digest: &Digest, image: Field<ImageSummary>) -> bool {
        let Some(rows) = self.by_digest.get(digest).cloned() else {
            return false;
        };
        let mut changed = false;
        for &i in &rows {
            if self.rows[i].image != image {
                changed = true;
                self.change(i, |row| row.image = image.clone());
            }
        }
        changed
    }

    /// Rows not resolved yet.
    pub fn unresolved(&self) -> impl Iterator<Item = &Tag> {
        self.rows
            .iter()
            .filter(|r| r.resolved == Field::Loading)
            .map(|r| &r.tag)
    }

    /// How many other tags point at the same digest as `row`.
    pub fn shared(&self, row: usize) -> usize {
        let digest = self.rows.get(row).and_then(TagRow::digest);
        digest
            .and_then(|d| self.by_digest.get(d))
            .map_or(0, |group| group.len().saturating_sub(1))
    }

    /// The other tags on the same digest as `row`.
    pub fn aliases(&self, row: usize) -> impl Iterator<Item = &Tag> {
        let digest = self.rows.get(row).and_then(TagRow::digest);
        digest
            .and_then(|d| self.by_digest.get(d))
            .into_iter()
            .flatten()
            .filter(move |&&i| i != row)
            .map(|&i| &self.rows[i].tag)
    }

    pub fn done(&self) -> usize {
        self.done
    }

    pub fn failed(&self) -> usize {
        self.failed
    }

    /// Distinct digests of the resolved tags.
    pub fn digests(&self) -> impl Iterator<Item = &Digest> {
        self.by_digest.keys()
    }
}

impl Rows for TagRows {
    fn len(&self) -> usize {
        self.rows.len()
    }
    fn text(&self, row: usize) -> &str {
        self.rows[row].tag.as_str()
    }
    fn has(&self, row: usize, key: SortKey) -> bool {
        let image = self.rows[row].image.known();
        match key {
            SortKey::Size => image.is_some(),
            SortKey::Age => image.is_some_and(|i| i.created.is_some()),
            _ => true,
        }
    }
    fn compare(&self, a: usize, b: usize, key: SortKey) -> Ordering {
        let (x, y) = (&self.rows[a], &self.rows[b]);
        let (xi, yi) = (x.image.known(), y.image.known());
        let (xn, yn) = (x.tag.as_str(), y.tag.as_str());
        match key {
            SortKey::Size => larger_first(xi.map(|i| i.size), yi.map(|i| i.size)),
            SortKey::Age => larger_first(xi.and_then(|i| i.created), yi.and_then(|i| i.created)),
            _ => by_name(xn, yn),
        }
    }
}

#[derive(Debug)]
pub struct TagsView {
    pub entry: usize,
    pub repo: RepoName,
    pub rows: TagRows,
    pub listing: Listing,
    pub loads: Vec<ReqId>,
    /// The tag list has arrived.
    pub listed: bool,
    pub failed: Option<String>,
    /// The storage revision rows were last brought up to date with.
    pub model_revision: Option<u64>,
}

impl TagsView {
    pub const SORT_KEYS: &'static [SortKey] = &[SortKey::Name, SortKey::Size, SortKey::Age];

    pub fn new(entry: usize, repo: RepoName) -> Self {
        Self {
            entry,
            repo,
            rows: TagRows::default(),
            listing: Listing::new(Self::SORT_KEYS),
            loads: Vec::new(),
            listed: false,
            failed: None,
            model_revision: None,
        }
    }

    pub fn selected(&self) -> Option<&TagRow> {
        self.rows.get(self.listing.selected_row()?)
    }

    /// Every tag is resolved and has its image (or failed).
    pub fn is_complete(&self) -> bool {
        self.listed && self.rows.done() == self.rows.len()
    }

    pub fn is_loading(&self) -> bool {
        self.failed.is_none() && !self.is_complete()
    }

    pub fn progress(&self) -> String {
        if !self.listed {
            return "tags…".to_string();
        }
        let (done, total) = (self.rows.done(), self.rows.len());
        let failed = self.rows.failed();
        let mut text = format!("tags {done}/{total}");
        if failed > 0 {
            text.push_str(&format!(" · {failed} failed"));
        }
        text
    }

    pub fn detail(&self) -> Option<String> {
        let row = self.listing.selected_row()?;
        let digest = self.rows.get(row)?.digest()?;
        // A few names are useful; thousands would only cost time on every frame.
        const NAMED: usize = 5;
        let aliases: Vec<&str> = self
            .rows
            .aliases(row)
            .take(NAMED)
            .map(Tag::as_str)
            .collect();
        let more = self.rows.shared(row).saturating_sub(NAMED);
        Some(match (aliases.is_empty(), more) {
            (true, _) => digest.to_string(),
            (false, 0) => format!("{digest} · also tagged {}", aliases.join(", ")),
            (false, more) => format!(
                "{digest} · also tagged {} and {more} more",
                aliases.join(", ")
            ),
        })
    }

    pub fn render(&self, f: &mut Frame, area: Rect, ctx: &Ctx<'_>) {
        let empty = match (&self.failed, self.listed) {
            (Some(_), _) => "could not list the tags (see below)",
            (None, false) => "loading…",
            (None, true) if self.listing.query().is_empty() => "no tags",
            (None, true) => "no tags match",
        };
        render_table(
            f,
            area,
            TAG_COLUMNS,
            &self.listing.table,
            &ctx.theme,
            empty,
            |p| {
                let Some((i, row)) = self
                    .listing
                    .row_at(p)
                    .and_then(|i| Some((i, self.rows.get(i)?)))
                else {
                    return TableRow::default();
                };
                let image = row.image.known();
                let marked = ctx
                    .storage(self.entry)
                    .is_some_and(|s| s.is_marked(&self.repo, &row.tag));
                let line = TagLine {
                    marked,
                    tag: row.tag.as_str(),
                    digest: row.digest(),
                    size: match &row.image {
                        Field::Known(s) => Field::Known(s.size),
                        Field::Loading => Field::Loading,
                        Field::Failed => Field::Failed,
                    },
                    created: image.and_then(|s| s.created),
                    platforms: image.map_or("", |s| s.platforms.as_str()),
                    shared: self.rows.shared(i),
                };
                let accent = if row.image == Field::Failed {
                    Some((3, ctx.theme.error()))
                } else {
                    marked.then_some((0, ctx.theme.warning()))
                };
                TableRow {
                    cells: tag_row(&line, ctx.now),
                    accent,
                }
            },
        );
    }
}
