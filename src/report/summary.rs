//! The end-of-run summary: counts by outcome, the commonest rejection reasons, and the input
//! fields the destination is not sent ("left out: FIELD (N users) — reason").

use crate::outcome::{Outcome, OutcomeKind};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Counts gathered while a run streams its outcomes.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    /// Rows seen.
    pub rows: u64,
    /// Rows per outcome.
    pub by_outcome: BTreeMap<OutcomeKind, u64>,
    /// Non-ok rows per reason category.
    pub by_reason: BTreeMap<String, u64>,
    /// Input fields the mapping does not send: rows with a value there, and why.
    pub left_out: BTreeMap<String, (u64, String)>,
}

/// A reason with its specifics (quoted values, numbers) removed, so similar reasons group together.
pub fn reason_category(reason: &str) -> String {
    let first = reason.split("; ").next().unwrap_or(reason);
    // `field (column "Name"): …` → `field: …` — the column adds nothing to a category.
    let stripped;
    let first = match (first.find(" (column \""), first.find("\"): ")) {
        (Some(a), Some(b)) if a < b => {
            stripped = format!("{}{}", &first[..a], &first[b + 2..]);
            stripped.as_str()
        }
        _ => first,
    };
    let mut out = String::with_capacity(first.len());
    let mut in_quote: Option<char> = None;
    for c in first.chars() {
        match in_quote {
            Some(q) if c == q => {
                in_quote = None;
                out.push('…');
                out.push(c);
            }
            Some(_) => {}
            None if c == '"' || c == '`' => {
                in_quote = Some(c);
                out.push(c);
            }
            None if c.is_ascii_digit() => {
                if !out.ends_with('N') {
                    out.push('N');
                }
            }
            None => out.push(c),
        }
    }
    out
}

impl Summary {
    /// Counts one outcome.
    pub fn add(&mut self, o: &Outcome) {
        self.add_kind(o.outcome, o.reason.as_deref());
    }

    /// Counts one outcome given by its kind and reason (as [`Summary::add`], without needing an
    /// [`Outcome`]).
    pub fn add_kind(&mut self, kind: OutcomeKind, reason: Option<&str>) {
        self.rows += 1;
        *self.by_outcome.entry(kind).or_default() += 1;
        if kind.is_failure() {
            if let Some(r) = reason {
                *self.by_reason.entry(reason_category(r)).or_default() += 1;
            }
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

    /// Whether any row failed (exit code 1).
    pub fn any_failed(&self) -> bool {
        self.by_outcome
            .iter()
            .any(|(k, n)| k.is_failure() && *n > 0)
    }

    /// A plain-text table for the terminal.
    pub fn render(&self, title: &str) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "{title}");
        let _ = writeln!(s, "  {:<14} {:>10}", "rows read", self.rows);
        for (k, n) in &self.by_outcome {
            let _ = writeln!(s, "  {:<14} {:>10}", k.name(), n);
        }
        if !self.by_reason.is_empty() {
            let _ = writeln!(s, "  by reason:");
            let mut reasons: Vec<_> = self.by_reason.iter().collect();
            reasons.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            for (r, n) in reasons.iter().take(15) {
                let _ = writeln!(s, "    {n:>8}  {r}");
            }
            if reasons.len() > 15 {
                let _ = writeln!(
                    s,
                    "    … and {} more kinds (see the report)",
                    reasons.len() - 15
                );
            }
        }
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_drop_specifics() {
        assert_eq!(
            reason_category("personal.email: not a valid e-mail address: \"bob@\""),
            "personal.email: not a valid e-mail address: \"…\""
        );
        assert_eq!(
            reason_category("expected 7 fields (as in the header), found 5"),
            "expected N fields (as in the header), found N"
        );
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
        s.add_left_out("personal.addresses.Work", "LIBIB holds one address");
        s.add_left_out("personal.addresses.Work", "ignored: the first reason stays");
        assert!(s.render("migrate").contains(
            "    left out: personal.addresses.Work (2 users) — LIBIB holds one address\n"
        ));
    }
}
