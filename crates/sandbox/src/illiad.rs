//! ILLiad Web Platform emulator under `/illiad/ILLiadWebPlatform` (path matched
//! case-insensitively, like IIS): `ApiKey` auth, `GET Users/{username}`,
//! `GET Users/ExternalUserId/{id}`, `POST Users` (create only; JSON keys matched
//! case-insensitively; documented defaults; ModelState errors; an empty 400 when NVTGC is missing)
//! and `SystemInfo/*`. There is no update, delete or list route, as on the real platform.
//! Invariant: passwords are stored but never returned (only a hash, as the real GET shows).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use serde_json::{json, Map, Value};

use super::server::{empty, json_resp, App, RouteName};

/// The fields a user has, in the order the API returns them: the create "Parameters" table
/// (seeds/illiad-webplatform-users-api.txt lines 284-364, less the write-only two) in the order of
/// the "Users" response example (lines 41-91).
const FIELDS: [&str; 46] = [
    "UserName",
    "ExternalUserId",
    "LastName",
    "FirstName",
    "SSN",
    "Status",
    "EMailAddress",
    "Phone",
    "Department",
    "NVTGC",
    "NotificationMethod",
    "DeliveryMethod",
    "LoanDeliveryMethod",
    "LastChangedDate",
    "AuthorizedUsers",
    "Cleared",
    "Web",
    "Address",
    "Address2",
    "City",
    "State",
    "Zip",
    "Site",
    "ExpirationDate",
    "Number",
    "UserRequestLimit",
    "Organization",
    "Fax",
    "ShippingAcctNo",
    "ArticleBillingCategory",
    "LoanBillingCategory",
    "Country",
    "SAddress",
    "SAddress2",
    "SCity",
    "SState",
    "SZip",
    "SCountry",
    "RSSID",
    "AuthType",
    "UserInfo1",
    "UserInfo2",
    "UserInfo3",
    "UserInfo4",
    "UserInfo5",
    "MobilePhone",
];

/// Create parameters never returned: `PlainTextPassword` (line 359) and
/// `NotificationPreferences` (line 365) — the response example (lines 41-91) has neither.
const WRITE_ONLY: [&str; 2] = ["PlainTextPassword", "NotificationPreferences"];

/// The create parameters' "Allowed Values" (seeds/illiad-webplatform-users-api.txt:
/// NotificationMethod lines 305-309, DeliveryMethod 310-313, LoanDeliveryMethod 314-317,
/// Cleared 319-327, AuthType 350-355).
const ENUMS: [(&str, &[&str]); 5] = [
    ("NotificationMethod", &["Electronic", "Phone", "Mail"]),
    ("DeliveryMethod", &["Hold for Pickup", "Mail to Address"]),
    (
        "LoanDeliveryMethod",
        &["Hold for Pickup", "Mail to Address"],
    ),
    ("Cleared", &["Yes", "No", "New", "DIS", "B", "BO", "BX"]),
    ("AuthType", &["Default", "ILLiad"]),
];

/// The `NotificationPreferences` activity types (seeds/illiad-webplatform-users-api.txt lines
/// 373-382, the second "Allowed NotificationTypes" table).
const ACTIVITIES: [&str; 8] = [
    "ClearedUser",
    "PasswordReset",
    "RequestPickup",
    "RequestShipped",
    "RequestElectronicDelivery",
    "RequestOverdue",
    "RequestCancelled",
    "RequestOther",
];

fn message(status: StatusCode, msg: &str) -> Response {
    json_resp(status, &json!({ "Message": msg }))
}

fn model_state(key: &str, msg: &str) -> Response {
    json_resp(
        StatusCode::BAD_REQUEST,
        &json!({"Message": "The request is invalid.", "ModelState": { key: [msg] }}),
    )
}

fn illiad_now(offset_days: i64) -> String {
    (chrono::Local::now().naive_local() + chrono::Duration::days(offset_days))
        .format("%Y-%m-%dT%H:%M:%S%.3f")
        .to_string()
}

