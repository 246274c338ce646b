//! Copying images between registries (`regatta cp`): a copy is a plan, as a deletion is.
//!
//! [`plan::plan_copy`] reads the source's manifests and asks the destination (HEAD) what it
//! has; the plan lists each manifest, each blob the destination lacks and how it gets there
//! (a cross-repository mount inside one registry, else a transfer), and the bytes that will
//! move. [`execute::apply`] carries it out: blobs streamed from source to destination with
//! their digests checked on the way, each manifest after all its blobs and children, each tag
//! after its image is complete (each step as soon as it is ready: `schedule.rs`), so no tag ever
//! points at an incomplete image and a copy killed half-way resumes where it stopped when run
//! again.
//!
//! A plan made to be applied ([`plan::BlobAsking::OnApply`]) leaves the blobs of a registry
//! destination unasked; [`ask::ask_blobs`] asks for them with one mount request each, which
//! opens the upload of a missing blob, before anything moves and before the plan is shown.
//! [`plan::BlobAsking::WhilePlanning`] asks the same questions while the source's manifests
//! are still being read, each as soon as the manifest needing the blob is known.
//!
//! Like `cleanup/`, this sits above `registry/` and below the front ends.

pub mod ask;
pub mod ends;
pub mod execute;
#[cfg(test)]
mod execute_tests;
pub mod layout;
pub mod mirror;
mod needed;
pub mod plan;
pub mod referrers;
mod schedule;
pub mod sync;
mod transfer;

pub use ask::ask_blobs;
pub use ends::{ByteStream, CopyDestination, CopySource};
pub use execute::{BlobProgress, CopyFailure, CopyOutcome, CopyProgress, ProgressSnapshot, apply};
pub use plan::{
    BlobAction, BlobAsking, CopyPlan, CopyTotals, Ends, ImageRequest, PlanError, PlannedBlob,
    PlannedImage, PlannedManifest, PlatformFilter, TagChange, plan_copy, plan_copy_with,
};
pub use transfer::transfer_blob;
