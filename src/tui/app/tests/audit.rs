//! The audit view: asked for once the scan is done and once per model, findings opening
//! their tags, the suggested policy becoming the cleanup preview.

use super::*;
use crate::audit::{AuditSettings, FindingKind};
use crate::tui::memory::run_until_idle;
use crate::tui::views::audit::AuditView;

/// The sprawl fixture, opened at its repository list and scanned in full; the suggested
/// policy keeps one build per repository, so it has something to delete.
async fn sprawl_app() -> App {
    let entries = vec![entry("sprawl", Ok(shared(fixtures::sprawl())))];
    let mut app = App::new(entries, true, now(), Theme::PLAIN).with_audit(AuditSettings {
        keep_last: 1,
        ..AuditSettings::default()
    });
    app.update(Action::Resize {
        width: 100,
        height: 24,
    });
    let effects = app.start();
    run_until_idle(&mut app, effects).await;
    app
}

fn audit(app: &App) -> &AuditView {
    match app.top() {
        View::Audit(v) => v,
        other => panic!("not the audit view: {:?}", other.kind()),
    }
}

fn audit_effects(effects: &[Effect]) -> Vec<&crate::tui::action::AuditJob> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Audit { job, .. } => Some(job),
            _ => None,
        })
        .collect()
}

async fn step(app: &mut App, action: Action) {
    let effects = app.update(action);
    run_until_idle(app, effects).await;
}

#[tokio::test]
async fn the_audit_waits_for_the_scan_and_is_built_once_per_model() {
    let (mut app, effects) = demo_app(true);
    let scan = super::storage::scan_req(&effects);
    list_repos(&mut app, ReqId(2));
    let effects = app.update(Action::OpenAudit);
    assert_eq!(kinds(&app).last(), Some(&ViewKind::Audit));
    assert!(
        audit_effects(&effects).is_empty(),
        "asked before the scan ended"
    );
    let mut asked = Vec::new();
    for event in super::storage::scan_events(&fixtures::sample()).await {
        asked.extend(app.update(Action::Scanned { req: scan, event }));
    }
    assert!(audit_effects(&asked).is_empty(), "asked during the scan");
    let render = |app: &App| {
        let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(100, 24)).unwrap();
        t.draw(|f| draw::draw(app, f)).unwrap();
        format!("{}", t.backend())
    };
    assert!(render(&app).contains("the audit of the registry is built when the scan is done"));
    let effects = app.update(Action::ScanFinished {
        req: scan,
        result: Ok(()),
    });
    let jobs = audit_effects(&effects);
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].0.repo, None);
    assert_eq!(jobs[0].0.model.repos.len(), 4);
    assert!(app.is_loading());
    // Nothing changed: nothing more is asked for.
    assert!(audit_effects(&app.update(Action::Tick)).is_empty());
    run_until_idle(&mut app, effects).await;
    let v = audit(&app);
    let report = v.report.as_ref().expect("a report");
    assert_eq!(report.summary.tags, 10);
    assert!(v.loads.is_empty() && !v.is_loading());
    // A stale result (an older request) is dropped.
    app.update(Action::AuditBuilt {
        req: ReqId(999),
        report: Arc::new((**report).clone()),
    });
    assert!(audit(&app).report.is_some());
}

