//! A loopback HTTP/1.1 proxy in front of a real registry that misbehaves on request: it adds
//! latency, resets a connection mid-body, sends a short body or one cut at a given byte,
//! drops a request's `Range`, answers 500 or 429 itself,
//! stalls, holds a request at a [`Gate`] until the test opens it, or serves the same catalog
//! page forever. Everything else passes through untouched,
//! so the tests see the real registry's answers except where a fault says otherwise.
//!
//! It reads each request (request line, headers, body), forwards it on a fresh upstream
//! connection (`Connection: close`), reads the whole response (Content-Length, chunked or to
//! the end), and answers the client with a Content-Length body on a kept-alive connection.
//! Faults are [`Rule`]s: method + path prefix, for the first N matching requests or always;
//! the first rule with uses left wins. Every request is recorded ([`FaultProxy::requests`]),
//! with the status it was answered with, so tests count retries and deletes here; the peak of
//! requests waiting at once shows how much concurrency a client allowed itself.
//!
//! ```ignore
//! let proxy = FaultProxy::start(&registry.addr());
//! proxy.add(Rule::first(2, "GET", "/v2/app/tags/list", Fault::status(500)));
//! sandbox.run(&["tags", &format!("{}/app", proxy.addr())]).ok();
//! assert_eq!(proxy.count("GET", "/v2/app/tags/list"), 3);
//! ```

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// Request heads and response heads larger than this are refused (a test bug, not a fault).
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// What a rule does to a matching request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Waits this long, then forwards the request as usual.
    Latency(Duration),
    /// Forwards, then sends the response head and half the body and resets the connection
    /// (RST). A response without a body is reset before its head.
    ResetMidBody,
    /// Forwards, then sends the head (with the full Content-Length) and half the body and
    /// closes the connection normally (FIN): a body shorter than announced.
    TruncateBody,
    /// Forwards, then sends the head (with the full Content-Length) and the first this many
    /// bytes of the body, and closes the connection normally (FIN): a download that breaks
    /// off at a known byte.
    CutAfter(usize),
    /// Forwards the request without its `Range` header: a proxy or cache in front of the
    /// registry that ignores ranges (the registry answers 200 with the whole body).
    DropRange,
    /// Answers this status itself (an OCI error envelope body), without forwarding.
    Status {
        status: u16,
        retry_after: Option<u64>,
    },
    /// Reads the request and never answers; the connection stays open until the client
    /// gives up (or the proxy goes away).
    Stall,
    /// Holds the request until the gate is open, then forwards it as usual (whether or not
    /// the client is still there): a request "on its way" for as long as the test wants,
    /// with no clock involved.
    Hold(Gate),
    /// Forwards, and sets the response's `Link` to `rel="next"` at the very URL requested.
    SamePageForever,
    /// Forwards, and sets `Link` to the same page under a URL never used before (an extra
    /// query parameter the registry ignores), so only the items show it is the same page.
    SamePageUnderNewUrls,
}

impl Fault {
    pub fn status(status: u16) -> Self {
        Fault::Status {
            status,
            retry_after: None,
        }
    }

    /// 429 with `Retry-After: 1`.
    pub fn too_many_requests() -> Self {
        Fault::Status {
            status: 429,
            retry_after: Some(1),
        }
    }

    fn name(&self) -> String {
        match self {
            Fault::Latency(d) => format!("latency {d:?}"),
            Fault::ResetMidBody => "reset mid-body".into(),
            Fault::TruncateBody => "truncated body".into(),
            Fault::CutAfter(n) => format!("cut after {n} bytes"),
            Fault::DropRange => "Range dropped".into(),
            Fault::Status { status, .. } => format!("answered {status}"),
            Fault::Stall => "stalled".into(),
            Fault::Hold(_) => "held at a gate".into(),
            Fault::SamePageForever => "same page forever".into(),
            Fault::SamePageUnderNewUrls => "same page under new URLs".into(),
        }
    }
}

