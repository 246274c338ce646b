//! A plan as the dialogs show it: the lines [`crate::present::plan`] writes for the CLI too,
//! with short digests (the dialog is narrow), each tone in the theme's colour and the note
//! wrapped to the dialog's width.

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use crate::cleanup::plan::Plan;
use crate::present::columns::Digests;
use crate::present::plan::{self, Tone};
use crate::tui::theme::Theme;

pub use crate::present::text::{short_digests, wrap};
pub use crate::present::units::count;

fn style(tone: Tone, theme: &Theme) -> Style {
    match tone {
        Tone::Normal => Style::new(),
        Tone::Heading => theme.header(),
        Tone::Dim => theme.dim(),
        Tone::Danger => theme.error(),
        Tone::Warning => theme.warning(),
        Tone::Total => theme.label(),
        Tone::Done => theme.ok(),
    }
}

/// The present module's lines in the theme's colours; prose wrapped at `width`.
pub fn styled(lines: &[plan::Line], theme: &Theme, width: usize) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for line in lines {
        if line.prose {
            let tone = line.spans.first().map_or(Tone::Normal, |s| s.tone);
            out.extend(
                wrap(&line.text(), width)
                    .into_iter()
                    .map(|part| Line::styled(part, style(tone, theme))),
            );
        } else {
            out.push(Line::from(
                line.spans
                    .iter()
                    .map(|s| Span::styled(s.text.clone(), style(s.tone, theme)))
                    .collect::<Vec<_>>(),
            ));
        }
    }
    out
}

/// Every step of a plan, then the total and the prediction's blind spot.
pub fn plan_lines(plan: &Plan, theme: &Theme, width: usize) -> Vec<Line<'static>> {
    styled(&plan::plan_lines(plan, Digests::Short), theme, width)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::freed::PREDICTION_NOTE;
    use crate::cleanup::plan::{Mode, PlannedDeletion, Reason};
    use crate::present::text::short_digest;
    use crate::registry::{Digest, RepoName, Tag};

    fn plan() -> Plan {
        let tag = |t: &str| Tag::parse(t).unwrap();
        let app = RepoName::parse("team/app").unwrap();
        Plan {
            deletions: vec![PlannedDeletion {
                repository: app.clone(),
                digest: Digest::sha256_of(b"m"),
                mode: Mode::Delete,
                tags: vec![tag("latest"), tag("v2")],
                widened: vec![tag("latest")],
                children: vec![Digest::sha256_of(b"a")],
                reason: Reason::Requested,
            }],
            repositories: Vec::new(),
            unknown: vec![(app, tag("v9"))],
            bytes_freed: 12_897_485,
            note: PREDICTION_NOTE,
            seen: Default::default(),
            freed: Default::default(),
            blob_backup: None,
        }
    }

    fn text(line: &Line<'_>) -> String {
        line.spans.iter().map(|s| s.content.as_ref()).collect()
    }

    /// The dialog says what the CLI prints: each line's spans put together are the CLI's
    /// line, with the digests shortened.
    #[test]
    fn the_dialog_shows_the_cli_text_with_short_digests() {
        let plan = plan();
        let cli = plan::texts(&plan::plan_lines(&plan, Digests::Full));
        let tui: Vec<String> = plan_lines(&plan, &Theme::COLOR, 1000)
            .iter()
            .map(text)
            .collect();
        let shorten = |line: &String| {
            [b"m".as_slice(), b"a"]
                .iter()
                .map(|b| Digest::sha256_of(b).to_string())
                .fold(line.clone(), |l, d| l.replace(&d, &short_digest(&d)))
        };
        let cli: Vec<String> = cli.iter().map(shorten).collect();
        assert_eq!(tui, cli);
        assert!(
            tui.iter()
                .any(|l| l.contains("frees 12.3 MiB (12897485 bytes)"))
        );
    }

    #[test]
    fn the_note_wraps_and_widened_tags_are_warned() {
        let theme = Theme::COLOR;
        let lines = plan_lines(&plan(), &theme, 40);
        let note_start = lines
            .iter()
            .position(|l| text(l).starts_with("note: "))
            .expect("a note");
        assert!(lines.len() > note_start + 1, "the note wraps at 40");
        assert!(
            lines[note_start..]
                .iter()
                .all(|l| text(l).chars().count() <= 40)
        );
        let widened = lines[1]
            .spans
            .iter()
            .find(|s| s.content.contains("(same digest)"))
            .expect("the widened tag is marked");
        assert_eq!(widened.style, theme.warning());
        assert_eq!(lines[0].spans[0].style, theme.error());
    }
}
