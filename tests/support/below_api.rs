//! Fixtures for the storage-level tests (`tests/below_api_*.rs`) and what Distribution's
//! collector keeps of them, worked out from the ground truth alone (never through
//! `regatta::storage`).
//!
//! [`repushed`] (where `--delete-untagged` is safe):
//!
//! | repository | history |
//! |---|---|
//! | `below/app` | `v1` = A1, then `v1` = A2 (A1 left untagged); `latest` = A3; `tmp` = T, deleted through the API (not collected) |
//! | `below/other` | `1.0` = O1, then `1.0` = O2 (O1 left untagged; it shares a layer with A3) |
//! | `below/mirror` | `old` = A1: the manifest untagged in `below/app` is tagged here |
//!
//! [`multiarch`] (where it breaks an index): `below/multi` tags an index `2.0`, then moves
//! `2.0` to a second index; both indexes' platform manifests are untagged, the first index too.

use std::collections::{BTreeMap, BTreeSet};

use regatta::registry::Digest;

use super::fixtures::FixtureBuilder;
use super::image::{Format, ImageSpec, Layer};
use super::registry::TestRegistry;
use super::truth::Fixture;

pub const APP: &str = "below/app";
pub const OTHER: &str = "below/other";
pub const MIRROR: &str = "below/mirror";
pub const MULTI: &str = "below/multi";

fn image(layers: Vec<Layer>) -> ImageSpec {
    ImageSpec::new(Format::Oci, layers)
}

/// See the module docs. The manifest tagged `tmp` is in the truth; delete it with
/// [`delete_manifest`].
pub fn repushed() -> FixtureBuilder {
    let base = Layer::random("below-base", 16 * 1024);
    let shared = Layer::random("below-shared", 6 * 1024);
    let a1 = image(vec![base.clone(), Layer::random("below-a1", 5 * 1024)]);
    let mut b = FixtureBuilder::new();
    b.image(APP, &["v1"], a1.clone());
    b.image(
        APP,
        &["v1"],
        image(vec![base.clone(), Layer::random("below-a2", 4 * 1024)]),
    );
    b.image(
        APP,
        &["latest"],
        image(vec![
            base.clone(),
            shared.clone(),
            Layer::random("below-a3", 3 * 1024),
        ]),
    );
    b.image(
        APP,
        &["tmp"],
        image(vec![base.clone(), Layer::random("below-tmp", 7 * 1024)]),
    );
    b.image(
        OTHER,
        &["1.0"],
        image(vec![
            base.clone(),
            shared,
            Layer::random("below-o1", 9 * 1024),
        ]),
    );
    b.image(
        OTHER,
        &["1.0"],
        image(vec![base, Layer::random("below-o2", 2 * 1024)]),
    );
    b.image(MIRROR, &["old"], a1);
    b
}

/// See the module docs.
pub fn multiarch() -> FixtureBuilder {
    let base = Layer::random("below-multi-base", 12 * 1024);
    let arm = Layer::random("below-multi-arm", 11 * 1024);
    let platforms = |version: &str| {
        vec![
            image(vec![
                base.clone(),
                Layer::random(&format!("below-multi-amd64-{version}"), 3 * 1024),
            ]),
            image(vec![
                arm.clone(),
                Layer::random(&format!("below-multi-arm64-{version}"), 4 * 1024),
            ])
            .platform("linux", "arm64", Some("v8")),
        ]
    };
    let mut b = FixtureBuilder::new();
    b.index(MULTI, &["2.0"], Format::Oci, platforms("1"));
    b.index(MULTI, &["2.0"], Format::Oci, platforms("2"));
    b
}

/// Deletes `repo@digest` through the API and from the truth.
pub fn delete_manifest(registry: &TestRegistry, truth: &mut Fixture, repo: &str, digest: &Digest) {
    super::block_on(
        registry
            .client()
            .delete_manifest(&super::truth::repo(repo), digest),
    )
    .expect("delete the manifest");
    truth.remove_manifest(repo, digest);
}

