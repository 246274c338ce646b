//! The files inside an image, as a tree: one layer's entries marked with what the layer adds,
//! changes or removes over the layers below, or the merged filesystem a container sees with
//! the layer that last wrote each path. Directories fold, carry the bytes under them, sort
//! by name or size; `/` filters by path; a key shows only changed or only large entries.
//!
//! The listings are read by a worker (cached by layer digest, see [`crate::layers`]); until
//! they arrive the view shows how many bytes were read of how many, and at what rate.
//! Leaving the view aborts the worker, which stops the download.

use std::sync::Arc;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::Ctx;
use crate::layers::tree::{FileTree, Node, Row, Shown, TreeOf, TreeSort, TreeState, visible};
use crate::present::layers::{shown_label, tree_cells, tree_summary};
use crate::present::size_exact;
use crate::registry::RepoName;
use crate::sanitize::sanitize;
use crate::tui::columns::{FILE_TREE_COLUMNS, MERGED_TREE_COLUMNS};
use crate::tui::widgets::reading::Reading;
use crate::tui::widgets::table::{TableState, body_height, render_table};

#[derive(Debug)]
pub struct FilesView {
    pub entry: usize,
    pub repo: RepoName,
    pub crumbs: Vec<String>,
    pub of: TreeOf,
    /// How many layers the image has.
    pub layers: usize,
    pub reading: Reading,
    pub tree: Option<Arc<FileTree>>,
    pub state: TreeState,
    /// The nodes shown, top to bottom.
    pub rows: Vec<Row>,
    pub table: TableState,
    /// Typing into the filter.
    pub editing: bool,
}

/// The summary line above the tree; the table is below it.
pub fn areas(body: Rect) -> (Rect, Rect) {
    let [top, table] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(body);
    (top, table)
}

/// Rows of the tree a body of this size shows.
pub fn page(body: Rect) -> usize {
    body_height(areas(body).1.height)
}

impl FilesView {
    pub fn new(entry: usize, repo: RepoName, crumbs: Vec<String>, of: TreeOf, total: u64) -> Self {
        Self {
            entry,
            repo,
            crumbs,
            of,
            layers: 0,
            reading: Reading::of(total),
            tree: None,
            state: TreeState::default(),
            rows: Vec::new(),
            table: TableState::default(),
            editing: false,
        }
    }

    pub fn is_loading(&self) -> bool {
        self.reading.is_loading()
    }

    pub fn set_tree(&mut self, tree: Arc<FileTree>, page: usize) {
        self.tree = Some(tree);
        self.reading.read = self.reading.total;
        self.refresh(page);
    }

    /// The rows again after the fold, order or filter changed; the selected path stays
    /// selected when it is still shown.
    pub fn refresh(&mut self, page: usize) {
        let Some(tree) = &self.tree else {
            return;
        };
        let before = self.selected_id();
        self.rows = visible(tree, &self.state);
        self.table.set_len(self.rows.len(), page);
        if let Some(id) = before
            && let Some(position) = self.rows.iter().position(|&r| r == id)
        {
            self.table.select(position, page);
        }
    }

    fn selected_id(&self) -> Option<Row> {
        self.rows.get(self.table.selected()?).copied()
    }

    pub fn selected(&self) -> Option<&Node> {
        let id = self.selected_id()?;
        self.tree.as_ref()?.nodes.get(id as usize)
    }

    /// Folds or opens the selected directory.
    pub fn toggle_fold(&mut self, page: usize) {
        let Some(id) = self.selected_id() else {
            return;
        };
        if !self.state.folded.remove(&id) {
            self.state.folded.insert(id);
        }
        self.refresh(page);
    }

    pub fn toggle_sort(&mut self, page: usize) {
        self.state.sort = match self.state.sort {
            TreeSort::Name => TreeSort::Size,
            TreeSort::Size => TreeSort::Name,
        };
        self.refresh(page);
    }

    pub fn cycle_shown(&mut self, page: usize) {
        self.state.shown = self.state.shown.next();
        self.refresh(page);
    }

    pub fn start_filter(&mut self) {
        self.editing = true;
    }

    pub fn push_filter(&mut self, c: char, page: usize) {
        self.state.filter.push(c);
        self.refresh(page);
    }

    pub fn pop_filter(&mut self, page: usize) {
        self.state.filter.pop();
        self.refresh(page);
    }

    pub fn keep_filter(&mut self) {
        self.editing = false;
    }

    pub fn clear_filter(&mut self, page: usize) {
        self.editing = false;
        self.state.filter.clear();
        self.refresh(page);
    }

    /// The top bar: the order, and the position in the rows.
    pub fn progress(&self) -> Option<String> {
        self.tree.as_ref()?;
        let sort = match self.state.sort {
            TreeSort::Name => "sort: name",
            TreeSort::Size => "sort: size ↓",
        };
        let at = self.table.selected().map_or(0, |p| p + 1);
        Some(format!("{sort} · {at}/{}", self.rows.len()))
    }

    /// The selected path in full, with its bytes and who wrote it.
    pub fn detail(&self) -> Option<String> {
        let node = self.selected()?;
        let mut text = format!("{} · {}", node.path, size_exact(node.total));
        if let Some(layer) = node.layer {
            text.push_str(&format!(" · written by layer {}", layer + 1));
            if node.writes > 1 {
                text.push_str(&format!(" ({} layers wrote it)", node.writes));
            }
        }
        Some(text)
    }

    pub fn render(&self, f: &mut Frame, area: Rect, ctx: &Ctx<'_>) {
        let (top, body) = areas(area);
        let Some(tree) = &self.tree else {
            let what = match self.of {
                TreeOf::Layer(i) => format!("the files of layer {}", i + 1),
                TreeOf::Merged => "the merged filesystem".to_string(),
            };
            self.reading.render(
                f,
                area,
                ctx,
                &format!("listing {what}"),
                &format!("list {what}"),
            );
            return;
        };
        let line = if self.editing {
            Line::from(vec![
                Span::styled("/", ctx.theme.key()),
                Span::raw(sanitize(&self.state.filter).into_owned()),
                Span::styled("█", ctx.theme.dim()),
                Span::styled(format!("  {} shown", self.rows.len()), ctx.theme.dim()),
            ])
        } else {
            let mut text = tree_summary(tree, self.layers.max(tree.layers));
            if let Some(label) = shown_label(tree.of, self.state.shown) {
                text.push_str(&format!(" · {label}"));
            }
            if !self.state.filter.is_empty() {
                text.push_str(&format!(" · filter: {}", sanitize(&self.state.filter)));
            }
            Line::styled(text, ctx.theme.dim())
        };
        f.render_widget(Paragraph::new(line), top);
        let restricted = !self.state.filter.is_empty() || self.state.shown != Shown::All;
        let columns = match tree.of {
            TreeOf::Layer(_) => FILE_TREE_COLUMNS,
            TreeOf::Merged => MERGED_TREE_COLUMNS,
        };
        let empty = if self.rows.is_empty() && tree.nodes.len() > 1 {
            "nothing matches"
        } else {
            "this layer has no entries"
        };
        render_table(
            f,
            body,
            columns,
            &self.table,
            &ctx.theme,
            empty,
            |p| match self.rows.get(p).and_then(|&id| tree.nodes.get(id as usize)) {
                Some(node) => {
                    let id = self.rows[p];
                    let open = restricted || !self.state.folded.contains(&id);
                    tree_cells(tree, node, open)
                }
                None => Vec::new(),
            },
        );
    }
}
