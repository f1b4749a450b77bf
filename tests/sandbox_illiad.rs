//! ILLiad emulator contract tests over a real socket: ApiKey, lookups (two different 404s),
//! create with defaults and case-insensitive keys, ModelState errors, the empty 400 for a missing
//! NVTGC, no update route, SecurePlatformVersion.

use patron_etl::sandbox::{start, SandboxConfig, SandboxHandle};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

async fn sandbox() -> SandboxHandle {
    start(SandboxConfig::default())
        .await
        .expect("sandbox starts")
}

fn req(c: &Client, m: reqwest::Method, url: String) -> reqwest::RequestBuilder {
    c.request(m, url)
        .header("ApiKey", "sandbox-illiad-key")
        .header("Accept", "application/json; version=1")
}

#[tokio::test]
async fn api_key_is_required() {
    let h = sandbox().await;
    let c = Client::new();
    let r = c
        .get(format!("{}/Users/x", h.illiad_url()))
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = c
        .get(format!("{}/Users/x", h.illiad_url()))
        .header("ApiKey", "bad")
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = req(
        &c,
        reqwest::Method::GET,
        format!("{}/SystemInfo/SecurePlatformVersion", h.illiad_url()),
    )
    .send()
    .await
    .expect("req");
    assert_eq!(r.status(), StatusCode::OK);
    let _ = h.shutdown().await;
}

#[tokio::test]
async fn create_then_lookup() {
    let h = sandbox().await;
    let c = Client::new();
    let users = format!("{}/Users", h.illiad_url());
    // Atlas's own example casing: "Username", "EmailAddress".
    let r = req(&c, reqwest::Method::POST, users.clone())
        .json(&json!({"Username": "bdoe", "ExternalUserId": "Z20181116", "FirstName": "Bailey", "LastName": "Doe",
            "EmailAddress": "bailey@test.com", "nvtgc": "ILL", "LoanDeliveryMethod": "mail to address",
            "PlainTextPassword": "pw", "Web": true}))
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), StatusCode::OK);
    let u: Value = r.json().await.expect("json");
    assert_eq!(u["UserName"], "bdoe");
    assert_eq!(u["EMailAddress"], "bailey@test.com");
    assert_eq!(u["Cleared"], "No");
    assert_eq!(u["NotificationMethod"], "Electronic");
    assert_eq!(u["DeliveryMethod"], "Hold for Pickup");
    assert_eq!(u["LoanDeliveryMethod"], "Mail to Address");
    assert_eq!(u["ExternalUserId"], "Z20181116");
    assert_eq!(u["Web"], true);
    assert!(u.get("PlainTextPassword").is_none());
    assert!(u["LastChangedDate"]
        .as_str()
        .is_some_and(|d| !d.ends_with('Z')));

    // Lookups: username (case-insensitive) and external id.
    let r = req(&c, reqwest::Method::GET, format!("{users}/BDOE"))
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), StatusCode::OK);
    let r = req(
        &c,
        reqwest::Method::GET,
        format!("{users}/ExternalUserId/Z20181116"),
    )
    .send()
    .await
    .expect("req");
    assert_eq!(r.json::<Value>().await.expect("json")["UserName"], "bdoe");

    // Two different 404s.
    let r = req(&c, reqwest::Method::GET, format!("{users}/nobody"))
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        r.json::<Value>().await.expect("json")["Message"],
        "User nobody was not found."
    );
    let r = req(&c, reqwest::Method::POST, users.clone())
        .json(&json!({"UserName": "bdoe2", "ExternalUserId": "Z20181116", "NVTGC": "ILL"}))
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), StatusCode::OK);
    let r = req(
        &c,
        reqwest::Method::GET,
        format!("{users}/ExternalUserId/Z20181116"),
    )
    .send()
    .await
    .expect("req");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        r.json::<Value>().await.expect("json")["Message"],
        "Could not find unique user with external user id Z20181116."
    );
    let _ = h.shutdown().await;
}

#[tokio::test]
async fn create_errors() {
    let h = sandbox().await;
    let c = Client::new();
    let users = format!("{}/Users", h.illiad_url());
    let post = |body: Value| {
        req(&c, reqwest::Method::POST, users.clone())
            .json(&body)
            .send()
    };

    assert_eq!(
        post(json!({"UserName": "a", "NVTGC": "ILL"}))
            .await
            .expect("req")
            .status(),
        StatusCode::OK
    );
    let r = post(json!({"username": "A", "NVTGC": "ILL"}))
        .await
        .expect("req");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let b: Value = r.json().await.expect("json");
    assert_eq!(b["Message"], "The request is invalid.");
    assert_eq!(b["ModelState"]["UserName"][0], "Username A already exists.");

    let r = post(json!({"UserName": "b"})).await.expect("req");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(
        r.bytes().await.expect("body").is_empty(),
        "missing NVTGC → empty 400"
    );

    let r = post(json!({"UserName": "b", "NVTGC": "XYZ"}))
        .await
        .expect("req");
    assert_eq!(
        r.json::<Value>().await.expect("json")["ModelState"]["model.NVTGC"][0],
        "The NVTGC is invalid."
    );

    let r = post(json!({"UserName": "b", "NVTGC": "ILL", "Cleared": "Maybe"}))
        .await
        .expect("req");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.json::<Value>().await.expect("json")["ModelState"]["model.Cleared"].is_array());

    let r = post(json!({"NVTGC": "ILL"})).await.expect("req");
    assert_eq!(
        r.json::<Value>().await.expect("json")["ModelState"]["model.UserName"][0],
        "The UserName field is required."
    );

    let r = req(&c, reqwest::Method::POST, users.clone())
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // No update route.
    let r = req(&c, reqwest::Method::PUT, format!("{users}/a"))
        .json(&json!({"LastName": "x"}))
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    let _ = h.shutdown().await;
}
