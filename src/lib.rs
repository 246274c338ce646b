//! regatta: a terminal UI and CLI for container image registries.
//!
//! Layers, top to bottom: front ends (`cli`, `tui`) -> `analysis` -> `registry` (the shared
//! OCI Distribution client) and `layout` (OCI image layouts on disk); `config` is plain data.

pub mod analysis;
pub mod audit;
pub mod cleanup;
pub mod cli;
pub mod config;
pub mod copy;
pub mod demo;
pub mod layers;
pub mod layout;
pub mod present;
pub mod referrers;
pub mod registry;
pub mod sanitize;
pub mod scan;
pub mod storage;
pub mod target;
pub mod tui;
