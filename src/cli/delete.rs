//! `regatta rm` and `regatta cleanup`: a plan first (dry run is the default), applied only
//! with `--apply`, after a confirmation that names what goes (or `--yes`).

use std::io::{BufRead, IsTerminal, Write};
use std::sync::atomic::AtomicBool;

use serde::Serialize;

use super::Context;
use super::du::scan_with_progress;
use super::output::{print_json, print_lines};
use crate::analysis::model::{ScanFailure, StorageModel};
use crate::cleanup::complete::IncompleteScan;
use crate::cleanup::execute::{Applier, ApplyEvent, ApplyReport, Outcome};
use crate::cleanup::journal::Journal;
use crate::cleanup::orphans::{confirm_gone, plan_orphans};
use crate::cleanup::plan::{
    Mode, Plan, Referrers, plan_cleanup_with, plan_rm_with, repo_tag_names,
};
use crate::cleanup::policy::{Order, Policy, PolicySpec, UnknownDate};
use crate::present::columns::Digests;
use crate::present::plan::{
    applied_lines, apply_failure_lines, decision_lines, plan_lines as present_plan_lines, texts,
};
use crate::present::size as human_bytes;
use crate::registry::{RepoName, Tag};
use crate::scan::ScanOptions;
use crate::target::{self, Target};

/// Flags shared by `rm` and `cleanup`.
#[derive(Debug, Clone, clap::Args)]
pub struct ApplyArgs {
    /// Really delete (without it, only the plan is printed).
    #[arg(long)]
    pub apply: bool,
    /// Do not ask for confirmation (needed with --apply when not on a terminal).
    #[arg(long)]
    pub yes: bool,
    /// Run the registry's gc_command after applying (asked on a terminal otherwise).
    #[arg(long)]
    pub gc: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Keep the signatures, SBOMs and attestations of what is deleted (by default they go
    /// with it, with their referrers fallback index).
    #[arg(long)]
    pub keep_referrers: bool,
    /// Keep the blobs (configs, layers) the deletion frees in its backup, so `regatta
    /// restore` works after garbage collection (as `backup_blobs = true` in the config).
    #[arg(long)]
    pub backup_blobs: bool,
}

impl ApplyArgs {
    fn referrers(&self) -> Referrers {
        if self.keep_referrers {
            Referrers::Keep
        } else {
            Referrers::Follow
        }
    }
}

/// Ad-hoc policy flags of `cleanup`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct PolicyArgs {
    /// A policy from the config's [policies.NAME].
    #[arg(long, value_name = "NAME", conflicts_with_all = ["keep_last", "keep_within", "match_re", "exclude", "protect"])]
    pub policy: Option<String>,
    /// Keep the newest N tags per repository.
    #[arg(long, value_name = "N")]
    pub keep_last: Option<usize>,
    /// Keep tags created within this duration (30d, 12h, 2w).
    #[arg(long, value_name = "DUR")]
    pub keep_within: Option<String>,
    /// Only tags matching this regex may be deleted.
    #[arg(long = "match", value_name = "RE")]
    pub match_re: Option<String>,
    /// Tags matching this regex are never deleted.
    #[arg(long, value_name = "RE")]
    pub exclude: Option<String>,
    /// Tag patterns always kept (repeatable): latest, 'v*'.
    #[arg(long, value_name = "PAT")]
    pub protect: Vec<String>,
    /// Order for --keep-last: date (created) or semver.
    #[arg(long, value_name = "ORDER", default_value = "date", value_parser = ["date", "semver"])]
    pub sort: String,
    /// Delete tags whose created date is unknown (default: keep them).
    #[arg(long)]
    pub delete_undated: bool,
    /// Instead of a policy: delete referrers (signatures, SBOMs, attestations) whose subject
    /// is gone, and rewrite referrers indexes that list manifests the registry no longer has.
    #[arg(long, conflicts_with_all = ["policy", "keep_last", "keep_within", "match_re", "exclude", "protect", "delete_undated"])]
    pub orphaned_referrers: bool,
}

#[derive(Serialize)]
struct Output<'a> {
    #[serde(flatten)]
    plan: &'a Plan,
    dry_run: bool,
    /// False when some listing or manifest failed (as `du` and `audit` report it); a plan
    /// touching a repository the scan did not see completely is not applied.
    complete: bool,
    failures: Vec<ScanFailure>,
    /// Why `--apply` applied nothing: the scan missed part of a repository the plan touches.
    #[serde(skip_serializing_if = "Option::is_none")]
    refused: Option<&'a IncompleteScan>,
    #[serde(skip_serializing_if = "Option::is_none")]
    applied: Option<&'a ApplyReport>,
}

impl<'a> Output<'a> {
    fn new(plan: &'a Plan, model: &StorageModel, dry_run: bool) -> Self {
        Self {
            plan,
            dry_run,
            complete: model.is_complete(),
            failures: model.failure_list(),
            refused: None,
            applied: None,
        }
    }
}

