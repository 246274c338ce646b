//! What workers report back. Each result is routed to the view on the stack that asked for
//! it; a result nobody asked for (its view was left or refreshed) is dropped.

use std::sync::Arc;

use super::intents::image_view;
use super::storage::repo_sizes;
use super::{App, CachedImage};
use crate::registry::image::ImageTree;
use crate::registry::{ManifestRef, RegistryError, RepoName, Tag};
use crate::tui::action::{Action, Effect, ReqId};
use crate::tui::columns::Field;
use crate::tui::listing::SortKey;
use crate::tui::views::tags::ImageSummary;
use crate::tui::views::{Reach, View};

impl App {
    pub(super) fn on_result(&mut self, action: Action) -> Vec<Effect> {
        // Images are immutable by digest: keep them even when the view that asked is gone,
        // and fill in every tag list that waits for one (an image opened from the tag list
        // before its resolution got to it).
        if let Action::ImageLoaded { tree, .. } = &action {
            self.cache_image(tree.clone());
            self.fill_tag_lists(&tree.root.digest);
        }
        let Some(req) = action.req() else {
            return Vec::new();
        };
        // Work that belongs to the app rather than to a view: scans, applies, restores.
        let scan = self.storages.iter().any(|s| s.scan_req() == Some(req));
        let apply = self.dialog.as_ref().and_then(|d| d.apply_req()) == Some(req);
        let gc = self.dialog.as_ref().and_then(|d| d.gc_req()) == Some(req);
        match &action {
            Action::Scanned { .. } | Action::ScanFinished { .. } => return self.on_scan(action),
            Action::TaskFailed { .. } if scan => return self.on_scan(action),
            Action::ApplyProgress { .. } | Action::ApplyFinished { .. } => {
                return self.on_apply(action);
            }
            Action::TaskFailed { .. } if apply => return self.on_apply(action),
            Action::GcFinished { .. } => return self.on_gc(action),
            Action::TaskFailed { .. } if gc => return self.on_gc(action),
            Action::Restored { .. } => return self.on_restored(action),
            Action::TaskFailed { .. } if self.restores.contains_key(&req) => {
                return self.on_restored(action);
            }
            _ => {}
        }
        let Some(owner) = self.stack.iter().position(|v| v.loads().contains(&req)) else {
            tracing::debug!("dropped a stale result for {req}");
            return Vec::new();
        };
        match action {
            Action::PingFinished { result, .. } => return self.on_ping(owner, req, result),
            Action::Probed { result, .. } => self.on_probed(owner, req, result),
            Action::ReposPage { repos, .. } => self.on_repos(owner, &repos, false),
            Action::ReposListed {
                result: Ok(repos), ..
            } => self.on_repos(owner, &repos, true),
            Action::ReposListed { result: Err(e), .. } => {
                if let View::Repos(v) = &mut self.stack[owner] {
                    v.failed = Some(e.to_string());
                }
                self.error(e.to_string());
            }
            Action::TagsCounted { repo, result, .. } => self.on_tag_count(owner, &repo, result),
            Action::TagsLoaded { result, .. } => return self.on_tags(owner, result),
            Action::TagResolved { tag, result, .. } => self.on_resolved(owner, &tag, result),
            Action::ImageLoaded { tree, .. } => self.on_image(owner, tree),
            Action::ImageFailed {
                reference, error, ..
            } => self.on_image_failed(owner, &reference, error),
            Action::TaskFailed { error, .. } => self.on_task_failed(owner, req, error),
            Action::AuditBuilt { report, .. } => self.on_audit_built(owner, req, report),
            Action::BackupsListed { backups, .. } => {
                if let crate::tui::views::View::Deleted(v) = &mut self.stack[owner] {
                    v.loads.retain(|r| *r != req);
                    v.set_backups(backups);
                }
            }
            _ => {}
        }
        Vec::new()
    }

    fn cache_image(&mut self, tree: Arc<ImageTree>) {
        let summary = ImageSummary::of(&tree);
        self.images
            .entry(tree.root.digest.clone())
            .or_insert(CachedImage { tree, summary });
    }

