//! What `acme/api`'s release pipeline attaches to a release, pushed the way the tools that
//! make them push them to a registry without the OCI 1.1 referrers API (Distribution 2.8):
//!
//! - `cosign sign`: `sha256-<hex>.sig`, an image manifest with cosign's empty image config and
//!   one simple-signing payload layer carrying the signature in an annotation;
//! - `cosign attest`: `sha256-<hex>.att`, the same shape with a DSSE envelope around an in-toto
//!   statement (SLSA provenance v1), the predicate type in a layer annotation;
//! - `oras attach` of an SPDX 2.3 SBOM: an OCI 1.1 artifact manifest (`artifactType`, the empty
//!   config, `subject`) listed in the referrers fallback index, tag `sha256-<hex>`;
//! - `notation sign` of that SBOM: a Notary Project signature (JWS envelope) whose subject is
//!   the SBOM, listed in the SBOM's own fallback index.
//!
//! cosign's signatures are real Ed25519 signatures by a key derived from a fixed seed (so they
//! are reproducible; Ed25519 is deterministic), verifiable with its public key. The Notation
//! envelope's certificate and signature are stand-ins of the right shape, like the demo's
//! binaries: Notation signs with RSA or ECDSA, whose signatures are not reproducible.

use std::collections::BTreeMap;

use anyhow::{Result, anyhow};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::signature::{Ed25519KeyPair, KeyPair as _};
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use super::base::Build;
use super::content::payload;
use super::layer::epoch;
use super::oci::{Blob, Descriptor, ManifestDoc, OCI_CONFIG, OCI_MANIFEST, Repo, oci_index};
use super::sbom;
use super::{GIT, REGISTRY};

const SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
const DSSE_ENVELOPE: &str = "application/vnd.dsse.envelope.v1+json";
const IN_TOTO: &str = "application/vnd.in-toto+json";
const SPDX_JSON: &str = "application/spdx+json";
const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
const NOTATION_SIGNATURE: &str = "application/vnd.cncf.notary.signature";
const JWS: &str = "application/jose+json";
const NOTATION_PAYLOAD: &str = "application/vnd.cncf.notary.payload.v1+json";
const COSIGN_SIGNATURE: &str = "dev.cosignproject.cosign/signature";
const CREATED: &str = "org.opencontainers.image.created";
const TITLE: &str = "org.opencontainers.image.title";
const SLSA_PROVENANCE_V1: &str = "https://slsa.dev/provenance/v1";

/// The seed of the demo's cosign key (`cosign.key` of Acme's release pipeline).
const KEY_SEED_LABEL: &str = "acme release signing key";

/// The demo's cosign key pair: Ed25519 from a fixed seed.
pub fn signing_key() -> Result<Ed25519KeyPair> {
    let seed = Sha256::digest(KEY_SEED_LABEL.as_bytes());
    Ed25519KeyPair::from_seed_unchecked(&seed).map_err(|e| anyhow!("the demo key: {e}"))
}

/// The public key as cosign reads it (`cosign verify --key`): PEM of the SubjectPublicKeyInfo.
pub fn public_key_pem() -> Result<String> {
    // The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410), then the 32 key bytes.
    const PREFIX: [u8; 12] = [
        0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
    ];
    let mut der = PREFIX.to_vec();
    der.extend_from_slice(signing_key()?.public_key().as_ref());
    Ok(format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        STANDARD.encode(der)
    ))
}

/// `time` plus `seconds`, in RFC 3339.
fn later(time: &str, seconds: i64) -> Result<String> {
    let ts: jiff::Timestamp = time.parse()?;
    Ok((ts + jiff::SignedDuration::from_secs(seconds)).to_string())
}

/// The `{}` blob of the OCI 1.1 empty descriptor, and that descriptor as oras writes it.
fn empty_config() -> (Blob, Descriptor) {
    let blob = Blob::new(b"{}".to_vec());
    let mut d = blob.descriptor(OCI_EMPTY);
    d.data = Some(STANDARD.encode(&blob.bytes));
    (blob, d)
}

