//! Which manifests of a repository are attached to which, read from the scanned model alone
//! (no request): the referrers a registry without the OCI 1.1 API writes down in tags.
//!
//! In one repository, a manifest R is a referrer of a subject S when
//! - a cosign tag `sha256-<hex of S>.sig` / `.att` / `.sbom` points at R;
//! - the referrers fallback tag `sha256-<hex of S>` points at an index listing R (the index is
//!   bookkeeping of S: it goes when S goes);
//! - R carries `subject: S` and is reachable from a tag (tagged itself, or listed by an index).
//!
//! A tag that points at S itself (some registries resolve `sha256-<hex>` to the subject) is
//! not a referrer. Referrers can have referrers (a signature of an SBOM): [`Attachments::
//! transitive`] follows them, cutting cycles.
//!
//! Pure: the same model gives the same answer in the TUI and the CLI.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::model::{ManifestBody, StorageModel};
use super::referrers::FoundVia;
use crate::registry::referrers::{SchemeTag, scheme_of};
use crate::registry::{Digest, RepoName, Tag};

/// A referrers fallback index: the tag `sha256-<hex>` of subject `<alg>:<hex>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FallbackIndex {
    pub tag: Tag,
    pub subject: Digest,
    /// The index the tag points at.
    pub index: Digest,
    /// Referrers it lists.
    pub listed: Vec<Digest>,
    /// Listed referrers the scan could not find in the repository (read failures or manifests
    /// the registry no longer has): OCI 1.1 asks clients to keep the index true.
    pub missing: Vec<Digest>,
}

/// The attachments of one repository.
#[derive(Debug, Clone, Default)]
pub struct Attachments {
    /// Subject -> its direct referrers, each with every place it was found.
    by_subject: BTreeMap<Digest, BTreeMap<Digest, BTreeSet<FoundVia>>>,
    /// Referrer -> the subjects it is attached to (normally one).
    subjects_of: BTreeMap<Digest, BTreeSet<Digest>>,
    /// Tags that are bookkeeping rather than images: referrer-scheme tags (fallback indexes,
    /// cosign's tags) and tags on a manifest that names a subject.
    attached_tags: BTreeSet<Tag>,
    fallback: Vec<FallbackIndex>,
}

impl Attachments {
    /// Reads the attachments of `repo` from the model.
    pub fn of_repo(model: &StorageModel, repo: &RepoName) -> Self {
        let mut out = Attachments::default();
        let Some(entry) = model.repos.get(repo) else {
            return out;
        };
        for (tag, digest) in &entry.tags {
            let Some(digest) = digest else {
                // Unresolved: a scheme tag is still bookkeeping by its name.
                if scheme_of(tag).is_some() {
                    out.attached_tags.insert(tag.clone());
                }
                continue;
            };
            match scheme_of(tag) {
                Some(scheme) if scheme.subject() == digest => {
                    // The registry resolved the scheme tag to the subject itself: not a
                    // referrer, and not bookkeeping either.
                }
                Some(SchemeTag::Fallback(subject)) => {
                    out.attached_tags.insert(tag.clone());
                    let listed = match model.manifests.get(digest).map(|m| &m.body) {
                        Some(ManifestBody::Index { children }) => children.clone(),
                        _ => Vec::new(),
                    };
                    let missing: Vec<Digest> = listed
                        .iter()
                        .filter(|c| !model.manifests.contains_key(*c))
                        .cloned()
                        .collect();
                    for child in listed.iter().filter(|c| model.manifests.contains_key(*c)) {
                        out.add(
                            &subject,
                            child,
                            FoundVia::FallbackIndex { tag: tag.clone() },
                        );
                    }
                    out.fallback.push(FallbackIndex {
                        tag: tag.clone(),
                        subject,
                        index: digest.clone(),
                        listed,
                        missing,
                    });
                }
                Some(SchemeTag::Cosign { subject, .. }) => {
                    out.attached_tags.insert(tag.clone());
                    out.add(&subject, digest, FoundVia::CosignTag { tag: tag.clone() });
                }
                None => {}
            }
        }
        // Manifests naming a subject, wherever a tag reaches them (tagged, or in an index).
        for (tag, digest) in model.tag_digests(repo) {
            for d in known_revisions(model, digest) {
                let Some(subject) = model.manifests.get(&d).and_then(|m| m.subject.clone()) else {
                    continue;
                };
                if subject == d {
                    continue;
                }
                if &d == digest {
                    out.attached_tags.insert(tag.clone());
                }
                out.add(&subject, &d, FoundVia::SubjectField { tag: tag.clone() });
            }
        }
        out
    }

