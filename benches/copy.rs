//! How fast and how lean `regatta cp` is, against real `docker-registry`s.
//!
//! `cargo bench --bench copy` makes a source registry of 50 repositories x 5 tags (single-
//! platform images on three base layers every repository shares, a layer per repository and
//! one per tag; written straight into its storage) and copies every tag to two empty
//! registries: once with regatta (one plan for everything, through the library as `cp` runs
//! it), once with a script's `skopeo copy --all` per tag, four at a time. It reports:
//! - the wall time of each, and the ratio (target: regatta at least 5x faster);
//! - the bytes uploaded to regatta's destination (from its access log: each completed blob
//!   upload, at its blob's size) against the bytes the destination lacked (every distinct blob
//!   once; target: equal, shared base layers move once);
//! - the blob uploads of a second regatta run (target: none) and its wall time;
//! - the requests regatta's destination answered in each run, by method, endpoint and status;
//! - the CPU time regatta and each registry used during regatta's first run, and the share of
//!   the machine's cores they left idle (wall time x cores minus their CPU time).
//!
//! Options: `--repos N`, `--tags N`, `--concurrency N` (regatta's, default 8), `--check` (exit
//! 1 when a target is missed), `--head` (blobs asked for with HEAD while planning, as a dry
//! run does, instead of with a mount into the repository itself when applying: the request
//! pattern before that change, to compare), `--ask-after` (the mounts that ask for the blobs
//! sent after every manifest is read, instead of while they are read: to compare). A debug
//! build makes 6 repositories: a smoke run whose timings mean nothing.

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use regatta::copy::{
    BlobAsking, CopyProgress, Ends, ImageRequest, apply, ask_blobs, plan_copy_with,
};
use regatta::registry::{Digest, ManifestRef, RepoName, Tag};
use support::fixtures::FixtureBuilder;
use support::image::{Format, ImageSpec, Layer};
use support::registry::{AccessLogEntry, RegistryOptions, TestRegistry, cpu_seconds_of};

const SMOKE: bool = cfg!(debug_assertions);
const SKOPEO_PARALLEL: usize = 4;

struct Args {
    repos: usize,
    tags: usize,
    /// Requests in flight per registry (regatta's `--concurrency`; default 8, as `cp`'s).
    concurrency: usize,
    check: bool,
    asking: BlobAsking,
}

fn parse_args() -> Args {
    let mut args = Args {
        repos: if SMOKE { 6 } else { 50 },
        tags: 5,
        concurrency: 8,
        check: false,
        asking: BlobAsking::WhilePlanning,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut number = |name: &str| -> usize {
            it.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{name} takes a number"))
        };
        match arg.as_str() {
            "--repos" => args.repos = number("--repos"),
            "--tags" => args.tags = number("--tags"),
            "--concurrency" => args.concurrency = number("--concurrency"),
            "--check" => args.check = true,
            "--head" => args.asking = BlobAsking::Head,
            "--ask-after" => args.asking = BlobAsking::OnApply,
            // cargo bench passes --bench; ignore what is not ours.
            _ => {}
        }
    }
    args
}

fn fixture(repos: usize, tags: usize) -> FixtureBuilder {
    let bases = [
        Layer::random("bench-base-os", 2 * 1024 * 1024),
        Layer::random("bench-base-libs", 1024 * 1024),
        Layer::random("bench-base-runtime", 512 * 1024),
    ];
    let mut b = FixtureBuilder::new();
    for r in 0..repos {
        let repo = format!("team/app-{r:02}");
        let own = Layer::random(&format!("bench-{repo}"), 256 * 1024);
        for t in 0..tags {
            let mut layers = bases.to_vec();
            layers.push(own.clone());
            layers.push(Layer::random(&format!("bench-{repo}-{t}"), 64 * 1024));
            let tag = format!("v{t}");
            b.image(&repo, &[tag.as_str()], ImageSpec::new(Format::Oci, layers));
        }
    }
    b
}

fn logged() -> TestRegistry {
    TestRegistry::start_with(RegistryOptions {
        access_log: true,
        ..RegistryOptions::default()
    })
}

/// The digest a completed upload (`PUT ...?digest=sha256%3A...`, 201) stored.
fn uploaded_digest(entry: &AccessLogEntry) -> Option<Digest> {
    if entry.method != "PUT" || entry.status != 201 || !entry.target.contains("/blobs/uploads/") {
        return None;
    }
    let query = entry.target.split_once('?')?.1;
    let value = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("digest="))?;
    Digest::parse(&value.replace("%3A", ":").replace("%3a", ":")).ok()
}

