//! What is attached to images: the tag list folds bookkeeping tags under their image and
//! says what each image has attached, from the scanned model alone.

use super::*;
use crate::registry::Digest;
use crate::tui::listing::Rows;
use crate::tui::memory::{ImageSpec, MemorySource, run_until_idle};
use crate::tui::views::tags::TagsView;

fn attached_app() -> App {
    let entries = vec![entry("attached", Ok(shared(fixtures::attached())))];
    let mut app = App::new(entries, true, now(), Theme::PLAIN);
    app.update(Action::Resize {
        width: 140,
        height: 20,
    });
    app
}

/// The app inside `acme/app` with the whole registry scanned.
async fn in_tags() -> App {
    let mut app = attached_app();
    let effects = app.start();
    run_until_idle(&mut app, effects).await;
    let effects = app.update(Action::Open);
    run_until_idle(&mut app, effects).await;
    assert_eq!(
        kinds(&app),
        [ViewKind::Registries, ViewKind::Repos, ViewKind::Tags]
    );
    app
}

fn tags_view(app: &App) -> &TagsView {
    match app.top() {
        View::Tags(v) => v,
        other => panic!("not a tag list: {:?}", other.kind()),
    }
}

/// The tags the list shows, in order.
fn shown(app: &App) -> Vec<String> {
    let v = tags_view(app);
    (0..v.listing.shown())
        .filter_map(|p| v.rows.get(v.listing.row_at(p)?))
        .map(|r| r.tag.to_string())
        .collect()
}

#[tokio::test]
async fn bookkeeping_tags_are_folded_under_their_image_by_default() {
    let app = in_tags().await;
    assert!(app.storage(0).unwrap().model.failures.is_empty());
    assert_eq!(shown(&app), ["v1", "v1.1", "v2"]);
    let v = tags_view(&app);
    assert_eq!(v.rows.len(), 6, "every tag is still a row");
    assert_eq!(v.rows.attached_tags(), 3);
    assert_eq!(v.progress(), "tags 6/6 · 3 attached folded");

    // What is attached to v1, from the model: the cosign signature, the SBOM, and the
    // Notation signature of the SBOM (a referrer of a referrer).
    let model = &app.storage(0).unwrap().model;
    let v1 = model.repos[&repo("acme/app")].tags[&tag("v1")]
        .clone()
        .unwrap();
    let v2 = model.repos[&repo("acme/app")].tags[&tag("v2")]
        .clone()
        .unwrap();
    let summary = v.attached.get(&v1).expect("v1 has attachments");
    assert_eq!(summary.signatures, 1);
    assert_eq!(summary.sboms, 1);
    assert_eq!(summary.others, 1, "the signature of the SBOM");
    assert_eq!(summary.cell(), "sig sbom +1");
    assert!(!v.attached.contains_key(&v2), "nothing is attached to v2");
    assert_eq!(v.folded_under.get(&v1).map(Vec::len), Some(2));
    assert!(v.has_attachments());
}

#[tokio::test]
async fn the_toggle_lists_them_as_tags_and_folds_them_again() {
    let mut app = in_tags().await;
    let keyed = app.key_action(&KeyEvent::new(KeyCode::Char('a'), KeyModifiers::NONE));
    assert!(matches!(keyed, Some(Action::ToggleAttached)));
    assert!(app.update(Action::ToggleAttached).is_empty(), "no request");
    let all = shown(&app);
    assert_eq!(all.len(), 6, "{all:?}");
    assert!(all.iter().any(|t| t.ends_with(".sig")), "{all:?}");
    assert_eq!(tags_view(&app).progress(), "tags 6/6 · 3 attached shown");
    assert_eq!(
        app.message(),
        Some(&Message::Info("3 attached tags shown as tags".into()))
    );
    app.update(Action::ToggleAttached);
    assert_eq!(shown(&app), ["v1", "v1.1", "v2"]);
    // The filter never brings a folded tag back.
    app.update(Action::Filter);
    for c in "sha".chars() {
        app.update(Action::FilterChar(c));
    }
    assert!(shown(&app).is_empty(), "{:?}", shown(&app));
}

#[tokio::test]
async fn the_detail_line_counts_what_is_folded_under_the_image() {
    let app = in_tags().await;
    let detail = tags_view(&app).detail().expect("a detail line");
    assert!(detail.ends_with(" · 2 attached tags folded"), "{detail}");
    assert!(detail.contains("also tagged v1.1"), "{detail}");
}

