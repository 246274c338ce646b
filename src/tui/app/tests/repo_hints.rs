//! The repository's size hints from the drift view: `w` asks a worker for what
//! `regatta hints --repo` computes (every tag by the digest the scan resolved, against the
//! drift's bases), the view shows the reading's progress on its first line and then the
//! very lines the CLI prints, and leaving it aborts the worker. The image marked with `b` is
//! the drift's named base, as `--base` names it to the CLI.

use super::files::{listed, lower, upper};
use super::*;
use crate::analysis::chains::tag_chains;
use crate::layers::drift::{Candidate, TagChain, drift};
use crate::layers::hints::hints;
use crate::layers::repo_hints::{RepoHints, TagHints};
use crate::layers::select::select_image;
use crate::present::drift::drift_lines;
use crate::present::layers::reading_line;
use crate::present::repo_hints::repo_hints_lines;
use crate::tui::memory::run_until_idle;
use crate::tui::views::drift::DriftView;

/// The demo app on `repo_name`'s drift, the whole registry scanned.
async fn in_drift_of(repo_name: &str) -> App {
    let (mut app, effects) = demo_app(true);
    run_until_idle(&mut app, effects).await;
    let effects = app.open_repo(0, repo(repo_name));
    run_until_idle(&mut app, effects).await;
    assert!(app.update(Action::OpenDrift).is_empty());
    assert_eq!(app.top().kind(), ViewKind::Drift);
    app
}

fn drift_view(app: &App) -> &DriftView {
    match app.top() {
        View::Drift(v) => v,
        other => panic!("not the drift: {:?}", other.kind()),
    }
}

