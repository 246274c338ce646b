//! The TUI's diff in a real terminal against a real registry: two images that share a base
//! layer made by GNU tar over files written here; v1 adds a log file, v2 rewrites a binary
//! and adds a plugin (GNU tar again) and whites out a file (the project's fixture writer).
//! `b` on v1 and `=` on v2 show the diff: the files added, removed and changed are the ones
//! the test works out from its own tarballs, and the counts are those `regatta diff --json`
//! prints for the same two images. The same from the platforms view of a multi-platform
//! index: `b` on one platform, `=` on the other.

mod support;

use std::collections::BTreeSet;

use regatta::registry::manifest::{OCI_INDEX, OCI_MANIFEST};
use regatta::registry::{Digest, ManifestRef, RepoName, Tag};
use support::cli::Sandbox;
use support::layers::{Blob, OCI_GZIP, bytes, gnu_tar, gzip, layer, merged_naively, push_image};
use support::registry::TestRegistry;
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

/// The screen line of the diff naming `path` (file lines end with it).
fn line_of<'a>(screen: &'a str, path: &str) -> Option<&'a str> {
    screen
        .lines()
        .find(|l| l.trim_end().ends_with(&format!(" {path}")))
}

/// What the diff must show of the file sets the test worked out: the counts line, and each
/// path on a line marked `+`, `-` or `~`.
struct Expected {
    added: BTreeSet<String>,
    removed: BTreeSet<String>,
    changed: BTreeSet<String>,
}

impl Expected {
    fn files_line(&self) -> String {
        format!(
            "Files: {} added, {} removed, {} changed",
            self.added.len(),
            self.removed.len(),
            self.changed.len()
        )
    }

    /// Whether every path is on a line with its mark; if not, the first one that is not.
    fn marks(&self, screen: &str) -> Result<(), String> {
        for (set, mark) in [
            (&self.added, '+'),
            (&self.removed, '-'),
            (&self.changed, '~'),
        ] {
            for path in set {
                let row = line_of(screen, path).ok_or_else(|| format!("no line for {path}"))?;
                if !row.trim_start().starts_with(mark) {
                    return Err(format!("{path} is not marked {mark}: {row:?}"));
                }
            }
        }
        Ok(())
    }
}

