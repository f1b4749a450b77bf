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

/// A query FOLIO refuses: a syntax error (CQL-Java's parser) or one RMB's CQL2PgJSON raises
/// while translating a parsed query (a `QueryValidationException`, answered by RMB
/// `PgUtil.streamGet` as 400 `"{message}: {query}"`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CqlError {
    /// The query does not parse.
    #[error("{0}")]
    Parse(String),
    /// The query parses but CQL2PgJSON cannot translate it.
    #[error("{0}")]
    Validation(String),
}

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
        /// The full-text reading of the term (`=`, `adj`, `all`, `any` on a non-UUID index).
        ft: Option<FtTerm>,
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

/// A term: as written, its text (escapes and wildcards removed), and its `LIKE` pattern when it
/// has unmasked wildcards.
#[derive(Debug, Clone)]
struct Term {
    raw: String,
    text: String,
    /// `text` folded once at parse time.
    folded: String,
    like: Option<Vec<Like>>,
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
                    return Err(CqlError::Parse("missing closing quote".into()));
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

/// Builds a clause, making the checks CQL2PgJSON makes before running it.
fn clause_node(index: String, rel: Rel, raw: &str) -> Result<Node, CqlError> {
    if index.eq_ignore_ascii_case("cql.serverChoice") {
        // CQL2PgJSON.java lines 522-525: mod-users builds CQL2PgJSON without serverChoiceIndexes
        // (`UsersAPI.java` lines 193-199: `new CQL2PgJSON(fields)` / `(USERS_JSONB)`).
        return Err(CqlError::Validation(
            "cql.serverChoice requested, but no serverChoiceIndexes defined.".into(),
        ));
    }
    let term = term_of(raw);
    if is_uuid_index(&index) {
        check_uuid_clause(&index, rel, &term)?;
        return Ok(Node::Clause {
            index,
            rel,
            term,
            ft: None,
        });
    }
    let ft = match rel {
        Rel::Word | Rel::Adj | Rel::AllWords | Rel::Any => Some(ft_term(raw)?),
        _ => None,
    };
    Ok(Node::Clause {
        index,
        rel,
        term,
        ft,
    })
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
                return Err(CqlError::Parse("prox is not supported".into()));
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
                    _ => Err(CqlError::Parse("expected ')'".into())),
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
                        return Err(CqlError::Parse("unexpected sortBy".into()));
                    }
                    return clause_node("cql.serverChoice".into(), Rel::Word, &w);
                };
                if quoted {
                    return Err(CqlError::Parse(format!(
                        "index name must not be quoted: \"{w}\""
                    )));
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
                    other => return Err(CqlError::Parse(format!("unknown relation {other}"))),
                };
                if matches!(self.peek(), Some(Tok::Rel(m)) if m == "/") {
                    return Err(CqlError::Parse(
                        "relation modifiers are not supported".into(),
                    ));
                }
                if w.eq_ignore_ascii_case("cql.allRecords") {
                    self.next();
                    return Ok(Node::All);
                }
                match self.next() {
                    Some(Tok::Word(t, _)) => clause_node(w, rel, &t),
                    Some(Tok::LParen) => {
                        let n = self.term_list(&w, rel)?;
                        match self.next() {
                            Some(Tok::RParen) => Ok(n),
                            _ => Err(CqlError::Parse("expected ')' after term list".into())),
                        }
                    }
                    _ => Err(CqlError::Parse(format!("missing term after {w}"))),
                }
            }
            Some(Tok::RParen) => Err(CqlError::Parse("unexpected ')'".into())),
            Some(Tok::Rel(r)) => Err(CqlError::Parse(format!("unexpected relation {r}"))),
            None => Err(CqlError::Parse("unexpected end of query".into())),
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
            Some(Tok::Word(t, _)) => clause_node(index.to_string(), rel, &t),
            Some(Tok::LParen) => {
                let n = self.term_list(index, rel)?;
                match self.next() {
                    Some(Tok::RParen) => Ok(n),
                    _ => Err(CqlError::Parse("expected ')'".into())),
                }
            }
            _ => Err(CqlError::Parse("expected a term".into())),
        }
    }
}

