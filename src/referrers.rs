//! Referrer discovery: finds the artifacts attached to a manifest from the four places they
//! are written down, through a [`Source`], with one GET per referrer manifest:
//!
//! 1. the OCI 1.1 referrers API (asked once per repository; a 404 means none, and it is not
//!    asked again);
//! 2. the referrers fallback tag `sha256-<hex>`, an index listing the referrers (one GET of
//!    the index; a registry that resolves that tag to the subject itself is ignored);
//! 3. cosign's tags `sha256-<hex>.sig`, `.att`, `.sbom` (one GET each);
//! 4. tagged manifests whose `subject` names the manifest (with
//!    [`DiscoveryOptions::tagged_subjects`]: one HEAD per tag, one GET per distinct digest,
//!    which a [`CachingSource`](crate::registry::cache::CachingSource) answers from disk).
//!
//! The tag lists are taken as given where the caller has them (a scan already does). The
//! referrers of referrers are followed (a signature of an SBOM), and other repositories
//! are searched too when configured (cosign's `COSIGN_REPOSITORY`).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use futures::StreamExt;
use serde::Serialize;

use crate::analysis::artifact::classify;
use crate::analysis::content::{BlobSummary, WantedBlob, blobs_to_read, summarize};
use crate::analysis::referrers::{FoundVia, ReferrerFacts};
use crate::registry::manifest::Manifest;
use crate::registry::referrers::{SchemeTag, SubjectFields, scheme_of};
use crate::registry::{Digest, FetchedManifest, ManifestRef, RegistryError, RepoName, Source, Tag};

/// The annotation OCI defines for a creation time.
const CREATED: &str = "org.opencontainers.image.created";

#[derive(Debug, Clone)]
pub struct DiscoveryOptions {
    /// Follow the referrers of referrers.
    pub transitive: bool,
    /// Look for tagged manifests carrying `subject` (source 4), at one HEAD per tag.
    pub tagged_subjects: bool,
    /// Other repositories that hold referrers of this repository's manifests.
    pub other_repositories: Vec<RepoName>,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Read the small blobs that say what each referrer holds (the payload a signature
    /// signs, an attestation's statement, an SBOM's package count): one GET per distinct
    /// blob within the document size cap, through the source's cache.
    pub summaries: bool,
}

impl Default for DiscoveryOptions {
    fn default() -> Self {
        Self {
            transitive: true,
            tagged_subjects: true,
            other_repositories: Vec::new(),
            concurrency: 8,
            summaries: true,
        }
    }
}

/// A fallback index (`sha256-<hex>` tag) discovery read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FallbackIndex {
    pub repository: RepoName,
    pub tag: Tag,
    pub digest: Digest,
    pub bytes: u64,
    /// Referrers it lists that the registry no longer has: OCI 1.1 asks clients to keep the
    /// index true, so these are stale entries.
    pub missing: Vec<Digest>,
}

/// A referrer-scheme tag or a `subject` whose subject manifest is gone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Orphan {
    pub repository: RepoName,
    /// The tag the orphan carries.
    pub tag: Tag,
    /// What it names as its subject.
    pub subject: Digest,
}

/// What [`orphans`] found, and what it could not read.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Orphans {
    pub orphans: Vec<Orphan>,
    pub failures: Vec<DiscoveryFailure>,
}

/// Something discovery could not read; the rest is still reported.
#[derive(Debug, Clone, Serialize)]
pub struct DiscoveryFailure {
    pub what: String,
    pub error: String,
}

/// What discovery found.
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    pub facts: Vec<ReferrerFacts>,
    pub fallback_indexes: Vec<FallbackIndex>,
    /// Per repository: whether it answered the referrers API (absent: never asked).
    pub api: BTreeMap<RepoName, bool>,
    pub failures: Vec<DiscoveryFailure>,
}

/// Per repository: its tags by the subject their scheme names, and its subject-carrying
/// tagged manifests by subject.
#[derive(Default)]
struct RepoTags {
    scheme: HashMap<Digest, Vec<(Tag, SchemeTag)>>,
    by_subject: HashMap<Digest, Vec<(Tag, FetchedManifest)>>,
}

/// A referrer candidate before its manifest is read.
struct Candidate {
    repo: RepoName,
    digest: Digest,
    listed_artifact_type: Option<String>,
    via: FoundVia,
    fetched: Option<FetchedManifest>,
}

