//! How fast and how lean a registry scan is, against a real `docker-registry`.
//!
//! `cargo bench --bench scan` makes a registry of 200 repositories x 25 tags (single-platform
//! images, aliases and two-platform indexes; written straight into its storage, which
//! `tests/scan_requests.rs` checks is what a push leaves) and reports:
//! - the requests a cold scan makes against the fewest the API allows (catalog pages, one tag
//!   list per repository, one HEAD per tag, one GET per distinct manifest and per distinct
//!   config);
//! - the wall time of a cold scan (empty digest cache) against a plain concurrent GET/HEAD of
//!   the same URLs at the same concurrency, which knows every URL up front;
//! - the wall time of a warm scan (digest cache filled);
//! - the peak memory (VmHWM) of a process doing a cold scan, and the memory of a synthetic
//!   storage model of 100,000 tags.
//!
//! `cargo bench --bench scan -- --latency-ms 50` puts a loopback proxy adding 50 ms to every
//! request between the client and the registry (20 repositories by default) and compares a
//! cold scan at concurrency 8 with the ideal `ceil(requests / 8) x 50 ms`, and with a
//! sequential scan (concurrency 1).
//!
//! `cargo bench --bench scan -- --check` exits 1 when a target is missed or a figure is
//! missing (the verdict logic is `scan/targets.rs`); the targets are those of the loopback run
//! (a debug build's smoke run misses its timing targets: its timings mean nothing).
//!
//! `cargo bench --bench scan -- --referrers` reports the request cost of referrer discovery
//! instead, on a fixture where every image is signed and has an SBOM (`scan/referrers.rs`).
//!
//! Options: `--repos N`, `--concurrency N`, `--latency-ms MS`, `--check`, `--referrers`. Every measurement runs in a
//! child process of its own (this binary again), so its peak memory is its own and not the
//! fixture builder's.

#[path = "../tests/support/mod.rs"]
mod support;

#[path = "scan/children.rs"]
mod children;

#[path = "scan/targets.rs"]
mod targets;

#[path = "scan/referrers.rs"]
mod referrers;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::fault_proxy::FaultProxy;
use support::fixtures::FixtureBuilder;
use support::image::{Format, ImageSpec, Layer};
use support::registry::TestRegistry;
use support::storage::MinimumRequests;
use support::truth::Fixture;
use targets::{Bound, Verdicts, figure};

const TAGS_PER_REPO: usize = 25;
/// A debug build (`cargo test --benches`) only checks that the benchmark runs: few
/// repositories and a smaller model, since its timings would mean nothing.
const SMOKE: bool = cfg!(debug_assertions);
const MODEL_TAGS: usize = if SMOKE { 10_000 } else { 100_000 };
/// Measured rounds of cold scan, warm scan and plain fetch (the default run stays near two
/// minutes on two cores).
const ROUNDS: usize = 2;

struct Args {
    repos: Option<usize>,
    concurrency: usize,
    latency_ms: Option<u64>,
    check: bool,
    /// Measure the request cost of referrer discovery instead (see `scan/referrers.rs`).
    referrers: bool,
    child: Option<String>,
    registry: Option<String>,
    cache: Option<PathBuf>,
    urls: Option<PathBuf>,
}

fn parse_args() -> Args {
    let mut args = Args {
        repos: None,
        concurrency: 8,
        latency_ms: None,
        check: false,
        referrers: false,
        child: None,
        registry: None,
        cache: None,
        urls: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        let number = |v: String| -> u64 {
            v.parse()
                .unwrap_or_else(|_| panic!("{v:?} is not a number"))
        };
        match arg.as_str() {
            "--repos" => args.repos = Some(number(value()) as usize),
            "--concurrency" => args.concurrency = number(value()).max(1) as usize,
            "--latency-ms" => args.latency_ms = Some(number(value())),
            "--check" => args.check = true,
            "--referrers" => args.referrers = true,
            "--child" => args.child = Some(value()),
            "--registry" => args.registry = Some(value()),
            "--cache" => args.cache = Some(PathBuf::from(value())),
            "--urls" => args.urls = Some(PathBuf::from(value())),
            // What cargo passes to every bench binary.
            "--bench" => {}
            other => panic!("unknown argument {other:?}"),
        }
    }
    args
}

