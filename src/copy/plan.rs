//! What a copy will do, worked out before anything is written: every manifest it pushes, every
//! blob the destination lacks (asked with HEAD first) and how each gets there, and where each
//! tag moves. The plan is what a dry run prints and what [`super::execute`] carries out.

use std::collections::HashMap;

use futures::FutureExt;
use futures::StreamExt;
use futures::future::{BoxFuture, Shared};
use serde::Serialize;

use super::ends::{CopyDestination, CopySource, TagListing};
use super::needed::Gathered;
use crate::registry::manifest::{MAX_INDEX_DEPTH, check_manifest};
use crate::registry::{
    Digest, FetchedManifest, Manifest, ManifestRef, Platform, RegistryError, RepoName, Tag,
    UploadSession,
};

/// Why a copy could not be planned. One sentence each.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// Shown as `what: source` (the source is the error's cause, which front ends print
    /// after it).
    #[error("{what}")]
    Registry {
        what: String,
        #[source]
        source: RegistryError,
    },
    #[error("{what}: {detail}")]
    Unusable { what: String, detail: String },
    #[error("{what} is not an index and has no platform {platform} to pick")]
    NotAnIndex { what: String, platform: String },
    #[error("{what} has no manifest for platform {platform} (it has: {available})")]
    NoSuchPlatform {
        what: String,
        platform: String,
        available: String,
    },
}

/// One image to copy: from a repository of the source to one of the destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRequest {
    pub source_repository: RepoName,
    pub source_reference: ManifestRef,
    pub destination_repository: RepoName,
    /// The tag to set on the destination; `None` pushes by digest only.
    pub destination_tag: Option<Tag>,
}

/// `--platform os/arch[/variant]`: copy only that platform's manifest out of an index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlatformFilter {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl PlatformFilter {
    pub fn parse(input: &str) -> Result<Self, String> {
        let parts: Vec<&str> = input.split('/').collect();
        let ok = |s: &&str| !s.is_empty();
        match parts.as_slice() {
            [os, arch] if ok(os) && ok(arch) => Ok(Self {
                os: os.to_string(),
                architecture: arch.to_string(),
                variant: None,
            }),
            [os, arch, variant] if ok(os) && ok(arch) && ok(variant) => Ok(Self {
                os: os.to_string(),
                architecture: arch.to_string(),
                variant: Some(variant.to_string()),
            }),
            _ => Err(format!(
                "--platform {input:?}: expected OS/ARCH or OS/ARCH/VARIANT, e.g. linux/arm64"
            )),
        }
    }

    pub fn matches(&self, platform: &Platform) -> bool {
        platform.os == self.os
            && platform.architecture == self.architecture
            && (self.variant.is_none() || platform.variant == self.variant)
    }
}

impl std::fmt::Display for PlatformFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// Where a destination tag goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum TagChange {
    /// No tag: the image is pushed by digest only.
    Untagged,
    New,
    /// Already on this digest: nothing to do.
    Unchanged,
    Moves {
        from: Digest,
    },
}

impl TagChange {
    pub fn needs_push(&self) -> bool {
        matches!(self, TagChange::New | TagChange::Moves { .. })
    }
}

/// One image of the copy as the user named it.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedImage {
    /// `REPO:TAG` or `REPO@DIGEST` on the source.
    pub source: String,
    /// The digest the source reference resolves to.
    pub source_digest: Digest,
    pub destination_repository: RepoName,
    pub destination_tag: Option<Tag>,
    /// The digest pushed (and tagged). Equal to `source_digest` unless a platform was picked
    /// out of an index.
    pub digest: Digest,
    /// The platform picked out of an index (`--platform`): the digest changes.
    pub platform: Option<String>,
    pub tag: TagChange,
}

impl PlannedImage {
    pub fn digest_changes(&self) -> bool {
        self.digest != self.source_digest
    }
}

/// A manifest the copy needs on the destination, in push order (children before the indexes
/// that list them).
#[derive(Debug, Clone, Serialize)]
pub struct PlannedManifest {
    pub repository: RepoName,
    pub source_repository: RepoName,
    pub digest: Digest,
    pub media_type: String,
    pub size: u64,
    pub platform: Option<String>,
    pub is_index: bool,
    /// Already in the destination repository (then so is everything it refers to: the
    /// registry refuses a manifest whose blobs or children are missing).
    pub present: bool,
    #[serde(skip)]
    pub bytes: Vec<u8>,
    /// Config and layers (images), children (indexes).
    #[serde(skip)]
    pub blobs: Vec<Digest>,
    #[serde(skip)]
    pub children: Vec<Digest>,
}

