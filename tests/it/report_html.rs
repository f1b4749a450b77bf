//! The run report people look at: `report.html` in every run folder (parsed with an HTML parser
//! and compared with the CSV report), the XLSX Summary sheet, names on every line, rejects files
//! with every original cell, and `--notify-command`.

use crate::harness::*;
use scraper::{ElementRef, Html, Selector};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn sel(s: &str) -> Selector {
    Selector::parse(s).unwrap()
}

fn text_of(e: ElementRef<'_>) -> String {
    e.text().collect::<String>().trim().to_string()
}

/// The run folder a command printed (`html report: <folder>/report.html`).
fn run_folder(out: &std::process::Output) -> PathBuf {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("html report: "))
        .unwrap_or_else(|| panic!("no html report line: {stdout}"));
    Path::new(line).parent().unwrap().to_path_buf()
}

/// Rows of the page's table: (outcome, line, key, name, code, message).
fn page_rows(page: &Html, table: &str) -> Vec<HashMap<&'static str, String>> {
    let cell =
        |tr: ElementRef<'_>, s: &str| tr.select(&sel(s)).next().map(text_of).unwrap_or_default();
    page.select(&sel(&format!("{table} tbody tr")))
        .map(|tr| {
            HashMap::from([
                ("outcome", tr.attr("data-outcome").unwrap_or("").to_string()),
                ("code", tr.attr("data-code").unwrap_or("").to_string()),
                ("line", cell(tr, "td.line")),
                ("key", cell(tr, "td.key")),
                ("name", cell(tr, "td.name")),
                ("msg", cell(tr, "td.reason span.msg")),
            ])
        })
        .collect()
}

/// The page's counts per outcome (the filter buttons).
fn page_counts(page: &Html) -> HashMap<String, u64> {
    page.select(&sel("#counts button[data-outcome]"))
        .map(|b| {
            let n = b.select(&sel(".n")).next().map(text_of).unwrap_or_default();
            (
                b.attr("data-outcome").unwrap().to_string(),
                n.parse().unwrap(),
            )
        })
        .collect()
}

fn csv_counts(rows: &[HashMap<String, String>]) -> HashMap<String, u64> {
    let mut m = HashMap::new();
    for r in rows {
        *m.entry(r["outcome"].clone()).or_insert(0) += 1;
    }
    m
}

fn sample_import(dir: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "import",
        "samples/roster.csv",
        "--mapping",
        "mappings/folio.toml",
        "--to",
        "sandbox:folio",
    ];
    args.extend_from_slice(extra);
    let samples = dir.join("samples");
    std::fs::create_dir_all(&samples).unwrap();
    std::fs::copy(
        root().join("samples/roster.csv"),
        samples.join("roster.csv"),
    )
    .unwrap();
    let mappings = dir.join("mappings");
    std::fs::create_dir_all(&mappings).unwrap();
    std::fs::copy(
        root().join("mappings/folio.toml"),
        mappings.join("folio.toml"),
    )
    .unwrap();
    run_in(dir, &args)
}

