//! Text of the artifacts attached to an image, for both front ends: the line of a referrer
//! node (`regatta referrers` prints it under its tree branch), the referrers view's columns
//! and cells, the tree's branches, and the tag list's compact "what is attached" cell. No
//! terminal types; network text is sanitized where a cell is made.

use jiff::Timestamp;

use super::columns::{Align, ColumnSpec, Width, col};
use super::units::{age, size as human_size};
use crate::analysis::artifact::{ArtifactKind, predicate_name};
use crate::analysis::attached::Attachments;
use crate::analysis::content::SeverityCounts;
use crate::analysis::model::{ManifestBody, StorageModel};
use crate::analysis::referrers::{FoundVia, ReferrerNode};
use crate::registry::{Digest, RepoName};
use crate::sanitize::sanitize;

/// A size, or what is said when the registry's sizes overflow.
pub fn size_text(size: Option<u64>) -> String {
    size.map_or_else(|| "size unknown".to_string(), human_size)
}

/// Where a referrer was found, as people read it.
pub fn via_text(via: &FoundVia) -> String {
    match via {
        FoundVia::Api => "referrers API".into(),
        FoundVia::FallbackIndex { tag } => format!("fallback index {tag}"),
        FoundVia::CosignTag { tag } => format!("tag {tag}"),
        FoundVia::SubjectField { tag } => format!("subject of tag {tag}"),
    }
}

/// One referrer as a line: `cosign signature  sha256:…  2 KiB  created …  via tag …`. The
/// repository is named only when it is not `home` (a referrer kept elsewhere).
pub fn node_line(node: &ReferrerNode, home: &RepoName) -> String {
    let via: Vec<String> = node.found_via.iter().map(via_text).collect();
    format!(
        "{}  {}{}  {}{}  via {}",
        node.label,
        if &node.repository == home {
            String::new()
        } else {
            format!("{}@", node.repository)
        },
        node.digest,
        size_text(node.size),
        node.created
            .as_deref()
            .map(|c| format!("  created {c}"))
            .unwrap_or_default(),
        via.join(", ")
    )
}

/// One row of a drawn tree: its branch (`│   ├── `), its depth, where it sits (child
/// indexes from the top), and the node.
#[derive(Debug, Clone)]
pub struct TreeLine<'a> {
    pub branch: String,
    pub depth: usize,
    pub path: Vec<usize>,
    pub node: &'a ReferrerNode,
}

/// The nodes as tree rows, depth first; the referrers of a node `open` says no to are left
/// out (folded). The CLI opens everything; the TUI folds what the user folded.
pub fn tree_lines<'a>(
    nodes: &'a [ReferrerNode],
    open: &dyn Fn(&[usize]) -> bool,
) -> Vec<TreeLine<'a>> {
    fn walk<'a>(
        nodes: &'a [ReferrerNode],
        prefix: &str,
        path: &mut Vec<usize>,
        open: &dyn Fn(&[usize]) -> bool,
        out: &mut Vec<TreeLine<'a>>,
    ) {
        for (i, n) in nodes.iter().enumerate() {
            let last = i + 1 == nodes.len();
            path.push(i);
            out.push(TreeLine {
                branch: format!("{prefix}{} ", if last { "└──" } else { "├──" }),
                depth: path.len(),
                path: path.clone(),
                node: n,
            });
            if open(path) {
                let deeper = format!("{prefix}{}", if last { "    " } else { "│   " });
                walk(&n.referrers, &deeper, path, open, out);
            }
            path.pop();
        }
    }
    let mut out = Vec::new();
    walk(nodes, "", &mut Vec::new(), open, &mut out);
    out
}

/// The referrers view: the subject on the first row, its referrers under it.
pub const REFERRER_COLUMNS: &[ColumnSpec] = &[
    col("", Width::Fixed(1), Align::Left),
    col("KIND", Width::Fill(3), Align::Left),
    col("ARTIFACT TYPE", Width::Fill(2), Align::Left),
    col("DIGEST", Width::Fixed(12), Align::Left),
    col("SIZE", Width::Fixed(10), Align::Right),
    col("AGE", Width::Fixed(4), Align::Right),
    col("FOUND VIA", Width::Fill(2), Align::Left),
];

/// What a row of the referrers view shows.
pub struct ReferrerLine<'a> {
    /// `+` when the row's referrers are folded away, blank otherwise.
    pub folded: bool,
    /// The tree's branch drawn before the kind (`├── `).
    pub branch: &'a str,
    pub label: &'a str,
    pub repository: Option<&'a RepoName>,
    pub artifact_type: Option<&'a str>,
    pub digest: &'a Digest,
    pub size: Option<u64>,
    /// `org.opencontainers.image.created` as annotated (any text: a registry sent it).
    pub created: Option<&'a str>,
    pub found_via: &'a [FoundVia],
}