fn term_of(raw: &str) -> Term {
    let mut text = String::new();
    let mut like = Vec::new();
    let mut wild = false;
    let mut lit = String::new();
    let chars: Vec<char> = raw.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && i + 1 < chars.len() {
            text.push(chars[i + 1]);
            lit.push(chars[i + 1]);
            i += 2;
            continue;
        }
        if c == '*' || c == '?' {
            wild = true;
            if !lit.is_empty() {
                like.push(Like::Lit(fold(&lit).chars().collect()));
                lit.clear();
            }
            like.push(if c == '*' { Like::Many } else { Like::One });
        } else {
            text.push(c);
            lit.push(c);
        }
        i += 1;
    }
    if !lit.is_empty() {
        like.push(Like::Lit(fold(&lit).chars().collect()));
    }
    let folded = fold(&text);
    Term {
        raw: raw.to_string(),
        text,
        folded,
        like: wild.then_some(like),
    }
}

/// One piece of a `==`/`<>` term with wildcards: RMB `Cql2SqlUtil.cql2like`
/// (`cql2pgjson/src/main/java/org/folio/cql2pgjson/util/Cql2SqlUtil.java` line 39) turns an
/// unmasked `*` into SQL `%` and `?` into `_`, anywhere in the term.
#[derive(Debug, Clone)]
enum Like {
    /// Folded literal characters.
    Lit(Vec<char>),
    /// `*`: any run of characters.
    Many,
    /// `?`: one character.
    One,
}

