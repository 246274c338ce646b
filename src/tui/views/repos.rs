//! The repositories of one registry. The list streams in page by page; each repository's tag
//! count fills in behind it, and its storage numbers as the background scan gets to it.

use std::cmp::Ordering;
use std::collections::HashMap;

use ratatui::Frame;
use ratatui::layout::Rect;

use super::Ctx;
use crate::registry::RepoName;
use crate::tui::action::ReqId;
use crate::tui::columns::{Field, REPO_COLUMNS, REPO_GRANT_COLUMNS, RepoLine, RepoSizes, repo_row};
use crate::tui::listing::{Listing, Rows, SortKey, by_name, larger_first};
use crate::tui::widgets::table::{TableRow, render_table};

#[derive(Debug, Clone)]
pub struct RepoRow {
    pub name: RepoName,
    pub tags: Field<usize>,
    pub sizes: Option<RepoSizes>,
}

/// Rows in arrival order, with an index by name.
#[derive(Debug, Default)]
pub struct RepoRows {
    rows: Vec<RepoRow>,
    index: HashMap<RepoName, usize>,
    /// Rows whose tag count is in (known or failed).
    counted: usize,
}

impl RepoRows {
    pub fn get(&self, row: usize) -> Option<&RepoRow> {
        self.rows.get(row)
    }

    /// Every listed repository, in arrival order.
    pub fn names(&self) -> impl Iterator<Item = &RepoName> {
        self.rows.iter().map(|r| &r.name)
    }

    /// Sets every row's numbers from `sizes_of`; returns whether any changed.
    pub fn set_sizes(&mut self, sizes_of: impl Fn(&RepoName) -> Option<RepoSizes>) -> bool {
        let mut changed = false;
        for row in &mut self.rows {
            let sizes = sizes_of(&row.name);
            if sizes != row.sizes {
                row.sizes = sizes;
                changed = true;
            }
        }
        changed
    }

    /// Sets a repository's tag count; returns whether the repository is listed.
    pub fn set_tags(&mut self, name: &RepoName, tags: Field<usize>) -> bool {
        let Some(&i) = self.index.get(name) else {
            return false;
        };
        let row = &mut self.rows[i];
        if row.tags == Field::Loading && tags != Field::Loading {
            self.counted += 1;
        }
        row.tags = tags;
        true
    }

    /// Adds the names not seen yet; returns how many were new.
    pub fn add(
        &mut self,
        names: &[RepoName],
        sizes_of: impl Fn(&RepoName) -> Option<RepoSizes>,
    ) -> usize {
        let before = self.rows.len();
        for name in names {
            if self.index.contains_key(name) {
                continue;
            }
            self.index.insert(name.clone(), self.rows.len());
            self.rows.push(RepoRow {
                name: name.clone(),
                tags: Field::Loading,
                sizes: sizes_of(name),
            });
        }
        self.rows.len() - before
    }

    pub fn clear(&mut self) {
        self.rows.clear();
        self.index.clear();
        self.counted = 0;
    }

    pub fn counted(&self) -> usize {
        self.counted
    }
}

impl Rows for RepoRows {
    fn len(&self) -> usize {
        self.rows.len()
    }
    fn text(&self, row: usize) -> &str {
        self.rows[row].name.as_str()
    }
    fn has(&self, row: usize, key: SortKey) -> bool {
        let r = &self.rows[row];
        match key {
            SortKey::Tags => r.tags.known().is_some(),
            SortKey::Size => r.sizes.is_some_and(|s| s.stored.known().is_some()),
            SortKey::Unique => r.sizes.is_some_and(|s| s.unique.known().is_some()),
            _ => true,
        }
    }
    fn compare(&self, a: usize, b: usize, key: SortKey) -> Ordering {
        let (x, y) = (&self.rows[a], &self.rows[b]);
        match key {
            SortKey::Tags => larger_first(x.tags.known(), y.tags.known()),
            SortKey::Size => larger_first(stored(x), stored(y)),
            SortKey::Unique => larger_first(unique(x), unique(y)),
            _ => by_name(x.name.as_str(), y.name.as_str()),
        }
    }
}

fn stored(row: &RepoRow) -> Option<u64> {
    row.sizes.and_then(|s| s.stored.known().copied())
}

fn unique(row: &RepoRow) -> Option<u64> {
    row.sizes.and_then(|s| s.unique.known().copied())
}

#[derive(Debug)]
pub struct ReposView {
    pub entry: usize,
    pub rows: RepoRows,
    pub listing: Listing,
    pub loads: Vec<ReqId>,
    /// The catalog has been read to the end.
    pub listed: bool,
    pub failed: Option<String>,
    /// The storage generation the sizes were taken from.
    pub sizes_generation: Option<u64>,
}

impl ReposView {
    pub const SORT_KEYS: &'static [SortKey] =
        &[SortKey::Name, SortKey::Tags, SortKey::Size, SortKey::Unique];

    pub fn new(entry: usize) -> Self {
        Self {
            entry,
            rows: RepoRows::default(),
            listing: Listing::new(Self::SORT_KEYS),
            loads: Vec::new(),
            listed: false,
            failed: None,
            sizes_generation: None,
        }
    }

    pub fn selected(&self) -> Option<&RepoRow> {
        self.rows.get(self.listing.selected_row()?)
    }

    pub fn is_loading(&self) -> bool {
        self.failed.is_none() && (!self.listed || self.rows.counted() < self.rows.len())
    }

    pub fn progress(&self) -> String {
        let n = self.rows.len();
        let mut text = format!("repositories {n}");
        if !self.listed && self.failed.is_none() {
            text.push('…');
        }
        let counted = self.rows.counted();
        if counted < n {
            text.push_str(&format!(" · tags counted {counted}/{n}"));
        }
        text
    }

    pub fn render(&self, f: &mut Frame, area: Rect, ctx: &Ctx<'_>) {
        let empty = match (&self.failed, self.listed) {
            (Some(_), _) => "could not list the repositories (see below)",
            (None, false) => "loading…",
            (None, true) if self.listing.query().is_empty() => "no repositories",
            (None, true) => "no repositories match",
        };
        // A token registry's grants, once asked for, get a column of their own.
        let grants = ctx
            .entries
            .get(self.entry)
            .map(|e| &e.grants)
            .filter(|g| !g.is_empty());
        let columns = if grants.is_some() {
            REPO_GRANT_COLUMNS
        } else {
            REPO_COLUMNS
        };
        render_table(
            f,
            area,
            columns,
            &self.listing.table,
            &ctx.theme,
            empty,
            |p| match self.listing.row_at(p).and_then(|r| self.rows.get(r)) {
                Some(row) => {
                    let mut cells = repo_row(&RepoLine {
                        name: row.name.as_str(),
                        tags: row.tags,
                        sizes: row.sizes,
                    });
                    if let Some(grants) = grants {
                        cells.push(grants.get(&row.name).map_or("", |g| g.short()).to_string());
                    }
                    cells.into()
                }
                None => TableRow::default(),
            },
        );
    }
}