fn main() {
    let args = parse_args();
    match args.child.as_deref() {
        None if args.referrers => referrers::run(&args),
        None => parent(&args),
        Some(mode) => {
            let report = match mode {
                "scan" => children::child_scan(&args),
                "plain" => children::child_plain(&args),
                "model" => children::child_model(),
                other => panic!("unknown child mode {other:?}"),
            };
            println!("{report}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// The fixture

/// `repos` repositories of 25 tags each: 18 single-platform images (`v1.1` .. `v1.18`),
/// `latest` = `edge` = v1.18, `stable` = v1.17, `lts` = v1.10, and two indexes of two
/// platforms (`multi-1`, `multi-2` = `multi`). Every image has the shared base layer, the
/// repository's own layer and a layer of its own; OCI and Docker repositories alternate.
fn bench_fixture(repos: usize) -> FixtureBuilder {
    let base = Layer::random("bench-base-amd64", 32 * 1024);
    let arm_base = Layer::random("bench-base-arm64", 28 * 1024);
    let mut b = FixtureBuilder::new();
    for r in 0..repos {
        let name = format!("team-{:02}/svc-{r:03}", r % 10);
        let format = if r % 2 == 0 {
            Format::Oci
        } else {
            Format::Docker
        };
        let repo_layer = Layer::text(&name);
        let image = |i: usize, base: &Layer| {
            ImageSpec::new(
                format,
                vec![
                    base.clone(),
                    repo_layer.clone(),
                    Layer::text(&format!("{name}-{i}")),
                ],
            )
            .created(&format!(
                "2024-{:02}-{:02}T00:00:00Z",
                1 + i % 12,
                1 + i % 28
            ))
            .label("org.opencontainers.image.version", &format!("1.{i}"))
        };
        for i in 1..=18 {
            let mut tags = vec![format!("v1.{i}")];
            match i {
                18 => tags.extend(["latest".to_string(), "edge".to_string()]),
                17 => tags.push("stable".to_string()),
                10 => tags.push("lts".to_string()),
                _ => {}
            }
            let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
            b.image(&name, &tags, image(i, &base));
        }
        for (k, tags) in [(1, vec!["multi-1"]), (2, vec!["multi-2", "multi"])] {
            let amd64 = image(100 + k, &base);
            let arm64 = image(200 + k, &arm_base).platform("linux", "arm64", Some("v8"));
            b.index(&name, &tags, format, vec![amd64, arm64]);
        }
    }
    b
}

// ---------------------------------------------------------------------------------------
// The parent: builds the registry, runs the children, prints the figures

fn parent(args: &Args) {
    let latency = args.latency_ms.map(Duration::from_millis);
    let repos = args.repos.unwrap_or(match (SMOKE, latency.is_some()) {
        (true, _) => 4,
        (false, true) => 20,
        (false, false) => 200,
    });
    if SMOKE {
        println!("debug build: a smoke run, timings mean nothing (use cargo bench)");
    }
    let started = Instant::now();
    println!(
        "scan benchmark: {repos} repositories x {TAGS_PER_REPO} tags, concurrency {}",
        args.concurrency
    );

    let registry = TestRegistry::start();
    let builder = bench_fixture(repos);
    let write_started = Instant::now();
    // Written straight into the storage (the scan is what is measured here, not pushing);
    // tests/scan_requests.rs checks that this gives the same registry as a push.
    let truth = registry.write_directly(&builder);
    drop(builder);
    let tags: usize = truth.repos.values().map(|r| r.tags.len()).sum();
    assert_eq!(tags, repos * TAGS_PER_REPO);
    let minimum = MinimumRequests::of(&truth, regatta::registry::MAX_PAGE_SIZE);
    println!(
        "registry written in {:.1} s: {} distinct manifests, {} distinct configs, {} bytes stored",
        write_started.elapsed().as_secs_f64(),
        minimum.manifest_gets,
        minimum.config_gets,
        registry.blob_store_bytes()
    );
    println!(
        "fewest requests a scan can make: {} = {} catalog + {} tag lists + {} HEAD + {} manifest GET + {} config GET",
        minimum.total(),
        minimum.catalog_pages,
        minimum.tag_lists,
        minimum.manifest_heads,
        minimum.manifest_gets,
        minimum.config_gets
    );
    let work = tempfile::tempdir().expect("a work dir");

    let verdicts = match latency {
        None => local(args, &registry, &truth, &minimum, work.path()),
        Some(delay) => {
            with_latency(args, &registry, &minimum, delay, work.path());
            Verdicts::default()
        }
    };
    println!(
        "\ntotal benchmark time {:.1} s",
        started.elapsed().as_secs_f64()
    );
    if args.check {
        if latency.is_some() {
            println!("--check: the run with --latency-ms has no targets");
        }
        if let Err(missed) = verdicts.check() {
            eprintln!("scan benchmark: {missed}");
            std::process::exit(1);
        }
        println!("--check: every target met");
    }
}

fn local(
    args: &Args,
    registry: &TestRegistry,
    truth: &Fixture,
    minimum: &MinimumRequests,
    work: &Path,
) -> Verdicts {
    let c = args.concurrency.to_string();
    let addr = registry.addr();
    let all_urls = plain_urls(truth);
    // What a warm scan cannot avoid: the listings and one HEAD per tag (tags move).
    let floor_urls: Vec<String> = all_urls
        .iter()
        .filter(|u| !u.starts_with("GET ") || !u.contains("sha256:"))
        .cloned()
        .collect();
    let write_list = |name: &str, urls: &[String]| {
        let path = work.join(name);
        std::fs::write(&path, urls.join("\n")).expect("write a URL list");
        path.display().to_string()
    };
    let (all_urls, floor_urls) = (
        write_list("all.txt", &all_urls),
        write_list("floor.txt", &floor_urls),
    );
    let plain = |label: &str, urls: &str| {
        let r = run_child(&[
            "plain",
            "--registry",
            &addr,
            "--urls",
            urls,
            "--concurrency",
            &c,
        ]);
        println!(
            "  {label:<28} {:>7.3} s  {:>6} requests",
            secs(&r),
            r["requests"]
        );
        r
    };
    let scan = |label: &str, cache: Option<&Path>| {
        let mut child_args = vec!["scan", "--registry", &addr, "--concurrency", &c];
        let dir;
        if let Some(cache) = cache {
            dir = cache.display().to_string();
            child_args.extend(["--cache", &dir]);
        }
        let r = run_child(&child_args);
        assert_eq!(r["complete"], true, "{r}");
        assert_eq!(
            r["physical_bytes"].as_u64(),
            Some(registry.blob_store_bytes())
        );
        println!(
            "  {label:<28} {:>7.3} s  {:>6} requests  ({} manifest GET, {} blob GET)  peak {} MB",
            secs(&r),
            r["requests"],
            r["manifest_gets"],
            r["blob_gets"],
            r["vmhwm_kb"].as_u64().unwrap_or(0) / 1024
        );
        r
    };

    println!("\nruns (each in a fresh process):");
    // The first pass fills the registry's own caches (blob descriptors, the page cache).
    scan("warm-up: scan, no cache", None);
    let mut plain_times = Vec::new();
    let mut cold_times = Vec::new();
    let mut warm_times = Vec::new();
    let mut cold_report = Value::Null;
    for round in 1..=ROUNDS {
        let cache = work.join(format!("cache-{round}"));
        cold_report = scan(&format!("cold scan #{round}"), Some(&cache));
        cold_times.push(secs(&cold_report));
        warm_times.push(secs(&scan(&format!("warm scan #{round}"), Some(&cache))));
        plain_times.push(secs(&plain(&format!("plain GET/HEAD #{round}"), &all_urls)));
    }
    let floor = secs(&plain("plain, warm-scan requests", &floor_urls));
    let model = run_child(&["model"]);

    let (plain, cold, warm) = (median(plain_times), median(cold_times), median(warm_times));
    let made = figure(&cold_report, "requests");
    let request_ratio = made.map(|m| m / minimum.total() as f64);
    let cold_vs_plain = cold / plain;
    let warm_speedup = cold / warm;
    let warm_floor = minimum.catalog_pages + minimum.tag_lists + minimum.manifest_heads;
    let model_mb = figure(&model, "model_kb").map(|kb| kb / 1024.0);
    let shown = |v: Option<f64>, digits: usize| match v {
        Some(v) => format!("{v:.digits$}"),
        None => "?".to_string(),
    };
    let mut verdicts = Verdicts::default();
    println!("\nfigures (medians of {ROUNDS}):");
    verdicts.add(
        "requests made / fewest possible",
        format!(
            "{} / {} = {}x",
            shown(made, 0),
            minimum.total(),
            shown(request_ratio, 3)
        ),
        request_ratio,
        "<= 1.05x",
        Bound::AtMost(1.05),
    );
    verdicts.add(
        "cold scan / plain GET/HEAD",
        format!("{cold:.3} s / {plain:.3} s = {cold_vs_plain:.2}x"),
        Some(cold_vs_plain),
        "<= 1.5x",
        Bound::AtMost(1.5),
    );
    verdicts.add(
        "warm scan speed-up over cold",
        format!(
            "{cold:.3} s / {warm:.3} s = {warm_speedup:.2}x (requests {} -> {warm_floor}: {:.2}x fewer)",
            minimum.total(),
            minimum.total() as f64 / warm_floor as f64
        ),
        Some(warm_speedup),
        ">= 5x",
        Bound::AtLeast(5.0),
    );
    println!(
        "  {:<34} {warm:.3} s / {floor:.3} s = {:.2}x (the same {warm_floor} requests, fetched plainly)",
        "warm scan / its plain floor",
        warm / floor
    );
    println!(
        "  {:<34} {} MB (VmHWM of the cold-scan process)",
        "peak memory of a cold scan",
        shown(figure(&cold_report, "vmhwm_kb").map(|kb| kb / 1024.0), 0)
    );
    verdicts.add(
        format!("storage model of {MODEL_TAGS} tags"),
        format!(
            "{} MB ({} manifests, {} repositories; built in {} s, repo_stats {} s, bytes_freed of one tag {} s; process peak {} MB)",
            shown(model_mb, 1),
            model["manifests"],
            model["repositories"],
            shown(figure(&model, "build_seconds"), 2),
            shown(figure(&model, "stats_seconds"), 2),
            shown(figure(&model, "freed_seconds"), 2),
            shown(figure(&model, "vmhwm_kb").map(|kb| kb / 1024.0), 0)
        ),
        model_mb,
        "< 200 MB",
        Bound::Below(200.0),
    );
    println!(
        "  {:<34} {} s ({} findings, each priced in bytes freed, and the suggested policy's dry run)",
        format!("audit of {MODEL_TAGS} tags"),
        shown(figure(&model, "audit_seconds"), 2),
        model["audit_findings"]
    );
    verdicts
}

fn with_latency(
    args: &Args,
    registry: &TestRegistry,
    minimum: &MinimumRequests,
    delay: Duration,
    work: &Path,
) {
    let proxy = FaultProxy::with_latency(&registry.addr(), delay);
    let addr = proxy.addr();
    println!(
        "\nthrough a proxy adding {} ms to every request:",
        delay.as_millis()
    );
    let scan = |concurrency: usize, cache: &Path| {
        let c = concurrency.to_string();
        let dir = cache.display().to_string();
        let r = run_child(&[
            "scan",
            "--registry",
            &addr,
            "--concurrency",
            &c,
            "--cache",
            &dir,
        ]);
        assert_eq!(r["complete"], true, "{r}");
        r
    };
    let c = args.concurrency as u64;
    let ideal = minimum.total().div_ceil(c) as f64 * delay.as_secs_f64();
    let cold = scan(args.concurrency, &work.join("cache-concurrent"));
    let t = secs(&cold);
    println!(
        "  cold scan, concurrency {c:<3}  {t:>7.2} s  {} requests; ideal ceil({} / {c}) x {} ms = {ideal:.2} s: {:.2}x the ideal",
        cold["requests"],
        minimum.total(),
        delay.as_millis(),
        t / ideal
    );
    let warm = scan(args.concurrency, &work.join("cache-concurrent"));
    println!(
        "  warm scan, concurrency {c:<3}  {:>7.2} s  {} requests",
        secs(&warm),
        warm["requests"]
    );
    let sequential = scan(1, &work.join("cache-sequential"));
    let s = secs(&sequential);
    let ideal_seq = minimum.total() as f64 * delay.as_secs_f64();
    println!(
        "  cold scan, concurrency 1    {s:>7.2} s  {} requests; ideal {} x {} ms = {ideal_seq:.2} s; concurrency {c} is {:.1}x faster",
        sequential["requests"],
        minimum.total(),
        delay.as_millis(),
        s / t
    );
}

fn secs(report: &Value) -> f64 {
    report["seconds"].as_f64().unwrap_or(f64::NAN)
}

/// The median (the mean of the middle two for an even count).
fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 0 {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    } else {
        v[n / 2]
    }
}

/// Runs this binary as `--child ARGS` and parses the JSON line it prints.
fn run_child(args: &[&str]) -> Value {
    let exe = std::env::current_exe().expect("this benchmark's path");
    let output = Command::new(exe)
        .arg("--child")
        .args(args)
        .output()
        .expect("run a child");
    assert!(
        output.status.success(),
        "child {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().unwrap_or("");
    serde_json::from_str(line).unwrap_or_else(|e| panic!("child printed {stdout:?}: {e}"))
}

/// The URLs a scan needs, known up front: `METHOD path` lines.
fn plain_urls(truth: &Fixture) -> Vec<String> {
    let mut urls = vec![format!(
        "GET _catalog?n={}",
        regatta::registry::MAX_PAGE_SIZE
    )];
    assert!(truth.repos.len() < regatta::registry::MAX_PAGE_SIZE);
    let mut manifests = BTreeSet::new();
    let mut configs = BTreeSet::new();
    for (name, repo) in &truth.repos {
        urls.push(format!(
            "GET {name}/tags/list?n={}",
            regatta::registry::MAX_PAGE_SIZE
        ));
        for tag in repo.tags.keys() {
            urls.push(format!("HEAD {name}/manifests/{tag}"));
        }
        for (digest, m) in &repo.manifests {
            if manifests.insert(digest.clone()) {
                urls.push(format!("GET {name}/manifests/{digest}"));
            }
            if let Some(config) = &m.config
                && configs.insert(config.clone())
            {
                urls.push(format!("GET {name}/blobs/{config}"));
            }
        }
    }
    urls
}
