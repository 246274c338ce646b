//! The scan benchmark's targets and its `--check` verdict: every figure is compared with its
//! target, and a figure the run did not produce (a missing field in a child's report, a NaN)
//! misses its target rather than passing for met.
//!
//! Tested on its own by `tests/bench_targets.rs`, without running the benchmark.

use std::fmt;

/// Which side of a limit a figure must stay on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    AtMost(f64),
    AtLeast(f64),
    Below(f64),
}

impl Bound {
    pub fn holds(self, figure: f64) -> bool {
        match self {
            Bound::AtMost(limit) => figure <= limit,
            Bound::AtLeast(limit) => figure >= limit,
            Bound::Below(limit) => figure < limit,
        }
    }
}

/// One figure of the run against its target.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// What was measured: "cold scan / plain GET/HEAD".
    pub what: String,
    /// The figure as shown to people, with how it was worked out.
    pub shown: String,
    /// The figure compared with the bound; `None` when the run did not produce it.
    pub figure: Option<f64>,
    pub bound: Bound,
    /// The target as shown: "<= 1.5x".
    pub target: &'static str,
}

impl Target {
    pub fn met(&self) -> bool {
        self.figure
            .is_some_and(|figure| figure.is_finite() && self.bound.holds(figure))
    }

    fn state(&self) -> &'static str {
        match self.figure {
            Some(f) if f.is_finite() => {
                if self.met() {
                    "met"
                } else {
                    "NOT met"
                }
            }
            _ => "NOT met: no figure",
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "  {:<34} {}  [target {}: {}]",
            self.what,
            self.shown,
            self.target,
            self.state()
        )
    }
}

/// The targets of one run, in the order they were printed.
#[derive(Debug, Default)]
pub struct Verdicts {
    targets: Vec<Target>,
}

impl Verdicts {
    /// Records a target and prints its line.
    pub fn add(
        &mut self,
        what: impl Into<String>,
        shown: String,
        figure: Option<f64>,
        target: &'static str,
        bound: Bound,
    ) {
        let t = Target {
            what: what.into(),
            shown,
            figure,
            bound,
            target,
        };
        println!("{t}");
        self.targets.push(t);
    }

    /// The targets missed, a missing figure included.
    pub fn missed(&self) -> Vec<&Target> {
        self.targets.iter().filter(|t| !t.met()).collect()
    }

    /// `Err` with one sentence naming every missed target, for `--check`.
    pub fn check(&self) -> Result<(), String> {
        let missed = self.missed();
        if missed.is_empty() {
            return Ok(());
        }
        let names: Vec<String> = missed
            .iter()
            .map(|t| format!("{} (target {}: {})", t.what, t.target, t.state()))
            .collect();
        Err(format!(
            "{} of {} targets missed: {}",
            missed.len(),
            self.targets.len(),
            names.join("; ")
        ))
    }
}

/// A number from a child's JSON report; `None` when the field is missing or not a number.
pub fn figure(report: &serde_json::Value, field: &str) -> Option<f64> {
    report.get(field)?.as_f64()
}
