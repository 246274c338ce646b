//! Plans: what a deletion or a cleanup would do, as data, before anything is done. The
//! executor applies exactly this; the previews (CLI and TUI) print exactly this.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;

use super::blob_backup::{BlobBackup, blobs_to_keep};
use super::policy::{Decision, Policy, Rule, TagFacts, Verdict, evaluate};
use crate::analysis::attached::Attachments;
use crate::analysis::followers::artifact_bytes;
pub use crate::analysis::freed::Referrers;
use crate::analysis::freed::{Goes, PREDICTION_NOTE, plan_deletion_with, repo_tags};
use crate::analysis::model::{ManifestBody, StorageModel};
use crate::registry::{Digest, RepoName, Tag};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// DELETE by digest: the manifest and every tag on it go; an index's children follow.
    Delete,
    /// Only this tag goes; other tags on the digest stay.
    Untag,
    /// A referrers fallback index is written again under its tag without the entries in
    /// `children` that the registry no longer has by then, and the old index is deleted by
    /// digest (no other tag is on it).
    Rewrite,
}

/// Why a step is in the plan. Serialized as one sentence (`requested`, or the policy's rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// Named by whoever asked (`rm`, the TUI's delete).
    Requested,
    /// A cleanup policy's rule dropped it.
    Policy(Rule),
    /// Attached to `subject`, which this plan deletes: it goes after it (and only if it
    /// went). `kind` is its label (`cosign signature`), `bytes` its document and blobs.
    Referrer {
        subject: Digest,
        kind: String,
        bytes: u64,
    },
    /// The referrers fallback index (`sha256-<hex>`) of `subject`, which this plan deletes:
    /// it goes after it (and only if it went).
    FallbackIndex { subject: Digest, bytes: u64 },
    /// The referrers fallback index of `subject` (which stays) lists manifests that go or
    /// are gone: it is rewritten without them.
    Rewrite { subject: Digest },
    /// Attached to `subject`, which the registry no longer has (`cleanup
    /// --orphaned-referrers`); `kind` is its label, `bytes` its document and blobs.
    Orphan {
        subject: Digest,
        kind: String,
        bytes: u64,
    },
    /// A manifest revision no tag reaches, found in the registry's storage
    /// (`cleanup --untagged`, `cleanup::untagged`).
    Untagged,
    /// On a mirror's destination, a tag its source no longer has or its `tags` filter no
    /// longer selects (`regatta sync` with `delete = true`, `cleanup::prune`).
    Unmirrored,
}

impl Reason {
    /// The manifest this step follows: it is applied only once that one is gone.
    pub fn follows(&self) -> Option<&Digest> {
        match self {
            Reason::Referrer { subject, .. } | Reason::FallbackIndex { subject, .. } => {
                Some(subject)
            }
            Reason::Requested
            | Reason::Policy(_)
            | Reason::Rewrite { .. }
            | Reason::Orphan { .. }
            | Reason::Untagged
            | Reason::Unmirrored => None,
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Requested => f.write_str("requested"),
            Reason::Policy(rule) => rule.fmt(f),
            Reason::Referrer { subject, kind, .. } => write!(f, "{kind} of {subject}"),
            Reason::FallbackIndex { subject, .. } => write!(f, "referrers index of {subject}"),
            Reason::Orphan { subject, kind, .. } => {
                write!(f, "{kind} of {subject}, which is gone")
            }
            Reason::Rewrite { subject } => write!(
                f,
                "referrers index of {subject}, rewritten without the entries that go"
            ),
            Reason::Untagged => f.write_str("untagged"),
            Reason::Unmirrored => f.write_str("not selected at the source any more"),
        }
    }
}

