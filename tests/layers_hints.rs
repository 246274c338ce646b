//! `regatta files --merged` and `regatta hints`: the merged filesystem and the size hints of
//! an image pushed to a real registry, checked against values worked out here from the
//! tarballs the test built (read back with the `tar` crate, an independent reader).

mod support;

use std::collections::BTreeMap;

use support::cli::Sandbox;
use support::layers::{Blob, OCI_GZIP, bytes, entries_of, gzip, layer, merged_naively, push_image};
use support::registry::TestRegistry;

fn layers() -> Vec<Vec<u8>> {
    let blob = bytes(9, 4096);
    let a2 = bytes(2, 1500);
    vec![
        layer(&[
            ("app/", None),
            ("app/a", Some(bytes(1, 1000))),
            ("app/b", Some(bytes(3, 2000))),
            ("tmp/build/", None),
            ("tmp/build/x", Some(bytes(4, 300))),
            ("tmp/build/y", Some(bytes(5, 400))),
            ("var/lib/apt/lists/pkgs", Some(bytes(6, 5000))),
            ("src/.git/objects/o1", Some(bytes(7, 700))),
            ("data/blob1", Some(blob.clone())),
        ]),
        layer(&[
            ("app/a", Some(a2.clone())),
            ("app/.wh.b", Some(Vec::new())),
            ("tmp/.wh.build", Some(Vec::new())),
            ("copy/blob1-again", Some(blob)),
            ("var/cache/apt/archives/x.deb", Some(bytes(8, 800))),
        ]),
        layer(&[
            ("var/cache/.wh..wh..opq", Some(Vec::new())),
            ("app/a", Some(a2)),
            ("new/file", Some(bytes(10, 10))),
        ]),
    ]
}

fn push(registry: &TestRegistry, tag: &str, tars: &[Vec<u8>]) {
    let blobs: Vec<Blob> = tars
        .iter()
        .map(|t| Blob {
            media_type: OCI_GZIP,
            bytes: gzip(t),
        })
        .collect();
    support::block_on(push_image(&registry.client(), "waste/app", tag, &blobs));
}

#[test]
fn merged_filesystem_and_hints_match_the_tarballs() {
    let registry = TestRegistry::start();
    let tars = layers();
    push(&registry, "v2", &tars);
    let reference = format!("{}/waste/app:v2", registry.addr());
    let sandbox = Sandbox::new();

    // The merged filesystem.
    let run = sandbox.run(&["files", &reference, "--merged", "--json"]);
    run.ok();
    let report = run.json();
    let ours: BTreeMap<String, (usize, u64, bool)> = report["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            (
                e["path"].as_str().expect("path").to_string(),
                (
                    e["layer"].as_u64().expect("layer") as usize,
                    e["size"].as_u64().expect("size"),
                    e["kind"] == "dir",
                ),
            )
        })
        .collect();
    let truth = merged_naively(&tars);
    assert_eq!(ours, truth);
    assert!(!ours.contains_key("app/b") && !ours.contains_key("tmp/build/x"));
    assert!(!ours.contains_key("var/cache/apt/archives/x.deb"), "opaque");
    assert_eq!(ours["app/a"].0, 3);

    // The hints. Dive's measure over the layers above, by hand (see layers::hints):
    // leaves app/a 1000+1500+1500, app/b 2000+0 (a deleted file counts 0; its minimum is
    // 0, so it adds nothing to `minimum`), tmp/build
    // 0+300+400 once (a parent in layer 1, so its whiteout is its only leaf), and the
    // single-layer files x 300, y 400, lists 5000, o1 700, blob1 4096, copy 4096, deb 800,
    // new/file 10.
    let wasted = 4000 + 2000;
    let minimum = 1000 + 700 + 300 + 400 + 5000 + 700 + 4096 + 4096 + 800 + 10;
    let all = 4000 + 2000 + 700 + 300 + 400 + 5000 + 700 + 4096 + 4096 + 800 + 10;
    let run = sandbox.run(&["hints", &reference, "--json"]);
    run.ok();
    let h = run.json();
    assert_eq!(h["wasted_bytes"], wasted);
    let score = h["efficiency"].as_f64().expect("score");
    assert!(
        (score - f64::from(minimum) / f64::from(all)).abs() < 1e-9,
        "{score}"
    );
    // The files a container sees, from the naive merge.
    let seen: u64 = truth
        .values()
        .filter(|(_, _, is_dir)| !is_dir)
        .map(|(_, size, _)| size)
        .sum();
    assert_eq!(h["file_bytes"], seen);
    let in_layers: u64 = tars
        .iter()
        .flat_map(|t| entries_of(t))
        .filter(|(_, _, is_dir)| !is_dir)
        .map(|(_, size, _)| size)
        .sum();
    assert_eq!(h["layer_file_bytes"], in_layers);
    // blob1 copied (4096) and app/a written twice with the same bytes (1500).
    assert_eq!(h["duplicate_bytes"], 4096 + 1500);
    let waste: BTreeMap<String, (u64, u64)> = h["known_waste"]
        .as_array()
        .expect("known waste")
        .iter()
        .map(|w| {
            (
                w["kind"].as_str().expect("kind").to_string(),
                (
                    w["files"].as_u64().expect("n"),
                    w["bytes"].as_u64().expect("b"),
                ),
            )
        })
        .collect();
    assert_eq!(
        waste,
        BTreeMap::from([
            ("apt_lists".to_string(), (1, 5000)),
            ("git_dir".to_string(), (1, 700)),
        ]),
        "the apt cache was hidden by the opaque directory"
    );
    assert_eq!(h["largest_files"][0]["bytes"], 5000);
    assert_eq!(h["largest_files"][0]["path"], "var/lib/apt/lists/pkgs");

    let text = sandbox.run(&["hints", &reference]);
    text.ok();
    assert!(
        text.stdout.contains("Wasted:       5.9 KiB (6000 bytes)"),
        "{}",
        text.stdout
    );
}

