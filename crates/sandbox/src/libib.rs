//! Libib emulator under `/libib`: `x-api-key` + `x-api-user` auth, one request per interval per
//! account (429 when faster), patrons paged 50 at a time, query-string writes, unique e-mail,
//! 13-digit `202…` barcodes with an EAN-13 check digit, partial updates where an empty value
//! clears, delete (400 while checkouts are active) and restore within 30 days.
//! Invariant: `password` is stored but never returned.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};

use super::cql::fold;
use super::server::{empty, json_resp, lock, App};
use super::state::{Data, LibibPatron};

/// The patron fields Libib stores and returns, in the order of "Create a Patron" → "Supported
/// Parameters" (reference/seeds/libib-patrons-client-docs.txt lines 86–101), `password` left out
/// (stored, never returned; the "Get Patrons" example, lines 20–37, has no password). Defined
/// here from the document, not taken from the client, so the two can disagree.
const FIELDS: [&str; 15] = [
    "barcode",
    "first_name",
    "last_name",
    "email",
    "notification_emails",
    "tags",
    "patron_id",
    "phone",
    "address1",
    "address2",
    "city",
    "state",
    "country",
    "zip",
    "freeze",
];

/// "Returns 50 patrons per request" (reference/seeds/libib-patrons-client-docs.txt line 13).
const PER_PAGE: usize = 50;
/// "Patrons can be restored within 30 days of deletion" (libib-patrons-client-docs.txt line
/// 153; illiad-libib-api.md §"Restore", Libib docs patch-patrons-id).
const RESTORE_DAYS: i64 = 30;

fn error(status: StatusCode, message: &str) -> Response {
    json_resp(status, &json!({"status": "error", "message": message}))
}

/// Auth and pacing for every Libib request: `Err` is the response to send. "Currently you may hit
/// the API once every 2 seconds" (illiad-libib-api.md §1.1, Libib docs introduction.html); the
/// 429's body and `Retry-After` are the sandbox's own (undocumented, [SILENT]).
/// Auth: `x-api-key` and `x-api-user` (illiad-libib-api.md §1.1 line 34, Libib docs
/// introduction.html); the 401 and its words are the sandbox's own (§1.4: [SILENT]).
fn gate(app: &App, h: &HeaderMap) -> Result<(), Response> {
    let key = h.get("x-api-key").and_then(|v| v.to_str().ok());
    let user = h.get("x-api-user").and_then(|v| v.to_str().ok());
    let c = &app.config.credentials;
    let (Some(key), Some(user)) = (key, user) else {
        return Err(error(
            StatusCode::UNAUTHORIZED,
            "Missing x-api-key or x-api-user header",
        ));
    };
    if key != c.libib_api_key || user != c.libib_api_user {
        return Err(error(StatusCode::UNAUTHORIZED, "Invalid API credentials"));
    }
    let interval = app.config.libib_interval;
    let mut last = lock(&app.libib_last);
    let now = Instant::now();
    if let Some(prev) = last.get(user) {
        let since = now.duration_since(*prev);
        if since < interval {
            let wait = (interval - since).as_secs_f64().ceil().max(1.0) as u64;
            let mut r = error(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many requests: you may hit the API once every 2 seconds",
            );
            if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return Err(r);
        }
    }
    last.insert(user.to_string(), now);
    Ok(())
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

fn public(p: &LibibPatron) -> Value {
    let mut m = Map::new();
    for f in FIELDS {
        m.insert(f.into(), p.fields.get(f).cloned().unwrap_or(Value::Null));
    }
    Value::Object(m)
}

/// The Mod-10 check digit, GS1/EAN-13 weights 1,3,1,3… (illiad-libib-api.md §1.2 "Barcode
/// scheme", Libib support getting-started-libibs-custom-barcodes).
fn ean13_check(first12: &str) -> u32 {
    let sum: u32 = first12
        .chars()
        .filter_map(|c| c.to_digit(10))
        .enumerate()
        .map(|(i, d)| if i % 2 == 0 { d } else { d * 3 })
        .sum();
    (10 - sum % 10) % 10
}

/// The Libib patron barcode for sequence number `seq`: `202` + 9 digits + check digit
/// (illiad-libib-api.md §1.2 "Barcode scheme"; the docs' examples `2020000000013`,
/// `2020000000037`, libib-patrons-client-docs.txt lines 22 and 39).
pub(crate) fn barcode_for(seq: u64) -> String {
    let first = format!("202{:09}", seq % 1_000_000_000);
    let check = ean13_check(&first);
    format!("{first}{check}")
}

fn is_active(p: &LibibPatron) -> bool {
    p.deleted_at.is_none()
}

fn field_str<'a>(p: &'a LibibPatron, f: &str) -> Option<&'a str> {
    p.fields.get(f).and_then(Value::as_str)
}

