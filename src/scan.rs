//! The scanner: fills a [`StorageModel`] from a [`Source`] with the fewest requests the API
//! allows: the catalog, one tag list per repository, one HEAD per tag, one GET per distinct
//! manifest digest and one per distinct config digest, never the same digest twice. Work is
//! bounded by the client's concurrency; every fact is reported as a [`ScanEvent`] as it
//! arrives, so a front end can show the model filling in.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use futures::future::{BoxFuture, join_all};
use futures::stream::FuturesUnordered;
use tokio::sync::OnceCell;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::analysis::model::{ConfigInfo, ManifestBody, ManifestInfo, ScanEvent, StorageModel};
use crate::registry::image::is_image_config;
use crate::registry::manifest::{
    ImageConfig, Implausible, MAX_INDEX_DEPTH, MAX_PLAUSIBLE_BYTES, Platform, check_manifest,
};
use crate::registry::referrers::{SchemeTag, scheme_of};
use crate::registry::{Digest, ManifestRef, RegistryError, RepoName, Source, Tag};

pub struct ScanOptions {
    /// Repositories scanned at once (requests are bounded again by the client).
    pub concurrency: usize,
    /// Only repositories whose name matches (None: all).
    pub repo_filter: Option<globset::GlobMatcher>,
}

impl Default for ScanOptions {
    fn default() -> Self {
        Self {
            concurrency: 8,
            repo_filter: None,
        }
    }
}

/// Called with every event, from whichever task learned it.
pub type EventSink<'a> = &'a (dyn Fn(&ScanEvent) + Send + Sync);

/// What a front end that shows a scan as it runs can steer besides the options.
#[derive(Debug, Default)]
pub struct Steering {
    /// Scan exactly these repositories, without reading the catalog (a rescan of the
    /// repositories a delete changed).
    pub repos: Option<Vec<RepoName>>,
    /// Repositories to scan before the others, as the user opens them: each starts at once
    /// (beside the ones in flight) unless it is scanned or being scanned already.
    pub priority: Option<UnboundedReceiver<RepoName>>,
}

/// Repositories asked for through [`Steering::priority`] scanned at once, at most.
const PRIORITY_CONCURRENCY: usize = 2;

struct Scanner<'a> {
    source: &'a dyn Source,
    sink: EventSink<'a>,
    once: Mutex<HashMap<Digest, Arc<OnceCell<()>>>>,
    /// Repositories started (each is scanned once, whichever queue gets to it first).
    claimed: Mutex<HashSet<RepoName>>,
    concurrency: usize,
    /// The body of every manifest read, for the plausibility check of an index's total
    /// ([`Scanner::check_index_total`]); the model itself lives with the caller.
    bodies: Mutex<HashMap<Digest, ManifestBody>>,
}

/// Scans `source` into a model. Failures of single repositories or manifests are recorded in
/// the model's `failures` (the scan goes on); only a failed repository listing fails the scan.
pub async fn scan(
    source: &dyn Source,
    options: &ScanOptions,
    sink: EventSink<'_>,
) -> Result<StorageModel, RegistryError> {
    let model = Mutex::new(StorageModel::default());
    let building = |event: &ScanEvent| {
        sink(event);
        model
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .apply(event.clone());
    };
    scan_steered(source, options, Steering::default(), &building).await?;
    Ok(model.into_inner().unwrap_or_else(|p| p.into_inner()))
}

