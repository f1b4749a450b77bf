//! The end-of-run summary: counts by outcome, the failed rows' reasons grouped by their stable
//! [`ReasonCode`] with the real messages (never rewritten) and the lines they hit, and the input
//! fields the destination is not sent ("left out: FIELD (N users) — reason").
//!
//! Invariant: counts are exact; the messages and lines kept per code are capped ([`Caps`]) so a
//! million-row run's summary stays small, and what was left out is counted.

use crate::outcome::{Outcome, OutcomeKind, ReasonCode};
use std::collections::BTreeMap;
use std::fmt::Write;

/// How much detail a summary keeps per reason code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// Distinct messages kept per code.
    pub messages: usize,
    /// Lines kept per message.
    pub lines: usize,
}

impl Default for Caps {
    /// Enough for the terminal and the XLSX Summary sheet.
    fn default() -> Caps {
        Caps {
            messages: 8,
            lines: 20,
        }
    }
}

/// Where a row came from: input file and line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowRef {
    /// Input file (as given).
    pub file: String,
    /// Line or spreadsheet row (`None` for a patron absent from the roster).
    pub line: Option<u64>,
}

/// One real message of a reason code, with the rows it was given to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The message as the row's reason says it.
    pub text: String,
    /// Rows with exactly this message.
    pub rows: u64,
    /// The first rows (at most [`Caps::lines`]).
    pub lines: Vec<RowRef>,
}

/// The failed rows of one reason code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReasonGroup {
    /// Rows with this code.
    pub rows: u64,
    /// Distinct messages, first seen first (at most [`Caps::messages`]).
    pub messages: Vec<Message>,
    /// Rows whose message is not among `messages` (the cap was reached).
    pub other_rows: u64,
}

/// The name a group of reasons without a code is listed under (outcomes recorded by an older
/// version and reported again by `resume`).
pub const UNCODED: &str = "other";

/// Counts gathered while a run streams its outcomes.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    /// Rows seen.
    pub rows: u64,
    /// Rows per outcome.
    pub by_outcome: BTreeMap<OutcomeKind, u64>,
    /// Failed rows per reason code name ([`UNCODED`] for reasons without a code).
    pub by_reason: BTreeMap<&'static str, ReasonGroup>,
    /// Input fields the mapping does not send: rows with a value there, and why.
    pub left_out: BTreeMap<String, (u64, String)>,
    /// Rows written only in part ([`Outcome::is_partial`]: counted under their outcome, and
    /// here; their reasons are grouped like failures'), which make the run's exit code 1.
    pub partial: u64,
    caps: Caps,
}

impl Summary {
    /// An empty summary keeping `caps` detail per reason code.
    pub fn with_caps(caps: Caps) -> Summary {
        Summary {
            caps,
            ..Summary::default()
        }
    }

    /// Counts one outcome.
    pub fn add(&mut self, o: &Outcome) {
        let line = o.absent.is_none().then_some(o.line);
        self.add_kind(
            o.outcome,
            o.reason.as_deref().map(|r| (o.code, r)),
            &o.file,
            line,
        );
        if o.is_partial() {
            self.partial += 1;
            if let Some(r) = o.reason.as_deref() {
                self.add_reason(o.code, r, &o.file, line);
            }
        }
    }

    /// Counts one outcome given by its kind, reason (with its code) and place (as
    /// [`Summary::add`], without needing an [`Outcome`]).
    pub fn add_kind(
        &mut self,
        kind: OutcomeKind,
        reason: Option<(Option<ReasonCode>, &str)>,
        file: &str,
        line: impl Into<Option<u64>>,
    ) {
        self.rows += 1;
        *self.by_outcome.entry(kind).or_default() += 1;
        if !kind.is_failure() {
            return;
        }
        if let Some((code, text)) = reason {
            self.add_reason(code, text, file, line.into());
        }
    }

    /// Groups one failed row's reason (without counting the row: [`Summary::add_kind`] does).
    pub fn add_reason(
        &mut self,
        code: Option<ReasonCode>,
        text: &str,
        file: &str,
        line: Option<u64>,
    ) {
        let caps = self.caps;
        let group = self
            .by_reason
            .entry(code.map_or(UNCODED, ReasonCode::name))
            .or_default();
        group.rows += 1;
        let at = RowRef {
            file: file.to_string(),
            line,
        };
        let known = group.messages.iter().position(|m| m.text == text);
        if let Some(m) = known.and_then(|i| group.messages.get_mut(i)) {
            m.rows += 1;
            if m.lines.len() < caps.lines {
                m.lines.push(at);
            }
        } else if group.messages.len() < caps.messages {
            group.messages.push(Message {
                text: text.to_string(),
                rows: 1,
                lines: vec![at],
            });
        } else {
            group.other_rows += 1;
        }
    }

