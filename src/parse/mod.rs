//! Splitting and parsing: a file becomes statements, each with its file-absolute range, the
//! directives above it, lock clauses recognised from tokens, and sqlparser's AST or an error.
//!
//! Architecture Invariant: parsing never fails. It returns statements and errors; an
//! unparseable statement keeps its range and tokens so later stages can still use them.
//! This module does not decide what a statement means.

pub mod directives;
pub mod lexer;
pub mod placeholders;
pub mod plpgsql;
pub mod routine;
pub mod split;
pub mod templates;

use sqlparser::ast::Statement;
use sqlparser::dialect::{
    Dialect, MsSqlDialect, MySqlDialect, OracleDialect, PostgreSqlDialect, SQLiteDialect,
};
use sqlparser::parser::Parser;

use crate::semantics::Engine;
use crate::source::TextRange;
use directives::{Directive, Located};
use lexer::{Flavor, Token, TokenKind};

/// A row lock taken by a read, recognised from tokens (sqlparser lacks several of these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LockStrength {
    KeyShare,
    Share,
    NoKeyUpdate,
    Update,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LockClause {
    pub strength: LockStrength,
    pub skip_locked: bool,
    pub nowait: bool,
    /// T-SQL `HOLDLOCK` / `SERIALIZABLE` hints: key-range locks that also stop phantoms.
    pub key_range: bool,
}

/// The row locks a statement's reads take, recognised from its tokens.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatementLocks {
    /// The lock clause of the statement's own query (outside any parentheses).
    pub top: Option<LockClause>,
    /// A lock clause inside parentheses: a subquery's or a CTE's, e.g. the
    /// `(SELECT id ... FOR UPDATE SKIP LOCKED)` of a queue claim.
    pub nested: Option<LockClause>,
    /// `FOR UPDATE OF a, b`: the tables or aliases whose rows are locked (for Oracle, the
    /// qualifiers or names of columns); empty when every table of the query is locked.
    pub of: Vec<String>,
    /// T-SQL `NOLOCK` / `READUNCOMMITTED` table hints: the statement's reads see uncommitted
    /// rows whatever the transaction's level (approximated for every table of the statement).
    pub uncommitted: bool,
    /// Where the query each nested clause is written in starts: the first token after the
    /// parenthesis that encloses the clause, as `(line, column)` from the statement's start
    /// (1-based, as sqlparser counts), so that the clause can be given to that query alone.
    pub nested_starts: Vec<(u64, u64)>,
}

#[derive(Debug, Clone)]
pub struct RawStatement {
    pub range: TextRange,
    pub tokens: Vec<Token>,
    pub directives: Vec<Located<Directive>>,
    pub locks: StatementLocks,
    /// The statement's first keyword, uppercased (`SELECT`, `BEGIN`, ...).
    pub keyword: String,
    /// On TiDB, the mode word of `BEGIN PESSIMISTIC` or `BEGIN OPTIMISTIC` (also written `BEGIN
    /// /*T! PESSIMISTIC */`), in lower case; see [`begin_mode`].
    pub begin_mode: Option<String>,
    pub parsed: Result<Vec<Statement>, ParseError>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub message: String,
    /// Where the error is, file-absolute.
    pub offset: usize,
}

#[derive(Debug, Default)]
pub struct ParsedFile {
    pub statements: Vec<RawStatement>,
    /// `-- isolint: ignore-file` and other directives anywhere in the file.
    pub file_directives: Vec<Located<Directive>>,
    pub down_section: Option<usize>,
    /// The file's text with quoted names folded (`fold_quoted_names`), when that changed it:
    /// what name-reading code must look at instead of the original.
    pub folded: Option<String>,
}

/// Longer statements are not parsed: a chain of tens of thousands of operators makes an AST so
/// deep that walking or dropping it would exhaust the stack.
pub const MAX_STATEMENT_TOKENS: usize = 20_000;

pub fn flavor(engine: Engine) -> Flavor {
    Flavor {
        dollar_quotes: engine.is_postgres_family(),
        mysql: engine.is_mysql_family(),
        brackets: matches!(engine, Engine::Sqlserver | Engine::Sqlite),
        nested_comments: engine.is_postgres_family(),
        slash_lines: engine == Engine::Oracle,
    }
}

