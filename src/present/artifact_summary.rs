//! What an artifact's blobs say, as lines for people: `signs sha256:…`, `statement SLSA
//! provenance about app sha256:…`, `SBOM (SPDX): 3 packages`, `vulnerabilities: 1 critical,
//! 2 high`, `certificate subject dev@example.com; issuer …`. The CLI prints them under a referrer (and in `inspect`); the TUI shows the same.

use crate::analysis::artifact::{SbomFormat, predicate_name};
use crate::analysis::certificate::Certificate;
use crate::analysis::content::{BlobSummary, Content, SeverityCounts};
use crate::present::units::{count, size};

/// One line per blob summary.
pub fn summary_lines(summary: &[BlobSummary]) -> Vec<String> {
    summary.iter().map(line).collect()
}

fn sbom_name(format: SbomFormat) -> &'static str {
    match format {
        SbomFormat::Spdx => "SPDX",
        SbomFormat::CycloneDx => "CycloneDX",
        SbomFormat::Syft => "Syft",
    }
}

/// `1 critical, 2 high, 0 medium, ...` with the zero counts left out; `none` when empty.
pub fn severities(counts: &SeverityCounts) -> String {
    let parts: Vec<String> = counts
        .by_name()
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(name, n)| format!("{n} {name}"))
        .collect();
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(", ")
    }
}

/// `; certificate subject dev@example.com; issuer O=sigstore.dev, CN=sigstore-intermediate;
/// OIDC issuer https://…`: the signer's identity (SubjectAlternativeName's emails and URIs,
/// with the subject name in parentheses when it has one too), the issuer's name and
/// Fulcio's OIDC issuer; `; certificate unreadable (why)` when it cannot be read.
fn certificate_text(c: &Certificate) -> String {
    match c {
        Certificate::Read {
            subject,
            identities,
            issuer,
            oidc_issuer,
        } => {
            let who = match (identities.is_empty(), subject.is_empty()) {
                (false, true) => identities.join(", "),
                (false, false) => format!("{} ({subject})", identities.join(", ")),
                (true, false) => subject.clone(),
                (true, true) => "-".to_string(),
            };
            let issuer = if issuer.is_empty() { "-" } else { issuer };
            let mut text = format!("; certificate subject {who}; issuer {issuer}");
            if let Some(o) = oidc_issuer {
                text.push_str(&format!("; OIDC issuer {o}"));
            }
            text
        }
        Certificate::Unreadable { unreadable } => {
            format!("; certificate unreadable ({unreadable})")
        }
    }
}

