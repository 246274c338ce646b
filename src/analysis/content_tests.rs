//! Samples written from the formats' specifications and the tools' documented output.

use base64::Engine;

use super::*;
use crate::registry::manifest::{ImageManifest, OCI_CONFIG, OCI_MANIFEST};

const HEX: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn descriptor(media_type: &str, size: u64, n: u8, annotations: &[(&str, &str)]) -> Descriptor {
    Descriptor {
        media_type: media_type.into(),
        digest: Digest::sha256_of(&[n]),
        size,
        platform: None,
        annotations: (!annotations.is_empty()).then(|| {
            annotations
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        }),
    }
}

fn manifest(config: Descriptor, layers: Vec<Descriptor>) -> Manifest {
    Manifest::Image(ImageManifest {
        schema_version: 2,
        media_type: Some(OCI_MANIFEST.into()),
        artifact_type: None,
        config,
        layers,
        subject: None,
        annotations: None,
    })
}

/// `cosign sign -a team=payments` with a Fulcio certificate (keyless).
#[test]
fn a_cosign_payload_names_the_digest_it_signs() {
    let payload = format!(
        r#"{{"critical":{{"identity":{{"docker-reference":"registry.example/app"}},"image":{{"docker-manifest-digest":"sha256:{HEX}"}},"type":"cosign container image signature"}},"optional":{{"team":"payments","build":42}}}}"#
    );
    let layer = BTreeMap::from([
        (
            "dev.cosignproject.cosign/signature".to_string(),
            "MEUCIQ==".to_string(),
        ),
        (
            "dev.sigstore.cosign/certificate".to_string(),
            "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n".to_string(),
        ),
        (
            "dev.sigstore.cosign/chain".to_string(),
            "-----BEGIN CERTIFICATE-----".to_string(),
        ),
    ]);
    assert_eq!(
        signed_payload(payload.as_bytes(), &layer),
        Content::SignedPayload {
            signed_digest: Some(format!("sha256:{HEX}")),
            docker_reference: Some("registry.example/app".into()),
            annotations: BTreeMap::from([
                ("build".to_string(), "42".to_string()),
                ("team".to_string(), "payments".to_string())
            ]),
            certificate_annotations: vec![
                "dev.sigstore.cosign/certificate".into(),
                "dev.sigstore.cosign/chain".into()
            ],
            certificate: Some(Box::new(Certificate::Unreadable {
                unreadable: "not an X.509 certificate".into()
            })),
        }
    );
    // A key-signed payload: no certificate, no annotations.
    let bare = format!(
        r#"{{"critical":{{"image":{{"docker-manifest-digest":"sha256:{HEX}"}},"type":"cosign container image signature"}},"optional":null}}"#
    );
    match signed_payload(bare.as_bytes(), &BTreeMap::new()) {
        Content::SignedPayload {
            annotations,
            certificate_annotations,
            certificate,
            docker_reference,
            ..
        } => {
            assert!(annotations.is_empty() && certificate_annotations.is_empty());
            assert_eq!(certificate, None);
            assert_eq!(docker_reference, None);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        signed_payload(b"[1]", &BTreeMap::new()),
        Content::Unreadable { .. }
    ));
}

