//! The storage side of the app: the background scan of each opened registry, its results
//! applied to the registry's model, the numbers derived from it pushed into the views that
//! show them, and the marks with their live "would free".

use super::App;
use crate::analysis::model::ScanEvent;
use crate::analysis::sharing::tag_sharing;
use crate::registry::RepoName;
use crate::tui::action::{Action, Effect};
use crate::tui::columns::{Field, RepoSizes};
use crate::tui::keymap::ViewKind;
use crate::tui::listing::SortKey;
use crate::tui::storage::{ScanState, Storage};
use crate::tui::views::View;
use crate::tui::views::storage::StorageView;

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
                if let ScanEvent::Tags { repo, tags } = &event {
                    for view in &mut self.stack {
                        if let View::Repos(v) = view
                            && v.entry == entry
                            && v.rows.set_tags(repo, Field::Known(tags.len()))
                            && v.listing.sort_key() == Some(SortKey::Tags)
                        {
                            v.listing.mark_dirty();
                        }
                    }
                }
                self.storages[entry].apply(event);
            }
            Action::ScanFinished { result, .. } => {
                let name = self.entries[entry].name.clone();
                let storage = &mut self.storages[entry];
                storage.finish(result.as_ref().map(|_| ()).map_err(|e| e.to_string()));
                match result {
                    Err(e) => {
                        // The listing usually failed for the same reason a moment earlier:
                        // keep its sentence (shorter, and it names what could not be shown).
                        let cause = e.to_string();
                        let already_shown = matches!(
                            &self.message,
                            Some(super::Message::Error(shown)) if shown.contains(&cause)
                        );
                        if !already_shown {
                            self.error(format!("the storage scan of {name} failed: {cause}"));
                        }
                    }
                    Ok(()) => {
                        let failures = &storage.model.failures;
                        if let Some((_, what, error)) = failures.first() {
                            let text = format!(
                                "the storage scan had {} failures (first: {what}: {error}); the numbers leave those parts out",
                                failures.len()
                            );
                            self.error(text);
                        }
                    }
                }
            }
            Action::TaskFailed { error, .. } => {
                self.storages[entry].finish(Err(error.clone()));
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
        let mut finished_tags = Vec::new();
        for (index, view) in self.stack.iter_mut().enumerate() {
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
                // While scanning the tag list keeps what it fetched; once the scan is done,
                // sizes and dates come from the model, the numbers `regatta du` prints.
                View::Tags(v) if settled && v.model_generation != Some(generation) => {
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
                    v.model_generation = Some(generation);
                    finished_tags.push(index);
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
        for index in finished_tags {
            self.tags_finished(index);
        }
    }

    pub(super) fn toggle_mark(&mut self) {
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
            self.info("marks cleared");
        }
    }

    pub(super) fn open_storage(&mut self) {
        let (entry, focus) = match self.top() {
            View::Repos(v) => (v.entry, v.selected().map(|r| r.name.to_string())),
            View::Tags(v) => (v.entry, Some(v.repo.to_string())),
            _ => return,
        };
        self.stack
            .push(View::Storage(StorageView::new(entry, focus)));
    }
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
