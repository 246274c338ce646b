//! `cleanup --orphaned-referrers`: referrers whose subject is gone (found by cosign's tag
//! names, fallback index tags and `subject` fields), what only they or the fallback index of
//! a gone subject keep (untagged referrers listed there, their own referrers), and fallback
//! indexes that list manifests the registry no longer has (rewritten without them).
//!
//! A subject the scan did not see is not taken for gone on that alone: it may be an
//! untagged manifest the registry still has. [`confirm_gone`] asks the registry (a HEAD by
//! digest each); [`plan_orphans`] plans from those answers alone, like every plan: priced,
//! previewed, applied by the same executor.

use std::collections::{BTreeMap, BTreeSet};

use super::plan::{Mode, Plan, PlannedDeletion, Reason};
use crate::analysis::attached::Attachments;
use crate::analysis::followers::{Role, artifact_bytes, followers, rewrites};
use crate::analysis::freed::{PREDICTION_NOTE, Rewritten, blobs_freed_rewriting, sum_sizes};
use crate::analysis::model::StorageModel;
use crate::registry::{Digest, ManifestRef, RegistryError, RepoName, Source};

/// The kind an orphaned fallback index is named by.
pub const ORPHAN_INDEX: &str = "referrers index";

/// Subjects confirmed gone, per repository.
pub type Gone = BTreeMap<RepoName, BTreeSet<Digest>>;

/// Asks the registry about every subject referrers name that the scan did not see in
/// `repos` (all when `None`): a 404 to a HEAD by digest confirms it gone.
pub async fn confirm_gone(
    source: &dyn Source,
    model: &StorageModel,
    wanted: &dyn Fn(&RepoName) -> bool,
) -> Result<Gone, RegistryError> {
    let mut gone = Gone::new();
    for repo in model.repos.keys().filter(|r| wanted(r)) {
        let attachments = Attachments::of_repo(model, repo);
        for subject in attachments.unseen_subjects(model) {
            match source
                .resolve(repo, &ManifestRef::Digest(subject.clone()))
                .await
            {
                Ok(_) => {}
                Err(e) if e.is_not_found() => {
                    gone.entry(repo.clone()).or_default().insert(subject);
                }
                Err(e) => return Err(e),
            }
        }
    }
    Ok(gone)
}

