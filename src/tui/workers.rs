//! Runs the app's effects as tokio tasks, each with its own `Arc<dyn Source>` (or `Client`
//! for writes), and sends what they find back as actions. Every task can be aborted by its
//! request id; an apply is rather asked to stop before its next step, so a step is never cut
//! in the middle.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use std::cell::Cell;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use futures::stream;
use futures::{FutureExt, StreamExt};
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::AbortHandle;

use super::action::{Action, AuditJob, Effect, ReqId};
use crate::cleanup::execute::Applier;
use crate::cleanup::journal::Journal;
use crate::cleanup::restore::restore;
use crate::registry::image::fetch_image;
use crate::registry::{Client, Digest, ManifestRef, RepoName, Source, Tag};
use crate::scan::{ScanOptions, scan};

/// Tag lists fetched at once while counting the tags of each repository.
pub const TAG_COUNT_CONCURRENCY: usize = 4;
/// Tags resolved (and their images fetched) at once.
pub const RESOLVE_CONCURRENCY: usize = 8;

/// What the workers take from the registries the app was started with.
pub trait Resources {
    fn source(&self, entry: usize) -> Option<Arc<dyn Source>>;
    /// The client for writes (none for layouts and the demo).
    fn client(&self, entry: usize) -> Option<Client>;
}

pub struct Workers {
    tx: UnboundedSender<Action>,
    running: HashMap<ReqId, AbortHandle>,
    /// Stop flags of running applies.
    cancels: HashMap<ReqId, Arc<AtomicBool>>,
}

impl Workers {
    pub fn new(tx: UnboundedSender<Action>) -> Self {
        Self {
            tx,
            running: HashMap::new(),
            cancels: HashMap::new(),
        }
    }

    /// Starts (or aborts) the work an effect asks for. [`Effect::Copy`] is the terminal's
    /// business and is ignored here.
    pub fn start(&mut self, effect: Effect, resources: &dyn Resources) {
        self.running.retain(|_, handle| !handle.is_finished());
        let running = &self.running;
        self.cancels.retain(|req, _| running.contains_key(req));
        let source = |entry| resources.source(entry);
        let tx = self.tx.clone();
        let (req, work): (ReqId, BoxFuture<'static, ()>) = match effect {
            Effect::CancelApply(req) => {
                if let Some(flag) = self.cancels.get(&req) {
                    flag.store(true, Ordering::SeqCst);
                }
                return;
            }
            Effect::Scan { req, entry, repos } => {
                let Some(source) = source(entry) else { return };
                (req, Box::pin(run_scan(source, req, repos, tx.clone())))
            }
            Effect::ApplyPlan {
                req,
                entry,
                plan,
                journal,
                registry,
            } => {
                let Some(client) = resources.client(entry) else {
                    return;
                };
                let cancel = Arc::new(AtomicBool::new(false));
                self.cancels.insert(req, cancel.clone());
                let tx = tx.clone();
                let work = async move {
                    let journal = Journal::new(journal);
                    let applier = Applier {
                        client: &client,
                        registry,
                        journal: &journal,
                    };
                    let on_event = |event| {
                        let _ = tx.send(Action::ApplyProgress { req, event });
                    };
                    let report = applier.apply(&plan, &cancel, &on_event).await;
                    let _ = tx.send(Action::ApplyFinished { req, report });
                };
                (req, Box::pin(work))
            }
            Effect::RunGc { req, command } => {
                let tx = tx.clone();
                let work = async move {
                    let result = crate::cleanup::gc::run(&command).await;
                    let _ = tx.send(Action::GcFinished { req, result });
                };
                (req, Box::pin(work))
            }
            Effect::ListBackups { req, journal } => {
                let tx = tx.clone();
                let work = async move {
                    let read = tokio::task::spawn_blocking(move || Journal::new(journal).backups());
                    let backups = read.await.unwrap_or_default();
                    let _ = tx.send(Action::BackupsListed { req, backups });
                };
                (req, Box::pin(work))
            }
            Effect::Restore {
                req,
                entry,
                journal,
                id,
            } => {
                let Some(client) = resources.client(entry) else {
                    return;
                };
                let tx = tx.clone();
                let work = async move {
                    let result = restore(&client, &Journal::new(journal), &id).await;
                    let _ = tx.send(Action::Restored { req, result });
                };
                (req, Box::pin(work))
            }
            Effect::Abort(reqs) => {
                for req in reqs {
                    if let Some(handle) = self.running.remove(&req) {
                        tracing::debug!("aborting {req}");
                        handle.abort();
                    }
                }
                return;
            }
            Effect::Copy(_) => return,
            Effect::Audit { req, entry, job } => {
                let Some(source) = source(entry) else { return };
                (req, Box::pin(run_audit(source, req, job, tx.clone())))
            }
            Effect::Ping { req, entry } => {
                let Some(source) = source(entry) else { return };
                let tx = tx.clone();
                let work = async move {
                    let result = source.ping().await;
                    let _ = tx.send(Action::PingFinished { req, result });
                };
                (req, Box::pin(work))
            }
            Effect::Probe { req, entry } => {
                let Some(client) = resources.client(entry) else {
                    return;
                };
                let tx = tx.clone();
                let work = async move {
                    let result = client.capabilities().await.map(Box::new);
                    let _ = tx.send(Action::Probed { req, result });
                };
                (req, Box::pin(work))
            }
            Effect::ListRepos { req, entry } => {
                let Some(source) = source(entry) else { return };
                (req, Box::pin(list_repos(source, req, tx.clone())))
            }
            Effect::ListTags { req, entry, repo } => {
                let Some(source) = source(entry) else { return };
                let tx = tx.clone();
                let work = async move {
                    let result = source.tags(&repo).await;
                    let _ = tx.send(Action::TagsLoaded { req, result });
                };
                (req, Box::pin(work))
            }
            Effect::ResolveTags {
                req,
                entry,
                repo,
                tags,
                known,
            } => {
                let Some(source) = source(entry) else { return };
                let work = resolve_tags(source, req, repo, tags, known, tx.clone());
                (req, Box::pin(work))
            }
            Effect::FetchImage {
                req,
                entry,
                repo,
                reference,
            } => {
                let Some(source) = source(entry) else { return };
                let tx = tx.clone();
                let work = async move {
                    let _ = tx.send(image_action(&*source, &repo, reference, req).await);
                };
                (req, Box::pin(work))
            }
        };
        tracing::debug!("started {req}");
        let task = tokio::spawn(async move {
            // A panic in the work (a bug, or data nobody expected) becomes a failure of this
            // request; the terminal stays as it is (see `in_worker`).
            if let Err(panic) = AssertUnwindSafe(Isolated(work)).catch_unwind().await {
                let error = format!("internal error while loading: {}", panic_text(panic));
                let _ = tx.send(Action::TaskFailed { req, error });
            }
        });
        self.running.insert(req, task.abort_handle());
    }

