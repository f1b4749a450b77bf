//! `patron-etl init`: starter mappings that `check` accepts without edits.

use crate::harness::{bin, root, text, Workdir};

#[test]
fn init_on_the_samples_gives_mappings_check_accepts_for_each_system() {
    let dir = Workdir::new();
    for sample in ["samples/roster.csv", "samples/roster.xlsx"] {
        for (system, expect) in [
            ("folio", "\"personal.lastName\" = { column = \"Last Name\""),
            ("illiad", "\"UserName\" = { column = \"NetID\""),
            ("libib", "\"email\" = { column = \"Email\""),
        ] {
            let out = dir.path().join(format!("{system}.toml"));
            let _ = std::fs::remove_file(&out);
            let o = bin()
                .arg("init")
                .arg(root().join(sample))
                .args(["--system", system, "--out"])
                .arg(&out)
                .output()
                .unwrap();
            assert_eq!(o.status.code(), Some(0), "{}", text(&o));
            let mapping = std::fs::read_to_string(&out).unwrap();
            assert!(mapping.contains(expect), "{system}: {mapping}");
            assert!(
                mapping.contains("# e.g. \"900100231\""),
                "sample values shown"
            );
            let report = dir.path().join(format!("{system}.csv"));
            let o = bin()
                .arg("check")
                .arg(root().join(sample))
                .arg("--mapping")
                .arg(&out)
                .arg("--report")
                .arg(&report)
                .output()
                .unwrap();
            // 1 = the mapping loaded and the samples' known-bad rows were rejected; 2 would be a
            // mapping the checker refused.
            assert_eq!(o.status.code(), Some(1), "{sample} {system}: {}", text(&o));
            let rows = csv::Reader::from_path(&report).unwrap().records().count();
            assert_eq!(rows, 50, "{sample} {system}: one report line per data row");
            let ok = csv::Reader::from_path(&report)
                .unwrap()
                .records()
                .filter(|r| r.as_ref().unwrap().get(4) == Some("ok"))
                .count();
            assert!(ok >= 40, "{sample} {system}: most rows map ({ok})");
        }
    }
}

#[test]
fn synonyms_unmatched_columns_and_date_format() {
    let dir = Workdir::new();
    let f = dir.path().join("hr.csv");
    std::fs::write(
        &f,
        "Emplid;Surname;Given Name;E-mail;Favourite Colour;Valid Until\n\
         00123;Doe;Jane;jd@example.edu;teal;31.12.2027\n",
    )
    .unwrap();
    let o = bin()
        .arg("init")
        .arg(&f)
        .args(["--system", "folio"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let m = String::from_utf8_lossy(&o.stdout);
    assert!(
        m.contains("\"externalSystemId\" = { column = \"Emplid\""),
        "{m}"
    );
    assert!(
        m.contains("\"personal.lastName\" = { column = \"Surname\""),
        "{m}"
    );
    assert!(
        m.contains("\"personal.firstName\" = { column = \"Given Name\""),
        "{m}"
    );
    assert!(m.contains("date = \"%d.%m.%Y\""), "{m}");
    assert!(
        m.contains("#   \"Favourite Colour\"  # e.g. \"teal\""),
        "{m}"
    );
    // the mapping it printed maps the row
    let mp = dir.path().join("m.toml");
    std::fs::write(&mp, m.as_bytes()).unwrap();
    let o = bin()
        .arg("check")
        .arg(&f)
        .arg("--mapping")
        .arg(&mp)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn bad_system_missing_file_and_existing_out_exit_2() {
    let dir = Workdir::new();
    let o = bin()
        .arg("init")
        .arg(root().join("samples/roster.csv"))
        .args(["--system", "koha"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("koha"));
    let o = bin()
        .arg("init")
        .arg(dir.path().join("nope.csv"))
        .args(["--system", "folio"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("nope.csv"));
    let existing = dir.path().join("keep.toml");
    std::fs::write(&existing, "mine").unwrap();
    let o = bin()
        .arg("init")
        .arg(root().join("samples/roster.csv"))
        .args(["--system", "folio", "--out"])
        .arg(&existing)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "mine");
}

/// An HR export with no login column, e-mail and hire-date headers the registrar rosters do not
/// use, and class codes: every system's starter is accepted by `check` as written.
#[test]
fn hr_roster_starters_are_accepted_for_every_system_with_next_steps() {
    let dir = Workdir::new();
    let f = dir.path().join("hr.csv");
    std::fs::write(
        &f,
        "Employee ID,Surname,Given Name,Preferred Email,Work Email,Hired,Card,Class\n\
         100231,Lee,Ann,ann@example.edu,alee@work.example.edu,2020-01-15,2100000012345,STAFF\n\
         100232,Kim,Bo,bo@example.edu,bkim@work.example.edu,2021-03-01,2100000012352,FAC\n\
         100233,Diaz,Cy,cy@example.edu,,2022-09-01,2100000012369,UG\n",
    )
    .unwrap();
    for system in ["folio", "illiad", "libib"] {
        let out = dir.path().join(format!("staff-{system}.toml"));
        let o = bin()
            .arg("init")
            .arg(&f)
            .args(["--system", system, "--out"])
            .arg(&out)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        let m = std::fs::read_to_string(&out).unwrap();
        // The comments name the file that was written, not a placeholder.
        let name = out.display().to_string();
        assert!(m.contains(&format!("--mapping {name}")), "{m}");
        assert!(!m.contains("THIS_FILE"), "{m}");
        assert!(
            text(&o).contains(&format!(
                "next: try it offline: patron-etl check {}",
                f.display()
            )),
            "{}",
            text(&o)
        );
        let report = dir.path().join(format!("{system}.csv"));
        let o = bin()
            .arg("check")
            .arg(&f)
            .arg("--mapping")
            .arg(&out)
            .arg("--report")
            .arg(&report)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{system}: {m}\n{}", text(&o));
        match system {
            "folio" => {
                assert!(
                    m.contains("\"personal.email\" = { column = \"Preferred Email\""),
                    "{m}"
                );
                assert!(
                    m.contains("\"enrollmentDate\" = { column = \"Hired\""),
                    "{m}"
                );
                assert!(
                    m.contains(
                        "patronGroup = { column = \"Class\", transform = [\"trim\"], map = { \
                         \"STAFF\" = \"staff\", \"FAC\" = \"faculty\", \"UG\" = \"undergrad\" } }"
                    ),
                    "{m}"
                );
                assert!(
                    m.contains("#   \"Work Email\""),
                    "second e-mail listed unmatched: {m}"
                );
            }
            "illiad" => {
                assert!(m.contains("match = \"UserName\""), "{m}");
                assert!(
                    m.contains("\"UserName\" = { column = \"Preferred Email\""),
                    "{m}"
                );
                assert!(text(&o).contains("ok"), "{}", text(&o));
            }
            _ => assert!(m.contains("match = \"email\""), "{m}"),
        }
    }
}
