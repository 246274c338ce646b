//! `regatta export` and `regatta import` against a real registry, read back and written by a
//! tool nobody here wrote: skopeo inspects and copies the layout regatta exported, and regatta
//! imports a layout skopeo wrote. Digests are compared with what the other side reports.

mod support;

use std::path::Path;
use std::process::Command;

use regatta::registry::{Digest, ManifestRef};
use support::cli::Sandbox;
use support::copy::{copy_fixture, is_blob_upload};
use support::registry::{RegistryOptions, TestRegistry};
use support::truth::{repo, tag};

const MISSING: &str =
    "skopeo not found: install it with `apt-get install -y skopeo` (scripts/test does)";

fn skopeo(args: &[&str]) -> String {
    let output = Command::new("skopeo")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{MISSING}: {e}"));
    assert!(
        output.status.success(),
        "skopeo {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("skopeo prints UTF-8")
}

/// What the layout's index.json says `tag` is, read as plain JSON.
fn layout_digest(dir: &Path, tag: &str) -> Digest {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).expect("index.json"))
            .expect("index.json is JSON");
    let entry = index["manifests"]
        .as_array()
        .expect("manifests")
        .iter()
        .find(|e| e["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .unwrap_or_else(|| panic!("no ref name {tag} in {index}"));
    Digest::parse(entry["digest"].as_str().expect("a digest")).expect("a valid digest")
}

/// Every file under blobs/ hashes to its name.
fn assert_blobs_hash_to_their_names(dir: &Path) {
    let blobs = dir.join("blobs/sha256");
    let mut count = 0;
    for entry in std::fs::read_dir(&blobs).expect("blobs/sha256") {
        let path = entry.expect("an entry").path();
        let name = path
            .file_name()
            .expect("a name")
            .to_string_lossy()
            .to_string();
        assert!(!name.starts_with('.'), "a temporary file was left: {name}");
        let bytes = std::fs::read(&path).expect("a blob");
        assert_eq!(Digest::sha256_of(&bytes).hex(), name, "{}", path.display());
        count += 1;
    }
    assert!(count > 0);
}

#[tokio::test]
async fn an_export_is_read_and_copied_back_by_skopeo_with_the_same_digests() {
    let source = TestRegistry::start();
    let back = TestRegistry::start();
    let truth = source.push(&copy_fixture());
    let sandbox = Sandbox::new();
    let dir = sandbox.root().join("export");
    let dir_text = dir.display().to_string();
    let v1 = format!("{}/team/app:v1", source.addr());
    let index = format!("{}/team/multi:2.0", source.addr());

    let dry = sandbox.run(&["export", &v1, &index, &dir_text, "--dry-run"]);
    dry.ok();
    assert!(
        dry.stdout.contains("Dry run: nothing was copied"),
        "{}",
        dry.stdout
    );
    assert!(!dir.exists(), "a dry run wrote {dir_text}");

    sandbox.run(&["export", &v1, &index, &dir_text]).ok();
    assert_blobs_hash_to_their_names(&dir);
    for (repository, t) in [("team/app", "v1"), ("team/multi", "2.0")] {
        let expected = &truth.tagged(repository, t).digest;
        assert_eq!(&layout_digest(&dir, t), expected);
        // skopeo reads the image: its raw manifest hashes to the source's digest.
        let raw = skopeo(&["inspect", "--raw", &format!("oci:{dir_text}:{t}")]);
        assert_eq!(&Digest::sha256_of(raw.as_bytes()), expected, "{t}");
    }
    // skopeo copies the index and every platform to another registry, digests kept.
    skopeo(&[
        "copy",
        "--all",
        "--quiet",
        "--dest-tls-verify=false",
        &format!("oci:{dir_text}:2.0"),
        &format!("docker://{}/copied/multi:2.0", back.addr()),
    ]);
    let head = back
        .client()
        .head_manifest(&repo("copied/multi"), &ManifestRef::Tag(tag("2.0")))
        .await
        .expect("skopeo pushed 2.0");
    assert_eq!(head.digest, truth.tagged("team/multi", "2.0").digest);

    // Exporting again writes nothing new.
    let again = sandbox
        .run(&["export", &v1, &index, &dir_text, "--json"])
        .ok()
        .json();
    assert_eq!(again["outcome"]["blobs_transferred"], 0);
    assert_eq!(again["outcome"]["manifests_pushed"], 0);
}

#[tokio::test]
async fn a_layout_skopeo_wrote_is_imported_with_its_digests_and_a_second_import_uploads_nothing() {
    let source = TestRegistry::start();
    let destination = TestRegistry::start_with(RegistryOptions {
        access_log: true,
        ..RegistryOptions::default()
    });
    source.push(&copy_fixture());
    let sandbox = Sandbox::new();
    let dir = sandbox.root().join("from-skopeo");
    let dir_text = dir.display().to_string();
    for (repository, t) in [("team/app", "v2"), ("team/multi", "1.0")] {
        skopeo(&[
            "copy",
            "--all",
            "--quiet",
            "--src-tls-verify=false",
            &format!("docker://{}/{repository}:{t}", source.addr()),
            &format!("oci:{dir_text}:{t}"),
        ]);
    }
    let target = format!("{}/imported/app", destination.addr());
    sandbox.run(&["import", &dir_text, &target]).ok();
    let client = destination.client();
    for t in ["v2", "1.0"] {
        let head = client
            .head_manifest(&repo("imported/app"), &ManifestRef::Tag(tag(t)))
            .await
            .expect("imported");
        assert_eq!(head.digest, layout_digest(&dir, t), "{t}");
    }
    let complete = support::copy::every_tag_complete(&client).await;
    assert_eq!(complete, Ok(2));
    let first = destination.access_log_since(0);
    assert!(first.iter().any(is_blob_upload));

    let again = sandbox
        .run(&["import", &dir_text, &target, "--json"])
        .ok()
        .json();
    assert_eq!(again["outcome"]["blobs_transferred"], 0);
    let second = destination.access_log_since(first.len() + 1);
    assert!(
        second
            .iter()
            .all(|e| e.method == "GET" || e.method == "HEAD"),
        "the second import wrote: {second:?}"
    );
}
