//! Pure functions over fetched data: sizes, sharing, bytes freed. No I/O here.

pub mod ages;
pub mod artifact;
pub mod attached;
pub mod certificate;
pub mod chains;
pub mod content;
pub mod followers;
pub mod freed;
pub mod freed_index;
pub mod model;
pub mod referrers;
pub mod sharing;
pub mod size;
pub mod storage;
