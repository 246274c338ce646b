//! Deterministic synthetic images: layers that are real gzip'd tars with fixed mtimes and
//! owners (the same inputs give the same bytes, and digests, on every run), and image specs
//! whose configs carry `rootfs.diff_ids` = the sha256 of the uncompressed tars.

use std::collections::BTreeMap;
use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;
use regatta::registry::Digest;
use regatta::registry::manifest::{
    DOCKER_CONFIG, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_CONFIG, OCI_INDEX, OCI_MANIFEST,
};
use serde_json::{Value, json};

pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/// Every file in every layer has this mtime (2023-11-14), so tars are reproducible.
const FIXED_MTIME: u64 = 1_700_000_000;

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
        Self::from_tar(builder.into_inner().expect("finish an in-memory tar"))
    }

    /// A layer of a tar made elsewhere (by GNU tar, say), gzip'd here.
    pub fn from_tar(tar: Vec<u8>) -> Self {
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
    pub fn manifest_json(&self, format: Format, config: &[u8]) -> Vec<u8> {
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
