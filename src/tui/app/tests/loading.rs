//! Lists filled from the storage scan: the repository list and tag lists stream in from its
//! events, a view asks for priority, images open through the documents the scan read, and
//! answers to work that was left are dropped.

use super::*;
use crate::scan::{ScanOptions, scan};
use crate::tui::memory::{ImageSpec, MemorySource};

/// Every event a scan of `source` reports, in order.
async fn events_of(source: &MemorySource) -> Vec<ScanEvent> {
    let seen = std::sync::Mutex::new(Vec::new());
    let sink = |e: &ScanEvent| seen.lock().unwrap().push(e.clone());
    scan(source, &ScanOptions::default(), &sink).await.unwrap();
    seen.into_inner().unwrap()
}

/// The events that tell about manifests and configs (not about repositories and tags).
fn documents(events: &[ScanEvent]) -> Vec<ScanEvent> {
    events
        .iter()
        .filter(|e| matches!(e, ScanEvent::Manifest { .. } | ScanEvent::Config { .. }))
        .cloned()
        .collect()
}

fn scan_req(effects: &[Effect]) -> ReqId {
    effects
        .iter()
        .find_map(|e| match e {
            Effect::Scan { req, .. } => Some(*req),
            _ => None,
        })
        .expect("a scan")
}

#[test]
fn repositories_stream_in_from_the_scan_and_the_selection_follows_its_row() {
    let (mut app, effects) = demo_app(true);
    let req = scan_req(&effects);
    scanned(
        &mut app,
        req,
        ScanEvent::Repositories(vec![repo("team/api")]),
    );
    assert!(app.top().is_loading());
    scanned(
        &mut app,
        req,
        ScanEvent::Repositories(vec![repo("library/alpine")]),
    );
    let View::Repos(v) = app.top() else { panic!() };
    // team/api was selected and stays selected though alpine sorted before it.
    assert_eq!(v.selected().unwrap().name, repo("team/api"));
    assert_eq!(v.listing.table.selected(), Some(1));
    let tags = |n: &[&str]| n.iter().map(|t| tag(t)).collect();
    scanned(
        &mut app,
        req,
        ScanEvent::Tags {
            repo: repo("team/api"),
            tags: tags(&["v1", "v2", "main"]),
        },
    );
    scanned(&mut app, req, ScanEvent::RepositoriesListed);
    let View::Repos(v) = app.top() else { panic!() };
    assert_eq!(v.progress(), "repositories 2 · tags counted 1/2");
    scanned(
        &mut app,
        req,
        ScanEvent::Tags {
            repo: repo("library/alpine"),
            tags: tags(&["3.21", "latest"]),
        },
    );
    let View::Repos(v) = app.top() else { panic!() };
    assert_eq!(v.progress(), "repositories 2");
    assert!(!app.top().is_loading());
    assert_eq!(v.selected().unwrap().tags, Field::Known(3));
}

#[test]
fn a_tag_list_asks_for_priority_and_leaving_it_keeps_the_scan() {
    let (mut app, effects) = demo_app(true);
    let req = scan_req(&effects);
    list_repos(&mut app, req);
    let scan = open_nginx(&mut app);
    assert_eq!(
        scan, req,
        "the registry's scan is asked, no request of its own"
    );
    assert_eq!(
        kinds(&app),
        [ViewKind::Registries, ViewKind::Repos, ViewKind::Tags]
    );
    assert!(app.top().is_loading());
    // The scan goes on for the storage numbers: leaving the tag list stops nothing.
    assert!(app.update(Action::Back).is_empty());
    assert_eq!(kinds(&app), [ViewKind::Registries, ViewKind::Repos]);
    // Its tags arrive after all: they count in the repository list.
    let effects = scanned(
        &mut app,
        req,
        ScanEvent::Tags {
            repo: repo("library/nginx"),
            tags: vec![tag("1.27")],
        },
    );
    assert!(effects.is_empty());
    let View::Repos(v) = app.top() else { panic!() };
    assert_eq!(v.selected().unwrap().tags, Field::Known(1));
    // Leaving the registry stops its scan; a late event of it is dropped.
    assert_eq!(app.update(Action::Back), [Effect::Abort(vec![req])]);
    scanned(&mut app, req, ScanEvent::RepositoriesListed);
    assert_eq!(kinds(&app), [ViewKind::Registries]);
}

