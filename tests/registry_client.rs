//! The registry client against a real Distribution registry holding the standard fixture:
//! listings, manifests and blobs, each compared with the fixture's ground truth. Everything
//! here only reads, so the whole binary shares one registry.

mod support;

use std::io::Read;
use std::sync::Mutex;
use std::time::Duration;

use futures::future::join_all;
use regatta::registry::manifest::{DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST};
use regatta::registry::{
    ClientOptions, CredentialSource, Digest, ImageConfig, Manifest, ManifestRef, RegistryAddr,
    RegistryError, RequestKind, Source,
};
use support::registry::free_port;
use support::standard::{
    self, BIG_REPO, DOCKER_LIST, DOCKER_REPO, DOCKER_SAME_DIGEST, MULTI_ARCH,
    MULTI_ARCH_SAME_DIGEST, NESTED_REPO, OCI_REPO, RICH, shared,
};
use support::truth::{repo, tag};

/// The sha256 of `Layer::text("pinned")`'s tar, as first built.
const PINNED_DIFF_ID: &str =
    "sha256:2a6ef84b78b913c55784982ff17871d36e616f3bbd69621ab53b1a217f0b038a";

fn by_tag(t: &str) -> ManifestRef {
    ManifestRef::Tag(tag(t))
}

#[tokio::test]
async fn catalog_pages_of_seven_list_exactly_the_fixture() {
    let s = shared();
    let client = s.registry.client_with(ClientOptions {
        page_size: 7,
        ..s.registry.client_options()
    });
    let pages = Mutex::new(Vec::new());
    let names = client
        .catalog(&|page| pages.lock().expect("lock").push(page.len()))
        .await
        .expect("catalog");
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    assert_eq!(names, s.fixture.repo_names());
    assert_eq!(names.len(), standard::REPO_COUNT);
    // 150 = 21 full pages of 7 and one of 3, each reported as it arrived.
    let pages = pages.into_inner().expect("lock");
    assert_eq!(pages.len(), 22);
    assert!(pages[..21].iter().all(|&n| n == 7), "{pages:?}");
    assert_eq!(pages[21], 3);
    assert_eq!(client.counters().get(RequestKind::Catalog), 22);
}

#[tokio::test]
async fn catalog_with_the_default_page_size_is_one_request() {
    let s = shared();
    let client = s.registry.client();
    let names = client.catalog(&|_| {}).await.expect("catalog");
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    assert_eq!(names, s.fixture.repo_names());
    assert_eq!(client.counters().get(RequestKind::Catalog), 1);
}

#[tokio::test]
async fn tags_of_every_repository_are_exactly_the_fixture_tags() {
    let s = shared();
    let client = s.registry.client();
    let names = s.fixture.repo_names();
    let listed = join_all(names.iter().map(|n| {
        let client = client.clone();
        async move { client.tags(&repo(n)).await }
    }))
    .await;
    for (name, tags) in names.iter().zip(listed) {
        let mut tags: Vec<String> = tags
            .unwrap_or_else(|e| panic!("tags of {name}: {e}"))
            .iter()
            .map(|t| t.to_string())
            .collect();
        // Distribution returns tags in filesystem order; the set is what must match.
        tags.sort();
        assert_eq!(tags, s.fixture.tags(name), "tags of {name}");
    }
    assert_eq!(
        s.fixture.tags(DOCKER_REPO),
        ["latest", "nightly", "stable", "v1.0.0", "v1.1.0", "v1.2.0"]
    );
}

