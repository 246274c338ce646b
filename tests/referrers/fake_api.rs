//! The OCI 1.1 referrers API, which no registry available here has, against a fake:
//! pages, filtering, a registry that sends `OCI-Subject` without the API, and a fallback tag
//! that resolves to the subject itself.

use std::time::Duration;

use regatta::registry::{ClientOptions, CredentialSource, RegistryAddr};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;

fn client(server: &MockServer) -> Client {
    let addr = RegistryAddr::parse(&server.address().to_string()).expect("addr");
    Client::new(
        addr,
        ClientOptions {
            credentials: CredentialSource::Anonymous,
            retry_base: Duration::from_millis(10),
            ..ClientOptions::default()
        },
    )
    .expect("client")
}

fn artifact(n: u8, artifact_type: &str, subject: &Digest) -> (Digest, Vec<u8>) {
    let config = Digest::sha256_of(b"{}");
    let body = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": {"mediaType": EMPTY, "digest": config, "size": 2},
        "layers": [{"mediaType": "application/octet-stream", "digest": Digest::sha256_of(&[n]), "size": 100 + u64::from(n)}],
        "subject": {"mediaType": OCI_MANIFEST, "digest": subject, "size": 10},
    }))
    .expect("json");
    (Digest::sha256_of(&body), body)
}

fn listing(items: &[(&Digest, &[u8], &str)]) -> Value {
    json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": items.iter().map(|(d, b, t)| json!({"mediaType": OCI_MANIFEST, "digest": d, "size": b.len(), "artifactType": t})).collect::<Vec<_>>(),
    })
}

#[tokio::test]
async fn pages_are_followed_and_the_filter_applied_here_when_the_registry_did_not() {
    let server = MockServer::start().await;
    let subject = Digest::sha256_of(b"subject");
    let (a, ab) = artifact(1, "application/spdx+json", &subject);
    let (b, bb) = artifact(2, "application/vnd.cncf.notary.signature", &subject);
    let (c, cb) = artifact(3, "application/spdx+json", &subject);
    let base = format!("/v2/app/referrers/{subject}");
    Mock::given(method("GET"))
        .and(path(base.clone()))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(listing(&[(
            &c,
            &cb,
            "application/spdx+json",
        )])))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(base.clone()))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("Link", format!("<{base}?page=2>; rel=\"next\"").as_str())
                .set_body_json(listing(&[
                    (&a, &ab, "application/spdx+json"),
                    (&b, &bb, "application/vnd.cncf.notary.signature"),
                ])),
        )
        .with_priority(2)
        .mount(&server)
        .await;
    let client = client(&server);
    let all = client
        .referrers(&repo("app"), &subject, None)
        .await
        .expect("listing")
        .expect("the API exists");
    assert_eq!(all.pages, 2);
    let digests: Vec<_> = all.referrers.iter().map(|r| r.digest.clone()).collect();
    assert_eq!(digests, vec![a.clone(), b.clone(), c.clone()]);
    // No OCI-Filters-Applied header: the client filters.
    let sboms = client
        .referrers(&repo("app"), &subject, Some("application/spdx+json"))
        .await
        .expect("listing")
        .expect("the API exists");
    let digests: Vec<_> = sboms.referrers.iter().map(|r| r.digest.clone()).collect();
    assert_eq!(digests, vec![a, c]);
    let asked: Vec<_> = server
        .received_requests()
        .await
        .expect("recording")
        .into_iter()
        .filter(|r| {
            r.url
                .query()
                .is_some_and(|q| q.contains("artifactType=application%2Fspdx%2Bjson"))
        })
        .collect();
    assert_eq!(asked.len(), 1, "the filter is sent to the registry");
}

