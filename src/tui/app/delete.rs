//! Destructive work and its undo: the delete handshake (`RequestDelete` -> dialog ->
//! `ConfirmDelete(plan)` with the very plan shown -> a background apply with progress), the
//! recently-deleted view with restores, and the cleanup preview that applies through the
//! same dialog.

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::App;
use crate::cleanup::execute::Outcome;
use crate::cleanup::gc::{GcError, GcSummary, summarize};
use crate::cleanup::plan::{Mode, Plan, Referrers, plan_rm, plan_rm_with};
use crate::registry::{RepoName, Tag};
use crate::tui::action::{Action, Effect, PlanRef};
use crate::tui::storage::ScanState;
use crate::tui::views::View;
use crate::tui::views::cleanup::CleanupView;
use crate::tui::views::deleted::DeletedView;
use crate::tui::widgets::confirm::{Choice, ConfirmDialog, GcPane, Stage};
use crate::tui::widgets::plan_text::count;

const DELETE_IMAGE: &str = "Deletes each manifest by digest: every tag on it goes (the ones you did not pick are highlighted), and an index takes its platform manifests along.";
const KEEP_REFERRERS: &str = "Deletes each manifest by digest as above, and keeps its signatures, SBOMs and attestations (and their referrers index), attached to nothing.";
const UNTAG_ONLY: &str = "Removes only the tags you picked; other tags on the same digest stay. Frees nothing: an image whose last tag goes stays in the registry, untagged.";
const APPLY_CLEANUP: &str = "Deletes the digests the policy dropped, with every tag on them, and only untags tags whose digest a kept tag still needs.";

impl App {
    /// Why `entry` cannot be written to, if it cannot: returns the journal directory.
    fn writable(&self, entry: usize, verb: &str) -> Result<PathBuf, String> {
        let state = &self.entries[entry];
        if state.client.is_none() {
            return Err(format!(
                "{} is read-only here (an OCI layout or the demo): cannot {verb}",
                state.name
            ));
        }
        self.journal.clone().ok_or_else(|| {
            format!("cannot {verb}: no data directory for backups and the audit log")
        })
    }

    /// [`writable`](Self::writable) for deletes, and refused up front where the probe found
    /// deletes disabled (instead of a dialog whose every step would fail with 405).
    pub(super) fn deletable(&self, entry: usize) -> Result<PathBuf, String> {
        let journal = self.writable(entry, "delete")?;
        let state = &self.entries[entry];
        if let Some(c) = &state.capabilities
            && c.deletes_enabled.answer == crate::registry::probe::Answer::No
        {
            return Err(format!(
                "deletes are disabled on {} ({}); Distribution needs storage.delete.enabled: true",
                state.name, c.deletes_enabled.evidence
            ));
        }
        Ok(journal)
    }

    /// Whether the scan is finished and saw every repository `plan` touches completely, so
    /// the dialog names every tag that goes (the rule is [`Plan::check_complete`], as in the
    /// CLI).
    pub(super) fn ready_to_delete(&self, entry: usize, plan: &Plan) -> Result<(), String> {
        let storage = &self.storages[entry];
        match &storage.scan {
            ScanState::Finished => {}
            ScanState::Running(_) => {
                return Err(format!(
                    "wait for the storage scan to finish ({}): the dialog must name every tag that goes, and bytes_freed depends on every repository",
                    storage.progress().unwrap_or_default()
                ));
            }
            ScanState::Failed(e) => {
                return Err(format!(
                    "the storage scan failed ({e}); refresh (r) to scan again before deleting"
                ));
            }
            ScanState::Idle | ScanState::Stopped => {
                return Err("the storage scan did not finish; refresh (r) to scan again".into());
            }
        }
        plan.check_complete(&storage.model)
            .map_err(|refusal| format!("{refusal} (refresh with r)"))
    }