#[tokio::test]
async fn head_of_every_tag_gives_the_ground_truth_digest_type_and_size() {
    let s = shared();
    let client = s.registry.client();
    let mut checks = Vec::new();
    for name in s.fixture.repo_names() {
        for t in s.fixture.tags(&name) {
            let truth = s.fixture.tagged(&name, &t);
            let client = client.clone();
            let name = name.clone();
            checks.push(async move {
                let head = client
                    .head_manifest(&repo(&name), &by_tag(&t))
                    .await
                    .unwrap_or_else(|e| panic!("HEAD {name}:{t}: {e}"));
                assert_eq!(head.digest, truth.digest, "{name}:{t}");
                assert_eq!(head.media_type, truth.media_type, "{name}:{t}");
                assert_eq!(head.size, truth.manifest_size, "{name}:{t}");
            });
        }
    }
    assert!(checks.len() > 200);
    join_all(checks).await;
    // HEAD answered with Docker-Content-Digest: no GET fallback was needed.
    assert_eq!(client.counters().get(RequestKind::ManifestGet), 0);
}

#[tokio::test]
async fn the_four_manifest_kinds_have_the_expected_media_types() {
    let f = &shared().fixture;
    assert_eq!(f.tagged(MULTI_ARCH, "latest").media_type, OCI_INDEX);
    assert_eq!(
        f.tagged(DOCKER_LIST, "latest").media_type,
        DOCKER_MANIFEST_LIST
    );
    assert_eq!(f.tagged(DOCKER_REPO, "latest").media_type, DOCKER_MANIFEST);
    assert_eq!(f.tagged(OCI_REPO, "latest").media_type, OCI_MANIFEST);
    // And the client reads each kind the same way the fixture wrote it.
    let client = shared().registry.client();
    for (r, t) in [
        (MULTI_ARCH, "latest"),
        (DOCKER_LIST, "latest"),
        (DOCKER_REPO, "latest"),
        (OCI_REPO, "latest"),
    ] {
        let got = client
            .get_manifest(&repo(r), &by_tag(t))
            .await
            .expect("get");
        assert_eq!(got.media_type, f.tagged(r, t).media_type, "{r}:{t}");
    }
}

#[tokio::test]
async fn get_by_tag_returns_the_exact_document_and_its_structure() {
    let s = shared();
    let client = s.registry.client();
    for name in RICH {
        for t in s.fixture.tags(name) {
            let truth = s.fixture.tagged(name, &t);
            let got = client
                .get_manifest(&repo(name), &by_tag(&t))
                .await
                .unwrap_or_else(|e| panic!("GET {name}:{t}: {e}"));
            assert_eq!(got.digest, truth.digest, "{name}:{t}");
            assert_eq!(got.bytes, truth.document, "{name}:{t}");
            assert_eq!(got.media_type, truth.media_type, "{name}:{t}");
            match &got.manifest {
                Manifest::Index(index) => {
                    assert!(truth.is_index, "{name}:{t}");
                    let children: Vec<(Digest, String)> = index
                        .manifests
                        .iter()
                        .map(|d| {
                            let platform = d.platform.as_ref().expect("a platform");
                            (d.digest.clone(), platform.to_string())
                        })
                        .collect();
                    assert_eq!(children, truth.children, "{name}:{t}");
                }
                Manifest::Image(image) => {
                    assert!(!truth.is_index, "{name}:{t}");
                    assert_eq!(Some(&image.config.digest), truth.config.as_ref());
                    let layers: Vec<Digest> =
                        image.layers.iter().map(|l| l.digest.clone()).collect();
                    assert_eq!(layers, truth.layers, "{name}:{t}");
                    let sum: u64 =
                        image.config.size + image.layers.iter().map(|l| l.size).sum::<u64>();
                    // No image of the fixture repeats a layer, so the sum is the size.
                    assert_eq!(sum, truth.size, "{name}:{t}");
                }
            }
        }
    }
}

