//! Base-image drift from the tag list: `B` works it out from what the scan read, with the
//! code of `regatta hints --repo`, and shows the very lines it prints; the chains the scan's
//! model gives are those the CLI's path (fetching each tag's image) gives.

use super::*;
use crate::analysis::chains::tag_chains;
use crate::layers::drift::{BaseStatus, TagChain, drift};
use crate::layers::select::select_image;
use crate::present::drift::drift_lines;
use crate::tui::memory::run_until_idle;
use crate::tui::views::drift::DriftView;

/// The demo app on `repo_name`'s tag list, the whole registry scanned.
async fn in_tags_of(repo_name: &str) -> App {
    let (mut app, effects) = demo_app(true);
    run_until_idle(&mut app, effects).await;
    let effects = app.open_repo(0, repo(repo_name));
    run_until_idle(&mut app, effects).await;
    assert_eq!(app.top().kind(), ViewKind::Tags);
    app
}

/// The chains as `regatta hints --repo` makes them: each tag's image fetched and chosen.
async fn cli_chains(repo_name: &str) -> Vec<TagChain> {
    let source = fixtures::sample();
    let name = repo(repo_name);
    let mut tags = source.tags(&name).await.unwrap();
    tags.sort();
    let mut chains = Vec::new();
    for t in tags {
        let tree = fetch_image(&source, &name, &ManifestRef::Tag(t.clone()))
            .await
            .unwrap();
        chains.push(TagChain::of(t.as_str(), select_image(&tree, None).unwrap()));
    }
    chains
}

fn drift_view(app: &App) -> &DriftView {
    match app.top() {
        View::Drift(v) => v,
        other => panic!("not the drift: {:?}", other.kind()),
    }
}

#[test]
fn key_capital_b_opens_the_drift_on_the_tag_list_only() {
    let key = KeyEvent::new(KeyCode::Char('B'), KeyModifiers::NONE);
    let on_tags = keymap::action_for(Mode::Normal, ViewKind::Tags, &key);
    assert!(matches!(on_tags, Some(Action::OpenDrift)));
    assert!(keymap::action_for(Mode::Normal, ViewKind::Layers, &key).is_none());
}

#[tokio::test]
async fn the_drift_of_a_repository_is_the_clis_text_from_the_scan_alone() {
    for name in ["library/nginx", "team/api", "library/alpine"] {
        let mut app = in_tags_of(name).await;
        let effects = app.update(Action::OpenDrift);
        assert!(effects.is_empty(), "no worker, no download: {effects:?}");
        let cli = drift(&cli_chains(name).await, &[]);
        let (chains, left_out) = tag_chains(&app.storage(0).unwrap().model, &repo(name));
        assert!(left_out.is_empty(), "{left_out:?}");
        assert_eq!(chains, cli_chains(name).await, "{name}");
        assert_eq!(drift_view(&app).page.lines, drift_lines(&cli), "{name}");
        assert_eq!(app.crumbs().last().unwrap(), "drift");
        app.update(Action::Back);
        assert_eq!(app.top().kind(), ViewKind::Tags);
    }
    // team/api: both images are built on the same alpine layer, so both are current.
    let cli = drift(&cli_chains("team/api").await, &[]);
    assert_eq!(cli.tags.len(), 3);
    assert!(
        cli.tags.iter().all(|t| t.status == BaseStatus::Current),
        "{cli:?}"
    );
}

#[tokio::test]
async fn before_the_scan_has_read_the_tags_the_drift_says_so() {
    // The scan's effects are not run: nothing is known yet.
    let (mut app, _) = demo_app(true);
    let _ = app.open_repo(0, repo("team/api"));
    assert_eq!(app.top().kind(), ViewKind::Tags);
    assert!(app.update(Action::OpenDrift).is_empty());
    assert_eq!(app.top().kind(), ViewKind::Tags);
    assert!(
        matches!(app.message(), Some(Message::Info(m)) if m.contains("has not read every tag")),
        "{:?}",
        app.message()
    );
}
