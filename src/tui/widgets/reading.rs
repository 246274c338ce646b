//! Layers being read for a view (a file tree, a diff, the hints): the requests in flight,
//! the bytes read of how many and the rate, or why they could not be read; and the one line
//! the view shows until its result is in.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use crate::present::layers::reading_line;
use crate::sanitize::sanitize;
use crate::tui::action::ReqId;
use crate::tui::views::Ctx;

#[derive(Debug, Default)]
pub struct Reading {
    /// The workers reading for the view (aborted when it is left).
    pub loads: Vec<ReqId>,
    /// Bytes of the layers to read (0 while not known yet), bytes read (or found in the
    /// cache), bytes per second.
    pub total: u64,
    pub read: u64,
    pub rate: u64,
    pub failed: Option<String>,
}

impl Reading {
    pub fn of(total: u64) -> Self {
        Self {
            total,
            ..Self::default()
        }
    }

    pub fn is_loading(&self) -> bool {
        !self.loads.is_empty()
    }

    pub fn progress(&mut self, read: u64, rate: u64) {
        self.read = read;
        self.rate = rate;
    }

    /// `⠋ {doing}: read … of … (…%) · …/s`, or `cannot {cannot}: why` once it failed.
    pub fn render(&self, f: &mut Frame, area: Rect, ctx: &Ctx<'_>, doing: &str, cannot: &str) {
        let text = match &self.failed {
            Some(why) => Line::styled(
                format!("cannot {cannot}: {}", sanitize(why)),
                ctx.theme.error(),
            ),
            None => Line::from(format!(
                "{} {doing}: {}",
                ctx.spinner,
                reading_line(self.read, self.total, self.rate)
            )),
        };
        f.render_widget(Paragraph::new(text).wrap(Wrap { trim: false }), area);
    }
}
