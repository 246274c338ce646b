//! Text from a registry cannot drive the terminal of whoever reads regatta's output.
//!
//! Against a real registry, an image whose labels, env values and history carry ESC
//! sequences, OSC 52 (set the clipboard), BEL, a C1 CSI (U+009B), a bidi override (U+202E)
//! and a 10,000-character line: `inspect` prints none of those characters (checked on the
//! raw bytes of stdout), and `inspect --json` escapes every one of them while the strings
//! read back unchanged. Against a fake registry, a catalog, a tag list and an error message
//! holding such names: `ls` and `tags` print only the valid names, the invalid ones are
//! skipped with a log warning, and the error line is clean.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use regatta::sanitize::{PLACEHOLDER, is_unsafe};
use serde_json::{Value, json};
use support::cli::{Run, Sandbox};
use support::fixtures::FixtureBuilder;
use support::image::{Format, ImageSpec, Layer};
use support::registry::TestRegistry;
use support::within;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CLEAR_SCREEN: &str = "\u{1b}[2J\u{1b}[Hcleared";
const OSC52: &str = "\u{1b}]52;c;cm0gLXJmIH4K\u{7}copied";
const BELL: &str = "ring\u{7}ring";
const C1_CSI: &str = "csi\u{9b}31mred";
const BIDI: &str = "invoice\u{202e}fdp.exe";
const TITLE_AND_ALL: &str = "\u{1b}]0;owned\u{7}\u{9b}2J\u{202e}\u{7f}\u{85}end";

fn long_line() -> String {
    "x".repeat(10_000)
}

/// Labels, one with an escape in its key too.
fn hostile_labels() -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    labels.insert("evil.clear".to_string(), CLEAR_SCREEN.to_string());
    labels.insert("evil.osc52".to_string(), OSC52.to_string());
    labels.insert("evil.bell".to_string(), BELL.to_string());
    labels.insert("evil.c1".to_string(), C1_CSI.to_string());
    labels.insert("evil.bidi".to_string(), BIDI.to_string());
    labels.insert("evil\u{1b}[31m.key".to_string(), "red key".to_string());
    labels.insert("long".to_string(), long_line());
    labels
}

fn hostile_env() -> Vec<String> {
    vec![
        format!("TITLE={TITLE_AND_ALL}"),
        format!("CLIP={OSC52}"),
        format!("LONG={}", long_line()),
    ]
}

/// `hostile:v1`; its history steps (`LABEL k=v`, `ENV ...`) carry the same text.
fn fixture() -> FixtureBuilder {
    let mut spec = ImageSpec::new(Format::Oci, vec![Layer::text("hostile")])
        .entrypoint(&["/bin/sh", "-c", CLEAR_SCREEN])
        .working_dir(&format!("/srv/{BIDI}"));
    for (k, v) in hostile_labels() {
        spec = spec.label(&k, &v);
    }
    for e in hostile_env() {
        spec = spec.env(&e);
    }
    let mut b = FixtureBuilder::new();
    b.image("hostile", &["v1"], spec);
    b
}

/// Every character of `bytes` a terminal would act on (newlines aside), with its offset.
/// Fails unless `bytes` is UTF-8: a lone 0x9B byte is a C1 CSI to some terminals.
fn unsafe_chars(bytes: &[u8]) -> Vec<(usize, char)> {
    let text = std::str::from_utf8(bytes).expect("the output is UTF-8");
    text.char_indices()
        .filter(|(_, c)| *c != '\n' && is_unsafe(*c))
        .collect()
}

/// Runs the binary and keeps stdout as raw bytes.
fn run_raw(sandbox: &Sandbox, args: &[&str]) -> (Run, Vec<u8>) {
    let output = sandbox
        .command()
        .args(args)
        .timeout(Duration::from_secs(30))
        .output()
        .expect("run regatta");
    let run = Run {
        args: args.join(" "),
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    (run, output.stdout)
}

#[test]
fn inspect_prints_no_control_character_of_a_hostile_image() {
    within(Duration::from_secs(40), || {
        let registry = TestRegistry::start();
        registry.push(&fixture());
        let sandbox = Sandbox::new();
        let reference = format!("{}/hostile:v1", registry.addr());
        let (run, stdout) = run_raw(&sandbox, &["inspect", &reference]);
        run.ok();
        let found = unsafe_chars(&stdout);
        assert!(
            found.is_empty(),
            "{found:?} reached stdout:\n{}",
            run.stdout
        );
        let text = &run.stdout;
        // The text is all there, each sequence shown as one placeholder.
        let p = PLACEHOLDER;
        for line in [
            format!("Label:      evil.clear={p}{p}cleared"),
            format!("Label:      evil.osc52={p}copied"),
            format!("Label:      evil.bell=ring{p}ring"),
            format!("Label:      evil.c1=csi{p}31mred"),
            format!("Label:      evil.bidi=invoice{p}fdp.exe"),
            format!("Label:      evil{p}.key=red key"),
            format!("Label:      long={}", long_line()),
            format!("Env:        TITLE={p}{p}2J{p}{p}{p}end"),
            format!("Env:        LONG={}", long_line()),
            format!("Entrypoint: /bin/sh -c {p}{p}cleared"),
            format!("WorkingDir: /srv/invoice{p}fdp.exe"),
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "no line {:?}:\n{text}",
                line.chars().take(80).collect::<String>()
            );
        }
    });
}

