//! A table that owns its cursor and scroll offset and draws only the rows on screen: the row
//! cells are asked for by position, so a list of 100,000 rows costs what a screenful costs.

use std::ops::Range;

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Cell, Paragraph, Row, Table};

use crate::tui::columns::{Align, ColumnSpec, Width};
use crate::tui::theme::Theme;

/// Cursor and scroll of a list of `len` rows shown `height` rows at a time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableState {
    selected: usize,
    offset: usize,
    len: usize,
}

impl TableState {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The selected position, `None` when the list is empty.
    pub fn selected(&self) -> Option<usize> {
        (self.len > 0).then_some(self.selected)
    }

    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The list now has `len` rows: the selection stays where it was, or moves to the last
    /// row when rows vanished under it.
    pub fn set_len(&mut self, len: usize, height: usize) {
        self.len = len;
        self.selected = self.selected.min(len.saturating_sub(1));
        self.scroll_into_view(height);
    }

    pub fn select(&mut self, position: usize, height: usize) {
        self.selected = position.min(self.len.saturating_sub(1));
        self.scroll_into_view(height);
    }

    pub fn move_by(&mut self, delta: i64, height: usize) {
        let target = (self.selected as i64).saturating_add(delta).max(0) as usize;
        self.select(target, height);
    }

    pub fn first(&mut self, height: usize) {
        self.select(0, height);
    }

    pub fn last(&mut self, height: usize) {
        self.select(self.len.saturating_sub(1), height);
    }

    pub fn page_down(&mut self, height: usize) {
        self.move_by(height.max(1) as i64, height);
    }

    pub fn page_up(&mut self, height: usize) {
        self.move_by(-(height.max(1) as i64), height);
    }

    fn scroll_into_view(&mut self, height: usize) {
        self.offset = clamp_offset(self.offset, self.selected, self.len, height);
    }

    /// The positions on screen. Recomputed from the selection so that a stale offset (after
    /// a resize) can never hide the selected row.
    pub fn visible(&self, height: usize) -> Range<usize> {
        let offset = clamp_offset(self.offset, self.selected, self.len, height);
        offset..(offset + height).min(self.len)
    }

    /// The position shown on screen row `row` (0 = first body row), if there is one.
    pub fn position_at(&self, row: usize, height: usize) -> Option<usize> {
        let visible = self.visible(height);
        let position = visible.start + row;
        visible.contains(&position).then_some(position)
    }
}

fn clamp_offset(offset: usize, selected: usize, len: usize, height: usize) -> usize {
    let height = height.max(1);
    let mut offset = offset.min(len.saturating_sub(height));
    if selected < offset {
        offset = selected;
    } else if selected >= offset + height {
        offset = selected + 1 - height;
    }
    offset
}

/// Rows available for data in a table drawn in an area `area_height` tall (one is the header).
pub fn body_height(area_height: u16) -> usize {
    usize::from(area_height.saturating_sub(1))
}

fn constraint(width: Width) -> Constraint {
    match width {
        Width::Fixed(n) => Constraint::Length(n),
        Width::Min(n) => Constraint::Min(n),
        Width::Fill(w) => Constraint::Fill(w),
    }
}

fn aligned(text: String, align: Align) -> Cell<'static> {
    let line = Line::from(text);
    Cell::from(match align {
        Align::Left => line,
        Align::Right => line.alignment(Alignment::Right),
    })
}

/// One row's cell texts, with an optional style for one of its cells (a state word).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TableRow {
    pub cells: Vec<String>,
    pub accent: Option<(usize, Style)>,
}

impl From<Vec<String>> for TableRow {
    fn from(cells: Vec<String>) -> Self {
        TableRow {
            cells,
            accent: None,
        }
    }
}

/// Draws the header and the visible rows; `row(position)` is called once per visible row
/// and nowhere else. `empty` is shown under the header when there are no rows.
pub fn render_table<R: Into<TableRow>>(
    f: &mut Frame,
    area: Rect,
    columns: &[ColumnSpec],
    state: &TableState,
    theme: &Theme,
    empty: &str,
    mut row: impl FnMut(usize) -> R,
) {
    let height = body_height(area.height);
    let header = Row::new(
        columns
            .iter()
            .map(|c| aligned(c.title.to_string(), c.align)),
    )
    .style(theme.header());
    let visible = state.visible(height);
    let rows: Vec<Row> = visible
        .clone()
        .map(|position| {
            let TableRow { cells, accent } = row(position).into();
            Row::new(
                cells
                    .into_iter()
                    .zip(columns)
                    .enumerate()
                    .map(|(i, (text, spec))| {
                        let cell = aligned(text, spec.align);
                        match accent {
                            Some((column, style)) if column == i => cell.style(style),
                            _ => cell,
                        }
                    }),
            )
        })
        .collect();
    let table = Table::new(rows, columns.iter().map(|c| constraint(c.width)))
        .header(header)
        .column_spacing(1)
        .row_highlight_style(theme.selected());
    let mut table_state = ratatui::widgets::TableState::new()
        .with_selected(state.selected().map(|s| s - visible.start));
    f.render_stateful_widget(table, area, &mut table_state);
    if state.is_empty() && area.height > 1 {
        let below = Rect {
            y: area.y + 1,
            height: 1,
            ..area
        };
        f.render_widget(Paragraph::new(empty.to_string()).style(theme.dim()), below);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_is_clamped_when_rows_vanish() {
        let mut t = TableState::default();
        t.set_len(100, 10);
        t.last(10);
        assert_eq!(t.selected(), Some(99));
        assert_eq!(t.offset(), 90);
        t.set_len(5, 10);
        assert_eq!(t.selected(), Some(4));
        assert_eq!(t.offset(), 0);
        assert_eq!(t.visible(10), 0..5);
        t.set_len(0, 10);
        assert_eq!(t.selected(), None);
        assert_eq!(t.visible(10), 0..0);
        t.set_len(3, 10);
        assert_eq!(t.selected(), Some(0));
    }

    #[test]
    fn moving_scrolls_the_selection_into_view() {
        let mut t = TableState::default();
        t.set_len(50, 10);
        t.move_by(12, 10);
        assert_eq!((t.selected(), t.offset()), (Some(12), 3));
        t.move_by(-100, 10);
        assert_eq!((t.selected(), t.offset()), (Some(0), 0));
        t.page_down(10);
        t.page_down(10);
        assert_eq!((t.selected(), t.offset()), (Some(20), 11));
        t.page_up(10);
        assert_eq!((t.selected(), t.offset()), (Some(10), 10));
        t.move_by(1000, 10);
        assert_eq!(t.selected(), Some(49));
        assert_eq!(t.visible(10), 40..50);
    }

    #[test]
    fn positions_map_to_screen_rows() {
        let mut t = TableState::default();
        t.set_len(30, 10);
        t.select(25, 10);
        assert_eq!(t.position_at(0, 10), Some(16));
        assert_eq!(t.position_at(9, 10), Some(25));
        assert_eq!(t.position_at(10, 10), None);
        // A smaller terminal never hides the selection, even before the next move.
        assert!(t.visible(3).contains(&25));
    }
}
