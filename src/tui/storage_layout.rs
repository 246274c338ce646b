//! What the TUI read of a registry's own storage (its `storage` config entry): the same
//! report `regatta du --storage` prints, read by a worker with the same `crate::storage`
//! code, so the storage view's numbers are the CLI's.

use std::sync::Arc;

use super::action::ReqId;
use crate::storage::account::StorageReport;

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
}
