//! Registries configured as operators configure them, each a real Distribution: token mode
//! with a token server granting each user its own actions (the registry enforces them), a
//! per-registry request rate, and a registry whose catalog is refused.

mod support;

use regatta::registry::{
    Actions, ClientOptions, CredentialSource, Grants, RegistryError, RepoName, Secret,
};
use support::fixtures::FixtureBuilder;
use support::image::{Format, ImageSpec, Layer};
use support::registry::{RegistryOptions, TestRegistry};
use support::token_server::{TokenServer, TokenUser};

const APP: &str = "team/app";

fn repo(name: &str) -> RepoName {
    RepoName::parse(name).expect("a repository name")
}

fn user(name: &str, password: &str) -> CredentialSource {
    CredentialSource::Plain {
        username: name.to_string(),
        password: Secret::new(password),
    }
}

fn fixture() -> FixtureBuilder {
    let mut b = FixtureBuilder::new();
    b.image(
        APP,
        &["v1"],
        ImageSpec::new(Format::Oci, vec![Layer::text("grants-app-v1")]),
    );
    b
}

/// Whether the registry's storage still holds the revision `hex` of `repo` (what a manifest
/// delete removes).
fn revision_stored(registry: &TestRegistry, repo: &str, hex: &str) -> bool {
    registry
        .storage_root()
        .join("docker/registry/v2/repositories")
        .join(repo)
        .join("_manifests/revisions/sha256")
        .join(hex)
        .join("link")
        .is_file()
}

mod grants {
    use super::*;

    /// A reader (pull only) and a maintainer (pull, push, delete) on a registry in token mode.
    /// regatta reads each one's grant from the token before trying anything; the registry
    /// itself then refuses the reader's delete with `insufficient_scope` and carries out the
    /// maintainer's, as the storage shows. No token ever appears in what regatta returns.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn token_grants_are_read_before_trying_and_match_what_the_registry_enforces() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let tokens = TokenServer::start(
            dir.path(),
            vec![
                TokenUser::new("reader", "reader-pw", &["pull"]),
                TokenUser::new("maintainer", "maintainer-pw", &["pull", "push", "delete"]),
            ],
        )
        .await;
        let registry = TestRegistry::start_with(RegistryOptions {
            access_log: true,
            token: Some(tokens.auth()),
            ..RegistryOptions::default()
        });
        let client_of = |credentials| {
            registry.client_with(ClientOptions {
                credentials,
                ..registry.client_options()
            })
        };
        let maintainer = client_of(user("maintainer", "maintainer-pw"));
        let reader = client_of(user("reader", "reader-pw"));
        let truth = fixture().push_blocking(&maintainer);
        let digest = truth.tagged(APP, "v1").digest.clone();
        let hex = digest.to_string().trim_start_matches("sha256:").to_string();
        assert!(revision_stored(&registry, APP, &hex), "pushed");

        let reader_grants = reader
            .grants(&repo(APP))
            .await
            .expect("the reader's grants");
        assert_eq!(
            reader_grants,
            Grants::Token {
                actions: Actions {
                    pull: true,
                    ..Actions::default()
                }
            }
        );
        assert_eq!(reader_grants.short(), "r");
        assert_eq!(reader_grants.may_delete(), Some(false));
        let maintainer_grants = maintainer
            .grants(&repo(APP))
            .await
            .expect("the maintainer's grants");
        assert_eq!(maintainer_grants.short(), "rwd");
        assert_eq!(maintainer_grants.may_delete(), Some(true));

        // The registry agrees: the reader's delete is refused for want of scope, and the
        // manifest stays on disk.
        let from = registry.access_log().len();
        let refused = reader
            .delete_manifest(&repo(APP), &digest)
            .await
            .expect_err("the registry refuses a delete without the delete action");
        let sentence = refused.to_string();
        assert!(
            matches!(refused, RegistryError::Unauthorized { .. })
                && sentence.contains("insufficient_scope")
                && sentence.contains(&format!("repository:{APP}:delete")),
            "{sentence}"
        );
        let deletes: Vec<_> = registry
            .access_log_since(from)
            .into_iter()
            .filter(|e| e.method == "DELETE")
            .collect();
        // Sent once: a token refused for want of scope is not fetched and tried again.
        assert_eq!(deletes.len(), 1, "{deletes:?}");
        assert_eq!(deletes[0].status, 401, "{deletes:?}");
        assert!(revision_stored(&registry, APP, &hex), "still stored");

        maintainer
            .delete_manifest(&repo(APP), &digest)
            .await
            .expect("the maintainer may delete");
        assert!(
            !revision_stored(&registry, APP, &hex),
            "deleted from storage"
        );

        let issued = tokens.issued();
        assert!(issued.len() >= 4, "tokens were issued: {}", issued.len());
        let shown = format!(
            "{reader_grants:?} {maintainer_grants:?} {} {} {refused:?} {sentence}",
            reader_grants.describe(),
            maintainer_grants.describe()
        );
        for token in &issued {
            assert!(
                !shown.contains(token.as_str()),
                "a token was shown: {shown}"
            );
        }
    }

    /// Basic auth: the user is known, its rights are not; an open registry: anonymous pull.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn basic_and_open_registries_say_what_is_known() {
        let basic = TestRegistry::start_tls_basic_auth("alice", "alice-pw");
        let grants = basic.client().grants(&repo(APP)).await.expect("grants");
        assert_eq!(
            grants,
            Grants::Basic {
                username: "alice".into()
            }
        );
        assert_eq!(grants.may_delete(), None);
        let open = TestRegistry::start();
        let grants = open.client().grants(&repo(APP)).await.expect("grants");
        assert_eq!(grants, Grants::Open);
        assert!(grants.describe().contains("anonymous"));
    }

    /// The token server refuses an unknown user: one clear sentence, no grants made up.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_refused_credential_is_an_error_not_an_empty_grant() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let tokens = TokenServer::start(
            dir.path(),
            vec![TokenUser::new("reader", "reader-pw", &["pull"])],
        )
        .await;
        let registry = TestRegistry::start_with(RegistryOptions {
            token: Some(tokens.auth()),
            ..RegistryOptions::default()
        });
        let stranger = registry.client_with(ClientOptions {
            credentials: user("reader", "wrong"),
            ..registry.client_options()
        });
        let error = stranger
            .grants(&repo(APP))
            .await
            .expect_err("wrong password");
        assert!(
            matches!(error, RegistryError::Unauthorized { .. }),
            "{error}"
        );
    }
}

