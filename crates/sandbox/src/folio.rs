//! FOLIO emulator under `/folio`: mod-login auth (cookies, refresh, legacy login, logout), the
//! Okapi tenant/token gate, mod-users `/users` (CQL, paging, JSON-schema validation, uniqueness
//! with the real 422/400 shapes), reference data (`/groups`, `/addresstypes`, `/departments`,
//! `/custom-fields`) and the other endpoints folio-data-import 0.6.9 calls.
//! Invariant: every error body is the real one's shape: `text/plain` for RMB's generic
//! 400/404, `{"errors":[…]}` JSON for 422 and for mod-login's token errors.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{MatchedPath, Path, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Map, Value};

use super::cql::{self, fold};
use super::jackson;
use super::server::{empty, json_resp, lock, text, App, Token};
use super::state::{canonical_id, Coll, Data};

/// The user id the sandbox's admin login stands for (used in `metadata`).
const ADMIN_USER_ID: &str = "a23eac4b-955e-451c-b4ff-6ec2f5e63e23";

/// The id pattern of folio-org/raml `schemas/uuid.schema` (mod-users' `ramls/raml-util`): versions
/// 1-5, variant 8/9/a/b.
const UUID_PATTERN: &str =
    "^[a-fA-F0-9]{8}-[a-fA-F0-9]{4}-[1-5][a-fA-F0-9]{3}-[89abAB][a-fA-F0-9]{3}-[a-fA-F0-9]{12}$";

fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 36 {
        return false;
    }
    for (i, c) in b.iter().enumerate() {
        let ok = match i {
            8 | 13 | 18 | 23 => *c == b'-',
            14 => (b'1'..=b'5').contains(c),
            19 => matches!(c, b'8' | b'9' | b'a' | b'b' | b'A' | b'B'),
            _ => c.is_ascii_hexdigit(),
        };
        if !ok {
            return false;
        }
    }
    true
}

fn now_folio() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3f+00:00")
        .to_string()
}

fn errors_422(errors: Vec<Value>) -> Response {
    json_resp(
        StatusCode::UNPROCESSABLE_ENTITY,
        &json!({ "errors": errors, "total_records": errors.len() }),
    )
}

fn err(message: &str, code: &str, key: &str, value: &str) -> Value {
    json!({"message": message, "type": "1", "code": code, "parameters": [{"key": key, "value": value}]})
}

fn login_error(status: StatusCode, message: &str, code: &str) -> Response {
    json_resp(
        status,
        &json!({"errors": [{"message": message, "code": code, "type": "error"}]}),
    )
}

fn header_str<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

fn cookie(h: &HeaderMap, name: &str) -> Option<String> {
    for v in h.get_all(header::COOKIE) {
        let Ok(s) = v.to_str() else { continue };
        for pair in s.split(';') {
            if let Some((k, val)) = pair.trim().split_once('=') {
                if k == name {
                    return Some(val.to_string());
                }
            }
        }
    }
    None
}

fn params(raw: &Option<String>) -> Vec<(String, String)> {
    raw.as_deref()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default()
}

fn param<'a>(p: &'a [(String, String)], name: &str) -> Option<&'a str> {
    p.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

// ---------------------------------------------------------------------------------------------
// Request line

/// The request line the real gateway would read for `req` (`GET /users?query=… HTTP/1.1`, the
/// sandbox's `/folio` prefix taken off), in bytes, without the CRLF.
fn request_line_len(req: &Request) -> usize {
    let path = req.uri().path();
    let path = path.strip_prefix("/folio").unwrap_or(path);
    let query = req.uri().query().map_or(0, |q| q.len() + 1);
    req.method().as_str().len() + 1 + path.len() + query + " HTTP/1.1".len()
}

/// 414 with an empty body, connection closed, when a FOLIO request line is longer than
/// `folio_max_request_line`: Netty's `HttpObjectDecoder` fails a line over
/// `maxInitialLineLength` (Vert.x default 4096, `HttpServerOptions.DEFAULT_MAX_INITIAL_LINE_LENGTH`,
/// eclipse-vertx/vert.x @ d9e1080b4 `vertx-core/src/main/java/io/vertx/core/http/HttpServerOptions.java`
/// line 82) with a `TooLongHttpLineException`, which Vert.x's default invalid-request handler
/// answers with a bodiless `REQUEST_URI_TOO_LONG` and a closed connection
/// (`vertx-core/src/main/java/io/vertx/core/http/HttpServerRequest.java` lines 61-76; Vert.x 4,
/// which Okapi and mod-users run, did the same in `Http1xServerConnection`). Okapi and mod-users are both
/// Vert.x servers with the default.
pub(crate) fn request_line_too_long(app: &App, req: &Request) -> Option<Response> {
    if !req.uri().path().starts_with("/folio") {
        return None;
    }
    if request_line_len(req) <= app.config.folio_max_request_line {
        return None;
    }
    let mut r = empty(StatusCode::URI_TOO_LONG);
    r.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    Some(r)
}

// ---------------------------------------------------------------------------------------------
// Auth