/// Starts a blob upload in `repo` (POST), sends `bytes` (PATCH) and never finishes it.
/// Returns the upload's id.
pub fn abandon_upload(registry: &TestRegistry, repo: &str, bytes: &[u8]) -> String {
    regatta::registry::install_crypto_provider();
    let base = registry.url();
    let bytes = bytes.to_vec();
    let repo = repo.to_string();
    super::block_on(async move {
        let http = reqwest::Client::new();
        let started = http
            .post(format!("{base}/v2/{repo}/blobs/uploads/"))
            .send()
            .await
            .expect("start an upload");
        assert_eq!(started.status().as_u16(), 202);
        let location = started.headers()["location"]
            .to_str()
            .expect("a location")
            .to_string();
        let id = started.headers()["docker-upload-uuid"]
            .to_str()
            .expect("an upload id")
            .to_string();
        let url = if location.starts_with("http") {
            location
        } else {
            format!("{base}{location}")
        };
        let patched = http
            .patch(url)
            .header("content-type", "application/octet-stream")
            .body(bytes)
            .send()
            .await
            .expect("send upload bytes");
        assert_eq!(patched.status().as_u16(), 202);
        id
    })
}

/// Manifests of `repo` no tag reaches (tagged, or a child at any depth of a tagged index).
pub fn unreached(truth: &Fixture, repo: &str) -> BTreeSet<Digest> {
    let r = truth.repo(repo);
    let mut reached = BTreeSet::new();
    let mut stack: Vec<Digest> = r.tags.values().cloned().collect();
    while let Some(d) = stack.pop() {
        if reached.insert(d.clone()) {
            stack.extend(r.manifests[&d].children.iter().map(|(c, _)| c.clone()));
        }
    }
    r.manifests
        .keys()
        .filter(|d| !reached.contains(*d))
        .cloned()
        .collect()
}

/// The blobs `digest` of `repo` references, itself and its children's included.
pub fn closure(truth: &Fixture, repo: &str, digest: &Digest) -> BTreeMap<Digest, u64> {
    let m = truth.manifest(repo, digest);
    let mut out = BTreeMap::from([(m.digest.clone(), m.manifest_size)]);
    if m.is_index {
        for (child, _) in &m.children {
            out.extend(closure(truth, repo, child));
        }
    } else {
        out.extend(m.blobs.clone());
    }
    out
}

/// What `garbage-collect --delete-untagged` keeps: per repository, each tagged manifest with,
/// for an image, its config and layers, and for an index, its children's documents only
/// (distribution issue 3178).
pub fn kept_by_delete_untagged(truth: &Fixture) -> BTreeMap<Digest, u64> {
    let mut out = BTreeMap::new();
    for repo in truth.repos.values() {
        for digest in repo.tags.values() {
            let m = &repo.manifests[digest];
            out.insert(m.digest.clone(), m.manifest_size);
            if m.is_index {
                for (child, _) in &m.children {
                    out.insert(child.clone(), repo.manifests[child].manifest_size);
                }
            } else {
                out.extend(m.blobs.clone());
            }
        }
    }
    out
}

/// Every file under the storage root with its size and modification time, to show that
/// reading the storage changed nothing.
pub fn listing(
    root: &std::path::Path,
) -> BTreeMap<std::path::PathBuf, (u64, std::time::SystemTime)> {
    fn walk(
        dir: &std::path::Path,
        out: &mut BTreeMap<std::path::PathBuf, (u64, std::time::SystemTime)>,
    ) {
        for entry in std::fs::read_dir(dir)
            .expect("read a storage dir")
            .flatten()
        {
            let meta = entry.metadata().expect("stat");
            if meta.is_dir() {
                walk(&entry.path(), out);
            }
            out.insert(entry.path(), (meta.len(), meta.modified().expect("mtime")));
        }
    }
    let mut out = BTreeMap::new();
    walk(root, &mut out);
    out
}

/// Digests `garbage-collect` prints as eligible for deletion.
pub fn eligible(output: &str) -> BTreeSet<Digest> {
    output
        .lines()
        .filter_map(|l| l.split("blob eligible for deletion: ").nth(1))
        .map(|d| Digest::parse(d.trim()).expect("a digest in the collector's output"))
        .collect()
}
