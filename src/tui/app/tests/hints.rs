//! The size hints: `w` on an image's layers (or a platform) asks a worker for the hints of
//! all its layers, the view shows the reading's progress and then the very lines
//! `regatta hints` prints, and leaving it aborts the worker.

use std::collections::BTreeMap;

use super::files::{Spec, in_layers, listed, lower, upper};
use super::*;
use crate::layers::hints::hints;
use crate::present::layers::{hints_lines, percent};
use crate::present::size_exact;
use crate::tui::views::hints::HintsView;

fn hints_view(app: &App) -> &HintsView {
    match app.top() {
        View::Hints(v) => v,
        other => panic!("not the hints: {:?}", other.kind()),
    }
}

fn screen(app: &App) -> String {
    let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(100, 16)).unwrap();
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

/// Dive's wasted bytes and score worked out from the layer specs alone: every leaf path of
/// a layer counts its size (a whiteout of a file counts 0, an opaque marker nothing); a
/// path met in two layers wastes all its sizes; the score is the sum of each path's
/// smallest size over the sum of all sizes.
fn dive_truth(layers: &[Spec]) -> (u64, f64) {
    let mut sizes: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for spec in layers {
        for (path, content) in spec {
            let (Some(bytes), false) = (content, path.ends_with(".wh..wh..opq")) else {
                continue;
            };
            let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
            let (path, size) = match name.strip_prefix(".wh.") {
                Some(removed) => (format!("{dir}/{removed}"), 0),
                None => (path.to_string(), bytes.len() as u64),
            };
            sizes.entry(path).or_default().push(size);
        }
    }
    let wasted = sizes
        .values()
        .filter(|s| s.len() > 1)
        .map(|s| s.iter().sum::<u64>())
        .sum();
    let all: u64 = sizes.values().flatten().sum();
    let min: u64 = sizes.values().map(|s| *s.iter().min().unwrap()).sum();
    (wasted, min as f64 / all as f64)
}

#[test]
fn key_w_opens_the_hints_on_the_layers_and_platforms_views_only() {
    let w = KeyEvent::new(KeyCode::Char('w'), KeyModifiers::NONE);
    for kind in [ViewKind::Layers, ViewKind::Manifest] {
        let action = keymap::action_for(Mode::Normal, kind, &w);
        assert!(matches!(action, Some(Action::OpenHints)), "{kind:?}");
    }
    assert!(keymap::action_for(Mode::Normal, ViewKind::Repos, &w).is_none());
}

#[tokio::test]
async fn w_on_the_layers_asks_a_worker_shows_progress_then_the_cli_text() {
    let mut app = in_layers().await;
    let View::Layers(layers) = app.top() else {
        panic!()
    };
    let all = layers
        .rows
        .platform_image()
        .unwrap()
        .manifest
        .layers
        .clone();
    let total: u64 = all.iter().map(|l| l.size).sum();
    let effects = app.update(Action::OpenHints);
    let [
        Effect::ImageHints {
            req,
            entry: 0,
            repo: r,
            layers,
        },
    ] = effects.as_slice()
    else {
        panic!("expected ImageHints, got {effects:?}")
    };
    let req = *req;
    assert_eq!(*r, repo("library/nginx"));
    assert_eq!(*layers, all, "every layer of the image, bottom first");
    assert_eq!(app.top().kind(), ViewKind::Hints);
    assert!(hints_view(&app).is_loading());
    assert_eq!(app.crumbs().last().unwrap(), "hints");

    app.update(Action::HintsProgress {
        req,
        read: total / 4,
        rate: 1024,
    });
    let expected = crate::present::layers::reading_line(total / 4, total, 1024);
    assert!(screen(&app).contains(&expected), "{}", screen(&app));

    // The hints of two real tarballs, as `regatta hints` computes them.
    let specs = [lower(), upper()];
    let computed = hints(&[listed(&specs[0]), listed(&specs[1])]);
    app.update(Action::HintsBuilt {
        req,
        result: Ok(Arc::new(computed.clone())),
    });
    assert!(!hints_view(&app).is_loading());
    let v = hints_view(&app);
    assert_eq!(
        v.page.lines,
        hints_lines(&computed),
        "the CLI's lines, unchanged"
    );
    let (wasted, efficiency) = dive_truth(&specs);
    assert_eq!(computed.wasted_bytes, wasted);
    assert_eq!(percent(computed.efficiency), percent(efficiency));
    let shown = screen(&app);
    assert!(
        shown.contains(&format!("Efficiency:   {}", percent(efficiency))),
        "{shown}"
    );
    assert!(
        shown.contains(&format!("Wasted:       {}", size_exact(wasted))),
        "{shown}"
    );
    assert!(shown.contains("usr/bin/app"), "{shown}");

    // Scrolling stops at the last page.
    app.update(Action::Last);
    let page = app.page();
    let v = hints_view(&app);
    assert_eq!(v.page.scroll, v.page.lines.len().saturating_sub(page));
    assert!(v.page.scroll > 0, "the page is longer than the screen");
    app.update(Action::First);
    assert_eq!(hints_view(&app).page.scroll, 0);
}

#[tokio::test]
async fn leaving_the_hints_aborts_the_worker_and_a_late_result_is_dropped() {
    let mut app = in_layers().await;
    let effects = app.update(Action::OpenHints);
    let req = req_of(&effects);
    assert_eq!(app.update(Action::Back), [Effect::Abort(vec![req])]);
    assert_eq!(app.top().kind(), ViewKind::Layers);
    app.update(Action::HintsProgress {
        req,
        read: 1,
        rate: 1,
    });
    app.update(Action::HintsBuilt {
        req,
        result: Ok(Arc::new(hints(&[listed(&lower())]))),
    });
    assert_eq!(app.top().kind(), ViewKind::Layers);
    assert!(app.stack().iter().all(|v| !v.loads().contains(&req)));
}

#[tokio::test]
async fn failed_hints_say_why() {
    let mut app = in_layers().await;
    let effects = app.update(Action::OpenHints);
    let req = req_of(&effects);
    app.update(Action::HintsBuilt {
        req,
        result: Err("layer sha256:ab is truncated".into()),
    });
    assert!(screen(&app).contains("cannot read the layers: layer sha256:ab is truncated"));
    assert!(matches!(app.message(), Some(Message::Error(_))));
}

#[tokio::test]
async fn on_the_platforms_view_w_opens_the_hints_of_the_selected_platform() {
    let (mut app, _) = demo_app(false);
    let tree = tree("library/nginx", "latest").await;
    let view = crate::tui::views::manifest::ManifestView::new(
        0,
        repo("library/nginx"),
        "latest".into(),
        tree.clone(),
    );
    app.stack.push(View::Manifest(view));
    app.update(Action::First);
    app.update(Action::MoveDown);
    let effects = app.update(Action::OpenHints);
    let [
        Effect::ImageHints {
            layers, repo: r, ..
        },
    ] = effects.as_slice()
    else {
        panic!("expected ImageHints, got {effects:?}")
    };
    assert_eq!(*r, repo("library/nginx"));
    assert_eq!(*layers, tree.images[1].manifest.layers);
    assert_eq!(app.crumbs().last().unwrap(), "hints linux/arm64/v8");
}
