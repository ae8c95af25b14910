//! Query-file parameters that sqlparser does not read, rewritten into ones it does, in the text
//! handed to sqlparser only: sqlc's `sqlc.arg(x)`, `sqlc.narg(x)` and `sqlc.slice(x)`, psycopg's
//! `%(x)s` and `%s`, `${x}` and `{{x}}` template parameters, HugSQL's typed `:v*:x`, and the
//! JDBC `?` that PostgreSQL's dialect takes for an operator.
//!
//! Every rewrite is found from the lexer's tokens, so a `%` inside a string literal or a
//! comment is never touched, and `a % b` (with spaces, as the modulo operator is written) is
//! not a parameter. Named parameters become `:x`, so two uses of `%(job_id)s` are one
//! parameter, and sqlc's `@x` (which PostgreSQL's dialect reads as the `@` absolute-value
//! operator) is `:x` too, the same parameter as `sqlc.arg(x)`. This module does not decide
//! whether `${x}` is a parameter or a template variable: `templates` does, and hands it the
//! markers that are parameters.

use super::lexer::{Token, TokenKind};
use super::split::Chunk;
use crate::semantics::Engine;
use crate::source::TextRange;

/// One replacement in a statement's text: `range` (file-absolute) becomes `replacement`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub range: TextRange,
    pub replacement: String,
}

/// HugSQL's parameter types, written `:type:name` or `:type*:name`: value, tuple, and
/// identifier (whose name stands for a table or column).
const HUGSQL_VALUE_TYPES: &[&str] = &["v", "value", "t", "tuple"];
const HUGSQL_IDENTIFIER_TYPES: &[&str] = &["i", "identifier"];

/// The edits that turn the chunk's query-file parameters into placeholders sqlparser reads.
/// `anonymous` is what an anonymous parameter (`?` or `%s`) becomes: `$0` for PostgreSQL's
/// dialect (what `?` becomes there too), else `?`.
pub fn parameter_edits(text: &str, chunk: &Chunk, engine: Engine) -> Vec<Edit> {
    let tokens = &chunk.tokens;
    let anonymous = if engine.is_postgres_family() {
        "$0"
    } else {
        "?"
    };
    let punct = |index: usize, expected: &str| {
        tokens
            .get(index)
            .is_some_and(|token| token.kind == TokenKind::Punct && token.text(text) == expected)
    };
    // Whether the tokens from `from` to `to` (inclusive) touch, with no space between.
    let touching = |from: usize, to: usize| {
        to < tokens.len() && (from..to).all(|i| tokens[i].range.end == tokens[i + 1].range.start)
    };
    let word = |index: usize| {
        tokens
            .get(index)
            .filter(|token| token.kind == TokenKind::Word)
            .map(|token| token.text(text))
    };
    let mut edits = Vec::new();
    let mut index = 0;
    while index < tokens.len() {
        let token = tokens[index];
        let here = |last: usize, replacement: String| Edit {
            range: TextRange::new(token.range.start, tokens[last].range.end),
            replacement,
        };
        // sqlc.arg(x), sqlc.arg('x'), sqlc.narg(x), sqlc.slice(x)
        if token.is_word(text, "sqlc")
            && punct(index + 1, ".")
            && word(index + 2).is_some_and(|w| {
                ["arg", "narg", "slice"]
                    .iter()
                    .any(|f| w.eq_ignore_ascii_case(f))
            })
            && punct(index + 3, "(")
            && punct(index + 5, ")")
            && let Some(name) = tokens.get(index + 4).and_then(|t| argument_name(t, text))
        {
            edits.push(here(index + 5, format!(":{name}")));
            index += 6;
            continue;
        }
        // %(x)s and %s
        if token.kind == TokenKind::Punct && token.text(text) == "%" {
            if punct(index + 1, "(")
                && word(index + 2).is_some()
                && punct(index + 3, ")")
                && word(index + 4) == Some("s")
                && touching(index, index + 4)
                && let Some(name) = word(index + 2)
            {
                edits.push(here(index + 4, format!(":{}", name.to_ascii_lowercase())));
                index += 5;
                continue;
            }
            if word(index + 1) == Some("s") && touching(index, index + 1) {
                edits.push(here(index + 1, anonymous.to_string()));
                index += 2;
                continue;
            }
        }
        // sqlc's @x, in PostgreSQL
        if token.kind == TokenKind::Param
            && engine.is_postgres_family()
            && let Some(name) = token.text(text).strip_prefix('@')
        {
            edits.push(here(index, format!(":{name}")));
            index += 1;
            continue;
        }
        // HugSQL :v:x, :v*:x, :tuple:x, :i:x
        if token.kind == TokenKind::Param
            && let Some(kind) = token.text(text).strip_prefix(':')
        {
            let kind = kind.to_ascii_lowercase();
            let star = usize::from(punct(index + 1, "*"));
            let name = tokens
                .get(index + 1 + star)
                .filter(|next| next.kind == TokenKind::Param && touching(index, index + 1 + star))
                .and_then(|next| next.text(text).strip_prefix(':'));
            if let Some(name) = name {
                let replacement = if HUGSQL_VALUE_TYPES.contains(&kind.as_str()) {
                    Some(format!(":{}", name.to_ascii_lowercase()))
                } else if HUGSQL_IDENTIFIER_TYPES.contains(&kind.as_str()) {
                    Some(name.to_ascii_lowercase())
                } else {
                    None
                };
                if let Some(replacement) = replacement {
                    edits.push(here(index + 1 + star, replacement));
                    index += 2 + star;
                    continue;
                }
            }
        }
        index += 1;
    }
    edits
}