    /// Tasks not finished yet (for tests and shutdown).
    pub fn running(&mut self) -> usize {
        self.running.retain(|_, handle| !handle.is_finished());
        self.running.len()
    }

    pub fn abort_all(&mut self) {
        for (_, handle) in self.running.drain() {
            handle.abort();
        }
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.abort_all();
    }
}

thread_local! {
    static IN_WORKER: Cell<bool> = const { Cell::new(false) };
}

/// Whether the current thread is polling worker code. The panic hook uses it: a worker's
/// panic must not tear the terminal down under a UI that keeps running.
pub fn in_worker() -> bool {
    IN_WORKER.with(Cell::get)
}

/// Marks the thread as polling worker code for the duration of each poll.
struct Isolated(BoxFuture<'static, ()>);

/// Puts the worker mark back as it was when dropped (on unwind too).
struct WorkerMark(bool);

impl Drop for WorkerMark {
    fn drop(&mut self) {
        IN_WORKER.with(|f| f.set(self.0));
    }
}

impl Isolated {
    /// Marks the current thread as running worker code until the mark is dropped (for work
    /// on a blocking thread).
    fn mark() -> WorkerMark {
        WorkerMark(IN_WORKER.with(|f| f.replace(true)))
    }
}

impl Future for Isolated {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // The mark is put back on unwind too, so a panic does not leave the flag set.
        let _mark = Isolated::mark();
        self.0.as_mut().poll(cx)
    }
}

/// The audit of a job: which signature subjects still exist untagged (HEAD requests), then
/// the report, built on a blocking thread (it walks every tag of the model).
async fn run_audit(
    source: Arc<dyn Source>,
    req: ReqId,
    job: AuditJob,
    tx: UnboundedSender<Action>,
) {
    let input = job.0;
    // Only the audited repository's signatures need their subjects looked up.
    let candidates: Vec<_> =
        crate::audit::subjects_to_check(&input.model, &input.settings.patterns)
            .into_iter()
            .filter(|(repo, _)| input.repo.as_ref().is_none_or(|r| r == repo))
            .collect();
    let present = crate::audit::untagged_subjects(&*source, &candidates).await;
    let build = tokio::task::spawn_blocking(move || {
        let shown = input.repo.as_ref().and_then(|r| {
            globset::Glob::new(&globset::escape(r.as_str()))
                .ok()
                .map(|g| g.compile_matcher())
        });
        crate::audit::build_report(
            &input.model,
            &input.settings,
            input.now,
            shown.as_ref(),
            &present,
        )
    });
    match build.await {
        Ok(report) => {
            let _ = tx.send(Action::AuditBuilt {
                req,
                report: Arc::new(report),
            });
        }
        Err(e) => {
            let _ = tx.send(Action::TaskFailed {
                req,
                error: format!("internal error while building the audit: {e}"),
            });
        }
    }
}

