//! FOLIO emulator contract tests over a real socket: auth (cookies, refresh, expiry, legacy),
//! `/users` CRUD, validation and uniqueness error shapes, CQL and paging, reference data,
//! the folio-data-import endpoints, malformed input, stats and state persistence.

use std::time::Duration;

use patron_sandbox::SandboxConfig;

use super::{cookie_value, sandbox, Folio};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

const STAFF: &str = "3684a786-6671-4268-8ed0-9db82ebca60b";
const HOME: &str = "93d3d88d-499b-45d0-9bc7-ac73c3a19880";
const WORK: &str = "1c4b225f-f669-4e9b-afcd-ebc0e273a34e";

// `sandbox`, `cookie_value` and `Folio` (with its login) are the contract crate's
// (`../contract.rs`); the methods below are this module's.
impl Folio {
    fn req(&self, m: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.c
            .request(m, format!("{}{path}", self.base))
            .header("x-okapi-tenant", "diku")
            .header("x-okapi-token", &self.token)
    }
    async fn post_user(&self, body: Value) -> (StatusCode, String) {
        let r = self
            .req(reqwest::Method::POST, "/users")
            .json(&body)
            .send()
            .await
            .expect("post");
        (r.status(), r.text().await.unwrap_or_default())
    }
    async fn define_custom_field(&self, def: Value) {
        let r = self
            .req(reqwest::Method::POST, "/custom-fields")
            .header("x-okapi-module-id", "mod-users-19.6.0")
            .json(&def)
            .send()
            .await
            .expect("post custom field");
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    async fn get_json(&self, path_and_query: &str) -> (StatusCode, Value) {
        let r = self
            .req(reqwest::Method::GET, path_and_query)
            .send()
            .await
            .expect("get");
        let s = r.status();
        (s, r.json().await.unwrap_or(Value::Null))
    }
}

fn parse(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or(Value::Null)
}

#[tokio::test]
async fn login_sets_cookies_only_and_tokens_gate_access() {
    let h = sandbox(SandboxConfig {
        folio_token_ttl: Duration::from_secs(1),
        ..SandboxConfig::default()
    })
    .await;
    let c = Client::new();
    let base = h.folio_url();

    // Bad credentials → 422 with mod-login's error shape.
    let r = c
        .post(format!("{base}/authn/login-with-expiry"))
        .header("x-okapi-tenant", "diku")
        .json(&json!({"username": "diku_admin", "password": "nope"}))
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let b: Value = r.json().await.expect("json");
    assert_eq!(
        b["errors"][0]["code"],
        "wrong.username.or.wrong.password.or.account.blocked"
    );

    // Missing password → 400 text.
    let r = c
        .post(format!("{base}/authn/login-with-expiry"))
        .header("x-okapi-tenant", "diku")
        .json(&json!({"username": "diku_admin"}))
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        r.text().await.unwrap_or_default(),
        "You must provide a password"
    );

