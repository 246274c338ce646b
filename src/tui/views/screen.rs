//! The one table of what each view is: a [`Screen`] implementation per view, which
//! [`View`](super::View) dispatches every common question through (kind, crumbs, loads,
//! loading, listing, progress, detail, drawing). A new view is one more entry here and one
//! more variant of `View`, not an arm in every `match` of `views/mod.rs`.

use ratatui::Frame;
use ratatui::layout::Rect;

use super::Ctx;
use super::audit::AuditView;
use super::cleanup::CleanupView;
use super::config::ConfigView;
use super::deleted::DeletedView;
use super::diff::DiffView;
use super::drift::DriftView;
use super::files::FilesView;
use super::hints::HintsView;
use super::layers::LayersView;
use super::manifest::ManifestView;
use super::pending::PendingView;
use super::registries::{EntryRows, EntryState, RegistriesView};
use super::repos::ReposView;
use super::storage::StorageView;
use super::tags::TagsView;
use crate::tui::action::ReqId;
use crate::tui::keymap::{Mode, ViewKind};
use crate::tui::listing::{Listing, Rows};

/// What every view answers. Defaults fit a view that loads nothing and lists nothing.
pub trait Screen {
    fn kind(&self) -> ViewKind;

    /// The registry entry this view is inside (none for the registry list).
    fn entry(&self) -> Option<usize>;

    /// What this view adds to the breadcrumbs (unsanitized; the bar sanitizes).
    fn crumbs(&self, entries: &[EntryState]) -> Vec<String>;

    /// Requests this view has in flight (aborted when it is left).
    fn loads(&self) -> &[ReqId] {
        &[]
    }

    fn loads_mut(&mut self) -> Option<&mut Vec<ReqId>> {
        None
    }

    /// Whether something this view shows is still on its way (the spinner turns).
    fn is_loading(&self) -> bool {
        false
    }

    fn listing(&self) -> Option<&Listing> {
        None
    }

    /// The list with its rows, borrowed apart so the listing can be changed while reading
    /// the rows. The registries' rows live in the app and are passed in.
    fn list_parts<'a>(
        &'a mut self,
        _entries: &'a [EntryState],
    ) -> Option<(&'a mut Listing, Box<dyn Rows + 'a>)> {
        None
    }

    /// What keys mean on this view: typing into the filter or a field, or browsing.
    fn mode(&self) -> Mode {
        match self.listing() {
            Some(l) if l.is_editing() => Mode::Filter,
            _ => Mode::Normal,
        }
    }

    /// Progress or totals for the top bar (`tags 340/1200`).
    fn progress(&self) -> Option<String> {
        None
    }

    /// A line about the selected row for the message line (full texts cut off in columns).
    fn detail(&self, _entries: &[EntryState]) -> Option<String> {
        None
    }

    fn render(&self, f: &mut Frame, area: Rect, ctx: &Ctx<'_>);
}

/// The loads of a view that has them.
macro_rules! loads {
    () => {
        fn loads(&self) -> &[ReqId] {
            &self.loads
        }
        fn loads_mut(&mut self) -> Option<&mut Vec<ReqId>> {
            Some(&mut self.loads)
        }
    };
    (reading) => {
        fn loads(&self) -> &[ReqId] {
            &self.reading.loads
        }
        fn loads_mut(&mut self) -> Option<&mut Vec<ReqId>> {
            Some(&mut self.reading.loads)
        }
    };
}

/// The listing of a list view whose rows are its own `rows`.
macro_rules! listed {
    () => {
        fn listing(&self) -> Option<&Listing> {
            Some(&self.listing)
        }
        fn list_parts<'a>(
            &'a mut self,
            _entries: &'a [EntryState],
        ) -> Option<(&'a mut Listing, Box<dyn Rows + 'a>)> {
            Some((&mut self.listing, Box::new(&self.rows)))
        }
    };
}

macro_rules! draws {
    ($view:ty) => {
        fn render(&self, f: &mut Frame, area: Rect, ctx: &Ctx<'_>) {
            <$view>::render(self, f, area, ctx)
        }
    };
}

