//! Writes against a real registry: deletes and what they free after garbage collection,
//! disabled deletes, restarts, blob mounts, moving and restoring tags, and request counts
//! read from the registry's own access log. Each test has a registry of its own.

mod support;

use regatta::registry::{Digest, ManifestRef, MountAnswer, RegistryError, RequestKind};
use support::fixtures::FixtureBuilder;
use support::image::{Format, ImageSpec, Layer};
use support::registry::{RegistryOptions, TestRegistry};
use support::truth::{Fixture, repo, tag};

/// `app`: `v1`, and `v2` = `latest` = `stable` (sharing a base layer with `v1`); `other`
/// sharing the same base; `multi`: an OCI index of two platforms.
fn small_fixture() -> FixtureBuilder {
    support::cleanup::three_repos("writes-", "multi-")
}

async fn push(registry: &TestRegistry, builder: &FixtureBuilder) -> Fixture {
    builder
        .push(&registry.client())
        .await
        .expect("push the fixture")
}

async fn sorted_tags(registry: &TestRegistry, name: &str) -> Vec<String> {
    let mut tags: Vec<String> = registry
        .client()
        .tags(&repo(name))
        .await
        .expect("tags")
        .iter()
        .map(|t| t.to_string())
        .collect();
    tags.sort();
    tags
}

#[tokio::test]
async fn delete_by_digest_removes_every_tag_on_it_and_gc_frees_exactly_its_own_blobs() {
    let registry = TestRegistry::start();
    let mut truth = push(&registry, &small_fixture()).await;
    let client = registry.client();
    assert_eq!(registry.blob_store_bytes(), truth.stored_bytes());

    let v2 = truth.tagged("app", "v2").clone();
    assert_eq!(truth.tags_on("app", &v2.digest), ["latest", "stable", "v2"]);
    client
        .delete_manifest(&repo("app"), &v2.digest)
        .await
        .expect("delete v2");

    assert_eq!(sorted_tags(&registry, "app").await, ["v1"]);
    for t in ["v2", "latest", "stable"] {
        let err = client
            .head_manifest(&repo("app"), &ManifestRef::Tag(tag(t)))
            .await
            .expect_err("the tag went with the manifest");
        assert!(err.is_not_found(), "{t}: {err:?}");
    }
    let by_digest = ManifestRef::Digest(v2.digest.clone());
    let err = client
        .get_manifest(&repo("app"), &by_digest)
        .await
        .expect_err("gone");
    assert!(err.is_not_found(), "{err:?}");
    let err = client
        .delete_manifest(&repo("app"), &v2.digest)
        .await
        .expect_err("a second delete");
    assert!(matches!(err, RegistryError::NotFound { .. }), "{err:?}");
    assert_eq!(client.counters().get(RequestKind::ManifestDelete), 2);

    // Deleting frees nothing until garbage collection: v2's own layer still answers.
    let own_layer = v2.layers[1].clone();
    assert_eq!(
        client
            .head_blob(&repo("app"), &own_layer)
            .await
            .expect("still there"),
        v2.blobs[&own_layer]
    );
    assert_eq!(registry.blob_store_bytes(), truth.stored_bytes());

    let gc = registry.garbage_collect();
    truth.remove_manifest("app", &v2.digest);
    // Freed: v2's manifest, config and own layer. The shared base layer stays.
    assert_eq!(registry.blob_store_bytes(), truth.stored_bytes());
    assert!(
        gc.contains(own_layer.as_str()),
        "GC names what it deletes:\n{gc}"
    );
    let client = registry.client();
    let err = client
        .head_blob(&repo("app"), &own_layer)
        .await
        .expect_err("collected");
    assert!(err.is_not_found(), "{err:?}");
    let v1 = truth.tagged("app", "v1");
    let got = client
        .get_manifest(&repo("app"), &ManifestRef::Tag(tag("v1")))
        .await
        .expect("v1 survives");
    assert_eq!(got.digest, v1.digest);
    for (digest, size) in &v1.blobs {
        assert_eq!(
            client
                .head_blob(&repo("app"), digest)
                .await
                .expect("v1 blob"),
            *size
        );
    }
}

