//! Size hints for every tag of a repository (`regatta hints --repo`, `w` on the TUI's drift
//! view): each tag's image fetched and its layers listed, hints per image, wasted and
//! duplicate bytes summed over the distinct images, and the base-image drift of the tags.
//!
//! Concurrent, as wide as the client's concurrency: the tags are resolved together, then the
//! distinct images are worked on together. A layer several images share is listed once even
//! when two of them ask for it at the same moment: the listing cache on disk cannot promise
//! that (two tasks that both find it empty both download), so the listings of one run are
//! shared here, each behind a cell the first asker fills while the others wait, and dropped
//! once the last image that needs it is done (memory stays bounded by the images in flight).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use futures::StreamExt;
use futures::future::join_all;
use serde::Serialize;
use tokio::sync::{OnceCell, Semaphore};

use super::drift::{Candidate, Drift, TagChain, drift};
use super::entry::Listing;
use super::fetch::{LayerSource, ListOptions, Origin};
use super::hints::hints;
use super::select::select_image;
use crate::analysis::artifact::not_a_container_image;
use crate::registry::image::fetch_image;
use crate::registry::{Descriptor, Digest, ManifestRef, RepoName, Source, Tag};

/// Requests in flight for a layout (no client to ask).
const LAYOUT_CONCURRENCY: usize = 8;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RepoHints {
    pub repository: String,
    /// Per tag, sorted by tag.
    pub tags: Vec<TagHints>,
    /// Sums over the distinct images (a digest tagged twice counts once).
    pub wasted_bytes: u64,
    pub duplicate_bytes: u64,
    /// Tags that could not be read, with the reason, sorted by tag.
    pub failures: Vec<(String, String)>,
    /// Tags of artifacts (signatures, attestations, SBOMs, referrer indexes), with what they
    /// are: left out of the hints and of drift.
    pub not_images: Vec<(String, String)>,
    /// Which base each tag sits on, and which tags are on an old one. A tag whose layers
    /// could not be listed keeps its row: drift reads only manifests and configs.
    pub drift: Drift,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TagHints {
    pub tag: String,
    pub digest: String,
    pub file_bytes: u64,
    pub wasted_bytes: u64,
    pub efficiency: f64,
    pub duplicate_bytes: u64,
}

/// What to work on: the tags of `repo` (each with the reference to fetch it by: the tag, or
/// a digest already resolved), read through `source` (manifests, configs) and `layers`.
pub struct RepoRequest<'a> {
    pub source: &'a dyn Source,
    pub layers: &'a LayerSource,
    pub repo: &'a RepoName,
    pub tags: Vec<(Tag, ManifestRef)>,
    /// `--platform`; `None` chooses as `regatta hints` does.
    pub platform: Option<&'a str>,
    /// Named bases for drift (`--base`); empty: inferred.
    pub candidates: &'a [Candidate],
    /// The listing cache, caps, and the counter of raw bytes read.
    pub options: &'a ListOptions,
}

/// How far a run is: bytes of the distinct layers to list (0 until every tag is resolved),
/// and of those found in the listing cache; the bytes read are in the request's
/// [`ListOptions::progress`].
#[derive(Debug, Default)]
pub struct RepoProgress {
    pub total: AtomicU64,
    pub cached: AtomicU64,
}

impl RepoProgress {
    /// Bytes read or found in the cache, given the options' counter of bytes read.
    pub fn done(&self, options: &ListOptions) -> u64 {
        options
            .progress
            .load(Ordering::Relaxed)
            .saturating_add(self.cached.load(Ordering::Relaxed))
    }
}

/// The requests a source takes at once: its client's concurrency.
fn concurrency(source: &LayerSource) -> usize {
    match source {
        LayerSource::Registry { client, .. } => client.options().concurrency.max(1),
        LayerSource::Layout { .. } => LAYOUT_CONCURRENCY,
    }
}

/// One tag, resolved.
enum Resolved {
    Image {
        digest: Digest,
        layers: Vec<Descriptor>,
    },
    NotImage(String),
    Failed(String),
}

