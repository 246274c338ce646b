//! `regatta cp` of many repositories: a whole registry (`regatta cp reg-a reg-b`) or a
//! repository pattern (`regatta cp reg-a/team/* reg-b/mirror/team/`), every tag of each.

use super::Context;
use crate::copy::ImageRequest;
use crate::copy::mirror::{RepoMapping, is_pattern, split_target};
use crate::registry::{Client, ManifestRef};
use crate::target::{Target, resolve};

/// When SRC names many repositories (a registry alone, or a pattern), its target and the
/// pattern (`None`: every repository).
pub(super) fn many_source(
    ctx: &Context,
    input: &str,
) -> anyhow::Result<Option<(Target, Option<String>)>> {
    let (target, rest) = split_target(input);
    if !rest.is_empty() && !is_pattern(rest) {
        return Ok(None);
    }
    if rest.contains('@') {
        anyhow::bail!("SRC {input:?}: a repository pattern takes no digest");
    }
    let resolved = resolve(target, &ctx.config, &ctx.overrides)?;
    if let Target::Layout(_) = resolved {
        // A directory: the single-repository path reports what it can do with it.
        return Ok(None);
    }
    Ok(Some((
        resolved,
        (!rest.is_empty()).then(|| rest.to_string()),
    )))
}

/// Every tag of every repository `pattern` selects, named on the destination under `dst`'s
/// prefix. Returns the destination target too.
pub(super) async fn many_requests(
    ctx: &Context,
    source: &Client,
    pattern: Option<&str>,
    destination: &str,
) -> anyhow::Result<(Target, Vec<ImageRequest>)> {
    let (dst_target, prefix) = split_target(destination);
    if prefix.contains([':', '@']) {
        anyhow::bail!(
            "DST {destination:?}: copying many repositories takes TARGET[/PREFIX], without a tag or digest"
        );
    }
    let target = resolve(dst_target, &ctx.config, &ctx.overrides)?;
    let mapping = RepoMapping::new(pattern, prefix).map_err(anyhow::Error::msg)?;
    let repos: Vec<_> = source
        .catalog(&|_| {})
        .await?
        .into_iter()
        .filter(|r| mapping.selects(r))
        .collect();
    if repos.is_empty() {
        anyhow::bail!(
            "no repository of {} matches {}",
            source.registry().host,
            pattern.unwrap_or("*")
        );
    }
    let mut requests = Vec::new();
    for repo in repos {
        let destination_repository = mapping.destination(&repo)?;
        let mut tags = source.tags(&repo).await?;
        tags.sort();
        requests.extend(tags.into_iter().map(|tag| ImageRequest {
            source_repository: repo.clone(),
            source_reference: ManifestRef::Tag(tag.clone()),
            destination_repository: destination_repository.clone(),
            destination_tag: Some(tag),
        }));
    }
    Ok((target, requests))
}
