//! Widgets reused across screens.

pub mod confirm;
pub mod help;
pub mod plan_text;
pub mod spinner;
pub mod table;
