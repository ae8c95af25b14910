//! Templated SQL: psql variables (`:name`, `:'name'`, `:"name"`) as graphile-worker writes
//! `create table :GRAPHILE_WORKER_SCHEMA.jobs`, and `${name}` / `{{name}}` markers, substituted
//! in the text handed to sqlparser from the config's `[variables]`.
//!
//! `:name` is also a query parameter (yesql, aiosql, HugSQL), and `${name}` / `{{name}}` are
//! parameters in some query builders, so a marker is a *template variable* when
//!
//! - it is declared in `[variables]`, or
//! - it is written `:'name'` (a quoted literal) or `:"name"` (a quoted identifier), which no
//!   parameter syntax uses, or
//! - it is immediately followed by `.` (a schema qualifier: `:schema.jobs`), or
//! - its statement is DDL (`CREATE`, `ALTER`, `DROP`, `GRANT`, ...), where parameters cannot
//!   appear;
//!
//! and a parameter otherwise. Oracle's trigger row references `:NEW.x` and `:OLD.x` are never
//! template variables unless declared. An undeclared variable never costs the statement: a schema
//! qualifier is dropped (the catalog compares tables by their last name part, so
//! `:schema.jobs` is `jobs`), and elsewhere the variable stands for a name or literal spelled
//! like itself (`:"schema"` reads as `"schema"`). River's `/* TEMPLATE: schema */` markers are
//! comments, which sqlparser skips, so they need nothing.
//!
//! Substitution keeps offsets: a replacement shorter than its marker is padded with spaces; a
//! longer declared value shifts the columns after it on its line in parse errors only.

use std::collections::BTreeMap;

use super::lexer::{Token, TokenKind};
use super::placeholders::{Edit, named_parameter};
use super::split::Chunk;
use crate::source::TextRange;

/// The config's `[variables]`: template variable name → value.
pub type Variables = BTreeMap<String, String>;

/// Statements whose first keyword makes them DDL, where a bare `:name` is a template variable.
const DDL_KEYWORDS: &[&str] = &[
    "CREATE", "ALTER", "DROP", "GRANT", "REVOKE", "COMMENT", "TRUNCATE",
];

/// How a marker was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    /// `:name`
    Bare,
    /// `:'name'`
    Literal,
    /// `:"name"`
    Identifier,
    /// `${name}` or `{{name}}`
    Braced,
}

struct Marker {
    name: String,
    style: Style,
    /// The tokens the marker spans, first and last.
    first: usize,
    last: usize,
}

/// The edits that substitute the chunk's template variables, and turn braced markers that are
/// parameters into `:name`. Tokens covered by `taken` (the parameter edits) are left alone.
pub fn template_edits(
    text: &str,
    chunk: &Chunk,
    keyword: &str,
    variables: &Variables,
    taken: &[Edit],
) -> Vec<Edit> {
    let tokens = &chunk.tokens;
    let is_ddl = DDL_KEYWORDS.contains(&keyword);
    let covered = |token: &Token| {
        taken
            .iter()
            .any(|edit| edit.range.start <= token.range.start && token.range.end <= edit.range.end)
    };
    let mut edits = Vec::new();
    let mut index = 0;
    while index < tokens.len() {
        let Some(marker) = marker_at(text, tokens, index).filter(|_| !covered(&tokens[index]))
        else {
            index += 1;
            continue;
        };
        index = marker.last + 1;
        let declared = lookup(variables, &marker.name);
        let row_reference = marker.style == Style::Bare
            && ["new", "old"]
                .iter()
                .any(|row| marker.name.eq_ignore_ascii_case(row));
        if row_reference && declared.is_none() {
            continue;
        }
        let range = TextRange::new(
            tokens[marker.first].range.start,
            tokens[marker.last].range.end,
        );
        let dot_follows = tokens.get(marker.last + 1).is_some_and(|next| {
            next.kind == TokenKind::Punct && next.text(text) == "." && next.range.start == range.end
        });
        let replacement = match (marker.style, declared) {
            (Style::Literal, value) => quote(value.unwrap_or(&marker.name), '\''),
            (Style::Identifier, value) => quote(value.unwrap_or(&marker.name), '"'),
            (_, Some(value)) => value.to_string(),
            (_, None) if dot_follows => {
                // Drop the qualifier and its dot: `:schema.jobs` reads as `jobs`.
                edits.push(Edit {
                    range: TextRange::new(range.start, range.end + 1),
                    replacement: String::new(),
                });
                continue;
            }
            (_, None) if is_ddl => marker.name.clone(),
            (Style::Braced, None) => named_parameter(&marker.name),
            (_, None) => continue,
        };
        edits.push(Edit { range, replacement });
    }
    edits
}