    /// Counts one row with a value in `field` that the destination is not sent (the first reason
    /// given for a field is kept).
    pub fn add_left_out(&mut self, field: &str, reason: &str) {
        self.add_left_out_n(field, 1, reason);
    }

    /// Counts `n` rows with a value in `field` that the destination is not sent.
    pub fn add_left_out_n(&mut self, field: &str, n: u64, reason: &str) {
        match self.left_out.get_mut(field) {
            Some((count, _)) => *count += n,
            None => {
                self.left_out
                    .insert(field.to_string(), (n, reason.to_string()));
            }
        }
    }

    /// Rows with the given outcome.
    pub fn count(&self, kind: OutcomeKind) -> u64 {
        self.by_outcome.get(&kind).copied().unwrap_or(0)
    }

    /// Whether any row failed, or was written only in part (exit code 1).
    pub fn any_failed(&self) -> bool {
        self.partial > 0
            || self
                .by_outcome
                .iter()
                .any(|(k, n)| k.is_failure() && *n > 0)
    }

    /// The reason groups, most rows first.
    pub fn reasons(&self) -> Vec<(&'static str, &ReasonGroup)> {
        let mut v: Vec<_> = self.by_reason.iter().map(|(k, g)| (*k, g)).collect();
        v.sort_by(|a, b| b.1.rows.cmp(&a.1.rows).then(a.0.cmp(b.0)));
        v
    }

    /// Whether the rows came from more than one file (then lines are shown with their file).
    pub fn many_files(&self) -> bool {
        let mut files = self
            .by_reason
            .values()
            .flat_map(|g| &g.messages)
            .flat_map(|m| &m.lines)
            .filter(|r| r.line.is_some())
            .map(|r| r.file.as_str());
        match files.next() {
            Some(first) => files.any(|f| f != first),
            None => false,
        }
    }

    /// A plain-text table for the terminal: counts, then each reason code with its real
    /// messages and the lines they hit.
    pub fn render(&self, title: &str) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "{title}");
        let _ = writeln!(s, "  {:<14} {:>10}", "rows read", self.rows);
        for (k, n) in &self.by_outcome {
            let _ = writeln!(s, "  {:<14} {:>10}", k.name(), n);
        }
        if self.partial > 0 {
            let rows = if self.partial == 1 { "row" } else { "rows" };
            let _ = writeln!(
                s,
                "  {:<14} {:>10}  ({rows} written, a linked record refused: see linked_failed)",
                "partial", self.partial
            );
        }
        self.render_reasons(&mut s);
        if !self.left_out.is_empty() {
            let _ = writeln!(
                s,
                "  not sent (in the input, not in what the destination gets):"
            );
            for (field, (n, why)) in &self.left_out {
                let users = if *n == 1 { "user" } else { "users" };
                let _ = writeln!(s, "    left out: {field} ({n} {users}) — {why}");
            }
        }
        s
    }

    /// Each reason code with its real messages and the lines they hit.
    fn render_reasons(&self, s: &mut String) {
        if self.by_reason.is_empty() {
            return;
        }
        let _ = writeln!(s, "  by reason:");
        let many = self.many_files();
        let reasons = self.reasons();
        for (code, g) in reasons.iter().take(15) {
            let _ = writeln!(s, "    {:>8}  {code}", g.rows);
            for m in g.messages.iter().take(3) {
                let _ = writeln!(
                    s,
                    "              {} — {}",
                    m.text,
                    lines_text(&m.lines, m.rows, many)
                );
            }
            let shown: u64 = g.messages.iter().take(3).map(|m| m.rows).sum();
            if g.rows > shown {
                let _ = writeln!(
                    s,
                    "              … and {} more rows with other messages (see the report)",
                    g.rows - shown
                );
            }
        }
        if reasons.len() > 15 {
            let _ = writeln!(
                s,
                "    … and {} more codes (see the report)",
                reasons.len() - 15
            );
        }
    }
}

