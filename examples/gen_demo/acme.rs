//! Acme's own services: `acme/api` and `acme/worker` (OCI, sharing an apt layer) and
//! `acme/web` (Docker schema 2).

use anyhow::{Context, Result};

use super::artifacts;
use super::base::{Bases, Build, build, push_builds};
use super::content::{self, Release, hex_id, payload, program};
use super::layer::{Layer, LayerBuilder};
use super::oci::{AMD64, ARM64, Format, Platform, Repo};
use super::{BOOKWORM_12_8, BOOKWORM_12_11, GIT, TRIXIE_13_1};

/// The apt layer the Acme services share: CA bundle, zone data and the `app` user. Built once
/// per Debian line and reused from the build cache, so its bytes (and digest) are shared.
fn runtime_layer(codename: &str) -> Result<Layer> {
    let created = if codename == "trixie" {
        "2025-09-10T10:00:00Z"
    } else {
        "2025-01-20T10:00:00Z"
    };
    content::ca_certificates_and_tzdata(&format!("runtime {codename}"), created, "app").build()
}

const APT_RUNTIME: &str = "RUN /bin/sh -c apt-get update && apt-get install -y --no-install-recommends ca-certificates tzdata && useradd --uid 10001 --no-create-home app && rm -rf /var/lib/apt/lists/* # buildkit";

pub fn api(bases: &Bases) -> Result<Repo> {
    const MULTI: &[Platform] = &[AMD64, ARM64];
    let builds = [
        build(
            "1.0.0",
            "2025-02-03T14:21:09Z",
            "0c1d2e3",
            BOOKWORM_12_8,
            &["v1.0.0", "sha-0c1d2e3"],
        ),
        build(
            "1.0.1",
            "2025-03-11T09:02:44Z",
            "77ab01c",
            BOOKWORM_12_8,
            &[],
        ),
        build(
            "1.1.0",
            "2025-04-22T16:40:12Z",
            "5a6b7c8",
            BOOKWORM_12_8,
            &["v1.1.0", "sha-5a6b7c8"],
        ),
        build(
            "1.2.0",
            "2025-07-08T11:15:37Z",
            "e1f2a3b",
            BOOKWORM_12_11,
            &["v1.2.0"],
        ),
        build(
            "1.2.1",
            "2025-08-19T08:05:51Z",
            "c4d5e6f",
            BOOKWORM_12_11,
            &["v1.2.1"],
        ),
        build(
            "1.2.3",
            "2025-10-14T13:47:26Z",
            "1a2b3c4",
            TRIXIE_13_1,
            &["v1.2.3", "v1.2", "stable", "sha-1a2b3c4"],
        ),
        build(
            "1.2.4-pr.118",
            "2025-12-02T17:30:00Z",
            "3e4f5a6",
            TRIXIE_13_1,
            &["pr-118"],
        ),
        build(
            "1.3.0-rc.1",
            "2026-01-20T10:12:03Z",
            "8b9c0d1",
            TRIXIE_13_1,
            &["v1.3.0-rc.1"],
        ),
        build(
            "1.3.0-pr.123",
            "2026-02-11T15:55:19Z",
            "6f7a8b9",
            TRIXIE_13_1,
            &["pr-123"],
        ),
        Build {
            platforms: MULTI,
            ..build(
                "1.3.0",
                "2026-03-09T09:30:00Z",
                "9f8e7d6",
                TRIXIE_13_1,
                &[
                    "v1.3.0",
                    "v1.3",
                    "v1",
                    "latest",
                    "sha-9f8e7d6",
                    "2026-03-09",
                ],
            )
        },
        build(
            "1.3.1-dev",
            "2026-06-30T19:08:41Z",
            "4c5d6e7",
            TRIXIE_13_1,
            &["sha-4c5d6e7", "main"],
        ),
        build(
            "1.3.1-dev",
            "2026-08-12T07:45:10Z",
            "a0b1c2d",
            TRIXIE_13_1,
            &[],
        ),
        build(
            "1.4.0-pr.130",
            "2026-11-04T12:00:00Z",
            "b8c9d0e",
            TRIXIE_13_1,
            &["pr-130", "sha-b8c9d0e"],
        ),
    ];
    let bookworm = runtime_layer("bookworm")?;
    let trixie = runtime_layer("trixie")?;
    // The config file changed once, at 1.3; unchanged, its layer is shared between builds.
    let config_v1 = LayerBuilder::new("2025-02-01T12:00:00Z")
        .file(
            "etc/acme/api.toml",
            "[server]\nlisten = \"0.0.0.0:8080\"\n\n[metrics]\nlisten = \"0.0.0.0:9090\"\n",
        )
        .build()?;
    let config_v2 = LayerBuilder::new("2026-01-15T12:00:00Z")
        .file(
            "etc/acme/api.toml",
            "[server]\nlisten = \"0.0.0.0:8080\"\nshutdown_grace = \"20s\"\n\n[metrics]\nlisten = \"0.0.0.0:9090\"\n\n[tracing]\nendpoint = \"http://otel-collector:4317\"\n",
        )
        .build()?;
    let mut repo = Repo::new("acme/api");
    push_builds(&mut repo, Format::Oci, &builds, |b, platform| {
        let revision = b.revision("api");
        let source = format!("{GIT}/acme/api");
        let binary = LayerBuilder::new(b.created)
            .exec(
                "usr/local/bin/api",
                program("api", b.version, platform, 9000 + b.version.len() * 400),
            )
            .build()?;
        let runtime = if b.release.codename == "trixie" {
            &trixie
        } else {
            &bookworm
        };
        let config = if b.version.starts_with("1.3") || b.version.starts_with("1.4") {
            &config_v2
        } else {
            &config_v1
        };
        bases
            .from(b.release, platform, b.created)?
            .labels(&b.labels("acme-api", &revision, &source))
            .env("APP_ENV", "production")
            .env("TZ", "Etc/UTC")
            .layer(APT_RUNTIME, runtime)
            .workdir("/app")
            .layer("COPY /out/api /usr/local/bin/api # buildkit", &binary)
            .layer("COPY config/api.toml /etc/acme/api.toml # buildkit", config)
            .user("10001:10001")
            .expose(&["8080/tcp", "9090/tcp"])
            .entrypoint(&["/usr/local/bin/api"])
            .cmd(&["serve", "--config", "/etc/acme/api.toml"])
            .annotate("org.opencontainers.image.revision", &revision)
            .annotate("org.opencontainers.image.source", &source)
            .annotate("org.opencontainers.image.version", b.version)
            .build(Format::Oci)
    })?;
    // The release pipeline signs, attests and SBOMs releases: the newest and the stable one.
    for tag in ["v1.3.0", "v1.2.3"] {
        let release = builds
            .iter()
            .find(|b| b.tags.contains(&tag))
            .with_context(|| format!("no build tagged {tag}"))?;
        artifacts::attach_release(&mut repo, tag, release)?;
    }
    Ok(repo)
}

