//! Deterministic synthetic images, pushed through the project's own client.
//!
//! Layers are real gzip'd tars with fixed mtimes and owners, so the same spec gives the same
//! bytes (and digests) on every run; configs carry `rootfs.diff_ids` that are the sha256 of the
//! uncompressed tars. [`FixtureBuilder`] collects images and indexes per repository, computes
//! the ground truth ([`Fixture`]) from the bytes it made, and pushes them.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;
use futures::{StreamExt, TryStreamExt};
use regatta::registry::manifest::{
    DOCKER_CONFIG, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_CONFIG, OCI_INDEX, OCI_MANIFEST,
};
use regatta::registry::{Client, Digest, ManifestRef, RegistryError};
use serde_json::{Value, json};

use super::truth::{Fixture, ManifestTruth, RepoTruth, repo, tag};

pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/// Every file in every layer has this mtime (2023-11-14), so tars are reproducible.
const FIXED_MTIME: u64 = 1_700_000_000;

/// Requests in flight while pushing.
const PUSH_CONCURRENCY: usize = 16;

/// Which family of media types an image or index uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Oci,
    Docker,
}

impl Format {
    pub fn manifest_type(self) -> &'static str {
        match self {
            Format::Oci => OCI_MANIFEST,
            Format::Docker => DOCKER_MANIFEST,
        }
    }

    pub fn index_type(self) -> &'static str {
        match self {
            Format::Oci => OCI_INDEX,
            Format::Docker => DOCKER_MANIFEST_LIST,
        }
    }

    pub fn config_type(self) -> &'static str {
        match self {
            Format::Oci => OCI_CONFIG,
            Format::Docker => DOCKER_CONFIG,
        }
    }

    pub fn layer_type(self) -> &'static str {
        match self {
            Format::Oci => OCI_LAYER,
            Format::Docker => DOCKER_LAYER,
        }
    }
}

/// A layer: a tar and its gzip'd form, both fixed by the inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    pub tar: Vec<u8>,
    pub gz: Vec<u8>,
    digest: Digest,
    diff_id: String,
}

impl Layer {
    /// A layer holding these files (`path`, contents); paths are made relative.
    pub fn files(files: &[(&str, &[u8])]) -> Self {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, data) in files {
            let mut header = tar::Header::new_gnu();
            header
                .set_path(path.trim_start_matches('/'))
                .expect("a valid tar path");
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_mtime(FIXED_MTIME);
            header.set_uid(0);
            header.set_gid(0);
            header.set_entry_type(tar::EntryType::Regular);
            header.set_cksum();
            builder
                .append(&header, *data)
                .expect("append to an in-memory tar");
        }
        let tar = builder.into_inner().expect("finish an in-memory tar");
        // GzEncoder writes mtime 0 and no file name: the gzip bytes depend on the tar alone.
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(&tar).expect("gzip in memory");
        let gz = encoder.finish().expect("gzip in memory");
        Self {
            digest: Digest::sha256_of(&gz),
            diff_id: Digest::sha256_of(&tar).to_string(),
            tar,
            gz,
        }
    }

    /// A layer with one file of `len` pseudo-random (incompressible) bytes drawn from `seed`:
    /// its compressed size is close to `len`.
    pub fn random(seed: &str, len: usize) -> Self {
        let data = pseudo_random(seed, len);
        Self::files(&[(&format!("data/{seed}.bin"), &data)])
    }

    /// A small layer of readable text naming `seed` (for the many tiny repositories).
    pub fn text(seed: &str) -> Self {
        let body = format!("{seed}\n").repeat(8);
        Self::files(&[
            (&format!("app/{seed}.txt"), body.as_bytes()),
            ("app/VERSION", seed.as_bytes()),
        ])
    }

    pub fn digest(&self) -> Digest {
        self.digest.clone()
    }

    /// `sha256:` of the uncompressed tar: the config's `rootfs.diff_ids` entry.
    pub fn diff_id(&self) -> String {
        self.diff_id.clone()
    }

    pub fn size(&self) -> u64 {
        self.gz.len() as u64
    }
}

