//! The delete handshake, the recently-deleted view with restores, and the cleanup preview.

use std::path::PathBuf;

use super::storage::{open_repo, scan_req, scanned, select_tag};
use super::*;
use crate::analysis::model::ScanEvent;
use crate::cleanup::execute::{ApplyEvent, ApplyReport, Outcome, StepResult};
use crate::cleanup::gc::GcRun;
use crate::cleanup::journal::BackupMeta;
use crate::cleanup::plan::{Mode as PlanMode, plan_cleanup};
use crate::cleanup::policy::{Policy, PolicySpec};
use crate::cleanup::restore::RestoreResult;
use crate::registry::{ClientOptions, RegistryAddr};
use crate::tui::action::PlanRef;
use crate::tui::keymap::Mode;
use crate::tui::widgets::confirm::{GcPane, Stage};
use std::collections::BTreeMap;

fn names(tags: &[Tag]) -> Vec<&str> {
    tags.iter().map(Tag::as_str).collect()
}

fn client() -> Client {
    Client::new(
        RegistryAddr::parse("demo.example").unwrap(),
        ClientOptions::default(),
    )
    .unwrap()
}

fn journal() -> PathBuf {
    PathBuf::from("/nonexistent/regatta-journal")
}

fn writable(source: crate::tui::memory::MemorySource) -> Vec<RegistryEntry> {
    vec![RegistryEntry {
        client: Some(client()),
        ..entry("demo", Ok(shared(source)))
    }]
}

async fn writable_app(source: crate::tui::memory::MemorySource) -> App {
    scanned(writable(source))
        .await
        .with_journal(Some(journal()))
}

fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

fn enter() -> KeyEvent {
    KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)
}

fn plan_on_screen(app: &App) -> PlanRef {
    app.dialog().unwrap().plan().unwrap().clone()
}

#[tokio::test]
async fn delete_by_digest_names_every_tag_and_confirms_the_plan_shown() {
    let mut app = writable_app(fixtures::sample()).await;
    open_repo(&mut app, "nginx");
    select_tag(&mut app, "1.27");
    assert!(app.update(Action::RequestDelete).is_empty());
    let dialog = app.dialog().expect("a dialog");
    assert_eq!(dialog.choices.len(), 2);
    assert_eq!(app.mode(), Mode::Confirm);
    let delete = plan_on_screen(&app);
    assert_eq!(delete.deletions.len(), 1);
    let step = &delete.deletions[0];
    assert_eq!(step.mode, PlanMode::Delete);
    assert_eq!(names(&step.tags), ["1.27", "1.27.5", "latest"]);
    assert_eq!(names(&step.widened), ["1.27.5", "latest"]);
    assert_eq!(
        step.children.len(),
        2,
        "the index's platform manifests go too"
    );
    assert!(delete.bytes_freed > 0);
    // Enter stands for confirming exactly this plan.
    assert!(matches!(app.key_action(&enter()), Some(Action::ConfirmDelete(p)) if p == delete));

    // Untag only: the one tag, nothing freed.
    app.update(Action::SwitchMode);
    let untag = plan_on_screen(&app);
    assert_eq!(untag.deletions[0].mode, PlanMode::Untag);
    assert_eq!(names(&untag.deletions[0].tags), ["1.27"]);
    assert_eq!(untag.bytes_freed, 0);
    // A confirmation of the plan no longer on screen does nothing.
    assert!(app.update(Action::ConfirmDelete(delete.clone())).is_empty());
    assert_eq!(app.dialog().unwrap().stage, Stage::Confirming);

    let effects = app.update(Action::ConfirmDelete(untag.clone()));
    let [
        Effect::ApplyPlan {
            req,
            entry: 0,
            plan,
            journal: dir,
            registry,
        },
    ] = effects.as_slice()
    else {
        panic!("expected ApplyPlan, got {effects:?}")
    };
    assert_eq!(plan, &untag, "the very plan confirmed");
    assert_eq!(dir, &journal());
    assert_eq!(registry, "demo");
    let req = *req;
    assert!(matches!(
        app.dialog().unwrap().stage,
        Stage::Applying { .. }
    ));
    assert!(app.is_loading());

    // Esc asks the task to stop before its next step, once.
    assert_eq!(app.update(Action::Cancel), [Effect::CancelApply(req)]);
    assert!(app.update(Action::Cancel).is_empty());
    // Quitting now leaves at once (the stop was asked for already).
    app.update(Action::Quit);
    assert!(app.should_quit());
    app.update(Action::ApplyProgress {
        req,
        event: ApplyEvent::Started {
            index: 0,
            total: 1,
            what: "untag library/nginx@sha256:0d1e".into(),
        },
    });
    let failed = crate::registry::RegistryError::DeleteDisabled {
        host: "demo.example".into(),
    }
    .to_string();
    let report = ApplyReport {
        steps: vec![StepResult {
            step: untag.deletions[0].clone(),
            outcome: Outcome::Failed(failed.clone()),
            backup: None,
        }],
        cancelled: false,
        stopped: None,
    };
    let effects = app.update(Action::ApplyFinished { req, report });
    let dialog = app.dialog().unwrap();
    assert_eq!(dialog.stage, Stage::Finished { cancelled: false });
    assert_eq!(dialog.steps[0].outcome, Some(Outcome::Failed(failed)));
    // The model of the repository is scanned again, and its open tag list fills in from
    // that scan (it asks nothing of its own).
    assert!(
        matches!(effects.as_slice(), [Effect::Scan { repos: Some(r), .. }] if r == &[repo("library/nginx")]),
        "{effects:?}"
    );
    // Enter closes the results.
    assert!(app.key_action(&enter()).is_some());
    app.update(Action::Confirm);
    assert!(app.dialog().is_none());
}

