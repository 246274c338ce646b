//! What a command-line user expects of `regatta`: the bundled demo is a target of every
//! command (and a configured registry called `demo` wins), a reader that goes away ends the
//! program quietly, and progress never reaches a stderr that is not a terminal.
//!
//! The demo's truth is read from the layouts it is built from (`assets/demo/`: each
//! repository's `index.json`), never from regatta.

mod support;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use support::cli::Sandbox;
use support::fixtures::FixtureBuilder;
use support::image::{Format, ImageSpec, Layer};
use support::registry::TestRegistry;

const REF_NAME: &str = "org.opencontainers.image.ref.name";

fn demo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo")
}

/// The demo's repositories and, for each, its tags and their digests, from `index.json`.
fn demo_truth() -> BTreeMap<String, BTreeMap<String, String>> {
    fn walk(dir: &Path, name: &str, out: &mut BTreeMap<String, BTreeMap<String, String>>) {
        let index = dir.join("index.json");
        if index.is_file() {
            let index: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&index).expect("read index.json"))
                    .expect("index.json is JSON");
            let tags = index["manifests"]
                .as_array()
                .expect("manifests")
                .iter()
                .filter_map(|m| {
                    let tag = m["annotations"][REF_NAME].as_str()?;
                    Some((tag.to_string(), m["digest"].as_str()?.to_string()))
                })
                .collect();
            out.insert(name.to_string(), tags);
            return;
        }
        for entry in std::fs::read_dir(dir).expect("read the demo dir") {
            let entry = entry.expect("an entry");
            if entry.file_type().expect("a type").is_dir() {
                let child = entry.file_name().into_string().expect("a UTF-8 name");
                let name = if name.is_empty() {
                    child
                } else {
                    format!("{name}/{child}")
                };
                walk(&entry.path(), &name, out);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(&demo_dir(), "", &mut out);
    assert!(out.len() >= 5, "the demo has repositories: {out:?}");
    out
}

#[test]
fn the_demo_is_a_target_of_every_command() {
    let truth = demo_truth();
    let sandbox = Sandbox::new();
    let repos: Vec<String> = truth.keys().cloned().collect();

    let run = sandbox.run(&["ls", "demo", "--json"]);
    assert_eq!(run.ok().json_strings(), repos, "{}", run.describe());

    let api = &truth["acme/api"];
    let run = sandbox.run(&["tags", "demo/acme/api", "--json"]);
    let tags: Vec<String> = api.keys().cloned().collect();
    assert_eq!(run.ok().json_strings(), tags);

    let run = sandbox.run(&["inspect", "demo/acme/api:latest", "--json"]);
    let report = run.ok().json();
    assert_eq!(
        report["digest"],
        api["latest"].as_str(),
        "{}",
        run.describe()
    );
    // Without a tag, latest.
    let run = sandbox.run(&["inspect", "demo/acme/api", "--json"]);
    assert_eq!(run.ok().json()["digest"], api["latest"].as_str());

    let run = sandbox.run(&["du", "demo", "--json"]);
    let du = run.ok().json();
    let all_tags: usize = truth.values().map(BTreeMap::len).sum();
    assert_eq!(du["registry"]["tags"], all_tags, "{}", run.describe());
    assert_eq!(du["complete"], true);
    let du_repos: Vec<&str> = du["repositories"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["repository"].as_str().expect("a name"))
        .collect();
    assert_eq!(du_repos, repos);

    let run = sandbox.run(&["audit", "demo", "--json"]);
    let audit = run.ok().json();
    assert_eq!(audit["complete"], true, "{}", run.describe());
    let audited: Vec<&str> = audit["repositories"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["name"].as_str().expect("a name"))
        .collect();
    assert_eq!(audited, repos);

    // rm's dry run names the repository as the TUI does, and deletes nothing.
    let run = sandbox.run(&["rm", "demo/acme/api:latest"]);
    run.ok();
    assert!(
        run.stdout
            .contains(&format!("delete acme/api@{}", api["latest"])),
        "{}",
        run.describe()
    );
}

#[test]
fn a_registry_named_demo_in_the_config_wins() {
    let registry = TestRegistry::start();
    let mut b = FixtureBuilder::new();
    b.image(
        "team/app",
        &["1"],
        ImageSpec::new(Format::Oci, vec![Layer::text("configured-demo")]),
    );
    let fixture = b.push_blocking(&registry.client());
    let sandbox = Sandbox::new();
    sandbox.write_default_config(&format!(
        "[registries.demo]\nurl = \"{}\"\n",
        registry.addr()
    ));
    let run = sandbox.run(&["ls", "demo", "--json"]);
    assert_eq!(run.ok().json_strings(), ["team/app"], "{}", run.describe());
    let run = sandbox.run(&["tags", "demo/team/app", "--json"]);
    assert_eq!(run.ok().json_strings(), ["1"]);
    let run = sandbox.run(&["inspect", "demo/team/app:1", "--json"]);
    assert_eq!(
        run.ok().json()["digest"],
        fixture.tagged("team/app", "1").digest.to_string()
    );
    let run = sandbox.run(&["du", "demo", "--json"]);
    assert_eq!(run.ok().json()["registry"]["repositories"], 1);
}

/// `regatta ARGS` with its stdout on a pipe whose reader is gone before regatta starts: the
/// shell waits for a line on stdin, which is written only after the reader was closed.
fn run_into_a_closed_pipe(sandbox: &Sandbox, args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new("/bin/sh")
        .arg("-c")
        .arg("read _ && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_regatta"))
        .args(args)
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("RUST_BACKTRACE", "1")
        .envs(sandbox.vars())
        .current_dir(sandbox.root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run sh");
    drop(child.stdout.take());
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"go\n")
        .expect("start regatta");
    let output = child.wait_with_output().expect("wait for regatta");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn writing_to_a_closed_pipe_ends_quietly() {
    let sandbox = Sandbox::new();
    for args in [
        &["ls", "demo"][..],
        &["ls", "demo", "--json"],
        &["tags", "demo/acme/api"],
        &["inspect", "demo/acme/api:latest"],
        &["inspect", "demo/acme/api:latest", "--json"],
        &["du", "demo"],
        &["audit", "demo"],
        &["completions", "bash"],
    ] {
        let (code, stderr) = run_into_a_closed_pipe(&sandbox, args);
        assert_eq!((code, stderr.as_str()), (Some(0), ""), "regatta {args:?}");
    }
    // The same commands with a reader print (so the pipe above is what made them quiet).
    assert!(!sandbox.run(&["ls", "demo"]).ok().stdout.is_empty());
}

/// Progress is for a person at a terminal: with stderr on a pipe (as here), a command that
/// scans prints its result and nothing else, as text and as JSON.
#[test]
fn no_progress_reaches_a_stderr_that_is_not_a_terminal() {
    let sandbox = Sandbox::new();
    for args in [
        &["du", "demo"][..],
        &["du", "demo", "--json"],
        &["audit", "demo"],
        &["rm", "demo/acme/api:latest"],
        &["inspect", "demo/acme/api:latest", "--sharing", "--json"],
    ] {
        let run = sandbox.run(args);
        run.ok();
        assert!(!run.stdout.contains('\r'), "{}", run.describe());
        assert!(!run.stdout.contains('\u{1b}'), "{}", run.describe());
    }
}

/// The blobs `repo:tag` keeps alive, manifests included (an index's children too), from the
/// fixture's truth: digest -> size.
fn blobs_of_tag(
    fixture: &support::truth::Fixture,
    repo: &str,
    tag: &str,
) -> BTreeMap<regatta::registry::Digest, u64> {
    let m = fixture.tagged(repo, tag);
    let mut out = BTreeMap::new();
    out.insert(m.digest.clone(), m.manifest_size);
    out.extend(m.blobs.iter().map(|(d, s)| (d.clone(), *s)));
    for (child, _) in &m.children {
        let c = fixture.manifest(repo, child);
        out.insert(c.digest.clone(), c.manifest_size);
        out.extend(c.blobs.iter().map(|(d, s)| (d.clone(), *s)));
    }
    out
}

/// `inspect --sharing --json` against a real registry holding shared layers, aliases and
/// multi-arch indexes: each layer's other users and the tag's unique bytes, held against the
/// fixture's truth (which tags of which repositories really reference each blob).
#[test]
fn inspect_sharing_names_the_other_users_of_each_layer_and_the_unique_bytes() {
    let registry = TestRegistry::start();
    let fixture = registry.push(&support::storage::storage_fixture());
    let sandbox = Sandbox::new();
    let all_tags: Vec<(String, String)> = fixture
        .repos
        .iter()
        .flat_map(|(r, truth)| truth.tags.keys().map(move |t| (r.clone(), t.clone())))
        .collect();
    let mut uniques = Vec::new();
    for (repo, tag) in [
        ("team/app", "v1"),
        ("team/app", "latest"),
        ("lib/multi", "1.0"),
        ("tools/builder", "2024.06"),
    ] {
        let mine = blobs_of_tag(&fixture, repo, tag);
        let others: Vec<((String, String), BTreeMap<_, _>)> = all_tags
            .iter()
            .filter(|(r, t)| !(r == repo && t == tag))
            .map(|(r, t)| ((r.clone(), t.clone()), blobs_of_tag(&fixture, r, t)))
            .collect();
        let unique: u64 = mine
            .iter()
            .filter(|(d, _)| !others.iter().any(|(_, b)| b.contains_key(*d)))
            .map(|(_, s)| s)
            .sum();
        uniques.push(unique);

        let reference = format!("{}/{repo}:{tag}", registry.addr());
        let run = sandbox.run(&["inspect", &reference, "--sharing", "--json"]);
        let report = run.ok().json();
        let d = run.describe();
        assert_eq!(report["sharing"]["unique_bytes"], unique, "{d}");
        assert_eq!(report["sharing"]["complete"], true, "{d}");

        let layers: Vec<&serde_json::Value> = match report["manifests"].as_array() {
            Some(children) => children
                .iter()
                .flat_map(|c| c["layers"].as_array().expect("layers"))
                .collect(),
            None => report["layers"]
                .as_array()
                .expect("layers")
                .iter()
                .collect(),
        };
        assert!(!layers.is_empty(), "{d}");
        for layer in layers {
            let digest = layer["digest"].as_str().expect("a digest");
            let users: Vec<&(String, String)> = others
                .iter()
                .filter(|(_, b)| b.keys().any(|k| k.to_string() == digest))
                .map(|(who, _)| who)
                .collect();
            let repos: std::collections::BTreeSet<&str> =
                users.iter().map(|(r, _)| r.as_str()).collect();
            let used_by = &layer["used_by"];
            assert_eq!(used_by["tags"], users.len(), "{repo}:{tag} {digest}\n{d}");
            assert_eq!(
                used_by["repositories"],
                serde_json::json!(repos),
                "{repo}:{tag} {digest}"
            );
            let examples = used_by["examples"].as_array().expect("examples");
            assert_eq!(examples.len(), users.len().min(5));
            for example in examples {
                let (r, t) = example
                    .as_str()
                    .and_then(|e| e.rsplit_once(':'))
                    .expect("repo:tag");
                assert!(
                    users.contains(&&(r.to_string(), t.to_string())),
                    "{example}"
                );
            }
        }
    }
    // The cases cover a tag with bytes of its own and one whose every blob is shared.
    assert!(
        uniques.contains(&0) && uniques.iter().any(|u| *u > 0),
        "{uniques:?}"
    );
    // Without --sharing the report has none of it; a digest cannot be measured.
    let plain = sandbox
        .run(&[
            "inspect",
            &format!("{}/team/app:v1", registry.addr()),
            "--json",
        ])
        .ok()
        .json();
    assert!(plain.get("sharing").is_none());
    assert!(plain["layers"][0].get("used_by").is_none());
    let by_digest = format!(
        "{}/team/app@{}",
        registry.addr(),
        fixture.tagged("team/app", "v1").digest
    );
    sandbox
        .run(&["inspect", &by_digest, "--sharing"])
        .fails_with_one_line(&["--sharing needs a tag"]);
}

/// One config fixture per `[keys]` error, each asserted on its file, line and key, through
/// the binary (every command checks the config, as for the rest of it).
#[test]
fn a_bad_keys_entry_is_one_line_naming_file_line_and_key() {
    let sandbox = Sandbox::new();
    let cases = [
        (
            "unknown-action.toml",
            "[defaults]\nconcurrency = 2\n\n[keys]\nquit = \"Q\"\ndelete = [\"d\", \"Delete\"]\n",
            6,
            "keys.delete",
            "unknown action; the actions are move_down, move_up,",
        ),
        (
            "unparsable-key.toml",
            "[keys]\nrequest_delete = [\"d\", \"Delet\"]\n",
            2,
            "keys.request_delete",
            "cannot read key \"Delet\"",
        ),
        (
            "no-key.toml",
            "[keys]\nquit = []\n",
            2,
            "keys.quit",
            "give at least one key",
        ),
        (
            "two-actions.toml",
            "[keys]\nrefresh = \"r\"\nrequest_delete = [\"u\"]\n",
            3,
            "keys.request_delete",
            "key \"u\" also does open_storage",
        ),
        (
            "wrong-type.toml",
            "[keys]\nquit = 7\n",
            2,
            "keys.quit",
            "a list of keys",
        ),
    ];
    for (name, text, line, key, what) in cases {
        let file = sandbox.write_file(&format!("configs/{name}"), text);
        let file = file.to_str().expect("a UTF-8 path");
        let run = sandbox.run(&["--config", file, "ls", "demo"]);
        let got = run.fails_with_one_line(&[what]);
        assert!(
            got.starts_with(&format!("regatta: {file}:{line}: key `{key}`: ")),
            "{}",
            run.describe()
        );
    }
    // A good [keys] table is accepted.
    let file = sandbox.write_file(
        "configs/good.toml",
        "[keys]\nrequest_delete = [\"d\", \"Delete\"]\n",
    );
    sandbox
        .run(&[
            "--config",
            file.to_str().expect("a UTF-8 path"),
            "ls",
            "demo",
        ])
        .ok();
}

/// The TUI reads `[keys]`: the status bar and the help show the configured keys, and the
/// configured help key opens it. `regatta demo` opens the demo although a config exists.
#[test]
fn configured_keys_show_in_the_status_bar_and_the_help() {
    use support::tmux::Pane;
    let pane = Pane::start_with("keys", &["demo"], &[], |root| {
        let dir = root.join("config/regatta");
        std::fs::create_dir_all(&dir).expect("mkdir config/regatta");
        std::fs::write(
            dir.join("config.toml"),
            "[registries.elsewhere]\nurl = \"127.0.0.1:9\"\n\n[keys]\ntoggle_help = \"F1\"\nmove_down = [\"n\", \"Down\"]\n",
        )
        .expect("write config.toml");
    });
    pane.wait_for_crumbs("regatta › demo");
    // Waits for every text checked: a capture may catch a frame half drawn.
    pane.wait_until("the configured keys in the status bar", |screen| {
        let footer = screen.lines().last().unwrap_or("");
        if screen.contains("library/redis")
            && footer.contains("n/k move")
            && footer.contains("f1 help")
        {
            Ok(())
        } else {
            Err(format!("the last line is {footer:?}"))
        }
    });
    // F1 opens the help (`?` no longer does: the keymap's unit tests hold that).
    pane.keys(&["F1"]);
    // The help's line for an action: its keys, then its name.
    let line = |help: &str, name: &str| -> Result<String, String> {
        help.lines()
            .find(|l| l.split_whitespace().any(|w| w == name))
            .map(str::to_string)
            .ok_or_else(|| format!("no {name} line in the help"))
    };
    let has = |help: &str, name: &str, keys: &str| -> Result<(), String> {
        let line = line(help, name)?;
        if line.contains(keys) {
            Ok(())
        } else {
            Err(format!("no {keys:?} in {line:?}"))
        }
    };
    pane.wait_until("the help with n for move_down", |help| {
        if !help.contains("keys (dimmed") {
            return Err("no help".to_string());
        }
        has(help, "move_down", " n ↓ ")
    });
    // The help is longer than the pane: scroll it (the help keeps its own keys) to its end.
    pane.keys(&["Down"; 20]);
    // A line is drawn left to right: with the name there, the keys before it are drawn.
    let help = pane.wait_until("toggle_help's line", |help| has(help, "toggle_help", "f1"));
    let toggle = line(&help, "toggle_help").expect("present");
    assert!(!toggle.contains('?'), "{help}");
    pane.keys(&["Escape"]);
    pane.wait_for_no_text("keys (dimmed");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read a dir") {
        let entry = entry.expect("an entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("a type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy a file");
        }
    }
}

