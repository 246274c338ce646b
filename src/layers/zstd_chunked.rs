//! zstd:chunked layers listed from their table of contents, without reading the layer. The
//! layer's descriptor says where the TOC is (`manifest-position`: offset, compressed length,
//! uncompressed length, type 1 for the TOC JSON) and what its compressed bytes hash to
//! (`manifest-checksum`); the manifest's digest covers both. One Range request reads exactly
//! those bytes, a single zstd frame holding the TOC JSON (the format of eStargz's, see
//! [`super::toc`]). Format: containers/storage `pkg/chunked` and its
//! `docs/containers-storage-zstd-chunked.md`.

use std::io::Read;

use super::entry::{Compression, Listing};
use super::toc::{MAX_TOC_BYTES, entries_of_toc};
use crate::registry::{Client, Descriptor, Digest, RepoName};

/// The annotations, as containers/storage spells them now and as older releases (skopeo
/// 1.9, podman 4) did.
const ANNOTATION_PREFIXES: [&str; 2] = [
    "io.github.containers.zstd-chunked.",
    "io.containers.zstd-chunked.",
];
const CHECKSUM: &str = "manifest-checksum";
const POSITION: &str = "manifest-position";
/// The `manifest-position` type of a TOC in JSON (the only one there is).
const TOC_JSON: u64 = 1;

/// Where a zstd:chunked layer's TOC is and what it hashes to, from its descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TocLocation {
    /// Offset of the TOC's zstd frame in the blob.
    pub offset: u64,
    /// Length of that frame.
    pub length: u64,
    /// Length of the TOC JSON it decompresses to.
    pub uncompressed: u64,
    /// Digest of the frame's bytes.
    pub checksum: Digest,
}

/// The TOC location a descriptor announces, when it is a zstd:chunked layer whose
/// annotations make sense (within the blob, under the TOC cap).
pub fn toc_location(layer: &Descriptor) -> Option<TocLocation> {
    let annotations = layer.annotations.as_ref()?;
    let (checksum, position) = ANNOTATION_PREFIXES.iter().find_map(|prefix| {
        Some((
            annotations.get(&format!("{prefix}{CHECKSUM}"))?,
            annotations.get(&format!("{prefix}{POSITION}"))?,
        ))
    })?;
    let fields: Vec<u64> = position
        .split(':')
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    let [offset, length, uncompressed, kind] = fields[..] else {
        return None;
    };
    let inside = offset
        .checked_add(length)
        .is_some_and(|end| end <= layer.size);
    if kind != TOC_JSON || length == 0 || !inside || uncompressed > MAX_TOC_BYTES {
        return None;
    }
    Some(TocLocation {
        offset,
        length,
        uncompressed,
        checksum: Digest::parse(checksum).ok()?,
    })
}

/// The TOC JSON out of its zstd frame, when it checks out against `location`.
fn toc_json(frame: &[u8], location: &TocLocation) -> Result<Vec<u8>, String> {
    if frame.len() as u64 != location.length || !location.checksum.matches(frame) {
        return Err("the TOC does not match its annotation".into());
    }
    let mut json = Vec::new();
    zstd::stream::read::Decoder::with_buffer(frame)
        .map_err(|e| format!("the TOC does not decompress: {e}"))?
        .take(location.uncompressed + 1)
        .read_to_end(&mut json)
        .map_err(|e| format!("the TOC does not decompress: {e}"))?;
    if json.len() as u64 != location.uncompressed {
        return Err(format!(
            "the TOC is {} bytes where its annotation says {}",
            json.len(),
            location.uncompressed
        ));
    }
    Ok(json)
}

