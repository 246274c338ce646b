//! The storage side of the app: the background scan of each opened registry, its results
//! applied to the registry's model, the lists and numbers derived from it pushed into the
//! views that show them, and the marks with their live "would free". The scan is the one
//! pipeline of a registry's data: the repository list, tag lists, digests, sizes and ages all
//! come from its model; a view only asks it to take a repository first.

use super::App;
use crate::analysis::model::ScanEvent;
use crate::analysis::sharing::tag_sharing;
use crate::present::failures::{failure_line, incomplete};
use crate::registry::RepoName;
use crate::tui::action::{Action, Effect, ReqId};
use crate::tui::columns::{Field, RepoSizes};
use crate::tui::keymap::ViewKind;
use crate::tui::listing::SortKey;
use crate::tui::storage::{ScanState, Storage};
use crate::tui::storage_layout::{ABANDONED_AFTER, LayoutState};
use crate::tui::views::View;
use crate::tui::views::repos::ReposView;
use crate::tui::views::storage::StorageView;
use crate::tui::views::tags::TagsView;

impl App {
    /// Starts a scan of the whole registry, unless one runs or finished (`force` starts
    /// over in any case).
    pub(super) fn start_scan(&mut self, entry: usize, force: bool) -> Vec<Effect> {
        let Some(storage) = self.storages.get(entry) else {
            return Vec::new();
        };
        if self.source(entry).is_none()
            || (!force && matches!(storage.scan, ScanState::Running(_) | ScanState::Finished))
        {
            return Vec::new();
        }
        let mut effects = Vec::new();
        if let Some(old) = storage.scan_req() {
            effects.push(Effect::Abort(vec![old]));
        }
        let req = self.req();
        self.storages[entry].start_scan(req);
        effects.push(Effect::Scan {
            req,
            entry,
            repos: None,
        });
        effects
    }

    /// Scans `repos` again (their tags changed: a delete or a restore ran).
    pub(super) fn rescan(&mut self, entry: usize, repos: Vec<RepoName>) -> Vec<Effect> {
        if repos.is_empty() {
            return Vec::new();
        }
        if self.storages.get(entry).is_some_and(Storage::is_scanning) {
            // A full scan may have read these repositories before the change: start over.
            return self.start_scan(entry, true);
        }
        let req = self.req();
        self.storages[entry].start_rescan(req, &repos);
        vec![Effect::Scan {
            req,
            entry,
            repos: Some(repos),
        }]
    }

    /// Stops the scan of a registry that was left; what it found so far stays.
    pub(super) fn stop_scan(&mut self, entry: usize) -> Vec<Effect> {
        let Some(storage) = self.storages.get_mut(entry) else {
            return Vec::new();
        };
        match storage.scan_req() {
            Some(req) => {
                storage.stop();
                vec![Effect::Abort(vec![req])]
            }
            None => Vec::new(),
        }
    }

    /// A scan result: applied to the model of the registry whose scan it answers.
    pub(super) fn on_scan(&mut self, action: Action) -> Vec<Effect> {
        let req = action.req();
        let Some(entry) = self.storages.iter().position(|s| s.scan_req() == req) else {
            tracing::debug!("dropped a stale scan result for {req:?}");
            return Vec::new();
        };
        match action {
            Action::Scanned { event, .. } => {
                let shown = self.shows_scan_of(entry, &event);
                self.storages[entry].apply(event.clone());
                if shown {
                    self.show_scan_event(entry, &event);
                    // A tag list in front whose tags could not be listed says why below.
                    if let View::Tags(v) = self.top()
                        && let Some(why) = v.failed.clone()
                        && self.message.is_none()
                    {
                        self.error(why);
                    }
                }
            }
            Action::ScanFinished { result, .. } => {
                let name = self.entries[entry].name.clone();
                self.storages[entry].finish(result.as_ref().map(|_| ()).map_err(|e| e.to_string()));
                if let Err(e) = &result {
                    self.fail_repos(entry, e.to_string());
                }
                self.settle_lists(entry);
                match result {
                    // Only the repository listing fails a scan as a whole: the scan is the
                    // listing, so this is the one sentence about it.
                    Err(e) => self.error(format!("cannot list the repositories of {name}: {e}")),
                    Ok(()) => {
                        // The CLI's sentence and line (`du` warns with the same), with
                        // the first failure only: the status line has room for one.
                        let failures = self.storages[entry].model.failure_list();
                        if let Some(first) = failures.first() {
                            let text = format!(
                                "{} (first: {})",
                                incomplete(failures.len(), "the numbers leave those parts out"),
                                failure_line(first)
                            );
                            self.error(text);
                        }
                    }
                }
            }
            Action::TaskFailed { error, .. } => {
                self.storages[entry].finish(Err(error.clone()));
                self.fail_repos(entry, error.clone());
                self.settle_lists(entry);
                self.error(error);
            }
            _ => {}
        }
        Vec::new()
    }