fn dialect(engine: Engine) -> Box<dyn Dialect> {
    match engine {
        Engine::Postgres | Engine::Cockroachdb | Engine::Yugabytedb | Engine::Spanner => {
            Box::new(PostgreSqlDialect {})
        }
        Engine::Mysql | Engine::Mariadb | Engine::Tidb => Box::new(MySqlDialect {}),
        Engine::Sqlserver => Box::new(MsSqlDialect {}),
        Engine::Oracle => Box::new(OracleDialect {}),
        Engine::Sqlite => Box::new(SQLiteDialect {}),
    }
}

/// Quoted names, folded the way the engine compares them, so that the PostgreSQL rule of
/// `normalize_name` (quoted names keep their case) matches them right: Oracle folds unquoted
/// names to upper case, so `"COUPONS"` is `coupons`; MySQL, MariaDB, SQL Server and SQLite
/// compare names without case. Only ASCII letters change, so every offset stays valid.
/// `None` when nothing changes (PostgreSQL, CockroachDB).
pub fn fold_quoted_names(text: &str, engine: Engine, split: &split::Split) -> Option<String> {
    if engine.is_postgres_family() {
        return None;
    }
    let mut bytes = text.as_bytes().to_vec();
    let mut changed = false;
    for token in split.chunks.iter().flat_map(|chunk| &chunk.tokens) {
        if token.kind != TokenKind::QuotedIdent {
            continue;
        }
        let name = &mut bytes[token.range.start..token.range.end];
        if engine == Engine::Oracle && name.iter().any(u8::is_ascii_lowercase) {
            continue;
        }
        changed |= name.iter().any(u8::is_ascii_uppercase);
        name.make_ascii_lowercase();
    }
    changed.then(|| String::from_utf8(bytes).unwrap_or_else(|_| text.to_string()))
}

pub fn parse_file(text: &str, engine: Engine) -> ParsedFile {
    parse_file_with(text, engine, &templates::Variables::new())
}

/// `parse_file`, with the config's `[variables]` for templated SQL (`templates`).
pub fn parse_file_with(text: &str, engine: Engine, variables: &templates::Variables) -> ParsedFile {
    let split = split::split(text, flavor(engine), engine == Engine::Sqlserver);
    let folded = fold_quoted_names(text, engine, &split);
    let text = folded.as_deref().unwrap_or(text);
    let dialect = dialect(engine);
    let file_directives = split
        .comments
        .iter()
        .filter_map(|range| {
            directives::parse_comment(&text[range.start..range.end]).map(|value| Located {
                value,
                range: *range,
            })
        })
        .collect();
    let comments = split.comments.clone();
    let mut statements: Vec<RawStatement> = split
        .chunks
        .into_iter()
        .flat_map(|chunk| {
            let statement = parse_chunk(text, chunk.clone(), &*dialect, engine, variables);
            if engine == Engine::Sqlserver
                && statement.parsed.is_err()
                && !split::is_tsql_routine(text, &statement.tokens)
                && let Some(pieces) = split::split_tsql_lines(text, &chunk, &comments)
            {
                return pieces
                    .into_iter()
                    .map(|piece| parse_chunk(text, piece, &*dialect, engine, variables))
                    .collect();
            }
            vec![statement]
        })
        .collect();
    directives::carry_headers(text, &mut statements);
    ParsedFile {
        statements,
        file_directives,
        down_section: split.down_section,
        folded,
    }
}

fn parse_chunk(
    text: &str,
    chunk: split::Chunk,
    dialect: &dyn Dialect,
    engine: Engine,
    variables: &templates::Variables,
) -> RawStatement {
    parse_chunk_edited(text, chunk, dialect, engine, variables, None)
}

