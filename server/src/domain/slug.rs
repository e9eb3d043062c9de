//! Slugs: `{name}` placeholders in template texts, filled from the automation dictionary (a
//! call's parameters, then the session's context).
//!
//! The grammar:
//! - `{name}` is a slug; `name` is 1 to 100 ASCII letters, digits, `_`, `-` or `.`.
//! - `{{` and `}}` are a literal `{` and `}`.
//! - Anything else with a brace (a lone `{` or `}`, `{}`, `{a b}`) is malformed; templates are
//!   checked when they are saved, so a malformed text never reaches a desk.
//! - A slug with no value becomes the empty string.
//! - Values are inserted as they are, in one pass: a value holding braces is never read as a
//!   slug, so callers cannot inject slugs.

use std::fmt::Write as _;

/// The longest slug name.
pub const NAME_MAX: usize = 100;

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// One piece of a template text.
#[derive(Debug, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Brace(char),
    Slug(&'a str),
}

/// Splits a text into pieces, or says (with the character position) what is malformed.
fn parse(text: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut pieces = Vec::new();
    let mut rest = text;
    let mut position = 0;
    while let Some(at) = rest.find(['{', '}']) {
        if at > 0 {
            pieces.push(Piece::Text(&rest[..at]));
        }
        position += rest[..at].chars().count();
        let brace = rest[at..].chars().next().expect("found a brace");
        let after = &rest[at + 1..];
        if after.starts_with(brace) {
            pieces.push(Piece::Brace(brace));
            rest = &after[1..];
            position += 2;
            continue;
        }
        if brace == '}' {
            return Err(format!(
                "a lone `}}` at character {position}; write `}}}}` for a literal brace"
            ));
        }
        let Some(end) = after.find('}') else {
            return Err(format!(
                "`{{` at character {position} is never closed; write `{{{{` for a literal brace"
            ));
        };
        let name = &after[..end];
        if name.is_empty() || name.chars().count() > NAME_MAX || !name.chars().all(is_name_char) {
            return Err(format!(
                "`{{{name}}}` at character {position} is not a slug: a slug name is 1 to {NAME_MAX} letters, digits, `_`, `-` or `.`; write `{{{{` for a literal brace"
            ));
        }
        pieces.push(Piece::Slug(name));
        rest = &after[end + 1..];
        position += name.chars().count() + 2;
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest));
    }
    Ok(pieces)
}

/// Checks a template text; the error says what is wrong and where.
pub fn check(text: &str) -> Result<(), String> {
    parse(text).map(drop)
}

/// Whether a (checked) text has any slug.
pub fn has_slugs(text: &str) -> bool {
    parse(text).is_ok_and(|pieces| pieces.iter().any(|piece| matches!(piece, Piece::Slug(_))))
}

/// Fills a checked text: each slug with `value(name)` (empty when it has none), each value
/// passed through `escape` (e.g. percent-encoding inside a URL). A malformed text is returned
/// as it is.
pub fn fill_with<'v>(
    text: &str,
    value: impl Fn(&str) -> Option<&'v str>,
    escape: impl Fn(&str) -> String,
) -> String {
    let Ok(pieces) = parse(text) else {
        return text.to_owned();
    };
    let mut filled = String::with_capacity(text.len());
    for piece in pieces {
        match piece {
            Piece::Text(text) => filled.push_str(text),
            Piece::Brace(brace) => filled.push(brace),
            Piece::Slug(name) => {
                if let Some(value) = value(name) {
                    let _ = write!(filled, "{}", escape(value));
                }
            }
        }
    }
    filled
}

/// Fills a checked text with values as they are.
pub fn fill<'v>(text: &str, value: impl Fn(&str) -> Option<&'v str>) -> String {
    fill_with(text, value, str::to_owned)
}

/// Cuts a filled text to at most `max` characters (titles are for display; a long value must
/// not make a call fail).
pub fn truncate(mut text: String, max: usize) -> String {
    if let Some((at, _)) = text.char_indices().nth(max) {
        text.truncate(at);
    }
    text
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn filled(text: &str, pairs: &[(&str, &str)]) -> String {
        let values = values(pairs);
        fill(text, |name| values.get(name).map(String::as_str))
    }

    #[test]
    fn slugs_are_filled_and_unknown_ones_are_empty() {
        assert_eq!(
            filled(
                "Call from {customerName} ({caseId})",
                &[("customerName", "Maria")]
            ),
            "Call from Maria ()"
        );
        assert_eq!(filled("{a}{b}", &[("a", "1"), ("b", "2")]), "12");
        assert_eq!(filled("no slugs", &[]), "no slugs");
        assert_eq!(filled("", &[]), "");
        assert_eq!(filled("{x.y-z_1}", &[("x.y-z_1", "ok")]), "ok");
    }

    #[test]
    fn doubled_braces_are_literal() {
        assert_eq!(filled("{{json}} {{{n}}}", &[("n", "1")]), "{json} {1}");
        assert!(!has_slugs("{{not a slug}}"));
        assert!(has_slugs("{{literal}} {slug}"));
    }

    #[test]
    fn values_are_never_read_as_slugs() {
        assert_eq!(
            filled("Hi {name}", &[("name", "{secret}"), ("secret", "leaked")]),
            "Hi {secret}"
        );
    }

    #[test]
    fn malformed_texts_say_where_and_what_to_do() {
        for (text, position) in [
            ("Call {customer", "character 5"),
            ("Call } now", "character 5"),
            ("é{}", "character 1"),
            ("{a b}", "character 0"),
            ("{ä}", "character 0"),
        ] {
            let error = check(text).expect_err(text);
            assert!(error.contains(position), "{text}: {error}");
            assert!(error.contains("literal brace"), "{text}: {error}");
        }
        let long = format!("{{{}}}", "n".repeat(NAME_MAX + 1));
        assert!(check(&long).is_err());
        assert!(check(&format!("{{{}}}", "n".repeat(NAME_MAX))).is_ok());
    }

    #[test]
    fn unicode_and_long_values_fill_and_truncate_on_characters() {
        let title = filled("Anruf von {name} 📞", &[("name", "Zoë Ångström")]);
        assert_eq!(title, "Anruf von Zoë Ångström 📞");
        let long = "ü".repeat(5000);
        let title = truncate(filled("{v}", &[("v", &long)]), 200);
        assert_eq!(title.chars().count(), 200);
        assert_eq!(truncate("short".into(), 200), "short");
    }

    #[test]
    fn escaping_applies_to_values_only() {
        let values = values(&[("q", "Maria & Co/?")]);
        let url = fill_with(
            "https://crm.example.com/search?q={q}&x={{1}}",
            |name| values.get(name).map(String::as_str),
            |value| value.replace('&', "%26").replace(' ', "%20"),
        );
        assert_eq!(
            url,
            "https://crm.example.com/search?q=Maria%20%26%20Co/?&x={1}"
        );
    }

    #[test]
    fn hostile_input_never_panics() {
        for text in [
            "{",
            "}",
            "{{{",
            "}}}",
            "{{}",
            "{}}",
            "{\u{0}}",
            "{\n}",
            "🙂{🙂}",
        ] {
            let _ = check(text);
            let _ = fill(text, |_| Some("v"));
        }
    }
}
