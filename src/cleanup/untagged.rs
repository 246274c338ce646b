//! A plan source for `cleanup --untagged`: the manifest revisions no tag reaches, found by
//! reading the registry's storage (the API cannot list them), deleted through the API by
//! digest like every other plan step, backed up and journaled by the same executor.
//!
//! Never in the plan: a manifest a tag's `current` link points at, or one a tagged index
//! lists (at any depth), in its repository. An untagged index takes its untagged platform
//! manifests along as `children`. `bytes_freed` is what garbage collection frees because of
//! the plan, worked out by the collector's own rules ([`crate::storage::collector`]) on the
//! storage as it will be after the deletes.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;

use super::plan::{Mode, Plan, PlannedDeletion, Reason};
use crate::registry::{Digest, RepoName, Tag};
use crate::storage::account::untagged_revisions;
use crate::storage::collector::{GcMode, predict};
use crate::storage::snapshot::{Body, Snapshot};

pub const UNTAGGED_NOTE: &str = "read from the registry's storage; blobs are freed when garbage collection runs, together with what is unreferenced already";

/// A plan and what plain garbage collection deletes before and after it is applied.
#[derive(Debug, Clone)]
pub struct UntaggedPlan {
    pub plan: Plan,
    /// Bytes plain `garbage-collect` deletes now (already unreferenced).
    pub gc_bytes_now: u64,
    /// Bytes it deletes once the plan is applied: `gc_bytes_now + plan.bytes_freed`.
    pub gc_bytes_after: u64,
    /// Untagged manifests left out because they were pushed after the cutoff (or when is
    /// unknown).
    pub too_recent: usize,
}

/// The plan deleting every untagged revision pushed before `pushed_before` (all when `None`),
/// in the repositories `shown` accepts.
pub fn plan_untagged(
    snapshot: &Snapshot,
    pushed_before: Option<Timestamp>,
    shown: &dyn Fn(&RepoName) -> bool,
) -> UntaggedPlan {
    plan_with(snapshot, &|name, _, pushed| {
        if !shown(name) {
            return Pick::Skip;
        }
        match pushed_before {
            None => Pick::Take,
            Some(cutoff) if pushed.is_some_and(|p| p < cutoff) => Pick::Take,
            Some(_) => Pick::TooRecent,
        }
    })
}

/// The plan deleting the untagged revisions `picked` names (the TUI's marks); a picked
/// manifest that is not (or no longer) untagged in `snapshot` is left out, so a tag pushed
/// onto it since it was marked keeps it.
pub fn plan_untagged_of(
    snapshot: &Snapshot,
    picked: &BTreeSet<(RepoName, Digest)>,
) -> UntaggedPlan {
    plan_with(snapshot, &|name, digest, _| {
        if picked.contains(&(name.clone(), digest.clone())) {
            Pick::Take
        } else {
            Pick::Skip
        }
    })
}

enum Pick {
    Take,
    TooRecent,
    Skip,
}