/// How a blob gets to the destination repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum BlobAction {
    /// The destination repository has it (HEAD answered 200).
    Present,
    /// A cross-repository mount inside the destination registry from `from`: the source
    /// repository itself when both sides are one registry, or a destination repository that
    /// has the blob or receives it earlier in this copy. No bytes move.
    Mount { from: RepoName },
    /// Streamed from the source to the destination.
    Transfer,
    /// Not asked for while planning (a plan made to be applied, see [`BlobAsking::OnApply`]):
    /// asked when applying, by a mount into the repository from itself, which answers 201
    /// when the repository has the blob and otherwise opens the upload its bytes then go
    /// into. [`super::ask::ask_blobs`] turns it into `Present` or `Transfer` before anything
    /// moves.
    AskOnApply,
}

/// How a plan learns which blobs the destination repositories hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobAsking {
    /// A HEAD per blob while planning: what a dry run shows, and writes nothing.
    Head,
    /// A plan made to be applied, to a registry other than the source: its blobs are asked
    /// for by [`super::ask::ask_blobs`] before anything moves (a mount into the repository
    /// from itself, which opens the upload when the blob is missing: one request where a
    /// HEAD and a POST were two). Other destinations are asked with HEAD as for `Head`.
    OnApply,
    /// A plan about to be applied: its blobs asked for as [`super::ask::ask_blobs`] asks for
    /// those of `OnApply`, each as soon as the manifest that needs it is read, while other
    /// manifests are still being read. The plan is the same; it opens upload sessions, so
    /// only a copy that is being applied plans this way.
    WhilePlanning,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlannedBlob {
    pub repository: RepoName,
    pub source_repository: RepoName,
    pub digest: Digest,
    pub size: u64,
    #[serde(flatten)]
    pub action: BlobAction,
    /// The upload session the destination opened when it was asked for the blob
    /// ([`BlobAction::AskOnApply`]): the transfer sends the bytes there.
    #[serde(skip)]
    pub session: Option<UploadSession>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CopyTotals {
    pub images: usize,
    /// Manifests to push / already there.
    pub manifests_to_push: usize,
    pub manifests_present: usize,
    pub blobs_present: usize,
    pub blobs_mounted: usize,
    pub blobs_transferred: usize,
    /// Blobs not asked for yet ([`BlobAction::AskOnApply`]): neither missing nor present.
    pub blobs_to_ask: usize,
    /// Bytes of the blobs the destination lacks (mounted or transferred).
    pub bytes_missing: u64,
    /// Bytes that move from the source to the destination: the transferred blobs, each
    /// once, and the manifests pushed.
    pub bytes_to_move: u64,
    pub tags_to_set: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct CopyPlan {
    pub source: String,
    pub destination: String,
    /// Both sides are one registry: missing blobs are mounted, never transferred.
    pub same_registry: bool,
    pub platform: Option<PlatformFilter>,
    pub images: Vec<PlannedImage>,
    pub manifests: Vec<PlannedManifest>,
    pub blobs: Vec<PlannedBlob>,
    pub totals: CopyTotals,
}

impl CopyPlan {
    pub fn manifest(&self, repo: &RepoName, digest: &Digest) -> Option<&PlannedManifest> {
        self.manifests
            .iter()
            .find(|m| &m.repository == repo && &m.digest == digest)
    }

    /// Whether applying it would change nothing.
    pub fn is_noop(&self) -> bool {
        self.totals.manifests_to_push == 0
            && self.totals.tags_to_set == 0
            && self.totals.blobs_mounted == 0
            && self.totals.blobs_transferred == 0
            && self.totals.blobs_to_ask == 0
    }

    /// Counts [`CopyPlan::totals`] again, after its blobs were asked for.
    pub fn recount(&mut self) {
        self.totals = totals(&self.images, &self.manifests, &self.blobs);
    }
}

/// Both ends of a copy. Between registries, two clients, one per registry, even for one
/// registry: the source's credentials and tokens never reach the destination.
pub struct Ends<'a> {
    pub source: &'a dyn CopySource,
    pub destination: &'a dyn CopyDestination,
}

impl Ends<'_> {
    /// Both ends are one registry: blobs can be mounted from the source repository.
    pub fn same_registry(&self) -> bool {
        match (self.source.registry(), self.destination.registry()) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        }
    }
}

fn describe(repo: &RepoName, reference: &ManifestRef) -> String {
    match reference {
        ManifestRef::Tag(t) => format!("{repo}:{t}"),
        ManifestRef::Digest(d) => format!("{repo}@{d}"),
    }
}