pub fn web(bases: &Bases) -> Result<Repo> {
    let builds = [
        build(
            "2.0.0",
            "2025-03-03T10:00:00Z",
            "2f3a4b5",
            BOOKWORM_12_8,
            &["v2.0.0"],
        ),
        build(
            "2.1.0",
            "2025-06-02T09:41:00Z",
            "6c7d8e9",
            BOOKWORM_12_11,
            &["v2.1.0"],
        ),
        build(
            "2.1.1",
            "2025-06-05T16:20:00Z",
            "0a1b2c3",
            BOOKWORM_12_11,
            &["v2.1.1", "v2.1"],
        ),
        build(
            "2.2.0-pr.88",
            "2025-08-12T11:11:11Z",
            "d4e5f6a",
            BOOKWORM_12_11,
            &["pr-88"],
        ),
        build(
            "2.2.0",
            "2025-09-29T08:30:00Z",
            "7b3e2a1",
            BOOKWORM_12_11,
            &["v2.2.0", "v2.2", "v2", "latest", "stable", "sha-7b3e2a1"],
        ),
        build(
            "2.3.0-dev",
            "2025-12-01T18:02:00Z",
            "e4f5a6b",
            BOOKWORM_12_11,
            &["sha-e4f5a6b", "main", "20251201"],
        ),
        build(
            "2.3.0-dev",
            "2026-02-09T03:00:00Z",
            "5d6e7f8",
            BOOKWORM_12_11,
            &[],
        ),
        build(
            "2.3.0-dev",
            "2026-05-18T03:00:00Z",
            "9a8b7c6",
            BOOKWORM_12_11,
            &["nightly-20260518"],
        ),
    ];
    let nginx = |release: Release, created: &str| {
        LayerBuilder::new(created)
            .exec("usr/sbin/nginx", program("nginx", release.codename, AMD64, 6000))
            .file("etc/nginx/nginx.conf", "user www-data;\nworker_processes auto;\npid /run/nginx.pid;\n\nevents {\n    worker_connections 768;\n}\n\nhttp {\n    include /etc/nginx/mime.types;\n    sendfile on;\n    include /etc/nginx/conf.d/*.conf;\n}\n")
            .file("etc/nginx/mime.types", "types {\n    text/html html;\n    text/css css;\n    application/javascript js;\n    image/svg+xml svg;\n}\n")
            .dir("var/log/nginx")
            .build()
    };
    let nginx_12_8 = nginx(BOOKWORM_12_8, "2025-02-20T10:00:00Z")?;
    let nginx_12_11 = nginx(BOOKWORM_12_11, "2025-05-26T10:00:00Z")?;
    let site = LayerBuilder::new("2025-02-24T12:00:00Z")
        .file("etc/nginx/conf.d/default.conf", "server {\n    listen 80;\n    root /usr/share/nginx/html;\n    location / {\n        try_files $uri /index.html;\n    }\n    location /healthz {\n        return 200 'ok';\n    }\n}\n")
        .build()?;
    let mut repo = Repo::new("acme/web");
    push_builds(&mut repo, Format::Docker, &builds, |b, platform| {
        let revision = b.revision("web");
        let source = format!("{GIT}/acme/web");
        let hash = hex_id(&format!("web assets {}", b.commit), 8);
        let assets = LayerBuilder::new(b.created)
            .file(
                "usr/share/nginx/html/index.html",
                format!("<!doctype html>\n<html><head><title>Acme {}</title><link rel=\"stylesheet\" href=\"/assets/app.{hash}.css\"></head>\n<body><div id=\"app\"></div><script src=\"/assets/app.{hash}.js\"></script></body></html>\n", b.version),
            )
            .file(&format!("usr/share/nginx/html/assets/app.{hash}.js"), payload(&format!("web js {}", b.commit), 5000 + b.created.len() * 90))
            .file(&format!("usr/share/nginx/html/assets/app.{hash}.css"), payload(&format!("web css {}", b.commit), 700))
            .build()?;
        let nginx = if b.release.version == "12.8" {
            &nginx_12_8
        } else {
            &nginx_12_11
        };
        bases
            .from(b.release, platform, b.created)?
            .labels(&b.labels("acme-web", &revision, &source))
            .layer("RUN /bin/sh -c apt-get update && apt-get install -y --no-install-recommends nginx-light && rm -rf /var/lib/apt/lists/* # buildkit", nginx)
            .layer("COPY nginx/default.conf /etc/nginx/conf.d/default.conf # buildkit", &site)
            .workdir("/usr/share/nginx/html")
            .layer("COPY dist/ /usr/share/nginx/html/ # buildkit", &assets)
            .expose(&["80/tcp"])
            .stop_signal("SIGQUIT")
            .cmd(&["nginx", "-g", "daemon off;"])
            .build(Format::Docker)
    })?;
    Ok(repo)
}