#[tokio::test]
async fn quitting_while_deleting_first_stops_after_the_step() {
    let mut app = writable_app(fixtures::sample()).await;
    open_repo(&mut app, "alpine");
    app.update(Action::RequestDelete);
    let plan = plan_on_screen(&app);
    let effects = app.update(Action::ConfirmDelete(plan));
    let req = req_of(&effects);
    assert_eq!(app.update(Action::Quit), [Effect::CancelApply(req)]);
    assert!(!app.should_quit());
    app.update(Action::Quit);
    assert!(app.should_quit());
}

#[tokio::test]
async fn over_ten_tags_the_repository_name_must_be_typed() {
    let mut app = writable_app(fixtures::large(12)).await;
    open_repo(&mut app, "big/repo");
    app.update(Action::First);
    for _ in 0..11 {
        app.update(Action::ToggleMark);
    }
    assert_eq!(app.storage(0).unwrap().marks().len(), 11);
    app.update(Action::RequestDelete);
    let dialog = app.dialog().unwrap();
    assert_eq!(dialog.required().as_deref(), Some("big/repo"));
    assert_eq!(app.mode(), Mode::TypeConfirm);
    // `y` is typed, not a confirmation.
    assert!(matches!(
        app.key_action(&key('y')),
        Some(Action::EditChar('y'))
    ));
    let plan = plan_on_screen(&app);
    assert!(plan.tag_count() > 10);
    assert!(app.update(Action::ConfirmDelete(plan.clone())).is_empty());
    assert!(
        app.dialog()
            .unwrap()
            .warning
            .as_deref()
            .unwrap()
            .contains("type big/repo")
    );
    // `yes` is what the hand types by habit: the one rule (Plan::confirmation_word, as the
    // CLI asks) wants the name.
    for c in "yes".chars() {
        app.update(Action::EditChar(c));
    }
    assert!(app.update(Action::ConfirmDelete(plan.clone())).is_empty());
    for _ in 0..3 {
        app.update(Action::EditBackspace);
    }
    for c in "big/rep".chars() {
        app.update(Action::EditChar(c));
    }
    assert!(app.update(Action::ConfirmDelete(plan.clone())).is_empty());
    app.update(Action::EditChar('o'));
    let effects = app.update(Action::ConfirmDelete(plan.clone()));
    assert!(matches!(effects.as_slice(), [Effect::ApplyPlan { plan: p, .. }] if *p == plan));
}

