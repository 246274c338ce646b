//! The vendor listings against wiremock servers answering as Docker Hub's and GitHub's API
//! documentation describes (response shapes, `next` and `Link` pagination, 404 for an unknown
//! namespace). Checked against fakes only: no test here talks to the real services.

use std::sync::Mutex;

use serde_json::json;
use wiremock::matchers::{bearer_token, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;

fn namespace(server: &MockServer, kind: VendorKind, name: &str) -> Namespace {
    Namespace {
        name: name.to_string(),
        kind,
        api: Url::parse(&server.uri()).expect("the server's URL"),
    }
}

fn names(repos: &[RepoName]) -> Vec<String> {
    repos.iter().map(ToString::to_string).collect()
}

fn hub_repository(ns: &str, name: &str) -> serde_json::Value {
    json!({
        "name": name, "namespace": ns, "repository_type": "image", "status": 1,
        "status_description": "active", "description": "", "is_private": false,
        "star_count": 0, "pull_count": 42, "last_updated": "2024-05-01T10:00:00.000000Z",
        "date_registered": "2023-01-01T00:00:00.000000Z", "affiliation": "",
        "media_types": ["application/vnd.oci.image.index.v1+json"], "content_types": ["image"]
    })
}

fn github_package(owner: &str, name: &str) -> serde_json::Value {
    json!({
        "id": 1, "name": name, "package_type": "container",
        "owner": {"login": owner, "id": 2, "type": "Organization"},
        "version_count": 3, "visibility": "public",
        "url": format!("https://api.github.com/orgs/{owner}/packages/container/{name}"),
        "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-05-01T00:00:00Z",
        "html_url": format!("https://github.com/orgs/{owner}/packages/container/package/{name}")
    })
}

#[tokio::test]
async fn docker_hub_lists_a_namespace_following_next() {
    let server = MockServer::start().await;
    let second = format!(
        "{}/v2/namespaces/acme/repositories?page=2&page_size=100",
        server.uri()
    );
    Mock::given(method("GET"))
        .and(path("/v2/namespaces/acme/repositories"))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "count": 3, "next": null, "previous": server.uri(),
            "results": [hub_repository("acme", "worker")]
        })))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/namespaces/acme/repositories"))
        .and(query_param("page_size", "100"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "count": 3, "next": second, "previous": null,
            "results": [hub_repository("acme", "api"), hub_repository("acme", "web")]
        })))
        .with_priority(2)
        .mount(&server)
        .await;
    let pages = Mutex::new(Vec::new());
    let repos = namespace(&server, VendorKind::DockerHub, "acme")
        .repositories(None, &|page: &[RepoName]| {
            pages.lock().expect("lock").push(page.len())
        })
        .await
        .expect("the listing");
    assert_eq!(names(&repos), ["acme/api", "acme/web", "acme/worker"]);
    assert_eq!(*pages.lock().expect("lock"), [2, 1]);
}

#[tokio::test]
async fn docker_hub_falls_back_to_the_older_endpoint_and_names_an_unknown_namespace() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/repositories/acme/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "count": 1, "next": null, "previous": null,
            "results": [hub_repository("acme", "api")]
        })))
        .mount(&server)
        .await;
    // Everything else (the namespaces endpoint, other namespaces): Docker Hub's 404.
    let repos = namespace(&server, VendorKind::DockerHub, "acme")
        .repositories(None, &|_: &[RepoName]| {})
        .await
        .expect("the listing");
    assert_eq!(names(&repos), ["acme/api"]);
    let error = namespace(&server, VendorKind::DockerHub, "nobody")
        .repositories(None, &|_: &[RepoName]| {})
        .await
        .expect_err("no such namespace");
    let sentence = error.to_string();
    assert!(
        sentence.contains("\"nobody\"") && sentence.contains("Docker Hub"),
        "{sentence}"
    );
}

#[tokio::test]
async fn github_lists_an_organisations_containers_with_the_token_following_link() {
    let server = MockServer::start().await;
    let token = Secret::new("ghp_test_token");
    let next = format!(
        "<{}/organizations/7/packages?package_type=container&per_page=100&page=2>; rel=\"next\", <{}/organizations/7/packages?package_type=container&per_page=100&page=2>; rel=\"last\"",
        server.uri(),
        server.uri()
    );
    Mock::given(method("GET"))
        .and(path("/orgs/acme/packages"))
        .and(query_param("package_type", "container"))
        .and(bearer_token("ghp_test_token"))
        .and(header("X-GitHub-Api-Version", "2022-11-28"))
        .and(header("Accept", "application/vnd.github+json"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("Link", next.as_str())
                .set_body_json(json!([
                    github_package("acme", "api"),
                    github_package("acme", "tools/builder")
                ])),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/organizations/7/packages"))
        .and(query_param("page", "2"))
        .and(bearer_token("ghp_test_token"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!([github_package("Acme", "web")])),
        )
        .mount(&server)
        .await;
    let repos = namespace(&server, VendorKind::GitHub, "acme")
        .repositories(Some(&token), &|_: &[RepoName]| {})
        .await
        .expect("the listing");
    // GHCR paths are lowercase: the owner's display case does not leak into names.
    assert_eq!(
        names(&repos),
        ["acme/api", "acme/tools/builder", "acme/web"]
    );
}

#[tokio::test]
async fn github_falls_back_to_a_user_and_needs_a_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/users/octo/packages"))
        .and(query_param("package_type", "container"))
        .and(bearer_token("t"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!([github_package("octo", "tool")])),
        )
        .mount(&server)
        .await;
    let octo = namespace(&server, VendorKind::GitHub, "octo");
    let repos = octo
        .repositories(Some(&Secret::new("t")), &|_: &[RepoName]| {})
        .await
        .expect("the user's listing");
    assert_eq!(names(&repos), ["octo/tool"]);
    let before = server.received_requests().await.expect("recording").len();
    let error = octo
        .repositories(None, &|_: &[RepoName]| {})
        .await
        .expect_err("no token");
    assert!(error.to_string().contains("GITHUB_TOKEN"), "{error}");
    let after = server.received_requests().await.expect("recording").len();
    assert_eq!(before, after, "nothing was sent without a token");
}

/// A `next` page on another server is not followed, so the token stays with the API.
#[tokio::test]
async fn a_next_page_elsewhere_is_refused_and_gets_no_token() {
    let api = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/orgs/acme/packages"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header(
                    "Link",
                    format!("<{}/steal?page=2>; rel=\"next\"", elsewhere.uri()).as_str(),
                )
                .set_body_json(json!([github_package("acme", "api")])),
        )
        .mount(&api)
        .await;
    let error = namespace(&api, VendorKind::GitHub, "acme")
        .repositories(Some(&Secret::new("secret-token")), &|_: &[RepoName]| {})
        .await
        .expect_err("a foreign next page");
    assert!(error.to_string().contains("another server"), "{error}");
    assert!(!error.to_string().contains("secret-token"));
    let stolen = elsewhere.received_requests().await.expect("recording");
    assert!(stolen.is_empty(), "the other server was asked: {stolen:?}");
}
