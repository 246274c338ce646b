//! Shown while an image that is not cached yet is fetched; replaced by the manifest or the
//! layers view when it arrives. Leaving it aborts the fetch.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use super::Ctx;
use crate::registry::{ManifestRef, RepoName};
use crate::sanitize::sanitize;
use crate::tui::action::ReqId;

#[derive(Debug)]
pub struct PendingView {
    pub entry: usize,
    pub repo: RepoName,
    /// What the user opened (the tag), for breadcrumbs and the views that replace this one.
    pub label: String,
    pub reference: ManifestRef,
    pub loads: Vec<ReqId>,
    pub failed: Option<String>,
}

impl PendingView {
    pub fn new(entry: usize, repo: RepoName, label: String, reference: ManifestRef) -> Self {
        Self {
            entry,
            repo,
            label,
            reference,
            loads: Vec::new(),
            failed: None,
        }
    }

    pub fn render(&self, f: &mut Frame, area: Rect, ctx: &Ctx<'_>) {
        let what = format!("{}:{}", self.repo, self.label);
        let line = match &self.failed {
            None => Line::styled(
                format!(" {} fetching {}", ctx.spinner, sanitize(&what)),
                ctx.theme.dim(),
            ),
            Some(e) => Line::styled(
                format!(" could not fetch {}: {}", sanitize(&what), sanitize(e)),
                ctx.theme.error(),
            ),
        };
        f.render_widget(Paragraph::new(line), area);
    }
}
