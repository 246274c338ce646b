//! Applying a plan when the world changes under it, against a real registry: a tag moved
//! between plan and apply, and a registry that goes away before or during the apply. Plans
//! are made with the library where the binary cannot stop in between (it plans and applies in
//! one run); the binary is driven through a pseudo-terminal to stop the registry while it
//! waits for confirmation.

mod support;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use regatta::analysis::model::StorageModel;
use regatta::cleanup::execute::{Applier, ApplyEvent, ApplyReport, Outcome};
use regatta::cleanup::journal::Journal;
use regatta::cleanup::plan::{Mode, Plan, plan_rm};
use regatta::registry::{Client, ManifestRef};
use regatta::scan::{ScanOptions, scan};
use support::binary::{BINARY, Home, run};
use support::cleanup::{assert_all_tags_resolve, resolve, rm_fixture};
use support::fixtures::FixtureBuilder;
use support::image::{Format, ImageSpec, Layer};
use support::registry::{RegistryOptions, TestRegistry};
use support::truth::{repo, tag};

async fn model_of(client: &Client) -> StorageModel {
    let model = scan(client, &ScanOptions::default(), &|_| {})
        .await
        .expect("scan");
    assert!(model.is_complete(), "{:?}", model.failures);
    model
}

fn selection(pairs: &[(&str, &str)]) -> Vec<(regatta::registry::RepoName, regatta::registry::Tag)> {
    pairs.iter().map(|(r, t)| (repo(r), tag(t))).collect()
}

async fn apply(
    client: &Client,
    journal: &Journal,
    plan: &Plan,
    on_event: &(dyn Fn(ApplyEvent) + Send + Sync),
) -> ApplyReport {
    let applier = Applier {
        client,
        registry: client.registry().host.clone(),
        journal,
    };
    applier.apply(plan, &AtomicBool::new(false), on_event).await
}

#[tokio::test]
async fn a_tag_moved_between_plan_and_apply_is_skipped_and_reported() {
    let registry = TestRegistry::start();
    let truth = registry.push(&rm_fixture());
    let client = registry.client();
    let model = model_of(&client).await;
    let mut plan = plan_rm(
        &model,
        &selection(&[("app", "v1"), ("other", "1")]),
        Mode::Delete,
    );
    plan.deletions
        .extend(plan_rm(&model, &selection(&[("app", "stable")]), Mode::Untag).deletions);
    assert_eq!(plan.deletions.len(), 3);

    // Someone pushes new images under app:v1 and app:stable after the plan was made.
    let mut newer = FixtureBuilder::new();
    newer.image(
        "app",
        &["v1", "stable"],
        ImageSpec::new(Format::Oci, vec![Layer::random("moved-in", 2048)])
            .created("2024-06-01T00:00:00Z"),
    );
    let newer = registry.push(&newer);
    let moved_to = newer.tagged("app", "v1").digest.clone();

    let dir = tempfile::tempdir().expect("journal dir");
    let journal = Journal::new(dir.path());
    let report = apply(&client, &journal, &plan, &|_| {}).await;
    let outcomes: Vec<(&str, &Outcome)> = report
        .steps
        .iter()
        .map(|s| (s.step.repository.as_str(), &s.outcome))
        .collect();
    let skipped = |t: &str| {
        Outcome::Skipped(format!(
            "tag {t} moved to {moved_to} since the plan was made"
        ))
    };
    assert_eq!(
        outcomes,
        [
            ("app", &skipped("v1")),
            ("other", &Outcome::Done),
            ("app", &skipped("stable")),
        ]
    );
    assert!(!report.all_done());

    // The moved tags stay on the new image, the old v1 manifest was not deleted, the aliases
    // of stable were not touched; only other:1 went.
    for t in ["v1", "stable"] {
        assert_eq!(
            resolve(&client, "app", t).await.expect(t),
            moved_to,
            "app:{t}"
        );
    }
    let old_v1 = truth.tagged("app", "v1").digest.clone();
    client
        .get_manifest(&repo("app"), &ManifestRef::Digest(old_v1))
        .await
        .expect("the old v1 is still there");
    let v2 = truth.tagged("app", "v2").digest.clone();
    for t in ["v2", "latest"] {
        assert_eq!(resolve(&client, "app", t).await.expect(t), v2, "app:{t}");
    }
    assert!(
        resolve(&client, "other", "1")
            .await
            .expect_err("deleted")
            .is_not_found()
    );
    let results: Vec<(String, String)> = journal
        .audit()
        .into_iter()
        .map(|e| (e.repository, e.result))
        .collect();
    assert_eq!(
        results,
        [
            ("app".to_string(), "skipped".to_string()),
            ("other".to_string(), "started".to_string()),
            ("other".to_string(), "done".to_string()),
            ("app".to_string(), "skipped".to_string()),
        ]
    );
}