#[test]
fn a_repository_without_attachments_keeps_its_columns() {
    let (mut app, effects) = demo_app(true);
    let scan = req_of(&effects[1..]);
    list_repos(&mut app, scan);
    let _ = open_nginx(&mut app);
    let v = tags_view(&app);
    assert!(!v.has_attachments());
    assert_eq!(v.rows.attached_tags(), 0);
}

/// The app inside `acme/app` over a source whose fetches the test counts.
async fn in_tags_counted() -> (App, Arc<crate::tui::memory::MemorySource>) {
    let source = Arc::new(fixtures::attached());
    let entries = vec![entry("attached", Ok(source.clone() as Arc<dyn Source>))];
    let mut app = App::new(entries, true, now(), Theme::PLAIN);
    app.update(Action::Resize {
        width: 140,
        height: 20,
    });
    let effects = app.start();
    run_until_idle(&mut app, effects).await;
    let effects = app.update(Action::Open);
    run_until_idle(&mut app, effects).await;
    (app, source)
}

fn referrers_view(app: &App) -> &crate::tui::views::referrers::ReferrersView {
    match app.top() {
        View::Referrers(v) => v,
        other => panic!("not the referrers view: {:?}", other.kind()),
    }
}

/// The kind column of every row, branches included.
fn tree_labels(app: &App) -> Vec<String> {
    let v = referrers_view(app);
    (0..v.listing.shown())
        .filter_map(|p| v.rows.0.get(v.listing.row_at(p)?))
        .map(|r| match &r.node {
            Some(n) => format!("{}{}", r.branch, n.label),
            None => "subject".to_string(),
        })
        .collect()
}

#[tokio::test]
async fn r_on_a_tag_finds_its_referrers_in_a_worker_from_what_the_scan_read() {
    let (mut app, source) = in_tags_counted().await;
    let keyed = app.key_action(&KeyEvent::new(KeyCode::Char('R'), KeyModifiers::NONE));
    assert!(matches!(keyed, Some(Action::OpenReferrers)));
    let effects = app.update(Action::OpenReferrers);
    let v1 = app.storage(0).unwrap().model.repos[&repo("acme/app")].tags[&tag("v1")]
        .clone()
        .unwrap();
    match effects.as_slice() {
        [
            Effect::FindReferrers {
                subject,
                tags,
                repo: r,
                also_in,
                ..
            },
        ] => {
            assert_eq!(*subject, v1);
            assert_eq!(*r, repo("acme/app"));
            assert_eq!(tags.as_ref().map(|t| t.len()), Some(6), "the scan's tags");
            assert!(also_in.is_empty(), "no referrers_repository configured");
        }
        other => panic!("expected FindReferrers, got {other:?}"),
    }
    // Nothing drawn waits: the view is there, loading, before the worker runs.
    assert!(app.is_loading());
    assert_eq!(app.crumbs().last().map(String::as_str), Some("referrers"));
    let before = source.manifest_fetches();
    run_until_idle(&mut app, effects).await;
    assert_eq!(
        source.manifest_fetches(),
        before,
        "every manifest discovery read was read by the scan already"
    );
    assert!(!app.is_loading());
    assert_eq!(
        tree_labels(&app),
        [
            "subject",
            "├── SBOM (SPDX)",
            "│   └── Notation signature",
            "└── cosign signature"
        ]
    );
    let v = referrers_view(&app);
    assert_eq!(v.subject, v1);
    assert_eq!(v.subject_line.kind, "image");
    assert!(v.progress().unwrap().starts_with("3 referrers · "));
}