#[test]
fn repository_hints_sum_distinct_images() {
    let registry = TestRegistry::start();
    let tars = layers();
    push(&registry, "v1", &tars[..1]);
    push(&registry, "v2", &tars);
    push(&registry, "v2-alias", &tars);
    let sandbox = Sandbox::new();
    let run = sandbox.run(&[
        "hints",
        &format!("{}/waste/app", registry.addr()),
        "--repo",
        "--json",
    ]);
    run.ok();
    let r = run.json();
    let tags: Vec<&str> = r["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .map(|t| t["tag"].as_str().expect("tag"))
        .collect();
    assert_eq!(tags, ["v1", "v2", "v2-alias"]);
    assert_eq!(r["tags"][0]["wasted_bytes"], 0);
    assert_eq!(r["tags"][1]["wasted_bytes"], 6000);
    // v2 and its alias are one image: counted once.
    assert_eq!(r["wasted_bytes"], 6000);
    assert_eq!(r["duplicate_bytes"], 4096 + 1500);
}

/// Copies `source` to `root/path` (parents made) and returns its size on disk there.
fn place(root: &std::path::Path, path: &str, source: &std::path::Path) -> u64 {
    let to = root.join(path);
    std::fs::create_dir_all(to.parent().expect("a parent")).expect("mkdir");
    std::fs::copy(source, &to).expect("copy a real file");
    std::fs::metadata(&to).expect("stat").len()
}

#[test]
fn build_toolchains_left_in_an_image_are_known_waste() {
    // Real files of this machine, placed where toolchains live, archived by GNU tar.
    let mut sources: Vec<std::path::PathBuf> = std::fs::read_dir("/usr/bin")
        .expect("/usr/bin")
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_file() && m.len() > 0)
        })
        .collect();
    sources.sort();
    let mut sources = sources.into_iter();
    let mut next = || sources.next().expect("enough files in /usr/bin");
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    let kinds: [(&str, &[&str]); 5] = [
        (
            "gcc_toolchain",
            &[
                "usr/lib/gcc/x86_64-linux-gnu/12/cc1",
                "usr/lib/gcc/x86_64-linux-gnu/12/crtbegin.o",
                "usr/libexec/gcc/x86_64-alpine-linux-musl/13/cc1plus",
                "usr/bin/x86_64-linux-gnu-gcc-12",
                "usr/bin/g++-12",
            ],
        ),
        (
            "go_sdk",
            &[
                "usr/local/go/bin/go",
                "usr/lib/go-1.19/pkg/tool/linux_amd64/compile",
            ],
        ),
        (
            "rust_toolchain",
            &[
                "root/.rustup/toolchains/stable/bin/rustc",
                "root/.cargo/registry/cache/index/serde.crate",
                "usr/local/cargo/bin/cargo",
            ],
        ),
        (
            "jdk",
            &[
                "usr/lib/jvm/java-17-openjdk-amd64/bin/javac",
                "usr/lib/jvm/java-17-openjdk-amd64/jmods/java.base.jmod",
                "opt/java/openjdk/lib/src.zip",
            ],
        ),
        (
            "c_headers",
            &["usr/include/stdio.h", "usr/local/include/zlib.h"],
        ),
    ];
    let mut expected: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for (kind, paths) in kinds {
        for path in paths {
            let size = place(root, path, &next());
            let e = expected.entry(kind.to_string()).or_default();
            *e = (e.0 + 1, e.1 + size);
        }
    }
    // What a runtime image needs, next to them: never counted.
    for path in [
        "usr/lib/x86_64-linux-gnu/libgcc_s.so.1",
        "usr/lib/x86_64-linux-gnu/libstdc++.so.6",
        "usr/lib/jvm/java-17-openjdk-amd64/bin/java",
        "usr/lib/jvm/java-17-openjdk-amd64/lib/modules",
        "app/.cargo/config.toml",
        "usr/bin/app",
    ] {
        place(root, path, &next());
    }
    // A symlink, as Debian's gcc-12 is: only regular files count.
    std::os::unix::fs::symlink("x86_64-linux-gnu-gcc-12", root.join("usr/bin/gcc-12"))
        .expect("symlink");

    let registry = TestRegistry::start();
    let blob = Blob {
        media_type: OCI_GZIP,
        bytes: support::layers::gnu_tar(
            root,
            &["-cz", "--owner=0", "--group=0", "usr", "root", "opt", "app"],
        ),
    };
    support::block_on(push_image(&registry.client(), "waste/build", "v1", &[blob]));
    let reference = format!("{}/waste/build:v1", registry.addr());
    let sandbox = Sandbox::new();
    let run = sandbox.run(&["hints", &reference, "--json"]);
    run.ok();
    let ours: BTreeMap<String, (u64, u64)> = run.json()["known_waste"]
        .as_array()
        .expect("known waste")
        .iter()
        .map(|w| {
            (
                w["kind"].as_str().expect("kind").to_string(),
                (
                    w["files"].as_u64().expect("n"),
                    w["bytes"].as_u64().expect("b"),
                ),
            )
        })
        .collect();
    assert_eq!(ours, expected);

    let text = sandbox.run(&["hints", &reference]);
    text.ok();
    let multi_stage = text
        .stdout
        .lines()
        .filter(|l| l.contains("multi-stage build"))
        .count();
    assert_eq!(multi_stage, 5, "{}", text.stdout);
}