/// Parses one statement of a routine body (see [`plpgsql`]): its `INTO` targets blanked and
/// its prefix (`SELECT ` for `PERFORM` and expressions) put in front.
pub fn parse_body_statement(
    text: &str,
    statement: &plpgsql::BodyStatement,
    engine: Engine,
    variables: &templates::Variables,
) -> RawStatement {
    let range = statement.range;
    let tokens = lexer::tokenize_range(text, range, flavor(engine));
    let chunk = split::Chunk {
        range,
        unterminated: tokens.iter().any(|token| token.unterminated),
        tokens,
        leading_comments: Vec::new(),
    };
    let dialect = dialect(engine);
    parse_chunk_edited(text, chunk, &*dialect, engine, variables, Some(statement))
}

fn parse_chunk_edited(
    text: &str,
    chunk: split::Chunk,
    dialect: &dyn Dialect,
    engine: Engine,
    variables: &templates::Variables,
    body: Option<&plpgsql::BodyStatement>,
) -> RawStatement {
    let (blanks, prefix, suffix) = match body {
        Some(body) => (body.blanks.as_slice(), body.prefix, body.suffix),
        None => (&[][..], "", ""),
    };
    let directives = chunk
        .leading_comments
        .iter()
        .filter_map(|range| {
            directives::parse_comment(&text[range.start..range.end]).map(|value| Located {
                value,
                range: *range,
            })
        })
        .collect();
    let keyword = chunk
        .tokens
        .iter()
        .find(|token| token.kind == TokenKind::Word)
        .map(|token| token.text(text).to_ascii_uppercase())
        .unwrap_or_default();
    let mut sql = text[chunk.range.start..chunk.range.end].to_string();
    for blank in blanks {
        let (from, to) = (
            blank.start - chunk.range.start,
            blank.end - chunk.range.start,
        );
        if let Some(part) = sql.get(from..to) {
            let spaces = " ".repeat(part.len());
            sql.replace_range(from..to, &spaces);
        }
    }
    let locks = take_lock_clauses(text, &chunk, &mut sql, !prefix.is_empty());
    let begin = begin_mode(text, &chunk.tokens);
    if engine == Engine::Tidb
        && let Some((_, Some(word))) = &begin
    {
        // sqlparser has no such form: it parses the BEGIN alone.
        let (from, to) = (word.start - chunk.range.start, word.end - chunk.range.start);
        sql.replace_range(from..to, &" ".repeat(to - from));
    }
    let mut edits = placeholders::parameter_edits(text, &chunk, engine);
    edits.extend(templates::template_edits(
        text, &chunk, &keyword, variables, &edits,
    ));
    if engine.is_postgres_family() {
        edits.extend(anonymous_placeholders(text, &chunk));
    }
    sql = placeholders::apply(&sql, chunk.range.start, edits);
    if engine == Engine::Sqlserver {
        sql = tsql_condition_as_query(&keyword, sql);
    }
    let parsed = if chunk.tokens.len() > MAX_STATEMENT_TOKENS {
        Err(ParseError {
            message: format!(
                "statement has {} tokens; isolint analyses statements of up to \
                 {MAX_STATEMENT_TOKENS}; split it, or exclude the file in isolint.toml",
                chunk.tokens.len()
            ),
            offset: chunk.range.start,
        })
    } else if chunk.unterminated {
        Err(ParseError {
            message: "unterminated string, quoted name or comment: it runs to the end of the \
                      file; close it"
                .to_string(),
            offset: chunk
                .tokens
                .iter()
                .find(|token| token.unterminated)
                .map_or(chunk.range.start, |token| token.range.start),
        })
    } else if prefix.is_empty() && suffix.is_empty() {
        parse_sql(dialect, &sql, chunk.range.start, text)
    } else {
        parse_sql(
            dialect,
            &format!("{prefix}{sql}{suffix}"),
            chunk.range.start,
            text,
        )
        .map_err(|mut error| {
            error.offset = error
                .offset
                .saturating_sub(prefix.len())
                .max(chunk.range.start);
            error
        })
    };
    let (begin_mode, parsed) = match begin {
        Some((mode, _)) if engine == Engine::Tidb => (Some(mode), parsed),
        Some((mode, _)) => (
            None,
            parsed.map_err(|error| ParseError {
                message: format!(
                    "`BEGIN {}` is TiDB's syntax, which this engine rejects (isolint reads it \
                     with --engine tidb): {}",
                    mode.to_ascii_uppercase(),
                    error.message
                ),
                ..error
            }),
        ),
        None => (None, parsed),
    };
    RawStatement {
        range: chunk.range,
        tokens: chunk.tokens,
        directives,
        locks,
        keyword,
        begin_mode,
        parsed,
    }
}

