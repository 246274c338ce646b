//! Pushing artifacts the way supply-chain tools push them to a registry without the OCI 1.1
//! referrers API: cosign's tag scheme (`sha256-<hex>.sig`, `.att`, `.sbom`), and manifests
//! with `subject` listed in the referrers fallback index `sha256-<hex>` (Notation, oras).
//! Each push returns the truth of what was pushed ([`Pushed`]).

use std::collections::BTreeMap;

use regatta::registry::manifest::{OCI_INDEX, OCI_MANIFEST};
use regatta::registry::{Client, Digest, ManifestRef, RepoName, Tag};
use serde_json::{Value, json};

/// The OCI 1.1 empty descriptor's media type: an artifact's config that carries nothing.
pub const EMPTY: &str = "application/vnd.oci.empty.v1+json";

/// One artifact manifest as pushed: its digest and bytes, and the blobs it references.
#[derive(Debug, Clone)]
pub struct Pushed {
    pub digest: Digest,
    pub document: Vec<u8>,
    pub blobs: BTreeMap<Digest, u64>,
}

impl Pushed {
    /// Manifest plus distinct blobs: what the tree must report as the referrer's size.
    pub fn size(&self) -> u64 {
        self.document.len() as u64 + self.blobs.values().sum::<u64>()
    }
}

/// What an artifact manifest holds.
pub struct Artifact<'a> {
    pub artifact_type: Option<&'a str>,
    pub config_type: &'a str,
    pub config: &'a [u8],
    /// (media type, bytes, layer annotations)
    pub layers: Vec<(&'a str, Vec<u8>, Value)>,
    pub subject: Option<&'a Pushed>,
    pub annotations: Value,
}

pub async fn push_artifact(
    client: &Client,
    repo_name: &str,
    tag: Option<&str>,
    a: Artifact<'_>,
) -> Pushed {
    let r = RepoName::parse(repo_name).expect("repo name");
    let mut blobs = BTreeMap::new();
    let config_digest = client
        .upload_blob(&r, a.config.to_vec())
        .await
        .expect("upload the config");
    blobs.insert(config_digest.clone(), a.config.len() as u64);
    let mut layers = Vec::new();
    for (media_type, bytes, annotations) in &a.layers {
        let d = client
            .upload_blob(&r, bytes.clone())
            .await
            .expect("upload a layer");
        blobs.insert(d.clone(), bytes.len() as u64);
        layers.push(json!({"mediaType": media_type, "digest": d, "size": bytes.len(), "annotations": annotations}));
    }
    let mut manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": a.config_type, "digest": config_digest, "size": a.config.len()},
        "layers": layers,
        "annotations": a.annotations,
    });
    if let Some(t) = a.artifact_type {
        manifest["artifactType"] = json!(t);
    }
    if let Some(s) = a.subject {
        manifest["subject"] =
            json!({"mediaType": OCI_MANIFEST, "digest": s.digest, "size": s.document.len()});
    }
    let document = serde_json::to_vec(&manifest).expect("json");
    let digest = Digest::sha256_of(&document);
    let reference = match tag {
        Some(t) => ManifestRef::Tag(Tag::parse(t).expect("tag")),
        None => ManifestRef::Digest(digest.clone()),
    };
    client
        .put_manifest(&r, &reference, OCI_MANIFEST, document.clone())
        .await
        .expect("push the manifest");
    Pushed {
        digest,
        document,
        blobs,
    }
}

/// A referrers index (the fallback tag's content) listing `referrers` with their types.
pub async fn push_fallback_index(
    client: &Client,
    repo_name: &str,
    subject: &Digest,
    referrers: &[(&Pushed, &str)],
) -> Pushed {
    let manifests: Vec<Value> = referrers
        .iter()
        .map(|(p, t)| json!({"mediaType": OCI_MANIFEST, "digest": p.digest, "size": p.document.len(), "artifactType": t}))
        .collect();
    let document = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": manifests,
    }))
    .expect("json");
    let tag = Tag::parse(&format!("sha256-{}", subject.hex())).expect("tag");
    client
        .put_manifest(
            &RepoName::parse(repo_name).expect("repo name"),
            &ManifestRef::Tag(tag),
            OCI_INDEX,
            document.clone(),
        )
        .await
        .expect("push the fallback index");
    Pushed {
        digest: Digest::sha256_of(&document),
        document,
        blobs: BTreeMap::new(),
    }
}

pub fn cosign_tag(subject: &Digest, suffix: &str) -> String {
    format!("sha256-{}.{suffix}", subject.hex())
}