#[tokio::test]
async fn findings_are_ranked_by_bytes_and_enter_opens_exactly_their_tags() {
    let mut app = sprawl_app().await;
    step(&mut app, Action::OpenAudit).await;
    let report = audit(&app).report.clone().expect("a report");
    let found: Vec<(FindingKind, &str)> = report
        .findings
        .iter()
        .map(|f| (f.kind, f.repository.as_str()))
        .collect();
    for expected in [
        (FindingKind::StaleRepository, "legacy/tool"),
        (FindingKind::StaleBuilds, "team/api"),
        (FindingKind::OrphanedSignatures, "team/web"),
        (FindingKind::FloatingDrift, "team/api"),
    ] {
        assert!(found.contains(&expected), "{expected:?} not in {found:?}");
    }
    assert!(
        report
            .findings
            .windows(2)
            .all(|w| w[0].bytes_freed >= w[1].bytes_freed)
    );
    let builds = report
        .findings
        .iter()
        .position(|f| f.kind == FindingKind::StaleBuilds)
        .unwrap();
    step(&mut app, Action::First).await;
    for _ in 0..builds {
        step(&mut app, Action::MoveDown).await;
    }
    assert_eq!(
        audit(&app).selected_finding().map(|f| f.kind),
        Some(FindingKind::StaleBuilds)
    );
    step(&mut app, Action::Open).await;
    let View::Tags(t) = app.top() else {
        panic!("not the tag list: {:?}", kinds(&app))
    };
    assert_eq!(t.repo, repo("team/api"));
    let shown: Vec<&str> = (0..t.listing.shown())
        .map(|p| {
            t.rows
                .get(t.listing.row_at(p).unwrap())
                .unwrap()
                .tag
                .as_str()
        })
        .collect();
    assert_eq!(shown, ["sha-1a2b3c4", "sha-5d6e7f8", "sha-9a8b7c6"]);
    assert_eq!(
        t.listing.restriction().map(|o| o.label.as_str()),
        Some("stale builds: 3 tags")
    );
    // Back at the audit, the selection is where it was.
    step(&mut app, Action::Back).await;
    assert_eq!(
        audit(&app).selected_finding().map(|f| f.kind),
        Some(FindingKind::StaleBuilds)
    );
}

#[tokio::test]
async fn the_suggested_policy_becomes_the_cleanup_preview() {
    let mut app = sprawl_app().await;
    step(&mut app, Action::OpenAudit).await;
    let report = audit(&app).report.clone().expect("a report");
    let suggested = report.suggested_policy.plan.as_ref().expect("a plan");
    assert_eq!(report.suggested_policy.dry_run.tags_deleted, 3);
    step(&mut app, Action::SuggestCleanup).await;
    let View::Cleanup(c) = app.top() else {
        panic!("not the cleanup preview: {:?}", kinds(&app))
    };
    assert_eq!(c.policy_name(), "suggested");
    assert_eq!(c.values[2], "1");
    assert_eq!(c.values[3], "30d");
    assert_eq!(
        format!("{:?}", c.spec().unwrap()),
        format!("{:?}", report.suggested_policy.spec)
    );
    let plan = c.plan.as_ref().expect("a plan");
    assert_eq!(plan.tag_count(), suggested.tag_count());
    assert_eq!(plan.bytes_freed, suggested.bytes_freed);
    // Made again from the form, it is the same plan.
    let before = (plan.tag_count(), plan.bytes_freed);
    step(&mut app, Action::EditField).await;
    step(&mut app, Action::EditKeep).await;
    let View::Cleanup(c) = app.top() else {
        panic!("not the cleanup preview")
    };
    let plan = c.plan.as_ref().expect("a plan");
    assert_eq!((plan.tag_count(), plan.bytes_freed), before);
    // Applying asks first; this registry is read-only, so it says so.
    step(&mut app, Action::RequestDelete).await;
    assert!(app.dialog().is_none());
    assert!(matches!(app.message(), Some(Message::Error(_))));
}

#[tokio::test]
async fn the_audit_of_a_repository_from_its_tag_list() {
    let mut app = sprawl_app().await;
    step(&mut app, Action::Filter).await;
    for c in "team/api".chars() {
        step(&mut app, Action::FilterChar(c)).await;
    }
    step(&mut app, Action::FilterKeep).await;
    step(&mut app, Action::Open).await;
    let effects = app.update(Action::OpenAudit);
    let jobs = audit_effects(&effects);
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].0.repo, Some(repo("team/api")));
    run_until_idle(&mut app, effects).await;
    let report = audit(&app).report.clone().expect("a report");
    assert_eq!(report.summary.repositories, 1);
    assert!(report.findings.iter().all(|f| f.repository == "team/api"));
    assert_eq!(
        report.suggested_policy.spec.repositories,
        vec!["team/api".to_string()]
    );
    assert_eq!(app.crumbs().last().map(String::as_str), Some("audit"));
    // `y` copies the suggested policy's table.
    let effects = app.update(Action::CopyReference);
    assert!(matches!(&effects[..], [Effect::Copy(t)] if t.contains("[policies.suggested]")));
}

