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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::drift::drift;
    use crate::layers::repo_hints::TagHints;

    fn report() -> RepoHints {
        RepoHints {
            repository: "team/api".into(),
            tags: vec![TagHints {
                tag: "v1".into(),
                digest: "sha256:00".into(),
                file_bytes: 2048,
                wasted_bytes: 1024,
                efficiency: 0.5,
                duplicate_bytes: 0,
            }],
            wasted_bytes: 1024,
            duplicate_bytes: 0,
            failures: vec![("v2".into(), "HTTP 500 \x1b[31mred\x1b[0m".into())],
            not_images: vec![
                ("sha256-00.sig".into(), "cosign signature".into()),
                ("sha256-01.sig".into(), "cosign signature".into()),
                ("sbom".into(), "SBOM (SPDX)".into()),
            ],
            drift: drift(&[], &[]),
        }
    }

    #[test]
    fn the_report_reads_as_the_cli_prints_it() {
        let lines = repo_hints_lines(&report());
        assert!(lines[0].starts_with("TAG "), "{lines:?}");
        assert!(lines[1].starts_with("v1 "), "{lines:?}");
        let wasted = format!("Wasted in team/api (distinct images): {}", size_exact(1024));
        assert!(lines.contains(&wasted), "{lines:?}");
        assert!(lines.contains(
            &"Tags left out, not container images: 3 (SBOM (SPDX): 1, cosign signature: 2)".into()
        ));
        assert!(
            lines.iter().any(|l| l.starts_with("Base images:")),
            "drift last"
        );
    }

    #[test]
    fn failures_are_sanitized_and_only_listed_when_there_are_some() {
        let r = report();
        let failures = repo_failure_lines(&r);
        assert_eq!(failures.len(), 1);
        assert!(
            failures[0].starts_with("team/api:v2: HTTP 500 "),
            "{failures:?}"
        );
        assert!(!failures[0].contains('\x1b'), "{failures:?}");
        assert_eq!(not_read_lines(&r)[1], "Not read (1):");
        let read = RepoHints {
            failures: Vec::new(),
            ..report()
        };
        assert!(not_read_lines(&read).is_empty());
    }
}
