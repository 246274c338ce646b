//! `regatta hints REF`: why an image is big (wasted bytes as dive measures them, efficiency,
//! duplicates, largest files and directories, known waste), from its layer listings; with
//! `--repo`, for every tag of a repository and summed, with the base-image drift across its
//! tags (from the manifests and configs alone: drift reads no layer), computed by
//! [`crate::layers::repo_hints`] as the TUI's drift view computes it.

use std::io::IsTerminal;
use std::sync::atomic::Ordering;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use super::Context;
use super::files::{list_layers, open_image};
use super::output::{print_json, print_lines};
use crate::layers::drift::Candidate;
use crate::layers::hints::{Hints, hints};
use crate::layers::repo_hints::{RepoProgress, RepoRequest, repo_hints};
use crate::layers::select::{select_image, select_layers};
use crate::layers::{ListOptions, ListingCache};
use crate::present::layers::hints_lines;
use crate::present::repo_hints::{repo_failure_lines, repo_hints_lines};
use crate::registry::ManifestRef;
use crate::registry::image::fetch_image;
use crate::registry::reference::split_tag_and_digest;
use crate::target;

#[derive(Debug, Serialize)]
struct HintsReport {
    reference: String,
    digest: String,
    #[serde(flatten)]
    hints: Hints,
}

pub async fn run(
    ctx: &Context,
    input: &str,
    wanted_platform: Option<&str>,
    repo_wide: bool,
    bases: &[String],
    json: bool,
) -> anyhow::Result<()> {
    if repo_wide {
        return run_repo(ctx, input, wanted_platform, bases, json).await;
    }
    let open = open_image(ctx, input, wanted_platform).await?;
    let image = open.image();
    let layers = select_layers(image, None).map_err(anyhow::Error::msg)?;
    let listings = list_layers(&open.source, &layers, json).await?;
    let report = HintsReport {
        reference: open.full_reference.clone(),
        digest: image.digest.to_string(),
        hints: hints(&listings),
    };
    if json {
        return print_json(&report);
    }
    let mut lines = vec![
        format!("Reference:    {}", report.reference),
        format!("Digest:       {}", report.digest),
    ];
    lines.extend(hints_lines(&report.hints));
    print_lines(lines)
}

async fn run_repo(
    ctx: &Context,
    input: &str,
    wanted_platform: Option<&str>,
    bases: &[String],
    json: bool,
) -> anyhow::Result<()> {
    let candidates = candidates(ctx, bases, wanted_platform).await?;
    let (target, repo) = target::resolve_repo(input, &ctx.config, &ctx.overrides)?;
    ctx.warn_for(&target);
    let source = target.open()?;
    let layer_source = super::files::layer_source(&target, &repo)?;
    let tags = source.tags(&repo).await?;
    let options = ListOptions {
        cache: ListingCache::default_location(),
        ..ListOptions::default()
    };
    let progress = RepoProgress::default();
    let request = RepoRequest {
        source: source.as_ref(),
        layers: &layer_source,
        repo: &repo,
        tags: tags
            .into_iter()
            .map(|t| (t.clone(), ManifestRef::Tag(t)))
            .collect(),
        platform: wanted_platform,
        candidates: &candidates,
        options: &options,
    };
    let draw = super::progress::should_draw(std::io::stderr().is_terminal(), json);
    let report = with_progress_bar(draw, &options, &progress, repo_hints(request, &progress)).await;
    for line in repo_failure_lines(&report) {
        eprintln!("regatta: warning: {line}");
    }
    if json {
        return print_json(&report);
    }
    print_lines(repo_hints_lines(&report))
}

/// Runs `work` with one bar on stderr for a person watching: the bytes of the distinct
/// layers read (or found in the cache) of all of them, once the tags are resolved.
async fn with_progress_bar<T>(
    draw: bool,
    options: &ListOptions,
    progress: &RepoProgress,
    work: impl std::future::Future<Output = T>,
) -> T {
    let target = if draw {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(None, target);
    let style = ProgressStyle::with_template(
        "{spinner} layers [{bar:20}] {bytes}/{total_bytes} · {bytes_per_sec} · ETA {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    bar.set_style(style);
    tokio::pin!(work);
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let out = loop {
        tokio::select! {
            out = &mut work => break out,
            _ = tick.tick() => {
                let total = progress.total.load(Ordering::Relaxed);
                if total > 0 {
                    bar.set_length(total);
                }
                bar.set_position(progress.done(options));
            }
        }
    };
    bar.finish_and_clear();
    out
}

/// The images named by `--base`: a reference is that image; a repository (no tag or
/// digest) is every tag of it, a tag that cannot be read skipped with a warning.
async fn candidates(
    ctx: &Context,
    bases: &[String],
    wanted_platform: Option<&str>,
) -> anyhow::Result<Vec<Candidate>> {
    let mut out = Vec::new();
    for input in bases {
        let (_, tag, digest) = split_tag_and_digest(input)?;
        let (target, repo, reference) =
            target::resolve_reference(input, &ctx.config, &ctx.overrides)?;
        ctx.warn_for(&target);
        let source = target.open()?;
        let whole_repo = tag.is_none() && digest.is_none();
        let references = if whole_repo {
            let mut tags = source.tags(&repo).await?;
            tags.sort();
            tags.into_iter().map(ManifestRef::Tag).collect()
        } else {
            vec![reference]
        };
        for reference in references {
            let result = async {
                let tree = fetch_image(source.as_ref(), &repo, &reference).await?;
                let image = select_image(&tree, wanted_platform).map_err(anyhow::Error::msg)?;
                anyhow::Ok(
                    image
                        .manifest
                        .layers
                        .iter()
                        .map(|l| l.digest.clone())
                        .collect(),
                )
            }
            .await;
            let separator = match reference {
                ManifestRef::Tag(_) => ':',
                ManifestRef::Digest(_) => '@',
            };
            let name = format!("{repo}{separator}{reference}");
            match result {
                Ok(layers) => out.push(Candidate {
                    reference: name,
                    layers,
                }),
                Err(e) if whole_repo => eprintln!(
                    "regatta: warning: --base {}",
                    crate::sanitize::sanitize(&format!("{name}: {e:#}"))
                ),
                Err(e) => return Err(e.context(format!("--base {input}"))),
            }
        }
    }
    Ok(out)
}