#[tokio::test]
async fn tags_fill_in_from_the_model_as_the_scan_learns_them() {
    let (mut app, effects) = demo_app(true);
    let req = scan_req(&effects);
    let events = events_of(&fixtures::sample()).await;
    list_repos(&mut app, req);
    open_nginx(&mut app);
    let nginx = repo("library/nginx");
    for event in &events {
        match event {
            ScanEvent::Tags { repo, .. } | ScanEvent::Resolved { repo, .. } if *repo == nginx => {
                scanned(&mut app, req, event.clone());
            }
            _ => {}
        }
    }
    // Resolved, but no manifest is known yet.
    assert_eq!(app.top().progress().unwrap(), "tags 0/4");
    let View::Tags(v) = app.top() else { panic!() };
    let latest = v.rows.iter().find(|r| r.tag == tag("latest")).unwrap();
    let alias = v.rows.iter().find(|r| r.tag == tag("1.27")).unwrap();
    assert_eq!(latest.digest(), alias.digest());
    let digest = latest.digest().unwrap().clone();
    app.update_batch(
        documents(&events)
            .into_iter()
            .map(|event| Action::Scanned { req, event }),
    );
    scanned(&mut app, req, ScanEvent::RepositoryScanned(nginx.clone()));
    let View::Tags(v) = app.top() else { panic!() };
    assert!(v.is_complete(), "{}", v.progress());
    let latest = v.rows.iter().find(|r| r.tag == tag("latest")).unwrap();
    // The numbers are the model's: the ones `regatta du` and the policies use.
    let storage = app.storage(0).unwrap();
    assert_eq!(
        latest.image,
        Field::Known(storage.summary(&digest).unwrap())
    );
    assert!(
        matches!(&latest.image, Field::Known(s) if s.platforms == "linux/amd64, linux/arm64/v8")
    );

    // Coming back asks nothing: the scan is done with the repository.
    app.update(Action::Back);
    let View::Repos(v) = app.top() else { panic!() };
    assert_eq!(v.selected().unwrap().tags, Field::Known(4));
    assert!(app.update(Action::Open).is_empty());
    let View::Tags(v) = app.top() else { panic!() };
    assert!(v.is_complete());
    // An image opens by its digest, through the documents the scan read.
    app.update(Action::Last); // latest
    let effects = app.update(Action::Open);
    let [
        Effect::FetchImage {
            req: fetch,
            reference: ManifestRef::Digest(d),
            ..
        },
    ] = effects.as_slice()
    else {
        panic!("expected FetchImage by digest, got {effects:?}")
    };
    assert_eq!(d, &digest);
    let fetch = *fetch;
    app.update(Action::ImageLoaded {
        req: fetch,
        tree: tree("library/nginx", "latest").await,
    });
    assert_eq!(app.top().kind(), ViewKind::Manifest);
    assert_eq!(
        app.crumbs(),
        ["registries", "demo", "library/nginx", "latest"]
    );
    app.update(Action::MoveDown);
    app.update(Action::Open);
    assert_eq!(app.top().kind(), ViewKind::Layers);
    assert_eq!(app.crumbs().last().unwrap(), "linux/arm64/v8");
    app.update(Action::OpenConfig);
    assert_eq!(app.top().kind(), ViewKind::Config);
}

