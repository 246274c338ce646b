//! The capability probe and `regatta info`, against real registries with deletes on and off.
//! The registry's access log is the truth for what was asked and answered, and its storage
//! shows that the probe deleted nothing.

mod support;

use regatta::registry::probe::Answer;
use serde_json::{Value, json};
use support::block_on;
use support::cli::Sandbox;
use support::fixtures::FixtureBuilder;
use support::image::{Format, ImageSpec, Layer};
use support::registry::{RegistryOptions, TestRegistry};

const APP: &str = "team/app";

fn registry_with_one_image(delete_enabled: bool) -> TestRegistry {
    let registry = TestRegistry::start_with(RegistryOptions {
        delete_enabled,
        access_log: true,
        ..RegistryOptions::default()
    });
    let mut b = FixtureBuilder::new();
    b.image(
        APP,
        &["v1", "latest"],
        ImageSpec::new(Format::Oci, vec![Layer::text("app v1")]),
    );
    registry.push(&b);
    registry
}

/// `(method, path, status)` of the requests logged since `from`.
fn requests_since(registry: &TestRegistry, from: usize) -> Vec<(String, String, u16)> {
    registry.access_log()[from..]
        .iter()
        .map(|e| (e.method.clone(), e.target.clone(), e.status))
        .collect()
}