#[tokio::test]
async fn folding_hides_a_referrers_referrers_and_enter_opens_a_referrer_as_an_image() {
    let (mut app, _) = in_tags_counted().await;
    let effects = app.update(Action::OpenReferrers);
    run_until_idle(&mut app, effects).await;
    app.update(Action::MoveDown); // the SBOM
    let key = app.key_action(&KeyEvent::new(KeyCode::Char(' '), KeyModifiers::NONE));
    assert!(matches!(key, Some(Action::ToggleFold)));
    assert!(app.update(Action::ToggleFold).is_empty());
    assert_eq!(
        tree_labels(&app),
        ["subject", "├── SBOM (SPDX)", "└── cosign signature"]
    );
    assert!(referrers_view(&app).selected().unwrap().folded);
    app.update(Action::ToggleFold);
    assert_eq!(tree_labels(&app).len(), 4);

    app.update(Action::Last); // the cosign signature
    let signature = referrers_view(&app)
        .selected()
        .and_then(|r| r.node.clone())
        .expect("a referrer");
    assert_eq!(
        app.update(Action::CopyReference),
        [Effect::Copy(format!(
            "attached.example/acme/app@{}",
            signature.digest
        ))]
    );
    let effects = app.update(Action::Open);
    match effects.as_slice() {
        [Effect::FetchImage { reference, .. }] => {
            assert_eq!(*reference, ManifestRef::Digest(signature.digest.clone()));
        }
        other => panic!("expected FetchImage, got {other:?}"),
    }
    run_until_idle(&mut app, effects).await;
    assert_eq!(app.top().kind(), ViewKind::Layers);
    let View::Layers(layers) = app.top() else {
        unreachable!()
    };
    let image = layers
        .rows
        .platform_image()
        .expect("the signature's manifest");
    assert_eq!(image.digest, signature.digest);
    assert_eq!(
        image.manifest.layers[0].media_type,
        "application/vnd.dev.cosign.simplesigning.v1+json"
    );
    // Back to the tree, then back to the tags: the loads end with their views.
    app.update(Action::Back);
    assert_eq!(app.top().kind(), ViewKind::Referrers);
    app.update(Action::Back);
    assert_eq!(app.top().kind(), ViewKind::Tags);
}

#[test]
fn leaving_the_view_aborts_the_search_and_a_late_answer_is_dropped() {
    let (mut app, effects) = demo_app(true);
    let scan = req_of(&effects[1..]);
    list_repos(&mut app, scan);
    let _ = open_nginx(&mut app);
    let nginx = repo("library/nginx");
    scanned(
        &mut app,
        scan,
        ScanEvent::Tags {
            repo: nginx.clone(),
            tags: vec![tag("1.26")],
        },
    );
    // Not resolved yet: the view is not opened, a sentence says why.
    assert!(app.update(Action::OpenReferrers).is_empty());
    assert!(
        matches!(app.message(), Some(Message::Info(m)) if m.contains("not resolved yet")),
        "{:?}",
        app.message()
    );
    assert_eq!(app.top().kind(), ViewKind::Tags);

    let digest = crate::registry::Digest::sha256_of(b"1.26");
    scanned(
        &mut app,
        scan,
        ScanEvent::Resolved {
            repo: nginx.clone(),
            tag: tag("1.26"),
            digest: digest.clone(),
        },
    );
    let effects = app.update(Action::OpenReferrers);
    let req = req_of(&effects);
    assert_eq!(app.top().kind(), ViewKind::Referrers);
    let back = app.update(Action::Back);
    assert!(back.contains(&Effect::Abort(vec![req])), "{back:?}");
    let late = crate::tui::referrers::ReferrersFound {
        tree: crate::analysis::referrers::build_tree(&nginx, &digest, &[]),
        fallback_indexes: Vec::new(),
        failures: Vec::new(),
    };
    app.update(Action::ReferrersFound {
        req,
        result: Ok(Arc::new(late)),
    });
    assert_eq!(app.top().kind(), ViewKind::Tags);
}

#[tokio::test]
async fn a_list_opened_while_the_scan_runs_folds_once_the_scan_has_read_enough() {
    let mut app = attached_app();
    let effects = app.start();
    let scan = super::storage::scan_req(&effects);
    let events = super::storage::scan_events(&fixtures::attached()).await;
    let tags_at = events
        .iter()
        .position(|e| matches!(e, ScanEvent::Tags { .. }))
        .expect("a tag list");
    let mut events = events.into_iter();
    for event in events.by_ref().take(tags_at) {
        scanned(&mut app, scan, event);
    }
    app.update(Action::Open);
    assert_eq!(app.top().kind(), ViewKind::Tags);
    // The rest one result at a time, without a tick: the numbers (and the attachments
    // with them) are held back while the repository is scanned, then worked out when it is.
    for event in events {
        scanned(&mut app, scan, event);
    }
    assert_eq!(shown(&app), ["v1", "v1.1", "v2"]);
    let v = tags_view(&app);
    assert_eq!(v.progress(), "tags 6/6 · 3 attached folded");
    assert_eq!(v.attached.len(), 1, "v1 carries the signature and the SBOM");
    app.update(Action::ScanFinished {
        req: scan,
        result: Ok(()),
    });
    assert_eq!(shown(&app), ["v1", "v1.1", "v2"]);
}

