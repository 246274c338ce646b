//! Fixed in-memory registries for tests, snapshots, benchmarks and trying the UI by hand.

use super::memory::{ImageSpec, MemorySource};

const MIB: u64 = 1024 * 1024;

fn nginx(arch: &str, variant: Option<&str>, created: &str, version: &str, size: u64) -> ImageSpec {
    let base = if arch == "amd64" {
        28 * MIB + 300_000
    } else {
        27 * MIB + 100_000
    };
    let install = format!("RUN /bin/sh -c set -x && apt-get install nginx={version}");
    let mut spec = ImageSpec::new("linux", arch, created)
        .layer(base, "/bin/sh -c #(nop) ADD file:9a1b in / ")
        .layer(size, &install)
        .layer(628, "COPY docker-entrypoint.sh / # buildkit")
        .layer(
            955,
            "COPY 10-listen-on-ipv6-by-default.sh /docker-entrypoint.d # buildkit",
        )
        .label(
            "maintainer",
            "NGINX Docker Maintainers <docker-maint@nginx.com>",
        );
    spec.variant = variant.map(str::to_string);
    spec.env = vec![
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
        format!("NGINX_VERSION={version}"),
    ];
    spec.entrypoint = Some(vec!["/docker-entrypoint.sh".into()]);
    spec.cmd = Some(vec!["nginx".into(), "-g".into(), "daemon off;".into()]);
    spec.ports = vec!["80/tcp".into()];
    spec.empty_steps = vec![
        "ENV NGINX_VERSION=".to_string() + version,
        "EXPOSE map[80/tcp:{}]".into(),
        "CMD [\"nginx\" \"-g\" \"daemon off;\"]".into(),
    ];
    spec
}

