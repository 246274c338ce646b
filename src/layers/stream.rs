//! One pass over a layer's bytes: the blob's digest checked, the compression found from its
//! first bytes, the tar read through [`super::archive`]. Synchronous, over any `BufRead`,
//! whose buffer the decompressor reads in place: the registry's byte stream arrives through
//! [`super::fetch`], a file through a `BufReader`.

use std::io::{self, BufRead, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest as _, Sha256, Sha512};

use super::archive::{Limits, TarError, read_entries};
use super::entry::{Compression, Listing};
use super::error::LayerError;
use crate::registry::Digest;

/// Magic bytes of a gzip member and of a zstd frame.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// The compression of a layer: its first bytes decide; with no known magic (a plain tar
/// starts with a file name) the media type does, and a media type naming neither is a tar.
pub fn detect(first: &[u8], media_type: &str) -> Compression {
    if first.starts_with(&GZIP_MAGIC) {
        Compression::Gzip
    } else if first.starts_with(&ZSTD_MAGIC) {
        Compression::Zstd
    } else if first.len() < 4 && media_type.ends_with("gzip") {
        Compression::Gzip
    } else if first.len() < 4 && media_type.ends_with("zstd") {
        Compression::Zstd
    } else {
        Compression::None
    }
}

/// The running digest of a blob's raw bytes.
pub(crate) enum Hasher {
    Sha256(Sha256),
    Sha512(Sha512),
    /// Checked elsewhere (by the download, on another thread).
    Elsewhere,
}

impl Hasher {
    pub(crate) fn for_layer(layer: &Digest) -> Self {
        match layer.algorithm() {
            "sha512" => Hasher::Sha512(Sha512::new()),
            _ => Hasher::Sha256(Sha256::new()),
        }
    }

    pub(crate) fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(bytes),
            Hasher::Sha512(h) => h.update(bytes),
            Hasher::Elsewhere => {}
        }
    }

    /// `algorithm:hex`, or `None` when hashed elsewhere.
    pub(crate) fn finish(self) -> Option<String> {
        match self {
            Hasher::Sha256(h) => Some(format!("sha256:{}", hex::encode(h.finalize()))),
            Hasher::Sha512(h) => Some(format!("sha512:{}", hex::encode(h.finalize()))),
            Hasher::Elsewhere => None,
        }
    }
}

/// The raw reader: what it has seen, bytes and their hash, counted as the decompressor
/// consumes them from the reader's own buffer (no copy).
struct Raw<R> {
    inner: R,
    hasher: Hasher,
    bytes: u64,
    progress: Arc<AtomicU64>,
}

impl<R: BufRead> BufRead for Raw<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, n: usize) {
        if n > 0 {
            // The bytes consumed are the front of what `fill_buf` gave, still buffered.
            if let Ok(buffered) = self.inner.fill_buf() {
                self.hasher.update(&buffered[..n]);
            }
            self.bytes += n as u64;
            self.progress.fetch_add(n as u64, Ordering::Relaxed);
        }
        self.inner.consume(n);
    }
}

