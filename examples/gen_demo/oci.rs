//! Blobs, descriptors and media types; indexes; and writing one OCI image layout per
//! repository, the way registries and zot store them.
//!
//! Everything the generator writes is deterministic: JSON comes from structs (field order
//! fixed) and `BTreeMap`s, layers from [`LayerBuilder`](super::layer::LayerBuilder).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use super::image::Image;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
const REF_NAME: &str = "org.opencontainers.image.ref.name";

pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Content and its digest.
#[derive(Debug, Clone)]
pub struct Blob {
    pub digest: String,
    pub bytes: Vec<u8>,
}

impl Blob {
    pub fn new(bytes: Vec<u8>) -> Self {
        Self {
            digest: sha256(&bytes),
            bytes,
        }
    }

    pub fn json(value: &impl Serialize) -> Result<Self> {
        Ok(Self::new(serde_json::to_vec(value)?))
    }

    pub fn descriptor(&self, media_type: &str) -> Descriptor {
        Descriptor {
            media_type: media_type.to_string(),
            digest: self.digest.clone(),
            size: self.bytes.len() as u64,
            artifact_type: None,
            data: None,
            platform: None,
            annotations: BTreeMap::new(),
        }
    }
}

/// Which family of media types an image is written with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Oci,
    Docker,
}

impl Format {
    pub fn manifest(self) -> &'static str {
        match self {
            Format::Oci => OCI_MANIFEST,
            Format::Docker => DOCKER_MANIFEST,
        }
    }
    pub fn index(self) -> &'static str {
        match self {
            Format::Oci => OCI_INDEX,
            Format::Docker => DOCKER_LIST,
        }
    }
    pub fn config(self) -> &'static str {
        match self {
            Format::Oci => OCI_CONFIG,
            Format::Docker => DOCKER_CONFIG,
        }
    }
    pub fn layer(self) -> &'static str {
        match self {
            Format::Oci => OCI_LAYER,
            Format::Docker => DOCKER_LAYER,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Platform {
    pub arch: &'static str,
    pub variant: Option<&'static str>,
    /// The Debian multiarch triplet, for library paths.
    pub triplet: &'static str,
}

pub const AMD64: Platform = Platform {
    arch: "amd64",
    variant: None,
    triplet: "x86_64-linux-gnu",
};
pub const ARM64: Platform = Platform {
    arch: "arm64",
    variant: Some("v8"),
    triplet: "aarch64-linux-gnu",
};

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    /// What an artifact is (OCI 1.1): in a referrers index, copied from the manifest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The content itself, base64, as oras writes the empty config's descriptor.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<PlatformDoc>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlatformDoc {
    pub architecture: &'static str,
    pub os: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestDoc<'a> {
    pub schema_version: u32,
    pub media_type: &'a str,
    /// OCI 1.1: what the artifact is (a manifest that is no image says so here).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<&'a str>,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
    /// OCI 1.1: the manifest this one is attached to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: &'a BTreeMap<String, String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IndexDoc<'a> {
    schema_version: u32,
    media_type: &'a str,
    manifests: Vec<Descriptor>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: &'a BTreeMap<String, String>,
}

/// An OCI image index over `manifests`, as written (no platform added): the referrers
/// fallback index lists artifacts this way, each with its `artifactType` and annotations.
pub fn oci_index(manifests: Vec<Descriptor>) -> Result<Blob> {
    Blob::json(&IndexDoc {
        schema_version: 2,
        media_type: OCI_INDEX,
        manifests,
        annotations: &BTreeMap::new(),
    })
}

/// What a tag points at: one image, or an index of per-platform images.
#[derive(Debug, Clone)]
pub enum Artifact {
    Image(Box<Image>),
    Index {
        format: Format,
        index: Blob,
        children: Vec<Image>,
    },
}

impl Artifact {
    /// An index (OCI) or manifest list (Docker) over `children`, one per platform.
    pub fn index(format: Format, children: Vec<Image>) -> Result<Self> {
        let manifests = children
            .iter()
            .map(|child| {
                let mut d = child.descriptor();
                let platform = child.platform();
                d.platform = Some(PlatformDoc {
                    architecture: platform.arch,
                    os: "linux",
                    variant: platform.variant,
                });
                d
            })
            .collect();
        let index = Blob::json(&IndexDoc {
            schema_version: 2,
            media_type: format.index(),
            manifests,
            annotations: &BTreeMap::new(),
        })?;
        Ok(Artifact::Index {
            format,
            index,
            children,
        })
    }

