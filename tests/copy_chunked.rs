//! Chunked blob uploads (`upload_chunk_size` in a registry's config), for registries behind
//! proxies that cap a request's body: `regatta cp` to a real Distribution 2.8 sends each blob
//! as PATCH requests of at most that size, and the registry stores every blob whole, under
//! its digest (the sha256 of the file on disk).

mod support;

use regatta::registry::{Digest, ManifestRef};
use sha2::{Digest as _, Sha256};
use support::cli::Sandbox;
use support::copy::stored_blobs;
use support::fixtures::FixtureBuilder;
use support::image::{Format, ImageSpec, Layer};
use support::registry::{RegistryOptions, TestRegistry};
use support::truth::{repo, tag};

const CHUNK: u64 = 64 * 1024;

/// The sha256 of a blob's `data` file in the registry's storage.
fn stored_digest(registry: &TestRegistry, digest: &Digest) -> Digest {
    let path = registry
        .storage_root()
        .join("docker/registry/v2/blobs/sha256")
        .join(&digest.hex()[..2])
        .join(digest.hex())
        .join("data");
    let bytes = std::fs::read(&path).expect("the blob's data file");
    Digest::parse(&format!("sha256:{}", hex::encode(Sha256::digest(&bytes)))).expect("a digest")
}

#[tokio::test]
async fn a_configured_chunk_size_uploads_each_blob_in_patches_of_at_most_that_size() {
    let source = TestRegistry::start();
    let destination = TestRegistry::start_with(RegistryOptions {
        access_log: true,
        ..RegistryOptions::default()
    });
    let mut b = FixtureBuilder::new();
    // 300 KiB of incompressible bytes: five chunks, the last one short.
    b.image(
        "team/app",
        &["v1"],
        ImageSpec::new(Format::Oci, vec![Layer::random("chunked-big", 300 * 1024)]),
    );
    let truth = source.push(&b);
    let v1 = truth.tagged("team/app", "v1");

    let sandbox = Sandbox::new();
    sandbox.write_default_config(&format!(
        "[registries.mirror]\nurl = \"{}\"\nupload_chunk_size = \"64KiB\"\n",
        destination.url()
    ));
    let src = format!("{}/team/app:v1", source.addr());
    let before = destination.access_log().len();
    sandbox
        .run(&["cp", &src, "mirror/team/app", "--apply"])
        .ok();

    // Every blob arrived whole: its file on disk hashes to its digest and has its size.
    let stored = stored_blobs(&destination);
    for (digest, size) in &v1.blobs {
        assert_eq!(stored.get(digest), Some(size), "{digest}");
        assert_eq!(&stored_digest(&destination, digest), digest);
    }
    let tagged = destination
        .client()
        .head_manifest(&repo("team/app"), &ManifestRef::Tag(tag("v1")))
        .await
        .expect("the tag was set");
    assert_eq!(tagged.digest, v1.digest);

    // One PATCH per started chunk of each blob, and one completing PUT per blob.
    let log = destination.access_log_since(before);
    let uploads = |method: &str| {
        log.iter()
            .filter(|e| e.method == method && e.target.contains("/blobs/uploads/"))
            .count()
    };
    let expected_patches: u64 = v1.blobs.values().map(|size| size.div_ceil(CHUNK)).sum();
    assert!(
        v1.blobs.values().any(|&size| size > 4 * CHUNK),
        "the fixture has a blob of several chunks"
    );
    assert_eq!(uploads("PATCH") as u64, expected_patches, "{log:#?}");
    assert_eq!(uploads("PUT"), v1.blobs.len(), "{log:#?}");
    assert!(
        log.iter()
            .filter(|e| e.method == "PATCH")
            .all(|e| e.status == 202),
        "{log:#?}"
    );
}
