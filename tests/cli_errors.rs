//! How the `regatta` binary fails: each class of error ends as exactly one line on stderr
//! (`regatta: ...`) and exit code 1, never a panic or a backtrace; usage errors exit with 2.
//! A real registry gives the 404s; an in-process fake (wiremock) gives what a real registry
//! will not: malformed JSON, schema 1 manifests, bodies that do not match their digest.

mod support;

use std::sync::OnceLock;

use regatta::registry::Digest;
use regatta::registry::manifest::{DOCKER_SCHEMA1_SIGNED, OCI_CONFIG, OCI_MANIFEST};
use serde_json::json;
use support::cli::{Sandbox, parallel_map};
use support::fixtures::FixtureBuilder;
use support::image::{Format, ImageSpec, Layer};
use support::registry::{TestRegistry, free_port};
use support::truth::Fixture;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A small plain registry for the binary: `team/app:1`. Tests here only read.
fn registry() -> &'static (TestRegistry, Fixture) {
    static REGISTRY: OnceLock<(TestRegistry, Fixture)> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let registry = TestRegistry::start();
        let mut b = FixtureBuilder::new();
        b.image(
            "team/app",
            &["1"],
            ImageSpec::new(Format::Oci, vec![Layer::text("errors-app")]),
        );
        let fixture = b.push_blocking(&registry.client());
        (registry, fixture)
    })
}

#[test]
fn an_unreachable_registry_is_one_line_for_every_command() {
    let sandbox = Sandbox::new();
    // Nobody listens there (the port was free a moment ago).
    let addr = format!("127.0.0.1:{}", free_port());
    let commands: Vec<Vec<String>> = vec![
        vec!["ls".into(), addr.clone()],
        vec!["ls".into(), addr.clone(), "--json".into()],
        vec!["tags".into(), format!("{addr}/team/app")],
        vec![
            "inspect".into(),
            format!("{addr}/team/app:1"),
            "--json".into(),
        ],
        vec!["du".into(), addr.clone()],
        vec!["audit".into(), addr.clone(), "--json".into()],
    ];
    let runs = parallel_map(&commands, |args| sandbox.run(args));
    for run in &runs {
        run.fails_with_one_line(&["cannot reach", &addr]);
    }
}

#[test]
fn a_missing_repository_is_a_404_naming_it() {
    let (registry, _) = registry();
    let sandbox = Sandbox::new();
    let addr = registry.addr();
    let run = sandbox.run(&["tags", &format!("{addr}/no/such/repo")]);
    run.fails_with_one_line(&["404", "no/such/repo"]);
    let run = sandbox.run(&["tags", &format!("{addr}/no/such/repo"), "--json"]);
    run.fails_with_one_line(&["404", "no/such/repo"]);
    let run = sandbox.run(&["inspect", &format!("{addr}/no/such/repo:1")]);
    run.fails_with_one_line(&["404", "no/such/repo"]);
}

#[test]
fn a_missing_tag_or_digest_is_a_404_naming_it() {
    let (registry, fixture) = registry();
    let sandbox = Sandbox::new();
    let addr = registry.addr();
    // The repository is there, with tag `1`.
    sandbox.run(&["tags", &format!("{addr}/team/app")]).ok();
    let run = sandbox.run(&["inspect", &format!("{addr}/team/app:nope")]);
    run.fails_with_one_line(&["404", "team/app:nope"]);
    let run = sandbox.run(&["inspect", &format!("{addr}/team/app:nope"), "--json"]);
    run.fails_with_one_line(&["404", "team/app:nope"]);
    let absent = Digest::sha256_of(b"nothing has this digest");
    let run = sandbox.run(&["inspect", &format!("{addr}/team/app@{absent}")]);
    run.fails_with_one_line(&["404", absent.as_str()]);
    // Not a 404 in disguise: the tag that exists works.
    let truth = fixture.tagged("team/app", "1");
    let run = sandbox.run(&["inspect", &format!("{addr}/team/app:1"), "--json"]);
    run.ok();
    assert_eq!(run.json()["digest"], json!(truth.digest.to_string()));
}

