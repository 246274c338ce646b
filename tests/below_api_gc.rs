//! The storage-level numbers against the real Distribution 2.8: every prediction regatta makes
//! from reading the storage is held against the ground truth of what was pushed and against
//! the measured drop of the blob store after the real `docker-registry garbage-collect`, plain
//! and with `--delete-untagged` (on a fixture where that is safe and on one where it breaks a
//! multi-arch index). Each test has a registry of its own.

mod support;

use std::collections::BTreeSet;

use jiff::{SignedDuration, Timestamp};
use regatta::registry::Digest;
use regatta::storage::account::{StorageReport, report};
use regatta::storage::snapshot::{ReadOptions, Snapshot, read_snapshot};
use support::below_api::{
    APP, MIRROR, MULTI, OTHER, abandon_upload, closure, delete_manifest, eligible,
    kept_by_delete_untagged, listing, multiarch, repushed, unreached,
};
use support::registry::TestRegistry;
use support::storage::live_everywhere;
use support::truth::Fixture;

fn snapshot(registry: &TestRegistry) -> Snapshot {
    let root = registry.storage_root();
    support::block_on(async move {
        let storage = regatta::storage::open(root.to_str().expect("a utf-8 path"))
            .await
            .expect("open the storage");
        read_snapshot(storage.as_ref(), &ReadOptions::default())
            .await
            .expect("read the storage")
    })
}

fn later() -> Timestamp {
    Timestamp::now()
        .checked_add(SignedDuration::from_secs(2))
        .expect("a time")
}

fn read(registry: &TestRegistry) -> StorageReport {
    report(&snapshot(registry), later())
}

fn total(blobs: impl IntoIterator<Item = u64>) -> u64 {
    blobs.into_iter().sum()
}

/// Untagged manifests reported, as (repository, digest).
fn untagged(report: &StorageReport) -> BTreeSet<(String, Digest)> {
    report
        .untagged
        .iter()
        .map(|u| (u.repository.to_string(), u.digest.clone()))
        .collect()
}

fn unreached_everywhere(truth: &Fixture) -> BTreeSet<(String, Digest)> {
    truth
        .repos
        .keys()
        .flat_map(|r| unreached(truth, r).into_iter().map(move |d| (r.clone(), d)))
        .collect()
}

struct Repushed {
    registry: TestRegistry,
    truth: Fixture,
    upload: String,
}

const UPLOAD_BYTES: usize = 3000;

fn repushed_registry() -> Repushed {
    let registry = TestRegistry::start();
    let mut truth = registry.push(&repushed());
    let tmp = truth.tagged(APP, "tmp").digest.clone();
    delete_manifest(&registry, &mut truth, APP, &tmp);
    let upload = abandon_upload(&registry, APP, &[7u8; UPLOAD_BYTES]);
    Repushed {
        registry,
        truth,
        upload,
    }
}

