//! Every screen at a fixed size, drawn on a TestBackend from the in-memory fixture and a
//! fixed clock, compared with committed snapshots (tests/snapshots/).

use std::sync::Arc;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::{Color, Modifier};
use regatta::registry::RegistryError;
use regatta::tui::memory::{run_until_idle, shared};
use regatta::tui::{Action, App, RegistryEntry, Theme, draw, fixtures};

const WIDTH: u16 = 100;
const HEIGHT: u16 = 16;

fn entries() -> Vec<RegistryEntry> {
    let locked = fixtures::sample().with_ping(Err(RegistryError::Unauthorized {
        host: "locked.example".into(),
        detail: "no credentials for this registry".into(),
    }));
    vec![
        RegistryEntry {
            name: "demo".into(),
            location: "bundled demo".into(),
            source: Ok(shared(fixtures::sample())),
            notice: None,
            client: None,
        },
        RegistryEntry {
            name: "locked".into(),
            location: "https://locked.example".into(),
            source: Ok(Arc::new(locked)),
            notice: Some("TLS certificates are not verified (insecure = true)".into()),
            client: None,
        },
        RegistryEntry {
            name: "lab".into(),
            location: "/srv/oci-layout".into(),
            source: Err("/srv/oci-layout: no such directory".into()),
            notice: None,
            client: None,
        },
    ]
}

fn app(theme: Theme) -> App {
    let now = "2025-06-01T12:00:00Z".parse().expect("a timestamp");
    let mut app = App::new(entries(), false, now, theme);
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

async fn step(app: &mut App, action: Action) {
    let effects = app.update(action);
    run_until_idle(app, effects).await;
}

#[tokio::test]
async fn every_view() {
    let mut app = app(Theme::PLAIN);
    let effects = app.start();
    run_until_idle(&mut app, effects).await;
    insta::assert_snapshot!("registries", render(&app).backend());

    step(&mut app, Action::Open).await;
    insta::assert_snapshot!("repositories", render(&app).backend());

    step(&mut app, Action::MoveDown).await; // library/nginx
    step(&mut app, Action::Open).await;
    insta::assert_snapshot!("tags", render(&app).backend());

    step(&mut app, Action::SortNext).await; // by size
    insta::assert_snapshot!("tags_by_size", render(&app).backend());

    step(&mut app, Action::Last).await; // 1.26, the smaller index
    step(&mut app, Action::Open).await;
    insta::assert_snapshot!("manifest", render(&app).backend());

    step(&mut app, Action::Open).await; // linux/amd64
    insta::assert_snapshot!("layers", render(&app).backend());

    step(&mut app, Action::OpenConfig).await;
    insta::assert_snapshot!("config", render(&app).backend());
    step(&mut app, Action::PageDown).await;
    insta::assert_snapshot!("config_scrolled", render(&app).backend());

    step(&mut app, Action::ToggleHelp).await;
    let mut help = Terminal::new(TestBackend::new(WIDTH, 30)).expect("a test terminal");
    app.update(Action::Resize {
        width: WIDTH,
        height: 30,
    });
    help.draw(|f| draw(&app, f)).expect("a frame");
    insta::assert_snapshot!("help", help.backend());
}

#[tokio::test]
async fn repositories_sizes_fill_in_after_visiting_tags_and_filter_line() {
    let mut app = app(Theme::PLAIN);
    let effects = app.start();
    run_until_idle(&mut app, effects).await;
    step(&mut app, Action::Open).await;
    step(&mut app, Action::Last).await; // team/empty
    step(&mut app, Action::MoveUp).await; // team/api
    step(&mut app, Action::Open).await;
    step(&mut app, Action::Back).await;
    step(&mut app, Action::Filter).await;
    step(&mut app, Action::FilterChar('t')).await;
    step(&mut app, Action::FilterChar('a')).await;
    insta::assert_snapshot!("repositories_filtering", render(&app).backend());
}

#[test]
fn loading_states() {
    // Nothing has answered yet: registries are being checked, the list is loading.
    let now = "2025-06-01T12:00:00Z".parse().expect("a timestamp");
    let mut app = App::new(entries(), true, now, Theme::PLAIN);
    app.update(Action::Resize {
        width: WIDTH,
        height: 8,
    });
    app.start();
    let mut terminal = Terminal::new(TestBackend::new(WIDTH, 8)).expect("a test terminal");
    terminal.draw(|f| draw(&app, f)).expect("a frame");
    insta::assert_snapshot!("repositories_loading", terminal.backend());
}

#[tokio::test]
async fn no_color_uses_modifiers_only() {
    let mut app = app(Theme::PLAIN);
    let effects = app.start();
    run_until_idle(&mut app, effects).await;
    step(&mut app, Action::Open).await;
    let terminal = render(&app);
    let buffer = terminal.backend().buffer();
    for cell in buffer.content() {
        assert!(
            cell.fg == Color::Reset && cell.bg == Color::Reset,
            "coloured cell {cell:?}"
        );
    }
    // The selected row (first body row: y = 2) is reversed; the next is not.
    assert!(buffer[(1, 2)].modifier.contains(Modifier::REVERSED));
    assert!(!buffer[(1, 3)].modifier.contains(Modifier::REVERSED));

    let mut app = self::app(Theme::COLOR);
    let effects = app.start();
    run_until_idle(&mut app, effects).await;
    let terminal = render(&app);
    let buffer = terminal.backend().buffer();
    assert_eq!(buffer[(1, 2)].bg, Color::Blue, "the selection is coloured");
    // The state of the unauthorized registry is a warning colour.
    let row: String = (0..WIDTH).map(|x| buffer[(x, 3)].symbol()).collect();
    let x = row
        .find("unauthorized")
        .expect("the locked registry's state") as u16;
    assert_eq!(buffer[(x, 3)].fg, Color::Yellow);
    assert_eq!(
        buffer[(x - 2, 3)].fg,
        Color::Reset,
        "only the state is coloured"
    );
}
