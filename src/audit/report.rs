//! The audit report: per-tag kinds and ages, per-repository summaries, alias groups, and the
//! findings ranked by the bytes their deletion would free. Its JSON form is `regatta audit
//! --json`, documented in the README; fields are only ever added to it.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde::Serialize;

use super::findings::{DAY, RepoTags};
use super::kinds::TagKind;
pub use super::parts::{AliasGroup, Finding, FindingKind, TagAge, TagAudit};
use super::settings::AuditSettings;
use super::suggest::{SuggestedPolicy, suggest_policy};
use crate::analysis::ages::{AGE_BUCKETS, age_bucket};
use crate::analysis::freed_index::FreedIndex;
use crate::analysis::model::{ScanFailure, StorageModel};
use crate::registry::{Digest, RepoName};

/// The version of the JSON shape.
pub const SCHEMA: &str = "regatta.audit/v1";

#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    pub schema: &'static str,
    /// The moment ages are measured from.
    pub now: Timestamp,
    pub settings: SettingsOut,
    /// False when the scan missed something (then `failures` says what).
    pub complete: bool,
    pub failures: Vec<ScanFailure>,
    pub summary: Summary,
    pub repositories: Vec<RepoAudit>,
    pub tags: Vec<TagAudit>,
    pub alias_groups: Vec<AliasGroup>,
    /// Largest `bytes_freed` first.
    pub findings: Vec<Finding>,
    pub suggested_policy: SuggestedPolicy,
}

#[derive(Debug, Clone, Serialize)]
pub struct SettingsOut {
    pub stale_days: u32,
    pub drift_newest: usize,
    /// The regex each kind was matched with, in the order they are tried.
    pub patterns: BTreeMap<TagKind, String>,
}

/// Tags per age bucket, youngest first.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AgeBucket {
    pub label: &'static str,
    pub tags: usize,
}

/// Tags older than 30, 90 and 365 days.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct OlderThan {
    pub days_30: usize,
    pub days_90: usize,
    pub days_365: usize,
}