/// `cosign attest --type slsaprovenance`: a DSSE envelope around an in-toto v0.1 statement.
#[test]
fn a_dsse_envelope_gives_the_statement_inside() {
    let statement_json = format!(
        r#"{{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://slsa.dev/provenance/v0.2","subject":[{{"name":"registry.example/app","digest":{{"sha256":"{HEX}"}}}}],"predicate":{{"builder":{{"id":"https://github.com/actions/runner"}},"buildType":"https://example/build"}}}}"#
    );
    let envelope = format!(
        r#"{{"payloadType":"application/vnd.in-toto+json","payload":"{}","signatures":[{{"keyid":"","sig":"MEQCIA=="}}]}}"#,
        b64(&statement_json)
    );
    assert_eq!(
        dsse_envelope(envelope.as_bytes()),
        Content::Statement {
            predicate_type: "https://slsa.dev/provenance/v0.2".into(),
            subjects: vec![StatementSubject {
                name: "registry.example/app".into(),
                digest: BTreeMap::from([("sha256".to_string(), HEX.to_string())]),
            }],
            vulnerabilities: None,
            packages: None,
        }
    );
    for (body, says) in [
        (r#"{"payloadType":"x"}"#.to_string(), "no payload"),
        (r#"{"payload":"%%%"}"#.to_string(), "not base64"),
        (
            format!(r#"{{"payload":"{}"}}"#, b64("{}")),
            "no predicate type",
        ),
        ("not json".to_string(), "not JSON"),
    ] {
        match dsse_envelope(body.as_bytes()) {
            Content::Unreadable { reason } => assert!(reason.contains(says), "{reason}"),
            other => panic!("{body}: {other:?}"),
        }
    }
}

/// `trivy image --format json` (SchemaVersion 2), attested as a custom predicate and inside
/// cosign's vuln predicate (`trivy --format cosign-vuln`).
#[test]
fn trivy_reports_are_counted_by_severity() {
    let report = r#"{"SchemaVersion":2,"ArtifactName":"app:v1","ArtifactType":"container_image","Results":[
        {"Target":"app:v1 (debian 12.5)","Class":"os-pkgs","Type":"debian","Vulnerabilities":[
            {"VulnerabilityID":"CVE-2024-0001","PkgName":"libc6","Severity":"CRITICAL"},
            {"VulnerabilityID":"CVE-2024-0002","PkgName":"libc6","Severity":"HIGH"},
            {"VulnerabilityID":"CVE-2024-0003","PkgName":"zlib1g","Severity":"HIGH"},
            {"VulnerabilityID":"CVE-2024-0004","PkgName":"zlib1g","Severity":"LOW"},
            {"VulnerabilityID":"CVE-2024-0005","PkgName":"tar","Severity":"UNKNOWN"}]},
        {"Target":"app/go.sum","Class":"lang-pkgs","Type":"gomod","Vulnerabilities":null},
        {"Target":"node","Class":"lang-pkgs","Vulnerabilities":[{"VulnerabilityID":"GHSA-x","Severity":"MEDIUM"}]}]}"#;
    let want = SeverityCounts {
        critical: 1,
        high: 2,
        medium: 1,
        low: 1,
        negligible: 0,
        unknown: 1,
    };
    let predicate: Value = serde_json::from_str(report).unwrap();
    assert_eq!(vulnerabilities(&predicate), Some(want));
    assert_eq!(want.total(), 6);
    let cosign_vuln = serde_json::json!({
        "invocation": {"parameters": null, "uri": "", "event_id": "", "builder.id": ""},
        "scanner": {"uri": "pkg:github/aquasecurity/trivy@v0.50.0", "version": "0.50.0",
                    "db": {"uri": "", "version": ""}, "result": predicate},
        "metadata": {"scanStartedOn": "2024-05-01T10:00:00Z", "scanFinishedOn": "2024-05-01T10:00:09Z"}
    });
    let statement_json = serde_json::json!({
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": "https://cosign.sigstore.dev/attestation/vuln/v1",
        "subject": [{"name": "app", "digest": {"sha256": HEX}}],
        "predicate": cosign_vuln,
    });
    match statement(statement_json.to_string().as_bytes()) {
        Content::Statement {
            vulnerabilities, ..
        } => assert_eq!(vulnerabilities, Some(want)),
        other => panic!("{other:?}"),
    }
}

/// `grype -o json`, and in-toto's vulns predicate v0.1 with words and CVSS scores.
#[test]
fn grype_reports_and_intoto_vulns_are_counted() {
    let grype_json = serde_json::json!({
        "matches": [
            {"vulnerability": {"id": "CVE-1", "severity": "Critical"}, "artifact": {"name": "openssl"}},
            {"vulnerability": {"id": "CVE-2", "severity": "Medium"}, "artifact": {"name": "openssl"}},
            {"vulnerability": {"id": "CVE-3", "severity": "Negligible"}, "artifact": {"name": "bash"}},
            {"vulnerability": {"id": "CVE-4", "severity": "Negligible"}, "artifact": {"name": "bash"}}
        ],
        "source": {"type": "image"},
        "descriptor": {"name": "grype", "version": "0.74.0"}
    });
    assert_eq!(
        vulnerabilities(&grype_json),
        Some(SeverityCounts {
            critical: 1,
            medium: 1,
            negligible: 2,
            ..Default::default()
        })
    );
    let intoto = serde_json::json!({
        "scanner": {"uri": "pkg:github/aquasecurity/trivy@244fd47", "version": "0.19.2",
            "result": [
                {"id": "CVE-2021-26291", "severity": [{"method": "nvd", "score": "9.1"}]},
                {"id": "CVE-2021-1", "severity": [{"method": "redhat", "score": "HIGH"}]},
                {"id": "CVE-2021-2", "severity": [{"method": "nvd", "score": 5.3}]},
                {"id": "CVE-2021-3", "severity": [{"method": "nvd", "score": "0.0"}]},
                {"id": "CVE-2021-4"}
            ]}
    });
    assert_eq!(
        vulnerabilities(&intoto),
        Some(SeverityCounts {
            critical: 1,
            high: 1,
            medium: 1,
            negligible: 1,
            unknown: 1,
            ..Default::default()
        })
    );
    assert_eq!(vulnerabilities(&serde_json::json!({"builder": {}})), None);
}

#[test]
fn sboms_count_their_packages() {
    let spdx = r#"{"spdxVersion":"SPDX-2.3","dataLicense":"CC0-1.0","SPDXID":"SPDXRef-DOCUMENT","name":"app","packages":[
        {"name":"musl","SPDXID":"SPDXRef-Package-musl","versionInfo":"1.2.4"},
        {"name":"busybox","SPDXID":"SPDXRef-Package-busybox","versionInfo":"1.36.1"},
        {"name":"zlib","SPDXID":"SPDXRef-Package-zlib","versionInfo":"1.3"}]}"#;
    assert_eq!(
        sbom(SbomFormat::Spdx, spdx.as_bytes()),
        Content::Sbom {
            format: SbomFormat::Spdx,
            packages: 3
        }
    );
    // CycloneDX 1.5: nested components count too.
    let cdx = r#"{"bomFormat":"CycloneDX","specVersion":"1.5","version":1,"components":[
        {"type":"library","name":"a","components":[{"type":"library","name":"a-sub"}]},
        {"type":"library","name":"b"}]}"#;
    assert_eq!(
        sbom(SbomFormat::CycloneDx, cdx.as_bytes()),
        Content::Sbom {
            format: SbomFormat::CycloneDx,
            packages: 3
        }
    );
    let syft =
        r#"{"artifacts":[{"name":"x"},{"name":"y"}],"source":{},"descriptor":{"name":"syft"}}"#;
    assert_eq!(
        sbom(SbomFormat::Syft, syft.as_bytes()),
        Content::Sbom {
            format: SbomFormat::Syft,
            packages: 2
        }
    );
    let tag_value = "SPDXVersion: SPDX-2.3\nDataLicense: CC0-1.0\n\nPackageName: musl\nSPDXID: SPDXRef-1\n\nPackageName: zlib\nSPDXID: SPDXRef-2\n";
    assert_eq!(
        sbom(SbomFormat::Spdx, tag_value.as_bytes()),
        Content::Sbom {
            format: SbomFormat::Spdx,
            packages: 2
        }
    );
    assert!(matches!(
        sbom(
            SbomFormat::CycloneDx,
            b"<bom xmlns=\"http://cyclonedx.org/schema/bom/1.5\"/>"
        ),
        Content::Unreadable { .. }
    ));
    // An SPDX SBOM attested as a predicate (`cosign attest --type spdxjson`).
    let st = serde_json::json!({
        "_type": "https://in-toto.io/Statement/v1",
        "predicateType": "https://spdx.dev/Document",
        "subject": [],
        "predicate": serde_json::from_str::<Value>(spdx).unwrap(),
    });
    match statement(st.to_string().as_bytes()) {
        Content::Statement { packages, .. } => assert_eq!(packages, Some(3)),
        other => panic!("{other:?}"),
    }
}

