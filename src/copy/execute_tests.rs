//! The order in which [`super::execute::apply`] carries out a plan, against an in-memory
//! source and a destination that refuses what a registry refuses: a manifest whose blobs or
//! children it does not hold (Distribution answers `MANIFEST_BLOB_UNKNOWN`), and here also a
//! tag on such a manifest. Requests end after a number of yields that differs per digest, so
//! steps finish in an order unlike the one they started in.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;
use futures::StreamExt;

use super::ends::{ByteStream, CopyDestination, CopySource};
use super::execute::{CopyFailure, CopyProgress, apply};
use super::plan::{
    BlobAction, CopyPlan, CopyTotals, Ends, PlannedBlob, PlannedImage, PlannedManifest, TagChange,
};
use crate::registry::{
    Digest, FetchedManifest, ManifestRef, MountAnswer, RegistryAddr, RegistryError, RepoName, Tag,
    UploadSession,
};

fn repo(name: &str) -> RepoName {
    RepoName::parse(name).expect("a repository name")
}

fn blob(name: &str) -> Digest {
    Digest::sha256_of(name.as_bytes())
}

/// What a manifest needs in its repository before a registry takes it.
#[derive(Clone, Default)]
struct Needs {
    blobs: Vec<Digest>,
    children: Vec<Digest>,
}

/// The source holds every blob named in the plan, except those in `broken`.
struct Source {
    broken: BTreeSet<Digest>,
    contents: HashMap<Digest, Vec<u8>>,
}

#[derive(Default)]
struct Stored {
    blobs: BTreeSet<(String, Digest)>,
    manifests: BTreeSet<(String, Digest)>,
    tags: BTreeMap<(String, String), Digest>,
    /// Writes a registry would have refused, in words.
    refused: Vec<String>,
}

struct Destination {
    needs: HashMap<Digest, Needs>,
    stored: Mutex<Stored>,
}

/// A few turns of the runtime, more for some digests than for others.
async fn take_time(digest: &Digest) {
    let turns = digest.as_str().as_bytes().last().copied().unwrap_or(0) % 7;
    for _ in 0..turns {
        tokio::task::yield_now().await;
    }
}

#[async_trait]
impl CopySource for Source {
    fn name(&self) -> String {
        "source".into()
    }
    fn registry(&self) -> Option<&RegistryAddr> {
        None
    }
    async fn tags(&self, _: &RepoName) -> Result<Vec<Tag>, RegistryError> {
        Ok(Vec::new())
    }
    async fn manifest(
        &self,
        _: &RepoName,
        reference: &ManifestRef,
    ) -> Result<FetchedManifest, RegistryError> {
        Err(RegistryError::NotFound {
            what: format!("{reference:?}"),
        })
    }
    async fn open_blob(
        &self,
        _: &RepoName,
        digest: &Digest,
        _: u64,
    ) -> Result<ByteStream, RegistryError> {
        take_time(digest).await;
        match self.contents.get(digest) {
            Some(bytes) if !self.broken.contains(digest) => {
                let chunk = bytes::Bytes::from(bytes.clone());
                Ok(futures::stream::iter([Ok(chunk)]).boxed())
            }
            _ => Err(RegistryError::NotFound {
                what: format!("blob {digest}"),
            }),
        }
    }
}

impl Destination {
    fn store_manifest(&self, repo: &RepoName, bytes: &[u8], tag: Option<&Tag>) {
        let digest = Digest::sha256_of(bytes);
        let mut stored = self.stored.lock().expect("not poisoned");
        let needs = self.needs.get(&digest).cloned().unwrap_or_default();
        let name = repo.to_string();
        for b in &needs.blobs {
            if !stored.blobs.contains(&(name.clone(), b.clone())) {
                let what = format!("{repo}@{digest} ({tag:?}) before its blob {b}");
                stored.refused.push(what);
            }
        }
        for c in &needs.children {
            if !stored.manifests.contains(&(name.clone(), c.clone())) {
                let what = format!("{repo}@{digest} ({tag:?}) before its child {c}");
                stored.refused.push(what);
            }
        }
        stored.manifests.insert((name.clone(), digest.clone()));
        if let Some(tag) = tag {
            stored.tags.insert((name, tag.to_string()), digest);
        }
    }
}

