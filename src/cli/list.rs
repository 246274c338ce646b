//! `regatta ls` and `regatta tags`.

use super::Context;
use super::output::{print_json, print_lines};
use crate::registry::Skipped;
use crate::target;

/// Names the registry sent that are not listed are never left out in silence.
fn warn_skipped(skipped: Skipped, noun: &str) {
    if let Some(sentence) = skipped.sentence(noun) {
        eprintln!("regatta: warning: {sentence}");
    }
}

pub async fn repositories(ctx: &Context, input: &str, json: bool) -> anyhow::Result<()> {
    let target = target::resolve(input, &ctx.config, &ctx.overrides)?;
    ctx.warn_for(&target);
    let source = target.open()?;
    let (mut repos, skipped) = source.repositories_checked(&|_| {}).await?;
    warn_skipped(skipped, "repository");
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
    let (mut tags, skipped) = source.tags_checked(&repo).await?;
    warn_skipped(skipped, "tag");
    tags.sort();
    let names: Vec<&str> = tags.iter().map(|t| t.as_str()).collect();
    if json {
        print_json(&names)
    } else {
        print_lines(names)
    }
}
