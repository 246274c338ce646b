//! The copy handshake: `c` -> the destination picker -> PlanCopy -> the plan dialog ->
//! ConfirmCopy(the plan shown) -> ApplyCopy with progress -> Esc stops it (an abort).

use std::path::PathBuf;
use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::storage::{open_repo, scanned, select_tag};
use super::*;
use crate::copy::{BlobProgress, CopyOutcome, CopyPlan, CopyTotals, ProgressSnapshot};
use crate::registry::{ClientOptions, Digest, RegistryAddr};
use crate::tui::action::{CopyJob, CopyPlanRef, CopyTo};
use crate::tui::keymap::Mode;
use crate::tui::widgets::copy::{CopyStage, Destination};

fn client(host: &str) -> Client {
    Client::new(RegistryAddr::parse(host).unwrap(), ClientOptions::default()).unwrap()
}

/// Two registries with clients (the second is where copies go) and a layout without one.
async fn two_registries() -> App {
    scanned(vec![
        RegistryEntry {
            client: Some(client("demo.example")),
            ..entry("demo", Ok(shared(fixtures::sample())))
        },
        RegistryEntry {
            client: Some(client("backup.example")),
            ..entry("backup", Ok(shared(fixtures::sample())))
        },
        entry("layout", Ok(shared(fixtures::sample()))),
    ])
    .await
}

fn press(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

/// What a key does now, applied.
fn key(app: &mut App, code: KeyCode) -> Vec<Effect> {
    match app.key_action(&press(code)) {
        Some(action) => app.update(action),
        None => Vec::new(),
    }
}

fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        key(app, KeyCode::Char(c));
    }
}

fn plan(bytes: u64) -> CopyPlanRef {
    CopyPlanRef(std::sync::Arc::new(CopyPlan {
        source: "demo.example".into(),
        destination: "backup.example".into(),
        same_registry: false,
        platform: None,
        images: Vec::new(),
        manifests: Vec::new(),
        blobs: Vec::new(),
        totals: CopyTotals {
            images: 1,
            manifests_to_push: 1,
            blobs_transferred: 2,
            bytes_missing: bytes,
            bytes_to_move: bytes,
            tags_to_set: 1,
            ..CopyTotals::default()
        },
    }))
}

fn stage(app: &App) -> &CopyStage {
    &app.copy_dialog().expect("the copy dialog").stage
}

