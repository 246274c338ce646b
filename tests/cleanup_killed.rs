//! `regatta cleanup --apply` killed with SIGKILL in the middle of its work, against a real
//! registry behind the fault proxy (which lets the first DELETE through and holds the next at
//! a gate until after the kill, so the kill lands mid-run on any machine, with no clock).
//!
//! What must hold afterwards: the audit log and the backups say exactly what was deleted
//! (a digest with a `done` line is gone; one without a `started` line is still there; a
//! `started` without `done` may be either), every started step has its backup, a rerun
//! finishes the plan, no kept tag is lost, and the registry answered each digest's DELETE
//! with 202 exactly once.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use regatta::cleanup::journal::{AuditEntry, Journal};
use regatta::registry::{Digest, ManifestRef};
use serde_json::Value;
use support::cleanup::{planned_gone, resolve, truth_after};
use support::cli::{Run, Sandbox};
use support::fault_proxy::{Fault, FaultProxy, Gate, Rule};
use support::fixtures::FixtureBuilder;
use support::image::{Format, ImageSpec, Layer};
use support::registry::{RegistryOptions, TestRegistry};
use support::truth::repo;
use support::within;

/// `svc`: `t1` .. `t6` created a day apart (`t6` also `latest`); `base`: `1` and `2`.
/// `--keep-last 3` keeps `t5`, `t6`, `latest` and all of `base`, and deletes `t1` .. `t4`.
fn fixture() -> FixtureBuilder {
    let mut b = FixtureBuilder::new();
    for i in 1..=6 {
        let name = format!("t{i}");
        let tags: Vec<&str> = if i == 6 {
            vec![name.as_str(), "latest"]
        } else {
            vec![name.as_str()]
        };
        b.image(
            "svc",
            &tags,
            ImageSpec::new(Format::Oci, vec![Layer::text(&format!("killed-svc-{i}"))])
                .created(&format!("2024-03-0{i}T00:00:00Z")),
        );
    }
    for i in 1..=2 {
        b.image(
            "base",
            &[&i.to_string()],
            ImageSpec::new(Format::Oci, vec![Layer::text(&format!("killed-base-{i}"))])
                .created(&format!("2024-02-0{i}T00:00:00Z")),
        );
    }
    b
}

/// Audit results by digest, in order.
fn results_by_digest(audit: &[AuditEntry]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in audit {
        out.entry(e.digest.clone())
            .or_default()
            .push(e.result.clone());
    }
    out
}

