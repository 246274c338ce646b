//! Widgets reused across screens.

pub mod help;
pub mod spinner;
pub mod table;
