//! A layer from the registry into [`super::stream::list_blob`]: the body is downloaded by an
//! async loop and handed chunk by chunk, as the client received them (no copy), through a
//! small bounded channel, to the listing on a blocking thread. Nothing holds more than a few
//! chunks; dropping the future stops the download, and the listing thread then ends at the
//! next chunk it waits for. A body that breaks off is resumed where it stopped by
//! [`BlobStream`] (`Range`), unseen by the listing and the digest.

use std::io::{self, BufRead, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use bytes::Bytes;
use tokio::sync::mpsc;

use super::archive::Limits;
use super::cache::ListingCache;
use super::entry::Listing;
use super::error::LayerError;
use super::stream::{Hasher, list_blob, list_blob_checked_elsewhere};
use crate::registry::{BlobStream, Client, Descriptor, RepoName};

/// Chunks in flight between the download and the listing.
const CHANNEL_CHUNKS: usize = 16;

/// The payload of the `io::Error` the listing sees when the download broke off, so the
/// error names the download and not the archive.
#[derive(Debug)]
pub struct Broken(pub String);

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Broken {}

/// Where a listing came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Read from the on-disk cache: no blob request was made.
    Cache,
    /// Read from the registry (and stored in the cache, when there is one) or the layout.
    Registry,
}

/// How to list layers: caps, the cache, and the counter of bytes read (progress).
#[derive(Debug, Clone, Default)]
pub struct ListOptions {
    pub limits: Limits,
    pub cache: Option<ListingCache>,
    /// Raw bytes read so far (for a progress display), across every layer listed with it.
    pub progress: Arc<AtomicU64>,
}

/// Where the layers of one repository are read from.
#[derive(Debug, Clone)]
pub enum LayerSource {
    /// A registry: blobs streamed through its client.
    Registry { client: Client, repo: RepoName },
    /// An OCI image layout on disk: `blobs/<algorithm>/<hex>` under this directory.
    Layout { dir: PathBuf },
}

impl LayerSource {
    /// Lists `layer`: from the cache when it holds it, else read once and cached.
    pub async fn list(
        &self,
        layer: &Descriptor,
        options: &ListOptions,
    ) -> Result<(Listing, Origin), LayerError> {
        match self {
            LayerSource::Registry { client, repo } => {
                list_layer(client, repo, layer, options).await
            }
            LayerSource::Layout { dir } => list_layout_layer(dir, layer, options).await,
        }
    }
}

/// Lists `layer` from a layout directory (no cache: the file is already local).
async fn list_layout_layer(
    dir: &Path,
    layer: &Descriptor,
    options: &ListOptions,
) -> Result<(Listing, Origin), LayerError> {
    let digest = layer.digest.clone();
    let path = dir
        .join("blobs")
        .join(digest.algorithm())
        .join(digest.hex());
    let media_type = layer.media_type.clone();
    let limits = options.limits;
    let progress = options.progress.clone();
    let listed = digest.clone();
    let listing = tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(&path).map_err(|e| LayerError::Download {
            layer: listed.clone(),
            detail: format!("{}: {e}", path.display()),
        })?;
        list_blob(
            io::BufReader::with_capacity(256 * 1024, file),
            &listed,
            &media_type,
            &limits,
            progress,
        )
    })
    .await
    .map_err(|e| LayerError::Internal {
        layer: digest,
        detail: e.to_string(),
    })??;
    Ok((listing, Origin::Registry))
}

