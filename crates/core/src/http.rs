//! Shared HTTP plumbing: one rate governor and one in-flight limit per target, shared by every
//! task, and a classification of failures that the retry policy and the writer act on.
//!
//! Invariant: every request to a target goes through [`Governed::send`], so the configured rate
//! (requests per second) and concurrency are never exceeded, whatever the caller does. Inside a
//! run ([`crate::journal::interrupt::Stop::scope`]) the waits for a slot and for the pacer end as
//! soon as the run is stopped, and the request is then never sent; a target that answers none of
//! more requests in a row than the retry policy allows one request is given up on (the run halts).
//!
//! Also here, because every answer passes through `send`:
//! - a 429 pauses the whole target (every task's next request) for its `Retry-After` — seconds or
//!   an HTTP date (RFC 9110 §10.2.3: `Retry-After = HTTP-date / delay-seconds`) — or 1 s when
//!   the server gives none, not only the request that got it;
//! - a response body is read up to [`max_response_bytes`] (default 64 MiB, environment variable
//!   `PATRON_ETL_MAX_RESPONSE_BYTES`); a longer one is a [`TransportError`] marked `permanent`;
//! - every reply carries the secrets of its request (the target's registered secrets, credential
//!   headers, query-string values), so [`Reply::server_text`] can pass any text taken from it
//!   through [`crate::redact::clean`].
//!
//! Retrying is [`retry::run`], the one retry loop of the crate, with the target's [`RetryPolicy`]
//! ([`Governed::retry`]).

pub mod pace;
pub mod retry;

use crate::journal::interrupt;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::header::HeaderMap;
pub use retry::RetryPolicy;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// The default bound on a response body (bytes).
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 64 * 1024 * 1024;

/// The bound on a response body: `PATRON_ETL_MAX_RESPONSE_BYTES` if set to a positive number,
/// else [`DEFAULT_MAX_RESPONSE_BYTES`].
pub fn max_response_bytes() -> u64 {
    std::env::var("PATRON_ETL_MAX_RESPONSE_BYTES")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(DEFAULT_MAX_RESPONSE_BYTES)
}

/// How long the whole target pauses after a 429 that gives no `Retry-After`.
const DEFAULT_THROTTLE_PAUSE: Duration = Duration::from_secs(1);

/// Headers whose values are credentials, never shown even when a server echoes them: Libib
/// `x-api-key`, `x-api-ultimate` (shared/reference/illiad-libib-api.md §1.1), ILLiad `ApiKey`
/// (same file, §2.1), FOLIO `X-Okapi-Token` and the token cookies (folio-api.md §2).
const SECRET_HEADERS: [&str; 6] = [
    "apikey",
    "x-api-key",
    "x-api-ultimate",
    "x-okapi-token",
    "cookie",
    "authorization",
];

/// A response, fully read.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status code.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// Body text (lossy UTF-8).
    pub body: String,
    /// What must never be shown of this exchange (see [`Reply::server_text`]).
    pub secrets: Arc<Vec<String>>,
}

impl Reply {
    /// Whether the status is 2xx.
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// A reply with no secrets attached (tests, synthetic answers).
    pub fn new(status: u16, headers: HeaderMap, body: String) -> Reply {
        Reply {
            status,
            headers,
            body,
            secrets: Arc::default(),
        }
    }

    /// `Retry-After`, if the server sent one: delay-seconds or an HTTP date (RFC 9110 §10.2.3),
    /// as a wait from now (a date in the past is no wait); more than an hour is ignored.
    pub fn retry_after(&self) -> Option<Duration> {
        let v = self.headers.get("retry-after")?.to_str().ok()?.trim();
        if let Ok(s) = v.parse::<f64>() {
            return (0.0..3600.0)
                .contains(&s)
                .then(|| Duration::from_secs_f64(s));
        }
        // IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") is an RFC 2822 date with zone GMT.
        let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
        let wait = at.signed_duration_since(chrono::Utc::now());
        let wait = wait.to_std().unwrap_or(Duration::ZERO);
        (wait < Duration::from_secs(3600)).then_some(wait)
    }