/// The name extraction gives the parameter a placeholder token stands for: PostgreSQL's
/// `@x` is `:x` (see `parameter_edits`); every other token is its own name.
pub fn parameter_name(token_text: &str, engine: Engine) -> String {
    match token_text.strip_prefix('@') {
        Some(name) if engine.is_postgres_family() => format!(":{name}"),
        _ => token_text.to_string(),
    }
}

/// The parameter a marker such as `${x}` or `{{x}}` names, as `parameter_edits` writes it.
pub fn named_parameter(name: &str) -> String {
    format!(":{}", name.to_ascii_lowercase())
}

/// The name inside `sqlc.arg(...)`: a word, a quoted name or a string.
fn argument_name(token: &Token, text: &str) -> Option<String> {
    match token.kind {
        TokenKind::Word | TokenKind::QuotedIdent => token.ident(text),
        TokenKind::String => {
            let inner = token.text(text).trim_matches('\'');
            let valid =
                !inner.is_empty() && inner.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            valid.then(|| inner.to_ascii_lowercase())
        }
        _ => None,
    }
}

/// Applies `edits` to `sql`, the text of the statement that starts at `start` in the file. A
/// replacement shorter than what it replaces is padded with spaces, so every later offset
/// stays where it was; a longer one shifts the columns after it on its line (parse errors
/// there point a little off). Overlapping edits keep the first.
pub fn apply(sql: &str, start: usize, mut edits: Vec<Edit>) -> String {
    if edits.is_empty() {
        return sql.to_string();
    }
    edits.sort_by_key(|edit| (edit.range.start, edit.range.end));
    let mut result = String::with_capacity(sql.len() + 16);
    let mut last = 0;
    for edit in edits {
        let (from, to) = (edit.range.start - start, edit.range.end - start);
        if from < last || to > sql.len() || !sql.is_char_boundary(from) || !sql.is_char_boundary(to)
        {
            continue;
        }
        result.push_str(&sql[last..from]);
        result.push_str(&edit.replacement);
        let width = to - from;
        if edit.replacement.len() < width {
            result.extend(std::iter::repeat_n(' ', width - edit.replacement.len()));
        }
        last = to;
    }
    result.push_str(&sql[last..]);
    result
}

