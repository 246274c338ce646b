//! `regatta hints --repo`: base-image drift across a repository's tags, against a real
//! registry. The base images' layers are GNU tar archives of real directories; the
//! application images are built on them through the fixture builder, so the test knows
//! which tag sits on which base.

mod support;

use std::collections::BTreeSet;
use std::path::Path;

use support::cli::Sandbox;
use support::fixtures::FixtureBuilder;
use support::image::{Format, ImageSpec, Layer};
use support::layers::gnu_tar;
use support::referrers::{Artifact, cosign_tag, push_artifact};
use support::registry::{RegistryOptions, TestRegistry};

/// Three directories of /usr/share/doc, each one a layer made by GNU tar.
fn base_layers() -> (Layer, Layer, Layer) {
    let mut docs: Vec<String> = std::fs::read_dir("/usr/share/doc")
        .expect("/usr/share/doc")
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| format!("usr/share/doc/{}", e.file_name().to_string_lossy()))
        .collect();
    docs.sort();
    assert!(docs.len() >= 3, "need three directories in /usr/share/doc");
    let tar = |dir: &str| Layer::from_tar(gnu_tar(Path::new("/"), &["-c", dir]));
    (tar(&docs[0]), tar(&docs[1]), tar(&docs[2]))
}

struct Built {
    registry: TestRegistry,
    /// The tags the test built on the old base.
    on_old: BTreeSet<String>,
    on_new: BTreeSet<String>,
    /// Compressed bytes of each base's layers.
    old_bytes: u64,
    new_bytes: u64,
    /// The digests of the base images' layers.
    base_layers: Vec<String>,
    signature_tag: String,
    /// The digest of the signature's payload (its one layer).
    signature_layer: String,
}

