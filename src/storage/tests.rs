//! Reading a hand-made storage directory with what a damaged or foreign tree may hold: no
//! panic, each oddity either left out the way Distribution leaves it out or said in a
//! sentence.

use super::collector::{GcMode, predict};
use super::dir::DirStorage;
use super::snapshot::{ReadOptions, read_snapshot};
use crate::registry::Digest;

fn write(root: &std::path::Path, path: &str, bytes: &[u8]) {
    let full = root.join("docker/registry/v2").join(path);
    std::fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
    std::fs::write(full, bytes).expect("write");
}

fn blob(root: &std::path::Path, bytes: &[u8]) -> Digest {
    let d = Digest::sha256_of(bytes);
    write(root, &super::paths::blob_data(&d), bytes);
    d
}

fn link(root: &std::path::Path, path: &str, d: &Digest) {
    write(root, path, d.as_str().as_bytes());
}

#[test]
fn a_damaged_tree_is_read_without_panic_and_what_is_odd_is_said() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let layer = blob(root, b"layer");
    let manifest = format!(r#"{{"schemaVersion":2,"layers":[{{"digest":"{layer}"}}]}}"#);
    let good = blob(root, manifest.as_bytes());
    let garbage = blob(root, b"\x00\x01 not a manifest");
    let missing = Digest::sha256_of(b"never stored");
    let repo = "repositories/app";
    link(
        root,
        &format!("{repo}/_layers/sha256/{}/link", layer.hex()),
        &layer,
    );
    for d in [&good, &garbage, &missing] {
        link(
            root,
            &format!("{repo}/_manifests/revisions/sha256/{}/link", d.hex()),
            d,
        );
    }
    link(
        root,
        &format!("{repo}/_manifests/tags/v1/current/link"),
        &good,
    );
    write(
        root,
        &format!("{repo}/_manifests/tags/bad/current/link"),
        b"\x1b[2J",
    );
    write(root, "repositories/Bad Name/_layers/x", b"");
    write(root, &format!("{repo}/_uploads/u1/startedat"), b"yesterday");
    write(root, &format!("{repo}/_uploads/u1/data"), &[0; 10]);
    write(root, "blobs/sha256/zz/not-hex/data", b"x");

    let storage = DirStorage::open(root).expect("open");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let snapshot = runtime
        .block_on(read_snapshot(&storage, &ReadOptions::default()))
        .expect("read");
    assert_eq!(snapshot.blobs.len(), 3);
    let app = &snapshot.repos[&crate::registry::RepoName::parse("app").expect("name")];
    // A revision whose blob is gone does not count, as for Distribution.
    assert!(!snapshot.revision_stored(app, &missing));
    // A current link that holds no digest points nowhere.
    let bad = crate::registry::Tag::parse("bad").expect("tag");
    assert_eq!(app.tags[&bad].current, None);
    // An unparseable start time leaves the upload's start unknown (never abandoned).
    assert_eq!(app.uploads["u1"].bytes, 10);
    assert_eq!(app.uploads["u1"].started, None);
    // The invalid repository name and the unreadable manifest are said.
    assert!(
        snapshot.problems.iter().any(|p| p.contains("\"Bad Name\"")),
        "{:?}",
        snapshot.problems
    );
    assert!(
        snapshot
            .problems
            .iter()
            .any(|p| p.contains(garbage.as_str())),
        "{:?}",
        snapshot.problems
    );
    // The collector would stop at the unreadable revision: said, not guessed around.
    let plain = predict(&snapshot, GcMode::Plain);
    assert_eq!(plain.would_fail_on.len(), 1);
    assert_eq!(plain.would_fail_on[0].digest, garbage);
}

#[test]
fn a_directory_without_the_layout_is_one_sentence() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = DirStorage::open(dir.path()).expect_err("no layout");
    assert!(
        e.to_string().contains("holds no Distribution storage"),
        "{e}"
    );
}

#[test]
fn an_empty_layers_directory_still_makes_a_repository_for_the_collector() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let layer = blob(root, b"layer");
    let manifest = format!(r#"{{"schemaVersion":2,"layers":[{{"digest":"{layer}"}}]}}"#);
    let m = blob(root, manifest.as_bytes());
    link(
        root,
        &format!(
            "repositories/app/_manifests/revisions/sha256/{}/link",
            m.hex()
        ),
        &m,
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let read = || {
        let storage = DirStorage::open(root).expect("open");
        runtime
            .block_on(read_snapshot(&storage, &ReadOptions::default()))
            .expect("read")
    };
    // Without `_layers` the collector never visits the repository: everything goes.
    assert_eq!(predict(&read(), GcMode::Plain).blobs, 2);
    std::fs::create_dir_all(root.join("docker/registry/v2/repositories/app/_layers"))
        .expect("mkdir");
    assert_eq!(predict(&read(), GcMode::Plain).blobs, 0);
}
