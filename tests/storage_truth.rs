//! The storage numbers against the registry's own disk. `physical_bytes` must equal the bytes
//! of the blob store; every repository's numbers must equal those worked out from the
//! fixture's ground truth (`support::storage`, which never calls the analysis code); and for
//! each selection, the `bytes_freed` that `regatta du --free` predicts must be exactly what the
//! blob store loses once `regatta rm --apply` has deleted the selection and
//! `docker-registry garbage-collect` has run. Each test has a registry of its own.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use regatta::analysis::storage::{registry_stats, repo_stats};
use regatta::registry::Digest;
use regatta::scan::{ScanOptions, scan};
use serde_json::Value;
use support::cli::Sandbox;
use support::registry::TestRegistry;
use support::storage::{
    APP, BUILDER, Deletion, MIRROR, MULTI, OTHER, RepoNumbers, WORKER, delete, live_everywhere,
    repo_numbers, storage_fixture,
};
use support::truth::Fixture;

struct Pushed {
    registry: TestRegistry,
    truth: Fixture,
    home: Sandbox,
}

/// A fresh registry holding the storage fixture, checked to hold exactly what the truth says.
fn pushed() -> Pushed {
    let registry = TestRegistry::start();
    let truth = registry.push(&storage_fixture());
    for name in truth.repos.keys() {
        assert!(
            truth.untagged(name).is_empty(),
            "{name}: the fixture must leave nothing untagged for the numbers to be exact"
        );
    }
    assert_eq!(registry.blob_store_bytes(), truth.stored_bytes());
    assert_eq!(
        live_everywhere(&truth).values().sum::<u64>(),
        truth.stored_bytes()
    );
    Pushed {
        registry,
        truth,
        home: Sandbox::new(),
    }
}

fn u(v: &Value) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("expected a number, got {v}"))
}

/// The per-repository numbers of a `du --json` report.
fn reported_numbers(report: &Value) -> BTreeMap<String, RepoNumbers> {
    report["repositories"]
        .as_array()
        .expect("repositories")
        .iter()
        .map(|r| {
            (
                r["repository"].as_str().expect("name").to_string(),
                RepoNumbers {
                    tags: u(&r["tags"]),
                    logical_bytes: u(&r["logical_bytes"]),
                    stored_bytes: u(&r["stored_bytes"]),
                    unique_bytes: u(&r["unique_bytes"]),
                    shared_bytes: u(&r["shared_bytes"]),
                },
            )
        })
        .collect()
}

fn du_json(p: &Pushed, extra: &[&str]) -> Value {
    let addr = p.registry.addr();
    let mut args = vec!["du", addr.as_str()];
    args.extend_from_slice(extra);
    args.push("--json");
    p.home.run(&args).ok_with_stderr().json()
}

/// Every figure of a `du --json` report against the truth, and `physical_bytes` against disk.
fn assert_report_matches(report: &Value, truth: &Fixture, blob_store_bytes: u64) {
    assert_eq!(report["complete"], true, "{report:#}");
    assert_eq!(report["failures"], serde_json::json!([]));
    let expected = repo_numbers(truth);
    assert_eq!(reported_numbers(report), expected);
    let total = &report["registry"];
    assert_eq!(u(&total["physical_bytes"]), blob_store_bytes);
    assert_eq!(
        u(&total["physical_bytes"]),
        live_everywhere(truth).values().sum::<u64>()
    );
    assert_eq!(u(&total["repositories"]), truth.repos.len() as u64);
    assert_eq!(
        u(&total["tags"]),
        expected.values().map(|r| r.tags).sum::<u64>()
    );
    let logical: u64 = expected.values().map(|r| r.logical_bytes).sum();
    assert_eq!(u(&total["logical_bytes"]), logical);
    let ratio = total["dedup_ratio"].as_f64().expect("dedup_ratio");
    let physical = blob_store_bytes as f64;
    if physical > 0.0 {
        assert!((ratio - logical as f64 / physical).abs() < 1e-9, "{ratio}");
    }
}

