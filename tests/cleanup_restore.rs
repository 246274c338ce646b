//! `regatta restore` against a real registry, through the built binary: before garbage
//! collection a deleted tag comes back on the same digest (a multi-arch index with its
//! platforms); after it, the restore refuses, names the blobs that are gone, and puts nothing
//! back.

mod support;

use regatta::cleanup::journal::BackupMeta;
use regatta::registry::ManifestRef;
use support::binary::{Home, run, run_json};
use support::cleanup::{assert_all_tags_resolve, resolve, rm_fixture};
use support::fixtures::FixtureBuilder;
use support::image::{Format, ImageSpec, Layer};
use support::registry::{RegistryOptions, TestRegistry};
use support::truth::repo;

/// `regatta restore --list --json`, newest first.
fn backups(home: &Home) -> Vec<BackupMeta> {
    serde_json::from_value(run_json(home.command(["restore", "--list", "--json"])))
        .expect("the backup list parses")
}

#[tokio::test]
async fn restore_before_gc_brings_deleted_tags_and_a_multi_arch_index_back_on_the_same_digests() {
    let registry = TestRegistry::start();
    let truth = registry.push(&rm_fixture());
    let home = Home::new();
    let addr = registry.addr();
    let v2 = truth.tagged("app", "v2").clone();
    let index = truth.tagged("multi", "latest").clone();

    let (code, stdout, stderr) = run(home.command([
        "rm",
        &format!("{addr}/app:v2"),
        &format!("{addr}/multi:latest"),
        "--apply",
        "--yes",
    ]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let client = registry.client();
    for (name, t) in [("app", "v2"), ("app", "stable"), ("multi", "latest")] {
        assert!(
            resolve(&client, name, t)
                .await
                .expect_err("deleted")
                .is_not_found(),
            "{name}:{t}"
        );
    }
    // The index went with its platforms.
    for (child, _) in &index.children {
        let err = client
            .get_manifest(&repo("multi"), &ManifestRef::Digest(child.clone()))
            .await
            .expect_err("the cascade deleted the child");
        assert!(err.is_not_found(), "{err}");
    }

    let list = backups(&home);
    assert_eq!(list.len(), 2, "{list:#?}");
    let app = list.iter().find(|b| b.repository == "app").expect("app");
    assert_eq!(app.digest, v2.digest.as_str());
    assert_eq!(app.tags, ["latest", "stable", "v2"]);
    assert_eq!(app.action, "delete");
    let multi = list
        .iter()
        .find(|b| b.repository == "multi")
        .expect("multi");
    let children: Vec<&str> = multi.children.iter().map(|c| c.digest.as_str()).collect();
    let mut expected: Vec<&str> = index.children.iter().map(|(d, _)| d.as_str()).collect();
    expected.sort();
    assert_eq!(children, expected);

    let (code, stdout, stderr) = run(home.command(["restore", &app.id, &multi.id]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("restored app@{} as latest, stable, v2", v2.digest)),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("restored multi@{} as latest", index.digest)),
        "{stdout}"
    );
    assert_all_tags_resolve(&registry.client(), &truth).await;
    let restored = home
        .audit()
        .into_iter()
        .filter(|e| e.action == "restore" && e.result == "done")
        .count();
    assert_eq!(restored, 2);

    // Complete images: garbage collection now keeps every byte, platforms and layers included.
    registry.garbage_collect();
    assert_eq!(registry.blob_store_bytes(), truth.stored_bytes());
    let client = registry.client();
    assert_all_tags_resolve(&client, &truth).await;
    for (child, platform) in &index.children {
        let got = client
            .get_manifest(&repo("multi"), &ManifestRef::Digest(child.clone()))
            .await
            .unwrap_or_else(|e| panic!("{platform} child after restore and GC: {e}"));
        assert_eq!(&got.digest, child);
    }
    for (blob, size) in &index.blobs {
        assert_eq!(
            client.head_blob(&repo("multi"), blob).await.expect("blob"),
            *size
        );
    }
}

#[tokio::test]
async fn restore_after_gc_refuses_names_the_missing_blobs_and_restores_nothing() {
    let registry = TestRegistry::start_with(RegistryOptions {
        access_log: true,
        ..RegistryOptions::default()
    });
    let truth = registry.push(&rm_fixture());
    let home = Home::new();
    let v2 = truth.tagged("app", "v2").clone();
    let (code, stdout, stderr) = run(home.command([
        "rm",
        &format!("{}/app:v2", registry.addr()),
        "--apply",
        "--yes",
    ]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    registry.garbage_collect();

    let list = backups(&home);
    assert_eq!(list.len(), 1);
    let puts_before = registry.count_requests("PUT", "/v2/app/manifests/");
    let (code, stdout, stderr) = run(home.command(["restore", &list[0].id]));
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    // The config and v2's own layer were collected; the base layer v1 shares was not.
    let config = v2.config.clone().expect("config");
    let own_layer = v2.layers[1].clone();
    let mut missing = [config.as_str(), own_layer.as_str()];
    missing.sort();
    let sentence = format!(
        "cannot restore: 2 blob(s) are gone (garbage-collected) and not kept in a blob backup (backup_blobs): {}; nothing was restored",
        missing.join(", ")
    );
    assert!(
        stderr.contains(&format!("regatta: restore {}: ", list[0].id))
            && stderr.contains(&sentence),
        "{stderr}"
    );
    assert!(!stderr.contains(v2.layers[0].as_str()), "{stderr}");
    assert_eq!(
        registry.count_requests("PUT", "/v2/app/manifests/"),
        puts_before,
        "nothing was put back"
    );
    let client = registry.client();
    for t in ["v2", "latest", "stable"] {
        assert!(
            resolve(&client, "app", t)
                .await
                .expect_err("still gone")
                .is_not_found(),
            "app:{t}"
        );
    }
    let err = client
        .get_manifest(&repo("app"), &ManifestRef::Digest(v2.digest.clone()))
        .await
        .expect_err("still gone");
    assert!(err.is_not_found(), "{err}");
    assert!(
        !home.audit().iter().any(|e| e.action == "restore"),
        "a refused restore is not logged as done"
    );
}

#[tokio::test]
async fn restore_leaves_a_tag_that_was_pushed_again_since_the_delete() {
    let registry = TestRegistry::start();
    let truth = registry.push(&rm_fixture());
    let home = Home::new();
    let v2 = truth.tagged("app", "v2").digest.clone();
    let (code, stdout, stderr) = run(home.command([
        "rm",
        &format!("{}/app:v2", registry.addr()),
        "--apply",
        "--yes",
    ]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    // A new build is pushed as `latest` before anyone restores the old one.
    let mut newer = FixtureBuilder::new();
    newer.image(
        "app",
        &["latest"],
        ImageSpec::new(Format::Oci, vec![Layer::random("restore-newer", 2048)]),
    );
    let newer = registry.push(&newer).tagged("app", "latest").digest.clone();

    let id = backups(&home)[0].id.clone();
    let (code, stdout, stderr) = run(home.command(["restore", &id]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("restored app@{v2} as stable, v2")),
        "{stdout}"
    );
    assert!(
        stderr.contains(&format!(
            "regatta: restore {id}: tag latest now points at {newer}; left alone"
        )),
        "{stderr}"
    );
    let client = registry.client();
    assert_eq!(
        resolve(&client, "app", "latest").await.expect("latest"),
        newer
    );
    for t in ["v2", "stable"] {
        assert_eq!(resolve(&client, "app", t).await.expect(t), v2, "app:{t}");
    }
}