/// Lists a zstd:chunked layer from its TOC. `Ok(None)`: this layer cannot be listed that
/// way (the registry ignored Range, or the TOC does not check out), so the caller streams
/// it instead.
pub async fn list_from_toc(
    client: &Client,
    repo: &RepoName,
    layer: &Descriptor,
    location: &TocLocation,
) -> Option<Listing> {
    let digest = &layer.digest;
    let end = location.offset + location.length - 1;
    let frame = client
        .get_blob_range(repo, digest, location.offset, end)
        .await
        .ok()??;
    let entries = match toc_json(&frame, location).and_then(|json| entries_of_toc(&json)) {
        Ok(entries) => entries,
        Err(e) => {
            tracing::debug!(%digest, "zstd:chunked TOC unusable, streaming the layer: {e}");
            return None;
        }
    };
    Some(Listing {
        layer: digest.clone(),
        compression: Compression::Zstd,
        compressed_bytes: layer.size,
        // Not known without reading the layer.
        tar_bytes: 0,
        entries,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn layer(size: u64, annotations: &[(&str, &str)]) -> Descriptor {
        Descriptor {
            media_type: "application/vnd.oci.image.layer.v1.tar+zstd".into(),
            digest: Digest::sha256_of(b"layer"),
            size,
            platform: None,
            annotations: Some(
                annotations
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<BTreeMap<_, _>>(),
            ),
        }
    }

    const SUM: &str = "sha256:1cb572cad89d3d62d27521f1c9d070ef4730ebf37848faafd5fb3be428043bd5";

    #[test]
    fn both_spellings_of_the_annotations() {
        for prefix in ANNOTATION_PREFIXES {
            let l = layer(
                206_257,
                &[
                    (&format!("{prefix}{CHECKSUM}"), SUM),
                    (&format!("{prefix}{POSITION}"), "205390:819:3234:1"),
                ],
            );
            let location = toc_location(&l).expect("a location");
            assert_eq!(
                (location.offset, location.length, location.uncompressed),
                (205_390, 819, 3234)
            );
            assert_eq!(location.checksum.to_string(), SUM);
        }
    }

    #[test]
    fn annotations_that_make_no_sense_are_ignored() {
        let c = "io.containers.zstd-chunked.manifest-checksum";
        let p = "io.containers.zstd-chunked.manifest-position";
        for position in [
            "205390:819:3234:2",          // not the JSON TOC
            "205390:819:3234",            // three fields
            "205390:819:3234:1:9",        // five
            "206000:819:3234:1",          // past the end of the blob
            "205390:0:3234:1",            // empty
            "18446744073709551615:2:3:1", // overflowing
            "205390:819:99999999999:1",   // over the cap
            "205390:-819:3234:1",         // negative
        ] {
            assert_eq!(
                toc_location(&layer(206_257, &[(c, SUM), (p, position)])),
                None,
                "{position}"
            );
        }
        // Half of one spelling and half of the other is no location.
        let mixed = [
            ("io.github.containers.zstd-chunked.manifest-checksum", SUM),
            (p, "205390:819:3234:1"),
        ];
        assert_eq!(toc_location(&layer(206_257, &mixed)), None);
        assert_eq!(
            toc_location(&layer(206_257, &[(c, "sha256:zz"), (p, "1:2:3:1")])),
            None
        );
    }

    #[test]
    fn the_frame_must_hash_to_the_checksum_and_decompress_to_its_length() {
        let json = br#"{"version":1,"entries":[{"type":"reg","name":"./a","size":1}]}"#;
        let frame = zstd::encode_all(&json[..], 3).expect("zstd");
        let location = TocLocation {
            offset: 0,
            length: frame.len() as u64,
            uncompressed: json.len() as u64,
            checksum: Digest::sha256_of(&frame),
        };
        assert_eq!(toc_json(&frame, &location).expect("good"), json);
        let short = TocLocation {
            uncompressed: json.len() as u64 - 1,
            ..location.clone()
        };
        assert!(toc_json(&frame, &short).is_err());
        let other = TocLocation {
            checksum: Digest::sha256_of(json),
            ..location.clone()
        };
        assert!(toc_json(&frame, &other).is_err());
        assert!(toc_json(&frame[1..], &location).is_err());
    }
}