/// `many`: `t1` .. `t5` on five images, and `keep`.
fn many_fixture() -> FixtureBuilder {
    let mut b = FixtureBuilder::new();
    for i in 1..=5 {
        b.image(
            "many",
            &[&format!("t{i}")],
            ImageSpec::new(Format::Oci, vec![Layer::random(&format!("many-{i}"), 2048)]),
        );
    }
    b.image(
        "many",
        &["keep"],
        ImageSpec::new(Format::Oci, vec![Layer::random("many-keep", 2048)]),
    );
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_stopped_mid_apply_fails_clearly_and_a_rerun_finishes_without_deleting_twice() {
    let registry = TestRegistry::start_with(RegistryOptions {
        access_log: true,
        ..RegistryOptions::default()
    });
    let truth = registry.push(&many_fixture());
    let client = registry.client();
    let model = model_of(&client).await;
    let tags = ["t1", "t2", "t3", "t4", "t5"];
    let pairs: Vec<(&str, &str)> = tags.iter().map(|t| ("many", *t)).collect();
    let plan = plan_rm(&model, &selection(&pairs), Mode::Delete);
    assert_eq!(plan.deletions.len(), 5);
    let dir = tempfile::tempdir().expect("journal dir");
    let journal = Journal::new(dir.path());

    // The registry goes away as soon as the first step has finished.
    let stop_after_first = |event: ApplyEvent| {
        if let ApplyEvent::Finished { index: 0, .. } = event {
            assert!(registry.stop());
        }
    };
    let report = apply(&client, &journal, &plan, &stop_after_first).await;
    assert_eq!(report.steps.len(), 2, "{report:#?}");
    assert_eq!(report.steps[0].outcome, Outcome::Done);
    match &report.steps[1].outcome {
        Outcome::Failed(why) => assert!(
            why.starts_with(&format!("cannot reach {}", registry.addr())),
            "{why}"
        ),
        other => panic!("expected a failure, got {other:?}"),
    }
    assert_eq!(
        report.stopped.as_deref(),
        Some("the 3 remaining step(s) were not tried: each would fail the same way")
    );
    assert!(!report.all_done());

    // The same plan again, once the registry is back: the first step is recognised as done.
    registry.start_again();
    let client = registry.client();
    let rerun = apply(&client, &journal, &plan, &|_| {}).await;
    assert!(rerun.all_done(), "{rerun:#?}");
    let outcomes: Vec<&Outcome> = rerun.steps.iter().map(|s| &s.outcome).collect();
    assert_eq!(
        outcomes,
        [
            &Outcome::AlreadyDone,
            &Outcome::Done,
            &Outcome::Done,
            &Outcome::Done,
            &Outcome::Done
        ]
    );

    // Each digest was deleted exactly once, by the registry's own account.
    for t in tags {
        let digest = &truth.tagged("many", t).digest;
        let deletes = registry
            .access_log()
            .iter()
            .filter(|e| {
                e.method == "DELETE"
                    && e.target == format!("/v2/many/manifests/{digest}")
                    && e.status == 202
            })
            .count();
        assert_eq!(deletes, 1, "many:{t}");
        assert!(
            resolve(&client, "many", t)
                .await
                .expect_err("gone")
                .is_not_found()
        );
    }
    assert_eq!(
        resolve(&client, "many", "keep").await.expect("kept"),
        truth.tagged("many", "keep").digest
    );
    // The audit log: `done` once per step, and the rerun's `already_done` for the first.
    let mut done: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in journal.audit() {
        done.entry(e.tags.join(",")).or_default().push(e.result);
    }
    let first = regatta::cleanup::plan::joined(&plan.deletions[0].tags).replace(", ", ",");
    for t in tags {
        let expected: &[&str] = if t == first {
            &["started", "done", "already_done"]
        } else {
            &["started", "done"]
        };
        assert_eq!(done[t], expected, "{t}");
    }
}

/// Runs `regatta ARGS` in a pseudo-terminal (util-linux `script`), so it asks for
/// confirmation; calls `at_prompt` when the question appears, then answers `answer`.
/// Returns the exit code and everything the terminal showed.
fn run_in_terminal(
    home: &Home,
    args: &[&str],
    at_prompt: impl FnOnce(),
    answer: &str,
) -> (i32, String) {
    let quoted: Vec<String> = std::iter::once(BINARY)
        .chain(args.iter().copied())
        .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
        .collect();
    let mut command = Command::new("script");
    command
        .args(["-q", "-f", "-e", "-c", &quoted.join(" "), "/dev/null"])
        .env_remove("REGATTA_CONFIG")
        .env_remove("REGATTA_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in home.vars() {
        command.env(name, value);
    }
    let mut child = command.spawn().unwrap_or_else(|e| {
        panic!(
            "this test needs util-linux `script` (Debian's bsdutils; `scripts/test` installs \
             it): {e}"
        )
    });
    let mut stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut shown = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !String::from_utf8_lossy(&shown).contains("to confirm: ") {
        assert!(
            Instant::now() < deadline,
            "no confirmation prompt:\n{}",
            String::from_utf8_lossy(&shown)
        );
        if let Ok(chunk) = rx.recv_timeout(Duration::from_millis(100)) {
            shown.extend(chunk);
        }
    }
    at_prompt();
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(answer.as_bytes()).expect("answer");
    stdin.flush().expect("flush");
    let status = child.wait().expect("wait for script");
    drop(stdin);
    reader.join().expect("reader");
    shown.extend(rx.try_iter().flatten());
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&shown).into_owned(),
    )
}