#[tokio::test]
async fn multi_arch_index_has_two_platforms_and_three_tags_on_one_digest() {
    let s = shared();
    let client = s.registry.client();
    let mut digests = Vec::new();
    for t in MULTI_ARCH_SAME_DIGEST {
        let head = client
            .head_manifest(&repo(MULTI_ARCH), &by_tag(t))
            .await
            .expect("head");
        digests.push(head.digest);
    }
    assert!(digests.windows(2).all(|w| w[0] == w[1]), "{digests:?}");
    assert_eq!(
        s.fixture.tags_on(MULTI_ARCH, &digests[0]),
        MULTI_ARCH_SAME_DIGEST.map(String::from).to_vec()
    );
    let older = client
        .head_manifest(&repo(MULTI_ARCH), &by_tag("3.18"))
        .await
        .expect("head 3.18");
    assert_ne!(older.digest, digests[0]);

    let index = s.fixture.tagged(MULTI_ARCH, "latest");
    let platforms: Vec<&str> = index.children.iter().map(|(_, p)| p.as_str()).collect();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64/v8"]);
    // The index's size is the union of its platforms' blobs; the children share none.
    let children_sum: u64 = index
        .children
        .iter()
        .map(|(d, _)| s.fixture.manifest(MULTI_ARCH, d).size)
        .sum();
    assert_eq!(index.size, children_sum);

    let same = s.fixture.tagged(DOCKER_REPO, DOCKER_SAME_DIGEST[0]);
    for t in DOCKER_SAME_DIGEST {
        let head = client
            .head_manifest(&repo(DOCKER_REPO), &by_tag(t))
            .await
            .expect("head");
        assert_eq!(head.digest, same.digest, "{t}");
    }
}

#[tokio::test]
async fn every_manifest_fetched_by_digest_verifies_including_children_and_untagged() {
    let s = shared();
    let client = s.registry.client();
    let mut count = 0;
    for name in RICH {
        for (digest, truth) in &s.fixture.repo(name).manifests {
            let got = client
                .get_manifest(&repo(name), &ManifestRef::Digest(digest.clone()))
                .await
                .unwrap_or_else(|e| panic!("GET {name}@{digest}: {e}"));
            assert_eq!(&got.digest, digest);
            assert_eq!(got.bytes, truth.document);
            assert_eq!(got.bytes.len() as u64, truth.manifest_size);
            count += 1;
        }
    }
    // alpine: 2 indexes + 4 children; api 5; worker 2; builder: a list + 2 children;
    // warehouse 2; nested 1.
    assert_eq!(count, 19);
    let untagged = s.fixture.untagged(DOCKER_REPO);
    assert_eq!(untagged.len(), 1, "the first nightly build");
    assert_eq!(untagged[0].created.as_deref(), Some("2024-06-01T02:00:00Z"));
}

#[tokio::test]
async fn blob_heads_give_the_ground_truth_sizes() {
    let s = shared();
    let client = s.registry.client();
    let mut checks = Vec::new();
    for name in RICH {
        for m in s.fixture.repo(name).manifests.values() {
            for (digest, size) in &m.blobs {
                let client = client.clone();
                checks.push(async move {
                    let got = client
                        .head_blob(&repo(name), digest)
                        .await
                        .unwrap_or_else(|e| panic!("HEAD blob {name} {digest}: {e}"));
                    assert_eq!(got, *size, "{name} {digest}");
                });
            }
        }
    }
    join_all(checks).await;
}

