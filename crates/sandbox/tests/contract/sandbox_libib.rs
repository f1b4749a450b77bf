//! Libib emulator contract tests over a real socket: auth headers, pacing (429), paging,
//! query-string create with barcode assignment, unique e-mail, partial update, delete with
//! active checkouts, restore.

use std::time::Duration;

use patron_sandbox::{start, SandboxConfig, SandboxHandle};
use reqwest::{Client, Method, StatusCode};
use serde_json::Value;

const INTERVAL: Duration = Duration::from_millis(40);

struct Libib {
    c: Client,
    h: SandboxHandle,
}

impl Libib {
    async fn new() -> Libib {
        let h = start(SandboxConfig {
            libib_interval: INTERVAL,
            ..SandboxConfig::default()
        })
        .await
        .expect("sandbox starts");
        Libib {
            c: Client::new(),
            h,
        }
    }
    /// A paced request (waits out the interval first).
    async fn call(&self, m: Method, path: &str, query: &[(&str, &str)]) -> (StatusCode, String) {
        tokio::time::sleep(INTERVAL + Duration::from_millis(10)).await;
        let r = self
            .c
            .request(m, format!("{}{path}", self.h.libib_url()))
            .query(query)
            .header("x-api-key", "sandbox-libib-key")
            .header("x-api-user", "sandbox-user")
            .send()
            .await
            .expect("request");
        let s = r.status();
        (s, r.text().await.unwrap_or_default())
    }
}

fn parse(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or(Value::Null)
}

fn ean13_ok(b: &str) -> bool {
    let d: Vec<u32> = b.chars().filter_map(|c| c.to_digit(10)).collect();
    if d.len() != 13 {
        return false;
    }
    let sum: u32 = d[..12]
        .iter()
        .enumerate()
        .map(|(i, x)| if i % 2 == 0 { *x } else { x * 3 })
        .sum();
    (10 - sum % 10) % 10 == d[12]
}

#[tokio::test]
async fn auth_and_pacing() {
    let l = Libib::new().await;
    let url = format!("{}/patrons", l.h.libib_url());
    let r =
        l.c.get(&url)
            .header("x-api-key", "sandbox-libib-key")
            .send()
            .await
            .expect("req");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r =
        l.c.get(&url)
            .header("x-api-key", "wrong")
            .header("x-api-user", "sandbox-user")
            .send()
            .await
            .expect("req");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    let get = || {
        l.c.get(&url)
            .header("x-api-key", "sandbox-libib-key")
            .header("x-api-user", "sandbox-user")
            .send()
    };
    assert_eq!(get().await.expect("req").status(), StatusCode::OK);
    let r = get().await.expect("req");
    assert_eq!(
        r.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "a second call inside the interval is refused"
    );
    assert!(r.headers().get("retry-after").is_some());
    tokio::time::sleep(INTERVAL + Duration::from_millis(10)).await;
    assert_eq!(get().await.expect("req").status(), StatusCode::OK);
    let _ = l.h.shutdown().await;
}

