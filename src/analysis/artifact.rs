//! What a manifest is: an image, a multi-platform index, or an artifact attached to one (a
//! signature, an attestation, an SBOM) or standing alone (a Helm chart, a WASM module).
//!
//! Pure: the kind is read from a fetched manifest's `artifactType`, config media type and
//! layer media types through one table, [`MEDIA_TYPE_KINDS`]. A new kind of artifact is one
//! more row there (and one more [`ArtifactKind`] variant when it needs a name of its own).
//!
//! Precedence, strongest first: the manifest's `artifactType` (OCI 1.1 says it names the
//! artifact), a config media type that is not an image config (Helm, WASM, old Notation),
//! the first layer whose media type is known (cosign keeps an ordinary image config and says
//! what it is only in its layers), then the image config (a plain image).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::registry::FetchedManifest;
use crate::registry::image::PlatformImage;
use crate::registry::manifest::{
    DOCKER_CONFIG, DOCKER_MANIFEST_LIST, Descriptor, Manifest, OCI_CONFIG, OCI_INDEX,
};

/// The OCI 1.1 empty descriptor's media type: a config that carries nothing.
pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";

/// What a manifest is, as people name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ArtifactKind {
    /// A runnable single-platform image.
    Image,
    /// A multi-platform image index (or Docker manifest list).
    Index,
    /// A cosign signature (simple signing payloads in its layers).
    CosignSignature,
    /// An in-toto attestation (cosign's DSSE envelopes, Docker build attestations), with its
    /// predicate type when the manifest names it.
    Attestation { predicate_type: Option<String> },
    /// A software bill of materials.
    Sbom { format: SbomFormat },
    /// A Notary Project (Notation) signature.
    NotationSignature,
    /// A Helm chart.
    HelmChart,
    /// A WebAssembly module.
    WasmModule,
    /// Any other artifact, named by its type (the `artifactType`, else its config's or first
    /// layer's media type).
    Other { artifact_type: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SbomFormat {
    Spdx,
    CycloneDx,
    Syft,
}

/// A kind without its data, as the table names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Row {
    Image,
    CosignSignature,
    Attestation,
    Sbom(SbomFormat),
    NotationSignature,
    HelmChart,
    WasmModule,
}

/// Media types (as `artifactType`, config type or layer type) and the kind each names.
/// Sources, by row group: cosign's `pkg/types` and its spec (simple signing, DSSE for
/// attestations, `cosign attach sbom` media types); in-toto's and DSSE's registered media
/// types; the Notary Project signature specification; Helm's OCI support (`helm push`);
/// the CNCF WASM OCI artifact layout and the older `wasm-to-oci` layer type; SPDX's and
/// CycloneDX's registered media types, and Syft's own.
const MEDIA_TYPE_KINDS: &[(&str, Row)] = &[
    (OCI_CONFIG, Row::Image),
    (DOCKER_CONFIG, Row::Image),
    // cosign
    (
        "application/vnd.dev.cosign.simplesigning.v1+json",
        Row::CosignSignature,
    ),
    (
        "application/vnd.dev.cosign.artifact.sig.v1+json",
        Row::CosignSignature,
    ),
    // in-toto attestations: DSSE envelopes (cosign) and bare statements (Docker buildx)
    ("application/vnd.dsse.envelope.v1+json", Row::Attestation),
    ("application/vnd.in-toto+json", Row::Attestation),
    // SBOMs
    ("application/spdx+json", Row::Sbom(SbomFormat::Spdx)),
    ("text/spdx", Row::Sbom(SbomFormat::Spdx)),
    ("text/spdx+json", Row::Sbom(SbomFormat::Spdx)),
    ("text/spdx+xml", Row::Sbom(SbomFormat::Spdx)),
    (
        "application/vnd.cyclonedx+json",
        Row::Sbom(SbomFormat::CycloneDx),
    ),
    (
        "application/vnd.cyclonedx+xml",
        Row::Sbom(SbomFormat::CycloneDx),
    ),
    ("application/vnd.syft+json", Row::Sbom(SbomFormat::Syft)),
    // Notary Project: the artifact type (and the config type of early Notation v1 RCs)
    (
        "application/vnd.cncf.notary.signature",
        Row::NotationSignature,
    ),
    // Helm
    ("application/vnd.cncf.helm.config.v1+json", Row::HelmChart),
    (
        "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
        Row::HelmChart,
    ),
    // WASM: the CNCF TAG Runtime layout (config v0, `application/wasm` layers, as wkg pushes
    // them), the older oci-distribution config v1, and wasm-to-oci's layer types
    ("application/vnd.wasm.config.v0+json", Row::WasmModule),
    ("application/vnd.wasm.config.v1+json", Row::WasmModule),
    ("application/wasm", Row::WasmModule),
    (
        "application/vnd.wasm.content.layer.v1+wasm",
        Row::WasmModule,
    ),
    (
        "application/vnd.module.wasm.content.layer.v1+wasm",
        Row::WasmModule,
    ),
];

