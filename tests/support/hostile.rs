//! A registry that lies: a loopback HTTP/1.1 server speaking the read side of the registry API
//! (catalog, tag lists, manifests, blobs) that answers promptly with content that is wrong, one
//! lie per repository ([`Lie`]). Two honest repositories (`honest/alpha`: an image with an
//! alias and a second image; `honest/beta`: a two-platform index sharing a base layer with
//! alpha) sit beside the lies, and their numbers are worked out here from the bytes served
//! ([`Truth`]), so a test can check that a lie cost only its own repository.
//!
//! It reads requests with the fault proxy's own head and body readers
//! ([`super::fault_proxy::read_head`]) and answers from a table of routes built once at start.
//! A second listener stands for "another host" (`localhost:OTHER`, where the registry is
//! `127.0.0.1:PORT`): cross-host redirects and `Link` headers point there, and every request
//! records which listener it reached and whether it carried an `Authorization` header.
//!
//! ```ignore
//! let server = Hostile::start(&[Lie::NestedDeep]);
//! let run = Sandbox::new().run(&["du", &server.addr(), "--json"]);
//! assert_eq!(run.json()["complete"], false);
//! let alpha = server.truth().repo("honest/alpha");
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};
use sha2::Digest as _;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use super::fault_proxy::{Head, Io, read_head, read_request_body};

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// Tags in the million-tag list.
pub const MILLION: usize = 1_000_000;
/// Entries of the index with thousands of platforms, and layers of the manifest with
/// thousands of layers.
pub const THOUSANDS: usize = 5_000;
/// History entries of the long-history config.
pub const HISTORY: usize = 50_000;
/// Levels of the deeply nested index (regatta follows 8).
pub const DEEP: usize = 12;

/// One way of lying, served in a repository of its own ([`Lie::repo`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Lie {
    // sizes
    NegativeSize,
    AbsurdSize,
    OverflowingSum,
    ImageTooLarge,
    ConfigSizeMismatch,
    ChildSizeMismatch,
    ContentLengthMismatch,
    // structure
    NestedShallow,
    NestedDeep,
    ManyPlatforms,
    ManyLayers,
    DuplicateLayers,
    MissingChild,
    WrongTypeChild,
    // identity
    DigestHeaderMismatch,
    BodyChanges,
    UnknownAlgorithm,
    UnknownAlgorithmHeader,
    UppercaseDigest,
    TruncatedDigest,
    // lists
    InvalidTagNames,
    InvalidRepositoryNames,
    NullTags,
    MillionTags,
    ForeignLink,
    // blobs
    RedirectLoop,
    CrossHostRedirect,
    ConfigWrongShape,
    ConfigLongHistory,
    // time
    DateFarFuture,
    DateBefore1970,
    DateNotRfc3339,
}

impl Lie {
    pub const ALL: [Lie; 32] = [
        Lie::NegativeSize,
        Lie::AbsurdSize,
        Lie::OverflowingSum,
        Lie::ImageTooLarge,
        Lie::ConfigSizeMismatch,
        Lie::ChildSizeMismatch,
        Lie::ContentLengthMismatch,
        Lie::NestedShallow,
        Lie::NestedDeep,
        Lie::ManyPlatforms,
        Lie::ManyLayers,
        Lie::DuplicateLayers,
        Lie::MissingChild,
        Lie::WrongTypeChild,
        Lie::DigestHeaderMismatch,
        Lie::BodyChanges,
        Lie::UnknownAlgorithm,
        Lie::UnknownAlgorithmHeader,
        Lie::UppercaseDigest,
        Lie::TruncatedDigest,
        Lie::InvalidTagNames,
        Lie::InvalidRepositoryNames,
        Lie::NullTags,
        Lie::MillionTags,
        Lie::ForeignLink,
        Lie::RedirectLoop,
        Lie::CrossHostRedirect,
        Lie::ConfigWrongShape,
        Lie::ConfigLongHistory,
        Lie::DateFarFuture,
        Lie::DateBefore1970,
        Lie::DateNotRfc3339,
    ];

