//! A deletion plan as text, written once: `regatta rm`, `regatta cleanup` and `regatta du
//! --free` print these lines, the TUI's delete and cleanup dialogs style them. A line is
//! made of spans, each with a [`Tone`] that says what the text is (a deletion, a warning, a
//! total); the TUI maps tones to colours, the CLI prints the text plain. The text is the same
//! for both, except that the TUI's narrow dialog shows short digests.

use super::columns::Digests;
use super::text::short_digest;
use super::units::{count, size_exact};
use crate::cleanup::execute::{ApplyReport, Outcome, mode_name};
use crate::cleanup::plan::{Mode, Plan, PlannedDeletion, Reason, repo_tag_names};
use crate::cleanup::policy::Verdict;
use crate::registry::Digest;
use crate::sanitize::sanitize;

/// What a span of text is, for the TUI's colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Normal,
    /// A repository's heading in a cleanup plan.
    Heading,
    /// Secondary text: reasons, kept tags, platform manifests.
    Dim,
    /// What is deleted.
    Danger,
    /// What goes without being asked for (a tag on the same digest), untagging, not found.
    Warning,
    /// Counts and bytes of the whole plan.
    Total,
    /// A step that was done.
    Done,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub text: String,
    pub tone: Tone,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Line {
    pub spans: Vec<Span>,
    /// Prose a narrow screen may wrap at spaces (the note); other lines are cut.
    pub prose: bool,
}

impl Line {
    fn new() -> Self {
        Self::default()
    }

    fn of(tone: Tone, text: impl Into<String>) -> Self {
        Self::new().push(tone, text)
    }

    fn push(mut self, tone: Tone, text: impl Into<String>) -> Self {
        let text = text.into();
        if !text.is_empty() {
            self.spans.push(Span { text, tone });
        }
        self
    }

    /// The line's text, as the CLI prints it.
    pub fn text(&self) -> String {
        self.spans.iter().map(|s| s.text.as_str()).collect()
    }
}

/// The lines' texts, for printing.
pub fn texts(lines: &[Line]) -> Vec<String> {
    lines.iter().map(Line::text).collect()
}

fn digest_text(digest: &Digest, digests: Digests) -> String {
    match digests {
        Digests::Full => digest.to_string(),
        Digests::Short => short_digest(digest.as_str()),
    }
}

/// One step: `delete  app@sha256:…  (reason)`, the tags that go (those not asked for marked
/// `(same digest)`), and an index's platform manifests.
pub fn step_lines(step: &PlannedDeletion, digests: Digests) -> Vec<Line> {
    let mut lines = Vec::new();
    lines.push(
        Line::of(Tone::Danger, format!("{:<7}", mode_name(step.mode)))
            .push(
                Tone::Normal,
                sanitize(&format!(
                    "{}@{}",
                    step.repository,
                    digest_text(&step.digest, digests)
                )),
            )
            .push(
                Tone::Dim,
                match &step.reason {
                    Reason::Requested => String::new(),
                    reason => format!("  ({})", sanitize(&reason.to_string())),
                },
            ),
    );
    let mut tags = Line::of(Tone::Normal, "        tags: ");
    if step.tags.is_empty() {
        tags = tags.push(Tone::Dim, "(none)");
    }
    for (i, tag) in step.tags.iter().enumerate() {
        if i > 0 {
            tags = tags.push(Tone::Normal, ", ");
        }
        let name = sanitize(tag.as_str()).into_owned();
        tags = if step.widened.contains(tag) {
            tags.push(Tone::Warning, format!("{name} (same digest)"))
        } else {
            tags.push(Tone::Normal, name)
        };
    }
    lines.push(tags);
    if !step.children.is_empty() {
        let children: Vec<String> = step
            .children
            .iter()
            .map(|c| digest_text(c, digests))
            .collect();
        lines.push(Line::of(
            Tone::Dim,
            format!(
                "        + {}: {}",
                count(children.len(), "platform manifest"),
                sanitize(&children.join(", "))
            ),
        ));
    }
    lines
}

/// Every step of the plan, the references not found, the total and what the prediction
/// cannot see.
pub fn plan_lines(plan: &Plan, digests: Digests) -> Vec<Line> {
    let mut lines: Vec<Line> = plan
        .deletions
        .iter()
        .flat_map(|d| step_lines(d, digests))
        .collect();
    for u in repo_tag_names(&plan.unknown) {
        lines.push(Line::of(
            Tone::Warning,
            format!("not found (left alone): {}", sanitize(&u)),
        ));
    }
    lines.push(Line::new());
    lines.extend(total_lines(plan));
    lines
}

