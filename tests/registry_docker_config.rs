//! Credentials from Docker's `config.json` against real registries.
//!
//! `DOCKER_CONFIG`, `HOME` and `PATH` are process-wide, and changing them in a running test
//! process would race with every other test (and needs `unsafe` in edition 2024). So each case
//! runs this same test binary again as a child process, with its own environment, limited to
//! the one test [`docker_config_child`]; the child prints the outcome and the parent asserts.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use base64::Engine as _;
use regatta::registry::{Client, ClientOptions, CredentialSource, RegistryAddr};
use support::fixtures::FixtureBuilder;
use support::image::{Format, ImageSpec, Layer};
use support::registry::TestRegistry;

const USER: &str = "bob";
const PASSWORD: &str = "hunter2-but-longer";
const URL_VAR: &str = "REGATTA_TEST_CHILD_REGISTRY_URL";
const CA_VAR: &str = "REGATTA_TEST_CHILD_CA_FILE";

/// Runs only as the child of the tests below (it does nothing without their variables): builds
/// a client that takes its credentials from the Docker config, lists the catalog, and prints
/// `OUTCOME ok <repos>` or `OUTCOME err <error>`.
#[tokio::test]
async fn docker_config_child() {
    let Ok(url) = std::env::var(URL_VAR) else {
        return;
    };
    let options = ClientOptions {
        credentials: CredentialSource::DockerConfig,
        ca_file: std::env::var_os(CA_VAR).map(Into::into),
        retry_base: Duration::from_millis(10),
        ..ClientOptions::default()
    };
    let addr = RegistryAddr::parse(&url).expect("registry address");
    let outcome = match Client::new(addr, options) {
        Err(e) => format!("err {e:?} / {e}"),
        Ok(client) => match client.catalog(&|_| {}).await {
            Ok(names) => {
                let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
                format!("ok {}", names.join(","))
            }
            Err(e) => format!("err {e:?} / {e}"),
        },
    };
    println!("OUTCOME {outcome}");
}

/// A home, a Docker config dir and a bin dir, all empty, so nothing of the machine's own
/// configuration leaks into a case.
struct ChildEnv {
    dir: tempfile::TempDir,
}

