//! Signatures, SBOMs and attestations: referrer discovery against the real Distribution 2.8
//! (no referrers API: cosign tags, fallback indexes, `subject` fields) with fixtures pushed
//! the way cosign, oras and Notation push them, one of them by the `oras` Python package;
//! and the OCI 1.1 referrers API against a fake registry (pagination, filtering, and a
//! registry that sends `OCI-Subject` without having the API).

mod support;

use std::collections::BTreeMap;

use regatta::registry::manifest::{OCI_CONFIG, OCI_INDEX, OCI_MANIFEST};
use regatta::registry::{Client, Digest, ManifestRef, RepoName, Tag};
use serde_json::{Value, json};

const EMPTY: &str = "application/vnd.oci.empty.v1+json";

fn repo(name: &str) -> RepoName {
    RepoName::parse(name).expect("repo name")
}

/// One artifact manifest as pushed: its digest and bytes, and the blobs it references.
#[derive(Debug, Clone)]
struct Pushed {
    digest: Digest,
    document: Vec<u8>,
    blobs: BTreeMap<Digest, u64>,
}

impl Pushed {
    /// Manifest plus distinct blobs: what the tree must report as the referrer's size.
    fn size(&self) -> u64 {
        self.document.len() as u64 + self.blobs.values().sum::<u64>()
    }
}

/// What an artifact manifest holds.
struct Artifact<'a> {
    artifact_type: Option<&'a str>,
    config_type: &'a str,
    config: &'a [u8],
    /// (media type, bytes, layer annotations)
    layers: Vec<(&'a str, Vec<u8>, Value)>,
    subject: Option<&'a Pushed>,
    annotations: Value,
}

async fn push_artifact(
    client: &Client,
    repo_name: &str,
    tag: Option<&str>,
    a: Artifact<'_>,
) -> Pushed {
    let r = repo(repo_name);
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
async fn push_fallback_index(
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
            &repo(repo_name),
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

fn cosign_tag(subject: &Digest, suffix: &str) -> String {
    format!("sha256-{}.{suffix}", subject.hex())
}

/// The nodes of a `referrers --json` tree by digest (depth-first), with their parent.
fn nodes(tree: &Value) -> BTreeMap<String, (Value, String)> {
    fn walk(parent: &str, list: &Value, out: &mut BTreeMap<String, (Value, String)>) {
        for n in list.as_array().expect("referrers is an array") {
            let d = n["digest"].as_str().expect("digest").to_string();
            out.insert(d.clone(), (n.clone(), parent.to_string()));
            walk(&d, &n["referrers"], out);
        }
    }
    let mut out = BTreeMap::new();
    let root = tree["subject"].as_str().expect("subject").to_string();
    walk(&root, &tree["referrers"], &mut out);
    out
}

fn sources(node: &Value) -> Vec<String> {
    node["found_via"]
        .as_array()
        .expect("found_via")
        .iter()
        .map(|v| match v["tag"].as_str() {
            Some(t) => format!("{}:{t}", v["source"].as_str().expect("source")),
            None => v["source"].as_str().expect("source").to_string(),
        })
        .collect()
}

#[path = "referrers/delete.rs"]
mod delete;
#[path = "referrers/distribution.rs"]
mod distribution;
#[path = "referrers/fake_api.rs"]
mod fake_api;
