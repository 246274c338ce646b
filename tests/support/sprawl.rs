//! The tag-sprawl fixture for `regatta audit`: every tag kind, alias groups, a stale
//! repository, old build tags next to fresh ones, a drifted floating tag and three signature
//! tags (subject tagged, subject present untagged, subject deleted). Created dates are
//! relative to the moment the fixture is built, since the audit measures ages from now.
//!
//! | repository | tag(s) | created (days ago) | kinds |
//! |---|---|---|---|
//! | `app` | `1.2.3` = `stable` = `prod` | 200 | release, two floating (drifted) |
//! | | `1.3.0-rc.1` | 150 | prerelease (old build) |
//! | | `20240501` | 120 | date (old build) |
//! | | `sha-abc1234` | 100 | commit (old build) |
//! | | `feature-login` = `hello` | 95 | branch (old, but shares its digest with other) |
//! | | `main-0123abc` | 10 | commit |
//! | | `pr-12` | 5 | branch |
//! | | `v2.0` = `latest` | 2 | release, floating |
//! | | (untagged) | 60 | the subject of `att_untagged` |
//! | | (pushed, then deleted) | 70 | the subject of `sig_orphan` |
//! | | `sha256-<v2.0>.sig`, `sha256-<untagged>.att`, `sha256-<deleted>.sig` | 3 | signature |
//! | `legacy` | `0.9.0` | 500 | release |
//! | | `1.0.0` = `latest` | 400 | release, floating |
//! | `tools` | `3.20` = `edge` | 20 | release, floating |
//!
//! Every `app` and `legacy` image shares one base layer (so a finding's bytes are not the sum
//! of its images' sizes); every other layer is an image's own. The untagged subject's layers
//! are its own, so that what garbage collection frees stays what the model can see.

use regatta::registry::{Digest, ManifestRef};

use super::cleanup::days_ago;
use super::fixtures::FixtureBuilder;
use super::image::{Format, ImageSpec, Layer};
use super::registry::TestRegistry;
use super::truth::{Fixture, repo};

pub const APP: &str = "app";
pub const LEGACY: &str = "legacy";
pub const TOOLS: &str = "tools";

/// `app`'s tagged images: tags and age in days.
pub const APP_IMAGES: [(&[&str], i64); 8] = [
    (&["1.2.3", "stable", "prod"], 200),
    (&["1.3.0-rc.1"], 150),
    (&["20240501"], 120),
    (&["sha-abc1234"], 100),
    (&["feature-login", "hello"], 95),
    (&["main-0123abc"], 10),
    (&["pr-12"], 5),
    (&["v2.0", "latest"], 2),
];
pub const LEGACY_IMAGES: [(&[&str], i64); 2] = [(&["0.9.0"], 500), (&["1.0.0", "latest"], 400)];
pub const TOOLS_IMAGES: [(&[&str], i64); 1] = [(&["3.20", "edge"], 20)];
/// Age of the signature images.
pub const SIGNATURE_DAYS: i64 = 3;

/// The pushed fixture and the names the tests need.
pub struct Sprawl {
    /// What the registry holds (the deleted subject removed; the untagged one included).
    pub truth: Fixture,
    /// `sha256-<v2.0's digest>.sig`: the subject is tagged.
    pub sig_tagged: String,
    /// `sha256-<untagged digest>.att`: the subject exists, untagged.
    pub att_untagged: String,
    /// `sha256-<deleted digest>.sig`: the subject is gone.
    pub sig_orphan: String,
    pub untagged: Digest,
    pub gone: Digest,
}

fn digest_of(spec: &ImageSpec) -> Digest {
    Digest::sha256_of(&spec.manifest_json(spec.format, &spec.config_json()))
}

fn signature_tag(subject: &Digest, suffix: &str) -> String {
    format!("sha256-{}.{suffix}", subject.hex())
}

/// Builds the fixture for `now`; returns it with the signature tags and the two untagged
/// subjects (the second to be deleted after the push).
pub fn sprawl_fixture(now: jiff::Timestamp) -> (FixtureBuilder, [String; 3], Digest, Digest) {
    let base = Layer::random("sprawl-base", 8 * 1024);
    let image = |name: &str, seed: &str, days: i64, own: usize| {
        ImageSpec::new(
            Format::Oci,
            vec![
                base.clone(),
                Layer::random(&format!("sprawl-{name}-{seed}"), own),
            ],
        )
        .created(&days_ago(now, days))
    };
    let mut b = FixtureBuilder::new();
    let mut v2 = None;
    for (i, (tags, days)) in APP_IMAGES.iter().enumerate() {
        let spec = image(APP, tags[0], *days, 2 * 1024 + 100 * i);
        if tags[0] == "v2.0" {
            v2 = Some(digest_of(&spec));
        }
        b.image(APP, tags, spec);
    }
    let untagged_spec = ImageSpec::new(
        Format::Oci,
        vec![Layer::random("sprawl-app-untagged", 3 * 1024)],
    )
    .created(&days_ago(now, 60));
    let gone_spec = ImageSpec::new(
        Format::Oci,
        vec![Layer::random("sprawl-app-gone", 3 * 1024 + 7)],
    )
    .created(&days_ago(now, 70));
    let untagged = digest_of(&untagged_spec);
    let gone = digest_of(&gone_spec);
    b.image(APP, &[], untagged_spec);
    b.image(APP, &[], gone_spec);
    let v2 = v2.expect("v2.0 is in APP_IMAGES");
    let signatures = [
        signature_tag(&v2, "sig"),
        signature_tag(&untagged, "att"),
        signature_tag(&gone, "sig"),
    ];
    for (i, t) in signatures.iter().enumerate() {
        b.image(
            APP,
            &[t.as_str()],
            ImageSpec::new(
                Format::Oci,
                vec![Layer::random(&format!("sprawl-signature-{i}"), 600 + i)],
            )
            .created(&days_ago(now, SIGNATURE_DAYS)),
        );
    }
    for (i, (tags, days)) in LEGACY_IMAGES.iter().enumerate() {
        b.image(
            LEGACY,
            tags,
            image(LEGACY, tags[0], *days, 2 * 1024 + 50 * i),
        );
    }
    for (tags, days) in TOOLS_IMAGES {
        b.image(
            TOOLS,
            tags,
            ImageSpec::new(
                Format::Oci,
                vec![Layer::random(&format!("sprawl-tools-{}", tags[0]), 1500)],
            )
            .created(&days_ago(now, days)),
        );
    }
    (b, signatures, untagged, gone)
}

/// Pushes the fixture into `registry`, then deletes the orphan's subject by digest.
pub fn push_sprawl(registry: &TestRegistry) -> Sprawl {
    let (builder, [sig_tagged, att_untagged, sig_orphan], untagged, gone) =
        sprawl_fixture(jiff::Timestamp::now());
    let mut truth = registry.push(&builder);
    let client = registry.client();
    super::block_on(async {
        client.delete_manifest(&repo(APP), &gone).await?;
        // Deleted: a HEAD by digest says not found, as the audit's check will see it.
        match client
            .head_manifest(&repo(APP), &ManifestRef::Digest(gone.clone()))
            .await
        {
            Err(e) if e.is_not_found() => Ok::<(), regatta::registry::RegistryError>(()),
            other => panic!("the deleted subject still answers: {other:?}"),
        }
    })
    .expect("delete the orphan's subject");
    truth.remove_manifest(APP, &gone);
    Sprawl {
        truth,
        sig_tagged,
        att_untagged,
        sig_orphan,
        untagged,
        gone,
    }
}