#[async_trait]
impl CopyDestination for Destination {
    fn name(&self) -> String {
        "destination".into()
    }
    fn registry(&self) -> Option<&RegistryAddr> {
        None
    }
    fn shares_blobs(&self) -> bool {
        false
    }
    async fn has_manifest(&self, repo: &RepoName, digest: &Digest) -> Result<bool, RegistryError> {
        let stored = self.stored.lock().expect("not poisoned");
        Ok(stored
            .manifests
            .contains(&(repo.to_string(), digest.clone())))
    }
    async fn tag_digest(
        &self,
        repo: &RepoName,
        tag: &Tag,
    ) -> Result<Option<Digest>, RegistryError> {
        let stored = self.stored.lock().expect("not poisoned");
        Ok(stored
            .tags
            .get(&(repo.to_string(), tag.to_string()))
            .cloned())
    }
    async fn has_blob(&self, repo: &RepoName, digest: &Digest) -> Result<bool, RegistryError> {
        let stored = self.stored.lock().expect("not poisoned");
        Ok(stored.blobs.contains(&(repo.to_string(), digest.clone())))
    }
    async fn mount(
        &self,
        repo: &RepoName,
        digest: &Digest,
        from: &RepoName,
    ) -> Result<MountAnswer, RegistryError> {
        take_time(digest).await;
        let mut stored = self.stored.lock().expect("not poisoned");
        if stored.blobs.contains(&(from.to_string(), digest.clone())) {
            stored.blobs.insert((repo.to_string(), digest.clone()));
            Ok(MountAnswer::Mounted)
        } else {
            // As Distribution: a mount of a blob `from` lacks opens an upload instead.
            Ok(MountAnswer::Declined(None))
        }
    }
    async fn write_blob(
        &self,
        repo: &RepoName,
        digest: &Digest,
        _: u64,
        mut body: ByteStream,
        _: Option<UploadSession>,
    ) -> Result<(), RegistryError> {
        while let Some(chunk) = body.next().await {
            if let Err(e) = chunk {
                return Err(RegistryError::NotFound {
                    what: e.to_string(),
                });
            }
        }
        take_time(digest).await;
        let mut stored = self.stored.lock().expect("not poisoned");
        stored.blobs.insert((repo.to_string(), digest.clone()));
        Ok(())
    }
    async fn put_manifest(
        &self,
        repo: &RepoName,
        reference: &ManifestRef,
        _: &str,
        bytes: Vec<u8>,
    ) -> Result<(), RegistryError> {
        take_time(&Digest::sha256_of(&bytes)).await;
        match reference {
            ManifestRef::Tag(tag) => self.store_manifest(repo, &bytes, Some(tag)),
            ManifestRef::Digest(_) => self.store_manifest(repo, &bytes, None),
        }
        Ok(())
    }
}

/// A plan built by hand, and the world it is applied to.
struct Fixture {
    plan: CopyPlan,
    source: Source,
    destination: Destination,
}

impl Fixture {
    fn new() -> Self {
        let plan = CopyPlan {
            source: "source".into(),
            destination: "destination".into(),
            same_registry: false,
            platform: None,
            images: Vec::new(),
            manifests: Vec::new(),
            blobs: Vec::new(),
            totals: CopyTotals::default(),
        };
        Fixture {
            plan,
            source: Source {
                broken: BTreeSet::new(),
                contents: HashMap::new(),
            },
            destination: Destination {
                needs: HashMap::new(),
                stored: Mutex::new(Stored::default()),
            },
        }
    }

    /// A blob of `repo` named `name`, reaching the destination by `action`.
    fn blob(&mut self, repo_name: &str, name: &str, action: BlobAction) -> Digest {
        let digest = blob(name);
        self.source
            .contents
            .insert(digest.clone(), name.as_bytes().to_vec());
        self.plan.blobs.push(PlannedBlob {
            repository: repo(repo_name),
            source_repository: repo(repo_name),
            digest: digest.clone(),
            size: name.len() as u64,
            action,
            session: None,
        });
        digest
    }

