//! The `regatta` binary reading the standard fixture from a real registry: `ls`, `tags` and
//! `inspect`, as JSON and as text, compared with the fixture's ground truth (computed from the
//! bytes the builder made, never read back). Everything here only reads, so the binary shares
//! one registry; every run of the binary has a sandboxed home of its own.

mod support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use support::cli::{Sandbox, parallel_map};
use support::standard::{
    self, BIG_REPO, DOCKER_LIST, DOCKER_REPO, MULTI_ARCH, NESTED_REPO, OCI_REPO, RICH, shared,
};
use support::truth::{Fixture, ManifestTruth};

use regatta::registry::manifest::{DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST};

/// Every `(repository, tag)` of the fixture.
fn every_tag(fixture: &Fixture) -> Vec<(String, String)> {
    fixture
        .repos
        .iter()
        .flat_map(|(name, r)| r.tags.keys().map(|t| (name.clone(), t.clone())))
        .collect()
}

#[test]
fn ls_json_lists_exactly_the_fixture_repositories() {
    let s = shared();
    let sandbox = Sandbox::new();
    let addr = s.registry.addr();
    for target in [addr.clone(), format!("http://{addr}")] {
        let run = sandbox.run(&["ls", &target, "--json"]);
        run.ok();
        let names = run.json_strings();
        assert_eq!(names.len(), standard::REPO_COUNT);
        assert_eq!(names, s.fixture.repo_names(), "{target}");
    }
}

#[test]
fn ls_text_prints_one_repository_per_line() {
    let s = shared();
    let run = Sandbox::new().run(&["ls", &s.registry.addr()]);
    run.ok();
    assert_eq!(run.stdout_lines(), s.fixture.repo_names());
}

/// The bytes one connection sent, shared with the thread forwarding them.
type Record = Arc<Mutex<Vec<u8>>>;

/// A TCP proxy that forwards to `upstream` and records the request lines of what it
/// forwards, so a test can count the requests the binary made.
struct RecordingProxy {
    addr: String,
    /// What each connection sent, in order.
    sent: Arc<Mutex<Vec<Record>>>,
}

