//! Tags pushed since the scan: before a repository's first delete, the executor lists its
//! tags again and resolves the ones the plan has not seen. A step whose digest, or a platform
//! manifest deleted with it, now carries such a tag would take that tag along: it is skipped.
//!
//! Only tags the plan has not seen are resolved (cheap: usually none). A tag the scan saw
//! elsewhere and that was since moved onto a deleted digest is not looked for here.

use super::plan::{Mode, Plan, PlannedDeletion};
use crate::registry::{Client, Digest, ManifestRef, RegistryError, RepoName, Tag};

/// Tags found in a repository beyond those the plan saw, with the digests they point at.
pub(super) type Unseen = Vec<(Tag, Digest)>;

/// Lists `repo`'s tags again and resolves the ones the plan did not see.
pub(super) async fn unseen_tags(
    client: &Client,
    plan: &Plan,
    repo: &RepoName,
) -> Result<Unseen, RegistryError> {
    let seen = plan.seen.get(repo);
    let tags = match client.tags(repo).await {
        Ok(tags) => tags,
        Err(e) if e.is_not_found() => Vec::new(),
        Err(e) => return Err(e),
    };
    let mut found = Vec::new();
    for tag in tags {
        if seen.is_some_and(|s| s.contains_key(&tag)) {
            continue;
        }
        match client
            .head_manifest(repo, &ManifestRef::Tag(tag.clone()))
            .await
        {
            Ok(head) => found.push((tag, head.digest)),
            // Gone again between the listing and the HEAD.
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(found)
}

/// Why deleting `step` would take a tag the plan never saw, if it would: such a tag points at
/// the step's digest or at one of the platform manifests deleted with it.
pub(super) fn pushed_onto(step: &PlannedDeletion, unseen: &Unseen) -> Option<String> {
    let hit: Vec<(&Tag, &Digest)> = unseen
        .iter()
        // A rewrite's children are entries it drops only if they are gone by then: a tag
        // on one keeps it listed, so only the index itself matters there.
        .filter(|(_, d)| {
            d == &step.digest || (step.mode == Mode::Delete && step.children.contains(d))
        })
        .map(|(t, d)| (t, d))
        .collect();
    let (_, digest) = hit.first()?;
    let tags: Vec<&str> = hit.iter().map(|(t, _)| t.as_str()).collect();
    let onto = if *digest == &step.digest {
        format!("{}@{}", step.repository, step.digest)
    } else {
        format!(
            "{}@{}, a platform manifest of {}",
            step.repository, digest, step.digest
        )
    };
    Some(format!(
        "tag {} now points at {onto}: pushed since the plan was made and not in it, so the digest is left alone with every tag on it",
        tags.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cleanup::plan::Reason;

    fn d(n: u8) -> Digest {
        Digest::parse(&format!("sha256:{}", format!("{n:02x}").repeat(32))).unwrap()
    }

    fn t(s: &str) -> Tag {
        Tag::parse(s).unwrap()
    }

    #[test]
    fn only_a_tag_on_the_deleted_digest_or_a_deleted_child_stops_the_step() {
        let step = PlannedDeletion {
            repository: RepoName::parse("app").unwrap(),
            digest: d(1),
            mode: Mode::Delete,
            tags: vec![t("v1")],
            widened: Vec::new(),
            children: vec![d(2)],
            reason: Reason::Requested,
        };
        assert_eq!(pushed_onto(&step, &vec![(t("other"), d(3))]), None);
        assert_eq!(pushed_onto(&step, &Vec::new()), None);
        let why = pushed_onto(&step, &vec![(t("hotfix"), d(1)), (t("again"), d(1))]).unwrap();
        assert!(
            why.starts_with(&format!(
                "tag hotfix, again now points at app@{}: pushed since",
                d(1)
            )),
            "{why}"
        );
        let why = pushed_onto(&step, &vec![(t("amd64"), d(2))]).unwrap();
        assert!(
            why.contains(&format!("app@{}, a platform manifest of {}", d(2), d(1))),
            "{why}"
        );
    }
}
