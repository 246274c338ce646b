//! The app's state and its one entry point, [`App::update`]: an action in, the I/O to do out.
//! Nothing here awaits, so every screen transition is testable without a network.

mod audit;
mod copy;
mod delete;
mod diff;
mod drift;
mod files;
mod grants;
mod hints;
mod intents;
mod referrers;
mod results;
mod storage;
#[cfg(test)]
mod tests;
mod untagged;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use crossterm::event::KeyEvent;
use jiff::Timestamp;
use ratatui::layout::Rect;

use super::RegistryEntry;
use super::action::{Action, Effect, ReqId};
use super::documents::Documents;
use super::geometry;
use super::keymap::{self, Mode, ViewKind};
use super::storage::Storage;
use super::theme::Theme;
use super::views::registries::RegistriesView;
use super::views::{EntryState, Reach, View};
use super::widgets::confirm::ConfirmDialog;
use super::widgets::spinner::Spinner;
use crate::audit::AuditSettings;
use crate::cleanup::policy::PolicySpec;
use crate::registry::RepoName;
use crate::registry::{Client, Source};

/// A line for the user under the list: what just happened, or what went wrong. It never
/// blocks; the next step clears it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Info(String),
    Error(String),
}

impl super::workers::Resources for App {
    fn source(&self, entry: usize) -> Option<Arc<dyn Source>> {
        App::source(self, entry)
    }
    fn client(&self, entry: usize) -> Option<Client> {
        App::client(self, entry)
    }
    fn layer_source(
        &self,
        entry: usize,
        repo: &crate::registry::RepoName,
    ) -> Option<crate::layers::LayerSource> {
        if let Some(client) = App::client(self, entry) {
            return Some(crate::layers::LayerSource::Registry {
                client,
                repo: repo.clone(),
            });
        }
        // An OCI layout has no client; its blobs are files under its directory.
        let location = &self.entries.get(entry)?.location;
        let layout = crate::layout::LayoutSource::open(location).ok()?;
        Some(crate::layers::LayerSource::Layout {
            dir: layout.layout_dir(repo).ok()?,
        })
    }
}

pub struct App {
    entries: Vec<EntryState>,
    /// Never empty: the registries view is at the bottom.
    stack: Vec<View>,
    /// The storage side of each entry: scan, model, marks, numbers (same indexes).
    storages: Vec<Storage>,
    /// The confirmation dialog of a delete or cleanup, over whatever view is in front.
    dialog: Option<ConfirmDialog>,
    /// The copy dialog (destination, plan, progress), over whatever view is in front.
    copy: Option<super::widgets::copy::CopyDialog>,
    /// Restores running, with the entry each writes to (they outlive the view that asked:
    /// a restore cut in the middle would leave a half-restored image).
    restores: HashMap<ReqId, usize>,
    /// Where backups and the audit log go; deleting is refused without one.
    journal: Option<PathBuf>,
    /// Cleanup policies from the config, by name.
    policies: Vec<(String, PolicySpec)>,
    /// Patterns and thresholds of the audit view (`[audit]` in the config).
    audit: Arc<AuditSettings>,
    /// Each registry's `gc_command`, by entry name: offered after a delete.
    gc_commands: BTreeMap<String, String>,
    /// The entries whose deletions keep the blobs they free (`backup_blobs`).
    backup_blobs: BTreeSet<String>,
    /// Each entry's `referrers_repository` (by entry name), searched by the referrers view.
    referrers_repositories: BTreeMap<String, RepoName>,
    /// A tick arrived in the batch being applied: numbers held back during a scan may be
    /// recomputed.
    ticked: bool,
    help_scroll: usize,
    now: Timestamp,
    theme: Theme,
    width: u16,
    height: u16,
    next_req: u64,
    message: Option<Message>,
    help: bool,
    quit: bool,
    spinner: Spinner,
    open_first: bool,
    /// Probe registries that answer for what they can do (off by default: the probe talks
    /// to the registry's client, which tests built on in-memory sources do not want).
    probes: bool,
    /// Grant requests in flight: which registry and repository each asks about.
    grant_reqs: HashMap<ReqId, (usize, crate::registry::RepoName)>,
    /// The base of the next diff (`b` on a tag): its registry and the tag as listed.
    diff_base: Option<(usize, super::action::DiffSide)>,
}