#[tokio::test]
async fn r_on_a_platform_finds_the_referrers_of_that_platform_manifest() {
    let entries = vec![entry("demo", Ok(shared(fixtures::sample())))];
    let mut app = App::new(entries, true, now(), Theme::PLAIN);
    app.update(Action::Resize {
        width: 140,
        height: 20,
    });
    let effects = app.start();
    run_until_idle(&mut app, effects).await;
    app.update(Action::MoveDown); // library/nginx (the scan is done: no Prioritize)
    app.update(Action::Open);
    let effects = app.update(Action::Open); // 1.26, an index
    run_until_idle(&mut app, effects).await;
    let View::Manifest(m) = app.top() else {
        panic!("the platforms, not {:?}", app.top().kind())
    };
    let platform = m.rows.image(0).expect("a platform").digest.clone();
    let effects = app.update(Action::OpenReferrers);
    match effects.as_slice() {
        [Effect::FindReferrers { subject, .. }] => assert_eq!(*subject, platform),
        other => panic!("expected FindReferrers, got {other:?}"),
    }
    run_until_idle(&mut app, effects).await;
    assert_eq!(
        app.crumbs()[app.crumbs().len() - 2..],
        ["linux/amd64".to_string(), "referrers".to_string()]
    );
    let v = referrers_view(&app);
    assert_eq!(v.progress().as_deref(), Some("no referrers"));
    assert_eq!(tree_labels(&app), ["subject"]);
}

/// A DSSE envelope as `cosign attest --type vuln --predicate trivy.json` pushes it: an
/// in-toto statement whose predicate holds Trivy's report under `scanner.result`.
fn trivy_attestation(subject: &Digest, severities: &[&str]) -> Vec<u8> {
    use base64::Engine;
    let vulnerabilities: Vec<serde_json::Value> = severities
        .iter()
        .enumerate()
        .map(
            |(i, s)| serde_json::json!({"VulnerabilityID": format!("CVE-2025-{i}"), "Severity": s}),
        )
        .collect();
    let statement = serde_json::json!({
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": VULN_PREDICATE,
        "subject": [{"name": "acme/app", "digest": {"sha256": subject.hex()}}],
        "predicate": {
            "scanner": {
                "uri": "pkg:github/aquasecurity/trivy",
                "version": "0.50.0",
                "result": {
                    "SchemaVersion": 2,
                    "Results": [{"Target": "acme/app", "Vulnerabilities": vulnerabilities}],
                },
            },
        },
    });
    let payload =
        base64::engine::general_purpose::STANDARD.encode(serde_json::to_vec(&statement).unwrap());
    serde_json::to_vec(&serde_json::json!({
        "payloadType": "application/vnd.in-toto+json",
        "payload": payload,
        "signatures": [{"keyid": "", "sig": "MEUC"}],
    }))
    .unwrap()
}

const VULN_PREDICATE: &str = "https://cosign.sigstore.dev/attestation/vuln/v1";

/// `acme/app` with v1 carrying a Trivy report (1 critical, 3 high, 2 medium, as cosign
/// attests it), v2 a report with no findings, v3 a report whose envelope is not JSON.
fn scanned_source() -> (Arc<MemorySource>, [Digest; 3]) {
    let mut s = MemorySource::new("scanned");
    let image = |created: &str| ImageSpec::new("linux", "amd64", created).layer(1000, "ADD x /");
    let v1 = s.add_image(&image("2025-05-01T00:00:00Z"));
    let v2 = s.add_image(&image("2025-05-02T00:00:00Z"));
    let v3 = s.add_image(&image("2025-05-03T00:00:00Z"));
    let report_v1 = trivy_attestation(
        &v1,
        &["CRITICAL", "HIGH", "HIGH", "HIGH", "MEDIUM", "MEDIUM"],
    );
    let report_v2 = trivy_attestation(&v2, &[]);
    let att_v1 = s.add_cosign_attestation(&[(VULN_PREDICATE, report_v1.as_slice())]);
    let att_v2 = s.add_cosign_attestation(&[(VULN_PREDICATE, report_v2.as_slice())]);
    let att_v3 = s.add_cosign_attestation(&[(VULN_PREDICATE, b"not json".as_slice())]);
    let att = |d: &Digest| format!("sha256-{}.att", d.hex());
    let s = s
        .tag("acme/app", &["v1"], &v1)
        .tag("acme/app", &["v2"], &v2)
        .tag("acme/app", &["v3"], &v3)
        .tag("acme/app", &[att(&v1).as_str()], &att_v1)
        .tag("acme/app", &[att(&v2).as_str()], &att_v2)
        .tag("acme/app", &[att(&v3).as_str()], &att_v3);
    (Arc::new(s), [v1, v2, v3])
}