#[test]
fn the_diff_of_two_tags_on_a_real_registry() {
    let registry = TestRegistry::start();
    let base = tarred(&[
        ("app/bin/tool", 1, 20_000),
        ("app/etc/motd", 2, 8),
        ("app/share/README", 3, 1_500),
    ]);
    let only_v1 = tarred(&[("app/var/old.log", 4, 700)]);
    let changes = tarred(&[
        ("app/bin/tool", 5, 26_000),
        ("app/plugins/extra.so", 6, 3_000),
    ]);
    let whiteout = Blob {
        media_type: OCI_GZIP,
        bytes: gzip(&layer(&[("app/etc/.wh.motd", Some(Vec::new()))])),
    };
    let v1 = vec![base.clone(), only_v1.clone()];
    let v2 = vec![base.clone(), changes.clone(), whiteout.clone()];
    let client = registry.client();
    support::block_on(push_image(&client, "diff/demo", "v1", &v1));
    support::block_on(push_image(&client, "diff/demo", "v2", &v2));

    // The truth, from the tarballs: the merged filesystems worked out naively, compared
    // by path and size (every changed file here changes its size).
    let before = merged_naively(&v1.iter().map(Blob::tar).collect::<Vec<_>>());
    let after = merged_naively(&v2.iter().map(Blob::tar).collect::<Vec<_>>());
    let paths = |m: &std::collections::BTreeMap<String, (usize, u64, bool)>| {
        m.keys().cloned().collect::<BTreeSet<_>>()
    };
    let added: BTreeSet<String> = paths(&after).difference(&paths(&before)).cloned().collect();
    let removed: BTreeSet<String> = paths(&before).difference(&paths(&after)).cloned().collect();
    let changed: BTreeSet<String> = paths(&before)
        .intersection(&paths(&after))
        .filter(|p| before[*p].1 != after[*p].1)
        .cloned()
        .collect();
    assert!(added.contains("app/plugins/extra.so"), "{added:?}");
    assert!(removed.contains("app/etc/motd") && removed.contains("app/var/old.log"));
    assert_eq!(changed, BTreeSet::from(["app/bin/tool".to_string()]));

    // What `regatta diff --json` says of the same two images.
    let sandbox = Sandbox::new();
    let r1 = format!("{}/diff/demo:v1", registry.addr());
    let r2 = format!("{}/diff/demo:v2", registry.addr());
    let run = sandbox.run(&["diff", &r1, &r2, "--json"]);
    run.ok();
    let d = run.json();
    let of = |kind: &str| -> BTreeSet<String> {
        d["files"]
            .as_array()
            .expect("files")
            .iter()
            .filter(|f| f["change"] == kind)
            .map(|f| f["path"].as_str().expect("path").to_string())
            .collect()
    };
    assert_eq!(of("added"), added);
    assert_eq!(of("removed"), removed);
    assert_eq!(of("changed"), changed);

    // The TUI: b on v1 (the list is sorted by name), = on v2.
    let addr = registry.addr();
    let pane = Pane::start_sized("diff", &[&addr], 120, 50);
    pane.wait_for_text("diff/demo");
    pane.keys(&["Enter"]);
    pane.wait_for_text("v2");
    pane.keys(&["b"]);
    pane.wait_for_text("diff base: diff/demo:v1");
    pane.keys(&["j", "="]);
    let expected = Expected {
        added,
        removed,
        changed,
    };
    // The layers: one shared, one only in v1, two only in v2, with their bytes as the
    // CLI counts them.
    let layers = &d["layers"];
    assert_eq!(layers["shared"][0]["digest"], base.digest().to_string());
    let layers_line = format!(
        "Layers: 1 shared ({}), 1 only before ({}), 2 only after ({})",
        regatta::present::size(layers["shared_bytes"].as_u64().expect("present")),
        regatta::present::size(layers["only_before_bytes"].as_u64().expect("present")),
        regatta::present::size(layers["only_after_bytes"].as_u64().expect("present")),
    );
    assert_eq!(
        layers["only_after_bytes"].as_u64().expect("present"),
        (changes.bytes.len() + whiteout.bytes.len()) as u64
    );
    // The size delta of the rewritten binary, as the CLI computes it.
    let tool = d["files"]
        .as_array()
        .expect("present")
        .iter()
        .find(|f| f["path"] == "app/bin/tool")
        .expect("present");
    assert_eq!(tool["size_delta"], 6_000);
    let delta = format!("+{}", regatta::present::size(6_000));
    // The whole page, not a screen caught half drawn: every line checked is there at once.
    pane.wait_until("the diff", |s| {
        shows_all(s, &["diff v1..v2", &expected.files_line(), &layers_line])?;
        expected.marks(s)?;
        match line_of(s, "app/bin/tool") {
            Some(row) if row.contains(&delta) => Ok(()),
            row => Err(format!("no {delta} in the tool's row {row:?}")),
        }
    });

    // Leaving the diff goes back to the tags.
    pane.keys(&["Escape"]);
    pane.wait_for_no_text("Files: ");
}