/// ko, Bazel and nix write 1970 or 1980 as the created date: the tag list shows no age for
/// such an image from its first frame, as `regatta du`, the policies and the audit do, and
/// one with a real date shows it.
#[tokio::test]
async fn a_reproducible_build_date_is_no_age_in_the_tag_list_from_the_start() {
    let mut source = MemorySource::new("demo");
    let ko = source.add_image(&ImageSpec::new("linux", "amd64", "1970-01-01T00:00:00Z"));
    let bazel = source.add_image(&ImageSpec::new("linux", "arm64", "1980-01-01T00:00:01Z"));
    let dated = source.add_image(&ImageSpec::new("linux", "amd64", "2025-05-01T00:00:00Z"));
    let source = source
        .tag("app/ko", &["v1"], &ko)
        .tag("app/ko", &["v2"], &bazel)
        .tag("app/ko", &["v3"], &dated);
    let events = events_of(&source).await;
    let mut app = App::new(
        vec![entry("demo", Ok(shared(source)))],
        true,
        now(),
        Theme::PLAIN,
    );
    let req = scan_req(&app.start());
    let mut ages = Vec::new();
    for event in events {
        let opened = app.top().kind() == ViewKind::Tags;
        scanned(&mut app, req, event);
        if !opened && app.top().kind() == ViewKind::Repos {
            let View::Repos(v) = app.top() else { panic!() };
            if crate::tui::listing::Rows::len(&v.rows) == 1 {
                app.update(Action::Open);
            }
        }
        // Every frame of the list: an age is either the real one or none at all.
        if let View::Tags(v) = app.top() {
            for row in v.rows.iter() {
                if let Field::Known(s) = &row.image {
                    ages.push((row.tag.to_string(), s.created));
                }
            }
        }
    }
    let View::Tags(v) = app.top() else { panic!() };
    assert!(v.is_complete());
    assert!(!ages.is_empty());
    for (tag, created) in &ages {
        match tag.as_str() {
            "v1" | "v2" => assert_eq!(*created, None, "{tag}: {ages:?}"),
            _ => {}
        }
    }
    let created = |t: &str| {
        v.rows
            .iter()
            .find(|r| r.tag == tag(t))
            .and_then(|r| r.image.known())
            .map(|s| s.created)
    };
    assert_eq!(created("v1"), Some(None));
    assert_eq!(created("v2"), Some(None));
    assert_eq!(
        created("v3"),
        Some(Some("2025-05-01T00:00:00Z".parse().unwrap()))
    );
}

#[tokio::test]
async fn a_tag_opened_before_the_scan_resolves_it_is_fetched_by_tag() {
    let (mut app, effects) = demo_app(true);
    let req = scan_req(&effects);
    list_repos(&mut app, req);
    app.update(Action::First); // library/alpine
    app.update(Action::Open);
    scanned(
        &mut app,
        req,
        ScanEvent::Tags {
            repo: repo("library/alpine"),
            tags: vec![tag("3.21")],
        },
    );
    // Not resolved yet: opening fetches by tag.
    let effects = app.update(Action::Open);
    let [
        Effect::FetchImage {
            req,
            reference: ManifestRef::Tag(t),
            ..
        },
    ] = effects.as_slice()
    else {
        panic!("expected FetchImage, got {effects:?}")
    };
    assert_eq!(t, &tag("3.21"));
    assert_eq!(app.top().kind(), ViewKind::Pending);
    let alpine = tree("library/alpine", "3.21").await;
    app.update(Action::ImageLoaded {
        req: *req,
        tree: alpine,
    });
    // A single manifest goes straight to its layers, with tag and platform in the crumbs.
    assert_eq!(app.top().kind(), ViewKind::Layers);
    let crumbs = app.crumbs();
    assert_eq!(crumbs[crumbs.len() - 2..], ["3.21", "linux/amd64"]);
    let effects = app.update(Action::CopyReference);
    let [Effect::Copy(text)] = effects.as_slice() else {
        panic!()
    };
    assert!(
        text.starts_with("demo.example/library/alpine@sha256:"),
        "{text}"
    );
}

