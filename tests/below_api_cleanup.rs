//! `regatta cleanup TARGET --untagged`: the manifests no tag reaches, found in the storage,
//! deleted through the API with backups; never a tagged manifest or a tagged index's
//! platform manifest; `--gc` runs the real `docker-registry garbage-collect` and the measured
//! drop equals the prediction.

mod support;

use std::collections::BTreeSet;

use regatta::registry::{Digest, ManifestRef};
use serde_json::Value;
use support::below_api::{APP, MULTI, delete_manifest, multiarch, repushed, unreached};
use support::cli::Sandbox;
use support::registry::TestRegistry;
use support::storage::live_everywhere;

fn u(v: &Value) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("expected a number, got {v}"))
}

/// Every (repository, digest) a plan deletes, children included.
fn planned(plan: &Value) -> BTreeSet<(String, Digest)> {
    let mut out = BTreeSet::new();
    for step in plan["deletions"].as_array().expect("deletions") {
        let repo = step["repository"].as_str().expect("repository").to_string();
        assert_eq!(step["reason"], "untagged");
        assert_eq!(step["tags"], serde_json::json!([]));
        let digest = |v: &Value| Digest::parse(v.as_str().expect("digest")).expect("digest");
        out.insert((repo.clone(), digest(&step["digest"])));
        for child in step["children"].as_array().expect("children") {
            out.insert((repo.clone(), digest(child)));
        }
    }
    out
}

#[test]
fn untagged_manifests_go_through_the_api_and_the_collector_frees_what_was_predicted() {
    let registry = TestRegistry::start();
    let mut truth = registry.push(&repushed());
    truth.merge(registry.push(&multiarch()));
    let tmp = truth.tagged(APP, "tmp").digest.clone();
    delete_manifest(&registry, &mut truth, APP, &tmp);
    let disk = registry.blob_store_bytes();
    let live: u64 = live_everywhere(&truth).values().sum();

    let home = Sandbox::new();
    let root = registry.storage_root();
    // The real collector, run while the registry is idle (nothing is pushed meanwhile).
    home.write_default_config(&format!(
        "[registries.local]\nurl = \"http://{}\"\nstorage = \"{}\"\ngc_command = 'docker-registry garbage-collect {}'\n",
        registry.addr(),
        root.display(),
        registry.config_path().display()
    ));

    // The preview: every manifest no tag reaches, and nothing else.
    let expected: BTreeSet<(String, Digest)> = truth
        .repos
        .keys()
        .flat_map(|r| {
            unreached(&truth, r)
                .into_iter()
                .map(move |d| (r.clone(), d))
        })
        .collect();
    assert_eq!(
        expected.len(),
        5,
        "A1, O1, the first index and its two children"
    );
    let plan = home
        .run(&["cleanup", "local", "--untagged", "--json"])
        .ok()
        .json();
    assert_eq!(plan["dry_run"], true);
    assert_eq!(planned(&plan), expected);
    assert_eq!(u(&plan["gc_bytes_now"]), disk - truth.stored_bytes());
    assert_eq!(u(&plan["gc_bytes_after"]), disk - live);
    assert_eq!(
        u(&plan["bytes_freed"]),
        truth.stored_bytes() - live,
        "what the deletes free"
    );
    // Pushed seconds ago: --older-than 1h leaves them all.
    let recent = home
        .run(&[
            "cleanup",
            "local",
            "--untagged",
            "--older-than",
            "1h",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(recent["deletions"], serde_json::json!([]));
    assert_eq!(u(&recent["too_recent"]), 5);

    // Applied, with the real collector after it.
    let run = home.run(&[
        "cleanup",
        "local",
        "--untagged",
        "--apply",
        "--yes",
        "--gc",
        "--json",
    ]);
    let applied = run.ok_with_stderr().json();
    assert!(run.stderr.contains("gc: "), "{}", run.stderr);
    for step in applied["applied"]["steps"].as_array().expect("steps") {
        assert_eq!(step["outcome"]["result"], "done", "{step:#}");
        assert!(step["backup"].is_string(), "{step:#}");
    }
    assert_eq!(planned(&applied), expected);
    let gc = &applied["gc"];
    assert_eq!(u(&gc["predicted_bytes"]), disk - live);
    assert_eq!(u(&gc["measured_bytes"]), u(&gc["predicted_bytes"]));
    assert_eq!(registry.blob_store_bytes(), live);

    // Every tag, and the tagged index's platform manifests, are still served.
    let client = registry.client();
    for (name, repo) in &truth.repos {
        let r = support::truth::repo(name);
        for digest in repo.tags.values() {
            let mut digests = vec![digest.clone()];
            digests.extend(
                repo.manifests[digest]
                    .children
                    .iter()
                    .map(|(c, _)| c.clone()),
            );
            for d in digests {
                support::block_on(client.head_manifest(&r, &ManifestRef::Digest(d.clone())))
                    .unwrap_or_else(|e| panic!("{name}@{d}: {e}"));
            }
        }
    }
    let index = truth.tagged(MULTI, "2.0");
    assert_eq!(index.children.len(), 2);

    // Nothing untagged is left.
    let again = home
        .run(&["cleanup", "local", "--untagged", "--json"])
        .ok()
        .json();
    assert_eq!(again["deletions"], serde_json::json!([]));
}

#[test]
fn untagged_without_storage_or_with_policy_flags_is_one_sentence() {
    let registry = TestRegistry::start();
    let home = Sandbox::new();
    home.run(&["cleanup", &registry.addr(), "--untagged"])
        .fails_with_one_line(&["--storage PATH"]);
    home.run(&[
        "cleanup",
        &registry.addr(),
        "--untagged",
        "--keep-last",
        "3",
        "--storage",
        "/nonexistent",
    ])
    .fails_with_one_line(&["does not combine"]);
}
