//! `regatta referrers REF`: the artifacts attached to a manifest (signatures, attestations,
//! SBOMs, and their own referrers) as a tree with kinds and sizes, or JSON.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Context;
use super::output::{print_json, print_lines};
use crate::analysis::referrers::{FoundVia, ReferrerNode, ReferrerTree, build_tree};
use crate::present::artifact_summary;
use crate::present::units::size as human_size;
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
    let others = other_repositories
        .iter()
        .map(|r| RepoName::parse(r))
        .collect::<Result<Vec<_>, _>>()?;
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

fn size_text(size: Option<u64>) -> String {
    size.map_or_else(|| "size unknown".to_string(), human_size)
}

fn via_text(via: &FoundVia) -> String {
    match via {
        FoundVia::Api => "referrers API".into(),
        FoundVia::FallbackIndex { tag } => format!("fallback index {tag}"),
        FoundVia::CosignTag { tag } => format!("tag {tag}"),
        FoundVia::SubjectField { tag } => format!("subject of tag {tag}"),
    }
}

/// The tree for people: one line per referrer, indented under its subject.
pub fn text_lines(r: &ReferrersReport) -> Vec<String> {
    let mut lines = vec![format!("{} ({})", r.reference, r.tree.subject)];
    fn walk(home: &RepoName, nodes: &[ReferrerNode], prefix: &str, lines: &mut Vec<String>) {
        for (i, n) in nodes.iter().enumerate() {
            let last = i + 1 == nodes.len();
            let via: Vec<String> = n.found_via.iter().map(via_text).collect();
            lines.push(format!(
                "{prefix}{} {}  {}{}  {}{}  via {}",
                if last { "└──" } else { "├──" },
                n.label,
                if &n.repository == home {
                    String::new()
                } else {
                    format!("{}@", n.repository)
                },
                n.digest,
                size_text(n.size),
                n.created
                    .as_deref()
                    .map(|c| format!("  created {c}"))
                    .unwrap_or_default(),
                via.join(", ")
            ));
            let deeper = format!("{prefix}{}", if last { "    " } else { "│   " });
            lines.extend(
                artifact_summary::summary_lines(&n.summary)
                    .into_iter()
                    .map(|s| format!("{deeper}    {s}")),
            );
            walk(home, &n.referrers, &deeper, lines);
        }
    }
    walk(&r.tree.repository, &r.tree.referrers, "", &mut lines);
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
