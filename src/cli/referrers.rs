//! `regatta referrers REF`: the artifacts attached to a manifest (signatures, attestations,
//! SBOMs, and their own referrers) as a tree with kinds and sizes, or JSON.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Context;
use super::output::{print_json, print_lines};
use crate::analysis::referrers::{ReferrerTree, build_tree};
use crate::present::artifact_summary;
use crate::present::referrers::{node_line, size_text, tree_lines};
use crate::referrers::{DiscoveryFailure, DiscoveryOptions, FallbackIndex, discover};
use crate::registry::RepoName;
use crate::target;

/// The JSON of `regatta referrers --json` (documented in the README).
#[derive(Debug, Serialize)]
pub struct ReferrersReport {
    pub reference: String,
    #[serde(flatten)]
    pub tree: ReferrerTree,
    /// Fallback indexes (`sha256-<hex>` tags) read, with the referrers they list that are gone.
    pub fallback_indexes: Vec<FallbackIndex>,
    /// Per repository asked: whether it has the OCI 1.1 referrers API.
    pub referrers_api: BTreeMap<RepoName, bool>,
    /// What could not be read (the tree may then be incomplete).
    pub failures: Vec<DiscoveryFailure>,
}

pub async fn run(
    ctx: &Context,
    input: &str,
    other_repositories: &[String],
    json: bool,
) -> anyhow::Result<()> {
    let (target, repo, reference) = target::resolve_reference(input, &ctx.config, &ctx.overrides)?;
    let mut others = other_repositories
        .iter()
        .map(|r| RepoName::parse(r))
        .collect::<Result<Vec<_>, _>>()?;
    // The registry's configured home of referrers (cosign's COSIGN_REPOSITORY), as --also-in.
    if let Some(configured) = ctx.config.referrers_repository(&target.name()) {
        let configured = RepoName::parse(configured)?;
        if configured != repo && !others.contains(&configured) {
            others.push(configured);
        }
    }
    ctx.warn_for(&target);
    let source = target.open()?;
    // By digest too: a digest the repository does not hold is an error, not "no referrers".
    let subject = source.resolve(&repo, &reference).await?.digest;
    let options = DiscoveryOptions {
        other_repositories: others,
        concurrency: match &target {
            target::Target::Registry { options, .. } => options.concurrency,
            target::Target::Layout(_) => 8,
        },
        ..DiscoveryOptions::default()
    };
    let found = discover(source.as_ref(), &repo, &subject, None, &options).await?;
    let report = ReferrersReport {
        reference: source.full_reference(&repo, &reference),
        tree: build_tree(&repo, &subject, &found.facts),
        fallback_indexes: found.fallback_indexes,
        referrers_api: found.api,
        failures: found.failures,
    };
    for f in &report.failures {
        eprintln!(
            "regatta: warning: cannot read {}: {}",
            crate::sanitize::sanitize(&f.what),
            crate::sanitize::sanitize(&f.error)
        );
    }
    if json {
        print_json(&report)
    } else {
        print_lines(text_lines(&report))
    }
}

/// The tree for people: one line per referrer, indented under its subject.
pub fn text_lines(r: &ReferrersReport) -> Vec<String> {
    let mut lines = vec![format!("{} ({})", r.reference, r.tree.subject)];
    for line in tree_lines(&r.tree.referrers, &|_| true) {
        lines.push(format!(
            "{}{}",
            line.branch,
            node_line(line.node, &r.tree.repository)
        ));
        // The node's content summary, indented under it where its referrers go.
        let deeper = match line.branch.strip_suffix("├── ") {
            Some(prefix) => format!("{prefix}│   "),
            None => format!("{}    ", line.branch.strip_suffix("└── ").unwrap_or("")),
        };
        lines.extend(
            artifact_summary::summary_lines(&line.node.summary)
                .into_iter()
                .map(|s| format!("{deeper}    {s}")),
        );
    }
    lines.push(match r.tree.count {
        0 => "no referrers".to_string(),
        n => format!(
            "{n} referrer{}, {}",
            if n == 1 { "" } else { "s" },
            size_text(r.tree.total_bytes)
        ),
    });
    for index in &r.fallback_indexes {
        if !index.missing.is_empty() {
            lines.push(format!(
                "fallback index {}:{} lists {} manifest(s) the registry no longer has",
                index.repository,
                index.tag,
                index.missing.len()
            ));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::artifact::ArtifactKind;
    use crate::analysis::referrers::{FoundVia, ReferrerNode};
    use crate::registry::{Digest, Tag};

    fn node(n: u8, repo: &str, size: Option<u64>, referrers: Vec<ReferrerNode>) -> ReferrerNode {
        ReferrerNode {
            repository: RepoName::parse(repo).unwrap(),
            digest: Digest::sha256_of(&[n]),
            media_type: "application/vnd.oci.image.manifest.v1+json".into(),
            artifact_type: None,
            kind: ArtifactKind::CosignSignature,
            label: "cosign signature".into(),
            size,
            created: None,
            found_via: vec![
                FoundVia::Api,
                FoundVia::CosignTag {
                    tag: Tag::parse("sha256-x.sig").unwrap(),
                },
            ],
            summary: Vec::new(),
            referrers,
        }
    }

    #[test]
    fn the_tree_reads_as_a_tree() {
        let app = RepoName::parse("app").unwrap();
        let report = ReferrersReport {
            reference: "host/app:v1".into(),
            tree: ReferrerTree {
                repository: app.clone(),
                subject: Digest::sha256_of(b"s"),
                referrers: vec![
                    node(1, "app", Some(2048), vec![node(2, "app", None, vec![])]),
                    node(3, "sigs", Some(10), vec![]),
                ],
                total_bytes: None,
                count: 3,
            },
            fallback_indexes: Vec::new(),
            referrers_api: BTreeMap::from([(app, false)]),
            failures: Vec::new(),
        };
        let lines = text_lines(&report);
        let d = |n: u8| Digest::sha256_of(&[n]).to_string();
        assert_eq!(lines.len(), 5, "{lines:#?}");
        assert!(lines[1].starts_with(&format!("├── cosign signature  {}  2 KiB", d(1))));
        assert!(lines[1].ends_with("via referrers API, tag sha256-x.sig"));
        assert!(lines[2].starts_with(&format!("│   └── cosign signature  {}  size unknown", d(2))));
        assert!(lines[3].starts_with(&format!("└── cosign signature  sigs@{}", d(3))));
        assert_eq!(lines[4], "3 referrers, size unknown");
    }
}
