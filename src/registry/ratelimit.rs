//! Politeness towards a registry: a request-rate limit of our own (`max_requests_per_second`,
//! a token bucket), the registry's announced budget (`RateLimit-Limit` / `RateLimit-Remaining`,
//! Docker Hub's `100;w=21600` form) and its `Retry-After`.
//!
//! Every request waits here before it is sent ([`Pacer::before_send`]) and reports its
//! answer's headers after ([`Pacer::observe`]). When the registry says fewer requests remain
//! than run at once, requests go one at a time, spaced over the window, instead of running
//! into 429s; a `Retry-After` holds every request, not only the one that got it.

use std::sync::Mutex;
use std::time::Duration;

use reqwest::{StatusCode, header::HeaderMap};
use tokio::time::Instant;

/// The longest gap put between two requests when the budget runs low: a window of hours
/// divided by a handful of requests left would otherwise stall a session for an hour.
pub const MAX_SPACING: Duration = Duration::from_secs(60);

/// The longest `Retry-After` honoured for every request (a typo must not stall for hours).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// The budget a registry announced in its last answer that carried one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct RateBudget {
    /// Requests allowed per window.
    pub limit: u64,
    /// Requests left in the current window.
    pub remaining: u64,
    /// The window (`w=` in Docker Hub's form), when given.
    pub window_secs: Option<u64>,
}

impl RateBudget {
    /// Reads `RateLimit-Limit` and `RateLimit-Remaining` (`100;w=21600` or a bare `100`).
    /// `None` when either is missing or unreadable.
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let field = |name: &str| -> Option<(u64, Option<u64>)> {
            let text = headers.get(name)?.to_str().ok()?;
            let mut parts = text.split(';');
            let count = parts.next()?.trim().parse().ok()?;
            let window = parts.find_map(|p| p.trim().strip_prefix("w=")?.trim().parse().ok());
            Some((count, window))
        };
        let (limit, limit_window) = field("ratelimit-limit")?;
        let (remaining, remaining_window) = field("ratelimit-remaining")?;
        Some(Self {
            limit,
            remaining,
            window_secs: remaining_window.or(limit_window),
        })
    }

    /// For the status bar and `info`: `76 of 100 requests left (per 6 h)`.
    pub fn describe(&self) -> String {
        let window = match self.window_secs {
            Some(w) if w % 3600 == 0 => format!(" (per {} h)", w / 3600),
            Some(w) => format!(" (per {w} s)"),
            None => String::new(),
        };
        format!("{} of {} requests left{window}", self.remaining, self.limit)
    }

    /// The gap to keep between requests when the budget is low (fewer left than
    /// `concurrency`): the window shared out over what is left, at most [`MAX_SPACING`].
    /// `None` when there is room enough, or nothing tells how long the window is.
    pub fn spacing(&self, concurrency: usize) -> Option<Duration> {
        if self.remaining >= concurrency as u64 {
            return None;
        }
        let window = Duration::from_secs(self.window_secs?);
        let share = window / (self.remaining.max(1).min(u32::MAX as u64) as u32);
        Some(share.min(MAX_SPACING))
    }
}

/// A token bucket: `rate` requests per second, bursts of up to `capacity`.
#[derive(Debug)]
struct Bucket {
    rate: f64,
    capacity: f64,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn new(rate: f64) -> Self {
        // One second's worth, and at least one request.
        let capacity = rate.max(1.0);
        Self {
            rate,
            capacity,
            tokens: capacity,
            last: Instant::now(),
        }
    }

    /// Takes a token, returning how long to wait before the request may go.
    fn take(&mut self, now: Instant) -> Duration {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity);
        self.last = now;
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.rate)
        }
    }
}

/// Per-registry pacing state, shared by every clone of a client.
#[derive(Debug)]
pub(crate) struct Pacer {
    concurrency: usize,
    bucket: Option<Mutex<Bucket>>,
    budget: Mutex<Option<RateBudget>>,
    /// No request leaves before this (a `Retry-After` seen).
    not_before: Mutex<Option<Instant>>,
    /// Held through a request's send while the budget is low; holds when the last one left.
    serial: tokio::sync::Mutex<Option<Instant>>,
}