    // Good login: tokens only in cookies; body has the expirations.
    let r = c
        .post(format!("{base}/authn/login-with-expiry"))
        .header("x-okapi-tenant", "diku")
        .json(&json!({"username": "diku_admin", "password": "admin"}))
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), StatusCode::CREATED);
    let at = cookie_value(&r, "folioAccessToken").expect("access cookie");
    let rt = cookie_value(&r, "folioRefreshToken").expect("refresh cookie");
    assert!(r.headers().get("x-okapi-token").is_none());
    let body = r.text().await.unwrap_or_default();
    assert!(!body.contains(&at) && !body.contains(&rt));
    let body = parse(&body);
    assert!(body["accessTokenExpiration"]
        .as_str()
        .is_some_and(|s| s.ends_with('Z')));

    let users = format!("{base}/users");
    // Tenant header required.
    let r = c
        .get(&users)
        .header("x-okapi-token", &at)
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // No token.
    let r = c
        .get(&users)
        .header("x-okapi-tenant", "diku")
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r
        .text()
        .await
        .unwrap_or_default()
        .starts_with("Token missing, access requires permission: users.collection.get"));
    // Token by header, and by cookie.
    let r = c
        .get(&users)
        .header("x-okapi-tenant", "diku")
        .header("x-okapi-token", &at)
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), StatusCode::OK);
    let r = c
        .get(&users)
        .header("x-okapi-tenant", "diku")
        .header("cookie", format!("folioAccessToken={at}"))
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), StatusCode::OK);
    // Garbage token.
    let r = c
        .get(&users)
        .header("x-okapi-tenant", "diku")
        .header("x-okapi-token", "x.y.z")
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // Refresh: missing cookie → 400 JSON; good → 201 new cookies; reuse → 422.
    let r = c
        .post(format!("{base}/authn/refresh"))
        .header("x-okapi-tenant", "diku")
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        r.json::<Value>().await.expect("json")["errors"][0]["code"],
        "token.parse.failure"
    );
    let refresh = |rt: String| {
        c.post(format!("{base}/authn/refresh"))
            .header("x-okapi-tenant", "diku")
            .header("cookie", format!("folioRefreshToken={rt}"))
            .send()
    };
    let r = refresh(rt.clone()).await.expect("req");
    assert_eq!(r.status(), StatusCode::CREATED);
    let at2 = cookie_value(&r, "folioAccessToken").expect("new access");
    assert_ne!(at2, at);
    let r = refresh(rt).await.expect("req");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.json::<Value>().await.expect("json")["errors"][0]["code"],
        "token.refresh.unprocessable"
    );

    // Expiry (1 s TTL in this test).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = c
        .get(&users)
        .header("x-okapi-tenant", "diku")
        .header("x-okapi-token", &at2)
        .send()
        .await
        .expect("req");
    // mod-authtoken answers every invalid token, an expired one too, with the generic text
    // (`apis/Api.java` lines 41-48).
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.text().await.unwrap_or_default(), "Invalid token");

    // Legacy login: token in header and body, does not expire.
    let r = c
        .post(format!("{base}/authn/login"))
        .header("x-okapi-tenant", "diku")
        .json(&json!({"username": "diku_admin", "password": "admin"}))
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), StatusCode::CREATED);
    let legacy = r
        .headers()
        .get("x-okapi-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .expect("hdr");
    assert_eq!(
        r.json::<Value>().await.expect("json")["okapiToken"],
        legacy.as_str()
    );
    let r = c
        .get(&users)
        .header("x-okapi-tenant", "diku")
        .header("x-okapi-token", &legacy)
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), StatusCode::OK);
    let _ = h.shutdown().await;
}