fn canonical(key: &str) -> Option<&'static str> {
    let k = key.to_ascii_lowercase();
    FIELDS
        .iter()
        .chain(WRITE_ONLY.iter())
        .copied()
        .find(|f| f.to_ascii_lowercase() == k)
}

/// The field `ExternalUserId` stands for: the API key's ExternalUserIDMapping, "The default
/// mapping is set to the Username field" (seeds/illiad-webplatform-users-api.txt line 137;
/// illiad-libib-api.md §2.2, `Users/ExternalUserId/{externalUserId}`).
fn mapped_field(app: &App) -> &'static str {
    canonical(&app.config.illiad_external_id_field).unwrap_or("UserName")
}

/// The fields of a user as `GET Users/{username}` returns them, in its order
/// (seeds/illiad-webplatform-users-api.txt lines 41-91, the "Users" response example).
const OUTPUT: [&str; 48] = [
    "UserName",
    "ExternalUserId",
    "LastName",
    "FirstName",
    "SSN",
    "Status",
    "EMailAddress",
    "Phone",
    "MobilePhone",
    "Department",
    "NVTGC",
    "Password",
    "NotificationMethod",
    "DeliveryMethod",
    "LoanDeliveryMethod",
    "LastChangedDate",
    "AuthorizedUsers",
    "Cleared",
    "Web",
    "Address",
    "Address2",
    "City",
    "State",
    "Zip",
    "Site",
    "ExpirationDate",
    "Number",
    "UserRequestLimit",
    "Organization",
    "Fax",
    "ShippingAcctNo",
    "ArticleBillingCategory",
    "LoanBillingCategory",
    "Country",
    "SAddress",
    "SAddress2",
    "SCity",
    "SState",
    "SZip",
    "PasswordHint",
    "SCountry",
    "RSSID",
    "AuthType",
    "UserInfo1",
    "UserInfo2",
    "UserInfo3",
    "UserInfo4",
    "UserInfo5",
];

/// A stand-in for the stored password hash the real GET returns (`"Password":
/// "10471281899082626783"` in the seed): digits derived from the password, never the password.
fn password_hash(pw: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    pw.hash(&mut h);
    format!("{:020}", h.finish())
}

/// A user as the API returns it (GET and the POST answer): the seed's shape, with `Web` as the
/// string `"Yes"`/`"No"` (the create body takes a boolean; the response shows `"Web":"Yes"`),
/// `Password` a hash and `PasswordHint` null; `ExternalUserId` is the mapped field's value.
fn public(app: &App, u: &Value) -> Value {
    let mut m = Map::new();
    for f in OUTPUT {
        let v = match f {
            "ExternalUserId" => u.get(mapped_field(app)).cloned().unwrap_or(Value::Null),
            "Web" => match u.get("Web") {
                Some(Value::Bool(b)) => json!(if *b { "Yes" } else { "No" }),
                Some(other) => other.clone(),
                None => Value::Null,
            },
            "Password" => u
                .get("PlainTextPassword")
                .and_then(Value::as_str)
                .map_or(Value::Null, |p| json!(password_hash(p))),
            "PasswordHint" => Value::Null,
            _ => u.get(f).cloned().unwrap_or(Value::Null),
        };
        m.insert(f.into(), v);
    }
    Value::Object(m)
}

/// The users whose `field` equals `value`, ignoring case: the sandbox's reading (illiad-libib-api.md
/// §2.3 "JSON keys are matched case-insensitively", [INF] for values; no source shows the
/// platform's collation).
fn find<'a>(users: &'a [Value], field: &str, value: &str) -> Vec<&'a Value> {
    let lv = value.to_lowercase();
    users
        .iter()
        .filter(|u| {
            u.get(field)
                .and_then(Value::as_str)
                .is_some_and(|s| s.to_lowercase() == lv)
        })
        .collect()
}

