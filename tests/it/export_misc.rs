//! Export details end to end against the sandbox (a separate process): formula neutralisation
//! and text ids in CSV and XLSX, Libib de-duplication by barcode while pages shift, ILLiad
//! export by id list, and exit codes for usage and unreachable targets.

use crate::harness::export::*;
use crate::harness::*;
use calamine::{Data, Reader, Xlsx};
use serde_json::json;
use std::time::{Duration, Instant};

#[test]
fn formulas_neutralised_and_barcodes_kept_as_text_in_csv_and_xlsx() {
    let dir = Workdir::new();
    let d = dir.path();
    let sb = dir.sandbox(&[]);
    write_config(&sb, d);
    let evil = r#"=HYPERLINK("http://x","y")"#;
    load_folio_users(
        &sb,
        &[
            json!({"username": "zero", "barcode": "000123", "active": true,
            "expirationDate": "2027-06-30",
            "personal": {"lastName": evil, "firstName": "@SUM(A1)"}}),
        ],
    );
    for out in ["p.csv", "p.xlsx"] {
        let o = run_in(
            d,
            &[
                "export",
                "--from",
                "sb",
                "--out",
                out,
                "--excel",
                "--headers",
                "fields",
            ],
        );
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    }

    let raw = std::fs::read(d.join("p.csv")).unwrap();
    assert!(raw.starts_with(b"\xEF\xBB\xBFid,"), "--excel adds a BOM");
    let (header, rows) = read_csv(&d.join("p.csv"));
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h.trim_start_matches('\u{feff}') == name)
            .unwrap()
    };
    assert_eq!(rows[0][col("personal.lastName")], format!("'{evil}"));
    assert_eq!(rows[0][col("personal.firstName")], "'@SUM(A1)");
    assert_eq!(rows[0][col("barcode")], "000123");

    let mut wb: Xlsx<_> = calamine::open_workbook(d.join("p.xlsx")).unwrap();
    let sheet = wb.worksheet_range("patrons").unwrap();
    let head: Vec<String> = sheet
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(
        head,
        header
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}').to_string())
            .collect::<Vec<_>>()
    );
    let row = sheet.rows().nth(1).unwrap();
    let at = |name: &str| &row[head.iter().position(|h| h == name).unwrap()];
    assert_eq!(
        at("barcode"),
        &Data::String("000123".into()),
        "barcode is a text cell"
    );
    // A string cell is never evaluated: the text is written exactly, with no guard.
    assert_eq!(at("personal.lastName"), &Data::String(evil.into()));
    assert!(
        matches!(at("expirationDate"), Data::DateTime(dt) if dt.as_datetime().map(|t| t.to_string()).as_deref() == Some("2027-06-30 00:00:00")),
        "dates are date cells: {:?}",
        at("expirationDate")
    );
    assert!(
        wb.worksheet_formula("patrons")
            .unwrap()
            .used_cells()
            .next()
            .is_none(),
        "no formulas"
    );
}

/// How many `GET /libib/patrons` (list) requests the sandbox has answered.
fn list_requests(sb: &Sandbox) -> u64 {
    sb.get("/_sandbox/stats")["requests"]["GET /libib/patrons"]
        .as_u64()
        .unwrap_or(0)
}

fn libib(sb: &Sandbox, method: reqwest::Method, path: &str) -> serde_json::Value {
    let r = client()
        .request(method, format!("{}/libib{path}", sb.base))
        .header("x-api-key", "sandbox-libib-key")
        .header("x-api-user", "sandbox-user")
        .send()
        .unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().unwrap_or(serde_json::Value::Null)
}

