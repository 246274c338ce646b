//! What goes with a deleted manifest: its referrers (signatures, SBOMs, attestations, and
//! theirs, transitively) and the referrers fallback index of every subject that goes.
//!
//! Left alone, they would stay tagged (cosign's `sha256-<hex>.sig`, the fallback index's
//! `sha256-<hex>`) and garbage collection would never free them. A candidate stays when it is
//! still needed:
//! - it is attached to a manifest that survives (a second subject, or a subject the scan did
//!   not see: only a registry could tell that one is gone);
//! - a tag that survives reaches it (an index that stays lists it, e.g. the fallback index of a
//!   surviving subject);
//! - it carries a tag of its own that is not bookkeeping (someone named it).
//!
//! Keeping one candidate can keep others (its own referrers): the rules are applied until
//! nothing changes. Pure, from the scanned model alone.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::attached::Attachments;
use super::model::StorageModel;
use crate::registry::{Digest, RepoName};

/// Why a manifest follows a deleted one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Attached to `subject` (a signature, an SBOM, an attestation...).
    Referrer,
    /// The referrers fallback index (`sha256-<hex>`) of `subject`.
    FallbackIndex,
}

/// A manifest that goes because `subject` goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Follower {
    pub digest: Digest,
    pub subject: Digest,
    pub role: Role,
}

/// The followers of `deleted` (manifests of `repo` deleted by digest, index children
/// included), nearest first: a follower comes after its subject. None of `deleted` is
/// among them.
pub fn followers(
    model: &StorageModel,
    repo: &RepoName,
    attachments: &Attachments,
    deleted: &BTreeSet<Digest>,
) -> Vec<Follower> {
    let mut candidates: Vec<Follower> = Vec::new();
    let mut taken: BTreeSet<Digest> = deleted.clone();
    let mut queue: VecDeque<Digest> = deleted.iter().cloned().collect();
    while let Some(subject) = queue.pop_front() {
        let mut found: Vec<(Digest, Role)> = attachments
            .direct(&subject)
            .map(|(r, _)| (r.clone(), Role::Referrer))
            .collect();
        if let Some(index) = attachments.fallback_of(&subject) {
            found.push((index.index.clone(), Role::FallbackIndex));
        }
        for (digest, role) in found {
            if taken.insert(digest.clone()) {
                if role == Role::Referrer {
                    queue.push_back(digest.clone());
                }
                candidates.push(Follower {
                    digest,
                    subject: subject.clone(),
                    role,
                });
            }
        }
    }
    if candidates.is_empty() {
        return candidates;
    }
    // Tags people gave a candidate themselves (not referrer bookkeeping) keep it.
    let own_tag: BTreeSet<&Digest> = model
        .tag_digests(repo)
        .filter(|(t, _)| !attachments.is_attached_tag(t))
        .map(|(_, d)| d)
        .collect();
    loop {
        let gone: BTreeSet<&Digest> = deleted
            .iter()
            .chain(candidates.iter().map(|c| &c.digest))
            .collect();
        let alive = model.revisions(
            model
                .tag_digests(repo)
                .map(|(_, d)| d)
                .filter(|d| !gone.contains(d)),
        );
        let needed = |c: &Follower| {
            // A kept referrer keeps its own fallback index.
            !gone.contains(&c.subject)
                || alive.contains(&c.digest)
                || own_tag.contains(&c.digest)
                || attachments
                    .subjects_of(&c.digest)
                    .any(|s| !gone.contains(s))
        };
        let before = candidates.len();
        let kept: BTreeMap<Digest, bool> = candidates
            .iter()
            .map(|c| (c.digest.clone(), needed(c)))
            .collect();
        candidates.retain(|c| !kept[&c.digest]);
        if candidates.len() == before {
            return candidates;
        }
    }
}

/// A referrers fallback index that stays while manifests it lists go: it is rewritten
/// without them (OCI 1.1 asks clients to keep the index true).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewrite {
    /// The index as it is now (the tag `sha256-<hex>` points at it).
    pub index: Digest,
    pub tag: crate::registry::Tag,
    pub subject: Digest,
    /// The entries dropped: listed manifests that go, or that the registry no longer has.
    pub dropped: Vec<Digest>,
}

/// The fallback indexes of `repo` that survive `deleted` (everything deleted there,
/// followers included) but list some of it, or list manifests the registry no longer has
/// when `missing_too`.
pub fn rewrites(
    model: &StorageModel,
    attachments: &Attachments,
    deleted: &BTreeSet<Digest>,
    missing_too: bool,
) -> Vec<Rewrite> {
    attachments
        .fallback_indexes()
        .iter()
        .filter(|f| !deleted.contains(&f.index))
        .filter_map(|f| {
            let dropped: Vec<Digest> = f
                .listed
                .iter()
                .filter(|d| deleted.contains(*d) || (missing_too && model.missing.contains_key(*d)))
                .cloned()
                .collect();
            (!dropped.is_empty()).then(|| Rewrite {
                index: f.index.clone(),
                tag: f.tag.clone(),
                subject: f.subject.clone(),
                dropped,
            })
        })
        .collect()
}