pub async fn rm(
    ctx: &Context,
    refs: &[String],
    untag: bool,
    args: &ApplyArgs,
) -> anyhow::Result<bool> {
    let mut target: Option<Target> = None;
    let mut selection: Vec<(RepoName, Tag)> = Vec::new();
    for r in refs {
        let (t, repo, reference) = target::resolve_reference(r, &ctx.config, &ctx.overrides)?;
        let crate::registry::ManifestRef::Tag(tag) = reference else {
            anyhow::bail!(
                "{r}: name a tag (REPOSITORY:TAG); deleting by digest alone would hide which tags go"
            );
        };
        if let Some(existing) = &target
            && existing.location() != t.location()
        {
            anyhow::bail!(
                "all references must be on one registry ({} and {})",
                existing.name(),
                t.name()
            );
        }
        target = Some(t);
        selection.push((repo, tag));
    }
    let Some(target) = target else {
        anyhow::bail!("name at least one REGISTRY/REPOSITORY:TAG");
    };
    ctx.warn_for(&target);
    let source = target.open()?;
    // bytes_freed depends on every repository: scan them all.
    let model = scan_with_progress(source.as_ref(), &scan_options(&target, None)).await?;
    let plan = plan_rm_with(
        &model,
        &selection,
        if untag { Mode::Untag } else { Mode::Delete },
        args.referrers(),
    );
    if !plan.unknown.is_empty() && plan.deletions.is_empty() {
        anyhow::bail!("not found: {}", repo_tag_names(&plan.unknown).join(", "));
    }
    finish(ctx, &target, plan, args, &model).await
}

