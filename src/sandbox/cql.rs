//! A CQL subset, as RMB (the framework behind mod-users) understands it, evaluated over JSON records.
//!
//! Supported: `index rel term` with relations `==`, `=`, `<>`, `<`, `>`, `<=`, `>=`, `any`, `all`,
//! `adj`; quoted terms with backslash escapes and a trailing unescaped `*` (prefix match); unquoted
//! terms; booleans `and`/`or`/`not` (left-associative, equal precedence, case-insensitive);
//! parentheses; a term list `index==("a" or "b")`; a bare term (`cql.serverChoice`);
//! `cql.allRecords=1`; and `sortBy field[/sort.descending] …`.
//! String comparison is case- and accent-insensitive, like the mod-users indexes.
//! Invariant: [`parse`] never panics; any input it does not understand is a [`CqlError`].

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashSet;

use serde_json::Value;
use unicode_normalization::UnicodeNormalization;

/// A parse error, worded like CQL-Java's diagnostics.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CqlError(pub String);

/// A parsed query: a boolean tree plus sort keys.
#[derive(Debug, Clone)]
pub struct Query {
    root: Node,
    sort: Vec<SortKey>,
}

#[derive(Debug, Clone)]
struct SortKey {
    field: String,
    descending: bool,
}

#[derive(Debug, Clone)]
enum Node {
    All,
    Clause {
        index: String,
        rel: Rel,
        term: Term,
    },
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Not(Box<Node>, Box<Node>),
    /// `index==("a" or "b" …)`: an OR of exact, non-prefix terms on one index, as a set of
    /// folded terms (a batch lookup costs one hash probe per record, not one compare per term).
    InSet {
        index: String,
        set: HashSet<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rel {
    Exact,
    Word,
    NotEq,
    Lt,
    Gt,
    Le,
    Ge,
    Any,
    AllWords,
    Adj,
}

/// A term: its text (escapes removed) and whether it ends with an unescaped `*`.
#[derive(Debug, Clone)]
struct Term {
    text: String,
    /// `text` folded once at parse time.
    folded: String,
    prefix: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    /// A word or a quoted string; `true` when quoted. Text is raw (escapes still present).
    Word(String, bool),
    Rel(String),
}

fn lex(input: &str) -> Result<Vec<Tok>, CqlError> {
    let mut out = Vec::new();
    let chars: Vec<char> = input.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                out.push(Tok::LParen);
                i += 1;
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1;
            }
            '"' => {
                let mut s = String::new();
                i += 1;
                let mut closed = false;
                while i < chars.len() {
                    let d = chars[i];
                    if d == '\\' && i + 1 < chars.len() {
                        s.push(d);
                        s.push(chars[i + 1]);
                        i += 2;
                        continue;
                    }
                    if d == '"' {
                        closed = true;
                        i += 1;
                        break;
                    }
                    s.push(d);
                    i += 1;
                }
                if !closed {
                    return Err(CqlError("missing closing quote".into()));
                }
                out.push(Tok::Word(s, true));
            }
            '=' | '<' | '>' => {
                let mut s = String::from(c);
                if i + 1 < chars.len() {
                    let n = chars[i + 1];
                    if (c == '=' && n == '=')
                        || (c == '<' && (n == '>' || n == '='))
                        || (c == '>' && n == '=')
                    {
                        s.push(n);
                        i += 1;
                    }
                }
                i += 1;
                out.push(Tok::Rel(s));
            }
            _ => {
                let mut s = String::new();
                while i < chars.len() {
                    let d = chars[i];
                    if d.is_whitespace() || matches!(d, '(' | ')' | '=' | '<' | '>' | '"') {
                        break;
                    }
                    if d == '\\' && i + 1 < chars.len() {
                        s.push(d);
                        s.push(chars[i + 1]);
                        i += 2;
                        continue;
                    }
                    s.push(d);
                    i += 1;
                }
                out.push(Tok::Word(s, false));
            }
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

fn is_kw(t: Option<&Tok>, kw: &str) -> bool {
    matches!(t, Some(Tok::Word(w, false)) if w.eq_ignore_ascii_case(kw))
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn peek_at(&self, n: usize) -> Option<&Tok> {
        self.toks.get(self.pos + n)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn boolean(&mut self) -> Result<Node, CqlError> {
        let mut left = self.clause()?;
        while let Some(Tok::Word(w, false)) = self.peek() {
            let op = w.to_ascii_lowercase();
            if !matches!(op.as_str(), "and" | "or" | "not" | "prox") {
                break;
            }
            if op == "prox" {
                return Err(CqlError("prox is not supported".into()));
            }
            self.pos += 1;
            let right = self.clause()?;
            left = match op.as_str() {
                "and" => Node::And(Box::new(left), Box::new(right)),
                "or" => Node::Or(Box::new(left), Box::new(right)),
                _ => Node::Not(Box::new(left), Box::new(right)),
            };
        }
        Ok(left)
    }

    fn clause(&mut self) -> Result<Node, CqlError> {
        match self.next() {
            Some(Tok::LParen) => {
                let n = self.boolean()?;
                match self.next() {
                    Some(Tok::RParen) => Ok(n),
                    _ => Err(CqlError("expected ')'".into())),
                }
            }
            Some(Tok::Word(w, quoted)) => {
                let rel = match self.peek() {
                    Some(Tok::Rel(r)) => Some(r.clone()),
                    Some(Tok::Word(r, false))
                        if matches!(r.to_ascii_lowercase().as_str(), "any" | "all" | "adj")
                            && self.peek_at(1).is_some()
                            && !is_kw(self.peek_at(1), "and")
                            && !is_kw(self.peek_at(1), "or") =>
                    {
                        Some(r.to_ascii_lowercase())
                    }
                    _ => None,
                };
                let Some(rel) = rel else {
                    // A bare term: cql.serverChoice = term.
                    if !quoted && w.eq_ignore_ascii_case("sortBy") {
                        return Err(CqlError("unexpected sortBy".into()));
                    }
                    return Ok(Node::Clause {
                        index: "cql.serverChoice".into(),
                        rel: Rel::Word,
                        term: term_of(&w),
                    });
                };
                if quoted {
                    return Err(CqlError(format!("index name must not be quoted: \"{w}\"")));
                }
                self.pos += 1;
                let rel = match rel.as_str() {
                    "==" => Rel::Exact,
                    "=" => Rel::Word,
                    "<>" => Rel::NotEq,
                    "<" => Rel::Lt,
                    ">" => Rel::Gt,
                    "<=" => Rel::Le,
                    ">=" => Rel::Ge,
                    "any" => Rel::Any,
                    "all" => Rel::AllWords,
                    "adj" => Rel::Adj,
                    other => return Err(CqlError(format!("unknown relation {other}"))),
                };
                if matches!(self.peek(), Some(Tok::Rel(m)) if m == "/") {
                    return Err(CqlError("relation modifiers are not supported".into()));
                }
                if w.eq_ignore_ascii_case("cql.allRecords") {
                    self.next();
                    return Ok(Node::All);
                }
                match self.next() {
                    Some(Tok::Word(t, _)) => Ok(Node::Clause {
                        index: w,
                        rel,
                        term: term_of(&t),
                    }),
                    Some(Tok::LParen) => {
                        let n = self.term_list(&w, rel)?;
                        match self.next() {
                            Some(Tok::RParen) => Ok(n),
                            _ => Err(CqlError("expected ')' after term list".into())),
                        }
                    }
                    _ => Err(CqlError(format!("missing term after {w}"))),
                }
            }
            Some(Tok::RParen) => Err(CqlError("unexpected ')'".into())),
            Some(Tok::Rel(r)) => Err(CqlError(format!("unexpected relation {r}"))),
            None => Err(CqlError("unexpected end of query".into())),
        }
    }

    /// `("a" or "b" and …)` after `index rel`.
    fn term_list(&mut self, index: &str, rel: Rel) -> Result<Node, CqlError> {
        let mut left = self.list_item(index, rel)?;
        loop {
            let op = match self.peek() {
                Some(Tok::Word(w, false))
                    if matches!(w.to_ascii_lowercase().as_str(), "and" | "or" | "not") =>
                {
                    w.to_ascii_lowercase()
                }
                _ => break,
            };
            self.pos += 1;
            let right = self.list_item(index, rel)?;
            left = match op.as_str() {
                "and" => Node::And(Box::new(left), Box::new(right)),
                "or" => Node::Or(Box::new(left), Box::new(right)),
                _ => Node::Not(Box::new(left), Box::new(right)),
            };
        }
        Ok(left)
    }

    fn list_item(&mut self, index: &str, rel: Rel) -> Result<Node, CqlError> {
        match self.next() {
            Some(Tok::Word(t, _)) => Ok(Node::Clause {
                index: index.to_string(),
                rel,
                term: term_of(&t),
            }),
            Some(Tok::LParen) => {
                let n = self.term_list(index, rel)?;
                match self.next() {
                    Some(Tok::RParen) => Ok(n),
                    _ => Err(CqlError("expected ')'".into())),
                }
            }
            _ => Err(CqlError("expected a term".into())),
        }
    }
}

fn term_of(raw: &str) -> Term {
    let mut text = String::new();
    let mut prefix = false;
    let chars: Vec<char> = raw.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && i + 1 < chars.len() {
            text.push(chars[i + 1]);
            i += 2;
            continue;
        }
        if c == '*' && i + 1 == chars.len() {
            prefix = true;
        } else {
            text.push(c);
        }
        i += 1;
    }
    let folded = fold(&text);
    Term {
        text,
        folded,
        prefix,
    }
}

/// Collects the folded terms of an OR-tree of exact clauses on one index; `None` otherwise.
fn exact_terms<'n>(node: &'n Node, index: &mut Option<&'n str>, out: &mut Vec<String>) -> bool {
    match node {
        Node::Or(a, b) => exact_terms(a, index, out) && exact_terms(b, index, out),
        Node::Clause {
            index: i,
            rel: Rel::Exact,
            term,
        } if !term.prefix && i != "keywords" && i != "cql.serverChoice" => {
            if index.is_some_and(|x| x != i) {
                return false;
            }
            *index = Some(i);
            out.push(term.folded.clone());
            true
        }
        _ => false,
    }
}

/// Rewrites OR-lists of exact terms on one index into [`Node::InSet`].
fn optimize(node: Node) -> Node {
    match node {
        Node::Or(..) => {
            let mut index = None;
            let mut terms = Vec::new();
            if exact_terms(&node, &mut index, &mut terms) {
                if let Some(i) = index {
                    return Node::InSet {
                        index: i.to_string(),
                        set: terms.into_iter().collect(),
                    };
                }
            }
            match node {
                Node::Or(a, b) => Node::Or(Box::new(optimize(*a)), Box::new(optimize(*b))),
                other => other,
            }
        }
        Node::And(a, b) => Node::And(Box::new(optimize(*a)), Box::new(optimize(*b))),
        Node::Not(a, b) => Node::Not(Box::new(optimize(*a)), Box::new(optimize(*b))),
        other => other,
    }
}

/// Parses a CQL query string.
pub fn parse(input: &str) -> Result<Query, CqlError> {
    let toks = lex(input)?;
    if toks.is_empty() {
        return Err(CqlError("empty query".into()));
    }
    // Split off `sortBy …`.
    let sort_at = toks
        .iter()
        .position(|t| matches!(t, Tok::Word(w, false) if w.eq_ignore_ascii_case("sortBy")));
    let (main, sort_toks) = match sort_at {
        Some(p) => (toks[..p].to_vec(), toks[p + 1..].to_vec()),
        None => (toks, Vec::new()),
    };
    let root = if main.is_empty() {
        Node::All
    } else {
        let mut p = Parser { toks: main, pos: 0 };
        let n = p.boolean()?;
        if p.pos < p.toks.len() {
            return Err(CqlError(format!("unexpected token at position {}", p.pos)));
        }
        n
    };
    let mut sort = Vec::new();
    if sort_at.is_some() && sort_toks.is_empty() {
        return Err(CqlError("sortBy without a sort key".into()));
    }
    for t in sort_toks {
        let Tok::Word(w, false) = t else {
            return Err(CqlError("bad sort key".into()));
        };
        let mut parts = w.split('/');
        let field = parts.next().unwrap_or_default().to_string();
        let mut descending = false;
        for m in parts {
            match m.to_ascii_lowercase().as_str() {
                "sort.descending" | "descending" => descending = true,
                "sort.ascending" | "ascending" => descending = false,
                _ => {}
            }
        }
        if field.is_empty() {
            return Err(CqlError("empty sort key".into()));
        }
        sort.push(SortKey { field, descending });
    }
    Ok(Query {
        root: optimize(root),
        sort,
    })
}

/// Folds a string for comparison: lower case, accents removed.
pub fn fold(s: &str) -> String {
    fold_cow(s).into_owned()
}

/// [`fold`], borrowing `s` when it is already folded (lower-case ASCII: the common case of ids,
/// codes and user names), so evaluating a query over a collection allocates nothing per record.
fn fold_cow(s: &str) -> Cow<'_, str> {
    // ASCII has no accents to strip: same result, without the (slow in debug) normalisation.
    if s.is_ascii() {
        if s.bytes().any(|b| b.is_ascii_uppercase()) {
            return Cow::Owned(s.to_ascii_lowercase());
        }
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.nfd()
            .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
            .collect::<String>()
            .to_lowercase(),
    )
}

