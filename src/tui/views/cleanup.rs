//! Cleanup preview: a small form for a policy (ad hoc, or taken from the config and edited),
//! and the plan it makes over the scanned model: counts per repository, every tag with its
//! verdict and the rule that decided, and the total `bytes_freed`. Applying goes through the
//! same confirmation dialog as a delete.

use jiff::Timestamp;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::Ctx;
use crate::analysis::model::StorageModel;
use crate::cleanup::plan::{Plan, plan_cleanup};
use crate::cleanup::policy::{Policy, PolicySpec};
use crate::sanitize::sanitize;
use crate::tui::action::PlanRef;
use crate::tui::format;

/// The form's fields, in order. The first is the policy's name and is not typed into.
pub const FIELDS: [&str; 7] = [
    "policy",
    "repositories",
    "keep_last",
    "keep_within",
    "match",
    "exclude",
    "protect",
];
const POLICY: usize = 0;
/// Ad-hoc policies keep this many tags unless told otherwise: a form that starts empty
/// could not make a plan at all.
const DEFAULT_KEEP_LAST: &str = "10";

/// How a line of the plan is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    Repo,
    Keep,
    Delete,
    Untag,
    Total,
    Note,
}

#[derive(Debug)]
pub struct CleanupView {
    pub entry: usize,
    /// Policies from the config, by name.
    pub policies: Vec<(String, PolicySpec)>,
    /// Which config policy the form started from (`None`: ad hoc).
    pub policy: Option<usize>,
    /// Text of fields 1.. (index 0 unused: the policy name is `policy`).
    pub values: [String; 7],
    pub focus: usize,
    /// While a field is edited: its value before, to put back on Esc.
    pub editing: Option<String>,
    /// The plan, or why there is none (a field is wrong).
    pub plan: Result<PlanRef, String>,
    pub lines: Vec<(LineKind, String)>,
    /// The first line of the plan shown (lines are wrapped to the pane when drawn).
    pub scroll: usize,
    /// The storage generation the plan was made from.
    pub generation: Option<u64>,
}

impl CleanupView {
    /// An ad-hoc form for `repository` (the one selected when the preview was opened).
    pub fn new(entry: usize, policies: Vec<(String, PolicySpec)>, repository: &str) -> Self {
        let mut values: [String; 7] = Default::default();
        values[1] = repository.to_string();
        values[2] = DEFAULT_KEEP_LAST.to_string();
        Self {
            entry,
            policies,
            policy: None,
            values,
            focus: 2,
            editing: None,
            plan: Err("no plan yet".into()),
            lines: Vec::new(),
            scroll: 0,
            generation: None,
        }
    }

    /// The form filled from the audit's suggested policy (offered first among the config's
    /// policies, `p` still cycles), with the plan the audit made of it over the model of
    /// `generation` when it has one (it is made again when the model changes).
    pub fn suggested(
        entry: usize,
        mut policies: Vec<(String, PolicySpec)>,
        name: &str,
        spec: PolicySpec,
        plan: Option<(Plan, u64)>,
    ) -> Self {
        // A config policy of the same name stays reachable under its own name.
        let name = if policies.iter().any(|(n, _)| n == name) {
            format!("{name} (audit)")
        } else {
            name.to_string()
        };
        policies.insert(0, (name, spec.clone()));
        let mut view = Self::new(entry, policies, "");
        view.policy = Some(0);
        view.fill(spec);
        if let Some((plan, generation)) = plan {
            let plan = PlanRef::new(plan);
            view.lines = plan_lines(&plan);
            view.plan = Ok(plan);
            view.generation = Some(generation);
        }
        view
    }

    pub fn policy_name(&self) -> &str {
        match self.policy.and_then(|i| self.policies.get(i)) {
            Some((name, _)) => name,
            None => "ad hoc",
        }
    }

    pub fn is_editing(&self) -> bool {
        self.editing.is_some()
    }

