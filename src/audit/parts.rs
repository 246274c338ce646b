//! The report's parts that the per-repository findings and the suggested policy build and
//! read: a tag's audit row and age, alias groups, and findings. They live apart from
//! `report` so that `report`, `findings` and `suggest` import them without importing each
//! other.

use jiff::Timestamp;
use serde::Serialize;

use super::kinds::TagKind;

/// A tag with its created date.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TagAge {
    pub tag: String,
    pub created: Timestamp,
    pub age_days: i64,
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
    /// Referrers fallback indexes (`sha256-<hex>`) of an existing subject that list
    /// manifests the registry no longer has.
    StaleFallbackIndexes,
}

impl FindingKind {
    pub fn name(self) -> &'static str {
        match self {
            FindingKind::StaleRepository => "stale_repository",
            FindingKind::StaleBuilds => "stale_builds",
            FindingKind::OrphanedSignatures => "orphaned_signatures",
            FindingKind::FloatingDrift => "floating_drift",
            FindingKind::StaleFallbackIndexes => "stale_fallback_indexes",
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
