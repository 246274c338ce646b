//! The audit report: per-tag kinds and ages, per-repository summaries, alias groups, and the
//! findings ranked by the bytes their deletion would free. Its JSON form is `regatta audit
//! --json`, documented in the README; fields are only ever added to it.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde::Serialize;

use super::AuditSettings;
use super::kinds::{TagKind, signature_subject};
use super::suggest::{SuggestedPolicy, suggest_policy};
use crate::analysis::ages::{AGE_BUCKETS, age_bucket};
use crate::analysis::freed_index::FreedIndex;
use crate::analysis::model::StorageModel;
use crate::registry::{Digest, RepoName, Tag};

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

/// A part of the scan that failed (as in `regatta du --json`).
#[derive(Debug, Clone, Serialize)]
pub struct ScanFailure {
    pub what: String,
    pub error: String,
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

const DAY: i64 = 86_400;

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
}

/// A tag with its created date.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TagAge {
    pub tag: String,
    pub created: Timestamp,
    pub age_days: i64,
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
}

#[derive(Debug, Clone, Serialize)]
pub struct TagAudit {
    pub repository: String,
    pub tag: String,
    pub kind: TagKind,
    pub digest: Option<String>,
    pub created: Option<Timestamp>,
    pub age_days: Option<i64>,
}

/// Several tags on one digest.
#[derive(Debug, Clone, Serialize)]
pub struct AliasGroup {
    pub repository: String,
    pub digest: String,
    pub tags: Vec<String>,
    /// The floating tags among them: where `latest` and friends point.
    pub floating: Vec<String>,
    /// What deleting the digest (and so every tag in the group) would free.
    pub bytes_freed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// No tag newer than `stale_days`: the whole repository may be dead.
    StaleRepository,
    /// Build tags (commit, branch, date, pre-release) older than `stale_days`, on digests no
    /// release or floating tag uses.
    StaleBuilds,
    /// Signature, attestation or SBOM tags whose subject no longer exists.
    OrphanedSignatures,
    /// A floating tag on an image that is not among the repository's newest ones.
    FloatingDrift,
}

impl FindingKind {
    pub fn name(self) -> &'static str {
        match self {
            FindingKind::StaleRepository => "stale_repository",
            FindingKind::StaleBuilds => "stale_builds",
            FindingKind::OrphanedSignatures => "orphaned_signatures",
            FindingKind::FloatingDrift => "floating_drift",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub kind: FindingKind,
    pub repository: String,
    /// One line for people.
    pub detail: String,
    /// The tags the finding names (sorted).
    pub tags: Vec<String>,
    /// What deleting those tags (by digest, as `regatta rm` would) frees.
    pub bytes_freed: u64,
}

struct TagInfo<'a> {
    tag: &'a Tag,
    kind: TagKind,
    digest: Option<&'a Digest>,
    created: Option<Timestamp>,
    /// Exact, for comparisons: "older than 30 days" means more than 30 x 24 hours.
    age_secs: Option<i64>,
    /// Whole days, for people.
    age_days: Option<i64>,
}