#[tokio::test]
async fn escape_cancels_and_nothing_is_deleted() {
    let mut app = writable_app(fixtures::sample()).await;
    open_repo(&mut app, "alpine");
    app.update(Action::RequestDelete);
    assert!(app.dialog().is_some());
    let esc = KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE);
    assert!(matches!(app.key_action(&esc), Some(Action::Cancel)));
    assert!(app.update(Action::Cancel).is_empty());
    assert!(app.dialog().is_none());
    assert!(matches!(app.message(), Some(Message::Info(m)) if m.contains("nothing was deleted")));
}

#[tokio::test]
async fn deleting_is_refused_without_a_client() {
    let mut app = scanned(vec![entry("demo", Ok(shared(fixtures::sample())))])
        .await
        .with_journal(Some(journal()));
    open_repo(&mut app, "nginx");
    assert!(app.update(Action::RequestDelete).is_empty());
    assert!(app.dialog().is_none());
    assert!(
        matches!(app.message(), Some(Message::Error(e)) if e.contains("read-only") && e.contains("demo")),
        "{:?}",
        app.message()
    );
}

#[test]
fn deleting_waits_for_the_scan() {
    let mut app = App::new(writable(fixtures::sample()), true, now(), Theme::PLAIN)
        .with_journal(Some(journal()));
    app.start();
    list_repos(&mut app, ReqId(2));
    let scan = open_nginx(&mut app);
    app.update(Action::Scanned {
        req: scan,
        event: crate::analysis::model::ScanEvent::Tags {
            repo: repo("library/nginx"),
            tags: vec![tag("1.26")],
        },
    });
    assert!(app.update(Action::RequestDelete).is_empty());
    assert!(app.dialog().is_none());
    assert!(
        matches!(app.message(), Some(Message::Error(e)) if e.contains("wait for the storage scan"))
    );
}

fn backup(id: &str, registry: &str) -> BackupMeta {
    BackupMeta {
        id: id.into(),
        time: "2025-06-01T10:00:00Z".into(),
        registry: registry.into(),
        repository: "team/api".into(),
        action: "delete".into(),
        digest: format!("sha256:{}", "ab".repeat(32)),
        media_type: "application/vnd.oci.image.manifest.v1+json".into(),
        tags: vec!["v0.9.0".into()],
        children: Vec::new(),
    }
}

#[test]
fn recently_deleted_lists_this_registrys_backups_and_restores_one() {
    let mut app = App::new(writable(fixtures::sample()), true, now(), Theme::PLAIN)
        .with_journal(Some(journal()));
    let effects = app.start();
    let scan = scan_req(&effects);
    app.update(Action::ScanFinished {
        req: scan,
        result: Ok(()),
    });
    let effects = app.update(Action::OpenDeleted);
    let [Effect::ListBackups { req, journal: dir }] = effects.as_slice() else {
        panic!("expected ListBackups, got {effects:?}")
    };
    assert_eq!(dir, &journal());
    assert_eq!(app.top().kind(), ViewKind::Deleted);
    app.update(Action::BackupsListed {
        req: *req,
        backups: vec![backup("b-1", "demo"), backup("b-2", "elsewhere")],
    });
    let View::Deleted(v) = app.top() else {
        panic!()
    };
    assert_eq!(v.listing.shown(), 1);
    assert_eq!(v.others, 1);

    // Garbage collection ran since: the restore is refused with the missing-blob sentence.
    let effects = app.update(Action::Restore);
    let [Effect::Restore { req, id, .. }] = effects.as_slice() else {
        panic!("expected Restore, got {effects:?}")
    };
    assert_eq!(id, "b-1");
    let gone = crate::cleanup::restore::RestoreError::BlobsGone {
        what: "team/api@sha256:ab".into(),
        missing: vec![crate::registry::Digest::sha256_of(b"cd")],
    };
    assert!(
        app.update(Action::Restored {
            req: *req,
            result: Err(gone),
        })
        .is_empty()
    );
    assert!(matches!(app.message(), Some(Message::Error(e)) if e.contains("garbage-collected")));

    // A restore that works: the repository is scanned again.
    let effects = app.update(Action::Restore);
    let [Effect::Restore { req, .. }] = effects.as_slice() else {
        panic!()
    };
    let effects = app.update(Action::Restored {
        req: *req,
        result: Ok(RestoreResult {
            id: "b-1".into(),
            repository: "team/api".into(),
            digest: format!("sha256:{}", "ab".repeat(32)),
            tags: vec!["v0.9.0".into()],
            left_alone: Vec::new(),
            blobs_put_back: 0,
            bytes_put_back: 0,
        }),
    });
    assert!(matches!(app.message(), Some(Message::Info(m)) if m.starts_with("restored team/api@")));
    assert!(
        matches!(effects.as_slice(), [Effect::Scan { repos: Some(r), .. }] if r == &[repo("team/api")])
    );
}