#[test]
fn every_storage_number_of_a_registry_with_repushed_tags_deletes_and_an_upload() {
    let Repushed {
        registry,
        truth,
        upload,
    } = repushed_registry();
    let disk = registry.blob_store_bytes();
    let files_before = listing(&registry.storage_root());
    let snap = snapshot(&registry);
    assert_eq!(
        listing(&registry.storage_root()),
        files_before,
        "reading the storage changed it"
    );
    let r = report(&snap, later());
    assert!(r.problems.is_empty(), "{:?}", r.problems);

    // Physical: the blob store on disk.
    assert_eq!(r.registry.physical_bytes, disk);
    // Tagged: what the tags keep alive in the truth (what the API-level du counts).
    let live = live_everywhere(&truth);
    assert_eq!(r.registry.tagged_bytes, total(live.values().copied()));
    // Untagged: A1 in below/app (tagged in below/mirror), O1 in below/other.
    let expected = unreached_everywhere(&truth);
    assert_eq!(expected.len(), 2, "{expected:?}");
    assert_eq!(untagged(&r), expected);
    // Each untagged manifest's bytes: what it references that no tag keeps.
    for u in &r.untagged {
        let only: u64 = closure(&truth, u.repository.as_str(), &u.digest)
            .iter()
            .filter(|(d, _)| !live.contains_key(*d))
            .map(|(_, s)| s)
            .sum();
        assert_eq!(u.bytes, only, "{u:?}");
        assert!(u.pushed.is_some());
    }
    let a1 = r
        .untagged
        .iter()
        .find(|u| u.repository.as_str() == APP)
        .expect("A1");
    assert_eq!(a1.bytes, 0, "A1 is tagged in {MIRROR}");
    assert_eq!(a1.last_tag.as_ref().map(|t| t.as_str()), Some("v1"));
    let o1 = r
        .untagged
        .iter()
        .find(|u| u.repository.as_str() == OTHER)
        .expect("O1");
    assert!(o1.bytes > 0);
    assert_eq!(o1.last_tag.as_ref().map(|t| t.as_str()), Some("1.0"));
    assert_eq!(
        r.registry.untagged_only_bytes,
        truth.stored_bytes() - total(live.values().copied())
    );
    assert_eq!(r.registry.untagged_only_bytes, o1.bytes);

    // Unreferenced: the deleted manifest T and what only it held, i.e. the disk minus every
    // manifest still stored (tagged or not) and its blobs.
    assert_eq!(r.registry.unreferenced_bytes, disk - truth.stored_bytes());
    assert!(r.registry.unreferenced_bytes > 0);
    assert_eq!(
        r.registry.physical_bytes,
        r.registry.tagged_bytes + r.registry.untagged_only_bytes + r.registry.unreferenced_bytes
    );

    // Tag history: v1 was A1 before A2, and A1 is still stored; tmp went with its manifest.
    let v1 = r
        .tag_history
        .iter()
        .find(|h| h.repository.as_str() == APP && h.tag.as_str() == "v1")
        .expect("v1's history");
    assert_eq!(v1.current.as_ref(), Some(&truth.tagged(APP, "v1").digest));
    assert_eq!(v1.before.len(), 1);
    assert_eq!(v1.before[0].digest, a1.digest);
    assert!(v1.before[0].stored);
    assert!(!r.tag_history.iter().any(|h| h.tag.as_str() == "tmp"));

    // The upload: its bytes, abandoned past a threshold only.
    assert_eq!(r.uploads.len(), 1);
    assert_eq!(r.uploads[0].id, upload);
    assert_eq!(r.uploads[0].bytes, UPLOAD_BYTES as u64);
    assert!(r.uploads[0].started.is_some());
    assert_eq!(r.registry.abandoned_upload_bytes, UPLOAD_BYTES as u64);
    let an_hour_ago = Timestamp::now()
        .checked_sub(SignedDuration::from_hours(1))
        .expect("a time");
    assert_eq!(report(&snap, an_hour_ago).registry.abandoned_uploads, 0);

    // --delete-untagged is safe here: no index.
    let du = &r.garbage_collect.delete_untagged;
    assert!(du.broken_indexes.is_empty());
    let removed: BTreeSet<(String, Digest)> = du
        .manifests_removed
        .iter()
        .map(|m| (m.repository.to_string(), m.digest.clone()))
        .collect();
    assert_eq!(removed, expected);
    assert_eq!(
        du.bytes,
        disk - total(kept_by_delete_untagged(&truth).values().copied())
    );

    // The collector's own dry runs name exactly the predicted blobs.
    let plain = &r.garbage_collect.plain;
    let dry = registry.garbage_collect_with(&["--dry-run"]);
    assert_eq!(eligible(&dry), plain.deleted.keys().cloned().collect());
    let dry = registry.garbage_collect_with(&["--dry-run", "--delete-untagged"]);
    assert_eq!(eligible(&dry), du.deleted.keys().cloned().collect());
}