#[test]
fn du_json_equals_the_blob_store_and_the_ground_truth() {
    let p = pushed();
    let report = du_json(&p, &[]);
    assert_report_matches(&report, &p.truth, p.registry.blob_store_bytes());

    // Spot checks that the fixture exercises what it claims to.
    let numbers = repo_numbers(&p.truth);
    // mirror/app holds nothing of its own: its one manifest is team/app:v1's.
    assert_eq!(numbers[MIRROR].unique_bytes, 0);
    assert!(numbers[MIRROR].stored_bytes > 0);
    // Aliases count again in logical_bytes, never in stored_bytes.
    let v2 = p.truth.tagged(APP, "v2").size;
    assert!(numbers[APP].logical_bytes >= 3 * v2);
    // Every repository shares something (the base layers), and holds something of its own
    // except the mirror.
    for (name, n) in &numbers {
        assert!(n.shared_bytes > 0, "{name}");
        assert!(name == MIRROR || n.unique_bytes > 0, "{name}");
    }
}

#[test]
fn du_of_some_repositories_counts_sharing_with_all_of_them() {
    // unique_bytes is "the blobs no other repository references": a repository outside the
    // glob still references them, so filtering what is shown must not change the numbers.
    let p = pushed();
    let report = du_json(&p, &["--repo", "team/*"]);
    let expected: BTreeMap<String, RepoNumbers> = repo_numbers(&p.truth)
        .into_iter()
        .filter(|(name, _)| name.starts_with("team/"))
        .collect();
    assert_eq!(reported_numbers(&report), expected);
    assert_eq!(report["complete"], true);
    // The totals are over the repositories shown.
    let shown: BTreeMap<Digest, u64> = [APP, OTHER, WORKER]
        .iter()
        .flat_map(|r| support::storage::live_blobs(&p.truth, r))
        .collect();
    assert_eq!(
        u(&report["registry"]["physical_bytes"]),
        shown.values().sum::<u64>()
    );
    assert_eq!(u(&report["registry"]["repositories"]), 3);
}

#[test]
fn the_library_scan_gives_the_same_numbers() {
    let p = pushed();
    let client = p.registry.client();
    let model = support::block_on(scan(&client, &ScanOptions::default(), &|_| {})).expect("scan");
    assert!(model.is_complete(), "{:?}", model.failures);
    let stats = repo_stats(&model);
    let total = registry_stats(&model, &stats);
    assert_eq!(total.physical_bytes, p.registry.blob_store_bytes());
    let got: BTreeMap<String, RepoNumbers> = stats
        .iter()
        .map(|s| {
            (
                s.repository.clone(),
                RepoNumbers {
                    tags: s.tags as u64,
                    logical_bytes: s.logical_bytes,
                    stored_bytes: s.stored_bytes,
                    unique_bytes: s.unique_bytes,
                    shared_bytes: s.shared_bytes,
                },
            )
        })
        .collect();
    assert_eq!(got, repo_numbers(&p.truth));
    // Each tag's size is the truth's.
    for (name, repo) in &p.truth.repos {
        for (t, digest) in &repo.tags {
            assert_eq!(
                model.image_size(digest),
                Some(repo.manifests[digest].size),
                "{name}:{t}"
            );
        }
    }
}

/// What one selection did, for the test's own extra checks.
struct Outcome {
    expected: Deletion,
    du_plan: Value,
    rm: Value,
}

/// `(repository, digest)` of every manifest a `du --free` plan deletes.
fn du_plan_manifests(plan: &Value) -> BTreeMap<String, BTreeSet<Digest>> {
    let mut out: BTreeMap<String, BTreeSet<Digest>> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for d in plan["deletions"].as_array().expect("deletions") {
        let repo = d["repository"].as_str().expect("repository").to_string();
        let digest = Digest::parse(d["digest"].as_str().expect("digest")).expect("a digest");
        assert!(
            seen.insert((repo.clone(), digest.clone())),
            "{repo}@{digest} is listed twice in the plan:\n{plan:#}"
        );
        out.entry(repo).or_default().insert(digest);
    }
    out
}

/// The same for an `rm` plan, whose index children are listed under their index.
fn rm_plan_manifests(rm: &Value) -> BTreeMap<String, BTreeSet<Digest>> {
    let mut out: BTreeMap<String, BTreeSet<Digest>> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for d in rm["deletions"].as_array().expect("deletions") {
        let repo = d["repository"].as_str().expect("repository").to_string();
        let children = d["children"].as_array().expect("children");
        for digest in std::iter::once(&d["digest"]).chain(children) {
            let digest = Digest::parse(digest.as_str().expect("digest")).expect("a digest");
            assert!(
                seen.insert((repo.clone(), digest.clone())),
                "{repo}@{digest} is deleted twice by the plan:\n{rm:#}"
            );
            out.entry(repo.clone()).or_default().insert(digest);
        }
    }
    out
}

