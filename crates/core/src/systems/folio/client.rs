//! FOLIO HTTP client: login (`/authn/login-with-expiry`, token read from the `folioAccessToken`
//! cookie; legacy `/authn/login` as a fallback), proactive refresh when under 60 s remain, one
//! re-login and replay on a 401, and every request through the shared [`Governed`] client.
//!
//! Tokens and the password are [`Secret`]s and never logged.

use crate::http::retry::{self, RetryPolicy, Verdict};
use crate::http::{Governed, Reply, TransportError};
use crate::secret::Secret;
use serde_json::Value;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// One page of users ([`FolioClient::users_after`]).
#[derive(Debug, Clone, Default)]
pub struct UserPage {
    /// The users, in id order.
    pub users: Vec<Value>,
    /// `totalRecords`, when FOLIO was asked for it (first page).
    pub total: Option<u64>,
}

/// The longest request line a lookup is built to (bytes, `GET /users?query=… HTTP/1.1`): well
/// under the 4096 bytes FOLIO's Vert.x servers (Okapi, mod-users) accept by default
/// (`HttpServerOptions.DEFAULT_MAX_INITIAL_LINE_LENGTH`; a longer line is answered 414), leaving
/// room for a gateway in front that adds to the path.
pub const LOOKUP_LINE_BUDGET: usize = 3072;

/// A run-fatal FOLIO problem.
#[derive(Debug, thiserror::Error)]
pub enum FolioError {
    /// No connection could be made.
    #[error("FOLIO at {url} is unreachable: {source}")]
    Unreachable {
        /// Base URL.
        url: String,
        /// Cause.
        source: TransportError,
    },
    /// Login refused.
    #[error("FOLIO login as {username} (tenant {tenant}) failed: {reason}")]
    Auth {
        /// Login name.
        username: String,
        /// Tenant.
        tenant: String,
        /// Server's reason.
        reason: String,
    },
    /// The login user lacks a permission (403): fatal, since every later request needing it
    /// would be refused the same way.
    #[error(
        "FOLIO refused {what} with 403: {message}. The FOLIO user patron-etl logs in as lacks {}; \
         grant it (Settings > Users > Permission sets, or the user's permissions) and run again",
        permission.as_deref().map_or("a permission".to_string(), |p| format!("the permission {p}"))
    )]
    Forbidden {
        /// The request (`POST /users`).
        what: String,
        /// The permission FOLIO named, when it did.
        permission: Option<String>,
        /// FOLIO's message.
        message: String,
    },
    /// The tenant does not enable a module the mapping needs (mod-users, for custom fields).
    #[error("FOLIO tenant {tenant}: {message}")]
    NoModule {
        /// Tenant.
        tenant: String,
        /// What is missing and what to do.
        message: String,
    },
    /// An unexpected answer to a call that must succeed (reference data, lookups).
    #[error("FOLIO {what}: HTTP {status}: {message}")]
    Unexpected {
        /// What we were doing.
        what: String,
        /// Status.
        status: u16,
        /// Server message.
        message: String,
    },
}

impl FolioError {
    /// A copy of a [`FolioError::Forbidden`] (the only kind kept to be returned again).
    fn clone_forbidden(&self) -> FolioError {
        match self {
            FolioError::Forbidden {
                what,
                permission,
                message,
            } => FolioError::Forbidden {
                what: what.clone(),
                permission: permission.clone(),
                message: message.clone(),
            },
            other => FolioError::Unexpected {
                what: "FOLIO".into(),
                status: 0,
                message: other.to_string(),
            },
        }
    }
}

impl crate::exit::TargetError for FolioError {
    fn is_connection(&self) -> bool {
        matches!(
            self,
            FolioError::Unreachable { .. } | FolioError::Auth { .. } | FolioError::Forbidden { .. }
        )
    }
}

struct Session {
    token: Secret,
    refresh: Option<Secret>,
    expires: Option<Instant>,
}