#[tokio::test]
async fn configs_carry_created_env_labels_entrypoint_cmd_and_history() {
    let s = shared();
    let client = s.registry.client();
    let truth = s.fixture.tagged(DOCKER_REPO, "v1.1.0");
    let config_digest = truth.config.as_ref().expect("an image");
    let bytes = client
        .get_blob(&repo(DOCKER_REPO), config_digest)
        .await
        .expect("config blob");
    assert_eq!(bytes.len() as u64, truth.blobs[config_digest]);
    let config = ImageConfig::parse(&bytes).expect("a config");
    assert_eq!(config.created.as_deref(), Some("2024-03-15T10:00:00Z"));
    assert!(config.created_at().is_some());
    assert_eq!(config.author.as_deref(), Some("Team API <api@example.com>"));
    assert_eq!(
        (config.os.as_str(), config.architecture.as_str()),
        ("linux", "amd64")
    );
    assert!(config.config.env.contains(&"APP_VERSION=1.1.0".to_string()));
    let labels = config.config.labels.as_ref().expect("labels");
    assert_eq!(labels["org.opencontainers.image.version"], "1.1.0");
    assert_eq!(
        config.config.entrypoint.as_deref(),
        Some(&["/srv/api".to_string()][..])
    );
    assert_eq!(
        config.config.cmd,
        Some(vec!["--port".to_string(), "8080".to_string()])
    );
    assert_eq!(config.config.working_dir.as_deref(), Some("/srv"));
    assert_eq!(config.rootfs.diff_ids, truth.diff_ids);
    // One history step per layer, plus empty-layer steps for ENV (3), LABEL (2), WORKDIR,
    // ENTRYPOINT and CMD.
    assert_eq!(config.layer_history().len(), truth.layers.len());
    assert_eq!(config.history.iter().filter(|h| h.empty_layer).count(), 8);

    let arm = s.fixture.tagged(MULTI_ARCH, "latest").children[1].0.clone();
    let arm_truth = s.fixture.manifest(MULTI_ARCH, &arm);
    let arm_config = client
        .get_blob(&repo(MULTI_ARCH), arm_truth.config.as_ref().expect("image"))
        .await
        .expect("arm64 config");
    let arm_config = ImageConfig::parse(&arm_config).expect("a config");
    assert_eq!(arm_config.architecture, "arm64");
    assert_eq!(arm_config.variant.as_deref(), Some("v8"));
}

#[tokio::test]
async fn layers_are_gzipped_tars_whose_sha256_is_the_diff_id() {
    let s = shared();
    let client = s.registry.client();
    for (name, t) in [
        (BIG_REPO, "v3"),
        (DOCKER_REPO, "v1.0.0"),
        (NESTED_REPO, "edge"),
    ] {
        let truth = s.fixture.tagged(name, t);
        for (layer, diff_id) in truth.layers.iter().zip(&truth.diff_ids) {
            let gz = client
                .get_blob_capped(&repo(name), layer, 16 * 1024 * 1024)
                .await
                .expect("layer blob");
            assert_eq!(gz.len() as u64, truth.blobs[layer]);
            let mut tar = Vec::new();
            flate2::read::GzDecoder::new(&gz[..])
                .read_to_end(&mut tar)
                .expect("gunzip");
            assert_eq!(Digest::sha256_of(&tar).to_string(), *diff_id);
            let mut archive = tar::Archive::new(&tar[..]);
            let entries = archive.entries().expect("tar entries").count();
            assert!(entries >= 1);
        }
    }
}

#[tokio::test]
async fn big_repository_tags_share_two_of_three_layers() {
    let f = &shared().fixture;
    let v2 = f.tagged(BIG_REPO, "v2");
    let v3 = f.tagged(BIG_REPO, "v3");
    let shared_layers: Vec<_> = v2.layers.iter().filter(|l| v3.layers.contains(l)).collect();
    assert_eq!(shared_layers.len(), 2);
    assert!(v3.size > 330 * 1024, "large layers: {}", v3.size);
    // The base layer is shared across repositories: team/api and team/worker hold it.
    let api_base = &f.tagged(DOCKER_REPO, "v1.0.0").layers[0];
    assert_eq!(api_base, &f.tagged(OCI_REPO, "1.0").layers[0]);
}

#[tokio::test]
async fn bytes_on_disk_equal_the_distinct_blobs_and_manifests_of_the_fixture() {
    let s = shared();
    assert_eq!(s.registry.blob_store_bytes(), s.fixture.stored_bytes());
}