    /// The repository the lie is served in.
    pub fn repo(self) -> &'static str {
        match self {
            Lie::NegativeSize => "lie/negative-size",
            Lie::AbsurdSize => "lie/absurd-size",
            Lie::OverflowingSum => "lie/overflowing-sum",
            Lie::ImageTooLarge => "lie/image-too-large",
            Lie::ConfigSizeMismatch => "lie/config-size",
            Lie::ChildSizeMismatch => "lie/child-size",
            Lie::ContentLengthMismatch => "lie/content-length",
            Lie::NestedShallow => "lie/nested-shallow",
            Lie::NestedDeep => "lie/nested-deep",
            Lie::ManyPlatforms => "lie/many-platforms",
            Lie::ManyLayers => "lie/many-layers",
            Lie::DuplicateLayers => "lie/duplicate-layers",
            Lie::MissingChild => "lie/missing-child",
            Lie::WrongTypeChild => "lie/wrong-type-child",
            Lie::DigestHeaderMismatch => "lie/digest-header",
            Lie::BodyChanges => "lie/body-changes",
            Lie::UnknownAlgorithm => "lie/unknown-algorithm",
            Lie::UnknownAlgorithmHeader => "lie/unknown-algorithm-header",
            Lie::UppercaseDigest => "lie/uppercase-digest",
            Lie::TruncatedDigest => "lie/truncated-digest",
            Lie::InvalidTagNames => "lie/invalid-tags",
            Lie::InvalidRepositoryNames => "lie/catalog",
            Lie::NullTags => "lie/null-tags",
            Lie::MillionTags => "lie/million-tags",
            Lie::ForeignLink => "lie/foreign-link",
            Lie::RedirectLoop => "lie/redirect-loop",
            Lie::CrossHostRedirect => "lie/cross-host-redirect",
            Lie::ConfigWrongShape => "lie/config-shape",
            Lie::ConfigLongHistory => "lie/config-history",
            Lie::DateFarFuture => "lie/date-9999",
            Lie::DateBefore1970 => "lie/date-1969",
            Lie::DateNotRfc3339 => "lie/date-text",
        }
    }
}

/// The honest repositories, whose numbers must come out exact whatever else lies.
pub const HONEST: [&str; 2] = ["honest/alpha", "honest/beta"];

/// What one tag is, from the bytes served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagTruth {
    pub digest: String,
    /// Config and distinct layer bytes (union over platforms).
    pub size: u64,
    pub created: Option<String>,
}

/// What one repository holds, from the bytes served.
#[derive(Debug, Clone, Default)]
pub struct RepoTruth {
    pub tags: BTreeMap<String, TagTruth>,
    /// Every blob its tags keep alive (manifest documents, configs, layers) and its length.
    pub blobs: BTreeMap<String, u64>,
}

/// The expected numbers of the repositories served exactly (the honest ones, and the lies
/// regatta is expected to measure right: nesting, duplicate layers, `null` tags, a
/// cross-host redirect, a long history).
#[derive(Debug, Clone, Default)]
pub struct Truth {
    pub repos: BTreeMap<String, RepoTruth>,
    /// The digest a lying repository's `v1` claims to be (HEAD's `Docker-Content-Digest`).
    pub claimed: BTreeMap<String, String>,
}

impl Truth {
    pub fn repo(&self, name: &str) -> &RepoTruth {
        self.repos
            .get(name)
            .unwrap_or_else(|| panic!("no truth for {name}"))
    }

    pub fn stored(&self, name: &str) -> u64 {
        self.repo(name).blobs.values().sum()
    }

    /// Sum of each tag's size (aliases counted again).
    pub fn logical(&self, name: &str) -> u64 {
        self.repo(name).tags.values().map(|t| t.size).sum()
    }

    /// Bytes of the blobs of `name` that no other repository served keeps alive.
    pub fn unique(&self, name: &str) -> u64 {
        self.repo(name)
            .blobs
            .iter()
            .filter(|(d, _)| {
                !self
                    .repos
                    .iter()
                    .any(|(other, r)| other != name && r.blobs.contains_key(*d))
            })
            .map(|(_, s)| s)
            .sum()
    }
}

/// One request the server saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub method: String,
    /// Path and query.
    pub target: String,
    /// It reached the "other host" listener.
    pub other_host: bool,
    pub authorization: bool,
}

#[derive(Debug, Clone)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Arc<Vec<u8>>,
}

#[derive(Debug, Clone)]
enum Route {
    Fixed(Reply),
    /// HEAD is answered from the first, GET from the second: the body changed in between.
    HeadThenGet(Reply, Reply),
    /// Announces `declared` bytes, sends the body (fewer) and closes the connection.
    ShortBody {
        declared: usize,
        reply: Reply,
    },
}

struct State {
    routes: HashMap<String, Route>,
    seen: Mutex<Vec<Seen>>,
    /// `Authorization` every `/v2/` request must carry, when set.
    basic: Option<String>,
}

/// The server: two loopback listeners (the registry and "another host") in a thread with
/// its own runtime. Dropping it closes every connection.
pub struct Hostile {
    addr: SocketAddr,
    other: SocketAddr,
    state: Arc<State>,
    truth: Truth,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for Hostile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hostile").field("addr", &self.addr).finish()
    }
}

impl Hostile {
    /// The honest repositories and `lies`, anonymous.
    pub fn start(lies: &[Lie]) -> Self {
        Self::launch(lies, None)
    }

    /// Every lie at once.
    pub fn all() -> Self {
        Self::start(&Lie::ALL)
    }

    /// Like [`start`](Self::start), but every `/v2/` request needs HTTP Basic credentials
    /// (`user`, `password`); the other host asks for none.
    pub fn with_basic_auth(lies: &[Lie], user: &str, password: &str) -> Self {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        Self::launch(lies, Some(format!("Basic {token}")))
    }

