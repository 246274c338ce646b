//! The storage scan's results, the numbers derived from them, marks and "would free".

use std::sync::Mutex;

use super::*;
use crate::analysis::freed::plan_deletion;
use crate::analysis::model::{ScanEvent, StorageModel};
use crate::analysis::storage::{registry_stats, repo_stats};
use crate::scan::{ScanOptions, scan};
use crate::tui::columns::RepoSizes;
use crate::tui::memory::{MemorySource, run_until_idle};

/// Every event a scan of `source` reports, in order.
pub(super) async fn scan_events(source: &MemorySource) -> Vec<ScanEvent> {
    let events = Mutex::new(Vec::new());
    let sink = |e: &ScanEvent| events.lock().unwrap().push(e.clone());
    scan(source, &ScanOptions::default(), &sink).await.unwrap();
    events.into_inner().unwrap()
}

pub(super) fn scan_req(effects: &[Effect]) -> ReqId {
    effects
        .iter()
        .find_map(|e| match e {
            Effect::Scan { req, .. } => Some(*req),
            _ => None,
        })
        .expect("a scan")
}

fn sizes_of(app: &App, name: &str) -> Option<RepoSizes> {
    let View::Repos(v) = &app.stack()[1] else {
        panic!("no repository list")
    };
    let listing = &v.listing;
    (0..listing.shown())
        .filter_map(|p| v.rows.get(listing.row_at(p)?))
        .find(|r| r.name.as_str() == name)
        .and_then(|r| r.sizes)
}

#[tokio::test]
async fn scan_progress_then_numbers_as_du_computes_them() {
    let (mut app, effects) = demo_app(true);
    let scan = scan_req(&effects);
    list_repos(&mut app, ReqId(2));
    let events = scan_events(&fixtures::sample()).await;
    // The first repository's events: its tags listed, one resolved.
    let alpine = repo("library/alpine");
    app.update(Action::Scanned {
        req: scan,
        event: ScanEvent::Repositories(vec![alpine.clone()]),
    });
    app.update(Action::Scanned {
        req: scan,
        event: ScanEvent::Tags {
            repo: alpine.clone(),
            tags: vec![tag("3.19"), tag("3.21"), tag("latest")],
        },
    });
    let resolved = events
        .iter()
        .find(|e| matches!(e, ScanEvent::Resolved { repo, .. } if *repo == alpine))
        .unwrap()
        .clone();
    app.update(Action::Scanned {
        req: scan,
        event: resolved,
    });
    let storage = app.storage(0).unwrap();
    assert_eq!(storage.progress().as_deref(), Some("scanning tags 1/3"));
    assert!(app.is_loading(), "the spinner turns while scanning");
    let waiting = RepoSizes {
        logical: Field::Loading,
        stored: Field::Loading,
        unique: Field::Loading,
    };
    assert_eq!(sizes_of(&app, "library/alpine"), Some(waiting));

    // Everything else arrives in one batch: numbers wait for a tick while scanning.
    let rest: Vec<Action> = events
        .into_iter()
        .map(|event| Action::Scanned { req: scan, event })
        .collect();
    let generation = app.storage(0).unwrap().generation();
    app.update_batch(rest);
    assert_eq!(app.storage(0).unwrap().generation(), generation);
    app.update(Action::Tick);
    assert_eq!(app.storage(0).unwrap().generation(), generation + 1);
    // A repository fully scanned has its own numbers; unique waits for the whole registry.
    let api = sizes_of(&app, "team/api").unwrap();
    assert!(matches!(api.stored, Field::Known(_)));
    assert_eq!(api.unique, Field::Loading);

    app.update(Action::ScanFinished {
        req: scan,
        result: Ok(()),
    });
    let storage = app.storage(0).unwrap();
    assert_eq!(storage.progress(), None);
    assert!(!storage.is_scanning());
    // The same numbers `regatta du` prints, from a model built the same way.
    let mut model = StorageModel::default();
    for e in scan_events(&fixtures::sample()).await {
        model.apply(e);
    }
    // (team/empty is not in this list: list_repos leaves it out.)
    for stats in repo_stats(&model)
        .into_iter()
        .filter(|s| s.repository != "team/empty")
    {
        let sizes = sizes_of(&app, &stats.repository);
        assert_eq!(
            sizes,
            Some(RepoSizes {
                logical: Field::Known(stats.logical_bytes),
                stored: Field::Known(stats.stored_bytes),
                unique: Field::Known(stats.unique_bytes),
            }),
            "{}",
            stats.repository
        );
    }
}