mod info {
    use super::*;
    use serde_json::json;
    use support::cli::Sandbox;

    /// `regatta info` on a token registry, as the reader and as the maintainer: the granted
    /// actions of each, read from the token server's own grants; the registry enforces the
    /// same (see `token_grants_are_read_before_trying_and_match_what_the_registry_enforces`).
    /// No password and no issued token is printed.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn info_shows_what_each_token_user_may_do() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let tokens = TokenServer::start(
            dir.path(),
            vec![
                TokenUser::new("reader", "reader-pw-7", &["pull"]),
                TokenUser::new("maintainer", "maintainer-pw-7", &["pull", "push", "delete"]),
            ],
        )
        .await;
        let registry = TestRegistry::start_with(RegistryOptions {
            token: Some(tokens.auth()),
            ..RegistryOptions::default()
        });
        let maintainer = registry.client_with(ClientOptions {
            credentials: user("maintainer", "maintainer-pw-7"),
            ..registry.client_options()
        });
        fixture().push_blocking(&maintainer);
        let sandbox = Sandbox::new();
        sandbox.write_default_config(&format!(
            "[registries.reader]\nurl = \"{url}\"\nusername = \"reader\"\npassword = \"reader-pw-7\"\n\n\
             [registries.maintainer]\nurl = \"{url}\"\nusername = \"maintainer\"\npassword = \"maintainer-pw-7\"\n",
            url = registry.url()
        ));
        let runs = tokio::task::spawn_blocking(move || {
            let mut runs = Vec::new();
            for name in ["reader", "maintainer"] {
                runs.push(sandbox.run(&["info", name, "--json"]));
                runs.push(sandbox.run(&["info", name, "--repo", APP]));
            }
            runs.push(sandbox.run(&["info", "reader", "--repo", "Not/Valid"]));
            runs
        })
        .await
        .expect("the runs");
        let issued = tokens.issued();
        assert!(!issued.is_empty(), "tokens were issued");
        for run in &runs[..4] {
            run.ok()
                .never_shows("reader-pw-7")
                .never_shows("maintainer-pw-7");
            for token in &issued {
                run.never_shows(token);
            }
        }
        let reader = runs[0].json();
        // The catalog's first repository is the one asked about.
        assert_eq!(reader["grants"]["repository"], json!(APP), "{reader:#}");
        assert_eq!(reader["grants"]["kind"], json!("token"), "{reader:#}");
        assert_eq!(
            reader["grants"]["actions"],
            json!({"pull": true, "push": false, "delete": false, "all": false}),
            "{reader:#}"
        );
        assert_eq!(reader["grants"]["short"], json!("r"), "{reader:#}");
        assert_eq!(reader["rate_budget"], json!(null), "{reader:#}");
        assert_eq!(
            reader["credential"],
            json!("user \"reader\" (token auth)"),
            "{reader:#}"
        );
        assert!(
            runs[1].stdout.contains("granted  ")
                && runs[1].stdout.contains(&format!("pull on {APP} (r)")),
            "{}",
            runs[1].stdout
        );
        assert!(
            runs[1].stdout.contains("none announced"),
            "{}",
            runs[1].stdout
        );
        let maintainer = runs[2].json();
        assert_eq!(
            maintainer["grants"]["short"],
            json!("rwd"),
            "{maintainer:#}"
        );
        assert_eq!(
            maintainer["grants"]["actions"],
            json!({"pull": true, "push": true, "delete": true, "all": false}),
            "{maintainer:#}"
        );
        assert!(
            runs[3]
                .stdout
                .contains(&format!("pull,push,delete on {APP} (rwd)")),
            "{}",
            runs[3].stdout
        );
        runs[4].fails_with_one_line(&["Not/Valid"]);
    }

    /// A registry that sends Docker Hub's `RateLimit-*` headers (a fake answering as Docker
    /// Hub documents them): `info` shows the remaining budget of the last answer.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn info_shows_the_budget_a_registry_announces() {
        use wiremock::matchers::{method, path};
        use wiremock::{Mock, MockServer, ResponseTemplate};
        let server = MockServer::start().await;
        let limited = |status: u16| {
            ResponseTemplate::new(status)
                .insert_header("Docker-Distribution-API-Version", "registry/2.0")
                .insert_header("RateLimit-Limit", "100;w=21600")
                .insert_header("RateLimit-Remaining", "76;w=21600")
        };
        Mock::given(method("GET"))
            .and(path("/v2/"))
            .respond_with(limited(200))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/v2/_catalog"))
            .respond_with(limited(200).set_body_json(json!({"repositories": ["library/app"]})))
            .mount(&server)
            .await;
        // Everything else (referrers, tag and digest probes): 404, still counted.
        Mock::given(wiremock::matchers::any())
            .respond_with(limited(404))
            .mount(&server)
            .await;
        let addr = server.address().to_string();
        let (json_run, text_run) = tokio::task::spawn_blocking(move || {
            let sandbox = Sandbox::new();
            (
                sandbox.run(&["info", &addr, "--json"]),
                sandbox.run(&["info", &addr]),
            )
        })
        .await
        .expect("the runs");
        let info = json_run.ok().json();
        assert_eq!(
            info["rate_budget"],
            json!({"limit": 100, "remaining": 76, "window_secs": 21600}),
            "{info:#}"
        );
        assert_eq!(info["grants"]["kind"], json!("open"), "{info:#}");
        assert!(
            text_run
                .ok()
                .stdout
                .contains("76 of 100 requests left (per 6 h)"),
            "{}",
            text_run.stdout
        );
    }
}

