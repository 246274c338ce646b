//! The storage view with the registry's own storage (`storage` in its config entry), against
//! the real Distribution 2.8: a re-pushed tag leaves an untagged manifest, a deleted manifest
//! leaves blobs for the collector, an upload is left unfinished. The view's numbers are
//! `regatta du --storage --json`'s, and the physical bytes are the blob store's on disk.
//!
//! In a real terminal (tmux): an untagged manifest marked in the storage view and deleted
//! through the dialog is gone from the API, and the real `garbage-collect` then shrinks the
//! blob store by exactly the bytes the dialog predicted.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;

use regatta::present::storage_layout::storage_summary_lines;
use regatta::registry::ManifestRef;
use regatta::registry::Source;
use regatta::tui::format;
use regatta::tui::memory::run_until_idle;
use regatta::tui::storage_layout::StorageRow;
use regatta::tui::views::View;
use regatta::tui::{Action, App, RegistryEntry, Theme};
use support::below_api::{APP, MULTI, OTHER, abandon_upload, delete_manifest, multiarch, repushed};
use support::cli::Sandbox;
use support::registry::TestRegistry;
use support::tmux::Pane;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_storage_view_shows_the_numbers_du_storage_reads() {
    let registry = TestRegistry::start();
    let mut truth = registry.push(&repushed());
    let tmp = truth.tagged(APP, "tmp").digest.clone();
    delete_manifest(&registry, &mut truth, APP, &tmp);
    abandon_upload(&registry, APP, &[7u8; 2345]);
    let root = registry.storage_root();
    let root = root.to_str().expect("utf-8").to_string();

    let client = registry.client();
    let entry = RegistryEntry {
        name: "local".into(),
        location: registry.url(),
        source: Ok(Arc::new(client.clone()) as Arc<dyn Source>),
        notice: None,
        client: Some(client),
    };
    let now = jiff::Timestamp::now();
    let locations = BTreeMap::from([("local".to_string(), root.clone())]);
    let mut app = App::new(vec![entry], true, now, Theme::PLAIN).with_storage_locations(locations);
    app.update(Action::Resize {
        width: 140,
        height: 40,
    });
    let effects = app.start();
    run_until_idle(&mut app, effects).await;
    let effects = app.update(Action::OpenStorage);
    run_until_idle(&mut app, effects).await;

    let report = app
        .storage(0)
        .and_then(|s| s.layout.report())
        .expect("the storage was read")
        .clone();
    // Independent truth: the blob store on disk, and the untagged manifests the fixture made
    // (A1 re-pushed away in below/app, O1 in below/other).
    assert_eq!(report.registry.physical_bytes, registry.blob_store_bytes());
    assert_eq!(report.registry.untagged_manifests, 2);
    assert_eq!(report.registry.uploads, 1);
    assert_eq!(report.registry.upload_bytes, 2345);
    assert!(
        report.garbage_collect.plain.bytes > 0,
        "the deleted tmp's blobs"
    );

    // The CLI's numbers over the same storage.
    let home = Sandbox::new();
    let du = home
        .run(&["du", &registry.addr(), "--storage", &root, "--json"])
        .ok()
        .json();
    let ours = serde_json::to_value(&report).expect("json");
    for key in [
        "registry",
        "garbage_collect",
        "repositories",
        "untagged",
        "uploads",
    ] {
        assert_eq!(ours[key], du["storage"][key], "{key}");
    }

    // The view shows them as `du --storage` prints them.
    let View::Storage(view) = app.top() else {
        panic!("the storage view, not {:?}", app.top().kind())
    };
    assert_eq!(view.below, storage_summary_lines(&report));
    // The untagged manifests and the upload are rows below them, in `du --storage`'s order.
    let layout = &app.storage(0).expect("the storage").layout;
    let untagged: Vec<_> = layout
        .rows
        .iter()
        .filter_map(|r| match r {
            StorageRow::Untagged(u) => Some(u.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(untagged, report.untagged);
    assert_eq!(
        layout
            .rows
            .iter()
            .filter(|r| matches!(r, StorageRow::Upload(u) if u.bytes == 2345))
            .count(),
        1
    );
    assert!(
        view.below
            .iter()
            .any(|l| l.starts_with("garbage-collect would delete")),
        "{:?}",
        view.below
    );
}

/// Every file under `dir`, read as text where it is text.
fn files_mention(dir: &std::path::Path, needle: &str) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|e| {
        let path = e.path();
        if path.is_dir() {
            files_mention(&path, needle)
        } else {
            std::fs::read(&path).is_ok_and(|b| String::from_utf8_lossy(&b).contains(needle))
        }
    })
}

#[test]
fn an_untagged_manifest_marked_in_the_storage_view_is_deleted_and_collected_as_predicted() {
    let registry = TestRegistry::start();
    let mut truth = registry.push(&repushed());
    // A tagged index whose platform manifests are untagged to Distribution: protected rows.
    truth.merge(registry.push(&multiarch()));
    abandon_upload(&registry, APP, &[9u8; 1234]);
    // O1: re-pushed away in below/other, referenced by nothing else.
    let untagged: Vec<_> = truth
        .untagged(OTHER)
        .iter()
        .map(|m| m.digest.clone())
        .collect();
    let [o1] = untagged.as_slice() else {
        panic!("one untagged manifest in {OTHER}: {untagged:?}")
    };
    let o1 = o1.clone();
    // Nothing is unreferenced yet: what the collector deletes afterwards is what the delete
    // freed, which the fixture alone tells.
    let disk = registry.blob_store_bytes();
    assert_eq!(disk, truth.stored_bytes());
    truth.remove_manifest(OTHER, &o1);
    let expected = disk - truth.stored_bytes();
    assert!(expected > 0);

    let root = registry.storage_root();
    let pane = Pane::start_with("untagged", &["local"], &[], |dir| {
        let config = dir.join("config/regatta");
        std::fs::create_dir_all(&config).expect("mkdir config/regatta");
        std::fs::write(
            config.join("config.toml"),
            format!(
                "[registries.local]\nurl = \"http://{}\"\nstorage = \"{}\"\n",
                registry.addr(),
                root.display()
            ),
        )
        .expect("write config.toml");
    });
    pane.wait_for_text("below/other");
    pane.keys(&["u"]);
    pane.wait_for_text("below the API");
    // The API scan is over (the dialog refuses to open before).
    pane.wait_for_text("physical counts each blob once");
    // The abandoned upload is a row of its own (it cannot be marked).
    let upload = format::size(1234);
    pane.wait_for("the upload's row", |s| {
        s.lines()
            .any(|l| l.contains(" upload ") && l.contains(APP) && l.contains(&upload))
    });
    // Tab to the rows: A1 (below/app) first, the first index of below/multi and its two
    // platform manifests, then O1; then the two protected platform manifests of 2.0.
    pane.keys(&["Tab"]);
    for _ in 0..4 {
        pane.keys(&["j"]);
    }
    // Space marks O1 and moves on to a protected row, which cannot be marked.
    pane.keys(&["Space"]);
    pane.keys(&["Space"]);
    let why = format!("it is a platform manifest of {MULTI}:2.0");
    pane.wait_for(&why, |s| s.contains(&why));
    // Waits for whole frames: a capture may catch one half drawn.
    let frees = format!("1 marked · frees {}", format::size(expected));
    pane.wait_for(&frees, |s| s.contains(&frees));
    pane.keys(&["d"]);
    // The plan's bytes_freed, to the byte.
    let bytes = format!("frees {} ({expected} bytes)", format::size(expected));
    pane.wait_for_all(&["delete 1 untagged manifest", OTHER, &bytes]);
    pane.keys(&["y"]);
    pane.wait_for_text("finished: 1 done");
    pane.keys(&["Escape"]);
    pane.wait_for_no_text("finished: 1 done");
    pane.keys(&["q"]);
    pane.wait_for_exit();

    // Gone through the API; the other untagged manifest and every tag are still served.
    let client = registry.client();
    let gone = support::block_on(client.head_manifest(
        &support::truth::repo(OTHER),
        &ManifestRef::Digest(o1.clone()),
    ));
    assert!(gone.is_err(), "{OTHER}@{o1} is still served");
    for (name, repo) in &truth.repos {
        for digest in repo.manifests.keys() {
            support::block_on(client.head_manifest(
                &support::truth::repo(name),
                &ManifestRef::Digest(digest.clone()),
            ))
            .unwrap_or_else(|e| panic!("{name}@{digest}: {e}"));
        }
    }
    // Backed up and journaled like every delete.
    assert!(files_mention(&pane.dir("data"), o1.as_str()));

    // The real collector: the blob store drops by exactly the prediction.
    registry.garbage_collect();
    assert_eq!(disk - registry.blob_store_bytes(), expected);
}
