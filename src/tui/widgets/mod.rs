//! Widgets reused across screens.

pub mod confirm;
pub mod help;
pub mod spinner;
pub mod table;
