//! The `regatta` binary against a real registry behind TLS (self-signed certificate) and
//! htpasswd basic auth: every way of giving it the CA and the credentials, the one line each
//! missing or wrong piece ends with, and the password never printed or logged. Every run logs
//! at `trace` into its sandbox, and every run's output and log are searched for the password.

mod support;

use std::sync::OnceLock;

use base64::Engine as _;
use serde_json::json;
use support::cli::{Run, Sandbox};
use support::fixtures::FixtureBuilder;
use support::image::{Format, ImageSpec, Layer};
use support::registry::TestRegistry;
use support::truth::Fixture;

const USER: &str = "carol";
/// Distinctive, so a search for it cannot match anything else; a space and a colon to test
/// quoting and the `user:password` split.
const PASSWORD: &str = "Tr0ub4dor &3:horse-staple";
const APP: &str = "private/app";
const MULTI: &str = "private/multi";

/// One TLS registry for the binary, with two repositories. Tests here only read.
fn secured() -> &'static (TestRegistry, Fixture) {
    static REGISTRY: OnceLock<(TestRegistry, Fixture)> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let registry = TestRegistry::start_tls_basic_auth(USER, PASSWORD);
        let mut b = FixtureBuilder::new();
        b.image(
            APP,
            &["1.0", "latest"],
            ImageSpec::new(Format::Oci, vec![Layer::random("private-app", 4096)])
                .env("SECRET_FREE=yes"),
        );
        b.index(
            MULTI,
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

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// Forms the password could leak in: itself, the `Authorization: Basic` value, the value
/// Docker's config.json holds (the same), and the part of the password after the space.
fn secret_forms() -> Vec<String> {
    vec![
        PASSWORD.to_string(),
        b64(&format!("{USER}:{PASSWORD}")),
        "horse-staple".to_string(),
    ]
}

/// Runs with `REGATTA_LOG=trace` and asserts that no form of the password is in stdout,
/// stderr or the log file (which must exist and hold something, or the check is empty).
fn traced(sandbox: &Sandbox, args: &[&str]) -> Run {
    let run = sandbox.run_env(args, &[("REGATTA_LOG", "trace")]);
    let log = sandbox.log();
    assert!(
        !log.is_empty(),
        "no log at {}",
        sandbox.log_path().display()
    );
    for secret in secret_forms() {
        run.never_shows(&secret);
        assert!(
            !log.contains(&secret),
            "{secret:?} is in the log {}",
            sandbox.log_path().display()
        );
    }
    run
}

fn ca() -> String {
    secured().0.ca_pem_path().display().to_string()
}

fn https() -> String {
    secured().0.url()
}

/// The checks every working set-up must pass, with `target` naming the registry (a config
/// name or an address) and `extra` flags before the command.
fn reads_everything(sandbox: &Sandbox, target: &str, extra: &[&str], warnings: usize) {
    let (_, fixture) = secured();
    let args = |rest: &[&str]| -> Vec<String> {
        extra
            .iter()
            .chain(rest)
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
    };
    let check = |run: &Run| {
        assert_eq!(run.code, Some(0), "{}", run.describe());
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(lines.len(), warnings, "{}", run.describe());
        assert!(
            lines.iter().all(|l| l.starts_with("regatta: warning: ")),
            "{}",
            run.describe()
        );
    };
    let go = |rest: &[&str]| {
        let args = args(rest);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = traced(sandbox, &args);
        check(&run);
        run
    };

    let run = go(&["ls", target, "--json"]);
    assert_eq!(run.json_strings(), fixture.repo_names());

    let run = go(&["tags", &format!("{target}/{APP}"), "--json"]);
    assert_eq!(run.json_strings(), fixture.tags(APP));
    let run = go(&["tags", &format!("{target}/{APP}")]);
    assert_eq!(run.stdout_lines(), fixture.tags(APP));

    let index = fixture.tagged(MULTI, "2");
    let run = go(&["inspect", &format!("{target}/{MULTI}:2"), "--json"]);
    let report = run.json();
    assert_eq!(report["digest"], json!(index.digest.to_string()));
    assert_eq!(report["media_type"], json!(index.media_type));
    assert_eq!(report["size"], json!(index.size));
    let children: Vec<&str> = report["manifests"]
        .as_array()
        .expect("manifests")
        .iter()
        .map(|m| m["digest"].as_str().expect("digest"))
        .collect();
    let truth: Vec<&str> = index.children.iter().map(|(d, _)| d.as_str()).collect();
    assert_eq!(children, truth);

    let image = fixture.tagged(APP, "1.0");
    let run = go(&["inspect", &format!("{target}/{APP}@{}", image.digest)]);
    assert!(
        run.stdout
            .contains(&format!("Digest:     {}", image.digest)),
        "{}",
        run.describe()
    );
    assert!(
        run.stdout.contains("Env:        SECRET_FREE=yes"),
        "{}",
        run.describe()
    );

    let run = go(&["du", target, "--json"]);
    assert!(run.json().is_object(), "{}", run.describe());
}

#[test]
fn ca_file_username_and_password_in_config_toml() {
    let (registry, _) = secured();
    let sandbox = Sandbox::new();
    sandbox.write_default_config(&format!(
        "[registries.secure]\nurl = \"{}\"\nca_file = \"{}\"\nusername = \"{USER}\"\npassword = \"{PASSWORD}\"\n",
        https(),
        ca()
    ));
    reads_everything(&sandbox, "secure", &[], 0);
    // The address of a configured registry finds its settings.
    reads_everything(&sandbox, &https(), &[], 0);
    assert!(registry.url().starts_with("https://"));
}

#[test]
fn config_readable_by_others_is_warned_once() {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = Sandbox::new();
    let path = sandbox.write_default_config(&format!(
        "[registries.secure]\nurl = \"{}\"\nca_file = \"{}\"\nusername = \"{USER}\"\npassword = \"{PASSWORD}\"\n",
        https(),
        ca()
    ));
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let run = traced(&sandbox, &["ls", "secure", "--json"]);
    let warnings: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(warnings.len(), 1, "{}", run.describe());
    assert!(
        warnings[0].contains("readable by other users"),
        "{}",
        run.describe()
    );
    assert!(warnings[0].contains("chmod 600"), "{}", run.describe());
    run.ok_with_stderr().never_shows(PASSWORD);
}

#[test]
fn password_command_supplies_the_password() {
    let sandbox = Sandbox::new();
    let file = sandbox.write_file("secrets/registry-password", &format!("{PASSWORD}\n"));
    sandbox.write_default_config(&format!(
        "[registries.secure]\nurl = \"{}\"\nca_file = \"{}\"\nusername = \"{USER}\"\npassword_command = \"cat '{}'\"\n",
        https(),
        ca(),
        file.display()
    ));
    reads_everything(&sandbox, "secure", &[], 0);
}

#[test]
fn credentials_from_docker_config_json() {
    let sandbox = Sandbox::new();
    let (registry, _) = secured();
    sandbox.write_docker_config(&json!({
        "auths": {
            "example.com": { "auth": b64("someone:else") },
            registry.addr(): { "auth": b64(&format!("{USER}:{PASSWORD}")) },
        }
    }));
    // No config.toml at all: the CA from the flag, the credentials from DOCKER_CONFIG.
    let ca = ca();
    reads_everything(&sandbox, &https(), &["--ca-file", &ca], 0);
    // A configured registry without a username looks there too.
    sandbox.write_default_config(&format!(
        "[registries.secure]\nurl = \"{}\"\nca_file = \"{ca}\"\n",
        https()
    ));
    reads_everything(&sandbox, "secure", &[], 0);
}

#[test]
fn ca_file_flag_completes_a_config_without_one() {
    let sandbox = Sandbox::new();
    sandbox.write_default_config(&format!(
        "[registries.secure]\nurl = \"{}\"\nusername = \"{USER}\"\npassword = \"{PASSWORD}\"\n",
        https()
    ));
    let ca = ca();
    reads_everything(&sandbox, "secure", &["--ca-file", &ca], 0);
    // The flag also goes after the command (it is global).
    let run = traced(&sandbox, &["ls", "secure", "--ca-file", &ca]);
    run.ok();
    assert_eq!(run.stdout_lines(), secured().1.repo_names());
}

#[test]
fn insecure_works_and_warns_on_stderr() {
    let (registry, _) = secured();
    let sandbox = Sandbox::new();
    sandbox.write_default_config(&format!(
        "[registries.secure]\nurl = \"{}\"\nusername = \"{USER}\"\npassword = \"{PASSWORD}\"\n",
        https()
    ));
    reads_everything(&sandbox, "secure", &["--insecure"], 1);
    let run = traced(&sandbox, &["--insecure", "ls", "secure"]);
    let warning = run.stderr.trim_end();
    assert!(
        warning.starts_with("regatta: warning: TLS verification is off for ")
            && warning.contains(&registry.addr()),
        "{}",
        run.describe()
    );
    // `insecure = true` in the config warns the same way.
    sandbox.write_default_config(&format!(
        "[registries.secure]\nurl = \"{}\"\nusername = \"{USER}\"\npassword = \"{PASSWORD}\"\ninsecure = true\n",
        https()
    ));
    reads_everything(&sandbox, "secure", &[], 1);
}

#[test]
fn a_wrong_password_is_one_line_naming_the_401() {
    let sandbox = Sandbox::new();
    sandbox.write_default_config(&format!(
        "[registries.secure]\nurl = \"{}\"\nca_file = \"{}\"\nusername = \"{USER}\"\npassword = \"not-the-{PASSWORD}\"\n",
        https(),
        ca()
    ));
    for args in [
        vec!["ls".to_string(), "secure".into()],
        vec!["tags".to_string(), format!("secure/{APP}")],
        vec![
            "inspect".to_string(),
            format!("secure/{APP}:1.0"),
            "--json".into(),
        ],
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = traced(&sandbox, &args);
        let line = run.fails_with_one_line(&["401", USER]);
        assert!(!line.contains("not-the-"), "{line}");
    }
}

#[test]
fn a_wrong_password_in_docker_config_json_is_one_line_naming_the_401() {
    let (registry, _) = secured();
    let sandbox = Sandbox::new();
    sandbox.write_docker_config(&json!({
        "auths": { registry.addr(): { "auth": b64(&format!("{USER}:nope")) } }
    }));
    let ca = ca();
    let run = traced(&sandbox, &["--ca-file", &ca, "ls", &https()]);
    run.fails_with_one_line(&["401", &registry.addr()]);
}

#[test]
fn no_credentials_is_one_line_naming_the_401() {
    let (registry, _) = secured();
    let sandbox = Sandbox::new();
    let ca = ca();
    let run = traced(
        &sandbox,
        &["--ca-file", &ca, "tags", &format!("{}/{APP}", https())],
    );
    run.fails_with_one_line(&["401", &registry.addr()]);
}

#[test]
fn without_a_ca_it_is_one_line_about_ca_file() {
    let (registry, _) = secured();
    let sandbox = Sandbox::new();
    sandbox.write_default_config(&format!(
        "[registries.secure]\nurl = \"{}\"\nusername = \"{USER}\"\npassword = \"{PASSWORD}\"\n",
        https()
    ));
    for args in [
        vec!["ls".to_string(), "secure".into()],
        vec!["tags".to_string(), format!("secure/{APP}")],
        vec!["inspect".to_string(), format!("secure/{APP}:1.0")],
        vec!["ls".to_string(), https()],
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = traced(&sandbox, &args);
        run.fails_with_one_line(&["ca_file", &registry.addr()]);
    }
}

#[test]
fn a_ca_file_that_is_missing_or_not_pem_is_one_line_naming_it() {
    let sandbox = Sandbox::new();
    let bogus = sandbox.write_file("not-a-cert.pem", "not a certificate\n");
    let missing = sandbox.root().join("missing.pem");
    for ca in [&bogus, &missing] {
        let ca = ca.display().to_string();
        let run = sandbox.run(&["--ca-file", &ca, "ls", &https()]);
        run.fails_with_one_line(&[&ca]);
    }
}
