//! Text from a registry cannot drive the terminal: escape sequences and control characters
//! in labels, build steps, tags and error sentences are drawn as visible placeholders.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use regatta::registry::RegistryError;
use regatta::sanitize::PLACEHOLDER;
use regatta::tui::columns::{Field, TAG_COLUMNS, TagLine, tag_row};
use regatta::tui::memory::{run_until_idle, shared};
use regatta::tui::widgets::table::{TableState, render_table};
use regatta::tui::{Action, App, RegistryEntry, Theme, draw, fixtures};

fn screen(terminal: &Terminal<TestBackend>) -> String {
    let buffer = terminal.backend().buffer();
    let mut text = String::new();
    for y in 0..buffer.area.height {
        for x in 0..buffer.area.width {
            text.push_str(buffer[(x, y)].symbol());
        }
        text.push('\n');
    }
    text
}

fn assert_inert(text: &str) {
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "a control character reached the buffer:\n{text:?}"
    );
}

async fn step(app: &mut App, action: Action) {
    let effects = app.update(action);
    run_until_idle(app, effects).await;
}

#[tokio::test]
async fn hostile_labels_and_history_render_as_placeholders() {
    let entry = RegistryEntry {
        name: "hostile".into(),
        location: "memory".into(),
        source: Ok(shared(fixtures::hostile())),
        notice: None,
        client: None,
    };
    let now = "2025-06-01T00:00:00Z".parse().expect("a timestamp");
    let mut app = App::new(vec![entry], true, now, Theme::PLAIN);
    app.update(Action::Resize {
        width: 100,
        height: 30,
    });
    let effects = app.start();
    run_until_idle(&mut app, effects).await;
    step(&mut app, Action::Open).await; // x/evil
    step(&mut app, Action::Open).await; // v1 -> layers
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).expect("a test terminal");
    terminal.draw(|f| draw(&app, f)).expect("a frame");
    let layers = screen(&terminal);
    assert_inert(&layers);
    assert!(
        layers.contains(&format!("RUN echo {PLACEHOLDER}pwned")),
        "{layers}"
    );

    step(&mut app, Action::OpenConfig).await;
    terminal.draw(|f| draw(&app, f)).expect("a frame");
    let config = screen(&terminal);
    assert_inert(&config);
    assert!(
        config.contains(&format!("evil={PLACEHOLDER}cleared")),
        "{config}"
    );
    assert!(
        config.contains(&format!("bell=ring{PLACEHOLDER}ring")),
        "{config}"
    );
}

#[test]
fn a_tag_with_a_bell_renders_as_a_placeholder() {
    // Tags parsed by the client cannot hold one, but the row formatter must not rely on it.
    let now = "2025-06-01T00:00:00Z".parse().expect("a timestamp");
    let line = TagLine {
        marked: false,
        tag: "v1\u{7}",
        digest: None,
        size: Field::Loading,
        created: None,
        platforms: "",
        shared: 0,
    };
    let mut state = TableState::default();
    state.set_len(1, 3);
    let mut terminal = Terminal::new(TestBackend::new(60, 4)).expect("a test terminal");
    terminal
        .draw(|f| {
            render_table(f, f.area(), TAG_COLUMNS, &state, &Theme::PLAIN, "", |_| {
                tag_row(&line, now)
            })
        })
        .expect("a frame");
    let text = screen(&terminal);
    assert_inert(&text);
    assert!(text.contains(&format!("v1{PLACEHOLDER}")), "{text}");
}

#[tokio::test]
async fn error_sentences_and_registry_names_are_sanitized() {
    let entry = RegistryEntry {
        name: "evil\u{1b}[2J".into(),
        location: "memory".into(),
        source: Ok(shared(fixtures::sample())),
        notice: Some("notice\u{1b}]52;c;aGk=\u{7}".into()),
        client: None,
    };
    let now = "2025-06-01T00:00:00Z".parse().expect("a timestamp");
    let mut app = App::new(vec![entry], true, now, Theme::PLAIN);
    app.update(Action::Resize {
        width: 100,
        height: 10,
    });
    app.start();
    let error = RegistryError::Status {
        status: 400,
        url: "http://x/v2/_catalog".into(),
        detail: "bad \u{1b}[31mred\u{1b}[0m".into(),
    };
    // The scan, which lists the repositories, is request 2 (request 1 was the ping).
    app.update(Action::ScanFinished {
        req: regatta::tui::ReqId(2),
        result: Err(error),
    });
    let mut terminal = Terminal::new(TestBackend::new(100, 10)).expect("a test terminal");
    terminal.draw(|f| draw(&app, f)).expect("a frame");
    let text = screen(&terminal);
    assert_inert(&text);
    assert!(
        text.contains(&format!("bad {PLACEHOLDER}red{PLACEHOLDER}")),
        "{text}"
    );
    assert!(text.contains(&format!("evil{PLACEHOLDER}")), "{text}");
    step(&mut app, Action::Back).await;
    terminal.draw(|f| draw(&app, f)).expect("a frame");
    let text = screen(&terminal);
    assert_inert(&text);
    assert!(text.contains(&format!("notice{PLACEHOLDER}")), "{text}");
}
