//! Base-image drift across a repository's tags: which base layers each tag sits on, and
//! which tags are on an old base while newer tags moved on. A pure function of each tag's
//! layer digest chain, layer sizes and config `created` time: no layer is read.
//!
//! A tag's base is found one of two ways:
//! - Given candidates (`--base`): the candidate whose layer chain is the longest prefix of
//!   the tag's chain, compared digest by digest (candidates with the same chain are one base
//!   with several names).
//! - Inferred: the longest prefix of layers the tag shares with at least one other tag of a
//!   different layer chain (aliases of one image teach nothing). With a single tag on a new
//!   base, that base cannot be told from the tag's own layers; name the base image then.
//!
//! The current base is the base of the newest tag(s) by `created` that have one. A tag is
//! on the current base when its chain begins with that base's chain (a tag on an image
//! built over the current base counts as current); otherwise it is on an old base, and the
//! report says how many tags created after it are on the current base. Tags without a created
//! time count as older than any dated tag and are never "newer".

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde::Serialize;

use crate::registry::Digest;
use crate::registry::image::PlatformImage;

/// One tag as drift sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagChain {
    pub tag: String,
    /// The image's manifest digest.
    pub digest: Digest,
    /// Its layers, bottom first, with their (compressed) sizes.
    pub layers: Vec<(Digest, u64)>,
    pub created: Option<Timestamp>,
}

impl TagChain {
    /// What drift needs of `image`, tagged `tag`: its manifest's layers and its config's
    /// `created` time when that is one to believe (see `believable_date`).
    pub fn of(tag: &str, image: &PlatformImage) -> Self {
        Self {
            tag: tag.to_string(),
            digest: image.digest.clone(),
            layers: image
                .manifest
                .layers
                .iter()
                .map(|l| (l.digest.clone(), l.size))
                .collect(),
            created: image
                .config
                .as_ref()
                .and_then(|c| c.believable_created().ok().flatten()),
        }
    }
}

/// A candidate base image: a reference people know and its layer chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub reference: String,
    pub layers: Vec<Digest>,
}

