//! `regatta du` with the registry's storage: `--storage PATH` and `storage` in the config add
//! the storage-level numbers (JSON included); without them, one sentence says what `du`
//! cannot see; a wrong path fails with one sentence.

mod support;

use serde_json::Value;
use support::below_api::{APP, abandon_upload, delete_manifest, repushed};
use support::cli::Sandbox;
use support::registry::TestRegistry;
use support::storage::live_everywhere;

fn u(v: &Value) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("expected a number, got {v}"))
}

fn registry() -> (TestRegistry, support::truth::Fixture) {
    let registry = TestRegistry::start();
    let mut truth = registry.push(&repushed());
    let tmp = truth.tagged(APP, "tmp").digest.clone();
    delete_manifest(&registry, &mut truth, APP, &tmp);
    abandon_upload(&registry, APP, &[1u8; 1234]);
    (registry, truth)
}

#[test]
fn du_storage_json_adds_the_storage_numbers_beside_the_api_ones() {
    let (registry, truth) = registry();
    let home = Sandbox::new();
    let root = registry.storage_root();
    let root = root.to_str().expect("utf-8");
    let report = home
        .run(&[
            "du",
            &registry.addr(),
            "--storage",
            root,
            "--uploads-older-than",
            "0s",
            "--json",
        ])
        .ok()
        .json();
    let storage = &report["storage"];
    assert!(report.get("storage_unseen").is_none());
    let disk = registry.blob_store_bytes();
    assert_eq!(u(&storage["registry"]["physical_bytes"]), disk);
    // What the API sees is what the tags reach, in both readings.
    let live: u64 = live_everywhere(&truth).values().sum();
    assert_eq!(u(&report["registry"]["physical_bytes"]), live);
    assert_eq!(u(&storage["registry"]["tagged_bytes"]), live);
    assert_eq!(
        u(&storage["registry"]["unreferenced_bytes"]),
        disk - truth.stored_bytes()
    );
    assert_eq!(
        u(&storage["garbage_collect"]["plain"]["bytes"]),
        disk - truth.stored_bytes()
    );
    assert_eq!(u(&storage["registry"]["abandoned_upload_bytes"]), 1234);
    assert_eq!(storage["untagged"].as_array().expect("untagged").len(), 2);

    // --repo picks the rows shown; the totals stay the registry's.
    let shown = home
        .run(&[
            "du",
            &registry.addr(),
            "--storage",
            root,
            "--repo",
            "below/o*",
            "--uploads-older-than",
            "0s",
            "--json",
        ])
        .ok()
        .json();
    let rows = shown["storage"]["repositories"].as_array().expect("rows");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["repository"], "below/other");
    assert_eq!(
        shown["storage"]["untagged"]
            .as_array()
            .expect("untagged")
            .len(),
        1
    );
    assert_eq!(shown["storage"]["registry"], storage["registry"]);

    // The same from the config entry, as text.
    home.write_default_config(&format!(
        "[registries.local]\nurl = \"http://{}\"\nstorage = \"{root}\"\n",
        registry.addr()
    ));
    let run = home.run(&["du", "local"]);
    run.ok();
    assert!(
        run.stdout.contains(&format!("storage {root}: ")),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("garbage-collect would delete"));
    assert!(run.stdout.contains("UNTAGGED ONLY"));
}

#[test]
fn du_without_storage_says_what_it_cannot_see_and_a_wrong_path_is_one_sentence() {
    let (registry, _) = registry();
    let home = Sandbox::new();
    let report = home.run(&["du", &registry.addr(), "--json"]).ok().json();
    assert!(report.get("storage").is_none());
    let unseen = report["storage_unseen"].as_str().expect("a sentence");
    assert!(unseen.contains("untagged manifests"), "{unseen}");
    let run = home.run(&["du", &registry.addr()]);
    run.ok();
    assert_eq!(run.stdout_lines().last().copied(), Some(unseen));

    let nowhere = home.root().join("not-a-registry");
    std::fs::create_dir_all(&nowhere).expect("mkdir");
    home.run(&[
        "du",
        &registry.addr(),
        "--storage",
        nowhere.to_str().expect("utf-8"),
    ])
    .fails_with_one_line(&["holds no Distribution storage"]);
}