/// Where [`Fault::Hold`] requests wait; closed until [`Gate::open`], open for good after.
#[derive(Clone)]
pub struct Gate(Arc<tokio::sync::watch::Sender<bool>>);

impl Gate {
    pub fn new() -> Self {
        Self(Arc::new(tokio::sync::watch::Sender::new(false)))
    }

    /// Lets every held request and every later one through.
    pub fn open(&self) {
        self.0.send_replace(true);
    }

    async fn passed(&self) {
        let mut open = self.0.subscribe();
        // The sender lives in `self`: waiting cannot fail.
        let _ = open.wait_for(|open| *open).await;
    }
}

impl Default for Gate {
    fn default() -> Self {
        Self::new()
    }
}

impl PartialEq for Gate {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Gate {}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = if *self.0.borrow() { "open" } else { "closed" };
        write!(f, "Gate({state})")
    }
}

/// Which requests a fault applies to, and how often.
#[derive(Debug, Clone)]
pub struct Rule {
    method: String,
    path_prefix: String,
    /// Uses left; `None`: every matching request.
    remaining: Option<usize>,
    fault: Fault,
}

impl Rule {
    /// `fault` for the first `n` requests with `method` whose path and query start with
    /// `path_prefix`; later ones pass.
    pub fn first(n: usize, method: &str, path_prefix: &str, fault: Fault) -> Self {
        Self {
            method: method.to_string(),
            path_prefix: path_prefix.to_string(),
            remaining: Some(n),
            fault,
        }
    }

    /// `fault` for every matching request.
    pub fn always(method: &str, path_prefix: &str, fault: Fault) -> Self {
        Self {
            method: method.to_string(),
            path_prefix: path_prefix.to_string(),
            remaining: None,
            fault,
        }
    }

    fn matches(&self, method: &str, target: &str) -> bool {
        self.remaining != Some(0)
            && self.method.eq_ignore_ascii_case(method)
            && target.starts_with(&self.path_prefix)
    }
}

/// One request the proxy saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub method: String,
    /// Path and query, as requested.
    pub target: String,
    /// The fault applied, if any (`"answered 500"`, `"reset mid-body"`, ...).
    pub fault: Option<String>,
    /// The status the client was (or was to be) answered with: the registry's, or the one
    /// the proxy made up. `None` while in flight, or when the request got no answer.
    pub status: Option<u16>,
    /// A stalled request whose client closed the connection (gave up, or was cancelled).
    pub abandoned: bool,
    /// The request's `Range` header, if it had one.
    pub range: Option<String>,
}

struct State {
    upstream: SocketAddr,
    rules: Mutex<Vec<Rule>>,
    seen: Mutex<Vec<Seen>>,
    in_flight: AtomicUsize,
    /// Requests received and not answered yet (the client is still waiting for the head).
    waiting: AtomicUsize,
    /// The most requests ever waiting at once.
    peak_waiting: AtomicUsize,
    /// Makes the URLs of [`Fault::SamePageUnderNewUrls`] new every time.
    loop_counter: AtomicUsize,
}

impl State {
    fn lock_rules(&self) -> std::sync::MutexGuard<'_, Vec<Rule>> {
        self.rules.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_seen(&self) -> std::sync::MutexGuard<'_, Vec<Seen>> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a request and takes one use of the first matching rule.
    fn arrive(&self, method: &str, target: &str, range: Option<&str>) -> (usize, Option<Fault>) {
        let fault = {
            let mut rules = self.lock_rules();
            rules
                .iter_mut()
                .find(|r| r.matches(method, target))
                .map(|rule| {
                    if let Some(n) = &mut rule.remaining {
                        *n -= 1;
                    }
                    rule.fault.clone()
                })
        };
        let mut seen = self.lock_seen();
        seen.push(Seen {
            method: method.to_string(),
            target: target.to_string(),
            fault: fault.as_ref().map(Fault::name),
            status: None,
            abandoned: false,
            range: range.map(str::to_string),
        });
        (seen.len() - 1, fault)
    }

