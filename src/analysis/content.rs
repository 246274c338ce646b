//! What an artifact says, read from its small bodies: the payload a cosign signature signs,
//! the predicate type and subjects of an in-toto attestation (and, when its predicate is a
//! vulnerability report or an SBOM, the counts by severity or the package count), the
//! package count of an SBOM, a Helm chart's name and version, a WASM module's target.
//!
//! Pure: [`blobs_to_read`] says which blobs of a manifest are worth a GET (never one above
//! [`MAX_DOCUMENT_BYTES`]: those are named and left unread), and [`summarize`] reads one
//! body. Discovery ([`crate::referrers`]) and `inspect` fetch; nothing here does I/O.
//!
//! Formats, from their specifications and the tools' documentation: cosign's simple signing
//! payload (`critical.image.docker-manifest-digest`, `optional`); DSSE envelopes (a base64
//! `payload` of type `application/vnd.in-toto+json`); in-toto statements v0.1 and v1
//! (`subject`, `predicateType`, `predicate`); SPDX 2.x JSON (`packages`) and tag-value
//! (`PackageName:` lines); CycloneDX JSON (`components`, nested ones counted); Syft JSON
//! (`artifacts`); Trivy's JSON report (`Results[].Vulnerabilities[].Severity`); Grype's
//! JSON (`matches[].vulnerability.severity`); cosign's vuln predicate (the scanner's report
//! under `scanner.result`); in-toto's vulns predicate v0.1 (`scanner.result[].severity[]`);
//! Helm's chart config (`Chart.yaml` as JSON); the CNCF WASM config (`os`, `architecture`,
//! `component.imports` / `exports`).

use std::collections::BTreeMap;

use base64::Engine;
use serde::Serialize;
use serde_json::Value;

use super::artifact::{ArtifactKind, SbomFormat};
use super::certificate::{self, Certificate};
use crate::registry::Digest;
use crate::registry::MAX_DOCUMENT_BYTES;
use crate::registry::manifest::{Descriptor, Manifest};

/// Blobs read per manifest at most: a cosign `.sig` tag gains a layer per signing, and a
/// summary needs a few, not hundreds.
pub const MAX_BLOBS_PER_MANIFEST: usize = 8;

/// cosign's layer annotations that carry a certificate (Fulcio's, or one given to `cosign
/// sign --certificate`) and its chain.
const CERTIFICATE_ANNOTATIONS: &[&str] = &[CERTIFICATE_ANNOTATION, "dev.sigstore.cosign/chain"];

/// The layer annotation holding the signing certificate (PEM).
const CERTIFICATE_ANNOTATION: &str = "dev.sigstore.cosign/certificate";

/// How to read a blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyRole {
    /// cosign's simple signing payload.
    SignaturePayload,
    /// A DSSE envelope holding an in-toto statement (cosign's `.att`).
    DsseEnvelope,
    /// A bare in-toto statement (Docker buildx attestations, `application/vnd.in-toto+json`).
    Statement,
    /// An SBOM document.
    Sbom(SbomFormat),
    /// A Helm chart's config (`Chart.yaml` as JSON).
    HelmConfig,
    /// A WASM module's config.
    WasmConfig,
}

/// A blob of a manifest worth reading for its summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WantedBlob {
    pub digest: Digest,
    pub size: u64,
    pub role: BodyRole,
    /// The layer's annotations (cosign keeps the signature and certificate there).
    pub annotations: BTreeMap<String, String>,
}

