//! `regatta sync [NAME...]`: runs the config's `[sync.NAME]` mirrors. Each is a copy plan
//! (the source's selected tags to the destination, through `cp`'s planner and executor) and,
//! with `delete = true`, a deletion plan for what the destination has that the source no
//! longer selects (through `rm`'s plan, preview, confirmation, backups and journal). Dry run
//! unless `--apply`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use super::Context;
use super::copy::{plan_and_apply, registry_client};
use super::delete::{ApplyArgs, finish, scan_options};
use super::output::print_lines;
use super::progress::scan_with_progress;
use crate::analysis::attached::Attachments;
use crate::analysis::model::StorageModel;
use crate::analysis::sharing::repo_complete;
use crate::cleanup::policy::{TagFacts, selected};
use crate::cleanup::prune::{plan_prune, stale_tags};
use crate::copy::mirror::split_target;
use crate::copy::sync::SyncSpec;
use crate::copy::{Ends, ImageRequest};
use crate::present::copy::DRY_RUN_NOTE;
use crate::registry::{ManifestRef, RepoName, Source, Tag};
use crate::scan::{ScanOptions, Steering, scan_steered};
use crate::target::resolve;

#[derive(Debug, clap::Args)]
pub struct SyncArgs {
    /// The mirrors to run, by their `[sync.NAME]` in the config; every one when none is named.
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
    /// Copy, and with `delete = true` delete (without it, only the plans are printed).
    #[arg(long)]
    pub apply: bool,
    /// Do not ask before deleting (needed with --apply when not on a terminal).
    #[arg(long)]
    pub yes: bool,
    /// Run the destination's gc_command after deleting (asked on a terminal otherwise).
    #[arg(long)]
    pub gc: bool,
    /// Print JSON: per mirror, the copy's report, then with `delete = true` the deletion's.
    #[arg(long)]
    pub json: bool,
    /// Keep the signatures, SBOMs and attestations of what is deleted on the destination.
    #[arg(long)]
    pub keep_referrers: bool,
}

impl SyncArgs {
    /// The flags as `rm` takes them: the deletion goes through the same code.
    fn apply_args(&self) -> ApplyArgs {
        ApplyArgs {
            apply: self.apply,
            yes: self.yes,
            gc: self.gc,
            json: self.json,
            keep_referrers: self.keep_referrers,
            // The destination's `backup_blobs` in the config decides, as for `rm` without
            // the flag.
            backup_blobs: false,
        }
    }
}

/// Returns whether every step of every mirror succeeded.
pub async fn run(ctx: &Context, args: &SyncArgs) -> anyhow::Result<bool> {
    let known = || {
        ctx.config
            .sync
            .keys()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    };
    if ctx.config.sync.is_empty() {
        anyhow::bail!(
            "the config has no [sync.NAME] section; add one with source, destination and repositories (see the README's \"Mirroring with sync\")"
        );
    }
    let names: Vec<&String> = if args.names.is_empty() {
        ctx.config.sync.keys().collect()
    } else {
        for name in &args.names {
            if !ctx.config.sync.contains_key(name) {
                anyhow::bail!("no [sync.{name}] in the config (known: {})", known());
            }
        }
        args.names.iter().collect()
    };
    let mut all_ok = true;
    for name in names {
        let spec = &ctx.config.sync[name];
        all_ok &= run_one(ctx, name, spec, &args.apply_args())
            .await
            .map_err(|e| e.context(format!("sync {name}")))?;
    }
    Ok(all_ok)
}

/// What the source has of a mirror: the copies to make, and per destination repository the
/// tags it should have, for the repositories the source was seen completely in.
struct SourceView {
    requests: Vec<ImageRequest>,
    wanted: BTreeMap<RepoName, BTreeSet<Tag>>,
    /// Source repositories whose listing (or a tag of them) failed: nothing is deleted in
    /// their destination repositories.
    incomplete: BTreeSet<RepoName>,
}

