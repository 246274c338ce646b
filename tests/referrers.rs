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
use support::referrers::{Artifact, EMPTY, Pushed, cosign_tag, push_artifact, push_fallback_index};

fn repo(name: &str) -> RepoName {
    RepoName::parse(name).expect("repo name")
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

#[path = "referrers/audit.rs"]
mod audit;
#[path = "referrers/content.rs"]
mod content;
#[path = "referrers/delete.rs"]
mod delete;
#[path = "referrers/distribution.rs"]
mod distribution;
#[path = "referrers/fake_api.rs"]
mod fake_api;
#[path = "referrers/numbers.rs"]
mod numbers;
