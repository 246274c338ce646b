//! What each artifact says, against the real Distribution 2.8: a cosign signature's payload
//! (and its certificate, made by openssl, read as openssl reads it; a malformed one noted),
//! attestations (SLSA provenance and a Trivy report in cosign's vuln predicate, in DSSE
//! envelopes), an SPDX SBOM's package count, a body above the size cap left unread, and a
//! Helm chart's name and version in `inspect`. The request cost is read from the registry's
//! access log: one GET per small blob cold, none warm, none for the large one.

use base64::Engine;

use super::support::fixtures::FixtureBuilder;
use super::support::image::{Format, ImageSpec, Layer};
use super::support::registry::{RegistryOptions, TestRegistry};
use super::*;

const COSIGN_CONFIG: &[u8] =
    br#"{"architecture":"","os":"","config":{},"rootfs":{"type":"layers","diff_ids":[]}}"#;

fn dsse(statement: &Value) -> Vec<u8> {
    let payload = base64::engine::general_purpose::STANDARD.encode(statement.to_string());
    json!({"payloadType": "application/vnd.in-toto+json", "payload": payload, "signatures": [{"keyid": "", "sig": "MEQCIA=="}]})
        .to_string()
        .into_bytes()
}

/// A Trivy report (`trivy image --format json`) with 2 critical, 1 high and 3 low.
fn trivy_report() -> Value {
    let v = |id: &str, sev: &str| json!({"VulnerabilityID": id, "PkgName": "p", "Severity": sev});
    json!({"SchemaVersion": 2, "ArtifactName": "app:v1", "Results": [
        {"Target": "app:v1 (debian 12)", "Class": "os-pkgs", "Vulnerabilities": [
            v("CVE-1", "CRITICAL"), v("CVE-2", "CRITICAL"), v("CVE-3", "HIGH"), v("CVE-4", "LOW")]},
        {"Target": "go.sum", "Class": "lang-pkgs", "Vulnerabilities": [v("CVE-5", "LOW"), v("CVE-6", "LOW")]},
        {"Target": "empty", "Class": "lang-pkgs", "Vulnerabilities": null}
    ]})
}

struct Fixture {
    registry: TestRegistry,
    subject: Pushed,
    sig: Pushed,
    att: Pushed,
    sbom: Pushed,
    big_sbom: Pushed,
    big_layer: Digest,
    /// The blobs whose bodies the summaries need (distinct).
    summary_blobs: Vec<Digest>,
}

