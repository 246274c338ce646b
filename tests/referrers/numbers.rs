//! A repository's bytes split into images and attached artifacts (`regatta du`), against
//! the real Distribution 2.8: images + artifacts == the repository's stored bytes, and the
//! artifact part == the distinct bytes of the referrers and their fallback indexes, computed
//! here from what was pushed and checked against the registry's blob store.

use super::support::fixtures::FixtureBuilder;
use super::support::image::{Format, ImageSpec, Layer};
use super::support::registry::{RegistryOptions, TestRegistry};
use super::*;

const COSIGN_CONFIG: &[u8] =
    br#"{"architecture":"","os":"","config":{},"rootfs":{"type":"layers","diff_ids":[]}}"#;

#[test]
fn du_splits_a_repository_into_images_and_attached_artifacts() {
    let registry = TestRegistry::start_with(RegistryOptions {
        access_log: true,
        ..RegistryOptions::default()
    });
    let mut b = FixtureBuilder::new();
    b.image(
        "app",
        &["v1"],
        ImageSpec::new(Format::Oci, vec![Layer::text("numbers-v1")]),
    );
    b.image(
        "app",
        &["v2", "latest"],
        ImageSpec::new(Format::Oci, vec![Layer::text("numbers-v2")]),
    );
    b.image(
        "plain",
        &["v1"],
        ImageSpec::new(Format::Oci, vec![Layer::text("plain-v1")]),
    );
    let truth = registry.push(&b);
    let v1 = truth.tagged("app", "v1");
    let v2 = truth.tagged("app", "v2");
    let subject = Pushed {
        digest: v1.digest.clone(),
        document: v1.document.clone(),
        blobs: v1.blobs.clone(),
    };
    let client = registry.client();
    let artifacts: Vec<Pushed> = support::block_on(async {
        let s = &subject.digest;
        let cosign = |payload: &str, media_type: &'static str| Artifact {
            artifact_type: None,
            config_type: OCI_CONFIG,
            config: COSIGN_CONFIG,
            layers: vec![(media_type, payload.as_bytes().to_vec(), json!({}))],
            subject: None,
            annotations: json!({}),
        };
        let sig = push_artifact(
            &client,
            "app",
            Some(&cosign_tag(s, "sig")),
            cosign(
                r#"{"critical":{"type":"cosign container image signature"}}"#,
                "application/vnd.dev.cosign.simplesigning.v1+json",
            ),
        )
        .await;
        let att = push_artifact(
            &client,
            "app",
            Some(&cosign_tag(s, "att")),
            cosign(
                r#"{"payloadType":"application/vnd.in-toto+json","payload":"e30="}"#,
                "application/vnd.dsse.envelope.v1+json",
            ),
        )
        .await;
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
                    br#"{"spdxVersion":"SPDX-2.3","packages":[]}"#.to_vec(),
                    json!({}),
                )],
                subject: Some(&subject),
                annotations: json!({}),
            },
        )
        .await;
        let sbom_sig = push_artifact(
            &client,
            "app",
            None,
            Artifact {
                artifact_type: Some("application/vnd.cncf.notary.signature"),
                config_type: EMPTY,
                config: b"{}",
                layers: vec![(
                    "application/jose+json",
                    br#"{"payload":"numbers"}"#.to_vec(),
                    json!({}),
                )],
                subject: Some(&sbom),
                annotations: json!({}),
            },
        )
        .await;
        let index =
            push_fallback_index(&client, "app", s, &[(&sbom, "application/spdx+json")]).await;
        let index_of_sbom = push_fallback_index(
            &client,
            "app",
            &sbom.digest,
            &[(&sbom_sig, "application/vnd.cncf.notary.signature")],
        )
        .await;
        vec![sig, att, sbom, sbom_sig, index, index_of_sbom]
    });
    // The truth, from what was pushed: distinct blobs (the shared cosign and empty configs
    // once), manifests included.
    let distinct = |pushed: &[&Pushed]| -> BTreeMap<Digest, u64> {
        let mut out = BTreeMap::new();
        for p in pushed {
            out.insert(p.digest.clone(), p.document.len() as u64);
            out.extend(p.blobs.clone());
        }
        out
    };
    let artifact_blobs = distinct(&artifacts.iter().collect::<Vec<_>>());
    let as_pushed = |p: &support::truth::ManifestTruth| Pushed {
        digest: p.digest.clone(),
        document: p.document.clone(),
        blobs: p.blobs.clone(),
    };
    let image_blobs = distinct(&[&as_pushed(v1), &as_pushed(v2)]);
    assert!(
        artifact_blobs.keys().all(|d| !image_blobs.contains_key(d)),
        "the fixture's artifacts share no blob with its images"
    );
    let want_artifacts: u64 = artifact_blobs.values().sum();
    let want_images: u64 = image_blobs.values().sum();
    // The sizes are the blob store's, not only what the test believes it sent.
    let root = registry
        .storage_root()
        .join("docker/registry/v2/blobs/sha256");
    let on_disk: u64 = artifact_blobs
        .keys()
        .map(|d| {
            std::fs::metadata(root.join(&d.hex()[..2]).join(d.hex()).join("data"))
                .expect("blob on disk")
                .len()
        })
        .sum();
    assert_eq!(on_disk, want_artifacts);

    let sandbox = support::cli::Sandbox::new();
    let before = registry.access_log_since(0).len();
    let run = sandbox.run(&["du", &registry.addr(), "--json"]);
    let out = run.ok().json();
    // The scan reads no config of an attached artifact (cosign's image config of a
    // signature says nothing the numbers use): one GET per referrer manifest, no more.
    let config = Digest::sha256_of(COSIGN_CONFIG);
    let config_gets: Vec<_> = registry
        .access_log_since(before)
        .into_iter()
        .filter(|e| e.method == "GET" && e.target.contains(config.as_str()))
        .collect();
    assert!(config_gets.is_empty(), "{config_gets:?}");
    let repos = out["repositories"].as_array().expect("repositories");
    let app = repos
        .iter()
        .find(|r| r["repository"] == json!("app"))
        .expect("app");
    let stored = app["stored_bytes"].as_u64().expect("stored");
    let images = app["image_bytes"].as_u64().expect("images");
    let artifacts_bytes = app["artifact_bytes"].as_u64().expect("artifacts");
    assert_eq!(images + artifacts_bytes, stored, "{app}");
    assert_eq!(artifacts_bytes, want_artifacts, "{app}");
    assert_eq!(images, want_images, "{app}");
    let plain = repos
        .iter()
        .find(|r| r["repository"] == json!("plain"))
        .expect("plain");
    assert_eq!(plain["artifact_bytes"], json!(0));
    assert_eq!(plain["image_bytes"], plain["stored_bytes"]);
    assert_eq!(out["registry"]["artifact_bytes"], json!(want_artifacts));

    // The text names the split in two columns and a line under the totals.
    let text = sandbox.run(&["du", &registry.addr()]);
    let lines = text.ok().stdout_lines();
    assert!(
        lines[0].contains("IMAGES") && lines[0].ends_with("ARTIFACTS"),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("of physical, ") && l.contains("attached artifacts")),
        "{lines:#?}"
    );
}
