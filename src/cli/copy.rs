//! `regatta cp SRC DST`: copy an image, or every tag of a repository, to another registry or
//! repository. Dry run by default (the plan); `--apply` copies.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::Context;
use super::output::{print_json, print_lines};
use crate::copy::{
    BlobAsking, CopyOutcome, CopyPlan, CopyProgress, Ends, ImageRequest, PlatformFilter, apply,
    plan_copy_with,
};
use crate::present::copy::{DRY_RUN_NOTE, outcome_lines, plan_lines};
use crate::registry::reference::split_tag_and_digest;
use crate::registry::{Client, ManifestRef, RepoName, Tag};
use crate::target::{Target, resolve_repo};

#[derive(Debug, clap::Args)]
pub struct CopyArgs {
    /// TARGET/REPOSITORY:TAG or @DIGEST; with --all-tags, TARGET/REPOSITORY; every tag of
    /// every repository: TARGET alone, or TARGET/PATTERN (`reg-a/team/*`).
    pub source: String,
    /// TARGET/REPOSITORY[:TAG] (the tag defaults to the source's); for many repositories,
    /// TARGET[/PREFIX] (`reg-b/mirror/team/`: `team/api` becomes `mirror/team/api`).
    pub destination: String,
    /// Copy every tag of the source repository.
    #[arg(long)]
    pub all_tags: bool,
    /// Copy only this platform (OS/ARCH[/VARIANT]) out of a multi-platform index; the copy
    /// then has the platform manifest's digest, not the index's.
    #[arg(long, value_name = "PLATFORM", conflicts_with = "all_platforms")]
    pub platform: Option<String>,
    /// Copy indexes whole with every platform (the default; digests are kept).
    #[arg(long)]
    pub all_platforms: bool,
    /// Also copy what is attached to the copied images: referrer-scheme tags
    /// (`sha256-<hex>.sig`, `.att`, `.sbom`) and manifests whose subject they are.
    #[arg(long)]
    pub referrers: bool,
    /// Copy. Without it, only show the plan.
    #[arg(long)]
    pub apply: bool,
    /// Print JSON: the plan, and with --apply the outcome.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct Report<'a> {
    plan: &'a CopyPlan,
    applied: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome: Option<&'a CopyOutcome>,
}

/// Returns whether every step succeeded.
pub async fn run(ctx: &Context, args: &CopyArgs) -> anyhow::Result<bool> {
    let platform = args
        .platform
        .as_deref()
        .map(PlatformFilter::parse)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    if let Some((source, pattern)) = super::copy_many::many_source(ctx, &args.source)? {
        ctx.warn_for(&source);
        let src_client = registry_client(&source, "SRC")?;
        let (destination, requests) = super::copy_many::many_requests(
            ctx,
            &src_client,
            pattern.as_deref(),
            &args.destination,
        )
        .await?;
        ctx.warn_for(&destination);
        let dst_client = registry_client(&destination, "DST")?;
        let ends = Ends {
            source: &src_client,
            destination: &dst_client,
        };
        let concurrency = dst_client.options().concurrency;
        let requests = expand(&ends, requests, args, platform.as_ref(), concurrency).await?;
        return plan_and_apply(
            &ends,
            &requests,
            platform.as_ref(),
            concurrency,
            args.apply,
            args.json,
            DRY_RUN_NOTE,
        )
        .await;
    }
    let (source, src_repo, src_ref) = source_of(ctx, &args.source, args.all_tags)?;
    let (destination, dst_repo, dst_tag) = destination_of(ctx, &args.destination)?;
    if args.all_tags && dst_tag.is_some() {
        anyhow::bail!(
            "DST {:?} names a tag; with --all-tags every tag keeps its name: name only TARGET/REPOSITORY",
            args.destination
        );
    }
    ctx.warn_for(&source);
    ctx.warn_for(&destination);
    let src_client = registry_client(&source, "SRC")?;
    let dst_client = registry_client(&destination, "DST")?;
    let requests = match src_ref {
        Some(reference) => {
            let destination_tag = dst_tag.or_else(|| match &reference {
                ManifestRef::Tag(t) => Some(t.clone()),
                ManifestRef::Digest(_) => None,
            });
            vec![ImageRequest {
                source_repository: src_repo.clone(),
                source_reference: reference,
                destination_repository: dst_repo.clone(),
                destination_tag,
            }]
        }
        None => {
            let mut tags = src_client.tags(&src_repo).await?;
            tags.sort();
            if tags.is_empty() {
                anyhow::bail!("{src_repo} on {} has no tags to copy", source.name());
            }
            tags.into_iter()
                .map(|tag| ImageRequest {
                    source_repository: src_repo.clone(),
                    source_reference: ManifestRef::Tag(tag.clone()),
                    destination_repository: dst_repo.clone(),
                    destination_tag: Some(tag),
                })
                .collect()
        }
    };
    let ends = Ends {
        source: &src_client,
        destination: &dst_client,
    };
    let concurrency = dst_client.options().concurrency;
    let requests = expand(&ends, requests, args, platform.as_ref(), concurrency).await?;
    plan_and_apply(
        &ends,
        &requests,
        platform.as_ref(),
        concurrency,
        args.apply,
        args.json,
        DRY_RUN_NOTE,
    )
    .await
}

