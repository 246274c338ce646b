//! The standard fixture: 150 repositories, most of them tiny, a handful rich, and one
//! registry per test binary holding it ([`shared`]) for tests that only read.
//!
//! | repository | what it holds |
//! |---|---|
//! | `library/alpine` | OCI indexes (linux/amd64 + linux/arm64/v8): `3.19`, `3.19.1`, `latest` on one digest; `3.18` |
//! | `team/api` | Docker schema 2 images `v1.0.0`, `v1.1.0`, `v1.2.0` = `latest` = `stable`; one untagged (old `nightly`) and `nightly` |
//! | `team/worker` | OCI images sharing the base and runtime layers with `team/api`: `1.0`, `1.1` = `latest` |
//! | `tools/builder` | a Docker manifest list (amd64 + arm64/v8): `2024.06` = `latest` |
//! | `data/warehouse` | OCI images with large layers: `v2`, `v3` (sharing two of three layers) |
//! | `nested/deep/path/service` | one OCI image, `edge` |
//! | `bulk/svc-000` .. `bulk/svc-143` | one tiny image each (OCI and Docker alternating), `latest` (odd ones also `v1`) |

use std::sync::OnceLock;
use std::time::Duration;

use regatta::registry::ClientOptions;

use super::fixtures::FixtureBuilder;
use super::image::{Format, ImageSpec, Layer};
use super::registry::TestRegistry;
use super::truth::Fixture;

pub const REPO_COUNT: usize = 150;
pub const BULK_COUNT: usize = 144;

pub const MULTI_ARCH: &str = "library/alpine";
/// Tags of `library/alpine` that share one index digest.
pub const MULTI_ARCH_SAME_DIGEST: [&str; 3] = ["3.19", "3.19.1", "latest"];
pub const DOCKER_REPO: &str = "team/api";
/// Tags of `team/api` that share one digest.
pub const DOCKER_SAME_DIGEST: [&str; 3] = ["latest", "stable", "v1.2.0"];
pub const OCI_REPO: &str = "team/worker";
pub const DOCKER_LIST: &str = "tools/builder";
pub const BIG_REPO: &str = "data/warehouse";
pub const NESTED_REPO: &str = "nested/deep/path/service";

/// The rich repositories, in catalog order.
pub const RICH: [&str; 6] = [
    BIG_REPO,
    MULTI_ARCH,
    NESTED_REPO,
    DOCKER_REPO,
    OCI_REPO,
    DOCKER_LIST,
];

pub fn bulk_repo(i: usize) -> String {
    format!("bulk/svc-{i:03}")
}

/// Layers shared between repositories.
pub struct BaseLayers {
    pub os_amd64: Layer,
    pub os_arm64: Layer,
    pub runtime: Layer,
    pub bulk_base: Layer,
}

impl BaseLayers {
    pub fn new() -> Self {
        Self {
            os_amd64: Layer::random("base-os-amd64", 48 * 1024),
            os_arm64: Layer::random("base-os-arm64", 44 * 1024),
            runtime: Layer::random("runtime", 24 * 1024),
            bulk_base: Layer::files(&[
                ("etc/os-release", b"NAME=\"Fixture OS\"\nVERSION_ID=1\n"),
                ("etc/hostname", b"fixture\n"),
            ]),
        }
    }
}

impl Default for BaseLayers {
    fn default() -> Self {
        Self::new()
    }
}

fn alpine(layers: &BaseLayers, version: &str, created: &str) -> Vec<ImageSpec> {
    let amd64 = ImageSpec::new(
        Format::Oci,
        vec![
            layers.os_amd64.clone(),
            Layer::text(&format!("alpine-{version}-amd64")),
        ],
    )
    .created(created)
    .cmd(&["/bin/sh"]);
    let arm64 = ImageSpec::new(
        Format::Oci,
        vec![
            layers.os_arm64.clone(),
            Layer::text(&format!("alpine-{version}-arm64")),
        ],
    )
    .platform("linux", "arm64", Some("v8"))
    .created(created)
    .cmd(&["/bin/sh"]);
    vec![amd64, arm64]
}

fn api(layers: &BaseLayers, version: &str, created: &str) -> ImageSpec {
    ImageSpec::new(
        Format::Docker,
        vec![
            layers.os_amd64.clone(),
            layers.runtime.clone(),
            Layer::random(&format!("api-{version}"), 8 * 1024),
        ],
    )
    .created(created)
    .author("Team API <api@example.com>")
    .env("APP_ENV=production")
    .env(&format!("APP_VERSION={version}"))
    .label("org.opencontainers.image.version", version)
    .label(
        "org.opencontainers.image.source",
        "https://example.com/team/api",
    )
    .working_dir("/srv")
    .entrypoint(&["/srv/api"])
    .cmd(&["--port", "8080"])
}

fn worker(layers: &BaseLayers, version: &str, created: &str) -> ImageSpec {
    ImageSpec::new(
        Format::Oci,
        vec![
            layers.os_amd64.clone(),
            layers.runtime.clone(),
            Layer::random(&format!("worker-{version}"), 6 * 1024),
        ],
    )
    .created(created)
    .env("QUEUE=default")
    .label("org.opencontainers.image.version", version)
    .entrypoint(&["/usr/bin/worker"])
}

