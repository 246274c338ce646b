//! `regatta du`: storage per repository and for the registry, and what a deletion would free.

use serde::Serialize;

use super::Context;
use super::output::{human_bytes, print_json, print_lines, table};
use crate::analysis::freed::{DeletionPlan, Goes, plan_deletion};
use crate::analysis::model::{ScanFailure, StorageModel};
use crate::analysis::storage::{RegistryStats, RepoStats, registry_stats, repo_stats};
use crate::cleanup::plan::{joined, repo_tag_names};
use crate::registry::{RepoName, Source, Tag};
use crate::scan::ScanOptions;
use crate::target;

#[derive(Serialize)]
struct DuReport {
    registry: RegistryStats,
    repositories: Vec<RepoStats>,
    /// False when some listing or manifest failed: the numbers leave those parts out.
    complete: bool,
    failures: Vec<ScanFailure>,
}

/// `du --free --json`: the deletion plan, and whether the scan behind it was complete.
#[derive(Serialize)]
struct FreeReport<'a> {
    #[serde(flatten)]
    plan: &'a DeletionPlan,
    complete: bool,
    failures: Vec<ScanFailure>,
}

pub async fn run(
    ctx: &Context,
    input: &str,
    repo_glob: Option<&str>,
    free: &[String],
    json: bool,
) -> anyhow::Result<()> {
    let Scanned {
        source,
        shown,
        model,
    } = scan_everything(ctx, input, repo_glob).await?;
    if !free.is_empty() {
        let selection = free
            .iter()
            .map(|r| parse_free_ref(r, &source.reference_prefix_root()))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let plan = plan_deletion(&model, &selection);
        warn_incomplete(&model);
        return if json {
            print_json(&FreeReport {
                plan: &plan,
                complete: model.is_complete(),
                failures: model.failure_list(),
            })
        } else {
            print_lines(plan_lines(&plan))
        };
    }
    let repos: Vec<RepoStats> = repo_stats(&model)
        .into_iter()
        .filter(|r| shown.as_ref().is_none_or(|g| g.is_match(&r.repository)))
        .collect();
    let total = registry_stats(&model, &repos);
    let report = DuReport {
        complete: model.is_complete(),
        failures: model.failure_list(),
        registry: total,
        repositories: repos,
    };
    // Also with --json: `complete` is there for scripts, the warning for whoever runs one.
    warn_incomplete(&model);
    if json {
        return print_json(&report);
    }
    let rows: Vec<Vec<String>> = report
        .repositories
        .iter()
        .map(|r| {
            vec![
                r.repository.clone(),
                r.tags.to_string(),
                human_bytes(r.logical_bytes),
                human_bytes(r.stored_bytes),
                human_bytes(r.unique_bytes),
                human_bytes(r.shared_bytes),
            ]
        })
        .collect();
    let mut lines = table(
        &[
            "REPOSITORY",
            "TAGS",
            "LOGICAL",
            "STORED",
            "UNIQUE",
            "SHARED",
        ],
        &rows,
    );
    let t = &report.registry;
    lines.push(String::new());
    lines.push(format!(
        "{} repositories, {} tags: logical {}, physical {}, dedup ratio {:.2}x",
        t.repositories,
        t.tags,
        human_bytes(t.logical_bytes),
        human_bytes(t.physical_bytes),
        t.dedup_ratio
    ));
    print_lines(lines)
}

fn target_concurrency(target: &target::Target) -> usize {
    match target {
        target::Target::Registry { options, .. } => options.concurrency,
        target::Target::Layout(_) => 8,
    }
}

trait PrefixRoot {
    fn reference_prefix_root(&self) -> String;
}

impl PrefixRoot for std::sync::Arc<dyn Source> {
    /// `host:port/` (what to strip from a full reference).
    fn reference_prefix_root(&self) -> String {
        format!("{}/", self.name())
    }
}

/// `REPO:TAG`, or a full reference whose registry part is this target's.
fn parse_free_ref(input: &str, prefix: &str) -> anyhow::Result<(RepoName, Tag)> {
    let rest = input.strip_prefix(prefix).unwrap_or(input);
    let (repo, tag) = rest
        .rsplit_once(':')
        .filter(|(r, _)| !r.is_empty())
        .ok_or_else(|| anyhow::anyhow!("--free {input:?}: expected REPOSITORY:TAG"))?;
    Ok((RepoName::parse(repo)?, Tag::parse(tag)?))
}

fn plan_lines(plan: &DeletionPlan) -> Vec<String> {
    let mut lines = Vec::new();
    for d in &plan.deletions {
        let what = if d.reason == Goes::IndexChild {
            format!(
                "  {}@{}  (platform manifest of a deleted index)",
                d.repository, d.digest
            )
        } else {
            let mut line = format!("  {}@{}  tags: {}", d.repository, d.digest, joined(&d.tags));
            if !d.widened.is_empty() {
                line.push_str(&format!(
                    "  (also goes, same digest: {})",
                    joined(&d.widened)
                ));
            }
            line
        };
        lines.push(what);
    }
    for u in repo_tag_names(&plan.unknown) {
        lines.push(format!("  {u}: not found"));
    }
    lines.insert(
        0,
        format!(
            "Deleting {} manifest(s), {} tag(s) would free {} ({} bytes) after garbage collection:",
            plan.deletions.len(),
            plan.tag_count(),
            human_bytes(plan.bytes_freed),
            plan.bytes_freed
        ),
    );
    lines.push(format!("Note: {}.", plan.note));
    lines
}

/// What `du` and `audit` start from: the source, the `--repo` filter and a scan of every
/// repository.
pub(crate) struct Scanned {
    pub source: std::sync::Arc<dyn Source>,
    pub shown: Option<globset::GlobMatcher>,
    pub model: StorageModel,
}

/// Scans every repository even with `--repo`: unique_bytes (a blob no *other* repository
/// references) and bytes_freed depend on all of them, so `--repo` only picks what is shown.
pub(crate) async fn scan_everything(
    ctx: &Context,
    input: &str,
    repo_glob: Option<&str>,
) -> anyhow::Result<Scanned> {
    let target = target::resolve(input, &ctx.config, &ctx.overrides)?;
    ctx.warn_for(&target);
    let source = target.open()?;
    let shown = repo_glob
        .map(|glob| {
            globset::Glob::new(glob)
                .map(|g| g.compile_matcher())
                .map_err(|e| anyhow::anyhow!("--repo {glob:?} is not a valid glob: {e}"))
        })
        .transpose()?;
    let options = ScanOptions {
        concurrency: target_concurrency(&target),
        repo_filter: None,
    };
    let model = scan_with_progress(source.as_ref(), &options).await?;
    Ok(Scanned {
        source,
        shown,
        model,
    })
}

fn warn_incomplete(model: &StorageModel) {
    if model.failures.is_empty() {
        return;
    }
    eprintln!(
        "regatta: warning: the scan is incomplete ({} failure(s)); the numbers leave those parts out:",
        model.failures.len()
    );
    for (_, what, error) in model.failures.iter().take(10) {
        eprintln!(
            "  {}: {}",
            crate::sanitize::sanitize(what),
            crate::sanitize::sanitize(error)
        );
    }
}

/// The scan's progress bar lives in `progress.rs`; `delete.rs` reaches it through here.
pub(crate) use super::progress::scan_with_progress;
