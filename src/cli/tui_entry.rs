//! Starting the TUI: which registries it opens.

use super::Context;

pub async fn run(_ctx: &Context, _target: Option<&str>) -> anyhow::Result<()> {
    anyhow::bail!("the TUI is not wired up yet")
}
