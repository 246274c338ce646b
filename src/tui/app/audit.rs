//! The audit side of the app: opening the audit of a registry or repository, asking a worker
//! for the report whenever the scanned model changed, opening the tags a finding names, and
//! turning the suggested policy into the cleanup preview.

use std::sync::Arc;

use super::App;
use crate::audit::AuditReport;
use crate::registry::RepoName;
use crate::tui::action::{AuditInput, AuditJob, Effect, ReqId};
use crate::tui::listing::Only;
use crate::tui::views::View;
use crate::tui::views::audit::{AuditView, restriction_label};
use crate::tui::views::cleanup::CleanupView;

impl App {
    /// `A`: the audit of the whole registry from the repository list, of the repository from
    /// its tag list. It waits for the storage scan (started here if it is not running).
    pub(super) fn open_audit(&mut self) -> Vec<Effect> {
        let (entry, repo) = match self.top() {
            View::Repos(v) => (v.entry, None),
            View::Tags(v) => (v.entry, Some(v.repo.clone())),
            _ => return Vec::new(),
        };
        self.stack.push(View::Audit(AuditView::new(entry, repo)));
        self.start_scan(entry, false)
    }

    /// Asks for a report for every audit view whose model changed since its last one, once
    /// the scan is done; a report still on its way for an older model is dropped.
    pub(super) fn request_audits(&mut self) -> Vec<Effect> {
        let mut effects = Vec::new();
        for index in 0..self.stack.len() {
            let View::Audit(v) = &self.stack[index] else {
                continue;
            };
            let Some(storage) = self.storages.get(v.entry) else {
                continue;
            };
            if !v.wants(storage) {
                continue;
            }
            let generation = storage.generation();
            let input = AuditInput {
                model: storage.model.clone(),
                settings: self.audit.clone(),
                now: self.now,
                repo: v.repo.clone(),
            };
            let req = self.req();
            let View::Audit(v) = &mut self.stack[index] else {
                continue;
            };
            let old = std::mem::replace(&mut v.loads, vec![req]);
            if !old.is_empty() {
                effects.push(Effect::Abort(old));
            }
            v.requested = Some(generation);
            v.failed = None;
            effects.push(Effect::Audit {
                req,
                entry: v.entry,
                job: AuditJob(Arc::new(input)),
            });
        }
        effects
    }

    pub(super) fn on_audit_built(&mut self, owner: usize, req: ReqId, report: Arc<AuditReport>) {
        let page = self.page_of(crate::tui::keymap::ViewKind::Audit);
        if let View::Audit(v) = &mut self.stack[owner] {
            v.loads.retain(|r| *r != req);
            v.set_report(report, page);
        }
    }

    /// Enter on a finding: the tag list of its repository, showing exactly the tags it names.
    pub(super) fn open_finding(&mut self) -> Vec<Effect> {
        let View::Audit(v) = self.top() else {
            return Vec::new();
        };
        let Some(finding) = v.selected_finding() else {
            return Vec::new();
        };
        let entry = v.entry;
        let only = Only {
            label: restriction_label(finding),
            texts: finding.tags.iter().cloned().collect(),
        };
        let Ok(repo) = RepoName::parse(&finding.repository) else {
            return Vec::new();
        };
        let effects = self.open_repo(entry, repo);
        if let View::Tags(t) = self.top_mut() {
            t.listing.restrict(only);
        }
        effects
    }

    /// `p`: the cleanup preview, its form filled with the suggested policy and its plan the
    /// one the audit dry-ran. Applying goes through the usual confirmation.
    pub(super) fn suggest_cleanup(&mut self) {
        let View::Audit(v) = self.top() else {
            return;
        };
        let Some(report) = &v.report else {
            self.info("the audit is not ready yet");
            return;
        };
        let suggested = &report.suggested_policy;
        let plan = suggested.plan.clone().zip(v.built);
        let view = CleanupView::suggested(
            v.entry,
            self.policies.clone(),
            &suggested.name,
            suggested.spec.clone(),
            plan,
        );
        self.stack.push(View::Cleanup(view));
    }

    /// `y` on the audit: the suggested policy as a `config.toml` table.
    pub(super) fn copy_suggested(&mut self) -> Vec<Effect> {
        let View::Audit(v) = self.top() else {
            return Vec::new();
        };
        let Some(report) = &v.report else {
            return Vec::new();
        };
        let toml = report.suggested_policy.toml.clone();
        self.info("copied the suggested policy as a config.toml table");
        vec![Effect::Copy(toml)]
    }
}