/// What the whole plan does and frees, and what the prediction cannot see:
/// `3 tags go: 1 manifest deleted (+2 platform), 2 tags untagged`,
/// `frees 87.1 MiB (91382015 bytes) once garbage collection runs`, `note: …`.
pub fn total_lines(plan: &Plan) -> Vec<Line> {
    let tags = plan.tag_count();
    let deleted = plan
        .deletions
        .iter()
        .filter(|d| d.mode == Mode::Delete)
        .count();
    let untagged = plan.deletions.len() - deleted;
    let children: usize = plan.deletions.iter().map(|d| d.children.len()).sum();
    let mut what = format!(
        "{} {}: {} deleted",
        count(tags, "tag"),
        if tags == 1 { "goes" } else { "go" },
        count(deleted, "manifest")
    );
    if children > 0 {
        what.push_str(&format!(" (+{children} platform)"));
    }
    if untagged > 0 {
        what.push_str(&format!(", {} untagged", count(untagged, "tag")));
    }
    let mut note = Line::of(Tone::Normal, format!("note: {}", plan.note));
    note.prose = true;
    vec![
        Line::of(Tone::Total, what),
        Line::of(
            Tone::Total,
            format!(
                "frees {} once garbage collection runs",
                size_exact(plan.bytes_freed)
            ),
        ),
        note,
    ]
}

/// A cleanup plan's decisions: each repository with its counts and policy, then every tag's
/// verdict and the rule that decided.
pub fn decision_lines(plan: &Plan) -> Vec<Line> {
    let mut lines = Vec::new();
    for r in &plan.repositories {
        lines.push(Line::of(
            Tone::Heading,
            sanitize(&format!(
                "{}: keep {}, delete {}, untag {} (policy {})",
                r.repository,
                r.kept,
                r.deleted,
                r.untagged,
                r.policy.as_deref().unwrap_or("-")
            )),
        ));
        for d in &r.decisions {
            let (tone, word) = match d.verdict {
                Verdict::Keep => (Tone::Dim, "keep"),
                Verdict::Delete => (Tone::Danger, "delete"),
                Verdict::Untag => (Tone::Warning, "untag"),
            };
            lines.push(Line::of(
                tone,
                sanitize(&format!("  {word:<6} {:<16} {}", d.tag.as_str(), d.reason)),
            ));
        }
    }
    lines
}

/// `delete app@sha256:…` for a step's result lines.
fn step_name(step: &PlannedDeletion, digests: Digests) -> String {
    sanitize(&format!(
        "{} {}@{}",
        mode_name(step.mode),
        step.repository,
        digest_text(&step.digest, digests)
    ))
    .into_owned()
}

/// One line per step that did not fail (`delete app@sha256:…: done`), and a cancelled
/// run's last word; the failures are in [`apply_failure_lines`].
pub fn applied_lines(report: &ApplyReport, digests: Digests) -> Vec<Line> {
    let mut lines: Vec<Line> = report
        .steps
        .iter()
        .filter_map(|s| {
            let (tone, outcome) = match &s.outcome {
                Outcome::Done => (Tone::Done, "done".to_string()),
                Outcome::AlreadyDone => (Tone::Done, "already done".to_string()),
                Outcome::Skipped(why) | Outcome::Unseen(why) => {
                    (Tone::Warning, format!("skipped: {}", sanitize(why)))
                }
                Outcome::Failed(_) => return None,
            };
            Some(
                Line::of(Tone::Normal, format!("{}: ", step_name(&s.step, digests)))
                    .push(tone, outcome),
            )
        })
        .collect();
    if report.cancelled {
        lines.push(Line::of(
            Tone::Warning,
            "Cancelled: the remaining steps were not run.",
        ));
    }
    lines
}