/// `drift/base:old` = [distro, old update], `drift/base:new` = [distro, new update];
/// `drift/app` tags on each, one more on the old base after the first on the new (a
/// maintenance release), and one on nothing shared.
fn build() -> Built {
    let (distro, old_update, new_update) = base_layers();
    let old = vec![distro.clone(), old_update.clone()];
    let new = vec![distro.clone(), new_update.clone()];
    let spec =
        |layers: Vec<Layer>, created: &str| ImageSpec::new(Format::Oci, layers).created(created);
    let app = |base: &[Layer], tag: &str| {
        let mut layers = base.to_vec();
        layers.push(Layer::text(&format!("app-{tag}")));
        layers
    };
    let mut fixture = FixtureBuilder::new();
    fixture
        .image(
            "drift/base",
            &["old"],
            spec(old.clone(), "2023-12-01T00:00:00Z"),
        )
        .image(
            "drift/base",
            &["new"],
            spec(new.clone(), "2024-02-15T00:00:00Z"),
        );
    let tags = [
        ("1.0", &old, "2024-01-01T00:00:00Z"),
        ("1.1", &old, "2024-02-01T00:00:00Z"),
        ("2.0", &new, "2024-03-01T00:00:00Z"),
        ("1.2", &old, "2024-03-15T00:00:00Z"),
        ("2.1", &new, "2024-04-01T00:00:00Z"),
    ];
    for (tag, base, created) in tags {
        fixture.image("drift/app", &[tag], spec(app(base, tag), created));
    }
    fixture.image(
        "drift/app",
        &["tool"],
        spec(vec![Layer::text("tool")], "2024-05-01T00:00:00Z"),
    );
    let registry = TestRegistry::start_with(RegistryOptions {
        access_log: true,
        ..RegistryOptions::default()
    });
    let truth = fixture.push_blocking(&registry.client());
    // A cosign signature of 2.1 beside the images: an artifact, left out of hints and drift.
    let signed = truth.tagged("drift/app", "2.1").digest.clone();
    let signature_tag = cosign_tag(&signed, "sig");
    let payload = format!(r#"{{"critical":{{"image":{{"docker-manifest-digest":"{signed}"}}}}}}"#);
    let signature_layer = regatta::registry::Digest::sha256_of(payload.as_bytes()).to_string();
    support::block_on(push_artifact(
        &registry.client(),
        "drift/app",
        Some(&signature_tag),
        Artifact {
            artifact_type: None,
            config_type: regatta::registry::manifest::OCI_CONFIG,
            config: br#"{"architecture":"","os":"","config":{},"rootfs":{"type":"layers","diff_ids":[]}}"#,
            layers: vec![(
                "application/vnd.dev.cosign.simplesigning.v1+json",
                payload.into_bytes(),
                serde_json::json!({"dev.cosignproject.cosign/signature": "MEUCIQ=="}),
            )],
            subject: None,
            annotations: serde_json::json!({}),
        },
    ));
    let names = |b: &Vec<Layer>| {
        tags.iter()
            .filter(|(_, base, _)| std::ptr::eq(*base, b))
            .map(|(t, _, _)| t.to_string())
            .collect()
    };
    Built {
        signature_tag,
        signature_layer,
        on_old: names(&old),
        on_new: names(&new),
        old_bytes: distro.size() + old_update.size(),
        new_bytes: distro.size() + new_update.size(),
        base_layers: [&distro, &old_update, &new_update]
            .iter()
            .map(|l| l.digest().to_string())
            .collect(),
        registry,
    }
}

fn with_status(report: &serde_json::Value, status: &str) -> BTreeSet<String> {
    report["drift"]["tags"]
        .as_array()
        .expect("drift tags")
        .iter()
        .filter(|t| t["status"] == status)
        .map(|t| t["tag"].as_str().expect("tag").to_string())
        .collect()
}

#[test]
fn drift_names_the_tags_left_on_the_old_base() {
    let built = build();
    let repo = format!("{}/drift/app", built.registry.addr());
    let base = format!("{}/drift/base", built.registry.addr());
    let sandbox = Sandbox::new();

    // Named bases: the base repository means both its tags.
    let from = built.registry.access_log().len();
    let run = sandbox.run(&["hints", &repo, "--repo", "--base", &base, "--json"]);
    run.ok();
    let r = run.json();
    // The bases were read from their manifests and configs, never their layers.
    let from_base: Vec<String> = built
        .registry
        .access_log_since(from)
        .into_iter()
        .filter(|e| e.method == "GET" && e.target.starts_with("/v2/drift/base/"))
        .map(|e| e.target)
        .collect();
    assert!(
        from_base.iter().any(|t| t.contains("/manifests/")),
        "{from_base:?}"
    );
    for layer in &built.base_layers {
        assert!(
            !from_base.iter().any(|t| t.contains(layer.as_str())),
            "{layer} read from drift/base: {from_base:?}"
        );
    }
    assert_eq!(r["drift"]["rule"], "candidates");
    assert_eq!(with_status(&r, "old_base"), built.on_old);
    assert_eq!(with_status(&r, "current"), built.on_new);
    assert_eq!(
        with_status(&r, "no_shared_base"),
        BTreeSet::from(["tool".to_string()])
    );
    for t in r["drift"]["tags"].as_array().expect("tags") {
        let tag = t["tag"].as_str().expect("tag");
        let (name, bytes) = if built.on_old.contains(tag) {
            ("drift/base:old", built.old_bytes)
        } else if built.on_new.contains(tag) {
            ("drift/base:new", built.new_bytes)
        } else {
            assert!(t["base"].is_null(), "{t}");
            continue;
        };
        assert_eq!(t["base"]["names"], serde_json::json!([name]), "{t}");
        assert_eq!(t["base"]["layers"], 2);
        assert_eq!(t["base"]["bytes"], bytes);
    }
    // 1.2 came after 2.0, before 2.1: one newer tag moved on. 1.0 and 1.1 saw both.
    let newer = |tag: &str| {
        r["drift"]["tags"]
            .as_array()
            .expect("tags")
            .iter()
            .find(|t| t["tag"] == tag)
            .expect("the tag")["newer_on_current_base"]
            .clone()
    };
    assert_eq!(newer("1.2"), 1);
    assert_eq!(newer("1.0"), 2);
    assert_eq!(
        r["drift"]["current_bases"][0]["names"],
        serde_json::json!(["drift/base:new"])
    );

    // The signature is named as what it is, not listed as an image (nor as a tag with no
    // shared base), and its payload was never read as a layer.
    assert_eq!(
        r["not_images"],
        serde_json::json!([[built.signature_tag, "cosign signature"]])
    );
    assert!(
        !r["tags"]
            .as_array()
            .expect("tags")
            .iter()
            .any(|t| t["tag"] == built.signature_tag.as_str()),
        "{}",
        r["tags"]
    );
    let read_payload = built.registry.access_log_since(from).into_iter().any(|e| {
        e.method == "GET"
            && e.target
                .contains(&format!("/blobs/{}", built.signature_layer))
    });
    assert!(!read_payload, "the signature's payload was read as a layer");

    // Asked for by name, its files are refused in one sentence saying what it is.
    let sig = format!("{repo}:{}", built.signature_tag);
    sandbox
        .run(&["files", &sig])
        .fails_with_one_line(&["is not a container image (cosign signature)"]);

    // Inferred: the same tags, their bases named by their top layers.
    let run = sandbox.run(&["hints", &repo, "--repo", "--json"]);
    run.ok();
    let r = run.json();
    assert_eq!(r["drift"]["rule"], "shared_prefix");
    assert_eq!(with_status(&r, "old_base"), built.on_old);
    assert_eq!(with_status(&r, "current"), built.on_new);

    // The text names them too.
    let text = sandbox.run(&["hints", &repo, "--repo", "--base", &base]);
    text.ok();
    let old: Vec<&str> = built.on_old.iter().map(String::as_str).collect();
    let line = format!("On an old base: {} tags ({})", old.len(), old.join(", "));
    assert!(text.stdout.contains(&line), "{}", text.stdout);
    assert!(
        text.stdout
            .contains("Tags left out, not container images: 1 (cosign signature: 1)"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout
            .contains("Current base (of the newest tag that has one): drift/base:new (2 layers,"),
        "{}",
        text.stdout
    );
}
