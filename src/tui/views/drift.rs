//! Base-image drift across a repository's tags: the text of `regatta hints --repo`'s drift
//! section (written once, in [`crate::present::drift::drift_lines`]): which base each tag
//! sits on, the current base, and the tags left on an old one. Computed from what the scan
//! already read (digests, manifests' layers, configs' dates): no layer is downloaded.
//! Scrollable; only the lines on screen are drawn.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use super::Ctx;
use crate::registry::RepoName;
use crate::sanitize::sanitize;

#[derive(Debug)]
pub struct DriftView {
    pub entry: usize,
    pub repo: RepoName,
    pub lines: Vec<String>,
    pub scroll: usize,
}

impl DriftView {
    pub fn new(entry: usize, repo: RepoName, lines: Vec<String>) -> Self {
        Self {
            entry,
            repo,
            lines,
            scroll: 0,
        }
    }

    pub fn scroll_by(&mut self, delta: i64, height: usize) {
        let max = self.lines.len().saturating_sub(height.max(1));
        let target = (self.scroll as i64).saturating_add(delta).max(0) as usize;
        self.scroll = target.min(max);
    }

    /// The top bar: the position in the page.
    pub fn progress(&self) -> Option<String> {
        Some(format!(
            "line {}/{}",
            (self.scroll + 1).min(self.lines.len()),
            self.lines.len()
        ))
    }

    pub fn render(&self, f: &mut Frame, area: Rect, ctx: &Ctx<'_>) {
        let theme = ctx.theme;
        let height = usize::from(area.height);
        let scroll = self
            .scroll
            .min(self.lines.len().saturating_sub(height.max(1)));
        // Tag names and base names come from the registry: sanitized before they are drawn.
        let lines: Vec<Line> = self
            .lines
            .iter()
            .skip(scroll)
            .take(height)
            .map(|l| {
                let style = if l.starts_with("TAG ") {
                    theme.header()
                } else if l.contains("old base") && !l.starts_with("No tag") {
                    theme.warning()
                } else {
                    Style::default()
                };
                Line::styled(format!(" {}", sanitize(l)), style)
            })
            .collect();
        f.render_widget(Paragraph::new(lines), area);
    }
}
