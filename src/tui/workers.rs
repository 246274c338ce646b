//! Runs the app's effects as tokio tasks, each with its own `Arc<dyn Source>`, and sends what
//! they find back as actions. Every task can be aborted by its request id.

use std::collections::{HashMap, HashSet};
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

use super::action::{Action, Effect, ReqId};
use crate::registry::image::fetch_image;
use crate::registry::{Digest, ManifestRef, RepoName, Source, Tag};

/// Tag lists fetched at once while counting the tags of each repository.
pub const TAG_COUNT_CONCURRENCY: usize = 4;
/// Tags resolved (and their images fetched) at once.
pub const RESOLVE_CONCURRENCY: usize = 8;

pub struct Workers {
    tx: UnboundedSender<Action>,
    running: HashMap<ReqId, AbortHandle>,
}

impl Workers {
    pub fn new(tx: UnboundedSender<Action>) -> Self {
        Self {
            tx,
            running: HashMap::new(),
        }
    }

    /// Starts (or aborts) the work an effect asks for. `source` finds the source of a
    /// registry entry. [`Effect::Copy`] is the terminal's business and is ignored here.
    pub fn start(&mut self, effect: Effect, source: impl Fn(usize) -> Option<Arc<dyn Source>>) {
        self.running.retain(|_, handle| !handle.is_finished());
        let tx = self.tx.clone();
        let (req, work): (ReqId, BoxFuture<'static, ()>) = match effect {
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
            Effect::Ping { req, entry } => {
                let Some(source) = source(entry) else { return };
                let tx = tx.clone();
                let work = async move {
                    let result = source.ping().await;
                    let _ = tx.send(Action::PingFinished { req, result });
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
                    let action = match fetch_image(&*source, &repo, &reference).await {
                        Ok(tree) => Action::ImageLoaded {
                            req,
                            tree: Arc::new(tree),
                        },
                        Err(error) => Action::ImageFailed {
                            req,
                            reference,
                            error,
                        },
                    };
                    let _ = tx.send(action);
                };
                (req, Box::pin(work))
            }
        };
        tracing::debug!("started {req}");
        let task = tokio::spawn(async move {
            // A panic in the work (a bug, or data nobody expected) becomes a failure of this
            // request; the terminal stays as it is (see `in_worker`).
            if let Err(panic) = AssertUnwindSafe(Isolated(work)).catch_unwind().await {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".to_string());
                let error = format!("internal error while loading: {what}");
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

impl Future for Isolated {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        struct Reset(bool);
        impl Drop for Reset {
            fn drop(&mut self) {
                // Runs on unwind too, so a panic does not leave the flag set.
                IN_WORKER.with(|f| f.set(self.0));
            }
        }
        let _reset = Reset(IN_WORKER.with(|f| f.replace(true)));
        self.0.as_mut().poll(cx)
    }
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
            let action = match fetch_image(source, repo, &reference).await {
                Ok(tree) => Action::ImageLoaded {
                    req,
                    tree: Arc::new(tree),
                },
                Err(error) => Action::ImageFailed {
                    req,
                    reference,
                    error,
                },
            };
            let _ = tx.send(action);
        })
        .buffer_unordered(RESOLVE_CONCURRENCY)
        .for_each(|()| futures::future::ready(()))
        .await;
}
