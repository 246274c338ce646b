//! `regatta hints REF`: why an image is big (wasted bytes as dive measures them, efficiency,
//! duplicates, largest files and directories, known waste), from its layer listings; with
//! `--repo`, for every tag of a repository and summed, with the base-image drift across its
//! tags (from the manifests and configs alone: drift reads no layer).

use std::collections::BTreeMap;

use serde::Serialize;

use super::Context;
use super::files::{list_layers, open_image};
use super::output::{print_json, print_lines};
use crate::analysis::artifact::not_a_container_image;
use crate::layers::drift::{Candidate, Drift, TagChain, drift};
use crate::layers::hints::{Hints, hints};
use crate::layers::select::{select_image, select_layers};
use crate::present::drift::drift_lines;
use crate::present::layers::{hints_lines, percent};
use crate::present::{size, size_exact};
use crate::registry::image::fetch_image;
use crate::registry::reference::split_tag_and_digest;
use crate::registry::{ManifestRef, RepoName};
use crate::target;

#[derive(Debug, Serialize)]
struct HintsReport {
    reference: String,
    digest: String,
    #[serde(flatten)]
    hints: Hints,
}

#[derive(Debug, Serialize)]
struct RepoHints {
    repository: String,
    /// Per tag, sorted by tag.
    tags: Vec<TagHints>,
    /// Sums over the distinct images (a digest tagged twice counts once).
    wasted_bytes: u64,
    duplicate_bytes: u64,
    /// Tags that could not be read, with the reason.
    failures: Vec<(String, String)>,
    /// Tags of artifacts (signatures, attestations, SBOMs, referrer indexes), with what they
    /// are: left out of the hints and of drift.
    not_images: Vec<(String, String)>,
    /// Which base each tag sits on, and which tags are on an old one.
    drift: Drift,
}

#[derive(Debug, Serialize)]
struct TagHints {
    tag: String,
    digest: String,
    file_bytes: u64,
    wasted_bytes: u64,
    efficiency: f64,
    duplicate_bytes: u64,
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
    let mut tags = source.tags(&repo).await?;
    tags.sort();
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    let mut distinct: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut chains = Vec::new();
    let mut not_images = Vec::new();
    for tag in tags {
        let result = async {
            let tree = fetch_image(source.as_ref(), &repo, &ManifestRef::Tag(tag.clone())).await?;
            let image = select_image(&tree, wanted_platform).map_err(anyhow::Error::msg)?;
            if let Some(kind) = not_a_container_image(image) {
                return anyhow::Ok(Err(kind));
            }
            // Drift needs only the manifest and config, so a tag whose layers cannot be
            // listed still shows its base.
            chains.push(TagChain::of(tag.as_str(), image));
            let layers = select_layers(image, None).map_err(anyhow::Error::msg)?;
            let listings = list_layers(&layer_source, &layers, json).await?;
            anyhow::Ok(Ok((image.digest.to_string(), hints(&listings))))
        }
        .await;
        match result {
            Ok(Err(kind)) => not_images.push((tag.to_string(), kind)),
            Ok(Ok((digest, h))) => {
                distinct.insert(digest.clone(), (h.wasted_bytes, h.duplicate_bytes));
                rows.push(TagHints {
                    tag: tag.to_string(),
                    digest,
                    file_bytes: h.file_bytes,
                    wasted_bytes: h.wasted_bytes,
                    efficiency: h.efficiency,
                    duplicate_bytes: h.duplicate_bytes,
                });
            }
            Err(e) => failures.push((tag.to_string(), format!("{e:#}"))),
        }
    }
    let report = RepoHints {
        repository: repo_name(&repo),
        wasted_bytes: distinct
            .values()
            .fold(0u64, |a, (w, _)| a.saturating_add(*w)),
        duplicate_bytes: distinct
            .values()
            .fold(0u64, |a, (_, d)| a.saturating_add(*d)),
        tags: rows,
        failures,
        not_images,
        drift: drift(&chains, &candidates),
    };
    for (tag, e) in &report.failures {
        eprintln!(
            "regatta: warning: {}",
            crate::sanitize::sanitize(&format!("{repo}:{tag}: {e}"))
        );
    }
    if json {
        return print_json(&report);
    }
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
    print_lines(lines)
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

fn repo_name(repo: &RepoName) -> String {
    repo.to_string()
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