/// The plan removing the orphans of `gone` and keeping the fallback indexes of `repos` true.
pub fn plan_orphans(model: &StorageModel, gone: &Gone, wanted: &dyn Fn(&RepoName) -> bool) -> Plan {
    let mut deletions = Vec::new();
    let mut deleted_by_repo: BTreeMap<&RepoName, BTreeSet<Digest>> = BTreeMap::new();
    let mut rewritten_by_repo: BTreeMap<&RepoName, Rewritten> = BTreeMap::new();
    let none = BTreeSet::new();
    for repo in model.repos.keys().filter(|r| wanted(r)) {
        let attachments = Attachments::of_repo(model, repo);
        let subjects = gone.get(repo).unwrap_or(&none);
        let mut deleted = BTreeSet::new();
        for f in followers(model, repo, &attachments, subjects) {
            let tags = model
                .tag_digests(repo)
                .filter(|(_, d)| **d == f.digest)
                .map(|(t, _)| t.clone())
                .collect();
            let bytes = artifact_bytes(model, &f.digest);
            let kind = || {
                model
                    .manifests
                    .get(&f.digest)
                    .map_or_else(|| "artifact".to_string(), |m| m.kind.label())
            };
            let reason = match (subjects.contains(&f.subject), f.role) {
                (true, Role::Referrer) => Reason::Orphan {
                    subject: f.subject.clone(),
                    kind: kind(),
                    bytes,
                },
                (true, Role::FallbackIndex) => Reason::Orphan {
                    subject: f.subject.clone(),
                    kind: ORPHAN_INDEX.to_string(),
                    bytes,
                },
                (false, Role::Referrer) => Reason::Referrer {
                    subject: f.subject.clone(),
                    kind: kind(),
                    bytes,
                },
                (false, Role::FallbackIndex) => Reason::FallbackIndex {
                    subject: f.subject.clone(),
                    bytes,
                },
            };
            deletions.push(PlannedDeletion {
                repository: repo.clone(),
                digest: f.digest.clone(),
                mode: Mode::Delete,
                tags,
                widened: Vec::new(),
                children: Vec::new(),
                reason,
            });
            deleted.insert(f.digest);
        }
        let mut rewritten = Rewritten::new();
        for r in rewrites(model, &attachments, &deleted, true) {
            deletions.push(PlannedDeletion {
                repository: repo.clone(),
                digest: r.index.clone(),
                mode: Mode::Rewrite,
                tags: vec![r.tag],
                widened: Vec::new(),
                children: r.dropped.clone(),
                reason: Reason::Rewrite { subject: r.subject },
            });
            rewritten.insert(r.index, r.dropped.into_iter().collect());
        }
        deleted_by_repo.insert(repo, deleted);
        rewritten_by_repo.insert(repo, rewritten);
    }
    let freed = blobs_freed_rewriting(model, &deleted_by_repo, &rewritten_by_repo);
    Plan {
        deletions,
        repositories: Vec::new(),
        unknown: Vec::new(),
        bytes_freed: sum_sizes(&freed),
        note: PREDICTION_NOTE,
        seen: BTreeMap::new(),
        freed,
        blob_backup: None,
    }
    .seeing(model)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::model::{ScanEvent, testing};

    fn d(n: u8) -> Digest {
        testing::digest(n)
    }

    fn repo() -> RepoName {
        RepoName::parse("app").expect("repo")
    }

    fn image(m: &mut StorageModel, digest: u8, subject: Option<u8>, layer: (u8, u64)) {
        testing::image(
            m,
            d(digest),
            100,
            vec![(d(layer.0), layer.1)],
            subject.map(d),
        );
    }

    fn index(m: &mut StorageModel, digest: u8, children: &[u8]) {
        testing::index(m, d(digest), 50, children.iter().map(|c| d(*c)).collect());
    }

    fn tagged(m: &mut StorageModel, t: &str, digest: u8) {
        testing::tagged(m, "app", t, d(digest));
    }

    #[test]
    fn orphans_of_gone_subjects_go_and_indexes_listing_missing_manifests_are_rewritten() {
        let mut m = StorageModel::default();
        // v1 (1) stays, with an index (10) listing its SBOM (2) and a manifest gone (9).
        image(&mut m, 1, None, (101, 1000));
        tagged(&mut m, "v1", 1);
        image(&mut m, 2, Some(1), (102, 20));
        index(&mut m, 10, &[2, 9]);
        tagged(&mut m, &format!("sha256-{}", d(1).hex()), 10);
        m.apply(ScanEvent::MissingEntry {
            repo: repo(),
            index: d(10),
            digest: d(9),
            size: 70,
        });
        // subject 7 is gone: its cosign signature (3), its fallback index (11) listing an
        // untagged SBOM (4), and that SBOM's signature (5) in the SBOM's index (12).
        image(&mut m, 3, None, (103, 30));
        tagged(&mut m, &format!("sha256-{}.sig", d(7).hex()), 3);
        image(&mut m, 4, Some(7), (104, 40));
        index(&mut m, 11, &[4]);
        tagged(&mut m, &format!("sha256-{}", d(7).hex()), 11);
        image(&mut m, 5, Some(4), (105, 50));
        index(&mut m, 12, &[5]);
        tagged(&mut m, &format!("sha256-{}", d(4).hex()), 12);
        // subject 8 was not seen but the registry still has it: its signature (6) stays.
        image(&mut m, 6, None, (106, 60));
        tagged(&mut m, &format!("sha256-{}.sig", d(8).hex()), 6);

        let a = Attachments::of_repo(&m, &repo());
        assert_eq!(a.unseen_subjects(&m), vec![d(7), d(8)]);
        let gone = Gone::from([(repo(), BTreeSet::from([d(7)]))]);
        let plan = plan_orphans(&m, &gone, &|_| true);
        let steps: Vec<(Digest, Mode, String)> = plan
            .deletions
            .iter()
            .map(|s| (s.digest.clone(), s.mode, s.reason.to_string()))
            .collect();
        assert_eq!(
            steps,
            vec![
                (
                    d(3),
                    Mode::Delete,
                    format!("image of {}, which is gone", d(7))
                ),
                (
                    d(4),
                    Mode::Delete,
                    format!("image of {}, which is gone", d(7))
                ),
                (
                    d(11),
                    Mode::Delete,
                    format!("referrers index of {}, which is gone", d(7))
                ),
                (d(5), Mode::Delete, format!("image of {}", d(4))),
                (d(12), Mode::Delete, format!("referrers index of {}", d(4))),
                (
                    d(10),
                    Mode::Rewrite,
                    format!(
                        "referrers index of {}, rewritten without the entries that go",
                        d(1)
                    )
                ),
            ]
        );
        assert_eq!(plan.deletions[5].children, vec![d(9)]);
        // Three images (document and layer; the config blob is shared with what stays), two
        // indexes, and the document of the missing entry, which v1's index kept on disk.
        assert_eq!(plan.bytes_freed, 3 * 100 + 30 + 40 + 50 + 2 * 50 + 70);
    }
}
