//! Results arriving from workers: streaming lists, resolution, caching, stale answers.

use super::*;

#[test]
fn repositories_stream_in_and_the_selection_follows_its_row() {
    let (mut app, effects) = demo_app(true);
    let req = effects.iter().find_map(|e| match e {
        Effect::ListRepos { req, .. } => Some(*req),
        _ => None,
    });
    let req = req.unwrap();
    app.update(Action::ReposPage {
        req,
        repos: vec![repo("team/api")],
    });
    assert!(app.top().is_loading());
    app.update(Action::ReposPage {
        req,
        repos: vec![repo("library/alpine")],
    });
    let View::Repos(v) = app.top() else { panic!() };
    // team/api was selected and stays selected though alpine sorted before it.
    assert_eq!(v.selected().unwrap().name, repo("team/api"));
    assert_eq!(v.listing.table.selected(), Some(1));
    app.update(Action::TagsCounted {
        req,
        repo: repo("team/api"),
        result: Ok(3),
    });
    app.update(Action::ReposListed {
        req,
        result: Ok(vec![repo("library/alpine"), repo("team/api")]),
    });
    app.update(Action::TagsCounted {
        req,
        repo: repo("library/alpine"),
        result: Ok(2),
    });
    let View::Repos(v) = app.top() else { panic!() };
    assert_eq!(v.progress(), "repositories 2");
    assert!(!app.top().is_loading());
    assert!(v.loads.is_empty(), "finished work is forgotten");
}

#[test]
fn leaving_a_view_aborts_its_work_and_drops_its_late_results() {
    let (mut app, effects) = demo_app(true);
    let Some(Effect::ListRepos { req, .. }) = effects.get(1) else {
        panic!()
    };
    list_repos(&mut app, *req);
    let tags_req = open_nginx(&mut app);
    assert_eq!(
        kinds(&app),
        [ViewKind::Registries, ViewKind::Repos, ViewKind::Tags]
    );
    let effects = app.update(Action::Back);
    assert_eq!(effects, [Effect::Abort(vec![tags_req])]);
    assert_eq!(kinds(&app), [ViewKind::Registries, ViewKind::Repos]);
    // The tag list arrives after all: nothing changes and nothing starts.
    let effects = app.update(Action::TagsLoaded {
        req: tags_req,
        result: Ok(vec![tag("1.27")]),
    });
    assert!(effects.is_empty());
    assert_eq!(kinds(&app), [ViewKind::Registries, ViewKind::Repos]);
}