    /// A manifest of `repo` named `name` listing `blobs` (an image) or `children` (an
    /// index). `present`: the destination has it, and its blobs, already.
    fn manifest(&mut self, repo_name: &str, name: &str, needs: Needs, present: bool) -> Digest {
        let bytes = format!("manifest {name}").into_bytes();
        let digest = Digest::sha256_of(&bytes);
        if present {
            let mut stored = self.destination.stored.lock().expect("not poisoned");
            stored.manifests.insert((repo_name.into(), digest.clone()));
            for b in &needs.blobs {
                stored.blobs.insert((repo_name.into(), b.clone()));
            }
        }
        self.destination.needs.insert(digest.clone(), needs.clone());
        self.plan.manifests.push(PlannedManifest {
            repository: repo(repo_name),
            source_repository: repo(repo_name),
            digest: digest.clone(),
            media_type: "application/vnd.oci.image.manifest.v1+json".into(),
            size: bytes.len() as u64,
            platform: None,
            is_index: !needs.children.is_empty(),
            present,
            bytes,
            blobs: needs.blobs,
            children: needs.children,
        });
        digest
    }

    fn tag(&mut self, repo_name: &str, tag: &str, digest: &Digest, change: TagChange) {
        self.plan.images.push(PlannedImage {
            source: format!("{repo_name}:{tag}"),
            source_digest: digest.clone(),
            destination_repository: repo(repo_name),
            destination_tag: Some(Tag::parse(tag).expect("a tag")),
            digest: digest.clone(),
            platform: None,
            tag: change,
        });
    }
}

fn image(blobs: &[&Digest]) -> Needs {
    Needs {
        blobs: blobs.iter().map(|d| (*d).clone()).collect(),
        children: Vec::new(),
    }
}

fn index(children: &[&Digest]) -> Needs {
    Needs {
        blobs: Vec::new(),
        children: children.iter().map(|d| (*d).clone()).collect(),
    }
}

/// Two repositories: in `a`, an image tagged `v1` and an index of two images tagged
/// `multi`, one of whose blobs the source cannot give; in `b`, an image under two tags whose
/// base layer is mounted from `a` (listed first, before the transfer it needs), and a tag
/// moving to a manifest the destination already has.
fn two_repositories() -> (Fixture, BTreeMap<&'static str, Digest>) {
    let mut f = Fixture::new();
    let base_in_b = f.blob("b", "base", BlobAction::Mount { from: repo("a") });
    let mut d = BTreeMap::new();
    for name in ["cfg-a1", "base", "layer-a1", "cfg-x1", "cfg-x2", "broken"] {
        d.insert(name, f.blob("a", name, BlobAction::Transfer));
    }
    for name in ["cfg-b1", "layer-b1"] {
        d.insert(name, f.blob("b", name, BlobAction::Transfer));
    }
    f.source.broken.insert(d["broken"].clone());
    let a1 = f.manifest(
        "a",
        "A1",
        image(&[&d["cfg-a1"], &d["base"], &d["layer-a1"]]),
        false,
    );
    let x1 = f.manifest("a", "X1", image(&[&d["cfg-x1"], &d["base"]]), false);
    let x2 = f.manifest("a", "X2", image(&[&d["cfg-x2"], &d["broken"]]), false);
    let ix = f.manifest("a", "IX", index(&[&x1, &x2]), false);
    let b1 = f.manifest(
        "b",
        "B1",
        image(&[&d["cfg-b1"], &base_in_b, &d["layer-b1"]]),
        false,
    );
    let old = f.blob("b", "old-layer", BlobAction::Present);
    let p = f.manifest("b", "P", image(&[&old]), true);
    f.tag("a", "v1", &a1, TagChange::New);
    f.tag("a", "multi", &ix, TagChange::New);
    f.tag("b", "v1", &b1, TagChange::New);
    f.tag("b", "v2", &b1, TagChange::New);
    f.tag("b", "latest", &p, TagChange::Moves { from: a1.clone() });
    for (name, digest) in [
        ("A1", a1),
        ("X1", x1),
        ("X2", x2),
        ("IX", ix),
        ("B1", b1),
        ("P", p),
    ] {
        d.insert(name, digest);
    }
    (f, d)
}