/// `requests` with the attachments of their images when `--referrers` asks for them.
async fn expand(
    ends: &Ends<'_>,
    requests: Vec<ImageRequest>,
    args: &CopyArgs,
    platform: Option<&PlatformFilter>,
    concurrency: usize,
) -> anyhow::Result<Vec<ImageRequest>> {
    if !args.referrers {
        return Ok(requests);
    }
    Ok(crate::copy::referrers::with_referrers(ends, requests, platform, concurrency).await?)
}

/// Plans the copy of `requests`, prints the plan (a dry run ends there) or applies it and
/// prints the outcome. Returns whether every step succeeded. Shared by `cp`, `export` and
/// `import`.
pub(super) async fn plan_and_apply(
    ends: &Ends<'_>,
    requests: &[ImageRequest],
    platform: Option<&PlatformFilter>,
    concurrency: usize,
    apply_it: bool,
    json: bool,
    dry_run_note: &str,
) -> anyhow::Result<bool> {
    // A dry run asks for each blob with HEAD and writes nothing; a copy being applied asks
    // for them with requests that open the uploads of the missing ones (while the source's
    // manifests are still read), before the plan is printed: it says what will move either
    // way.
    let asking = if apply_it {
        BlobAsking::WhilePlanning
    } else {
        BlobAsking::Head
    };
    let plan = plan_copy_with(ends, requests, platform, concurrency, asking).await?;
    if !apply_it {
        if json {
            print_json(&Report {
                plan: &plan,
                applied: false,
                outcome: None,
            })?;
        } else {
            let mut lines = plan_lines(&plan);
            lines.push(dry_run_note.to_string());
            print_lines(lines)?;
        }
        return Ok(true);
    }
    if !json {
        print_lines(plan_lines(&plan))?;
    }
    let progress = Arc::new(CopyProgress::default());
    let bar = Bar::start(!json && std::io::stderr().is_terminal(), &plan);
    let outcome = {
        let ticker = bar.tick(&progress);
        let outcome = apply(&plan, ends, concurrency, &progress).await;
        // Abort stops the task at its next await; a tick already drawing on another thread
        // finishes first, so wait for it before the bars are cleared and the result printed.
        ticker.abort();
        let _ = ticker.await;
        outcome
    };
    bar.finish();
    if json {
        print_json(&Report {
            plan: &plan,
            applied: true,
            outcome: Some(&outcome),
        })?;
    } else {
        print_lines(outcome_lines(&outcome))?;
    }
    Ok(outcome.is_complete())
}

/// SRC: a reference, or a repository with `--all-tags` (then `None`).
fn source_of(
    ctx: &Context,
    input: &str,
    all_tags: bool,
) -> anyhow::Result<(Target, RepoName, Option<ManifestRef>)> {
    let (name, tag, digest) = split_tag_and_digest(input)?;
    let (target, repo) = resolve_repo(name, &ctx.config, &ctx.overrides)?;
    registry_client(&target, "SRC")?;
    let reference = match (digest, tag) {
        (Some(d), _) => Some(ManifestRef::Digest(d)),
        (None, Some(t)) => Some(ManifestRef::Tag(t)),
        (None, None) => None,
    };
    match (&reference, all_tags) {
        (Some(_), true) => anyhow::bail!(
            "SRC {input:?} names one image; --all-tags copies a repository: name only TARGET/REPOSITORY"
        ),
        (None, false) => anyhow::bail!(
            "SRC {input:?} names a repository: add :TAG or @DIGEST, or pass --all-tags to copy every tag"
        ),
        _ => {}
    }
    Ok((target, repo, reference))
}

