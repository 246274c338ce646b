//! Base-image drift from the tag list (`B`): worked out at once from what the scan read
//! (the tags' digests, their manifests' layers, their configs' dates) with the code of
//! `regatta hints --repo` ([`crate::layers::drift::drift`]): no worker, no layer download.
//! The image marked with `b` (the diff base), when the scan read it, is the named base, as
//! `--base` names one to the CLI; else the bases are inferred.
//!
//! `w` on the drift asks a worker for the repository's size hints, as `regatta hints --repo`
//! computes them, against the same bases.

use std::sync::Arc;

use super::App;
use crate::analysis::chains::{image_layers, tag_chains};
use crate::layers::drift::{Candidate, drift};
use crate::layers::repo_hints::RepoHints;
use crate::present::drift::{drift_lines, left_out_lines};
use crate::registry::{ManifestRef, RepoName};
use crate::tui::action::{DiffSide, Effect, ReqId};
use crate::tui::views::View;
use crate::tui::views::drift::DriftView;

impl App {
    pub(super) fn open_drift(&mut self) {
        let View::Tags(v) = self.top() else {
            return;
        };
        let (entry, repo) = (v.entry, v.repo.clone());
        let (candidates, note) = self.named_base(entry);
        match self.drift_text(entry, &repo, &candidates) {
            Ok(lines) => {
                self.info(note);
                self.stack
                    .push(View::Drift(DriftView::new(entry, repo, lines, candidates)));
            }
            Err(why) => self.info(why),
        }
    }

    /// The base marked with `b` as a named base of `entry`'s drift, and the sentence for
    /// the status line that says which base is used.
    fn named_base(&self, entry: usize) -> (Vec<Candidate>, String) {
        const INFERRED: &str = "bases inferred from the layers tags share";
        let Some((marked, side)) = &self.diff_base else {
            let note = format!("drift: {INFERRED}; mark a base image with b to name it");
            return (Vec::new(), note);
        };
        let name = base_reference(side);
        if *marked != entry {
            let note = format!("drift: {INFERRED} (the base {name} is in another registry)");
            return (Vec::new(), note);
        }
        let layers = self
            .storage(entry)
            .ok_or("this source has no scan")
            .and_then(|s| image_layers(&s.model, &side.digest));
        match layers {
            Ok(layers) => {
                let note = format!("drift against the base {name} (marked with b)");
                (
                    vec![Candidate {
                        reference: name,
                        layers,
                    }],
                    note,
                )
            }
            Err(why) => {
                let note = format!("drift: {INFERRED} (the base {name}: {why} by the scan)");
                (Vec::new(), note)
            }
        }
    }

    /// The drift's lines, or why there are none yet: the scan has not read every tag.
    fn drift_text(
        &self,
        entry: usize,
        repo: &RepoName,
        candidates: &[Candidate],
    ) -> Result<Vec<String>, String> {
        let Some(storage) = self.storage(entry) else {
            return Err("this source has no scan to work the drift out from".into());
        };
        let listed = storage.model.repos.get(repo).is_some_and(|r| r.tags_listed);
        if !listed || !storage.is_settled(repo) {
            return Err(format!(
                "the scan has not read every tag of {repo} yet; try again when it has"
            ));
        }
        let (chains, left_out) = tag_chains(&storage.model, repo);
        let mut lines = drift_lines(&drift(&chains, candidates));
        let left_out: Vec<(String, String)> = left_out
            .into_iter()
            .map(|(tag, why)| (tag.to_string(), why))
            .collect();
        lines.extend(left_out_lines(&left_out));
        Ok(lines)
    }

    /// `w` on the drift: every tag of the repository (by the digest the scan resolved, so
    /// its image comes from memory) to a worker that computes the repository's size hints.
    pub(super) fn open_repo_hints(&mut self) -> Vec<Effect> {
        let View::Drift(v) = self.top() else {
            return Vec::new();
        };
        if v.reading.is_loading() {
            self.info("the repository's size hints are on their way");
            return Vec::new();
        }
        let (entry, repo, candidates) = (v.entry, v.repo.clone(), v.candidates.clone());
        let tags: Vec<_> = self
            .storage(entry)
            .and_then(|s| s.model.repos.get(&repo))
            .map(|r| {
                r.tags
                    .iter()
                    .map(|(tag, digest)| {
                        let reference = match digest {
                            Some(d) => ManifestRef::Digest(d.clone()),
                            None => ManifestRef::Tag(tag.clone()),
                        };
                        (tag.clone(), reference)
                    })
                    .collect()
            })
            .unwrap_or_default();
        self.message = None;
        let req = self.req();
        if let View::Drift(v) = self.top_mut() {
            v.reading = Default::default();
            v.reading.loads.push(req);
        }
        vec![Effect::RepoHints {
            req,
            entry,
            repo,
            tags,
            candidates,
        }]
    }

    pub(super) fn on_repo_hints_progress(
        &mut self,
        owner: usize,
        read: u64,
        total: u64,
        rate: u64,
    ) {
        if let View::Drift(v) = &mut self.stack[owner] {
            v.reading.total = total;
            v.reading.progress(read, rate);
        }
    }

    pub(super) fn on_repo_hints_built(
        &mut self,
        owner: usize,
        req: ReqId,
        result: Result<Arc<RepoHints>, String>,
    ) {
        let View::Drift(v) = &mut self.stack[owner] else {
            return;
        };
        v.reading.loads.retain(|r| *r != req);
        match result {
            Ok(report) => {
                let failed = report.failures.len();
                v.set_report(report);
                if failed > 0 {
                    self.error(format!(
                        "{} could not be read (listed at the end)",
                        crate::present::count(failed, "tag")
                    ));
                }
            }
            Err(why) => {
                v.reading.failed = Some(why.clone());
                self.error(why);
            }
        }
    }
}

/// `repo:tag`, `repo@sha256:…`, with ` [platform]` for a platform of an index: the base as
/// the CLI's `--base` would name it.
fn base_reference(side: &DiffSide) -> String {
    let separator = match side.name {
        ManifestRef::Tag(_) => ':',
        ManifestRef::Digest(_) => '@',
    };
    match &side.platform {
        Some(p) => format!("{}{separator}{} [{p}]", side.repo, side.name),
        None => format!("{}{separator}{}", side.repo, side.name),
    }
}
