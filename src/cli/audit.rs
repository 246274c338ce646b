//! `regatta audit`: what a registry's tags look like, what could go and what it would free,
//! and a cleanup policy that fits. Tables for people, `--format csv` for spreadsheets,
//! `--json` (schema `regatta.audit/v1`, documented in the README) for CI.

use super::Context;
use super::du::{Scanned, scan_everything};
use super::output::{print_json, print_lines};
use crate::audit::report::AuditReport;
use crate::audit::suggest::shell_quote;
use crate::audit::{AuditSettings, build_report, subjects_to_check, untagged_subjects};
use crate::present::audit::{
    AUDIT_REPO_COLUMNS, FINDING_COLUMNS, FLOATING_COLUMNS, audit_repo_row, finding_row,
    floating_row,
};
use crate::present::columns::table;
use crate::present::failures::{LISTED, failure_lines, incomplete};
use crate::present::units::{count, count_irregular, size};
use crate::sanitize::sanitize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
}

pub async fn run(
    ctx: &Context,
    input: &str,
    repo_glob: Option<&str>,
    format: Format,
) -> anyhow::Result<()> {
    let settings = AuditSettings::from_config(&ctx.config.audit)
        .map_err(|e| anyhow::anyhow!("[audit] {e}"))?
        .avoiding(ctx.config.policies.keys());
    let Scanned {
        source,
        shown,
        model,
    } = scan_everything(ctx, input, repo_glob).await?;
    // Only the repositories shown need their signatures' subjects looked up.
    let candidates: Vec<_> = subjects_to_check(&model, &settings.patterns)
        .into_iter()
        .filter(|(repo, _)| shown.as_ref().is_none_or(|g| g.is_match(repo.as_str())))
        .collect();
    let present = untagged_subjects(source.as_ref(), &candidates).await;
    let report = build_report(
        &model,
        &settings,
        jiff::Timestamp::now(),
        shown.as_ref(),
        &present,
    );
    if !report.complete {
        eprintln!(
            "regatta: warning: {}:",
            incomplete(report.failures.len(), "the audit leaves those parts out")
        );
        for line in failure_lines(&report.failures, LISTED) {
            eprintln!("  {line}");
        }
    }
    match format {
        Format::Json => print_json(&report),
        Format::Csv => print_lines(csv_lines(&report, input)),
        Format::Table => print_lines(table_lines(&report, input)),
    }
}

/// One row per finding, then the suggested policy's dry run as a last row (its detail: the
/// `regatta cleanup` command that previews it).
pub fn csv_lines(report: &AuditReport, target: &str) -> Vec<String> {
    let mut lines = vec!["kind,repository,tags,bytes_freed,detail,tag_names".to_string()];
    for f in &report.findings {
        lines.push(
            [
                f.kind.name().to_string(),
                f.repository.clone(),
                f.tags.len().to_string(),
                f.bytes_freed.to_string(),
                f.detail.clone(),
                f.tags.join(" "),
            ]
            .iter()
            .map(|c| csv_cell(c))
            .collect::<Vec<_>>()
            .join(","),
        );
    }
    let policy = &report.suggested_policy;
    lines.push(
        [
            "suggested_policy".to_string(),
            policy
                .spec
                .repositories
                .first()
                .cloned()
                .unwrap_or_else(|| "*".into()),
            policy.dry_run.tags_deleted.to_string(),
            policy.dry_run.bytes_freed.to_string(),
            cleanup_command(report, target),
            String::new(),
        ]
        .iter()
        .map(|c| csv_cell(c))
        .collect::<Vec<_>>()
        .join(","),
    );
    lines
}

/// RFC 4180 quoting, on sanitized text.
fn csv_cell(text: &str) -> String {
    let text = sanitize(text);
    if text.contains([',', '"', '\n', '\r']) || text.starts_with(' ') {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.into_owned()
    }
}

fn table_lines(report: &AuditReport, target: &str) -> Vec<String> {
    let s = &report.summary;
    let mut lines = vec![format!(
        "{}, {}{}",
        count_irregular(s.repositories, "repository", "repositories"),
        count(s.tags, "tag"),
        if report.complete {
            ""
        } else {
            " (scan incomplete)"
        }
    )];
    let kinds: Vec<String> = s
        .kinds
        .iter()
        .map(|(k, n)| format!("{} {n}", k.name()))
        .collect();
    lines.push(format!("kinds:  {}", kinds.join("  ")));
    let ages: Vec<String> = s
        .ages
        .iter()
        .map(|b| format!("{} {}", b.label, b.tags))
        .collect();
    lines.push(format!("ages:   {}", ages.join("  ")));
    lines.push(format!(
        "older than 30 days: {}, 90 days: {}, 365 days: {}; stale repositories (no tag newer than {} days): {}",
        s.older_than.days_30,
        s.older_than.days_90,
        s.older_than.days_365,
        report.settings.stale_days,
        s.stale_repositories
    ));

    lines.push(String::new());
    if report.findings.is_empty() {
        lines.push("No findings.".into());
    } else {
        lines.push("Findings, largest first (FREES: what deleting the tags would free):".into());
        let rows: Vec<Vec<String>> = report.findings.iter().map(finding_row).collect();
        lines.extend(table(FINDING_COLUMNS, &rows));
    }

    let floating: Vec<Vec<String>> = report
        .alias_groups
        .iter()
        .filter(|g| !g.floating.is_empty())
        .map(floating_row)
        .collect();
    if !floating.is_empty() {
        lines.push(String::new());
        lines.push(format!(
            "Where floating tags point ({} in all):",
            count(report.alias_groups.len(), "alias group")
        ));
        lines.extend(table(FLOATING_COLUMNS, &floating));
    }

    lines.push(String::new());
    let rows: Vec<Vec<String>> = report.repositories.iter().map(audit_repo_row).collect();
    lines.extend(table(AUDIT_REPO_COLUMNS, &rows));

    let policy = &report.suggested_policy;
    lines.push(String::new());
    match &policy.dry_run.error {
        Some(e) => lines.push(format!("Suggested policy (cannot be dry-run: {e}):")),
        None => lines.push(format!(
            "Suggested policy: its dry run deletes {} ({}), untags {}, frees {} once garbage-collected:",
            count(policy.dry_run.tags_deleted, "tag"),
            count(policy.dry_run.manifests_deleted, "manifest"),
            policy.dry_run.tags_untagged,
            size(policy.dry_run.bytes_freed)
        )),
    }
    lines.extend(policy.toml.lines().map(|l| format!("  {l}")));
    lines.push(format!(
        "Preview it tag by tag: {}",
        cleanup_command(report, target)
    ));
    lines
}

/// The `regatta cleanup` command that previews the suggested policy.
fn cleanup_command(report: &AuditReport, target: &str) -> String {
    format!(
        "regatta cleanup {} {}",
        shell_quote(target),
        report.suggested_policy.cleanup_flags
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_sanitized() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert!(!csv_cell("x\u{1b}[2Jy").contains('\u{1b}'));
    }
}
