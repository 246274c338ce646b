//! Deleting with referrers against the real Distribution 2.8: an image goes with its cosign
//! signature, its oras-style SBOM (listed in the referrers fallback index), the signature of
//! that SBOM and both fallback indexes; the bytes freed are the blob store's drop after the
//! real `garbage-collect`. What a surviving image needs stays; `--keep-referrers` and
//! `--untag` keep referrers; a referrer step never runs when its subject's step did not.

use std::sync::atomic::AtomicBool;

use regatta::analysis::model::StorageModel;
use regatta::cleanup::execute::{Applier, ApplyReport, Outcome};
use regatta::cleanup::journal::Journal;
use regatta::cleanup::plan::{Mode, Plan, plan_rm};
use regatta::scan::{ScanOptions, scan};

use super::support::binary::{Home, run, run_json};
use super::support::fixtures::FixtureBuilder;
use super::support::image::{Format, ImageSpec, Layer};
use super::support::registry::TestRegistry;
use super::support::truth::tag;
use super::*;

/// `app:v1` (older) and `app:v2` (newer) sharing a base layer. v1 has a cosign signature
/// (tag `sha256-<v1>.sig`), a CycloneDX SBOM pushed the way oras pushes it where there is no
/// referrers API (untagged, `subject: v1`, listed in the fallback index `sha256-<v1>`), and a
/// Notation signature of that SBOM (in the SBOM's own fallback index). v2 has a cosign
/// signature whose config blob is the same bytes as v1's signature's config.
struct Signed {
    registry: TestRegistry,
    v1: Pushed,
    v2: Pushed,
    sig: Pushed,
    sbom: Pushed,
    fallback: Pushed,
    sbom_sig: Pushed,
    fallback_of_sbom: Pushed,
    v2_sig: Pushed,
}

const COSIGN_CONFIG: &[u8] =
    br#"{"architecture":"","os":"","config":{},"rootfs":{"type":"layers","diff_ids":[]}}"#;

fn cosign_signature<'a>(payload: &str) -> Artifact<'a> {
    Artifact {
        artifact_type: None,
        config_type: OCI_CONFIG,
        config: COSIGN_CONFIG,
        layers: vec![(
            "application/vnd.dev.cosign.simplesigning.v1+json",
            payload.as_bytes().to_vec(),
            json!({"dev.cosignproject.cosign/signature": "MEUCIQ=="}),
        )],
        subject: None,
        annotations: json!({}),
    }
}

fn pushed_image(truth: &support::truth::Fixture, t: &str) -> Pushed {
    let m = truth.tagged("app", t);
    Pushed {
        digest: m.digest.clone(),
        document: m.document.clone(),
        blobs: m.blobs.clone(),
    }
}

