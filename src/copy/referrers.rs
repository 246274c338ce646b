//! `--referrers`: what is attached to the copied images goes with them. Two schemes: the
//! referrer-scheme tags (`sha256-<hex>`, `sha256-<hex>.sig`, `.att`, `.sbom`, as cosign
//! writes them) whose hex is the digest of a copied manifest, and the manifests whose
//! `subject` is a copied manifest (the OCI 1.1 referrers API, where the source has one).
//! Attachments of attachments follow, a few levels deep.

use std::collections::HashSet;

use regex::Regex;

use super::Ends;
use super::plan::{BlobAsking, ImageRequest, PlanError, PlatformFilter, plan_copy_with};
use crate::registry::{Digest, ManifestRef, RepoName};

/// Signatures of attestations of SBOMs: deeper chains are not followed.
const MAX_ROUNDS: usize = 4;

/// The digest a referrer-scheme tag names: `sha256-<hex>[.suffix]`.
pub fn tagged_subject(tag: &str) -> Option<Digest> {
    static PATTERN: std::sync::OnceLock<Option<Regex>> = std::sync::OnceLock::new();
    let pattern = PATTERN
        .get_or_init(|| Regex::new(r"^(sha256|sha512)-([0-9a-f]{64,128})(\.[A-Za-z0-9_-]+)?$").ok())
        .as_ref()?;
    let captures = pattern.captures(tag)?;
    Digest::parse(&format!("{}:{}", &captures[1], &captures[2])).ok()
}

/// `requests` and the attachments of everything they copy, as more requests (same
/// destination repository; tags kept, subject-carrying manifests by digest).
pub async fn with_referrers(
    ends: &Ends<'_>,
    requests: Vec<ImageRequest>,
    platform: Option<&PlatformFilter>,
    concurrency: usize,
) -> Result<Vec<ImageRequest>, PlanError> {
    let mut all = requests;
    let mut asked: HashSet<(RepoName, Digest)> = HashSet::new();
    for _ in 0..MAX_ROUNDS {
        // The manifests the copy holds so far, by source repository.
        // Only its images and manifests are read: a registry destination is not asked for
        // its blobs here (the copy's own plan asks).
        let plan = plan_copy_with(ends, &all, platform, concurrency, BlobAsking::OnApply).await?;
        let mut subjects: Vec<(RepoName, RepoName, Digest)> = Vec::new();
        for image in &plan.images {
            let source_repo = all
                .iter()
                .find(|r| r.destination_repository == image.destination_repository)
                .map(|r| r.source_repository.clone());
            let Some(source_repo) = source_repo else {
                continue;
            };
            for digest in [&image.digest, &image.source_digest] {
                if asked.insert((source_repo.clone(), digest.clone())) {
                    subjects.push((
                        source_repo.clone(),
                        image.destination_repository.clone(),
                        digest.clone(),
                    ));
                }
            }
        }
        for m in &plan.manifests {
            if asked.insert((m.source_repository.clone(), m.digest.clone())) {
                subjects.push((
                    m.source_repository.clone(),
                    m.repository.clone(),
                    m.digest.clone(),
                ));
            }
        }
        if subjects.is_empty() {
            break;
        }
        let mut added = Vec::new();
        let mut tag_lists: std::collections::HashMap<RepoName, Vec<crate::registry::Tag>> =
            std::collections::HashMap::new();
        for (src_repo, dst_repo, digest) in subjects {
            if !tag_lists.contains_key(&src_repo) {
                let tags =
                    ends.source
                        .tags(&src_repo)
                        .await
                        .map_err(|source| PlanError::Registry {
                            what: format!("the tags of {src_repo}"),
                            source,
                        })?;
                tag_lists.insert(src_repo.clone(), tags);
            }
            for tag in tag_lists.get(&src_repo).into_iter().flatten() {
                if tagged_subject(tag.as_str()).as_ref() == Some(&digest) {
                    added.push(ImageRequest {
                        source_repository: src_repo.clone(),
                        source_reference: ManifestRef::Tag(tag.clone()),
                        destination_repository: dst_repo.clone(),
                        destination_tag: Some(tag.clone()),
                    });
                }
            }
            let referrers = ends
                .source
                .referrers(&src_repo, &digest)
                .await
                .map_err(|source| PlanError::Registry {
                    what: format!("the referrers of {src_repo}@{digest}"),
                    source,
                })?;
            for referrer in referrers {
                added.push(ImageRequest {
                    source_repository: src_repo.clone(),
                    source_reference: ManifestRef::Digest(referrer),
                    destination_repository: dst_repo.clone(),
                    destination_tag: None,
                });
            }
        }
        added.retain(|r| !all.contains(r));
        added.dedup();
        if added.is_empty() {
            break;
        }
        all.extend(added);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn referrer_scheme_tags_name_their_subject() {
        let hex = "a".repeat(64);
        let digest = Digest::parse(&format!("sha256:{hex}")).ok();
        assert_eq!(tagged_subject(&format!("sha256-{hex}")), digest);
        assert_eq!(tagged_subject(&format!("sha256-{hex}.sig")), digest);
        assert_eq!(tagged_subject(&format!("sha256-{hex}.att")), digest);
        assert_eq!(tagged_subject(&format!("sha256-{hex}.sbom")), digest);
        assert_eq!(tagged_subject("v1"), None);
        assert_eq!(tagged_subject(&format!("sha256-{}", "a".repeat(63))), None);
        assert_eq!(tagged_subject(&format!("md5-{hex}")), None);
    }
}