/// Lists `layer` of `repo`: from the cache when it holds it; an eStargz or zstd:chunked
/// layer from its table of contents through Range requests (see [`super::estargz`] and
/// [`super::zstd_chunked`]); else streamed from the registry once, digest checked. Then
/// cached.
pub async fn list_layer(
    client: &Client,
    repo: &RepoName,
    layer: &Descriptor,
    options: &ListOptions,
) -> Result<(Listing, Origin), LayerError> {
    if let Some(cache) = &options.cache
        && let Some(listing) = cache.get(&layer.digest).await
    {
        return Ok((listing, Origin::Cache));
    }
    if let Some(toc) = super::estargz::toc_digest(layer)
        && let Some(listing) = super::estargz::list_from_toc(client, repo, layer, &toc).await
    {
        if let Some(cache) = &options.cache {
            cache.put(&listing).await;
        }
        return Ok((listing, Origin::Registry));
    }
    if let Some(toc) = super::zstd_chunked::toc_location(layer)
        && let Some(listing) = super::zstd_chunked::list_from_toc(client, repo, layer, &toc).await
    {
        if let Some(cache) = &options.cache {
            cache.put(&listing).await;
        }
        return Ok((listing, Origin::Registry));
    }
    let body = client
        .get_blob_stream(repo, &layer.digest, layer.size)
        .await
        .map_err(|source| LayerError::Registry {
            layer: layer.digest.clone(),
            source,
        })?;
    let listing = list_download(body, layer, options).await?;
    if let Some(cache) = &options.cache {
        cache.put(&listing).await;
    }
    Ok((listing, Origin::Registry))
}

/// Lists `layer` from `body` as it arrives (resumed by the body where the connection broke
/// off: the listing and the digest see each byte once), digest checked.
async fn list_download(
    mut body: BlobStream,
    layer: &Descriptor,
    options: &ListOptions,
) -> Result<Listing, LayerError> {
    let digest = layer.digest.clone();
    let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(CHANNEL_CHUNKS);
    let media_type = layer.media_type.clone();
    let limits = options.limits;
    let progress = options.progress.clone();
    let listed = digest.clone();
    let listing = tokio::task::spawn_blocking(move || {
        let reader = ChannelReader {
            rx,
            chunk: Bytes::new(),
            at: 0,
        };
        list_blob_checked_elsewhere(reader, &listed, &media_type, &limits, progress)
    });
    // The digest is computed here, as the bytes arrive, in parallel with the listing
    // thread's inflating and parsing; `None` when the download did not reach the end. Each
    // chunk goes to the listing before it is hashed, so the inflating never waits for the
    // digest of bytes it already could have.
    let mut hasher = Hasher::for_layer(&digest);
    let download = async move {
        let complete = loop {
            match body.chunk_bytes().await {
                Ok(Some(chunk)) => {
                    // The listing stopped (it failed, or has what it needs): stop downloading.
                    if tx.send(Ok(chunk.clone())).await.is_err() {
                        break false;
                    }
                    hasher.update(&chunk);
                }
                Ok(None) => break true,
                Err(e) => {
                    let _ = tx.send(Err(io::Error::other(Broken(e.to_string())))).await;
                    break false;
                }
            }
        };
        // The listing sees the end of the input when the sender is gone.
        drop(tx);
        (complete, hasher)
    };
    let ((complete, hasher), listing) = tokio::join!(download, listing);
    let listing = listing.map_err(|e| LayerError::Internal {
        layer: digest.clone(),
        detail: e.to_string(),
    })?;
    // A listing is given out only for bytes that are the layer; a listing that failed over
    // bytes that are not the layer says that first (a download that broke off says so).
    let actual = if complete { hasher.finish() } else { None };
    let mismatch =
        actual
            .filter(|a| a != digest.as_str())
            .map(|actual| LayerError::DigestMismatch {
                layer: digest.clone(),
                actual,
            });
    let listing = match (listing, mismatch) {
        (Ok(_), Some(mismatch)) => return Err(mismatch),
        (Err(LayerError::Corrupt { .. }), Some(mismatch)) => return Err(mismatch),
        (Ok(listing), None) => listing,
        (Err(e), _) => return Err(e),
    };
    if !complete {
        return Err(LayerError::Download {
            layer: digest,
            detail: "the download ended before the layer did".into(),
        });
    }
    Ok(listing)
}

/// The receiving end of the channel as a `BufRead`: the decompressor reads each chunk where
/// the client received it, with no copy.
struct ChannelReader {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    chunk: Bytes,
    at: usize,
}

