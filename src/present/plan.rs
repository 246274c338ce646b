//! A deletion plan as text, written once: `regatta rm`, `regatta cleanup` and `regatta du
//! --free` print these lines, the TUI's delete and cleanup dialogs style them. A line is
//! made of spans, each with a [`Tone`] that says what the text is (a deletion, a warning, a
//! total); the TUI maps tones to colours, the CLI prints the text plain. The text is the same
//! for both, except that the TUI's narrow dialog shows short digests.

use super::columns::Digests;
use super::text::short_digest;
use super::units::{count, count_irregular, size_exact};
use crate::cleanup::execute::{ApplyReport, Outcome, mode_name};
use crate::cleanup::orphans::ORPHAN_INDEX;
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
            .push(Tone::Dim, reason_text(&step.reason, digests)),
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
    if step.mode == Mode::Rewrite {
        let entries: Vec<String> = step
            .children
            .iter()
            .map(|c| digest_text(c, digests))
            .collect();
        lines.push(Line::of(
            Tone::Dim,
            format!(
                "        - without {}: {}",
                count_irregular(entries.len(), "entry", "entries"),
                sanitize(&entries.join(", "))
            ),
        ));
    } else if !step.children.is_empty() {
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

/// Why a step is there, after its name: nothing for a requested one, the rule for a policy's,
/// and for what follows a deleted subject, what it is, of which subject, and its bytes:
/// `  (cosign signature of sha256:…, 1.2 KiB (1234 bytes))`.
fn reason_text(reason: &Reason, digests: Digests) -> String {
    match reason {
        Reason::Requested => String::new(),
        Reason::Referrer {
            subject,
            kind,
            bytes,
        } => format!(
            "  ({} of {}, {})",
            sanitize(kind),
            digest_text(subject, digests),
            size_exact(*bytes)
        ),
        Reason::FallbackIndex { subject, bytes } => format!(
            "  (referrers index of {}, {})",
            digest_text(subject, digests),
            size_exact(*bytes)
        ),
        Reason::Orphan {
            subject,
            kind,
            bytes,
        } => format!(
            "  ({} of {}, which is gone, {})",
            sanitize(kind),
            digest_text(subject, digests),
            size_exact(*bytes)
        ),
        Reason::Rewrite { subject } => format!(
            "  (referrers index of {}, rewritten without the entries that go)",
            digest_text(subject, digests)
        ),
        reason => format!("  ({})", sanitize(&reason.to_string())),
    }
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
    let untagged = plan
        .deletions
        .iter()
        .filter(|d| d.mode == Mode::Untag)
        .count();
    let rewritten = plan.deletions.len() - deleted - untagged;
    let children: usize = plan.deletions.iter().map(|d| d.children.len()).sum();
    let following = |f: fn(&Reason) -> bool| {
        plan.deletions
            .iter()
            .filter(|d| d.mode == Mode::Delete && f(&d.reason))
            .count()
    };
    // An orphan is a referrer, or the fallback index, of a subject that is gone.
    let referrers = following(|r| {
        matches!(r, Reason::Referrer { .. } | Reason::Orphan { .. })
            && !matches!(r, Reason::Orphan { kind, .. } if kind == ORPHAN_INDEX)
    });
    let indexes = following(|r| {
        matches!(r, Reason::FallbackIndex { .. })
            || matches!(r, Reason::Orphan { kind, .. } if kind == ORPHAN_INDEX)
    });
    let attached = referrers + indexes;
    let own = deleted - attached;
    let mut what = format!(
        "{} {}: ",
        count(tags, "tag"),
        if tags == 1 { "goes" } else { "go" },
    );
    let attached_text = match (referrers, indexes) {
        (r, 0) => count(r, "referrer"),
        (0, i) => count_irregular(i, "referrers index", "referrers indexes"),
        (r, i) => format!(
            "{} and {}",
            count(r, "referrer"),
            count_irregular(i, "referrers index", "referrers indexes")
        ),
    };
    if own == 0 && attached > 0 {
        what.push_str(&format!("{attached_text} deleted"));
    } else {
        what.push_str(&format!("{} deleted", count(own, "manifest")));
        if children > 0 {
            what.push_str(&format!(" (+{children} platform)"));
        }
        if attached > 0 {
            what.push_str(&format!(" with {attached_text}"));
        }
    }
    if untagged > 0 {
        what.push_str(&format!(", {} untagged", count(untagged, "tag")));
    }
    if rewritten > 0 {
        what.push_str(&format!(
            ", {} rewritten",
            count_irregular(rewritten, "referrers index", "referrers indexes")
        ));
    }
    let mut note = Line::of(Tone::Normal, format!("note: {}", plan.note));
    note.prose = true;
    let mut lines = vec![
        Line::of(Tone::Total, what),
        Line::of(
            Tone::Total,
            format!(
                "frees {} once garbage collection runs",
                size_exact(plan.bytes_freed)
            ),
        ),
    ];
    lines.extend(blob_backup_line(plan));
    lines.push(note);
    lines
}

/// With `backup_blobs`, what keeping the freed blobs costs on disk:
/// `backup_blobs: 3 blobs (configs and layers) are downloaded into the backup first: 2.0 MiB
/// (2097152 bytes) on disk`.
pub fn blob_backup_line(plan: &Plan) -> Option<Line> {
    let backup = plan.blob_backup.as_ref()?;
    let text = if backup.blobs.is_empty() {
        "backup_blobs: this frees no config or layer blob; the backup keeps the manifests"
            .to_string()
    } else {
        format!(
            "backup_blobs: {} (configs and layers) downloaded into the backup first, so restore works after garbage collection: {} on disk",
            count(backup.blobs.len(), "blob"),
            size_exact(backup.bytes)
        )
    };
    let mut line = Line::of(Tone::Total, text);
    line.prose = true;
    Some(line)
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

/// One step and how it went, `name` already fit for a terminal: `delete app@sha256:…: done`,
/// `… FAILED: why`; `None` while it runs (`…`). The CLI's result lines and the TUI's apply
/// dialog (live and finished) are written by this.
pub fn step_line(name: &str, outcome: Option<&Outcome>) -> Line {
    let (tone, text) = match outcome {
        None => (Tone::Dim, "…".to_string()),
        Some(Outcome::Done) => (Tone::Done, "done".to_string()),
        Some(Outcome::AlreadyDone) => (Tone::Done, "already done".to_string()),
        Some(Outcome::Skipped(why) | Outcome::Unseen(why)) => {
            (Tone::Warning, format!("skipped: {}", sanitize(why)))
        }
        Some(Outcome::Failed(why)) => {
            return Line::of(Tone::Normal, format!("{name} "))
                .push(Tone::Danger, format!("FAILED: {}", sanitize(why)));
        }
    };
    Line::of(Tone::Normal, format!("{name}: ")).push(tone, text)
}

/// One line per step that did not fail (`delete app@sha256:…: done`), and a cancelled
/// run's last word; the failures are in [`apply_failure_lines`].
pub fn applied_lines(report: &ApplyReport, digests: Digests) -> Vec<Line> {
    let mut lines: Vec<Line> = report
        .steps
        .iter()
        .filter(|s| !matches!(s.outcome, Outcome::Failed(_)))
        .map(|s| step_line(&step_name(&s.step, digests), Some(&s.outcome)))
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
        .filter(|s| matches!(s.outcome, Outcome::Failed(_)))
        .map(|s| step_line(&step_name(&s.step, digests), Some(&s.outcome)))
        .collect();
    if let Some(why) = &report.stopped {
        lines.push(Line::of(
            Tone::Danger,
            format!("stopped: {}", sanitize(why)),
        ));
    }
    lines
}