/// A tag whose layers cannot be read is a failure of the report (a warning naming it), but
/// keeps its drift row: drift reads only manifests and configs. The others are summed.
#[test]
fn a_tag_whose_layers_cannot_be_read_keeps_its_drift_row() {
    let registry = TestRegistry::start();
    let tars = layers();
    push(&registry, "v1", &tars[..1]);
    push(&registry, "v2", &tars);
    let top = Blob {
        media_type: OCI_GZIP,
        bytes: gzip(&tars[2]),
    }
    .digest();
    let proxy = support::fault_proxy::FaultProxy::start(&registry.addr());
    proxy.add(support::fault_proxy::Rule::always(
        "GET",
        &format!("/v2/waste/app/blobs/{top}"),
        support::fault_proxy::Fault::status(404),
    ));
    let sandbox = Sandbox::new();
    let run = sandbox.run(&[
        "hints",
        &format!("{}/waste/app", proxy.addr()),
        "--repo",
        "--json",
    ]);
    run.ok_with_stderr();
    assert!(
        run.stderr.contains("warning: waste/app:v2: ") && run.stderr.contains(&top.to_string()),
        "{}",
        run.stderr
    );
    let r = run.json();
    assert_eq!(r["tags"].as_array().expect("tags").len(), 1, "{r}");
    assert_eq!(r["tags"][0]["tag"], "v1");
    assert_eq!(r["failures"][0][0], "v2");
    assert_eq!(r["wasted_bytes"], 0, "v1's alone");
    let drift: Vec<&str> = r["drift"]["tags"]
        .as_array()
        .expect("drift rows")
        .iter()
        .map(|t| t["tag"].as_str().expect("a tag"))
        .collect();
    assert_eq!(drift, ["v1", "v2"]);
}
