//! Why an image is big: the text of `regatta hints` (written once, in
//! [`crate::present::layers::hints_lines`]): the efficiency score and wasted bytes as dive
//! measures them, duplicates, the paths written in more than one layer, known waste, the
//! largest files and directories. Scrollable; only the lines on screen are drawn.
//!
//! A worker lists the image's layers (through the listing cache); until it is done the view
//! shows the bytes read of how many. Leaving the view aborts it.

use std::sync::Arc;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;

use super::Ctx;
use crate::layers::hints::Hints;
use crate::present::layers::hints_lines;
use crate::tui::widgets::page::Page;
use crate::tui::widgets::reading::Reading;

#[derive(Debug)]
pub struct HintsView {
    pub entry: usize,
    /// `hints`, or `hints linux/arm64` from the platforms view, for the breadcrumbs.
    pub crumb: String,
    pub reading: Reading,
    pub hints: Option<Arc<Hints>>,
    /// The page, once the hints are in.
    pub page: Page,
}

impl HintsView {
    pub fn new(entry: usize, crumb: String, total: u64) -> Self {
        Self {
            entry,
            crumb,
            reading: Reading::of(total),
            hints: None,
            page: Page::default(),
        }
    }

    pub fn is_loading(&self) -> bool {
        self.reading.is_loading()
    }

    pub fn set_hints(&mut self, hints: Arc<Hints>) {
        self.page = Page::new(hints_lines(&hints));
        self.hints = Some(hints);
    }

    pub fn scroll_by(&mut self, delta: i64, height: usize) {
        self.page.scroll_by(delta, height);
    }

    /// The top bar: the position in the page.
    pub fn progress(&self) -> Option<String> {
        self.hints.as_ref()?;
        Some(self.page.position())
    }

    pub fn render(&self, f: &mut Frame, area: Rect, ctx: &Ctx<'_>) {
        let theme = ctx.theme;
        if self.hints.is_none() {
            let (doing, cannot) = ("listing the layers", "read the layers");
            self.reading.render(f, area, ctx, doing, cannot);
            return;
        }
        // Section headings (lines that are not indented and end in a colon) stand out; so
        // does the score.
        self.page.render(f, area, |l| {
            if l.ends_with(':') && !l.starts_with(' ') {
                theme.header()
            } else if l.starts_with("Efficiency:") || l.starts_with("Wasted:") {
                theme.warning()
            } else {
                Style::default()
            }
        });
    }
}
