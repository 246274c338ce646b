//! The scan benchmark's `--check` logic (`benches/scan/targets.rs`), tested without running
//! the benchmark: a missed target or a missing figure fails the check.

#[path = "../benches/scan/targets.rs"]
mod targets;

use targets::{Bound, Verdicts, figure};

fn verdicts(figures: &[(Option<f64>, Bound)]) -> Verdicts {
    let mut v = Verdicts::default();
    for (i, (figure, bound)) in figures.iter().enumerate() {
        v.add(format!("figure {i}"), String::new(), *figure, "t", *bound);
    }
    v
}

#[test]
fn bounds_hold_at_their_limit_and_not_past_it() {
    assert!(Bound::AtMost(1.5).holds(1.5));
    assert!(!Bound::AtMost(1.5).holds(1.500_001));
    assert!(Bound::AtLeast(5.0).holds(5.0));
    assert!(!Bound::AtLeast(5.0).holds(4.999));
    assert!(Bound::Below(200.0).holds(199.9));
    assert!(!Bound::Below(200.0).holds(200.0));
}

#[test]
fn every_target_met_passes_the_check() {
    let v = verdicts(&[
        (Some(1.0), Bound::AtMost(1.05)),
        (Some(6.0), Bound::AtLeast(5.0)),
    ]);
    assert!(v.missed().is_empty());
    assert_eq!(v.check(), Ok(()));
}

#[test]
fn a_missed_target_fails_the_check_and_is_named() {
    let v = verdicts(&[
        (Some(1.0), Bound::AtMost(1.05)),
        (Some(4.7), Bound::AtLeast(5.0)),
    ]);
    let err = v.check().expect_err("4.7 < 5");
    assert_eq!(err, "1 of 2 targets missed: figure 1 (target t: NOT met)");
}

#[test]
fn a_missing_or_nan_figure_is_a_miss_not_a_pass() {
    // What the benchmark used to do: a missing field read as 0, which is "< 200 MB".
    let v = verdicts(&[
        (None, Bound::Below(200.0)),
        (Some(f64::NAN), Bound::AtMost(1.5)),
    ]);
    assert_eq!(v.missed().len(), 2);
    let err = v.check().expect_err("no figures");
    assert!(
        err.contains("figure 0 (target t: NOT met: no figure)"),
        "{err}"
    );
    assert!(
        err.contains("figure 1 (target t: NOT met: no figure)"),
        "{err}"
    );
}

#[test]
fn figures_come_from_the_report_or_not_at_all() {
    let report = serde_json::json!({"seconds": 1.25, "requests": 14401, "note": "x"});
    assert_eq!(figure(&report, "seconds"), Some(1.25));
    assert_eq!(figure(&report, "requests"), Some(14401.0));
    assert_eq!(figure(&report, "model_kb"), None);
    assert_eq!(figure(&report, "note"), None);
}