/// SQL `LIKE` of a folded value against a folded pattern.
fn like_match(value: &str, pat: &[Like]) -> bool {
    let v: Vec<char> = value.chars().collect();
    let mut p: Vec<Option<char>> = Vec::new(); // None = One; Many marked separately
    let mut many: Vec<bool> = Vec::new();
    for piece in pat {
        match piece {
            Like::Lit(cs) => {
                for c in cs {
                    p.push(Some(*c));
                    many.push(false);
                }
            }
            Like::One => {
                p.push(None);
                many.push(false);
            }
            Like::Many => {
                p.push(None);
                many.push(true);
            }
        }
    }
    // Iterative wildcard matching with backtracking to the last `*`.
    let (mut vi, mut pi) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while vi < v.len() {
        if pi < p.len() && !many[pi] && p[pi].is_none_or(|c| c == v[vi]) {
            vi += 1;
            pi += 1;
        } else if pi < p.len() && many[pi] {
            star = Some((pi, vi));
            pi += 1;
        } else if let Some((sp, sv)) = star {
            pi = sp + 1;
            vi = sv + 1;
            star = Some((sp, sv + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && many[pi] {
        pi += 1;
    }
    pi == p.len()
}

/// A full-text term (`=`, `adj`, `all`, `any`), as RMB's `queryByFt` reads it.
#[derive(Debug, Clone)]
enum FtTerm {
    /// `*` alone: `true`, every record.
    All,
    /// `""`: `~ ''`, every record with a value.
    AnyValue,
    /// Folded words, each with its right-truncation flag.
    Words(Vec<(String, bool)>),
}

/// RMB `CQL2PgJSON.queryByFt` (`cql2pgjson/src/main/java/org/folio/cql2pgjson/CQL2PgJSON.java` lines 818-831 and 883: stand-alone ` *` removed; `*` alone =
/// true; `""` = any value) and `Cql2SqlUtil.appendCql2tsquery` (`Cql2SqlUtil.java` line 212: an
/// unmasked `?` is an error, an unmasked `*` must end a word); words are the runs of letters and digits, as PostgreSQL's `simple` parser splits them.
fn ft_term(raw: &str) -> Result<FtTerm, CqlError> {
    let mut cleaned = String::new();
    let chars: Vec<char> = raw.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        // replaceAll(" +[*]", ""): spaces followed by a star are dropped with it.
        if chars[i] == ' ' {
            let mut j = i;
            while j < chars.len() && chars[j] == ' ' {
                j += 1;
            }
            if j < chars.len() && chars[j] == '*' && (i == 0 || chars[i - 1] != '\\') {
                i = j + 1;
                continue;
            }
        }
        cleaned.push(chars[i]);
        i += 1;
    }
    let t = cleaned.trim();
    if t == "*" {
        return Ok(FtTerm::All);
    }
    if t.is_empty() {
        return Ok(FtTerm::AnyValue);
    }
    let chars: Vec<char> = t.chars().collect();
    let mut words = Vec::new();
    let mut word = String::new();
    let mut i = 0;
    let flush = |word: &mut String, prefix: bool, words: &mut Vec<(String, bool)>| {
        if !word.is_empty() {
            for w in fold(word).split(|c: char| !c.is_alphanumeric()) {
                if !w.is_empty() {
                    words.push((w.to_string(), false));
                }
            }
            if let Some(last) = words.last_mut() {
                last.1 = prefix;
            }
            word.clear();
        }
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' if i + 1 < chars.len() => {
                let n = chars[i + 1];
                if n.is_alphanumeric() {
                    word.push(n);
                } else {
                    flush(&mut word, false, &mut words);
                }
                i += 2;
                continue;
            }
            '?' => {
                return Err(CqlError::Validation(
                    "? wildcard not allowed in full text query string".into(),
                ))
            }
            '*' => {
                if let Some(n) = chars.get(i + 1).filter(|n| **n != ' ') {
                    return Err(CqlError::Validation(format!(
                        "* right truncation wildcard must be followed by space or end of string, but found {n}"
                    )));
                }
                flush(&mut word, true, &mut words);
            }
            c if c.is_alphanumeric() => word.push(c),
            _ => flush(&mut word, false, &mut words),
        }
        i += 1;
    }
    flush(&mut word, false, &mut words);
    Ok(FtTerm::Words(words))
}

/// RMB `CQL2PgJSON.pgId` (folio-org/raml-module-builder @ 24e2b7b2a `cql2pgjson/src/main/java/org/folio/cql2pgjson/CQL2PgJSON.java` line 590; the primary key `id` and foreign keys such as
/// mod-users' `patronGroup`, its schema.json lines 185-190): checks made before the query runs.
fn check_uuid_clause(index: &str, rel: Rel, term: &Term) -> Result<(), CqlError> {
    let raw = term.raw.as_str();
    match rel {
        Rel::Lt | Rel::Gt | Rel::Le | Rel::Ge => {
            if !is_uuid_text(raw) {
                let op = match rel {
                    Rel::Lt => "<",
                    Rel::Gt => ">",
                    Rel::Le => "<=",
                    _ => ">=",
                };
                return Err(CqlError::Validation(format!(
                    "CQL: Invalid UUID after '{index}{op}': {raw}"
                )));
            }
            Ok(())
        }
        Rel::Exact | Rel::Word | Rel::NotEq => {
            let trimmed = raw.trim_end_matches('*');
            if raw != "*" && trimmed.contains('*') {
                return Err(CqlError::Validation(format!(
                    "CQL: only right truncation supported for id:  {raw}"
                )));
            }
            Ok(())
        }
        _ => {
            let op = match rel {
                Rel::Any => "any",
                Rel::AllWords => "all",
                _ => "adj",
            };
            Err(CqlError::Validation(format!(
                "CQL: Unsupported operator '{op}', UUID {index} only supports '=', '==', and '<>' (possibly with right truncation)"
            )))
        }
    }
}

/// RMB's `uuidPattern` (`cql2pgjson/src/main/java/org/folio/cql2pgjson/CQL2PgJSON.java` line 73): any hex digits in the 8-4-4-4-12 layout.
fn is_uuid_text(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Indexes compared as UUIDs ([`check_uuid_clause`]).
fn is_uuid_index(index: &str) -> bool {
    index == "id" || index == "patronGroup"
}

/// `pgId`'s evaluation of one UUID clause against the record's value (`None`: no value).
fn uuid_matches(value: Option<&str>, rel: Rel, term: &Term) -> bool {
    let raw = term.raw.as_str();
    match rel {
        Rel::Lt | Rel::Gt | Rel::Le | Rel::Ge => {
            let Some(v) = value else { return false };
            let (v, t) = (v.to_ascii_lowercase(), raw.to_ascii_lowercase());
            match rel {
                Rel::Lt => v < t,
                Rel::Gt => v > t,
                Rel::Le => v <= t,
                _ => v >= t,
            }
        }
        Rel::Exact if raw.is_empty() => false,
        Rel::Exact | Rel::Word | Rel::NotEq => {
            let equals = rel != Rel::NotEq;
            if raw.is_empty() {
                return value.is_some();
            }
            if raw == "*" {
                return equals && value.is_some();
            }
            let Some(v) = value else { return false };
            let v = v.to_ascii_lowercase();
            let trunc = raw.trim_end_matches('*');
            if trunc.len() == raw.len() {
                if !is_uuid_text(raw) {
                    return !equals;
                }
                return (v == raw.to_ascii_lowercase()) == equals;
            }
            let lo = format!(
                "{trunc}{}",
                &"00000000-0000-0000-0000-000000000000"
                    .get(trunc.len()..)
                    .unwrap_or("")
            );
            let hi = format!(
                "{trunc}{}",
                &"ffffffff-ffff-ffff-ffff-ffffffffffff"
                    .get(trunc.len()..)
                    .unwrap_or("")
            );
            if !is_uuid_text(&lo) || !is_uuid_text(&hi) {
                return !equals;
            }
            let (lo, hi) = (lo.to_ascii_lowercase(), hi.to_ascii_lowercase());
            (lo <= v && v <= hi) == equals
        }
        _ => false,
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
            ..
        } if term.like.is_none() && !term.text.is_empty() && i != "keywords" => {
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
        return Err(CqlError::Parse("empty query".into()));
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
            return Err(CqlError::Parse(format!(
                "unexpected token at position {}",
                p.pos
            )));
        }
        n
    };
    let mut sort = Vec::new();
    if sort_at.is_some() && sort_toks.is_empty() {
        return Err(CqlError::Parse("sortBy without a sort key".into()));
    }
    for t in sort_toks {
        let Tok::Word(w, false) = t else {
            return Err(CqlError::Parse("bad sort key".into()));
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
            return Err(CqlError::Parse("empty sort key".into()));
        }
        sort.push(SortKey { field, descending });
    }
    Ok(Query {
        root: optimize(root),
        sort,
    })
}

/// Folds a string for comparison: `lower(f_unaccent(s))`, as the mod-users indexes and
/// CQL2PgJSON's `==` compare (see [`patron_unaccent`]).
pub fn fold(s: &str) -> String {
    patron_unaccent::fold(s).into_owned()
}

/// [`fold`], borrowing `s` when it is already folded (lower-case ASCII: the common case of ids,
/// codes and user names), so evaluating a query over a collection allocates nothing per record.
fn fold_cow(s: &str) -> Cow<'_, str> {
    patron_unaccent::fold(s)
}

