//! One repository through the audit's eyes: each tag's kind and age, its alias groups, and
//! its findings, each priced by what deleting the tags it names would free.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;

use super::kinds::{TagKind, signature_subject};
use super::parts::{AliasGroup, Finding, FindingKind, TagAge};
use super::settings::AuditSettings;
use crate::analysis::freed_index::FreedIndex;
use crate::analysis::model::{RepoEntry, StorageModel};
use crate::registry::{Digest, RepoName, Tag};

pub(super) const DAY: i64 = 86_400;

pub(super) struct TagInfo<'a> {
    pub tag: &'a Tag,
    pub kind: TagKind,
    pub digest: Option<&'a Digest>,
    pub created: Option<Timestamp>,
    /// Exact, for comparisons: "older than 30 days" means more than 30 x 24 hours.
    pub age_secs: Option<i64>,
    /// Whole days, for people.
    pub age_days: Option<i64>,
}

/// Seconds since `created`; a date in the future (clock skew) is no age.
fn age_secs(created: Option<Timestamp>, now: Timestamp) -> Option<i64> {
    created.map(|c| (now.as_second() - c.as_second()).max(0))
}

fn names(tags: &[&Tag]) -> Vec<String> {
    let mut v: Vec<String> = tags.iter().map(|t| t.to_string()).collect();
    v.sort();
    v
}

pub(super) struct RepoTags<'a> {
    pub repo: &'a RepoName,
    /// In tag order.
    pub infos: Vec<TagInfo<'a>>,
    model: &'a StorageModel,
    freed: &'a FreedIndex,
}

impl<'a> RepoTags<'a> {
    pub fn new(
        model: &'a StorageModel,
        freed: &'a FreedIndex,
        settings: &AuditSettings,
        now: Timestamp,
        repo: &'a RepoName,
        entry: &'a RepoEntry,
    ) -> Self {
        let infos = entry
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
        Self {
            repo,
            infos,
            model,
            freed,
        }
    }

    /// What deleting `tags` (by digest, as `regatta rm` would) frees.
    fn price(&self, tags: &[&Tag]) -> u64 {
        let selection: Vec<(RepoName, Tag)> = tags
            .iter()
            .map(|t| (self.repo.clone(), (*t).clone()))
            .collect();
        self.freed.bytes_freed(self.model, &selection)
    }

    fn finding(&self, kind: FindingKind, detail: String, tags: &[&Tag]) -> Finding {
        Finding {
            kind,
            repository: self.repo.to_string(),
            detail,
            tags: names(tags),
            bytes_freed: self.price(tags),
        }
    }

    /// The resolved tags, by digest.
    pub fn by_digest(&self) -> BTreeMap<&'a Digest, Vec<&TagInfo<'a>>> {
        let mut groups: BTreeMap<&Digest, Vec<&TagInfo>> = BTreeMap::new();
        for info in &self.infos {
            if let Some(d) = info.digest {
                groups.entry(d).or_default().push(info);
            }
        }
        groups
    }

    /// The newest and the oldest dated tag; ties go to the smaller name, so the report is
    /// stable.
    pub fn newest_and_oldest(&self) -> (Option<TagAge>, Option<TagAge>) {
        let dated = || {
            self.infos
                .iter()
                .filter_map(|i| Some((i.created?, i.age_days?, i.tag)))
        };
        let to_age = |(created, age_days, tag): (Timestamp, i64, &Tag)| TagAge {
            tag: tag.to_string(),
            created,
            age_days,
        };
        let newest = dated()
            .max_by(|a, b| a.0.cmp(&b.0).then(b.2.cmp(a.2)))
            .map(to_age);
        let oldest = dated()
            .min_by(|a, b| a.0.cmp(&b.0).then(a.2.cmp(b.2)))
            .map(to_age);
        (newest, oldest)
    }

    /// Stale: the newest dated tag is older than `stale_days`, and no tag is of unknown age
    /// (signatures seldom carry a date and say nothing of the images' age).
    pub fn is_stale(&self, newest: Option<&TagAge>, stale_days: i64, now: Timestamp) -> bool {
        newest.is_some_and(|n| n.created.as_second() < now.as_second() - stale_days * DAY)
            && self
                .infos
                .iter()
                .all(|i| i.created.is_some() || i.kind == TagKind::Signature)
    }

    pub fn alias_groups(&self) -> Vec<AliasGroup> {
        self.by_digest()
            .into_iter()
            .filter(|(_, group)| group.len() >= 2)
            .map(|(digest, group)| {
                let tags: Vec<&Tag> = group.iter().map(|i| i.tag).collect();
                let floating: Vec<&Tag> = group
                    .iter()
                    .filter(|i| i.kind == TagKind::Floating)
                    .map(|i| i.tag)
                    .collect();
                AliasGroup {
                    repository: self.repo.to_string(),
                    digest: digest.to_string(),
                    tags: names(&tags),
                    floating: names(&floating),
                    bytes_freed: self.price(&tags),
                }
            })
            .collect()
    }

