//! Support for the copy tests: a fixture with single-platform images, a Docker manifest list
//! and an OCI index sharing a base layer; what a registry's storage and access log say about
//! blobs; and a check, from outside, that every tag of a registry points at a complete image.

use std::collections::BTreeMap;

use regatta::registry::{Client, Digest, Manifest, ManifestRef, RegistryError, RepoName};

use super::fixtures::FixtureBuilder;
use super::image::{Format, ImageSpec, Layer};
use super::registry::{AccessLogEntry, TestRegistry};

/// `team/app`: v1 and v2 (OCI, a shared base layer), latest = v2; `team/multi`: `1.0` a
/// Docker manifest list and `2.0` an OCI index, two platforms each, on the same base.
pub fn copy_fixture() -> FixtureBuilder {
    let base = Layer::random("copy-base", 96 * 1024);
    let mut b = FixtureBuilder::new();
    b.image(
        "team/app",
        &["v1"],
        ImageSpec::new(
            Format::Oci,
            vec![base.clone(), Layer::random("copy-app-v1", 40 * 1024)],
        ),
    );
    b.image(
        "team/app",
        &["v2", "latest"],
        ImageSpec::new(
            Format::Oci,
            vec![base.clone(), Layer::random("copy-app-v2", 50 * 1024)],
        ),
    );
    for (tag, format) in [("1.0", Format::Docker), ("2.0", Format::Oci)] {
        let images = ["amd64", "arm64"]
            .iter()
            .map(|arch| {
                ImageSpec::new(
                    format,
                    vec![
                        base.clone(),
                        Layer::random(&format!("copy-multi-{tag}-{arch}"), 30 * 1024),
                    ],
                )
                .platform("linux", arch, None)
            })
            .collect();
        b.index("team/multi", &[tag], format, images);
    }
    b
}

/// Every blob (and manifest) the registry stores, by digest, with its size: the `data` files
/// of its storage.
pub fn stored_blobs(registry: &TestRegistry) -> BTreeMap<Digest, u64> {
    let root = registry
        .storage_root()
        .join("docker/registry/v2/blobs/sha256");
    let mut found = BTreeMap::new();
    let Ok(prefixes) = std::fs::read_dir(&root) else {
        return found;
    };
    for prefix in prefixes.flatten() {
        for entry in std::fs::read_dir(prefix.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let data = entry.path().join("data");
            if let Ok(meta) = std::fs::metadata(&data) {
                let hex = entry.file_name().to_string_lossy().to_string();
                let digest = Digest::parse(&format!("sha256:{hex}")).expect("a digest");
                found.insert(digest, meta.len());
            }
        }
    }
    found
}

/// Whether a logged request moved blob bytes into the registry: an upload's PATCH or PUT.
/// Starting an upload (POST) and mounting move none.
pub fn is_blob_upload(entry: &AccessLogEntry) -> bool {
    entry.target.contains("/blobs/uploads/") && (entry.method == "PUT" || entry.method == "PATCH")
}

/// Whether a logged request was a cross-repository mount.
pub fn is_mount(entry: &AccessLogEntry) -> bool {
    entry.method == "POST"
        && entry.target.contains("/blobs/uploads/?")
        && entry.target.contains("mount=")
}

/// Checks, as any client would, that every tag of every repository points at a manifest
/// whose blobs and children all exist. Returns the number of tags checked, or what is wrong.
pub async fn every_tag_complete(client: &Client) -> Result<usize, String> {
    let repos = client.catalog(&|_| {}).await.map_err(|e| e.to_string())?;
    let mut checked = 0;
    for repo in repos {
        let tags = match client.tags(&repo).await {
            Ok(tags) => tags,
            Err(RegistryError::NotFound { .. }) => continue,
            Err(e) => return Err(e.to_string()),
        };
        for tag in tags {
            let fetched = match client
                .get_manifest(&repo, &ManifestRef::Tag(tag.clone()))
                .await
            {
                Ok(f) => f,
                // Distribution lists a tag a moment before it resolves (the tag's directory
                // is made before its link is written): not yet a tag, pointing nowhere.
                Err(RegistryError::NotFound { .. }) => continue,
                Err(e) => return Err(format!("{repo}:{tag} is listed but unreadable: {e}")),
            };
            complete(client, &repo, &fetched.manifest)
                .await
                .map_err(|e| format!("{repo}:{tag}: {e}"))?;
            checked += 1;
        }
    }
    Ok(checked)
}

fn complete<'a>(
    client: &'a Client,
    repo: &'a RepoName,
    manifest: &'a Manifest,
) -> futures::future::BoxFuture<'a, Result<(), String>> {
    Box::pin(async move {
        match manifest {
            Manifest::Image(m) => {
                for d in std::iter::once(&m.config).chain(&m.layers) {
                    client
                        .head_blob(repo, &d.digest)
                        .await
                        .map_err(|e| format!("blob {} missing: {e}", d.digest))?;
                }
            }
            Manifest::Index(index) => {
                for child in &index.manifests {
                    let fetched = client
                        .get_manifest(repo, &ManifestRef::Digest(child.digest.clone()))
                        .await
                        .map_err(|e| format!("child {} missing: {e}", child.digest))?;
                    complete(client, repo, &fetched.manifest).await?;
                }
            }
        }
        Ok(())
    })
}
