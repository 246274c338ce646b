//! The navigation state machine, driven by actions alone: no terminal, no network. Images
//! come from the in-memory fixture where a test needs real trees.

use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::analysis::model::ScanEvent;
use crate::registry::image::{ImageTree, fetch_image};
use crate::registry::{ManifestRef, RegistryError, RepoName, Tag};
use crate::tui::columns::Field;
use crate::tui::draw;
use crate::tui::fixtures;
use crate::tui::keymap::ViewKind;
use crate::tui::memory::shared;

mod audit;
mod copy;
mod delete;
mod diff;
mod drift;
mod files;
mod grants;
mod hints;
mod loading;
mod probe;
mod referrers;
mod repo_hints;
mod storage;
mod untagged;

fn now() -> Timestamp {
    "2025-06-01T12:00:00Z".parse().unwrap()
}

fn entry(name: &str, source: Result<Arc<dyn Source>, String>) -> RegistryEntry {
    RegistryEntry {
        name: name.into(),
        location: format!("https://{name}"),
        source,
        notice: None,
        client: None,
    }
}

fn demo_app(open_first: bool) -> (App, Vec<Effect>) {
    let entries = vec![
        entry("demo", Ok(shared(fixtures::sample()))),
        entry("broken", Err("no such directory: /nope".into())),
    ];
    let mut app = App::new(entries, open_first, now(), Theme::PLAIN);
    app.update(Action::Resize {
        width: 100,
        height: 20,
    });
    let effects = app.start();
    (app, effects)
}

fn kinds(app: &App) -> Vec<ViewKind> {
    app.stack().iter().map(View::kind).collect()
}

fn repo(name: &str) -> RepoName {
    RepoName::parse(name).unwrap()
}

fn tag(name: &str) -> Tag {
    Tag::parse(name).unwrap()
}

fn req_of(effects: &[Effect]) -> ReqId {
    effects
        .iter()
        .find_map(Effect::req)
        .expect("an effect that starts a request")
}

async fn tree(repo_name: &str, tag_name: &str) -> Arc<ImageTree> {
    let source = fixtures::sample();
    let reference = ManifestRef::Tag(tag(tag_name));
    Arc::new(
        fetch_image(&source, &repo(repo_name), &reference)
            .await
            .unwrap(),
    )
}

/// Feeds one event of the scan `req` to the app.
fn scanned(app: &mut App, req: ReqId, event: ScanEvent) -> Vec<Effect> {
    app.update(Action::Scanned { req, event })
}

/// Opens `library/nginx` from the repository list (the scan `scan` has not got to it yet)
/// and returns the scan it asked to take the repository first.
fn open_nginx(app: &mut App) -> ReqId {
    assert!(app.update(Action::Filter).is_empty());
    for c in "nginx".chars() {
        app.update(Action::FilterChar(c));
    }
    app.update(Action::FilterKeep);
    let effects = app.update(Action::Open);
    match effects.as_slice() {
        [Effect::Prioritize { scan, repo: r }] if *r == repo("library/nginx") => *scan,
        other => panic!("expected Prioritize, got {other:?}"),
    }
}

/// The scan `req` lists three repositories (in two pages).
fn list_repos(app: &mut App, req: ReqId) {
    let page = vec![repo("library/alpine"), repo("library/nginx")];
    scanned(app, req, ScanEvent::Repositories(page));
    scanned(app, req, ScanEvent::Repositories(vec![repo("team/api")]));
    scanned(app, req, ScanEvent::RepositoriesListed);
}

#[test]
fn start_pings_openable_registries_and_opens_the_first() {
    let (app, effects) = demo_app(true);
    assert!(matches!(effects[0], Effect::Ping { entry: 0, .. }));
    // One scan lists the repositories, their tags and everything below.
    assert!(matches!(
        effects[1],
        Effect::Scan {
            entry: 0,
            repos: None,
            ..
        }
    ));
    assert_eq!(effects.len(), 2, "the broken registry is not pinged");
    assert_eq!(kinds(&app), [ViewKind::Registries, ViewKind::Repos]);
    assert!(matches!(app.entries()[1].reach, Reach::CannotOpen(_)));
    assert_eq!(app.crumbs(), ["registries", "demo"]);
}

#[test]
fn ping_results_set_reachability() {
    let (mut app, effects) = demo_app(false);
    let req = req_of(&effects);
    let error = RegistryError::Unauthorized {
        host: "demo".into(),
        detail: "no token".into(),
    };
    app.update(Action::PingFinished {
        req,
        result: Err(error),
    });
    assert!(matches!(app.entries()[0].reach, Reach::Unauthorized(_)));
    // A second answer to the same request is stale.
    app.update(Action::PingFinished {
        req,
        result: Ok(()),
    });
    assert!(matches!(app.entries()[0].reach, Reach::Unauthorized(_)));
}

#[test]
fn opening_an_unopenable_registry_shows_why_and_stays() {
    let (mut app, _) = demo_app(false);
    app.update(Action::MoveDown);
    assert!(app.update(Action::Open).is_empty());
    assert_eq!(kinds(&app), [ViewKind::Registries]);
    assert!(matches!(app.message(), Some(Message::Error(e)) if e.contains("no such directory")));
    // The error never blocks: moving on clears it.
    app.update(Action::MoveUp);
    let effects = app.update(Action::Open);
    assert!(matches!(
        effects.as_slice(),
        [Effect::Scan { entry: 0, .. }]
    ));
    assert_eq!(app.message(), None);
}

