//! Credentials never leave the config: a whole TUI session against the TLS + basic-auth
//! registry with trace logging on (password in a 0600 config.toml), walked to an image's
//! config and quit, then every trace of it searched: the screens, the bytes written to the
//! terminal, and every file under the session's home, cache, data and state directories.
//! Neither the password, nor its base64 `user:password` form, nor any `Authorization` header
//! value may appear. A second session with a wrong password shows the refusal, and nothing
//! of that password either.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use support::fixtures::FixtureBuilder;
use support::image::{Format, ImageSpec, Layer};
use support::registry::TestRegistry;
use support::tmux::Pane;
use support::within;

const USER: &str = "regatta-secrets";
const PASSWORD: &str = "Pw-7Qx!secret-k9Zr";
const WRONG_PASSWORD: &str = "Wrong-3Lm-pw-Tt8v";

/// `team/api:v1`, a small image with a config to walk to.
fn fixture() -> FixtureBuilder {
    let mut b = FixtureBuilder::new();
    b.image(
        "team/api",
        &["v1"],
        ImageSpec::new(Format::Oci, vec![Layer::random("secrets-api", 4_000)])
            .env("APP_ENV=production")
            .label("org.opencontainers.image.title", "api"),
    );
    b
}

/// Writes `config.toml` (0600) naming the registry twice: `secure` with the right password,
/// `wrong` with another one.
fn write_config(root: &Path, registry: &TestRegistry) {
    use std::os::unix::fs::PermissionsExt;
    let dir = root.join("config/regatta");
    std::fs::create_dir_all(&dir).expect("mkdir config/regatta");
    let path = dir.join("config.toml");
    let ca = registry.ca_pem_path().display().to_string();
    let url = registry.url();
    std::fs::write(
        &path,
        format!(
            "[registries.secure]\nurl = \"{url}\"\nca_file = \"{ca}\"\nusername = \"{USER}\"\npassword = \"{PASSWORD}\"\n\n\
             [registries.wrong]\nurl = \"{url}\"\nca_file = \"{ca}\"\nusername = \"{USER}\"\npassword = \"{WRONG_PASSWORD}\"\n"
        ),
    )
    .expect("write config.toml");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod 600");
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => out.extend(files_under(&path)),
            Ok(t) if t.is_file() => out.push(path),
            _ => {}
        }
    }
    out
}

/// What must never be found: each password, its `user:password` base64 (what a Basic
/// `Authorization` header carries), and any header line or field naming `Authorization`.
fn assert_clean(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let b64 = base64::engine::general_purpose::STANDARD;
    for password in [PASSWORD, WRONG_PASSWORD] {
        let basic = b64.encode(format!("{USER}:{password}"));
        for needle in [
            password.to_string(),
            basic.clone(),
            format!("Basic {basic}"),
        ] {
            assert!(
                !text.contains(&needle),
                "{what} holds {needle:?}:\n{}",
                excerpt(&text, &needle)
            );
        }
    }
    let lower = text.to_ascii_lowercase();
    for needle in [
        "authorization:",
        "authorization=",
        "\"authorization\"",
        "basic ",
    ] {
        assert!(
            !lower.contains(needle),
            "{what} holds an Authorization value ({needle:?}):\n{}",
            excerpt(&lower, needle)
        );
    }
}

fn excerpt(text: &str, needle: &str) -> String {
    let at = text.find(needle).unwrap_or(0);
    let start = text[..at]
        .char_indices()
        .rev()
        .nth(200)
        .map_or(0, |(i, _)| i);
    let end = (at + needle.len() + 200).min(text.len());
    let end = (end..=text.len())
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(text.len());
    text[start..end].to_string()
}

/// Checks the pane's screens so far, its raw output and every file regatta may have written.
fn assert_session_clean(pane: &Pane, screens: &[String]) {
    for (i, screen) in screens.iter().enumerate() {
        assert_clean(&format!("screen {i}"), screen.as_bytes());
    }
    assert_clean("the bytes written to the terminal", &pane.raw_output());
    let mut searched = 0;
    for sub in ["home", "cache", "data", "state", "docker"] {
        for file in files_under(&pane.dir(sub)) {
            let bytes = std::fs::read(&file).expect("read a file of the session");
            assert_clean(&file.display().to_string(), &bytes);
            searched += 1;
        }
    }
    assert!(searched > 0, "no file was written: nothing was searched");
}

#[test]
fn a_traced_tui_session_leaves_no_credential_on_screen_in_logs_or_on_disk() {
    within(Duration::from_secs(60), || {
        let registry = TestRegistry::start_tls_basic_auth(USER, PASSWORD);
        let truth = registry.push(&fixture());
        let pane = Pane::start_with(
            "secrets",
            &["secure"],
            &[("REGATTA_LOG", "trace")],
            |root| write_config(root, &registry),
        );
        let mut screens = Vec::new();
        screens.push(pane.wait_for_text("team/api"));
        pane.keys(&["Enter"]);
        pane.wait_for_crumbs("secure › team/api");
        screens.push(pane.wait_for_text("v1"));
        pane.keys(&["Enter"]);
        pane.wait_for_crumbs("team/api › v1 › linux/amd64");
        let image = truth.tagged("team/api", "v1");
        screens.push(pane.wait_for("the layer row", |s| {
            image.layers.iter().all(|d| s.contains(d.short()))
        }));
        pane.keys(&["c"]);
        pane.wait_for_crumbs("linux/amd64 › config");
        screens.push(pane.wait_for_all(&["APP_ENV=production", "History ("]));
        pane.keys(&["q"]);
        let exit = pane.wait_for_exit();
        screens.push(pane.screen());
        assert_eq!(exit.status, 0, "{}", pane.screen());

        // The log was written at trace level: the search below had something to search.
        let log = std::fs::read_to_string(pane.dir("state").join("regatta/regatta.log"))
            .expect("the session wrote its log");
        assert!(
            log.lines()
                .any(|l| l.contains("TRACE") || l.contains("DEBUG")),
            "the log is not at trace level:\n{log}"
        );
        assert!(log.contains(USER) || log.contains("team/api"), "{log}");
        assert_session_clean(&pane, &screens);
    });
}

#[test]
fn a_refused_password_is_reported_without_showing_it() {
    within(Duration::from_secs(60), || {
        let registry = TestRegistry::start_tls_basic_auth(USER, PASSWORD);
        registry.push(&fixture());
        let pane = Pane::start_with("refused", &["wrong"], &[("REGATTA_LOG", "trace")], |root| {
            write_config(root, &registry)
        });
        // Wide enough for the whole sentence on the message line (it names the address).
        pane.resize(200, 40);
        // The listing and the background scan both fail; wait for the sentence itself.
        let sentence = format!("refused the credentials of user \"{USER}\"");
        let refused = pane.wait_for("the 401 sentence", |s| {
            s.contains("401 Unauthorized") && s.contains(&sentence)
        });
        assert!(refused.contains(&sentence), "{refused}");
        pane.keys(&["q"]);
        let exit = pane.wait_for_exit();
        assert_eq!(exit.status, 0, "{}", pane.screen());
        let last = pane.screen();
        assert_session_clean(&pane, &[refused, last]);
    });
}
