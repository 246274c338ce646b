//! What the TUI read of a registry's own storage (its `storage` config entry): the same
//! report `regatta du --storage` prints, read by a worker with the same `crate::storage`
//! code, so the storage view's numbers are the CLI's.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::action::ReqId;
use crate::cleanup::untagged::{
    ProtectedManifest, UntaggedPlan, plan_untagged_of, protected_manifests,
};
use crate::registry::{Digest, RepoName};
use crate::storage::account::{StorageReport, UntaggedManifest, UploadRow};
use crate::storage::snapshot::Snapshot;

/// Uploads started longer ago than this are abandoned (`du --uploads-older-than`'s default).
pub const ABANDONED_AFTER: jiff::SignedDuration = jiff::SignedDuration::from_hours(24);

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum LayoutState {
    /// Not read yet (or no storage configured).
    #[default]
    Unread,
    Reading(ReqId),
    Read(Arc<StorageReport>),
    /// It could not be read: why, in a sentence.
    Failed(String),
}

/// The registry's storage as the TUI knows it.
#[derive(Debug, Clone, Default)]
pub struct StorageLayout {
    /// Where the storage is (`/var/lib/registry`, `s3://bucket/prefix`); `None`: the view
    /// sees what the API shows only.
    pub location: Option<String>,
    /// A registry that has a storage of its own (not an OCI layout nor the demo): without
    /// `location`, the view says what it cannot see.
    pub registry: bool,
    pub state: LayoutState,
    /// Bumped on every change of `state`, so views tell their lines are old.
    pub revision: u64,
    /// What the last read found, for plans (`Read` only).
    pub snapshot: Option<Arc<Snapshot>>,
    /// The rows below the API of the last read.
    pub rows: Vec<StorageRow>,
    /// Untagged manifests marked for deletion.
    pub marked: BTreeSet<(RepoName, Digest)>,
    /// `d` asked to delete these: the storage is read again first, and the dialog opens on
    /// what is still untagged then.
    pub delete_after_read: Option<BTreeSet<(RepoName, Digest)>>,
    /// What garbage collection frees once the marked manifests are deleted (the plan's
    /// `bytes_freed`), worked out when the marks change.
    pub marked_freed: Option<u64>,
}

/// One read of the storage: its numbers, and the model plans are made from.
#[derive(Debug, Clone)]
pub struct StorageReading {
    pub report: Arc<StorageReport>,
    pub snapshot: Arc<Snapshot>,
}

/// A row of the storage view below the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageRow {
    /// Can be marked and deleted.
    Untagged(UntaggedManifest),
    /// A platform manifest of a tagged index: shown, never marked.
    Protected(ProtectedManifest),
    /// An upload: shown, never marked (see `present::storage_layout::UPLOAD_WHY`).
    Upload(UploadRow),
}

impl StorageRow {
    /// The mark key of a row that can be marked.
    pub fn mark_key(&self) -> Option<(RepoName, Digest)> {
        match self {
            StorageRow::Untagged(u) => Some((u.repository.clone(), u.digest.clone())),
            _ => None,
        }
    }
}

/// The rows of a read: untagged manifests, protected manifests, uploads.
pub fn rows(report: &StorageReport, snapshot: &Snapshot) -> Vec<StorageRow> {
    report
        .untagged
        .iter()
        .cloned()
        .map(StorageRow::Untagged)
        .chain(
            protected_manifests(snapshot)
                .into_iter()
                .map(StorageRow::Protected),
        )
        .chain(report.uploads.iter().cloned().map(StorageRow::Upload))
        .collect()
}

impl StorageLayout {
    pub fn req(&self) -> Option<ReqId> {
        match self.state {
            LayoutState::Reading(req) => Some(req),
            _ => None,
        }
    }

    pub fn report(&self) -> Option<&StorageReport> {
        match &self.state {
            LayoutState::Read(r) => Some(r),
            _ => None,
        }
    }

    pub fn set(&mut self, state: LayoutState) {
        self.state = state;
        self.revision += 1;
    }

    /// A read arrived: its rows replace the old ones; marks on manifests that are no longer
    /// untagged (deleted, or tagged again) go.
    pub fn set_read(&mut self, reading: StorageReading) {
        self.rows = rows(&reading.report, &reading.snapshot);
        let markable: BTreeSet<(RepoName, Digest)> =
            self.rows.iter().filter_map(StorageRow::mark_key).collect();
        self.marked.retain(|k| markable.contains(k));
        self.snapshot = Some(reading.snapshot);
        self.set(LayoutState::Read(reading.report));
        self.marks_changed();
    }

    /// The plan deleting the marked manifests, from the last read.
    pub fn marked_plan(&self) -> Option<UntaggedPlan> {
        let snapshot = self.snapshot.as_ref()?;
        (!self.marked.is_empty()).then(|| plan_untagged_of(snapshot, &self.marked))
    }

    fn marks_changed(&mut self) {
        self.marked_freed = self.marked_plan().map(|p| p.plan.bytes_freed);
    }

    pub fn clear_marks(&mut self) {
        self.marked.clear();
        self.marks_changed();
    }

    /// `2 marked · frees 1.2 MiB after garbage collection`, when something is marked.
    pub fn marks_text(&self) -> Option<String> {
        let freed = self.marked_freed?;
        Some(format!(
            "{} marked · frees {} after garbage collection",
            self.marked.len(),
            crate::present::size(freed)
        ))
    }

    /// Marks or unmarks; returns whether it is marked now.
    pub fn toggle_mark(&mut self, key: (RepoName, Digest)) -> bool {
        let marked = if self.marked.remove(&key) {
            false
        } else {
            self.marked.insert(key);
            true
        };
        self.marks_changed();
        marked
    }
}
