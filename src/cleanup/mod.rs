//! Policies -> plans -> execution. Dry run is the default everywhere; applying is explicit.

pub mod blob_backup;
pub mod complete;
pub mod execute;
pub mod gc;
pub mod journal;
pub mod orphans;
pub mod plan;
#[cfg(test)]
mod plan_tests;
pub mod policy;
#[cfg(test)]
mod policy_tests;
pub mod prune;
pub mod restore;
mod unseen;
pub mod untagged;
