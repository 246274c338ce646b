//! The binary against a real registry behind the fault proxy (`support::fault_proxy`): what a
//! flaky network or an overloaded registry does to `tags`, `inspect`, `ls`, `du` and `rm`.
//!
//! - A fault that passes (two 500s, a 429 with Retry-After, a reset mid-body, a short body)
//!   is retried for reads, and the answer equals the ground truth; the proxy counts the
//!   retries.
//! - A fault that stays (500 or 429 every time, a registry that never answers, a catalog that
//!   serves the same page forever) ends in one clear line naming the URL, after the number
//!   of requests the proxy counts (one for a stall: it is not sent again), not after a time
//!   the test measures.
//! - A scan whose parts fail is reported incomplete, never complete.
//! - A DELETE or PUT that fails is not sent again.
//! - Requests in flight at once never exceed `--concurrency`.
//!
//! Every test runs inside [`within`], so a hang fails the test instead of stalling the run;
//! that generous limit is the only upper bound on time. Lower bounds (a Retry-After waited
//! out) are asserted: time only runs forward, so they cannot fail on a busy machine.

mod support;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::cli::{Run, Sandbox};
use support::fault_proxy::{Fault, FaultProxy, Rule};
use support::fixtures::FixtureBuilder;
use support::image::{Format, ImageSpec, Layer};
use support::registry::{RegistryOptions, TestRegistry};
use support::truth::{Fixture, ManifestTruth};
use support::within;

/// `app`: `v1` (an image with labels and env), `v2` (a two-platform index); `tools`: `1.0`;
/// `broken-tags` and `broken-manifest`: one image each, for the scans whose parts fail.
fn fixture() -> FixtureBuilder {
    let mut b = FixtureBuilder::new();
    b.image(
        "app",
        &["v1"],
        ImageSpec::new(
            Format::Oci,
            vec![
                Layer::random("faults-base", 6_000),
                Layer::random("faults-app", 9_000),
            ],
        )
        .env("MODE=faulty")
        .label("org.opencontainers.image.title", "app"),
    );
    b.index(
        "app",
        &["v2"],
        Format::Oci,
        vec![
            ImageSpec::new(Format::Oci, vec![Layer::random("faults-amd64", 3_000)]),
            ImageSpec::new(Format::Oci, vec![Layer::random("faults-arm64", 4_000)]).platform(
                "linux",
                "arm64",
                Some("v8"),
            ),
        ],
    );
    b.image(
        "tools",
        &["1.0"],
        ImageSpec::new(Format::Docker, vec![Layer::text("faults-tools")]),
    );
    for name in ["broken-tags", "broken-manifest"] {
        b.image(
            name,
            &["1"],
            ImageSpec::new(Format::Oci, vec![Layer::text(name)]),
        );
    }
    b
}

/// One registry for the tests that only read; each test puts a proxy of its own in front.
fn shared() -> &'static (TestRegistry, Fixture) {
    static SHARED: OnceLock<(TestRegistry, Fixture)> = OnceLock::new();
    SHARED.get_or_init(|| {
        let registry = TestRegistry::start();
        let truth = registry.push(&fixture());
        (registry, truth)
    })
}

/// A sandbox whose requests give up after `timeout_secs`.
fn sandbox(timeout_secs: u64) -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox.write_default_config(&format!("[defaults]\ntimeout_secs = {timeout_secs}\n"));
    sandbox
}

/// Runs the binary, killed after 30 s whatever happens; returns the run and how long it took.
fn run_bin(sandbox: &Sandbox, args: &[&str]) -> (Run, Duration) {
    let start = Instant::now();
    let run = Run::of(
        sandbox
            .command()
            .args(args)
            .timeout(Duration::from_secs(30)),
    );
    (run, start.elapsed())
}