    fn abandoned(&self, index: usize) {
        if let Some(s) = self.lock_seen().get_mut(index) {
            s.abandoned = true;
        }
    }

    fn answered(&self, index: usize, status: u16) {
        if let Some(s) = self.lock_seen().get_mut(index) {
            s.status = Some(status);
        }
    }
}

/// Counts a request in flight until dropped (also when its task is cancelled).
struct InFlight<'a>(&'a AtomicUsize);

impl<'a> InFlight<'a> {
    fn new(counter: &'a AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        Self(counter)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Counts a request as waiting for its answer from its arrival until [`Waiting::answer`]
/// (or until dropped), and keeps the peak. A client holds its concurrency permit for at least
/// this long, so the peak is a lower bound of what the client allowed itself.
struct Waiting<'a>(Option<&'a State>);

impl<'a> Waiting<'a> {
    fn new(state: &'a State) -> Self {
        let now = state.waiting.fetch_add(1, Ordering::SeqCst) + 1;
        state.peak_waiting.fetch_max(now, Ordering::SeqCst);
        Self(Some(state))
    }

    /// The answer is about to be written.
    fn answer(&mut self) {
        if let Some(state) = self.0.take() {
            state.waiting.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.answer();
    }
}

/// The proxy: listening on a loopback port of its own, in a thread with its own runtime
/// (usable from plain `#[test]`s and async tests alike). Dropping it closes every connection.
pub struct FaultProxy {
    addr: SocketAddr,
    state: Arc<State>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for FaultProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultProxy")
            .field("addr", &self.addr)
            .field("upstream", &self.state.upstream)
            .finish()
    }
}

impl FaultProxy {
    /// A proxy forwarding to `upstream` (`127.0.0.1:PORT`, plain HTTP), with no rules yet.
    pub fn start(upstream: &str) -> Self {
        let upstream: SocketAddr = upstream.parse().expect("upstream is IP:PORT");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        listener.set_nonblocking(true).expect("non-blocking");
        let addr = listener.local_addr().expect("the proxy's address");
        let state = Arc::new(State {
            upstream,
            rules: Mutex::new(Vec::new()),
            seen: Mutex::new(Vec::new()),
            in_flight: AtomicUsize::new(0),
            waiting: AtomicUsize::new(0),
            peak_waiting: AtomicUsize::new(0),
            loop_counter: AtomicUsize::new(0),
        });
        let (tx, rx) = tokio::sync::oneshot::channel();
        let thread_state = Arc::clone(&state);
        let thread = std::thread::Builder::new()
            .name(format!("fault-proxy-{}", addr.port()))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("the proxy's runtime");
                runtime.block_on(accept_loop(listener, thread_state, rx));
                // Dropping the runtime cancels every connection task, stalled ones included.
                runtime.shutdown_timeout(Duration::from_secs(1));
            })
            .expect("start the proxy thread");
        Self {
            addr,
            state,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    /// A proxy that delays every request by `delay` before passing it on, and changes
    /// nothing else: how a scan behaves when each round trip costs what it costs on a real
    /// network. Requests on different connections wait side by side, so a client's
    /// concurrency is kept.
    pub fn with_latency(upstream: &str, delay: Duration) -> Self {
        let proxy = Self::start(upstream);
        for method in ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"] {
            proxy.add(Rule::always(method, "/", Fault::Latency(delay)));
        }
        proxy
    }

    /// `127.0.0.1:PORT`: what to give regatta instead of the registry's address.
    pub fn addr(&self) -> String {
        self.addr.to_string()
    }

    /// Adds a rule after the existing ones.
    pub fn add(&self, rule: Rule) -> &Self {
        self.state.lock_rules().push(rule);
        self
    }

    /// Removes every rule: from now on everything passes.
    pub fn clear(&self) {
        self.state.lock_rules().clear();
    }

    /// Every request seen so far, oldest first.
    pub fn requests(&self) -> Vec<Seen> {
        self.state.lock_seen().clone()
    }