    /// Recomputes storage numbers and marks where they are out of date, then brings the
    /// views that show them up to date. Numbers wait for ticks while a scan runs.
    pub(super) fn settle_storage(&mut self) {
        let ticked = std::mem::take(&mut self.ticked);
        for storage in &mut self.storages {
            storage.settle(ticked);
        }
        self.refresh_views();
    }

    /// Pushes what changed in the storages into the views on the stack. Each view remembers
    /// the generation it last took, so this costs nothing when nothing changed.
    fn refresh_views(&mut self) {
        let now = self.now;
        let storage_page = self.page_of(ViewKind::Storage);
        for view in &mut self.stack {
            let Some(storage) = view.entry().and_then(|e| self.storages.get(e)) else {
                continue;
            };
            let generation = storage.generation();
            let settled = !storage.is_scanning();
            match view {
                View::Repos(v) if v.sizes_generation != Some(generation) => {
                    let changed = v.rows.set_sizes(|name| repo_sizes(storage, name));
                    if changed
                        && matches!(v.listing.sort_key(), Some(SortKey::Size | SortKey::Unique))
                    {
                        v.listing.mark_dirty();
                    }
                    v.sizes_generation = Some(generation);
                }
                // Manifests and configs arrive after the digests: while the repository is
                // being scanned, its images' summaries are taken again as the model grows.
                // A list whose repository the scan is done with is final: later events
                // (other repositories) change nothing in it.
                View::Tags(v)
                    if v.model_revision != Some(storage.revision())
                        && !(storage.is_settled(&v.repo)
                            && (v.is_complete() || v.failed.is_some())) =>
                {
                    if v.listed {
                        update_images(storage, v);
                    } else {
                        fill_tags(storage, v);
                    }
                }
                View::Layers(v)
                    if v.sharing_generation != Some(generation)
                        && (settled || v.sharing.is_none()) =>
                {
                    if let Some(tag) = &v.tag {
                        v.sharing = tag_sharing(&storage.model, &v.repo, tag);
                    }
                    if v.sharing.is_some() {
                        v.sharing_generation = Some(generation);
                    }
                }
                View::Storage(v) => v.refresh(storage, now, storage_page),
                View::Cleanup(v)
                    if v.generation != Some(generation) && (settled || v.generation.is_none()) =>
                {
                    v.replan(&storage.model, now, generation);
                }
                _ => {}
            }
        }
    }

    /// Asks the running scan of `entry` to take `repo` now, unless it has it already.
    pub(super) fn prioritize(&mut self, entry: usize, repo: RepoName) -> Vec<Effect> {
        let Some(storage) = self.storages.get(entry) else {
            return Vec::new();
        };
        match storage.scan_req() {
            Some(scan) if !storage.is_settled(&repo) => vec![Effect::Prioritize { scan, repo }],
            _ => Vec::new(),
        }
    }

