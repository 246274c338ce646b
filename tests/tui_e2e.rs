//! The built binary in a real terminal: tmux runs `regatta` in a pseudo-terminal, the tests
//! press keys and read the screen back (see `support::tmux`).
//!
//! What only a real terminal shows: the program starts from the command line, draws in the
//! alternate screen, reads keys as a terminal sends them (Esc and a key in one read
//! included), keeps hostile text from driving the terminal, reports a registry that is down
//! inside the app, and gives the terminal back as it found it: exit status 0, main screen,
//! cursor shown, mouse reporting and raw mode off.
//!
//! No sleeps: every step waits for the screen to show its result (see `Pane::wait_for`),
//! and a wait that times out fails with the pane's content.
//!
//! `write_readme_captures` (ignored) writes the text captures in `assets/screenshots/`.

mod support;

use regatta::sanitize::PLACEHOLDER;
use regatta::tui::format;
use support::cleanup::days_ago;
use support::fixtures::FixtureBuilder;
use support::image::{Format, ImageSpec, Layer};
use support::registry::{TestRegistry, free_port};
use support::tmux::{Pane, ends_crumbs, find_line, has_dir_starting_with, row_shows, shows_all};
use support::truth::Fixture;

/// A label value that clears the screen if it reaches the terminal as is.
const CLEAR_SCREEN_LABEL: &str = "\u{1b}[2Jgone";
/// An environment variable with a bell in it; its `ENV` history step carries the bell too.
const BELL_ENV: &str = "GREETING=hello\u{7}";

/// Four repositories: `team/api` with a hostile image (`v1`: three layers of distinct sizes,
/// entrypoint, env, labels) and a plain one (`v2`), a multi-arch `team/web:latest`, and two
/// small ones.
fn small_fixture() -> FixtureBuilder {
    let api = ImageSpec::new(
        Format::Oci,
        vec![
            Layer::random("api-base", 5_000),
            Layer::random("api-deps", 180_000),
            Layer::random("api-app", 1_300_000),
        ],
    )
    .entrypoint(&["/usr/local/bin/api"])
    .cmd(&["serve", "--port", "8080"])
    .working_dir("/srv")
    .env("APP_ENV=production")
    .env(BELL_ENV)
    .label("org.opencontainers.image.title", "api")
    .label("evil", CLEAR_SCREEN_LABEL);
    let mut b = FixtureBuilder::new();
    b.image("team/api", &["v1"], api);
    b.image(
        "team/api",
        &["v2"],
        ImageSpec::new(Format::Oci, vec![Layer::text("api-v2")]),
    );
    b.index(
        "team/web",
        &["latest"],
        Format::Oci,
        vec![
            ImageSpec::new(Format::Oci, vec![Layer::random("web-amd64", 40_000)]),
            ImageSpec::new(Format::Oci, vec![Layer::random("web-arm64", 70_000)]).platform(
                "linux",
                "arm64",
                Some("v8"),
            ),
        ],
    );
    b.image(
        "tools/cli",
        &["1.0"],
        ImageSpec::new(Format::Docker, vec![Layer::text("cli")]),
    );
    b.image(
        "library/redis",
        &["7"],
        ImageSpec::new(Format::Oci, vec![Layer::text("redis")]),
    );
    b
}

/// The one line of `screen` that contains `needle`.
fn line_with<'a>(screen: &'a str, needle: &str) -> &'a str {
    find_line(screen, needle).unwrap_or_else(|e| panic!("{e}; the pane shows:\n{screen}"))
}

/// Filters the list in front: `/`, the query, Enter (keep).
fn filter(pane: &Pane, query: &str) {
    pane.keys(&["/"]);
    pane.wait_for("the filter prompt", |s| s.contains('█'));
    pane.type_text(query);
    pane.wait_for_text(&format!("/{query}█"));
    pane.keys(&["Enter"]);
    pane.wait_for_text(&format!("filter: {query}"));
}