/// Index of the live patron whose barcode or e-mail is `id`: "Retrieve a single patron by
/// passing the patron's barcode or email" (libib-patrons-client-docs.txt lines 56-59;
/// illiad-libib-api.md line 59: not by `patron_id`).
fn find(d: &Data, id: &str) -> Option<usize> {
    let fid = fold(id);
    d.libib.patrons.iter().position(|p| {
        is_active(p)
            && (field_str(p, "barcode") == Some(id)
                || field_str(p, "email").is_some_and(|e| fold(e) == fid))
    })
}

fn email_taken(d: &Data, email: &str, except: Option<usize>) -> bool {
    let fe = fold(email);
    d.libib.patrons.iter().enumerate().any(|(i, p)| {
        Some(i) != except && is_active(p) && field_str(p, "email").is_some_and(|e| fold(e) == fe)
    })
}

/// Applies query-string fields to `p`. `creating` = first/last name required.
fn apply(
    d: &Data,
    p: &mut LibibPatron,
    q: &[(String, String)],
    idx: Option<usize>,
) -> Result<(), Response> {
    for (k, v) in q {
        let k = k.as_str();
        if k == "password" {
            p.password = if v.is_empty() { None } else { Some(v.clone()) };
            continue;
        }
        if !FIELDS.contains(&k) {
            continue;
        }
        let v = v.trim();
        if v.is_empty() {
            // "Submitting a parameter with an empty string will remove any existing entry for
            // that field"; `first_name`, `last_name`, `country` and `barcode` "(If included, can
            // not be empty)" (illiad-libib-api.md §1.2, the "Update" row, line 61). The 400 and
            // its words are the sandbox's own (§1.4: [SILENT]).
            if matches!(k, "first_name" | "last_name" | "country" | "barcode") {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    &format!("{k} can not be empty"),
                ));
            }
            p.fields.insert(k.into(), Value::Null);
            continue;
        }
        match k {
            // The docs say only that e-mail "must be unique" (illiad-libib-api.md, Libib
            // patrons: `email`); the status and message of the refusal are undocumented
            // ("Duplicate email on create": [SILENT]), so the sandbox answers 400 with the docs'
            // words and clients must not depend on the wording.
            "email" if email_taken(d, v, idx) => {
                return Err(error(StatusCode::BAD_REQUEST, "email must be unique"));
            }
            // illiad-libib-api.md §1.2, parameters: `barcode` "must be 5–15 digits" (the
            // reference's reading of the Libib patrons docs; the refusal's wording is the
            // sandbox's own).
            "barcode" => {
                if !(5..=15).contains(&v.len()) || !v.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(error(
                        StatusCode::BAD_REQUEST,
                        "barcode must be 5-15 digits",
                    ));
                }
                let clash = d.libib.patrons.iter().enumerate().any(|(i, o)| {
                    Some(i) != idx && is_active(o) && field_str(o, "barcode") == Some(v)
                });
                if clash {
                    return Err(error(StatusCode::BAD_REQUEST, "barcode must be unique"));
                }
            }
            // illiad-libib-api.md §1.2 write-field constraints, lines 68-72: `country` "a valid
            // 2-character code", `notification_emails` "up to 3", `state` two characters when
            // the country is US, `freeze` "Set to 1"; the refusals' wording is the sandbox's own.
            "country" if v.len() != 2 || !v.chars().all(|c| c.is_ascii_alphabetic()) => {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    "country must be a valid 2 character code",
                ));
            }
            "notification_emails" if v.split(',').filter(|s| !s.trim().is_empty()).count() > 3 => {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    "notification_emails accepts up to 3 emails",
                ));
            }
            _ => {}
        }
        let value = if k == "freeze" {
            if v == "1" {
                json!(1)
            } else {
                Value::Null
            }
        } else if k == "country" {
            json!(v.to_ascii_uppercase())
        } else {
            json!(v)
        };
        p.fields.insert(k.into(), value);
    }
    let country = field_str(p, "country").unwrap_or("US");
    if country == "US" {
        if let Some(s) = field_str(p, "state") {
            if s.len() != 2 {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    "state must be the two character abbreviation when country is US",
                ));
            }
        }
    }
    Ok(())
}

