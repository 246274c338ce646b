//! `regatta files REF`: the files in an image's layers, read from the registry without
//! pulling (each layer streamed once, then cached by digest).

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use super::Context;
use super::output::{print_json, print_lines};
use crate::analysis::artifact::not_a_container_image;
use crate::layers::select::{select_image, select_layers};
use crate::layers::{Entry, LayerSource, ListOptions, Listing, ListingCache};
use crate::present::layers::{entry_line, layer_heading, not_a_file_system};
use crate::present::text::platform;
use crate::registry::image::{ImageTree, PlatformImage, fetch_image};
use crate::registry::{Descriptor, RepoName};
use crate::target::{self, Target};

#[derive(Debug, Serialize)]
struct FilesReport {
    reference: String,
    /// The platform image's manifest digest.
    digest: String,
    platform: String,
    layers: Vec<LayerFiles>,
}

#[derive(Debug, Serialize)]
struct LayerFiles {
    /// From 1, bottom layer first.
    position: usize,
    digest: String,
    media_type: String,
    compression: crate::layers::Compression,
    compressed_bytes: u64,
    tar_bytes: u64,
    entries: Vec<Entry>,
}

/// The layers of one image, opened for reading: the reference resolved, the image chosen.
pub(crate) struct OpenImage {
    pub full_reference: String,
    pub tree: ImageTree,
    pub image_index: usize,
    pub source: LayerSource,
}

impl OpenImage {
    pub fn image(&self) -> &PlatformImage {
        &self.tree.images[self.image_index]
    }
}

/// Resolves `input` and picks the platform image (`--platform`).
pub(crate) async fn open_image(
    ctx: &Context,
    input: &str,
    wanted_platform: Option<&str>,
) -> anyhow::Result<OpenImage> {
    let (target, repo, reference) = target::resolve_reference(input, &ctx.config, &ctx.overrides)?;
    ctx.warn_for(&target);
    let source = target.open()?;
    let tree = fetch_image(source.as_ref(), &repo, &reference).await?;
    let chosen = select_image(&tree, wanted_platform).map_err(anyhow::Error::msg)?;
    if let Some(kind) = not_a_container_image(chosen) {
        anyhow::bail!(not_a_file_system(
            &source.full_reference(&repo, &reference),
            &kind
        ));
    }
    let image_index = tree
        .images
        .iter()
        .position(|i| std::ptr::eq(i, chosen))
        .unwrap_or(0);
    Ok(OpenImage {
        full_reference: source.full_reference(&repo, &reference),
        tree,
        image_index,
        source: layer_source(&target, &repo)?,
    })
}

pub(crate) fn layer_source(target: &Target, repo: &RepoName) -> anyhow::Result<LayerSource> {
    Ok(match target {
        Target::Registry { .. } => LayerSource::Registry {
            client: target.client()?,
            repo: repo.clone(),
        },
        Target::Layout(path) => LayerSource::Layout {
            dir: crate::layout::LayoutSource::open(path)?.layout_dir(repo)?,
        },
    })
}

/// Lists each of `layers` in order, with a progress bar on stderr for a person watching.
pub(crate) async fn list_layers(
    source: &LayerSource,
    layers: &[(usize, &Descriptor)],
    json: bool,
) -> anyhow::Result<Vec<Listing>> {
    let options = ListOptions {
        cache: ListingCache::default_location(),
        ..ListOptions::default()
    };
    let draw = super::progress::should_draw(std::io::stderr().is_terminal(), json);
    let mut listings = Vec::with_capacity(layers.len());
    for (position, layer) in layers {
        let bar = progress_bar(draw, *position, layer.size);
        let ticker = spawn_ticker(bar.clone(), options.progress.clone());
        let result = source.list(layer, &options).await;
        // A tick already running finishes before the abort lands: wait for it, so the bar
        // is not drawn again once cleared.
        ticker.abort();
        let _ = ticker.await;
        bar.finish_and_clear();
        options.progress.store(0, Ordering::Relaxed);
        listings.push(result?.0);
    }
    Ok(listings)
}

fn progress_bar(draw: bool, position: usize, size: u64) -> ProgressBar {
    let target = if draw {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(size), target);
    let style = ProgressStyle::with_template(&format!(
        "{{spinner}} layer {position} [{{bar:20}}] {{bytes}}/{{total_bytes}} · {{bytes_per_sec}} · ETA {{eta}}"
    ))
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    bar.set_style(style);
    bar
}

fn spawn_ticker(bar: ProgressBar, read: Arc<AtomicU64>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        loop {
            tick.tick().await;
            bar.set_position(read.load(Ordering::Relaxed));
        }
    })
}

/// `files --merged`: one path of the merged filesystem.
#[derive(Debug, Serialize)]
struct MergedJson<'a> {
    /// The layer (from 1) that last wrote the path.
    layer: usize,
    #[serde(flatten)]
    entry: &'a Entry,
}

#[derive(Debug, Serialize)]
struct MergedReport<'a> {
    reference: String,
    digest: String,
    platform: String,
    /// The layers' digests, bottom first (`layer` above counts from 1 in this list).
    layers: Vec<String>,
    entries: Vec<MergedJson<'a>>,
}

pub async fn run(
    ctx: &Context,
    input: &str,
    wanted_platform: Option<&str>,
    wanted_layer: Option<&str>,
    merged: bool,
    json: bool,
) -> anyhow::Result<()> {
    let open = open_image(ctx, input, wanted_platform).await?;
    let image = open.image();
    if merged {
        if wanted_layer.is_some() {
            anyhow::bail!("--merged shows all layers stacked; it does not go with --layer");
        }
        let layers = select_layers(image, None).map_err(anyhow::Error::msg)?;
        let listings = list_layers(&open.source, &layers, json).await?;
        let fs = crate::layers::merge::merge(&listings);
        if json {
            return print_json(&MergedReport {
                reference: open.full_reference.clone(),
                digest: image.digest.to_string(),
                platform: platform(image.platform.as_ref()),
                layers: listings.iter().map(|l| l.layer.to_string()).collect(),
                entries: fs
                    .entries
                    .values()
                    .map(|m| MergedJson {
                        layer: m.layer + 1,
                        entry: &m.entry,
                    })
                    .collect(),
            });
        }
        return print_lines(
            fs.entries
                .values()
                .map(|m| crate::present::layers::merged_line(m.layer + 1, &m.entry)),
        );
    }
    let layers = select_layers(image, wanted_layer).map_err(anyhow::Error::msg)?;
    let listings = list_layers(&open.source, &layers, json).await?;
    let count = image.manifest.layers.len();
    if json {
        let report = FilesReport {
            reference: open.full_reference.clone(),
            digest: image.digest.to_string(),
            platform: platform(image.platform.as_ref()),
            layers: layers
                .iter()
                .zip(listings)
                .map(|((position, layer), listing)| LayerFiles {
                    position: *position,
                    digest: layer.digest.to_string(),
                    media_type: layer.media_type.clone(),
                    compression: listing.compression,
                    compressed_bytes: listing.compressed_bytes,
                    tar_bytes: listing.tar_bytes,
                    entries: listing.entries,
                })
                .collect(),
        };
        return print_json(&report);
    }
    let mut lines = Vec::new();
    for ((position, _), listing) in layers.iter().zip(&listings) {
        if !lines.is_empty() {
            lines.push(String::new());
        }
        lines.push(layer_heading(*position, count, listing));
        lines.extend(listing.entries.iter().map(entry_line));
    }
    print_lines(lines)
}