#[test]
fn plain_http_to_a_tls_port_is_one_line() {
    let registry = TestRegistry::start_tls_basic_auth("u", "p");
    // A loopback address without a scheme means plain HTTP.
    let run = Sandbox::new().run(&["ls", &registry.addr()]);
    run.fails_with_one_line(&["400", &format!("name it https://{}", registry.addr())]);
}

#[test]
fn malformed_references_are_one_line() {
    let sandbox = Sandbox::new();
    for (args, needle) in [
        (vec!["inspect", "127.0.0.1:9/Team/App:1"], "Team/App"),
        (
            vec!["inspect", "127.0.0.1:9/team/app@sha256:xyz"],
            "sha256:xyz",
        ),
        (vec!["inspect", "127.0.0.1:9/team/app:-bad"], "-bad"),
        (vec!["tags", "127.0.0.1:9"], "127.0.0.1:9"),
        (vec!["ls", "bad host"], "bad host"),
    ] {
        sandbox.run(&args).fails_with_one_line(&["invalid", needle]);
    }
}

/// A fake registry answering `GET /v2/`; tests mount the rest.
async fn fake() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(path("/v2/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&server)
        .await;
    server
}

fn config_and_manifest() -> (Vec<u8>, Vec<u8>) {
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Env": ["A=1"]},
        "rootfs": {"type": "layers", "diff_ids": []},
    }))
    .expect("json");
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": Digest::sha256_of(&config), "size": config.len()},
        "layers": [],
    }))
    .expect("json");
    (config, manifest)
}