impl Serialize for Reason {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedDeletion {
    pub repository: RepoName,
    pub digest: Digest,
    pub mode: Mode,
    /// Tags that go (for `delete`: every tag on the digest; for `untag`: the one tag).
    pub tags: Vec<Tag>,
    /// Of `tags`, those not asked for, going because they share the digest.
    pub widened: Vec<Tag>,
    /// Platform manifests of a deleted index that go after it.
    pub children: Vec<Digest>,
    pub reason: Reason,
}

#[derive(Debug, Clone, Serialize)]
pub struct RepoSummary {
    pub repository: RepoName,
    pub policy: Option<String>,
    pub kept: usize,
    pub deleted: usize,
    pub untagged: usize,
    pub decisions: Vec<Decision>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub deletions: Vec<PlannedDeletion>,
    /// Per repository (cleanup plans only): counts and every tag's decision with its reason.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub repositories: Vec<RepoSummary>,
    /// Requested references that were not found (serialized as `REPOSITORY:TAG`).
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "repo_tags")]
    pub unknown: Vec<(RepoName, Tag)>,
    pub bytes_freed: u64,
    pub note: &'static str,
    /// Every tag the scan resolved in each repository the plan touches, and its digest: the
    /// executor resolves the tags it finds beyond these (pushed since the scan) before
    /// deleting there. Not part of the JSON.
    #[serde(skip)]
    pub seen: BTreeMap<RepoName, BTreeMap<Tag, Digest>>,
    /// What garbage collection removes once the plan is applied, blob by blob: the set
    /// `bytes_freed` sums (empty where the plan was not predicted from a scan). Not JSON.
    #[serde(skip)]
    pub freed: BTreeMap<Digest, u64>,
    /// With `backup_blobs`: the blobs downloaded into the backup before anything is deleted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blob_backup: Option<BlobBackup>,
}

/// Above this many tags, confirming a plan takes typing its repository's name.
pub const TYPED_ABOVE: usize = 10;

impl Plan {
    /// What must be typed to confirm applying the plan, in the CLI's prompt and the TUI's
    /// dialog alike: the repository's name when more than [`TYPED_ABOVE`] tags go from one
    /// repository (a name is read, `yes` is typed by habit), else `yes`.
    pub fn confirmation_word(&self) -> String {
        let repos: BTreeSet<&RepoName> = self.deletions.iter().map(|d| &d.repository).collect();
        match repos.into_iter().collect::<Vec<_>>().as_slice() {
            [one] if self.name_must_be_typed() => one.to_string(),
            _ => "yes".to_string(),
        }
    }

    /// Whether the word must be typed out even where a key could confirm (the TUI's Enter
    /// stands for `yes` on a small plan): more than [`TYPED_ABOVE`] tags go.
    pub fn name_must_be_typed(&self) -> bool {
        self.tag_count() > TYPED_ABOVE
    }

    /// Whether `typed` confirms the plan: exactly [`Plan::confirmation_word`], surrounding
    /// spaces aside.
    pub fn confirmed_by(&self, typed: &str) -> bool {
        typed.trim() == self.confirmation_word()
    }

    /// The plan with a blob backup (`backup_blobs`): the config and layer blobs it frees
    /// are downloaded into the backup before its first delete.
    pub fn keeping_blobs(mut self, model: &StorageModel) -> Self {
        self.blob_backup = Some(blobs_to_keep(&self, model));
        self
    }

    /// Records what the scan saw of every repository the plan touches.
    pub(super) fn seeing(mut self, model: &StorageModel) -> Self {
        self.seen = self
            .repositories_touched()
            .into_iter()
            .map(|repo| {
                let tags = model
                    .tag_digests(repo)
                    .map(|(t, d)| (t.clone(), d.clone()))
                    .collect();
                (repo.clone(), tags)
            })
            .collect();
        self
    }

    /// Tags that go (a rewritten referrers index keeps its tag).
    pub fn tag_count(&self) -> usize {
        self.deletions
            .iter()
            .filter(|d| d.mode != Mode::Rewrite)
            .map(|d| d.tags.len())
            .sum()
    }
}

/// The plan for deleting `selection` by digest with its referrers (`rm`), or untagging only
/// (`rm --untag`, which keeps referrers).
pub fn plan_rm(model: &StorageModel, selection: &[(RepoName, Tag)], mode: Mode) -> Plan {
    plan_rm_with(model, selection, mode, Referrers::Follow)
}

