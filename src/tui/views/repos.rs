//! The repositories of one registry. The list streams in page by page; each repository's tag
//! count fills in behind it, and its size once its tags have been looked at.

use std::cmp::Ordering;
use std::collections::HashMap;

use ratatui::Frame;
use ratatui::layout::Rect;

use super::Ctx;
use crate::registry::RepoName;
use crate::tui::action::ReqId;
use crate::tui::columns::{Field, REPO_COLUMNS, RepoLine, repo_row};
use crate::tui::listing::{Listing, Rows, SortKey, by_name, larger_first};
use crate::tui::widgets::table::{TableRow, render_table};

#[derive(Debug, Clone)]
pub struct RepoRow {
    pub name: RepoName,
    pub tags: Field<usize>,
    pub size: Option<u64>,
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

    pub fn set_size(&mut self, name: &RepoName, size: u64) {
        if let Some(&i) = self.index.get(name) {
            self.rows[i].size = Some(size);
        }
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
    pub fn add(&mut self, names: &[RepoName], size_of: impl Fn(&RepoName) -> Option<u64>) -> usize {
        let before = self.rows.len();
        for name in names {
            if self.index.contains_key(name) {
                continue;
            }
            self.index.insert(name.clone(), self.rows.len());
            self.rows.push(RepoRow {
                name: name.clone(),
                tags: Field::Loading,
                size: size_of(name),
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
            SortKey::Size => r.size.is_some(),
            _ => true,
        }
    }
    fn compare(&self, a: usize, b: usize, key: SortKey) -> Ordering {
        let (x, y) = (&self.rows[a], &self.rows[b]);
        match key {
            SortKey::Tags => larger_first(x.tags.known(), y.tags.known()),
            SortKey::Size => larger_first(x.size, y.size),
            _ => by_name(x.name.as_str(), y.name.as_str()),
        }
    }
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
}

impl ReposView {
    pub const SORT_KEYS: &'static [SortKey] = &[SortKey::Name, SortKey::Tags, SortKey::Size];

    pub fn new(entry: usize) -> Self {
        Self {
            entry,
            rows: RepoRows::default(),
            listing: Listing::new(Self::SORT_KEYS),
            loads: Vec::new(),
            listed: false,
            failed: None,
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
        render_table(
            f,
            area,
            REPO_COLUMNS,
            &self.listing.table,
            &ctx.theme,
            empty,
            |p| match self.listing.row_at(p).and_then(|r| self.rows.get(r)) {
                Some(row) => repo_row(&RepoLine {
                    name: row.name.as_str(),
                    tags: row.tags,
                    size: row.size,
                })
                .into(),
                None => TableRow::default(),
            },
        );
    }
}
