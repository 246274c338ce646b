//! The TUI's size hints in a real terminal against a real registry: an image of two layers
//! made by GNU tar over files written here, the second rewriting a binary and a config file
//! of the first and whiting out another (an empty `.wh.` file, as a builder writes one).
//! `w` on the image's layers shows the hints: the wasted bytes and the efficiency on screen
//! are the ones `regatta hints --json` prints for the same image, and the ones the test works
//! out from what GNU tar lists of its own layers (dive's measure: a path met in two layers
//! wastes the sum of its sizes). Leaving the view while a layer's download is on its way
//! cancels the download.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use regatta::present::layers::percent;
use regatta::present::size_exact;
use support::cli::Sandbox;
use support::fault_proxy::{Fault, FaultProxy, Rule};
use support::layers::{Blob, OCI_GZIP, TarLine, bytes, gnu_tar, push_image, tar_tv};
use support::registry::{Logged, RegistryOptions, TestRegistry};
use support::tmux::{Pane, shows_all};

/// Writes `files` (path, seed, length) under a new directory and tars `app` with GNU tar.
fn tarred(files: &[(&str, u8, usize)]) -> Blob {
    let dir = tempfile::tempdir().expect("temp dir");
    for (path, seed, len) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(&path, bytes(*seed, *len)).expect("write");
    }
    Blob {
        media_type: OCI_GZIP,
        bytes: gnu_tar(dir.path(), &["-cz", "app"]),
    }
}

/// Dive's wasted bytes and score from `tar -tv` of each layer: every member no other member
/// of its layer lies under counts its size (a `.wh.` whiteout of a file counts 0); a path
/// met in two or more layers wastes the sum of its sizes; the score is the sum of each
/// path's smallest size over the sum of all sizes.
fn dive_truth(layers: &[Vec<TarLine>]) -> (u64, f64) {
    let mut sizes: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for members in layers {
        let parents: BTreeSet<&str> = members
            .iter()
            .filter_map(|m| m.path.rsplit_once('/').map(|(p, _)| p))
            .collect();
        for m in members {
            if parents.contains(m.path.as_str()) {
                continue;
            }
            let (dir, name) = m.path.rsplit_once('/').unwrap_or(("", &m.path));
            let (path, size) = match name.strip_prefix(".wh.") {
                Some(removed) => (format!("{dir}/{removed}"), 0),
                None => (m.path.clone(), m.size.parse().expect("a size")),
            };
            sizes.entry(path).or_default().push(size);
        }
    }
    let wasted = sizes.values().filter(|s| s.len() > 1).flatten().sum();
    let all: u64 = sizes.values().flatten().sum();
    let min: u64 = sizes
        .values()
        .map(|s| *s.iter().min().expect("a size"))
        .sum();
    (wasted, min as f64 / all as f64)
}