/// splitmix64 seeded by the FNV-1a hash of `seed`.
fn pseudo_random(seed: &str, len: usize) -> Vec<u8> {
    let mut state = seed.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// One single-platform image: its layers and what goes into its config.
#[derive(Debug, Clone)]
pub struct ImageSpec {
    pub format: Format,
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
    pub layers: Vec<Layer>,
    /// RFC 3339, e.g. `2024-03-01T12:00:00Z`.
    pub created: String,
    pub author: Option<String>,
    pub env: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    pub working_dir: Option<String>,
}

impl ImageSpec {
    /// A linux/amd64 image with these layers, created 2024-01-01.
    pub fn new(format: Format, layers: Vec<Layer>) -> Self {
        Self {
            format,
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: None,
            layers,
            created: "2024-01-01T00:00:00Z".into(),
            author: None,
            env: vec!["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into()],
            labels: BTreeMap::new(),
            entrypoint: None,
            cmd: None,
            working_dir: None,
        }
    }

    pub fn platform(mut self, os: &str, architecture: &str, variant: Option<&str>) -> Self {
        self.os = os.into();
        self.architecture = architecture.into();
        self.variant = variant.map(str::to_string);
        self
    }

    pub fn created(mut self, created: &str) -> Self {
        self.created = created.into();
        self
    }

    pub fn author(mut self, author: &str) -> Self {
        self.author = Some(author.into());
        self
    }

    pub fn env(mut self, var: &str) -> Self {
        self.env.push(var.into());
        self
    }

    pub fn label(mut self, key: &str, value: &str) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }

    pub fn entrypoint(mut self, args: &[&str]) -> Self {
        self.entrypoint = Some(args.iter().map(|a| a.to_string()).collect());
        self
    }

    pub fn cmd(mut self, args: &[&str]) -> Self {
        self.cmd = Some(args.iter().map(|a| a.to_string()).collect());
        self
    }

    pub fn working_dir(mut self, dir: &str) -> Self {
        self.working_dir = Some(dir.into());
        self
    }

    /// `os/arch[/variant]`, as the client's `Platform` displays it.
    pub fn platform_string(&self) -> String {
        match &self.variant {
            Some(v) => format!("{}/{}/{v}", self.os, self.architecture),
            None => format!("{}/{}", self.os, self.architecture),
        }
    }

    /// The config document. History: the first layer, then one empty-layer step per `ENV`,
    /// the other layers, then `LABEL`, `WORKDIR`, `ENTRYPOINT` and `CMD` empty-layer steps.
    pub fn config_json(&self) -> Vec<u8> {
        let step = |created_by: String, empty: bool| {
            let mut h = json!({ "created": self.created, "created_by": created_by });
            if empty {
                h["empty_layer"] = json!(true);
            }
            h
        };
        let add = |l: &Layer| step(format!("ADD {} /", l.digest().short()), false);
        let mut history = Vec::new();
        let mut layers = self.layers.iter();
        if let Some(first) = layers.next() {
            history.push(add(first));
        }
        history.extend(self.env.iter().map(|v| step(format!("ENV {v}"), true)));
        history.extend(layers.map(add));
        for (k, v) in &self.labels {
            history.push(step(format!("LABEL {k}={v}"), true));
        }
        if let Some(dir) = &self.working_dir {
            history.push(step(format!("WORKDIR {dir}"), true));
        }
        if let Some(e) = &self.entrypoint {
            history.push(step(format!("ENTRYPOINT {}", json!(e)), true));
        }
        if let Some(c) = &self.cmd {
            history.push(step(format!("CMD {}", json!(c)), true));
        }
        let mut run = serde_json::Map::new();
        run.insert("Env".into(), json!(self.env));
        if !self.labels.is_empty() {
            run.insert("Labels".into(), json!(self.labels));
        }
        if let Some(e) = &self.entrypoint {
            run.insert("Entrypoint".into(), json!(e));
        }
        if let Some(c) = &self.cmd {
            run.insert("Cmd".into(), json!(c));
        }
        if let Some(d) = &self.working_dir {
            run.insert("WorkingDir".into(), json!(d));
        }
        let mut config = json!({
            "architecture": self.architecture,
            "os": self.os,
            "created": self.created,
            "config": Value::Object(run),
            "rootfs": {
                "type": "layers",
                "diff_ids": self.layers.iter().map(Layer::diff_id).collect::<Vec<_>>(),
            },
            "history": history,
        });
        if let Some(v) = &self.variant {
            config["variant"] = json!(v);
        }
        if let Some(a) = &self.author {
            config["author"] = json!(a);
        }
        serde_json::to_vec(&config).expect("serialize a config")
    }

    /// The manifest document, in `format` (which overrides the spec's own inside an index).
    fn manifest_json(&self, format: Format, config: &[u8]) -> Vec<u8> {
        let layers: Vec<Value> = self
            .layers
            .iter()
            .map(|l| {
                json!({
                    "mediaType": format.layer_type(),
                    "digest": l.digest(),
                    "size": l.size(),
                })
            })
            .collect();
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": format.manifest_type(),
            "config": {
                "mediaType": format.config_type(),
                "digest": Digest::sha256_of(config),
                "size": config.len(),
            },
            "layers": layers,
        });
        serde_json::to_vec(&manifest).expect("serialize a manifest")
    }
}

