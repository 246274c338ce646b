//! What a scan asks the registry, counted by the registry's own access log and by the
//! client's counters: a cold scan makes exactly the fewest requests the API allows, a warm
//! one (digest cache filled) fetches no manifest and no config again, and a corrupt cache
//! entry is noticed and fetched again. Also: the latency proxy the benchmark uses.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use regatta::analysis::storage::{registry_stats, repo_stats};
use regatta::registry::cache::{CachingSource, DigestCache};
use regatta::registry::{ClientOptions, Digest, RequestKind, Source};
use regatta::scan::{ScanOptions, scan};
use support::cli::Sandbox;
use support::fault_proxy::FaultProxy;
use support::registry::{AccessLogEntry, Logged, RegistryOptions, TestRegistry};
use support::storage::{MULTI, MinimumRequests, storage_fixture};
use support::truth::Fixture;

fn logged_registry() -> (TestRegistry, Fixture) {
    let registry = TestRegistry::start_with(RegistryOptions {
        access_log: true,
        ..RegistryOptions::default()
    });
    let truth = registry.push(&storage_fixture());
    (registry, truth)
}

/// The access log from entry `from` on, every request made so far included.
fn log_since(registry: &TestRegistry, from: usize) -> Vec<AccessLogEntry> {
    registry.access_log_since(from)
}

/// Requests by what they are, read from access-log lines.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Seen {
    catalog_pages: u64,
    tag_lists: u64,
    manifest_heads: u64,
    manifest_gets: u64,
    blob_gets: u64,
    other: u64,
}

impl Seen {
    fn of(entries: &[AccessLogEntry]) -> Self {
        let mut s = Self::default();
        for e in entries {
            assert_eq!(e.status, 200, "{e:?}");
            let slot = match e.kind() {
                Logged::CatalogPage => &mut s.catalog_pages,
                Logged::TagList => &mut s.tag_lists,
                Logged::ManifestHead => &mut s.manifest_heads,
                Logged::ManifestGet => &mut s.manifest_gets,
                Logged::BlobGet => &mut s.blob_gets,
                Logged::Other => &mut s.other,
            };
            *slot += 1;
        }
        s
    }

    fn minimum(m: &MinimumRequests) -> Self {
        Self {
            catalog_pages: m.catalog_pages,
            tag_lists: m.tag_lists,
            manifest_heads: m.manifest_heads,
            manifest_gets: m.manifest_gets,
            blob_gets: m.config_gets,
            other: 0,
        }
    }
}

#[test]
fn a_cold_scan_makes_exactly_the_fewest_requests_the_api_allows() {
    let (registry, truth) = logged_registry();
    // Six repositories in pages of four: two catalog pages.
    let page_size = 4;
    let minimum = MinimumRequests::of(&truth, page_size);
    assert_eq!(minimum.catalog_pages, 2);
    // The fixture shares manifests between repositories and children between indexes, so
    // "distinct" matters: fewer GETs than (tags + children) would give.
    let per_repo: u64 = truth.repos.values().map(|r| r.manifests.len() as u64).sum();
    assert!(minimum.manifest_gets < per_repo);

    let client = registry.client_with(ClientOptions {
        page_size,
        ..registry.client_options()
    });
    let from = registry.access_log().len();
    let model = support::block_on(scan(&client, &ScanOptions::default(), &|_| {})).expect("scan");
    assert!(model.is_complete(), "{:?}", model.failures);
    let stats = repo_stats(&model);
    assert_eq!(
        registry_stats(&model, &stats).physical_bytes,
        registry.blob_store_bytes()
    );

    let seen = Seen::of(&log_since(&registry, from));
    assert_eq!(seen, Seen::minimum(&minimum));
    let c = client.counters();
    assert_eq!(c.get(RequestKind::Catalog), minimum.catalog_pages);
    assert_eq!(c.get(RequestKind::Tags), minimum.tag_lists);
    assert_eq!(c.get(RequestKind::ManifestHead), minimum.manifest_heads);
    assert_eq!(c.get(RequestKind::ManifestGet), minimum.manifest_gets);
    assert_eq!(c.get(RequestKind::BlobGet), minimum.config_gets);
    assert_eq!(c.total(), minimum.total());
}

