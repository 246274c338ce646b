//! A blob's body read to its end across connections that break off: when the body stops
//! after `N` bytes, the blob is asked for again with `Range: bytes=N-` and the new body
//! goes on where the old one stopped, so the reader sees every byte of the blob once, in
//! order, as if one GET had brought them (layer listings, `cp`).
//!
//! Answers to a resumed GET:
//! - 206 whose `Content-Range` starts at `N`: read on. One that ends before the blob does (a
//!   server may send less than the range asked for) is asked on from where it ended.
//! - 206 starting anywhere else: refused (a registry that answers another range than the
//!   one asked for is not trusted with the rest).
//! - 200 (the registry, or a proxy or storage in front of it, ignores `Range`): the first
//!   `N` bytes of the new body are dropped here, the rest handed on. Those bytes are
//!   downloaded again but handed on (hashed, counted) once; the digest the caller checks at
//!   the end covers the bytes it was handed, so a body that changed between the two GETs is
//!   caught there. Refusing would give up on registries that never serve Range.
//!
//! Bounded: a resume that brings no byte past `N` counts as an attempt without progress;
//! after the client's `max_retries` of those in a row the error says where the body stopped
//! and how often it was resumed. A resume that got further resets the count: a link that
//! keeps breaking but keeps moving reaches the end.

use bytes::Bytes;
use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::BoxStream;

use super::error::RegistryError;

/// A body's chunks as they arrive; an error when the body broke off.
pub type Chunks = BoxStream<'static, Result<Bytes, RegistryError>>;

/// One answer to a blob GET: where its body starts in the blob, and the body.
pub struct Part {
    /// `Some(start)`: a 206 whose `Content-Range` starts at `start`; `None`: the whole blob
    /// (a 200).
    pub from: Option<u64>,
    pub chunks: Chunks,
}

/// Asks for the blob again from byte `from`; `stalled` resumes in a row before this one got
/// no further (the opener backs off by it).
pub type Reopen =
    Box<dyn FnMut(u64, u32) -> BoxFuture<'static, Result<Part, RegistryError>> + Send>;

/// The body of a blob GET, read as it arrives, resumed where it broke off (see the module
/// doc). The caller checks the digest.
pub struct BlobStream {
    chunks: Chunks,
    reopen: Reopen,
    /// The blob's URL, for sentences.
    url: String,
    /// The current body is a 206: it may end before the blob does (a server may send less
    /// than the range asked for), and is then asked on from where it ended.
    partial: bool,
    /// What the descriptor says the blob holds: a body that broke off after this many bytes
    /// is at its end (the caller's digest check decides whether it is the blob).
    size: u64,
    /// Resumes in a row without progress before the body is given up.
    max_stalled: u32,
    /// Bytes handed to the caller.
    at: u64,
    /// Bytes still to drop from a whole body sent again after a resume (a 200).
    skip: u64,
    resumes: u32,
    stalled: u32,
    done: bool,
}

impl BlobStream {
    /// Reads the blob at `url` from `first` (the answer to the first GET), resuming through
    /// `reopen` after a break, at most `max_stalled` times in a row without progress.
    pub fn new(first: Part, url: String, size: u64, max_stalled: u32, reopen: Reopen) -> Self {
        Self {
            chunks: first.chunks,
            reopen,
            url,
            partial: false,
            size,
            max_stalled,
            at: 0,
            skip: 0,
            resumes: 0,
            stalled: 0,
            done: false,
        }
    }

    /// The next piece of the body, as the client received it; `None` at its end.
    pub async fn chunk_bytes(&mut self) -> Result<Option<Bytes>, RegistryError> {
        loop {
            if self.done {
                return Ok(None);
            }
            match self.chunks.next().await {
                Some(Ok(mut chunk)) => {
                    if self.skip > 0 {
                        let n = self.skip.min(chunk.len() as u64);
                        self.skip -= n;
                        chunk = chunk.slice(n as usize..);
                    }
                    if chunk.is_empty() {
                        continue;
                    }
                    self.at += chunk.len() as u64;
                    self.stalled = 0;
                    return Ok(Some(chunk));
                }
                None if self.partial && self.at < self.size => {
                    let short = RegistryError::Malformed {
                        url: self.url.clone(),
                        detail: format!("a partial answer ended at byte {}", self.at),
                    };
                    self.resume(short).await?;
                }
                None => {
                    self.done = true;
                    return Ok(None);
                }
                Some(Err(broke)) => self.resume(broke).await?,
            }
        }
    }

    /// The body as a stream (for a streamed upload).
    pub fn into_stream(self) -> Chunks {
        futures::stream::unfold(self, |mut body| async move {
            match body.chunk_bytes().await {
                Ok(Some(chunk)) => Some((Ok(chunk), body)),
                Ok(None) => None,
                Err(e) => {
                    body.done = true;
                    Some((Err(e), body))
                }
            }
        })
        .boxed()
    }

