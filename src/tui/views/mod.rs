//! The screens, one per file. The app keeps them on a stack: going in pushes, going back pops
//! (and aborts what the popped view was loading).

pub mod audit;
pub mod cleanup;
pub mod config;
pub mod deleted;
pub mod diff;
pub mod drift;
pub mod files;
pub mod hints;
pub mod layers;
pub mod manifest;
pub mod pending;
pub mod referrers;
pub mod registries;
pub mod repos;
pub mod screen;
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
pub use screen::Screen;

/// Rows of data a view of `kind` shows in `body` (lists lose one to the header).
pub fn page_size(kind: ViewKind, body: Rect) -> usize {
    match kind {
        ViewKind::Config | ViewKind::Diff | ViewKind::Hints | ViewKind::Drift => {
            usize::from(body.height)
        }
        // Two lines of totals, then the chart inside its border.
        ViewKind::Storage => usize::from(body.height.saturating_sub(4)),
        // The plan inside its border.
        ViewKind::Cleanup => usize::from(body.height.saturating_sub(2)),
        ViewKind::Audit => audit::areas(body).page(),
        ViewKind::Files => files::page(body),
        _ => body_height(body.height),
    }
}

/// The table a click in `body` lands in, header row first: the body itself for lists; the
/// audit's findings sit below its charts.
pub fn table_area(kind: ViewKind, body: Rect) -> Rect {
    match kind {
        ViewKind::Audit => audit::areas(body).table(),
        ViewKind::Files => files::areas(body).1,
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
    Referrers(referrers::ReferrersView),
    Files(files::FilesView),
    Diff(diff::DiffView),
    Hints(hints::HintsView),
    Drift(drift::DriftView),
}

impl View {
    /// The view as its [`Screen`]: every common question goes through here.
    pub fn screen(&self) -> &dyn Screen {
        match self {
            View::Registries(v) => v,
            View::Repos(v) => v,
            View::Tags(v) => v,
            View::Pending(v) => v,
            View::Manifest(v) => v,
            View::Layers(v) => v,
            View::Config(v) => v,
            View::Storage(v) => v,
            View::Deleted(v) => v,
            View::Cleanup(v) => v,
            View::Audit(v) => v,
            View::Referrers(v) => v,
            View::Files(v) => v,
            View::Diff(v) => v,
            View::Hints(v) => v,
            View::Drift(v) => v,
        }
    }

    pub fn screen_mut(&mut self) -> &mut dyn Screen {
        match self {
            View::Registries(v) => v,
            View::Repos(v) => v,
            View::Tags(v) => v,
            View::Pending(v) => v,
            View::Manifest(v) => v,
            View::Layers(v) => v,
            View::Config(v) => v,
            View::Storage(v) => v,
            View::Deleted(v) => v,
            View::Cleanup(v) => v,
            View::Audit(v) => v,
            View::Referrers(v) => v,
            View::Files(v) => v,
            View::Diff(v) => v,
            View::Hints(v) => v,
            View::Drift(v) => v,
        }
    }

    pub fn kind(&self) -> ViewKind {
        self.screen().kind()
    }

    /// The registry entry this view is inside (none for the registry list).
    pub fn entry(&self) -> Option<usize> {
        self.screen().entry()
    }

    /// What this view adds to the breadcrumbs (unsanitized; the bar sanitizes).
    pub fn crumbs(&self, entries: &[EntryState]) -> Vec<String> {
        self.screen().crumbs(entries)
    }

    /// Requests this view has in flight (aborted when it is left).
    pub fn loads(&self) -> &[ReqId] {
        self.screen().loads()
    }

    pub fn loads_mut(&mut self) -> Option<&mut Vec<ReqId>> {
        self.screen_mut().loads_mut()
    }

    /// Whether something this view shows is still on its way (the spinner turns).
    pub fn is_loading(&self) -> bool {
        self.screen().is_loading()
    }

    /// The list of a list view with its rows, borrowed apart so the listing can be changed
    /// while reading the rows. The registries' rows live in the app and are passed in.
    pub fn list_parts<'a>(
        &'a mut self,
        entries: &'a [EntryState],
    ) -> Option<(&'a mut Listing, Box<dyn Rows + 'a>)> {
        self.screen_mut().list_parts(entries)
    }

    pub fn listing(&self) -> Option<&Listing> {
        self.screen().listing()
    }

    /// What keys mean on this view: typing into the filter or a field, or browsing.
    pub fn mode(&self) -> Mode {
        self.screen().mode()
    }

    /// Maps a key to an action through the keymap, in this view's mode.
    pub fn handle_key(&self, key: &KeyEvent) -> Option<Action> {
        keymap::action_for(self.mode(), self.kind(), key)
    }

    pub fn render(&self, f: &mut Frame, area: Rect, ctx: &Ctx<'_>) {
        self.screen().render(f, area, ctx)
    }

    /// Progress or totals for the top bar (`tags 340/1200`).
    pub fn progress(&self) -> Option<String> {
        self.screen().progress()
    }

    /// A line about the selected row for the message line (full texts cut off in columns).
    pub fn detail(&self, entries: &[EntryState]) -> Option<String> {
        self.screen().detail(entries)
    }
}