async fn list(State(app): State<Arc<App>>, h: HeaderMap, RawQuery(q): RawQuery) -> Response {
    if let Err(r) = gate(&app, &h) {
        return r;
    }
    let q = params(&q);
    let page = q
        .iter()
        .find(|(k, _)| k == "page")
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(1);
    app.read(|d| {
        let live: Vec<&LibibPatron> = d.libib.patrons.iter().filter(|p| is_active(p)).collect();
        let total = live.len();
        let pages = total.div_ceil(PER_PAGE);
        let patrons: Vec<Value> = live
            .iter()
            .skip((page - 1) * PER_PAGE)
            .take(PER_PAGE)
            .map(|p| public(p))
            .collect();
        json_resp(
            StatusCode::OK,
            &json!({"total": total, "pages": pages, "max_per_page": PER_PAGE, "patrons": patrons}),
        )
    })
}

async fn get_one(State(app): State<Arc<App>>, h: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(r) = gate(&app, &h) {
        return r;
    }
    app.read(|d| match find(d, &id) {
        Some(i) => json_resp(StatusCode::OK, &public(&d.libib.patrons[i])),
        // An unknown id answers 200 with empty fields (illiad-libib-api.md §1.2 line 59, [EMP]
        // mvbc: "returns HTTP 200 with empty/null fields when the patron is missing, not 404").
        None => json_resp(StatusCode::OK, &public(&LibibPatron::default())),
    })
}

async fn create(State(app): State<Arc<App>>, h: HeaderMap, RawQuery(q): RawQuery) -> Response {
    if let Err(r) = gate(&app, &h) {
        return r;
    }
    let q = params(&q);
    // "Only two fields are required": `first_name`, `last_name` (illiad-libib-api.md §1.2, the
    // "Create" row, line 60; Libib docs post-patrons-rest-api). The docs give no status or
    // message for the refusal (§1.4 "Errors", lines 93-95: [SILENT]); the 400 and its words
    // are the sandbox's own, listed as not modelled in the README's sandbox section.
    for f in ["first_name", "last_name"] {
        if !q.iter().any(|(k, v)| k == f && !v.trim().is_empty()) {
            return error(
                StatusCode::BAD_REQUEST,
                "first_name and last_name are required",
            );
        }
    }
    app.write(|d| {
        let mut p = LibibPatron::default();
        // "It defaults to `US` on create" (illiad-libib-api.md line 71).
        p.fields.insert("country".into(), json!("US"));
        if let Err(r) = apply(d, &mut p, &q, None) {
            return r;
        }
        if field_str(&p, "barcode").is_none() {
            loop {
                d.libib.barcode_seq += 1;
                let b = barcode_for(d.libib.barcode_seq);
                if !d
                    .libib
                    .patrons
                    .iter()
                    .any(|o| field_str(o, "barcode") == Some(b.as_str()))
                {
                    p.fields.insert("barcode".into(), json!(b));
                    break;
                }
            }
        }
        let body = public(&p);
        d.libib.patrons.push(p);
        json_resp(StatusCode::OK, &body)
    })
}

async fn update(
    State(app): State<Arc<App>>,
    h: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    if let Err(r) = gate(&app, &h) {
        return r;
    }
    let q = params(&q);
    app.write(|d| {
        // An unknown id on update, delete or restore: [SILENT] in the docs (illiad-libib-api.md
        // §1.4 line 101); the 404 and its words are the sandbox's own (README).
        let Some(i) = find(d, &id) else {
            return error(StatusCode::NOT_FOUND, "Patron not found");
        };
        let mut p = d.libib.patrons[i].clone();
        if let Err(r) = apply(d, &mut p, &q, Some(i)) {
            return r;
        }
        let body = public(&p);
        d.libib.patrons[i] = p;
        json_resp(StatusCode::OK, &body)
    })
}

async fn delete(State(app): State<Arc<App>>, h: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(r) = gate(&app, &h) {
        return r;
    }
    app.write(|d| {
        let Some(i) = find(d, &id) else {
            return error(StatusCode::NOT_FOUND, "Patron not found");
        };
        if d.libib.patrons[i].active_checkouts > 0 {
            return error(
                StatusCode::BAD_REQUEST,
                "Patrons with active checkouts can not be deleted",
            );
        }
        d.libib.patrons[i].deleted_at = Some(chrono::Utc::now().to_rfc3339());
        empty(StatusCode::NO_CONTENT)
    })
}