/// `inspect --json` of an image or index against its ground truth.
fn check_inspect(report: &Value, fixture: &Fixture, repo: &str, truth: &ManifestTruth) {
    let at = format!("{repo}@{}", truth.digest);
    assert_eq!(report["digest"], truth.digest.to_string(), "{at}");
    assert_eq!(report["media_type"], truth.media_type, "{at}");
    assert_eq!(report["size"], truth.size, "{at}");
    assert_eq!(report["manifest_bytes"], truth.manifest_size, "{at}");
    let check_image = |got: &Value, image: &ManifestTruth| {
        let layers: Vec<&str> = got["layers"]
            .as_array()
            .expect("layers[]")
            .iter()
            .map(|l| l["digest"].as_str().expect("a digest"))
            .collect();
        let want: Vec<String> = image.layers.iter().map(|d| d.to_string()).collect();
        assert_eq!(layers, want, "layers of {at}");
        let config = &got["config"];
        assert_eq!(
            config["digest"],
            image.config.as_ref().expect("a config").to_string(),
            "{at}"
        );
        let document: Value =
            serde_json::from_slice(image.config_document.as_ref().expect("a config document"))
                .expect("config JSON");
        assert_eq!(config["env"], document["config"]["Env"], "env of {at}");
        let labels = document["config"]
            .get("Labels")
            .cloned()
            .unwrap_or_else(|| serde_json::json!({}));
        assert_eq!(config["labels"], labels, "labels of {at}");
        assert_eq!(config["history"], document["history"], "history of {at}");
    };
    if truth.is_index {
        let manifests = report["manifests"].as_array().expect("manifests[]");
        assert_eq!(manifests.len(), truth.children.len(), "{at}");
        for (got, (digest, _)) in manifests.iter().zip(&truth.children) {
            assert_eq!(got["digest"], digest.to_string(), "{at}");
            check_image(got, fixture.manifest(repo, digest));
        }
    } else {
        check_image(report, truth);
    }
}

/// Reads `app`'s tags and inspects `app:v1` and `app:v2` through a proxy that applies
/// `fault` to the first `times` requests of each kind (tag list, manifests, blobs); checks
/// the answers against the ground truth and that each kind was retried `times` times.
/// Returns how long the reads took.
fn reads_recover_from(fault: Fault, times: usize) -> Duration {
    let (registry, truth) = shared();
    let proxy = FaultProxy::start(&registry.addr());
    let paths = ["/v2/app/tags/list", "/v2/app/manifests/", "/v2/app/blobs/"];
    for path in paths {
        proxy.add(Rule::first(times, "GET", path, fault.clone()));
    }
    let sandbox = sandbox(10);
    let addr = proxy.addr();
    let started = Instant::now();

    let (tags, _) = run_bin(&sandbox, &["tags", &format!("{addr}/app"), "--json"]);
    tags.ok();
    assert_eq!(
        tags.json_strings(),
        truth.tags("app"),
        "{}",
        tags.describe()
    );
    for tag in ["v1", "v2"] {
        let (inspect, _) = run_bin(
            &sandbox,
            &["inspect", &format!("{addr}/app:{tag}"), "--json"],
        );
        inspect.ok();
        check_inspect(&inspect.json(), truth, "app", truth.tagged("app", tag));
    }
    let elapsed = started.elapsed();

    let seen = proxy.requests();
    for path in paths {
        let of_path: Vec<_> = seen.iter().filter(|s| s.target.starts_with(path)).collect();
        let faulted = of_path.iter().filter(|s| s.fault.is_some()).count();
        assert_eq!(faulted, times, "{path}: {of_path:#?}");
        if !matches!(fault, Fault::Latency(_)) {
            // The faults were followed by retries that got the registry's own 200.
            assert!(
                of_path.iter().any(|s| s.fault.is_none()),
                "{path}: {of_path:#?}"
            );
        }
        assert!(
            of_path
                .iter()
                .all(|s| s.fault.is_some() || s.status == Some(200)),
            "{path}: {of_path:#?}"
        );
    }
    elapsed
}

#[test]
fn two_500s_are_retried_and_the_answers_are_right() {
    within(Duration::from_secs(40), || {
        reads_recover_from(Fault::status(500), 2);
    });
}

#[test]
fn a_429_with_retry_after_is_waited_out_and_the_answers_are_right() {
    within(Duration::from_secs(40), || {
        let elapsed = reads_recover_from(Fault::too_many_requests(), 1);
        // Retry-After: 1 on the tag list, the manifest and the config: at least three waits
        // of a second each, in the runs that met them.
        assert!(elapsed >= Duration::from_secs(3), "{elapsed:?}");
    });
}