    pub fn move_focus(&mut self, delta: i64) {
        if self.editing.is_none() {
            let last = FIELDS.len() as i64 - 1;
            self.focus = (self.focus as i64 + delta).clamp(0, last) as usize;
        }
    }

    /// Starts editing the focused field; the policy field cycles instead. Returns whether
    /// the policy changed (the plan must be made again).
    pub fn edit(&mut self) -> bool {
        if self.focus == POLICY {
            self.next_policy();
            return true;
        }
        self.editing = Some(self.values[self.focus].clone());
        false
    }

    pub fn type_char(&mut self, c: char) {
        if self.editing.is_some() && !c.is_control() {
            self.values[self.focus].push(c);
        }
    }

    pub fn backspace(&mut self) {
        if self.editing.is_some() {
            self.values[self.focus].pop();
        }
    }

    pub fn keep(&mut self) {
        self.editing = None;
    }

    pub fn undo(&mut self) {
        if let Some(before) = self.editing.take() {
            self.values[self.focus] = before;
        }
    }

    /// Fills the form from the next config policy (after the last: ad hoc again).
    pub fn next_policy(&mut self) {
        self.editing = None;
        self.policy = match self.policy {
            None if !self.policies.is_empty() => Some(0),
            Some(i) if i + 1 < self.policies.len() => Some(i + 1),
            _ => None,
        };
        let spec = match self.policy.and_then(|i| self.policies.get(i)) {
            Some((_, spec)) => spec.clone(),
            None => PolicySpec {
                repositories: vec![self.values[1].clone()],
                keep_last: DEFAULT_KEEP_LAST.parse().ok(),
                ..PolicySpec::default()
            },
        };
        self.fill(spec);
    }

    fn fill(&mut self, spec: PolicySpec) {
        self.values[1] = spec.repositories.join(", ");
        self.values[2] = spec.keep_last.map(|n| n.to_string()).unwrap_or_default();
        self.values[3] = spec.keep_within.unwrap_or_default();
        self.values[4] = spec.match_re.unwrap_or_default();
        self.values[5] = spec.exclude.unwrap_or_default();
        self.values[6] = spec.protect.join(", ");
    }

    /// The policy the form describes (what is not in the form comes from the config policy
    /// it started from: sort order, undated tags).
    pub fn spec(&self) -> Result<PolicySpec, String> {
        let base = self
            .policy
            .and_then(|i| self.policies.get(i))
            .map(|(_, s)| s.clone())
            .unwrap_or_default();
        let text = |i: usize| {
            let v = self.values[i].trim();
            (!v.is_empty()).then(|| v.to_string())
        };
        let list = |i: usize| {
            self.values[i]
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect::<Vec<_>>()
        };
        let keep_last = match text(2) {
            None => None,
            Some(n) => Some(
                n.parse::<usize>()
                    .map_err(|_| format!("keep_last: {n:?} is not a number"))?,
            ),
        };
        Ok(PolicySpec {
            repositories: list(1),
            keep_last,
            keep_within: text(3),
            match_re: text(4),
            exclude: text(5),
            protect: list(6),
            sort: base.sort,
            unknown_date: base.unknown_date,
        })
    }

    /// Makes the plan again from the form and `model`. Called from `update`.
    pub fn scroll_by(&mut self, delta: i64) {
        let last = self.lines.len().saturating_sub(1) as i64;
        self.scroll = (self.scroll as i64 + delta).clamp(0, last.max(0)) as usize;
    }

    pub fn replan(&mut self, model: &StorageModel, now: Timestamp, generation: u64) {
        let name = self.policy_name().to_string();
        self.plan = self
            .spec()
            .and_then(|spec| Policy::compile(spec).map_err(|e| e.to_string()))
            .map(|policy| PlanRef::new(plan_cleanup(model, &[(name, policy)], now)));
        self.lines = match &self.plan {
            Ok(plan) => plan_lines(plan),
            Err(e) => vec![(LineKind::Note, e.clone())],
        };
        self.scroll = self.scroll.min(self.lines.len().saturating_sub(1));
        self.generation = Some(generation);
    }