/// PostgreSQL's text output of a `jsonb` value: `["a", "b"]`, `{"k": 1}` (keys in jsonb's
/// order, shorter first), as `->>` returns it for an array or object.
fn jsonb_text(v: &Value, out: &mut String) {
    match v {
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                jsonb_text(x, out);
            }
            out.push(']');
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push_str(": ");
                if let Some(x) = m.get(k) {
                    jsonb_text(x, out);
                }
            }
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// The value CQL2PgJSON compares for an index: `jsonb->'a'->'b'->>'c'` (RMB
/// `dbschema/src/main/java/org/folio/dbschema/util/SqlUtil.java` line 124,
/// `Cql2PgUtil.cqlNameAsSqlText`). A step through an array is SQL NULL (`->'key'` on an array);
/// a leaf array or object is its JSON text, so `tags.tagList=="x"` compares `["x"]` with `x`
/// and matches nothing, while `=` (full text) finds the word in that text. `None` = NULL.
fn value_at<'a>(v: &'a Value, path: &str) -> Option<Cow<'a, str>> {
    let mut cur = v;
    for part in path.split('.') {
        cur = cur.as_object()?.get(part)?;
    }
    match cur {
        Value::Null => None,
        Value::String(s) => Some(Cow::Borrowed(s.as_str())),
        Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        other => {
            let mut s = String::new();
            jsonb_text(other, &mut s);
            Some(Cow::Owned(s))
        }
    }
}

/// The folded value a query compares for a top-level or dotted `index` of `record` (what an
/// exact clause or an [`Node::InSet`] tests), `None` for NULL.
pub fn folded_value(record: &Value, index: &str) -> Option<String> {
    value_at(record, index).map(|v| fold(&v))
}

