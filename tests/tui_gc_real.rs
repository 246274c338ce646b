//! The TUI offers the registry's `gc_command` after a delete, as `rm --gc` does: Enter runs a
//! real garbage collection pass over the test registry's storage (`--dry-run`: the registry is
//! still serving), its output is shown in the dialog, and the measured change is what the
//! collector lists, in bytes the scan knew. Without a `gc_command`, nothing is offered.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;

use regatta::cleanup::execute::Outcome;
use regatta::registry::Source;
use regatta::tui::memory::run_until_idle;
use regatta::tui::widgets::confirm::{GcPane, Stage};
use regatta::tui::{Action, App, Effect, RegistryEntry, Theme};
use support::cleanup::rm_fixture;
use support::registry::TestRegistry;

async fn app(registry: &TestRegistry, journal: &std::path::Path, gc: Option<String>) -> App {
    let client = registry.client();
    let source: Arc<dyn Source> = Arc::new(client.clone());
    let entry = RegistryEntry {
        name: "test".into(),
        location: registry.url(),
        source: Ok(source),
        notice: None,
        client: Some(client),
    };
    let commands: BTreeMap<String, String> =
        gc.map(|c| ("test".to_string(), c)).into_iter().collect();
    let mut app = App::new(vec![entry], true, jiff::Timestamp::now(), Theme::PLAIN)
        .with_journal(Some(journal.to_path_buf()))
        .with_gc_commands(commands);
    app.update(Action::Resize {
        width: 120,
        height: 40,
    });
    let effects = app.start();
    run_until_idle(&mut app, effects).await;
    app
}

async fn step(app: &mut App, action: Action) -> Vec<Effect> {
    let effects = app.update(action);
    run_until_idle(app, effects.clone()).await;
    effects
}

/// Opens `app` (the first repository), selects `v2` and deletes it by digest.
async fn delete_v2(app: &mut App) {
    step(app, Action::Open).await;
    step(app, Action::Last).await; // latest, stable, v1, v2 by name
    step(app, Action::RequestDelete).await;
    let plan = app
        .dialog()
        .and_then(|d| d.plan())
        .expect("a plan on screen")
        .clone();
    assert_eq!(plan.deletions[0].tags.len(), 3, "{plan:?}");
    step(app, Action::ConfirmDelete(plan)).await;
    let dialog = app.dialog().expect("the results");
    assert_eq!(dialog.stage, Stage::Finished { cancelled: false });
    assert_eq!(dialog.steps[0].outcome, Some(Outcome::Done));
}

#[tokio::test]
async fn after_a_delete_enter_runs_the_gc_command_and_the_dialog_shows_what_it_removed() {
    let registry = TestRegistry::start();
    let truth = registry.push(&rm_fixture());
    let journal = tempfile::tempdir().expect("a temp dir");
    let gc = format!(
        "docker-registry garbage-collect --dry-run {}",
        registry.config_path().display()
    );
    let mut app = app(&registry, journal.path(), Some(gc.clone())).await;
    delete_v2(&mut app).await;
    assert_eq!(
        app.dialog().and_then(|d| d.gc.clone()),
        Some(GcPane::Offered {
            command: gc.clone()
        })
    );

    let effects = step(&mut app, Action::Confirm).await;
    assert!(
        matches!(effects.as_slice(), [Effect::RunGc { command, .. }] if *command == gc),
        "{effects:?}"
    );
    let Some(GcPane::Ran {
        result: Ok(run),
        summary,
    }) = app.dialog().and_then(|d| d.gc.clone())
    else {
        panic!("the collection ran: {:?}", app.dialog().map(|d| &d.gc))
    };
    assert!(run.success, "{}", run.output);
    assert!(
        run.output.contains("eligible for deletion"),
        "{}",
        run.output
    );
    // v2's manifest, config and own layer (the base layer stays with v1 and `other`), in
    // bytes from the ground truth.
    let v2 = truth.tagged("app", "v2");
    let expected =
        v2.manifest_size + v2.blobs[v2.config.as_ref().expect("config")] + v2.blobs[&v2.layers[1]];
    assert_eq!(summary.blobs, 3, "{}", run.output);
    assert_eq!(summary.known_bytes, expected);
    assert_eq!(summary.unknown_blobs, 0);

    // Shown in the dialog: the measured change, then the collector's own lines.
    let backend = ratatui::backend::TestBackend::new(120, 40);
    let mut terminal = ratatui::Terminal::new(backend).expect("terminal");
    terminal
        .draw(|f| regatta::tui::draw(&app, f))
        .expect("draw");
    let screen: String = terminal
        .backend()
        .buffer()
        .content()
        .chunks(120)
        .map(|row| row.iter().map(|c| c.symbol()).collect::<String>() + "\n")
        .collect();
    assert!(
        screen.contains(&format!(
            "garbage collection removed 3 blob(s), {} ({expected} bytes) of them known from the scan",
            regatta::tui::format::size(expected)
        )),
        "{screen}"
    );
    assert!(screen.contains("gc: "), "{screen}");

    step(&mut app, Action::Confirm).await;
    assert!(app.dialog().is_none(), "enter closes once it ran");
}

#[tokio::test]
async fn without_a_gc_command_nothing_is_offered() {
    let registry = TestRegistry::start();
    registry.push(&rm_fixture());
    let journal = tempfile::tempdir().expect("a temp dir");
    let mut app = app(&registry, journal.path(), None).await;
    delete_v2(&mut app).await;
    assert_eq!(app.dialog().and_then(|d| d.gc.clone()), None);
    let effects = step(&mut app, Action::Confirm).await;
    assert!(effects.is_empty(), "{effects:?}");
    assert!(app.dialog().is_none());
}
