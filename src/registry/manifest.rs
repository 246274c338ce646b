//! Manifest, index and image-config documents, parsed leniently.
//!
//! Our own small serde types rather than a spec crate's: registries in the wild send unknown
//! fields, vendor media types and `null` lists, and one strict field must not make a whole
//! repository unreadable.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::reference::Digest;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";
pub const DOCKER_SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";

/// Indexes nested inside indexes (legal in OCI) are followed this deep; a deeper one is a
/// failure of its image, never an image of 0 bytes.
pub const MAX_INDEX_DEPTH: usize = 8;
/// An index listing more manifests than this is not read (real ones list a few dozen,
/// attestations included); the bound keeps memory and requests bounded under a lying index.
pub const MAX_INDEX_CHILDREN: usize = 1_000;
/// A manifest listing more layers than this is not read (Docker stops at 127).
pub const MAX_LAYERS: usize = 1_000;

/// The most bytes regatta takes a registry's word for, for one blob and for one image:
/// 2^53 bytes (8 PiB). No image comes near it, and it is the largest integer a JSON reader
/// using doubles (JavaScript, jq) keeps exact, so every number in `--json` stays exact.
pub const MAX_PLAUSIBLE_BYTES: u64 = 1 << 53;

/// Why a manifest's numbers are not believed. Each is one sentence about the manifest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Implausible {
    #[error(
        "its descriptor of {digest} claims {size} bytes, more than regatta believes of one blob (2^53 bytes, 8 PiB)"
    )]
    BlobTooLarge { digest: Digest, size: u64 },
    #[error("its config and layer sizes add up past 2^64 bytes (the sum overflows)")]
    Overflow,
    #[error(
        "its config and layers add up to {total} bytes, more than regatta believes of one image (2^53 bytes, 8 PiB)"
    )]
    ImageTooLarge { total: u64 },
    #[error("it lists {count} layers; regatta reads at most {MAX_LAYERS}")]
    TooManyLayers { count: usize },
    #[error("the index lists {count} manifests; regatta reads at most {MAX_INDEX_CHILDREN}")]
    TooManyChildren { count: usize },
}

/// Checks what a manifest says before any of its numbers are used: every size and their sum
/// within [`MAX_PLAUSIBLE_BYTES`], and the lists within regatta's bounds. Returns the image's
/// `size` (0 for an index: its size is its platforms').
pub fn check_manifest(manifest: &Manifest) -> Result<u64, Implausible> {
    match manifest {
        Manifest::Index(index) => {
            if index.manifests.len() > MAX_INDEX_CHILDREN {
                return Err(Implausible::TooManyChildren {
                    count: index.manifests.len(),
                });
            }
            for d in &index.manifests {
                if d.size > MAX_PLAUSIBLE_BYTES {
                    return Err(Implausible::BlobTooLarge {
                        digest: d.digest.clone(),
                        size: d.size,
                    });
                }
            }
            Ok(0)
        }
        Manifest::Image(m) => {
            if m.layers.len() > MAX_LAYERS {
                return Err(Implausible::TooManyLayers {
                    count: m.layers.len(),
                });
            }
            let mut blobs = BTreeMap::new();
            blobs.insert(&m.config.digest, m.config.size);
            for l in &m.layers {
                blobs.insert(&l.digest, l.size);
            }
            for (digest, &size) in &blobs {
                if size > MAX_PLAUSIBLE_BYTES {
                    return Err(Implausible::BlobTooLarge {
                        digest: (*digest).clone(),
                        size,
                    });
                }
            }
            let total = blobs
                .values()
                .try_fold(0u64, |a, &b| a.checked_add(b))
                .ok_or(Implausible::Overflow)?;
            if total > MAX_PLAUSIBLE_BYTES {
                return Err(Implausible::ImageTooLarge { total });
            }
            Ok(total)
        }
    }
}

/// The `Accept` header for manifest requests: every type we understand.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.docker.distribution.manifest.v2+json";

/// A content descriptor as manifests and indexes carry them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    #[serde(default)]
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Platform {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(
        default,
        rename = "os.version",
        skip_serializing_if = "Option::is_none"
    )]
    pub os_version: Option<String>,
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// A single-platform image manifest (OCI or Docker schema 2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    pub config: Descriptor,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// A multi-platform index (OCI image index or Docker manifest list).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageIndex {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub manifests: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// A parsed manifest document.
// Unboxed on purpose: manifests are held a few at a time, and `Manifest::Image(m)` patterns
// read better than boxes at every match.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Manifest {
    Image(ImageManifest),
    Index(ImageIndex),
}

