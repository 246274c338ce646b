//! `regatta cleanup TARGET --untagged [--older-than DUR] [--apply]`: deletes the manifests no
//! tag reaches, found in the registry's storage, through the API (DELETE by digest), with the
//! same preview, confirmation, backups and journal as every deletion. After `--gc`, the
//! storage is read again and the measured drop is set beside the prediction.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::atomic::AtomicBool;

use serde::Serialize;

use super::Context;
use super::output::{print_json, print_lines};
use crate::cleanup::execute::{Applier, ApplyReport, Outcome};
use crate::cleanup::journal::Journal;
use crate::cleanup::plan::Plan;
use crate::cleanup::policy::parse_duration;
use crate::cleanup::untagged::{plan_untagged, still_untagged};
use crate::present::columns::Digests;
use crate::present::plan::{applied_lines, apply_failure_lines, plan_lines, texts};
use crate::present::size;
use crate::registry::RepoName;
use crate::storage::snapshot::{ReadOptions, Snapshot, read_snapshot};
use crate::target::{self, Target};

#[derive(Debug, Clone, Default, clap::Args)]
pub struct UntaggedArgs {
    /// Delete the untagged manifests found in the registry's storage (needs --storage or the
    /// registry's `storage` in the config) instead of applying a tag policy.
    #[arg(long)]
    pub untagged: bool,
    /// With --untagged: only manifests pushed longer ago than this (30m, 24h, 7d).
    #[arg(long, value_name = "DUR", requires = "untagged")]
    pub older_than: Option<String>,
    /// With --untagged: the registry's storage (the filesystem driver's rootdirectory).
    #[arg(long = "storage", value_name = "PATH", requires = "untagged")]
    pub storage: Option<String>,
}

/// The prediction and, after `--gc`, the measurement.
#[derive(Debug, Clone, Serialize)]
pub struct GcComparison {
    pub command: String,
    pub success: bool,
    /// Bytes plain garbage collection was predicted to delete (the plan's bytes_freed plus
    /// what was unreferenced already).
    pub predicted_bytes: u64,
    /// The blob store's size before minus after, read from the storage.
    pub measured_bytes: u64,
}

#[derive(Serialize)]
struct Output<'a> {
    #[serde(flatten)]
    plan: &'a Plan,
    dry_run: bool,
    storage: String,
    /// What plain garbage collection deletes now, and once the plan is applied.
    gc_bytes_now: u64,
    gc_bytes_after: u64,
    /// Untagged manifests left out as pushed too recently.
    too_recent: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    applied: Option<&'a ApplyReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gc: Option<GcComparison>,
}

async fn read(location: &str) -> anyhow::Result<Snapshot> {
    let storage = crate::storage::open(location).await?;
    Ok(read_snapshot(storage.as_ref(), &ReadOptions::default()).await?)
}