#[test]
fn restoring_is_refused_without_a_client() {
    let (app, _) = demo_app(true);
    let mut app = app.with_journal(Some(journal()));
    let effects = app.update(Action::OpenDeleted);
    app.update(Action::BackupsListed {
        req: req_of(&effects),
        backups: vec![backup("b-1", "demo")],
    });
    assert!(app.update(Action::Restore).is_empty());
    assert!(matches!(app.message(), Some(Message::Error(e)) if e.contains("read-only")));
}

#[tokio::test]
async fn cleanup_preview_plans_from_the_form_and_applies_through_the_dialog() {
    let nightly = PolicySpec {
        repositories: vec!["library/*".into()],
        keep_last: Some(1),
        protect: vec!["latest".into()],
        ..PolicySpec::default()
    };
    let mut app = writable_app(fixtures::sample())
        .await
        .with_policies(vec![("nightly".into(), nightly.clone())]);
    app.update(Action::Filter);
    for c in "nginx".chars() {
        app.update(Action::FilterChar(c));
    }
    app.update(Action::FilterKeep);
    app.update(Action::OpenCleanup);
    let View::Cleanup(v) = app.top() else {
        panic!()
    };
    assert_eq!(v.values[1], "library/nginx");
    let plan = v.plan.clone().expect("a plan");
    assert!(plan.deletions.is_empty(), "keep_last 10 keeps all four");

    // keep_last 10 -> 1.
    app.update(Action::EditField);
    assert_eq!(app.mode(), Mode::Edit);
    assert!(matches!(
        app.key_action(&key('q')),
        Some(Action::EditChar('q'))
    ));
    app.update(Action::EditBackspace);
    app.update(Action::EditBackspace);
    app.update(Action::EditChar('1'));
    app.update(Action::EditKeep);
    let View::Cleanup(v) = app.top() else {
        panic!()
    };
    let plan = v.plan.clone().expect("a plan");
    let model = &app.storage(0).unwrap().model;
    let spec = PolicySpec {
        repositories: vec!["library/nginx".into()],
        keep_last: Some(1),
        ..PolicySpec::default()
    };
    let expected = plan_cleanup(
        model,
        &[("ad hoc".into(), Policy::compile(spec).unwrap())],
        now(),
    );
    assert_eq!(plan.bytes_freed, expected.bytes_freed);
    assert_eq!(plan.tag_count(), expected.tag_count());
    assert!(plan.bytes_freed > 0);
    assert!(
        v.lines
            .iter()
            .any(|(_, l)| l.starts_with("library/nginx: keep 1, delete 1, untag 2"))
    );

    // A wrong field says what is wrong; Esc while editing puts the value back.
    app.update(Action::MoveDown); // keep_within
    app.update(Action::EditField);
    for c in "abc".chars() {
        app.update(Action::EditChar(c));
    }
    app.update(Action::EditKeep);
    let View::Cleanup(v) = app.top() else {
        panic!()
    };
    assert!(v.plan.as_ref().unwrap_err().contains("keep_within"));
    app.update(Action::EditField);
    app.update(Action::EditChar('x'));
    app.update(Action::EditCancel);
    let View::Cleanup(v) = app.top() else {
        panic!()
    };
    assert_eq!(v.values[3], "abc");

    // A policy from the config fills the form.
    app.update(Action::NextPolicy);
    let View::Cleanup(v) = app.top() else {
        panic!()
    };
    assert_eq!(v.policy_name(), "nightly");
    assert_eq!(v.values[1], "library/*");
    assert_eq!(v.values[6], "latest");
    let plan = v.plan.clone().expect("a plan");
    let expected = plan_cleanup(
        &app.storage(0).unwrap().model,
        &[("nightly".into(), Policy::compile(nightly).unwrap())],
        now(),
    );
    assert_eq!(plan.bytes_freed, expected.bytes_freed);

    // d applies it through the dialog, with the very plan previewed.
    app.update(Action::RequestDelete);
    let dialog = app.dialog().expect("a dialog");
    assert_eq!(dialog.choices.len(), 1);
    assert_eq!(dialog.plan(), Some(&plan));
    let effects = app.update(Action::ConfirmDelete(plan.clone()));
    assert!(matches!(effects.as_slice(), [Effect::ApplyPlan { plan: p, .. }] if *p == plan));
}

