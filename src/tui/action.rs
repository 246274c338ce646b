//! Messages of the TUI loop. Intents (imperatives) come from keys and the mouse; results
//! (past tense) come back from worker tasks and carry the id of the request they answer, so a
//! result for a view that is gone is recognised and dropped.

use std::fmt;
use std::ops::Deref;
use std::path::PathBuf;
use std::sync::Arc;

use crate::analysis::model::{ScanEvent, StorageModel};
use crate::audit::{AuditReport, AuditSettings};
use crate::cleanup::execute::{ApplyEvent, ApplyReport};
use crate::cleanup::gc::{GcError, GcRun};
use crate::cleanup::journal::BackupMeta;
use crate::cleanup::plan::Plan;
use crate::cleanup::restore::{RestoreError, RestoreResult};
use crate::registry::image::ImageTree;
use crate::registry::{ManifestRef, RegistryError, RepoName};

/// Identifies one piece of background work, so its results can be matched to the view that
/// asked and the work can be aborted when that view is left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReqId(pub u64);

impl fmt::Display for ReqId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// A plan shared between the dialog that shows it, the confirmation and the task that applies
/// it. Two are equal only when they are the same allocation: a confirmation is accepted for
/// exactly the plan the dialog showed, never for an equal-looking one computed later.
#[derive(Debug, Clone)]
pub struct PlanRef(pub Arc<Plan>);

impl PlanRef {
    pub fn new(plan: Plan) -> Self {
        Self(Arc::new(plan))
    }
}

impl PartialEq for PlanRef {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for PlanRef {}

impl Deref for PlanRef {
    type Target = Plan;
    fn deref(&self) -> &Plan {
        &self.0
    }
}

/// A copy plan shared by the dialog that shows it and the task that applies it; compared by
/// identity like [`PlanRef`]: the copy confirmed is the plan read.
#[derive(Debug, Clone)]
pub struct CopyPlanRef(pub Arc<crate::copy::CopyPlan>);

impl PartialEq for CopyPlanRef {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for CopyPlanRef {}

/// Where a copy from the TUI goes: another registry of the app, or an OCI layout directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyTo {
    Registry(usize),
    Directory(PathBuf),
}

/// A copy the TUI asks for: the images (source and destination names) from one registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyJob {
    pub source: usize,
    pub destination: CopyTo,
    pub requests: Vec<crate::copy::ImageRequest>,
}

/// What an audit is built from: a copy of the scanned model (the scan may go on changing the
/// app's), the settings, the clock, and the repository it is limited to. Shared with the
/// task that builds it; compared by identity, like [`PlanRef`].
#[derive(Debug, Clone)]
pub struct AuditJob(pub Arc<AuditInput>);

#[derive(Debug)]
pub struct AuditInput {
    /// Shared with the storage state: a later scan event copies it there, not here.
    pub model: Arc<StorageModel>,
    pub settings: Arc<AuditSettings>,
    pub now: jiff::Timestamp,
    /// `None`: the whole registry.
    pub repo: Option<RepoName>,
}

impl PartialEq for AuditJob {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for AuditJob {}

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
    ToggleMark,
    ClearMarks,
    OpenStorage,
    RequestDelete,
    OpenDeleted,
    Restore,
    OpenCleanup,
    NextPolicy,
    EditField,
    EditKeep,
    EditCancel,
    EditBackspace,
    Confirm,
    Cancel,
    SwitchMode,
    OpenAudit,
    SuggestCleanup,
    /// Show the tag list's bookkeeping tags (signatures, SBOMs, referrer indexes) as tags,
    /// or fold them under their images again.
    ToggleAttached,
    /// Open the referrers of the selected tag or platform (signatures, SBOMs, ...).
    OpenReferrers,
    /// Fold or unfold the referrers of the selected referrer (or a directory of a tree).
    ToggleFold,
    /// Copy the marked tags (or the selected one) to another registry or a directory.
    RequestCopy,
    /// Open the merged filesystem of the image (from its layers).
    OpenMerged,
    /// In a file tree: show all entries, only changed ones, or only large files.
    CycleShown,
    /// Mark the selected tag as the base of a diff.
    MarkBase,
    /// Open the diff of the base (see `MarkBase`) and the selected tag.
    OpenDiff,
    /// Open the size hints of the image (or the selected platform): wasted bytes,
    /// efficiency, duplicates, largest files, known waste.
    OpenHints,
    /// Open the base-image drift of the repository's tags (from what the scan read).
    OpenDrift,

