//! The project's migrations as `confirm` sends them: every schema file verbatim, in the order
//! the check applied them, each sent whole over the simple query protocol (one implicit
//! transaction) into a throwaway database, so that functions, `DO` blocks, `ALTER TYPE ... ADD
//! VALUE`, expression indexes and everything else the check does not model are built as
//! PostgreSQL builds them.
//!
//! What psql would do before the server sees the text is done here: `\set` variables and the
//! config's `[variables]` are substituted (`:name`, `:'name'`, `:"name"`, and `:name.` schema
//! qualifiers inside function bodies, as migration runners that template SQL do), `\quit`
//! ends the file, an extension script's `\echo` guard line is removed as `CREATE EXTENSION`
//! removes it, and other meta-commands are left out and listed. Statements that would change
//! the server as a whole (roles, databases, tablespaces, `ALTER SYSTEM`, subscriptions, also
//! inside `DO` blocks) are left out and listed, so that nothing outside the throwaway database
//! changes. Every replacement keeps the file's lines, so the server's error positions give
//! the file's line numbers.
//!
//! When a file fails as a whole, its statements are sent one by one (each on its own, without
//! the file's transaction control) and each failure is reported with the server's message:
//! what can be built is built, and what cannot is said.
//!
//! On MySQL, whose DDL is not transactional and whose clients end a routine's body at a
//! `DELIMITER` of their own, every statement is sent on its own, as the mysql client sends it;
//! statements that would reach outside the database (`USE`, `CREATE DATABASE` or `SCHEMA`,
//! users, `GRANT`, `SET GLOBAL`, files on the server) are left out and listed.

use std::collections::BTreeSet;

use super::database::{Connection, Flavor, ServerError, query, quote_ident};
use crate::CheckResult;
use crate::parse::lexer::{Token, TokenKind, tokenize};
use crate::parse::split::split;
use crate::parse::templates::Variables;
use crate::semantics::Engine;
use crate::source::{LineIndex, Role, TextRange};

/// One migration file as it is sent.
#[derive(Debug, Clone)]
pub struct Script {
    pub path: String,
    /// The file's text with psql's work done: the same lines as the file.
    pub sql: String,
    /// Each statement's range in `sql`, and whether it is transaction control (`BEGIN`,
    /// `COMMIT`, `SAVEPOINT`, ...), which is left out when the file is sent as a whole (so that
    /// a failure leaves nothing of the file behind) and when it is sent statement by statement.
    statements: Vec<(TextRange, bool)>,
    lines: LineIndex,
}

impl Script {
    fn line(&self, offset: usize) -> usize {
        self.lines.line_col(&self.sql, offset).0
    }

    /// The file as one string, transaction control blanked.
    fn whole(&self) -> String {
        let mut whole = self.sql.clone();
        for (range, _) in self.statements.iter().filter(|(_, control)| *control) {
            if let Some(text) = self.sql.get(range.start..range.end) {
                whole.replace_range(range.start..range.end, &blank(text));
            }
        }
        whole
    }
}

/// Something in a migration file that was not sent, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftOut {
    pub path: String,
    pub line: usize,
    pub text: String,
    pub why: String,
}

impl std::fmt::Display for LeftOut {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "{}:{}: `{}` ({})",
            self.path, self.line, self.text, self.why
        )
    }
}

/// A statement the server rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub path: String,
    pub line: usize,
    /// The server's message, with its SQLSTATE.
    pub message: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}:{}: {}", self.path, self.line, self.message)
    }
}

/// Every schema file, ready to send.
#[derive(Debug, Clone, Default)]
pub struct Migrations {
    pub scripts: Vec<Script>,
    pub left_out: Vec<LeftOut>,
    /// Schemas that template variables qualify names with (`:SCHEMA.jobs`): the project's
    /// migration runner provides them, so they are created before the first file.
    pub schemas: BTreeSet<String>,
    /// What was assumed, in words (a variable with no value).
    pub notes: BTreeSet<String>,
    /// The server family the files are written for.
    pub flavor: Option<Flavor>,
}

impl Migrations {
    /// The schema files of `result`, in the order the check applied them.
    pub fn new(result: &CheckResult, variables: &Variables) -> Migrations {
        let mut migrations = Migrations::for_engine(result.engine);
        for file in result.files.iter().filter(|file| file.role == Role::Schema) {
            let script = migrations.prepare(&file.display_path(), &file.text, variables);
            migrations.scripts.push(script);
        }
        migrations
    }

