//! The tag-sprawl audit: what kinds of tags a registry holds, how old they are, which ones
//! point at the same image, and what could go, each finding priced by the bytes its deletion
//! would free (from the storage model of `analysis`). It also writes a cleanup policy that
//! fits what it saw, and dry-runs it with `cleanup::plan`.
//!
//! Pure over a scanned [`StorageModel`]; the one network question (does a signature's subject
//! still exist, untagged?) is asked by [`untagged_subjects`] before the report is built.

mod findings;
pub mod kinds;
pub mod report;
pub mod suggest;

use std::collections::BTreeSet;

use futures::StreamExt;
use serde::Deserialize;

pub use kinds::{PatternSpec, TagKind, TagPatterns};
pub use report::{AuditReport, Finding, FindingKind, build_report};

use crate::analysis::model::StorageModel;
use crate::registry::{Digest, ManifestRef, RepoName, Source};

/// `[audit]` in `config.toml`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    /// A repository is stale, and a build tag old, when it is older than this many days
    /// (default 90).
    pub stale_days: Option<u32>,
    /// A floating tag has drifted when its image is not among the repository's newest N
    /// images (default 3).
    pub drift_newest: Option<usize>,
    /// `keep_last` of the suggested policy (default 10).
    pub keep_last: Option<usize>,
    /// `keep_within` of the suggested policy (default "30d").
    pub keep_within: Option<String>,
    /// Tag-kind patterns (regexes); a missing key keeps the default.
    #[serde(default)]
    pub patterns: PatternSpec,
}

/// Checked audit settings.
#[derive(Debug, Clone)]
pub struct AuditSettings {
    pub patterns: TagPatterns,
    pub stale_days: u32,
    pub drift_newest: usize,
    pub keep_last: usize,
    pub keep_within: String,
    /// The name of the suggested policy: `suggested`, or one the config does not use yet.
    pub policy_name: String,
}

impl Default for AuditSettings {
    fn default() -> Self {
        Self {
            patterns: TagPatterns::defaults(),
            stale_days: 90,
            drift_newest: 3,
            keep_last: 10,
            keep_within: "30d".into(),
            policy_name: suggest::POLICY_NAME.into(),
        }
    }
}

impl AuditSettings {
    /// The settings of a config; the error starts with the offending key.
    pub fn from_config(config: &AuditConfig) -> Result<Self, String> {
        let defaults = Self::default();
        let patterns =
            TagPatterns::compile(&config.patterns).map_err(|e| format!("patterns.{e}"))?;
        let keep_within = config.keep_within.clone().unwrap_or(defaults.keep_within);
        if crate::cleanup::policy::parse_duration(&keep_within).is_none() {
            return Err(format!(
                "keep_within: {keep_within:?} is not a duration like 30d, 12h or 2w"
            ));
        }
        let drift_newest = config.drift_newest.unwrap_or(defaults.drift_newest);
        if drift_newest == 0 {
            return Err("drift_newest: must be at least 1".into());
        }
        let keep_last = config.keep_last.unwrap_or(defaults.keep_last);
        if keep_last == 0 {
            return Err("keep_last: must be at least 1".into());
        }
        Ok(Self {
            patterns,
            stale_days: config.stale_days.unwrap_or(defaults.stale_days),
            drift_newest,
            keep_last,
            keep_within,
            policy_name: defaults.policy_name,
        })
    }

    /// Names the suggested policy so that its snippet can be pasted into a config that has
    /// these policies already: `suggested`, else `suggested-2`, `suggested-3`, ...
    pub fn avoiding<'a>(mut self, taken: impl IntoIterator<Item = &'a String>) -> Self {
        let taken: BTreeSet<&String> = taken.into_iter().collect();
        let mut n = 1;
        while taken.contains(&self.policy_name) {
            n += 1;
            self.policy_name = format!("{}-{n}", suggest::POLICY_NAME);
        }
        self
    }
}

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
mod tests {
    use super::*;

    #[test]
    fn config_errors_name_the_key() {
        let bad_pattern = AuditConfig {
            patterns: PatternSpec {
                date: Some("(".into()),
                ..PatternSpec::default()
            },
            ..AuditConfig::default()
        };
        let err = AuditSettings::from_config(&bad_pattern).unwrap_err();
        assert!(err.starts_with("patterns.date: "), "{err}");
        let bad_duration = AuditConfig {
            keep_within: Some("soon".into()),
            ..AuditConfig::default()
        };
        let err = AuditSettings::from_config(&bad_duration).unwrap_err();
        assert!(err.starts_with("keep_within: "), "{err}");
        let settings = AuditSettings::from_config(&AuditConfig {
            stale_days: Some(7),
            ..AuditConfig::default()
        })
        .unwrap();
        assert_eq!((settings.stale_days, settings.drift_newest), (7, 3));
        let taken = ["suggested".to_string(), "suggested-2".to_string()];
        assert_eq!(settings.avoiding(&taken).policy_name, "suggested-3");
    }
}

#[cfg(test)]
mod report_tests;