/// Scans `source`, reporting every fact to `sink` and keeping nothing: the caller builds the
/// one model there is from the events (the TUI's storage state, or [`scan`]'s model).
pub async fn scan_steered(
    source: &dyn Source,
    options: &ScanOptions,
    steering: Steering,
    sink: EventSink<'_>,
) -> Result<(), RegistryError> {
    let scanner = Scanner {
        source,
        sink,
        once: Mutex::new(HashMap::new()),
        claimed: Mutex::new(HashSet::new()),
        concurrency: options.concurrency.max(1),
        bodies: Mutex::new(HashMap::new()),
    };
    let wanted = |r: &RepoName| {
        options
            .repo_filter
            .as_ref()
            .is_none_or(|g| g.is_match(r.as_str()))
    };
    let repos = match steering.repos {
        Some(repos) => {
            let repos: Vec<RepoName> = repos.into_iter().filter(|r| wanted(r)).collect();
            scanner.emit(ScanEvent::Repositories(repos.clone()));
            repos
        }
        None => {
            let (repos, skipped) = source
                .repositories_checked(&|page| {
                    let page: Vec<RepoName> = page.iter().filter(|r| wanted(r)).cloned().collect();
                    if !page.is_empty() {
                        scanner.emit(ScanEvent::Repositories(page));
                    }
                })
                .await?;
            if let Some(sentence) = skipped.sentence("repository") {
                scanner.fail_with(None, "the catalog".into(), sentence);
            }
            repos.into_iter().filter(|r| wanted(r)).collect()
        }
    };
    scanner.emit(ScanEvent::RepositoriesListed);
    // Owned names go into the closures: a closure taking a reference has a higher-ranked
    // signature for which rustc cannot prove the whole future `Send`, and a scan must be able
    // to run on a spawned task.
    let shared = &scanner;
    let listed: HashSet<RepoName> = repos.iter().cloned().collect();
    let mut queue = futures::stream::iter(repos)
        .filter(|repo| futures::future::ready(shared.claim(repo)))
        .map(|repo| async move { shared.scan_repo(&repo).await })
        .buffer_unordered(scanner.concurrency);
    let mut priority = steering.priority;
    let mut asked: FuturesUnordered<BoxFuture<'_, ()>> = FuturesUnordered::new();
    let mut queue_done = false;
    while !(queue_done && asked.is_empty()) {
        tokio::select! {
            next = queue.next(), if !queue_done => queue_done = next.is_none(),
            Some(()) = asked.next(), if !asked.is_empty() => {}
            repo = recv(&mut priority), if priority.is_some() && asked.len() < PRIORITY_CONCURRENCY => {
                match repo {
                    // Only repositories of this scan: a rescan of two repositories does
                    // not scan a third because the user opened it.
                    Some(repo) if listed.contains(&repo) && shared.claim(&repo) => {
                        asked.push(Box::pin(async move { shared.scan_repo(&repo).await }));
                    }
                    Some(_) => {}
                    None => priority = None,
                }
            }
            else => break,
        }
    }
    Ok(())
}

/// The next repository asked for (`None` when the asking side is gone).
async fn recv(priority: &mut Option<UnboundedReceiver<RepoName>>) -> Option<RepoName> {
    match priority {
        Some(rx) => rx.recv().await,
        None => None,
    }
}

