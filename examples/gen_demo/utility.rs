//! Images Acme did not write: `tools/debug` (Docker manifest lists, a whiteout layer) and a
//! mirrored `library/redis` (Docker schema 2, like Docker Hub's).

use anyhow::Result;

use super::base::{Bases, Build, build, push_builds};
use super::content::{self, program};
use super::layer::LayerBuilder;
use super::oci::{AMD64, ARM64, Format, Platform, Repo};
use super::{BOOKWORM_12_8, BOOKWORM_12_11, GIT, TRIXIE_13_1};

pub fn debug_tools(bases: &Bases) -> Result<Repo> {
    const MULTI: &[Platform] = &[AMD64, ARM64];
    let builds = [
        Build {
            platforms: MULTI,
            ..build(
                "1.0",
                "2025-04-01T10:00:00Z",
                "1b2c3d4",
                BOOKWORM_12_8,
                &["1.0"],
            )
        },
        Build {
            platforms: MULTI,
            ..build(
                "1.1",
                "2025-10-20T10:00:00Z",
                "5e6f7a8",
                TRIXIE_13_1,
                &["1.1", "1", "latest"],
            )
        },
        build(
            "1.2-beta.1",
            "2026-05-18T10:00:00Z",
            "9b0c1d2",
            TRIXIE_13_1,
            &["1.2-beta.1", "edge"],
        ),
    ];
    let mut repo = Repo::new("tools/debug");
    push_builds(&mut repo, Format::Docker, &builds, |b, platform| {
        let mut tools = LayerBuilder::new(b.created);
        for (tool, bytes) in [
            ("curl", 1200),
            ("dig", 900),
            ("ip", 1000),
            ("ps", 500),
            ("strace", 1400),
            ("tcpdump", 1300),
        ] {
            tools = tools.exec(
                &format!("usr/bin/{tool}"),
                program(tool, b.version, platform, bytes),
            );
        }
        let tools = tools.build()?;
        let no_motd = LayerBuilder::new(b.created).whiteout("etc/motd").build()?;
        let profile = LayerBuilder::new("2025-03-28T09:00:00Z")
            .file(
                "etc/profile.d/debug.sh",
                "PS1='debug:\\w\\$ '\necho \"tools: curl dig ip ps strace tcpdump\"\n",
            )
            .build()?;
        let revision = b.revision("debug");
        let source = format!("{GIT}/tools/debug");
        bases
            .from(b.release, platform, b.created)?
            .labels(&b.labels("debug", &revision, &source))
            .layer("RUN /bin/sh -c apt-get update && apt-get install -y --no-install-recommends curl dnsutils iproute2 procps strace tcpdump && rm -rf /var/lib/apt/lists/* # buildkit", &tools)
            .layer("RUN /bin/sh -c rm -f /etc/motd # buildkit", &no_motd)
            .layer("COPY debug.sh /etc/profile.d/debug.sh # buildkit", &profile)
            .user("root")
            .workdir("/root")
            .cmd(&["bash", "-l"])
            .build(Format::Docker)
    })?;
    Ok(repo)
}

pub fn redis(bases: &Bases) -> Result<Repo> {
    let builds = [
        build(
            "7.2.4",
            "2025-01-28T22:10:00Z",
            "",
            BOOKWORM_12_8,
            &["7.2.4", "7.2.4-bookworm"],
        ),
        build(
            "7.2.7",
            "2025-06-03T21:45:00Z",
            "",
            BOOKWORM_12_11,
            &["7.2.7", "7.2", "7.2-bookworm"],
        ),
        build(
            "7.4.1",
            "2025-10-06T20:30:00Z",
            "",
            TRIXIE_13_1,
            &["7.4.1", "7.4.1-trixie"],
        ),
        build(
            "7.4.2",
            "2026-07-21T23:05:00Z",
            "",
            TRIXIE_13_1,
            &["7.4.2", "7.4", "7", "latest", "7.4.2-trixie", "trixie"],
        ),
    ];
    let gosu = LayerBuilder::new("2025-01-28T21:00:00Z")
        .exec("usr/local/bin/gosu", program("gosu", "1.17", AMD64, 2500))
        .build()?;
    let entrypoint = LayerBuilder::new("2024-11-04T00:00:00Z")
        .exec(
            "usr/local/bin/docker-entrypoint.sh",
            "#!/bin/sh\nset -e\n\n# first arg is `-f` or `--some-option`\nif [ \"${1#-}\" != \"$1\" ] || [ \"${1%.conf}\" != \"$1\" ]; then\n\tset -- redis-server \"$@\"\nfi\n\n# allow the container to be started with `--user`\nif [ \"$1\" = 'redis-server' -a \"$(id -u)\" = '0' ]; then\n\tfind . \\! -user redis -exec chown redis '{}' +\n\texec gosu redis \"$0\" \"$@\"\nfi\n\nexec \"$@\"\n",
        )
        .build()?;
    let mut repo = Repo::new("library/redis");
    push_builds(&mut repo, Format::Docker, &builds, |b, platform| {
        let user = LayerBuilder::new(b.created)
            .file(
                "etc/passwd",
                format!(
                    "{}redis:x:999:999::/home/redis:/usr/sbin/nologin\n",
                    content::PASSWD
                ),
            )
            .file("etc/group", format!("{}redis:x:999:\n", content::GROUP))
            .build()?;
        let server = LayerBuilder::new(b.created)
            .exec(
                "usr/local/bin/redis-server",
                program("redis-server", b.version, platform, 9000),
            )
            .exec(
                "usr/local/bin/redis-cli",
                program("redis-cli", b.version, platform, 3000),
            )
            .symlink("usr/local/bin/redis-check-aof", "redis-server")
            .symlink("usr/local/bin/redis-check-rdb", "redis-server")
            .symlink("usr/local/bin/redis-sentinel", "redis-server")
            .build()?;
        let data = LayerBuilder::new(b.created).dir("data").build()?;
        let url = format!(
            "http://download.redis.io/releases/redis-{}.tar.gz",
            b.version
        );
        bases
            .from(b.release, platform, b.created)?
            .layer("RUN /bin/sh -c set -eux; groupadd -r -g 999 redis; useradd -r -g redis -u 999 redis # buildkit", &user)
            .env("GOSU_VERSION", "1.17")
            .layer("RUN /bin/sh -c set -eux; apt-get update; apt-get install -y --no-install-recommends ca-certificates wget; wget -O /usr/local/bin/gosu \"https://github.com/tianon/gosu/releases/download/$GOSU_VERSION/gosu-$dpkgArch\"; chmod +x /usr/local/bin/gosu # buildkit", &gosu)
            .env("REDIS_VERSION", b.version)
            .env("REDIS_DOWNLOAD_URL", &url)
            .layer("RUN /bin/sh -c set -eux; wget -O redis.tar.gz \"$REDIS_DOWNLOAD_URL\"; make -C /usr/src/redis -j \"$(nproc)\" all; make -C /usr/src/redis install # buildkit", &server)
            .layer("RUN /bin/sh -c mkdir /data && chown redis:redis /data # buildkit", &data)
            .volume("/data")
            .workdir("/data")
            .layer("COPY docker-entrypoint.sh /usr/local/bin/ # buildkit", &entrypoint)
            .entrypoint(&["docker-entrypoint.sh"])
            .expose(&["6379/tcp"])
            .cmd(&["redis-server"])
            .build(Format::Docker)
    })?;
    Ok(repo)
}