    /// A repository list as the model has it so far.
    pub(super) fn fill_repos(&self, v: &mut ReposView) {
        let Some(storage) = self.storages.get(v.entry) else {
            return;
        };
        let names: Vec<RepoName> = storage.model.repos.keys().cloned().collect();
        v.rows.add(&names, |name| repo_sizes(storage, name));
        for (name, repo) in &storage.model.repos {
            if let Some(count) = tag_count(storage, name, repo.tags_listed, repo.tags.len()) {
                v.rows.set_tags(name, count);
            }
        }
        v.listed = storage.repositories_listed();
        if let ScanState::Failed(e) = &storage.scan {
            v.failed = Some(e.clone());
        }
        v.listing.mark_dirty();
    }

    /// A tag list as the model has it so far.
    pub(super) fn fill_tags(&self, v: &mut TagsView) {
        if let Some(storage) = self.storages.get(v.entry) {
            fill_tags(storage, v);
        }
    }

    /// Whether a scan event changes a list on the stack at once (rather than at the next
    /// settle): the repository list, and tag lists of the event's repository.
    fn shows_scan_of(&self, entry: usize, event: &ScanEvent) -> bool {
        let repo = match event {
            ScanEvent::Repositories(_) | ScanEvent::RepositoriesListed => None,
            ScanEvent::Tags { repo, .. }
            | ScanEvent::Resolved { repo, .. }
            | ScanEvent::RepositoryScanned(repo) => Some(repo),
            _ => return false,
        };
        self.stack.iter().any(|view| match view {
            View::Repos(v) => v.entry == entry,
            View::Tags(v) => v.entry == entry && repo == Some(&v.repo),
            _ => false,
        })
    }

    /// Brings the lists on the stack up to date with one scan event (already applied).
    fn show_scan_event(&mut self, entry: usize, event: &ScanEvent) {
        let storage = &self.storages[entry];
        for view in &mut self.stack {
            match view {
                View::Repos(v) if v.entry == entry => show_in_repos(storage, v, event),
                View::Tags(v) if v.entry == entry => match event {
                    ScanEvent::Tags { repo, .. } if *repo == v.repo => fill_tags(storage, v),
                    ScanEvent::Resolved { repo, tag, digest } if *repo == v.repo => {
                        v.rows
                            .resolved(tag, digest.clone(), storage.summary(digest));
                        if v.listing.sort_key() != Some(SortKey::Name) {
                            v.listing.mark_dirty();
                        }
                    }
                    ScanEvent::RepositoryScanned(repo) if *repo == v.repo => {
                        update_images(storage, v);
                    }
                    _ => {}
                },
                _ => {}
            }
        }
    }

    /// The scan of `entry` failed as a whole: its repository list may be incomplete.
    fn fail_repos(&mut self, entry: usize, error: String) {
        for view in &mut self.stack {
            if let View::Repos(v) = view
                && v.entry == entry
            {
                v.failed = Some(error.clone());
            }
        }
    }

    /// The scan of `entry` ended: lists stop waiting for what it did not find.
    fn settle_lists(&mut self, entry: usize) {
        let storage = &self.storages[entry];
        for view in &mut self.stack {
            match view {
                View::Repos(v) if v.entry == entry => {
                    v.listed = true;
                    for (name, repo) in &storage.model.repos {
                        if !repo.tags_listed {
                            v.rows.set_tags(name, Field::Failed);
                        }
                    }
                }
                View::Tags(v) if v.entry == entry => update_images(storage, v),
                _ => {}
            }
        }
    }

    pub(super) fn toggle_mark(&mut self) {
        if matches!(self.top(), View::Storage(_)) {
            return self.toggle_storage_mark();
        }
        let page = self.page();
        let View::Tags(v) = self.top() else {
            return;
        };
        let Some(row) = v.selected() else {
            return;
        };
        let (entry, repo, tag) = (v.entry, v.repo.clone(), row.tag.clone());
        self.storages[entry].toggle_mark(repo, tag);
        // Space marks and moves on, so a run of tags is marked by holding it down.
        if let View::Tags(v) = self.top_mut() {
            v.listing.table.move_by(1, page);
        }
    }

