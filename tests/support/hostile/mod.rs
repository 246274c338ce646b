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
//! What it serves is built once at start: `content.rs` holds the builder and the honest
//! repositories, `lies.rs` one repository per [`Lie`].
//!
//! ```ignore
//! let server = Hostile::start(&[Lie::NestedDeep]);
//! let run = Sandbox::new().run(&["du", &server.addr(), "--json"]);
//! assert_eq!(run.json()["complete"], false);
//! let alpha = server.truth().repo("honest/alpha");
//! ```

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use serde_json::json;
use sha2::Digest as _;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use super::fault_proxy::{Head, Io, read_head, read_request_body};

mod content;
mod lies;

use content::Builder;

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
    IndexTooLarge,
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
    pub const ALL: [Lie; 33] = [
        Lie::NegativeSize,
        Lie::AbsurdSize,
        Lie::OverflowingSum,
        Lie::ImageTooLarge,
        Lie::IndexTooLarge,
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
            Lie::IndexTooLarge => "lie/index-too-large",
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
