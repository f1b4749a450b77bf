//! Drives the real binary's `check` command over the shipped samples and over broken inputs.

use crate::harness::{bin, root, run_in, text, Workdir};
use std::path::Path;
use std::process::Output;

fn run(args: &[&str], cwd: &Path) -> Output {
    run_in(cwd, args)
}

/// Data records in a CSV file (the header excluded), counted with a plain, flexible parser.
fn csv_rows(path: &Path) -> usize {
    let mut r = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .expect("sample opens");
    r.records().filter(|x| x.is_ok()).count()
}

fn report_rows(path: &Path) -> Vec<csv::StringRecord> {
    let mut r = csv::Reader::from_path(path).expect("report opens");
    r.records().map(|x| x.expect("report row")).collect()
}

#[test]
fn samples_check_with_each_mapping_exits_1_with_one_report_line_per_row() {
    let dir = Workdir::new();
    let roster = root().join("samples/roster.csv");
    let expected = csv_rows(&roster);
    assert!(expected >= 40, "sample roster has about 50 rows");
    for system in ["folio", "illiad", "libib"] {
        let report = dir.path().join(format!("{system}.csv"));
        let out = run(
            &[
                "check",
                roster.to_str().unwrap(),
                "--mapping",
                root()
                    .join(format!("mappings/{system}.toml"))
                    .to_str()
                    .unwrap(),
                "--report",
                report.to_str().unwrap(),
            ],
            dir.path(),
        );
        assert_eq!(out.status.code(), Some(1), "{system}: {}", text(&out));
        let t = text(&out);
        assert!(t.contains("rows read"), "{system}: summary printed: {t}");
        assert!(t.contains("rejected"), "{system}: {t}");
        let rows = report_rows(&report);
        assert_eq!(
            rows.len(),
            expected,
            "{system}: one report line per data row"
        );
        let ok = rows.iter().filter(|r| &r[4] == "ok").count();
        let rejected = rows.iter().filter(|r| &r[4] == "rejected").count();
        assert_eq!(ok + rejected, expected);
        assert!(
            ok > rejected,
            "{system}: most sample rows are valid ({ok} ok, {rejected} rejected)"
        );
        for r in rows.iter().filter(|r| &r[4] == "rejected") {
            assert!(
                !r[5].is_empty(),
                "{system}: rejected row has a reason: {r:?}"
            );
        }
        // lines are distinct and increasing
        let lines: Vec<u64> = rows.iter().map(|r| r[1].parse().unwrap()).collect();
        assert!(lines.windows(2).all(|w| w[0] < w[1]), "{system}: {lines:?}");
    }
}

#[test]
fn xlsx_sample_checks_like_the_csv() {
    let dir = Workdir::new();
    let xlsx = root().join("samples/roster.xlsx");
    let mut wb = calamine::open_workbook_auto(&xlsx).expect("sample xlsx opens");
    use calamine::Reader;
    let range = wb.worksheet_range_at(0).unwrap().unwrap();
    let data_rows = range
        .rows()
        .skip(1)
        .filter(|r| r.iter().any(|c| !c.to_string().trim().is_empty()))
        .count();
    for system in ["folio", "illiad", "libib"] {
        let report = dir.path().join(format!("{system}.json"));
        let out = run(
            &[
                "check",
                xlsx.to_str().unwrap(),
                "--mapping",
                root()
                    .join(format!("mappings/{system}.toml"))
                    .to_str()
                    .unwrap(),
                "--report",
                report.to_str().unwrap(),
            ],
            dir.path(),
        );
        assert_eq!(out.status.code(), Some(1), "{system}: {}", text(&out));
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
        let rows = json["rows"].as_array().unwrap();
        assert_eq!(rows.len(), data_rows, "{system}: one JSON row per data row");
        assert!(rows.iter().any(|r| r["outcome"] == "rejected"));
        assert!(rows.iter().any(|r| r["outcome"] == "ok"));
    }
}

