//! The bearer-token flow, against an in-process fake: Debian ships no token server, so one
//! wiremock server plays both the registry (answering 401 with a `Bearer` challenge unless the
//! right token comes) and the token endpoint (checking basic auth, service and scope). The
//! mock counts requests, so token reuse is asserted, not assumed.

use std::time::Duration;

use futures::future::join_all;
use regatta::registry::{
    Client, ClientOptions, CredentialSource, RegistryAddr, RegistryError, RepoName, RequestKind,
    Secret,
};
use serde_json::json;
use wiremock::matchers::{
    basic_auth, bearer_token, header_exists, method, path, path_regex, query_param,
};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const USER: &str = "robot";
const PASSWORD: &str = "t0ken-pass";
const SERVICE: &str = "fake-registry";

fn repo(name: &str) -> RepoName {
    RepoName::parse(name).expect("repo name")
}

fn client(server: &MockServer, credentials: CredentialSource) -> Client {
    let addr = RegistryAddr::parse(&server.address().to_string()).expect("addr");
    Client::new(
        addr,
        ClientOptions {
            credentials,
            retry_base: Duration::from_millis(10),
            ..ClientOptions::default()
        },
    )
    .expect("client")
}

fn robot() -> CredentialSource {
    CredentialSource::Plain {
        username: USER.into(),
        password: Secret::new(PASSWORD),
    }
}

/// Everything without an accepted token gets a 401 with the challenge (lowest priority).
async fn mount_challenge(server: &MockServer) {
    let challenge = format!(
        r#"Bearer realm="{}/token",service="{SERVICE}",scope="repository:team/app:pull""#,
        server.uri()
    );
    Mock::given(path_regex("^/v2/"))
        .respond_with(
            ResponseTemplate::new(401)
                .insert_header("WWW-Authenticate", challenge.as_str())
                .set_body_json(
                    json!({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}),
                ),
        )
        .with_priority(10)
        .mount(server)
        .await;
}

/// The token endpoint hands out `token` for `scope` to the robot's basic auth only.
async fn mount_token(server: &MockServer, scope: &str, token: &str) {
    Mock::given(method("GET"))
        .and(path("/token"))
        .and(basic_auth(USER, PASSWORD))
        .and(query_param("service", SERVICE))
        .and(query_param("scope", scope))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token": token,
            "expires_in": 300,
            "issued_at": "2024-01-01T00:00:00Z"
        })))
        .mount(server)
        .await;
}

/// Tags of `repo`, served only to `token`.
async fn mount_tags(server: &MockServer, repo: &str, token: &str, tags: &[&str]) {
    Mock::given(method("GET"))
        .and(path(format!("/v2/{repo}/tags/list")))
        .and(bearer_token(token))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"name": repo, "tags": tags})))
        .mount(server)
        .await;
}

async fn token_requests(server: &MockServer, scope: &str) -> usize {
    let requests: Vec<Request> = server.received_requests().await.expect("recording on");
    requests
        .iter()
        .filter(|r| r.url.path() == "/token")
        .filter(|r| r.url.query_pairs().any(|(k, v)| k == "scope" && v == scope))
        .count()
}

#[tokio::test]
async fn a_token_is_fetched_once_per_scope_and_reused() {
    let server = MockServer::start().await;
    mount_challenge(&server).await;
    mount_token(&server, "repository:team/app:pull", "tok-app").await;
    mount_token(&server, "repository:team/other:pull", "tok-other").await;
    mount_tags(&server, "team/app", "tok-app", &["1.0", "2.0"]).await;
    mount_tags(&server, "team/other", "tok-other", &["x"]).await;

    let client = client(&server, robot());
    let tags = client
        .tags(&repo("team/app"))
        .await
        .expect("tags with a token");
    let tags: Vec<&str> = tags.iter().map(|t| t.as_str()).collect();
    assert_eq!(tags, ["1.0", "2.0"]);
    // Two more in a row and eight at once: all on the cached token.
    for _ in 0..2 {
        client.tags(&repo("team/app")).await.expect("tags");
    }
    let concurrent = join_all((0..8).map(|_| {
        let client = client.clone();
        async move { client.tags(&repo("team/app")).await }
    }))
    .await;
    assert!(concurrent.iter().all(Result::is_ok), "{concurrent:?}");
    assert_eq!(token_requests(&server, "repository:team/app:pull").await, 1);

    // Another repository is another scope: one more token, then reuse.
    for _ in 0..3 {
        let other = client.tags(&repo("team/other")).await.expect("other");
        assert_eq!(other.len(), 1);
    }
    assert_eq!(
        token_requests(&server, "repository:team/other:pull").await,
        1
    );
    // 1 challenged + 1 retried + 2 + 8 for team/app; 3 for team/other (scheme known by then).
    assert_eq!(client.counters().get(RequestKind::Tags), 15);
}