/// TiDB's `BEGIN PESSIMISTIC` and `BEGIN OPTIMISTIC`, which choose one transaction's mode, as
/// the whole statement: the mode word in lower case, with its range when it is a word of the
/// statement (for blanking) and none when it is written in an executable comment that only
/// TiDB runs (`BEGIN /*T! PESSIMISTIC */`, or MySQL's versioned `/*!90000 PESSIMISTIC */`).
/// `START TRANSACTION` has no such form.
/// <https://docs.pingcap.com/tidb/stable/sql-statement-begin>
fn begin_mode(text: &str, tokens: &[Token]) -> Option<(String, Option<TextRange>)> {
    let mode = |word: &str| {
        let word = word.to_ascii_lowercase();
        matches!(word.as_str(), "pessimistic" | "optimistic").then_some(word)
    };
    let words: Vec<&Token> = tokens
        .iter()
        .filter(|token| token.kind != TokenKind::Semicolon)
        .collect();
    match words.as_slice() {
        [begin, word] if begin.is_word(text, "begin") && word.kind == TokenKind::Word => {
            Some((mode(word.text(text))?, Some(word.range)))
        }
        [begin] if begin.is_word(text, "begin") => {
            // The splitter keeps comments out of statements: the comment is the text right
            // after the BEGIN.
            let rest = text.get(begin.range.end..)?.trim_start();
            let body = &rest[..rest.find("*/")?];
            let body = match body.strip_prefix("/*T!") {
                Some(body) => body,
                None => body
                    .strip_prefix("/*!")?
                    .trim_start_matches(|c: char| c.is_ascii_digit()),
            };
            Some((mode(body.trim())?, None))
        }
        _ => None,
    }
}

fn parse_sql(
    dialect: &dyn Dialect,
    sql: &str,
    start: usize,
    text: &str,
) -> Result<Vec<Statement>, ParseError> {
    // sqlparser recurses per nesting level; its own limit turns deep nesting into an error.
    Parser::new(dialect)
        .with_recursion_limit(200)
        .try_with_sql(sql)
        .and_then(|mut parser| parser.parse_statements())
        .map_err(|error| {
            let message = error.to_string();
            let offset = error_offset(&message, &text[start..]).map_or(start, |at| start + at);
            let message = message
                .trim_start_matches("sql parser error: ")
                .split(" at Line: ")
                .next()
                .unwrap_or_default()
                .to_string();
            ParseError { message, offset }
        })
}

/// sqlparser reports `at Line: L, Column: C` relative to the statement.
fn error_offset(message: &str, statement: &str) -> Option<usize> {
    let (_, position) = message.rsplit_once("at Line: ")?;
    let (line, column) = position.split_once(", Column: ")?;
    let line: usize = line.trim().parse().ok()?;
    let column: usize = column
        .trim()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .ok()?;
    offset_at(statement, line, column)
}

/// The byte offset of a 1-based line and column (in characters), as sqlparser counts them.
pub fn offset_at(statement: &str, line: usize, column: usize) -> Option<usize> {
    let line_start = if line <= 1 {
        0
    } else {
        statement
            .match_indices('\n')
            .nth(line - 2)
            .map(|(index, _)| index + 1)?
    };
    let column_offset = statement[line_start..]
        .char_indices()
        .nth(column.saturating_sub(1))
        .map_or(0, |(index, _)| index);
    Some(line_start + column_offset)
}