#[test]
fn libib_export_pages_and_drops_repeated_barcodes() {
    let dir = Workdir::new();
    let d = dir.path();
    let sb = dir.sandbox(&["--libib-interval-ms", "0"]);
    write_config(&sb, d);
    let mut barcodes = Vec::new();
    for i in 0..120 {
        let p = libib(
            &sb,
            reqwest::Method::POST,
            &format!("/patrons?first_name=P{i}&last_name=Lib&email=p{i}%40example.edu"),
        );
        barcodes.push(p["barcode"].as_str().unwrap().to_string());
    }
    // Patron 10 is deleted when page 1 is read and restored before page 2: page 2 then starts
    // with page 1's last patron again.
    libib(
        &sb,
        reqwest::Method::DELETE,
        &format!("/patrons/{}", barcodes[10]),
    );
    let child = cmd_in(
        d,
        &["export", "--from", "lib", "--out", "lib.csv", "--rate", "1"],
    )
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    let start = Instant::now();
    while list_requests(&sb) == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "export never asked for a page"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    libib(
        &sb,
        reqwest::Method::PATCH,
        &format!("/patrons/{}", barcodes[10]),
    );
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("duplicates              1"),
        "{}",
        text(&o)
    );
    let (header, rows) = read_csv(&d.join("lib.csv"));
    assert_eq!(header[0], "barcode");
    let got: std::collections::BTreeSet<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(got.len(), rows.len(), "no barcode twice");
    assert_eq!(
        rows.len(),
        119,
        "everyone but the patron restored behind the export"
    );
    assert_eq!(list_requests(&sb), 3, "3 pages of 50");
}