#[tokio::test]
async fn the_wheel_and_clicks_move_over_the_findings() {
    let mut app = sprawl_app().await;
    step(&mut app, Action::OpenAudit).await;
    assert_eq!(audit(&app).table.selected(), Some(0));
    step(&mut app, Action::ScrollBy(2)).await;
    assert_eq!(audit(&app).table.selected(), Some(2));
    // The findings' header is below the summary line and the charts (10 rows) and the
    // table's border: body row 1 + 1 + 10 + 1 is the header, the next row the first finding.
    let body = draw::layout(Rect::new(0, 0, 100, 24)).body;
    let first = body.y + 1 + 10 + 1 + 1;
    step(
        &mut app,
        Action::Click {
            column: 5,
            row: first + 1,
            double: false,
        },
    )
    .await;
    assert_eq!(audit(&app).table.selected(), Some(1));
    step(
        &mut app,
        Action::Click {
            column: 5,
            row: first,
            double: true,
        },
    )
    .await;
    assert_eq!(app.top().kind(), ViewKind::Tags);
}

#[test]
fn keys_of_the_audit() {
    let press = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
    let on = |kind, c| crate::tui::keymap::action_for(Mode::Normal, kind, &press(c));
    assert!(matches!(on(ViewKind::Repos, 'A'), Some(Action::OpenAudit)));
    assert!(matches!(on(ViewKind::Tags, 'A'), Some(Action::OpenAudit)));
    assert!(matches!(
        on(ViewKind::Audit, 'p'),
        Some(Action::SuggestCleanup)
    ));
    assert!(matches!(
        on(ViewKind::Cleanup, 'p'),
        Some(Action::NextPolicy)
    ));
    assert!(matches!(on(ViewKind::Audit, 'j'), Some(Action::MoveDown)));
    assert!(matches!(on(ViewKind::Audit, 'r'), Some(Action::Refresh)));
    let hints = crate::tui::keymap::hints(Mode::Normal, ViewKind::Audit);
    for word in ["open", "suggested", "copy", "back"] {
        assert!(hints.iter().any(|(_, w)| *w == word), "{word} not hinted");
    }
    let help = crate::tui::keymap::help_entries(ViewKind::Audit);
    assert!(help.iter().any(|e| e.name == "suggest_cleanup" && e.active));
    assert!(help.iter().any(|e| e.name == "open_audit" && !e.active));
}

#[tokio::test]
async fn a_config_policy_named_suggested_keeps_its_name_beside_the_audits() {
    let entries = vec![entry("sprawl", Ok(shared(fixtures::sprawl())))];
    let mine = crate::cleanup::policy::PolicySpec {
        keep_last: Some(7),
        ..Default::default()
    };
    let mut app = App::new(entries, true, now(), Theme::PLAIN)
        .with_policies(vec![("suggested".to_string(), mine)]);
    app.update(Action::Resize {
        width: 100,
        height: 24,
    });
    let effects = app.start();
    run_until_idle(&mut app, effects).await;
    step(&mut app, Action::OpenAudit).await;
    step(&mut app, Action::SuggestCleanup).await;
    let View::Cleanup(c) = app.top() else {
        panic!("not the cleanup preview: {:?}", kinds(&app))
    };
    assert_eq!(c.policy_name(), "suggested (audit)");
    let names: Vec<&str> = c.policies.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, vec!["suggested (audit)", "suggested"]);
}
