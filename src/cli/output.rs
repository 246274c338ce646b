//! Printing for people and for scripts. Every string from a registry passes through the
//! sanitizer before it reaches a terminal; JSON escapes by construction. What the text says
//! (sizes, tables, plans) is made in [`crate::present`], shared with the TUI.

use std::io::Write;

use serde::Serialize;
use serde_json::ser::{Formatter, PrettyFormatter};

use crate::sanitize::{is_unsafe, sanitize};

/// Prints `value` as pretty JSON on stdout, with every character a terminal could act on
/// escaped (see [`TerminalSafe`]).
pub fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    write_json(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// Pretty JSON through [`TerminalSafe`].
pub fn write_json<W: Write, T: Serialize>(out: &mut W, value: &T) -> serde_json::Result<()> {
    let mut serializer =
        serde_json::Serializer::with_formatter(out, TerminalSafe(PrettyFormatter::new()));
    value.serialize(&mut serializer)
}

/// serde_json's pretty formatter, except that strings carry no character a terminal acts on.
/// serde_json escapes C0 controls itself but writes DEL, the C1 controls (U+009B is a CSI to
/// many terminals) and the bidi controls as they are; those become `\uXXXX` here. A reader
/// of the JSON gets the same strings back.
struct TerminalSafe<'a>(PrettyFormatter<'a>);

impl Formatter for TerminalSafe<'_> {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let mut rest = fragment;
        while let Some((at, c)) = rest.char_indices().find(|(_, c)| is_unsafe(*c)) {
            writer.write_all(&rest.as_bytes()[..at])?;
            // Every such character is in the Basic Multilingual Plane: one escape each.
            write!(writer, "\\u{:04x}", u32::from(c))?;
            rest = &rest[at + c.len_utf8()..];
        }
        writer.write_all(rest.as_bytes())
    }

    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_array(w)
    }

    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array(w)
    }

    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_array_value(w, first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array_value(w)
    }

    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object(w)
    }

    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object(w)
    }

    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_object_key(w, first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object_value(w)
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object_value(w)
    }
}

/// Prints each line, sanitized, on stdout.
pub fn print_lines<I, S>(lines: I) -> anyhow::Result<()>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut out = std::io::stdout().lock();
    for line in lines {
        writeln!(out, "{}", sanitize(line.as_ref()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_escapes_what_a_terminal_would_act_on_and_reads_back_the_same() {
        let value = serde_json::json!({
            "label": "a\u{1b}]52;c;aGk=\u{7}b\u{9b}31m\u{202e}c\u{7f}d ünï ✓",
            "plain": ["x", 1, null],
        });
        let mut out = Vec::new();
        write_json(&mut out, &value).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(!text.chars().any(|c| is_unsafe(c) && c != '\n'), "{text:?}");
        assert!(text.contains(r"\u009b31m\u202ec\u007fd ünï ✓"), "{text}");
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
        // Laid out as serde_json's own pretty printer does.
        assert_eq!(
            text.replace(r"\u009b", "\u{9b}")
                .replace(r"\u202e", "\u{202e}")
                .replace(r"\u007f", "\u{7f}"),
            serde_json::to_string_pretty(&value).unwrap()
        );
    }
}
