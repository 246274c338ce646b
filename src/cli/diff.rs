//! `regatta diff REF1 REF2`: what changed between two images, read from the registry
//! without pulling: config, layers, and the merged filesystems file by file.

use super::Context;
use super::files::{list_layers, open_image};
use super::output::{print_json, print_lines};
use crate::layers::diff::image_diff;
use crate::layers::select::select_layers;
use crate::present::layers::diff_lines;

pub async fn run(
    ctx: &Context,
    before: &str,
    after: &str,
    wanted_platform: Option<&str>,
    json: bool,
) -> anyhow::Result<()> {
    let a = open_image(ctx, before, wanted_platform).await?;
    let b = open_image(ctx, after, wanted_platform).await?;
    let (ia, ib) = (a.image(), b.image());
    let la = list_layers(
        &a.source,
        &select_layers(ia, None).map_err(anyhow::Error::msg)?,
        json,
    )
    .await?;
    let lb = list_layers(
        &b.source,
        &select_layers(ib, None).map_err(anyhow::Error::msg)?,
        json,
    )
    .await?;
    let report = image_diff(
        (a.full_reference.clone(), ia, &la),
        (b.full_reference.clone(), ib, &lb),
    );
    if json {
        print_json(&report)
    } else {
        print_lines(diff_lines(&report))
    }
}