#[tokio::test]
async fn the_source_trait_reads_the_same_as_the_client() {
    let s = shared();
    let client = s.registry.client();
    let source: &dyn Source = &client;
    assert_eq!(source.name(), s.registry.addr());
    let repos = source.repositories(&|_| {}).await.expect("repositories");
    assert_eq!(repos.len(), standard::REPO_COUNT);
    let truth = s.fixture.tagged(OCI_REPO, "1.1");
    let head = source
        .resolve(&repo(OCI_REPO), &by_tag("1.1"))
        .await
        .expect("resolve");
    assert_eq!(head.digest, truth.digest);
    let fetched = source
        .manifest(&repo(OCI_REPO), &ManifestRef::Digest(head.digest))
        .await
        .expect("manifest");
    assert_eq!(fetched.bytes, truth.document);
    let config = source
        .blob(&repo(OCI_REPO), truth.config.as_ref().expect("image"))
        .await
        .expect("config");
    assert_eq!(
        ImageConfig::parse(&config).expect("config").rootfs.diff_ids,
        truth.diff_ids
    );
}

#[tokio::test]
async fn missing_repository_tag_manifest_and_blob_are_not_found() {
    let s = shared();
    let client = s.registry.client();
    let err = client
        .tags(&repo("does/not-exist"))
        .await
        .expect_err("no such repo");
    assert!(err.is_not_found(), "{err:?}");
    assert!(err.to_string().contains("does/not-exist"), "{err}");

    let err = client
        .head_manifest(&repo(OCI_REPO), &by_tag("no-such-tag"))
        .await
        .expect_err("no such tag");
    assert!(matches!(err, RegistryError::NotFound { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!("404 Not Found: {OCI_REPO}:no-such-tag")
    );

    let err = client
        .get_manifest(&repo(OCI_REPO), &by_tag("no-such-tag"))
        .await
        .expect_err("no such tag");
    assert!(err.is_not_found(), "{err:?}");

    let absent = Digest::sha256_of(b"never pushed");
    let err = client
        .get_manifest(&repo(OCI_REPO), &ManifestRef::Digest(absent.clone()))
        .await
        .expect_err("no such manifest");
    assert!(err.is_not_found(), "{err:?}");
    let err = client
        .head_blob(&repo(OCI_REPO), &absent)
        .await
        .expect_err("no such blob");
    assert!(err.is_not_found(), "{err:?}");
    // A blob that exists, but in another repository, is not found here.
    let other = s.fixture.tagged(BIG_REPO, "v3").layers[2].clone();
    let err = client
        .head_blob(&repo(OCI_REPO), &other)
        .await
        .expect_err("not linked in this repository");
    assert!(err.is_not_found(), "{err:?}");
}

#[tokio::test]
async fn nothing_listening_is_unreachable() {
    let port = free_port();
    let addr = RegistryAddr::parse(&format!("127.0.0.1:{port}")).expect("addr");
    let client = regatta::registry::Client::new(
        addr,
        ClientOptions {
            credentials: CredentialSource::Anonymous,
            max_retries: 1,
            retry_base: Duration::from_millis(10),
            ..ClientOptions::default()
        },
    )
    .expect("client");
    let err = client.ping().await.expect_err("nothing listens");
    match &err {
        RegistryError::Unreachable { host, .. } => assert_eq!(host, &format!("127.0.0.1:{port}")),
        other => panic!("expected Unreachable, got {other:?}"),
    }
    assert!(
        err.to_string()
            .starts_with(&format!("cannot reach 127.0.0.1:{port}")),
        "{err}"
    );
    // The connection error was retried once, then reported.
    assert_eq!(client.counters().get(RequestKind::Ping), 2);
    let err = client.catalog(&|_| {}).await.expect_err("nothing listens");
    assert!(matches!(err, RegistryError::Unreachable { .. }), "{err:?}");
}

#[test]
fn fixtures_are_deterministic() {
    // Built again from scratch, the standard fixture has the very digests that were pushed.
    let again = standard::standard_fixture().truth();
    let pushed = &shared().fixture;
    assert_eq!(again.repo_names(), pushed.repo_names());
    for name in pushed.repo_names() {
        assert_eq!(again.repo(&name).tags, pushed.repo(&name).tags, "{name}");
    }
    // Tars have fixed mtimes, owners and modes: their bytes never change from run to run.
    let layer = support::image::Layer::text("pinned");
    assert_eq!(layer.diff_id(), PINNED_DIFF_ID);
}
