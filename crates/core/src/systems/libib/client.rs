//! Libib client: `x-api-key` + `x-api-user` (+ `x-api-ultimate`) headers; `GET /patrons?page=N`
//! (50 a page), `GET /patrons/{barcode|email}`, `POST /patrons?…` (create) and
//! `POST /patrons/{barcode}?…` (partial update), fields in the query string.
//!
//! Invariants: one request at a time through the target's [`Governed`] pacer (Libib allows one
//! request per 2 s per account); a 429 is waited out (its `Retry-After`, else backoff) and the
//! request retried; URLs — whose query strings carry patron data — never appear in errors, logs
//! or reports; the API key is a [`Secret`].

use crate::http::retry::{self, RetryPolicy, Verdict};
use crate::http::{Governed, Reply, TransportError};
use crate::secret::Secret;
use serde_json::Value;
use std::collections::HashSet;

/// How many 429s in a row a request waits out before giving up.
pub const MAX_THROTTLED: u32 = 30;

/// A run-fatal Libib problem.
#[derive(Debug, thiserror::Error)]
pub enum LibibError {
    /// No connection could be made.
    #[error("Libib at {url} is unreachable: {source}")]
    Unreachable {
        /// Base URL (never with a query string).
        url: String,
        /// Cause.
        source: TransportError,
    },
    /// Credentials refused, or not a Libib API.
    #[error("Libib at {url} refused the connection check (GET /patrons): {reason}")]
    Auth {
        /// Base URL.
        url: String,
        /// What the server said.
        reason: String,
    },
    /// An unexpected answer to a call that must succeed.
    #[error("Libib {what}: {message}")]
    Unexpected {
        /// What we were doing.
        what: String,
        /// Status and server message.
        message: String,
    },
}

impl crate::exit::TargetError for LibibError {
    fn is_connection(&self) -> bool {
        matches!(
            self,
            LibibError::Unreachable { .. } | LibibError::Auth { .. }
        )
    }
}

/// One page of `GET /patrons`.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// `total` patrons, as Libib reports it.
    pub total: u64,
    /// `pages`.
    pub pages: u64,
    /// `max_per_page` (50).
    pub max_per_page: u64,
    /// The patrons.
    pub patrons: Vec<Value>,
}

/// The human message of a Libib error body (`{"message":…}`, `{"error":…}` or text), with the
/// status; never the URL.
pub fn error_message(reply: &Reply) -> String {
    reply.server_text(&raw_message(reply))
}

fn raw_message(reply: &Reply) -> String {
    let body = reply.body.trim();
    if body.is_empty() {
        return format!("HTTP {} with an empty body", reply.status);
    }
    let msg = reply
        .json()
        .and_then(|v| {
            ["message", "error", "detail"]
                .iter()
                .find_map(|k| v.get(*k).and_then(Value::as_str).map(str::to_string))
        })
        .unwrap_or_else(|| body.chars().take(300).collect());
    format!("HTTP {}: {msg}", reply.status)
}

/// A field of a patron as non-blank text.
pub fn field<'v>(patron: &'v Value, name: &str) -> Option<&'v str> {
    patron
        .get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// A connected Libib client.
pub struct LibibClient {
    http: Governed,
    base: String,
    key: Secret,
    user: String,
    ultimate: Option<Secret>,
}

impl LibibClient {
    /// Checks the credentials by fetching the first page of patrons; returns the client and that
    /// page (an import uses it to decide between a full snapshot and per-row lookups).
    pub async fn connect(
        http: Governed,
        base: &str,
        key: Secret,
        user: String,
        ultimate: Option<Secret>,
    ) -> Result<(Self, Page), LibibError> {
        http.keep_secret(&key);
        if let Some(u) = &ultimate {
            http.keep_secret(u);
        }
        let c = LibibClient {
            http,
            base: base.trim_end_matches('/').to_string(),
            key,
            user,
            ultimate,
        };
        // The connection check is retried like any call that must succeed (a 5xx, a dropped
        // connection or a timeout), except a refused connection; a 4xx (wrong key) is final.
        let first_page = [("page".to_string(), "1".to_string())];
        let res = retry::login(&c.http.retry(), |_| {
            c.call_paced(reqwest::Method::GET, &["patrons"], &first_page)
        })
        .await;
        // Out of retries or stopped: the last answer decides.
        let reply = match res {
            Ok(r) => r,
            Err(e) => {
                return Err(LibibError::Unreachable {
                    url: c.base.clone(),
                    source: e,
                })
            }
        };
        if !reply.ok() {
            let reason = match reply.status {
                401 | 403 => format!(
                    "the API key or API user was refused ({})",
                    error_message(&reply)
                ),
                404 => format!(
                    "not found; the URL should be the API root, e.g. https://api.libib.com ({})",
                    error_message(&reply)
                ),
                _ => error_message(&reply),
            };
            return Err(LibibError::Auth {
                url: c.base.clone(),
                reason,
            });
        }
        let page = parse_page(&reply).ok_or_else(|| LibibError::Auth {
            url: c.base.clone(),
            reason: "GET /patrons did not answer with a page of patrons".into(),
        })?;
        Ok((c, page))
    }

    /// The shared HTTP client (for counters).
    pub fn http(&self) -> &Governed {
        &self.http
    }

    fn url(&self, segments: &[&str], query: &[(String, String)]) -> String {
        match url::Url::parse(&self.base) {
            Ok(mut u) => {
                if let Ok(mut p) = u.path_segments_mut() {
                    p.pop_if_empty().extend(segments);
                }
                if !query.is_empty() {
                    u.query_pairs_mut().extend_pairs(query);
                }
                u.to_string()
            }
            Err(_) => format!("{}/{}", self.base, segments.join("/")),
        }
    }