impl ChildEnv {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        for sub in ["home", "docker", "bin", "xdg"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("mkdir");
        }
        Self { dir }
    }

    fn docker_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("docker")
    }

    fn write_config(&self, json: &serde_json::Value) {
        std::fs::write(
            self.docker_dir().join("config.json"),
            serde_json::to_vec_pretty(json).expect("json"),
        )
        .expect("write config.json");
    }

    /// An executable `docker-credential-NAME` in the child's PATH.
    fn helper(&self, name: &str, script: &str) {
        use std::os::unix::fs::PermissionsExt;
        let path = self
            .dir
            .path()
            .join("bin")
            .join(format!("docker-credential-{name}"));
        std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).expect("write helper");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }

    /// Runs the child against `registry` and returns what it printed after `OUTCOME `.
    fn run(&self, registry: &TestRegistry, docker_config: Option<&Path>) -> String {
        self.run_with(registry, docker_config, &[])
    }

    /// [`run`](Self::run) with more variables for the child (`REGISTRY_AUTH_FILE`, ...).
    fn run_with(
        &self,
        registry: &TestRegistry,
        docker_config: Option<&Path>,
        vars: &[(&str, &Path)],
    ) -> String {
        let path = format!("{}:/usr/bin:/bin", self.dir.path().join("bin").display());
        let mut command = Command::new(std::env::current_exe().expect("the test binary"));
        command
            .args([
                "--exact",
                "docker_config_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env_clear()
            .env("PATH", path)
            .env("HOME", self.dir.path().join("home"))
            .env("XDG_RUNTIME_DIR", self.dir.path().join("xdg"))
            .env(URL_VAR, registry.url());
        if let Some(dir) = docker_config {
            command.env("DOCKER_CONFIG", dir);
        }
        if registry.user().is_some() {
            command.env(CA_VAR, registry.ca_pem_path());
        }
        for (name, value) in vars {
            command.env(name, value);
        }
        let output = command.output().expect("run the child test");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "child failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
            .lines()
            .find_map(|l| l.split_once("OUTCOME ").map(|(_, outcome)| outcome))
            .unwrap_or_else(|| panic!("the child printed no outcome:\n{stdout}"))
            .to_string()
    }
}

fn auth(user: &str, password: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}

fn secured_with_one_repo() -> TestRegistry {
    let registry = TestRegistry::start_tls_basic_auth(USER, PASSWORD);
    let mut b = FixtureBuilder::new();
    b.image(
        "team/secret",
        &["1"],
        ImageSpec::new(Format::Oci, vec![Layer::text("secret")]),
    );
    b.push_blocking(&registry.client());
    registry
}

#[test]
fn an_auth_entry_for_the_host_is_used() {
    let registry = secured_with_one_repo();
    let env = ChildEnv::new();
    env.write_config(&serde_json::json!({
        "auths": {
            "example.com": { "auth": auth("someone", "else") },
            registry.addr(): { "auth": auth(USER, PASSWORD) },
        }
    }));
    assert_eq!(
        env.run(&registry, Some(&env.docker_dir())),
        "ok team/secret"
    );
}

#[test]
fn docker_config_under_home_is_found_without_docker_config_set() {
    let registry = secured_with_one_repo();
    let env = ChildEnv::new();
    let home_docker = env.dir.path().join("home/.docker");
    std::fs::create_dir_all(&home_docker).expect("mkdir");
    std::fs::write(
        home_docker.join("config.json"),
        serde_json::json!({ "auths": { registry.addr(): { "auth": auth(USER, PASSWORD) } } })
            .to_string(),
    )
    .expect("write");
    assert_eq!(env.run(&registry, None), "ok team/secret");
}

#[test]
fn a_wrong_password_in_config_json_is_unauthorized() {
    let registry = secured_with_one_repo();
    let env = ChildEnv::new();
    env.write_config(&serde_json::json!({
        "auths": { registry.addr(): { "auth": auth(USER, "nope") } }
    }));
    let outcome = env.run(&registry, Some(&env.docker_dir()));
    assert!(outcome.starts_with("err Unauthorized"), "{outcome}");
    assert!(outcome.contains(&format!("{USER:?}")), "{outcome}");
}

#[test]
fn without_any_config_file_the_client_is_anonymous() {
    let registry = TestRegistry::start();
    let mut b = FixtureBuilder::new();
    b.image(
        "open/app",
        &["1"],
        ImageSpec::new(Format::Docker, vec![Layer::text("open")]),
    );
    b.push_blocking(&registry.client());
    let env = ChildEnv::new();
    // DOCKER_CONFIG names an empty directory; HOME has no .docker; no Podman auth.json.
    assert_eq!(env.run(&registry, Some(&env.docker_dir())), "ok open/app");
    assert_eq!(env.run(&registry, None), "ok open/app");
}

#[test]
fn a_credential_helper_supplies_the_password() {
    let registry = secured_with_one_repo();
    let env = ChildEnv::new();
    env.helper(
        "regatta-test",
        &format!(
            r#"read server; printf '{{"ServerURL":"%s","Username":"{USER}","Secret":"{PASSWORD}"}}' "$server""#
        ),
    );
    env.write_config(&serde_json::json!({
        "credHelpers": { registry.addr(): "regatta-test" }
    }));
    assert_eq!(
        env.run(&registry, Some(&env.docker_dir())),
        "ok team/secret"
    );
}

#[test]
fn a_failing_credential_helper_is_named_and_its_output_never_shown() {
    let registry = secured_with_one_repo();
    let env = ChildEnv::new();
    env.helper(
        "regatta-broken",
        "read server; echo 'password=LEAKED-SECRET'; echo LEAKED-SECRET >&2; exit 1",
    );
    env.write_config(&serde_json::json!({
        "credHelpers": { registry.addr(): "regatta-broken" }
    }));
    let outcome = env.run(&registry, Some(&env.docker_dir()));
    assert!(outcome.starts_with("err Credentials"), "{outcome}");
    assert!(
        outcome.contains("the credential helper docker-credential-regatta-broken failed"),
        "{outcome}"
    );
    assert!(!outcome.contains("LEAKED-SECRET"), "{outcome}");
}

/// Writes an `auth.json` (Podman's format: Docker's `auths`) at `path`, making its directory.
fn write_auth_file(path: &Path, registry: &TestRegistry, password: &str) {
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
    std::fs::write(
        path,
        serde_json::json!({ "auths": { registry.addr(): { "auth": auth(USER, password) } } })
            .to_string(),
    )
    .expect("write auth.json");
}

/// Podman's three places, each alone, against a real TLS + htpasswd registry: the client
/// gets in with the password found there (and is refused without it, see
/// `a_wrong_password_in_config_json_is_unauthorized`).
#[test]
fn podman_auth_files_are_used_each_on_its_own() {
    let registry = secured_with_one_repo();

    let env = ChildEnv::new();
    let runtime = env.dir.path().join("xdg/containers/auth.json");
    write_auth_file(&runtime, &registry, PASSWORD);
    assert_eq!(
        env.run(&registry, None),
        "ok team/secret",
        "$XDG_RUNTIME_DIR"
    );

    let env = ChildEnv::new();
    let config = env.dir.path().join("home/.config/containers/auth.json");
    write_auth_file(&config, &registry, PASSWORD);
    assert_eq!(env.run(&registry, None), "ok team/secret", "~/.config");

    let env = ChildEnv::new();
    let named = env.dir.path().join("elsewhere/my-auth.json");
    write_auth_file(&named, &registry, PASSWORD);
    assert_eq!(
        env.run_with(&registry, None, &[("REGISTRY_AUTH_FILE", &named)]),
        "ok team/secret",
        "REGISTRY_AUTH_FILE"
    );
    // Without the variable, that file is not found: anonymous, which the registry refuses.
    let outcome = env.run(&registry, None);
    assert!(outcome.starts_with("err Unauthorized"), "{outcome}");
}

/// The order: `DOCKER_CONFIG`, then `REGISTRY_AUTH_FILE`, then `$XDG_RUNTIME_DIR`, then
/// `~/.config/containers`. The first file holding an entry for the host wins, so a wrong
/// password later in the order is never tried; files without an entry are passed over.
#[test]
fn the_first_file_with_an_entry_for_the_host_wins() {
    let registry = secured_with_one_repo();
    let env = ChildEnv::new();
    let named = env.dir.path().join("elsewhere/auth.json");
    write_auth_file(&named, &registry, PASSWORD);
    write_auth_file(
        &env.dir.path().join("xdg/containers/auth.json"),
        &registry,
        "wrong-runtime",
    );
    write_auth_file(
        &env.dir.path().join("home/.config/containers/auth.json"),
        &registry,
        "wrong-config",
    );
    // DOCKER_CONFIG holds a config.json with an entry for another host only.
    env.write_config(&serde_json::json!({
        "auths": { "example.com": { "auth": auth("someone", "else") } }
    }));
    assert_eq!(
        env.run_with(
            &registry,
            Some(&env.docker_dir()),
            &[("REGISTRY_AUTH_FILE", &named)]
        ),
        "ok team/secret"
    );
    // Without REGISTRY_AUTH_FILE the runtime file's wrong password is the one sent.
    let outcome = env.run(&registry, Some(&env.docker_dir()));
    assert!(outcome.starts_with("err Unauthorized"), "{outcome}");

    // DOCKER_CONFIG with an entry comes before all of Podman's files.
    env.write_config(&serde_json::json!({
        "auths": { registry.addr(): { "auth": auth(USER, PASSWORD) } }
    }));
    assert_eq!(
        env.run(&registry, Some(&env.docker_dir())),
        "ok team/secret"
    );
}

/// An `auth.json` that is not JSON: one sentence naming the file, no panic.
#[test]
fn an_unreadable_auth_file_is_named() {
    let registry = secured_with_one_repo();
    let env = ChildEnv::new();
    let runtime = env.dir.path().join("xdg/containers/auth.json");
    std::fs::create_dir_all(runtime.parent().unwrap()).expect("mkdir");
    std::fs::write(&runtime, "{ not json").expect("write");
    let outcome = env.run(&registry, None);
    assert!(outcome.starts_with("err Credentials"), "{outcome}");
    assert!(
        outcome.contains(&runtime.display().to_string()),
        "{outcome}"
    );
}

/// `credsStore` naming a helper that fails, as a broken keychain helper does: one sentence
/// naming the helper; neither its output nor its message is shown.
#[test]
fn a_failing_creds_store_is_named_and_its_output_never_shown() {
    let registry = secured_with_one_repo();
    let env = ChildEnv::new();
    env.helper(
        "broken",
        "read server; echo 'LEAKED-SECRET credentials not found in native keychain' >&2; echo LEAKED-SECRET; exit 1",
    );
    env.write_config(&serde_json::json!({ "credsStore": "broken" }));
    let outcome = env.run(&registry, Some(&env.docker_dir()));
    let config = env.docker_dir().join("config.json");
    assert!(
        outcome.contains(&format!("(named in {})", config.display())),
        "{outcome}"
    );
    assert!(outcome.starts_with("err Credentials"), "{outcome}");
    assert!(
        outcome.contains("the credential helper docker-credential-broken failed"),
        "{outcome}"
    );
    assert!(!outcome.contains("LEAKED-SECRET"), "{outcome}");
}

/// The built binary with a failing `credHelpers` entry and with a failing `credsStore`:
/// exit status 1 and one line naming the helper, no panic, no secret.
#[test]
fn the_cli_says_which_helper_failed_in_one_sentence() {
    use support::cli::Sandbox;
    let registry = secured_with_one_repo();
    for config in [
        serde_json::json!({ "credHelpers": { registry.addr(): "broken" } }),
        serde_json::json!({ "credsStore": "broken" }),
    ] {
        let sandbox = Sandbox::new();
        let bin = sandbox.root().join("bin");
        std::fs::create_dir_all(&bin).expect("mkdir");
        let helper = bin.join("docker-credential-broken");
        std::fs::write(
            &helper,
            "#!/bin/sh\nread server\necho 'LEAKED-SECRET: keychain locked' >&2\necho LEAKED-SECRET\nexit 1\n",
        )
        .expect("write helper");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        sandbox.write_docker_config(&config);
        sandbox.write_default_config(&format!(
            "[registries.secure]\nurl = \"{}\"\nca_file = \"{}\"\n",
            registry.url(),
            registry.ca_pem_path().display()
        ));
        let path = format!("{}:/usr/bin:/bin", bin.display());
        for args in [&["ls", "secure"][..], &["info", "secure"][..]] {
            let run = sandbox.run_env(args, &[("PATH", &path)]);
            run.no_panic().never_shows("LEAKED-SECRET");
            run.fails_with_one_line(&["docker-credential-broken failed"]);
        }
    }
}
