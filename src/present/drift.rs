//! Base-image drift for people (`regatta hints --repo`): one row per tag, the rule that
//! found the bases, the current base and the tags left on an old one.

use crate::layers::drift::{Base, BaseRule, BaseStatus, Drift, TagBase};
use crate::present::text::short_digest;
use crate::present::{count, size};

/// How the bases were found, as a sentence.
pub fn rule_sentence(rule: BaseRule) -> &'static str {
    match rule {
        BaseRule::Candidates => {
            "a tag's base is the --base image whose layers are the longest run of the tag's bottom layers"
        }
        BaseRule::SharedPrefix => {
            "a tag's base is the longest run of bottom layers it shares with another tag (name the base images with --base to be exact)"
        }
    }
}

/// A base by its names, else by its top layer: `base:new, base:latest` or
/// `sha256:0123456789ab…`.
pub fn base_name(base: &Base) -> String {
    if base.names.is_empty() {
        short_digest(&base.top_layer.to_string())
    } else {
        base.names.join(", ")
    }
}

/// `current`, `old base (3 newer tags on the current base)`, `no shared base`.
pub fn status_text(t: &TagBase) -> String {
    match t.status {
        BaseStatus::Current => "current".into(),
        BaseStatus::OldBase => format!(
            "old base ({} newer on the current base)",
            count(t.newer_on_current_base, "tag")
        ),
        BaseStatus::NoSharedBase => "no shared base".into(),
    }
}

/// The drift section of the repository report.
pub fn drift_lines(d: &Drift) -> Vec<String> {
    let mut lines = vec![
        format!("Base images: {}.", rule_sentence(d.rule)),
        format!(
            "{:<24} {:<16} {:<24} {:>6} {:>10}  STATUS",
            "TAG", "CREATED", "BASE", "LAYERS", "SIZE"
        ),
    ];
    for t in &d.tags {
        let created = t
            .created
            .map(|c| c.strftime("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_else(|| "-".into());
        let (name, layers, bytes) = match &t.base {
            Some(b) => (base_name(b), b.layers.to_string(), size(b.bytes)),
            None => ("-".into(), "-".into(), "-".into()),
        };
        lines.push(format!(
            "{:<24} {:<16} {:<24} {:>6} {:>10}  {}",
            t.tag,
            created,
            name,
            layers,
            bytes,
            status_text(t)
        ));
    }
    lines.push(String::new());
    if d.current_bases.is_empty() {
        lines.push("No tag shares a base with another.".into());
        return lines;
    }
    for b in &d.current_bases {
        lines.push(format!(
            "Current base (of the newest tag that has one): {} ({}, {})",
            base_name(b),
            count(b.layers, "layer"),
            size(b.bytes)
        ));
    }
    let old: Vec<&str> = d.old().map(|t| t.tag.as_str()).collect();
    if old.is_empty() {
        lines.push("No tag is on an old base.".into());
    } else {
        lines.push(format!(
            "On an old base: {} ({})",
            count(old.len(), "tag"),
            old.join(", ")
        ));
    }
    lines
}

/// The tags a drift report left out (not resolved, or no image to choose), with why.
pub fn left_out_lines(left_out: &[(String, String)]) -> Vec<String> {
    if left_out.is_empty() {
        return Vec::new();
    }
    let mut lines = vec![String::new(), format!("Left out ({}):", left_out.len())];
    lines.extend(left_out.iter().map(|(tag, why)| format!("  {tag}: {why}")));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::drift::{TagChain, drift};
    use crate::registry::Digest;

    #[test]
    fn rows_name_bases_and_old_tags() {
        let d = |n: u8| Digest::sha256_of(&[n]);
        let at = |day: i64| jiff::Timestamp::from_second(1_700_000_000 + day * 86_400).ok();
        let tag = |name: &str, layers: &[u8], day| TagChain {
            tag: name.into(),
            digest: Digest::sha256_of(name.as_bytes()),
            layers: layers.iter().map(|&n| (d(n), 1024)).collect(),
            created: at(day),
        };
        let report = drift(
            &[
                tag("1.0", &[1, 2, 10], 1),
                tag("1.1", &[1, 2, 11], 2),
                tag("2.0", &[1, 3, 12], 3),
                tag("2.1", &[1, 3, 13], 4),
            ],
            &[],
        );
        let lines = drift_lines(&report);
        let row = |t: &str| {
            lines
                .iter()
                .find(|l| l.starts_with(&format!("{t} ")))
                .cloned()
                .unwrap_or_default()
        };
        assert!(
            row("1.0").ends_with("old base (2 tags newer on the current base)"),
            "{lines:#?}"
        );
        assert!(row("2.1").ends_with("current"));
        assert!(row("2.1").contains(&short_digest(&d(3).to_string())));
        assert!(row("2.1").contains("2 KiB"));
        assert!(lines.contains(&"On an old base: 2 tags (1.0, 1.1)".to_string()));
    }
}
