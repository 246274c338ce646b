//! Runs the app's effects as tokio tasks, each with its own `Arc<dyn Source>` (or `Client`
//! for writes), and sends what they find back as actions. Every task can be aborted by its
//! request id; an apply is rather asked to stop before its next step, so a step is never cut
//! in the middle.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use std::cell::Cell;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::FutureExt;
use futures::future::BoxFuture;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::task::AbortHandle;

use super::action::{Action, AuditJob, Effect, ReqId};
use crate::cleanup::execute::Applier;
use crate::cleanup::journal::Journal;
use crate::cleanup::restore::restore;
use crate::layers::tree::{FileTree, TreeOf};
use crate::layers::{LayerSource, ListOptions, ListingCache, Origin};
use crate::registry::Descriptor;
use crate::registry::image::fetch_image;
use crate::registry::{Client, ManifestRef, RepoName, Source};
use crate::scan::{ScanOptions, Steering, scan_steered};

/// What the workers take from the registries the app was started with.
pub trait Resources {
    fn source(&self, entry: usize) -> Option<Arc<dyn Source>>;
    /// The client for writes (none for layouts and the demo).
    fn client(&self, entry: usize) -> Option<Client>;
    /// Where the layer blobs of `repo` are read from: the registry's client, or the
    /// layout's directory (none for the demo).
    fn layer_source(&self, _entry: usize, _repo: &RepoName) -> Option<LayerSource> {
        None
    }
}

pub struct Workers {
    tx: UnboundedSender<Action>,
    running: HashMap<ReqId, AbortHandle>,
    /// Stop flags of running applies.
    cancels: HashMap<ReqId, Arc<AtomicBool>>,
    /// The priority queues of running scans.
    scans: HashMap<ReqId, UnboundedSender<RepoName>>,
}

impl Workers {
    pub fn new(tx: UnboundedSender<Action>) -> Self {
        Self {
            tx,
            running: HashMap::new(),
            cancels: HashMap::new(),
            scans: HashMap::new(),
        }
    }