/// Everything attached to one release of `acme/api`, stored in `repo` and tagged.
pub fn attach_release(repo: &mut Repo, tag: &str, build: &Build) -> Result<()> {
    let subject = repo.tagged(tag)?;
    let hex = subject.digest.trim_start_matches("sha256:").to_string();
    let reference = format!("{REGISTRY}/acme/api");
    let key = signing_key()?;

    let signature = cosign_signature(&reference, &subject, &key)?;
    repo.store(&signature.blobs());
    repo.tag(&signature.descriptor(), &format!("sha256-{hex}.sig"))?;

    let attestation = cosign_attestation(&reference, &subject, build, &key)?;
    repo.store(&attestation.blobs());
    repo.tag(&attestation.descriptor(), &format!("sha256-{hex}.att"))?;

    let sbom_created = later(build.created, 180)?;
    let document = sbom::spdx_document(&reference, tag, &subject.digest, build, &sbom_created)?;
    let sbom = attached(
        SPDX_JSON,
        &subject,
        document.descriptor(SPDX_JSON),
        "sbom.spdx.json",
        &sbom_created,
    )?;
    repo.store(&sbom.blobs());
    repo.store(&[&document]);
    let sbom_descriptor = sbom.descriptor();

    let signed = later(build.created, 240)?;
    let envelope = notation_envelope(&sbom_descriptor, &signed)?;
    let notation = attached(
        NOTATION_SIGNATURE,
        &sbom_descriptor,
        envelope.descriptor(JWS),
        "",
        &signed,
    )?;
    repo.store(&notation.blobs());
    repo.store(&[&envelope]);

    // The fallback indexes, one per subject, as oras and notation keep them.
    let listing = |m: &Attached| Descriptor {
        artifact_type: Some(m.artifact_type.to_string()),
        annotations: m.annotations.clone(),
        ..m.descriptor()
    };
    let image_referrers = oci_index(vec![listing(&sbom)])?;
    repo.store(&[&image_referrers]);
    repo.tag(
        &image_referrers.descriptor(super::oci::OCI_INDEX),
        &format!("sha256-{hex}"),
    )?;
    let sbom_referrers = oci_index(vec![listing(&notation)])?;
    repo.store(&[&sbom_referrers]);
    let sbom_hex = sbom_descriptor.digest.trim_start_matches("sha256:");
    repo.tag(
        &sbom_referrers.descriptor(super::oci::OCI_INDEX),
        &format!("sha256-{sbom_hex}"),
    )?;
    Ok(())
}

/// A manifest and its config and layers (the layers' blobs are stored by the caller when they
/// are not in `blobs`).
struct Attached {
    manifest: Blob,
    artifact_type: &'static str,
    annotations: BTreeMap<String, String>,
    config: Blob,
    layers: Vec<Blob>,
}

impl Attached {
    fn descriptor(&self) -> Descriptor {
        self.manifest.descriptor(OCI_MANIFEST)
    }

    fn blobs(&self) -> Vec<&Blob> {
        let mut blobs = vec![&self.manifest, &self.config];
        blobs.extend(self.layers.iter());
        blobs
    }
}

// cosign --------------------------------------------------------------------------------------

#[derive(Serialize)]
struct SimpleSigning<'a> {
    critical: Critical<'a>,
    optional: Option<()>,
}

#[derive(Serialize)]
struct Critical<'a> {
    identity: Identity<'a>,
    image: SignedImage<'a>,
    #[serde(rename = "type")]
    kind: &'a str,
}

#[derive(Serialize)]
struct Identity<'a> {
    #[serde(rename = "docker-reference")]
    docker_reference: &'a str,
}

#[derive(Serialize)]
struct SignedImage<'a> {
    #[serde(rename = "docker-manifest-digest")]
    docker_manifest_digest: &'a str,
}

/// The image config cosign writes for its signature and attestation manifests
/// (go-containerregistry's empty image with the payloads appended: the payloads are not
/// compressed, so each `diff_id` is the layer's digest).
#[derive(Serialize)]
struct CosignConfig<'a> {
    architecture: &'a str,
    created: &'a str,
    history: Vec<CosignHistory<'a>>,
    os: &'a str,
    rootfs: CosignRootFs<'a>,
    config: BTreeMap<String, String>,
}

#[derive(Serialize)]
struct CosignHistory<'a> {
    created: &'a str,
}

#[derive(Serialize)]
struct CosignRootFs<'a> {
    #[serde(rename = "type")]
    fs_type: &'a str,
    diff_ids: Vec<&'a str>,
}

