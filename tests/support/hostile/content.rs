//! What the hostile registry serves: a [`Builder`] of routes (blobs, manifests, tag lists)
//! with the truth of what it built, and the two honest repositories.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};

use serde_json::{Value, json};

use super::{
    MILLION, OCI_CONFIG, OCI_INDEX, OCI_LAYER, OCI_MANIFEST, Route, TagTruth, Truth, json_reply,
    reply, sha,
};

/// A descriptor of something served (or claimed).
#[derive(Debug, Clone)]
pub(super) struct Desc {
    pub(super) media_type: &'static str,
    pub(super) digest: String,
    pub(super) size: u64,
}

impl Desc {
    pub(super) fn json(&self) -> Value {
        json!({ "mediaType": self.media_type, "digest": self.digest, "size": self.size })
    }
}

/// An image built by [`Builder::image`]: its manifest and what it keeps alive.
#[derive(Debug, Clone)]
pub(super) struct Built {
    pub(super) manifest: Desc,
    pub(super) created: Option<String>,
    /// Config and layers, each once.
    pub(super) blobs: BTreeMap<String, u64>,
}

impl Built {
    pub(super) fn size(&self) -> u64 {
        self.blobs.values().sum()
    }
}

pub(super) const CREATED: &str = "2024-03-01T12:00:00Z";

pub(super) struct Builder {
    pub(super) routes: HashMap<String, Route>,
    pub(super) catalog: Vec<String>,
    pub(super) truth: Truth,
    /// `localhost:PORT` of the other listener.
    pub(super) other: String,
}

impl Builder {
    pub(super) fn repo(&mut self, name: &str) {
        if !self.catalog.iter().any(|c| c == name) {
            self.catalog.push(name.to_string());
        }
    }

    pub(super) fn tags(&mut self, repo: &str, tags: Value) {
        self.repo(repo);
        let body = serde_json::to_vec(&json!({ "name": repo, "tags": tags })).expect("json");
        self.routes.insert(
            format!("/v2/{repo}/tags/list"),
            Route::Fixed(json_reply(body)),
        );
    }

    pub(super) fn blob(&mut self, repo: &str, media_type: &'static str, bytes: Vec<u8>) -> Desc {
        let desc = Desc {
            media_type,
            digest: sha(&bytes),
            size: bytes.len() as u64,
        };
        self.routes.insert(
            format!("/v2/{repo}/blobs/{}", desc.digest),
            Route::Fixed(reply(200, "application/octet-stream", bytes)),
        );
        desc
    }

    /// Serves `body` as a manifest under its digest and `tags`, with an honest
    /// `Docker-Content-Digest`.
    pub(super) fn manifest(
        &mut self,
        repo: &str,
        tags: &[&str],
        media_type: &'static str,
        body: Vec<u8>,
    ) -> Desc {
        let desc = Desc {
            media_type,
            digest: sha(&body),
            size: body.len() as u64,
        };
        let mut r = reply(200, media_type, body);
        r.headers
            .push(("Docker-Content-Digest".into(), desc.digest.clone()));
        for reference in tags.iter().copied().chain([desc.digest.as_str()]) {
            self.routes.insert(
                format!("/v2/{repo}/manifests/{reference}"),
                Route::Fixed(r.clone()),
            );
        }
        desc
    }

    /// A config unique to `repo` (a label says whose), so no two repositories share one.
    pub(super) fn config_bytes(repo: &str, created: Option<&str>, arch: &str) -> Vec<u8> {
        let mut config = json!({
            "architecture": arch,
            "os": "linux",
            "config": { "Env": ["PATH=/usr/bin"], "Labels": { "repository": repo } },
            "rootfs": { "type": "layers", "diff_ids": [] },
        });
        if let Some(c) = created {
            config["created"] = json!(c);
        }
        serde_json::to_vec(&config).expect("json")
    }