    /// Asks for the rest of the blob after the body broke off with `broke`.
    async fn resume(&mut self, mut broke: RegistryError) -> Result<(), RegistryError> {
        // Every byte is there: the end, whatever the connection did after it.
        if self.size > 0 && self.at >= self.size {
            self.done = true;
            return Ok(());
        }
        loop {
            if self.stalled >= self.max_stalled {
                self.done = true;
                // A client allowed no retries resumes nothing: the break as it was.
                if self.resumes == 0 {
                    return Err(broke);
                }
                return Err(RegistryError::BrokeOff {
                    at: self.at,
                    size: self.size,
                    resumes: self.resumes,
                    stalled: self.stalled,
                    cause: Box::new(broke),
                });
            }
            let stalled = self.stalled;
            self.stalled += 1;
            self.resumes += 1;
            tracing::debug!(at = self.at, stalled, "resuming a blob body: {broke}");
            match (self.reopen)(self.at, stalled).await {
                Ok(Part {
                    from: Some(start),
                    chunks,
                }) if start == self.at => {
                    self.chunks = chunks;
                    self.skip = 0;
                    self.partial = true;
                    return Ok(());
                }
                Ok(Part {
                    from: Some(start), ..
                }) => {
                    self.done = true;
                    return Err(RegistryError::WrongRange {
                        asked: self.at,
                        answered: start,
                    });
                }
                Ok(Part { from: None, chunks }) => {
                    self.chunks = chunks;
                    self.skip = self.at;
                    self.partial = false;
                    return Ok(());
                }
                // Asking again failed (after the client's own retries): an attempt that got
                // no further.
                Err(e) => broke = e,
            }
        }
    }
}