    fn descriptor(&self) -> Descriptor {
        match self {
            Artifact::Image(image) => image.descriptor(),
            Artifact::Index { format, index, .. } => index.descriptor(format.index()),
        }
    }

    fn blobs(&self) -> Vec<&Blob> {
        match self {
            Artifact::Image(image) => image.blobs(),
            Artifact::Index {
                index, children, ..
            } => {
                let mut blobs = vec![index];
                blobs.extend(children.iter().flat_map(Image::blobs));
                blobs
            }
        }
    }
}

/// One repository: an OCI image layout with its own `blobs/`.
pub struct Repo {
    name: String,
    blobs: BTreeMap<String, Vec<u8>>,
    entries: Vec<Descriptor>,
    tags: BTreeSet<String>,
}

impl Repo {
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_string(),
            blobs: BTreeMap::new(),
            entries: Vec::new(),
            tags: BTreeSet::new(),
        }
    }

    /// Stores `artifact` under each of `tags`; with no tags it is stored untagged (listed in
    /// `index.json` without a ref.name, as a build that lost its tag).
    pub fn push(&mut self, artifact: &Artifact, tags: &[&str]) -> Result<()> {
        for blob in artifact.blobs() {
            self.blobs.insert(blob.digest.clone(), blob.bytes.clone());
        }
        if tags.is_empty() {
            self.entries.push(artifact.descriptor());
        }
        for tag in tags {
            if !self.tags.insert(tag.to_string()) {
                bail!("{}: tag {tag} is used twice", self.name);
            }
            let mut d = artifact.descriptor();
            d.annotations.insert(REF_NAME.to_string(), tag.to_string());
            self.entries.push(d);
        }
        Ok(())
    }

    /// Stores blobs (an artifact's manifest, config and layers) with no `index.json` entry: they
    /// are reached through an index that lists them, as a registry's referrers are.
    pub fn store(&mut self, blobs: &[&Blob]) {
        for blob in blobs {
            self.blobs.insert(blob.digest.clone(), blob.bytes.clone());
        }
    }

    /// Points `tag` at a stored manifest described by `descriptor`.
    pub fn tag(&mut self, descriptor: &Descriptor, tag: &str) -> Result<()> {
        if !self.blobs.contains_key(&descriptor.digest) {
            bail!("{}: tag {tag} names a manifest not stored", self.name);
        }
        if !self.tags.insert(tag.to_string()) {
            bail!("{}: tag {tag} is used twice", self.name);
        }
        let mut d = descriptor.clone();
        d.annotations.insert(REF_NAME.to_string(), tag.to_string());
        self.entries.push(d);
        Ok(())
    }

    /// The descriptor `tag` points at (without its `ref.name`).
    pub fn tagged(&self, tag: &str) -> Result<Descriptor> {
        let mut d = self
            .entries
            .iter()
            .find(|d| d.annotations.get(REF_NAME).map(String::as_str) == Some(tag))
            .with_context(|| format!("{}: no tag {tag}", self.name))?
            .clone();
        d.annotations.remove(REF_NAME);
        Ok(d)
    }

    pub fn write(&self, root: &Path) -> Result<()> {
        let dir = self
            .name
            .split('/')
            .fold(root.to_path_buf(), |p, c| p.join(c));
        let blob_dir = dir.join("blobs/sha256");
        fs::create_dir_all(&blob_dir).with_context(|| blob_dir.display().to_string())?;
        fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#)?;
        let index = serde_json::to_vec(&IndexDoc {
            schema_version: 2,
            media_type: OCI_INDEX,
            manifests: self.entries.clone(),
            annotations: &BTreeMap::new(),
        })?;
        fs::write(dir.join("index.json"), index)?;
        for (digest, bytes) in &self.blobs {
            let hex = digest.trim_start_matches("sha256:");
            fs::write(blob_dir.join(hex), bytes)?;
        }
        Ok(())
    }
}
