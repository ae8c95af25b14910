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
    /// `-- isolint: example NAME=VALUE ...`: concrete parameter values for one instance of the
    /// transaction, used by `isolint confirm`. Names are written without `$`, `:` or `@`.
    Example(Vec<(String, String)>),
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
    if let Some(values) = strip_prefix_ignore_case(rest, "example ") {
        return Some(example(values));
    }
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

/// `NAME=VALUE` pairs separated by spaces; a value may be single-quoted to hold spaces.
fn example(text: &str) -> Directive {
    let mut pairs = Vec::new();
    let mut rest = text.trim();
    while let Some((name, after)) = rest.split_once('=') {
        let name = name.trim().trim_start_matches(['$', ':', '@']).to_string();
        let after = after.trim_start();
        let (value, next) = match after.strip_prefix('\'') {
            Some(quoted) => match quoted.split_once('\'') {
                Some((value, next)) => (value, next),
                None => return Directive::Unknown(format!("example {text}")),
            },
            None => after.split_once(char::is_whitespace).unwrap_or((after, "")),
        };
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Directive::Unknown(format!("example {text}"));
        }
        pairs.push((name, value.to_string()));
        rest = next.trim();
    }
    if pairs.is_empty() || !rest.is_empty() {
        return Directive::Unknown(format!("example {text}"));
    }
    Directive::Example(pairs)
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
        assert_eq!(
            parse_comment("-- isolint: example $1=7 name='Dr Who' :day=2024-01-01"),
            Some(Directive::Example(vec![
                ("1".into(), "7".into()),
                ("name".into(), "Dr Who".into()),
                ("day".into(), "2024-01-01".into()),
            ]))
        );
        assert!(matches!(
            parse_comment("-- isolint: example shift"),
            Some(Directive::Unknown(_))
        ));
    }
}