#[test]
fn hints_on_screen_equal_the_cli_and_the_tarballs() {
    let registry = TestRegistry::start_with(RegistryOptions {
        access_log: true,
        ..RegistryOptions::default()
    });
    let lower = tarred(&[
        ("app/bin/tool", 1, 40_000),
        ("app/etc/app.conf", 2, 300),
        ("app/share/README", 3, 1_500),
    ]);
    let upper = tarred(&[
        ("app/bin/tool", 4, 45_000),
        ("app/etc/app.conf", 5, 320),
        ("app/share/.wh.README", 0, 0),
        ("app/plugins/extra.so", 6, 3_000),
    ]);
    let layers = vec![lower.clone(), upper.clone()];
    support::block_on(push_image(&registry.client(), "hints/demo", "v1", &layers));

    let (wasted, efficiency) = dive_truth(&[tar_tv(&lower.bytes), tar_tv(&upper.bytes)]);
    // The tool and the config written twice, README deleted (its whiteout counts 0).
    assert_eq!(wasted, 40_000 + 45_000 + 300 + 320 + 1_500);

    let reference = format!("{}/hints/demo:v1", registry.addr());
    let sandbox = Sandbox::new();
    let run = sandbox.run(&["hints", &reference, "--json"]);
    run.ok();
    let cli = run.json();
    assert_eq!(cli["wasted_bytes"], wasted);
    let cli_efficiency = cli["efficiency"].as_f64().expect("a score");
    assert!(
        (cli_efficiency - efficiency).abs() < 1e-9,
        "{cli_efficiency}"
    );

    let addr = registry.addr();
    let pane = Pane::start("hints", &[&addr]);
    pane.wait_for_text("hints/demo");
    pane.keys(&["Enter"]);
    pane.wait_for_text("v1");
    pane.keys(&["Enter"]);
    pane.wait_for_text("CREATED BY");
    pane.keys(&["w"]);
    // Every line checked on one screen (a capture can catch a frame half drawn).
    let efficiency = format!("{} (as dive scores it)", percent(cli_efficiency));
    let wasted_bytes = format!("({wasted} bytes)");
    pane.wait_until("the hints", |s| {
        for (label, value) in [
            ("Efficiency:", efficiency.as_str()),
            ("Wasted:", &size_exact(wasted)),
        ] {
            let shown = s
                .lines()
                .find_map(|l| l.trim_start().strip_prefix(label))
                .map(str::trim);
            if shown != Some(value) {
                return Err(format!("{label} shows {shown:?}, not {value:?}"));
            }
        }
        shows_all(s, &[&wasted_bytes])?;
        // The paths written in more than one layer, largest first, as the CLI lists them.
        let at = |end: &str| s.lines().position(|l| l.trim_end().ends_with(end));
        match (
            at("2 layers  app/bin/tool"),
            at("2 layers  app/share/README"),
        ) {
            (Some(tool), Some(readme)) if tool < readme => Ok(()),
            (tool, readme) => Err(format!(
                "the tool's line is at {tool:?}, README's at {readme:?}"
            )),
        }
    });

    // Back to the layers, and the hints open again from the listing cache: no layer is
    // read again, as the registry's access log shows.
    pane.keys(&["Escape"]);
    pane.wait_for_text("CREATED BY");
    let before = registry.access_log().len();
    pane.keys(&["w"]);
    pane.wait_for_all(&["Efficiency:", "2 layers  app/share/README", &wasted_bytes]);
    let digests = [lower.digest().to_string(), upper.digest().to_string()];
    let gets = registry
        .access_log_since(before)
        .iter()
        .filter(|e| e.kind() == Logged::BlobGet && digests.iter().any(|d| e.target.contains(d)))
        .count();
    assert_eq!(gets, 0, "layer GETs on the second open");
}

/// A download on its way is cancelled by leaving the view: the proxy in front of the
/// registry never answers the layer's GET (it stalls), and sees the client close that
/// connection when Escape is pressed.
#[test]
fn leaving_the_hints_cancels_the_download() {
    let registry = TestRegistry::start();
    let only = tarred(&[("app/data.bin", 3, 50_000)]);
    support::block_on(push_image(
        &registry.client(),
        "hints/slow",
        "v1",
        std::slice::from_ref(&only),
    ));
    let proxy = FaultProxy::start(&registry.addr());
    let blob = format!("/v2/hints/slow/blobs/{}", only.digest());
    proxy.add(Rule::first(1, "GET", &blob, Fault::Stall));
    let stalled = |proxy: &FaultProxy| proxy.first_seen("GET", &blob);

    let addr = proxy.addr();
    let pane = Pane::start("hints-cancel", &[&addr]);
    pane.wait_for_text("hints/slow");
    pane.keys(&["Enter"]);
    pane.wait_for_text("v1");
    pane.keys(&["Enter"]);
    pane.wait_for_text("CREATED BY");
    pane.keys(&["w"]);
    pane.wait_for("the layer's GET at the proxy", |s| {
        s.contains("listing the layers: read") && stalled(&proxy).is_some()
    });
    let seen = stalled(&proxy).expect("present");
    assert!(!seen.abandoned && seen.status.is_none(), "{seen:?}");

    pane.keys(&["Escape"]);
    pane.wait_for("the download to be cancelled", |s| {
        s.contains("CREATED BY") && stalled(&proxy).is_some_and(|r| r.abandoned)
    });
    assert_eq!(proxy.count("GET", &blob), 1);

    // Again: the second GET passes and the hints are shown.
    pane.keys(&["w"]);
    pane.wait_for_all(&["Efficiency:", "Wasted:       0 B", "Largest directories:"]);
    assert_eq!(proxy.count("GET", &blob), 2);
}
