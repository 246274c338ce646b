//! Inside the layers: what files each layer of an image holds, read straight from the
//! registry without pulling. A layer is streamed once ([`fetch`]), its digest checked, its
//! compression found from its first bytes, its tar read by a parser of our own with caps
//! against hostile archives ([`archive`]), and its listing kept on disk by digest
//! ([`cache`]), so a layer shared by many tags is read once, ever. eStargz and zstd:chunked
//! layers carry a table of contents ([`toc`]) that is read instead, through HTTP Range
//! ([`estargz`], [`zstd_chunked`]).
//!
//! Layer: beside `analysis/` (pure functions over what was read) and above `registry/`,
//! whose client it reads through; it knows no front end.

pub mod archive;
pub mod cache;
mod content_hash;
pub mod diff;
pub mod drift;
pub mod entry;
pub mod error;
pub mod estargz;
pub mod fetch;
pub mod hints;
pub mod merge;
pub mod repo_hints;
pub mod select;
pub mod stream;
pub mod toc;
pub mod tree;
pub mod waste;
pub mod zstd_chunked;

pub use archive::Limits;
pub use cache::ListingCache;
pub use entry::{Compression, Entry, EntryKind, Listing, Whiteout};
pub use error::LayerError;
pub use fetch::{LayerSource, ListOptions, Origin, list_layer};
