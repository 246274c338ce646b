//! The confirmation dialog of destructive work, and its progress once confirmed. It shows
//! the blast radius of a plan exactly: every digest that goes, every tag that goes with it
//! (the ones not asked for highlighted), the platform manifests of an index, the predicted
//! `bytes_freed` and what the prediction cannot see. A plan can come in several modes (delete
//! by digest, untag only), each explained, and Tab switches between them.
//!
//! The dialog is data the app owns; confirming hands back the very plan shown
//! ([`ConfirmDialog::confirmation`]), so what runs is what was read.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::plan_text::{plan_lines, short_digests, styled, wrap};
use crate::cleanup::execute::{ApplyEvent, ApplyReport, Outcome, mode_name};
use crate::cleanup::gc::{GcError, GcRun, GcSummary};
use crate::present;
use crate::sanitize::sanitize;
use crate::tui::action::{Action, PlanRef, ReqId};
use crate::tui::theme::Theme;

/// One way to carry out the request, with the plan it makes.
#[derive(Debug, Clone)]
pub struct Choice {
    pub label: &'static str,
    /// What this mode does, in a sentence.
    pub explanation: &'static str,
    pub plan: PlanRef,
}

/// How far the dialog is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    Confirming,
    Applying {
        req: ReqId,
        /// Steps started so far.
        started: usize,
        total: usize,
        cancelling: bool,
    },
    Finished {
        cancelled: bool,
    },
}

/// The registry's garbage collection after a delete (its `gc_command`), as the CLI's `--gc`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GcPane {
    /// Offered: Enter (or `y`) runs it, Esc closes.
    Offered {
        command: String,
    },
    Running {
        req: ReqId,
        command: String,
    },
    /// Its output, and the measured change when the collector listed what it removed.
    Ran {
        result: Result<GcRun, GcError>,
        summary: GcSummary,
    },
}

/// One step of the apply as the dialog lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepLine {
    pub what: String,
    /// `None` while the step runs.
    pub outcome: Option<Outcome>,
}

#[derive(Debug, Clone)]
pub struct ConfirmDialog {
    pub entry: usize,
    pub title: String,
    pub choices: Vec<Choice>,
    pub choice: usize,
    /// What was typed towards a required name.
    pub typed: String,
    pub stage: Stage,
    pub steps: Vec<StepLine>,
    /// First line shown of the body (↑/↓ scroll).
    pub scroll: usize,
    /// A sentence about the last key (the typed name does not match).
    pub warning: Option<String>,
    /// Once finished: the garbage collection offered, running or run.
    pub gc: Option<GcPane>,
}

impl ConfirmDialog {
    pub fn new(entry: usize, title: String, choices: Vec<Choice>) -> Self {
        Self {
            entry,
            title,
            choices,
            choice: 0,
            typed: String::new(),
            stage: Stage::Confirming,
            steps: Vec::new(),
            scroll: 0,
            warning: None,
            gc: None,
        }
    }

    /// The request of a garbage collection running from this dialog.
    pub fn gc_req(&self) -> Option<ReqId> {
        match &self.gc {
            Some(GcPane::Running { req, .. }) => Some(*req),
            _ => None,
        }
    }

    pub fn plan(&self) -> Option<&PlanRef> {
        self.choices.get(self.choice).map(|c| &c.plan)
    }

    /// The word that must be typed to confirm the current choice, if one must (a large
    /// plan): [`Plan::confirmation_word`], as the CLI asks. A small plan is confirmed by Enter.
    ///
    /// [`Plan::confirmation_word`]: crate::cleanup::plan::Plan::confirmation_word
    pub fn required(&self) -> Option<String> {
        let plan = self.plan()?;
        plan.name_must_be_typed().then(|| plan.confirmation_word())
    }

    /// Whether what was typed confirms the current choice.
    pub fn typed_ok(&self) -> bool {
        match self.plan() {
            Some(plan) if plan.name_must_be_typed() => plan.confirmed_by(&self.typed),
            _ => true,
        }
    }

