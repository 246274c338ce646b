//! What a real registry will not do on request, from an in-process fake: malformed bodies,
//! schema 1, bodies that do not match their digest, endless pagination, transient 5xx and
//! 429, `null` lists, oversized bodies. Each test has a fake of its own.

use std::time::{Duration, Instant};

use regatta::registry::manifest::{DOCKER_SCHEMA1_SIGNED, OCI_MANIFEST};
use regatta::registry::{
    Client, ClientOptions, CredentialSource, Digest, MAX_DOCUMENT_BYTES, ManifestRef, RegistryAddr,
    RegistryError, RepoName, RequestKind, Tag,
};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn repo(name: &str) -> RepoName {
    RepoName::parse(name).expect("repo name")
}

fn by_tag(t: &str) -> ManifestRef {
    ManifestRef::Tag(Tag::parse(t).expect("tag"))
}

fn client(server: &MockServer) -> Client {
    client_with(server, ClientOptions::default())
}

fn client_with(server: &MockServer, options: ClientOptions) -> Client {
    let addr = RegistryAddr::parse(&server.address().to_string()).expect("addr");
    Client::new(
        addr,
        ClientOptions {
            credentials: CredentialSource::Anonymous,
            retry_base: Duration::from_millis(10),
            ..options
        },
    )
    .expect("client")
}

async fn requests_to(server: &MockServer, to: &str) -> usize {
    server
        .received_requests()
        .await
        .expect("recording on")
        .iter()
        .filter(|r| r.url.path() == to)
        .count()
}

fn oci_manifest() -> Vec<u8> {
    let d = Digest::sha256_of(b"config");
    serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": d, "size": 6},
        "layers": []
    }))
    .expect("json")
}

#[tokio::test]
async fn a_malformed_tags_body_is_malformed_naming_the_url() {
    let server = MockServer::start().await;
    Mock::given(path("/v2/team/app/tags/list"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(r#"{"name":"team/app","tags":["a","#, "application/json"),
        )
        .mount(&server)
        .await;
    let err = client(&server)
        .tags(&repo("team/app"))
        .await
        .expect_err("bad JSON");
    match &err {
        RegistryError::Malformed { url, .. } => {
            assert!(
                url.starts_with(&format!("{}/v2/team/app/tags/list", server.uri())),
                "{url}"
            );
        }
        other => panic!("expected Malformed, got {other:?}"),
    }
    assert!(
        err.to_string()
            .starts_with("malformed response from http://"),
        "{err}"
    );
}

#[tokio::test]
async fn null_tags_and_null_repositories_are_empty_lists() {
    let server = MockServer::start().await;
    Mock::given(path("/v2/team/app/tags/list"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"name":"team/app","tags":null})),
        )
        .mount(&server)
        .await;
    Mock::given(path("/v2/_catalog"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"repositories":null})))
        .mount(&server)
        .await;
    let client = client(&server);
    assert!(
        client
            .tags(&repo("team/app"))
            .await
            .expect("null tags")
            .is_empty()
    );
    assert!(
        client
            .catalog(&|_| {})
            .await
            .expect("null repos")
            .is_empty()
    );
}

#[tokio::test]
async fn invalid_names_in_a_listing_are_skipped_not_fatal() {
    let server = MockServer::start().await;
    Mock::given(path("/v2/team/app/tags/list"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"tags": ["good", "../../etc/passwd", ".hidden", "also-good"]}),
            ),
        )
        .mount(&server)
        .await;
    let tags = client(&server).tags(&repo("team/app")).await.expect("tags");
    let tags: Vec<&str> = tags.iter().map(|t| t.as_str()).collect();
    assert_eq!(tags, ["good", "also-good"]);
}

