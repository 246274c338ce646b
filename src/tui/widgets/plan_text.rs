//! A plan as text: the lines the confirmation dialog shows for a plan (every digest, the
//! tags that go with it, an index's platform manifests, the total and the prediction's blind
//! spot), and the small text helpers the dialogs share.

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use crate::cleanup::plan::{Mode, Plan, Reason, repo_tag_names};
use crate::sanitize::sanitize;
use crate::tui::format;
use crate::tui::theme::Theme;

/// `repo@sha256:0123456789ab…` for the long digests in a step's text.
pub fn short_digests(what: &str) -> String {
    match what.split_once("@sha256:") {
        Some((head, hex)) if hex.chars().count() > 12 => {
            let hex: String = hex.chars().take(12).collect();
            format!("{head}@sha256:{hex}…")
        }
        _ => what.to_string(),
    }
}

fn short(digest: &str) -> String {
    short_digests(&format!("@{digest}"))
        .trim_start_matches('@')
        .to_string()
}

/// Every step of a plan: the digest, the tags that go (those not asked for highlighted),
/// the platform manifests of an index, then the total and the prediction's blind spot.
pub fn plan_lines(plan: &Plan, theme: &Theme, width: usize) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for d in &plan.deletions {
        let what = match d.mode {
            Mode::Delete => "delete",
            Mode::Untag => "untag",
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{what:<7}"), theme.error()),
            Span::raw(
                sanitize(&format!("{}@{}", d.repository, short(d.digest.as_str()))).into_owned(),
            ),
            Span::styled(
                if d.reason == Reason::Requested {
                    String::new()
                } else {
                    format!("  ({})", sanitize(&d.reason.to_string()))
                },
                theme.dim(),
            ),
        ]));
        let mut tags = vec![Span::raw("        tags: ")];
        if d.tags.is_empty() {
            tags.push(Span::styled("(none)", theme.dim()));
        }
        for (i, t) in d.tags.iter().enumerate() {
            if i > 0 {
                tags.push(Span::raw(", "));
            }
            if d.widened.contains(t) {
                tags.push(Span::styled(
                    format!("{} (same digest)", sanitize(t.as_str())),
                    theme.warning(),
                ));
            } else {
                tags.push(Span::raw(sanitize(t.as_str()).into_owned()));
            }
        }
        lines.push(Line::from(tags));
        if !d.children.is_empty() {
            let children: Vec<String> = d.children.iter().map(|c| short(c.as_str())).collect();
            lines.push(Line::styled(
                format!(
                    "        + {} platform manifests: {}",
                    children.len(),
                    children.join(", ")
                ),
                theme.dim(),
            ));
        }
    }
    for u in repo_tag_names(&plan.unknown) {
        lines.push(Line::styled(
            format!("not found (left alone): {}", sanitize(&u)),
            theme.warning(),
        ));
    }
    lines.push(Line::default());
    lines.push(Line::styled(
        format!(
            "{}, {} · frees {} ({} bytes) once garbage collection runs",
            count(plan.deletions.len(), "manifest"),
            count(plan.tag_count(), "tag"),
            format::size(plan.bytes_freed),
            plan.bytes_freed
        ),
        theme.label(),
    ));
    for part in wrap(&format!("note: {}", plan.note), width) {
        lines.push(Line::styled(part, Style::new()));
    }
    lines
}

/// `1 tag`, `3 tags`.
pub fn count(n: usize, thing: &str) -> String {
    if n == 1 {
        format!("1 {thing}")
    } else {
        format!("{n} {thing}s")
    }
}

/// Splits `text` into lines of at most `width` characters at spaces (a longer word gets a
/// line of its own, cut by the frame).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let len = line.chars().count();
        if len > 0 && len + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_breaks_at_spaces() {
        assert_eq!(wrap("one two three", 7), ["one two", "three"]);
        assert_eq!(wrap("a verylongword b", 4), ["a", "verylongword", "b"]);
        assert!(wrap("", 5).is_empty());
        assert_eq!(count(1, "tag"), "1 tag");
        assert_eq!(count(0, "tag"), "0 tags");
    }
}
