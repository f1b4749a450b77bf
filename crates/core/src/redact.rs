//! The one boundary every text from a server passes before it reaches a report, the journal, a
//! log or the terminal: [`clean`] removes the target's secrets (API keys, passwords, tokens,
//! cookies — exact, percent-encoded and form-encoded), the values the request carried in its
//! query string (Libib sends patron fields there), any URL query string, and header-like
//! `name: value` pairs for credentials; then it drops control characters and cuts the text to
//! [`MAX_SERVER_TEXT`] characters.
//!
//! Invariant: a secret given to [`clean`] never appears in its output, whatever the server
//! echoed (a 500 that echoes the request, a login error that echoes the password).

use regex::Regex;
use std::sync::LazyLock;

/// The longest server text kept (characters); the rest is cut and marked with `…`.
pub const MAX_SERVER_TEXT: usize = 300;

/// What replaces a removed value.
pub const MARK: &str = "[redacted]";

/// Values shorter than this are not treated as secrets (a query value `1` would otherwise
/// blank every digit of a message).
const MIN_SECRET: usize = 4;

/// A URL query string: `?` followed by anything up to whitespace or a quote.
static QUERY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"\?[^\s"'<>]+"#).unwrap_or_else(|_| Regex::new("$^").expect("trivial regex"))
});

/// Credential-carrying names followed by `:` or `=` and a value (header dumps, JSON, forms).
static NAMED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)((?:x-api-key|x-api-user|x-api-ultimate|apikey|api_key|x-okapi-token|authorization|set-cookie|cookie|password|passwd|folioaccesstoken|foliorefreshtoken|token)"?\s*[:=]\s*)("[^"]*"|[^\s,;&"]+)"#,
    )
    .unwrap_or_else(|_| Regex::new("$^").expect("trivial regex"))
});

/// A JSON Web Token (FOLIO's access and refresh tokens are JWTs).
static JWT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
        .unwrap_or_else(|_| Regex::new("$^").expect("trivial regex"))
});

fn percent(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Removes `secrets` (and their URL-encoded forms), query strings, credential pairs and JWTs
/// from `text`, drops control characters and cuts it to [`MAX_SERVER_TEXT`] characters.
pub fn clean(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    let mut all: Vec<String> = Vec::new();
    for s in secrets {
        let s = s.trim();
        if s.chars().count() < MIN_SECRET {
            continue;
        }
        all.push(s.to_string());
        let form = percent(s);
        if form != s {
            all.push(form.clone());
            all.push(form.replace('+', "%20"));
        }
        let json = serde_json::to_string(s).unwrap_or_default();
        if json.len() > 2 && json[1..json.len() - 1] != *s {
            all.push(json[1..json.len() - 1].to_string());
        }
    }
    // Longest first, so a secret containing another is removed whole.
    all.sort_by_key(|s| std::cmp::Reverse(s.len()));
    all.dedup();
    for s in &all {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), MARK);
        }
    }
    let out = JWT.replace_all(&out, MARK);
    let out = NAMED.replace_all(&out, format!("${{1}}{MARK}").as_str());
    let out = QUERY.replace_all(&out, format!("?{MARK}").as_str());
    let mut cut: String = out
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_SERVER_TEXT)
        .collect();
    if out.chars().nth(MAX_SERVER_TEXT).is_some() {
        cut.push('…');
    }
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_echoed_credentials_and_query_strings() {
        let secrets = vec![
            "k3y-abcdef".to_string(),
            "hunter2!".to_string(),
            "jane.doe+x@example.edu".to_string(),
        ];
        let body = "echo: POST /patrons?first_name=Jane&email=jane.doe%2Bx%40example.edu \
                    x-api-key: k3y-abcdef ApiKey=k3y-abcdef {\"password\":\"hunter2!\"} \
                    Cookie: folioAccessToken=eyJhbGciOi.eyJzdWIiOiJ4In0.sig; Path=/";
        let out = clean(body, &secrets);
        for s in [
            "k3y-abcdef",
            "hunter2",
            "jane.doe",
            "example.edu",
            "first_name=Jane",
            "eyJ",
        ] {
            assert!(!out.contains(s), "{s} left in {out}");
        }
        assert!(out.contains("POST /patrons?[redacted]"), "{out}");
    }

    #[test]
    fn bounded_and_single_line() {
        let out = clean(&"x\n".repeat(10_000), &[]);
        assert_eq!(out.chars().count(), MAX_SERVER_TEXT + 1);
        assert!(!out.contains('\n'));
        assert_eq!(
            clean("Username jdoe already exists.", &[]),
            "Username jdoe already exists."
        );
    }

    /// Random Unicode text around a random secret (non-whitespace, any script): the secret
    /// never survives, and the output stays bounded.
    #[test]
    fn a_secret_never_survives_random_unicode() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(21);
        let any = |rng: &mut rand::rngs::StdRng, n: usize, blank: bool| -> String {
            (0..n)
                .filter_map(|_| char::from_u32(rng.gen_range(0..0x30000)))
                .filter(|c| blank || !c.is_whitespace())
                .collect()
        };
        for _ in 0..2000 {
            let (a, b) = (rng.gen_range(0..60), rng.gen_range(0..60));
            let n = rng.gen_range(4..30);
            let secret = any(&mut rng, n, false);
            if secret.chars().count() < MIN_SECRET {
                continue;
            }
            let text = format!(
                "{}{secret}{}",
                any(&mut rng, a, true),
                any(&mut rng, b, true)
            );
            let out = clean(&text, std::slice::from_ref(&secret));
            assert!(!out.contains(&secret), "{secret:?} in {out:?}");
            assert!(out.chars().count() <= MAX_SERVER_TEXT + 1);
        }
    }
}