/// `rm` (and `tags`, `inspect`) on the layout of one repository inside a root of layouts names
/// it as the TUI names it when opened on that root (`acme/api`, not `api`), and prices the
/// deletion against the whole root as the TUI does; a layout whose directory holds other
/// things is named after its directory.
#[test]
fn a_layout_inside_a_root_of_layouts_is_named_as_the_tui_names_it() {
    let truth = demo_truth();
    let sandbox = Sandbox::new();
    let root = sandbox.root().join("layouts");
    copy_dir(&demo_dir(), &root);
    // The TUI's names for the root's repositories (`regatta layouts` lists the same).
    let run = sandbox.run(&["ls", "layouts", "--json"]);
    assert!(run.ok().json_strings().contains(&"acme/api".to_string()));

    let api = &truth["acme/api"];
    // The same numbers as the root opened whole (what the TUI's delete dialog shows).
    let whole = sandbox
        .run(&["du", "layouts", "--free", "acme/api:latest", "--json"])
        .ok()
        .json();
    let absolute = root.join("acme/api");
    for path in [
        "layouts/acme/api",
        "./layouts/acme/api",
        absolute.to_str().expect("UTF-8"),
    ] {
        let run = sandbox.run(&["rm", &format!("{path}:latest"), "--json"]);
        let plan = run.ok().json();
        let d = run.describe();
        assert_eq!(plan["deletions"][0]["repository"], "acme/api", "{d}");
        assert_eq!(
            plan["deletions"][0]["digest"],
            api["latest"].as_str(),
            "{d}"
        );
        assert_eq!(plan["bytes_freed"], whole["bytes_freed"], "{d}");
        let run = sandbox.run(&["tags", path, "--json"]);
        let tags: Vec<String> = api.keys().cloned().collect();
        assert_eq!(run.ok().json_strings(), tags);
    }

    // A layout beside something that is not a layout: named after its own directory.
    let lone = sandbox.root().join("images");
    copy_dir(&demo_dir().join("acme/api"), &lone.join("api"));
    sandbox.write_file("images/notes/readme.txt", "not a layout");
    let run = sandbox.run(&["rm", "images/api:latest", "--json"]);
    let plan = run.ok().json();
    assert_eq!(
        plan["deletions"][0]["repository"],
        "api",
        "{}",
        run.describe()
    );
}