#[test]
fn leaving_the_registry_stops_its_scan_and_drops_late_results() {
    let (mut app, effects) = demo_app(true);
    let scan = scan_req(&effects);
    let effects = app.update(Action::Back);
    assert_eq!(effects, [Effect::Abort(vec![scan])]);
    app.update(Action::Scanned {
        req: scan,
        event: ScanEvent::Repositories(vec![repo("late/one")]),
    });
    assert!(app.storage(0).unwrap().model.repos.is_empty());
    // Coming back scans again from the start.
    let effects = app.update(Action::Open);
    assert!(matches!(
        effects.as_slice(),
        [Effect::Scan { repos: None, .. }]
    ));
}

/// The sample registry opened with its storage scanned in full.
pub(super) async fn scanned(entries: Vec<RegistryEntry>) -> App {
    let mut app = App::new(entries, true, now(), Theme::PLAIN);
    app.update(Action::Resize {
        width: 100,
        height: 20,
    });
    let effects = app.start();
    run_until_idle(&mut app, effects).await;
    assert_eq!(
        app.storage(0).unwrap().scan,
        crate::tui::storage::ScanState::Finished
    );
    app
}

/// Opens `name` from the repository list (filtering to it); returns the effects.
pub(super) fn open_repo(app: &mut App, name: &str) -> Vec<Effect> {
    while app.stack().len() > 2 {
        app.update(Action::Back);
    }
    app.update(Action::FilterClear);
    app.update(Action::Filter);
    for c in name.chars() {
        app.update(Action::FilterChar(c));
    }
    app.update(Action::FilterKeep);
    app.update(Action::Open)
}

/// Selects `name` in the tag list in front.
pub(super) fn select_tag(app: &mut App, name: &str) {
    app.update(Action::First);
    for _ in 0..100 {
        let View::Tags(v) = app.top() else {
            panic!("not a tag list")
        };
        if v.selected().is_some_and(|r| r.tag.as_str() == name) {
            return;
        }
        app.update(Action::MoveDown);
    }
    panic!("no tag {name}");
}

#[tokio::test]
async fn marks_survive_navigation_and_would_free_follows_them() {
    let mut app = scanned(vec![entry("demo", Ok(shared(fixtures::sample())))]).await;
    // The scan has every tag: the list opens from the model, with no request.
    assert!(open_repo(&mut app, "nginx").is_empty());
    let View::Tags(v) = app.top() else { panic!() };
    assert!(v.is_complete());
    select_tag(&mut app, "1.26");
    app.update(Action::ToggleMark);
    let View::Tags(v) = app.top() else { panic!() };
    assert_eq!(
        v.selected().unwrap().tag,
        tag("1.27"),
        "space moves to the next tag"
    );
    let model = app.storage(0).unwrap().model.clone();
    let physical = registry_stats(&model, &repo_stats(&model)).physical_bytes;
    let nginx = (repo("library/nginx"), tag("1.26"));
    let freed = plan_deletion(&model, std::slice::from_ref(&nginx)).bytes_freed;
    assert!(freed > 0);
    assert_eq!(
        app.storage(0).unwrap().would_free(),
        Some((freed, physical))
    );

    // Marks stay while another repository is browsed, and add up.
    open_repo(&mut app, "alpine");
    select_tag(&mut app, "3.19");
    app.update(Action::ToggleMark);
    let alpine = (repo("library/alpine"), tag("3.19"));
    let both = plan_deletion(&model, &[alpine.clone(), nginx.clone()]).bytes_freed;
    let storage = app.storage(0).unwrap();
    assert_eq!(storage.marks().len(), 2);
    assert_eq!(storage.would_free(), Some((both, physical)));
    assert!(
        storage
            .marks_text()
            .unwrap()
            .starts_with("2 marked · would free ")
    );
    // Unmarking is the same key.
    select_tag(&mut app, "3.19");
    app.update(Action::ToggleMark);
    assert_eq!(
        app.storage(0).unwrap().would_free(),
        Some((freed, physical))
    );
    app.update(Action::ClearMarks);
    assert_eq!(app.storage(0).unwrap().would_free(), None);
    assert!(app.storage(0).unwrap().marks_text().is_none());
}