    /// `d`: the marked tags (or the selected one), or the previewed cleanup, into a dialog.
    pub(super) fn request_delete(&mut self) -> Vec<Effect> {
        let (entry, request) = match self.top() {
            View::Cleanup(v) => (v.entry, Err(v.plan.clone())),
            View::Tags(v) => {
                let marks = self.storages[v.entry].marks();
                let selection: Vec<(RepoName, Tag)> = if marks.is_empty() {
                    v.selected()
                        .map(|r| (v.repo.clone(), r.tag.clone()))
                        .into_iter()
                        .collect()
                } else {
                    marks.iter().cloned().collect()
                };
                (v.entry, Ok(selection))
            }
            View::Repos(v) => (
                v.entry,
                Ok(self.storages[v.entry].marks().iter().cloned().collect()),
            ),
            View::Storage(v) => {
                let entry = v.entry;
                return self.request_untagged_delete(entry);
            }
            _ => return Vec::new(),
        };
        let opened = match request {
            Ok(selection) => self.open_delete_dialog(entry, &selection),
            Err(plan) => self.open_cleanup_dialog(entry, plan),
        };
        if let Err(why) = opened {
            self.error(why);
        }
        Vec::new()
    }

    fn open_delete_dialog(
        &mut self,
        entry: usize,
        selection: &[(RepoName, Tag)],
    ) -> Result<(), String> {
        if selection.is_empty() {
            return Err("nothing to delete: mark tags with space in a tag list first".into());
        }
        self.deletable(entry)?;
        let repos: BTreeSet<&RepoName> = selection.iter().map(|(r, _)| r).collect();
        self.may_delete_in(entry, repos.iter().copied())?;
        let model = &self.storages[entry].model;
        let keep_blobs = self.keeps_blobs(entry);
        let with_blobs = |plan: Plan| {
            if keep_blobs {
                plan.keeping_blobs(model)
            } else {
                plan
            }
        };
        let delete = with_blobs(plan_rm(model, selection, Mode::Delete));
        // Only where referrers go with the image: Tab then switches to keeping them.
        let keep = delete
            .deletions
            .iter()
            .any(|d| d.reason.follows().is_some())
            .then(|| {
                with_blobs(plan_rm_with(
                    model,
                    selection,
                    Mode::Delete,
                    Referrers::Keep,
                ))
            });
        let untag = plan_rm(model, selection, Mode::Untag);
        self.ready_to_delete(entry, &delete)?;
        let title = match (selection, repos.len()) {
            ([(repo, tag)], _) => format!("delete {repo}:{tag}"),
            ([(repo, _), ..], 1) => format!("delete {} marked tags from {repo}", selection.len()),
            _ => format!(
                "delete {} marked tags in {} repositories",
                selection.len(),
                repos.len()
            ),
        };
        let mut choices = vec![Choice {
            label: "delete the image",
            explanation: DELETE_IMAGE,
            plan: PlanRef::new(delete),
        }];
        if let Some(keep) = keep {
            choices.push(Choice {
                label: "keep its referrers",
                explanation: KEEP_REFERRERS,
                plan: PlanRef::new(keep),
            });
        }
        choices.push(Choice {
            label: "untag only",
            explanation: UNTAG_ONLY,
            plan: PlanRef::new(untag),
        });
        self.dialog = Some(ConfirmDialog::new(entry, title, choices));
        Ok(())
    }

    /// Whether deletions on `entry` keep the blobs they free (`backup_blobs`).
    fn keeps_blobs(&self, entry: usize) -> bool {
        self.entries
            .get(entry)
            .is_some_and(|e| self.backup_blobs.contains(&e.name))
    }

    fn open_cleanup_dialog(
        &mut self,
        entry: usize,
        plan: Result<PlanRef, String>,
    ) -> Result<(), String> {
        let plan = plan.map_err(|e| format!("no plan to apply: {e}"))?;
        if plan.deletions.is_empty() {
            return Err("the policy deletes nothing here".into());
        }
        let plan = if self.keeps_blobs(entry) {
            PlanRef::new((*plan).clone().keeping_blobs(&self.storages[entry].model))
        } else {
            plan
        };
        self.deletable(entry)?;
        self.may_delete_in(entry, plan.deletions.iter().map(|d| &d.repository))?;
        self.ready_to_delete(entry, &plan)?;
        let title = format!("apply the cleanup: {} go", count(plan.tag_count(), "tag"));
        let choices = vec![Choice {
            label: "apply the cleanup",
            explanation: APPLY_CLEANUP,
            plan,
        }];
        self.dialog = Some(ConfirmDialog::new(entry, title, choices));
        Ok(())
    }

