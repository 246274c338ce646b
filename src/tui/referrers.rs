//! The referrers of one manifest for the TUI's referrers view: the CLI's own discovery
//! ([`crate::referrers::discover`]) and tree ([`build_tree`]), run by a worker over the
//! session's read-through documents, so both front ends show the same tree from the same
//! code.
//!
//! The scan already resolved every tag of the repository and read every manifest they
//! reach. Discovery is given those tags, and reads them through [`ScannedTags`], which
//! answers a tag with the digest the scan found and reads that digest through the
//! documents: a referrer the scan read is not asked for again, and no tag is resolved again.
//! What is left for the registry is its referrers API, asked once (Distribution 2.8 answers
//! 404), and any manifest the scan did not read (a referrer no tag reaches).

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;

use crate::analysis::referrers::{ReferrerTree, build_tree};
use crate::referrers::{DiscoveryFailure, DiscoveryOptions, FallbackIndex, discover};
use crate::registry::referrers::ReferrersListing;
use crate::registry::{
    Digest, FetchedManifest, ManifestHead, ManifestRef, PageSink, RegistryError, RepoName, Skipped,
    Source, Tag,
};

/// What the referrers view shows: the tree, and what discovery could not read.
#[derive(Debug, Clone)]
pub struct ReferrersFound {
    pub tree: ReferrerTree,
    pub fallback_indexes: Vec<FallbackIndex>,
    pub failures: Vec<DiscoveryFailure>,
}

/// `inner`, with the tags of one repository answered from the digests the scan resolved
/// (read by digest, so through the documents the scan filled).
pub struct ScannedTags {
    inner: Arc<dyn Source>,
    repo: RepoName,
    digests: HashMap<Tag, Digest>,
}

impl ScannedTags {
    pub fn new(inner: Arc<dyn Source>, repo: RepoName, tags: &[(Tag, Digest)]) -> Self {
        Self {
            inner,
            repo,
            digests: tags.iter().cloned().collect(),
        }
    }

    /// The digest the scan resolved `reference` to, when it is a tag of our repository.
    fn scanned(&self, repo: &RepoName, reference: &ManifestRef) -> Option<ManifestRef> {
        match reference {
            ManifestRef::Tag(tag) if *repo == self.repo => {
                Some(ManifestRef::Digest(self.digests.get(tag)?.clone()))
            }
            _ => None,
        }
    }
}

#[async_trait]
impl Source for ScannedTags {
    fn name(&self) -> String {
        self.inner.name()
    }

    fn reference_prefix(&self, repo: &RepoName) -> String {
        self.inner.reference_prefix(repo)
    }

    async fn ping(&self) -> Result<(), RegistryError> {
        self.inner.ping().await
    }

    async fn repositories(
        &self,
        on_page: PageSink<'_, RepoName>,
    ) -> Result<Vec<RepoName>, RegistryError> {
        self.inner.repositories(on_page).await
    }

    async fn tags(&self, repo: &RepoName) -> Result<Vec<Tag>, RegistryError> {
        self.inner.tags(repo).await
    }

    async fn repositories_checked(
        &self,
        on_page: PageSink<'_, RepoName>,
    ) -> Result<(Vec<RepoName>, Skipped), RegistryError> {
        self.inner.repositories_checked(on_page).await
    }

    async fn tags_checked(&self, repo: &RepoName) -> Result<(Vec<Tag>, Skipped), RegistryError> {
        self.inner.tags_checked(repo).await
    }

    async fn resolve(
        &self,
        repo: &RepoName,
        reference: &ManifestRef,
    ) -> Result<ManifestHead, RegistryError> {
        match self.scanned(repo, reference) {
            // The documents hold the manifest the scan read: its head costs no request.
            Some(by_digest) => {
                let m = self.inner.manifest(repo, &by_digest).await?;
                Ok(ManifestHead {
                    digest: m.digest,
                    media_type: m.media_type,
                    size: m.bytes.len() as u64,
                })
            }
            None => self.inner.resolve(repo, reference).await,
        }
    }

    async fn manifest(
        &self,
        repo: &RepoName,
        reference: &ManifestRef,
    ) -> Result<FetchedManifest, RegistryError> {
        match self.scanned(repo, reference) {
            Some(by_digest) => self.inner.manifest(repo, &by_digest).await,
            None => self.inner.manifest(repo, reference).await,
        }
    }

    async fn blob(&self, repo: &RepoName, digest: &Digest) -> Result<Vec<u8>, RegistryError> {
        self.inner.blob(repo, digest).await
    }

    async fn referrers(
        &self,
        repo: &RepoName,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Option<ReferrersListing>, RegistryError> {
        self.inner.referrers(repo, subject, artifact_type).await
    }
}

/// The referrers tree of `subject` in `repo`. `tags` are the repository's tags as the scan
/// resolved them (`None` when it has not listed them: discovery lists them then).
pub async fn find_referrers(
    source: Arc<dyn Source>,
    repo: &RepoName,
    subject: &Digest,
    tags: Option<&[(Tag, Digest)]>,
    also_in: &[RepoName],
) -> Result<ReferrersFound, RegistryError> {
    let options = DiscoveryOptions {
        other_repositories: also_in.to_vec(),
        ..DiscoveryOptions::default()
    };
    let found = match tags {
        Some(tags) => {
            let names: Vec<Tag> = tags.iter().map(|(t, _)| t.clone()).collect();
            let scanned = ScannedTags::new(source, repo.clone(), tags);
            discover(&scanned, repo, subject, Some(&names), &options).await?
        }
        None => discover(source.as_ref(), repo, subject, None, &options).await?,
    };
    Ok(ReferrersFound {
        tree: build_tree(repo, subject, &found.facts),
        fallback_indexes: found.fallback_indexes,
        failures: found.failures,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::documents::Documents;
    use crate::tui::fixtures;

    #[tokio::test]
    async fn the_tree_is_the_clis_and_the_scanned_tags_cost_no_fetch_again() {
        let source = Arc::new(fixtures::attached());
        let documents: Arc<dyn Source> = Arc::new(Documents::new(source.clone()));
        let repo = RepoName::parse("acme/app").unwrap();
        let v1 = documents
            .resolve(&repo, &ManifestRef::Tag(Tag::parse("v1").unwrap()))
            .await
            .unwrap()
            .digest;
        // The CLI's way: no scan, discovery lists and reads everything itself.
        let cli = find_referrers(documents.clone(), &repo, &v1, None, &[])
            .await
            .unwrap();
        assert_eq!(cli.tree.count, 3, "{:#?}", cli.tree);
        let labels: Vec<&str> = cli
            .tree
            .referrers
            .iter()
            .map(|n| n.label.as_str())
            .collect();
        assert_eq!(labels, ["SBOM (SPDX)", "cosign signature"]);
        assert_eq!(
            cli.tree.referrers[0].referrers[0].label,
            "Notation signature"
        );

        // The TUI's way, after a scan: the same tree, and nothing fetched again.
        let mut tags = Vec::new();
        for tag in documents.tags(&repo).await.unwrap() {
            let head = documents
                .resolve(&repo, &ManifestRef::Tag(tag.clone()))
                .await
                .unwrap();
            documents
                .manifest(&repo, &ManifestRef::Digest(head.digest.clone()))
                .await
                .unwrap();
            tags.push((tag, head.digest));
        }
        let before = source.fetches();
        let tui = find_referrers(documents, &repo, &v1, Some(&tags), &[])
            .await
            .unwrap();
        assert_eq!(tui.tree, cli.tree);
        assert_eq!(source.fetches(), before, "every document came from memory");
    }
}