#[tokio::test]
async fn a_registry_stopped_before_the_apply_fails_clearly_and_a_rerun_finishes() {
    let registry = TestRegistry::start();
    let truth = registry.push(&rm_fixture());
    let home = Home::new();
    let addr = registry.addr();
    let v2_ref = format!("{addr}/app:v2");
    let other_ref = format!("{addr}/other:1");
    let args = ["rm", v2_ref.as_str(), other_ref.as_str(), "--apply"];

    // Confirmed on a terminal, but the registry stopped while the question was on screen.
    let (code, shown) = run_in_terminal(&home, &args, || assert!(registry.stop()), "yes\n");
    assert_eq!(code, 1, "{shown}");
    assert!(
        shown.contains("Delete 2 manifest(s) and 4 tag(s)"),
        "the question names what goes:\n{shown}"
    );
    let v2 = truth.tagged("app", "v2").digest.clone();
    assert!(
        shown.contains(&format!(
            "regatta: delete app@{v2} FAILED: cannot reach {addr}"
        )),
        "{shown}"
    );
    assert!(
        shown.contains("stopped: the 1 remaining step(s) were not tried"),
        "{shown}"
    );
    assert!(
        shown.contains("regatta: some steps failed (listed above)"),
        "{shown}"
    );
    registry.start_again();
    assert_all_tags_resolve(&registry.client(), &truth).await;

    // Run again with the registry back: everything planned goes, once.
    let (code, stdout, stderr) = run(home.command(["rm", &v2_ref, &other_ref, "--apply", "--yes"]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let client = registry.client();
    for (name, t) in [
        ("app", "v2"),
        ("app", "latest"),
        ("app", "stable"),
        ("other", "1"),
    ] {
        assert!(
            resolve(&client, name, t)
                .await
                .expect_err("deleted")
                .is_not_found(),
            "{name}:{t}"
        );
    }
    let done: Vec<String> = home
        .audit()
        .into_iter()
        .filter(|e| e.result == "done")
        .map(|e| e.repository)
        .collect();
    assert_eq!(done, ["app", "other"]);
}