/// Held while a request is being sent; dropping it lets the next paced request go.
pub(crate) struct PaceGuard<'a> {
    _serial: Option<tokio::sync::MutexGuard<'a, Option<Instant>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Pacer {
    /// `max_requests_per_second`: `None` (or not a positive number) for no limit of our own.
    pub(crate) fn new(concurrency: usize, max_requests_per_second: Option<f64>) -> Self {
        let bucket = max_requests_per_second
            .filter(|r| r.is_finite() && *r > 0.0)
            .map(|r| Mutex::new(Bucket::new(r)));
        Self {
            concurrency: concurrency.max(1),
            bucket,
            budget: Mutex::default(),
            not_before: Mutex::default(),
            serial: tokio::sync::Mutex::new(None),
        }
    }

    /// The budget the registry last announced.
    pub(crate) fn budget(&self) -> Option<RateBudget> {
        *lock(&self.budget)
    }

    /// Waits until a request may be sent: after any `Retry-After`, one at a time and spaced
    /// while the budget is low, and within the request rate.
    pub(crate) async fn before_send(&self) -> PaceGuard<'_> {
        let hold = *lock(&self.not_before);
        if let Some(until) = hold {
            tokio::time::sleep_until(until).await;
        }
        let spacing = self.budget().and_then(|b| b.spacing(self.concurrency));
        let serial = match spacing {
            Some(gap) => {
                let mut last = self.serial.lock().await;
                if let Some(previous) = *last {
                    tokio::time::sleep_until(previous + gap).await;
                }
                *last = Some(Instant::now());
                Some(last)
            }
            None => None,
        };
        if let Some(bucket) = &self.bucket {
            let wait = lock(bucket).take(Instant::now());
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
        }
        PaceGuard { _serial: serial }
    }

    /// Reads the budget and `Retry-After` of an answer.
    pub(crate) fn observe(&self, status: StatusCode, headers: &HeaderMap) {
        if let Some(budget) = RateBudget::from_headers(headers) {
            *lock(&self.budget) = Some(budget);
        }
        let throttled =
            status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE;
        if throttled && let Some(wait) = retry_after(headers) {
            let until = Instant::now() + wait.min(MAX_RETRY_AFTER);
            let mut hold = lock(&self.not_before);
            if hold.is_none_or(|h| h < until) {
                *hold = Some(until);
            }
        }
    }
}

