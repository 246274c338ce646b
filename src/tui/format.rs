//! The views' formatting lives in [`crate::present`], shared with the CLI; these names stay
//! so the views read `format::size(..)`.

pub use crate::present::text::{command, created, media_type, platform, platforms};
pub use crate::present::units::{age, percent, size};