    /// Sends one request (paced by the governor); no retries.
    pub async fn send(
        &self,
        method: reqwest::Method,
        segments: &[&str],
        query: &[(String, String)],
    ) -> Result<Reply, TransportError> {
        let mut req = self
            .http
            .client()
            .request(method, self.url(segments, query))
            .header("x-api-key", self.key.expose())
            .header("x-api-user", &self.user)
            .header("Accept", "application/json");
        if let Some(u) = &self.ultimate {
            req = req.header("x-api-ultimate", u.expose());
        }
        self.http.send(req).await
    }

    /// Sends one request, waiting out 429s (up to [`MAX_THROTTLED`]); other outcomes are returned.
    pub async fn call_paced(
        &self,
        method: reqwest::Method,
        segments: &[&str],
        query: &[(String, String)],
    ) -> Result<Reply, TransportError> {
        // The target's policy, but up to MAX_THROTTLED 429s and a backoff ceiling of at most
        // 8 × base (a wait of up to 1.6 s by default when Libib sends no Retry-After).
        let target = self.http.retry();
        let policy = RetryPolicy {
            max_retries: MAX_THROTTLED,
            base: target.base,
            cap: target.cap.min(target.base.saturating_mul(8)),
        };
        let res = retry::run(&policy, |throttled| {
            let method = method.clone();
            async move {
                if throttled > 0 {
                    tracing::debug!(throttled, "Libib answered 429; waiting before retrying");
                }
                match self.send(method, segments, query).await {
                    Ok(r) if r.status == 429 => Verdict::Again {
                        retry_after: r.retry_after(),
                        failure: r,
                    },
                    res => Verdict::Done(res),
                }
            }
        })
        .await;
        match res {
            Ok(res) => res,
            // Stopped: the request is not sent again.
            Err(g) if g.stopped => Err(TransportError::not_sent()),
            Err(g) => Ok(g.last),
        }
    }

    /// A call that must succeed (lookups, listing): retries 429, 5xx and transport failures.
    async fn get_ok(
        &self,
        segments: &[&str],
        query: &[(String, String)],
        what: &str,
    ) -> Result<Option<Reply>, LibibError> {
        let res = retry::run(&self.http.retry(), move |_| async move {
            match self.call_paced(reqwest::Method::GET, segments, query).await {
                Ok(r) if r.ok() => Verdict::Done(Ok(Some(r))),
                Ok(r) if r.status == 404 => Verdict::Done(Ok(None)),
                Ok(r) if RetryPolicy::retryable_status(r.status) => Verdict::Again {
                    retry_after: r.retry_after(),
                    failure: error_message(&r),
                },
                Ok(r) => Verdict::Done(Err(error_message(&r))),
                Err(t) if t.permanent => Verdict::Done(Err(t.message)),
                Err(t) => Verdict::again(t.message),
            }
        })
        .await;
        res.unwrap_or_else(|g| Err(format!("gave up after {} retries: {}", g.retries, g.last)))
            .map_err(|message| LibibError::Unexpected {
                what: what.into(),
                message,
            })
    }

    /// `GET /patrons/{id}` (barcode or e-mail). Libib answers an unknown id with 200 and empty
    /// fields (or 404): both are `None`.
    pub async fn get(&self, id: &str) -> Result<Option<Value>, LibibError> {
        let Some(r) = self.get_ok(&["patrons", id], &[], "patron lookup").await? else {
            return Ok(None);
        };
        let v = r.json().ok_or_else(|| LibibError::Unexpected {
            what: "patron lookup".into(),
            message: format!("HTTP {}: the response is not JSON", r.status),
        })?;
        let v = v.get("patron").cloned().unwrap_or(v);
        Ok(field(&v, "barcode").is_some().then_some(v))
    }

    /// Every patron, page by page, starting from an already fetched first page. Stops at
    /// `pages`, an empty or short page, or `ceil(total/50) + 1` pages; de-duplicates by barcode.
    pub async fn all_patrons(&self, first: Page) -> Result<Vec<Value>, LibibError> {
        let per = first.max_per_page.max(1);
        let ceiling = first.total.div_ceil(per) + 1;
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        let mut page = first;
        let mut n = 1u64;
        loop {
            let short = (page.patrons.len() as u64) < per;
            let empty = page.patrons.is_empty();
            for p in page.patrons.drain(..) {
                let b = field(&p, "barcode").map(str::to_string);
                if b.as_ref().is_none_or(|b| seen.insert(b.clone())) {
                    out.push(p);
                }
            }
            if empty || short || n >= page.pages || n >= ceiling {
                break;
            }
            n += 1;
            page = self.page(n).await?;
        }
        Ok(out)
    }

    /// `GET /patrons?page=n` (1-based), retrying 429, 5xx and transport failures.
    pub async fn page(&self, n: u64) -> Result<Page, LibibError> {
        let r = self
            .get_ok(
                &["patrons"],
                &[("page".into(), n.to_string())],
                "patron list",
            )
            .await?
            .ok_or_else(|| LibibError::Unexpected {
                what: "patron list".into(),
                message: format!("page {n} not found"),
            })?;
        parse_page(&r).ok_or_else(|| LibibError::Unexpected {
            what: "patron list".into(),
            message: format!("page {n} is not a page of patrons"),
        })
    }
}

fn parse_page(r: &Reply) -> Option<Page> {
    let v = r.json()?;
    let patrons = v.get("patrons")?.as_array()?.clone();
    let num = |k: &str| v.get(k).and_then(Value::as_u64);
    Some(Page {
        total: num("total").unwrap_or(patrons.len() as u64),
        pages: num("pages").unwrap_or(1),
        max_per_page: num("max_per_page").unwrap_or(50),
        patrons,
    })
}
