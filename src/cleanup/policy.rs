//! Cleanup policies and their evaluation into a per-tag decision with the rule that made it.
//!
//! Safety rule, whatever the policy says: a digest that any kept tag points to (directly or
//! as a platform of a kept index) is never deleted; a tag the rules drop on such a digest is
//! only untagged, and the plan says so.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::registry::{Digest, Tag};

/// What to do with tags whose created date is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UnknownDate {
    #[default]
    Keep,
    Delete,
}

/// Order used by `keep_last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    /// Newest by the config's created date.
    #[default]
    Date,
    /// Highest version first (`v1.10.0` > `v1.9.2`); tags that are not versions count as
    /// having an unknown date.
    Semver,
}

/// A policy as written in `config.toml` (`[policies.NAME]`) or given on the command line.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    /// Repository globs the policy applies to (`team/*`); empty means all.
    #[serde(default)]
    pub repositories: Vec<String>,
    /// Keep the newest N tags (of those the other rules leave as candidates).
    pub keep_last: Option<usize>,
    /// Keep tags created within this duration (`30d`, `12h`, `2w`).
    pub keep_within: Option<String>,
    /// Only tags matching this regex are candidates for deletion.
    #[serde(rename = "match")]
    pub match_re: Option<String>,
    /// Tags matching this regex are never candidates.
    pub exclude: Option<String>,
    /// Tag patterns that are always kept (`latest`, `v*`; `*` and `?` wildcards).
    #[serde(default)]
    pub protect: Vec<String>,
    #[serde(default)]
    pub sort: Order,
    #[serde(default)]
    pub unknown_date: UnknownDate,
}

/// Why a policy spec does not compile. The message names the field, as the config's errors do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("{field}: {problem}")]
    Field {
        field: &'static str,
        problem: String,
    },
    #[error(
        "a policy needs keep_last, keep_within or match; without them it would delete every tag"
    )]
    DeletesEverything,
}

impl PolicyError {
    /// The config key the error is about (`keep_last` for a policy with no rule at all).
    pub fn key(&self) -> &'static str {
        match self {
            PolicyError::Field { field, .. } => field,
            PolicyError::DeletesEverything => "keep_last",
        }
    }
}

/// A checked, compiled policy.
#[derive(Debug, Clone)]
pub struct Policy {
    pub spec: PolicySpec,
    repositories: Option<globset::GlobSet>,
    keep_within: Option<Duration>,
    match_re: Option<regex::Regex>,
    exclude: Option<regex::Regex>,
    protect: Vec<(String, globset::GlobMatcher)>,
}

impl Policy {
    /// Compiles a spec; the error names the field and what is wrong with it.
    pub fn compile(spec: PolicySpec) -> Result<Self, PolicyError> {
        let regex = |field: &'static str, re: &Option<String>| {
            re.as_deref()
                .map(|r| {
                    regex::Regex::new(&format!("^(?:{r})$")).map_err(|e| PolicyError::Field {
                        field,
                        problem: format!("{r:?} is not a valid regex: {e}"),
                    })
                })
                .transpose()
        };
        let match_re = regex("match", &spec.match_re)?;
        let exclude = regex("exclude", &spec.exclude)?;
        let keep_within = spec
            .keep_within
            .as_deref()
            .map(|d| {
                parse_duration(d).ok_or_else(|| PolicyError::Field {
                    field: "keep_within",
                    problem: format!("{d:?} is not a duration like 30d, 12h or 2w"),
                })
            })
            .transpose()?;
        let glob = |field: &'static str, p: &str| {
            globset::GlobBuilder::new(p)
                .literal_separator(false)
                .build()
                .map_err(|e| PolicyError::Field {
                    field,
                    problem: format!("{p:?} is not a valid pattern: {e}"),
                })
        };
        let protect = spec
            .protect
            .iter()
            .map(|p| Ok((p.clone(), glob("protect", p)?.compile_matcher())))
            .collect::<Result<Vec<_>, PolicyError>>()?;
        let repositories = if spec.repositories.is_empty() {
            None
        } else {
            let mut set = globset::GlobSetBuilder::new();
            for r in &spec.repositories {
                set.add(glob("repositories", r)?);
            }
            Some(set.build().map_err(|e| PolicyError::Field {
                field: "repositories",
                problem: e.to_string(),
            })?)
        };
        if spec.keep_last.is_none() && keep_within.is_none() && match_re.is_none() {
            return Err(PolicyError::DeletesEverything);
        }
        Ok(Self {
            spec,
            repositories,
            keep_within,
            match_re,
            exclude,
            protect,
        })
    }

    pub fn applies_to(&self, repo: &str) -> bool {
        self.repositories.as_ref().is_none_or(|s| s.is_match(repo))
    }
}