/// Finds the referrers of `subject` in `repo` (and the configured other repositories).
/// `tags` is `repo`'s tag list when the caller has it; otherwise it is listed.
pub async fn discover(
    source: &dyn Source,
    repo: &RepoName,
    subject: &Digest,
    tags: Option<&[Tag]>,
    options: &DiscoveryOptions,
) -> Result<Discovery, RegistryError> {
    let mut repos = vec![repo.clone()];
    for other in &options.other_repositories {
        if !repos.contains(other) {
            repos.push(other.clone());
        }
    }
    let mut out = Discovery::default();
    let mut repo_tags: BTreeMap<RepoName, RepoTags> = BTreeMap::new();
    for r in &repos {
        let listed = match (r == repo, tags) {
            (true, Some(t)) => t.to_vec(),
            _ => source.tags(r).await?,
        };
        let t = index_tags(source, r, &listed, options, &mut out).await;
        repo_tags.insert(r.clone(), t);
    }

    // Every manifest read, by repository and digest (or why it could not be read), so that
    // a referrer listed by several sources, or under several subjects, is read once.
    let mut fetched: HashMap<(RepoName, Digest), Result<FetchedManifest, RegistryError>> =
        HashMap::new();
    let mut seen: BTreeSet<Digest> = BTreeSet::from([subject.clone()]);
    let mut level = vec![subject.clone()];
    while !level.is_empty() {
        let mut found: Vec<(Digest, Candidate)> = Vec::new();
        for s in &level {
            for r in &repos {
                let tags = repo_tags.get(r);
                let candidates = candidates_in(source, r, s, tags, &mut out).await;
                found.extend(candidates.into_iter().map(|c| (s.clone(), c)));
            }
        }
        // The manifests still unread, read concurrently: one GET each.
        let mut missing: Vec<(RepoName, Digest)> = Vec::new();
        for (_, c) in &mut found {
            let key = (c.repo.clone(), c.digest.clone());
            if let Some(m) = c.fetched.take() {
                fetched.entry(key).or_insert(Ok(m));
            } else if !fetched.contains_key(&key) && !missing.contains(&key) {
                missing.push(key);
            }
        }
        let read: Vec<_> = futures::stream::iter(missing.into_iter().map(|key| async move {
            let m = source
                .manifest(&key.0, &ManifestRef::Digest(key.1.clone()))
                .await;
            (key, m)
        }))
        .buffer_unordered(options.concurrency.max(1))
        .collect()
        .await;
        fetched.extend(read);

        let mut next = Vec::new();
        let mut reported: BTreeSet<(RepoName, Digest)> = BTreeSet::new();
        for (s, c) in found {
            let key = (c.repo.clone(), c.digest.clone());
            let manifest = match fetched.get(&key) {
                Some(Ok(m)) => m,
                Some(Err(e)) => {
                    if !note_missing(&mut out, &c, e) && reported.insert(key) {
                        out.failures.push(DiscoveryFailure {
                            what: format!("{}@{}", c.repo, c.digest),
                            error: e.to_string(),
                        });
                    }
                    continue;
                }
                None => continue,
            };
            out.facts.push(facts_of(
                &c.repo,
                &s,
                manifest,
                c.listed_artifact_type.as_deref(),
                c.via,
            ));
            if options.transitive && seen.insert(manifest.digest.clone()) {
                next.push(manifest.digest.clone());
            }
        }
        level = next;
    }
    if options.summaries {
        read_summaries(source, &fetched, &mut out, options.concurrency).await;
    }
    Ok(out)
}

/// Reads what each referrer holds into its facts' `summary`: one GET per distinct blob
/// (a blob above the size cap is named, not fetched); a blob that cannot be read is a
/// failure, and the rest is still summarized.
async fn read_summaries(
    source: &dyn Source,
    fetched: &HashMap<(RepoName, Digest), Result<FetchedManifest, RegistryError>>,
    out: &mut Discovery,
    concurrency: usize,
) {
    let mut plans: Vec<(Vec<WantedBlob>, Vec<BlobSummary>)> = Vec::new();
    let mut to_fetch: Vec<(RepoName, Digest)> = Vec::new();
    for f in &out.facts {
        let plan = match fetched.get(&(f.repo.clone(), f.digest.clone())) {
            Some(Ok(m)) => blobs_to_read(&f.kind, &m.manifest),
            _ => Default::default(),
        };
        for w in &plan.0 {
            if !to_fetch.iter().any(|(_, d)| d == &w.digest) {
                to_fetch.push((f.repo.clone(), w.digest.clone()));
            }
        }
        plans.push(plan);
    }
    let bodies: HashMap<Digest, Result<Vec<u8>, RegistryError>> =
        futures::stream::iter(to_fetch.into_iter().map(|(repo, digest)| async move {
            let body = source.blob(&repo, &digest).await;
            (digest, body)
        }))
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let mut reported: BTreeSet<Digest> = BTreeSet::new();
    for (f, (wanted, skipped)) in out.facts.iter_mut().zip(plans) {
        for w in &wanted {
            match bodies.get(&w.digest) {
                Some(Ok(body)) => f.summary.push(summarize(w, body)),
                Some(Err(e)) if reported.insert(w.digest.clone()) => {
                    out.failures.push(DiscoveryFailure {
                        what: format!("blob {} of {}@{}", w.digest, f.repo, f.digest),
                        error: e.to_string(),
                    });
                }
                Some(Err(_)) => {}
                None => {}
            }
        }
        f.summary.extend(skipped);
    }
}

