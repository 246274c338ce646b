//! Sizes, ages, percentages and counts as people read them. One format for the CLI and the
//! TUI: the same number prints the same everywhere.

use jiff::Timestamp;

const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];

/// Bytes in binary units: `0 B`, `1023 B`, `1 KiB`, `12.3 MiB`. A whole number of a unit
/// has no decimal; anything else has one, also when it rounds to `.0` (`10.0 MiB` is not
/// quite 10 MiB).
///
/// Rounded half up to a tenth, in integers (no float drift), and a value that rounds to 1024
/// of a unit reads in the next (`1048575` is `1.0 MiB`, not `1024.0 KiB`).
pub fn size(bytes: u64) -> String {
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut unit = 1;
    loop {
        let divisor = 1u128 << (10 * unit);
        let tenths = (u128::from(bytes) * 10 + divisor / 2) / divisor;
        if tenths < 10 * 1024 || unit + 1 == UNITS.len() {
            let (whole, tenth) = (tenths / 10, tenths % 10);
            return if tenth == 0 && u128::from(bytes) % divisor == 0 {
                format!("{whole} {}", UNITS[unit])
            } else {
                format!("{whole}.{tenth} {}", UNITS[unit])
            };
        }
        unit += 1;
    }
}

/// A size with its exact byte count, for totals people may check: `80.1 MiB (83972559
/// bytes)`. Always both, also below 1 KiB, so the exact count is found in one place.
pub fn size_exact(bytes: u64) -> String {
    format!("{} ({bytes} bytes)", size(bytes))
}

/// How an age reads when it is not known (no created date, or a reproducible-build
/// placeholder).
pub const UNKNOWN_AGE: &str = "-";

/// How long ago `then` was, in the largest whole unit: `45s`, `12m`, `3h`, `3d`, `5mo`, `2y`.
/// A time in the future (clock skew) reads as `0s`.
pub fn age(then: Timestamp, now: Timestamp) -> String {
    age_secs(now.as_second().saturating_sub(then.as_second()))
}

/// [`age`], or [`UNKNOWN_AGE`] without a time.
pub fn age_or_unknown(then: Option<Timestamp>, now: Timestamp) -> String {
    then.map_or_else(|| UNKNOWN_AGE.to_string(), |t| age(t, now))
}

/// An age of `days` whole days, in the units of [`age`] (`3d`, `2mo`, `1y`).
pub fn age_days(days: i64) -> String {
    age_secs(days.saturating_mul(DAY))
}

const MINUTE: i64 = 60;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// An age of `secs` seconds in the largest whole unit; negative reads as `0s`.
pub fn age_secs(secs: i64) -> String {
    match secs.max(0) {
        s if s < MINUTE => format!("{s}s"),
        s if s < HOUR => format!("{}m", s / MINUTE),
        s if s < DAY => format!("{}h", s / HOUR),
        s if s < 30 * DAY => format!("{}d", s / DAY),
        s if s < 365 * DAY => format!("{}mo", s / (30 * DAY)),
        s => format!("{}y", s / (365 * DAY)),
    }
}

/// A percentage with one decimal (`42.0%`); `-` when the whole is zero.
pub fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "-".to_string();
    }
    format!("{:.1}%", part as f64 * 100.0 / whole as f64)
}

/// `1 tag`, `3 tags`, `0 tags`.
pub fn count(n: usize, thing: &str) -> String {
    if n == 1 {
        format!("1 {thing}")
    } else {
        format!("{n} {thing}s")
    }
}

