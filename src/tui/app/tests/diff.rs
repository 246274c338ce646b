//! The diff: `b` marks the selected tag as the base, `=` on another asks a worker for the
//! diff of the two (at the digests the list shows), the view shows the progress and then
//! the very lines `regatta diff` prints, and leaving it aborts the worker.

use super::files::{listed, lower, upper};
use super::*;
use crate::layers::diff::{FileChange, ImageDiff, ImageRef, files_diff, layers_diff};
use crate::layers::merge::merge;
use crate::present::layers::diff_lines;
use crate::tui::action::DiffSide;
use crate::tui::memory::run_until_idle;
use crate::tui::views::diff::DiffView;

/// The app inside `acme/app` (tags v1, v1.1, v2) with the whole registry scanned.
async fn in_tags() -> App {
    let entries = vec![entry("attached", Ok(shared(fixtures::attached())))];
    let mut app = App::new(entries, true, now(), Theme::PLAIN);
    app.update(Action::Resize {
        width: 120,
        height: 24,
    });
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

fn digest_of(app: &App, name: &str) -> crate::registry::Digest {
    app.storage(0).unwrap().model.repos[&repo("acme/app")].tags[&tag(name)]
        .clone()
        .unwrap()
}

fn diff_view(app: &App) -> &DiffView {
    match app.top() {
        View::Diff(v) => v,
        other => panic!("not the diff: {:?}", other.kind()),
    }
}

fn screen(app: &App) -> String {
    let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 24)).unwrap();
    t.draw(|f| draw::draw(app, f)).unwrap();
    let buffer = t.backend().buffer();
    (0..buffer.area.height)
        .map(|y| {
            let row: String = (0..buffer.area.width)
                .map(|x| buffer[(x, y)].symbol())
                .collect();
            row.trim_end().to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A diff of two real tarballs (the file tree tests' layers): the lower layer alone, then
/// the lower and upper layers.
fn sample_diff() -> ImageDiff {
    let (a, b) = (
        vec![listed(&lower())],
        vec![listed(&lower()), listed(&upper())],
    );
    ImageDiff {
        before: ImageRef {
            reference: "attached/acme/app:v1".into(),
            digest: "sha256:aa".into(),
        },
        after: ImageRef {
            reference: "attached/acme/app:v2".into(),
            digest: "sha256:bb".into(),
        },
        config: None,
        layers: layers_diff(&[], &[]),
        files: files_diff(&merge(&a), &merge(&b)),
    }
}

#[test]
fn keys_b_and_equals_mean_mark_base_and_open_diff_on_the_tag_list() {
    let key = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
    let b = keymap::action_for(Mode::Normal, ViewKind::Tags, &key('b'));
    let eq = keymap::action_for(Mode::Normal, ViewKind::Tags, &key('='));
    assert!(matches!(b, Some(Action::MarkBase)));
    assert!(matches!(eq, Some(Action::OpenDiff)));
}

#[tokio::test]
async fn without_a_base_the_diff_says_how_to_mark_one() {
    let mut app = in_tags().await;
    assert!(app.update(Action::OpenDiff).is_empty());
    assert!(matches!(app.message(), Some(Message::Info(m)) if m.contains("mark a base first")));
    assert_eq!(app.top().kind(), ViewKind::Tags);
}

#[tokio::test]
async fn mark_base_then_open_diff_asks_a_worker_shows_progress_then_the_cli_text() {
    let mut app = in_tags().await;
    // v1 is selected first.
    assert!(app.update(Action::MarkBase).is_empty());
    assert!(
        matches!(app.message(), Some(Message::Info(m)) if m.contains("diff base: acme/app:v1")),
        "{:?}",
        app.message()
    );
    app.update(Action::MoveDown);
    app.update(Action::MoveDown);
    let effects = app.update(Action::OpenDiff);
    let [
        Effect::DiffImages {
            req,
            entry: 0,
            before,
            after,
        },
    ] = effects.as_slice()
    else {
        panic!("expected DiffImages, got {effects:?}")
    };
    let req = *req;
    assert_eq!(
        *before,
        DiffSide {
            repo: repo("acme/app"),
            name: ManifestRef::Tag(tag("v1")),
            digest: digest_of(&app, "v1"),
            platform: None,
        }
    );
    assert_eq!(
        *after,
        DiffSide {
            repo: repo("acme/app"),
            name: ManifestRef::Tag(tag("v2")),
            digest: digest_of(&app, "v2"),
            platform: None,
        }
    );
    assert_eq!(app.top().kind(), ViewKind::Diff);
    assert!(app.is_loading());
    assert!(app.crumbs().last().unwrap().contains("diff v1..v2"));

    app.update(Action::DiffProgress {
        req,
        read: 512,
        total: 2048,
        rate: 1024,
    });
    assert!(
        screen(&app).contains("read 512 B of 2 KiB (25%)"),
        "{}",
        screen(&app)
    );

    let diff = sample_diff();
    app.update(Action::DiffBuilt {
        req,
        result: Ok(Arc::new(diff.clone())),
    });
    assert!(!app.is_loading());
    let v = diff_view(&app);
    assert_eq!(
        v.page.lines,
        diff_lines(&diff),
        "the CLI's lines, unchanged"
    );
    // What the tarballs say: the upper layer whites out etc/motd, rewrites etc/passwd and
    // usr/bin/app, adds opt/app/LICENSE, and its opaque var/cache hides var/cache/a.
    let of = |c: FileChange| -> Vec<&str> {
        let mut v: Vec<&str> = diff
            .files
            .iter()
            .filter(|f| f.change == c && f.kind == crate::layers::EntryKind::File)
            .map(|f| f.path.as_str())
            .collect();
        v.sort();
        v
    };
    assert_eq!(of(FileChange::Added), ["opt/app/LICENSE"]);
    assert_eq!(of(FileChange::Removed), ["etc/motd", "var/cache/a"]);
    assert_eq!(of(FileChange::Changed), ["etc/passwd", "usr/bin/app"]);
    let shown = screen(&app);
    assert!(shown.contains("Files: "), "{shown}");
    assert!(
        shown.contains("+ ") && shown.contains("opt/app/LICENSE"),
        "{shown}"
    );
    assert!(
        shown.contains("~ ") && shown.contains("usr/bin/app"),
        "{shown}"
    );

    // Scrolling stops at the last page.
    app.update(Action::Last);
    let page = app.page();
    let v = diff_view(&app);
    assert_eq!(v.page.scroll, v.page.lines.len().saturating_sub(page));
    app.update(Action::First);
    assert_eq!(diff_view(&app).page.scroll, 0);
}

#[tokio::test]
async fn leaving_the_diff_aborts_its_worker_and_a_late_result_is_dropped() {
    let mut app = in_tags().await;
    app.update(Action::MarkBase);
    app.update(Action::MoveDown);
    let effects = app.update(Action::OpenDiff);
    let req = req_of(&effects);
    assert_eq!(app.update(Action::Back), [Effect::Abort(vec![req])]);
    assert_eq!(app.top().kind(), ViewKind::Tags);
    app.update(Action::DiffBuilt {
        req,
        result: Ok(Arc::new(sample_diff())),
    });
    assert_eq!(app.top().kind(), ViewKind::Tags);
}

#[tokio::test]
async fn a_failed_diff_says_why() {
    let mut app = in_tags().await;
    app.update(Action::MarkBase);
    let effects = app.update(Action::OpenDiff);
    let req = req_of(&effects);
    app.update(Action::DiffBuilt {
        req,
        result: Err("layer sha256:ab is truncated".into()),
    });
    assert!(screen(&app).contains("cannot diff the images: layer sha256:ab is truncated"));
    assert!(matches!(app.message(), Some(Message::Error(_))));
}

#[tokio::test]
async fn on_the_platforms_view_b_and_equals_diff_two_platforms_of_a_tag() {
    let (mut app, _) = demo_app(false);
    let tree = tree("library/nginx", "latest").await;
    let view = crate::tui::views::manifest::ManifestView::new(
        0,
        repo("library/nginx"),
        "latest".into(),
        tree.clone(),
    );
    app.stack.push(View::Manifest(view));
    app.update(Action::First);
    app.update(Action::MarkBase);
    assert!(
        matches!(app.message(), Some(Message::Info(m)) if m.contains("library/nginx:latest [linux/amd64]")),
        "{:?}",
        app.message()
    );
    app.update(Action::MoveDown);
    let effects = app.update(Action::OpenDiff);
    let [Effect::DiffImages { before, after, .. }] = effects.as_slice() else {
        panic!("expected DiffImages, got {effects:?}")
    };
    assert_eq!(before.digest, tree.images[0].digest);
    assert_eq!(after.digest, tree.images[1].digest);
    assert_eq!(before.name, ManifestRef::Tag(tag("latest")));
    assert_eq!(before.platform.as_deref(), Some("linux/amd64"));
    assert_eq!(after.platform.as_deref(), Some("linux/arm64/v8"));
    assert_eq!(
        app.crumbs().last().unwrap(),
        "diff latest [linux/amd64]..latest [linux/arm64/v8]"
    );
}