    fn fill_tag_lists(&mut self, digest: &crate::registry::Digest) {
        let Some(fetched) = self.images.get(digest).map(|c| c.summary.clone()) else {
            return;
        };
        for owner in 0..self.stack.len() {
            if let View::Tags(v) = &mut self.stack[owner] {
                // The model's numbers when the scan has them, so they match `regatta du`.
                let summary = self.storages[v.entry]
                    .summary(digest)
                    .unwrap_or_else(|| fetched.clone());
                if v.rows.image(digest, Field::Known(summary))
                    && v.listing.sort_key() != Some(SortKey::Name)
                {
                    v.listing.mark_dirty();
                }
                self.tags_finished(owner);
            }
        }
    }

    /// A registry that answers and has a client is probed next for what it can do.
    fn on_ping(
        &mut self,
        owner: usize,
        req: ReqId,
        result: Result<(), RegistryError>,
    ) -> Vec<Effect> {
        let View::Registries(v) = &mut self.stack[owner] else {
            return Vec::new();
        };
        v.loads.retain(|r| *r != req);
        let Some(entry) = v.pings.remove(&req) else {
            return Vec::new();
        };
        let Some(e) = self.entries.get_mut(entry) else {
            return Vec::new();
        };
        e.reach = Reach::from_ping(&result);
        if !self.probes || result.is_err() || e.client.is_none() {
            return Vec::new();
        }
        let probe = self.req();
        if let View::Registries(v) = &mut self.stack[owner] {
            v.loads.push(probe);
            v.pings.insert(probe, entry);
        }
        vec![Effect::Probe { req: probe, entry }]
    }

    fn on_probed(
        &mut self,
        owner: usize,
        req: ReqId,
        result: Result<Box<crate::registry::probe::Capabilities>, RegistryError>,
    ) {
        let View::Registries(v) = &mut self.stack[owner] else {
            return;
        };
        v.loads.retain(|r| *r != req);
        let Some(entry) = v.pings.remove(&req) else {
            return;
        };
        match (result, self.entries.get_mut(entry)) {
            (Ok(capabilities), Some(e)) => e.capabilities = Some(*capabilities),
            // The ping succeeded a moment ago; a failed probe leaves the row as the ping left it.
            (Err(e), _) => tracing::warn!("probing registry {entry} failed: {e}"),
            (Ok(_), None) => {}
        }
    }

    fn on_repos(&mut self, owner: usize, repos: &[RepoName], finished: bool) {
        let View::Repos(v) = &mut self.stack[owner] else {
            return;
        };
        let storage = &self.storages[v.entry];
        if v.rows.add(repos, |name| repo_sizes(storage, name)) > 0 {
            v.listing.mark_dirty();
        }
        if finished {
            v.listed = true;
        }
        finish_repos(v);
    }

    fn on_tag_count(
        &mut self,
        owner: usize,
        repo: &RepoName,
        result: Result<usize, RegistryError>,
    ) {
        let View::Repos(v) = &mut self.stack[owner] else {
            return;
        };
        let tags = match result {
            Ok(n) => Field::Known(n),
            Err(e) => {
                tracing::warn!("counting the tags of {repo}: {e}");
                Field::Failed
            }
        };
        if !v.rows.set_tags(repo, tags) {
            return;
        }
        if v.listing.sort_key() == Some(SortKey::Tags) {
            v.listing.mark_dirty();
        }
        finish_repos(v);
    }

    fn on_tags(&mut self, owner: usize, result: Result<Vec<Tag>, RegistryError>) -> Vec<Effect> {
        let tags = match result {
            Ok(tags) => tags,
            Err(e) => {
                if let View::Tags(v) = &mut self.stack[owner] {
                    v.failed = Some(e.to_string());
                    v.loads.clear();
                }
                self.error(e.to_string());
                return Vec::new();
            }
        };
        let req = self.req();
        let known = self.images.keys().cloned().collect();
        let View::Tags(v) = &mut self.stack[owner] else {
            return Vec::new();
        };
        v.rows.set_tags(tags.clone());
        v.listed = true;
        v.listing.mark_dirty();
        let (entry, repo, count) = (v.entry, v.repo.clone(), v.rows.iter().count());
        for view in &mut self.stack {
            if let View::Repos(r) = view {
                if r.entry == entry {
                    r.rows.set_tags(&repo, Field::Known(count));
                }
            }
        }
        if tags.is_empty() {
            self.tags_finished(owner);
            return Vec::new();
        }
        if let View::Tags(v) = &mut self.stack[owner] {
            v.loads.push(req);
        }
        vec![Effect::ResolveTags {
            req,
            entry,
            repo,
            tags,
            known,
        }]
    }

