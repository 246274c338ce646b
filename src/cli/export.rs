//! `regatta export REF... DIR` writes images of a registry into an OCI image layout, and
//! `regatta import DIR TARGET[/REPO]` pushes a layout's tagged images to a registry. Both are
//! copies (the same plan and executor as `cp`): only what the other side lacks moves, digests
//! are kept, tags are written last.

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::Context;
use super::copy::{plan_and_apply, registry_client};
use crate::copy::layout::{LayoutDestination, LayoutOrigin};
use crate::copy::{Ends, ImageRequest, PlatformFilter};
use crate::layout::LayoutSource;
use crate::present::copy::DRY_RUN_FLAG_NOTE;
use crate::registry::reference::split_tag_and_digest;
use crate::registry::{ManifestRef, RepoName};
use crate::target::{resolve, resolve_repo};

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// TARGET/REPOSITORY:TAG references, all on one registry; each tag becomes the image's
    /// name in the layout (`oci:DIR:TAG` to skopeo).
    #[arg(required = true, num_args = 1.., value_name = "REF")]
    pub refs: Vec<String>,
    /// The layout directory (created when absent; an existing layout is added to).
    pub dir: PathBuf,
    /// Export only this platform (OS/ARCH[/VARIANT]) out of multi-platform indexes.
    #[arg(long, value_name = "PLATFORM")]
    pub platform: Option<String>,
    /// Only show the plan.
    #[arg(long)]
    pub dry_run: bool,
    /// Print JSON: the plan and the outcome.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// An OCI image layout directory (one repository: oci-layout, index.json, blobs/).
    pub dir: PathBuf,
    /// Registry, or TARGET/REPOSITORY (default: the layout's directory name).
    pub destination: String,
    /// Only show the plan.
    #[arg(long)]
    pub dry_run: bool,
    /// Print JSON: the plan and the outcome.
    #[arg(long)]
    pub json: bool,
}

fn platform_of(input: Option<&str>) -> anyhow::Result<Option<PlatformFilter>> {
    input
        .map(PlatformFilter::parse)
        .transpose()
        .map_err(anyhow::Error::msg)
}

pub async fn export(ctx: &Context, args: &ExportArgs) -> anyhow::Result<bool> {
    let platform = platform_of(args.platform.as_deref())?;
    let mut source = None;
    let mut requests = Vec::new();
    let mut tags = BTreeSet::new();
    for input in &args.refs {
        let (name, tag, digest) = split_tag_and_digest(input)?;
        let Some(tag) = tag.filter(|_| digest.is_none()) else {
            anyhow::bail!(
                "{input:?}: export needs REPOSITORY:TAG (a layout names its images by tag)"
            );
        };
        if !tags.insert(tag.clone()) {
            anyhow::bail!(
                "the tag {tag} is named twice; a layout holds one image per tag: export them to separate directories"
            );
        }
        let (target, repo) = resolve_repo(name, &ctx.config, &ctx.overrides)?;
        match &source {
            None => source = Some(target),
            Some(first) if first.location() != target.location() => anyhow::bail!(
                "{input:?} is on {}, the other references on {}: export from one registry at a time",
                target.location(),
                first.location()
            ),
            Some(_) => {}
        }
        requests.push(ImageRequest {
            source_repository: repo.clone(),
            source_reference: ManifestRef::Tag(tag.clone()),
            destination_repository: repo,
            destination_tag: Some(tag),
        });
    }
    let Some(source) = source else {
        anyhow::bail!("name at least one REF to export");
    };
    ctx.warn_for(&source);
    let client = registry_client(&source, "REF")?;
    // A dry run writes nothing: without a layout there yet, it plans against an empty one
    // made aside and removed after.
    let scratch = (args.dry_run && !args.dir.join("oci-layout").is_file())
        .then(tempdir_for_plan)
        .transpose()?;
    let destination = LayoutDestination::create(scratch.as_deref().unwrap_or(&args.dir))?;
    let ends = Ends {
        source: &client,
        destination: &destination,
    };
    let concurrency = client.options().concurrency;
    let result = plan_and_apply(
        &ends,
        &requests,
        platform.as_ref(),
        concurrency,
        !args.dry_run,
        args.json,
        DRY_RUN_FLAG_NOTE,
    )
    .await;
    if let Some(scratch) = scratch {
        let _ = std::fs::remove_dir_all(scratch);
    }
    result
}

/// An empty directory under the system's temporary directory, for a dry run's plan.
fn tempdir_for_plan() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "regatta-export-plan-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

pub async fn import(ctx: &Context, args: &ImportArgs) -> anyhow::Result<bool> {
    let dir = args.dir.clone();
    let layout = tokio::task::spawn_blocking(move || LayoutSource::open(&dir)).await??;
    let Some(src_repo) = layout.single_repository() else {
        anyhow::bail!(
            "{} holds several layouts; name one layout directory (the one holding oci-layout and index.json)",
            args.dir.display()
        );
    };
    let (target, dst_repo) = destination_of(ctx, &args.destination, &src_repo)?;
    ctx.warn_for(&target);
    let client = registry_client(&target, "TARGET")?;
    let origin = LayoutOrigin::new(layout);
    let mut tags = crate::copy::CopySource::tags(&origin, &src_repo).await?;
    tags.sort();
    if tags.is_empty() {
        anyhow::bail!(
            "{} names no image by tag (index.json has no org.opencontainers.image.ref.name): nothing to import",
            args.dir.display()
        );
    }
    let requests: Vec<ImageRequest> = tags
        .into_iter()
        .map(|tag| ImageRequest {
            source_repository: src_repo.clone(),
            source_reference: ManifestRef::Tag(tag.clone()),
            destination_repository: dst_repo.clone(),
            destination_tag: Some(tag),
        })
        .collect();
    let ends = Ends {
        source: &origin,
        destination: &client,
    };
    let concurrency = client.options().concurrency;
    plan_and_apply(
        &ends,
        &requests,
        None,
        concurrency,
        !args.dry_run,
        args.json,
        DRY_RUN_FLAG_NOTE,
    )
    .await
}

/// `TARGET` (the repository named after the layout) or `TARGET/REPOSITORY`.
fn destination_of(
    ctx: &Context,
    input: &str,
    layout_repo: &RepoName,
) -> anyhow::Result<(crate::target::Target, RepoName)> {
    let without_scheme = input
        .strip_prefix("https://")
        .or_else(|| input.strip_prefix("http://"))
        .unwrap_or(input);
    if without_scheme.trim_end_matches('/').contains('/') {
        Ok(resolve_repo(input, &ctx.config, &ctx.overrides)?)
    } else {
        Ok((
            resolve(input, &ctx.config, &ctx.overrides)?,
            layout_repo.clone(),
        ))
    }
}