#[test]
fn a_connection_reset_mid_body_is_retried_and_the_answers_are_right() {
    within(Duration::from_secs(40), || {
        reads_recover_from(Fault::ResetMidBody, 1);
    });
}

#[test]
fn a_body_shorter_than_announced_is_retried_and_the_answers_are_right() {
    within(Duration::from_secs(40), || {
        reads_recover_from(Fault::TruncateBody, 1);
    });
}

#[test]
fn latency_within_the_timeout_changes_nothing() {
    within(Duration::from_secs(40), || {
        reads_recover_from(Fault::Latency(Duration::from_millis(300)), 1);
    });
}

#[test]
fn a_persistent_500_is_one_line_naming_the_url_after_three_retries() {
    within(Duration::from_secs(40), || {
        let (registry, _) = shared();
        let proxy = FaultProxy::start(&registry.addr());
        proxy.add(Rule::always("GET", "/v2/app/tags/list", Fault::status(500)));
        let addr = proxy.addr();
        let (run, _) = run_bin(&sandbox(10), &["tags", &format!("{addr}/app")]);
        run.fails_with_one_line(&[
            &format!("500 from http://{addr}/v2/app/tags/list?n=1000"),
            "the registry failed (server error)",
            "injected by the fault proxy",
        ]);
        assert_eq!(
            proxy.count("GET", "/v2/app/tags/list"),
            4,
            "one try, three retries"
        );
    });
}

#[test]
fn a_body_that_always_breaks_off_is_one_line_naming_the_url_after_three_retries() {
    within(Duration::from_secs(40), || {
        let (registry, _) = shared();
        for fault in [Fault::TruncateBody, Fault::ResetMidBody] {
            let proxy = FaultProxy::start(&registry.addr());
            proxy.add(Rule::always("GET", "/v2/app/tags/list", fault.clone()));
            let addr = proxy.addr();
            let (run, _) = run_bin(&sandbox(10), &["tags", &format!("{addr}/app")]);
            run.fails_with_one_line(&[
                "cannot reach 127.0.0.1: ",
                &format!("the body of http://{addr}/v2/app/tags/list?n=1000 broke off"),
            ]);
            assert_eq!(proxy.count("GET", "/v2/app/tags/list"), 4, "{fault:?}");
        }
    });
}

#[test]
fn a_persistent_429_is_one_line_after_waiting_out_each_retry_after() {
    within(Duration::from_secs(40), || {
        let (registry, _) = shared();
        let proxy = FaultProxy::start(&registry.addr());
        proxy.add(Rule::always(
            "GET",
            "/v2/app/tags/list",
            Fault::too_many_requests(),
        ));
        let addr = proxy.addr();
        let (run, elapsed) = run_bin(&sandbox(10), &["tags", &format!("{addr}/app")]);
        run.fails_with_one_line(&[&format!(
            "429 Too Many Requests from {addr}: still rate-limited after 4 attempts"
        )]);
        assert_eq!(proxy.count("GET", "/v2/app/tags/list"), 4);
        assert!(elapsed >= Duration::from_secs(3), "{elapsed:?}");
    });
}

#[test]
fn a_registry_that_never_answers_is_a_timeout_naming_the_url_not_a_hang() {
    within(Duration::from_secs(30), || {
        let (registry, _) = shared();
        let proxy = FaultProxy::start(&registry.addr());
        proxy.add(Rule::always("GET", "/v2/app/tags/list", Fault::Stall));
        let addr = proxy.addr();
        let (run, _) = run_bin(&sandbox(1), &["tags", &format!("{addr}/app")]);
        // The sentence is written when the configured 1 s runs out (not a default of 30 s).
        run.fails_with_one_line(&[&format!(
            "http://{addr}/v2/app/tags/list?n=1000 did not answer within 1 s"
        )]);
        // The timeout is the time given: a stalled request is not sent again (three more
        // stalls would quadruple the wait before anything is said). Counted, not timed.
        assert_eq!(proxy.count("GET", "/v2/app/tags/list"), 1);

        // A stall on the manifest of `inspect` reads the same way.
        proxy.add(Rule::always("GET", "/v2/app/manifests/v1", Fault::Stall));
        let (run, _) = run_bin(&sandbox(1), &["inspect", &format!("{addr}/app:v1")]);
        run.fails_with_one_line(&[&format!(
            "http://{addr}/v2/app/manifests/v1 did not answer within 1 s"
        )]);
        assert_eq!(proxy.count("GET", "/v2/app/manifests/v1"), 1);
    });
}