/// The requests of `log` by method and endpoint (`HEAD blob 700, PUT upload 553, ...`).
fn tally(log: &[AccessLogEntry]) -> String {
    let mut counts: BTreeMap<(String, &str, u16), usize> = BTreeMap::new();
    for e in log {
        let path = e.target.split('?').next().unwrap_or_default();
        let kind = if path.contains("/blobs/uploads") {
            "upload"
        } else if path.contains("/blobs/") {
            "blob"
        } else if path.contains("/manifests/") {
            "manifest"
        } else if path.ends_with("/tags/list") {
            "tags/list"
        } else {
            "other"
        };
        *counts
            .entry((e.method.clone(), kind, e.status))
            .or_default() += 1;
    }
    let parts: Vec<String> = counts
        .into_iter()
        .map(|((method, kind, status), n)| format!("{method} {kind} {status}: {n}"))
        .collect();
    format!("{} requests ({})", log.len(), parts.join(", "))
}

fn uploads(log: &[AccessLogEntry]) -> Vec<Digest> {
    log.iter().filter_map(uploaded_digest).collect()
}

/// Copies every tag of `names` with regatta's library, as `regatta cp --apply` does (blobs
/// asked for as `asking` says). Returns the wall time.
fn regatta_copy(
    source: &TestRegistry,
    destination: &TestRegistry,
    names: &[(String, String)],
    concurrency: usize,
    asking: BlobAsking,
) -> Duration {
    let requests: Vec<ImageRequest> = names
        .iter()
        .map(|(repo, tag)| ImageRequest {
            source_repository: RepoName::parse(repo).expect("a repository"),
            source_reference: ManifestRef::Tag(Tag::parse(tag).expect("a tag")),
            destination_repository: RepoName::parse(repo).expect("a repository"),
            destination_tag: Some(Tag::parse(tag).expect("a tag")),
        })
        .collect();
    // Fresh clients, as a fresh `regatta cp` process has.
    let options = |registry: &TestRegistry| regatta::registry::ClientOptions {
        concurrency,
        ..registry.client_options()
    };
    let (src, dst) = (
        source.client_with(options(source)),
        destination.client_with(options(destination)),
    );
    // The root future runs on this thread (`block_on` needs no `Send`), with worker threads
    // for the client's I/O, as `regatta`'s main does.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let started = Instant::now();
    runtime.block_on(async {
        let ends = Ends {
            source: &src,
            destination: &dst,
        };
        let concurrency = dst.options().concurrency;
        let mut plan = plan_copy_with(&ends, &requests, None, concurrency, asking)
            .await
            .expect("plan the copy");
        // Asks what `--ask-after` left unasked (nothing otherwise).
        ask_blobs(&mut plan, &ends, concurrency)
            .await
            .expect("ask the destination for the blobs");
        let planned = started.elapsed();
        let outcome = apply(&plan, &ends, concurrency, &CopyProgress::default()).await;
        println!(
            "  (plan {:.2} s, apply {:.2} s)",
            planned.as_secs_f64(),
            (started.elapsed() - planned).as_secs_f64()
        );
        assert!(outcome.is_complete(), "{:?}", outcome.failures);
    });
    started.elapsed()
}

/// `skopeo copy --all` once per tag, `SKOPEO_PARALLEL` at a time, as a script would.
fn skopeo_copy(
    source: &TestRegistry,
    destination: &TestRegistry,
    names: &[(String, String)],
) -> Duration {
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..SKOPEO_PARALLEL {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((repo, tag)) = names.get(i) else {
                        break;
                    };
                    // skopeo processes racing on one blob now and then fail ("blob upload
                    // unknown"); a script would run the copy again, so does this one.
                    let run = || {
                        std::process::Command::new("skopeo")
                            .args([
                                "copy",
                                "--all",
                                "--quiet",
                                "--src-tls-verify=false",
                                "--dest-tls-verify=false",
                                &format!("docker://{}/{repo}:{tag}", source.addr()),
                                &format!("docker://{}/{repo}:{tag}", destination.addr()),
                            ])
                            .status()
                            .expect("skopeo (apt-get install -y skopeo)")
                    };
                    let ok = (0..3).any(|_| run().success());
                    assert!(ok, "skopeo copy {repo}:{tag} failed three times");
                }
            });
        }
    });
    started.elapsed()
}