#[tokio::test]
async fn tags_resolve_fill_in_and_revisits_fetch_nothing() {
    let (mut app, _) = demo_app(true);
    list_repos(&mut app, ReqId(2));
    let req = open_nginx(&mut app);
    let tags = vec![tag("1.26"), tag("1.27"), tag("latest")];
    let effects = app.update(Action::TagsLoaded {
        req,
        result: Ok(tags.clone()),
    });
    let [
        Effect::ResolveTags {
            req: resolve,
            tags: asked,
            known,
            ..
        },
    ] = effects.as_slice()
    else {
        panic!("expected ResolveTags, got {effects:?}")
    };
    assert_eq!(asked, &tags);
    assert!(known.is_empty());
    let resolve = *resolve;
    let new = tree("library/nginx", "1.27").await;
    let old = tree("library/nginx", "1.26").await;
    let head = |t: &ImageTree| ManifestHead {
        digest: t.root.digest.clone(),
        media_type: t.root.media_type.clone(),
        size: t.root.bytes.len() as u64,
    };
    for (name, t) in [("1.27", &new), ("latest", &new), ("1.26", &old)] {
        app.update(Action::TagResolved {
            req: resolve,
            tag: tag(name),
            result: Ok(head(t)),
        });
    }
    assert_eq!(app.top().progress().unwrap(), "tags 0/3");
    app.update(Action::ImageLoaded {
        req: resolve,
        tree: new.clone(),
    });
    assert_eq!(
        app.top().progress().unwrap(),
        "tags 2/3",
        "the alias filled in too"
    );
    app.update(Action::ImageLoaded {
        req: resolve,
        tree: old.clone(),
    });
    let View::Tags(v) = app.top() else { panic!() };
    assert!(v.is_complete() && v.loads.is_empty());
    let latest = v.rows.iter().find(|r| r.tag == tag("latest")).unwrap();
    assert!(
        matches!(&latest.image, Field::Known(s) if s.platforms == "linux/amd64, linux/arm64/v8")
    );

    // The tag count is now known in the list below; sizes wait for the storage scan, which
    // has reported nothing in this test.
    app.update(Action::Back);
    let View::Repos(v) = app.top() else { panic!() };
    let nginx = v.selected().unwrap();
    assert_eq!(nginx.tags, Field::Known(3));
    let waiting = crate::tui::columns::RepoSizes {
        logical: Field::Loading,
        stored: Field::Loading,
        unique: Field::Loading,
    };
    assert_eq!(nginx.sizes, Some(waiting));

    // Coming back costs nothing.
    assert!(app.update(Action::Open).is_empty());
    let View::Tags(v) = app.top() else { panic!() };
    assert!(v.is_complete());
    // And an alias opens from the cache, straight to the platforms of the index.
    app.update(Action::Last); // latest
    assert!(app.update(Action::Open).is_empty());
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

#[tokio::test]
async fn an_uncached_tag_is_fetched_then_opens_its_view() {
    let (mut app, _) = demo_app(true);
    list_repos(&mut app, ReqId(2));
    app.update(Action::First); // library/alpine
    let effects = app.update(Action::Open);
    let req = req_of(&effects);
    app.update(Action::TagsLoaded {
        req,
        result: Ok(vec![tag("3.21")]),
    });
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
    let (mut app, _) = demo_app(true);
    let error = RegistryError::NoCatalog {
        host: "demo".into(),
        detail: "404".into(),
    };
    app.update(Action::ReposListed {
        req: ReqId(2),
        result: Err(error),
    });
    assert!(matches!(app.message(), Some(Message::Error(e)) if e.contains("no catalog")));
    let View::Repos(v) = app.top() else { panic!() };
    assert!(v.failed.is_some());
    assert!(!app.top().is_loading());
    // Refresh tries again with a new request, and scans again.
    let effects = app.update(Action::Refresh);
    assert!(
        matches!(
            effects.as_slice(),
            [
                Effect::Abort(_),
                Effect::ListRepos { req: ReqId(4), .. },
                Effect::Abort(scan),
                Effect::Scan { req: ReqId(5), repos: None, .. },
            ] if scan == &[ReqId(3)]
        ),
        "{effects:?}"
    );
    assert_eq!(app.message(), None);
}

#[tokio::test]
async fn an_image_opened_early_fills_the_tag_list_below() {
    let (mut app, _) = demo_app(true);
    list_repos(&mut app, ReqId(2));
    app.update(Action::First); // library/alpine
    let req = req_of(&app.update(Action::Open));
    let effects = app.update(Action::TagsLoaded {
        req,
        result: Ok(vec![tag("3.21")]),
    });
    let resolve = req_of(&effects);
    let alpine = tree("library/alpine", "3.21").await;
    let head = ManifestHead {
        digest: alpine.root.digest.clone(),
        media_type: alpine.root.media_type.clone(),
        size: alpine.root.bytes.len() as u64,
    };
    app.update(Action::TagResolved {
        req: resolve,
        tag: tag("3.21"),
        result: Ok(head),
    });
    // Resolved but not fetched yet: opening fetches by digest.
    let effects = app.update(Action::Open);
    let [
        Effect::FetchImage {
            req,
            reference: ManifestRef::Digest(d),
            ..
        },
    ] = effects.as_slice()
    else {
        panic!("expected FetchImage by digest, got {effects:?}")
    };
    assert_eq!(d, &alpine.root.digest);
    app.update(Action::ImageLoaded {
        req: *req,
        tree: alpine,
    });
    assert_eq!(app.top().kind(), ViewKind::Layers);
    let View::Tags(v) = &app.stack()[2] else {
        panic!()
    };
    assert!(v.is_complete(), "the tag list got the image too");
    assert!(v.loads.is_empty());
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
    async fn resolve(&self, _: &RepoName, _: &ManifestRef) -> Result<ManifestHead, RegistryError> {
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
    // Counting the tags panicked: the list stays, and stops waiting.
    assert_eq!(v.listing.shown(), 1);
    assert!(v.failed.is_some());
    assert!(!app.is_loading());
    let effects = app.update(Action::Open);
    crate::tui::memory::run_until_idle(&mut app, effects).await;
    let View::Tags(v) = app.top() else { panic!() };
    assert!(
        v.failed
            .as_deref()
            .is_some_and(|e| e.contains("tag list exploded"))
    );
    assert!(!app.is_loading());
    assert!(matches!(app.message(), Some(Message::Error(_))));
}
