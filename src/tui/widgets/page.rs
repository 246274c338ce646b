//! A page of text written once for both front ends (`present`), scrolled: what the diff,
//! hints and drift views show once their work is done. Only the lines on screen are drawn,
//! each sanitized first (paths, tags and config values come from the registry).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use crate::sanitize::sanitize;

#[derive(Debug, Default)]
pub struct Page {
    pub lines: Vec<String>,
    pub scroll: usize,
}

impl Page {
    pub fn new(lines: Vec<String>) -> Self {
        Self { lines, scroll: 0 }
    }

    /// Moves `delta` lines, keeping the last line at the bottom of a page `height` high at
    /// the furthest.
    pub fn scroll_by(&mut self, delta: i64, height: usize) {
        let max = self.lines.len().saturating_sub(height.max(1));
        let target = (self.scroll as i64).saturating_add(delta).max(0) as usize;
        self.scroll = target.min(max);
    }

    /// `line 3/40`, for the top bar.
    pub fn position(&self) -> String {
        format!(
            "line {}/{}",
            (self.scroll + 1).min(self.lines.len()),
            self.lines.len()
        )
    }

    /// Draws the lines on screen, each in the style `style_of` gives its text.
    pub fn render(&self, f: &mut Frame, area: Rect, style_of: impl Fn(&str) -> Style) {
        let height = usize::from(area.height);
        let scroll = self
            .scroll
            .min(self.lines.len().saturating_sub(height.max(1)));
        let lines: Vec<Line> = self
            .lines
            .iter()
            .skip(scroll)
            .take(height)
            .map(|l| Line::styled(format!(" {}", sanitize(l)), style_of(l)))
            .collect();
        f.render_widget(Paragraph::new(lines), area);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrolling_stays_within_the_page() {
        let mut page = Page::new((1..=10).map(|i| format!("line {i}")).collect());
        page.scroll_by(-3, 4);
        assert_eq!(page.scroll, 0);
        page.scroll_by(100, 4);
        assert_eq!(page.scroll, 6, "the last line at the bottom of a page of 4");
        assert_eq!(page.position(), "line 7/10");
        page.scroll_by(-2, 4);
        assert_eq!(page.scroll, 4);
        assert_eq!(Page::default().position(), "line 0/0");
    }
}
