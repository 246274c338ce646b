//! The screens, one per file. The app keeps them on a stack: going in pushes, going back pops
//! (and aborts what the popped view was loading).

pub mod audit;
pub mod cleanup;
pub mod config;
pub mod deleted;
pub mod layers;
pub mod manifest;
pub mod pending;
pub mod registries;
pub mod repos;
pub mod storage;
pub mod tags;

use crossterm::event::KeyEvent;
use jiff::Timestamp;
use ratatui::Frame;
use ratatui::layout::Rect;

use super::action::{Action, ReqId};
use super::keymap::{self, Mode, ViewKind};
use super::listing::{Listing, Rows};
use super::storage::Storage;
use super::theme::Theme;
use super::widgets::table::body_height;
pub use registries::{EntryState, Reach};

/// Rows of data a view of `kind` shows in `body` (lists lose one to the header).
pub fn page_size(kind: ViewKind, body: Rect) -> usize {
    match kind {
        ViewKind::Config => usize::from(body.height),
        // Two lines of totals, then the chart inside its border.
        ViewKind::Storage => usize::from(body.height.saturating_sub(4)),
        // The plan inside its border.
        ViewKind::Cleanup => usize::from(body.height.saturating_sub(2)),
        ViewKind::Audit => audit::areas(body).page(),
        _ => body_height(body.height),
    }
}

/// The table a click in `body` lands in, header row first: the body itself for lists; the
/// audit's findings sit below its charts.
pub fn table_area(kind: ViewKind, body: Rect) -> Rect {
    match kind {
        ViewKind::Audit => audit::areas(body).table(),
        _ => body,
    }
}

/// What every view may read while drawing, besides itself.
pub struct Ctx<'a> {
    pub theme: Theme,
    pub now: Timestamp,
    pub entries: &'a [EntryState],
    /// The storage side of each entry (same indexes as `entries`).
    pub storages: &'a [Storage],
    pub spinner: char,
}

impl Ctx<'_> {
    pub fn storage(&self, entry: usize) -> Option<&Storage> {
        self.storages.get(entry)
    }
}

#[derive(Debug)]
pub enum View {
    Registries(registries::RegistriesView),
    Repos(repos::ReposView),
    Tags(tags::TagsView),
    Pending(pending::PendingView),
    Manifest(manifest::ManifestView),
    Layers(layers::LayersView),
    Config(config::ConfigView),
    Storage(storage::StorageView),
    Deleted(deleted::DeletedView),
    Cleanup(cleanup::CleanupView),
    Audit(audit::AuditView),
}

impl View {
    pub fn kind(&self) -> ViewKind {
        match self {
            View::Registries(_) => ViewKind::Registries,
            View::Repos(_) => ViewKind::Repos,
            View::Tags(_) => ViewKind::Tags,
            View::Pending(_) => ViewKind::Pending,
            View::Manifest(_) => ViewKind::Manifest,
            View::Layers(_) => ViewKind::Layers,
            View::Config(_) => ViewKind::Config,
            View::Storage(_) => ViewKind::Storage,
            View::Deleted(_) => ViewKind::Deleted,
            View::Cleanup(_) => ViewKind::Cleanup,
            View::Audit(_) => ViewKind::Audit,
        }
    }

    /// The registry entry this view is inside (none for the registry list).
    pub fn entry(&self) -> Option<usize> {
        Some(match self {
            View::Registries(_) => return None,
            View::Repos(v) => v.entry,
            View::Tags(v) => v.entry,
            View::Pending(v) => v.entry,
            View::Manifest(v) => v.entry,
            View::Layers(v) => v.entry,
            View::Config(v) => v.entry,
            View::Storage(v) => v.entry,
            View::Deleted(v) => v.entry,
            View::Cleanup(v) => v.entry,
            View::Audit(v) => v.entry,
        })
    }

    /// What this view adds to the breadcrumbs (unsanitized; the bar sanitizes).
    pub fn crumbs(&self, entries: &[EntryState]) -> Vec<String> {
        let entry_name = |i: usize| entries.get(i).map(|e| e.name.clone()).unwrap_or_default();
        match self {
            View::Registries(_) => vec!["registries".to_string()],
            View::Repos(v) => vec![entry_name(v.entry)],
            View::Tags(v) => vec![v.repo.to_string()],
            View::Pending(v) => vec![v.label.clone()],
            View::Manifest(v) => vec![v.label.clone()],
            View::Layers(v) => v.crumbs.clone(),
            View::Config(_) => vec!["config".to_string()],
            View::Storage(_) => vec!["storage".to_string()],
            View::Deleted(_) => vec!["recently deleted".to_string()],
            View::Cleanup(_) => vec!["cleanup preview".to_string()],
            View::Audit(_) => vec!["audit".to_string()],
        }
    }

    /// Requests this view has in flight (aborted when it is left).
    pub fn loads(&self) -> &[ReqId] {
        match self {
            View::Registries(v) => &v.loads,
            View::Repos(v) => &v.loads,
            View::Tags(v) => &v.loads,
            View::Pending(v) => &v.loads,
            View::Deleted(v) => &v.loads,
            View::Audit(v) => &v.loads,
            View::Manifest(_)
            | View::Layers(_)
            | View::Config(_)
            | View::Storage(_)
            | View::Cleanup(_) => &[],
        }
    }

