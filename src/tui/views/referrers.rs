//! The referrers of one manifest as a tree: the subject on the first row, then what is
//! attached to it (signatures, SBOMs, attestations) and what is attached to those, each with
//! its kind, artifact type, digest, size, age and where it was found. The tree is the one
//! `regatta referrers` prints (same discovery, same builder, same text), found by a worker
//! while the view shows a spinner. Enter opens a referrer's manifest and layers like any
//! image; a key folds or unfolds a referrer's own referrers.

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::sync::Arc;

use ratatui::Frame;
use ratatui::layout::Rect;

use super::registries::EntryState;
use super::{Ctx, Screen};
use crate::analysis::referrers::ReferrerNode;
use crate::present::artifact_summary::summary_lines;
use crate::present::referrers::{
    REFERRER_COLUMNS, ReferrerLine, referrer_cells, size_text, tree_lines, via_text,
};
use crate::registry::{Digest, RepoName};
use crate::sanitize::sanitize;
use crate::tui::action::ReqId;
use crate::tui::keymap::ViewKind;
use crate::tui::listing::{Listing, Rows, SortKey};
use crate::tui::referrers::ReferrersFound;
use crate::tui::widgets::table::{TableRow, render_table};

/// One row of the tree: the subject (no node) or a referrer.
#[derive(Debug, Clone)]
pub struct TreeRow {
    pub branch: String,
    /// Child indexes from the top; empty for the subject.
    pub path: Vec<usize>,
    pub node: Option<ReferrerNode>,
    pub has_referrers: bool,
    pub folded: bool,
}

#[derive(Debug, Default)]
pub struct TreeRows(pub Vec<TreeRow>);

impl Rows for TreeRows {
    fn len(&self) -> usize {
        self.0.len()
    }
    fn text(&self, row: usize) -> &str {
        self.0[row].node.as_ref().map_or("", |n| n.label.as_str())
    }
    fn has(&self, _row: usize, _key: SortKey) -> bool {
        false
    }
    fn compare(&self, _a: usize, _b: usize, _key: SortKey) -> Ordering {
        Ordering::Equal
    }
}

/// What the first row says of the subject: its kind, the name it was opened by, its size.
#[derive(Debug, Clone)]
pub struct SubjectLine {
    /// `image`, `multi-platform index`, ...
    pub kind: String,
    /// The tag or platform it was opened from.
    pub label: String,
    pub size: Option<u64>,
}

#[derive(Debug)]
pub struct ReferrersView {
    pub entry: usize,
    pub repo: RepoName,
    pub subject: Digest,
    pub subject_line: SubjectLine,
    pub found: Option<Arc<ReferrersFound>>,
    /// Paths of the referrers whose own referrers are folded away.
    pub folded: BTreeSet<Vec<usize>>,
    pub rows: TreeRows,
    pub listing: Listing,
    pub loads: Vec<ReqId>,
    pub failed: Option<String>,
}

impl ReferrersView {
    pub fn new(entry: usize, repo: RepoName, subject: Digest, subject_line: SubjectLine) -> Self {
        Self {
            entry,
            repo,
            subject,
            subject_line,
            found: None,
            folded: BTreeSet::new(),
            rows: TreeRows::default(),
            listing: Listing::new(&[]),
            loads: Vec::new(),
            failed: None,
        }
    }

    /// The tree arrived (or arrived again after a refresh).
    pub fn set_found(&mut self, found: Arc<ReferrersFound>) {
        self.found = Some(found);
        self.failed = None;
        self.rebuild();
    }

    /// Folds or unfolds the selected referrer's referrers; returns whether anything changed.
    pub fn toggle_fold(&mut self) -> bool {
        let Some(row) = self.selected() else {
            return false;
        };
        if !row.has_referrers {
            return false;
        }
        let path = row.path.clone();
        if !self.folded.remove(&path) {
            self.folded.insert(path);
        }
        self.rebuild();
        true
    }

    fn rebuild(&mut self) {
        let mut rows = Vec::new();
        if let Some(found) = &self.found {
            rows.push(TreeRow {
                branch: String::new(),
                path: Vec::new(),
                node: None,
                has_referrers: !found.tree.referrers.is_empty(),
                folded: false,
            });
            let folded = &self.folded;
            for line in tree_lines(&found.tree.referrers, &|p| !folded.contains(p)) {
                let mut node = line.node.clone();
                let has_referrers = !node.referrers.is_empty();
                node.referrers = Vec::new();
                rows.push(TreeRow {
                    folded: has_referrers && folded.contains(&line.path),
                    branch: line.branch,
                    path: line.path,
                    node: Some(node),
                    has_referrers,
                });
            }
        }
        self.rows = TreeRows(rows);
        self.listing.mark_dirty();
    }