/// [`plan_rm`], with the referrers of what is deleted following it or staying
/// (`--keep-referrers`).
pub fn plan_rm_with(
    model: &StorageModel,
    selection: &[(RepoName, Tag)],
    mode: Mode,
    referrers: Referrers,
) -> Plan {
    if mode == Mode::Untag {
        let mut deletions = Vec::new();
        let mut unknown = Vec::new();
        for (repo, tag) in selection {
            match model.repos.get(repo).and_then(|r| r.tags.get(tag)) {
                Some(Some(digest)) => deletions.push(untag(repo, tag, digest, Reason::Requested)),
                _ => unknown.push((repo.clone(), tag.clone())),
            }
        }
        // Untagging frees nothing unless the tag was the digest's last: then the registry's
        // garbage collection keeps the manifest anyway (its revision stays), so 0 is exact.
        return Plan {
            deletions,
            repositories: Vec::new(),
            unknown,
            bytes_freed: 0,
            note: PREDICTION_NOTE,
            seen: BTreeMap::new(),
            freed: BTreeMap::new(),
            blob_backup: None,
        }
        .seeing(model);
    }
    let predicted = plan_deletion_with(model, selection, referrers);
    let mut deletions: Vec<PlannedDeletion> = Vec::new();
    for d in &predicted.deletions {
        if let (Goes::Rewritten, Some(subject)) = (d.reason, &d.parent) {
            deletions.push(PlannedDeletion {
                repository: d.repository.clone(),
                digest: d.digest.clone(),
                mode: Mode::Rewrite,
                tags: d.tags.clone(),
                widened: Vec::new(),
                children: d.dropped.clone(),
                reason: Reason::Rewrite {
                    subject: subject.clone(),
                },
            });
            continue;
        }
        if d.reason == Goes::IndexChild {
            if let Some(parent) = deletions
                .iter_mut()
                .find(|p| Some(&p.digest) == d.parent.as_ref() && p.repository == d.repository)
            {
                parent.children.push(d.digest.clone());
            }
            continue;
        }
        let reason = match (d.reason, &d.parent) {
            (Goes::Referrer, Some(subject)) => Reason::Referrer {
                subject: subject.clone(),
                kind: model
                    .manifests
                    .get(&d.digest)
                    .map_or_else(|| "artifact".to_string(), |m| m.kind.label()),
                bytes: artifact_bytes(model, &d.digest),
            },
            (Goes::FallbackIndex, Some(subject)) => Reason::FallbackIndex {
                subject: subject.clone(),
                bytes: artifact_bytes(model, &d.digest),
            },
            _ => Reason::Requested,
        };
        deletions.push(PlannedDeletion {
            repository: d.repository.clone(),
            digest: d.digest.clone(),
            mode: Mode::Delete,
            tags: d.tags.clone(),
            widened: d.widened.clone(),
            children: Vec::new(),
            reason,
        });
    }
    Plan {
        deletions,
        repositories: Vec::new(),
        unknown: predicted.unknown,
        bytes_freed: predicted.bytes_freed,
        note: PREDICTION_NOTE,
        seen: BTreeMap::new(),
        freed: predicted.freed,
        blob_backup: None,
    }
    .seeing(model)
}

fn untag(repo: &RepoName, tag: &Tag, digest: &Digest, reason: Reason) -> PlannedDeletion {
    PlannedDeletion {
        repository: repo.clone(),
        digest: digest.clone(),
        mode: Mode::Untag,
        tags: vec![tag.clone()],
        widened: Vec::new(),
        children: Vec::new(),
        reason,
    }
}

/// Every platform manifest below an index (recursively), per index digest.
fn index_children(model: &StorageModel) -> BTreeMap<Digest, Vec<Digest>> {
    let mut out = BTreeMap::new();
    for (digest, info) in &model.manifests {
        if let ManifestBody::Index { .. } = info.body {
            let below: Vec<Digest> = model
                .revisions([digest])
                .into_iter()
                .filter(|d| d != digest)
                .collect();
            out.insert(digest.clone(), below);
        }
    }
    out
}