    /// `text` (taken from this reply) as it may be shown: see [`crate::redact::clean`].
    pub fn server_text(&self, text: &str) -> String {
        crate::redact::clean(text, &self.secrets)
    }

    /// The body as JSON, if it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.body).ok()
    }
}

/// A request that got no HTTP response.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct TransportError {
    /// Whether the request may have reached the server (timeout, connection dropped after sending):
    /// a create must then be reconciled by a lookup before it is sent again.
    pub ambiguous: bool,
    /// Could not connect at all (refused, DNS).
    pub connect: bool,
    /// What happened, without URLs (Libib puts fields in query strings).
    pub message: String,
    /// Sending again will not help (the answer was too large).
    pub permanent: bool,
}

impl TransportError {
    /// A request never sent because the run was stopped (Ctrl-C, or the target was given up on).
    pub fn not_sent() -> TransportError {
        TransportError {
            ambiguous: false,
            connect: false,
            message: "not sent: the run was stopped".into(),
            permanent: false,
        }
    }
}

/// Classifies a reqwest error without ever including the URL.
pub fn classify(err: &reqwest::Error) -> TransportError {
    let connect = err.is_connect();
    let message = if err.is_timeout() {
        "timed out waiting for the server".to_string()
    } else if connect {
        "could not connect to the server".to_string()
    } else if err.is_body() || err.is_decode() {
        "the connection broke while reading the response".to_string()
    } else if err.is_request() {
        "the connection was closed before a response arrived".to_string()
    } else {
        "the request failed".to_string()
    };
    TransportError {
        ambiguous: !connect,
        connect,
        message,
        permanent: false,
    }
}

/// Counters of what was sent, for summaries and benchmarks.
#[derive(Debug, Default)]
pub struct Counters {
    /// Requests sent.
    pub requests: AtomicU64,
    /// Requests that were writes (POST, PUT, PATCH, DELETE).
    pub writes: AtomicU64,
    /// 429 responses.
    pub throttled: AtomicU64,
    /// Requests in a row that got no HTTP response (reset by any response).
    pub failures_in_a_row: AtomicU64,
}

/// A rate-governed, concurrency-limited HTTP client for one target.
#[derive(Clone)]
pub struct Governed {
    client: reqwest::Client,
    limiter: Arc<DefaultDirectRateLimiter>,
    /// No more than the rate in any second, whatever the burst.
    window: Arc<pace::Window>,
    inflight: Arc<Semaphore>,
    concurrency: usize,
    /// What has been sent so far.
    pub counters: Arc<Counters>,
    /// No request leaves before this instant (set by a 429).
    paused_until: Arc<Mutex<Option<Instant>>>,
    /// The target's secrets (passwords, keys), never shown.
    secrets: Arc<RwLock<Vec<String>>>,
    /// How requests to this target are retried (and when it is given up on).
    retry: RetryPolicy,
    /// An adaptive pacer used instead of the fixed quota ([`Governed::with_pacer`]).
    pacer: Option<Arc<pace::Pacer>>,
}

