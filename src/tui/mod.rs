//! The terminal UI. Message style: an input task turns terminal events into actions through
//! the keymap, [`App::update`] changes state and returns effects, effects run as tokio tasks
//! that report back with actions, and [`draw`] renders `&App` once per batch.
//!
//! The UI reads registries only through [`Source`], so it shows an HTTP registry, an OCI
//! layout or the bundled demo alike.

pub mod action;
pub mod app;
pub mod columns;
pub mod copying;
pub mod diffing;
pub mod documents;
pub mod draw;
#[cfg(any(test, feature = "test-support"))]
pub mod fixtures;
pub mod format;
pub mod geometry;
pub mod hinting;
pub mod input;
pub mod keymap;
pub mod listing;
#[cfg(any(test, feature = "test-support"))]
pub mod memory;
pub mod referrers;
pub mod repo_hinting;
pub mod storage;
pub mod storage_layout;
pub mod terminal;
pub mod theme;
pub mod views;
pub mod widgets;
pub mod workers;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::EventStream;
use futures::StreamExt;
use tokio::sync::mpsc;

pub use action::{Action, Effect, ReqId};
pub use app::App;
pub use draw::draw;
pub use theme::Theme;

use crate::audit::AuditSettings;
use crate::cleanup::journal::Journal;
use crate::cleanup::policy::PolicySpec;
use crate::registry::{Client, Source};
use input::{ClickTracker, event_action};
use terminal::TerminalGuard;
use workers::Workers;

/// One registry to browse, as the front end opened it.
pub struct RegistryEntry {
    pub name: String,
    /// Where it is (`https://r.example.com`, a directory), shown next to the name.
    pub location: String,
    /// `Err` says why it could not be opened; the registry is listed with that sentence.
    pub source: Result<Arc<dyn Source>, String>,
    /// Something to show about it, such as a warning that TLS is not verified.
    pub notice: Option<String>,
    /// The HTTP client used for writes (deletes, restores). `None` for OCI layouts and the
    /// demo: deleting there is refused with a sentence saying why.
    pub client: Option<Client>,
}

/// What the UI needs besides the registries.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The config's cleanup policies (`config.policies`), offered in the cleanup preview.
    pub policies: BTreeMap<String, PolicySpec>,
    /// Where backups and the audit log of deletes go; `None` refuses deleting.
    pub journal: Option<PathBuf>,
    /// The audit view's patterns and thresholds (`[audit]` in the config).
    pub audit: AuditSettings,
    /// Each registry's `gc_command` (by entry name), offered after a delete.
    pub gc_commands: BTreeMap<String, String>,
    /// Each registry's `storage` (by entry name), read by the storage view.
    pub storages: BTreeMap<String, String>,
    /// The registries (by entry name) whose deletions keep the blobs they free
    /// (`backup_blobs`).
    pub backup_blobs: BTreeSet<String>,
    /// Each registry's `referrers_repository` (by entry name), searched by the referrers view.
    pub referrers_repositories: BTreeMap<String, crate::registry::RepoName>,
}

impl Default for RunOptions {
    /// No policies; the journal where the CLI keeps it (`$XDG_DATA_HOME/regatta`).
    fn default() -> Self {
        Self {
            policies: BTreeMap::new(),
            journal: Journal::default_location().map(|j| j.dir().to_path_buf()),
            audit: AuditSettings::default(),
            gc_commands: BTreeMap::new(),
            storages: BTreeMap::new(),
            backup_blobs: BTreeSet::new(),
            referrers_repositories: BTreeMap::new(),
        }
    }
}

/// Results taken at once before drawing: enough to batch a burst, few enough to stay lively.
const MAX_BATCH: usize = 512;
/// How often the spinner turns while something loads.
const TICK: Duration = Duration::from_millis(100);
/// How often the clock that ages are measured against is refreshed.
const CLOCK: Duration = Duration::from_secs(30);

/// Runs the UI until the user quits. `open_first` starts inside the first registry's
/// repository list instead of the registry list.
pub async fn run(entries: Vec<RegistryEntry>, open_first: bool) -> anyhow::Result<()> {
    run_with(entries, open_first, RunOptions::default()).await
}

/// [`run`] with the config's policies and a journal location.
pub async fn run_with(
    entries: Vec<RegistryEntry>,
    open_first: bool,
    options: RunOptions,
) -> anyhow::Result<()> {
    let mut guard = TerminalGuard::enter()?;
    let size = guard.terminal.size()?;
    let mut app = App::new(
        entries,
        open_first,
        jiff::Timestamp::now(),
        Theme::from_env(),
    )
    .with_journal(options.journal)
    .with_probes(true)
    .with_policies(options.policies.into_iter().collect())
    .with_audit(options.audit)
    .with_gc_commands(options.gc_commands)
    .with_backup_blobs(options.backup_blobs)
    .with_referrers_repositories(options.referrers_repositories)
    .with_storage_locations(options.storages);
    let (tx, mut results) = mpsc::unbounded_channel();
    let mut workers = Workers::new(tx);

    let (event_tx, mut events) = mpsc::unbounded_channel();
    let _input = AbortOnDrop(tokio::spawn(async move {
        let mut stream = EventStream::new();
        while let Some(event) = stream.next().await {
            match event {
                Ok(event) => {
                    if event_tx.send(event).is_err() {
                        break;
                    }
                }
                Err(e) => {
                    tracing::error!("reading terminal events: {e}");
                    break;
                }
            }
        }
    }));

    let mut effects = app.update(Action::Resize {
        width: size.width,
        height: size.height,
    });
    effects.extend(app.start());
    perform(effects, &app, &mut workers);
    guard.terminal.draw(|f| draw(&app, f))?;

    let mut ticker = tokio::time::interval(TICK);
    let mut clock = tokio::time::interval(CLOCK);
    let mut clicks = ClickTracker::default();
    while !app.should_quit() {
        let mut changed = false;
        let mut batch = Vec::new();
        tokio::select! {
            Some(event) = events.recv() => {
                // Keys are mapped against the state they are pressed in, one at a time.
                for event in input::expand(event) {
                    if let Some(action) = event_action(&app, &event, &mut clicks) {
                        let effects = app.update(action);
                        perform(effects, &app, &mut workers);
                        changed = true;
                    }
                }
            }
            Some(action) = results.recv() => batch.push(action),
            _ = ticker.tick(), if app.is_loading() => batch.push(Action::Tick),
            _ = clock.tick() => batch.push(Action::Clock(jiff::Timestamp::now())),
            else => break,
        }
        while batch.len() < MAX_BATCH {
            match results.try_recv() {
                Ok(action) => batch.push(action),
                Err(_) => break,
            }
        }
        if !batch.is_empty() {
            let effects = app.update_batch(batch);
            perform(effects, &app, &mut workers);
            changed = true;
        }
        if changed && !app.should_quit() {
            guard.terminal.draw(|f| draw(&app, f))?;
        }
    }
    workers.abort_all();
    drop(guard);
    Ok(())
}

/// Aborts a task when dropped, so an early return does not leave it reading the terminal.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn perform(effects: Vec<Effect>, app: &App, workers: &mut Workers) {
    for effect in effects {
        tracing::debug!("effect: {}", effect.describe());
        match effect {
            Effect::Copy(text) => {
                if let Err(e) = terminal::copy_to_clipboard(&text) {
                    tracing::warn!("copying to the clipboard: {e}");
                }
            }
            other => workers.start(other, app),
        }
    }
}