/// The hints of one image in the report (the rest is dropped as soon as it is computed).
#[derive(Clone, Copy)]
struct Summary {
    file_bytes: u64,
    wasted_bytes: u64,
    efficiency: f64,
    duplicate_bytes: u64,
}

/// The size hints of every tag of the request, and the drift. Never fails as a whole: a tag
/// that cannot be read is a failure of the report.
pub async fn repo_hints(request: RepoRequest<'_>, progress: &RepoProgress) -> RepoHints {
    let RepoRequest {
        source,
        layers: layer_source,
        repo,
        mut tags,
        platform,
        candidates,
        options,
    } = request;
    let concurrency = concurrency(layer_source);
    tags.sort_by(|a, b| a.0.cmp(&b.0));
    // Futures gathered first: a closure inside the stream's type would make the worker's
    // future not `Send` for every lifetime (rust-lang/rust#64552).
    let resolving: Vec<_> = tags
        .into_iter()
        .map(|(tag, reference)| async move {
            let (resolved, chain) = resolve(source, repo, &tag, &reference, platform).await;
            (tag, resolved, chain)
        })
        .collect();
    let resolved: Vec<(Tag, Resolved, Option<TagChain>)> = futures::stream::iter(resolving)
        .buffered(concurrency)
        .collect()
        .await;
    let chains: Vec<TagChain> = resolved.iter().filter_map(|(_, _, c)| c.clone()).collect();

    // The distinct images, and how many of them need each layer.
    let mut images: BTreeMap<Digest, Vec<Descriptor>> = BTreeMap::new();
    for (_, r, _) in &resolved {
        if let Resolved::Image { digest, layers } = r {
            images.insert(digest.clone(), layers.clone());
        }
    }
    let shared = SharedListings::new(layer_source, options, progress, concurrency, &images);
    let shared = &shared;
    let working: Vec<_> = images
        .iter()
        .map(|(digest, layers)| async move { (digest.clone(), shared.hints_of(layers).await) })
        .collect();
    let summaries: HashMap<Digest, Result<Summary, String>> = futures::stream::iter(working)
        .buffer_unordered(concurrency)
        .collect()
        .await;

    let mut rows = Vec::new();
    let mut failures = Vec::new();
    let mut not_images = Vec::new();
    let mut counted: BTreeMap<&Digest, Summary> = BTreeMap::new();
    for (tag, r, _) in &resolved {
        match r {
            Resolved::NotImage(kind) => not_images.push((tag.to_string(), kind.clone())),
            Resolved::Failed(why) => failures.push((tag.to_string(), why.clone())),
            Resolved::Image { digest, .. } => match summaries.get(digest) {
                Some(Ok(s)) => {
                    counted.insert(digest, *s);
                    rows.push(TagHints {
                        tag: tag.to_string(),
                        digest: digest.to_string(),
                        file_bytes: s.file_bytes,
                        wasted_bytes: s.wasted_bytes,
                        efficiency: s.efficiency,
                        duplicate_bytes: s.duplicate_bytes,
                    });
                }
                Some(Err(why)) => failures.push((tag.to_string(), why.clone())),
                None => failures.push((tag.to_string(), "internal error: no hints".into())),
            },
        }
    }
    let sum = |f: fn(&Summary) -> u64| counted.values().fold(0u64, |a, s| a.saturating_add(f(s)));
    RepoHints {
        repository: repo.to_string(),
        wasted_bytes: sum(|s| s.wasted_bytes),
        duplicate_bytes: sum(|s| s.duplicate_bytes),
        tags: rows,
        failures,
        not_images,
        drift: drift(&chains, candidates),
    }
}