#[tokio::test]
async fn a_schema1_manifest_is_the_schema1_error() {
    let server = MockServer::start().await;
    let body = json!({"schemaVersion": 1, "name": "team/app", "tag": "old", "fsLayers": [], "signatures": []});
    Mock::given(method("GET"))
        .and(path("/v2/team/app/manifests/old"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            serde_json::to_vec(&body).expect("json"),
            DOCKER_SCHEMA1_SIGNED,
        ))
        .mount(&server)
        .await;
    // Also without the telling content type: the body's schemaVersion says it.
    Mock::given(method("GET"))
        .and(path("/v2/team/app/manifests/old-plain"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(serde_json::to_vec(&body).expect("json"), "application/json"),
        )
        .mount(&server)
        .await;
    let client = client(&server);
    for t in ["old", "old-plain"] {
        let err = client
            .get_manifest(&repo("team/app"), &by_tag(t))
            .await
            .expect_err("schema 1");
        match &err {
            RegistryError::Schema1 { what } => assert_eq!(what, &format!("team/app:{t}")),
            other => panic!("expected Schema1, got {other:?}"),
        }
        assert!(err.to_string().contains("schema 1"), "{err}");
    }
}

#[tokio::test]
async fn a_body_that_does_not_hash_to_the_digest_is_a_digest_mismatch() {
    let server = MockServer::start().await;
    let body = oci_manifest();
    let actual = Digest::sha256_of(&body);
    let asked = Digest::sha256_of(b"some other manifest");
    Mock::given(method("GET"))
        .and(path(format!("/v2/team/app/manifests/{asked}")))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body.clone(), OCI_MANIFEST))
        .mount(&server)
        .await;
    // By tag, the registry's own Docker-Content-Digest header is the expectation.
    Mock::given(method("GET"))
        .and(path("/v2/team/app/manifests/lying"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(body.clone(), OCI_MANIFEST)
                .insert_header("Docker-Content-Digest", asked.as_str()),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v2/team/app/blobs/{asked}")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(b"tampered".to_vec(), "application/octet-stream"),
        )
        .mount(&server)
        .await;
    let client = client(&server);
    for reference in [ManifestRef::Digest(asked.clone()), by_tag("lying")] {
        let err = client
            .get_manifest(&repo("team/app"), &reference)
            .await
            .expect_err("mismatch");
        match &err {
            RegistryError::DigestMismatch {
                expected,
                actual: got,
                ..
            } => {
                assert_eq!(expected, asked.as_str());
                assert_eq!(got, actual.as_str());
            }
            other => panic!("expected DigestMismatch for {reference}, got {other:?}"),
        }
    }
    let err = client
        .get_blob(&repo("team/app"), &asked)
        .await
        .expect_err("tampered blob");
    assert!(
        matches!(&err, RegistryError::DigestMismatch { actual, .. } if *actual == Digest::sha256_of(b"tampered").to_string()),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_catalog_linking_to_itself_is_a_pagination_loop() {
    let server = MockServer::start().await;
    Mock::given(path("/v2/_catalog"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"repositories": ["a", "b"]}))
                .insert_header("Link", r#"</v2/_catalog?n=2>; rel="next""#),
        )
        .mount(&server)
        .await;
    let client = client_with(
        &server,
        ClientOptions {
            page_size: 2,
            ..ClientOptions::default()
        },
    );
    let err = client.catalog(&|_| {}).await.expect_err("loop");
    assert!(
        matches!(err, RegistryError::PaginationLoop { .. }),
        "{err:?}"
    );
    // One request served; the next link was the same URL, so it was never requested.
    assert_eq!(requests_to(&server, "/v2/_catalog").await, 1);
}

#[tokio::test]
async fn a_catalog_serving_the_same_page_under_new_urls_is_a_pagination_loop() {
    let server = MockServer::start().await;
    // Every answer names a fresh `last`, but the items never move on.
    Mock::given(path("/v2/_catalog"))
        .respond_with(move |request: &wiremock::Request| {
            let round = request.url.query().map_or(0, |q| q.len());
            ResponseTemplate::new(200)
                .set_body_json(json!({"repositories": ["a", "b"]}))
                .insert_header(
                    "Link",
                    format!(r#"</v2/_catalog?n=2&last=b{round}>; rel="next""#).as_str(),
                )
        })
        .mount(&server)
        .await;
    let client = client_with(
        &server,
        ClientOptions {
            page_size: 2,
            ..ClientOptions::default()
        },
    );
    let pages = std::sync::Mutex::new(0);
    let err = client
        .catalog(&|_| *pages.lock().expect("lock") += 1)
        .await
        .expect_err("loop");
    match &err {
        RegistryError::PaginationLoop { url } => assert!(url.contains("last=b"), "{url}"),
        other => panic!("expected PaginationLoop, got {other:?}"),
    }
    assert_eq!(requests_to(&server, "/v2/_catalog").await, 2);
    assert_eq!(
        *pages.lock().expect("lock"),
        1,
        "the repeated page is not reported"
    );
}

#[tokio::test]
async fn two_503s_then_200_is_retried_and_succeeds() {
    let server = MockServer::start().await;
    Mock::given(path("/v2/team/app/tags/list"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/v2/team/app/tags/list"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"tags": ["ok"]})))
        .mount(&server)
        .await;
    let client = client(&server);
    let tags = client.tags(&repo("team/app")).await.expect("retried");
    assert_eq!(tags[0].as_str(), "ok");
    assert_eq!(requests_to(&server, "/v2/team/app/tags/list").await, 3);
    assert_eq!(client.counters().get(RequestKind::Tags), 3);
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out_and_retried() {
    let server = MockServer::start().await;
    Mock::given(path("/v2/team/app/tags/list"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/v2/team/app/tags/list"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"tags": ["ok"]})))
        .mount(&server)
        .await;
    let client = client(&server);
    let started = Instant::now();
    client
        .tags(&repo("team/app"))
        .await
        .expect("retried after Retry-After");
    let waited = started.elapsed();
    // Retry-After (1 s) wins over the 10 ms backoff.
    assert!(waited >= Duration::from_millis(950), "{waited:?}");
    assert_eq!(requests_to(&server, "/v2/team/app/tags/list").await, 2);
}

#[tokio::test]
async fn persistent_failures_give_up_after_the_retries() {
    let server = MockServer::start().await;
    Mock::given(path("/v2/team/app/tags/list"))
        .respond_with(
            ResponseTemplate::new(500)
                .set_body_json(json!({"errors":[{"code":"UNKNOWN","message":"disk on fire"}]})),
        )
        .mount(&server)
        .await;
    Mock::given(path("/v2/team/busy/tags/list"))
        .respond_with(ResponseTemplate::new(429))
        .mount(&server)
        .await;
    let client = client_with(
        &server,
        ClientOptions {
            max_retries: 2,
            ..ClientOptions::default()
        },
    );
    let err = client.tags(&repo("team/app")).await.expect_err("500s");
    match &err {
        RegistryError::Server { status, detail, .. } => {
            assert_eq!(*status, 500);
            assert!(detail.contains("UNKNOWN: disk on fire"), "{detail}");
        }
        other => panic!("expected Server, got {other:?}"),
    }
    assert_eq!(requests_to(&server, "/v2/team/app/tags/list").await, 3);
    let err = client.tags(&repo("team/busy")).await.expect_err("429s");
    assert!(
        matches!(err, RegistryError::RateLimited { attempts: 3, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_put_is_not_retried_after_a_server_error() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path("/v2/team/app/manifests/1"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let err = client(&server)
        .put_manifest(
            &repo("team/app"),
            &by_tag("1"),
            OCI_MANIFEST,
            oci_manifest(),
        )
        .await
        .expect_err("503");
    assert!(
        matches!(err, RegistryError::Server { status: 503, .. }),
        "{err:?}"
    );
    // The registry may have stored it: sending it again is the caller's decision.
    assert_eq!(requests_to(&server, "/v2/team/app/manifests/1").await, 1);
}

#[tokio::test]
async fn an_error_envelope_becomes_the_detail_of_the_error() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path("/v2/team/app/manifests/1"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "errors": [{"code": "MANIFEST_BLOB_UNKNOWN", "message": "blob unknown to registry", "detail": "sha256:..."}]
        })))
        .mount(&server)
        .await;
    let err = client(&server)
        .put_manifest(
            &repo("team/app"),
            &by_tag("1"),
            OCI_MANIFEST,
            oci_manifest(),
        )
        .await
        .expect_err("400");
    match &err {
        RegistryError::Status { status, detail, .. } => {
            assert_eq!(*status, 400);
            assert_eq!(detail, "MANIFEST_BLOB_UNKNOWN: blob unknown to registry");
        }
        other => panic!("expected Status, got {other:?}"),
    }
}

#[tokio::test]
async fn a_head_without_a_digest_header_falls_back_to_get() {
    let server = MockServer::start().await;
    let body = oci_manifest();
    Mock::given(method("HEAD"))
        .and(path("/v2/team/app/manifests/1"))
        .respond_with(ResponseTemplate::new(200).insert_header("Content-Type", OCI_MANIFEST))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/team/app/manifests/1"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body.clone(), OCI_MANIFEST))
        .mount(&server)
        .await;
    let client = client(&server);
    let head = client
        .head_manifest(&repo("team/app"), &by_tag("1"))
        .await
        .expect("head");
    assert_eq!(head.digest, Digest::sha256_of(&body));
    assert_eq!(head.size, body.len() as u64);
    assert_eq!(head.media_type, OCI_MANIFEST);
    assert_eq!(client.counters().get(RequestKind::ManifestGet), 1);
}

#[tokio::test]
async fn an_oversized_manifest_is_refused_not_buffered() {
    let server = MockServer::start().await;
    let huge = vec![b' '; MAX_DOCUMENT_BYTES as usize + 1];
    Mock::given(method("GET"))
        .and(path("/v2/team/app/manifests/huge"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(huge, OCI_MANIFEST))
        .mount(&server)
        .await;
    let err = client(&server)
        .get_manifest(&repo("team/app"), &by_tag("huge"))
        .await
        .expect_err("too large");
    assert!(
        matches!(err, RegistryError::TooLarge { limit, .. } if limit == MAX_DOCUMENT_BYTES),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_catalog_that_is_missing_or_closed_is_no_catalog() {
    for status in [404, 401, 403] {
        let server = MockServer::start().await;
        Mock::given(path("/v2/"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
            .mount(&server)
            .await;
        let mut closed = ResponseTemplate::new(status);
        if status == 401 {
            closed = closed.insert_header("WWW-Authenticate", r#"Basic realm="catalog""#);
        }
        Mock::given(path("/v2/_catalog"))
            .respond_with(closed)
            .mount(&server)
            .await;
        let err = client(&server)
            .catalog(&|_| {})
            .await
            .expect_err("no catalog");
        match &err {
            RegistryError::NoCatalog { detail, .. } => {
                assert!(detail.starts_with(&status.to_string()), "{detail}");
            }
            other => panic!("expected NoCatalog for {status}, got {other:?}"),
        }
        assert!(err.to_string().contains("repositories"), "{err}");
    }
}