    /// No files yet, for a project written for `engine`.
    pub fn for_engine(engine: Engine) -> Migrations {
        Migrations {
            flavor: Flavor::of(engine),
            ..Migrations::default()
        }
    }

    /// One file: its down section cut, psql's work done, server-wide statements blanked.
    pub fn prepare(&mut self, path: &str, text: &str, variables: &Variables) -> Script {
        let mysql = self.flavor == Some(Flavor::Mysql);
        let flavor = crate::parse::flavor(if mysql {
            Engine::Mysql
        } else {
            Engine::Postgres
        });
        let up = match split(text, flavor, false).down_section {
            Some(down) => text.get(..down).unwrap_or(text),
            None => text,
        };
        let lines = LineIndex::new(up);
        let mut sql = if mysql {
            up.to_string()
        } else {
            let mut psql = Psql {
                text: up,
                path,
                lines: &lines,
                variables: variables.clone(),
                edits: Vec::new(),
                migrations: self,
            };
            psql.run()
        };
        let sent_lines = LineIndex::new(&sql);
        let mut statements = Vec::new();
        for chunk in split(&sql, flavor, false).chunks {
            let words: Vec<String> = chunk
                .tokens
                .iter()
                .filter(|token| token.kind == TokenKind::Word)
                .take(4)
                .map(|token| token.text(&sql).to_ascii_lowercase())
                .collect();
            let words: Vec<&str> = words.iter().map(String::as_str).collect();
            let why = if mysql {
                mysql_server_wide(&words)
            } else {
                server_wide(&words, &chunk.tokens, &sql)
            };
            if let Some(why) = why {
                let statement = sql.get(chunk.range.start..chunk.range.end).unwrap_or("");
                self.left_out.push(LeftOut {
                    path: path.to_string(),
                    line: sent_lines.line_col(&sql, chunk.range.start).0,
                    text: shorten(statement),
                    why: why.to_string(),
                });
                let blanked = blank(statement);
                sql.replace_range(chunk.range.start..chunk.range.end, &blanked);
                continue;
            }
            statements.push((chunk.range, is_transaction_control(&words)));
        }
        let lines = LineIndex::new(&sql);
        Script {
            path: path.to_string(),
            sql,
            statements,
            lines,
        }
    }
}

/// Runs the migrations on `client`'s database; the statements the server rejected.
pub fn apply(client: &mut Connection, migrations: &Migrations) -> Vec<Failure> {
    if client.flavor() == Flavor::Mysql {
        // DDL commits as it goes: each statement on its own, the file's own transaction
        // control included.
        let mut failures = Vec::new();
        for script in &migrations.scripts {
            for (range, _) in &script.statements {
                let Some(sql) = script.sql.get(range.start..range.end) else {
                    continue;
                };
                if let Err(error) = query(client, sql) {
                    failures.push(Failure {
                        path: script.path.clone(),
                        line: script.line(range.start),
                        message: error.message,
                    });
                }
            }
        }
        return failures;
    }
    let mut failures = Vec::new();
    for schema in &migrations.schemas {
        if let Err(error) = query(
            client,
            &format!("CREATE SCHEMA IF NOT EXISTS {}", quote_ident(schema)),
        ) {
            failures.push(Failure {
                path: "(before the migrations)".to_string(),
                line: 0,
                message: format!("CREATE SCHEMA {schema}: {}", error.message),
            });
        }
    }
    for script in &migrations.scripts {
        let whole = script.whole();
        if whole.trim().is_empty() || query(client, &whole).is_ok() {
            continue;
        }
        // The file ran in one implicit transaction, so nothing of it is left: run its
        // statements one by one to build what can be built and to know what cannot.
        let _ = query(client, "ROLLBACK");
        for (range, control) in &script.statements {
            let Some(sql) = script.sql.get(range.start..range.end) else {
                continue;
            };
            if *control || sql.trim().is_empty() {
                continue;
            }
            let mut sent = query(client, sql);
            if sent
                .as_ref()
                .is_err_and(|error| error.code.as_deref() == Some("25P01"))
            {
                // `LOCK TABLE` and its kin need the transaction the file gave them.
                const WRAPPER: &str = "BEGIN;\n";
                sent = query(client, &format!("{WRAPPER}{sql};\nCOMMIT")).map_err(|mut error| {
                    error.position = error
                        .position
                        .map(|position| position.saturating_sub(WRAPPER.len()));
                    error
                });
                let _ = query(client, "ROLLBACK");
            }
            if let Err(error) = sent {
                failures.push(Failure {
                    path: script.path.clone(),
                    line: script.line(range.start + error_offset(sql, &error)),
                    message: error.message,
                });
            }
        }
    }
    failures
}

