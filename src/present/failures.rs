//! What a scan could not read, as people read it: one sentence for the count and what it
//! means for the numbers, then one line per failure. `du`, `audit` and the plans print these;
//! the JSON carries the same list as data (`complete`, `failures`).

use super::units::count;
use crate::analysis::model::ScanFailure;
use crate::sanitize::sanitize;

/// How many failures are listed before `… and N more`.
pub const LISTED: usize = 10;

/// `the scan is incomplete (2 failures); the numbers leave those parts out`.
pub fn incomplete(failures: usize, consequence: &str) -> String {
    format!(
        "the scan is incomplete ({}); {consequence}",
        count(failures, "failure")
    )
}

/// `what: error`, sanitized (both halves can carry a registry's text).
pub fn failure_line(failure: &ScanFailure) -> String {
    format!("{}: {}", sanitize(&failure.what), sanitize(&failure.error))
}

/// The first `limit` failures, one a line, then `… and N more` for the rest.
pub fn failure_lines(failures: &[ScanFailure], limit: usize) -> Vec<String> {
    let mut lines: Vec<String> = failures.iter().take(limit).map(failure_line).collect();
    if failures.len() > limit {
        lines.push(format!("… and {} more", failures.len() - limit));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sanitize::PLACEHOLDER;

    fn failure(n: usize) -> ScanFailure {
        ScanFailure {
            what: format!("repo{n}:v1"),
            error: "HTTP 500".into(),
        }
    }

    #[test]
    fn the_sentence_counts_failures() {
        assert_eq!(
            incomplete(1, "the numbers leave those parts out"),
            "the scan is incomplete (1 failure); the numbers leave those parts out"
        );
        assert!(incomplete(2, "x").contains("(2 failures)"));
    }

    #[test]
    fn lists_are_cut_with_a_count_of_the_rest() {
        assert!(failure_lines(&[], LISTED).is_empty());
        let three: Vec<_> = (0..3).map(failure).collect();
        assert_eq!(
            failure_lines(&three, LISTED),
            [
                "repo0:v1: HTTP 500",
                "repo1:v1: HTTP 500",
                "repo2:v1: HTTP 500"
            ]
        );
        let many: Vec<_> = (0..12).map(failure).collect();
        let lines = failure_lines(&many, LISTED);
        assert_eq!(lines.len(), LISTED + 1);
        assert_eq!(lines[LISTED], "… and 2 more");
    }

    #[test]
    fn registry_text_is_sanitized() {
        let f = ScanFailure {
            what: "app:\u{1b}[2Jv1".into(),
            error: "bad\u{202e}gateway".into(),
        };
        let line = failure_line(&f);
        assert!(
            !line.contains('\u{1b}') && !line.contains('\u{202e}'),
            "{line}"
        );
        assert!(line.contains(PLACEHOLDER), "{line}");
    }
}