const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// A cosign-style manifest: cosign's config and one uncompressed payload layer.
fn cosign_manifest(layer: Blob, layer_descriptor: Descriptor) -> Result<Attached> {
    let config = Blob::json(&CosignConfig {
        architecture: "",
        created: ZERO_TIME,
        history: vec![CosignHistory { created: ZERO_TIME }],
        os: "",
        rootfs: CosignRootFs {
            fs_type: "layers",
            diff_ids: vec![&layer.digest],
        },
        config: BTreeMap::new(),
    })?;
    let manifest = Blob::json(&ManifestDoc {
        schema_version: 2,
        media_type: OCI_MANIFEST,
        artifact_type: None,
        config: config.descriptor(OCI_CONFIG),
        layers: vec![layer_descriptor],
        subject: None,
        annotations: &BTreeMap::new(),
    })?;
    Ok(Attached {
        manifest,
        artifact_type: "",
        annotations: BTreeMap::new(),
        config,
        layers: vec![layer],
    })
}

/// `cosign sign --key cosign.key --tlog-upload=false`: the simple-signing payload and its
/// signature (base64, in the layer's annotation).
fn cosign_signature(
    reference: &str,
    subject: &Descriptor,
    key: &Ed25519KeyPair,
) -> Result<Attached> {
    let payload = Blob::json(&SimpleSigning {
        critical: Critical {
            identity: Identity {
                docker_reference: reference,
            },
            image: SignedImage {
                docker_manifest_digest: &subject.digest,
            },
            kind: "cosign container image signature",
        },
        optional: None,
    })?;
    let signature = STANDARD.encode(key.sign(&payload.bytes));
    let mut layer = payload.descriptor(SIMPLE_SIGNING);
    layer
        .annotations
        .insert(COSIGN_SIGNATURE.to_string(), signature);
    cosign_manifest(payload, layer)
}

#[derive(Serialize)]
struct Envelope<'a> {
    #[serde(rename = "payloadType")]
    payload_type: &'a str,
    payload: String,
    signatures: Vec<EnvelopeSignature>,
}

#[derive(Serialize)]
struct EnvelopeSignature {
    keyid: String,
    sig: String,
}

#[derive(Serialize)]
struct Statement<'a> {
    #[serde(rename = "_type")]
    statement_type: &'a str,
    subject: Vec<StatementSubject<'a>>,
    #[serde(rename = "predicateType")]
    predicate_type: &'a str,
    predicate: Provenance,
}

#[derive(Serialize)]
struct StatementSubject<'a> {
    name: &'a str,
    digest: BTreeMap<&'a str, &'a str>,
}

/// SLSA provenance v1, the fields a CI system fills in.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Provenance {
    build_definition: serde_json::Value,
    run_details: serde_json::Value,
}