    /// The first request seen with this method whose path starts with `prefix`.
    pub fn first_seen(&self, method: &str, prefix: &str) -> Option<Seen> {
        self.state
            .lock_seen()
            .iter()
            .find(|r| r.method == method && r.target.starts_with(prefix))
            .cloned()
    }

    /// Requests with `method` whose path and query start with `prefix`.
    pub fn count(&self, method: &str, prefix: &str) -> usize {
        self.requests()
            .iter()
            .filter(|s| s.method.eq_ignore_ascii_case(method) && s.target.starts_with(prefix))
            .count()
    }

    /// Like [`count`](Self::count), only those answered with `status`.
    pub fn count_status(&self, method: &str, prefix: &str, status: u16) -> usize {
        self.requests()
            .iter()
            .filter(|s| {
                s.method.eq_ignore_ascii_case(method)
                    && s.target.starts_with(prefix)
                    && s.status == Some(status)
            })
            .count()
    }

    /// The most requests that were ever waiting for an answer at once (from the arrival of
    /// the request to the first byte of the answer).
    pub fn peak_concurrency(&self) -> usize {
        self.state.peak_waiting.load(Ordering::SeqCst)
    }

    /// Waits until no request is being handled (a delayed one has reached the registry and
    /// its answer is back), failing after `timeout`.
    pub fn wait_idle(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while self.state.in_flight.load(Ordering::SeqCst) > 0 {
            assert!(
                Instant::now() < deadline,
                "the fault proxy still handles a request after {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn accept_loop(
    listener: std::net::TcpListener,
    state: Arc<State>,
    mut shutdown: tokio::sync::oneshot::Receiver<()>,
) {
    let listener = TcpListener::from_std(listener).expect("a tokio listener");
    loop {
        tokio::select! {
            _ = &mut shutdown => return,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let state = Arc::clone(&state);
                tokio::spawn(async move {
                    let _ = serve(state, stream).await;
                });
            }
        }
    }
}

/// A request or response head: the first line and the header fields, in order. Also read
/// by the hostile registry ([`super::hostile`]).
#[derive(Debug, Clone)]
pub struct Head {
    pub first_line: String,
    pub headers: Vec<(String, String)>,
}

impl Head {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn content_length(&self) -> Option<usize> {
        self.header("content-length")
            .and_then(|v| v.trim().parse().ok())
    }

    fn is_chunked(&self) -> bool {
        self.header("transfer-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    }

    fn without(&self, names: &[&str]) -> Vec<(String, String)> {
        self.headers
            .iter()
            .filter(|(k, _)| !names.iter().any(|n| k.eq_ignore_ascii_case(n)))
            .cloned()
            .collect()
    }
}

pub type Io<T> = std::io::Result<T>;

fn bad(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string())
}

/// Reads a head; `None` when the peer closed before sending anything.
pub async fn read_head<R: AsyncBufReadExt + Unpin>(reader: &mut R) -> Io<Option<Head>> {
    let mut lines = Vec::new();
    let mut total = 0;
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line).await?;
        if n == 0 {
            return if lines.is_empty() {
                Ok(None)
            } else {
                Err(bad("the head broke off"))
            };
        }
        total += n;
        if total > MAX_HEAD_BYTES {
            return Err(bad("head too large"));
        }
        let line = line.trim_end_matches(['\r', '\n']).to_string();
        if line.is_empty() {
            if lines.is_empty() {
                continue; // a stray CRLF between requests
            }
            break;
        }
        lines.push(line);
    }
    let first_line = lines.remove(0);
    let headers = lines
        .into_iter()
        .filter_map(|l| {
            l.split_once(':')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        })
        .collect();
    Ok(Some(Head {
        first_line,
        headers,
    }))
}

/// Reads a chunked body to its end (trailers dropped).
async fn read_chunked<R: AsyncBufReadExt + Unpin>(reader: &mut R) -> Io<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size_line = String::new();
        if reader.read_line(&mut size_line).await? == 0 {
            return Err(bad("a chunked body broke off"));
        }
        let size_text = size_line.trim().split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| bad("bad chunk size"))?;
        if size == 0 {
            // Trailers, up to the empty line.
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).await? == 0 || line.trim().is_empty() {
                    return Ok(body);
                }
            }
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..]).await?;
        let mut crlf = [0u8; 2];
        reader.read_exact(&mut crlf).await?;
    }
}

