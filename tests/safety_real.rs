//! The safety rules of applying a plan, against a real registry:
//!
//! - a plan made from a scan that missed part of a repository it touches is not applied
//!   (`rm --apply`, `cleanup --apply`): the scan is made incomplete by the fault proxy
//!   answering 500 to one tag's HEAD, so the plan cannot see that tag; nothing is deleted, the
//!   failure is named, and the same command without the fault applies;
//! - `rm`, `cleanup` and `du --free` JSON say whether the scan was complete and what failed;
//! - a tag pushed after the plan was made onto a digest it deletes (or onto a platform
//!   manifest of an index it deletes) is not deleted: the step is skipped with a sentence.
//!
//! The registry's own access log counts DELETEs, and every tag is resolved directly against
//! the registry (not through the proxy) to show nothing moved.

mod support;

use std::sync::atomic::AtomicBool;

use regatta::cleanup::execute::{Applier, Outcome};
use regatta::cleanup::journal::Journal;
use regatta::cleanup::plan::{Mode, plan_rm};
use regatta::registry::{Client, Digest, ManifestRef, RepoName, Tag};
use regatta::scan::{ScanOptions, scan};
use support::binary::{Home, run, run_json};
use support::cleanup::{assert_all_tags_resolve, resolve, rm_fixture};
use support::fault_proxy::{Fault, FaultProxy, Rule};
use support::registry::{RegistryOptions, TestRegistry};

fn registry_with_log() -> TestRegistry {
    TestRegistry::start_with(RegistryOptions {
        access_log: true,
        ..RegistryOptions::default()
    })
}

/// A proxy in front of `registry` on which `app:stable`'s HEAD always fails: the scan cannot
/// see that `stable` shares `v2`'s digest.
fn proxy_hiding_stable(registry: &TestRegistry) -> FaultProxy {
    let proxy = FaultProxy::start(&registry.addr());
    proxy.add(Rule::always(
        "HEAD",
        "/v2/app/manifests/stable",
        Fault::status(500),
    ));
    proxy
}

/// The JSON's `complete` and `failures` say the scan missed `app:stable`.
fn assert_reports_stable_failed(json: &serde_json::Value) {
    assert_eq!(json["complete"], false, "{json}");
    let failures = json["failures"].as_array().expect("failures[]");
    assert!(
        failures
            .iter()
            .any(|f| f["what"] == "app:stable"
                && f["error"].as_str().is_some_and(|e| e.contains("500"))),
        "{json}"
    );
}

#[tokio::test]
async fn rm_apply_refuses_a_plan_from_an_incomplete_scan_and_a_complete_rerun_applies() {
    let registry = registry_with_log();
    let truth = registry.push(&rm_fixture());
    let home = Home::new();
    let proxy = proxy_hiding_stable(&registry);
    let reference = format!("{}/app:v2", proxy.addr());
    let bytes_before = registry.blob_store_bytes();

    let (code, stdout, stderr) = run(home.command(["rm", &reference, "--apply", "--yes"]));
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stderr
            .contains("regatta: refusing to apply: the scan did not see all of app (app:stable: ")
            && stderr.contains("nothing was deleted"),
        "{stderr}"
    );
    // The plan shown is the partial one: stable is missing from it.
    assert!(
        stdout.contains("tags: latest (same digest), v2\n"),
        "{stdout}"
    );

    let (code, stdout, stderr) =
        run(home.command(["rm", &reference, "--apply", "--yes", "--json"]));
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_reports_stable_failed(&json);
    assert_eq!(json["refused"]["repositories"][0]["repository"], "app");
    assert!(json.get("applied").is_none(), "{json}");

    assert_eq!(registry.count_requests("DELETE", "/v2/"), 0);
    assert_all_tags_resolve(&registry.client(), &truth).await;
    assert_eq!(registry.blob_store_bytes(), bytes_before);
    assert!(home.audit().is_empty());
    assert!(home.journal().backups().is_empty());

    // The registry answers for stable again: the same command applies, and stable goes with
    // the digest it shares (named in the plan this time).
    proxy.clear();
    let report = run_json(home.command(["rm", &reference, "--apply", "--yes", "--json"]));
    assert_eq!(report["complete"], true, "{report}");
    assert_eq!(report["failures"], serde_json::json!([]));
    assert_eq!(
        report["deletions"][0]["tags"],
        serde_json::json!(["latest", "stable", "v2"])
    );
    assert_eq!(report["applied"]["steps"][0]["outcome"]["result"], "done");
    let client = registry.client();
    for t in ["v2", "latest", "stable"] {
        assert!(
            resolve(&client, "app", t).await.unwrap_err().is_not_found(),
            "app:{t}"
        );
    }
    assert_eq!(
        resolve(&client, "app", "v1").await.unwrap(),
        truth.tagged("app", "v1").digest
    );
}