impl OlderThan {
    fn count(&mut self, age_secs: Option<i64>) {
        let Some(secs) = age_secs else { return };
        self.days_30 += usize::from(secs > 30 * DAY);
        self.days_90 += usize::from(secs > 90 * DAY);
        self.days_365 += usize::from(secs > 365 * DAY);
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub repositories: usize,
    pub tags: usize,
    /// Every kind, zeros included.
    pub kinds: BTreeMap<TagKind, usize>,
    pub ages: Vec<AgeBucket>,
    pub older_than: OlderThan,
    pub stale_repositories: usize,
    pub alias_groups: usize,
    pub findings: usize,
    /// Over the repositories: tags of images, and tags of attached artifacts.
    pub image_tags: usize,
    pub attached_tags: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct RepoAudit {
    pub name: String,
    pub tags: usize,
    pub kinds: BTreeMap<TagKind, usize>,
    pub older_than: OlderThan,
    /// Tags without a created date (unresolved, or images without one).
    pub undated: usize,
    pub newest: Option<TagAge>,
    pub oldest: Option<TagAge>,
    /// No tag newer than `stale_days`.
    pub stale: bool,
    /// Tags of images (everything but `attached_tags`).
    pub image_tags: usize,
    /// Tags that are bookkeeping of attached artifacts (cosign's `.sig`/`.att`/`.sbom`,
    /// referrers fallback indexes, tags on manifests carrying `subject`), from the referrers
    /// model rather than the tag name; all of kind `signature`.
    pub attached_tags: usize,
}

fn kind_counts<'a>(kinds: impl Iterator<Item = TagKind> + 'a) -> BTreeMap<TagKind, usize> {
    let mut counts: BTreeMap<TagKind, usize> = TagKind::ALL.iter().map(|k| (*k, 0)).collect();
    for k in kinds {
        *counts.entry(k).or_default() += 1;
    }
    counts
}

/// Builds the report over the repositories `shown` accepts (every repository still counts
/// for `bytes_freed`, since layers are shared across them). `present` holds the signature
/// subjects that exist untagged (from [`super::untagged_subjects`]).
pub fn build_report(
    model: &StorageModel,
    settings: &AuditSettings,
    now: Timestamp,
    shown: Option<&globset::GlobMatcher>,
    present: &BTreeSet<(RepoName, Digest)>,
) -> AuditReport {
    let freed = FreedIndex::new(model);
    let stale_days = i64::from(settings.stale_days);
    let mut repositories = Vec::new();
    let mut tags_out = Vec::new();
    let mut alias_groups = Vec::new();
    let mut findings = Vec::new();
    let mut ages = [0usize; AGE_BUCKETS.len()];
    let mut older_than = OlderThan::default();

    for (repo, entry) in &model.repos {
        if shown.is_some_and(|g| !g.is_match(repo.as_str())) {
            continue;
        }
        let r = RepoTags::new(model, &freed, settings, now, repo, entry);
        let mut repo_older = OlderThan::default();
        for info in &r.infos {
            repo_older.count(info.age_secs);
            ages[age_bucket(info.created, now)] += 1;
            tags_out.push(TagAudit {
                repository: repo.to_string(),
                tag: info.tag.to_string(),
                kind: info.kind,
                digest: info.digest.map(|d| d.to_string()),
                created: info.created,
                age_days: info.age_days,
            });
        }
        older_than.days_30 += repo_older.days_30;
        older_than.days_90 += repo_older.days_90;
        older_than.days_365 += repo_older.days_365;
        let (newest, oldest) = r.newest_and_oldest();
        let stale = r.is_stale(newest.as_ref(), stale_days, now);
        alias_groups.extend(r.alias_groups());
        if stale {
            // It names every tag; other findings would only repeat them.
            findings.push(r.stale_repository(newest.as_ref(), stale_days));
        } else {
            findings.extend(r.stale_builds(stale_days));
            findings.extend(r.orphaned_signatures(present));
            findings.extend(r.floating_drift(settings.drift_newest));
        }
        // Not a deletion: said even in a stale repository.
        findings.extend(r.stale_fallback_indexes());
        let (attached_tags, image_tags) = r.attached_and_image_tags();
        repositories.push(RepoAudit {
            name: repo.to_string(),
            tags: r.infos.len(),
            kinds: kind_counts(r.infos.iter().map(|i| i.kind)),
            older_than: repo_older,
            undated: r.infos.iter().filter(|i| i.created.is_none()).count(),
            newest,
            oldest,
            stale,
            image_tags,
            attached_tags,
        });
    }

    findings.sort_by(|a, b| {
        b.bytes_freed
            .cmp(&a.bytes_freed)
            .then(a.kind.cmp(&b.kind))
            .then(a.repository.cmp(&b.repository))
            .then(a.tags.cmp(&b.tags))
    });
    let suggested_policy = suggest_policy(model, settings, now, shown, &tags_out);
    AuditReport {
        schema: SCHEMA,
        now,
        settings: SettingsOut {
            stale_days: settings.stale_days,
            drift_newest: settings.drift_newest,
            patterns: TagKind::ALL
                .iter()
                .filter_map(|k| Some((*k, settings.patterns.source(*k)?.to_string())))
                .collect(),
        },
        complete: model.is_complete(),
        failures: model.failure_list(),
        summary: Summary {
            repositories: repositories.len(),
            tags: tags_out.len(),
            kinds: kind_counts(tags_out.iter().map(|t| t.kind)),
            ages: AGE_BUCKETS
                .iter()
                .zip(ages)
                .map(|(label, tags)| AgeBucket { label, tags })
                .collect(),
            older_than,
            stale_repositories: repositories.iter().filter(|r| r.stale).count(),
            alias_groups: alias_groups.len(),
            findings: findings.len(),
            image_tags: repositories.iter().map(|r| r.image_tags).sum(),
            attached_tags: repositories.iter().map(|r| r.attached_tags).sum(),
        },
        repositories,
        tags: tags_out,
        alias_groups,
        findings,
        suggested_policy,
    }
}
