//! Where each part of the screen goes. Drawing places the parts there, and the app uses the
//! same layout to size pages and to map mouse clicks to rows; both depend on this module, not
//! on each other.

use ratatui::layout::{Constraint, Layout, Rect};

/// The parts of the screen, top to bottom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    pub crumbs: Rect,
    pub body: Rect,
    pub message: Rect,
    pub status: Rect,
}

pub fn layout(area: Rect) -> Areas {
    let [crumbs, body, message, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    Areas {
        crumbs,
        body,
        message,
        status,
    }
}
