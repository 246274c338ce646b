//! An audit as people read it: the findings list (the TUI's audit view and `regatta audit`'s
//! table share its specs and cells), where floating tags point, and each repository's ages.

use super::columns::{Align::*, ColumnSpec, Width::*, col};
use super::text::digest_hex12;
use super::units::{UNKNOWN_AGE, age_days, size};
use crate::audit::report::{AliasGroup, RepoAudit, TagAge};
use crate::audit::{Finding, FindingKind};
use crate::sanitize::sanitize;

pub const FINDING_COLUMNS: &[ColumnSpec] = &[
    col("FINDING", Fixed(19), Left),
    col("REPOSITORY", Fill(2), Left),
    col("TAGS", Fixed(5), Right),
    col("FREES", Fixed(10), Right),
    col("DETAIL", Fill(4), Left),
];

/// How a finding's kind reads in a list (`stale builds`; the JSON and CSV keep `stale_builds`).
pub fn finding_kind(kind: FindingKind) -> String {
    kind.name().replace('_', " ")
}

/// A finding's cells: its repository and detail (which names tags) sanitized.
pub fn finding_row(finding: &Finding) -> Vec<String> {
    vec![
        finding_kind(finding.kind),
        sanitize(&finding.repository).into_owned(),
        finding.tags.len().to_string(),
        size(finding.bytes_freed),
        sanitize(&finding.detail).into_owned(),
    ]
}

/// Alias groups that hold a floating tag.
pub const FLOATING_COLUMNS: &[ColumnSpec] = &[
    col("REPOSITORY", Fill(2), Left),
    col("FLOATING", Fill(2), Left),
    col("SAME IMAGE AS", Fill(3), Left),
    col("DIGEST", Fixed(12), Left),
];

pub fn floating_row(group: &AliasGroup) -> Vec<String> {
    let others: Vec<&str> = group
        .tags
        .iter()
        .filter(|t| !group.floating.contains(t))
        .map(String::as_str)
        .collect();
    vec![
        sanitize(&group.repository).into_owned(),
        sanitize(&group.floating.join(" ")).into_owned(),
        sanitize(&others.join(" ")).into_owned(),
        digest_hex12(&group.digest),
    ]
}

/// Each repository's tag counts by age, its newest and oldest tag, and whether it is stale.
pub const AUDIT_REPO_COLUMNS: &[ColumnSpec] = &[
    col("REPOSITORY", Fill(2), Left),
    col("TAGS", Fixed(5), Right),
    col(">30D", Fixed(5), Right),
    col(">90D", Fixed(5), Right),
    col(">365D", Fixed(5), Right),
    col("NEWEST", Fill(1), Left),
    col("OLDEST", Fill(1), Left),
    col("", Fixed(5), Left),
];

/// `v1.2 (3d)`, with the age in the units of every other age; `-` without a dated tag.
fn tag_age(age: Option<&TagAge>) -> String {
    age.map_or_else(
        || UNKNOWN_AGE.to_string(),
        |a| format!("{} ({})", sanitize(&a.tag), age_days(a.age_days)),
    )
}

pub fn audit_repo_row(repo: &RepoAudit) -> Vec<String> {
    vec![
        sanitize(&repo.name).into_owned(),
        repo.tags.to_string(),
        repo.older_than.days_30.to_string(),
        repo.older_than.days_90.to_string(),
        repo.older_than.days_365.to_string(),
        tag_age(repo.newest.as_ref()),
        tag_age(repo.oldest.as_ref()),
        if repo.stale { "stale" } else { "" }.to_string(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_ages_use_the_shared_units() {
        let at = |days| TagAge {
            tag: "v1".into(),
            created: jiff::Timestamp::UNIX_EPOCH,
            age_days: days,
        };
        assert_eq!(tag_age(None), "-");
        assert_eq!(tag_age(Some(&at(3))), "v1 (3d)");
        assert_eq!(tag_age(Some(&at(45))), "v1 (1mo)");
        assert_eq!(tag_age(Some(&at(400))), "v1 (1y)");
    }

    #[test]
    fn floating_rows_name_the_other_tags_and_a_short_digest() {
        let group = AliasGroup {
            repository: "app".into(),
            digest: format!("sha256:{}", "ab".repeat(32)),
            tags: vec!["latest".into(), "v1".into(), "v1.0".into()],
            floating: vec!["latest".into()],
            bytes_freed: 0,
        };
        let row = floating_row(&group);
        assert_eq!(row, ["app", "latest", "v1 v1.0", "abababababab"]);
        assert_eq!(row.len(), FLOATING_COLUMNS.len());
    }
}