#[tokio::test]
async fn a_filter_the_registry_applied_is_trusted() {
    let server = MockServer::start().await;
    let subject = Digest::sha256_of(b"subject");
    let (a, ab) = artifact(1, "application/spdx+json", &subject);
    // The registry says it filtered, and (wrongly, on purpose) lists a type-less entry:
    // regatta keeps what the registry chose rather than dropping it.
    Mock::given(method("GET"))
        .and(path(format!("/v2/app/referrers/{subject}")))
        .and(query_param("artifactType", "application/spdx+json"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("OCI-Filters-Applied", "artifactType")
                .set_body_json(listing(&[(&a, &ab, "application/vnd.other")])),
        )
        .mount(&server)
        .await;
    let got = client(&server)
        .referrers(&repo("app"), &subject, Some("application/spdx+json"))
        .await
        .expect("listing")
        .expect("API");
    assert_eq!(got.referrers.len(), 1);
}

#[tokio::test]
async fn a_registry_that_sends_oci_subject_but_has_no_api_is_not_believed() {
    let server = MockServer::start().await;
    let subject = Digest::sha256_of(b"subject");
    let (_, body) = artifact(1, "application/spdx+json", &subject);
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(201).insert_header("OCI-Subject", subject.as_str()))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v2/app/referrers/{subject}")))
        .respond_with(ResponseTemplate::new(404).set_body_string("404 page not found"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/app/tags/list"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"name": "app", "tags": []})))
        .mount(&server)
        .await;
    let client = client(&server);
    client
        .put_manifest(
            &repo("app"),
            &ManifestRef::Tag(Tag::parse("x").expect("tag")),
            OCI_MANIFEST,
            body,
        )
        .await
        .expect("the push is accepted, with OCI-Subject");
    assert_eq!(
        client
            .referrers(&repo("app"), &subject, None)
            .await
            .expect("no error"),
        None
    );
    let found =
        regatta::referrers::discover(&client, &repo("app"), &subject, None, &Default::default())
            .await
            .expect("discover");
    assert!(found.facts.is_empty());
    assert_eq!(found.api.get(&repo("app")), Some(&false));
    assert_eq!(
        client
            .counters()
            .get(regatta::registry::RequestKind::Referrers),
        2
    );
}

#[tokio::test]
async fn a_fallback_tag_that_resolves_to_the_subject_itself_is_no_referrer() {
    // Some registries answer `sha256-<hex>` with the manifest `sha256:<hex>` itself.
    let server = MockServer::start().await;
    // A multi-platform index: read as a fallback index, its platforms would pass for
    // referrers.
    let child = Digest::sha256_of(b"linux/amd64");
    let subject_body = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": child, "size": 300, "platform": {"os": "linux", "architecture": "amd64"}}],
    }))
    .expect("json");
    let subject = Digest::sha256_of(&subject_body);
    let fallback = format!("sha256-{}", subject.hex());
    Mock::given(method("GET"))
        .and(path(format!("/v2/app/referrers/{subject}")))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/app/tags/list"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"name": "app", "tags": [fallback]})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v2/app/manifests/{fallback}")))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("Content-Type", OCI_INDEX)
                .insert_header("Docker-Content-Digest", subject.as_str())
                .set_body_bytes(subject_body),
        )
        .expect(1)
        .mount(&server)
        .await;
    let found = regatta::referrers::discover(
        &client(&server),
        &repo("app"),
        &subject,
        None,
        &Default::default(),
    )
    .await
    .expect("discover");
    assert!(found.facts.is_empty(), "{:?}", found.facts);
    assert!(found.fallback_indexes.is_empty());
    assert!(found.failures.is_empty(), "{:?}", found.failures);
}

