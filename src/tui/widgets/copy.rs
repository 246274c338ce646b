//! The copy dialog: where the marked tags go (another registry, with the repository name
//! editable, or a directory for an OCI layout), the plan of the copy (the CLI's text from
//! `present/copy.rs`: each manifest, the blobs missing, mounted or present, the bytes that
//! will move), then a progress pane (the total with rate and time left, one bar per blob
//! being streamed), then what was copied.
//!
//! The dialog is data the app owns; confirming hands back the very plan shown.

use std::time::Duration;

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::plan_text::wrap;
use crate::copy::ProgressSnapshot;
use crate::present::copy::{
    COPY_CANCELLED_NOTE, outcome_lines, plan_lines, progress_blob_line, progress_total_line,
};
use crate::registry::{RepoName, Tag};
use crate::sanitize::sanitize;
use crate::tui::action::{CopyJob, CopyPlanRef, ReqId};
use crate::tui::theme::Theme;

/// A place the copy can go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// Another registry of the app (its entry), by its name and location.
    Registry { entry: usize, label: String },
    /// An OCI image layout directory (`regatta export`).
    Directory,
}

/// How far the copy is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyStage {
    /// Choosing the destination and typing the repository or directory.
    Picking,
    Planning {
        req: ReqId,
    },
    /// The plan is shown; Enter copies.
    Planned {
        plan: CopyPlanRef,
    },
    Copying {
        req: ReqId,
        plan: CopyPlanRef,
        snapshot: ProgressSnapshot,
        elapsed: Duration,
    },
    /// What happened, as the CLI reports it.
    Finished {
        lines: Vec<String>,
        complete: bool,
    },
}

#[derive(Debug, Clone)]
pub struct CopyDialog {
    pub source: usize,
    pub source_name: String,
    /// The images to copy, as repository and tag on the source.
    pub images: Vec<(RepoName, Tag)>,
    pub destinations: Vec<Destination>,
    pub choice: usize,
    /// The destination repository (registries); empty keeps each image's repository name.
    pub repository: String,
    /// The layout directory (exports).
    pub directory: String,
    pub stage: CopyStage,
    pub scroll: usize,
    /// The copy planned, once asked for (what the confirmed plan is applied with).
    pub job: Option<CopyJob>,
}

impl CopyDialog {
    pub fn destination(&self) -> Option<&Destination> {
        self.destinations.get(self.choice)
    }

    /// The text field of the chosen destination.
    pub fn field_mut(&mut self) -> &mut String {
        match self.destination() {
            Some(Destination::Directory) => &mut self.directory,
            _ => &mut self.repository,
        }
    }

    fn field(&self) -> (&'static str, &str) {
        match self.destination() {
            Some(Destination::Directory) => ("directory", &self.directory),
            _ => ("repository", &self.repository),
        }
    }

    /// The request whose result this dialog waits for.
    pub fn req(&self) -> Option<ReqId> {
        match &self.stage {
            CopyStage::Planning { req } | CopyStage::Copying { req, .. } => Some(*req),
            _ => None,
        }
    }

    pub fn title(&self) -> String {
        match self.images.as_slice() {
            [(repo, tag)] => format!("copy {repo}:{tag} from {}", self.source_name),
            images => format!("copy {} tags from {}", images.len(), self.source_name),
        }
    }