    fn launch(lies: &[Lie], basic: Option<String>) -> Self {
        let bind = || {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the hostile registry");
            l.set_nonblocking(true).expect("non-blocking");
            l
        };
        let (main, other) = (bind(), bind());
        let addr = main.local_addr().expect("its address");
        let other_addr = other.local_addr().expect("the other host's address");
        let mut b = Builder {
            routes: HashMap::new(),
            catalog: Vec::new(),
            truth: Truth::default(),
            other: format!("localhost:{}", other_addr.port()),
        };
        b.honest();
        for lie in lies {
            b.lie(*lie);
        }
        let catalog = serde_json::to_vec(&json!({ "repositories": b.catalog })).expect("json");
        b.routes
            .insert("/v2/_catalog".into(), Route::Fixed(json_reply(catalog)));
        b.routes
            .insert("/v2/".into(), Route::Fixed(json_reply(b"{}".to_vec())));
        let state = Arc::new(State {
            routes: b.routes,
            seen: Mutex::new(Vec::new()),
            basic,
        });
        let (tx, rx) = tokio::sync::oneshot::channel();
        let thread_state = Arc::clone(&state);
        let thread = std::thread::Builder::new()
            .name(format!("hostile-{}", addr.port()))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("the hostile registry's runtime");
                runtime.block_on(accept_loop(main, other, thread_state, rx));
                runtime.shutdown_timeout(Duration::from_secs(1));
            })
            .expect("start the hostile registry");
        Self {
            addr,
            other: other_addr,
            state,
            truth: b.truth,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    /// `127.0.0.1:PORT`: what to give regatta.
    pub fn addr(&self) -> String {
        self.addr.to_string()
    }

    /// `localhost:PORT` of the other host.
    pub fn other_host(&self) -> String {
        format!("localhost:{}", self.other.port())
    }

    pub fn truth(&self) -> &Truth {
        &self.truth
    }

    /// Every request seen so far, oldest first.
    pub fn requests(&self) -> Vec<Seen> {
        self.state
            .seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn sha(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

fn reply(status: u16, content_type: &str, body: Vec<u8>) -> Reply {
    Reply {
        status,
        headers: vec![("Content-Type".into(), content_type.into())],
        body: Arc::new(body),
    }
}

fn json_reply(body: Vec<u8>) -> Reply {
    reply(200, "application/json", body)
}

fn redirect(location: &str) -> Route {
    Route::Fixed(Reply {
        status: 307,
        headers: vec![("Location".into(), location.into())],
        body: Arc::new(Vec::new()),
    })
}

/// A descriptor of something served (or claimed).
#[derive(Debug, Clone)]
struct Desc {
    media_type: &'static str,
    digest: String,
    size: u64,
}

impl Desc {
    fn json(&self) -> Value {
        json!({ "mediaType": self.media_type, "digest": self.digest, "size": self.size })
    }
}

/// An image built by [`Builder::image`]: its manifest and what it keeps alive.
#[derive(Debug, Clone)]
struct Built {
    manifest: Desc,
    created: Option<String>,
    /// Config and layers, each once.
    blobs: BTreeMap<String, u64>,
}

impl Built {
    fn size(&self) -> u64 {
        self.blobs.values().sum()
    }
}

const CREATED: &str = "2024-03-01T12:00:00Z";

struct Builder {
    routes: HashMap<String, Route>,
    catalog: Vec<String>,
    truth: Truth,
    /// `localhost:PORT` of the other listener.
    other: String,
}

impl Builder {
    fn repo(&mut self, name: &str) {
        if !self.catalog.iter().any(|c| c == name) {
            self.catalog.push(name.to_string());
        }
    }

    fn tags(&mut self, repo: &str, tags: Value) {
        self.repo(repo);
        let body = serde_json::to_vec(&json!({ "name": repo, "tags": tags })).expect("json");
        self.routes.insert(
            format!("/v2/{repo}/tags/list"),
            Route::Fixed(json_reply(body)),
        );
    }

    fn blob(&mut self, repo: &str, media_type: &'static str, bytes: Vec<u8>) -> Desc {
        let desc = Desc {
            media_type,
            digest: sha(&bytes),
            size: bytes.len() as u64,
        };
        self.routes.insert(
            format!("/v2/{repo}/blobs/{}", desc.digest),
            Route::Fixed(reply(200, "application/octet-stream", bytes)),
        );
        desc
    }

    /// Serves `body` as a manifest under its digest and `tags`, with an honest
    /// `Docker-Content-Digest`.
    fn manifest(
        &mut self,
        repo: &str,
        tags: &[&str],
        media_type: &'static str,
        body: Vec<u8>,
    ) -> Desc {
        let desc = Desc {
            media_type,
            digest: sha(&body),
            size: body.len() as u64,
        };
        let mut r = reply(200, media_type, body);
        r.headers
            .push(("Docker-Content-Digest".into(), desc.digest.clone()));
        for reference in tags.iter().copied().chain([desc.digest.as_str()]) {
            self.routes.insert(
                format!("/v2/{repo}/manifests/{reference}"),
                Route::Fixed(r.clone()),
            );
        }
        desc
    }

    /// A config unique to `repo` (a label says whose), so no two repositories share one.
    fn config_bytes(repo: &str, created: Option<&str>, arch: &str) -> Vec<u8> {
        let mut config = json!({
            "architecture": arch,
            "os": "linux",
            "config": { "Env": ["PATH=/usr/bin"], "Labels": { "repository": repo } },
            "rootfs": { "type": "layers", "diff_ids": [] },
        });
        if let Some(c) = created {
            config["created"] = json!(c);
        }
        serde_json::to_vec(&config).expect("json")
    }

    /// An image manifest over `config` and `layers` (blobs served in `repo`), under `tags`.
    fn image_with(
        &mut self,
        repo: &str,
        tags: &[&str],
        config: Vec<u8>,
        created: Option<&str>,
        layers: &[Vec<u8>],
    ) -> Built {
        let config = self.blob(repo, OCI_CONFIG, config);
        let layers: Vec<Desc> = layers
            .iter()
            .map(|l| self.blob(repo, OCI_LAYER, l.clone()))
            .collect();
        let body = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": config.json(),
            "layers": layers.iter().map(Desc::json).collect::<Vec<_>>(),
        }))
        .expect("json");
        let manifest = self.manifest(repo, tags, OCI_MANIFEST, body);
        let mut blobs = BTreeMap::new();
        blobs.insert(config.digest.clone(), config.size);
        for l in &layers {
            blobs.insert(l.digest.clone(), l.size);
        }
        Built {
            manifest,
            created: created.map(str::to_string),
            blobs,
        }
    }

    fn image(&mut self, repo: &str, tags: &[&str], arch: &str, layers: &[Vec<u8>]) -> Built {
        let config = Self::config_bytes(repo, Some(CREATED), arch);
        self.image_with(repo, tags, config, Some(CREATED), layers)
    }

    /// An index over `children` (with platforms), under `tags`.
    fn index(&mut self, repo: &str, tags: &[&str], children: &[(Desc, &str)]) -> Desc {
        let body = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": children.iter().map(|(d, arch)| {
                let mut j = d.json();
                j["platform"] = json!({ "os": "linux", "architecture": arch });
                j
            }).collect::<Vec<_>>(),
        }))
        .expect("json");
        self.manifest(repo, tags, OCI_INDEX, body)
    }

    /// Records that `tags` of `repo` are `image` (its manifest documents `docs` included).
    fn record(
        &mut self,
        repo: &str,
        tags: &[&str],
        digest: &Desc,
        images: &[&Built],
        docs: &[&Desc],
    ) {
        let entry = self.truth.repos.entry(repo.to_string()).or_default();
        let mut blobs = BTreeMap::new();
        for image in images {
            blobs.extend(image.blobs.clone());
        }
        let size = blobs.values().sum();
        let created = images.iter().filter_map(|i| i.created.clone()).max();
        for t in tags {
            entry.tags.insert(
                t.to_string(),
                TagTruth {
                    digest: digest.digest.clone(),
                    size,
                    created: created.clone(),
                },
            );
        }
        entry.blobs.extend(blobs);
        entry.blobs.insert(digest.digest.clone(), digest.size);
        for image in images {
            entry
                .blobs
                .insert(image.manifest.digest.clone(), image.manifest.size);
        }
        for d in docs {
            entry.blobs.insert(d.digest.clone(), d.size);
        }
    }

    /// A simple image of its own under `tag` in `repo`, recorded in the truth.
    fn plain(&mut self, repo: &str, tags: &[&str]) -> Built {
        let built = self.image(repo, tags, "amd64", &[layer(repo, "plain", 321)]);
        self.record(repo, tags, &built.manifest.clone(), &[&built], &[]);
        built
    }

    fn honest(&mut self) {
        let base = layer("honest", "base", 2000);
        let a = "honest/alpha";
        let v1 = self.image(
            a,
            &["v1", "latest"],
            "amd64",
            &[base.clone(), layer(a, "1", 1500)],
        );
        let v2 = self.image(a, &["v2"], "amd64", &[base.clone(), layer(a, "2", 700)]);
        self.tags(a, json!(["v1", "latest", "v2"]));
        self.record(a, &["v1", "latest"], &v1.manifest.clone(), &[&v1], &[]);
        self.record(a, &["v2"], &v2.manifest.clone(), &[&v2], &[]);

        let b = "honest/beta";
        let amd = self.image(b, &[], "amd64", &[base, layer(b, "amd64", 900)]);
        let arm = self.image(
            b,
            &[],
            "arm64",
            &[layer(b, "base-arm", 1100), layer(b, "arm64", 400)],
        );
        let index = self.index(
            b,
            &["1.0", "stable"],
            &[
                (amd.manifest.clone(), "amd64"),
                (arm.manifest.clone(), "arm64"),
            ],
        );
        self.tags(b, json!(["1.0", "stable"]));
        self.record(b, &["1.0", "stable"], &index, &[&amd, &arm], &[]);
    }

    /// A manifest body written by hand (sizes and digests as the lie needs them).
    fn raw_image(&mut self, repo: &str, config: &Desc, layers: Vec<Value>) {
        let body = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": config.json(),
            "layers": layers,
        }))
        .expect("json");
        self.manifest(repo, &["v1"], OCI_MANIFEST, body);
        self.tags(repo, json!(["v1"]));
    }

    fn config_of(&mut self, repo: &str) -> Desc {
        self.blob(
            repo,
            OCI_CONFIG,
            Self::config_bytes(repo, Some(CREATED), "amd64"),
        )
    }

    fn lie(&mut self, lie: Lie) {
        let repo = lie.repo();
        let fake = |n: u32| sha(format!("{repo} fake {n}").as_bytes());
        match lie {
            Lie::NegativeSize => {
                let config = self.config_of(repo);
                let body = format!(
                    r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{},"layers":[{{"mediaType":"{OCI_LAYER}","digest":"{}","size":-5}}]}}"#,
                    config.json(),
                    fake(1)
                );
                self.manifest(repo, &["v1"], OCI_MANIFEST, body.into_bytes());
                self.tags(repo, json!(["v1"]));
            }
            Lie::AbsurdSize => {
                let config = self.config_of(repo);
                let layers =
                    vec![json!({"mediaType": OCI_LAYER, "digest": fake(1), "size": u64::MAX})];
                self.raw_image(repo, &config, layers);
            }
            Lie::OverflowingSum => {
                // With the config, a wrapping sum comes to a few hundred bytes.
                let half = (1u64 << 63) + 56;
                let config = self.config_of(repo);
                let layers = vec![
                    json!({"mediaType": OCI_LAYER, "digest": fake(1), "size": half}),
                    json!({"mediaType": OCI_LAYER, "digest": fake(2), "size": half}),
                ];
                self.raw_image(repo, &config, layers);
            }
            Lie::ImageTooLarge => {
                // Each layer believable (2^52 bytes), the image not (3 * 2^52 > 2^53).
                let config = self.config_of(repo);
                let layers = (1..=3)
                    .map(|n| json!({"mediaType": OCI_LAYER, "digest": fake(n), "size": 1u64 << 52}))
                    .collect();
                self.raw_image(repo, &config, layers);
            }
            Lie::ConfigSizeMismatch => {
                let mut config = self.config_of(repo);
                config.size += 100;
                let layers = vec![self.blob(repo, OCI_LAYER, layer(repo, "1", 200)).json()];
                self.raw_image(repo, &config, layers);
            }
            Lie::ChildSizeMismatch => {
                let child = self.image(repo, &[], "amd64", &[layer(repo, "1", 300)]);
                let mut claimed = child.manifest.clone();
                claimed.size += 1;
                self.index(repo, &["v1"], &[(claimed, "amd64")]);
                self.tags(repo, json!(["v1"]));
            }
            Lie::ContentLengthMismatch => {
                let config = self.config_of(repo);
                let path = format!("/v2/{repo}/blobs/{}", config.digest);
                let Some(Route::Fixed(r)) = self.routes.get(&path).cloned() else {
                    unreachable!("the config was just served")
                };
                self.routes.insert(
                    path,
                    Route::ShortBody {
                        declared: r.body.len() + 50,
                        reply: r,
                    },
                );
                let layers = vec![self.blob(repo, OCI_LAYER, layer(repo, "1", 200)).json()];
                self.raw_image(repo, &config, layers);
            }
            Lie::NestedShallow => {
                let amd = self.image(repo, &[], "amd64", &[layer(repo, "amd", 600)]);
                let arm = self.image(repo, &[], "arm64", &[layer(repo, "arm", 800)]);
                let inner = self.index(
                    repo,
                    &[],
                    &[
                        (amd.manifest.clone(), "amd64"),
                        (arm.manifest.clone(), "arm64"),
                    ],
                );
                let outer = self.index(repo, &["v1"], &[(inner.clone(), "amd64")]);
                self.tags(repo, json!(["v1"]));
                self.record(repo, &["v1"], &outer, &[&amd, &arm], &[&inner]);
            }
            Lie::NestedDeep => {
                let image = self.image(repo, &[], "amd64", &[layer(repo, "1", 500)]);
                let mut inner = image.manifest.clone();
                for level in 0..DEEP {
                    let tags: &[&str] = if level + 1 == DEEP { &["v1"] } else { &[] };
                    inner = self.index(repo, tags, &[(inner, "amd64")]);
                }
                self.tags(repo, json!(["v1"]));
            }
            Lie::ManyPlatforms => {
                let children: Vec<(Desc, &str)> = (0..THOUSANDS as u32)
                    .map(|n| {
                        let d = Desc {
                            media_type: OCI_MANIFEST,
                            digest: fake(n),
                            size: 500,
                        };
                        (d, "amd64")
                    })
                    .collect();
                self.index(repo, &["v1"], &children);
                self.tags(repo, json!(["v1"]));
            }
            Lie::ManyLayers => {
                let config = self.config_of(repo);
                let layers = (0..THOUSANDS as u32)
                    .map(|n| json!({"mediaType": OCI_LAYER, "digest": fake(n), "size": 1000}))
                    .collect();
                self.raw_image(repo, &config, layers);
            }
            Lie::DuplicateLayers => {
                let once = layer(repo, "1", 1200);
                let built = self.image(
                    repo,
                    &["v1"],
                    "amd64",
                    &[once.clone(), layer(repo, "2", 300), once.clone(), once],
                );
                self.tags(repo, json!(["v1"]));
                self.record(repo, &["v1"], &built.manifest.clone(), &[&built], &[]);
            }
            Lie::MissingChild => {
                let child = self.image(repo, &[], "amd64", &[layer(repo, "1", 300)]);
                let missing = Desc {
                    media_type: OCI_MANIFEST,
                    digest: fake(1),
                    size: 400,
                };
                self.index(
                    repo,
                    &["v1"],
                    &[(child.manifest.clone(), "amd64"), (missing, "arm64")],
                );
                self.tags(repo, json!(["v1"]));
            }
            Lie::WrongTypeChild => {
                // The index lists an image config where a platform manifest should be.
                let config = Self::config_bytes(repo, Some(CREATED), "arm64");
                let digest = sha(&config);
                self.routes.insert(
                    format!("/v2/{repo}/manifests/{digest}"),
                    Route::Fixed(reply(200, OCI_CONFIG, config.clone())),
                );
                let child = Desc {
                    media_type: OCI_MANIFEST,
                    digest,
                    size: config.len() as u64,
                };
                self.index(repo, &["v1"], &[(child, "arm64")]);
                self.tags(repo, json!(["v1"]));
            }
            Lie::DigestHeaderMismatch => {
                let built = self.image(repo, &[], "amd64", &[layer(repo, "1", 300)]);
                let Some(Route::Fixed(mut r)) = self
                    .routes
                    .get(&format!("/v2/{repo}/manifests/{}", built.manifest.digest))
                    .cloned()
                else {
                    unreachable!("the manifest was just served")
                };
                let claimed = fake(1);
                r.headers.retain(|(k, _)| k != "Docker-Content-Digest");
                r.headers
                    .push(("Docker-Content-Digest".into(), claimed.clone()));
                for reference in ["v1", claimed.as_str()] {
                    self.routes.insert(
                        format!("/v2/{repo}/manifests/{reference}"),
                        Route::Fixed(r.clone()),
                    );
                }
                self.tags(repo, json!(["v1"]));
            }
            Lie::BodyChanges => {
                let first = self.image(repo, &[], "amd64", &[layer(repo, "1", 300)]);
                let second = self.image(repo, &[], "amd64", &[layer(repo, "2", 300)]);
                let get = |b: &Builder, d: &Desc| match b
                    .routes
                    .get(&format!("/v2/{repo}/manifests/{}", d.digest))
                {
                    Some(Route::Fixed(r)) => r.clone(),
                    _ => unreachable!("the manifest was just served"),
                };
                let (head, body) = (get(self, &first.manifest), get(self, &second.manifest));
                self.truth
                    .claimed
                    .insert(repo.to_string(), first.manifest.digest.clone());
                for reference in ["v1", first.manifest.digest.as_str()] {
                    self.routes.insert(
                        format!("/v2/{repo}/manifests/{reference}"),
                        Route::HeadThenGet(head.clone(), body.clone()),
                    );
                }
                self.tags(repo, json!(["v1"]));
            }
            Lie::UnknownAlgorithm => {
                let config = self.config_of(repo);
                let layers = vec![
                    json!({"mediaType": OCI_LAYER, "digest": "md5:d41d8cd98f00b204e9800998ecf8427e", "size": 100}),
                ];
                self.raw_image(repo, &config, layers);
            }
            Lie::UnknownAlgorithmHeader => {
                let built = self.image(repo, &[], "amd64", &[layer(repo, "1", 300)]);
                let Some(Route::Fixed(mut r)) = self
                    .routes
                    .get(&format!("/v2/{repo}/manifests/{}", built.manifest.digest))
                    .cloned()
                else {
                    unreachable!("the manifest was just served")
                };
                r.headers.retain(|(k, _)| k != "Docker-Content-Digest");
                r.headers.push((
                    "Docker-Content-Digest".into(),
                    format!("blake3:{}", &built.manifest.digest[7..]),
                ));
                for reference in ["v1", built.manifest.digest.as_str()] {
                    self.routes.insert(
                        format!("/v2/{repo}/manifests/{reference}"),
                        Route::Fixed(r.clone()),
                    );
                }
                self.tags(repo, json!(["v1"]));
            }
            Lie::UppercaseDigest => {
                let config = self.config_of(repo);
                let upper = format!("sha256:{}", fake(1)[7..].to_uppercase());
                let layers = vec![json!({"mediaType": OCI_LAYER, "digest": upper, "size": 100})];
                self.raw_image(repo, &config, layers);
            }
            Lie::TruncatedDigest => {
                let config = self.config_of(repo);
                let short = fake(1)[..7 + 32].to_string();
                let layers = vec![json!({"mediaType": OCI_LAYER, "digest": short, "size": 100})];
                self.raw_image(repo, &config, layers);
            }
            Lie::InvalidTagNames => {
                self.plain(repo, &["v1"]);
                self.tags(
                    repo,
                    json!([
                        "v1",
                        "bad\u{0}nul",
                        "bad\nnewline",
                        "x".repeat(5_000),
                        "../../etc/passwd",
                        "v1"
                    ]),
                );
            }
            Lie::InvalidRepositoryNames => {
                self.plain(repo, &["v1"]);
                self.tags(repo, json!(["v1"]));
                for bad in [
                    "../escape".to_string(),
                    "nul\u{0}name".to_string(),
                    "new\nline".to_string(),
                    "r".repeat(5_000),
                    "honest/alpha".to_string(),
                ] {
                    self.catalog.push(bad);
                }
            }
            Lie::NullTags => {
                self.tags(repo, Value::Null);
                self.truth.repos.entry(repo.to_string()).or_default();
            }
            Lie::MillionTags => {
                self.repo(repo);
                self.routes.insert(
                    format!("/v2/{repo}/tags/list"),
                    Route::Fixed(Reply {
                        status: 200,
                        headers: vec![("Content-Type".into(), "application/json".into())],
                        body: million_tags(),
                    }),
                );
            }
            Lie::ForeignLink => {
                self.plain(repo, &["v1"]);
                self.tags(repo, json!(["v1"]));
                let path = format!("/v2/{repo}/tags/list");
                if let Some(Route::Fixed(r)) = self.routes.get_mut(&path) {
                    r.headers.push((
                        "Link".into(),
                        format!("<http://{}{path}?last=v1&n=100>; rel=\"next\"", self.other),
                    ));
                }
            }
            Lie::RedirectLoop => {
                let config = self.config_of(repo);
                self.routes.insert(
                    format!("/v2/{repo}/blobs/{}", config.digest),
                    redirect("/storage/loop/a"),
                );
                self.routes
                    .insert("/storage/loop/a".into(), redirect("/storage/loop/b"));
                self.routes
                    .insert("/storage/loop/b".into(), redirect("/storage/loop/a"));
                let layers = vec![self.blob(repo, OCI_LAYER, layer(repo, "1", 200)).json()];
                self.raw_image(repo, &config, layers);
            }
            Lie::CrossHostRedirect => {
                let built = self.plain(repo, &["v1"]);
                self.tags(repo, json!(["v1"]));
                let config = built
                    .blobs
                    .keys()
                    .find(|d| {
                        matches!(self.routes.get(&format!("/v2/{repo}/blobs/{d}")), Some(Route::Fixed(r)) if r.body.starts_with(b"{"))
                    })
                    .cloned()
                    .expect("the config");
                let path = format!("/v2/{repo}/blobs/{config}");
                let served = self.routes.remove(&path).expect("the config route");
                let storage = format!("/storage/{}", &config[7..]);
                self.routes.insert(storage.clone(), served);
                self.routes.insert(
                    path,
                    redirect(&format!("http://{}{storage}?signature=abc", self.other)),
                );
            }
            Lie::ConfigWrongShape => {
                let config = self.blob(
                    repo,
                    OCI_CONFIG,
                    br#"{"architecture":5,"os":["linux"],"history":{"not":"a list"}}"#.to_vec(),
                );
                let layers = vec![self.blob(repo, OCI_LAYER, layer(repo, "1", 200)).json()];
                self.raw_image(repo, &config, layers);
            }
            Lie::ConfigLongHistory => {
                let mut config: Value =
                    serde_json::from_slice(&Self::config_bytes(repo, Some(CREATED), "amd64"))
                        .expect("json");
                config["history"] = Value::Array(
                    (0..HISTORY)
                        .map(|n| json!({ "created_by": format!("RUN step {n}"), "empty_layer": true }))
                        .collect(),
                );
                let config = serde_json::to_vec(&config).expect("json");
                let built = self.image_with(
                    repo,
                    &["v1"],
                    config,
                    Some(CREATED),
                    &[layer(repo, "1", 250)],
                );
                self.tags(repo, json!(["v1"]));
                self.record(repo, &["v1"], &built.manifest.clone(), &[&built], &[]);
            }
            Lie::DateFarFuture | Lie::DateBefore1970 | Lie::DateNotRfc3339 => {
                let created = match lie {
                    Lie::DateFarFuture => "9999-12-31T23:59:59Z",
                    Lie::DateBefore1970 => "1969-07-20T20:17:40Z",
                    _ => "last Tuesday",
                };
                let config = Self::config_bytes(repo, Some(created), "amd64");
                self.image_with(repo, &["v1"], config, None, &[layer(repo, "1", 200)]);
                self.tags(repo, json!(["v1"]));
            }
        }
    }
}