fn tag_links(registry: &TestRegistry) -> Vec<String> {
    let dir = registry
        .storage_root()
        .join("docker/registry/v2/repositories")
        .join(APP)
        .join("_manifests/tags");
    let mut tags: Vec<String> = std::fs::read_dir(dir)
        .expect("tags dir")
        .flatten()
        .filter(|e| e.path().join("current/link").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    tags.sort();
    tags
}

fn info_json(registry: &TestRegistry) -> Value {
    Sandbox::new()
        .run(&["info", &registry.addr(), "--json"])
        .ok()
        .json()
}

#[test]
fn a_registry_with_deletes_on_says_so_and_loses_nothing() {
    let registry = registry_with_one_image(true);
    let bytes_before = registry.blob_store_bytes();
    let from = registry.access_log().len();

    let info = info_json(&registry);
    assert_eq!(info["url"], json!(registry.url()));
    assert_eq!(info["api_version"], json!("registry/2.0"));
    assert_eq!(info["credential"], json!("anonymous"));
    assert_eq!(info["catalog"]["works"]["answer"], json!("yes"));
    assert_eq!(info["catalog"]["accepts_page_size_1000"], json!(true));
    assert_eq!(info["probe_repository"], json!(APP));
    assert_eq!(info["referrers_api"]["answer"], json!("no"), "{info:#}");
    assert_eq!(info["tag_delete"]["answer"], json!("no"), "{info:#}");
    assert_eq!(info["deletes_enabled"]["answer"], json!("yes"), "{info:#}");
    assert!(
        info["deletes_enabled"]["evidence"]
            .as_str()
            .is_some_and(|e| e.starts_with("404 MANIFEST_UNKNOWN")),
        "{info:#}"
    );

    // What the registry saw and answered.
    let seen = requests_since(&registry, from);
    let zeros = "0".repeat(64);
    for expected in [
        ("GET", "/v2/".to_string(), 200),
        ("GET", "/v2/_catalog?n=1000".to_string(), 200),
        ("GET", format!("/v2/{APP}/referrers/sha256:{zeros}"), 404),
        (
            "HEAD",
            format!("/v2/{APP}/manifests/regatta-probe-absent-tag"),
            404,
        ),
        (
            "DELETE",
            format!("/v2/{APP}/manifests/regatta-probe-absent-tag"),
            400,
        ),
        ("DELETE", format!("/v2/{APP}/manifests/sha256:{zeros}"), 404),
    ] {
        assert!(
            seen.contains(&(expected.0.to_string(), expected.1.clone(), expected.2)),
            "{expected:?} not in {seen:#?}"
        );
    }
    // The probe's six, and the `GET /v2/` with which `info` asks what the credential may
    // do (an open registry: no token request follows).
    assert_eq!(seen.len(), 7, "a handful of requests: {seen:#?}");
    assert_eq!(
        seen.iter()
            .filter(|(m, p, _)| m == "GET" && p == "/v2/")
            .count(),
        2,
        "{seen:#?}"
    );
    // Nothing was deleted: both tags and every byte are still there.
    assert_eq!(tag_links(&registry), ["latest", "v1"]);
    assert_eq!(registry.blob_store_bytes(), bytes_before);

    // The same, for people.
    let run = Sandbox::new().run(&["info", &registry.addr()]);
    run.ok();
    let text = run.stdout.clone();
    for needle in [
        "API version",
        "registry/2.0",
        "referrers API      no (404 on GET /v2/team/app/referrers/<digest>)",
        "tag delete         no (400 DIGEST_INVALID",
        "deletes enabled    yes (404 MANIFEST_UNKNOWN",
    ] {
        assert!(text.contains(needle), "{needle:?} not in:\n{text}");
    }
}

#[test]
fn a_registry_with_deletes_off_says_so() {
    let registry = registry_with_one_image(false);
    let from = registry.access_log().len();
    let info = info_json(&registry);
    assert_eq!(info["deletes_enabled"]["answer"], json!("no"), "{info:#}");
    assert!(
        info["deletes_enabled"]["evidence"]
            .as_str()
            .is_some_and(|e| e.starts_with("405 UNSUPPORTED")),
        "{info:#}"
    );
    let zeros = "0".repeat(64);
    assert!(
        requests_since(&registry, from).contains(&(
            "DELETE".to_string(),
            format!("/v2/{APP}/manifests/sha256:{zeros}"),
            405
        )),
        "{:#?}",
        registry.access_log()
    );
    assert_eq!(tag_links(&registry), ["latest", "v1"]);
}

#[test]
fn a_tag_with_the_probes_name_is_not_deleted_even_where_tag_delete_could() {
    // Should a repository hold a tag named like the probe's absent tag, the probe leaves it
    // alone (a registry with OCI tag delete would delete it).
    let registry = TestRegistry::start_with(RegistryOptions {
        access_log: true,
        ..RegistryOptions::default()
    });
    let mut b = FixtureBuilder::new();
    b.image(
        APP,
        &["regatta-probe-absent-tag"],
        ImageSpec::new(Format::Oci, vec![Layer::text("unlucky")]),
    );
    registry.push(&b);
    let from = registry.access_log().len();
    let info = info_json(&registry);
    assert_eq!(info["tag_delete"]["answer"], json!("unknown"), "{info:#}");
    assert!(
        !requests_since(&registry, from)
            .iter()
            .any(|(m, t, _)| m == "DELETE" && t.ends_with("regatta-probe-absent-tag")),
        "{:#?}",
        registry.access_log()
    );
    assert_eq!(tag_links(&registry), ["regatta-probe-absent-tag"]);
}

#[test]
fn the_probe_runs_once_per_client_and_needs_no_repository() {
    let registry = TestRegistry::start_with(RegistryOptions {
        access_log: true,
        ..RegistryOptions::default()
    });
    let client = registry.client();
    let from = registry.access_log().len();
    let (first, second, sent) = block_on(async move {
        let first = client.capabilities().await.expect("probe");
        let sent = client.counters().total();
        let second = client.capabilities().await.expect("cached");
        assert_eq!(
            client.counters().total(),
            sent,
            "the second call sent requests"
        );
        (first, second, sent)
    });
    assert_eq!(first, second);
    assert_eq!(sent, 6);
    // The registry saw the same six, after both calls.
    assert_eq!(requests_since(&registry, from).len(), 6);
    // An empty catalog: the repository-level probes ask a made-up repository.
    assert_eq!(first.probe_repository, "regatta-probe/absent");
    assert_eq!(first.deletes_enabled.answer, Answer::Yes, "{first:#?}");
}

#[test]
fn the_tui_registries_view_shows_what_each_registry_can_do() {
    use support::tmux::Pane;
    let open = registry_with_one_image(true);
    let closed = registry_with_one_image(false);
    let config = format!(
        "[registries.open]\nurl = \"{}\"\n\n[registries.closed]\nurl = \"{}\"\n",
        open.addr(),
        closed.addr()
    );
    let pane = Pane::start_with("capabilities", &[], &[], |root| {
        let dir = root.join("config/regatta");
        std::fs::create_dir_all(&dir).expect("mkdir config/regatta");
        std::fs::write(dir.join("config.toml"), &config).expect("write config.toml");
    });
    // Both rows checked on one screen: a capture may catch a frame half drawn.
    pane.wait_until("both probes", |screen| {
        for (name, answers) in [
            ("open", "deletes yes · catalog yes"),
            ("closed", "deletes no · catalog yes"),
        ] {
            let row = screen
                .lines()
                .find(|l| l.trim_start().starts_with(name))
                .ok_or_else(|| format!("no row for {name}"))?;
            if !row.contains(answers) {
                return Err(format!("no {answers:?} in {row:?}"));
            }
        }
        Ok(())
    });
    // What the registries answered: the one with deletes off said 405.
    let zeros = "0".repeat(64);
    let refused = format!("/v2/{APP}/manifests/sha256:{zeros}");
    assert!(
        closed
            .access_log()
            .iter()
            .any(|e| e.method == "DELETE" && e.target == refused && e.status == 405),
        "{:#?}",
        closed.access_log()
    );
    pane.keys(&["q"]);
    pane.wait_for_exit();
}

/// The app with probes on, opened on `registry`, its workers doing the HTTP.
async fn probing_app(registry: &TestRegistry, journal: &std::path::Path) -> regatta::tui::App {
    use regatta::tui::{Action, App, RegistryEntry, Theme};
    let client = registry.client();
    let source: std::sync::Arc<dyn regatta::registry::Source> = std::sync::Arc::new(client.clone());
    let entry = RegistryEntry {
        name: "test".into(),
        location: registry.url(),
        source: Ok(source),
        notice: None,
        client: Some(client),
    };
    let mut app = App::new(vec![entry], true, jiff::Timestamp::now(), Theme::PLAIN)
        .with_journal(Some(journal.to_path_buf()))
        .with_probes(true);
    app.update(Action::Resize {
        width: 100,
        height: 30,
    });
    let effects = app.start();
    regatta::tui::memory::run_until_idle(&mut app, effects).await;
    app
}

#[tokio::test]
async fn the_tui_refuses_a_delete_up_front_where_deletes_are_off() {
    use regatta::tui::Action;
    use regatta::tui::app::Message;
    for (deletes, dialog) in [(false, false), (true, true)] {
        let registry = registry_with_one_image(deletes);
        let journal = tempfile::tempdir().expect("a temp dir");
        let mut app = probing_app(&registry, journal.path()).await;
        for action in [Action::Open, Action::Last, Action::RequestDelete] {
            let effects = app.update(action);
            regatta::tui::memory::run_until_idle(&mut app, effects).await;
        }
        assert_eq!(app.dialog().is_some(), dialog, "deletes enabled: {deletes}");
        if !deletes {
            assert!(
                matches!(app.message(), Some(Message::Error(e))
                    if e.contains("deletes are disabled on test (405 UNSUPPORTED")),
                "{:?}",
                app.message()
            );
        }
        assert_eq!(tag_links(&registry), ["latest", "v1"], "nothing went");
    }
}

/// What Distribution 2.8 cannot show: a registry with the OCI 1.1 referrers API and tag
/// delete (Distribution 3, zot), and no catalog for these credentials, from a fake that
/// answers as the distribution spec says.
#[tokio::test]
async fn a_registry_with_referrers_and_tag_delete_and_no_catalog() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    let zeros = "0".repeat(64);
    let repo = "regatta-probe/absent";
    Mock::given(method("GET"))
        .and(path("/v2/"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("Docker-Distribution-API-Version", "registry/2.0")
                .insert_header("Server", "zot"),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/_catalog"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"errors": [
            {"code": "UNSUPPORTED", "message": "catalog is disabled"}
        ]})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v2/{repo}/referrers/sha256:{zeros}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": []
        })))
        .mount(&server)
        .await;
    for reference in [
        "regatta-probe-absent-tag".to_string(),
        format!("sha256:{zeros}"),
    ] {
        Mock::given(method("HEAD"))
            .and(path(format!("/v2/{repo}/manifests/{reference}")))
            .respond_with(ResponseTemplate::new(404))
            .mount(&server)
            .await;
        Mock::given(method("DELETE"))
            .and(path(format!("/v2/{repo}/manifests/{reference}")))
            .respond_with(ResponseTemplate::new(404).set_body_json(json!({"errors": [
                {"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}
            ]})))
            .expect(1)
            .mount(&server)
            .await;
    }
    let client = regatta::registry::Client::new(
        regatta::registry::RegistryAddr::parse(&server.address().to_string()).expect("addr"),
        regatta::registry::ClientOptions {
            credentials: regatta::registry::CredentialSource::Anonymous,
            certs_d_roots: Vec::new(),
            ..regatta::registry::ClientOptions::default()
        },
    )
    .expect("client");
    let c = client.capabilities().await.expect("probe");
    assert_eq!(c.server.as_deref(), Some("zot"));
    assert_eq!(c.catalog.works.answer, Answer::No, "{c:#?}");
    assert_eq!(c.probe_repository, repo);
    assert_eq!(c.referrers_api.answer, Answer::Yes, "{c:#?}");
    assert_eq!(c.tag_delete.answer, Answer::Yes, "{c:#?}");
    assert_eq!(c.deletes_enabled.answer, Answer::Yes, "{c:#?}");
}

