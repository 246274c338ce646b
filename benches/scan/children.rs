//! The children of the scan benchmark: one measurement each, in a process of its own (so
//! VmHWM is the measurement's alone), printed as one JSON line.

use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use regatta::analysis::freed::plan_deletion;
use regatta::analysis::model::{ConfigInfo, ManifestBody, ManifestInfo, ScanEvent, StorageModel};
use regatta::analysis::storage::{registry_stats, repo_stats};
use regatta::registry::cache::{CachingSource, DigestCache};
use regatta::registry::manifest::{MANIFEST_ACCEPT, Platform};
use regatta::registry::{
    Client, ClientOptions, CredentialSource, Digest, RegistryAddr, RepoName, Source, Tag,
};
use regatta::scan::{ScanOptions, scan};
use serde_json::{Value, json};

use super::{Args, MODEL_TAGS};

fn peak_kb() -> u64 {
    proc_status_kb("VmHWM:")
}

fn rss_kb() -> u64 {
    proc_status_kb("VmRSS:")
}

fn proc_status_kb(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn runtime() -> tokio::runtime::Runtime {
    // As the CLI builds it.
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

fn child_client(args: &Args) -> Client {
    let registry = args.registry.as_deref().expect("--registry");
    let addr = RegistryAddr::parse(registry).expect("a registry address");
    Client::new(
        addr,
        ClientOptions {
            credentials: CredentialSource::Anonymous,
            concurrency: args.concurrency,
            ..ClientOptions::default()
        },
    )
    .expect("a client")
}

/// A scan as `regatta du` makes it, with a digest cache in `--cache` or none.
pub fn child_scan(args: &Args) -> Value {
    use regatta::registry::RequestKind as K;
    let client = child_client(args);
    let source: Arc<dyn Source> = match &args.cache {
        Some(dir) => Arc::new(CachingSource::new(
            Arc::new(client.clone()),
            DigestCache::new(dir),
        )),
        None => Arc::new(client.clone()),
    };
    let options = ScanOptions {
        concurrency: args.concurrency,
        repo_filter: None,
    };
    runtime().block_on(async {
        let started = Instant::now();
        let model = scan(source.as_ref(), &options, &|_| {})
            .await
            .expect("scan");
        let seconds = started.elapsed().as_secs_f64();
        let stats = repo_stats(&model);
        let total = registry_stats(&model, &stats);
        // The referrers the model names, read with no request of their own.
        let referrers: usize = model
            .repos
            .keys()
            .map(|repo| {
                let a = regatta::analysis::attached::Attachments::of_repo(&model, repo);
                model
                    .tag_digests(repo)
                    .filter(|(t, _)| !a.is_attached_tag(t))
                    .flat_map(|(_, d)| a.transitive(d))
                    .collect::<std::collections::BTreeSet<_>>()
                    .len()
            })
            .sum();
        let c = client.counters();
        json!({
            "seconds": seconds,
            "requests": c.total(),
            "manifest_heads": c.get(K::ManifestHead),
            "manifest_gets": c.get(K::ManifestGet),
            "blob_gets": c.get(K::BlobGet),
            "complete": model.is_complete(),
            "referrers": referrers,
            "physical_bytes": total.physical_bytes,
            "vmhwm_kb": peak_kb(),
        })
    })
}

/// The same URLs with a plain reqwest client, all known up front, at the same concurrency.
pub fn child_plain(args: &Args) -> Value {
    let registry = args.registry.as_deref().expect("--registry");
    let list = std::fs::read_to_string(args.urls.as_ref().expect("--urls")).expect("the URLs");
    let requests: Vec<(reqwest::Method, String)> = list
        .lines()
        .map(|line| {
            let (method, path) = line.split_once(' ').expect("METHOD path");
            let method = if method == "HEAD" {
                reqwest::Method::HEAD
            } else {
                reqwest::Method::GET
            };
            (method, format!("http://{registry}/v2/{path}"))
        })
        .collect();
    regatta::registry::install_crypto_provider();
    let http = reqwest::Client::new();
    runtime().block_on(async {
        let started = Instant::now();
        let done: Vec<u64> = futures::stream::iter(requests.iter())
            .map(|(method, url)| {
                let http = &http;
                async move {
                    let response = http
                        .request(method.clone(), url)
                        .header(reqwest::header::ACCEPT, MANIFEST_ACCEPT)
                        .send()
                        .await
                        .expect("a response");
                    assert!(
                        response.status().is_success(),
                        "{url}: {}",
                        response.status()
                    );
                    response.bytes().await.expect("a body").len() as u64
                }
            })
            .buffer_unordered(args.concurrency)
            .collect()
            .await;
        json!({
            "seconds": started.elapsed().as_secs_f64(),
            "requests": done.len(),
            "body_bytes": done.iter().sum::<u64>(),
            "vmhwm_kb": peak_kb(),
        })
    })
}

/// A synthetic model of 100,000 tags: 1,000 repositories of 100 tags, 90 images each and 10
/// aliases (a tenth of that in a smoke run); each image has a config, two of 50 shared base layers, its repository's layer
/// and a layer of its own.
pub fn child_model() -> Value {
    let digest = |s: String| Digest::sha256_of(s.as_bytes());
    let bases: Vec<Digest> = (0..50).map(|i| digest(format!("base-{i}"))).collect();
    let before = rss_kb();
    let started = Instant::now();
    let mut model = StorageModel::default();
    let repos = MODEL_TAGS / 100;
    let per_repo = MODEL_TAGS / repos;
    for r in 0..repos {
        let repo = RepoName::parse(&format!("org-{:02}/service-{r:04}", r % 37)).expect("name");
        let tags: Vec<Tag> = (0..per_repo)
            .map(|t| Tag::parse(&format!("1.{}.{t}", r % 7)).expect("tag"))
            .collect();
        model.apply(ScanEvent::Tags {
            repo: repo.clone(),
            tags: tags.clone(),
        });
        let repo_layer = digest(format!("repo-layer-{r}"));
        for (t, tag) in tags.iter().enumerate() {
            // Every tenth tag is an alias of the one before it.
            let image = if t % 10 == 9 { t - 1 } else { t };
            let manifest = digest(format!("manifest-{r}-{image}"));
            model.apply(ScanEvent::Resolved {
                repo: repo.clone(),
                tag: tag.clone(),
                digest: manifest.clone(),
            });
            if image != t {
                continue;
            }
            let config = digest(format!("config-{r}-{t}"));
            model.apply(ScanEvent::Manifest {
                digest: manifest,
                info: ManifestInfo {
                    media_type: "application/vnd.oci.image.manifest.v1+json".into(),
                    doc_size: 1_000 + t as u64,
                    subject: None,
                    kind: regatta::analysis::artifact::ArtifactKind::Image,
                    body: ManifestBody::Image {
                        config: (config.clone(), 1_500),
                        layers: vec![
                            (bases[(r + t) % 50].clone(), 30_000_000),
                            (bases[(r * 7 + t) % 50].clone(), 12_000_000),
                            (repo_layer.clone(), 2_000_000),
                            (digest(format!("layer-{r}-{t}")), 100_000 + t as u64),
                        ],
                        platform: None,
                    },
                },
            });
            model.apply(ScanEvent::Config {
                digest: config,
                info: ConfigInfo {
                    created: Some(
                        jiff::Timestamp::from_second(1_700_000_000 + t as i64).expect("a time"),
                    ),
                    platform: Some(Platform {
                        architecture: "amd64".into(),
                        os: "linux".into(),
                        variant: None,
                        os_version: None,
                    }),
                },
            });
        }
    }
    let build_seconds = started.elapsed().as_secs_f64();
    let model_kb = rss_kb().saturating_sub(before);
    let tags: usize = model.repos.values().map(|r| r.tags.len()).sum();
    assert_eq!(tags, MODEL_TAGS);
    assert!(model.is_complete());

    let started = Instant::now();
    let stats = repo_stats(&model);
    let total = registry_stats(&model, &stats);
    let stats_seconds = started.elapsed().as_secs_f64();
    let (repo, tag) = model
        .repos
        .iter()
        .next()
        .and_then(|(r, e)| e.tags.keys().next().map(|t| (r.clone(), t.clone())))
        .expect("a tag");
    let started = Instant::now();
    let plan = plan_deletion(&model, &[(repo, tag)]);
    let freed_seconds = started.elapsed().as_secs_f64();
    assert!(plan.bytes_freed > 0 && total.physical_bytes > 0);
    let started = Instant::now();
    let audit = regatta::audit::build_report(
        &model,
        &regatta::audit::AuditSettings::default(),
        jiff::Timestamp::now(),
        None,
        &std::collections::BTreeSet::new(),
    );
    let audit_seconds = started.elapsed().as_secs_f64();
    assert_eq!(audit.summary.tags, MODEL_TAGS);
    json!({
        "audit_seconds": audit_seconds,
        "audit_findings": audit.findings.len(),
        "tags": tags,
        "repositories": model.repos.len(),
        "manifests": model.manifests.len(),
        "model_kb": model_kb,
        "vmhwm_kb": peak_kb(),
        "build_seconds": build_seconds,
        "stats_seconds": stats_seconds,
        "freed_seconds": freed_seconds,
    })
}