impl Screen for RegistriesView {
    fn kind(&self) -> ViewKind {
        ViewKind::Registries
    }
    fn entry(&self) -> Option<usize> {
        None
    }
    fn crumbs(&self, _: &[EntryState]) -> Vec<String> {
        vec!["registries".to_string()]
    }
    loads!();
    fn listing(&self) -> Option<&Listing> {
        Some(&self.listing)
    }
    fn list_parts<'a>(
        &'a mut self,
        entries: &'a [EntryState],
    ) -> Option<(&'a mut Listing, Box<dyn Rows + 'a>)> {
        Some((&mut self.listing, Box::new(EntryRows(entries))))
    }
    fn detail(&self, entries: &[EntryState]) -> Option<String> {
        RegistriesView::detail(self, entries)
    }
    draws!(RegistriesView);
}

impl Screen for ReposView {
    fn kind(&self) -> ViewKind {
        ViewKind::Repos
    }
    fn entry(&self) -> Option<usize> {
        Some(self.entry)
    }
    fn crumbs(&self, entries: &[EntryState]) -> Vec<String> {
        vec![
            entries
                .get(self.entry)
                .map(|e| e.name.clone())
                .unwrap_or_default(),
        ]
    }
    loads!();
    listed!();
    fn is_loading(&self) -> bool {
        ReposView::is_loading(self)
    }
    fn progress(&self) -> Option<String> {
        Some(ReposView::progress(self))
    }
    draws!(ReposView);
}

impl Screen for TagsView {
    fn kind(&self) -> ViewKind {
        ViewKind::Tags
    }
    fn entry(&self) -> Option<usize> {
        Some(self.entry)
    }
    fn crumbs(&self, _: &[EntryState]) -> Vec<String> {
        vec![self.repo.to_string()]
    }
    loads!();
    listed!();
    fn is_loading(&self) -> bool {
        TagsView::is_loading(self)
    }
    fn progress(&self) -> Option<String> {
        Some(TagsView::progress(self))
    }
    fn detail(&self, _: &[EntryState]) -> Option<String> {
        TagsView::detail(self)
    }
    draws!(TagsView);
}

impl Screen for PendingView {
    fn kind(&self) -> ViewKind {
        ViewKind::Pending
    }
    fn entry(&self) -> Option<usize> {
        Some(self.entry)
    }
    fn crumbs(&self, _: &[EntryState]) -> Vec<String> {
        vec![self.label.clone()]
    }
    loads!();
    fn is_loading(&self) -> bool {
        self.failed.is_none()
    }
    draws!(PendingView);
}

impl Screen for ManifestView {
    fn kind(&self) -> ViewKind {
        ViewKind::Manifest
    }
    fn entry(&self) -> Option<usize> {
        Some(self.entry)
    }
    fn crumbs(&self, _: &[EntryState]) -> Vec<String> {
        vec![self.label.clone()]
    }
    listed!();
    draws!(ManifestView);
}

impl Screen for LayersView {
    fn kind(&self) -> ViewKind {
        ViewKind::Layers
    }
    fn entry(&self) -> Option<usize> {
        Some(self.entry)
    }
    fn crumbs(&self, _: &[EntryState]) -> Vec<String> {
        self.crumbs.clone()
    }
    listed!();
    fn progress(&self) -> Option<String> {
        LayersView::progress(self)
    }
    fn detail(&self, _: &[EntryState]) -> Option<String> {
        LayersView::detail(self)
    }
    draws!(LayersView);
}

impl Screen for ConfigView {
    fn kind(&self) -> ViewKind {
        ViewKind::Config
    }
    fn entry(&self) -> Option<usize> {
        Some(self.entry)
    }
    fn crumbs(&self, _: &[EntryState]) -> Vec<String> {
        vec!["config".to_string()]
    }
    draws!(ConfigView);
}

impl Screen for StorageView {
    fn kind(&self) -> ViewKind {
        ViewKind::Storage
    }
    fn entry(&self) -> Option<usize> {
        Some(self.entry)
    }
    fn crumbs(&self, _: &[EntryState]) -> Vec<String> {
        vec!["storage".to_string()]
    }
    fn progress(&self) -> Option<String> {
        StorageView::progress(self)
    }
    draws!(StorageView);
}