fn main() {
    let args = parse_args();
    let source = TestRegistry::start();
    let truth = source.write_directly(&fixture(args.repos, args.tags));
    let names: Vec<(String, String)> = truth
        .repos
        .iter()
        .flat_map(|(repo, r)| r.tags.keys().map(move |t| (repo.clone(), t.clone())))
        .collect();
    // What an empty destination lacks: every distinct blob once (manifests aside).
    let lacked: BTreeMap<Digest, u64> = truth
        .repos
        .values()
        .flat_map(|r| r.manifests.values())
        .flat_map(|m| m.blobs.iter().map(|(d, s)| (d.clone(), *s)))
        .collect();
    let lacked_bytes: u64 = lacked.values().sum();
    println!(
        "fixture: {} repositories x {} tags = {} images, {} distinct blobs, {} bytes",
        truth.repos.len(),
        args.tags,
        names.len(),
        lacked.len(),
        lacked_bytes
    );

    let ours = logged();
    let cpu = || {
        (
            cpu_seconds_of("/proc/self/stat").unwrap_or(0.0),
            source.cpu_seconds().unwrap_or(0.0),
            ours.cpu_seconds().unwrap_or(0.0),
        )
    };
    let before = cpu();
    let regatta_time = regatta_copy(&source, &ours, &names, args.concurrency, args.asking);
    let after = cpu();
    let first = ours.access_log_since(0);
    let uploaded = uploads(&first);
    let uploaded_bytes: u64 = uploaded
        .iter()
        .map(|d| lacked.get(d).copied().unwrap_or(0))
        .sum();
    let second_time = regatta_copy(&source, &ours, &names, args.concurrency, args.asking);
    let second = ours.access_log_since(first.len() + 1);
    let second_uploads = uploads(&second).len();
    let used = [after.0 - before.0, after.1 - before.1, after.2 - before.2];
    println!(
        "CPU during the first run: regatta {:.2} s, source registry {:.2} s, destination registry {:.2} s",
        used[0], used[1], used[2]
    );
    // What the three processes left of the machine: wall time x cores, minus their CPU time
    // (other processes on the machine count as idle here).
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let offered = regatta_time.as_secs_f64() * cores as f64;
    let idle = (offered - used.iter().sum::<f64>()).max(0.0);
    println!(
        "CPU left idle during the first run: {idle:.2} s of {offered:.2} s ({:.0}% of {cores} cores)",
        100.0 * idle / offered.max(1e-9)
    );
    println!("destination, first run: {}", tally(&first));
    println!("destination, second run: {}", tally(&second));

    let theirs = logged();
    let skopeo_time = skopeo_copy(&source, &theirs, &names);
    let skopeo_uploads = uploads(&theirs.access_log_since(0));
    let skopeo_bytes: u64 = skopeo_uploads
        .iter()
        .map(|d| lacked.get(d).copied().unwrap_or(0))
        .sum();

    let ratio = skopeo_time.as_secs_f64() / regatta_time.as_secs_f64().max(1e-9);
    println!(
        "regatta concurrency: {} requests in flight per registry; blobs asked for {}",
        args.concurrency,
        match args.asking {
            BlobAsking::Head => "with HEAD while planning (--head)",
            BlobAsking::OnApply =>
                "with a mount into the repository itself, after every manifest is read (--ask-after)",
            BlobAsking::WhilePlanning =>
                "with a mount into the repository itself, as the manifests are read",
        }
    );
    println!(
        "regatta cp:        {:>8.2} s, {} blob uploads, {} bytes uploaded (destination lacked {} bytes)",
        regatta_time.as_secs_f64(),
        uploaded.len(),
        uploaded_bytes,
        lacked_bytes
    );
    println!(
        "skopeo script:     {:>8.2} s, {} blob uploads, {} bytes uploaded ({} at a time, one process per tag)",
        skopeo_time.as_secs_f64(),
        skopeo_uploads.len(),
        skopeo_bytes,
        SKOPEO_PARALLEL
    );
    println!("speed-up:          {ratio:>8.1}x (target >= 5x)");
    println!(
        "second regatta run: {:>7.2} s, {second_uploads} blob uploads (target 0)",
        second_time.as_secs_f64()
    );
    if SMOKE {
        println!("(a debug build: the timings mean nothing)");
    }
    let mut missed = Vec::new();
    if uploaded_bytes != lacked_bytes || uploaded.len() != lacked.len() {
        missed.push("uploaded bytes differ from the bytes the destination lacked");
    }
    if second_uploads != 0 {
        missed.push("the second run uploaded blobs");
    }
    if !SMOKE && ratio < 5.0 {
        missed.push("regatta is less than 5x faster than the skopeo script");
    }
    for m in &missed {
        println!("MISSED: {m}");
    }
    if args.check && !missed.is_empty() {
        std::process::exit(1);
    }
}