    /// An image manifest over `config` and `layers` (blobs served in `repo`), under `tags`.
    pub(super) fn image_with(
        &mut self,
        repo: &str,
        tags: &[&str],
        config: Vec<u8>,
        created: Option<&str>,
        layers: &[Vec<u8>],
    ) -> Built {
        let config = self.blob(repo, OCI_CONFIG, config);
        let layers: Vec<Desc> = layers
            .iter()
            .map(|l| self.blob(repo, OCI_LAYER, l.clone()))
            .collect();
        let body = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": config.json(),
            "layers": layers.iter().map(Desc::json).collect::<Vec<_>>(),
        }))
        .expect("json");
        let manifest = self.manifest(repo, tags, OCI_MANIFEST, body);
        let mut blobs = BTreeMap::new();
        blobs.insert(config.digest.clone(), config.size);
        for l in &layers {
            blobs.insert(l.digest.clone(), l.size);
        }
        Built {
            manifest,
            created: created.map(str::to_string),
            blobs,
        }
    }

    pub(super) fn image(
        &mut self,
        repo: &str,
        tags: &[&str],
        arch: &str,
        layers: &[Vec<u8>],
    ) -> Built {
        let config = Self::config_bytes(repo, Some(CREATED), arch);
        self.image_with(repo, tags, config, Some(CREATED), layers)
    }

    /// An index over `children` (with platforms), under `tags`.
    pub(super) fn index(&mut self, repo: &str, tags: &[&str], children: &[(Desc, &str)]) -> Desc {
        let body = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": children.iter().map(|(d, arch)| {
                let mut j = d.json();
                j["platform"] = json!({ "os": "linux", "architecture": arch });
                j
            }).collect::<Vec<_>>(),
        }))
        .expect("json");
        self.manifest(repo, tags, OCI_INDEX, body)
    }

    /// Records that `tags` of `repo` are `image` (its manifest documents `docs` included).
    pub(super) fn record(
        &mut self,
        repo: &str,
        tags: &[&str],
        digest: &Desc,
        images: &[&Built],
        docs: &[&Desc],
    ) {
        let entry = self.truth.repos.entry(repo.to_string()).or_default();
        let mut blobs = BTreeMap::new();
        for image in images {
            blobs.extend(image.blobs.clone());
        }
        let size = blobs.values().sum();
        let created = images.iter().filter_map(|i| i.created.clone()).max();
        for t in tags {
            entry.tags.insert(
                t.to_string(),
                TagTruth {
                    digest: digest.digest.clone(),
                    size,
                    created: created.clone(),
                },
            );
        }
        entry.blobs.extend(blobs);
        entry.blobs.insert(digest.digest.clone(), digest.size);
        for image in images {
            entry
                .blobs
                .insert(image.manifest.digest.clone(), image.manifest.size);
        }
        for d in docs {
            entry.blobs.insert(d.digest.clone(), d.size);
        }
    }

    /// A simple image of its own under `tag` in `repo`, recorded in the truth.
    pub(super) fn plain(&mut self, repo: &str, tags: &[&str]) -> Built {
        let built = self.image(repo, tags, "amd64", &[layer(repo, "plain", 321)]);
        self.record(repo, tags, &built.manifest.clone(), &[&built], &[]);
        built
    }

    pub(super) fn honest(&mut self) {
        let base = layer("honest", "base", 2000);
        let a = "honest/alpha";
        let v1 = self.image(
            a,
            &["v1", "latest"],
            "amd64",
            &[base.clone(), layer(a, "1", 1500)],
        );
        let v2 = self.image(a, &["v2"], "amd64", &[base.clone(), layer(a, "2", 700)]);
        self.tags(a, json!(["v1", "latest", "v2"]));
        self.record(a, &["v1", "latest"], &v1.manifest.clone(), &[&v1], &[]);
        self.record(a, &["v2"], &v2.manifest.clone(), &[&v2], &[]);

        let b = "honest/beta";
        let amd = self.image(b, &[], "amd64", &[base, layer(b, "amd64", 900)]);
        let arm = self.image(
            b,
            &[],
            "arm64",
            &[layer(b, "base-arm", 1100), layer(b, "arm64", 400)],
        );
        let index = self.index(
            b,
            &["1.0", "stable"],
            &[
                (amd.manifest.clone(), "amd64"),
                (arm.manifest.clone(), "arm64"),
            ],
        );
        self.tags(b, json!(["1.0", "stable"]));
        self.record(b, &["1.0", "stable"], &index, &[&amd, &arm], &[]);
    }

    /// A manifest body written by hand (sizes and digests as the lie needs them).
    pub(super) fn raw_image(&mut self, repo: &str, config: &Desc, layers: Vec<Value>) {
        let body = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": config.json(),
            "layers": layers,
        }))
        .expect("json");
        self.manifest(repo, &["v1"], OCI_MANIFEST, body);
        self.tags(repo, json!(["v1"]));
    }

    pub(super) fn config_of(&mut self, repo: &str) -> Desc {
        self.blob(
            repo,
            OCI_CONFIG,
            Self::config_bytes(repo, Some(CREATED), "amd64"),
        )
    }
}

/// Deterministic layer bytes of `len`, unique to `repo` and `name`.
pub(super) fn layer(repo: &str, name: &str, len: usize) -> Vec<u8> {
    let seed = format!("{repo}/{name}:");
    seed.bytes().cycle().take(len).collect()
}

/// The million-tag list, built once per test binary: `{"name":...,"tags":["t0",...]}`.
pub(super) fn million_tags() -> Arc<Vec<u8>> {
    static BODY: OnceLock<Arc<Vec<u8>>> = OnceLock::new();
    BODY.get_or_init(|| {
        let mut body = String::with_capacity(MILLION * 11 + 64);
        body.push_str(r#"{"name":"lie/million-tags","tags":["#);
        for n in 0..MILLION {
            if n > 0 {
                body.push(',');
            }
            body.push_str(&format!("\"t{n}\""));
        }
        body.push_str("]}");
        Arc::new(body.into_bytes())
    })
    .clone()
}