    /// Keys while the dialog is open: nothing else happens until it is closed.
    pub(super) fn dialog_intent(&mut self, action: Action) -> Vec<Effect> {
        let Some(dialog) = &mut self.dialog else {
            return Vec::new();
        };
        match action {
            Action::ConfirmDelete(plan) => return self.confirm_delete(plan),
            Action::Confirm => match dialog.stage {
                Stage::Confirming => {
                    if let Some(plan) = dialog.plan().cloned() {
                        return self.confirm_delete(plan);
                    }
                }
                Stage::Finished { .. } => return self.run_gc(),
                Stage::Applying { .. } => {}
            },
            Action::Cancel | Action::Back => match &mut dialog.stage {
                Stage::Confirming => {
                    self.dialog = None;
                    self.info("cancelled: nothing was deleted");
                }
                Stage::Applying {
                    req, cancelling, ..
                } => {
                    if !*cancelling {
                        *cancelling = true;
                        return vec![Effect::CancelApply(*req)];
                    }
                }
                Stage::Finished { .. } => self.dialog = None,
            },
            Action::SwitchMode => dialog.switch_mode(),
            Action::EditChar(c) if dialog.wants_typing() => {
                dialog.typed.push(c);
                dialog.warning = None;
            }
            Action::EditBackspace => {
                dialog.typed.pop();
            }
            Action::MoveDown => dialog.scroll_by(1),
            Action::MoveUp => dialog.scroll_by(-1),
            Action::ScrollBy(n) => dialog.scroll_by(i64::from(n)),
            Action::PageDown => dialog.scroll_by(10),
            Action::PageUp => dialog.scroll_by(-10),
            other => tracing::debug!("ignored {other:?} in the dialog"),
        }
        Vec::new()
    }

    /// The second half of the handshake: only the plan on screen, only once confirmed as
    /// the dialog asks.
    fn confirm_delete(&mut self, plan: PlanRef) -> Vec<Effect> {
        let Some(dialog) = &self.dialog else {
            return Vec::new();
        };
        if dialog.stage != Stage::Confirming || dialog.plan() != Some(&plan) {
            tracing::debug!("dropped a confirmation for a plan that is not on screen");
            return Vec::new();
        }
        let entry = dialog.entry;
        if !dialog.typed_ok() {
            let name = dialog.required().unwrap_or_default();
            let warning = format!("type {name}, then enter; nothing was deleted");
            if let Some(d) = &mut self.dialog {
                d.warning = Some(warning);
            }
            return Vec::new();
        }
        // The model may have changed under the open dialog (a rescan): check again.
        let journal = match self
            .deletable(entry)
            .and_then(|journal| self.ready_to_delete(entry, &plan).map(|()| journal))
        {
            Ok(journal) => journal,
            Err(why) => {
                if let Some(d) = &mut self.dialog {
                    d.warning = Some(why);
                }
                return Vec::new();
            }
        };
        if plan.deletions.is_empty() {
            self.dialog = None;
            self.info("nothing to delete");
            return Vec::new();
        }
        let registry = self.entries[entry].name.clone();
        let req = self.req();
        let Some(dialog) = &mut self.dialog else {
            return Vec::new();
        };
        dialog.start(req);
        vec![Effect::ApplyPlan {
            req,
            entry,
            plan,
            journal,
            registry,
        }]
    }

