//! The audit of a registry, or of one repository: how many tags of each kind (a bar per
//! kind), how old they are (a bar per age bucket), the findings ranked by the bytes their
//! deletion would free, and the dry run of the policy the audit suggests. The report is
//! built by a worker over the storage scan's model once the scan is done; drawing only reads
//! it.

use std::sync::Arc;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::Ctx;
use crate::audit::{AuditReport, Finding, TagKind};
use crate::registry::RepoName;
use crate::sanitize::sanitize;
use crate::tui::action::ReqId;
use crate::tui::columns::{FINDING_COLUMNS, finding_kind, finding_row};
use crate::tui::format;
use crate::tui::storage::Storage;
use crate::tui::widgets::plan_text::count;
use crate::tui::widgets::table::{TableRow, TableState, body_height, render_table};

/// Where each part of the audit goes in the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditAreas {
    pub summary: Rect,
    pub kinds: Rect,
    pub ages: Rect,
    /// The findings table with its border.
    pub findings: Rect,
    pub policy: Rect,
}

impl AuditAreas {
    /// The findings table inside its border (its first row is the header).
    pub fn table(&self) -> Rect {
        Block::new().borders(Borders::ALL).inner(self.findings)
    }

    /// Rows of findings shown at once.
    pub fn page(&self) -> usize {
        body_height(self.table().height)
    }
}

/// The charts get one row per kind when there is room, and give rows up to the findings
/// on short terminals.
pub fn areas(body: Rect) -> AuditAreas {
    let charts = body
        .height
        .saturating_sub(9)
        .clamp(3, TagKind::ALL.len() as u16 + 2);
    let [summary, charts, findings, policy] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(charts),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(body);
    let [kinds, ages] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(charts);
    AuditAreas {
        summary,
        kinds,
        ages,
        findings,
        policy,
    }
}

#[derive(Debug)]
pub struct AuditView {
    pub entry: usize,
    /// The repository audited; `None`: the whole registry.
    pub repo: Option<RepoName>,
    pub report: Option<Arc<AuditReport>>,
    /// Cursor over `report.findings`.
    pub table: TableState,
    pub loads: Vec<ReqId>,
    pub failed: Option<String>,
    /// The storage generation of the report asked for last (built or on its way).
    pub requested: Option<u64>,
    /// The storage generation `report` was built from.
    pub built: Option<u64>,
}

impl AuditView {
    pub fn new(entry: usize, repo: Option<RepoName>) -> Self {
        Self {
            entry,
            repo,
            report: None,
            table: TableState::default(),
            loads: Vec::new(),
            failed: None,
            requested: None,
            built: None,
        }
    }

    /// Whether a report of the model as it is now should be asked for: the scan is done
    /// and the last one asked for is of an older model.
    pub fn wants(&self, storage: &Storage) -> bool {
        !storage.is_scanning() && self.requested != Some(storage.generation())
    }

    /// A report arrived; the selection stays on the same position.
    pub fn set_report(&mut self, report: Arc<AuditReport>, page: usize) {
        self.table.set_len(report.findings.len(), page);
        self.report = Some(report);
        self.built = self.requested;
        self.failed = None;
    }

    pub fn selected_finding(&self) -> Option<&Finding> {
        self.report.as_ref()?.findings.get(self.table.selected()?)
    }

    pub fn is_loading(&self) -> bool {
        !self.loads.is_empty()
    }

    pub fn progress(&self) -> Option<String> {
        let report = self.report.as_ref()?;
        Some(format!(
            "{} · {} tags",
            count(report.findings.len(), "finding"),
            report.summary.tags
        ))
    }

    /// The selected finding's detail (cut off in its column) and the tags it names, for
    /// the message line.
    pub fn detail(&self) -> Option<String> {
        let finding = self.selected_finding()?;
        const NAMED: usize = 8;
        let mut text = format!(
            "{} · {}: {}",
            finding.detail,
            count(finding.tags.len(), "tag"),
            finding
                .tags
                .iter()
                .take(NAMED)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        );
        if finding.tags.len() > NAMED {
            text.push_str(&format!(" and {} more", finding.tags.len() - NAMED));
        }
        Some(text)
    }