#[test]
fn predictions_equal_the_measured_drop_of_plain_then_delete_untagged_collection() {
    let Repushed {
        registry, truth, ..
    } = repushed_registry();
    let before = registry.blob_store_bytes();
    let first = read(&registry);
    registry.garbage_collect();
    let after_plain = registry.blob_store_bytes();
    assert_eq!(
        before - after_plain,
        first.garbage_collect.plain.bytes,
        "plain garbage-collect freed {} bytes, {} were predicted",
        before - after_plain,
        first.garbage_collect.plain.bytes
    );
    assert_eq!(after_plain, truth.stored_bytes());

    // The upload is not the collector's business: still there, still counted.
    let second = read(&registry);
    assert_eq!(second.registry.unreferenced_bytes, 0);
    assert_eq!(second.registry.upload_bytes, UPLOAD_BYTES as u64);
    assert_eq!(untagged(&second), untagged(&first));

    registry.garbage_collect_with(&["--delete-untagged"]);
    let after = registry.blob_store_bytes();
    assert_eq!(
        after_plain - after,
        second.garbage_collect.delete_untagged.bytes
    );
    // The first reading's --delete-untagged prediction covered both runs.
    assert_eq!(before - after, first.garbage_collect.delete_untagged.bytes);
    assert_eq!(after, total(live_everywhere(&truth).values().copied()));

    let third = read(&registry);
    assert!(third.untagged.is_empty(), "{:?}", third.untagged);
    assert_eq!(third.registry.physical_bytes, third.registry.tagged_bytes);
    // Every tag still resolves, and its blobs are there.
    let client = registry.client();
    for (name, repo) in &truth.repos {
        for (tag, digest) in &repo.tags {
            let r = support::truth::repo(name);
            support::block_on(client.head_manifest(&r, &support::truth::tag(tag).into()))
                .unwrap_or_else(|e| panic!("{name}:{tag}: {e}"));
            for blob in repo.manifests[digest].blobs.keys() {
                support::block_on(client.head_blob(&r, blob))
                    .unwrap_or_else(|e| panic!("{name}:{tag} blob {blob}: {e}"));
            }
        }
    }
}

#[test]
fn delete_untagged_breaks_a_tagged_index_as_predicted_naming_its_children() {
    let registry = TestRegistry::start();
    let truth = registry.push(&multiarch());
    let before = registry.blob_store_bytes();
    let r = read(&registry);
    assert_eq!(r.registry.physical_bytes, before);

    // The first index and its two platform manifests are untagged; the second index's
    // platform manifests are reached through its tag.
    let index = truth.tagged(MULTI, "2.0");
    let expected = unreached_everywhere(&truth);
    assert_eq!(expected.len(), 3);
    assert_eq!(untagged(&r), expected);
    assert_eq!(r.registry.unreferenced_bytes, 0);

    // --delete-untagged names the tagged index and both its children.
    let du = &r.garbage_collect.delete_untagged;
    assert_eq!(du.broken_indexes.len(), 1, "{:?}", du.broken_indexes);
    let broken = &du.broken_indexes[0];
    assert_eq!(broken.repository.as_str(), MULTI);
    assert_eq!(broken.digest, index.digest);
    assert_eq!(
        broken.tags.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
        ["2.0"]
    );
    let children: BTreeSet<Digest> = index.children.iter().map(|(d, _)| d.clone()).collect();
    assert_eq!(
        broken.children.iter().cloned().collect::<BTreeSet<_>>(),
        children
    );
    assert_eq!(du.manifests_removed.len(), 5);
    assert_eq!(
        du.bytes,
        before - total(kept_by_delete_untagged(&truth).values().copied())
    );

    // Plain collection: nothing to delete, as predicted.
    registry.garbage_collect();
    assert_eq!(registry.blob_store_bytes(), before);
    assert_eq!(r.garbage_collect.plain.bytes, 0);

    registry.garbage_collect_with(&["--delete-untagged"]);
    let after = registry.blob_store_bytes();
    assert_eq!(before - after, du.bytes);

    // And the index is broken indeed: its children's layers are gone.
    let client = registry.client();
    let repo = support::truth::repo(MULTI);
    for (child, _) in &index.children {
        let layer = &truth.manifest(MULTI, child).layers[1];
        assert!(
            support::block_on(client.head_blob(&repo, layer)).is_err(),
            "{layer} of {child} survived"
        );
    }
}