#[test]
fn sample_import_page_agrees_with_the_csv_report_and_the_terminal_shows_real_messages() {
    let dir = Workdir::new();
    let d = dir.path();
    let out = sample_import(d, &["--report", "r.xlsx"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let run = run_folder(&out);
    let csv = read_report(&run.join("report.csv"));
    assert_eq!(csv.len(), 50);
    let page = Html::parse_document(&std::fs::read_to_string(run.join("report.html")).unwrap());

    // Counts equal the CSV report's, and so do the table's rows per outcome.
    let want = csv_counts(&csv);
    assert_eq!(page_counts(&page), want);
    let rows = page_rows(&page, "#rows");
    assert_eq!(rows.len(), csv.len());
    let mut table_counts: HashMap<String, u64> = HashMap::new();
    for r in &rows {
        *table_counts.entry(r["outcome"].clone()).or_insert(0) += 1;
    }
    assert_eq!(table_counts, want);

    // Every rejected line is in the table with its reason and code, and in the reasons section.
    let rejected: Vec<_> = csv.iter().filter(|r| r["outcome"] == "rejected").collect();
    assert_eq!(rejected.len(), 7);
    let reasons_text = page
        .select(&sel("#reasons"))
        .next()
        .map(text_of)
        .unwrap_or_default();
    for r in &rejected {
        let hit = rows
            .iter()
            .find(|p| p["line"] == r["line"])
            .unwrap_or_else(|| panic!("line {} not in the page", r["line"]));
        assert_eq!(hit["outcome"], "rejected");
        assert_eq!(hit["msg"], r["reason"], "line {}", r["line"]);
        assert!(!hit["code"].is_empty(), "line {} has a code", r["line"]);
        assert!(
            reasons_text.contains(&r["reason"]),
            "{} not grouped: {reasons_text}",
            r["reason"]
        );
    }
    // The codes the sample's bad rows should get.
    let codes: HashMap<&str, &str> = rows
        .iter()
        .filter(|r| !r["code"].is_empty())
        .map(|r| (r["line"].as_str(), r["code"].as_str()))
        .collect();
    assert_eq!(codes["11"], "required_blank");
    assert_eq!(codes["20"], "bad_email");
    assert_eq!(codes["28"], "unknown_value");
    assert_eq!(codes["29"], "bad_date");
    assert_eq!(codes["37"], "scientific_notation");
    assert_eq!(codes["43"], "malformed_row");
    assert_eq!(codes["47"], "duplicate_key");

    // Names: from the record, the same in the CSV and the page.
    let line2 = csv.iter().find(|r| r["line"] == "2").unwrap();
    assert_eq!(
        line2["name"], "Pepe Núñez",
        "preferred first name, then last"
    );
    for (c, p) in csv.iter().zip(&rows) {
        assert_eq!(c["name"], p["name"], "line {}", c["line"]);
    }
    assert!(csv
        .iter()
        .filter(|r| r["outcome"] == "would_create")
        .all(|r| !r["name"].is_empty()));

    // The page is self-contained: no external scripts, styles, images or fonts.
    for (tag, attr) in [("script", "src"), ("link", "href"), ("img", "src")] {
        assert_eq!(
            page.select(&sel(&format!("{tag}[{attr}]"))).count(),
            0,
            "{tag}"
        );
    }

    // The terminal summary: real messages (no digit → N rewriting) and the page's path.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("expected 17 fields (as in the header), found 18 — line 43"),
        "{stdout}"
    );
    assert!(
        stdout.contains("\"2.10E+12\" looks like a number"),
        "{stdout}"
    );
    assert!(stdout.contains("bad_email"), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "html report: {}",
            run.join("report.html").display()
        )),
        "{stdout}"
    );

    // The XLSX report: Summary first (counts, codes with messages and lines), then Rows.
    use calamine::Reader;
    let mut wb = calamine::open_workbook_auto(d.join("r.xlsx")).unwrap();
    assert_eq!(wb.sheet_names(), vec!["Summary".to_string(), "Rows".into()]);
    let summary = wb.worksheet_range("Summary").unwrap();
    let cells: Vec<Vec<String>> = summary
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    let count_of = |name: &str| {
        cells
            .iter()
            .find(|r| r.first().map(String::as_str) == Some(name))
            .and_then(|r| r.get(1))
            .cloned()
    };
    assert_eq!(count_of("rejected").as_deref(), Some("7"));
    assert_eq!(count_of("would_create").as_deref(), Some("43"));
    let dup = cells
        .iter()
        .find(|r| r.first().map(String::as_str) == Some("duplicate_key"))
        .expect("duplicate_key line");
    assert_eq!(dup[3], "line 47");
    let rows_sheet = wb.worksheet_range("Rows").unwrap();
    assert_eq!(rows_sheet.rows().count(), 51);
    assert_eq!(rows_sheet.get((0, 3)).unwrap().to_string(), "name");
}

