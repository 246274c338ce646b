//! A tag list of 100,000 rows: only the visible rows are formatted, and filtering and
//! sorting work on the whole list.

use std::time::Instant;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use regatta::tui::columns::TAG_COLUMNS;
use regatta::tui::memory::{run_until_idle, shared};
use regatta::tui::views::View;
use regatta::tui::widgets::table::{TableState, render_table};
use regatta::tui::{Action, App, RegistryEntry, Theme, draw, fixtures};

const ROWS: usize = 100_000;

#[test]
fn only_visible_rows_are_formatted() {
    let mut state = TableState::default();
    state.set_len(ROWS, 37);
    state.select(54_321, 37);
    let mut terminal = Terminal::new(TestBackend::new(120, 38)).expect("a test terminal");
    let mut asked = Vec::new();
    terminal
        .draw(|f| {
            render_table(f, f.area(), TAG_COLUMNS, &state, &Theme::PLAIN, "", |p| {
                asked.push(p);
                vec![String::new(), format!("row-{p}")]
            })
        })
        .expect("a frame");
    assert_eq!(asked.len(), 37, "one call per visible row");
    assert!(asked.contains(&54_321));
    let screen = terminal.backend().to_string();
    assert!(screen.contains("row-54321"));
    assert!(!screen.contains("row-0 "));
}

async fn big_tag_list() -> App {
    let entry = RegistryEntry {
        name: "large".into(),
        location: "memory".into(),
        source: Ok(shared(fixtures::large(ROWS))),
        notice: None,
        client: None,
    };
    let now = "2025-12-01T00:00:00Z".parse().expect("a timestamp");
    let mut app = App::new(vec![entry], true, now, Theme::PLAIN);
    app.update(Action::Resize {
        width: 120,
        height: 40,
    });
    let effects = app.start();
    run_until_idle(&mut app, effects).await;
    let effects = app.update(Action::Open);
    run_until_idle(&mut app, effects).await;
    app
}

fn tags(app: &App) -> &regatta::tui::views::tags::TagsView {
    match app.top() {
        View::Tags(v) => v,
        other => panic!("expected the tag list, got {:?}", other.kind()),
    }
}

/// The tag shown at `position`.
fn tag_at(app: &App, position: usize) -> String {
    let v = tags(app);
    let row = v.listing.row_at(position).expect("a row at that position");
    v.rows.get(row).expect("a row").tag.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_thousand_tags_filter_and_sort() {
    let mut app = big_tag_list().await;
    assert_eq!(tags(&app).progress(), format!("tags {ROWS}/{ROWS}"));

    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("a test terminal");
    let start = Instant::now();
    terminal.draw(|f| draw(&app, f)).expect("a frame");
    println!("one frame of {ROWS} tags: {:?}", start.elapsed());
    assert!(terminal.backend().to_string().contains("build-000000"));

    // Sorting by size puts the largest image first (every 8th tag is on it) and the
    // smallest last.
    app.update(Action::SortNext);
    assert_eq!(tag_at(&app, 0), "build-000007");
    assert_eq!(tag_at(&app, ROWS - 1), "build-099992");
    app.update(Action::SortReverse);
    assert_eq!(tag_at(&app, 0), "build-000000");
    // Age sorts newest first; the images are a month apart.
    app.update(Action::SortNext);
    assert_eq!(tag_at(&app, 0), "build-000007");

    // Jump to the end, then filter: the selection is clamped to what is left.
    app.update(Action::Last);
    assert_eq!(tags(&app).listing.table.selected(), Some(ROWS - 1));
    app.update(Action::Filter);
    for c in "099999".chars() {
        app.update(Action::FilterChar(c));
    }
    let v = tags(&app);
    assert_eq!(v.listing.shown(), 1);
    assert_eq!(v.listing.table.selected(), Some(0));
    assert_eq!(tag_at(&app, 0), "build-099999");
    // Widening the filter again searches the whole list.
    app.update(Action::FilterBackspace);
    let expected = (0..ROWS)
        .filter(|i| is_subsequence("09999", &format!("build-{i:06}")))
        .count();
    assert_eq!(tags(&app).listing.shown(), expected);
    app.update(Action::FilterClear);
    assert_eq!(tags(&app).listing.shown(), ROWS);

    let start = Instant::now();
    terminal.draw(|f| draw(&app, f)).expect("a frame");
    println!("one frame after sorting: {:?}", start.elapsed());
}

fn is_subsequence(needle: &str, haystack: &str) -> bool {
    let mut chars = haystack.chars();
    needle.chars().all(|n| chars.any(|h| h == n))
}