impl Scanner<'_> {
    fn emit(&self, event: ScanEvent) {
        (self.sink)(&event);
    }

    /// Whether `repo` is not started yet (and now is).
    fn claim(&self, repo: &RepoName) -> bool {
        self.claimed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(repo.clone())
    }

    fn fail(&self, repo: &RepoName, what: String, error: &RegistryError) {
        self.fail_with(Some(repo), what, error.to_string());
    }

    fn fail_with(&self, repo: Option<&RepoName>, what: String, error: String) {
        self.emit(ScanEvent::Failed {
            repo: repo.cloned(),
            what,
            error,
        });
    }

    /// Runs `work` once per digest across the whole scan; later callers wait for the first.
    async fn once(&self, digest: &Digest, work: impl std::future::Future<Output = ()>) {
        let cell = self
            .once
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(digest.clone())
            .or_default()
            .clone();
        cell.get_or_init(|| work).await;
    }

    async fn scan_repo(&self, repo: &RepoName) {
        self.scan_repo_tags(repo).await;
        self.emit(ScanEvent::RepositoryScanned(repo.clone()));
    }

    async fn scan_repo_tags(&self, repo: &RepoName) {
        let tags = match self.source.tags_checked(repo).await {
            Ok((tags, skipped)) => {
                if let Some(sentence) = skipped.sentence("tag") {
                    self.fail_with(Some(repo), format!("tags of {repo}"), sentence);
                }
                tags
            }
            Err(e) => return self.fail(repo, format!("tags of {repo}"), &e),
        };
        self.emit(ScanEvent::Tags {
            repo: repo.clone(),
            tags: tags.clone(),
        });
        futures::stream::iter(tags.iter().cloned())
            .map(|tag| async move { self.scan_tag(repo, &tag).await })
            .buffer_unordered(self.concurrency)
            .collect::<Vec<()>>()
            .await;
    }

    async fn scan_tag(&self, repo: &RepoName, tag: &Tag) {
        let head = match self
            .source
            .resolve(repo, &ManifestRef::Tag(tag.clone()))
            .await
        {
            Ok(head) => head,
            Err(e) => return self.fail(repo, format!("{repo}:{tag}"), &e),
        };
        self.emit(ScanEvent::Resolved {
            repo: repo.clone(),
            tag: tag.clone(),
            digest: head.digest.clone(),
        });
        let at = Child {
            fallback_index: matches!(scheme_of(tag), Some(SchemeTag::Fallback(_))),
            ..Child::ROOT
        };
        self.ensure_manifest(repo, head.digest, None, at).await;
    }

    /// Fetches a manifest once and, for an index, its children to [`MAX_INDEX_DEPTH`] levels.
    /// A manifest whose sizes are not believable, or an index nested deeper, is a failure
    /// naming it and stays out of the model: its image has no size rather than a wrong one.
    fn ensure_manifest<'s>(
        &'s self,
        repo: &'s RepoName,
        digest: Digest,
        platform: Option<Platform>,
        at: Child,
    ) -> BoxFuture<'s, ()> {
        Box::pin(async move {
            let d = digest.clone();
            self.once(&d, async move {
                let fetched = match self
                    .source
                    .manifest(repo, &ManifestRef::Digest(digest.clone()))
                    .await
                {
                    Ok(m) => m,
                    Err(e) => {
                        if let Some(index) = &at.listed_by_fallback
                            && e.is_not_found()
                        {
                            return self.emit(ScanEvent::MissingEntry {
                                repo: repo.clone(),
                                index: index.clone(),
                                digest: digest.clone(),
                                size: at.descriptor_size.unwrap_or(0),
                            });
                        }
                        return self.fail(repo, format!("{repo}@{digest}"), &e);
                    }
                };
                let what = format!("{repo}@{digest}");
                if let Err(e) = check_manifest(&fetched.manifest) {
                    return self.fail_with(Some(repo), what, e.to_string());
                }
                if fetched.manifest.is_index() && at.depth >= MAX_INDEX_DEPTH {
                    return self.fail_with(
                        Some(repo),
                        what,
                        format!(
                            "indexes are nested more than {MAX_INDEX_DEPTH} levels deep; regatta follows at most {MAX_INDEX_DEPTH}"
                        ),
                    );
                }
                if let Some(expected) = at.descriptor_size
                    && expected != fetched.bytes.len() as u64
                {
                    // The real length is what the store holds and what is counted; the
                    // index that said otherwise is reported.
                    self.fail_with(
                        Some(repo),
                        what.clone(),
                        format!(
                            "the manifest is {} bytes but its index's descriptor says {expected}",
                            fetched.bytes.len()
                        ),
                    );
                }
                let mut info = ManifestInfo::from_fetched(&fetched);
                let mut children = Vec::new();
                if let crate::registry::Manifest::Index(index) = &fetched.manifest {
                    children = index
                        .manifests
                        .iter()
                        .map(|c| (c.digest.clone(), c.platform.clone(), c.size))
                        .collect();
                }
                let mut config_to_fetch = None;
                if let ManifestBody::Image {
                    config,
                    platform: p,
                    ..
                } = &mut info.body
                {
                    *p = platform;
                    // An attached artifact's config (cosign keeps an image config of its
                    // own per signature) says nothing the numbers or policies use: not read.
                    if let crate::registry::Manifest::Image(m) = &fetched.manifest
                        && is_image_config(&m.config.media_type)
                        && !info.kind.is_attached()
                    {
                        config_to_fetch = Some(config.clone());
                    }
                }
                self.bodies
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(digest.clone(), info.body.clone());
                self.emit(ScanEvent::Manifest {
                    digest: digest.clone(),
                    info,
                });
                join_all(children.into_iter().map(|(c, p, size)| {
                    let at = Child {
                        depth: at.depth + 1,
                        descriptor_size: Some(size),
                        fallback_index: false,
                        listed_by_fallback: at.fallback_index.then(|| digest.clone()),
                    };
                    self.ensure_manifest(repo, c, p, at)
                }))
                .await;
                if at.depth == 0 && fetched.manifest.is_index() {
                    self.check_index_total(repo, &digest);
                }
                if let Some((config, size)) = config_to_fetch {
                    self.ensure_config(repo, config, size).await;
                }
            })
            .await;
        })
    }

    /// Each platform of an index passed [`check_manifest`]; their union must be believable
    /// too (as `inspect` requires), or the index is reported.
    fn check_index_total(&self, repo: &RepoName, digest: &Digest) {
        let total = {
            let bodies = self.bodies.lock().unwrap_or_else(|p| p.into_inner());
            let mut blobs = HashMap::new();
            image_blobs(&bodies, digest, 0, &mut blobs);
            blobs.values().try_fold(0u64, |a, &b| a.checked_add(b))
        };
        let implausible = match total {
            None => Implausible::Overflow,
            Some(total) if total > MAX_PLAUSIBLE_BYTES => Implausible::ImageTooLarge { total },
            Some(_) => return,
        };
        self.fail_with(
            Some(repo),
            format!("{repo}@{digest}"),
            implausible.to_string(),
        );
    }

    /// Fetches an image config once. A config that lies (its length is not its descriptor's,
    /// it is not an image config, its date is not a date) is reported; the image keeps its
    /// size, and an unbelievable date counts as unknown.
    async fn ensure_config(&self, repo: &RepoName, digest: Digest, descriptor_size: u64) {
        let d = digest.clone();
        self.once(&d, async move {
            let what = format!("config {digest} in {repo}");
            let bytes = match self.source.blob(repo, &digest).await {
                Ok(bytes) => bytes,
                Err(e) => return self.fail(repo, what, &e),
            };
            if bytes.len() as u64 != descriptor_size {
                self.fail_with(
                    Some(repo),
                    what.clone(),
                    format!(
                        "the config is {} bytes but its manifest's descriptor says {descriptor_size}",
                        bytes.len()
                    ),
                );
            }
            let info = match ImageConfig::parse(&bytes) {
                Ok(c) => {
                    let created = match c.believable_created() {
                        Ok(created) => created,
                        Err(sentence) => {
                            self.fail_with(Some(repo), what.clone(), sentence);
                            None
                        }
                    };
                    ConfigInfo {
                        created,
                        platform: Some(Platform {
                            architecture: c.architecture.clone(),
                            os: c.os.clone(),
                            variant: c.variant.clone(),
                            os_version: None,
                        }),
                    }
                }
                // Not an image config after all: no date, and a failure saying so.
                Err(e) => {
                    self.fail_with(
                        Some(repo),
                        what.clone(),
                        format!("the config is not an image config: {e}"),
                    );
                    ConfigInfo::default()
                }
            };
            self.emit(ScanEvent::Config { digest, info });
        })
        .await;
    }
}