fn alpine(created: &str, size: u64) -> ImageSpec {
    let mut spec = ImageSpec::new("linux", "amd64", created)
        .layer(size, "/bin/sh -c #(nop) ADD file:alpine in / ");
    spec.cmd = Some(vec!["/bin/sh".into()]);
    spec.env = vec!["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into()];
    spec
}

fn api(created: &str, app_size: u64) -> ImageSpec {
    let mut spec = ImageSpec::new("linux", "amd64", created)
        .layer(3 * MIB + 400_000, "/bin/sh -c #(nop) ADD file:alpine in / ")
        .layer(app_size, "COPY /out/api /usr/local/bin/api # buildkit")
        .label(
            "org.opencontainers.image.source",
            "https://git.example.com/team/api",
        );
    spec.user = Some("65532".into());
    spec.working_dir = Some("/srv".into());
    spec.entrypoint = Some(vec!["/usr/local/bin/api".into()]);
    spec.ports = vec!["8080/tcp".into()];
    spec
}

/// A small registry: a multi-platform image with an alias, single-platform images sharing
/// a base layer, and an empty repository. Dates are in 2025, to be seen from a fixed clock.
pub fn sample() -> MemorySource {
    let mut s = MemorySource::new("demo");
    let nginx_new = s.add_index(&[
        nginx(
            "amd64",
            None,
            "2025-05-20T10:00:00Z",
            "1.27.5",
            41 * MIB + 77_000,
        ),
        nginx(
            "arm64",
            Some("v8"),
            "2025-05-20T10:05:00Z",
            "1.27.5",
            39 * MIB + 5_000,
        ),
    ]);
    let nginx_old = s.add_index(&[
        nginx(
            "amd64",
            None,
            "2024-11-02T08:00:00Z",
            "1.26.2",
            44 * MIB + 900_000,
        ),
        nginx(
            "arm64",
            Some("v8"),
            "2024-11-02T08:04:00Z",
            "1.26.2",
            42 * MIB + 300_000,
        ),
    ]);
    let alpine_new = s.add_image(&alpine("2025-02-14T00:00:00Z", 3 * MIB + 400_000));
    let alpine_old = s.add_image(&alpine("2023-12-07T00:00:00Z", 3 * MIB + 300_000));
    let api_1 = s.add_image(&api("2025-05-28T16:00:00Z", 12 * MIB));
    let api_2 = s.add_image(&api("2025-05-31T09:30:00Z", 12 * MIB + 600_000));
    s.tag("library/nginx", &["1.27", "1.27.5", "latest"], &nginx_new)
        .tag("library/nginx", &["1.26"], &nginx_old)
        .tag("library/alpine", &["3.21", "latest"], &alpine_new)
        .tag("library/alpine", &["3.19"], &alpine_old)
        .tag("team/api", &["v1.0.0"], &api_1)
        .tag("team/api", &["v1.1.0", "main"], &api_2)
        .repo("team/empty")
}

/// A registry whose image config holds escape sequences and control characters, as a
/// hostile or careless publisher could push.
pub fn hostile() -> MemorySource {
    let mut s = MemorySource::new("hostile");
    let spec = ImageSpec::new("linux", "amd64", "2025-05-01T00:00:00Z")
        .layer(1024, "RUN echo \u{1b}]52;c;aGk=\u{7}pwned")
        .label("evil", "\u{1b}[2Jcleared")
        .label("bell", "ring\u{7}ring");
    let digest = s.add_image(&spec);
    s.tag("x/evil", &["v1"], &digest)
}

/// One repository with `tags` tags over a handful of images (most tags are aliases).
pub fn large(tags: usize) -> MemorySource {
    let mut s = MemorySource::new("large").with_page_size(1000);
    let digests: Vec<_> = (0..8)
        .map(|i| {
            s.add_image(&alpine(
                &format!("2025-0{}-01T00:00:00Z", i + 1),
                (i + 1) * MIB,
            ))
        })
        .collect();
    for i in 0..tags {
        let tag = format!("build-{i:06}");
        s = s.tag("big/repo", &[tag.as_str()], &digests[i % digests.len()]);
    }
    s
}

/// A small signature-like artifact (cosign stores one as an image).
fn signature(created: &str, size: u64) -> ImageSpec {
    ImageSpec::new("linux", "amd64", created).layer(size, "cosign signature payload")
}

/// A registry with tag sprawl for the audit, seen from 2025-06-01: `team/api` has old
/// commit builds no release shares, a recent PR build, and `stable` left on an old release;
/// `team/web` has a signature of its image and one whose image is gone; `legacy/tool` has
/// not been pushed to for most of a year.
pub fn sprawl() -> MemorySource {
    let mut s = MemorySource::new("sprawl");
    let v1_0 = s.add_image(&api("2025-01-10T09:00:00Z", 10 * MIB));
    let v1_1 = s.add_image(&api("2025-05-28T09:00:00Z", 11 * MIB));
    let builds = [
        ("sha-1a2b3c4", "2024-12-01T09:00:00Z", 9 * MIB),
        ("sha-5d6e7f8", "2025-01-15T09:00:00Z", 9 * MIB + 500_000),
        ("sha-9a8b7c6", "2025-02-01T09:00:00Z", 10 * MIB + 200_000),
        ("pr-101", "2025-05-30T09:00:00Z", 12 * MIB),
    ];
    let builds: Vec<_> = builds
        .iter()
        .map(|(tag, created, size)| (*tag, s.add_image(&api(created, *size))))
        .collect();
    let web = s.add_image(&alpine("2025-05-01T00:00:00Z", 5 * MIB));
    let signed = s.add_image(&signature("2025-05-01T00:05:00Z", 700));
    let orphan = s.add_image(&signature("2025-01-20T00:05:00Z", 650));
    let tool_old = s.add_image(&alpine("2024-06-01T00:00:00Z", 2 * MIB));
    let tool_new = s.add_image(&alpine("2024-09-01T00:00:00Z", 2 * MIB + 100_000));
    let signed_tag = format!("sha256-{}.sig", web.hex());
    let orphan_tag = format!("sha256-{}.sig", "0badc0de".repeat(8));
    s = s.tag("team/api", &["v1.0.0", "stable"], &v1_0).tag(
        "team/api",
        &["v1.1.0", "latest"],
        &v1_1,
    );
    for (tag, digest) in &builds {
        s = s.tag("team/api", &[tag], digest);
    }
    s.tag("team/web", &["2.0", "latest"], &web)
        .tag("team/web", &[signed_tag.as_str()], &signed)
        .tag("team/web", &[orphan_tag.as_str()], &orphan)
        .tag("legacy/tool", &["1.0"], &tool_old)
        .tag("legacy/tool", &["1.1"], &tool_new)
}

/// A repository where images carry what supply-chain tools attach, seen from 2025-06-01:
/// `acme/app:v1` has a cosign signature (tag `sha256-<hex>.sig`), an SPDX SBOM pushed with
/// a `subject` and listed by the referrers fallback index `sha256-<hex>`, and a Notation
/// signature of that SBOM (listed by the SBOM's own fallback index); `v1.1` is an alias of
/// `v1`; `v2` has nothing attached.
pub fn attached() -> MemorySource {
    let mut s = MemorySource::new("attached");
    let v1 = s.add_image(&api("2025-05-28T16:00:00Z", 12 * MIB));
    let v2 = s.add_image(&api("2025-05-31T09:30:00Z", 12 * MIB + 600_000));
    let signature = s.add_artifact(
        None,
        "application/vnd.dev.cosign.simplesigning.v1+json",
        format!(r#"{{"critical":{{"image":{{"docker-manifest-digest":"{v1}"}}}}}}"#).as_bytes(),
        None,
        None,
    );
    let sbom = s.add_artifact(
        Some("application/spdx+json"),
        "application/spdx+json",
        br#"{"spdxVersion":"SPDX-2.3","packages":[{"name":"api"}]}"#,
        Some(&v1),
        Some("2025-05-28T16:10:00Z"),
    );
    let sbom_signature = s.add_artifact(
        Some("application/vnd.cncf.notary.signature"),
        "application/jose+json",
        br#"{"payload":"e30","signatures":[]}"#,
        Some(&sbom),
        Some("2025-05-28T16:11:00Z"),
    );
    let index_v1 = s.add_referrers_index(std::slice::from_ref(&sbom));
    let index_sbom = s.add_referrers_index(std::slice::from_ref(&sbom_signature));
    let sig_tag = format!("sha256-{}.sig", v1.hex());
    let index_v1_tag = format!("sha256-{}", v1.hex());
    let index_sbom_tag = format!("sha256-{}", sbom.hex());
    s.tag("acme/app", &["v1", "v1.1"], &v1)
        .tag("acme/app", &["v2"], &v2)
        .tag("acme/app", &[sig_tag.as_str()], &signature)
        .tag("acme/app", &[index_v1_tag.as_str()], &index_v1)
        .tag("acme/app", &[index_sbom_tag.as_str()], &index_sbom)
}
