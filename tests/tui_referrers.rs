//! The tag list's folding and the referrers view against the real Distribution 2.8 (no
//! referrers API), with artifacts pushed as cosign (tag scheme) and oras / Notation
//! (`subject` + referrers fallback index) push them: what the app asks the registry,
//! counted by its access log, and the built binary driven in tmux; Trivy and Grype reports
//! attested by cosign, whose counts the ATTACHED cell shows.

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;

use regatta::registry::manifest::OCI_CONFIG;
use regatta::registry::{Digest, Source};
use regatta::tui::keymap::ViewKind;
use regatta::tui::memory::run_until_idle;
use regatta::tui::views::View;
use regatta::tui::{Action, App, RegistryEntry, Theme};
use serde_json::json;
use support::fixtures::FixtureBuilder;
use support::image::{Format, ImageSpec, Layer};
use support::referrers::{Artifact, EMPTY, Pushed, cosign_tag, push_artifact, push_fallback_index};
use support::registry::{Logged, RegistryOptions, TestRegistry};
use support::tmux::{Pane, row_shows, shows_all};

const SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";

/// `app:v1` signed by cosign (tag `sha256-<hex>.sig`, its certificate made by openssl), with an SPDX SBOM pushed as oras
/// pushes to a registry without the API (`subject`, listed by the fallback index
/// `sha256-<hex>`), and a Notation signature of that SBOM (its own fallback index);
/// `app:v2` with nothing attached.
struct World {
    registry: TestRegistry,
    v1: Digest,
    signature: Pushed,
    sbom: Pushed,
    sbom_signature: Pushed,
    /// What the signature's certificate (made by openssl) says, in openssl's own words:
    /// `certificate subject EMAIL (SUBJECT); issuer ISSUER; OIDC issuer URL`.
    signer: String,
}

fn world() -> World {
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
        &["v2"],
        ImageSpec::new(Format::Oci, vec![Layer::text("app-v2")]),
    );
    let truth = registry.push(&b);
    let v1 = truth.tagged("app", "v1");
    let subject = Pushed {
        digest: v1.digest.clone(),
        document: v1.document.clone(),
        blobs: v1.blobs.clone(),
    };
    let client = registry.client();
    let certificate = support::referrers::openssl_signing_certificate();
    let signer = format!(
        "certificate subject {} ({}); issuer {}; OIDC issuer {}",
        certificate.identity, certificate.subject, certificate.issuer, certificate.oidc_issuer
    );
    let (signature, sbom, sbom_signature) = support::block_on(async {
        let s = &subject.digest;
        let payload = json!({"critical": {"image": {"docker-manifest-digest": s}, "type": "cosign container image signature"}}).to_string();
        let signature = push_artifact(
            &client,
            "app",
            Some(&cosign_tag(s, "sig")),
            Artifact {
                artifact_type: None,
                config_type: OCI_CONFIG,
                config: br#"{"architecture":"","os":"","config":{},"rootfs":{"type":"layers","diff_ids":[]}}"#,
                layers: vec![(
                    SIMPLE_SIGNING,
                    payload.into_bytes(),
                    json!({
                        "dev.cosignproject.cosign/signature": "MEUCIQ==",
                        "dev.sigstore.cosign/certificate": certificate.pem,
                    }),
                )],
                subject: None,
                annotations: json!({}),
            },
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
                    br#"{"spdxVersion":"SPDX-2.3","packages":[{"name":"app"}]}"#.to_vec(),
                    json!({"org.opencontainers.image.title": "sbom.spdx.json"}),
                )],
                subject: Some(&subject),
                annotations: json!({"org.opencontainers.image.created": "2025-05-02T10:00:00Z"}),
            },
        )
        .await;
        push_fallback_index(&client, "app", s, &[(&sbom, "application/spdx+json")]).await;
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
                subject: Some(&sbom),
                annotations: json!({"org.opencontainers.image.created": "2025-05-02T11:00:00Z"}),
            },
        )
        .await;
        push_fallback_index(
            &client,
            "app",
            &sbom.digest,
            &[(&sbom_signature, "application/vnd.cncf.notary.signature")],
        )
        .await;
        (signature, sbom, sbom_signature)
    });
    World {
        registry,
        v1: subject.digest,
        signature,
        sbom,
        sbom_signature,
        signer,
    }
}