#[test]
fn out_has_one_payload_per_ok_row_and_xlsx_report_opens() {
    let dir = Workdir::new();
    let out_path = dir.path().join("payloads.jsonl");
    let report = dir.path().join("r.xlsx");
    let csv_report = dir.path().join("r.csv");
    let roster = root().join("samples/roster.csv");
    let mapping = root().join("mappings/folio.toml");
    let o = run(
        &[
            "check",
            roster.to_str().unwrap(),
            "-m",
            mapping.to_str().unwrap(),
            "--out",
            out_path.to_str().unwrap(),
            "--report",
            report.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let o2 = run(
        &[
            "check",
            roster.to_str().unwrap(),
            "-m",
            mapping.to_str().unwrap(),
            "--report",
            csv_report.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(o2.status.code(), Some(1));
    let ok = report_rows(&csv_report)
        .iter()
        .filter(|r| &r[4] == "ok")
        .count();
    let payloads: Vec<serde_json::Value> = std::fs::read_to_string(&out_path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(payloads.len(), ok);
    for p in &payloads {
        assert!(
            p["personal"]["lastName"]
                .as_str()
                .is_some_and(|s| !s.is_empty()),
            "{p}"
        );
    }
    use calamine::Reader;
    let mut wb = calamine::open_workbook_auto(&report).expect("xlsx report opens");
    let range = wb.worksheet_range("Rows").unwrap();
    assert_eq!(range.rows().count(), csv_rows(&roster) + 1);
    assert_eq!(range.get((0, 4)).unwrap().to_string(), "outcome");
}

fn mapping_path() -> String {
    root()
        .join("mappings/folio.toml")
        .to_string_lossy()
        .into_owned()
}

#[test]
fn broken_inputs_exit_2_naming_the_file() {
    let dir = Workdir::new();
    let d = dir.path();
    std::fs::write(d.join("empty.csv"), b"").unwrap();
    let mut junk = Vec::new();
    let mut x: u32 = 12345;
    for _ in 0..4096 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        junk.push((x >> 16) as u8);
    }
    std::fs::write(d.join("random.csv"), &junk).unwrap();
    let xlsx = std::fs::read(root().join("samples/roster.xlsx")).unwrap();
    std::fs::write(d.join("truncated.xlsx"), &xlsx[..xlsx.len() / 2]).unwrap();
    for name in ["empty.csv", "truncated.xlsx", "missing.csv"] {
        let o = run(&["check", name, "--mapping", &mapping_path()], d);
        assert_eq!(o.status.code(), Some(2), "{name}: {}", text(&o));
        assert!(
            text(&o).contains(name),
            "{name}: message names the file: {}",
            text(&o)
        );
        assert!(!text(&o).contains("panicked"), "{name}");
    }
    // random bytes: either refused as a file (2) or every row rejected (1); never a panic
    let o = run(&["check", "random.csv", "--mapping", &mapping_path()], d);
    assert!(matches!(o.status.code(), Some(1) | Some(2)), "{}", text(&o));
    assert!(!text(&o).contains("panicked"));
    if o.status.code() == Some(2) {
        assert!(text(&o).contains("random.csv"));
    }
}

#[test]
fn header_only_file_is_not_an_error() {
    let dir = Workdir::new();
    let roster = std::fs::read_to_string(root().join("samples/roster.csv")).unwrap();
    let header = roster.lines().next().unwrap();
    std::fs::write(dir.path().join("h.csv"), format!("{header}\n")).unwrap();
    let o = run(
        &["check", "h.csv", "--mapping", &mapping_path()],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("rows read"));
}

#[test]
fn broken_mapping_exits_2_naming_file_and_line() {
    let dir = Workdir::new();
    let d = dir.path();
    std::fs::write(
        d.join("bad.toml"),
        "system = \"folio\"\nmatch = \"externalSystemId\"\n[fields]\nexternalSystemId = \"Student ID\"\n\"personal.lastName\" = { column = \"Last Name\", transform = [\"lowercase\"] }\n",
    )
    .unwrap();
    let roster = root().join("samples/roster.csv");
    let o = run(
        &["check", roster.to_str().unwrap(), "--mapping", "bad.toml"],
        d,
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("bad.toml:5"), "names file and line: {t}");
    assert!(t.contains("lower"), "suggests the nearest transform: {t}");

    std::fs::write(d.join("syntax.toml"), "system = \"folio\"\nmatch = \n").unwrap();
    let o = run(
        &[
            "check",
            roster.to_str().unwrap(),
            "--mapping",
            "syntax.toml",
        ],
        d,
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("syntax.toml:2"), "{}", text(&o));

    let o = run(
        &["check", roster.to_str().unwrap(), "--mapping", "nope.toml"],
        d,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("nope.toml"));
}

#[test]
fn missing_column_names_the_nearest_header() {
    let dir = Workdir::new();
    let d = dir.path();
    std::fs::write(d.join("in.csv"), "Student ID,Last Name\nS1,Doe\n").unwrap();
    std::fs::write(
        d.join("m.toml"),
        "system = \"folio\"\nmatch = \"externalSystemId\"\n[fields]\nexternalSystemId = \"Student ID\"\n\"personal.lastName\" = \"Last Nme\"\n",
    )
    .unwrap();
    let o = run(&["check", "in.csv", "--mapping", "m.toml"], d);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("m.toml:5"), "{t}");
    assert!(t.contains("Last Name"), "{t}");
}

#[test]
fn duplicate_key_rejects_the_later_row_naming_the_earlier_line() {
    let dir = Workdir::new();
    let d = dir.path();
    std::fs::write(
        d.join("in.csv"),
        "Student ID,Last Name\nS1,Doe\nS2,Roe\ns1,Poe\n",
    )
    .unwrap();
    std::fs::write(
        d.join("m.toml"),
        "system = \"folio\"\nmatch = \"externalSystemId\"\n[fields]\nexternalSystemId = \"Student ID\"\n\"personal.lastName\" = \"Last Name\"\n",
    )
    .unwrap();
    let o = run(
        &[
            "check",
            "in.csv",
            "--mapping",
            "m.toml",
            "--report",
            "r.csv",
        ],
        d,
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let rows = report_rows(&d.join("r.csv"));
    assert_eq!(rows.len(), 3);
    assert_eq!(&rows[0][4], "ok");
    assert_eq!(&rows[1][4], "ok");
    assert_eq!(&rows[2][4], "rejected");
    assert_eq!(&rows[2][1], "4");
    assert!(rows[2][5].contains("line 2"), "{:?}", rows[2]);
}

/// A roster of `n` rows where some rows repeat an earlier row's id, card or e-mail, a few are
/// invalid, and one is broken (wrong number of fields): spread over many of the pipeline's
/// chunks, on both sides of chunk boundaries.
fn tricky_roster(path: &Path, n: usize) {
    let mut s = String::from("Student ID,Last Name,First Name,Email,Class,Expires,Card\n");
    for i in 0..n {
        let (id, card, email) = match i % 997 {
            // Repeats the id of a row three chunks back (or of row 0).
            511 => (i.saturating_sub(1500), i, i),
            // Repeats the card of the row just before.
            600 => (i, i - 1, i),
            // Repeats the e-mail (user name) of row 7, in a different case.
            700 => (i, i, 7),
            _ => (i, i, i),
        };
        let last = if i % 1009 == 3 { "" } else { "Doe" };
        if i % 1013 == 5 {
            s.push_str(&format!("S{id},{last},Ann\n"));
            continue;
        }
        let mail = if email == 7 && i != 7 {
            "ANN.7@Example.edu".to_string()
        } else {
            format!("ann.{email}@example.edu")
        };
        s.push_str(&format!(
            "S{id},{last},Ann,{mail},Staff,2027-06-30,{}\n",
            21_000_000 + card
        ));
    }
    std::fs::write(path, s).unwrap();
}

#[test]
fn parallel_check_gives_every_row_the_same_outcome_as_one_thread() {
    let dir = Workdir::new();
    let roster = dir.path().join("roster.csv");
    let n = 5000;
    tricky_roster(&roster, n);
    let mapping = root().join("benches/gen-roster-folio.toml");
    let mut reports = Vec::new();
    for workers in ["0", "1", "3"] {
        let report = dir.path().join(format!("report-{workers}.csv"));
        let out = dir.path().join(format!("out-{workers}.jsonl"));
        let o = bin()
            .args([
                "check",
                roster.to_str().unwrap(),
                "--mapping",
                mapping.to_str().unwrap(),
                "--report",
                report.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ])
            .env("PATRON_ETL_WORKERS", workers)
            .output()
            .expect("binary runs");
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        let rows = report_rows(&report);
        assert_eq!(rows.len(), n, "one report row per input row");
        let payloads = std::fs::read_to_string(&out).unwrap();
        let ok = rows.iter().filter(|r| &r[4] == "ok").count();
        assert_eq!(payloads.lines().count(), ok, "one payload per ok row");
        reports.push((
            rows.iter()
                .map(|r| r.iter().collect::<Vec<_>>().join("|"))
                .collect::<Vec<_>>(),
            payloads,
        ));
    }
    // Lines are in input order, and the reasons name the earlier row as one thread does.
    let lines: Vec<u64> = reports[0]
        .0
        .iter()
        .map(|r| r.split('|').nth(1).unwrap().parse().unwrap())
        .collect();
    assert!(
        lines.windows(2).all(|w| w[0] < w[1]),
        "report in input order"
    );
    let dup = |text: &str| reports[0].0.iter().any(|r| r.contains(text));
    assert!(dup(
        "duplicate match key \"S0\" (ignoring case and accents) already used on line 2"
    ));
    assert!(dup(
        "duplicate match key \"S1005\" (ignoring case and accents) already used on line 1007"
    ));
    assert!(dup(
        "barcode: duplicate \"21000599\" (ignoring case and accents) already used on line 601"
    ));
    assert!(dup(
        "username: duplicate \"ann.7\" (ignoring case and accents) already used on line 9"
    ));
    assert!(dup("expected 7 fields"));
    assert!(dup("personal.lastName"));
    for other in &reports[1..] {
        assert_eq!(other.0, reports[0].0, "same outcome for every row");
        assert_eq!(other.1, reports[0].1, "same payloads, in the same order");
    }
}

/// A full disk while writing `--out` or the report stops the run with exit 2, naming the file,
/// instead of hanging the reader and worker threads or losing the error.
#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_names_the_file_and_stops_the_run() {
    let dir = Workdir::new();
    let roster = dir.path().join("roster.csv");
    tricky_roster(&roster, 20_000);
    let mapping = root().join("benches/gen-roster-folio.toml");
    for (flag, name) in [("--out", "out.jsonl"), ("--report", "report.csv")] {
        let full = dir.path().join(name);
        std::os::unix::fs::symlink("/dev/full", &full).unwrap();
        let o = run(
            &[
                "check",
                roster.to_str().unwrap(),
                "--mapping",
                mapping.to_str().unwrap(),
                flag,
                full.to_str().unwrap(),
            ],
            dir.path(),
        );
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        let t = text(&o);
        assert!(t.contains(name) && t.contains("No space left"), "{t}");
    }
}

/// The XLSX report writes text cells exactly (a string cell is never evaluated), while the CSV
/// report guards a cell a spreadsheet would evaluate (issue 14: "XLSX text cells are text").
#[test]
fn xlsx_report_cells_are_exact_and_csv_report_cells_are_guarded() {
    let dir = Workdir::new();
    let d = dir.path();
    let sample = std::fs::read_to_string(root().join("samples/roster.csv")).unwrap();
    let mut lines = sample.lines();
    let header = lines.next().unwrap();
    let row = lines.next().unwrap().replacen(",Pepe,", ",=1+2,", 1);
    assert!(row.contains(",=1+2,"), "{row}");
    std::fs::write(d.join("r.csv"), format!("{header}\n{row}\n")).unwrap();
    for report in ["out.xlsx", "out.csv"] {
        let o = run(
            &["check", "r.csv", "-m", &mapping_path(), "--report", report],
            d,
        );
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    }
    use calamine::Reader;
    let mut wb = calamine::open_workbook_auto(d.join("out.xlsx")).unwrap();
    let range = wb.worksheet_range("Rows").unwrap();
    assert_eq!(range.get((0, 3)).unwrap().to_string(), "name");
    assert_eq!(range.get((1, 3)).unwrap().to_string(), "=1+2 Núñez");
    let rows = report_rows(&d.join("out.csv"));
    assert_eq!(&rows[0][3], "'=1+2 Núñez");
}