/// The folded words of a value, as `get_tsvector` (PostgreSQL `to_tsvector('simple', …)`)
/// splits it: runs of letters and digits.
fn words(s: &str) -> Vec<String> {
    fold(s)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// A full-text clause (RMB `queryByFt`): `=` and `adj` are `tsquery_phrase` (the words in
/// order, adjacent), `all` `tsquery_and`, `any` `tsquery_or`; `word*` matches by prefix.
fn ft_matches(value: Option<&str>, rel: Rel, ft: &FtTerm) -> bool {
    let words_t = match ft {
        FtTerm::All => return true,
        FtTerm::AnyValue => return value.is_some(),
        FtTerm::Words(w) => w,
    };
    let Some(value) = value else { return false };
    if words_t.is_empty() {
        return false;
    }
    let vw = words(value);
    let hit = |x: &str, (w, prefix): &(String, bool)| {
        if *prefix {
            x.starts_with(w.as_str())
        } else {
            x == w
        }
    };
    match rel {
        Rel::Any => words_t.iter().any(|t| vw.iter().any(|x| hit(x, t))),
        Rel::AllWords => words_t.iter().all(|t| vw.iter().any(|x| hit(x, t))),
        _ => vw
            .windows(words_t.len())
            .any(|win| win.iter().zip(words_t.iter()).all(|(x, t)| hit(x, t))),
    }
}

/// `==`, `<>` (RMB `queryByLike`, `CQL2PgJSON.java` line 940: `lower(f_unaccent(v)) LIKE
/// lower(f_unaccent(term))`, wildcards from `cql2like`) and `<`, `>`, `<=`, `>=` (`queryBySql`,
/// line 998) on a string value; NULL matches
/// nothing, not even `<>`.
fn matches_clause(value: Option<&str>, rel: Rel, term: &Term) -> bool {
    let Some(value) = value else { return false };
    if rel == Rel::Exact && term.like.is_none() && value.is_ascii() && term.text.is_ascii() {
        // Same as comparing the folded forms, without allocating (lookups test many clauses).
        return value.eq_ignore_ascii_case(&term.text);
    }
    let v = fold_cow(value);
    let (v, t) = (v.as_ref(), term.folded.as_str());
    let equal = || match &term.like {
        Some(p) => like_match(v, p),
        None => v == t,
    };
    match rel {
        Rel::Exact => equal(),
        Rel::NotEq => !equal(),
        Rel::Lt => v < t,
        Rel::Gt => v > t,
        Rel::Le => v <= t,
        Rel::Ge => v >= t,
        _ => false,
    }
}

/// The fields of mod-users' `keywords` full-text index on `users` (folio-org/mod-users @
/// 368b83fb6 `src/main/resources/templates/db_scripts/schema.json` lines 340-343,
/// `multiFieldNames`; `customFields` is read as its JSON text). Not modelled: RMB joins the
/// fields into one text, so a phrase across two fields (first and last name) would match there.
const KEYWORD_FIELDS: [&str; 10] = [
    "username",
    "personal.firstName",
    "personal.preferredFirstName",
    "personal.lastName",
    "personal.middleName",
    "personal.email",
    "barcode",
    "id",
    "externalSystemId",
    "customFields",
];

/// The value of `index` in `record`; `id` (the record's id as its collection keys it) answers
/// for the `id` index without looking inside the record.
fn value_of<'a>(record: &'a Value, id: Option<&'a str>, index: &str) -> Option<Cow<'a, str>> {
    match id {
        Some(id) if index == "id" => Some(Cow::Borrowed(id)),
        _ => value_at(record, index),
    }
}

fn eval(node: &Node, record: &Value, id: Option<&str>) -> bool {
    match node {
        Node::All => true,
        Node::And(a, b) => eval(a, record, id) && eval(b, record, id),
        Node::Or(a, b) => eval(a, record, id) || eval(b, record, id),
        Node::Not(a, b) => eval(a, record, id) && !eval(b, record, id),
        Node::InSet { index, set } => {
            value_of(record, id, index).is_some_and(|v| set.contains(fold_cow(&v).as_ref()))
        }
        Node::Clause {
            index,
            rel,
            term,
            ft,
        } => {
            if is_uuid_index(index) {
                return uuid_matches(value_of(record, id, index).as_deref(), *rel, term);
            }
            if index == "keywords" {
                return KEYWORD_FIELDS.iter().any(|f| {
                    let v = value_of(record, id, f);
                    match ft {
                        Some(ft) => ft_matches(v.as_deref(), *rel, ft),
                        None => matches_clause(v.as_deref(), *rel, term),
                    }
                });
            }
            let v = value_of(record, id, index);
            match ft {
                Some(ft) => ft_matches(v.as_deref(), *rel, ft),
                None => matches_clause(v.as_deref(), *rel, term),
            }
        }
    }
}

impl Query {
    /// For an index-backed lookup: when the query (no `sortBy`) is an OR of exact, non-prefix
    /// terms, each on one of `indexes` — what a batch lookup `f==("a" or "b") or g==("c")`
    /// parses to —, the folded terms with their index; `None` otherwise. A record matches only
    /// if its folded value of one of these indexes is one of its terms, so the records holding
    /// them are a superset of the hits (the caller still tests each with
    /// [`Query::matches_keyed`]).
    pub fn exact_terms_on(&self, indexes: &[&str]) -> Option<Vec<(String, String)>> {
        fn walk(node: &Node, indexes: &[&str], out: &mut Vec<(String, String)>) -> bool {
            match node {
                Node::Or(a, b) => walk(a, indexes, out) && walk(b, indexes, out),
                Node::InSet { index, set } if indexes.contains(&index.as_str()) => {
                    out.extend(set.iter().map(|t| (index.clone(), t.clone())));
                    true
                }
                Node::Clause {
                    index,
                    rel: Rel::Exact,
                    term,
                    ft: None,
                } if term.like.is_none()
                    && !term.text.is_empty()
                    && indexes.contains(&index.as_str()) =>
                {
                    out.push((index.clone(), term.folded.clone()));
                    true
                }
                _ => false,
            }
        }
        if !self.sort.is_empty() {
            return None;
        }
        let mut out = Vec::new();
        walk(&self.root, indexes, &mut out).then_some(out)
    }

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
                    ..
                } if index == "id" && term.like.is_none() => Some(term.folded.as_str()),
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
                            value_at(r, &k.field)
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
        // PostgreSQL's ORDER BY: "null values sort as if larger than any non-null value"
        // (NULLS LAST ascending, NULLS FIRST descending; docs, SELECT, ORDER BY clause).
        keyed.sort_by(|(ka, _), (kb, _)| {
            for (i, k) in self.sort.iter().enumerate() {
                let o = match (&ka[i], &kb[i]) {
                    (None, None) => Ordering::Equal,
                    (None, Some(_)) => Ordering::Greater,
                    (Some(_), None) => Ordering::Less,
                    (Some(a), Some(b)) => a.cmp(b),
                };
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

    const A: &str = "10000000-0000-4000-8000-000000000001";
    const B: &str = "20000000-0000-4000-8000-000000000002";
    const C: &str = "30000000-0000-4000-8000-000000000003";

    fn m(q: &str, r: &Value) -> bool {
        parse(q).map(|q| q.matches(r)).unwrap_or(false)
    }

    fn validation(q: &str) -> String {
        match parse(q) {
            Err(CqlError::Validation(m)) => m,
            other => panic!("{q}: expected a validation error, got {other:?}"),
        }
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

    /// Cql2SqlUtil.cql2like: an unmasked `*` is `%` and `?` is `_`, anywhere in a `==` term;
    /// masked (`\*`) they are literal.
    #[test]
    fn like_wildcards_anywhere() {
        let r = json!({"username":"jnunez","barcode":"a*b"});
        assert!(m(r#"username=="*nun*""#, &r));
        assert!(m(r#"username=="j?unez""#, &r));
        assert!(m(r#"username=="*z""#, &r));
        assert!(!m(r#"username=="j?nez""#, &r));
        assert!(m(r#"barcode=="a\*b""#, &r));
        assert!(!m(r#"barcode=="a\*c""#, &r));
        assert!(m(r#"username<>"*x*""#, &r));
    }

    /// f_unaccent folding in `==` (PostgreSQL unaccent.rules: ø→o, ß→ss).
    #[test]
    fn exact_folds_like_f_unaccent() {
        let r = json!({"personal":{"lastName":"Ørsted"}, "username": "strasse"});
        assert!(m(r#"personal.lastName=="orsted""#, &r));
        assert!(m(r#"username=="Straße""#, &r));
    }

    #[test]
    fn booleans_lists_and_all_records() {
        let r = json!({"externalSystemId":"b","active":true,"id":B});
        assert!(m(r#"externalSystemId==("a" or "b")"#, &r));
        assert!(m(
            r#"(externalSystemId=="a" or externalSystemId=="b") and active==true"#,
            &r
        ));
        assert!(!m(r#"externalSystemId=="b" not active==true"#, &r));
        assert!(m("cql.allRecords=1 sortBy id", &r));
        assert!(m(
            &format!(r#"id>"{A}" and cql.allRecords=1 sortBy id"#),
            &r
        ));
        assert!(!m(&format!(r#"id>"{B}""#), &r));
    }

    /// mod-users' `keywords` index covers the fields its schema.json lines 340-343 list,
    /// `personal.middleName` and `customFields` among them, and nothing else.
    #[test]
    fn keywords_search_the_indexed_fields() {
        let r = json!({"id": A, "username": "jdoe",
            "personal": {"lastName": "Doe", "middleName": "Quincy", "phone": "5550100"},
            "customFields": {"department": "Astronomy"}});
        assert!(m(r#"keywords="quincy""#, &r));
        assert!(m(r#"keywords="astronomy""#, &r));
        assert!(m(r#"keywords="jdoe""#, &r));
        assert!(!m(r#"keywords="5550100""#, &r), "phone is not indexed");
    }

    /// CQL2PgJSON compares `jsonb->'a'->>'b'` (dbschema SqlUtil.cqlNameAsSqlText): an array leaf
    /// is its JSON text (`==` sees `["a", "B"]`, `=` finds words in it), a step through an array
    /// is NULL, and NULL matches nothing, not even `<>`.
    #[test]
    fn arrays_are_json_text_not_flattened() {
        let r = json!({
            "id": A,
            "active": false,
            "personal": {"addresses": [{"city": "Ghent"}, {"city": "LYON"}]},
            "tags": {"tagList": ["registrar-roster", "B"]},
            "departments": [C],
            "n": 42
        });
        assert!(
            !m(r#"tags.tagList=="registrar-roster""#, &r),
            "== on an array"
        );
        assert!(
            m(r#"tags.tagList="registrar-roster""#, &r),
            "= finds the element"
        );
        assert!(m(r#"tags.tagList=="[\"registrar-roster\", \"B\"]""#, &r));
        assert!(m(r#"tags.tagList=="*roster*""#, &r));
        assert!(!m(&format!(r#"departments=="{C}""#), &r));
        assert!(m(&format!(r#"departments="{C}""#), &r));
        assert!(
            !m(r#"personal.addresses.city=="lyon""#, &r),
            "NULL through an array"
        );
        assert!(!m(r#"personal.addresses.city="lyon""#, &r));
        assert!(!m(r#"personal.addresses.city<>"x""#, &r));
        assert!(m("active==false", &r));
        assert!(m("n==42", &r));
        assert!(!m(r#"barcode<>"6""#, &r), "no value: not 'different'");
    }

    /// RMB queryByFt: `=`/`adj` are phrase queries, `all`/`any` and/or of words; `*` alone is
    /// true (even without a value), `""` any value; `?` and an inner `*` are errors.
    #[test]
    fn full_text_phrase_words_and_wildcards() {
        let r = json!({"personal":{"lastName":"van der Berg"}, "username":"x"});
        assert!(m(r#"personal.lastName="van der""#, &r));
        assert!(
            !m(r#"personal.lastName="der van""#, &r),
            "phrase: order matters"
        );
        assert!(m(r#"personal.lastName all "berg van""#, &r));
        assert!(m(r#"personal.lastName any "smith berg""#, &r));
        assert!(m(r#"personal.lastName="be*""#, &r));
        assert!(m(r#"barcode=*"#, &r), "* alone matches every record");
        assert!(!m(r#"barcode="""#, &r), "\"\" needs a value");
        assert!(m(r#"username="""#, &r));
        assert_eq!(
            validation(r#"username="a?b""#),
            "? wildcard not allowed in full text query string"
        );
        assert_eq!(
            validation(r#"username="a*b""#),
            "* right truncation wildcard must be followed by space or end of string, but found b"
        );
    }

    /// CQL2PgJSON.pgId: UUID indexes (`id`, foreign keys like `patronGroup`).
    #[test]
    fn uuid_rules_of_pg_id() {
        let r = json!({"id": B, "patronGroup": C});
        assert_eq!(
            validation(r#"id>"not-a-uuid""#),
            "CQL: Invalid UUID after 'id>': not-a-uuid"
        );
        assert!(!m(r#"id=="not-a-uuid""#, &r), "== an invalid UUID: false");
        assert!(m(r#"id<>"not-a-uuid""#, &r));
        assert!(!m(r#"id=="""#, &r));
        assert!(m(r#"id="""#, &r));
        assert!(m(r#"id==*"#, &r));
        assert!(m(r#"id=="20000000*""#, &r), "right truncation");
        assert!(!m(r#"id=="30000000*""#, &r));
        assert!(m(&format!(r#"id=="{}""#, B.to_uppercase()), &r));
        assert!(m(&format!(r#"patronGroup==("{A}" or "{C}")"#), &r));
        assert_eq!(
            validation(r#"id=="2*0""#),
            "CQL: only right truncation supported for id:  2*0"
        );
        assert!(validation(r#"id adj "x""#).starts_with("CQL: Unsupported operator 'adj'"));
    }

    /// CQL2PgJSON.java lines 522-525: no serverChoiceIndexes in mod-users.
    #[test]
    fn bare_terms_are_refused() {
        assert_eq!(
            validation("jnunez"),
            "cql.serverChoice requested, but no serverChoiceIndexes defined."
        );
    }

    #[test]
    fn keyed_matching_and_sorting_read_the_id_from_the_key() {
        let a = json!({"id": B, "personal": {"lastName": "Zola"}});
        let b = json!({"id": A, "personal": {"lastName": "émile"}});
        let c = json!({"id": C, "personal": {"lastName": "Adams"}});
        let q = parse(&format!(r#"id>"{A}" sortBy id"#)).unwrap();
        assert!(q.matches_keyed(B, &a));
        assert!(!q.matches_keyed(A, &b));
        assert!(q.matches_keyed(C, &c));
        let mut recs = vec![(B, &a), (A, &b), (C, &c)];
        q.sort_keyed(&mut recs);
        let ids: Vec<&str> = recs.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, [A, B, C]);
        let q = parse("cql.allRecords=1 sortBy personal.lastName/sort.descending").unwrap();
        q.sort_keyed(&mut recs);
        let ids: Vec<&str> = recs.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, [B, A, C], "Zola, émile (folded: emile), Adams");
    }

    /// PostgreSQL ORDER BY: NULLs sort as larger than any value (last ascending, first
    /// descending).
    #[test]
    fn missing_sort_keys_sort_last_ascending() {
        let a = json!({"id": A, "barcode": "2"});
        let b = json!({"id": B});
        let c = json!({"id": C, "barcode": "1"});
        let mut recs = vec![(A, &a), (B, &b), (C, &c)];
        parse("cql.allRecords=1 sortBy barcode")
            .unwrap()
            .sort_keyed(&mut recs);
        let ids: Vec<&str> = recs.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, [C, A, B]);
        parse("cql.allRecords=1 sortBy barcode/sort.descending")
            .unwrap()
            .sort_keyed(&mut recs);
        let ids: Vec<&str> = recs.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, [B, A, C]);
    }

    #[test]
    fn keyset_queries_are_recognised() {
        let after = |q: &str| parse(q).unwrap().keyset_after().map(str::to_string);
        let up = A.to_uppercase();
        assert_eq!(
            after(&format!(r#"id>"{up}" and cql.allRecords=1 sortBy id"#)),
            Some(A.into())
        );
        assert_eq!(
            after(&format!(r#"active==true and id>"{A}""#)),
            Some(A.into())
        );
        assert_eq!(
            after(&format!(
                r#"id>"{A}" and (active==true and cql.allRecords=1) sortBy id"#
            )),
            Some(A.into())
        );
        assert_eq!(
            after(&format!(r#"id>"{A}" sortBy id/sort.descending"#)),
            None
        );
        assert_eq!(after(&format!(r#"id>"{A}" sortBy username"#)), None);
        assert_eq!(after(&format!(r#"id>="{A}" sortBy id"#)), None);
        assert_eq!(after(&format!(r#"id>"{A}" or active==true"#)), None);
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

    /// A CQL quoted term for `v`: `"…"` with `\\ * ? ^ "` backslash-escaped (CQL spec,
    /// loc.gov/standards/sru/cql/spec.html "Terms": `\\` escapes within a quoted string; RMB
    /// `StringUtil.appendCqlEncoded`). The test's own, not the client's.
    fn quote(v: &str) -> String {
        let mut out = String::from('"');
        for c in v.chars() {
            if matches!(c, '\\' | '*' | '?' | '^' | '"') {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
        out
    }

    proptest::proptest! {
        /// Parsing never panics, whatever the input.
        #[test]
        fn parse_never_panics(q in "\\PC{0,40}") {
            let _ = parse(&q);
        }

        /// A term without wildcards matches exactly its own folded text.
        #[test]
        fn exact_matches_its_own_value(v in "[^*?\\\\\"]{1,20}") {
            let r = json!({"username": v.clone()});
            let q = format!("username=={}", quote(&v));
            proptest::prop_assert!(m(&q, &r), "{}", q);
        }
    }
}
