//! An in-memory [`Source`] with made-up but well-formed images, for tests, benchmarks and
//! trying the UI without a registry. Not the bundled demo: this one is built in code, small,
//! and counts the requests made to it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;

use super::action::Effect;
use super::app::App;
use super::workers::Workers;
use crate::registry::manifest::{
    HistoryEntry, OCI_CONFIG, OCI_INDEX, OCI_MANIFEST, RootFs, RunConfig,
};
use crate::registry::{
    Descriptor, Digest, FetchedManifest, ImageConfig, ImageIndex, ImageManifest, ManifestHead,
    ManifestRef, PageSink, Platform, RegistryError, RepoName, Source, Tag,
};

const LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// What one platform image is made of.
#[derive(Debug, Clone, Default)]
pub struct ImageSpec {
    pub os: String,
    pub arch: String,
    pub variant: Option<String>,
    pub created: String,
    /// Size and build step of each layer, bottom first.
    pub layers: Vec<(u64, String)>,
    /// Build steps that made no layer (ENV, CMD ...), placed after the layers.
    pub empty_steps: Vec<String>,
    pub env: Vec<String>,
    pub labels: Vec<(String, String)>,
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    pub user: Option<String>,
    pub working_dir: Option<String>,
    pub ports: Vec<String>,
}

impl ImageSpec {
    pub fn new(os: &str, arch: &str, created: &str) -> Self {
        Self {
            os: os.into(),
            arch: arch.into(),
            created: created.into(),
            ..Self::default()
        }
    }

    pub fn layer(mut self, size: u64, created_by: &str) -> Self {
        self.layers.push((size, created_by.into()));
        self
    }

    pub fn label(mut self, key: &str, value: &str) -> Self {
        self.labels.push((key.into(), value.into()));
        self
    }
}

pub struct MemorySource {
    name: String,
    host: String,
    repos: BTreeMap<RepoName, BTreeMap<Tag, Digest>>,
    manifests: HashMap<Digest, (String, Vec<u8>)>,
    blobs: HashMap<Digest, Vec<u8>>,
    page_size: usize,
    delay: Duration,
    ping: Result<(), RegistryError>,
    fetches: AtomicUsize,
    manifest_fetches: AtomicUsize,
}

impl MemorySource {
    pub fn new(name: &str) -> Self {
        Self {
            name: name.into(),
            host: format!("{name}.example"),
            repos: BTreeMap::new(),
            manifests: HashMap::new(),
            blobs: HashMap::new(),
            page_size: 2,
            delay: Duration::ZERO,
            ping: Ok(()),
            fetches: AtomicUsize::new(0),
            manifest_fetches: AtomicUsize::new(0),
        }
    }

    /// Waits this long in every call, so loading states can be seen.
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    pub fn with_page_size(mut self, page_size: usize) -> Self {
        self.page_size = page_size.max(1);
        self
    }

    pub fn with_ping(mut self, result: Result<(), RegistryError>) -> Self {
        self.ping = result;
        self
    }

    /// Manifest and blob requests answered so far.
    pub fn fetches(&self) -> usize {
        self.fetches.load(Ordering::Relaxed)
    }

    /// Manifest requests answered so far.
    pub fn manifest_fetches(&self) -> usize {
        self.manifest_fetches.load(Ordering::Relaxed)
    }

    fn repo_mut(&mut self, repo: &str) -> &mut BTreeMap<Tag, Digest> {
        let name = RepoName::parse(repo).unwrap_or_else(|e| panic!("fixture repo: {e}"));
        self.repos.entry(name).or_default()
    }

    /// An empty repository.
    pub fn repo(mut self, repo: &str) -> Self {
        self.repo_mut(repo);
        self
    }

    /// Points `tags` of `repo` at `digest`.
    pub fn tag(mut self, repo: &str, tags: &[&str], digest: &Digest) -> Self {
        let map = self.repo_mut(repo);
        for tag in tags {
            let tag = Tag::parse(tag).unwrap_or_else(|e| panic!("fixture tag: {e}"));
            map.insert(tag, digest.clone());
        }
        self
    }