    pub fn progress(&self) -> Option<String> {
        let plan = self.plan.as_ref().ok()?;
        Some(format!(
            "{} tags would go · frees {}",
            plan.tag_count(),
            format::size(plan.bytes_freed)
        ))
    }

    pub fn render(&self, f: &mut Frame, area: Rect, ctx: &Ctx<'_>) {
        let [form, plan] =
            Layout::horizontal([Constraint::Length(36), Constraint::Min(0)]).areas(area);
        self.render_form(f, form, ctx);
        let scanning = ctx.storage(self.entry).and_then(|s| s.progress());
        let title = match scanning {
            Some(p) => format!(" plan so far ({p}) "),
            None => " plan (nothing is deleted until you apply it) ".to_string(),
        };
        let block = Block::new().borders(Borders::ALL).title(title);
        let inner = block.inner(plan);
        f.render_widget(block, plan);
        let lines: Vec<Line> = self
            .lines
            .iter()
            .skip(self.scroll)
            .take(usize::from(inner.height))
            .map(|(kind, text)| Line::styled(sanitize(text).into_owned(), style(*kind, ctx)))
            .collect();
        // Reasons are long: a line wraps rather than losing its end.
        f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
    }

    fn render_form(&self, f: &mut Frame, area: Rect, ctx: &Ctx<'_>) {
        let block = Block::new()
            .borders(Borders::ALL)
            .title(" policy (e edit, p next) ");
        let inner = block.inner(area);
        f.render_widget(block, area);
        let lines: Vec<Line> = FIELDS
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let value = if i == POLICY {
                    self.policy_name().to_string()
                } else {
                    self.values[i].clone()
                };
                let focused = i == self.focus;
                let mut spans = vec![
                    Span::styled(if focused { "▸ " } else { "  " }, ctx.theme.key()),
                    Span::styled(format!("{name:<13}"), ctx.theme.label()),
                    Span::raw(sanitize(&value).into_owned()),
                ];
                if focused && self.editing.is_some() {
                    spans.push(Span::styled("█", ctx.theme.dim()));
                }
                let line = Line::from(spans);
                if focused && self.editing.is_none() {
                    line.style(ctx.theme.selected())
                } else {
                    line
                }
            })
            .collect();
        f.render_widget(Paragraph::new(lines), inner);
    }
}

fn style(kind: LineKind, ctx: &Ctx<'_>) -> Style {
    match kind {
        LineKind::Repo => ctx.theme.header(),
        LineKind::Keep => ctx.theme.dim(),
        LineKind::Delete => ctx.theme.error(),
        LineKind::Untag => ctx.theme.warning(),
        LineKind::Total => ctx.theme.label(),
        LineKind::Note => Style::new(),
    }
}

/// The plan as lines: each repository with its counts, then every tag's verdict and the
/// rule that decided, then the total and what the prediction cannot see (the text
/// [`crate::present::plan`] writes for `regatta cleanup` too).
pub fn plan_lines(plan: &Plan) -> Vec<(LineKind, String)> {
    use crate::present::plan::{Tone, decision_lines, total_lines};
    let kind = |line: &crate::present::plan::Line| match line.spans.first().map(|s| s.tone) {
        Some(Tone::Heading) => LineKind::Repo,
        Some(Tone::Dim) => LineKind::Keep,
        Some(Tone::Danger) => LineKind::Delete,
        Some(Tone::Warning) => LineKind::Untag,
        Some(Tone::Total) => LineKind::Total,
        _ => LineKind::Note,
    };
    let mut lines: Vec<(LineKind, String)> = decision_lines(plan)
        .iter()
        .map(|l| (kind(l), l.text()))
        .collect();
    if plan.repositories.is_empty() {
        lines.push((
            LineKind::Note,
            "the policy applies to no scanned repository".to_string(),
        ));
    }
    lines.extend(total_lines(plan).iter().map(|l| (kind(l), l.text())));
    lines
}
