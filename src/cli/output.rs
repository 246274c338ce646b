//! Printing for people and for scripts. Every string from a registry passes through the
//! sanitizer before it reaches a terminal; JSON escapes by construction.

use std::io::Write;

use humansize::{BINARY, format_size};
use serde::Serialize;

use crate::sanitize::sanitize;

/// Bytes as people read them: `12.3 MiB`.
pub fn human_bytes(bytes: u64) -> String {
    format_size(bytes, BINARY)
}

/// Prints `value` as pretty JSON on stdout.
pub fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
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

/// Formats rows into aligned columns (the header first); cells are sanitized.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> Vec<String> {
    let cells: Vec<Vec<String>> = std::iter::once(header.iter().map(|h| h.to_string()).collect())
        .chain(
            rows.iter()
                .map(|r| r.iter().map(|c| sanitize(c).into_owned()).collect()),
        )
        .collect();
    let columns = header.len();
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            cells
                .iter()
                .map(|r| r.get(i).map_or(0, |c| c.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    cells
        .iter()
        .map(|row| {
            let mut line = String::new();
            for (i, width) in widths.iter().enumerate() {
                let cell = row.get(i).map_or("", String::as_str);
                if i + 1 == columns {
                    line.push_str(cell);
                } else {
                    line.push_str(&format!("{cell:<width$}  "));
                }
            }
            line.trim_end().to_string()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_and_sanitizes() {
        let lines = table(
            &["NAME", "SIZE"],
            &[
                vec!["a\u{1b}[2J".into(), "1".into()],
                vec!["long-name".into(), "22".into()],
            ],
        );
        assert_eq!(lines[0], "NAME       SIZE");
        assert_eq!(lines[1], "a\u{FFFD}         1");
        assert_eq!(lines[2], "long-name  22");
    }
}