async fn step(app: &mut App, action: Action) {
    let effects = app.update(action);
    run_until_idle(app, effects).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_referrers_view_asks_only_the_referrers_api_and_reads_no_manifest_again() {
    let w = world();
    let client = w.registry.client();
    let entry = RegistryEntry {
        name: "local".into(),
        location: w.registry.url(),
        source: Ok(Arc::new(client.clone()) as Arc<dyn Source>),
        notice: None,
        client: Some(client),
    };
    let now = "2025-06-01T12:00:00Z".parse().expect("a timestamp");
    let mut app = App::new(vec![entry], true, now, Theme::PLAIN);
    app.update(Action::Resize {
        width: 140,
        height: 30,
    });
    let effects = app.start();
    run_until_idle(&mut app, effects).await;
    assert!(app.storage(0).is_some_and(|s| !s.is_scanning()));
    step(&mut app, Action::Open).await; // app, the only repository
    let View::Tags(tags) = app.top() else {
        panic!("the tag list, not {:?}", app.top().kind())
    };
    assert_eq!(
        tags.rows.attached_tags(),
        3,
        "the .sig tag and two fallback indexes"
    );
    assert_eq!(tags.progress(), "tags 5/5 · 3 attached folded");
    let summary = tags.attached.get(&w.v1).expect("v1 has attachments");
    assert_eq!(summary.cell(), "sig sbom +1");

    // What the scan left in the log; from here on, only what the view asks.
    let before = w.registry.access_log_since(0).len() + 1;
    step(&mut app, Action::OpenReferrers).await; // on v1, the first row
    let View::Referrers(view) = app.top() else {
        panic!("the referrers view, not {:?}", app.top().kind())
    };
    let found = view.found.as_ref().expect("the tree");
    assert!(found.failures.is_empty(), "{:?}", found.failures);
    let tree = &found.tree;
    assert_eq!(tree.subject, w.v1);
    assert_eq!(tree.count, 3);
    let sbom = tree
        .referrers
        .iter()
        .find(|n| n.digest == w.sbom.digest)
        .expect("the SBOM");
    assert_eq!(sbom.label, "SBOM (SPDX)");
    assert_eq!(sbom.size, Some(w.sbom.size()));
    assert_eq!(sbom.referrers[0].digest, w.sbom_signature.digest);
    let signature = tree
        .referrers
        .iter()
        .find(|n| n.digest == w.signature.digest)
        .expect("the cosign signature");
    assert_eq!(signature.size, Some(w.signature.size()));

    let log = w.registry.access_log_since(before);
    let asked: Vec<String> = log
        .iter()
        .map(|e| format!("{} {} {}", e.method, e.target, e.status))
        .collect();
    // The referrers API (Distribution 2.8 does not have it), then only small blobs of the
    // referrers for their content summaries, each once; no manifest is read again.
    assert_eq!(
        asked.first(),
        Some(&format!("GET /v2/app/referrers/{} 404", w.v1)),
        "{asked:?}"
    );
    let referrer_blobs: BTreeSet<String> = [&w.signature, &w.sbom, &w.sbom_signature]
        .iter()
        .flat_map(|p| p.blobs.keys())
        .map(|d| format!("GET /v2/app/blobs/{d} 200"))
        .collect();
    let rest: Vec<&String> = asked.iter().skip(1).collect();
    assert!(
        rest.iter().all(|r| referrer_blobs.contains(*r)),
        "only the referrers' blobs, for their summaries: {asked:?}"
    );
    let distinct: BTreeSet<&&String> = rest.iter().collect();
    assert_eq!(distinct.len(), rest.len(), "each blob once: {asked:?}");

    // Enter on the cosign signature: its manifest and layers, from what the scan read.
    let before = w.registry.access_log_since(0).len() + 1;
    step(&mut app, Action::Last).await;
    // Its row's detail says what it signs, read from its payload as the CLI prints it.
    let View::Referrers(view) = app.top() else {
        panic!("the referrers view, not {:?}", app.top().kind())
    };
    let detail = view.detail().expect("a selected row");
    assert!(
        detail.contains(&w.signature.digest.to_string())
            && detail.contains(&format!("signs {}", w.v1))
            && detail.contains(&w.signer),
        "{detail}"
    );
    step(&mut app, Action::Open).await;
    assert_eq!(app.top().kind(), ViewKind::Layers);
    let View::Layers(layers) = app.top() else {
        unreachable!()
    };
    let image = layers.rows.platform_image().expect("the signature");
    assert_eq!(image.digest, w.signature.digest);
    assert_eq!(image.manifest.layers[0].media_type, SIMPLE_SIGNING);
    let log = w.registry.access_log_since(before);
    assert!(
        log.iter().all(|e| e.kind() != Logged::ManifestGet),
        "the signature was read by the scan already: {log:?}"
    );
}

#[test]
fn folded_tags_the_toggle_the_referrers_tree_and_enter_on_a_signature_in_a_terminal() {
    let w = world();
    let addr = w.registry.addr();
    let pane = Pane::start("referrers", &[&addr]);
    pane.wait_for_crumbs(&format!("regatta › {addr}"));
    pane.wait_for_text("app");
    pane.keys(&["Enter"]);
    pane.wait_for_crumbs(&format!("{addr} › app"));

    // Folded: two images; v1 says what it carries. The selected row's detail, below the
    // rows, says the fold is drawn.
    let folded = pane.wait_until("the folded tags", |s| {
        shows_all(
            s,
            &["tags 5/5 · 3 attached folded", "2 attached tags folded"],
        )?;
        row_shows(s, " v1 ", &["sig sbom +1", w.v1.short()])
    });
    assert!(!folded.contains("sha256-"), "{folded}");

    // `a` lists the bookkeeping tags, named by kind; again folds them.
    pane.keys(&["a"]);
    let shown = pane.wait_until("the attached tags as rows", |s| {
        shows_all(s, &["3 attached shown", "3 attached tags shown as tags"])?;
        row_shows(s, "cosign signature", &[w.signature.digest.short()])
    });
    assert_eq!(
        shown
            .lines()
            .filter(|l| l.contains("referrers index"))
            .count(),
        2,
        "{shown}"
    );
    pane.keys(&["a"]);
    pane.wait_for_text("3 attached folded");

    // `R` on v1 (the first row): the tree.
    pane.keys(&["R"]);
    pane.wait_for_crumbs("app › v1 › referrers");
    pane.wait_until("the tree", |s| {
        shows_all(s, &["3 referrers"])?;
        for (line, digest) in [
            ("├── SBOM (SPDX)", &w.sbom.digest),
            ("│   └── Notation signature", &w.sbom_signature.digest),
            ("└── cosign signature", &w.signature.digest),
        ] {
            row_shows(s, line, &[digest.short()])?;
        }
        Ok(())
    });

    // Enter on the cosign signature (the last row): its manifest and layers.
    pane.keys(&["G", "Enter"]);
    pane.wait_for_crumbs("referrers › cosign signature › -");
    let layer = w
        .signature
        .blobs
        .keys()
        .find(|d| !w.signature.document.is_empty() && **d != config_of(&w.signature))
        .expect("the signature's layer");
    pane.wait_for_text(layer.short());

    pane.keys(&["q"]);
    let exit = pane.wait_for_exit();
    assert_eq!(exit.status, 0);
    assert!(!exit.raw_mode);
}

/// The config digest of a pushed manifest, read from its document.
fn config_of(p: &Pushed) -> Digest {
    let doc: serde_json::Value = serde_json::from_slice(&p.document).expect("json");
    Digest::parse(doc["config"]["digest"].as_str().expect("a config")).expect("a digest")
}

/// The severities of the Trivy report attested for `app:v1` (Trivy's words) and of the
/// Grype report attested for `app:v2` (Grype's).
const TRIVY_SEVERITIES: &[&str] = &["CRITICAL", "HIGH", "HIGH", "MEDIUM", "HIGH", "MEDIUM"];
const GRYPE_SEVERITIES: &[&str] = &["Low", "Critical", "Negligible", "Low", "Unknown", "High"];

const VULN_PREDICATE: &str = "https://cosign.sigstore.dev/attestation/vuln/v1";

/// A vulnerability report in a DSSE envelope, as `cosign attest --type vuln --predicate
/// report.json` pushes it for `subject`: cosign's vuln predicate with the scanner's JSON
/// report under `scanner.result`.
fn vuln_envelope(subject: &Digest, scanner: &str, report: serde_json::Value) -> Vec<u8> {
    use base64::Engine;
    let statement = json!({
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": VULN_PREDICATE,
        "subject": [{"name": "app", "digest": {"sha256": subject.hex()}}],
        "predicate": {
            "invocation": {},
            "scanner": {"uri": scanner, "version": "1", "result": report},
            "metadata": {},
        },
    });
    let payload =
        base64::engine::general_purpose::STANDARD.encode(statement.to_string().as_bytes());
    json!({
        "payloadType": "application/vnd.in-toto+json",
        "payload": payload,
        "signatures": [{"keyid": "", "sig": "MEUCIQ=="}],
    })
    .to_string()
    .into_bytes()
}

/// `trivy image --format json`: findings grouped by target, `Severity` in capitals.
fn trivy_report() -> serde_json::Value {
    let found: Vec<serde_json::Value> = TRIVY_SEVERITIES
        .iter()
        .enumerate()
        .map(|(i, s)| json!({"VulnerabilityID": format!("CVE-2025-{i}"), "PkgName": "p", "Severity": s}))
        .collect();
    let (os, lang) = found.split_at(2);
    json!({"SchemaVersion": 2, "ArtifactName": "app:v1", "Results": [
        {"Target": "app:v1 (debian 12)", "Class": "os-pkgs", "Vulnerabilities": os},
        {"Target": "go.sum", "Class": "lang-pkgs", "Vulnerabilities": lang},
    ]})
}

/// `grype -o json`: one match per finding, `vulnerability.severity` capitalised.
fn grype_report() -> serde_json::Value {
    let matches: Vec<serde_json::Value> = GRYPE_SEVERITIES
        .iter()
        .enumerate()
        .map(|(i, s)| {
            json!({
                "vulnerability": {"id": format!("CVE-2024-{i}"), "severity": s},
                "artifact": {"name": "p", "version": "1.0"},
            })
        })
        .collect();
    json!({"matches": matches, "source": {"type": "image"}, "descriptor": {"name": "grype"}})
}

/// The cell the report's findings make, counted here from the fixture's own list: `vuln`,
/// then count and initial per severity, most severe first, zero counts left out.
fn expected_cell(severities: &[&str]) -> String {
    let mut cell = "vuln".to_string();
    for (word, initial) in [
        ("critical", "C"),
        ("high", "H"),
        ("medium", "M"),
        ("low", "L"),
        ("negligible", "N"),
        ("unknown", "U"),
    ] {
        let n = severities
            .iter()
            .filter(|s| s.eq_ignore_ascii_case(word))
            .count();
        if n > 0 {
            cell.push_str(&format!(" {n}{initial}"));
        }
    }
    cell
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trivy_and_grype_reports_attested_by_cosign_show_their_counts_in_the_tag_list_read_once() {
    let registry = TestRegistry::start_with(RegistryOptions {
        access_log: true,
        ..RegistryOptions::default()
    });
    let mut b = FixtureBuilder::new();
    for tag in ["v1", "v2"] {
        b.image(
            "app",
            &[tag],
            ImageSpec::new(Format::Oci, vec![Layer::text(&format!("app-{tag}"))]),
        );
    }
    let truth = registry.push(&b);
    let v1 = truth.tagged("app", "v1").digest.clone();
    let v2 = truth.tagged("app", "v2").digest.clone();
    let client = registry.client();
    let attest = |subject: &Digest, envelope: Vec<u8>| {
        let artifact = Artifact {
        artifact_type: None,
        config_type: OCI_CONFIG,
        config: br#"{"architecture":"","os":"","config":{},"rootfs":{"type":"layers","diff_ids":[]}}"#,
        layers: vec![(
            "application/vnd.dsse.envelope.v1+json",
            envelope,
            json!({"predicateType": VULN_PREDICATE}),
        )],
        subject: None,
        annotations: json!({}),
        };
        (cosign_tag(subject, "att"), artifact)
    };
    let (trivy, grype) = support::block_on(async {
        let (tag, artifact) = attest(
            &v1,
            vuln_envelope(&v1, "pkg:github/aquasecurity/trivy", trivy_report()),
        );
        let trivy = push_artifact(&client, "app", Some(&tag), artifact).await;
        let (tag, artifact) = attest(
            &v2,
            vuln_envelope(&v2, "pkg:github/anchore/grype", grype_report()),
        );
        let grype = push_artifact(&client, "app", Some(&tag), artifact).await;
        (trivy, grype)
    });
    let entry = RegistryEntry {
        name: "local".into(),
        location: registry.url(),
        source: Ok(Arc::new(client.clone()) as Arc<dyn Source>),
        notice: None,
        client: Some(client),
    };
    let now = "2025-06-01T12:00:00Z".parse().expect("a timestamp");
    let mut app = App::new(vec![entry], true, now, Theme::PLAIN);
    app.update(Action::Resize {
        width: 140,
        height: 30,
    });
    let effects = app.start();
    run_until_idle(&mut app, effects).await;
    assert!(app.storage(0).is_some_and(|s| !s.is_scanning()));
    let before = registry.access_log_since(0).len() + 1;
    step(&mut app, Action::Open).await; // app, the only repository
    let View::Tags(tags) = app.top() else {
        panic!("the tag list, not {:?}", app.top().kind())
    };
    assert_eq!(tags.progress(), "tags 4/4 · 2 attached folded");
    let cell = |d: &Digest| tags.attached.get(d).map(|s| s.cell());
    assert_eq!(cell(&v1), Some(expected_cell(TRIVY_SEVERITIES)));
    assert_eq!(cell(&v2), Some(expected_cell(GRYPE_SEVERITIES)));
    assert_eq!(
        cell(&v1).as_deref(),
        Some("vuln 1C 3H 2M"),
        "the truth read"
    );

    // What the registry was asked for them: each report's envelope once, and nothing else
    // (the scan read the attestations' manifests).
    let mut asked: Vec<String> = registry
        .access_log_since(before)
        .iter()
        .map(|e| format!("{} {} {}", e.method, e.target, e.status))
        .collect();
    asked.sort();
    let mut envelopes: Vec<String> = [&trivy, &grype]
        .iter()
        .map(|p| {
            let envelope = p
                .blobs
                .keys()
                .find(|d| **d != config_of(p))
                .expect("the envelope layer");
            format!("GET /v2/app/blobs/{envelope} 200")
        })
        .collect();
    envelopes.sort();
    assert_eq!(asked, envelopes);

    // Leaving and opening the list again asks the registry for nothing, and shows the same.
    let before = registry.access_log_since(0).len() + 1;
    step(&mut app, Action::Back).await;
    step(&mut app, Action::Open).await;
    let View::Tags(tags) = app.top() else {
        panic!("the tag list, not {:?}", app.top().kind())
    };
    assert_eq!(tags.attached[&v1].cell(), expected_cell(TRIVY_SEVERITIES));
    assert_eq!(tags.attached[&v2].cell(), expected_cell(GRYPE_SEVERITIES));
    let again = registry.access_log_since(before);
    assert!(again.is_empty(), "{again:?}");
}
