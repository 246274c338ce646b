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

use super::plan_text::{plan_lines, short_digests, wrap};
use crate::cleanup::execute::{ApplyEvent, ApplyReport, Outcome, mode_name};
use crate::sanitize::sanitize;
use crate::tui::action::{Action, PlanRef, ReqId};
use crate::tui::theme::Theme;

/// Above this many tags, a confirmation needs a name typed (the CLI asks the same).
pub const TYPED_ABOVE: usize = 10;

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
        }
    }

    pub fn plan(&self) -> Option<&PlanRef> {
        self.choices.get(self.choice).map(|c| &c.plan)
    }

    /// The name that must be typed to confirm the current choice, if one must: the
    /// repository when the plan touches one, else `yes`.
    pub fn required(&self) -> Option<String> {
        let plan = self.plan()?;
        if plan.tag_count() <= TYPED_ABOVE {
            return None;
        }
        let mut repos: Vec<&str> = plan
            .deletions
            .iter()
            .map(|d| d.repository.as_str())
            .collect();
        repos.sort_unstable();
        repos.dedup();
        Some(match repos.as_slice() {
            [one] => one.to_string(),
            _ => "yes".to_string(),
        })
    }

    /// Whether what was typed confirms (`yes` always does).
    pub fn typed_ok(&self) -> bool {
        match self.required() {
            None => true,
            Some(name) => {
                let typed = self.typed.trim();
                typed == name || typed == "yes"
            }
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
                let skipped = count(|o| matches!(o, Outcome::Skipped(_)));
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
                lines.push(Line::styled(
                    "space comes back when the registry runs garbage collection; backups: D",
                    theme.dim(),
                ));
                lines
            }
        }
    }

    fn step_lines(&self, theme: &Theme) -> Vec<Line<'static>> {
        self.steps
            .iter()
            .map(|s| {
                let (word, detail, style) = match &s.outcome {
                    None => ("…", String::new(), theme.dim()),
                    Some(Outcome::Done) => ("done", String::new(), theme.ok()),
                    Some(Outcome::AlreadyDone) => ("done", " (already)".to_string(), theme.ok()),
                    Some(Outcome::Skipped(why) | Outcome::Unseen(why)) => {
                        ("skipped", format!(": {why}"), theme.warning())
                    }
                    Some(Outcome::Failed(why)) => ("FAILED", format!(": {why}"), theme.error()),
                };
                Line::from(vec![
                    Span::styled(format!("{word:<8}"), style),
                    Span::raw(
                        sanitize(&format!("{}{detail}", short_digests(&s.what))).into_owned(),
                    ),
                ])
            })
            .collect()
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
                            "{} tags: type {name} (or yes) and enter: ",
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
            Stage::Finished { .. } => Line::styled("enter or esc closes", theme.key()),
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