/// Deterministic layer bytes of `len`, unique to `repo` and `name`.
fn layer(repo: &str, name: &str, len: usize) -> Vec<u8> {
    let seed = format!("{repo}/{name}:");
    seed.bytes().cycle().take(len).collect()
}

/// The million-tag list, built once per test binary: `{"name":...,"tags":["t0",...]}`.
fn million_tags() -> Arc<Vec<u8>> {
    static BODY: OnceLock<Arc<Vec<u8>>> = OnceLock::new();
    BODY.get_or_init(|| {
        let mut body = String::with_capacity(MILLION * 11 + 64);
        body.push_str(r#"{"name":"lie/million-tags","tags":["#);
        for n in 0..MILLION {
            if n > 0 {
                body.push(',');
            }
            body.push_str(&format!("\"t{n}\""));
        }
        body.push_str("]}");
        Arc::new(body.into_bytes())
    })
    .clone()
}

async fn accept_loop(
    main: std::net::TcpListener,
    other: std::net::TcpListener,
    state: Arc<State>,
    mut shutdown: tokio::sync::oneshot::Receiver<()>,
) {
    let main = TcpListener::from_std(main).expect("a tokio listener");
    let other = TcpListener::from_std(other).expect("a tokio listener");
    loop {
        let (accepted, other_host) = tokio::select! {
            _ = &mut shutdown => return,
            a = main.accept() => (a, false),
            a = other.accept() => (a, true),
        };
        let Ok((stream, _)) = accepted else { continue };
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            let _ = serve(state, stream, other_host).await;
        });
    }
}

