//! Fetching an image as a whole: its manifest, the platform manifests of an index, and each
//! platform's config. Children and configs are fetched concurrently (the client bounds it).

use futures::future::join_all;

use super::error::RegistryError;
use super::manifest::{
    Descriptor, ImageConfig, ImageManifest, Implausible, MAX_INDEX_DEPTH, MAX_PLAUSIBLE_BYTES,
    Manifest, Platform, check_manifest,
};
use super::reference::{Digest, ManifestRef, RepoName};
use super::source::{FetchedManifest, Source};

/// One platform image: its manifest and, when it is a container image, its config.
#[derive(Debug, Clone)]
pub struct PlatformImage {
    pub digest: Digest,
    pub media_type: String,
    /// Bytes of the manifest document itself.
    pub manifest_size: u64,
    /// From the index entry, or from the config for a single manifest.
    pub platform: Option<Platform>,
    pub manifest: ImageManifest,
    pub config: Option<ImageConfig>,
    /// Why the config could not be read, when it could not (the image is still shown).
    pub config_error: Option<String>,
}

/// A tag or digest resolved to everything needed to show and size it.
#[derive(Debug, Clone)]
pub struct ImageTree {
    pub root: FetchedManifest,
    /// One entry for a single manifest; one per image child for an index.
    pub images: Vec<PlatformImage>,
}

impl ImageTree {
    pub fn is_index(&self) -> bool {
        self.root.manifest.is_index()
    }
}

/// Fetches `reference` in `repo` with its children and configs. Indexes nested inside the
/// index (legal in OCI) are followed to [`MAX_INDEX_DEPTH`] levels and their images listed
/// once each; a deeper one, or an index listing more than
/// [`MAX_INDEX_CHILDREN`](super::manifest::MAX_INDEX_CHILDREN) manifests,
/// is an error naming it, never an image of 0 bytes; so is a manifest whose sizes are not
/// believable (see [`check_manifest`]).
pub async fn fetch_image(
    source: &dyn Source,
    repo: &RepoName,
    reference: &ManifestRef,
) -> Result<ImageTree, RegistryError> {
    let root = source.manifest(repo, reference).await?;
    believe(repo, &root)?;
    let images = match &root.manifest {
        Manifest::Image(m) => vec![
            platform_image(
                source,
                repo,
                root.digest.clone(),
                root.media_type.clone(),
                root.bytes.len() as u64,
                None,
                m.clone(),
            )
            .await,
        ],
        Manifest::Index(index) => {
            let mut images = Vec::new();
            let mut seen = std::collections::HashSet::from([root.digest.clone()]);
            // One level of the tree at a time: the children of every index at this depth.
            let mut level: Vec<Descriptor> = index.manifests.clone();
            let mut depth = 1;
            while !level.is_empty() {
                let fetches = level.iter().filter(|d| seen.insert(d.digest.clone())).map(
                    |d| async move {
                        let child = source
                            .manifest(repo, &ManifestRef::Digest(d.digest.clone()))
                            .await?;
                        if child.bytes.len() as u64 != d.size {
                            return Err(RegistryError::Malformed {
                                url: format!("{repo}@{}", d.digest),
                                detail: format!(
                                    "the manifest is {} bytes but its index's descriptor says {}",
                                    child.bytes.len(),
                                    d.size
                                ),
                            });
                        }
                        Ok::<_, RegistryError>((d.platform.clone(), child))
                    },
                );
                let mut next = Vec::new();
                for result in join_all(fetches).await {
                    let (platform, child) = result?;
                    believe(repo, &child)?;
                    match child.manifest {
                        Manifest::Image(m) => images.push((
                            platform,
                            child.digest,
                            child.media_type,
                            child.bytes.len(),
                            m,
                        )),
                        Manifest::Index(nested) => {
                            if depth >= MAX_INDEX_DEPTH {
                                return Err(too_deep(repo, &child.digest));
                            }
                            next.extend(nested.manifests);
                        }
                    }
                }
                level = next;
                depth += 1;
            }
            join_all(
                images
                    .into_iter()
                    .map(|(platform, digest, media_type, len, m)| {
                        platform_image(source, repo, digest, media_type, len as u64, platform, m)
                    }),
            )
            .await
        }
    };
    // Each image passed on its own; their union (an index's size) must too.
    let mut blobs = std::collections::BTreeMap::new();
    for image in &images {
        blobs.insert(&image.manifest.config.digest, image.manifest.config.size);
        for l in &image.manifest.layers {
            blobs.insert(&l.digest, l.size);
        }
    }
    let total = blobs.values().try_fold(0u64, |a, &b| a.checked_add(b));
    if total.is_none_or(|t| t > MAX_PLAUSIBLE_BYTES) {
        return Err(RegistryError::Malformed {
            url: format!("{repo}@{}", root.digest),
            detail: match total {
                Some(total) => Implausible::ImageTooLarge { total },
                None => Implausible::Overflow,
            }
            .to_string(),
        });
    }
    Ok(ImageTree { root, images })
}

/// Refuses a manifest whose sizes or lists are not believable (see [`check_manifest`]).
fn believe(repo: &RepoName, m: &FetchedManifest) -> Result<(), RegistryError> {
    check_manifest(&m.manifest)
        .map(|_| ())
        .map_err(|e| RegistryError::Malformed {
            url: format!("{repo}@{}", m.digest),
            detail: e.to_string(),
        })
}

fn too_deep(repo: &RepoName, digest: &Digest) -> RegistryError {
    RegistryError::Malformed {
        url: format!("{repo}@{digest}"),
        detail: format!(
            "indexes are nested more than {MAX_INDEX_DEPTH} levels deep; regatta follows at most {MAX_INDEX_DEPTH}"
        ),
    }
}

async fn platform_image(
    source: &dyn Source,
    repo: &RepoName,
    digest: Digest,
    media_type: String,
    manifest_size: u64,
    platform: Option<Platform>,
    manifest: ImageManifest,
) -> PlatformImage {
    let (config, config_error) = if is_image_config(&manifest.config.media_type) {
        match source.blob(repo, &manifest.config.digest).await {
            Ok(bytes) => match ImageConfig::parse(&bytes) {
                // Read anyway, and the lie named: the size counted is the descriptor's.
                Ok(c) if bytes.len() as u64 != manifest.config.size => (
                    Some(c),
                    Some(format!(
                        "the config is {} bytes but its manifest's descriptor says {}",
                        bytes.len(),
                        manifest.config.size
                    )),
                ),
                Ok(c) => (Some(c), None),
                Err(e) => (
                    None,
                    Some(format!("the config is not an image config: {e}")),
                ),
            },
            Err(e) => (None, Some(e.to_string())),
        }
    } else {
        (None, None)
    };
    let platform = platform.or_else(|| {
        config.as_ref().map(|c| Platform {
            architecture: c.architecture.clone(),
            os: c.os.clone(),
            variant: c.variant.clone(),
            os_version: None,
        })
    });
    PlatformImage {
        digest,
        media_type,
        manifest_size,
        platform,
        manifest,
        config,
        config_error,
    }
}

/// Container image configs (as opposed to artifact configs such as signatures, which are not
/// fetched: they are not JSON image configs).
pub fn is_image_config(media_type: &str) -> bool {
    media_type == super::manifest::OCI_CONFIG
        || media_type == super::manifest::DOCKER_CONFIG
        || media_type.is_empty()
}