impl<R: BufRead> Read for Raw<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = buf.len().min(available.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

/// Lists the layer `layer` from its raw (compressed) bytes. `progress` counts the raw
/// bytes read. The whole blob is read and its digest checked before the listing is
/// returned: a listing of bytes that are not the layer is never given out, nor cached.
pub fn list_blob<R: BufRead>(
    raw: R,
    layer: &Digest,
    media_type: &str,
    limits: &Limits,
    progress: Arc<AtomicU64>,
) -> Result<Listing, LayerError> {
    list_with(
        raw,
        layer,
        media_type,
        limits,
        progress,
        Hasher::for_layer(layer),
    )
}

/// [`list_blob`] for a caller that checks the digest itself (the download hashes the bytes
/// on its own thread, in parallel with the listing); a failed listing is not checked.
pub(crate) fn list_blob_checked_elsewhere<R: BufRead>(
    raw: R,
    layer: &Digest,
    media_type: &str,
    limits: &Limits,
    progress: Arc<AtomicU64>,
) -> Result<Listing, LayerError> {
    list_with(raw, layer, media_type, limits, progress, Hasher::Elsewhere)
}

fn list_with<R: BufRead>(
    raw: R,
    layer: &Digest,
    media_type: &str,
    limits: &Limits,
    progress: Arc<AtomicU64>,
    hasher: Hasher,
) -> Result<Listing, LayerError> {
    let mut raw = Raw {
        inner: raw,
        hasher,
        bytes: 0,
        progress,
    };
    let mut first = [0u8; 4];
    let mut got = 0;
    while got < first.len() {
        let n = raw
            .read(&mut first[got..])
            .map_err(|e| io_error(layer, e))?;
        if n == 0 {
            break;
        }
        got += n;
    }
    let first = &first[..got];
    let compression = detect(first, media_type);
    let mut input = io::Cursor::new(first.to_vec()).chain(&mut raw);
    let mut entries = Vec::new();
    let collect = |e| {
        entries.push(e);
        Ok(())
    };
    let parsed = match compression {
        Compression::Gzip => read_entries(
            flate2::bufread::MultiGzDecoder::new(&mut input),
            limits,
            collect,
        ),
        Compression::Zstd => match zstd::stream::read::Decoder::with_buffer(&mut input) {
            Ok(decoder) => read_entries(decoder, limits, collect),
            Err(e) => Err(TarError::Io(e)),
        },
        Compression::None => read_entries(&mut input, limits, collect),
    };
    // Whatever the decompressor left unread still belongs to the blob and its digest.
    let drained = io::copy(&mut input, &mut io::sink());
    let tar_bytes = match (parsed, drained) {
        (Ok(n), Ok(_)) => n,
        (Err(e), _) => {
            // A download that broke off says so; otherwise a listing that failed over bytes
            // that are not the layer says that first.
            let error = tar_error(layer, e);
            if matches!(error, LayerError::Corrupt { .. })
                && let Err(mismatch) = check_digest(raw, layer)
            {
                return Err(mismatch);
            }
            return Err(error);
        }
        (Ok(_), Err(e)) => return Err(io_error(layer, e)),
    };
    let compressed_bytes = raw.bytes;
    check_digest(raw, layer)?;
    Ok(Listing {
        layer: layer.clone(),
        compression,
        compressed_bytes,
        tar_bytes,
        entries,
    })
}

fn check_digest<R>(raw: Raw<R>, layer: &Digest) -> Result<(), LayerError> {
    match raw.hasher.finish() {
        Some(actual) if actual != layer.as_str() => Err(LayerError::DigestMismatch {
            layer: layer.clone(),
            actual,
        }),
        _ => Ok(()),
    }
}

fn io_error(layer: &Digest, e: io::Error) -> LayerError {
    tar_error(layer, TarError::Io(e))
}

fn tar_error(layer: &Digest, e: TarError) -> LayerError {
    let layer = layer.clone();
    match e {
        TarError::Io(e) => match e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<super::fetch::Broken>())
        {
            Some(broken) => LayerError::Download {
                layer,
                detail: broken.0.clone(),
            },
            None => LayerError::Corrupt {
                layer,
                detail: format!("it cannot be decompressed ({e})"),
            },
        },
        TarError::Corrupt(detail) => LayerError::Corrupt { layer, detail },
        TarError::TooManyEntries(limit) => LayerError::TooManyEntries { layer, limit },
        TarError::TooManyNameBytes(limit) => LayerError::NamesTooLong { layer, limit },
        TarError::TooLarge(limit) => LayerError::TooLarge { layer, limit },
        TarError::HeaderTooLarge(limit) => LayerError::Corrupt {
            layer,
            detail: format!("a long-name or PAX header is over {limit} bytes"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn tar_bytes() -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_path("a.txt").expect("path");
        h.set_size(3);
        h.set_mode(0o644);
        h.set_cksum();
        b.append(&h, &b"abc"[..]).expect("append");
        b.into_inner().expect("finish")
    }

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).expect("gzip");
        e.finish().expect("gzip")
    }

    fn list(blob: &[u8], media_type: &str) -> Result<Listing, LayerError> {
        let digest = Digest::sha256_of(blob);
        list_blob(
            blob,
            &digest,
            media_type,
            &Limits::default(),
            Arc::default(),
        )
    }

    #[test]
    fn gzip_zstd_and_plain_tar_by_magic() {
        let tar = tar_bytes();
        let z = zstd::encode_all(&tar[..], 3).expect("zstd");
        for (blob, want) in [
            (gz(&tar), Compression::Gzip),
            (z, Compression::Zstd),
            (tar.clone(), Compression::None),
        ] {
            // The media type lies on purpose: the magic bytes win.
            let listing = list(&blob, "application/vnd.oci.image.layer.v1.tar").expect("list");
            assert_eq!(listing.compression, want);
            assert_eq!(listing.entries.len(), 1);
            assert_eq!(listing.entries[0].path, "a.txt");
            assert_eq!(listing.compressed_bytes, blob.len() as u64);
            assert_eq!(listing.tar_bytes, tar.len() as u64);
        }
    }

    #[test]
    fn a_wrong_digest_is_one_sentence_naming_the_layer() {
        let blob = gz(&tar_bytes());
        let claimed = Digest::sha256_of(b"something else");
        let e = list_blob(&blob[..], &claimed, "", &Limits::default(), Arc::default())
            .expect_err("mismatch");
        let text = e.to_string();
        assert!(matches!(e, LayerError::DigestMismatch { .. }), "{text}");
        assert!(text.contains(claimed.as_str()), "{text}");
    }

    #[test]
    fn a_truncated_gzip_layer_is_corrupt() {
        let blob = gz(&tar_bytes());
        let cut = &blob[..blob.len() - 10];
        let digest = Digest::sha256_of(cut);
        let e =
            list_blob(cut, &digest, "", &Limits::default(), Arc::default()).expect_err("truncated");
        assert!(matches!(e, LayerError::Corrupt { .. }), "{e}");
        assert!(e.to_string().contains(digest.as_str()), "{e}");
    }
}
