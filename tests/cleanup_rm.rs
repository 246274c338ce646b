//! `regatta rm` against a real registry, through the built binary: the dry-run plan, the
//! refusal to delete without confirmation, deleting by digest, untagging on Distribution 2.8
//! (which has no tag delete), and a registry with deletes disabled. Each test has a registry
//! and a home of its own.

mod support;

use serde_json::json;
use support::binary::{Home, run, run_json};
use support::cleanup::{
    PlannedGone, assert_all_tags_resolve, assert_applied, resolve, rm_fixture, truth_after,
};
use support::registry::{RegistryOptions, TestRegistry};
use support::truth::{Fixture, repo};

/// What garbage collection frees, by the ground truth, once `app@digest-of-v2` is deleted.
fn freed_by_deleting_v2(truth: &Fixture) -> u64 {
    let v2 = truth.tagged("app", "v2");
    let gone = PlannedGone {
        manifests: [("app".to_string(), v2.digest.clone())].into(),
        ..PlannedGone::default()
    };
    truth.stored_bytes() - truth_after(truth, &gone).stored_bytes()
}

#[tokio::test]
async fn rm_without_apply_deletes_nothing_and_prints_the_plan_with_aliases_and_bytes_freed() {
    let registry = TestRegistry::start_with(RegistryOptions {
        access_log: true,
        ..RegistryOptions::default()
    });
    let truth = registry.push(&rm_fixture());
    let home = Home::new();
    let v2 = truth.tagged("app", "v2").clone();
    let freed = freed_by_deleting_v2(&truth);
    // v2's manifest, config and own layer; the base layer stays with v1 and `other`.
    assert_eq!(
        freed,
        v2.manifest_size + v2.blobs[v2.config.as_ref().expect("config")] + v2.blobs[&v2.layers[1]]
    );
    let reference = format!("{}/app:v2", registry.addr());
    let puts_of_the_push = registry.count_requests("PUT", "/v2/");

    let (code, stdout, stderr) = run(home.command(["rm", &reference]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    // The step as the TUI's delete dialog shows it (whole digests): the tags that go, the
    // ones not asked for marked.
    let step = format!(
        "delete app@{}\n        tags: latest (same digest), stable (same digest), v2\n",
        v2.digest
    );
    assert!(stdout.contains(&step), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "3 tags go: 1 manifest deleted\nfrees {} ({freed} bytes) once garbage collection runs\n",
            regatta::present::size(freed)
        )),
        "{stdout}"
    );
    assert!(stdout.contains("Dry run: nothing was deleted"), "{stdout}");

    let plan = run_json(home.command(["rm", &reference, "--json"]));
    assert_eq!(plan["dry_run"], true);
    assert_eq!(plan["bytes_freed"], freed);
    assert_eq!(
        plan["deletions"],
        json!([{
            "repository": "app",
            "digest": v2.digest.as_str(),
            "mode": "delete",
            "tags": ["latest", "stable", "v2"],
            "widened": ["latest", "stable"],
            "children": [],
            "reason": "requested",
        }])
    );
    assert!(plan.get("applied").is_none(), "{plan}");

    assert_all_tags_resolve(&registry.client(), &truth).await;
    assert_eq!(registry.count_requests("DELETE", "/v2/"), 0);
    assert_eq!(registry.count_requests("PUT", "/v2/"), puts_of_the_push);
    assert!(
        !home.data_dir().join("audit.jsonl").exists(),
        "a dry run writes no audit log"
    );
}

#[tokio::test]
async fn apply_without_yes_and_without_a_terminal_refuses_and_deletes_nothing() {
    let registry = TestRegistry::start();
    let truth = registry.push(&rm_fixture());
    let home = Home::new();
    let reference = format!("{}/app:v2", registry.addr());
    let (code, stdout, stderr) = run(home.command(["rm", &reference, "--apply"]));
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("refusing to delete without confirmation") && stderr.contains("add --yes"),
        "{stderr}"
    );
    assert_all_tags_resolve(&registry.client(), &truth).await;
    assert!(home.audit().is_empty());
    assert!(home.journal().backups().is_empty());
}

