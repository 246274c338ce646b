//! Pure functions over fetched data: sizes, sharing, bytes freed. No I/O here.

pub mod size;
