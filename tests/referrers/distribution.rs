//! Against the real Distribution 2.8, which has no referrers API: cosign tags, fallback
//! indexes and `subject` fields, one fixture pushed by the `oras` Python package.

use super::support::fixtures::FixtureBuilder;
use super::support::image::{Format, ImageSpec, Layer};
use super::support::registry::{RegistryOptions, TestRegistry};
use super::*;

/// Everything the Distribution fixture holds, with the truth of each piece.
pub(super) struct World {
    pub(super) registry: TestRegistry,
    pub(super) subject: Pushed,
    pub(super) sig: Pushed,
    pub(super) att: Pushed,
    pub(super) sbom_cosign: Pushed,
    pub(super) notation: Pushed,
    pub(super) sbom_oras_style: Pushed,
    pub(super) sbom_signature: Pushed,
    pub(super) deleted: Digest,
    pub(super) fallback: Pushed,
    pub(super) fallback_of_sbom: Pushed,
    pub(super) cross_repo_sig: Pushed,
    pub(super) orphan_tag: String,
    pub(super) orphan_subject: Digest,
}

pub(super) fn world() -> World {
    let registry = TestRegistry::start_with(RegistryOptions {
        access_log: true,
        ..RegistryOptions::default()
    });
    let mut b = FixtureBuilder::new();
    b.image(
        "app",
        &["v1"],
        ImageSpec::new(Format::Oci, vec![Layer::text("app-v1")]),
    );
    b.image(
        "app",
        &["v0"],
        ImageSpec::new(Format::Oci, vec![Layer::text("app-v0")]),
    );
    let truth = registry.push(&b);
    let v1 = truth.tagged("app", "v1");
    let v0 = truth.tagged("app", "v0").digest.clone();
    let subject = Pushed {
        digest: v1.digest.clone(),
        document: v1.document.clone(),
        blobs: v1.blobs.clone(),
    };
    let client = registry.client();
    support::block_on(async {
        let s = &subject.digest;
        let payload = json!({"critical": {"image": {"docker-manifest-digest": s}, "type": "cosign container image signature"}}).to_string();
        // cosign: tags named after the subject, an ordinary config, the payload as layer
        let sig = push_artifact(&client, "app", Some(&cosign_tag(s, "sig")), Artifact {
            artifact_type: None,
            config_type: OCI_CONFIG,
            config: br#"{"architecture":"","os":"","config":{},"rootfs":{"type":"layers","diff_ids":[]}}"#,
            layers: vec![("application/vnd.dev.cosign.simplesigning.v1+json", payload.into_bytes(), json!({"dev.cosignproject.cosign/signature": "MEUCIQ=="}))],
            subject: None,
            annotations: json!({}),
        }).await;
        let att = push_artifact(&client, "app", Some(&cosign_tag(s, "att")), Artifact {
            artifact_type: None,
            config_type: OCI_CONFIG,
            config: br#"{"architecture":"","os":"","config":{},"rootfs":{"type":"layers","diff_ids":[]}}"#,
            layers: vec![("application/vnd.dsse.envelope.v1+json", br#"{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[]}"#.to_vec(), json!({"predicateType": "https://slsa.dev/provenance/v0.2"}))],
            subject: None,
            annotations: json!({}),
        }).await;
        let sbom_cosign = push_artifact(&client, "app", Some(&cosign_tag(s, "sbom")), Artifact {
            artifact_type: None,
            config_type: OCI_CONFIG,
            config: br#"{"architecture":"","os":"","config":{},"rootfs":{"type":"layers","diff_ids":[]}}"#,
            layers: vec![("text/spdx+json", br#"{"spdxVersion":"SPDX-2.3","packages":[{"name":"a"}]}"#.to_vec(), json!({}))],
            subject: None,
            annotations: json!({}),
        }).await;
        // Notation and oras on a registry without the API: untagged manifests with
        // `subject`, listed in the fallback index `sha256-<hex>`.
        let notation = push_artifact(&client, "app", None, Artifact {
            artifact_type: Some("application/vnd.cncf.notary.signature"),
            config_type: EMPTY,
            config: b"{}",
            layers: vec![("application/jose+json", br#"{"payload":"x","protected":"y","signature":"z"}"#.to_vec(), json!({}))],
            subject: Some(&subject),
            annotations: json!({"io.cncf.notary.x509chain.thumbprint#S256": "[]", "org.opencontainers.image.created": "2024-05-01T10:00:00Z"}),
        }).await;
        let sbom_oras_style = push_artifact(
            &client,
            "app",
            None,
            Artifact {
                artifact_type: Some("application/vnd.cyclonedx+json"),
                config_type: EMPTY,
                config: b"{}",
                layers: vec![(
                    "application/vnd.cyclonedx+json",
                    br#"{"bomFormat":"CycloneDX","components":[]}"#.to_vec(),
                    json!({"org.opencontainers.image.title": "bom.json"}),
                )],
                subject: Some(&subject),
                annotations: json!({"org.opencontainers.image.created": "2024-05-02T10:00:00Z"}),
            },
        )
        .await;
        // Listed in the fallback index, then deleted: a stale entry.
        let gone = push_artifact(
            &client,
            "app",
            None,
            Artifact {
                artifact_type: Some("application/vnd.example.gone"),
                config_type: EMPTY,
                config: b"{}",
                layers: vec![("application/octet-stream", b"gone".to_vec(), json!({}))],
                subject: Some(&subject),
                annotations: json!({}),
            },
        )
        .await;
        let fallback = push_fallback_index(
            &client,
            "app",
            s,
            &[
                (&notation, "application/vnd.cncf.notary.signature"),
                (&sbom_oras_style, "application/vnd.cyclonedx+json"),
                (&gone, "application/vnd.example.gone"),
            ],
        )
        .await;
        client
            .delete_manifest(&repo("app"), &gone.digest)
            .await
            .expect("delete");
        // A signature of the SBOM (transitive), listed in the SBOM's own fallback index.
        let sbom_signature = push_artifact(
            &client,
            "app",
            None,
            Artifact {
                artifact_type: Some("application/vnd.cncf.notary.signature"),
                config_type: EMPTY,
                config: b"{}",
                layers: vec![(
                    "application/jose+json",
                    br#"{"payload":"sbom"}"#.to_vec(),
                    json!({}),
                )],
                subject: Some(&sbom_oras_style),
                annotations: json!({}),
            },
        )
        .await;
        let fallback_of_sbom = push_fallback_index(
            &client,
            "app",
            &sbom_oras_style.digest,
            &[(&sbom_signature, "application/vnd.cncf.notary.signature")],
        )
        .await;
        // cosign with COSIGN_REPOSITORY=sigs: the signature lives in another repository.
        let cross_repo_sig = push_artifact(&client, "sigs", Some(&cosign_tag(s, "sig")), Artifact {
            artifact_type: None,
            config_type: OCI_CONFIG,
            config: br#"{"architecture":"","os":"","config":{},"rootfs":{"type":"layers","diff_ids":[]}}"#,
            layers: vec![("application/vnd.dev.cosign.simplesigning.v1+json", b"{\"elsewhere\":1}".to_vec(), json!({}))],
            subject: None,
            annotations: json!({}),
        }).await;
        // An orphaned signature: its subject v0 is deleted.
        let orphan_tag = cosign_tag(&v0, "sig");
        push_artifact(&client, "app", Some(&orphan_tag), Artifact {
            artifact_type: None,
            config_type: OCI_CONFIG,
            config: br#"{"architecture":"","os":"","config":{},"rootfs":{"type":"layers","diff_ids":[]}}"#,
            layers: vec![("application/vnd.dev.cosign.simplesigning.v1+json", b"{\"orphan\":1}".to_vec(), json!({}))],
            subject: None,
            annotations: json!({}),
        }).await;
        // A tagged manifest whose `subject` is v0: orphaned too once v0 goes.
        let v0_pushed = Pushed {
            digest: v0.clone(),
            document: truth.tagged("app", "v0").document.clone(),
            blobs: BTreeMap::new(),
        };
        push_artifact(
            &client,
            "app",
            Some("sbom-of-v0"),
            Artifact {
                artifact_type: Some("application/spdx+json"),
                config_type: EMPTY,
                config: b"{}",
                layers: vec![(
                    "application/spdx+json",
                    b"{\"spdxVersion\":\"SPDX-2.3\"}".to_vec(),
                    json!({}),
                )],
                subject: Some(&v0_pushed),
                annotations: json!({}),
            },
        )
        .await;
        client
            .delete_manifest(&repo("app"), &v0)
            .await
            .expect("delete v0");
        World {
            registry,
            subject,
            sig,
            att,
            sbom_cosign,
            notation,
            sbom_oras_style,
            sbom_signature,
            deleted: gone.digest,
            fallback,
            fallback_of_sbom,
            cross_repo_sig,
            orphan_tag,
            orphan_subject: v0,
        }
    })
}

#[test]
fn referrers_json_finds_every_source_transitively_with_kinds_and_sizes() {
    let w = world();
    let sandbox = support::cli::Sandbox::new();
    let before = w.registry.access_log_since(0).len();
    let reference = format!("{}/app:v1", w.registry.addr());
    let run = sandbox.run(&["referrers", &reference, "--json"]);
    let out = run.ok().json();
    let log = w.registry.access_log_since(before);
    assert_eq!(out["subject"], json!(w.subject.digest));
    assert_eq!(
        out["referrers_api"],
        json!({"app": false}),
        "Distribution 2.8 has no referrers API"
    );
    let found = nodes(&out);
    let root = w.subject.digest.to_string();
    let sbom_root = w.sbom_oras_style.digest.to_string();
    let expect: Vec<(&Pushed, &str, &str, Vec<String>)> = vec![
        (
            &w.sig,
            &root,
            "cosign signature",
            vec![format!(
                "cosign_tag:{}",
                cosign_tag(&w.subject.digest, "sig")
            )],
        ),
        (
            &w.att,
            &root,
            "attestation (SLSA provenance)",
            vec![format!(
                "cosign_tag:{}",
                cosign_tag(&w.subject.digest, "att")
            )],
        ),
        (
            &w.sbom_cosign,
            &root,
            "SBOM (SPDX)",
            vec![format!(
                "cosign_tag:{}",
                cosign_tag(&w.subject.digest, "sbom")
            )],
        ),
        (
            &w.notation,
            &root,
            "Notation signature",
            vec![format!("fallback_index:sha256-{}", w.subject.digest.hex())],
        ),
        (
            &w.sbom_oras_style,
            &root,
            "SBOM (CycloneDX)",
            vec![format!("fallback_index:sha256-{}", w.subject.digest.hex())],
        ),
        (
            &w.sbom_signature,
            &sbom_root,
            "Notation signature",
            vec![format!(
                "fallback_index:sha256-{}",
                w.sbom_oras_style.digest.hex()
            )],
        ),
    ];
    for (pushed, parent, label, via) in &expect {
        let (node, found_parent) = found.get(pushed.digest.as_str()).unwrap_or_else(|| {
            panic!("{label} {} not in the tree:\n{}", pushed.digest, run.stdout)
        });
        assert_eq!(found_parent, parent, "{label}: parent");
        assert_eq!(node["label"], json!(label));
        assert_eq!(
            node["size"],
            json!(pushed.size()),
            "{label}: manifest + blobs"
        );
        assert_eq!(&sources(node), via, "{label}: found via");
    }
    assert_eq!(
        found.len(),
        expect.len(),
        "nothing else: the deleted one, the orphan and the other repository's signature are not in the tree:\n{}",
        run.stdout
    );
    assert_eq!(out["count"], json!(expect.len()));
    let total: u64 = expect.iter().map(|(p, ..)| p.size()).sum();
    assert_eq!(out["total_bytes"], json!(total));
    // created comes from the annotation where there is one
    assert_eq!(
        found[w.notation.digest.as_str()].0["created"],
        json!("2024-05-01T10:00:00Z")
    );
    // The fallback index lists a manifest that was deleted: reported, not a referrer.
    let indexes = out["fallback_indexes"].as_array().expect("array");
    let main = indexes
        .iter()
        .find(|i| i["digest"] == json!(w.fallback.digest))
        .expect("the subject's fallback index");
    assert_eq!(main["missing"], json!([w.deleted]));
    assert_eq!(main["bytes"], json!(w.fallback.document.len()));
    assert!(
        indexes
            .iter()
            .any(|i| i["digest"] == json!(w.fallback_of_sbom.digest))
    );

    // Request cost, from the registry's own access log: the referrers API asked once
    // (404, then never again), and no manifest fetched twice by digest.
    let referrer_calls: Vec<_> = log
        .iter()
        .filter(|e| e.target.contains("/referrers/"))
        .collect();
    assert_eq!(referrer_calls.len(), 1, "{referrer_calls:?}");
    assert_eq!(referrer_calls[0].status, 404);
    let mut by_digest: BTreeMap<&str, usize> = BTreeMap::new();
    for e in log
        .iter()
        .filter(|e| e.method == "GET" && e.target.contains("/manifests/sha256:"))
    {
        *by_digest.entry(&e.target).or_default() += 1;
    }
    assert!(
        by_digest.values().all(|n| *n == 1),
        "a manifest fetched twice: {by_digest:?}"
    );

    // Warm: the same command again reads referrer manifests by digest from the cache.
    let before = w.registry.access_log_since(0).len();
    sandbox.run(&["referrers", &reference, "--json"]).ok();
    let warm = w.registry.access_log_since(before);
    let digest_gets: Vec<_> = warm
        .iter()
        .filter(|e| e.method == "GET" && e.target.contains("/manifests/sha256:") && e.status == 200)
        .collect();
    assert!(
        digest_gets.is_empty(),
        "warm run fetched by digest again: {digest_gets:?}"
    );

    // The text form names each kind with its size.
    let text = sandbox.run(&["referrers", &reference]);
    let text = &text.ok().stdout;
    for (pushed, _, label, _) in &expect {
        assert!(
            text.lines()
                .any(|l| l.contains(label) && l.contains(pushed.digest.as_str())),
            "{label} {} missing from:\n{text}",
            pushed.digest
        );
    }
    assert!(text.contains("6 referrers"), "{text}");
    assert!(
        text.contains("lists 1 manifest(s) the registry no longer has"),
        "{text}"
    );
}

#[test]
fn another_repository_orphans_and_the_library_api() {
    let w = world();
    let client = w.registry.client();
    support::block_on(async {
        let options = regatta::referrers::DiscoveryOptions {
            other_repositories: vec![repo("sigs")],
            ..Default::default()
        };
        let found =
            regatta::referrers::discover(&client, &repo("app"), &w.subject.digest, None, &options)
                .await
                .expect("discover");
        let elsewhere: Vec<_> = found
            .facts
            .iter()
            .filter(|f| f.repo == repo("sigs"))
            .collect();
        assert_eq!(elsewhere.len(), 1);
        assert_eq!(elsewhere[0].digest, w.cross_repo_sig.digest);
        assert_eq!(elsewhere[0].size(), Some(w.cross_repo_sig.size()));
        assert_eq!(found.api.get(&repo("sigs")), Some(&false));

        // Without transitivity the signature of the SBOM is not followed.
        let shallow = regatta::referrers::discover(
            &client,
            &repo("app"),
            &w.subject.digest,
            None,
            &regatta::referrers::DiscoveryOptions {
                transitive: false,
                ..Default::default()
            },
        )
        .await
        .expect("discover");
        assert!(
            !shallow
                .facts
                .iter()
                .any(|f| f.digest == w.sbom_signature.digest)
        );
        assert!(
            shallow
                .facts
                .iter()
                .any(|f| f.digest == w.sbom_oras_style.digest)
        );

        // The orphans: their subject v0 was deleted (a cosign tag and a tagged manifest with
        // `subject`); the other scheme tags have theirs.
        let orphans = regatta::referrers::orphans(&client, &repo("app"), None, &Default::default())
            .await
            .expect("orphans");
        assert!(orphans.failures.is_empty(), "{:?}", orphans.failures);
        let orphans = orphans.orphans;
        let mut tags: Vec<&str> = orphans.iter().map(|o| o.tag.as_str()).collect();
        tags.sort();
        let mut want = vec![w.orphan_tag.as_str(), "sbom-of-v0"];
        want.sort();
        assert_eq!(tags, want, "{orphans:?}");
        assert!(orphans.iter().all(|o| o.subject == w.orphan_subject));
        // Without reading tagged manifests, only the scheme tag is seen.
        let by_name = regatta::referrers::orphans(
            &client,
            &repo("app"),
            None,
            &regatta::referrers::DiscoveryOptions {
                tagged_subjects: false,
                ..Default::default()
            },
        )
        .await
        .expect("orphans")
        .orphans;
        assert_eq!(by_name.len(), 1, "{by_name:?}");
        assert_eq!(by_name[0].tag.as_str(), w.orphan_tag);
    });
    // The command line names the other repository on the referrer's line.
    let run = support::cli::Sandbox::new().run(&[
        "referrers",
        &format!("{}/app:v1", w.registry.addr()),
        "--also-in",
        "sigs",
    ]);
    let want = format!("cosign signature  sigs@{}", w.cross_repo_sig.digest);
    assert!(run.ok().stdout.contains(&want), "{}", run.describe());
    assert!(run.stdout.contains("7 referrers"), "{}", run.describe());
    // So does the registry's `referrers_repository` in the config, without the flag.
    let sandbox = support::cli::Sandbox::new();
    sandbox.write_default_config(&format!(
        "[registries.here]\nurl = \"{}\"\nreferrers_repository = \"sigs\"\n",
        w.registry.addr()
    ));
    let run = sandbox.run(&["referrers", "here/app:v1"]);
    assert!(run.ok().stdout.contains(&want), "{}", run.describe());
    assert!(run.stdout.contains("7 referrers"), "{}", run.describe());
    // Independent check that the orphan's subject really is gone from storage.
    let revision = w
        .registry
        .storage_root()
        .join("docker/registry/v2/repositories/app/_manifests/revisions/sha256")
        .join(w.orphan_subject.hex())
        .join("link");
    assert!(!revision.exists(), "the registry still links v0");
}

#[test]
fn inspect_names_the_kind_and_bad_input_gets_one_sentence() {
    let registry = TestRegistry::start();
    let mut b = FixtureBuilder::new();
    b.image(
        "app",
        &["v1"],
        ImageSpec::new(Format::Oci, vec![Layer::text("kind-v1")]),
    );
    registry.push(&b);
    let client = registry.client();
    support::block_on(async {
        push_artifact(
            &client,
            "charts",
            Some("0.1.0"),
            Artifact {
                artifact_type: None,
                config_type: "application/vnd.cncf.helm.config.v1+json",
                config: br#"{"name":"demo","version":"0.1.0","apiVersion":"v2"}"#,
                layers: vec![(
                    "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
                    b"not really a tarball".to_vec(),
                    json!({}),
                )],
                subject: None,
                annotations: json!({}),
            },
        )
        .await;
        push_artifact(
            &client,
            "wasm",
            Some("v1"),
            Artifact {
                artifact_type: None,
                config_type: "application/vnd.wasm.config.v0+json",
                config: br#"{"architecture":"wasm","os":"wasip1"}"#,
                layers: vec![(
                    "application/vnd.wasm.content.layer.v1+wasm",
                    b"\0asm\x01\0\0\0".to_vec(),
                    json!({}),
                )],
                subject: None,
                annotations: json!({}),
            },
        )
        .await;
    });
    let sandbox = support::cli::Sandbox::new();
    let addr = registry.addr();
    for (reference, kind, label) in [
        (format!("{addr}/app:v1"), "image", "image"),
        (format!("{addr}/charts:0.1.0"), "helm_chart", "Helm chart"),
        (format!("{addr}/wasm:v1"), "wasm_module", "WASM module"),
    ] {
        let run = sandbox.run(&["inspect", &reference, "--json"]);
        assert_eq!(
            run.ok_with_stderr().json()["kind"],
            json!(kind),
            "{}",
            run.describe()
        );
        let text = sandbox.run(&["inspect", &reference]);
        assert!(
            text.ok_with_stderr()
                .stdout
                .lines()
                .any(|l| l == format!("Kind:       {label}")),
            "{}",
            text.describe()
        );
    }
    // No referrers: said plainly.
    let none = sandbox.run(&["referrers", &format!("{addr}/app:v1")]);
    assert!(
        none.ok().stdout.ends_with("no referrers\n"),
        "{}",
        none.describe()
    );
    // Bad input and a missing subject: exit 1 and one sentence on stderr.
    for (args, says) in [
        (
            vec![
                "referrers".to_string(),
                format!("{addr}/app:v1"),
                "--also-in".into(),
                "Not A Repo".into(),
            ],
            "invalid reference \"Not A Repo\"",
        ),
        (
            vec!["referrers".to_string(), format!("{addr}/app:nope")],
            "404 Not Found: app:nope",
        ),
        (
            vec![
                "referrers".to_string(),
                format!("{addr}/app@sha256:{}", "0".repeat(64)),
            ],
            "404 Not Found: app@sha256:0000",
        ),
    ] {
        let run = sandbox.run(&args);
        assert_eq!(run.code, Some(1), "{}", run.describe());
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.describe());
        assert!(run.stderr.contains(says), "{}", run.describe());
        assert!(run.stdout.is_empty(), "{}", run.describe());
    }
}

/// The Python interpreter of the virtualenv holding the `oras` package: from
/// `REGATTA_ORAS_PYTHON` (scripts/test sets it), else `target/oras-venv`. None when
/// neither exists: `cargo test` alone cannot install it.
fn oras_python() -> Option<std::path::PathBuf> {
    if let Some(p) = std::env::var_os("REGATTA_ORAS_PYTHON") {
        return Some(p.into());
    }
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/oras-venv/bin/python");
    p.exists().then_some(p)
}

const ORAS_PUSH: &str = r#"
import os, sys
import oras.client, oras.oci
host, target, digest, size, media_type, workdir = sys.argv[1:]
os.chdir(workdir)
with open("sbom.spdx.json", "w") as f:
    f.write('{"spdxVersion":"SPDX-2.3","packages":[{"name":"pushed-by-oras-py"}]}')
client = oras.client.OrasClient(hostname=host, insecure=True)
subject = oras.oci.Subject(mediaType=media_type, digest=digest, size=int(size))
client.push(target=target, files=["sbom.spdx.json:application/spdx+json"], subject=subject)
"#;

#[test]
fn a_referrer_pushed_by_the_oras_python_package_is_found_through_its_subject() {
    let Some(python) = oras_python() else {
        eprintln!(
            "skipped: no oras virtualenv (scripts/test creates it; or set REGATTA_ORAS_PYTHON)"
        );
        return;
    };
    let registry = TestRegistry::start();
    let mut b = FixtureBuilder::new();
    b.image(
        "app",
        &["v1"],
        ImageSpec::new(Format::Oci, vec![Layer::text("oras-v1")]),
    );
    let truth = registry.push(&b);
    let v1 = truth.tagged("app", "v1");
    let work = tempfile::tempdir().expect("tempdir");
    let target = format!("{}/app:sbom", registry.addr());
    let out = std::process::Command::new(&python)
        .args([
            "-c",
            ORAS_PUSH,
            &registry.addr(),
            &target,
            v1.digest.as_str(),
            &v1.document.len().to_string(),
            &v1.media_type,
        ])
        .arg(work.path())
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "oras push failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Truth from the registry's storage: what the tag points at, and the sizes of the
    // manifest and of every blob it names.
    let root = registry.storage_root().join("docker/registry/v2");
    let link =
        std::fs::read_to_string(root.join("repositories/app/_manifests/tags/sbom/current/link"))
            .expect("tag link");
    let digest = Digest::parse(link.trim()).expect("digest");
    let data = |d: &Digest| root.join(format!("blobs/sha256/{}/{}/data", &d.hex()[..2], d.hex()));
    let document = std::fs::read(data(&digest)).expect("manifest blob");
    let manifest: Value = serde_json::from_slice(&document).expect("json");
    assert_eq!(
        manifest["subject"]["digest"],
        json!(v1.digest),
        "oras-py wrote the subject"
    );
    let mut size = document.len() as u64;
    for d in
        std::iter::once(&manifest["config"]).chain(manifest["layers"].as_array().expect("layers"))
    {
        let d = Digest::parse(d["digest"].as_str().expect("digest")).expect("digest");
        size += std::fs::metadata(data(&d)).expect("blob").len();
    }
    let run = support::cli::Sandbox::new().run(&[
        "referrers",
        &format!("{}/app:v1", registry.addr()),
        "--json",
    ]);
    let out = run.ok().json();
    let found = nodes(&out);
    assert_eq!(found.len(), 1, "{}", run.stdout);
    let (node, _) = &found[digest.as_str()];
    assert_eq!(node["label"], json!("SBOM (SPDX)"));
    assert_eq!(node["size"], json!(size));
    assert_eq!(sources(node), vec!["subject_field:sbom".to_string()]);
}
