//! One fetch per document for the whole TUI session. The background scan and the image a
//! view opens (its manifests and configs, for the layer and config screens) read through the
//! same [`Documents`]: a manifest or config asked for while another task fetches it waits for
//! that fetch, and one fetched already is answered from memory (documents are immutable by
//! digest). The scan keeps only a reduced model, so this is what lets the layer view show a
//! tag the scan read without reading it again.
//!
//! Memory is bounded: the newest documents are kept up to [`BUDGET_BYTES`]; an older one is
//! fetched again if a view asks for it (from the disk cache when there is one).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use tokio::sync::OnceCell;

use crate::registry::read_through::{DocumentStore, ReadThrough};
use crate::registry::{Digest, FetchedManifest, ManifestRef, RegistryError, RepoName, Source};

/// Bytes of documents kept in memory (manifests and configs are a few KiB each).
pub const BUDGET_BYTES: usize = 32 << 20;

type Cell<T> = Arc<OnceCell<Result<T, RegistryError>>>;

/// Documents kept or being fetched, by digest.
struct Slots<T> {
    cells: HashMap<Digest, Cell<T>>,
}

impl<T> Default for Slots<T> {
    fn default() -> Self {
        Self {
            cells: HashMap::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Manifest,
    Blob,
}

#[derive(Default)]
struct State {
    manifests: Slots<FetchedManifest>,
    blobs: Slots<Vec<u8>>,
    /// Fetched documents, oldest first, with their sizes (what the budget counts).
    kept: VecDeque<(Kind, Digest, usize)>,
    bytes: usize,
    budget: usize,
}

impl State {
    /// Keeps a fetched document, dropping the oldest ones until the budget holds.
    fn keep(&mut self, kind: Kind, digest: &Digest, size: usize) {
        if self.kept.iter().any(|(k, d, _)| *k == kind && d == digest) {
            return;
        }
        self.kept.push_back((kind, digest.clone(), size));
        self.bytes += size;
        while self.bytes > self.budget {
            let Some((kind, digest, size)) = self.kept.pop_front() else {
                return;
            };
            match kind {
                Kind::Manifest => {
                    self.manifests.cells.remove(&digest);
                }
                Kind::Blob => {
                    self.blobs.cells.remove(&digest);
                }
            }
            self.bytes = self.bytes.saturating_sub(size);
        }
    }
}

/// Memory as a [`DocumentStore`]: a document asked for while it is fetched waits for that
/// fetch, one fetched is kept within the budget.
pub struct MemoryDocuments {
    state: Mutex<State>,
}

/// A [`Source`] that fetches each manifest and config once (see the module docs).
pub type Documents = ReadThrough<MemoryDocuments>;

impl ReadThrough<MemoryDocuments> {
    pub fn new(inner: Arc<dyn Source>) -> Self {
        Self::with_budget(inner, BUDGET_BYTES)
    }

    /// Keeps up to `budget` bytes of documents in memory.
    pub fn with_budget(inner: Arc<dyn Source>, budget: usize) -> Self {
        Self::over(
            inner,
            MemoryDocuments {
                state: Mutex::new(State {
                    budget,
                    ..State::default()
                }),
            },
        )
    }
}

impl MemoryDocuments {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cell of `digest` in the slots `pick` chooses, made if missing.
    fn cell<T>(&self, digest: &Digest, pick: fn(&mut State) -> &mut Slots<T>) -> Cell<T> {
        let mut state = self.lock();
        pick(&mut state)
            .cells
            .entry(digest.clone())
            .or_default()
            .clone()
    }

    /// After a fetch: a failure is forgotten (the next ask tries again), a document counts
    /// against the budget.
    fn settle<T>(
        &self,
        digest: &Digest,
        cell: &Cell<T>,
        result: &Result<T, RegistryError>,
        size: impl Fn(&T) -> usize,
        (kind, pick): (Kind, fn(&mut State) -> &mut Slots<T>),
    ) {
        let mut state = self.lock();
        let slots = pick(&mut state);
        let ours = slots
            .cells
            .get(digest)
            .is_some_and(|c| Arc::ptr_eq(c, cell));
        if !ours {
            return;
        }
        match result {
            Err(_) => {
                slots.cells.remove(digest);
            }
            Ok(doc) => state.keep(kind, digest, size(doc)),
        }
    }
}

#[async_trait]
impl DocumentStore for MemoryDocuments {
    async fn manifest(
        &self,
        inner: &dyn Source,
        repo: &RepoName,
        digest: &Digest,
    ) -> Result<FetchedManifest, RegistryError> {
        let cell = self.cell(digest, |s| &mut s.manifests);
        let mut fetched_here = false;
        let result = cell
            .get_or_init(|| async {
                fetched_here = true;
                inner
                    .manifest(repo, &ManifestRef::Digest(digest.clone()))
                    .await
            })
            .await
            .clone();
        if fetched_here {
            self.settle(
                digest,
                &cell,
                &result,
                |m| m.bytes.len(),
                (Kind::Manifest, |s| &mut s.manifests),
            );
        }
        result
    }

    /// Keeps a manifest fetched by tag under its digest, unless one is kept already.
    async fn keep_manifest(&self, manifest: &FetchedManifest) {
        let cell = self.cell(&manifest.digest, |s| &mut s.manifests);
        if cell.set(Ok(manifest.clone())).is_ok() {
            self.settle(
                &manifest.digest,
                &cell,
                &Ok(manifest.clone()),
                |m| m.bytes.len(),
                (Kind::Manifest, |s| &mut s.manifests),
            );
        }
    }

    async fn blob(
        &self,
        inner: &dyn Source,
        repo: &RepoName,
        digest: &Digest,
    ) -> Result<Vec<u8>, RegistryError> {
        let cell = self.cell(digest, |s| &mut s.blobs);
        let mut fetched_here = false;
        let result = cell
            .get_or_init(|| async {
                fetched_here = true;
                inner.blob(repo, digest).await
            })
            .await
            .clone();
        if fetched_here {
            self.settle(
                digest,
                &cell,
                &result,
                Vec::len,
                (Kind::Blob, |s| &mut s.blobs),
            );
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Tag;
    use crate::tui::memory::{ImageSpec, MemorySource};

    fn repo(name: &str) -> RepoName {
        RepoName::parse(name).unwrap()
    }

    #[tokio::test]
    async fn concurrent_and_later_asks_for_a_document_fetch_it_once() {
        let mut source = MemorySource::new("mem");
        let digest = source.add_image(&ImageSpec::new("linux", "amd64", "2024-01-01T00:00:00Z"));
        let source = Arc::new(source.tag("a", &["1"], &digest));
        let documents = Documents::new(source.clone());
        let r = repo("a");
        let by_digest = ManifestRef::Digest(digest.clone());
        let (x, y) = tokio::join!(
            documents.manifest(&r, &by_digest),
            documents.manifest(&r, &by_digest)
        );
        let (x, y) = (x.expect("a manifest"), y.expect("a manifest"));
        assert_eq!(x.bytes, y.bytes);
        assert_eq!(source.fetches(), 1, "one fetch for two concurrent asks");
        documents.manifest(&r, &by_digest).await.expect("kept");
        assert_eq!(source.fetches(), 1, "a later ask is answered from memory");

        let crate::registry::Manifest::Image(image) = &x.manifest else {
            panic!("an image manifest");
        };
        let config = image.config.digest.clone();
        let (a, b) = tokio::join!(documents.blob(&r, &config), documents.blob(&r, &config));
        assert_eq!(a.expect("config"), b.expect("config"));
        assert_eq!(source.fetches(), 2, "one fetch of the config");
    }

    #[tokio::test]
    async fn a_failed_fetch_is_tried_again_and_a_tag_is_always_asked() {
        let mut source = MemorySource::new("mem");
        let digest = source.add_image(&ImageSpec::new("linux", "amd64", "2024-01-01T00:00:00Z"));
        let source = Arc::new(source.tag("a", &["1"], &digest));
        let documents = Documents::new(source.clone());
        let r = repo("a");
        let missing = Digest::sha256_of(b"nothing");
        assert!(documents.blob(&r, &missing).await.is_err());
        assert!(documents.blob(&r, &missing).await.is_err());
        assert_eq!(source.fetches(), 2, "failures are not kept");

        let tag = ManifestRef::Tag(Tag::parse("1").unwrap());
        documents.manifest(&r, &tag).await.expect("by tag");
        documents.manifest(&r, &tag).await.expect("by tag");
        assert_eq!(source.fetches(), 4, "a tag is asked every time");
        documents
            .manifest(&r, &ManifestRef::Digest(digest))
            .await
            .expect("by digest");
        assert_eq!(source.fetches(), 4, "what the tag named is kept by digest");
    }

    #[tokio::test]
    async fn the_oldest_documents_go_when_the_budget_is_spent() {
        let mut source = MemorySource::new("mem");
        let old = source.add_image(&ImageSpec::new("linux", "amd64", "2024-01-01T00:00:00Z"));
        let new = source.add_image(&ImageSpec::new("linux", "arm64", "2024-02-01T00:00:00Z"));
        let source = Arc::new(source.tag("a", &["old"], &old).tag("a", &["new"], &new));
        let r = repo("a");
        let by_digest = |d: &Digest| ManifestRef::Digest(d.clone());
        let size_new = source
            .manifest(&r, &by_digest(&new))
            .await
            .unwrap()
            .bytes
            .len();
        let size_old = source
            .manifest(&r, &by_digest(&old))
            .await
            .unwrap()
            .bytes
            .len();
        // Room for the newer of the two only.
        let budget = size_new.max(size_old);
        let before = source.fetches();
        let documents = Documents::with_budget(source.clone(), budget);
        for d in [&old, &new] {
            documents
                .manifest(&r, &ManifestRef::Digest(d.clone()))
                .await
                .unwrap();
        }
        assert_eq!(source.fetches() - before, 2);
        documents
            .manifest(&r, &ManifestRef::Digest(new.clone()))
            .await
            .unwrap();
        assert_eq!(source.fetches() - before, 2, "the newest stays");
        documents
            .manifest(&r, &ManifestRef::Digest(old.clone()))
            .await
            .unwrap();
        assert_eq!(
            source.fetches() - before,
            3,
            "the oldest went and is fetched again"
        );
    }
}