fn screen(app: &App, height: u16) -> String {
    let backend = ratatui::backend::TestBackend::new(100, height);
    let mut t = ratatui::Terminal::new(backend).unwrap();
    t.draw(|f| draw::draw(app, f)).unwrap();
    let buffer = t.backend().buffer();
    (0..buffer.area.height)
        .map(|y| {
            let row: String = (0..buffer.area.width)
                .map(|x| buffer[(x, y)].symbol())
                .collect();
            row.trim_end().to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The image of `repo:tag` as the CLI chooses it (fetched, no `--platform`).
async fn image_of(repo_name: &str, tag_name: &str) -> crate::registry::image::PlatformImage {
    let tree = tree(repo_name, tag_name).await;
    select_image(&tree, None).unwrap().clone()
}

/// A report as `regatta hints --repo` makes one for team/api: the two images' hints from
/// real tarballs (v1.1.0 and main are one image), the drift from the tags' chains, one tag
/// that could not be read.
async fn team_api_report() -> RepoHints {
    let one = hints(&[listed(&lower())]);
    let two = hints(&[listed(&lower()), listed(&upper())]);
    let mut chains = Vec::new();
    let mut rows = Vec::new();
    for (name, h) in [("main", &two), ("v1.0.0", &one), ("v1.1.0", &two)] {
        let image = image_of("team/api", name).await;
        chains.push(TagChain::of(name, &image));
        rows.push(TagHints {
            tag: name.into(),
            digest: image.digest.to_string(),
            file_bytes: h.file_bytes,
            wasted_bytes: h.wasted_bytes,
            efficiency: h.efficiency,
            duplicate_bytes: h.duplicate_bytes,
        });
    }
    RepoHints {
        repository: "team/api".into(),
        tags: rows,
        wasted_bytes: one.wasted_bytes + two.wasted_bytes,
        duplicate_bytes: one.duplicate_bytes + two.duplicate_bytes,
        failures: vec![(
            "broken".into(),
            "cannot read layer sha256:ab: HTTP 500".into(),
        )],
        not_images: Vec::new(),
        drift: drift(&chains, &[]),
    }
}

#[test]
fn key_w_on_the_drift_asks_for_the_repository_hints() {
    let w = KeyEvent::new(KeyCode::Char('w'), KeyModifiers::NONE);
    let action = keymap::action_for(Mode::Normal, ViewKind::Drift, &w);
    assert!(matches!(action, Some(Action::OpenHints)));
    assert!(keymap::action_for(Mode::Normal, ViewKind::Tags, &w).is_none());
    let footer = keymap::hints(Mode::Normal, ViewKind::Drift);
    assert!(
        footer.contains(&("w".to_string(), "waste")),
        "the status bar names it: {footer:?}"
    );
}

#[tokio::test]
async fn w_asks_a_worker_shows_progress_then_the_clis_lines() {
    let mut app = in_drift_of("team/api").await;
    let effects = app.update(Action::OpenHints);
    let [
        Effect::RepoHints {
            req,
            entry: 0,
            repo: r,
            tags,
            candidates,
        },
    ] = effects.as_slice()
    else {
        panic!("expected RepoHints, got {effects:?}")
    };
    let req = *req;
    assert_eq!(*r, repo("team/api"));
    assert!(candidates.is_empty(), "no base marked: inferred");
    // Every tag the scan listed, by the digest it resolved (its image is in memory).
    let model = &app.storage(0).unwrap().model;
    let scanned: Vec<_> = model.repos[&repo("team/api")]
        .tags
        .iter()
        .map(|(t, d)| (t.clone(), ManifestRef::Digest(d.clone().unwrap())))
        .collect();
    assert_eq!(*tags, scanned);
    assert_eq!(tags.len(), 3);
    assert!(app.top().is_loading());
    assert_eq!(app.top().loads(), [req]);

    // Tags being resolved: no total yet; the drift stays below.
    app.update(Action::RepoHintsProgress {
        req,
        read: 0,
        total: 0,
        rate: 0,
    });
    let shown = screen(&app, 16);
    assert!(
        shown.contains("the repository's size hints: reading the tags' images"),
        "{shown}"
    );
    assert!(shown.contains("Base images:"), "{shown}");
    let total = 9 * 1024 * 1024;
    app.update(Action::RepoHintsProgress {
        req,
        read: total / 3,
        total,
        rate: 2048,
    });
    let shown = screen(&app, 16);
    assert!(
        shown.contains(&reading_line(total / 3, total, 2048)),
        "{shown}"
    );

    let report = team_api_report().await;
    app.update(Action::RepoHintsBuilt {
        req,
        result: Ok(Arc::new(report.clone())),
    });
    assert!(!app.top().is_loading());
    let lines = &drift_view(&app).page.lines;
    let cli = repo_hints_lines(&report);
    assert_eq!(lines[..cli.len()], cli[..], "the CLI's lines, unchanged");
    assert_eq!(
        lines[cli.len()..],
        [
            "",
            "Not read (1):",
            "  team/api:broken: cannot read layer sha256:ab: HTTP 500"
        ],
        "then what the CLI prints as warnings"
    );
    assert!(
        matches!(app.message(), Some(Message::Error(m)) if m.contains("1 tag could not be read")),
        "{:?}",
        app.message()
    );
    let shown = screen(&app, 16);
    assert!(shown.contains(cli[0].trim_end()), "{shown}");
    assert!(shown.contains(cli[1].trim_end()), "{shown}");
}

#[tokio::test]
async fn leaving_aborts_the_worker_and_a_late_result_is_dropped() {
    let mut app = in_drift_of("team/api").await;
    let req = req_of(&app.update(Action::OpenHints));
    // A second w while it runs starts nothing.
    assert!(app.update(Action::OpenHints).is_empty());
    assert_eq!(app.update(Action::Back), [Effect::Abort(vec![req])]);
    assert_eq!(app.top().kind(), ViewKind::Tags);
    app.update(Action::RepoHintsProgress {
        req,
        read: 1,
        total: 2,
        rate: 1,
    });
    app.update(Action::RepoHintsBuilt {
        req,
        result: Ok(Arc::new(team_api_report().await)),
    });
    assert_eq!(app.top().kind(), ViewKind::Tags);
    assert!(app.stack().iter().all(|v| !v.loads().contains(&req)));
}

#[tokio::test]
async fn a_worker_that_fails_says_why_above_the_drift() {
    let mut app = in_drift_of("team/api").await;
    let req = req_of(&app.update(Action::OpenHints));
    app.update(Action::RepoHintsBuilt {
        req,
        result: Err("the files of a layer are read from a registry".into()),
    });
    let shown = screen(&app, 16);
    assert!(
        shown.contains(
            "cannot read the tags' layers: the files of a layer are read from a registry"
        ),
        "{shown}"
    );
    assert!(shown.contains("Base images:"), "{shown}");
}

#[tokio::test]
async fn the_marked_base_is_the_drifts_named_base() {
    let (mut app, effects) = demo_app(true);
    run_until_idle(&mut app, effects).await;
    // b on library/alpine:3.21.
    let effects = app.open_repo(0, repo("library/alpine"));
    run_until_idle(&mut app, effects).await;
    app.update(Action::Filter);
    for c in "3.21".chars() {
        app.update(Action::FilterChar(c));
    }
    app.update(Action::FilterKeep);
    app.update(Action::MarkBase);
    app.update(Action::Back);
    let effects = app.open_repo(0, repo("team/api"));
    run_until_idle(&mut app, effects).await;
    assert!(app.update(Action::OpenDrift).is_empty());
    assert!(
        matches!(app.message(), Some(Message::Info(m))
            if m == "drift against the base library/alpine:3.21 (marked with b)"),
        "{:?}",
        app.message()
    );
    // What `regatta hints team/api --repo --base library/alpine:3.21` works out.
    let base = image_of("library/alpine", "3.21").await;
    let candidate = Candidate {
        reference: "library/alpine:3.21".into(),
        layers: base
            .manifest
            .layers
            .iter()
            .map(|l| l.digest.clone())
            .collect(),
    };
    let (chains, _) = tag_chains(&app.storage(0).unwrap().model, &repo("team/api"));
    let cli = drift(&chains, std::slice::from_ref(&candidate));
    assert!(
        cli.tags.iter().all(|t| t
            .base
            .as_ref()
            .is_some_and(|b| b.names == ["library/alpine:3.21"])),
        "every team/api image is built on alpine 3.21: {cli:?}"
    );
    assert_eq!(drift_view(&app).page.lines, drift_lines(&cli));
    // The repository's hints are worked out against the same base.
    let effects = app.update(Action::OpenHints);
    let [Effect::RepoHints { candidates, .. }] = effects.as_slice() else {
        panic!("expected RepoHints, got {effects:?}")
    };
    assert_eq!(*candidates, [candidate]);

    // With no base marked, the status line says the bases are inferred.
    let (mut app, effects) = demo_app(true);
    run_until_idle(&mut app, effects).await;
    let effects = app.open_repo(0, repo("team/api"));
    run_until_idle(&mut app, effects).await;
    app.update(Action::OpenDrift);
    assert!(
        matches!(app.message(), Some(Message::Info(m)) if m.contains("bases inferred")),
        "{:?}",
        app.message()
    );
}

#[tokio::test]
async fn the_repository_hints_on_screen() {
    let mut app = in_drift_of("team/api").await;
    let req = req_of(&app.update(Action::OpenHints));
    app.update(Action::RepoHintsBuilt {
        req,
        result: Ok(Arc::new(team_api_report().await)),
    });
    insta::assert_snapshot!("repo_hints", screen(&app, 24));
}