/// Runs a `[confirm] setup` file on `client`'s database statement by statement, as psql runs
/// a file: each statement outside the file's own `BEGIN ... COMMIT` commits on its own, so
/// that what depends on transaction boundaries (a queue's ticks, which record the snapshot of
/// the transaction that made them) comes out as the project's code makes it. The first
/// statement the server rejects stops the file.
pub fn run_setup(client: &mut Connection, script: &Script) -> Result<(), Failure> {
    for (range, _) in &script.statements {
        let Some(sql) = script.sql.get(range.start..range.end) else {
            continue;
        };
        if sql.trim().is_empty() {
            continue;
        }
        if let Err(error) = query(client, sql) {
            let _ = query(client, "ROLLBACK");
            return Err(Failure {
                path: script.path.clone(),
                line: script.line(range.start + error_offset(sql, &error)),
                message: error.message,
            });
        }
    }
    Ok(())
}

/// The byte offset in `sql` of the character the server's error position points at.
fn error_offset(sql: &str, error: &ServerError) -> usize {
    error
        .position
        .and_then(|position| sql.char_indices().nth(position.saturating_sub(1)))
        .map_or(0, |(offset, _)| offset)
}

/// What psql does to a file before the server sees it.
struct Psql<'a> {
    text: &'a str,
    path: &'a str,
    lines: &'a LineIndex,
    variables: Variables,
    edits: Vec<(TextRange, String)>,
    migrations: &'a mut Migrations,
}