fn widened(plan: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for d in plan["deletions"].as_array().expect("deletions") {
        for t in d["widened"].as_array().expect("widened") {
            out.entry(d["repository"].as_str().expect("repository").to_string())
                .or_default()
                .insert(t.as_str().expect("a tag").to_string());
        }
    }
    out
}

/// On a fresh registry: predicts `bytes_freed` for `selection` with `du --free`, deletes it
/// with `rm --apply --yes`, runs garbage collection, and checks the blob store lost exactly
/// the prediction, which is also what the ground truth says.
fn predict_delete_collect(selection: &[(&str, &str)]) -> Outcome {
    let p = pushed();
    let expected = delete(&p.truth, selection);
    let addr = p.registry.addr();
    let short: Vec<String> = selection.iter().map(|(r, t)| format!("{r}:{t}")).collect();
    let full: Vec<String> = selection
        .iter()
        .map(|(r, t)| format!("{addr}/{r}:{t}"))
        .collect();

    let mut args = vec!["du", addr.as_str(), "--free"];
    args.extend(short.iter().map(String::as_str));
    args.push("--json");
    let du_plan = p.home.run(&args).ok_with_stderr().json();
    let predicted = u(&du_plan["bytes_freed"]);
    assert_eq!(
        predicted, expected.bytes_freed,
        "du --free's prediction is not the ground truth's:\n{du_plan:#}"
    );
    assert_eq!(du_plan["unknown"], serde_json::json!([]));
    assert_eq!(du_plan_manifests(&du_plan), expected.manifests);
    assert_eq!(widened(&du_plan), expected.widened);

    let mut args = vec!["rm"];
    args.extend(full.iter().map(String::as_str));
    args.extend(["--apply", "--yes", "--json"]);
    let rm = p.home.run(&args).ok_with_stderr().json();
    assert_eq!(rm["dry_run"], false);
    assert_eq!(u(&rm["bytes_freed"]), predicted, "rm and du disagree");
    assert_eq!(rm_plan_manifests(&rm), expected.manifests);
    assert_eq!(widened(&rm), expected.widened);
    let steps = rm["applied"]["steps"].as_array().expect("steps");
    assert_eq!(steps.len(), rm["deletions"].as_array().expect("plan").len());
    for step in steps {
        assert_eq!(step["outcome"]["result"], "done", "{step:#}");
    }

    // Deleting frees nothing by itself; the registry's tags are already what the truth says.
    let before = p.registry.blob_store_bytes();
    assert_eq!(before, p.truth.stored_bytes());
    let client = p.registry.client();
    for (name, repo) in &expected.after.repos {
        let mut tags: Vec<String> = support::block_on(client.tags(&support::truth::repo(name)))
            .map(|t| t.iter().map(|t| t.to_string()).collect())
            .unwrap_or_default();
        tags.sort();
        assert_eq!(
            tags,
            repo.tags.keys().cloned().collect::<Vec<_>>(),
            "{name}"
        );
    }

    p.registry.garbage_collect();
    let after = p.registry.blob_store_bytes();
    assert_eq!(
        before - after,
        predicted,
        "garbage collection freed {} bytes, {predicted} were predicted",
        before - after
    );
    assert_eq!(after, expected.after.stored_bytes());

    // And a new scan of what is left agrees with the disk again.
    let report = du_json(&p, &[]);
    assert_report_matches(&report, &expected.after, after);

    Outcome {
        expected,
        du_plan,
        rm,
    }
}

fn reasons(plan: &Value) -> Vec<(String, String)> {
    plan["deletions"]
        .as_array()
        .expect("deletions")
        .iter()
        .map(|d| {
            (
                d["digest"].as_str().expect("digest").to_string(),
                d["reason"].as_str().expect("reason").to_string(),
            )
        })
        .collect()
}

#[test]
fn one_tag_frees_its_own_layer_config_and_manifest() {
    let o = predict_delete_collect(&[(APP, "v3")]);
    assert!(o.expected.widened.is_empty());
    assert_eq!(reasons(&o.du_plan).len(), 1);
    // Exactly v3's document, config and own layer: the base and runtime layers stay.
    let truth = storage_fixture().truth();
    let v3 = truth.tagged(APP, "v3");
    let own_layer = &v3.layers[2];
    let config = v3.config.as_ref().expect("config");
    assert_eq!(
        o.expected.bytes_freed,
        v3.manifest_size + v3.blobs[config] + v3.blobs[own_layer]
    );
}