/// `line 3` / `lines 3, 7, 9 and 4 more`, with file names when the run read several files
/// (`2 rows` when the rows have no input lines).
pub fn lines_text(lines: &[RowRef], rows: u64, many_files: bool) -> String {
    let shown: Vec<String> = lines
        .iter()
        .filter_map(|r| match (r.line, many_files) {
            (Some(l), true) => Some(format!("{}:{l}", r.file)),
            (Some(l), false) => Some(l.to_string()),
            (None, _) => None,
        })
        .take(10)
        .collect();
    if shown.is_empty() {
        return format!("{rows} {}", if rows == 1 { "row" } else { "rows" });
    }
    let word = if rows == 1 { "line" } else { "lines" };
    let more = rows.saturating_sub(shown.len() as u64);
    if more > 0 {
        format!("{word} {} and {more} more", shown.join(", "))
    } else {
        format!("{word} {}", shown.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(line: u64, code: ReasonCode, reason: &str) -> Outcome {
        let mut o = Outcome::new("f.csv", line, None, OutcomeKind::Rejected);
        o.set_reason(code, reason);
        o
    }

    #[test]
    fn groups_by_code_and_keeps_the_real_message() {
        let mut s = Summary::default();
        let msg = "state: Libib needs the 2-letter upper-case USPS state code (e.g. MA, TX), got \"Mass\"";
        s.add(&rejected(3, ReasonCode::UnknownValue, msg));
        s.add(&rejected(9, ReasonCode::UnknownValue, msg));
        s.add(&rejected(
            4,
            ReasonCode::TooLong,
            "is 41 characters long; at most 40",
        ));
        let g = &s.by_reason["unknown_value"];
        assert_eq!(g.rows, 2);
        assert_eq!(g.messages[0].text, msg);
        assert_eq!(g.messages[0].lines.len(), 2);
        let text = s.render("t");
        assert!(text.contains(msg), "{text}");
        assert!(text.contains("is 41 characters long; at most 40"), "{text}");
        assert!(text.contains("lines 3, 9"), "{text}");
        assert!(!text.contains(" N "), "{text}");
    }

    #[test]
    fn caps_count_what_they_leave_out() {
        let mut s = Summary::with_caps(Caps {
            messages: 1,
            lines: 1,
        });
        s.add(&rejected(2, ReasonCode::BadEmail, "a"));
        s.add(&rejected(3, ReasonCode::BadEmail, "a"));
        s.add(&rejected(4, ReasonCode::BadEmail, "b"));
        let g = &s.by_reason["bad_email"];
        assert_eq!(g.rows, 3);
        assert_eq!(g.messages.len(), 1);
        assert_eq!(g.messages[0].rows, 2);
        assert_eq!(g.messages[0].lines.len(), 1);
        assert_eq!(g.other_rows, 1);
        assert_eq!(
            lines_text(&g.messages[0].lines, 2, false),
            "lines 2 and 1 more"
        );
    }

    #[test]
    fn a_row_written_in_part_counts_as_failed_under_its_outcome() {
        let mut s = Summary::default();
        s.add(&Outcome::new("f", 2, None, OutcomeKind::Created));
        assert!(!s.any_failed());
        let mut o = Outcome::new("f", 3, None, OutcomeKind::Created);
        let why = "user written, but the request preference was refused: HTTP 403: no";
        o.set_reason(ReasonCode::LinkedFailed, why);
        assert!(o.is_failure() && o.is_partial());
        s.add(&o);
        assert!(s.any_failed(), "a partial row makes the exit code 1");
        assert_eq!(s.count(OutcomeKind::Created), 2, "it keeps its outcome");
        assert_eq!(s.partial, 1);
        assert_eq!(s.by_reason["linked_failed"].messages[0].text, why);
        let text = s.render("import");
        assert!(text.contains("partial"), "{text}");
        assert!(text.contains(why), "{text}");
        // A confirmed create is no partial write.
        let mut c = Outcome::new("f", 4, None, OutcomeKind::Created);
        c.set_reason(ReasonCode::ConfirmedByLookup, "confirmed");
        assert!(!c.is_failure());
    }

    #[test]
    fn counts_and_failure() {
        let mut s = Summary::default();
        s.add(&Outcome::new("f", 2, None, OutcomeKind::Ok));
        assert!(!s.any_failed());
        let mut r = Outcome::new("f", 3, None, OutcomeKind::Rejected);
        r.reason = Some("x".into());
        s.add(&r);
        assert!(s.any_failed());
        assert_eq!(s.count(OutcomeKind::Ok), 1);
        assert_eq!(s.rows, 2);
        assert!(s.render("check").contains("rejected"));
        assert_eq!(s.by_reason[UNCODED].rows, 1);
        s.add_left_out("personal.addresses.Work", "LIBIB holds one address");
        s.add_left_out("personal.addresses.Work", "ignored: the first reason stays");
        assert!(s.render("migrate").contains(
            "    left out: personal.addresses.Work (2 users) — LIBIB holds one address\n"
        ));
    }
}