/// `30d`, `12h`, `45m`, `2w`, `1y` (365 days).
impl Policy {
    /// Why the name alone keeps a tag (protect, match, exclude), or `None` when it is a
    /// candidate that keep_last and keep_within then decide about.
    pub fn screen(&self, name: &str) -> Option<Rule> {
        if let Some((pattern, _)) = self.protect.iter().find(|(_, g)| g.is_match(name)) {
            Some(Rule::Protected(pattern.clone()))
        } else if self.match_re.as_ref().is_some_and(|re| !re.is_match(name)) {
            Some(Rule::NotMatched)
        } else if self.exclude.as_ref().is_some_and(|re| re.is_match(name)) {
            Some(Rule::Excluded)
        } else {
            None
        }
    }
}

pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        "y" => 365 * 86_400,
        _ => return None,
    };
    Some(Duration::from_secs(n.checked_mul(seconds)?))
}

/// A tag as the policy sees it.
#[derive(Debug, Clone)]
pub struct TagFacts {
    pub tag: Tag,
    pub digest: Digest,
    pub created: Option<jiff::Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Keep,
    /// Delete the manifest by digest (every tag on it is also `Delete`).
    Delete,
    /// Remove only this tag: its digest is still needed by a kept tag.
    Untag,
}

/// The rule that decided about a tag. Printed (and serialized) as one sentence; compared as
/// data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// The name matches a `protect` pattern (the pattern).
    Protected(String),
    /// `match` is set and the name does not match it.
    NotMatched,
    /// The name matches `exclude`.
    Excluded,
    /// Within `keep_last` (its value).
    AmongNewest(usize),
    /// Within `keep_within` (its text, as written).
    CreatedWithin(String),
    /// Outside the policy's order (no date, or not a version) and `unknown_date = keep`.
    UnknownKept(Order),
    /// Dropped by the rules: outside the order (`Some`, with `unknown_date = delete`), past
    /// `keep_last`, older than `keep_within`, or only matched by `match`.
    Dropped {
        unknown: Option<Order>,
        keep_last: Option<usize>,
        keep_within: Option<String>,
    },
    /// Dropped, but its digest is still needed by a kept tag: untagged only.
    UntagOnly { dropped: Box<Rule>, keeper: Tag },
    /// The scan could not resolve the tag: never touched.
    Unresolved,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::Protected(pattern) => write!(f, "protected by {pattern:?}"),
            Rule::NotMatched => f.write_str("does not match the match regex"),
            Rule::Excluded => f.write_str("excluded by the exclude regex"),
            Rule::AmongNewest(n) => write!(f, "among the newest {n}"),
            Rule::CreatedWithin(within) => write!(f, "created within {within}"),
            Rule::UnknownKept(order) => {
                write!(f, "{} (unknown_date = keep)", unknown_order(*order))
            }
            Rule::Dropped {
                unknown,
                keep_last,
                keep_within,
            } => {
                let mut parts = Vec::new();
                if let Some(order) = unknown {
                    parts.push(format!("{} (unknown_date = delete)", unknown_order(*order)));
                }
                if let Some(n) = keep_last {
                    parts.push(format!("not among the newest {n}"));
                }
                if let Some(w) = keep_within {
                    parts.push(format!("older than {w}"));
                }
                if parts.is_empty() {
                    parts.push("matches the match regex".into());
                }
                f.write_str(&parts.join(", "))
            }
            Rule::UntagOnly { dropped, keeper } => write!(
                f,
                "{dropped}; untag only: its digest is still needed by kept tag {keeper}"
            ),
            Rule::Unresolved => f.write_str("could not be resolved during the scan"),
        }
    }
}

impl Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    pub tag: Tag,
    /// `None` for a tag the scan could not resolve (serialized as `""`).
    #[serde(serialize_with = "digest_or_empty")]
    pub digest: Option<Digest>,
    pub verdict: Verdict,
    /// The rule that decided.
    pub reason: Rule,
}

fn digest_or_empty<S: serde::Serializer>(
    digest: &Option<Digest>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(digest.as_ref().map_or("", Digest::as_str))
}