impl App {
    /// `now` is the clock ages are measured against (fixed in tests, refreshed by the loop).
    pub fn new(
        entries: Vec<RegistryEntry>,
        open_first: bool,
        now: Timestamp,
        theme: Theme,
    ) -> Self {
        let storages = entries.iter().map(|_| Storage::default()).collect();
        let entries = entries
            .into_iter()
            .map(|e| EntryState {
                reach: match &e.source {
                    Ok(_) => Reach::Checking,
                    Err(why) => Reach::CannotOpen(why.clone()),
                },
                name: e.name,
                location: e.location,
                // The scan and the images views open read the same documents once.
                source: e
                    .source
                    .map(|s| Arc::new(Documents::new(s)) as Arc<dyn Source>),
                notice: e.notice,
                client: e.client,
                capabilities: None,
                grants: BTreeMap::new(),
                grants_asked: std::collections::BTreeSet::new(),
                budget: None,
            })
            .collect();
        let mut app = Self {
            entries,
            stack: vec![View::Registries(RegistriesView::new())],
            storages,
            dialog: None,
            copy: None,
            restores: HashMap::new(),
            journal: None,
            policies: Vec::new(),
            audit: Arc::new(AuditSettings::default()),
            gc_commands: BTreeMap::new(),
            backup_blobs: BTreeSet::new(),
            referrers_repositories: BTreeMap::new(),
            ticked: false,
            help_scroll: 0,
            now,
            theme,
            width: 80,
            height: 24,
            next_req: 0,
            message: None,
            help: false,
            quit: false,
            spinner: Spinner::default(),
            open_first,
            probes: false,
            grant_reqs: HashMap::new(),
            diff_base: None,
        };
        app.settle();
        app
    }

    /// Where backups and the audit log of deletes go (`None`: deleting is refused).
    pub fn with_journal(mut self, journal: Option<PathBuf>) -> Self {
        self.journal = journal;
        self
    }

    /// Whether registries that answer are probed for what they can do (the registries view
    /// shows it; a registry with deletes off refuses the delete dialog up front).
    pub fn with_probes(mut self, probes: bool) -> Self {
        self.probes = probes;
        self
    }

    /// The cleanup policies of the config, offered in the cleanup preview.
    pub fn with_policies(mut self, policies: Vec<(String, PolicySpec)>) -> Self {
        self.policies = policies;
        self
    }

    /// Each registry's `gc_command` (by entry name), offered after a delete.
    pub fn with_gc_commands(mut self, commands: BTreeMap<String, String>) -> Self {
        self.gc_commands = commands;
        self
    }

    /// The entries (by name) whose deletions keep the blobs they free (`backup_blobs`): their
    /// delete dialogs say what that costs, and the plans they confirm download them first.
    pub fn with_backup_blobs(mut self, entries: BTreeSet<String>) -> Self {
        self.backup_blobs = entries;
        self
    }

    /// The repository (by entry name) where each registry keeps referrers of images in
    /// other repositories (`referrers_repository`): the referrers view looks there too.
    pub fn with_referrers_repositories(mut self, repos: BTreeMap<String, RepoName>) -> Self {
        self.referrers_repositories = repos;
        self
    }

    /// The audit view's settings (from `[audit]` in the config).
    pub fn with_audit(mut self, settings: AuditSettings) -> Self {
        self.audit = Arc::new(settings);
        self
    }