/// Seconds since `created`; a date in the future (clock skew) is no age.
fn age_secs(created: Option<Timestamp>, now: Timestamp) -> Option<i64> {
    created.map(|c| (now.as_second() - c.as_second()).max(0))
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
    let mut all_kinds = Vec::new();

    for (repo, entry) in &model.repos {
        if shown.is_some_and(|g| !g.is_match(repo.as_str())) {
            continue;
        }
        let infos: Vec<TagInfo> = entry
            .tags
            .iter()
            .map(|(tag, digest)| {
                let created = digest.as_ref().and_then(|d| model.created(d));
                TagInfo {
                    tag,
                    kind: settings.patterns.classify(tag.as_str()),
                    digest: digest.as_ref(),
                    created,
                    age_secs: age_secs(created, now),
                    age_days: age_secs(created, now).map(|s| s / DAY),
                }
            })
            .collect();
        let price = |tags: &[&Tag]| {
            let selection: Vec<(RepoName, Tag)> =
                tags.iter().map(|t| (repo.clone(), (*t).clone())).collect();
            freed.bytes_freed(model, &selection)
        };
        let names = |tags: &[&Tag]| {
            let mut v: Vec<String> = tags.iter().map(|t| t.to_string()).collect();
            v.sort();
            v
        };

        // Kinds, ages, newest and oldest.
        let mut repo_older = OlderThan::default();
        for info in &infos {
            repo_older.count(info.age_secs);
            ages[age_bucket(info.created, now)] += 1;
            all_kinds.push(info.kind);
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
        let dated = || {
            infos
                .iter()
                .filter_map(|i| Some((i.created?, i.age_days?, i.tag)))
        };
        let to_age = |(created, age_days, tag): (Timestamp, i64, &Tag)| TagAge {
            tag: tag.to_string(),
            created,
            age_days,
        };
        // Ties go to the smaller tag name, so the report is stable.
        let newest = dated()
            .max_by(|a, b| a.0.cmp(&b.0).then(b.2.cmp(a.2)))
            .map(to_age);
        let oldest = dated()
            .min_by(|a, b| a.0.cmp(&b.0).then(a.2.cmp(b.2)))
            .map(to_age);
        let stale_secs = stale_days * DAY;
        let is_old = |i: &TagInfo| i.age_secs.is_some_and(|s| s > stale_secs);
        // Stale: the newest dated tag is old, and no tag is of unknown age (signatures
        // seldom carry a date and say nothing of the images' age).
        let stale = newest
            .as_ref()
            .is_some_and(|n| n.created.as_second() < now.as_second() - stale_secs)
            && infos
                .iter()
                .all(|i| i.created.is_some() || i.kind == TagKind::Signature);
        let signature_store = infos.iter().all(|i| i.kind == TagKind::Signature);

        // Alias groups.
        let mut by_digest: BTreeMap<&Digest, Vec<&TagInfo>> = BTreeMap::new();
        for info in &infos {
            if let Some(d) = info.digest {
                by_digest.entry(d).or_default().push(info);
            }
        }
        for (digest, group) in &by_digest {
            if group.len() < 2 {
                continue;
            }
            let tags: Vec<&Tag> = group.iter().map(|i| i.tag).collect();
            let floating: Vec<&Tag> = group
                .iter()
                .filter(|i| i.kind == TagKind::Floating)
                .map(|i| i.tag)
                .collect();
            alias_groups.push(AliasGroup {
                repository: repo.to_string(),
                digest: digest.to_string(),
                tags: names(&tags),
                floating: names(&floating),
                bytes_freed: price(&tags),
            });
        }

        // Finding: the whole repository is stale.
        if stale {
            let tags: Vec<&Tag> = infos.iter().map(|i| i.tag).collect();
            let newest_tag = newest.as_ref().map_or(String::new(), |n| {
                format!("; its newest tag, {}, is {} days old", n.tag, n.age_days)
            });
            findings.push(Finding {
                kind: FindingKind::StaleRepository,
                repository: repo.to_string(),
                detail: format!("no tag newer than {stale_days} days{newest_tag}"),
                tags: names(&tags),
                bytes_freed: price(&tags),
            });
        } else {
            // A stale repository's finding names every tag; the others would repeat them.
            // Finding: old builds, on manifests that no kept kind of tag needs (its digest,
            // or a platform of its index).
            let kept_digests: BTreeSet<Digest> = model.revisions(
                infos
                    .iter()
                    .filter(|i| !i.kind.is_build())
                    .filter_map(|i| i.digest),
            );
            let old_builds: Vec<&Tag> = infos
                .iter()
                .filter(|i| i.kind.is_build())
                .filter(|i| is_old(i))
                .filter(|i| i.digest.is_some_and(|d| !kept_digests.contains(d)))
                .map(|i| i.tag)
                .collect();
            if !old_builds.is_empty() {
                findings.push(Finding {
                    kind: FindingKind::StaleBuilds,
                    repository: repo.to_string(),
                    detail: format!(
                        "{} build tags older than {stale_days} days",
                        old_builds.len()
                    ),
                    tags: names(&old_builds),
                    bytes_freed: price(&old_builds),
                });
            }

            // Finding: signatures whose subject is gone. Not judged in a store of nothing but
            // signatures: a subject there may be untagged in any repository.
            let known = model.revisions(by_digest.keys().copied());
            let orphans: Vec<&Tag> = infos
                .iter()
                .filter(|i| !signature_store && i.kind == TagKind::Signature)
                .filter(|i| {
                    signature_subject(i.tag.as_str())
                        .and_then(|s| Digest::parse(&s).ok())
                        .is_some_and(|subject| {
                            !known.contains(&subject) && !present.contains(&(repo.clone(), subject))
                        })
                })
                .map(|i| i.tag)
                .collect();
            if !orphans.is_empty() {
                findings.push(Finding {
                    kind: FindingKind::OrphanedSignatures,
                    repository: repo.to_string(),
                    detail: format!(
                        "{} signature/attestation tags whose image no longer exists",
                        orphans.len()
                    ),
                    tags: names(&orphans),
                    bytes_freed: price(&orphans),
                });
            }

            // Finding: floating tags that drifted from the newest images (branch and PR
            // builds are not what a floating tag follows, so they do not count as newer).
            let mut images: Vec<(Timestamp, &Digest, &Tag)> = Vec::new();
            for (digest, group) in &by_digest {
                if group
                    .iter()
                    .all(|i| matches!(i.kind, TagKind::Signature | TagKind::Branch))
                {
                    continue;
                }
                if let Some(created) = group.iter().find_map(|i| i.created) {
                    let name = group
                        .iter()
                        .filter(|i| i.kind != TagKind::Floating)
                        .map(|i| i.tag)
                        .min()
                        .unwrap_or(group[0].tag);
                    images.push((created, digest, name));
                }
            }
            images.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
            let newest_images: BTreeSet<&Digest> = images
                .iter()
                .take(settings.drift_newest)
                .map(|(_, d, _)| *d)
                .collect();
            // One finding per drifted image, however many floating tags point at it.
            for (digest, group) in &by_digest {
                let floating: Vec<&Tag> = group
                    .iter()
                    .filter(|i| i.kind == TagKind::Floating)
                    .map(|i| i.tag)
                    .collect();
                let Some(days) = group.iter().find_map(|i| i.age_days) else {
                    continue;
                };
                if floating.is_empty() || newest_images.contains(digest) {
                    continue;
                }
                let newer = images.iter().take_while(|(_, d, _)| d != digest).count();
                let newest_name = images
                    .first()
                    .map_or(String::new(), |(_, _, t)| format!("; the newest is {t}"));
                let tags: Vec<&Tag> = group.iter().map(|i| i.tag).collect();
                findings.push(Finding {
                kind: FindingKind::FloatingDrift,
                repository: repo.to_string(),
                detail: format!(
                    "{} {} at an image {days} days old, behind {newer} newer images{newest_name}",
                    names(&floating).join(", "),
                    if floating.len() == 1 {
                        "points"
                    } else {
                        "point"
                    }
                ),
                tags: names(&tags),
                bytes_freed: price(&tags),
            });
            }
        }

        repositories.push(RepoAudit {
            name: repo.to_string(),
            tags: infos.len(),
            kinds: kind_counts(infos.iter().map(|i| i.kind)),
            older_than: repo_older,
            undated: infos.iter().filter(|i| i.created.is_none()).count(),
            newest,
            oldest,
            stale,
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
        failures: model
            .failures
            .iter()
            .map(|(_, what, error)| ScanFailure {
                what: what.clone(),
                error: error.clone(),
            })
            .collect(),
        summary: Summary {
            repositories: repositories.len(),
            tags: tags_out.len(),
            kinds: kind_counts(all_kinds.iter().copied()),
            ages: AGE_BUCKETS
                .iter()
                .zip(ages)
                .map(|(label, tags)| AgeBucket { label, tags })
                .collect(),
            older_than,
            stale_repositories: repositories.iter().filter(|r| r.stale).count(),
            alias_groups: alias_groups.len(),
            findings: findings.len(),
        },
        repositories,
        tags: tags_out,
        alias_groups,
        findings,
        suggested_policy,
    }
}