/// What one blob of an artifact says (or why it was not read).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "content", rename_all = "snake_case")]
pub enum Content {
    /// cosign's simple signing payload.
    SignedPayload {
        /// The manifest digest the signature signs (`critical.image.docker-manifest-digest`).
        signed_digest: Option<String>,
        /// `critical.identity.docker-reference`.
        #[serde(skip_serializing_if = "Option::is_none")]
        docker_reference: Option<String>,
        /// The payload's `optional` annotations (`cosign sign -a k=v`).
        annotations: BTreeMap<String, String>,
        /// The layer annotations holding a certificate and its chain, when there are any.
        certificate_annotations: Vec<String>,
        /// What the certificate (`dev.sigstore.cosign/certificate`) says, when there is one
        /// (boxed: most payloads have none, and every `Content` would carry its size).
        #[serde(skip_serializing_if = "Option::is_none")]
        certificate: Option<Box<Certificate>>,
    },
    /// An in-toto statement (from a DSSE envelope or bare).
    Statement {
        predicate_type: String,
        subjects: Vec<StatementSubject>,
        /// When the predicate is a vulnerability report (Trivy, Grype, cosign's vuln
        /// predicate, in-toto's vulns predicate).
        #[serde(skip_serializing_if = "Option::is_none")]
        vulnerabilities: Option<SeverityCounts>,
        /// When the predicate is an SBOM (SPDX, CycloneDX).
        #[serde(skip_serializing_if = "Option::is_none")]
        packages: Option<u64>,
    },
    Sbom {
        format: SbomFormat,
        packages: u64,
    },
    HelmChart {
        name: String,
        version: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        app_version: Option<String>,
    },
    WasmModule {
        os: Option<String>,
        architecture: Option<String>,
        /// A component's imported and exported interfaces (absent for a core module).
        #[serde(skip_serializing_if = "Option::is_none")]
        imports: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        exports: Option<u64>,
    },
    /// Above the size cap: not fetched.
    TooLarge {
        size: u64,
        cap: u64,
    },
    /// Fetched, but not in the format its media type promises.
    Unreadable {
        reason: String,
    },
    /// More layers than [`MAX_BLOBS_PER_MANIFEST`]: these were not read.
    NotRead {
        layers: u64,
    },
}

/// One blob's summary, as `referrers --json` and `inspect --json` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BlobSummary {
    pub digest: Digest,
    #[serde(flatten)]
    pub content: Content,
}

/// A subject of an in-toto statement: a name and its digests by algorithm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementSubject {
    pub name: String,
    pub digest: BTreeMap<String, String>,
}

/// Vulnerabilities by severity, in the words Trivy and Grype use (CVSS scores mapped by
/// CVSS v3's qualitative ratings).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SeverityCounts {
    pub critical: u64,
    pub high: u64,
    pub medium: u64,
    pub low: u64,
    pub negligible: u64,
    pub unknown: u64,
}

impl SeverityCounts {
    fn add(&mut self, severity: &str) {
        let slot = match severity.trim().to_ascii_lowercase().as_str() {
            "critical" => &mut self.critical,
            "high" | "important" => &mut self.high,
            "medium" | "moderate" => &mut self.medium,
            "low" => &mut self.low,
            "negligible" | "none" | "info" => &mut self.negligible,
            other => match other.parse::<f64>() {
                Ok(s) if s >= 9.0 => &mut self.critical,
                Ok(s) if s >= 7.0 => &mut self.high,
                Ok(s) if s >= 4.0 => &mut self.medium,
                Ok(s) if s > 0.0 => &mut self.low,
                Ok(_) => &mut self.negligible,
                Err(_) => &mut self.unknown,
            },
        };
        *slot = slot.saturating_add(1);
    }

    pub fn total(&self) -> u64 {
        [
            self.critical,
            self.high,
            self.medium,
            self.low,
            self.negligible,
            self.unknown,
        ]
        .iter()
        .fold(0u64, |a, b| a.saturating_add(*b))
    }

