//! Base-image drift from the tag list (`B`): worked out at once from what the scan read
//! (the tags' digests, their manifests' layers, their configs' dates) with the code of
//! `regatta hints --repo` ([`crate::layers::drift::drift`], no `--base`): no worker, no
//! layer download.

use super::App;
use crate::analysis::chains::tag_chains;
use crate::layers::drift::drift;
use crate::present::drift::{drift_lines, left_out_lines};
use crate::registry::RepoName;
use crate::tui::views::View;
use crate::tui::views::drift::DriftView;

impl App {
    pub(super) fn open_drift(&mut self) {
        let View::Tags(v) = self.top() else {
            return;
        };
        let (entry, repo) = (v.entry, v.repo.clone());
        match self.drift_text(entry, &repo) {
            Ok(lines) => {
                self.message = None;
                self.stack
                    .push(View::Drift(DriftView::new(entry, repo, lines)));
            }
            Err(why) => self.info(why),
        }
    }

    /// The drift's lines, or why there are none yet: the scan has not read every tag.
    fn drift_text(&self, entry: usize, repo: &RepoName) -> Result<Vec<String>, String> {
        let Some(storage) = self.storage(entry) else {
            return Err("this source has no scan to work the drift out from".into());
        };
        let listed = storage.model.repos.get(repo).is_some_and(|r| r.tags_listed);
        if !listed || !storage.is_settled(repo) {
            return Err(format!(
                "the scan has not read every tag of {repo} yet; try again when it has"
            ));
        }
        let (chains, left_out) = tag_chains(&storage.model, repo);
        let mut lines = drift_lines(&drift(&chains, &[]));
        let left_out: Vec<(String, String)> = left_out
            .into_iter()
            .map(|(tag, why)| (tag.to_string(), why))
            .collect();
        lines.extend(left_out_lines(&left_out));
        Ok(lines)
    }
}