fn failure(what: String, reason: String) -> CopyFailure {
    CopyFailure { what, reason }
}

#[tokio::test]
async fn every_step_waits_for_what_it_needs_and_a_failed_blob_skips_exactly_its_dependants() {
    for concurrency in [64, 8, 3, 1] {
        let (f, d) = two_repositories();
        let ends = Ends {
            source: &f.source,
            destination: &f.destination,
        };
        let progress = CopyProgress::default();
        let outcome = apply(&f.plan, &ends, concurrency, &progress).await;
        let stored = f.destination.stored.lock().expect("not poisoned");
        assert_eq!(stored.refused, Vec::<String>::new(), "at {concurrency}");
        let (a, b) = ("a".to_string(), "b".to_string());
        let tags: Vec<((String, String), Digest)> = stored.tags.clone().into_iter().collect();
        assert_eq!(
            tags,
            vec![
                ((a.clone(), "v1".into()), d["A1"].clone()),
                ((b.clone(), "latest".into()), d["P"].clone()),
                ((b.clone(), "v1".into()), d["B1"].clone()),
                ((b.clone(), "v2".into()), d["B1"].clone()),
            ],
            "at {concurrency}"
        );
        for (repo, name) in [(&a, "X2"), (&a, "IX")] {
            let key = (repo.clone(), d[name].clone());
            assert!(!stored.manifests.contains(&key), "{name} at {concurrency}");
        }
        assert_eq!(
            outcome.failures,
            vec![
                failure(
                    format!("blob {} into a", d["broken"]),
                    format!(
                        "reading it from the source: 404 Not Found: blob {}",
                        d["broken"]
                    ),
                ),
                failure(
                    format!("manifest a@{}", d["X2"]),
                    format!("not pushed: its blob {} was not copied", d["broken"]),
                ),
                failure(
                    format!("manifest a@{}", d["IX"]),
                    "not pushed: a manifest it lists was not copied".into(),
                ),
                failure(
                    "tag a:multi".into(),
                    format!("not set: {} was not copied", d["IX"]),
                ),
            ],
            "at {concurrency}"
        );
        // The mount waited for the transfer into `a`: nothing moved twice.
        assert_eq!(
            (outcome.blobs_transferred, outcome.blobs_mounted),
            (7, 1),
            "at {concurrency}"
        );
        // X1 by digest; A1 and B1 by their tags (B1 counted once for its two tags).
        assert_eq!(outcome.manifests_pushed, 3, "at {concurrency}");
        assert_eq!(outcome.tags_set, 4, "at {concurrency}");
        let snapshot = progress.snapshot();
        assert_eq!(
            (
                snapshot.blobs_done,
                snapshot.manifests_done,
                snapshot.tags_done
            ),
            (9, 1, 5),
            "at {concurrency}"
        );
    }
}

#[test]
fn one_at_a_time_the_transfers_go_in_plan_order_and_what_they_ready_goes_next() {
    use super::schedule::{Ended, Schedule, Step};
    let (f, _) = two_repositories();
    let mut schedule = Schedule::new(&f.plan, false);
    let mut order = Vec::new();
    while let Some(id) = schedule.next() {
        order.push(schedule.step(id));
        schedule.finish(id, Ended::Done);
    }
    use Step::{Blob, Manifest, Tag};
    assert_eq!(
        order,
        vec![
            Blob(1),     // a: cfg-a1
            Blob(2),     // a: base
            Blob(0),     // b: base, mounted from a as soon as it is there
            Blob(3),     // a: layer-a1
            Manifest(0), // A1
            Tag(0),      // a:v1
            Blob(4),     // a: cfg-x1
            Manifest(1), // X1
            Blob(5),     // a: cfg-x2
            Blob(6),     // a: broken (done here)
            Manifest(2), // X2
            Manifest(3), // IX, after both its children
            Tag(1),      // a:multi
            Blob(7),     // b: cfg-b1
            Blob(8),     // b: layer-b1
            Manifest(4), // B1
            Tag(2),      // b:v1
            Tag(3),      // b:v2
            Tag(4),      // b:latest, on a manifest already there: ready from the start
        ]
    );
    assert_eq!(schedule.never_ready().count(), 0);
}