/// Decides every tag of one repository. `children` maps an index digest to the platform
/// manifests it references (so a kept index protects them).
pub fn evaluate(
    policy: &Policy,
    tags: &[TagFacts],
    children: &BTreeMap<Digest, Vec<Digest>>,
    now: jiff::Timestamp,
) -> Vec<Decision> {
    let mut verdicts: Vec<(Verdict, Rule)> = Vec::with_capacity(tags.len());
    let mut candidates: Vec<usize> = Vec::new();
    for (i, t) in tags.iter().enumerate() {
        match policy.screen(t.tag.as_str()) {
            Some(reason) => verdicts.push((Verdict::Keep, reason)),
            None => {
                verdicts.push((Verdict::Delete, delete_reason(policy, true)));
                candidates.push(i);
            }
        }
    }
    // Newest first; unknown order last.
    let key = |i: usize| -> Option<SortKey> {
        match policy.spec.sort {
            Order::Date => tags[i].created.map(SortKey::Date),
            Order::Semver => parse_version(tags[i].tag.as_str()).map(SortKey::Version),
        }
    };
    candidates.sort_by(|a, b| {
        key(*b)
            .cmp(&key(*a))
            .then_with(|| tags[*a].tag.cmp(&tags[*b].tag))
    });
    let mut kept_by_rank = 0;
    for &i in &candidates {
        let known = key(i).is_some();
        let age = tags[i].created.map(|c| now.duration_since(c));
        let decision = if let Some(n) = policy.spec.keep_last.filter(|_| known)
            && kept_by_rank < n
        {
            kept_by_rank += 1;
            (Verdict::Keep, Rule::AmongNewest(n))
        } else if let (Some(within), Some(age)) = (policy.keep_within, age)
            && age.as_secs() < within.as_secs() as i64
        {
            (
                Verdict::Keep,
                Rule::CreatedWithin(policy.spec.keep_within.clone().unwrap_or_default()),
            )
        } else if !known && policy.spec.unknown_date == UnknownDate::Keep {
            (Verdict::Keep, Rule::UnknownKept(policy.spec.sort))
        } else {
            (Verdict::Delete, delete_reason(policy, known))
        };
        verdicts[i] = decision;
    }
    // Digests a kept tag needs, with the platform manifests of kept indexes.
    let mut needed: BTreeMap<&Digest, &Tag> = BTreeMap::new();
    for (t, (v, _)) in tags.iter().zip(&verdicts) {
        if *v == Verdict::Keep {
            needed.entry(&t.digest).or_insert(&t.tag);
            for child in children.get(&t.digest).into_iter().flatten() {
                needed.entry(child).or_insert(&t.tag);
            }
        }
    }
    tags.iter()
        .zip(verdicts)
        .map(|(t, (verdict, reason))| {
            let (verdict, reason) = match (verdict, needed.get(&t.digest)) {
                (Verdict::Delete, Some(keeper)) => (
                    Verdict::Untag,
                    Rule::UntagOnly {
                        dropped: Box::new(reason),
                        keeper: (*keeper).clone(),
                    },
                ),
                (verdict, _) => (verdict, reason),
            };
            Decision {
                tag: t.tag.clone(),
                digest: Some(t.digest.clone()),
                verdict,
                reason,
            }
        })
        .collect()
}

fn delete_reason(policy: &Policy, known: bool) -> Rule {
    Rule::Dropped {
        unknown: (!known).then_some(policy.spec.sort),
        keep_last: policy.spec.keep_last,
        keep_within: policy.spec.keep_within.clone(),
    }
}

/// Why a tag has no place in the policy's order.
fn unknown_order(order: Order) -> &'static str {
    match order {
        Order::Date => "created date unknown",
        Order::Semver => "not a version",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum SortKey {
    Date(jiff::Timestamp),
    Version(semver::Version),
}

/// `v1.2.3`, `1.2.3-rc.1`, `1.2` (as 1.2.0), `7` (as 7.0.0).
pub fn parse_version(tag: &str) -> Option<semver::Version> {
    let t = tag.strip_prefix('v').unwrap_or(tag);
    if let Ok(v) = semver::Version::parse(t) {
        return Some(v);
    }
    let (core, pre) = match t.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (t, None),
    };
    let parts: Vec<&str> = core.split('.').collect();
    if parts.is_empty()
        || parts.len() > 2
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let mut padded = parts.join(".");
    for _ in parts.len()..3 {
        padded.push_str(".0");
    }
    if let Some(pre) = pre {
        padded.push('-');
        padded.push_str(pre);
    }
    semver::Version::parse(&padded).ok()
}

/// The tags a mirror takes (`[sync.NAME] tags = {...}`), by the same evaluation a cleanup
/// runs, read the other way round: the candidates the name rules leave (`match`, not
/// `exclude`, not `protect`) that `keep_last` and `keep_within` keep (and, with
/// `unknown_date = keep`, those outside the order). Without keep_last and keep_within every
/// candidate is taken. Sorted by name.
pub fn selected(policy: &Policy, tags: &[TagFacts], now: jiff::Timestamp) -> Vec<Tag> {
    let ranks = policy.spec.keep_last.is_some() || policy.keep_within.is_some();
    let mut out: Vec<Tag> = evaluate(policy, tags, &BTreeMap::new(), now)
        .into_iter()
        .filter(|d| policy.screen(d.tag.as_str()).is_none())
        .filter(|d| !ranks || d.verdict == Verdict::Keep)
        .map(|d| d.tag)
        .collect();
    out.sort();
    out
}