fn registry_error(what: String) -> impl FnOnce(RegistryError) -> PlanError {
    move |source| PlanError::Registry { what, source }
}

/// Whether the destination repository holds this manifest (by digest).
async fn has_manifest(
    destination: &dyn CopyDestination,
    repo: &RepoName,
    digest: &Digest,
) -> Result<bool, PlanError> {
    destination
        .has_manifest(repo, digest)
        .await
        .map_err(registry_error(format!(
            "{repo}@{digest} on the destination"
        )))
}

/// The image's walk: its manifests, children first.
pub(super) struct Walked {
    pub(super) image: PlannedImage,
    pub(super) manifests: Vec<PlannedManifest>,
}

/// The repositories of one image's walk.
#[derive(Clone, Copy)]
struct Repos<'a> {
    source: &'a RepoName,
    destination: &'a RepoName,
    /// The destination repository does not exist (its tag list said `NAME_UNKNOWN`): none of
    /// its manifests is asked for. Should one be there untagged after all (an index copy
    /// killed before its tag), it is pushed again, which changes nothing.
    no_repository: bool,
}

async fn plan_image(
    ends: &Ends<'_>,
    request: &ImageRequest,
    platform: Option<&PlatformFilter>,
    listing: Option<SharedListing<'_>>,
) -> Result<Walked, PlanError> {
    let src_repo = &request.source_repository;
    let what = describe(src_repo, &request.source_reference);
    let fetched = ends
        .source
        .manifest(src_repo, &request.source_reference)
        .await
        .map_err(registry_error(what.clone()))?;
    let source_digest = fetched.digest.clone();
    let (top, picked) = match platform {
        None => (fetched, None),
        Some(filter) => pick_platform(ends.source, src_repo, &what, fetched, filter).await?,
    };
    // Asked while the source was read: only now is the answer needed.
    let listing = match listing {
        Some(listing) => listing.await,
        None => TagListing::Unlisted,
    };
    let listing = &listing;
    let dst_repo = &request.destination_repository;
    let tag = match (&request.destination_tag, listing) {
        (None, _) => TagChange::Untagged,
        (Some(_), TagListing::NoRepository) => TagChange::New,
        (Some(tag), TagListing::Tags(tags)) if !tags.contains(tag) => TagChange::New,
        (Some(tag), _) => {
            match ends
                .destination
                .tag_digest(dst_repo, tag)
                .await
                .map_err(registry_error(format!(
                    "{dst_repo}:{tag} on the destination"
                )))? {
                Some(digest) if digest == top.digest => TagChange::Unchanged,
                Some(digest) => TagChange::Moves { from: digest },
                None => TagChange::New,
            }
        }
    };
    let repos = Repos {
        source: src_repo,
        destination: dst_repo,
        no_repository: *listing == TagListing::NoRepository,
    };
    // A tag already on the digest means the manifest is there: no need to ask again.
    let known = (tag == TagChange::Unchanged).then_some(true);
    let mut manifests = Vec::new();
    walk(
        ends,
        repos,
        top.clone(),
        picked.clone(),
        known,
        0,
        &mut manifests,
    )
    .await?;
    Ok(Walked {
        image: PlannedImage {
            source: what,
            source_digest,
            destination_repository: dst_repo.clone(),
            destination_tag: request.destination_tag.clone(),
            digest: top.digest,
            platform: picked,
            tag,
        },
        manifests,
    })
}

/// The child of `fetched` (an index) for `filter`, fetched.
async fn pick_platform(
    source: &dyn CopySource,
    repo: &RepoName,
    what: &str,
    fetched: FetchedManifest,
    filter: &PlatformFilter,
) -> Result<(FetchedManifest, Option<String>), PlanError> {
    let Manifest::Index(index) = &fetched.manifest else {
        return Err(PlanError::NotAnIndex {
            what: what.to_string(),
            platform: filter.to_string(),
        });
    };
    let child = index
        .manifests
        .iter()
        .find(|d| d.platform.as_ref().is_some_and(|p| filter.matches(p)));
    let Some(child) = child else {
        let available: Vec<String> = index
            .manifests
            .iter()
            .filter_map(|d| d.platform.as_ref().map(ToString::to_string))
            .collect();
        return Err(PlanError::NoSuchPlatform {
            what: what.to_string(),
            platform: filter.to_string(),
            available: if available.is_empty() {
                "none named".into()
            } else {
                available.join(", ")
            },
        });
    };
    let label = child.platform.as_ref().map(ToString::to_string);
    let reference = ManifestRef::Digest(child.digest.clone());
    let picked = source
        .manifest(repo, &reference)
        .await
        .map_err(registry_error(describe(repo, &reference)))?;
    Ok((picked, label))
}

