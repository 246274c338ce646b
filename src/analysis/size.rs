//! The `size` of an image: the compressed bytes of the distinct config and layer blobs the
//! reference needs. For an index it is the union over its platforms, each blob counted once.
//! Manifest documents are not part of `size` (they are part of the storage numbers).

use std::collections::BTreeMap;

use crate::registry::Digest;
use crate::registry::image::ImageTree;
use crate::registry::manifest::ImageManifest;

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

/// The image's `size` (see the module doc).
pub fn image_size(tree: &ImageTree) -> u64 {
    image_blobs(tree).values().sum()
}

/// `size` of one platform manifest.
pub fn manifest_size(manifest: &ImageManifest) -> u64 {
    manifest_blobs(manifest).values().sum()
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
    }
}