/// A manifest ready to push, with the blobs it needs.
#[derive(Debug, Clone)]
struct Built {
    truth: ManifestTruth,
    /// Blobs by digest (config and layers; empty for an index).
    blobs: BTreeMap<Digest, Vec<u8>>,
}

fn build_image(spec: &ImageSpec, format: Format) -> Built {
    let config = spec.config_json();
    let document = spec.manifest_json(format, &config);
    let config_digest = Digest::sha256_of(&config);
    let mut blobs = BTreeMap::new();
    for layer in &spec.layers {
        blobs.insert(layer.digest(), layer.gz.clone());
    }
    blobs.insert(config_digest.clone(), config);
    let sizes: BTreeMap<Digest, u64> = blobs
        .iter()
        .map(|(d, b)| (d.clone(), b.len() as u64))
        .collect();
    Built {
        truth: ManifestTruth {
            digest: Digest::sha256_of(&document),
            media_type: format.manifest_type().to_string(),
            manifest_size: document.len() as u64,
            size: sizes.values().sum(),
            blobs: sizes,
            is_index: false,
            config: Some(config_digest),
            layers: spec.layers.iter().map(Layer::digest).collect(),
            diff_ids: spec.layers.iter().map(Layer::diff_id).collect(),
            platform: Some(spec.platform_string()),
            created: Some(spec.created.clone()),
            children: Vec::new(),
            document,
        },
        blobs,
    }
}

fn build_index(format: Format, children: &[Built], specs: &[ImageSpec]) -> Built {
    let manifests: Vec<Value> = children
        .iter()
        .zip(specs)
        .map(|(child, spec)| {
            let mut platform = json!({ "architecture": spec.architecture, "os": spec.os });
            if let Some(v) = &spec.variant {
                platform["variant"] = json!(v);
            }
            json!({
                "mediaType": child.truth.media_type,
                "digest": child.truth.digest,
                "size": child.truth.manifest_size,
                "platform": platform,
            })
        })
        .collect();
    let index = json!({
        "schemaVersion": 2,
        "mediaType": format.index_type(),
        "manifests": manifests,
    });
    let document = serde_json::to_vec(&index).expect("serialize an index");
    let union: BTreeMap<Digest, u64> = children
        .iter()
        .flat_map(|c| c.truth.blobs.iter().map(|(d, s)| (d.clone(), *s)))
        .collect();
    Built {
        truth: ManifestTruth {
            digest: Digest::sha256_of(&document),
            media_type: format.index_type().to_string(),
            manifest_size: document.len() as u64,
            size: union.values().sum(),
            blobs: union,
            is_index: true,
            config: None,
            layers: Vec::new(),
            diff_ids: Vec::new(),
            platform: None,
            created: None,
            children: children
                .iter()
                .zip(specs)
                .map(|(c, s)| (c.truth.digest.clone(), s.platform_string()))
                .collect(),
            document,
        },
        blobs: BTreeMap::new(),
    }
}