mod tui {
    use super::*;
    use regatta::tui::app::Message;
    use regatta::tui::{Action, App, RegistryEntry, Theme};

    /// The app with its real workers on a token registry, signed in as `name`: the probe
    /// finds token auth, the repository list asks the token server once per repository.
    async fn app_as(
        registry: &TestRegistry,
        name: &str,
        password: &str,
        journal: &std::path::Path,
    ) -> App {
        let client = registry.client_with(ClientOptions {
            credentials: user(name, password),
            ..registry.client_options()
        });
        let source: std::sync::Arc<dyn regatta::registry::Source> =
            std::sync::Arc::new(client.clone());
        let entry = RegistryEntry {
            name: "tokens".into(),
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
        // The probe's answer arrives after the list opened: the next action asks.
        let effects = app.update(Action::Tick);
        regatta::tui::memory::run_until_idle(&mut app, effects).await;
        app
    }

    /// The reader's list shows `r` and a delete is refused before any dialog (nothing is
    /// sent: the registry's access log has no DELETE); the maintainer's shows `rwd` and the
    /// dialog opens. The token server saw one grants request per user and repository.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_repository_list_shows_grants_and_a_reader_cannot_start_a_delete() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let tokens = TokenServer::start(
            dir.path(),
            vec![
                TokenUser::new("reader", "reader-pw", &["pull"]),
                TokenUser::new("maintainer", "maintainer-pw", &["pull", "push", "delete"]),
            ],
        )
        .await;
        let registry = TestRegistry::start_with(RegistryOptions {
            access_log: true,
            delete_enabled: true,
            token: Some(tokens.auth()),
            ..RegistryOptions::default()
        });
        let maintainer = registry.client_with(ClientOptions {
            credentials: user("maintainer", "maintainer-pw"),
            ..registry.client_options()
        });
        let truth = fixture().push_blocking(&maintainer);
        let hex = truth.tagged(APP, "v1").digest.to_string()["sha256:".len()..].to_string();
        let journal = tempfile::tempdir().expect("a temp dir");

