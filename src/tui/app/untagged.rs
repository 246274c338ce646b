//! The storage view's rows below the API: marking untagged manifests and deleting them
//! through the same dialog, executor, backups and journal as every other deletion. The plan
//! comes from `cleanup::untagged` (what `cleanup --untagged` runs), made on a reading of the
//! storage taken right after `d`, so a manifest tagged since it was marked stays.

use std::collections::BTreeSet;

use super::App;
use crate::present::storage_layout::{UPLOAD_WHY, protected_why};
use crate::registry::{Digest, RepoName};
use crate::tui::action::{Effect, PlanRef};
use crate::tui::storage_layout::StorageRow;
use crate::tui::views::View;
use crate::tui::widgets::confirm::{Choice, ConfirmDialog};
use crate::tui::widgets::plan_text::count;

const DELETE_UNTAGGED: &str = "Deletes each untagged manifest by digest (an untagged index takes its untagged platform manifests along); no tag points at them, and the platform manifests of tagged indexes are never in the plan. The bytes are freed when garbage collection runs.";

impl App {
    /// Tab in the storage view: the cursor goes between the ranking and the storage rows.
    pub(super) fn switch_storage_focus(&mut self) {
        if let View::Storage(v) = self.top_mut()
            && !v.switch_focus()
            && v.rows_table.is_empty()
        {
            self.info("no storage rows here: the registry's storage has no untagged manifests nor uploads, or was not read");
        }
    }

    /// Space on a storage row: marks an untagged manifest; says in one line why a protected
    /// manifest or an upload cannot be marked.
    pub(super) fn toggle_storage_mark(&mut self) {
        let page = self.page();
        let View::Storage(v) = self.top() else {
            return;
        };
        let entry = v.entry;
        let layout = &self.storages[entry].layout;
        let Some(row) = v.selected_row(layout) else {
            self.info("press tab to move to the untagged manifests, then mark them with space");
            return;
        };
        match row {
            StorageRow::Untagged(u) => {
                let key = (u.repository.clone(), u.digest.clone());
                self.storages[entry].layout.toggle_mark(key);
                if let View::Storage(v) = self.top_mut() {
                    v.rows_table.move_by(1, page);
                }
            }
            StorageRow::Protected(p) => {
                let why = protected_why(p);
                self.error(why);
            }
            StorageRow::Upload(_) => self.error(UPLOAD_WHY),
        }
    }

    /// `d` in the storage view: the marked untagged manifests (or the selected one) are
    /// planned on a fresh reading of the storage, then shown in the dialog.
    pub(super) fn request_untagged_delete(&mut self, entry: usize) -> Vec<Effect> {
        let layout = &self.storages[entry].layout;
        let picked: BTreeSet<(RepoName, Digest)> = if layout.marked.is_empty() {
            let View::Storage(v) = self.top() else {
                return Vec::new();
            };
            match v.selected_row(layout) {
                Some(StorageRow::Untagged(u)) => {
                    BTreeSet::from([(u.repository.clone(), u.digest.clone())])
                }
                Some(StorageRow::Protected(p)) => {
                    let why = protected_why(p);
                    self.error(why);
                    return Vec::new();
                }
                Some(StorageRow::Upload(_)) => {
                    self.error(UPLOAD_WHY);
                    return Vec::new();
                }
                None => BTreeSet::new(),
            }
        } else {
            layout.marked.clone()
        };
        if picked.is_empty() {
            self.error(
                "nothing to delete: mark untagged manifests with space (tab moves to them) first",
            );
            return Vec::new();
        }
        if let Err(why) = self.deletable(entry) {
            self.error(why);
            return Vec::new();
        }
        self.storages[entry].layout.delete_after_read = Some(picked);
        self.info("reading the storage again before planning the delete…");
        self.read_storage_layout(entry, true)
    }

    /// The fresh reading arrived: the dialog opens on what is still untagged.
    pub(super) fn open_untagged_dialog(
        &mut self,
        entry: usize,
        picked: &BTreeSet<(RepoName, Digest)>,
    ) {
        let Some(snapshot) = self.storages[entry].layout.snapshot.clone() else {
            return;
        };
        let planned = crate::cleanup::untagged::plan_untagged_of(&snapshot, picked);
        let plan = planned.plan;
        let opened = (|| {
            if plan.deletions.is_empty() {
                return Err(
                    "nothing to delete: the marked manifests are no longer untagged".to_string(),
                );
            }
            self.deletable(entry)?;
            self.may_delete_in(entry, plan.deletions.iter().map(|d| &d.repository))?;
            self.ready_to_delete(entry, &plan)?;
            Ok(())
        })();
        if let Err(why) = opened {
            self.error(why);
            return;
        }
        let manifests = plan.deletions.len()
            + plan
                .deletions
                .iter()
                .map(|d| d.children.len())
                .sum::<usize>();
        let title = format!("delete {}", count(manifests, "untagged manifest"));
        let choices = vec![Choice {
            label: "delete untagged manifests",
            explanation: DELETE_UNTAGGED,
            plan: PlanRef::new(plan),
        }];
        self.dialog = Some(ConfirmDialog::new(entry, title, choices));
    }
}
