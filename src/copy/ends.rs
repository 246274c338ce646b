//! The two ends of a copy: what the planner and the executor ask of a source and of a
//! destination, so that a registry and an OCI image layout on disk are copied from and to by
//! the same code (`cp`, `export`, `import`).

use std::io;

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;

use crate::registry::{
    Client, Digest, FetchedManifest, ManifestRef, MountAnswer, RegistryAddr, RegistryError,
    RepoName, Tag, UploadSession,
};

/// A blob's bytes as they arrive.
pub type ByteStream = BoxStream<'static, Result<bytes::Bytes, io::Error>>;

/// Where images are read from.
#[async_trait]
pub trait CopySource: Send + Sync {
    /// For plans and messages (`127.0.0.1:5000`, a directory).
    fn name(&self) -> String;
    /// The registry, when the source is one (blobs may then be mounted inside it).
    fn registry(&self) -> Option<&RegistryAddr>;
    async fn tags(&self, repo: &RepoName) -> Result<Vec<Tag>, RegistryError>;
    async fn manifest(
        &self,
        repo: &RepoName,
        reference: &ManifestRef,
    ) -> Result<FetchedManifest, RegistryError>;
    /// A blob's bytes, unchecked (the executor checks them on the way); `size` is the
    /// descriptor's, which bounds how long reading may take.
    async fn open_blob(
        &self,
        repo: &RepoName,
        digest: &Digest,
        size: u64,
    ) -> Result<ByteStream, RegistryError>;
    /// The manifests whose `subject` is `digest`, from the OCI 1.1 referrers API; none where
    /// there is no such API.
    async fn referrers(
        &self,
        repo: &RepoName,
        digest: &Digest,
    ) -> Result<Vec<Digest>, RegistryError> {
        let _ = (repo, digest);
        Ok(Vec::new())
    }
}

/// What a destination says of a repository's tags, asked once for every image copied into it
/// (one request instead of a HEAD per tag).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagListing {
    /// Not listed (the destination has no cheap listing, or listing failed): each tag and
    /// manifest is asked for.
    Unlisted,
    /// The repository is unknown to the destination (`NAME_UNKNOWN`): no tag was ever set
    /// there. Blobs may still be (a copy killed before its first tag): they are asked for.
    NoRepository,
    Tags(Vec<Tag>),
}

/// Where images are written.
#[async_trait]
pub trait CopyDestination: Send + Sync {
    fn name(&self) -> String;
    fn registry(&self) -> Option<&RegistryAddr>;
    /// Whether one copy of a blob serves every repository (a layout's `blobs/`): a blob is
    /// then asked for and written once, whatever repository needs it.
    fn shares_blobs(&self) -> bool;
    async fn has_manifest(&self, repo: &RepoName, digest: &Digest) -> Result<bool, RegistryError>;
    /// The digest `tag` points at, `None` when there is no such tag.
    async fn tag_digest(&self, repo: &RepoName, tag: &Tag)
    -> Result<Option<Digest>, RegistryError>;
    /// The tags of `repo`, when the destination lists them cheaply; never an error (an
    /// answer it cannot give is [`TagListing::Unlisted`]).
    async fn tag_listing(&self, repo: &RepoName) -> TagListing {
        let _ = repo;
        TagListing::Unlisted
    }
    async fn has_blob(&self, repo: &RepoName, digest: &Digest) -> Result<bool, RegistryError>;
    /// A cross-repository mount; when declined the bytes are sent, into the upload session
    /// the destination opened instead if it did.
    async fn mount(
        &self,
        repo: &RepoName,
        digest: &Digest,
        from: &RepoName,
    ) -> Result<MountAnswer, RegistryError>;
    /// Writes a blob from `body`, which ends in an error instead of its last chunk when the
    /// bytes are wrong: nothing may be completed under `digest` then. `size` is the
    /// descriptor's; `session` one a declined mount opened.
    async fn write_blob(
        &self,
        repo: &RepoName,
        digest: &Digest,
        size: u64,
        body: ByteStream,
        session: Option<UploadSession>,
    ) -> Result<(), RegistryError>;
    /// Stores a manifest under its digest, or points `tag` at it.
    async fn put_manifest(
        &self,
        repo: &RepoName,
        reference: &ManifestRef,
        media_type: &str,
        bytes: Vec<u8>,
    ) -> Result<(), RegistryError>;
}