/// DST: a repository with an optional tag; never a digest (it is the source's).
fn destination_of(ctx: &Context, input: &str) -> anyhow::Result<(Target, RepoName, Option<Tag>)> {
    let (name, tag, digest) = split_tag_and_digest(input)?;
    if digest.is_some() {
        anyhow::bail!(
            "DST {input:?} names a digest; a copy keeps the source's digest: name TARGET/REPOSITORY[:TAG]"
        );
    }
    let (target, repo) = resolve_repo(name, &ctx.config, &ctx.overrides)?;
    Ok((target, repo, tag))
}

pub(super) fn registry_client(target: &Target, side: &str) -> anyhow::Result<Client> {
    match target {
        Target::Registry { .. } => Ok(target.client()?),
        Target::Layout(path) => anyhow::bail!(
            "{side} {} is an OCI layout directory; `regatta cp` copies between registries (`regatta export` and `regatta import` write and read layouts)",
            path.display()
        ),
    }
}

/// The copy's bars on stderr, for a person at a terminal: the total (bytes, rate, time left)
/// and one bar per blob being streamed, read from [`CopyProgress::snapshot`] as the TUI's
/// progress pane reads it.
struct Bar {
    bars: indicatif::MultiProgress,
    total: indicatif::ProgressBar,
}

/// At most this many per-blob bars (the concurrency may be higher; the rest are counted).
const BLOB_BARS: usize = 8;

impl Bar {
    fn start(draw: bool, plan: &CopyPlan) -> Self {
        let target = if draw {
            indicatif::ProgressDrawTarget::stderr()
        } else {
            indicatif::ProgressDrawTarget::hidden()
        };
        let bars = indicatif::MultiProgress::with_draw_target(target);
        let total = bars.add(indicatif::ProgressBar::new(plan.totals.bytes_to_move));
        let style = indicatif::ProgressStyle::with_template(
            "{spinner} copying [{bar:20}] {bytes}/{total_bytes} · {binary_bytes_per_sec} · ETA {eta} {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> ");
        total.set_style(style);
        Self { bars, total }
    }

    /// Moves the bars from the progress counters until the returned task is aborted.
    fn tick(&self, progress: &Arc<CopyProgress>) -> tokio::task::JoinHandle<()> {
        let bars = self.bars.clone();
        let total = self.total.clone();
        let progress = progress.clone();
        tokio::spawn(async move {
            let style =
                indicatif::ProgressStyle::with_template("  {msg} [{bar:20}] {bytes}/{total_bytes}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                    .progress_chars("=> ");
            let mut blob_bars: Vec<(crate::registry::Digest, indicatif::ProgressBar)> = Vec::new();
            loop {
                let snapshot = progress.snapshot();
                total.set_position(snapshot.bytes_moved);
                let shown: Vec<_> = snapshot.active.iter().take(BLOB_BARS).collect();
                blob_bars.retain(|(digest, bar)| {
                    let keep = shown.iter().any(|b| &b.digest == digest);
                    if !keep {
                        bar.finish_and_clear();
                        bars.remove(bar);
                    }
                    keep
                });
                for blob in &shown {
                    let bar = match blob_bars.iter().find(|(d, _)| d == &blob.digest) {
                        Some((_, bar)) => bar.clone(),
                        None => {
                            let bar = bars.add(indicatif::ProgressBar::new(blob.size));
                            bar.set_style(style.clone());
                            bar.set_message(crate::present::copy::blob_label(&blob.digest));
                            blob_bars.push((blob.digest.clone(), bar.clone()));
                            bar
                        }
                    };
                    bar.set_position(blob.moved);
                }
                let more = snapshot.active.len().saturating_sub(BLOB_BARS);
                total.set_message(if more > 0 {
                    format!("(+{more} more blobs)")
                } else {
                    String::new()
                });
                tokio::time::sleep(Duration::from_millis(120)).await;
            }
        })
    }

    fn finish(self) {
        let _ = self.bars.clear();
        self.total.finish_and_clear();
    }
}
