//! Asking a registry destination for the blobs of a plan made to be applied
//! ([`BlobAsking::OnApply`](super::plan::BlobAsking)): one mount into the repository from
//! itself per blob, `POST /v2/R/blobs/uploads/?mount=D&from=R`, where a dry run sends a HEAD
//! and the copy then a POST to start the upload. Distribution answers 201 when the
//! repository has the blob (nothing to do) and otherwise 202 with the upload session the
//! bytes then go into, whether the blob is nowhere in the registry or stored for other
//! repositories only. A registry that answers otherwise stays correct: 202 without a usable
//! session means a fresh upload, a 201 naming another digest or any error falls back to a
//! HEAD. A mount from another destination repository known to get the blob stays a mount.
//!
//! [`BlobAsking::WhilePlanning`](super::plan::BlobAsking) sends the same questions through
//! [`ask_blob`] while the plan is made, each as soon as the manifest needing the blob is read.
//!
//! This opens upload sessions, so only a copy that is being applied asks this way; the
//! sessions of blobs that are then not sent are left to the registry's purge of abandoned
//! uploads, as those of a copy killed half-way are.

use futures::{StreamExt, TryStreamExt};

use super::plan::{BlobAction, CopyPlan, Ends, PlanError};
use crate::registry::{Digest, MountAnswer, RegistryError, RepoName, UploadSession};

/// What the destination said of one blob of one repository.
#[derive(Debug)]
pub enum Asked {
    /// The repository has it.
    Present,
    /// It does not: send the bytes, into this session when the registry opened one.
    Missing(Option<UploadSession>),
}

/// Asks the destination whether `repo` has blob `digest`: a mount from `repo` itself, a HEAD
/// when that gives no clear answer.
pub async fn ask_blob(
    ends: &Ends<'_>,
    repo: &RepoName,
    digest: &Digest,
) -> Result<Asked, RegistryError> {
    match ends.destination.mount(repo, digest, repo).await {
        Ok(MountAnswer::Mounted) => Ok(Asked::Present),
        Ok(MountAnswer::Declined(session)) => Ok(Asked::Missing(session)),
        Err(e) => {
            tracing::debug!(error = %e, %repo, %digest, "a mount from the repository itself failed; asking with HEAD");
            if ends.destination.has_blob(repo, digest).await? {
                Ok(Asked::Present)
            } else {
                Ok(Asked::Missing(None))
            }
        }
    }
}

/// Asks the destination for every [`BlobAction::AskOnApply`] blob of `plan`, `concurrency`
/// at a time, and makes each `Present` or `Transfer` (with the upload session the answer
/// opened), then counts the totals again: the plan printed before anything moves says what
/// will move. A question that fails fails the plan, as a HEAD that fails while planning does.
pub async fn ask_blobs(
    plan: &mut CopyPlan,
    ends: &Ends<'_>,
    concurrency: usize,
) -> Result<(), PlanError> {
    let asking: Vec<_> = plan
        .blobs
        .iter()
        .enumerate()
        .filter(|(_, b)| b.action == BlobAction::AskOnApply)
        .map(|(i, b)| {
            let (repo, digest) = (b.repository.clone(), b.digest.clone());
            async move {
                ask_blob(ends, &repo, &digest)
                    .await
                    .map(|asked| (i, asked))
                    .map_err(|source| PlanError::Registry {
                        what: format!("blob {digest} in {repo} on the destination"),
                        source,
                    })
            }
        })
        .collect();
    let answers: Vec<(usize, Asked)> = futures::stream::iter(asking)
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await?;
    for (i, asked) in answers {
        let blob = &mut plan.blobs[i];
        match asked {
            Asked::Present => blob.action = BlobAction::Present,
            Asked::Missing(session) => {
                blob.action = BlobAction::Transfer;
                blob.session = session;
            }
        }
    }
    plan.recount();
    Ok(())
}

