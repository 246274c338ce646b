//! The blobs a copy needs, and how each gets to the destination: gathered from the images'
//! walks as they come (in request order), each blob asked for as soon as the manifest that
//! needs it is read, while the source's other manifests are still being read. What is asked,
//! and what the answers decide, do not depend on when the answers come: the plan is the one
//! the same walks would give asked one after the other.

use std::collections::{HashMap, HashSet};

use futures::channel::mpsc;
use futures::{Stream, StreamExt, TryStreamExt};

use super::ask::{Asked, ask_blob};
use super::plan::{
    BlobAction, BlobAsking, Ends, PlanError, PlannedBlob, PlannedImage, PlannedManifest, Walked,
};
use crate::registry::{Digest, Manifest, RepoName};

/// The images, manifests (in push order, once per destination repository) and blobs of a
/// plan.
pub(super) struct Gathered {
    pub(super) images: Vec<PlannedImage>,
    pub(super) manifests: Vec<PlannedManifest>,
    pub(super) blobs: Vec<PlannedBlob>,
}

/// A blob a manifest to push needs in its destination repository.
struct Wanted {
    repository: RepoName,
    source_repository: RepoName,
    digest: Digest,
    size: u64,
}

/// How the destination is asked for the blobs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Questions {
    /// A HEAD for every blob.
    Head,
    /// None: each distinct blob is asked for when applying.
    Deferred,
    /// A mount into the repository from itself for each distinct blob, in the first
    /// repository that needs it (the blob [`BlobAction::AskOnApply`] would be).
    Ask,
}

enum Answer {
    Head(bool),
    Asked(Asked),
}

/// What has been read so far.
#[derive(Default)]
struct Reading {
    images: Vec<PlannedImage>,
    manifests: Vec<PlannedManifest>,
    seen: HashSet<(RepoName, Digest)>,
    wanted: Vec<Wanted>,
    /// A destination that keeps one copy of each blob for every repository needs it once
    /// (`None` for the repository).
    wanted_seen: HashSet<(Option<RepoName>, Digest)>,
}

impl Reading {
    /// Adds an image's walk: its manifests not listed yet, and the blobs that those to push
    /// need, with their size from the manifest's descriptor. Returns where the new blobs
    /// start in `wanted`.
    fn add(&mut self, walked: Walked, shared: bool) -> usize {
        let first_new = self.wanted.len();
        self.images.push(walked.image);
        for m in walked.manifests {
            if !self.seen.insert((m.repository.clone(), m.digest.clone())) {
                continue;
            }
            if !m.present && !m.is_index {
                self.want_blobs_of(&m, shared);
            }
            self.manifests.push(m);
        }
        first_new
    }

    fn want_blobs_of(&mut self, m: &PlannedManifest, shared: bool) {
        let Ok(Manifest::Image(image)) =
            crate::registry::manifest::parse_manifest(&m.bytes, &m.media_type)
        else {
            return;
        };
        for d in std::iter::once(&image.config).chain(image.layers.iter()) {
            let scope = (!shared).then(|| m.repository.clone());
            if self.wanted_seen.insert((scope, d.digest.clone())) {
                self.wanted.push(Wanted {
                    repository: m.repository.clone(),
                    source_repository: m.source_repository.clone(),
                    digest: d.digest.clone(),
                    size: d.size,
                });
            }
        }
    }
}

