//! What workers report back. Each result is routed to the view on the stack that asked for
//! it; a result nobody asked for (its view was left or refreshed) is dropped.

use std::sync::Arc;

use super::App;
use super::intents::image_view;
use crate::registry::image::ImageTree;
use crate::registry::{ManifestRef, RegistryError};
use crate::tui::action::{Action, Effect, ReqId};
use crate::tui::views::{Reach, View};

impl App {
    pub(super) fn on_result(&mut self, action: Action) -> Vec<Effect> {
        let Some(req) = action.req() else {
            return Vec::new();
        };
        // Work that belongs to the app rather than to a view: scans, applies, restores.
        let scan = self.storages.iter().any(|s| s.scan_req() == Some(req));
        let apply = self.dialog.as_ref().and_then(|d| d.apply_req()) == Some(req);
        let gc = self.dialog.as_ref().and_then(|d| d.gc_req()) == Some(req);
        match &action {
            Action::CopyPlanned { .. }
            | Action::CopyProgressed { .. }
            | Action::CopyFinished { .. } => return self.on_copy(action),
            Action::TaskFailed { .. } if self.copies(req) => return self.on_copy(action),
            Action::Scanned { .. } | Action::ScanFinished { .. } => return self.on_scan(action),
            Action::TaskFailed { .. } if scan => return self.on_scan(action),
            Action::ApplyProgress { .. } | Action::ApplyFinished { .. } => {
                return self.on_apply(action);
            }
            Action::TaskFailed { .. } if apply => return self.on_apply(action),
            Action::GcFinished { .. } => return self.on_gc(action),
            Action::TaskFailed { .. } if gc => return self.on_gc(action),
            Action::Granted { .. } => return self.on_granted(action),
            Action::Restored { .. } => return self.on_restored(action),
            Action::TaskFailed { .. } if self.restores.contains_key(&req) => {
                return self.on_restored(action);
            }
            Action::StorageRead { .. } => return self.on_storage_read(action),
            Action::TaskFailed { .. } if self.reads_storage(req) => {
                return self.on_storage_read(action);
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
            Action::ImageLoaded { tree, .. } => self.on_image(owner, tree),
            Action::ImageFailed {
                reference, error, ..
            } => self.on_image_failed(owner, &reference, error),
            Action::TaskFailed { error, .. } => self.on_task_failed(owner, req, error),
            Action::AuditBuilt { report, .. } => self.on_audit_built(owner, req, report),
            Action::ReferrersFound { result, .. } => self.on_referrers_found(owner, req, result),
            Action::VulnerabilityReportsRead { reports, .. } => {
                self.on_vulnerability_reports(owner, req, reports);
            }
            Action::FilesProgress { read, rate, .. } => self.on_files_progress(owner, read, rate),
            Action::FilesListed { result, .. } => self.on_files_listed(owner, req, result),
            Action::DiffProgress {
                read, total, rate, ..
            } => self.on_diff_progress(owner, read, total, rate),
            Action::DiffBuilt { result, .. } => self.on_diff_built(owner, req, result),
            Action::HintsProgress { read, rate, .. } => self.on_hints_progress(owner, read, rate),
            Action::HintsBuilt { result, .. } => self.on_hints_built(owner, req, result),
            Action::RepoHintsProgress {
                read, total, rate, ..
            } => self.on_repo_hints_progress(owner, read, total, rate),
            Action::RepoHintsBuilt { result, .. } => self.on_repo_hints_built(owner, req, result),
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
        if let View::Pending(p) = &mut self.stack[owner] {
            tracing::debug!("fetching {}:{reference}: {error}", p.repo);
            p.failed = Some(error.to_string());
            p.loads.clear();
            self.error(error.to_string());
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
            View::Referrers(v) => v.failed = Some(error.clone()),
            View::Files(v) => v.reading.failed = Some(error.clone()),
            View::Diff(v) => v.reading.failed = Some(error.clone()),
            View::Hints(v) => v.reading.failed = Some(error.clone()),
            View::Drift(v) => v.reading.failed = Some(error.clone()),
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
}
