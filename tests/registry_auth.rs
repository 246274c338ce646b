//! A real registry behind TLS (self-signed certificate) and htpasswd basic auth: what works
//! with the CA file and the right password, and the error each missing piece gives.

mod support;

use std::sync::OnceLock;

use regatta::registry::{
    ClientOptions, CredentialSource, ManifestRef, RegistryError, RequestKind, Secret,
};
use support::fixtures::FixtureBuilder;
use support::image::{Format, ImageSpec, Layer};
use support::registry::TestRegistry;
use support::truth::{Fixture, repo, tag};

const USER: &str = "alice";
const PASSWORD: &str = "s3cret pass:word";

/// One TLS registry for the binary, with two repositories pushed through an authenticated
/// client. Tests here only read.
fn secured() -> &'static (TestRegistry, Fixture) {
    static REGISTRY: OnceLock<(TestRegistry, Fixture)> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let registry = TestRegistry::start_tls_basic_auth(USER, PASSWORD);
        let mut b = FixtureBuilder::new();
        b.image(
            "private/app",
            &["1.0", "latest"],
            ImageSpec::new(Format::Oci, vec![Layer::random("private-app", 4096)]),
        );
        b.index(
            "private/multi",
            &["2"],
            Format::Docker,
            vec![
                ImageSpec::new(Format::Docker, vec![Layer::text("multi-amd64")]),
                ImageSpec::new(Format::Docker, vec![Layer::text("multi-arm64")]).platform(
                    "linux",
                    "arm64",
                    Some("v8"),
                ),
            ],
        );
        let fixture = b.push_blocking(&registry.client());
        (registry, fixture)
    })
}

fn plain(password: &str) -> CredentialSource {
    CredentialSource::Plain {
        username: USER.into(),
        password: Secret::new(password),
    }
}

#[tokio::test]
async fn ca_file_and_the_right_password_read_everything() {
    let (registry, fixture) = secured();
    assert!(registry.url().starts_with("https://127.0.0.1:"));
    let client = registry.client();
    assert!(client.options().ca_file.is_some());
    client.ping().await.expect("ping");
    let names: Vec<String> = client
        .catalog(&|_| {})
        .await
        .expect("catalog")
        .iter()
        .map(|n| n.to_string())
        .collect();
    assert_eq!(names, fixture.repo_names());
    let mut tags: Vec<String> = client
        .tags(&repo("private/app"))
        .await
        .expect("tags")
        .iter()
        .map(|t| t.to_string())
        .collect();
    tags.sort();
    assert_eq!(tags, fixture.tags("private/app"));
    let truth = fixture.tagged("private/multi", "2");
    let got = client
        .get_manifest(&repo("private/multi"), &ManifestRef::Tag(tag("2")))
        .await
        .expect("manifest");
    assert_eq!(got.digest, truth.digest);
    assert_eq!(got.bytes, truth.document);
    for (digest, size) in &truth.blobs {
        assert_eq!(
            client
                .head_blob(&repo("private/multi"), digest)
                .await
                .expect("blob"),
            *size
        );
    }
}

#[tokio::test]
async fn basic_auth_answers_the_challenge_once_then_sends_credentials_up_front() {
    let (registry, _) = secured();
    let client = registry.client();
    for _ in 0..3 {
        client.tags(&repo("private/app")).await.expect("tags");
    }
    // The first request learned the Basic challenge (401 + retry); the next went with it.
    assert_eq!(client.counters().get(RequestKind::Tags), 4);
}