/// The marker that starts at `tokens[index]`, if one does.
fn marker_at(text: &str, tokens: &[Token], index: usize) -> Option<Marker> {
    let token = tokens.get(index)?;
    let punct = |at: usize, expected: &str| {
        tokens
            .get(at)
            .is_some_and(|t| t.kind == TokenKind::Punct && t.text(text) == expected)
    };
    let touching =
        |at: usize| at + 1 < tokens.len() && tokens[at].range.end == tokens[at + 1].range.start;
    let word = |at: usize| {
        tokens
            .get(at)
            .filter(|t| t.kind == TokenKind::Word)
            .map(|t| t.text(text).to_string())
    };
    if token.kind == TokenKind::Param
        && let Some(name) = token.text(text).strip_prefix(':')
    {
        return Some(Marker {
            name: name.to_string(),
            style: Style::Bare,
            first: index,
            last: index,
        });
    }
    if punct(index, ":") && touching(index) && !(index > 0 && punct(index - 1, ":")) {
        let next = tokens.get(index + 1)?;
        let inner = next.text(text);
        let style = match next.kind {
            TokenKind::String if !next.unterminated => Style::Literal,
            TokenKind::QuotedIdent if !next.unterminated && inner.starts_with('"') => {
                Style::Identifier
            }
            _ => return None,
        };
        let name = &inner[1..inner.len().saturating_sub(1).max(1)];
        if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
            return None;
        }
        return Some(Marker {
            name: name.to_string(),
            style,
            first: index,
            last: index + 1,
        });
    }
    // ${name}
    if punct(index, "$") && punct(index + 1, "{") && punct(index + 3, "}") && touching(index) {
        let name = word(index + 2)?;
        return Some(Marker {
            name,
            style: Style::Braced,
            first: index,
            last: index + 3,
        });
    }
    // {{name}} or {{ name }}
    if punct(index, "{")
        && punct(index + 1, "{")
        && touching(index)
        && punct(index + 3, "}")
        && punct(index + 4, "}")
        && touching(index + 3)
    {
        let name = word(index + 2)?;
        return Some(Marker {
            name,
            style: Style::Braced,
            first: index,
            last: index + 4,
        });
    }
    None
}

/// A declared value: by exact name, else ignoring ASCII case.
fn lookup<'a>(variables: &'a Variables, name: &str) -> Option<&'a str> {
    variables
        .get(name)
        .or_else(|| {
            variables
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value)| value)
        })
        .map(String::as_str)
}

/// `value` between `quote`s, with inner quotes doubled.
fn quote(value: &str, quote: char) -> String {
    let doubled = value.replace(quote, &format!("{quote}{quote}"));
    format!("{quote}{doubled}{quote}")
}

#[cfg(test)]
mod tests {
    use super::super::{parse_file_with, placeholders};
    use super::*;
    use crate::semantics::Engine;

    fn rewritten(sql: &str, variables: &[(&str, &str)]) -> String {
        let variables: Variables = variables
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let chunks =
            super::super::split::split(sql, super::super::flavor(Engine::Postgres), false).chunks;
        let chunk = &chunks[0];
        let keyword = chunk.tokens[0].text(sql).to_ascii_uppercase();
        let taken = placeholders::parameter_edits(sql, chunk, Engine::Postgres);
        let mut edits = template_edits(sql, chunk, &keyword, &variables, &taken);
        edits.extend(taken);
        let text = &sql[chunk.range.start..chunk.range.end];
        placeholders::apply(text, chunk.range.start, edits)
    }

    #[test]
    fn undeclared_schema_qualifiers_are_dropped() {
        assert_eq!(
            rewritten("create table :GRAPHILE_WORKER_SCHEMA.jobs (id int)", &[]),
            "create table                         jobs (id int)"
        );
        assert_eq!(
            rewritten("SELECT * FROM ${schema}.jobs WHERE id = ${id}", &[]),
            "SELECT * FROM           jobs WHERE id = :id  "
        );
        assert_eq!(
            rewritten("SELECT * FROM {{ schema }}.jobs", &[]),
            "SELECT * FROM              jobs"
        );
    }

    #[test]
    fn declared_variables_are_substituted_everywhere() {
        assert_eq!(
            rewritten("create table :S.jobs (id int)", &[("S", "graphile_worker")]),
            "create table graphile_worker.jobs (id int)"
        );
        assert_eq!(
            rewritten(
                "SELECT * FROM jobs WHERE q = :queue",
                &[("queue", "'default'")]
            ),
            "SELECT * FROM jobs WHERE q = 'default'"
        );
    }

    #[test]
    fn quoted_psql_variables_are_literals_and_identifiers() {
        assert_eq!(
            rewritten("comment on schema :\"s\" is :'note'", &[("note", "it's")]),
            "comment on schema \"s\"  is 'it''s'"
        );
    }

    #[test]
    fn bare_names_in_queries_stay_parameters() {
        let sql = "SELECT * FROM jobs WHERE id = :id AND x = a::int";
        assert_eq!(rewritten(sql, &[]), sql);
        assert_eq!(
            rewritten("grant usage on schema :S to :ROLE", &[]),
            "grant usage on schema S  to ROLE "
        );
    }

    #[test]
    fn oracle_trigger_rows_are_not_template_variables() {
        let sql = "CREATE TRIGGER t BEFORE UPDATE ON a FOR EACH ROW BEGIN :NEW.x := :old.x";
        assert_eq!(rewritten(sql, &[]), sql);
    }

    #[test]
    fn templated_statements_parse() {
        for sql in [
            "create table :GRAPHILE_WORKER_SCHEMA.jobs (id int primary key)",
            "create table /* TEMPLATE: schema */river_job (id bigint primary key)",
            "select * from ${schema}.jobs where id = ${id}",
            "create index on :\"schema\".jobs (id)",
        ] {
            let file = parse_file_with(sql, Engine::Postgres, &Variables::new());
            assert!(
                file.statements[0].parsed.is_ok(),
                "{sql}: {:?}",
                file.statements[0].parsed
            );
        }
    }
}
