//! The tag list of a repository where images carry signatures and SBOMs, and the referrers
//! view, drawn at a fixed size from the in-memory fixture (`fixtures::attached`) and a fixed
//! clock, compared with committed snapshots (tests/snapshots/). What each snapshot's comment
//! says it shows is asserted in code too.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use regatta::tui::memory::{run_until_idle, shared};
use regatta::tui::{Action, App, RegistryEntry, Theme, draw, fixtures};

const WIDTH: u16 = 120;
const HEIGHT: u16 = 14;

fn app() -> App {
    let now = "2025-06-01T12:00:00Z".parse().expect("a timestamp");
    let entries = vec![RegistryEntry {
        name: "attached".into(),
        location: "bundled fixture".into(),
        source: Ok(shared(fixtures::attached())),
        notice: None,
        client: None,
    }];
    let mut app = App::new(entries, true, now, Theme::PLAIN);
    app.update(Action::Resize {
        width: WIDTH,
        height: HEIGHT,
    });
    app
}

fn render(app: &App) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("a test terminal");
    terminal.draw(|f| draw(app, f)).expect("a frame");
    terminal
}

fn lines(terminal: &Terminal<TestBackend>) -> Vec<String> {
    let buffer = terminal.backend().buffer();
    let area = buffer.area;
    (0..area.height)
        .map(|y| {
            let row: String = (0..area.width).map(|x| buffer[(x, y)].symbol()).collect();
            row.trim_end().to_string()
        })
        .collect()
}

async fn step(app: &mut App, action: Action) {
    let effects = app.update(action);
    run_until_idle(app, effects).await;
}

/// The body rows (after the crumbs and the header) until the first empty one.
fn body(terminal: &Terminal<TestBackend>) -> Vec<String> {
    lines(terminal)
        .into_iter()
        .skip(2)
        .take_while(|l| !l.trim().is_empty())
        .collect()
}

#[tokio::test]
async fn the_tag_list_folds_attached_tags_and_the_toggle_shows_them() {
    let mut app = app();
    let effects = app.start();
    run_until_idle(&mut app, effects).await;
    step(&mut app, Action::Open).await; // acme/app
    let folded = render(&app);
    insta::assert_snapshot!("tags_attached_folded", folded.backend());
    let rows = body(&folded);
    assert_eq!(rows.len(), 3, "v1, v1.1, v2: {rows:#?}");
    assert!(lines(&folded)[0].ends_with("tags 6/6 · 3 attached folded"));
    assert!(lines(&folded)[1].contains("ATTACHED"));
    assert!(rows[0].contains("sig sbom +1"), "{}", rows[0]);
    assert!(!rows[2].contains("sig"), "v2 has nothing: {}", rows[2]);

    step(&mut app, Action::ToggleAttached).await;
    let shown = render(&app);
    insta::assert_snapshot!("tags_attached_shown", shown.backend());
    let rows = body(&shown);
    assert_eq!(rows.len(), 6, "{rows:#?}");
    // The tag column cuts `sha256-<hex>.sig` short; its kind says what it is.
    assert!(
        rows.iter()
            .any(|r| r.trim_start().starts_with("sha256-") && r.contains("cosign signature"))
    );
    assert_eq!(
        rows.iter()
            .filter(|r| r.contains("referrers index"))
            .count(),
        2
    );
}

#[tokio::test]
async fn the_referrers_view_is_a_tree_and_enter_opens_a_referrer() {
    let mut app = app();
    let effects = app.start();
    run_until_idle(&mut app, effects).await;
    step(&mut app, Action::Open).await; // acme/app, on v1
    step(&mut app, Action::OpenReferrers).await;
    let tree = render(&app);
    insta::assert_snapshot!("referrers_tree", tree.backend());
    let rows = body(&tree);
    assert_eq!(rows.len(), 4, "the subject and three referrers: {rows:#?}");
    assert!(rows[0].contains("image v1"), "{}", rows[0]);
    assert!(rows[1].contains("├── SBOM (SPDX)"), "{}", rows[1]);
    assert!(rows[1].contains("application/spdx+json"), "{}", rows[1]);
    assert!(
        rows[2].contains("│   └── Notation signature"),
        "{}",
        rows[2]
    );
    assert!(rows[3].contains("└── cosign signature"), "{}", rows[3]);
    assert!(lines(&tree)[0].contains("acme/app › v1 › referrers"));

    step(&mut app, Action::MoveDown).await; // the SBOM
    step(&mut app, Action::ToggleFold).await;
    let folded = render(&app);
    let rows = body(&folded);
    assert_eq!(rows.len(), 3, "{rows:#?}");
    assert!(
        rows[1].starts_with("+ ├── SBOM"),
        "a folded node is marked: {}",
        rows[1]
    );

    step(&mut app, Action::Open).await; // the SBOM's manifest and layers
    let layers = render(&app);
    assert!(
        lines(&layers)[0].contains("referrers › SBOM (SPDX)"),
        "{}",
        lines(&layers)[0]
    );
    assert!(
        lines(&layers).iter().any(|l| l.contains("spdx+json")),
        "{:#?}",
        lines(&layers)
    );
}
