//! The referrers tree of a manifest: subject -> its referrers -> their referrers, each with
//! its kind and bytes. Pure: built from the facts discovery gathered ([`crate::referrers`]).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::artifact::ArtifactKind;
use super::content::BlobSummary;
use crate::registry::{Digest, RepoName, Tag};

/// Where a referrer was found. A referrer found in several places lists each.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum FoundVia {
    /// The OCI 1.1 referrers API.
    Api,
    /// The referrers fallback index under this tag (`sha256-<hex>`).
    FallbackIndex { tag: Tag },
    /// cosign's tag scheme (`sha256-<hex>.sig`, `.att`, `.sbom`).
    CosignTag { tag: Tag },
    /// A tagged manifest whose `subject` names the subject.
    SubjectField { tag: Tag },
}

/// One referrer manifest as discovery saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferrerFacts {
    pub repo: RepoName,
    pub digest: Digest,
    /// The manifest it refers to.
    pub subject: Digest,
    pub media_type: String,
    pub artifact_type: Option<String>,
    pub kind: ArtifactKind,
    /// Bytes of the manifest document.
    pub manifest_bytes: u64,
    /// The blobs (config and layers) or child manifests it references, with their sizes.
    pub references: Vec<(Digest, u64)>,
    /// `org.opencontainers.image.created`, when annotated.
    pub created: Option<String>,
    pub found_via: BTreeSet<FoundVia>,
    /// What its small blobs say (see [`super::content`]); empty when none was read.
    pub summary: Vec<BlobSummary>,
}

impl ReferrerFacts {
    /// The manifest's bytes plus the distinct blobs it references; None when the sizes a
    /// registry sent overflow (never a wrapped number).
    pub fn size(&self) -> Option<u64> {
        let distinct: BTreeMap<&Digest, u64> =
            self.references.iter().map(|(d, s)| (d, *s)).collect();
        distinct
            .values()
            .try_fold(self.manifest_bytes, |sum, s| sum.checked_add(*s))
    }
}

/// A referrer and its own referrers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReferrerNode {
    pub repository: RepoName,
    pub digest: Digest,
    pub media_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    #[serde(flatten)]
    pub kind: ArtifactKind,
    /// A short name for people (`cosign signature`, `SBOM (SPDX)`).
    pub label: String,
    /// Manifest plus blobs, in bytes; null when the registry's sizes overflow.
    pub size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    pub found_via: Vec<FoundVia>,
    /// What its small blobs say: the signed digest, the statement, the package count...
    pub summary: Vec<BlobSummary>,
    pub referrers: Vec<ReferrerNode>,
}

/// The tree under one subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReferrerTree {
    pub repository: RepoName,
    pub subject: Digest,
    pub referrers: Vec<ReferrerNode>,
    /// Bytes of every referrer in the tree, transitively; null on overflow.
    pub total_bytes: Option<u64>,
    /// How many referrers the tree holds, transitively.
    pub count: usize,
}

/// Builds the tree under `subject` from discovery's facts. Facts for the same digest found
/// twice (through two sources, or in two repositories) are one node; a cycle (a referrer that
/// is its own subject's subject) is cut where it closes.
pub fn build_tree(repo: &RepoName, subject: &Digest, facts: &[ReferrerFacts]) -> ReferrerTree {
    let mut by_subject: BTreeMap<&Digest, BTreeMap<&Digest, Vec<&ReferrerFacts>>> = BTreeMap::new();
    for f in facts {
        by_subject
            .entry(&f.subject)
            .or_default()
            .entry(&f.digest)
            .or_default()
            .push(f);
    }
    let mut visiting = BTreeSet::from([subject.clone()]);
    let referrers = children(subject, &by_subject, &mut visiting);
    let mut count = 0;
    let total_bytes = total(&referrers, &mut count);
    ReferrerTree {
        repository: repo.clone(),
        subject: subject.clone(),
        referrers,
        total_bytes,
        count,
    }
}

type Index<'a> = BTreeMap<&'a Digest, BTreeMap<&'a Digest, Vec<&'a ReferrerFacts>>>;