    pub fn selected(&self) -> Option<&TreeRow> {
        self.rows.0.get(self.listing.selected_row()?)
    }

    pub fn is_loading(&self) -> bool {
        self.found.is_none() && self.failed.is_none()
    }

    pub fn progress(&self) -> Option<String> {
        let found = self.found.as_ref()?;
        Some(match found.tree.count {
            0 => "no referrers".to_string(),
            1 => format!("1 referrer · {}", size_text(found.tree.total_bytes)),
            n => format!("{n} referrers · {}", size_text(found.tree.total_bytes)),
        })
    }

    pub fn detail(&self) -> Option<String> {
        let row = self.selected()?;
        let Some(node) = &row.node else {
            return Some(self.subject.to_string());
        };
        let via: Vec<String> = node.found_via.iter().map(via_text).collect();
        let mut text = format!("{} · found via {}", node.digest, via.join(", "));
        if node.repository != self.repo {
            text = format!("{}@{text}", node.repository);
        }
        // What its blobs say (`signs sha256:…`, `SBOM (SPDX): 46 packages`), as the CLI's
        // tree prints it under the node; network text, so sanitized here.
        let summary = summary_lines(&node.summary);
        if !summary.is_empty() {
            text = format!("{text} · {}", sanitize(&summary.join(" · ")));
        }
        Some(text)
    }

    pub fn render(&self, f: &mut Frame, area: Rect, ctx: &Ctx<'_>) {
        let empty = match &self.failed {
            Some(_) => "could not find the referrers (see below)",
            None => "finding referrers…",
        };
        render_table(
            f,
            area,
            REFERRER_COLUMNS,
            &self.listing.table,
            &ctx.theme,
            empty,
            |p| {
                let Some(row) = self.listing.row_at(p).and_then(|i| self.rows.0.get(i)) else {
                    return TableRow::default();
                };
                let cells = match &row.node {
                    None => {
                        let s = &self.subject_line;
                        let label = format!("{} {}", s.kind, s.label);
                        referrer_cells(
                            &ReferrerLine {
                                folded: false,
                                branch: "",
                                label: &label,
                                repository: None,
                                artifact_type: None,
                                digest: &self.subject,
                                size: s.size,
                                created: None,
                                found_via: &[],
                            },
                            ctx.now,
                        )
                    }
                    Some(node) => referrer_cells(
                        &ReferrerLine {
                            folded: row.folded,
                            branch: &row.branch,
                            label: &node.label,
                            repository: (node.repository != self.repo).then_some(&node.repository),
                            artifact_type: node.artifact_type.as_deref(),
                            digest: &node.digest,
                            size: node.size,
                            created: node.created.as_deref(),
                            found_via: &node.found_via,
                        },
                        ctx.now,
                    ),
                };
                TableRow {
                    cells,
                    accent: row.node.is_none().then_some((1, ctx.theme.dim())),
                }
            },
        );
    }
}

impl Screen for ReferrersView {
    fn kind(&self) -> ViewKind {
        ViewKind::Referrers
    }
    fn entry(&self) -> Option<usize> {
        Some(self.entry)
    }
    fn crumbs(&self, _: &[EntryState]) -> Vec<String> {
        vec![self.subject_line.label.clone(), "referrers".to_string()]
    }
    fn loads(&self) -> &[ReqId] {
        &self.loads
    }
    fn loads_mut(&mut self) -> Option<&mut Vec<ReqId>> {
        Some(&mut self.loads)
    }
    fn is_loading(&self) -> bool {
        ReferrersView::is_loading(self)
    }
    fn listing(&self) -> Option<&Listing> {
        Some(&self.listing)
    }
    fn list_parts<'a>(
        &'a mut self,
        _entries: &'a [EntryState],
    ) -> Option<(&'a mut Listing, Box<dyn Rows + 'a>)> {
        Some((&mut self.listing, Box::new(&self.rows)))
    }
    fn progress(&self) -> Option<String> {
        ReferrersView::progress(self)
    }
    fn detail(&self, _: &[EntryState]) -> Option<String> {
        ReferrersView::detail(self)
    }
    fn render(&self, f: &mut Frame, area: Rect, ctx: &Ctx<'_>) {
        ReferrersView::render(self, f, area, ctx)
    }
}
