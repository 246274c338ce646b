//! Pushing artifacts the way supply-chain tools push them to a registry without the OCI 1.1
//! referrers API: cosign's tag scheme (`sha256-<hex>.sig`, `.att`, `.sbom`), and manifests
//! with `subject` listed in the referrers fallback index `sha256-<hex>` (Notation, oras).
//! Each push returns the truth of what was pushed ([`Pushed`]).

use std::collections::BTreeMap;

use regatta::registry::manifest::{OCI_INDEX, OCI_MANIFEST};
use regatta::registry::{Client, Digest, ManifestRef, RepoName, Tag};
use serde_json::{Value, json};

/// The OCI 1.1 empty descriptor's media type: an artifact's config that carries nothing.
pub const EMPTY: &str = "application/vnd.oci.empty.v1+json";

/// One artifact manifest as pushed: its digest and bytes, and the blobs it references.
#[derive(Debug, Clone)]
pub struct Pushed {
    pub digest: Digest,
    pub document: Vec<u8>,
    pub blobs: BTreeMap<Digest, u64>,
}

impl Pushed {
    /// Manifest plus distinct blobs: what the tree must report as the referrer's size.
    pub fn size(&self) -> u64 {
        self.document.len() as u64 + self.blobs.values().sum::<u64>()
    }
}

/// What an artifact manifest holds.
pub struct Artifact<'a> {
    pub artifact_type: Option<&'a str>,
    pub config_type: &'a str,
    pub config: &'a [u8],
    /// (media type, bytes, layer annotations)
    pub layers: Vec<(&'a str, Vec<u8>, Value)>,
    pub subject: Option<&'a Pushed>,
    pub annotations: Value,
}

pub async fn push_artifact(
    client: &Client,
    repo_name: &str,
    tag: Option<&str>,
    a: Artifact<'_>,
) -> Pushed {
    let r = RepoName::parse(repo_name).expect("repo name");
    let mut blobs = BTreeMap::new();
    let config_digest = client
        .upload_blob(&r, a.config.to_vec())
        .await
        .expect("upload the config");
    blobs.insert(config_digest.clone(), a.config.len() as u64);
    let mut layers = Vec::new();
    for (media_type, bytes, annotations) in &a.layers {
        let d = client
            .upload_blob(&r, bytes.clone())
            .await
            .expect("upload a layer");
        blobs.insert(d.clone(), bytes.len() as u64);
        layers.push(json!({"mediaType": media_type, "digest": d, "size": bytes.len(), "annotations": annotations}));
    }
    let mut manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": a.config_type, "digest": config_digest, "size": a.config.len()},
        "layers": layers,
        "annotations": a.annotations,
    });
    if let Some(t) = a.artifact_type {
        manifest["artifactType"] = json!(t);
    }
    if let Some(s) = a.subject {
        manifest["subject"] =
            json!({"mediaType": OCI_MANIFEST, "digest": s.digest, "size": s.document.len()});
    }
    let document = serde_json::to_vec(&manifest).expect("json");
    let digest = Digest::sha256_of(&document);
    let reference = match tag {
        Some(t) => ManifestRef::Tag(Tag::parse(t).expect("tag")),
        None => ManifestRef::Digest(digest.clone()),
    };
    client
        .put_manifest(&r, &reference, OCI_MANIFEST, document.clone())
        .await
        .expect("push the manifest");
    Pushed {
        digest,
        document,
        blobs,
    }
}

/// A referrers index (the fallback tag's content) listing `referrers` with their types.
pub async fn push_fallback_index(
    client: &Client,
    repo_name: &str,
    subject: &Digest,
    referrers: &[(&Pushed, &str)],
) -> Pushed {
    let manifests: Vec<Value> = referrers
        .iter()
        .map(|(p, t)| json!({"mediaType": OCI_MANIFEST, "digest": p.digest, "size": p.document.len(), "artifactType": t}))
        .collect();
    let document = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": manifests,
    }))
    .expect("json");
    let tag = Tag::parse(&format!("sha256-{}", subject.hex())).expect("tag");
    client
        .put_manifest(
            &RepoName::parse(repo_name).expect("repo name"),
            &ManifestRef::Tag(tag),
            OCI_INDEX,
            document.clone(),
        )
        .await
        .expect("push the fallback index");
    Pushed {
        digest: Digest::sha256_of(&document),
        document,
        blobs: BTreeMap::new(),
    }
}

pub fn cosign_tag(subject: &Digest, suffix: &str) -> String {
    format!("sha256-{}.{suffix}", subject.hex())
}

/// A keyless-style signing certificate made by OpenSSL 3 (`openssl req -x509 -CA`): a leaf
/// `O=Example, CN=dev` with `subjectAltName=email:dev@example.com` and Fulcio's OIDC issuer
/// extension (1.3.6.1.4.1.57264.1.8, a UTF8String), issued by a CA named like Fulcio's
/// intermediate; and what openssl itself prints about the leaf (independent truth).
pub struct OpensslCertificate {
    /// The leaf, PEM, as cosign keeps it in `dev.sigstore.cosign/certificate`.
    pub pem: String,
    /// The CA, PEM, as cosign keeps it in `dev.sigstore.cosign/chain`.
    pub chain: String,
    /// `openssl x509 -noout -subject -nameopt oneline,-space_eq` after `subject=`.
    pub subject: String,
    /// The same for `-issuer`.
    pub issuer: String,
    /// The `email:` entry `openssl x509 -noout -ext subjectAltName` prints, without `email:`.
    pub identity: String,
    /// The OIDC issuer written into the extension.
    pub oidc_issuer: &'static str,
}

pub fn openssl_signing_certificate() -> OpensslCertificate {
    use std::process::Command;
    const OIDC_ISSUER: &str = "https://accounts.example.com";
    let dir = tempfile::tempdir().expect("a temp dir");
    let run = |args: &[&str]| -> String {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir.path())
            .output()
            .expect("run openssl (apt-get install -y openssl)");
        assert!(
            out.status.success(),
            "openssl {} failed:\n{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("openssl prints UTF-8")
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/O=sigstore.dev/CN=sigstore-intermediate",
    ]);
    run(&ca);
    let oidc = format!("1.3.6.1.4.1.57264.1.8=ASN1:UTF8String:{OIDC_ISSUER}");
    let mut leaf = vec!["req", "-x509", "-CA", "ca.pem", "-CAkey", "ca.key"];
    leaf.extend(ec);
    leaf.extend([
        "-keyout",
        "leaf.key",
        "-out",
        "leaf.pem",
        "-days",
        "2",
        "-subj",
        "/O=Example/CN=dev",
        "-addext",
        "subjectAltName=email:dev@example.com",
        "-addext",
        &oidc,
    ]);
    run(&leaf);
    let printed = run(&[
        "x509",
        "-in",
        "leaf.pem",
        "-noout",
        "-subject",
        "-issuer",
        "-ext",
        "subjectAltName",
        "-nameopt",
        "oneline,-space_eq",
    ]);
    let after = |prefix: &str| -> String {
        printed
            .lines()
            .find_map(|l| l.trim().strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} in openssl's output:\n{printed}"))
            .to_string()
    };
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).expect("a PEM file");
    OpensslCertificate {
        pem: read("leaf.pem"),
        chain: read("ca.pem"),
        subject: after("subject="),
        issuer: after("issuer="),
        identity: after("email:"),
        oidc_issuer: OIDC_ISSUER,
    }
}
