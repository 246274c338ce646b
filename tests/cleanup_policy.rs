//! `regatta cleanup` against a real registry, through the built binary: a policy from the
//! config and one from the command line decide every tag of a fixture whose images were
//! created over more than a year (semver tags, `latest`, aliases, multi-arch indexes); the
//! dry run says why, and after `--apply --yes` and garbage collection the registry holds
//! exactly what the plan kept and the blob store shrank by exactly the previewed bytes_freed.

mod support;

use std::collections::BTreeMap;

use support::binary::{Home, run, run_json};
use support::cleanup::{
    assert_all_tags_resolve, assert_applied, cleanup_fixture, decisions, plan_summary,
    planned_gone, truth_after,
};
use support::registry::TestRegistry;
use support::truth::Fixture;

const RELEASE_POLICY: &str = r#"
[policies.release]
keep_last = 2
sort = "semver"
protect = ["latest"]
unknown_date = "delete"
"#;

fn verdicts(plan: &serde_json::Value) -> BTreeMap<String, String> {
    decisions(plan)
        .into_iter()
        .map(|((repo, tag), (verdict, _))| (format!("{repo}:{tag}"), verdict))
        .collect()
}

fn reason<'a>(
    all: &'a BTreeMap<(String, String), (String, String)>,
    repo: &str,
    tag: &str,
) -> &'a str {
    &all[&(repo.to_string(), tag.to_string())].1
}

/// Applies `args` (a cleanup with `--apply --yes --json`) and checks the registry after
/// garbage collection against the plan and the ground truth; returns the report.
async fn apply_and_check(
    registry: &TestRegistry,
    home: &Home,
    truth: &Fixture,
    args: &[&str],
    previewed: &serde_json::Value,
) -> serde_json::Value {
    let before = registry.blob_store_bytes();
    assert_eq!(before, truth.stored_bytes());
    let report = run_json(home.command(args));
    assert_eq!(report["dry_run"], false);
    assert_eq!(
        report["deletions"], previewed["deletions"],
        "nothing changed between the preview and the apply"
    );
    for step in report["applied"]["steps"].as_array().expect("steps[]") {
        assert_eq!(step["outcome"]["result"], "done", "{step}");
    }
    registry.garbage_collect();
    assert_applied(registry, truth, &report).await;
    let expected = truth.stored_bytes() - truth_after(truth, &planned_gone(&report)).stored_bytes();
    let measured = before - registry.blob_store_bytes();
    assert_eq!(measured, expected, "the ground truth of what GC frees");
    assert_eq!(
        serde_json::json!(measured),
        previewed["bytes_freed"],
        "the drop of the blob store equals the previewed bytes_freed"
    );
    report
}

