//! Test support shared by the integration test binaries (`mod support;` at the top of each).
//!
//! - [`registry::TestRegistry`]: Debian's `docker-registry` started by the test on a free
//!   loopback port with its own storage (plain HTTP, or TLS + htpasswd), gone when the test
//!   process is.
//! - [`image`]: deterministic layers ([`image::Layer`]) and images ([`image::ImageSpec`]).
//! - [`fixtures::FixtureBuilder`]: images and indexes per repository, pushed through the
//!   project's own client; returns the ground truth ([`truth::Fixture`]).
//! - [`binary::Home`]: [`cli::Sandbox`] as the cleanup tests use it: `(code, stdout, stderr)`
//!   and the journal read back through the library.
//! - [`cleanup`]: fixtures with created dates and checks for the delete and cleanup tests.
//! - [`sprawl`]: the tag-sprawl fixture of the audit tests (every tag kind, alias groups,
//!   stale repositories and builds, a drifted floating tag, orphaned signatures).
//! - [`standard`]: the 150-repository standard fixture and [`standard::shared`], one registry
//!   per test binary holding it, for tests that only read.
//! - [`cli::Sandbox`]: runs the built `regatta` binary with a home, XDG directories and a
//!   Docker config dir of its own, and checks what it printed ([`cli::Run`]).
//! - [`tmux::Pane`]: the built binary in a real pseudo-terminal (a tmux pane with isolated
//!   home directories), driven by keys and read back as screen text.
//! - [`storage`]: a fixture of shared layers, aliases and multi-arch indexes with no untagged
//!   manifest, and its storage numbers and deletions worked out from the ground truth alone.
//! - [`fault_proxy::FaultProxy`]: a loopback HTTP/1.1 proxy in front of a real registry that
//!   adds latency, resets, short bodies, 500s, 429s, stalls and endless catalog pages on
//!   request, and counts the requests it saw; [`fault_proxy::FaultProxy::with_latency`] delays
//!   every request (the benchmark's slow network).
//! - [`hostile::Hostile`]: a registry that answers fast with wrong content, one lie per
//!   repository ([`hostile::Lie`]: sizes, structure, identity, lists, blobs, time), beside two
//!   honest repositories whose numbers it works out from the bytes it serves.
//! - [`below_api`]: the storage-level fixtures (re-pushed tags, a deleted manifest, an
//!   abandoned upload, a multi-arch index with untagged children) and what Distribution's
//!   collector keeps of them, from the ground truth; [`moto::Moto`]: a local S3 server.
//! - [`token_server::TokenServer`]: a token server signing ES256 JWTs for a real registry in
//!   token mode ([`registry::RegistryOptions::token`]), granting each user its own actions.
//!
//! ```ignore
//! mod support;
//! use support::standard::{shared, DOCKER_REPO};
//!
//! #[test]
//! fn lists_tags() {
//!     let s = shared(); // started and filled once per test binary
//!     let addr = s.registry.addr(); // "127.0.0.1:PORT", plain HTTP, anonymous
//!     let tags = s.fixture.tags(DOCKER_REPO); // sorted ground truth
//!     let latest = s.fixture.tagged(DOCKER_REPO, "latest"); // digest, sizes, blobs
//!     // ... run the CLI against `addr` and compare with `tags` and `latest` ...
//! }
//!
//! #[test]
//! fn deletes() {
//!     let registry = support::registry::TestRegistry::start(); // writable, yours alone
//!     let mut b = support::fixtures::FixtureBuilder::new();
//!     b.image("app", &["v1"], ImageSpec::new(Format::Oci, vec![Layer::text("app-v1")]));
//!     let truth = registry.push(&b);
//!     // ...
//! }
//! ```
//!
//! Not every binary uses every item, hence the blanket `dead_code` allowance.
#![allow(dead_code)]

pub mod below_api;
pub mod binary;
pub mod cleanup;
pub mod cli;
pub mod copy;
pub mod fault_proxy;
pub mod fixtures;
pub mod hostile;
pub mod image;
pub mod moto;
/// Artifacts pushed as cosign, Notation and oras push them (signatures, SBOMs, fallback
/// indexes).
pub mod referrers;
pub mod registry;
pub mod sprawl;
pub mod standard;
pub mod storage;
pub mod tls;
pub mod tmux;
pub mod token_server;
pub mod truth;
// Layer listings: GNU tar blobs, special-entry fixtures, `tar -tv` as the truth.
pub mod layers;

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

/// Runs `body` on a thread of its own and fails the test if it has not finished within
/// `limit`, so a hang shows as a failure naming the limit instead of a stalled test run. A
/// panic in `body` is passed on as it is.
pub fn within<T: Send + 'static>(
    limit: std::time::Duration,
    body: impl FnOnce() -> T + Send + 'static,
) -> T {
    use std::sync::mpsc::RecvTimeoutError;
    let (tx, rx) = std::sync::mpsc::channel();
    let worker = std::thread::spawn(move || {
        let _ = tx.send(body());
    });
    match rx.recv_timeout(limit) {
        Ok(value) => value,
        Err(RecvTimeoutError::Disconnected) => match worker.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => panic!("the test body ended without a result"),
        },
        Err(RecvTimeoutError::Timeout) => {
            panic!("the test did not finish within {limit:?}: something hangs")
        }
    }
}