#[test]
fn info_on_a_layout_or_an_unreachable_registry_is_one_sentence() {
    let sandbox = Sandbox::new();
    let layout = sandbox.root().join("layout");
    std::fs::create_dir_all(&layout).expect("mkdir");
    std::fs::write(
        layout.join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .expect("oci-layout");
    std::fs::write(
        layout.join("index.json"),
        r#"{"schemaVersion":2,"manifests":[]}"#,
    )
    .expect("index.json");
    sandbox
        .run(&["info", &layout.to_string_lossy()])
        .fails_with_one_line(&["needs a registry"]);
    let port = support::registry::free_port();
    sandbox
        .run(&["info", &format!("127.0.0.1:{port}")])
        .fails_with_one_line(&["cannot reach 127.0.0.1"]);
}

#[test]
fn info_names_the_user_and_never_the_password() {
    let registry = TestRegistry::start_tls_basic_auth("alice", "s3cret-for-info");
    let sandbox = Sandbox::new();
    sandbox.write_default_config(&format!(
        "[registries.secure]\nurl = \"{}\"\nca_file = \"{}\"\nusername = \"alice\"\npassword = \"s3cret-for-info\"\n",
        registry.url(),
        registry.ca_pem_path().display()
    ));
    let run = sandbox.run(&["info", "secure", "--json"]);
    run.ok().never_shows("s3cret-for-info");
    let info = run.json();
    assert_eq!(
        info["credential"],
        json!("user \"alice\" (basic auth)"),
        "{info:#}"
    );
    // htpasswd grants every action to every user it knows: the deletes probe went through.
    assert_eq!(info["deletes_enabled"]["answer"], json!("yes"), "{info:#}");
    let run = sandbox.run(&["info", "secure"]);
    run.ok().never_shows("s3cret-for-info");
    assert!(
        run.stdout
            .contains("credential         user \"alice\" (basic auth)"),
        "{}",
        run.stdout
    );
}
