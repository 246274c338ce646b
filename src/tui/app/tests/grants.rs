//! What the credential may do per repository on a token registry: asked once per listed
//! repository through an effect, answered by request id, shown as a column, and checked before
//! a delete dialog; the announced request budget in the status bar.

use std::path::PathBuf;

use super::storage::{open_repo, scanned, select_tag};
use super::*;
use crate::registry::{Actions, Client, ClientOptions, Grants, RateBudget, RegistryAddr};

fn token_app_entries() -> Vec<RegistryEntry> {
    let client = Client::new(
        RegistryAddr::parse("demo.example").unwrap(),
        ClientOptions {
            certs_d_roots: Vec::new(),
            ..ClientOptions::default()
        },
    )
    .unwrap();
    vec![RegistryEntry {
        client: Some(client),
        ..entry("demo", Ok(shared(fixtures::sample())))
    }]
}

/// The sample registry, scanned, its repository list in front, probed as a token registry
/// (`token_auth`) or not.
async fn app(token_auth: bool) -> App {
    let mut app = scanned(token_app_entries())
        .await
        .with_journal(Some(PathBuf::from("/nonexistent/regatta-journal")));
    let mut capabilities = super::probe::capabilities();
    capabilities.token_auth = token_auth;
    capabilities.deletes_enabled.answer = crate::registry::probe::Answer::Yes;
    app.entries[0].capabilities = Some(capabilities);
    assert!(matches!(app.top(), View::Repos(_)), "{:?}", kinds(&app));
    app
}

fn grant_requests(effects: &[Effect]) -> Vec<(ReqId, String)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Grants {
                req,
                entry: 0,
                repo,
            } => Some((*req, repo.to_string())),
            _ => None,
        })
        .collect()
}

fn listed(app: &App) -> Vec<String> {
    let View::Repos(v) = app.top() else {
        panic!("the repository list")
    };
    let mut names: Vec<String> = v.rows.names().map(|r| r.to_string()).collect();
    names.sort();
    names
}

fn pull_only() -> Grants {
    Grants::Token {
        actions: Actions {
            pull: true,
            ..Actions::default()
        },
    }
}

#[tokio::test]
async fn a_token_registry_asks_once_per_listed_repository_and_shows_the_answers() {
    let mut app = app(true).await;
    let effects = app.update(Action::Tick);
    let mut asked = grant_requests(&effects);
    assert_eq!(asked.len(), 4, "four at a time: {asked:?}");
    // Another listed repository is asked only once an answer came back.
    let View::Repos(v) = &mut app.stack[1] else {
        panic!("the repository list")
    };
    v.rows.add(&[repo("team/late")], |_| None);
    assert!(grant_requests(&app.update(Action::Tick)).is_empty());
    let (first, _) = asked[0].clone();
    let more = grant_requests(&app.update(Action::Granted {
        req: first,
        result: Ok(pull_only()),
        budget: None,
    }));
    assert_eq!(
        more.iter().map(|(_, r)| r.as_str()).collect::<Vec<_>>(),
        ["team/late"]
    );
    asked.extend(more);
    asked.sort_by(|a, b| a.1.cmp(&b.1));
    let names: Vec<String> = asked.iter().map(|(_, r)| r.clone()).collect();
    assert_eq!(names, listed(&app), "one request per listed repository");
    // Asked once: neither the next action nor a return to the list asks again.
    assert!(grant_requests(&app.update(Action::Tick)).is_empty());
    open_repo(&mut app, "nginx");
    app.update(Action::Back);
    assert!(grant_requests(&app.update(Action::Tick)).is_empty());

    let (nginx, _) = asked
        .iter()
        .find(|(_, r)| r == "library/nginx")
        .unwrap()
        .clone();
    let budget = RateBudget {
        limit: 100,
        remaining: 76,
        window_secs: Some(21600),
    };
    app.update(Action::Granted {
        req: nginx,
        result: Ok(pull_only()),
        budget: Some(budget),
    });
    assert_eq!(
        app.entries()[0]
            .grants
            .get(&repo("library/nginx"))
            .map(Grants::short),
        Some("r")
    );
    assert_eq!(
        app.budget_text().as_deref(),
        Some("rate limit: 76 of 100 requests left (per 6 h)")
    );
    // An answer nobody asked for (or asked for again) changes nothing.
    app.update(Action::Granted {
        req: nginx,
        result: Ok(Grants::Token {
            actions: Actions {
                all: true,
                ..Actions::default()
            },
        }),
        budget: None,
    });
    assert_eq!(
        app.entries()[0]
            .grants
            .get(&repo("library/nginx"))
            .map(Grants::short),
        Some("r")
    );

    // The column and the budget are on screen.
    let backend = ratatui::backend::TestBackend::new(100, 20);
    let mut terminal = ratatui::Terminal::new(backend).unwrap();
    app.update(Action::FilterClear);
    terminal.draw(|f| draw::draw(&app, f)).unwrap();
    let screen = format!("{}", terminal.backend());
    assert!(screen.contains("MAY"), "{screen}");
    assert!(
        screen
            .lines()
            .any(|l| l.contains("library/nginx") && l.trim_matches('"').trim_end().ends_with(" r")),
        "{screen}"
    );
    assert!(screen.contains("76 of 100 requests left"), "{screen}");
}

#[tokio::test]
async fn a_delete_without_the_delete_action_is_refused_before_the_dialog() {
    let mut app = app(true).await;
    let asked = grant_requests(&app.update(Action::Tick));
    let (nginx, _) = asked
        .iter()
        .find(|(_, r)| r == "library/nginx")
        .unwrap()
        .clone();
    app.update(Action::Granted {
        req: nginx,
        result: Ok(pull_only()),
        budget: None,
    });
    open_repo(&mut app, "nginx");
    select_tag(&mut app, "1.27");
    assert!(app.update(Action::RequestDelete).is_empty());
    assert!(app.dialog().is_none());
    assert!(
        matches!(app.message(), Some(Message::Error(e))
            if e == "the credential for demo may not delete in library/nginx: its token grants pull only"),
        "{:?}",
        app.message()
    );

    // With the delete action granted, the dialog opens.
    let mut app = self::app(true).await;
    let asked = grant_requests(&app.update(Action::Tick));
    let (nginx, _) = asked
        .iter()
        .find(|(_, r)| r == "library/nginx")
        .unwrap()
        .clone();
    app.update(Action::Granted {
        req: nginx,
        result: Ok(Grants::Token {
            actions: Actions::from_names(["pull", "push", "delete"]),
        }),
        budget: None,
    });
    open_repo(&mut app, "nginx");
    select_tag(&mut app, "1.27");
    app.update(Action::RequestDelete);
    assert!(app.dialog().is_some(), "{:?}", app.message());
}

#[tokio::test]
async fn other_registries_are_not_asked() {
    let mut app = app(false).await;
    assert!(grant_requests(&app.update(Action::Tick)).is_empty());
    assert_eq!(app.budget_text(), None);
}