/// A tag's image and its drift chain (drift needs only the manifest and config, so a tag
/// whose layers cannot be listed still shows its base).
async fn resolve(
    source: &dyn Source,
    repo: &RepoName,
    tag: &Tag,
    reference: &ManifestRef,
    platform: Option<&str>,
) -> (Resolved, Option<TagChain>) {
    let tree = match fetch_image(source, repo, reference).await {
        Ok(tree) => tree,
        Err(e) => return (Resolved::Failed(e.to_string()), None),
    };
    let image = match select_image(&tree, platform) {
        Ok(image) => image,
        Err(why) => return (Resolved::Failed(why), None),
    };
    if let Some(kind) = not_a_container_image(image) {
        return (Resolved::NotImage(kind), None);
    }
    let chain = TagChain::of(tag.as_str(), image);
    let resolved = Resolved::Image {
        digest: image.digest.clone(),
        layers: image.manifest.layers.clone(),
    };
    (resolved, Some(chain))
}

type Cell = Arc<OnceCell<Result<Arc<Listing>, String>>>;

/// The listings of one run, each made once, kept while an image still needs it.
struct SharedListings<'a> {
    source: &'a LayerSource,
    options: &'a ListOptions,
    progress: &'a RepoProgress,
    /// Layers listed at once (the downloads, and the reads of the cache).
    permits: Semaphore,
    slots: Mutex<HashMap<Digest, (Cell, usize)>>,
}

impl<'a> SharedListings<'a> {
    fn new(
        source: &'a LayerSource,
        options: &'a ListOptions,
        progress: &'a RepoProgress,
        concurrency: usize,
        images: &BTreeMap<Digest, Vec<Descriptor>>,
    ) -> Self {
        let mut slots: HashMap<Digest, (Cell, usize)> = HashMap::new();
        let mut total = 0u64;
        for layers in images.values() {
            let mut seen = std::collections::HashSet::new();
            for layer in layers.iter().filter(|l| seen.insert(&l.digest)) {
                let slot = slots.entry(layer.digest.clone()).or_insert_with(|| {
                    total = total.saturating_add(layer.size);
                    (Cell::default(), 0)
                });
                slot.1 += 1;
            }
        }
        progress.total.store(total, Ordering::Relaxed);
        Self {
            source,
            options,
            progress,
            permits: Semaphore::new(concurrency),
            slots: Mutex::new(slots),
        }
    }

    /// The hints of an image of `layers`, bottom first; then its layers are let go.
    async fn hints_of(&self, layers: &[Descriptor]) -> Result<Summary, String> {
        let listed = join_all(layers.iter().map(|l| self.listing(l))).await;
        let mut seen = std::collections::HashSet::new();
        for layer in layers.iter().filter(|l| seen.insert(&l.digest)) {
            self.release(&layer.digest);
        }
        let listings: Vec<Listing> = listed
            .into_iter()
            .map(|l| l.map(|l| Listing::clone(&l)))
            .collect::<Result<_, _>>()?;
        // Merging the layers' files is CPU work: off the async threads.
        tokio::task::spawn_blocking(move || {
            let h = hints(&listings);
            Summary {
                file_bytes: h.file_bytes,
                wasted_bytes: h.wasted_bytes,
                efficiency: h.efficiency,
                duplicate_bytes: h.duplicate_bytes,
            }
        })
        .await
        .map_err(|e| format!("internal error while computing the hints: {e}"))
    }

    /// The listing of `layer`: made by the first to ask, awaited by the others.
    async fn listing(&self, layer: &Descriptor) -> Result<Arc<Listing>, String> {
        let cell = self
            .slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&layer.digest)
            .map(|(cell, _)| cell.clone())
            .unwrap_or_default();
        cell.get_or_init(|| async {
            let _permit = self.permits.acquire().await;
            let (listing, origin) = self
                .source
                .list(layer, self.options)
                .await
                .map_err(|e| e.to_string())?;
            if origin == Origin::Cache {
                self.progress
                    .cached
                    .fetch_add(layer.size, Ordering::Relaxed);
            }
            Ok(Arc::new(listing))
        })
        .await
        .clone()
    }

    /// One image fewer needs `layer`: the last lets its listing go.
    fn release(&self, layer: &Digest) {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, users)) = slots.get_mut(layer) {
            *users = users.saturating_sub(1);
            if *users == 0 {
                slots.remove(layer);
            }
        }
    }
}
