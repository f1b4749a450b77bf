//! Shared HTTP plumbing: one rate governor and one in-flight limit per target, shared by every
//! task, and a classification of failures that the retry policy and the writer act on.
//!
//! Invariant: every request to a target goes through [`Governed::send`], so the configured rate
//! (requests per second) and concurrency are never exceeded, whatever the caller does. Inside a
//! run ([`crate::journal::interrupt::Stop::scope`]) the waits for a slot and for the pacer end as
//! soon as the run is stopped, and the request is then never sent; a target that answers none of
//! more requests in a row than the retry policy allows one request is given up on (the run halts).

use crate::journal::interrupt;
use crate::write::retry::RetryPolicy;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::header::HeaderMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// A response, fully read.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status code.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// Body text (lossy UTF-8).
    pub body: String,
}

impl Reply {
    /// Whether the status is 2xx.
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// `Retry-After` in seconds, if the server sent one.
    pub fn retry_after(&self) -> Option<Duration> {
        let v = self.headers.get("retry-after")?.to_str().ok()?;
        v.trim()
            .parse::<f64>()
            .ok()
            .filter(|s| *s >= 0.0 && *s < 3600.0)
            .map(Duration::from_secs_f64)
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
    inflight: Arc<Semaphore>,
    concurrency: usize,
    /// What has been sent so far.
    pub counters: Arc<Counters>,
}

impl Governed {
    /// A client that sends at most `rate` requests per second (spaced evenly, no bursts) with at
    /// most `concurrency` in flight, each timing out after `timeout`.
    pub fn new(rate: f64, concurrency: usize, timeout: Duration) -> anyhow::Result<Governed> {
        let rate = if rate.is_finite() && rate > 0.0 {
            rate
        } else {
            1.0
        };
        let period = Duration::from_secs_f64(1.0 / rate);
        let quota = Quota::with_period(period)
            .ok_or_else(|| anyhow::anyhow!("rate {rate} is too high"))?
            .allow_burst(NonZeroU32::MIN);
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(10))
            .pool_max_idle_per_host(concurrency.max(1))
            .user_agent(concat!("patron-etl/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Governed {
            client,
            limiter: Arc::new(RateLimiter::direct(quota)),
            inflight: Arc::new(Semaphore::new(concurrency.max(1))),
            concurrency: concurrency.max(1),
            counters: Arc::new(Counters::default()),
        })
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
        let retries = RetryPolicy::default().max_retries;
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
        let stopped = || TransportError {
            ambiguous: false,
            connect: false,
            message: "not sent: the run was stopped".into(),
        };
        let _permit = interrupt::unless_stopped(self.inflight.acquire())
            .await
            .ok_or_else(stopped)?
            .map_err(|_| TransportError {
                ambiguous: false,
                connect: false,
                message: "client shut down".into(),
            })?;
        interrupt::unless_stopped(self.limiter.until_ready())
            .await
            .ok_or_else(stopped)?;
        if interrupt::stopped() {
            return Err(stopped());
        }
        let req = req.build().map_err(|e| classify(&e))?;
        self.counters.requests.fetch_add(1, Ordering::Relaxed);
        if may_write && !matches!(*req.method(), reqwest::Method::GET | reqwest::Method::HEAD) {
            self.counters.writes.fetch_add(1, Ordering::Relaxed);
        }
        let resp = match self.client.execute(req).await {
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
        if status == 429 {
            self.counters.throttled.fetch_add(1, Ordering::Relaxed);
        }
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.map_err(|e| classify(&e))?;
        Ok(Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        })
    }
}