/// Rescans `repo` with `event` in place of each of its events `replace` picks.
async fn rescan_with(
    app: &mut App,
    repo: &RepoName,
    replace: impl Fn(&ScanEvent) -> Option<ScanEvent>,
) {
    let effects = app.rescan(0, vec![repo.clone()]);
    let req = super::storage::scan_req(&effects);
    for event in super::storage::scan_events(&fixtures::sample()).await {
        let ours = match &event {
            ScanEvent::Tags { repo: r, .. }
            | ScanEvent::Resolved { repo: r, .. }
            | ScanEvent::RepositoryScanned(r)
            | ScanEvent::MissingEntry { repo: r, .. } => r == repo,
            ScanEvent::Repositories(_)
            | ScanEvent::RepositoriesListed
            | ScanEvent::Failed { .. } => false,
            ScanEvent::Manifest { .. } | ScanEvent::Config { .. } => true,
        };
        if ours {
            let event = replace(&event).unwrap_or(event);
            app.update(Action::Scanned { req, event });
        }
    }
    app.update(Action::ScanFinished {
        req,
        result: Ok(()),
    });
}

/// The scan could not resolve nginx's 1.27.5, which shares a digest with 1.27: deleting 1.27
/// would take it along unseen. The delete and the cleanup dialogs refuse, naming what
/// failed; once a rescan sees all of nginx, the dialog opens.
#[tokio::test]
async fn a_repository_the_scan_did_not_see_completely_is_not_deleted_from() {
    let nginx = repo("library/nginx");
    let failing = |event: &ScanEvent| match event {
        ScanEvent::Resolved { repo, tag, .. } if tag.as_str() == "1.27.5" => {
            Some(ScanEvent::Failed {
                repo: Some(repo.clone()),
                what: format!("{repo}:{tag}"),
                error: "HTTP 500 from the registry".into(),
            })
        }
        _ => None,
    };
    let nightly = PolicySpec {
        repositories: vec!["library/*".into()],
        keep_last: Some(1),
        ..PolicySpec::default()
    };
    let mut app = writable_app(fixtures::sample())
        .await
        .with_policies(vec![("nightly".into(), nightly)]);
    open_repo(&mut app, "nginx");
    rescan_with(&mut app, &nginx, failing).await;
    assert!(!app.storage(0).unwrap().model.failures.is_empty());

    select_tag(&mut app, "1.27");
    assert!(app.update(Action::RequestDelete).is_empty());
    assert!(app.dialog().is_none(), "no dialog on an incomplete scan");
    let refused = |app: &App| {
        matches!(app.message(), Some(Message::Error(e))
            if e.contains("refusing to apply")
                && e.contains("library/nginx:1.27.5: HTTP 500 from the registry"))
    };
    assert!(refused(&app), "{:?}", app.message());

    // The cleanup dialog refuses the same way.
    app.update(Action::OpenCleanup);
    app.update(Action::NextPolicy);
    let View::Cleanup(v) = app.top() else {
        panic!()
    };
    assert!(!v.plan.as_ref().unwrap().deletions.is_empty());
    assert!(app.update(Action::RequestDelete).is_empty());
    assert!(app.dialog().is_none());
    assert!(refused(&app), "{:?}", app.message());
    app.update(Action::Back);

    // A rescan that sees every tag: the delete dialog opens, with 1.27.5 named.
    rescan_with(&mut app, &nginx, |_| None).await;
    assert!(app.storage(0).unwrap().model.failures.is_empty());
    open_repo(&mut app, "nginx");
    select_tag(&mut app, "1.27");
    app.update(Action::RequestDelete);
    let plan = plan_on_screen(&app);
    assert_eq!(names(&plan.deletions[0].tags), ["1.27", "1.27.5", "latest"]);
}