/// Where a manifest sits in its image: how many indexes above it, and the size its index's
/// descriptor gave it.
#[derive(Clone)]
struct Child {
    depth: usize,
    descriptor_size: Option<u64>,
    /// Reached through a referrers fallback tag (`sha256-<hex>`).
    fallback_index: bool,
    /// Listed by this referrers fallback index: a 404 is a stale entry, not a failure.
    listed_by_fallback: Option<Digest>,
}

impl Child {
    const ROOT: Child = Child {
        depth: 0,
        descriptor_size: None,
        fallback_index: false,
        listed_by_fallback: None,
    };
}

/// The config and layer blobs of an image (the union over an index's platforms, each once),
/// from the bodies read so far; nested no deeper than the scan follows.
fn image_blobs(
    bodies: &HashMap<Digest, ManifestBody>,
    digest: &Digest,
    depth: usize,
    out: &mut HashMap<Digest, u64>,
) {
    match bodies.get(digest) {
        Some(ManifestBody::Image { config, layers, .. }) => {
            out.insert(config.0.clone(), config.1);
            for (layer, size) in layers {
                out.insert(layer.clone(), *size);
            }
        }
        Some(ManifestBody::Index { children }) if depth < MAX_INDEX_DEPTH => {
            for child in children {
                image_blobs(bodies, child, depth + 1, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::memory::{ImageSpec, MemorySource};

    fn repo(name: &str) -> RepoName {
        RepoName::parse(name).unwrap()
    }

    /// Five repositories of one image each, every request a little slow.
    fn five() -> MemorySource {
        let mut source = MemorySource::new("mem").with_delay(std::time::Duration::from_millis(5));
        let digest = source.add_image(&ImageSpec::new("linux", "amd64", "2025-01-01T00:00:00Z"));
        ["a/1", "a/2", "a/3", "a/4", "a/5"]
            .iter()
            .fold(source, |s, r| s.tag(r, &["v1"], &digest))
    }

    /// The order repositories finished in.
    fn finished(events: &[ScanEvent]) -> Vec<String> {
        events
            .iter()
            .filter_map(|e| match e {
                ScanEvent::RepositoryScanned(r) => Some(r.to_string()),
                _ => None,
            })
            .collect()
    }

    #[tokio::test]
    async fn a_repository_asked_for_is_scanned_beside_the_queue_and_only_once() {
        let source = five();
        let (ask, asked) = tokio::sync::mpsc::unbounded_channel();
        // Asked before the scan gets to it; asked twice, and a repository not in the scan.
        ask.send(repo("a/5")).unwrap();
        ask.send(repo("a/5")).unwrap();
        ask.send(repo("elsewhere/x")).unwrap();
        let seen = Mutex::new(Vec::new());
        let sink = |e: &ScanEvent| seen.lock().unwrap().push(e.clone());
        let options = ScanOptions {
            concurrency: 1,
            repo_filter: None,
        };
        let steering = Steering {
            repos: None,
            priority: Some(asked),
        };
        scan_steered(&source, &options, steering, &sink)
            .await
            .unwrap();
        let events = seen.into_inner().unwrap();
        let order = finished(&events);
        // One at a time from the queue: a/5 ran beside a/1, long before its turn.
        assert_eq!(order.len(), 5, "{order:?}");
        let at = |r: &str| order.iter().position(|o| o == r).unwrap();
        assert!(at("a/5") < at("a/2"), "{order:?}");
        let tag_lists = events
            .iter()
            .filter(|e| matches!(e, ScanEvent::Tags { repo, .. } if repo.as_str() == "a/5"))
            .count();
        assert_eq!(tag_lists, 1, "scanned once");
        assert!(
            !events.iter().any(
                |e| matches!(e, ScanEvent::Tags { repo, .. } if repo.as_str() == "elsewhere/x")
            )
        );
        drop(ask);
    }

    #[tokio::test]
    async fn given_repositories_are_scanned_without_the_catalog() {
        let source = five();
        let steering = Steering {
            repos: Some(vec![repo("a/2"), repo("a/4")]),
            priority: None,
        };
        let seen = Mutex::new(Vec::new());
        let sink = |e: &ScanEvent| seen.lock().unwrap().push(e.clone());
        scan_steered(&source, &ScanOptions::default(), steering, &sink)
            .await
            .unwrap();
        let events = seen.into_inner().unwrap();
        let mut order = finished(&events);
        order.sort();
        assert_eq!(order, ["a/2", "a/4"]);
        // The catalog would have named all five.
        let named: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                ScanEvent::Repositories(r) => Some(r.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(named, [vec![repo("a/2"), repo("a/4")]]);
    }

    /// Front ends run scans on spawned tasks, so the scan's future must be `Send`. This
    /// compiles only if it is.
    #[test]
    fn the_scan_future_is_send() {
        fn assert_send<T: Send>(_: &T) {}
        #[allow(dead_code)]
        fn check(source: &dyn Source, options: &ScanOptions, sink: EventSink<'_>) {
            assert_send(&scan(source, options, sink));
        }
    }
}
