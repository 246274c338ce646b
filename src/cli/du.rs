//! `regatta du`: storage per repository and for the registry, and what a deletion would free.

use serde::Serialize;

use super::Context;
use super::output::{print_json, print_lines};
use crate::analysis::freed::{DeletionPlan, plan_deletion};
use crate::analysis::model::{ScanFailure, StorageModel};
use crate::analysis::storage::{RegistryStats, RepoStats, registry_stats, repo_stats};
use crate::cleanup::plan::{Mode, plan_rm};
use crate::present::columns::{
    Align, ColumnSpec, DU_COLUMNS, Digests, Field, RepoLine, RepoSizes, Width, repo_row, table,
};
use crate::present::failures::{LISTED, failure_lines, incomplete};
use crate::present::plan::{plan_lines, texts};
use crate::present::units::{count, count_irregular, size};
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
    /// Read from the registry's own storage (`--storage`, or `storage` in the config).
    #[serde(skip_serializing_if = "Option::is_none")]
    storage: Option<crate::storage::account::StorageReport>,
    /// Without the storage: what the numbers above cannot see, in a sentence.
    #[serde(skip_serializing_if = "Option::is_none")]
    storage_unseen: Option<&'static str>,
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
    storage: &super::storage_du::StorageArgs,
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
        warn_incomplete(&model);
        return if json {
            print_json(&FreeReport {
                plan: &plan_deletion(&model, &selection),
                complete: model.is_complete(),
                failures: model.failure_list(),
            })
        } else {
            // What `rm` would do, as `rm` prints it (the same prediction, grouped by step).
            let plan = plan_rm(&model, &selection, Mode::Delete);
            print_lines(texts(&plan_lines(&plan, Digests::Full)))
        };
    }
    let repos: Vec<RepoStats> = repo_stats(&model)
        .into_iter()
        .filter(|r| shown.as_ref().is_none_or(|g| g.is_match(&r.repository)))
        .collect();
    let total = registry_stats(&model, &repos);
    let resolved = target::resolve(input, &ctx.config, &ctx.overrides)?;
    let storage_report = match super::storage_du::location(storage, &ctx.config, input, &resolved) {
        Some(location) => {
            let mut report = super::storage_du::read(storage, &location).await?;
            if let Some(glob) = &shown {
                super::storage_du::keep_repositories(&mut report, |r| glob.is_match(r));
            }
            Some(report)
        }
        None => None,
    };
    let storage_unseen = (storage_report.is_none()
        && matches!(resolved, target::Target::Registry { .. }))
    .then_some(crate::present::storage_layout::UNSEEN);
    let report = DuReport {
        complete: model.is_complete(),
        failures: model.failure_list(),
        registry: total,
        repositories: repos,
        storage: storage_report,
        storage_unseen,
    };
    // Also with --json: `complete` is there for scripts, the warning for whoever runs one.
    warn_incomplete(&model);
    if json {
        return print_json(&report);
    }
    let mut lines = table(&DU_SPLIT_COLUMNS, &du_rows(&report.repositories));
    lines.push(String::new());
    lines.push(totals_line(&report.registry));
    lines.extend(artifacts_line(&report.registry));
    if let Some(storage) = &report.storage {
        lines.push(String::new());
        lines.extend(crate::present::storage_layout::storage_lines(
            storage,
            jiff::Timestamp::now(),
        ));
    } else if let Some(unseen) = report.storage_unseen {
        lines.push(unseen.to_string());
    }
    print_lines(lines)
}

/// `du`'s columns, and the image/artifact split at the end (its cells are left empty, and
/// the columns hidden, when no repository holds attached artifacts).
const DU_SPLIT_COLUMNS: [ColumnSpec; 8] = [
    DU_COLUMNS[0],
    DU_COLUMNS[1],
    DU_COLUMNS[2],
    DU_COLUMNS[3],
    DU_COLUMNS[4],
    DU_COLUMNS[5],
    ColumnSpec {
        title: "IMAGES",
        width: Width::Fixed(10),
        align: Align::Right,
    },
    ColumnSpec {
        title: "ARTIFACTS",
        width: Width::Fixed(10),
        align: Align::Right,
    },
];

/// `of which 12 MiB attached artifacts (signatures, attestations, SBOMs)`, when any.
fn artifacts_line(t: &RegistryStats) -> Option<String> {
    (t.artifact_bytes > 0).then(|| {
        format!(
            "of physical, {} attached artifacts (signatures, attestations, SBOMs and their referrers)",
            size(t.artifact_bytes)
        )
    })
}

/// The repository list's cells (as the TUI shows them) and the shared bytes.
fn du_rows(repos: &[RepoStats]) -> Vec<Vec<String>> {
    let split = repos.iter().any(|r| r.artifact_bytes > 0);
    repos
        .iter()
        .map(|r| {
            let mut row = repo_row(&RepoLine {
                name: &r.repository,
                tags: Field::Known(r.tags),
                sizes: Some(RepoSizes {
                    logical: Field::Known(r.logical_bytes),
                    stored: Field::Known(r.stored_bytes),
                    unique: Field::Known(r.unique_bytes),
                }),
            });
            row.push(size(r.shared_bytes));
            if split {
                row.push(size(r.image_bytes));
                row.push(size(r.artifact_bytes));
            }
            row
        })
        .collect()
}

/// `3 repositories, 7 tags: logical 1.2 GiB, physical 800 MiB, dedup ratio 1.50x`.
fn totals_line(t: &RegistryStats) -> String {
    format!(
        "{}, {}: logical {}, physical {}, dedup ratio {:.2}x",
        count_irregular(t.repositories, "repository", "repositories"),
        count(t.tags, "tag"),
        size(t.logical_bytes),
        size(t.physical_bytes),
        t.dedup_ratio
    )
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
        "regatta: warning: {}:",
        incomplete(model.failures.len(), "the numbers leave those parts out")
    );
    for line in failure_lines(&model.failure_list(), LISTED) {
        eprintln!("  {line}");
    }
}

/// The scan's progress bar lives in `progress.rs`; `delete.rs` reaches it through here.
pub(crate) use super::progress::scan_with_progress;