/// Finds `FOR UPDATE | NO KEY UPDATE | SHARE | KEY SHARE [OF ...] [NOWAIT | SKIP LOCKED]` and
/// `LOCK IN SHARE MODE`, records the strongest, and blanks them out of `sql` with spaces so the
/// statement parses and every offset stays where it was. T-SQL table hints stay in place
/// (sqlparser reads them) but are recorded here too.
fn take_lock_clauses(
    text: &str,
    chunk: &split::Chunk,
    sql: &mut String,
    query: bool,
) -> StatementLocks {
    let tokens = &chunk.tokens;
    let is = |index: usize, word: &str| tokens.get(index).is_some_and(|t| t.is_word(text, word));
    let Some(first_word) = tokens.iter().find(|t| t.kind == TokenKind::Word) else {
        return StatementLocks::default();
    };
    if !query
        && !["select", "with", "update", "delete", "insert", "merge"]
            .iter()
            .any(|word| first_word.is_word(text, word))
    {
        return StatementLocks::default();
    }
    let mut locks = StatementLocks::default();
    let mut depth = 0usize;
    // The indices of the tokens after the open parentheses around the current token.
    let mut opened: Vec<usize> = Vec::new();
    let mut blank: Vec<TextRange> = Vec::new();
    let mut index = 0;
    while index < tokens.len() {
        let start = index;
        let strength = if is(index, "for") && is(index + 1, "update") {
            index += 2;
            Some(LockStrength::Update)
        } else if is(index, "for")
            && is(index + 1, "no")
            && is(index + 2, "key")
            && is(index + 3, "update")
        {
            index += 4;
            Some(LockStrength::NoKeyUpdate)
        } else if is(index, "for") && is(index + 1, "share") {
            index += 2;
            Some(LockStrength::Share)
        } else if is(index, "for") && is(index + 1, "key") && is(index + 2, "share") {
            index += 3;
            Some(LockStrength::KeyShare)
        } else if is(index, "lock")
            && is(index + 1, "in")
            && is(index + 2, "share")
            && is(index + 3, "mode")
        {
            index += 4;
            Some(LockStrength::Share)
        } else {
            None
        };
        let Some(strength) = strength else {
            let word = &tokens[index];
            if word.kind == TokenKind::Punct {
                match word.text(text) {
                    "(" => {
                        depth += 1;
                        opened.push(index + 1);
                    }
                    ")" => {
                        depth = depth.saturating_sub(1);
                        opened.pop();
                    }
                    _ => {}
                }
            }
            if word.kind == TokenKind::Word {
                let hint = word.text(text).to_ascii_uppercase();
                if matches!(hint.as_str(), "NOLOCK" | "READUNCOMMITTED") && depth > 0 {
                    locks.uncommitted = true;
                }
                let (hint_strength, key_range) = match hint.as_str() {
                    "UPDLOCK" | "XLOCK" => (Some(LockStrength::Update), false),
                    "HOLDLOCK" | "SERIALIZABLE" => (Some(LockStrength::Share), true),
                    _ => (None, false),
                };
                if let Some(hint_strength) = hint_strength {
                    let clause = locks.top.get_or_insert(LockClause {
                        strength: hint_strength,
                        skip_locked: false,
                        nowait: false,
                        key_range,
                    });
                    clause.strength = clause.strength.max(hint_strength);
                    clause.key_range |= key_range;
                }
            }
            index += 1;
            continue;
        };
        let mut clause = LockClause {
            strength,
            skip_locked: false,
            nowait: false,
            key_range: false,
        };
        if is(index, "of") {
            index += 1;
            // Each item is `name` or `qualifier.column`; the first part names the table.
            let mut item_start = true;
            while index < tokens.len() {
                let token = tokens[index];
                let is_name = matches!(token.kind, TokenKind::Word | TokenKind::QuotedIdent)
                    && !["nowait", "skip", "for"]
                        .iter()
                        .any(|w| token.is_word(text, w));
                let separator = (token.kind == TokenKind::Punct)
                    .then(|| token.text(text))
                    .filter(|punct| matches!(*punct, "," | "."));
                if is_name {
                    if item_start
                        && depth == 0
                        && let Some(name) = token.ident(text)
                    {
                        locks.of.push(name);
                    }
                    item_start = false;
                } else if let Some(separator) = separator {
                    item_start = separator == ",";
                } else {
                    break;
                }
                index += 1;
            }
        }
        if is(index, "nowait") {
            clause.nowait = true;
            index += 1;
        } else if is(index, "skip") && is(index + 1, "locked") {
            clause.skip_locked = true;
            index += 2;
        }
        blank.push(TextRange::new(
            tokens[start].range.start,
            tokens[index - 1].range.end,
        ));
        let slot = if depth == 0 {
            &mut locks.top
        } else {
            let first = opened
                .last()
                .and_then(|&at| tokens[at..].iter().find(|t| t.kind != TokenKind::Comment));
            if let Some(first) = first {
                locks.nested_starts.push(line_and_column(
                    text,
                    chunk.range.start,
                    first.range.start,
                ));
            }
            &mut locks.nested
        };
        *slot = Some(match *slot {
            Some(previous) => LockClause {
                strength: previous.strength.max(clause.strength),
                skip_locked: previous.skip_locked || clause.skip_locked,
                nowait: previous.nowait || clause.nowait,
                key_range: previous.key_range || clause.key_range,
            },
            None => clause,
        });
    }
    for range in blank {
        let (from, to) = (
            range.start - chunk.range.start,
            range.end - chunk.range.start,
        );
        sql.replace_range(from..to, &" ".repeat(to - from));
    }
    locks
}