/// The body of a request: by Content-Length or chunked; none otherwise.
pub async fn read_request_body<R: AsyncBufReadExt + Unpin>(
    reader: &mut R,
    head: &Head,
) -> Io<Vec<u8>> {
    if head.is_chunked() {
        return read_chunked(reader).await;
    }
    let mut body = vec![0u8; head.content_length().unwrap_or(0)];
    reader.read_exact(&mut body).await?;
    Ok(body)
}

/// A response read whole from the registry.
struct Response {
    head: Head,
    status: u16,
    body: Vec<u8>,
}

/// Sends the request to the registry on a connection of its own and reads the whole answer.
async fn forward(upstream: SocketAddr, head: &Head, body: &[u8], is_head: bool) -> Io<Response> {
    let stream = TcpStream::connect(upstream).await?;
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(stream);
    let mut out = format!("{}\r\n", head.first_line);
    for (k, v) in head.without(&[
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "content-length",
    ]) {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || head.content_length().is_some() || head.is_chunked() {
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    out.push_str("Connection: close\r\n\r\n");
    let stream = reader.get_mut();
    stream.write_all(out.as_bytes()).await?;
    stream.write_all(body).await?;
    stream.flush().await?;
    let response_head = read_head(&mut reader)
        .await?
        .ok_or_else(|| bad("the registry closed without answering"))?;
    let status: u16 = response_head
        .first_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("no status in the registry's answer"))?;
    let no_body = is_head || status == 204 || status == 304 || (100..200).contains(&status);
    let body = if no_body {
        Vec::new()
    } else if response_head.is_chunked() {
        read_chunked(&mut reader).await?
    } else if let Some(len) = response_head.content_length() {
        let mut body = vec![0u8; len];
        reader.read_exact(&mut body).await?;
        body
    } else {
        let mut body = Vec::new();
        reader.read_to_end(&mut body).await?;
        body
    };
    Ok(Response {
        head: response_head,
        status,
        body,
    })
}

/// The bytes of a response head for the client: the registry's fields without the
/// connection-level ones, and a Content-Length of `announced` (HEAD: the registry's own).
fn client_head(response: &Response, is_head: bool, link: Option<String>) -> Vec<u8> {
    let mut out = format!("{}\r\n", response.head.first_line);
    let mut drop = vec!["connection", "keep-alive", "transfer-encoding"];
    if !is_head {
        drop.push("content-length");
    }
    if link.is_some() {
        drop.push("link");
    }
    for (k, v) in response.head.without(&drop) {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(link) = link {
        out.push_str(&format!("Link: {link}\r\n"));
    }
    if !is_head {
        out.push_str(&format!("Content-Length: {}\r\n", response.body.len()));
    }
    out.push_str("\r\n");
    out.into_bytes()
}

/// A response the proxy makes up: `status` with an OCI error envelope.
fn made_up(status: u16, retry_after: Option<u64>) -> Vec<u8> {
    let reason = match status {
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Injected",
    };
    let body = format!(
        r#"{{"errors":[{{"code":"UNKNOWN","message":"injected by the fault proxy ({status})"}}]}}"#
    );
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(seconds) = retry_after {
        out.push_str(&format!("Retry-After: {seconds}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(&body);
    out.into_bytes()
}

/// `Link` value pointing back at `target` (optionally under a fresh query parameter).
fn loop_link(state: &State, target: &str, fresh: bool) -> String {
    if !fresh {
        return format!("<{target}>; rel=\"next\"");
    }
    let k = state.loop_counter.fetch_add(1, Ordering::SeqCst);
    let base = target
        .split('&')
        .filter(|p| !p.starts_with("regatta-loop="))
        .collect::<Vec<_>>()
        .join("&");
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("<{base}{sep}regatta-loop={k}>; rel=\"next\"")
}

/// One client connection: requests one after the other until the client closes or a fault
/// ends the connection.
async fn serve(state: Arc<State>, stream: TcpStream) -> Io<()> {
    // A head and its body go out in separate writes: without this, Nagle's algorithm holds
    // the body back until the client's delayed ACK, tens of milliseconds a request.
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(stream);
    loop {
        let Some(head) = read_head(&mut reader).await? else {
            return Ok(());
        };
        let _in_flight = InFlight::new(&state.in_flight);
        let mut parts = head.first_line.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let target = parts.next().unwrap_or("").to_string();
        let body = read_request_body(&mut reader, &head).await?;
        let is_head = method.eq_ignore_ascii_case("HEAD");
        let (index, fault) = state.arrive(&method, &target, head.header("range"));
        let mut waiting = Waiting::new(&state);

        match &fault {
            Some(Fault::Status {
                status,
                retry_after,
            }) => {
                state.answered(index, *status);
                waiting.answer();
                let client = reader.get_mut();
                client.write_all(&made_up(*status, *retry_after)).await?;
                client.flush().await?;
                continue;
            }
            Some(Fault::Stall) => {
                // Never answer; wait for the client to give up and close.
                let mut sink = [0u8; 1024];
                while reader.read(&mut sink).await? > 0 {}
                state.abandoned(index);
                return Ok(());
            }
            Some(Fault::Latency(delay)) => tokio::time::sleep(*delay).await,
            Some(Fault::Hold(gate)) => gate.passed().await,
            _ => {}
        }

        let head = match fault {
            Some(Fault::DropRange) => Head {
                first_line: head.first_line.clone(),
                headers: head.without(&["range"]),
            },
            _ => head,
        };
        let response = match forward(state.upstream, &head, &body, is_head).await {
            Ok(r) => r,
            Err(e) => {
                state.answered(index, 502);
                waiting.answer();
                let client = reader.get_mut();
                client.write_all(&made_up(502, None)).await?;
                client.shutdown().await?;
                return Err(e);
            }
        };
        state.answered(index, response.status);
        waiting.answer();
        let client = reader.get_mut();
        match fault {
            Some(Fault::ResetMidBody) => {
                if !response.body.is_empty() {
                    client
                        .write_all(&client_head(&response, is_head, None))
                        .await?;
                    client
                        .write_all(&response.body[..response.body.len() / 2])
                        .await?;
                    client.flush().await?;
                    // Let the bytes leave before the reset throws away what is unsent.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                client.set_zero_linger()?;
                return Ok(()); // dropped with SO_LINGER 0: RST
            }
            Some(Fault::TruncateBody) => {
                client
                    .write_all(&client_head(&response, is_head, None))
                    .await?;
                client
                    .write_all(&response.body[..response.body.len() / 2])
                    .await?;
                client.shutdown().await?; // FIN after a short body
                return Ok(());
            }
            Some(Fault::CutAfter(n)) => {
                client
                    .write_all(&client_head(&response, is_head, None))
                    .await?;
                client
                    .write_all(&response.body[..n.min(response.body.len())])
                    .await?;
                client.shutdown().await?; // FIN after `n` bytes
                return Ok(());
            }
            Some(Fault::SamePageForever) => {
                let link = loop_link(&state, &target, false);
                client
                    .write_all(&client_head(&response, is_head, Some(link)))
                    .await?;
            }
            Some(Fault::SamePageUnderNewUrls) => {
                let link = loop_link(&state, &target, true);
                client
                    .write_all(&client_head(&response, is_head, Some(link)))
                    .await?;
            }
            _ => {
                client
                    .write_all(&client_head(&response, is_head, None))
                    .await?;
            }
        }
        client.write_all(&response.body).await?;
        client.flush().await?;
    }
}