#[test]
fn a_catalog_serving_the_same_page_forever_is_a_pagination_loop_sentence() {
    within(Duration::from_secs(30), || {
        let (registry, _) = shared();
        for (fault, requests) in [
            // `next` is the URL just requested: caught before asking again.
            (Fault::SamePageForever, 1),
            // `next` is always a new URL: caught when the page repeats.
            (Fault::SamePageUnderNewUrls, 2),
        ] {
            let proxy = FaultProxy::start(&registry.addr());
            proxy.add(Rule::always("GET", "/v2/_catalog", fault.clone()));
            let addr = proxy.addr();
            let (run, _) = run_bin(&sandbox(10), &["ls", &addr]);
            run.fails_with_one_line(&[
                &format!("http://{addr}/v2/_catalog?"),
                "served a page it had already served; stopping to avoid an endless loop",
            ]);
            assert_eq!(proxy.count("GET", "/v2/_catalog"), requests, "{fault:?}");
            // `du` needs the catalog too, and stops the same way.
            let (run, _) = run_bin(&sandbox(10), &["du", &addr, "--json"]);
            run.fails_with_one_line(&["served a page it had already served"]);
        }
    });
}

#[test]
fn a_scan_whose_parts_fail_for_good_is_incomplete_never_complete() {
    within(Duration::from_secs(40), || {
        let (registry, truth) = shared();
        let proxy = FaultProxy::start(&registry.addr());
        let addr = proxy.addr();
        let sandbox = sandbox(10);

        // First with nothing failing: complete, and quiet.
        let (run_ok, _) = run_bin(&sandbox, &["du", &addr, "--json"]);
        run_ok.ok();
        let report = run_ok.json();
        assert_eq!(report["complete"], true, "{}", run_ok.describe());
        assert_eq!(report["failures"], serde_json::json!([]));

        // A tag list and a manifest that fail every time.
        let broken = truth.tagged("broken-manifest", "1").digest.clone();
        proxy.add(Rule::always(
            "GET",
            "/v2/broken-tags/tags/list",
            Fault::status(500),
        ));
        proxy.add(Rule::always(
            "GET",
            &format!("/v2/broken-manifest/manifests/{broken}"),
            Fault::status(503),
        ));
        // A fresh cache, or the manifest would come from the first run's.
        let sandbox = self::sandbox(10);
        let (run, _) = run_bin(&sandbox, &["du", &addr, "--json"]);
        run.ok_with_stderr().no_panic();
        let report = run.json();
        assert_eq!(report["complete"], false, "{}", run.describe());
        let failures: Vec<(String, String)> = report["failures"]
            .as_array()
            .expect("failures[]")
            .iter()
            .map(|f| {
                (
                    f["what"].as_str().expect("what").to_string(),
                    f["error"].as_str().expect("error").to_string(),
                )
            })
            .collect();
        assert_eq!(failures.len(), 2, "{failures:#?}");
        let find = |what: &str| {
            failures
                .iter()
                .find(|(w, _)| w == what)
                .unwrap_or_else(|| panic!("no failure {what:?} in {failures:#?}"))
        };
        let (_, tags_error) = find("tags of broken-tags");
        assert!(
            tags_error.starts_with(&format!(
                "500 from http://{addr}/v2/broken-tags/tags/list?n=1000"
            )),
            "{tags_error}"
        );
        let (_, manifest_error) = find(&format!("broken-manifest@{broken}"));
        assert!(manifest_error.starts_with("503 from "), "{manifest_error}");
        // Both were retried before being given up.
        assert_eq!(
            proxy.count_status("GET", "/v2/broken-tags/tags/list", 500),
            4
        );
        assert_eq!(
            proxy.count_status(
                "GET",
                &format!("/v2/broken-manifest/manifests/{broken}"),
                503
            ),
            4
        );
        // The warning goes to stderr even with --json, naming each failure.
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(
            lines.first().copied(),
            Some(
                "regatta: warning: the scan is incomplete (2 failures); the numbers leave those parts out:"
            ),
            "{}",
            run.describe()
        );
        assert!(run.stderr.contains("  tags of broken-tags: 500 from "));
        // What could be read is still right.
        let repos = report["repositories"].as_array().expect("repositories[]");
        let app = repos
            .iter()
            .find(|r| r["repository"] == "app")
            .expect("app is reported");
        assert_eq!(app["tags"], truth.tags("app").len());
        assert_eq!(app["logical_bytes"], {
            let r = truth.repo("app");
            r.tags.values().map(|d| r.manifests[d].size).sum::<u64>()
        });

        // The audit of the same broken registry says so too, and lists the same failures.
        let (audit, _) = run_bin(&self::sandbox(10), &["audit", &addr, "--json"]);
        audit.ok_with_stderr().no_panic();
        let report = audit.json();
        assert_eq!(report["complete"], false, "{}", audit.describe());
        let failures = report["failures"].as_array().expect("failures[]");
        assert_eq!(failures.len(), 2, "{failures:#?}");
        assert!(
            failures.iter().any(|f| f["what"] == "tags of broken-tags"
                && f["error"]
                    .as_str()
                    .is_some_and(|e| e.starts_with("500 from "))),
            "{failures:#?}"
        );
        assert!(
            audit
                .stderr
                .contains("regatta: warning: the scan is incomplete (2 failures)"),
            "{}",
            audit.describe()
        );
        // Each failure is named, as `du` names them.
        assert!(
            audit.stderr.contains("  tags of broken-tags: 500 from "),
            "{}",
            audit.describe()
        );
    });
}