pub fn worker(bases: &Bases) -> Result<Repo> {
    let builds = [
        build(
            "0.9.0",
            "2025-05-06T12:34:56Z",
            "3c4d5e6",
            BOOKWORM_12_8,
            &["v0.9.0"],
        ),
        build(
            "1.0.0",
            "2025-09-15T09:00:00Z",
            "f0e1d2c",
            TRIXIE_13_1,
            &["v1.0.0"],
        ),
        build(
            "1.1.0",
            "2026-04-13T14:10:00Z",
            "8a9b0c1",
            TRIXIE_13_1,
            &["v1.1.0", "v1.1", "v1", "latest", "stable"],
        ),
        // A nightly with no changes since: both nights' tags point at the same image.
        build(
            "1.2.0-dev",
            "2026-08-01T02:00:00Z",
            "b2c3d4e",
            TRIXIE_13_1,
            &["nightly-20260801", "nightly-20260802"],
        ),
        build(
            "1.2.0-dev",
            "2026-11-10T02:00:00Z",
            "2d4f6a8",
            TRIXIE_13_1,
            &["nightly-20261110", "sha-2d4f6a8"],
        ),
    ];
    let bookworm = runtime_layer("bookworm")?;
    let trixie = runtime_layer("trixie")?;
    let jobs = LayerBuilder::new("2025-04-30T08:00:00Z")
        .file(
            "etc/acme/jobs/cleanup.yaml",
            "schedule: \"0 3 * * *\"\ntask: cleanup\nretain_days: 30\n",
        )
        .file(
            "etc/acme/jobs/report.yaml",
            "schedule: \"0 6 * * 1\"\ntask: weekly-report\nrecipients: [ops@acme.example]\n",
        )
        .build()?;
    let mut repo = Repo::new("acme/worker");
    push_builds(&mut repo, Format::Oci, &builds, |b, platform| {
        let revision = b.revision("worker");
        let source = format!("{GIT}/acme/worker");
        let binary = LayerBuilder::new(b.created)
            .exec(
                "usr/local/bin/worker",
                program("worker", b.commit, platform, 7000),
            )
            .build()?;
        let runtime = if b.release.codename == "trixie" {
            &trixie
        } else {
            &bookworm
        };
        bases
            .from(b.release, platform, b.created)?
            .labels(&b.labels("acme-worker", &revision, &source))
            .env("QUEUE_URL", "amqp://queue:5672")
            .env("WORKER_CONCURRENCY", "8")
            .layer(APT_RUNTIME, runtime)
            .workdir("/app")
            .layer("COPY /out/worker /usr/local/bin/worker # buildkit", &binary)
            .layer("COPY jobs/ /etc/acme/jobs/ # buildkit", &jobs)
            .user("10001:10001")
            .expose(&["9091/tcp"])
            .entrypoint(&["/usr/local/bin/worker"])
            .cmd(&["run", "--queue", "default"])
            .annotate("org.opencontainers.image.revision", &revision)
            .annotate("org.opencontainers.image.source", &source)
            .build(Format::Oci)
    })?;
    Ok(repo)
}