        let mut reader = app_as(&registry, "reader", "reader-pw", journal.path()).await;
        let entry = &reader.entries()[0];
        assert!(
            entry.capabilities.as_ref().is_some_and(|c| c.token_auth),
            "{:?}",
            entry.capabilities
        );
        assert_eq!(entry.grants.get(&repo(APP)).map(Grants::short), Some("r"));
        for action in [Action::Open, Action::Last, Action::RequestDelete] {
            let effects = reader.update(action);
            regatta::tui::memory::run_until_idle(&mut reader, effects).await;
        }
        assert!(reader.dialog().is_none());
        assert!(
            matches!(reader.message(), Some(Message::Error(e))
                if e == "the credential for tokens may not delete in team/app: its token grants pull only"),
            "{:?}",
            reader.message()
        );

        let mut writer = app_as(&registry, "maintainer", "maintainer-pw", journal.path()).await;
        assert_eq!(
            writer.entries()[0]
                .grants
                .get(&repo(APP))
                .map(Grants::short),
            Some("rwd")
        );
        for action in [Action::Open, Action::Last, Action::RequestDelete] {
            let effects = writer.update(action);
            regatta::tui::memory::run_until_idle(&mut writer, effects).await;
        }
        assert!(writer.dialog().is_some(), "{:?}", writer.message());
        // The probe's deletes name absent digests and tags; none names the image.
        assert!(
            registry
                .access_log()
                .iter()
                .all(|e| e.method != "DELETE" || !e.target.contains(&hex)),
            "nothing of the image was deleted"
        );
        assert!(revision_stored(&registry, APP, &hex), "still stored");
        // One grants request per user and repository: the token server's log.
        let asked: Vec<_> = tokens
            .requests()
            .await
            .into_iter()
            .filter(|r| {
                r.url
                    .query_pairs()
                    .any(|(k, v)| k == "scope" && v == format!("repository:{APP}:pull,push,delete"))
            })
            .collect();
        assert_eq!(asked.len(), 2, "{asked:?}");
    }
}