#[tokio::test]
async fn users_crud_with_location_and_full_replacement() {
    let h = sandbox(SandboxConfig::default()).await;
    let f = Folio::login(&h).await;
    f.define_custom_field(json!({"name": "B", "refId": "b", "type": "TEXTBOX_SHORT",
        "entityType": "user", "textField": {"fieldFormat": "TEXT"}}))
        .await;
    let (s, body) = f
        .post_user(
            json!({"username": "  jdoe ", "barcode": "123", "active": true, "patronGroup": STAFF,
            "personal": {"lastName": "Doe", "firstName": "Jane",
                "addresses": [{"addressTypeId": HOME, "city": "X", "primaryAddress": true}]},
            "expirationDate": "2027-06-30", "customFields": {"a": "", "b": "x"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let u = parse(&body);
    let id = u["id"].as_str().expect("id").to_string();
    assert_eq!(u["username"], "jdoe", "username trimmed");
    assert_eq!(u["expirationDate"], "2027-06-30T00:00:00.000+00:00");
    assert_eq!(
        u["customFields"],
        json!({"b": "x"}),
        "empty custom field values dropped"
    );
    assert!(u["metadata"]["createdDate"].is_string());

    let r = f
        .req(reqwest::Method::POST, "/users")
        .json(&json!({"personal": {"lastName": "Loc"}}))
        .send()
        .await
        .expect("p");
    assert_eq!(r.status(), StatusCode::CREATED);
    let loc = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .expect("location");
    let b: Value = r.json().await.expect("json");
    assert_eq!(b["id"].as_str(), Some(loc.as_str()));

    // PUT: full replacement, 204, id required and equal.
    let r = f
        .req(reqwest::Method::PUT, &format!("/users/{id}"))
        .json(&json!({"id": id, "username": "jdoe", "personal": {"lastName": "Doe"}}))
        .send()
        .await
        .expect("put");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(r.text().await.unwrap_or_default().is_empty());
    let (s, got) = f.get_json(&format!("/users/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        got.get("barcode").is_none(),
        "PUT replaces the whole record"
    );
    assert_eq!(got["metadata"]["createdDate"], u["metadata"]["createdDate"]);

    let r = f
        .req(reqwest::Method::PUT, &format!("/users/{id}"))
        .json(&json!({"username": "z"}))
        .send()
        .await
        .expect("put");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        r.text().await.unwrap_or_default(),
        "You cannot change the value of the id field"
    );
    // UsersAPI.java line 588 compares the path id and the body id exactly: case matters.
    let r = f
        .req(
            reqwest::Method::PUT,
            &format!("/users/{}", id.to_uppercase()),
        )
        .json(&json!({"id": id, "username": "z"}))
        .send()
        .await
        .expect("put");
    assert_eq!(
        r.status(),
        StatusCode::BAD_REQUEST,
        "path id upper case, body lower"
    );
    let other = "11111111-1111-4111-8111-111111111111";
    let r = f
        .req(reqwest::Method::PUT, &format!("/users/{other}"))
        .json(&json!({"id": other}))
        .send()
        .await
        .expect("put");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    let r = f
        .req(reqwest::Method::DELETE, &format!("/users/{id}"))
        .send()
        .await
        .expect("del");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = f
        .req(reqwest::Method::GET, &format!("/users/{id}"))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("text/plain")));
    let _ = h.shutdown().await;
}

#[tokio::test]
async fn validation_errors_have_the_real_shapes() {
    let h = sandbox(SandboxConfig::default()).await;
    let f = Folio::login(&h).await;

    let (s, b) = f
        .post_user(json!({"username": "a", "personal": {"firstName": "A"}}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let e = &parse(&b)["errors"][0];
    assert_eq!(e["message"], "must not be null");
    assert_eq!(e["code"], "jakarta.validation.constraints.NotNull.message");
    assert_eq!(
        e["parameters"][0],
        json!({"key": "personal.lastName", "value": "null"})
    );

    let (s, b) = f.post_user(json!({"patronGroup": "staff"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let e = &parse(&b)["errors"][0];
    assert!(e["message"]
        .as_str()
        .is_some_and(|m| m.starts_with("must match \"^[a-fA-F0-9]{8}")));
    assert_eq!(e["parameters"][0]["key"], "patronGroup");

    let (s, b) = f.post_user(json!({"foo": 1})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(parse(&b)["errors"][0]["message"]
        .as_str()
        .is_some_and(|m| m.starts_with("Unrecognized field \"foo\"")));

    let (s, b) = f
        .post_user(json!({"personal": {"lastName": "X", "addresses": [{"city": "Y"}]}}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        parse(&b)["errors"][0]["parameters"][0]["key"],
        "personal.addresses[0].addressTypeId"
    );

    let r = f
        .req(reqwest::Method::POST, "/users")
        .header("content-type", "application/json")
        .body("{\"username\": ")
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("text/plain")));

    let missing = "bdc2b6d4-5ceb-4a12-ab46-249b9a684700";
    let (s, b) = f.post_user(json!({"patronGroup": missing})).await;
    assert_eq!(
        (s, b.as_str()),
        (
            StatusCode::BAD_REQUEST,
            format!("Cannot add {missing}. Patron group not found").as_str()
        )
    );

    let (s, b) = f
        .post_user(
            json!({"personal": {"lastName": "X", "addresses": [{"addressTypeId": missing}]}}),
        )
        .await;
    assert_eq!(
        (s, b.as_str()),
        (
            StatusCode::BAD_REQUEST,
            "You cannot add addresses with non-existent address types"
        )
    );
    let (s, b) = f
        .post_user(json!({"personal": {"lastName": "X", "addresses": [{"addressTypeId": HOME}, {"addressTypeId": HOME}]}}))
        .await;
    assert_eq!(
        (s, b.as_str()),
        (
            StatusCode::BAD_REQUEST,
            "Users are limited to one address per addresstype"
        )
    );
    let (s, _) = f
        .post_user(json!({"personal": {"lastName": "X", "addresses": [{"addressTypeId": HOME}, {"addressTypeId": WORK}]}}))
        .await;
    assert_eq!(s, StatusCode::CREATED);

    // A body over the limit is refused and the server keeps serving.
    let big = "x".repeat(9 * 1024 * 1024);
    let r = f
        .req(reqwest::Method::POST, "/users")
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await;
    if let Ok(r) = r {
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
    let (s, _) = f.get_json("/users").await;
    assert_eq!(s, StatusCode::OK);
    let _ = h.shutdown().await;
}

#[tokio::test]
async fn uniqueness_ignores_case_and_accents_with_post_422_and_put_400() {
    let h = sandbox(SandboxConfig::default()).await;
    let f = Folio::login(&h).await;
    let (s, b) = f
        .post_user(json!({"username": "José", "barcode": "B1", "externalSystemId": "EXT-1"}))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let first = parse(&b);

    let (s, b) = f.post_user(json!({"username": "JOSE"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let e = &parse(&b)["errors"][0];
    assert_eq!(e["message"], "User with this username already exists");
    assert_eq!(
        e["parameters"][0],
        json!({"key": "username", "value": "JOSE"})
    );

    let (s, b) = f
        .post_user(json!({"username": "other", "barcode": "b1"}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        parse(&b)["errors"][0]["message"],
        "This barcode has already been taken"
    );

    let (s, b) = f
        .post_user(json!({"username": "other", "externalSystemId": "ext-1"}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(parse(&b)["errors"][0]["message"]
        .as_str()
        .is_some_and(|m| m.contains("externalSystemId") && m.contains("already exists")));

    let (s, b) = f
        .post_user(json!({"id": first["id"], "username": "third"}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        parse(&b)["errors"][0]["message"],
        "User with this id already exists"
    );

    // mod-users quirk: a duplicate username containing "id" is reported as a duplicate id.
    assert_eq!(
        f.post_user(json!({"username": "david"})).await.0,
        StatusCode::CREATED
    );
    let (s, b) = f.post_user(json!({"username": "David"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        parse(&b)["errors"][0]["message"],
        "User with this id already exists"
    );

    // Missing values never collide.
    assert_eq!(
        f.post_user(json!({"personal": {"lastName": "A"}})).await.0,
        StatusCode::CREATED
    );
    assert_eq!(
        f.post_user(json!({"personal": {"lastName": "B"}})).await.0,
        StatusCode::CREATED
    );

    // PUT duplicates → 400 text.
    let (_, b) = f.post_user(json!({"username": "second"})).await;
    let id2 = parse(&b)["id"].as_str().unwrap_or_default().to_string();
    let r = f
        .req(reqwest::Method::PUT, &format!("/users/{id2}"))
        .json(&json!({"id": id2, "username": "jose"}))
        .send()
        .await
        .expect("put");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        r.text().await.unwrap_or_default(),
        "User with this username already exists"
    );
    let r = f
        .req(reqwest::Method::PUT, &format!("/users/{id2}"))
        .json(&json!({"id": id2, "username": "second", "barcode": "B1"}))
        .send()
        .await
        .expect("put");
    assert_eq!(
        r.text().await.unwrap_or_default(),
        "This barcode has already been taken"
    );
    let _ = h.shutdown().await;
}

#[tokio::test]
async fn cql_queries_and_paging() {
    let h = sandbox(SandboxConfig::default()).await;
    let f = Folio::login(&h).await;
    for i in 0..25 {
        let (s, _) = f
            .post_user(
                json!({"username": format!("u{i:02}"), "externalSystemId": format!("e{i}"),
            "active": i % 2 == 0, "personal": {"lastName": format!("Name \"{i}\"")}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let (s, b) = f.get_json("/users").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        b["users"].as_array().map(Vec::len),
        Some(10),
        "default limit is 10"
    );
    assert_eq!(b["totalRecords"], 25);

    let q = |query: &str, extra: &str| {
        format!(
            "/users?query={}{extra}",
            url::form_urlencoded::byte_serialize(query.as_bytes()).collect::<String>()
        )
    };
    let (_, b) = f
        .get_json(&q(
            r#"externalSystemId==("e1" or "E2" or "nope")"#,
            "&limit=100",
        ))
        .await;
    assert_eq!(b["totalRecords"], 2);
    let (_, b) = f.get_json(&q("externalSystemId==e3", "")).await;
    assert_eq!(b["users"][0]["username"], "u03");
    let (_, b) = f
        .get_json(&q(
            r#"(username=="u01" or username=="u02") and active==true"#,
            "",
        ))
        .await;
    assert_eq!(b["totalRecords"], 1);
    let (_, b) = f
        .get_json(&q(r#"personal.lastName=="Name \"7\"""#, ""))
        .await;
    assert_eq!(b["users"][0]["username"], "u07");
    let (_, b) = f.get_json(&q("username==u1*", "&limit=0")).await;
    assert_eq!(b["totalRecords"], 10);
    assert_eq!(b["users"].as_array().map(Vec::len), Some(0));

    // id paging covers everything exactly once, in id order.
    let mut seen = Vec::new();
    let mut last: Option<String> = None;
    loop {
        let query = match &last {
            None => "cql.allRecords=1 sortBy id".to_string(),
            Some(l) => format!(r#"id>"{l}" and cql.allRecords=1 sortBy id"#),
        };
        let (_, b) = f.get_json(&q(&query, "&limit=7")).await;
        let page: Vec<String> = b["users"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter_map(|u| u["id"].as_str().map(str::to_string))
            .collect();
        seen.extend(page.iter().cloned());
        if page.len() < 7 {
            break;
        }
        last = page.last().cloned();
    }
    assert_eq!(seen.len(), 25);
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted);

    // Offset paging.
    let (_, b) = f
        .get_json(&q(
            "cql.allRecords=1 sortBy username/sort.descending",
            "&offset=20&limit=10",
        ))
        .await;
    assert_eq!(b["users"].as_array().map(Vec::len), Some(5));
    assert_eq!(b["users"][0]["username"], "u04");

    // Bad CQL and bad limit → 400 text.
    let r = f
        .req(reqwest::Method::GET, &q(r#"username=="unterminated"#, ""))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r
        .text()
        .await
        .unwrap_or_default()
        .starts_with("CQL Parsing Error for"));
    let r = f
        .req(reqwest::Method::GET, "/users?limit=abc")
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let _ = h.shutdown().await;
}

#[tokio::test]
async fn reference_data_and_peer_endpoints() {
    let h = sandbox(SandboxConfig::default()).await;
    let f = Folio::login(&h).await;
    let (s, b) = f
        .get_json("/groups?limit=1000&query=cql.allRecords%3D1%20sortBy%20id")
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["totalRecords"], 4);
    assert!(b["usergroups"]
        .as_array()
        .is_some_and(|g| g.iter().any(|x| x["group"] == "undergrad")));
    let (_, b) = f.get_json("/addresstypes?limit=100").await;
    assert_eq!(b["addressTypes"].as_array().map(Vec::len), Some(6));
    let (_, b) = f.get_json("/departments").await;
    assert!(b["departments"].is_array());
    let (_, b) = f.get_json("/service-points").await;
    assert_eq!(b["servicepoints"][0]["code"], "cd1");
    // A "multiple" interface without X-Okapi-Module-Id: no module handles it, Okapi's 404
    // (okapi-core `util/ModuleCache.java` lines 190-195, `managers/ProxyService.java` 242-244).
    let (s, _) = f.get_json("/custom-fields").await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "custom-fields needs X-Okapi-Module-Id"
    );
    let r = f
        .req(reqwest::Method::GET, "/custom-fields")
        .header("x-okapi-module-id", "mod-users-19.6.0")
        .send()
        .await
        .expect("g");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.json::<Value>().await.expect("json")["customFields"].is_array());
    let (s, b) = f.get_json("/_/proxy/tenants/diku/modules").await;
    assert_eq!(s, StatusCode::OK);
    assert!(b.as_array().is_some_and(|m| m.iter().any(|x| x["id"]
        .as_str()
        .is_some_and(|i| i.starts_with("mod-users-")))));
    let (s, _) = f.get_json("/consortia").await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Group uniqueness (422, RMB wording) and request preferences round trip.
    let r = f
        .req(reqwest::Method::POST, "/groups")
        .json(&json!({"group": "STAFF"}))
        .send()
        .await
        .expect("p");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let uid = "22222222-2222-4222-8222-222222222222";
    let r = f
        .req(
            reqwest::Method::POST,
            "/request-preference-storage/request-preference",
        )
        .json(&json!({"userId": uid, "holdShelf": true, "delivery": false}))
        .send()
        .await
        .expect("p");
    assert_eq!(r.status(), StatusCode::CREATED);
    let (_, b) = f
        .get_json(&format!(
            "/request-preference-storage/request-preference?query=userId=={uid}"
        ))
        .await;
    assert_eq!(b["requestPreferences"].as_array().map(Vec::len), Some(1));
    let r = f
        .req(reqwest::Method::POST, "/perms/users")
        .json(&json!({"userId": uid, "permissions": []}))
        .send()
        .await
        .expect("p");
    assert_eq!(r.status(), StatusCode::CREATED);
    let (_, b) = f
        .get_json(&format!("/perms/users?query=userId=={uid}"))
        .await;
    assert_eq!(b["permissionUsers"].as_array().map(Vec::len), Some(1));
    let _ = h.shutdown().await;
}

#[tokio::test]
async fn stats_count_routes_and_state_persists_across_restarts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = SandboxConfig::builtin(&dir.path().join(".patron-etl"));
    let path = config.state.clone().expect("state path");
    assert!(path.ends_with(".patron-etl/sandbox/state.json"));
    let h = sandbox(config.clone()).await;
    let f = Folio::login(&h).await;
    let (s, b) = f.post_user(json!({"username": "persisted"})).await;
    assert_eq!(s, StatusCode::CREATED);
    let id = parse(&b)["id"].as_str().unwrap_or_default().to_string();
    let stats: Value =
        f.c.get(format!("{}/_sandbox/stats", h.base_url()))
            .send()
            .await
            .expect("s")
            .json()
            .await
            .expect("j");
    assert_eq!(stats["requests"]["POST /folio/users"], 1);
    assert_eq!(stats["requests"]["POST /folio/authn/login-with-expiry"], 1);
    assert_eq!(stats["statuses"]["201"], 2);
    h.shutdown().await.expect("shutdown");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    let h = sandbox(config).await;
    let f = Folio::login(&h).await;
    let (s, b) = f.get_json(&format!("/users/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["username"], "persisted");
    // Reset brings back the seeded state.
    let r =
        f.c.post(format!("{}/_sandbox/reset", h.base_url()))
            .send()
            .await
            .expect("reset");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let f = Folio::login(&h).await;
    let (s, _) = f.get_json(&format!("/users/{id}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    h.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn ids_come_back_lower_case_and_keyset_paging_matches_a_full_scan() {
    let h = sandbox(SandboxConfig::default()).await;
    let f = Folio::login(&h).await;
    // A client-chosen id in upper case is stored as FOLIO's uuid column keeps it: lower case.
    let upper = "0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D";
    let (s, body) = f
        .post_user(json!({"id": upper, "username": "upper", "personal": {"lastName": "Up"}}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert_eq!(parse(&body)["id"], json!(upper.to_lowercase()));
    let (s, u) = f.get_json(&format!("/users/{upper}")).await;
    assert_eq!(s, StatusCode::OK, "lookups by id ignore case");
    assert_eq!(u["username"], json!("upper"));
    for i in 0..40 {
        let (s, body) = f
            .post_user(json!({"username": format!("page{i}"), "active": i % 3 != 0}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
    }
    // Page through `active==true` users by id, 7 at a time, without totals (the walked path) …
    let mut walked: Vec<String> = Vec::new();
    let mut last: Option<String> = None;
    loop {
        let q = match &last {
            None => "active==true sortBy id".to_string(),
            Some(id) => format!("id>\"{id}\" and active==true sortBy id"),
        };
        let (s, page) = f
            .get_json(&format!(
                "/users?limit=7&totalRecords=none&query={}",
                url::form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>()
            ))
            .await;
        assert_eq!(s, StatusCode::OK);
        let users = page["users"].as_array().cloned().unwrap_or_default();
        walked.extend(
            users
                .iter()
                .filter_map(|u| u["id"].as_str().map(str::to_string)),
        );
        match users.last().and_then(|u| u["id"].as_str()) {
            Some(id) if users.len() == 7 => last = Some(id.to_string()),
            _ => break,
        }
    }
    // … and the same in one scanned page.
    let q = "active==true sortBy id";
    let (_, all) = f
        .get_json(&format!(
            "/users?limit=1000&query={}",
            url::form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>()
        ))
        .await;
    let scanned: Vec<String> = all["users"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|u| u["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        walked.len(),
        all["totalRecords"].as_u64().unwrap_or(0) as usize
    );
    assert_eq!(walked, scanned);
    assert!(walked.len() >= 26, "{}", walked.len());
}

/// Contract: a request line over 4096 bytes is answered 414 with an empty body (Vert.x
/// `HttpServerOptions.DEFAULT_MAX_INITIAL_LINE_LENGTH` = 4096, eclipse-vertx/vert.x
/// `vertx-core/src/main/java/io/vertx/core/http/HttpServerOptions.java` line 82;
/// `HttpServerRequest.java` lines 61-76: a `TooLongHttpLineException` → `REQUEST_URI_TOO_LONG`);
/// 4096 exactly is read. The limit is configurable.
#[tokio::test]
async fn request_lines_over_4096_bytes_get_414() {
    let h = sandbox(SandboxConfig::default()).await;
    let f = Folio::login(&h).await;
    // "GET /users?query=username==x… HTTP/1.1": pad the term to an exact line length.
    let line_for = |n: usize| {
        let fixed = "GET /users?query=username==".len() + " HTTP/1.1".len();
        format!("/users?query=username=={}", "x".repeat(n - fixed))
    };
    let r = f
        .req(reqwest::Method::GET, &line_for(4096))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), StatusCode::OK);
    let r = f
        .req(reqwest::Method::GET, &line_for(4097))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), StatusCode::URI_TOO_LONG);
    assert_eq!(r.text().await.unwrap_or_default(), "", "empty body");
    let _ = h.shutdown().await;

    let h = sandbox(SandboxConfig {
        folio_max_request_line: 100,
        ..SandboxConfig::default()
    })
    .await;
    let f = Folio::login(&h).await;
    let r = f
        .req(reqwest::Method::GET, &line_for(101))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), StatusCode::URI_TOO_LONG);
    let r = f
        .req(reqwest::Method::GET, &line_for(100))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), StatusCode::OK);
    let _ = h.shutdown().await;
}

/// Contract: custom-field values are validated against the definitions as mod-users does
/// (`UsersAPI.java` lines 296-319, folio-custom-fields `ValidationServiceImpl` and the
/// `validate/value/` validators): 422 for an unknown refId, a select given its label instead of
/// the option id, a checkbox given the string "true", a short text over 150 characters.
#[tokio::test]
async fn custom_field_values_are_validated_against_their_definitions() {
    let h = sandbox(SandboxConfig::default()).await;
    let f = Folio::login(&h).await;
    f.define_custom_field(json!({"name": "Class level", "refId": "classLevel",
        "type": "SINGLE_SELECT_DROPDOWN", "entityType": "user",
        "selectField": {"multiSelect": false, "options": {"values": [
            {"id": "opt_0", "value": "Freshman"}, {"id": "opt_1", "value": "Senior"}]}}}))
        .await;
    f.define_custom_field(json!({"name": "Alumni", "refId": "alumni",
        "type": "SINGLE_CHECKBOX", "entityType": "user"}))
        .await;
    f.define_custom_field(
        json!({"name": "Note", "refId": "note", "type": "TEXTBOX_SHORT",
        "entityType": "user", "textField": {"fieldFormat": "TEXT"}}),
    )
    .await;
    let post = |n: u32, cf: Value| {
        json!({"username": format!("cf{n}"), "active": true, "personal": {"lastName": "X"},
            "customFields": cf})
    };
    let error = |body: &str| {
        let v = parse(body);
        (
            v["errors"][0]["message"].as_str().unwrap_or("").to_string(),
            v["errors"][0]["parameters"][0]["key"]
                .as_str()
                .unwrap_or("")
                .to_string(),
            v["errors"][0]["parameters"][0]["value"]
                .as_str()
                .unwrap_or("")
                .to_string(),
        )
    };
    let (s, b) = f.post_user(post(1, json!({"nosuch": "x"}))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(
        error(&b),
        (
            "Custom field with refId nosuch is not found".into(),
            "customFields".into(),
            "nosuch".into()
        )
    );
    let (s, b) = f.post_user(post(2, json!({"classLevel": "Senior"}))).await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a label, not the option id: {b}"
    );
    let (m, k, v) = error(&b);
    assert!(
        m.starts_with("Field classLevel can only have following values: "),
        "{m}"
    );
    assert_eq!((k.as_str(), v.as_str()), ("classLevel", "\"Senior\""));
    let (s, b) = f.post_user(post(3, json!({"alumni": "true"}))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(
        error(&b).0,
        "Field with type SINGLE_CHECKBOX must be a boolean"
    );
    let (s, b) = f.post_user(post(4, json!({"note": "x".repeat(151)}))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(error(&b).0, "Maximum length of the value is 150");
    let (s, b) = f
        .post_user(post(
            5,
            json!({"classLevel": "opt_1", "alumni": true, "note": "ok", "x": ""}),
        ))
        .await;
    assert_eq!(
        s,
        StatusCode::CREATED,
        "valid values, empty ones dropped first: {b}"
    );
    let _ = h.shutdown().await;
}

/// Contract: mod-authtoken `FilterApi.java` lines 321-341: a user lacking a required permission
/// gets 403 text "Access for user 'U' (ID) requires permission: X"; with no token, 400 "Token
/// missing, access requires permission: X". Permission names from mod-users'
/// `ModuleDescriptor-template.json`.
#[tokio::test]
async fn a_missing_permission_is_403_naming_it() {
    let h = sandbox(SandboxConfig {
        folio_denied_permissions: vec!["users.item.post".into()],
        ..SandboxConfig::default()
    })
    .await;
    let f = Folio::login(&h).await;
    let r = f
        .req(reqwest::Method::POST, "/users")
        .json(&json!({"username": "x"}))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let body = r.text().await.unwrap_or_default();
    assert!(
        body.starts_with("Access for user 'diku_admin' (")
            && body.ends_with(") requires permission: users.item.post"),
        "{body}"
    );
    let (s, _) = f.get_json("/users").await;
    assert_eq!(s, StatusCode::OK, "other permissions are granted");
    let r =
        f.c.get(format!("{}/users", f.base))
            .header("x-okapi-tenant", "diku")
            .send()
            .await
            .expect("get");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        r.text().await.unwrap_or_default(),
        "Token missing, access requires permission: users.collection.get"
    );
    let _ = h.shutdown().await;
}

/// Contract: `GET /users` answers `totalRecords` even when asked `totalRecords=none` (mod-users
/// `UsersAPI.getUsers` ignores the parameter: `UsersAPI.java` lines 190-236, RMB `CQLWrapper`
/// default "auto"); a query CQL2PgJSON cannot translate is 400 text `"{message}: {query}"`
/// (RMB `PgUtil.streamGet`, PgUtil.java lines 744-755): a bare term (no serverChoiceIndexes,
/// CQL2PgJSON.java lines 522-525) and `id>"not-a-uuid"` (CQL2PgJSON.pgId).
#[tokio::test]
async fn total_records_always_and_translation_errors_are_400_text() {
    let h = sandbox(SandboxConfig::default()).await;
    let f = Folio::login(&h).await;
    let (s, b) = f
        .get_json("/users?query=cql.allRecords%3D1&totalRecords=none")
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(b["totalRecords"].is_u64(), "{b}");
    for (q, msg) in [
        (
            "jnunez",
            "cql.serverChoice requested, but no serverChoiceIndexes defined.: jnunez",
        ),
        (
            r#"id>"not-a-uuid""#,
            r#"CQL: Invalid UUID after 'id>': not-a-uuid: id>"not-a-uuid""#,
        ),
    ] {
        let enc: String = url::form_urlencoded::byte_serialize(q.as_bytes()).collect();
        let r = f
            .req(reqwest::Method::GET, &format!("/users?query={enc}"))
            .send()
            .await
            .expect("get");
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{q}");
        assert_eq!(r.text().await.unwrap_or_default(), msg);
    }
    let _ = h.shutdown().await;
}

/// Contract: mod-login `LoginAPI.java`: a refused refresh is one 422 "Authorization server
/// unable to process token refresh request" (lines 437-449, constants 127-128); logout without
/// a cookie is logout-all and answers 204 with both cookies expired (lines 346-354, 363-401).
#[tokio::test]
async fn refresh_422_message_and_logout_without_cookie_is_204() {
    let h = sandbox(SandboxConfig::default()).await;
    let c = Client::new();
    let base = h.folio_url();
    let r = c
        .post(format!("{base}/authn/refresh"))
        .header("x-okapi-tenant", "diku")
        .header("cookie", "folioRefreshToken=not-a-token")
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.json::<Value>().await.expect("json")["errors"][0]["message"],
        "Authorization server unable to process token refresh request"
    );
    let r = c
        .post(format!("{base}/authn/logout"))
        .header("x-okapi-tenant", "diku")
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(cookie_value(&r, "folioAccessToken").is_some_and(|v| v.is_empty()));
    let _ = h.shutdown().await;
}

/// Contract: RMB `PgUtil.getById` (PgUtil.java lines 1059-1073, 73-76): `GET /users/{id}` of an
/// unknown id is 404 "Not found", of a malformed id 404 "Invalid UUID format of id, …";
/// mod-users `deleteUsersByUserId` (UsersAPI.java lines 475, 487) answers 404 with the id.
#[tokio::test]
async fn not_found_bodies() {
    let h = sandbox(SandboxConfig::default()).await;
    let f = Folio::login(&h).await;
    let unknown = "22222222-2222-4222-8222-222222222222";
    let body =
        |r: reqwest::Response| async move { (r.status(), r.text().await.unwrap_or_default()) };
    let (s, b) = body(
        f.req(reqwest::Method::GET, &format!("/users/{unknown}"))
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_eq!((s, b.as_str()), (StatusCode::NOT_FOUND, "Not found"));
    let (s, b) = body(
        f.req(reqwest::Method::GET, "/users/not-a-uuid")
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(b.starts_with("Invalid UUID format of id, should be"), "{b}");
    let (s, b) = body(
        f.req(reqwest::Method::DELETE, &format!("/users/{unknown}"))
            .send()
            .await
            .expect("del"),
    )
    .await;
    assert_eq!((s, b.as_str()), (StatusCode::NOT_FOUND, unknown));
    let _ = h.shutdown().await;
}
