//! Rendering figures for the TUI, printed (not asserted): `cargo bench --bench tui_render`.
//!
//! (a) one frame of a 100,000-row tag list on a TestBackend (target: under 5 ms);
//! (b) App construction to the first frame with an in-memory source, both the immediate
//!     loading frame and the first frame that shows the repositories.

use std::time::{Duration, Instant};

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use regatta::tui::memory::{run_until_idle, shared};
use regatta::tui::{Action, App, RegistryEntry, Theme, draw, fixtures};

const ROWS: usize = 100_000;
const WIDTH: u16 = 120;
const HEIGHT: u16 = 40;
const FRAMES: usize = 300;

fn entry(source: regatta::tui::memory::MemorySource) -> RegistryEntry {
    RegistryEntry {
        name: "bench".into(),
        location: "memory".into(),
        source: Ok(shared(source)),
        notice: None,
        client: None,
    }
}

fn now() -> jiff::Timestamp {
    "2025-12-01T00:00:00Z"
        .parse()
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

fn summary(label: &str, mut times: Vec<Duration>) {
    times.sort();
    let total: Duration = times.iter().sum();
    let mean = total / times.len().max(1) as u32;
    let median = times[times.len() / 2];
    let p99 = times[(times.len() * 99 / 100).min(times.len() - 1)];
    println!(
        "{label}: median {median:?}, mean {mean:?}, p99 {p99:?}, min {:?} ({} runs)",
        times[0],
        times.len()
    );
}

fn large_frame(rt: &tokio::runtime::Runtime) {
    let mut app = App::new(
        vec![entry(fixtures::large(ROWS))],
        true,
        now(),
        Theme::COLOR,
    );
    app.update(Action::Resize {
        width: WIDTH,
        height: HEIGHT,
    });
    rt.block_on(async {
        let effects = app.start();
        run_until_idle(&mut app, effects).await;
        let effects = app.update(Action::Open);
        run_until_idle(&mut app, effects).await;
    });
    println!("tag list: {}", app.top().progress().unwrap_or_default());
    let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("a test terminal");
    // Move the selection by a page before each frame so every frame draws new rows.
    let mut times = Vec::with_capacity(FRAMES);
    for _ in 0..FRAMES {
        app.update(Action::PageDown);
        let start = Instant::now();
        terminal.draw(|f| draw(&app, f)).expect("a frame");
        times.push(start.elapsed());
    }
    summary("(a) frame, 100,000-row tag list sorted by name", times);

    app.update(Action::SortNext); // size: rows jump around the whole list
    let mut times = Vec::with_capacity(FRAMES);
    for _ in 0..FRAMES {
        app.update(Action::PageDown);
        let start = Instant::now();
        terminal.draw(|f| draw(&app, f)).expect("a frame");
        times.push(start.elapsed());
    }
    summary("(a) frame, 100,000-row tag list sorted by size", times);

    let start = Instant::now();
    app.update(Action::Filter);
    for c in "build-0999".chars() {
        app.update(Action::FilterChar(c));
    }
    let typed = start.elapsed();
    println!("    typing a 10-character filter over {ROWS} rows: {typed:?} in all");
}

fn first_frame(rt: &tokio::runtime::Runtime) {
    const RUNS: usize = 50;
    let mut immediate = Vec::with_capacity(RUNS);
    let mut loaded = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let source = fixtures::sample();
        let start = Instant::now();
        let mut app = App::new(vec![entry(source)], true, now(), Theme::COLOR);
        app.update(Action::Resize {
            width: WIDTH,
            height: HEIGHT,
        });
        let effects = app.start();
        let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("a test terminal");
        terminal.draw(|f| draw(&app, f)).expect("a frame");
        immediate.push(start.elapsed());
        rt.block_on(run_until_idle(&mut app, effects));
        terminal.draw(|f| draw(&app, f)).expect("a frame");
        loaded.push(start.elapsed());
    }
    summary("(b) App::new to first frame (loading)", immediate);
    summary(
        "(b) App::new to first frame with repositories and tag counts",
        loaded,
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    large_frame(&rt);
    first_frame(&rt);
}
