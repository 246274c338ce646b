//! Blob-keeping backups (`backup_blobs`) against a real registry, through the built binary:
//! a deletion keeps the blobs it frees, the real `docker-registry garbage-collect` removes them
//! from disk, and `regatta restore` brings the images back whole (every blob read back by
//! digest and hashed, skopeo pulls the restored tags). A blob that cannot be downloaded stops
//! the deletion before anything is deleted.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use regatta::cleanup::journal::BackupMeta;
use regatta::registry::{Digest, ManifestRef};
use support::binary::{Home, run, run_json};
use support::cleanup::{assert_all_tags_resolve, resolve, rm_fixture};
use support::fault_proxy::{Fault, FaultProxy, Rule};
use support::registry::{RegistryOptions, TestRegistry};
use support::truth::{Fixture, repo};

fn backups(home: &Home) -> Vec<BackupMeta> {
    serde_json::from_value(run_json(home.command(["restore", "--list", "--json"])))
        .expect("the backup list parses")
}

/// Where the registry keeps blob `digest` on disk (filesystem driver).
fn on_disk(registry: &TestRegistry, digest: &Digest) -> PathBuf {
    let hex = digest.hex();
    registry
        .storage_root()
        .join("docker/registry/v2/blobs/sha256")
        .join(&hex[..2])
        .join(hex)
        .join("data")
}

/// The config and layer blobs only `deleted` (repository, tag) images use, from the fixture's
/// own truth: what garbage collection removes besides the manifests.
fn freed_blobs(truth: &Fixture, deleted: &[(&str, &str)]) -> BTreeMap<Digest, u64> {
    let gone: Vec<&Digest> = deleted
        .iter()
        .map(|(r, t)| &truth.tagged(r, t).digest)
        .collect();
    let mut kept = BTreeMap::new();
    let mut freed = BTreeMap::new();
    for (name, r) in &truth.repos {
        for t in r.tags.keys() {
            let m = truth.tagged(name, t);
            let into = if gone.contains(&&m.digest) {
                &mut freed
            } else {
                &mut kept
            };
            into.extend(m.blobs.iter().map(|(d, s)| (d.clone(), *s)));
        }
    }
    freed.retain(|d, _| !kept.contains_key(d));
    freed
}

fn skopeo(args: &[&str]) -> String {
    let output = Command::new("skopeo")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("skopeo not found (apt-get install -y skopeo): {e}"));
    assert!(
        output.status.success(),
        "skopeo {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("skopeo prints UTF-8")
}

fn skopeo_digest(inspect: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(inspect).expect("skopeo inspect prints JSON");
    v["Digest"].as_str().expect("Digest").to_string()
}

