//! Rendering figures for the TUI, printed (not asserted): `cargo bench --bench tui_render`.
//!
//! (a) one frame of a 100,000-row tag list on a TestBackend (target: under 5 ms);
//! (b) App construction to the first frame with an in-memory source, both the immediate
//!     loading frame and the first frame that shows the repositories;
//! (c) the same on the bundled demo (an OCI layout on disk), up to the frame with the
//!     storage scan finished;
//! (d) recomputing "would free" (and the storage numbers) over a model of 100,000 tags.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use regatta::analysis::model::{ManifestBody, ManifestInfo, ScanEvent};
use regatta::registry::{Digest, RepoName, Source, Tag};
use regatta::tui::memory::{run_until_idle, shared};
use regatta::tui::storage::Storage;
use regatta::tui::views::View;
use regatta::tui::workers::Workers;
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
        "(b) App::new to first frame with repositories, tag counts and the storage scan",
        loaded,
    );
}

/// The bundled demo as the CLI opens it when there is no config.
fn demo_entry() -> RegistryEntry {
    let demo = regatta::demo::open_demo().expect("the bundled demo");
    let source: Arc<dyn Source> = Arc::new(demo);
    RegistryEntry {
        name: "demo".into(),
        location: "bundled demo".into(),
        source: Ok(source),
        notice: None,
        client: None,
    }
}

fn demo_first_frame(rt: &tokio::runtime::Runtime) {
    const RUNS: usize = 20;
    let mut immediate = Vec::with_capacity(RUNS);
    let mut listed = Vec::with_capacity(RUNS);
    let mut scanned = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let start = Instant::now();
        let mut app = App::new(vec![demo_entry()], true, now(), Theme::COLOR);
        app.update(Action::Resize {
            width: WIDTH,
            height: HEIGHT,
        });
        let effects = app.start();
        let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("a test terminal");
        terminal.draw(|f| draw(&app, f)).expect("a frame");
        immediate.push(start.elapsed());
        // The real loop, without a terminal: draw after each batch, note when the list is in
        // and when the scan is done.
        rt.block_on(async {
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            let mut workers = Workers::new(tx);
            for effect in effects {
                workers.start(effect, &app);
            }
            let mut seen_list = false;
            while let Some(action) = rx.recv().await {
                let mut batch = vec![action];
                while let Ok(more) = rx.try_recv() {
                    batch.push(more);
                }
                for effect in app.update_batch(batch) {
                    workers.start(effect, &app);
                }
                terminal.draw(|f| draw(&app, f)).expect("a frame");
                let listed_now = matches!(app.top(), View::Repos(v) if v.listed);
                if listed_now && !seen_list {
                    seen_list = true;
                    listed.push(start.elapsed());
                }
                if app.storage(0).is_some_and(|s| !s.is_scanning()) && seen_list {
                    scanned.push(start.elapsed());
                    break;
                }
            }
        });
    }
    summary("(c) demo: App::new to first frame (loading)", immediate);
    summary(
        "(c) demo: App::new to first frame with the repositories",
        listed,
    );
    summary(
        "(c) demo: App::new to the frame with the scan finished",
        scanned,
    );
}

/// A model of `repos` x `per_repo` tags; every 4 tags share an image (aliases), images of a
/// repository share a layer, and every 10 repositories share a base layer.
fn big_model(repos: usize, per_repo: usize) -> Storage {
    let digest = |s: String| Digest::sha256_of(s.as_bytes());
    let mut storage = Storage::default();
    for r in 0..repos {
        let repo = RepoName::parse(&format!("team{}/app{r}", r % 10)).expect("a name");
        let tags: Vec<Tag> = (0..per_repo)
            .map(|t| Tag::parse(&format!("build-{t:06}")).expect("a tag"))
            .collect();
        storage.apply(ScanEvent::Tags {
            repo: repo.clone(),
            tags: tags.clone(),
        });
        for (t, tag) in tags.into_iter().enumerate() {
            let image = t / 4;
            let manifest = digest(format!("manifest {r} {image}"));
            if t % 4 == 0 {
                storage.apply(ScanEvent::Manifest {
                    digest: manifest.clone(),
                    info: ManifestInfo {
                        media_type: "application/vnd.oci.image.manifest.v1+json".into(),
                        doc_size: 1_000,
                        subject: None,
                        kind: regatta::analysis::artifact::ArtifactKind::Image,
                        body: ManifestBody::Image {
                            config: (digest(format!("config {r} {image}")), 2_000),
                            layers: vec![
                                (digest(format!("base {}", r % 10)), 30_000_000),
                                (digest(format!("deps {r}")), 10_000_000),
                                (digest(format!("app {r} {image}")), 1_000_000 + image as u64),
                            ],
                            platform: None,
                        },
                    },
                });
            }
            storage.apply(ScanEvent::Resolved {
                repo: repo.clone(),
                tag,
                digest: manifest,
            });
        }
    }
    storage
}

fn would_free() {
    const REPOS: usize = 100;
    const PER_REPO: usize = 1_000;
    let start = Instant::now();
    let mut storage = big_model(REPOS, PER_REPO);
    println!(
        "(d) model of {} tags built in {:?}",
        REPOS * PER_REPO,
        start.elapsed()
    );
    let start = Instant::now();
    storage.settle(true);
    println!(
        "(d) storage numbers (repo_stats, registry_stats) over {} tags: {:?}",
        REPOS * PER_REPO,
        start.elapsed()
    );
    for marks in [1, 100, 10_000] {
        storage.clear_marks();
        // The first would-free after the model changed builds the index.
        let build = Instant::now();
        for i in 0..marks {
            let repo =
                RepoName::parse(&format!("team{}/app{}", i % 10, i % REPOS)).expect("a name");
            let tag = Tag::parse(&format!("build-{:06}", i / REPOS)).expect("a tag");
            storage.toggle_mark(repo, tag);
        }
        storage.settle(true);
        println!(
            "(d) first would free after marking {marks}: {:?}",
            build.elapsed()
        );
        let mut times = Vec::new();
        for _ in 0..10 {
            // A mark toggled off and on: what space costs on a big registry.
            let (repo, tag) = storage.marks().iter().next().cloned().expect("a mark");
            storage.toggle_mark(repo.clone(), tag.clone());
            storage.toggle_mark(repo, tag);
            let start = Instant::now();
            storage.settle(true);
            times.push(start.elapsed());
        }
        summary(
            &format!("(d) would free, {marks} marks over 100,000 tags"),
            times,
        );
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    large_frame(&rt);
    first_frame(&rt);
    demo_first_frame(&rt);
    would_free();
}