    fn put_manifest(&mut self, media_type: &str, bytes: Vec<u8>) -> (Digest, u64) {
        let digest = Digest::sha256_of(&bytes);
        let size = bytes.len() as u64;
        self.manifests
            .insert(digest.clone(), (media_type.into(), bytes));
        (digest, size)
    }

    /// Stores a single-platform image and returns its manifest digest.
    pub fn add_image(&mut self, spec: &ImageSpec) -> Digest {
        self.put_image(spec).0
    }

    fn put_image(&mut self, spec: &ImageSpec) -> (Digest, u64) {
        let mut history: Vec<HistoryEntry> = spec
            .layers
            .iter()
            .map(|(_, step)| HistoryEntry {
                created: Some(spec.created.clone()),
                created_by: Some(step.clone()),
                ..HistoryEntry::default()
            })
            .collect();
        history.extend(spec.empty_steps.iter().map(|step| HistoryEntry {
            created: Some(spec.created.clone()),
            created_by: Some(step.clone()),
            empty_layer: true,
            ..HistoryEntry::default()
        }));
        let config = ImageConfig {
            created: Some(spec.created.clone()),
            architecture: spec.arch.clone(),
            os: spec.os.clone(),
            variant: spec.variant.clone(),
            config: RunConfig {
                user: spec.user.clone(),
                exposed_ports: (!spec.ports.is_empty()).then(|| {
                    spec.ports
                        .iter()
                        .map(|p| (p.clone(), serde_json::json!({})))
                        .collect()
                }),
                env: spec.env.clone(),
                entrypoint: spec.entrypoint.clone(),
                cmd: spec.cmd.clone(),
                working_dir: spec.working_dir.clone(),
                labels: (!spec.labels.is_empty()).then(|| spec.labels.iter().cloned().collect()),
                stop_signal: None,
            },
            history,
            rootfs: RootFs {
                fs_type: "layers".into(),
                diff_ids: Vec::new(),
            },
            ..ImageConfig::default()
        };
        let config_bytes = serde_json::to_vec(&config).unwrap_or_default();
        let config_digest = Digest::sha256_of(&config_bytes);
        let config_desc = descriptor(OCI_CONFIG, config_digest.clone(), config_bytes.len() as u64);
        self.blobs.insert(config_digest, config_bytes);
        let layers = spec
            .layers
            .iter()
            .map(|(size, step)| {
                // Layers are identified by platform, step and size: images built from the
                // same steps for the same platform share layers, as real ones do.
                let seed = format!("{}/{}/{step}/{size}", spec.os, spec.arch);
                let digest = Digest::sha256_of(seed.as_bytes());
                descriptor(LAYER, digest, *size)
            })
            .collect();
        let manifest = ImageManifest {
            schema_version: 2,
            media_type: Some(OCI_MANIFEST.into()),
            artifact_type: None,
            config: config_desc,
            layers,
            subject: None,
            annotations: None,
        };
        let bytes = serde_json::to_vec(&manifest).unwrap_or_default();
        self.put_manifest(OCI_MANIFEST, bytes)
    }

    /// Stores an index over one image per spec and returns its digest.
    pub fn add_index(&mut self, specs: &[ImageSpec]) -> Digest {
        let manifests = specs
            .iter()
            .map(|spec| {
                let (digest, size) = self.put_image(spec);
                let mut d = descriptor(OCI_MANIFEST, digest, size);
                d.platform = Some(Platform {
                    architecture: spec.arch.clone(),
                    os: spec.os.clone(),
                    variant: spec.variant.clone(),
                    os_version: None,
                });
                d
            })
            .collect();
        let index = ImageIndex {
            schema_version: 2,
            media_type: Some(OCI_INDEX.into()),
            artifact_type: None,
            manifests,
            subject: None,
            annotations: None,
        };
        let bytes = serde_json::to_vec(&index).unwrap_or_default();
        self.put_manifest(OCI_INDEX, bytes).0
    }