/// Calls `f` on each value at a dotted path (arrays are flattened; strings, booleans and numbers
/// as text; objects skipped) until it returns true; returns whether it did.
fn any_value_at(v: &Value, path: &str, f: &mut dyn FnMut(&str) -> bool) -> bool {
    if path.is_empty() {
        return match v {
            Value::String(s) => f(s),
            Value::Bool(b) => f(if *b { "true" } else { "false" }),
            Value::Number(n) => f(&n.to_string()),
            _ => false,
        };
    }
    let (part, rest) = path.split_once('.').unwrap_or((path, ""));
    match v {
        Value::Object(m) => match m.get(part) {
            Some(Value::Array(a)) => a.iter().any(|x| any_value_at(x, rest, f)),
            Some(x) => any_value_at(x, rest, f),
            None => false,
        },
        Value::Array(a) => a
            .iter()
            .any(|e| e.get(part).is_some_and(|x| any_value_at(x, rest, f))),
        _ => false,
    }
}

/// The first value at a dotted path (as [`any_value_at`] visits them), borrowed where it can be.
fn first_value_at<'a>(v: &'a Value, path: &str) -> Option<Cow<'a, str>> {
    if path.is_empty() {
        return match v {
            Value::String(s) => Some(Cow::Borrowed(s.as_str())),
            Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
            Value::Number(n) => Some(Cow::Owned(n.to_string())),
            _ => None,
        };
    }
    let (part, rest) = path.split_once('.').unwrap_or((path, ""));
    match v {
        Value::Object(m) => match m.get(part)? {
            Value::Array(a) => a.iter().find_map(|x| first_value_at(x, rest)),
            x => first_value_at(x, rest),
        },
        Value::Array(a) => a
            .iter()
            .find_map(|e| e.get(part).and_then(|x| first_value_at(x, rest))),
        _ => None,
    }
}

