//! `LayoutSource` over layouts written by the tests, shaped as skopeo and zot write them.

use std::fs;
use std::path::Path;

use serde_json::json;

use super::*;
use crate::registry::manifest::{OCI_CONFIG, OCI_MANIFEST};
use crate::registry::{ImageConfig, Manifest};

const LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

fn write_blob(layout: &Path, bytes: &[u8]) -> Digest {
    let digest = Digest::sha256_of(bytes);
    let dir = layout.join("blobs/sha256");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join(digest.hex()), bytes).unwrap();
    digest
}

/// Writes a one-layer image into `layout` and returns its manifest descriptor (untagged).
fn write_image(layout: &Path, arch: &str) -> serde_json::Value {
    let layer_bytes = format!("layer for {arch}");
    let layer = write_blob(layout, layer_bytes.as_bytes());
    let config = serde_json::to_vec(&json!({
        "architecture": arch, "os": "linux",
        "config": {"Env": ["PATH=/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [layer.to_string()]},
    }))
    .unwrap();
    let config_digest = write_blob(layout, &config);
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": LAYER, "digest": layer, "size": layer_bytes.len()}],
    }))
    .unwrap();
    let digest = write_blob(layout, &manifest);
    json!({"mediaType": OCI_MANIFEST, "digest": digest, "size": manifest.len()})
}

fn tagged(descriptor: &serde_json::Value, ref_name: &str) -> serde_json::Value {
    let mut d = descriptor.clone();
    d["annotations"] = json!({ REF_NAME: ref_name });
    d
}

fn write_index(layout: &Path, manifests: &[serde_json::Value]) {
    fs::create_dir_all(layout).unwrap();
    fs::write(
        layout.join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    let index = json!({"schemaVersion": 2, "manifests": manifests});
    fs::write(
        layout.join("index.json"),
        serde_json::to_vec(&index).unwrap(),
    )
    .unwrap();
}

/// A layout holding one image under `v1`, `latest` and `docker.io/x/y:1.0`, plus an untagged
/// image and an entry whose ref.name is no tag.
fn write_repo(layout: &Path) -> (serde_json::Value, serde_json::Value) {
    let image = write_image(layout, "amd64");
    let untagged = write_image(layout, "arm64");
    write_index(
        layout,
        &[
            tagged(&image, "v1"),
            tagged(&image, "latest"),
            untagged.clone(),
            tagged(&image, "docker.io/x/y:1.0"),
            tagged(&untagged, "localhost:5000/app"),
        ],
    );
    (image, untagged)
}

fn repo(name: &str) -> RepoName {
    RepoName::parse(name).unwrap()
}

fn tag(name: &str) -> ManifestRef {
    ManifestRef::Tag(Tag::parse(name).unwrap())
}

fn digest_of(descriptor: &serde_json::Value) -> Digest {
    Digest::parse(descriptor["digest"].as_str().unwrap()).unwrap()
}

async fn list(source: &LayoutSource) -> Vec<String> {
    let pages = std::sync::Mutex::new(0);
    let repos = source
        .repositories(&|_page: &[RepoName]| *pages.lock().unwrap() += 1)
        .await
        .unwrap();
    assert_eq!(*pages.lock().unwrap(), 1, "one page with everything");
    repos.iter().map(ToString::to_string).collect()
}

#[tokio::test]
async fn single_layout_is_one_repository_named_after_its_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("My App");
    let (image, untagged) = write_repo(&layout);
    let source = LayoutSource::open(&layout).unwrap();
    assert_eq!(source.single_repository(), Some(repo("my-app")));
    assert_eq!(source.name(), "My App");
    assert_eq!(list(&source).await, ["my-app"]);

    let app = repo("my-app");
    let tags = source.tags(&app).await.unwrap();
    let tags: Vec<_> = tags.iter().map(Tag::as_str).collect();
    assert_eq!(tags, ["v1", "latest", "1.0"]);

    let head = source.resolve(&app, &tag("latest")).await.unwrap();
    assert_eq!(head.digest, digest_of(&image));
    assert_eq!(head.media_type, OCI_MANIFEST);
    assert_eq!(head.size, image["size"].as_u64().unwrap());

    let fetched = source.manifest(&app, &tag("v1")).await.unwrap();
    assert_eq!(fetched.digest, digest_of(&image));
    let Manifest::Image(manifest) = fetched.manifest else {
        panic!("expected an image manifest")
    };
    let config = source.blob(&app, &manifest.config.digest).await.unwrap();
    assert_eq!(ImageConfig::parse(&config).unwrap().architecture, "amd64");

    // The untagged image is still readable by digest.
    let by_digest = ManifestRef::Digest(digest_of(&untagged));
    let head = source.resolve(&app, &by_digest).await.unwrap();
    assert_eq!(head.size, untagged["size"].as_u64().unwrap());
    assert_eq!(head.media_type, OCI_MANIFEST);

    assert!(
        source
            .tags(&repo("other"))
            .await
            .unwrap_err()
            .is_not_found()
    );
    let missing = source.manifest(&app, &tag("nope")).await.unwrap_err();
    assert!(missing.is_not_found(), "{missing}");
    assert!(source.reference_prefix(&app).starts_with("oci:"));
}