fn found(result: Result<bool, RegistryError>) -> Result<bool, RegistryError> {
    match result {
        Err(RegistryError::NotFound { .. }) => Ok(false),
        other => other,
    }
}

#[async_trait]
impl CopySource for Client {
    fn name(&self) -> String {
        self.registry().host.clone()
    }

    fn registry(&self) -> Option<&RegistryAddr> {
        Some(Client::registry(self))
    }

    async fn tags(&self, repo: &RepoName) -> Result<Vec<Tag>, RegistryError> {
        Client::tags(self, repo).await
    }

    async fn manifest(
        &self,
        repo: &RepoName,
        reference: &ManifestRef,
    ) -> Result<FetchedManifest, RegistryError> {
        self.get_manifest(repo, reference).await
    }

    async fn open_blob(
        &self,
        repo: &RepoName,
        digest: &Digest,
        size: u64,
    ) -> Result<ByteStream, RegistryError> {
        let chunks = Client::open_blob(self, repo, digest, size).await?;
        Ok(chunks.map(|c| c.map_err(io::Error::other)).boxed())
    }

    async fn referrers(
        &self,
        repo: &RepoName,
        digest: &Digest,
    ) -> Result<Vec<Digest>, RegistryError> {
        Ok(Client::referrers(self, repo, digest, None)
            .await?
            .map(|listing| listing.referrers.into_iter().map(|r| r.digest).collect())
            .unwrap_or_default())
    }
}

#[async_trait]
impl CopyDestination for Client {
    fn name(&self) -> String {
        self.registry().host.clone()
    }

    fn registry(&self) -> Option<&RegistryAddr> {
        Some(Client::registry(self))
    }

    fn shares_blobs(&self) -> bool {
        false
    }

    async fn has_manifest(&self, repo: &RepoName, digest: &Digest) -> Result<bool, RegistryError> {
        found(
            self.head_manifest(repo, &ManifestRef::Digest(digest.clone()))
                .await
                .map(|_| true),
        )
    }

    async fn tag_digest(
        &self,
        repo: &RepoName,
        tag: &Tag,
    ) -> Result<Option<Digest>, RegistryError> {
        match self
            .head_manifest(repo, &ManifestRef::Tag(tag.clone()))
            .await
        {
            Ok(head) => Ok(Some(head.digest)),
            Err(RegistryError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn tag_listing(&self, repo: &RepoName) -> TagListing {
        match self.tags(repo).await {
            Ok(tags) => TagListing::Tags(tags),
            Err(RegistryError::NotFound { .. }) => TagListing::NoRepository,
            Err(e) => {
                tracing::debug!(error = %e, %repo, "listing tags failed; asking for each");
                TagListing::Unlisted
            }
        }
    }

    async fn has_blob(&self, repo: &RepoName, digest: &Digest) -> Result<bool, RegistryError> {
        found(self.head_blob(repo, digest).await.map(|_| true))
    }

    async fn mount(
        &self,
        repo: &RepoName,
        digest: &Digest,
        from: &RepoName,
    ) -> Result<MountAnswer, RegistryError> {
        self.mount_blob(repo, digest, from).await
    }

    async fn write_blob(
        &self,
        repo: &RepoName,
        digest: &Digest,
        size: u64,
        body: ByteStream,
        session: Option<UploadSession>,
    ) -> Result<(), RegistryError> {
        self.upload_blob_stream(repo, digest, size, body, session)
            .await
    }

    async fn put_manifest(
        &self,
        repo: &RepoName,
        reference: &ManifestRef,
        media_type: &str,
        bytes: Vec<u8>,
    ) -> Result<(), RegistryError> {
        Client::put_manifest(self, repo, reference, media_type, bytes)
            .await
            .map(|_| ())
    }
}
