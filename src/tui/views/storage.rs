//! The storage of one registry: logical against physical bytes and the dedup ratio, the
//! repositories that hold the most bytes nobody else shares (a bar chart), and for the
//! selected repository how old its tags are and how many share a digest. Everything comes
//! from the numbers the app recomputed from the scan's model; drawing computes nothing.

use jiff::Timestamp;
use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Bar, BarChart, BarGroup, Block, Borders, Paragraph, Wrap};

use super::Ctx;
use crate::analysis::ages::{AGE_BUCKETS, age_histogram};
use crate::analysis::sharing::{DigestSharing, digest_sharing};
use crate::analysis::storage::{RegistryStats, RepoStats};
use crate::present::storage_layout::{
    STORAGE_ROW_COLUMNS, UNSEEN_TUI, protected_row, storage_summary_lines, untagged_row, upload_row,
};
use crate::registry::RepoName;
use crate::sanitize::sanitize;
use crate::tui::format;
use crate::tui::storage::Storage;
use crate::tui::storage_layout::{LayoutState, StorageLayout, StorageRow};
use crate::tui::widgets::table::{TableRow, TableState, render_table};

/// Repository names longer than this are cut in the chart, so the bars keep their room.
const LABEL_WIDTH: usize = 24;

/// What the chart and the detail show of the selected repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoDetail {
    pub repo: RepoName,
    pub stats: RepoStats,
    pub ages: [usize; 6],
    pub sharing: DigestSharing,
}

#[derive(Debug)]
pub struct StorageView {
    pub entry: usize,
    /// Repositories by `unique_bytes`, largest first (ties by name).
    pub ranking: Vec<RepoStats>,
    /// Cursor over `ranking`.
    pub table: TableState,
    pub totals: Option<RegistryStats>,
    pub detail: Option<RepoDetail>,
    /// The storage generation `ranking` was built from.
    generation: Option<u64>,
    /// When the detail was computed (tag ages move with the clock).
    detail_now: Option<Timestamp>,
    /// The repository to select once the ranking is built (the one selected before).
    focus: Option<String>,
    /// The storage-level numbers read from the registry's own storage, as `du --storage`
    /// prints them (or the sentence saying what the view cannot see).
    pub below: Vec<String>,
    /// The layout revision and clock `below` was built from.
    below_of: Option<(u64, Timestamp)>,
    /// Cursor over the storage's rows (untagged manifests, protected ones, uploads).
    pub rows_table: TableState,
    /// Whether the cursor is on those rows rather than on the ranking (Tab switches).
    pub rows_focused: bool,
}

impl StorageView {
    pub fn new(entry: usize, focus: Option<String>) -> Self {
        Self {
            focus,
            entry,
            ranking: Vec::new(),
            table: TableState::default(),
            totals: None,
            detail: None,
            generation: None,
            detail_now: None,
            below: Vec::new(),
            below_of: None,
            rows_table: TableState::default(),
            rows_focused: false,
        }
    }