#[tokio::test]
async fn the_storage_view_ranks_by_unique_bytes_and_follows_the_selection() {
    let mut app = scanned(vec![entry("demo", Ok(shared(fixtures::sample())))]).await;
    app.update(Action::OpenStorage);
    let View::Storage(v) = app.top() else {
        panic!()
    };
    let ranking: Vec<_> = v.ranking.iter().map(|r| r.repository.as_str()).collect();
    assert_eq!(
        ranking,
        ["library/nginx", "team/api", "library/alpine", "team/empty"]
    );
    // It opened on the repository selected in the list (the first by name).
    assert_eq!(v.selected_repo(), Some("library/alpine"));
    let detail = v.detail.as_ref().unwrap();
    assert_eq!(detail.ages.iter().sum::<usize>(), 3);
    assert_eq!(detail.sharing.tags_sharing, 2, "3.21 and latest");
    app.update(Action::First);
    let View::Storage(v) = app.top() else {
        panic!()
    };
    assert_eq!(v.detail.as_ref().unwrap().repo, repo("library/nginx"));
    // Enter opens the repository.
    assert!(app.update(Action::Open).is_empty());
    assert_eq!(app.crumbs().last().unwrap(), "library/nginx");
}

#[tokio::test]
async fn the_layers_of_a_tag_name_who_else_uses_each_blob() {
    let mut app = scanned(vec![entry("demo", Ok(shared(fixtures::sample())))]).await;
    open_repo(&mut app, "alpine");
    select_tag(&mut app, "3.19");
    let effects = app.update(Action::Open);
    run_until_idle(&mut app, effects).await;
    let View::Layers(v) = app.top() else {
        panic!("not the layers: {:?}", app.top().kind())
    };
    let sharing = v.sharing.as_ref().expect("sharing from the model");
    // 3.19 has no alias and its one layer is its own: everything is unique to it.
    let model = &app.storage(0).unwrap().model;
    let alone = plan_deletion(model, &[(repo("library/alpine"), tag("3.19"))]).bytes_freed;
    assert_eq!(sharing.unique_bytes, alone);
    assert_eq!(
        app.top().progress().unwrap(),
        format!("unique to this tag {}", crate::tui::format::size(alone))
    );
    open_repo(&mut app, "alpine");
    select_tag(&mut app, "3.21");
    let effects = app.update(Action::Open);
    run_until_idle(&mut app, effects).await;
    let View::Layers(v) = app.top() else { panic!() };
    // latest is the same image; the api images are built on the same base layer.
    assert!(v.detail().unwrap().contains("library/alpine:latest"));
    assert!(v.detail().unwrap().contains("team/api:"));
    assert_eq!(v.sharing.as_ref().unwrap().unique_bytes, 0);
}