/// The built binary in a real terminal (tmux), signed in as the read-only user of a token
/// registry: the repository list shows `r` in its `MAY` column and `d` on a tag says in one
/// line that the token grants pull only; the registry saw no `DELETE` of the image.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tui_in_a_terminal_shows_the_readers_grants_and_refuses_its_delete() {
    use support::tmux::Pane;
    let dir = tempfile::tempdir().expect("a temp dir");
    let tokens = TokenServer::start(
        dir.path(),
        vec![
            TokenUser::new("reader", "reader-pw-e2e", &["pull"]),
            TokenUser::new("maintainer", "maintainer-pw", &["pull", "push", "delete"]),
        ],
    )
    .await;
    let registry = TestRegistry::start_with(RegistryOptions {
        access_log: true,
        delete_enabled: true,
        token: Some(tokens.auth()),
        ..RegistryOptions::default()
    });
    let maintainer = registry.client_with(ClientOptions {
        credentials: user("maintainer", "maintainer-pw"),
        ..registry.client_options()
    });
    let truth = fixture().push_blocking(&maintainer);
    let hex = truth.tagged(APP, "v1").digest.to_string()["sha256:".len()..].to_string();
    let config = format!(
        "[registries.tokens]\nurl = \"{}\"\nusername = \"reader\"\npassword = \"reader-pw-e2e\"\n",
        registry.url()
    );
    let list = tokio::task::spawn_blocking(move || {
        let pane = Pane::start_with("grants", &["tokens"], &[], |root| {
            let dir = root.join("config/regatta");
            std::fs::create_dir_all(&dir).expect("mkdir config/regatta");
            std::fs::write(dir.join("config.toml"), &config).expect("write config.toml");
        });
        // The line below the rows there too: the screen checked for the password is whole.
        let list = pane.wait_for("the grants column", |s| {
            s.contains("MAY")
                && s.lines()
                    .any(|l| l.contains(APP) && l.trim_end().ends_with(" r"))
                && s.contains("sort: name ↓ · 1/1")
        });
        pane.keys(&["Enter"]);
        pane.wait_for_text("v1");
        pane.keys(&["d"]);
        pane.wait_for_text(&format!(
            "may not delete in {APP}: its token grants pull only"
        ));
        pane.keys(&["q"]);
        pane.wait_for_exit();
        list
    })
    .await
    .expect("the pane");
    assert!(!list.contains("reader-pw-e2e"), "{list}");
    assert!(
        registry
            .access_log()
            .iter()
            .all(|e| e.method != "DELETE" || !e.target.contains(&hex)),
        "nothing of the image was deleted"
    );
    assert!(revision_stored(&registry, APP, &hex), "still stored");
}

mod politeness {
    use super::*;
    use std::time::{Duration, Instant};

    /// `max_requests_per_second = 4` against a real registry: every request arrives (the
    /// access log counts them), and N requests take at least (N - 4) / 4 seconds, the burst of
    /// one second's worth going at once. Only this lower bound is asserted.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_configured_request_rate_is_kept() {
        let registry = TestRegistry::start_with(RegistryOptions {
            access_log: true,
            ..RegistryOptions::default()
        });
        fixture().push_blocking(&registry.client());
        let from = registry.access_log().len();
        const RATE: f64 = 4.0;
        let started = Instant::now();
        let client = registry.client_with(ClientOptions {
            max_requests_per_second: Some(RATE),
            ..registry.client_options()
        });
        let app = repo(APP);
        let listings = (0..12).map(|_| client.tags(&app));
        for tags in futures::future::join_all(listings).await {
            assert_eq!(tags.expect("the tags").len(), 1);
        }
        let elapsed = started.elapsed();
        let sent = client.counters().total();
        let log = registry.access_log_since(from);
        let listed = log
            .iter()
            .filter(|e| e.method == "GET" && e.target.contains("/tags/list"))
            .count();
        assert_eq!(listed, 12, "every listing reached the registry");
        assert_eq!(
            log.len() as u64,
            sent,
            "the registry saw what the client sent"
        );
        let floor = Duration::from_secs_f64((sent as f64 - RATE) / RATE);
        assert!(
            elapsed >= floor,
            "{sent} requests at {RATE}/s took {elapsed:?}, less than {floor:?}"
        );
    }
}

mod without_catalog {
    use super::*;
    use support::cli::Sandbox;
    use support::fault_proxy::{Fault, FaultProxy, Rule};
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const WEB: &str = "team/web";

    /// A real registry holding `team/app` and `team/web`, behind a proxy that refuses
    /// `_catalog` with `status`, as Docker Hub, GHCR, ECR Public and Quay do.
    fn catalog_refused(status: u16) -> (TestRegistry, FaultProxy) {
        let registry = TestRegistry::start();
        let mut b = fixture();
        b.image(
            WEB,
            &["v1", "v2"],
            ImageSpec::new(
                Format::Docker,
                vec![Layer::text("web-v1"), Layer::text("web")],
            ),
        );
        registry.push(&b);
        let proxy = FaultProxy::start(&registry.addr());
        proxy.add(Rule::always("GET", "/v2/_catalog", Fault::status(status)));
        (registry, proxy)
    }

