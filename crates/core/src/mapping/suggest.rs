//! "Did you mean …?" suggestions: the nearest valid name to a misspelt one, when reasonably close.

/// Minimum similarity (Jaro-Winkler on lowercase text) for a suggestion.
const THRESHOLD: f64 = 0.8;

/// The candidate nearest to `name`, if any is close enough to be a plausible intent.
///
/// Compares case-insensitively; a dotted candidate (`personal.lastName`) is also compared by its
/// last segment, so `lastname` suggests `personal.lastName`.
pub(crate) fn nearest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let wanted = name.trim().to_lowercase();
    if wanted.is_empty() {
        return None;
    }
    let mut best: Option<(f64, &'a str)> = None;
    for cand in candidates {
        let lower = cand.to_lowercase();
        let mut score = strsim::jaro_winkler(&wanted, &lower);
        if let Some((_, last)) = lower.rsplit_once('.') {
            score = score.max(strsim::jaro_winkler(&wanted, last) - 0.02);
        }
        // Short names (`clr` for `clear`) score low on Jaro-Winkler; allow a small edit distance.
        let edits = strsim::levenshtein(&wanted, &lower);
        if edits <= 2 && edits < wanted.chars().count() {
            score = score.max(THRESHOLD);
        }
        if best.is_none_or(|(b, _)| score > b) {
            best = Some((score, cand));
        }
    }
    best.filter(|(s, _)| *s >= THRESHOLD).map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::nearest;

    #[test]
    fn suggests_close_names_only() {
        let c = ["lower", "upper", "trim", "title"];
        assert_eq!(nearest("lowercase", c), Some("lower"));
        assert_eq!(nearest("Trim", c), Some("trim"));
        assert_eq!(nearest("qqqqqqqq", c), None);
        assert_eq!(nearest("", c), None);
    }

    #[test]
    fn matches_last_segment_of_dotted_names() {
        let c = ["personal.lastName", "personal.firstName", "username"];
        assert_eq!(nearest("lastname", c), Some("personal.lastName"));
        assert_eq!(nearest("personal.lastname", c), Some("personal.lastName"));
    }

    #[test]
    fn matches_headers_ignoring_case() {
        let c = ["First Name", "Last Name", "Email"];
        assert_eq!(nearest("LastName", c), Some("Last Name"));
    }
}
