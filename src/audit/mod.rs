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

use crate::analysis::model::StorageModel;
use crate::registry::{Digest, ManifestRef, RepoName, Source};

/// Signature-kind tags whose subject is not among the manifests the model saw in their
/// repository (tagged digests and the platforms of tagged indexes): `(repository, subject)`
/// pairs to look up. A repository of nothing but signatures is a separate signature store
/// (cosign's `COSIGN_REPOSITORY`), whose subjects may be anywhere: it is not judged.
pub fn subjects_to_check(model: &StorageModel, patterns: &TagPatterns) -> Vec<(RepoName, Digest)> {
    let mut out = BTreeSet::new();
    for (repo, entry) in &model.repos {
        let signature_store = entry
            .tags
            .keys()
            .all(|t| patterns.classify(t.as_str()) == TagKind::Signature);
        if signature_store {
            continue;
        }
        let known = model.revisions(model.tag_digests(repo).map(|(_, d)| d));
        for tag in entry.tags.keys() {
            if patterns.classify(tag.as_str()) != TagKind::Signature {
                continue;
            }
            let Some(subject) =
                kinds::signature_subject(tag.as_str()).and_then(|s| Digest::parse(&s).ok())
            else {
                continue;
            };
            if !known.contains(&subject) {
                out.insert((repo.clone(), subject));
            }
        }
    }
    out.into_iter().collect()
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
