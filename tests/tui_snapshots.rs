//! Every screen at a fixed size, drawn on a TestBackend from the in-memory fixture and a
//! fixed clock, compared with committed snapshots (tests/snapshots/).
//!
//! A 100-column screen leaves out the key hints that do not fit, so each screen's status bar
//! is also drawn wide and its whole text asserted ([`assert_footer`]); what a snapshot's
//! comment says it shows (which tag, which order) is asserted in code too.

use std::sync::Arc;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::{Color, Modifier};
use regatta::registry::RegistryError;
use regatta::tui::memory::{run_until_idle, shared};
use regatta::tui::{Action, App, RegistryEntry, Theme, draw, fixtures};

const WIDTH: u16 = 100;
const HEIGHT: u16 = 16;
/// Wide enough for every status bar: the tag list's hints alone take 150 columns.
const FOOTER_WIDTH: u16 = 220;

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

/// The rows of the screen as text, trailing spaces trimmed.
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

/// The status bar (last row) of the current screen drawn `FOOTER_WIDTH` wide and `height`
/// high; the app is sized back to `WIDTH` x `height` afterwards.
fn wide_footer(app: &mut App, height: u16) -> String {
    app.update(Action::Resize {
        width: FOOTER_WIDTH,
        height,
    });
    let mut terminal =
        Terminal::new(TestBackend::new(FOOTER_WIDTH, height)).expect("a test terminal");
    terminal.draw(|f| draw(app, f)).expect("a frame");
    app.update(Action::Resize {
        width: WIDTH,
        height,
    });
    lines(&terminal)
        .pop()
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// Every key hint of the current screen, none left out for want of room.
fn assert_footer(app: &mut App, expected: &str) {
    assert_eq!(wide_footer(app, HEIGHT), expected);
}

/// The first word of each body row (rows 2.. until the first empty one): the tag column of
/// a tag list.
fn first_column(terminal: &Terminal<TestBackend>) -> Vec<String> {
    lines(terminal)
        .into_iter()
        .skip(2)
        .take_while(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().next().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn every_view() {
    let mut app = app(Theme::PLAIN);
    let effects = app.start();
    run_until_idle(&mut app, effects).await;
    insta::assert_snapshot!("registries", render(&app).backend());
    assert_footer(
        &mut app,
        "j/k move  enter open  / filter  r refresh  ? help  q quit",
    );

    step(&mut app, Action::Open).await;
    insta::assert_snapshot!("repositories", render(&app).backend());
    assert_footer(
        &mut app,
        "j/k move  enter open  esc back  / filter  s sort  y copy  r refresh  d delete  \
         u storage  C cleanup  A audit  D deleted  ? help  q quit",
    );

    step(&mut app, Action::MoveDown).await; // library/nginx
    step(&mut app, Action::Open).await;
    let tags = render(&app);
    insta::assert_snapshot!("tags", tags.backend());
    assert_eq!(first_column(&tags), ["1.26", "1.27", "1.27.5", "latest"]);
    assert_footer(
        &mut app,
        "j/k move  enter open  esc back  / filter  s sort  y copy  r refresh  space mark  \
         d delete  u storage  C cleanup  A audit  D deleted  a attached  R referrers  c copy to  b base  = diff  B drift  \
         ? help  q quit",
    );

    // The drift of library/nginx, from the scan: both indexes' linux/amd64 images start with
    // the same base layer and nothing else is shared, so every tag is current.
    step(&mut app, Action::OpenDrift).await;
    let drift = render(&app);
    insta::assert_snapshot!("drift", drift.backend());
    assert!(lines(&drift)[0].contains("library/nginx › drift "));
    let statuses: Vec<String> = lines(&drift)
        .iter()
        .skip(3)
        .take(4)
        .map(|l| l.split_whitespace().last().unwrap_or_default().to_string())
        .collect();
    assert_eq!(statuses, ["current"; 4], "{:?}", lines(&drift));
    assert_footer(&mut app, "j/k move  esc back  w waste  ? help  q quit");
    step(&mut app, Action::Back).await;

    // By size, largest first, 1.26 (142.5 MiB) leads: the order by name too, which would
    // prove nothing. Smallest first, no name order gives: the three aliases of the 135.5 MiB
    // index, then 1.26.
    step(&mut app, Action::SortNext).await; // by size
    let by_size = render(&app);
    assert_eq!(first_column(&by_size)[0], "1.26");
    assert!(lines(&by_size)[14].ends_with("sort: size ↓ · 1/4"));
    step(&mut app, Action::SortReverse).await; // smallest first
    let by_size = render(&app);
    insta::assert_snapshot!("tags_by_size", by_size.backend());
    assert_eq!(first_column(&by_size)[3], "1.26");
    assert_ne!(first_column(&by_size), first_column(&tags));

    // `latest`, on the smaller index (135.5 MiB; 1.26 is on the larger one).
    step(&mut app, Action::First).await;
    let row = first_column(&by_size)
        .iter()
        .position(|t| t == "latest")
        .expect("latest is listed");
    for _ in 0..row {
        step(&mut app, Action::MoveDown).await;
    }
    step(&mut app, Action::Open).await;
    let manifest = render(&app);
    insta::assert_snapshot!("manifest", manifest.backend());
    assert!(lines(&manifest)[0].ends_with("library/nginx › latest"));
    assert_footer(
        &mut app,
        "j/k move  enter open  esc back  / filter  s sort  c config  y copy  R referrers  b base  = diff  w waste  \
         ? help  q quit",
    );

    step(&mut app, Action::Open).await; // linux/amd64
    let layers = render(&app);
    insta::assert_snapshot!("layers", layers.backend());
    assert!(lines(&layers)[0].contains("library/nginx › latest › linux/amd64"));
    assert_footer(
        &mut app,
        "j/k move  enter open  esc back  / filter  s sort  c config  y copy  m merged  w waste  \
         ? help  q quit",
    );

    // The size hints: the worker is not run (the fixture has no layer blobs); its answer,
    // the hints of two real tarballs, is fed in as the worker would send it.
    let effects = app.update(Action::OpenHints);
    let req = effects
        .iter()
        .find_map(regatta::tui::Effect::req)
        .expect("a request for the hints");
    let loading = render(&app);
    assert!(
        lines(&loading)[1].contains("listing the layers: read 0 B of"),
        "{:?}",
        lines(&loading)
    );
    let computed = sample_hints();
    app.update(Action::HintsBuilt {
        req,
        result: Ok(Arc::new(computed.clone())),
    });
    let hints = render(&app);
    insta::assert_snapshot!("hints", hints.backend());
    assert!(lines(&hints)[0].contains("linux/amd64 › hints "));
    // The lines `regatta hints` prints, one row each, from the top of the body.
    let expected = regatta::present::layers::hints_lines(&computed);
    for (row, line) in lines(&hints).iter().skip(1).zip(&expected).take(12) {
        assert_eq!(row.trim_end(), format!(" {line}").trim_end());
    }
    assert_footer(&mut app, "j/k move  esc back  ? help  q quit");
    step(&mut app, Action::Back).await;

    step(&mut app, Action::OpenConfig).await;
    insta::assert_snapshot!("config", render(&app).backend());
    assert_footer(&mut app, "j/k move  esc back  y copy  ? help  q quit");
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
    assert_footer(&mut app, "enter keep  esc clear  type to filter");
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
    // The scan's progress on the right takes room from the hints: drawn wide, all are there.
    let footer = wide_footer(&mut app, 8);
    assert!(
        footer.starts_with(
            "j/k move  enter open  esc back  / filter  s sort  y copy  r refresh  d delete  \
             u storage  C cleanup  A audit  D deleted  ? help  q quit"
        ),
        "{footer}"
    );
    assert!(footer.ends_with("scanning tags 0/0"), "{footer}");
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

/// A gzip'd tar of `(path, content)`, files only, listed by regatta's reader.
fn listed(files: &[(&str, &[u8])]) -> regatta::layers::Listing {
    let mut b = tar::Builder::new(Vec::new());
    for (path, content) in files {
        let mut h = tar::Header::new_gnu();
        h.set_path(path).expect("a path");
        h.set_mode(0o644);
        h.set_size(content.len() as u64);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_cksum();
        b.append(&h, *content).expect("an entry");
    }
    let tar = b.into_inner().expect("a tar");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &tar).expect("gzip");
    let blob = gz.finish().expect("gzip");
    regatta::layers::stream::list_blob(
        &blob[..],
        &regatta::registry::Digest::sha256_of(&blob),
        "application/vnd.oci.image.layer.v1.tar+gzip",
        &regatta::layers::Limits::default(),
        Default::default(),
    )
    .expect("a listing")
}

/// Two layers: the upper one rewrites the app binary and a config file, copies a file
/// the lower one has, and leaves apt's lists behind.
fn sample_hints() -> regatta::layers::hints::Hints {
    let lower = listed(&[
        ("usr/bin/app", &[1; 5000]),
        ("etc/app.conf", &[b'a'; 120]),
        ("usr/share/doc/README", &[7; 900]),
    ]);
    let upper = listed(&[
        ("usr/bin/app", &[2; 6000]),
        ("etc/app.conf", &[b'b'; 150]),
        ("opt/README.copy", &[7; 900]),
        ("var/lib/apt/lists/deb.debian.org_Packages", &[3; 2500]),
    ]);
    regatta::layers::hints::hints(&[lower, upper])
}
