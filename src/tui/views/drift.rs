//! Base-image drift across a repository's tags: the text of `regatta hints --repo`'s drift
//! section (written once, in [`crate::present::drift::drift_lines`]): which base each tag
//! sits on, the current base, and the tags left on an old one. Computed from what the scan
//! already read (digests, manifests' layers, configs' dates): no layer is downloaded.
//! Scrollable; only the lines on screen are drawn.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;

use super::Ctx;
use crate::registry::RepoName;
use crate::tui::widgets::page::Page;

#[derive(Debug)]
pub struct DriftView {
    pub entry: usize,
    pub repo: RepoName,
    pub page: Page,
}

impl DriftView {
    pub fn new(entry: usize, repo: RepoName, lines: Vec<String>) -> Self {
        Self {
            entry,
            repo,
            page: Page::new(lines),
        }
    }

    pub fn scroll_by(&mut self, delta: i64, height: usize) {
        self.page.scroll_by(delta, height);
    }

    /// The top bar: the position in the page.
    pub fn progress(&self) -> Option<String> {
        Some(self.page.position())
    }

    pub fn render(&self, f: &mut Frame, area: Rect, ctx: &Ctx<'_>) {
        let theme = ctx.theme;
        self.page.render(f, area, |l| {
            if l.starts_with("TAG ") {
                theme.header()
            } else if l.contains("old base") && !l.starts_with("No tag") {
                theme.warning()
            } else {
                Style::default()
            }
        });
    }
}