    /// Starts (or aborts) the work an effect asks for. [`Effect::Copy`] is the terminal's
    /// business and is ignored here.
    pub fn start(&mut self, effect: Effect, resources: &dyn Resources) {
        self.running.retain(|_, handle| !handle.is_finished());
        let running = &self.running;
        self.cancels.retain(|req, _| running.contains_key(req));
        self.scans.retain(|req, _| running.contains_key(req));
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
                let (ask, asked) = unbounded_channel();
                self.scans.insert(req, ask);
                (
                    req,
                    Box::pin(run_scan(source, req, repos, asked, tx.clone())),
                )
            }
            Effect::Prioritize { scan, repo } => {
                if let Some(ask) = self.scans.get(&scan) {
                    let _ = ask.send(repo);
                }
                return;
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
            Effect::ListFiles {
                req,
                entry,
                repo,
                layers,
                of,
            } => {
                let source = resources.layer_source(entry, &repo);
                (
                    req,
                    Box::pin(run_list_files(source, req, layers, of, tx.clone())),
                )
            }
            Effect::DiffImages {
                req,
                entry,
                before,
                after,
            } => {
                let sides = source(entry).map(|s| {
                    let layers =
                        |side: &super::action::DiffSide| resources.layer_source(entry, &side.repo);
                    (s, layers(&before), layers(&after))
                });
                let work = super::diffing::run(sides, req, before, after, tx.clone());
                (req, Box::pin(work))
            }
            Effect::ImageHints {
                req,
                entry,
                repo,
                layers,
            } => {
                let source = resources.layer_source(entry, &repo);
                let work = super::hinting::run(source, req, layers, tx.clone());
                (req, Box::pin(work))
            }
            Effect::RepoHints {
                req,
                entry,
                repo,
                tags,
                candidates,
            } => {
                let sources = source(entry).zip(resources.layer_source(entry, &repo));
                let job = super::repo_hinting::Job {
                    repo,
                    tags,
                    candidates,
                };
                let work = super::repo_hinting::run(sources, req, job, tx.clone());
                (req, Box::pin(work))
            }
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
            Effect::Grants { req, entry, repo } => {
                let Some(client) = resources.client(entry) else {
                    return;
                };
                let tx = tx.clone();
                let work = async move {
                    let result = client.grants(&repo).await;
                    let budget = client.rate_budget();
                    let _ = tx.send(Action::Granted {
                        req,
                        result,
                        budget,
                    });
                };
                (req, Box::pin(work))
            }
            Effect::FindReferrers {
                req,
                entry,
                repo,
                subject,
                tags,
                also_in,
            } => {
                let Some(source) = source(entry) else { return };
                let tx = tx.clone();
                let work = async move {
                    let tags = tags.as_deref().map(Vec::as_slice);
                    let result = crate::tui::referrers::find_referrers(
                        source, &repo, &subject, tags, &also_in,
                    )
                    .await
                    .map(Arc::new);
                    let _ = tx.send(Action::ReferrersFound { req, result });
                };
                (req, Box::pin(work))
            }
            Effect::ReadStorage {
                req,
                location,
                abandoned_before,
            } => {
                let tx = tx.clone();
                let work = async move {
                    let result = async {
                        let storage = crate::storage::open(&location).await?;
                        let snapshot = crate::storage::snapshot::read_snapshot(
                            storage.as_ref(),
                            &crate::storage::snapshot::ReadOptions::default(),
                        )
                        .await?;
                        let report = crate::storage::account::report(&snapshot, abandoned_before);
                        Ok::<_, crate::storage::backend::StorageError>(
                            crate::tui::storage_layout::StorageReading {
                                report: Arc::new(report),
                                snapshot: Arc::new(snapshot),
                            },
                        )
                    }
                    .await
                    .map_err(|e| format!("cannot read the storage {location}: {e}"));
                    let _ = tx.send(Action::StorageRead { req, result });
                };
                (req, Box::pin(work))
            }
            Effect::PlanCopy { req, job } => {
                let Some(source) = resources.client(job.source) else {
                    return;
                };
                let destination = match &job.destination {
                    super::action::CopyTo::Registry(entry) => resources.client(*entry),
                    super::action::CopyTo::Directory(_) => None,
                };
                let work = super::copying::plan(source, destination, job, req, tx.clone());
                (req, Box::pin(work))
            }
            Effect::ApplyCopy { req, job, plan } => {
                let Some(source) = resources.client(job.source) else {
                    return;
                };
                let destination = match &job.destination {
                    super::action::CopyTo::Registry(entry) => resources.client(*entry),
                    super::action::CopyTo::Directory(_) => None,
                };
                let work = super::copying::apply(source, destination, job, plan, req, tx.clone());
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
            Effect::ReadVulnerabilityReports {
                req,
                entry,
                repo,
                reports,
            } => {
                let Some(source) = source(entry) else { return };
                let tx = tx.clone();
                let work = async move {
                    let mut read = Vec::new();
                    for report in reports {
                        let counts = read_vulnerability_report(&*source, &repo, &report).await;
                        read.push((report, counts));
                    }
                    let _ = tx.send(Action::VulnerabilityReportsRead { req, reports: read });
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
    /// Marks the current thread as running worker code until the mark is dropped.
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
/// The scan is a task like any other: aborting it drops the scan at its next await.
async fn run_scan(
    source: Arc<dyn Source>,
    req: ReqId,
    repos: Option<Vec<RepoName>>,
    priority: UnboundedReceiver<RepoName>,
    tx: UnboundedSender<Action>,
) {
    let steering = Steering {
        repos,
        priority: Some(priority),
    };
    let sink = |event: &crate::analysis::model::ScanEvent| {
        let _ = tx.send(Action::Scanned {
            req,
            event: event.clone(),
        });
    };
    let result = scan_steered(&*source, &ScanOptions::default(), steering, &sink).await;
    let _ = tx.send(Action::ScanFinished { req, result });
}

/// Lists `layers` in order (from the cache when it has them) and builds the tree of `of`,
/// reporting the bytes read every 100 ms. Aborting the task drops the listing, which stops
/// the download (see [`crate::layers::fetch`]).
async fn run_list_files(
    source: Option<LayerSource>,
    req: ReqId,
    layers: Vec<Descriptor>,
    of: TreeOf,
    tx: UnboundedSender<Action>,
) {
    let Some(source) = source else {
        let _ = tx.send(Action::FilesListed {
            req,
            result: Err(NO_LAYER_SOURCE.into()),
        });
        return;
    };
    let listed = list_reporting(&source, &layers, |read, rate| {
        let _ = tx.send(Action::FilesProgress { req, read, rate });
    })
    .await;
    let result = match listed {
        Ok(listings) => tokio::task::spawn_blocking(move || match of {
            TreeOf::Layer(i) => FileTree::of_layer(&listings, i),
            TreeOf::Merged => FileTree::merged(&listings),
        })
        .await
        .map(Arc::new)
        .map_err(|e| format!("internal error while building the file tree: {e}")),
        Err(e) => Err(e),
    };
    let _ = tx.send(Action::FilesListed { req, result });
}

/// Lists `layers` in order (from the cache when it has them), calling `report(read, rate)`
/// every 100 ms with the bytes read or found in the cache. Aborting the future drops the
/// listing, which stops the download (see [`crate::layers::fetch`]). The file tree and the
/// diff and the hints read layers through this one path.
/// Why a file tree, a diff or the hints cannot be made from a source.
pub(super) const NO_LAYER_SOURCE: &str =
    "the files of a layer are read from a registry or an OCI layout; this source is neither";

pub(super) async fn list_reporting(
    source: &LayerSource,
    layers: &[Descriptor],
    report: impl Fn(u64, u64),
) -> Result<Vec<crate::layers::Listing>, String> {
    let options = ListOptions {
        cache: ListingCache::default_location(),
        ..ListOptions::default()
    };
    let cached = std::sync::atomic::AtomicU64::new(0);
    let started = std::time::Instant::now();
    let list = async {
        let mut listings = Vec::with_capacity(layers.len());
        for layer in layers {
            let (listing, origin) = source
                .list(layer, &options)
                .await
                .map_err(|e| e.to_string())?;
            if origin == Origin::Cache {
                cached.fetch_add(layer.size, Ordering::Relaxed);
            }
            listings.push(listing);
        }
        Ok::<_, String>(listings)
    };
    tokio::pin!(list);
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(100));
    loop {
        tokio::select! {
            done = &mut list => return done,
            _ = tick.tick() => {
                let raw = options.progress.load(Ordering::Relaxed);
                let seconds = started.elapsed().as_secs_f64();
                let rate = if seconds > 0.0 { (raw as f64 / seconds) as u64 } else { 0 };
                report(raw.saturating_add(cached.load(Ordering::Relaxed)), rate);
            }
        }
    }
}

fn panic_text(panic: Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string())
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

/// The counts by severity a vulnerability report (an attestation manifest) holds: its
/// statements' blobs within the size cap are read (through `source`, the session's
/// documents), and the last statement with vulnerabilities counts (cosign appends a layer
/// per attestation, so the last is the newest). `None` when nothing could be read.
async fn read_vulnerability_report(
    source: &dyn Source,
    repo: &RepoName,
    report: &crate::registry::Digest,
) -> Option<crate::analysis::content::SeverityCounts> {
    use crate::analysis::artifact::ArtifactKind;
    use crate::analysis::content::{Content, blobs_to_read, summarize};
    let manifest = source
        .manifest(repo, &ManifestRef::Digest(report.clone()))
        .await
        .map_err(|e| tracing::debug!("vulnerability report {repo}@{report}: {e}"))
        .ok()?;
    let kind = ArtifactKind::Attestation {
        predicate_type: None,
    };
    let (wanted, _) = blobs_to_read(&kind, &manifest.manifest);
    let mut counts = None;
    for w in &wanted {
        match source.blob(repo, &w.digest).await {
            Ok(body) => {
                if let Content::Statement {
                    vulnerabilities: Some(c),
                    ..
                } = summarize(w, &body).content
                {
                    counts = Some(c);
                }
            }
            Err(e) => tracing::debug!("vulnerability report blob {repo}@{}: {e}", w.digest),
        }
    }
    counts
}
