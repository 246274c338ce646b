//! Blob uploads that stream: a blob read from one registry goes to another without being held
//! in memory or written to disk, its digest checked on the way (`regatta cp`).
//!
//! The bytes pass through [`verified`], which hashes and counts them; a body that does not
//! hash to its digest, or is longer or shorter than its descriptor says, ends in an error
//! instead of its last chunk, so the upload is cut off and the destination never completes
//! it. [`Verdict`] tells the caller afterwards why the upload broke.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use reqwest::{Method, StatusCode};
use sha2::Digest as _;
use url::Url;

use super::blobs::UploadSession;
use super::client::{Call, Client, RequestKind};
use super::error::RegistryError;
use super::reference::{Digest, RepoName};
use super::resume::Chunks;

/// Why a streamed blob was refused on the way, recorded by [`verified`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamFault {
    /// The bytes hash to `actual`, not to the digest.
    DigestMismatch { actual: String },
    /// More or fewer bytes than the descriptor's size.
    WrongSize { expected: u64, actual: u64 },
    /// The source's body broke off.
    SourceBroke(String),
}

/// What [`verified`] found, shared with the caller that handed the stream to reqwest.
#[derive(Debug, Default)]
pub struct Verdict(Mutex<Option<StreamFault>>);

impl Verdict {
    pub fn fault(&self) -> Option<StreamFault> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn record(&self, fault: StreamFault) -> io::Error {
        let sentence = format!("{fault:?}");
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(fault);
        io::Error::other(sentence)
    }
}

enum Hasher {
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
}

impl Hasher {
    fn for_digest(digest: &Digest) -> Self {
        match digest.algorithm() {
            "sha512" => Hasher::Sha512(sha2::Sha512::new()),
            _ => Hasher::Sha256(sha2::Sha256::new()),
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(bytes),
            Hasher::Sha512(h) => h.update(bytes),
        }
    }

    fn finish(self) -> String {
        match self {
            Hasher::Sha256(h) => format!("sha256:{}", hex::encode(h.finalize())),
            Hasher::Sha512(h) => format!("sha512:{}", hex::encode(h.finalize())),
        }
    }
}

/// Passes `chunks` on while hashing and counting them into `moved`. The last chunk is held
/// back until the whole body is known to hash to `digest` and to be `size` bytes long;
/// otherwise the stream ends with an error (recorded in `verdict`) in its place, so whoever
/// reads the stream never sees a complete wrong body.
pub fn verified<S, B, E>(
    chunks: S,
    digest: Digest,
    size: u64,
    verdict: Arc<Verdict>,
    moved: Arc<AtomicU64>,
) -> impl Stream<Item = Result<B, io::Error>> + Send + 'static
where
    S: Stream<Item = Result<B, E>> + Send + Unpin + 'static,
    B: AsRef<[u8]> + Send + 'static,
    E: std::fmt::Display,
{
    struct State<S, B> {
        chunks: S,
        hasher: Option<Hasher>,
        seen: u64,
        held: Option<B>,
        done: bool,
    }
    let state = State {
        chunks,
        hasher: Some(Hasher::for_digest(&digest)),
        seen: 0,
        held: None,
        done: false,
    };
    futures::stream::unfold(state, move |mut st| {
        let digest = digest.clone();
        let verdict = verdict.clone();
        let moved = moved.clone();
        async move {
            if st.done {
                return None;
            }
            loop {
                match st.chunks.next().await {
                    Some(Ok(chunk)) => {
                        let len = chunk.as_ref().len() as u64;
                        st.seen = st.seen.saturating_add(len);
                        if st.seen > size {
                            st.done = true;
                            let fault = StreamFault::WrongSize {
                                expected: size,
                                actual: st.seen,
                            };
                            return Some((Err(verdict.record(fault)), st));
                        }
                        if let Some(h) = st.hasher.as_mut() {
                            h.update(chunk.as_ref());
                        }
                        moved.fetch_add(len, Ordering::Relaxed);
                        // Pass the previous chunk on, hold this one back.
                        if let Some(previous) = st.held.replace(chunk) {
                            return Some((Ok(previous), st));
                        }
                    }
                    Some(Err(e)) => {
                        st.done = true;
                        let fault = StreamFault::SourceBroke(e.to_string());
                        return Some((Err(verdict.record(fault)), st));
                    }
                    None => {
                        st.done = true;
                        let actual = st.hasher.take().map(Hasher::finish).unwrap_or_default();
                        if st.seen != size {
                            let fault = StreamFault::WrongSize {
                                expected: size,
                                actual: st.seen,
                            };
                            return Some((Err(verdict.record(fault)), st));
                        }
                        if actual != digest.as_str() {
                            let fault = StreamFault::DigestMismatch { actual };
                            return Some((Err(verdict.record(fault)), st));
                        }
                        return st.held.take().map(|last| (Ok(last), st));
                    }
                }
            }
        }
    })
}