/// Reads `walked` (the images' walks, in request order) into a plan's images, manifests and
/// blobs, asking the destination for the blobs as `asking` says while the walks come,
/// `concurrency` questions at a time.
pub(super) async fn gather<S>(
    ends: &Ends<'_>,
    walked: S,
    asking: BlobAsking,
    concurrency: usize,
) -> Result<Gathered, PlanError>
where
    S: Stream<Item = Result<Walked, PlanError>>,
{
    let same_registry = ends.same_registry();
    let shared = ends.destination.shares_blobs();
    let questions = match asking {
        _ if same_registry || ends.destination.registry().is_none() => Questions::Head,
        BlobAsking::Head => Questions::Head,
        BlobAsking::OnApply => Questions::Deferred,
        BlobAsking::WhilePlanning => Questions::Ask,
    };
    let (ask, asked) = mpsc::unbounded::<(usize, RepoName, Digest)>();
    let reading = async move {
        let mut reading = Reading::default();
        // Digests already asked for, in the first repository that wanted them.
        let mut first: HashSet<Digest> = HashSet::new();
        futures::pin_mut!(walked);
        while let Some(w) = walked.try_next().await? {
            let new = reading.add(w, shared);
            for (i, blob) in reading.wanted.iter().enumerate().skip(new) {
                let ask_it = match questions {
                    Questions::Head => true,
                    Questions::Deferred => false,
                    Questions::Ask => first.insert(blob.digest.clone()),
                };
                if ask_it {
                    // Refused only when the answering side failed, which fails the plan.
                    let _ = ask.unbounded_send((i, blob.repository.clone(), blob.digest.clone()));
                }
            }
        }
        Ok::<_, PlanError>(reading)
    };
    let answering = asked
        .map(|(i, repo, digest)| async move {
            let answer = match questions {
                Questions::Ask => ask_blob(ends, &repo, &digest).await.map(Answer::Asked),
                _ => ends
                    .destination
                    .has_blob(&repo, &digest)
                    .await
                    .map(Answer::Head),
            };
            answer
                .map(|a| (i, a))
                .map_err(|source| PlanError::Registry {
                    what: format!("blob {digest} in {repo} on the destination"),
                    source,
                })
        })
        .buffer_unordered(concurrency)
        .try_collect::<HashMap<usize, Answer>>();
    let (reading, answers) = futures::future::try_join(reading, answering).await?;
    let blobs = decide(reading.wanted, answers, same_registry);
    Ok(Gathered {
        images: reading.images,
        manifests: reading.manifests,
        blobs,
    })
}

/// How each wanted blob gets there, from what the destination said of it.
fn decide(
    wanted: Vec<Wanted>,
    mut answers: HashMap<usize, Answer>,
    same_registry: bool,
) -> Vec<PlannedBlob> {
    let present = |i: usize, answers: &HashMap<usize, Answer>| match answers.get(&i) {
        Some(Answer::Head(present)) => Some(*present),
        _ => None,
    };
    // Where a destination repository already holds a blob, or will after its transfer.
    let mut holder: HashMap<Digest, RepoName> = HashMap::new();
    for (i, w) in wanted.iter().enumerate() {
        if present(i, &answers) == Some(true) {
            holder
                .entry(w.digest.clone())
                .or_insert_with(|| w.repository.clone());
        }
    }
    let mut blobs = Vec::new();
    for (i, w) in wanted.into_iter().enumerate() {
        let head = present(i, &answers);
        let action = if head == Some(true) {
            BlobAction::Present
        } else if same_registry {
            BlobAction::Mount {
                from: w.source_repository.clone(),
            }
        } else if let Some(from) = holder.get(&w.digest) {
            BlobAction::Mount { from: from.clone() }
        } else {
            holder.insert(w.digest.clone(), w.repository.clone());
            match head {
                Some(_) => BlobAction::Transfer,
                None => BlobAction::AskOnApply,
            }
        };
        let mut blob = PlannedBlob {
            repository: w.repository,
            source_repository: w.source_repository,
            digest: w.digest,
            size: w.size,
            action,
            session: None,
        };
        // What asking found, as [`super::ask::ask_blobs`] records it.
        if let Some(Answer::Asked(asked)) = answers.remove(&i) {
            match asked {
                Asked::Present => blob.action = BlobAction::Present,
                Asked::Missing(session) => {
                    blob.action = BlobAction::Transfer;
                    blob.session = session;
                }
            }
        }
        blobs.push(blob);
    }
    blobs
}