#[tokio::test]
async fn discovery_through_the_api_follows_referrers_of_referrers() {
    let server = MockServer::start().await;
    let subject = Digest::sha256_of(b"subject");
    let (sbom, sbom_body) = artifact(1, "application/spdx+json", &subject);
    let (sig, sig_body) = artifact(2, "application/vnd.cncf.notary.signature", &sbom);
    for (of, items) in [
        (
            &subject,
            listing(&[(&sbom, &sbom_body, "application/spdx+json")]),
        ),
        (
            &sbom,
            listing(&[(&sig, &sig_body, "application/vnd.cncf.notary.signature")]),
        ),
        (&sig, listing(&[])),
    ] {
        Mock::given(method("GET"))
            .and(path(format!("/v2/app/referrers/{of}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(items))
            .mount(&server)
            .await;
    }
    for (d, body) in [(&sbom, &sbom_body), (&sig, &sig_body)] {
        Mock::given(method("GET"))
            .and(path(format!("/v2/app/manifests/{d}")))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("Content-Type", OCI_MANIFEST)
                    .set_body_bytes(body.clone()),
            )
            .expect(1)
            .mount(&server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path("/v2/app/tags/list"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"name": "app", "tags": null})),
        )
        .mount(&server)
        .await;
    let client = client(&server);
    let found =
        regatta::referrers::discover(&client, &repo("app"), &subject, None, &Default::default())
            .await
            .expect("discover");
    let tree = regatta::analysis::referrers::build_tree(&repo("app"), &subject, &found.facts);
    assert_eq!(tree.count, 2);
    assert_eq!(tree.referrers[0].digest, sbom);
    assert_eq!(tree.referrers[0].label, "SBOM (SPDX)");
    assert_eq!(
        tree.referrers[0].size,
        Some(sbom_body.len() as u64 + 2 + 101)
    );
    assert_eq!(tree.referrers[0].referrers[0].digest, sig);
    assert_eq!(tree.referrers[0].referrers[0].label, "Notation signature");
    assert_eq!(found.api.get(&repo("app")), Some(&true));
    // `expect(1)` on each manifest: one GET per referrer manifest, checked on drop.
}

/// Serves one page of referrers of a subject (returned) whose `Link` names `next(path)` as
/// the next page.
async fn one_page_linking(server: &MockServer, next: impl Fn(&str) -> String) -> Digest {
    let subject = Digest::sha256_of(b"subject");
    let (a, ab) = artifact(1, "application/spdx+json", &subject);
    let base = format!("/v2/app/referrers/{subject}");
    Mock::given(method("GET"))
        .and(path(base.clone()))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("Link", format!("<{}>; rel=\"next\"", next(&base)).as_str())
                .set_body_json(listing(&[(&a, &ab, "application/spdx+json")])),
        )
        .mount(server)
        .await;
    subject
}

/// The referrers API walks its pages with the listings' loop: a `Link` to another host is
/// refused before anything is sent there (the credentials would go along).
#[tokio::test]
async fn a_link_to_another_host_is_not_followed() {
    let server = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    let subject =
        one_page_linking(&server, |base| format!("{}{base}?page=2", elsewhere.uri())).await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(listing(&[])))
        .mount(&elsewhere)
        .await;
    let error = client(&server)
        .referrers(&repo("app"), &subject, None)
        .await
        .expect_err("a page on another host is refused");
    assert!(
        error
            .to_string()
            .contains("its Link header sends the next page to another host"),
        "{error}"
    );
    let sent = elsewhere.received_requests().await.expect("recording");
    assert!(
        sent.is_empty(),
        "a request went to the other host: {sent:?}"
    );
}

/// A `Link` back to a page already read stops the walk instead of looping.
#[tokio::test]
async fn a_link_back_to_a_page_already_read_stops_the_walk() {
    let server = MockServer::start().await;
    let subject = one_page_linking(&server, str::to_string).await;
    let error = client(&server)
        .referrers(&repo("app"), &subject, None)
        .await
        .expect_err("the loop is caught");
    assert!(
        matches!(
            error,
            regatta::registry::RegistryError::PaginationLoop { .. }
        ),
        "{error:?}"
    );
    let sent = server.received_requests().await.expect("recording");
    assert_eq!(sent.len(), 1, "the page was read once: {sent:?}");
}