/// What a call adds to the usual request.
#[derive(Debug, Default, Clone, Copy)]
pub struct Extra<'a> {
    /// Extra request headers.
    pub headers: &'a [(&'a str, &'a str)],
    /// The run goes on without the answer: a 403 is an answer like any other (not remembered
    /// as fatal for every later call).
    pub optional: bool,
}

/// A logged-in FOLIO client.
pub struct FolioClient {
    http: Governed,
    base: String,
    tenant: String,
    username: String,
    password: Secret,
    session: Mutex<Session>,
    /// The first 403: once FOLIO has refused a permission, no further request is sent.
    forbidden: std::sync::OnceLock<Box<FolioError>>,
}

/// Finds a cookie's value among `Set-Cookie` headers.
fn cookie(reply: &Reply, name: &str) -> Option<String> {
    reply
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| k.trim() == name)
        .map(|(_, v)| v.trim().to_string())
}

/// The human message of a FOLIO error body: `{"errors":[{"message":…}]}` or plain text, redacted
/// ([`Reply::server_text`]).
pub fn error_message(reply: &Reply) -> String {
    reply.server_text(&raw_message(reply))
}

fn raw_message(reply: &Reply) -> String {
    if let Some(v) = reply.json() {
        if let Some(errs) = v.get("errors").and_then(Value::as_array) {
            let msgs: Vec<String> = errs
                .iter()
                .map(|e| {
                    let m = e.get("message").and_then(Value::as_str).unwrap_or("error");
                    let params: Vec<String> = e
                        .get("parameters")
                        .and_then(Value::as_array)
                        .map(|ps| {
                            ps.iter()
                                .filter_map(|p| {
                                    Some(format!(
                                        "{}={}",
                                        p.get("key")?.as_str()?,
                                        p.get("value").and_then(Value::as_str).unwrap_or("")
                                    ))
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    if params.is_empty() {
                        m.to_string()
                    } else {
                        format!("{m} ({})", params.join(", "))
                    }
                })
                .collect();
            if !msgs.is_empty() {
                return msgs.join("; ");
            }
        }
    }
    let t = reply.body.trim();
    if t.is_empty() {
        format!("HTTP {}", reply.status)
    } else {
        t.chars().take(500).collect()
    }
}

/// Sends a login request, retrying transient failures with the target's [`RetryPolicy`]: a 429 or
/// 5xx, and a connection that dropped or timed out. A refused connection (nothing listening: a
/// wrong URL or a server that is down) is not retried — as ILLiad's connection check does — and
/// neither is a refusal of the credentials (4xx), so wrong credentials still end the run at once.
async fn login_with_retries(
    http: &Governed,
    request: impl Fn() -> reqwest::RequestBuilder,
) -> Result<Reply, TransportError> {
    retry::login(&http.retry(), |attempt| {
        if attempt > 0 {
            tracing::info!(attempt, "FOLIO login failed transiently; retrying");
        }
        http.send_login(request())
    })
    .await
}

impl FolioClient {
    /// Logs in and returns a client.
    pub async fn login(
        http: Governed,
        base: &str,
        tenant: &str,
        username: &str,
        password: Secret,
    ) -> Result<FolioClient, FolioError> {
        http.keep_secret(&password);
        let session = Self::authenticate(&http, base, tenant, username, &password).await?;
        Ok(FolioClient {
            http,
            base: base.trim_end_matches('/').to_string(),
            tenant: tenant.to_string(),
            username: username.to_string(),
            password,
            session: Mutex::new(session),
            forbidden: std::sync::OnceLock::new(),
        })
    }

    /// The tenant logged in to.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// The shared HTTP client (for counters).
    pub fn http(&self) -> &Governed {
        &self.http
    }

    async fn authenticate(
        http: &Governed,
        base: &str,
        tenant: &str,
        username: &str,
        password: &Secret,
    ) -> Result<Session, FolioError> {
        let base = base.trim_end_matches('/');
        let body = serde_json::json!({"username": username, "password": password.expose()});
        let send = |path: &str| {
            http.client()
                .post(format!("{base}{path}"))
                .header("X-Okapi-Tenant", tenant)
                .header("Accept", "application/json, text/plain")
                .json(&body)
        };
        let unreachable = |e: TransportError| FolioError::Unreachable {
            url: base.to_string(),
            source: e,
        };
        let reply = login_with_retries(http, || send("/authn/login-with-expiry"))
            .await
            .map_err(unreachable)?;
        if reply.ok() {
            let token = cookie(&reply, "folioAccessToken").ok_or_else(|| FolioError::Auth {
                username: username.into(),
                tenant: tenant.into(),
                reason: "login succeeded but no folioAccessToken cookie came back".into(),
            })?;
            let refresh = cookie(&reply, "folioRefreshToken").map(Secret::new);
            let expires = reply
                .json()
                .and_then(|v| v.get("accessTokenExpiration")?.as_str().map(str::to_string))
                .and_then(|s| chrono::DateTime::parse_from_rfc3339(&s).ok())
                .map(|t| {
                    let left = t.signed_duration_since(chrono::Utc::now());
                    Instant::now() + left.to_std().unwrap_or(Duration::ZERO)
                });
            return Ok(Session {
                token: Secret::new(token),
                refresh,
                expires,
            });
        }
        if reply.status == 404 {
            // Pre-Poppy systems: legacy, non-expiring token in a header.
            let legacy = login_with_retries(http, || send("/authn/login"))
                .await
                .map_err(unreachable)?;
            if legacy.ok() {
                if let Some(t) = legacy
                    .headers
                    .get("x-okapi-token")
                    .and_then(|v| v.to_str().ok())
                {
                    return Ok(Session {
                        token: Secret::new(t),
                        refresh: None,
                        expires: None,
                    });
                }
            }
            return Err(FolioError::Auth {
                username: username.into(),
                tenant: tenant.into(),
                reason: error_message(&legacy),
            });
        }
        Err(FolioError::Auth {
            username: username.into(),
            tenant: tenant.into(),
            reason: error_message(&reply),
        })
    }

    /// The current token, refreshed first if it expires within 60 s.
    async fn token(&self) -> Result<Secret, FolioError> {
        let mut s = self.session.lock().await;
        let stale = s
            .expires
            .is_some_and(|e| e.saturating_duration_since(Instant::now()) < Duration::from_secs(60));
        if stale {
            let mut renewed = None;
            if let Some(rt) = &s.refresh {
                let req = self
                    .http
                    .client()
                    .post(format!("{}/authn/refresh", self.base))
                    .header("X-Okapi-Tenant", &self.tenant)
                    .header("Cookie", format!("folioRefreshToken={}", rt.expose()));
                if let Ok(reply) = self.http.send_login(req).await {
                    if reply.ok() {
                        if let Some(t) = cookie(&reply, "folioAccessToken") {
                            let expires = reply
                                .json()
                                .and_then(|v| {
                                    v.get("accessTokenExpiration")?.as_str().map(str::to_string)
                                })
                                .and_then(|s| chrono::DateTime::parse_from_rfc3339(&s).ok())
                                .map(|t| {
                                    let left = t.signed_duration_since(chrono::Utc::now());
                                    Instant::now() + left.to_std().unwrap_or(Duration::ZERO)
                                });
                            renewed = Some(Session {
                                token: Secret::new(t),
                                refresh: cookie(&reply, "folioRefreshToken")
                                    .map(Secret::new)
                                    .or_else(|| s.refresh.clone()),
                                expires,
                            });
                        }
                    }
                }
            }
            *s = match renewed {
                Some(r) => r,
                None => {
                    Self::authenticate(
                        &self.http,
                        &self.base,
                        &self.tenant,
                        &self.username,
                        &self.password,
                    )
                    .await?
                }
            };
        }
        Ok(s.token.clone())
    }

    async fn relogin(&self, used: &Secret) -> Result<(), FolioError> {
        let mut s = self.session.lock().await;
        if &s.token == used {
            *s = Self::authenticate(
                &self.http,
                &self.base,
                &self.tenant,
                &self.username,
                &self.password,
            )
            .await?;
        }
        Ok(())
    }

    /// The 403 that stopped this client, if one did (the run must stop: exit 3).
    pub fn forbidden(&self) -> Option<FolioError> {
        self.forbidden.get().map(|e| e.clone_forbidden())
    }

    /// Sends one request (authenticated, governed). On a 401, logs in again once and replays.
    /// A 403 (a missing permission, mod-authtoken `FilterApi.java` lines 321-341: "Access for
    /// user 'U' (ID) requires permission: X") is fatal: it is remembered, returned as
    /// [`FolioError::Forbidden`], and every later call fails the same way without being sent.
    /// Transport failures come back as `Err(Ok(TransportError))`; fatal auth problems as
    /// `Err(Err(FolioError))`.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Reply, CallFailure> {
        self.call_with(method, path, query, &Extra::default(), body)
            .await
    }

    /// [`FolioClient::call`] with extra request headers (e.g. `X-Okapi-Module-Id`); an
    /// `optional` call's 403 is returned as an answer, not remembered as fatal.
    pub async fn call_with(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, &str)],
        extra: &Extra<'_>,
        body: Option<&Value>,
    ) -> Result<Reply, CallFailure> {
        let mut replayed = false;
        loop {
            if let Some(f) = self.forbidden() {
                return Err(CallFailure::Fatal(f));
            }
            let token = self.token().await.map_err(CallFailure::Fatal)?;
            let mut req = self
                .http
                .client()
                .request(method.clone(), format!("{}{}", self.base, path))
                .header("X-Okapi-Tenant", &self.tenant)
                .header("X-Okapi-Token", token.expose())
                .header("Accept", "application/json, text/plain");
            for (k, v) in extra.headers {
                req = req.header(*k, *v);
            }
            if !query.is_empty() {
                req = req.query(query);
            }
            if let Some(b) = body {
                req = req.json(b);
            }
            let reply = self.http.send(req).await.map_err(CallFailure::Transport)?;
            if reply.status == 403 && !extra.optional {
                let message = error_message(&reply);
                let permission = message
                    .rsplit_once("requires permission:")
                    .map(|(_, p)| p.trim().to_string())
                    .filter(|p| !p.is_empty());
                let e = FolioError::Forbidden {
                    what: format!("{method} {path}"),
                    permission,
                    message,
                };
                let _ = self.forbidden.set(Box::new(e));
                if let Some(f) = self.forbidden() {
                    return Err(CallFailure::Fatal(f));
                }
            }
            if reply.status == 401 && !replayed {
                replayed = true;
                tracing::info!("FOLIO answered 401; logging in again and replaying once");
                self.relogin(&token).await.map_err(CallFailure::Fatal)?;
                continue;
            }
            return Ok(reply);
        }
    }

    /// GET returning JSON, for calls that must succeed (retrying transient failures a few times).
    pub async fn get_json(
        &self,
        path: &str,
        query: &[(&str, &str)],
        what: &str,
    ) -> Result<Value, FolioError> {
        self.get_json_with(path, query, &Extra::default(), what)
            .await
    }

    /// [`FolioClient::get_json`] with [`Extra`] headers or as an optional call.
    pub async fn get_json_with(
        &self,
        path: &str,
        query: &[(&str, &str)],
        extra: &Extra<'_>,
        what: &str,
    ) -> Result<Value, FolioError> {
        let res = retry::run(&self.http.retry(), move |_| async move {
            let res = self
                .call_with(reqwest::Method::GET, path, query, extra, None)
                .await;
            match res {
                Ok(r) if r.ok() => Verdict::Done(r.json().ok_or_else(|| FolioError::Unexpected {
                    what: what.into(),
                    status: r.status,
                    message: "the response is not JSON".into(),
                })),
                Ok(r) if RetryPolicy::retryable_status(r.status) => Verdict::Again {
                    retry_after: r.retry_after(),
                    failure: Ok(r),
                },
                Ok(r) => Verdict::Done(Err(FolioError::Unexpected {
                    what: what.into(),
                    status: r.status,
                    message: error_message(&r),
                })),
                Err(CallFailure::Transport(t)) if t.permanent => {
                    Verdict::Done(Err(FolioError::Unexpected {
                        what: what.into(),
                        status: 200,
                        message: t.message,
                    }))
                }
                Err(CallFailure::Fatal(f)) => Verdict::Done(Err(f)),
                Err(CallFailure::Transport(t)) => Verdict::again(Err(t)),
            }
        })
        .await;
        // Out of retries (or stopped): the last transient failure is the error.
        res.unwrap_or_else(|g| {
            Err(match g.last {
                Ok(r) => FolioError::Unexpected {
                    what: what.into(),
                    status: r.status,
                    message: error_message(&r),
                },
                Err(t) => FolioError::Unreachable {
                    url: self.base.clone(),
                    source: t,
                },
            })
        })
    }

    /// One page of up to `limit` users matching `query`, in id order, after the id `after` (the
    /// last id of the previous page) — keyset paging, which stays fast however deep it goes
    /// where offset paging makes FOLIO count past every skipped record. The total is asked for
    /// on the first page only. `what` names the call in errors.
    pub async fn users_after(
        &self,
        query: &str,
        after: Option<&str>,
        limit: usize,
        what: &str,
    ) -> Result<UserPage, FolioError> {
        let (q, total) = match after {
            None => (format!("{query} sortBy id"), "auto"),
            Some(id) => (
                format!("id>{} and ({query}) sortBy id", super::cql::quote(id)),
                "none",
            ),
        };
        let limit = limit.to_string();
        let v = self
            .get_json(
                "/users",
                &[("query", &q), ("limit", &limit), ("totalRecords", total)],
                what,
            )
            .await?;
        // mod-users answers totalRecords on every page whatever is asked (an estimate); only
        // the first page's counts.
        let total = v
            .get("totalRecords")
            .and_then(Value::as_u64)
            .filter(|_| after.is_none());
        match v {
            Value::Object(mut m) => match m.remove("users") {
                Some(Value::Array(users)) => Ok(UserPage { users, total }),
                _ => Err(FolioError::Unexpected {
                    what: what.into(),
                    status: 200,
                    message: "the answer has no \"users\" list".into(),
                }),
            },
            _ => Err(FolioError::Unexpected {
                what: what.into(),
                status: 200,
                message: "the answer is not a JSON object".into(),
            }),
        }
    }

    /// The length in bytes of the request line [`find_users`](Self::find_users) sends for `cql`
    /// (percent-encoded as the HTTP layer encodes it, the widest `limit` and an `offset` of up
    /// to six digits counted), to keep lookups under [`LOOKUP_LINE_BUDGET`].
    pub fn lookup_line_len(&self, cql: &str) -> usize {
        let path = url::Url::parse(&self.base)
            .map(|u| u.path().trim_end_matches('/').len())
            .unwrap_or(self.base.len());
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs([("query", cql), ("limit", "1000"), ("offset", "100000")])
            .finish();
        "GET ".len() + path + "/users?".len() + query.len() + " HTTP/1.1".len()
    }

    /// Fetches all users matching a CQL query (paging by offset; lookups are small).
    pub async fn find_users(&self, cql: &str, expected: usize) -> Result<Vec<Value>, FolioError> {
        let limit = (expected * 2).clamp(10, 1000);
        let mut out = Vec::new();
        let mut offset = 0usize;
        loop {
            let (l, o) = (limit.to_string(), offset.to_string());
            let v = self
                .get_json(
                    "/users",
                    &[("query", cql), ("limit", &l), ("offset", &o)],
                    "user lookup",
                )
                .await?;
            let users = v
                .get("users")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let n = users.len();
            out.extend(users);
            if n < limit {
                return Ok(out);
            }
            offset += n;
        }
    }
}

/// Why a single call got no usable reply.
#[derive(Debug)]
pub enum CallFailure {
    /// No HTTP response (timeout, dropped connection, refused).
    Transport(TransportError),
    /// Authentication broke down (fatal for the run).
    Fatal(FolioError),
}