    /// Stores an artifact and returns its digest: with `artifact_type`, an OCI 1.1 artifact
    /// (empty config) as oras and Notation push them; without, a cosign-style manifest (an
    /// image config, the kind told by the layer). One layer of `layer_type` holds `payload`;
    /// `subject` (a manifest stored here) is written into the manifest when given.
    pub fn add_artifact(
        &mut self,
        artifact_type: Option<&str>,
        layer_type: &str,
        payload: &[u8],
        subject: Option<&Digest>,
        created: Option<&str>,
    ) -> Digest {
        let config_bytes = if artifact_type.is_some() {
            b"{}".to_vec()
        } else {
            br#"{"architecture":"","os":"","rootfs":{"type":"layers","diff_ids":[]},"config":{}}"#
                .to_vec()
        };
        let config_type = if artifact_type.is_some() {
            "application/vnd.oci.empty.v1+json"
        } else {
            OCI_CONFIG
        };
        let config_digest = Digest::sha256_of(&config_bytes);
        let config = descriptor(
            config_type,
            config_digest.clone(),
            config_bytes.len() as u64,
        );
        self.blobs.insert(config_digest, config_bytes);
        let layer_digest = Digest::sha256_of(payload);
        self.blobs.insert(layer_digest.clone(), payload.to_vec());
        let subject = subject.and_then(|d| {
            let (media_type, bytes) = self.manifests.get(d)?;
            Some(descriptor(media_type, d.clone(), bytes.len() as u64))
        });
        let manifest = ImageManifest {
            schema_version: 2,
            media_type: Some(OCI_MANIFEST.into()),
            artifact_type: artifact_type.map(str::to_string),
            config,
            layers: vec![descriptor(layer_type, layer_digest, payload.len() as u64)],
            subject,
            annotations: created.map(|c| {
                BTreeMap::from([(
                    "org.opencontainers.image.created".to_string(),
                    c.to_string(),
                )])
            }),
        };
        let bytes = serde_json::to_vec(&manifest).unwrap_or_default();
        self.put_manifest(OCI_MANIFEST, bytes).0
    }

    /// Stores a cosign attestation (what `cosign attest` pushes under `sha256-<hex>.att`):
    /// one DSSE envelope layer per `(predicate type, envelope)`, its predicate type in the
    /// layer's `predicateType` annotation, and returns its digest.
    pub fn add_cosign_attestation(&mut self, layers: &[(&str, &[u8])]) -> Digest {
        let config_bytes =
            br#"{"architecture":"","os":"","rootfs":{"type":"layers","diff_ids":[]},"config":{}}"#
                .to_vec();
        let config_digest = Digest::sha256_of(&config_bytes);
        let config = descriptor(OCI_CONFIG, config_digest.clone(), config_bytes.len() as u64);
        self.blobs.insert(config_digest, config_bytes);
        let layers = layers
            .iter()
            .map(|(predicate_type, envelope)| {
                let digest = Digest::sha256_of(envelope);
                self.blobs.insert(digest.clone(), envelope.to_vec());
                let mut layer = descriptor(
                    "application/vnd.dsse.envelope.v1+json",
                    digest,
                    envelope.len() as u64,
                );
                layer.annotations = Some(BTreeMap::from([(
                    "predicateType".to_string(),
                    predicate_type.to_string(),
                )]));
                layer
            })
            .collect();
        let manifest = ImageManifest {
            schema_version: 2,
            media_type: Some(OCI_MANIFEST.into()),
            artifact_type: None,
            config,
            layers,
            subject: None,
            annotations: None,
        };
        let bytes = serde_json::to_vec(&manifest).unwrap_or_default();
        self.put_manifest(OCI_MANIFEST, bytes).0
    }

    /// Stores an index listing `manifests` (stored here), as a referrers fallback index
    /// lists the referrers of its subject, and returns its digest.
    pub fn add_referrers_index(&mut self, manifests: &[Digest]) -> Digest {
        let manifests = manifests
            .iter()
            .filter_map(|d| {
                let (media_type, bytes) = self.manifests.get(d)?;
                Some(descriptor(media_type, d.clone(), bytes.len() as u64))
            })
            .collect();
        let index = ImageIndex {
            schema_version: 2,
            media_type: Some(OCI_INDEX.into()),
            artifact_type: None,
            manifests,
            subject: None,
            annotations: None,
        };
        let bytes = serde_json::to_vec(&index).unwrap_or_default();
        self.put_manifest(OCI_INDEX, bytes).0
    }

    async fn wait(&self) {
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
    }