    // Intents with a payload: typed filter text, the mouse, the terminal, the clock.
    FilterChar(char),
    /// A character typed into a form field or a confirmation.
    EditChar(char),
    /// The user confirmed this plan, the one the dialog showed (see [`PlanRef`]).
    ConfirmDelete(PlanRef),
    /// The user confirmed this copy plan, the one the dialog showed.
    ConfirmCopy(CopyPlanRef),
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
    /// What a registry can do (after a successful ping of a registry with a client).
    Probed {
        req: ReqId,
        result: Result<Box<crate::registry::probe::Capabilities>, RegistryError>,
    },
    /// What the credential may do on `repo` (a token registry's token server said), and the
    /// registry's request budget as last seen.
    Granted {
        req: ReqId,
        result: Result<crate::registry::Grants, RegistryError>,
        budget: Option<crate::registry::RateBudget>,
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
    /// One fact learned by the storage scan.
    Scanned {
        req: ReqId,
        event: ScanEvent,
    },
    ScanFinished {
        req: ReqId,
        result: Result<(), RegistryError>,
    },
    ApplyProgress {
        req: ReqId,
        event: ApplyEvent,
    },
    ApplyFinished {
        req: ReqId,
        report: ApplyReport,
    },
    BackupsListed {
        req: ReqId,
        backups: Vec<BackupMeta>,
    },
    /// The registry's garbage collection ran (or could not be started).
    GcFinished {
        req: ReqId,
        result: Result<GcRun, GcError>,
    },
    Restored {
        req: ReqId,
        result: Result<RestoreResult, RestoreError>,
    },
    /// The audit of a registry or repository, built over the scanned model.
    AuditBuilt {
        req: ReqId,
        report: Arc<AuditReport>,
    },
    /// The referrers of a manifest, as a tree.
    ReferrersFound {
        req: ReqId,
        result: Result<Arc<crate::tui::referrers::ReferrersFound>, RegistryError>,
    },
    /// The registry's own storage was read (`Effect::ReadStorage`).
    StorageRead {
        req: ReqId,
        result: Result<crate::tui::storage_layout::StorageReading, String>,
    },
    /// Vulnerability reports read: each report's counts by severity, or `None` when it
    /// could not be read.
    VulnerabilityReportsRead {
        req: ReqId,
        reports: Vec<(
            crate::registry::Digest,
            Option<crate::analysis::content::SeverityCounts>,
        )>,
    },
    /// A copy's plan was built (`Effect::PlanCopy`).
    CopyPlanned {
        req: ReqId,
        result: Result<CopyPlanRef, String>,
    },
    /// A running copy's counters, `elapsed` after it started.
    CopyProgressed {
        req: ReqId,
        snapshot: crate::copy::ProgressSnapshot,
        elapsed: std::time::Duration,
    },
    CopyFinished {
        req: ReqId,
        outcome: crate::copy::CopyOutcome,
        elapsed: std::time::Duration,
    },
    /// Layers listed so far for a file tree: raw bytes read (or found in the cache) of
    /// the bytes of the layers to read, and the rate of the reading.
    FilesProgress {
        req: ReqId,
        read: u64,
        rate: u64,
    },
    /// The file tree of `Effect::ListFiles`, or one sentence naming the layer that failed.
    FilesListed {
        req: ReqId,
        result: Result<Arc<crate::layers::tree::FileTree>, String>,
    },
    /// Layers listed so far for a diff (as `FilesProgress`), of `total` bytes to read
    /// (0 until both images are fetched).
    DiffProgress {
        req: ReqId,
        read: u64,
        total: u64,
        rate: u64,
    },
    /// The diff of `Effect::DiffImages`, or one sentence saying what failed.
    DiffBuilt {
        req: ReqId,
        result: Result<Arc<crate::layers::diff::ImageDiff>, String>,
    },
    /// Layers listed so far for size hints (as `FilesProgress`).
    HintsProgress {
        req: ReqId,
        read: u64,
        rate: u64,
    },
    /// The hints of `Effect::ImageHints`, or one sentence naming the layer that failed.
    HintsBuilt {
        req: ReqId,
        result: Result<Arc<crate::layers::hints::Hints>, String>,
    },
    /// Layers listed so far for the repository's size hints, of `total` bytes of distinct
    /// layers (0 until every tag is resolved).
    RepoHintsProgress {
        req: ReqId,
        read: u64,
        total: u64,
        rate: u64,
    },
    /// The report of `Effect::RepoHints` (a tag that could not be read is a failure in it).
    RepoHintsBuilt {
        req: ReqId,
        result: Result<Arc<crate::layers::repo_hints::RepoHints>, String>,
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
            Action::ToggleMark => "toggle_mark",
            Action::ClearMarks => "clear_marks",
            Action::OpenStorage => "open_storage",
            Action::RequestDelete => "request_delete",
            Action::OpenDeleted => "open_deleted",
            Action::Restore => "restore",
            Action::OpenCleanup => "open_cleanup",
            Action::NextPolicy => "next_policy",
            Action::EditField => "edit_field",
            Action::EditKeep => "edit_keep",
            Action::EditCancel => "edit_cancel",
            Action::EditBackspace => "edit_backspace",
            Action::Confirm => "confirm",
            Action::Cancel => "cancel",
            Action::SwitchMode => "switch_mode",
            Action::OpenAudit => "open_audit",
            Action::SuggestCleanup => "suggest_cleanup",
            Action::ToggleAttached => "toggle_attached",
            Action::OpenReferrers => "open_referrers",
            Action::ToggleFold => "toggle_fold",
            Action::RequestCopy => "request_copy",
            Action::OpenMerged => "open_merged",
            Action::CycleShown => "cycle_shown",
            Action::MarkBase => "mark_base",
            Action::OpenDiff => "open_diff",
            Action::OpenHints => "open_hints",
            Action::OpenDrift => "open_drift",
            _ => return None,
        })
    }

    /// Whether this is the answer of a worker (as opposed to something the user did).
    pub fn is_result(&self) -> bool {
        matches!(
            self,
            Action::PingFinished { .. }
                | Action::Probed { .. }
                | Action::Granted { .. }
                | Action::ImageLoaded { .. }
                | Action::ImageFailed { .. }
                | Action::Scanned { .. }
                | Action::ScanFinished { .. }
                | Action::ApplyProgress { .. }
                | Action::ApplyFinished { .. }
                | Action::BackupsListed { .. }
                | Action::GcFinished { .. }
                | Action::Restored { .. }
                | Action::AuditBuilt { .. }
                | Action::ReferrersFound { .. }
                | Action::StorageRead { .. }
                | Action::VulnerabilityReportsRead { .. }
                | Action::CopyPlanned { .. }
                | Action::CopyProgressed { .. }
                | Action::CopyFinished { .. }
                | Action::FilesProgress { .. }
                | Action::FilesListed { .. }
                | Action::DiffProgress { .. }
                | Action::DiffBuilt { .. }
                | Action::HintsProgress { .. }
                | Action::HintsBuilt { .. }
                | Action::RepoHintsProgress { .. }
                | Action::RepoHintsBuilt { .. }
                | Action::TaskFailed { .. }
        )
    }

    /// The request a result answers.
    pub fn req(&self) -> Option<ReqId> {
        match self {
            Action::PingFinished { req, .. }
            | Action::Probed { req, .. }
            | Action::Granted { req, .. }
            | Action::ImageLoaded { req, .. }
            | Action::ImageFailed { req, .. }
            | Action::Scanned { req, .. }
            | Action::ScanFinished { req, .. }
            | Action::ApplyProgress { req, .. }
            | Action::ApplyFinished { req, .. }
            | Action::BackupsListed { req, .. }
            | Action::GcFinished { req, .. }
            | Action::Restored { req, .. }
            | Action::AuditBuilt { req, .. }
            | Action::ReferrersFound { req, .. }
            | Action::StorageRead { req, .. }
            | Action::VulnerabilityReportsRead { req, .. }
            | Action::CopyPlanned { req, .. }
            | Action::CopyProgressed { req, .. }
            | Action::CopyFinished { req, .. }
            | Action::FilesProgress { req, .. }
            | Action::FilesListed { req, .. }
            | Action::DiffProgress { req, .. }
            | Action::DiffBuilt { req, .. }
            | Action::HintsProgress { req, .. }
            | Action::HintsBuilt { req, .. }
            | Action::RepoHintsProgress { req, .. }
            | Action::RepoHintsBuilt { req, .. }
            | Action::TaskFailed { req, .. } => Some(*req),
            _ => None,
        }
    }
}

