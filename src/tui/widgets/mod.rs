//! Widgets reused across screens.

pub mod confirm;
pub mod copy;
pub mod help;
pub mod page;
pub mod plan_text;
pub mod reading;
pub mod spinner;
pub mod table;