#[tokio::test]
async fn root_of_layouts_nests_names_and_sees_new_repositories() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    for name in ["acme/web", "acme/api", "tools"] {
        write_repo(&root.join(name));
    }
    let source = LayoutSource::open(root).unwrap();
    assert_eq!(source.single_repository(), None);
    assert_eq!(list(&source).await, ["acme/api", "acme/web", "tools"]);
    assert_eq!(source.tags(&repo("acme/api")).await.unwrap().len(), 3);
    assert_eq!(
        source.layout_dir(&repo("acme/web")).unwrap(),
        root.join("acme/web")
    );

    // Pushed after opening: readable at once, listed from the next listing on.
    write_repo(&root.join("acme/worker"));
    assert_eq!(source.tags(&repo("acme/worker")).await.unwrap().len(), 3);
    assert_eq!(
        list(&source).await,
        ["acme/api", "acme/web", "acme/worker", "tools"]
    );
    assert!(source.tags(&repo("acme")).await.unwrap_err().is_not_found());
}

#[tokio::test]
async fn corrupt_blobs_are_caught_by_their_digest() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("app");
    let (image, _) = write_repo(&layout);
    let source = LayoutSource::open(&layout).unwrap();
    let app = repo("app");
    let Manifest::Image(manifest) = source.manifest(&app, &tag("v1")).await.unwrap().manifest
    else {
        panic!("expected an image manifest")
    };

    let config_path = blob_path(&layout, &manifest.config.digest);
    fs::write(&config_path, b"{\"tampered\":true}").unwrap();
    let err = source
        .blob(&app, &manifest.config.digest)
        .await
        .unwrap_err();
    assert!(matches!(err, RegistryError::DigestMismatch { .. }), "{err}");
    assert!(
        err.to_string().contains(&config_path.display().to_string()),
        "{err}"
    );

    let manifest_path = blob_path(&layout, &digest_of(&image));
    fs::write(&manifest_path, b"{}").unwrap();
    let err = source.manifest(&app, &tag("latest")).await.unwrap_err();
    assert!(matches!(err, RegistryError::DigestMismatch { .. }), "{err}");

    fs::remove_file(&manifest_path).unwrap();
    let err = source.resolve(&app, &tag("latest")).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

#[tokio::test]
async fn a_descriptor_with_the_wrong_size_is_malformed() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("app");
    let mut image = write_image(&layout, "amd64");
    image["size"] = json!(1);
    write_index(&layout, &[tagged(&image, "v1")]);
    let source = LayoutSource::open(&layout).unwrap();
    let err = source.manifest(&repo("app"), &tag("v1")).await.unwrap_err();
    assert!(matches!(err, RegistryError::Malformed { .. }), "{err}");
}

#[tokio::test]
async fn missing_index_json_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("app");
    write_repo(&layout);
    fs::remove_file(layout.join("index.json")).unwrap();
    let err = LayoutSource::open(&layout).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("index.json") && message.contains("missing"),
        "{message}"
    );

    // Inside a root, the broken repository is listed and explains itself when read.
    write_repo(&tmp.path().join("ok"));
    let source = LayoutSource::open(tmp.path()).unwrap();
    assert_eq!(list(&source).await, ["app", "ok"]);
    let err = source.tags(&repo("app")).await.unwrap_err();
    assert!(err.to_string().contains("index.json"), "{err}");
}

#[test]
fn a_directory_without_layouts_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    fs::create_dir(tmp.path().join("nothing")).unwrap();
    let err = LayoutSource::open(tmp.path()).unwrap_err();
    assert!(err.to_string().contains("no OCI image layout"), "{err}");
    let err = LayoutSource::open(tmp.path().join("absent")).unwrap_err();
    assert!(matches!(err, RegistryError::Io { .. }), "{err}");
    fs::write(tmp.path().join("file"), "x").unwrap();
    let err = LayoutSource::open(tmp.path().join("file")).unwrap_err();
    assert!(err.to_string().contains("not a directory"), "{err}");
}

#[tokio::test]
async fn malformed_index_json_names_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("app");
    write_repo(&layout);
    fs::write(layout.join("index.json"), "{not json").unwrap();
    let err = LayoutSource::open(&layout).unwrap_err();
    assert!(matches!(err, RegistryError::Malformed { .. }), "{err}");
    assert!(err.to_string().contains("index.json"), "{err}");
}
