//! `cargo bench --bench scan -- --referrers`: the request cost of referrer discovery. Two
//! registries hold the same images; in the second every image is signed (cosign's tag
//! scheme: `sha256-<hex>.sig`, a config of its own) and has an SBOM attached the way oras
//! attaches one on a registry without the referrers API (an untagged manifest with
//! `subject`, listed by the fallback index `sha256-<hex>`). A cold and a warm scan of each
//! (the scan is where discovery happens: the referrers are read from its model, with no
//! request of their own) give the extra requests per attached manifest, by kind.
//!
//! Target: at most one extra GET per attached manifest cold (signature, SBOM and fallback
//! index each a manifest), none warm. The HEAD per tag is the scan's for every tag (tags
//! move), counted apart.

use serde_json::{Value, json};

use super::support;
use super::support::fixtures::FixtureBuilder;
use super::support::image::{Format, ImageSpec, Layer};
use super::support::registry::TestRegistry;
use super::{Args, SMOKE, run_child};
use regatta::registry::manifest::{OCI_CONFIG, OCI_INDEX, OCI_MANIFEST};
use regatta::registry::{Client, Digest, ManifestRef, RepoName, Tag};

const EMPTY: &str = "application/vnd.oci.empty.v1+json";

fn images(repos: usize, per_repo: usize) -> FixtureBuilder {
    let base = Layer::random("referrers-base", 16 * 1024);
    let mut b = FixtureBuilder::new();
    for r in 0..repos {
        let name = format!("signed/svc-{r:02}");
        for i in 0..per_repo {
            let spec = ImageSpec::new(
                Format::Oci,
                vec![base.clone(), Layer::text(&format!("{name}-{i}"))],
            )
            .created("2024-05-01T00:00:00Z");
            b.image(&name, &[&format!("v{i}")], spec);
        }
    }
    b
}

async fn put(
    client: &Client,
    repo: &RepoName,
    reference: ManifestRef,
    media_type: &str,
    v: &Value,
) -> Digest {
    let bytes = serde_json::to_vec(v).expect("json");
    let digest = Digest::sha256_of(&bytes);
    client
        .put_manifest(repo, &reference, media_type, bytes)
        .await
        .expect("push a manifest");
    digest
}

async fn blob(client: &Client, repo: &RepoName, bytes: Vec<u8>) -> Value {
    let size = bytes.len();
    let digest = client
        .upload_blob(repo, bytes)
        .await
        .expect("upload a blob");
    json!({"digest": digest, "size": size})
}

/// Signs `subject` as cosign does and attaches an SBOM as oras does; returns the number of
/// manifests written (signature, SBOM, fallback index).
async fn attach(client: &Client, repo: &RepoName, subject: &Digest, subject_size: usize) -> u64 {
    let payload = json!({"critical": {"identity": {"docker-reference": repo.as_str()}, "image": {"docker-manifest-digest": subject}, "type": "cosign container image signature"}, "optional": null}).to_string();
    let payload_digest = Digest::sha256_of(payload.as_bytes());
    let layer = blob(client, repo, payload.into_bytes()).await;
    // cosign's config names its layer's diff id: one config per signature.
    let config = blob(
        client,
        repo,
        json!({"architecture": "", "os": "", "config": {}, "rootfs": {"type": "layers", "diff_ids": [payload_digest]}})
            .to_string()
            .into_bytes(),
    )
    .await;
    let sig_tag = Tag::parse(&format!("sha256-{}.sig", subject.hex())).expect("tag");
    put(
        client,
        repo,
        ManifestRef::Tag(sig_tag),
        OCI_MANIFEST,
        &json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": config["digest"], "size": config["size"]},
            "layers": [{"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json", "digest": layer["digest"], "size": layer["size"],
                "annotations": {"dev.cosignproject.cosign/signature": "MEUCIQ=="}}]}),
    )
    .await;
    let empty = blob(client, repo, b"{}".to_vec()).await;
    let spdx = blob(
        client,
        repo,
        json!({"spdxVersion": "SPDX-2.3", "name": subject, "packages": [{"name": "musl"}, {"name": "zlib"}]})
            .to_string()
            .into_bytes(),
    )
    .await;
    let sbom = json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": "application/spdx+json",
        "config": {"mediaType": EMPTY, "digest": empty["digest"], "size": empty["size"]},
        "layers": [{"mediaType": "application/spdx+json", "digest": spdx["digest"], "size": spdx["size"]}],
        "subject": {"mediaType": OCI_MANIFEST, "digest": subject, "size": subject_size}});
    let sbom_size = serde_json::to_vec(&sbom).expect("json").len();
    let sbom_digest = put(
        client,
        repo,
        ManifestRef::Digest(Digest::sha256_of(&serde_json::to_vec(&sbom).expect("json"))),
        OCI_MANIFEST,
        &sbom,
    )
    .await;
    let fallback = Tag::parse(&format!("sha256-{}", subject.hex())).expect("tag");
    put(
        client,
        repo,
        ManifestRef::Tag(fallback),
        OCI_INDEX,
        &json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": sbom_digest, "size": sbom_size, "artifactType": "application/spdx+json"}]}),
    )
    .await;
    3
}