/// The chunk size when the registry asks for chunked uploads and the config names none.
pub const DEFAULT_UPLOAD_CHUNK: u64 = 16 * 1024 * 1024;

impl Client {
    /// How long moving `size` bytes in one request may take: the client's timeout plus one
    /// second per 256 KiB, as for layer reads.
    pub(super) fn body_timeout(&self, size: u64) -> Duration {
        self.options().request_timeout + Duration::from_secs(size / 262_144)
    }

    /// Opens a blob of `size` bytes for reading as a stream of chunks (nothing is read yet),
    /// resumed where it breaks off (see [`Client::get_blob_stream`]): the upload the chunks
    /// feed never sees the break. The caller checks the bytes (see [`verified`]).
    pub async fn open_blob(
        &self,
        repo: &RepoName,
        digest: &Digest,
        size: u64,
    ) -> Result<Chunks, RegistryError> {
        Ok(self
            .get_blob_stream(repo, digest, size)
            .await?
            .into_stream())
    }

    /// Uploads the blob `digest` (`size` bytes) from `body`. By default in one streamed PUT
    /// (POST to start, then PUT with `?digest=`); in chunks (PATCH with `Content-Range`, then
    /// an empty PUT with `?digest=`) when the config sets `upload_chunk_size` or the registry
    /// asks for chunks with `OCI-Chunk-Min-Length`. Nothing is retried, since the body is
    /// read once; a body that ends in an error (see [`verified`]) is never completed, and a
    /// chunked session is cancelled. The registry checks the digest too. `session`: one the
    /// registry opened already (a declined mount), used instead of starting one.
    pub async fn upload_blob_stream<S>(
        &self,
        repo: &RepoName,
        digest: &Digest,
        size: u64,
        body: S,
        session: Option<UploadSession>,
    ) -> Result<(), RegistryError>
    where
        S: Stream<Item = Result<Bytes, io::Error>> + Send + Unpin + 'static,
    {
        let (location, chunk_min) = match session {
            Some(session) => (session.location, session.chunk_min),
            None => {
                let start = self.url(&format!("{repo}/blobs/uploads/"))?;
                self.begin_upload(repo, start).await?
            }
        };
        match chunk_size(self.options().upload_chunk_size, chunk_min) {
            None => self.put_whole(repo, digest, size, location, body).await,
            Some(chunk) => {
                let sent = self.put_chunks(repo, digest, location, chunk, body).await;
                if let Err(UploadBroke { at, error }) = sent {
                    self.cancel_upload(repo, at).await;
                    return Err(error);
                }
                Ok(())
            }
        }
    }

    async fn put_whole<S>(
        &self,
        repo: &RepoName,
        digest: &Digest,
        size: u64,
        mut put_url: Url,
        body: S,
    ) -> Result<(), RegistryError>
    where
        S: Stream<Item = Result<Bytes, io::Error>> + Send + Unpin + 'static,
    {
        put_url
            .query_pairs_mut()
            .append_pair("digest", digest.as_str());
        let mut call = Call::new(
            Method::PUT,
            put_url,
            RequestKind::BlobUpload,
            format!("repository:{repo}:pull,push"),
            format!("upload of {digest} to {repo}"),
        );
        call.content_type = Some("application/octet-stream".into());
        call.timeout = Some(self.body_timeout(size));
        let response = self
            .send_streaming(&call, reqwest::Body::wrap_stream(body))
            .await?;
        completed(&call, response.status())
    }

