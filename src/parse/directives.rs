//! `-- name:` lines and `-- isolint:` directives found in comments.

use crate::source::TextRange;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Directive {
    /// `-- name: NAME` (sqlc style; words after the name are ignored).
    Name(String),
    /// `-- isolint: ignore RULE[, RULE] [-- reason]`
    Ignore(Vec<String>),
    /// `-- isolint: ignore-file RULE[, RULE]`
    IgnoreFile(Vec<String>),
    /// `-- isolint: isolation LEVEL`
    Isolation(String),
    /// `-- isolint: ...` that is none of the above.
    Unknown(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located<T> {
    pub value: T,
    pub range: TextRange,
}

/// Reads the directive in one comment, if it holds one.
pub fn parse_comment(comment: &str) -> Option<Directive> {
    let body = comment
        .trim()
        .trim_start_matches("--")
        .trim_start_matches('#')
        .trim_start_matches("/*")
        .trim_end_matches("*/")
        .trim();
    if let Some(rest) = strip_prefix_ignore_case(body, "name:") {
        let name = rest.split_whitespace().next()?;
        return Some(Directive::Name(name.to_string()));
    }
    let rest = strip_prefix_ignore_case(body, "isolint:")?.trim();
    // A reason may follow after `--`.
    let rest = rest.split("--").next().unwrap_or("").trim();
    let (verb, arguments) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let rules = || {
        arguments
            .split([',', ' '])
            .map(str::trim)
            .filter(|rule| !rule.is_empty())
            .map(str::to_ascii_lowercase)
            .collect::<Vec<_>>()
    };
    let directive = match verb.to_ascii_lowercase().as_str() {
        "ignore" => Directive::Ignore(rules()),
        "ignore-file" => Directive::IgnoreFile(rules()),
        "isolation" => Directive::Isolation(arguments.trim().to_string()),
        _ => Directive::Unknown(rest.to_string()),
    };
    Some(directive)
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_names_and_directives() {
        assert_eq!(
            parse_comment("-- name: GetAuthor :one"),
            Some(Directive::Name("GetAuthor".into()))
        );
        assert_eq!(
            parse_comment("-- isolint: ignore write-skew, lost-update -- reviewed"),
            Some(Directive::Ignore(vec![
                "write-skew".into(),
                "lost-update".into()
            ]))
        );
        assert_eq!(
            parse_comment("-- isolint: isolation repeatable read"),
            Some(Directive::Isolation("repeatable read".into()))
        );
        assert_eq!(parse_comment("-- just a comment"), None);
    }
}