    fn find(&self, repo: &RepoName, reference: &ManifestRef) -> Result<Digest, RegistryError> {
        let tags = self
            .repos
            .get(repo)
            .ok_or_else(|| not_found(repo.as_str()))?;
        let digest = match reference {
            ManifestRef::Tag(t) => tags.get(t).cloned(),
            ManifestRef::Digest(d) => self.manifests.contains_key(d).then(|| d.clone()),
        };
        digest.ok_or_else(|| not_found(&format!("{repo}:{reference}")))
    }
}

fn descriptor(media_type: &str, digest: Digest, size: u64) -> Descriptor {
    Descriptor {
        media_type: media_type.into(),
        digest,
        size,
        platform: None,
        annotations: None,
    }
}

fn not_found(what: &str) -> RegistryError {
    RegistryError::NotFound {
        what: what.to_string(),
    }
}

#[async_trait]
impl Source for MemorySource {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn reference_prefix(&self, repo: &RepoName) -> String {
        format!("{}/{repo}", self.host)
    }

    async fn ping(&self) -> Result<(), RegistryError> {
        self.wait().await;
        self.ping.clone()
    }

    async fn repositories(
        &self,
        on_page: PageSink<'_, RepoName>,
    ) -> Result<Vec<RepoName>, RegistryError> {
        let all: Vec<RepoName> = self.repos.keys().cloned().collect();
        for page in all.chunks(self.page_size) {
            self.wait().await;
            on_page(page);
        }
        Ok(all)
    }

    async fn tags(&self, repo: &RepoName) -> Result<Vec<Tag>, RegistryError> {
        self.wait().await;
        let tags = self
            .repos
            .get(repo)
            .ok_or_else(|| not_found(repo.as_str()))?;
        Ok(tags.keys().cloned().collect())
    }

    async fn resolve(
        &self,
        repo: &RepoName,
        reference: &ManifestRef,
    ) -> Result<ManifestHead, RegistryError> {
        self.wait().await;
        let digest = self.find(repo, reference)?;
        let (media_type, bytes) = &self.manifests[&digest];
        Ok(ManifestHead {
            digest,
            media_type: media_type.clone(),
            size: bytes.len() as u64,
        })
    }

    async fn manifest(
        &self,
        repo: &RepoName,
        reference: &ManifestRef,
    ) -> Result<FetchedManifest, RegistryError> {
        self.wait().await;
        self.fetches.fetch_add(1, Ordering::Relaxed);
        self.manifest_fetches.fetch_add(1, Ordering::Relaxed);
        let digest = self.find(repo, reference)?;
        let (media_type, bytes) = &self.manifests[&digest];
        let what = format!("{repo}@{digest}");
        FetchedManifest::from_bytes(&what, bytes.clone(), media_type, Some(&digest))
    }

    async fn blob(&self, _repo: &RepoName, digest: &Digest) -> Result<Vec<u8>, RegistryError> {
        self.wait().await;
        self.fetches.fetch_add(1, Ordering::Relaxed);
        self.blobs
            .get(digest)
            .cloned()
            .ok_or_else(|| not_found(digest.as_str()))
    }
}

/// Runs `effects` and everything they lead to until no work is left, feeding results to the
/// app in batches as the real loop does (without a terminal).
pub async fn run_until_idle(app: &mut App, effects: Vec<Effect>) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut workers = Workers::new(tx);
    let mut pending = effects;
    loop {
        for effect in pending.drain(..) {
            workers.start(effect, &*app);
        }
        let mut batch = Vec::new();
        while let Ok(action) = rx.try_recv() {
            batch.push(action);
        }
        if batch.is_empty() {
            if workers.running() == 0 {
                // Finished tasks sent everything before finishing: one last look.
                match rx.try_recv() {
                    Ok(action) => batch.push(action),
                    Err(_) => return,
                }
            } else if let Ok(Some(action)) =
                tokio::time::timeout(Duration::from_millis(2), rx.recv()).await
            {
                batch.push(action);
            }
        }
        pending = app.update_batch(batch);
    }
}

/// A source as the app takes it.
pub fn shared(source: MemorySource) -> Arc<dyn Source> {
    Arc::new(source)
}
