//! The storage, delete and cleanup screens at a fixed size, from the in-memory fixture (its
//! storage scanned in full) and a fixed clock, compared with committed snapshots.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use regatta::cleanup::journal::{BackupManifest, BackupMeta, Journal};
use regatta::registry::{Client, ClientOptions, RegistryAddr};
use regatta::tui::memory::{run_until_idle, shared};
use regatta::tui::views::View;
use regatta::tui::{Action, App, RegistryEntry, Theme, draw, fixtures};

const WIDTH: u16 = 100;
const HEIGHT: u16 = 20;

fn client() -> Client {
    let addr = RegistryAddr::parse("demo.example").expect("an address");
    Client::new(addr, ClientOptions::default()).expect("a client")
}

/// A writable registry entry (its client is never called here) over a fixture source.
fn entry(name: &str, source: regatta::tui::memory::MemorySource) -> RegistryEntry {
    RegistryEntry {
        name: name.into(),
        location: format!("https://{name}.example"),
        source: Ok(shared(source)),
        notice: None,
        client: Some(client()),
    }
}

/// The sample registry, writable (a client that is never called here) and journaled in
/// `journal`; scanned and opened at its repository list.
async fn app(journal: &std::path::Path) -> App {
    let entry = entry("demo", fixtures::sample());
    let now = "2025-06-01T12:00:00Z".parse().expect("a timestamp");
    let app = App::new(vec![entry], true, now, Theme::PLAIN)
        .with_journal(Some(journal.to_path_buf()))
        .with_policies(vec![(
            "nightlies".to_string(),
            regatta::cleanup::policy::PolicySpec {
                keep_last: Some(1),
                protect: vec!["latest".into()],
                ..Default::default()
            },
        )]);
    started(app, HEIGHT).await
}

/// `app` sized `WIDTH` x `height`, started, and idle (its scan done).
async fn started(mut app: App, height: u16) -> App {
    app.update(Action::Resize {
        width: WIDTH,
        height,
    });
    let effects = app.start();
    run_until_idle(&mut app, effects).await;
    app
}

fn render_at(app: &App, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(WIDTH, height)).expect("a test terminal");
    terminal.draw(|f| draw(app, f)).expect("a frame");
    terminal
}

fn render(app: &App) -> Terminal<TestBackend> {
    render_at(app, HEIGHT)
}

/// The status bar (last row) drawn 220 columns wide, where no key hint is left out for want
/// of room (100 columns cut the tag list's); the app is sized back to `WIDTH` afterwards.
fn wide_footer(app: &mut App, height: u16) -> String {
    const WIDE: u16 = 220;
    app.update(Action::Resize {
        width: WIDE,
        height,
    });
    let mut terminal = Terminal::new(TestBackend::new(WIDE, height)).expect("a test terminal");
    terminal.draw(|f| draw(app, f)).expect("a frame");
    app.update(Action::Resize {
        width: WIDTH,
        height,
    });
    let buffer = terminal.backend().buffer();
    let row: String = (0..WIDE)
        .map(|x| buffer[(x, height - 1)].symbol())
        .collect();
    row.trim().to_string()
}

async fn step(app: &mut App, action: Action) {
    let effects = app.update(action);
    run_until_idle(app, effects).await;
}

/// Selects the repository `name` in the list in front.
async fn select_repo(app: &mut App, name: &str) {
    step(app, Action::Filter).await;
    for c in name.chars() {
        step(app, Action::FilterChar(c)).await;
    }
    step(app, Action::FilterKeep).await;
}

#[tokio::test]
async fn storage_view() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut app = app(dir.path()).await;
    select_repo(&mut app, "nginx").await;
    step(&mut app, Action::OpenStorage).await;
    insta::assert_snapshot!("storage", render(&app).backend());
    // The detail follows the selection.
    step(&mut app, Action::MoveDown).await;
    let View::Storage(v) = app.top() else {
        panic!("not the storage view")
    };
    assert_eq!(v.selected_repo(), Some("team/api"));
    assert_eq!(v.detail.as_ref().map(|d| d.repo.as_str()), Some("team/api"));
}

#[tokio::test]
async fn delete_dialog_in_both_modes() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut app = app(dir.path()).await;
    select_repo(&mut app, "nginx").await;
    step(&mut app, Action::Open).await;
    step(&mut app, Action::MoveDown).await; // 1.27, which latest and 1.27.5 share
    step(&mut app, Action::RequestDelete).await;
    insta::assert_snapshot!("delete_dialog_delete", render(&app).backend());
    step(&mut app, Action::SwitchMode).await;
    insta::assert_snapshot!("delete_dialog_untag", render(&app).backend());
}