    /// The storage row under the cursor, when the rows have the focus.
    pub fn selected_row<'a>(&self, layout: &'a StorageLayout) -> Option<&'a StorageRow> {
        if !self.rows_focused {
            return None;
        }
        layout.rows.get(self.rows_table.selected()?)
    }

    /// Moves the cursor of the focused part.
    pub fn move_by(&mut self, delta: i64, page: usize) {
        if self.rows_focused {
            self.rows_table.move_by(delta, page);
        } else {
            self.table.move_by(delta, page);
        }
    }

    /// Tab: the cursor goes to the storage rows or back to the ranking; returns whether the
    /// rows have it now (never when there are none).
    pub fn switch_focus(&mut self) -> bool {
        self.rows_focused = !self.rows_focused && !self.rows_table.is_empty();
        self.rows_focused
    }

    pub fn selected_repo(&self) -> Option<&str> {
        let i = self.table.selected()?;
        Some(self.ranking.get(i)?.repository.as_str())
    }

    /// Brings the view up to date with `storage`: the ranking when the numbers changed, the
    /// detail when the selection, the numbers or the clock did. Called from `update`.
    pub fn refresh(&mut self, storage: &Storage, now: Timestamp, page: usize) {
        let layout = &storage.layout;
        if self.below_of != Some((layout.revision, now)) {
            self.below = below_lines(layout);
            self.below_of = Some((layout.revision, now));
            self.rows_table.set_len(layout.rows.len(), page);
            self.rows_focused &= !layout.rows.is_empty();
        }
        if self.generation != Some(storage.generation()) {
            let keep = self
                .selected_repo()
                .map(str::to_string)
                .or_else(|| self.focus.take());
            let mut ranking = storage
                .numbers()
                .map(|n| n.repos.clone())
                .unwrap_or_default();
            ranking.sort_by(|a, b| {
                b.unique_bytes
                    .cmp(&a.unique_bytes)
                    .then_with(|| a.repository.cmp(&b.repository))
            });
            self.totals = storage.numbers().map(|n| n.registry.clone());
            self.ranking = ranking;
            self.table.set_len(self.ranking.len(), page);
            if let Some(keep) = keep
                && let Some(i) = self.ranking.iter().position(|r| r.repository == keep)
            {
                self.table.select(i, page);
            }
            self.generation = Some(storage.generation());
            self.detail = None;
        }
        let selected = self.table.selected().and_then(|i| self.ranking.get(i));
        let stale = match (&self.detail, selected) {
            (Some(d), Some(s)) => d.repo.as_str() != s.repository || self.detail_now != Some(now),
            (None, Some(_)) | (Some(_), None) => true,
            (None, None) => false,
        };
        if stale {
            self.detail = selected.and_then(|s| {
                let repo = RepoName::parse(&s.repository).ok()?;
                Some(RepoDetail {
                    ages: age_histogram(&storage.model, &repo, now),
                    sharing: digest_sharing(&storage.model, &repo),
                    stats: s.clone(),
                    repo,
                })
            });
            self.detail_now = Some(now);
        }
    }

    pub fn progress(&self) -> Option<String> {
        Some(format!("repositories {}", self.ranking.len()))
    }

    pub fn render(&self, f: &mut Frame, area: Rect, ctx: &Ctx<'_>) {
        // The storage-level numbers take what they need (wrapped), up to half the view.
        let width = usize::from(area.width.saturating_sub(2)).max(1);
        let wrapped: usize = self
            .below
            .iter()
            .map(|l| l.chars().count().div_ceil(width).max(1))
            .sum();
        let below_height = if self.below.is_empty() {
            0
        } else {
            (wrapped as u16 + 2).min(area.height / 2)
        };
        let rows = ctx.storage(self.entry).map_or(0, |s| s.layout.rows.len());
        let rows_height = if rows == 0 {
            0
        } else {
            (rows as u16 + 3).min((area.height / 3).max(5))
        };
        let [summary, below, storage_rows, charts] = Layout::vertical([
            Constraint::Length(2),
            Constraint::Length(below_height),
            Constraint::Length(rows_height),
            Constraint::Min(0),
        ])
        .areas(area);
        if rows_height > 0
            && let Some(storage) = ctx.storage(self.entry)
        {
            self.render_rows(f, storage_rows, &storage.layout, ctx);
        }
        if below_height > 0 {
            let block = Block::new()
                .borders(Borders::ALL)
                .title(" the registry's own storage ");
            let lines: Vec<Line> = self
                .below
                .iter()
                .map(|l| Line::from(sanitize(l).into_owned()))
                .collect();
            f.render_widget(
                Paragraph::new(lines)
                    .block(block)
                    .wrap(Wrap { trim: false }),
                below,
            );
        }
        let scanning = ctx.storage(self.entry).and_then(Storage::progress);
        f.render_widget(
            Paragraph::new(summary_lines(
                self.totals.as_ref(),
                scanning.as_deref(),
                ctx,
            )),
            summary,
        );
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                .areas(charts);
        self.render_ranking(f, left, ctx);
        self.render_detail(f, right, ctx);
    }

    /// Untagged manifests (marked with `*`), protected platform manifests and uploads.
    fn render_rows(&self, f: &mut Frame, area: Rect, layout: &StorageLayout, ctx: &Ctx<'_>) {
        let mut title = " below the API: untagged manifests and uploads ".to_string();
        if let Some(text) = layout.marks_text() {
            title = format!(" below the API: {text} ");
        }
        let block = Block::new().borders(Borders::ALL).title(Line::styled(
            title,
            if self.rows_focused {
                ctx.theme.key()
            } else {
                Style::new()
            },
        ));
        let inner = block.inner(area);
        f.render_widget(block, area);
        render_table(
            f,
            inner,
            STORAGE_ROW_COLUMNS,
            &self.rows_table,
            &ctx.theme,
            "",
            |p| {
                let Some(row) = layout.rows.get(p) else {
                    return TableRow::default();
                };
                match row {
                    StorageRow::Untagged(u) => {
                        let marked = layout
                            .marked
                            .contains(&(u.repository.clone(), u.digest.clone()));
                        TableRow {
                            cells: untagged_row(u, marked, ctx.now),
                            accent: marked.then_some((0, ctx.theme.warning())),
                        }
                    }
                    StorageRow::Protected(m) => TableRow {
                        cells: protected_row(m),
                        accent: Some((1, ctx.theme.dim())),
                    },
                    StorageRow::Upload(u) => TableRow {
                        cells: upload_row(u, ctx.now),
                        accent: Some((1, ctx.theme.dim())),
                    },
                }
            },
        );
    }

    fn render_ranking(&self, f: &mut Frame, area: Rect, ctx: &Ctx<'_>) {
        let block = Block::new()
            .borders(Borders::ALL)
            .title(" repositories by unique bytes ");
        let inner = block.inner(area);
        f.render_widget(block, area);
        if self.ranking.is_empty() {
            let text = Paragraph::new("no numbers yet: the scan has not listed anything")
                .style(ctx.theme.dim());
            f.render_widget(text, inner);
            return;
        }
        let visible = self.table.visible(usize::from(inner.height));
        let max = self
            .ranking
            .iter()
            .map(|r| r.unique_bytes)
            .max()
            .unwrap_or(0);
        let selected = self.table.selected();
        let bars: Vec<Bar> = visible
            .map(|i| {
                let r = &self.ranking[i];
                let style = if Some(i) == selected {
                    ctx.theme.selected()
                } else {
                    Style::new()
                };
                Bar::with_label(Line::styled(label(&r.repository), style), r.unique_bytes)
                    .text_value(format::size(r.unique_bytes))
                    .style(if Some(i) == selected {
                        ctx.theme.key()
                    } else {
                        ctx.theme.label()
                    })
            })
            .collect();
        let chart = BarChart::default()
            .direction(Direction::Horizontal)
            .data(BarGroup::new(bars))
            .bar_width(1)
            .bar_gap(0)
            .max(max.max(1))
            .value_style(ctx.theme.header());
        f.render_widget(chart, inner);
    }

    fn render_detail(&self, f: &mut Frame, area: Rect, ctx: &Ctx<'_>) {
        let title = match &self.detail {
            Some(d) => format!(" {}: tag ages ", sanitize(d.repo.as_str())),
            None => " tag ages ".to_string(),
        };
        let block = Block::new().borders(Borders::ALL).title(title);
        let inner = block.inner(area);
        f.render_widget(block, area);
        let Some(d) = &self.detail else {
            return;
        };
        let s = &d.stats;
        // The image/artifact split takes a fourth line, only where there are artifacts.
        let text_height = if s.artifact_bytes > 0 { 4 } else { 3 };
        let [chart, text] =
            Layout::vertical([Constraint::Min(3), Constraint::Length(text_height)]).areas(inner);
        let bars: Vec<Bar> = AGE_BUCKETS
            .iter()
            .zip(d.ages)
            .map(|(label, n)| Bar::with_label(*label, n as u64).text_value(n.to_string()))
            .collect();
        // As wide as the labels (`unknown`) when there is room for six of them.
        let bar_width = ((chart.width.saturating_sub(5)) / 6).clamp(1, 7);
        let histogram = BarChart::default()
            .data(BarGroup::new(bars))
            .bar_width(bar_width)
            .bar_gap(1)
            .bar_style(ctx.theme.label())
            .value_style(ctx.theme.header());
        f.render_widget(histogram, chart);
        let mut lines = vec![
            Line::from(format!(
                "{} tags on {} digests; {} share a digest",
                d.sharing.tags, d.sharing.digests, d.sharing.tags_sharing
            )),
            Line::from(format!(
                "logical {} · stored {}",
                format::size(s.logical_bytes),
                format::size(s.stored_bytes)
            )),
            Line::from(format!(
                "unique {} · shared {}",
                format::size(s.unique_bytes),
                format::size(s.shared_bytes)
            )),
        ];
        if s.artifact_bytes > 0 {
            lines.push(Line::from(format!(
                "images {} · attached artifacts {}",
                format::size(s.image_bytes),
                format::size(s.artifact_bytes)
            )));
        }
        f.render_widget(Paragraph::new(lines), text);
    }
}