/// The start of a `Content-Range: bytes START-END/TOTAL` header.
pub(crate) fn content_range_start(value: &str) -> Option<u64> {
    let range = value.trim().strip_prefix("bytes")?.trim_start();
    range.split('-').next()?.trim().parse().ok()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// Where a fake registry breaks its bodies off, and how it answers a resume.
    #[derive(Clone, Copy)]
    pub(crate) enum Answer {
        /// 206 from where it was asked.
        Honest,
        /// 206 from this offset, whatever was asked.
        From(u64),
        /// 200 with the whole blob.
        Whole,
        /// 206 from where it was asked, this many bytes at most, ending cleanly.
        Short(usize),
    }

    /// The chunks of `blob[from..]` in pieces of `chunk`, broken off after `cut` bytes of
    /// this body if `cut` is given.
    fn body(blob: &Arc<Vec<u8>>, from: u64, chunk: usize, cut: Option<u64>) -> Chunks {
        let rest = &blob[from as usize..];
        let end = cut.map_or(rest.len(), |c| (c as usize).min(rest.len()));
        let mut items: Vec<Result<Bytes, RegistryError>> = rest[..end]
            .chunks(chunk.max(1))
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        if cut.is_some() {
            items.push(Err(RegistryError::Unreachable {
                host: "fake".into(),
                detail: "the body broke off".into(),
            }));
        }
        futures::stream::iter(items).boxed()
    }

    /// A blob read by a fake registry whose `n`th body (first GET = 0) breaks off after
    /// `cuts[n]` bytes (no cut past the list), answering resumes as `answer`. Also returns
    /// the `from` of every resume asked for.
    pub(crate) fn fake_stream(
        blob: Vec<u8>,
        chunk: usize,
        cuts: Vec<Option<u64>>,
        answer: Answer,
        max_stalled: u32,
    ) -> (BlobStream, Arc<Mutex<Vec<u64>>>) {
        let blob = Arc::new(blob);
        let asked = Arc::new(Mutex::new(Vec::new()));
        let first = Part {
            from: None,
            chunks: body(&blob, 0, chunk, cuts.first().copied().flatten()),
        };
        let cut = move |n: usize| cuts.get(n).copied().flatten();
        let size = blob.len() as u64;
        let log = asked.clone();
        let mut n = 0;
        let reopen: Reopen = Box::new(move |from, _stalled| {
            n += 1;
            log.lock().expect("log").push(from);
            let part = match answer {
                Answer::Honest => Part {
                    from: Some(from),
                    chunks: body(&blob, from, chunk, cut(n)),
                },
                Answer::From(start) => Part {
                    from: Some(start),
                    chunks: body(&blob, start, chunk, cut(n)),
                },
                Answer::Whole => Part {
                    from: None,
                    chunks: body(&blob, 0, chunk, cut(n)),
                },
                Answer::Short(most) => {
                    let end = (from as usize + most).min(blob.len());
                    let part = Arc::new(blob[..end].to_vec());
                    Part {
                        from: Some(from),
                        chunks: body(&part, from, chunk, cut(n)),
                    }
                }
            };
            Box::pin(async move { Ok(part) })
        });
        let url = "http://fake/v2/r/blobs/sha256:0".to_string();
        (
            BlobStream::new(first, url, size, max_stalled, reopen),
            asked,
        )
    }

    async fn read_all(mut stream: BlobStream) -> Result<Vec<u8>, RegistryError> {
        let mut out = Vec::new();
        while let Some(chunk) = stream.chunk_bytes().await? {
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    fn blob() -> Vec<u8> {
        (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect()
    }

    #[tokio::test]
    async fn a_body_broken_anywhere_is_resumed_from_where_it_stopped() {
        let blob = blob();
        for cut in [0, 1, 999, 1000, 1001, 9_999] {
            let (stream, asked) =
                fake_stream(blob.clone(), 1000, vec![Some(cut)], Answer::Honest, 3);
            assert_eq!(read_all(stream).await.expect("read"), blob, "cut at {cut}");
            assert_eq!(*asked.lock().expect("log"), [cut]);
        }
    }

    #[tokio::test]
    async fn a_body_broken_at_its_last_byte_is_not_asked_for_again() {
        let blob = blob();
        let (stream, asked) = fake_stream(blob.clone(), 999, vec![Some(10_000)], Answer::Honest, 3);
        assert_eq!(read_all(stream).await.expect("read"), blob);
        assert!(asked.lock().expect("log").is_empty());
    }

    #[tokio::test]
    async fn a_whole_body_sent_again_is_read_on_after_the_bytes_already_read() {
        let blob = blob();
        // Broken at 2,500, then the whole blob again, broken at 4,000 (1,500 new bytes), then
        // the whole blob.
        let cuts = vec![Some(2_500), Some(4_000)];
        let (stream, asked) = fake_stream(blob.clone(), 700, cuts, Answer::Whole, 3);
        assert_eq!(read_all(stream).await.expect("read"), blob);
        assert_eq!(*asked.lock().expect("log"), [2_500, 4_000]);
    }

    #[tokio::test]
    async fn partial_answers_shorter_than_the_rest_are_asked_on_from_where_they_ended() {
        let blob = blob();
        let (stream, asked) = fake_stream(
            blob.clone(),
            700,
            vec![Some(1_000)],
            Answer::Short(4_000),
            3,
        );
        assert_eq!(read_all(stream).await.expect("read"), blob);
        assert_eq!(*asked.lock().expect("log"), [1_000, 5_000, 9_000]);
        // A 206 that ends cleanly without a byte: no progress, given up after three.
        let (stream, asked) = fake_stream(blob, 700, vec![Some(1_000)], Answer::Short(0), 3);
        let e = read_all(stream).await.expect_err("gives up");
        assert_eq!(*asked.lock().expect("log"), [1_000, 1_000, 1_000]);
        assert!(
            e.to_string()
                .contains("a partial answer ended at byte 1000"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn a_partial_answer_from_elsewhere_is_refused() {
        let (stream, _) = fake_stream(blob(), 1000, vec![Some(3_000)], Answer::From(0), 3);
        let e = read_all(stream).await.expect_err("refused");
        assert!(matches!(
            e,
            RegistryError::WrongRange {
                asked: 3_000,
                answered: 0
            }
        ));
    }

    #[tokio::test]
    async fn resumes_without_progress_give_up_with_the_count() {
        // 3,000 bytes, then every resume breaks off at once.
        let cuts = vec![Some(3_000), Some(0), Some(0), Some(0), Some(0)];
        let (stream, asked) = fake_stream(blob(), 1000, cuts, Answer::Honest, 3);
        let e = read_all(stream).await.expect_err("gives up");
        assert_eq!(*asked.lock().expect("log"), [3_000, 3_000, 3_000]);
        let RegistryError::BrokeOff {
            at,
            size,
            resumes,
            stalled,
            ..
        } = &e
        else {
            panic!("{e:?}");
        };
        assert_eq!((*at, *size, *resumes, *stalled), (3_000, 10_000, 3, 3));
        assert!(e.to_string().contains("resumed 3 times"), "{e}");
    }

    #[tokio::test]
    async fn a_client_allowed_no_retries_resumes_nothing() {
        let (stream, asked) = fake_stream(blob(), 1000, vec![Some(3_000)], Answer::Honest, 0);
        let e = read_all(stream).await.expect_err("not resumed");
        assert!(asked.lock().expect("log").is_empty());
        assert!(matches!(e, RegistryError::Unreachable { .. }), "{e:?}");
    }

    #[tokio::test]
    async fn progress_resets_the_count_of_resumes_without_progress() {
        // Every body breaks off after 500 bytes: twenty resumes, each getting further.
        let cuts = vec![Some(500); 30];
        let blob = blob();
        let (stream, asked) = fake_stream(blob.clone(), 300, cuts, Answer::Honest, 1);
        assert_eq!(read_all(stream).await.expect("read"), blob);
        assert_eq!(asked.lock().expect("log").len(), 19);
    }

    #[test]
    fn content_range_starts_are_read() {
        assert_eq!(content_range_start("bytes 4096-99999/100000"), Some(4096));
        assert_eq!(content_range_start("bytes 0-9/*"), Some(0));
        assert_eq!(content_range_start("items 1-2/3"), None);
        assert_eq!(content_range_start("bytes */100"), None);
    }
}
