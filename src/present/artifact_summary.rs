//! What an artifact's blobs say, as lines for people: `signs sha256:…`, `statement SLSA
//! provenance about app sha256:…`, `SBOM (SPDX): 3 packages`, `vulnerabilities: 1 critical,
//! 2 high`. The CLI prints them under a referrer (and in `inspect`); the TUI shows the same.

use crate::analysis::artifact::{SbomFormat, predicate_name};
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

/// The line for one blob.
pub fn line(b: &BlobSummary) -> String {
    match &b.content {
        Content::SignedPayload {
            signed_digest,
            docker_reference,
            annotations,
            certificate_annotations,
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
            if !certificate_annotations.is_empty() {
                text.push_str(&format!(
                    "; certificate in {}",
                    certificate_annotations.join(", ")
                ));
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

    #[test]
    fn each_content_reads_as_one_line() {
        let d = Digest::sha256_of(b"x");
        assert_eq!(
            line(&blob(Content::SignedPayload {
                signed_digest: Some("sha256:ab".into()),
                docker_reference: None,
                annotations: BTreeMap::from([("team".to_string(), "pay".to_string())]),
                certificate_annotations: vec!["dev.sigstore.cosign/certificate".into()],
            })),
            "signs sha256:ab; annotations team=pay; certificate in dev.sigstore.cosign/certificate"
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