/// The storage-level lines: `du --storage`'s summary (its untagged manifests are rows below
/// them), or why there are none (yet).
fn below_lines(layout: &StorageLayout) -> Vec<String> {
    let Some(location) = &layout.location else {
        return if layout.registry {
            vec![UNSEEN_TUI.to_string()]
        } else {
            Vec::new()
        };
    };
    match &layout.state {
        LayoutState::Read(report) => storage_summary_lines(report),
        LayoutState::Failed(why) => vec![why.clone()],
        LayoutState::Unread | LayoutState::Reading(_) => {
            vec![format!("reading the storage {location}…")]
        }
    }
}

fn label(name: &str) -> String {
    let name = sanitize(name);
    if name.chars().count() <= LABEL_WIDTH {
        return name.into_owned();
    }
    let cut: String = name.chars().take(LABEL_WIDTH - 1).collect();
    format!("{cut}…")
}

fn summary_lines(
    totals: Option<&RegistryStats>,
    scanning: Option<&str>,
    ctx: &Ctx<'_>,
) -> Vec<Line<'static>> {
    let Some(t) = totals else {
        return vec![Line::styled(
            " no scan yet: open the registry to scan it",
            ctx.theme.dim(),
        )];
    };
    let first = Line::from(vec![
        Span::raw(" logical "),
        Span::styled(format::size(t.logical_bytes), ctx.theme.label()),
        Span::raw(" · physical "),
        Span::styled(format::size(t.physical_bytes), ctx.theme.label()),
        Span::raw(" · dedup ratio "),
        Span::styled(format!("{:.2}x", t.dedup_ratio), ctx.theme.label()),
        Span::raw(format!(
            " · {} repositories, {} tags",
            t.repositories, t.tags
        )),
    ]);
    let second = match scanning {
        Some(p) => Line::styled(
            format!(" {p}: the numbers are still growing"),
            ctx.theme.warning(),
        ),
        None => Line::styled(
            " logical counts every tag's size (aliases again); physical counts each blob once",
            ctx.theme.dim(),
        ),
    };
    vec![first, second]
}
