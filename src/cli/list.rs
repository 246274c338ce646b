//! `regatta ls` and `regatta tags`.

use super::Context;
use super::output::{print_json, print_lines};
use crate::target;

pub async fn repositories(ctx: &Context, input: &str, json: bool) -> anyhow::Result<()> {
    let target = target::resolve(input, &ctx.config, &ctx.overrides)?;
    ctx.warn_for(&target);
    let source = target.open()?;
    let mut repos = source.repositories(&|_| {}).await?;
    repos.sort();
    let names: Vec<&str> = repos.iter().map(|r| r.as_str()).collect();
    if json {
        print_json(&names)
    } else {
        print_lines(names)
    }
}

pub async fn tags(ctx: &Context, input: &str, json: bool) -> anyhow::Result<()> {
    let (target, repo) = target::resolve_repo(input, &ctx.config, &ctx.overrides)?;
    ctx.warn_for(&target);
    let source = target.open()?;
    let mut tags = source.tags(&repo).await?;
    tags.sort();
    let names: Vec<&str> = tags.iter().map(|t| t.as_str()).collect();
    if json {
        print_json(&names)
    } else {
        print_lines(names)
    }
}
