//! `regatta inspect REF`: what a reference is, for people and (with `--json`) for scripts.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Context;
use super::output::{print_json, print_lines};
use super::progress::scan_with_progress;
use crate::analysis::artifact::{ArtifactKind, classify};
use crate::analysis::attached::Attachments;
use crate::analysis::content::{BlobSummary, blobs_to_read, summarize};
use crate::analysis::model::StorageModel;
use crate::analysis::referrers::build_tree;
use crate::analysis::sharing::{TagSharing, tag_sharing};
use crate::analysis::size::{image_size, manifest_size};
use crate::present::artifact_summary::summary_lines;
use crate::present::columns::{
    Digests, LAYER_COLUMNS, LAYER_USERS_COLUMNS, LayerLine, PLATFORM_COLUMNS, PlatformLine,
    layer_cells, platform_cells, table, used_by,
};
use crate::present::size_exact;
use crate::present::text::{layer_steps, platform};
use crate::referrers::{DiscoveryOptions, discover};
use crate::registry::image::{ImageTree, PlatformImage, fetch_image};
use crate::registry::manifest::{HistoryEntry, ImageConfig};
use crate::registry::{Digest, ManifestRef, RepoName, Source};
use crate::scan::ScanOptions;
use crate::target;

#[derive(Debug, Serialize)]
pub struct InspectReport {
    pub reference: String,
    pub digest: String,
    pub media_type: String,
    /// What the manifest is (`image`, `index`, `helm_chart`, `cosign_signature`, ...), from
    /// its artifact type, config and layer media types.
    #[serde(flatten)]
    pub kind: ArtifactKind,
    /// Compressed bytes of the distinct config and layer blobs (union over platforms).
    pub size: u64,
    /// Bytes of the manifest document itself.
    pub manifest_bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<PlatformJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layers: Option<Vec<LayerJson>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<ConfigJson>,
    /// Why the image config could not be read (then `config` is absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifests: Option<Vec<PlatformManifestJson>>,
    /// With `--sharing`: the tag's bytes no other tag references, from a scan of the whole
    /// registry (the numbers of the TUI's layer view).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sharing: Option<SharingJson>,
    /// What the manifest's small blobs say (a Helm chart's name and version, a WASM
    /// module's target, a signature's payload); absent for images.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub summary: Vec<BlobSummary>,
    /// The artifacts attached to it, transitively; null when they could not be counted.
    pub referrers: Option<ReferrersCount>,
    /// Why the referrers could not be counted (a registry without a tag list, a refused
    /// request): the rest of the report stands.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub referrers_error: Option<String>,
}

/// How many artifacts are attached to the manifest, and where that count comes from.
#[derive(Debug, Serialize)]
pub struct ReferrersCount {
    pub count: usize,
    /// Distinct bytes of the referrers (manifests and blobs, a blob two of them share once,
    /// as `du` counts); null when the registry's sizes overflow.
    pub bytes: Option<u64>,
    /// `scan` (with `--sharing`: the scanned model's tags, fallback indexes and `subject`
    /// fields) or `discovery` (the referrers API, the fallback index and cosign's tags of
    /// this repository; tagged manifests carrying `subject` are not read one by one).
    pub source: &'static str,
}

/// What `--sharing` adds at the top: the tag's unique bytes and how complete the scan was.
#[derive(Debug, Serialize)]
pub struct SharingJson {
    /// Bytes of the blobs (manifests, configs, layers) of this tag that no other tag in any
    /// repository references: what deleting this tag alone would free if it had no alias.
    pub unique_bytes: u64,
    /// False when part of the scan failed: then other users may be missing.
    pub complete: bool,
    pub failures: Vec<crate::analysis::model::ScanFailure>,
}

