//! What the credential may do, per repository: asked of a token registry's token server while
//! its repository list is shown (one token request per repository, never repeated), shown as
//! a short column, and checked before a delete dialog opens. The registry's announced request
//! budget comes back with each answer, for the status bar.

use super::App;
use crate::registry::{Grants, RepoName};
use crate::tui::action::{Action, Effect};
use crate::tui::views::View;

/// Grant questions in flight at once (each is one token request).
const MAX_IN_FLIGHT: usize = 4;

impl App {
    /// Asks for the grants of the repositories the shown repository list holds that were not
    /// asked about yet, on registries whose probe found token auth, [`MAX_IN_FLIGHT`] at a
    /// time.
    pub(super) fn request_grants(&mut self) -> Vec<Effect> {
        let Some(View::Repos(v)) = self.stack.last() else {
            return Vec::new();
        };
        let entry = v.entry;
        let Some(state) = self.entries.get(entry) else {
            return Vec::new();
        };
        let token_registry =
            state.client.is_some() && state.capabilities.as_ref().is_some_and(|c| c.token_auth);
        if !token_registry {
            return Vec::new();
        }
        // A few at a time: the rest are asked as answers come back.
        let room = MAX_IN_FLIGHT.saturating_sub(self.grant_reqs.len());
        let wanted: Vec<RepoName> = v
            .rows
            .names()
            .filter(|name| !state.grants_asked.contains(*name))
            .take(room)
            .cloned()
            .collect();
        let mut effects = Vec::with_capacity(wanted.len());
        for repo in wanted {
            let req = self.req();
            self.entries[entry].grants_asked.insert(repo.clone());
            self.grant_reqs.insert(req, (entry, repo.clone()));
            effects.push(Effect::Grants { req, entry, repo });
        }
        effects
    }

    pub(super) fn on_granted(&mut self, action: Action) -> Vec<Effect> {
        let Action::Granted {
            req,
            result,
            budget,
        } = action
        else {
            return Vec::new();
        };
        let Some((entry, repo)) = self.grant_reqs.remove(&req) else {
            tracing::debug!("dropped a grants answer nobody asked for: {req}");
            return Vec::new();
        };
        let Some(state) = self.entries.get_mut(entry) else {
            return Vec::new();
        };
        if budget.is_some() {
            state.budget = budget;
        }
        match result {
            Ok(grants) => {
                state.grants.insert(repo, grants);
            }
            // Unknown stays unknown: the column shows nothing and deletes are not refused.
            Err(e) => tracing::warn!("asking for the grants on {repo} failed: {e}"),
        }
        Vec::new()
    }

    /// Refuses a delete in any of `repos` whose token was granted no `delete` (known before
    /// trying; the registry would answer 401 `insufficient_scope`).
    pub(super) fn may_delete_in<'a>(
        &self,
        entry: usize,
        repos: impl IntoIterator<Item = &'a RepoName>,
    ) -> Result<(), String> {
        let state = &self.entries[entry];
        for repo in repos {
            if let Some(Grants::Token { actions }) = state.grants.get(repo)
                && !actions.may_delete()
            {
                return Err(format!(
                    "the credential for {} may not delete in {repo}: its token grants {} only",
                    state.name,
                    actions.names()
                ));
            }
        }
        Ok(())
    }

    /// The shown registry's request budget, for the status bar: `76 of 100 requests left`.
    pub fn budget_text(&self) -> Option<String> {
        let entry = self.top().entry()?;
        let budget = self.entries.get(entry)?.budget?;
        Some(format!("rate limit: {}", budget.describe()))
    }
}