    fn add(&mut self, subject: &Digest, referrer: &Digest, via: FoundVia) {
        if subject == referrer {
            return;
        }
        self.by_subject
            .entry(subject.clone())
            .or_default()
            .entry(referrer.clone())
            .or_default()
            .insert(via);
        self.subjects_of
            .entry(referrer.clone())
            .or_default()
            .insert(subject.clone());
    }

    /// Whether nothing in the repository is attached to anything.
    pub fn is_empty(&self) -> bool {
        self.by_subject.is_empty() && self.fallback.is_empty()
    }

    /// The direct referrers of `subject`, each with where it was found.
    pub fn direct(&self, subject: &Digest) -> impl Iterator<Item = (&Digest, &BTreeSet<FoundVia>)> {
        self.by_subject.get(subject).into_iter().flatten()
    }

    /// Every referrer of `subject`, transitively (referrers of referrers), nearest first;
    /// each once, `subject` itself never.
    pub fn transitive(&self, subject: &Digest) -> Vec<Digest> {
        let mut seen = BTreeSet::from([subject.clone()]);
        let mut out = Vec::new();
        let mut queue = VecDeque::from([subject.clone()]);
        while let Some(s) = queue.pop_front() {
            for (r, _) in self.direct(&s) {
                if seen.insert(r.clone()) {
                    out.push(r.clone());
                    queue.push_back(r.clone());
                }
            }
        }
        out
    }

    /// The subjects `referrer` is attached to.
    pub fn subjects_of(&self, referrer: &Digest) -> impl Iterator<Item = &Digest> {
        self.subjects_of.get(referrer).into_iter().flatten()
    }

    /// Whether `digest` is attached to something in this repository.
    pub fn is_referrer(&self, digest: &Digest) -> bool {
        self.subjects_of.contains_key(digest)
    }

    /// Whether `tag` is bookkeeping (a referrer-scheme tag, or a tag on an attached
    /// manifest) rather than an image people pushed.
    pub fn is_attached_tag(&self, tag: &Tag) -> bool {
        self.attached_tags.contains(tag)
    }

    /// The bookkeeping tags, in order.
    pub fn attached_tags(&self) -> impl Iterator<Item = &Tag> {
        self.attached_tags.iter()
    }

    /// The referrers fallback indexes of the repository.
    pub fn fallback_indexes(&self) -> &[FallbackIndex] {
        &self.fallback
    }

    /// The fallback index of `subject`, if the repository has one.
    pub fn fallback_of(&self, subject: &Digest) -> Option<&FallbackIndex> {
        self.fallback.iter().find(|f| &f.subject == subject)
    }

    /// Subjects that referrers name but the scan did not see in the repository. Each may be
    /// an orphan's subject, or an untagged manifest the registry still has: only asking the
    /// registry (a HEAD by digest) tells.
    pub fn unseen_subjects(&self, model: &StorageModel) -> Vec<Digest> {
        self.by_subject
            .keys()
            .filter(|s| !model.manifests.contains_key(*s))
            .cloned()
            .collect()
    }
}

