//! Runs the TUI against in-memory registries, to try it in a real terminal without a
//! registry: `cargo run --example tui_memory -- [--delay-ms 300] [--log FILE] [--open-first]`.
//! Not the bundled demo; a development aid.

use std::sync::Arc;
use std::time::Duration;

use regatta::registry::RegistryError;
use regatta::tui::memory::shared;
use regatta::tui::{RegistryEntry, fixtures};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let delay = Duration::from_millis(
        value("--delay-ms")
            .and_then(|v| v.parse().ok())
            .unwrap_or(150),
    );
    if let Some(path) = value("--log") {
        let file = std::fs::File::create(path)?;
        tracing_subscriber::fmt()
            .with_writer(std::sync::Mutex::new(file))
            .with_ansi(false)
            .with_env_filter("regatta=debug")
            .init();
    }
    let locked = fixtures::sample().with_ping(Err(RegistryError::Unauthorized {
        host: "locked.example".into(),
        detail: "no credentials for locked.example".into(),
    }));
    let entries = vec![
        RegistryEntry {
            name: "demo".into(),
            location: "in memory".into(),
            source: Ok(shared(fixtures::sample().with_delay(delay))),
            notice: None,
            client: None,
        },
        RegistryEntry {
            name: "large".into(),
            location: "in memory, 20,000 tags".into(),
            source: Ok(shared(fixtures::large(20_000).with_delay(delay / 10))),
            notice: None,
            client: None,
        },
        RegistryEntry {
            name: "hostile".into(),
            location: "in memory".into(),
            source: Ok(shared(fixtures::hostile())),
            notice: Some("TLS certificates are not verified (insecure = true)".into()),
            client: None,
        },
        RegistryEntry {
            name: "locked".into(),
            location: "https://locked.example".into(),
            source: Ok(Arc::new(locked)),
            notice: None,
            client: None,
        },
        RegistryEntry {
            name: "lab".into(),
            location: "/srv/oci-layout".into(),
            source: Err("/srv/oci-layout: no such directory".into()),
            notice: None,
            client: None,
        },
    ];
    let ui = regatta::tui::run(entries, args.iter().any(|a| a == "--open-first"));
    match value("--panic-after-ms").and_then(|v| v.parse().ok()) {
        // Checks that a panic on the UI's thread leaves a usable terminal and a readable message.
        Some(ms) => tokio::select! {
            result = ui => result,
            _ = tokio::time::sleep(Duration::from_millis(ms)) => panic!("panic requested with --panic-after-ms"),
        },
        None => ui.await,
    }
}