/// The line for one blob.
pub fn line(b: &BlobSummary) -> String {
    match &b.content {
        Content::SignedPayload {
            signed_digest,
            docker_reference,
            annotations,
            certificate_annotations,
            certificate,
        } => {
            let mut text = match signed_digest {
                Some(d) => format!("signs {d}"),
                None => "signed payload names no digest".to_string(),
            };
            if let Some(r) = docker_reference {
                text.push_str(&format!(" ({r})"));
            }
            if !annotations.is_empty() {
                let pairs: Vec<String> = annotations
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                text.push_str(&format!("; annotations {}", pairs.join(", ")));
            }
            match certificate {
                Some(c) => {
                    text.push_str(&certificate_text(c));
                    // The chain itself is not read: the leaf says who signed.
                    let chain: Vec<&str> = certificate_annotations
                        .iter()
                        .map(String::as_str)
                        .filter(|a| *a != "dev.sigstore.cosign/certificate")
                        .collect();
                    if !chain.is_empty() {
                        text.push_str(&format!("; chain in {}", chain.join(", ")));
                    }
                }
                None if !certificate_annotations.is_empty() => text.push_str(&format!(
                    "; certificate in {}",
                    certificate_annotations.join(", ")
                )),
                None => {}
            }
            text
        }
        Content::Statement {
            predicate_type,
            subjects,
            vulnerabilities,
            packages,
        } => {
            let name = predicate_name(predicate_type);
            let mut text = if name == predicate_type {
                format!("statement {predicate_type}")
            } else {
                format!("statement {name} ({predicate_type})")
            };
            let about: Vec<String> = subjects
                .iter()
                .map(|s| {
                    let digests: Vec<String> = s
                        .digest
                        .iter()
                        .map(|(alg, hex)| format!("{alg}:{hex}"))
                        .collect();
                    format!("{} {}", s.name, digests.join(" "))
                        .trim()
                        .to_string()
                })
                .collect();
            if !about.is_empty() {
                text.push_str(&format!(" about {}", about.join(", ")));
            }
            if let Some(v) = vulnerabilities {
                text.push_str(&format!("; vulnerabilities: {}", severities(v)));
            }
            if let Some(n) = packages {
                text.push_str(&format!("; {}", count(*n as usize, "package")));
            }
            text
        }
        Content::Sbom { format, packages } => format!(
            "SBOM ({}): {}",
            sbom_name(*format),
            count(*packages as usize, "package")
        ),
        Content::HelmChart {
            name,
            version,
            app_version,
        } => match app_version {
            Some(app) => format!("chart {name} {version} (app {app})"),
            None => format!("chart {name} {version}"),
        },
        Content::WasmModule {
            os,
            architecture,
            imports,
            exports,
        } => {
            let mut text = format!(
                "WASM {}/{}",
                os.as_deref().unwrap_or("-"),
                architecture.as_deref().unwrap_or("-")
            );
            if let (Some(i), Some(e)) = (imports, exports) {
                text.push_str(&format!(
                    ", component with {} and {}",
                    count(*i as usize, "import"),
                    count(*e as usize, "export")
                ));
            }
            text
        }
        Content::TooLarge { size: bytes, cap } => format!(
            "blob {} of {} not read (above the {} cap)",
            b.digest,
            size(*bytes),
            size(*cap)
        ),
        Content::Unreadable { reason } => format!("blob {}: {reason}", b.digest),
        Content::NotRead { layers } => {
            format!("{} more not read", count(*layers as usize, "layer"))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::analysis::content::StatementSubject;
    use crate::registry::Digest;

    fn blob(content: Content) -> BlobSummary {
        BlobSummary {
            digest: Digest::sha256_of(b"x"),
            content,
        }
    }

    /// A certificate is network text: a hostile name (here an OSC 52 clipboard write and a
    /// screen clear in its CN and email) reaches the line as data, and the sanitizer every
    /// front end prints it through leaves no control character.
    #[test]
    fn a_hostile_certificate_name_is_data_that_sanitizes() {
        use rcgen::{CertificateParams, DnType, KeyPair, SanType};
        let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name
            .push(DnType::CommonName, "evil\u{1b}]52;c;aGk=\u{7}");
        p.subject_alt_names = vec![SanType::Rfc822Name(
            "a\u{1b}[2J@example.com".try_into().expect("IA5"),
        )];
        let key = KeyPair::generate().expect("a key");
        let pem = p.self_signed(&key).expect("a certificate").pem();
        let text = line(&blob(Content::SignedPayload {
            signed_digest: Some("sha256:ab".into()),
            docker_reference: None,
            annotations: BTreeMap::new(),
            certificate_annotations: vec!["dev.sigstore.cosign/certificate".into()],
            certificate: Some(Box::new(crate::analysis::certificate::read_pem(&pem))),
        }));
        assert!(text.contains("evil\u{1b}]52"), "{text:?}");
        let shown = crate::sanitize::sanitize(&text);
        assert!(!shown.chars().any(char::is_control), "{shown:?}");
        assert!(shown.contains("certificate subject a"), "{shown:?}");
    }

    #[test]
    fn each_content_reads_as_one_line() {
        let d = Digest::sha256_of(b"x");
        assert_eq!(
            line(&blob(Content::SignedPayload {
                signed_digest: Some("sha256:ab".into()),
                docker_reference: None,
                annotations: BTreeMap::from([("team".to_string(), "pay".to_string())]),
                certificate_annotations: vec!["dev.sigstore.cosign/certificate".into()],
                certificate: None,
            })),
            "signs sha256:ab; annotations team=pay; certificate in dev.sigstore.cosign/certificate"
        );
        let keyless = |certificate| {
            line(&blob(Content::SignedPayload {
                signed_digest: Some("sha256:ab".into()),
                docker_reference: None,
                annotations: BTreeMap::new(),
                certificate_annotations: vec![
                    "dev.sigstore.cosign/certificate".into(),
                    "dev.sigstore.cosign/chain".into(),
                ],
                certificate: Some(Box::new(certificate)),
            }))
        };
        assert_eq!(
            keyless(Certificate::Read {
                subject: String::new(),
                identities: vec!["dev@example.com".into()],
                issuer: "O=sigstore.dev, CN=sigstore-intermediate".into(),
                oidc_issuer: Some("https://accounts.google.com".into()),
            }),
            "signs sha256:ab; certificate subject dev@example.com; issuer O=sigstore.dev, CN=sigstore-intermediate; OIDC issuer https://accounts.google.com; chain in dev.sigstore.cosign/chain"
        );
        assert_eq!(
            keyless(Certificate::Read {
                subject: "CN=dev".into(),
                identities: vec!["dev@example.com".into(), "https://ci.example/job".into()],
                issuer: String::new(),
                oidc_issuer: None,
            }),
            "signs sha256:ab; certificate subject dev@example.com, https://ci.example/job (CN=dev); issuer -; chain in dev.sigstore.cosign/chain"
        );
        assert_eq!(
            keyless(Certificate::Unreadable {
                unreadable: "not PEM".into()
            }),
            "signs sha256:ab; certificate unreadable (not PEM); chain in dev.sigstore.cosign/chain"
        );
        assert_eq!(
            line(&blob(Content::Statement {
                predicate_type: "https://cosign.sigstore.dev/attestation/vuln/v1".into(),
                subjects: vec![StatementSubject {
                    name: "app".into(),
                    digest: BTreeMap::from([("sha256".to_string(), "ab".to_string())]),
                }],
                vulnerabilities: Some(SeverityCounts {
                    critical: 1,
                    high: 2,
                    ..Default::default()
                }),
                packages: None,
            })),
            "statement vulnerability scan (https://cosign.sigstore.dev/attestation/vuln/v1) about app sha256:ab; vulnerabilities: 1 critical, 2 high"
        );
        assert_eq!(
            line(&blob(Content::Sbom {
                format: SbomFormat::Spdx,
                packages: 1
            })),
            "SBOM (SPDX): 1 package"
        );
        assert_eq!(
            line(&blob(Content::HelmChart {
                name: "demo".into(),
                version: "0.1.0".into(),
                app_version: None
            })),
            "chart demo 0.1.0"
        );
        assert_eq!(
            line(&blob(Content::TooLarge {
                size: 5 * 1024 * 1024,
                cap: 4 * 1024 * 1024
            })),
            format!("blob {d} of 5 MiB not read (above the 4 MiB cap)")
        );
        assert_eq!(severities(&SeverityCounts::default()), "none");
    }
}
