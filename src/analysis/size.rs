//! The `size` of an image: the compressed bytes of the distinct config and layer blobs the
//! reference needs. For an index it is the union over its platforms, each blob counted once.
//! Manifest documents are not part of `size` (they are part of the storage numbers).

use std::collections::BTreeMap;

use crate::registry::Digest;
use crate::registry::image::ImageTree;
use crate::registry::manifest::ImageManifest;
#[cfg(test)]
use crate::registry::manifest::{
    Implausible, MAX_LAYERS, MAX_PLAUSIBLE_BYTES, Manifest, check_manifest,
};

/// A sum of byte counts, or `None` when it would overflow (never a wrapped number).
pub fn checked_total(sizes: impl IntoIterator<Item = u64>) -> Option<u64> {
    sizes.into_iter().try_fold(0u64, |a, b| a.checked_add(b))
}

/// A sum of byte counts that stops at `u64::MAX` instead of wrapping. For totals over many
/// images that each passed `check_manifest`: reaching the cap takes more than 2,048 images
/// of 8 PiB, so a capped total is itself a sign of a lying registry.
pub fn saturating_total(sizes: impl IntoIterator<Item = u64>) -> u64 {
    sizes.into_iter().fold(0u64, u64::saturating_add)
}

/// Distinct config and layer blobs of a manifest, with their sizes.
pub fn manifest_blobs(manifest: &ImageManifest) -> BTreeMap<Digest, u64> {
    let mut blobs = BTreeMap::new();
    blobs.insert(manifest.config.digest.clone(), manifest.config.size);
    for layer in &manifest.layers {
        blobs.insert(layer.digest.clone(), layer.size);
    }
    blobs
}

/// Distinct config and layer blobs of every image in the tree.
pub fn image_blobs(tree: &ImageTree) -> BTreeMap<Digest, u64> {
    let mut blobs = BTreeMap::new();
    for image in &tree.images {
        blobs.extend(manifest_blobs(&image.manifest));
    }
    blobs
}

/// The image's `size` (see the module doc). [`fetch_image`](crate::registry::image::fetch_image)
/// refuses a tree whose size passes 2^53 bytes, so the cap of the sum is never reached by a
/// fetched tree; it is there so that a hand-made one can never wrap.
pub fn image_size(tree: &ImageTree) -> u64 {
    saturating_total(image_blobs(tree).values().copied())
}

/// `size` of one platform manifest (capped like [`image_size`]).
pub fn manifest_size(manifest: &ImageManifest) -> u64 {
    saturating_total(manifest_blobs(manifest).values().copied())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::manifest::Descriptor;

    fn desc(n: u8, size: u64) -> Descriptor {
        Descriptor {
            media_type: String::new(),
            digest: Digest::parse(&format!("sha256:{}", format!("{n:02x}").repeat(32))).unwrap(),
            size,
            platform: None,
            annotations: None,
        }
    }

    #[test]
    fn repeated_layers_count_once() {
        let m = ImageManifest {
            schema_version: 2,
            media_type: None,
            artifact_type: None,
            config: desc(1, 10),
            layers: vec![desc(2, 100), desc(3, 50), desc(2, 100)],
            subject: None,
            annotations: None,
        };
        assert_eq!(manifest_size(&m), 160);
        assert_eq!(check_manifest(&Manifest::Image(m)), Ok(160));
    }

    fn image(layers: Vec<Descriptor>) -> Manifest {
        Manifest::Image(ImageManifest {
            schema_version: 2,
            media_type: None,
            artifact_type: None,
            config: desc(1, 10),
            layers,
            subject: None,
            annotations: None,
        })
    }

    #[test]
    fn sizes_that_overflow_or_are_absurd_are_refused_with_a_sentence() {
        // Two layers of 2^63 + 56 and a config of 10 wrap to 122 bytes with a plain sum.
        let half = (1u64 << 63) + 56;
        let m = image(vec![desc(2, half), desc(3, half)]);
        assert_eq!(half.wrapping_add(half).wrapping_add(10), 122);
        let Err(e) = check_manifest(&m) else {
            panic!("an overflowing image was accepted")
        };
        assert!(e.to_string().contains("more than regatta believes"), "{e}");
        let Manifest::Image(inner) = &m else {
            unreachable!()
        };
        assert_eq!(manifest_size(inner), u64::MAX, "capped, never wrapped");
        // Each layer plausible, their sum not.
        let m = image(vec![desc(2, MAX_PLAUSIBLE_BYTES), desc(3, 1)]);
        assert_eq!(
            check_manifest(&m),
            Err(Implausible::ImageTooLarge {
                total: MAX_PLAUSIBLE_BYTES + 11
            })
        );
        assert_eq!(checked_total([u64::MAX, 1]), None);
        assert_eq!(saturating_total([u64::MAX, 1]), u64::MAX);
    }

    #[test]
    fn too_many_layers_are_refused() {
        let m = image((0..=MAX_LAYERS).map(|_| desc(2, 1)).collect());
        assert_eq!(
            check_manifest(&m),
            Err(Implausible::TooManyLayers {
                count: MAX_LAYERS + 1
            })
        );
    }
}