#[tokio::test]
async fn marks_show_in_the_tag_list_and_the_status_bar() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut app = app(dir.path()).await;
    select_repo(&mut app, "nginx").await;
    step(&mut app, Action::Open).await;
    step(&mut app, Action::ToggleMark).await; // 1.26, then the cursor moves on
    insta::assert_snapshot!("tags_marked", render(&app).backend());
    let footer = wide_footer(&mut app, HEIGHT);
    let (hints, marks) = footer.split_once("   ").expect("hints, then the marks");
    // The marks take room: the last hints give way, the help key stays.
    assert_eq!(
        hints,
        "j/k move  enter open  esc back  / filter  s sort  y copy  r refresh  space mark  \
         d delete  u storage  C cleanup  A audit  D deleted  a attached  R referrers  ? help"
    );
    assert_eq!(marks.trim(), "1 marked · would free 87.1 MiB of 253.9 MiB");
}

#[tokio::test]
async fn cleanup_preview() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut app = app(dir.path()).await;
    select_repo(&mut app, "nginx").await;
    step(&mut app, Action::OpenCleanup).await;
    // keep_last: 10 -> 1
    step(&mut app, Action::EditField).await;
    step(&mut app, Action::EditBackspace).await;
    step(&mut app, Action::EditBackspace).await;
    step(&mut app, Action::EditChar('1')).await;
    step(&mut app, Action::EditKeep).await;
    insta::assert_snapshot!("cleanup_preview", render(&app).backend());
}

fn backup(id: &str, time: &str, registry: &str, repo: &str, tags: &[&str]) -> BackupMeta {
    BackupMeta {
        id: id.into(),
        time: time.into(),
        registry: registry.into(),
        repository: repo.into(),
        action: "delete".into(),
        digest: format!("sha256:{}", "ab12".repeat(16)),
        media_type: "application/vnd.oci.image.index.v1+json".into(),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        children: vec![BackupManifest {
            digest: format!("sha256:{}", "cd34".repeat(16)),
            media_type: "application/vnd.oci.image.manifest.v1+json".into(),
        }],
    }
}

#[tokio::test]
async fn recently_deleted_view() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let journal = Journal::new(dir.path());
    for meta in [
        backup(
            "20250530T101500-ab12ab12ab12-0001",
            "2025-05-30T10:15:00Z",
            "demo",
            "library/nginx",
            &["1.25", "stable"],
        ),
        backup(
            "20250601T090000-ab12ab12ab12-0002",
            "2025-06-01T09:00:00Z",
            "demo",
            "team/api",
            &["v0.9.0"],
        ),
        backup(
            "20250601T100000-ab12ab12ab12-0003",
            "2025-06-01T10:00:00Z",
            "elsewhere",
            "team/api",
            &["v0.8.0"],
        ),
    ] {
        journal
            .save_backup(&meta, &[(meta.digest.clone(), b"{}".to_vec())])
            .expect("a backup");
    }
    let mut app = app(dir.path()).await;
    step(&mut app, Action::OpenDeleted).await;
    insta::assert_snapshot!("recently_deleted", render(&app).backend());
}

/// The sprawl registry (old builds, a drifted `stable`, an orphaned signature, a stale
/// repository), scanned, at its repository list, 24 rows tall; its suggested policy keeps
/// one build per repository.
async fn sprawl_app(journal: &std::path::Path) -> App {
    let entry = entry("sprawl", fixtures::sprawl());
    let now = "2025-06-01T12:00:00Z".parse().expect("a timestamp");
    let app = App::new(vec![entry], true, now, Theme::PLAIN)
        .with_journal(Some(journal.to_path_buf()))
        .with_audit(regatta::audit::AuditSettings {
            keep_last: 1,
            ..Default::default()
        });
    started(app, AUDIT_HEIGHT).await
}

const AUDIT_HEIGHT: u16 = 24;

fn render_audit(app: &App) -> Terminal<TestBackend> {
    render_at(app, AUDIT_HEIGHT)
}

#[tokio::test]
async fn audit_view_and_its_suggested_cleanup() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut app = sprawl_app(dir.path()).await;
    step(&mut app, Action::OpenAudit).await;
    insta::assert_snapshot!("audit", render_audit(&app).backend());
    step(&mut app, Action::Open).await; // the largest finding's tags
    insta::assert_snapshot!("audit_finding_tags", render_audit(&app).backend());
    assert_eq!(
        wide_footer(&mut app, AUDIT_HEIGHT),
        "j/k move  enter open  esc back  / filter  s sort  y copy  r refresh  space mark  \
         d delete  u storage  C cleanup  A audit  D deleted  a attached  R referrers  c copy to  b base  = diff  B drift  \
         ? help  q quit"
    );
    step(&mut app, Action::Back).await;
    step(&mut app, Action::SuggestCleanup).await;
    insta::assert_snapshot!("audit_suggested_cleanup", render_audit(&app).backend());
    // Applying it asks first, as any cleanup does.
    step(&mut app, Action::RequestDelete).await;
    assert!(app.dialog().is_some(), "no confirmation dialog");
}