#[tokio::test]
async fn a_wrong_password_is_unauthorized_naming_the_user() {
    let (registry, _) = secured();
    let client = registry.client_with(ClientOptions {
        credentials: plain("wrong"),
        ..registry.client_options()
    });
    let err = client.ping().await.expect_err("wrong password");
    match &err {
        RegistryError::Unauthorized { host, detail } => {
            assert_eq!(host, &registry.addr());
            assert!(detail.contains("\"alice\""), "{detail}");
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
    assert!(
        err.to_string()
            .starts_with("401 Unauthorized from 127.0.0.1:"),
        "{err}"
    );
    assert!(
        !err.to_string().contains("wrong"),
        "the password never shows: {err}"
    );
    let err = client
        .tags(&repo("private/app"))
        .await
        .expect_err("wrong password");
    assert!(matches!(err, RegistryError::Unauthorized { .. }), "{err:?}");
    // Not "this registry has no catalog": the credentials are what is wrong.
    let err = client.catalog(&|_| {}).await.expect_err("wrong password");
    assert!(matches!(err, RegistryError::Unauthorized { .. }), "{err:?}");
}

#[tokio::test]
async fn no_credentials_is_unauthorized_saying_none_are_configured() {
    let (registry, _) = secured();
    let client = registry.client_with(ClientOptions {
        credentials: CredentialSource::Anonymous,
        ..registry.client_options()
    });
    let err = client
        .head_manifest(&repo("private/app"), &ManifestRef::Tag(tag("latest")))
        .await
        .expect_err("anonymous");
    assert!(
        matches!(&err, RegistryError::Unauthorized { detail, .. } if detail.contains("none are configured")),
        "{err:?}"
    );
    let err = client.catalog(&|_| {}).await.expect_err("anonymous");
    assert!(matches!(err, RegistryError::Unauthorized { .. }), "{err:?}");
}

#[tokio::test]
async fn without_the_ca_file_tls_fails_and_says_to_set_ca_file() {
    let (registry, _) = secured();
    let client = registry.client_with(ClientOptions {
        ca_file: None,
        ..registry.client_options()
    });
    let err = client.ping().await.expect_err("unknown issuer");
    assert!(matches!(err, RegistryError::Tls { .. }), "{err:?}");
    let sentence = err.to_string();
    assert!(sentence.contains("ca_file"), "{sentence}");
    assert!(sentence.contains(&registry.addr()), "{sentence}");
    // A TLS failure is not retried: it would fail the same way.
    assert_eq!(client.counters().get(RequestKind::Ping), 1);
}

#[tokio::test]
async fn insecure_skips_verification() {
    let (registry, fixture) = secured();
    let client = registry.client_with(ClientOptions {
        ca_file: None,
        insecure: true,
        ..registry.client_options()
    });
    let head = client
        .head_manifest(&repo("private/app"), &ManifestRef::Tag(tag("1.0")))
        .await
        .expect("insecure works");
    assert_eq!(head.digest, fixture.tagged("private/app", "1.0").digest);
}

#[tokio::test]
async fn plain_http_to_a_tls_registry_is_not_mistaken_for_success() {
    let (registry, _) = secured();
    let addr = regatta::registry::RegistryAddr::parse(&format!("http://{}", registry.addr()))
        .expect("addr");
    let client = regatta::registry::Client::new(addr, registry.client_options()).expect("client");
    let err = client.ping().await.expect_err("HTTP to an HTTPS port");
    // Go answers plain HTTP on a TLS port with a 400; the sentence says what to do.
    assert!(
        matches!(err, RegistryError::Status { status: 400, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().ends_with(&format!(
            "the registry speaks HTTPS on this port: name it https://{}",
            registry.addr()
        )),
        "{err}"
    );
}

#[tokio::test]
async fn a_ca_file_that_is_not_pem_is_refused_when_the_client_is_built() {
    let (registry, _) = secured();
    let dir = tempfile::tempdir().expect("temp dir");
    let bogus = dir.path().join("ca.pem");
    std::fs::write(&bogus, "not a certificate").expect("write");
    let err = regatta::registry::Client::new(
        registry.registry_addr(),
        ClientOptions {
            ca_file: Some(bogus.clone()),
            ..registry.client_options()
        },
    )
    .expect_err("not PEM");
    assert!(matches!(err, RegistryError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("ca.pem"), "{err}");
    let missing = dir.path().join("missing.pem");
    let err = regatta::registry::Client::new(
        registry.registry_addr(),
        ClientOptions {
            ca_file: Some(missing),
            ..registry.client_options()
        },
    )
    .expect_err("missing");
    assert!(err.to_string().contains("cannot read ca_file"), "{err}");
}
