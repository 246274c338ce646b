//! Messages of the TUI loop. Intents (imperatives) come from keys and the mouse; results
//! (past tense) come back from worker tasks and carry the id of the request they answer, so a
//! result for a view that is gone is recognised and dropped.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use crate::registry::image::ImageTree;
use crate::registry::{Digest, ManifestHead, ManifestRef, RegistryError, RepoName, Tag};

/// Identifies one piece of background work, so its results can be matched to the view that
/// asked and the work can be aborted when that view is left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReqId(pub u64);

impl fmt::Display for ReqId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Everything that can change the app's state.
#[derive(Debug, Clone)]
pub enum Action {
    // Intents bound to keys (their snake_case names are the key-binding vocabulary).
    MoveUp,
    MoveDown,
    PageUp,
    PageDown,
    First,
    Last,
    Open,
    Back,
    Filter,
    SortNext,
    SortReverse,
    Refresh,
    CopyReference,
    OpenConfig,
    ToggleHelp,
    Quit,
    FilterKeep,
    FilterClear,
    FilterBackspace,

    // Intents with a payload: typed filter text, the mouse, the terminal, the clock.
    FilterChar(char),
    ScrollBy(i32),
    Click {
        column: u16,
        row: u16,
        double: bool,
    },
    Resize {
        width: u16,
        height: u16,
    },
    Tick,
    Clock(jiff::Timestamp),

    // Results of background work.
    PingFinished {
        req: ReqId,
        result: Result<(), RegistryError>,
    },
    ReposPage {
        req: ReqId,
        repos: Vec<RepoName>,
    },
    ReposListed {
        req: ReqId,
        result: Result<Vec<RepoName>, RegistryError>,
    },
    TagsCounted {
        req: ReqId,
        repo: RepoName,
        result: Result<usize, RegistryError>,
    },
    TagsLoaded {
        req: ReqId,
        result: Result<Vec<Tag>, RegistryError>,
    },
    TagResolved {
        req: ReqId,
        tag: Tag,
        result: Result<ManifestHead, RegistryError>,
    },
    ImageLoaded {
        req: ReqId,
        tree: Arc<ImageTree>,
    },
    ImageFailed {
        req: ReqId,
        reference: ManifestRef,
        error: RegistryError,
    },
    /// The work of a request stopped unexpectedly (it panicked).
    TaskFailed {
        req: ReqId,
        error: String,
    },
}

impl Action {
    /// The snake_case name of a key-bindable intent (`move_down`, `copy_reference`).
    pub fn name(&self) -> Option<&'static str> {
        Some(match self {
            Action::MoveUp => "move_up",
            Action::MoveDown => "move_down",
            Action::PageUp => "page_up",
            Action::PageDown => "page_down",
            Action::First => "first",
            Action::Last => "last",
            Action::Open => "open",
            Action::Back => "back",
            Action::Filter => "filter",
            Action::SortNext => "sort_next",
            Action::SortReverse => "sort_reverse",
            Action::Refresh => "refresh",
            Action::CopyReference => "copy_reference",
            Action::OpenConfig => "open_config",
            Action::ToggleHelp => "toggle_help",
            Action::Quit => "quit",
            Action::FilterKeep => "filter_keep",
            Action::FilterClear => "filter_clear",
            Action::FilterBackspace => "filter_backspace",
            _ => return None,
        })
    }

    /// Whether this is the answer of a worker (as opposed to something the user did).
    pub fn is_result(&self) -> bool {
        matches!(
            self,
            Action::PingFinished { .. }
                | Action::ReposPage { .. }
                | Action::ReposListed { .. }
                | Action::TagsCounted { .. }
                | Action::TagsLoaded { .. }
                | Action::TagResolved { .. }
                | Action::ImageLoaded { .. }
                | Action::ImageFailed { .. }
                | Action::TaskFailed { .. }
        )
    }

    /// The request a result answers.
    pub fn req(&self) -> Option<ReqId> {
        match self {
            Action::PingFinished { req, .. }
            | Action::ReposPage { req, .. }
            | Action::ReposListed { req, .. }
            | Action::TagsCounted { req, .. }
            | Action::TagsLoaded { req, .. }
            | Action::TagResolved { req, .. }
            | Action::ImageLoaded { req, .. }
            | Action::ImageFailed { req, .. }
            | Action::TaskFailed { req, .. } => Some(*req),
            _ => None,
        }
    }
}

/// I/O the app asks for. `entry` indexes the registries the app was started with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Check that a registry answers.
    Ping { req: ReqId, entry: usize },
    /// List the repositories page by page, counting each one's tags as it arrives.
    ListRepos { req: ReqId, entry: usize },
    /// List the tags of a repository.
    ListTags {
        req: ReqId,
        entry: usize,
        repo: RepoName,
    },
    /// Resolve each tag to its digest and fetch the images whose digest is not in `known`
    /// (a bounded number in flight).
    ResolveTags {
        req: ReqId,
        entry: usize,
        repo: RepoName,
        tags: Vec<Tag>,
        known: HashSet<Digest>,
    },
    /// Fetch one image (manifest, children, configs).
    FetchImage {
        req: ReqId,
        entry: usize,
        repo: RepoName,
        reference: ManifestRef,
    },
    /// Stop the work of these requests (their view was left or refreshed).
    Abort(Vec<ReqId>),
    /// Put this text on the clipboard (OSC 52).
    Copy(String),
}

impl Effect {
    /// One short line for the log (a tag list can hold thousands of tags).
    pub fn describe(&self) -> String {
        match self {
            Effect::Ping { req, entry } => format!("ping {req} registry {entry}"),
            Effect::ListRepos { req, entry } => format!("list repositories {req} registry {entry}"),
            Effect::ListTags { req, repo, .. } => format!("list tags {req} {repo}"),
            Effect::ResolveTags {
                req,
                repo,
                tags,
                known,
                ..
            } => format!(
                "resolve tags {req} {repo}: {} tags, {} images cached",
                tags.len(),
                known.len()
            ),
            Effect::FetchImage {
                req,
                repo,
                reference,
                ..
            } => {
                format!("fetch image {req} {repo}:{reference}")
            }
            Effect::Abort(reqs) => format!("abort {reqs:?}"),
            Effect::Copy(text) => format!("copy {} bytes", text.len()),
        }
    }

    /// The request this effect starts, if it starts one.
    pub fn req(&self) -> Option<ReqId> {
        match self {
            Effect::Ping { req, .. }
            | Effect::ListRepos { req, .. }
            | Effect::ListTags { req, .. }
            | Effect::ResolveTags { req, .. }
            | Effect::FetchImage { req, .. } => Some(*req),
            Effect::Abort(_) | Effect::Copy(_) => None,
        }
    }
}
