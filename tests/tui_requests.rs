//! What the TUI asks a real registry, counted by the registry's own access log: opening the
//! registry, a repository, a tag and the storage view reads the catalog, each tag list, each
//! tag's HEAD, each manifest and each config exactly once. The listing, the tag list, the
//! image view and the storage numbers all come from one scan.
//!
//! The app runs with its real workers; the test waits for the results the app is waiting for
//! (never a sleep), and reads the log up to a marker request made after the app went idle.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use regatta::registry::{ClientOptions, Source};
use regatta::tui::keymap::ViewKind;
use regatta::tui::views::View;
use regatta::tui::workers::Workers;
use regatta::tui::{Action, App, Effect, RegistryEntry, Theme};
use support::registry::{Logged, RegistryOptions, TestRegistry};
use support::storage::{MULTI, MinimumRequests, storage_fixture};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

/// The app, its workers and the channel their results come back on: the TUI's loop without
/// a terminal.
struct Driver {
    app: App,
    workers: Workers,
    results: UnboundedReceiver<Action>,
}

impl Driver {
    fn perform(&mut self, effects: Vec<Effect>) {
        for effect in effects {
            self.workers.start(effect, &self.app);
        }
    }

    fn act(&mut self, action: Action) {
        let effects = self.app.update(action);
        self.perform(effects);
    }

    fn type_filter(&mut self, text: &str) {
        self.act(Action::Filter);
        for c in text.chars() {
            self.act(Action::FilterChar(c));
        }
        self.act(Action::FilterKeep);
    }

    /// Feeds results to the app, in batches as the loop does, until `done` holds.
    async fn until(&mut self, what: &str, done: impl Fn(&App) -> bool) {
        while !done(&self.app) {
            // Not a bound on how long anything may take: a guard against waiting forever
            // for a result that will never come.
            let first = tokio::time::timeout(Duration::from_secs(120), self.results.recv())
                .await
                .unwrap_or_else(|_| panic!("no result came while waiting for {what}"))
                .expect("the workers keep the channel open");
            let mut batch = vec![first];
            while let Ok(action) = self.results.try_recv() {
                batch.push(action);
            }
            let effects = self.app.update_batch(batch);
            self.perform(effects);
        }
    }
}

/// Requests by what they are.
#[derive(Debug, Default, PartialEq, Eq)]
struct Kinds {
    catalog_pages: u64,
    tag_lists: u64,
    manifest_heads: u64,
    manifest_gets: u64,
    blob_gets: u64,
}

impl Kinds {
    fn minimum(m: &MinimumRequests) -> Self {
        Self {
            catalog_pages: m.catalog_pages,
            tag_lists: m.tag_lists,
            manifest_heads: m.manifest_heads,
            manifest_gets: m.manifest_gets,
            blob_gets: m.config_gets,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tui_makes_each_request_once_from_registry_to_tag_to_storage() {
    let registry = TestRegistry::start_with(RegistryOptions {
        access_log: true,
        ..RegistryOptions::default()
    });
    let truth = registry.push(&storage_fixture());
    // Six repositories in pages of four: the catalog takes two pages.
    let page_size = 4;
    let minimum = MinimumRequests::of(&truth, page_size);
    assert_eq!(minimum.catalog_pages, 2);
    // The log up to a marker request of the test's own, and the marker's line.
    let before = registry.access_log_since(0).len() + 1;

    // One client for reads and writes, as the front end opens a registry.
    let client = registry.client_with(ClientOptions {
        page_size,
        ..registry.client_options()
    });
    let entry = RegistryEntry {
        name: "local".into(),
        location: registry.url(),
        source: Ok(Arc::new(client.clone()) as Arc<dyn Source>),
        notice: None,
        client: Some(client),
    };
    let now = "2025-06-01T12:00:00Z".parse().expect("a timestamp");
    let app = App::new(vec![entry], true, now, Theme::PLAIN);
    let (tx, results) = unbounded_channel();
    let mut d = Driver {
        app,
        workers: Workers::new(tx),
        results,
    };
    d.act(Action::Resize {
        width: 120,
        height: 30,
    });

    // Open the registry: the repository list fills in, every tag counted.
    let effects = d.app.start();
    d.perform(effects);
    d.until(
        "the repository list",
        |app| matches!(app.top(), View::Repos(v) if v.listed && !v.is_loading()),
    )
    .await;

    // Open a repository (a multi-platform one): its tags, digests, sizes and ages.
    d.type_filter(MULTI);
    d.act(Action::Open);
    d.until(
        "the tag list",
        |app| matches!(app.top(), View::Tags(v) if v.is_complete()),
    )
    .await;
    let View::Tags(tags) = d.app.top() else {
        panic!("the tag list")
    };
    assert_eq!(
        tags.rows.iter().count(),
        truth.repos[MULTI].tags.len(),
        "every tag is listed"
    );
    assert_eq!(tags.rows.failed(), 0);

    // Open a tag: its platforms, read from what the scan fetched.
    d.act(Action::First);
    d.act(Action::Open);
    d.until("the image", |app| {
        matches!(app.top().kind(), ViewKind::Manifest | ViewKind::Layers)
    })
    .await;

    // The storage view: its numbers are final once the scan is done.
    d.act(Action::Back);
    d.act(Action::OpenStorage);
    assert_eq!(d.app.top().kind(), ViewKind::Storage);
    d.until("the end of the scan", |app| {
        app.storage(0).is_some_and(|s| !s.is_scanning())
    })
    .await;
    let model = &d.app.storage(0).expect("the storage").model;
    assert!(model.is_complete(), "{:?}", model.failures);
    let numbers = d.app.storage(0).and_then(|s| s.numbers()).expect("numbers");
    assert_eq!(numbers.registry.physical_bytes, registry.blob_store_bytes());

    let log = registry.access_log_since(before);
    let log = &log[..];
    let mut kinds = Kinds::default();
    let mut times: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut other = Vec::new();
    for e in log {
        assert_eq!(e.status, 200, "{e:?}");
        let slot = match e.kind() {
            Logged::CatalogPage => &mut kinds.catalog_pages,
            Logged::TagList => &mut kinds.tag_lists,
            Logged::ManifestHead => &mut kinds.manifest_heads,
            Logged::ManifestGet => &mut kinds.manifest_gets,
            Logged::BlobGet => &mut kinds.blob_gets,
            Logged::Other => {
                other.push(e.clone());
                continue;
            }
        };
        *slot += 1;
        *times
            .entry((e.method.clone(), e.target.clone()))
            .or_default() += 1;
    }
    let twice: Vec<_> = times.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "asked more than once: {twice:?}");
    assert_eq!(kinds, Kinds::minimum(&minimum));
    // Besides: the ping of the registry list, and nothing else.
    assert!(
        other
            .iter()
            .all(|e| e.method == "GET" && e.target == "/v2/"),
        "{other:?}"
    );
    assert_eq!(other.len(), 1, "{other:?}");
}
