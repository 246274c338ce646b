//! The audit over the referrers model, against the real Distribution 2.8: the
//! orphaned-signatures finding names every tag attached to a deleted image (cosign's tag, its
//! fallback index with the untagged referrer that index lists, a tagged manifest whose
//! `subject` names it), a fallback index of a live image that lists a deleted manifest is
//! its own finding, and the tag counts separate images from attached artifacts.

use super::support::fixtures::FixtureBuilder;
use super::support::image::{Format, ImageSpec, Layer};
use super::support::registry::TestRegistry;
use super::*;

const COSIGN_CONFIG: &[u8] =
    br#"{"architecture":"","os":"","config":{},"rootfs":{"type":"layers","diff_ids":[]}}"#;

fn sbom_of(subject: &Pushed, text: &str) -> Artifact<'static> {
    // The subject is borrowed for the push only: leaked to keep the helper simple.
    let subject: &'static Pushed = Box::leak(Box::new(subject.clone()));
    Artifact {
        artifact_type: Some("application/spdx+json"),
        config_type: EMPTY,
        config: b"{}",
        layers: vec![(
            "application/spdx+json",
            format!(r#"{{"spdxVersion":"SPDX-2.3","name":"{text}","packages":[]}}"#).into_bytes(),
            json!({}),
        )],
        subject: Some(subject),
        annotations: json!({}),
    }
}

#[test]
fn orphans_untagged_referrers_and_stale_fallback_indexes_from_the_referrers_model() {
    let registry = TestRegistry::start();
    let mut b = FixtureBuilder::new();
    b.image(
        "app",
        &["v1"],
        ImageSpec::new(Format::Oci, vec![Layer::text("audit-v1")]),
    );
    b.image(
        "app",
        &["v0"],
        ImageSpec::new(Format::Oci, vec![Layer::text("audit-v0")]),
    );
    let truth = registry.push(&b);
    let pushed = |tag: &str| {
        let t = truth.tagged("app", tag);
        Pushed {
            digest: t.digest.clone(),
            document: t.document.clone(),
            blobs: t.blobs.clone(),
        }
    };
    let (v1, v0) = (pushed("v1"), pushed("v0"));
    let client = registry.client();
    let cosign = |payload: &str| Artifact {
        artifact_type: None,
        config_type: OCI_CONFIG,
        config: COSIGN_CONFIG,
        layers: vec![(
            "application/vnd.dev.cosign.simplesigning.v1+json",
            payload.as_bytes().to_vec(),
            json!({}),
        )],
        subject: None,
        annotations: json!({}),
    };
    let untagged_sbom = support::block_on(async {
        // v1 stays: signed, and its fallback index lists an SBOM and one deleted since.
        push_artifact(
            &client,
            "app",
            Some(&cosign_tag(&v1.digest, "sig")),
            cosign("v1"),
        )
        .await;
        let kept = push_artifact(&client, "app", None, sbom_of(&v1, "kept")).await;
        let gone = push_artifact(&client, "app", None, sbom_of(&v1, "gone")).await;
        push_fallback_index(
            &client,
            "app",
            &v1.digest,
            &[
                (&kept, "application/spdx+json"),
                (&gone, "application/spdx+json"),
            ],
        )
        .await;
        client
            .delete_manifest(&repo("app"), &gone.digest)
            .await
            .expect("delete");
        // v0 goes, leaving: its cosign signature, its fallback index listing an untagged
        // SBOM, and a tagged manifest whose `subject` is v0.
        push_artifact(
            &client,
            "app",
            Some(&cosign_tag(&v0.digest, "sig")),
            cosign("v0"),
        )
        .await;
        let untagged = push_artifact(&client, "app", None, sbom_of(&v0, "untagged")).await;
        push_fallback_index(
            &client,
            "app",
            &v0.digest,
            &[(&untagged, "application/spdx+json")],
        )
        .await;
        push_artifact(&client, "app", Some("sbom-of-v0"), sbom_of(&v0, "tagged")).await;
        client
            .delete_manifest(&repo("app"), &v0.digest)
            .await
            .expect("delete v0");
        untagged
    });
    // Independent truth: v0 is gone from the registry's storage, the untagged SBOM is not.
    let revisions = registry
        .storage_root()
        .join("docker/registry/v2/repositories/app/_manifests/revisions/sha256");
    assert!(!revisions.join(v0.digest.hex()).join("link").exists());
    assert!(
        revisions
            .join(untagged_sbom.digest.hex())
            .join("link")
            .exists()
    );

    // Fixture images are years old: a long stale window keeps the repository judged tag by tag.
    let run = support::cli::Sandbox::new().run(&[
        "audit",
        &registry.addr(),
        "--json",
        "--stale-days",
        "100000",
    ]);
    let out = run.ok_with_stderr().json();
    let finding = |kind: &str| {
        out["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .find(|f| f["kind"] == json!(kind))
            .unwrap_or_else(|| panic!("no {kind} finding: {}", out["findings"]))
            .clone()
    };
    let orphans = finding("orphaned_signatures");
    let mut want = vec![
        cosign_tag(&v0.digest, "sig"),
        format!("sha256-{}", v0.digest.hex()),
        "sbom-of-v0".to_string(),
    ];
    want.sort();
    assert_eq!(orphans["tags"], json!(want), "{orphans}");
    assert!(
        orphans["detail"]
            .as_str()
            .expect("detail")
            .contains("and 1 untagged referrers their fallback indexes list"),
        "{orphans}"
    );
    let stale = finding("stale_fallback_indexes");
    assert_eq!(
        stale["tags"],
        json!([format!("sha256-{}", v1.digest.hex())]),
        "{stale}"
    );
    assert_eq!(stale["bytes_freed"], json!(0));

    // Tag counts: one image tag (v1), five attached (two `.sig`, two fallback indexes and
    // the tagged SBOM, whose name alone says nothing).
    let app = out["repositories"]
        .as_array()
        .expect("repositories")
        .iter()
        .find(|r| r["name"] == json!("app"))
        .expect("app")
        .clone();
    assert_eq!(app["image_tags"], json!(1), "{app}");
    assert_eq!(app["attached_tags"], json!(5), "{app}");
    assert_eq!(app["kinds"]["signature"], json!(5), "{app}");
    assert_eq!(out["summary"]["attached_tags"], json!(5));
    let sbom_tag = out["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .find(|t| t["tag"] == json!("sbom-of-v0"))
        .expect("the tagged SBOM");
    assert_eq!(sbom_tag["kind"], json!("signature"));
}