/// Annotations naming an attestation's predicate type: cosign's (on the layer) and Docker
/// buildx's / the in-toto OCI convention's.
const PREDICATE_ANNOTATIONS: &[&str] = &["predicateType", "in-toto.io/predicate-type"];

/// Short names of well-known predicate types, by prefix.
const PREDICATE_NAMES: &[(&str, &str)] = &[
    ("https://slsa.dev/provenance/", "SLSA provenance"),
    ("https://spdx.dev/Document", "SPDX"),
    ("https://cyclonedx.org/bom", "CycloneDX"),
    (
        "https://cosign.sigstore.dev/attestation/vuln/",
        "vulnerability scan",
    ),
    ("https://in-toto.io/attestation/vulns", "vulnerability scan"),
    ("https://cosign.sigstore.dev/attestation/v1", "custom"),
];

fn row_of(media_type: &str) -> Option<Row> {
    let media_type = media_type.split(';').next().unwrap_or("").trim();
    MEDIA_TYPE_KINDS
        .iter()
        .find(|(m, _)| *m == media_type)
        .map(|(_, row)| *row)
}

/// The kind of a fetched manifest. `artifact_type` is the manifest's `artifactType`, or the
/// one a referrers listing gave for it when the manifest itself has none.
pub fn classify(fetched: &FetchedManifest, listed_artifact_type: Option<&str>) -> ArtifactKind {
    match &fetched.manifest {
        Manifest::Index(index) => {
            // An index is a multi-platform image unless it declares an artifact type.
            let artifact_type = index.artifact_type.as_deref().or(listed_artifact_type);
            match artifact_type.filter(|t| !t.is_empty()) {
                Some(t) => classify_parts(Some(t), None, &[], &fetched.media_type),
                None => ArtifactKind::Index,
            }
        }
        Manifest::Image(m) => {
            let artifact_type = m.artifact_type.as_deref().or(listed_artifact_type);
            classify_parts(
                artifact_type,
                Some(m.config.media_type.as_str()),
                &m.layers,
                &fetched.media_type,
            )
        }
    }
}

/// What `image` is, when it is not a container image: an artifact (a signature, an
/// attestation, an SBOM, ...) with a layer that is no tar archive. `None` for an image.
pub fn not_a_container_image(image: &PlatformImage) -> Option<String> {
    let all_tars = image
        .manifest
        .layers
        .iter()
        .all(|l| l.media_type.contains(".tar"));
    if all_tars {
        return None;
    }
    let kind = classify_parts(
        image.manifest.artifact_type.as_deref(),
        Some(image.manifest.config.media_type.as_str()),
        &image.manifest.layers,
        &image.media_type,
    );
    Some(match kind {
        ArtifactKind::Image | ArtifactKind::Index => "artifact".to_string(),
        other => other.label(),
    })
}

/// The kind from the parts of an image manifest (see the module doc for the precedence).
pub fn classify_parts(
    artifact_type: Option<&str>,
    config_type: Option<&str>,
    layers: &[Descriptor],
    manifest_type: &str,
) -> ArtifactKind {
    let artifact_type = artifact_type.filter(|t| !t.is_empty());
    let from_artifact = artifact_type.and_then(row_of);
    let from_config = config_type.and_then(row_of);
    let from_layers = layers.iter().find_map(|l| row_of(&l.media_type));
    let row = from_artifact
        .or(from_config.filter(|r| *r != Row::Image))
        .or(from_layers.filter(|r| *r != Row::Image))
        .or(from_config);
    match row {
        Some(row) => kind_of(row, layers),
        None => {
            if manifest_type == OCI_INDEX || manifest_type == DOCKER_MANIFEST_LIST {
                return ArtifactKind::Index;
            }
            let named = artifact_type
                .or(config_type.filter(|c| !c.is_empty() && *c != OCI_EMPTY))
                .or(layers.first().map(|l| l.media_type.as_str()))
                .unwrap_or(manifest_type);
            ArtifactKind::Other {
                artifact_type: named.to_string(),
            }
        }
    }
}

