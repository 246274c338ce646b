//! The storage view's rows below the API: marking untagged manifests, the rows that cannot
//! be marked, and the delete that reads the storage again and opens the usual dialog.

use std::collections::BTreeMap;

use super::storage::{read_storage, scanned_with_storage};
use super::*;
use crate::cleanup::plan::Reason;
use crate::present::storage_layout::UPLOAD_WHY;
use crate::registry::Digest;
use crate::storage::account::report;
use crate::storage::snapshot::{Body, RepoStore, Snapshot, TagStore, Upload};
use crate::tui::storage_layout::{StorageReading, StorageRow};

fn d(n: u8) -> Digest {
    Digest::parse(&format!("sha256:{}", format!("{n:02x}").repeat(32))).unwrap()
}

fn image(layer: u8) -> Body {
    Body::Image {
        config: None,
        layers: vec![d(layer)],
    }
}

/// `below/app`: tag `multi` on index 1 (platform manifests 2, 3, untagged); tag `v1` on
/// image 5; images 6 and 7 untagged (6 was `v1` before); an upload of 500 bytes.
fn storage() -> Snapshot {
    let mut s = Snapshot {
        location: "/srv/registry".into(),
        ..Snapshot::default()
    };
    let mut repo = RepoStore {
        has_layers: true,
        ..RepoStore::default()
    };
    for n in [1, 2, 3, 5, 6, 7] {
        repo.revisions.insert(d(n), None);
        s.blobs.insert(d(n), 10);
    }
    for n in [102, 103, 105, 106, 107] {
        s.blobs.insert(d(n), 1000 + u64::from(n));
    }
    s.bodies.insert(
        d(1),
        Body::Index {
            children: vec![d(2), d(3)],
        },
    );
    for n in [2, 3, 5, 6, 7] {
        s.bodies.insert(d(n), image(100 + n));
    }
    repo.tags.insert(
        tag("multi"),
        TagStore {
            current: Some(d(1)),
            history: BTreeMap::new(),
        },
    );
    repo.tags.insert(
        tag("v1"),
        TagStore {
            current: Some(d(5)),
            history: BTreeMap::from([(d(6), None), (d(5), None)]),
        },
    );
    repo.uploads.insert(
        "0d1c".into(),
        Upload {
            id: "0d1c".into(),
            bytes: 500,
            disk_bytes: 600,
            started: None,
        },
    );
    s.repos.insert(repo_name(), repo);
    s
}

fn repo_name() -> RepoName {
    RepoName::parse("below/app").unwrap()
}

fn reading(snapshot: Snapshot) -> StorageReading {
    StorageReading {
        report: Arc::new(report(&snapshot, now())),
        snapshot: Arc::new(snapshot),
    }
}

fn kinds(app: &App) -> Vec<(String, Digest)> {
    app.storage(0)
        .unwrap()
        .layout
        .rows
        .iter()
        .map(|r| match r {
            StorageRow::Untagged(u) => ("untagged".into(), u.digest.clone()),
            StorageRow::Protected(p) => ("protected".into(), p.digest.clone()),
            StorageRow::Upload(_) => ("upload".into(), d(0)),
        })
        .collect()
}

fn marked(app: &App) -> Vec<Digest> {
    let layout = &app.storage(0).unwrap().layout;
    layout.marked.iter().map(|(_, d)| d.clone()).collect()
}

fn error_text(app: &App) -> String {
    match app.message() {
        Some(Message::Error(e)) => e.clone(),
        other => panic!("expected an error line, got {other:?}"),
    }
}

/// The storage view of a writable registry whose storage was read as [`storage`].
async fn storage_view() -> App {
    let app = scanned_with_storage(Some("/srv/registry")).await;
    let mut app = app.with_journal(Some(PathBuf::from("/nonexistent/regatta-journal")));
    let effects = app.update(Action::OpenStorage);
    let (req, _, _) = read_storage(&effects).expect("a read of the storage");
    app.update(Action::StorageRead {
        req,
        result: Ok(reading(storage())),
    });
    app
}