/// Presses `key` (`q`, `C-c`) and checks the terminal was given back: exit status 0, raw mode off, the
/// main screen in front, the cursor shown and mouse reporting off, as tmux sees the pane
/// and as the bytes regatta wrote say.
fn quit_and_check_terminal(pane: &Pane, key: &str) {
    pane.keys(&[key]);
    let exit = pane.wait_for_exit();
    let screen = pane.screen();
    assert_eq!(exit.status, 0, "regatta exited with {exit:?}:\n{screen}");
    assert!(
        !exit.raw_mode,
        "the terminal was left in raw mode:\n{screen}"
    );
    assert_eq!(
        pane.display("#{alternate_on}"),
        "0",
        "still in the alternate screen:\n{screen}"
    );
    assert_eq!(pane.display("#{cursor_flag}"), "1", "the cursor is hidden");
    assert_eq!(
        pane.display("#{mouse_any_flag}"),
        "0",
        "mouse reporting is still on"
    );
    // tmux shows the cursor again when the alternate screen is left, whatever the program
    // did; most terminals do not. So the last hide must be followed by a show.
    let out = pane.raw_output();
    for (set, reset, what) in [
        ("\u{1b}[?1049h", "\u{1b}[?1049l", "the alternate screen"),
        ("\u{1b}[?25l", "\u{1b}[?25h", "the hidden cursor"),
        ("\u{1b}[?1000h", "\u{1b}[?1000l", "mouse reporting"),
    ] {
        let set_at = last_index(&out, set.as_bytes());
        assert!(set_at.is_some(), "regatta never set {what}");
        assert!(
            last_index(&out, reset.as_bytes()) > set_at,
            "regatta did not undo {what} before exiting"
        );
    }
}