#[tokio::test]
async fn deleting_an_index_leaves_its_children_and_gc_keeps_their_layers() {
    let registry = TestRegistry::start();
    let mut truth = push(&registry, &small_fixture()).await;
    let client = registry.client();
    let index = truth.tagged("multi", "latest").clone();
    client
        .delete_manifest(&repo("multi"), &index.digest)
        .await
        .expect("delete the index");
    assert!(sorted_tags(&registry, "multi").await.is_empty());

    registry.garbage_collect();
    truth.remove_manifest("multi", &index.digest);
    assert_eq!(registry.blob_store_bytes(), truth.stored_bytes());
    let client_after = registry.client();
    for (child, _) in &index.children {
        let got = client_after
            .get_manifest(&repo("multi"), &ManifestRef::Digest(child.clone()))
            .await
            .expect("an untagged child survives plain GC");
        assert_eq!(&got.digest, child);
    }
    assert_eq!(truth.untagged("multi").len(), 2);
}

#[tokio::test]
async fn garbage_collect_dry_run_deletes_nothing() {
    let registry = TestRegistry::start();
    let truth = push(&registry, &small_fixture()).await;
    let v1 = truth.tagged("app", "v1").digest.clone();
    registry
        .client()
        .delete_manifest(&repo("app"), &v1)
        .await
        .expect("delete v1");
    let before = registry.blob_store_bytes();
    let out = registry.garbage_collect_with(&["--dry-run"]);
    assert!(out.contains("eligible for deletion"), "{out}");
    assert_eq!(registry.blob_store_bytes(), before);
    assert!(registry.is_running());
}

#[tokio::test]
async fn with_deletes_disabled_a_delete_is_delete_disabled_and_changes_nothing() {
    let registry = TestRegistry::start_with(RegistryOptions {
        delete_enabled: false,
        ..RegistryOptions::default()
    });
    let truth = push(&registry, &small_fixture()).await;
    let digest = truth.tagged("app", "v1").digest.clone();
    let err = registry
        .client()
        .delete_manifest(&repo("app"), &digest)
        .await
        .expect_err("deletes are off");
    match &err {
        RegistryError::DeleteDisabled { host } => assert_eq!(host, &registry.addr()),
        other => panic!("expected DeleteDisabled, got {other:?}"),
    }
    let sentence = err.to_string();
    assert!(sentence.starts_with("405 Method Not Allowed"), "{sentence}");
    assert!(sentence.contains("storage.delete.enabled"), "{sentence}");
    assert_eq!(sorted_tags(&registry, "app").await, truth.tags("app"));
}

#[tokio::test]
async fn a_restarted_registry_keeps_its_port_and_content() {
    let registry = TestRegistry::start();
    let truth = push(&registry, &small_fixture()).await;
    let url = registry.url();
    assert!(registry.stop());
    assert!(!registry.stop(), "already stopped");
    let err = registry.client().ping().await.expect_err("stopped");
    assert!(matches!(err, RegistryError::Unreachable { .. }), "{err:?}");
    registry.start_again();
    assert_eq!(registry.url(), url);
    let client = registry.client();
    let names: Vec<String> = client
        .catalog(&|_| {})
        .await
        .expect("catalog")
        .iter()
        .map(|n| n.to_string())
        .collect();
    assert_eq!(names, truth.repo_names());
    assert_eq!(registry.blob_store_bytes(), truth.stored_bytes());
}

#[tokio::test]
async fn a_moved_tag_leaves_the_old_manifest_and_a_deleted_tag_can_be_put_back() {
    let registry = TestRegistry::start();
    let mut builder = small_fixture();
    builder.image(
        "app",
        &["v1"],
        ImageSpec::new(Format::Oci, vec![Layer::random("writes-v1-rebuilt", 1024)]),
    );
    let truth = push(&registry, &builder).await;
    let client = registry.client();
    let head = client
        .head_manifest(&repo("app"), &ManifestRef::Tag(tag("v1")))
        .await
        .expect("v1");
    assert_eq!(head.digest, truth.tagged("app", "v1").digest);
    let untagged = truth.untagged("app");
    assert_eq!(untagged.len(), 1);
    let old = untagged[0].clone();
    let got = client
        .get_manifest(&repo("app"), &ManifestRef::Digest(old.digest.clone()))
        .await
        .expect("the old v1 is still stored");
    assert_eq!(got.bytes, old.document);

    let v2 = truth.tagged("app", "v2").clone();
    client
        .delete_manifest(&repo("app"), &v2.digest)
        .await
        .expect("delete");
    let restored = client
        .put_manifest(
            &repo("app"),
            &ManifestRef::Tag(tag("stable")),
            &v2.media_type,
            v2.document.clone(),
        )
        .await
        .expect("put the manifest back under a tag");
    assert_eq!(restored, v2.digest);
    assert_eq!(sorted_tags(&registry, "app").await, ["stable", "v1"]);
}