impl Governed {
    /// A client that sends at most `rate` requests per second (spaced evenly, a burst of two at
    /// most to catch up a late start, never more than `rate` in any second) with at
    /// most `concurrency` in flight, each timing out after `timeout`.
    pub fn new(rate: f64, concurrency: usize, timeout: Duration) -> anyhow::Result<Governed> {
        let rate = if rate.is_finite() && rate > 0.0 {
            rate
        } else {
            1.0
        };
        let period = Duration::from_secs_f64(1.0 / rate);
        // A burst of two: a request whose wake-up came late may start at once after the one
        // before it, so late wake-ups do not add up to a lower rate; `window` keeps any second
        // (any `n / rate`) within the rate all the same.
        let quota = Quota::with_period(period)
            .ok_or_else(|| anyhow::anyhow!("rate {rate} is too high"))?
            .allow_burst(NonZeroU32::MIN.saturating_add(1));
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(10))
            .pool_max_idle_per_host(concurrency.max(1))
            .user_agent(concat!("patron-etl/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Governed {
            client,
            limiter: Arc::new(RateLimiter::direct(quota)),
            window: Arc::new(pace::Window::new(rate)),
            inflight: Arc::new(Semaphore::new(concurrency.max(1))),
            concurrency: concurrency.max(1),
            counters: Arc::new(Counters::default()),
            paused_until: Arc::default(),
            secrets: Arc::default(),
            retry: RetryPolicy::default(),
            pacer: None,
        })
    }

    /// This client paced by an adaptive interval ([`pace::Pacer`]: one start per interval,
    /// widened on a 429, narrowed after a clean stretch) instead of the fixed quota of `rate`.
    pub fn with_pacer(mut self, adapt: pace::Adapt) -> Governed {
        self.pacer = Some(Arc::new(pace::Pacer::new(adapt)));
        self
    }

    /// The adaptive pacer's current interval, if the target has one.
    pub fn pace_interval(&self) -> Option<Duration> {
        self.pacer.as_ref().map(|p| p.interval())
    }

    /// This client with the target's retry policy (else [`RetryPolicy::default`]).
    pub fn with_retry(mut self, policy: RetryPolicy) -> Governed {
        self.retry = policy;
        self
    }

    /// The target's retry policy, for every retry of a request to it ([`retry::run`]).
    pub fn retry(&self) -> RetryPolicy {
        self.retry
    }

    /// Registers a secret of the target (a password, an API key): removed from every text taken
    /// from a reply ([`Reply::server_text`]).
    pub fn keep_secret(&self, secret: &crate::secret::Secret) {
        if let Ok(mut s) = self.secrets.write() {
            s.push(secret.expose().to_string());
        }
    }

    /// When the target's pause (after a 429) ends, if it is paused.
    fn pause_left(&self) -> Option<Duration> {
        let until = (*self.paused_until.lock().ok()?)?;
        let left = until.saturating_duration_since(Instant::now());
        (!left.is_zero()).then_some(left)
    }

    /// Pauses every request to the target for `wait` (extending, never shortening, a pause).
    fn pause_for(&self, wait: Duration) {
        if let Ok(mut p) = self.paused_until.lock() {
            let until = Instant::now() + wait;
            if p.is_none_or(|old| old < until) {
                *p = Some(until);
            }
        }
    }

    /// The secrets of one request: the target's, the credential headers' values and the query
    /// string's values.
    fn secrets_of(&self, req: &reqwest::Request) -> Arc<Vec<String>> {
        let mut out: Vec<String> = self.secrets.read().map(|s| s.clone()).unwrap_or_default();
        for (name, value) in req.headers() {
            if SECRET_HEADERS.contains(&name.as_str()) {
                if let Ok(v) = value.to_str() {
                    out.push(v.to_string());
                    // A cookie header's values one by one.
                    out.extend(
                        v.split(';')
                            .filter_map(|kv| kv.split_once('='))
                            .map(|(_, v)| v.trim().to_string()),
                    );
                }
            }
        }
        out.extend(req.url().query_pairs().map(|(_, v)| v.into_owned()));
        if let Some(q) = req.url().query() {
            out.push(q.to_string());
        }
        Arc::new(out)
    }

    /// Counts a request that got no response; once more of them in a row than the retry policy
    /// allows one request, the target is given up on: the current run is halted
    /// ([`interrupt::Stop::set_unreachable`]) and its paced waits end, so the rows not yet
    /// written are accounted for at once instead of each waiting out its own retries.
    fn note_failure(&self, t: &TransportError) {
        let n = self
            .counters
            .failures_in_a_row
            .fetch_add(1, Ordering::Relaxed)
            + 1;
        let retries = self.retry.max_retries;
        if n > u64::from(retries) {
            if let Some(stop) = interrupt::Stop::current() {
                stop.set_unreachable(format!(
                    "target unreachable after {retries} retries: {}",
                    t.message
                ));
            }
        }
    }

    /// The most requests allowed in flight.
    pub fn concurrency(&self) -> usize {
        self.concurrency
    }

    /// The underlying client, for building requests.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Sends a request once the governor allows it; reads the whole body. Counts a write for
    /// every request other than GET and HEAD.
    pub async fn send(&self, req: reqwest::RequestBuilder) -> Result<Reply, TransportError> {
        self.send_counted(req, true).await
    }

    /// Sends a login or token refresh: governed like any request, but not a patron write.
    pub async fn send_login(&self, req: reqwest::RequestBuilder) -> Result<Reply, TransportError> {
        self.send_counted(req, false).await
    }

    async fn send_counted(
        &self,
        req: reqwest::RequestBuilder,
        may_write: bool,
    ) -> Result<Reply, TransportError> {
        // The waits for a slot and for the pacer end early when the run is stopped (Ctrl-C, or
        // the target was given up on): the request is then never sent.
        let stopped = TransportError::not_sent;
        let _permit = interrupt::unless_stopped(self.inflight.acquire())
            .await
            .ok_or_else(stopped)?
            .map_err(|_| TransportError {
                ambiguous: false,
                connect: false,
                message: "client shut down".into(),
                permanent: false,
            })?;
        loop {
            // A 429 pauses every request to the target (see the module docs).
            while let Some(left) = self.pause_left() {
                if !interrupt::sleep(left).await {
                    return Err(stopped());
                }
            }
            match &self.pacer {
                Some(p) => {
                    if !p.ready().await {
                        return Err(stopped());
                    }
                }
                None => {
                    interrupt::unless_stopped(self.limiter.until_ready())
                        .await
                        .ok_or_else(stopped)?;
                    if !self.window.ready().await {
                        return Err(stopped());
                    }
                }
            }
            if self.pause_left().is_none() {
                break;
            }
        }
        if interrupt::stopped() {
            return Err(stopped());
        }
        let req = req.build().map_err(|e| classify(&e))?;
        let secrets = self.secrets_of(&req);
        self.counters.requests.fetch_add(1, Ordering::Relaxed);
        if may_write && !matches!(*req.method(), reqwest::Method::GET | reqwest::Method::HEAD) {
            self.counters.writes.fetch_add(1, Ordering::Relaxed);
        }
        let mut resp = match self.client.execute(req).await {
            Ok(r) => {
                self.counters.failures_in_a_row.store(0, Ordering::Relaxed);
                r
            }
            Err(e) => {
                let t = classify(&e);
                self.note_failure(&t);
                return Err(t);
            }
        };
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        if let Some(p) = &self.pacer {
            p.answered(status == 429);
        }
        if status == 429 {
            self.counters.throttled.fetch_add(1, Ordering::Relaxed);
            let probe = Reply::new(status, headers.clone(), String::new());
            self.pause_for(probe.retry_after().unwrap_or(DEFAULT_THROTTLE_PAUSE));
        }
        let limit = max_response_bytes();
        let too_large = || TransportError {
            ambiguous: true,
            connect: false,
            message: format!(
                "the response was larger than {limit} bytes (the limit, set by \
                 PATRON_ETL_MAX_RESPONSE_BYTES); it was not read"
            ),
            permanent: true,
        };
        if resp.content_length().is_some_and(|n| n > limit) {
            return Err(too_large());
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| classify(&e))? {
            if bytes.len() as u64 + chunk.len() as u64 > limit {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        let body = String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        Ok(Reply {
            status,
            headers,
            body,
            secrets,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_retry_after(v: &str) -> Reply {
        let mut h = HeaderMap::new();
        h.insert("retry-after", v.parse().expect("header value"));
        Reply::new(429, h, String::new())
    }

    #[test]
    fn retry_after_in_seconds_and_as_an_http_date() {
        assert_eq!(
            with_retry_after("5").retry_after(),
            Some(Duration::from_secs(5))
        );
        let at = chrono::Utc::now() + chrono::Duration::seconds(5);
        let date = at.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        let wait = with_retry_after(&date).retry_after().unwrap_or_default();
        assert!(
            wait > Duration::from_secs(3) && wait <= Duration::from_secs(5),
            "{wait:?}"
        );
        let past = "Sun, 06 Nov 1994 08:49:37 GMT";
        assert_eq!(with_retry_after(past).retry_after(), Some(Duration::ZERO));
        assert_eq!(with_retry_after("soon").retry_after(), None);
    }
}
