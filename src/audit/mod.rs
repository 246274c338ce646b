//! The tag-sprawl audit: what kinds of tags a registry holds, how old they are, which ones
//! point at the same image, and what could go, each finding priced by the bytes its deletion
//! would free (from the storage model of `analysis`). It also writes a cleanup policy that
//! fits what it saw, and dry-runs it with `cleanup::plan`.
//!
//! Pure over a scanned [`StorageModel`]; the one network question (does a signature's subject
//! still exist, untagged?) is asked by [`untagged_subjects`] before the report is built.

mod findings;
pub mod kinds;
mod parts;
pub mod report;
pub mod settings;
pub mod suggest;

use std::collections::BTreeSet;

use futures::StreamExt;

pub use kinds::{PatternError, PatternSpec, TagKind, TagPatterns};
pub use report::{AuditReport, Finding, FindingKind, build_report};
pub use settings::{AuditConfig, AuditConfigError, AuditSettings};

use crate::analysis::attached::Attachments;
use crate::analysis::model::StorageModel;
use crate::registry::{Digest, ManifestRef, RepoName, Source};

/// Subjects the referrers of a repository name (through cosign's tags, fallback indexes or
/// `subject` fields: see [`Attachments`]) that are not among the manifests the model saw in
/// it: `(repository, subject)` pairs to look up. A repository of nothing but attached
/// artifacts is a separate signature store (cosign's `COSIGN_REPOSITORY`), whose subjects
/// may be anywhere: it is not judged. (`_patterns` is kept for callers: the referrer schemes
/// decide, not the `signature` tag pattern.)
pub fn subjects_to_check(model: &StorageModel, _patterns: &TagPatterns) -> Vec<(RepoName, Digest)> {
    let mut out = BTreeSet::new();
    for repo in model.repos.keys() {
        let attachments = Attachments::of_repo(model, repo);
        if is_signature_store(model, repo, &attachments) {
            continue;
        }
        for subject in findings::gone_subjects(model, &attachments) {
            out.insert((repo.clone(), subject));
        }
    }
    out.into_iter().collect()
}

/// Every tag of the repository is bookkeeping of an attached artifact.
fn is_signature_store(model: &StorageModel, repo: &RepoName, attachments: &Attachments) -> bool {
    model
        .repos
        .get(repo)
        .is_some_and(|e| e.tags.keys().all(|t| attachments.is_attached_tag(t)))
}

/// Of `candidates`, those whose manifest still exists (untagged) in its repository: a HEAD
/// by digest each, eight at a time. A lookup that fails for another reason than "not found"
/// counts as present, so an unreachable registry never makes a signature look orphaned.
pub async fn untagged_subjects(
    source: &dyn Source,
    candidates: &[(RepoName, Digest)],
) -> BTreeSet<(RepoName, Digest)> {
    futures::stream::iter(candidates.iter().cloned())
        .map(|(repo, digest)| async move {
            let reference = ManifestRef::Digest(digest.clone());
            match source.resolve(&repo, &reference).await {
                Err(e) if e.is_not_found() => None,
                _ => Some((repo, digest)),
            }
        })
        .buffer_unordered(8)
        .filter_map(|x| async move { x })
        .collect()
        .await
}

#[cfg(test)]
mod report_tests;