pub fn referrer_cells(line: &ReferrerLine<'_>, now: Timestamp) -> Vec<String> {
    let kind = match line.repository {
        Some(repo) => format!("{}{} ({repo})", line.branch, line.label),
        None => format!("{}{}", line.branch, line.label),
    };
    let created = line.created.map_or_else(String::new, |c| {
        c.parse::<Timestamp>()
            .map_or_else(|_| "?".to_string(), |t| age(t, now))
    });
    let via: Vec<String> = line.found_via.iter().map(via_text).collect();
    vec![
        if line.folded { "+" } else { "" }.to_string(),
        sanitize(&kind).into_owned(),
        sanitize(line.artifact_type.unwrap_or("")).into_owned(),
        line.digest.short().to_string(),
        line.size.map_or_else(|| "?".to_string(), human_size),
        created,
        sanitize(&via.join(", ")).into_owned(),
    ]
}

/// What is attached to one image, counted from the scanned model (no request): its direct
/// referrers and those of its platform manifests, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AttachedSummary {
    /// cosign and Notation signatures.
    pub signatures: usize,
    /// SBOMs, attached as such or as SPDX / CycloneDX attestations.
    pub sboms: usize,
    /// Other attestations (provenance, custom predicates).
    pub attestations: usize,
    /// Vulnerability reports attached as attestations.
    pub vulnerability_reports: usize,
    /// Anything else attached, and the referrers of referrers (a signature of an SBOM).
    pub others: usize,
    /// The counts by severity of a vulnerability report, once one was read (the model
    /// has none: they are in the report's blob).
    pub vulnerabilities: Option<SeverityCounts>,
}

/// Whether an artifact of this kind is a vulnerability report (an attestation whose
/// predicate type names a vulnerability scan).
pub fn is_vulnerability_report(kind: &ArtifactKind) -> bool {
    matches!(
        kind,
        ArtifactKind::Attestation { predicate_type: Some(p) } if predicate_name(p) == "vulnerability scan"
    )
}

/// The manifests and platform manifests of `image`: what its attachments hang on.
fn subjects_of(model: &StorageModel, image: &Digest) -> Vec<Digest> {
    let mut subjects = vec![image.clone()];
    if let Some(ManifestBody::Index { children }) = model.manifests.get(image).map(|m| &m.body) {
        subjects.extend(children.iter().cloned());
    }
    subjects
}

/// The vulnerability reports attached to `image` (or to its platform manifests) directly,
/// in the order the attachments list them, each once.
pub fn vulnerability_reports(
    model: &StorageModel,
    attachments: &Attachments,
    image: &Digest,
) -> Vec<Digest> {
    let mut out: Vec<Digest> = Vec::new();
    for s in subjects_of(model, image) {
        for (r, _) in attachments.direct(&s) {
            let report = model
                .manifests
                .get(r)
                .is_some_and(|m| is_vulnerability_report(&m.kind));
            if report && !out.contains(r) {
                out.push(r.clone());
            }
        }
    }
    out
}

/// Counts by severity as initials, most severe first, zero counts left out: `1C 3H 2M`
/// (critical, high, medium, low, negligible, unknown); `0` when there are none.
pub fn severity_initials(counts: &SeverityCounts) -> String {
    let parts: Vec<String> = [
        ("C", counts.critical),
        ("H", counts.high),
        ("M", counts.medium),
        ("L", counts.low),
        ("N", counts.negligible),
        ("U", counts.unknown),
    ]
    .iter()
    .filter(|(_, n)| *n > 0)
    .map(|(initial, n)| format!("{n}{initial}"))
    .collect();
    if parts.is_empty() {
        "0".into()
    } else {
        parts.join(" ")
    }
}