/// The diff of two platforms of one index: `b` on linux/amd64, `=` on linux/arm64, from the
/// platforms view. The files are those the test works out from its tarballs, the counts
/// those `regatta diff --json` prints for the two platform manifests.
#[test]
fn the_diff_of_two_platforms_of_an_index() {
    let registry = TestRegistry::start();
    let base = tarred(&[
        ("app/etc/os-release", 1, 300),
        ("app/lib/libc.so", 2, 9_000),
    ]);
    let amd64 = tarred(&[("app/bin/tool", 3, 12_000), ("app/lib/x86.so", 4, 500)]);
    let arm64 = tarred(&[("app/bin/tool", 5, 14_000), ("app/lib/aarch64.so", 6, 700)]);
    let client = registry.client();
    let d_amd64 = support::block_on(push_image(
        &client,
        "plat/demo",
        "amd64",
        &[base.clone(), amd64.clone()],
    ));
    let d_arm64 = support::block_on(push_image(
        &client,
        "plat/demo",
        "arm64",
        &[base.clone(), arm64.clone()],
    ));
    let manifest_size = |digest: &Digest| {
        let repo = RepoName::parse("plat/demo").expect("repo");
        support::block_on(client.get_manifest(&repo, &ManifestRef::Digest(digest.clone())))
            .expect("the platform manifest")
            .bytes
            .len()
    };
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": d_amd64.to_string(),
             "size": manifest_size(&d_amd64), "platform": {"architecture": "amd64", "os": "linux"}},
            {"mediaType": OCI_MANIFEST, "digest": d_arm64.to_string(),
             "size": manifest_size(&d_arm64), "platform": {"architecture": "arm64", "os": "linux"}},
        ],
    });
    support::block_on(client.put_manifest(
        &RepoName::parse("plat/demo").expect("repo"),
        &ManifestRef::Tag(Tag::parse("multi").expect("tag")),
        OCI_INDEX,
        serde_json::to_vec(&index).expect("json"),
    ))
    .expect("put the index");

    let before = merged_naively(&[base.tar(), amd64.tar()]);
    let after = merged_naively(&[base.tar(), arm64.tar()]);
    let expected = Expected {
        added: after
            .keys()
            .filter(|p| !before.contains_key(*p))
            .cloned()
            .collect(),
        removed: before
            .keys()
            .filter(|p| !after.contains_key(*p))
            .cloned()
            .collect(),
        changed: before
            .keys()
            .filter(|p| after.get(*p).is_some_and(|a| a.1 != before[*p].1))
            .cloned()
            .collect(),
    };
    assert_eq!(expected.changed.len(), 1, "{:?}", expected.changed);

    let sandbox = Sandbox::new();
    let run = sandbox.run(&[
        "diff",
        &format!("{}/plat/demo@{d_amd64}", registry.addr()),
        &format!("{}/plat/demo@{d_arm64}", registry.addr()),
        "--json",
    ]);
    run.ok();
    let d = run.json();
    let count = |kind: &str| {
        d["files"]
            .as_array()
            .expect("files")
            .iter()
            .filter(|f| f["change"] == kind)
            .count()
    };
    assert_eq!(
        (count("added"), count("removed"), count("changed")),
        (
            expected.added.len(),
            expected.removed.len(),
            expected.changed.len()
        )
    );

    // The TUI: the index's platforms, b on amd64, = on arm64.
    let addr = registry.addr();
    let pane = Pane::start_sized("pdiff", &[&addr], 120, 50);
    pane.wait_for_text("plat/demo");
    pane.keys(&["Enter"]);
    pane.wait_for_text("multi");
    pane.keys(&["j", "j", "Enter"]);
    pane.wait_for_text("linux/arm64");
    pane.keys(&["b"]);
    pane.wait_for_text("diff base: plat/demo:multi [linux/amd64]");
    pane.keys(&["j", "="]);
    // One layer shared (the base), one only in each platform.
    let layers = &d["layers"];
    assert_eq!(layers["shared"][0]["digest"], base.digest().to_string());
    let layers_line = format!(
        "Layers: 1 shared ({}), 1 only before ({}), 1 only after ({})",
        regatta::present::size(base.bytes.len() as u64),
        regatta::present::size(amd64.bytes.len() as u64),
        regatta::present::size(arm64.bytes.len() as u64),
    );
    pane.wait_until("the platforms' diff", |s| {
        shows_all(
            s,
            &[
                "multi [linux/amd64]..multi [linux/arm64]",
                &expected.files_line(),
                &layers_line,
            ],
        )?;
        expected.marks(s)
    });
    pane.keys(&["Escape"]);
    pane.wait_for_text("linux/amd64");
}
