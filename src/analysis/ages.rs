//! How old the tags of a repository are, in a few buckets, for a histogram.

use jiff::Timestamp;

use super::model::StorageModel;
use crate::registry::RepoName;

/// Bucket labels, youngest first; the last holds tags without a known created date.
pub const AGE_BUCKETS: [&str; 6] = ["<7d", "<30d", "<90d", "<1y", "older", "unknown"];

/// Upper bounds of the dated buckets, in days.
const BOUNDS_DAYS: [i64; 4] = [7, 30, 90, 365];

/// The bucket of an age, `None` (unknown) without a date. A date in the future (clock skew)
/// counts as new.
pub fn age_bucket(created: Option<Timestamp>, now: Timestamp) -> usize {
    let Some(created) = created else {
        return AGE_BUCKETS.len() - 1;
    };
    let days = (now.as_second() - created.as_second()).max(0) / 86_400;
    BOUNDS_DAYS
        .iter()
        .position(|&bound| days < bound)
        .unwrap_or(BOUNDS_DAYS.len())
}

/// Tags of `repo` per age bucket (every listed tag counts once; aliases count again, as
/// each is a tag a policy decides about).
pub fn age_histogram(model: &StorageModel, repo: &RepoName, now: Timestamp) -> [usize; 6] {
    let mut counts = [0; 6];
    let Some(entry) = model.repos.get(repo) else {
        return counts;
    };
    for digest in entry.tags.values() {
        let created = digest.as_ref().and_then(|d| model.created(d));
        counts[age_bucket(created, now)] += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_by_days() {
        let now: Timestamp = "2025-06-01T00:00:00Z".parse().unwrap();
        let at = |s: &str| Some(s.parse::<Timestamp>().unwrap());
        assert_eq!(age_bucket(at("2025-05-30T00:00:00Z"), now), 0);
        assert_eq!(age_bucket(at("2025-05-25T00:00:00Z"), now), 1, "7 days");
        assert_eq!(age_bucket(at("2025-04-01T00:00:00Z"), now), 2);
        assert_eq!(age_bucket(at("2024-12-01T00:00:00Z"), now), 3);
        assert_eq!(age_bucket(at("2023-01-01T00:00:00Z"), now), 4);
        assert_eq!(age_bucket(None, now), 5);
        assert_eq!(age_bucket(at("2026-01-01T00:00:00Z"), now), 0, "future");
    }
}
