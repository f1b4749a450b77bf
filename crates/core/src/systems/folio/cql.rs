//! CQL building: quoting, escaping and OR-lists for batch lookups.
//!
//! Values are wrapped in `"…"` with the five CQL specials `\ * ? ^ "` backslash-escaped
//! (RMB `StringUtil.appendCqlEncoded`); the query is percent-encoded by the HTTP layer.

/// Quotes and escapes one value.
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if matches!(c, '\\' | '*' | '?' | '^' | '"') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// `field==("a" or "b" …)` for a non-empty list of values.
pub fn any_of(field: &str, values: &[&str]) -> String {
    let list: Vec<String> = values.iter().map(|v| quote(v)).collect();
    format!("{field}==({})", list.join(" or "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_escapes_specials() {
        assert_eq!(quote("abc"), "\"abc\"");
        assert_eq!(quote(r#"a"b*c?d^e\f"#), r#""a\"b\*c\?d\^e\\f""#);
    }

    #[test]
    fn or_lists() {
        assert_eq!(
            any_of("externalSystemId", &["a", "b c"]),
            r#"externalSystemId==("a" or "b c")"#
        );
    }
}