async fn restore(State(app): State<Arc<App>>, h: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(r) = gate(&app, &h) {
        return r;
    }
    app.write(|d| {
        let now = chrono::Utc::now();
        let fid = fold(&id);
        // The most recently deleted match within the restore window.
        let hit = d.libib.patrons.iter().enumerate().rev().find(|(_, p)| {
            let recent = p
                .deleted_at
                .as_deref()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .is_some_and(|t| {
                    now.signed_duration_since(t) <= chrono::Duration::days(RESTORE_DAYS)
                });
            recent
                && (field_str(p, "barcode") == Some(id.as_str())
                    || field_str(p, "email").is_some_and(|e| fold(e) == fid))
        });
        let Some((i, p)) = hit else {
            return error(
                StatusCode::NOT_FOUND,
                "Patron not found or no longer restorable",
            );
        };
        // "If a patron email has been re-added as a new user, restore will not work for that
        // patron" (illiad-libib-api.md §1.2 line 63, Libib docs patch-patrons-id); a barcode in
        // use again likewise ([INF]). Status and words: the sandbox's own.
        if let Some(e) = field_str(p, "email") {
            if email_taken(d, e, Some(i)) {
                return error(
                    StatusCode::BAD_REQUEST,
                    "The patron email has been re-added as a new patron",
                );
            }
        }
        if let Some(b) = field_str(p, "barcode") {
            if d.libib
                .patrons
                .iter()
                .enumerate()
                .any(|(j, o)| j != i && is_active(o) && field_str(o, "barcode") == Some(b))
            {
                return error(StatusCode::BAD_REQUEST, "The patron barcode is in use");
            }
        }
        d.libib.patrons[i].deleted_at = None;
        json_resp(StatusCode::OK, &public(&d.libib.patrons[i]))
    })
}

/// `POST /_sandbox/libib/checkouts/{barcode}?count=N`: sets a patron's active checkouts
/// (there is no Libib API for loans), so delete's 400 can be exercised.
pub(crate) async fn set_checkouts(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let count = params(&q)
        .iter()
        .find(|(k, _)| k == "count")
        .and_then(|(_, v)| v.parse::<u32>().ok())
        .unwrap_or(1);
    app.write(|d| match find(d, &id) {
        Some(i) => {
            d.libib.patrons[i].active_checkouts = count;
            empty(StatusCode::NO_CONTENT)
        }
        None => error(StatusCode::NOT_FOUND, "Patron not found"),
    })
}

/// `GET /` (illiad-libib-api.md §1.1, "Connectivity probe": "it will allow you to test the
/// connection and confirm access"; the body is undocumented, so the sandbox answers `{}`).
async fn root(State(app): State<Arc<App>>, h: HeaderMap) -> Response {
    if let Err(r) = gate(&app, &h) {
        return r;
    }
    json_resp(StatusCode::OK, &json!({}))
}

/// `GET /accounts`: `{"accounts":[{organization, api_id, email, first_name, last_name,
/// manager_seats, url, authorized}]}` (illiad-libib-api.md §1.1, Libib docs accounts.html).
async fn accounts(State(app): State<Arc<App>>, h: HeaderMap) -> Response {
    if let Err(r) = gate(&app, &h) {
        return r;
    }
    let user = &app.config.credentials.libib_api_user;
    json_resp(
        StatusCode::OK,
        &json!({"accounts": [{"organization": "Sandbox Library", "api_id": user,
            "email": format!("{user}@sandbox.invalid"), "first_name": "Sandbox",
            "last_name": "Owner", "manager_seats": 1, "url": "sandbox", "authorized": true}]}),
    )
}

/// `GET /managers`: `{"total", "managers":[{first_name, last_name, email, role}]}`
/// (illiad-libib-api.md §1.5); the sandbox has one manager, the owner.
async fn managers(State(app): State<Arc<App>>, h: HeaderMap) -> Response {
    if let Err(r) = gate(&app, &h) {
        return r;
    }
    let user = &app.config.credentials.libib_api_user;
    json_resp(
        StatusCode::OK,
        &json!({"total": 1, "managers": [{"first_name": "Sandbox", "last_name": "Owner",
            "email": format!("{user}@sandbox.invalid"), "role": "owner"}]}),
    )
}

/// The Libib routes.
pub(crate) fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/libib", get(root))
        .route("/libib/", get(root))
        .route("/libib/accounts", get(accounts))
        .route("/libib/managers", get(managers))
        .route("/libib/patrons", get(list).post(create))
        .route(
            "/libib/patrons/{id}",
            get(get_one).post(update).delete(delete).patch(restore),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn barcodes_match_libib_examples() {
        assert_eq!(barcode_for(1), "2020000000013");
        assert_eq!(barcode_for(2), "2020000000020");
    }
}
