//! Owning the terminal: raw mode, alternate screen and mouse capture on the way in; all of it
//! undone on the way out, whether by return, error (`Drop`) or panic (the hook restores the
//! terminal first, then the previous hook prints the panic where it can be read).

use std::io::{self, Stdout, Write, stdout};
use std::sync::Once;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use crossterm::cursor::{Hide, Show};
use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;
use crossterm::style::Print;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

pub type Term = Terminal<CrosstermBackend<Stdout>>;

pub struct TerminalGuard {
    pub terminal: Term,
}

impl TerminalGuard {
    pub fn enter() -> io::Result<Self> {
        install_panic_hook();
        enable_raw_mode()?;
        // From here on, Drop undoes whatever part of the set-up succeeded.
        let mut guard_out = stdout();
        let entered = execute!(guard_out, EnterAlternateScreen, EnableMouseCapture, Hide);
        if let Err(e) = entered {
            restore();
            return Err(e);
        }
        match Terminal::new(CrosstermBackend::new(stdout())) {
            Ok(terminal) => Ok(Self { terminal }),
            Err(e) => {
                restore();
                Err(e)
            }
        }
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Puts the terminal back as it was. Safe to call more than once.
pub fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(stdout(), DisableMouseCapture, LeaveAlternateScreen, Show);
}

fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if super::workers::in_worker() {
                // The UI goes on and reports the failure; printing now would garble it.
                tracing::error!("a background task panicked: {info}");
                return;
            }
            restore();
            previous(info);
        }));
    });
}

/// The OSC 52 sequence that asks the terminal to put `text` on the clipboard.
pub fn osc52(text: &str) -> String {
    format!("\u{1b}]52;c;{}\u{7}", STANDARD.encode(text))
}

/// Writes the clipboard request to the terminal (terminals without OSC 52 ignore it).
pub fn copy_to_clipboard(text: &str) -> io::Result<()> {
    let mut out = stdout();
    execute!(out, Print(osc52(text)))?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn osc52_is_base64_between_the_markers() {
        // The payload is base64, so even a hostile reference cannot end the sequence early.
        assert_eq!(osc52("a\u{7}b"), "\u{1b}]52;c;YQdi\u{7}");
        assert_eq!(osc52("r/x:1"), "\u{1b}]52;c;ci94OjE=\u{7}");
    }
}