fn kind_of(row: Row, layers: &[Descriptor]) -> ArtifactKind {
    match row {
        Row::Image => ArtifactKind::Image,
        Row::CosignSignature => ArtifactKind::CosignSignature,
        Row::Attestation => ArtifactKind::Attestation {
            predicate_type: predicate_type(layers),
        },
        Row::Sbom(format) => ArtifactKind::Sbom { format },
        Row::NotationSignature => ArtifactKind::NotationSignature,
        Row::HelmChart => ArtifactKind::HelmChart,
        Row::WasmModule => ArtifactKind::WasmModule,
    }
}

/// The predicate type an attestation's layers name in their annotations, if any.
fn predicate_type(layers: &[Descriptor]) -> Option<String> {
    layers.iter().find_map(|l| {
        let annotations: &BTreeMap<String, String> = l.annotations.as_ref()?;
        PREDICATE_ANNOTATIONS
            .iter()
            .find_map(|key| annotations.get(*key))
            .filter(|v| !v.is_empty())
            .cloned()
    })
}

impl ArtifactKind {
    /// Whether this kind is attached to an image rather than being one.
    pub fn is_attached(&self) -> bool {
        matches!(
            self,
            ArtifactKind::CosignSignature
                | ArtifactKind::Attestation { .. }
                | ArtifactKind::Sbom { .. }
                | ArtifactKind::NotationSignature
        )
    }

    /// A short label for people: `cosign signature`, `attestation (SLSA provenance)`.
    pub fn label(&self) -> String {
        match self {
            ArtifactKind::Image => "image".into(),
            ArtifactKind::Index => "multi-platform index".into(),
            ArtifactKind::CosignSignature => "cosign signature".into(),
            ArtifactKind::Attestation { predicate_type } => match predicate_type {
                Some(p) => format!("attestation ({})", predicate_name(p)),
                None => "attestation".into(),
            },
            ArtifactKind::Sbom { format } => format!(
                "SBOM ({})",
                match format {
                    SbomFormat::Spdx => "SPDX",
                    SbomFormat::CycloneDx => "CycloneDX",
                    SbomFormat::Syft => "Syft",
                }
            ),
            ArtifactKind::NotationSignature => "Notation signature".into(),
            ArtifactKind::HelmChart => "Helm chart".into(),
            ArtifactKind::WasmModule => "WASM module".into(),
            ArtifactKind::Other { artifact_type } => format!("artifact ({artifact_type})"),
        }
    }
}