/// Sorts a repository's tags by scheme and, when asked, reads the subject of every other
/// tagged manifest.
async fn index_tags(
    source: &dyn Source,
    repo: &RepoName,
    tags: &[Tag],
    options: &DiscoveryOptions,
    out: &mut Discovery,
) -> RepoTags {
    let mut result = RepoTags::default();
    let mut plain = Vec::new();
    for tag in tags {
        match scheme_of(tag) {
            Some(scheme) => result
                .scheme
                .entry(scheme.subject().clone())
                .or_default()
                .push((tag.clone(), scheme)),
            None => plain.push(tag.clone()),
        }
    }
    if !options.tagged_subjects {
        return result;
    }
    let heads: Vec<(Tag, Result<FetchedManifest, RegistryError>)> =
        futures::stream::iter(plain.into_iter().map(|tag| async move {
            let reference = ManifestRef::Tag(tag.clone());
            let head = match source.resolve(repo, &reference).await {
                Ok(h) => h,
                Err(e) => return (tag, Err(e)),
            };
            let m = source
                .manifest(repo, &ManifestRef::Digest(head.digest))
                .await;
            (tag, m)
        }))
        .buffer_unordered(options.concurrency.max(1))
        .collect()
        .await;
    for (tag, m) in heads {
        match m {
            Ok(m) => {
                if let Some(s) = SubjectFields::of(&m.bytes).subject {
                    result
                        .by_subject
                        .entry(s.digest)
                        .or_default()
                        .push((tag, m));
                }
            }
            Err(e) => out.failures.push(DiscoveryFailure {
                what: format!("{repo}:{tag}"),
                error: e.to_string(),
            }),
        }
    }
    result
}

/// The referrers of `subject` that `repo` lists, from all four places.
async fn candidates_in(
    source: &dyn Source,
    repo: &RepoName,
    subject: &Digest,
    tags: Option<&RepoTags>,
    out: &mut Discovery,
) -> Vec<Candidate> {
    let mut candidates = Vec::new();
    // 1. The referrers API, until the repository shows it has none.
    if out.api.get(repo) != Some(&false) {
        match source.referrers(repo, subject, None).await {
            Ok(Some(listing)) => {
                out.api.insert(repo.clone(), true);
                candidates.extend(listing.referrers.into_iter().map(|r| Candidate {
                    repo: repo.clone(),
                    digest: r.digest,
                    listed_artifact_type: r.artifact_type,
                    via: FoundVia::Api,
                    fetched: None,
                }));
            }
            Ok(None) => {
                out.api.insert(repo.clone(), false);
            }
            Err(e) => out.failures.push(DiscoveryFailure {
                what: format!("the referrers API of {repo}@{subject}"),
                error: e.to_string(),
            }),
        }
    }
    let Some(tags) = tags else {
        return candidates;
    };
    // 2 and 3: the fallback index and cosign's tags.
    for (tag, scheme) in tags.scheme.get(subject).into_iter().flatten() {
        let m = match source.manifest(repo, &ManifestRef::Tag(tag.clone())).await {
            Ok(m) => m,
            Err(e) => {
                out.failures.push(DiscoveryFailure {
                    what: format!("{repo}:{tag}"),
                    error: e.to_string(),
                });
                continue;
            }
        };
        // Some registries resolve `sha256-<hex>` to the subject itself: not a referrer.
        if &m.digest == subject {
            continue;
        }
        match scheme {
            SchemeTag::Fallback(_) if matches!(m.manifest, Manifest::Index(_)) => {
                let listed = SubjectFields::of(&m.bytes).manifests;
                out.fallback_indexes.push(FallbackIndex {
                    repository: repo.clone(),
                    tag: tag.clone(),
                    digest: m.digest.clone(),
                    bytes: m.bytes.len() as u64,
                    missing: Vec::new(),
                });
                candidates.extend(listed.into_iter().map(|r| Candidate {
                    repo: repo.clone(),
                    digest: r.digest,
                    listed_artifact_type: r.artifact_type,
                    via: FoundVia::FallbackIndex { tag: tag.clone() },
                    fetched: None,
                }));
            }
            // A manifest under a fallback tag that is not an index: a referrer only if it
            // says so itself.
            SchemeTag::Fallback(_) => {
                if SubjectFields::of(&m.bytes)
                    .subject
                    .is_some_and(|s| &s.digest == subject)
                {
                    candidates.push(Candidate {
                        repo: repo.clone(),
                        digest: m.digest.clone(),
                        listed_artifact_type: None,
                        via: FoundVia::SubjectField { tag: tag.clone() },
                        fetched: Some(m),
                    });
                }
            }
            SchemeTag::Cosign { .. } => candidates.push(Candidate {
                repo: repo.clone(),
                digest: m.digest.clone(),
                listed_artifact_type: None,
                via: FoundVia::CosignTag { tag: tag.clone() },
                fetched: Some(m),
            }),
        }
    }
    // 4. Tagged manifests that name the subject.
    for (tag, m) in tags.by_subject.get(subject).into_iter().flatten() {
        candidates.push(Candidate {
            repo: repo.clone(),
            digest: m.digest.clone(),
            listed_artifact_type: None,
            via: FoundVia::SubjectField { tag: tag.clone() },
            fetched: Some(m.clone()),
        });
    }
    candidates
}

