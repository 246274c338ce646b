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

use std::time::Duration;

use super::text::{media_type, short_digest};
use super::units::{age_secs, count, percent, size, size_exact};
use crate::copy::{
    BlobAction, BlobProgress, CopyOutcome, CopyPlan, PlannedImage, ProgressSnapshot, TagChange,
};
use crate::registry::Digest;

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
                    BlobAction::AskOnApply => "asked when applying".to_string(),
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
    // Only a plan applied without asking first has blobs still to ask for.
    let to_ask = if t.blobs_to_ask > 0 {
        format!(", {} to ask for when applying", t.blobs_to_ask)
    } else {
        String::new()
    };
    format!(
        "{}: {} to push ({} present), {} missing ({} mounted, {} transferred), {} present{to_ask}; {} to set; {} to move",
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
    if outcome.blobs_found_present > 0 {
        lines.push(format!(
            "found there already: {}",
            count(outcome.blobs_found_present, "blob")
        ));
    }
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

/// `blob sha256:0123456789ab…`: a blob's name on its progress bar.
pub fn blob_label(digest: &Digest) -> String {
    format!("blob {}", short_digest(digest.as_str()))
}

/// The rate and the time left of a copy that moved `moved` of `total` bytes in `elapsed`:
/// `1.2 MiB/s`, `ETA 14s`; `-` until a byte has moved.
pub fn rate_and_eta(moved: u64, total: u64, elapsed: Duration) -> (String, String) {
    let secs = elapsed.as_secs_f64();
    if moved == 0 || secs <= 0.0 {
        return ("- /s".into(), "ETA -".into());
    }
    let per_sec = moved as f64 / secs;
    let left = total.saturating_sub(moved) as f64 / per_sec;
    (
        format!("{}/s", size(per_sec as u64)),
        format!("ETA {}", age_secs(left.ceil() as i64)),
    )
}

/// The total line of a running copy: bytes, rate, time left, then blobs, manifests and
/// tags done of those the plan has.
/// `4.2 MiB of 10 MiB (42.0%) · 1.1 MiB/s · ETA 6s · blobs 3/8 · manifests 1/3 · tags 0/1`.
pub fn progress_total_line(plan: &CopyPlan, now: &ProgressSnapshot, elapsed: Duration) -> String {
    let t = &plan.totals;
    let total = t.bytes_to_move;
    let (rate, eta) = rate_and_eta(now.bytes_moved, total, elapsed);
    format!(
        "{} of {} ({}) · {rate} · {eta} · blobs {}/{} · manifests {}/{} · tags {}/{}",
        size(now.bytes_moved),
        size(total),
        percent(now.bytes_moved.min(total), total),
        now.blobs_done,
        t.blobs_mounted + t.blobs_transferred,
        now.manifests_done,
        t.manifests_to_push,
        now.tags_done,
        t.tags_to_set,
    )
}

/// One blob on its way: `blob sha256:0123456789ab… into acme/api  1.2 MiB of 3.3 MiB`.
pub fn progress_blob_line(blob: &BlobProgress) -> String {
    format!(
        "{} into {}  {} of {}",
        blob_label(&blob.digest),
        blob.repository,
        size(blob.moved),
        size(blob.size)
    )
}

/// The last line of a copy stopped by the user: what that leaves behind.
pub const COPY_CANCELLED_NOTE: &str = "Copy stopped: the destination holds complete blobs and manifests only, and no tag points at an incomplete image. Copy again to move what is still missing.";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::RepoName;

    #[test]
    fn rate_and_time_left_come_from_the_bytes_moved_so_far() {
        let mib = 1024 * 1024;
        assert_eq!(
            rate_and_eta(2 * mib, 10 * mib, Duration::from_secs(2)),
            ("1 MiB/s".to_string(), "ETA 8s".to_string())
        );
        // Nothing moved yet: no rate to divide by.
        assert_eq!(
            rate_and_eta(0, 10 * mib, Duration::from_secs(2)),
            ("- /s".to_string(), "ETA -".to_string())
        );
        assert_eq!(
            rate_and_eta(10 * mib, 10 * mib, Duration::from_secs(5)).1,
            "ETA 0s"
        );
    }

    #[test]
    fn a_blob_on_its_way_reads_with_its_short_digest_and_bytes() {
        let blob = BlobProgress {
            digest: Digest::sha256_of(b"x"),
            repository: RepoName::parse("acme/api").unwrap(),
            size: 3 * 1024,
            moved: 1024,
        };
        let hex12 = &blob.digest.hex()[..12];
        assert_eq!(
            progress_blob_line(&blob),
            format!("blob sha256:{hex12}… into acme/api  1 KiB of 3 KiB")
        );
    }
}
