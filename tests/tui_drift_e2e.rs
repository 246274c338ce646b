//! The TUI's base-image drift in a real terminal against a real registry: application tags
//! built on two bases (GNU tar layers of files written here), two on the old base and two
//! on the new one, and one created after the first move on the old base. `B` on the tag
//! list shows the drift: each tag's row and the tags left on the old base are those
//! `regatta hints --repo` prints for the same repository, and the tags the test built on
//! the old base are the ones it names. The drift is worked out from what the scan read: the
//! registry's access log shows no layer GET after the tag list was opened.

mod support;

use std::path::Path;

use support::cli::Sandbox;
use support::fixtures::FixtureBuilder;
use support::image::{Format, ImageSpec, Layer};
use support::layers::{bytes, gnu_tar};
use support::registry::{Logged, RegistryOptions, TestRegistry};
use support::tmux::Pane;

/// A layer made by GNU tar of one file of `len` bytes written here.
fn tar_layer(name: &str, seed: u8, len: usize) -> Layer {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("base").join(name);
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
    std::fs::write(&path, bytes(seed, len)).expect("write");
    Layer::from_tar(gnu_tar(Path::new(dir.path()), &["-c", "base"]))
}

#[test]
fn drift_on_screen_equals_the_cli_and_the_bases_the_test_built() {
    let distro = tar_layer("distro", 1, 30_000);
    let old_update = tar_layer("update-old", 2, 4_000);
    let new_update = tar_layer("update-new", 3, 5_000);
    let old = [distro.clone(), old_update];
    let new = [distro, new_update];
    let tags = [
        ("1.0", &old, "2024-01-01T00:00:00Z"),
        ("2.0", &new, "2024-03-01T00:00:00Z"),
        ("1.2", &old, "2024-03-15T00:00:00Z"),
        ("2.1", &new, "2024-04-01T00:00:00Z"),
    ];
    let mut fixture = FixtureBuilder::new();
    let mut layer_digests = Vec::new();
    for (tag, base, created) in tags {
        let mut layers = base.to_vec();
        layers.push(Layer::text(&format!("app-{tag}")));
        layer_digests.extend(layers.iter().map(|l| l.digest().to_string()));
        fixture.image(
            "drift/app",
            &[tag],
            ImageSpec::new(Format::Oci, layers).created(created),
        );
    }
    let registry = TestRegistry::start_with(RegistryOptions {
        access_log: true,
        ..RegistryOptions::default()
    });
    fixture.push_blocking(&registry.client());

    // What the CLI prints: the drift section of `hints --repo` (bases inferred).
    let sandbox = Sandbox::new();
    let repo = format!("{}/drift/app", registry.addr());
    let run = sandbox.run(&["hints", &repo, "--repo"]);
    run.ok();
    let cli: Vec<&str> = run
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("Base images:"))
        .collect();
    assert!(cli.len() > 6, "{}", run.stdout);
    // The tags built on the old base, the older one and the one after the move.
    assert!(
        cli.contains(&"On an old base: 2 tags (1.0, 1.2)"),
        "{}",
        run.stdout
    );

    let addr = registry.addr();
    let pane = Pane::start_sized("drift", &[&addr], 200, 40);
    pane.wait_for_text("drift/app");
    pane.keys(&["Enter"]);
    pane.wait_for_text("2.1");
    let from = registry.access_log().len();
    // The drift waits for the scan to have read every tag; until then B says so.
    loop {
        pane.keys(&["B"]);
        let note = "has not read every tag";
        let s = pane.wait_for("the drift or the scan's note", |s| {
            (s.contains("On an old base:") && !s.contains(note))
                || (s.contains(note) && !s.contains("Base images:"))
        });
        if s.contains("On an old base:") {
            break;
        }
    }
    // Every line the CLI prints, on one screen: a capture may catch the frame half drawn.
    pane.wait_until("every line the CLI prints", |screen| {
        let rows: Vec<&str> = screen.lines().map(str::trim).collect();
        match cli
            .iter()
            .skip(1)
            .filter(|l| !l.is_empty())
            .find(|l| !rows.contains(&l.trim()))
        {
            Some(line) => Err(format!("{line:?} is not on screen")),
            None => Ok(()),
        }
    });
    // (The scan may still be reading configs meanwhile: only layers count.)
    let layer_gets = registry
        .access_log_since(from)
        .iter()
        .filter(|e| {
            e.kind() == Logged::BlobGet && layer_digests.iter().any(|d| e.target.contains(d))
        })
        .count();
    assert_eq!(layer_gets, 0, "the drift read no layer");
}