    pub fn render(&self, f: &mut Frame, area: Rect, ctx: &Ctx<'_>) {
        let a = areas(area);
        f.render_widget(Paragraph::new(self.summary_line(ctx)), a.summary);
        let Some(report) = &self.report else {
            return;
        };
        let kinds: Vec<(String, usize)> = report
            .summary
            .kinds
            .iter()
            .map(|(k, n)| (k.name().to_string(), *n))
            .collect();
        render_bars(f, a.kinds, " tag kinds ", &kinds, Vec::new(), ctx);
        let ages: Vec<(String, usize)> = report
            .summary
            .ages
            .iter()
            .map(|b| (b.label.to_string(), b.tags))
            .collect();
        let o = &report.summary.older_than;
        let footer = vec![Line::styled(
            format!(
                "older than 30d {} · 90d {} · 1y {}",
                o.days_30, o.days_90, o.days_365
            ),
            ctx.theme.dim(),
        )];
        render_bars(f, a.ages, " tag ages ", &ages, footer, ctx);

        let block = Block::new()
            .borders(Borders::ALL)
            .title(" findings, by bytes freed (enter: their tags) ");
        f.render_widget(block, a.findings);
        render_table(
            f,
            a.table(),
            FINDING_COLUMNS,
            &self.table,
            &ctx.theme,
            "no findings: nothing looks stale, orphaned or drifted",
            |p| {
                report
                    .findings
                    .get(p)
                    .map(|finding| TableRow::from(finding_row(finding)))
                    .unwrap_or_default()
            },
        );
        f.render_widget(Paragraph::new(policy_line(report, ctx)), a.policy);
    }

