//! The layer chains base-image drift reads ([`TagChain`]), from what a scan already holds:
//! each tag's digest, its manifest's layers and its config's `created` time. No layer, no
//! manifest is fetched again.
//!
//! The image of a tag is chosen as `regatta hints --repo` chooses it without `--platform`
//! ([`crate::layers::select::select_image`]): a single manifest is the image; an index's
//! only platform (attestation entries, `unknown/unknown`, left out), else its `linux/amd64`.
//! A tag the scan could not resolve, or whose image it cannot choose, has no chain.

use crate::analysis::model::{ManifestBody, StorageModel};
use crate::layers::drift::TagChain;
use crate::registry::manifest::Platform;
use crate::registry::{Digest, RepoName, Tag};

/// The chains of `repo`'s tags in tag order, and the tags left out with the reason.
pub fn tag_chains(model: &StorageModel, repo: &RepoName) -> (Vec<TagChain>, Vec<(Tag, String)>) {
    let mut chains = Vec::new();
    let mut left_out = Vec::new();
    let Some(entry) = model.repos.get(repo) else {
        return (chains, left_out);
    };
    for (tag, digest) in &entry.tags {
        match digest
            .as_ref()
            .ok_or("not resolved")
            .and_then(|d| chain(model, tag, d))
        {
            Ok(c) => chains.push(c),
            Err(why) => left_out.push((tag.clone(), why.to_string())),
        }
    }
    (chains, left_out)
}

fn chain(model: &StorageModel, tag: &Tag, digest: &Digest) -> Result<TagChain, &'static str> {
    let image = match &model.manifests.get(digest).ok_or("manifest not read")?.body {
        ManifestBody::Image { .. } => digest,
        ManifestBody::Index { children } => {
            let images: Vec<(&Digest, Option<&Platform>)> = children
                .iter()
                .filter_map(|c| match &model.manifests.get(c)?.body {
                    ManifestBody::Image { platform, .. } => Some((c, platform.as_ref())),
                    ManifestBody::Index { .. } => None,
                })
                .filter(|(_, p)| {
                    !p.is_some_and(|p| p.os == "unknown" && p.architecture == "unknown")
                })
                .collect();
            let amd64 = |p: Option<&Platform>| {
                p.is_some_and(|p| {
                    p.os == "linux" && p.architecture == "amd64" && p.variant.is_none()
                })
            };
            match images.as_slice() {
                [(only, _)] => *only,
                _ => images
                    .iter()
                    .find(|(_, p)| amd64(*p))
                    .map(|(d, _)| *d)
                    .ok_or("several platforms, none linux/amd64")?,
            }
        }
    };
    let Some(ManifestBody::Image { config, layers, .. }) =
        model.manifests.get(image).map(|m| &m.body)
    else {
        return Err("manifest not read");
    };
    Ok(TagChain {
        tag: tag.to_string(),
        digest: image.clone(),
        layers: layers.clone(),
        created: model.configs.get(&config.0).and_then(|c| c.created),
    })
}