/// A well-known predicate type's short name, or the type itself.
pub fn predicate_name(predicate_type: &str) -> &str {
    PREDICATE_NAMES
        .iter()
        .find(|(prefix, _)| predicate_type.starts_with(prefix))
        .map(|(_, name)| *name)
        .unwrap_or(predicate_type)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::manifest::{DOCKER_MANIFEST, OCI_MANIFEST};
    use crate::registry::{Digest, FetchedManifest};

    const LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

    fn layer(media_type: &str, annotations: &[(&str, &str)]) -> Descriptor {
        Descriptor {
            media_type: media_type.into(),
            digest: Digest::sha256_of(media_type.as_bytes()),
            size: 1,
            platform: None,
            annotations: (!annotations.is_empty()).then(|| {
                annotations
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            }),
        }
    }

    #[test]
    fn the_table_names_every_kind() {
        let slsa = [("predicateType", "https://slsa.dev/provenance/v0.2")];
        let buildx = [("in-toto.io/predicate-type", "https://spdx.dev/Document")];
        // (artifactType, config type, layers, expected label)
        let cases: Vec<(Option<&str>, &str, Vec<Descriptor>, &str)> = vec![
            (None, OCI_CONFIG, vec![layer(LAYER, &[])], "image"),
            (None, DOCKER_CONFIG, vec![layer(LAYER, &[])], "image"),
            // cosign: an ordinary image config, simple signing layers
            (
                None,
                OCI_CONFIG,
                vec![layer(
                    "application/vnd.dev.cosign.simplesigning.v1+json",
                    &[],
                )],
                "cosign signature",
            ),
            (
                None,
                OCI_CONFIG,
                vec![layer("application/vnd.dsse.envelope.v1+json", &slsa)],
                "attestation (SLSA provenance)",
            ),
            (
                None,
                OCI_CONFIG,
                vec![layer("application/vnd.dsse.envelope.v1+json", &[])],
                "attestation",
            ),
            (
                None,
                "application/vnd.oci.image.config.v1+json",
                vec![layer("application/vnd.in-toto+json", &buildx)],
                "attestation (SPDX)",
            ),
            // cosign attach sbom
            (
                None,
                OCI_CONFIG,
                vec![layer("text/spdx+json", &[])],
                "SBOM (SPDX)",
            ),
            // oras attach --artifact-type
            (
                Some("application/spdx+json"),
                OCI_EMPTY,
                vec![layer("application/json", &[])],
                "SBOM (SPDX)",
            ),
            (
                Some("application/vnd.cyclonedx+json"),
                OCI_EMPTY,
                vec![],
                "SBOM (CycloneDX)",
            ),
            (
                Some("application/vnd.cncf.notary.signature"),
                OCI_EMPTY,
                vec![layer("application/jose+json", &[])],
                "Notation signature",
            ),
            // Notation v1.0.0-rc: the type was in the config
            (
                None,
                "application/vnd.cncf.notary.signature",
                vec![layer("application/cose", &[])],
                "Notation signature",
            ),
            (
                None,
                "application/vnd.cncf.helm.config.v1+json",
                vec![layer(
                    "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
                    &[],
                )],
                "Helm chart",
            ),
            (
                None,
                "application/vnd.wasm.config.v0+json",
                vec![layer("application/vnd.wasm.content.layer.v1+wasm", &[])],
                "WASM module",
            ),
            (
                None,
                OCI_CONFIG,
                vec![layer(
                    "application/vnd.module.wasm.content.layer.v1+wasm",
                    &[],
                )],
                "WASM module",
            ),
            // As wkg pushes a component: the CNCF config and an `application/wasm` layer.
            (
                None,
                "application/vnd.wasm.config.v0+json",
                vec![layer("application/wasm", &[])],
                "WASM module",
            ),
            (
                None,
                OCI_CONFIG,
                vec![layer("application/wasm", &[])],
                "WASM module",
            ),
            (
                None,
                "application/vnd.wasm.config.v1+json",
                vec![layer("application/vnd.wasm.content.layer.v1+wasm", &[])],
                "WASM module",
            ),
            // Unknown types are shown as they are
            (
                Some("application/vnd.example.report+json"),
                OCI_EMPTY,
                vec![],
                "artifact (application/vnd.example.report+json)",
            ),
            (
                None,
                "application/vnd.example.config+json",
                vec![],
                "artifact (application/vnd.example.config+json)",
            ),
            (
                None,
                OCI_EMPTY,
                vec![layer("application/vnd.example.thing", &[])],
                "artifact (application/vnd.example.thing)",
            ),
        ];
        for (artifact_type, config, layers, expected) in cases {
            let kind = classify_parts(artifact_type, Some(config), &layers, OCI_MANIFEST);
            assert_eq!(
                kind.label(),
                expected,
                "artifactType {artifact_type:?}, config {config}, layers {layers:?}"
            );
        }
    }

    #[test]
    fn artifact_type_wins_over_layers_and_config() {
        // A signature whose layer happens to be an SPDX document is still a signature.
        let kind = classify_parts(
            Some("application/vnd.cncf.notary.signature"),
            Some("application/vnd.cncf.helm.config.v1+json"),
            &[layer("application/spdx+json", &[])],
            OCI_MANIFEST,
        );
        assert_eq!(kind, ArtifactKind::NotationSignature);
        assert!(kind.is_attached());
        assert!(!ArtifactKind::HelmChart.is_attached());
    }

    #[test]
    fn media_type_parameters_are_ignored() {
        let kind = classify_parts(
            Some("application/spdx+json; charset=utf-8"),
            None,
            &[],
            OCI_MANIFEST,
        );
        assert_eq!(
            kind,
            ArtifactKind::Sbom {
                format: SbomFormat::Spdx
            }
        );
    }

    #[test]
    fn fetched_indexes_and_images() {
        let index = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#;
        let fetched = FetchedManifest::from_bytes("x", index.to_vec(), "", None).unwrap();
        assert_eq!(classify(&fetched, None), ArtifactKind::Index);
        // An index that a referrers listing says is an SBOM
        assert_eq!(
            classify(&fetched, Some("application/vnd.cyclonedx+json")).label(),
            "SBOM (CycloneDX)"
        );
        let d = Digest::sha256_of(b"c");
        let image = format!(
            r#"{{"schemaVersion":2,"mediaType":"{DOCKER_MANIFEST}","config":{{"mediaType":"{DOCKER_CONFIG}","digest":"{d}","size":2}},"layers":[]}}"#
        );
        let fetched = FetchedManifest::from_bytes("x", image.into_bytes(), "", None).unwrap();
        assert_eq!(classify(&fetched, None), ArtifactKind::Image);
    }

    #[test]
    fn predicate_names() {
        assert_eq!(
            predicate_name("https://slsa.dev/provenance/v1"),
            "SLSA provenance"
        );
        assert_eq!(
            predicate_name("https://cosign.sigstore.dev/attestation/vuln/v1"),
            "vulnerability scan"
        );
        assert_eq!(
            predicate_name("https://example.com/p"),
            "https://example.com/p"
        );
    }
}
