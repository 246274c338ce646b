//! The SPDX 2.3 SBOM of an `acme/api` release, shaped like the one syft writes for an image:
//! the image as the described package, the Debian packages dpkg lists in it (for linux/amd64,
//! the platform a scan of a multi-platform image reads), and the application itself.

use anyhow::Result;
use serde::Serialize;

use super::base::Build;
use super::content::{Package, debian_packages};
use super::oci::{AMD64, Blob};

#[derive(Serialize)]
struct Document<'a> {
    #[serde(rename = "spdxVersion")]
    spdx_version: &'a str,
    #[serde(rename = "dataLicense")]
    data_license: &'a str,
    #[serde(rename = "SPDXID")]
    spdx_id: &'a str,
    name: String,
    #[serde(rename = "documentNamespace")]
    document_namespace: String,
    #[serde(rename = "creationInfo")]
    creation_info: CreationInfo<'a>,
    packages: Vec<SpdxPackage>,
    relationships: Vec<Relationship>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CreationInfo<'a> {
    license_list_version: &'a str,
    creators: Vec<&'a str>,
    created: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SpdxPackage {
    name: String,
    #[serde(rename = "SPDXID")]
    spdx_id: String,
    version_info: String,
    supplier: String,
    download_location: &'static str,
    files_analyzed: bool,
    license_concluded: &'static str,
    license_declared: &'static str,
    copyright_text: &'static str,
    external_refs: Vec<ExternalRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    primary_package_purpose: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExternalRef {
    reference_category: &'static str,
    reference_type: &'static str,
    reference_locator: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Relationship {
    spdx_element_id: String,
    relationship_type: &'static str,
    related_spdx_element: String,
}

const NOASSERTION: &str = "NOASSERTION";

/// Percent-encodes what a purl version may not hold as is (`+` and `:` in Debian versions).
fn purl_escape(s: &str) -> String {
    s.replace('%', "%25")
        .replace('+', "%2B")
        .replace(':', "%3A")
}

/// An SPDX identifier: letters, digits, `.` and `-` only.
fn spdx_id(kind: &str, name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("SPDXRef-Package-{kind}-{clean}")
}

fn package(
    name: &str,
    id: String,
    version: &str,
    supplier: &str,
    purl: String,
    purpose: Option<&'static str>,
) -> SpdxPackage {
    SpdxPackage {
        name: name.to_string(),
        spdx_id: id,
        version_info: version.to_string(),
        supplier: supplier.to_string(),
        download_location: NOASSERTION,
        files_analyzed: false,
        license_concluded: NOASSERTION,
        license_declared: NOASSERTION,
        copyright_text: NOASSERTION,
        external_refs: vec![ExternalRef {
            reference_category: "PACKAGE-MANAGER",
            reference_type: "purl",
            reference_locator: purl,
        }],
        primary_package_purpose: purpose,
    }
}

/// The SBOM of `reference:tag` (manifest `digest`), written at `created`.
pub fn spdx_document(
    reference: &str,
    tag: &str,
    digest: &str,
    build: &Build,
    created: &str,
) -> Result<Blob> {
    let hex = digest.trim_start_matches("sha256:");
    let image_id = "SPDXRef-DocumentRoot-Image".to_string();
    let repository = reference.rsplit('/').next().unwrap_or(reference);
    let mut packages = vec![package(
        reference,
        image_id.clone(),
        digest,
        "Organization: Acme Corp",
        format!(
            "pkg:oci/{repository}@{}?arch=amd64&repository_url={}&tag={tag}",
            purl_escape(digest),
            reference
        ),
        Some("CONTAINER"),
    )];
    let distro = format!("debian-{}", build.release.version);
    let mut installed = debian_packages(build.release, AMD64);
    // The runtime layer's apt install (tzdata is in the base already).
    installed.push(Package {
        name: "ca-certificates",
        version: if build.release.codename == "trixie" {
            "20250419"
        } else {
            "20230311"
        },
        arch: "all",
        installed_kib: 391,
    });
    installed.sort_by_key(|p| p.name);
    for p in &installed {
        packages.push(package(
            p.name,
            spdx_id("deb", p.name),
            p.version,
            "Organization: Debian Developers <debian-devel@lists.debian.org>",
            format!(
                "pkg:deb/debian/{}@{}?arch={}&distro={distro}",
                p.name,
                purl_escape(p.version),
                p.arch
            ),
            None,
        ));
    }
    packages.push(package(
        "acme-api",
        spdx_id("binary", "acme-api"),
        build.version,
        "Organization: Acme Corp",
        format!("pkg:generic/acme-api@{}", purl_escape(build.version)),
        Some("APPLICATION"),
    ));
    let mut relationships = vec![Relationship {
        spdx_element_id: "SPDXRef-DOCUMENT".to_string(),
        relationship_type: "DESCRIBES",
        related_spdx_element: image_id.clone(),
    }];
    relationships.extend(packages.iter().skip(1).map(|p| Relationship {
        spdx_element_id: image_id.clone(),
        relationship_type: "CONTAINS",
        related_spdx_element: p.spdx_id.clone(),
    }));
    Blob::json(&Document {
        spdx_version: "SPDX-2.3",
        data_license: "CC0-1.0",
        spdx_id: "SPDXRef-DOCUMENT",
        name: format!("{reference}:{tag}"),
        document_namespace: format!("https://acme.example/spdx/acme/api/{hex}"),
        creation_info: CreationInfo {
            license_list_version: "3.25",
            creators: vec!["Organization: Acme Corp", "Tool: syft-1.18.1"],
            created,
        },
        packages,
        relationships,
    })
}