#[tokio::test]
async fn malformed_json_from_the_registry_is_one_line_naming_the_url() {
    let server = fake().await;
    let broken = r#"{"name":"team/app","tags":["a","#;
    Mock::given(path("/v2/team/app/tags/list"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(broken, "application/json"))
        .mount(&server)
        .await;
    Mock::given(path("/v2/_catalog"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(broken, "application/json"))
        .mount(&server)
        .await;
    Mock::given(path("/v2/team/app/manifests/1"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":"#.to_vec(),
            OCI_MANIFEST,
        ))
        .mount(&server)
        .await;
    let addr = server.address().to_string();
    let sandbox = Sandbox::new();
    sandbox
        .run(&["tags", &format!("{addr}/team/app")])
        .fails_with_one_line(&["malformed", "/v2/team/app/tags/list"]);
    sandbox
        .run(&["ls", &addr, "--json"])
        .fails_with_one_line(&["malformed", "/v2/_catalog"]);
    sandbox
        .run(&["inspect", &format!("{addr}/team/app:1")])
        .fails_with_one_line(&["malformed response from team/app:1"]);
}

#[tokio::test]
async fn a_schema1_manifest_is_one_line_saying_schema_1() {
    let server = fake().await;
    let body = json!({"schemaVersion": 1, "name": "team/app", "tag": "old", "fsLayers": [], "signatures": []});
    Mock::given(method("GET"))
        .and(path("/v2/team/app/manifests/old"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            serde_json::to_vec(&body).expect("json"),
            DOCKER_SCHEMA1_SIGNED,
        ))
        .mount(&server)
        .await;
    let addr = server.address().to_string();
    let sandbox = Sandbox::new();
    for json in [false, true] {
        let mut args = vec!["inspect".to_string(), format!("{addr}/team/app:old")];
        if json {
            args.push("--json".into());
        }
        sandbox
            .run(&args)
            .fails_with_one_line(&["schema 1", "team/app:old"]);
    }
}

#[tokio::test]
async fn a_body_that_does_not_match_its_digest_is_one_line() {
    let server = fake().await;
    let (_, manifest) = config_and_manifest();
    let actual = Digest::sha256_of(&manifest);
    let asked = Digest::sha256_of(b"some other manifest");
    // By digest: the body hashes to something else.
    Mock::given(method("GET"))
        .and(path(format!("/v2/team/app/manifests/{asked}")))
        .respond_with(ResponseTemplate::new(200).set_body_raw(manifest.clone(), OCI_MANIFEST))
        .mount(&server)
        .await;
    // By tag: the registry's own Docker-Content-Digest header disagrees with the body.
    Mock::given(method("GET"))
        .and(path("/v2/team/app/manifests/lying"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(manifest.clone(), OCI_MANIFEST)
                .insert_header("Docker-Content-Digest", asked.as_str()),
        )
        .mount(&server)
        .await;
    let addr = server.address().to_string();
    let sandbox = Sandbox::new();
    for reference in [
        format!("{addr}/team/app@{asked}"),
        format!("{addr}/team/app:lying"),
    ] {
        sandbox
            .run(&["inspect", &reference, "--json"])
            .fails_with_one_line(&["digest mismatch", asked.as_str(), actual.as_str()]);
    }
}

#[tokio::test]
async fn a_config_blob_that_does_not_match_its_digest_is_not_passed_over_in_silence() {
    let server = fake().await;
    let (config, manifest) = config_and_manifest();
    let config_digest = Digest::sha256_of(&config);
    Mock::given(method("GET"))
        .and(path("/v2/team/app/manifests/1"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(manifest.clone(), OCI_MANIFEST))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v2/team/app/blobs/{config_digest}")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(b"tampered".to_vec(), "application/octet-stream"),
        )
        .mount(&server)
        .await;
    let addr = server.address().to_string();
    let sandbox = Sandbox::new();
    let reference = format!("{addr}/team/app:1");
    // The manifest verified, so the image is shown; the config's failure is said on stderr
    // and, for scripts, in the JSON.
    for json in [true, false] {
        let mut args = vec!["inspect", reference.as_str()];
        if json {
            args.push("--json");
        }
        let run = sandbox.run(&args);
        run.ok_with_stderr().no_panic();
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{}", run.describe());
        assert!(
            lines[0].starts_with(&format!(
                "regatta: warning: cannot read the config of {reference}: digest mismatch"
            )) && lines[0].contains(config_digest.as_str()),
            "{}",
            run.describe()
        );
        if json {
            let report = run.json();
            assert_eq!(
                report["digest"],
                json!(Digest::sha256_of(&manifest).to_string())
            );
            assert!(report.get("config").is_none(), "{report}");
            let error = report["config_error"].as_str().expect("config_error");
            assert!(error.starts_with("digest mismatch"), "{error}");
        } else {
            assert!(
                run.stdout.contains("Digest:     sha256:"),
                "{}",
                run.describe()
            );
        }
    }
}

/// One config fixture per error, each asserted on its file, line and key.
#[test]
fn a_bad_config_is_one_line_naming_file_line_and_key() {
    let sandbox = Sandbox::new();
    let cases = [
        (
            "unknown-key.toml",
            "[registries.local]\nurl = \"127.0.0.1:5000\"\ninsecur = true\n",
            3,
            "registries.local.insecur",
            "unknown field",
        ),
        (
            "wrong-type.toml",
            "[defaults]\nconcurrency = 4\n\n[registries.local]\nurl = \"127.0.0.1:5000\"\ninsecure = \"yes\"\n",
            6,
            "registries.local.insecure",
            "invalid type",
        ),
        (
            "wrong-type-number.toml",
            "[defaults]\npage_size = \"seven\"\n",
            2,
            "defaults.page_size",
            "invalid type",
        ),
        (
            "out-of-range.toml",
            "[registries.local]\nurl = \"127.0.0.1:5000\"\npage_size = 5000\n",
            3,
            "registries.local.page_size",
            "1 to 1000",
        ),
        (
            "unknown-table.toml",
            "[registry.local]\nurl = \"127.0.0.1:5000\"\n",
            1,
            "registry.local",
            "unknown field `registry`",
        ),
        (
            "missing-url.toml",
            "[registries.local]\ninsecure = true\n",
            1,
            "registries.local",
            "missing field `url`",
        ),
    ];
    for (name, text, line, key, what) in cases {
        let file = sandbox.write_file(&format!("configs/{name}"), text);
        let file = file.to_str().expect("a UTF-8 path");
        let start = format!("regatta: {file}:{line}: key `{key}`");
        // Named with --config, and found at the default path.
        let run = sandbox.run(&["--config", file, "ls", "local"]);
        let got = run.fails_with_one_line(&[what]);
        assert!(got.starts_with(&start), "{}", run.describe());
        let default = sandbox.write_default_config(text);
        let default = default.to_str().expect("a UTF-8 path");
        let run = sandbox.run(&["tags", "local/team/app"]);
        let got = run.fails_with_one_line(&[what]);
        assert!(
            got.starts_with(&format!("regatta: {default}:{line}: key `{key}`")),
            "{}",
            run.describe()
        );
    }
}

#[test]
fn a_config_that_is_missing_or_not_toml_is_one_line_naming_it() {
    let sandbox = Sandbox::new();
    let missing = sandbox.root().join("nowhere/config.toml");
    let missing = missing.to_str().expect("a UTF-8 path");
    sandbox
        .run(&["--config", missing, "ls", "local"])
        .fails_with_one_line(&[missing, "cannot read"]);
    let broken = sandbox.write_file("broken.toml", "[registries.local\nurl = 1\n");
    let broken = broken.to_str().expect("a UTF-8 path");
    sandbox
        .run(&["--config", broken, "ls", "local"])
        .fails_with_one_line(&[&format!("{broken}:1")]);
}

#[test]
fn usage_errors_exit_with_2_and_show_usage() {
    let sandbox = Sandbox::new();
    for args in [
        vec!["ls"],
        vec!["tags"],
        vec!["inspect"],
        vec!["ls", "127.0.0.1:5000", "--bogus"],
        vec!["--concurrency", "0", "ls", "127.0.0.1:5000"],
        vec!["--concurrency", "many", "ls", "127.0.0.1:5000"],
        vec!["rm"],
        vec!["completions"],
        vec!["completions", "cmd.exe"],
        vec!["du", "127.0.0.1:5000", "--free"],
    ] {
        let run = sandbox.run(&args);
        assert_eq!(run.code, Some(2), "{}", run.describe());
        assert!(run.stdout.is_empty(), "{}", run.describe());
        assert!(run.stderr.starts_with("error: "), "{}", run.describe());
        assert!(
            run.stderr.contains("Usage: regatta") || run.stderr.contains("--help"),
            "{}",
            run.describe()
        );
        run.no_panic();
    }
}

#[test]
fn help_and_version_exit_0() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&["--help"]);
    run.ok();
    for command in [
        "ls",
        "tags",
        "inspect",
        "du",
        "rm",
        "cleanup",
        "restore",
        "completions",
    ] {
        assert!(
            run.stdout
                .lines()
                .any(|l| l.trim_start().starts_with(command)),
            "{command} missing from --help:\n{}",
            run.stdout
        );
    }
    let run = sandbox.run(&["--version"]);
    run.ok();
    assert_eq!(
        run.stdout,
        format!("regatta {}\n", env!("CARGO_PKG_VERSION"))
    );
    sandbox.run(&["inspect", "--help"]).ok();
}

#[test]
fn completions_print_a_script_for_each_shell() {
    let sandbox = Sandbox::new();
    // A broken config does not stand in the way: completions need none.
    sandbox.write_default_config("this is not toml\n");
    for (shell, marker) in [
        ("bash", "complete -F _regatta"),
        ("zsh", "#compdef regatta"),
        ("fish", "complete -c regatta"),
        ("elvish", "regatta"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let run = sandbox.run(&["completions", shell]);
        run.ok();
        assert!(run.stdout.contains(marker), "{shell}:\n{}", run.stdout);
    }
    let run = sandbox.run(&["completions", "bash"]);
    assert!(run.stdout.contains("_regatta()"), "{}", run.stdout);
    for command in [
        "ls", "tags", "inspect", "du", "audit", "rm", "cleanup", "restore",
    ] {
        assert!(
            run.stdout.contains(&format!("regatta,{command})")),
            "bash completion lacks {command}"
        );
    }
}