fn fixture() -> Fixture {
    let registry = TestRegistry::start_with(RegistryOptions {
        access_log: true,
        ..RegistryOptions::default()
    });
    let mut b = FixtureBuilder::new();
    b.image(
        "app",
        &["v1"],
        ImageSpec::new(Format::Oci, vec![Layer::text("content-v1")]),
    );
    let truth = registry.push(&b);
    let v1 = truth.tagged("app", "v1");
    let subject = Pushed {
        digest: v1.digest.clone(),
        document: v1.document.clone(),
        blobs: v1.blobs.clone(),
    };
    let client = registry.client();
    support::block_on(async {
        let s = &subject.digest;
        let payload = json!({"critical": {"identity": {"docker-reference": format!("{}/app", registry.addr())}, "image": {"docker-manifest-digest": s}, "type": "cosign container image signature"}, "optional": {"team": "payments"}}).to_string().into_bytes();
        let sig = push_artifact(&client, "app", Some(&cosign_tag(s, "sig")), Artifact {
            artifact_type: None,
            config_type: OCI_CONFIG,
            config: COSIGN_CONFIG,
            layers: vec![("application/vnd.dev.cosign.simplesigning.v1+json", payload, json!({
                "dev.cosignproject.cosign/signature": "MEUCIQ==",
                "dev.sigstore.cosign/certificate": "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n",
            }))],
            subject: None,
            annotations: json!({}),
        }).await;
        let statement_subject =
            json!([{"name": format!("{}/app", registry.addr()), "digest": {"sha256": s.hex()}}]);
        let provenance = dsse(&json!({
            "_type": "https://in-toto.io/Statement/v0.1",
            "predicateType": "https://slsa.dev/provenance/v0.2",
            "subject": statement_subject,
            "predicate": {"builder": {"id": "https://github.com/actions/runner"}, "buildType": "https://example/build"},
        }));
        let vuln = dsse(&json!({
            "_type": "https://in-toto.io/Statement/v0.1",
            "predicateType": "https://cosign.sigstore.dev/attestation/vuln/v1",
            "subject": statement_subject,
            "predicate": {"invocation": {}, "scanner": {"uri": "pkg:github/aquasecurity/trivy@v0.50.0", "version": "0.50.0", "result": trivy_report()}, "metadata": {}},
        }));
        // cosign keeps every attestation of an image as one layer of the `.att` manifest.
        let att = push_artifact(
            &client,
            "app",
            Some(&cosign_tag(s, "att")),
            Artifact {
                artifact_type: None,
                config_type: OCI_CONFIG,
                config: COSIGN_CONFIG,
                layers: vec![
                    (
                        "application/vnd.dsse.envelope.v1+json",
                        provenance,
                        json!({"predicateType": "https://slsa.dev/provenance/v0.2"}),
                    ),
                    (
                        "application/vnd.dsse.envelope.v1+json",
                        vuln,
                        json!({"predicateType": "https://cosign.sigstore.dev/attestation/vuln/v1"}),
                    ),
                ],
                subject: None,
                annotations: json!({}),
            },
        )
        .await;
        // oras attach --artifact-type application/spdx+json: 4 packages.
        let spdx = json!({"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT", "name": "app", "packages": [
            {"name": "musl", "SPDXID": "SPDXRef-1"}, {"name": "busybox", "SPDXID": "SPDXRef-2"},
            {"name": "zlib", "SPDXID": "SPDXRef-3"}, {"name": "ca-certificates", "SPDXID": "SPDXRef-4"}]});
        let sbom = push_artifact(
            &client,
            "app",
            None,
            Artifact {
                artifact_type: Some("application/spdx+json"),
                config_type: EMPTY,
                config: b"{}",
                layers: vec![(
                    "application/spdx+json",
                    spdx.to_string().into_bytes(),
                    json!({"org.opencontainers.image.title": "sbom.spdx.json"}),
                )],
                subject: Some(&subject),
                annotations: json!({}),
            },
        )
        .await;
        push_fallback_index(&client, "app", s, &[(&sbom, "application/spdx+json")]).await;
        // An SBOM above the 4 MiB document cap: named, never fetched.
        let mut big = b"{\"spdxVersion\":\"SPDX-2.3\",\"packages\":[],\"pad\":\"".to_vec();
        big.resize(regatta::registry::MAX_DOCUMENT_BYTES as usize, b'x');
        big.extend_from_slice(b"\"}");
        let big_layer = Digest::sha256_of(&big);
        let big_sbom = push_artifact(&client, "app", Some(&cosign_tag(s, "sbom")), Artifact {
            artifact_type: None,
            config_type: OCI_CONFIG,
            config: br#"{"architecture":"","os":"","config":{},"rootfs":{"type":"layers","diff_ids":["sha256:big"]}}"#,
            layers: vec![("text/spdx+json", big, json!({}))],
            subject: None,
            annotations: json!({}),
        }).await;
        // A Helm chart, as `helm push` writes it.
        push_artifact(
            &client,
            "charts",
            Some("0.1.0"),
            Artifact {
                artifact_type: None,
                config_type: "application/vnd.cncf.helm.config.v1+json",
                config:
                    br#"{"name":"demo","version":"0.1.0","apiVersion":"v2","appVersion":"1.16.0"}"#,
                layers: vec![(
                    "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
                    b"chart tarball".to_vec(),
                    json!({}),
                )],
                subject: None,
                annotations: json!({}),
            },
        )
        .await;
        let layer_digests = |p: &Pushed, skip: &[&[u8]]| -> Vec<Digest> {
            p.blobs
                .keys()
                .filter(|d| !skip.iter().any(|c| d == &&Digest::sha256_of(c)))
                .cloned()
                .collect()
        };
        let mut summary_blobs = layer_digests(&sig, &[COSIGN_CONFIG]);
        summary_blobs.extend(att.blobs.keys().filter(|d| att.blobs[*d] > 200).cloned());
        summary_blobs.extend(layer_digests(&sbom, &[b"{}"]));
        Fixture {
            registry,
            subject,
            sig,
            att,
            sbom,
            big_sbom,
            big_layer,
            summary_blobs,
        }
    })
}

fn blob_gets(log: &[support::registry::AccessLogEntry]) -> Vec<String> {
    log.iter()
        .filter(|e| e.method == "GET" && e.target.contains("/blobs/sha256:"))
        .map(|e| e.target.clone())
        .collect()
}