fn plan_with(
    snapshot: &Snapshot,
    pick: &dyn Fn(&RepoName, &Digest, Option<Timestamp>) -> Pick,
) -> UntaggedPlan {
    let mut deletions = Vec::new();
    let mut too_recent = 0;
    let mut after = snapshot.clone();
    for (name, repo) in &snapshot.repos {
        let mut chosen: BTreeSet<&Digest> = BTreeSet::new();
        for digest in untagged_revisions(snapshot, repo) {
            let pushed = repo.revisions.get(digest).copied().flatten();
            match pick(name, digest, pushed) {
                Pick::Take => {
                    chosen.insert(digest);
                }
                Pick::TooRecent => too_recent += 1,
                Pick::Skip => {}
            }
        }
        if chosen.is_empty() {
            continue;
        }
        // Indexes first, each taking its chosen children that no earlier index took.
        let mut taken: BTreeSet<&Digest> = BTreeSet::new();
        let mut steps = Vec::new();
        for digest in &chosen {
            if let Some(Body::Index { children }) = snapshot.bodies.get(*digest) {
                if taken.contains(digest) {
                    continue;
                }
                let mine: Vec<Digest> = children
                    .iter()
                    .filter(|c| chosen.contains(c) && !taken.contains(c) && *c != *digest)
                    .cloned()
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
                taken.insert(digest);
                taken.extend(mine.iter().filter_map(|c| chosen.get(c).copied()));
                steps.push(step(name, digest, mine));
            }
        }
        for digest in &chosen {
            if !taken.contains(digest) {
                steps.push(step(name, digest, Vec::new()));
            }
        }
        if let Some(store) = after.repos.get_mut(name) {
            for digest in &chosen {
                store.revisions.remove(*digest);
            }
        }
        deletions.extend(steps);
    }
    let gc_bytes_now = predict(snapshot, GcMode::Plain).bytes;
    let gc_bytes_after = predict(&after, GcMode::Plain).bytes;
    let seen: BTreeMap<RepoName, _> = deletions
        .iter()
        .map(|d: &PlannedDeletion| d.repository.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .map(|repo| {
            let tags = snapshot.repos.get(&repo).map_or_else(BTreeMap::new, |r| {
                r.tags
                    .iter()
                    .filter_map(|(t, s)| s.current.clone().map(|d| (t.clone(), d)))
                    .collect()
            });
            (repo, tags)
        })
        .collect();
    UntaggedPlan {
        plan: Plan {
            deletions,
            repositories: Vec::new(),
            unknown: Vec::new(),
            bytes_freed: gc_bytes_after.saturating_sub(gc_bytes_now),
            note: UNTAGGED_NOTE,
            seen,
            // Read from storage, not predicted blob by blob: no blob backup.
            freed: BTreeMap::new(),
            blob_backup: None,
        },
        gc_bytes_now,
        gc_bytes_after,
        too_recent,
    }
}

fn step(repo: &RepoName, digest: &Digest, children: Vec<Digest>) -> PlannedDeletion {
    PlannedDeletion {
        repository: repo.clone(),
        digest: digest.clone(),
        mode: Mode::Delete,
        tags: Vec::new(),
        widened: Vec::new(),
        children,
        reason: Reason::Untagged,
    }
}

/// Keeps only the steps (and children) that are still untagged in `fresh`, a reading made
/// right before applying: a tag pushed meanwhile onto one of them takes it out of the plan.
pub fn still_untagged(plan: &mut Plan, fresh: &Snapshot) {
    let untagged: BTreeSet<(RepoName, Digest)> = fresh
        .repos
        .iter()
        .flat_map(|(name, repo)| {
            untagged_revisions(fresh, repo)
                .into_iter()
                .map(move |d| (name.clone(), d.clone()))
        })
        .collect();
    plan.deletions.retain_mut(|step| {
        step.children
            .retain(|c| untagged.contains(&(step.repository.clone(), c.clone())));
        untagged.contains(&(step.repository.clone(), step.digest.clone()))
    });
}

/// A stored manifest no tag names but a tagged index lists (at any depth): untagged to
/// Distribution's `--delete-untagged`, which deletes it and breaks the image; never in a
/// plan here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectedManifest {
    pub repository: RepoName,
    pub digest: Digest,
    /// The tagged index that lists it (the first one, by tag order).
    pub index: Digest,
    /// The tags on that index.
    pub tags: Vec<Tag>,
}