#[test]
fn failures_show_in_the_message_line_and_the_app_goes_on() {
    let (mut app, effects) = demo_app(true);
    let req = scan_req(&effects);
    let error = RegistryError::NoCatalog {
        host: "demo".into(),
        detail: "404".into(),
    };
    app.update(Action::ScanFinished {
        req,
        result: Err(error),
    });
    assert!(matches!(app.message(), Some(Message::Error(e)) if e.contains("no catalog")));
    let View::Repos(v) = app.top() else { panic!() };
    assert!(v.failed.is_some());
    assert!(!app.top().is_loading());
    // Refresh tries again: one new scan.
    let effects = app.update(Action::Refresh);
    assert!(
        matches!(effects.as_slice(), [Effect::Scan { repos: None, req: new, .. }] if *new != req),
        "{effects:?}"
    );
    assert_eq!(app.message(), None);
}

#[test]
fn refreshing_a_tag_list_scans_its_repository_again_and_nothing_else() {
    let (mut app, effects) = demo_app(true);
    let req = scan_req(&effects);
    list_repos(&mut app, req);
    app.update(Action::ScanFinished {
        req,
        result: Ok(()),
    });
    open_nginx_after_scan(&mut app);
    let effects = app.update(Action::Refresh);
    assert!(
        matches!(effects.as_slice(), [Effect::Scan { repos: Some(r), .. }] if *r == [repo("library/nginx")]),
        "{effects:?}"
    );
    let View::Tags(v) = app.top() else { panic!() };
    assert!(!v.listed && v.is_loading());
}

/// Opens `library/nginx` once the scan is over: nothing is asked.
fn open_nginx_after_scan(app: &mut App) {
    app.update(Action::Filter);
    for c in "nginx".chars() {
        app.update(Action::FilterChar(c));
    }
    app.update(Action::FilterKeep);
    assert!(app.update(Action::Open).is_empty());
}

/// A source whose tag listing panics, standing in for a bug met in the middle of loading.
struct PanickingSource;

#[async_trait::async_trait]
impl Source for PanickingSource {
    fn name(&self) -> String {
        "panicky".into()
    }
    fn reference_prefix(&self, repo: &RepoName) -> String {
        format!("panicky.example/{repo}")
    }
    async fn repositories(
        &self,
        on_page: crate::registry::PageSink<'_, RepoName>,
    ) -> Result<Vec<RepoName>, RegistryError> {
        on_page(&[repo("a/b")]);
        Ok(vec![repo("a/b")])
    }
    async fn tags(&self, _repo: &RepoName) -> Result<Vec<Tag>, RegistryError> {
        panic!("tag list exploded")
    }
    async fn resolve(
        &self,
        _: &RepoName,
        _: &ManifestRef,
    ) -> Result<crate::registry::ManifestHead, RegistryError> {
        unreachable!()
    }
    async fn manifest(
        &self,
        _: &RepoName,
        _: &ManifestRef,
    ) -> Result<crate::registry::FetchedManifest, RegistryError> {
        unreachable!()
    }
    async fn blob(
        &self,
        _: &RepoName,
        _: &crate::registry::Digest,
    ) -> Result<Vec<u8>, RegistryError> {
        unreachable!()
    }
}

#[tokio::test]
async fn a_panicking_worker_fails_its_request_and_the_app_goes_on() {
    let entries = vec![entry("panicky", Ok(Arc::new(PanickingSource)))];
    let mut app = App::new(entries, true, now(), Theme::PLAIN);
    let effects = app.start();
    crate::tui::memory::run_until_idle(&mut app, effects).await;
    let View::Repos(v) = app.top() else { panic!() };
    // Listing the tags panicked: the list stays, and stops waiting.
    assert_eq!(v.listing.shown(), 1);
    assert!(v.failed.is_some());
    assert!(!app.is_loading());
    let effects = app.update(Action::Open);
    crate::tui::memory::run_until_idle(&mut app, effects).await;
    let View::Tags(v) = app.top() else { panic!() };
    assert!(
        v.failed
            .as_deref()
            .is_some_and(|e| e.contains("tag list exploded")),
        "{:?}",
        v.failed
    );
    assert!(!app.is_loading());
    assert!(matches!(app.message(), Some(Message::Error(_))));
}