/// The other users of one layer (the TUI's USED BY column and its detail line).
#[derive(Debug, Serialize)]
pub struct UsedByJson {
    /// Other tags, in any repository and aliases of this tag included, whose images
    /// reference the layer.
    pub tags: usize,
    /// The repositories of those tags.
    pub repositories: Vec<String>,
    /// The first few of those tags (`repo:tag`), at most five.
    pub examples: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct PlatformJson {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct LayerJson {
    pub digest: String,
    pub media_type: String,
    pub size: u64,
    /// With `--sharing`: which other tags use this layer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub used_by: Option<UsedByJson>,
}

#[derive(Debug, Serialize)]
pub struct PlatformManifestJson {
    pub digest: String,
    pub media_type: String,
    pub platform: Option<PlatformJson>,
    /// `size` of this platform alone.
    pub size: u64,
    pub layers: Vec<LayerJson>,
    pub config: Option<ConfigJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ConfigJson {
    pub digest: String,
    pub created: Option<String>,
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    pub env: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub working_dir: Option<String>,
    pub user: Option<String>,
    pub exposed_ports: Vec<String>,
    pub history: Vec<HistoryEntry>,
}

fn platform_json(image: &PlatformImage) -> Option<PlatformJson> {
    image.platform.as_ref().map(|p| PlatformJson {
        os: p.os.clone(),
        architecture: p.architecture.clone(),
        variant: p.variant.clone(),
    })
}

fn layers_json(image: &PlatformImage) -> Vec<LayerJson> {
    image
        .manifest
        .layers
        .iter()
        .map(|l| LayerJson {
            digest: l.digest.to_string(),
            media_type: l.media_type.clone(),
            size: l.size,
            used_by: None,
        })
        .collect()
}

fn config_json(image: &PlatformImage) -> Option<ConfigJson> {
    let c: &ImageConfig = image.config.as_ref()?;
    Some(ConfigJson {
        digest: image.manifest.config.digest.to_string(),
        created: c.created.clone(),
        os: c.os.clone(),
        architecture: c.architecture.clone(),
        variant: c.variant.clone(),
        entrypoint: c.config.entrypoint.clone(),
        cmd: c.config.cmd.clone(),
        env: c.config.env.clone(),
        labels: c.config.labels.clone().unwrap_or_default(),
        working_dir: c.config.working_dir.clone().filter(|w| !w.is_empty()),
        user: c.config.user.clone().filter(|u| !u.is_empty()),
        exposed_ports: c
            .config
            .exposed_ports
            .as_ref()
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default(),
        history: c.history.clone(),
    })
}

/// Builds the report of a fetched image (pure; shared by the JSON and the text output).
pub fn report(reference: String, tree: &ImageTree) -> InspectReport {
    let mut report = InspectReport {
        reference,
        digest: tree.root.digest.to_string(),
        media_type: tree.root.media_type.clone(),
        kind: classify(&tree.root, None),
        size: image_size(tree),
        manifest_bytes: tree.root.bytes.len() as u64,
        platform: None,
        layers: None,
        config: None,
        config_error: None,
        manifests: None,
        sharing: None,
        summary: Vec::new(),
        referrers: None,
        referrers_error: None,
    };
    if tree.is_index() {
        report.manifests = Some(
            tree.images
                .iter()
                .map(|image| PlatformManifestJson {
                    digest: image.digest.to_string(),
                    media_type: image.media_type.clone(),
                    platform: platform_json(image),
                    size: manifest_size(&image.manifest),
                    layers: layers_json(image),
                    config: config_json(image),
                    config_error: image.config_error.clone(),
                })
                .collect(),
        );
    } else if let Some(image) = tree.images.first() {
        report.platform = platform_json(image);
        report.layers = Some(layers_json(image));
        report.config = config_json(image);
        report.config_error = image.config_error.clone();
    }
    report
}

/// One warning per image whose config could not be read, so that a missing config (a blob
/// that failed its digest check, a refused blob request) is never passed over in silence;
/// and one per created date not to be believed (shown as the config has it).
fn config_warnings(r: &InspectReport, tree: &ImageTree) -> Vec<String> {
    let dates = tree.images.iter().filter_map(|image| {
        let e = image.config.as_ref()?.believable_created().err()?;
        Some(format!("the config of {}: {e}", image.digest))
    });
    let single = r
        .config_error
        .iter()
        .map(|e| format!("cannot read the config of {}: {e}", r.reference));
    let platforms = r.manifests.iter().flatten().filter_map(|m| {
        m.config_error
            .as_ref()
            .map(|e| format!("cannot read the config of {}: {e}", m.digest))
    });
    single.chain(platforms).chain(dates).collect()
}

/// Adds the sharing of the tag to `report`: the tag's unique bytes, and each layer's users.
pub fn add_sharing(report: &mut InspectReport, sharing: &TagSharing, model: &StorageModel) {
    report.sharing = Some(SharingJson {
        unique_bytes: sharing.unique_bytes,
        complete: model.failures.is_empty(),
        failures: model.failure_list(),
    });
    let layers = report.layers.iter_mut().flatten().chain(
        report
            .manifests
            .iter_mut()
            .flatten()
            .flat_map(|m| m.layers.iter_mut()),
    );
    for layer in layers {
        let Ok(digest) = Digest::parse(&layer.digest) else {
            continue;
        };
        layer.used_by = sharing.users_of(&digest).map(|u| UsedByJson {
            tags: u.tags,
            repositories: u.repos.iter().map(|r| r.to_string()).collect(),
            examples: u.examples.clone(),
        });
    }
}

const SHARING_NEEDS_A_TAG: &str = "--sharing needs a tag (REPOSITORY:TAG): sharing is counted between tags, and a digest alone names none";

/// Scans the whole registry and measures the sharing of `repo:tag`, whose image the report
/// describes. Fails when the scan could not resolve the tag, or found it on another digest
/// (it moved between the two reads).
async fn measure_sharing(
    target: &target::Target,
    source: &dyn Source,
    repo: &RepoName,
    reference: &ManifestRef,
    report: &mut InspectReport,
) -> anyhow::Result<StorageModel> {
    let ManifestRef::Tag(tag) = reference else {
        anyhow::bail!("{}", SHARING_NEEDS_A_TAG);
    };
    let options = ScanOptions {
        concurrency: match target {
            target::Target::Registry { options, .. } => options.concurrency,
            target::Target::Layout(_) => 8,
        },
        repo_filter: None,
    };
    let model = scan_with_progress(source, &options).await?;
    let scanned = model
        .repos
        .get(repo)
        .and_then(|r| r.tags.get(tag))
        .cloned()
        .flatten();
    match scanned {
        Some(digest) if digest.to_string() == report.digest => {}
        Some(digest) => anyhow::bail!(
            "{repo}:{tag} moved while it was read ({} then {digest}); run the command again",
            report.digest
        ),
        None => anyhow::bail!("the scan could not resolve {repo}:{tag}, so its sharing is unknown"),
    }
    let sharing = tag_sharing(&model, repo, tag)
        .ok_or_else(|| anyhow::anyhow!("the scan could not resolve {repo}:{tag}"))?;
    add_sharing(report, &sharing, &model);
    Ok(model)
}

/// What the manifest's own small blobs say (within the document size cap); blobs that
/// cannot be read are warnings.
async fn read_summary(
    source: &dyn Source,
    repo: &RepoName,
    tree: &ImageTree,
    warnings: &mut Vec<String>,
) -> Vec<BlobSummary> {
    let kind = classify(&tree.root, None);
    let (wanted, skipped) = blobs_to_read(&kind, &tree.root.manifest);
    let mut out = Vec::new();
    for w in &wanted {
        match source.blob(repo, &w.digest).await {
            Ok(body) => out.push(summarize(w, &body)),
            Err(e) => warnings.push(format!("cannot read blob {} of {repo}: {e}", w.digest)),
        }
    }
    out.extend(skipped);
    out
}

/// Counts the referrers of `subject`: from the scanned model when there is one, else by
/// discovery in this repository.
async fn count_referrers(
    target: &target::Target,
    source: &dyn Source,
    repo: &RepoName,
    subject: &Digest,
    model: Option<&StorageModel>,
) -> Result<ReferrersCount, String> {
    if let Some(model) = model {
        let referrers = Attachments::of_repo(model, repo).transitive(subject);
        return Ok(ReferrersCount {
            count: referrers.len(),
            bytes: Some(crate::analysis::storage::manifests_bytes(model, &referrers)),
            source: "scan",
        });
    }
    let options = DiscoveryOptions {
        tagged_subjects: false,
        summaries: false,
        concurrency: match target {
            target::Target::Registry { options, .. } => options.concurrency,
            target::Target::Layout(_) => 8,
        },
        ..DiscoveryOptions::default()
    };
    let found = discover(source, repo, subject, None, &options)
        .await
        .map_err(|e| e.to_string())?;
    let tree = build_tree(repo, subject, &found.facts);
    // Distinct over the tree, as the scan counts them: a config two signatures share once.
    let mut blobs: std::collections::BTreeMap<&Digest, u64> = std::collections::BTreeMap::new();
    for f in &found.facts {
        blobs.insert(&f.digest, f.manifest_bytes);
        blobs.extend(f.references.iter().map(|(d, s)| (d, *s)));
    }
    Ok(ReferrersCount {
        count: tree.count,
        bytes: blobs.values().try_fold(0u64, |sum, s| sum.checked_add(*s)),
        source: "discovery",
    })
}

/// Lines of `--sharing` for people: unique bytes, then who else uses each layer.
fn sharing_lines(r: &InspectReport) -> Vec<String> {
    let Some(sharing) = &r.sharing else {
        return Vec::new();
    };
    let mut lines = vec![
        String::new(),
        format!(
            "Unique:     {} no other tag references{}",
            size_exact(sharing.unique_bytes),
            if sharing.complete {
                ""
            } else {
                " (scan incomplete)"
            }
        ),
        String::new(),
    ];
    let layers = r
        .layers
        .iter()
        .flatten()
        .chain(r.manifests.iter().flatten().flat_map(|m| m.layers.iter()));
    let mut seen = std::collections::BTreeSet::new();
    let rows: Vec<Vec<String>> = layers
        .filter(|l| seen.insert(l.digest.clone()))
        .map(|l| match &l.used_by {
            Some(u) => {
                let mut also = u.examples.join(", ");
                if u.tags > u.examples.len() {
                    also.push_str(&format!(" and {} more", u.tags - u.examples.len()));
                }
                vec![l.digest.clone(), used_by(u.tags), also]
            }
            None => vec![l.digest.clone(), "?".into(), String::new()],
        })
        .collect();
    lines.extend(table(LAYER_USERS_COLUMNS, &rows));
    lines
}

pub async fn run(ctx: &Context, input: &str, json: bool, sharing: bool) -> anyhow::Result<()> {
    let (target, repo, reference) = target::resolve_reference(input, &ctx.config, &ctx.overrides)?;
    if sharing && reference.digest().is_some() {
        anyhow::bail!("{}", SHARING_NEEDS_A_TAG);
    }
    ctx.warn_for(&target);
    let source = target.open()?;
    let tree = fetch_image(source.as_ref(), &repo, &reference).await?;
    let full = source.full_reference(&repo, &reference);
    let mut report = report(full, &tree);
    let model = if sharing {
        Some(measure_sharing(&target, source.as_ref(), &repo, &reference, &mut report).await?)
    } else {
        None
    };
    let mut warnings = Vec::new();
    report.summary = read_summary(source.as_ref(), &repo, &tree, &mut warnings).await;
    match count_referrers(
        &target,
        source.as_ref(),
        &repo,
        &tree.root.digest,
        model.as_ref(),
    )
    .await
    {
        Ok(count) => report.referrers = Some(count),
        Err(e) => report.referrers_error = Some(e),
    }
    for warning in config_warnings(&report, &tree).into_iter().chain(warnings) {
        eprintln!("regatta: warning: {}", crate::sanitize::sanitize(&warning));
    }
    if json {
        print_json(&report)
    } else {
        print_lines(
            text_lines(&report, &tree)
                .into_iter()
                .chain(sharing_lines(&report)),
        )
    }
}

/// The report for people; the platform and layer tables are the TUI's manifest and layer
/// lists (same columns and cells), with whole digests.
fn text_lines(r: &InspectReport, tree: &ImageTree) -> Vec<String> {
    let mut lines = vec![
        format!("Reference:  {}", r.reference),
        format!("Digest:     {}", r.digest),
        format!("Media type: {}", r.media_type),
        format!("Kind:       {}", r.kind.label()),
        format!("Size:       {}", size_exact(r.size)),
    ];
    if let Some(n) = &r.referrers {
        lines.push(format!(
            "Referrers:  {}{}",
            n.count,
            match (n.count, n.bytes) {
                (0, _) => String::new(),
                (_, Some(b)) => format!(", {} (regatta referrers shows them)", size_exact(b)),
                (_, None) => ", size unknown (regatta referrers shows them)".to_string(),
            }
        ));
    }
    if let Some(e) = &r.referrers_error {
        lines.push(format!("Referrers:  unknown ({e})"));
    }
    if tree.is_index() {
        lines.push(String::new());
        let rows: Vec<Vec<String>> = tree
            .images
            .iter()
            .map(|image| {
                let name = platform(image.platform.as_ref());
                let line = PlatformLine {
                    platform: &name,
                    digest: &image.digest,
                    size: manifest_size(&image.manifest),
                    layers: image.manifest.layers.len(),
                    media_type: &image.media_type,
                };
                platform_cells(&line, Digests::Full)
            })
            .collect();
        lines.extend(table(PLATFORM_COLUMNS, &rows));
    } else if let Some(image) = tree.images.first() {
        // A Helm chart or a WASM module says what it is instead of `Platform: -`.
        match r.kind {
            ArtifactKind::Image => {
                lines.push(format!("Platform:   {}", platform(image.platform.as_ref())))
            }
            _ if r.summary.is_empty() => {
                lines.push(format!("Platform:   {}", platform(image.platform.as_ref())))
            }
            _ => lines.extend(
                summary_lines(&r.summary)
                    .into_iter()
                    .map(|l| format!("Content:    {l}")),
            ),
        }
        lines.push(String::new());
        let image_size = manifest_size(&image.manifest);
        let steps = layer_steps(image);
        let rows: Vec<Vec<String>> = image
            .manifest
            .layers
            .iter()
            .zip(&steps)
            .enumerate()
            .map(|(i, (layer, step))| {
                let line = LayerLine {
                    position: i + 1,
                    digest: &layer.digest,
                    media_type: &layer.media_type,
                    size: layer.size,
                    image_size,
                    used_by: None,
                    created_by: step.as_deref(),
                };
                layer_cells(&line, Digests::Full)
            })
            .collect();
        lines.extend(table(LAYER_COLUMNS, &rows));
    }
    if let Some(c) = &r.config {
        lines.push(String::new());
        lines.push(format!(
            "Created:    {}",
            c.created.as_deref().unwrap_or("-")
        ));
        if let Some(e) = &c.entrypoint {
            lines.push(format!("Entrypoint: {}", e.join(" ")));
        }
        if let Some(cmd) = &c.cmd {
            lines.push(format!("Cmd:        {}", cmd.join(" ")));
        }
        if let Some(w) = &c.working_dir {
            lines.push(format!("WorkingDir: {w}"));
        }
        if let Some(u) = &c.user {
            lines.push(format!("User:       {u}"));
        }
        if !c.exposed_ports.is_empty() {
            lines.push(format!("Ports:      {}", c.exposed_ports.join(", ")));
        }
        for e in &c.env {
            lines.push(format!("Env:        {e}"));
        }
        for (k, v) in &c.labels {
            lines.push(format!("Label:      {k}={v}"));
        }
    }
    lines
}
