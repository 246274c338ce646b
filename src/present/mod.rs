//! Text for people, written once. The CLI prints it; the TUI lays it out and styles it.
//! Nothing here knows a terminal (no ratatui, crossterm or clap): sizes, ages and counts
//! ([`units`]), short forms of registry values ([`text`]), column specs and row cells
//! ([`columns`], [`audit`]), scan failure lists ([`failures`]),
//! deletion plans as lines of toned spans ([`plan`]).
//!
//! A number the TUI shows reads the same in the CLI: both call these functions.

pub mod audit;
pub mod columns;
#[cfg(test)]
mod columns_tests;
pub mod copy;
pub mod drift;
pub mod failures;
pub mod layers;
pub mod plan;
#[cfg(test)]
mod plan_tests;
pub mod referrers;
pub mod repo_hints;
pub mod storage_layout;
pub mod text;
pub mod units;

pub use units::{age, count, size, size_exact};
pub mod artifact_summary;