/// What to push under one set of tags.
#[derive(Debug, Clone)]
enum Entry {
    Image {
        tags: Vec<String>,
        spec: Box<ImageSpec>,
    },
    Index {
        tags: Vec<String>,
        format: Format,
        images: Vec<ImageSpec>,
    },
}

/// Collects images per repository; [`truth`](Self::truth) computes what they will be and
/// [`push`](Self::push) puts them in a registry. Entries of one repository are pushed in the
/// order they were added, so adding a tag again moves it (the earlier manifest stays,
/// untagged), as `docker push` does.
#[derive(Debug, Clone, Default)]
pub struct FixtureBuilder {
    repos: BTreeMap<String, Vec<Entry>>,
}

impl FixtureBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// A single-platform image under `tags` (none: pushed by digest only, untagged).
    pub fn image(&mut self, repo: &str, tags: &[&str], spec: ImageSpec) -> &mut Self {
        self.entries(repo).push(Entry::Image {
            tags: tags.iter().map(|t| t.to_string()).collect(),
            spec: Box::new(spec),
        });
        self
    }

    /// A multi-platform index (OCI index or Docker manifest list, after `format`) of `images`,
    /// which are pushed by digest in that same format.
    pub fn index(
        &mut self,
        repo: &str,
        tags: &[&str],
        format: Format,
        images: Vec<ImageSpec>,
    ) -> &mut Self {
        self.entries(repo).push(Entry::Index {
            tags: tags.iter().map(|t| t.to_string()).collect(),
            format,
            images,
        });
        self
    }

    fn entries(&mut self, repo: &str) -> &mut Vec<Entry> {
        super::truth::repo(repo);
        self.repos.entry(repo.to_string()).or_default()
    }

    pub fn repo_count(&self) -> usize {
        self.repos.len()
    }

    /// The ground truth of pushing this (into an empty registry), without a registry.
    pub fn truth(&self) -> Fixture {
        truth_of(&self.plans())
    }

    fn plans(&self) -> Vec<(String, Vec<BuiltEntry>)> {
        self.repos
            .iter()
            .map(|(name, entries)| (name.clone(), build_entries(entries)))
            .collect()
    }

    /// Pushes everything through `client` and returns the ground truth. Each distinct blob is
    /// uploaded once; other repositories needing it mount it (uploading if a mount is refused).
    /// Repositories are pushed concurrently.
    pub async fn push(&self, client: &Client) -> Result<Fixture, RegistryError> {
        let plans = self.plans();

        // Phase 1: every distinct blob, uploaded once to the first repository that needs it.
        let mut home: HashMap<Digest, String> = HashMap::new();
        let mut first_uploads = Vec::new();
        for (name, entries) in &plans {
            for entry in entries {
                for built in &entry.manifests {
                    for (digest, bytes) in &built.blobs {
                        if !home.contains_key(digest) {
                            home.insert(digest.clone(), name.clone());
                            first_uploads.push((name.clone(), digest.clone(), bytes.clone()));
                        }
                    }
                }
            }
        }
        let uploads: Vec<_> = first_uploads
            .into_iter()
            .map(|(name, digest, bytes)| upload_first(client, name, digest, bytes))
            .collect();
        futures::stream::iter(uploads)
            .buffer_unordered(PUSH_CONCURRENCY)
            .try_collect::<Vec<()>>()
            .await?;

        // Phase 2: per repository, mount the blobs it shares, then push its manifests in order.
        let repos: Vec<_> = plans
            .iter()
            .map(|(name, entries)| push_repo(client, name, entries, &home))
            .collect();
        futures::stream::iter(repos)
            .buffer_unordered(PUSH_CONCURRENCY)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(truth_of(&plans))
    }

    /// [`push`](Self::push) from synchronous code (or from inside another runtime).
    pub fn push_blocking(&self, client: &Client) -> Fixture {
        super::block_on(self.push(client)).expect("push the fixture")
    }
}