/// The failed steps (`delete app@sha256:… FAILED: why`), and why the run stopped early if
/// it did.
pub fn apply_failure_lines(report: &ApplyReport, digests: Digests) -> Vec<Line> {
    let mut lines: Vec<Line> = report
        .steps
        .iter()
        .filter_map(|s| match &s.outcome {
            Outcome::Failed(why) => Some(
                Line::of(Tone::Normal, format!("{} ", step_name(&s.step, digests)))
                    .push(Tone::Danger, format!("FAILED: {}", sanitize(why))),
            ),
            _ => None,
        })
        .collect();
    if let Some(why) = &report.stopped {
        lines.push(Line::of(
            Tone::Danger,
            format!("stopped: {}", sanitize(why)),
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::freed::PREDICTION_NOTE;
    use crate::cleanup::plan::RepoSummary;
    use crate::cleanup::policy::{Decision, Rule};
    use crate::registry::{RepoName, Tag};

    fn digest(b: &[u8]) -> Digest {
        Digest::sha256_of(b)
    }

    fn tag(t: &str) -> Tag {
        Tag::parse(t).unwrap()
    }

    fn repo(r: &str) -> RepoName {
        RepoName::parse(r).unwrap()
    }

    fn step(mode: Mode, tags: &[&str], widened: &[&str], children: &[&[u8]]) -> PlannedDeletion {
        PlannedDeletion {
            repository: repo("team/app"),
            digest: digest(b"m"),
            mode,
            tags: tags.iter().map(|t| tag(t)).collect(),
            widened: widened.iter().map(|t| tag(t)).collect(),
            children: children.iter().map(|c| digest(c)).collect(),
            reason: Reason::Requested,
        }
    }

    fn sample_plan() -> Plan {
        Plan {
            deletions: vec![
                step(Mode::Delete, &["latest", "v2"], &["latest"], &[b"a", b"b"]),
                step(Mode::Untag, &["stable"], &[], &[]),
            ],
            repositories: Vec::new(),
            unknown: vec![(repo("team/app"), tag("v9"))],
            bytes_freed: 83_972_559,
            note: PREDICTION_NOTE,
            seen: Default::default(),
        }
    }

    #[test]
    fn a_plan_reads_step_by_step_with_its_total() {
        let m = digest(b"m");
        let (a, b) = (digest(b"a"), digest(b"b"));
        assert_eq!(
            texts(&plan_lines(&sample_plan(), Digests::Full)),
            [
                format!("delete team/app@{m}"),
                "        tags: latest (same digest), v2".to_string(),
                format!("        + 2 platform manifests: {a}, {b}"),
                format!("untag  team/app@{m}"),
                "        tags: stable".to_string(),
                "not found (left alone): team/app:v9".to_string(),
                String::new(),
                "3 tags go: 1 manifest deleted (+2 platform), 1 tag untagged".to_string(),
                "frees 80.1 MiB (83972559 bytes) once garbage collection runs".to_string(),
                format!("note: {PREDICTION_NOTE}"),
            ]
        );
    }

    #[test]
    fn one_tag_goes() {
        let mut plan = sample_plan();
        plan.deletions.remove(0);
        let total = texts(&total_lines(&plan));
        assert_eq!(total[0], "1 tag goes: 0 manifests deleted, 1 tag untagged");
    }

    #[test]
    fn a_policy_step_names_its_rule() {
        let mut plan = sample_plan();
        plan.deletions[0].reason = Reason::Policy(Rule::AmongNewest(2));
        let first = &plan_lines(&plan, Digests::Short)[0];
        let reason = first.spans.last().expect("a reason span");
        assert_eq!(reason.text, "  (among the newest 2)");
        assert_eq!(reason.tone, Tone::Dim);
    }

    #[test]
    fn short_digests_are_the_only_difference_between_the_forms() {
        let plan = sample_plan();
        let full = texts(&plan_lines(&plan, Digests::Full));
        let short = texts(&plan_lines(&plan, Digests::Short));
        assert_eq!(full.len(), short.len());
        let shorten = |line: &str| {
            [digest(b"m"), digest(b"a"), digest(b"b")]
                .iter()
                .fold(line.to_string(), |l, d| {
                    l.replace(d.as_str(), &short_digest(d.as_str()))
                })
        };
        for (f, s) in full.iter().zip(&short) {
            assert_eq!(&shorten(f), s);
        }
        assert!(short[0].ends_with('…'), "{}", short[0]);
    }

    #[test]
    fn tones_mark_what_goes_and_what_was_not_asked_for() {
        let lines = plan_lines(&sample_plan(), Digests::Short);
        assert_eq!(lines[0].spans[0].tone, Tone::Danger);
        let widened = &lines[1].spans.iter().find(|s| s.text.contains("latest"));
        assert_eq!(widened.map(|s| s.tone), Some(Tone::Warning));
        let v2 = &lines[1].spans.iter().find(|s| s.text == "v2");
        assert_eq!(v2.map(|s| s.tone), Some(Tone::Normal));
        assert_eq!(lines[5].spans[0].tone, Tone::Warning);
        assert!(lines.last().is_some_and(|l| l.prose));
    }

    #[test]
    fn an_empty_plan_still_states_its_total() {
        let plan = Plan {
            deletions: Vec::new(),
            repositories: Vec::new(),
            unknown: Vec::new(),
            bytes_freed: 0,
            note: PREDICTION_NOTE,
            seen: Default::default(),
        };
        let lines = texts(&plan_lines(&plan, Digests::Full));
        assert_eq!(lines[1], "0 tags go: 0 manifests deleted");
        assert_eq!(lines[2], "frees 0 B (0 bytes) once garbage collection runs");
    }

    #[test]
    fn text_from_the_config_is_sanitized() {
        let mut plan = sample_plan();
        // keep_within is written in the config as the user typed it.
        plan.deletions[0].reason =
            Reason::Policy(Rule::CreatedWithin("3d\u{1b}[2J\u{202e}".into()));
        plan.repositories = vec![RepoSummary {
            repository: repo("svc"),
            policy: Some("evil\u{9b}31m".into()),
            kept: 0,
            deleted: 0,
            untagged: 0,
            decisions: Vec::new(),
        }];
        let lines = texts(&plan_lines(&plan, Digests::Full))
            .into_iter()
            .chain(texts(&decision_lines(&plan)));
        for line in lines {
            assert!(!line.chars().any(crate::sanitize::is_unsafe), "{line:?}");
        }
    }

    #[test]
    fn decisions_name_the_policy_and_every_verdict() {
        let mut plan = sample_plan();
        plan.repositories = vec![RepoSummary {
            repository: repo("svc"),
            policy: Some("release".into()),
            kept: 1,
            deleted: 1,
            untagged: 0,
            decisions: vec![
                Decision {
                    tag: tag("latest"),
                    digest: Some(digest(b"m")),
                    verdict: Verdict::Keep,
                    reason: Rule::Protected("latest".into()),
                },
                Decision {
                    tag: tag("v1.0.0"),
                    digest: Some(digest(b"m")),
                    verdict: Verdict::Delete,
                    reason: Rule::Dropped {
                        unknown: None,
                        keep_last: Some(2),
                        keep_within: None,
                    },
                },
            ],
        }];
        let lines = decision_lines(&plan);
        assert_eq!(
            texts(&lines),
            [
                "svc: keep 1, delete 1, untag 0 (policy release)",
                "  keep   latest           protected by \"latest\"",
                "  delete v1.0.0           not among the newest 2",
            ]
        );
        assert_eq!(lines[1].spans[0].tone, Tone::Dim);
        assert_eq!(lines[2].spans[0].tone, Tone::Danger);
    }

    #[test]
    fn results_name_each_step_and_failures_say_why() {
        use crate::cleanup::execute::StepResult;
        let plan = sample_plan();
        let result = |i: usize, outcome: Outcome| StepResult {
            step: plan.deletions[i].clone(),
            outcome,
            backup: None,
        };
        let report = ApplyReport {
            steps: vec![
                result(0, Outcome::Done),
                result(1, Outcome::Skipped("a tag outside the plan".into())),
                result(1, Outcome::Failed("HTTP 500".into())),
            ],
            cancelled: true,
            stopped: Some("the registry refuses deletes".into()),
        };
        let m = digest(b"m");
        assert_eq!(
            texts(&applied_lines(&report, Digests::Full)),
            [
                format!("delete team/app@{m}: done"),
                format!("untag team/app@{m}: skipped: a tag outside the plan"),
                "Cancelled: the remaining steps were not run.".to_string(),
            ]
        );
        let failures = apply_failure_lines(&report, Digests::Full);
        assert_eq!(
            texts(&failures),
            [
                format!("untag team/app@{m} FAILED: HTTP 500"),
                "stopped: the registry refuses deletes".to_string(),
            ]
        );
        assert_eq!(failures[0].spans[1].tone, Tone::Danger);
    }
}