impl Manifest {
    pub fn is_index(&self) -> bool {
        matches!(self, Manifest::Index(_))
    }
}

/// Why a manifest body could not be understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestParseError {
    Schema1,
    UnsupportedMediaType(String),
    Malformed(String),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Probe {
    #[serde(default)]
    schema_version: Option<u32>,
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Option<serde_json::Value>,
    #[serde(default)]
    config: Option<serde_json::Value>,
}

/// Parses a manifest body. `content_type` is the response's `Content-Type` (may be empty);
/// the body's own `mediaType` wins when present, and the shape decides when neither is given.
pub fn parse_manifest(body: &[u8], content_type: &str) -> Result<Manifest, ManifestParseError> {
    let content_type = content_type.split(';').next().unwrap_or("").trim();
    if content_type == DOCKER_SCHEMA1 || content_type == DOCKER_SCHEMA1_SIGNED {
        return Err(ManifestParseError::Schema1);
    }
    let probe: Probe =
        serde_json::from_slice(body).map_err(|e| ManifestParseError::Malformed(e.to_string()))?;
    if probe.schema_version == Some(1) {
        return Err(ManifestParseError::Schema1);
    }
    let media_type = probe
        .media_type
        .clone()
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| content_type.to_string());
    let is_index = match media_type.as_str() {
        OCI_INDEX | DOCKER_MANIFEST_LIST => true,
        OCI_MANIFEST | DOCKER_MANIFEST => false,
        DOCKER_SCHEMA1 | DOCKER_SCHEMA1_SIGNED => return Err(ManifestParseError::Schema1),
        // A config or a layer where a manifest should be (an index entry of the wrong type):
        // its shape could pass for a manifest's, its type says what it is.
        other
            if other.contains(".config.")
                || other.contains("container.image")
                || other.contains(".layer.") =>
        {
            return Err(ManifestParseError::UnsupportedMediaType(other.to_string()));
        }
        // Unknown or missing type: OCI allows an absent mediaType, so decide by shape.
        other => match (&probe.manifests, &probe.config) {
            (Some(_), None) => true,
            (None, Some(_)) => false,
            _ => return Err(ManifestParseError::UnsupportedMediaType(other.to_string())),
        },
    };
    let parsed = if is_index {
        serde_json::from_slice(body).map(Manifest::Index)
    } else {
        serde_json::from_slice(body).map(Manifest::Image)
    };
    parsed.map_err(|e| ManifestParseError::Malformed(e.to_string()))
}

/// The part of an image config that people read.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ImageConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(default)]
    pub config: RunConfig,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub history: Vec<HistoryEntry>,
    #[serde(default)]
    pub rootfs: RootFs,
}

impl ImageConfig {
    pub fn parse(body: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(body)
    }

    /// The `created` time, when it parses as RFC 3339.
    pub fn created_at(&self) -> Option<jiff::Timestamp> {
        self.created.as_deref().and_then(|c| c.parse().ok())
    }

    /// The `created` time when it is one to believe (see [`believable_date`]); otherwise the
    /// sentence saying why not.
    pub fn believable_created(&self) -> Result<Option<jiff::Timestamp>, String> {
        believable_date(self.created.as_deref())
    }

    /// History entries that made a layer, in layer order (empty-layer steps skipped).
    pub fn layer_history(&self) -> Vec<&HistoryEntry> {
        self.history.iter().filter(|h| !h.empty_layer).collect()
    }
}

/// A config's `created` date when it is one to believe: RFC 3339, not before 1970, not more
/// than a day ahead of this machine's clock. Otherwise the sentence saying why not.
pub fn believable_date(created: Option<&str>) -> Result<Option<jiff::Timestamp>, String> {
    let Some(text) = created else {
        return Ok(None);
    };
    // Go's zero time: what go-containerregistry writes when nothing set a date, as in every
    // cosign signature and attestation config. It means "no date", not a date that lies.
    if text == "0001-01-01T00:00:00Z" {
        return Ok(None);
    }
    let shown = text;
    let Ok(t) = text.parse::<jiff::Timestamp>() else {
        // Past the end of what a timestamp holds (9999-12-31T23:59:59Z is): in the future.
        let year: Option<i32> = text.get(..4).and_then(|y| y.parse().ok());
        if year.is_some_and(|y| y >= 9999) {
            return Err(format!(
                "its created date {shown} is in the future; the image's age is unknown"
            ));
        }
        return Err(format!(
            "its created date {shown:?} is not an RFC 3339 time; the image's age is unknown"
        ));
    };
    if t.as_second() < 0 {
        return Err(format!(
            "its created date {shown} is before 1970; the image's age is unknown"
        ));
    }
    let tomorrow = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_hours(24))
        .unwrap_or(jiff::Timestamp::MAX);
    if t > tomorrow {
        return Err(format!(
            "its created date {shown} is in the future; the image's age is unknown"
        ));
    }
    Ok(Some(t))
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RunConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposed_ports: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub env: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct HistoryEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub empty_layer: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RootFs {
    #[serde(default, rename = "type")]
    pub fs_type: String,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub diff_ids: Vec<String>,
}