#[test]
fn requests_in_flight_never_exceed_the_concurrency() {
    within(Duration::from_secs(40), || {
        let (registry, _) = shared();
        let proxy = FaultProxy::start(&registry.addr());
        // Slow answers, so that every request the scan allows itself piles up at the proxy.
        let slow = Fault::Latency(Duration::from_millis(100));
        proxy.add(Rule::always("GET", "/v2/", slow.clone()));
        proxy.add(Rule::always("HEAD", "/v2/", slow));
        let addr = proxy.addr();
        let (run, _) = run_bin(&sandbox(10), &["du", &addr, "--json", "--concurrency", "2"]);
        run.ok();
        assert_eq!(run.json()["complete"], true);
        assert_eq!(proxy.peak_concurrency(), 2, "{:#?}", proxy.requests());

        // The default allows eight.
        let proxy = FaultProxy::start(&registry.addr());
        let slow = Fault::Latency(Duration::from_millis(100));
        proxy.add(Rule::always("GET", "/v2/", slow.clone()));
        proxy.add(Rule::always("HEAD", "/v2/", slow));
        let (run, _) = run_bin(&sandbox(10), &["du", &proxy.addr(), "--json"]);
        run.ok();
        let peak = proxy.peak_concurrency();
        assert!((3..=8).contains(&peak), "peak {peak}");
    });
}

/// `w`: `a` and `b` on images of their own; `c` and `c-alias` on a third.
fn writes_fixture() -> FixtureBuilder {
    let mut b = FixtureBuilder::new();
    for (tags, seed) in [
        (&["a"][..], "w-a"),
        (&["b"][..], "w-b"),
        (&["c", "c-alias"][..], "w-c"),
    ] {
        b.image(
            "w",
            tags,
            ImageSpec::new(Format::Oci, vec![Layer::text(seed)]),
        );
    }
    b
}

