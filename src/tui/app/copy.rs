//! The copy handshake: `c` on a tag (or the marked tags) -> the destination picker -> a
//! worker plans the copy (`Effect::PlanCopy`) -> the plan dialog -> `ConfirmCopy(plan)` with
//! the very plan shown -> a worker copies (`Effect::ApplyCopy`) with a progress pane -> what
//! was copied. Esc while copying aborts the task: as with a killed `regatta cp`, the
//! destination then holds complete blobs and manifests only and no tag on an incomplete
//! image, and copying again moves only what is still missing.

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::App;
use crate::copy::ImageRequest;
use crate::registry::{ManifestRef, RepoName, Tag};
use crate::tui::action::{Action, CopyJob, CopyTo, Effect};
use crate::tui::keymap::Mode;
use crate::tui::views::View;
use crate::tui::widgets::copy::{
    CopyDialog, CopyStage, Destination, cancelled_lines, finished_lines,
};

impl App {
    pub fn copy_dialog(&self) -> Option<&CopyDialog> {
        self.copy.as_ref()
    }

    /// The keys' mode while the copy dialog is open: typing while picking, else confirming.
    pub(super) fn copy_mode(&self) -> Option<Mode> {
        Some(match self.copy.as_ref()?.stage {
            CopyStage::Picking => Mode::TypeConfirm,
            _ => Mode::Confirm,
        })
    }

    /// Enter on a shown plan confirms that very plan (nothing to copy: it closes).
    pub(super) fn copy_confirmation(&self) -> Option<Action> {
        match &self.copy.as_ref()?.stage {
            CopyStage::Planned { plan } if !plan.0.is_noop() => {
                Some(Action::ConfirmCopy(plan.clone()))
            }
            _ => Some(Action::Confirm),
        }
    }

    /// `c`: the marked tags, or the selected one, into the destination picker.
    pub(super) fn request_copy(&mut self) -> Vec<Effect> {
        let View::Tags(v) = self.top() else {
            return Vec::new();
        };
        let entry = v.entry;
        let marks = self.storages[entry].marks();
        let images: Vec<(RepoName, Tag)> = if marks.is_empty() {
            v.selected()
                .map(|r| (v.repo.clone(), r.tag.clone()))
                .into_iter()
                .collect()
        } else {
            marks.iter().cloned().collect()
        };
        if images.is_empty() {
            self.error("nothing to copy: select a tag, or mark tags with space");
            return Vec::new();
        }
        let source = &self.entries[entry];
        if source.client.is_none() {
            self.error(format!(
                "{} is an OCI layout or the demo: copying is offered from registries (regatta cp and export copy from the command line)",
                source.name
            ));
            return Vec::new();
        }
        let mut destinations: Vec<Destination> = self
            .entries
            .iter()
            .enumerate()
            .filter(|(i, e)| *i != entry && e.client.is_some())
            .map(|(i, e)| Destination::Registry {
                entry: i,
                label: format!("{} ({})", e.name, e.location),
            })
            .collect();
        destinations.push(Destination::Directory);
        let repos: BTreeSet<&RepoName> = images.iter().map(|(r, _)| r).collect();
        let repository = match repos.iter().next() {
            Some(repo) if repos.len() == 1 => repo.to_string(),
            _ => String::new(),
        };
        self.copy = Some(CopyDialog {
            source: entry,
            source_name: source.name.clone(),
            images,
            destinations,
            choice: 0,
            repository,
            directory: String::new(),
            stage: CopyStage::Picking,
            scroll: 0,
            job: None,
        });
        Vec::new()
    }

    /// Keys while the copy dialog is open: nothing else happens until it is closed.
    pub(super) fn copy_intent(&mut self, action: Action) -> Vec<Effect> {
        let Some(dialog) = &mut self.copy else {
            return Vec::new();
        };
        match (&mut dialog.stage, action) {
            (CopyStage::Picking, Action::MoveDown) => {
                dialog.choice = (dialog.choice + 1).min(dialog.destinations.len() - 1);
            }
            (CopyStage::Picking, Action::MoveUp) => {
                dialog.choice = dialog.choice.saturating_sub(1);
            }
            (CopyStage::Picking, Action::EditChar(c)) => dialog.field_mut().push(c),
            (CopyStage::Picking, Action::EditBackspace) => {
                dialog.field_mut().pop();
            }
            (CopyStage::Picking, Action::Confirm) => return self.plan_copy(),
            // Enter while planning waits for the plan (Esc stops it).
            (CopyStage::Planning { .. }, Action::Confirm) => {}
            (CopyStage::Planning { req }, Action::Cancel) => {
                let req = *req;
                self.copy = None;
                return vec![Effect::Abort(vec![req])];
            }
            (CopyStage::Planned { plan }, Action::ConfirmCopy(confirmed)) => {
                if *plan != confirmed {
                    return Vec::new();
                }
                let Some(job) = dialog.job.clone() else {
                    return Vec::new();
                };
                let req = self.req();
                if let Some(dialog) = &mut self.copy {
                    dialog.stage = CopyStage::Copying {
                        req,
                        plan: confirmed.clone(),
                        snapshot: Default::default(),
                        elapsed: Default::default(),
                    };
                    dialog.scroll = 0;
                }
                return vec![Effect::ApplyCopy {
                    req,
                    job,
                    plan: confirmed,
                }];
            }
            (CopyStage::Copying { .. }, Action::Cancel) => return self.stop_copy(),
            (CopyStage::Copying { .. }, _) => {}
            (_, Action::MoveDown) => dialog.scroll += 1,
            (_, Action::MoveUp) => dialog.scroll = dialog.scroll.saturating_sub(1),
            (_, Action::Cancel | Action::Confirm) => self.copy = None,
            (_, other) => tracing::debug!("ignored {other:?} in the copy dialog"),
        }
        Vec::new()
    }

