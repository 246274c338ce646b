//! A registry that answers is probed for what it can do, and the registries view says it.

use super::*;
use crate::registry::probe::{Answer, Capabilities, CatalogFinding, Finding};
use crate::registry::{Client, ClientOptions, RegistryAddr};

fn finding(answer: Answer, evidence: &str) -> Finding {
    Finding {
        answer,
        evidence: evidence.into(),
    }
}

pub(super) fn capabilities() -> Capabilities {
    Capabilities {
        api_version: Some("registry/2.0".into()),
        server: None,
        credential: "anonymous".into(),
        token_auth: false,
        catalog: CatalogFinding {
            works: finding(Answer::Yes, "answers n=1000"),
            accepts_page_size_1000: Some(true),
            registry_page_size: None,
            page_cap: Some(1000),
        },
        probe_repository: "team/app".into(),
        referrers_api: finding(Answer::No, "404"),
        tag_delete: finding(Answer::No, "400 DIGEST_INVALID"),
        deletes_enabled: finding(Answer::No, "405 UNSUPPORTED"),
    }
}

/// One registry with a client (never contacted: the test answers for the workers).
fn app_with_a_client() -> (App, ReqId) {
    let client = Client::new(
        RegistryAddr::parse("https://r.example").unwrap(),
        ClientOptions {
            certs_d_roots: Vec::new(),
            ..ClientOptions::default()
        },
    )
    .unwrap();
    let mut with_client = entry("r.example", Ok(shared(fixtures::sample())));
    with_client.client = Some(client);
    let mut app = App::new(vec![with_client], false, now(), Theme::PLAIN).with_probes(true);
    let effects = app.start();
    let ping = req_of(&effects);
    (app, ping)
}

#[test]
fn a_registry_that_answers_is_probed_and_shows_what_it_can_do() {
    let (mut app, ping) = app_with_a_client();
    let effects = app.update(Action::PingFinished {
        req: ping,
        result: Ok(()),
    });
    let [
        Effect::Probe {
            req: probe,
            entry: 0,
        },
    ] = effects.as_slice()
    else {
        panic!("expected one probe: {effects:?}");
    };
    let probe = *probe;
    assert!(app.entries()[0].capabilities.is_none());
    app.update(Action::Probed {
        req: probe,
        result: Ok(Box::new(capabilities())),
    });
    assert_eq!(app.entries()[0].capabilities, Some(capabilities()));
    let View::Registries(view) = &app.stack()[0] else {
        panic!("the registries view");
    };
    let detail = view.detail(app.entries()).expect("a detail line");
    assert!(
        detail.contains("deletes enabled: no (405 UNSUPPORTED)"),
        "{detail}"
    );
    assert_eq!(
        capabilities().summary(),
        "deletes no · catalog yes · tag delete no · referrers no"
    );
    // A second answer is stale.
    app.update(Action::Probed {
        req: probe,
        result: Err(RegistryError::Setup("late".into())),
    });
    assert_eq!(app.entries()[0].capabilities, Some(capabilities()));
}

#[test]
fn a_registry_that_fails_its_ping_or_has_no_client_is_not_probed() {
    let (mut app, ping) = app_with_a_client();
    let effects = app.update(Action::PingFinished {
        req: ping,
        result: Err(RegistryError::Setup("down".into())),
    });
    assert!(effects.is_empty(), "{effects:?}");

    let (mut demo, effects) = demo_app(false);
    let effects = demo.update(Action::PingFinished {
        req: req_of(&effects),
        result: Ok(()),
    });
    assert!(effects.is_empty(), "the demo has no client: {effects:?}");
}

#[test]
fn without_probes_nothing_is_probed() {
    let client = Client::new(
        RegistryAddr::parse("https://r.example").unwrap(),
        ClientOptions {
            certs_d_roots: Vec::new(),
            ..ClientOptions::default()
        },
    )
    .unwrap();
    let mut with_client = entry("r.example", Ok(shared(fixtures::sample())));
    with_client.client = Some(client);
    let mut app = App::new(vec![with_client], false, now(), Theme::PLAIN);
    let effects = app.start();
    let effects = app.update(Action::PingFinished {
        req: req_of(&effects),
        result: Ok(()),
    });
    assert!(effects.is_empty(), "{effects:?}");
}

#[tokio::test]
async fn a_registry_with_deletes_off_refuses_the_delete_dialog_saying_why() {
    use super::storage::{open_repo, scanned, select_tag};
    let client = Client::new(
        RegistryAddr::parse("demo.example").unwrap(),
        ClientOptions {
            certs_d_roots: Vec::new(),
            ..ClientOptions::default()
        },
    )
    .unwrap();
    let entries = vec![RegistryEntry {
        client: Some(client),
        ..entry("demo", Ok(shared(fixtures::sample())))
    }];
    let mut app = scanned(entries)
        .await
        .with_journal(Some("/nonexistent/regatta-journal".into()));
    app.entries[0].capabilities = Some(capabilities());
    open_repo(&mut app, "nginx");
    select_tag(&mut app, "1.27");
    assert!(app.update(Action::RequestDelete).is_empty());
    assert!(
        app.dialog().is_none(),
        "no dialog where every step would fail"
    );
    assert!(
        matches!(app.message(), Some(Message::Error(e))
            if e.contains("deletes are disabled on demo (405 UNSUPPORTED); Distribution needs storage.delete.enabled: true")),
        "{:?}",
        app.message()
    );
    // The same request opens the dialog where deletes are on.
    if let Some(c) = app.entries[0].capabilities.as_mut() {
        c.deletes_enabled.answer = Answer::Yes;
    }
    app.update(Action::RequestDelete);
    assert!(app.dialog().is_some());
}