/// Adds `fetched` and, unless the destination has it already, everything below it to `out`,
/// children first. `known`: whether the destination repository has `fetched`, when that is
/// known already (asked otherwise).
fn walk<'a>(
    ends: &'a Ends<'a>,
    repos: Repos<'a>,
    fetched: FetchedManifest,
    platform: Option<String>,
    known: Option<bool>,
    depth: usize,
    out: &'a mut Vec<PlannedManifest>,
) -> futures::future::BoxFuture<'a, Result<(), PlanError>> {
    Box::pin(async move {
        let (src_repo, dst_repo) = (repos.source, repos.destination);
        let what = format!("{src_repo}@{}", fetched.digest);
        check_manifest(&fetched.manifest).map_err(|e| PlanError::Unusable {
            what: what.clone(),
            detail: e.to_string(),
        })?;
        let present = match known {
            Some(present) => present,
            None if repos.no_repository => false,
            None => has_manifest(ends.destination, dst_repo, &fetched.digest).await?,
        };
        let (blobs, children) = match &fetched.manifest {
            Manifest::Image(m) => {
                let mut blobs = vec![m.config.digest.clone()];
                for layer in &m.layers {
                    if !blobs.contains(&layer.digest) {
                        blobs.push(layer.digest.clone());
                    }
                }
                (blobs, Vec::new())
            }
            Manifest::Index(index) => {
                if depth >= MAX_INDEX_DEPTH {
                    return Err(PlanError::Unusable {
                        what,
                        detail: format!("indexes nest deeper than {MAX_INDEX_DEPTH} levels"),
                    });
                }
                let children: Vec<Digest> =
                    index.manifests.iter().map(|d| d.digest.clone()).collect();
                if !present {
                    for child in &index.manifests {
                        let reference = ManifestRef::Digest(child.digest.clone());
                        let fetched = ends
                            .source
                            .manifest(src_repo, &reference)
                            .await
                            .map_err(registry_error(describe(src_repo, &reference)))?;
                        let label = child.platform.as_ref().map(ToString::to_string);
                        walk(ends, repos, fetched, label, None, depth + 1, out).await?;
                    }
                }
                (Vec::new(), children)
            }
        };
        out.push(PlannedManifest {
            repository: dst_repo.clone(),
            source_repository: src_repo.clone(),
            digest: fetched.digest,
            media_type: fetched.media_type,
            size: fetched.bytes.len() as u64,
            platform,
            is_index: fetched.manifest.is_index(),
            present,
            bytes: fetched.bytes,
            blobs,
            children,
        });
        Ok(())
    })
}

/// One destination repository's tag listing, asked once and awaited by every image copied
/// into it.
type SharedListing<'a> = Shared<BoxFuture<'a, TagListing>>;

/// The tag listing of every destination repository that more than one tagged image goes
/// to: one request there instead of a HEAD per tag (and, where the repository does not
/// exist yet, per manifest). A repository receiving one image is asked per tag as before.
/// The listings are asked for while the source's manifests are read.
struct TagListings<'a> {
    /// In the order the requests first name them.
    listings: Vec<SharedListing<'a>>,
    index: HashMap<RepoName, usize>,
}

impl<'a> TagListings<'a> {
    fn new(destination: &'a dyn CopyDestination, requests: &[ImageRequest]) -> Self {
        let mut order: Vec<&RepoName> = Vec::new();
        let mut tagged: HashMap<&RepoName, usize> = HashMap::new();
        for r in requests.iter().filter(|r| r.destination_tag.is_some()) {
            let images = tagged.entry(&r.destination_repository).or_default();
            if *images == 0 {
                order.push(&r.destination_repository);
            }
            *images += 1;
        }
        let mut listings = Self {
            listings: Vec::new(),
            index: HashMap::new(),
        };
        for repo in order.into_iter().filter(|repo| tagged[repo] > 1) {
            let name = repo.clone();
            let listing = async move { destination.tag_listing(&name).await };
            listings.index.insert(repo.clone(), listings.listings.len());
            listings.listings.push(listing.boxed().shared());
        }
        listings
    }

    fn of(&self, repo: &RepoName) -> Option<SharedListing<'a>> {
        let i = *self.index.get(repo)?;
        Some(self.listings[i].clone())
    }

    /// Asks for every listing, `concurrency` at a time: the images waiting for one get it
    /// when it comes.
    async fn ask(&self, concurrency: usize) {
        // Cloned first, not mapped inside the stream: rust-lang/rust#102211.
        futures::stream::iter(self.listings.clone())
            .buffer_unordered(concurrency)
            .for_each(|_| futures::future::ready(()))
            .await;
    }
}