    fn config(proxy: &FaultProxy, extra: &str) -> String {
        format!(
            "[registries.shy]\nurl = \"http://{}\"\ndocker_config = false\n{extra}\n",
            proxy.addr()
        )
    }

    /// `du --json` of `shy` covers `repositories` repositories and every byte on disk.
    fn du_covers_the_registry(sandbox: &Sandbox, registry: &TestRegistry, repositories: u64) {
        let run = sandbox.run(&["du", "shy", "--json"]);
        run.ok();
        let report = run.json();
        assert_eq!(report["complete"], true, "{}", run.describe());
        assert_eq!(report["registry"]["repositories"], repositories);
        assert_eq!(
            report["registry"]["physical_bytes"],
            registry.blob_store_bytes(),
            "{}",
            run.describe()
        );
    }

    /// Refused with 404 or 401, the catalog's absence is one sentence naming both ways out;
    /// the configured `repositories` then work for `ls` and `du` (no catalog asked).
    #[test]
    fn a_refused_catalog_names_the_ways_out_and_the_repositories_list_works() {
        for status in [404, 401] {
            let (registry, proxy) = catalog_refused(status);
            let sandbox = Sandbox::new();
            sandbox.write_default_config(&config(&proxy, ""));
            let run = sandbox.run(&["ls", "shy"]);
            run.fails_with_one_line(&[
                "no catalog API",
                &format!("{status} on /v2/_catalog"),
                "`repositories`",
                "`namespace`",
            ]);
            assert!(proxy.count("GET", "/v2/_catalog") >= 1);

            sandbox.write_default_config(&config(&proxy, "repositories = [\"team/web\"]"));
            let run = sandbox.run(&["ls", "shy"]);
            run.ok();
            assert_eq!(run.stdout_lines(), [WEB], "only the configured one");

            sandbox.write_default_config(&config(
                &proxy,
                "repositories = [\"team/app\", \"team/web\"]",
            ));
            let before = proxy.count("GET", "/v2/_catalog");
            du_covers_the_registry(&sandbox, &registry, 2);
            assert_eq!(
                proxy.count("GET", "/v2/_catalog"),
                before,
                "the configured list stands in for the catalog"
            );
        }
    }

    /// `namespace` listed through a fake of Docker Hub's repository API (its documented
    /// shape, two pages through `next`), in front of the real registry whose catalog is
    /// refused: `ls` shows the namespace's repositories and `du` measures them on the registry.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_namespace_is_listed_through_the_vendor_api_and_read_from_the_registry() {
        let (registry, proxy) = catalog_refused(404);
        let hub = MockServer::start().await;
        let repository = |name: &str| {
            serde_json::json!({
                "name": name, "namespace": "team", "repository_type": "image",
                "is_private": false, "star_count": 0, "pull_count": 1,
                "last_updated": "2024-05-01T10:00:00.000000Z"
            })
        };
        let second = format!(
            "{}/v2/namespaces/team/repositories?page=2&page_size=100",
            hub.uri()
        );
        Mock::given(method("GET"))
            .and(path("/v2/namespaces/team/repositories"))
            .and(wiremock::matchers::query_param("page", "2"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "count": 2, "next": null, "previous": hub.uri(), "results": [repository("web")]
            })))
            .with_priority(1)
            .mount(&hub)
            .await;
        Mock::given(method("GET"))
            .and(path("/v2/namespaces/team/repositories"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "count": 2, "next": second, "previous": null, "results": [repository("app")]
            })))
            .with_priority(2)
            .mount(&hub)
            .await;
        let sandbox = Sandbox::new();
        sandbox.write_default_config(&config(
            &proxy,
            &format!(
                "namespace = \"team\"\nnamespace_api = \"docker-hub\"\nnamespace_api_url = \"{}\"",
                hub.uri()
            ),
        ));
        let run = sandbox.run(&["ls", "shy"]);
        run.ok();
        assert_eq!(run.stdout_lines(), [APP, WEB]);
        du_covers_the_registry(&sandbox, &registry, 2);
        assert_eq!(proxy.count("GET", "/v2/_catalog"), 0, "no catalog asked");
        let asked = hub.received_requests().await.expect("recording");
        assert!(asked.len() >= 4, "two pages per command: {}", asked.len());
    }
}
