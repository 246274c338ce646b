//! The `?` overlay: every key binding, generated from the keymap. Keys that do nothing on
//! the current view are dimmed rather than hidden, so the list is the same everywhere.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use crate::tui::keymap::HelpEntry;
use crate::tui::theme::Theme;

/// How many of `entries` help lines a terminal `height` rows high shows at once (the popup's
/// border takes two rows).
pub fn rows_shown(entries: usize, height: u16) -> usize {
    usize::from(
        (entries as u16)
            .saturating_add(2)
            .min(height)
            .saturating_sub(2),
    )
}

/// The furthest the help scrolls: its last line at the bottom of the popup.
pub fn max_scroll(entries: usize, height: u16) -> usize {
    entries.saturating_sub(rows_shown(entries, height))
}

/// Draws the help over `area`, starting `scroll` lines down when it does not fit.
pub fn render_help(f: &mut Frame, area: Rect, entries: &[HelpEntry], scroll: usize, theme: &Theme) {
    let keys_width = entries
        .iter()
        .map(|e| e.keys.chars().count())
        .max()
        .unwrap_or(0);
    let name_width = entries.iter().map(|e| e.name.len()).max().unwrap_or(0);
    let lines: Vec<Line> = entries
        .iter()
        .map(|e| {
            let style = if e.active {
                ratatui::style::Style::new()
            } else {
                theme.dim()
            };
            Line::from(vec![
                Span::styled(
                    format!(" {:<keys_width$}  ", e.keys),
                    theme.key().patch(style),
                ),
                Span::styled(
                    format!("{:<name_width$}  ", e.name),
                    theme.label().patch(style),
                ),
                Span::styled(e.help.to_string(), style),
            ])
        })
        .collect();
    let width = lines.iter().map(Line::width).max().unwrap_or(0) as u16 + 3;
    let shown = rows_shown(lines.len(), area.height);
    let popup = area.centered(
        Constraint::Length(width),
        Constraint::Length(shown as u16 + 2),
    );
    let scroll = scroll.min(max_scroll(lines.len(), area.height));
    let title = if shown < lines.len() {
        format!(
            " keys (dimmed: not on this view) — j/k, pgup/pgdn, g/G scroll, {}-{} of {}, esc closes ",
            scroll + 1,
            scroll + shown,
            lines.len()
        )
    } else {
        " keys (dimmed: not on this view) — esc closes ".to_string()
    };
    let block = Block::new().borders(Borders::ALL).title(title);
    f.render_widget(Clear, popup);
    let lines: Vec<Line> = lines.into_iter().skip(scroll).collect();
    f.render_widget(Paragraph::new(lines).block(block), popup);
}