/// Plans copying `requests` from `ends.source` to `ends.destination`: reads the source's
/// manifests, asks the destination for its tags (a listing per repository receiving several
/// images, else a HEAD per tag), manifests (HEAD, unless a tag or a missing repository
/// answered already) and every blob (HEAD), and decides how each missing blob gets there.
/// Writes nothing.
pub async fn plan_copy(
    ends: &Ends<'_>,
    requests: &[ImageRequest],
    platform: Option<&PlatformFilter>,
    concurrency: usize,
) -> Result<CopyPlan, PlanError> {
    plan_copy_with(ends, requests, platform, concurrency, BlobAsking::Head).await
}

/// [`plan_copy`], the blobs asked for as `asking` says. With [`BlobAsking::OnApply`] a
/// registry destination other than the source is asked for no blob while planning: each
/// distinct blob is [`BlobAction::AskOnApply`] in the first repository that needs it and
/// mounted from there into the others. With [`BlobAsking::WhilePlanning`] those are then
/// asked for before the plan is returned, as [`super::ask::ask_blobs`] would. Blobs are asked
/// for as soon as the manifest needing them is read, while the rest are read.
pub async fn plan_copy_with(
    ends: &Ends<'_>,
    requests: &[ImageRequest],
    platform: Option<&PlatformFilter>,
    concurrency: usize,
    asking: BlobAsking,
) -> Result<CopyPlan, PlanError> {
    let concurrency = concurrency.max(1);
    let listings = TagListings::new(ends.destination, requests);
    // The futures are made first and then streamed (not mapped inside the stream), so the
    // whole plan is a `Send` future a TUI worker can spawn (rust-lang/rust#102211).
    let planning: Vec<_> = requests
        .iter()
        .map(|request| {
            let listing = listings.of(&request.destination_repository);
            plan_image(ends, request, platform, listing)
        })
        .collect();
    // In request order, whatever order they are read in: the plan does not depend on it.
    let walked = futures::stream::iter(planning).buffered(concurrency);
    let ((), gathered) = futures::future::try_join(
        listings.ask(concurrency).map(Ok),
        super::needed::gather(ends, walked, asking, concurrency),
    )
    .await?;
    let Gathered {
        images,
        manifests,
        blobs,
    } = gathered;
    let totals = totals(&images, &manifests, &blobs);
    Ok(CopyPlan {
        source: ends.source.name(),
        destination: ends.destination.name(),
        same_registry: ends.same_registry(),
        platform: platform.cloned(),
        images,
        manifests,
        blobs,
        totals,
    })
}

fn totals(
    images: &[PlannedImage],
    manifests: &[PlannedManifest],
    blobs: &[PlannedBlob],
) -> CopyTotals {
    let mut t = CopyTotals {
        images: images.len(),
        tags_to_set: images.iter().filter(|i| i.tag.needs_push()).count(),
        ..CopyTotals::default()
    };
    for m in manifests {
        if m.present {
            t.manifests_present += 1;
        } else {
            t.manifests_to_push += 1;
            t.bytes_to_move = t.bytes_to_move.saturating_add(m.size);
        }
    }
    for b in blobs {
        match b.action {
            BlobAction::Present => t.blobs_present += 1,
            BlobAction::Mount { .. } => {
                t.blobs_mounted += 1;
                t.bytes_missing = t.bytes_missing.saturating_add(b.size);
            }
            BlobAction::Transfer => {
                t.blobs_transferred += 1;
                t.bytes_missing = t.bytes_missing.saturating_add(b.size);
                t.bytes_to_move = t.bytes_to_move.saturating_add(b.size);
            }
            BlobAction::AskOnApply => t.blobs_to_ask += 1,
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms_parse_and_match() {
        let f = PlatformFilter::parse("linux/arm64/v8").expect("parses");
        let p = |arch: &str, variant: Option<&str>| Platform {
            architecture: arch.into(),
            os: "linux".into(),
            variant: variant.map(str::to_string),
            os_version: None,
        };
        assert!(f.matches(&p("arm64", Some("v8"))));
        assert!(!f.matches(&p("arm64", None)));
        let any_variant = PlatformFilter::parse("linux/arm64").expect("parses");
        assert!(any_variant.matches(&p("arm64", Some("v8"))));
        assert!(!any_variant.matches(&p("amd64", None)));
        for bad in ["linux", "linux/", "/arm64", "a/b/c/d", ""] {
            assert!(PlatformFilter::parse(bad).is_err(), "{bad:?}");
        }
    }
}