    pub fn wants_typing(&self) -> bool {
        self.stage == Stage::Confirming && self.required().is_some()
    }

    /// The action Enter stands for: confirming exactly the plan on screen.
    pub fn confirmation(&self) -> Option<Action> {
        match self.stage {
            Stage::Confirming => self.plan().cloned().map(Action::ConfirmDelete),
            _ => None,
        }
    }

    pub fn switch_mode(&mut self) {
        if self.stage == Stage::Confirming && !self.choices.is_empty() {
            self.choice = (self.choice + 1) % self.choices.len();
            self.typed.clear();
            self.warning = None;
            self.scroll = 0;
        }
    }

    pub fn scroll_by(&mut self, delta: i64) {
        self.scroll = (self.scroll as i64 + delta).max(0) as usize;
    }

    pub fn start(&mut self, req: ReqId) {
        let total = self.plan().map_or(0, |p| p.deletions.len());
        self.stage = Stage::Applying {
            req,
            started: 0,
            total,
            cancelling: false,
        };
        self.steps.clear();
        self.scroll = 0;
        self.warning = None;
    }

    /// Asks a running apply to stop, if it is not already stopping: the request to cancel.
    pub fn stop_for_quit(&mut self) -> Option<ReqId> {
        match &mut self.stage {
            Stage::Applying {
                req, cancelling, ..
            } if !*cancelling => {
                *cancelling = true;
                Some(*req)
            }
            _ => None,
        }
    }

    pub fn apply_req(&self) -> Option<ReqId> {
        match self.stage {
            Stage::Applying { req, .. } => Some(req),
            _ => None,
        }
    }

    pub fn progress(&mut self, event: ApplyEvent) {
        match event {
            ApplyEvent::Started { index, total, what } => {
                if let Stage::Applying {
                    started, total: t, ..
                } = &mut self.stage
                {
                    *started = index + 1;
                    *t = total;
                }
                self.steps.push(StepLine {
                    what,
                    outcome: None,
                });
            }
            ApplyEvent::Finished { index, outcome } => {
                if let Some(step) = self.steps.get_mut(index) {
                    step.outcome = Some(outcome);
                }
            }
        }
    }

    /// The report is the truth: it replaces what the progress events said.
    pub fn finish(&mut self, report: &ApplyReport) {
        self.steps = report
            .steps
            .iter()
            .map(|s| StepLine {
                what: format!(
                    "{} {}@{}",
                    mode_name(s.step.mode),
                    s.step.repository,
                    s.step.digest
                ),
                outcome: Some(s.outcome.clone()),
            })
            .collect();
        self.stage = Stage::Finished {
            cancelled: report.cancelled,
        };
    }

    /// The stopped task's last word, when it died without a report.
    pub fn fail(&mut self, error: String) {
        self.stage = Stage::Finished { cancelled: false };
        self.warning = Some(error);
    }