fn signed() -> Signed {
    let registry = TestRegistry::start();
    let base = Layer::random("refdel-base", 6 * 1024);
    let mut b = FixtureBuilder::new();
    b.image(
        "app",
        &["v1"],
        ImageSpec::new(
            Format::Oci,
            vec![base.clone(), Layer::random("refdel-v1", 3 * 1024)],
        )
        .created("2024-01-01T00:00:00Z"),
    );
    b.image(
        "app",
        &["v2"],
        ImageSpec::new(
            Format::Oci,
            vec![base, Layer::random("refdel-v2", 4 * 1024)],
        )
        .created("2024-02-01T00:00:00Z"),
    );
    let truth = registry.push(&b);
    let (v1, v2) = (pushed_image(&truth, "v1"), pushed_image(&truth, "v2"));
    let client = registry.client();
    support::block_on(async {
        let sig = push_artifact(
            &client,
            "app",
            Some(&cosign_tag(&v1.digest, "sig")),
            cosign_signature(&format!(
                r#"{{"critical":{{"image":{{"docker-manifest-digest":"{}"}}}}}}"#,
                v1.digest
            )),
        )
        .await;
        let v2_sig = push_artifact(
            &client,
            "app",
            Some(&cosign_tag(&v2.digest, "sig")),
            cosign_signature(&format!(
                r#"{{"critical":{{"image":{{"docker-manifest-digest":"{}"}}}}}}"#,
                v2.digest
            )),
        )
        .await;
        let sbom = push_artifact(
            &client,
            "app",
            None,
            Artifact {
                artifact_type: Some("application/vnd.cyclonedx+json"),
                config_type: EMPTY,
                config: b"{}",
                layers: vec![(
                    "application/vnd.cyclonedx+json",
                    br#"{"bomFormat":"CycloneDX","components":[{"name":"refdel"}]}"#.to_vec(),
                    json!({"org.opencontainers.image.title": "bom.json"}),
                )],
                subject: Some(&v1),
                annotations: json!({}),
            },
        )
        .await;
        let fallback = push_fallback_index(
            &client,
            "app",
            &v1.digest,
            &[(&sbom, "application/vnd.cyclonedx+json")],
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
                    br#"{"payload":"refdel-sbom"}"#.to_vec(),
                    json!({}),
                )],
                subject: Some(&sbom),
                annotations: json!({}),
            },
        )
        .await;
        let fallback_of_sbom = push_fallback_index(
            &client,
            "app",
            &sbom.digest,
            &[(&sbom_sig, "application/vnd.cncf.notary.signature")],
        )
        .await;
        Signed {
            registry,
            v1,
            v2,
            sig,
            sbom,
            fallback,
            sbom_sig,
            fallback_of_sbom,
            v2_sig,
        }
    })
}

/// Every blob (manifests included) of `pushed`, each once.
fn stored(pushed: &[&Pushed]) -> BTreeMap<Digest, u64> {
    let mut out = BTreeMap::new();
    for p in pushed {
        out.insert(p.digest.clone(), p.document.len() as u64);
        out.extend(p.blobs.iter().map(|(d, s)| (d.clone(), *s)));
    }
    out
}

/// Bytes of the blobs of `gone` that none of `kept` holds: what garbage collection frees.
fn freed(gone: &[&Pushed], kept: &[&Pushed]) -> u64 {
    let kept = stored(kept);
    stored(gone)
        .into_iter()
        .filter(|(d, _)| !kept.contains_key(d))
        .map(|(_, s)| s)
        .sum()
}

impl Signed {
    fn all(&self) -> Vec<&Pushed> {
        vec![
            &self.v1,
            &self.v2,
            &self.sig,
            &self.sbom,
            &self.fallback,
            &self.sbom_sig,
            &self.fallback_of_sbom,
            &self.v2_sig,
        ]
    }

    /// What goes with v1.
    fn with_v1(&self) -> Vec<&Pushed> {
        vec![
            &self.v1,
            &self.sig,
            &self.sbom,
            &self.fallback,
            &self.sbom_sig,
            &self.fallback_of_sbom,
        ]
    }

    fn reference(&self, t: &str) -> String {
        format!("{}/app:{t}", self.registry.addr())
    }
}

/// `(digest, reason, tags)` of each step of a JSON plan, in order.
fn steps(plan: &Value) -> Vec<(String, String, Vec<String>)> {
    plan["deletions"]
        .as_array()
        .expect("deletions[]")
        .iter()
        .map(|d| {
            (
                d["digest"].as_str().expect("digest").to_string(),
                d["reason"].as_str().expect("reason").to_string(),
                d["tags"]
                    .as_array()
                    .expect("tags[]")
                    .iter()
                    .map(|t| t.as_str().expect("tag").to_string())
                    .collect(),
            )
        })
        .collect()
}

