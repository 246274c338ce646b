//! The diff's intents and results: `b` on a tag (or a platform) marks it as the base, `=`
//! on another opens the diff of the two, which a worker computes as `regatta diff` does
//! while the view shows its progress.

use std::sync::Arc;

use super::App;
use crate::layers::diff::ImageDiff;
use crate::present::text::platform;
use crate::registry::{ManifestRef, Tag};
use crate::tui::action::{DiffSide, Effect, ReqId};
use crate::tui::views::View;
use crate::tui::views::diff::DiffView;

impl App {
    /// The selected tag of the tag list in front at the digest the list shows, or the
    /// selected platform of the platforms view.
    fn selected_side(&mut self) -> Option<(usize, DiffSide)> {
        match self.top() {
            View::Tags(v) => {
                let row = v.selected()?;
                let side = row.digest().map(|digest| DiffSide {
                    repo: v.repo.clone(),
                    name: ManifestRef::Tag(row.tag.clone()),
                    digest: digest.clone(),
                    platform: None,
                });
                let (entry, tag) = (v.entry, row.tag.clone());
                if side.is_none() {
                    self.info(format!("{tag} is not resolved yet; try again in a moment"));
                }
                Some((entry, side?))
            }
            View::Manifest(v) => {
                let image = v.rows.image(v.selected()?)?;
                let name = match Tag::parse(&v.label) {
                    Ok(tag) => ManifestRef::Tag(tag),
                    Err(_) => ManifestRef::Digest(v.rows.tree.root.digest.clone()),
                };
                let side = DiffSide {
                    repo: v.repo.clone(),
                    name,
                    digest: image.digest.clone(),
                    platform: Some(platform(image.platform.as_ref())),
                };
                Some((v.entry, side))
            }
            _ => None,
        }
    }

    pub(super) fn mark_base(&mut self) {
        let Some((entry, side)) = self.selected_side() else {
            return;
        };
        self.info(format!(
            "diff base: {}:{}; select another tag or platform and press = to compare",
            side.repo,
            side.label()
        ));
        self.diff_base = Some((entry, side));
    }

    /// Opens the diff of the base and the selected tag, and asks a worker for it.
    pub(super) fn open_diff(&mut self) -> Vec<Effect> {
        let Some((entry, after)) = self.selected_side() else {
            return Vec::new();
        };
        let before = match &self.diff_base {
            Some((e, base)) if *e == entry => base.clone(),
            Some(_) => {
                self.info("the diff base is in another registry; mark one here with b");
                return Vec::new();
            }
            None => {
                self.info(
                    "mark a base first: b on a tag or platform, then = on the one to compare",
                );
                return Vec::new();
            }
        };
        self.message = None;
        let crumb = if before.repo == after.repo {
            format!("{}..{}", before.label(), after.label())
        } else {
            format!(
                "{}:{}..{}:{}",
                before.repo,
                before.label(),
                after.repo,
                after.label()
            )
        };
        let req = self.req();
        let mut view = DiffView::new(entry, crumb);
        view.reading.loads.push(req);
        self.stack.push(View::Diff(view));
        vec![Effect::DiffImages {
            req,
            entry,
            before,
            after,
        }]
    }

    pub(super) fn on_diff_progress(&mut self, owner: usize, read: u64, total: u64, rate: u64) {
        if let View::Diff(v) = &mut self.stack[owner] {
            v.reading.read = read;
            v.reading.total = total;
            v.reading.rate = rate;
        }
    }

    pub(super) fn on_diff_built(
        &mut self,
        owner: usize,
        req: ReqId,
        result: Result<Arc<ImageDiff>, String>,
    ) {
        let View::Diff(v) = &mut self.stack[owner] else {
            return;
        };
        v.reading.loads.retain(|r| *r != req);
        match result {
            Ok(diff) => v.set_diff(diff),
            Err(why) => {
                v.reading.failed = Some(why.clone());
                self.error(why);
            }
        }
    }
}
