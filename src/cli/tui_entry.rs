//! Starting the TUI: which registries it opens.
//!
//! `regatta TARGET` opens that target; `regatta` alone opens the configured registries, or the
//! bundled demo when there are none, so a first run always shows something real.

use std::sync::Arc;

use super::Context;
use crate::registry::Source;
use crate::target;
use crate::tui::{self, RegistryEntry};

pub async fn run(ctx: &Context, input: Option<&str>) -> anyhow::Result<()> {
    let (mut entries, open_first) = match input {
        Some(input) if target::is_demo(input, &ctx.config) => (vec![demo_entry(None)?], true),
        Some(input) => {
            let target = target::resolve(input, &ctx.config, &ctx.overrides)?;
            (vec![entry(&target)], true)
        }
        None if ctx.config.registries.is_empty() => (
            vec![demo_entry(Some(
                "the bundled demo: no config found (see config.example.toml)",
            ))?],
            true,
        ),
        None => {
            let mut entries = Vec::new();
            for name in ctx.config.registries.keys() {
                entries.push(match target::resolve(name, &ctx.config, &ctx.overrides) {
                    Ok(target) => entry(&target),
                    Err(e) => RegistryEntry {
                        name: name.clone(),
                        location: String::new(),
                        source: Err(e.to_string()),
                        notice: None,
                        client: None,
                    },
                });
            }
            (entries, false)
        }
    };
    if let (Some(warning), Some(first)) = (&ctx.config_warning, entries.first_mut()) {
        first.notice = Some(warning.clone());
    }
    let gc_commands = entries
        .iter()
        .filter_map(|e| {
            let (_, registry) = ctx.config.find_registry(&e.name)?;
            Some((e.name.clone(), registry.gc_command.clone()?))
        })
        .collect();
    let storages = entries
        .iter()
        .filter_map(|e| {
            let (_, registry) = ctx.config.find_registry(&e.name)?;
            Some((e.name.clone(), registry.storage.clone()?))
        })
        .collect();
    let backup_blobs = entries
        .iter()
        .filter(|e| ctx.config.backup_blobs(&e.name))
        .map(|e| e.name.clone())
        .collect();
    // Checked when the config was read: a valid repository name.
    let referrers_repositories = entries
        .iter()
        .filter_map(|e| {
            let repo = ctx.config.referrers_repository(&e.name)?;
            Some((e.name.clone(), crate::registry::RepoName::parse(repo).ok()?))
        })
        .collect();
    let options = tui::RunOptions {
        referrers_repositories,
        policies: ctx.config.policies.clone(),
        gc_commands,
        storages,
        backup_blobs,
        audit: crate::audit::AuditSettings::from_config(&ctx.config.audit)
            .map_err(|e| anyhow::anyhow!("[audit] {e}"))?
            .avoiding(ctx.config.policies.keys()),
        ..tui::RunOptions::default()
    };
    tui::keymap::install(ctx.keymap.clone());
    tui::run_with(entries, open_first, options).await
}

/// The bundled demo, read-only, called `demo`.
fn demo_entry(notice: Option<&str>) -> anyhow::Result<RegistryEntry> {
    let demo = crate::demo::open_demo()?;
    let location = demo.path().display().to_string();
    let source: Arc<dyn Source> = Arc::new(demo);
    Ok(RegistryEntry {
        name: crate::demo::DEMO_NAME.into(),
        location,
        source: Ok(source),
        notice: notice.map(str::to_string),
        client: None,
    })
}

fn entry(target: &target::Target) -> RegistryEntry {
    RegistryEntry {
        name: target.name(),
        location: target.location(),
        source: target.open().map_err(|e| e.to_string()),
        notice: target.warning(),
        // Deletes need the HTTP client; layouts (and the demo) are read-only.
        client: target.client().ok(),
    }
}