/// One image of a diff: a tag (or a platform of one) of a repository, at the digest the view
/// showed (so the diff is of what was on screen even if the tag moves meanwhile).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffSide {
    pub repo: RepoName,
    /// What people called it: the tag, or a digest.
    pub name: ManifestRef,
    /// The manifest to compare: the tag's, or the platform's.
    pub digest: crate::registry::Digest,
    /// The platform chosen in the platforms view (`linux/arm64`); `None`: as `regatta diff`
    /// chooses without `--platform`.
    pub platform: Option<String>,
}

impl DiffSide {
    /// `v1`, or `v1 [linux/arm64]`.
    pub fn label(&self) -> String {
        match &self.platform {
            Some(p) => format!("{} [{p}]", self.name),
            None => self.name.to_string(),
        }
    }
}

/// I/O the app asks for. `entry` indexes the registries the app was started with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Check that a registry answers.
    Ping { req: ReqId, entry: usize },
    /// Find out what a registry can do ([`crate::registry::probe`]; changes nothing).
    Probe { req: ReqId, entry: usize },
    /// Ask the token server what the credential may do on `repo` (one token request).
    Grants {
        req: ReqId,
        entry: usize,
        repo: RepoName,
    },
    /// Fetch one image (manifest, children, configs) for the manifest and layer views,
    /// through the documents the scan reads (so nothing the scan has is fetched again).
    FetchImage {
        req: ReqId,
        entry: usize,
        repo: RepoName,
        reference: ManifestRef,
    },
    /// Scan the registry's storage (only `repos` when given, without the catalog), reporting
    /// every fact. The scan is the one pipeline of the registry's data: the repository and
    /// tag lists and every number the views show come from its model.
    Scan {
        req: ReqId,
        entry: usize,
        repos: Option<Vec<RepoName>>,
    },
    /// Ask the running scan `scan` to scan `repo` now, before the repositories queued (a
    /// view shows it). Nothing if the scan has it already.
    Prioritize { scan: ReqId, repo: RepoName },
    /// Apply a plan with the registry's client, journaling into `journal`.
    ApplyPlan {
        req: ReqId,
        entry: usize,
        plan: PlanRef,
        journal: PathBuf,
        registry: String,
    },
    /// Ask a running apply to stop before its next step (the current step finishes).
    CancelApply(ReqId),
    /// Run the registry's `gc_command` (after a delete, when asked).
    RunGc { req: ReqId, command: String },
    /// Read the backups in the journal.
    ListBackups { req: ReqId, journal: PathBuf },
    /// Put a backup back into the registry.
    Restore {
        req: ReqId,
        entry: usize,
        journal: PathBuf,
        id: String,
    },
    /// Build an audit report: the HEAD checks of signature subjects through the registry's
    /// source, then the report itself (off the loop).
    Audit {
        req: ReqId,
        entry: usize,
        job: AuditJob,
    },
    /// Find the referrers of `subject` in `repo` (discovery and its tree, as `regatta
    /// referrers` does), reading the tags as the scan resolved them (`None`: not listed
    /// yet) through the documents the scan read.
    FindReferrers {
        req: ReqId,
        entry: usize,
        repo: RepoName,
        subject: crate::registry::Digest,
        tags: Option<Arc<Vec<(crate::registry::Tag, crate::registry::Digest)>>>,
        /// Other repositories that hold referrers of images here (the registry's
        /// `referrers_repository`).
        also_in: Vec<RepoName>,
    },
    /// Read the vulnerability reports `reports` (attestation manifests of `repo`): their
    /// statements' blobs, through the documents the scan read, within the size cap.
    ReadVulnerabilityReports {
        req: ReqId,
        entry: usize,
        repo: RepoName,
        reports: Vec<crate::registry::Digest>,
    },
    /// List `layers` (bottom first, up to the one wanted) and build the file tree of
    /// `of` from them, reporting progress; aborting it stops the download.
    ListFiles {
        req: ReqId,
        entry: usize,
        repo: RepoName,
        layers: Vec<crate::registry::Descriptor>,
        of: crate::layers::tree::TreeOf,
    },
    /// Diff two images of registry `entry` as `regatta diff` does: fetch both, list all
    /// their layers (through the listing cache, reporting progress), compare. Aborting it
    /// stops the downloads.
    DiffImages {
        req: ReqId,
        entry: usize,
        before: DiffSide,
        after: DiffSide,
    },
    /// List all `layers` of an image of `repo` (through the listing cache, reporting
    /// progress) and compute its size hints as `regatta hints` does. Aborting it stops the
    /// download.
    ImageHints {
        req: ReqId,
        entry: usize,
        repo: RepoName,
        layers: Vec<crate::registry::Descriptor>,
    },
    /// The size hints of every tag of `repo` as `regatta hints --repo` computes them (each
    /// tag's image by the reference given, its layers listed through the listing cache,
    /// reporting progress), with the drift against `candidates` (none: inferred). Aborting
    /// it stops the downloads.
    RepoHints {
        req: ReqId,
        entry: usize,
        repo: RepoName,
        tags: Vec<(crate::registry::Tag, ManifestRef)>,
        candidates: Vec<crate::layers::drift::Candidate>,
    },
    /// Stop the work of these requests (their view was left or refreshed).
    Abort(Vec<ReqId>),
    /// Put this text on the clipboard (OSC 52).
    Copy(String),
    /// Plan a copy (a dry run: reads the source, asks the destination what it has).
    PlanCopy { req: ReqId, job: CopyJob },
    /// Carry out a confirmed copy plan, reporting progress; aborting it stops the copy with
    /// no tag on an incomplete image (as a killed `regatta cp`).
    ApplyCopy {
        req: ReqId,
        job: CopyJob,
        plan: CopyPlanRef,
    },
    /// Read the registry's own storage at `location` (read-only), as `du --storage` does;
    /// uploads started before `abandoned_before` are abandoned.
    ReadStorage {
        req: ReqId,
        location: String,
        abandoned_before: jiff::Timestamp,
    },
}

