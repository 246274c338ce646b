//! Deleting what a mirror's source no longer has (`[sync.NAME] delete = true`): the stale
//! tags of a destination repository go through the same plan as `regatta rm`, with one
//! difference a mirror needs: a stale tag whose digest a tag that stays still carries is only
//! untagged (deleting by digest would take the tag that stays with it), as a cleanup does
//! for a dropped tag on a kept digest.

use std::collections::{BTreeMap, BTreeSet};

use super::plan::{Mode, Plan, Reason, Referrers, plan_rm_with};
use crate::analysis::attached::Attachments;
use crate::analysis::model::StorageModel;
use crate::registry::{Digest, RepoName, Tag};

/// The tags of `repo` in `model` that are not in `wanted`, referrer bookkeeping aside (a
/// signature's `sha256-<hex>.sig` tag follows its subject, it is no tag of its own). A tag
/// the scan could not resolve is among them: the plan lists it as unknown, and its
/// completeness check refuses to apply in that repository.
pub fn stale_tags(model: &StorageModel, repo: &RepoName, wanted: &BTreeSet<Tag>) -> Vec<Tag> {
    let Some(entry) = model.repos.get(repo) else {
        return Vec::new();
    };
    let attachments = Attachments::of_repo(model, repo);
    entry
        .tags
        .keys()
        .filter(|tag| !wanted.contains(*tag) && !attachments.is_attached_tag(tag))
        .cloned()
        .collect()
}

/// The plan that removes `stale` (repository, tag) pairs: each digest no other tag keeps is
/// deleted (with its referrers, unless `referrers` keeps them); a tag whose digest another
/// tag of its repository keeps is untagged only. Unknown pairs are listed as such.
pub fn plan_prune(model: &StorageModel, stale: &[(RepoName, Tag)], referrers: Referrers) -> Plan {
    let going: BTreeSet<&(RepoName, Tag)> = stale.iter().collect();
    // Digests carried, per repository, by a tag that stays.
    let mut kept: BTreeMap<&RepoName, BTreeSet<&Digest>> = BTreeMap::new();
    for (repo, entry) in &model.repos {
        for (tag, digest) in &entry.tags {
            if let Some(digest) = digest
                && !going.contains(&(repo.clone(), tag.clone()))
            {
                kept.entry(repo).or_default().insert(digest);
            }
        }
    }
    let (untag, delete): (Vec<_>, Vec<_>) = stale.iter().cloned().partition(|(repo, tag)| {
        let digest = model
            .repos
            .get(repo)
            .and_then(|r| r.tags.get(tag))
            .cloned()
            .flatten();
        digest.is_some_and(|d| kept.get(repo).is_some_and(|k| k.contains(&d)))
    });
    let mut plan = plan_rm_with(model, &delete, Mode::Delete, referrers);
    // Every tag on a deleted digest is stale: none is a surprise.
    for d in &mut plan.deletions {
        d.widened.clear();
    }
    let untagging = plan_rm_with(model, &untag, Mode::Untag, referrers);
    plan.deletions.extend(untagging.deletions);
    for d in &mut plan.deletions {
        if d.reason == Reason::Requested {
            d.reason = Reason::Unmirrored;
        }
    }
    plan.unknown.extend(untagging.unknown);
    plan.seeing(model)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::model::testing::{digest, image, tagged};

    fn pair(repo: &str, tag: &str) -> (RepoName, Tag) {
        (
            RepoName::parse(repo).expect("repo"),
            Tag::parse(tag).expect("tag"),
        )
    }

    /// `m/app`: v1 alone on digest 1; old and latest share digest 2, and latest stays.
    fn model() -> StorageModel {
        let mut m = StorageModel::default();
        image(&mut m, digest(1), 100, vec![(digest(11), 1000)], None);
        image(&mut m, digest(2), 100, vec![(digest(12), 2000)], None);
        tagged(&mut m, "m/app", "v1", digest(1));
        tagged(&mut m, "m/app", "old", digest(2));
        tagged(&mut m, "m/app", "latest", digest(2));
        m
    }

    #[test]
    fn stale_tags_are_those_not_wanted() {
        let m = model();
        let wanted: BTreeSet<Tag> = [pair("m/app", "latest").1].into();
        let stale = stale_tags(&m, &RepoName::parse("m/app").expect("repo"), &wanted);
        let names: Vec<&str> = stale.iter().map(Tag::as_str).collect();
        assert_eq!(names, ["old", "v1"]);
        assert!(stale_tags(&m, &RepoName::parse("m/none").expect("repo"), &wanted).is_empty());
    }

    #[test]
    fn a_digest_nobody_keeps_is_deleted_and_a_shared_one_only_untagged() {
        let m = model();
        let plan = plan_prune(
            &m,
            &[pair("m/app", "v1"), pair("m/app", "old")],
            Referrers::Follow,
        );
        let steps: Vec<(Mode, &Digest, Vec<&str>)> = plan
            .deletions
            .iter()
            .map(|d| (d.mode, &d.digest, d.tags.iter().map(Tag::as_str).collect()))
            .collect();
        assert_eq!(
            steps,
            [
                (Mode::Delete, &digest(1), vec!["v1"]),
                (Mode::Untag, &digest(2), vec!["old"]),
            ]
        );
        assert!(
            plan.deletions
                .iter()
                .all(|d| d.reason == Reason::Unmirrored)
        );
        // v1's manifest and layer; its config is digest 2's too.
        assert_eq!(plan.bytes_freed, 100 + 1000);
        assert!(plan.unknown.is_empty());
    }
}