/// The standard fixture (see the module docs).
pub fn standard_fixture() -> FixtureBuilder {
    let layers = BaseLayers::new();
    let mut b = FixtureBuilder::new();

    b.index(
        MULTI_ARCH,
        &["3.18"],
        Format::Oci,
        alpine(&layers, "3.18", "2023-06-01T08:00:00Z"),
    );
    b.index(
        MULTI_ARCH,
        &MULTI_ARCH_SAME_DIGEST,
        Format::Oci,
        alpine(&layers, "3.19", "2024-01-26T08:00:00Z"),
    );

    b.image(
        DOCKER_REPO,
        &["v1.0.0"],
        api(&layers, "1.0.0", "2024-02-01T10:00:00Z"),
    );
    b.image(
        DOCKER_REPO,
        &["v1.1.0"],
        api(&layers, "1.1.0", "2024-03-15T10:00:00Z"),
    );
    b.image(
        DOCKER_REPO,
        &DOCKER_SAME_DIGEST,
        api(&layers, "1.2.0", "2024-05-20T10:00:00Z"),
    );
    // `nightly` pushed twice: the first build is left untagged.
    b.image(
        DOCKER_REPO,
        &["nightly"],
        api(&layers, "nightly-1", "2024-06-01T02:00:00Z"),
    );
    b.image(
        DOCKER_REPO,
        &["nightly"],
        api(&layers, "nightly-2", "2024-06-02T02:00:00Z"),
    );

    b.image(
        OCI_REPO,
        &["1.0"],
        worker(&layers, "1.0", "2024-02-10T09:30:00Z"),
    );
    b.image(
        OCI_REPO,
        &["1.1", "latest"],
        worker(&layers, "1.1", "2024-04-10T09:30:00Z"),
    );

    let builder_images = vec![
        ImageSpec::new(
            Format::Docker,
            vec![
                layers.os_amd64.clone(),
                Layer::random("builder-amd64", 12 * 1024),
            ],
        )
        .created("2024-06-30T12:00:00Z")
        .entrypoint(&["/usr/bin/build"]),
        ImageSpec::new(
            Format::Docker,
            vec![
                layers.os_arm64.clone(),
                Layer::random("builder-arm64", 11 * 1024),
            ],
        )
        .platform("linux", "arm64", Some("v8"))
        .created("2024-06-30T12:00:00Z")
        .entrypoint(&["/usr/bin/build"]),
    ];
    b.index(
        DOCKER_LIST,
        &["2024.06", "latest"],
        Format::Docker,
        builder_images,
    );

    let big_a = Layer::random("warehouse-a", 160 * 1024);
    let big_b = Layer::random("warehouse-b", 96 * 1024);
    b.image(
        BIG_REPO,
        &["v2"],
        ImageSpec::new(
            Format::Oci,
            vec![
                big_a.clone(),
                big_b.clone(),
                Layer::random("warehouse-v2", 64 * 1024),
            ],
        )
        .created("2024-03-03T03:03:03Z"),
    );
    b.image(
        BIG_REPO,
        &["v3"],
        ImageSpec::new(
            Format::Oci,
            vec![big_a, big_b, Layer::random("warehouse-v3", 80 * 1024)],
        )
        .created("2024-07-07T07:07:07Z")
        .label("tier", "storage"),
    );

    b.image(
        NESTED_REPO,
        &["edge"],
        ImageSpec::new(Format::Oci, vec![Layer::text("nested-edge")])
            .created("2024-08-08T08:08:08Z"),
    );

    for i in 0..BULK_COUNT {
        let name = bulk_repo(i);
        let format = if i % 2 == 0 {
            Format::Oci
        } else {
            Format::Docker
        };
        let tags: &[&str] = if i % 2 == 0 {
            &["latest"]
        } else {
            &["latest", "v1"]
        };
        let spec = ImageSpec::new(format, vec![layers.bulk_base.clone(), Layer::text(&name)])
            .created(&format!("2024-09-{:02}T00:00:00Z", 1 + i % 28))
            .cmd(&["/app/run"]);
        b.image(&name, tags, spec);
    }
    debug_assert_eq!(b.repo_count(), REPO_COUNT);
    b
}

/// A registry with the standard fixture in it, and the fixture's ground truth.
pub struct Shared {
    pub registry: TestRegistry,
    pub fixture: Fixture,
}

/// One registry per test binary holding the standard fixture, pushed once. For tests that
/// only read: a test that writes must start its own [`TestRegistry`]. Make a client per test
/// (`shared().registry.client()`): a client's connections belong to the runtime they were
/// made on, and each `#[tokio::test]` has its own.
pub fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let registry = TestRegistry::start();
        let fixture = push_standard(&registry);
        Shared { registry, fixture }
    })
}

/// Pushes the standard fixture into `registry` and returns its ground truth.
pub fn push_standard(registry: &TestRegistry) -> Fixture {
    let builder = standard_fixture();
    super::block_on(async {
        let client = registry.client_with(ClientOptions {
            concurrency: 16,
            request_timeout: Duration::from_secs(60),
            ..registry.client_options()
        });
        builder
            .push(&client)
            .await
            .expect("push the standard fixture")
    })
}