#[cfg(test)]
mod tests {
    use super::super::{flavor, split};
    use super::*;

    fn rewritten(sql: &str, engine: Engine) -> String {
        let chunks = split::split(sql, flavor(engine), false).chunks;
        let chunk = &chunks[0];
        let text = &sql[chunk.range.start..chunk.range.end];
        apply(text, chunk.range.start, parameter_edits(sql, chunk, engine))
    }

    #[test]
    fn sqlc_parameters_become_named_parameters() {
        assert_eq!(
            rewritten(
                "SELECT * FROM t WHERE id = sqlc.arg(id) AND k = sqlc.narg('k') AND x IN (sqlc.slice(ids)) AND y = @y",
                Engine::Postgres
            ),
            "SELECT * FROM t WHERE id = :id          AND k = :k             AND x IN (:ids           ) AND y = :y"
        );
        assert_eq!(
            rewritten("SELECT * FROM t WHERE y = @y", Engine::Sqlserver),
            "SELECT * FROM t WHERE y = @y"
        );
    }

    #[test]
    fn psycopg_parameters_keep_offsets() {
        let sql = "UPDATE jobs SET s = %s WHERE id = %(job_id)s AND q = %(job_id)s";
        let out = rewritten(sql, Engine::Postgres);
        assert_eq!(out.len(), sql.len());
        assert_eq!(
            out,
            "UPDATE jobs SET s = $0 WHERE id = :job_id    AND q = :job_id   "
        );
        assert_eq!(
            rewritten("SELECT a FROM t WHERE b = %s", Engine::Mysql),
            "SELECT a FROM t WHERE b = ? "
        );
    }

    #[test]
    fn percent_in_strings_and_modulo_is_untouched() {
        for sql in [
            "SELECT a % s FROM t WHERE b LIKE '%s' AND c = '%(x)s'",
            "SELECT a FROM t -- %s\nWHERE b = 1",
        ] {
            assert_eq!(rewritten(sql, Engine::Postgres), sql);
        }
    }

    #[test]
    fn hugsql_typed_parameters_lose_their_type() {
        assert_eq!(
            rewritten(
                "SELECT * FROM t WHERE id IN (:v*:ids) AND k = :value:k",
                Engine::Postgres
            ),
            "SELECT * FROM t WHERE id IN (:ids   ) AND k = :k      "
        );
        assert_eq!(
            rewritten("SELECT * FROM :i:table_name", Engine::Postgres),
            "SELECT * FROM table_name   "
        );
    }

    #[test]
    fn every_cut_of_every_marker_parses_without_a_panic() {
        let text = "SELECT sqlc.arg('a'), %(b)s, %s, :v*:c, ${d}, {{ e }}, @f, ?, :'g', :\"h\", \
                    :i.j, 'é%s', $$x$$, E'k' FROM ${s}.t WHERE x = :NEW.y;";
        let variables =
            super::super::templates::Variables::from([("d".into(), "long value".into())]);
        for engine in crate::semantics::Engine::ALL {
            for (end, _) in text.char_indices() {
                for start in (0..end).step_by(7) {
                    if text.is_char_boundary(start) {
                        super::super::parse_file_with(&text[start..end], engine, &variables);
                    }
                }
            }
        }
    }

    #[test]
    fn rewritten_parameters_parse() {
        for sql in [
            "SELECT * FROM t WHERE id = sqlc.arg(id) AND x IN (sqlc.slice(ids))",
            "UPDATE jobs SET s = %s WHERE id = %(job_id)s",
            "SELECT * FROM t WHERE id IN (:v*:ids)",
        ] {
            let file = super::super::parse_file(sql, Engine::Postgres);
            assert!(
                file.statements[0].parsed.is_ok(),
                "{sql}: {:?}",
                file.statements[0].parsed
            );
        }
    }
}