impl Psql<'_> {
    fn run(&mut self) -> String {
        let text = self.text;
        let extension_script = text.lines().any(|line| {
            line.trim_start().starts_with("\\echo") && line.contains("CREATE EXTENSION")
        });
        let mut cursor = 0;
        // Lexing starts again after every meta-command: its arguments are not SQL, and a
        // quote in them must not open a string.
        'lexing: while cursor < text.len() {
            let tokens: Vec<Token> =
                tokenize(&text[cursor..], crate::parse::flavor(Engine::Postgres))
                    .into_iter()
                    .map(|mut token| {
                        token.range =
                            TextRange::new(token.range.start + cursor, token.range.end + cursor);
                        token
                    })
                    .collect();
            let mut statement_words: Vec<String> = Vec::new();
            let mut statement_start = None;
            for (index, token) in tokens.iter().enumerate() {
                let token_text = token.text(text);
                match token.kind {
                    TokenKind::Punct if token_text == "\\" => {
                        cursor = self.meta_command(token.range.start, extension_script);
                        continue 'lexing;
                    }
                    TokenKind::Semicolon => {
                        if let Some(start) = statement_start
                            && is_copy_from_stdin(&statement_words)
                        {
                            cursor = self.copy_data(start, token.range.end);
                            continue 'lexing;
                        }
                        statement_words.clear();
                        statement_start = None;
                    }
                    TokenKind::Comment => {}
                    _ => {
                        statement_start.get_or_insert(token.range.start);
                        if token.kind == TokenKind::Word && statement_words.len() < 16 {
                            statement_words.push(token_text.to_ascii_lowercase());
                        }
                        self.variable_at(&tokens, index);
                        if token.kind == TokenKind::String && token_text.starts_with('$') {
                            self.variables_in_body(token.range);
                        }
                        if extension_script && token_text.contains("@extschema@") {
                            self.migrations.notes.insert(format!(
                                "{}: @extschema@ (an extension script's schema) is taken as public",
                                self.path
                            ));
                        }
                    }
                }
            }
            break;
        }
        let mut sql = text.to_string();
        self.edits
            .sort_by_key(|(range, _)| std::cmp::Reverse(range.start));
        let mut last_start = usize::MAX;
        for (range, replacement) in std::mem::take(&mut self.edits) {
            // Edits never overlap; an overlapping one would be a mistake, so it is dropped
            // rather than let it cut a character.
            if range.end > last_start || sql.get(range.start..range.end).is_none() {
                continue;
            }
            sql.replace_range(range.start..range.end, &replacement);
            last_start = range.start;
        }
        if extension_script {
            sql = sql.replace("@extschema@", "public");
        }
        sql
    }

    fn line(&self, offset: usize) -> usize {
        self.lines.line_col(self.text, offset).0
    }

    fn leave_out(&mut self, range: TextRange, why: String) {
        let text = self.text.get(range.start..range.end).unwrap_or("");
        self.migrations.left_out.push(LeftOut {
            path: self.path.to_string(),
            line: self.line(range.start),
            text: shorten(text),
            why,
        });
        self.edits.push((range, blank(text)));
    }

    /// A backslash command from `start` to the end of its line; where lexing goes on.
    fn meta_command(&mut self, start: usize, extension_script: bool) -> usize {
        let text = self.text;
        let end = text[start..].find('\n').map_or(text.len(), |at| start + at);
        let line = &text[start..end];
        let range = TextRange::new(start, end);
        let (command, arguments) = line[1..]
            .split_once(char::is_whitespace)
            .unwrap_or((&line[1..], ""));
        match command {
            "echo" if extension_script => {
                // CREATE EXTENSION removes `\echo` lines, `\quit` after one included.
                self.edits.push((range, blank(line)));
            }
            "set" => {
                let mut parts = arguments.trim().splitn(2, char::is_whitespace);
                if let Some(name) = parts.next().filter(|name| !name.is_empty()) {
                    let value = unquote_psql(parts.next().unwrap_or("").trim());
                    self.variables.insert(name.to_string(), value);
                }
                self.edits.push((range, blank(line)));
            }
            "unset" => {
                self.variables.remove(arguments.trim());
                self.edits.push((range, blank(line)));
            }
            "q" | "quit" => {
                let rest = TextRange::new(start, text.len());
                self.edits.push((rest, blank(&text[start..])));
                self.migrations.notes.insert(format!(
                    "{}:{}: psql stops reading the file at \\{command}; the rest is not sent",
                    self.path,
                    self.line(start)
                ));
                return text.len();
            }
            "g" | "gx" => self.edits.push((range, semicolon(line))),
            "gexec" | "gset" => {
                self.edits.push((range, semicolon(line)));
                self.migrations.notes.insert(format!(
                    "{}:{}: the query before \\{command} is run as a plain query; psql would \
                     use its rows",
                    self.path,
                    self.line(start)
                ));
            }
            "echo" | "qecho" | "warn" | "timing" | "pset" | "a" | "t" | "x" | "o" | "out"
            | "encoding" | "p" | "print" | "r" | "reset" | "conninfo" | "H" | "html" | "f"
            | "C" | "T" | "errverbose" | "." => self.edits.push((range, blank(line))),
            _ => self.leave_out(
                range,
                format!("psql's \\{command} is not run: confirm sends the SQL only"),
            ),
        }
        end
    }

    /// `COPY ... FROM stdin;` and its rows, up to the `\.` line: left out.
    fn copy_data(&mut self, start: usize, statement_end: usize) -> usize {
        let text = self.text;
        let data_start = text[statement_end..]
            .find('\n')
            .map_or(text.len(), |at| statement_end + at + 1);
        let mut end = text.len();
        let mut offset = data_start;
        for line in text[data_start..].split_inclusive('\n') {
            offset += line.len();
            if line.trim_end_matches(['\n', '\r']) == "\\." {
                end = offset;
                break;
            }
        }
        self.leave_out(
            TextRange::new(start, end),
            "COPY ... FROM stdin: its rows are not loaded".to_string(),
        );
        end
    }

    /// psql's variable interpolation at `tokens[index]`: `:name`, `:'name'`, `:"name"`.
    fn variable_at(&mut self, tokens: &[Token], index: usize) {
        let text = self.text;
        let token = tokens[index];
        let token_text = token.text(text);
        if token.kind == TokenKind::Param
            && let Some(name) = token_text.strip_prefix(':')
        {
            let qualifies = text[token.range.end..].starts_with('.');
            match (self.value(name), qualifies) {
                (Some(value), _) => {
                    if qualifies {
                        self.migrations.schemas.insert(fold(&value));
                    }
                    self.edits.push((token.range, value));
                }
                (None, true) => {
                    self.undeclared_qualifier(name);
                    self.edits.push((token.range, name.to_string()));
                }
                // psql leaves an unknown variable as it is.
                (None, false) => {}
            }
            return;
        }
        let Some(next) = tokens.get(index + 1) else {
            return;
        };
        if token.kind != TokenKind::Punct
            || token_text != ":"
            || next.range.start != token.range.end
            || next.unterminated
        {
            return;
        }
        let quote = match next.kind {
            TokenKind::String if next.text(text).starts_with('\'') => '\'',
            TokenKind::QuotedIdent => '"',
            _ => return,
        };
        let inner = next.text(text);
        let name = &inner[1..inner.len().saturating_sub(1).max(1)];
        if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
            return;
        }
        let value = self.value(name).unwrap_or_else(|| {
            self.migrations.notes.insert(format!(
                "psql variable :{name} has no value (no \\set, none under [variables] in \
                 isolint.toml): `{name}` is used"
            ));
            name.to_string()
        });
        let doubled = value.replace(quote, &format!("{quote}{quote}"));
        self.edits.push((
            TextRange::new(token.range.start, next.range.end),
            format!("{quote}{doubled}{quote}"),
        ));
    }

    /// Template variables inside a dollar-quoted body, where psql would not look but
    /// template-substituting runners do: declared ones, and undeclared schema qualifiers.
    fn variables_in_body(&mut self, range: TextRange) {
        let text = self.text;
        let body = &text[range.start..range.end];
        let bytes = body.as_bytes();
        let mut index = 0;
        while index < bytes.len() {
            let at = index;
            index += 1;
            // `::` is a cast; `:::SCHEMA.t` is a cast to a templated type.
            let colons_before = bytes[..at].iter().rev().take_while(|b| **b == b':').count();
            if bytes[at] != b':'
                || colons_before == 1
                || (colons_before == 0 && at > 0 && is_name_byte(bytes[at - 1]))
                || !bytes
                    .get(at + 1)
                    .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
            {
                continue;
            }
            let length = bytes[at + 1..]
                .iter()
                .take_while(|b| is_name_byte(**b))
                .count();
            let name = &body[at + 1..at + 1 + length];
            let qualifies = bytes.get(at + 1 + length) == Some(&b'.');
            let marker = TextRange::new(range.start + at, range.start + at + 1 + length);
            match (self.value(name), qualifies) {
                (Some(value), _) => {
                    if qualifies {
                        self.migrations.schemas.insert(fold(&value));
                    }
                    self.edits.push((marker, value));
                }
                (None, true) => {
                    self.undeclared_qualifier(name);
                    self.edits.push((marker, name.to_string()));
                }
                (None, false) => {}
            }
            index = at + 1 + length;
        }
    }

    fn value(&self, name: &str) -> Option<String> {
        self.variables.get(name).cloned().or_else(|| {
            self.variables
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value)| value.clone())
        })
    }

    fn undeclared_qualifier(&mut self, name: &str) {
        self.migrations.schemas.insert(fold(name));
        self.migrations.notes.insert(format!(
            "psql variable :{name} qualifies names and has no value (no \\set, none under \
             [variables] in isolint.toml): schema {} is used, created before the migrations",
            fold(name)
        ));
    }
}