/// Scans the registry (or some repositories of it), forwarding every fact as it is learned.
///
/// The scanner's future cannot be proven `Send` (a rustc limitation with the closures it
/// hands to stream combinators), so it cannot be a task of its own. It is polled on a
/// blocking thread with `Handle::block_on`, on this same runtime (the HTTP client's
/// connections stay on the runtime that made them). Aborting this task drops `stop`, which
/// ends the scan at its next await.
async fn run_scan(
    source: Arc<dyn Source>,
    req: ReqId,
    repos: Option<Vec<RepoName>>,
    tx: UnboundedSender<Action>,
) {
    let repo_filter = match repos.map(|r| repo_glob(&r)).transpose() {
        Ok(filter) => filter,
        Err(e) => {
            let _ = tx.send(Action::TaskFailed {
                req,
                error: format!("cannot select the repositories to scan: {e}"),
            });
            return;
        }
    };
    let options = ScanOptions {
        repo_filter,
        ..ScanOptions::default()
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::runtime::Handle::current();
    let events = tx.clone();
    let blocking = tokio::task::spawn_blocking(move || {
        let _worker = Isolated::mark();
        handle.block_on(async move {
            let sink = |event: &crate::analysis::model::ScanEvent| {
                let _ = events.send(Action::Scanned {
                    req,
                    event: event.clone(),
                });
            };
            tokio::select! {
                result = scan(&*source, &options, &sink) => {
                    let _ = events.send(Action::ScanFinished { req, result: result.map(|_| ()) });
                }
                _ = stopped => {}
            }
        });
    });
    let joined = blocking.await;
    drop(stop);
    if let Err(e) = joined
        && e.is_panic()
    {
        let _ = tx.send(Action::TaskFailed {
            req,
            error: format!(
                "internal error while scanning: {}",
                panic_text(e.into_panic())
            ),
        });
    }
}

/// One glob for a set of repositories: `{a,b,c}` (names hold no commas or braces).
fn repo_glob(repos: &[RepoName]) -> Result<globset::GlobMatcher, globset::Error> {
    let names: Vec<String> = repos.iter().map(|r| globset::escape(r.as_str())).collect();
    let glob = format!("{{{}}}", names.join(","));
    Ok(globset::GlobBuilder::new(&glob)
        .literal_separator(false)
        .build()?
        .compile_matcher())
}

fn panic_text(panic: Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string())
}

/// Lists the catalog page by page and counts each repository's tags as its page arrives,
/// a bounded number at a time.
async fn list_repos(source: Arc<dyn Source>, req: ReqId, tx: UnboundedSender<Action>) {
    let (names_tx, names_rx) = futures::channel::mpsc::unbounded::<RepoName>();
    let seen = Mutex::new(HashSet::new());
    let queue = |names: &[RepoName]| {
        let mut seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
        for name in names {
            if seen.insert(name.clone()) {
                let _ = names_tx.unbounded_send(name.clone());
            }
        }
    };
    let list = async {
        let on_page = |page: &[RepoName]| {
            let _ = tx.send(Action::ReposPage {
                req,
                repos: page.to_vec(),
            });
            queue(page);
        };
        let result = source.repositories(&on_page).await;
        // A source that does not report pages still gets every name counted.
        if let Ok(all) = &result {
            queue(all);
        }
        names_tx.close_channel();
        let _ = tx.send(Action::ReposListed { req, result });
    };
    let count = names_rx
        .map(|repo| {
            let source = source.clone();
            async move {
                let result = source.tags(&repo).await.map(|tags| tags.len());
                (repo, result)
            }
        })
        .buffer_unordered(TAG_COUNT_CONCURRENCY)
        .for_each(|(repo, result)| {
            let _ = tx.send(Action::TagsCounted { req, repo, result });
            futures::future::ready(())
        });
    futures::join!(list, count);
}

/// Resolves every tag and fetches each new digest's image once (`known` are cached already).
async fn resolve_tags(
    source: Arc<dyn Source>,
    req: ReqId,
    repo: RepoName,
    tags: Vec<Tag>,
    known: HashSet<Digest>,
    tx: UnboundedSender<Action>,
) {
    let claimed = Mutex::new(known);
    let (source, repo, claimed, tx) = (&*source, &repo, &claimed, &tx);
    stream::iter(tags)
        .map(|tag| async move {
            let result = source.resolve(repo, &ManifestRef::Tag(tag.clone())).await;
            let digest = result.as_ref().ok().map(|h| h.digest.clone());
            let _ = tx.send(Action::TagResolved { req, tag, result });
            let Some(digest) = digest else { return };
            let first = claimed
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(digest.clone());
            if !first {
                return; // an alias of a digest fetched (or being fetched) already
            }
            let reference = ManifestRef::Digest(digest);
            let _ = tx.send(image_action(source, repo, reference, req).await);
        })
        .buffer_unordered(RESOLVE_CONCURRENCY)
        .for_each(|()| futures::future::ready(()))
        .await;
}

/// Fetches an image and turns the outcome into the action that reports it.
async fn image_action(
    source: &dyn Source,
    repo: &RepoName,
    reference: ManifestRef,
    req: ReqId,
) -> Action {
    match fetch_image(source, repo, &reference).await {
        Ok(tree) => Action::ImageLoaded {
            req,
            tree: Arc::new(tree),
        },
        Err(error) => Action::ImageFailed {
            req,
            reference,
            error,
        },
    }
}