    fn body(&self, theme: &Theme, width: usize) -> Vec<Line<'static>> {
        let text = |s: String| Line::raw(sanitize(&s).into_owned());
        let mut lines = Vec::new();
        match &self.stage {
            CopyStage::Picking => {
                for (repo, tag) in self.images.iter().take(5) {
                    lines.push(text(format!("  {repo}:{tag}")));
                }
                if self.images.len() > 5 {
                    lines.push(text(format!("  … and {} more", self.images.len() - 5)));
                }
                lines.push(Line::styled("to:", theme.label()));
                for (i, d) in self.destinations.iter().enumerate() {
                    let label = match d {
                        Destination::Registry { label, .. } => label.clone(),
                        Destination::Directory => "a directory (an OCI image layout)".into(),
                    };
                    let line = format!("{} {label}", if i == self.choice { "›" } else { " " });
                    lines.push(if i == self.choice {
                        Line::styled(sanitize(&line).into_owned(), theme.selected())
                    } else {
                        text(line)
                    });
                }
                let (name, value) = self.field();
                lines.push(Line::default());
                lines.push(Line::from(vec![
                    Span::styled(format!("{name}: "), theme.label()),
                    Span::raw(sanitize(value).into_owned()),
                    Span::styled("█", theme.dim()),
                ]));
                if name == "repository" && value.is_empty() {
                    lines.push(Line::styled(
                        "(empty: each image keeps its repository name)",
                        theme.dim(),
                    ));
                }
            }
            CopyStage::Planning { .. } => lines.push(Line::styled(
                "planning: reading the source, asking the destination what it has…",
                theme.dim(),
            )),
            CopyStage::Planned { plan } => {
                for l in plan_lines(&plan.0) {
                    for w in wrap_indented(&short_hashes(&l), width) {
                        lines.push(text(w));
                    }
                }
                if plan.0.is_noop() {
                    lines.push(Line::styled(
                        "The destination has all of it: nothing to copy.",
                        theme.ok(),
                    ));
                }
            }
            CopyStage::Copying {
                plan,
                snapshot,
                elapsed,
                ..
            } => {
                let total = plan.0.totals.bytes_to_move;
                lines.push(bar_line(snapshot.bytes_moved, total, width, theme));
                for w in wrap(&progress_total_line(&plan.0, snapshot, *elapsed), width) {
                    lines.push(text(w));
                }
                if !snapshot.active.is_empty() {
                    lines.push(Line::styled("streaming:", theme.label()));
                }
                for blob in &snapshot.active {
                    let mut spans = bar_line(blob.moved, blob.size, 22, theme).spans;
                    spans.push(Span::raw(format!(
                        " {}",
                        sanitize(&progress_blob_line(blob))
                    )));
                    lines.push(Line::from(spans));
                }
            }
            CopyStage::Finished { lines: done, .. } => {
                for l in done {
                    for w in wrap_indented(&short_hashes(l), width) {
                        lines.push(text(w));
                    }
                }
            }
        }
        lines
    }

    fn footer(&self, theme: &Theme) -> Line<'static> {
        let text = match &self.stage {
            CopyStage::Picking => {
                "↑/↓ destination · type the name · enter plans the copy · esc cancels"
            }
            CopyStage::Planning { .. } => "esc cancels",
            CopyStage::Planned { plan } if plan.0.is_noop() => "enter or esc closes",
            CopyStage::Planned { .. } => "enter or y copies · esc cancels",
            CopyStage::Copying { .. } => {
                "esc stops the copy (no tag on an incomplete image; copy again to resume)"
            }
            CopyStage::Finished { .. } => "enter or esc closes",
        };
        Line::styled(text, theme.key())
    }

    pub fn render(&self, f: &mut Frame, area: Rect, theme: &Theme) {
        let width = area.width.saturating_sub(4).min(110);
        let body = self.body(theme, usize::from(width.saturating_sub(2)));
        let height = (body.len() as u16 + 4).min(area.height.saturating_sub(2));
        let popup = area.centered(Constraint::Length(width), Constraint::Length(height));
        let block = Block::new()
            .borders(Borders::ALL)
            .title(format!(" {} ", sanitize(&self.title())));
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

/// `[=====>      ]` for `done` of `total`, `width` cells wide with its brackets.
fn bar_line(done: u64, total: u64, width: usize, theme: &Theme) -> Line<'static> {
    let inner = width.saturating_sub(2).clamp(1, 60);
    let filled = if total == 0 {
        inner
    } else {
        ((u128::from(done.min(total)) * inner as u128) / u128::from(total)) as usize
    };
    let rest = inner - filled;
    Line::from(vec![
        Span::raw("["),
        Span::styled("=".repeat(filled), theme.ok()),
        Span::raw(" ".repeat(rest)),
        Span::raw("]"),
    ])
}

/// `line` wrapped to `width`, its continuation lines and itself keeping its indentation
/// (the plan's text nests manifests and blobs under their images).
fn wrap_indented(line: &str, width: usize) -> Vec<String> {
    let body = line.trim_start();
    let indent = &line[..line.len() - body.len()];
    wrap(body, width.saturating_sub(indent.len()).max(10))
        .into_iter()
        .map(|w| format!("{indent}{w}"))
        .collect()
}

/// Every `sha256:<64 hex>` in `line` shortened to its first 12 hex characters, so a plan line
/// fits the dialog (the CLI prints them whole).
pub fn short_hashes(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = rest.find("sha256:") {
        let (head, tail) = rest.split_at(at);
        out.push_str(head);
        let hex = &tail["sha256:".len()..];
        let len = hex.chars().take_while(char::is_ascii_hexdigit).count();
        if len == 64 {
            out.push_str("sha256:");
            out.push_str(&hex[..12]);
            out.push('…');
            rest = &hex[64..];
        } else {
            out.push_str("sha256:");
            rest = hex;
        }
    }
    out.push_str(rest);
    out
}

/// The last lines of a copy stopped by the user.
pub fn cancelled_lines() -> Vec<String> {
    vec![COPY_CANCELLED_NOTE.to_string()]
}

/// The lines of a finished copy.
pub fn finished_lines(outcome: &crate::copy::CopyOutcome) -> Vec<String> {
    outcome_lines(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_shortened_and_other_text_kept() {
        let hex = "a".repeat(64);
        assert_eq!(
            short_hashes(&format!("blob sha256:{hex}  3 KiB  transfer sha256:zz")),
            "blob sha256:aaaaaaaaaaaa…  3 KiB  transfer sha256:zz"
        );
    }
}
