//! `regatta sync` between two real registries (Distribution 2.8), through the built binary:
//! a filter copies exactly the tags it selects (checked in the destination's storage, digests
//! equal to the source's), a second run moves nothing (the destination's access log), a tag
//! removed at the source is previewed and then deleted on the destination with `delete =
//! true` (a dry run changes nothing), and a source whose tag listing fails deletes nothing in
//! that repository.

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use regatta::cleanup::journal::Journal;
use regatta::registry::Digest;
use support::cli::Sandbox;
use support::copy::is_blob_upload;
use support::fault_proxy::{Fault, FaultProxy, Rule};
use support::fixtures::FixtureBuilder;
use support::image::{Format, ImageSpec, Layer};
use support::registry::{RegistryOptions, TestRegistry};
use support::truth::{Fixture, repo};

/// `team/app`: v1..v3 created a day apart (v3 newest), v3-rc1 and dev; `team/lib`: v1;
/// `other/tool`: v1. Every image has a layer of its own on a shared base.
fn fixture() -> FixtureBuilder {
    let base = Layer::random("sync-base", 64 * 1024);
    let mut b = FixtureBuilder::new();
    let image = |name: &str, created: &str| {
        ImageSpec::new(
            Format::Oci,
            vec![base.clone(), Layer::random(name, 16 * 1024)],
        )
        .created(created)
    };
    for (tag, day) in [
        ("v1", "01"),
        ("v2", "02"),
        ("v3", "04"),
        ("v3-rc1", "03"),
        ("dev", "05"),
    ] {
        b.image(
            "team/app",
            &[tag],
            image(
                &format!("sync-app-{tag}"),
                &format!("2026-01-{day}T00:00:00Z"),
            ),
        );
    }
    b.image(
        "team/lib",
        &["v1"],
        image("sync-lib-v1", "2026-01-01T00:00:00Z"),
    );
    b.image(
        "other/tool",
        &["v1"],
        image("sync-tool-v1", "2026-01-01T00:00:00Z"),
    );
    b
}

fn config(source: &str, destination: &str, tags: &str, delete: bool) -> String {
    format!(
        "[registries.a]\nurl = \"{source}\"\n[registries.b]\nurl = \"{destination}\"\n\n[sync.mirror]\nsource = \"a\"\ndestination = \"b/mirror\"\nrepositories = [\"team/*\"]\ntags = {tags}\ndelete = {delete}\n"
    )
}

/// Every tag of every repository in a registry's storage and the digest it points at, read
/// from the filesystem driver's `_manifests/tags/<tag>/current/link` files.
fn stored_tags(registry: &TestRegistry) -> BTreeMap<String, Digest> {
    let root = registry
        .storage_root()
        .join("docker/registry/v2/repositories");
    let mut found = BTreeMap::new();
    walk(&root, &root, &mut found);
    found
}

fn walk(root: &Path, dir: &Path, found: &mut BTreeMap<String, Digest>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_name() == "_manifests" {
            let repository = dir
                .strip_prefix(root)
                .expect("under the root")
                .to_string_lossy()
                .to_string();
            for tag in std::fs::read_dir(path.join("tags"))
                .into_iter()
                .flatten()
                .flatten()
            {
                let link = tag.path().join("current/link");
                if let Ok(text) = std::fs::read_to_string(&link) {
                    found.insert(
                        format!("{repository}:{}", tag.file_name().to_string_lossy()),
                        Digest::parse(text.trim()).expect("a digest in the link"),
                    );
                }
            }
        } else if path.is_dir() && !entry.file_name().to_string_lossy().starts_with('_') {
            walk(root, &path, found);
        }
    }
}

/// The tags `expected` (`repo:tag` on the source, `mirror/` in front on the destination),
/// with the source's digests.
fn mirrored(truth: &Fixture, expected: &[&str]) -> BTreeMap<String, Digest> {
    expected
        .iter()
        .map(|name| {
            let (r, t) = name.split_once(':').expect("repo:tag");
            (format!("mirror/{name}"), truth.tagged(r, t).digest.clone())
        })
        .collect()
}

fn logged() -> TestRegistry {
    TestRegistry::start_with(RegistryOptions {
        access_log: true,
        ..RegistryOptions::default()
    })
}