#[tokio::test]
async fn a_config_policy_keeps_the_newest_versions_untags_aliases_and_frees_what_it_previewed() {
    let registry = TestRegistry::start();
    let truth = registry.push(&cleanup_fixture(jiff::Timestamp::now()));
    let home = Home::new();
    home.write_config(RELEASE_POLICY);
    let addr = registry.addr();

    // The dry run, for people: counts per repository and every tag's verdict with its reason.
    let (code, stdout, stderr) = run(home.command(["cleanup", &addr, "--policy", "release"]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    for line in [
        "svc: keep 3, delete 2, untag 1 (policy release)",
        "base: keep 3, delete 1, untag 0 (policy release)",
        "  keep   latest           protected by \"latest\"",
        "  keep   v2.0.0           among the newest 2",
        "  delete v1.0.0           not among the newest 2",
        "  untag  stable           not a version (unknown_date = delete), not among the newest 2; untag only: its digest is still needed by kept tag v1.2.0",
        "Dry run: nothing was deleted. Add --apply to delete.",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in:\n{stdout}");
    }
    assert_all_tags_resolve(&registry.client(), &truth).await;

    // The dry run, for scripts.
    let plan = run_json(home.command(["cleanup", &addr, "--policy", "release", "--json"]));
    assert_eq!(plan["dry_run"], true);
    let expected_verdicts: BTreeMap<String, String> = [
        ("base:1.0", "delete"),
        ("base:1.1", "keep"),
        ("base:2.0", "keep"),
        ("base:latest", "keep"),
        ("svc:latest", "keep"),
        ("svc:stable", "untag"),
        ("svc:v1.0.0", "delete"),
        ("svc:v1.1.0", "delete"),
        ("svc:v1.2.0", "keep"),
        ("svc:v2.0.0", "keep"),
    ]
    .into_iter()
    .map(|(t, v)| (t.to_string(), v.to_string()))
    .collect();
    assert_eq!(verdicts(&plan), expected_verdicts);
    assert_eq!(
        plan_summary(&plan, &truth),
        [
            "delete base@[1.0] 1.0 (+2 children)",
            "delete svc@[v1.0.0] v1.0.0 (+0 children)",
            "delete svc@[v1.1.0] v1.1.0 (+0 children)",
            "untag svc@[stable,v1.2.0] stable (+0 children)",
        ]
    );
    for d in plan["deletions"].as_array().expect("deletions[]") {
        assert!(
            !d["reason"].as_str().expect("reason").is_empty(),
            "every step says why: {d}"
        );
    }
    // The children deleted with base:1.0 are its own platforms, not those of kept indexes.
    let old_index = truth.tagged("base", "1.0");
    let step = plan["deletions"]
        .as_array()
        .expect("deletions[]")
        .iter()
        .find(|d| d["digest"] == old_index.digest.as_str())
        .expect("base:1.0 is deleted");
    let mut children: Vec<&str> = old_index.children.iter().map(|(c, _)| c.as_str()).collect();
    children.sort();
    assert_eq!(
        step["children"],
        serde_json::json!(children),
        "in digest order"
    );
    assert_all_tags_resolve(&registry.client(), &truth).await;

    apply_and_check(
        &registry,
        &home,
        &truth,
        &[
            "cleanup", &addr, "--policy", "release", "--apply", "--yes", "--json",
        ],
        &plan,
    )
    .await;
    // The untagged alias went; the kept tag on the same digest survived with its blobs.
    let v1_2 = truth.tagged("svc", "v1.2.0");
    assert_eq!(truth.tags_on("svc", &v1_2.digest), ["stable", "v1.2.0"]);
    let client = registry.client();
    assert_eq!(
        support::cleanup::resolve(&client, "svc", "v1.2.0")
            .await
            .expect("kept"),
        v1_2.digest
    );
    assert!(
        support::cleanup::resolve(&client, "svc", "stable")
            .await
            .expect_err("untagged")
            .is_not_found()
    );
}

#[tokio::test]
async fn a_command_line_policy_keeps_by_date_and_age_within_the_repositories_it_names() {
    let registry = TestRegistry::start();
    let truth = registry.push(&cleanup_fixture(jiff::Timestamp::now()));
    let home = Home::new();
    let addr = registry.addr();
    let policy = [
        "--keep-last",
        "1",
        "--keep-within",
        "150d",
        "--protect",
        "lat*",
        "--exclude",
        r"v1\.0\..*",
        "--repo",
        "sv*",
    ];
    let mut dry = vec!["cleanup", addr.as_str()];
    dry.extend(policy);
    dry.push("--json");
    let plan = run_json(home.command(&dry));
    let all = decisions(&plan);
    assert_eq!(
        all.keys()
            .map(|(r, _)| r.as_str())
            .collect::<std::collections::BTreeSet<_>>(),
        ["svc"].into(),
        "--repo limits the policy to matching repositories"
    );
    assert_eq!(reason(&all, "svc", "latest"), "protected by \"lat*\"");
    assert_eq!(
        reason(&all, "svc", "v1.0.0"),
        "excluded by the exclude regex"
    );
    assert_eq!(reason(&all, "svc", "v2.0.0"), "among the newest 1");
    for t in ["v1.2.0", "stable"] {
        assert_eq!(reason(&all, "svc", t), "created within 150d", "{t}");
    }
    assert_eq!(
        all[&("svc".to_string(), "v1.1.0".to_string())],
        (
            "delete".to_string(),
            "not among the newest 1, older than 150d".to_string()
        )
    );
    assert_eq!(
        plan_summary(&plan, &truth),
        ["delete svc@[v1.1.0] v1.1.0 (+0 children)"]
    );

    let mut apply = vec!["cleanup", addr.as_str()];
    apply.extend(policy);
    apply.extend(["--apply", "--yes", "--json"]);
    apply_and_check(&registry, &home, &truth, &apply, &plan).await;
    // The repository outside --repo is untouched.
    let mut base_only = truth.clone();
    base_only.repos.retain(|name, _| name == "base");
    assert_all_tags_resolve(&registry.client(), &base_only).await;
    assert_eq!(planned_gone(&plan).tags.len(), 1);
}