#[test]
fn a_failed_repository_listing_is_said_once() {
    let (mut app, effects) = demo_app(true);
    let refused = crate::registry::RegistryError::Unauthorized {
        host: "demo.example".into(),
        detail: "the registry refused the credentials of user \"ci\"".into(),
    };
    app.update(Action::ScanFinished {
        req: scan_req(&effects),
        result: Err(refused.clone()),
    });
    let Some(Message::Error(shown)) = app.message().cloned() else {
        panic!("the failure is shown")
    };
    assert_eq!(
        shown,
        format!("cannot list the repositories of demo: {refused}")
    );
    let View::Repos(v) = app.top() else { panic!() };
    assert_eq!(v.failed.as_deref(), Some(refused.to_string().as_str()));
    assert!(!app.top().is_loading());
}

#[test]
fn a_partial_scan_is_said_in_the_clis_words() {
    let (mut app, effects) = demo_app(true);
    let req = scan_req(&effects);
    for n in 0..2 {
        app.update(Action::Scanned {
            req,
            event: crate::analysis::model::ScanEvent::Failed {
                repo: None,
                what: format!("app:v{n}"),
                error: "HTTP 500\u{1b}[2J".into(),
            },
        });
    }
    app.update(Action::ScanFinished {
        req,
        result: Ok(()),
    });
    let Some(Message::Error(shown)) = app.message().cloned() else {
        panic!("the partial scan is said")
    };
    let first = crate::analysis::model::ScanFailure {
        what: "app:v0".into(),
        error: "HTTP 500\u{1b}[2J".into(),
    };
    assert_eq!(
        shown,
        format!(
            "{} (first: {})",
            crate::present::failures::incomplete(2, "the numbers leave those parts out"),
            crate::present::failures::failure_line(&first)
        )
    );
    assert!(
        shown.starts_with("the scan is incomplete (2 failures); the numbers leave those parts out (first: app:v0: HTTP 500"),
        "{shown}"
    );
    assert!(!shown.contains('\u{1b}'), "{shown}");
}

/// A repository whose image is signed: the storage view splits its bytes into images and
/// attached artifacts, with the numbers `regatta du` prints.
#[tokio::test]
async fn the_storage_view_splits_images_and_attached_artifacts() {
    use crate::tui::memory::ImageSpec;
    let mut source = MemorySource::new("signed");
    let image = source.add_image(
        &ImageSpec::new("linux", "amd64", "2025-01-01T00:00:00Z").layer(4000, "RUN build"),
    );
    // cosign's tag scheme: the signature is attached to the image by its tag name.
    let signature = source.add_image(
        &ImageSpec::new("linux", "amd64", "2025-01-02T00:00:00Z").layer(300, "signature"),
    );
    let sig_tag = format!("sha256-{}.sig", image.hex());
    let source = source
        .tag("app", &["v1"], &image)
        .tag("app", &[sig_tag.as_str()], &signature);
    let mut app = scanned(vec![entry("signed", Ok(shared(source)))]).await;
    let model = app.storage(0).unwrap().model.clone();
    let stats = repo_stats(&model);
    let app_stats = &stats[0];
    // Independently: the signature's own blobs are the artifact part.
    let signature_bytes = crate::analysis::storage::manifests_bytes(&model, &[signature]);
    assert!(signature_bytes > 300);
    assert_eq!(app_stats.artifact_bytes, signature_bytes);
    assert_eq!(
        app_stats.image_bytes + app_stats.artifact_bytes,
        app_stats.stored_bytes
    );
    app.update(Action::OpenStorage);
    let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(100, 24)).unwrap();
    t.draw(|f| draw::draw(&app, f)).unwrap();
    let screen = format!("{}", t.backend());
    let want = format!(
        "images {} · attached artifacts {}",
        crate::tui::format::size(app_stats.image_bytes),
        crate::tui::format::size(app_stats.artifact_bytes)
    );
    assert!(screen.contains(&want), "{want:?} not in:\n{screen}");
}