impl RecordingProxy {
    fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address").to_string();
        let sent: Arc<Mutex<Vec<Record>>> = Arc::default();
        let connections = Arc::clone(&sent);
        // Threads end when their connections close; the listener lives as long as the test
        // process.
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                let record: Record = Arc::default();
                connections.lock().expect("lock").push(Arc::clone(&record));
                let (mut from_client, mut to_server) = (
                    client.try_clone().expect("clone"),
                    server.try_clone().expect("clone"),
                );
                std::thread::spawn(move || {
                    let mut buf = [0u8; 16 * 1024];
                    while let Ok(n) = from_client.read(&mut buf) {
                        if n == 0 || to_server.write_all(&buf[..n]).is_err() {
                            break;
                        }
                        record.lock().expect("lock").extend_from_slice(&buf[..n]);
                    }
                    let _ = to_server.shutdown(std::net::Shutdown::Write);
                });
                let (mut from_server, mut to_client) = (server, client);
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut from_server, &mut to_client);
                    let _ = to_client.shutdown(std::net::Shutdown::Write);
                });
            }
        });
        Self { addr, sent }
    }

    /// `GET /v2/_catalog?n=7 HTTP/1.1` and the like, per connection in order.
    fn request_lines(&self) -> Vec<String> {
        let connections = self.sent.lock().expect("lock");
        connections
            .iter()
            .flat_map(|record| {
                let bytes = record.lock().expect("lock").clone();
                String::from_utf8_lossy(&bytes)
                    .split("\r\n")
                    .filter(|l| l.ends_with(" HTTP/1.1") && l.contains(" /v2/"))
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}

#[test]
fn ls_through_a_config_with_page_size_7_pages_through_the_whole_catalog() {
    let s = shared();
    let proxy = RecordingProxy::start(s.registry.addr());
    let sandbox = Sandbox::new();
    let config = sandbox.write_file(
        "elsewhere/regatta.toml",
        &format!(
            "[registries.paged]\nurl = \"http://{}\"\npage_size = 7\n",
            proxy.addr
        ),
    );
    let config = config.to_str().expect("a UTF-8 path");
    let run = sandbox.run(&["--config", config, "ls", "paged", "--json"]);
    run.ok();
    assert_eq!(run.json_strings(), s.fixture.repo_names());
    let catalog: Vec<String> = proxy
        .request_lines()
        .into_iter()
        .filter(|l| l.contains("/v2/_catalog"))
        .collect();
    // 150 = 21 full pages of 7 and one of 3, each asked for with n=7.
    assert_eq!(catalog.len(), 22, "{catalog:#?}");
    assert!(
        catalog
            .iter()
            .all(|l| l.starts_with("GET ") && l.contains("n=7")),
        "{catalog:#?}"
    );
    assert!(
        catalog[1..].iter().all(|l| l.contains("last=")),
        "{catalog:#?}"
    );

    // The address of the configured registry picks up its page size too.
    let before = proxy.request_lines().len();
    let run = sandbox.run(&["--config", config, "ls", &proxy.addr]);
    run.ok();
    assert_eq!(run.stdout_lines(), s.fixture.repo_names());
    let again = proxy.request_lines()[before..]
        .iter()
        .filter(|l| l.contains("/v2/_catalog"))
        .count();
    assert_eq!(again, 22);
}

#[test]
fn tags_json_lists_exactly_each_repositorys_tags() {
    let s = shared();
    let sandbox = Sandbox::new();
    let addr = s.registry.addr();
    let repos = s.fixture.repo_names();
    assert_eq!(repos.len(), standard::REPO_COUNT);
    let results = parallel_map(&repos, |name| {
        let run = sandbox.run(&["tags", &format!("{addr}/{name}"), "--json"]);
        run.ok();
        (name.clone(), run.json_strings())
    });
    for (name, tags) in results {
        assert_eq!(tags, s.fixture.tags(&name), "{name}");
    }
}

#[test]
fn tags_text_prints_one_tag_per_line() {
    let s = shared();
    let sandbox = Sandbox::new();
    let addr = s.registry.addr();
    let mut repos: Vec<String> = RICH.iter().map(|r| r.to_string()).collect();
    repos.extend([standard::bulk_repo(0), standard::bulk_repo(1)]);
    for name in repos {
        let run = sandbox.run(&["tags", &format!("{addr}/{name}")]);
        run.ok();
        assert_eq!(run.stdout_lines(), s.fixture.tags(&name), "{name}");
    }
}

/// `os/arch[/variant]` of a `{os, architecture, variant}` object.
fn platform_string(p: &Value) -> String {
    let mut s = format!(
        "{}/{}",
        p["os"].as_str().expect("os"),
        p["architecture"].as_str().expect("architecture")
    );
    if let Some(v) = p["variant"].as_str() {
        s.push('/');
        s.push_str(v);
    }
    s
}

fn parse(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("a ground-truth document is JSON")
}

/// `layers` and `config` of one image (the report itself, or an entry of `manifests`) against
/// the manifest and config documents the builder made.
fn check_image(got: &Value, truth: &ManifestTruth, at: &str) {
    let manifest = parse(&truth.document);
    let expected_layers: Vec<Value> = manifest["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .map(|l| json!({"digest": l["digest"], "media_type": l["mediaType"], "size": l["size"]}))
        .collect();
    assert_eq!(got["layers"], json!(expected_layers), "{at}: layers");
    let layer_digests: Vec<&str> = expected_layers
        .iter()
        .map(|l| l["digest"].as_str().expect("digest"))
        .collect();
    let truth_layers: Vec<String> = truth.layers.iter().map(|d| d.to_string()).collect();
    assert_eq!(layer_digests, truth_layers, "{at}: layers");

    let config = parse(
        truth
            .config_document
            .as_deref()
            .expect("an image has a config"),
    );
    let run = &config["config"];
    let c = &got["config"];
    let or_null = |v: Option<&Value>| v.cloned().unwrap_or(Value::Null);
    assert_eq!(
        c["digest"],
        json!(truth.config.as_ref().expect("config digest").to_string()),
        "{at}: config digest"
    );
    assert_eq!(c["created"], config["created"], "{at}: created");
    assert_eq!(
        c["created"].as_str(),
        truth.created.as_deref(),
        "{at}: created"
    );
    assert_eq!(c["os"], config["os"], "{at}: os");
    assert_eq!(
        c["architecture"], config["architecture"],
        "{at}: architecture"
    );
    assert_eq!(
        c["variant"],
        or_null(config.get("variant")),
        "{at}: variant"
    );
    assert_eq!(c["env"], run["Env"], "{at}: env");
    assert_eq!(
        c["labels"],
        run.get("Labels").cloned().unwrap_or(json!({})),
        "{at}: labels"
    );
    assert_eq!(
        c["entrypoint"],
        or_null(run.get("Entrypoint")),
        "{at}: entrypoint"
    );
    assert_eq!(c["cmd"], or_null(run.get("Cmd")), "{at}: cmd");
    assert_eq!(
        c["working_dir"],
        or_null(run.get("WorkingDir")),
        "{at}: working_dir"
    );
    assert_eq!(c["history"], config["history"], "{at}: history");
    assert!(
        !c["history"].as_array().expect("history").is_empty(),
        "{at}: history"
    );
}

/// An `inspect --json` report against the ground truth of the manifest it names.
fn check_report(report: &Value, fixture: &Fixture, repo: &str, truth: &ManifestTruth, at: &str) {
    assert_eq!(
        report["digest"],
        json!(truth.digest.to_string()),
        "{at}: digest"
    );
    assert_eq!(
        report["media_type"],
        json!(truth.media_type),
        "{at}: media_type"
    );
    assert_eq!(report["size"], json!(truth.size), "{at}: size");
    assert_eq!(
        report["manifest_bytes"],
        json!(truth.manifest_size),
        "{at}: manifest_bytes"
    );
    if truth.is_index {
        assert!(
            report.get("layers").is_none(),
            "{at}: an index has no layers"
        );
        assert!(
            report.get("config").is_none(),
            "{at}: an index has no config"
        );
        let manifests = report["manifests"].as_array().expect("manifests");
        assert_eq!(manifests.len(), truth.children.len(), "{at}: platforms");
        for (m, (child_digest, platform)) in manifests.iter().zip(&truth.children) {
            let child = fixture.manifest(repo, child_digest);
            let at = format!("{at} [{platform}]");
            assert_eq!(m["digest"], json!(child_digest.to_string()), "{at}: digest");
            assert_eq!(&platform_string(&m["platform"]), platform, "{at}: platform");
            assert_eq!(m["media_type"], json!(child.media_type), "{at}: media_type");
            assert_eq!(m["size"], json!(child.size), "{at}: size");
            check_image(m, child, &at);
        }
    } else {
        assert!(
            report.get("manifests").is_none(),
            "{at}: an image has no manifests"
        );
        assert_eq!(
            Some(platform_string(&report["platform"])),
            truth.platform,
            "{at}: platform"
        );
        check_image(report, truth, at);
    }
}

#[test]
fn inspect_json_of_every_tag_matches_the_ground_truth() {
    let s = shared();
    let sandbox = Sandbox::new();
    let addr = s.registry.addr();
    let tags = every_tag(&s.fixture);
    let reports = parallel_map(&tags, |(name, tag)| {
        let run = sandbox.run(&["inspect", &format!("{addr}/{name}:{tag}"), "--json"]);
        run.ok();
        run.json()
    });
    let mut kinds = std::collections::BTreeSet::new();
    for ((name, tag), report) in tags.iter().zip(&reports) {
        let at = format!("{name}:{tag}");
        let truth = s.fixture.tagged(name, tag);
        assert_eq!(report["reference"], json!(format!("{addr}/{at}")), "{at}");
        check_report(report, &s.fixture, name, truth, &at);
        kinds.insert(truth.media_type.as_str());
    }
    // All four kinds went through the binary.
    assert_eq!(kinds.into_iter().collect::<Vec<_>>(), {
        let mut all = vec![
            OCI_MANIFEST,
            OCI_INDEX,
            DOCKER_MANIFEST,
            DOCKER_MANIFEST_LIST,
        ];
        all.sort();
        all
    });
}

#[test]
fn inspect_json_by_digest_reaches_every_manifest_including_children_and_untagged() {
    let s = shared();
    let sandbox = Sandbox::new();
    let addr = s.registry.addr();
    let mut refs = Vec::new();
    for name in RICH {
        for digest in s.fixture.repo(name).manifests.keys() {
            refs.push((name.to_string(), digest.clone()));
        }
    }
    for i in [0, 1] {
        let name = standard::bulk_repo(i);
        for digest in s.fixture.repo(&name).manifests.keys() {
            refs.push((name.clone(), digest.clone()));
        }
    }
    // 19 in the rich repositories (see registry_client.rs), one in each bulk one.
    assert_eq!(refs.len(), 21);
    let reports = parallel_map(&refs, |(name, digest)| {
        let run = sandbox.run(&["inspect", &format!("{addr}/{name}@{digest}"), "--json"]);
        run.ok();
        run.json()
    });
    for ((name, digest), report) in refs.iter().zip(&reports) {
        let at = format!("{name}@{digest}");
        assert_eq!(report["reference"], json!(format!("{addr}/{at}")), "{at}");
        check_report(
            report,
            &s.fixture,
            name,
            s.fixture.manifest(name, digest),
            &at,
        );
    }
    let untagged = s.fixture.untagged(DOCKER_REPO);
    assert_eq!(untagged.len(), 1);
    assert!(refs.contains(&(DOCKER_REPO.to_string(), untagged[0].digest.clone())));
}

#[test]
fn inspect_without_a_tag_means_latest() {
    let s = shared();
    let run = Sandbox::new().run(&[
        "inspect",
        &format!("{}/{OCI_REPO}", s.registry.addr()),
        "--json",
    ]);
    run.ok();
    let report = run.json();
    assert_eq!(
        report["reference"],
        json!(format!("{}/{OCI_REPO}:latest", s.registry.addr()))
    );
    check_report(
        &report,
        &s.fixture,
        OCI_REPO,
        s.fixture.tagged(OCI_REPO, "latest"),
        "team/worker",
    );
}

/// The lines of `inspect` text output must show the reference, digest, media type and size;
/// for an index each platform with its digest, for an image each layer and the config.
fn check_text(text: &str, fixture: &Fixture, repo: &str, truth: &ManifestTruth, reference: &str) {
    let lines: Vec<&str> = text.lines().collect();
    let has = |needle: &str| {
        assert!(
            lines.iter().any(|l| l.contains(needle)),
            "{reference}: no line with {needle:?} in:\n{text}"
        )
    };
    let line = |prefix: &str, value: &str| {
        let want = format!("{prefix:<12}{value}");
        assert!(
            lines.contains(&want.as_str()),
            "{reference}: no line {want:?} in:\n{text}"
        );
    };
    line("Reference:", reference);
    line("Digest:", truth.digest.as_str());
    line("Media type:", &truth.media_type);
    has(&format!("({} bytes)", truth.size));
    if truth.is_index {
        for (child, platform) in &truth.children {
            let row = lines
                .iter()
                .find(|l| l.contains(child.as_str()))
                .unwrap_or_else(|| panic!("{reference}: no row for {child} in:\n{text}"));
            assert!(
                row.starts_with(&format!("{platform} ")),
                "{reference}: {row:?} is not {platform}"
            );
            // The TUI's manifest list: PLATFORM DIGEST SIZE LAYERS MEDIA TYPE, cells apart
            // by two blanks at least.
            let cells: Vec<&str> = row
                .split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect();
            let layers = fixture.manifest(repo, child).layers.len();
            assert_eq!(cells[3], layers.to_string(), "{reference}: {row:?}");
        }
        return;
    }
    line("Platform:", truth.platform.as_deref().expect("platform"));
    for layer in &truth.layers {
        has(layer.as_str());
    }
    line("Created:", truth.created.as_deref().expect("created"));
    let config = parse(truth.config_document.as_deref().expect("config"));
    let run = &config["config"];
    let words = |v: &Value| {
        v.as_array()
            .expect("an array")
            .iter()
            .map(|a| a.as_str().expect("a string"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    if let Some(e) = run.get("Entrypoint") {
        line("Entrypoint:", &words(e));
    }
    if let Some(c) = run.get("Cmd") {
        line("Cmd:", &words(c));
    }
    if let Some(w) = run["WorkingDir"].as_str() {
        line("WorkingDir:", w);
    }
    for env in run["Env"].as_array().expect("env") {
        line("Env:", env.as_str().expect("a string"));
    }
    if let Some(labels) = run.get("Labels").and_then(Value::as_object) {
        for (k, v) in labels {
            line("Label:", &format!("{k}={}", v.as_str().expect("a string")));
        }
    }
}

#[test]
fn inspect_text_shows_digests_platforms_layers_and_config() {
    let s = shared();
    let sandbox = Sandbox::new();
    let addr = s.registry.addr();
    let mut refs: Vec<(String, String)> = Vec::new();
    for name in RICH {
        for tag in s.fixture.tags(name) {
            refs.push((name.to_string(), tag));
        }
    }
    refs.push((standard::bulk_repo(0), "latest".into()));
    refs.push((standard::bulk_repo(1), "v1".into()));
    let texts = parallel_map(&refs, |(name, tag)| {
        let run = sandbox.run(&["inspect", &format!("{addr}/{name}:{tag}")]);
        run.ok();
        run.stdout.clone()
    });
    for ((name, tag), text) in refs.iter().zip(&texts) {
        let reference = format!("{addr}/{name}:{tag}");
        check_text(
            text,
            &s.fixture,
            name,
            s.fixture.tagged(name, tag),
            &reference,
        );
    }
    // And by digest: an index child, shown as the image it is.
    let child = &s.fixture.tagged(DOCKER_LIST, "latest").children[1].0;
    let reference = format!("{addr}/{DOCKER_LIST}@{child}");
    let run = sandbox.run(&["inspect", &reference]);
    run.ok();
    check_text(
        &run.stdout,
        &s.fixture,
        DOCKER_LIST,
        s.fixture.manifest(DOCKER_LIST, child),
        &reference,
    );
}

#[test]
fn a_config_name_is_a_target_for_ls_tags_and_inspect() {
    let s = shared();
    let sandbox = Sandbox::new();
    let addr = s.registry.addr();
    // The default config path, no --config.
    sandbox.write_default_config(&format!("[registries.local]\nurl = \"{addr}\"\n"));

    let run = sandbox.run(&["ls", "local", "--json"]);
    run.ok();
    assert_eq!(run.json_strings(), s.fixture.repo_names());
    let run = sandbox.run(&["ls", "local"]);
    run.ok();
    assert_eq!(run.stdout_lines(), s.fixture.repo_names());

    for name in [DOCKER_REPO, MULTI_ARCH, NESTED_REPO, BIG_REPO] {
        let run = sandbox.run(&["tags", &format!("local/{name}"), "--json"]);
        run.ok();
        assert_eq!(run.json_strings(), s.fixture.tags(name), "{name}");
        let run = sandbox.run(&["tags", &format!("local/{name}")]);
        run.ok();
        assert_eq!(run.stdout_lines(), s.fixture.tags(name), "{name}");
    }

    for (name, tag) in [
        (DOCKER_REPO, "v1.2.0"),
        (MULTI_ARCH, "3.19"),
        (DOCKER_LIST, "2024.06"),
        (OCI_REPO, "1.0"),
        (NESTED_REPO, "edge"),
    ] {
        let truth = s.fixture.tagged(name, tag);
        let at = format!("local/{name}:{tag}");
        let run = sandbox.run(&["inspect", &at, "--json"]);
        run.ok();
        let report = run.json();
        // The reference names where it really is.
        assert_eq!(
            report["reference"],
            json!(format!("{addr}/{name}:{tag}")),
            "{at}"
        );
        check_report(&report, &s.fixture, name, truth, &at);
        let run = sandbox.run(&["inspect", &at]);
        run.ok();
        check_text(
            &run.stdout,
            &s.fixture,
            name,
            truth,
            &format!("{addr}/{name}:{tag}"),
        );
    }

    let index = s.fixture.tagged(MULTI_ARCH, "3.18");
    let at = format!("local/{MULTI_ARCH}@{}", index.digest);
    let run = sandbox.run(&["inspect", &at, "--json"]);
    run.ok();
    check_report(&run.json(), &s.fixture, MULTI_ARCH, index, &at);
}