/// Opens the delete dialog on nginx:1.26, confirms it and finishes it with `outcome`.
async fn finished_delete(app: &mut App, outcome: Outcome) {
    open_repo(app, "nginx");
    select_tag(app, "1.26");
    app.update(Action::RequestDelete);
    let plan = plan_on_screen(app);
    let effects = app.update(Action::ConfirmDelete(plan.clone()));
    let Some(req) = effects.iter().find_map(|e| match e {
        Effect::ApplyPlan { req, .. } => Some(*req),
        _ => None,
    }) else {
        panic!("expected ApplyPlan, got {effects:?}")
    };
    let report = ApplyReport {
        steps: vec![StepResult {
            step: plan.deletions[0].clone(),
            outcome,
            backup: None,
        }],
        cancelled: false,
        stopped: None,
    };
    app.update(Action::ApplyFinished { req, report });
}

#[tokio::test]
async fn after_a_delete_the_gc_command_is_offered_and_its_failure_is_shown() {
    let gc = || BTreeMap::from([("demo".to_string(), "collect-garbage".to_string())]);
    // Nothing deleted (the step failed): nothing offered.
    let mut app = writable_app(fixtures::sample())
        .await
        .with_gc_commands(gc());
    finished_delete(&mut app, Outcome::Failed("refused".into())).await;
    assert_eq!(app.dialog().unwrap().gc, None);

    let mut app = writable_app(fixtures::sample())
        .await
        .with_gc_commands(gc());
    finished_delete(&mut app, Outcome::Done).await;
    assert_eq!(
        app.dialog().unwrap().gc,
        Some(GcPane::Offered {
            command: "collect-garbage".into()
        })
    );
    let effects = app.update(Action::Confirm);
    let [Effect::RunGc { req, command }] = effects.as_slice() else {
        panic!("expected RunGc, got {effects:?}")
    };
    assert_eq!(command, "collect-garbage");
    let req = *req;
    // Enter while it runs does not run it twice.
    assert!(app.update(Action::Confirm).is_empty());
    assert!(
        app.dialog().is_none(),
        "enter closes; the collection goes on"
    );

    // Its result then belongs to no dialog: dropped.
    app.update(Action::GcFinished {
        req,
        result: Ok(GcRun {
            command: "collect-garbage".into(),
            success: true,
            status: "exit status: 0".into(),
            output: String::new(),
        }),
    });
    assert!(app.dialog().is_none());

    // A command that cannot start says so in the dialog.
    let mut app = writable_app(fixtures::sample())
        .await
        .with_gc_commands(gc());
    finished_delete(&mut app, Outcome::Done).await;
    let effects = app.update(Action::Confirm);
    let req = effects[0].req().unwrap();
    app.update(Action::TaskFailed {
        req,
        error: "the task stopped".into(),
    });
    assert!(matches!(
        &app.dialog().unwrap().gc,
        Some(GcPane::Ran { result: Err(e), .. }) if e.to_string() == "cannot run the garbage collection (collect-garbage): the task stopped"
    ));
}

/// `app:v1` signed by cosign (its signature tagged `sha256-<hex>.sig`); `app:v2` alone.
fn signed_source() -> crate::tui::memory::MemorySource {
    use crate::tui::memory::{ImageSpec, MemorySource};
    let mut source = MemorySource::new("demo");
    let v1 = source
        .add_image(&ImageSpec::new("linux", "amd64", "2025-01-01T00:00:00Z").layer(5000, "RUN v1"));
    let v2 = source
        .add_image(&ImageSpec::new("linux", "amd64", "2025-02-01T00:00:00Z").layer(7000, "RUN v2"));
    let sig = source.add_image(
        &ImageSpec::new("linux", "amd64", "2025-01-01T00:00:01Z").layer(300, "signature"),
    );
    let sig_tag = format!("sha256-{}.sig", v1.hex());
    source
        .tag("app", &["v1"], &v1)
        .tag("app", &["v2"], &v2)
        .tag("app", &[sig_tag.as_str()], &sig)
}