#[tokio::test]
async fn cleanup_apply_refuses_a_plan_from_an_incomplete_scan_and_a_complete_rerun_applies() {
    let registry = registry_with_log();
    let truth = registry.push(&rm_fixture());
    let home = Home::new();
    let proxy = proxy_hiding_stable(&registry);
    let args = |json: bool| {
        let mut a = vec![
            "cleanup".to_string(),
            proxy.addr(),
            "--repo".into(),
            "app".into(),
            "--match".into(),
            "v1".into(),
            "--apply".into(),
            "--yes".into(),
        ];
        if json {
            a.push("--json".into());
        }
        a
    };

    let (code, stdout, stderr) = run(home.command(args(false)));
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("refusing to apply: the scan did not see all of app (app:stable: "),
        "{stderr}"
    );
    let (code, stdout, stderr) = run(home.command(args(true)));
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_reports_stable_failed(&json);
    assert!(json.get("applied").is_none(), "{json}");
    assert_eq!(registry.count_requests("DELETE", "/v2/"), 0);
    assert_all_tags_resolve(&registry.client(), &truth).await;
    assert!(home.audit().is_empty());

    proxy.clear();
    let report = run_json(home.command(args(true)));
    assert_eq!(report["complete"], true, "{report}");
    assert_eq!(report["applied"]["steps"][0]["outcome"]["result"], "done");
    assert!(
        resolve(&registry.client(), "app", "v1")
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert_eq!(
        resolve(&registry.client(), "app", "stable").await.unwrap(),
        truth.tagged("app", "stable").digest
    );
}

#[tokio::test]
async fn dry_runs_and_du_free_say_whether_the_scan_was_complete() {
    let registry = TestRegistry::start();
    registry.push(&rm_fixture());
    let home = Home::new();
    let proxy = proxy_hiding_stable(&registry);
    let addr = proxy.addr();

    let rm = run_json(home.command(["rm", &format!("{addr}/app:v1"), "--json"]));
    assert_eq!(rm["dry_run"], true);
    assert_reports_stable_failed(&rm);
    let cleanup =
        run_json(home.command(["cleanup", &addr, "--repo", "app", "--match", "v1", "--json"]));
    assert_reports_stable_failed(&cleanup);
    let free = run_json(home.command(["du", &addr, "--free", "app:v1", "--json"]));
    assert_reports_stable_failed(&free);
    assert!(free["bytes_freed"].as_u64().unwrap() > 0, "{free}");

    proxy.clear();
    for json in [
        run_json(home.command(["rm", &format!("{addr}/app:v1"), "--json"])),
        run_json(home.command(["du", &addr, "--free", "app:v1", "--json"])),
    ] {
        assert_eq!(json["complete"], true, "{json}");
        assert_eq!(json["failures"], serde_json::json!([]), "{json}");
    }
}

/// Pushes `repo:tag` onto the manifest `digest` (what a CI job does between a scan and the
/// apply).
async fn push_tag(client: &Client, repo: &str, tag: &str, digest: &Digest) {
    let name = RepoName::parse(repo).expect("repo");
    let m = client
        .get_manifest(&name, &ManifestRef::Digest(digest.clone()))
        .await
        .expect("the manifest");
    let put = client
        .put_manifest(
            &name,
            &ManifestRef::Tag(Tag::parse(tag).expect("tag")),
            &m.media_type,
            m.bytes,
        )
        .await
        .expect("push the tag");
    assert_eq!(&put, digest);
}