/// On a terminal, a scan draws a progress bar on stderr: tags resolved of tags listed (the
/// demo's tag count, from its layouts), the rate and the time left; with `--json`, none.
#[test]
fn a_terminal_gets_a_progress_bar_with_counts_rate_and_eta_but_not_with_json() {
    use support::tmux::Pane;
    let all_tags: usize = demo_truth().values().map(BTreeMap::len).sum();
    let pane = Pane::start("progress", &["du", "demo"]);
    // The bar is drawn at most a few times a second and cleared at the end, so which counts
    // show depends on speed: every drawn "resolved/listed tags" must be within the demo's
    // tags, and at least one must be drawn.
    let out = pane.wait_for_output(0, b"EXIT=");
    let out = String::from_utf8_lossy(&out);
    for part in ["scanning [", " tags/s", "ETA "] {
        assert!(out.contains(part), "{part:?} missing from {out:?}");
    }
    let counts = regex::Regex::new(r"(\d+)/(\d+) tags").expect("pattern");
    let mut drawn = 0;
    for c in counts.captures_iter(&out) {
        let (done, listed): (usize, usize) = (c[1].parse().expect("n"), c[2].parse().expect("n"));
        assert!(
            done <= listed && listed <= all_tags,
            "{done}/{listed} of {all_tags} tags"
        );
        drawn += 1;
    }
    assert!(drawn > 0, "no tag count drawn in {out:?}");
    let exit = pane.wait_for_exit();
    assert_eq!(exit.status, 0);

    let pane = Pane::start("progress-json", &["du", "demo", "--json"]);
    let out = pane.wait_for_output(0, b"EXIT=");
    let out = String::from_utf8_lossy(&out);
    assert!(out.contains("\"physical_bytes\""), "{out:?}");
    assert!(!out.contains("scanning"), "{out:?}");
}
