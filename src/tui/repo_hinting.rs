//! The worker of the repository's size hints (`w` on the drift view): the code of
//! `regatta hints --repo` ([`crate::layers::repo_hints::repo_hints`]), concurrent, through the
//! session's documents (a tag's image by the digest the scan resolved is answered from
//! memory) and the listing cache, reporting the bytes read every 100 ms. Aborting the task
//! drops every listing in flight, which stops their downloads.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::mpsc::UnboundedSender;

use super::action::{Action, ReqId};
use super::workers::NO_LAYER_SOURCE;
use crate::layers::drift::Candidate;
use crate::layers::repo_hints::{RepoProgress, RepoRequest, repo_hints};
use crate::layers::{LayerSource, ListOptions, ListingCache};
use crate::registry::{ManifestRef, RepoName, Source, Tag};

/// What to compute: the tags of `repo` and the named bases of its drift.
pub struct Job {
    pub repo: RepoName,
    pub tags: Vec<(Tag, ManifestRef)>,
    pub candidates: Vec<Candidate>,
}

pub async fn run(
    sources: Option<(Arc<dyn Source>, LayerSource)>,
    req: ReqId,
    job: Job,
    tx: UnboundedSender<Action>,
) {
    let Some((source, layers)) = sources else {
        let result = Err(NO_LAYER_SOURCE.to_string());
        let _ = tx.send(Action::RepoHintsBuilt { req, result });
        return;
    };
    let options = ListOptions {
        cache: ListingCache::default_location(),
        ..ListOptions::default()
    };
    let progress = RepoProgress::default();
    let request = RepoRequest {
        source: source.as_ref(),
        layers: &layers,
        repo: &job.repo,
        tags: job.tags,
        platform: None,
        candidates: &job.candidates,
        options: &options,
    };
    let work = repo_hints(request, &progress);
    tokio::pin!(work);
    let started = std::time::Instant::now();
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(100));
    let report = loop {
        tokio::select! {
            report = &mut work => break report,
            _ = tick.tick() => {
                let raw = options.progress.load(Ordering::Relaxed);
                let seconds = started.elapsed().as_secs_f64();
                let rate = if seconds > 0.0 { (raw as f64 / seconds) as u64 } else { 0 };
                let _ = tx.send(Action::RepoHintsProgress {
                    req,
                    read: progress.done(&options),
                    total: progress.total.load(Ordering::Relaxed),
                    rate,
                });
            }
        }
    };
    let result = Ok(Arc::new(report));
    let _ = tx.send(Action::RepoHintsBuilt { req, result });
}
