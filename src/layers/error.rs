//! Why a layer could not be listed: one sentence each, always naming the layer.

use crate::present::size;
use crate::registry::{Digest, RegistryError};

#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    #[error("cannot read layer {layer}: {source}")]
    Registry {
        layer: Digest,
        #[source]
        source: RegistryError,
    },

    #[error("cannot read layer {layer}: {detail}")]
    Download { layer: Digest, detail: String },

    #[error("layer {layer} is not what its digest says (its bytes hash to {actual})")]
    DigestMismatch { layer: Digest, actual: String },

    #[error("layer {layer} is corrupt or truncated: {detail}")]
    Corrupt { layer: Digest, detail: String },

    #[error("layer {layer} has more than {limit} entries; regatta stops listing there")]
    TooManyEntries { layer: Digest, limit: usize },

    #[error(
        "layer {layer} has more than {} of file names; regatta stops listing there",
        size(*limit)
    )]
    NamesTooLong { layer: Digest, limit: u64 },

    #[error(
        "layer {layer} decompresses to more than {} (a decompression bomb?); regatta stops listing there",
        size(*limit)
    )]
    TooLarge { layer: Digest, limit: u64 },

    #[error("cannot list layer {layer}: {detail}")]
    Internal { layer: Digest, detail: String },
}