/// Runs `cleanup --untagged`. Ok(false) when a step failed.
pub async fn run(
    ctx: &Context,
    input: &str,
    repo_glob: Option<&str>,
    untagged: &UntaggedArgs,
    policy: &crate::cli::delete::PolicyArgs,
    args: &crate::cli::delete::ApplyArgs,
) -> anyhow::Result<bool> {
    if policy.policy.is_some()
        || policy.keep_last.is_some()
        || policy.keep_within.is_some()
        || policy.match_re.is_some()
        || policy.exclude.is_some()
        || !policy.protect.is_empty()
        || policy.delete_undated
    {
        anyhow::bail!(
            "--untagged deletes untagged manifests only; it does not combine with tag policy flags"
        );
    }
    let target = target::resolve(input, &ctx.config, &ctx.overrides)?;
    if matches!(target, Target::Layout(_)) {
        anyhow::bail!("--untagged needs a registry and its storage, not an OCI layout");
    }
    // Its bytes freed are read from storage, not predicted blob by blob from a scan, so
    // there is no freed set to download.
    if args.backup_blobs {
        anyhow::bail!(
            "--backup-blobs does not combine with --untagged: its backups keep the manifests only"
        );
    }
    if ctx.config.backup_blobs(&target.name()) && args.apply && !args.json {
        eprintln!(
            "regatta: warning: backup_blobs is on, but cleanup --untagged keeps the manifests only in its backups"
        );
    }
    ctx.warn_for(&target);
    let location = untagged
        .storage
        .clone()
        .or_else(|| {
            ctx.config
                .find_registry(input)
                .and_then(|(_, r)| r.storage.clone())
        })
        .ok_or_else(|| {
            anyhow::anyhow!(
                "--untagged reads the registry's storage to find untagged manifests: give --storage PATH or set `storage` in the registry's config entry"
            )
        })?;
    let cutoff = match &untagged.older_than {
        None => None,
        Some(text) => {
            let age = parse_duration(text).ok_or_else(|| {
                anyhow::anyhow!("--older-than {text:?}: expected a duration such as 30m, 24h or 7d")
            })?;
            Some(
                jiff::Timestamp::now()
                    .checked_sub(jiff::SignedDuration::try_from(age)?)
                    .map_err(|e| anyhow::anyhow!("--older-than {text:?}: {e}"))?,
            )
        }
    };
    let shown = repo_glob
        .map(|glob| {
            globset::Glob::new(glob)
                .map(|g| g.compile_matcher())
                .map_err(|e| anyhow::anyhow!("--repo {glob:?} is not a valid glob: {e}"))
        })
        .transpose()?;
    let shown = |repo: &RepoName| shown.as_ref().is_none_or(|g| g.is_match(repo.as_str()));

    let snapshot = read(&location).await?;
    let planned = plan_untagged(&snapshot, cutoff, &shown);
    let mut output = Output {
        plan: &planned.plan,
        dry_run: !args.apply,
        storage: location.clone(),
        gc_bytes_now: planned.gc_bytes_now,
        gc_bytes_after: planned.gc_bytes_after,
        too_recent: planned.too_recent,
        applied: None,
        gc: None,
    };
    let gc_line = format!(
        "Garbage collection afterwards deletes {} ({} of it unreferenced already).",
        size(planned.gc_bytes_after),
        size(planned.gc_bytes_now)
    );
    if !args.apply || planned.plan.deletions.is_empty() {
        if args.json {
            print_json(&output)?;
        } else {
            print_lines(texts(&plan_lines(&planned.plan, Digests::Full)))?;
            print_lines([gc_line])?;
            print_lines([if planned.plan.deletions.is_empty() {
                "Nothing to delete."
            } else {
                "Dry run: nothing was deleted. Add --apply to delete."
            }])?;
        }
        return Ok(true);
    }

    // Read again right before deleting: a manifest tagged meanwhile is left alone.
    let mut plan = planned.plan.clone();
    still_untagged(&mut plan, &read(&location).await?);
    output.plan = &plan;
    if !args.json {
        print_lines(texts(&plan_lines(&plan, Digests::Full)))?;
        print_lines([gc_line])?;
    }
    if !args.yes {
        confirm(&plan)?;
    }
    let client = target.client()?;
    let journal = Journal::default_location().ok_or_else(|| {
        anyhow::anyhow!("no data directory for backups and the audit log; refusing to delete")
    })?;
    let applier = Applier {
        client: &client,
        registry: target.name(),
        journal: &journal,
    };
    let cancel = AtomicBool::new(false);
    let report = applier.apply(&plan, &cancel, &|_| {}).await;
    for line in texts(&apply_failure_lines(&report, Digests::Full)) {
        eprintln!("regatta: {}", crate::sanitize::sanitize(&line));
    }
    let gc = if args.gc && report.steps.iter().any(|s| s.outcome == Outcome::Done) {
        run_gc(ctx, input, &location, planned.gc_bytes_after).await?
    } else {
        None
    };
    if args.json {
        output.applied = Some(&report);
        output.gc = gc;
        print_json(&output)?;
    } else {
        print_lines(texts(&applied_lines(&report, Digests::Full)))?;
        print_lines([format!("Audit log: {}", journal.audit_path().display())])?;
        if let Some(gc) = &gc {
            print_lines([format!(
                "garbage collection: predicted {} ({} bytes), measured {} ({} bytes)",
                size(gc.predicted_bytes),
                gc.predicted_bytes,
                size(gc.measured_bytes),
                gc.measured_bytes
            )])?;
        }
    }
    Ok(report.all_done())
}

/// Runs the registry's `gc_command` and measures the blob store before and after.
async fn run_gc(
    ctx: &Context,
    input: &str,
    location: &str,
    predicted: u64,
) -> anyhow::Result<Option<GcComparison>> {
    let Some(command) = ctx
        .config
        .find_registry(input)
        .and_then(|(_, r)| r.gc_command.clone())
    else {
        eprintln!(
            "regatta: space is freed only when the registry runs garbage collection (set gc_command to run it from here)"
        );
        return Ok(None);
    };
    let before = physical(&read(location).await?);
    let run = crate::cleanup::gc::run(&command).await?;
    for line in run.output.lines() {
        eprintln!("gc: {}", crate::sanitize::sanitize(line));
    }
    let after = physical(&read(location).await?);
    if !run.success {
        anyhow::bail!("gc_command failed with {}", run.status);
    }
    Ok(Some(GcComparison {
        command,
        success: run.success,
        predicted_bytes: predicted,
        measured_bytes: before.saturating_sub(after),
    }))
}

fn physical(snapshot: &Snapshot) -> u64 {
    snapshot.blobs.values().fold(0, |a, b| a.saturating_add(*b))
}

fn confirm(plan: &Plan) -> anyhow::Result<()> {
    if !std::io::stdin().is_terminal() {
        anyhow::bail!(
            "refusing to delete without confirmation: not on a terminal; add --yes to confirm"
        );
    }
    let expected = plan.confirmation_word();
    eprint!(
        "Delete {} untagged manifest(s), freeing {} after garbage collection? Type {:?} to confirm: ",
        plan.deletions.len()
            + plan
                .deletions
                .iter()
                .map(|d| d.children.len())
                .sum::<usize>(),
        size(plan.bytes_freed),
        expected
    );
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if !plan.confirmed_by(&answer) {
        anyhow::bail!("not confirmed; nothing was deleted");
    }
    Ok(())
}
