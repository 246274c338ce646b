//! The TUI's repository-wide size hints in a real terminal against a real registry: four
//! tags made of GNU tar layers of files written here, on one base layer; two share an
//! application layer that rewrites a file of the base, one carries a copy of a file, one is
//! an alias of another (one image, counted once). `w` on the drift view (`B` on the tag
//! list) shows the repository's wasted and duplicate bytes: they equal those
//! `regatta hints REPO --repo --json` prints and those worked out here from the tarballs
//! (`tar -tv` of each layer for dive's wasted bytes, the files' contents for duplicates),
//! and every line the CLI prints is on screen. The registry's access log shows each layer
//! blob fetched once per run, though the tags are worked on at the same time and share
//! layers. Leaving the drift view while a layer's download is on its way cancels it.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use regatta::present::size_exact;
use support::cli::Sandbox;
use support::fault_proxy::{Fault, FaultProxy, Rule};
use support::layers::{Blob, OCI_GZIP, TarLine, bytes, gnu_tar, push_image, tar_tv};
use support::registry::{AccessLogEntry, Logged, RegistryOptions, TestRegistry};
use support::tmux::Pane;

/// B on the tag list, again until the scan has read every tag; returns when the drift shows.
fn open_drift(pane: &Pane) {
    loop {
        pane.keys(&["B"]);
        let note = "has not read every tag";
        let s = pane.wait_for("the drift or the scan's note", |s| {
            (s.contains("Base images:") && !s.contains(note))
                || (s.contains(note) && !s.contains("Base images:"))
        });
        if s.contains("Base images:") {
            return;
        }
    }
}