    /// The lines above the footer, long sentences wrapped at `width`.
    fn body(&self, theme: &Theme, width: usize) -> Vec<Line<'static>> {
        match &self.stage {
            Stage::Confirming => self.confirm_lines(theme, width),
            Stage::Applying {
                started,
                total,
                cancelling,
                ..
            } => {
                let mut lines = vec![Line::styled(
                    format!(
                        "applying: step {started}/{total}{}",
                        if *cancelling {
                            " (stopping after this step)"
                        } else {
                            ""
                        }
                    ),
                    theme.label(),
                )];
                lines.extend(self.step_lines(theme));
                lines
            }
            Stage::Finished { cancelled } => {
                let count = |f: fn(&Outcome) -> bool| {
                    self.steps
                        .iter()
                        .filter(|s| s.outcome.as_ref().is_some_and(f))
                        .count()
                };
                let done = count(|o| matches!(o, Outcome::Done | Outcome::AlreadyDone));
                let skipped = count(|o| matches!(o, Outcome::Skipped(_) | Outcome::Unseen(_)));
                let failed = count(|o| matches!(o, Outcome::Failed(_)));
                let mut summary =
                    format!("finished: {done} done, {skipped} skipped, {failed} failed");
                if *cancelled {
                    let total = self.plan().map_or(0, |p| p.deletions.len());
                    summary.push_str(&format!(
                        "; cancelled, {} steps not run",
                        total.saturating_sub(self.steps.len())
                    ));
                }
                let mut lines = vec![Line::styled(summary, theme.label())];
                lines.extend(self.step_lines(theme));
                lines.push(Line::default());
                lines.extend(self.gc_lines(theme));
                lines
            }
        }
    }

    /// What the garbage collection did, its measured change first, then its output.
    fn gc_lines(&self, theme: &Theme) -> Vec<Line<'static>> {
        let line = |text: String, style| Line::styled(sanitize(&text).into_owned(), style);
        match &self.gc {
            None => vec![Line::styled(
                "space comes back when the registry runs garbage collection; backups: D",
                theme.dim(),
            )],
            Some(GcPane::Offered { command }) => vec![line(
                format!(
                    "space comes back when the registry runs garbage collection: enter runs {command}"
                ),
                theme.label(),
            )],
            Some(GcPane::Running { command, .. }) => {
                vec![line(
                    format!("garbage collection running: {command}"),
                    theme.label(),
                )]
            }
            Some(GcPane::Ran { result: Err(e), .. }) => vec![line(e.to_string(), theme.error())],
            Some(GcPane::Ran {
                result: Ok(run),
                summary,
            }) => {
                let mut lines = Vec::new();
                if run.success {
                    lines.push(line(
                        format!("garbage collection finished: {}", run.command),
                        theme.ok(),
                    ));
                } else {
                    lines.push(line(
                        format!(
                            "garbage collection failed ({}): {}",
                            run.status, run.command
                        ),
                        theme.error(),
                    ));
                }
                if let Some(measured) =
                    summary.sentence(&crate::tui::format::size(summary.known_bytes))
                {
                    lines.push(line(measured, theme.label()));
                }
                lines.extend(
                    run.output
                        .lines()
                        .map(|l| line(format!("gc: {l}"), theme.dim())),
                );
                lines
            }
        }
    }

    /// Each step as the CLI reports it ([`present::plan::step_line`]), digests shortened.
    fn step_lines(&self, theme: &Theme) -> Vec<Line<'static>> {
        let lines: Vec<_> = self
            .steps
            .iter()
            .map(|s| {
                let name = sanitize(&short_digests(&s.what)).into_owned();
                present::plan::step_line(&name, s.outcome.as_ref())
            })
            .collect();
        styled(&lines, theme, usize::MAX)
    }

    fn confirm_lines(&self, theme: &Theme, width: usize) -> Vec<Line<'static>> {
        let mut lines = Vec::new();
        let mut tabs = Vec::new();
        for (i, c) in self.choices.iter().enumerate() {
            if i > 0 {
                tabs.push(Span::raw("   "));
            }
            if i == self.choice {
                tabs.push(Span::styled(format!("[{}]", c.label), theme.selected()));
            } else {
                tabs.push(Span::styled(format!(" {} ", c.label), theme.dim()));
            }
        }
        if self.choices.len() > 1 {
            tabs.push(Span::styled("   (tab switches)", theme.dim()));
        }
        lines.push(Line::from(tabs));
        let Some(choice) = self.choices.get(self.choice) else {
            return lines;
        };
        for part in wrap(choice.explanation, width) {
            lines.push(Line::styled(part, theme.dim()));
        }
        lines.push(Line::default());
        lines.extend(plan_lines(&choice.plan, theme, width));
        lines
    }

    /// The line at the bottom: what to type, or which keys do what.
    fn footer(&self, theme: &Theme) -> Line<'static> {
        if let Some(w) = &self.warning {
            return Line::styled(sanitize(w).into_owned(), theme.error());
        }
        match &self.stage {
            Stage::Confirming => match self.required() {
                Some(name) => Line::from(vec![
                    Span::styled(
                        format!(
                            "{} tags: type {name} and enter: ",
                            self.plan().map_or(0, |p| p.tag_count())
                        ),
                        theme.key(),
                    ),
                    Span::raw(sanitize(&self.typed).into_owned()),
                    Span::styled("█", theme.dim()),
                ]),
                None => Line::styled("enter or y confirms · esc cancels", theme.key()),
            },
            Stage::Applying { .. } => Line::styled("esc stops before the next step", theme.key()),
            Stage::Finished { .. } => match &self.gc {
                Some(GcPane::Offered { .. }) => Line::styled(
                    "enter or y runs the garbage collection · esc closes",
                    theme.key(),
                ),
                Some(GcPane::Running { .. }) => {
                    Line::styled("esc closes (the collection goes on)", theme.key())
                }
                _ => Line::styled("enter or esc closes", theme.key()),
            },
        }
    }

    pub fn render(&self, f: &mut Frame, area: Rect, theme: &Theme) {
        let width = area.width.saturating_sub(4).min(100);
        let body = self.body(theme, usize::from(width.saturating_sub(2)));
        let height = (body.len() as u16 + 4).min(area.height.saturating_sub(2));
        let popup = area.centered(Constraint::Length(width), Constraint::Length(height));
        let block = Block::new()
            .borders(Borders::ALL)
            .title(format!(" {} ", sanitize(&self.title)));
        let inner = block.inner(popup);
        f.render_widget(Clear, popup);
        f.render_widget(block, popup);
        if inner.height == 0 {
            return;
        }
        let body_area = Rect {
            height: inner.height.saturating_sub(2),
            ..inner
        };
        let footer_area = Rect {
            y: inner.y + inner.height - 1,
            height: 1,
            ..inner
        };
        let max_scroll = body.len().saturating_sub(usize::from(body_area.height));
        let scroll = self.scroll.min(max_scroll);
        let shown: Vec<Line> = body.into_iter().skip(scroll).collect();
        f.render_widget(Paragraph::new(shown), body_area);
        f.render_widget(Paragraph::new(self.footer(theme)), footer_area);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cleanup::execute::StepResult;
    use crate::cleanup::plan::{Mode, PlannedDeletion, Reason};
    use crate::present::columns::Digests;
    use crate::present::plan::{applied_lines, apply_failure_lines, texts};
    use crate::registry::{Digest, RepoName};

    /// The dialog's finished steps are the CLI's result lines, digests shortened.
    #[test]
    fn finished_steps_read_as_the_cli_reports_them() {
        let step = |mode, outcome| StepResult {
            step: PlannedDeletion {
                repository: RepoName::parse("team/app").unwrap(),
                digest: Digest::sha256_of(b"m"),
                mode,
                tags: Vec::new(),
                widened: Vec::new(),
                children: Vec::new(),
                reason: Reason::Requested,
            },
            outcome,
            backup: None,
        };
        let report = ApplyReport {
            steps: vec![
                step(Mode::Delete, Outcome::AlreadyDone),
                step(Mode::Untag, Outcome::Failed("HTTP 500".into())),
            ],
            cancelled: false,
            stopped: None,
        };
        let mut dialog = ConfirmDialog::new(0, "delete".into(), Vec::new());
        dialog.finish(&report);
        let shown: Vec<String> = dialog
            .step_lines(&Theme::PLAIN)
            .iter()
            .map(ToString::to_string)
            .collect();
        let mut cli = texts(&applied_lines(&report, Digests::Short));
        cli.extend(texts(&apply_failure_lines(&report, Digests::Short)));
        assert_eq!(shown, cli);
        let short = crate::present::text::short_digest(&Digest::sha256_of(b"m").to_string());
        assert_eq!(
            shown,
            [
                format!("delete team/app@{short}: already done"),
                format!("untag team/app@{short} FAILED: HTTP 500"),
            ]
        );
    }
}