#[test]
fn inspect_json_escapes_every_control_character_and_reads_back_the_same() {
    within(Duration::from_secs(40), || {
        let registry = TestRegistry::start();
        let truth = registry.push(&fixture());
        let sandbox = Sandbox::new();
        let reference = format!("{}/hostile:v1", registry.addr());
        let (run, stdout) = run_raw(&sandbox, &["inspect", &reference, "--json"]);
        run.ok();
        let found = unsafe_chars(&stdout);
        assert!(
            found.is_empty(),
            "{found:?} are not escaped:\n{}",
            run.stdout
        );
        for escaped in [
            r"\u001b]52;c;",
            r"\u0007",
            r"\u009b",
            r"\u202e",
            r"\u007f",
            r"\u0085",
        ] {
            assert!(
                run.stdout.contains(escaped),
                "no {escaped} in:\n{}",
                run.stdout
            );
        }
        // Valid JSON, and the strings are exactly the image's.
        let report: Value = serde_json::from_slice(&stdout).expect("valid JSON");
        let config = &report["config"];
        assert_eq!(config["labels"], json!(hostile_labels()));
        let env: Vec<String> = serde_json::from_value(config["env"].clone()).expect("env[]");
        assert!(env.ends_with(&hostile_env()), "{env:?}");
        assert_eq!(config["entrypoint"], json!(["/bin/sh", "-c", CLEAR_SCREEN]));
        let document: Value = serde_json::from_slice(
            truth
                .tagged("hostile", "v1")
                .config_document
                .as_ref()
                .expect("a config"),
        )
        .expect("config JSON");
        assert_eq!(config["history"], document["history"]);
    });
}

/// A fake registry whose catalog and tag list mix valid names with hostile ones, and whose
/// 404 carries a hostile message.
async fn hostile_fake() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/_catalog"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "repositories": [
                "ok/app",
                format!("bad{CLEAR_SCREEN}"),
                format!("clip{OSC52}"),
                format!("c1{C1_CSI}"),
                format!("bidi/{BIDI}"),
                "zzz/last",
            ]
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/ok/app/tags/list"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "name": "ok/app",
            "tags": ["v1", format!("v2{BELL}"), OSC52, format!("x{BIDI}"), "latest"],
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/gone/tags/list"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "errors": [{"code": "NAME_UNKNOWN", "message": format!("no such {CLEAR_SCREEN}{OSC52}{C1_CSI}{BIDI}")}]
        })))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn ls_and_tags_print_only_valid_names_and_log_the_others() {
    let server = hostile_fake().await;
    let addr = server.address().to_string();
    let sandbox = Sandbox::new();

    // Skipped, and counted on stderr: never silently.
    let skipped_repos = "regatta: warning: 4 repositories with invalid names skipped\n";
    let skipped_tags = "regatta: warning: 3 tags with invalid names skipped\n";
    let (run, stdout) = run_raw(&sandbox, &["ls", &addr]);
    run.ok_with_stderr();
    assert_eq!(run.stderr, skipped_repos);
    assert_eq!(unsafe_chars(&stdout), []);
    assert_eq!(run.stdout_lines(), ["ok/app", "zzz/last"]);
    let (run, stdout) = run_raw(&sandbox, &["ls", &addr, "--json"]);
    run.ok_with_stderr();
    assert_eq!(run.stderr, skipped_repos);
    assert_eq!(unsafe_chars(&stdout), []);
    assert_eq!(run.json_strings(), ["ok/app", "zzz/last"]);

    let (run, stdout) = run_raw(&sandbox, &["tags", &format!("{addr}/ok/app")]);
    run.ok_with_stderr();
    assert_eq!(run.stderr, skipped_tags);
    assert_eq!(unsafe_chars(&stdout), []);
    assert_eq!(run.stdout_lines(), ["latest", "v1"]);
    let (run, stdout) = run_raw(&sandbox, &["tags", &format!("{addr}/ok/app"), "--json"]);
    run.ok_with_stderr();
    assert_eq!(run.stderr, skipped_tags);
    assert_eq!(unsafe_chars(&stdout), []);
    assert_eq!(run.json_strings(), ["latest", "v1"]);

    // The skipped names are in the log, drawn inert there too.
    let log = sandbox.log();
    let skipped = log
        .lines()
        .filter(|l| l.contains("skipping an invalid name from the registry"))
        .count();
    // Four repositories, twice (ls and ls --json); three tags, twice.
    assert_eq!(skipped, 4 * 2 + 3 * 2, "{log}");
    assert_eq!(unsafe_chars(log.as_bytes()), [], "{log}");
    assert!(
        log.contains(&format!("bad{PLACEHOLDER}{PLACEHOLDER}cleared")),
        "{log}"
    );

    // An error sentence quoting the registry's hostile message is one clean line.
    let (run, _) = run_raw(&sandbox, &["tags", &format!("{addr}/gone")]);
    let line = run.fails_with_one_line(&["404 Not Found", "NAME_UNKNOWN: no such "]);
    assert_eq!(unsafe_chars(line.as_bytes()), [], "{line:?}");
    assert_eq!(unsafe_chars(run.stderr.as_bytes()), []);
}