/// DSSE's pre-authentication encoding: what is actually signed.
fn pae(payload_type: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// `cosign attest --key cosign.key --type slsaprovenance1 --tlog-upload=false`: a DSSE
/// envelope around an in-toto statement, the predicate type in the layer's annotations.
fn cosign_attestation(
    reference: &str,
    subject: &Descriptor,
    build: &Build,
    key: &Ed25519KeyPair,
) -> Result<Attached> {
    let hex = subject.digest.trim_start_matches("sha256:");
    let revision = build.revision("api");
    let tag_ref = format!("refs/tags/v{}", build.version);
    let started = later(build.created, -420)?;
    let statement = serde_json::to_vec(&Statement {
        statement_type: "https://in-toto.io/Statement/v1",
        subject: vec![StatementSubject {
            name: reference,
            digest: BTreeMap::from([("sha256", hex)]),
        }],
        predicate_type: SLSA_PROVENANCE_V1,
        predicate: Provenance {
            build_definition: serde_json::json!({
                "buildType": "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1",
                "externalParameters": {
                    "workflow": {
                        "path": ".github/workflows/release.yml",
                        "ref": tag_ref,
                        "repository": format!("{GIT}/acme/api"),
                    },
                },
                "internalParameters": {
                    "github": { "event_name": "push", "runner_environment": "self-hosted" },
                },
                "resolvedDependencies": [{
                    "digest": { "gitCommit": revision },
                    "uri": format!("git+{GIT}/acme/api@{tag_ref}"),
                }],
            }),
            run_details: serde_json::json!({
                "builder": { "id": format!("{GIT}/acme/ci/.github/workflows/release.yml@refs/heads/main") },
                "metadata": {
                    "finishedOn": build.created,
                    "invocationId": format!("{GIT}/acme/api/actions/runs/{}", epoch(build.created)? % 100_000_000),
                    "startedOn": started,
                },
            }),
        },
    })?;
    let sig = STANDARD.encode(key.sign(&pae(IN_TOTO, &statement)));
    let envelope = Blob::json(&Envelope {
        payload_type: IN_TOTO,
        payload: STANDARD.encode(&statement),
        signatures: vec![EnvelopeSignature {
            keyid: String::new(),
            sig,
        }],
    })?;
    let mut layer = envelope.descriptor(DSSE_ENVELOPE);
    // cosign leaves the signature annotation empty: the signature is inside the envelope.
    layer
        .annotations
        .insert(COSIGN_SIGNATURE.to_string(), String::new());
    layer
        .annotations
        .insert("predicateType".to_string(), SLSA_PROVENANCE_V1.to_string());
    cosign_manifest(envelope, layer)
}

// OCI 1.1 artifacts ---------------------------------------------------------------------------

/// An OCI 1.1 artifact attached to `subject`, as oras and notation push it: `artifactType`, the
/// empty config, one layer (already described), the creation time. The layer blob is not in
/// the result's blobs: the caller stores it.
fn attached(
    artifact_type: &'static str,
    subject: &Descriptor,
    mut layer: Descriptor,
    title: &str,
    created: &str,
) -> Result<Attached> {
    let (config, config_descriptor) = empty_config();
    if !title.is_empty() {
        layer
            .annotations
            .insert(TITLE.to_string(), title.to_string());
    }
    let mut annotations = BTreeMap::from([(CREATED.to_string(), created.to_string())]);
    if artifact_type == NOTATION_SIGNATURE {
        annotations.insert(
            "io.cncf.notary.x509chain.thumbprint#S256".to_string(),
            format!("[\"{}\"]", super::content::hex_id("acme notation cert", 64)),
        );
    }
    let subject = Descriptor {
        annotations: BTreeMap::new(),
        artifact_type: None,
        platform: None,
        data: None,
        ..subject.clone()
    };
    let manifest = Blob::json(&ManifestDoc {
        schema_version: 2,
        media_type: OCI_MANIFEST,
        artifact_type: Some(artifact_type),
        config: config_descriptor,
        layers: vec![layer],
        subject: Some(subject),
        annotations: &annotations,
    })?;
    Ok(Attached {
        manifest,
        artifact_type,
        annotations,
        config,
        layers: Vec::new(),
    })
}

#[derive(Serialize)]
struct Jws {
    payload: String,
    protected: String,
    header: JwsHeader,
    signature: String,
}

#[derive(Serialize)]
struct JwsHeader {
    x5c: Vec<String>,
    #[serde(rename = "io.cncf.notary.signingAgent")]
    signing_agent: &'static str,
}

#[derive(Serialize)]
struct Protected<'a> {
    alg: &'a str,
    crit: [&'a str; 1],
    cty: &'a str,
    #[serde(rename = "io.cncf.notary.signingScheme")]
    signing_scheme: &'a str,
    #[serde(rename = "io.cncf.notary.signingTime")]
    signing_time: &'a str,
}

#[derive(Serialize)]
struct NotationPayload<'a> {
    #[serde(rename = "targetArtifact")]
    target_artifact: &'a Descriptor,
}

/// A Notary Project JWS envelope over `target` (stand-in certificate and signature).
fn notation_envelope(target: &Descriptor, signing_time: &str) -> Result<Blob> {
    let payload = serde_json::to_vec(&NotationPayload {
        target_artifact: target,
    })?;
    let protected = serde_json::to_vec(&Protected {
        alg: "PS256",
        crit: ["io.cncf.notary.signingScheme"],
        cty: NOTATION_PAYLOAD,
        signing_scheme: "notary.x509",
        signing_time,
    })?;
    let label = format!("notation {}", target.digest);
    Blob::json(&Jws {
        payload: URL_SAFE_NO_PAD.encode(payload),
        protected: URL_SAFE_NO_PAD.encode(protected),
        header: JwsHeader {
            x5c: vec![payload_line(&format!("{label} certificate"), 1100)],
            signing_agent: "notation-go/1.3.0",
        },
        signature: payload_line(&format!("{label} signature"), 342)
            .replace('+', "-")
            .replace('/', "_"),
    })
}

/// Seeded base64-alphabet text on one line.
fn payload_line(label: &str, bytes: usize) -> String {
    payload(label, bytes).replace('\n', "")
}