#[test]
fn a_warm_scan_gets_no_manifest_or_config_and_a_corrupt_entry_is_fetched_again() {
    let (registry, truth) = logged_registry();
    let home = Sandbox::new();
    let addr = registry.addr();
    let du = || home.run(&["du", &addr, "--json"]).ok_with_stderr().json();
    // The binary reads the catalog in pages of 1000: one page here.
    let minimum = MinimumRequests::of(&truth, 1000);

    let from = registry.access_log().len();
    let cold = du();
    assert_eq!(cold["complete"], true);
    assert_eq!(
        Seen::of(&log_since(&registry, from)),
        Seen::minimum(&minimum),
        "cold"
    );
    let cache = home.cache_dir().join("blobs/sha256");
    let entries = std::fs::read_dir(&cache).expect("the cache dir").count() as u64;
    assert_eq!(entries, minimum.manifest_gets + minimum.config_gets);

    let from = registry.access_log().len();
    let warm = du();
    assert_eq!(warm, cold);
    let seen = Seen::of(&log_since(&registry, from));
    assert_eq!(
        seen,
        Seen {
            manifest_gets: 0,
            blob_gets: 0,
            ..Seen::minimum(&minimum)
        },
        "warm"
    );

    // Corrupt one config and one manifest (an index child) in the cache.
    let child = truth.tagged(MULTI, "1.0").children[0].0.clone();
    let config = truth
        .manifest(MULTI, &child)
        .config
        .clone()
        .expect("a config");
    let entry = |d: &Digest| cache.join(d.hex());
    std::fs::write(entry(&child), b"{\"schemaVersion\":2,\"flipped\":true}").expect("corrupt");
    let original = std::fs::read(entry(&config)).expect("cached config");
    std::fs::write(entry(&config), &original[..original.len() / 2]).expect("truncate");

    let from = registry.access_log().len();
    let again = du();
    assert_eq!(again, cold);
    let log = log_since(&registry, from);
    let seen = Seen::of(&log);
    assert_eq!(
        seen,
        Seen {
            manifest_gets: 1,
            blob_gets: 1,
            ..Seen::minimum(&minimum)
        },
        "after corrupting two entries"
    );
    let fetched: Vec<&str> = log
        .iter()
        .filter(|e| e.method == "GET" && !e.target.contains("/tags/") && e.target != "/v2/")
        .map(|e| e.target.as_str())
        .filter(|t| !t.starts_with("/v2/_catalog"))
        .collect();
    assert_eq!(
        fetched,
        [
            format!("/v2/{MULTI}/manifests/{child}"),
            format!("/v2/{MULTI}/blobs/{config}"),
        ]
    );
    // The entries were written again, whole.
    for d in [&child, &config] {
        assert!(
            d.matches(&std::fs::read(entry(d)).expect("re-cached")),
            "{d}"
        );
    }
}

#[test]
fn a_warm_library_scan_is_answered_by_the_cache() {
    let (registry, truth) = logged_registry();
    let minimum = MinimumRequests::of(&truth, 1000);
    let dir = tempfile::tempdir().expect("a cache dir");
    let run = || {
        let client = registry.client();
        let source = CachingSource::new(
            Arc::new(client.clone()) as Arc<dyn Source>,
            DigestCache::new(dir.path()),
        );
        let model =
            support::block_on(scan(&source, &ScanOptions::default(), &|_| {})).expect("scan");
        assert!(model.is_complete());
        let stats = repo_stats(&model);
        let physical = registry_stats(&model, &stats).physical_bytes;
        let hits = source.stats().hits();
        let misses = source.stats().misses();
        (physical, hits, misses, client)
    };
    let documents = minimum.manifest_gets + minimum.config_gets;

    let (cold, hits, misses, client) = run();
    assert_eq!((hits, misses), (0, documents));
    assert_eq!(client.counters().total(), minimum.total());

    let (warm, hits, misses, client) = run();
    assert_eq!(warm, cold);
    assert_eq!((hits, misses), (documents, 0));
    let c = client.counters();
    assert_eq!(c.get(RequestKind::ManifestGet), 0);
    assert_eq!(c.get(RequestKind::BlobGet), 0);
    assert_eq!(
        c.total(),
        minimum.catalog_pages + minimum.tag_lists + minimum.manifest_heads
    );
}

