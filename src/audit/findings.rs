//! One repository through the audit's eyes: each tag's kind and age, its alias groups, and
//! its findings, each priced by what deleting the tags it names would free.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;

use super::kinds::TagKind;
use super::parts::{AliasGroup, Finding, FindingKind, TagAge};
use super::settings::AuditSettings;
use crate::analysis::attached::Attachments;
use crate::analysis::freed_index::FreedIndex;
use crate::analysis::model::{RepoEntry, StorageModel};
use crate::analysis::referrers::FoundVia;
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
    /// Which tags are bookkeeping of attached artifacts, and what they are attached to.
    attachments: Attachments,
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
        let attachments = Attachments::of_repo(model, repo);
        let infos = entry
            .tags
            .iter()
            .map(|(tag, digest)| {
                let created = digest.as_ref().and_then(|d| model.created(d));
                // A tag on an attached artifact is a signature whatever its name (an SBOM
                // oras pushed under `sbom`): it follows its subject, never a name rule.
                let kind = if attachments.is_attached_tag(tag) {
                    TagKind::Signature
                } else {
                    settings.patterns.classify(tag.as_str())
                };
                TagInfo {
                    tag,
                    kind,
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
            attachments,
        }
    }

    fn tag_digest(&self, tag: &Tag) -> Option<&'a Digest> {
        self.infos
            .iter()
            .find(|i| i.tag == tag)
            .and_then(|i| i.digest)
    }

    /// Tags that are bookkeeping of attached artifacts (cosign's tags, fallback indexes,
    /// tags on manifests carrying `subject`), and the rest: images.
    pub fn attached_and_image_tags(&self) -> (usize, usize) {
        let attached = self
            .infos
            .iter()
            .filter(|i| self.attachments.is_attached_tag(i.tag))
            .count();
        (attached, self.infos.len() - attached)
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

    /// Attached artifacts whose subject is gone: neither a manifest the model saw in this
    /// repository nor one found untagged (`present`), from the referrers model
    /// ([`Attachments`]): cosign's tags, the subject's fallback index (and the untagged
    /// referrers it lists), tagged manifests whose `subject` names it, and, transitively, the
    /// artifacts attached to those. A store of nothing but attached artifacts is not judged:
    /// its subjects may be untagged in any repository.
    pub fn orphaned_signatures(&self, present: &BTreeSet<(RepoName, Digest)>) -> Option<Finding> {
        if self
            .infos
            .iter()
            .all(|i| self.attachments.is_attached_tag(i.tag))
        {
            return None;
        }
        let mut tags: BTreeSet<&Tag> = BTreeSet::new();
        let mut untagged: BTreeSet<Digest> = BTreeSet::new();
        for subject in gone_subjects(self.model, &self.attachments) {
            if present.contains(&(self.repo.clone(), subject.clone())) {
                continue;
            }
            let mut subjects = vec![subject.clone()];
            subjects.extend(self.attachments.transitive(&subject));
            for s in &subjects {
                if let Some(index) = self.attachments.fallback_of(s) {
                    tags.insert(&index.tag);
                }
            }
            for referrer in self.attachments.transitive(&subject) {
                let vias = self
                    .attachments
                    .subjects_of(&referrer)
                    .flat_map(|s| self.attachments.direct(s))
                    .filter(|(r, _)| **r == referrer)
                    .flat_map(|(_, via)| via.iter());
                let mut own_tag = false;
                for via in vias {
                    match via {
                        FoundVia::CosignTag { tag } | FoundVia::SubjectField { tag } => {
                            // A `subject` seen through an index (the fallback index lists
                            // it) is no tag of the referrer's own.
                            own_tag |= self.tag_digest(tag) == Some(&referrer);
                            tags.insert(tag);
                        }
                        FoundVia::FallbackIndex { .. } | FoundVia::Api => {}
                    }
                }
                if !own_tag {
                    untagged.insert(referrer);
                }
            }
        }
        // Tags of this repository only (a `FoundVia` names tags it read here).
        let orphans: Vec<&Tag> = self
            .infos
            .iter()
            .map(|i| i.tag)
            .filter(|t| tags.contains(t))
            .collect();
        (!orphans.is_empty()).then(|| {
            let mut detail = format!(
                "{} signature/attestation tags whose image no longer exists",
                orphans.len()
            );
            if !untagged.is_empty() {
                detail.push_str(&format!(
                    " (and {} untagged referrers their fallback indexes list)",
                    untagged.len()
                ));
            }
            self.finding(FindingKind::OrphanedSignatures, detail, &orphans)
        })
    }

    /// Fallback indexes (`sha256-<hex>` tags) of a subject that exists, listing referrers the
    /// registry no longer has: OCI 1.1 asks clients to keep them true. Rewriting one frees
    /// nothing; deleting it would hide the referrers it still lists, so it is named, not
    /// priced as a deletion.
    pub fn stale_fallback_indexes(&self) -> Option<Finding> {
        let stale: Vec<_> = self
            .attachments
            .fallback_indexes()
            .iter()
            .filter(|f| !f.missing.is_empty() && self.model.manifests.contains_key(&f.subject))
            .collect();
        (!stale.is_empty()).then(|| {
            let missing: usize = stale.iter().map(|f| f.missing.len()).sum();
            let mut tags: Vec<String> = stale.iter().map(|f| f.tag.to_string()).collect();
            tags.sort();
            Finding {
                kind: FindingKind::StaleFallbackIndexes,
                repository: self.repo.to_string(),
                detail: format!(
                    "{} fallback index(es) list {missing} manifest(s) the registry no longer has: rewrite them without those",
                    stale.len()
                ),
                tags,
                bytes_freed: 0,
            }
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

/// Subjects the repository's attached artifacts name (fallback indexes included) that the
/// model did not see: each an orphan's subject, or an untagged manifest the registry still
/// has (only a HEAD by digest tells).
pub(super) fn gone_subjects(model: &StorageModel, attachments: &Attachments) -> BTreeSet<Digest> {
    let mut out: BTreeSet<Digest> = attachments.unseen_subjects(model).into_iter().collect();
    out.extend(
        attachments
            .fallback_indexes()
            .iter()
            .filter(|f| !model.manifests.contains_key(&f.subject))
            .map(|f| f.subject.clone()),
    );
    out
}