/// `helm push`'s config is Chart.yaml as JSON; wkg's WASM config names the target.
#[test]
fn helm_and_wasm_configs() {
    let chart = br#"{"name":"podinfo","version":"6.5.4","description":"Podinfo Helm chart for Kubernetes","apiVersion":"v1","appVersion":"6.5.4","kubeVersion":">=1.23.0-0"}"#;
    assert_eq!(
        helm_config(chart),
        Content::HelmChart {
            name: "podinfo".into(),
            version: "6.5.4".into(),
            app_version: Some("6.5.4".into()),
        }
    );
    assert!(matches!(
        helm_config(br#"{"name":"x"}"#),
        Content::Unreadable { .. }
    ));
    let wasm = br#"{"created":"2024-05-01T10:00:00Z","architecture":"wasm","os":"wasip2","layerDigests":["sha256:00"],"component":{"exports":["wasi:http/incoming-handler@0.2.0"],"imports":["wasi:io/streams@0.2.0","wasi:clocks/monotonic-clock@0.2.0"],"target":null}}"#;
    assert_eq!(
        wasm_config(wasm),
        Content::WasmModule {
            os: Some("wasip2".into()),
            architecture: Some("wasm".into()),
            imports: Some(2),
            exports: Some(1),
        }
    );
}

#[test]
fn blobs_to_read_picks_the_telling_blobs_and_respects_the_cap() {
    let sig = ArtifactKind::CosignSignature;
    let m = manifest(
        descriptor(OCI_CONFIG, 200, 1, &[]),
        vec![
            descriptor(
                "application/vnd.dev.cosign.simplesigning.v1+json",
                250,
                2,
                &[],
            ),
            descriptor(
                "application/vnd.dev.cosign.simplesigning.v1+json",
                MAX_DOCUMENT_BYTES + 1,
                3,
                &[],
            ),
        ],
    );
    let (wanted, skipped) = blobs_to_read(&sig, &m);
    assert_eq!(wanted.len(), 1);
    assert_eq!(wanted[0].digest, Digest::sha256_of(&[2]));
    assert_eq!(wanted[0].role, BodyRole::SignaturePayload);
    assert_eq!(
        skipped,
        vec![BlobSummary {
            digest: Digest::sha256_of(&[3]),
            content: Content::TooLarge {
                size: MAX_DOCUMENT_BYTES + 1,
                cap: MAX_DOCUMENT_BYTES
            }
        }]
    );
    // An oras-style SBOM: the type is the artifactType, the document the first layer.
    let sbom_kind = ArtifactKind::Sbom {
        format: SbomFormat::Spdx,
    };
    let oras = manifest(
        descriptor("application/vnd.oci.empty.v1+json", 2, 1, &[]),
        vec![descriptor("application/json", 10, 4, &[])],
    );
    assert_eq!(
        blobs_to_read(&sbom_kind, &oras).0[0].digest,
        Digest::sha256_of(&[4])
    );
    // A Helm chart reads its config, never the chart tarball.
    let helm = manifest(
        descriptor("application/vnd.cncf.helm.config.v1+json", 100, 5, &[]),
        vec![descriptor(
            "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
            9000,
            6,
            &[],
        )],
    );
    let (wanted, _) = blobs_to_read(&ArtifactKind::HelmChart, &helm);
    assert_eq!(wanted.len(), 1);
    assert_eq!(wanted[0].role, BodyRole::HelmConfig);
    // Images and Notation signatures: nothing to read.
    assert!(blobs_to_read(&ArtifactKind::Image, &helm).0.is_empty());
    assert!(
        blobs_to_read(&ArtifactKind::NotationSignature, &helm)
            .0
            .is_empty()
    );
    // A `.sig` with many signings: the first few are read, the rest counted.
    let many = manifest(
        descriptor(OCI_CONFIG, 200, 1, &[]),
        (0..MAX_BLOBS_PER_MANIFEST as u8 + 3)
            .map(|i| {
                descriptor(
                    "application/vnd.dev.cosign.simplesigning.v1+json",
                    10,
                    100 + i,
                    &[],
                )
            })
            .collect(),
    );
    let (wanted, skipped) = blobs_to_read(&sig, &many);
    assert_eq!(wanted.len(), MAX_BLOBS_PER_MANIFEST);
    assert_eq!(skipped[0].content, Content::NotRead { layers: 3 });
}
