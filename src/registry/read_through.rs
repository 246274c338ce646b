//! A [`Source`] in front of another that answers documents by digest from a store before
//! asking the source behind it: memory for the TUI session (`tui::documents`), disk for the
//! CLI ([`super::cache`]). Documents are immutable by digest, so a kept one is never stale;
//! a tag moves, so a manifest asked by tag always goes to the source (and is kept by the
//! digest it named). Everything else passes straight through, here once, so no layer can
//! forget to pass a method on (the trait's defaults would answer in its place: no referrers
//! API, no count of skipped names).

use std::sync::Arc;

use async_trait::async_trait;

use super::error::RegistryError;
use super::reference::{Digest, ManifestRef, RepoName, Tag};
use super::referrers::ReferrersListing;
use super::source::{FetchedManifest, ManifestHead, PageSink, Skipped, Source};

/// Where documents are kept, and how one missing is fetched from `inner`.
#[async_trait]
pub trait DocumentStore: Send + Sync {
    /// The manifest `digest` names: kept, or fetched from `inner` (and kept).
    async fn manifest(
        &self,
        inner: &dyn Source,
        repo: &RepoName,
        digest: &Digest,
    ) -> Result<FetchedManifest, RegistryError>;

    /// A manifest `inner` answered for a tag, to keep under its digest.
    async fn keep_manifest(&self, manifest: &FetchedManifest);

    /// A blob (an image config): kept, or fetched from `inner` (and kept).
    async fn blob(
        &self,
        inner: &dyn Source,
        repo: &RepoName,
        digest: &Digest,
    ) -> Result<Vec<u8>, RegistryError>;
}

/// `inner`, with its documents read through `store`.
pub struct ReadThrough<S> {
    inner: Arc<dyn Source>,
    store: S,
}

impl<S: DocumentStore> ReadThrough<S> {
    pub fn over(inner: Arc<dyn Source>, store: S) -> Self {
        Self { inner, store }
    }

    pub fn store(&self) -> &S {
        &self.store
    }
}

#[async_trait]
impl<S: DocumentStore> Source for ReadThrough<S> {
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
        self.inner.resolve(repo, reference).await
    }

    async fn manifest(
        &self,
        repo: &RepoName,
        reference: &ManifestRef,
    ) -> Result<FetchedManifest, RegistryError> {
        match reference {
            ManifestRef::Digest(digest) => {
                self.store.manifest(self.inner.as_ref(), repo, digest).await
            }
            ManifestRef::Tag(_) => {
                let fetched = self.inner.manifest(repo, reference).await?;
                self.store.keep_manifest(&fetched).await;
                Ok(fetched)
            }
        }
    }

    async fn blob(&self, repo: &RepoName, digest: &Digest) -> Result<Vec<u8>, RegistryError> {
        self.store.blob(self.inner.as_ref(), repo, digest).await
    }

    /// Never kept: the referrers of a digest change whenever something is attached to it.
    async fn referrers(
        &self,
        repo: &RepoName,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Option<ReferrersListing>, RegistryError> {
        self.inner.referrers(repo, subject, artifact_type).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A source whose listings skipped names and which has a referrers API.
    struct Listed;

    fn referrer() -> ReferrersListing {
        ReferrersListing {
            referrers: Vec::new(),
            pages: 3,
        }
    }

    fn skipped() -> Skipped {
        Skipped {
            invalid: 2,
            duplicates: 1,
        }
    }

    fn unused() -> RegistryError {
        RegistryError::Malformed {
            url: "-".into(),
            detail: "not asked in this test".into(),
        }
    }

    #[async_trait]
    impl Source for Listed {
        fn name(&self) -> String {
            "listed".into()
        }
        fn reference_prefix(&self, repo: &RepoName) -> String {
            format!("listed/{repo}")
        }
        async fn repositories(
            &self,
            _: PageSink<'_, RepoName>,
        ) -> Result<Vec<RepoName>, RegistryError> {
            Err(unused())
        }
        async fn tags(&self, _: &RepoName) -> Result<Vec<Tag>, RegistryError> {
            Err(unused())
        }
        async fn repositories_checked(
            &self,
            _: PageSink<'_, RepoName>,
        ) -> Result<(Vec<RepoName>, Skipped), RegistryError> {
            Ok((Vec::new(), skipped()))
        }
        async fn tags_checked(&self, _: &RepoName) -> Result<(Vec<Tag>, Skipped), RegistryError> {
            Ok((Vec::new(), skipped()))
        }
        async fn resolve(
            &self,
            _: &RepoName,
            _: &ManifestRef,
        ) -> Result<ManifestHead, RegistryError> {
            Err(unused())
        }
        async fn manifest(
            &self,
            _: &RepoName,
            _: &ManifestRef,
        ) -> Result<FetchedManifest, RegistryError> {
            Err(unused())
        }
        async fn blob(&self, _: &RepoName, _: &Digest) -> Result<Vec<u8>, RegistryError> {
            Err(unused())
        }
        async fn referrers(
            &self,
            _: &RepoName,
            _: &Digest,
            _: Option<&str>,
        ) -> Result<Option<ReferrersListing>, RegistryError> {
            Ok(Some(referrer()))
        }
    }

    /// Keeps nothing.
    struct Nothing;

    #[async_trait]
    impl DocumentStore for Nothing {
        async fn manifest(
            &self,
            inner: &dyn Source,
            repo: &RepoName,
            digest: &Digest,
        ) -> Result<FetchedManifest, RegistryError> {
            inner
                .manifest(repo, &ManifestRef::Digest(digest.clone()))
                .await
        }
        async fn keep_manifest(&self, _: &FetchedManifest) {}
        async fn blob(
            &self,
            inner: &dyn Source,
            repo: &RepoName,
            digest: &Digest,
        ) -> Result<Vec<u8>, RegistryError> {
            inner.blob(repo, digest).await
        }
    }

    /// What the trait's defaults would answer in the inner source's place (no skipped
    /// names, no referrers API) must not leak through a layer.
    #[tokio::test]
    async fn listings_and_referrers_pass_through() {
        let source = ReadThrough::over(Arc::new(Listed), Nothing);
        let repo = RepoName::parse("app").unwrap();
        let (_, repos) = source.repositories_checked(&|_| {}).await.unwrap();
        assert_eq!(repos, skipped());
        let (_, tags) = source.tags_checked(&repo).await.unwrap();
        assert_eq!(tags, skipped());
        let found = source
            .referrers(&repo, &Digest::sha256_of(b"s"), None)
            .await
            .unwrap();
        assert_eq!(found, Some(referrer()));
        assert_eq!(source.name(), "listed");
        assert_eq!(source.reference_prefix(&repo), "listed/app");
    }
}
