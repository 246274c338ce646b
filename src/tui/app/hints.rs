//! The hints' intents and results: `w` on an image (its layers, or a platform in the
//! platforms view) opens the size hints, which a worker computes from the layer listings as
//! `regatta hints` does while the view shows its progress. On the drift view, `w` asks for
//! the whole repository's (see `drift.rs`).

use std::sync::Arc;

use super::App;
use super::files::artifact_refusal;
use crate::layers::hints::Hints;
use crate::present::text::platform;
use crate::tui::action::{Effect, ReqId};
use crate::tui::views::View;
use crate::tui::views::hints::HintsView;

impl App {
    /// Opens the hints of the image in front (the layers view's, or the platform selected
    /// in the platforms view) and asks a worker to list all its layers.
    pub(super) fn open_hints(&mut self) -> Vec<Effect> {
        let (entry, repo, crumb, layers, refusal) = match self.top() {
            View::Layers(v) => {
                let Some(image) = v.rows.platform_image() else {
                    return Vec::new();
                };
                let layers = image.manifest.layers.clone();
                let refusal = artifact_refusal(&v.repo, v.tag.as_ref(), image);
                (
                    v.entry,
                    v.repo.clone(),
                    "hints".to_string(),
                    layers,
                    refusal,
                )
            }
            View::Manifest(v) => {
                let Some(image) = v.selected().and_then(|row| v.rows.image(row)) else {
                    return Vec::new();
                };
                let crumb = format!("hints {}", platform(image.platform.as_ref()));
                let layers = image.manifest.layers.clone();
                let refusal = artifact_refusal(&v.repo, None, image);
                (v.entry, v.repo.clone(), crumb, layers, refusal)
            }
            View::Drift(_) => return self.open_repo_hints(),
            _ => return Vec::new(),
        };
        if layers.is_empty() {
            self.info("this image has no layers");
            return Vec::new();
        }
        if let Some(refusal) = refusal {
            self.info(refusal);
            return Vec::new();
        }
        self.message = None;
        let total = layers.iter().fold(0u64, |a, l| a.saturating_add(l.size));
        let req = self.req();
        let mut view = HintsView::new(entry, crumb, total);
        view.reading.loads.push(req);
        self.stack.push(View::Hints(view));
        vec![Effect::ImageHints {
            req,
            entry,
            repo,
            layers,
        }]
    }

    pub(super) fn on_hints_progress(&mut self, owner: usize, read: u64, rate: u64) {
        if let View::Hints(v) = &mut self.stack[owner] {
            v.reading.read = read;
            v.reading.rate = rate;
        }
    }

    pub(super) fn on_hints_built(
        &mut self,
        owner: usize,
        req: ReqId,
        result: Result<Arc<Hints>, String>,
    ) {
        let View::Hints(v) = &mut self.stack[owner] else {
            return;
        };
        v.reading.loads.retain(|r| *r != req);
        match result {
            Ok(hints) => v.set_hints(hints),
            Err(why) => {
                v.reading.failed = Some(why.clone());
                self.error(why);
            }
        }
    }
}