#[tokio::test]
async fn the_delete_dialog_lists_referrers_and_tab_keeps_them() {
    let mut app = writable_app(signed_source()).await;
    open_repo(&mut app, "app");
    select_tag(&mut app, "v1");
    app.update(Action::RequestDelete);
    let labels: Vec<&str> = app
        .dialog()
        .expect("a dialog")
        .choices
        .iter()
        .map(|c| c.label)
        .collect();
    assert_eq!(
        labels,
        ["delete the image", "keep its referrers", "untag only"]
    );
    let with = plan_on_screen(&app);
    assert_eq!(with.deletions.len(), 2, "{with:#?}");
    let sig = &with.deletions[1];
    assert!(
        matches!(&sig.reason, crate::cleanup::plan::Reason::Referrer { subject, .. } if *subject == with.deletions[0].digest),
        "{sig:#?}"
    );
    assert!(names(&sig.tags)[0].ends_with(".sig"));
    // The dialog's text names the referrer (an image here: found by its cosign tag name)
    // with its bytes.
    let model = app.storage(0).unwrap().model.clone();
    let bytes = crate::analysis::followers::artifact_bytes(&model, &sig.digest);
    assert!(bytes > 300, "document, config and the 300-byte layer");
    let text = crate::present::plan::texts(&crate::present::plan::plan_lines(
        &with,
        crate::present::columns::Digests::Short,
    ));
    assert!(
        text.iter()
            .any(|l| l.contains("(image of sha256:") && l.ends_with(&format!("({bytes} bytes))"))),
        "{text:#?}"
    );
    assert!(
        text.iter()
            .any(|l| l == "2 tags go: 1 manifest deleted with 1 referrer"),
        "{text:#?}"
    );

    // Tab: the same image, its referrer kept; the signature's bytes (it shares no blob)
    // are no longer freed.
    app.update(Action::SwitchMode);
    let keep = plan_on_screen(&app);
    assert_eq!(keep.deletions.len(), 1);
    assert_eq!(keep.deletions[0].digest, with.deletions[0].digest);
    assert_eq!(with.bytes_freed - keep.bytes_freed, bytes);
    // Enter confirms exactly the plan on screen.
    assert!(matches!(app.key_action(&enter()), Some(Action::ConfirmDelete(p)) if p == keep));
    app.update(Action::SwitchMode);
    assert_eq!(plan_on_screen(&app).deletions[0].mode, PlanMode::Untag);
}

#[tokio::test]
async fn with_backup_blobs_the_dialog_says_what_keeping_the_freed_blobs_costs_and_confirms_that_plan()
 {
    let mut app = writable_app(fixtures::sample())
        .await
        .with_backup_blobs(["demo".to_string()].into());
    open_repo(&mut app, "nginx");
    select_tag(&mut app, "1.27");
    assert!(app.update(Action::RequestDelete).is_empty());
    let delete = plan_on_screen(&app);
    let backup = delete
        .blob_backup
        .clone()
        .expect("backup_blobs is on for demo");
    assert!(!backup.blobs.is_empty());
    // The same freed set as bytes_freed: every kept blob is in it, sizes included.
    for b in &backup.blobs {
        assert_eq!(delete.freed.get(&b.digest), Some(&b.size), "{b:?}");
    }
    let text = crate::present::plan::texts(&crate::present::plan::plan_lines(
        &delete,
        crate::present::columns::Digests::Short,
    ));
    let cost = format!(
        "backup_blobs: {} blobs (configs and layers) downloaded into the backup first, so restore works after garbage collection: {} on disk",
        backup.blobs.len(),
        crate::present::units::size_exact(backup.bytes)
    );
    assert!(text.contains(&cost), "{text:#?}");
    // Confirming applies that very plan, blob backup included.
    let effects = app.update(Action::ConfirmDelete(delete.clone()));
    assert!(
        matches!(effects.as_slice(), [Effect::ApplyPlan { plan, .. }] if plan == &delete && plan.blob_backup.is_some()),
        "{effects:?}"
    );

    // Without the setting, no such line and no blob backup.
    let mut app = writable_app(fixtures::sample()).await;
    open_repo(&mut app, "nginx");
    select_tag(&mut app, "1.27");
    app.update(Action::RequestDelete);
    assert_eq!(plan_on_screen(&app).blob_backup, None);
}