impl BufRead for ChannelReader {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.at == self.chunk.len() {
            match self.rx.blocking_recv() {
                Some(Ok(chunk)) => {
                    self.chunk = chunk;
                    self.at = 0;
                }
                Some(Err(e)) => return Err(e),
                None => return Ok(&[]),
            }
        }
        Ok(&self.chunk[self.at..])
    }

    fn consume(&mut self, n: usize) {
        self.at = (self.at + n).min(self.chunk.len());
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = buf.len().min(available.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest as _, Sha256};
    use std::io::Write;

    use crate::registry::Digest;
    use crate::registry::resume::tests::{Answer, fake_stream};

    /// A gzip layer with a small file, a file of 300 KiB (over a batch and a read) and a
    /// directory; and the big file's content.
    fn layer() -> (Vec<u8>, Vec<u8>) {
        let big: Vec<u8> = (0..300 * 1024u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
            .collect();
        let mut b = tar::Builder::new(Vec::new());
        let mut add = |path: &str, kind: tar::EntryType, data: &[u8]| {
            let mut h = tar::Header::new_gnu();
            h.set_path(path).expect("path");
            h.set_entry_type(kind);
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append(&h, data).expect("append");
        };
        add("etc/", tar::EntryType::Directory, b"");
        add(
            "etc/hosts",
            tar::EntryType::Regular,
            b"127.0.0.1 localhost\n",
        );
        add("big.bin", tar::EntryType::Regular, &big);
        let tar = b.into_inner().expect("tar");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar).expect("gzip");
        (gz.finish().expect("gzip"), big)
    }

    /// Lists `blob` as the download hands it over: `chunks` (an empty one first), then
    /// `last` if any.
    fn list_chunks(
        digest: &Digest,
        chunks: Vec<Bytes>,
        last: Option<io::Error>,
    ) -> Result<Listing, LayerError> {
        let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(4);
        let feeder = std::thread::spawn(move || {
            let items = std::iter::once(Ok(Bytes::new()))
                .chain(chunks.into_iter().map(Ok))
                .chain(last.map(Err));
            for item in items {
                if tx.blocking_send(item).is_err() {
                    break;
                }
            }
        });
        let reader = ChannelReader {
            rx,
            chunk: Bytes::new(),
            at: 0,
        };
        let listing =
            list_blob_checked_elsewhere(reader, digest, "", &Limits::default(), Arc::default());
        feeder.join().expect("feeder");
        listing
    }

    #[test]
    fn chunks_of_any_size_list_as_the_whole_blob() {
        let (blob, big) = layer();
        let digest = Digest::sha256_of(&blob);
        let whole = list_blob(&blob[..], &digest, "", &Limits::default(), Arc::default())
            .expect("list the whole blob");
        let paths: Vec<&str> = whole.entries.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["etc", "etc/hosts", "big.bin"]);
        let big_hash = hex::encode(Sha256::digest(&big));
        assert_eq!(whole.entries[2].sha256.as_deref(), Some(big_hash.as_str()));
        // Chunk edges inside the gzip magic, the gzip header, a tar header and file data.
        for size in [1, 2, 3, 5, 511, 4096, 65_537, blob.len()] {
            let chunks = blob.chunks(size).map(Bytes::copy_from_slice).collect();
            let listing = list_chunks(&digest, chunks, None).expect("list the chunks");
            assert_eq!(listing.entries, whole.entries, "chunks of {size} bytes");
            assert_eq!(listing.compressed_bytes, blob.len() as u64);
            assert_eq!(listing.tar_bytes, whole.tar_bytes);
        }
    }

    fn descriptor(blob: &[u8]) -> Descriptor {
        Descriptor {
            media_type: "application/vnd.oci.image.layer.v1.tar+gzip".into(),
            digest: Digest::sha256_of(blob),
            size: blob.len() as u64,
            platform: None,
            annotations: None,
        }
    }

    /// Lists `blob` through a body broken off as `cuts` says and resumed as `answer` says;
    /// the listing, the bytes counted as read, and where the resumes asked from.
    async fn list_resumed(
        blob: &[u8],
        cuts: Vec<Option<u64>>,
        answer: Answer,
    ) -> (Result<Listing, LayerError>, u64, Vec<u64>) {
        let (body, asked) = fake_stream(blob.to_vec(), 4096, cuts, answer, 3);
        let options = ListOptions::default();
        let listing = list_download(body, &descriptor(blob), &options).await;
        let read = options.progress.load(std::sync::atomic::Ordering::Relaxed);
        let asked = asked.lock().expect("log").clone();
        (listing, read, asked)
    }

    #[tokio::test]
    async fn a_download_broken_off_anywhere_and_resumed_lists_as_the_whole_blob() {
        let (blob, _) = layer();
        let digest = Digest::sha256_of(&blob);
        let whole = list_blob(&blob[..], &digest, "", &Limits::default(), Arc::default())
            .expect("list the whole blob");
        let len = blob.len() as u64;
        // Breaks inside the gzip magic and header, in deflate data, one byte before the end;
        // then twice in a row.
        let mut cases: Vec<Vec<Option<u64>>> = [0, 1, 2, 9, 10, 4095, 4096, len / 2, len - 1]
            .into_iter()
            .map(|cut| vec![Some(cut)])
            .collect();
        cases.push(vec![Some(len / 3), Some(len / 3)]);
        for cuts in cases {
            for answer in [Answer::Honest, Answer::Whole] {
                let (listing, read, asked) = list_resumed(&blob, cuts.clone(), answer).await;
                let listing = listing.expect("listed");
                assert_eq!(listing.entries, whole.entries, "cuts {cuts:?}");
                assert_eq!(listing.compressed_bytes, len);
                // Bytes sent again (a 200 to a resume) are not counted twice.
                assert_eq!(read, len, "cuts {cuts:?}");
                let expected: Vec<u64> = match answer {
                    Answer::Honest => cuts
                        .iter()
                        .scan(0, |at, c| {
                            *at += c.unwrap_or(0);
                            Some(*at)
                        })
                        .collect(),
                    _ => cuts.iter().map(|c| c.unwrap_or(0)).collect(),
                };
                assert_eq!(asked, expected, "cuts {cuts:?}");
            }
        }
    }

    #[tokio::test]
    async fn a_resume_answered_from_the_wrong_place_is_a_download_error() {
        let (blob, _) = layer();
        let cut = blob.len() as u64 / 2;
        let (listing, _, asked) = list_resumed(&blob, vec![Some(cut)], Answer::From(0)).await;
        assert_eq!(asked, [cut]);
        match listing {
            Err(LayerError::Download { layer, detail }) => {
                assert_eq!(layer, Digest::sha256_of(&blob));
                assert!(
                    detail.contains(&format!(
                        "from byte {cut}, the registry answered with bytes from 0"
                    )),
                    "{detail}"
                );
            }
            other => panic!("expected a download error, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn resumes_that_get_no_further_end_in_a_download_error_with_the_count() {
        let (blob, _) = layer();
        let cut = blob.len() as u64 / 2;
        let cuts = vec![Some(cut), Some(0), Some(0), Some(0), Some(0)];
        let (listing, read, asked) = list_resumed(&blob, cuts, Answer::Honest).await;
        assert_eq!(asked, [cut, cut, cut]);
        assert!(read <= cut, "{read}");
        let error = listing.expect_err("gives up");
        let text = error.to_string();
        assert!(matches!(error, LayerError::Download { .. }), "{error:?}");
        assert!(
            text.contains(Digest::sha256_of(&blob).as_str())
                && text.contains(&format!(
                    "resumed 3 times, the last 3 without getting past byte {cut} of {}",
                    blob.len()
                )),
            "{text}"
        );
    }

    #[test]
    fn a_download_that_breaks_off_is_a_download_error() {
        let (blob, _) = layer();
        let digest = Digest::sha256_of(&blob);
        let half = vec![Bytes::copy_from_slice(&blob[..blob.len() / 2])];
        let broken = io::Error::other(Broken("connection reset".into()));
        match list_chunks(&digest, half, Some(broken)) {
            Err(LayerError::Download { layer, detail }) => {
                assert_eq!(layer, digest);
                assert_eq!(detail, "connection reset");
            }
            other => panic!("expected a download error, got {other:?}"),
        }
    }
}