fn screen(app: &App) -> String {
    let mut terminal = Terminal::new(TestBackend::new(100, 20)).unwrap();
    terminal.draw(|f| draw(app, f)).unwrap();
    let buffer = terminal.backend().buffer();
    (0..buffer.area.height)
        .map(|y| {
            (0..buffer.area.width)
                .map(|x| buffer[(x, y)].symbol())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn c_copies_a_tag_to_another_registry_through_the_plan_it_showed() {
    let mut app = two_registries().await;
    open_repo(&mut app, "nginx");
    select_tag(&mut app, "1.27");
    assert!(key(&mut app, KeyCode::Char('c')).is_empty());
    let dialog = app.copy_dialog().expect("the picker");
    assert_eq!(dialog.stage, CopyStage::Picking);
    assert_eq!(app.mode(), Mode::TypeConfirm);
    // The other registry with a client, then a directory; never the source, nor a layout.
    assert_eq!(
        dialog.destinations,
        [
            Destination::Registry {
                entry: 1,
                label: "backup (https://backup)".into()
            },
            Destination::Directory
        ]
    );
    assert_eq!(
        dialog.repository, "library/nginx",
        "the same repository by default"
    );

    // The repository name is edited: typed keys go into it, `c` and `y` included.
    for _ in 0.."library/nginx".len() {
        key(&mut app, KeyCode::Backspace);
    }
    type_text(&mut app, "mirror/nginx-copy");
    assert!(!app.should_quit());
    assert_eq!(app.copy_dialog().unwrap().repository, "mirror/nginx-copy");

    let effects = key(&mut app, KeyCode::Enter);
    let [Effect::PlanCopy { req, job }] = effects.as_slice() else {
        panic!("expected PlanCopy, got {effects:?}")
    };
    let expected = CopyJob {
        source: 0,
        destination: CopyTo::Registry(1),
        requests: vec![crate::copy::ImageRequest {
            source_repository: repo("library/nginx"),
            source_reference: ManifestRef::Tag(tag("1.27")),
            destination_repository: repo("mirror/nginx-copy"),
            destination_tag: Some(tag("1.27")),
        }],
    };
    assert_eq!(job, &expected);
    let plan_req = *req;
    assert_eq!(stage(&app), &CopyStage::Planning { req: plan_req });
    // Enter again waits for the plan; it neither closes the dialog nor plans twice.
    assert!(key(&mut app, KeyCode::Enter).is_empty());
    assert_eq!(stage(&app), &CopyStage::Planning { req: plan_req });
    assert!(app.is_loading());

    // The plan arrives; Enter stands for confirming exactly it.
    let shown = plan(4096);
    app.update(Action::CopyPlanned {
        req: plan_req,
        result: Ok(shown.clone()),
    });
    assert_eq!(app.mode(), Mode::Confirm);
    let text = screen(&app);
    assert!(text.contains("4 KiB (4096 bytes) to move"), "{text}");
    // The status bar offers what the dialog does; Tab (another dialog's modes) is not there.
    let status = text.lines().last().unwrap_or_default();
    assert!(status.contains("enter confirm"), "{status}");
    assert!(!status.contains("mode"), "{status}");
    assert!(matches!(
        app.key_action(&press(KeyCode::Enter)),
        Some(Action::ConfirmCopy(p)) if p == shown
    ));
    // A confirmation of another plan (an equal-looking one) does nothing.
    assert!(app.update(Action::ConfirmCopy(plan(4096))).is_empty());

    let effects = key(&mut app, KeyCode::Enter);
    let [
        Effect::ApplyCopy {
            req,
            job,
            plan: applied,
        },
    ] = effects.as_slice()
    else {
        panic!("expected ApplyCopy, got {effects:?}")
    };
    assert_eq!(job, &expected);
    assert_eq!(applied, &shown);
    let copy_req = *req;

    // Progress: the total with rate and time left, one line per blob being streamed.
    let blob = Digest::sha256_of(b"layer");
    app.update(Action::CopyProgressed {
        req: copy_req,
        snapshot: ProgressSnapshot {
            bytes_moved: 1024,
            blobs_done: 1,
            manifests_done: 0,
            tags_done: 0,
            active: vec![BlobProgress {
                digest: blob.clone(),
                repository: repo("mirror/nginx-copy"),
                size: 3072,
                moved: 512,
            }],
        },
        elapsed: Duration::from_secs(2),
    });
    let text = screen(&app);
    assert!(
        text.contains("1 KiB of 4 KiB (25.0%) · 512 B/s · ETA 6s · blobs 1/2"),
        "{text}"
    );
    let short = &blob.as_str()[..19];
    assert!(
        text.contains(&format!(
            "blob {short}… into mirror/nginx-copy  512 B of 3 KiB"
        )),
        "{text}"
    );

    // Esc stops the copy: its task is aborted, and the dialog says what that leaves.
    assert_eq!(key(&mut app, KeyCode::Esc), [Effect::Abort(vec![copy_req])]);
    assert!(matches!(
        stage(&app),
        CopyStage::Finished {
            complete: false,
            ..
        }
    ));
    let text = screen(&app);
    assert!(text.contains("Copy stopped"), "{text}");
    // A late result of the aborted task changes nothing.
    app.update(Action::CopyFinished {
        req: copy_req,
        outcome: CopyOutcome::default(),
        elapsed: Duration::from_secs(3),
    });
    assert!(matches!(
        stage(&app),
        CopyStage::Finished {
            complete: false,
            ..
        }
    ));
    key(&mut app, KeyCode::Enter);
    assert!(app.copy_dialog().is_none());
    assert_eq!(app.mode(), Mode::Normal);
}

#[tokio::test]
async fn the_marked_tags_export_to_a_typed_directory() {
    let mut app = two_registries().await;
    open_repo(&mut app, "nginx");
    select_tag(&mut app, "1.27");
    app.update(Action::ToggleMark);
    select_tag(&mut app, "1.26");
    app.update(Action::ToggleMark);
    key(&mut app, KeyCode::Char('c'));
    assert_eq!(app.copy_dialog().unwrap().images.len(), 2);
    key(&mut app, KeyCode::Down);
    assert_eq!(
        app.copy_dialog().unwrap().destination(),
        Some(&Destination::Directory)
    );
    // No directory typed: a sentence, no work.
    assert!(key(&mut app, KeyCode::Enter).is_empty());
    assert!(matches!(app.message(), Some(Message::Error(e)) if e.contains("directory")));
    type_text(&mut app, "/backups/nginx");
    let effects = key(&mut app, KeyCode::Enter);
    let [Effect::PlanCopy { req, job }] = effects.as_slice() else {
        panic!("expected PlanCopy, got {effects:?}")
    };
    assert_eq!(
        job.destination,
        CopyTo::Directory(PathBuf::from("/backups/nginx"))
    );
    let tags: Vec<&str> = job
        .requests
        .iter()
        .map(|r| r.destination_tag.as_ref().unwrap().as_str())
        .collect();
    assert_eq!(tags, ["1.26", "1.27"]);
    assert!(
        job.requests
            .iter()
            .all(|r| r.destination_repository == repo("library/nginx"))
    );

    // A plan that cannot be made sends the picker back with the reason.
    app.update(Action::CopyPlanned {
        req: *req,
        result: Err("nginx:1.26: HTTP 500".into()),
    });
    assert_eq!(stage(&app), &CopyStage::Picking);
    assert!(matches!(app.message(), Some(Message::Error(e)) if e.contains("HTTP 500")));
    // Planning again, then Esc: the planning task is aborted and the dialog closes.
    let again = req_of(&key(&mut app, KeyCode::Enter));
    assert_eq!(key(&mut app, KeyCode::Esc), [Effect::Abort(vec![again])]);
    assert!(app.copy_dialog().is_none());
}

#[tokio::test]
async fn quit_while_copying_stops_the_copy_first() {
    let mut app = two_registries().await;
    open_repo(&mut app, "nginx");
    select_tag(&mut app, "1.27");
    key(&mut app, KeyCode::Char('c'));
    let req = req_of(&key(&mut app, KeyCode::Enter));
    let shown = plan(10);
    app.update(Action::CopyPlanned {
        req,
        result: Ok(shown.clone()),
    });
    let copy_req = req_of(&app.update(Action::ConfirmCopy(shown)));
    assert_eq!(app.update(Action::Quit), [Effect::Abort(vec![copy_req])]);
    assert!(!app.should_quit());
    key(&mut app, KeyCode::Esc);
    app.update(Action::Quit);
    assert!(app.should_quit());
}

#[tokio::test]
async fn a_source_without_a_client_is_refused_with_a_sentence() {
    let mut app = scanned(vec![entry("layout", Ok(shared(fixtures::sample())))]).await;
    open_repo(&mut app, "nginx");
    select_tag(&mut app, "1.27");
    key(&mut app, KeyCode::Char('c'));
    assert!(app.copy_dialog().is_none());
    assert!(matches!(app.message(), Some(Message::Error(e)) if e.contains("OCI layout")));
}