/// How the bases were found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BaseRule {
    /// The longest candidate chain that is a prefix of the tag's.
    Candidates,
    /// The longest prefix shared with another tag.
    SharedPrefix,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BaseStatus {
    Current,
    OldBase,
    NoSharedBase,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Base {
    /// The candidates with this chain (empty when inferred).
    pub names: Vec<String>,
    /// The top layer of the base.
    pub top_layer: Digest,
    pub layers: usize,
    /// Compressed bytes of the base's layers.
    pub bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TagBase {
    pub tag: String,
    pub digest: Digest,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<Timestamp>,
    pub base: Option<Base>,
    pub status: BaseStatus,
    /// For a tag on an old base: how many tags created after it moved on to the current base.
    pub newer_on_current_base: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drift {
    pub rule: BaseRule,
    /// The bases of the newest tag(s) that have one.
    pub current_bases: Vec<Base>,
    /// In the order of the input.
    pub tags: Vec<TagBase>,
}

impl Drift {
    /// Tags on an old base.
    pub fn old(&self) -> impl Iterator<Item = &TagBase> {
        self.tags.iter().filter(|t| t.status == BaseStatus::OldBase)
    }
}

/// The drift report of `tags`; `candidates` empty means infer the bases.
pub fn drift(tags: &[TagChain], candidates: &[Candidate]) -> Drift {
    let chains: Vec<Vec<&Digest>> = tags
        .iter()
        .map(|t| t.layers.iter().map(|(d, _)| d).collect())
        .collect();
    let rule = if candidates.is_empty() {
        BaseRule::SharedPrefix
    } else {
        BaseRule::Candidates
    };
    // Each tag's base as a length of its chain (0: none).
    let lengths: Vec<usize> = chains
        .iter()
        .map(|chain| match rule {
            BaseRule::Candidates => candidates
                .iter()
                .filter(|c| is_prefix(&c.layers, chain))
                .map(|c| c.layers.len())
                .max()
                .unwrap_or(0),
            BaseRule::SharedPrefix => chains
                .iter()
                .filter(|other| other != &chain)
                .map(|other| common_prefix(chain, other))
                .max()
                .unwrap_or(0),
        })
        .collect();
    let base_of = |i: usize| -> Option<Base> {
        let n = lengths[i];
        let layers = &tags[i].layers[..n];
        let top = layers.last()?;
        let names = candidates
            .iter()
            .filter(|c| c.layers.len() == n && is_prefix(&c.layers, &chains[i]))
            .map(|c| c.reference.clone())
            .collect();
        Some(Base {
            names,
            top_layer: top.0.clone(),
            layers: n,
            bytes: layers.iter().fold(0u64, |a, (_, s)| a.saturating_add(*s)),
        })
    };
    let based: Vec<usize> = (0..tags.len()).filter(|&i| lengths[i] > 0).collect();
    let newest = based.iter().map(|&i| tags[i].created).max().flatten();
    // Base chains of the newest tags, as (tag index, length), one per distinct chain.
    let mut current: Vec<(usize, usize)> = Vec::new();
    for &i in &based {
        if tags[i].created == newest
            && !current
                .iter()
                .any(|&(j, n)| n == lengths[i] && chains[j][..n] == chains[i][..n])
        {
            current.push((i, lengths[i]));
        }
    }
    let on_current = |i: usize| {
        current
            .iter()
            .any(|&(j, n)| chains[i].len() >= n && chains[i][..n] == chains[j][..n])
    };
    let rows = (0..tags.len())
        .map(|i| {
            let base = base_of(i);
            let status = match &base {
                None => BaseStatus::NoSharedBase,
                Some(_) if on_current(i) => BaseStatus::Current,
                Some(_) => BaseStatus::OldBase,
            };
            let newer_on_current_base = if status == BaseStatus::OldBase {
                based
                    .iter()
                    .filter(|&&j| is_newer(tags[j].created, tags[i].created) && on_current(j))
                    .count()
            } else {
                0
            };
            TagBase {
                tag: tags[i].tag.clone(),
                digest: tags[i].digest.clone(),
                created: tags[i].created,
                base,
                status,
                newer_on_current_base,
            }
        })
        .collect();
    let current_bases = current
        .iter()
        .filter_map(|&(i, _)| base_of(i))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    Drift {
        rule,
        current_bases,
        tags: rows,
    }
}

fn is_newer(a: Option<Timestamp>, b: Option<Timestamp>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a > b,
        (Some(_), None) => true,
        _ => false,
    }
}

fn is_prefix<A: std::borrow::Borrow<Digest>, B: std::borrow::Borrow<Digest>>(
    prefix: &[A],
    chain: &[B],
) -> bool {
    prefix.len() <= chain.len()
        && prefix
            .iter()
            .zip(chain)
            .all(|(a, b)| a.borrow() == b.borrow())
}

fn common_prefix(a: &[&Digest], b: &[&Digest]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

impl PartialOrd for Base {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Base {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (&self.top_layer, self.layers, &self.names).cmp(&(
            &other.top_layer,
            other.layers,
            &other.names,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(n: u8) -> Digest {
        Digest::sha256_of(&[n])
    }

    fn tag(name: &str, layers: &[u8], day: Option<i64>) -> TagChain {
        TagChain {
            tag: name.into(),
            digest: Digest::sha256_of(name.as_bytes()),
            layers: layers.iter().map(|&n| (d(n), u64::from(n) * 10)).collect(),
            created: day
                .map(|day| Timestamp::from_second(1_700_000_000 + day * 86_400).expect("a time")),
        }
    }

    fn statuses(drift: &Drift) -> Vec<(&str, BaseStatus, usize, usize)> {
        drift
            .tags
            .iter()
            .map(|t| {
                (
                    t.tag.as_str(),
                    t.status,
                    t.base.as_ref().map_or(0, |b| b.layers),
                    t.newer_on_current_base,
                )
            })
            .collect()
    }

    // Layer 1 is shared by both bases (the distribution's), 2 is the old base's update
    // layer, 3 the new one's; 10+ are application layers.
    fn repository() -> Vec<TagChain> {
        vec![
            tag("1.0", &[1, 2, 10], Some(1)),
            tag("1.1", &[1, 2, 11], Some(2)),
            tag("2.0", &[1, 3, 12], Some(3)),
            tag("1.2", &[1, 2, 13], Some(4)),
            tag("2.1", &[1, 3, 14], Some(5)),
            tag("latest", &[1, 3, 14], Some(5)),
            tag("scratch", &[20], Some(6)),
            tag("undated", &[1, 2, 15], None),
        ]
    }

    #[test]
    fn inferred_bases_find_the_tags_left_on_the_old_base() {
        let drift = drift(&repository(), &[]);
        assert_eq!(drift.rule, BaseRule::SharedPrefix);
        use BaseStatus::*;
        assert_eq!(
            statuses(&drift),
            [
                ("1.0", OldBase, 2, 3), // 2.0, 2.1, latest
                ("1.1", OldBase, 2, 3),
                ("2.0", Current, 2, 0),
                ("1.2", OldBase, 2, 2), // 2.1, latest
                // latest is 2.1's alias: their shared chain is not a base.
                ("2.1", Current, 2, 0),
                ("latest", Current, 2, 0),
                // The newest tag shares nothing: it decides nothing.
                ("scratch", NoSharedBase, 0, 0),
                ("undated", OldBase, 2, 3),
            ]
        );
        assert_eq!(drift.current_bases.len(), 1);
        let current = &drift.current_bases[0];
        assert_eq!((current.top_layer.clone(), current.layers), (d(3), 2));
        assert_eq!(current.bytes, 10 + 30);
        assert!(current.names.is_empty());
        let old: Vec<&str> = drift.old().map(|t| t.tag.as_str()).collect();
        assert_eq!(old, ["1.0", "1.1", "1.2", "undated"]);
    }

    #[test]
    fn candidates_name_the_bases_by_longest_prefix() {
        let candidates = vec![
            Candidate {
                reference: "debian:12".into(),
                layers: vec![d(1)],
            },
            Candidate {
                reference: "base:old".into(),
                layers: vec![d(1), d(2)],
            },
            Candidate {
                reference: "base:new".into(),
                layers: vec![d(1), d(3)],
            },
            Candidate {
                reference: "base:latest".into(),
                layers: vec![d(1), d(3)],
            },
        ];
        let tags = vec![
            tag("1.0", &[1, 2, 10], Some(1)),
            tag("2.0", &[1, 3, 12], Some(3)),
            tag("plain", &[1, 16], Some(2)),
            tag("scratch", &[20], Some(6)),
        ];
        let drift = drift(&tags, &candidates);
        assert_eq!(drift.rule, BaseRule::Candidates);
        let names: Vec<Vec<String>> = drift
            .tags
            .iter()
            .map(|t| t.base.as_ref().map(|b| b.names.clone()).unwrap_or_default())
            .collect();
        assert_eq!(
            names,
            [
                vec!["base:old".to_string()],
                vec!["base:new".into(), "base:latest".into()],
                vec!["debian:12".into()],
                vec![],
            ]
        );
        use BaseStatus::*;
        assert_eq!(
            statuses(&drift),
            [
                ("1.0", OldBase, 2, 1),
                ("2.0", Current, 2, 0),
                // On debian:12 alone: its chain does not begin with base:new's.
                ("plain", OldBase, 1, 1),
                ("scratch", NoSharedBase, 0, 0),
            ]
        );
    }

    #[test]
    fn a_tag_on_an_image_over_the_current_base_is_current() {
        // 3.0 is the newest, on base [1,3]; "tools" sits on [1,3,30] (shared with tools-2),
        // which begins with the current base.
        let tags = vec![
            tag("3.0", &[1, 3, 12], Some(9)),
            tag("3.1", &[1, 3, 13], Some(8)),
            tag("tools", &[1, 3, 30, 31], Some(1)),
            tag("tools-2", &[1, 3, 30, 32], Some(2)),
        ];
        let drift = drift(&tags, &[]);
        assert!(drift.tags.iter().all(|t| t.status == BaseStatus::Current));
        assert_eq!(drift.tags[2].base.as_ref().map(|b| b.layers), Some(3));
    }

    #[test]
    fn no_dates_make_every_based_tag_current() {
        let tags = vec![
            tag("a", &[1, 2, 10], None),
            tag("b", &[1, 2, 11], None),
            tag("c", &[1, 3, 12], None),
            tag("d", &[1, 3, 13], None),
        ];
        let drift = drift(&tags, &[]);
        assert!(drift.tags.iter().all(|t| t.status == BaseStatus::Current));
        assert_eq!(drift.current_bases.len(), 2);
    }
}