fn kinds(r: &Value) -> [u64; 4] {
    let n = |k: &str| r[k].as_u64().unwrap_or(0);
    [
        n("requests"),
        n("manifest_heads"),
        n("manifest_gets"),
        n("blob_gets"),
    ]
}

pub fn run(args: &Args) {
    let (repos, per_repo) = match (SMOKE, args.repos) {
        (_, Some(n)) => (n, 10),
        (true, None) => (2, 3),
        (false, None) => (20, 10),
    };
    let plain = TestRegistry::start();
    let signed = TestRegistry::start();
    let b = images(repos, per_repo);
    plain.push(&b);
    let truth = signed.push(&b);
    let client = signed.client();
    let attached: u64 = support::block_on(async {
        let mut n = 0;
        for (name, repo) in &truth.repos {
            let r = RepoName::parse(name).expect("repo");
            for digest in repo.tags.values() {
                let size = repo.manifests[digest].document.len();
                n += attach(&client, &r, digest, size).await;
            }
        }
        n
    });
    let images = (repos * per_repo) as u64;
    println!(
        "\nreferrer discovery: {repos} repositories x {per_repo} images, each signed (cosign tag) and with an SBOM (oras, fallback index): {attached} attached manifests"
    );
    let work = tempfile::tempdir().expect("a work dir");
    let c = args.concurrency.to_string();
    let scan = |registry: &TestRegistry, cache: &str| {
        let dir = work.path().join(cache).display().to_string();
        let addr = registry.addr();
        run_child(&[
            "scan",
            "--registry",
            &addr,
            "--concurrency",
            &c,
            "--cache",
            &dir,
        ])
    };
    let (plain_cold, plain_warm) = (scan(&plain, "plain"), scan(&plain, "plain"));
    let (signed_cold, signed_warm) = (scan(&signed, "signed"), scan(&signed, "signed"));
    assert_eq!(
        signed_cold["referrers"].as_u64(),
        Some(2 * images),
        "every signature and SBOM found: {signed_cold}"
    );
    let mut worst_cold = 0.0f64;
    let mut warm_gets = 0;
    for (label, base, with) in [
        ("cold", &plain_cold, &signed_cold),
        ("warm", &plain_warm, &signed_warm),
    ] {
        let [b, w] = [kinds(base), kinds(with)];
        let delta: Vec<i64> = (0..4).map(|i| w[i] as i64 - b[i] as i64).collect();
        let gets = delta[2] + delta[3];
        println!(
            "  {label} scan: {} -> {} requests (+{}): +{} HEAD (one per tag, as for every tag), +{} manifest GET, +{} blob GET = {:.2} GET per attached manifest",
            b[0],
            w[0],
            delta[0],
            delta[1],
            delta[2],
            delta[3],
            gets as f64 / attached as f64
        );
        if label == "cold" {
            worst_cold = gets as f64 / attached as f64;
        } else {
            warm_gets = gets;
        }
    }
    println!(
        "  target: at most 1 extra GET per attached manifest cold ({}), none warm ({})",
        if worst_cold <= 1.0 { "met" } else { "MISSED" },
        if warm_gets <= 0 { "met" } else { "MISSED" }
    );
    if args.check && (worst_cold > 1.0 || warm_gets > 0) {
        eprintln!("scan benchmark: the referrer discovery target is missed");
        std::process::exit(1);
    }
}
