//! One sanitizer for every string that came from the network or disk before it reaches a
//! terminal: control characters, ESC/CSI/OSC sequences, C1 controls and bidi overrides become
//! visible placeholders, so a hostile tag or label cannot clear the screen, set the clipboard
//! (OSC 52) or reorder text.

use std::borrow::Cow;

/// The replacement shown for a removed control character or escape sequence.
pub const PLACEHOLDER: char = '\u{FFFD}';

/// Returns `text` with every control character, escape sequence and bidi control replaced
/// by [`PLACEHOLDER`]. Text without any is returned borrowed.
pub fn sanitize(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // Swallow the whole sequence so its parameters do not show as text.
            match chars.peek() {
                Some('[') => {
                    chars.next();
                    // CSI: parameters and intermediates, then one final byte in @..~.
                    for n in chars.by_ref() {
                        if ('@'..='~').contains(&n) {
                            break;
                        }
                    }
                }
                Some(']') | Some('P') | Some('_') | Some('^') | Some('X') => {
                    chars.next();
                    // OSC/DCS/APC/PM/SOS: up to BEL or ST (ESC \).
                    while let Some(n) = chars.next() {
                        if n == '\u{7}' {
                            break;
                        }
                        if n == '\u{1b}' {
                            if chars.peek() == Some(&'\\') {
                                chars.next();
                            }
                            break;
                        }
                    }
                }
                Some(_) => {
                    chars.next();
                }
                None => {}
            }
            out.push(PLACEHOLDER);
        } else if is_unsafe(c) {
            out.push(PLACEHOLDER);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Whether a terminal may act on `c` rather than show it: C0 and C1 controls, DEL and the
/// bidi controls.
pub fn is_unsafe(c: char) -> bool {
    c.is_control() // C0, DEL and C1 (U+0080..U+009F), tabs and newlines included
        || matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}')
        || ('\u{202A}'..='\u{202E}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_text_is_borrowed() {
        assert!(matches!(sanitize("nginx:1.25-alpine"), Cow::Borrowed(_)));
        assert_eq!(sanitize("ünïcode ✓"), "ünïcode ✓");
    }

    #[test]
    fn escapes_and_controls_become_placeholders() {
        assert_eq!(sanitize("a\u{1b}[2Jb"), "a\u{FFFD}b");
        assert_eq!(sanitize("x\u{7}y"), "x\u{FFFD}y");
        assert_eq!(sanitize("\u{1b}]52;c;aGVsbG8=\u{7}tail"), "\u{FFFD}tail");
        assert_eq!(sanitize("\u{1b}]8;;http://x\u{1b}\\link"), "\u{FFFD}link");
        assert_eq!(sanitize("c1\u{9b}31m"), "c1\u{FFFD}31m");
        assert_eq!(sanitize("bidi\u{202E}txt"), "bidi\u{FFFD}txt");
        assert_eq!(sanitize("line\nbreak\ttab"), "line\u{FFFD}break\u{FFFD}tab");
        assert_eq!(sanitize("trailing\u{1b}"), "trailing\u{FFFD}");
    }
}
