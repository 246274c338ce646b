//! Terminal events to actions: keys through the app's keymap, the mouse through a small
//! tracker that tells a double click from two clicks.

use std::time::{Duration, Instant};

use crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEventKind,
};

use super::action::Action;
use super::app::App;

const DOUBLE_CLICK: Duration = Duration::from_millis(400);
/// Rows the selection moves per wheel notch.
const WHEEL_ROWS: i32 = 3;

#[derive(Debug, Default)]
pub struct ClickTracker {
    last: Option<(Instant, u16, u16)>,
}

impl ClickTracker {
    /// Whether a click at `(column, row)` at `at` completes a double click.
    pub fn click(&mut self, column: u16, row: u16, at: Instant) -> bool {
        let double = matches!(self.last, Some((t, _, r)) if r == row && at.duration_since(t) <= DOUBLE_CLICK);
        self.last = if double {
            None
        } else {
            Some((at, column, row))
        };
        double
    }
}

/// Splits Alt+key into Esc and key. The app binds nothing to Alt, and a terminal sends Esc
/// followed quickly by a key (a fast typist, a slow link, a script) as one Alt+key. Enter,
/// Backspace and Tab arrive that way too (ESC CR, ESC DEL, ESC HT); keys sent as sequences
/// (arrows, Home) carry Alt only when it was really held, so they are left alone.
pub fn expand(event: Event) -> Vec<Event> {
    match event {
        Event::Key(key)
            if key.modifiers.contains(KeyModifiers::ALT)
                && matches!(
                    key.code,
                    KeyCode::Char(_) | KeyCode::Enter | KeyCode::Backspace | KeyCode::Tab
                ) =>
        {
            let esc = KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE);
            let plain = KeyEvent::new(key.code, key.modifiers - KeyModifiers::ALT);
            vec![Event::Key(esc), Event::Key(plain)]
        }
        other => vec![other],
    }
}

pub fn event_action(app: &App, event: &Event, clicks: &mut ClickTracker) -> Option<Action> {
    match event {
        Event::Key(key) if key.kind != KeyEventKind::Release => app.key_action(key),
        Event::Mouse(mouse) => match mouse.kind {
            MouseEventKind::ScrollDown => Some(Action::ScrollBy(WHEEL_ROWS)),
            MouseEventKind::ScrollUp => Some(Action::ScrollBy(-WHEEL_ROWS)),
            MouseEventKind::Down(MouseButton::Left) => {
                let double = clicks.click(mouse.column, mouse.row, Instant::now());
                Some(Action::Click {
                    column: mouse.column,
                    row: mouse.row,
                    double,
                })
            }
            _ => None,
        },
        Event::Resize(width, height) => Some(Action::Resize {
            width: *width,
            height: *height,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alt_key_is_esc_then_key() {
        let alt_q = Event::Key(KeyEvent::new(KeyCode::Char('?'), KeyModifiers::ALT));
        let events = expand(alt_q);
        assert_eq!(
            events,
            [
                Event::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)),
                Event::Key(KeyEvent::new(KeyCode::Char('?'), KeyModifiers::NONE)),
            ]
        );
        let j = Event::Key(KeyEvent::new(KeyCode::Char('j'), KeyModifiers::NONE));
        assert_eq!(expand(j.clone()), [j]);
    }

    #[test]
    fn esc_then_enter_or_backspace_is_two_keys() {
        for code in [KeyCode::Enter, KeyCode::Backspace, KeyCode::Tab] {
            let merged = Event::Key(KeyEvent::new(code, KeyModifiers::ALT));
            assert_eq!(
                expand(merged),
                [
                    Event::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)),
                    Event::Key(KeyEvent::new(code, KeyModifiers::NONE)),
                ]
            );
        }
        // Alt+Up comes as its own sequence: Alt was held, there was no Esc.
        let alt_up = Event::Key(KeyEvent::new(KeyCode::Up, KeyModifiers::ALT));
        assert_eq!(expand(alt_up.clone()), [alt_up]);
    }

    #[test]
    fn double_click_needs_the_same_row_and_little_time() {
        let mut t = ClickTracker::default();
        let start = Instant::now();
        assert!(!t.click(5, 3, start));
        assert!(t.click(7, 3, start + Duration::from_millis(200)));
        // A third click starts over.
        assert!(!t.click(7, 3, start + Duration::from_millis(300)));
        assert!(!t.click(7, 4, start + Duration::from_millis(350)));
        assert!(!t.click(7, 4, start + Duration::from_millis(900)));
    }
}
