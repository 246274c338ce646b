//! Where a manifest's referrers (artifacts whose `subject` is that manifest) are written down:
//! the OCI 1.1 referrers API `GET /v2/R/referrers/DIGEST`, the referrers tag schema (a tag
//! `<alg>-<hex>` on an index listing them, the fallback for registries without the API) and
//! cosign's tag scheme (`sha256-<hex>.sig`, `.att`, `.sbom`). This file holds the endpoint and
//! the tag names; following them is [`crate::referrers`]' job.
//!
//! Trap: a registry may answer a manifest push with an `OCI-Subject` header and still have no
//! referrers endpoint. The header is never trusted; the endpoint is asked, and a 404 means
//! "no API here".

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::client::{Client, RequestKind};
use super::error::RegistryError;
use super::listing::Pages;
use super::manifest::{OCI_INDEX, null_as_empty};
use super::reference::{Digest, RepoName, Tag};

/// A descriptor as a referrers listing carries it: with the referrer's `artifactType` and
/// annotations (the listing copies them from the referrer's manifest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReferrerDescriptor {
    #[serde(default)]
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// An index as the referrers API and the fallback tag serve it.
#[derive(Debug, Clone, Deserialize)]
struct ReferrersIndex {
    #[serde(default, deserialize_with = "null_as_empty")]
    manifests: Vec<ReferrerDescriptor>,
}

/// The parts of any manifest that tie it to a subject. Read from the raw bytes, because the
/// index type of [`super::manifest`] does not carry them and a referrer may be an index.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubjectFields {
    #[serde(default)]
    pub artifact_type: Option<String>,
    #[serde(default)]
    pub subject: Option<SubjectDescriptor>,
    #[serde(default)]
    pub annotations: Option<BTreeMap<String, String>>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub manifests: Vec<ReferrerDescriptor>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SubjectDescriptor {
    pub digest: Digest,
}

impl SubjectFields {
    /// Reads the fields from a manifest body; a body that does not parse has none.
    pub fn of(bytes: &[u8]) -> Self {
        serde_json::from_slice(bytes).unwrap_or_default()
    }
}

/// The referrers tag schema's tag for `subject`: `<alg>-<hex>`, the algorithm cut to 32
/// characters and the hex to 64 (OCI distribution spec 1.1, "Referrers Tag Schema").
pub fn fallback_tag(subject: &Digest) -> Option<Tag> {
    let alg: String = subject.algorithm().chars().take(32).collect();
    let hex: String = subject.hex().chars().take(64).collect();
    Tag::parse(&format!("{alg}-{hex}")).ok()
}

/// cosign's tag suffixes and what each holds.
pub const COSIGN_SUFFIXES: &[&str] = &["sig", "att", "sbom"];

/// cosign's tag for `subject` with `suffix` (`sha256-<hex>.sig`).
pub fn cosign_tag(subject: &Digest, suffix: &str) -> Option<Tag> {
    Tag::parse(&format!(
        "{}-{}.{suffix}",
        subject.algorithm(),
        subject.hex()
    ))
    .ok()
}

/// Which scheme a tag belongs to, and the subject it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemeTag {
    /// `<alg>-<hex>`: the referrers fallback index of the subject.
    Fallback(Digest),
    /// `<alg>-<hex>.<suffix>`: a cosign signature, attestation or SBOM of the subject.
    Cosign { subject: Digest, suffix: String },
}

impl SchemeTag {
    pub fn subject(&self) -> &Digest {
        match self {
            SchemeTag::Fallback(d) | SchemeTag::Cosign { subject: d, .. } => d,
        }
    }
}

/// The scheme of `tag`, when it is a referrers fallback tag or a cosign tag (sha256 only:
/// a sha512 fallback tag is truncated and names no digest fully).
pub fn scheme_of(tag: &Tag) -> Option<SchemeTag> {
    let text = tag.as_str();
    let (stem, suffix) = match text.rsplit_once('.') {
        Some((stem, suffix)) if COSIGN_SUFFIXES.contains(&suffix) => (stem, Some(suffix)),
        Some(_) => return None,
        None => (text, None),
    };
    let hex = stem.strip_prefix("sha256-")?;
    let subject = Digest::parse(&format!("sha256:{hex}")).ok()?;
    Some(match suffix {
        Some(suffix) => SchemeTag::Cosign {
            subject,
            suffix: suffix.to_string(),
        },
        None => SchemeTag::Fallback(subject),
    })
}

/// The referrers listed by an index body (the fallback index, or one page of the API).
pub fn listed_referrers(bytes: &[u8]) -> Result<Vec<ReferrerDescriptor>, serde_json::Error> {
    serde_json::from_slice::<ReferrersIndex>(bytes).map(|i| i.manifests)
}

