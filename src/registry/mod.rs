//! The shared OCI Distribution client. It knows nothing of any front end: the TUI, the CLI
//! and the analysis all read registries through it (or through [`Source`]).

mod auth;
mod blobs;
pub mod cache;
pub mod certs_d;
pub mod challenge;
mod client;
pub mod credentials;
pub mod error;
pub mod grants;
pub mod image;
mod listing;
pub mod manifest;
mod manifests;
pub mod pagination;
pub mod probe;
pub mod ratelimit;
pub mod read_through;
pub mod reference;
pub mod referrers;
pub mod resume;
pub mod source;
pub mod tls;
pub mod upload;
pub mod vendor;

use async_trait::async_trait;

pub use blobs::{MountAnswer, UploadSession};
pub use client::{
    Client, ClientOptions, MAX_DOCUMENT_BYTES, MAX_PAGE_SIZE, RequestCounters, RequestKind,
    install_crypto_provider,
};
pub use credentials::{CredentialSource, Credentials, Secret};
pub use error::RegistryError;
pub use grants::{Actions, Grants};
pub use manifest::{Descriptor, ImageConfig, ImageIndex, ImageManifest, Manifest, Platform};
pub use ratelimit::RateBudget;
pub use reference::{Digest, ManifestRef, Reference, RegistryAddr, RepoName, Scheme, Tag};
pub use resume::BlobStream;
pub use source::{FetchedManifest, ManifestHead, PageSink, Skipped, Source};

#[async_trait]
impl Source for Client {
    fn name(&self) -> String {
        self.registry().host.clone()
    }

    fn reference_prefix(&self, repo: &RepoName) -> String {
        format!("{}/{}", self.registry().host, repo)
    }

    async fn ping(&self) -> Result<(), RegistryError> {
        Client::ping(self).await
    }

    async fn repositories(
        &self,
        on_page: PageSink<'_, RepoName>,
    ) -> Result<Vec<RepoName>, RegistryError> {
        self.catalog(on_page).await
    }

    async fn tags(&self, repo: &RepoName) -> Result<Vec<Tag>, RegistryError> {
        Client::tags(self, repo).await
    }

    async fn repositories_checked(
        &self,
        on_page: PageSink<'_, RepoName>,
    ) -> Result<(Vec<RepoName>, Skipped), RegistryError> {
        self.catalog_checked(on_page).await
    }

    async fn tags_checked(&self, repo: &RepoName) -> Result<(Vec<Tag>, Skipped), RegistryError> {
        Client::tags_checked(self, repo).await
    }

    async fn resolve(
        &self,
        repo: &RepoName,
        reference: &ManifestRef,
    ) -> Result<ManifestHead, RegistryError> {
        self.head_manifest(repo, reference).await
    }

    async fn manifest(
        &self,
        repo: &RepoName,
        reference: &ManifestRef,
    ) -> Result<FetchedManifest, RegistryError> {
        self.get_manifest(repo, reference).await
    }

    async fn blob(&self, repo: &RepoName, digest: &Digest) -> Result<Vec<u8>, RegistryError> {
        self.get_blob(repo, digest).await
    }

    async fn referrers(
        &self,
        repo: &RepoName,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Option<referrers::ReferrersListing>, RegistryError> {
        Client::referrers(self, repo, subject, artifact_type).await
    }
}