#[tokio::test]
async fn a_filter_mirrors_exactly_the_tags_it_selects_and_a_second_run_moves_nothing() {
    let source = TestRegistry::start();
    let destination = logged();
    let truth = source.push(&fixture());
    let sandbox = Sandbox::new();
    // v* without rc, the newest two by created date: v2 and v3 of team/app, v1 of team/lib.
    sandbox.write_default_config(&config(
        &source.addr(),
        &destination.addr(),
        "{ match = \"v.*\", exclude = \".*rc.*\", keep_last = 2 }",
        false,
    ));
    let expected = mirrored(&truth, &["team/app:v2", "team/app:v3", "team/lib:v1"]);

    let dry = sandbox.run(&["sync"]);
    dry.ok();
    assert!(
        dry.stdout.contains("Dry run: nothing was copied"),
        "{}",
        dry.stdout
    );
    for name in expected.keys() {
        assert!(
            dry.stdout.contains(name.as_str()),
            "{name}:\n{}",
            dry.stdout
        );
    }
    assert!(!dry.stdout.contains("v3-rc1") && !dry.stdout.contains("other/tool"));
    assert!(
        destination
            .access_log()
            .iter()
            .all(|e| e.method == "GET" || e.method == "HEAD"),
        "a dry run wrote to the destination"
    );
    assert!(stored_tags(&destination).is_empty());

    sandbox.run(&["sync", "mirror", "--apply"]).ok();
    assert_eq!(stored_tags(&destination), expected);

    let before = destination.access_log().len();
    let again = sandbox.run(&["sync", "--apply", "--json"]);
    again.ok();
    let report: serde_json::Value = serde_json::from_str(&again.stdout).expect("one JSON document");
    assert_eq!(report["plan"]["totals"]["bytes_to_move"], 0);
    assert_eq!(report["plan"]["totals"]["tags_to_set"], 0);
    let log = destination.access_log_since(before);
    assert!(
        !log.iter().any(is_blob_upload) && !log.iter().any(|e| e.method == "PUT"),
        "the second run wrote: {log:?}"
    );
    assert_eq!(stored_tags(&destination), expected);
}

#[tokio::test]
async fn with_delete_a_tag_gone_at_the_source_is_previewed_then_deleted_on_apply() {
    let source = TestRegistry::start();
    let destination = TestRegistry::start();
    let truth = source.push(&fixture());
    let sandbox = Sandbox::new();
    sandbox.write_default_config(&config(
        &source.addr(),
        &destination.addr(),
        "{ match = \"v[0-9]+\" }",
        true,
    ));
    sandbox.run(&["sync", "--apply", "--yes"]).ok();
    let all = mirrored(
        &truth,
        &["team/app:v1", "team/app:v2", "team/app:v3", "team/lib:v1"],
    );
    assert_eq!(stored_tags(&destination), all);

    // team/app:v1 goes at the source.
    let v1 = truth.tagged("team/app", "v1");
    source
        .client()
        .delete_manifest(&repo("team/app"), &v1.digest)
        .await
        .expect("delete at the source");

    let dry = sandbox.run(&["sync"]);
    dry.ok();
    assert!(
        dry.stdout.contains("mirror/team/app") && dry.stdout.contains(v1.digest.as_str()),
        "{}",
        dry.stdout
    );
    // What goes is v1's manifest, config and own layer (the base stays with v2 and v3).
    let freed = v1.manifest_size
        + v1.blobs[v1.config.as_ref().expect("a config")]
        + v1.blobs[&v1.layers[1]];
    let plan_json = sandbox.run(&["sync", "--json"]);
    plan_json.ok();
    let documents: Vec<serde_json::Value> = serde_json::Deserializer::from_str(&plan_json.stdout)
        .into_iter()
        .collect::<Result<_, _>>()
        .expect("JSON documents");
    assert_eq!(documents.len(), 2, "{}", plan_json.stdout);
    assert_eq!(documents[1]["bytes_freed"], freed);
    assert_eq!(documents[1]["dry_run"], true);
    assert_eq!(documents[1]["deletions"][0]["tags"][0], "v1");
    assert_eq!(stored_tags(&destination), all, "a dry run deleted");
    assert!(Journal::new(sandbox.data_dir()).backups().is_empty());

    let applied = sandbox.run(&["sync", "--apply", "--yes"]);
    // stderr holds the reminder that space is freed by the registry's garbage collection.
    applied.ok_with_stderr();
    assert!(
        applied
            .stdout
            .contains("not selected at the source any more"),
        "{}",
        applied.stdout
    );
    let mut left = all.clone();
    left.remove("mirror/team/app:v1");
    assert_eq!(stored_tags(&destination), left);
    let backups = Journal::new(sandbox.data_dir()).backups();
    assert_eq!(backups.len(), 1);
    assert_eq!(backups[0].digest, v1.digest.as_str());
}