    pub(super) fn clear_marks(&mut self) {
        if let Some(entry) = self.top().entry() {
            self.storages[entry].clear_marks();
            self.storages[entry].layout.clear_marks();
            self.info("marks cleared");
        }
    }

    pub(super) fn open_storage(&mut self) -> Vec<Effect> {
        let (entry, focus) = match self.top() {
            View::Repos(v) => (v.entry, v.selected().map(|r| r.name.to_string())),
            View::Tags(v) => (v.entry, Some(v.repo.to_string())),
            _ => return Vec::new(),
        };
        if let Some(storage) = self.storages.get_mut(entry) {
            storage.layout.registry = self.entries[entry].client.is_some();
        }
        self.stack
            .push(View::Storage(StorageView::new(entry, focus)));
        self.read_storage_layout(entry, false)
    }

    /// Each registry's `storage` (by entry name): the storage view reads it beside the API.
    pub fn with_storage_locations(
        mut self,
        locations: std::collections::BTreeMap<String, String>,
    ) -> Self {
        for (i, e) in self.entries.iter().enumerate() {
            if let Some(location) = locations.get(&e.name) {
                self.storages[i].layout.location = Some(location.clone());
            }
        }
        self
    }

    /// Starts reading the registry's own storage, when it has one and it was not read (or
    /// `force`: read it again).
    pub(super) fn read_storage_layout(&mut self, entry: usize, force: bool) -> Vec<Effect> {
        let Some(layout) = self.storages.get(entry).map(|s| &s.layout) else {
            return Vec::new();
        };
        let Some(location) = layout.location.clone() else {
            return Vec::new();
        };
        let mut effects = Vec::new();
        match (&layout.state, force) {
            (LayoutState::Unread | LayoutState::Failed(_), _) => {}
            (LayoutState::Reading(old), true) => effects.push(Effect::Abort(vec![*old])),
            (LayoutState::Read(_), true) => {}
            (LayoutState::Reading(_) | LayoutState::Read(_), false) => return Vec::new(),
        }
        let req = self.req();
        let abandoned_before = self.now.checked_sub(ABANDONED_AFTER).unwrap_or(self.now);
        self.storages[entry].layout.set(LayoutState::Reading(req));
        effects.push(Effect::ReadStorage {
            req,
            location,
            abandoned_before,
        });
        effects
    }

    /// Whether `req` reads a registry's storage.
    pub(super) fn reads_storage(&self, req: ReqId) -> bool {
        self.storages.iter().any(|s| s.layout.req() == Some(req))
    }

    /// The registry's storage was read (or could not be).
    pub(super) fn on_storage_read(&mut self, action: Action) -> Vec<Effect> {
        let req = action.req();
        let Some(entry) = self
            .storages
            .iter()
            .position(|s| req.is_some() && s.layout.req() == req)
        else {
            tracing::debug!("dropped a stale storage read for {req:?}");
            return Vec::new();
        };
        let layout = &mut self.storages[entry].layout;
        let delete = layout.delete_after_read.take();
        match action {
            Action::StorageRead {
                result: Ok(reading),
                ..
            } => layout.set_read(reading),
            Action::StorageRead { result: Err(e), .. } | Action::TaskFailed { error: e, .. } => {
                layout.set(LayoutState::Failed(e.clone()));
                self.error(e);
                return Vec::new();
            }
            _ => return Vec::new(),
        }
        // Only where it was asked for: a user who left the view meanwhile gets no dialog.
        if let Some(picked) = delete
            && matches!(self.top(), View::Storage(v) if v.entry == entry)
        {
            self.open_untagged_dialog(entry, &picked);
        }
        Vec::new()
    }
}

/// Brings a repository list up to date with one scan event.
fn show_in_repos(storage: &Storage, v: &mut ReposView, event: &ScanEvent) {
    let reorder = match event {
        ScanEvent::Repositories(names) => v.rows.add(names, |name| repo_sizes(storage, name)) > 0,
        ScanEvent::RepositoriesListed => {
            v.listed = true;
            false
        }
        ScanEvent::Tags { repo, tags } => {
            v.rows.set_tags(repo, Field::Known(tags.len()))
                && v.listing.sort_key() == Some(SortKey::Tags)
        }
        ScanEvent::RepositoryScanned(repo) => {
            let listed = storage.model.repos.get(repo).is_some_and(|r| r.tags_listed);
            if !listed {
                v.rows.set_tags(repo, Field::Failed);
            }
            false
        }
        _ => false,
    };
    if reorder {
        v.listing.mark_dirty();
    }
}

