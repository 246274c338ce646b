//! The copy dialog's work (`Effect::PlanCopy`, `Effect::ApplyCopy`): the same planner and
//! executor as `regatta cp` and `regatta export`, with each registry's own client (the
//! source's credentials never reach the destination), and the executor's counters sent
//! back a few times a second for the progress pane.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;

use super::action::{Action, CopyJob, CopyPlanRef, CopyTo, ReqId};
use crate::copy::layout::LayoutDestination;
use crate::copy::{CopyDestination, CopyFailure, CopyOutcome, CopyProgress, Ends};
use crate::registry::Client;

/// How often a running copy reports its counters.
const PROGRESS_EVERY: Duration = Duration::from_millis(200);

/// Plans `job` (a dry run: nothing is written) and reports the plan.
pub async fn plan(
    source: Client,
    destination: Option<Client>,
    job: CopyJob,
    req: ReqId,
    tx: UnboundedSender<Action>,
) {
    let result = plan_job(&source, destination.as_ref(), &job).await;
    let _ = tx.send(Action::CopyPlanned {
        req,
        result: result.map(|p| CopyPlanRef(Arc::new(p))),
    });
}

async fn plan_job(
    source: &Client,
    destination: Option<&Client>,
    job: &CopyJob,
) -> Result<crate::copy::CopyPlan, String> {
    let concurrency = source.options().concurrency;
    match (&job.destination, destination) {
        (CopyTo::Registry(_), Some(client)) => {
            let ends = Ends {
                source,
                destination: client,
            };
            crate::copy::plan_copy(&ends, &job.requests, None, concurrency)
                .await
                .map_err(|e| error_chain(&e))
        }
        (CopyTo::Registry(_), None) => Err("the destination has no client to write with".into()),
        (CopyTo::Directory(dir), _) => {
            // Planning writes nothing: without a layout there yet, it plans against an
            // empty one made aside and removed after (as `regatta export --dry-run`).
            let scratch = (!dir.join("oci-layout").is_file())
                .then(scratch_dir)
                .transpose()
                .map_err(|e| format!("cannot make a scratch directory to plan in: {e}"))?;
            let result = async {
                let layout = LayoutDestination::create(scratch.as_deref().unwrap_or(dir))
                    .map_err(|e| e.to_string())?;
                let ends = Ends {
                    source,
                    destination: &layout,
                };
                let mut plan = crate::copy::plan_copy(&ends, &job.requests, None, concurrency)
                    .await
                    .map_err(|e| error_chain(&e))?;
                plan.destination = dir.display().to_string();
                Ok(plan)
            }
            .await;
            if let Some(scratch) = scratch {
                let _ = std::fs::remove_dir_all(scratch);
            }
            result
        }
    }
}

/// Carries out a confirmed plan, reporting the counters as it goes, then the outcome.
/// Aborting this task stops the copy between two awaits: blobs are complete or absent,
/// manifests follow their blobs and tags come last.
pub async fn apply(
    source: Client,
    destination: Option<Client>,
    job: CopyJob,
    plan: CopyPlanRef,
    req: ReqId,
    tx: UnboundedSender<Action>,
) {
    let started = Instant::now();
    let progress = Arc::new(CopyProgress::default());
    let layout;
    let target: &dyn CopyDestination = match (&job.destination, &destination) {
        (CopyTo::Registry(_), Some(client)) => client,
        (CopyTo::Registry(_), None) => {
            return finish(&tx, req, started, failure("the destination", "no client"));
        }
        (CopyTo::Directory(dir), _) => match open_layout(dir) {
            Ok(l) => {
                layout = l;
                &layout
            }
            Err(why) => {
                return finish(&tx, req, started, failure(&dir.display().to_string(), &why));
            }
        },
    };
    let ends = Ends {
        source: &source,
        destination: target,
    };
    let concurrency = source.options().concurrency;
    let copying = crate::copy::apply(&plan.0, &ends, concurrency, &progress);
    let reporting = async {
        loop {
            tokio::time::sleep(PROGRESS_EVERY).await;
            let _ = tx.send(Action::CopyProgressed {
                req,
                snapshot: progress.snapshot(),
                elapsed: started.elapsed(),
            });
        }
    };
    let outcome = tokio::select! {
        outcome = copying => outcome,
        never = reporting => never,
    };
    finish(&tx, req, started, outcome);
}

fn open_layout(dir: &Path) -> Result<LayoutDestination, String> {
    LayoutDestination::create(dir).map_err(|e| e.to_string())
}

fn failure(what: &str, reason: &str) -> CopyOutcome {
    CopyOutcome {
        failures: vec![CopyFailure {
            what: what.to_string(),
            reason: reason.to_string(),
        }],
        ..CopyOutcome::default()
    }
}

fn finish(tx: &UnboundedSender<Action>, req: ReqId, started: Instant, outcome: CopyOutcome) {
    let _ = tx.send(Action::CopyFinished {
        req,
        outcome,
        elapsed: started.elapsed(),
    });
}

/// An error and its causes in one sentence (`what: cause: cause`).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// An empty directory under the system's temporary directory, for a plan.
fn scratch_dir() -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "regatta-export-plan-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