    /// Progress and the end of an apply; at the end the model of the repositories it
    /// touched is scanned again.
    pub(super) fn on_apply(&mut self, action: Action) -> Vec<Effect> {
        let Some(dialog) = &mut self.dialog else {
            return Vec::new();
        };
        if dialog.apply_req() != action.req() {
            return Vec::new();
        }
        match action {
            Action::ApplyProgress { event, .. } => {
                dialog.progress(event);
                return Vec::new();
            }
            Action::ApplyFinished { report, .. } => {
                dialog.finish(&report);
                // Something was deleted: offer the registry's garbage collection, as the CLI.
                let deleted = report.steps.iter().any(|s| s.outcome == Outcome::Done);
                if let (true, Some(command)) = (
                    deleted,
                    self.gc_commands.get(&self.entries[dialog.entry].name),
                ) {
                    dialog.gc = Some(GcPane::Offered {
                        command: command.clone(),
                    });
                }
            }
            Action::TaskFailed { error, .. } => dialog.fail(error),
            _ => return Vec::new(),
        }
        let entry = dialog.entry;
        let repos = dialog.plan().map(|p| plan_repos(p)).unwrap_or_default();
        let finished = !matches!(dialog.stage, Stage::Applying { .. });
        let mut effects = self.changed_repos(entry, repos);
        // The storage's numbers and rows changed too, where they were read.
        if finished && self.storages[entry].layout.report().is_some() {
            effects.extend(self.read_storage_layout(entry, true));
        }
        effects
    }

    /// Enter on a finished dialog: runs the offered garbage collection, else closes.
    fn run_gc(&mut self) -> Vec<Effect> {
        let Some(Some(GcPane::Offered { command })) = self.dialog.as_ref().map(|d| &d.gc) else {
            self.dialog = None;
            return Vec::new();
        };
        let command = command.clone();
        let req = self.req();
        if let Some(dialog) = &mut self.dialog {
            dialog.gc = Some(GcPane::Running {
                req,
                command: command.clone(),
            });
        }
        vec![Effect::RunGc { req, command }]
    }

    /// The garbage collection's end: its output, and the change measured from what it lists
    /// (sizes known from the scan).
    pub(super) fn on_gc(&mut self, action: Action) -> Vec<Effect> {
        let Some(dialog) = &self.dialog else {
            return Vec::new();
        };
        let Some(Some(GcPane::Running { command, .. })) =
            (dialog.gc_req() == action.req()).then_some(&dialog.gc)
        else {
            return Vec::new();
        };
        let result = match action {
            Action::GcFinished { result, .. } => result,
            Action::TaskFailed { error, .. } => Err(GcError {
                command: command.clone(),
                detail: error,
            }),
            _ => return Vec::new(),
        };
        let summary = match &result {
            Ok(run) => {
                let storage = &self.storages[dialog.entry];
                let mut sizes = storage.model.blob_sizes();
                // Blobs only untagged manifests held are known from the storage's reading.
                if let Some(snapshot) = &storage.layout.snapshot {
                    sizes.extend(snapshot.blobs.iter().map(|(d, s)| (d.clone(), *s)));
                }
                summarize(&run.output, &sizes)
            }
            Err(_) => GcSummary::default(),
        };
        if let Some(dialog) = &mut self.dialog {
            dialog.gc = Some(GcPane::Ran { result, summary });
        }
        Vec::new()
    }

    /// After a delete or a restore: marks there are forgotten, tag lists reloaded, and the
    /// repositories scanned again.
    fn changed_repos(&mut self, entry: usize, repos: Vec<RepoName>) -> Vec<Effect> {
        self.storages[entry].clear_marks_in(&repos);
        let mut effects = Vec::new();
        for index in 0..self.stack.len() {
            if matches!(&self.stack[index], View::Tags(v) if v.entry == entry && repos.contains(&v.repo))
            {
                effects.extend(self.reload_tags(index));
            }
        }
        effects.extend(self.rescan(entry, repos));
        effects
    }

    pub(super) fn open_deleted(&mut self) -> Vec<Effect> {
        let Some(entry) = self.top().entry() else {
            return Vec::new();
        };
        let Some(journal) = self.journal.clone() else {
            self.error("no data directory: there is no journal of deletes to read");
            return Vec::new();
        };
        let req = self.req();
        let mut view = DeletedView::new(entry, self.entries[entry].name.clone());
        view.loads.push(req);
        self.stack.push(View::Deleted(view));
        vec![Effect::ListBackups { req, journal }]
    }