    /// The counts by name, most severe first.
    pub fn by_name(&self) -> [(&'static str, u64); 6] {
        [
            ("critical", self.critical),
            ("high", self.high),
            ("medium", self.medium),
            ("low", self.low),
            ("negligible", self.negligible),
            ("unknown", self.unknown),
        ]
    }
}

/// What the blobs of `manifest` (of kind `kind`) say, and which of them to fetch: the
/// wanted ones within the size cap, and the summaries of those left unread (too large, or
/// past [`MAX_BLOBS_PER_MANIFEST`]).
pub fn blobs_to_read(
    kind: &ArtifactKind,
    manifest: &Manifest,
) -> (Vec<WantedBlob>, Vec<BlobSummary>) {
    let Manifest::Image(m) = manifest else {
        return (Vec::new(), Vec::new());
    };
    let config_as = |role| vec![(&m.config, role)];
    let candidates: Vec<(&Descriptor, BodyRole)> = match kind {
        ArtifactKind::CosignSignature => layers_of(&m.layers, |t| {
            (t == "application/vnd.dev.cosign.simplesigning.v1+json")
                .then_some(BodyRole::SignaturePayload)
        }),
        ArtifactKind::Attestation { .. } => layers_of(&m.layers, |t| match t {
            "application/vnd.dsse.envelope.v1+json" => Some(BodyRole::DsseEnvelope),
            "application/vnd.in-toto+json" => Some(BodyRole::Statement),
            _ => None,
        }),
        ArtifactKind::Sbom { format } => {
            // The SBOM's own layer types first; an oras-style artifact (the type only in
            // `artifactType`) has its document as the first layer.
            let typed = layers_of(&m.layers, |t| {
                sbom_layer_type(t).then_some(BodyRole::Sbom(*format))
            });
            if typed.is_empty() {
                m.layers
                    .first()
                    .map(|l| vec![(l, BodyRole::Sbom(*format))])
                    .unwrap_or_default()
            } else {
                typed
            }
        }
        ArtifactKind::HelmChart
            if media(&m.config.media_type) == "application/vnd.cncf.helm.config.v1+json" =>
        {
            config_as(BodyRole::HelmConfig)
        }
        ArtifactKind::WasmModule
            if media(&m.config.media_type).starts_with("application/vnd.wasm.config.") =>
        {
            config_as(BodyRole::WasmConfig)
        }
        _ => Vec::new(),
    };
    let mut wanted = Vec::new();
    let mut skipped = Vec::new();
    let left = candidates.len().saturating_sub(MAX_BLOBS_PER_MANIFEST);
    for (d, role) in candidates.into_iter().take(MAX_BLOBS_PER_MANIFEST) {
        if d.size > MAX_DOCUMENT_BYTES {
            skipped.push(BlobSummary {
                digest: d.digest.clone(),
                content: Content::TooLarge {
                    size: d.size,
                    cap: MAX_DOCUMENT_BYTES,
                },
            });
        } else if !wanted.iter().any(|w: &WantedBlob| w.digest == d.digest) {
            wanted.push(WantedBlob {
                digest: d.digest.clone(),
                size: d.size,
                role,
                annotations: d.annotations.clone().unwrap_or_default(),
            });
        }
    }
    if left > 0 {
        if let Some(last) = m.layers.last() {
            skipped.push(BlobSummary {
                digest: last.digest.clone(),
                content: Content::NotRead {
                    layers: left as u64,
                },
            });
        }
    }
    (wanted, skipped)
}

fn media(t: &str) -> &str {
    t.split(';').next().unwrap_or("").trim()
}

fn layers_of(
    layers: &[Descriptor],
    role: impl Fn(&str) -> Option<BodyRole>,
) -> Vec<(&Descriptor, BodyRole)> {
    layers
        .iter()
        .filter_map(|l| role(media(&l.media_type)).map(|r| (l, r)))
        .collect()
}

fn sbom_layer_type(t: &str) -> bool {
    matches!(
        t,
        "application/spdx+json"
            | "text/spdx+json"
            | "text/spdx"
            | "application/vnd.cyclonedx+json"
            | "application/vnd.syft+json"
    )
}

/// What `body` (the blob `wanted` names) says.
pub fn summarize(wanted: &WantedBlob, body: &[u8]) -> BlobSummary {
    let content = match wanted.role {
        BodyRole::SignaturePayload => signed_payload(body, &wanted.annotations),
        BodyRole::DsseEnvelope => dsse_envelope(body),
        BodyRole::Statement => statement(body),
        BodyRole::Sbom(format) => sbom(format, body),
        BodyRole::HelmConfig => helm_config(body),
        BodyRole::WasmConfig => wasm_config(body),
    };
    BlobSummary {
        digest: wanted.digest.clone(),
        content,
    }
}

fn unreadable(reason: impl Into<String>) -> Content {
    Content::Unreadable {
        reason: reason.into(),
    }
}

fn json(body: &[u8], what: &str) -> Result<Value, Content> {
    serde_json::from_slice(body).map_err(|e| unreadable(format!("{what} is not JSON: {e}")))
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn string_at(v: &Value, pointer: &str) -> Option<String> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// cosign's simple signing payload.
pub fn signed_payload(body: &[u8], layer_annotations: &BTreeMap<String, String>) -> Content {
    let v = match json(body, "the signed payload") {
        Ok(v) => v,
        Err(c) => return c,
    };
    if !v.is_object() {
        return unreadable("the signed payload is not a JSON object");
    }
    let annotations = v
        .get("optional")
        .and_then(Value::as_object)
        .map(|o| o.iter().map(|(k, v)| (k.clone(), text(v))).collect())
        .unwrap_or_default();
    Content::SignedPayload {
        signed_digest: string_at(&v, "/critical/image/docker-manifest-digest"),
        docker_reference: string_at(&v, "/critical/identity/docker-reference"),
        annotations,
        certificate_annotations: CERTIFICATE_ANNOTATIONS
            .iter()
            .filter(|k| layer_annotations.get(**k).is_some_and(|v| !v.is_empty()))
            .map(|k| k.to_string())
            .collect(),
        certificate: layer_annotations
            .get(CERTIFICATE_ANNOTATION)
            .filter(|pem| !pem.trim().is_empty())
            .map(|pem| Box::new(certificate::read_pem(pem))),
    }
}

/// A DSSE envelope: its base64 payload is the in-toto statement.
pub fn dsse_envelope(body: &[u8]) -> Content {
    let v = match json(body, "the DSSE envelope") {
        Ok(v) => v,
        Err(c) => return c,
    };
    let Some(payload) = v.get("payload").and_then(Value::as_str) else {
        return unreadable("the DSSE envelope has no payload");
    };
    // DSSE says standard base64; some writers use the URL-safe alphabet.
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(payload)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(payload));
    match decoded {
        Ok(statement_bytes) => statement(&statement_bytes),
        Err(_) => unreadable("the DSSE payload is not base64"),
    }
}

/// An in-toto statement.
pub fn statement(body: &[u8]) -> Content {
    let v = match json(body, "the in-toto statement") {
        Ok(v) => v,
        Err(c) => return c,
    };
    let Some(predicate_type) = v.get("predicateType").and_then(Value::as_str) else {
        return unreadable("the in-toto statement names no predicate type");
    };
    let subjects = v
        .get("subject")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|s| StatementSubject {
                    name: s.get("name").map(text).unwrap_or_default(),
                    digest: s
                        .get("digest")
                        .and_then(Value::as_object)
                        .map(|o| o.iter().map(|(k, v)| (k.clone(), text(v))).collect())
                        .unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default();
    let predicate = v.get("predicate").unwrap_or(&Value::Null);
    Content::Statement {
        predicate_type: predicate_type.to_string(),
        subjects,
        vulnerabilities: vulnerabilities(predicate),
        packages: sbom_packages(predicate),
    }
}

/// Counts by severity of a vulnerability report: Trivy's or Grype's JSON, bare or under
/// `scanner.result` (cosign's vuln predicate), or in-toto's vulns predicate.
pub fn vulnerabilities(predicate: &Value) -> Option<SeverityCounts> {
    let report = predicate.pointer("/scanner/result");
    [report, Some(predicate)]
        .into_iter()
        .flatten()
        .find_map(|r| trivy(r).or_else(|| grype(r)).or_else(|| intoto_vulns(r)))
}

fn trivy(report: &Value) -> Option<SeverityCounts> {
    let results = report.get("Results")?.as_array()?;
    let mut counts = SeverityCounts::default();
    for r in results {
        for v in r
            .get("Vulnerabilities")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            counts.add(v.get("Severity").and_then(Value::as_str).unwrap_or(""));
        }
    }
    Some(counts)
}

fn grype(report: &Value) -> Option<SeverityCounts> {
    let matches = report.get("matches")?.as_array()?;
    let mut counts = SeverityCounts::default();
    for m in matches {
        counts.add(
            m.pointer("/vulnerability/severity")
                .and_then(Value::as_str)
                .unwrap_or(""),
        );
    }
    Some(counts)
}

/// in-toto's vulns predicate v0.1: `scanner.result` is a list of `{id, severity: [{method,
/// score}]}`; the first score names the severity (a word, or a CVSS score).
fn intoto_vulns(result: &Value) -> Option<SeverityCounts> {
    let list = result.as_array()?;
    let mut counts = SeverityCounts::default();
    for v in list {
        v.get("id")?;
        let score = v.pointer("/severity/0/score").map(text).unwrap_or_default();
        counts.add(&score);
    }
    Some(counts)
}

/// The package count of an SBOM document given as JSON: SPDX `packages`, CycloneDX
/// `components` (nested ones too), Syft `artifacts`.
fn sbom_packages(doc: &Value) -> Option<u64> {
    if let Some(p) = doc.get("packages").and_then(Value::as_array) {
        return Some(p.len() as u64);
    }
    if doc.get("bomFormat").is_some() || doc.get("components").is_some() {
        return Some(cyclonedx_components(doc));
    }
    doc.get("artifacts")
        .and_then(Value::as_array)
        .map(|a| a.len() as u64)
}

fn cyclonedx_components(v: &Value) -> u64 {
    v.get("components")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .fold(0u64, |n, c| {
            n.saturating_add(1).saturating_add(cyclonedx_components(c))
        })
}

/// An SBOM document.
pub fn sbom(format: SbomFormat, body: &[u8]) -> Content {
    // SPDX tag-value: one `PackageName:` line per package.
    let looks_like_json = body
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{');
    if !looks_like_json {
        if format == SbomFormat::Spdx {
            if let Ok(s) = std::str::from_utf8(body) {
                if s.lines().any(|l| l.starts_with("SPDXVersion:")) {
                    let packages = s
                        .lines()
                        .filter(|l| l.trim_start().starts_with("PackageName:"))
                        .count() as u64;
                    return Content::Sbom { format, packages };
                }
            }
        }
        return unreadable("the SBOM is not JSON (XML SBOMs are not counted)");
    }
    let v = match json(body, "the SBOM") {
        Ok(v) => v,
        Err(c) => return c,
    };
    match sbom_packages(&v) {
        Some(packages) => Content::Sbom { format, packages },
        None => unreadable("the SBOM lists no packages, components or artifacts"),
    }
}

/// A Helm chart's config: `Chart.yaml` as JSON.
pub fn helm_config(body: &[u8]) -> Content {
    let v = match json(body, "the chart config") {
        Ok(v) => v,
        Err(c) => return c,
    };
    match (string_at(&v, "/name"), string_at(&v, "/version")) {
        (Some(name), Some(version)) => Content::HelmChart {
            name,
            version,
            app_version: string_at(&v, "/appVersion"),
        },
        _ => unreadable("the chart config has no name or version"),
    }
}

/// A WASM module's config (CNCF TAG Runtime's `application/vnd.wasm.config.v0+json`).
pub fn wasm_config(body: &[u8]) -> Content {
    let v = match json(body, "the WASM config") {
        Ok(v) => v,
        Err(c) => return c,
    };
    let count = |p: &str| {
        v.pointer(p)
            .and_then(Value::as_array)
            .map(|a| a.len() as u64)
    };
    Content::WasmModule {
        os: string_at(&v, "/os"),
        architecture: string_at(&v, "/architecture"),
        imports: count("/component/imports"),
        exports: count("/component/exports"),
    }
}

#[cfg(test)]
#[path = "content_tests.rs"]
mod tests;