impl Screen for DeletedView {
    fn kind(&self) -> ViewKind {
        ViewKind::Deleted
    }
    fn entry(&self) -> Option<usize> {
        Some(self.entry)
    }
    fn crumbs(&self, _: &[EntryState]) -> Vec<String> {
        vec!["recently deleted".to_string()]
    }
    loads!();
    listed!();
    fn is_loading(&self) -> bool {
        DeletedView::is_loading(self)
    }
    fn progress(&self) -> Option<String> {
        Some(DeletedView::progress(self))
    }
    fn detail(&self, _: &[EntryState]) -> Option<String> {
        DeletedView::detail(self)
    }
    draws!(DeletedView);
}

impl Screen for CleanupView {
    fn kind(&self) -> ViewKind {
        ViewKind::Cleanup
    }
    fn entry(&self) -> Option<usize> {
        Some(self.entry)
    }
    fn crumbs(&self, _: &[EntryState]) -> Vec<String> {
        vec!["cleanup preview".to_string()]
    }
    fn mode(&self) -> Mode {
        if self.is_editing() {
            Mode::Edit
        } else {
            Mode::Normal
        }
    }
    fn progress(&self) -> Option<String> {
        CleanupView::progress(self)
    }
    draws!(CleanupView);
}

impl Screen for AuditView {
    fn kind(&self) -> ViewKind {
        ViewKind::Audit
    }
    fn entry(&self) -> Option<usize> {
        Some(self.entry)
    }
    fn crumbs(&self, _: &[EntryState]) -> Vec<String> {
        vec!["audit".to_string()]
    }
    loads!();
    fn is_loading(&self) -> bool {
        AuditView::is_loading(self)
    }
    fn progress(&self) -> Option<String> {
        AuditView::progress(self)
    }
    fn detail(&self, _: &[EntryState]) -> Option<String> {
        AuditView::detail(self)
    }
    draws!(AuditView);
}

impl Screen for FilesView {
    fn kind(&self) -> ViewKind {
        ViewKind::Files
    }
    fn entry(&self) -> Option<usize> {
        Some(self.entry)
    }
    fn crumbs(&self, _: &[EntryState]) -> Vec<String> {
        self.crumbs.clone()
    }
    loads!(reading);
    fn is_loading(&self) -> bool {
        FilesView::is_loading(self)
    }
    fn mode(&self) -> Mode {
        if self.editing {
            Mode::Filter
        } else {
            Mode::Normal
        }
    }
    fn progress(&self) -> Option<String> {
        FilesView::progress(self)
    }
    fn detail(&self, _: &[EntryState]) -> Option<String> {
        FilesView::detail(self)
    }
    draws!(FilesView);
}

impl Screen for DiffView {
    fn kind(&self) -> ViewKind {
        ViewKind::Diff
    }
    fn entry(&self) -> Option<usize> {
        Some(self.entry)
    }
    fn crumbs(&self, _: &[EntryState]) -> Vec<String> {
        vec![format!("diff {}", self.crumb)]
    }
    loads!(reading);
    fn is_loading(&self) -> bool {
        DiffView::is_loading(self)
    }
    fn progress(&self) -> Option<String> {
        DiffView::progress(self)
    }
    draws!(DiffView);
}

impl Screen for HintsView {
    fn kind(&self) -> ViewKind {
        ViewKind::Hints
    }
    fn entry(&self) -> Option<usize> {
        Some(self.entry)
    }
    fn crumbs(&self, _: &[EntryState]) -> Vec<String> {
        vec![self.crumb.clone()]
    }
    loads!(reading);
    fn is_loading(&self) -> bool {
        HintsView::is_loading(self)
    }
    fn progress(&self) -> Option<String> {
        HintsView::progress(self)
    }
    draws!(HintsView);
}

impl Screen for DriftView {
    fn kind(&self) -> ViewKind {
        ViewKind::Drift
    }
    fn entry(&self) -> Option<usize> {
        Some(self.entry)
    }
    fn crumbs(&self, _: &[EntryState]) -> Vec<String> {
        vec!["drift".to_string()]
    }
    loads!(reading);
    fn is_loading(&self) -> bool {
        self.reading.is_loading()
    }
    fn progress(&self) -> Option<String> {
        DriftView::progress(self)
    }
    draws!(DriftView);
}