/// Where `needle` last starts in `hay`.
fn last_index(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

/// Checks every layer row of `repo:tag` shows the layer's position, size and share of the
/// image, from the ground truth, formatted as the TUI formats them.
fn layer_rows(screen: &str, truth: &Fixture, repo: &str, tag: &str) -> Result<(), String> {
    let image = truth.tagged(repo, tag);
    assert!(!image.layers.is_empty());
    for (i, digest) in image.layers.iter().enumerate() {
        let size = image.blobs[digest];
        let expected = [
            format!("{} ", i + 1),
            format::size(size),
            format::percent(size, image.size),
        ];
        row_shows(screen, digest.short(), &expected)
            .map_err(|e| format!("layer {} of {repo}:{tag}: {e}", i + 1))?;
    }
    Ok(())
}

/// A test that fails while a pane is alive drops the pane while unwinding; a panic in that
/// `drop` (tmux missing, say) would abort the whole test binary and hide every other result.
#[test]
fn dropping_a_pane_while_a_test_fails_does_not_abort_when_tmux_is_missing() {
    let failed = std::panic::catch_unwind(|| {
        let _pane = Pane::unstarted("regatta-test-no-such-tmux");
        panic!("the test failed");
    });
    let message = failed.expect_err("the body panics");
    assert_eq!(message.downcast_ref::<&str>(), Some(&"the test failed"));
}

#[test]
fn browses_a_real_registry_to_the_config_and_gives_the_terminal_back() {
    let registry = TestRegistry::start();
    let truth = registry.push(&small_fixture());
    let addr = registry.addr();
    let pane = Pane::start("walk", &[&addr]);

    // The repository list, then filtered down to one.
    pane.wait_for_crumbs(&format!("regatta › {addr}"));
    pane.wait_for_text("tools/cli");
    filter(&pane, "api");
    // The filter's line is drawn below the rows: with it there, the rows are final.
    let repos = pane.wait_for_all(&["team/api", "filter: api"]);
    for other in ["team/web", "tools/cli", "library/redis"] {
        assert!(
            !repos.contains(other),
            "{other} passed the filter:\n{repos}"
        );
    }

    // Its tags; the single-platform tag opens straight at its layers.
    pane.keys(&["Enter"]);
    pane.wait_for_crumbs(&format!("{addr} › team/api"));
    pane.wait_for_text("v2");
    filter(&pane, "v1");
    pane.keys(&["Enter"]);
    pane.wait_for_crumbs("team/api › v1 › linux/amd64");
    let image = truth.tagged("team/api", "v1");
    pane.wait_until("every layer row", |s| {
        layer_rows(s, &truth, "team/api", "v1")
    });

    // The config, with the hostile label and history step drawn inert.
    let before_config = pane.raw_output().len();
    pane.keys(&["c"]);
    pane.wait_for_crumbs("linux/amd64 › config");
    let config_digest = image.config.as_ref().expect("an image config");
    let config = pane.wait_until("the whole config", |config| {
        for (label, value) in [
            ("Config", config_digest.to_string()),
            ("Entrypoint", r#"["/usr/local/bin/api"]"#.to_string()),
            ("Cmd", r#"["serve", "--port", "8080"]"#.to_string()),
            ("Working dir", "/srv".to_string()),
        ] {
            row_shows(config, &format!(" {label} "), &[value])?;
        }
        // Env and label items are whole lines; history steps follow a date.
        let lines: Vec<&str> = config.lines().map(str::trim).collect();
        for item in [
            "APP_ENV=production".to_string(),
            format!("GREETING=hello{PLACEHOLDER}"),
            "org.opencontainers.image.title=api".to_string(),
            format!("evil={PLACEHOLDER}gone"),
        ] {
            if !lines.contains(&item.as_str()) {
                return Err(format!("no line {item:?}"));
            }
        }
        for step in [
            format!("ENV GREETING=hello{PLACEHOLDER}"),
            format!("LABEL evil={PLACEHOLDER}gone"),
        ] {
            if !lines.iter().any(|l| l.ends_with(&format!(" {step}"))) {
                return Err(format!("no history step {step:?}"));
            }
        }
        // Had the screen been cleared, the unchanged rows would be gone.
        let first = config.lines().next().unwrap_or_default();
        if !first.starts_with(" regatta › ") {
            return Err(format!("the first line is {first:?}"));
        }
        shows_all(config, &["Manifest     sha256:"])
    });
    // Not even the harmless remains of a sequence split up.
    assert!(!config.contains("[2J"), "{config}");
    // What regatta wrote while drawing the config: no clear-screen, no bell.
    let written = pane.wait_for_output(before_config, format!("{PLACEHOLDER}gone").as_bytes());
    assert!(
        !written.windows(4).any(|w| w == b"\x1b[2J"),
        "the label's clear-screen reached the terminal"
    );
    assert!(!written.contains(&0x07), "a bell reached the terminal");
    let styled = pane.screen_with_escapes();
    assert!(!styled.contains("\u{1b}[2J") && !styled.contains('\u{7}'));
    assert_eq!(
        pane.display("#{window_bell_flag}"),
        "0",
        "the terminal rang"
    );

    // Back, one view at a time.
    pane.keys(&["Escape"]);
    pane.wait_for_crumbs("team/api › v1 › linux/amd64");
    pane.wait_for_text("CREATED BY");
    pane.keys(&["Escape"]);
    pane.wait_for_crumbs(&format!("{addr} › team/api"));
    pane.keys(&["Escape"]);
    pane.wait_for("the repositories, still filtered", |s| {
        ends_crumbs(s, &format!("regatta › {addr}")) && s.contains("filter: api")
    });

    // Esc while typing a filter clears it; then the multi-arch repository's platforms.
    pane.keys(&["/"]);
    pane.wait_for_text("/api█");
    pane.keys(&["Escape"]);
    pane.wait_for("the filter to clear", |s| {
        s.contains("tools/cli") && !s.contains('█') && !s.contains("filter:")
    });
    filter(&pane, "web");
    pane.keys(&["Enter"]);
    pane.wait_for_crumbs(&format!("{addr} › team/web"));
    pane.wait_for_text("latest");
    pane.keys(&["Enter"]);
    pane.wait_for_crumbs("team/web › latest");
    let index = truth.tagged("team/web", "latest");
    pane.wait_until("both platforms with their sizes", |s| {
        for (digest, platform) in &index.children {
            let size = format::size(truth.manifest("team/web", digest).size);
            row_shows(s, digest.short(), &[platform.as_str(), &size])?;
        }
        Ok(())
    });

    quit_and_check_terminal(&pane, "q");
}

/// One JSON document of the demo's layout for `repo` (`assets/demo/REPO`): `index.json`, or
/// a blob by digest.
fn demo_json(repo: &str, digest: Option<&str>) -> serde_json::Value {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets/demo")
        .join(repo);
    let path = match digest {
        None => root.join("index.json"),
        Some(d) => root
            .join("blobs/sha256")
            .join(d.trim_start_matches("sha256:")),
    };
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_slice(&bytes).expect("a JSON document")
}

/// The tag list header of the demo's `acme/api` once the scan has folded the referrer tags
/// (`sha256-<hex>`, `.sig`, `.att`) under their images, and how many rows remain, from its
/// `index.json`.
fn demo_api_tags() -> (String, usize) {
    let index = demo_json("acme/api", None);
    let tags: Vec<&str> = index["manifests"]
        .as_array()
        .expect("index.json lists manifests")
        .iter()
        .filter_map(|m| m["annotations"]["org.opencontainers.image.ref.name"].as_str())
        .collect();
    let folded = tags.iter().filter(|t| t.starts_with("sha256-")).count();
    assert!(folded > 0, "the demo's acme/api has referrer tags");
    let all = tags.len();
    (
        format!("tags {all}/{all} · {folded} attached folded"),
        all - folded,
    )
}

/// How many repositories the demo holds (layouts under `assets/demo`).
fn demo_repository_count() -> usize {
    fn walk(dir: &std::path::Path) -> usize {
        if dir.join("oci-layout").is_file() {
            return 1;
        }
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter(|e| e.path().is_dir())
                    .map(|e| walk(&e.path()))
                    .sum()
            })
            .unwrap_or(0)
    }
    walk(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo"))
}

/// `(digest, size)` of each descriptor in `list`.
fn descriptors(list: &serde_json::Value) -> Vec<(String, u64)> {
    list.as_array()
        .expect("a list of descriptors")
        .iter()
        .map(|d| {
            let digest = d["digest"].as_str().expect("a digest").to_string();
            (digest, d["size"].as_u64().expect("a size"))
        })
        .collect()
}

/// The short digest (12 hex digits) of `sha256:...`.
fn short(digest: &str) -> &str {
    &digest.trim_start_matches("sha256:")[..12]
}

#[test]
fn walks_the_bundled_demo_without_a_config() {
    // The ground truth, from the layout the demo is built from: acme/api:latest is an index;
    // its platforms' sizes (config + layers) and the linux/amd64 image's layers.
    let index = demo_json("acme/api", None)["manifests"]
        .as_array()
        .expect("index.json lists manifests")
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == "latest")
        .and_then(|m| m["digest"].as_str().map(str::to_string))
        .expect("acme/api has a latest tag");
    let children = demo_json("acme/api", Some(&index))["manifests"].clone();
    let mut platforms = Vec::new();
    let mut amd64_layers = Vec::new();
    for child in children.as_array().expect("an index") {
        let field = |key: &str| child["platform"][key].as_str().unwrap_or_default();
        let mut name = format!("{}/{}", field("os"), field("architecture"));
        if !field("variant").is_empty() {
            name = format!("{name}/{}", field("variant"));
        }
        let digest = child["digest"].as_str().expect("a digest").to_string();
        let manifest = demo_json("acme/api", Some(&digest));
        let layers = descriptors(&manifest["layers"]);
        let config = manifest["config"]["size"].as_u64().expect("a config size");
        let size = config + layers.iter().map(|(_, s)| s).sum::<u64>();
        if name == "linux/amd64" {
            amd64_layers = layers;
        }
        platforms.push((name, digest, size));
    }
    assert_eq!(platforms.len(), 2, "acme/api:latest: {platforms:?}");
    assert!(!amd64_layers.is_empty());
    let amd64_size = platforms
        .iter()
        .find(|(name, ..)| name == "linux/amd64")
        .map(|(.., size)| *size)
        .expect("a linux/amd64 image");

    let pane = Pane::start("demo", &[]);
    pane.wait_for_crumbs("regatta › demo");
    // The list loads in the background after the first frame.
    pane.wait_for_all(&["acme/api", "acme/web", "library/redis"]);
    assert!(
        has_dir_starting_with(&pane.cache_home().join("regatta"), "demo-"),
        "the demo was not unpacked into the isolated XDG_CACHE_HOME"
    );

    filter(&pane, "acme/api");
    pane.keys(&["Enter"]);
    pane.wait_for_crumbs("demo › acme/api");
    pane.wait_for_text("latest");
    filter(&pane, "latest");
    pane.keys(&["Enter"]);
    pane.wait_for_crumbs("acme/api › latest");
    pane.wait_until("the platforms with their sizes", |s| {
        for (name, digest, size) in &platforms {
            let expected = [name.clone(), format::size(*size), "oci manifest".into()];
            row_shows(s, short(digest), &expected).map_err(|e| format!("{name}: {e}"))?;
        }
        Ok(())
    });

    // The first row is linux/amd64.
    pane.keys(&["Enter"]);
    pane.wait_for_crumbs("acme/api › latest › linux/amd64");
    pane.wait_until("every layer row", |s| {
        if !s.contains("CREATED BY") {
            return Err("no layer table".to_string());
        }
        for (i, (digest, size)) in amd64_layers.iter().enumerate() {
            let expected = [
                format!("{} ", i + 1),
                format::size(*size),
                format::percent(*size, amd64_size),
            ];
            row_shows(s, short(digest), &expected).map_err(|e| format!("layer {}: {e}", i + 1))?;
        }
        Ok(())
    });

    pane.keys(&["c"]);
    pane.wait_for_crumbs("linux/amd64 › config");
    pane.wait_for_all(&[
        "History (",
        r#"Entrypoint   ["/usr/local/bin/api"]"#,
        "Platform     linux/amd64",
        "APP_ENV=production",
        "org.opencontainers.image.title=acme-api",
    ]);

    pane.keys(&["Escape"]);
    pane.wait_for_text("CREATED BY");
    pane.keys(&["Escape"]);
    pane.wait_for_crumbs("acme/api › latest");
    pane.wait_for_text("linux/arm64/v8");
    quit_and_check_terminal(&pane, "q");
}

/// A terminal sends Esc and the key after it in one read when they come fast (a quick
/// typist, a slow link); crossterm then reports one Alt+key. Both keys must still count.
/// tmux writes the keys of one `send-keys` together, so this is what the test sends.
#[test]
fn esc_and_the_next_key_in_one_read_are_two_keys() {
    let pane = Pane::start("esc", &[]);
    pane.wait_for_crumbs("regatta › demo");
    pane.wait_for_text("tools/debug");

    // Esc + Backspace while typing a filter: the filter is cleared and closed, not edited.
    pane.keys(&["/"]);
    pane.type_text("web");
    pane.wait_for_text("/web█");
    pane.keys(&["Escape", "BSpace"]);
    pane.wait_for("the filter cleared and closed", |s| {
        !s.contains('█') && s.contains("tools/debug") && s.contains("acme/api")
    });

    // Esc + Enter on the third tag: back to the repositories, then acme/api opened again
    // (at its first tag), not the third tag opened.
    let (header, rows) = demo_api_tags();
    pane.keys(&["g"]); // the selection stayed on acme/web
    pane.wait_for_text(&format!(" 1/{}", demo_repository_count()));
    pane.keys(&["Enter"]);
    pane.wait_for_crumbs("demo › acme/api");
    // Folding waits for the scan: move only once the rows are final.
    pane.wait_for_text(&header);
    pane.keys(&["j", "j"]);
    pane.wait_for_text(&format!(" 3/{rows}"));
    pane.keys(&["Escape", "Enter"]);
    let reopened = pane.wait_for("acme/api reopened at its first tag", |s| {
        s.lines()
            .next()
            .is_some_and(|l| l.trim_end().ends_with(&header))
            && s.contains(&format!(" 1/{rows}"))
    });
    let crumbs = reopened.lines().next().unwrap_or_default();
    assert!(!crumbs.contains("acme/api › "), "{reopened}");

    quit_and_check_terminal(&pane, "C-c");
}

#[test]
fn survives_the_registry_going_away_and_coming_back() {
    let registry = TestRegistry::start();
    registry.push(&small_fixture());
    let addr = registry.addr();
    let pane = Pane::start("outage", &[&addr]);
    pane.wait_for_text("library/redis");

    assert!(registry.stop());
    pane.keys(&["r"]);
    // The background scan may report the outage before the listing does: wait for both.
    let unreachable = format!("cannot reach {addr}");
    pane.wait_for("the listing's error", |s| {
        s.contains(&unreachable) && s.contains("could not list the repositories")
    });
    // Still running: the help opens and closes.
    pane.keys(&["?"]);
    pane.wait_for_text("esc closes");
    pane.keys(&["?"]);
    pane.wait_for_no_text("esc closes");

    registry.start_again();
    pane.keys(&["r"]);
    // The sort line, drawn below the rows, takes the place of the error once it is gone.
    let back = pane.wait_for_all(&[
        "team/api",
        "team/web",
        "tools/cli",
        "library/redis",
        "sort: name",
    ]);
    assert!(!back.contains("cannot reach"), "the error stayed:\n{back}");
    quit_and_check_terminal(&pane, "q");
}

#[test]
fn an_unreachable_target_is_reported_inside_the_app() {
    let addr = format!("127.0.0.1:{}", free_port());
    let pane = Pane::start("unreachable", &[&addr]);
    pane.wait_for_crumbs(&format!("regatta › {addr}"));
    // The background scan may report it before the listing does: wait for both.
    let unreachable = format!("cannot reach {addr}");
    pane.wait_for("the listing's error", |s| {
        s.contains(&unreachable) && s.contains("could not list the repositories")
    });
    assert_eq!(pane.display("#{alternate_on}"), "1", "the app is not up");
    quit_and_check_terminal(&pane, "q");
}

/// `app`: releases `v1.0` (200 days old) and `v1.1` = `latest` (5 days), commit builds
/// `sha-abc1234` and `sha-def5678` (200 and 150 days), and `pr-7` (3 days); all on one base
/// layer, each with a layer of its own.
fn sprawl_fixture(now: jiff::Timestamp) -> FixtureBuilder {
    let base = Layer::random("audit-base", 4 * 1024);
    let mut b = FixtureBuilder::new();
    for (tags, days) in [
        (&["v1.0"][..], 200),
        (&["v1.1", "latest"][..], 5),
        (&["sha-abc1234"][..], 200),
        (&["sha-def5678"][..], 150),
        (&["pr-7"][..], 3),
    ] {
        b.image(
            "app",
            tags,
            ImageSpec::new(
                Format::Oci,
                vec![
                    base.clone(),
                    Layer::random(&format!("audit-{}", tags[0]), 2 * 1024 + days),
                ],
            )
            .created(&days_ago(now, days as i64)),
        );
    }
    b
}

#[test]
fn the_audit_finds_old_builds_and_its_suggested_policy_opens_as_a_cleanup_preview() {
    let registry = TestRegistry::start();
    registry.push(&sprawl_fixture(jiff::Timestamp::now()));
    let addr = registry.addr();
    // The suggested policy keeps one build per repository (the default keeps ten).
    let pane = Pane::start_with("audit", &[&addr], &[], |root| {
        let dir = root.join("config/regatta");
        std::fs::create_dir_all(&dir).expect("mkdir config/regatta");
        std::fs::write(dir.join("config.toml"), "[audit]\nkeep_last = 1\n")
            .expect("write config.toml");
    });
    pane.wait_for_crumbs(&format!("regatta › {addr}"));
    pane.wait_for_text("app");

    // The registry's audit: the old commit builds are a finding.
    pane.keys(&["A"]);
    pane.wait_for_crumbs(&format!("{addr} › audit"));
    let audit = pane.wait_until("the finding and the policy", |s| {
        row_shows(
            s,
            "stale builds",
            &[" app ", "2 build tags older than 90 days"],
        )?;
        // The bytes it frees are read up to the parenthesis.
        row_shows(s, "suggested policy:", &["2 tags deleted", "frees ", " ("])?;
        shows_all(s, &["6 tags in 1 repository"])
    });
    let finding = line_with(&audit, "stale builds");
    let policy = line_with(&audit, "suggested policy:");
    // The finding prices the same two tags the policy deletes.
    let frees = policy
        .split("frees ")
        .nth(1)
        .and_then(|rest| rest.split(" (").next())
        .expect("the policy's bytes");
    assert!(finding.contains(frees), "{finding:?} should free {frees}");

    // Enter shows exactly the finding's tags.
    pane.keys(&["Enter"]);
    pane.wait_for_crumbs("audit › app");
    let tags = pane.wait_for_all(&["sha-abc1234", "sha-def5678", "stale builds: 2 tags"]);
    for other in ["v1.0", "v1.1", "latest", "pr-7"] {
        assert!(
            !tags.contains(other),
            "{other} is not in the finding:\n{tags}"
        );
    }
    pane.keys(&["Escape"]);
    pane.wait_for_crumbs(&format!("{addr} › audit"));

    // `p`: the suggested policy in the cleanup preview, nothing deleted yet.
    pane.keys(&["p"]);
    pane.wait_for_crumbs("audit › cleanup preview");
    pane.wait_until("the suggested plan", |s| {
        let frees = format!("frees {frees}");
        shows_all(
            s,
            &[
                "delete sha-abc1234",
                "delete sha-def5678",
                "suggested",
                &frees,
            ],
        )?;
        row_shows(s, "pr-7", &["keep"])
    });
    quit_and_check_terminal(&pane, "q");
}

/// Writes the text captures for the README: the demo's `acme/api` tag list and the layers
/// of `acme/api:latest` on linux/amd64. Ignored because ages in the capture change with the
/// date; run it with `cargo test --test tui_e2e -- --ignored write_readme_captures`.
#[test]
#[ignore = "writes assets/screenshots/; run by hand to refresh the captures"]
fn write_readme_captures() {
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/screenshots");
    std::fs::create_dir_all(&out).expect("create assets/screenshots");
    let pane = Pane::start_sized("captures", &[], 120, 30);
    pane.wait_for_crumbs("regatta › demo");
    // The audit of the whole demo registry, once its scan is done.
    pane.keys(&["A"]);
    // The policy's line to its end: the frame is drawn down to there.
    let audit = pane.wait_for("the audit of the demo", |s| {
        s.contains("demo › audit")
            && s.contains("suggested policy:")
            && s.contains("(p: preview it as a cleanup)")
    });
    std::fs::write(out.join("demo-audit.txt"), &audit).expect("write the audit capture");
    pane.keys(&["Escape"]);
    pane.wait_for_crumbs("regatta › demo");
    filter(&pane, "acme/api");
    pane.keys(&["Enter"]);
    pane.wait_for_crumbs("demo › acme/api");
    // Every size and age filled in, the referrer tags folded (the position below the rows
    // counts the rows left), and the spinner gone.
    let (header, rows) = demo_api_tags();
    let position = format!("sort: name ↓ · 1/{rows}");
    let tags = pane.wait_for("the tag list, fully loaded", |s| {
        s.contains("v1.3.0-rc.1")
            && !s.contains('…')
            && s.contains(&header)
            && s.contains(&position)
    });
    std::fs::write(out.join("demo-acme-api-tags.txt"), &tags).expect("write the tags capture");

    filter(&pane, "latest");
    pane.keys(&["Enter"]);
    pane.wait_for_crumbs("acme/api › latest");
    pane.wait_for_text("linux/arm64/v8");
    pane.keys(&["Enter"]);
    pane.wait_for_crumbs("latest › linux/amd64");
    pane.wait_for_text("CREATED BY");
    // Four layers: a short terminal keeps the capture free of empty rows.
    pane.resize(120, 9);
    // tmux keeps the old bottom rows at once; wait for regatta's own redraw.
    let layers = pane.wait_for("the layers redrawn at 9 rows", |s| {
        let lines: Vec<&str> = s.lines().collect();
        lines.len() == 9
            && lines[0].contains("latest › linux/amd64")
            && lines[1].contains("CREATED BY")
            && lines[5].contains("oci layer")
            && lines[8].contains("q quit")
    });
    std::fs::write(out.join("demo-acme-api-layers.txt"), &layers)
        .expect("write the layers capture");
    quit_and_check_terminal(&pane, "q");
}
