//! The lists' column specs and row cells live in [`crate::present::columns`], shared with
//! the CLI's tables; these names stay for the views.

pub use crate::present::audit::{FINDING_COLUMNS, finding_kind, finding_row};
pub use crate::present::columns::*;