    pub fn loads_mut(&mut self) -> Option<&mut Vec<ReqId>> {
        match self {
            View::Registries(v) => Some(&mut v.loads),
            View::Repos(v) => Some(&mut v.loads),
            View::Tags(v) => Some(&mut v.loads),
            View::Pending(v) => Some(&mut v.loads),
            View::Deleted(v) => Some(&mut v.loads),
            View::Audit(v) => Some(&mut v.loads),
            View::Manifest(_)
            | View::Layers(_)
            | View::Config(_)
            | View::Storage(_)
            | View::Cleanup(_) => None,
        }
    }

    /// Whether something this view shows is still on its way (the spinner turns).
    pub fn is_loading(&self) -> bool {
        match self {
            View::Registries(_) => false,
            View::Repos(v) => v.is_loading(),
            View::Tags(v) => v.is_loading(),
            View::Pending(v) => v.failed.is_none(),
            View::Deleted(v) => v.is_loading(),
            View::Audit(v) => v.is_loading(),
            View::Manifest(_)
            | View::Layers(_)
            | View::Config(_)
            | View::Storage(_)
            | View::Cleanup(_) => false,
        }
    }

    /// The list of a list view with its rows, borrowed apart so the listing can be changed
    /// while reading the rows. The registries' rows live in the app and are passed in.
    pub fn list_parts<'a>(
        &'a mut self,
        entries: &'a [EntryState],
    ) -> Option<(&'a mut Listing, Box<dyn Rows + 'a>)> {
        match self {
            View::Registries(v) => Some((&mut v.listing, Box::new(registries::EntryRows(entries)))),
            View::Repos(v) => Some((&mut v.listing, Box::new(&v.rows))),
            View::Tags(v) => Some((&mut v.listing, Box::new(&v.rows))),
            View::Manifest(v) => Some((&mut v.listing, Box::new(&v.rows))),
            View::Layers(v) => Some((&mut v.listing, Box::new(&v.rows))),
            View::Deleted(v) => Some((&mut v.listing, Box::new(&v.rows))),
            View::Pending(_)
            | View::Config(_)
            | View::Storage(_)
            | View::Cleanup(_)
            | View::Audit(_) => None,
        }
    }

    pub fn listing(&self) -> Option<&Listing> {
        match self {
            View::Registries(v) => Some(&v.listing),
            View::Repos(v) => Some(&v.listing),
            View::Tags(v) => Some(&v.listing),
            View::Manifest(v) => Some(&v.listing),
            View::Layers(v) => Some(&v.listing),
            View::Deleted(v) => Some(&v.listing),
            View::Pending(_)
            | View::Config(_)
            | View::Storage(_)
            | View::Cleanup(_)
            | View::Audit(_) => None,
        }
    }

    /// What keys mean on this view: typing into the filter or a field, or browsing.
    pub fn mode(&self) -> Mode {
        match self {
            View::Cleanup(v) if v.is_editing() => Mode::Edit,
            _ => match self.listing() {
                Some(l) if l.is_editing() => Mode::Filter,
                _ => Mode::Normal,
            },
        }
    }

    /// Maps a key to an action through the keymap, in this view's mode.
    pub fn handle_key(&self, key: &KeyEvent) -> Option<Action> {
        keymap::action_for(self.mode(), self.kind(), key)
    }

    pub fn render(&self, f: &mut Frame, area: Rect, ctx: &Ctx<'_>) {
        match self {
            View::Registries(v) => v.render(f, area, ctx),
            View::Repos(v) => v.render(f, area, ctx),
            View::Tags(v) => v.render(f, area, ctx),
            View::Pending(v) => v.render(f, area, ctx),
            View::Manifest(v) => v.render(f, area, ctx),
            View::Layers(v) => v.render(f, area, ctx),
            View::Config(v) => v.render(f, area, ctx),
            View::Storage(v) => v.render(f, area, ctx),
            View::Deleted(v) => v.render(f, area, ctx),
            View::Cleanup(v) => v.render(f, area, ctx),
            View::Audit(v) => v.render(f, area, ctx),
        }
    }

    /// Progress or totals for the top bar (`tags 340/1200`).
    pub fn progress(&self) -> Option<String> {
        match self {
            View::Repos(v) => Some(v.progress()),
            View::Tags(v) => Some(v.progress()),
            View::Layers(v) => v.progress(),
            View::Storage(v) => v.progress(),
            View::Deleted(v) => Some(v.progress()),
            View::Cleanup(v) => v.progress(),
            View::Audit(v) => v.progress(),
            _ => None,
        }
    }

    /// A line about the selected row for the message line (full texts cut off in columns).
    pub fn detail(&self, entries: &[EntryState]) -> Option<String> {
        match self {
            View::Registries(v) => v.detail(entries),
            View::Tags(v) => v.detail(),
            View::Layers(v) => v.detail(),
            View::Deleted(v) => v.detail(),
            View::Audit(v) => v.detail(),
            _ => None,
        }
    }
}