/// The manifests a tag reaches that the model knows: itself and, for an index, its known
/// children (recursively); a child the scan never saw is left out, not the whole tag.
fn known_revisions(model: &StorageModel, digest: &Digest) -> BTreeSet<Digest> {
    let mut out = BTreeSet::new();
    let mut stack = vec![digest.clone()];
    while let Some(d) = stack.pop() {
        let Some(info) = model.manifests.get(&d) else {
            continue;
        };
        if !out.insert(d) {
            continue;
        }
        if let ManifestBody::Index { children } = &info.body {
            stack.extend(children.iter().cloned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::model::testing;

    fn d(n: u8) -> Digest {
        testing::digest(n)
    }

    fn repo() -> RepoName {
        RepoName::parse("acme/api").expect("repo")
    }

    fn tag(s: &str) -> Tag {
        Tag::parse(s).expect("tag")
    }

    fn image(model: &mut StorageModel, digest: Digest, subject: Option<Digest>) {
        testing::image(model, digest, 10, vec![], subject);
    }

    fn index(model: &mut StorageModel, digest: Digest, children: Vec<Digest>) {
        testing::index(model, digest, 10, children);
    }

    fn tagged(model: &mut StorageModel, t: &str, digest: Digest) {
        testing::tagged(model, "acme/api", t, digest);
    }

    fn scheme(subject: &Digest, suffix: &str) -> String {
        format!("sha256-{}{suffix}", subject.hex())
    }

    #[test]
    fn all_three_tag_sources_and_transitive_referrers_are_found() {
        let mut m = StorageModel::default();
        let subject = d(1);
        image(&mut m, subject.clone(), None);
        tagged(&mut m, "v1", subject.clone());
        // cosign signature by tag
        image(&mut m, d(2), None);
        tagged(&mut m, &scheme(&subject, ".sig"), d(2));
        // SBOM through the fallback index, with a subject field
        image(&mut m, d(3), Some(subject.clone()));
        index(&mut m, d(4), vec![d(3), d(9)]);
        tagged(&mut m, &scheme(&subject, ""), d(4));
        // a signature of the SBOM, through the SBOM's fallback index
        image(&mut m, d(5), Some(d(3)));
        index(&mut m, d(6), vec![d(5)]);
        tagged(&mut m, &scheme(&d(3), ""), d(6));

        let a = Attachments::of_repo(&m, &repo());
        assert_eq!(a.transitive(&subject), vec![d(2), d(3), d(5)]);
        assert!(a.is_referrer(&d(5)));
        assert!(!a.is_referrer(&subject));
        assert!(a.is_attached_tag(&tag(&scheme(&subject, ".sig"))));
        assert!(a.is_attached_tag(&tag(&scheme(&subject, ""))));
        assert!(!a.is_attached_tag(&tag("v1")));
        let sbom_via: Vec<_> = a
            .direct(&subject)
            .find(|(r, _)| **r == d(3))
            .map(|(_, via)| via.iter().cloned().collect())
            .unwrap_or_default();
        assert_eq!(
            sbom_via.len(),
            2,
            "fallback index and subject field: {sbom_via:?}"
        );
        let f = a.fallback_of(&subject).expect("fallback index");
        assert_eq!(f.index, d(4));
        assert_eq!(
            f.missing,
            vec![d(9)],
            "the listed manifest the scan never saw"
        );
    }

    #[test]
    fn a_scheme_tag_resolving_to_the_subject_is_no_referrer() {
        let mut m = StorageModel::default();
        image(&mut m, d(1), None);
        tagged(&mut m, "v1", d(1));
        tagged(&mut m, &scheme(&d(1), ""), d(1));
        let a = Attachments::of_repo(&m, &repo());
        assert!(a.transitive(&d(1)).is_empty());
        assert!(!a.is_attached_tag(&tag(&scheme(&d(1), ""))));
    }

    #[test]
    fn referrers_of_a_missing_subject_are_named_and_cycles_end() {
        let mut m = StorageModel::default();
        // a signature whose subject is gone
        image(&mut m, d(2), None);
        tagged(&mut m, &scheme(&d(7), ".sig"), d(2));
        // two manifests naming each other
        image(&mut m, d(3), Some(d(4)));
        image(&mut m, d(4), Some(d(3)));
        tagged(&mut m, "a", d(3));
        tagged(&mut m, "b", d(4));
        let a = Attachments::of_repo(&m, &repo());
        assert_eq!(a.unseen_subjects(&m), vec![d(7)]);
        assert_eq!(a.transitive(&d(3)), vec![d(4)]);
    }
}
