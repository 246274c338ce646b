//! The suggested policy: what the audit saw, turned into a `[policies.suggested]` table that
//! keeps releases, floating tags and signatures, and of the builds keeps the newest
//! `keep_last` per repository and any younger than `keep_within`. It is dry-run through the
//! same planner as `regatta cleanup`, so the numbers it shows are the ones a cleanup would
//! give.

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde::Serialize;

use super::kinds::TagKind;
use super::parts::TagAudit;
use super::settings::AuditSettings;
use crate::analysis::model::StorageModel;
use crate::cleanup::plan::{Mode, Plan, plan_cleanup};
use crate::cleanup::policy::{Policy, PolicySpec};

#[derive(Debug, Clone, Serialize)]
pub struct SuggestedPolicy {
    pub name: String,
    pub spec: PolicySpec,
    /// The policy as a `config.toml` snippet.
    pub toml: String,
    /// The same policy as `regatta cleanup` flags (TARGET left for the caller).
    pub cleanup_flags: String,
    pub dry_run: DryRun,
    /// The plan itself, for a preview that applies it.
    #[serde(skip)]
    pub plan: Option<Plan>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct DryRun {
    pub repositories: usize,
    /// Tags that would go with their manifests.
    pub tags_deleted: usize,
    /// Tags that would only be untagged (their digest has a kept tag).
    pub tags_untagged: usize,
    pub manifests_deleted: usize,
    pub bytes_freed: u64,
    /// Set when the policy could not be compiled (a custom pattern the policy rejects).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

fn either(sources: &[&str]) -> String {
    let parts: Vec<String> = sources.iter().map(|s| format!("(?:{s})")).collect();
    format!("(?i:{})", parts.join("|"))
}

/// `s` as one shell word.
pub(crate) fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=".contains(&b))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// The policy the audit suggests, and its dry run.
pub fn suggest_policy(
    model: &StorageModel,
    settings: &AuditSettings,
    now: Timestamp,
    shown: Option<&globset::GlobMatcher>,
    tags: &[TagAudit],
) -> SuggestedPolicy {
    let seen: BTreeSet<TagKind> = tags.iter().map(|t| t.kind).collect();
    let source = |k: TagKind| settings.patterns.source(k).unwrap_or_default();
    // Builds are the candidates: the build kinds present, or all of them if none is.
    let mut build_kinds: Vec<TagKind> = TagKind::ALL
        .into_iter()
        .filter(|k| k.is_build() && seen.contains(k))
        .collect();
    if build_kinds.is_empty() {
        build_kinds = TagKind::ALL.into_iter().filter(|k| k.is_build()).collect();
    }
    let match_re = either(&build_kinds.iter().map(|k| source(*k)).collect::<Vec<_>>());
    // Floating tags and signatures are never candidates, whatever their name also looks
    // like. Releases are not candidates because `match` names only the build kinds; a
    // release pattern in `exclude` would also take pre-releases and dates (`1.3.0-rc.1`,
    // `2024.05.01`), which the audit tries before releases but a policy has no order for.
    let exclude = either(&[source(TagKind::Floating), source(TagKind::Signature)]);
    let mut protect: BTreeSet<String> = tags
        .iter()
        .filter(|t| t.kind == TagKind::Floating)
        .map(|t| t.tag.clone())
        .collect();
    // Whatever the audit saw that is not a build but that the names alone would still leave
    // a candidate (a release variant like `1.2-deadbeef` looks like a commit build) is
    // protected by name, so the policy keeps every tag the audit calls a release, floating
    // tag, signature or other.
    let draft = PolicySpec {
        keep_last: Some(settings.keep_last),
        match_re: Some(match_re.clone()),
        exclude: Some(exclude.clone()),
        ..PolicySpec::default()
    };
    if let Ok(draft) = Policy::compile(draft) {
        protect.extend(
            tags.iter()
                .filter(|t| !t.kind.is_build() && draft.screen(&t.tag).is_none())
                .map(|t| t.tag.clone()),
        );
    }
    let protect: Vec<String> = protect.into_iter().collect();
    let spec = PolicySpec {
        repositories: shown
            .map(|g| vec![g.glob().glob().to_string()])
            .unwrap_or_default(),
        keep_last: Some(settings.keep_last),
        keep_within: Some(settings.keep_within.clone()),
        match_re: Some(match_re.clone()),
        exclude: Some(exclude.clone()),
        protect: protect.clone(),
        ..PolicySpec::default()
    };

    let kinds: Vec<&str> = build_kinds.iter().map(|k| k.name()).collect();
    let mut toml = format!(
        "# Suggested by `regatta audit`: releases, floating tags and signatures are kept; of the\n\
         # builds ({}) the newest {} per repository and any younger than {} are kept.\n\
         [policies.{}]\n",
        kinds.join(", "),
        settings.keep_last,
        settings.keep_within,
        settings.policy_name
    );
    if let Some(glob) = spec.repositories.first() {
        toml.push_str(&format!("repositories = [{}]\n", toml_string(glob)));
    }
    toml.push_str(&format!(
        "keep_last = {}\nkeep_within = {}\nmatch = {}\nexclude = {}\nprotect = [{}]\n",
        settings.keep_last,
        toml_string(&settings.keep_within),
        toml_string(&match_re),
        toml_string(&exclude),
        protect
            .iter()
            .map(|p| toml_string(p))
            .collect::<Vec<_>>()
            .join(", ")
    ));

    let mut flags = format!(
        "--keep-last {} --keep-within {} --match {} --exclude {}",
        settings.keep_last,
        shell_quote(&settings.keep_within),
        shell_quote(&match_re),
        shell_quote(&exclude)
    );
    for p in &protect {
        flags.push_str(&format!(" --protect {}", shell_quote(p)));
    }
    if let Some(glob) = spec.repositories.first() {
        flags = format!("--repo {} {flags}", shell_quote(glob));
    }

    let (dry_run, plan) = match Policy::compile(spec.clone()) {
        Ok(policy) => {
            let plan = plan_cleanup(model, &[(settings.policy_name.clone(), policy)], now);
            let deleting = plan.deletions.iter().filter(|d| d.mode == Mode::Delete);
            let dry_run = DryRun {
                repositories: plan.repositories.len(),
                tags_deleted: deleting.clone().map(|d| d.tags.len()).sum(),
                tags_untagged: plan
                    .deletions
                    .iter()
                    .filter(|d| d.mode == Mode::Untag)
                    .count(),
                manifests_deleted: deleting.map(|d| 1 + d.children.len()).sum(),
                bytes_freed: plan.bytes_freed,
                error: None,
            };
            (dry_run, Some(plan))
        }
        Err(e) => (
            DryRun {
                error: Some(e.to_string()),
                ..DryRun::default()
            },
            None,
        ),
    };
    SuggestedPolicy {
        name: settings.policy_name.clone(),
        spec,
        toml,
        cleanup_flags: flags,
        dry_run,
        plan,
    }
}
