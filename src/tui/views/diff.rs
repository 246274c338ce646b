//! The diff of two images: the base a key marked on the tag list, and the tag selected when
//! the diff was opened. The page is the text of `regatta diff` (written once, in
//! [`crate::present::layers::diff_lines`]): config changes, layers shared or only in one
//! with their bytes, then the files added, removed or changed, largest first. Scrollable;
//! only the lines on screen are drawn.
//!
//! A worker fetches both images and lists their layers (through the listing cache); until
//! it is done the view shows the bytes read of how many. Leaving the view aborts it.

use std::sync::Arc;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use super::Ctx;
use crate::layers::diff::ImageDiff;
use crate::present::layers::diff_lines;
use crate::tui::widgets::page::Page;
use crate::tui::widgets::reading::Reading;

#[derive(Debug)]
pub struct DiffView {
    pub entry: usize,
    /// `base..tag`, for the breadcrumbs.
    pub crumb: String,
    pub reading: Reading,
    pub diff: Option<Arc<ImageDiff>>,
    /// The page, once the diff is in.
    pub page: Page,
}

impl DiffView {
    pub fn new(entry: usize, crumb: String) -> Self {
        Self {
            entry,
            crumb,
            reading: Reading::default(),
            diff: None,
            page: Page::default(),
        }
    }

    pub fn is_loading(&self) -> bool {
        self.reading.is_loading()
    }

    pub fn set_diff(&mut self, diff: Arc<ImageDiff>) {
        self.page = Page::new(diff_lines(&diff));
        self.diff = Some(diff);
    }

    pub fn scroll_by(&mut self, delta: i64, height: usize) {
        self.page.scroll_by(delta, height);
    }

    /// The top bar: the position in the page.
    pub fn progress(&self) -> Option<String> {
        self.diff.as_ref()?;
        Some(self.page.position())
    }

    pub fn render(&self, f: &mut Frame, area: Rect, ctx: &Ctx<'_>) {
        let theme = ctx.theme;
        if self.diff.is_none() {
            if self.reading.total == 0 && self.reading.failed.is_none() {
                let text = Line::from(format!("{} fetching both images", ctx.spinner));
                f.render_widget(Paragraph::new(text), area);
                return;
            }
            let doing = "listing the layers of both images";
            self.reading.render(f, area, ctx, doing, "diff the images");
            return;
        }
        self.page
            .render(f, area, |l| match l.trim_start().chars().next() {
                _ if !l.starts_with(' ') && !l.is_empty() => theme.header(),
                Some('+') => theme.ok(),
                Some('-') => theme.error(),
                Some('~') => theme.warning(),
                _ => ratatui::style::Style::default(),
            });
    }
}
