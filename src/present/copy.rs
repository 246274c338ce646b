//! A copy plan and its outcome as text, written once (`regatta cp` prints these lines).
//!
//! ```text
//! copy 127.0.0.1:5000 -> 127.0.0.1:6000
//!   app:v1 -> app:v1  sha256:3f1c… (new tag)
//!     manifest sha256:9a0e… linux/amd64  push
//!     blob sha256:77aa…  1.2 MiB  transfer
//!     blob sha256:12bb…  300 B  present
//! 1 image: 2 manifests to push, 3 blobs missing (1 mounted, 2 transferred), 1 present;
//! 1.5 MiB (1573100 bytes) to move
//! ```

use super::text::media_type;
use super::units::{count, size, size_exact};
use crate::copy::{BlobAction, CopyOutcome, CopyPlan, PlannedImage, TagChange};

fn tag_note(image: &PlannedImage) -> String {
    match &image.tag {
        TagChange::Untagged => "by digest, no tag".into(),
        TagChange::New => "new tag".into(),
        TagChange::Unchanged => "tag already there".into(),
        TagChange::Moves { from } => format!("tag moves from {from}"),
    }
}

fn destination(image: &PlannedImage) -> String {
    match &image.destination_tag {
        Some(tag) => format!("{}:{tag}", image.destination_repository),
        None => format!("{}@{}", image.destination_repository, image.digest),
    }
}

/// The plan, image by image with the manifests and blobs each needs, then the totals.
pub fn plan_lines(plan: &CopyPlan) -> Vec<String> {
    let mut lines = vec![format!("copy {} -> {}", plan.source, plan.destination)];
    let mut listed = std::collections::HashSet::new();
    for image in &plan.images {
        lines.push(format!(
            "  {} -> {}  {} ({})",
            image.source,
            destination(image),
            image.digest,
            tag_note(image)
        ));
        if let Some(platform) = &image.platform {
            lines.push(format!(
                "    platform {platform} picked out of the index {}: the destination gets {}, a different digest",
                image.source_digest, image.digest
            ));
        }
        // The manifests of this image (the tagged one and what it lists), each listed once.
        let mut stack = vec![image.digest.clone()];
        let mut order = Vec::new();
        while let Some(digest) = stack.pop() {
            if let Some(m) = plan.manifest(&image.destination_repository, &digest) {
                order.push(m);
                stack.extend(m.children.iter().rev().cloned());
            }
        }
        for m in order {
            if !listed.insert((m.repository.clone(), m.digest.clone())) {
                continue;
            }
            let platform = m
                .platform
                .as_deref()
                .map(|p| format!(" {p}"))
                .unwrap_or_default();
            let state = if m.present { "present" } else { "push" };
            lines.push(format!(
                "    manifest {} {}{platform}  {}  {state}",
                m.digest,
                media_type(&m.media_type),
                size(m.size)
            ));
            for digest in &m.blobs {
                let Some(blob) = plan
                    .blobs
                    .iter()
                    .find(|b| b.repository == m.repository && &b.digest == digest)
                else {
                    continue;
                };
                if !listed.insert((blob.repository.clone(), blob.digest.clone())) {
                    continue;
                }
                let action = match &blob.action {
                    BlobAction::Present => "present".to_string(),
                    BlobAction::Mount { from } => format!("mount from {from}"),
                    BlobAction::Transfer => "transfer".to_string(),
                };
                lines.push(format!(
                    "      blob {}  {}  {action}",
                    blob.digest,
                    size(blob.size)
                ));
            }
        }
    }
    lines.push(totals_line(plan));
    lines
}

/// `2 images: 3 manifests to push (1 present), 4 blobs missing (1 mounted, 3 transferred),
/// 2 present; 3 tags to set; 1.2 MiB (…) to move`.
pub fn totals_line(plan: &CopyPlan) -> String {
    let t = &plan.totals;
    format!(
        "{}: {} to push ({} present), {} missing ({} mounted, {} transferred), {} present; {} to set; {} to move",
        count(t.images, "image"),
        count(t.manifests_to_push, "manifest"),
        t.manifests_present,
        count(t.blobs_mounted + t.blobs_transferred, "blob"),
        t.blobs_mounted,
        t.blobs_transferred,
        t.blobs_present,
        count(t.tags_to_set, "tag"),
        size_exact(t.bytes_to_move)
    )
}

/// What applying did: counts, then one line per failure.
pub fn outcome_lines(outcome: &CopyOutcome) -> Vec<String> {
    let mut lines = vec![format!(
        "copied: {} transferred ({}), {} mounted, {} pushed, {} set",
        count(outcome.blobs_transferred, "blob"),
        size_exact(outcome.bytes_transferred),
        count(outcome.blobs_mounted, "blob"),
        count(outcome.manifests_pushed, "manifest"),
        count(outcome.tags_set, "tag"),
    )];
    for f in &outcome.failures {
        lines.push(format!("failed: {}: {}", f.what, f.reason));
    }
    lines
}

/// The last line of a dry run (`cp`, which copies with `--apply`).
pub const DRY_RUN_NOTE: &str = "Dry run: nothing was copied. Run again with --apply to copy.";

/// The last line of `export --dry-run` and `import --dry-run`.
pub const DRY_RUN_FLAG_NOTE: &str =
    "Dry run: nothing was copied. Run again without --dry-run to copy.";
