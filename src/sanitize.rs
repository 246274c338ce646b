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

    /// The ranges the sanitizer promises to handle, written out from the module's doc (not
    /// from `is_unsafe`): C0, DEL, C1, the bidi embeddings and overrides (U+202A..U+202E),
    /// the bidi isolates (U+2066..U+2069) and the three bidi marks.
    const UNSAFE_RANGES: [(u32, u32, &str); 7] = [
        (0x00, 0x1F, "C0"),
        (0x7F, 0x7F, "DEL"),
        (0x80, 0x9F, "C1"),
        (0x061C, 0x061C, "arabic letter mark"),
        (0x200E, 0x200F, "LRM, RLM"),
        (0x202A, 0x202E, "LRE..RLO"),
        (0x2066, 0x2069, "LRI..PDI"),
    ];

    fn char_at(code: u32) -> char {
        char::from_u32(code).expect("a scalar value")
    }

    /// Each range's first and last character become a placeholder; the characters just
    /// outside stay as they are.
    #[test]
    fn every_range_is_handled_at_both_ends_and_its_neighbours_are_not() {
        for (first, last, name) in UNSAFE_RANGES {
            for code in [first, last] {
                let c = char_at(code);
                // At the end of the text, so an ESC has nothing after it to swallow.
                assert_eq!(
                    sanitize(&format!("x{c}")),
                    "x\u{FFFD}",
                    "U+{code:04X} ({name}) must be replaced"
                );
            }
            let outside = [first.checked_sub(1), last.checked_add(1)];
            for code in outside.into_iter().flatten() {
                if UNSAFE_RANGES
                    .iter()
                    .any(|(f, l, _)| (*f..=*l).contains(&code))
                {
                    continue; // DEL and C1 touch: U+007F's neighbour U+0080 is C1
                }
                let text = format!("x{}y", char_at(code));
                assert!(
                    matches!(sanitize(&text), Cow::Borrowed(t) if t == text),
                    "U+{code:04X}, just outside {name}, must be kept as it is"
                );
            }
        }
    }

    /// The neighbours named one by one, so a widened range cannot hide behind the table.
    #[test]
    fn neighbours_of_the_ranges_are_kept() {
        for c in [
            ' ', '~', '\u{A0}', '\u{061B}', '\u{061D}', '\u{200D}', '\u{2010}', '\u{2029}',
            '\u{202F}', '\u{2065}', '\u{206A}',
        ] {
            assert!(!is_unsafe(c), "U+{:04X} is printable", c as u32);
            assert_eq!(sanitize(&c.to_string()), c.to_string());
        }
    }

    /// Every character of the first planes against the ranges: nothing outside them is
    /// replaced and nothing inside them survives.
    #[test]
    fn exactly_the_listed_ranges_are_unsafe() {
        for code in 0..=0x2FFF {
            let Some(c) = char::from_u32(code) else {
                continue;
            };
            let listed = UNSAFE_RANGES
                .iter()
                .any(|(f, l, _)| (*f..=*l).contains(&code));
            assert_eq!(is_unsafe(c), listed, "U+{code:04X}");
        }
    }
}