/// Evaluates `policies` (first match per repository wins) over the model into a plan. The
/// policies judge images: referrer bookkeeping tags (`sha256-<hex>.sig`, fallback indexes,
/// tags on attached artifacts) are no candidates of their own; referrers follow their
/// subject.
pub fn plan_cleanup(
    model: &StorageModel,
    policies: &[(String, Policy)],
    now: jiff::Timestamp,
) -> Plan {
    plan_cleanup_with(model, policies, now, Referrers::Follow)
}

/// [`plan_cleanup`], with the referrers of what is deleted following it or staying.
pub fn plan_cleanup_with(
    model: &StorageModel,
    policies: &[(String, Policy)],
    now: jiff::Timestamp,
    referrers: Referrers,
) -> Plan {
    let children = index_children(model);
    let mut repositories = Vec::new();
    let mut deleting: Vec<(RepoName, Tag)> = Vec::new();
    let mut reasons: BTreeMap<(RepoName, Digest), Rule> = BTreeMap::new();
    let mut untags = Vec::new();
    for (repo, entry) in &model.repos {
        let Some((name, policy)) = policies.iter().find(|(_, p)| p.applies_to(repo.as_str()))
        else {
            continue;
        };
        let attachments = Attachments::of_repo(model, repo);
        let facts: Vec<TagFacts> = entry
            .tags
            .iter()
            .filter(|(tag, _)| !attachments.is_attached_tag(tag))
            .filter_map(|(tag, digest)| {
                let digest = digest.as_ref()?;
                Some(TagFacts {
                    tag: tag.clone(),
                    digest: digest.clone(),
                    created: model.created(digest),
                })
            })
            .collect();
        let mut decisions = evaluate(policy, &facts, &children, now);
        // Tags that could not be resolved are never touched.
        for (tag, digest) in &entry.tags {
            if digest.is_none() && !attachments.is_attached_tag(tag) {
                decisions.push(Decision {
                    tag: tag.clone(),
                    digest: None,
                    verdict: Verdict::Keep,
                    reason: Rule::Unresolved,
                });
            }
        }
        let count = |v: Verdict| decisions.iter().filter(|d| d.verdict == v).count();
        for (fact, decision) in facts.iter().zip(&decisions) {
            match decision.verdict {
                Verdict::Delete => {
                    deleting.push((repo.clone(), fact.tag.clone()));
                    reasons
                        .entry((repo.clone(), fact.digest.clone()))
                        .or_insert_with(|| decision.reason.clone());
                }
                Verdict::Untag => untags.push(untag(
                    repo,
                    &fact.tag,
                    &fact.digest,
                    Reason::Policy(decision.reason.clone()),
                )),
                Verdict::Keep => {}
            }
        }
        repositories.push(RepoSummary {
            repository: repo.clone(),
            policy: Some(name.clone()),
            kept: count(Verdict::Keep),
            deleted: count(Verdict::Delete),
            untagged: count(Verdict::Untag),
            decisions,
        });
    }
    let mut plan = plan_rm_with(model, &deleting, Mode::Delete, referrers);
    for d in &mut plan.deletions {
        if let Some(rule) = reasons.get(&(d.repository.clone(), d.digest.clone())) {
            d.reason = Reason::Policy(rule.clone());
        }
        // The policy decided every tag on the digest; none is a surprise.
        d.widened.clear();
    }
    plan.deletions.extend(untags);
    plan.repositories = repositories;
    plan.seeing(model)
}

/// Names (tags, digests, `(repository, tag)` pairs) as one `a, b, c` list, for text.
pub fn joined<T: fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    items
        .into_iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `REPOSITORY:TAG` for each pair.
pub fn repo_tag_names(pairs: &[(RepoName, Tag)]) -> Vec<String> {
    pairs.iter().map(|(r, t)| format!("{r}:{t}")).collect()
}

/// The digests a plan deletes, per repository (for checks and tests).
pub fn deleted_digests(plan: &Plan) -> BTreeMap<RepoName, BTreeSet<Digest>> {
    let mut out: BTreeMap<RepoName, BTreeSet<Digest>> = BTreeMap::new();
    for d in plan.deletions.iter().filter(|d| d.mode == Mode::Delete) {
        let set = out.entry(d.repository.clone()).or_default();
        set.insert(d.digest.clone());
        set.extend(d.children.iter().cloned());
    }
    out
}