    /// Stops a running copy (its task is aborted between two awaits, as a killed `regatta
    /// cp` stops): `None` when no copy runs.
    pub(super) fn stop_copy_for_quit(&mut self) -> Option<Vec<Effect>> {
        match self.copy.as_ref()?.stage {
            CopyStage::Copying { .. } => Some(self.stop_copy()),
            _ => None,
        }
    }

    fn stop_copy(&mut self) -> Vec<Effect> {
        let Some(dialog) = &mut self.copy else {
            return Vec::new();
        };
        let CopyStage::Copying { req, .. } = dialog.stage else {
            return Vec::new();
        };
        dialog.stage = CopyStage::Finished {
            lines: cancelled_lines(),
            complete: false,
        };
        self.info("copy stopped; copy again to move what is still missing");
        vec![Effect::Abort(vec![req])]
    }

    /// Enter in the picker: the copy as typed into a job, planned by a worker.
    fn plan_copy(&mut self) -> Vec<Effect> {
        let Some(dialog) = &self.copy else {
            return Vec::new();
        };
        match job_of(dialog) {
            Err(why) => {
                self.error(why);
                Vec::new()
            }
            Ok(job) => {
                let req = self.req();
                if let Some(dialog) = &mut self.copy {
                    dialog.stage = CopyStage::Planning { req };
                    dialog.job = Some(job.clone());
                }
                self.message = None;
                vec![Effect::PlanCopy { req, job }]
            }
        }
    }

    /// Results of the copy's workers (a result for a closed dialog is dropped).
    pub(super) fn on_copy(&mut self, action: Action) -> Vec<Effect> {
        let Some(dialog) = &mut self.copy else {
            return Vec::new();
        };
        if dialog.req() != action.req() {
            return Vec::new();
        }
        match action {
            Action::CopyPlanned { result, .. } => match result {
                Ok(plan) => {
                    dialog.stage = CopyStage::Planned { plan };
                    dialog.scroll = 0;
                }
                Err(why) => {
                    dialog.stage = CopyStage::Picking;
                    self.error(format!("cannot plan the copy: {why}"));
                }
            },
            Action::CopyProgressed {
                snapshot: now,
                elapsed: at,
                ..
            } => {
                if let CopyStage::Copying {
                    snapshot, elapsed, ..
                } = &mut dialog.stage
                {
                    *snapshot = now;
                    *elapsed = at;
                }
            }
            Action::CopyFinished { outcome, .. } => {
                let complete = outcome.is_complete();
                dialog.stage = CopyStage::Finished {
                    lines: finished_lines(&outcome),
                    complete,
                };
                dialog.scroll = 0;
                if complete {
                    self.info("copied");
                } else {
                    self.error("the copy did not complete; copy again to move what is missing");
                }
            }
            Action::TaskFailed { error, .. } => {
                dialog.stage = CopyStage::Finished {
                    lines: vec![error],
                    complete: false,
                };
            }
            _ => {}
        }
        Vec::new()
    }

    /// Whether `req` is the copy dialog's.
    pub(super) fn copies(&self, req: crate::tui::action::ReqId) -> bool {
        self.copy.as_ref().and_then(CopyDialog::req) == Some(req)
    }
}

/// The images of `dialog` as copy requests to its chosen destination.
fn job_of(dialog: &CopyDialog) -> Result<CopyJob, String> {
    let request = |(repo, tag): &(RepoName, Tag), destination: &RepoName| ImageRequest {
        source_repository: repo.clone(),
        source_reference: ManifestRef::Tag(tag.clone()),
        destination_repository: destination.clone(),
        destination_tag: Some(tag.clone()),
    };
    match dialog.destination() {
        None => Err("no destination to copy to".into()),
        Some(Destination::Registry { entry, .. }) => {
            let named = dialog.repository.trim();
            let repository = if named.is_empty() {
                None
            } else {
                Some(RepoName::parse(named).map_err(|e| format!("repository {named:?}: {e}"))?)
            };
            if repository.is_some() {
                let tags: BTreeSet<&Tag> = dialog.images.iter().map(|(_, t)| t).collect();
                if tags.len() < dialog.images.len() {
                    return Err("two marked tags have one name: into one repository, one would replace the other; leave the repository empty to keep each image's".into());
                }
            }
            Ok(CopyJob {
                source: dialog.source,
                destination: CopyTo::Registry(*entry),
                requests: dialog
                    .images
                    .iter()
                    .map(|image| request(image, repository.as_ref().unwrap_or(&image.0)))
                    .collect(),
            })
        }
        Some(Destination::Directory) => {
            let dir = dialog.directory.trim();
            if dir.is_empty() {
                return Err("type the directory to export to".into());
            }
            let tags: BTreeSet<&Tag> = dialog.images.iter().map(|(_, t)| t).collect();
            if tags.len() < dialog.images.len() {
                return Err("two marked tags have one name; a layout holds one image per tag: export them to separate directories".into());
            }
            Ok(CopyJob {
                source: dialog.source,
                destination: CopyTo::Directory(PathBuf::from(dir)),
                requests: dialog
                    .images
                    .iter()
                    .map(|image| request(image, &image.0))
                    .collect(),
            })
        }
    }
}
