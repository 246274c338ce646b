//! What the TUI knows about one registry's storage: the model the background scan fills, the
//! scan's progress, the marked tags, and the numbers derived from the model with the same
//! functions `regatta du` prints. Numbers are recomputed in `update` when the model or the
//! marks changed, never while drawing. While a scan runs they wait for ticks, more of them
//! the larger the registry (the numbers of 100,000 tags take a good part of a second), so
//! a scan never keeps the loop busy recomputing.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use jiff::Timestamp;

use super::action::ReqId;
use super::format;
use crate::analysis::freed::plan_deletion;
use crate::analysis::freed_index::FreedIndex;
use crate::analysis::model::{ManifestBody, ScanEvent, StorageModel};
use crate::analysis::sharing::repo_complete;
use crate::analysis::storage::{RegistryStats, RepoStats, registry_stats, repo_stats};
use crate::registry::{Digest, Platform, RepoName, Tag};

/// What the tag list shows of an image, from the model: the numbers `regatta du` and the
/// cleanup policies use (a reproducible-build date counts as unknown there and here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSummary {
    pub size: u64,
    pub created: Option<Timestamp>,
    pub platforms: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanState {
    /// No scan was started (the registry was not opened yet).
    Idle,
    Running(ReqId),
    Finished,
    /// The repository listing failed: the model is empty or partial.
    Failed(String),
    /// Stopped before the end (the registry was left).
    Stopped,
}

/// The numbers of the last recomputation.
#[derive(Debug, Clone)]
pub struct Numbers {
    /// `regatta du`'s rows, in repository order.
    pub repos: Vec<RepoStats>,
    /// Whether each row of `repos` is final: every tag resolved and its manifests known.
    pub complete: Vec<bool>,
    index: HashMap<String, usize>,
    pub registry: RegistryStats,
}

impl Numbers {
    fn compute(model: &StorageModel) -> Self {
        let repos = repo_stats(model);
        let registry = registry_stats(model, &repos);
        let complete = model
            .repos
            .keys()
            .map(|r| repo_complete(model, r))
            .collect();
        let index = repos
            .iter()
            .enumerate()
            .map(|(i, r)| (r.repository.clone(), i))
            .collect();
        Self {
            repos,
            complete,
            index,
            registry,
        }
    }

    /// A repository's row and whether it is final.
    pub fn repo(&self, name: &str) -> Option<(&RepoStats, bool)> {
        let &i = self.index.get(name)?;
        Some((&self.repos[i], self.complete[i]))
    }
}

/// The storage side of one registry entry.
#[derive(Debug)]
pub struct Storage {
    /// Shared (copy on write) with audit jobs still reading it.
    pub model: Arc<StorageModel>,
    pub scan: ScanState,
    /// Tags listed and resolved so far, kept as events arrive (asking the model would cost a
    /// walk over every tag per frame).
    listed: usize,
    resolved: usize,
    marks: BTreeSet<(RepoName, Tag)>,
    numbers: Option<Numbers>,
    /// For "would free" as marks are toggled; built from the model on first need, dropped
    /// when the model changes.
    freed_index: Option<FreedIndex>,
    would_free: Option<u64>,
    model_dirty: bool,
    marks_dirty: bool,
    /// Ticks since the numbers were last recomputed during a scan.
    ticks: u32,
    /// Bumped by every recomputation, so views can tell their derived data is old.
    generation: u64,
    /// Bumped by every event applied (and every reset): views that read the model directly
    /// (the tag list) tell by it that there may be something new.
    revision: u64,
    /// The scan has read the catalog (or was given its repositories).
    repositories_listed: bool,
    /// Repositories the scan is done with: their tags, manifests and configs are in.
    scanned: HashSet<RepoName>,
    /// The registry's own storage (its `storage` config entry), read beside the scan.
    pub layout: super::storage_layout::StorageLayout,
}

impl Default for Storage {
    fn default() -> Self {
        Self {
            model: Arc::default(),
            scan: ScanState::Idle,
            listed: 0,
            resolved: 0,
            marks: BTreeSet::new(),
            numbers: None,
            freed_index: None,
            would_free: None,
            model_dirty: false,
            marks_dirty: false,
            ticks: 0,
            generation: 0,
            revision: 0,
            repositories_listed: false,
            scanned: HashSet::new(),
            layout: Default::default(),
        }
    }
}

impl Storage {
    /// A scan of everything starts: what an earlier scan found is dropped.
    pub fn start_scan(&mut self, req: ReqId) {
        self.model = Arc::default();
        self.listed = 0;
        self.resolved = 0;
        self.scan = ScanState::Running(req);
        self.model_dirty = true;
        self.repositories_listed = false;
        self.scanned.clear();
        self.revision += 1;
    }