/// The steps deleting v1 with its referrers must have (any order), and each must come after
/// the step of the manifest it follows.
fn assert_v1_goes_with_its_referrers(w: &Signed, plan: &Value, first_reason: &str) {
    let v1 = &w.v1.digest;
    let sbom = &w.sbom.digest;
    let mut want = vec![
        (
            v1.to_string(),
            first_reason.to_string(),
            vec!["v1".to_string()],
        ),
        (
            w.sig.digest.to_string(),
            format!("cosign signature of {v1}"),
            vec![cosign_tag(v1, "sig")],
        ),
        (
            sbom.to_string(),
            format!("SBOM (CycloneDX) of {v1}"),
            vec![],
        ),
        (
            w.fallback.digest.to_string(),
            format!("referrers index of {v1}"),
            vec![format!("sha256-{}", v1.hex())],
        ),
        (
            w.sbom_sig.digest.to_string(),
            format!("Notation signature of {sbom}"),
            vec![],
        ),
        (
            w.fallback_of_sbom.digest.to_string(),
            format!("referrers index of {sbom}"),
            vec![format!("sha256-{}", sbom.hex())],
        ),
    ];
    let got = steps(plan);
    let position = |d: &Digest| got.iter().position(|(g, ..)| g == d.as_str());
    for (follower, subject) in [
        (&w.sig, v1),
        (&w.sbom, v1),
        (&w.fallback, v1),
        (&w.sbom_sig, sbom),
        (&w.fallback_of_sbom, sbom),
    ] {
        assert!(
            position(&follower.digest) > position(subject),
            "{} comes before its subject {subject}: {got:#?}",
            follower.digest
        );
    }
    let mut got = got;
    got.sort();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn rm_deletes_an_image_with_its_referrers_and_gc_frees_exactly_bytes_freed() {
    let w = signed();
    let before = w.registry.blob_store_bytes();
    let all: u64 = stored(&w.all()).values().sum();
    assert_eq!(before, all, "the truth names every blob in the store");
    let expected = freed(&w.with_v1(), &[&w.v2, &w.v2_sig]);
    // The signatures share their config blob: v2's keeps it.
    assert!(expected < stored(&w.with_v1()).values().sum::<u64>());

    let home = Home::new();
    let plan = run_json(home.command(["rm", &w.reference("v1"), "--json"]));
    assert_v1_goes_with_its_referrers(&w, &plan, "requested");
    assert_eq!(plan["bytes_freed"], json!(expected), "{plan:#}");

    // The text plan lists each referrer with its kind and bytes, and counts them.
    let (code, text, stderr) = run(home.command(["rm", &w.reference("v1")]));
    assert_eq!(code, 0, "{text}\n{stderr}");
    let sig_line = format!(
        "delete app@{}  (cosign signature of {}, {} ({} bytes))",
        w.sig.digest,
        w.v1.digest,
        regatta::present::size(w.sig.size()),
        w.sig.size()
    );
    assert!(text.contains(&sig_line), "{sig_line}\nnot in:\n{text}");
    assert!(
        text.contains("4 tags go: 1 manifest deleted with 3 referrers and 2 referrers indexes\n"),
        "{text}"
    );

    let report = run_json(home.command(["rm", &w.reference("v1"), "--apply", "--yes", "--json"]));
    let outcomes: Vec<&Value> = report["applied"]["steps"]
        .as_array()
        .expect("steps[]")
        .iter()
        .map(|s| &s["outcome"]["result"])
        .collect();
    assert_eq!(outcomes.len(), 6, "{report:#}");
    assert!(outcomes.iter().all(|o| *o == "done"), "{report:#}");
    assert_eq!(home.journal().backups().len(), 6, "each deletion backed up");

    let client = w.registry.client();
    support::block_on(async {
        for (t, digest) in [
            ("v2", &w.v2.digest),
            (cosign_tag(&w.v2.digest, "sig").as_str(), &w.v2_sig.digest),
        ] {
            let head = client
                .head_manifest(&repo("app"), &ManifestRef::Tag(tag(t)))
                .await
                .unwrap_or_else(|e| panic!("app:{t} must stay: {e}"));
            assert_eq!(&head.digest, digest);
        }
        for p in w.with_v1() {
            let err = client
                .get_manifest(&repo("app"), &ManifestRef::Digest(p.digest.clone()))
                .await
                .expect_err("deleted");
            assert!(err.is_not_found(), "{}: {err}", p.digest);
        }
        let tags = client.tags(&repo("app")).await.expect("tags");
        let mut tags: Vec<String> = tags.iter().map(|t| t.to_string()).collect();
        tags.sort();
        assert_eq!(
            tags,
            vec![cosign_tag(&w.v2.digest, "sig"), "v2".to_string()],
            "no bookkeeping tag of v1 is left behind"
        );
    });

    w.registry.garbage_collect();
    assert_eq!(before - w.registry.blob_store_bytes(), expected);
    assert_eq!(report["bytes_freed"], json!(expected));
}

#[test]
fn keep_referrers_and_untag_keep_them_and_a_policy_judges_images_only() {
    let w = signed();
    let home = Home::new();
    let kept = run_json(home.command(["rm", &w.reference("v1"), "--keep-referrers", "--json"]));
    assert_eq!(
        steps(&kept),
        vec![(
            w.v1.digest.to_string(),
            "requested".to_string(),
            vec!["v1".to_string()]
        )]
    );
    let everything_else: Vec<&Pushed> = w.all().into_iter().skip(1).collect();
    assert_eq!(
        kept["bytes_freed"],
        json!(freed(&[&w.v1], &everything_else))
    );
    let untag = run_json(home.command(["rm", "--untag", &w.reference("v1"), "--json"]));
    assert_eq!(untag["deletions"].as_array().map(Vec::len), Some(1));
    assert_eq!(untag["deletions"][0]["mode"], "untag");
    assert_eq!(untag["bytes_freed"], 0);

    // keep_last 1: v2 is the newest image. The signature tags are no images: not counted in
    // keep_last, not judged, and v1's go with it.
    let addr = w.registry.addr();
    let plan = run_json(home.command(["cleanup", &addr, "--keep-last", "1", "--json"]));
    let decided: Vec<(&str, &str)> = plan["repositories"][0]["decisions"]
        .as_array()
        .expect("decisions[]")
        .iter()
        .map(|d| {
            (
                d["tag"].as_str().expect("tag"),
                d["verdict"].as_str().expect("verdict"),
            )
        })
        .collect();
    assert_eq!(decided, vec![("v1", "delete"), ("v2", "keep")], "{plan:#}");
    assert_v1_goes_with_its_referrers(&w, &plan, "not among the newest 1");
    let expected = freed(&w.with_v1(), &[&w.v2, &w.v2_sig]);
    assert_eq!(plan["bytes_freed"], json!(expected));
    // A tag-name rule aimed at the bookkeeping tags matches none of them.
    let none = run_json(home.command(["cleanup", &addr, "--match", "sha256-.*", "--json"]));
    assert_eq!(none["deletions"], json!([]), "{none:#}");

    let before = w.registry.blob_store_bytes();
    let (code, stdout, stderr) =
        run(home.command(["cleanup", &addr, "--keep-last", "1", "--apply", "--yes"]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    w.registry.garbage_collect();
    assert_eq!(before - w.registry.blob_store_bytes(), expected);
}

async fn model_of(client: &Client) -> StorageModel {
    let model = scan(client, &ScanOptions::default(), &|_| {})
        .await
        .expect("scan");
    assert!(model.is_complete(), "{:?}", model.failures);
    model
}

async fn apply(client: &Client, plan: &Plan) -> (ApplyReport, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("journal dir");
    let journal = Journal::new(dir.path());
    let applier = Applier {
        client,
        registry: client.registry().host.clone(),
        journal: &journal,
    };
    let report = applier.apply(plan, &AtomicBool::new(false), &|_| {}).await;
    (report, dir)
}

/// Each step's digest and whether it was done.
fn done(report: &ApplyReport) -> BTreeMap<Digest, bool> {
    report
        .steps
        .iter()
        .map(|s| (s.step.digest.clone(), s.outcome == Outcome::Done))
        .collect()
}

#[test]
fn referrers_of_a_subject_that_was_not_deleted_stay() {
    // v1 moved between the plan and the apply: its step is skipped, and so is every referrer
    // step behind it.
    let w = signed();
    let client = w.registry.client();
    support::block_on(async {
        let model = model_of(&client).await;
        let plan = plan_rm(&model, &[(repo("app"), tag("v1"))], Mode::Delete);
        assert_eq!(plan.deletions.len(), 6);
        let mut newer = FixtureBuilder::new();
        newer.image(
            "app",
            &["v1"],
            ImageSpec::new(Format::Oci, vec![Layer::random("refdel-moved", 1024)]),
        );
        w.registry.push(&newer);
        let (report, _journal) = apply(&client, &plan).await;
        assert!(done(&report).values().all(|d| !d), "{report:#?}");
        for s in &report.steps[1..] {
            assert_eq!(
                s.outcome,
                Outcome::Skipped(format!(
                    "its subject {} was not deleted, so it stays attached to it",
                    s.step.reason.follows().expect("a follower")
                )),
                "{report:#?}"
            );
        }
        for p in w.with_v1() {
            client
                .get_manifest(&repo("app"), &ManifestRef::Digest(p.digest.clone()))
                .await
                .unwrap_or_else(|e| panic!("{} must stay: {e}", p.digest));
        }
    });

    // A tag pushed onto the SBOM after the plan: the SBOM stays (it would take the tag), and
    // so do its signature and its fallback index; v1, its signature and its index go.
    let w = signed();
    let client = w.registry.client();
    support::block_on(async {
        let model = model_of(&client).await;
        let plan = plan_rm(&model, &[(repo("app"), tag("v1"))], Mode::Delete);
        client
            .put_manifest(
                &repo("app"),
                &ManifestRef::Tag(tag("keep-this-sbom")),
                OCI_MANIFEST,
                w.sbom.document.clone(),
            )
            .await
            .expect("tag the SBOM");
        let (report, _journal) = apply(&client, &plan).await;
        let done = done(&report);
        for (p, went) in [
            (&w.v1, true),
            (&w.sig, true),
            (&w.fallback, true),
            (&w.sbom, false),
            (&w.sbom_sig, false),
            (&w.fallback_of_sbom, false),
        ] {
            assert_eq!(done[&p.digest], went, "{}: {report:#?}", p.digest);
            let there = client
                .get_manifest(&repo("app"), &ManifestRef::Digest(p.digest.clone()))
                .await;
            assert_eq!(there.is_err(), went, "{}", p.digest);
        }
        let sbom_step = report
            .steps
            .iter()
            .find(|s| s.step.digest == w.sbom.digest)
            .expect("the SBOM's step");
        assert!(
            matches!(&sbom_step.outcome, Outcome::Unseen(why) if why.contains("keep-this-sbom")),
            "{sbom_step:#?}"
        );
    });
}

/// The digest `app:t` points at, read from the registry's storage.
fn tag_link(registry: &TestRegistry, t: &str) -> Digest {
    let link = registry
        .storage_root()
        .join("docker/registry/v2/repositories/app/_manifests/tags")
        .join(t)
        .join("current/link");
    Digest::parse(std::fs::read_to_string(link).expect("tag link").trim()).expect("digest")
}

/// The bytes of blob `d` in the registry's storage.
fn blob(registry: &TestRegistry, d: &Digest) -> Vec<u8> {
    let path = registry.storage_root().join(format!(
        "docker/registry/v2/blobs/sha256/{}/{}/data",
        &d.hex()[..2],
        d.hex()
    ));
    std::fs::read(path).expect("blob")
}

/// [`signed`], with the SBOM tagged `sbom` (oras tags what it pushes), v1's fallback index
/// listing the SBOM and a Notation signature of v1 (returned with the index), and v2's
/// fallback index listing a manifest the registry no longer has. What that left as garbage
/// is collected.
fn with_tagged_sbom() -> (Signed, Pushed, Pushed) {
    let w = signed();
    let client = w.registry.client();
    let (notation, old_index) = support::block_on(async {
        // oras tags what it pushes too; v1's fallback index lists the SBOM and a Notation
        // signature of v1.
        client
            .put_manifest(
                &repo("app"),
                &ManifestRef::Tag(tag("sbom")),
                OCI_MANIFEST,
                w.sbom.document.clone(),
            )
            .await
            .expect("tag the SBOM");
        let notation = push_artifact(
            &client,
            "app",
            None,
            Artifact {
                artifact_type: Some("application/vnd.cncf.notary.signature"),
                config_type: EMPTY,
                config: b"{}",
                layers: vec![(
                    "application/jose+json",
                    br#"{"payload":"refdel-v1"}"#.to_vec(),
                    json!({}),
                )],
                subject: Some(&w.v1),
                annotations: json!({}),
            },
        )
        .await;
        let index = push_fallback_index(
            &client,
            "app",
            &w.v1.digest,
            &[
                (&w.sbom, "application/vnd.cyclonedx+json"),
                (&notation, "application/vnd.cncf.notary.signature"),
            ],
        )
        .await;
        client
            .delete_manifest(&repo("app"), &w.fallback.digest)
            .await
            .expect("delete the index the tag moved off");
        // A stale entry: v2's fallback index lists a manifest the registry no longer has.
        let gone = push_artifact(
            &client,
            "app",
            None,
            Artifact {
                artifact_type: Some("application/vnd.example.gone"),
                config_type: EMPTY,
                config: b"{}",
                layers: vec![(
                    "application/octet-stream",
                    b"refdel-gone".to_vec(),
                    json!({}),
                )],
                subject: Some(&w.v2),
                annotations: json!({}),
            },
        )
        .await;
        push_fallback_index(
            &client,
            "app",
            &w.v2.digest,
            &[(&gone, "application/vnd.example.gone")],
        )
        .await;
        client
            .delete_manifest(&repo("app"), &gone.digest)
            .await
            .expect("delete the listed manifest");
        (notation, index)
    });
    w.registry.garbage_collect();
    (w, notation, old_index)
}

/// The fallback index that stays is rewritten without the referrer that goes, and a stale
/// entry in another one is no scan failure.
#[test]
fn a_deleted_referrer_leaves_its_fallback_index_true() {
    let (w, notation, old_index) = with_tagged_sbom();
    let client = w.registry.client();
    let before = w.registry.blob_store_bytes();

    let home = Home::new();
    let plan = run_json(home.command(["rm", &w.reference("sbom"), "--json"]));
    assert_eq!(
        plan["complete"], true,
        "a fallback index listing a manifest the registry no longer has is no scan failure: {plan:#}"
    );
    let v1_index_tag = format!("sha256-{}", w.v1.digest.hex());
    let sbom = &w.sbom.digest;
    let mut got = steps(&plan);
    got.sort();
    let mut want = vec![
        (
            sbom.to_string(),
            "requested".to_string(),
            vec!["sbom".to_string()],
        ),
        (
            w.sbom_sig.digest.to_string(),
            format!("Notation signature of {sbom}"),
            vec![],
        ),
        (
            w.fallback_of_sbom.digest.to_string(),
            format!("referrers index of {sbom}"),
            vec![format!("sha256-{}", sbom.hex())],
        ),
        (
            old_index.digest.to_string(),
            format!(
                "referrers index of {}, rewritten without the entries that go",
                w.v1.digest
            ),
            vec![v1_index_tag.clone()],
        ),
    ];
    want.sort();
    assert_eq!(got, want, "{plan:#}");
    let rewrite = plan["deletions"]
        .as_array()
        .expect("deletions[]")
        .iter()
        .find(|d| d["mode"] == "rewrite")
        .expect("a rewrite step");
    assert_eq!(rewrite["children"], json!([sbom]));

    let report = run_json(home.command(["rm", &w.reference("sbom"), "--apply", "--yes", "--json"]));
    let steps_done = report["applied"]["steps"].as_array().expect("steps[]");
    assert!(
        steps_done.iter().all(|s| s["outcome"]["result"] == "done"),
        "{report:#}"
    );
    // The tag now points at an index listing only the Notation signature, every other field
    // as it was; the old index is gone.
    let new_index = tag_link(&w.registry, &v1_index_tag);
    assert_ne!(new_index, old_index.digest);
    let new_document = blob(&w.registry, &new_index);
    let listed: Value = serde_json::from_slice(&new_document).expect("json");
    assert_eq!(listed["mediaType"], OCI_INDEX);
    let entries: Vec<&str> = listed["manifests"]
        .as_array()
        .expect("manifests[]")
        .iter()
        .map(|m| m["digest"].as_str().expect("digest"))
        .collect();
    assert_eq!(entries, vec![notation.digest.as_str()]);
    support::block_on(async {
        let err = client
            .get_manifest(&repo("app"), &ManifestRef::Digest(old_index.digest.clone()))
            .await
            .expect_err("the old index is deleted");
        assert!(err.is_not_found(), "{err}");
    });
    // The old index is backed up like every deletion.
    assert!(
        home.journal()
            .backups()
            .iter()
            .any(|b| b.digest == old_index.digest.as_str() && b.action == "rewrite")
    );

    // bytes_freed counts everything but the index's shrink (its new document exists only
    // once written): the store's drop after garbage collection is exactly that much more.
    w.registry.garbage_collect();
    let shrink = old_index.document.len() as u64 - new_document.len() as u64;
    assert_eq!(
        before - w.registry.blob_store_bytes(),
        report["bytes_freed"].as_u64().expect("bytes_freed") + shrink
    );
    let expected = freed(
        &[&w.sbom, &w.sbom_sig, &w.fallback_of_sbom],
        &[&w.v1, &w.v2, &w.sig, &w.v2_sig, &notation, &old_index],
    );
    assert_eq!(report["bytes_freed"], json!(expected));
}

#[test]
fn restore_puts_the_rewritten_index_back_under_its_tag() {
    let (w, _, old_index) = with_tagged_sbom();
    let home = Home::new();
    run_json(home.command(["rm", &w.reference("sbom"), "--apply", "--yes", "--json"]));
    let v1_index_tag = format!("sha256-{}", w.v1.digest.hex());
    assert_ne!(tag_link(&w.registry, &v1_index_tag), old_index.digest);
    let backups = home.journal().backups();
    let id_of = |d: &Digest| {
        backups
            .iter()
            .find(|b| b.digest == d.as_str())
            .map(|b| b.id.clone())
            .unwrap_or_else(|| panic!("no backup of {d}"))
    };
    // The SBOM first: the old index lists it, and the registry refuses an index whose
    // entries it does not have.
    let (code, stdout, stderr) =
        run(home.command(["restore", &id_of(&w.sbom.digest), &id_of(&old_index.digest)]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(tag_link(&w.registry, &v1_index_tag), old_index.digest);
    assert_eq!(tag_link(&w.registry, "sbom"), w.sbom.digest);

    // A referrer pushed since the rewrite makes the index someone's newer work: restoring
    // the rewrite leaves it alone.
    let (w, notation, old_index) = with_tagged_sbom();
    let home = Home::new();
    run_json(home.command(["rm", &w.reference("sbom"), "--apply", "--yes", "--json"]));
    let client = w.registry.client();
    let newer = support::block_on(async {
        let other = push_artifact(
            &client,
            "app",
            None,
            Artifact {
                artifact_type: Some("application/vnd.example.newer"),
                config_type: EMPTY,
                config: b"{}",
                layers: vec![("application/octet-stream", b"newer".to_vec(), json!({}))],
                subject: Some(&w.v1),
                annotations: json!({}),
            },
        )
        .await;
        push_fallback_index(
            &client,
            "app",
            &w.v1.digest,
            &[
                (&notation, "application/vnd.cncf.notary.signature"),
                (&other, "application/vnd.example.newer"),
            ],
        )
        .await
    });
    let id = home
        .journal()
        .backups()
        .iter()
        .find(|b| b.digest == old_index.digest.as_str())
        .map(|b| b.id.clone())
        .expect("the index's backup");
    run(home.command(["restore", &id]));
    assert_eq!(tag_link(&w.registry, &v1_index_tag), newer.digest);
}

/// `cleanup --orphaned-referrers` on the fixture of the discovery tests: a cosign signature
/// and a tagged SBOM whose subject v0 was deleted go; the fallback index of v1, which lists a
/// manifest the registry no longer has, is rewritten; everything else stays, the signature
/// in another repository included (its subject is in `app`).
#[test]
fn orphaned_referrers_go_and_an_index_listing_a_missing_manifest_is_rewritten() {
    let w = super::distribution::world();
    let registry = &w.registry;
    let addr = registry.addr();
    registry.garbage_collect();
    let before = registry.blob_store_bytes();
    let home = Home::new();
    let log_from = registry.access_log_since(0).len();
    let plan = run_json(home.command(["cleanup", &addr, "--orphaned-referrers", "--json"]));
    assert_eq!(plan["complete"], true, "{plan:#}");
    let v0 = &w.orphan_subject;
    let v1 = &w.subject.digest;
    let sbom_of_v0 = tag_link(registry, "sbom-of-v0");
    let orphan_sig = tag_link(registry, &w.orphan_tag);
    let mut got = steps(&plan);
    got.sort();
    let mut want = vec![
        (
            orphan_sig.to_string(),
            format!("cosign signature of {v0}, which is gone"),
            vec![w.orphan_tag.clone()],
        ),
        (
            sbom_of_v0.to_string(),
            format!("SBOM (SPDX) of {v0}, which is gone"),
            vec!["sbom-of-v0".to_string()],
        ),
        (
            w.fallback.digest.to_string(),
            format!("referrers index of {v1}, rewritten without the entries that go"),
            vec![format!("sha256-{}", v1.hex())],
        ),
    ];
    want.sort();
    assert_eq!(got, want, "{plan:#}");
    // The one subject the scan did not see was asked about once, by digest.
    let heads: Vec<_> = registry
        .access_log_since(log_from)
        .into_iter()
        .filter(|e| e.method == "HEAD" && e.target.contains(v0.as_str()))
        .collect();
    assert_eq!(heads.len(), 1, "{heads:?}");
    assert_eq!(heads[0].status, 404);

    let report = run_json(home.command([
        "cleanup",
        &addr,
        "--orphaned-referrers",
        "--apply",
        "--yes",
        "--json",
    ]));
    let results: Vec<&Value> = report["applied"]["steps"]
        .as_array()
        .expect("steps[]")
        .iter()
        .map(|s| &s["outcome"]["result"])
        .collect();
    assert_eq!(results, vec!["done"; 3], "{report:#}");
    let new_index = tag_link(registry, &format!("sha256-{}", v1.hex()));
    let document = blob(registry, &new_index);
    let listed: Value = serde_json::from_slice(&document).expect("json");
    let mut entries: Vec<&str> = listed["manifests"]
        .as_array()
        .expect("manifests[]")
        .iter()
        .map(|m| m["digest"].as_str().expect("digest"))
        .collect();
    entries.sort();
    let mut kept = vec![
        w.notation.digest.as_str(),
        w.sbom_oras_style.digest.as_str(),
    ];
    kept.sort();
    assert_eq!(entries, kept);
    let client = registry.client();
    support::block_on(async {
        for (name, t) in [
            ("app", "v1".to_string()),
            ("app", cosign_tag(v1, "sig")),
            ("app", cosign_tag(v1, "att")),
            ("app", format!("sha256-{}", w.sbom_oras_style.digest.hex())),
            ("sigs", cosign_tag(v1, "sig")),
        ] {
            client
                .head_manifest(&repo(name), &ManifestRef::Tag(tag(&t)))
                .await
                .unwrap_or_else(|e| panic!("{name}:{t} must stay: {e}"));
        }
        for t in [w.orphan_tag.as_str(), "sbom-of-v0"] {
            let err = client
                .head_manifest(&repo("app"), &ManifestRef::Tag(tag(t)))
                .await
                .expect_err("an orphan");
            assert!(err.is_not_found(), "{t}: {err}");
        }
    });
    registry.garbage_collect();
    let shrink = w.fallback.document.len() as u64 - document.len() as u64;
    assert_eq!(
        before - registry.blob_store_bytes(),
        report["bytes_freed"].as_u64().expect("bytes_freed") + shrink
    );
    let again = run_json(home.command(["cleanup", &addr, "--orphaned-referrers", "--json"]));
    assert_eq!(again["deletions"], json!([]), "{again:#}");
}
