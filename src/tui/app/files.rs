//! The file tree's intents and results: opening a layer's tree (Enter on a layer) or the
//! merged filesystem from the layers view, a worker listing the layers while the view shows
//! its progress, and browsing the tree (fold, sort, filter, show only some entries).

use std::sync::Arc;

use super::App;
use crate::analysis::artifact::not_a_container_image;
use crate::layers::tree::{FileTree, TreeOf};
use crate::present::layers::not_a_file_system;
use crate::present::text::short_digest;
use crate::registry::image::PlatformImage;
use crate::registry::{RepoName, Tag};
use crate::tui::action::{Action, Effect, ReqId};
use crate::tui::views::View;
use crate::tui::views::files::FilesView;

impl App {
    /// Opens the tree of the selected layer (`merged`: of the whole image) and asks a worker
    /// to list the layers it needs: the layer and those below it, whose merged filesystem
    /// its marks are made against.
    pub(super) fn open_files(&mut self, merged: bool) -> Vec<Effect> {
        self.message = None;
        let View::Layers(v) = self.top() else {
            return Vec::new();
        };
        let Some(image) = v.rows.platform_image() else {
            return Vec::new();
        };
        let all = &image.manifest.layers;
        let count = all.len();
        let (of, layers) = if merged {
            (TreeOf::Merged, all.clone())
        } else {
            let Some(row) = v.listing.selected_row() else {
                return Vec::new();
            };
            (
                TreeOf::Layer(row),
                all.iter().take(row + 1).cloned().collect(),
            )
        };
        if layers.is_empty() {
            self.info("this image has no layers");
            return Vec::new();
        }
        let (entry, repo) = (v.entry, v.repo.clone());
        if let Some(refusal) = artifact_refusal(&v.repo, v.tag.as_ref(), image) {
            self.info(refusal);
            return Vec::new();
        }
        let crumb = match of {
            TreeOf::Layer(i) => format!("layer {}", i + 1),
            TreeOf::Merged => "merged".to_string(),
        };
        let total = layers.iter().fold(0u64, |a, l| a.saturating_add(l.size));
        let req = self.req();
        let mut view = FilesView::new(entry, repo.clone(), vec![crumb], of, total);
        view.layers = count;
        view.reading.loads.push(req);
        self.stack.push(View::Files(view));
        vec![Effect::ListFiles {
            req,
            entry,
            repo,
            layers,
            of,
        }]
    }

    pub(super) fn on_files_progress(&mut self, owner: usize, read: u64, rate: u64) {
        if let View::Files(v) = &mut self.stack[owner] {
            v.reading.read = read;
            v.reading.rate = rate;
        }
    }

    pub(super) fn on_files_listed(
        &mut self,
        owner: usize,
        req: ReqId,
        result: Result<Arc<FileTree>, String>,
    ) {
        let page = self.page_of(crate::tui::keymap::ViewKind::Files);
        let View::Files(v) = &mut self.stack[owner] else {
            return;
        };
        v.reading.loads.retain(|r| *r != req);
        match result {
            Ok(tree) => v.set_tree(tree, page),
            Err(why) => {
                v.reading.failed = Some(why.clone());
                self.error(why);
            }
        }
    }

    /// What keys mean on a file tree, before the generic handling (which knows lists, not
    /// trees). `None`: not a tree intent.
    pub(super) fn files_intent(&mut self, action: &Action) -> Option<Vec<Effect>> {
        let page = self.page();
        let View::Files(v) = self.top_mut() else {
            return None;
        };
        match action {
            Action::ToggleFold | Action::Open => v.toggle_fold(page),
            Action::SortNext => v.toggle_sort(page),
            Action::CycleShown => v.cycle_shown(page),
            Action::Filter => v.start_filter(),
            Action::FilterChar(c) => v.push_filter(*c, page),
            Action::FilterBackspace => v.pop_filter(page),
            Action::FilterKeep => v.keep_filter(),
            Action::FilterClear => v.clear_filter(page),
            Action::MoveDown | Action::MoveUp | Action::ScrollBy(_) => {
                let delta = match action {
                    Action::MoveDown => 1,
                    Action::MoveUp => -1,
                    Action::ScrollBy(n) => i64::from(*n),
                    _ => 0,
                };
                v.table.move_by(delta, page);
            }
            Action::PageDown => v.table.move_by(page as i64, page),
            Action::PageUp => v.table.move_by(-(page as i64), page),
            Action::First => v.table.first(page),
            Action::Last => v.table.last(page),
            _ => return None,
        }
        Some(Vec::new())
    }
}

/// The sentence refusing the files or hints of an artifact (a signature's, an attestation's or
/// an SBOM's layers are documents, no file system): the CLI's, naming the tag or the digest.
pub(super) fn artifact_refusal(
    repo: &RepoName,
    tag: Option<&Tag>,
    image: &PlatformImage,
) -> Option<String> {
    let kind = not_a_container_image(image)?;
    let what = match tag {
        Some(tag) => format!("{repo}:{tag}"),
        None => format!("{repo}@{}", short_digest(image.digest.as_str())),
    };
    Some(not_a_file_system(&what, &kind))
}