    /// A scan of some repositories starts (after a delete or restore): their old facts go.
    pub fn start_rescan(&mut self, req: ReqId, repos: &[RepoName]) {
        let model = Arc::make_mut(&mut self.model);
        for repo in repos {
            model.repos.remove(repo);
        }
        model
            .failures
            .retain(|(r, _, _)| r.as_ref().is_none_or(|r| !repos.contains(r)));
        self.listed = self.model.repos.values().map(|r| r.tags.len()).sum();
        self.resolved = self
            .model
            .repos
            .values()
            .flat_map(|r| r.tags.values())
            .filter(|d| d.is_some())
            .count();
        self.scan = ScanState::Running(req);
        self.model_dirty = true;
        self.scanned.retain(|r| !repos.contains(r));
        self.revision += 1;
    }

    pub fn scan_req(&self) -> Option<ReqId> {
        match self.scan {
            ScanState::Running(req) => Some(req),
            _ => None,
        }
    }

    pub fn is_scanning(&self) -> bool {
        self.scan_req().is_some()
    }

    pub fn apply(&mut self, event: ScanEvent) {
        match &event {
            ScanEvent::Tags { repo, tags } => {
                let known = self.model.repos.get(repo).map(|r| &r.tags);
                let new: BTreeSet<&Tag> = tags
                    .iter()
                    .filter(|t| known.is_none_or(|k| !k.contains_key(*t)))
                    .collect();
                self.listed += new.len();
            }
            ScanEvent::Resolved { repo, tag, .. } => {
                let before = self.model.repos.get(repo).and_then(|r| r.tags.get(tag));
                match before {
                    Some(Some(_)) => {}
                    Some(None) => self.resolved += 1,
                    // Resolved without being listed first: it counts on both sides.
                    None => {
                        self.listed += 1;
                        self.resolved += 1;
                    }
                }
            }
            ScanEvent::RepositoriesListed => self.repositories_listed = true,
            ScanEvent::RepositoryScanned(repo) => {
                self.scanned.insert(repo.clone());
            }
            _ => {}
        }
        self.revision += 1;
        if matches!(
            event,
            ScanEvent::RepositoriesListed | ScanEvent::RepositoryScanned(_)
        ) {
            return; // progress only: the model and its numbers stay as they are
        }
        Arc::make_mut(&mut self.model).apply(event);
        self.model_dirty = true;
    }

    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// Whether the repository list is complete: the scan read the catalog, or ended.
    pub fn repositories_listed(&self) -> bool {
        self.repositories_listed || !self.is_scanning()
    }

    /// Whether nothing more will come for `repo` in this scan: it was scanned, or the scan
    /// is over.
    pub fn is_settled(&self, repo: &RepoName) -> bool {
        !self.is_scanning() || self.scanned.contains(repo)
    }

    /// Why the scan could not tell anything about `repo` (its tag list failed), if it
    /// says.
    pub fn failure_of(&self, repo: &RepoName) -> Option<String> {
        if let ScanState::Failed(e) = &self.scan {
            return Some(e.clone());
        }
        self.model
            .failures
            .iter()
            .find(|(r, _, _)| r.as_ref() == Some(repo))
            .map(|(_, what, error)| format!("{what}: {error}"))
    }

    /// The scan ended: numbers are recomputed at once (they are final now).
    pub fn finish(&mut self, result: Result<(), String>) {
        self.scan = match result {
            Ok(()) => ScanState::Finished,
            Err(e) => ScanState::Failed(e),
        };
        self.model_dirty = true;
        self.revision += 1;
    }

    pub fn stop(&mut self) {
        if self.is_scanning() {
            self.scan = ScanState::Stopped;
            self.model_dirty = true;
            self.revision += 1;
        }
    }

    /// `scanning tags 340/1200` while the scan runs (and how many things failed).
    pub fn progress(&self) -> Option<String> {
        if !self.is_scanning() {
            return None;
        }
        let mut text = format!("scanning tags {}/{}", self.resolved, self.listed);
        let failed = self.model.failures.len();
        if failed > 0 {
            text.push_str(&format!(" · {failed} failed"));
        }
        Some(text)
    }

    pub fn marks(&self) -> &BTreeSet<(RepoName, Tag)> {
        &self.marks
    }

    pub fn is_marked(&self, repo: &RepoName, tag: &Tag) -> bool {
        // Cloning the key for a lookup would cost on every visible row of every frame.
        !self.marks.is_empty() && self.marks.contains(&(repo.clone(), tag.clone()))
    }

    /// Marks or unmarks; returns whether the tag is marked now.
    pub fn toggle_mark(&mut self, repo: RepoName, tag: Tag) -> bool {
        self.marks_dirty = true;
        let key = (repo, tag);
        if self.marks.remove(&key) {
            false
        } else {
            self.marks.insert(key);
            true
        }
    }