/// `"field": null` reads as an empty list (Distribution sends `"tags": null`, others do similar).
pub(crate) fn null_as_empty<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

    #[test]
    fn docker_and_oci_manifests_parse() {
        let body = format!(
            r#"{{"schemaVersion":2,"mediaType":"{DOCKER_MANIFEST}","config":{{"mediaType":"{DOCKER_CONFIG}","digest":"{D1}","size":7}},"layers":[{{"mediaType":"x","digest":"{D1}","size":5}}]}}"#
        );
        let Manifest::Image(m) = parse_manifest(body.as_bytes(), "").unwrap() else {
            panic!("expected an image manifest")
        };
        assert_eq!(m.layers.len(), 1);
        assert_eq!(m.config.size, 7);
    }

    #[test]
    fn index_without_media_type_is_detected_by_shape() {
        let body = format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"{D1}","size":9,"platform":{{"os":"linux","architecture":"arm64","variant":"v8"}}}}]}}"#
        );
        let Manifest::Index(i) = parse_manifest(body.as_bytes(), "application/json").unwrap()
        else {
            panic!("expected an index")
        };
        assert_eq!(
            i.manifests[0].platform.as_ref().unwrap().to_string(),
            "linux/arm64/v8"
        );
    }

    #[test]
    fn schema1_is_named_not_a_parse_failure() {
        let body = br#"{"schemaVersion":1,"name":"x","tag":"y","fsLayers":[]}"#;
        assert_eq!(parse_manifest(body, ""), Err(ManifestParseError::Schema1));
        assert_eq!(
            parse_manifest(b"{}", DOCKER_SCHEMA1_SIGNED),
            Err(ManifestParseError::Schema1)
        );
    }

    #[test]
    fn malformed_json_is_reported() {
        assert!(matches!(
            parse_manifest(b"{not json", ""),
            Err(ManifestParseError::Malformed(_))
        ));
    }

    #[test]
    fn dates_that_lie_are_named() {
        assert!(believable_date(None).unwrap().is_none());
        assert!(
            believable_date(Some("2024-05-01T10:00:00Z"))
                .unwrap()
                .is_some()
        );
        for future in ["9999-12-31T23:59:59Z", "9999-01-01T00:00:00Z"] {
            let e = believable_date(Some(future)).unwrap_err();
            assert!(e.contains("in the future"), "{e}");
        }
        let e = believable_date(Some("1969-07-20T20:17:00Z")).unwrap_err();
        assert!(e.contains("before 1970"), "{e}");
        let e = believable_date(Some("last Tuesday")).unwrap_err();
        assert!(e.contains("not an RFC 3339 time"), "{e}");
        // The reproducible-build epoch is a date (counted as unknown by the model).
        assert!(believable_date(Some("1970-01-01T00:00:00Z")).is_ok());
        // Go's zero time (cosign's signature configs) is no date; a day later is a lie.
        assert!(
            believable_date(Some("0001-01-01T00:00:00Z"))
                .unwrap()
                .is_none()
        );
        let e = believable_date(Some("0001-01-02T00:00:00Z")).unwrap_err();
        assert!(e.contains("before 1970"), "{e}");
    }

    #[test]
    fn config_with_nulls_parses() {
        let c = ImageConfig::parse(
            br#"{"architecture":"amd64","os":"linux","config":{"Env":null,"Labels":{"a":"b"}},"history":null,"rootfs":{"type":"layers","diff_ids":null}}"#,
        )
        .unwrap();
        assert!(c.config.env.is_empty());
        assert_eq!(c.config.labels.unwrap()["a"], "b");
    }
}