    fn summary_line(&self, ctx: &Ctx<'_>) -> Line<'static> {
        let scope = match &self.repo {
            Some(repo) => sanitize(repo.as_str()).into_owned(),
            None => "the registry".to_string(),
        };
        if let Some(e) = &self.failed {
            return Line::styled(
                format!(" could not audit {scope}: {}", sanitize(e)),
                ctx.theme.error(),
            );
        }
        let scanning = ctx.storage(self.entry).and_then(Storage::progress);
        let Some(report) = &self.report else {
            let text = match scanning {
                Some(p) => format!(
                    " {} {p}: the audit of {scope} is built when the scan is done",
                    ctx.spinner
                ),
                None => format!(" {} auditing {scope}…", ctx.spinner),
            };
            return Line::styled(text, ctx.theme.dim());
        };
        let s = &report.summary;
        let mut spans = vec![
            Span::raw(format!(" {scope}: ")),
            Span::styled(count(s.tags, "tag"), ctx.theme.label()),
            Span::raw(format!(
                " in {} · {} · {} stale · {}",
                repositories(s.repositories),
                count(s.alias_groups, "alias group"),
                repositories(s.stale_repositories),
                count(s.findings, "finding"),
            )),
        ];
        if let Some(p) = scanning {
            spans.push(Span::styled(
                format!(" · {p}: updated when it is done"),
                ctx.theme.warning(),
            ));
        } else if !self.loads.is_empty() {
            spans.push(Span::styled(" · updating…", ctx.theme.dim()));
        } else if !report.complete {
            spans.push(Span::styled(
                format!(
                    " · the scan missed {}: those parts are left out",
                    count(report.failures.len(), "thing")
                ),
                ctx.theme.warning(),
            ));
        }
        Line::from(spans)
    }
}

fn repositories(n: usize) -> String {
    if n == 1 {
        "1 repository".to_string()
    } else {
        format!("{n} repositories")
    }
}

/// The suggested policy's dry run, and the keys that use it.
fn policy_line(report: &AuditReport, ctx: &Ctx<'_>) -> Line<'static> {
    let dry = &report.suggested_policy.dry_run;
    if let Some(e) = &dry.error {
        return Line::styled(
            format!(" suggested policy: cannot be used: {}", sanitize(e)),
            ctx.theme.error(),
        );
    }
    Line::from(vec![
        Span::raw(" suggested policy: "),
        Span::styled(
            format!(
                "{} deleted, {} untagged, frees {}",
                count(dry.tags_deleted, "tag"),
                dry.tags_untagged,
                format::size(dry.bytes_freed)
            ),
            ctx.theme.label(),
        ),
        Span::raw(" ("),
        Span::styled("p", ctx.theme.key()),
        Span::raw(": preview it as a cleanup)"),
    ])
}

/// One horizontal bar per item, scaled to the largest, with its count after it.
fn render_bars(
    f: &mut Frame,
    area: Rect,
    title: &str,
    items: &[(String, usize)],
    footer: Vec<Line<'static>>,
    ctx: &Ctx<'_>,
) {
    let block = Block::new().borders(Borders::ALL).title(title.to_string());
    let inner = block.inner(area);
    f.render_widget(block, area);
    // Short of rows, the empty bars go first.
    let nonzero: Vec<(String, usize)>;
    let items = if items.len() > usize::from(inner.height) {
        nonzero = items.iter().filter(|(_, n)| *n > 0).cloned().collect();
        &nonzero[..]
    } else {
        items
    };
    let label_width = items
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0);
    let count_width = items
        .iter()
        .map(|(_, n)| n.to_string().len())
        .max()
        .unwrap_or(1);
    let room = usize::from(inner.width).saturating_sub(label_width + count_width + 3);
    let max = items.iter().map(|(_, n)| *n).max().unwrap_or(0);
    let mut lines: Vec<Line> = items
        .iter()
        .map(|(label, n)| {
            let cells = bar_cells(*n, max, room);
            Line::from(vec![
                Span::raw(format!(" {label:<label_width$} ")),
                Span::styled("█".repeat(cells), ctx.theme.label()),
                Span::styled(
                    format!("{}{n}", " ".repeat(room - cells + 1)),
                    if *n == 0 {
                        ctx.theme.dim()
                    } else {
                        Style::new()
                    },
                ),
            ])
        })
        .collect();
    if usize::from(inner.height) > lines.len() + footer.len() {
        lines.push(Line::default());
    }
    lines.extend(footer.into_iter().map(|l| {
        let mut spans = vec![Span::raw(" ")];
        spans.extend(l.spans);
        Line::from(spans).style(l.style)
    }));
    f.render_widget(Paragraph::new(lines), inner);
}

/// Cells of a bar for `n` of at most `max` in `room` cells: anything above zero shows.
fn bar_cells(n: usize, max: usize, room: usize) -> usize {
    if n == 0 || max == 0 || room == 0 {
        return 0;
    }
    (n * room).div_ceil(max).clamp(1, room)
}

/// How a finding's kind reads, for the tag list's restriction label.
pub fn restriction_label(finding: &Finding) -> String {
    format!(
        "{}: {}",
        finding_kind(finding.kind),
        count(finding.tags.len(), "tag")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_and_never_hide_a_count() {
        assert_eq!(bar_cells(0, 10, 20), 0);
        assert_eq!(bar_cells(10, 10, 20), 20);
        assert_eq!(bar_cells(1, 1000, 20), 1);
        assert_eq!(bar_cells(5, 10, 20), 10);
        assert_eq!(bar_cells(3, 3, 0), 0);
    }

    #[test]
    fn areas_give_the_findings_what_the_charts_leave() {
        let tall = areas(Rect::new(0, 1, 100, 37));
        assert_eq!(tall.kinds.height, 10);
        assert_eq!(tall.page(), 37 - 1 - 10 - 1 - 3);
        let short = areas(Rect::new(0, 1, 100, 12));
        assert_eq!(short.kinds.height, 3);
        assert_eq!(short.page(), 12 - 1 - 3 - 1 - 3);
    }
}