/// A file of a layer: path, seed and length of its bytes.
type File = (&'static str, u8, usize);

/// Writes `files` under a new directory and tars `app` with GNU tar (gzip).
fn tarred(files: &[File]) -> Blob {
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

/// Dive's wasted bytes from `tar -tv` of each layer: every member no other member of its
/// layer lies under counts its size; a path met in two or more layers wastes the sum of its
/// sizes.
fn wasted_truth(layers: &[Vec<TarLine>]) -> u64 {
    let mut sizes: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for members in layers {
        let parents: BTreeSet<&str> = members
            .iter()
            .filter_map(|m| m.path.rsplit_once('/').map(|(p, _)| p))
            .collect();
        for m in members
            .iter()
            .filter(|m| !parents.contains(m.path.as_str()))
        {
            let size = m.size.parse().expect("a size");
            sizes.entry(m.path.clone()).or_default().push(size);
        }
    }
    sizes.values().filter(|s| s.len() > 1).flatten().sum()
}

/// The bytes of the extra copies of files with the same content, over all the layers.
fn duplicate_truth(layers: &[&[File]]) -> u64 {
    let mut copies: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
    for (_, seed, len) in layers.iter().copied().flatten() {
        *copies.entry(bytes(*seed, *len)).or_default() += 1;
    }
    copies
        .iter()
        .map(|(content, n)| content.len() as u64 * (n - 1))
        .sum()
}

fn layer_gets(log: &[AccessLogEntry], digest: &str) -> usize {
    log.iter()
        .filter(|e| e.kind() == Logged::BlobGet && e.target.contains(digest))
        .count()
}

#[test]
fn repository_hints_on_screen_equal_the_cli_and_the_tarballs() {
    let base: &[File] = &[
        ("app/lib/libbase.so", 1, 60_000),
        ("app/etc/base.conf", 2, 500),
    ];
    // Rewrites the library of the base (both copies are wasted).
    let fix: &[File] = &[("app/lib/libbase.so", 3, 61_000), ("app/bin/v1", 4, 8_000)];
    // A binary twice, and the base's config rewritten.
    let two: &[File] = &[
        ("app/bin/v2", 5, 9_000),
        ("app/bin/v2-copy", 5, 9_000),
        ("app/etc/base.conf", 6, 520),
    ];
    // The base's config content again, under another name.
    let extra: &[File] = &[("app/share/data", 2, 500)];
    let images: [(&str, Vec<&[File]>); 4] = [
        ("v1", vec![base, fix]),
        ("v2", vec![base, two]),
        ("v2-alias", vec![base, two]),
        ("v3", vec![base, fix, extra]),
    ];
    let mut blobs: BTreeMap<&[File], Blob> = BTreeMap::new();
    let registry = TestRegistry::start_with(RegistryOptions {
        access_log: true,
        ..RegistryOptions::default()
    });
    let mut wasted = 0;
    let mut duplicates = 0;
    for (tag, files) in &images {
        // The same layer is the same blob in every tag (GNU tar is run once per layer).
        let layers: Vec<Blob> = files
            .iter()
            .map(|f| blobs.entry(f).or_insert_with(|| tarred(f)).clone())
            .collect();
        support::block_on(push_image(&registry.client(), "waste/repo", tag, &layers));
        if *tag != "v2-alias" {
            let listed: Vec<Vec<TarLine>> = layers.iter().map(|b| tar_tv(&b.bytes)).collect();
            wasted += wasted_truth(&listed);
            duplicates += duplicate_truth(files);
        }
    }
    // The library twice in v1 and v3, the config twice in v2; the binary copy in v2, the
    // config's content under two names in v3.
    assert_eq!(wasted, 2 * (60_000 + 61_000) + (500 + 520));
    assert_eq!(duplicates, 9_000 + 500);
    let layer_digests: Vec<String> = blobs.values().map(|b| b.digest().to_string()).collect();
    assert_eq!(layer_digests.len(), 4);

    // The TUI first, with a cache of its own.
    let addr = registry.addr();
    let pane = Pane::start_sized("repo-hints", &[&addr], 200, 50);
    pane.wait_for_text("waste/repo");
    pane.keys(&["Enter"]);
    pane.wait_for_text("v2-alias");
    // The drift waits for the scan to have read every tag; until then B says so.
    open_drift(&pane);
    let from = registry.access_log().len();
    pane.keys(&["w"]);
    let wasted_line = format!(
        "Wasted in waste/repo (distinct images): {}",
        size_exact(wasted)
    );
    let duplicates_line = format!("Duplicates in waste/repo: {}", size_exact(duplicates));
    pane.wait_for_all(&[wasted_line.as_str(), duplicates_line.as_str()]);
    let tui_log = registry.access_log_since(from);
    for digest in &layer_digests {
        assert_eq!(layer_gets(&tui_log, digest), 1, "{digest} in the TUI's run");
    }

    // The CLI, with a cache of its own: the same sums, each layer fetched once.
    let sandbox = Sandbox::new();
    let repo = format!("{addr}/waste/repo");
    let from = registry.access_log().len();
    let run = sandbox.run(&["hints", &repo, "--repo", "--json"]);
    run.ok();
    let cli_log = registry.access_log_since(from);
    for digest in &layer_digests {
        assert_eq!(layer_gets(&cli_log, digest), 1, "{digest} in the CLI's run");
    }
    let report = run.json();
    assert_eq!(report["wasted_bytes"], wasted);
    assert_eq!(report["duplicate_bytes"], duplicates);
    let tags: Vec<&str> = report["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .map(|t| t["tag"].as_str().expect("a tag"))
        .collect();
    assert_eq!(tags, ["v1", "v2", "v2-alias", "v3"], "sorted by tag");

    // Every line of the CLI's text is on the screen (from its cache now: no layer read).
    let text = sandbox.run(&["hints", &repo, "--repo"]);
    text.ok();
    let cli: Vec<&str> = text
        .stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert!(cli.len() > 10, "{}", text.stdout);
    // Checked on one screen: a capture may catch the frame half drawn.
    pane.wait_until("every line the CLI prints", |screen| {
        let rows: Vec<&str> = screen.lines().map(str::trim).collect();
        match cli.iter().find(|l| !rows.contains(&l.trim())) {
            Some(line) => Err(format!("{line:?} is not on screen")),
            None => Ok(()),
        }
    });
}

/// A download on its way is cancelled by leaving the drift view: the proxy in front of the
/// registry never answers the layer's GET (it stalls), and sees the client close that
/// connection when Escape is pressed. Asked again, the hints are computed.
#[test]
fn leaving_the_drift_cancels_the_repository_hints() {
    let registry = TestRegistry::start();
    let only: &[File] = &[("app/data.bin", 3, 50_000)];
    let blob = tarred(only);
    // Two images on the one layer: both ask for it at once.
    let other = tarred(&[("app/other.bin", 4, 1_000)]);
    let images = [
        ("v1", vec![blob.clone()]),
        ("v2", vec![blob.clone(), other]),
    ];
    for (tag, layers) in &images {
        support::block_on(push_image(&registry.client(), "waste/slow", tag, layers));
    }
    let proxy = FaultProxy::start(&registry.addr());
    let path = format!("/v2/waste/slow/blobs/{}", blob.digest());
    proxy.add(Rule::first(1, "GET", &path, Fault::Stall));
    let stalled = |proxy: &FaultProxy| proxy.first_seen("GET", &path);

    let addr = proxy.addr();
    let pane = Pane::start_sized("repo-hints-cancel", &[&addr], 160, 40);
    pane.wait_for_text("waste/slow");
    pane.keys(&["Enter"]);
    pane.wait_for_text("v2");
    open_drift(&pane);
    pane.keys(&["w"]);
    pane.wait_for("the layer's GET at the proxy", |s| {
        s.contains("the repository's size hints:") && stalled(&proxy).is_some()
    });
    let seen = stalled(&proxy).expect("present");
    assert!(!seen.abandoned && seen.status.is_none(), "{seen:?}");

    pane.keys(&["Escape"]);
    pane.wait_for("the download to be cancelled", |s| {
        !s.contains("Base images:") && stalled(&proxy).is_some_and(|r| r.abandoned)
    });
    // The layer both images share: one GET, though both asked for it.
    assert_eq!(proxy.count("GET", &path), 1);

    // Again: the second GET passes and the sums are shown.
    open_drift(&pane);
    pane.keys(&["w"]);
    pane.wait_for_all(&[
        "Wasted in waste/slow (distinct images): 0 B",
        "Duplicates in waste/slow",
    ]);
    assert_eq!(proxy.count("GET", &path), 2);
}