#[test]
fn referrers_show_what_each_artifact_says_with_one_get_per_small_blob() {
    let f = fixture();
    assert_eq!(
        f.summary_blobs.len(),
        4,
        "payload, two envelopes, the SPDX document"
    );
    let sandbox = support::cli::Sandbox::new();
    let reference = format!("{}/app:v1", f.registry.addr());
    let before = f.registry.access_log_since(0).len();
    let run = sandbox.run(&["referrers", &reference, "--json"]);
    let out = run.ok().json();
    let cold = blob_gets(&f.registry.access_log_since(before));
    let found = nodes(&out);
    let summary = |p: &Pushed| found[p.digest.as_str()].0["summary"].clone();

    let s = f.subject.digest.to_string();
    assert_eq!(
        summary(&f.sig),
        json!([{"digest": f.summary_blobs[0], "content": "signed_payload", "signed_digest": s,
            "docker_reference": format!("{}/app", f.registry.addr()),
            "annotations": {"team": "payments"},
            "certificate_annotations": ["dev.sigstore.cosign/certificate"],
            "certificate": {"unreadable": "not an X.509 certificate"}}])
    );
    let att = summary(&f.att);
    let att = att.as_array().expect("array");
    assert_eq!(att.len(), 2, "{att:?}");
    for a in att {
        assert_eq!(a["content"], json!("statement"));
        assert_eq!(
            a["subjects"][0]["digest"]["sha256"],
            json!(f.subject.digest.hex())
        );
    }
    let slsa = att
        .iter()
        .find(|a| a["predicate_type"] == json!("https://slsa.dev/provenance/v0.2"))
        .expect("the provenance");
    assert!(slsa.get("vulnerabilities").is_none());
    let vuln = att
        .iter()
        .find(|a| a["predicate_type"] == json!("https://cosign.sigstore.dev/attestation/vuln/v1"))
        .expect("the vulnerability report");
    assert_eq!(
        vuln["vulnerabilities"],
        json!({"critical": 2, "high": 1, "medium": 0, "low": 3, "negligible": 0, "unknown": 0})
    );
    assert_eq!(
        summary(&f.sbom),
        json!([{"digest": f.summary_blobs[3], "content": "sbom", "format": "spdx", "packages": 4}])
    );
    assert_eq!(
        summary(&f.big_sbom),
        json!([{"digest": f.big_layer, "content": "too_large",
            "size": regatta::registry::MAX_DOCUMENT_BYTES + 2, "cap": regatta::registry::MAX_DOCUMENT_BYTES}])
    );

    // Cost, from the registry's own log: each small blob once, the large one never.
    let mut want: Vec<String> = f
        .summary_blobs
        .iter()
        .map(|d| {
            let repo = "app";
            format!("/v2/{repo}/blobs/{d}")
        })
        .collect();
    want.sort();
    let mut got = cold.clone();
    got.sort();
    assert_eq!(got, want, "cold blob GETs");
    assert!(!cold.iter().any(|t| t.contains(f.big_layer.as_str())));
    // Warm: the same command reads them from the cache.
    let before = f.registry.access_log_since(0).len();
    sandbox.run(&["referrers", &reference, "--json"]).ok();
    let warm = blob_gets(&f.registry.access_log_since(before));
    assert!(warm.is_empty(), "warm run fetched blobs again: {warm:?}");

    // The text form, one line per blob under its referrer.
    let text = sandbox.run(&["referrers", &reference]);
    let text = &text.ok().stdout;
    for line in [
        format!(
            "signs {s} ({}/app); annotations team=payments; certificate unreadable (not an X.509 certificate)",
            f.registry.addr()
        ),
        "vulnerabilities: 2 critical, 1 high, 3 low".to_string(),
        "statement SLSA provenance (https://slsa.dev/provenance/v0.2)".to_string(),
        "SBOM (SPDX): 4 packages".to_string(),
        format!(
            "blob {} of 4.0 MiB not read (above the 4 MiB cap)",
            f.big_layer
        ),
    ] {
        assert!(text.contains(&line), "{line:?} missing from:\n{text}");
    }
}