/// `(line, column)` of byte `at` of `text`, counted from byte `start` as sqlparser counts
/// them: both from 1, columns in characters.
fn line_and_column(text: &str, start: usize, at: usize) -> (u64, u64) {
    let before = text.get(start..at).unwrap_or_default();
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .unwrap_or_default()
        .chars()
        .count()
        + 1;
    (line as u64, column as u64)
}

/// T-SQL `IF <condition>` and `WHILE <condition>` (cut from the statement they guard) read
/// data, as in `IF NOT EXISTS (SELECT ...) INSERT ...`: they are parsed as
/// `SELECT CASE WHEN <condition> THEN 1 END` so their subqueries count as reads. Parse errors
/// in them point a few columns off.
fn tsql_condition_as_query(keyword: &str, sql: String) -> String {
    if keyword != "IF" && keyword != "WHILE" {
        return sql;
    }
    let condition = sql[keyword.len()..].trim();
    let condition = condition
        .strip_suffix("BEGIN")
        .or_else(|| condition.strip_suffix("begin"))
        .unwrap_or(condition);
    format!("SELECT CASE WHEN {condition} THEN 1 END")
}

/// PostgreSQL's dialect reads `?` as an operator; drivers that use `?` placeholders are common.
/// Each `?` becomes `$0`, which no PostgreSQL statement can contain, so extraction knows it
/// was anonymous. Columns after the first `?` on a line shift by one in parse errors.
fn anonymous_placeholders(text: &str, chunk: &split::Chunk) -> Vec<placeholders::Edit> {
    chunk
        .tokens
        .iter()
        .filter(|token| token.kind == TokenKind::Param && token.text(text) == "?")
        .map(|token| placeholders::Edit {
            range: token.range,
            replacement: "$0".to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(sql: &str, engine: Engine) -> RawStatement {
        parse_file(sql, engine).statements.remove(0)
    }

    #[test]
    fn tidb_begin_modes_are_read_and_blanked() {
        for (sql, mode) in [
            ("BEGIN PESSIMISTIC;", "pessimistic"),
            ("begin Optimistic", "optimistic"),
            ("BEGIN /*T! PESSIMISTIC */;", "pessimistic"),
            ("BEGIN /*!90000 OPTIMISTIC */;", "optimistic"),
        ] {
            let statement = one(sql, Engine::Tidb);
            assert_eq!(statement.begin_mode.as_deref(), Some(mode), "{sql}");
            assert!(statement.parsed.is_ok(), "{sql}: {:?}", statement.parsed);
        }
        for sql in [
            "BEGIN;",
            "BEGIN /* PESSIMISTIC */;",
            "BEGIN PESSIMISTIC WORK;",
            "START TRANSACTION PESSIMISTIC;",
            "SELECT pessimistic FROM t;",
        ] {
            assert_eq!(one(sql, Engine::Tidb).begin_mode, None, "{sql}");
        }
        // Other engines reject the form, and the error says whose syntax it is.
        let mysql = one("BEGIN PESSIMISTIC;", Engine::Mysql);
        assert_eq!(mysql.begin_mode, None);
        let error = mysql.parsed.expect_err("MySQL has no BEGIN PESSIMISTIC");
        assert!(
            error
                .message
                .starts_with("`BEGIN PESSIMISTIC` is TiDB's syntax"),
            "{}",
            error.message
        );
        assert_eq!(
            one("BEGIN /*T! OPTIMISTIC */;", Engine::Mysql).begin_mode,
            None
        );
    }

    #[test]
    fn lock_clauses_sqlparser_lacks_are_recognised_and_blanked() {
        for (sql, strength) in [
            (
                "SELECT * FROM t WHERE id = $1 FOR NO KEY UPDATE",
                LockStrength::NoKeyUpdate,
            ),
            (
                "SELECT * FROM t WHERE id = $1 FOR KEY SHARE",
                LockStrength::KeyShare,
            ),
            (
                "SELECT * FROM t, u WHERE t.id = $1 FOR UPDATE OF t, u SKIP LOCKED",
                LockStrength::Update,
            ),
        ] {
            let statement = one(sql, Engine::Postgres);
            assert_eq!(
                statement.locks.top.map(|lock| lock.strength),
                Some(strength),
                "{sql}"
            );
            assert!(statement.parsed.is_ok(), "{sql}: {:?}", statement.parsed);
        }
        let statement = one(
            "SELECT a FROM t WHERE id = ? LOCK IN SHARE MODE",
            Engine::Mysql,
        );
        assert_eq!(
            statement.locks.top.map(|lock| lock.strength),
            Some(LockStrength::Share)
        );
        assert!(statement.parsed.is_ok());
    }

    #[test]
    fn quoted_names_fold_as_each_engine_compares_them() {
        let text = r#"SELECT "COUPONS"."Code" FROM "SHOP"."COUPONS" WHERE "x" = 'ABC'"#;
        let folded = |engine| {
            let split = split::split(text, flavor(engine), false);
            fold_quoted_names(text, engine, &split)
        };
        assert_eq!(folded(Engine::Postgres), None);
        assert_eq!(
            folded(Engine::Oracle).as_deref(),
            Some(r#"SELECT "coupons"."Code" FROM "shop"."coupons" WHERE "x" = 'ABC'"#)
        );
        assert_eq!(
            folded(Engine::Mysql).as_deref(),
            Some(r#"SELECT "coupons"."code" FROM "shop"."coupons" WHERE "x" = 'ABC'"#)
        );
    }

    #[test]
    fn tsql_hints_are_locks() {
        let statement = one(
            "SELECT balance FROM accounts WITH (UPDLOCK, HOLDLOCK) WHERE id = @id",
            Engine::Sqlserver,
        );
        let lock = statement.locks.top.unwrap();
        assert_eq!(lock.strength, LockStrength::Update);
        assert!(lock.key_range);
    }

    #[test]
    fn tsql_if_conditions_are_reads() {
        let statement = one(
            "IF NOT EXISTS (SELECT 1 FROM t WHERE id = @id) BEGIN",
            Engine::Sqlserver,
        );
        assert!(statement.parsed.is_ok(), "{:?}", statement.parsed);
    }

    #[test]
    fn question_mark_placeholders_parse_in_postgres() {
        let statement = one("SELECT a FROM t WHERE id = ? AND b = ?", Engine::Postgres);
        assert!(statement.parsed.is_ok(), "{:?}", statement.parsed);
    }

    #[test]
    fn parse_errors_point_into_the_file() {
        let text = "SELECT 1;\nSELECT FROM WHERE garbage ((;";
        let file = parse_file(text, Engine::Postgres);
        let error = file.statements[1].parsed.as_ref().unwrap_err();
        assert!(error.offset >= 10, "{error:?}");
        assert!(!error.message.is_empty());
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let text = format!("SELECT {}1{}", "(".repeat(10_000), ")".repeat(10_000));
        let file = parse_file(&text, Engine::Postgres);
        assert!(file.statements[0].parsed.is_err());
    }
}
