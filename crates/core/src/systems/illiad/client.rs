//! ILLiad Web Platform client: `ApiKey` + `Accept: application/json; version=1` on every request,
//! preflight with `SystemInfo/SecurePlatformVersion`, `GET Users/{username}`,
//! `GET Users/ExternalUserId/{id}` (404 for "not found" *and* "not unique", told apart by
//! `Message`), and `POST Users`.
//!
//! Invariants: every request goes through the target's [`Governed`] client; path segments are
//! percent-encoded; the API key is a [`Secret`] and never appears in errors or logs; error bodies
//! may be empty or not JSON, and are read tolerantly.

use crate::http::retry::{self, RetryPolicy, Verdict};
use crate::http::{Governed, Reply, TransportError};
use crate::secret::Secret;
use serde_json::Value;

/// A run-fatal ILLiad problem.
#[derive(Debug, thiserror::Error)]
pub enum IlliadError {
    /// No connection could be made.
    #[error("ILLiad at {url} is unreachable: {source}")]
    Unreachable {
        /// Base URL.
        url: String,
        /// Cause.
        source: TransportError,
    },
    /// The API key was refused, or the URL is not an ILLiad Web Platform.
    #[error(
        "ILLiad at {url} refused the connection check (SystemInfo/SecurePlatformVersion): {reason}"
    )]
    Auth {
        /// Base URL.
        url: String,
        /// What the server said.
        reason: String,
    },
    /// An unexpected answer to a lookup.
    #[error("ILLiad {what}: {message}")]
    Unexpected {
        /// What we were doing.
        what: String,
        /// Status and server message.
        message: String,
    },
}

impl crate::exit::TargetError for IlliadError {
    fn is_connection(&self) -> bool {
        matches!(
            self,
            IlliadError::Unreachable { .. } | IlliadError::Auth { .. }
        )
    }
}

/// The result of looking one user up.
#[derive(Debug, Clone)]
pub enum Lookup {
    /// Exactly one user.
    Found(Value),
    /// No such user.
    NotFound,
    /// Several users share the external id (ILLiad's "Could not find unique user").
    NotUnique(String),
}

/// Reads a key of a JSON object case-insensitively (ILLiad's casing varies between versions).
pub fn get_ci<'v>(v: &'v Value, key: &str) -> Option<&'v Value> {
    let obj = v.as_object()?;
    obj.get(key).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// The human message of an ILLiad error: `Message` plus every `ModelState` entry flattened
/// (`field: message`), or the text of a non-JSON body, or `HTTP 400 with an empty body`.
pub fn error_message(reply: &Reply) -> String {
    reply.server_text(&raw_message(reply))
}

fn raw_message(reply: &Reply) -> String {
    let body = reply.body.trim();
    if body.is_empty() {
        return format!("HTTP {} with an empty body", reply.status);
    }
    let Some(v) = reply.json() else {
        let text: String = body.chars().take(300).collect();
        return format!("HTTP {}: {text}", reply.status);
    };
    let mut parts = Vec::new();
    match get_ci(&v, "Message").and_then(Value::as_str) {
        Some(m) => parts.push(m.to_string()),
        None if v.is_string() => parts.push(v.as_str().unwrap_or_default().to_string()),
        None => {}
    }
    if let Some(ms) = get_ci(&v, "ModelState").and_then(Value::as_object) {
        for (field, msgs) in ms {
            let field = field.strip_prefix("model.").unwrap_or(field);
            let texts: Vec<String> = match msgs {
                Value::Array(a) => a
                    .iter()
                    .map(|m| m.as_str().map_or_else(|| m.to_string(), str::to_string))
                    .collect(),
                Value::String(s) => vec![s.clone()],
                other => vec![other.to_string()],
            };
            for t in texts {
                parts.push(format!("{field}: {t}"));
            }
        }
    }
    if parts.is_empty() {
        let text: String = body.chars().take(300).collect();
        return format!("HTTP {}: {text}", reply.status);
    }
    format!("HTTP {}: {}", reply.status, parts.join("; "))
}

/// Whether a refused create says the user name is taken.
pub fn is_already_exists(reply: &Reply) -> bool {
    reply.status == 400
        && error_message(reply)
            .to_lowercase()
            .contains("already exists")
}

/// A connected ILLiad client.
pub struct IlliadClient {
    http: Governed,
    base: String,
    key: Secret,
    /// The Web Platform version the preflight reported.
    pub version: String,
}

impl IlliadClient {
    /// Checks the URL and key with `GET SystemInfo/SecurePlatformVersion` and returns a client.
    pub async fn connect(http: Governed, base: &str, key: Secret) -> Result<Self, IlliadError> {
        http.keep_secret(&key);
        let mut c = IlliadClient {
            http,
            base: base.trim_end_matches('/').to_string(),
            key,
            version: String::new(),
        };
        let url = c.url(&["SystemInfo", "SecurePlatformVersion"]);
        // The target's retry policy, as for FOLIO's and Libib's logins; a refused connection
        // (nothing listening) is not retried.
        let res = retry::run(&c.http.retry(), |_| {
            let (c, url) = (&c, url.clone());
            async move {
                match c.send(reqwest::Method::GET, url, None).await {
                    Ok(r) if RetryPolicy::retryable_status(r.status) => Verdict::Again {
                        retry_after: r.retry_after(),
                        failure: Ok(r),
                    },
                    Err(e) if !e.connect && !e.permanent => Verdict::again(Err(e)),
                    res => Verdict::Done(res),
                }
            }
        })
        .await;
        // Out of retries or stopped: the last answer decides.
        let reply = match res.unwrap_or_else(|g| g.last) {
            Ok(r) => r,
            Err(e) => {
                return Err(IlliadError::Unreachable {
                    url: c.base.clone(),
                    source: e,
                })
            }
        };
        if !reply.ok() {
            let reason = match reply.status {
                401 | 403 => format!("the API key was refused ({})", error_message(&reply)),
                404 => format!(
                    "not found; the URL should end in /ILLiadWebPlatform ({})",
                    error_message(&reply)
                ),
                _ => error_message(&reply),
            };
            return Err(IlliadError::Auth {
                url: c.base.clone(),
                reason,
            });
        }
        c.version = match reply.json() {
            Some(Value::String(s)) => s,
            Some(other) => other.to_string(),
            None => reply
                .server_text(reply.body.trim())
                .chars()
                .take(40)
                .collect(),
        };
        Ok(c)
    }