#[cfg(test)]
mod tests {
    use wiremock::matchers::{method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;
    use crate::registry::{Client, ClientOptions, CredentialSource, RegistryAddr};

    fn client(server: &MockServer) -> Client {
        let addr = RegistryAddr::parse(&server.address().to_string()).expect("an address");
        let options = ClientOptions {
            credentials: CredentialSource::Anonymous,
            ..ClientOptions::default()
        };
        Client::new(addr, options).expect("a client")
    }

    async fn ask(server: &MockServer, digest: &Digest) -> Result<Asked, RegistryError> {
        let client = client(server);
        let ends = Ends {
            source: &client,
            destination: &client,
        };
        let repo = RepoName::parse("acme/api").expect("a name");
        ask_blob(&ends, &repo, digest).await
    }

    fn self_mount(digest: &Digest) -> wiremock::MockBuilder {
        Mock::given(method("POST"))
            .and(path("/v2/acme/api/blobs/uploads/"))
            .and(query_param("mount", digest.as_str()))
            .and(query_param("from", "acme/api"))
    }

    fn head(digest: &Digest) -> wiremock::MockBuilder {
        Mock::given(method("HEAD")).and(path(format!("/v2/acme/api/blobs/{digest}")))
    }

    #[tokio::test]
    async fn a_201_naming_the_blob_says_it_is_there_and_nothing_else_is_asked() {
        let server = MockServer::start().await;
        let digest = Digest::sha256_of(b"layer");
        self_mount(&digest)
            .respond_with(
                ResponseTemplate::new(201)
                    .insert_header("Docker-Content-Digest", digest.as_str())
                    .insert_header("Location", format!("/v2/acme/api/blobs/{digest}").as_str()),
            )
            .expect(1)
            .mount(&server)
            .await;
        head(&digest)
            .respond_with(ResponseTemplate::new(200))
            .expect(0)
            .mount(&server)
            .await;
        let asked = ask(&server, &digest).await;
        assert!(matches!(asked, Ok(Asked::Present)), "{asked:?}");
    }

    #[tokio::test]
    async fn a_registry_that_ignores_the_mount_opens_an_upload_and_the_bytes_go_there() {
        let server = MockServer::start().await;
        let digest = Digest::sha256_of(b"layer");
        self_mount(&digest)
            .respond_with(
                ResponseTemplate::new(202)
                    .insert_header("Location", "/v2/acme/api/blobs/uploads/session-7"),
            )
            .mount(&server)
            .await;
        let asked = ask(&server, &digest).await;
        let Ok(Asked::Missing(Some(session))) = asked else {
            panic!("expected a missing blob with a session: {asked:?}");
        };
        assert!(session.location.path().ends_with("/session-7"));
    }

    #[tokio::test]
    async fn a_201_for_another_digest_is_not_believed_a_head_asks_instead() {
        let server = MockServer::start().await;
        let digest = Digest::sha256_of(b"layer");
        let other = Digest::sha256_of(b"another layer");
        self_mount(&digest)
            .respond_with(
                ResponseTemplate::new(201).insert_header("Docker-Content-Digest", other.as_str()),
            )
            .mount(&server)
            .await;
        head(&digest)
            .respond_with(ResponseTemplate::new(404))
            .expect(1)
            .mount(&server)
            .await;
        let asked = ask(&server, &digest).await;
        assert!(matches!(asked, Ok(Asked::Missing(None))), "{asked:?}");
    }

    #[tokio::test]
    async fn a_registry_that_refuses_mounts_is_asked_with_head() {
        for (head_status, present) in [(200, true), (404, false)] {
            let server = MockServer::start().await;
            let digest = Digest::sha256_of(b"layer");
            self_mount(&digest)
                .respond_with(ResponseTemplate::new(405))
                .mount(&server)
                .await;
            head(&digest)
                .respond_with(ResponseTemplate::new(head_status))
                .expect(1)
                .mount(&server)
                .await;
            let asked = ask(&server, &digest).await;
            match (asked, present) {
                (Ok(Asked::Present), true) | (Ok(Asked::Missing(None)), false) => {}
                (other, _) => panic!("HEAD {head_status}: {other:?}"),
            }
        }
    }
}