#[tokio::test]
async fn mount_links_a_blob_from_another_repository() {
    let registry = TestRegistry::start();
    let truth = push(&registry, &small_fixture()).await;
    let client = registry.client();
    let layer = truth.tagged("other", "1").layers[1].clone();
    let size = truth.tagged("other", "1").blobs[&layer];
    let err = client
        .head_blob(&repo("fresh"), &layer)
        .await
        .expect_err("not linked yet");
    assert!(err.is_not_found(), "{err:?}");
    assert!(matches!(
        client
            .mount_blob(&repo("fresh"), &layer, &repo("other"))
            .await
            .expect("mount"),
        MountAnswer::Mounted
    ));
    assert_eq!(
        client
            .head_blob(&repo("fresh"), &layer)
            .await
            .expect("mounted"),
        size
    );
    // A blob the source does not have cannot be mounted; the registry opens an upload
    // session instead, and the bytes go there with no second POST.
    let absent = Digest::sha256_of(b"nowhere");
    let answer = client
        .mount_blob(&repo("fresh"), &absent, &repo("other"))
        .await
        .expect("a declined mount is not an error");
    let MountAnswer::Declined(Some(session)) = answer else {
        panic!("expected an upload session: {answer:?}");
    };
    let body = futures::stream::iter([Ok(bytes::Bytes::from_static(b"nowhere"))]);
    client
        .upload_blob_stream(&repo("fresh"), &absent, 7, body, Some(session))
        .await
        .expect("the bytes go into the session the mount opened");
    assert_eq!(
        client
            .head_blob(&repo("fresh"), &absent)
            .await
            .expect("uploaded"),
        7
    );
}

#[tokio::test]
async fn the_access_log_shows_pagination_and_skipped_uploads() {
    let registry = TestRegistry::start_with(RegistryOptions {
        access_log: true,
        ..RegistryOptions::default()
    });
    let truth = push(&registry, &small_fixture()).await;
    let entries = registry.access_log();
    assert!(!entries.is_empty(), "access log on:\n{}", registry.log());
    assert!(
        entries
            .iter()
            .any(|e| e.method == "GET" && e.target == "/v2/" && e.status == 200)
    );

    // Three repositories in pages of two: two requests, each one line in the log.
    let client = registry.client_with(regatta::registry::ClientOptions {
        page_size: 2,
        ..registry.client_options()
    });
    let names = client.catalog(&|_| {}).await.expect("catalog");
    assert_eq!(names.len(), truth.repos.len());
    assert_eq!(registry.count_requests("GET", "/v2/_catalog?"), 2);
    assert_eq!(client.counters().get(RequestKind::Catalog), 2);

    // Uploading bytes the repository already has costs one HEAD and no upload.
    let puts_before = registry.count_requests("PUT", "/v2/app/blobs/uploads/");
    let heads_before = registry.count_requests("HEAD", "/v2/app/blobs/");
    let layer = Layer::random("writes-v1", 3 * 1024);
    let digest = client
        .upload_blob(&repo("app"), layer.gz.clone())
        .await
        .expect("upload");
    assert_eq!(digest, layer.digest());
    assert_eq!(
        registry.count_requests("PUT", "/v2/app/blobs/uploads/"),
        puts_before
    );
    assert_eq!(
        registry.count_requests("HEAD", "/v2/app/blobs/"),
        heads_before + 1
    );
    // New bytes go up in one monolithic PUT.
    let fresh = Layer::random("writes-fresh", 1024);
    client
        .upload_blob(&repo("app"), fresh.gz.clone())
        .await
        .expect("upload");
    assert_eq!(
        registry.count_requests("PUT", "/v2/app/blobs/uploads/"),
        puts_before + 1
    );
    let last_put = registry
        .access_log()
        .into_iter()
        .rfind(|e| e.method == "PUT")
        .expect("a PUT");
    assert_eq!(last_put.status, 201);
    assert!(
        last_put.target.contains(&format!(
            "digest={}",
            fresh.digest().as_str().replace(':', "%3A")
        )),
        "{last_put:?}"
    );
}
