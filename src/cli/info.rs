//! `regatta info TARGET [--json]`: what a registry can do, from the capability probe, what the
//! credential may do there (its grants on one repository) and the request budget the registry
//! announced, if any.

use serde::Serialize;

use super::Context;
use super::output::{print_json, print_lines};
use crate::registry::probe::Capabilities;
use crate::registry::{Grants, RateBudget, RepoName};
use crate::target;

#[derive(Serialize)]
struct InfoReport {
    registry: String,
    url: String,
    #[serde(flatten)]
    capabilities: Capabilities,
    /// What the credential may do on one repository (`--repo`, else the probed one).
    grants: GrantsReport,
    /// `RateLimit-Limit` / `RateLimit-Remaining` of the last answer that carried them.
    rate_budget: Option<RateBudget>,
}

#[derive(Serialize)]
struct GrantsReport {
    repository: String,
    /// `token`, `token_unknown`, `basic`, `open`, or `unknown` when asking failed.
    #[serde(flatten)]
    grants: Option<Grants>,
    /// `r`, `rw`, `rwd` (`?` when not known).
    short: &'static str,
    /// One sentence: what is known and what is not.
    text: String,
}

impl GrantsReport {
    /// The granted actions for the text line: `pull,push,delete on team/app (the token ...)`.
    fn line(&self) -> String {
        match &self.grants {
            Some(Grants::Token { actions }) => {
                format!(
                    "{} on {} ({})",
                    actions.names(),
                    self.repository,
                    self.short
                )
            }
            _ => format!("{} (on {})", self.text, self.repository),
        }
    }
}

pub async fn run(ctx: &Context, input: &str, repo: Option<&str>, json: bool) -> anyhow::Result<()> {
    let repo = repo.map(RepoName::parse).transpose()?;
    let target = target::resolve(input, &ctx.config, &ctx.overrides)?;
    ctx.warn_for(&target);
    let client = target.client()?;
    let capabilities = client.capabilities().await?;
    let repo = match repo {
        Some(repo) => repo,
        None => RepoName::parse(&capabilities.probe_repository)?,
    };
    let grants = match client.grants(&repo).await {
        Ok(grants) => GrantsReport {
            repository: repo.to_string(),
            short: grants.short(),
            text: grants.describe(),
            grants: Some(grants),
        },
        // The probe got through; a token server refusing only this question is reported,
        // not fatal. The error's sentence names no secret.
        Err(error) => GrantsReport {
            repository: repo.to_string(),
            grants: None,
            short: "?",
            text: format!("not known: {error}"),
        },
    };
    let rate_budget = client.rate_budget();
    if json {
        return print_json(&InfoReport {
            registry: target.name(),
            url: target.location(),
            capabilities,
            grants,
            rate_budget,
        });
    }
    let mut rows = vec![("registry", target.name()), ("url", target.location())];
    rows.extend(capabilities.lines());
    rows.push(("granted", grants.line()));
    rows.push((
        "rate limit",
        rate_budget
            .map(|b| b.describe())
            .unwrap_or_else(|| "none announced".to_string()),
    ));
    let width = rows.iter().map(|(label, _)| label.len()).max().unwrap_or(0);
    print_lines(
        rows.iter()
            .map(|(label, text)| format!("{label:<width$}  {text}")),
    )
}