/// A plan is made from a scan; then `v2-hotfix` is pushed onto v2's digest and `amd64` onto a
/// platform manifest of `multi:latest`. Applying the plan (v1, v2 and multi:latest by digest)
/// deletes v1, and skips v2 and multi with the sentence naming the tag it would have taken:
/// every tag on them still resolves, and the registry saw only v1's DELETE.
#[tokio::test]
async fn a_tag_pushed_after_the_plan_onto_a_digest_it_deletes_is_not_deleted() {
    let registry = registry_with_log();
    let truth = registry.push(&rm_fixture());
    let client = registry.client();
    let model = scan(&client, &ScanOptions::default(), &|_| {})
        .await
        .expect("scan");
    let selection = [("app", "v1"), ("app", "v2"), ("multi", "latest")].map(|(r, t)| {
        (
            RepoName::parse(r).expect("repo"),
            Tag::parse(t).expect("tag"),
        )
    });
    let plan = plan_rm(&model, &selection, Mode::Delete);
    assert_eq!(plan.check_complete(&model), Ok(()));
    assert_eq!(plan.deletions.len(), 3, "{plan:#?}");

    let v2 = truth.tagged("app", "v2").digest.clone();
    let multi = truth.tagged("multi", "latest");
    let amd64 = multi.children[0].0.clone();
    push_tag(&client, "app", "v2-hotfix", &v2).await;
    push_tag(&client, "multi", "amd64", &amd64).await;

    let dir = tempfile::tempdir().expect("tempdir");
    let journal = Journal::new(dir.path());
    let applier = Applier {
        client: &client,
        registry: "test".into(),
        journal: &journal,
    };
    let report = applier.apply(&plan, &AtomicBool::new(false), &|_| {}).await;
    let outcome = |repo: &str, digest: &Digest| {
        report
            .steps
            .iter()
            .find(|s| s.step.repository.as_str() == repo && &s.step.digest == digest)
            .map(|s| s.outcome.clone())
            .expect("a step")
    };
    assert_eq!(
        outcome("app", &truth.tagged("app", "v1").digest),
        Outcome::Done
    );
    assert_eq!(
        outcome("app", &v2),
        Outcome::Unseen(format!(
            "tag v2-hotfix now points at app@{v2}: pushed since the plan was made and not in it, so the digest is left alone with every tag on it"
        ))
    );
    assert_eq!(
        outcome("multi", &multi.digest),
        Outcome::Unseen(format!(
            "tag amd64 now points at multi@{amd64}, a platform manifest of {}: pushed since the plan was made and not in it, so the digest is left alone with every tag on it",
            multi.digest
        ))
    );
    assert!(!report.all_done());

    // Only v1's manifest was deleted; every other tag, the new ones included, resolves.
    assert_eq!(registry.count_requests("DELETE", "/v2/"), 1);
    assert_eq!(
        registry.count_requests(
            "DELETE",
            &format!("/v2/app/manifests/{}", truth.tagged("app", "v1").digest)
        ),
        1
    );
    assert!(
        resolve(&client, "app", "v1")
            .await
            .unwrap_err()
            .is_not_found()
    );
    for (repo, tag, digest) in [
        ("app", "v2", &v2),
        ("app", "latest", &v2),
        ("app", "stable", &v2),
        ("app", "v2-hotfix", &v2),
        ("multi", "latest", &multi.digest),
        ("multi", "amd64", &amd64),
    ] {
        assert_eq!(
            &resolve(&client, repo, tag).await.expect(tag),
            digest,
            "{repo}:{tag}"
        );
    }
    // The audit log says why.
    assert!(
        journal
            .audit()
            .iter()
            .any(|e| e.result == "skipped" && e.detail.contains("v2-hotfix")),
        "{:?}",
        journal.audit()
    );
}