#[test]
fn a_tag_sharing_its_digest_takes_its_aliases_with_it() {
    let o = predict_delete_collect(&[(APP, "v2")]);
    let plan = &o.du_plan["deletions"][0];
    assert_eq!(plan["tags"], serde_json::json!(["latest", "stable", "v2"]));
    assert_eq!(plan["widened"], serde_json::json!(["latest", "stable"]));
    assert_eq!(o.rm["deletions"][0]["widened"], plan["widened"]);
    assert!(o.expected.bytes_freed > 0);
}

#[test]
fn an_oci_index_cascades_to_the_children_nothing_else_holds() {
    let o = predict_delete_collect(&[(MULTI, "1.0")]);
    // The index and its amd64 child go; the arm64 child stays with 1.1.
    assert_eq!(o.expected.manifests[MULTI].len(), 2);
    let r = reasons(&o.du_plan);
    assert_eq!(r.len(), 2, "{r:?}");
    assert_eq!(r[1].1, "index child");
    assert_eq!(
        o.rm["deletions"][0]["children"]
            .as_array()
            .expect("children")
            .len(),
        1
    );
}

#[test]
fn a_docker_manifest_list_takes_its_alias_and_both_children() {
    let o = predict_delete_collect(&[(BUILDER, "latest")]);
    assert_eq!(
        o.du_plan["deletions"][0]["widened"],
        serde_json::json!(["2024.06"])
    );
    assert_eq!(o.expected.manifests[BUILDER].len(), 3);
    assert_eq!(
        o.rm["deletions"][0]["children"]
            .as_array()
            .expect("children")
            .len(),
        2
    );
}

#[test]
fn a_whole_repository_with_a_child_tagged_on_its_own() {
    // 1.1-amd64 tags the amd64 child of 1.1 directly: it goes as a tagged manifest, once.
    let o = predict_delete_collect(&[
        (MULTI, "1.0"),
        (MULTI, "1.1"),
        (MULTI, "latest"),
        (MULTI, "1.1-amd64"),
    ]);
    assert!(o.expected.after.repos[MULTI].tags.is_empty());
    // Two indexes, their two amd64 children and the arm64 child they share.
    assert_eq!(o.expected.manifests[MULTI].len(), 5);
    let child = o.du_plan["deletions"]
        .as_array()
        .expect("deletions")
        .iter()
        .find(|d| d["tags"] == serde_json::json!(["1.1-amd64"]))
        .expect("the directly tagged child is deleted as a tag");
    assert_eq!(child["reason"], "tag");
}

#[test]
fn tags_across_repositories_free_the_layers_only_they_shared() {
    let o = predict_delete_collect(&[
        (MULTI, "1.0"),
        (MULTI, "1.1"),
        (MULTI, "1.1-amd64"),
        (BUILDER, "2024.06"),
    ]);
    // latest (on 1.1) and latest (on the list) are widened in both repositories.
    assert_eq!(o.expected.widened[MULTI].len(), 1);
    assert_eq!(o.expected.widened[BUILDER].len(), 1);
    // The arm64 base layer, shared by the two repositories only, is freed.
    let truth = storage_fixture().truth();
    let before = live_everywhere(&truth);
    let after = live_everywhere(&o.expected.after);
    let freed: BTreeSet<&Digest> = before.keys().filter(|d| !after.contains_key(*d)).collect();
    let arm64_child = &truth.tagged(MULTI, "1.0").children[1].0;
    let arm_layer = &truth.manifest(MULTI, arm64_child).layers[0];
    assert!(freed.contains(arm_layer));
    // The amd64 base layer is not: team/* still use it.
    let amd_layer = &truth.tagged(APP, "v1").layers[0];
    assert!(!freed.contains(amd_layer));
}

#[test]
fn the_same_manifest_in_two_repositories_goes_only_with_both() {
    let o = predict_delete_collect(&[(APP, "v1"), (MIRROR, "v1"), (WORKER, "w1")]);
    let truth = storage_fixture().truth();
    let v1 = truth.tagged(APP, "v1");
    let after = live_everywhere(&o.expected.after);
    assert!(!after.contains_key(&v1.digest));
    assert!(!after.contains_key(v1.config.as_ref().expect("config")));
}

#[test]
fn a_manifest_another_repository_still_tags_frees_nothing() {
    let o = predict_delete_collect(&[(APP, "v1")]);
    assert_eq!(o.expected.bytes_freed, 0);
}