    /// The shared HTTP client (for counters and concurrency).
    pub fn http(&self) -> &Governed {
        &self.http
    }

    fn url(&self, segments: &[&str]) -> String {
        match url::Url::parse(&self.base) {
            Ok(mut u) => {
                if let Ok(mut p) = u.path_segments_mut() {
                    p.pop_if_empty().extend(segments);
                }
                u.to_string()
            }
            Err(_) => format!("{}/{}", self.base, segments.join("/")),
        }
    }

    async fn send(
        &self,
        method: reqwest::Method,
        url: String,
        body: Option<&Value>,
    ) -> Result<Reply, TransportError> {
        let mut req = self
            .http
            .client()
            .request(method, url)
            .header("ApiKey", self.key.expose())
            .header("Accept", "application/json; version=1");
        if let Some(b) = body {
            req = req.json(b);
        }
        self.http.send(req).await
    }

    /// `POST Users` once (the writer decides about retries).
    pub async fn create(&self, record: &Value) -> Result<Reply, TransportError> {
        self.send(reqwest::Method::POST, self.url(&["Users"]), Some(record))
            .await
    }

    /// Looks a user up by `UserName`.
    pub async fn by_username(&self, username: &str) -> Result<Lookup, IlliadError> {
        self.lookup(&["Users", username], "lookup by UserName")
            .await
    }

    /// Looks a user up by `ExternalUserId` (matched against the field the API key maps it to).
    pub async fn by_external_id(&self, id: &str) -> Result<Lookup, IlliadError> {
        self.lookup(&["Users", "ExternalUserId", id], "lookup by ExternalUserId")
            .await
    }

    /// One lookup, retrying transient failures.
    async fn lookup(&self, segments: &[&str], what: &str) -> Result<Lookup, IlliadError> {
        let url = self.url(segments);
        let res = retry::run(&self.http.retry(), |_| {
            let url = url.clone();
            async move {
                let res = self.send(reqwest::Method::GET, url, None).await;
                let done = |r: Result<Lookup, String>| {
                    Verdict::Done(r.map_err(|message| IlliadError::Unexpected {
                        what: what.into(),
                        message,
                    }))
                };
                match res {
                    Ok(r) if r.ok() => done(match r.json() {
                        Some(v) if v.is_object() => Ok(Lookup::Found(v)),
                        _ => Err(format!(
                            "HTTP {}: the response is not a user record",
                            r.status
                        )),
                    }),
                    Ok(r) if r.status == 404 => {
                        let msg = error_message(&r);
                        let lower = msg.to_lowercase();
                        if lower.contains("unique") {
                            return done(Ok(Lookup::NotUnique(msg)));
                        }
                        if lower.contains("not found") || lower.contains("was not found") {
                            return done(Ok(Lookup::NotFound));
                        }
                        // A 404 that is not about the user: a wrong URL.
                        done(Err(msg))
                    }
                    Ok(r) if RetryPolicy::retryable_status(r.status) => Verdict::Again {
                        retry_after: r.retry_after(),
                        failure: error_message(&r),
                    },
                    Ok(r) => done(Err(error_message(&r))),
                    Err(t) if t.permanent => done(Err(t.message)),
                    Err(t) => Verdict::again(t.message),
                }
            }
        })
        .await;
        res.unwrap_or_else(|g| {
            Err(IlliadError::Unexpected {
                what: what.into(),
                message: format!("gave up after {} retries: {}", g.retries, g.last),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderMap;

    fn reply(status: u16, body: &str) -> Reply {
        Reply::new(status, HeaderMap::new(), body.into())
    }

    #[test]
    fn messages_flatten_model_state_and_tolerate_odd_bodies() {
        let r = reply(
            400,
            r#"{"Message":"The request is invalid.","ModelState":{"model.NVTGC":["The NVTGC is invalid."],"UserName":["Username x already exists."]}}"#,
        );
        let m = error_message(&r);
        assert_eq!(
            m,
            "HTTP 400: The request is invalid.; NVTGC: The NVTGC is invalid.; UserName: Username x already exists."
        );
        assert!(is_already_exists(&r));
        assert_eq!(
            error_message(&reply(400, "")),
            "HTTP 400 with an empty body"
        );
        assert_eq!(
            error_message(&reply(502, "<html>Bad Gateway</html>")),
            "HTTP 502: <html>Bad Gateway</html>"
        );
        assert_eq!(
            error_message(&reply(404, r#"{"message":"User a was not found."}"#)),
            "HTTP 404: User a was not found."
        );
    }
}