#[test]
fn rejects_file_has_the_line_the_reason_and_every_original_cell() {
    let dir = Workdir::new();
    let d = dir.path();
    let out = sample_import(d, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let run = run_folder(&out);
    let mut r = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(run.join("rejects.csv"))
        .unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    assert_eq!(header[..2], ["line".to_string(), "reason".into()]);
    let rows: Vec<Vec<String>> = r
        .records()
        .map(|x| x.unwrap().iter().map(str::to_string).collect())
        .collect();
    assert_eq!(rows.len(), 7);
    // The sample's physical lines (one row each), read the same way: line 43 has one cell too
    // many.
    let sample = std::fs::read_to_string(root().join("samples/roster.csv")).unwrap();
    let cells_of = |line: u64| -> Vec<String> {
        let text = sample.lines().nth(line as usize - 1).unwrap();
        let mut r = csv::ReaderBuilder::new()
            .flexible(true)
            .has_headers(false)
            .from_reader(text.as_bytes());
        let rec = r.records().next().unwrap().unwrap();
        rec.iter().map(str::to_string).collect()
    };
    for row in &rows {
        let line: u64 = row[0].parse().unwrap();
        assert!(!row[1].is_empty(), "line {line} has a reason");
        assert_eq!(row[2..], cells_of(line)[..], "line {line}: every cell kept");
    }
    let ragged = rows.iter().find(|r| r[0] == "43").expect("line 43");
    assert_eq!(ragged.len(), header.len() + 1, "the extra cell is kept");
}

const SYNC_MAPPING: &str = r#"system = "folio"
match = "externalSystemId"
[scope]
patron_groups = ["undergrad"]
[fields]
externalSystemId = { column = "ID", required = true }
username = { column = "User" }
patronGroup = { column = "Group", map = { UG = "undergrad" } }
active = { value = true }
expirationDate = { column = "Expires" }
"personal.firstName" = { column = "First" }
"personal.lastName" = { column = "Last", required = true }
"#;

fn sync_roster(path: &Path, skip: &[usize]) {
    let mut w = csv::Writer::from_path(path).unwrap();
    w.write_record(["ID", "User", "Group", "Expires", "First", "Last"])
        .unwrap();
    for i in (0..20).filter(|i| !skip.contains(i)) {
        w.write_record([
            format!("S{i:04}"),
            format!("stu{i}"),
            "UG".into(),
            "2030-06-30".into(),
            format!("Ada{i}"),
            format!("Student{i}"),
        ])
        .unwrap();
    }
    w.flush().unwrap();
}

#[test]
fn absent_patrons_are_listed_with_name_username_group_and_no_invented_line() {
    let dir = Workdir::new();
    let d = dir.path();
    let sb = dir.sandbox(&[]);
    sb.folio_config(d, "rate = 1000\nconcurrency = 4\n");
    std::fs::write(d.join("m.toml"), SYNC_MAPPING).unwrap();
    sync_roster(&d.join("full.csv"), &[]);
    let o = run_in(
        d,
        &[
            "import", "full.csv", "-m", "m.toml", "--to", "sb", "--commit",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    sync_roster(&d.join("spring.csv"), &[4, 11]);
    let o = run_in(
        d,
        &[
            "import",
            "spring.csv",
            "-m",
            "m.toml",
            "--to",
            "sb",
            "--missing",
            "deactivate",
            "--max-missing",
            "20",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let run = run_folder(&o);
    let csv = read_report(&run.join("report.csv"));
    let absent: Vec<_> = csv
        .iter()
        .filter(|r| r["outcome"] == "would_deactivate")
        .collect();
    assert_eq!(absent.len(), 2, "{csv:?}");
    for r in &absent {
        assert_eq!(r["line"], "", "no invented line numbers");
        assert!(r["name"].starts_with("Ada"), "{r:?}");
    }
    let page = Html::parse_document(&std::fs::read_to_string(run.join("report.html")).unwrap());
    let cell = |tr: ElementRef<'_>, s: &str| tr.select(&sel(s)).next().map(text_of).unwrap();
    let mut listed: Vec<(String, String, String, String)> = page
        .select(&sel("#absent tbody tr"))
        .map(|tr| {
            (
                cell(tr, "td.name"),
                cell(tr, "td.username"),
                cell(tr, "td.group"),
                cell(tr, "td.expires"),
            )
        })
        .collect();
    listed.sort();
    assert_eq!(
        listed,
        vec![
            (
                "Ada11 Student11".to_string(),
                "stu11".to_string(),
                "undergrad".to_string(),
                "2030-06-30".to_string()
            ),
            (
                "Ada4 Student4".into(),
                "stu4".into(),
                "undergrad".into(),
                "2030-06-30".into()
            ),
        ]
    );
    // In the rows table too, with an empty line cell.
    let rows = page_rows(&page, "#rows");
    let in_table: Vec<_> = rows
        .iter()
        .filter(|r| r["outcome"] == "would_deactivate")
        .collect();
    assert_eq!(in_table.len(), 2);
    assert!(in_table.iter().all(|r| r["line"].is_empty()));
    assert_eq!(page_counts(&page), csv_counts(&csv));
}

#[test]
fn notify_command_receives_the_summary_json_with_the_run_counts() {
    let dir = Workdir::new();
    let d = dir.path();
    let got = d.join("notified.json");
    let cmd = format!("cat > '{}'", got.display());
    let out = sample_import(d, &["--notify-command", &cmd]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let run = run_folder(&out);
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&got).unwrap()).unwrap();
    let csv = read_report(&run.join("report.csv"));
    assert_eq!(json["rows"], csv.len() as u64);
    for (outcome, n) in csv_counts(&csv) {
        assert_eq!(json["outcomes"][&outcome], n, "{outcome}: {json}");
    }
    assert_eq!(json["command"], "import");
    assert_eq!(json["exit_code"], 1);
    assert_eq!(json["reasons"]["duplicate_key"], 1);
    assert_eq!(
        json["report"].as_str(),
        Some(run.join("report.html").to_str().unwrap())
    );

    // The same from a [notify] table in patron-etl.toml, for an export; a failing command is a
    // warning that leaves the exit code alone.
    std::fs::write(
        d.join("patron-etl.toml"),
        format!(
            "[notify]\ncommand = \"cat > '{}'; exit 3\"\n",
            got.display()
        ),
    )
    .unwrap();
    let out = run_in(
        d,
        &["export", "--from", "sandbox:folio", "--out", "all.csv"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("notify command exited"),
        "{}",
        text(&out)
    );
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&got).unwrap()).unwrap();
    assert_eq!(json["command"], "export");
    let exported = read_report(&d.join("all.csv")).len() as u64;
    assert_eq!(json["rows"], exported);
    // The export's own page counts what it wrote.
    let page = Html::parse_document(
        &std::fs::read_to_string(Path::new(json["report"].as_str().unwrap())).unwrap(),
    );
    assert_eq!(page_counts(&page)["exported"], exported);
}

#[test]
fn undo_leaves_a_page_with_one_row_per_record() {
    let dir = Workdir::new();
    let d = dir.path();
    let out = sample_import(d, &["--commit"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let run = run_folder(&out);
    let id = run.file_name().unwrap().to_str().unwrap().to_string();
    let csv = read_report(&run.join("report.csv"));
    let created = csv.iter().filter(|r| r["outcome"] == "created").count() as u64;
    assert_eq!(created, 43);
    let out = dir.run(&["undo", &id]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let undo = run_folder(&out);
    assert_ne!(undo, run);
    let page = Html::parse_document(&std::fs::read_to_string(undo.join("report.html")).unwrap());
    assert_eq!(page_counts(&page)["would_delete"], created);
    assert_eq!(page_rows(&page, "#rows").len() as u64, created);
}
