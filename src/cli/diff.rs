//! `regatta diff REF1 REF2`: what changed between two images, read from the registry
//! without pulling: config, layers, and the merged filesystems file by file.

use serde::Serialize;

use super::Context;
use super::files::{list_layers, open_image};
use super::output::{print_json, print_lines};
use crate::layers::diff::{
    Change, ConfigDiff, FileChange, FileDiff, LayersDiff, config_diff, files_diff, layers_diff,
};
use crate::layers::merge::merge;
use crate::layers::select::select_layers;
use crate::present::size;

#[derive(Debug, Serialize)]
struct DiffReport {
    before: ImageRef,
    after: ImageRef,
    /// Absent when either image has no readable config.
    #[serde(skip_serializing_if = "Option::is_none")]
    config: Option<ConfigDiff>,
    layers: LayersDiff,
    files: Vec<FileDiff>,
}

#[derive(Debug, Serialize)]
struct ImageRef {
    reference: String,
    digest: String,
}

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
    let report = DiffReport {
        before: ImageRef {
            reference: a.full_reference.clone(),
            digest: ia.digest.to_string(),
        },
        after: ImageRef {
            reference: b.full_reference.clone(),
            digest: ib.digest.to_string(),
        },
        config: match (&ia.config, &ib.config) {
            (Some(ca), Some(cb)) => Some(config_diff(ca, cb)),
            _ => None,
        },
        layers: layers_diff(&ia.manifest.layers, &ib.manifest.layers),
        files: files_diff(&merge(&la), &merge(&lb)),
    };
    if json {
        print_json(&report)
    } else {
        print_lines(text_lines(&report))
    }
}

fn opt<T: std::fmt::Debug>(v: &Option<T>) -> String {
    match v {
        Some(v) => format!("{v:?}"),
        None => "(unset)".into(),
    }
}

fn change_line<T: std::fmt::Debug>(name: &str, c: &Change<Option<T>>) -> String {
    format!("  {name}: {} -> {}", opt(&c.before), opt(&c.after))
}

fn text_lines(r: &DiffReport) -> Vec<String> {
    let mut lines = vec![
        format!("Before: {} ({})", r.before.reference, r.before.digest),
        format!("After:  {} ({})", r.after.reference, r.after.digest),
        String::new(),
    ];
    match &r.config {
        None => lines.push("Config: not compared (an image has no readable config)".into()),
        Some(c) if c.is_empty() => lines.push(format!(
            "Config: the same ({} build steps in common)",
            c.history_common
        )),
        Some(c) => {
            lines.push("Config:".into());
            for (k, v) in &c.env {
                lines.push(change_line(&format!("env {k}"), v));
            }
            for (k, v) in &c.labels {
                lines.push(change_line(&format!("label {k}"), v));
            }
            if let Some(v) = &c.entrypoint {
                lines.push(change_line("entrypoint", v));
            }
            if let Some(v) = &c.cmd {
                lines.push(change_line("cmd", v));
            }
            if let Some(v) = &c.user {
                lines.push(change_line("user", v));
            }
            if let Some(v) = &c.working_dir {
                lines.push(change_line("working dir", v));
            }
            for p in &c.ports_added {
                lines.push(format!("  port + {p}"));
            }
            for p in &c.ports_removed {
                lines.push(format!("  port - {p}"));
            }
            lines.push(format!("  history: {} steps in common", c.history_common));
            for s in &c.history_only_before {
                lines.push(format!("  history - {s}"));
            }
            for s in &c.history_only_after {
                lines.push(format!("  history + {s}"));
            }
        }
    }
    let l = &r.layers;
    lines.push(String::new());
    lines.push(format!(
        "Layers: {} shared ({}), {} only before ({}), {} only after ({})",
        l.shared.len(),
        size(l.shared_bytes),
        l.only_before.len(),
        size(l.only_before_bytes),
        l.only_after.len(),
        size(l.only_after_bytes)
    ));
    for (mark, list) in [
        ("=", &l.shared),
        ("-", &l.only_before),
        ("+", &l.only_after),
    ] {
        for layer in list {
            lines.push(format!(
                "  {mark} {} {:>10}",
                layer.digest,
                size(layer.size)
            ));
        }
    }
    let count = |c: FileChange| r.files.iter().filter(|f| f.change == c).count();
    let net: i64 = r
        .files
        .iter()
        .fold(0i64, |a, f| a.saturating_add(f.size_delta));
    lines.push(String::new());
    lines.push(format!(
        "Files: {} added, {} removed, {} changed, net {}{}",
        count(FileChange::Added),
        count(FileChange::Removed),
        count(FileChange::Changed),
        if net < 0 { "-" } else { "+" },
        size(net.unsigned_abs())
    ));
    for f in &r.files {
        let mark = match f.change {
            FileChange::Added => '+',
            FileChange::Removed => '-',
            FileChange::Changed => '~',
        };
        let sign = if f.size_delta < 0 { "-" } else { "+" };
        lines.push(format!(
            "  {mark} {:>10} {sign}{:<10} {}",
            size(f.size_before.max(f.size_after)),
            size(f.size_delta.unsigned_abs()),
            f.path
        ));
    }
    lines
}
