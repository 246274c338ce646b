//! eStargz layers listed from their table of contents, without reading the layer: the
//! footer (the last 51 bytes, a gzip member whose extra field says where the TOC starts),
//! then the TOC (a gzip'd tar holding `stargz.index.json`), both with HTTP Range requests.
//! The TOC is checked against the `containerd.io/snapshot/stargz/toc.digest` annotation of
//! the layer's descriptor, which the manifest's digest covers. Format:
//! containerd/stargz-snapshotter `docs/estargz.md`.

use std::io::Read;

use super::entry::{Compression, Listing};
use super::toc::{MAX_TOC_BYTES, entries_of_toc};
use crate::registry::{Client, Descriptor, Digest, RepoName};

pub const TOC_DIGEST_ANNOTATION: &str = "containerd.io/snapshot/stargz/toc.digest";
const FOOTER_SIZE: u64 = 51;
const TOC_NAME: &str = "stargz.index.json";

/// The TOC digest a descriptor announces, when it is an eStargz layer.
pub fn toc_digest(layer: &Descriptor) -> Option<Digest> {
    let value = layer.annotations.as_ref()?.get(TOC_DIGEST_ANNOTATION)?;
    Digest::parse(value).ok()
}

/// The TOC offset from an eStargz footer: a gzip header with FEXTRA whose subfield `SG`
/// holds `%016x` of the offset followed by `STARGZ`.
pub fn footer_offset(footer: &[u8]) -> Option<u64> {
    if footer.len() != FOOTER_SIZE as usize || footer[..3] != [0x1f, 0x8b, 0x08] {
        return None;
    }
    if footer[3] & 0x04 == 0 {
        return None;
    }
    let xlen = u16::from_le_bytes([footer[10], footer[11]]) as usize;
    let extra = footer.get(12..12 + xlen)?;
    if extra.len() < 4 + 22 || &extra[..2] != b"SG" {
        return None;
    }
    let data = &extra[4..4 + 22];
    if &data[16..] != b"STARGZ" {
        return None;
    }
    u64::from_str_radix(std::str::from_utf8(&data[..16]).ok()?, 16).ok()
}

/// The TOC JSON out of the gzip'd tar that holds it.
fn toc_json(member: &[u8]) -> Result<Vec<u8>, String> {
    let mut tar = Vec::new();
    flate2::read::MultiGzDecoder::new(member)
        .take(MAX_TOC_BYTES + 1024)
        .read_to_end(&mut tar)
        .map_err(|e| format!("the TOC does not decompress: {e}"))?;
    let header = tar.get(..512).ok_or("the TOC archive is empty")?;
    let name_end = header[..100].iter().position(|&b| b == 0).unwrap_or(100);
    if &header[..name_end] != TOC_NAME.as_bytes() {
        return Err(format!("the TOC archive does not start with {TOC_NAME}"));
    }
    let size_text: String = header[124..136]
        .iter()
        .take_while(|&&b| b != 0 && b != b' ')
        .map(|&b| b as char)
        .collect();
    let size = u64::from_str_radix(size_text.trim(), 8).map_err(|_| "bad TOC size")?;
    if size > MAX_TOC_BYTES {
        return Err(format!("the TOC is over {MAX_TOC_BYTES} bytes"));
    }
    tar.get(512..512 + size as usize)
        .map(<[u8]>::to_vec)
        .ok_or_else(|| "the TOC is cut short".to_string())
}

/// Lists an eStargz layer from its TOC. `Ok(None)`: this layer cannot be listed that way
/// (the registry ignored Range, or the footer or TOC does not check out), so the caller
/// streams it instead.
pub async fn list_from_toc(
    client: &Client,
    repo: &RepoName,
    layer: &Descriptor,
    toc_digest: &Digest,
) -> Option<Listing> {
    let digest = &layer.digest;
    if layer.size < FOOTER_SIZE {
        return None;
    }
    let footer_start = layer.size - FOOTER_SIZE;
    let footer = client
        .get_blob_range(repo, digest, footer_start, layer.size - 1)
        .await
        .ok()??;
    let offset = footer_offset(&footer)?;
    if offset >= footer_start {
        return None;
    }
    let member = client
        .get_blob_range(repo, digest, offset, footer_start - 1)
        .await
        .ok()??;
    let json = match toc_json(&member) {
        Ok(json) => json,
        Err(e) => {
            tracing::debug!(%digest, "eStargz TOC unusable, streaming the layer: {e}");
            return None;
        }
    };
    if !toc_digest.matches(&json) {
        tracing::debug!(%digest, "the eStargz TOC does not match its annotation; streaming");
        return None;
    }
    let entries = entries_of_toc(&json).ok()?;
    Some(Listing {
        layer: digest.clone(),
        compression: Compression::Gzip,
        compressed_bytes: layer.size,
        // Not known without reading the layer.
        tar_bytes: 0,
        entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn footer_offsets() {
        let mut footer = vec![0x1f, 0x8b, 0x08, 0x04, 0, 0, 0, 0, 0, 0xff, 26, 0];
        footer.extend_from_slice(b"SG");
        footer.extend_from_slice(&22u16.to_le_bytes());
        footer.extend_from_slice(format!("{:016x}STARGZ", 12345).as_bytes());
        footer.extend_from_slice(&[1, 0, 0, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(footer.len(), 51);
        assert_eq!(footer_offset(&footer), Some(12345));
        footer[12] = b'X';
        assert_eq!(footer_offset(&footer), None);
    }
}