#[tokio::test]
async fn rm_apply_yes_deletes_the_digest_and_every_tag_on_it_and_gc_frees_what_it_said() {
    let registry = TestRegistry::start();
    let truth = registry.push(&rm_fixture());
    let home = Home::new();
    let v2 = truth.tagged("app", "v2").clone();
    let reference = format!("{}/app:v2", registry.addr());
    let before = registry.blob_store_bytes();
    assert_eq!(before, truth.stored_bytes());

    let report = run_json(home.command(["rm", &reference, "--apply", "--yes", "--json"]));
    assert_eq!(report["dry_run"], false);
    let steps = report["applied"]["steps"].as_array().expect("steps[]");
    assert_eq!(steps.len(), 1, "{report}");
    assert_eq!(steps[0]["outcome"]["result"], "done", "{report}");

    let client = registry.client();
    for t in ["v2", "latest", "stable"] {
        let err = resolve(&client, "app", t).await.expect_err("deleted");
        assert!(err.is_not_found(), "app:{t}: {err}");
    }
    assert_eq!(
        resolve(&client, "app", "v1").await.expect("v1"),
        truth.tagged("app", "v1").digest
    );

    // The backup holds the exact manifest bytes; the audit log says what went.
    let backups = home.journal().backups();
    assert_eq!(backups.len(), 1);
    assert_eq!(backups[0].digest, v2.digest.as_str());
    assert_eq!(backups[0].tags, ["latest", "stable", "v2"]);
    assert_eq!(
        home.journal()
            .backup_manifest(&backups[0].id, v2.digest.as_str())
            .expect("backed up"),
        v2.document
    );
    let results: Vec<(String, String)> = home
        .audit()
        .into_iter()
        .map(|e| (e.action, e.result))
        .collect();
    assert_eq!(
        results,
        [
            ("delete".into(), "started".into()),
            ("delete".into(), "done".into())
        ]
    );

    registry.garbage_collect();
    assert_applied(&registry, &truth, &report).await;
    assert_eq!(
        before - registry.blob_store_bytes(),
        freed_by_deleting_v2(&truth)
    );
    assert_eq!(before - registry.blob_store_bytes(), report["bytes_freed"]);
}

#[tokio::test]
async fn rm_untag_removes_only_that_tag_on_distribution_2_8_and_its_aliases_stay() {
    let registry = TestRegistry::start();
    let truth = registry.push(&rm_fixture());
    let home = Home::new();
    let v2 = truth.tagged("app", "v2").clone();
    let reference = format!("{}/app:stable", registry.addr());

    let plan = run_json(home.command(["rm", "--untag", &reference, "--json"]));
    assert_eq!(plan["bytes_freed"], 0);
    assert_eq!(
        plan["deletions"],
        json!([{
            "repository": "app",
            "digest": v2.digest.as_str(),
            "mode": "untag",
            "tags": ["stable"],
            "widened": [],
            "children": [],
            "reason": "requested",
        }])
    );

    let before = registry.blob_store_bytes();
    let (code, stdout, stderr) =
        run(home.command(["rm", "--untag", &reference, "--apply", "--yes"]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("untag app@{}: done", v2.digest)),
        "{stdout}"
    );

    let client = registry.client();
    let err = resolve(&client, "app", "stable")
        .await
        .expect_err("untagged");
    assert!(err.is_not_found(), "{err}");
    for t in ["v2", "latest"] {
        assert_eq!(
            resolve(&client, "app", t).await.expect(t),
            v2.digest,
            "app:{t}"
        );
    }
    let mut tags: Vec<String> = client
        .tags(&repo("app"))
        .await
        .expect("tags")
        .iter()
        .map(|t| t.to_string())
        .collect();
    tags.sort();
    assert_eq!(tags, ["latest", "v1", "v2"]);

    // Nothing else moved, and the placeholder that carried the tag away leaves nothing behind
    // once garbage collection runs: an untag frees 0 bytes, as the plan said.
    let mut expected = truth.clone();
    expected
        .repos
        .get_mut("app")
        .expect("app")
        .tags
        .remove("stable");
    registry.garbage_collect();
    assert_all_tags_resolve(&registry.client(), &expected).await;
    assert_eq!(registry.blob_store_bytes(), before);
    assert_applied(&registry, &truth, &plan).await;
}