#[tokio::test]
async fn real_pacing_is_one_request_per_two_seconds_by_default() {
    let h = start(SandboxConfig::default()).await.expect("start");
    let c = Client::new();
    let url = format!("{}/patrons", h.libib_url());
    let get = || {
        c.get(&url)
            .header("x-api-key", "sandbox-libib-key")
            .header("x-api-user", "sandbox-user")
            .send()
    };
    assert_eq!(get().await.expect("req").status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        get().await.expect("req").status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    let _ = h.shutdown().await;
}

#[tokio::test]
async fn create_assigns_barcodes_and_enforces_unique_email() {
    let l = Libib::new().await;
    let (s, b) = l
        .call(
            Method::POST,
            "/patrons",
            &[
                ("first_name", "Ann"),
                ("last_name", "Lee"),
                ("email", "ann@x.org"),
                ("password", "secret"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let p = parse(&b);
    let bc = p["barcode"].as_str().expect("barcode").to_string();
    assert_eq!(bc, "2020000000013");
    assert!(ean13_ok(&bc));
    assert_eq!(p["country"], "US");
    assert!(p.get("password").is_none(), "password is never returned");
    assert_eq!(p.as_object().map(|o| o.len()), Some(15));

    let (s, _) = l
        .call(Method::POST, "/patrons", &[("first_name", "Ann")])
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "last_name required");
    let (s, _) = l
        .call(
            Method::POST,
            "/patrons",
            &[
                ("first_name", "B"),
                ("last_name", "C"),
                ("email", "ANN@x.org"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "email unique");
    let (s, b) = l
        .call(
            Method::POST,
            "/patrons",
            &[("first_name", "B"), ("last_name", "C")],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let second = parse(&b)["barcode"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(second, "2020000000020");

    // Lookup by barcode and by e-mail.
    let (s, b) = l.call(Method::GET, &format!("/patrons/{bc}"), &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(parse(&b)["email"], "ann@x.org");
    let (_, b) = l.call(Method::GET, "/patrons/ann@x.org", &[]).await;
    assert_eq!(parse(&b)["barcode"], bc.as_str());
    let (s, b) = l.call(Method::GET, "/patrons/nobody@x.org", &[]).await;
    assert_eq!(
        s,
        StatusCode::OK,
        "Libib answers 200 with empty fields for an unknown id"
    );
    assert!(parse(&b)["barcode"].is_null());
    let _ = l.h.shutdown().await;
}

#[tokio::test]
async fn paging_is_fifty_per_page() {
    // Populate directly through create with no pacing wait: use a zero interval sandbox.
    let h = start(SandboxConfig {
        libib_interval: Duration::ZERO,
        ..SandboxConfig::default()
    })
    .await
    .expect("start");
    let c = Client::new();
    for i in 0..120 {
        let r = c
            .post(format!("{}/patrons", h.libib_url()))
            .query(&[
                ("first_name", format!("F{i}")),
                ("last_name", "L".to_string()),
            ])
            .header("x-api-key", "sandbox-libib-key")
            .header("x-api-user", "sandbox-user")
            .send()
            .await
            .expect("req");
        assert_eq!(r.status(), StatusCode::OK);
    }
    let mut all = Vec::new();
    for page in 1..=4 {
        let v: Value = c
            .get(format!("{}/patrons?page={page}", h.libib_url()))
            .header("x-api-key", "sandbox-libib-key")
            .header("x-api-user", "sandbox-user")
            .send()
            .await
            .expect("req")
            .json()
            .await
            .expect("json");
        assert_eq!(v["total"], 120);
        assert_eq!(v["pages"], 3);
        assert_eq!(v["max_per_page"], 50);
        let n = v["patrons"].as_array().map(Vec::len).unwrap_or(0);
        assert_eq!(n, [50, 50, 20, 0][page - 1]);
        all.extend(v["patrons"].as_array().cloned().unwrap_or_default());
    }
    let mut codes: Vec<String> = all
        .iter()
        .filter_map(|p| p["barcode"].as_str().map(str::to_string))
        .collect();
    codes.dedup();
    assert_eq!(codes.len(), 120);
    let _ = h.shutdown().await;
}

#[tokio::test]
async fn update_delete_and_restore() {
    let l = Libib::new().await;
    let (_, b) = l
        .call(
            Method::POST,
            "/patrons",
            &[
                ("first_name", "Ann"),
                ("last_name", "Lee"),
                ("email", "ann@x.org"),
                ("phone", "555"),
            ],
        )
        .await;
    let bc = parse(&b)["barcode"]
        .as_str()
        .unwrap_or_default()
        .to_string();

    // Partial update: only given fields change; an empty value clears.
    let (s, b) = l
        .call(
            Method::POST,
            &format!("/patrons/{bc}"),
            &[("city", "Springfield"), ("phone", "")],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let p = parse(&b);
    assert_eq!(p["city"], "Springfield");
    assert!(p["phone"].is_null());
    assert_eq!(p["first_name"], "Ann");
    let (s, _) = l
        .call(
            Method::POST,
            &format!("/patrons/{bc}"),
            &[("first_name", "")],
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "first_name can not be emptied");

    // Delete is refused while checkouts are active.
    let r =
        l.c.post(format!(
            "{}/_sandbox/libib/checkouts/{bc}?count=1",
            l.h.base_url()
        ))
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (s, _) = l.call(Method::DELETE, &format!("/patrons/{bc}"), &[]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let _ =
        l.c.post(format!(
            "{}/_sandbox/libib/checkouts/{bc}?count=0",
            l.h.base_url()
        ))
        .send()
        .await;
    let (s, b) = l.call(Method::DELETE, &format!("/patrons/{bc}"), &[]).await;
    assert_eq!((s, b.as_str()), (StatusCode::NO_CONTENT, ""));
    let (_, b) = l.call(Method::GET, "/patrons", &[]).await;
    assert_eq!(parse(&b)["total"], 0);

    // Restore within 30 days brings it back with its barcode.
    let (s, b) = l.call(Method::PATCH, &format!("/patrons/{bc}"), &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(parse(&b)["barcode"], bc.as_str());
    let (_, b) = l.call(Method::GET, "/patrons", &[]).await;
    assert_eq!(parse(&b)["total"], 1);

    // Restore is refused once the e-mail was re-added as a new patron.
    let (s, _) = l.call(Method::DELETE, "/patrons/ann@x.org", &[]).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = l
        .call(
            Method::POST,
            "/patrons",
            &[
                ("first_name", "New"),
                ("last_name", "Ann"),
                ("email", "ann@x.org"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = l.call(Method::PATCH, &format!("/patrons/{bc}"), &[]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let _ = l.h.shutdown().await;
}

/// Contract: illiad-libib-api.md §1.1 (`GET /` "test the connection and confirm access",
/// `GET /accounts` `{"accounts":[{organization, api_id, email, first_name, last_name,
/// manager_seats, url, authorized}]}`) and §1.5 (`GET /managers` `{"total", "managers":[…]}`),
/// all behind the same headers and pacing.
#[tokio::test]
async fn root_accounts_and_managers() {
    let l = Libib::new().await;
    let (s, _) = l.call(Method::GET, "/", &[]).await;
    assert_eq!(s, StatusCode::OK);
    let (s, b) = l.call(Method::GET, "/accounts", &[]).await;
    assert_eq!(s, StatusCode::OK);
    let a = &parse(&b)["accounts"][0];
    for k in [
        "organization",
        "api_id",
        "email",
        "first_name",
        "last_name",
        "manager_seats",
        "url",
        "authorized",
    ] {
        assert!(a.get(k).is_some(), "{k} in {b}");
    }
    let (s, b) = l.call(Method::GET, "/managers", &[]).await;
    assert_eq!(s, StatusCode::OK);
    let m = parse(&b);
    assert_eq!(m["total"], 1);
    assert!(m["managers"][0]["role"].is_string());
    let r =
        l.c.get(format!("{}/accounts", l.h.libib_url()))
            .send()
            .await
            .expect("req");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "headers required");
}