    /// The whole repository: every tag.
    pub fn stale_repository(&self, newest: Option<&TagAge>, stale_days: i64) -> Finding {
        let tags: Vec<&Tag> = self.infos.iter().map(|i| i.tag).collect();
        let newest_tag = newest.map_or(String::new(), |n| {
            format!("; its newest tag, {}, is {} days old", n.tag, n.age_days)
        });
        self.finding(
            FindingKind::StaleRepository,
            format!("no tag newer than {stale_days} days{newest_tag}"),
            &tags,
        )
    }

    /// Build tags older than `stale_days`, on manifests that no kept kind of tag needs (its
    /// digest, or a platform of its index).
    pub fn stale_builds(&self, stale_days: i64) -> Option<Finding> {
        let kept: BTreeSet<Digest> = self.model.revisions(
            self.infos
                .iter()
                .filter(|i| !i.kind.is_build())
                .filter_map(|i| i.digest),
        );
        let old: Vec<&Tag> = self
            .infos
            .iter()
            .filter(|i| i.kind.is_build())
            .filter(|i| i.age_secs.is_some_and(|s| s > stale_days * DAY))
            .filter(|i| i.digest.is_some_and(|d| !kept.contains(d)))
            .map(|i| i.tag)
            .collect();
        (!old.is_empty()).then(|| {
            self.finding(
                FindingKind::StaleBuilds,
                format!("{} build tags older than {stale_days} days", old.len()),
                &old,
            )
        })
    }

    /// Signatures whose subject is gone: neither a manifest this repository's tags keep nor
    /// one found untagged (`present`). A store of nothing but signatures is not judged: its
    /// subjects may be untagged in any repository.
    pub fn orphaned_signatures(&self, present: &BTreeSet<(RepoName, Digest)>) -> Option<Finding> {
        if self.infos.iter().all(|i| i.kind == TagKind::Signature) {
            return None;
        }
        let known = self.model.revisions(self.by_digest().into_keys());
        let orphans: Vec<&Tag> = self
            .infos
            .iter()
            .filter(|i| i.kind == TagKind::Signature)
            .filter(|i| {
                signature_subject(i.tag.as_str())
                    .and_then(|s| Digest::parse(&s).ok())
                    .is_some_and(|subject| {
                        !known.contains(&subject)
                            && !present.contains(&(self.repo.clone(), subject))
                    })
            })
            .map(|i| i.tag)
            .collect();
        (!orphans.is_empty()).then(|| {
            self.finding(
                FindingKind::OrphanedSignatures,
                format!(
                    "{} signature/attestation tags whose image no longer exists",
                    orphans.len()
                ),
                &orphans,
            )
        })
    }

    /// Floating tags on an image that is not among the `newest` newest ones, one finding per
    /// image however many floating tags point at it. Branch and PR builds are not what a
    /// floating tag follows, so they do not count as newer.
    pub fn floating_drift(&self, newest: usize) -> Vec<Finding> {
        let groups = self.by_digest();
        let mut images: Vec<(Timestamp, &Digest, &Tag)> = Vec::new();
        for (digest, group) in &groups {
            if group
                .iter()
                .all(|i| matches!(i.kind, TagKind::Signature | TagKind::Branch))
            {
                continue;
            }
            if let Some(created) = group.iter().find_map(|i| i.created) {
                // Named by a release or build tag rather than a pointer or a PR build.
                let named_by = |skip: &[TagKind]| {
                    group
                        .iter()
                        .filter(|i| !skip.contains(&i.kind))
                        .map(|i| i.tag)
                        .min()
                };
                let name = named_by(&[TagKind::Floating, TagKind::Branch, TagKind::Signature])
                    .or_else(|| named_by(&[TagKind::Floating]))
                    .unwrap_or(group[0].tag);
                images.push((created, digest, name));
            }
        }
        images.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
        let newest_images: BTreeSet<&Digest> =
            images.iter().take(newest).map(|(_, d, _)| *d).collect();
        let mut findings = Vec::new();
        for (digest, group) in &groups {
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
            let verb = if floating.len() == 1 {
                "points"
            } else {
                "point"
            };
            findings.push(self.finding(
                FindingKind::FloatingDrift,
                format!(
                    "{} {verb} at an image {days} days old, behind {newer} newer images{newest_name}",
                    names(&floating).join(", ")
                ),
                &tags,
            ));
        }
        findings
    }
}
