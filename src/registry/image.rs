//! Fetching an image as a whole: its manifest, the platform manifests of an index, and each
//! platform's config. Children and configs are fetched concurrently (the client bounds it).

use futures::future::join_all;

use super::error::RegistryError;
use super::manifest::{ImageConfig, ImageManifest, Manifest, Platform};
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

/// Fetches `reference` in `repo` with its children and configs.
pub async fn fetch_image(
    source: &dyn Source,
    repo: &RepoName,
    reference: &ManifestRef,
) -> Result<ImageTree, RegistryError> {
    let root = source.manifest(repo, reference).await?;
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
            let children = index.manifests.iter().map(|d| async move {
                let child = source
                    .manifest(repo, &ManifestRef::Digest(d.digest.clone()))
                    .await?;
                Ok::<_, RegistryError>((d.platform.clone(), child))
            });
            let mut images = Vec::new();
            for result in join_all(children).await {
                let (platform, child) = result?;
                // A nested index is rare (and not sized here); skip it rather than fail.
                if let Manifest::Image(m) = child.manifest {
                    images.push((
                        platform,
                        child.digest,
                        child.media_type,
                        child.bytes.len(),
                        m,
                    ));
                }
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
    Ok(ImageTree { root, images })
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
                Ok(c) => (Some(c), None),
                Err(e) => (None, Some(format!("the config is not valid JSON: {e}"))),
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