/// Runs the cleanup with its first DELETE let through and every later one held at the proxy
/// (so the apply cannot run past the second step, however fast or slow the machine), kills it
/// (SIGKILL) when `kill_when` holds for the audit log and the number of DELETEs held, lets
/// the held DELETEs reach the registry, and checks the state it left and a rerun. Returns
/// the audit results by digest at the moment of the kill.
fn kill_mid_apply(kill_when: fn(&[AuditEntry], usize) -> bool) -> BTreeMap<String, Vec<String>> {
    let registry = TestRegistry::start_with(RegistryOptions {
        access_log: true,
        ..RegistryOptions::default()
    });
    let truth = registry.push(&fixture());
    let proxy = FaultProxy::start(&registry.addr());
    let gate = Gate::new();
    proxy.add(Rule::first(
        1,
        "DELETE",
        "/v2/",
        Fault::Latency(Duration::ZERO),
    ));
    proxy.add(Rule::always("DELETE", "/v2/", Fault::Hold(gate.clone())));
    let addr = proxy.addr();
    let sandbox = Sandbox::new();
    let args = ["cleanup", addr.as_str(), "--keep-last", "3"];

    // The plan, from a dry run.
    let dry = sandbox.run(&[&args[..], &["--json"]].concat());
    dry.ok();
    let plan: Value = dry.json();
    let gone = planned_gone(&plan);
    let planned: BTreeSet<Digest> = gone.manifests.iter().map(|(_, d)| d.clone()).collect();
    let expected: BTreeSet<Digest> = (1..=4)
        .map(|i| truth.tagged("svc", &format!("t{i}")).digest.clone())
        .collect();
    assert_eq!(planned, expected, "the plan deletes t1 .. t4");

    // The apply, killed mid-way.
    let mut child = sandbox
        .std_command()
        .args(args)
        .args(["--apply", "--yes"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start regatta");
    let journal = Journal::new(sandbox.data_dir());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let held = proxy.count("DELETE", "/v2/").saturating_sub(1);
        if kill_when(&journal.audit(), held) {
            break;
        }
        if let Some(status) = child.try_wait().expect("poll regatta") {
            panic!(
                "regatta ended ({status}) before the kill; the audit log: {:#?}",
                journal.audit()
            );
        }
        assert!(Instant::now() < deadline, "the apply never got that far");
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().expect("SIGKILL regatta");
    let status = child.wait().expect("wait for regatta");
    assert_eq!(status.signal(), Some(9), "killed, not finished: {status}");
    // A DELETE on its way finishes at the registry; let it, before looking.
    gate.open();
    proxy.wait_idle(Duration::from_secs(5));

    let audit = journal.audit();
    let at_kill = results_by_digest(&audit);
    assert!(
        at_kill
            .values()
            .filter(|r| r.contains(&"done".into()))
            .count()
            < planned.len(),
        "the kill came too late to interrupt anything: {at_kill:#?}"
    );
    let client = registry.client();
    let present = |digest: &Digest| {
        support::block_on(async {
            match client
                .get_manifest(&repo("svc"), &ManifestRef::Digest(digest.clone()))
                .await
            {
                Ok(_) => true,
                Err(e) if e.is_not_found() => false,
                Err(e) => panic!("svc@{digest}: {e}"),
            }
        })
    };
    for digest in &planned {
        let results = at_kill.get(digest.as_str()).cloned().unwrap_or_default();
        let started = results.iter().any(|r| r == "started");
        let done = results.iter().any(|r| r == "done");
        assert!(
            results.iter().all(|r| r == "started" || r == "done"),
            "{digest}: {results:?}"
        );
        if done {
            assert!(
                !present(digest),
                "{digest} has a done line but is still there"
            );
        } else if !started {
            assert!(present(digest), "{digest} was never started but is gone");
            let tags = truth.tags_on("svc", digest);
            for t in &tags {
                let now = support::block_on(resolve(&client, "svc", t))
                    .unwrap_or_else(|e| panic!("svc:{t} (never started): {e}"));
                assert_eq!(&now, digest, "svc:{t}");
            }
        }
        // started without done: either, the registry decides; the rerun settles it.
    }
    // Every started step has its backup, holding the exact manifest bytes.
    for e in audit.iter().filter(|e| e.result == "started") {
        let id = e
            .backup
            .as_deref()
            .expect("a started line names its backup");
        let meta = journal.load_backup(id).expect("the backup exists");
        assert_eq!(meta.digest, e.digest);
        assert_eq!(meta.tags, e.tags);
        let bytes = journal
            .backup_manifest(id, &e.digest)
            .expect("the manifest bytes are backed up");
        assert_eq!(Digest::sha256_of(&bytes).as_str(), e.digest);
    }
    // A backup without a started line (killed in between) stands for nothing deleted.
    let started: BTreeSet<&str> = audit
        .iter()
        .filter(|e| e.result == "started")
        .filter_map(|e| e.backup.as_deref())
        .collect();
    for meta in journal.backups() {
        if !started.contains(meta.id.as_str()) {
            assert!(present(&Digest::parse(&meta.digest).expect("digest")));
        }
    }

    // The rerun, with no rule left: it finishes the plan.
    proxy.clear();
    let rerun = Run::of(
        sandbox
            .command()
            .args(args)
            .args(["--apply", "--yes", "--json"])
            .timeout(Duration::from_secs(30)),
    );
    assert_eq!(rerun.code, Some(0), "{}", rerun.describe());
    for digest in &planned {
        assert!(!present(digest), "{digest} survived the rerun");
    }
    // No kept tag was lost: everything outside the plan resolves where it did.
    let after = truth_after(&truth, &gone);
    let mut kept = 0;
    for (name, r) in &after.repos {
        for (t, digest) in &r.tags {
            let now = support::block_on(resolve(&client, name, t))
                .unwrap_or_else(|e| panic!("kept tag {name}:{t} is lost: {e}"));
            assert_eq!(&now, digest, "kept tag {name}:{t} moved");
            kept += 1;
        }
    }
    assert_eq!(kept, 5, "t5, t6, latest, base:1, base:2");
    // Nothing was deleted twice: one 202 per digest at the registry, and no other DELETE.
    let log = registry.access_log_since(0);
    for digest in &planned {
        let target = format!("/v2/svc/manifests/{digest}");
        let answers: Vec<u16> = log
            .iter()
            .filter(|e| e.method == "DELETE" && e.target == target)
            .map(|e| e.status)
            .collect();
        assert_eq!(answers, [202], "DELETE {target}");
        assert_eq!(proxy.count_status("DELETE", &target, 202), 1, "{target}");
    }
    assert_eq!(proxy.count("DELETE", "/v2/"), planned.len());
    // The audit log ends with every planned digest done exactly once, or (a DELETE in
    // flight at the kill) started and never done: then the rerun found its tags gone.
    let final_results = results_by_digest(&journal.audit());
    for digest in &planned {
        let results = &final_results[digest.as_str()];
        let done = results.iter().filter(|r| *r == "done").count();
        let interrupted = results == &["started"];
        assert!(done == 1 || interrupted, "{digest}: {results:?}");
    }
    at_kill
}

#[test]
fn killed_right_after_the_first_done_line_the_journal_is_true_and_a_rerun_finishes() {
    let at_kill = within(Duration::from_secs(50), || {
        kill_mid_apply(|audit, _| audit.iter().any(|e| e.result == "done"))
    });
    let done = at_kill
        .values()
        .filter(|r| r.contains(&"done".to_string()))
        .count();
    assert!(done >= 1, "{at_kill:#?}");
}

#[test]
fn killed_while_a_delete_is_on_its_way_the_journal_is_true_and_a_rerun_finishes() {
    // After the first done line, the next step's started line, and its DELETE held at the
    // proxy: on its way, and it stays so until the kill.
    let at_kill = within(Duration::from_secs(50), || {
        kill_mid_apply(|audit, held| {
            held >= 1
                && audit
                    .iter()
                    .position(|e| e.result == "done")
                    .is_some_and(|at| audit[at + 1..].iter().any(|e| e.result == "started"))
        })
    });
    assert!(
        at_kill.values().any(|r| r == &["started"]),
        "a step was in flight: {at_kill:#?}"
    );
}