    fn on_resolved(
        &mut self,
        owner: usize,
        tag: &Tag,
        result: Result<crate::registry::ManifestHead, RegistryError>,
    ) {
        let mut failure = None;
        let images = &self.images;
        let storages = &self.storages;
        let View::Tags(v) = &mut self.stack[owner] else {
            return;
        };
        match result {
            Ok(head) => {
                let summary = storages[v.entry]
                    .summary(&head.digest)
                    .or_else(|| images.get(&head.digest).map(|c| c.summary.clone()));
                v.rows.resolved(tag, head, summary);
            }
            Err(e) => {
                v.rows.resolve_failed(tag);
                failure = Some(format!("tag {tag}: {e}"));
            }
        }
        if v.listing.sort_key() != Some(SortKey::Name) {
            v.listing.mark_dirty();
        }
        if let Some(text) = failure {
            self.error(text);
        }
        self.tags_finished(owner);
    }

    fn on_image(&mut self, owner: usize, tree: Arc<ImageTree>) {
        // Tag lists were filled in by fill_tag_lists; a pending view becomes the image's view.
        if let View::Pending(p) = &self.stack[owner] {
            let view = image_view(p.entry, p.repo.clone(), p.label.clone(), tree);
            self.stack[owner] = view;
            // Anything opened on top of the pending view would be out of place.
            self.stack.truncate(owner + 1);
        }
    }

    fn on_image_failed(&mut self, owner: usize, reference: &ManifestRef, error: RegistryError) {
        match &mut self.stack[owner] {
            View::Tags(v) => {
                if let ManifestRef::Digest(d) = reference {
                    v.rows.image(d, Field::Failed);
                }
                let text = format!("{}:{reference}: {error}", v.repo);
                self.error(text);
                self.tags_finished(owner);
            }
            View::Pending(p) => {
                p.failed = Some(error.to_string());
                p.loads.clear();
                self.error(error.to_string());
            }
            _ => {}
        }
    }

    /// Work that stopped without an answer: the view stops waiting and says why.
    fn on_task_failed(&mut self, owner: usize, req: ReqId, error: String) {
        match &mut self.stack[owner] {
            View::Registries(v) => {
                if let Some(entry) = v.pings.remove(&req) {
                    if let Some(e) = self.entries.get_mut(entry) {
                        e.reach = Reach::Failed(error.clone());
                    }
                }
            }
            View::Repos(v) => v.failed = Some(error.clone()),
            View::Tags(v) => v.failed = Some(error.clone()),
            View::Pending(v) => v.failed = Some(error.clone()),
            View::Deleted(v) => v.failed = Some(error.clone()),
            View::Audit(v) => v.failed = Some(error.clone()),
            View::Manifest(_)
            | View::Layers(_)
            | View::Config(_)
            | View::Storage(_)
            | View::Cleanup(_) => {}
        }
        if let Some(loads) = self.stack[owner].loads_mut() {
            loads.retain(|r| *r != req);
        }
        self.error(error);
    }

    /// When every tag of a tag list is in: remember the tags for revisits (if nothing
    /// failed) and the count in the repository list.
    pub(super) fn tags_finished(&mut self, owner: usize) {
        let View::Tags(v) = &mut self.stack[owner] else {
            return;
        };
        if !v.is_complete() {
            return;
        }
        v.loads.clear();
        if v.rows.failed() > 0 {
            return;
        }
        let heads: Vec<_> = v
            .rows
            .iter()
            .filter_map(|r| Some((r.tag.clone(), r.head.known()?.clone())))
            .collect();
        let (entry, repo, count) = (v.entry, v.repo.clone(), heads.len());
        self.tag_cache.insert((entry, repo.clone()), heads);
        for view in &mut self.stack {
            if let View::Repos(r) = view
                && r.entry == entry
                && r.rows.set_tags(&repo, Field::Known(count))
            {
                r.listing.mark_dirty();
            }
        }
    }
}

/// A repository list is done when the catalog is read and every count is in.
fn finish_repos(v: &mut crate::tui::views::repos::ReposView) {
    if v.listed && !v.is_loading() {
        v.loads.clear();
    }
}