/// `Retry-After`: seconds, or an HTTP date (wait until then).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    let seconds = (when.as_second() - jiff::Timestamp::now().as_second()).max(0) as u64;
    Some(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().expect("a header value"));
        }
        map
    }

    #[test]
    fn docker_hubs_budget_headers_are_read() {
        let h = headers(&[
            ("ratelimit-limit", "100;w=21600"),
            ("ratelimit-remaining", "76;w=21600"),
            ("docker-ratelimit-source", "192.0.2.1"),
        ]);
        let budget = RateBudget::from_headers(&h).expect("a budget");
        assert_eq!(
            budget,
            RateBudget {
                limit: 100,
                remaining: 76,
                window_secs: Some(21600)
            }
        );
        assert_eq!(budget.describe(), "76 of 100 requests left (per 6 h)");
        let bare = headers(&[("ratelimit-limit", "50"), ("ratelimit-remaining", "3")]);
        let budget = RateBudget::from_headers(&bare).expect("a budget");
        assert_eq!(budget.window_secs, None);
        assert_eq!(budget.describe(), "3 of 50 requests left");
        assert_eq!(
            RateBudget::from_headers(&headers(&[("ratelimit-limit", "x;w=1")])),
            None
        );
    }

    #[test]
    fn the_budget_is_spaced_out_only_when_it_runs_low() {
        let budget = |remaining, window_secs| RateBudget {
            limit: 100,
            remaining,
            window_secs,
        };
        assert_eq!(budget(8, Some(10)).spacing(8), None);
        assert_eq!(
            budget(4, Some(10)).spacing(8),
            Some(Duration::from_millis(2500))
        );
        assert_eq!(
            budget(0, Some(10)).spacing(8),
            Some(Duration::from_secs(10))
        );
        assert_eq!(budget(2, Some(21600)).spacing(8), Some(MAX_SPACING));
        assert_eq!(budget(2, None).spacing(8), None);
    }

    /// Ten requests at 2/s with a burst of 2: the first two go at once, then one every half
    /// second. Counted on tokio's paused clock, so no real time passes.
    #[tokio::test(start_paused = true)]
    async fn the_bucket_lets_the_burst_through_then_one_request_per_interval() {
        let pacer = Pacer::new(8, Some(2.0));
        let start = Instant::now();
        let mut sent_at = Vec::new();
        for _ in 0..10 {
            let _guard = pacer.before_send().await;
            sent_at.push(Instant::now() - start);
        }
        let expected: Vec<Duration> = [0, 0, 500, 1000, 1500, 2000, 2500, 3000, 3500, 4000]
            .into_iter()
            .map(Duration::from_millis)
            .collect();
        assert_eq!(sent_at, expected);
    }

    #[tokio::test(start_paused = true)]
    async fn no_limit_means_no_wait() {
        let pacer = Pacer::new(8, None);
        let start = Instant::now();
        for _ in 0..100 {
            let _guard = pacer.before_send().await;
        }
        assert_eq!(Instant::now(), start);
    }

    /// A low budget: concurrent requests go one at a time, the window's share apart.
    #[tokio::test(start_paused = true)]
    async fn a_low_budget_serializes_and_spaces_concurrent_requests() {
        let pacer = std::sync::Arc::new(Pacer::new(4, None));
        pacer.observe(
            StatusCode::OK,
            &headers(&[
                ("ratelimit-limit", "100;w=10"),
                ("ratelimit-remaining", "2;w=10"),
            ]),
        );
        let start = Instant::now();
        let in_flight = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let pacer = pacer.clone();
                let in_flight = in_flight.clone();
                tokio::spawn(async move {
                    let _guard = pacer.before_send().await;
                    let now = in_flight.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    assert_eq!(now, 0, "another request was in flight");
                    // The "request" takes a while; the next waits for it.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    in_flight.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                    Instant::now() - start
                })
            })
            .collect();
        let mut done = Vec::new();
        for t in tasks {
            done.push(t.await.expect("a task"));
        }
        done.sort();
        // 10 s over 2 left: 5 s apart; each ends 10 ms after it left.
        let expected: Vec<Duration> = [10, 5010, 10010, 15010]
            .into_iter()
            .map(Duration::from_millis)
            .collect();
        assert_eq!(done, expected);
    }

    /// A 429's Retry-After holds every request, not only the one that got it.
    #[tokio::test(start_paused = true)]
    async fn retry_after_holds_every_request() {
        let pacer = Pacer::new(8, None);
        let start = Instant::now();
        pacer.observe(
            StatusCode::TOO_MANY_REQUESTS,
            &headers(&[("retry-after", "7")]),
        );
        let _guard = pacer.before_send().await;
        assert_eq!(Instant::now() - start, Duration::from_secs(7));
        // A Retry-After on a success means nothing.
        pacer.observe(StatusCode::OK, &headers(&[("retry-after", "7")]));
        let before = Instant::now();
        let _guard = pacer.before_send().await;
        assert_eq!(Instant::now(), before);
    }

    /// Through the client, against a server sending Docker Hub's headers: the budget is kept
    /// for display, and once fewer requests are left than run at once (2 < 8), concurrent
    /// requests are spaced over the window (1 s over 2: half a second apart), so five take at
    /// least two seconds. Only a lower bound is asserted.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_client_keeps_the_announced_budget_and_slows_down_when_it_runs_low() {
        use wiremock::matchers::path;
        use wiremock::{Mock, MockServer, ResponseTemplate};
        let server = MockServer::start().await;
        Mock::given(path("/v2/"))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("RateLimit-Limit", "100;w=1")
                    .insert_header("RateLimit-Remaining", "2;w=1")
                    .insert_header("Docker-RateLimit-Source", "192.0.2.1"),
            )
            .mount(&server)
            .await;
        let addr = crate::registry::RegistryAddr::parse(&server.address().to_string())
            .expect("the server's address");
        let client = crate::registry::Client::new(
            addr,
            crate::registry::ClientOptions {
                credentials: crate::registry::CredentialSource::Anonymous,
                ..crate::registry::ClientOptions::default()
            },
        )
        .expect("a client");
        assert_eq!(client.rate_budget(), None, "nothing seen yet");
        client.ping().await.expect("the first ping");
        assert_eq!(
            client.rate_budget(),
            Some(RateBudget {
                limit: 100,
                remaining: 2,
                window_secs: Some(1)
            })
        );
        let start = std::time::Instant::now();
        let pings = (0..5).map(|_| client.ping());
        for result in futures::future::join_all(pings).await {
            result.expect("a ping");
        }
        let elapsed = start.elapsed();
        assert!(
            elapsed >= Duration::from_millis(2000),
            "five requests half a second apart took {elapsed:?}"
        );
        let received = server.received_requests().await.expect("recording on");
        assert_eq!(received.len(), 6, "every request was sent, none dropped");
    }
}
