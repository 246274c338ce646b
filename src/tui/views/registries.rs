//! The configured registries, with whether each answers and accepts our credentials.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use ratatui::Frame;
use ratatui::layout::Rect;

use super::Ctx;
use crate::registry::probe::Capabilities;
use crate::registry::{Client, RegistryError, Source};
use crate::tui::action::ReqId;
use crate::tui::columns::{REGISTRY_COLUMNS, RegistryLine, registry_row};
use crate::tui::listing::{Listing, Rows, SortKey};
use crate::tui::widgets::table::{TableRow, render_table};

/// A registry the app was started with, and what its last ping said.
pub struct EntryState {
    pub name: String,
    pub location: String,
    pub source: Result<Arc<dyn Source>, String>,
    pub notice: Option<String>,
    /// The HTTP client for writes; `None` for layouts and the demo (deleting is refused).
    pub client: Option<Client>,
    pub reach: Reach,
    /// What the registry can do, once probed (registries with a client only).
    pub capabilities: Option<Capabilities>,
    /// What the credential may do per repository, asked of a token registry's token server
    /// once per repository while its repository list is shown.
    pub grants: std::collections::BTreeMap<crate::registry::RepoName, crate::registry::Grants>,
    /// Repositories whose grants were asked for (answered or not): never asked twice.
    pub grants_asked: std::collections::BTreeSet<crate::registry::RepoName>,
    /// The request budget the registry announced last (`RateLimit-*`), as the workers saw it.
    pub budget: Option<crate::registry::RateBudget>,
}

impl std::fmt::Debug for EntryState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EntryState")
            .field("name", &self.name)
            .field("location", &self.location)
            .field("source", &self.source.as_ref().map(|s| s.name()))
            .field("reach", &self.reach)
            .finish()
    }
}

/// Whether a registry can be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    Checking,
    Ok,
    Unauthorized(String),
    Unreachable(String),
    Failed(String),
    /// The source could not even be set up (bad config, missing directory).
    CannotOpen(String),
}

impl Reach {
    pub fn from_ping(result: &Result<(), RegistryError>) -> Reach {
        match result {
            Ok(()) => Reach::Ok,
            Err(
                e @ (RegistryError::Unauthorized { .. }
                | RegistryError::Forbidden { .. }
                | RegistryError::Auth { .. }
                | RegistryError::Credentials { .. }),
            ) => Reach::Unauthorized(e.to_string()),
            Err(
                e @ (RegistryError::Unreachable { .. }
                | RegistryError::Tls { .. }
                | RegistryError::Timeout { .. }),
            ) => Reach::Unreachable(e.to_string()),
            Err(e) => Reach::Failed(e.to_string()),
        }
    }

    pub fn word(&self) -> &'static str {
        match self {
            Reach::Checking => "checking…",
            Reach::Ok => "ok",
            Reach::Unauthorized(_) => "unauthorized",
            Reach::Unreachable(_) => "unreachable",
            Reach::Failed(_) => "error",
            Reach::CannotOpen(_) => "not opened",
        }
    }

    pub fn sentence(&self) -> Option<&str> {
        match self {
            Reach::Unauthorized(s) | Reach::Unreachable(s) | Reach::Failed(s) => Some(s),
            Reach::CannotOpen(s) => Some(s),
            Reach::Checking | Reach::Ok => None,
        }
    }
}

/// The registries as list rows (they live in the app, which every view reads).
pub struct EntryRows<'a>(pub &'a [EntryState]);

impl Rows for EntryRows<'_> {
    fn len(&self) -> usize {
        self.0.len()
    }
    fn text(&self, row: usize) -> &str {
        &self.0[row].name
    }
    fn has(&self, _row: usize, _key: SortKey) -> bool {
        true
    }
    fn compare(&self, a: usize, b: usize, _key: SortKey) -> Ordering {
        self.0[a].name.cmp(&self.0[b].name)
    }
}

#[derive(Debug)]
pub struct RegistriesView {
    pub listing: Listing,
    pub loads: Vec<ReqId>,
    /// Which registry each ping (or capability probe) in flight is about.
    pub pings: HashMap<ReqId, usize>,
}

impl RegistriesView {
    /// No sort keys: registries show in the order the configuration lists them.
    pub const SORT_KEYS: &'static [SortKey] = &[];

    pub fn new() -> Self {
        Self {
            listing: Listing::new(Self::SORT_KEYS),
            loads: Vec::new(),
            pings: HashMap::new(),
        }
    }

    pub fn selected(&self) -> Option<usize> {
        self.listing.selected_row()
    }

    pub fn render(&self, f: &mut Frame, area: Rect, ctx: &Ctx<'_>) {
        let theme = ctx.theme;
        render_table(
            f,
            area,
            REGISTRY_COLUMNS,
            &self.listing.table,
            &theme,
            "no registries match",
            |position| {
                let Some(entry) = self
                    .listing
                    .row_at(position)
                    .and_then(|r| ctx.entries.get(r))
                else {
                    return TableRow::default();
                };
                let summary = entry.capabilities.as_ref().map(Capabilities::summary);
                let detail = entry
                    .reach
                    .sentence()
                    .or(entry.notice.as_deref())
                    .or(summary.as_deref())
                    .unwrap_or("");
                let line = RegistryLine {
                    name: &entry.name,
                    location: &entry.location,
                    state: entry.reach.word(),
                    detail,
                };
                let style = match entry.reach {
                    Reach::Ok => theme.ok(),
                    Reach::Checking => theme.dim(),
                    Reach::Unauthorized(_) => theme.warning(),
                    _ => theme.error(),
                };
                TableRow {
                    cells: registry_row(&line),
                    accent: Some((2, style)),
                }
            },
        );
    }

    /// The full sentence about the selected registry (the column cuts it off).
    pub fn detail(&self, entries: &[EntryState]) -> Option<String> {
        let entry = entries.get(self.selected()?)?;
        match (entry.reach.sentence(), &entry.notice, &entry.capabilities) {
            (Some(s), _, _) => Some(s.to_string()),
            (None, Some(n), _) => Some(n.clone()),
            (None, None, Some(c)) => Some(
                c.lines()
                    .iter()
                    .map(|(label, text)| format!("{label}: {text}"))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            (None, None, None) => None,
        }
    }
}

impl Default for RegistriesView {
    fn default() -> Self {
        Self::new()
    }
}