fn b64url(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(char::from(A[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

fn new_token(app: &App, refresh: bool, ttl: Option<Duration>) -> String {
    let now = chrono::Utc::now().timestamp();
    let payload = json!({
        "sub": app.config.credentials.folio_username, "user_id": ADMIN_USER_ID,
        "type": if refresh { "refresh" } else { "access" }, "tenant": app.config.credentials.folio_tenant,
        "iat": now, "exp": ttl.map(|t| now + t.as_secs() as i64),
    });
    let token = format!(
        "{}.{}.{}",
        b64url(br#"{"alg":"HS256","typ":"JWT"}"#),
        b64url(payload.to_string().as_bytes()),
        b64url(uuid::Uuid::new_v4().as_bytes())
    );
    lock(&app.tokens).insert(
        token.clone(),
        Token {
            refresh,
            expires: ttl.map(|t| Instant::now() + t),
        },
    );
    token
}

/// Tenant check shared by every FOLIO route: `Err` is the response to send. An unknown tenant
/// is Okapi's 400 "No such Tenant {0}" (folio-org/okapi @ 802665dd3
/// `okapi-core/src/main/java/org/folio/okapi/managers/ProxyService.java` line 552,
/// `okapi-core/src/main/resources/infra-messages/Messages_en.properties` line 12). A missing
/// header is mod-authtoken's 400 "Missing header: X-Okapi-Tenant" (folio-org/mod-authtoken
/// `src/main/java/org/folio/auth/authtokenmodule/apis/FilterApi.java` lines 44 and 107), as a
/// client calling a module directly sees it; behind Okapi the tenant would come from the token
/// or be `supertenant` (ProxyService.java lines 271-305; not modelled, README).
fn check_tenant(app: &App, h: &HeaderMap) -> Result<(), Response> {
    match header_str(h, "x-okapi-tenant") {
        None => Err(text(
            StatusCode::BAD_REQUEST,
            "Missing header: X-Okapi-Tenant",
        )),
        Some(t) if t != app.config.credentials.folio_tenant => {
            Err(text(StatusCode::BAD_REQUEST, format!("No such Tenant {t}")))
        }
        Some(_) => Ok(()),
    }
}

/// The permission a route needs (mod-users `descriptors/ModuleDescriptor-template.json`
/// `permissionsRequired`: `GET /users` users.collection.get (line 18), `POST /users`
/// users.item.post (line 36), `PUT /users/{id}` users.item.put (line 71); the other modules'
/// descriptors name theirs the same way).
fn permission(method: &Method, route: &str) -> String {
    let r = route.trim_start_matches("/folio");
    let item = r.ends_with("{id}");
    let base = r.trim_end_matches("/{id}");
    let name = match base {
        "/users" => "users",
        "/groups" => "usergroups",
        "/addresstypes" => "addresstypes",
        "/departments" => "departments",
        "/custom-fields" => "user-settings.custom-fields",
        "/service-points" => "inventory-storage.service-points",
        "/service-points-users" => "inventory-storage.service-points-users",
        "/request-preference-storage/request-preference" => "request-storage.request-preferences",
        "/perms/users" => "perms.users",
        "/consortia" => "consortia.consortium",
        _ => "okapi.proxy.tenants.modules",
    };
    let op = match (method.as_str(), item) {
        ("GET", false) => "collection.get",
        ("GET", true) => "item.get",
        ("POST", _) => "item.post",
        ("PUT", _) => "item.put",
        ("DELETE", true) => "item.delete",
        _ => "collection.delete",
    };
    if name == "okapi.proxy.tenants.modules" {
        return "okapi.proxy.tenants.modules.list".into();
    }
    format!("{name}.{op}")
}

async fn gate(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    if let Err(r) = check_tenant(&app, req.headers()) {
        return r;
    }
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_default();
    let token = header_str(req.headers(), "x-okapi-token")
        .map(str::to_string)
        .or_else(|| cookie(req.headers(), "folioAccessToken"));
    // mod-authtoken `FilterApi.java` lines 321-341: a request without a token is 400 "Token
    // missing, access requires permission: X"; a user lacking X gets 403 "Access for user 'U'
    // (ID) requires permission: X".
    let Some(token) = token else {
        let perm = permission(req.method(), &route);
        return text(
            StatusCode::BAD_REQUEST,
            format!("Token missing, access requires permission: {perm}"),
        );
    };
    // mod-authtoken `Api.java` lines 41-48: every token validation failure, an expired access
    // token included (`AccessToken.java` line 61 names it only in the log), is 401 with the
    // generic text "Invalid token".
    let known = lock(&app.tokens).get(&token).cloned();
    let valid = matches!(known, Some(Token { refresh: false, expires })
        if expires.is_none_or(|e| e > Instant::now()));
    if !valid {
        return text(StatusCode::UNAUTHORIZED, "Invalid token");
    }
    let perm = permission(req.method(), &route);
    if app.config.folio_denied_permissions.contains(&perm) {
        return text(
            StatusCode::FORBIDDEN,
            format!(
                "Access for user '{}' ({ADMIN_USER_ID}) requires permission: {perm}",
                app.config.credentials.folio_username
            ),
        );
    }
    next.run(req).await
}

/// The login body: `username` or `userId`, and `password`, else mod-login's 400 texts
/// (folio-org/mod-login `src/main/java/org/folio/rest/impl/LoginAPI.java` lines 533-543); a body
/// that is not JSON is RMB's binding 400 (see [`parse_object`]).
fn parse_login(body: &Bytes) -> Result<(String, String), Response> {
    let v: Value = serde_json::from_slice(body).map_err(|e| jackson_400(e.to_string()))?;
    let user = v
        .get("username")
        .or_else(|| v.get("userId"))
        .and_then(Value::as_str);
    let Some(user) = user else {
        return Err(text(
            StatusCode::BAD_REQUEST,
            "You must provide a username or userId",
        ));
    };
    let Some(pw) = v.get("password").and_then(Value::as_str) else {
        return Err(text(StatusCode::BAD_REQUEST, "You must provide a password"));
    };
    Ok((user.to_string(), pw.to_string()))
}

fn credentials_ok(app: &App, user: &str, pw: &str) -> bool {
    let c = &app.config.credentials;
    let revoked = app.folio_revoked.load(std::sync::atomic::Ordering::SeqCst);
    !revoked && (user == c.folio_username || user == ADMIN_USER_ID) && pw == c.folio_password
}

/// mod-login's failed login: 422 with one error, code `wrong.username.or.wrong.password.or.account.blocked`,
/// type "error" (folio-org/mod-login `LoginAPI.java` lines 104-108 and 1360-1373).
fn wrong_credentials() -> Response {
    login_error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "Wrong username or wrong password or account blocked",
        "wrong.username.or.wrong.password.or.account.blocked",
    )
}

/// The refresh token's lifetime: "604800 seconds = 7 days" (folio-org/mod-authtoken
/// `src/main/java/org/folio/auth/authtokenmodule/tokens/RefreshToken.java` lines 22-24; the access
/// token's 600 s default is `AccessToken.java` line 20, the sandbox's `folio_token_ttl`).
const REFRESH_TTL: Duration = Duration::from_secs(604_800);

/// `login-with-expiry`'s answer: 201 with both expirations, and the tokens as `Secure; HttpOnly`
/// cookies, the access token on `/`, the refresh token on `/authn`, `Max-Age` the lifetime
/// (folio-org/mod-login `LoginAPI.java` lines 259-303; SameSite `Lax` when unset,
/// `src/main/java/org/folio/util/CookieSameSiteConfig.java` lines 26-27).
fn token_pair_response(app: &App) -> Response {
    let ttl = app.config.folio_token_ttl;
    let at = new_token(app, false, Some(ttl));
    let rt = new_token(app, true, Some(REFRESH_TTL));
    let exp = |d: Duration| {
        (chrono::Utc::now() + chrono::Duration::seconds(d.as_secs() as i64))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    let mut r = json_resp(
        StatusCode::CREATED,
        &json!({"accessTokenExpiration": exp(ttl), "refreshTokenExpiration": exp(REFRESH_TTL)}),
    );
    for c in [
        format!(
            "folioAccessToken={at}; Max-Age={}; Path=/; Secure; HttpOnly; SameSite=Lax",
            ttl.as_secs()
        ),
        format!(
            "folioRefreshToken={rt}; Max-Age={}; Path=/authn; Secure; HttpOnly; SameSite=Lax",
            REFRESH_TTL.as_secs()
        ),
    ] {
        if let Ok(v) = HeaderValue::from_str(&c) {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    r
}

async fn login_with_expiry(State(app): State<Arc<App>>, h: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = check_tenant(&app, &h) {
        return r;
    }
    let (user, pw) = match parse_login(&body) {
        Ok(x) => x,
        Err(r) => return r,
    };
    if !credentials_ok(&app, &user, &pw) {
        return wrong_credentials();
    }
    token_pair_response(&app)
}

async fn login_legacy(State(app): State<Arc<App>>, h: HeaderMap, body: Bytes) -> Response {
    if !app.config.folio_legacy_login {
        return text(StatusCode::NOT_FOUND, "Not found");
    }
    if let Err(r) = check_tenant(&app, &h) {
        return r;
    }
    let (user, pw) = match parse_login(&body) {
        Ok(x) => x,
        Err(r) => return r,
    };
    if !credentials_ok(&app, &user, &pw) {
        return wrong_credentials();
    }
    let t = new_token(&app, false, None);
    let mut r = json_resp(StatusCode::CREATED, &json!({ "okapiToken": t }));
    if let Ok(v) = HeaderValue::from_str(&t) {
        r.headers_mut().insert("x-okapi-token", v);
    }
    r
}

async fn refresh(State(app): State<Arc<App>>, h: HeaderMap) -> Response {
    if let Err(r) = check_tenant(&app, &h) {
        return r;
    }
    // No refresh cookie: 400 "Bad request", code `token.parse.failure` (mod-login `LoginAPI.java`
    // lines 417-429, constants lines 131 and 139).
    let Some(rt) = cookie(&h, "folioRefreshToken") else {
        return login_error(
            StatusCode::BAD_REQUEST,
            "Bad request",
            "token.parse.failure",
        );
    };
    let known = lock(&app.tokens).remove(&rt);
    match known {
        Some(Token {
            refresh: true,
            expires,
        }) if expires.is_none_or(|e| e > Instant::now()) => token_pair_response(&app),
        other => {
            if let Some(t) = other {
                if !t.refresh {
                    lock(&app.tokens).insert(rt, t);
                }
            }
            // mod-login `LoginAPI.java` lines 437-449 (constants lines 127-128): every 4xx of
            // the authorization server becomes this one 422.
            login_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Authorization server unable to process token refresh request",
                "token.refresh.unprocessable",
            )
        }
    }
}

/// mod-login `LoginAPI.java` lines 363-401: with no `Cookie` header, logout is logout-all; the
/// answer is 204 with both cookies expired (`logoutResponse`, lines 346-354).
async fn logout(State(app): State<Arc<App>>, h: HeaderMap) -> Response {
    if let Err(r) = check_tenant(&app, &h) {
        return r;
    }
    match cookie(&h, "folioRefreshToken") {
        Some(rt) => {
            lock(&app.tokens).remove(&rt);
        }
        None => lock(&app.tokens).retain(|_, t| !t.refresh),
    }
    let mut r = empty(StatusCode::NO_CONTENT);
    for c in [
        "folioAccessToken=; SameSite=None; Secure; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
        "folioRefreshToken=; SameSite=None; Secure; Path=/authn; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
    ] {
        r.headers_mut()
            .append(header::SET_COOKIE, HeaderValue::from_static(c));
    }
    r
}

async fn logout_all(State(app): State<Arc<App>>, h: HeaderMap) -> Response {
    if let Err(r) = check_tenant(&app, &h) {
        return r;
    }
    lock(&app.tokens).retain(|_, t| !t.refresh);
    empty(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------------------------------------
// Listing (CQL + paging), shared by every collection

struct Page {
    items: Vec<Value>,
    total: usize,
    with_total: bool,
}

/// An `offset`/`limit` parameter: an integer from 0 to 2147483647 (folio-org/raml
/// `traits/pageable.raml` lines 10-25, pinned by mod-users as `ramls/raml-util`), else a 400 in
/// RMB's words (folio-org/raml-module-builder @ 24e2b7b2a): empty is "NAME does not have a default
/// value in the RAML and has been passed empty" (`domain-models-runtime/src/main/java/org/folio/
/// rest/RestRouting.java` lines 274-275 and 305-306); not a Java `int` is `Integer.valueOf`'s
/// NumberFormatException text (line 277, answered by `parseParams`, lines 423-431); below 0 is
/// the `@Min` violation as `RestValidator` words it, leading newline included
/// (`domain-models-api-aspects/src/main/java/org/folio/rest/annotations/RestValidator.aj` line 71).
fn int_param(p: &[(String, String)], name: &str, default: usize) -> Result<usize, Response> {
    let Some(v) = param(p, name) else {
        return Ok(default);
    };
    if v.is_empty() {
        return Err(jackson_400(format!(
            "{name} does not have a default value in the RAML and has been passed empty"
        )));
    }
    let n = v
        .parse::<i32>()
        .map_err(|_| jackson_400(format!("For input string: \"{v}\"")))?;
    usize::try_from(n).map_err(|_| {
        jackson_400(format!(
            "\n '{name}' parameter is incorrect. parameter value {{{n}}} is not valid: must be greater than or equal to 0"
        ))
    })
}

/// A query FOLIO refuses is a 400 text: a syntax error as mod-users words it (`UsersAPI.java`
/// `response`, "CQL Parsing Error for '…': …"), a translation error as RMB `PgUtil.streamGet`
/// does (`message + ": " + query`, PgUtil.java lines 744-755).
fn parse_query(q: &str) -> Result<cql::Query, Response> {
    cql::parse(q).map_err(|e| match e {
        cql::CqlError::Parse(m) => text(
            StatusCode::BAD_REQUEST,
            format!("CQL Parsing Error for '{q}': {m}"),
        ),
        cql::CqlError::Validation(m) => text(StatusCode::BAD_REQUEST, format!("{m}: {q}")),
    })
}

fn list(coll: &Coll, p: &[(String, String)]) -> Result<Page, Response> {
    list_in(coll, p, false, false)
}

/// [`list`]; `folded_ids` when every key of `coll` is already folded (users: canonical
/// lower-case UUIDs), so keyset paging without a total walks the collection from the given id
/// instead of scanning all of it, as FOLIO's primary-key index does.
///
/// `always_total`: the collection answers `totalRecords` whatever `totalRecords=` says (mod-users
/// `UsersAPI.java` lines 190-201 and 227-236: `getUsers` builds its `CQLWrapper` without the
/// parameter, so RMB's default `"auto"` applies, `CQLWrapper.java` line 22). Its keyset pages
/// give the collection's size as the figure (an estimate, as "auto" gives one).
fn list_in(
    coll: &Coll,
    p: &[(String, String)],
    folded_ids: bool,
    always_total: bool,
) -> Result<Page, Response> {
    // Defaults: `limit` 10, `offset` 0 (raml `traits/pageable.raml` lines 15 and 23).
    let limit = int_param(p, "limit", 10)?;
    let offset = int_param(p, "offset", 0)?;
    let query = match param(p, "query").map(str::trim) {
        None | Some("") => None,
        Some(q) => Some(parse_query(q)?),
    };
    let asked_none = param(p, "totalRecords") == Some("none");
    let with_total = always_total || !asked_none;
    if let Some(q) = query.as_ref().filter(|_| folded_ids && asked_none) {
        if let Some(after) = q.keyset_after() {
            use std::ops::Bound::{Excluded, Unbounded};
            let items = coll
                .range::<str, _>((Excluded(after), Unbounded))
                .filter(|(id, v)| q.matches_keyed(id, v))
                .skip(offset)
                .take(limit)
                .map(|(_, v)| v.clone())
                .collect::<Vec<_>>();
            return Ok(Page {
                total: if always_total {
                    coll.len()
                } else {
                    items.len()
                },
                items,
                with_total,
            });
        }
    }
    // The collection is keyed by id: clauses and sort keys on `id` read the key, not the record.
    let mut hits: Vec<(&str, &Value)> = coll
        .iter()
        .map(|(id, v)| (id.as_str(), v))
        .filter(|(id, v)| query.as_ref().is_none_or(|q| q.matches_keyed(id, v)))
        .collect();
    if let Some(q) = &query {
        q.sort_keyed(&mut hits);
    }
    let total = hits.len();
    let items = hits
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|(_, v)| v.clone())
        .collect();
    Ok(Page {
        items,
        total,
        with_total,
    })
}

fn page_body(key: &str, page: Page, result_info: bool) -> Value {
    let mut m = Map::new();
    m.insert(key.into(), Value::Array(page.items));
    if page.with_total {
        m.insert("totalRecords".into(), json!(page.total));
        if result_info {
            m.insert(
                "resultInfo".into(),
                json!({"totalRecords": page.total, "facets": [], "diagnostics": []}),
            );
        }
    }
    Value::Object(m)
}

// ---------------------------------------------------------------------------------------------
// JSON parsing and user validation

/// A body Jackson cannot bind: RMB answers 400 with the exception's message as the whole
/// `text/plain` body (folio-org/raml-module-builder @ 24e2b7b2a
/// `domain-models-runtime/src/main/java/org/folio/rest/RestRouting.java` lines 423-431; no
/// "Json content error " prefix since commit 22e863be9). See `jackson.rs` for the messages.
fn jackson_400(message: impl Into<String>) -> Response {
    text(StatusCode::BAD_REQUEST, message.into())
}

/// The body as a JSON object, else RMB's binding 400: Jackson's "No content to map due to
/// end-of-input" for a blank body, its shape message for a non-object; a syntax error's text is
/// serde_json's (Jackson's wording not modelled).
fn parse_object(body: &Bytes, class: &str) -> Result<Map<String, Value>, Response> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(jackson_400("No content to map due to end-of-input"));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(other) => Err(jackson_400(jackson::cannot_deserialize(
            &format!("org.folio.rest.jaxrs.model.{class}"),
            &other,
        ))),
        Err(e) => Err(jackson_400(e.to_string())),
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Str,
    Bool,
    Uuid,
    Date,
    Obj,
    StrArr,
    UuidArr,
    EmailComm,
    Personal,
    Tags,
    /// `personal.addresses`: bound by the `Personal` arm.
    Addresses,
    /// A string with a schema `pattern` (its text, as jakarta's message quotes it).
    Pat(&'static str),
    /// A string enum, bound by jsonschema2pojo's generated enum class (its Java name given).
    Enum(&'static str, &'static [&'static str]),
    /// `java.lang.Integer`.
    Int,
    /// A JSON array of objects whose items are not checked further.
    ObjArr,
}

/// The id pattern of mod-circulation-storage `ramls/request-preference.json` (lines 8, 13, 26,
/// 31): hex groups, any version.
const HEX_UUID_PATTERN: &str =
    "^[a-fA-F0-9]{8}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{12}$";

/// The id pattern of mod-inventory-storage `ramls/schemas/common/uuid.json` line 5 (the same
/// rule as `UUID_PATTERN`, written differently).
const INVENTORY_UUID_PATTERN: &str =
    "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-5][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$";

/// Whether `s` matches one of the patterns above.
fn matches_pattern(pattern: &str, s: &str) -> bool {
    if pattern == HEX_UUID_PATTERN {
        let b = s.as_bytes();
        b.len() == 36
            && b.iter().enumerate().all(|(i, c)| match i {
                8 | 13 | 18 | 23 => *c == b'-',
                _ => c.is_ascii_hexdigit(),
            })
    } else {
        is_uuid(s)
    }
}

/// A request preference's properties, `additionalProperties: false` (folio-org/mod-circulation-storage
/// @ ce24c3d81 `ramls/request-preference.json` lines 5-45): UUID `pattern`s (lines 8, 13, 26, 31),
/// booleans (lines 16-23), the `fulfillment` enum (lines 34-38).
const REQUEST_PREFERENCE_FIELDS: &[(&str, Kind)] = &[
    ("id", Kind::Pat(HEX_UUID_PATTERN)),
    ("userId", Kind::Pat(HEX_UUID_PATTERN)),
    ("holdShelf", Kind::Bool),
    ("delivery", Kind::Bool),
    ("defaultServicePointId", Kind::Pat(HEX_UUID_PATTERN)),
    ("defaultDeliveryAddressTypeId", Kind::Pat(HEX_UUID_PATTERN)),
    (
        "fulfillment",
        Kind::Enum(
            "org.folio.rest.jaxrs.model.RequestPreference$Fulfillment",
            &["Delivery", "Hold Shelf"],
        ),
    ),
    ("metadata", Kind::Obj),
];

/// A service point's properties, `additionalProperties: false` (folio-org/mod-inventory-storage @
/// 2639d28bf `ramls/schemas/service-points/servicepoint.json` lines 6-97). Not modelled: the
/// inside of `holdShelfExpiryPeriod` (`time-period.json`) and of `staffSlips` items (lines 65-84).
const SERVICE_POINT_FIELDS: &[(&str, Kind)] = &[
    ("id", Kind::Str),
    ("name", Kind::Str),
    ("code", Kind::Str),
    ("discoveryDisplayName", Kind::Str),
    ("description", Kind::Str),
    ("shelvingLagTime", Kind::Int),
    ("pickupLocation", Kind::Bool),
    ("holdShelfExpiryPeriod", Kind::Obj),
    (
        "holdShelfClosedLibraryDateManagement",
        Kind::Enum(
            "org.folio.rest.jaxrs.model.ServicePoint$HoldShelfClosedLibraryDateManagement",
            &[
                "Keep_the_current_due_date",
                "Move_to_the_end_of_the_previous_open_day",
                "Move_to_the_end_of_the_next_open_day",
                "Keep_the_current_due_date_time",
                "Move_to_end_of_current_service_point_hours",
                "Move_to_beginning_of_next_open_service_point_hours",
            ],
        ),
    ),
    (
        "defaultCheckInActionForUseAtLocation",
        Kind::Enum(
            "org.folio.rest.jaxrs.model.ServicePoint$DefaultCheckInActionForUseAtLocation",
            &[
                "Keep_on_hold_shelf",
                "Close_loan_and_return_item",
                "Ask_for_action",
            ],
        ),
    ),
    ("staffSlips", Kind::ObjArr),
    ("ecsRequestRouting", Kind::Bool),
    ("metadata", Kind::Obj),
];

/// A service-points-user's properties, `additionalProperties: false` (mod-inventory-storage
/// `ramls/schemas/service-points/servicepointsuser.json` lines 6-33): `defaultServicePointId` is
/// `common/uuid.json` (lines 23-26).
const SERVICE_POINTS_USER_FIELDS: &[(&str, Kind)] = &[
    ("id", Kind::Str),
    ("userId", Kind::Str),
    // jsonschema2pojo binds an array's items to a bare type argument, with no `@Pattern`
    // (joelittlejohn/jsonschema2pojo @ 14e43c489 `jsonschema2pojo-core/src/main/java/org/
    // jsonschema2pojo/rules/ArrayRule.java` `apply`): the items' `uuid.json` is not enforced.
    ("servicePointsIds", Kind::StrArr),
    ("defaultServicePointId", Kind::Pat(INVENTORY_UUID_PATTERN)),
    ("metadata", Kind::Obj),
];

/// The user's properties, `additionalProperties: false` (mod-users `ramls/userdata.json`,
/// `properties` and line 216; copied as `crates/sandbox/tests/fixtures/userdata.json`).
const USER_FIELDS: &[(&str, Kind)] = &[
    ("username", Kind::Str),
    ("id", Kind::Str),
    ("externalSystemId", Kind::Str),
    ("barcode", Kind::Str),
    ("active", Kind::Bool),
    ("type", Kind::Str),
    ("patronGroup", Kind::Uuid),
    ("departments", Kind::UuidArr),
    ("meta", Kind::Obj),
    ("proxyFor", Kind::StrArr),
    ("personal", Kind::Personal),
    ("enrollmentDate", Kind::Date),
    ("expirationDate", Kind::Date),
    ("createdDate", Kind::Date),
    ("updatedDate", Kind::Date),
    ("metadata", Kind::Obj),
    ("tags", Kind::Tags),
    ("customFields", Kind::Obj),
    ("preferredEmailCommunication", Kind::EmailComm),
];

/// `personal`'s properties, `additionalProperties: false` (mod-users `ramls/userdata.json` line 167).
const PERSONAL_FIELDS: &[(&str, Kind)] = &[
    ("pronouns", Kind::Str),
    ("lastName", Kind::Str),
    ("firstName", Kind::Str),
    ("middleName", Kind::Str),
    ("preferredFirstName", Kind::Str),
    ("email", Kind::Str),
    ("phone", Kind::Str),
    ("mobilePhone", Kind::Str),
    ("dateOfBirth", Kind::Date),
    ("addresses", Kind::Addresses),
    ("preferredContactTypeId", Kind::Str),
    ("preferredContactTypeIds", Kind::StrArr),
    ("profilePictureLink", Kind::Str),
];

/// An address's properties, `additionalProperties: false` (mod-users `ramls/userdata.json` line 147).
const ADDRESS_FIELDS: &[(&str, Kind)] = &[
    ("id", Kind::Str),
    ("countryId", Kind::Str),
    ("addressLine1", Kind::Str),
    ("addressLine2", Kind::Str),
    ("city", Kind::Str),
    ("region", Kind::Str),
    ("postalCode", Kind::Str),
    ("addressTypeId", Kind::Uuid),
    ("primaryAddress", Kind::Bool),
];

/// RMB's binding 400 for a value of the wrong JSON shape (`jackson::cannot_deserialize`).
fn mismatch(class: &str, v: &Value) -> Response {
    jackson_400(jackson::cannot_deserialize(class, v))
}

/// Jackson's `UnrecognizedPropertyException` for a property a schema with `additionalProperties:
/// false` lacks, answered 422 by RMB with `ValidationHelper.createValidationErrorMessage("", "",
/// message)`: code "-1", type "1", one parameter with empty key and value
/// (folio-org/raml-module-builder `domain-models-runtime/src/main/java/org/folio/rest/RestRouting.java`
/// lines 342-346; `.../rest/tools/utils/ValidationHelper.java` lines 23-37;
/// `.../rest/resource/DomainModelConsts.java` line 11).
fn unrecognized(field: &str, class: &str) -> Response {
    errors_422(vec![json!({
        "message": format!("Unrecognized field \"{field}\" (class org.folio.rest.jaxrs.model.{class}), not marked as ignorable"),
        "type": "1", "code": "-1", "parameters": [{"key": "", "value": ""}]
    })])
}

/// Binds and validates one object against a field table, normalizing values in place
/// (numbers → strings, dates → FOLIO format). `Err` is a 400 (binding) or 422 (unknown field).
fn bind(
    obj: &mut Map<String, Value>,
    fields: &[(&str, Kind)],
    class: &str,
    path: &str,
    errs: &mut Vec<Value>,
) -> Result<(), Response> {
    let keys: Vec<String> = obj.keys().cloned().collect();
    for k in keys {
        let Some(&(_, kind)) = fields.iter().find(|(n, _)| *n == k) else {
            return Err(unrecognized(&k, class));
        };
        let key_path = if path.is_empty() {
            k.clone()
        } else {
            format!("{path}.{k}")
        };
        let Some(v) = obj.get_mut(&k) else { continue };
        if v.is_null() {
            continue;
        }
        match kind {
            Kind::Str | Kind::Uuid => {
                match v {
                    Value::String(_) => {}
                    Value::Number(n) => *v = Value::String(n.to_string()),
                    Value::Bool(b) => *v = Value::String(b.to_string()),
                    other => return Err(mismatch("java.lang.String", other)),
                }
                if let (Kind::Uuid, Value::String(s)) = (kind, &*v) {
                    if !is_uuid(s) {
                        errs.push(err(
                            &format!("must match \"{UUID_PATTERN}\""),
                            "jakarta.validation.constraints.Pattern.message",
                            &key_path,
                            s,
                        ));
                    }
                }
                // `personal.pronouns` `maxLength: 300` (mod-users `ramls/userdata.json` lines
                // 61-64), a jakarta `@Size` violation.
                if k == "pronouns" {
                    if let Value::String(s) = &*v {
                        if s.chars().count() > 300 {
                            errs.push(err(
                                "size must be between 0 and 300",
                                "jakarta.validation.constraints.Size.message",
                                &key_path,
                                s,
                            ));
                        }
                    }
                }
            }
            Kind::Bool => match jackson::bind_boolean(v) {
                Ok(b) => *v = b,
                Err(m) => return Err(jackson_400(m)),
            },
            // Bound as RMB's mapper binds `java.util.Date` and stored as it prints one.
            Kind::Date => match jackson::bind_date(v) {
                Ok(d) => *v = Value::String(d),
                Err(m) => return Err(jackson_400(m)),
            },
            Kind::Addresses => {}
            Kind::Pat(pattern) => {
                let Value::String(st) = &*v else {
                    return Err(mismatch("java.lang.String", v));
                };
                if !matches_pattern(pattern, st) {
                    errs.push(err(
                        &format!("must match \"{pattern}\""),
                        "jakarta.validation.constraints.Pattern.message",
                        &key_path,
                        st,
                    ));
                }
            }
            // jsonschema2pojo's enum (joelittlejohn/jsonschema2pojo @ 02c6d4b2d
            // `jsonschema2pojo-core/src/main/java/org/jsonschema2pojo/rules/EnumRule.java`
            // `createEnum`, `addFactoryMethod`: a nested class, its `@JsonCreator fromValue`
            // throws `IllegalArgumentException(value)`), which Jackson wraps (jackson-databind
            // `deser/std/FactoryBasedEnumDeserializer.java` lines 218-237 →
            // `DeserializationContext.handleInstantiationProblem`, lines 1426-1453, with
            // `WRAP_EXCEPTIONS` on by default → `instantiationException`, lines 2031-2043).
            Kind::Enum(java_type, values) => {
                let Value::String(st) = &*v else {
                    return Err(mismatch(java_type, v));
                };
                if !values.contains(&st.as_str()) {
                    return Err(jackson_400(format!(
                        "Cannot construct instance of `{java_type}`, problem: {st}"
                    )));
                }
            }
            // Not modelled: Jackson's coercion of strings and floats to `Integer` (taken as given).
            Kind::Int => {
                if matches!(v, Value::Bool(_) | Value::Array(_) | Value::Object(_)) {
                    return Err(mismatch("java.lang.Integer", v));
                }
            }
            Kind::ObjArr => {
                if !v.is_array() {
                    return Err(mismatch("java.util.List", v));
                }
            }
            Kind::Obj => {
                if !v.is_object() {
                    return Err(mismatch("java.util.Map", v));
                }
            }
            Kind::Tags => {
                let Value::Object(t) = v else {
                    return Err(mismatch("org.folio.rest.jaxrs.model.Tags", v));
                };
                for (tk, tv) in t.iter() {
                    if tk != "tagList" {
                        return Err(unrecognized(tk, "Tags"));
                    }
                    if !(tv.is_array() || tv.is_null()) {
                        return Err(mismatch("java.util.List", tv));
                    }
                }
            }
            Kind::StrArr | Kind::UuidArr | Kind::EmailComm => {
                let Value::Array(a) = v else {
                    return Err(mismatch("java.util.List", v));
                };
                for (i, item) in a.iter_mut().enumerate() {
                    match item {
                        Value::String(_) => {}
                        Value::Number(n) => *item = Value::String(n.to_string()),
                        other => return Err(mismatch("java.lang.String", other)),
                    }
                    if let Value::String(s) = &*item {
                        if matches!(kind, Kind::UuidArr) && !is_uuid(s) {
                            errs.push(err(
                                &format!("must match \"{UUID_PATTERN}\""),
                                "jakarta.validation.constraints.Pattern.message",
                                &format!("{key_path}[{i}]"),
                                s,
                            ));
                        }
                        // The items' enum (userdata.json lines 207-210) is jsonschema2pojo's
                        // too, as the service points' are (see `Kind::Enum`): an array's items
                        // are generated into the package (joelittlejohn/jsonschema2pojo @
                        // 1c6b7664e `jsonschema2pojo-core/src/main/java/org/jsonschema2pojo/
                        // rules/ArrayRule.java` line 93, `jpackage`), so the class is the
                        // top-level `org.folio.rest.jaxrs.model.PreferredEmailCommunication`
                        // (folio-org/mod-users @ 368b83fb6 `src/test/java/org/folio/rest/impl/
                        // StagingUsersAPIIT.java` line 42 imports it), and its `fromValue`
                        // throws `IllegalArgumentException(value)` (`EnumRule.java` lines
                        // 381-400), which Jackson answers as "Cannot construct instance of …,
                        // problem: …".
                        if matches!(kind, Kind::EmailComm)
                            && !matches!(s.as_str(), "Support" | "Programs" | "Services")
                        {
                            return Err(jackson_400(format!(
                                "Cannot construct instance of \
                                 `org.folio.rest.jaxrs.model.PreferredEmailCommunication`, \
                                 problem: {s}"
                            )));
                        }
                    }
                }
                // `departments` (userdata.json line 40) and `preferredEmailCommunication` (lines
                // 209-212: the enum, `maxItems: 3`, `uniqueItems`) are `uniqueItems` arrays,
                // which jsonschema2pojo binds to a `Set`: duplicates vanish silently.
                if matches!(kind, Kind::UuidArr | Kind::EmailComm) {
                    let mut seen = std::collections::HashSet::new();
                    a.retain(|x| seen.insert(x.as_str().unwrap_or_default().to_string()));
                }
                if matches!(kind, Kind::EmailComm) && a.len() > 3 {
                    errs.push(err(
                        "size must be between 0 and 3",
                        "jakarta.validation.constraints.Size.message",
                        &key_path,
                        &Value::Array(a.clone()).to_string(),
                    ));
                }
            }
            Kind::Personal => {
                let Value::Object(p) = v else {
                    return Err(mismatch("org.folio.rest.jaxrs.model.Personal", v));
                };
                bind(p, PERSONAL_FIELDS, "Personal", &key_path, errs)?;
                // Required: `personal.lastName` (userdata.json lines 168-169) and each address's
                // `addressTypeId` (lines 144-145): jakarta `@NotNull`.
                if p.get("lastName").is_none_or(Value::is_null) {
                    errs.push(err(
                        "must not be null",
                        "jakarta.validation.constraints.NotNull.message",
                        &format!("{key_path}.lastName"),
                        "null",
                    ));
                }
                if let Some(addrs) = p.get_mut("addresses") {
                    match addrs {
                        Value::Null => {}
                        Value::Array(list) => {
                            for (i, a) in list.iter_mut().enumerate() {
                                let Value::Object(am) = a else {
                                    return Err(mismatch("org.folio.rest.jaxrs.model.Address", a));
                                };
                                let ap = format!("{key_path}.addresses[{i}]");
                                bind(am, ADDRESS_FIELDS, "Address", &ap, errs)?;
                                if am.get("addressTypeId").is_none_or(Value::is_null) {
                                    errs.push(err(
                                        "must not be null",
                                        "jakarta.validation.constraints.NotNull.message",
                                        &format!("{ap}.addressTypeId"),
                                        "null",
                                    ));
                                }
                            }
                        }
                        other => return Err(mismatch("java.util.List", other)),
                    }
                }
            }
        }
    }
    Ok(())
}

/// Validates a user body like RMB's `@Validate`: `Err` is the 400/422 to send.
fn validate_user(u: &mut Map<String, Value>) -> Result<(), Response> {
    let mut errs = Vec::new();
    bind(u, USER_FIELDS, "User", "", &mut errs)?;
    if !errs.is_empty() {
        return Err(errors_422(errs));
    }
    // `UsersAPI.removeCustomFieldIfEmpty` (lines 247-256): empty string values are dropped.
    if let Some(Value::Object(cf)) = u.get_mut("customFields") {
        cf.retain(|_, v| v.as_str() != Some(""));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Custom-field values (folio-org/folio-custom-fields `src/main/java/org/folio/validate/`)

/// `ValidationUtil.createError(value, fieldName, message)`: code "-1", type "1", one parameter.
fn cf_error(key: &str, value: &str, message: &str) -> Value {
    json!({"message": message, "type": "1", "code": "-1", "parameters": [{"key": key, "value": value}]})
}

/// One value of a field against its definition: `Err(message)` as the value validators throw
/// it (`src/main/java/org/folio/validate/value/CustomFieldValueValidatorConstants.java` lines 5-9:
/// "Field with type %s must be a string|boolean|an array", "Field %s can only have following
/// values: %s", "Maximum length of the value is %s"; folio-org/folio-custom-fields @ f88934814).
fn cf_check_value(def: &Value, v: &Value) -> Result<(), String> {
    let ty = def.get("type").and_then(Value::as_str).unwrap_or("");
    let repeatable = def
        .get("isRepeatable")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let string = |v: &Value| -> Result<String, String> {
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("Field with type {ty} must be a string"))
    };
    let list_or_one = |v: &Value| -> Vec<Value> {
        match v {
            Value::Array(a) => a.clone(),
            other => vec![other.clone()],
        }
    };
    match ty {
        // CheckboxFieldValueValidator.java line 19: `isInstanceOf(Boolean.class, …)`.
        "SINGLE_CHECKBOX" => {
            if v.is_boolean() {
                Ok(())
            } else {
                Err(format!("Field with type {ty} must be a boolean"))
            }
        }
        // TextBoxFieldValueValidator.java lines 45-76; limits from
        // `src/main/resources/custom-fields-application.properties` lines 7-8 (short 150, long
        // 1500), counted in UTF-16 units (`String.length()`, line 70).
        "TEXTBOX_SHORT" | "TEXTBOX_LONG" => {
            let format = def
                .pointer("/textField/fieldFormat")
                .and_then(Value::as_str)
                .unwrap_or("TEXT");
            let items = if repeatable {
                list_or_one(v)
            } else {
                vec![v.clone()]
            };
            for item in items {
                let s = string(&item)?;
                cf_check_format(format, &s)?;
                let max = if ty == "TEXTBOX_LONG" { 1500 } else { 150 };
                if s.encode_utf16().count() > max {
                    return Err(format!("Maximum length of the value is {max}"));
                }
            }
            Ok(())
        }
        // SelectFieldValueValidator.java lines 22-53: option *ids*, not labels.
        "SINGLE_SELECT_DROPDOWN" | "MULTI_SELECT_DROPDOWN" | "RADIO_BUTTON" => {
            let items = if repeatable {
                match v {
                    Value::Array(a) => a.clone(),
                    _ => return Err(format!("Field with type {ty} must be an array")),
                }
            } else if ty == "MULTI_SELECT_DROPDOWN" {
                list_or_one(v)
            } else {
                vec![v.clone()]
            };
            let options: Vec<&Value> = def
                .pointer("/selectField/options/values")
                .and_then(Value::as_array)
                .map(|a| a.iter().collect())
                .unwrap_or_default();
            for item in items {
                let s = string(&item)?;
                if !options
                    .iter()
                    .any(|o| o.get("id").and_then(Value::as_str) == Some(&s))
                {
                    // Java prints the option list with jsonschema2pojo's toString; shown here
                    // as id=…,value=… without the object hash.
                    let shown: Vec<String> = options
                        .iter()
                        .map(|o| {
                            format!(
                                "[id={},value={}]",
                                o.get("id").and_then(Value::as_str).unwrap_or(""),
                                o.get("value").and_then(Value::as_str).unwrap_or("")
                            )
                        })
                        .collect();
                    let ref_id = def.get("refId").and_then(Value::as_str).unwrap_or("");
                    return Err(format!(
                        "Field {ref_id} can only have following values: [{}]",
                        shown.join(", ")
                    ));
                }
            }
            Ok(())
        }
        // DatePickerValueValidator.java lines 18-21, DateFormatValidator (ISO_LOCAL_DATE).
        "DATE_PICKER" => {
            let s = string(v)?;
            if chrono::NaiveDate::parse_from_str(&s, "%Y-%m-%d").is_ok() && s.len() == 10 {
                Ok(())
            } else {
                Err(format!("Invalid date format: {s}"))
            }
        }
        _ => Ok(()),
    }
}

/// The `format/` validators of a text field (TextFormatValidator: not blank; EmailFormatValidator
/// and URLFormatValidator use Apache commons-validator, approximated here by `local@domain.tld`
/// and `http(s)://host`; NumberFormatValidator's four patterns).
fn cf_check_format(format: &str, s: &str) -> Result<(), String> {
    match format {
        "EMAIL" => {
            let ok = s.split_once('@').is_some_and(|(l, d)| {
                !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.')
            }) && !s.contains(char::is_whitespace);
            if ok {
                Ok(())
            } else {
                Err(format!("Invalid Email format: {s}"))
            }
        }
        "URL" => {
            let ok = url::Url::parse(s)
                .ok()
                .is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
            if ok {
                Ok(())
            } else {
                Err(format!("Invalid URL: {s}"))
            }
        }
        "NUMBER" => {
            let rest = s.strip_prefix('-').unwrap_or(s);
            let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
            let plain = digits(rest);
            let decimal = rest
                .split_once(['.', ',', '|'])
                .is_some_and(|(a, b)| a.bytes().all(|c| c.is_ascii_digit()) && digits(b));
            if plain || decimal || grouped_number(rest) {
                Ok(())
            } else {
                Err(format!("Invalid Number format: {s}"))
            }
        }
        _ => {
            if s.trim().is_empty() {
                Err("Invalid Text format".into())
            } else {
                Ok(())
            }
        }
    }
}

/// NumberFormatValidator's grouped patterns `-?\d{1,3}(\s\d{3})+([,|.]\d+)?` and
/// `-?\d{1,3}(,\d{3})+(\.\d+)?` (the sign already taken off).
fn grouped_number(s: &str) -> bool {
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let groups_ok = |int: &str, sep: char| {
        let g: Vec<&str> = int.split(sep).collect();
        g.len() > 1
            && g.first().is_some_and(|f| (1..=3).contains(&f.len()))
            && g.iter().all(|x| digits(x))
            && g.iter().skip(1).all(|x| x.len() == 3)
    };
    let (int, frac) = s
        .split_once([',', '|', '.'])
        .map_or((s, None), |(a, b)| (a, Some(b)));
    if groups_ok(int, ' ') && frac.is_none_or(digits) {
        return true;
    }
    let (int, frac) = s.split_once('.').map_or((s, None), |(a, b)| (a, Some(b)));
    groups_ok(int, ',') && frac.is_none_or(digits)
}

/// mod-users `UsersAPI.java` lines 296-319 (POST) and 572-615 (PUT): custom-field values are
/// validated against the tenant's definitions (`ValidationServiceImpl.validateCustomFields`) and
/// refused with 422 `{"errors": […]}`; an unknown refId is "Custom field with refId X is not
/// found" (parameter key `customFields`), a bad value names the refId and its JSON value.
fn check_custom_fields(d: &Data, u: &Map<String, Value>) -> Result<(), Response> {
    let Some(Value::Object(cf)) = u.get("customFields") else {
        return Ok(());
    };
    let mut errs = Vec::new();
    for (key, v) in cf {
        let def = d
            .folio
            .custom_fields
            .values()
            .find(|f| f.get("refId").and_then(Value::as_str) == Some(key.as_str()));
        match def {
            None => errs.push(cf_error(
                "customFields",
                key,
                &format!("Custom field with refId {key} is not found"),
            )),
            Some(def) => {
                if let Err(m) = cf_check_value(def, v) {
                    errs.push(cf_error(key, &v.to_string(), &m));
                }
            }
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errors_422(errs))
    }
}

fn str_field<'a>(v: &'a Map<String, Value>, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

/// The referential checks mod-users makes before saving: `Err` is a 400 text (`UsersAPI.java`:
/// one address per type lines 281-286 and 583-586, unknown address types lines 303-308 (POST)
/// and 597-602 (PUT), unknown patron group line 1079).
fn check_refs(d: &Data, u: &Map<String, Value>, is_put: bool) -> Result<(), Response> {
    if let Some(g) = str_field(u, "patronGroup") {
        if !d.folio.groups.contains_key(g) {
            return Err(text(
                StatusCode::BAD_REQUEST,
                format!("Cannot add {g}. Patron group not found"),
            ));
        }
    }
    let addrs = u
        .get("personal")
        .and_then(|p| p.get("addresses"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut types = std::collections::HashSet::new();
    for a in &addrs {
        if let Some(t) = a.get("addressTypeId").and_then(Value::as_str) {
            if !types.insert(t.to_string()) {
                return Err(text(
                    StatusCode::BAD_REQUEST,
                    "Users are limited to one address per addresstype",
                ));
            }
            if !d.folio.addresstypes.contains_key(t) {
                return Err(text(
                    StatusCode::BAD_REQUEST,
                    if is_put {
                        "All addresses types defined for users must be existing"
                    } else {
                        "You cannot add addresses with non-existent address types"
                    },
                ));
            }
        }
    }
    Ok(())
}

/// The first unique-index violation, as Postgres reports it: `(field, folded value, detail)`.
fn unique_violation(
    coll: &Coll,
    rec: &Map<String, Value>,
    fields: &[&str],
    own_id: &str,
) -> Option<(String, String, String)> {
    // Folded values compare without allocating when ASCII (every POST scans the collection).
    let same = |o: &str, fv: &str| {
        if o.is_ascii() && fv.is_ascii() {
            o.eq_ignore_ascii_case(fv)
        } else {
            fold(o) == fv
        }
    };
    for f in fields {
        let Some(v) = str_field(rec, f) else { continue };
        let fv = fold(v);
        let clash = coll.iter().any(|(id, other)| {
            id != own_id
                && other
                    .get(*f)
                    .and_then(Value::as_str)
                    .is_some_and(|o| same(o, &fv))
        });
        if clash {
            let detail =
                format!("Key (lower(f_unaccent(jsonb ->> '{f}'::text)))=({fv}) already exists.");
            return Some((f.to_string(), fv, detail));
        }
    }
    None
}

/// The unique user fields, in the order mod-users reports clashes (the `users` table's
/// `uniqueIndex`: externalSystemId, username, barcode, mod-users
/// `src/main/resources/templates/db_scripts/schema.json` lines 191-206; the order of the checks is
/// `UsersAPI.java`'s, see `users_post`).
const USER_UNIQUE: [&str; 3] = ["username", "barcode", "externalSystemId"];

/// Records `rec`'s unique keys as belonging to `id`.
fn index_user(keys: &mut crate::state::UserKeys, id: &str, rec: &Value) {
    for (i, f) in USER_UNIQUE.iter().enumerate() {
        if let Some(v) = rec.get(*f).and_then(Value::as_str) {
            keys.map.insert((i as u8, fold(v)), id.to_string());
        }
    }
    hold_user(keys, id, rec);
}

/// Records `rec`'s unique values (as a query compares them) among their holders.
fn hold_user(keys: &mut crate::state::UserKeys, id: &str, rec: &Value) {
    for (i, f) in USER_UNIQUE.iter().enumerate() {
        if let Some(v) = cql::folded_value(rec, f) {
            keys.holders
                .entry((i as u8, v))
                .or_default()
                .insert(id.to_string());
        }
    }
}

/// Builds the key index from every user, once (it is not stored with the state).
fn build_user_keys(folio: &mut crate::state::FolioData) {
    if folio.user_keys.built {
        return;
    }
    let mut keys = crate::state::UserKeys {
        built: true,
        ..Default::default()
    };
    for (id, u) in &folio.users {
        for (i, f) in USER_UNIQUE.iter().enumerate() {
            if let Some(v) = u.get(*f).and_then(Value::as_str) {
                keys.map
                    .entry((i as u8, fold(v)))
                    .or_insert_with(|| id.clone());
            }
        }
        hold_user(&mut keys, id, u);
    }
    folio.user_keys = keys;
}

/// The users a batch lookup on unique fields can match (the holders of its terms, from the key
/// index), when the query is one; `None`: every user must be tested. Only a speed-up: the
/// listing tests each of them against the query as it would in a full scan, in the same order,
/// and FOLIO's answer comes from its indexes on these fields too (mod-users `schema.json`
/// `uniqueIndex` username, barcode, externalSystemId, lines 191-206).
fn lookup_candidates(folio: &crate::state::FolioData, p: &[(String, String)]) -> Option<Coll> {
    if !folio.user_keys.built {
        return None;
    }
    let q = cql::parse(param(p, "query")?.trim()).ok()?;
    let terms = q.exact_terms_on(&USER_UNIQUE)?;
    let mut out = Coll::new();
    for (index, term) in terms {
        let i = USER_UNIQUE.iter().position(|f| *f == index)? as u8;
        for id in folio
            .user_keys
            .holders
            .get(&(i, term))
            .into_iter()
            .flatten()
        {
            if let Some(u) = folio.users.get(id) {
                out.insert(id.clone(), u.clone());
            }
        }
    }
    Some(out)
}

/// [`unique_violation`] for users, through the key index (built on first use).
fn user_unique_violation(
    folio: &mut crate::state::FolioData,
    rec: &Map<String, Value>,
    own_id: &str,
) -> Option<(String, String, String)> {
    build_user_keys(folio);
    for (i, f) in USER_UNIQUE.iter().enumerate() {
        let Some(v) = str_field(rec, f) else { continue };
        let fv = fold(v);
        let holder = folio.user_keys.map.get(&(i as u8, fv.clone())).cloned();
        let Some(holder) = holder else { continue };
        // Stale entries (deleted users, changed values) are verified against the user.
        let still = folio
            .users
            .get(&holder)
            .and_then(|u| u.get(*f))
            .and_then(Value::as_str)
            .is_some_and(|o| fold(o) == fv);
        if !still {
            // Another user may hold it now only if it was inserted after (then the entry would
            // point at it); a full check keeps this exact for records loaded with duplicates.
            if let Some(hit) = unique_violation(&folio.users, rec, &[f], own_id) {
                return Some(hit);
            }
            continue;
        }
        if holder != own_id {
            let detail =
                format!("Key (lower(f_unaccent(jsonb ->> '{f}'::text)))=({fv}) already exists.");
            return Some((f.to_string(), fv, detail));
        }
    }
    None
}

/// RMB's unique-violation 422: "KEY value already exists in table TABLE: VALUE", with the index
/// expression as the parameter key (folio-org/raml-module-builder
/// `domain-models-runtime/src/main/java/org/folio/rest/persist/PgUtil.java` lines 340-356,
/// `responseUniqueViolation`).
/// The primary key is a plain `id` column, so its clash names `id` (PostgreSQL's detail "Key
/// (id)=(…) already exists.", matched by `KEY_ALREADY_EXISTS_PATTERN`, lines 92-93).
fn rmb_unique_422(field: &str, value: &str, table: &str) -> Response {
    errors_422(vec![rmb_unique_error(field, value, table)])
}

/// The `{key, value, message}` of RMB's unique-violation answer (see [`rmb_unique_422`]).
fn rmb_unique_error(field: &str, value: &str, table: &str) -> Value {
    let key = rmb_unique_key(field);
    err(
        &format!("{key} value already exists in table {table}: {value}"),
        "-1",
        &key,
        value,
    )
}

fn rmb_unique_key(field: &str) -> String {
    if field == "id" {
        "id".into()
    } else {
        format!("lower(f_unaccent(jsonb ->> '{field}'::text))")
    }
}

/// RMB's `INVALID_UUID` text (`PgUtil.java` lines 74-76).
const INVALID_UUID_TEXT: &str = "Invalid UUID format of id, should be xxxxxxxx-xxxx-Mxxx-Nxxx-xxxxxxxxxxxx where M is 1-5 and N is 8, 9, a, b, A or B and x is 0-9, a-f or A-F.";

/// An id RMB's `UuidUtil.isUuid` takes, as the sandbox reads it: 36 characters that parse as a
/// UUID.
fn cql_uuid(id: &str) -> bool {
    id.len() == 36 && uuid::Uuid::parse_str(id).is_ok()
}

/// `metadata` as RMB fills it: both dates now and both user ids the caller's (the token's user:
/// folio-org/raml-module-builder `domain-models-runtime/src/main/java/org/folio/rest/tools/utils/
/// MetadataUtil.java` lines 41-52); on update the stored `createdDate` is kept (its line 65:
/// kept by the database trigger).
fn set_metadata(rec: &mut Map<String, Value>, created: Option<String>) {
    let now = now_folio();
    let created = created.unwrap_or_else(|| now.clone());
    rec.insert(
        "metadata".into(),
        json!({"createdDate": created, "createdByUserId": ADMIN_USER_ID, "updatedDate": now, "updatedByUserId": ADMIN_USER_ID}),
    );
}

// ---------------------------------------------------------------------------------------------
// /users

async fn users_list(State(app): State<Arc<App>>, RawQuery(q): RawQuery) -> Response {
    let p = params(&q);
    // A batch lookup on unique fields tests only the holders of its terms (same answer).
    let listed = {
        let mut d = lock(&app.data);
        build_user_keys(&mut d.folio);
        match lookup_candidates(&d.folio, &p) {
            // Not keyset-paged (an exact lookup has no `id>`): `totalRecords` counts the hits.
            Some(candidates) => list_in(&candidates, &p, true, true),
            None => list_in(&d.folio.users, &p, true, true),
        }
    };
    match listed {
        Ok(page) => json_resp(StatusCode::OK, &page_body("users", page, true)),
        Err(r) => r,
    }
}

/// RMB `PgUtil.getById` (PgUtil.java lines 1059-1073, messages lines 73-76): a malformed id is
/// 404 "Invalid UUID format of id, …", an unknown one 404 "Not found".
async fn user_get(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    if !cql_uuid(&id) {
        return text(StatusCode::NOT_FOUND, INVALID_UUID_TEXT);
    }
    let id = canonical_id(&id);
    match app.read(|d| d.folio.users.get(&id).cloned()) {
        Some(u) => json_resp(StatusCode::OK, &u),
        None => text(StatusCode::NOT_FOUND, "Not found"),
    }
}

async fn users_post(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let mut u = match parse_object(&body, "User") {
        Ok(u) => u,
        Err(r) => return r,
    };
    if let Err(r) = validate_user(&mut u) {
        return r;
    }
    // `UsersAPI.trimWhiteSpaceInUsername` (lines 289-291, 1088).
    if let Some(Value::String(name)) = u.get_mut("username") {
        *name = name.trim().to_string();
    }
    let id = match str_field(&u, "id") {
        Some(id) => id.to_string(),
        None => {
            let id = uuid::Uuid::new_v4().to_string();
            u.insert("id".into(), json!(id));
            id
        }
    };
    if !is_uuid(&id) && uuid::Uuid::parse_str(&id).is_err() {
        return text(
            StatusCode::BAD_REQUEST,
            format!("Invalid UUID string: {id}"),
        );
    }
    let id = canonical_id(&id);
    u.insert("id".into(), json!(id));
    // `UsersAPI.java` lines 336-337: both dates set to now on create.
    let now = now_folio();
    u.insert("createdDate".into(), json!(now));
    u.insert("updatedDate".into(), json!(now));
    set_metadata(&mut u, None);
    app.write(|d| {
        if let Err(r) = check_custom_fields(d, &u) {
            return r;
        }
        if let Err(r) = check_refs(d, &u, false) {
            return r;
        }
        if d.folio.users.contains_key(&id) {
            return errors_422(vec![err(
                "User with this id already exists",
                "-1",
                "id",
                &id,
            )]);
        }
        if let Some((field, value, detail)) = user_unique_violation(&mut d.folio, &u, "") {
            // mod-users classifies the Postgres error with these regexes, in this order
            // (`UsersAPI.java` lines 356-378 and 401-418: `.*id.*already exists.*`, then
            // username, then barcode); anything else, e.g. a duplicate externalSystemId, is
            // RMB's generic uniqueness 422 (`ValidationHelper.handleError`).
            let re_id = detail.contains("id") && detail.contains("already exists");
            return if re_id {
                errors_422(vec![err(
                    "User with this id already exists",
                    "-1",
                    "id",
                    &id,
                )])
            } else if detail.contains("username") {
                let v = str_field(&u, "username").unwrap_or_default();
                errors_422(vec![err(
                    "User with this username already exists",
                    "-1",
                    "username",
                    v,
                )])
            } else if detail.contains("barcode") {
                let v = str_field(&u, "barcode").unwrap_or_default();
                errors_422(vec![err(
                    "This barcode has already been taken",
                    "-1",
                    "barcode",
                    v,
                )])
            } else {
                rmb_unique_422(&field, &value, "users")
            };
        }
        let v = Value::Object(u);
        index_user(&mut d.folio.user_keys, &id, &v);
        d.folio.users.insert(id.clone(), v.clone());
        let mut r = json_resp(StatusCode::CREATED, &v);
        if let Ok(h) = HeaderValue::from_str(&id) {
            r.headers_mut().insert(header::LOCATION, h);
        }
        r
    })
}

async fn user_put(State(app): State<Arc<App>>, Path(id): Path<String>, body: Bytes) -> Response {
    let mut u = match parse_object(&body, "User") {
        Ok(u) => u,
        Err(r) => return r,
    };
    if let Err(r) = validate_user(&mut u) {
        return r;
    }
    // `UsersAPI.java` line 588: `!userId.equals(entity.getId())`, an exact, case-sensitive
    // comparison (a body without an id fails it too).
    if str_field(&u, "id") != Some(id.as_str()) {
        return text(
            StatusCode::BAD_REQUEST,
            "You cannot change the value of the id field",
        );
    }
    let id = canonical_id(&id);
    u.insert("id".into(), json!(id));
    app.write(|d| {
        // `UsersAPI.java` lines 950-958: 404 with the id as the body; `createdDate` kept,
        // `updatedDate` now.
        let Some(existing) = d.folio.users.get(&id) else {
            return text(StatusCode::NOT_FOUND, id.clone());
        };
        let created = existing
            .pointer("/metadata/createdDate")
            .and_then(Value::as_str)
            .map(str::to_string);
        let created_top = existing.get("createdDate").cloned();
        if let Err(r) = check_custom_fields(d, &u) {
            return r;
        }
        if let Err(r) = check_refs(d, &u, true) {
            return r;
        }
        if let Some((field, _, detail)) = user_unique_violation(&mut d.folio, &u, &id) {
            // PUT: `UsersAPI.handleUpdateUserFailures` (lines 983-998) answers 400 text.
            let msg = match field.as_str() {
                "username" => "User with this username already exists".to_string(),
                "barcode" => "This barcode has already been taken".to_string(),
                _ => detail,
            };
            return text(StatusCode::BAD_REQUEST, msg);
        }
        if let Some(c) = created_top {
            u.insert("createdDate".into(), c);
        }
        u.insert("updatedDate".into(), json!(now_folio()));
        set_metadata(&mut u, created);
        let v = Value::Object(u);
        index_user(&mut d.folio.user_keys, &id, &v);
        d.folio.users.insert(id.clone(), v);
        empty(StatusCode::NO_CONTENT)
    })
}

/// mod-users `UsersAPI.deleteUsersByUserId` (lines 475 and 487): an unknown id is 404 with the
/// id as the body.
async fn user_delete(State(app): State<Arc<App>>, Path(raw): Path<String>) -> Response {
    let id = canonical_id(&raw);
    if app.write(|d| d.folio.users.remove(&id)).is_some() {
        empty(StatusCode::NO_CONTENT)
    } else {
        text(StatusCode::NOT_FOUND, raw)
    }
}

async fn users_delete_by_query(State(app): State<Arc<App>>, RawQuery(q): RawQuery) -> Response {
    let p = params(&q);
    // `UsersAPI.java` line 524.
    let Some(query) = param(&p, "query").map(str::trim).filter(|s| !s.is_empty()) else {
        return text(
            StatusCode::BAD_REQUEST,
            "Expected CQL but query parameter is empty",
        );
    };
    let parsed = match parse_query(query) {
        Ok(x) => x,
        Err(r) => return r,
    };
    app.write(|d| d.folio.users.retain(|_, u| !parsed.matches(u)));
    empty(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------------------------------------
// Other collections (reference data and the endpoints folio-data-import uses)

/// How one generic collection behaves.
struct Spec {
    path: &'static str,
    key: &'static str,
    table: &'static str,
    required: &'static [&'static str],
    unique: &'static [&'static str],
    /// When set, `additionalProperties: false` with these fields (plus `id`, `metadata`).
    allowed: Option<&'static [&'static str]>,
    /// When set, the schema's properties and their types (`additionalProperties: false`); replaces
    /// `allowed`.
    fields: Option<&'static [(&'static str, Kind)]>,
    class: &'static str,
    coll: fn(&Data) -> &Coll,
    coll_mut: fn(&mut Data) -> &mut Coll,
}

static SPECS: [Spec; 8] = [
    Spec {
        path: "/folio/groups",
        key: "usergroups",
        table: "groups",
        // mod-users `ramls/usergroup.json` (lines 1-34): `required: ["group"]` and no
        // `additionalProperties: false`, so jsonschema2pojo's default (additional properties
        // kept, RMB sets no other: folio-org/raml-module-builder
        // `domain-models-maven-plugin/src/main/java/org/folio/rest/tools/GenerateRunner.java`
        // lines 78-81) takes unknown fields. Unique `group`: `db_scripts/schema.json` lines 85-93.
        required: &["group"],
        unique: &["group"],
        allowed: None,
        fields: None,
        class: "Usergroup",
        coll: |d| &d.folio.groups,
        coll_mut: |d| &mut d.folio.groups,
    },
    Spec {
        path: "/folio/addresstypes",
        key: "addressTypes",
        table: "addresstype",
        // mod-users `ramls/addresstype.json` (required `addressType`, `additionalProperties:
        // false` line 24); unique `addressType`: `db_scripts/schema.json` lines 347-352.
        required: &["addressType"],
        unique: &["addressType"],
        allowed: Some(&["addressType", "desc"]),
        fields: None,
        class: "AddressType",
        coll: |d| &d.folio.addresstypes,
        coll_mut: |d| &mut d.folio.addresstypes,
    },
    Spec {
        path: "/folio/departments",
        key: "departments",
        table: "departments",
        // mod-users `ramls/department.json` (required `name`, `code`; `additionalProperties:
        // false` line 6); unique `name`, `code`: `db_scripts/schema.json` lines 96-108.
        required: &["name", "code"],
        unique: &["name", "code"],
        allowed: Some(&["name", "code", "usageNumber", "source"]),
        fields: None,
        class: "Department",
        coll: |d| &d.folio.departments,
        coll_mut: |d| &mut d.folio.departments,
    },
    Spec {
        path: "/folio/custom-fields",
        key: "customFields",
        table: "custom_fields",
        required: &["name", "type", "entityType"],
        unique: &["refId"],
        allowed: None,
        fields: None,
        class: "CustomField",
        coll: |d| &d.folio.custom_fields,
        coll_mut: |d| &mut d.folio.custom_fields,
    },
    Spec {
        path: "/folio/service-points",
        key: "servicepoints",
        table: "service_point",
        // folio-org/mod-inventory-storage @ 2639d28bf
        // `ramls/schemas/service-points/servicepoint.json`: required `name`, `code`,
        // `discoveryDisplayName` (lines 98-102); `additionalProperties: false` (line 97). Unique
        // `name` and `code`: `mod-inventory-storage-server/src/main/resources/templates/
        // db_scripts/schema.json` lines 113-125 (RMB's default folding, `lower(f_unaccent())`:
        // folio-org/raml-module-builder `dbschema/src/main/java/org/folio/dbschema/Index.java`
        // lines 16 and 19). Clashes: `duplicate_on_post`, `duplicate_on_put`.
        required: &["name", "code", "discoveryDisplayName"],
        unique: &["name", "code"],
        allowed: None,
        fields: Some(SERVICE_POINT_FIELDS),
        // `javaType` `org.folio.rest.jaxrs.model.ServicePoint` (servicepoint.json line 4).
        class: "ServicePoint",
        coll: |d| &d.folio.service_points,
        coll_mut: |d| &mut d.folio.service_points,
    },
    Spec {
        path: "/folio/request-preference-storage/request-preference",
        key: "requestPreferences",
        table: "user_request_preference",
        // folio-org/mod-circulation-storage @ ce24c3d81 `ramls/request-preference.json`: the
        // properties (lines 5-44), `additionalProperties: false` (line 45), required `userId`,
        // `holdShelf`, `delivery` (lines 46-50). One preference per user: unique `userId`,
        // `src/main/resources/templates/db_scripts/schema.json` lines 362-371. Clashes:
        // `duplicate_on_post`, `duplicate_on_put`.
        required: &["userId", "holdShelf", "delivery"],
        unique: &["userId"],
        allowed: None,
        fields: Some(REQUEST_PREFERENCE_FIELDS),
        class: "RequestPreference",
        coll: |d| &d.folio.request_preferences,
        coll_mut: |d| &mut d.folio.request_preferences,
    },
    Spec {
        path: "/folio/perms/users",
        key: "permissionUsers",
        table: "permissions_users",
        required: &["userId"],
        unique: &["userId"],
        allowed: None,
        fields: None,
        class: "PermissionUser",
        coll: |d| &d.folio.perms_users,
        coll_mut: |d| &mut d.folio.perms_users,
    },
    Spec {
        path: "/folio/service-points-users",
        key: "servicePointsUsers",
        table: "service_point_user",
        // folio-org/mod-inventory-storage `ramls/schemas/service-points/servicepointsuser.json`
        // lines 6-36: required `userId`, `additionalProperties: false` (the properties below);
        // one per user: `mod-inventory-storage-server/src/main/resources/templates/db_scripts/
        // schema.json` lines 136-144 (`service_point_user`, `uniqueIndex` `userId`).
        required: &["userId"],
        unique: &["userId"],
        allowed: None,
        fields: Some(SERVICE_POINTS_USER_FIELDS),
        class: "ServicePointsUser",
        coll: |d| &d.folio.service_points_users,
        coll_mut: |d| &mut d.folio.service_points_users,
    },
];

/// `ValidationHelper.createValidationErrorMessage(field, value, message)`: one error, code "-1",
/// type "1" (folio-org/raml-module-builder `.../rest/tools/utils/ValidationHelper.java` lines
/// 23-37).
fn validation_422(field: &str, value: &str, message: &str) -> Response {
    errors_422(vec![err(message, "-1", field, value)])
}

/// The answer to a POST that clashes with a unique index, as each module words it.
fn duplicate_on_post(spec: &Spec, rec: &Map<String, Value>, field: &str, value: &str) -> Response {
    match spec.key {
        // folio-org/mod-inventory-storage @ 2639d28bf
        // `mod-inventory-storage-server/src/main/java/org/folio/rest/impl/ServicePointApi.java`
        // lines 104-116 and 258-261: a "duplicate key value violates unique constraint" (name or
        // code) is 422 "Service Point Exists" with the entity's name.
        "servicepoints" => validation_422(
            "name",
            str_field(rec, "name").unwrap_or_default(),
            "Service Point Exists",
        ),
        // folio-org/mod-users `src/main/java/org/folio/rest/impl/DepartmentsAPI.java` lines
        // 34-38, 54-55 and 88-121: RMB's 422 is re-worded "Department with this FIELD already
        // exists", with the value as given.
        "departments" => validation_422(
            field,
            str_field(rec, field).unwrap_or(value),
            &format!("Department with this {field} already exists"),
        ),
        // folio-org/mod-circulation-storage @ ce24c3d81
        // `src/main/java/org/folio/rest/impl/RequestPreferencesAPI.java` lines 44 and 76-98 (an
        // id clash is caught too: its text has " value already exists in table ").
        "requestPreferences" => validation_422(
            "userId",
            str_field(rec, "userId").unwrap_or_default(),
            "Request preference for specified user already exists",
        ),
        _ => rmb_unique_422(field, value, spec.table),
    }
}

/// The answer to a PUT that clashes with a unique index.
fn duplicate_on_put(
    spec: &Spec,
    rec: &Map<String, Value>,
    field: &str,
    value: &str,
    detail: String,
) -> Response {
    match spec.key {
        // `ServicePointApi.java` line 165 → `EndpointFailureHandler.failureResponse`
        // (`.../rest/support/EndpointFailureHandler.java` lines 57-79) → RMB
        // `PgExceptionUtil.badRequestMessage` (`.../rest/persist/PgExceptionUtil.java` lines
        // 93-118): 400 text "message: detail", the index named `{table}_{field}_idx_unique`
        // (RMB `domain-models-runtime/src/main/resources/templates/db_scripts/indexes.ftl` line 22).
        "servicepoints" => text(
            StatusCode::BAD_REQUEST,
            format!(
                "duplicate key value violates unique constraint \"{}_{field}_idx_unique\": {detail}",
                spec.table
            ),
        ),
        // `RequestPreferencesAPI.java` line 73 and `DepartmentsAPI.java` lines 64-66: the PUT
        // has the POST's handler.
        "requestPreferences" | "departments" => duplicate_on_post(spec, rec, field, value),
        // Groups (mod-users `service/UserGroupService.java` lines 65-72) and address types
        // (`rest/impl/AddressTypeAPI.java` lines 104-105) update through RMB `PgUtil.put`
        // (`PgUtil.java` line 1310 → lines 371-384 → `responseUniqueViolation`, lines 339-356),
        // and their RAML's PUT declares no 422 (folio-org/raml `rtypes/item-collection.raml`
        // lines 52-81): RMB's message as a 400 text.
        // Service-points-users likewise (`PgUtil.put`, no 422 on its PUT: see `coll_put`).
        "usergroups" | "addressTypes" | "servicePointsUsers" => {
            let e = rmb_unique_error(field, value, spec.table);
            text(
                StatusCode::BAD_REQUEST,
                e["message"].as_str().unwrap_or_default().to_string(),
            )
        }
        // Not re-read for the other collections: PostgreSQL's detail.
        _ => text(StatusCode::BAD_REQUEST, detail),
    }
}

/// `custom-fields` is a "multiple" interface: Okapi routes it only with an `X-Okapi-Module-Id`
/// (folio-org/okapi @ 802665dd3 `okapi-core/src/main/java/org/folio/okapi/util/ModuleCache.java`
/// lines 190-195: without the id only the proxy map is searched), so without one no module
/// handles the path and Okapi answers its 404 "No suitable module found for path {0} for tenant
/// {1}" (`okapi-core/src/main/java/org/folio/okapi/managers/ProxyService.java` lines 242-244).
fn needs_module_id(app: &App, spec: &Spec, h: &HeaderMap, id: Option<&str>) -> Option<Response> {
    if spec.key == "customFields" && header_str(h, "x-okapi-module-id").is_none() {
        let path = spec.path.trim_start_matches("/folio");
        let path = id.map_or_else(|| path.to_string(), |id| format!("{path}/{id}"));
        return Some(text(
            StatusCode::NOT_FOUND,
            format!(
                "No suitable module found for path {path} for tenant {}",
                app.config.credentials.folio_tenant
            ),
        ));
    }
    None
}

/// `GET /service-points` leaves out ECS routing service points unless
/// `includeRoutingServicePoints=true`: the query becomes `cql.allRecords=1 NOT
/// ecsRequestRouting=true and QUERY`, joined as text with no parentheses (folio-org/
/// mod-inventory-storage @ 2639d28bf `mod-inventory-storage-server/src/main/java/org/folio/rest/
/// impl/ServicePointApi.java` lines 33, 57 and 264-276; the parameter: `ramls/service-point.raml`
/// lines 37-39).
fn ecs_routing_filter(p: &mut Vec<(String, String)>) {
    const FILTER: &str = "cql.allRecords=1 NOT ecsRequestRouting=true";
    if param(p, "includeRoutingServicePoints") == Some("true") {
        return;
    }
    let query = param(p, "query")
        .filter(|q| !q.trim().is_empty())
        .map_or_else(|| FILTER.to_string(), |q| format!("{FILTER} and {q}"));
    p.retain(|(k, _)| k != "query");
    p.push(("query".into(), query));
}

/// The scalar defaults of servicepoint.json (`holdShelfClosedLibraryDateManagement`
/// "Keep_the_current_due_date" line 51, `ecsRequestRouting` false line 89) initialise the bound
/// object's fields (joelittlejohn/jsonschema2pojo @ 02c6d4b2d `jsonschema2pojo-core/src/main/java/
/// org/jsonschema2pojo/rules/DefaultRule.java` `apply`: `field.init(getDefaultValue(…))`), so a
/// service point stored without them has them. An explicit `null` stays null (Jackson sets it).
pub(crate) fn service_point_defaults(rec: &mut Map<String, Value>) {
    rec.entry("holdShelfClosedLibraryDateManagement")
        .or_insert_with(|| json!("Keep_the_current_due_date"));
    rec.entry("ecsRequestRouting")
        .or_insert_with(|| json!(false));
}

/// mod-inventory-storage `ServicePointApi.validateServicePoint` (lines 36-46, messages lines
/// 29-32), run on POST and PUT before storing (lines 70 and 87-95, 155-161): a pickup location
/// needs a `holdShelfExpiryPeriod`, any other service point may not have one; 422 with key
/// "name" and the entity's name.
fn check_service_point(spec: &Spec, rec: &Map<String, Value>) -> Result<(), Response> {
    if spec.key != "servicepoints" {
        return Ok(());
    }
    let pickup = rec.get("pickupLocation").and_then(Value::as_bool) == Some(true);
    let period = rec
        .get("holdShelfExpiryPeriod")
        .is_some_and(|v| !v.is_null());
    let message = match (pickup, period) {
        (false, true) => {
            "Hold shelf expiry period cannot be specified when service point cannot be used for pickup"
        }
        (true, false) => {
            "Hold shelf expiry period must be specified when service point can be used for pickup."
        }
        _ => return Ok(()),
    };
    Err(validation_422(
        "name",
        str_field(rec, "name").unwrap_or_default(),
        message,
    ))
}

async fn coll_list(
    app: Arc<App>,
    spec: &'static Spec,
    h: HeaderMap,
    q: Option<String>,
) -> Response {
    if let Some(r) = needs_module_id(&app, spec, &h, None) {
        return r;
    }
    let mut p = params(&q);
    if spec.key == "servicepoints" {
        ecs_routing_filter(&mut p);
    }
    match app.read(|d| list((spec.coll)(d), &p)) {
        Ok(page) => json_resp(StatusCode::OK, &page_body(spec.key, page, false)),
        Err(r) => r,
    }
}

/// Collections whose item routes are RMB's `PgUtil.getById`/`deleteById` (mod-users
/// `AddressTypeAPI.java` lines 61 and 94, `DepartmentsAPI.java` lines 75 and 84,
/// `service/UserGroupService.java` lines 61 and 78; mod-circulation-storage
/// `RequestPreferencesAPI.java` lines 53 and 63; mod-inventory-storage `ServicePointApi.java`
/// line 182, GET only; `ServicePointsUserApi.java` lines 47 and 57 → `BaseApi.java` lines 41 and
/// 81, no delete validation, lines 110-112).
fn pgutil_item(spec: &Spec, delete: bool) -> bool {
    matches!(
        spec.key,
        "usergroups" | "addressTypes" | "departments" | "requestPreferences" | "servicePointsUsers"
    ) || (!delete && spec.key == "servicepoints")
}

async fn coll_get(app: Arc<App>, spec: &'static Spec, h: HeaderMap, id: String) -> Response {
    if let Some(r) = needs_module_id(&app, spec, &h, Some(&id)) {
        return r;
    }
    // `PgUtil.getById` (lines 1059-1061): a path id that is no UUID is 404 `INVALID_UUID`.
    if pgutil_item(spec, false) && !cql_uuid(&id) {
        return text(StatusCode::NOT_FOUND, INVALID_UUID_TEXT);
    }
    match app.read(|d| (spec.coll)(d).get(&id).cloned()) {
        Some(v) => json_resp(StatusCode::OK, &v),
        None => text(StatusCode::NOT_FOUND, "Not found"),
    }
}

fn check_record(spec: &Spec, rec: &mut Map<String, Value>) -> Result<(), Response> {
    if let Some(allowed) = spec.allowed {
        for k in rec.keys() {
            if k != "id" && k != "metadata" && !allowed.contains(&k.as_str()) {
                return Err(unrecognized(k, spec.class));
            }
        }
    }
    // The schema's types: binding (400) and jakarta `@Pattern` (422), as for a user.
    let mut errs = Vec::new();
    if let Some(fields) = spec.fields {
        bind(rec, fields, spec.class, "", &mut errs)?;
    }
    errs.extend(
        spec.required
            .iter()
            .filter(|f| rec.get(**f).is_none_or(Value::is_null))
            .map(|f| {
                err(
                    "must not be null",
                    "jakarta.validation.constraints.NotNull.message",
                    f,
                    "null",
                )
            }),
    );
    if !errs.is_empty() {
        return Err(errors_422(errs));
    }
    // A schema whose `id` has its own pattern was checked by `bind`.
    let own_id_pattern = spec.fields.is_some_and(|f| {
        f.iter()
            .any(|(n, k)| *n == "id" && matches!(k, Kind::Pat(_)))
    });
    if let (false, Some(Value::String(id))) = (own_id_pattern, rec.get("id")) {
        if !is_uuid(id) {
            return Err(errors_422(vec![err(
                &format!("must match \"{UUID_PATTERN}\""),
                "jakarta.validation.constraints.Pattern.message",
                "id",
                id,
            )]));
        }
    }
    Ok(())
}

/// The foreign key of `service_point_user.defaultServicePointId` → `service_point`
/// (folio-org/mod-inventory-storage @ 2639d28bf `mod-inventory-storage-server/src/main/resources/
/// templates/db_scripts/schema.json` lines 145-151; `servicePointsIds` has none). Its violation is
/// RMB's `PgUtil.responseForeignKeyViolation` (folio-org/raml-module-builder @ 24e2b7b2a
/// `PgUtil.java` lines 299-314, via `ServicePointsUserApi.java` lines 31 and 68 → `BaseApi.java`
/// lines 56 and 99 → `PgUtil.post`/`put`): "Cannot set service_point_user.defaultServicePointId =
/// X because it does not exist in service_point.id.", a 422 on POST (its RAML `is: [validate]`,
/// `ramls/service-points-user.raml` line 40) and a 400 text on PUT (no 422 declared:
/// folio-org/raml `rtypes/item-collection.raml` lines 52-85).
fn missing_reference(
    d: &Data,
    spec: &Spec,
    rec: &Map<String, Value>,
    post: bool,
) -> Option<Response> {
    if spec.key != "servicePointsUsers" {
        return None;
    }
    let sp = str_field(rec, "defaultServicePointId")?;
    // PostgreSQL compares `uuid` values, not their spelling.
    if d.folio
        .service_points
        .keys()
        .any(|k| k.eq_ignore_ascii_case(sp))
    {
        return None;
    }
    let field = format!("{}.defaultServicePointId", spec.table);
    let message =
        format!("Cannot set {field} = {sp} because it does not exist in service_point.id.");
    Some(if post {
        validation_422(&field, sp, &message)
    } else {
        text(StatusCode::BAD_REQUEST, message)
    })
}

async fn coll_post(app: Arc<App>, spec: &'static Spec, h: HeaderMap, body: Bytes) -> Response {
    if let Some(r) = needs_module_id(&app, spec, &h, None) {
        return r;
    }
    let mut rec = match parse_object(&body, spec.class) {
        Ok(r) => r,
        Err(r) => return r,
    };
    if let Err(r) = check_record(spec, &mut rec).and_then(|()| check_service_point(spec, &rec)) {
        return r;
    }
    if spec.key == "servicepoints" {
        service_point_defaults(&mut rec);
    }
    let id = match str_field(&rec, "id") {
        Some(id) => id.to_string(),
        None => {
            let id = uuid::Uuid::new_v4().to_string();
            rec.insert("id".into(), json!(id));
            id
        }
    };
    set_metadata(&mut rec, None);
    app.write(|d| {
        let coll = (spec.coll_mut)(d);
        if coll.contains_key(&id) {
            return duplicate_on_post(spec, &rec, "id", &id);
        }
        if let Some((field, value, _)) = unique_violation(coll, &rec, spec.unique, "") {
            return duplicate_on_post(spec, &rec, &field, &value);
        }
        if let Some(r) = missing_reference(d, spec, &rec, true) {
            return r;
        }
        let coll = (spec.coll_mut)(d);
        let v = Value::Object(rec);
        coll.insert(id.clone(), v.clone());
        let mut r = json_resp(StatusCode::CREATED, &v);
        if let Ok(h) = HeaderValue::from_str(&id) {
            r.headers_mut().insert(header::LOCATION, h);
        }
        r
    })
}

async fn coll_put(
    app: Arc<App>,
    spec: &'static Spec,
    h: HeaderMap,
    id: String,
    body: Bytes,
) -> Response {
    if let Some(r) = needs_module_id(&app, spec, &h, Some(&id)) {
        return r;
    }
    let mut rec = match parse_object(&body, spec.class) {
        Ok(r) => r,
        Err(r) => return r,
    };
    if let Err(r) = check_record(spec, &mut rec).and_then(|()| check_service_point(spec, &rec)) {
        return r;
    }
    if spec.key == "servicepoints" {
        service_point_defaults(&mut rec);
    }
    // Collections updated through RMB `PgUtil.put` (groups, address types, departments, request
    // preferences: see `duplicate_on_put`): the path's id must be a UUID, else `INVALID_UUID`
    // (400 text where the RAML's PUT has no 422: groups, address types; 422 `TABLE.id` for
    // departments), and the path's id replaces the body's (`setId(entity, id)`): `PgUtil.java`
    // lines 1297-1300 and 285-297, messages lines 74-76.
    // Service-points-users too: `ServicePointsUserApi.java` line 68 → `BaseApi.java` line 99 →
    // `PgUtil.put`; its RAML's PUT declares no 422 (`ramls/service-points-user.raml` lines 51-56).
    if matches!(
        spec.key,
        "usergroups" | "addressTypes" | "departments" | "requestPreferences" | "servicePointsUsers"
    ) {
        if spec.key != "requestPreferences" && !cql_uuid(&id) {
            return if spec.key == "departments" {
                validation_422(&format!("{}.id", spec.table), &id, INVALID_UUID_TEXT)
            } else {
                text(StatusCode::BAD_REQUEST, INVALID_UUID_TEXT)
            };
        }
        rec.insert("id".into(), json!(id));
    }
    match str_field(&rec, "id") {
        None => {
            rec.insert("id".into(), json!(id));
        }
        Some(b) if b != id => {
            return text(
                StatusCode::BAD_REQUEST,
                "You cannot change the value of the id field",
            )
        }
        Some(_) => {}
    }
    app.write(|d| {
        let coll = (spec.coll_mut)(d);
        let Some(existing) = coll.get(&id) else {
            return text(StatusCode::NOT_FOUND, "Not found");
        };
        let created = existing
            .pointer("/metadata/createdDate")
            .and_then(Value::as_str)
            .map(str::to_string);
        if let Some((field, value, detail)) = unique_violation(coll, &rec, spec.unique, &id) {
            return duplicate_on_put(spec, &rec, &field, &value, detail);
        }
        if let Some(r) = missing_reference(d, spec, &rec, false) {
            return r;
        }
        let coll = (spec.coll_mut)(d);
        set_metadata(&mut rec, created);
        coll.insert(id.clone(), Value::Object(rec));
        empty(StatusCode::NO_CONTENT)
    })
}

async fn coll_delete(app: Arc<App>, spec: &'static Spec, h: HeaderMap, id: String) -> Response {
    if let Some(r) = needs_module_id(&app, spec, &h, Some(&id)) {
        return r;
    }
    // `PgUtil.deleteById` (lines 404-420): a path id that is no UUID is 400 `INVALID_UUID`.
    if pgutil_item(spec, true) && !cql_uuid(&id) {
        return text(StatusCode::BAD_REQUEST, INVALID_UUID_TEXT);
    }
    app.write(|d| {
        let in_use = match spec.key {
            "addressTypes" => d.folio.users.values().any(|u| {
                u.pointer("/personal/addresses")
                    .and_then(Value::as_array)
                    .is_some_and(|a| a.iter().any(|x| x.get("addressTypeId").and_then(Value::as_str) == Some(&id)))
            }),
            "usergroups" => d.folio.users.values().any(|u| u.get("patronGroup").and_then(Value::as_str) == Some(&id)),
            _ => false,
        };
        // In use: mod-users `AddressTypeAPI.java` lines 83-88 (400 "Cannot remove address type
        // 'ID' as it is being used"); a group its users reference, the foreign key `patronGroup`
        // (schema.json lines 185-190) and RMB's message (`PgUtil.java` lines 316-326; the path
        // through `UserGroupService.deleteById` not re-read).
        if in_use {
            return text(
                StatusCode::BAD_REQUEST,
                if spec.key == "addressTypes" {
                    format!("Cannot remove address type '{id}' as it is being used")
                } else {
                    format!("Cannot delete groups.id = {id} because id is still referenced from table users.")
                },
            );
        }
        // A service point a service-points-user has as its default: the foreign key
        // `defaultServicePointId_service_point_fkey` (RMB `templates/db_scripts/foreign_keys.ftl`
        // line 16; PostgreSQL folds the name to lower case) refuses the delete, and
        // `ServicePointApi.performServicePointDeletion` (mod-inventory-storage lines 238-244)
        // answers any failure 500 with its message: PostgreSQL's `ri_ReportViolation` text
        // (postgres/postgres `src/backend/utils/adt/ri_triggers.c`). vert.x's `PgException`
        // decoration of that message is not modelled.
        if spec.key == "servicepoints"
            && d.folio.service_points_users.values().any(|u| {
                u.get("defaultServicePointId")
                    .and_then(Value::as_str)
                    .is_some_and(|sp| sp.eq_ignore_ascii_case(&id))
            })
        {
            return text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "update or delete on table \"service_point\" violates foreign key constraint \"defaultservicepointid_service_point_fkey\" on table \"service_point_user\"",
            );
        }
        if (spec.coll_mut)(d).remove(&id).is_some() {
            empty(StatusCode::NO_CONTENT)
        } else {
            text(StatusCode::NOT_FOUND, "Not found")
        }
    })
}

/// Okapi's `GET /_/proxy/tenants/{tenant}/modules`: the modules enabled for the tenant. The list
/// (and its versions) is the sandbox's own: the modules it emulates, at versions of its choosing.
async fn modules(State(app): State<Arc<App>>, Path(tenant): Path<String>) -> Response {
    if tenant != app.config.credentials.folio_tenant {
        return text(StatusCode::NOT_FOUND, tenant);
    }
    let ids = [
        "mod-users-19.6.0",
        "mod-user-import-3.11.0",
        "mod-login-7.13.0",
        "mod-authtoken-2.17.0",
        "mod-permissions-6.7.0",
        "mod-inventory-storage-28.0.0",
        "mod-circulation-storage-17.3.0",
        "mod-notes-6.0.0",
    ];
    json_resp(
        StatusCode::OK,
        &Value::Array(ids.iter().map(|i| json!({ "id": i })).collect()),
    )
}

async fn consortia(State(app): State<Arc<App>>) -> Response {
    text(
        StatusCode::NOT_FOUND,
        format!(
            "No suitable module found for path /consortia for tenant {}",
            app.config.credentials.folio_tenant
        ),
    )
}

/// The FOLIO routes (all under `/folio`).
pub(crate) fn routes(app: Arc<App>) -> Router<Arc<App>> {
    let mut protected = Router::new()
        .route(
            "/folio/users",
            get(users_list)
                .post(users_post)
                .delete(users_delete_by_query),
        )
        .route(
            "/folio/users/{id}",
            get(user_get).put(user_put).delete(user_delete),
        )
        .route("/folio/_/proxy/tenants/{tenant}/modules", get(modules))
        .route("/folio/consortia", get(consortia));
    for spec in SPECS.iter() {
        let item = format!("{}/{{id}}", spec.path);
        protected = protected
            .route(
                spec.path,
                get(
                    move |State(a): State<Arc<App>>, h: HeaderMap, RawQuery(q): RawQuery| {
                        coll_list(a, spec, h, q)
                    },
                )
                .post(move |State(a): State<Arc<App>>, h: HeaderMap, b: Bytes| {
                    coll_post(a, spec, h, b)
                }),
            )
            .route(
                &item,
                get(
                    move |State(a): State<Arc<App>>, h: HeaderMap, Path(id): Path<String>| {
                        coll_get(a, spec, h, id)
                    },
                )
                .put(
                    move |State(a): State<Arc<App>>,
                          h: HeaderMap,
                          Path(id): Path<String>,
                          b: Bytes| { coll_put(a, spec, h, id, b) },
                )
                .delete(
                    move |State(a): State<Arc<App>>, h: HeaderMap, Path(id): Path<String>| {
                        coll_delete(a, spec, h, id)
                    },
                ),
            );
    }
    let protected = protected.route_layer(axum::middleware::from_fn_with_state(app, gate));
    let authn = Router::new()
        .route("/folio/authn/login-with-expiry", post(login_with_expiry))
        .route("/folio/authn/login", post(login_legacy))
        .route("/folio/authn/refresh", post(refresh))
        .route("/folio/authn/logout", post(logout))
        .route("/folio/authn/logout-all", post(logout_all));
    protected.merge(authn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_pattern_matches_folio_rules() {
        assert!(is_uuid("3684a786-6671-4268-8ed0-9db82ebca60b"));
        assert!(!is_uuid("3684a786-6671-6268-8ed0-9db82ebca60b"));
        assert!(!is_uuid("not-a-uuid"));
    }

    #[test]
    fn b64url_encodes() {
        assert_eq!(b64url(b"hi?"), "aGk_");
        assert_eq!(b64url(b"h"), "aA");
    }
}

#[cfg(test)]
mod lookup_tests {
    //! The key-index path of a batch lookup answers exactly what the full scan answers.
    use super::*;

    fn user(id: &str, username: Value, barcode: Value, ext: Value) -> (String, Value) {
        (
            id.to_string(),
            json!({"id": id, "username": username, "barcode": barcode, "externalSystemId": ext}),
        )
    }

    fn ids(page: &Page) -> (Vec<String>, usize) {
        let ids = page
            .items
            .iter()
            .filter_map(|u| u["id"].as_str().map(str::to_string))
            .collect();
        (ids, page.total)
    }

    #[test]
    fn an_indexed_lookup_answers_as_the_full_scan_does() {
        let mut folio = crate::state::FolioData::default();
        // Loaded from a state file: a duplicate username, a numeric barcode, accents.
        for (id, u) in [
            user(
                "00000000-0000-4000-8000-000000000001",
                json!("ann"),
                json!("111"),
                json!("E1"),
            ),
            user(
                "00000000-0000-4000-8000-000000000002",
                json!("ann"),
                json!("222"),
                json!("E2"),
            ),
            user(
                "00000000-0000-4000-8000-000000000003",
                json!("Zoë"),
                json!(333),
                json!("E3"),
            ),
            user(
                "00000000-0000-4000-8000-000000000004",
                json!("bob"),
                Value::Null,
                json!("E4"),
            ),
        ] {
            folio.users.insert(id, u);
        }
        build_user_keys(&mut folio);
        // Written through the API afterwards: a changed barcode (PUT), a deleted user.
        let (id, u) = user(
            "00000000-0000-4000-8000-000000000004",
            json!("bob"),
            json!("444"),
            json!("E4"),
        );
        index_user(&mut folio.user_keys, &id, &u);
        folio.users.insert(id, u);
        folio.users.remove("00000000-0000-4000-8000-000000000002");
        let (id, u) = user(
            "00000000-0000-4000-8000-000000000005",
            json!("ann"),
            json!("555"),
            json!("E5"),
        );
        index_user(&mut folio.user_keys, &id, &u);
        folio.users.insert(id, u);

        for q in [
            r#"(username==("ann" or "zoe" or "nobody")) or (barcode==("333" or "444"))"#,
            r#"externalSystemId==("e1" or "E4") or barcode==("111")"#,
            r#"username==("ZOË")"#,
            r#"barcode==("444" or "222")"#,
        ] {
            let p = vec![
                ("query".to_string(), q.to_string()),
                ("limit".to_string(), "100".to_string()),
            ];
            let candidates = lookup_candidates(&folio, &p).expect("an indexed lookup");
            let fast = list_in(&candidates, &p, true, true).expect("lists");
            let scan = list_in(&folio.users, &p, true, true).expect("lists");
            assert_eq!(ids(&fast), ids(&scan), "{q}");
            assert!(!scan.items.is_empty(), "{q} finds someone");
        }
        // Not a batch lookup on unique fields: the full scan.
        for q in [
            r#"username==("ann") sortBy username"#,
            r#"personal.lastName==("x")"#,
            r#"username==("an*")"#,
            r#"username==("ann") and barcode==("111")"#,
        ] {
            let p = vec![("query".to_string(), q.to_string())];
            assert!(lookup_candidates(&folio, &p).is_none(), "{q}");
        }
    }
}