#[tokio::test]
async fn a_failed_source_listing_deletes_nothing_in_that_repository() {
    let source = TestRegistry::start();
    let destination = TestRegistry::start();
    let truth = source.push(&fixture());
    let sandbox = Sandbox::new();
    let tags = "{ match = \"v[0-9]+\" }";
    sandbox.write_default_config(&config(&source.addr(), &destination.addr(), tags, true));
    sandbox.run(&["sync", "--apply", "--yes"]).ok();
    let all = stored_tags(&destination);
    assert_eq!(all.len(), 4);

    // Both repositories lose v1 at the source; team/app's tag list then fails.
    for r in ["team/app", "team/lib"] {
        source
            .client()
            .delete_manifest(&repo(r), &truth.tagged(r, "v1").digest)
            .await
            .expect("delete at the source");
    }
    let proxy = FaultProxy::start(&source.addr());
    proxy.add(Rule::always(
        "GET",
        "/v2/team/app/tags/list",
        Fault::status(500),
    ));
    sandbox.write_default_config(&config(&proxy.addr(), &destination.addr(), tags, true));

    let run = sandbox.run(&["sync", "--apply", "--yes"]);
    assert_eq!(run.code, Some(1), "{}", run.describe());
    assert!(
        run.stderr.contains("nothing is deleted in mirror/team/app"),
        "{}",
        run.describe()
    );
    let mut left = all.clone();
    left.remove("mirror/team/lib:v1");
    assert_eq!(stored_tags(&destination), left);
    assert!(proxy.count("GET", "/v2/team/app/tags/list") > 0);
}

#[test]
fn unknown_names_and_bad_sections_are_one_sentence() {
    let sandbox = Sandbox::new();
    let section = "[registries.a]\nurl = \"127.0.0.1:1\"\n\n[sync.mirror]\nsource = \"a\"\ndestination = \"a/copy\"\n";
    sandbox.write_default_config(section);
    sandbox
        .run(&["sync", "nope"])
        .fails_with_one_line(&["no [sync.nope] in the config", "known: mirror"]);
    sandbox.write_default_config(&format!("{section}tags = {{ keep_within = \"soon\" }}\n"));
    sandbox.run(&["sync"]).fails_with_one_line(&[
        "config.toml:7",
        "sync.mirror.tags.keep_within",
        "30d",
    ]);
    sandbox.write_default_config("[registries.a]\nurl = \"127.0.0.1:1\"\n");
    sandbox
        .run(&["sync"])
        .fails_with_one_line(&["no [sync.NAME] section"]);
}

#[tokio::test]
async fn a_tag_the_filter_drops_is_only_untagged_when_a_kept_tag_shares_its_digest() {
    let source = TestRegistry::start();
    let destination = TestRegistry::start();
    let base = Layer::random("sync-alias-base", 32 * 1024);
    let mut b = FixtureBuilder::new();
    b.image(
        "team/app",
        &["v1", "v1-copy"],
        ImageSpec::new(
            Format::Oci,
            vec![base.clone(), Layer::random("sync-alias-v1", 8 * 1024)],
        ),
    );
    b.image(
        "team/app",
        &["v2-copy"],
        ImageSpec::new(
            Format::Oci,
            vec![base, Layer::random("sync-alias-v2", 8 * 1024)],
        ),
    );
    let truth = source.push(&b);
    let sandbox = Sandbox::new();
    sandbox.write_default_config(&config(
        &source.addr(),
        &destination.addr(),
        "{ match = \"v.*\" }",
        true,
    ));
    sandbox.run(&["sync", "--apply", "--yes"]).ok();
    assert_eq!(
        stored_tags(&destination),
        mirrored(
            &truth,
            &["team/app:v1", "team/app:v1-copy", "team/app:v2-copy"]
        )
    );

    // The filter now leaves out the -copy tags: v1-copy shares v1's digest, v2-copy is alone.
    sandbox.write_default_config(&config(
        &source.addr(),
        &destination.addr(),
        "{ match = \"v.*\", exclude = \".*-copy\" }",
        true,
    ));
    let plan = sandbox.run(&["sync", "--json"]);
    plan.ok();
    let documents: Vec<serde_json::Value> = serde_json::Deserializer::from_str(&plan.stdout)
        .into_iter()
        .collect::<Result<_, _>>()
        .expect("JSON documents");
    let steps: Vec<(String, String)> = documents[1]["deletions"]
        .as_array()
        .expect("deletions")
        .iter()
        .map(|d| {
            (
                d["mode"].as_str().expect("a mode").to_string(),
                d["tags"][0].as_str().expect("a tag").to_string(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("delete".to_string(), "v2-copy".to_string()),
            ("untag".to_string(), "v1-copy".to_string())
        ]
    );

    sandbox.run(&["sync", "--apply", "--yes"]).ok_with_stderr();
    assert_eq!(
        stored_tags(&destination),
        mirrored(&truth, &["team/app:v1"])
    );
}
