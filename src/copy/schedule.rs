//! The order of a copy's steps, by dependency rather than by phase: a mount waits for the
//! transfer that brings its blob into the repository it mounts from, a manifest for its
//! blobs (in its repository) and its children, a tag for its manifest. A step is ready when
//! every step it waits for has ended; nothing else holds it back, so a manifest is pushed
//! while other images' blobs are still moving, and no barrier waits for a phase's slowest
//! request.
//!
//! Which ready step goes first: the steps released by another's end (mounts, manifests,
//! tags, which only the destination answers and which are quick), then the steps ready from
//! the start in plan order (the transfers, which keep the source busy). This is a plain
//! ready queue over a count of unfinished prerequisites; the executor ([`super::execute`])
//! decides what a step does and whether a failed prerequisite skips it.

use std::collections::{HashMap, VecDeque};

use super::plan::{BlobAction, CopyPlan};
use crate::registry::{Digest, RepoName};

/// One step of a copy, by its index in the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    /// `plan.blobs[i]`: a transfer, a blob still to ask for, or a mount.
    Blob(usize),
    /// `plan.manifests[i]`, one the destination lacks.
    Manifest(usize),
    /// `plan.images[i]`'s tag, one that needs pushing.
    Tag(usize),
}

/// How a step ended, as its dependants see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ended {
    Done,
    Failed,
}

pub(super) struct Schedule {
    steps: Vec<Step>,
    dependants: Vec<Vec<usize>>,
    /// Prerequisites not ended yet.
    unfinished: Vec<usize>,
    ended: Vec<Option<Ended>>,
    /// Ready from the start, in plan order.
    initial: VecDeque<usize>,
    /// Made ready by another step's end, in the order they became ready.
    released: VecDeque<usize>,
    blob_steps: HashMap<(RepoName, Digest), usize>,
    /// The blob step of each digest, for a destination that keeps one copy of a blob for
    /// every repository: the blob is planned once, under the first repository needing it.
    shared_blob_steps: Option<HashMap<Digest, usize>>,
    manifest_steps: HashMap<(RepoName, Digest), usize>,
}

impl Schedule {
    /// The steps of `plan` and what each waits for. `shares_blobs`: the destination keeps
    /// one copy of a blob for every repository.
    pub(super) fn new(plan: &CopyPlan, shares_blobs: bool) -> Self {
        let mut s = Schedule {
            steps: Vec::new(),
            dependants: Vec::new(),
            unfinished: Vec::new(),
            ended: Vec::new(),
            initial: VecDeque::new(),
            released: VecDeque::new(),
            blob_steps: HashMap::new(),
            shared_blob_steps: shares_blobs.then(HashMap::new),
            manifest_steps: HashMap::new(),
        };
        for (i, b) in plan.blobs.iter().enumerate() {
            if b.action == BlobAction::Present {
                continue;
            }
            let id = s.add(Step::Blob(i));
            s.blob_steps
                .insert((b.repository.clone(), b.digest.clone()), id);
            if let Some(shared) = &mut s.shared_blob_steps {
                shared.entry(b.digest.clone()).or_insert(id);
            }
        }
        for (i, m) in plan.manifests.iter().enumerate() {
            if !m.present {
                let id = s.add(Step::Manifest(i));
                s.manifest_steps
                    .insert((m.repository.clone(), m.digest.clone()), id);
            }
        }
        for (i, image) in plan.images.iter().enumerate() {
            if image.tag.needs_push() {
                s.add(Step::Tag(i));
            }
        }
        for id in 0..s.steps.len() {
            for before in s.waits_for(plan, s.steps[id]) {
                s.dependants[before].push(id);
                s.unfinished[id] += 1;
            }
            if s.unfinished[id] == 0 {
                s.initial.push_back(id);
            }
        }
        s
    }

    fn add(&mut self, step: Step) -> usize {
        self.steps.push(step);
        self.dependants.push(Vec::new());
        self.unfinished.push(0);
        self.ended.push(None);
        self.steps.len() - 1
    }

    /// The steps `step` waits for (each once).
    fn waits_for(&self, plan: &CopyPlan, step: Step) -> Vec<usize> {
        let mut before = Vec::new();
        match step {
            // A mount from a repository that receives the blob in this copy waits for that
            // transfer, whatever its outcome: a declined mount sends the bytes itself.
            Step::Blob(i) => {
                let b = &plan.blobs[i];
                if let BlobAction::Mount { from } = &b.action {
                    let key = (from.clone(), b.digest.clone());
                    if let Some(&id) = self.blob_steps.get(&key) {
                        if let Step::Blob(j) = self.steps[id] {
                            // Never a mount after a mount: it would not need the other.
                            if !matches!(plan.blobs[j].action, BlobAction::Mount { .. }) {
                                before.push(id);
                            }
                        }
                    }
                }
            }
            Step::Manifest(i) => {
                let m = &plan.manifests[i];
                for blob in &m.blobs {
                    before.extend(self.blob_step(&m.repository, blob));
                }
                for child in &m.children {
                    before.extend(self.manifest_step(&m.repository, child));
                }
            }
            Step::Tag(i) => {
                let image = &plan.images[i];
                before.extend(self.manifest_step(&image.destination_repository, &image.digest));
            }
        }
        before.sort_unstable();
        before.dedup();
        before
    }

    /// The step that brings `digest` into `repo`, if the copy has one.
    pub(super) fn blob_step(&self, repo: &RepoName, digest: &Digest) -> Option<usize> {
        match &self.shared_blob_steps {
            Some(shared) => shared.get(digest).copied(),
            None => self
                .blob_steps
                .get(&(repo.clone(), digest.clone()))
                .copied(),
        }
    }

    /// The step that pushes manifest `digest` into `repo`, if the copy has one.
    pub(super) fn manifest_step(&self, repo: &RepoName, digest: &Digest) -> Option<usize> {
        self.manifest_steps
            .get(&(repo.clone(), digest.clone()))
            .copied()
    }

    pub(super) fn step(&self, id: usize) -> Step {
        self.steps[id]
    }

    pub(super) fn failed(&self, id: usize) -> bool {
        self.ended[id] == Some(Ended::Failed)
    }

    /// The next ready step: one released by another's end first, then the next from the
    /// start. `None` when nothing is ready (steps running may release more).
    pub(super) fn next(&mut self) -> Option<usize> {
        self.released
            .pop_front()
            .or_else(|| self.initial.pop_front())
    }

    /// Records how `id` ended and readies the steps that waited only for it.
    pub(super) fn finish(&mut self, id: usize, ended: Ended) {
        self.ended[id] = Some(ended);
        for &after in &self.dependants[id] {
            self.unfinished[after] -= 1;
            if self.unfinished[after] == 0 {
                self.released.push_back(after);
            }
        }
    }

    /// Steps that never became ready (none with a plan from [`super::plan::plan_copy`]:
    /// indexes cannot list themselves).
    pub(super) fn never_ready(&self) -> impl Iterator<Item = Step> + '_ {
        (0..self.steps.len())
            .filter(|&id| self.ended[id].is_none())
            .map(|id| self.steps[id])
    }
}
