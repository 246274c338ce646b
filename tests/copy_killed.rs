//! `regatta cp --apply` killed with SIGKILL in the middle of a copy, then run again: the rerun
//! completes and moves only what was still missing, and a client polling the destination the
//! whole time never sees a tag pointing at an incomplete image. Also: a source that serves a
//! blob whose bytes do not match its digest (its storage altered on disk) gets that blob
//! refused on the way, and nothing that needs it is pushed or tagged.

mod support;

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use regatta::registry::{Digest, ManifestRef};
use support::cli::Sandbox;
use support::copy::{copy_fixture, every_tag_complete, is_blob_upload, stored_blobs};
use support::fault_proxy::{Fault, FaultProxy, Rule};
use support::registry::{RegistryOptions, TestRegistry};
use support::truth::{Fixture, repo, tag};

fn logged() -> TestRegistry {
    TestRegistry::start_with(RegistryOptions {
        access_log: true,
        ..RegistryOptions::default()
    })
}

/// Every blob of `team/multi` (both indexes), without manifests.
fn multi_blobs(truth: &Fixture) -> std::collections::BTreeSet<Digest> {
    truth.repos["team/multi"]
        .manifests
        .values()
        .flat_map(|m| m.blobs.keys().cloned())
        .collect()
}

/// Waits for `condition`, checking it every few milliseconds; fails after a minute (a hang,
/// not a slow machine: the condition is an event the copy must reach).
fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !condition() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_copy_killed_mid_way_resumes_and_no_tag_ever_points_at_an_incomplete_image() {
    let source = TestRegistry::start();
    let destination = logged();
    let truth = source.push(&copy_fixture());
    let blobs = multi_blobs(&truth);
    // One layer of 2.0's arm64 platform never arrives on the first run: its GET stalls.
    let index = truth.tagged("team/multi", "2.0");
    let (arm64, _) = index
        .children
        .iter()
        .find(|(_, p)| p == "linux/arm64")
        .expect("an arm64 child");
    let stalled = truth.manifest("team/multi", arm64).layers[1].clone();
    let proxy = FaultProxy::start(&source.addr());
    proxy.add(Rule::always(
        "GET",
        &format!("/v2/team/multi/blobs/{stalled}"),
        Fault::Stall,
    ));
    let sandbox = Sandbox::new();
    let src = format!("{}/team/multi", proxy.addr());
    let dst = format!("{}/team/multi", destination.addr());
    let args = ["cp", &src, &dst, "--all-tags", "--apply"];

    // A client of the destination checks every tag's image over and over, from the start of
    // the first run to the end of the second.
    let stop = Arc::new(AtomicBool::new(false));
    let poller = {
        let stop = stop.clone();
        let client = destination.client();
        std::thread::spawn(move || {
            support::block_on(async move {
                let (mut rounds, mut wrong) = (0usize, Vec::new());
                while !stop.load(Ordering::Relaxed) {
                    if let Err(e) = every_tag_complete(&client).await {
                        wrong.push(e);
                    }
                    rounds += 1;
                }
                (rounds, wrong)
            })
        })
    };

    let mut first = sandbox
        .std_command()
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start regatta cp");
    // Mid-copy: every other blob is on the destination and the stalled one is asked for.
    wait_for("every blob but the stalled one on the destination", || {
        let stored = stored_blobs(&destination);
        blobs
            .iter()
            .filter(|d| **d != stalled)
            .all(|d| stored.contains_key(d))
    });
    wait_for("the stalled GET", || {
        proxy.count("GET", &format!("/v2/team/multi/blobs/{stalled}")) >= 1
    });
    first.kill().expect("SIGKILL regatta");
    first.wait().expect("reap regatta");

    // Killed mid-way: manifests whose blobs are all there may be too (1.0 need not wait for
    // 2.0's blobs), but nothing that needs the stalled blob: not its platform's manifest,
    // not the index listing it, not the tag on that index.
    let stored = stored_blobs(&destination);
    let (arm64, index) = (arm64.clone(), index.digest.clone());
    for missing in [&stalled, &arm64, &index] {
        assert!(
            !stored.contains_key(missing),
            "{missing} is stored: {stored:?}"
        );
    }
    let tagged = support::block_on(
        destination
            .client()
            .head_manifest(&repo("team/multi"), &ManifestRef::Tag(tag("2.0"))),
    );
    assert!(tagged.is_err(), "2.0 is tagged: {tagged:?}");

    proxy.clear();
    let mut rerun_args = args.to_vec();
    rerun_args.push("--json");
    let report = sandbox.run(&rerun_args).ok().json();
    stop.store(true, Ordering::Relaxed);
    let (rounds, wrong) = poller.join().expect("the poller");
    assert!(
        wrong.is_empty(),
        "a tag pointed at an incomplete image: {wrong:?}"
    );
    assert!(rounds > 0);

    // The rerun moved only the blob that was missing: over both runs, the destination
    // received each blob's bytes once (a request of the killed run may be logged after the
    // kill, so uploads are counted per digest over the whole log, not per run).
    assert_eq!(report["outcome"]["blobs_transferred"], 1, "{report}");
    let transferred: Vec<&str> = report["plan"]["blobs"]
        .as_array()
        .expect("blobs")
        .iter()
        .filter(|b| b["action"] == "transfer")
        .filter_map(|b| b["digest"].as_str())
        .collect();
    assert_eq!(transferred, [stalled.as_str()]);
    let log = destination.access_log_since(0);
    for digest in &blobs {
        let puts = log
            .iter()
            .filter(|e| is_blob_upload(e) && e.status == 201)
            .filter(|e| {
                e.target
                    .contains(&format!("digest={}", digest.as_str().replace(':', "%3A")))
            })
            .count();
        assert_eq!(puts, 1, "{digest} was uploaded {puts} times");
    }
    for t in ["1.0", "2.0"] {
        let head = support::block_on(
            destination
                .client()
                .head_manifest(&repo("team/multi"), &ManifestRef::Tag(tag(t))),
        )
        .expect("the tag is on the destination");
        assert_eq!(head.digest, truth.tagged("team/multi", t).digest);
    }
    let complete = support::block_on(every_tag_complete(&destination.client()));
    assert_eq!(complete, Ok(2));
}