fn children(
    subject: &Digest,
    index: &Index<'_>,
    visiting: &mut BTreeSet<Digest>,
) -> Vec<ReferrerNode> {
    let Some(direct) = index.get(subject) else {
        return Vec::new();
    };
    let mut nodes = Vec::new();
    for (digest, seen) in direct {
        if !visiting.insert((*digest).clone()) {
            continue;
        }
        let first = seen[0];
        let found_via: BTreeSet<FoundVia> = seen
            .iter()
            .flat_map(|f| f.found_via.iter().cloned())
            .collect();
        let referrers = children(digest, index, visiting);
        visiting.remove(*digest);
        nodes.push(ReferrerNode {
            repository: first.repo.clone(),
            digest: (*digest).clone(),
            media_type: first.media_type.clone(),
            artifact_type: first.artifact_type.clone(),
            label: first.kind.label(),
            kind: first.kind.clone(),
            size: first.size(),
            created: first.created.clone(),
            found_via: found_via.into_iter().collect(),
            summary: seen
                .iter()
                .map(|f| &f.summary)
                .find(|s| !s.is_empty())
                .cloned()
                .unwrap_or_default(),
            referrers,
        });
    }
    // Oldest first when dates are known, then by kind and digest: a stable order to read.
    nodes.sort_by(|a, b| {
        (a.created.is_none(), &a.created, &a.label, &a.digest).cmp(&(
            b.created.is_none(),
            &b.created,
            &b.label,
            &b.digest,
        ))
    });
    nodes
}

fn total(nodes: &[ReferrerNode], count: &mut usize) -> Option<u64> {
    let mut sum: Option<u64> = Some(0);
    for n in nodes {
        *count += 1;
        let below = total(&n.referrers, count);
        sum = match (sum, n.size, below) {
            (Some(s), Some(a), Some(b)) => s.checked_add(a).and_then(|s| s.checked_add(b)),
            _ => None,
        };
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::artifact::SbomFormat;

    fn d(n: u8) -> Digest {
        Digest::sha256_of(&[n])
    }

    fn repo() -> RepoName {
        RepoName::parse("app").unwrap()
    }

    fn fact(digest: u8, subject: u8, kind: ArtifactKind, sizes: &[u64]) -> ReferrerFacts {
        ReferrerFacts {
            repo: repo(),
            digest: d(digest),
            subject: d(subject),
            media_type: "application/vnd.oci.image.manifest.v1+json".into(),
            artifact_type: None,
            kind,
            manifest_bytes: 100,
            references: sizes
                .iter()
                .enumerate()
                .map(|(i, s)| (d(200 + i as u8 + digest), *s))
                .collect(),
            created: None,
            found_via: BTreeSet::from([FoundVia::Api]),
            summary: Vec::new(),
        }
    }

    #[test]
    fn transitive_tree_with_sizes() {
        let sbom = ArtifactKind::Sbom {
            format: SbomFormat::Spdx,
        };
        let facts = vec![
            fact(1, 0, ArtifactKind::CosignSignature, &[10]),
            fact(2, 0, sbom.clone(), &[20, 30]),
            // a signature of the SBOM
            fact(3, 2, ArtifactKind::NotationSignature, &[5]),
            // unrelated: refers to another subject
            fact(4, 9, ArtifactKind::CosignSignature, &[1]),
        ];
        let tree = build_tree(&repo(), &d(0), &facts);
        assert_eq!(tree.count, 3);
        assert_eq!(tree.referrers.len(), 2);
        let sbom_node = tree.referrers.iter().find(|n| n.kind == sbom).unwrap();
        assert_eq!(sbom_node.size, Some(150));
        assert_eq!(sbom_node.referrers.len(), 1);
        assert_eq!(sbom_node.referrers[0].size, Some(105));
        assert_eq!(tree.total_bytes, Some(110 + 150 + 105));
    }

    #[test]
    fn the_same_referrer_found_twice_is_one_node() {
        let mut a = fact(1, 0, ArtifactKind::CosignSignature, &[10]);
        let mut b = a.clone();
        a.found_via = BTreeSet::from([FoundVia::Api]);
        b.found_via = BTreeSet::from([FoundVia::CosignTag {
            tag: Tag::parse("x.sig").unwrap(),
        }]);
        let tree = build_tree(&repo(), &d(0), &[a, b]);
        assert_eq!(tree.count, 1);
        assert_eq!(tree.referrers[0].found_via.len(), 2);
    }

    #[test]
    fn cycles_end_and_overflow_is_unknown_not_wrapped() {
        let facts = vec![
            fact(1, 0, ArtifactKind::CosignSignature, &[u64::MAX]),
            fact(0, 1, ArtifactKind::CosignSignature, &[1]),
            fact(2, 1, ArtifactKind::CosignSignature, &[1]),
        ];
        let tree = build_tree(&repo(), &d(0), &facts);
        assert_eq!(tree.count, 2, "the cycle back to the subject is cut");
        assert_eq!(tree.referrers[0].size, None);
        assert_eq!(tree.total_bytes, None);
    }

    #[test]
    fn a_blob_listed_twice_counts_once() {
        let mut f = fact(1, 0, ArtifactKind::CosignSignature, &[]);
        f.references = vec![(d(50), 7), (d(50), 7)];
        assert_eq!(f.size(), Some(107));
    }
}
