//! What is attached to images: the tag list folds bookkeeping tags under their image and
//! says what each image has attached, from the scanned model alone.

use super::*;
use crate::tui::listing::Rows;
use crate::tui::memory::run_until_idle;
use crate::tui::views::tags::TagsView;

fn attached_app() -> App {
    let entries = vec![entry("attached", Ok(shared(fixtures::attached())))];
    let mut app = App::new(entries, true, now(), Theme::PLAIN);
    app.update(Action::Resize {
        width: 140,
        height: 20,
    });
    app
}

/// The app inside `acme/app` with the whole registry scanned.
async fn in_tags() -> App {
    let mut app = attached_app();
    let effects = app.start();
    run_until_idle(&mut app, effects).await;
    let effects = app.update(Action::Open);
    run_until_idle(&mut app, effects).await;
    assert_eq!(
        kinds(&app),
        [ViewKind::Registries, ViewKind::Repos, ViewKind::Tags]
    );
    app
}

fn tags_view(app: &App) -> &TagsView {
    match app.top() {
        View::Tags(v) => v,
        other => panic!("not a tag list: {:?}", other.kind()),
    }
}

/// The tags the list shows, in order.
fn shown(app: &App) -> Vec<String> {
    let v = tags_view(app);
    (0..v.listing.shown())
        .filter_map(|p| v.rows.get(v.listing.row_at(p)?))
        .map(|r| r.tag.to_string())
        .collect()
}

#[tokio::test]
async fn bookkeeping_tags_are_folded_under_their_image_by_default() {
    let app = in_tags().await;
    assert!(app.storage(0).unwrap().model.failures.is_empty());
    assert_eq!(shown(&app), ["v1", "v1.1", "v2"]);
    let v = tags_view(&app);
    assert_eq!(v.rows.len(), 6, "every tag is still a row");
    assert_eq!(v.rows.attached_tags(), 3);
    assert_eq!(v.progress(), "tags 6/6 · 3 attached folded");

    // What is attached to v1, from the model: the cosign signature, the SBOM, and the
    // Notation signature of the SBOM (a referrer of a referrer).
    let model = &app.storage(0).unwrap().model;
    let v1 = model.repos[&repo("acme/app")].tags[&tag("v1")]
        .clone()
        .unwrap();
    let v2 = model.repos[&repo("acme/app")].tags[&tag("v2")]
        .clone()
        .unwrap();
    let summary = v.attached.get(&v1).expect("v1 has attachments");
    assert_eq!(summary.signatures, 1);
    assert_eq!(summary.sboms, 1);
    assert_eq!(summary.others, 1, "the signature of the SBOM");
    assert_eq!(summary.cell(), "sig sbom +1");
    assert!(!v.attached.contains_key(&v2), "nothing is attached to v2");
    assert_eq!(v.folded_under.get(&v1).map(Vec::len), Some(2));
    assert!(v.has_attachments());
}

#[tokio::test]
async fn the_toggle_lists_them_as_tags_and_folds_them_again() {
    let mut app = in_tags().await;
    let keyed = app.key_action(&KeyEvent::new(KeyCode::Char('a'), KeyModifiers::NONE));
    assert!(matches!(keyed, Some(Action::ToggleAttached)));
    assert!(app.update(Action::ToggleAttached).is_empty(), "no request");
    let all = shown(&app);
    assert_eq!(all.len(), 6, "{all:?}");
    assert!(all.iter().any(|t| t.ends_with(".sig")), "{all:?}");
    assert_eq!(tags_view(&app).progress(), "tags 6/6 · 3 attached shown");
    assert_eq!(
        app.message(),
        Some(&Message::Info("3 attached tags shown as tags".into()))
    );
    app.update(Action::ToggleAttached);
    assert_eq!(shown(&app), ["v1", "v1.1", "v2"]);
    // The filter never brings a folded tag back.
    app.update(Action::Filter);
    for c in "sha".chars() {
        app.update(Action::FilterChar(c));
    }
    assert!(shown(&app).is_empty(), "{:?}", shown(&app));
}

#[tokio::test]
async fn the_detail_line_counts_what_is_folded_under_the_image() {
    let app = in_tags().await;
    let detail = tags_view(&app).detail().expect("a detail line");
    assert!(detail.ends_with(" · 2 attached tags folded"), "{detail}");
    assert!(detail.contains("also tagged v1.1"), "{detail}");
}

#[test]
fn a_repository_without_attachments_keeps_its_columns() {
    let (mut app, effects) = demo_app(true);
    let scan = req_of(&effects[1..]);
    list_repos(&mut app, scan);
    let _ = open_nginx(&mut app);
    let v = tags_view(&app);
    assert!(!v.has_attachments());
    assert_eq!(v.rows.attached_tags(), 0);
}
