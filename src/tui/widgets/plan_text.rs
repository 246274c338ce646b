//! A plan as text: the lines the confirmation dialog shows for a plan (every digest, the
//! tags that go with it, an index's platform manifests, the total and the prediction's blind
//! spot), and the small text helpers the dialogs share.

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use crate::cleanup::plan::{Mode, Plan};
use crate::present::size;
use crate::sanitize::sanitize;
use crate::tui::theme::Theme;

pub use crate::present::text::{short_digest as short, short_digests, wrap};
pub use crate::present::units::count;

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
            Span::raw(sanitize(&format!("{}@{}", d.repository, short(&d.digest))).into_owned()),
            Span::styled(
                if d.reason.is_empty() || d.reason == "requested" {
                    String::new()
                } else {
                    format!("  ({})", sanitize(&d.reason))
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
                    format!("{} (same digest)", sanitize(t)),
                    theme.warning(),
                ));
            } else {
                tags.push(Span::raw(sanitize(t).into_owned()));
            }
        }
        lines.push(Line::from(tags));
        if !d.children.is_empty() {
            let children: Vec<String> = d.children.iter().map(|c| short(c)).collect();
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
    for u in &plan.unknown {
        lines.push(Line::styled(
            format!("not found (left alone): {}", sanitize(u)),
            theme.warning(),
        ));
    }
    lines.push(Line::default());
    lines.push(Line::styled(
        format!(
            "{}, {} · frees {} ({} bytes) once garbage collection runs",
            count(plan.deletions.len(), "manifest"),
            count(plan.tag_count(), "tag"),
            size(plan.bytes_freed),
            plan.bytes_freed
        ),
        theme.label(),
    ));
    for part in wrap(&format!("note: {}", plan.note), width) {
        lines.push(Line::styled(part, Style::new()));
    }
    lines
}