/// A referrer's bytes as the referrers tree shows them: its document plus the distinct
/// blobs it references (not what deleting it frees: blobs may be shared).
pub fn artifact_bytes(model: &StorageModel, digest: &Digest) -> u64 {
    let doc = model.manifests.get(digest).map_or(0, |m| m.doc_size);
    doc.saturating_add(model.image_size(digest).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::model::testing;

    fn d(n: u8) -> Digest {
        testing::digest(n)
    }

    fn repo() -> RepoName {
        RepoName::parse("app").expect("repo")
    }

    fn image(m: &mut StorageModel, digest: Digest, subject: Option<Digest>) {
        testing::image(m, digest, 10, vec![], subject);
    }

    fn index(m: &mut StorageModel, digest: Digest, children: Vec<Digest>) {
        testing::index(m, digest, 10, children);
    }

    fn tagged(m: &mut StorageModel, t: &str, digest: Digest) {
        testing::tagged(m, "app", t, digest);
    }

    fn scheme(subject: &Digest, suffix: &str) -> String {
        format!("sha256-{}{suffix}", subject.hex())
    }

    /// v1 (1) with a cosign signature (2), an SBOM (3) in its fallback index (4), and a
    /// signature (5) of the SBOM in the SBOM's fallback index (6); v2 (7) with a signature (8).
    fn world() -> StorageModel {
        let mut m = StorageModel::default();
        image(&mut m, d(1), None);
        tagged(&mut m, "v1", d(1));
        image(&mut m, d(2), None);
        tagged(&mut m, &scheme(&d(1), ".sig"), d(2));
        image(&mut m, d(3), Some(d(1)));
        index(&mut m, d(4), vec![d(3)]);
        tagged(&mut m, &scheme(&d(1), ""), d(4));
        image(&mut m, d(5), Some(d(3)));
        index(&mut m, d(6), vec![d(5)]);
        tagged(&mut m, &scheme(&d(3), ""), d(6));
        image(&mut m, d(7), None);
        tagged(&mut m, "v2", d(7));
        image(&mut m, d(8), None);
        tagged(&mut m, &scheme(&d(7), ".sig"), d(8));
        m
    }

    fn of(m: &StorageModel, deleted: &[Digest]) -> Vec<(Digest, Digest, Role)> {
        let a = Attachments::of_repo(m, &repo());
        followers(m, &repo(), &a, &deleted.iter().cloned().collect())
            .into_iter()
            .map(|f| (f.digest, f.subject, f.role))
            .collect()
    }

    #[test]
    fn referrers_and_fallback_indexes_follow_transitively_and_after_their_subject() {
        let m = world();
        assert_eq!(
            of(&m, &[d(1)]),
            vec![
                (d(2), d(1), Role::Referrer),
                (d(3), d(1), Role::Referrer),
                (d(4), d(1), Role::FallbackIndex),
                (d(5), d(3), Role::Referrer),
                (d(6), d(3), Role::FallbackIndex),
            ]
        );
        // v2's signature stays with v2.
        assert_eq!(of(&m, &[d(7)]), vec![(d(8), d(7), Role::Referrer)]);
        assert!(of(&m, &[d(8)]).is_empty(), "a signature has no followers");
    }

    #[test]
    fn a_referrer_needed_elsewhere_stays_with_its_own_referrers() {
        // The SBOM (3) is also listed in v2's fallback index: v2 survives, so the SBOM and
        // its signature stay; v1's own fallback index still goes.
        let mut m = world();
        index(&mut m, d(9), vec![d(3), d(8)]);
        tagged(&mut m, &scheme(&d(7), ""), d(9));
        assert_eq!(
            of(&m, &[d(1)]),
            vec![
                (d(2), d(1), Role::Referrer),
                (d(4), d(1), Role::FallbackIndex)
            ]
        );
        // A signature someone tagged by name stays; one attached to a second, surviving
        // subject too.
        let mut m = world();
        tagged(&mut m, "release-signature", d(2));
        image(&mut m, d(5), Some(d(7)));
        let mut got = of(&m, &[d(1)]);
        got.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            got,
            vec![
                (d(3), d(1), Role::Referrer),
                (d(4), d(1), Role::FallbackIndex),
                (d(6), d(3), Role::FallbackIndex),
            ]
        );
    }
}