/// Every [`ProtectedManifest`] of the storage, by repository and digest.
pub fn protected_manifests(snapshot: &Snapshot) -> Vec<ProtectedManifest> {
    let mut out = Vec::new();
    for (name, repo) in &snapshot.repos {
        let named: BTreeSet<&Digest> = repo
            .tags
            .values()
            .filter_map(|t| t.current.as_ref())
            .collect();
        let mut found: BTreeMap<&Digest, &Digest> = BTreeMap::new();
        for index in &named {
            let mut seen: BTreeSet<&Digest> = BTreeSet::new();
            let mut stack = vec![*index];
            while let Some(d) = stack.pop() {
                if !seen.insert(d) {
                    continue;
                }
                if let Some(Body::Index { children }) = snapshot.bodies.get(d) {
                    stack.extend(children);
                }
                if d != *index && !named.contains(d) && snapshot.revision_stored(repo, d) {
                    found.entry(d).or_insert(index);
                }
            }
        }
        for (digest, index) in found {
            let tags = repo
                .tags
                .iter()
                .filter(|(_, t)| t.current.as_ref() == Some(index))
                .map(|(t, _)| t.clone())
                .collect();
            out.push(ProtectedManifest {
                repository: name.clone(),
                digest: digest.clone(),
                index: index.clone(),
                tags,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::snapshot::{RepoStore, TagStore};

    fn d(n: u8) -> Digest {
        Digest::parse(&format!("sha256:{}", format!("{n:02x}").repeat(32))).expect("digest")
    }

    fn image(layer: u8) -> Body {
        Body::Image {
            config: None,
            layers: vec![d(layer)],
        }
    }

    /// `app`: tag `t` on index 1 (children 2, 3); untagged index 4 (children 3, 5); untagged
    /// image 6 (old) and 7 (new); tagged image 8. Layers 100+.
    fn snapshot() -> Snapshot {
        let mut s = Snapshot::default();
        let old = Timestamp::from_second(1_000).expect("time");
        let new = Timestamp::from_second(2_000).expect("time");
        let mut repo = RepoStore {
            has_layers: true,
            ..RepoStore::default()
        };
        for (n, when) in [
            (1, old),
            (2, old),
            (3, old),
            (4, old),
            (5, old),
            (6, old),
            (7, new),
            (8, old),
        ] {
            repo.revisions.insert(d(n), Some(when));
            s.blobs.insert(d(n), 10);
        }
        for n in [102, 103, 105, 106, 107, 108] {
            s.blobs.insert(d(n), 1000 + n as u64);
        }
        s.bodies.insert(
            d(1),
            Body::Index {
                children: vec![d(2), d(3)],
            },
        );
        s.bodies.insert(
            d(4),
            Body::Index {
                children: vec![d(3), d(5)],
            },
        );
        for n in [2, 3, 5, 6, 7, 8] {
            s.bodies.insert(d(n), image(100 + n));
        }
        repo.tags.insert(
            Tag::parse("t").expect("tag"),
            TagStore {
                current: Some(d(1)),
                history: BTreeMap::new(),
            },
        );
        repo.tags.insert(
            Tag::parse("u").expect("tag"),
            TagStore {
                current: Some(d(8)),
                history: BTreeMap::new(),
            },
        );
        s.repos.insert(RepoName::parse("app").expect("repo"), repo);
        s
    }

    #[test]
    fn never_a_tagged_manifest_nor_a_tagged_index_child() {
        let s = snapshot();
        let p = plan_untagged(&s, None, &|_| true);
        let digests: Vec<(&Digest, &Vec<Digest>)> = p
            .plan
            .deletions
            .iter()
            .map(|x| (&x.digest, &x.children))
            .collect();
        // Index 4 with its own child 5 (3 belongs to the tagged index 1), then 6 and 7.
        assert_eq!(
            digests,
            vec![(&d(4), &vec![d(5)]), (&d(6), &vec![]), (&d(7), &vec![])]
        );
        // Freed: documents 4, 5, 6, 7 and layers 105, 106, 107.
        assert_eq!(p.plan.bytes_freed, 40 + 1105 + 1106 + 1107);
        assert_eq!(p.gc_bytes_now, 0);
        assert!(
            p.plan
                .deletions
                .iter()
                .all(|x| x.reason == Reason::Untagged)
        );
    }

    #[test]
    fn older_than_leaves_recent_pushes_and_a_fresh_reading_drops_retagged_ones() {
        let s = snapshot();
        let cutoff = Timestamp::from_second(1_500).expect("time");
        let mut p = plan_untagged(&s, Some(cutoff), &|_| true);
        assert_eq!(p.too_recent, 1);
        assert!(p.plan.deletions.iter().all(|x| x.digest != d(7)));
        // 6 gets a tag before applying: it leaves the plan.
        let mut fresh = s.clone();
        let app = RepoName::parse("app").expect("repo");
        if let Some(repo) = fresh.repos.get_mut(&app) {
            repo.tags.insert(
                Tag::parse("back").expect("tag"),
                TagStore {
                    current: Some(d(6)),
                    history: BTreeMap::new(),
                },
            );
        }
        still_untagged(&mut p.plan, &fresh);
        assert_eq!(
            p.plan
                .deletions
                .iter()
                .map(|x| x.digest.clone())
                .collect::<Vec<_>>(),
            vec![d(4)]
        );
    }

    #[test]
    fn marks_pick_their_manifests_only_and_tagged_index_children_are_protected() {
        let s = snapshot();
        let app = RepoName::parse("app").expect("repo");
        // Index 4 alone leaves its child 5; 3 (a child of the tagged index 1) and 8 (tagged)
        // are never taken even when picked.
        let picked: BTreeSet<(RepoName, Digest)> = [d(4), d(3), d(8), d(6)]
            .into_iter()
            .map(|x| (app.clone(), x))
            .collect();
        let p = plan_untagged_of(&s, &picked);
        let steps: Vec<(&Digest, &Vec<Digest>)> = p
            .plan
            .deletions
            .iter()
            .map(|x| (&x.digest, &x.children))
            .collect();
        assert_eq!(steps, vec![(&d(4), &vec![]), (&d(6), &vec![])]);
        // Documents 4 and 6 and layer 106 (5 stays, and so does what it references).
        assert_eq!(p.plan.bytes_freed, 20 + 1106);
        assert_eq!(p.too_recent, 0);
        let protected = protected_manifests(&s);
        assert_eq!(
            protected
                .iter()
                .map(|p| (p.digest.clone(), p.index.clone()))
                .collect::<Vec<_>>(),
            vec![(d(2), d(1)), (d(3), d(1))]
        );
        assert_eq!(protected[0].tags, vec![Tag::parse("t").expect("tag")]);
    }
}