#[test]
fn a_blob_whose_bytes_do_not_match_its_digest_is_refused_and_nothing_needing_it_is_tagged() {
    let source = TestRegistry::start();
    let destination = logged();
    let truth = source.push(&copy_fixture());
    let v1 = truth.tagged("team/app", "v1");
    let v2 = truth.tagged("team/app", "v2");
    // v1's own layer is altered in the source's storage, its length kept.
    let bad = v1.layers[1].clone();
    let hex = bad.hex();
    let data = source
        .storage_root()
        .join("docker/registry/v2/blobs/sha256")
        .join(&hex[..2])
        .join(hex)
        .join("data");
    let mut bytes = std::fs::read(&data).expect("read the blob");
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&data, &bytes).expect("alter the blob");

    let sandbox = Sandbox::new();
    let src = format!("{}/team/app", source.addr());
    let dst = format!("{}/team/app", destination.addr());
    let run = sandbox.run(&["cp", &src, &dst, "--all-tags", "--apply"]);
    assert_eq!(run.code, Some(1), "{}", run.describe());
    let actual = Digest::sha256_of(&bytes);
    assert!(
        run.stdout.contains(&format!(
            "failed: blob {bad} into team/app: the source sent bytes that hash to {actual}, not {bad}"
        )),
        "{}",
        run.describe()
    );
    assert!(
        run.stdout.contains("failed: tag team/app:v1"),
        "{}",
        run.stdout
    );
    // Not on the destination under its digest, nor under the wrong one; v1 is not tagged.
    let stored = stored_blobs(&destination);
    assert!(!stored.contains_key(&bad));
    assert!(!stored.contains_key(&actual));
    let client = destination.client();
    let head = |t: &str| {
        support::block_on(client.head_manifest(&repo("team/app"), &ManifestRef::Tag(tag(t))))
    };
    assert!(head("v1").is_err());
    // v2 and latest, which do not need it, were copied.
    assert_eq!(head("v2").expect("v2").digest, v2.digest);
    assert_eq!(head("latest").expect("latest").digest, v2.digest);
}
