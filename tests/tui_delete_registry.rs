//! The TUI's delete and restore against a real registry: the same actions a user's keys
//! send, the workers doing the HTTP, the journal in a temp dir. Each test has a registry of
//! its own.

mod support;

use std::sync::Arc;

use regatta::cleanup::execute::Outcome;
use regatta::registry::{Source, Tag};
use regatta::tui::memory::run_until_idle;
use regatta::tui::views::View;
use regatta::tui::widgets::confirm::Stage;
use regatta::tui::{Action, App, RegistryEntry, Theme};
use support::fixtures::FixtureBuilder;
use support::image::{Format, ImageSpec, Layer};
use support::registry::{RegistryOptions, TestRegistry};

/// `app`: `v1`, and `v2` = `latest` (sharing a base layer with `v1`).
fn fixture() -> FixtureBuilder {
    let base = Layer::random("tui-base", 6 * 1024);
    let mut b = FixtureBuilder::new();
    b.image(
        "app",
        &["v1"],
        ImageSpec::new(
            Format::Oci,
            vec![base.clone(), Layer::random("tui-v1", 3 * 1024)],
        ),
    );
    b.image(
        "app",
        &["v2", "latest"],
        ImageSpec::new(Format::Oci, vec![base, Layer::random("tui-v2", 5 * 1024)]),
    );
    b
}

async fn app(registry: &TestRegistry, journal: &std::path::Path) -> App {
    let client = registry.client();
    let source: Arc<dyn Source> = Arc::new(client.clone());
    let entry = RegistryEntry {
        name: "test".into(),
        location: registry.url(),
        source: Ok(source),
        notice: None,
        client: Some(client),
    };
    let now = jiff::Timestamp::now();
    let mut app =
        App::new(vec![entry], true, now, Theme::PLAIN).with_journal(Some(journal.to_path_buf()));
    app.update(Action::Resize {
        width: 100,
        height: 30,
    });
    let effects = app.start();
    run_until_idle(&mut app, effects).await;
    app
}

async fn step(app: &mut App, action: Action) {
    let effects = app.update(action);
    run_until_idle(app, effects).await;
}

fn tags(app: &App) -> Vec<String> {
    let View::Tags(v) = app.top() else {
        panic!("not a tag list: {:?}", app.top().kind())
    };
    let mut tags: Vec<String> = v.rows.iter().map(|r| r.tag.to_string()).collect();
    tags.sort();
    tags
}

/// Opens `app` and selects `v2`.
async fn select_v2(app: &mut App) {
    step(app, Action::Open).await;
    step(app, Action::Last).await; // latest, v1, v2 by name
    let View::Tags(v) = app.top() else { panic!() };
    assert_eq!(v.selected().expect("a selected tag").tag.as_str(), "v2");
}

async fn confirm(app: &mut App) {
    let plan = app
        .dialog()
        .and_then(|d| d.plan())
        .expect("a plan on screen")
        .clone();
    step(app, Action::ConfirmDelete(plan)).await;
}

#[tokio::test]
async fn delete_then_restore_from_the_recently_deleted_view() {
    let registry = TestRegistry::start();
    registry.push(&fixture());
    let journal = tempfile::tempdir().expect("a temp dir");
    let mut app = app(&registry, journal.path()).await;
    select_v2(&mut app).await;
    assert_eq!(tags(&app), ["latest", "v1", "v2"]);

    step(&mut app, Action::RequestDelete).await;
    let widened = app
        .dialog()
        .and_then(|d| d.plan())
        .expect("a plan")
        .deletions[0]
        .widened
        .clone();
    assert_eq!(widened, [Tag::parse("latest").unwrap()]);
    confirm(&mut app).await;
    let dialog = app.dialog().expect("the results");
    assert_eq!(dialog.stage, Stage::Finished { cancelled: false });
    assert_eq!(dialog.steps.len(), 1);
    assert_eq!(dialog.steps[0].outcome, Some(Outcome::Done));
    step(&mut app, Action::Confirm).await; // close
    // The tag list was read again, and the model scanned again: latest went with v2.
    assert_eq!(tags(&app), ["v1"]);
    let model = &app.storage(0).expect("a storage").model;
    let app_tags: Vec<String> = model
        .repos
        .values()
        .next()
        .expect("the app repository")
        .tags
        .keys()
        .map(|t| t.to_string())
        .collect();
    assert_eq!(app_tags, ["v1"]);

    // Back in the recently deleted view, and restored.
    step(&mut app, Action::OpenDeleted).await;
    let View::Deleted(v) = app.top() else {
        panic!()
    };
    assert_eq!(v.listing.shown(), 1);
    let backup = v.selected().expect("a backup").clone();
    assert_eq!(backup.tags, ["latest", "v2"]);
    step(&mut app, Action::Restore).await;
    assert!(
        matches!(app.message(), Some(regatta::tui::app::Message::Info(m)) if m.starts_with("restored app@")),
        "{:?}",
        app.message()
    );
    step(&mut app, Action::Back).await;
    assert_eq!(tags(&app), ["latest", "v1", "v2"]);
}

#[tokio::test]
async fn a_registry_without_deletes_says_so_per_step() {
    let registry = TestRegistry::start_with(RegistryOptions {
        delete_enabled: false,
        ..RegistryOptions::default()
    });
    registry.push(&fixture());
    let journal = tempfile::tempdir().expect("a temp dir");
    let mut app = app(&registry, journal.path()).await;
    select_v2(&mut app).await;
    step(&mut app, Action::RequestDelete).await;
    confirm(&mut app).await;
    let dialog = app.dialog().expect("the results");
    let Some(Outcome::Failed(why)) = &dialog.steps[0].outcome else {
        panic!("expected a failure, got {:?}", dialog.steps)
    };
    assert!(why.contains("405"), "{why}");
    assert!(why.contains("storage.delete.enabled"), "{why}");
    step(&mut app, Action::Confirm).await;
    assert_eq!(tags(&app), ["latest", "v1", "v2"], "nothing went");
}