#[tokio::test]
async fn with_deletes_disabled_rm_and_cleanup_fail_with_the_405_sentence_and_change_nothing() {
    let registry = TestRegistry::start_with(RegistryOptions {
        delete_enabled: false,
        ..RegistryOptions::default()
    });
    let truth = registry.push(&rm_fixture());
    let home = Home::new();
    let sentence = format!(
        "405 Method Not Allowed: deletes are disabled on {}; Distribution needs storage.delete.enabled: true",
        registry.addr()
    );
    let stable = truth.tagged("app", "stable").digest.clone();
    for (mode, extra) in [("delete", None), ("untag", Some("--untag"))] {
        let reference = format!("{}/app:stable", registry.addr());
        let mut args = vec!["rm", &reference, "--apply", "--yes"];
        args.extend(extra);
        let (code, stdout, stderr) = run(home.command(&args));
        assert_eq!(code, 1, "{mode}:\n{stdout}\n{stderr}");
        assert!(
            stderr.contains(&format!("regatta: {mode} app@{stable} FAILED: {sentence}")),
            "{mode}: the sentence is on stderr:\n{stderr}"
        );
        assert!(
            stderr.ends_with("regatta: some steps failed (listed above)\n"),
            "{stderr}"
        );
        // The untag did not leave the tag on its placeholder: it was put back.
        assert_all_tags_resolve(&registry.client(), &truth).await;
    }

    // A cleanup of many steps stops at the first 405 instead of failing every step alike.
    let (code, stdout, stderr) = run(home.command([
        "cleanup",
        &registry.addr(),
        "--match",
        ".*",
        "--apply",
        "--yes",
    ]));
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert_eq!(stderr.matches(&sentence).count(), 1, "{stderr}");
    assert!(
        stderr.contains("stopped: the 3 remaining step(s) were not tried"),
        "{stderr}"
    );
    assert_all_tags_resolve(&registry.client(), &truth).await;
    let failed = home.audit().iter().filter(|e| e.result == "failed").count();
    assert_eq!(failed, 3, "one per attempt: {:#?}", home.audit());
}

#[tokio::test]
async fn gc_flag_runs_the_registrys_gc_command_after_an_apply_and_shows_its_output() {
    let registry = TestRegistry::start();
    let truth = registry.push(&rm_fixture());
    let home = Home::new();
    // A real garbage collection pass over this registry's storage (dry run: the registry
    // is still serving, and Distribution's GC must not run against a live registry).
    let gc = format!(
        "docker-registry garbage-collect --dry-run {}",
        registry.config_path().display()
    );
    home.write_config(&format!(
        "[registries.local]\nurl = \"{}\"\ngc_command = '{gc}'\n",
        registry.addr()
    ));
    let (code, stdout, stderr) =
        run(home.command(["rm", "local/app:v2", "--apply", "--yes", "--gc"]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("done"), "{stdout}");
    let gc_lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("gc: ")).collect();
    assert!(
        gc_lines.iter().any(|l| l.contains("eligible for deletion")),
        "the collector's own summary is shown:\n{stderr}"
    );
    // The measured change: v2's manifest, config and own layer, which the dry-run collector
    // lists as eligible, in bytes known from the scan (exactly what the plan predicted).
    let plan_freed = freed_by_deleting_v2(&truth);
    assert!(
        stderr.contains("removed 3 blob(s)")
            && stderr.contains(&format!("({plan_freed} bytes) of them known from the scan")),
        "{stderr}"
    );
    // Without --gc and off a terminal, the command is not run; the hint says how.
    let home = Home::new();
    home.write_config(&format!(
        "[registries.local]\nurl = \"{}\"\ngc_command = '{gc}'\n",
        registry.addr()
    ));
    let (code, _, stderr) = run(home.command(["rm", "local/app:v1", "--apply", "--yes"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("gc: "), "{stderr}");
}
