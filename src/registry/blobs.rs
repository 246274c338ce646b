//! `/v2/R/blobs/...`: HEAD, GET, and monolithic upload (used to push fixtures and placeholders).

use futures::StreamExt;
use reqwest::{Method, StatusCode, header};
use url::Url;

use super::client::{Call, Client, MAX_DOCUMENT_BYTES, RequestKind, body_broke_off, read_capped};
use super::error::RegistryError;
use super::reference::{Digest, RepoName};
use super::resume::{BlobStream, Part, Reopen, content_range_start};

impl Client {
    /// The size of a blob, or [`RegistryError::NotFound`] when the registry does not have it.
    pub async fn head_blob(&self, repo: &RepoName, digest: &Digest) -> Result<u64, RegistryError> {
        let url = self.url(&format!("{repo}/blobs/{digest}"))?;
        let call = Call::new(
            Method::HEAD,
            url,
            RequestKind::BlobHead,
            format!("repository:{repo}:pull"),
            format!("blob {digest} in {repo}"),
        );
        let response = self.execute(call).await?;
        Ok(response
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    /// A blob's bytes (configs: capped at 4 MiB), checked against its digest.
    pub async fn get_blob(
        &self,
        repo: &RepoName,
        digest: &Digest,
    ) -> Result<Vec<u8>, RegistryError> {
        self.get_blob_capped(repo, digest, MAX_DOCUMENT_BYTES).await
    }

    pub async fn get_blob_capped(
        &self,
        repo: &RepoName,
        digest: &Digest,
        limit: u64,
    ) -> Result<Vec<u8>, RegistryError> {
        let url = self.url(&format!("{repo}/blobs/{digest}"))?;
        let call = Call::new(
            Method::GET,
            url,
            RequestKind::BlobGet,
            format!("repository:{repo}:pull"),
            format!("blob {digest} in {repo}"),
        );
        let body = self.fetch(call, limit).await?.body;
        if !digest.matches(&body) {
            return Err(RegistryError::DigestMismatch {
                what: format!("blob in {repo}"),
                expected: digest.to_string(),
                actual: Digest::sha256_of(&body).to_string(),
            });
        }
        Ok(body)
    }

    /// A blob's body as a stream, for layers too large to hold: the response to a GET made
    /// with auth and retries like any other, read chunk by chunk by the caller, who checks
    /// the digest. A body that breaks off is asked for again from where it stopped (`Range`;
    /// see [`super::resume`]), through the same URL, so a registry that redirects blob
    /// reads to storage gives a fresh redirect. Each request may take the client's timeout
    /// plus one second per 256 KiB of what is left of `size`.
    pub async fn get_blob_stream(
        &self,
        repo: &RepoName,
        digest: &Digest,
        size: u64,
    ) -> Result<BlobStream, RegistryError> {
        let url = self.url(&format!("{repo}/blobs/{digest}"))?.to_string();
        let first = self.get_blob_from(repo, digest, size, 0).await?;
        let client = self.clone();
        let repo = repo.clone();
        let digest = digest.clone();
        let reopen: Reopen = Box::new(move |from, stalled| {
            let client = client.clone();
            let repo = repo.clone();
            let digest = digest.clone();
            Box::pin(async move {
                if stalled > 0 {
                    client.backoff(stalled - 1, None).await;
                }
                client.get_blob_from(&repo, &digest, size, from).await
            })
        });
        Ok(BlobStream::new(
            first,
            url,
            size,
            self.options().max_retries,
            reopen,
        ))
    }

    /// A GET of blob `digest` (`size` bytes) from byte `from` on (`Range: bytes=FROM-`, none
    /// from 0), its body not read yet.
    async fn get_blob_from(
        &self,
        repo: &RepoName,
        digest: &Digest,
        size: u64,
        from: u64,
    ) -> Result<Part, RegistryError> {
        let url = self.url(&format!("{repo}/blobs/{digest}"))?;
        let mut call = Call::new(
            Method::GET,
            url.clone(),
            RequestKind::BlobGet,
            format!("repository:{repo}:pull"),
            format!("blob {digest} in {repo}"),
        );
        call.timeout = Some(self.body_timeout(size.saturating_sub(from)));
        if from > 0 {
            call.range = Some(format!("bytes={from}-"));
        }
        let response = self.execute(call).await?;
        let from = if response.status() == StatusCode::PARTIAL_CONTENT {
            let start = response
                .headers()
                .get(header::CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(content_range_start)
                .ok_or_else(|| RegistryError::Malformed {
                    url: url.to_string(),
                    detail: "a 206 answer without a Content-Range that says where it starts".into(),
                })?;
            Some(start)
        } else {
            None
        };
        // Where the body came from (after redirects), for the sentence when it breaks off.
        let host = response.url().host_str().unwrap_or_default().to_string();
        let shown = url.to_string();
        let chunks = response
            .bytes_stream()
            .map(move |chunk| chunk.map_err(|e| body_broke_off(host.clone(), &shown, &e)))
            .boxed();
        Ok(Part { from, chunks })
    }

    /// Bytes `start..=end` of a blob (an HTTP Range request), or `None` when the registry
    /// ignored the range and began sending the whole blob (the answer is dropped unread).
    /// At most `MAX_DOCUMENT_BYTES` times 16 are read. Not checked against the digest: a
    /// part cannot be; the caller checks what the part says.
    pub async fn get_blob_range(
        &self,
        repo: &RepoName,
        digest: &Digest,
        start: u64,
        end: u64,
    ) -> Result<Option<Vec<u8>>, RegistryError> {
        let url = self.url(&format!("{repo}/blobs/{digest}"))?;
        let mut call = Call::new(
            Method::GET,
            url.clone(),
            RequestKind::BlobGet,
            format!("repository:{repo}:pull"),
            format!("blob {digest} in {repo}"),
        );
        call.range = Some(format!("bytes={start}-{end}"));
        let response = self.execute(call).await?;
        if response.status() != StatusCode::PARTIAL_CONTENT {
            return Ok(None);
        }
        let limit = (end.saturating_sub(start) + 1).min(16 * MAX_DOCUMENT_BYTES);
        read_capped(response, limit, url.as_str()).await.map(Some)
    }

    /// Uploads `bytes` as one blob (POST then a single PUT) and returns its digest. A blob the
    /// registry already has in this repository is not sent again.
    pub async fn upload_blob(
        &self,
        repo: &RepoName,
        bytes: Vec<u8>,
    ) -> Result<Digest, RegistryError> {
        let digest = Digest::sha256_of(&bytes);
        if self.head_blob(repo, &digest).await.is_ok() {
            return Ok(digest);
        }
        let start = self.url(&format!("{repo}/blobs/uploads/"))?;
        let location = self.start_upload(repo, start).await?;
        let mut put_url = location;
        put_url
            .query_pairs_mut()
            .append_pair("digest", digest.as_str());
        let mut call = Call::new(
            Method::PUT,
            put_url,
            RequestKind::BlobUpload,
            format!("repository:{repo}:pull,push"),
            format!("upload to {repo}"),
        );
        call.content_type = Some("application/octet-stream".into());
        call.body = Some(bytes);
        self.execute(call).await?;
        Ok(digest)
    }

    /// Mounts a blob from another repository of the same registry without uploading it.
    /// Declined, the registry opens an upload session instead (202 with a Location), which
    /// takes the bytes: no second POST is needed to start one. `from` may be `repo` itself:
    /// 201 then says the repository has the blob, 202 opens its upload (one request for a
    /// HEAD and a POST). A 201 that names another digest (`Docker-Content-Digest`, or the
    /// blob its `Location` points at) is an error: the blob is not known to be there.
    pub async fn mount_blob(
        &self,
        repo: &RepoName,
        digest: &Digest,
        from: &RepoName,
    ) -> Result<MountAnswer, RegistryError> {
        let mut url = self.url(&format!("{repo}/blobs/uploads/"))?;
        url.query_pairs_mut()
            .append_pair("mount", digest.as_str())
            .append_pair("from", from.as_str());
        let scope = if from == repo {
            format!("repository:{repo}:pull,push")
        } else {
            format!("repository:{repo}:pull,push repository:{from}:pull")
        };
        let call = Call::new(
            Method::POST,
            url,
            RequestKind::BlobUpload,
            scope,
            format!("mount into {repo}"),
        );
        let url = call.url.clone();
        let response = self.execute(call).await?;
        if response.status() == StatusCode::CREATED {
            return match mounted_other_digest(&response, &url, digest) {
                Some(named) => Err(RegistryError::Malformed {
                    url: url.to_string(),
                    detail: format!("the mount of {digest} answered 201 for {named}"),
                }),
                None => Ok(MountAnswer::Mounted),
            };
        }
        // A session the answer does not name properly is not used: a new one is started.
        Ok(MountAnswer::Declined(
            upload_session(response, &url).await.ok(),
        ))
    }

    pub(super) async fn start_upload(
        &self,
        repo: &RepoName,
        url: Url,
    ) -> Result<Url, RegistryError> {
        self.begin_upload(repo, url)
            .await
            .map(|(location, _)| location)
    }

    /// Starts an upload session: where to send the bytes, and the smallest chunk the
    /// registry takes when it asks for chunked uploads (OCI's `OCI-Chunk-Min-Length`).
    pub(super) async fn begin_upload(
        &self,
        repo: &RepoName,
        url: Url,
    ) -> Result<(Url, Option<u64>), RegistryError> {
        let call = Call::new(
            Method::POST,
            url.clone(),
            RequestKind::BlobUpload,
            format!("repository:{repo}:pull,push"),
            format!("upload to {repo}"),
        );
        let response = self.execute(call).await?;
        let session = upload_session(response, &url).await?;
        Ok((session.location, session.chunk_min))
    }
}

/// What a cross-repository mount request got.
#[derive(Debug)]
pub enum MountAnswer {
    /// The blob is in the repository now (201).
    Mounted,
    /// Declined: the bytes must be sent, into the upload session the registry opened
    /// instead when it named one.
    Declined(Option<UploadSession>),
}

/// The other digest a 201 to a mount of `digest` names, if it names one: its
/// `Docker-Content-Digest`, or the last segment of its `Location` when that is a digest.
fn mounted_other_digest(
    response: &reqwest::Response,
    url: &Url,
    digest: &Digest,
) -> Option<String> {
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let named = header("docker-content-digest");
    let located = header(header::LOCATION.as_str())
        .and_then(|l| url.join(l).ok())
        .and_then(|l| {
            let last = l.path_segments()?.next_back()?.replace("%3A", ":");
            Digest::parse(&last).ok().map(|d| d.as_str().to_string())
        });
    [named.map(str::to_string), located]
        .into_iter()
        .flatten()
        .find(|d| d != digest.as_str())
}

/// An upload session a registry opened: where the bytes go.
#[derive(Debug, Clone)]
pub struct UploadSession {
    pub(crate) location: Url,
    /// The smallest chunk the registry takes when it asks for chunked uploads (OCI's
    /// `OCI-Chunk-Min-Length`).
    pub(crate) chunk_min: Option<u64>,
}

/// The session an answer to `POST .../blobs/uploads/` (`url`) opened.
async fn upload_session(
    response: reqwest::Response,
    url: &Url,
) -> Result<UploadSession, RegistryError> {
    let location = response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .ok_or_else(|| RegistryError::Malformed {
            url: url.to_string(),
            detail: "the upload answer has no Location header".into(),
        })?;
    let chunk_min = response
        .headers()
        .get("oci-chunk-min-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|&n| n > 0);
    let _ = read_capped(response, MAX_DOCUMENT_BYTES, url.as_str()).await;
    let location = url.join(&location).map_err(|e| RegistryError::Malformed {
        url: url.to_string(),
        detail: format!("bad upload Location {location:?}: {e}"),
    })?;
    Ok(UploadSession {
        location,
        chunk_min,
    })
}

#[cfg(test)]
mod tests {
    use wiremock::matchers::{method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;
    use crate::registry::{ClientOptions, CredentialSource, RegistryAddr};

    /// A registry that declines every mount and opens an upload session at `/session-1`
    /// instead, and completes an upload there: answers as Distribution's, with counts.
    #[tokio::test]
    async fn a_declined_mount_opens_the_session_the_bytes_then_go_into() {
        let server = MockServer::start().await;
        let digest = Digest::sha256_of(b"layer");
        Mock::given(method("POST"))
            .and(path("/v2/acme/api/blobs/uploads/"))
            .and(query_param("mount", digest.as_str()))
            .respond_with(
                ResponseTemplate::new(202)
                    .insert_header("Location", "/v2/acme/api/blobs/uploads/session-1"),
            )
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("PUT"))
            .and(path("/v2/acme/api/blobs/uploads/session-1"))
            .and(query_param("digest", digest.as_str()))
            .respond_with(ResponseTemplate::new(201))
            .expect(1)
            .mount(&server)
            .await;
        let addr = RegistryAddr::parse(&server.address().to_string()).expect("an address");
        let options = ClientOptions {
            credentials: CredentialSource::Anonymous,
            ..ClientOptions::default()
        };
        let client = Client::new(addr, options).expect("a client");
        let repo = RepoName::parse("acme/api").expect("a name");
        let from = RepoName::parse("acme/base").expect("a name");

        let answer = client.mount_blob(&repo, &digest, &from).await;
        let Ok(MountAnswer::Declined(Some(session))) = answer else {
            panic!("expected a declined mount with a session: {answer:?}");
        };
        assert!(session.location.path().ends_with("/session-1"));
        let body = futures::stream::iter([Ok(bytes::Bytes::from_static(b"layer"))]);
        client
            .upload_blob_stream(&repo, &digest, 5, body, Some(session))
            .await
            .expect("the upload completes");
        // No second POST: `expect(1)` on each is checked when the server drops.
    }
}
