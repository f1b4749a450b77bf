//! ILLiad emulator contract tests over a real socket: ApiKey, lookups (two different 404s),
//! create with defaults and case-insensitive keys, ModelState errors, the empty 400 for a missing
//! NVTGC, no update route, SecurePlatformVersion.

use patron_sandbox::{start, SandboxConfig, SandboxHandle};
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
    // A key whose ExternalUserIDMapping is SSN (the seed's example user has both).
    let h = start(SandboxConfig {
        illiad_external_id_field: "SSN".into(),
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox starts");
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
    assert_eq!(u["Web"], "Yes", "the response shape shows Web as Yes/No");
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

/// Contract: the GET shape of seeds/illiad-webplatform-users-api.txt lines 41-91 ("Users"
/// response): `"Web": "Yes"` as a string, a `Password` hash (never the password),
/// `PasswordHint`, and its field order; and line 137: "The default mapping is set to the
/// Username field", so `ExternalUserId` is the user name unless the key maps it elsewhere.
#[tokio::test]
async fn get_has_the_vendor_shape_and_external_id_defaults_to_username() {
    let h = sandbox().await;
    let c = Client::new();
    let users = format!("{}/Users", h.illiad_url());
    let r = req(&c, reqwest::Method::POST, users.clone())
        .json(&json!({"UserName": "vshape", "NVTGC": "ILL", "Web": true,
            "PlainTextPassword": "S3cret!pw"}))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::OK);
    let r = req(&c, reqwest::Method::GET, format!("{users}/vshape"))
        .send()
        .await
        .expect("get");
    let text = r.text().await.unwrap_or_default();
    assert!(!text.contains("S3cret!pw"), "the password never comes back");
    let u: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(u["Web"], "Yes");
    assert!(u["Password"]
        .as_str()
        .is_some_and(|p| p.len() == 20 && p.bytes().all(|b| b.is_ascii_digit())));
    assert!(u
        .as_object()
        .is_some_and(|m| m.contains_key("PasswordHint")));
    let keys: Vec<&str> = u.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(&keys[..3], ["UserName", "ExternalUserId", "LastName"]);
    let pos = |k: &str| keys.iter().position(|x| *x == k).unwrap();
    assert!(pos("Phone") + 1 == pos("MobilePhone") && pos("NVTGC") + 1 == pos("Password"));
    assert!(pos("SZip") + 1 == pos("PasswordHint"));
    assert_eq!(u["ExternalUserId"], "vshape", "default mapping: UserName");
    let r = req(
        &c,
        reqwest::Method::GET,
        format!("{users}/ExternalUserId/vshape"),
    )
    .send()
    .await
    .expect("get");
    assert_eq!(r.status(), StatusCode::OK);
    let _ = h.shutdown().await;
}
