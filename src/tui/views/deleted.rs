//! Recently deleted: the backups the executor saved before each delete or untag in this
//! registry, newest first. A key restores the selected one (in the background; the result is
//! shown in the message line).

use std::cmp::Ordering;

use ratatui::Frame;
use ratatui::layout::Rect;

use super::Ctx;
use crate::cleanup::journal::BackupMeta;
use crate::tui::action::ReqId;
use crate::tui::columns::{BACKUP_COLUMNS, BackupLine, backup_row};
use crate::tui::listing::{Listing, Rows, SortKey, larger_first};
use crate::tui::widgets::table::{TableRow, render_table};

#[derive(Debug, Default)]
pub struct BackupRows {
    rows: Vec<BackupMeta>,
    /// What the filter matches: repository, tags and digest.
    texts: Vec<String>,
}

impl BackupRows {
    pub fn set(&mut self, rows: Vec<BackupMeta>) {
        self.texts = rows
            .iter()
            .map(|b| format!("{} {} {}", b.repository, b.tags.join(" "), b.digest))
            .collect();
        self.rows = rows;
    }

    pub fn get(&self, row: usize) -> Option<&BackupMeta> {
        self.rows.get(row)
    }
}

impl Rows for BackupRows {
    fn len(&self) -> usize {
        self.rows.len()
    }
    fn text(&self, row: usize) -> &str {
        &self.texts[row]
    }
    fn has(&self, _row: usize, _key: SortKey) -> bool {
        true
    }
    fn compare(&self, a: usize, b: usize, _key: SortKey) -> Ordering {
        // Newest first; the journal's times are RFC 3339 and compare as text.
        larger_first(&self.rows[a].time, &self.rows[b].time)
    }
}

#[derive(Debug)]
pub struct DeletedView {
    pub entry: usize,
    /// The registry's name in the journal: only its backups are listed.
    pub registry: String,
    pub rows: BackupRows,
    pub listing: Listing,
    pub loads: Vec<ReqId>,
    pub listed: bool,
    /// Backups of other registries, left out of the list.
    pub others: usize,
    /// Why the list could not be read (no data directory).
    pub failed: Option<String>,
}

impl DeletedView {
    pub const SORT_KEYS: &'static [SortKey] = &[SortKey::Age];

    pub fn new(entry: usize, registry: String) -> Self {
        Self {
            entry,
            registry,
            rows: BackupRows::default(),
            listing: Listing::new(Self::SORT_KEYS),
            loads: Vec::new(),
            listed: false,
            others: 0,
            failed: None,
        }
    }

    /// Takes the journal's backups, keeping this registry's.
    pub fn set_backups(&mut self, backups: Vec<BackupMeta>) {
        let total = backups.len();
        let mine: Vec<BackupMeta> = backups
            .into_iter()
            .filter(|b| b.registry == self.registry)
            .collect();
        self.others = total - mine.len();
        self.rows.set(mine);
        self.listed = true;
        self.listing.mark_dirty();
    }

    pub fn selected(&self) -> Option<&BackupMeta> {
        self.rows.get(self.listing.selected_row()?)
    }

    pub fn is_loading(&self) -> bool {
        self.failed.is_none() && !self.listed
    }

    pub fn progress(&self) -> String {
        let mut text = format!("backups {}", self.rows.len());
        if self.others > 0 {
            text.push_str(&format!(" · {} of other registries", self.others));
        }
        text
    }

    pub fn detail(&self) -> Option<String> {
        let b = self.selected()?;
        Some(format!("{} · backup {}", b.digest, b.id))
    }

    pub fn render(&self, f: &mut Frame, area: Rect, ctx: &Ctx<'_>) {
        let empty = match (&self.failed, self.listed) {
            (Some(_), _) => "could not read the journal (see below)",
            (None, false) => "loading…",
            (None, true) if self.listing.query().is_empty() => {
                "nothing deleted from this registry yet"
            }
            (None, true) => "no backups match",
        };
        render_table(
            f,
            area,
            BACKUP_COLUMNS,
            &self.listing.table,
            &ctx.theme,
            empty,
            |p| match self.listing.row_at(p).and_then(|r| self.rows.get(r)) {
                Some(b) => backup_row(
                    &BackupLine {
                        time: &b.time,
                        action: &b.action,
                        repository: &b.repository,
                        digest: &b.digest,
                        tags: &b.tags,
                        children: b.children.len(),
                    },
                    ctx.now,
                )
                .into(),
                None => TableRow::default(),
            },
        );
    }
}