fn create(app: &App, body: &Bytes) -> Response {
    // A body that is not a JSON object: a ModelState 400 whose key and wording are the
    // sandbox's own (no source shows the platform's; README, "Not modelled").
    let parsed: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return model_state("model", &e.to_string()),
    };
    let Value::Object(input) = parsed else {
        return model_state("model.UserName", "The UserName field is required.");
    };
    // "JSON keys are matched case-insensitively on input" (illiad-libib-api.md §2.1, lines
    // 203-206: Atlas's own example posts `Username` and `EmailAddress`); unknown keys are
    // ignored (ASP.NET Web API model binding, [INF] there).
    let mut u = Map::new();
    for (k, v) in input {
        let k = if k.eq_ignore_ascii_case("Username") {
            "UserName".to_string()
        } else {
            k
        };
        let Some(f) = canonical(&k) else { continue };
        u.insert(f.to_string(), v);
    }
    // Scalar fields bind to strings; enumerations and booleans are checked like Json.NET would,
    // with its messages (JamesNK/Newtonsoft.Json `Src/Newtonsoft.Json/Converters/
    // StringEnumConverter.cs` line 256 "Error converting value {0} to type '{1}'.",
    // `Src/Newtonsoft.Json/JsonReader.cs` line 735 "Could not convert string to boolean: {0}." and
    // line 435 "Could not convert to integer: {0}.", then " Path '…'"). Not modelled: the .NET
    // type name (ILLiad's is not public; the field name stands in) and the ", line N, position
    // M" suffix.
    for (k, v) in u.iter_mut() {
        if let Some((_, allowed)) = ENUMS.iter().find(|(n, _)| n == k) {
            match v {
                Value::Null => {}
                Value::String(s) => match allowed.iter().find(|a| a.eq_ignore_ascii_case(s)) {
                    Some(a) => *s = (*a).to_string(),
                    None => {
                        return model_state(
                            &format!("model.{k}"),
                            &format!("Error converting value \"{s}\" to type '{k}'. Path '{k}'."),
                        )
                    }
                },
                other => {
                    return model_state(
                        &format!("model.{k}"),
                        &format!("Error converting value {other} to type '{k}'. Path '{k}'."),
                    )
                }
            }
        } else if k == "Web" {
            match v {
                Value::Bool(_) | Value::Null => {}
                Value::String(s)
                    if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") =>
                {
                    *v = Value::Bool(s.eq_ignore_ascii_case("true"))
                }
                other => {
                    return model_state(
                        "model.Web",
                        &format!("Could not convert string to boolean: {other}. Path 'Web'."),
                    )
                }
            }
        } else if k == "UserRequestLimit" {
            if !(v.is_null() || v.is_i64() || v.as_str().is_some_and(|s| s.parse::<i64>().is_ok()))
            {
                return model_state(
                    "model.UserRequestLimit",
                    &format!("Could not convert to integer: {v}. Path 'UserRequestLimit'."),
                );
            }
            if let Some(n) = v.as_str().and_then(|s| s.parse::<i64>().ok()) {
                *v = json!(n);
            }
        } else if k == "NotificationPreferences" {
            if !(v.is_null() || v.is_array()) {
                return model_state(
                    "model.NotificationPreferences",
                    "Cannot deserialize the current value into a list.",
                );
            }
        } else if let Value::Number(n) = v {
            *v = Value::String(n.to_string());
        } else if let Value::Bool(b) = v {
            *v = Value::String(b.to_string());
        } else if v.is_object() || v.is_array() {
            return model_state(&format!("model.{k}"), &format!("Unexpected value for {k}."));
        }
    }
    let username = u
        .get("UserName")
        .and_then(Value::as_str)
        .map(str::trim)
        .unwrap_or_default()
        .to_string();
    // "Username … Required field." (seeds/illiad-webplatform-users-api.txt line 287, "Required
    // Parameters" lines 401-405); the refusal as pulibrary/orangelight's spec captured it:
    // `{"Message":"The request is invalid.","ModelState":{"model.UserName":["The UserName field
    // is required."]}}` (illiad-libib-api.md §2.3, lines 240-242).
    if username.is_empty() {
        return model_state("model.UserName", "The UserName field is required.");
    }
    let nvtgc = u.get("NVTGC").and_then(Value::as_str).map(str::to_string);
    let Some(nvtgc) = nvtgc.filter(|s| !s.trim().is_empty()) else {
        // Documented as optional, but the real platform answers an empty 400 (illiad-libib-api.md
        // §2.3, UPenn's three codebases).
        return empty(StatusCode::BAD_REQUEST);
    };
    if !app
        .config
        .illiad_nvtgcs
        .iter()
        .any(|n| n.eq_ignore_ascii_case(&nvtgc))
    {
        // seeds/illiad-webplatform-users-api.txt lines 483-492.
        return model_state("model.NVTGC", "The NVTGC is invalid.");
    }
    u.insert("UserName".into(), json!(username));
    // "An ExternalUserId will always override the a value supplied for the mapped field"
    // (seeds/illiad-webplatform-users-api.txt line 294); erased when absent (illiad-libib-api.md
    // §2.3, the Relais integration doc).
    let mapped = mapped_field(app);
    match u.remove("ExternalUserId") {
        Some(ext) if !ext.is_null() => {
            u.insert(mapped.into(), ext);
        }
        _ if mapped != "UserName" => {
            // ExternalUserId overrides the mapped field, even when absent.
            u.insert(mapped.into(), Value::Null);
        }
        _ => {}
    }
    // Defaults when a field is omitted: seeds/illiad-webplatform-users-api.txt lines 286 on
    // ("Default if not provided": NotificationMethod line 305, the delivery methods 310 and 314,
    // Cleared 319, Web 328, NotificationPreferences 365); AuthType `Default` and ExpirationDate
    // one year on (Princeton's fixture: LastChangedDate + 1 year) from illiad-libib-api.md §2.3
    // lines 256-260 — the vendor says only "set based upon system rules" (seed line 336).
    let defaults = [
        ("NotificationMethod", json!("Electronic")),
        ("DeliveryMethod", json!("Hold for Pickup")),
        ("LoanDeliveryMethod", json!("Hold for Pickup")),
        ("Cleared", json!("No")),
        ("Web", json!(true)),
        ("AuthType", json!("Default")),
        ("ExpirationDate", json!(illiad_now(365))),
    ];
    for (k, v) in defaults {
        if u.get(k).is_none_or(Value::is_null) {
            u.insert(k.into(), v);
        }
    }
    if u.get("NotificationPreferences").is_none_or(Value::is_null) {
        let prefs: Vec<Value> = ACTIVITIES
            .iter()
            .map(|a| json!({"ActivityType": a, "NotificationType": "Email"}))
            .collect();
        u.insert("NotificationPreferences".into(), Value::Array(prefs));
    }
    u.insert("LastChangedDate".into(), json!(illiad_now(0)));
    app.write(|d| {
        // illiad-libib-api.md §2.3 line 238 (pulibrary/orangelight
        // `spec/models/requests/illiad_patron_spec.rb`): the key without `model.`.
        if !find(&d.illiad, "UserName", &username).is_empty() {
            return model_state("UserName", &format!("Username {username} already exists."));
        }
        let v = Value::Object(u);
        let body = public(app, &v);
        d.illiad.push(v);
        json_resp(StatusCode::OK, &body)
    })
}