    /// Sends `body` in PATCH requests of `chunk` bytes (the last one shorter), each to the
    /// Location the previous answer gave, then completes the upload with an empty PUT. One
    /// chunk is held in memory at a time.
    async fn put_chunks<S>(
        &self,
        repo: &RepoName,
        digest: &Digest,
        mut location: Url,
        chunk: u64,
        mut body: S,
    ) -> Result<(), UploadBroke>
    where
        S: Stream<Item = Result<Bytes, io::Error>> + Send + Unpin + 'static,
    {
        let chunk = usize::try_from(chunk).unwrap_or(usize::MAX);
        let mut held: Vec<u8> = Vec::new();
        let mut offset = 0u64;
        loop {
            let last = match body.next().await {
                Some(Ok(bytes)) => {
                    held.extend_from_slice(&bytes);
                    false
                }
                Some(Err(e)) => {
                    return Err(UploadBroke {
                        at: location,
                        error: RegistryError::Io {
                            path: format!("blob {digest}"),
                            detail: format!("its bytes broke off on the way: {e}"),
                        },
                    });
                }
                None => true,
            };
            while held.len() >= chunk || (last && !held.is_empty()) {
                let rest = if held.len() > chunk {
                    held.split_off(chunk)
                } else {
                    Vec::new()
                };
                let part = std::mem::replace(&mut held, rest);
                let len = part.len() as u64;
                location = match self
                    .patch_chunk(repo, digest, &location, offset, part)
                    .await
                {
                    Ok(next) => next,
                    Err(error) => {
                        return Err(UploadBroke {
                            at: location,
                            error,
                        });
                    }
                };
                offset += len;
            }
            if last {
                break;
            }
        }
        let mut put_url = location.clone();
        put_url
            .query_pairs_mut()
            .append_pair("digest", digest.as_str());
        let mut call = Call::new(
            Method::PUT,
            put_url,
            RequestKind::BlobUpload,
            format!("repository:{repo}:pull,push"),
            format!("upload of {digest} to {repo}"),
        );
        call.content_type = Some("application/octet-stream".into());
        call.body = Some(Vec::new());
        let url = call.url.to_string();
        let response = self.execute(call).await.map_err(|error| UploadBroke {
            at: location.clone(),
            error,
        })?;
        completed_at(&url, response.status()).map_err(|error| UploadBroke {
            at: location,
            error,
        })
    }

    /// One chunk of a chunked upload; returns where the next goes.
    async fn patch_chunk(
        &self,
        repo: &RepoName,
        digest: &Digest,
        location: &Url,
        offset: u64,
        part: Vec<u8>,
    ) -> Result<Url, RegistryError> {
        let len = part.len() as u64;
        let mut call = Call::new(
            Method::PATCH,
            location.clone(),
            RequestKind::BlobUpload,
            format!("repository:{repo}:pull,push"),
            format!("upload of {digest} to {repo}"),
        );
        call.content_type = Some("application/octet-stream".into());
        call.content_range = Some(format!("{offset}-{}", offset + len - 1));
        call.timeout = Some(self.body_timeout(len));
        call.body = Some(part);
        let url = call.url.to_string();
        let response = self.execute(call).await?;
        let next = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        match next {
            Some(next) => location.join(&next).map_err(|e| RegistryError::Malformed {
                url: url.clone(),
                detail: format!("bad upload Location {next:?}: {e}"),
            }),
            // The session stays where it was when the registry names no new place.
            None => Ok(location.clone()),
        }
    }

    /// Cancels an upload session that will not be completed (best effort: the registry
    /// purges abandoned sessions itself too).
    async fn cancel_upload(&self, repo: &RepoName, location: Url) {
        let call = Call::new(
            Method::DELETE,
            location,
            RequestKind::BlobUpload,
            format!("repository:{repo}:pull,push"),
            format!("upload session in {repo}"),
        );
        if let Err(e) = self.execute(call).await {
            tracing::debug!(error = %e, "cancelling an upload session failed");
        }
    }
}

