//! The storage view with the registry's own storage (`storage` in its config entry), against
//! the real Distribution 2.8: a re-pushed tag leaves an untagged manifest, a deleted manifest
//! leaves blobs for the collector, an upload is left unfinished. The view's numbers are
//! `regatta du --storage --json`'s, and the physical bytes are the blob store's on disk.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;

use regatta::present::storage_layout::storage_lines;
use regatta::registry::Source;
use regatta::tui::memory::run_until_idle;
use regatta::tui::views::View;
use regatta::tui::{Action, App, RegistryEntry, Theme};
use support::below_api::{APP, abandon_upload, delete_manifest, repushed};
use support::cli::Sandbox;
use support::registry::TestRegistry;

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
    assert_eq!(view.below, storage_lines(&report, now));
    assert!(
        view.below
            .iter()
            .any(|l| l.starts_with("garbage-collect would delete")),
        "{:?}",
        view.below
    );
}