fn is_name_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'$'
}

/// An unquoted name as PostgreSQL folds it.
fn fold(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// `'value'` as psql reads a quoted `\set` argument; other words joined as psql joins them.
fn unquote_psql(value: &str) -> String {
    if let Some(inner) = value
        .strip_prefix('\'')
        .and_then(|rest| rest.strip_suffix('\''))
    {
        return inner.replace("''", "'");
    }
    value.split_whitespace().collect::<Vec<_>>().join("")
}

/// `text` with every character but line breaks turned into spaces, one per byte: the same
/// lines, and every byte offset after it where it was.
pub fn blank(text: &str) -> String {
    let mut blanked = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '\n' || c == '\r' {
            blanked.push(c);
        } else {
            blanked.extend(std::iter::repeat_n(' ', c.len_utf8()));
        }
    }
    blanked
}

/// A `\g` line as a semicolon, the line kept.
fn semicolon(line: &str) -> String {
    let mut replaced = String::from(";");
    replaced.push_str(&blank(line.get(1..).unwrap_or("")));
    replaced
}

fn shorten(statement: &str) -> String {
    let line = crate::one_line(statement);
    if line.chars().count() > 100 {
        let cut: String = line.chars().take(97).collect();
        format!("{cut}...")
    } else {
        line
    }
}

