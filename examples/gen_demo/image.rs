//! Image configs and manifests, built the way a Dockerfile runs: step by step.

use std::collections::BTreeMap;

use anyhow::Result;
use serde::Serialize;

use super::layer::Layer;
use super::oci::{Blob, Descriptor, Format, ManifestDoc, Platform};

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RunConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub exposed_ports: BTreeMap<String, Empty>,
    pub env: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub volumes: BTreeMap<String, Empty>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub working_dir: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
}

/// `{}`, the value of `ExposedPorts` and `Volumes` entries.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Empty {}

#[derive(Debug, Clone, Serialize)]
struct History {
    created: String,
    created_by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    empty_layer: bool,
}

#[derive(Serialize)]
struct ConfigDoc<'a> {
    created: &'a str,
    architecture: &'a str,
    os: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    variant: Option<&'a str>,
    config: &'a RunConfig,
    rootfs: RootFs,
    history: &'a [History],
}

#[derive(Serialize)]
struct RootFs {
    #[serde(rename = "type")]
    fs_type: &'static str,
    diff_ids: Vec<String>,
}

/// A Dockerfile, step by step: each step adds a history entry, and a step that adds a layer
/// adds it with its `diff_id`, so history and layers always match one to one.
#[derive(Debug, Clone)]
pub struct ImageBuilder {
    platform: Platform,
    now: String,
    comment: Option<String>,
    run: RunConfig,
    history: Vec<History>,
    layers: Vec<Layer>,
    annotations: BTreeMap<String, String>,
}

impl ImageBuilder {
    pub fn scratch(platform: Platform, created: &str) -> Self {
        Self {
            platform,
            now: created.to_string(),
            comment: None,
            run: RunConfig::default(),
            history: Vec::new(),
            layers: Vec::new(),
            annotations: BTreeMap::new(),
        }
    }

    /// `FROM base`: its layers, history and run config, none of its annotations.
    pub fn from(base: &Image, created: &str) -> Self {
        let mut builder = base.builder.clone();
        builder.now = created.to_string();
        builder.comment = Some("buildkit.dockerfile.v0".to_string());
        builder.annotations = BTreeMap::new();
        builder
    }

    /// The comment of the history entries that follow.
    pub fn comment(mut self, comment: &str) -> Self {
        self.comment = Some(comment.to_string());
        self
    }

    fn step(&mut self, created: String, created_by: String, empty_layer: bool) {
        self.history.push(History {
            created,
            created_by,
            comment: self.comment.clone(),
            empty_layer,
        });
    }

    fn meta(mut self, created_by: String) -> Self {
        self.step(self.now.clone(), created_by, true);
        self
    }

    /// A step that adds `layer` (dated when the layer was made: a cached step keeps its date).
    pub fn layer(mut self, created_by: &str, layer: &Layer) -> Self {
        self.step(layer.created.clone(), created_by.to_string(), false);
        self.layers.push(layer.clone());
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        let prefix = format!("{key}=");
        self.run.env.retain(|e| !e.starts_with(&prefix));
        self.run.env.push(format!("{key}={value}"));
        self.meta(format!("ENV {key}={value}"))
    }

    pub fn labels(mut self, labels: &[(&str, &str)]) -> Self {
        let mut line = String::from("LABEL");
        for (key, value) in labels {
            self.run.labels.insert(key.to_string(), value.to_string());
            line.push_str(&format!(" {key}={value}"));
        }
        self.meta(line)
    }

    pub fn workdir(mut self, dir: &str) -> Self {
        self.run.working_dir = dir.to_string();
        self.meta(format!("WORKDIR {dir}"))
    }

    pub fn user(mut self, user: &str) -> Self {
        self.run.user = Some(user.to_string());
        self.meta(format!("USER {user}"))
    }

    pub fn expose(mut self, ports: &[&str]) -> Self {
        for port in ports {
            self.run.exposed_ports.insert(port.to_string(), Empty {});
        }
        let list: Vec<String> = ports.iter().map(|p| format!("{p}:{{}}")).collect();
        self.meta(format!("EXPOSE map[{}]", list.join(" ")))
    }

    pub fn volume(mut self, path: &str) -> Self {
        self.run.volumes.insert(path.to_string(), Empty {});
        self.meta(format!("VOLUME [{path}]"))
    }

    pub fn stop_signal(mut self, signal: &str) -> Self {
        self.run.stop_signal = Some(signal.to_string());
        self.meta(format!("STOPSIGNAL {signal}"))
    }

    pub fn entrypoint(mut self, args: &[&str]) -> Self {
        self.run.entrypoint = Some(args.iter().map(ToString::to_string).collect());
        // A new ENTRYPOINT resets the inherited CMD, as Docker does.
        self.run.cmd = None;
        self.meta(format!("ENTRYPOINT {}", exec_form(args)))
    }

    pub fn cmd(mut self, args: &[&str]) -> Self {
        self.run.cmd = Some(args.iter().map(ToString::to_string).collect());
        self.meta(format!("CMD {}", exec_form(args)))
    }

    /// A manifest annotation (OCI only; Docker schema 2 has none).
    pub fn annotate(mut self, key: &str, value: &str) -> Self {
        self.annotations.insert(key.to_string(), value.to_string());
        self
    }

    pub fn build(self, format: Format) -> Result<Image> {
        let config = Blob::json(&ConfigDoc {
            created: &self.now,
            architecture: self.platform.arch,
            os: "linux",
            variant: self.platform.variant,
            config: &self.run,
            rootfs: RootFs {
                fs_type: "layers",
                diff_ids: self.layers.iter().map(|l| l.diff_id.clone()).collect(),
            },
            history: &self.history,
        })?;
        let no_annotations = BTreeMap::new();
        let manifest = Blob::json(&ManifestDoc {
            schema_version: 2,
            media_type: format.manifest(),
            artifact_type: None,
            config: config.descriptor(format.config()),
            layers: self
                .layers
                .iter()
                .map(|l| l.blob.descriptor(format.layer()))
                .collect(),
            subject: None,
            annotations: match format {
                Format::Oci => &self.annotations,
                Format::Docker => &no_annotations,
            },
        })?;
        Ok(Image {
            format,
            manifest,
            config,
            builder: self,
        })
    }
}

fn exec_form(args: &[&str]) -> String {
    let quoted: Vec<String> = args.iter().map(|a| format!("{a:?}")).collect();
    format!("[{}]", quoted.join(" "))
}

/// A single-platform image: manifest, config and layers.
#[derive(Debug, Clone)]
pub struct Image {
    format: Format,
    pub manifest: Blob,
    config: Blob,
    builder: ImageBuilder,
}

impl Image {
    pub fn platform(&self) -> Platform {
        self.builder.platform
    }

    pub fn descriptor(&self) -> Descriptor {
        self.manifest.descriptor(self.format.manifest())
    }

    pub fn blobs(&self) -> Vec<&Blob> {
        let mut blobs = vec![&self.manifest, &self.config];
        blobs.extend(self.builder.layers.iter().map(|l| &l.blob));
        blobs
    }
}