/// A repository's tag count: known once its tags are listed, failed once the scan is done
/// with it without them.
fn tag_count(
    storage: &Storage,
    name: &RepoName,
    listed: bool,
    tags: usize,
) -> Option<Field<usize>> {
    if listed {
        Some(Field::Known(tags))
    } else if storage.is_settled(name) {
        Some(Field::Failed)
    } else {
        None
    }
}

/// Fills a tag list from the model: its tags once listed, their digests and images.
fn fill_tags(storage: &Storage, v: &mut TagsView) {
    let Some(repo) = storage.model.repos.get(&v.repo) else {
        finish_tags(storage, v);
        return;
    };
    if repo.tags_listed {
        v.rows.set_tags(repo.tags.keys().cloned().collect());
        v.listed = true;
        v.failed = None;
        for (tag, digest) in &repo.tags {
            if let Some(digest) = digest {
                v.rows
                    .resolved(tag, digest.clone(), storage.summary(digest));
            }
        }
        v.listing.mark_dirty();
    }
    finish_tags(storage, v);
}

/// Takes the images' summaries again from the model (their manifests and configs came in).
fn update_images(storage: &Storage, v: &mut TagsView) {
    let digests: Vec<_> = v.rows.digests().cloned().collect();
    let mut changed = false;
    for digest in digests {
        if let Some(summary) = storage.summary(&digest) {
            changed |= v.rows.image(&digest, Field::Known(summary));
        }
    }
    if changed && v.listing.sort_key() != Some(SortKey::Name) {
        v.listing.mark_dirty();
    }
    finish_tags(storage, v);
}

/// Once the scan is done with the repository: what is still missing failed.
fn finish_tags(storage: &Storage, v: &mut TagsView) {
    v.refresh_attachments_from(storage);
    if !storage.is_settled(&v.repo) {
        v.model_revision = Some(storage.revision());
        return;
    }
    if !v.listed {
        v.failed = Some(
            storage
                .failure_of(&v.repo)
                .unwrap_or_else(|| format!("the scan did not list the tags of {}", v.repo)),
        );
    }
    let unresolved: Vec<_> = v.rows.unresolved().cloned().collect();
    for tag in &unresolved {
        v.rows.resolve_failed(tag);
    }
    let digests: Vec<_> = v.rows.digests().cloned().collect();
    for digest in digests {
        if storage.summary(&digest).is_none() {
            v.rows.image(&digest, Field::Failed);
        }
    }
    if !unresolved.is_empty() {
        v.listing.mark_dirty();
    }
    v.model_revision = Some(storage.revision());
}

/// A repository's numbers as the list shows them: final once the repository is fully
/// scanned (`unique` once the whole registry is, as it depends on every other repository),
/// `…` until then, nothing without a scan.
pub(super) fn repo_sizes(storage: &Storage, name: &RepoName) -> Option<RepoSizes> {
    let numbers = storage.numbers()?;
    let settled = matches!(storage.scan, ScanState::Finished | ScanState::Failed(_));
    let Some((stats, complete)) = numbers.repo(name.as_str()) else {
        return (!settled).then_some(RepoSizes {
            logical: Field::Loading,
            stored: Field::Loading,
            unique: Field::Loading,
        });
    };
    let own = |n: u64| {
        if complete || settled {
            Field::Known(n)
        } else {
            Field::Loading
        }
    };
    Some(RepoSizes {
        logical: own(stats.logical_bytes),
        stored: own(stats.stored_bytes),
        unique: if settled {
            Field::Known(stats.unique_bytes)
        } else {
            Field::Loading
        },
    })
}