/// [`count`] for a word whose plural is not `+s`: `1 repository`, `2 repositories`.
pub fn count_irregular(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn sizes_at_the_unit_boundaries() {
        assert_eq!(size(0), "0 B");
        assert_eq!(size(1), "1 B");
        assert_eq!(size(1023), "1023 B");
        assert_eq!(size(1024), "1 KiB");
        // Not quite 1 KiB: one decimal says it was rounded.
        assert_eq!(size(1025), "1.0 KiB");
        // 1075 B is 1.0498 KiB, 1076 B 1.0508 KiB.
        assert_eq!(size(1075), "1.0 KiB");
        assert_eq!(size(1076), "1.1 KiB");
        assert_eq!(size(1536), "1.5 KiB");
        assert_eq!(size(2048), "2 KiB");
        // Just under a MiB rounds to the next unit, not to "1024 KiB".
        assert_eq!(size(1024 * 1024 - 1), "1.0 MiB");
        assert_eq!(size(10 * 1024 * 1024 - 30_000), "10.0 MiB");
        assert_eq!(size(1024 * 1024 - 52), "1023.9 KiB");
        assert_eq!(size(12_897_485), "12.3 MiB");
        assert_eq!(size(3 * 1024 * 1024 * 1024), "3 GiB");
        assert_eq!(size(5 << 40), "5 TiB");
        assert_eq!(size(7 << 50), "7 PiB");
        assert_eq!(size(1 << 60), "1 EiB");
        assert_eq!(size(u64::MAX), "16.0 EiB");
    }

    #[test]
    fn exact_sizes_add_the_byte_count() {
        assert_eq!(size_exact(0), "0 B (0 bytes)");
        assert_eq!(size_exact(1023), "1023 B (1023 bytes)");
        assert_eq!(size_exact(1024), "1 KiB (1024 bytes)");
        assert_eq!(
            size_exact(u64::MAX),
            "16.0 EiB (18446744073709551615 bytes)"
        );
    }

    #[test]
    fn ages_pick_the_largest_unit() {
        let now = ts("2025-06-01T00:00:00Z");
        assert_eq!(age(now, now), "0s");
        assert_eq!(age(ts("2025-05-31T23:59:15Z"), now), "45s");
        assert_eq!(age(ts("2025-05-31T23:59:00Z"), now), "1m");
        assert_eq!(age(ts("2025-05-31T23:48:00Z"), now), "12m");
        assert_eq!(age(ts("2025-05-31T21:00:00Z"), now), "3h");
        assert_eq!(age(ts("2025-05-31T00:00:01Z"), now), "23h");
        assert_eq!(age(ts("2025-05-29T00:00:00Z"), now), "3d");
        assert_eq!(age(ts("2024-12-31T00:00:00Z"), now), "5mo");
        assert_eq!(age(ts("2023-05-01T00:00:00Z"), now), "2y");
        // Clock skew: a date in the future.
        assert_eq!(age(ts("2025-06-02T00:00:00Z"), now), "0s");
        assert!(age(Timestamp::MIN, Timestamp::MAX).ends_with('y'));
    }

    #[test]
    fn ages_in_days_use_the_same_units() {
        assert_eq!(age_days(0), "0s");
        assert_eq!(age_days(3), "3d");
        assert_eq!(age_days(29), "29d");
        assert_eq!(age_days(30), "1mo");
        assert_eq!(age_days(364), "12mo");
        assert_eq!(age_days(365), "1y");
        assert_eq!(age_days(800), "2y");
        assert_eq!(age_days(-1), "0s");
        assert_eq!(age_days(i64::MAX), age_secs(i64::MAX));
    }

    #[test]
    fn unknown_ages_read_as_a_dash() {
        let now = ts("2025-06-01T00:00:00Z");
        assert_eq!(age_or_unknown(None, now), "-");
        assert_eq!(age_or_unknown(Some(ts("2025-05-29T00:00:00Z")), now), "3d");
    }

    #[test]
    fn percents_and_counts() {
        assert_eq!(percent(1, 4), "25.0%");
        assert_eq!(percent(0, 4), "0.0%");
        assert_eq!(percent(1, 0), "-");
        assert_eq!(percent(u64::MAX, u64::MAX), "100.0%");
        assert_eq!(count(0, "tag"), "0 tags");
        assert_eq!(count(1, "tag"), "1 tag");
        assert_eq!(count(2, "manifest"), "2 manifests");
        assert_eq!(
            count_irregular(1, "repository", "repositories"),
            "1 repository"
        );
        assert_eq!(
            count_irregular(0, "repository", "repositories"),
            "0 repositories"
        );
    }
}