async fn run_one(
    ctx: &Context,
    name: &str,
    spec: &SyncSpec,
    args: &ApplyArgs,
) -> anyhow::Result<bool> {
    // Checked when the config was loaded; this is the same check.
    let mirror = ctx
        .config
        .mirror(spec)
        .map_err(|e| anyhow::anyhow!("{}: {}", e.key, e.problem))?;
    let source = resolve(&spec.source, &ctx.config, &ctx.overrides)?;
    let (destination_text, _) = split_target(&spec.destination);
    let destination = resolve(destination_text, &ctx.config, &ctx.overrides)?;
    ctx.warn_for(&source);
    ctx.warn_for(&destination);
    let src_client = registry_client(&source, "source")?;
    let dst_client = registry_client(&destination, "destination")?;
    if !args.json {
        print_lines([format!(
            "sync {name}: {} -> {}",
            spec.source, spec.destination
        )])?;
    }

    let reading = source.open()?;
    let (repositories, _) = reading.repositories_checked(&|_| {}).await?;
    let repositories: Vec<RepoName> = repositories
        .into_iter()
        .filter(|r| mirror.selects(r))
        .collect();
    let model = scan_repositories(
        reading.as_ref(),
        repositories.clone(),
        scan_options(&source, None).concurrency,
    )
    .await?;
    let view = source_view(&model, &repositories, &mirror)?;
    let mut all_ok = true;
    for (repo, what, error) in &model.failures {
        all_ok = false;
        let repo = repo.as_ref().map_or(String::new(), |r| format!(" ({r})"));
        eprintln!(
            "regatta: sync {name}: reading the source failed{repo}: {}: {}",
            crate::sanitize::sanitize(what),
            crate::sanitize::sanitize(error)
        );
    }

    let ends = Ends {
        source: &src_client,
        destination: &dst_client,
    };
    let concurrency = dst_client.options().concurrency;
    let requests = if spec.referrers {
        crate::copy::referrers::with_referrers(&ends, view.requests, None, concurrency).await?
    } else {
        view.requests
    };
    let copied = plan_and_apply(
        &ends,
        &requests,
        None,
        concurrency,
        args.apply,
        args.json,
        DRY_RUN_NOTE,
    )
    .await?;
    all_ok &= copied;
    if !spec.delete {
        return Ok(all_ok);
    }
    if args.apply && !copied {
        eprintln!(
            "regatta: sync {name}: the copy did not complete; nothing was deleted on the destination"
        );
        return Ok(false);
    }

    // What the destination has beyond what the source selects, in the mirrored repositories.
    let writing = destination.open()?;
    let dst_model = scan_with_progress(writing.as_ref(), &scan_options(&destination, None)).await?;
    let mut stale: Vec<(RepoName, Tag)> = Vec::new();
    for repo in dst_model.repos.keys() {
        let Some(src_repo) = mirror.source_of(repo) else {
            continue;
        };
        if view.incomplete.contains(&src_repo) {
            eprintln!(
                "regatta: sync {name}: nothing is deleted in {repo}: the source's {src_repo} was not read completely"
            );
            continue;
        }
        // A repository the source no longer has: every tag of its mirror is stale.
        let wanted = view.wanted.get(repo).cloned().unwrap_or_default();
        stale.extend(
            stale_tags(&dst_model, repo, &wanted)
                .into_iter()
                .map(|tag| (repo.clone(), tag)),
        );
    }
    let plan = plan_prune(&dst_model, &stale, referrers_of(args));
    if !args.json {
        if plan.deletions.is_empty() && plan.unknown.is_empty() {
            print_lines([format!(
                "delete on {}: nothing (the destination has no tag the source does not select)",
                spec.destination
            )])?;
            return Ok(all_ok);
        }
        print_lines([format!(
            "delete on {}: the tags the source no longer has or selects",
            spec.destination
        )])?;
    }
    all_ok &= finish(ctx, &destination, plan, args, &dst_model).await?;
    Ok(all_ok)
}

fn referrers_of(args: &ApplyArgs) -> crate::cleanup::plan::Referrers {
    if args.keep_referrers {
        crate::cleanup::plan::Referrers::Keep
    } else {
        crate::cleanup::plan::Referrers::Follow
    }
}

/// The selected tags of every mirrored repository, as copies, and as what each destination
/// repository should hold.
fn source_view(
    model: &StorageModel,
    repositories: &[RepoName],
    mirror: &crate::copy::sync::Mirror,
) -> anyhow::Result<SourceView> {
    let now = jiff::Timestamp::now();
    let mut view = SourceView {
        requests: Vec::new(),
        wanted: BTreeMap::new(),
        incomplete: BTreeSet::new(),
    };
    for repo in repositories {
        let Some(destination) = mirror.destination(repo) else {
            anyhow::bail!(
                "{repo} would be {}/{repo} on the destination, which is no valid repository name",
                mirror.prefix
            );
        };
        let attachments = Attachments::of_repo(model, repo);
        let facts: Vec<TagFacts> = model
            .tag_digests(repo)
            .filter(|(tag, _)| !attachments.is_attached_tag(tag))
            .map(|(tag, digest)| TagFacts {
                tag: tag.clone(),
                digest: digest.clone(),
                created: model.created(digest),
            })
            .collect();
        let tags = selected(&mirror.tags, &facts, now);
        view.requests.extend(tags.iter().map(|tag| ImageRequest {
            source_repository: repo.clone(),
            source_reference: ManifestRef::Tag(tag.clone()),
            destination_repository: destination.clone(),
            destination_tag: Some(tag.clone()),
        }));
        let failed = model
            .failures
            .iter()
            .any(|(r, _, _)| r.as_ref().is_none_or(|r| r == repo));
        if failed || !repo_complete(model, repo) {
            view.incomplete.insert(repo.clone());
        } else {
            view.wanted.insert(destination, tags.into_iter().collect());
        }
    }
    Ok(view)
}

/// Scans exactly `repositories` of the source (their tags, digests and created dates).
async fn scan_repositories(
    source: &dyn Source,
    repositories: Vec<RepoName>,
    concurrency: usize,
) -> anyhow::Result<StorageModel> {
    let model = Mutex::new(StorageModel::default());
    let options = ScanOptions {
        concurrency,
        repo_filter: None,
    };
    let steering = Steering {
        repos: Some(repositories),
        priority: None,
    };
    scan_steered(source, &options, steering, &|event| {
        model
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .apply(event.clone());
    })
    .await?;
    Ok(model.into_inner().unwrap_or_else(|p| p.into_inner()))
}