fn is_copy_from_stdin(words: &[String]) -> bool {
    words.first().is_some_and(|word| word == "copy")
        && words
            .windows(2)
            .any(|pair| pair[0] == "from" && pair[1] == "stdin")
}

fn is_transaction_control(words: &[&str]) -> bool {
    matches!(
        words,
        [
            "begin" | "commit" | "end" | "rollback" | "abort" | "savepoint" | "release",
            ..
        ] | ["start", "transaction", ..]
    )
}

/// Why a statement would change the server as a whole, if it would.
fn server_wide(words: &[&str], tokens: &[Token], sql: &str) -> Option<&'static str> {
    let verb = |word: &str| matches!(word, "create" | "alter" | "drop");
    let why = match words {
        [verb_word, "role" | "user" | "group", second, ..]
            if verb(verb_word) && *second != "mapping" =>
        {
            "roles belong to the whole server"
        }
        [verb_word, "role" | "user" | "group"] if verb(verb_word) => {
            "roles belong to the whole server"
        }
        [verb_word, "database", ..] if verb(verb_word) => "databases belong to the whole server",
        [verb_word, "tablespace", ..] if verb(verb_word) => {
            "tablespaces belong to the whole server"
        }
        [verb_word, "subscription", ..] if verb(verb_word) => {
            "a subscription connects to another server"
        }
        ["alter", "system", ..] => "ALTER SYSTEM changes the whole server",
        ["reassign" | "drop", "owned", ..] => "it acts on a role's objects everywhere",
        ["comment" | "security", "on" | "label", ..]
            if words
                .iter()
                .any(|word| matches!(*word, "database" | "role" | "tablespace")) =>
        {
            "roles, databases and tablespaces belong to the whole server"
        }
        ["grant" | "revoke", ..] if grants_role_or_database(tokens, sql) => {
            "role memberships and database privileges belong to the whole server"
        }
        ["copy", ..] if copies_server_file(tokens, sql) => {
            "it reads or writes a file or program on the server"
        }
        ["do", ..] if body_changes_server(tokens, sql) => {
            "its body changes roles, databases, tablespaces or server settings"
        }
        _ => return None,
    };
    Some(why)
}

/// Why a MySQL statement would reach outside the throwaway database, if it would.
fn mysql_server_wide(words: &[&str]) -> Option<&'static str> {
    let verb = |word: &str| matches!(word, "create" | "alter" | "drop" | "rename");
    let why = match words {
        ["use", ..] => "it would leave the throwaway database",
        [verb_word, "database" | "schema", ..] if verb(verb_word) => {
            "databases belong to the whole server"
        }
        [verb_word, "user" | "role", ..] if verb(verb_word) => "users belong to the whole server",
        [verb_word, "tablespace" | "server" | "logfile", ..] if verb(verb_word) => {
            "it belongs to the whole server"
        }
        ["grant" | "revoke", ..] => "privileges belong to the whole server",
        ["set", "global" | "persist" | "persist_only", ..] => "SET GLOBAL changes the whole server",
        ["set", first, ..] if first.starts_with("@@global") => {
            "SET GLOBAL changes the whole server"
        }
        ["flush" | "purge" | "reset" | "shutdown" | "kill", ..] => "it acts on the whole server",
        ["install" | "uninstall", "plugin" | "soname", ..] => "plugins belong to the whole server",
        ["load", "data", ..] => "it reads a file on the server",
        _ => return None,
    };
    Some(why)
}

/// `GRANT role TO role` (no `ON`), or a privilege `ON DATABASE` / `ON TABLESPACE`.
fn grants_role_or_database(tokens: &[Token], sql: &str) -> bool {
    let on = tokens.iter().position(|token| token.is_word(sql, "on"));
    match on {
        None => true,
        Some(at) => tokens.get(at + 1).is_some_and(|token| {
            token.is_word(sql, "database") || token.is_word(sql, "tablespace")
        }),
    }
}

/// `COPY ... FROM|TO 'file'` or `PROGRAM`: not stdin or stdout.
fn copies_server_file(tokens: &[Token], sql: &str) -> bool {
    tokens.windows(2).any(|pair| {
        (pair[0].is_word(sql, "from") || pair[0].is_word(sql, "to"))
            && (pair[1].kind == TokenKind::String || pair[1].is_word(sql, "program"))
    })
}