fn words(s: &str) -> Vec<String> {
    fold(s)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

fn matches_clause(value: &str, rel: Rel, term: &Term) -> bool {
    if rel == Rel::Exact && !term.prefix && value.is_ascii() && term.text.is_ascii() {
        // Same as comparing the folded forms, without allocating (lookups test many clauses).
        return value.eq_ignore_ascii_case(&term.text);
    }
    let v = fold_cow(value);
    let (v, t) = (v.as_ref(), term.folded.as_str());
    match rel {
        Rel::Exact => {
            if term.prefix {
                v.starts_with(t)
            } else {
                v == t
            }
        }
        Rel::NotEq => v != t,
        Rel::Lt => v < t,
        Rel::Gt => v > t,
        Rel::Le => v <= t,
        Rel::Ge => v >= t,
        Rel::Word | Rel::AllWords | Rel::Any | Rel::Adj => {
            if term.text.is_empty() {
                return true;
            }
            let vw = words(value);
            let tw = words(&term.text);
            let hit = |w: &String| {
                vw.iter().any(|x| {
                    if term.prefix {
                        x.starts_with(w.as_str())
                    } else {
                        x == w
                    }
                })
            };
            match rel {
                Rel::Any => tw.iter().any(hit),
                Rel::Adj => v.contains(t),
                _ => !tw.is_empty() && tw.iter().all(hit),
            }
        }
    }
}

const KEYWORD_FIELDS: [&str; 8] = [
    "username",
    "personal.firstName",
    "personal.lastName",
    "personal.preferredFirstName",
    "personal.email",
    "barcode",
    "id",
    "externalSystemId",
];

/// Calls `f` on each value of `index` in `record`; `id` (the record's id as its collection keys
/// it) answers for the `id` index without looking inside the record.
fn any_value(
    record: &Value,
    id: Option<&str>,
    index: &str,
    f: &mut dyn FnMut(&str) -> bool,
) -> bool {
    match id {
        Some(id) if index == "id" => f(id),
        _ => any_value_at(record, index, f),
    }
}

fn eval(node: &Node, record: &Value, id: Option<&str>) -> bool {
    match node {
        Node::All => true,
        Node::And(a, b) => eval(a, record, id) && eval(b, record, id),
        Node::Or(a, b) => eval(a, record, id) || eval(b, record, id),
        Node::Not(a, b) => eval(a, record, id) && !eval(b, record, id),
        Node::InSet { index, set } => any_value(record, id, index, &mut |v| {
            set.contains(fold_cow(v).as_ref())
        }),
        Node::Clause { index, rel, term } => {
            let one = [index.as_str()];
            let fields: &[&str] = if index == "keywords" || index == "cql.serverChoice" {
                &KEYWORD_FIELDS
            } else {
                &one
            };
            if *rel == Rel::NotEq {
                // Every value differs (and there is at least one).
                let mut seen = false;
                let mut check = |v: &str| {
                    seen = true;
                    !matches_clause(v, *rel, term)
                };
                let some_equal = fields.iter().any(|f| any_value(record, id, f, &mut check));
                return seen && !some_equal;
            }
            let mut check = |v: &str| matches_clause(v, *rel, term);
            fields.iter().any(|f| any_value(record, id, f, &mut check))
        }
    }
}

impl Query {
    /// Whether `record` matches the query.
    pub fn matches(&self, record: &Value) -> bool {
        eval(&self.root, record, None)
    }

    /// Whether `record`, kept under `id` in its collection (its own `id`), matches the query;
    /// clauses on `id` read the key instead of the record (keyset paging scans whole collections).
    pub fn matches_keyed(&self, id: &str, record: &Value) -> bool {
        eval(&self.root, record, Some(id))
    }

    /// For keyset paging (`id>"x" [and …] sortBy id`, how exports page through a collection):
    /// the folded `x` when the query keeps only ids after it and sorts by id ascending (or not
    /// at all), so a collection keyed by folded ids can be walked from `x` on.
    pub fn keyset_after(&self) -> Option<&str> {
        let by_id = match self.sort.as_slice() {
            [] => true,
            [k] => k.field == "id" && !k.descending,
            _ => false,
        };
        if !by_id {
            return None;
        }
        fn after(n: &Node) -> Option<&str> {
            match n {
                Node::Clause {
                    index,
                    rel: Rel::Gt,
                    term,
                } if index == "id" && !term.prefix => Some(term.folded.as_str()),
                _ => None,
            }
        }
        match &self.root {
            Node::And(a, b) => after(a).or_else(|| after(b)),
            n => after(n),
        }
    }

    /// Sorts records, given with their collection keys (their ids), in place by the query's
    /// `sortBy` keys (stable; no keys = unchanged).
    pub fn sort_keyed(&self, records: &mut [(&str, &Value)]) {
        if self.sort.is_empty() {
            return;
        }
        // Sort keys are computed once per record, not once per comparison, borrowed where the
        // text is already folded (ids).
        let mut keyed: Vec<(Vec<Option<Cow<'_, str>>>, usize)> = records
            .iter()
            .enumerate()
            .map(|(i, (id, r))| {
                let keys = self
                    .sort
                    .iter()
                    .map(|k| {
                        let v = if k.field == "id" {
                            Some(Cow::Borrowed(*id))
                        } else {
                            first_value_at(r, &k.field)
                        };
                        v.map(|v| match v {
                            Cow::Borrowed(b) => fold_cow(b),
                            Cow::Owned(o) => Cow::Owned(fold(&o)),
                        })
                    })
                    .collect();
                (keys, i)
            })
            .collect();
        keyed.sort_by(|(ka, _), (kb, _)| {
            for (i, k) in self.sort.iter().enumerate() {
                let o = ka[i].cmp(&kb[i]);
                let o = if k.descending { o.reverse() } else { o };
                if o != Ordering::Equal {
                    return o;
                }
            }
            Ordering::Equal
        });
        let order: Vec<(&str, &Value)> = keyed.iter().map(|(_, i)| records[*i]).collect();
        records.copy_from_slice(&order);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn m(q: &str, r: &Value) -> bool {
        parse(q).map(|q| q.matches(r)).unwrap_or(false)
    }

    #[test]
    fn exact_quoted_escaped_and_folded() {
        let r = json!({"username":"José","barcode":"a\"b","personal":{"lastName":"Doe"}});
        assert!(m(r#"username=="jose""#, &r));
        assert!(m(r#"barcode=="a\"b""#, &r));
        assert!(m(r#"personal.lastName==Doe"#, &r));
        assert!(!m(r#"username=="jos""#, &r));
        assert!(m(r#"username=="jo*""#, &r));
    }

    #[test]
    fn booleans_lists_and_all_records() {
        let r = json!({"externalSystemId":"b","active":true,"id":"5"});
        assert!(m(r#"externalSystemId==("a" or "b")"#, &r));
        assert!(m(
            r#"(externalSystemId=="a" or externalSystemId=="b") and active==true"#,
            &r
        ));
        assert!(!m(r#"externalSystemId=="b" not active==true"#, &r));
        assert!(m("cql.allRecords=1 sortBy id", &r));
        assert!(m(r#"id>"4" and cql.allRecords=1 sortBy id"#, &r));
        assert!(!m(r#"id>"5""#, &r));
    }

    #[test]
    fn paths_flatten_arrays_and_not_equal_needs_a_value() {
        let r = json!({
            "id": "5",
            "active": false,
            "personal": {"addresses": [{"city": "Ghent"}, {"city": "LYON"}]},
            "tags": {"tagList": ["a", "B"]},
            "n": 42
        });
        assert!(m(r#"personal.addresses.city=="lyon""#, &r));
        assert!(m(r#"personal.addresses.city==("x" or "ghent")"#, &r));
        assert!(m(r#"tags.tagList==b"#, &r));
        assert!(m("active==false", &r));
        assert!(m("n==42", &r));
        assert!(!m(r#"id<>"5""#, &r));
        assert!(m(r#"id<>"6""#, &r));
        assert!(!m(r#"barcode<>"6""#, &r), "no value: not 'different'");
        assert!(
            !m(r#"personal.addresses.city<>"ghent""#, &r),
            "one value equal"
        );
        assert!(m(r#"id>"4" sortBy id"#, &r));
    }

    #[test]
    fn keyed_matching_and_sorting_read_the_id_from_the_key() {
        let a = json!({"id": "b2", "personal": {"lastName": "Zola"}});
        let b = json!({"id": "a1", "personal": {"lastName": "émile"}});
        let c = json!({"id": "C3", "personal": {"lastName": "Adams"}});
        let q = parse(r#"id>"a1" sortBy id"#).unwrap();
        assert!(q.matches_keyed("b2", &a));
        assert!(!q.matches_keyed("a1", &b));
        assert!(q.matches_keyed("C3", &c), "ids compare folded");
        let mut recs = vec![("b2", &a), ("a1", &b), ("C3", &c)];
        q.sort_keyed(&mut recs);
        let ids: Vec<&str> = recs.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, ["a1", "b2", "C3"]);
        let q = parse("cql.allRecords=1 sortBy personal.lastName/sort.descending").unwrap();
        q.sort_keyed(&mut recs);
        let ids: Vec<&str> = recs.iter().map(|(id, _)| *id).collect();
        assert_eq!(
            ids,
            ["b2", "a1", "C3"],
            "Zola, émile (folded: emile), Adams"
        );
    }

    #[test]
    fn keyset_queries_are_recognised() {
        let after = |q: &str| parse(q).unwrap().keyset_after().map(str::to_string);
        assert_eq!(
            after(r#"id>"AB" and cql.allRecords=1 sortBy id"#),
            Some("ab".into())
        );
        assert_eq!(after(r#"active==true and id>"ab""#), Some("ab".into()));
        assert_eq!(
            after(r#"id>"ab" and (active==true and cql.allRecords=1) sortBy id"#),
            Some("ab".into())
        );
        assert_eq!(after(r#"id>"ab" sortBy id/sort.descending"#), None);
        assert_eq!(after(r#"id>"ab" sortBy username"#), None);
        assert_eq!(after(r#"id>="ab" sortBy id"#), None);
        assert_eq!(after(r#"id>"ab" or active==true"#), None);
        assert_eq!(after("cql.allRecords=1 sortBy id"), None);
    }

    #[test]
    fn bad_queries_are_errors() {
        for q in [
            "username==",
            "(a==b",
            "a==\"b",
            "==x",
            "a==b)",
            "sortBy",
            "a==b and",
        ] {
            assert!(parse(q).is_err(), "{q}");
        }
    }
}