/// The sample registry (with a client, as a registry has), scanned, with `storage` in its
/// config entry when given.
pub(super) async fn scanned_with_storage(location: Option<&str>) -> App {
    let client = crate::registry::Client::new(
        crate::registry::RegistryAddr::parse("demo.example").unwrap(),
        crate::registry::ClientOptions::default(),
    )
    .unwrap();
    let entries = vec![RegistryEntry {
        client: Some(client),
        ..entry("demo", Ok(shared(fixtures::sample())))
    }];
    let locations = location
        .map(|l| [("demo".to_string(), l.to_string())].into())
        .unwrap_or_default();
    let mut app = App::new(entries, true, now(), Theme::PLAIN).with_storage_locations(locations);
    app.update(Action::Resize {
        width: 100,
        height: 30,
    });
    let effects = app.start();
    run_until_idle(&mut app, effects).await;
    app
}

pub(super) fn read_storage(effects: &[Effect]) -> Option<(ReqId, &str, Timestamp)> {
    effects.iter().find_map(|e| match e {
        Effect::ReadStorage {
            req,
            location,
            abandoned_before,
        } => Some((*req, location.as_str(), *abandoned_before)),
        _ => None,
    })
}

fn below(app: &App) -> Vec<String> {
    let View::Storage(v) = app.top() else {
        panic!("the storage view, not {:?}", app.top().kind())
    };
    v.below.clone()
}

#[tokio::test]
async fn without_a_storage_entry_the_storage_view_says_what_it_cannot_see() {
    let mut app = scanned_with_storage(None).await;
    let effects = app.update(Action::OpenStorage);
    assert_eq!(read_storage(&effects), None, "{effects:?}");
    assert_eq!(
        below(&app),
        [crate::present::storage_layout::UNSEEN_TUI.to_string()]
    );
    // An OCI layout or the demo has no registry storage to speak of.
    let mut demo = scanned(vec![entry("demo", Ok(shared(fixtures::sample())))]).await;
    demo.update(Action::OpenStorage);
    assert!(below(&demo).is_empty());
}

#[tokio::test]
async fn the_storage_view_reads_the_configured_storage_once_and_shows_du_storage_lines() {
    use crate::present::storage_layout::storage_summary_lines;
    use crate::storage::account::report;
    use crate::storage::snapshot::Snapshot;

    let mut app = scanned_with_storage(Some("/srv/registry")).await;
    let effects = app.update(Action::OpenStorage);
    let (req, location, cutoff) = read_storage(&effects).expect("a read of the storage");
    assert_eq!(location, "/srv/registry");
    // Uploads count as abandoned after a day, as `du --storage` counts them by default.
    assert_eq!(cutoff, "2025-05-31T12:00:00Z".parse().unwrap());
    assert_eq!(below(&app), ["reading the storage /srv/registry…"]);

    // Leaving and coming back while it is read does not read it twice.
    app.update(Action::Back);
    let again = app.update(Action::OpenStorage);
    assert_eq!(read_storage(&again), None, "{again:?}");

    // A result for another request is dropped.
    let read = Arc::new(report(&Snapshot::default(), cutoff));
    let reading = crate::tui::storage_layout::StorageReading {
        report: read.clone(),
        snapshot: Arc::new(Snapshot::default()),
    };
    app.update(Action::StorageRead {
        req: ReqId(req.0 + 1000),
        result: Ok(reading.clone()),
    });
    assert_eq!(below(&app), ["reading the storage /srv/registry…"]);

    app.update(Action::StorageRead {
        req,
        result: Ok(reading),
    });
    // `du --storage`'s lines; its untagged manifests are rows below them.
    assert_eq!(below(&app), storage_summary_lines(&read));
    assert!(below(&app)[0].starts_with("storage "), "{:?}", below(&app));

    // Refresh reads it again; a failure is one sentence, in the view and the status line.
    let effects = app.update(Action::Refresh);
    let (again, _, _) = read_storage(&effects).expect("read again");
    assert_ne!(again, req);
    let why = "cannot read the storage /srv/registry: no such directory".to_string();
    app.update(Action::StorageRead {
        req: again,
        result: Err(why.clone()),
    });
    assert_eq!(below(&app), std::slice::from_ref(&why));
    assert!(matches!(app.message(), Some(Message::Error(e)) if *e == why));
}