pub async fn cleanup(
    ctx: &Context,
    input: &str,
    policy_args: &PolicyArgs,
    repo_glob: Option<&str>,
    args: &ApplyArgs,
) -> anyhow::Result<bool> {
    let target = target::resolve(input, &ctx.config, &ctx.overrides)?;
    ctx.warn_for(&target);
    if policy_args.orphaned_referrers {
        return orphaned_referrers(ctx, &target, repo_glob, args).await;
    }
    let (name, mut spec) = match &policy_args.policy {
        Some(name) => {
            let spec = ctx.config.policies.get(name).cloned().ok_or_else(|| {
                anyhow::anyhow!(
                    "no policy {name:?} in the config (known: {})",
                    ctx.config
                        .policies
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?;
            (name.clone(), spec)
        }
        None => (
            "command line".to_string(),
            PolicySpec {
                repositories: Vec::new(),
                keep_last: policy_args.keep_last,
                keep_within: policy_args.keep_within.clone(),
                match_re: policy_args.match_re.clone(),
                exclude: policy_args.exclude.clone(),
                protect: policy_args.protect.clone(),
                sort: if policy_args.sort == "semver" {
                    Order::Semver
                } else {
                    Order::Date
                },
                unknown_date: if policy_args.delete_undated {
                    UnknownDate::Delete
                } else {
                    UnknownDate::Keep
                },
            },
        ),
    };
    if let Some(glob) = repo_glob {
        spec.repositories = vec![glob.to_string()];
    }
    let policy = Policy::compile(spec).map_err(|e| anyhow::anyhow!("policy {name}: {e}"))?;
    let source = target.open()?;
    let model = scan_with_progress(source.as_ref(), &scan_options(&target, None)).await?;
    let plan = plan_cleanup_with(
        &model,
        &[(name, policy)],
        jiff::Timestamp::now(),
        args.referrers(),
    );
    finish(ctx, &target, plan, args, &model).await
}

/// `cleanup --orphaned-referrers`: every subject referrers name that the scan did not see is
/// asked about (a HEAD by digest) before its referrers count as orphans.
async fn orphaned_referrers(
    ctx: &Context,
    target: &Target,
    repo_glob: Option<&str>,
    args: &ApplyArgs,
) -> anyhow::Result<bool> {
    let glob = repo_glob
        .map(|g| {
            globset::Glob::new(g)
                .map(|g| g.compile_matcher())
                .map_err(|e| anyhow::anyhow!("--repo {g:?} is not a valid pattern: {e}"))
        })
        .transpose()?;
    let wanted = |r: &RepoName| glob.as_ref().is_none_or(|g| g.is_match(r.as_str()));
    let source = target.open()?;
    let model = scan_with_progress(source.as_ref(), &scan_options(target, None)).await?;
    let gone = confirm_gone(source.as_ref(), &model, &wanted).await?;
    let plan = plan_orphans(&model, &gone, &wanted);
    finish(ctx, target, plan, args, &model).await
}

pub(super) fn scan_options(
    target: &Target,
    repo_filter: Option<globset::GlobMatcher>,
) -> ScanOptions {
    ScanOptions {
        concurrency: match target {
            Target::Registry { options, .. } => options.concurrency,
            Target::Layout(_) => 8,
        },
        repo_filter,
    }
}

/// Prints the plan; with --apply, confirms, applies and reports. Ok(false) when a step failed.
pub(super) async fn finish(
    ctx: &Context,
    target: &Target,
    plan: Plan,
    args: &ApplyArgs,
    model: &StorageModel,
) -> anyhow::Result<bool> {
    let plan = if args.backup_blobs || ctx.config.backup_blobs(&target.name()) {
        plan.keeping_blobs(model)
    } else {
        plan
    };
    if !model.failures.is_empty() {
        eprintln!(
            "regatta: warning: the scan had {} failure(s); those parts are left out of the plan",
            model.failures.len()
        );
    }
    if args.apply
        && let Err(refusal) = plan.check_complete(model)
    {
        if args.json {
            print_json(&Output {
                refused: Some(&refusal),
                ..Output::new(&plan, model, true)
            })?;
        } else {
            print_lines(plan_lines(&plan))?;
        }
        return Err(refusal.into());
    }
    if !args.apply {
        if args.json {
            print_json(&Output::new(&plan, model, true))?;
        } else {
            print_lines(plan_lines(&plan))?;
            print_lines(["Dry run: nothing was deleted. Add --apply to delete."])?;
        }
        return Ok(true);
    }
    if plan.deletions.is_empty() {
        if args.json {
            print_json(&Output::new(&plan, model, false))?;
        } else {
            print_lines(["Nothing to delete."])?;
        }
        return Ok(true);
    }
    if !args.json {
        print_lines(plan_lines(&plan))?;
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
    let show = std::io::stderr().is_terminal() && !args.json;
    let report = applier
        .apply(&plan, &cancel, &|event| {
            if let (true, ApplyEvent::Started { index, total, what }) = (show, &event) {
                eprintln!(
                    "[{}/{}] {}",
                    index + 1,
                    total,
                    crate::sanitize::sanitize(what)
                );
            }
        })
        .await;
    if args.json {
        print_json(&Output {
            applied: Some(&report),
            ..Output::new(&plan, model, false)
        })?;
    } else {
        print_lines(report_lines(&report))?;
        print_lines([format!("Audit log: {}", journal.audit_path().display())])?;
    }
    // What went wrong goes to stderr as well, where scripts and `2>` look for it.
    for line in failure_lines(&report) {
        eprintln!("regatta: {}", crate::sanitize::sanitize(&line));
    }
    if report.steps.iter().any(|s| s.outcome == Outcome::Done) {
        offer_gc(ctx, target, args, model).await?;
    }
    Ok(report.all_done())
}

fn confirm(plan: &Plan) -> anyhow::Result<()> {
    if !std::io::stdin().is_terminal() {
        anyhow::bail!(
            "refusing to delete without confirmation: not on a terminal; add --yes to confirm"
        );
    }
    let tags = plan.tag_count();
    // The same rule as the TUI's dialog: `yes`, or the repository's name for many tags.
    let expected = plan.confirmation_word();
    eprint!(
        "Delete {} manifest(s) and {} tag(s), freeing {} after garbage collection? Type {:?} to confirm: ",
        plan.deletions.len(),
        tags,
        human_bytes(plan.bytes_freed),
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

async fn offer_gc(
    ctx: &Context,
    target: &Target,
    args: &ApplyArgs,
    model: &StorageModel,
) -> anyhow::Result<()> {
    let Some((_, registry)) = ctx.config.find_registry(&target.name()) else {
        return Ok(());
    };
    let Some(command) = &registry.gc_command else {
        if !args.json {
            eprintln!(
                "regatta: space is freed only when the registry runs garbage collection (set gc_command to run it from here)"
            );
        }
        return Ok(());
    };
    let run = args.gc
        || (std::io::stdin().is_terminal() && !args.json && {
            eprint!("Run the garbage collection now ({command})? [y/N] ");
            std::io::stderr().flush()?;
            let mut answer = String::new();
            std::io::stdin().lock().read_line(&mut answer)?;
            answer.trim().eq_ignore_ascii_case("y")
        });
    if !run {
        return Ok(());
    }
    let run = crate::cleanup::gc::run(command).await?;
    for line in run.output.lines() {
        eprintln!("gc: {}", crate::sanitize::sanitize(line));
    }
    if !run.success {
        anyhow::bail!("gc_command failed with {}", run.status);
    }
    // The measured change, where the collector lists what it removed.
    let summary = crate::cleanup::gc::summarize(&run.output, &model.blob_sizes());
    if let Some(line) = summary.sentence(&human_bytes(summary.known_bytes)) {
        eprintln!("regatta: {line}");
    }
    Ok(())
}

/// A cleanup's decisions per repository, then the plan's steps and total.
pub fn plan_lines(plan: &Plan) -> Vec<String> {
    let mut lines = texts(&decision_lines(plan));
    if !lines.is_empty() {
        lines.push(String::new());
    }
    lines.extend(texts(&present_plan_lines(plan, Digests::Full)));
    lines
}

/// One line per step that did not fail (failures are in [`failure_lines`]).
fn report_lines(report: &ApplyReport) -> Vec<String> {
    texts(&applied_lines(report, Digests::Full))
}

/// The failed steps, and why the run stopped early if it did.
fn failure_lines(report: &ApplyReport) -> Vec<String> {
    texts(&apply_failure_lines(report, Digests::Full))
}
