//! Pushing images through the project's own client, with the ground truth recorded.
//!
//! [`FixtureBuilder`] collects images ([`ImageSpec`]) and indexes per repository, computes the
//! ground truth ([`Fixture`]) from the bytes it made, and pushes them.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use futures::{StreamExt, TryStreamExt};
use regatta::registry::{Client, Digest, ManifestRef, RegistryError};
use serde_json::{Value, json};

use super::image::{Format, ImageSpec, Layer};
use super::truth::{Fixture, ManifestTruth, RepoTruth, repo, tag};

/// Requests in flight while pushing.
const PUSH_CONCURRENCY: usize = 16;

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
    blobs.insert(config_digest.clone(), config.clone());
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
            config_document: Some(config),
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
            config_document: None,
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

    /// Writes what pushing this into an empty registry leaves on disk straight into
    /// Distribution's filesystem storage under `root` (the registry stopped), and returns the
    /// ground truth. Thousands of images take seconds this way instead of minutes: for
    /// benchmarks, whose subject is reading. Tests push through the client; one test checks
    /// that a registry written this way answers exactly like a pushed one.
    ///
    /// The layout (Distribution 2.8, `registry/storage/paths.go`), under `docker/registry/v2`:
    /// `blobs/sha256/<hex[..2]>/<hex>/data` for every blob and manifest; per repository,
    /// `_layers/sha256/<hex>/link` for configs and layers, `_manifests/revisions/sha256/<hex>/link`
    /// for manifests, and `_manifests/tags/<tag>/current/link` plus
    /// `_manifests/tags/<tag>/index/sha256/<hex>/link` for tags; each link holds the digest.
    pub fn write_storage(&self, root: &std::path::Path) -> Fixture {
        let v2 = root.join("docker/registry/v2");
        let write = |path: std::path::PathBuf, bytes: &[u8]| {
            std::fs::create_dir_all(path.parent().expect("a parent dir")).expect("mkdir");
            std::fs::write(&path, bytes)
                .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        };
        let blob = |digest: &Digest, bytes: &[u8]| {
            let hex = digest.hex();
            let path = v2
                .join("blobs/sha256")
                .join(&hex[..2])
                .join(hex)
                .join("data");
            if !path.exists() {
                write(path, bytes);
            }
        };
        let plans = self.plans();
        for (name, entries) in &plans {
            let repo_dir = v2.join("repositories").join(name);
            let link = |dir: &str, digest: &Digest| {
                write(
                    repo_dir
                        .join(dir)
                        .join("sha256")
                        .join(digest.hex())
                        .join("link"),
                    digest.as_str().as_bytes(),
                );
            };
            for entry in entries {
                for built in &entry.manifests {
                    for (digest, bytes) in &built.blobs {
                        blob(digest, bytes);
                        link("_layers", digest);
                    }
                    blob(&built.truth.digest, &built.truth.document);
                    link("_manifests/revisions", &built.truth.digest);
                }
                for t in &entry.tags {
                    let tag_dir = format!("_manifests/tags/{t}");
                    write(
                        repo_dir.join(&tag_dir).join("current/link"),
                        entry.top.as_str().as_bytes(),
                    );
                    link(&format!("{tag_dir}/index"), &entry.top);
                }
            }
        }
        truth_of(&plans)
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
                let answer = client.mount_blob(&repo_name, digest, &repo(from)).await?;
                if !matches!(answer, regatta::registry::MountAnswer::Mounted) {
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