/// What the referrers API answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferrersListing {
    pub referrers: Vec<ReferrerDescriptor>,
    /// Pages read (1 for a one-page answer).
    pub pages: usize,
}

impl Client {
    /// The referrers of `subject` from the OCI 1.1 referrers API, every `Link` page followed.
    /// `artifact_type` asks the registry to filter; a registry that does not say it applied
    /// the filter (`OCI-Filters-Applied`) is filtered here. `Ok(None)`: the registry has no
    /// referrers API (a 404, whatever `OCI-Subject` headers it sent on push).
    pub async fn referrers(
        &self,
        repo: &RepoName,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Option<ReferrersListing>, RegistryError> {
        let mut first = self.url(&format!("{repo}/referrers/{subject}"))?;
        if let Some(t) = artifact_type {
            first.query_pairs_mut().append_pair("artifactType", t);
        }
        let mut pages = 0;
        let listed = self
            .follow_pages(
                Pages {
                    first,
                    kind: RequestKind::Referrers,
                    scope: &format!("repository:{repo}:pull"),
                    what: &format!("the referrers of {repo}@{subject}"),
                    accept: OCI_INDEX,
                },
                |headers, body| {
                    pages += 1;
                    let filtered = headers
                        .get("oci-filters-applied")
                        .and_then(|v| v.to_str().ok())
                        .is_some_and(|v| v.split(',').any(|f| f.trim() == "artifactType"));
                    let mut page = listed_referrers(body)?;
                    if let (Some(wanted), false) = (artifact_type, filtered) {
                        page.retain(|r| r.artifact_type.as_deref() == Some(wanted));
                    }
                    Ok(page)
                },
                |r| r.digest.to_string(),
                &|_| {},
            )
            .await;
        let referrers = match listed {
            Ok(referrers) => referrers,
            // No referrers API: a 404 before any page was read.
            Err(RegistryError::NotFound { .. }) if pages == 0 => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(Some(ReferrersListing { referrers, pages }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    fn digest() -> Digest {
        Digest::parse(&format!("sha256:{HEX}")).unwrap()
    }

    #[test]
    fn tag_names_round_trip() {
        let d = digest();
        let fallback = fallback_tag(&d).unwrap();
        assert_eq!(fallback.as_str(), format!("sha256-{HEX}"));
        assert_eq!(scheme_of(&fallback), Some(SchemeTag::Fallback(d.clone())));
        for suffix in COSIGN_SUFFIXES {
            let tag = cosign_tag(&d, suffix).unwrap();
            assert_eq!(tag.as_str(), format!("sha256-{HEX}.{suffix}"));
            assert_eq!(
                scheme_of(&tag),
                Some(SchemeTag::Cosign {
                    subject: d.clone(),
                    suffix: suffix.to_string()
                })
            );
        }
    }

    #[test]
    fn other_tags_are_not_scheme_tags() {
        for t in [
            "latest".to_string(),
            format!("sha256-{HEX}.txt"),
            "sha256-abc.sig".to_string(),
            format!("sha512-{HEX}"),
            format!("sha256-{}", HEX.to_uppercase()),
            format!("v1-sha256-{HEX}"),
        ] {
            assert_eq!(scheme_of(&Tag::parse(&t).unwrap()), None, "{t}");
        }
    }

    #[test]
    fn sha512_fallback_tags_are_truncated_to_64_hex() {
        let d = Digest::parse(&format!("sha512:{HEX}{HEX}")).unwrap();
        assert_eq!(fallback_tag(&d).unwrap().as_str(), format!("sha512-{HEX}"));
    }

    #[test]
    fn subject_fields_read_indexes_and_junk() {
        let body = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","artifactType":"application/spdx+json","subject":{{"mediaType":"x","digest":"sha256:{HEX}","size":3}},"manifests":[{{"mediaType":"x","digest":"sha256:{HEX}","size":5,"artifactType":"a/b"}}]}}"#
        );
        let f = SubjectFields::of(body.as_bytes());
        assert_eq!(f.subject.unwrap().digest, digest());
        assert_eq!(f.artifact_type.as_deref(), Some("application/spdx+json"));
        assert_eq!(f.manifests[0].artifact_type.as_deref(), Some("a/b"));
        let none = SubjectFields::of(b"not json");
        assert!(none.subject.is_none() && none.manifests.is_empty());
        assert!(
            listed_referrers(br#"{"manifests":null}"#)
                .unwrap()
                .is_empty()
        );
    }
}
