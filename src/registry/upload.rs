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

use futures::{Stream, StreamExt};
use reqwest::{Method, StatusCode};
use sha2::Digest as _;

use super::client::{Call, Client, RequestKind};
use super::error::RegistryError;
use super::reference::{Digest, RepoName};

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

impl Client {
    /// Opens a blob for reading as a stream of chunks (nothing is read yet). The caller checks
    /// the bytes (see [`verified`]).
    pub async fn open_blob(
        &self,
        repo: &RepoName,
        digest: &Digest,
    ) -> Result<reqwest::Response, RegistryError> {
        let url = self.url(&format!("{repo}/blobs/{digest}"))?;
        let call = Call::new(
            Method::GET,
            url,
            RequestKind::BlobGet,
            format!("repository:{repo}:pull"),
            format!("blob {digest} in {repo}"),
        );
        self.execute(call).await
    }

    /// Uploads the blob `digest` from `body` in one streamed PUT (POST to start, then PUT with
    /// `?digest=`). The body is sent once; it is not retried. The registry checks the digest
    /// too and refuses the upload when it differs.
    pub async fn upload_blob_stream(
        &self,
        repo: &RepoName,
        digest: &Digest,
        body: reqwest::Body,
    ) -> Result<(), RegistryError> {
        let start = self.url(&format!("{repo}/blobs/uploads/"))?;
        let mut put_url = self.start_upload(repo, start).await?;
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
        let response = self.send_streaming(&call, body).await?;
        if response.status() != StatusCode::CREATED {
            return Err(RegistryError::Status {
                status: response.status().as_u16(),
                url: call.url.to_string(),
                detail: "the upload was not completed (expected 201 Created)".into(),
            });
        }
        Ok(())
    }
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
}