fn blob_fetches(source: &MemorySource) -> usize {
    source.fetches() - source.manifest_fetches()
}

/// The ATTACHED cell of `tag`'s row as drawn.
fn drawn_row(app: &App, tag: &str) -> String {
    let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(140, 20)).unwrap();
    t.draw(|f| draw::draw(app, f)).unwrap();
    let screen = format!("{}", t.backend());
    screen
        .lines()
        .find(|l| l.contains(&format!(" {tag} ")))
        .unwrap_or_else(|| panic!("no row {tag} in:\n{screen}"))
        .to_string()
}

#[tokio::test]
async fn a_vulnerability_report_shows_its_counts_by_severity_and_is_read_once() {
    let (source, [v1, v2, v3]) = scanned_source();
    let entries = vec![entry("scanned", Ok(source.clone() as Arc<dyn Source>))];
    let mut app = App::new(entries, true, now(), Theme::PLAIN);
    app.update(Action::Resize {
        width: 140,
        height: 20,
    });
    let effects = app.start();
    run_until_idle(&mut app, effects).await;
    let scanned = blob_fetches(&source);
    let effects = app.update(Action::Open);
    assert_eq!(kinds(&app).last(), Some(&ViewKind::Tags));
    // The reports are read as a worker effect, each once, after the attachments are known.
    let reads: Vec<&Effect> = effects
        .iter()
        .filter(|e| matches!(e, Effect::ReadVulnerabilityReports { .. }))
        .collect();
    assert_eq!(reads.len(), 1, "{effects:?}");
    let Effect::ReadVulnerabilityReports { reports, .. } = reads[0] else {
        unreachable!()
    };
    assert_eq!(reports.len(), 3, "one per report: {reports:?}");
    {
        // Unread, the cell says only that a report is attached.
        let v = tags_view(&app);
        assert_eq!(v.attached[&v1].cell(), "vuln");
    }
    run_until_idle(&mut app, effects).await;
    assert_eq!(
        blob_fetches(&source) - scanned,
        3,
        "one blob per report (the scan read the attestations' manifests, not their layers)"
    );

    let v = tags_view(&app);
    assert_eq!(v.attached[&v1].cell(), "vuln 1C 3H 2M");
    assert_eq!(
        v.attached[&v2].cell(),
        "vuln 0",
        "a report without findings"
    );
    assert_eq!(v.attached[&v3].cell(), "vuln", "an unreadable report");
    assert!(
        drawn_row(&app, "v1")
            .trim_matches('"')
            .trim_end()
            .ends_with("vuln 1C 3H 2M"),
        "{}",
        drawn_row(&app, "v1")
    );

    // Drawing again and later updates ask for nothing; leaving and opening the list again
    // reads the reports through the session's documents: no blob is fetched again.
    let read = blob_fetches(&source);
    drawn_row(&app, "v1");
    let effects = app.update(Action::Tick);
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::ReadVulnerabilityReports { .. })),
        "{effects:?}"
    );
    let effects = app.update(Action::Back);
    run_until_idle(&mut app, effects).await;
    let effects = app.update(Action::Open);
    run_until_idle(&mut app, effects).await;
    assert_eq!(tags_view(&app).attached[&v1].cell(), "vuln 1C 3H 2M");
    assert_eq!(blob_fetches(&source), read, "no blob read again");
}

#[tokio::test]
async fn the_configured_referrers_repository_is_searched_too() {
    let source = Arc::new(fixtures::attached());
    let entries = vec![entry("attached", Ok(source as Arc<dyn Source>))];
    let repos = [("attached".to_string(), repo("team/sigs"))]
        .into_iter()
        .collect();
    let mut app = App::new(entries, true, now(), Theme::PLAIN).with_referrers_repositories(repos);
    app.update(Action::Resize {
        width: 140,
        height: 20,
    });
    let effects = app.start();
    run_until_idle(&mut app, effects).await;
    let effects = app.update(Action::Open);
    run_until_idle(&mut app, effects).await;
    match app.update(Action::OpenReferrers).as_slice() {
        [Effect::FindReferrers { also_in, .. }] => assert_eq!(*also_in, [repo("team/sigs")]),
        other => panic!("expected FindReferrers, got {other:?}"),
    }
}