#[tokio::test]
async fn a_token_the_registry_stops_accepting_is_replaced() {
    let server = MockServer::start().await;
    mount_challenge(&server).await;
    let scope = "repository:team/app:pull";
    // The first token is accepted once, then revoked; the token server then issues another.
    Mock::given(path("/token"))
        .and(basic_auth(USER, PASSWORD))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"token": "tok-old"})))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    mount_token(&server, scope, "tok-new").await;
    Mock::given(path("/v2/team/app/tags/list"))
        .and(bearer_token("tok-old"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"tags": ["old"]})))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    mount_tags(&server, "team/app", "tok-new", &["new"]).await;

    let client = client(&server, robot());
    let first = client.tags(&repo("team/app")).await.expect("first");
    assert_eq!(first[0].as_str(), "old");
    let second = client
        .tags(&repo("team/app"))
        .await
        .expect("after revocation");
    assert_eq!(second[0].as_str(), "new");
    assert_eq!(token_requests(&server, scope).await, 2);
}

// Token expiry is tested without waiting in `registry::auth`'s unit tests, on a clock the
// test moves (`an_expired_token_is_fetched_again_and_a_live_one_is_not`): a 1-second token
// and a 1.1-second sleep here was a race on a busy machine.

#[tokio::test]
async fn the_token_server_refusing_the_password_is_unauthorized() {
    let server = MockServer::start().await;
    mount_challenge(&server).await;
    mount_token(&server, "repository:team/app:pull", "tok-app").await;
    Mock::given(path("/token"))
        .respond_with(ResponseTemplate::new(401))
        .with_priority(10)
        .mount(&server)
        .await;
    let wrong = client(
        &server,
        CredentialSource::Plain {
            username: USER.into(),
            password: Secret::new("wrong"),
        },
    );
    let err = wrong.tags(&repo("team/app")).await.expect_err("refused");
    assert!(
        matches!(&err, RegistryError::Unauthorized { detail, .. } if detail.contains("token server refused the credentials")),
        "{err:?}"
    );
    let anonymous = client(&server, CredentialSource::Anonymous);
    let err = anonymous
        .tags(&repo("team/app"))
        .await
        .expect_err("refused");
    assert!(
        matches!(&err, RegistryError::Unauthorized { detail, .. } if detail.contains("anonymous")),
        "{err:?}"
    );
    // Anonymous token requests carry no Authorization header at all.
    let requests = server.received_requests().await.expect("recording on");
    let anonymous_token_requests = requests
        .iter()
        .filter(|r| r.url.path() == "/token" && !r.headers.contains_key("authorization"))
        .count();
    assert_eq!(anonymous_token_requests, 1);
}

#[tokio::test]
async fn a_token_answer_without_a_token_is_an_auth_error() {
    let server = MockServer::start().await;
    mount_challenge(&server).await;
    Mock::given(path("/token"))
        .and(header_exists("authorization"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"token": ""})))
        .mount(&server)
        .await;
    let err = client(&server, robot())
        .tags(&repo("team/app"))
        .await
        .expect_err("empty token");
    assert!(
        matches!(&err, RegistryError::Auth { detail, .. } if detail.contains("holds no token")),
        "{err:?}"
    );
}