    pub(super) fn restore_selected(&mut self) -> Vec<Effect> {
        let View::Deleted(v) = self.top() else {
            return Vec::new();
        };
        let Some(backup) = v.selected() else {
            return Vec::new();
        };
        let (entry, id) = (v.entry, backup.id.clone());
        let what = format!("{}@{}", backup.repository, backup.digest);
        let journal = match self.writable(entry, "restore") {
            Ok(journal) => journal,
            Err(why) => {
                self.error(why);
                return Vec::new();
            }
        };
        let req = self.req();
        self.restores.insert(req, entry);
        self.info(format!("restoring {what}…"));
        vec![Effect::Restore {
            req,
            entry,
            journal,
            id,
        }]
    }

    pub(super) fn on_restored(&mut self, action: Action) -> Vec<Effect> {
        let Some(entry) = action.req().and_then(|r| self.restores.remove(&r)) else {
            return Vec::new();
        };
        match action {
            Action::Restored { result: Ok(r), .. } => {
                let tags = if r.tags.is_empty() {
                    "no tags".to_string()
                } else {
                    format!("tags {}", r.tags.join(", "))
                };
                let mut text = format!("restored {}@{} with {tags}", r.repository, r.digest);
                // A tag pushed again since the delete was not moved back: say so.
                if !r.left_alone.is_empty() {
                    text.push_str(&format!("; left alone: {}", r.left_alone.join("; ")));
                }
                self.info(text);
                match RepoName::parse(&r.repository) {
                    Ok(repo) => self.changed_repos(entry, vec![repo]),
                    Err(_) => Vec::new(),
                }
            }
            Action::Restored { result: Err(e), .. } => {
                self.error(e.to_string());
                Vec::new()
            }
            Action::TaskFailed { error, .. } => {
                self.error(error);
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    pub(super) fn open_cleanup(&mut self) {
        let (entry, repo) = match self.top() {
            View::Repos(v) => (v.entry, v.selected().map(|r| r.name.to_string())),
            View::Tags(v) => (v.entry, Some(v.repo.to_string())),
            _ => return,
        };
        let view = CleanupView::new(
            entry,
            self.policies.clone(),
            repo.as_deref().unwrap_or_default(),
        );
        self.stack.push(View::Cleanup(view));
    }

    /// Keys on the cleanup form; `None` for the ones it leaves to the app.
    pub(super) fn cleanup_intent(&mut self, action: &Action) -> Option<Vec<Effect>> {
        let page = self.page();
        let View::Cleanup(v) = self.top_mut() else {
            return None;
        };
        let replan = match action {
            Action::MoveDown => {
                v.move_focus(1);
                false
            }
            Action::MoveUp => {
                v.move_focus(-1);
                false
            }
            Action::PageDown => {
                v.scroll_by(page as i64);
                false
            }
            Action::PageUp => {
                v.scroll_by(-(page as i64));
                false
            }
            Action::ScrollBy(n) => {
                v.scroll_by(i64::from(*n));
                false
            }
            Action::First => {
                v.scroll_by(i64::MIN / 2);
                false
            }
            Action::Last => {
                v.scroll_by(i64::MAX / 2);
                false
            }
            Action::EditField => v.edit(),
            Action::NextPolicy => {
                v.next_policy();
                true
            }
            Action::EditChar(c) => {
                v.type_char(*c);
                false
            }
            Action::EditBackspace => {
                v.backspace();
                false
            }
            Action::EditKeep => {
                v.keep();
                true
            }
            Action::EditCancel => {
                v.undo();
                false
            }
            _ => return None,
        };
        if replan {
            self.replan_cleanup();
        }
        Some(Vec::new())
    }

    fn replan_cleanup(&mut self) {
        let now = self.now;
        let last = self.stack.len() - 1;
        if let View::Cleanup(v) = &mut self.stack[last]
            && let Some(storage) = self.storages.get(v.entry)
        {
            v.replan(&storage.model, now, storage.generation());
        }
    }
}

/// The repositories a plan touches, in order.
fn plan_repos(plan: &Plan) -> Vec<RepoName> {
    let names: BTreeSet<&str> = plan
        .deletions
        .iter()
        .map(|d| d.repository.as_str())
        .collect();
    names
        .into_iter()
        .filter_map(|n| RepoName::parse(n).ok())
        .collect()
}