impl Effect {
    /// One short line for the log (a tag list can hold thousands of tags).
    pub fn describe(&self) -> String {
        match self {
            Effect::Ping { req, entry } => format!("ping {req} registry {entry}"),
            Effect::Probe { req, entry } => format!("probe {req} registry {entry}"),
            Effect::Grants { req, entry, repo } => {
                format!("grants {req} registry {entry}: {repo}")
            }
            Effect::Prioritize { scan, repo } => format!("prioritize {repo} in scan {scan}"),
            Effect::FetchImage {
                req,
                repo,
                reference,
                ..
            } => {
                format!("fetch image {req} {repo}:{reference}")
            }
            Effect::Scan { req, entry, repos } => match repos {
                None => format!("scan {req} registry {entry}"),
                Some(r) => format!("scan {req} registry {entry}: {} repositories", r.len()),
            },
            Effect::ApplyPlan { req, plan, .. } => format!(
                "apply {req}: {} steps, {} tags",
                plan.deletions.len(),
                plan.tag_count()
            ),
            Effect::CancelApply(req) => format!("cancel {req}"),
            Effect::RunGc { req, .. } => format!("garbage collection {req}"),
            Effect::ListBackups { req, .. } => format!("list backups {req}"),
            Effect::Restore { req, id, .. } => format!("restore {req} {id}"),
            Effect::Audit { req, entry, job } => match &job.0.repo {
                None => format!("audit {req} registry {entry}"),
                Some(repo) => format!("audit {req} registry {entry}: {repo}"),
            },
            Effect::FindReferrers {
                req, repo, subject, ..
            } => format!("find referrers {req} {repo}@{subject}"),
            Effect::ReadVulnerabilityReports {
                req, repo, reports, ..
            } => format!(
                "read vulnerability reports {req} {repo}: {} reports",
                reports.len()
            ),
            Effect::ListFiles {
                req, repo, layers, ..
            } => format!("list files {req} {repo}: {} layers", layers.len()),
            Effect::DiffImages {
                req, before, after, ..
            } => format!(
                "diff {req} {}:{} {}:{}",
                before.repo,
                before.label(),
                after.repo,
                after.label()
            ),
            Effect::ImageHints {
                req, repo, layers, ..
            } => format!("hints {req} {repo}: {} layers", layers.len()),
            Effect::RepoHints {
                req, repo, tags, ..
            } => format!("repository hints {req} {repo}: {} tags", tags.len()),
            Effect::Abort(reqs) => format!("abort {reqs:?}"),
            Effect::Copy(text) => format!("copy {} bytes", text.len()),
            Effect::ReadStorage { req, .. } => format!("read storage {req}"),
            Effect::PlanCopy { req, job } => {
                format!("plan copy {req}: {} images", job.requests.len())
            }
            Effect::ApplyCopy { req, plan, .. } => format!(
                "copy {req}: {} blobs, {} manifests",
                plan.0.totals.blobs_transferred + plan.0.totals.blobs_mounted,
                plan.0.totals.manifests_to_push
            ),
        }
    }

    /// The request this effect starts, if it starts one.
    pub fn req(&self) -> Option<ReqId> {
        match self {
            Effect::Ping { req, .. }
            | Effect::Probe { req, .. }
            | Effect::Grants { req, .. }
            | Effect::FetchImage { req, .. }
            | Effect::Scan { req, .. }
            | Effect::ApplyPlan { req, .. }
            | Effect::RunGc { req, .. }
            | Effect::ListBackups { req, .. }
            | Effect::Restore { req, .. }
            | Effect::Audit { req, .. }
            | Effect::FindReferrers { req, .. }
            | Effect::ReadStorage { req, .. }
            | Effect::ReadVulnerabilityReports { req, .. }
            | Effect::PlanCopy { req, .. }
            | Effect::ApplyCopy { req, .. }
            | Effect::ListFiles { req, .. }
            | Effect::DiffImages { req, .. }
            | Effect::ImageHints { req, .. }
            | Effect::RepoHints { req, .. } => Some(*req),
            Effect::Abort(_)
            | Effect::Copy(_)
            | Effect::CancelApply(_)
            | Effect::Prioritize { .. } => None,
        }
    }
}
