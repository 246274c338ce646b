//! Whether a plan may be applied: every repository it touches must have been scanned
//! completely. A tag whose HEAD failed is invisible to the plan, and deleting a digest it
//! shares deletes it too, so a plan made from a partial view of a repository is shown but
//! never applied there. A rerun whose scan completes applies.

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;

use super::plan::Plan;
use crate::analysis::model::StorageModel;
use crate::analysis::sharing::repo_complete;
use crate::registry::RepoName;

/// At most this many problems are named per repository in the sentence (all are in `problems`).
const NAMED: usize = 5;

/// A repository a plan touches that the scan did not see completely, and what it missed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncompleteRepo {
    pub repository: RepoName,
    /// What failed or is missing, one phrase each (`app:v1: HTTP 500 ...`).
    pub problems: Vec<String>,
}

/// The refusal: the plan touches repositories the scan did not see completely.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
pub struct IncompleteScan {
    pub repositories: Vec<IncompleteRepo>,
}

impl fmt::Display for IncompleteScan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self
            .repositories
            .iter()
            .map(|r| r.repository.as_str())
            .collect();
        write!(
            f,
            "refusing to apply: the scan did not see all of {} (",
            names.join(", ")
        )?;
        let mut first = true;
        for repo in &self.repositories {
            for problem in repo.problems.iter().take(NAMED) {
                if !first {
                    f.write_str("; ")?;
                }
                first = false;
                f.write_str(problem)?;
            }
            if repo.problems.len() > NAMED {
                write!(f, "; and {} more", repo.problems.len() - NAMED)?;
            }
        }
        f.write_str(
            "), and a tag it could not see may share a digest with one that goes; nothing was deleted: scan again once the registry answers for all of it",
        )
    }
}

impl Plan {
    /// The repositories the plan deletes in, or names a tag in (found or not).
    pub fn repositories_touched(&self) -> BTreeSet<&RepoName> {
        self.deletions
            .iter()
            .map(|d| &d.repository)
            .chain(self.unknown.iter().map(|(r, _)| r))
            .collect()
    }

    /// `Ok` when every repository the plan touches was scanned completely in `model`: every
    /// tag listed and resolved, every manifest known, no failure there. Only then may the
    /// plan be applied.
    pub fn check_complete(&self, model: &StorageModel) -> Result<(), IncompleteScan> {
        let repositories: Vec<IncompleteRepo> = self
            .repositories_touched()
            .into_iter()
            .filter_map(|repo| {
                let problems = problems(model, repo);
                (!problems.is_empty()).then(|| IncompleteRepo {
                    repository: repo.clone(),
                    problems,
                })
            })
            .collect();
        if repositories.is_empty() {
            Ok(())
        } else {
            Err(IncompleteScan { repositories })
        }
    }
}

/// What the scan missed in `repo`: its failures, else what the model lacks.
fn problems(model: &StorageModel, repo: &RepoName) -> Vec<String> {
    // A failure not tied to a repository may concern any of them.
    let failed: Vec<String> = model
        .failures
        .iter()
        .filter(|(r, _, _)| r.as_ref().is_none_or(|r| r == repo))
        .map(|(_, what, error)| format!("{what}: {error}"))
        .collect();
    if !failed.is_empty() {
        return failed;
    }
    let Some(entry) = model.repos.get(repo) else {
        // Not in the registry's catalog and nothing failed: there is nothing to miss.
        return Vec::new();
    };
    if repo_complete(model, repo) {
        return Vec::new();
    }
    if !entry.tags_listed {
        return vec![format!("the tags of {repo} were not listed")];
    }
    entry
        .tags
        .iter()
        .filter_map(|(tag, digest)| match digest {
            None => Some(format!("{repo}:{tag} was not resolved")),
            // `image_size` is known exactly when every manifest below the digest is.
            Some(d) if model.image_size(d).is_none() => {
                Some(format!("{repo}:{tag}: manifest {d} is not known"))
            }
            Some(_) => None,
        })
        .collect()
}