fn truth_of(plans: &[(String, Vec<BuiltEntry>)]) -> Fixture {
    let mut fixture = Fixture::default();
    for (name, entries) in plans {
        let mut repo_truth = RepoTruth::default();
        for entry in entries {
            for built in &entry.manifests {
                repo_truth
                    .manifests
                    .insert(built.truth.digest.clone(), built.truth.clone());
            }
            for t in &entry.tags {
                repo_truth.tags.insert(t.clone(), entry.top.clone());
            }
        }
        fixture.repos.insert(name.clone(), repo_truth);
    }
    fixture
}

/// One entry, built: the manifests to push in order (children before their index), the
/// digest the tags point at, and the tags.
struct BuiltEntry {
    manifests: Vec<Built>,
    top: Digest,
    tags: Vec<String>,
}

fn build_entries(entries: &[Entry]) -> Vec<BuiltEntry> {
    entries
        .iter()
        .map(|entry| match entry {
            Entry::Image { tags, spec } => {
                let built = build_image(spec, spec.format);
                BuiltEntry {
                    top: built.truth.digest.clone(),
                    manifests: vec![built],
                    tags: tags.clone(),
                }
            }
            Entry::Index {
                tags,
                format,
                images,
            } => {
                let children: Vec<Built> = images.iter().map(|s| build_image(s, *format)).collect();
                let index = build_index(*format, &children, images);
                let top = index.truth.digest.clone();
                let mut manifests = children;
                manifests.push(index);
                BuiltEntry {
                    manifests,
                    top,
                    tags: tags.clone(),
                }
            }
        })
        .collect()
}

async fn upload_first(
    client: &Client,
    name: String,
    digest: Digest,
    bytes: Vec<u8>,
) -> Result<(), RegistryError> {
    let pushed = client.upload_blob(&repo(&name), bytes).await?;
    assert_eq!(pushed, digest, "upload_blob returned another digest");
    Ok(())
}

async fn push_repo(
    client: &Client,
    name: &str,
    entries: &[BuiltEntry],
    home: &HashMap<Digest, String>,
) -> Result<(), RegistryError> {
    let repo_name = repo(name);
    let mut present: BTreeSet<Digest> = BTreeSet::new();
    for entry in entries {
        for built in &entry.manifests {
            for (digest, bytes) in &built.blobs {
                if !present.insert(digest.clone()) {
                    continue;
                }
                let from = &home[digest];
                if from == name {
                    continue;
                }
                if !client.mount_blob(&repo_name, digest, &repo(from)).await? {
                    client.upload_blob(&repo_name, bytes.clone()).await?;
                }
            }
        }
        let last = entry.manifests.len() - 1;
        for (i, built) in entry.manifests.iter().enumerate() {
            let t = &built.truth;
            let is_top = i == last;
            let mut refs: Vec<ManifestRef> = Vec::new();
            if is_top && !entry.tags.is_empty() {
                refs.extend(entry.tags.iter().map(|t| ManifestRef::Tag(tag(t))));
            } else {
                refs.push(ManifestRef::Digest(t.digest.clone()));
            }
            for reference in refs {
                let pushed = client
                    .put_manifest(&repo_name, &reference, &t.media_type, t.document.clone())
                    .await?;
                assert_eq!(
                    pushed, t.digest,
                    "the registry stored {name}:{reference} under another digest"
                );
            }
        }
    }
    Ok(())
}
