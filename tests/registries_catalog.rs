//! Listings as registries cap and page them: a real Distribution 2.8 with
//! `catalog.maxentries: 50` and 65 repositories (it answers our `n=1000` with 400
//! PAGINATION_NUMBER_INVALID), and tag lists split across pages by a fake that follows the
//! distribution spec's `Link` pagination (Distribution 2.8 ignores `n` for tags and returns
//! them all at once, so a real 2.8 cannot show it).

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use regatta::registry::{Client, ClientOptions, CredentialSource, RegistryAddr, RepoName};
use serde_json::json;
use support::block_on;
use support::cli::Sandbox;
use support::fixtures::FixtureBuilder;
use support::image::{Format, ImageSpec, Layer};
use support::registry::{RegistryOptions, TestRegistry};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

const MAX_ENTRIES: usize = 50;
const REPOS: usize = 65;

fn capped_registry() -> (TestRegistry, support::truth::Fixture) {
    let registry = TestRegistry::start_with(RegistryOptions {
        catalog_max_entries: Some(MAX_ENTRIES),
        access_log: true,
        ..RegistryOptions::default()
    });
    let mut b = FixtureBuilder::new();
    for i in 0..REPOS {
        b.image(
            &format!("team/app-{i:03}"),
            &["v1"],
            ImageSpec::new(Format::Oci, vec![Layer::text(&format!("layer of app {i}"))]),
        );
    }
    let truth = registry.push(&b);
    (registry, truth)
}

#[test]
fn a_capped_catalog_is_listed_to_the_end_through_the_registrys_own_page_size() {
    let (registry, truth) = capped_registry();
    assert_eq!(truth.repos.len(), REPOS);
    let before = registry.access_log().len();

    let client = registry.client();
    let mut names: Vec<String> = block_on(async move { client.catalog(&|_| {}).await })
        .expect("the whole catalog")
        .iter()
        .map(|r| r.to_string())
        .collect();
    names.sort();
    assert_eq!(names, truth.repo_names());

    // What the registry saw: our n refused, the first page without n (it chose 50), and
    // the Link page with its own n.
    let catalog: Vec<_> = registry.access_log()[before..]
        .iter()
        .filter(|e| e.target.starts_with("/v2/_catalog"))
        .map(|e| (e.target.clone(), e.status))
        .collect();
    assert_eq!(catalog.len(), 3, "{catalog:?}");
    assert_eq!(catalog[0], ("/v2/_catalog?n=1000".to_string(), 400));
    assert_eq!(catalog[1], ("/v2/_catalog".to_string(), 200));
    assert!(
        catalog[2].0.contains(&format!("n={MAX_ENTRIES}")) && catalog[2].1 == 200,
        "{catalog:?}"
    );
    // The CLI: `ls` lists all, `du` measures all (bytes checked against the storage).
    let sandbox = Sandbox::new();
    let listed = sandbox
        .run(&["ls", &registry.addr(), "--json"])
        .json_strings();
    assert_eq!(listed, truth.repo_names());
    let report = sandbox
        .run(&["du", &registry.addr(), "--json"])
        .ok_with_stderr()
        .json();
    assert_eq!(report["complete"], true, "{report:#}");
    assert_eq!(report["registry"]["repositories"], json!(REPOS));
    assert_eq!(
        report["registry"]["physical_bytes"],
        json!(registry.blob_store_bytes())
    );
    // `info` finds the cap: n=1000 refused, and the registry's own page of 50 is below
    // Distribution's default of 100, so it is catalog.maxentries.
    let info = sandbox
        .run(&["info", &registry.addr(), "--json"])
        .ok()
        .json();
    assert_eq!(info["catalog"]["works"]["answer"], json!("yes"), "{info:#}");
    assert_eq!(info["catalog"]["accepts_page_size_1000"], json!(false));
    assert_eq!(info["catalog"]["page_cap"], json!(MAX_ENTRIES), "{info:#}");
    let text = sandbox.run(&["info", &registry.addr()]).ok().stdout.clone();
    assert!(
        text.contains(
            "refuses n=1000 (400 PAGINATION_NUMBER_INVALID); pages of 50 without n); page cap 50"
        ),
        "{text}"
    );
    let measured: BTreeSet<String> = report["repositories"]
        .as_array()
        .expect("repositories")
        .iter()
        .map(|r| r["repository"].as_str().expect("name").to_string())
        .collect();
    assert_eq!(
        measured,
        truth.repo_names().into_iter().collect::<BTreeSet<_>>()
    );
}

fn fake_client(server: &MockServer) -> Client {
    let addr = RegistryAddr::parse(&server.address().to_string()).expect("addr");
    Client::new(
        addr,
        ClientOptions {
            credentials: CredentialSource::Anonymous,
            retry_base: Duration::from_millis(10),
            certs_d_roots: Vec::new(),
            ..ClientOptions::default()
        },
    )
    .expect("client")
}

fn tags_page(tags: &[&str], next: Option<&str>) -> ResponseTemplate {
    let mut response =
        ResponseTemplate::new(200).set_body_json(json!({"name": "team/app", "tags": tags}));
    if let Some(next) = next {
        response = response.insert_header("Link", format!("<{next}>; rel=\"next\"").as_str());
    }
    response
}

#[tokio::test]
async fn a_tag_list_split_across_pages_is_followed_to_the_end() {
    let server = MockServer::start().await;
    let list = "/v2/team/app/tags/list";
    Mock::given(method("GET"))
        .and(path(list))
        .and(query_param_is_missing("last"))
        .respond_with(tags_page(
            &["1.0", "1.1"],
            Some("/v2/team/app/tags/list?n=2&last=1.1"),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(list))
        .and(query_param("last", "1.1"))
        .respond_with(tags_page(
            &["2.0", "2.1"],
            Some("/v2/team/app/tags/list?n=2&last=2.1"),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(list))
        .and(query_param("last", "2.1"))
        .respond_with(tags_page(&["latest"], None))
        .expect(1)
        .mount(&server)
        .await;

    let repo = RepoName::parse("team/app").expect("repo");
    let mut tags: Vec<String> = fake_client(&server)
        .tags(&repo)
        .await
        .expect("all pages")
        .iter()
        .map(|t| t.to_string())
        .collect();
    tags.sort();
    assert_eq!(tags, ["1.0", "1.1", "2.0", "2.1", "latest"]);
}

#[tokio::test]
async fn a_tag_list_refusing_our_page_size_is_asked_without_one() {
    let server = MockServer::start().await;
    let list = "/v2/team/app/tags/list";
    Mock::given(method("GET"))
        .and(path(list))
        .and(query_param("n", "1000"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"errors": [
            {"code": "PAGINATION_NUMBER_INVALID", "message": "invalid number of results requested"}
        ]})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(list))
        .and(query_param_is_missing("n"))
        .respond_with(tags_page(
            &["a", "b"],
            Some("/v2/team/app/tags/list?n=2&last=b"),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(list))
        .and(query_param("last", "b"))
        .respond_with(tags_page(&["c"], None))
        .expect(1)
        .mount(&server)
        .await;

    let repo = RepoName::parse("team/app").expect("repo");
    let tags: Vec<String> = fake_client(&server)
        .tags(&repo)
        .await
        .expect("all pages")
        .iter()
        .map(|t| t.to_string())
        .collect();
    assert_eq!(tags, ["a", "b", "c"]);
}