#[test]
fn a_failed_delete_or_put_is_not_sent_again() {
    within(Duration::from_secs(50), || {
        let registry = TestRegistry::start_with(RegistryOptions {
            access_log: true,
            ..RegistryOptions::default()
        });
        let truth = registry.push(&writes_fixture());
        let proxy = FaultProxy::start(&registry.addr());
        let addr = proxy.addr();
        let sandbox = sandbox(10);
        let digest = |t: &str| truth.tagged("w", t).digest.clone();
        let deletes_of = |t: &str| {
            registry
                .access_log()
                .iter()
                .filter(|e| {
                    e.method == "DELETE" && e.target == format!("/v2/w/manifests/{}", digest(t))
                })
                .map(|e| e.status)
                .collect::<Vec<u16>>()
        };

        // A DELETE answered 500: not sent again; the image is still there.
        proxy.add(Rule::first(
            1,
            "DELETE",
            "/v2/w/manifests/",
            Fault::status(500),
        ));
        let (run_a, _) = run_bin(
            &sandbox,
            &["rm", &format!("{addr}/w:a"), "--apply", "--yes"],
        );
        assert_eq!(run_a.code, Some(1), "{}", run_a.describe());
        assert!(
            run_a.stderr.contains(&format!(
                "regatta: delete w@{} FAILED: 500 from http://{addr}/v2/w/manifests/{}",
                digest("a"),
                digest("a")
            )),
            "{}",
            run_a.describe()
        );
        assert_eq!(proxy.count("DELETE", "/v2/w/manifests/"), 1);
        assert_eq!(
            deletes_of("a"),
            Vec::<u16>::new(),
            "the registry never saw it"
        );
        let client = registry.client();
        support::block_on(async {
            support::cleanup::resolve(&client, "w", "a")
                .await
                .expect("w:a is still there")
        });
        // Run again: deleted once.
        let (again, _) = run_bin(
            &sandbox,
            &["rm", &format!("{addr}/w:a"), "--apply", "--yes"],
        );
        assert_eq!(again.code, Some(0), "{}", again.describe());
        assert_eq!(deletes_of("a"), [202]);

        // A DELETE that reached the registry but whose answer was lost (the connection reset):
        // not sent again either; the registry deleted it once.
        let before = proxy.count("DELETE", "/v2/w/manifests/");
        proxy.add(Rule::first(
            1,
            "DELETE",
            "/v2/w/manifests/",
            Fault::ResetMidBody,
        ));
        let (run_b, _) = run_bin(
            &sandbox,
            &["rm", &format!("{addr}/w:b"), "--apply", "--yes"],
        );
        assert_eq!(run_b.code, Some(1), "{}", run_b.describe());
        assert!(
            run_b
                .stderr
                .contains(&format!("regatta: delete w@{} FAILED: ", digest("b"))),
            "{}",
            run_b.describe()
        );
        assert_eq!(proxy.count("DELETE", "/v2/w/manifests/"), before + 1);
        assert_eq!(deletes_of("b"), [202]);

        // Untag by placeholder: the PUT that moves the tag answered 500 is not sent again,
        // and the tag stays where it was.
        proxy.add(Rule::first(
            1,
            "PUT",
            "/v2/w/manifests/c",
            Fault::status(500),
        ));
        let (run_c, _) = run_bin(
            &sandbox,
            &["rm", "--untag", &format!("{addr}/w:c"), "--apply", "--yes"],
        );
        assert_eq!(run_c.code, Some(1), "{}", run_c.describe());
        assert!(
            run_c.stderr.contains("FAILED: 500 from "),
            "{}",
            run_c.describe()
        );
        assert_eq!(proxy.count("PUT", "/v2/w/manifests/"), 1);
        support::block_on(async {
            for t in ["c", "c-alias"] {
                let now = support::cleanup::resolve(&client, "w", t)
                    .await
                    .unwrap_or_else(|e| panic!("w:{t}: {e}"));
                assert_eq!(now, digest("c"), "w:{t} moved");
            }
        });
        // The journal says what happened.
        let journal = regatta::cleanup::journal::Journal::new(sandbox.data_dir());
        let results: Vec<(String, String)> = journal
            .audit()
            .into_iter()
            .map(|e| (e.tags.join(","), e.result))
            .collect();
        assert_eq!(
            results,
            [
                ("a".to_string(), "started".to_string()),
                ("a".to_string(), "failed".to_string()),
                ("a".to_string(), "started".to_string()),
                ("a".to_string(), "done".to_string()),
                ("b".to_string(), "started".to_string()),
                ("b".to_string(), "failed".to_string()),
                ("c".to_string(), "started".to_string()),
                ("c".to_string(), "failed".to_string()),
            ]
        );
    });
}
