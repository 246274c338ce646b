//! `/v2/R/manifests/REF`: HEAD, GET, PUT and DELETE.

use reqwest::{Method, header};

use super::client::{Call, Client, MAX_DOCUMENT_BYTES, RequestKind};
use super::error::RegistryError;
use super::manifest::MANIFEST_ACCEPT;
use super::reference::{Digest, ManifestRef, RepoName};
use super::source::{FetchedManifest, ManifestHead};

fn what(repo: &RepoName, reference: &ManifestRef) -> String {
    match reference {
        ManifestRef::Tag(t) => format!("{repo}:{t}"),
        ManifestRef::Digest(d) => format!("{repo}@{d}"),
    }
}

fn header_str(response: &reqwest::Response, name: &str) -> Option<String> {
    header_value(response.headers(), name)
}

fn header_value(headers: &header::HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

impl Client {
    /// Digest, media type and size of a manifest via HEAD; falls back to a GET when the
    /// registry sends no `Docker-Content-Digest`.
    pub async fn head_manifest(
        &self,
        repo: &RepoName,
        reference: &ManifestRef,
    ) -> Result<ManifestHead, RegistryError> {
        let url = self.url(&format!("{repo}/manifests/{reference}"))?;
        let mut call = Call::new(
            Method::HEAD,
            url,
            RequestKind::ManifestHead,
            format!("repository:{repo}:pull"),
            what(repo, reference),
        );
        call.accept = Some(MANIFEST_ACCEPT);
        let response = self.execute(call).await?;
        let digest =
            header_str(&response, "docker-content-digest").and_then(|d| Digest::parse(&d).ok());
        let media_type = header_str(&response, header::CONTENT_TYPE.as_str()).unwrap_or_default();
        let size = response
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        match (digest, size) {
            (Some(digest), Some(size)) if !media_type.is_empty() => Ok(ManifestHead {
                digest,
                media_type,
                size,
            }),
            _ => {
                let fetched = self.get_manifest(repo, reference).await?;
                Ok(ManifestHead {
                    digest: fetched.digest,
                    media_type: fetched.media_type,
                    size: fetched.bytes.len() as u64,
                })
            }
        }
    }

    /// A manifest body, parsed. By digest, the body must hash to the digest; by tag, the
    /// digest is the hash of the body, checked against `Docker-Content-Digest` when sent.
    pub async fn get_manifest(
        &self,
        repo: &RepoName,
        reference: &ManifestRef,
    ) -> Result<FetchedManifest, RegistryError> {
        let url = self.url(&format!("{repo}/manifests/{reference}"))?;
        let what = what(repo, reference);
        let mut call = Call::new(
            Method::GET,
            url,
            RequestKind::ManifestGet,
            format!("repository:{repo}:pull"),
            what.clone(),
        );
        call.accept = Some(MANIFEST_ACCEPT);
        let document = self.fetch(call, MAX_DOCUMENT_BYTES).await?;
        let content_type =
            header_value(&document.headers, header::CONTENT_TYPE.as_str()).unwrap_or_default();
        // A digest header that is there but cannot be checked (an unknown algorithm, upper
        // case, cut short) is a registry that lies about identity: say so rather than ignore it.
        let header_digest = match header_value(&document.headers, "docker-content-digest") {
            None => None,
            Some(d) => Some(Digest::parse(&d).map_err(|e| RegistryError::Malformed {
                url: what.clone(),
                detail: format!("its Docker-Content-Digest is not a digest regatta can check: {e}"),
            })?),
        };
        let body = document.body;
        let expected = reference.digest().cloned().or(header_digest);
        FetchedManifest::from_bytes(&what, body, &content_type, expected.as_ref())
    }

    /// Uploads a manifest under a tag or digest. Blobs and child manifests must exist first.
    /// Putting a tag moves it to this manifest; this is also how a deleted tag is restored.
    pub async fn put_manifest(
        &self,
        repo: &RepoName,
        reference: &ManifestRef,
        media_type: &str,
        bytes: Vec<u8>,
    ) -> Result<Digest, RegistryError> {
        let url = self.url(&format!("{repo}/manifests/{reference}"))?;
        let computed = Digest::sha256_of(&bytes);
        let mut call = Call::new(
            Method::PUT,
            url,
            RequestKind::ManifestPut,
            format!("repository:{repo}:pull,push"),
            what(repo, reference),
        );
        call.content_type = Some(media_type.to_string());
        call.body = Some(bytes);
        let response = self.execute(call).await?;
        Ok(header_str(&response, "docker-content-digest")
            .and_then(|d| Digest::parse(&d).ok())
            .unwrap_or(computed))
    }

    /// Deletes the manifest `digest` **and every tag that points to it** (the registry removes
    /// them all). On Distribution nothing is freed until garbage collection runs. A registry
    /// with deletes disabled answers [`RegistryError::DeleteDisabled`].
    pub async fn delete_manifest(
        &self,
        repo: &RepoName,
        digest: &Digest,
    ) -> Result<(), RegistryError> {
        let url = self.url(&format!("{repo}/manifests/{digest}"))?;
        let call = Call::new(
            Method::DELETE,
            url,
            RequestKind::ManifestDelete,
            format!("repository:{repo}:delete"),
            format!("{repo}@{digest}"),
        );
        self.execute(call).await.map(|_| ())
    }

    /// Removes only the tag `tag` (OCI 1.1 `DELETE /v2/R/manifests/TAG`); other tags on the
    /// same digest stay. Registries without tag deletion (Distribution 2.8) answer 400
    /// `DIGEST_INVALID` or 405: callers fall back to the placeholder method.
    pub async fn delete_tag(
        &self,
        repo: &RepoName,
        tag: &super::reference::Tag,
    ) -> Result<(), RegistryError> {
        let url = self.url(&format!("{repo}/manifests/{tag}"))?;
        let call = Call::new(
            Method::DELETE,
            url,
            RequestKind::ManifestDelete,
            format!("repository:{repo}:delete"),
            format!("{repo}:{tag}"),
        );
        self.execute(call).await.map(|_| ())
    }
}