#[tokio::test]
async fn untagged_manifests_are_marked_and_protected_ones_and_uploads_say_why_not() {
    let mut app = storage_view().await;
    assert_eq!(
        kinds(&app),
        [
            ("untagged".to_string(), d(6)),
            ("untagged".to_string(), d(7)),
            ("protected".to_string(), d(2)),
            ("protected".to_string(), d(3)),
            ("upload".to_string(), d(0)),
        ]
    );
    // The cursor is on the ranking: space marks nothing there.
    app.update(Action::ToggleMark);
    assert!(marked(&app).is_empty());
    // Tab moves it to the rows; space marks 6 and moves on to 7.
    app.update(Action::SwitchMode);
    app.update(Action::ToggleMark);
    assert_eq!(marked(&app), [d(6)]);
    // Freed by deleting 6: its document and its layer 106.
    let layout = &app.storage(0).unwrap().layout;
    assert_eq!(layout.marked_freed, Some(10 + 1106));
    assert_eq!(
        layout.marks_text().as_deref(),
        Some("1 marked · frees 1.1 KiB after garbage collection")
    );
    // Protected: one line naming the index it belongs to, and no mark.
    app.update(Action::MoveDown);
    app.update(Action::ToggleMark);
    let why = error_text(&app);
    assert!(
        why.contains("cannot be marked") && why.contains("below/app:multi"),
        "{why}"
    );
    assert_eq!(marked(&app), [d(6)]);
    // An upload cannot be cancelled through the API without its client's state token.
    app.update(Action::Last);
    app.update(Action::ToggleMark);
    assert_eq!(error_text(&app), UPLOAD_WHY);
    assert_eq!(marked(&app), [d(6)]);
    // `x` forgets the marks.
    app.update(Action::ClearMarks);
    assert!(marked(&app).is_empty());
    assert_eq!(app.storage(0).unwrap().layout.marked_freed, None);
}

#[tokio::test]
async fn delete_reads_the_storage_again_and_opens_the_usual_dialog_on_what_is_still_untagged() {
    let mut app = storage_view().await;
    app.update(Action::SwitchMode);
    app.update(Action::ToggleMark); // 6
    app.update(Action::ToggleMark); // 7
    assert_eq!(marked(&app), [d(6), d(7)]);

    // `d` reads the storage first: no dialog yet.
    let effects = app.update(Action::RequestDelete);
    let (req, location, _) = read_storage(&effects).expect("a fresh read");
    assert_eq!(location, "/srv/registry");
    assert!(app.dialog().is_none());

    // Meanwhile 7 was tagged: it leaves the plan.
    let mut fresh = storage();
    fresh.repos.get_mut(&repo_name()).unwrap().tags.insert(
        tag("back"),
        TagStore {
            current: Some(d(7)),
            history: BTreeMap::new(),
        },
    );
    app.update(Action::StorageRead {
        req,
        result: Ok(reading(fresh)),
    });
    assert_eq!(
        marked(&app),
        [d(6)],
        "the mark on 7 went with its untagged state"
    );
    let dialog = app.dialog().expect("the delete dialog");
    assert_eq!(dialog.title, "delete 1 untagged manifest");
    let plan = dialog.plan().expect("a plan").clone();
    let steps: Vec<(&RepoName, &Digest, Reason)> = plan
        .deletions
        .iter()
        .map(|s| (&s.repository, &s.digest, s.reason.clone()))
        .collect();
    assert_eq!(steps, [(&repo_name(), &d(6), Reason::Untagged)]);
    assert_eq!(plan.bytes_freed, 10 + 1106);

    // Confirmed, the same executor applies it, with the journal for backups.
    let effects = app.update(Action::Confirm);
    let [Effect::ApplyPlan { plan: applied, .. }] = effects.as_slice() else {
        panic!("expected ApplyPlan, got {effects:?}")
    };
    assert_eq!(applied, &plan);
}

#[tokio::test]
async fn a_protected_manifest_is_never_deleted_by_d() {
    let mut app = storage_view().await;
    app.update(Action::SwitchMode);
    app.update(Action::MoveDown);
    app.update(Action::MoveDown); // protected 2
    let effects = app.update(Action::RequestDelete);
    assert!(read_storage(&effects).is_none(), "{effects:?}");
    assert!(app.dialog().is_none());
    assert!(error_text(&app).contains("cannot be marked"));
}

#[tokio::test]
async fn leaving_the_view_before_the_fresh_read_opens_no_dialog() {
    let mut app = storage_view().await;
    app.update(Action::SwitchMode);
    app.update(Action::ToggleMark);
    let effects = app.update(Action::RequestDelete);
    let (req, _, _) = read_storage(&effects).expect("a fresh read");
    app.update(Action::Back);
    app.update(Action::StorageRead {
        req,
        result: Ok(reading(storage())),
    });
    assert!(app.dialog().is_none());
    // The mark stays for when the user comes back.
    assert_eq!(marked(&app), [d(6)]);
}
