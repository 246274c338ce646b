//! The scanner: fills a [`StorageModel`] from a [`Source`] with the fewest requests the API
//! allows: the catalog, one tag list per repository, one HEAD per tag, one GET per distinct
//! manifest digest and one per distinct config digest, never the same digest twice. Work is
//! bounded by the client's concurrency; every fact is reported as a [`ScanEvent`] as it
//! arrives, so a front end can show the model filling in.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use futures::future::{BoxFuture, join_all};
use tokio::sync::OnceCell;

use crate::analysis::model::{ConfigInfo, ManifestBody, ManifestInfo, ScanEvent, StorageModel};
use crate::registry::image::is_image_config;
use crate::registry::manifest::{
    ImageConfig, Implausible, MAX_INDEX_DEPTH, MAX_PLAUSIBLE_BYTES, Platform, check_manifest,
};
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

struct Scanner<'a> {
    source: &'a dyn Source,
    sink: EventSink<'a>,
    model: Mutex<StorageModel>,
    once: Mutex<HashMap<Digest, Arc<OnceCell<()>>>>,
    concurrency: usize,
}

/// Scans `source`. Failures of single repositories or manifests are recorded in the model's
/// `failures` (the scan goes on); only a failed repository listing fails the scan.
pub async fn scan(
    source: &dyn Source,
    options: &ScanOptions,
    sink: EventSink<'_>,
) -> Result<StorageModel, RegistryError> {
    let scanner = Scanner {
        source,
        sink,
        model: Mutex::new(StorageModel::default()),
        once: Mutex::new(HashMap::new()),
        concurrency: options.concurrency.max(1),
    };
    let wanted = |r: &RepoName| {
        options
            .repo_filter
            .as_ref()
            .is_none_or(|g| g.is_match(r.as_str()))
    };
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
    let repos: Vec<RepoName> = repos.into_iter().filter(|r| wanted(r)).collect();
    // Owned names go into the closures: a closure taking a reference has a higher-ranked
    // signature for which rustc cannot prove the whole future `Send`, and a scan must be able
    // to run on a spawned task.
    let shared = &scanner;
    futures::stream::iter(repos.iter().cloned())
        .map(|repo| async move { shared.scan_repo(&repo).await })
        .buffer_unordered(scanner.concurrency)
        .collect::<Vec<()>>()
        .await;
    Ok(scanner
        .model
        .into_inner()
        .unwrap_or_else(|p| p.into_inner()))
}

impl Scanner<'_> {
    fn emit(&self, event: ScanEvent) {
        (self.sink)(&event);
        self.model
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .apply(event);
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
        self.ensure_manifest(repo, head.digest, None, Child::ROOT)
            .await;
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
                    Err(e) => return self.fail(repo, format!("{repo}@{digest}"), &e),
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
                    if let crate::registry::Manifest::Image(m) = &fetched.manifest
                        && is_image_config(&m.config.media_type)
                    {
                        config_to_fetch = Some(config.clone());
                    }
                }
                self.emit(ScanEvent::Manifest {
                    digest: digest.clone(),
                    info,
                });
                join_all(children.into_iter().map(|(c, p, size)| {
                    let at = Child {
                        depth: at.depth + 1,
                        descriptor_size: Some(size),
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
            let model = self.model.lock().unwrap_or_else(|p| p.into_inner());
            model
                .image_blobs(digest)
                .values()
                .try_fold(0u64, |a, &b| a.checked_add(b))
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
#[derive(Clone, Copy)]
struct Child {
    depth: usize,
    descriptor_size: Option<u64>,
}

impl Child {
    const ROOT: Child = Child {
        depth: 0,
        descriptor_size: None,
    };
}

#[cfg(test)]
mod tests {
    use super::*;

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