#[test]
fn filter_sort_and_copy_on_the_tag_list() {
    let (mut app, _) = demo_app(true);
    list_repos(&mut app, ReqId(2));
    let scan = open_nginx(&mut app);
    let tags = vec![tag("1.26"), tag("1.27"), tag("latest")];
    scanned(
        &mut app,
        scan,
        ScanEvent::Tags {
            repo: repo("library/nginx"),
            tags,
        },
    );
    let View::Tags(v) = app.top() else { panic!() };
    assert_eq!(v.listing.shown(), 3);
    let key = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
    assert!(matches!(app.key_action(&key('/')), Some(Action::Filter)));
    app.update(Action::Filter);
    assert!(matches!(
        app.key_action(&key('q')),
        Some(Action::FilterChar('q'))
    ));
    app.update(Action::FilterChar('l'));
    app.update(Action::FilterChar('t'));
    let View::Tags(v) = app.top() else { panic!() };
    assert_eq!(v.listing.shown(), 1);
    assert_eq!(v.selected().unwrap().tag, tag("latest"));
    app.update(Action::FilterClear);
    app.update(Action::SortReverse);
    let View::Tags(v) = app.top() else { panic!() };
    assert_eq!(v.listing.shown(), 3);
    assert_eq!(
        v.rows.get(v.listing.row_at(0).unwrap()).unwrap().tag,
        tag("latest")
    );
    app.update(Action::First);
    let effects = app.update(Action::CopyReference);
    assert_eq!(
        effects,
        [Effect::Copy("demo.example/library/nginx:latest".into())]
    );
    assert!(matches!(app.message(), Some(Message::Info(m)) if m.contains("copied")));
}

#[test]
fn mouse_click_selects_and_double_click_opens() {
    let (mut app, _) = demo_app(true);
    list_repos(&mut app, ReqId(2));
    // Row 0 is the crumbs, row 1 the header: row 3 is the second repository.
    assert!(
        app.update(Action::Click {
            column: 5,
            row: 3,
            double: false
        })
        .is_empty()
    );
    let View::Repos(v) = app.top() else { panic!() };
    assert_eq!(v.selected().unwrap().name, repo("library/nginx"));
    let effects = app.update(Action::Click {
        column: 5,
        row: 4,
        double: true,
    });
    assert!(
        matches!(effects.as_slice(), [Effect::Prioritize { repo: r, .. }] if *r == repo("team/api"))
    );
    // Clicks on the header or past the rows do nothing.
    app.update(Action::Back);
    assert!(
        app.update(Action::Click {
            column: 5,
            row: 1,
            double: true
        })
        .is_empty()
    );
    assert!(
        app.update(Action::Click {
            column: 5,
            row: 15,
            double: true
        })
        .is_empty()
    );
    assert_eq!(app.top().kind(), ViewKind::Repos);
}

#[test]
fn help_scrolls_by_line_page_and_ends_within_its_length() {
    let (mut app, _) = demo_app(false);
    app.update(Action::Resize {
        width: 100,
        height: 20,
    });
    app.update(Action::ToggleHelp);
    let entries = keymap::help_entries(app.top().kind()).len();
    // 20 rows: the popup shows 18 lines between its borders.
    let max = entries - 18;
    assert!(max > 18, "the help is longer than two pages: {entries}");
    let key = |c| KeyEvent::new(c, KeyModifiers::NONE);
    for (code, action) in [
        (KeyCode::PageDown, Action::PageDown),
        (KeyCode::PageUp, Action::PageUp),
        (KeyCode::Char('G'), Action::Last),
        (KeyCode::Char('g'), Action::First),
        (KeyCode::End, Action::Last),
        (KeyCode::Home, Action::First),
    ] {
        let got = app.key_action(&key(code));
        assert_eq!(got.and_then(|a| a.name()), action.name(), "{code:?}");
    }
    app.update(Action::PageDown);
    assert_eq!(app.help_scroll(), 17, "a page keeps one line of context");
    app.update(Action::Last);
    assert_eq!(app.help_scroll(), max);
    // Past the end nothing moves, and one k is one line back up.
    app.update(Action::MoveDown);
    app.update(Action::PageDown);
    assert_eq!(app.help_scroll(), max);
    app.update(Action::MoveUp);
    assert_eq!(app.help_scroll(), max - 1);
    app.update(Action::PageUp);
    assert_eq!(app.help_scroll(), max - 18);
    app.update(Action::First);
    assert_eq!(app.help_scroll(), 0);
    app.update(Action::PageUp);
    assert_eq!(app.help_scroll(), 0);
}

#[test]
fn help_captures_keys_until_closed() {
    let (mut app, _) = demo_app(false);
    app.update(Action::ToggleHelp);
    let l = KeyEvent::new(KeyCode::Char('l'), KeyModifiers::NONE);
    assert!(app.key_action(&l).is_none());
    // j scrolls the help rather than the list under it.
    let j = KeyEvent::new(KeyCode::Char('j'), KeyModifiers::NONE);
    assert!(matches!(app.key_action(&j), Some(Action::MoveDown)));
    app.update(Action::MoveDown);
    assert_eq!(app.help_scroll(), 1);
    let View::Registries(v) = app.top() else {
        panic!()
    };
    assert_eq!(v.listing.table.selected(), Some(0), "the list did not move");
    let esc = KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE);
    assert!(matches!(app.key_action(&esc), Some(Action::ToggleHelp)));
    app.update(Action::ToggleHelp);
    assert!(matches!(app.key_action(&l), Some(Action::Open)));
    app.update(Action::Quit);
    assert!(app.should_quit());
}

#[test]
fn back_at_the_root_does_nothing() {
    let (mut app, _) = demo_app(false);
    assert!(app.update(Action::Back).is_empty());
    assert_eq!(kinds(&app), [ViewKind::Registries]);
}