fn route(
    app: &App,
    method: &Method,
    h: &HeaderMap,
    segs: &[String],
    body: &Bytes,
) -> (String, Response) {
    let lower: Vec<String> = segs.iter().map(|s| s.to_ascii_lowercase()).collect();
    let l: Vec<&str> = lower.iter().map(String::as_str).collect();
    let base = "/illiad/ILLiadWebPlatform";
    if l.first() != Some(&"illiadwebplatform") {
        return (
            format!("{method} /illiad/<unmatched>"),
            message(StatusCode::NOT_FOUND, "Not Found"),
        );
    }
    // Paths in any casing (illiad-libib-api.md §2.1 lines 182-183: clients use
    // `/ILLiadWebPlatform`, `/illiadwebplatform`, `Users/ExternalUserID`). Health checks:
    // `SystemInfo/APIVersion` without a key, `SystemInfo/SecurePlatformVersion` with one (lines
    // 207-208); their bodies are [SILENT] there, so "1" and "9.2.2.0" are the sandbox's own.
    if l[1..] == ["systeminfo", "apiversion"] && method == Method::GET {
        return (
            format!("GET {base}/SystemInfo/APIVersion"),
            json_resp(StatusCode::OK, &json!("1")),
        );
    }
    let key_ok = h.get("apikey").and_then(|v| v.to_str().ok())
        == Some(app.config.credentials.illiad_api_key.as_str());
    let template = match &l[1..] {
        ["systeminfo", "secureplatformversion"] => "SystemInfo/SecurePlatformVersion",
        ["users"] => "Users",
        ["users", "externaluserid", _] => "Users/ExternalUserId/{id}",
        ["users", _] => "Users/{username}",
        _ => "",
    };
    let name = format!(
        "{method} {base}/{}",
        if template.is_empty() {
            "<unmatched>"
        } else {
            template
        }
    );
    // Without the right `ApiKey`: 401 (seeds/illiad-webplatform-users-api.txt lines 97-101);
    // the message is ASP.NET Web API's `[Authorize]` wording, the sandbox's choice (README).
    if !key_ok {
        return (
            name,
            message(
                StatusCode::UNAUTHORIZED,
                "Authorization has been denied for this request.",
            ),
        );
    }
    let uri = format!("{base}/{}", segs[1..].join("/"));
    // A method or path the platform lacks: ASP.NET Web API's 405 and 404 wording, the sandbox's
    // own choice (no source shows the platform's bodies; README "Not modelled").
    let not_allowed = || {
        message(
            StatusCode::METHOD_NOT_ALLOWED,
            &format!("The requested resource does not support http method '{method}'."),
        )
    };
    let resp = match (template, method) {
        ("SystemInfo/SecurePlatformVersion", &Method::GET) => {
            json_resp(StatusCode::OK, &json!("9.2.2.0"))
        }
        ("Users", &Method::POST) => create(app, body),
        ("Users/{username}", &Method::GET) => {
            let name = &segs[2];
            // 404 `{"Message":"User jstudent was not found."}` (illiad-libib-api.md §2.2 line
            // 215, pulibrary/orangelight specs).
            app.read(|d| match find(&d.illiad, "UserName", name).first() {
                Some(u) => json_resp(StatusCode::OK, &public(app, u)),
                None => message(
                    StatusCode::NOT_FOUND,
                    &format!("User {name} was not found."),
                ),
            })
        }
        ("Users/ExternalUserId/{id}", &Method::GET) => {
            let id = &segs[3];
            // Not found as for a user name; more than one: "Could not find unique user with
            // external user id X." (seeds/illiad-webplatform-users-api.txt lines 137 and 220-222).
            app.read(|d| {
                let hits = find(&d.illiad, mapped_field(app), id);
                match hits.len() {
                    1 => json_resp(StatusCode::OK, &public(app, hits[0])),
                    0 => message(StatusCode::NOT_FOUND, &format!("User {id} was not found.")),
                    _ => message(
                        StatusCode::NOT_FOUND,
                        &format!("Could not find unique user with external user id {id}."),
                    ),
                }
            })
        }
        ("", _) => message(
            StatusCode::NOT_FOUND,
            &format!("No HTTP resource was found that matches the request URI '{uri}'."),
        ),
        _ => not_allowed(),
    };
    (name, resp)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() && s.is_char_boundary(i + 3) {
            if let Ok(n) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(n);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Handles every request under `/illiad/`.
pub(crate) async fn handle(
    State(app): State<Arc<App>>,
    method: Method,
    uri: Uri,
    h: HeaderMap,
    body: Bytes,
) -> Response {
    let rest = uri.path().trim_start_matches("/illiad");
    let segs: Vec<String> = rest
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect();
    // "Form-urlencoded also works" (illiad-libib-api.md §2.1 lines 199-202).
    let is_form = h
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    let body = if is_form {
        let m: Map<String, Value> = url::form_urlencoded::parse(&body)
            .into_owned()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        Bytes::from(Value::Object(m).to_string())
    } else {
        body
    };
    let (name, mut resp) = route(&app, &method, &h, &segs, &body);
    resp.extensions_mut().insert(RouteName(name));
    resp
}