/// A chunked upload that stopped: why, and the session to cancel.
struct UploadBroke {
    at: Url,
    error: RegistryError,
}

/// Chunks of which size, if any: the configured size, raised to the registry's minimum; the
/// default size when only the registry asks for chunks; `None` for one streamed PUT.
fn chunk_size(configured: Option<u64>, registry_min: Option<u64>) -> Option<u64> {
    match (configured, registry_min) {
        (None, None) => None,
        (configured, min) => Some(
            configured
                .unwrap_or(DEFAULT_UPLOAD_CHUNK)
                .max(min.unwrap_or(0))
                .max(1),
        ),
    }
}

fn completed(call: &Call, status: StatusCode) -> Result<(), RegistryError> {
    completed_at(call.url.as_str(), status)
}

fn completed_at(url: &str, status: StatusCode) -> Result<(), RegistryError> {
    if status != StatusCode::CREATED {
        return Err(RegistryError::Status {
            status: status.as_u16(),
            url: url.to_string(),
            detail: "the upload was not completed (expected 201 Created)".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(
        chunks: Vec<&'static [u8]>,
        digest: &Digest,
        size: u64,
    ) -> (Vec<u8>, Option<StreamFault>, u64) {
        let verdict = Arc::new(Verdict::default());
        let moved = Arc::new(AtomicU64::new(0));
        let source = futures::stream::iter(chunks.into_iter().map(Ok::<&'static [u8], String>));
        let stream = verified(source, digest.clone(), size, verdict.clone(), moved.clone());
        let items: Vec<_> = futures::executor::block_on(stream.collect());
        let mut out = Vec::new();
        for item in items {
            match item {
                Ok(chunk) => out.extend_from_slice(chunk),
                Err(_) => break,
            }
        }
        (out, verdict.fault(), moved.load(Ordering::Relaxed))
    }

    #[test]
    fn a_body_that_hashes_to_its_digest_passes_whole() {
        let digest = Digest::sha256_of(b"hello, world");
        let (out, fault, moved) = run(vec![b"hello", b", ", b"world"], &digest, 12);
        assert_eq!(out, b"hello, world");
        assert_eq!(fault, None);
        assert_eq!(moved, 12);
    }

    #[test]
    fn a_wrong_body_never_passes_its_last_chunk() {
        let digest = Digest::sha256_of(b"hello, world");
        let (out, fault, _) = run(vec![b"hello", b", ", b"WORLD"], &digest, 12);
        assert_eq!(out, b"hello, ", "the last chunk was held back");
        assert_eq!(
            fault,
            Some(StreamFault::DigestMismatch {
                actual: Digest::sha256_of(b"hello, WORLD").to_string()
            })
        );
    }

    #[test]
    fn a_body_longer_or_shorter_than_its_size_is_refused() {
        let digest = Digest::sha256_of(b"hello");
        let (_, fault, _) = run(vec![b"hello", b"!"], &digest, 5);
        assert_eq!(
            fault,
            Some(StreamFault::WrongSize {
                expected: 5,
                actual: 6
            })
        );
        let (out, fault, _) = run(vec![b"hel"], &digest, 5);
        assert!(out.is_empty());
        assert_eq!(
            fault,
            Some(StreamFault::WrongSize {
                expected: 5,
                actual: 3
            })
        );
    }

    #[test]
    fn chunks_only_when_configured_or_asked_and_never_below_the_registry_minimum() {
        assert_eq!(chunk_size(None, None), None);
        assert_eq!(chunk_size(Some(1 << 20), None), Some(1 << 20));
        assert_eq!(chunk_size(None, Some(5 << 20)), Some(DEFAULT_UPLOAD_CHUNK));
        assert_eq!(chunk_size(None, Some(32 << 20)), Some(32 << 20));
        assert_eq!(chunk_size(Some(1 << 20), Some(5 << 20)), Some(5 << 20));
    }
}