#[test]
fn inspect_counts_referrers_and_names_a_chart() {
    let f = fixture();
    let sandbox = support::cli::Sandbox::new();
    let addr = f.registry.addr();
    let referrers = [&f.sig, &f.att, &f.sbom, &f.big_sbom];
    // Distinct blobs over all referrers, manifests included: the configs cosign's tags share
    // count once, by discovery as by the scan.
    let mut distinct: BTreeMap<Digest, u64> = BTreeMap::new();
    for p in referrers {
        distinct.insert(p.digest.clone(), p.document.len() as u64);
        distinct.extend(p.blobs.clone());
    }
    let bytes: u64 = distinct.values().sum();
    let per_referrer: u64 = referrers.iter().map(|p| p.size()).sum();
    assert!(bytes < per_referrer, "the fixture shares a config");
    let run = sandbox.run(&["inspect", &format!("{addr}/app:v1"), "--json"]);
    assert_eq!(
        run.ok().json()["referrers"],
        json!({"count": 4, "bytes": bytes, "source": "discovery"})
    );
    let run = sandbox.run(&["inspect", &format!("{addr}/app:v1"), "--json", "--sharing"]);
    assert_eq!(
        run.ok_with_stderr().json()["referrers"],
        json!({"count": 4, "bytes": bytes, "source": "scan"}),
        "{}",
        run.describe()
    );
    let text = sandbox.run(&["inspect", &format!("{addr}/app:v1")]);
    assert!(
        text.ok()
            .stdout
            .lines()
            .any(|l| l.starts_with("Referrers:  4, ")),
        "{}",
        text.stdout
    );

    // The chart: name and version from its config, no `Platform: -`.
    let chart = format!("{addr}/charts:0.1.0");
    let run = sandbox.run(&["inspect", &chart, "--json"]);
    let out = run.ok_with_stderr().json();
    assert_eq!(out["summary"][0]["name"], json!("demo"));
    assert_eq!(out["summary"][0]["version"], json!("0.1.0"));
    assert_eq!(out["referrers"]["count"], json!(0));
    let text = sandbox.run(&["inspect", &chart]);
    let lines = text.ok_with_stderr().stdout_lines();
    assert!(
        lines.contains(&"Content:    chart demo 0.1.0 (app 1.16.0)"),
        "{lines:#?}"
    );
    assert!(
        !lines.iter().any(|l| l.starts_with("Platform:")),
        "{lines:#?}"
    );
}

/// A keyless-style cosign signature: its certificate (made by OpenSSL 3) names the signer
/// and the issuer exactly as `openssl x509 -subject -issuer -ext subjectAltName` prints
/// them, in `referrers --json`, in the `referrers` tree and in `inspect` of the signature.
#[test]
fn a_signature_certificate_names_its_subject_and_issuer_as_openssl_reads_them() {
    let cert = support::referrers::openssl_signing_certificate();
    assert_ne!(cert.subject, cert.issuer, "a leaf issued by a CA");
    let registry = TestRegistry::start();
    let mut b = FixtureBuilder::new();
    b.image(
        "app",
        &["v1"],
        ImageSpec::new(Format::Oci, vec![Layer::text("content-v1")]),
    );
    let truth = registry.push(&b);
    let subject = truth.tagged("app", "v1").digest.clone();
    let client = registry.client();
    let sig = support::block_on(async {
        let payload = json!({"critical": {"identity": {"docker-reference": "app"}, "image": {"docker-manifest-digest": subject}, "type": "cosign container image signature"}, "optional": null}).to_string().into_bytes();
        push_artifact(
            &client,
            "app",
            Some(&cosign_tag(&subject, "sig")),
            Artifact {
                artifact_type: None,
                config_type: OCI_CONFIG,
                config: COSIGN_CONFIG,
                layers: vec![(
                    "application/vnd.dev.cosign.simplesigning.v1+json",
                    payload,
                    json!({
                        "dev.cosignproject.cosign/signature": "MEUCIQ==",
                        "dev.sigstore.cosign/certificate": cert.pem,
                        "dev.sigstore.cosign/chain": cert.chain,
                    }),
                )],
                subject: None,
                annotations: json!({}),
            },
        )
        .await
    });
    let sandbox = support::cli::Sandbox::new();
    let addr = registry.addr();
    let reference = format!("{addr}/app:v1");

    let out = sandbox
        .run(&["referrers", &reference, "--json"])
        .ok()
        .json();
    let found = nodes(&out);
    let summary = &found[sig.digest.as_str()].0["summary"][0];
    assert_eq!(
        summary["certificate"],
        json!({"subject": cert.subject, "identities": [cert.identity],
            "issuer": cert.issuer, "oidc_issuer": cert.oidc_issuer}),
        "{summary}"
    );

    let line = format!(
        "signs {subject} (app); certificate subject {} ({}); issuer {}; OIDC issuer {}; chain in dev.sigstore.cosign/chain",
        cert.identity, cert.subject, cert.issuer, cert.oidc_issuer
    );
    let text = sandbox.run(&["referrers", &reference]);
    let text = &text.ok().stdout;
    assert!(text.contains(&line), "{line:?} missing from:\n{text}");

    let inspect = sandbox.run(&["inspect", &format!("{addr}/app@{}", sig.digest)]);
    let lines = inspect.ok_with_stderr().stdout_lines();
    assert!(
        lines.contains(&format!("Content:    {line}").as_str()),
        "{lines:#?}"
    );
}
