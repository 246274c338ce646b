//! The repository's size hints for people (`regatta hints --repo`, `w` on the TUI's drift
//! view): one row per tag, the sums over distinct images, the tags left out, then the drift
//! section; and the tags that could not be read, one a line (the CLI prints them as
//! warnings, the TUI below the report).

use std::collections::BTreeMap;

use super::drift::drift_lines;
use super::layers::percent;
use super::{size, size_exact};
use crate::layers::repo_hints::RepoHints;
use crate::sanitize::sanitize;

/// The report, as `regatta hints --repo` prints it on stdout.
pub fn repo_hints_lines(report: &RepoHints) -> Vec<String> {
    let mut lines = vec![format!(
        "{:<24} {:>10} {:>10} {:>10} {:>10}",
        "TAG", "FILES", "WASTED", "EFFICIENCY", "DUPLICATES"
    )];
    for r in &report.tags {
        lines.push(format!(
            "{:<24} {:>10} {:>10} {:>10} {:>10}",
            r.tag,
            size(r.file_bytes),
            size(r.wasted_bytes),
            percent(r.efficiency),
            size(r.duplicate_bytes)
        ));
    }
    lines.push(String::new());
    lines.push(format!(
        "Wasted in {} (distinct images): {}",
        report.repository,
        size_exact(report.wasted_bytes)
    ));
    lines.push(format!(
        "Duplicates in {}: {}",
        report.repository,
        size_exact(report.duplicate_bytes)
    ));
    if !report.not_images.is_empty() {
        lines.push(format!(
            "Tags left out, not container images: {} ({})",
            report.not_images.len(),
            not_images_summary(&report.not_images)
        ));
    }
    lines.push(String::new());
    lines.extend(drift_lines(&report.drift));
    lines
}

/// `repo:tag: why` for each tag that could not be read, sanitized (the reason can carry a
/// registry's text).
pub fn repo_failure_lines(report: &RepoHints) -> Vec<String> {
    report
        .failures
        .iter()
        .map(|(tag, why)| sanitize(&format!("{}:{tag}: {why}", report.repository)).into_owned())
        .collect()
}

/// The tags that could not be read as a section below the report (the TUI's; the CLI
/// prints [`repo_failure_lines`] as warnings): empty when every tag was read.
pub fn not_read_lines(report: &RepoHints) -> Vec<String> {
    let failures = repo_failure_lines(report);
    if failures.is_empty() {
        return Vec::new();
    }
    let mut lines = vec![String::new(), format!("Not read ({}):", failures.len())];
    lines.extend(failures.into_iter().map(|l| format!("  {l}")));
    lines
}

/// `cosign signature: 3, SBOM (SPDX): 1`: how many tags of each kind.
fn not_images_summary(not_images: &[(String, String)]) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, kind) in not_images {
        *counts.entry(kind.as_str()).or_default() += 1;
    }
    counts
        .iter()
        .map(|(kind, n)| format!("{kind}: {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}
