//! `-- name:` lines and `-- isolint:` directives found in comments.

use crate::source::TextRange;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Directive {
    /// A query's name: `-- name: NAME` (sqlc, yesql, aiosql; words after the name and
    /// aiosql's `!`, `<!`, `*!`, `^`, `$`, `#` suffixes are dropped), HugSQL's
    /// `-- :name NAME`, or a comment that holds one identifier between `--` marks
    /// (`-- fetch_job --`, as procrastinate writes them).
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
    if let Some(rest) = strip_prefix_ignore_case(body, "name:")
        .or_else(|| strip_prefix_ignore_case(body, ":name ").filter(|_| comment.starts_with("--")))
    {
        let name = rest
            .split_whitespace()
            .next()?
            .trim_end_matches(['!', '<', '*', '^', '$', '#']);
        return (!name.is_empty()).then(|| Directive::Name(name.to_string()));
    }
    if let Some(name) = header_name(comment) {
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

/// A `-- name --` header names every statement below it up to the next header: the first
/// statement is `name`, later ones `name:LINE` (each is its own program, and names stay
/// unique). A statement with a name of its own keeps it.
pub fn carry_headers(text: &str, statements: &mut [super::RawStatement]) {
    let mut header: Option<(String, TextRange)> = None;
    // Lines are counted on from the previous statement, so a long file is read once.
    let (mut counted_to, mut line) = (0, 1);
    for statement in statements {
        // The header nearest the statement names it (a file may describe its format in a
        // header-like comment at the top).
        let own = statement
            .directives
            .iter()
            .rfind(|directive| matches!(directive.value, Directive::Name(_)));
        match own {
            Some(directive) => {
                header = text
                    .get(directive.range.start..directive.range.end)
                    .and_then(header_name)
                    .map(|name| (name.to_string(), directive.range));
            }
            None => {
                if let Some((name, range)) = &header {
                    let start = statement.range.start.max(counted_to);
                    line += text.get(counted_to..start).map_or(0, |skipped| {
                        skipped.bytes().filter(|&byte| byte == b'\n').count()
                    });
                    counted_to = start;
                    statement.directives.push(Located {
                        value: Directive::Name(format!("{name}:{line}")),
                        range: *range,
                    });
                }
            }
        }
    }
}

/// The identifier of a `-- name --` header line, if the comment is one.
pub fn header_name(comment: &str) -> Option<&str> {
    let name = comment
        .trim()
        .strip_prefix("--")?
        .strip_suffix("--")?
        .trim();
    let mut chars = name.chars();
    let valid = chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    valid.then_some(name)
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
    fn a_header_names_the_statements_below_it() {
        let text = "-- fetch_job --\nSELECT 1;\nSELECT 2;\n-- other --\nSELECT 3;";
        let file = super::super::parse_file(text, crate::semantics::Engine::Postgres);
        let names: Vec<_> = file
            .statements
            .iter()
            .map(|statement| {
                statement.directives.iter().find_map(|d| match &d.value {
                    Directive::Name(name) => Some(name.clone()),
                    _ => None,
                })
            })
            .collect();
        assert_eq!(
            names,
            [
                Some("fetch_job".to_string()),
                Some("fetch_job:3".to_string()),
                Some("other".to_string())
            ]
        );
    }

    #[test]
    fn query_file_names_of_every_convention() {
        for (comment, name) in [
            ("-- name: GetAccount :one", "GetAccount"),
            ("-- name: ListJobs :many", "ListJobs"),
            ("-- name: get-jobs", "get-jobs"),
            ("-- name: delete_job!", "delete_job"),
            ("-- name: insert_job<!", "insert_job"),
            ("-- name: insert_many*!", "insert_many"),
            ("-- name: one_job^", "one_job"),
            ("--name: no_space", "no_space"),
            ("-- :name character-by-id :? :1", "character-by-id"),
            ("-- fetch_job --", "fetch_job"),
        ] {
            assert_eq!(
                parse_comment(comment),
                Some(Directive::Name(name.into())),
                "{comment}"
            );
        }
        assert_eq!(parse_comment("-- name: !"), None);
    }

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
            parse_comment("-- fetch_job --"),
            Some(Directive::Name("fetch_job".into()))
        );
        assert_eq!(parse_comment("-- a b --"), None);
        assert_eq!(parse_comment("----"), None);
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
