//! `regatta info TARGET [--json]`: what a registry can do, from the capability probe.

use serde::Serialize;

use super::Context;
use super::output::{print_json, print_lines};
use crate::registry::probe::Capabilities;
use crate::target;

#[derive(Serialize)]
struct InfoReport {
    registry: String,
    url: String,
    #[serde(flatten)]
    capabilities: Capabilities,
}

pub async fn run(ctx: &Context, input: &str, json: bool) -> anyhow::Result<()> {
    let target = target::resolve(input, &ctx.config, &ctx.overrides)?;
    ctx.warn_for(&target);
    let client = target.client()?;
    let capabilities = client.capabilities().await?;
    if json {
        return print_json(&InfoReport {
            registry: target.name(),
            url: target.location(),
            capabilities,
        });
    }
    let mut rows = vec![("registry", target.name()), ("url", target.location())];
    rows.extend(capabilities.lines());
    let width = rows.iter().map(|(label, _)| label.len()).max().unwrap_or(0);
    print_lines(
        rows.iter()
            .map(|(label, text)| format!("{label:<width$}  {text}")),
    )
}
