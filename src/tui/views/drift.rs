//! Base-image drift across a repository's tags: the text of `regatta hints --repo`'s drift
//! section (written once, in [`crate::present::drift::drift_lines`]): which base each tag
//! sits on, the current base, and the tags left on an old one. Computed from what the scan
//! already read (digests, manifests' layers, configs' dates): no layer is downloaded.
//! Against the image marked with `b` when there is one (as `--base` names it to the CLI).
//!
//! `w` then computes the rest of `regatta hints --repo` in a worker: every tag's wasted and
//! duplicate bytes, summed over the distinct images (its layers are read). Until it is done
//! the first line shows the bytes read of how many; then the page is the CLI's whole text
//! ([`crate::present::repo_hints::repo_hints_lines`]), and below it the tags that could not
//! be read. Leaving the view aborts the worker. Scrollable; only the lines on screen are
//! drawn.

use std::sync::Arc;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use super::Ctx;
use crate::layers::drift::Candidate;
use crate::layers::repo_hints::RepoHints;
use crate::present::repo_hints::{not_read_lines, repo_hints_lines};
use crate::registry::RepoName;
use crate::tui::widgets::page::Page;
use crate::tui::widgets::reading::Reading;

#[derive(Debug)]
pub struct DriftView {
    pub entry: usize,
    pub repo: RepoName,
    pub page: Page,
    /// The named bases the drift was worked out against (the `b` mark); empty: inferred.
    /// The repository's hints use the same.
    pub candidates: Vec<Candidate>,
    /// The repository's size hints being computed (`w`), or why they could not be.
    pub reading: Reading,
    pub report: Option<Arc<RepoHints>>,
}

impl DriftView {
    pub fn new(
        entry: usize,
        repo: RepoName,
        lines: Vec<String>,
        candidates: Vec<Candidate>,
    ) -> Self {
        Self {
            entry,
            repo,
            page: Page::new(lines),
            candidates,
            reading: Reading::default(),
            report: None,
        }
    }

    /// The repository's hints are in: the page becomes the CLI's text, then the tags that
    /// could not be read.
    pub fn set_report(&mut self, report: Arc<RepoHints>) {
        self.page = Page::new(report_lines(&report));
        self.report = Some(report);
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
        let page = if self.reading.is_loading() || self.reading.failed.is_some() {
            let [line, rest] =
                Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
            let (doing, cannot) = ("the repository's size hints", "read the tags' layers");
            if self.reading.total == 0 && self.reading.failed.is_none() {
                // The tags are being resolved: no total to read of yet.
                let text = format!("{} {doing}: reading the tags' images", ctx.spinner);
                f.render_widget(Paragraph::new(Line::from(text)), line);
            } else {
                self.reading.render(f, line, ctx, doing, cannot);
            }
            rest
        } else {
            area
        };
        self.page.render(f, page, |l| {
            if l.starts_with("TAG ") {
                theme.header()
            } else if l.starts_with("Wasted in ")
                || l.starts_with("Not read")
                || (l.contains("old base") && !l.starts_with("No tag"))
            {
                theme.warning()
            } else {
                Style::default()
            }
        });
    }
}

/// `regatta hints --repo`'s lines, then the tags that could not be read.
pub fn report_lines(report: &RepoHints) -> Vec<String> {
    let mut lines = repo_hints_lines(report);
    lines.extend(not_read_lines(report));
    lines
}