    /// The work to start with: ping every registry, and open the first one if asked to.
    pub fn start(&mut self) -> Vec<Effect> {
        let mut effects = self.ping_all();
        if self.open_first && !self.entries.is_empty() {
            effects.extend(self.open_entry(0));
        }
        self.settle();
        effects.extend(self.request_audits());
        effects.extend(self.request_grants());
        effects.extend(self.request_vulnerability_reports());
        effects
    }

    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        let mut effects = self.apply(action);
        self.settle();
        effects.extend(self.request_audits());
        effects.extend(self.request_grants());
        effects.extend(self.request_vulnerability_reports());
        effects
    }

    /// Applies a batch of actions, recomputing list orders once at the end rather than after
    /// every result (a page of results can re-sort a large list only once).
    pub fn update_batch(&mut self, actions: impl IntoIterator<Item = Action>) -> Vec<Effect> {
        let mut effects = Vec::new();
        for action in actions {
            if !action.is_result() {
                self.settle();
            }
            effects.extend(self.apply(action));
        }
        self.settle();
        effects.extend(self.request_audits());
        effects.extend(self.request_grants());
        effects.extend(self.request_vulnerability_reports());
        effects
    }

    fn apply(&mut self, action: Action) -> Vec<Effect> {
        if action.is_result() {
            return self.on_result(action);
        }
        match action {
            Action::Tick => {
                self.spinner.advance();
                self.ticked = true;
            }
            Action::Clock(now) => self.now = now,
            Action::Resize { width, height } => {
                self.width = width;
                self.height = height;
                let page = self.page();
                for view in &mut self.stack {
                    if let Some((listing, _)) = view.list_parts(&self.entries) {
                        let len = listing.table.len();
                        listing.table.set_len(len, page);
                    }
                }
            }
            Action::ToggleHelp => {
                self.help = !self.help;
                self.help_scroll = 0;
            }
            Action::MoveDown if self.help => self.scroll_help(1),
            Action::MoveUp if self.help => self.scroll_help(-1),
            Action::PageDown if self.help => self.scroll_help(self.help_page()),
            Action::PageUp if self.help => self.scroll_help(-self.help_page()),
            Action::First if self.help => self.help_scroll = 0,
            Action::Last if self.help => self.scroll_help(isize::MAX),
            Action::Quit => {
                // A copy stops at once (aborted as a killed `regatta cp`: no tag on an
                // incomplete image); quit again to leave.
                if let Some(effects) = self.stop_copy_for_quit() {
                    return effects;
                }
                // Quitting in the middle of a step could leave it half done (a tag moved to a
                // placeholder, not yet deleted): the first quit stops after the step.
                if let Some(req) = self.dialog.as_mut().and_then(|d| d.stop_for_quit()) {
                    self.info("stopping after the current step; quit again to leave at once");
                    return vec![Effect::CancelApply(req)];
                }
                self.quit = true;
            }
            other => return self.on_intent(other),
        }
        Vec::new()
    }

    /// Recomputes what changed: storage numbers and marks, then the order of lists whose
    /// rows changed.
    fn settle(&mut self) {
        self.settle_storage();
        let page = self.page();
        for view in &mut self.stack {
            if let Some((listing, rows)) = view.list_parts(&self.entries) {
                listing.settle(&*rows, page);
            }
        }
    }

    fn req(&mut self) -> ReqId {
        self.next_req += 1;
        ReqId(self.next_req)
    }

    /// Rows of data the body shows at the current terminal size (lists lose one to the header).
    /// Moves the help `by` lines, within its length at the current terminal height.
    fn scroll_help(&mut self, by: isize) {
        let entries = keymap::help_entries(self.top().kind()).len();
        let max = super::widgets::help::max_scroll(entries, self.height);
        self.help_scroll = self.help_scroll.saturating_add_signed(by).min(max);
    }

    /// A page of the help: the lines it shows at once, less one kept for context.
    fn help_page(&self) -> isize {
        let entries = keymap::help_entries(self.top().kind()).len();
        let shown = super::widgets::help::rows_shown(entries, self.height);
        shown.saturating_sub(1).max(1) as isize
    }

    pub fn page(&self) -> usize {
        self.page_of(self.top().kind())
    }

    fn page_of(&self, kind: ViewKind) -> usize {
        super::views::page_size(kind, self.body())
    }

    /// Where the view in front is drawn at the current terminal size.
    fn body(&self) -> Rect {
        geometry::layout(Rect::new(0, 0, self.width, self.height)).body
    }

    /// What a key means here and now. In the dialog, Enter confirms the very plan shown.
    pub fn key_action(&self, key: &KeyEvent) -> Option<Action> {
        let mode = self.mode();
        if !self.help && self.copy.is_some() {
            return match keymap::action_for(mode, self.top().kind(), key)? {
                Action::Confirm => self.copy_confirmation(),
                other => Some(other),
            };
        }
        match mode {
            Mode::Help => keymap::action_for(mode, self.top().kind(), key),
            Mode::Confirm | Mode::TypeConfirm => {
                match keymap::action_for(mode, self.top().kind(), key)? {
                    Action::Confirm => match &self.dialog {
                        Some(d) => d.confirmation().or(Some(Action::Cancel)),
                        None => None,
                    },
                    other => Some(other),
                }
            }
            _ => self.top().handle_key(key),
        }
    }

    pub fn mode(&self) -> Mode {
        if self.help {
            return Mode::Help;
        }
        if let Some(mode) = self.copy_mode() {
            return mode;
        }
        if let Some(d) = &self.dialog {
            return if d.wants_typing() {
                Mode::TypeConfirm
            } else {
                Mode::Confirm
            };
        }
        self.top().mode()
    }

    pub fn top(&self) -> &View {
        // The stack is never empty (Back never pops the last view).
        &self.stack[self.stack.len() - 1]
    }

    fn top_mut(&mut self) -> &mut View {
        let last = self.stack.len() - 1;
        &mut self.stack[last]
    }

    pub fn stack(&self) -> &[View] {
        &self.stack
    }

    pub fn entries(&self) -> &[EntryState] {
        &self.entries
    }

    pub fn source(&self, entry: usize) -> Option<Arc<dyn Source>> {
        self.entries.get(entry)?.source.as_ref().ok().cloned()
    }

    pub fn client(&self, entry: usize) -> Option<Client> {
        self.entries.get(entry)?.client.clone()
    }

    pub fn message(&self) -> Option<&Message> {
        self.message.as_ref()
    }

    pub fn help_shown(&self) -> bool {
        self.help
    }

    pub fn help_scroll(&self) -> usize {
        self.help_scroll
    }

    pub fn dialog(&self) -> Option<&ConfirmDialog> {
        self.dialog.as_ref()
    }

    pub fn storages(&self) -> &[Storage] {
        &self.storages
    }

    pub fn storage(&self, entry: usize) -> Option<&Storage> {
        self.storages.get(entry)
    }

    /// The storage of the registry the front view is in.
    pub fn current_storage(&self) -> Option<&Storage> {
        self.storage(self.top().entry()?)
    }

    pub fn should_quit(&self) -> bool {
        self.quit
    }

    pub fn now(&self) -> Timestamp {
        self.now
    }

    pub fn theme(&self) -> Theme {
        self.theme
    }

    pub fn spinner(&self) -> char {
        self.spinner.symbol()
    }

    /// Whether any view on the stack still waits for results (the loop ticks the spinner).
    pub fn is_loading(&self) -> bool {
        self.stack.iter().any(View::is_loading)
            || self.entries.iter().any(|e| e.reach == Reach::Checking)
            || self.storages.iter().any(Storage::is_scanning)
            || self
                .dialog
                .as_ref()
                .is_some_and(|d| d.apply_req().is_some())
            || !self.restores.is_empty()
            || self.copy.as_ref().is_some_and(|c| c.req().is_some())
    }

    /// Breadcrumbs from the bottom of the stack to the top.
    pub fn crumbs(&self) -> Vec<String> {
        self.stack
            .iter()
            .flat_map(|v| v.crumbs(&self.entries))
            .collect()
    }

    fn error(&mut self, text: impl Into<String>) {
        let text = text.into();
        tracing::warn!("{text}");
        self.message = Some(Message::Error(text));
    }

    fn info(&mut self, text: impl Into<String>) {
        self.message = Some(Message::Info(text.into()));
    }

    fn ping_all(&mut self) -> Vec<Effect> {
        let mut effects = Vec::new();
        let mut pings = Vec::new();
        for entry in 0..self.entries.len() {
            if self.entries[entry].source.is_ok() {
                self.entries[entry].reach = Reach::Checking;
                let req = self.req();
                pings.push((req, entry));
                effects.push(Effect::Ping { req, entry });
            }
        }
        if let View::Registries(v) = &mut self.stack[0] {
            v.loads.extend(pings.iter().map(|(r, _)| *r));
            v.pings.extend(pings);
        }
        effects
    }
}