fn not_found(path: &str) -> Reply {
    let code = if path.contains("/manifests/") {
        "MANIFEST_UNKNOWN"
    } else if path.contains("/blobs/") {
        "BLOB_UNKNOWN"
    } else {
        "NAME_UNKNOWN"
    };
    let body = format!(r#"{{"errors":[{{"code":"{code}","message":"not here"}}]}}"#);
    reply(404, "application/json", body.into_bytes())
}

fn head_bytes(r: &Reply, content_length: usize) -> Vec<u8> {
    let reason = match r.status {
        200 => "OK",
        307 => "Temporary Redirect",
        401 => "Unauthorized",
        404 => "Not Found",
        _ => "Lie",
    };
    let mut out = format!("HTTP/1.1 {} {reason}\r\n", r.status);
    for (k, v) in &r.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!("Content-Length: {content_length}\r\n\r\n"));
    out.into_bytes()
}

/// One client connection: requests one after the other until the client closes.
async fn serve(state: Arc<State>, stream: TcpStream, other_host: bool) -> Io<()> {
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(stream);
    loop {
        let Some(head) = read_head(&mut reader).await? else {
            return Ok(());
        };
        let _ = read_request_body(&mut reader, &head).await?;
        let (method, target) = request_line(&head);
        let authorization = head.header("authorization").map(str::to_string);
        state
            .seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Seen {
                method: method.clone(),
                target: target.clone(),
                other_host,
                authorization: authorization.is_some(),
            });
        let path = target.split('?').next().unwrap_or("").to_string();
        let is_head = method.eq_ignore_ascii_case("HEAD");
        let client = reader.get_mut();
        let needs_auth = !other_host
            && path.starts_with("/v2/")
            && state
                .basic
                .as_ref()
                .is_some_and(|b| authorization.as_deref() != Some(b.as_str()));
        let route = if needs_auth {
            Route::Fixed(Reply {
                status: 401,
                headers: vec![("WWW-Authenticate".into(), r#"Basic realm="hostile""#.into())],
                body: Arc::new(
                    br#"{"errors":[{"code":"UNAUTHORIZED","message":"who are you"}]}"#.to_vec(),
                ),
            })
        } else {
            // The other host serves only storage.
            match state.routes.get(&path) {
                Some(r) if !other_host || path.starts_with("/storage/") => r.clone(),
                _ => Route::Fixed(not_found(&path)),
            }
        };
        match route {
            Route::Fixed(r) => send(client, &r, is_head).await?,
            Route::HeadThenGet(head_reply, get_reply) => {
                let r = if is_head { head_reply } else { get_reply };
                send(client, &r, is_head).await?;
            }
            Route::ShortBody { declared, reply } => {
                client.write_all(&head_bytes(&reply, declared)).await?;
                if !is_head {
                    client.write_all(&reply.body).await?;
                }
                client.flush().await?;
                client.shutdown().await?;
                return Ok(());
            }
        }
    }
}

fn request_line(head: &Head) -> (String, String) {
    let mut parts = head.first_line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("").to_string();
    (method, target)
}

async fn send(client: &mut TcpStream, r: &Reply, is_head: bool) -> Io<()> {
    client.write_all(&head_bytes(r, r.body.len())).await?;
    if !is_head {
        client.write_all(&r.body).await?;
    }
    client.flush().await
}

/// Every blob digest a set of [`Seen`] requests asked for on the other host, for checks on
/// what went where.
pub fn other_host_targets(seen: &[Seen]) -> BTreeSet<String> {
    seen.iter()
        .filter(|s| s.other_host)
        .map(|s| s.target.clone())
        .collect()
}
