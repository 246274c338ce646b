//! Test support shared by the integration test binaries (`mod support;`): a real registry
//! ([`registry::TestRegistry`]), deterministic images pushed through the project's own client
//! ([`fixtures::FixtureBuilder`]) with their ground truth ([`truth::Fixture`]), and one
//! registry per test binary holding the standard fixture ([`standard::shared`]).
//!
//! Not every binary uses every item, hence the blanket `dead_code` allowance.
#![allow(dead_code)]

pub mod fixtures;
pub mod registry;
pub mod standard;
pub mod truth;

use std::future::Future;

/// Runs a future to completion on a fresh runtime in a thread of its own, so that it can be
/// called from plain `#[test]`s and from inside another runtime alike.
pub fn block_on<F>(future: F) -> F::Output
where
    F: Future + Send,
    F::Output: Send,
{
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("build a tokio runtime")
                    .block_on(future)
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}
