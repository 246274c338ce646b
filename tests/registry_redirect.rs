//! Registries redirect blob downloads to object storage on another host. The credentials
//! for the registry must not travel with the redirect.

use std::time::Duration;

use regatta::registry::{
    Client, ClientOptions, CredentialSource, Digest, RegistryAddr, RepoName, Secret,
};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn a_blob_redirect_to_another_host_carries_no_authorization() {
    let registry = MockServer::start().await;
    let storage = MockServer::start().await;
    let blob = b"layer bytes".to_vec();
    let digest = Digest::sha256_of(&blob);
    let blob_path = format!("/v2/team/app/blobs/{digest}");
    // Without (the right) credentials: a Basic challenge. Lower priority than the one below.
    Mock::given(method("GET"))
        .and(path(blob_path.clone()))
        .respond_with(
            ResponseTemplate::new(401).insert_header("WWW-Authenticate", r#"Basic realm="r""#),
        )
        .mount(&registry)
        .await;
    // With them: off to object storage on another host (port).
    Mock::given(method("GET"))
        .and(path(blob_path.clone()))
        .and(header(
            "authorization",
            "Basic dXNlcjpzM2NyM3QtcGFzc3dvcmQ=",
        ))
        .respond_with(ResponseTemplate::new(307).insert_header(
            "Location",
            format!("{}/bucket/object?sig=abc", storage.uri()).as_str(),
        ))
        .with_priority(1)
        .mount(&registry)
        .await;
    Mock::given(method("GET"))
        .and(path("/bucket/object"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(blob.clone()))
        .mount(&storage)
        .await;

    let client = Client::new(
        RegistryAddr::parse(&registry.address().to_string()).unwrap(),
        ClientOptions {
            credentials: CredentialSource::Plain {
                username: "user".into(),
                password: Secret::new("s3cr3t-password"),
            },
            retry_base: Duration::from_millis(10),
            ..ClientOptions::default()
        },
    )
    .unwrap();
    let got = client
        .get_blob(&RepoName::parse("team/app").unwrap(), &digest)
        .await
        .expect("the redirected blob downloads");
    assert_eq!(got, blob);

    let at_storage = storage.received_requests().await.unwrap();
    assert_eq!(at_storage.len(), 1, "the blob came from the storage host");
    assert!(
        at_storage[0].headers.get("authorization").is_none(),
        "credentials leaked to the storage host: {:?}",
        at_storage[0].headers
    );
    // And the registry did get them (so the test would see a leak if there were one).
    let at_registry = registry.received_requests().await.unwrap();
    assert!(
        at_registry
            .iter()
            .any(|r| r.headers.get("authorization").is_some())
    );
}