/// A referrer a fallback index lists and the registry does not have is a stale entry of
/// that index, not a failure: records it there and returns true.
fn note_missing(out: &mut Discovery, c: &Candidate, e: &RegistryError) -> bool {
    let FoundVia::FallbackIndex { tag } = &c.via else {
        return false;
    };
    if !e.is_not_found() {
        return false;
    }
    for index in out.fallback_indexes.iter_mut() {
        if index.repository == c.repo && &index.tag == tag && !index.missing.contains(&c.digest) {
            index.missing.push(c.digest.clone());
        }
    }
    true
}

fn facts_of(
    repo: &RepoName,
    subject: &Digest,
    m: &FetchedManifest,
    listed_artifact_type: Option<&str>,
    via: FoundVia,
) -> ReferrerFacts {
    let fields = SubjectFields::of(&m.bytes);
    let artifact_type = fields
        .artifact_type
        .clone()
        .or(listed_artifact_type.map(str::to_string));
    let references = match &m.manifest {
        Manifest::Image(image) => std::iter::once(&image.config)
            .chain(image.layers.iter())
            .map(|d| (d.digest.clone(), d.size))
            .collect(),
        Manifest::Index(index) => index
            .manifests
            .iter()
            .map(|d| (d.digest.clone(), d.size))
            .collect(),
    };
    ReferrerFacts {
        repo: repo.clone(),
        digest: m.digest.clone(),
        subject: subject.clone(),
        media_type: m.media_type.clone(),
        kind: classify(m, artifact_type.as_deref()),
        artifact_type,
        manifest_bytes: m.bytes.len() as u64,
        references,
        created: fields.annotations.and_then(|a| a.get(CREATED).cloned()),
        found_via: BTreeSet::from([via]),
        summary: Vec::new(),
    }
}

/// Tags of `repo` whose subject manifest is gone: referrer-scheme tags (`sha256-<hex>`,
/// `.sig`, `.att`, `.sbom`) and, with `options.tagged_subjects`, tagged manifests whose
/// `subject` names a missing manifest (one HEAD per tag, as in [`discover`]). One HEAD per
/// distinct subject. With `tags` absent the repository's tags are listed. Tags that could
/// not be read are in `failures`: any of them may be an orphan too.
pub async fn orphans(
    source: &dyn Source,
    repo: &RepoName,
    tags: Option<&[Tag]>,
    options: &DiscoveryOptions,
) -> Result<Orphans, RegistryError> {
    let listed = match tags {
        Some(t) => t.to_vec(),
        None => source.tags(repo).await?,
    };
    let mut scratch = Discovery::default();
    let indexed = index_tags(source, repo, &listed, options, &mut scratch).await;
    let mut subjects: BTreeMap<Digest, BTreeSet<Tag>> = BTreeMap::new();
    for (subject, tags) in &indexed.scheme {
        subjects
            .entry(subject.clone())
            .or_default()
            .extend(tags.iter().map(|(t, _)| t.clone()));
    }
    for (subject, tagged) in &indexed.by_subject {
        subjects
            .entry(subject.clone())
            .or_default()
            .extend(tagged.iter().map(|(t, _)| t.clone()));
    }
    let mut out = Vec::new();
    for (subject, tags) in subjects {
        match source
            .resolve(repo, &ManifestRef::Digest(subject.clone()))
            .await
        {
            Ok(_) => {}
            Err(e) if e.is_not_found() => out.extend(tags.into_iter().map(|tag| Orphan {
                repository: repo.clone(),
                tag,
                subject: subject.clone(),
            })),
            Err(e) => return Err(e),
        }
    }
    Ok(Orphans {
        orphans: out,
        failures: scratch.failures,
    })
}
