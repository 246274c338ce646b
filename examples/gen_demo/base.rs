//! The Debian base images, and the machinery every application repository builds with: one
//! build per release, pushed as an image or, with several platforms, as an index.

use std::collections::BTreeMap;

use anyhow::{Context, Result};

use super::content::{Release, debian_rootfs, hex_id};
use super::image::{Image, ImageBuilder};
use super::layer::epoch;
use super::oci::{AMD64, ARM64, Artifact, Format, Platform, Repo};
use super::{BOOKWORM_12_8, BOOKWORM_12_11, REGISTRY, TRIXIE_13_1};

/// The Debian base images, per release and platform.
pub struct Bases {
    images: BTreeMap<(&'static str, &'static str), Image>,
}

impl Bases {
    pub fn build() -> Result<Self> {
        let mut images = BTreeMap::new();
        for release in [BOOKWORM_12_8, BOOKWORM_12_11, TRIXIE_13_1] {
            for platform in [AMD64, ARM64] {
                let rootfs = debian_rootfs(release, platform).build()?;
                let epoch = epoch(release.created)?;
                let image = ImageBuilder::scratch(platform, release.created)
                    .comment("debuerreotype 0.15")
                    .layer(
                        &format!(
                            "# debian.sh --arch '{}' out/ '{}' '@{epoch}'",
                            platform.arch, release.codename
                        ),
                        &rootfs,
                    )
                    .env(
                        "PATH",
                        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    )
                    .cmd(&["bash"])
                    .annotate("org.opencontainers.image.created", release.created)
                    .annotate("org.opencontainers.image.version", release.version)
                    .build(Format::Oci)?;
                images.insert((release.version, platform.arch), image);
            }
        }
        Ok(Self { images })
    }

    pub fn get(&self, release: Release, platform: Platform) -> Result<&Image> {
        self.images
            .get(&(release.version, platform.arch))
            .with_context(|| format!("no base {} {}", release.version, platform.arch))
    }

    pub fn repo(&self) -> Result<Repo> {
        let mut repo = Repo::new("base/debian-slim");
        let releases: [(Release, &[&str]); 3] = [
            (BOOKWORM_12_8, &["12.8", "bookworm-20250113"]),
            (
                BOOKWORM_12_11,
                &["12.11", "12", "bookworm", "bookworm-20250519"],
            ),
            (
                TRIXIE_13_1,
                &[
                    "13.1",
                    "13",
                    "trixie",
                    "trixie-20250908",
                    "latest",
                    "stable",
                ],
            ),
        ];
        for (release, tags) in releases {
            let children = vec![
                self.get(release, AMD64)?.clone(),
                self.get(release, ARM64)?.clone(),
            ];
            repo.push(&Artifact::index(Format::Oci, children)?, tags)?;
        }
        Ok(repo)
    }

    /// `FROM base/debian-slim:<release>`, with the base recorded in OCI annotations.
    pub fn from(
        &self,
        release: Release,
        platform: Platform,
        created: &str,
    ) -> Result<ImageBuilder> {
        let base = self.get(release, platform)?;
        Ok(ImageBuilder::from(base, created)
            .annotate("org.opencontainers.image.created", created)
            .annotate(
                "org.opencontainers.image.base.name",
                &format!("{REGISTRY}/base/debian-slim:{}", release.version),
            )
            .annotate(
                "org.opencontainers.image.base.digest",
                &base.manifest.digest,
            ))
    }
}

/// One build of an application: when, from which commit and base, for which platforms, and
/// the tags that point at it now (none: an untagged leftover).
pub struct Build {
    pub version: &'static str,
    pub created: &'static str,
    pub commit: &'static str,
    pub release: Release,
    pub platforms: &'static [Platform],
    pub tags: &'static [&'static str],
}

pub const fn build(
    version: &'static str,
    created: &'static str,
    commit: &'static str,
    release: Release,
    tags: &'static [&'static str],
) -> Build {
    Build {
        version,
        created,
        commit,
        release,
        platforms: &[AMD64],
        tags,
    }
}

impl Build {
    pub fn revision(&self, app: &str) -> String {
        format!(
            "{}{}",
            self.commit,
            hex_id(&format!("{app} {}", self.commit), 33)
        )
    }

    pub fn labels<'a>(
        &'a self,
        title: &'a str,
        revision: &'a str,
        source: &'a str,
    ) -> [(&'a str, &'a str); 6] {
        [
            ("org.opencontainers.image.title", title),
            ("org.opencontainers.image.version", self.version),
            ("org.opencontainers.image.revision", revision),
            ("org.opencontainers.image.source", source),
            ("org.opencontainers.image.created", self.created),
            ("org.opencontainers.image.vendor", "Acme Corp"),
        ]
    }
}

/// Pushes each build: one image, or an index when it has several platforms.
pub fn push_builds(
    repo: &mut Repo,
    format: Format,
    builds: &[Build],
    mut image: impl FnMut(&Build, Platform) -> Result<Image>,
) -> Result<()> {
    for b in builds {
        let images = b
            .platforms
            .iter()
            .map(|p| image(b, *p))
            .collect::<Result<Vec<_>>>()?;
        let artifact = match <[Image; 1]>::try_from(images) {
            Ok([one]) => Artifact::Image(Box::new(one)),
            Err(many) => Artifact::index(format, many)?,
        };
        repo.push(&artifact, b.tags)?;
    }
    Ok(())
}