#[test]
fn illiad_export_needs_ids_and_lists_the_ones_not_found() {
    let dir = Workdir::new();
    let d = dir.path();
    // A key whose ExternalUserIDMapping is SSN, so user names and external ids differ.
    let sb = dir.sandbox(&["--illiad-external-id-field", "SSN"]);
    write_config(&sb, d);
    for (user, ext) in [("alice", "E100"), ("bob", "E200"), ("carol", "E300")] {
        let r = client()
            .post(format!("{}/illiad/ILLiadWebPlatform/Users", sb.base))
            .header("ApiKey", "sandbox-illiad-key")
            .header("Accept", "application/json; version=1")
            .json(&json!({"UserName": user, "ExternalUserId": ext, "NVTGC": "ILL", "LastName": user.to_uppercase(), "EMailAddress": format!("{user}@example.edu")}))
            .send()
            .unwrap();
        assert!(r.status().is_success(), "{}", r.text().unwrap_or_default());
    }
    let o = dir.run(&["export", "--from", "ill", "--out", "ill.csv"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--ids"), "{}", text(&o));

    std::fs::write(
        d.join("ids.txt"),
        "# netids\nalice\nE200\n\nnobody\nghost/x y\nalice\n",
    )
    .unwrap();
    let o = run_in(
        d,
        &[
            "export", "--from", "ill", "--ids", "ids.txt", "--out", "ill.csv",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = text(&o);
    assert!(
        out.contains("not found               2: nobody, ghost/x y"),
        "{out}"
    );
    let (header, rows) = read_csv(&d.join("ill.csv"));
    let user = header.iter().position(|h| h == "UserName").unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r[user].as_str()).collect();
    assert_eq!(
        names,
        ["alice", "bob"],
        "found by user name, then by external id"
    );
    let runs = d.join(".patron-etl/runs");
    // Other runs (the seeding import) have folders too; the export's is the one with the list.
    let listed = std::fs::read_dir(&runs)
        .unwrap()
        .filter_map(|e| std::fs::read_to_string(e.unwrap().path().join("not-found.txt")).ok())
        .next()
        .expect("the export's run folder lists the ids not found");
    assert!(
        listed.contains("nobody\tnot found") && listed.contains("ghost/x y"),
        "{listed}"
    );
}

#[test]
fn usage_and_unreachable_exit_codes() {
    let dir = Workdir::new();
    let d = dir.path();
    std::fs::write(
        d.join("patron-etl.toml"),
        "[targets.gone]\nsystem = \"folio\"\nurl = \"http://127.0.0.1:9\"\ntenant = \"diku\"\nusername = \"x\"\npassword_env = \"SB_FOLIO_PASSWORD\"\n",
    )
    .unwrap();
    let o = dir.run(&["export", "--from", "gone", "--out", "x.csv"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(!d.join("x.csv").exists(), "no file for a failed export");
    let o = dir.run(&["export", "--from", "gone", "--out", "x.txt"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    // A native backup is JSON Lines, and holds records, not a mapping's columns.
    let o = run_in(
        d,
        &[
            "export", "--from", "gone", "--out", "x.csv", "--format", "native",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let m = root().join("mappings/folio.toml");
    let m = m.to_str().unwrap();
    let args = [
        "export", "--from", "gone", "--out", "x.jsonl", "--format", "native", "-m", m,
    ];
    let o = dir.run(&args);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--format columns"), "{}", text(&o));
    let sb = dir.sandbox(&[]);
    write_config(&sb, d);
    let o = cmd_in(d, &["export", "--from", "sb", "--out", "x.csv"])
        .env("SB_FOLIO_PASSWORD", "hunter2-secret")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(
        !text(&o).contains("hunter2"),
        "no secret in the message: {}",
        text(&o)
    );
}

/// A native backup's records after its header line.
fn backup_records(path: &std::path::Path) -> (serde_json::Value, Vec<serde_json::Value>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = serde_json::from_str(lines.next().unwrap()).unwrap();
    (
        header,
        lines.map(|l| serde_json::from_str(l).unwrap()).collect(),
    )
}

#[test]
fn libib_and_illiad_native_backups_restore_exactly_and_only_into_their_system() {
    let dir = Workdir::new();
    let d = dir.path();
    let source = Sandbox::start(
        d,
        &[
            "--libib-interval-ms",
            "0",
            "--illiad-external-id-field",
            "SSN",
        ],
    );
    write_config(&source, d);
    for i in 0..60 {
        let mut q =
            format!("/patrons?first_name=P%C3%A9{i}&last_name=Lib&email=p{i}%40example.edu");
        if i % 3 == 0 {
            q += "&tags=staff,grad&phone=555-01&city=Madison&state=WI&zip=53703";
        }
        if i % 7 == 0 {
            q += "&freeze=1";
        }
        libib(&source, reqwest::Method::POST, &q);
    }
    for (user, ext) in [("alice", "E100"), ("bob", "E200"), ("carol", "E300")] {
        let r = client()
            .post(format!("{}/illiad/ILLiadWebPlatform/Users", source.base))
            .header("ApiKey", "sandbox-illiad-key")
            .header("Accept", "application/json; version=1")
            .json(&json!({"UserName": user, "ExternalUserId": ext, "NVTGC": "ILL", "LastName": "Ñandú", "Department": "Maths", "EMailAddress": format!("{user}@example.edu")}))
            .send()
            .unwrap();
        assert!(r.status().is_success(), "{}", r.text().unwrap_or_default());
    }
    std::fs::write(d.join("ids.txt"), "alice\nbob\ncarol\n").unwrap();
    let o = run_in(
        d,
        &[
            "export",
            "--from",
            "lib",
            "--out",
            "lib.jsonl",
            "--rate",
            "1000",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = run_in(
        d,
        &[
            "export",
            "--from",
            "ill",
            "--ids",
            "ids.txt",
            "--out",
            "ill.jsonl",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let (header, lib) = backup_records(&d.join("lib.jsonl"));
    assert_eq!(header["system"], "libib");
    assert_eq!(lib.len(), 60);
    // Filters: Libib pages are filtered as they arrive; the summary states the filter.
    let o = run_in(
        d,
        &[
            "export",
            "--from",
            "lib",
            "--out",
            "staff.jsonl",
            "--rate",
            "1000",
            "--tag",
            "STAFF",
            "--active-only",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("filter         active only; tag STAFF"),
        "{}",
        text(&o)
    );
    let (_, staff) = backup_records(&d.join("staff.jsonl"));
    assert_eq!(
        staff.len(),
        17,
        "tagged staff (every 3rd) and not frozen (every 7th)"
    );
    let o = run_in(
        d,
        &[
            "export", "--from", "lib", "--out", "g.jsonl", "--group", "staff",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "--group is FOLIO's: {}", text(&o));
    let (header, ill) = backup_records(&d.join("ill.jsonl"));
    assert_eq!(header["system"], "illiad");
    assert_eq!(ill.len(), 3);
    assert!(ill.iter().all(|u| u.get("Password").is_none()));

    let tdir = Workdir::new();
    let t = tdir.path();
    let target = Sandbox::start(
        t,
        &[
            "--libib-interval-ms",
            "0",
            "--illiad-external-id-field",
            "SSN",
        ],
    );
    write_config(&target, t);
    let lib_file = d.join("lib.jsonl");
    let ill_file = d.join("ill.jsonl");
    let (lib_file, ill_file) = (lib_file.to_str().unwrap(), ill_file.to_str().unwrap());
    // A backup restores only into its own system: exit 2, nothing sent, no run left.
    let o = run_in(t, &["restore", lib_file, "--to", "sb", "--commit"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("libib backup"), "{}", text(&o));
    let o = run_in(t, &["restore", "ids.txt", "--to", "lib"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert_eq!(target.counts("/").0, 0, "nothing written");

    let o = run_in(
        t,
        &[
            "restore", lib_file, "--to", "lib", "--commit", "--rate", "1000",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = run_in(
        t,
        &[
            "export",
            "--from",
            "lib",
            "--out",
            "lib.jsonl",
            "--rate",
            "1000",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let (_, lib_again) = backup_records(&t.join("lib.jsonl"));
    assert_eq!(lib_again, lib, "Libib patrons come back exactly");

    // The target key maps ExternalUserId to SSN (as the sandbox here), so the restore says so.
    let o = run_in(
        t,
        &[
            "restore",
            ill_file,
            "--to",
            "ill",
            "--commit",
            "--external-user-id-field",
            "SSN",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    std::fs::write(t.join("ids.txt"), "alice\nbob\ncarol\n").unwrap();
    let o = run_in(
        t,
        &[
            "export",
            "--from",
            "ill",
            "--ids",
            "ids.txt",
            "--out",
            "ill.jsonl",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let (_, ill_again) = backup_records(&t.join("ill.jsonl"));
    let unstamped = |v: &[serde_json::Value]| -> Vec<serde_json::Value> {
        v.iter()
            .map(|u| {
                let mut u = u.clone();
                u.as_object_mut().unwrap().remove("LastChangedDate");
                u
            })
            .collect()
    };
    assert_eq!(
        unstamped(&ill_again),
        unstamped(&ill),
        "ILLiad users come back"
    );
    // ILLiad's API cannot update: a second restore finds them all and writes nothing.
    let (before, _) = target.counts("/illiad");
    // The target key maps ExternalUserId to SSN (as the sandbox here), so the restore says so.
    let o = run_in(
        t,
        &[
            "restore",
            ill_file,
            "--to",
            "ill",
            "--commit",
            "--external-user-id-field",
            "SSN",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(target.counts("/illiad").0, before);
}

#[test]
fn folio_exports_filter_by_activity_group_query_tag_and_limit() {
    let dir = Workdir::new();
    let d = dir.path();
    let sb = dir.sandbox(&[]);
    write_config(&sb, d);
    let mut users = sample_users();
    for u in users.iter_mut().take(9) {
        u["tags"] = json!({"tagList": ["fall-load"]});
    }
    load_folio_users(&sb, &users);
    let all = sb.folio_users();
    let token = sb.folio_token();
    let g: serde_json::Value = client()
        .get(format!("{}/folio/groups?limit=100", sb.base))
        .header("X-Okapi-Tenant", "diku")
        .header("X-Okapi-Token", token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let staff_id = g["usergroups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["group"] == "staff")
        .map(|x| x["id"].as_str().unwrap().to_string())
        .unwrap();
    let want = all
        .iter()
        .filter(|u| u["active"] == true && u["patronGroup"] == staff_id.as_str())
        .count();
    assert!(want > 0 && want < all.len());
    let o = run_in(
        d,
        &[
            "export",
            "--from",
            "sb",
            "--out",
            "s.jsonl",
            "--active-only",
            "--group",
            "staff",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("filter         active only; group staff"),
        "{}",
        text(&o)
    );
    let (_, got) = backup_records(&d.join("s.jsonl"));
    assert_eq!(got.len(), want);
    assert!(got
        .iter()
        .all(|u| u["active"] == true && u["patronGroup"] == staff_id.as_str()));
    let o = run_in(
        d,
        &[
            "export",
            "--from",
            "sb",
            "--out",
            "t.jsonl",
            "--tag",
            "fall-load",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(backup_records(&d.join("t.jsonl")).1.len(), 9);
    let o = run_in(
        d,
        &[
            "export",
            "--from",
            "sb",
            "--out",
            "q.csv",
            "--query",
            "username==\"janae\"",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(read_csv(&d.join("q.csv")).1.len(), 1);
    let o = run_in(
        d,
        &["export", "--from", "sb", "--out", "l.jsonl", "--limit", "7"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("at most 7"), "{}", text(&o));
    assert_eq!(backup_records(&d.join("l.jsonl")).1.len(), 7);
    let o = run_in(
        d,
        &[
            "export", "--from", "sb", "--out", "x.csv", "--group", "nope",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn xlsx_export_is_readable_and_an_existing_file_is_replaced_only_with_force() {
    let dir = Workdir::new();
    let d = dir.path();
    let sb = dir.sandbox(&[]);
    write_config(&sb, d);
    load_folio_users(&sb, &sample_users());
    let o = dir.run(&["export", "--from", "sb", "--out", "x.xlsx"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("order          by name"), "{}", text(&o));
    let mut wb: Xlsx<_> = calamine::open_workbook(d.join("x.xlsx")).unwrap();
    let range = wb.worksheet_range_at(0).unwrap().unwrap();
    let rows: Vec<Vec<String>> = range
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    let header = &rows[0];
    assert_eq!(rows.len(), 304, "303 users and the header");
    for (i, h) in header.iter().enumerate() {
        assert!(
            rows[1..].iter().any(|r| !r[i].trim().is_empty()),
            "column {h} is empty"
        );
        assert!(!h.contains('.'), "readable header, not a field path: {h}");
    }
    for want in [
        "Last name",
        "First name",
        "Patron group",
        "Home address — city",
    ] {
        assert!(header.iter().any(|h| h == want), "{want} in {header:?}");
    }
    let last = header.iter().position(|h| h == "Last name").unwrap();
    let names: Vec<String> = rows[1..].iter().map(|r| r[last].to_lowercase()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "rows sorted by last name");
    // The full layout keeps the empty columns.
    let o = run_in(
        d,
        &[
            "export",
            "--from",
            "sb",
            "--out",
            "all.csv",
            "--all-columns",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let (all, _) = read_csv(&d.join("all.csv"));
    assert!(
        all.len() > header.len(),
        "{} vs {}",
        all.len(),
        header.len()
    );

    let before = std::fs::read(d.join("x.xlsx")).unwrap();
    let o = dir.run(&["export", "--from", "sb", "--out", "x.xlsx"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--force"), "{}", text(&o));
    assert_eq!(
        std::fs::read(d.join("x.xlsx")).unwrap(),
        before,
        "left untouched"
    );
    std::fs::write(d.join("x.xlsx"), b"keep me").unwrap();
    let o = dir.run(&["export", "--from", "sb", "--out", "x.xlsx", "--force"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_ne!(std::fs::read(d.join("x.xlsx")).unwrap(), b"keep me");
}

/// The fields an export mapping leaves out are listed once, in the summary (stdout), and kept
/// in the run log — not repeated as timestamped warnings on the terminal; `runs` calls the
/// export a read.
#[test]
fn fields_an_export_mapping_leaves_out_are_in_the_summary_and_runs_lists_it_as_a_read() {
    let dir = Workdir::new();
    let m = root().join("mappings/folio.toml");
    let m = m.to_str().unwrap();
    let roster = root().join("samples/roster.csv");
    let roster = roster.to_str().unwrap();
    let o = dir.run(&[
        "import",
        roster,
        "--mapping",
        m,
        "--to",
        "sandbox:folio",
        "--commit",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let o = dir.run(&[
        "export",
        "--from",
        "sandbox:folio",
        "--out",
        "roster.csv",
        "--mapping",
        m,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(out.contains("not exported: active (in 43 records"), "{out}");
    assert!(!err.contains("field not in the export's columns"), "{err}");
    let folder = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("run folder: "))
        .expect("run folder line");
    let log = std::fs::read_to_string(std::path::Path::new(folder).join("run.log")).unwrap();
    assert!(
        log.contains("field not in the export's columns field=active records=43"),
        "{log}"
    );
    // `runs` shows an export as a read, not as a "preview" of a write.
    let o = dir.run(&["runs"]);
    let list = String::from_utf8_lossy(&o.stdout);
    let line = list
        .lines()
        .find(|l| l.contains(" export "))
        .expect("export listed");
    assert!(
        line.contains(" read ") && !line.contains("preview"),
        "{list}"
    );
    let id = line.split_whitespace().next().unwrap();
    let o = dir.run(&["runs", id]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("mode           read only"),
        "{}",
        text(&o)
    );
}