fn body_changes_server(tokens: &[Token], sql: &str) -> bool {
    const SERVER_WIDE: &[&str] = &[
        "create role",
        "alter role",
        "drop role",
        "create user ",
        "alter user ",
        "drop user ",
        "create group",
        "alter group",
        "drop group",
        "create database",
        "alter database",
        "drop database",
        "create tablespace",
        "alter tablespace",
        "drop tablespace",
        "alter system",
        "create subscription",
        "reassign owned",
        "drop owned",
    ];
    tokens
        .iter()
        .filter(|token| token.kind == TokenKind::String)
        .any(|token| {
            let body = token
                .text(sql)
                .to_ascii_lowercase()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            let body = format!("{body} ").replace(['\'', '"'], " ");
            let body = body.split_whitespace().collect::<Vec<_>>().join(" ") + " ";
            SERVER_WIDE.iter().any(|pattern| body.contains(pattern))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prepared(text: &str, variables: &[(&str, &str)]) -> (Migrations, Script) {
        let variables: Variables = variables
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        let mut migrations = Migrations::default();
        let script = migrations.prepare("m/1.sql", text, &variables);
        (migrations, script)
    }

    #[test]
    fn the_text_is_sent_as_written_with_the_same_lines() {
        let text = "CREATE TYPE mood AS ENUM ('ok');\nALTER TYPE mood ADD VALUE 'sad';\n\
                    DO $$ BEGIN PERFORM 1; END $$;\nCREATE FUNCTION f() RETURNS int LANGUAGE sql \
                    AS $$ SELECT 1 $$;\n";
        let (migrations, script) = prepared(text, &[]);
        assert_eq!(script.sql, text);
        assert_eq!(script.whole(), text);
        assert!(migrations.left_out.is_empty());
        assert_eq!(script.statements.len(), 4);
    }

    #[test]
    fn psql_variables_are_substituted_and_meta_commands_handled() {
        let text = "\\set schema 'app'\nCREATE TABLE :schema.jobs (id int);\n\
                    CREATE TABLE :\"schema\".runs (id int);\nSELECT :'schema';\n\
                    CREATE FUNCTION :schema.f() RETURNS int LANGUAGE sql AS $$ SELECT count(*) \
                    FROM :schema.jobs $$;\n\\i other.sql\n\\quit\nDROP TABLE app.jobs;\n";
        let (migrations, script) = prepared(text, &[]);
        let lines: Vec<&str> = script.sql.lines().map(str::trim_end).collect();
        assert_eq!(lines[0], "");
        assert_eq!(lines[1], "CREATE TABLE app.jobs (id int);");
        assert_eq!(lines[2], "CREATE TABLE \"app\".runs (id int);");
        assert_eq!(lines[3], "SELECT 'app';");
        assert!(lines[4].ends_with("FROM app.jobs $$;"), "{}", lines[4]);
        assert_eq!(lines[5], "");
        assert_eq!(script.sql.lines().count(), text.lines().count());
        assert!(!script.sql.contains("DROP"));
        assert_eq!(migrations.left_out.len(), 1);
        assert_eq!(migrations.left_out[0].line, 6);
        assert!(migrations.schemas.contains("app"));
    }

    #[test]
    fn undeclared_schema_qualifiers_name_a_schema_created_first() {
        let text = "create table :GRAPHILE_WORKER_SCHEMA.jobs (id int);\n\
                    create function :GRAPHILE_WORKER_SCHEMA.f() returns int as $$ select \
                    a[1:n]::int, x := :GRAPHILE_WORKER_SCHEMA.g(), y):::GRAPHILE_WORKER_SCHEMA.t $$ \
                    language sql;";
        let (migrations, script) = prepared(text, &[]);
        assert!(
            script
                .sql
                .starts_with("create table GRAPHILE_WORKER_SCHEMA.jobs")
        );
        assert!(script.sql.contains(
            "a[1:n]::int, x := GRAPHILE_WORKER_SCHEMA.g(), y)::GRAPHILE_WORKER_SCHEMA.t"
        ));
        assert_eq!(
            migrations.schemas,
            BTreeSet::from(["graphile_worker_schema".to_string()])
        );
        let (migrations, script) = prepared(text, &[("GRAPHILE_WORKER_SCHEMA", "gw")]);
        assert!(script.sql.starts_with("create table gw.jobs"));
        assert_eq!(migrations.schemas, BTreeSet::from(["gw".to_string()]));
    }

    #[test]
    fn server_wide_statements_are_left_out() {
        let text = "CREATE ROLE app LOGIN;\nCREATE TABLE t (id int);\nGRANT app TO other;\n\
                    GRANT SELECT ON t TO app;\nALTER DATABASE prod SET timezone = 'UTC';\n\
                    DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles) THEN CREATE   ROLE x; \
                    END IF; END $$;\nCREATE USER MAPPING FOR app SERVER s;\nALTER SYSTEM SET \
                    work_mem = '1GB';\nCOPY t FROM '/etc/passwd';\n";
        let (migrations, script) = prepared(text, &[]);
        let lines: Vec<usize> = migrations.left_out.iter().map(|left| left.line).collect();
        assert_eq!(lines, [1, 3, 5, 6, 8, 9]);
        assert!(script.sql.contains("CREATE TABLE t"));
        assert!(script.sql.contains("GRANT SELECT ON t TO app"));
        assert!(script.sql.contains("CREATE USER MAPPING"));
        assert!(!script.sql.contains("ROLE"));
    }

    #[test]
    fn extension_scripts_lose_their_guard_line_and_copy_data_is_skipped() {
        let text = "\\echo Use \"CREATE EXTENSION pgq\" to load this file. \\quit\n\
                    CREATE TABLE q (id int);\nCOPY q (id) FROM stdin;\n1\n2\n\\.\n\
                    CREATE TABLE r (id int);\n";
        let (migrations, script) = prepared(text, &[]);
        assert!(script.sql.contains("CREATE TABLE q"));
        assert!(script.sql.contains("CREATE TABLE r"));
        assert!(!script.sql.contains("COPY"));
        assert_eq!(migrations.left_out.len(), 1);
        assert_eq!(migrations.left_out[0].line, 3);
        assert_eq!(script.sql.lines().count(), text.lines().count());
    }

    #[test]
    fn transaction_control_is_blanked_when_sent_whole() {
        let text = "BEGIN;\nCREATE TABLE t (id int);\nCOMMIT;\n-- migrate:down\nDROP TABLE t;\n";
        let (_, script) = prepared(text, &[]);
        assert!(!script.sql.contains("DROP"));
        let whole = script.whole();
        assert!(
            !whole.contains("BEGIN") && !whole.contains("COMMIT"),
            "{whole}"
        );
        assert!(whole.contains("CREATE TABLE t (id int);"));
        assert_eq!(whole.lines().count(), 3);
    }

    #[test]
    fn mysql_files_are_sent_statement_by_statement_without_what_leaves_the_database() {
        let text = "USE shop;\nCREATE TABLE stock (sku varchar(32) PRIMARY KEY);\n\
                    DELIMITER //\nCREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\nEND //\n\
                    DELIMITER ;\nGRANT SELECT ON shop.* TO app;\nSET GLOBAL max_connections = 9;\n";
        let mut migrations = Migrations::for_engine(Engine::Mysql);
        let script = migrations.prepare("m/1.sql", text, &Variables::new());
        let sent: Vec<&str> = script
            .statements
            .iter()
            .filter_map(|(range, _)| script.sql.get(range.start..range.end))
            .map(str::trim)
            .filter(|sql| !sql.is_empty())
            .collect();
        assert_eq!(
            sent,
            [
                "CREATE TABLE stock (sku varchar(32) PRIMARY KEY)",
                "CREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\nEND"
            ]
        );
        let left_out: Vec<(usize, &str)> = migrations
            .left_out
            .iter()
            .map(|left| (left.line, left.why.as_str()))
            .collect();
        assert_eq!(
            left_out,
            [
                (1, "it would leave the throwaway database"),
                (9, "privileges belong to the whole server"),
                (10, "SET GLOBAL changes the whole server")
            ]
        );
    }

    #[test]
    fn odd_input_never_panics() {
        for text in [
            "\\",
            "\\set",
            ":",
            ":'",
            "$$ :x. $$",
            "COPY t FROM stdin;",
            "é\\echo é",
            "'unterminated \\quit",
        ] {
            let _ = prepared(text, &[("x", "y")]);
        }
    }
}