fn sha256_file(path: &Path) -> Digest {
    Digest::sha256_of(&std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

#[tokio::test]
async fn restore_after_garbage_collection_from_a_blob_keeping_backup_brings_every_blob_back() {
    let registry = TestRegistry::start_with(RegistryOptions {
        access_log: true,
        ..RegistryOptions::default()
    });
    let truth = registry.push(&rm_fixture());
    let home = Home::new();
    // The global setting; the flag is the other way in (the failure test uses it).
    home.write_config("[defaults]\nbackup_blobs = true\n");
    let addr = registry.addr();
    let deleted = [("app", "v2"), ("multi", "latest")];
    let freed = freed_blobs(&truth, &deleted);
    let v2 = truth.tagged("app", "v2").clone();
    let index = truth.tagged("multi", "latest").clone();
    // The base layer v2 shares with v1 stays, and is no part of the blob backup.
    assert!(!freed.contains_key(&v2.layers[0]));
    assert_eq!(freed.len(), 2 + 2 * 2, "{freed:#?}");
    let refs = [format!("{addr}/app:v2"), format!("{addr}/multi:latest")];

    // The dry run says what the blob backup costs: the freed configs and layers.
    let (code, stdout, stderr) = run(home.command(["rm", &refs[0], &refs[1]]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let bytes: u64 = freed.values().sum();
    assert!(
        stdout.contains(&format!(
            "backup_blobs: {} blobs (configs and layers) downloaded into the backup first, so restore works after garbage collection: ",
            freed.len()
        )) && stdout.contains(&format!("({bytes} bytes) on disk")),
        "{stdout}"
    );

    let (code, stdout, stderr) = run(home.command(["rm", &refs[0], &refs[1], "--apply", "--yes"]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");

    // The kept blobs, byte for byte, in the backup's OCI layout.
    let store = home.data_dir().join("backup-blobs");
    for digest in freed.keys() {
        let kept = store.join("blobs/sha256").join(digest.hex());
        assert_eq!(&sha256_file(&kept), digest, "{}", kept.display());
    }
    let list = backups(&home);
    assert_eq!(list.len(), 2, "{list:#?}");
    // A tool nobody here wrote reads a backup as an image: skopeo, from the layout.
    let multi_id = &list
        .iter()
        .find(|b| b.repository == "multi")
        .expect("multi")
        .id;
    let store_text = store.to_str().expect("UTF-8 path");
    let inspect = skopeo(&["inspect", "--raw", &format!("oci:{store_text}:{multi_id}")]);
    assert_eq!(Digest::sha256_of(inspect.as_bytes()), index.digest);

    // The real garbage collection removes the freed blobs from the registry's disk.
    registry.garbage_collect();
    for digest in freed.keys() {
        assert!(
            !on_disk(&registry, digest).exists(),
            "{digest} survived garbage collection"
        );
    }
    assert!(on_disk(&registry, &v2.layers[0]).exists());

    let uploads_before = registry.count_requests("PUT", "/v2/app/blobs/uploads/");
    let ids: Vec<&str> = list.iter().map(|b| b.id.as_str()).collect();
    let (code, stdout, stderr) = run(home.command([&["restore"][..], &ids].concat()));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!(
            "restored app@{} as latest, stable, v2 (2 blobs put back from the blob backup",
            v2.digest
        )),
        "{stdout}"
    );
    // Only the blobs the registry lacked were uploaded: not the base layer it still had.
    assert_eq!(
        registry.count_requests("PUT", "/v2/app/blobs/uploads/") - uploads_before,
        2
    );

    // Every manifest and blob is back: by digest, hashed here.
    let client = registry.client();
    assert_all_tags_resolve(&client, &truth).await;
    for (name, m) in [("app", &v2), ("multi", &index)] {
        let got = client
            .get_manifest(&repo(name), &ManifestRef::Digest(m.digest.clone()))
            .await
            .expect("the manifest is back");
        assert_eq!(got.bytes, m.document);
        for (child, _) in &m.children {
            let got = client
                .get_manifest(&repo(name), &ManifestRef::Digest(child.clone()))
                .await
                .expect("the platform manifest is back");
            assert_eq!(&Digest::sha256_of(&got.bytes), child);
        }
        for blob in m.blobs.keys() {
            let bytes = client.get_blob(&repo(name), blob).await.expect("the blob");
            assert_eq!(&Digest::sha256_of(&bytes), blob, "{name} {blob}");
        }
    }
    for digest in freed.keys() {
        assert_eq!(&sha256_file(&on_disk(&registry, digest)), digest);
    }

    // skopeo pulls the restored tags, every platform included.
    let inspect = skopeo(&[
        "inspect",
        "--tls-verify=false",
        &format!("docker://{addr}/app:v2"),
    ]);
    assert_eq!(skopeo_digest(&inspect), v2.digest.as_str());
    let out = tempfile::tempdir().expect("temp dir");
    let out_text = out.path().join("pulled");
    skopeo(&[
        "copy",
        "--all",
        "--quiet",
        "--src-tls-verify=false",
        &format!("docker://{addr}/multi:latest"),
        &format!("oci:{}:latest", out_text.to_str().expect("UTF-8")),
    ]);
    for blob in index.blobs.keys() {
        let pulled = out_text.join("blobs/sha256").join(blob.hex());
        assert_eq!(&sha256_file(&pulled), blob);
    }

    // And the restored images are whole again: another collection keeps every byte.
    registry.garbage_collect();
    assert_eq!(registry.blob_store_bytes(), truth.stored_bytes());
}

#[tokio::test]
async fn a_blob_that_cannot_be_kept_stops_the_deletion_before_anything_is_deleted() {
    let registry = TestRegistry::start();
    let truth = registry.push(&rm_fixture());
    let proxy = FaultProxy::start(&registry.addr());
    let v2 = truth.tagged("app", "v2").clone();
    let own_layer = v2.layers[1].clone();
    // The registry breaks off v2's own layer half-way, every time it is asked.
    proxy.add(Rule::always(
        "GET",
        &format!("/v2/app/blobs/{own_layer}"),
        Fault::TruncateBody,
    ));
    let home = Home::new();
    let (code, stdout, stderr) = run(home.command([
        "rm",
        &format!("{}/app:v2", proxy.addr()),
        "--backup-blobs",
        "--apply",
        "--yes",
    ]));
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stderr.contains(&format!(
            "cannot keep blob {own_layer} of app in the backup"
        )) && stderr.contains("so nothing was deleted"),
        "{stderr}"
    );
    assert_eq!(proxy.count("DELETE", "/v2/"), 0, "no delete was sent");
    let client = registry.client();
    for t in ["v2", "latest", "stable"] {
        assert_eq!(
            resolve(&client, "app", t).await.expect(t),
            v2.digest,
            "app:{t}"
        );
    }
    assert!(backups(&home).is_empty(), "no backup of a step never taken");
    // Nothing half-written sits under the blob's name in the backup.
    let kept = home
        .data_dir()
        .join("backup-blobs/blobs/sha256")
        .join(own_layer.hex());
    assert!(!kept.exists());
}
