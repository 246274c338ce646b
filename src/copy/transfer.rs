//! Streaming one blob from a source to a destination, its digest and size checked on the way:
//! a copy's transfers, and blob backups (registry to backup layout before a delete, and back
//! on restore).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::StreamExt;

use super::execute::CopyProgress;
use super::plan::{Ends, PlannedBlob};
use crate::registry::upload::{StreamFault, Verdict, verified};
use crate::registry::{Digest, RepoName, UploadSession};

/// Streams one blob from the source to the destination, its digest and size checked on the
/// way: a wrong body is cut off before its end, so the destination never completes it.
pub(super) async fn transfer(
    ends: &Ends<'_>,
    blob: &PlannedBlob,
    progress: &CopyProgress,
    session: Option<UploadSession>,
) -> Result<(), String> {
    // Counted into the blob's own bar and into the total as the bytes pass.
    let (_active, moved) = progress.start(blob);
    let counted = Counted {
        moved,
        total: Some(progress.bytes_moved.clone()),
        session,
    };
    transfer_counted(
        ends,
        (&blob.source_repository, &blob.repository),
        &blob.digest,
        blob.size,
        counted,
    )
    .await
}

/// Where a transfer's bytes are counted, and the upload session to send them into.
struct Counted {
    moved: Arc<AtomicU64>,
    total: Option<Arc<AtomicU64>>,
    session: Option<UploadSession>,
}

/// Streams blob `digest` of `size` bytes from the source's repository `repos.0` to the
/// destination's `repos.1`, hashed and counted on the way into `moved`: a wrong body is cut
/// off before its end, so nothing is completed under `digest`. Copies use it, and so do blob
/// backups (registry to backup layout before a delete, and back on restore). The error is
/// one sentence.
pub async fn transfer_blob(
    ends: &Ends<'_>,
    repos: (&RepoName, &RepoName),
    digest: &Digest,
    size: u64,
    moved: Arc<AtomicU64>,
) -> Result<(), String> {
    let counted = Counted {
        moved,
        total: None,
        session: None,
    };
    transfer_counted(ends, repos, digest, size, counted).await
}

/// [`transfer_blob`], the bytes counted into `total` too as they pass, and sent into an
/// upload session already open when there is one.
async fn transfer_counted(
    ends: &Ends<'_>,
    repos: (&RepoName, &RepoName),
    digest: &Digest,
    size: u64,
    Counted {
        moved,
        total,
        session,
    }: Counted,
) -> Result<(), String> {
    let chunks = ends
        .source
        .open_blob(repos.0, digest, size)
        .await
        .map_err(|e| format!("reading it from the source: {e}"))?;
    let verdict = Arc::new(Verdict::default());
    let counted = chunks.inspect(move |chunk| {
        if let (Ok(bytes), Some(total)) = (chunk, &total) {
            total.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        }
    });
    let stream = verified(counted, digest.clone(), size, verdict.clone(), moved);
    let result = ends
        .destination
        .write_blob(repos.1, digest, size, stream.boxed(), session)
        .await;
    // What the stream found wins over how the upload ended: it is why the upload ended.
    match (verdict.fault(), result) {
        (Some(fault), _) => Err(fault_sentence(digest, &fault)),
        (None, Ok(())) => Ok(()),
        (None, Err(e)) => Err(e.to_string()),
    }
}

fn fault_sentence(digest: &Digest, fault: &StreamFault) -> String {
    match fault {
        StreamFault::DigestMismatch { actual } => format!(
            "the source sent bytes that hash to {actual}, not {digest}: aborted, nothing was written under that digest"
        ),
        StreamFault::WrongSize { expected, actual } => {
            format!("the source sent {actual} bytes where the manifest says {expected}: aborted")
        }
        StreamFault::SourceBroke(detail) => {
            format!(
                "the source's body could not be read to its end ({detail}): aborted; the same copy run again sends what is still missing"
            )
        }
    }
}
