//! Contract tests of the emulators' rules (issue 15's audit): each test names the source of the
//! rule it checks — the same source the rule's comment in `src/` cites — and drives the sandbox
//! over a real loopback socket, as a client would. `contract/sandbox_*.rs`: each emulator's
//! socket-level tests (auth, CRUD, paging, faults, persistence).

use std::time::Duration;

// The socket-level tests of each emulator (moved from the root `tests/it/`, so they share this
// crate's helpers).
#[path = "contract/sandbox_faults.rs"]
mod sandbox_faults;
#[path = "contract/sandbox_folio.rs"]
mod sandbox_folio;
#[path = "contract/sandbox_illiad.rs"]
mod sandbox_illiad;
#[path = "contract/sandbox_libib.rs"]
mod sandbox_libib;

use patron_sandbox::{start, SandboxConfig, SandboxHandle};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Map, Value};

async fn sandbox(config: SandboxConfig) -> SandboxHandle {
    match start(config).await {
        Ok(h) => h,
        Err(e) => panic!("sandbox did not start: {e}"),
    }
}

/// A sandbox with Libib's pacing off, so a test can send many Libib requests.
fn fast() -> SandboxConfig {
    SandboxConfig {
        libib_interval: Duration::ZERO,
        ..SandboxConfig::default()
    }
}

fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

fn cookie_value(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| {
            c.strip_prefix(&format!("{name}="))
                .map(|r| r.split(';').next().unwrap_or("").to_string())
        })
}

/// A logged-in FOLIO client (`login-with-expiry`, the access token from its cookie), shared by
/// this file and `contract/sandbox_folio.rs`.
struct Folio {
    c: Client,
    base: String,
    token: String,
}

impl Folio {
    async fn login(h: &SandboxHandle) -> Folio {
        let c = Client::new();
        let base = h.folio_url();
        let r = c
            .post(format!("{base}/authn/login-with-expiry"))
            .header("x-okapi-tenant", "diku")
            .json(&json!({"username": "diku_admin", "password": "admin"}))
            .send()
            .await
            .expect("login request");
        assert_eq!(r.status(), StatusCode::CREATED);
        let token = cookie_value(&r, "folioAccessToken").expect("access cookie");
        Folio { c, base, token }
    }

