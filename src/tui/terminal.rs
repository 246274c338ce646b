//! Owning the terminal: raw mode, alternate screen and mouse capture on the way in; all of it
//! undone on the way out, whether by return, error (`Drop`) or panic (the hook restores the
//! terminal first, then the previous hook prints the panic where it can be read).
//!
//! Each frame reaches the terminal in one write, wrapped in the synchronized-update mode
//! (DEC 2026) that terminals which know it use to show the frame at once; the others ignore
//! it. Rust's stdout alone flushes every kilobyte, so a large frame (a dialog over a table)
//! arrived in pieces and a slow terminal could show it half drawn.

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

pub type Term = Terminal<CrosstermBackend<FrameWriter>>;

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
        match Terminal::new(CrosstermBackend::new(FrameWriter::new())) {
            Ok(terminal) => Ok(Self { terminal }),
            Err(e) => {
                restore();
                Err(e)
            }
        }
    }
}

/// Collects what ratatui writes for a frame and hands it to the terminal on `flush` (ratatui
/// flushes once at the end of each draw), in one write between the synchronized-update marks.
pub struct FrameWriter<W: Write = Stdout> {
    frame: Vec<u8>,
    out: W,
}

const BEGIN_SYNC: &[u8] = b"\x1b[?2026h";
const END_SYNC: &[u8] = b"\x1b[?2026l";

impl FrameWriter {
    fn new() -> Self {
        Self::to(stdout())
    }
}

impl<W: Write> FrameWriter<W> {
    fn to(out: W) -> Self {
        let mut frame = Vec::with_capacity(64 * 1024);
        frame.extend_from_slice(BEGIN_SYNC);
        Self { frame, out }
    }
}

impl<W: Write> Write for FrameWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.frame.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.frame.len() == BEGIN_SYNC.len() {
            return Ok(());
        }
        self.frame.extend_from_slice(END_SYNC);
        let written = self
            .out
            .write_all(&self.frame)
            .and_then(|()| self.out.flush());
        self.frame.truncate(BEGIN_SYNC.len());
        written
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

    /// Records each write the terminal would get.
    #[derive(Default)]
    struct Writes(Vec<Vec<u8>>);

    impl Write for Writes {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.push(buf.to_vec());
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_frame_reaches_the_terminal_in_one_write_between_the_sync_marks() {
        let mut writer = FrameWriter::to(Writes::default());
        writer.write_all(b"\x1b[1;1Hab").unwrap();
        writer.write_all(&[b'x'; 5000]).unwrap();
        assert!(writer.out.0.is_empty(), "nothing goes out before the flush");
        writer.flush().unwrap();
        let mut want = b"\x1b[?2026h\x1b[1;1Hab".to_vec();
        want.extend_from_slice(&[b'x'; 5000]);
        want.extend_from_slice(b"\x1b[?2026l");
        assert_eq!(writer.out.0, vec![want]);
        // A flush with nothing drawn since sends nothing, and the next frame starts afresh.
        writer.flush().unwrap();
        writer.write_all(b"c").unwrap();
        writer.flush().unwrap();
        assert_eq!(writer.out.0.len(), 2);
        assert_eq!(writer.out.0[1], b"\x1b[?2026hc\x1b[?2026l".to_vec());
    }

    #[test]
    fn osc52_is_base64_between_the_markers() {
        // The payload is base64, so even a hostile reference cannot end the sequence early.
        assert_eq!(osc52("a\u{7}b"), "\u{1b}]52;c;YQdi\u{7}");
        assert_eq!(osc52("r/x:1"), "\u{1b}]52;c;ci94OjE=\u{7}");
    }
}