#[test]
fn the_latency_proxy_delays_every_request_and_changes_nothing_else() {
    let registry = TestRegistry::start();
    let truth = registry.push(&storage_fixture());
    let delay = Duration::from_millis(40);
    let proxy = FaultProxy::with_latency(&registry.addr(), delay);
    let addr = regatta::registry::RegistryAddr::parse(&proxy.addr()).expect("address");
    let client = regatta::registry::Client::new(
        addr,
        ClientOptions {
            concurrency: 1,
            ..registry.client_options()
        },
    )
    .expect("a client through the proxy");
    let started = Instant::now();
    support::block_on(async {
        for _ in 0..5 {
            client.ping().await.expect("ping through the proxy");
        }
    });
    let elapsed = started.elapsed();
    // Each ping waited for its delay (time only runs forward: no upper bound is asserted,
    // it would fail on a busy machine and prove nothing the answers below do not).
    assert!(elapsed >= 5 * delay, "{elapsed:?}");

    let model = support::block_on(scan(&client, &ScanOptions::default(), &|_| {})).expect("scan");
    assert!(model.is_complete(), "{:?}", model.failures);
    let stats = repo_stats(&model);
    assert_eq!(
        registry_stats(&model, &stats).physical_bytes,
        truth.stored_bytes()
    );
}

/// Files under `dir` (relative paths), leaving out upload state.
fn storage_files(dir: &std::path::Path) -> std::collections::BTreeSet<String> {
    fn walk(
        root: &std::path::Path,
        dir: &std::path::Path,
        out: &mut std::collections::BTreeSet<String>,
    ) {
        for entry in std::fs::read_dir(dir)
            .expect("read a storage dir")
            .flatten()
        {
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path
                    .strip_prefix(root)
                    .expect("under root")
                    .display()
                    .to_string();
                if !rel.contains("/_uploads/") {
                    out.insert(rel);
                }
            }
        }
    }
    let mut out = std::collections::BTreeSet::new();
    walk(dir, dir, &mut out);
    out
}

#[test]
fn a_registry_written_on_disk_is_the_same_as_a_pushed_one() {
    // The benchmark writes its thousands of images straight into the storage; this keeps
    // that shortcut honest.
    let pushed = TestRegistry::start();
    let truth = pushed.push(&storage_fixture());
    let written = TestRegistry::start();
    let written_truth = written.write_directly(&storage_fixture());
    assert_eq!(written_truth.stored(), truth.stored());
    assert_eq!(written.blob_store_bytes(), truth.stored_bytes());
    assert_eq!(
        storage_files(&written.storage_root()),
        storage_files(&pushed.storage_root())
    );

    let scanned = |registry: &TestRegistry| {
        let model = support::block_on(scan(&registry.client(), &ScanOptions::default(), &|_| {}))
            .expect("scan");
        assert!(model.is_complete(), "{:?}", model.failures);
        repo_stats(&model)
    };
    assert_eq!(scanned(&written), scanned(&pushed));

    // Manifests, by tag and by digest, and configs answer with the same bytes and types.
    let (a, b) = (written.client(), pushed.client());
    support::block_on(async {
        for (name, repo) in &truth.repos {
            let r = support::truth::repo(name);
            for t in repo.tags.keys() {
                let reference = regatta::registry::ManifestRef::Tag(support::truth::tag(t));
                let (x, y) = (
                    a.get_manifest(&r, &reference).await.expect("written"),
                    b.get_manifest(&r, &reference).await.expect("pushed"),
                );
                assert_eq!(
                    (&x.digest, &x.media_type, &x.bytes),
                    (&y.digest, &y.media_type, &y.bytes)
                );
            }
            for (digest, m) in &repo.manifests {
                let reference = regatta::registry::ManifestRef::Digest(digest.clone());
                let got = a.get_manifest(&r, &reference).await.expect("by digest");
                assert_eq!(got.bytes, m.document);
                if let Some(config) = &m.config {
                    let bytes = a.get_blob(&r, config).await.expect("config");
                    assert_eq!(bytes.len() as u64, m.blobs[config]);
                }
            }
        }
    });
}
