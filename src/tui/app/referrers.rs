//! The referrers view's intents and results: opening it from a tag or a platform (a worker
//! finds the tree), folding its nodes, and opening a referrer like any image.

use std::sync::Arc;

use super::App;
use crate::registry::{Digest, ManifestRef, RegistryError, RepoName, Tag};
use crate::tui::action::{Effect, ReqId};
use crate::tui::format;
use crate::tui::referrers::ReferrersFound;
use crate::tui::views::View;
use crate::tui::views::pending::PendingView;
use crate::tui::views::referrers::{ReferrersView, SubjectLine};

impl App {
    /// Opens the referrers of the selected tag (or platform), and asks a worker for them.
    pub(super) fn open_referrers(&mut self) -> Vec<Effect> {
        self.message = None;
        let (entry, repo, subject, label) = match self.top() {
            View::Tags(v) => {
                let Some(row) = v.selected() else {
                    return Vec::new();
                };
                let Some(digest) = row.digest() else {
                    let text = format!("{} is not resolved yet: its referrers come after", row.tag);
                    self.info(text);
                    return Vec::new();
                };
                (v.entry, v.repo.clone(), digest.clone(), row.tag.to_string())
            }
            View::Manifest(v) => {
                let Some(image) = v.selected().and_then(|i| v.rows.image(i)) else {
                    return Vec::new();
                };
                let label = format::platform(image.platform.as_ref());
                (v.entry, v.repo.clone(), image.digest.clone(), label)
            }
            _ => return Vec::new(),
        };
        let model = self.storages.get(entry).map(|s| s.model.clone());
        let subject_line = SubjectLine {
            kind: model
                .as_ref()
                .and_then(|m| m.manifests.get(&subject))
                .map_or_else(|| "manifest".to_string(), |m| m.kind.label()),
            label,
            size: model.as_ref().and_then(|m| m.image_size(&subject)),
        };
        let mut view = ReferrersView::new(entry, repo.clone(), subject.clone(), subject_line);
        let req = self.req();
        view.loads.push(req);
        self.stack.push(View::Referrers(view));
        vec![self.find_referrers(req, entry, repo, subject)]
    }

    /// The effect that finds the referrers: discovery over the tags the scan resolved (when
    /// it listed them), read through the documents the scan read.
    fn find_referrers(&self, req: ReqId, entry: usize, repo: RepoName, subject: Digest) -> Effect {
        let tags = self
            .storages
            .get(entry)
            .and_then(|s| s.model.repos.get(&repo))
            .filter(|r| r.tags_listed)
            .map(|r| {
                let resolved: Vec<(Tag, Digest)> = r
                    .tags
                    .iter()
                    .filter_map(|(t, d)| Some((t.clone(), d.clone()?)))
                    .collect();
                Arc::new(resolved)
            });
        let also_in = self
            .entries
            .get(entry)
            .and_then(|e| self.referrers_repositories.get(&e.name))
            .filter(|r| **r != repo)
            .into_iter()
            .cloned()
            .collect();
        Effect::FindReferrers {
            req,
            entry,
            repo,
            subject,
            tags,
            also_in,
        }
    }

    /// Finds the referrers of the view in front again (something may have been attached).
    pub(super) fn refresh_referrers(&mut self) -> Vec<Effect> {
        let req = self.req();
        let View::Referrers(v) = self.top_mut() else {
            return Vec::new();
        };
        v.loads = vec![req];
        v.failed = None;
        let (entry, repo, subject) = (v.entry, v.repo.clone(), v.subject.clone());
        vec![self.find_referrers(req, entry, repo, subject)]
    }

    pub(super) fn on_referrers_found(
        &mut self,
        owner: usize,
        req: ReqId,
        result: Result<Arc<ReferrersFound>, RegistryError>,
    ) {
        let View::Referrers(v) = &mut self.stack[owner] else {
            return;
        };
        v.loads.retain(|r| *r != req);
        match result {
            Ok(found) => {
                let failures = found.failures.len();
                let first = found
                    .failures
                    .first()
                    .map(|f| format!("{}: {}", f.what, f.error));
                v.set_found(found);
                if let Some(first) = first {
                    let text = format!(
                        "{failures} {} could not be read, the tree may miss referrers (first: {first})",
                        if failures == 1 { "thing" } else { "things" }
                    );
                    self.error(text);
                }
            }
            Err(e) => {
                let text = format!("cannot find the referrers: {e}");
                v.failed = Some(text.clone());
                self.error(text);
            }
        }
    }

    pub(super) fn toggle_fold(&mut self) {
        if let View::Referrers(v) = self.top_mut() {
            v.toggle_fold();
        }
    }

    /// Enter on a referrer (or the subject): its manifest and layers, like any image.
    pub(super) fn open_referrer(&mut self) -> Vec<Effect> {
        let View::Referrers(v) = self.top() else {
            return Vec::new();
        };
        let Some(row) = v.selected() else {
            return Vec::new();
        };
        let (repo, digest, label) = match &row.node {
            Some(node) => (
                node.repository.clone(),
                node.digest.clone(),
                node.label.clone(),
            ),
            None => (
                v.repo.clone(),
                v.subject.clone(),
                v.subject_line.label.clone(),
            ),
        };
        let entry = v.entry;
        let reference = ManifestRef::Digest(digest);
        let req = self.req();
        let mut pending = PendingView::new(entry, repo.clone(), label, reference.clone());
        pending.loads.push(req);
        self.stack.push(View::Pending(pending));
        vec![Effect::FetchImage {
            req,
            entry,
            repo,
            reference,
        }]
    }

    /// Asks a worker to read the vulnerability reports attached to the images of each tag
    /// list that are not read yet (their counts by severity are in their blobs, not in the
    /// model), each once.
    pub(super) fn request_vulnerability_reports(&mut self) -> Vec<Effect> {
        let mut effects = Vec::new();
        for index in 0..self.stack.len() {
            let View::Tags(v) = &self.stack[index] else {
                continue;
            };
            let reports = v.reports_to_read();
            if reports.is_empty() {
                continue;
            }
            let req = self.req();
            let View::Tags(v) = &mut self.stack[index] else {
                continue;
            };
            v.mark_reports_asked(&reports, req);
            effects.push(Effect::ReadVulnerabilityReports {
                req,
                entry: v.entry,
                repo: v.repo.clone(),
                reports,
            });
        }
        effects
    }

    pub(super) fn on_vulnerability_reports(
        &mut self,
        owner: usize,
        req: ReqId,
        reports: Vec<(Digest, Option<crate::analysis::content::SeverityCounts>)>,
    ) {
        if let View::Tags(v) = &mut self.stack[owner] {
            v.loads.retain(|r| *r != req);
            v.set_reports_read(reports);
        }
    }
}