    pub fn clear_marks(&mut self) {
        if !self.marks.is_empty() {
            self.marks.clear();
            self.marks_dirty = true;
        }
    }

    /// Forgets the marks in these repositories (their tags were just deleted or restored).
    pub fn clear_marks_in(&mut self, repos: &[RepoName]) {
        let before = self.marks.len();
        self.marks.retain(|(r, _)| !repos.contains(r));
        if self.marks.len() != before {
            self.marks_dirty = true;
        }
    }

    /// Ticks to wait between recomputations during a scan: one per 5,000 tags listed.
    fn interval(&self) -> u32 {
        1 + u32::try_from(self.listed / 5_000).unwrap_or(u32::MAX)
    }

    /// Recomputes what is out of date; `ticked` says a tick of the loop arrived. During a
    /// scan the numbers wait for enough ticks; outside one, and for marks, it is at once.
    /// Returns whether the numbers were recomputed.
    pub fn settle(&mut self, ticked: bool) -> bool {
        let mut recomputed = false;
        if self.model_dirty {
            self.freed_index = None;
            let due = if self.is_scanning() {
                if ticked {
                    self.ticks += 1;
                }
                self.numbers.is_none() || self.ticks >= self.interval()
            } else {
                true
            };
            if due {
                self.numbers = Some(Numbers::compute(&self.model));
                self.model_dirty = false;
                self.ticks = 0;
                self.generation += 1;
                self.marks_dirty = true;
                recomputed = true;
            }
        }
        if self.marks_dirty {
            self.would_free = if self.marks.is_empty() {
                None
            } else {
                let marked: Vec<(RepoName, Tag)> = self.marks.iter().cloned().collect();
                Some(if self.model_dirty {
                    // Held back while scanning: the index would be out of date at once.
                    plan_deletion(&self.model, &marked).bytes_freed
                } else {
                    let model = &self.model;
                    self.freed_index
                        .get_or_insert_with(|| FreedIndex::new(model))
                        .bytes_freed(model, &marked)
                })
            };
            self.marks_dirty = false;
        }
        recomputed
    }

    pub fn numbers(&self) -> Option<&Numbers> {
        self.numbers.as_ref()
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// `(bytes_freed of the marks, physical_bytes)` when something is marked.
    pub fn would_free(&self) -> Option<(u64, u64)> {
        let physical = self
            .numbers
            .as_ref()
            .map_or(0, |n| n.registry.physical_bytes);
        self.would_free.map(|freed| (freed, physical))
    }

    /// The status-bar text about the marks: `3 marked · would free 1.2 GiB of 3.4 GiB`.
    pub fn marks_text(&self) -> Option<String> {
        let (freed, physical) = self.would_free()?;
        Some(format!(
            "{} marked · would free {} of {}",
            self.marks.len(),
            format::size(freed),
            format::size(physical)
        ))
    }

    /// What the tag list shows of an image, from the model: the same `size` and created date
    /// `regatta du` and the cleanup policies use. `None` until its manifests are known.
    pub fn summary(&self, digest: &Digest) -> Option<ImageSummary> {
        let size = self.model.image_size(digest)?;
        Some(ImageSummary {
            size,
            created: self.model.created(digest),
            platforms: platforms(&self.model, digest),
        })
    }

    /// The created date of the image `repo:tag` points at, when known.
    pub fn created(&self, repo: &RepoName, tag: &Tag) -> Option<Timestamp> {
        let digest = self.model.repos.get(repo)?.tags.get(tag)?.as_ref()?;
        self.model.created(digest)
    }
}

/// The platforms of an image as the tag list writes them (`linux/amd64, linux/arm64/v8`),
/// from the index entries or, for a single manifest, from its config.
fn platforms(model: &StorageModel, digest: &Digest) -> String {
    let platform_of = |d: &Digest| -> Option<Platform> {
        match &model.manifests.get(d)?.body {
            ManifestBody::Image {
                platform, config, ..
            } => platform
                .clone()
                .or_else(|| model.configs.get(&config.0)?.platform.clone()),
            ManifestBody::Index { .. } => None,
        }
    };
    let images: Vec<Option<Platform>> = match model.manifests.get(digest).map(|m| &m.body) {
        Some(ManifestBody::Index { children }) => children
            .iter()
            .filter(|c| {
                matches!(
                    model.manifests.get(*c).map(|m| &m.body),
                    Some(ManifestBody::Image { .. })
                )
            })
            .map(platform_of)
            .collect(),
        Some(ManifestBody::Image { .. }) => vec![platform_of(digest)],
        None => Vec::new(),
    };
    crate::present::text::platform_list(images.iter().map(Option::as_ref))
}