    async fn send(&self, m: Method, path: &str, body: Option<Value>) -> (StatusCode, String) {
        let mut r = self
            .c
            .request(m, format!("{}{path}", self.base))
            .header("x-okapi-tenant", "diku")
            .header("x-okapi-token", &self.token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let r = r.send().await.expect("request");
        (r.status(), r.text().await.unwrap_or_default())
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, String) {
        self.send(Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> (StatusCode, String) {
        self.send(Method::GET, path, None).await
    }
}

// ---------------------------------------------------------------------------------------------
// FOLIO

/// Paging defaults: `limit` 10, `offset` 0 (folio-org/raml `traits/pageable.raml` lines 15 and
/// 23, mod-users' `ramls/raml-util`).
#[tokio::test]
async fn folio_paging_defaults_to_limit_10_from_offset_0() {
    let h = sandbox(SandboxConfig::default()).await;
    let f = Folio::login(&h).await;
    for i in 0..12 {
        let (s, b) = f
            .post("/users", json!({"username": format!("p{i:02}")}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }
    let (s, b) = f
        .get("/users?query=cql.allRecords=1%20sortBy%20username")
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let v = parse(&b);
    let names: Vec<&str> = v["users"]
        .as_array()
        .expect("users")
        .iter()
        .filter_map(|u| u["username"].as_str())
        .collect();
    let want: Vec<String> = (0..10).map(|i| format!("p{i:02}")).collect();
    assert_eq!(names, want, "the first 10, from offset 0");
    assert_eq!(v["totalRecords"], 12);
    h.shutdown().await.expect("shutdown");
}

/// `limit` and `offset` are integers from 0 to 2147483647 (raml `traits/pageable.raml` lines
/// 10-25); outside, RMB answers 400: below 0 "\n 'limit' parameter is incorrect. parameter value
/// {…} is not valid: must be greater than or equal to 0" (folio-org/raml-module-builder
/// `domain-models-api-aspects/src/main/java/org/folio/rest/annotations/RestValidator.aj` line
/// 71), not a Java int `Integer.valueOf`'s "For input string" (`domain-models-runtime/src/main/
/// java/org/folio/rest/RestRouting.java` line 277), empty "… has been passed empty" (lines
/// 274-275, 305-306).
#[tokio::test]
async fn folio_paging_bounds_are_0_to_2147483647_with_rmbs_message() {
    let h = sandbox(SandboxConfig::default()).await;
    let f = Folio::login(&h).await;
    for ok in ["limit=2147483647", "limit=0", "offset=2147483647"] {
        let (s, b) = f.get(&format!("/groups?{ok}")).await;
        assert_eq!(s, StatusCode::OK, "{ok}: {b}");
    }
    for (name, bad) in [("limit", "-1"), ("offset", "-1")] {
        let (s, b) = f.get(&format!("/groups?{name}={bad}")).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{name}={bad}");
        assert_eq!(
            b,
            format!("\n '{name}' parameter is incorrect. parameter value {{{bad}}} is not valid: must be greater than or equal to 0")
        );
    }
    for bad in ["2147483648", "ten", " 5"] {
        let (s, b) = f.get(&format!("/groups?limit={bad}")).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(b, format!("For input string: \"{bad}\""));
    }
    let (s, b) = f.get("/groups?limit=").await;
    assert_eq!(
        (s, b.as_str()),
        (
            StatusCode::BAD_REQUEST,
            "limit does not have a default value in the RAML and has been passed empty"
        )
    );
    h.shutdown().await.expect("shutdown");
}

/// A user takes exactly the properties of mod-users `ramls/userdata.json` (a verbatim copy in
/// `tests/fixtures/`): `additionalProperties: false` for the user (line 216), `personal`
/// (line 167) and each address (line 147). Each property the schema lists is accepted (as
/// null); a name it does not list is "Unrecognized field".
#[tokio::test]
async fn folio_user_properties_are_exactly_userdata_json() {
    let schema: Value = parse(include_str!("fixtures/userdata.json"));
    let props = |v: &Value| -> Vec<String> {
        v["properties"]
            .as_object()
            .expect("properties")
            .keys()
            .cloned()
            .collect()
    };
    assert_eq!(schema["additionalProperties"], false);
    let personal = &schema["properties"]["personal"];
    assert_eq!(personal["additionalProperties"], false);
    let address = &personal["properties"]["addresses"]["items"];
    assert_eq!(address["additionalProperties"], false);

    let h = sandbox(SandboxConfig::default()).await;
    let f = Folio::login(&h).await;
    let unrecognized = |b: &str| b.contains("Unrecognized field");
    let mut n = 0;
    let mut user = |extra: Map<String, Value>| {
        n += 1;
        let mut u = Map::new();
        u.insert("username".into(), json!(format!("schema{n}")));
        u.extend(extra);
        Value::Object(u)
    };
    for p in props(&schema) {
        if p == "username" || p == "id" {
            continue;
        }
        let (s, b) = f
            .post("/users", user(Map::from_iter([(p.clone(), Value::Null)])))
            .await;
        assert!(!unrecognized(&b), "{p}: {s} {b}");
    }
    for p in props(personal) {
        let personal = json!({"lastName": "Schema", p.clone(): null});
        let (s, b) = f
            .post(
                "/users",
                user(Map::from_iter([("personal".into(), personal)])),
            )
            .await;
        assert!(!unrecognized(&b), "personal.{p}: {s} {b}");
    }
    for p in props(address) {
        let personal = json!({"lastName": "Schema", "addresses": [{p.clone(): null}]});
        let (s, b) = f
            .post(
                "/users",
                user(Map::from_iter([("personal".into(), personal)])),
            )
            .await;
        assert!(!unrecognized(&b), "address {p}: {s} {b}");
    }
    for body in [
        user(Map::from_iter([("nickname".into(), json!("x"))])),
        user(Map::from_iter([(
            "personal".into(),
            json!({"lastName": "Schema", "nickname": "x"}),
        )])),
        user(Map::from_iter([(
            "personal".into(),
            json!({"lastName": "Schema", "addresses": [{"street": "x"}]}),
        )])),
    ] {
        let (s, b) = f.post("/users", body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {b}");
        assert!(unrecognized(&b), "{body}: {b}");
    }
    h.shutdown().await.expect("shutdown");
}

/// An unknown property is Jackson's UnrecognizedPropertyException, answered 422 by RMB through
/// `ValidationHelper.createValidationErrorMessage("", "", message)`: code "-1", type "1", one
/// parameter with empty key and value (folio-org/raml-module-builder `domain-models-runtime/src/
/// main/java/org/folio/rest/RestRouting.java` lines 342-346, `.../tools/utils/
/// ValidationHelper.java` lines 23-37, `.../resource/DomainModelConsts.java` line 11).
#[tokio::test]
async fn folio_unknown_property_is_rmbs_validation_422() {
    let h = sandbox(SandboxConfig::default()).await;
    let f = Folio::login(&h).await;
    let (s, b) = f.post("/users", json!({"username": "u", "foo": 1})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let e = &parse(&b)["errors"][0];
    assert_eq!(
        e["message"],
        "Unrecognized field \"foo\" (class org.folio.rest.jaxrs.model.User), not marked as ignorable"
    );
    assert_eq!(e["code"], "-1");
    assert_eq!(e["type"], "1");
    assert_eq!(e["parameters"], json!([{"key": "", "value": ""}]));
    h.shutdown().await.expect("shutdown");
}

/// Reference data: `ramls/addresstype.json` (line 24) and `ramls/department.json` (line 6) are
/// `additionalProperties: false`; `ramls/usergroup.json` (lines 1-34) is not, so its generated
/// class keeps unknown properties (jsonschema2pojo's default; RMB sets no other,
/// `domain-models-maven-plugin/src/main/java/org/folio/rest/tools/GenerateRunner.java` lines
/// 78-81) and a group with one is created.
#[tokio::test]
async fn folio_groups_take_unknown_properties_address_types_and_departments_do_not() {
    let h = sandbox(SandboxConfig::default()).await;
    let f = Folio::login(&h).await;
    let (s, b) = f
        .post("/groups", json!({"group": "alumni", "colour": "teal"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    for (path, body, class) in [
        (
            "/addresstypes",
            json!({"addressType": "Dorm", "colour": "teal"}),
            "AddressType",
        ),
        (
            "/departments",
            json!({"name": "Music", "code": "MUS", "colour": "teal"}),
            "Department",
        ),
    ] {
        let (s, b) = f.post(path, body).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {b}");
        assert_eq!(
            parse(&b)["errors"][0]["message"],
            format!(
                "Unrecognized field \"colour\" (class org.folio.rest.jaxrs.model.{class}), not marked as ignorable"
            ),
            "{path}"
        );
    }
    h.shutdown().await.expect("shutdown");
}

/// Service points (folio-org/mod-inventory-storage
/// `ramls/schemas/service-points/servicepoint.json` line 97) and request preferences
/// (folio-org/mod-circulation-storage `ramls/request-preference.json` line 45) declare
/// `additionalProperties: false`: an unknown property is RMB's 422, a documented one is taken.
#[tokio::test]
async fn folio_service_points_and_request_preferences_refuse_unknown_properties() {
    let h = sandbox(SandboxConfig::default()).await;
    let f = Folio::login(&h).await;
    let (s, b) = f
        .post(
            "/service-points",
            json!({"name": "Annex", "code": "ANX", "discoveryDisplayName": "Annex",
                   "pickupLocation": true, "shelvingLagTime": 2,
                   "holdShelfExpiryPeriod": {"duration": 3, "intervalId": "Weeks"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let user = "7d1a1c4e-0c5a-4d33-9a3a-5c2f0e1b2a3c";
    for (path, body, class) in [
        (
            "/service-points",
            json!({"name": "Dock", "code": "DCK", "discoveryDisplayName": "Dock", "colour": "teal"}),
            "ServicePoint",
        ),
        (
            "/request-preference-storage/request-preference",
            json!({"userId": user, "holdShelf": true, "delivery": false, "colour": "teal"}),
            "RequestPreference",
        ),
    ] {
        let (s, b) = f.post(path, body).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {b}");
        assert_eq!(
            parse(&b)["errors"][0]["message"],
            format!(
                "Unrecognized field \"colour\" (class org.folio.rest.jaxrs.model.{class}), not marked as ignorable"
            ),
            "{path}"
        );
    }
    let (s, b) = f
        .post(
            "/request-preference-storage/request-preference",
            json!({"userId": user, "holdShelf": true, "delivery": false, "fulfillment": "Hold Shelf"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    h.shutdown().await.expect("shutdown");
}

/// Service-points-users (folio-org/mod-inventory-storage
/// `ramls/schemas/service-points/servicepointsuser.json` lines 6-36: `additionalProperties:
/// false`) refuse an unknown property; one request preference and one service-points-user per
/// user (mod-circulation-storage `db_scripts/schema.json` lines 362-371, mod-inventory-storage
/// `db_scripts/schema.json` lines 136-144: unique `userId`).
#[tokio::test]
async fn folio_service_points_users_refuse_unknown_properties_and_one_of_each_per_user() {
    let h = sandbox(SandboxConfig::default()).await;
    let f = Folio::login(&h).await;
    let user = "5b0f3c8e-1d2a-4e6f-9a7b-0c1d2e3f4a5b";
    let (s, b) = f
        .post(
            "/service-points-users",
            json!({"userId": user, "servicePointsIds": [], "colour": "teal"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert!(b.contains("ServicePointsUser"), "{b}");
    for (path, body) in [
        (
            "/service-points-users",
            json!({"userId": user, "servicePointsIds": ["3a40852d-49fd-4df2-a1f9-6e2641a6e91f"]}),
        ),
        (
            "/request-preference-storage/request-preference",
            json!({"userId": user, "holdShelf": true, "delivery": false}),
        ),
    ] {
        let (s, b) = f.post(path, body.clone()).await;
        assert_eq!(s, StatusCode::CREATED, "{path}: {b}");
        let (s, b) = f.post(path, body).await;
        assert_eq!(
            s,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path}: a second one for the user: {b}"
        );
    }
    h.shutdown().await.expect("shutdown");
}

/// A service point is `ServicePoint` (folio-org/mod-inventory-storage @ 2639d28bf
/// `ramls/schemas/service-points/servicepoint.json` line 4) with exactly that schema's properties
/// (lines 6-97: `holdShelfExpiryPeriod`, `holdShelfClosedLibraryDateManagement`,
/// `defaultCheckInActionForUseAtLocation`, `staffSlips`, `ecsRequestRouting`; no
/// `feeFineOwner`); its enums bind as jsonschema2pojo's (`EnumRule.addFactoryMethod`) through
/// Jackson (`FactoryBasedEnumDeserializer.java` lines 218-237); `ServicePointApi.validateServicePoint`
/// (lines 36-46): a pickup location needs a hold shelf expiry period, any other may not have one.
#[tokio::test]
async fn folio_service_point_properties_and_rules_are_servicepoint_json_and_service_point_api() {
    let h = sandbox(SandboxConfig::default()).await;
    let f = Folio::login(&h).await;
    let (s, b) = f
        .post(
            "/service-points",
            json!({"name": "Annex", "code": "ANX", "discoveryDisplayName": "Annex",
                   "pickupLocation": true,
                   "holdShelfExpiryPeriod": {"duration": 3, "intervalId": "Weeks"},
                   "holdShelfClosedLibraryDateManagement": "Move_to_the_end_of_the_next_open_day",
                   "defaultCheckInActionForUseAtLocation": "Ask_for_action",
                   "staffSlips": [{"id": "8812bae1-2738-442c-bc20-fe4bb38a11f8", "printByDefault": true}],
                   "ecsRequestRouting": false}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    // The schema's scalar defaults (servicepoint.json lines 51 and 89) are stored when absent
    // (jsonschema2pojo `DefaultRule.apply`); a value given is kept.
    let (s, b) = f
        .post(
            "/service-points",
            json!({"name": "Desk", "code": "DSK", "discoveryDisplayName": "Desk"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let desk = parse(&b)["id"].as_str().expect("id").to_string();
    let (_, b) = f.get(&format!("/service-points/{desk}")).await;
    let v = parse(&b);
    assert_eq!(v["ecsRequestRouting"], false, "{b}");
    assert_eq!(
        v["holdShelfClosedLibraryDateManagement"], "Keep_the_current_due_date",
        "{b}"
    );
    let (_, b) = f.get("/service-points?query=code%3D%3DANX").await;
    assert_eq!(
        parse(&b)["servicepoints"][0]["holdShelfClosedLibraryDateManagement"],
        "Move_to_the_end_of_the_next_open_day",
        "{b}"
    );
    let (s, b) = f
        .post(
            "/service-points",
            json!({"name": "Dock", "code": "DCK", "discoveryDisplayName": "Dock", "feeFineOwner": "x"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(
        parse(&b)["errors"][0]["message"],
        "Unrecognized field \"feeFineOwner\" (class org.folio.rest.jaxrs.model.ServicePoint), not marked as ignorable"
    );
    let (s, b) = f
        .post(
            "/service-points",
            json!({"name": "Dock", "code": "DCK", "discoveryDisplayName": "Dock",
                   "holdShelfClosedLibraryDateManagement": "Sometimes"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(
        b,
        "Cannot construct instance of `org.folio.rest.jaxrs.model.ServicePoint$HoldShelfClosedLibraryDateManagement`, problem: Sometimes"
    );
    let (s, b) = f
        .post(
            "/service-points",
            json!({"name": "Dock", "code": "DCK", "discoveryDisplayName": "Dock", "pickupLocation": "maybe"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert!(b.contains("java.lang.Boolean"), "{b}");
    for (body, message) in [
        (
            json!({"name": "Dock", "code": "DCK", "discoveryDisplayName": "Dock", "pickupLocation": true}),
            "Hold shelf expiry period must be specified when service point can be used for pickup.",
        ),
        (
            json!({"name": "Dock", "code": "DCK", "discoveryDisplayName": "Dock",
                   "holdShelfExpiryPeriod": {"duration": 1, "intervalId": "Days"}}),
            "Hold shelf expiry period cannot be specified when service point cannot be used for pickup",
        ),
    ] {
        let (s, b) = f.post("/service-points", body).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
        let e = &parse(&b)["errors"][0];
        assert_eq!(e["message"], message);
        assert_eq!(e["parameters"][0]["key"], "name");
        assert_eq!(e["parameters"][0]["value"], "Dock");
    }
    h.shutdown().await.expect("shutdown");
}

/// `GET /service-points` leaves ECS routing service points out unless
/// `includeRoutingServicePoints=true` (mod-inventory-storage `ServicePointApi.java` lines 33, 57
/// and 264-276).
#[tokio::test]
async fn folio_service_points_list_leaves_out_ecs_routing_ones_unless_asked() {
    let h = sandbox(SandboxConfig::default()).await;
    let f = Folio::login(&h).await;
    let (s, b) = f
        .post(
            "/service-points",
            json!({"name": "Routing", "code": "RT", "discoveryDisplayName": "Routing",
                   "ecsRequestRouting": true}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let names = |b: &str| -> Vec<String> {
        parse(b)["servicepoints"]
            .as_array()
            .expect("servicepoints")
            .iter()
            .filter_map(|x| x["name"].as_str().map(str::to_string))
            .collect()
    };
    let (s, b) = f.get("/service-points?limit=100").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert!(!names(&b).contains(&"Routing".to_string()), "{b}");
    assert!(names(&b).contains(&"Circ Desk 1".to_string()), "{b}");
    let (_, b) = f.get("/service-points?query=code%3D%3DRT").await;
    assert!(names(&b).is_empty(), "{b}");
    let (_, b) = f
        .get("/service-points?query=code%3D%3DRT&includeRoutingServicePoints=true")
        .await;
    assert_eq!(names(&b), vec!["Routing".to_string()], "{b}");
    h.shutdown().await.expect("shutdown");
}

/// Request preferences bind as `ramls/request-preference.json` says (folio-org/mod-circulation-storage
/// @ ce24c3d81): UUID patterns of any version (lines 8, 13, 26, 31) as jakarta 422s, booleans
/// (lines 16-23) and the `fulfillment` enum "Delivery"/"Hold Shelf" (lines 34-38) as Jackson's
/// 400s, required `userId`, `holdShelf`, `delivery` (lines 46-50) as 422s.
#[tokio::test]
async fn folio_request_preference_types_are_request_preference_json() {
    let h = sandbox(SandboxConfig::default()).await;
    let f = Folio::login(&h).await;
    let path = "/request-preference-storage/request-preference";
    let hex = "^[a-fA-F0-9]{8}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{12}$";
    let user = "7d1a1c4e-0c5a-4d33-9a3a-5c2f0e1b2a3c";
    let (s, b) = f
        .post(
            path,
            json!({"userId": user, "holdShelf": true, "delivery": false, "fulfillment": "Pickup"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(
        b,
        "Cannot construct instance of `org.folio.rest.jaxrs.model.RequestPreference$Fulfillment`, problem: Pickup"
    );
    let (s, b) = f
        .post(
            path,
            json!({"userId": user, "holdShelf": "yes", "delivery": false}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(
        b,
        "Cannot deserialize value of type `java.lang.Boolean` from String \"yes\": only \"true\" or \"false\" recognized"
    );
    let (s, b) = f
        .post(
            path,
            json!({"userId": "abc", "holdShelf": true, "defaultServicePointId": "x"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    let errors = parse(&b)["errors"].as_array().cloned().unwrap_or_default();
    let keyed = |k: &str| {
        errors
            .iter()
            .find(|e| e["parameters"][0]["key"] == k)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(
        keyed("userId")["message"],
        format!("must match \"{hex}\""),
        "{b}"
    );
    assert_eq!(keyed("userId")["parameters"][0]["value"], "abc");
    assert_eq!(
        keyed("defaultServicePointId")["code"],
        "jakarta.validation.constraints.Pattern.message"
    );
    assert_eq!(keyed("delivery")["message"], "must not be null", "{b}");
    // The schema's pattern takes any version digit: version 0 is accepted.
    let (s, b) = f
        .post(
            path,
            json!({"userId": user, "holdShelf": true, "delivery": true, "fulfillment": "Delivery",
                   "defaultDeliveryAddressTypeId": "93d3d88d-499b-05d0-0bc7-ac73c3a19880"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    h.shutdown().await.expect("shutdown");
}

/// `service_point_user.defaultServicePointId` is a foreign key to `service_point`
/// (folio-org/mod-inventory-storage @ 2639d28bf `mod-inventory-storage-server/src/main/resources/
/// templates/db_scripts/schema.json` lines 145-151; `servicePointsIds` has none): RMB's
/// `PgUtil.responseForeignKeyViolation` (folio-org/raml-module-builder `PgUtil.java` lines
/// 299-314), a 422 on POST (`is: [validate]`) and a 400 text on PUT; its `uuid.json` pattern
/// (servicepointsuser.json lines 23-26) a jakarta 422; item routes are `PgUtil`'s
/// (`ServicePointsUserApi.java` lines 47, 57 and 68).
#[tokio::test]
async fn folio_service_points_users_default_service_point_is_a_foreign_key() {
    let h = sandbox(SandboxConfig::default()).await;
    let f = Folio::login(&h).await;
    let user = "5b0f3c8e-1d2a-4e6f-9a7b-0c1d2e3f4a5b";
    let unknown = "0f6f2e44-4d6a-4c7b-8e1f-2a3b4c5d6e7f";
    let known = "3a40852d-49fd-4df2-a1f9-6e2641a6e91f";
    let message = format!(
        "Cannot set service_point_user.defaultServicePointId = {unknown} because it does not exist in service_point.id."
    );
    let (s, b) = f
        .post(
            "/service-points-users",
            json!({"userId": user, "servicePointsIds": [known], "defaultServicePointId": unknown}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    let e = &parse(&b)["errors"][0];
    assert_eq!(e["message"], message.as_str());
    assert_eq!(
        e["parameters"][0]["key"],
        "service_point_user.defaultServicePointId"
    );
    assert_eq!(e["parameters"][0]["value"], unknown);
    let (s, b) = f
        .post(
            "/service-points-users",
            json!({"userId": user, "defaultServicePointId": "not-a-uuid"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(
        parse(&b)["errors"][0]["code"],
        "jakarta.validation.constraints.Pattern.message"
    );
    // No foreign key on `servicePointsIds`.
    let (s, b) = f
        .post(
            "/service-points-users",
            json!({"userId": user, "servicePointsIds": [known, unknown], "defaultServicePointId": known}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let id = parse(&b)["id"].as_str().expect("id").to_string();
    let (s, b) = f
        .send(
            Method::PUT,
            &format!("/service-points-users/{id}"),
            Some(json!({"userId": user, "servicePointsIds": [known], "defaultServicePointId": unknown})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(b, message);
    for m in [Method::GET, Method::DELETE] {
        let (s, b) = f.send(m.clone(), "/service-points-users/nope", None).await;
        let want = if m == Method::GET {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::BAD_REQUEST
        };
        assert_eq!(s, want, "{m}: {b}");
        assert!(b.contains("Invalid UUID format"), "{m}: {b}");
    }
    // The service point a service-points-user has as its default cannot be deleted (the
    // foreign key; `ServicePointApi.java` lines 238-244 answer the failure 500).
    let (s, b) = f
        .send(Method::DELETE, &format!("/service-points/{known}"), None)
        .await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR, "{b}");
    assert!(
        b.contains("violates foreign key constraint \"defaultservicepointid_service_point_fkey\""),
        "{b}"
    );
    let (s, b) = f
        .send(Method::DELETE, &format!("/service-points-users/{id}"), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let (s, b) = f
        .send(Method::DELETE, &format!("/service-points/{known}"), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let (s, _) = f
        .send(Method::DELETE, &format!("/service-points-users/{id}"), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    h.shutdown().await.expect("shutdown");
}

/// Unique indexes (mod-users `src/main/resources/templates/db_scripts/schema.json`: groups
/// `group` lines 85-93, departments `name` and `code` lines 96-108, addresstype `addressType`
/// lines 347-352, users `externalSystemId` lines 191-206), folded by `lower(f_unaccent(…))`,
/// and RMB's 422 "KEY value already exists in table TABLE: VALUE" (folio-org/raml-module-builder
/// `domain-models-runtime/src/main/java/org/folio/rest/persist/PgUtil.java` lines 340-356) —
/// which mod-users re-words for departments: "Department with this FIELD already exists" with
/// the value as given (`src/main/java/org/folio/rest/impl/DepartmentsAPI.java` lines 88-121).
#[tokio::test]
async fn folio_unique_indexes_answer_rmbs_already_exists_422() {
    let h = sandbox(SandboxConfig::default()).await;
    let f = Folio::login(&h).await;
    let key = |f: &str| format!("lower(f_unaccent(jsonb ->> '{f}'::text))");
    let (s, b) = f
        .post("/departments", json!({"name": "Music", "code": "MUS"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, b) = f
        .post(
            "/users",
            json!({"username": "a", "externalSystemId": "E-1"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    for (path, body, field, value, table) in [
        (
            "/groups",
            json!({"group": "STAFF"}),
            "group",
            "staff",
            "groups",
        ),
        (
            "/addresstypes",
            json!({"addressType": "home"}),
            "addressType",
            "home",
            "addresstype",
        ),
        (
            "/users",
            json!({"username": "b", "externalSystemId": "e-1"}),
            "externalSystemId",
            "e-1",
            "users",
        ),
    ] {
        let (s, b) = f.post(path, body).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{path} {field}: {b}");
        let e = &parse(&b)["errors"][0];
        assert_eq!(
            e["message"],
            format!(
                "{} value already exists in table {table}: {value}",
                key(field)
            ),
            "{path} {field}"
        );
        assert_eq!(e["parameters"][0]["key"], key(field));
        assert_eq!(e["parameters"][0]["value"], value);
    }
    for (body, field, value) in [
        (json!({"name": "Músic", "code": "OTHER"}), "name", "Músic"),
        (json!({"name": "Other", "code": "mus"}), "code", "mus"),
    ] {
        let (s, b) = f.post("/departments", body).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {b}");
        let e = &parse(&b)["errors"][0];
        assert_eq!(
            e["message"],
            format!("Department with this {field} already exists")
        );
        assert_eq!(e["parameters"][0]["key"], field);
        assert_eq!(e["parameters"][0]["value"], value);
    }
    h.shutdown().await.expect("shutdown");
}

/// A PUT through RMB `PgUtil.put` (folio-org/raml-module-builder
/// `domain-models-runtime/src/main/java/org/folio/rest/persist/PgUtil.java` lines 1279-1330):
/// the path's id replaces the body's (line 1300); a unique clash is RMB's message, as a 400
/// text where the RAML's PUT declares no 422 (groups: mod-users `ramls/groups.raml` with
/// folio-org/raml `rtypes/item-collection.raml` lines 52-81) and as mod-users' 422 for
/// departments (`DepartmentsAPI.java` lines 61-67); a path id that is no UUID is `INVALID_UUID`
/// (lines 1297-1299, text lines 74-76), on GET and DELETE too.
#[tokio::test]
async fn folio_reference_data_puts_answer_as_pgutil_put_does() {
    let h = sandbox(SandboxConfig::default()).await;
    let f = Folio::login(&h).await;
    let staff = "3684a786-6671-4268-8ed0-9db82ebca60b";
    let (s, b) = f.post("/groups", json!({"group": "temp"})).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let temp = parse(&b)["id"].as_str().expect("id").to_string();
    let (s, b) = f
        .send(
            Method::PUT,
            &format!("/groups/{temp}"),
            Some(json!({"group": "Staff", "id": staff})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(
        b,
        "lower(f_unaccent(jsonb ->> 'group'::text)) value already exists in table groups: staff"
    );
    let (s, b) = f
        .send(
            Method::PUT,
            &format!("/groups/{temp}"),
            Some(json!({"group": "temporary", "id": staff})),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "the body's id gives way: {b}");
    let (_, b) = f.get(&format!("/groups/{temp}")).await;
    assert_eq!(parse(&b)["group"], "temporary");
    let (_, b) = f.get(&format!("/groups/{staff}")).await;
    assert_eq!(parse(&b)["group"], "staff", "untouched");
    let (s, b) = f
        .send(
            Method::PUT,
            "/groups/not-a-uuid",
            Some(json!({"group": "x"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(b.starts_with("Invalid UUID format of id"), "{b}");
    // `getById` (lines 1059-1061) and `deleteById` (lines 404-420) say the same, 404 and 400.
    let (s, b) = f.get("/groups/not-a-uuid").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(b.starts_with("Invalid UUID format of id"), "{b}");
    let (s, b) = f
        .send(Method::DELETE, "/departments/not-a-uuid", None)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(b.starts_with("Invalid UUID format of id"), "{b}");

    let (s, _) = f
        .post("/departments", json!({"name": "Music", "code": "MUS"}))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, b) = f
        .post("/departments", json!({"name": "Art", "code": "ART"}))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let art = parse(&b)["id"].as_str().expect("id").to_string();
    let (s, b) = f
        .send(
            Method::PUT,
            &format!("/departments/{art}"),
            Some(json!({"name": "Art", "code": "mus"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(
        parse(&b)["errors"][0]["message"],
        "Department with this code already exists"
    );
    h.shutdown().await.expect("shutdown");
}

// ---------------------------------------------------------------------------------------------
// Libib

struct Libib {
    c: Client,
    base: String,
}

impl Libib {
    fn new(h: &SandboxHandle) -> Libib {
        Libib {
            c: Client::new(),
            base: h.libib_url(),
        }
    }
    async fn send(&self, m: Method, path: &str) -> (StatusCode, String) {
        let r = self
            .c
            .request(m, format!("{}{path}", self.base))
            .header("x-api-key", "sandbox-libib-key")
            .header("x-api-user", "sandbox-user")
            .send()
            .await
            .expect("request");
        (r.status(), r.text().await.unwrap_or_default())
    }
    async fn create(&self, i: usize) -> Value {
        let (s, b) = self
            .send(
                Method::POST,
                &format!("/patrons?first_name=P{i}&last_name=Libib&email=p{i}%40example.org&password=pw{i}"),
            )
            .await;
        assert!(s.is_success(), "create {i}: {s} {b}");
        parse(&b)
    }
}

/// "Returns 50 patrons per request" (reference/seeds/libib-patrons-client-docs.txt line 13),
/// `page` 1-based with `total`, `pages` and `max_per_page` 50 (illiad-libib-api.md line 58,
/// Libib docs patrons.html).
#[tokio::test]
async fn libib_lists_50_patrons_a_page() {
    let h = sandbox(fast()).await;
    let l = Libib::new(&h);
    for i in 0..51 {
        l.create(i).await;
    }
    let (s, b) = l.send(Method::GET, "/patrons").await;
    assert_eq!(s, StatusCode::OK);
    let v = parse(&b);
    assert_eq!(v["patrons"].as_array().map(Vec::len), Some(50));
    assert_eq!(
        (&v["total"], &v["pages"], &v["max_per_page"]),
        (&json!(51), &json!(2), &json!(50))
    );
    let (_, b) = l.send(Method::GET, "/patrons?page=2").await;
    let v = parse(&b);
    assert_eq!(v["patrons"].as_array().map(Vec::len), Some(1));
    assert_eq!(v["patrons"][0]["first_name"], "P50");
    h.shutdown().await.expect("shutdown");
}

/// A patron has the documented fields — "Create a Patron" → "Supported Parameters"
/// (libib-patrons-client-docs.txt lines 86-101) less `password`, which no response shows (the
/// "Get Patrons" example, lines 20-37).
#[tokio::test]
async fn libib_patron_has_the_documented_fields_and_never_the_password() {
    let h = sandbox(fast()).await;
    let l = Libib::new(&h);
    let created = l.create(1).await;
    let documented = [
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
    let barcode = created["barcode"].as_str().expect("barcode").to_string();
    let (_, b) = l.send(Method::GET, &format!("/patrons/{barcode}")).await;
    for v in [created, parse(&b)] {
        let keys: Vec<&str> = v
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, documented);
        assert!(!v.to_string().contains("pw1"), "{v}");
    }
    h.shutdown().await.expect("shutdown");
}

/// "Patrons with active checkouts can not be deleted. A 400 error is returned in this case."
/// (illiad-libib-api.md line 62, Libib docs delete-patrons-id-rest-api); otherwise 204.
#[tokio::test]
async fn libib_delete_with_active_checkouts_is_400_else_204() {
    let h = sandbox(fast()).await;
    let l = Libib::new(&h);
    let p = l.create(1).await;
    let barcode = p["barcode"].as_str().expect("barcode");
    let r = Client::new()
        .post(format!(
            "{}/_sandbox/libib/checkouts/{barcode}?count=1",
            h.base_url()
        ))
        .send()
        .await
        .expect("set checkouts");
    assert!(r.status().is_success());
    let (s, _) = l.send(Method::DELETE, &format!("/patrons/{barcode}")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let r = Client::new()
        .post(format!(
            "{}/_sandbox/libib/checkouts/{barcode}?count=0",
            h.base_url()
        ))
        .send()
        .await
        .expect("clear checkouts");
    assert!(r.status().is_success());
    let (s, b) = l.send(Method::DELETE, &format!("/patrons/{barcode}")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert!(b.is_empty());
    h.shutdown().await.expect("shutdown");
}

/// "Patrons can be restored within 30 days of deletion" (libib-patrons-client-docs.txt line
/// 153; illiad-libib-api.md line 63): a patron deleted 29 days ago comes back with 200, one
/// deleted 31 days ago does not.
#[tokio::test]
async fn libib_restores_within_30_days_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state.json");
    let ago = |days: i64| (chrono::Utc::now() - chrono::Duration::days(days)).to_rfc3339();
    let patron = |barcode: &str, email: &str, deleted: String| {
        json!({
            "fields": {"barcode": barcode, "first_name": "A", "last_name": "B", "email": email},
            "deleted_at": deleted
        })
    };
    let data = json!({"libib": {"patrons": [
        patron("2020000000013", "recent@example.org", ago(29)),
        patron("2020000000020", "old@example.org", ago(31)),
    ], "barcode_seq": 2}});
    std::fs::write(&state, data.to_string()).expect("write state");
    let h = sandbox(SandboxConfig {
        state: Some(state),
        ..fast()
    })
    .await;
    let l = Libib::new(&h);
    let (s, b) = l.send(Method::PATCH, "/patrons/2020000000013").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(parse(&b)["email"], "recent@example.org");
    let (s, _) = l.send(Method::PATCH, "/patrons/old@example.org").await;
    assert_ne!(s, StatusCode::OK);
    let (_, b) = l.send(Method::GET, "/patrons").await;
    assert_eq!(parse(&b)["total"], 1);
    h.shutdown().await.expect("shutdown");
}

// ---------------------------------------------------------------------------------------------
// ILLiad

async fn illiad_post(h: &SandboxHandle, body: Value) -> (StatusCode, Value) {
    let r = Client::new()
        .post(format!("{}/Users", h.illiad_url()))
        .header("ApiKey", "sandbox-illiad-key")
        .json(&body)
        .send()
        .await
        .expect("post");
    let s = r.status();
    let t = r.text().await.unwrap_or_default();
    (s, if t.is_empty() { Value::Null } else { parse(&t) })
}

/// The create parameters' "Allowed Values" (reference/seeds/illiad-webplatform-users-api.txt:
/// NotificationMethod lines 305-309, DeliveryMethod 310-313, LoanDeliveryMethod 314-317,
/// Cleared 319-327, AuthType 350-355) are taken; anything else is Json.NET's "Error converting
/// value" (JamesNK/Newtonsoft.Json `Src/Newtonsoft.Json/Converters/StringEnumConverter.cs` line
/// 256) in a ModelState 400.
#[tokio::test]
async fn illiad_enumerations_take_the_documented_values_only() {
    let h = sandbox(SandboxConfig::default()).await;
    let allowed: [(&str, &[&str]); 5] = [
        ("NotificationMethod", &["Electronic", "Phone", "Mail"]),
        ("DeliveryMethod", &["Hold for Pickup", "Mail to Address"]),
        (
            "LoanDeliveryMethod",
            &["Hold for Pickup", "Mail to Address"],
        ),
        ("Cleared", &["Yes", "No", "New", "DIS", "B", "BO", "BX"]),
        ("AuthType", &["Default", "ILLiad"]),
    ];
    let mut n = 0;
    for (field, values) in allowed {
        for v in values {
            n += 1;
            let (s, b) = illiad_post(
                &h,
                json!({"Username": format!("u{n}"), "NVTGC": "ILL", field: v}),
            )
            .await;
            assert_eq!(s, StatusCode::OK, "{field}={v}: {b}");
            assert_eq!(b[field], *v, "{field}");
        }
        let (s, b) = illiad_post(
            &h,
            json!({"Username": "bad", "NVTGC": "ILL", field: "Sometimes"}),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{field}");
        let msg = b["ModelState"][format!("model.{field}")][0]
            .as_str()
            .unwrap_or_default();
        assert!(
            msg.starts_with("Error converting value \"Sometimes\" to type '"),
            "{field}: {b}"
        );
    }
    h.shutdown().await.expect("shutdown");
}

/// `Web` binds as a boolean and `UserRequestLimit` as an integer, with Json.NET's messages
/// (JamesNK/Newtonsoft.Json `Src/Newtonsoft.Json/JsonReader.cs` line 735 "Could not convert
/// string to boolean: {0}." and line 435 "Could not convert to integer: {0}.").
#[tokio::test]
async fn illiad_boolean_and_integer_fields_bind_like_json_net() {
    let h = sandbox(SandboxConfig::default()).await;
    let (s, b) = illiad_post(&h, json!({"Username": "w", "NVTGC": "ILL", "Web": "maybe"})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let msg = b["ModelState"]["model.Web"][0].as_str().unwrap_or_default();
    assert!(
        msg.starts_with("Could not convert string to boolean: "),
        "{b}"
    );
    let (s, b) = illiad_post(
        &h,
        json!({"Username": "r", "NVTGC": "ILL", "UserRequestLimit": "lots"}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let msg = b["ModelState"]["model.UserRequestLimit"][0]
        .as_str()
        .unwrap_or_default();
    assert!(msg.starts_with("Could not convert to integer: "), "{b}");
    let (s, b) = illiad_post(
        &h,
        json!({"Username": "ok", "NVTGC": "ILL", "Web": false, "UserRequestLimit": "5"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["UserRequestLimit"], 5);
    h.shutdown().await.expect("shutdown");
}

/// `PlainTextPassword` (seeds/illiad-webplatform-users-api.txt line 359) and
/// `NotificationPreferences` (line 365) are create parameters only: the "Users" response
/// example (lines 41-91) has neither, and neither does the sandbox's answer or GET.
#[tokio::test]
async fn illiad_write_only_parameters_are_never_returned() {
    let h = sandbox(SandboxConfig::default()).await;
    let (s, created) = illiad_post(
        &h,
        json!({
            "Username": "wo", "NVTGC": "ILL", "PlainTextPassword": "S3cret-pw!",
            "NotificationPreferences": [{"ActivityType": "ClearedUser", "NotificationType": "Email"}]
        }),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{created}");
    let r = Client::new()
        .get(format!("{}/Users/wo", h.illiad_url()))
        .header("ApiKey", "sandbox-illiad-key")
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), StatusCode::OK);
    let got = parse(&r.text().await.unwrap_or_default());
    for v in [created, got] {
        let o = v.as_object().expect("object");
        assert!(!o.contains_key("PlainTextPassword"), "{v}");
        assert!(!o.contains_key("NotificationPreferences"), "{v}");
        assert!(!v.to_string().contains("S3cret-pw!"), "{v}");
    }
    h.shutdown().await.expect("shutdown");
}

/// An unknown FOLIO path is Okapi's 404 "No suitable module found for path {0} for tenant {1}"
/// (folio-org/okapi `okapi-core/src/main/java/org/folio/okapi/managers/ProxyService.java` line
/// 243; `okapi-core/src/main/resources/infra-messages/Messages_en.properties` line 9).
#[tokio::test]
async fn folio_unknown_path_is_okapis_no_suitable_module_404() {
    let h = sandbox(SandboxConfig::default()).await;
    let f = Folio::login(&h).await;
    let (s, b) = f.get("/patron-cards?limit=1").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(
        b,
        "No suitable module found for path /patron-cards for tenant diku"
    );
    h.shutdown().await.expect("shutdown");
}

/// mod-login: a body without `username`/`userId` or `password` is a 400 text (folio-org/mod-login
/// `src/main/java/org/folio/rest/impl/LoginAPI.java` lines 533-543); wrong credentials are a 422
/// with code `wrong.username.or.wrong.password.or.account.blocked`, type "error" (lines 104-108,
/// 1360-1373); `login-with-expiry` sets `folioAccessToken` (path `/`) and `folioRefreshToken`
/// (path `/authn`) as `Secure; HttpOnly; SameSite=Lax` cookies whose `Max-Age` is the lifetime
/// (lines 259-303; `CookieSameSiteConfig.java` lines 26-27), the refresh token's 604800 s
/// (folio-org/mod-authtoken `.../tokens/RefreshToken.java` lines 22-24) and the access token's
/// 600 s (`.../tokens/AccessToken.java` line 20).
#[tokio::test]
async fn folio_login_answers_as_mod_login_does() {
    let h = sandbox(SandboxConfig::default()).await;
    let c = Client::new();
    let post = |path: &str, body: Value| {
        c.post(format!("{}/authn/{path}", h.folio_url()))
            .header("x-okapi-tenant", "diku")
            .json(&body)
            .send()
    };
    for (body, text) in [
        (
            json!({"password": "admin"}),
            "You must provide a username or userId",
        ),
        (
            json!({"username": "diku_admin"}),
            "You must provide a password",
        ),
    ] {
        let r = post("login-with-expiry", body).await.expect("login");
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert_eq!(r.text().await.unwrap_or_default(), text);
    }
    let r = post(
        "login-with-expiry",
        json!({"username": "diku_admin", "password": "nope"}),
    )
    .await
    .expect("login");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let e = &parse(&r.text().await.unwrap_or_default())["errors"][0];
    assert_eq!(
        e["message"],
        "Wrong username or wrong password or account blocked"
    );
    assert_eq!(
        e["code"],
        "wrong.username.or.wrong.password.or.account.blocked"
    );
    assert_eq!(e["type"], "error");

    let r = post(
        "login-with-expiry",
        json!({"username": "diku_admin", "password": "admin"}),
    )
    .await
    .expect("login");
    assert_eq!(r.status(), StatusCode::CREATED);
    let cookies: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect();
    let cookie = |name: &str| {
        cookies
            .iter()
            .find(|c| c.starts_with(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no {name} cookie in {cookies:?}"))
            .clone()
    };
    let at = cookie("folioAccessToken");
    let rt = cookie("folioRefreshToken");
    for (c, path, age) in [(&at, "/", 600), (&rt, "/authn", 604_800)] {
        for attr in ["Secure", "HttpOnly", "SameSite=Lax"] {
            assert!(c.contains(attr), "{attr} in {c}");
        }
        assert!(c.contains(&format!("Path={path};")), "{c}");
        assert!(c.contains(&format!("Max-Age={age};")), "{c}");
    }
    let v = parse(&r.text().await.unwrap_or_default());
    assert!(v["accessTokenExpiration"].is_string() && v["refreshTokenExpiration"].is_string());
    h.shutdown().await.expect("shutdown");
}

/// Libib assigns patron barcodes `202` + a 9-digit sequence + a GS1/EAN-13 check digit
/// (illiad-libib-api.md §1.2 "Barcode scheme"; the docs' `2020000000013` and `2020000000037`,
/// libib-patrons-client-docs.txt lines 22 and 39, both pass the check), and a patron is found
/// by barcode or by e-mail, not by `patron_id` (libib-patrons-client-docs.txt lines 56-59;
/// illiad-libib-api.md line 59).
#[tokio::test]
async fn libib_barcodes_are_202_ean13_and_patrons_are_found_by_barcode_or_email() {
    fn ean13_ok(b: &str) -> bool {
        let d: Vec<u32> = b.chars().filter_map(|c| c.to_digit(10)).collect();
        d.len() == 13
            && d.iter()
                .enumerate()
                .map(|(i, x)| if i % 2 == 0 { *x } else { x * 3 })
                .sum::<u32>()
                % 10
                == 0
    }
    assert!(ean13_ok("2020000000013") && ean13_ok("2020000000037"));
    assert!(!ean13_ok("2020000000014"));
    let h = sandbox(fast()).await;
    let l = Libib::new(&h);
    for i in 0..12 {
        let p = l.create(i).await;
        let b = p["barcode"].as_str().expect("barcode");
        assert!(b.starts_with("202") && ean13_ok(b), "{b}");
    }
    let (s, b) = l
        .send(Method::POST, "/patrons?first_name=Mary&last_name=Shelley&email=Mary%40Example.org&patron_id=mshelley")
        .await;
    assert!(s.is_success(), "{b}");
    let barcode = parse(&b)["barcode"].as_str().expect("barcode").to_string();
    for id in [barcode.as_str(), "Mary@Example.org"] {
        let (_, b) = l.send(Method::GET, &format!("/patrons/{id}")).await;
        assert_eq!(parse(&b)["patron_id"], "mshelley", "{id}");
    }
    let (_, b) = l.send(Method::GET, "/patrons/mshelley").await;
    assert_eq!(
        parse(&b)["patron_id"],
        Value::Null,
        "patron_id is no identifier"
    );
    h.shutdown().await.expect("shutdown");
}

// ---------------------------------------------------------------------------------------------
// Issue 15 remainder: binding errors, dates, linked-record uniqueness, required fields

impl Folio {
    async fn raw(&self, m: Method, path: &str, body: &'static str) -> (StatusCode, String) {
        let r = self
            .c
            .request(m, format!("{}{path}", self.base))
            .header("x-okapi-tenant", "diku")
            .header("x-okapi-token", &self.token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request");
        (r.status(), r.text().await.unwrap_or_default())
    }
}

/// A body Jackson cannot bind is RMB's 400 with the exception's message as the whole text/plain
/// body, no "Json content error " prefix (folio-org/raml-module-builder @ 24e2b7b2a
/// `domain-models-runtime/src/main/java/org/folio/rest/RestRouting.java` lines 423-431; the
/// prefix went in commit 22e863be9); the shape message is jackson-databind's
/// `DeserializationContext.java` lines 1560-1561 with jackson-core `JsonToken.valueDescFor`.
#[tokio::test]
async fn folio_binding_errors_are_rmbs_400_with_jacksons_message() {
    let h = sandbox(SandboxConfig::default()).await;
    let f = Folio::login(&h).await;
    let (s, b) = f.post("/users", json!({"username": ["x"]})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        b,
        "Cannot deserialize value of type `java.lang.String` from Array value (token `JsonToken.START_ARRAY`)"
    );
    let (s, b) = f.post("/users", json!([])).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        b,
        "Cannot deserialize value of type `org.folio.rest.jaxrs.model.User` from Array value (token `JsonToken.START_ARRAY`)"
    );
    let (s, b) = f.post("/users", json!({"active": 2.5})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        b,
        "Cannot deserialize value of type `java.lang.Boolean` from Floating-point value (token `JsonToken.VALUE_NUMBER_FLOAT`)"
    );
    // `java.lang.Boolean` (jackson-databind `deser/std/StdDeserializer.java` lines 460-555):
    // `True` and an integer coerce, "yes" is refused in Jackson's words.
    let (s, b) = f
        .post("/users", json!({"username": "b1", "active": "True"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(parse(&b)["active"], true);
    let (s, b) = f
        .post("/users", json!({"username": "b2", "active": 0}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(parse(&b)["active"], false);
    let (s, b) = f.post("/users", json!({"active": "yes"})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        b,
        "Cannot deserialize value of type `java.lang.Boolean` from String \"yes\": only \"true\" or \"false\" recognized"
    );
    let (s, b) = f.raw(Method::POST, "/users", "  ").await;
    assert_eq!(
        (s, b.as_str()),
        (
            StatusCode::BAD_REQUEST,
            "No content to map due to end-of-input"
        )
    );
    let (s, b) = f
        .post("/users", json!({"preferredEmailCommunication": ["Spam"]}))
        .await;
    // The items' enum is jsonschema2pojo's top-level `PreferredEmailCommunication`
    // (joelittlejohn/jsonschema2pojo @ 1c6b7664e `ArrayRule.java` line 93; folio-org/mod-users @
    // 368b83fb6 `StagingUsersAPIIT.java` line 42), whose `fromValue` throws
    // `IllegalArgumentException(value)` (`EnumRule.java` lines 381-400): Jackson's "Cannot
    // construct instance", not its own enum deserializer's "not one of the values accepted".
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        b,
        "Cannot construct instance of `org.folio.rest.jaxrs.model.PreferredEmailCommunication`, problem: Spam"
    );
    for path in ["/users", "/departments"] {
        let (s, b) = f.raw(Method::POST, path, "{not json").await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{path}");
        assert!(!b.starts_with("Json content error"), "{path}: {b}");
    }
    h.shutdown().await.expect("shutdown");
}

/// Dates bind as RMB's mapper binds `java.util.Date` (folio-org/raml-module-builder
/// `dbschema/src/main/java/org/folio/dbschema/ObjectMapperTool.java` lines 114-130) through
/// jackson-databind's `StdDateFormat` (`src/main/java/com/fasterxml/jackson/databind/util/
/// StdDateFormat.java`: ISO-8601 lines 52-64 and 646-755 on a lenient calendar, lines 343-346
/// and 813; epoch milliseconds lines 408-427), and are stored as `DateSerializer` prints them
/// (`ObjectMapperTool.java` lines 83-98): `yyyy-MM-dd'T'HH:mm:ss.SSS+00:00`.
#[tokio::test]
async fn folio_dates_bind_as_jacksons_std_date_format() {
    let h = sandbox(SandboxConfig::default()).await;
    let f = Folio::login(&h).await;
    for (i, (given, stored)) in [
        (json!("2027-02-30"), "2027-03-02T00:00:00.000+00:00"),
        (
            json!("2027-06-30T01:00+01:00"),
            "2027-06-30T00:00:00.000+00:00",
        ),
        (json!("1814400000"), "1970-01-22T00:00:00.000+00:00"),
        (json!(0), "1970-01-01T00:00:00.000+00:00"),
    ]
    .into_iter()
    .enumerate()
    {
        let (s, b) = f
            .post(
                "/users",
                json!({"username": format!("d{i}"), "expirationDate": given}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{given}: {b}");
        assert_eq!(parse(&b)["expirationDate"], stored, "{given}");
    }
    let (s, b) = f
        .post(
            "/users",
            json!({"username": "x", "expirationDate": "June 30"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        b.starts_with("Failed to parse Date value 'June 30': Cannot parse date \"June 30\": not compatible with any of standard forms"),
        "{b}"
    );
    let (s, b) = f
        .post("/users", json!({"username": "x", "expirationDate": true}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        b,
        "Unexpected token (VALUE_TRUE), expected VALUE_STRING: expected string containing a date"
    );
    h.shutdown().await.expect("shutdown");
}

/// Service points are unique by `name` and by `code` (folio-org/mod-inventory-storage
/// `mod-inventory-storage-server/src/main/resources/templates/db_scripts/schema.json` lines
/// 113-125, folded by RMB's default `lower(f_unaccent())`): a clashing POST is 422 "Service Point
/// Exists" with the name (`.../rest/impl/ServicePointApi.java` lines 104-116), a clashing PUT a
/// 400 text "duplicate key value violates unique constraint …" (line 165,
/// `.../rest/support/EndpointFailureHandler.java` lines 57-79). One request preference per user
/// (folio-org/mod-circulation-storage `src/main/resources/templates/db_scripts/schema.json`
/// lines 362-371): 422 "Request preference for specified user already exists" on POST and PUT
/// (`src/main/java/org/folio/rest/impl/RequestPreferencesAPI.java` lines 44, 73 and 76-98).
#[tokio::test]
async fn folio_service_point_and_request_preference_clashes_answer_as_their_modules_do() {
    let h = sandbox(SandboxConfig::default()).await;
    let f = Folio::login(&h).await;
    let sp =
        |name: &str, code: &str| json!({"name": name, "code": code, "discoveryDisplayName": name});
    let (s, b) = f.post("/service-points", sp("Annex", "ANX")).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, b) = f.post("/service-points", sp("Dock", "DCK")).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let dock = parse(&b)["id"].as_str().expect("id").to_string();
    for (name, code) in [("Ánnex", "OTHER"), ("Other", "anx")] {
        let (s, b) = f.post("/service-points", sp(name, code)).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{name}/{code}: {b}");
        let e = &parse(&b)["errors"][0];
        assert_eq!(e["message"], "Service Point Exists");
        assert_eq!(e["code"], "-1");
        assert_eq!(e["parameters"][0]["key"], "name");
        assert_eq!(e["parameters"][0]["value"], name);
    }
    let mut clash = sp("Annex", "DCK");
    clash["id"] = json!(dock);
    let (s, b) = f
        .send(Method::PUT, &format!("/service-points/{dock}"), Some(clash))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(
        b,
        "duplicate key value violates unique constraint \"service_point_name_idx_unique\": Key (lower(f_unaccent(jsonb ->> 'name'::text)))=(annex) already exists."
    );

    let user = "7d1a1c4e-0c5a-4d33-9a3a-5c2f0e1b2a3c";
    let pref = json!({"userId": user, "holdShelf": true, "delivery": false});
    let (s, b) = f
        .post(
            "/request-preference-storage/request-preference",
            pref.clone(),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let other = json!({"userId": "0b6e2a1c-4c6f-4f7e-9d3b-2a1c0e9f8d7c", "holdShelf": true, "delivery": false});
    let (s, b) = f
        .post("/request-preference-storage/request-preference", other)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let other_id = parse(&b)["id"].as_str().expect("id").to_string();
    let (s, b) = f
        .post(
            "/request-preference-storage/request-preference",
            pref.clone(),
        )
        .await;
    let mut moved = pref.clone();
    moved["id"] = json!(other_id);
    let (s2, b2) = f
        .send(
            Method::PUT,
            &format!("/request-preference-storage/request-preference/{other_id}"),
            Some(moved),
        )
        .await;
    for (s, b) in [(s, b), (s2, b2)] {
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
        let e = &parse(&b)["errors"][0];
        assert_eq!(
            e["message"],
            "Request preference for specified user already exists"
        );
        assert_eq!(e["parameters"][0]["key"], "userId");
        assert_eq!(e["parameters"][0]["value"], user);
    }
    h.shutdown().await.expect("shutdown");
}

/// "Only two fields are required": `first_name` and `last_name` (illiad-libib-api.md §1.2, the
/// "Create" row, line 60, Libib docs post-patrons-rest-api), and on update they "can not be
/// empty" (the "Update" row, line 61). The docs give no status or message (§1.4 [SILENT]): the
/// sandbox answers 400, its own words, and a client must read only the status.
#[tokio::test]
async fn libib_create_requires_first_and_last_name() {
    let h = sandbox(fast()).await;
    let l = Libib::new(&h);
    for q in [
        "first_name=Mary",
        "last_name=Shelley",
        "first_name=%20&last_name=Shelley",
    ] {
        let (s, b) = l.send(Method::POST, &format!("/patrons?{q}")).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{q}: {b}");
    }
    assert_eq!(
        parse(&l.send(Method::GET, "/patrons").await.1)["total"],
        0,
        "nothing created"
    );
    let p = l.create(1).await;
    let barcode = p["barcode"].as_str().expect("barcode");
    let (s, _) = l
        .send(Method::POST, &format!("/patrons/{barcode}?last_name="))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (_, b) = l.send(Method::GET, &format!("/patrons/{barcode}")).await;
    assert_eq!(parse(&b)["last_name"], "Libib", "unchanged");
    h.shutdown().await.expect("shutdown");
}

/// `Username` is the one "Required field" (seeds/illiad-webplatform-users-api.txt line 287,
/// "Required Parameters" lines 401-405); without it the platform answers `{"Message":"The
/// request is invalid.","ModelState":{"model.UserName":["The UserName field is required."]}}`
/// (illiad-libib-api.md §2.3 lines 240-242, pulibrary/orangelight
/// `spec/models/requests/illiad_patron_spec.rb`).
#[tokio::test]
async fn illiad_create_without_username_is_the_required_model_state() {
    let h = sandbox(SandboxConfig::default()).await;
    for body in [
        json!({"NVTGC": "ILL", "LastName": "Doe"}),
        json!({"UserName": "  ", "NVTGC": "ILL"}),
    ] {
        let (s, b) = illiad_post(&h, body.clone()).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(
            b,
            json!({"Message": "The request is invalid.",
                   "ModelState": {"model.UserName": ["The UserName field is required."]}}),
            "{body}"
        );
    }
    h.shutdown().await.expect("shutdown");
}

/// `custom-fields` is an Okapi "multiple" interface: without `X-Okapi-Module-Id` Okapi finds no
/// handler (folio-org/okapi `okapi-core/src/main/java/org/folio/okapi/util/ModuleCache.java`
/// lines 190-195) and answers 404 "No suitable module found for path {0} for tenant {1}"
/// (`okapi-core/src/main/java/org/folio/okapi/managers/ProxyService.java` lines 242-244); with
/// it the definitions are served.
#[tokio::test]
async fn folio_custom_fields_without_a_module_id_is_okapis_404() {
    let h = sandbox(SandboxConfig::default()).await;
    let f = Folio::login(&h).await;
    let (s, b) = f.get("/custom-fields").await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
    assert_eq!(
        b,
        "No suitable module found for path /custom-fields for tenant diku"
    );
    let r =
        f.c.get(format!("{}/custom-fields", f.base))
            .header("x-okapi-tenant", "diku")
            .header("x-okapi-token", &f.token)
            .header("x-okapi-module-id", "mod-users-19.6.0")
            .send()
            .await
            .expect("request");
    assert_eq!(r.status(), StatusCode::OK);
    h.shutdown().await.expect("shutdown");
}

/// The gate in front of every FOLIO route: an unknown tenant is Okapi's 400 "No such Tenant {0}"
/// (folio-org/okapi `okapi-core/src/main/java/org/folio/okapi/managers/ProxyService.java` line
/// 552, `Messages_en.properties` line 12); no tenant header is mod-authtoken's 400 "Missing
/// header: X-Okapi-Tenant" (`FilterApi.java` lines 44 and 107); no token is 400 "Token missing,
/// access requires permission: P" (lines 321-341) with P from mod-users'
/// `descriptors/ModuleDescriptor-template.json` (line 18); an unknown token is 401 "Invalid
/// token" (`apis/Api.java` lines 41-48).
#[tokio::test]
async fn folio_gate_answers_as_okapi_and_mod_authtoken_do() {
    let h = sandbox(SandboxConfig::default()).await;
    let c = Client::new();
    let users = format!("{}/users", h.folio_url());
    let send = |tenant: Option<&'static str>, token: Option<&'static str>| {
        let mut r = c.get(&users);
        if let Some(t) = tenant {
            r = r.header("x-okapi-tenant", t);
        }
        if let Some(t) = token {
            r = r.header("x-okapi-token", t);
        }
        r.send()
    };
    for (tenant, token, status, body) in [
        (
            None,
            Some("x"),
            StatusCode::BAD_REQUEST,
            "Missing header: X-Okapi-Tenant",
        ),
        (
            Some("nope"),
            Some("x"),
            StatusCode::BAD_REQUEST,
            "No such Tenant nope",
        ),
        (
            Some("diku"),
            None,
            StatusCode::BAD_REQUEST,
            "Token missing, access requires permission: users.collection.get",
        ),
        (
            Some("diku"),
            Some("not-a-token"),
            StatusCode::UNAUTHORIZED,
            "Invalid token",
        ),
    ] {
        let r = send(tenant, token).await.expect("request");
        assert_eq!(r.status(), status, "{tenant:?} {token:?}");
        assert_eq!(
            r.text().await.unwrap_or_default(),
            body,
            "{tenant:?} {token:?}"
        );
    }
    h.shutdown().await.expect("shutdown");
}

/// mod-users' own texts (folio-org/mod-users `src/main/java/org/folio/rest/impl/UsersAPI.java`):
/// an empty delete-by-query (line 524), a PUT naming an address type that does not exist (lines
/// 596-601), an address type in use (`AddressTypeAPI.java` lines 83-88), a group its users
/// reference (the `patronGroup` foreign key, `db_scripts/schema.json` lines 185-190, in RMB's
/// words: `PgUtil.java` lines 316-326); and `personal.pronouns` longer than its `maxLength: 300`
/// (`ramls/userdata.json` lines 61-64) is a jakarta `@Size` 422.
#[tokio::test]
async fn folio_mod_users_texts_for_deletes_puts_and_sizes() {
    let h = sandbox(SandboxConfig::default()).await;
    let f = Folio::login(&h).await;
    let staff = "3684a786-6671-4268-8ed0-9db82ebca60b";
    let home = "93d3d88d-499b-45d0-9bc7-ac73c3a19880";
    let (s, b) = f
        .post(
            "/users",
            json!({"username": "in-use", "patronGroup": staff,
                   "personal": {"lastName": "U", "addresses": [{"addressTypeId": home}]}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let id = parse(&b)["id"].as_str().expect("id").to_string();
    let (s, b) = f.send(Method::DELETE, "/users?query=", None).await;
    assert_eq!(
        (s, b.as_str()),
        (
            StatusCode::BAD_REQUEST,
            "Expected CQL but query parameter is empty"
        )
    );
    let (s, b) = f
        .send(Method::DELETE, &format!("/addresstypes/{home}"), None)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        b,
        format!("Cannot remove address type '{home}' as it is being used")
    );
    let (s, b) = f
        .send(Method::DELETE, &format!("/groups/{staff}"), None)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        b,
        format!(
            "Cannot delete groups.id = {staff} because id is still referenced from table users."
        )
    );
    let (s, b) = f
        .send(
            Method::PUT,
            &format!("/users/{id}"),
            Some(
                json!({"id": id, "username": "in-use", "personal": {"lastName": "U",
                "addresses": [{"addressTypeId": "00000000-0000-4000-8000-000000000000"}]}}),
            ),
        )
        .await;
    assert_eq!(
        (s, b.as_str()),
        (
            StatusCode::BAD_REQUEST,
            "All addresses types defined for users must be existing"
        )
    );
    let long = "x".repeat(301);
    let (s, b) = f
        .post(
            "/users",
            json!({"username": "p", "personal": {"lastName": "P", "pronouns": long}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    let e = &parse(&b)["errors"][0];
    assert_eq!(e["message"], "size must be between 0 and 300");
    assert_eq!(e["parameters"][0]["key"], "personal.pronouns");
    h.shutdown().await.expect("shutdown");
}

/// Libib's write-field constraints (illiad-libib-api.md §1.2 lines 66-77, Libib docs
/// post-patrons-rest-api): `barcode` "must be 5–15 digits", `country` "a valid 2-character
/// code", `state` "MUST be the two character abbreviation" when the country is US,
/// `notification_emails` "up to 3"; a refusal is a 400 (its words the sandbox's own: §1.4
/// [SILENT]) and creates nothing.
#[tokio::test]
async fn libib_write_field_constraints_are_the_documented_ones() {
    let h = sandbox(fast()).await;
    let l = Libib::new(&h);
    let base = "/patrons?first_name=A&last_name=B";
    for (extra, ok) in [
        ("&barcode=1234", false),
        ("&barcode=1234567890123456", false),
        ("&barcode=12a45", false),
        ("&barcode=12345", true),
        ("&country=USA", false),
        ("&country=ca&state=Ontario", true),
        ("&state=Kansas", false),
        ("&state=KS", true),
        (
            "&notification_emails=a%40x.org,b%40x.org,c%40x.org,d%40x.org",
            false,
        ),
        ("&notification_emails=e%40x.org,f%40x.org,g%40x.org", true),
    ] {
        let (s, b) = l.send(Method::POST, &format!("{base}{extra}")).await;
        if ok {
            assert!(s.is_success(), "{extra}: {s} {b}");
        } else {
            assert_eq!(s, StatusCode::BAD_REQUEST, "{extra}: {b}");
        }
    }
    let (_, b) = l.send(Method::GET, "/patrons").await;
    assert_eq!(parse(&b)["total"], 4, "only the accepted ones were created");
    h.shutdown().await.expect("shutdown");
}