impl AttachedSummary {
    pub fn of(model: &StorageModel, attachments: &Attachments, image: &Digest) -> Self {
        let subjects = subjects_of(model, image);
        let mut out = Self::default();
        let mut direct = std::collections::BTreeSet::new();
        for s in &subjects {
            for (r, _) in attachments.direct(s) {
                if !direct.insert(r.clone()) {
                    continue;
                }
                match model.manifests.get(r).map(|m| &m.kind) {
                    Some(ArtifactKind::CosignSignature | ArtifactKind::NotationSignature) => {
                        out.signatures += 1
                    }
                    Some(ArtifactKind::Sbom { .. }) => out.sboms += 1,
                    Some(ArtifactKind::Attestation { predicate_type }) => {
                        match predicate_type.as_deref().map(predicate_name) {
                            Some("vulnerability scan") => out.vulnerability_reports += 1,
                            Some("SPDX" | "CycloneDX") => out.sboms += 1,
                            _ => out.attestations += 1,
                        }
                    }
                    _ => out.others += 1,
                }
            }
        }
        let mut nested = std::collections::BTreeSet::new();
        for s in &subjects {
            nested.extend(attachments.transitive(s));
        }
        out.others += nested.iter().filter(|d| !direct.contains(*d)).count();
        out
    }

    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The compact cell: `sig sbom 2 att vuln 1C 3H +1`; empty when nothing is attached.
    /// A vulnerability report shows its counts by severity once read ([`severity_initials`]),
    /// `vuln` alone until then or when it cannot be read.
    pub fn cell(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        if self.signatures > 0 {
            parts.push("sig".into());
        }
        if self.sboms > 0 {
            parts.push("sbom".into());
        }
        match self.attestations {
            0 => {}
            1 => parts.push("att".into()),
            n => parts.push(format!("{n} att")),
        }
        if self.vulnerability_reports > 0 {
            match &self.vulnerabilities {
                Some(counts) => parts.push(format!("vuln {}", severity_initials(counts))),
                None => parts.push("vuln".into()),
            }
        }
        if self.others > 0 {
            parts.push(format!("+{}", self.others));
        }
        parts.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Tag;

    fn node(n: u8, label: &str, referrers: Vec<ReferrerNode>) -> ReferrerNode {
        ReferrerNode {
            repository: RepoName::parse("app").unwrap(),
            digest: Digest::sha256_of(&[n]),
            media_type: "application/vnd.oci.image.manifest.v1+json".into(),
            artifact_type: Some("application/spdx+json".into()),
            kind: ArtifactKind::CosignSignature,
            label: label.into(),
            size: Some(2048),
            created: Some("2025-05-01T12:00:00Z".into()),
            found_via: vec![FoundVia::CosignTag {
                tag: Tag::parse("sha256-x.sig").unwrap(),
            }],
            summary: Vec::new(),
            referrers,
        }
    }

    #[test]
    fn folded_nodes_hide_their_referrers_and_branches_read_as_a_tree() {
        let tree = vec![
            node(1, "a", vec![node(2, "b", vec![]), node(3, "c", vec![])]),
            node(4, "d", vec![]),
        ];
        let all = tree_lines(&tree, &|_| true);
        let shown: Vec<String> = all
            .iter()
            .map(|l| format!("{}{}", l.branch, l.node.label))
            .collect();
        assert_eq!(shown, ["├── a", "│   ├── b", "│   └── c", "└── d"]);
        assert_eq!(all[2].path, [0, 1]);
        let folded = tree_lines(&tree, &|p| p != [0]);
        assert_eq!(folded.len(), 2);
    }

    #[test]
    fn a_cell_says_what_and_is_sanitized() {
        let now: Timestamp = "2025-06-01T12:00:00Z".parse().unwrap();
        let mut n = node(1, "cosign signature", vec![]);
        n.artifact_type = Some("evil\u{1b}[2J".into());
        let line = ReferrerLine {
            folded: true,
            branch: "└── ",
            label: &n.label,
            repository: None,
            artifact_type: n.artifact_type.as_deref(),
            digest: &n.digest,
            size: n.size,
            created: n.created.as_deref(),
            found_via: &n.found_via,
        };
        let cells = referrer_cells(&line, now);
        assert_eq!(cells[0], "+");
        assert_eq!(cells[1], "└── cosign signature");
        assert!(!cells[2].contains('\u{1b}'), "{:?}", cells[2]);
        assert_eq!(cells[4], "2 KiB");
        assert_eq!(cells[5], "1mo");
        assert_eq!(cells[6], "tag sha256-x.sig");
    }

    #[test]
    fn the_attached_cell_is_compact() {
        let s = AttachedSummary {
            signatures: 2,
            sboms: 1,
            attestations: 2,
            vulnerability_reports: 1,
            others: 1,
            vulnerabilities: None,
        };
        assert_eq!(s.cell(), "sig sbom 2 att vuln +1");
        let read = AttachedSummary {
            vulnerabilities: Some(SeverityCounts {
                critical: 1,
                high: 3,
                medium: 2,
                ..SeverityCounts::default()
            }),
            ..s
        };
        assert_eq!(read.cell(), "sig sbom 2 att vuln 1C 3H 2M +1");
        let clean = AttachedSummary {
            vulnerabilities: Some(SeverityCounts::default()),
            ..s
        };
        assert_eq!(clean.cell(), "sig sbom 2 att vuln 0 +1");
        let odd = SeverityCounts {
            low: 4,
            negligible: 1,
            unknown: 2,
            ..SeverityCounts::default()
        };
        assert_eq!(severity_initials(&odd), "4L 1N 2U");
        assert_eq!(AttachedSummary::default().cell(), "");
        let one = AttachedSummary {
            attestations: 1,
            ..AttachedSummary::default()
        };
        assert_eq!(one.cell(), "att");
    }
}
