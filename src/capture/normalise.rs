//! One logged statement: what kind it is (work, transaction control, session setting, noise)
//! and its shape, the text with comments dropped and every literal and bind parameter made a
//! slot, so that every execution of one code path has the same shape whatever its values.
//!
//! It reads tokens with the project's forgiving lexer (quotes, `E''` strings, dollar quotes,
//! nested comments), so no text makes it fail; it must not decide what a statement does to
//! the data.

use crate::parse::lexer::{Flavor, Token, TokenKind, tokenize};
use crate::parse::split;
use crate::semantics::Level;

/// Marks a slot in a shape's skeleton: a character no SQL text holds.
pub const SLOT: char = '\u{1}';

/// Whose SQL the log holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Dialect {
    #[default]
    Postgres,
    /// MySQL and MariaDB: backticks, `#` comments, backslash escapes, `SET autocommit`.
    Mysql,
}

impl Dialect {
    /// The lexical conventions of the dialect.
    pub fn flavor(self) -> Flavor {
        Flavor {
            dollar_quotes: self == Dialect::Postgres,
            mysql: self == Dialect::Mysql,
            brackets: false,
            nested_comments: self == Dialect::Postgres,
            slash_lines: false,
        }
    }
}

/// What a statement is, as far as grouping and dropping go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// `BEGIN` / `START TRANSACTION`, with the level it declares.
    Begin(Option<Level>),
    /// `COMMIT`, `END`, `ROLLBACK`, `ABORT`, `PREPARE TRANSACTION`.
    End,
    /// `SET TRANSACTION ISOLATION LEVEL x` (also `SET LOCAL default_transaction_isolation`):
    /// the level of the open transaction.
    TransactionLevel(Level),
    /// `SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL x`, `SET
    /// default_transaction_isolation = x`; `None` when it is reset to the server's default.
    SessionLevel(Option<Level>),
    /// MySQL's `SET autocommit = 0|1`: with it off, a statement outside a transaction begins
    /// one that lasts until `COMMIT`.
    Autocommit(bool),
    /// A statement of no interest, with the reason it is dropped.
    Noise(Noise),
    /// A statement of the workload.
    Work,
}

/// Why a statement is dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Noise {
    Savepoint,
    Show,
    Set,
    Catalog,
    Ping,
    SchemaChange,
    Utility,
    /// A string, quoted name or comment that never closes, or a start that reads as a client's
    /// command (`\connect`): the server rejected it, and its text cannot be written back as a
    /// statement.
    Unreadable,
}

impl Noise {
    pub const ALL: [Noise; 8] = [
        Noise::Savepoint,
        Noise::Show,
        Noise::Set,
        Noise::Catalog,
        Noise::Ping,
        Noise::SchemaChange,
        Noise::Utility,
        Noise::Unreadable,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Noise::Savepoint => "SAVEPOINT / RELEASE / ROLLBACK TO",
            Noise::Show => "SHOW",
            Noise::Set => "SET / RESET / DISCARD",
            Noise::Catalog => {
                "catalog and server queries (pg_catalog, information_schema, @@variables, version())"
            }
            Noise::Ping => "connection checks (SELECT 1, empty queries)",
            Noise::SchemaChange => "schema changes (give check your migrations instead)",
            Noise::Utility => "utility statements (COPY, VACUUM, EXPLAIN, PREPARE, ...)",
            Noise::Unreadable => {
                "unreadable statements (a quote or comment that never closes, several in one, a client \
                 command such as \\connect)"
            }
        }
    }
}

/// A statement made independent of its values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shape {
    /// The text without comments, each slot a [`SLOT`] character.
    pub skeleton: String,
    /// Each slot's value in this execution, in order. Values that are equal in every
    /// execution become one parameter.
    pub values: Vec<String>,
    /// `key='value'` pairs of a sqlcommenter (or `key:value` Marginalia) comment.
    pub tags: Vec<(String, String)>,
}

/// The words that may stand before a unary minus: `SET x = -1`, `WHERE a > -2`.
const BEFORE_UNARY_MINUS: [&str; 17] = [
    "select", "where", "and", "or", "not", "then", "else", "when", "values", "return", "by",
    "limit", "offset", "in", "is", "between", "like",
];

/// Type names whose string literal (`DATE '2024-01-01'`) becomes a cast parameter.
const TYPED_LITERALS: [&str; 5] = ["date", "time", "timestamp", "timestamptz", "interval"];

/// Functions whose only use is asking the server about itself.
const SERVER_FUNCTIONS: [&str; 12] = [
    "version",
    "current_schema",
    "current_schemas",
    "current_database",
    "current_setting",
    "set_config",
    "pg_backend_pid",
    "pg_is_in_recovery",
    "pg_postmaster_start_time",
    "has_table_privilege",
    "has_schema_privilege",
    "inet_server_addr",
];

/// The tokens of `text`, comments included.
pub fn tokens(text: &str, dialect: Dialect) -> Vec<Token> {
    tokenize(text, dialect.flavor())
}

/// What `text`, one statement, is.
pub fn classify(text: &str, dialect: Dialect) -> Kind {
    classify_tokens(&tokens(text, dialect), text, dialect)
}

/// What the statement `text` with its `tokens` is.
pub fn classify_tokens(tokens: &[Token], text: &str, dialect: Dialect) -> Kind {
    // The slot marker is a control character no statement holds; one that does is garbage.
    if tokens.iter().any(|token| token.unterminated) || text.contains(SLOT) {
        return Kind::Noise(Noise::Unreadable);
    }
    // A statement that starts like a client's command (`\connect`, MySQL's `DELIMITER`) is
    // none the server ran, and a script that starts a statement so does not read back as it
    // was written: the splitter skips the rest of that line.
    if tokens
        .iter()
        .find(|token| token.kind != TokenKind::Comment)
        .is_some_and(|first| split::starts_client_command(text, *first, dialect.flavor()))
    {
        return Kind::Noise(Noise::Unreadable);
    }
    // Where one statement is expected (an `execute`, a row of pg_stat_statements), a
    // semicolon before more text means several, which the server would not have run.
    let significant = |token: &&Token| token.kind != TokenKind::Comment;
    if let Some(semicolon) = tokens
        .iter()
        .position(|token| token.kind == TokenKind::Semicolon)
        && tokens[semicolon + 1..]
            .iter()
            .any(|token| significant(&token) && token.kind != TokenKind::Semicolon)
    {
        return Kind::Noise(Noise::Unreadable);
    }
    let tokens: Vec<Token> = tokens
        .iter()
        .filter(|token| token.kind != TokenKind::Comment && token.kind != TokenKind::Semicolon)
        .copied()
        .collect();
    let words: Vec<String> = tokens
        .iter()
        .take(8)
        .map(|token| token.text(text).to_ascii_lowercase())
        .collect();
    let word = |index: usize| words.get(index).map_or("", String::as_str);
    let Some(first) = words.first() else {
        return Kind::Noise(Noise::Ping);
    };
    match first.as_str() {
        "begin" | "start" => Kind::Begin(level_after(&tokens, text)),
        "commit" | "end" | "abort" => {
            if word(1) == "prepared" {
                Kind::Noise(Noise::Utility)
            } else {
                Kind::End
            }
        }
        "rollback" => match word(1) {
            "to" => Kind::Noise(Noise::Savepoint),
            "prepared" => Kind::Noise(Noise::Utility),
            _ => Kind::End,
        },
        "prepare" if word(1) == "transaction" => Kind::End,
        "savepoint" | "release" => Kind::Noise(Noise::Savepoint),
        "show" => Kind::Noise(Noise::Show),
        "set" if dialect == Dialect::Mysql => classify_mysql_set(&tokens, text, &words),
        "set" => classify_set(&tokens, text, &words),
        "use" | "kill" | "flush" | "xa" | "handler" | "do" if dialect == Dialect::Mysql => {
            Kind::Noise(Noise::Utility)
        }
        "select" if dialect == Dialect::Mysql && is_mysql_catalog(text) => {
            Kind::Noise(Noise::Catalog)
        }
        "reset" => {
            if matches!(word(1), "default_transaction_isolation" | "all") {
                Kind::SessionLevel(None)
            } else {
                Kind::Noise(Noise::Set)
            }
        }
        "discard" => {
            if word(1) == "all" {
                Kind::SessionLevel(None)
            } else {
                Kind::Noise(Noise::Set)
            }
        }
        "create" | "alter" | "drop" | "comment" | "grant" | "revoke" | "reindex" | "cluster"
        | "security" | "refresh" | "import" => Kind::Noise(Noise::SchemaChange),
        "copy" | "vacuum" | "analyze" | "analyse" | "checkpoint" | "listen" | "unlisten"
        | "notify" | "deallocate" | "prepare" | "execute" | "explain" | "fetch" | "move"
        | "close" | "declare" | "truncate" | "load" => Kind::Noise(Noise::Utility),
        _ if is_catalog(&tokens, text) => Kind::Noise(Noise::Catalog),
        "select" if is_ping(&tokens, text) => Kind::Noise(Noise::Ping),
        _ => Kind::Work,
    }
}

/// MySQL's `SET`: `SET [SESSION|GLOBAL] TRANSACTION ISOLATION LEVEL x`, `SET [SESSION]
/// transaction_isolation = 'x'` (also `tx_isolation`, `@@session.`), `SET autocommit = 0`.
fn classify_mysql_set(tokens: &[Token], text: &str, words: &[String]) -> Kind {
    let word = |index: usize| words.get(index).map_or("", String::as_str);
    if word(1) == "global" || text.to_ascii_lowercase().contains("@@global.") {
        return Kind::Noise(Noise::Set);
    }
    match (word(1), word(2)) {
        ("transaction", _) => {
            return match level_after(tokens, text) {
                Some(level) => Kind::TransactionLevel(level),
                None => Kind::Noise(Noise::Set),
            };
        }
        ("session", "transaction") => {
            return match level_after(tokens, text) {
                Some(level) => Kind::SessionLevel(Some(level)),
                None => Kind::Noise(Noise::Set),
            };
        }
        _ => {}
    }
    // `SET @@session.x = v`, `SET SESSION x = v`, `SET x = v`: one assignment is read.
    let lowered = text.to_ascii_lowercase();
    let assignment = lowered
        .trim_start()
        .trim_start_matches("set")
        .trim_start()
        .trim_start_matches("@@session.")
        .trim_start_matches("@@")
        .trim_start_matches("session ")
        .trim_start();
    let Some((name, value)) = assignment.split_once('=') else {
        return Kind::Noise(Noise::Set);
    };
    if value.contains(',') {
        return Kind::Noise(Noise::Set);
    }
    let value = value
        .trim()
        .trim_end_matches(';')
        .trim()
        .trim_matches(['\'', '"']);
    match name.trim() {
        "autocommit" => match value {
            "0" | "off" | "false" => Kind::Autocommit(false),
            "1" | "on" | "true" => Kind::Autocommit(true),
            _ => Kind::Noise(Noise::Set),
        },
        "transaction_isolation" | "tx_isolation" => match Level::parse(value) {
            Some(level) => Kind::SessionLevel(Some(level)),
            None => Kind::Noise(Noise::Set),
        },
        _ => Kind::Noise(Noise::Set),
    }
}

/// MySQL clients asking the server about itself: `SELECT @@version_comment`, `SELECT
/// DATABASE()`, queries of `information_schema`, `performance_schema` and `mysql`.
fn is_mysql_catalog(text: &str) -> bool {
    let lowered = text.to_ascii_lowercase();
    lowered.contains("@@")
        || lowered.contains("performance_schema")
        || lowered.contains("database()")
        || lowered.contains("mysql.")
        || lowered.contains("connection_id()")
}

fn classify_set(tokens: &[Token], text: &str, words: &[String]) -> Kind {
    let word = |index: usize| words.get(index).map_or("", String::as_str);
    // `SET TRANSACTION ...`, `SET SESSION CHARACTERISTICS AS TRANSACTION ...`.
    if word(1) == "transaction" {
        return match level_after(tokens, text) {
            Some(level) => Kind::TransactionLevel(level),
            None => Kind::Noise(Noise::Set),
        };
    }
    if word(1) == "session" && word(2) == "characteristics" {
        return match level_after(tokens, text) {
            Some(level) => Kind::SessionLevel(Some(level)),
            None => Kind::Noise(Noise::Set),
        };
    }
    let (local, name_at) = match word(1) {
        "local" => (true, 2),
        "session" => (false, 2),
        _ => (false, 1),
    };
    if word(name_at) != "default_transaction_isolation" {
        return Kind::Noise(Noise::Set);
    }
    // The value: `= 'read committed'`, `TO serializable`, `TO DEFAULT`.
    let value: String = tokens
        .iter()
        .skip(name_at + 2)
        .map(|token| token.text(text).trim_matches('\'').to_string())
        .collect::<Vec<_>>()
        .join(" ");
    match (Level::parse(&value), local) {
        (Some(level), true) => Kind::TransactionLevel(level),
        (Some(level), false) => Kind::SessionLevel(Some(level)),
        (None, _) if value.eq_ignore_ascii_case("default") => Kind::SessionLevel(None),
        (None, _) => Kind::Noise(Noise::Set),
    }
}

/// The level named after `ISOLATION LEVEL` among `tokens`.
fn level_after(tokens: &[Token], text: &str) -> Option<Level> {
    let at = tokens
        .windows(2)
        .position(|pair| pair[0].is_word(text, "isolation") && pair[1].is_word(text, "level"))?;
    let words: Vec<&str> = tokens[at + 2..]
        .iter()
        .take_while(|token| token.kind == TokenKind::Word)
        .take(2)
        .map(|token| token.text(text))
        .collect();
    // `READ COMMITTED`, `REPEATABLE READ`, `SERIALIZABLE` (then perhaps `, READ WRITE`).
    Level::parse(&words.join(" ")).or_else(|| Level::parse(words.first()?))
}

/// Whether the statement reads the system catalogs or only asks the server about itself.
fn is_catalog(tokens: &[Token], text: &str) -> bool {
    let mut relation_follows = false;
    let mut reads_a_table = false;
    for (index, token) in tokens.iter().enumerate() {
        let Some(name) = token.ident(text) else {
            relation_follows = false;
            continue;
        };
        if name == "pg_catalog" || name == "information_schema" {
            return true;
        }
        if relation_follows {
            if name.starts_with("pg_") {
                return true;
            }
            reads_a_table = true;
        }
        relation_follows = matches!(name.as_str(), "from" | "join" | "into" | "update");
        let called = tokens
            .get(index + 1)
            .is_some_and(|next| next.text(text) == "(");
        if called && SERVER_FUNCTIONS.contains(&name.as_str()) && !reads_a_table {
            return true;
        }
    }
    false
}

/// `SELECT 1`, `SELECT 'x' AS ok`: a client checking its connection.
fn is_ping(tokens: &[Token], text: &str) -> bool {
    match tokens {
        [_, value] => matches!(value.kind, TokenKind::Number | TokenKind::String),
        [_, value, alias @ ..] => {
            matches!(value.kind, TokenKind::Number | TokenKind::String)
                && (alias.len() == 1 || (alias.len() == 2 && alias[0].is_word(text, "as")))
        }
        _ => false,
    }
}

/// The shape of `text`: `parameter(k)` gives the bound value of `$k`, if the log has it;
/// `unknown` names this statement's unknown values so that they equal nothing else.
pub fn shape(text: &str, parameter: &dyn Fn(u32) -> Option<String>, unknown: &str) -> Shape {
    shape_tokens(&tokens(text, Dialect::Postgres), text, parameter, unknown)
}

/// [`shape`] of the statement `text` with its `tokens`.
pub fn shape_tokens(
    tokens: &[Token],
    text: &str,
    parameter: &dyn Fn(u32) -> Option<String>,
    unknown: &str,
) -> Shape {
    // Comments are no part of a shape, only their tags are kept. What follows sees the
    // statement without them, as it sees a script written from the shape when it is read back:
    // `IN (/*x*/1, 2)` is a literal list either way.
    let comments: Vec<Token> = tokens
        .iter()
        .filter(|token| token.kind == TokenKind::Comment)
        .copied()
        .collect();
    let tags = comments
        .iter()
        .flat_map(|comment| comment_tags(comment.text(text)))
        .collect();
    let tokens: Vec<Token> = tokens
        .iter()
        .filter(|token| token.kind != TokenKind::Comment)
        .copied()
        .collect();
    let tokens = tokens.as_slice();
    let mut skeleton = String::with_capacity(text.len());
    let mut values = Vec::new();
    // Copied text ends here; the gap up to the next token is whitespace and comments.
    let mut copied = match tokens.first() {
        Some(first) => first.range.start,
        None => return Shape::default(),
    };
    let value_of = |token: &Token| -> String {
        let token_text = token.text(text);
        if token.kind == TokenKind::Param && token_text.starts_with('$') {
            let number = token_text[1..].parse::<u32>().unwrap_or(0);
            parameter(number).unwrap_or_else(|| format!("\u{0}{unknown}{token_text}"))
        } else if token.kind == TokenKind::String
            && token_text.len() >= 2
            && token_text.starts_with('\'')
            && token_text.ends_with('\'')
        {
            // As the log writes bound values: `'it''s'` and `$1 = 'it''s'` are one value.
            token_text[1..token_text.len() - 1].replace("''", "'")
        } else {
            token_text.to_string()
        }
    };
    let mut previous: Option<&Token> = None;
    // Rows of a multi-row `VALUES` after the first, when they have its shape: (from, to)
    // token indexes to leave out.
    let mut rows_left_out: Option<(usize, usize)> = None;
    let mut index = 0;
    while index < tokens.len() {
        if let Some((from, to)) = rows_left_out
            && index == from
        {
            rows_left_out = None;
            copied = tokens[to].range.end;
            index = to + 1;
            continue;
        }
        let token = &tokens[index];
        push_gap(&mut skeleton, text, copied..token.range.start, &comments);
        copied = token.range.end;
        index += 1;
        if token.is_word(text, "values") && rows_left_out.is_none() {
            rows_left_out = repeated_rows(tokens, index, text);
        }
        let next = tokens.get(index);
        // `IN (1, 2, 3)`: one slot, whatever the list's length.
        if token.is_word(text, "in")
            && let Some((items, end)) = literal_list(tokens, index, text)
        {
            skeleton.push_str(&text[token.range.start..token.range.end]);
            skeleton.push_str(" (");
            skeleton.push(SLOT);
            skeleton.push(')');
            let joined: Vec<String> = items
                .iter()
                .map(|item| item.value(&value_of, text))
                .collect();
            values.push(joined.join("\u{2}"));
            copied = tokens[end].range.end;
            index = end + 1;
            previous = Some(&tokens[end]);
            continue;
        }
        // `DATE '2024-01-01'`: a parameter cast to the type.
        if token.kind == TokenKind::Word
            && next
                .is_some_and(|next| next.kind == TokenKind::String && !is_dollar_quoted(next, text))
            && TYPED_LITERALS.contains(&token.text(text).to_ascii_lowercase().as_str())
            && let Some(next) = next
        {
            push_slot(&mut skeleton);
            skeleton.push_str("::");
            skeleton.push_str(token.text(text));
            values.push(format!("{}{}", token.text(text), next.text(text)));
            copied = next.range.end;
            index += 1;
            previous = Some(next);
            continue;
        }
        // A unary minus belongs to its number: `+ -5` and `+ 5` are one shape.
        if token.kind == TokenKind::Punct
            && token.text(text) == "-"
            && next.is_some_and(|next| next.kind == TokenKind::Number)
            && minus_is_unary(previous, text)
            && let Some(next) = next
        {
            push_slot(&mut skeleton);
            values.push(format!("-{}", next.text(text)));
            copied = next.range.end;
            index += 1;
            previous = Some(next);
            continue;
        }
        if is_value(token, text) {
            push_slot(&mut skeleton);
            values.push(value_of(token));
        } else {
            push_text(&mut skeleton, token.text(text));
        }
        previous = Some(token);
    }
    // Comments dropped at either end leave their spacing behind.
    let skeleton = skeleton
        .trim_start_matches(|c: char| c.is_ascii_whitespace())
        .trim_end_matches(|c: char| c.is_ascii_whitespace() || c == ';')
        .to_string();
    Shape {
        skeleton,
        values,
        tags,
    }
}

/// Appends `text[gap]`, the whitespace and comments between two tokens, without its
/// `comments`. A comment that was all there was between them becomes a space, which keeps them
/// apart as the comment did: `a/*x*/b` is `a b`, not the name `ab`, and `-/*x*/-` starts no
/// line comment.
fn push_gap(skeleton: &mut String, text: &str, gap: std::ops::Range<usize>, comments: &[Token]) {
    let first = comments.partition_point(|comment| comment.range.start < gap.start);
    let mut kept = gap.start;
    let mut commented = false;
    let before = skeleton.len();
    for comment in comments[first..]
        .iter()
        .take_while(|comment| comment.range.end <= gap.end)
    {
        skeleton.push_str(&text[kept..comment.range.start]);
        kept = comment.range.end;
        commented = true;
    }
    skeleton.push_str(&text[kept..gap.end]);
    if commented && skeleton.len() == before {
        skeleton.push(' ');
    }
}

/// Appends a slot, apart from a word before it (`DATE$1` would read as one name).
fn push_slot(skeleton: &mut String) {
    if skeleton.chars().next_back().is_some_and(continues_a_word) {
        skeleton.push(' ');
    }
    skeleton.push(SLOT);
}

/// Appends a token's text, apart from a slot before it (`$1` then `2` would read as `$12`).
fn push_text(skeleton: &mut String, token_text: &str) {
    if skeleton.ends_with(SLOT) && token_text.chars().next().is_some_and(continues_a_word) {
        skeleton.push(' ');
    }
    skeleton.push_str(token_text);
}

/// As the lexer reads names: any character outside ASCII continues one.
fn continues_a_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '$' || !c.is_ascii()
}

/// After `VALUES` at `tokens[at - 1]` (comments left out): when two or more rows follow and
/// every row has the first one's shape, the token indexes from the comma after the first row
/// to the last row's closing parenthesis, so that a bulk insert of any number of rows is one
/// shape.
fn repeated_rows(tokens: &[Token], at: usize, text: &str) -> Option<(usize, usize)> {
    let mut rows: Vec<(usize, usize)> = Vec::new();
    let mut index = at;
    loop {
        tokens.get(index).filter(|token| token.text(text) == "(")?;
        let mut depth = 0usize;
        let mut close = None;
        for (offset, token) in tokens[index..].iter().enumerate() {
            match token.text(text) {
                "(" => depth += 1,
                ")" => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        close = Some(index + offset);
                        break;
                    }
                }
                _ => {}
            }
        }
        let close = close?;
        rows.push((index, close));
        match tokens.get(close + 1) {
            Some(comma)
                if comma.text(text) == ","
                    && tokens.get(close + 2).is_some_and(|t| t.text(text) == "(") =>
            {
                index = close + 2;
            }
            _ => break,
        }
    }
    if rows.len() < 2 {
        return None;
    }
    let row_shape = |(from, to): (usize, usize)| -> Vec<&str> {
        tokens[from..=to]
            .iter()
            .filter(|token| token.text(text) != "-")
            .map(|token| {
                if is_value(token, text) {
                    "\u{1}"
                } else {
                    token.text(text)
                }
            })
            .collect()
    };
    let first = row_shape(rows[0]);
    rows[1..]
        .iter()
        .all(|row| row_shape(*row) == first)
        .then(|| (rows[0].1 + 1, rows[rows.len() - 1].1))
}

/// One item of a literal list: a value token, negated or not.
struct ListItem<'a> {
    token: &'a Token,
    negated: bool,
}

impl ListItem<'_> {
    fn value(&self, value_of: &dyn Fn(&Token) -> String, _text: &str) -> String {
        let value = value_of(self.token);
        if self.negated {
            format!("-{value}")
        } else {
            value
        }
    }
}

/// After `IN` at `tokens[at - 1]` (comments left out): `( value, value, ... )` of literals and
/// parameters only, with the index of its closing parenthesis.
fn literal_list<'a>(
    tokens: &'a [Token],
    at: usize,
    text: &str,
) -> Option<(Vec<ListItem<'a>>, usize)> {
    if tokens.get(at)?.text(text) != "(" {
        return None;
    }
    let mut items = Vec::new();
    let mut index = at + 1;
    loop {
        let mut token = tokens.get(index)?;
        let negated = token.text(text) == "-";
        if negated {
            index += 1;
            token = tokens.get(index)?;
            if token.kind != TokenKind::Number {
                return None;
            }
        }
        if !is_value(token, text) {
            return None;
        }
        items.push(ListItem { token, negated });
        index += 1;
        match tokens.get(index)?.text(text) {
            "," => index += 1,
            ")" => return Some((items, index)),
            _ => return None,
        }
    }
}

/// A literal or a bind parameter: what becomes a slot.
fn is_value(token: &Token, text: &str) -> bool {
    match token.kind {
        TokenKind::Number => true,
        TokenKind::String => !is_dollar_quoted(token, text),
        TokenKind::Param => token.text(text).starts_with('$'),
        _ => false,
    }
}

/// Dollar-quoted strings are code (`DO $$ ... $$`), not values.
fn is_dollar_quoted(token: &Token, text: &str) -> bool {
    token.text(text).starts_with('$')
}

fn minus_is_unary(previous: Option<&Token>, text: &str) -> bool {
    match previous {
        None => true,
        Some(token) => match token.kind {
            TokenKind::Punct => !matches!(token.text(text), ")" | "]"),
            TokenKind::Word => {
                BEFORE_UNARY_MINUS.contains(&token.text(text).to_ascii_lowercase().as_str())
            }
            _ => false,
        },
    }
}

/// The tags of a sqlcommenter comment (`/*controller='users',action='show'*/`) or a
/// Marginalia one (`/*application:Shop,controller:users*/`); nothing for other comments.
pub fn comment_tags(comment: &str) -> Vec<(String, String)> {
    let Some(inner) = comment
        .strip_prefix("/*")
        .and_then(|rest| rest.strip_suffix("*/"))
    else {
        return Vec::new();
    };
    let mut tags = Vec::new();
    for pair in inner.split(',') {
        let pair = pair.trim();
        let Some((key, value)) = pair.split_once('=').or_else(|| pair.split_once(':')) else {
            return Vec::new();
        };
        let key = key.trim();
        if key.is_empty()
            || !key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Vec::new();
        }
        let value = value.trim().trim_matches('\'');
        tags.push((key.to_string(), percent_decode(value)));
    }
    tags
}

/// sqlcommenter URL-encodes its values.
fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let hex = |at: usize| bytes.get(at).and_then(|b| (*b as char).to_digit(16));
        match (bytes[index], hex(index + 1), hex(index + 2)) {
            (b'%', Some(high), Some(low)) => {
                out.push(u8::try_from(high * 16 + low).unwrap_or(b'?'));
                index += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `verb_table` for a statement of the workload, e.g. `update_accounts`, for naming programs.
pub fn verb_and_table(skeleton: &str, dialect: Dialect) -> String {
    let tokens: Vec<Token> = tokens(skeleton, dialect)
        .into_iter()
        .filter(|token| token.kind != TokenKind::Comment)
        .collect();
    let words: Vec<String> = tokens
        .iter()
        .filter_map(|token| token.ident(skeleton))
        .collect();
    let verb = match words.first().map(String::as_str) {
        Some("with") => ["insert", "update", "delete", "merge"]
            .into_iter()
            .find(|verb| words.iter().any(|word| word == verb))
            .unwrap_or("select"),
        Some(first) => match first {
            "select" | "insert" | "update" | "delete" | "merge" | "lock" | "call" | "do"
            | "values" | "table" => first,
            _ => "run",
        },
        None => "run",
    };
    let after = match verb {
        "insert" | "merge" => "into",
        "update" => "update",
        "delete" | "select" => "from",
        "lock" => "table",
        "call" => "call",
        _ => return verb.to_string(),
    };
    let table = tokens
        .iter()
        .position(|token| token.is_word(skeleton, after))
        .and_then(|at| {
            // The last part of a qualified name: `public.accounts` is `accounts`.
            let mut name = None;
            let mut index = at + 1;
            while let Some(token) = tokens.get(index) {
                if token.is_word(skeleton, "only") && name.is_none() {
                    index += 1;
                    continue;
                }
                let ident = token.ident(skeleton)?;
                name = Some(ident);
                if tokens
                    .get(index + 1)
                    .is_some_and(|t| t.text(skeleton) == ".")
                {
                    index += 2;
                } else {
                    break;
                }
            }
            name
        });
    match table {
        Some(table) => format!("{verb}_{table}"),
        None => verb.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_parameters(_: u32) -> Option<String> {
        None
    }

    fn check(text: &str, skeleton: &str, values: &[&str]) {
        let shape = shape(text, &no_parameters, "s0");
        assert_eq!(shape.skeleton.replace(SLOT, "?"), skeleton, "{text}");
        assert_eq!(shape.values, values, "{text}");
    }

    #[test]
    fn literals_become_slots_and_the_rest_is_kept_as_written() {
        check(
            "UPDATE pgbench_accounts SET abalance = abalance + -4770 WHERE aid = 74064;",
            "UPDATE pgbench_accounts SET abalance = abalance + ? WHERE aid = ?",
            &["-4770", "74064"],
        );
        check(
            "select * from t where a - 5 > 1 and s = 'it''s' and e = E'\\x'",
            "select * from t where a - ? > ? and s = ? and e = ?",
            &["5", "1", "it's", "E'\\x'"],
        );
        check(
            "INSERT INTO h (a, m)\n  VALUES (9, CURRENT_TIMESTAMP)",
            "INSERT INTO h (a, m)\n  VALUES (?, CURRENT_TIMESTAMP)",
            &["9"],
        );
    }

    #[test]
    fn in_lists_of_any_length_are_one_slot() {
        check(
            "SELECT 1 FROM t WHERE id IN (1, 2, -3) AND b IN (SELECT x FROM u)",
            "SELECT ? FROM t WHERE id IN (?) AND b IN (SELECT x FROM u)",
            &["1", "1\u{2}2\u{2}-3"],
        );
        check(
            "SELECT a FROM t WHERE id IN (7)",
            "SELECT a FROM t WHERE id IN (?)",
            &["7"],
        );
        check(
            "SELECT a FROM t WHERE id IN (/*x*/1, -- y\n 2)",
            "SELECT a FROM t WHERE id IN (?)",
            &["1\u{2}2"],
        );
    }

    #[test]
    fn rows_of_one_shape_in_a_multi_row_insert_are_one_row() {
        check(
            "INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y'), (-3, 'z') RETURNING id",
            "INSERT INTO t (a, b) VALUES (?, ?) RETURNING id",
            &["1", "x"],
        );
        check(
            "INSERT INTO t (a, b) VALUES (1, 'x'), (2, now())",
            "INSERT INTO t (a, b) VALUES (?, ?), (?, now())",
            &["1", "x", "2"],
        );
        check(
            "INSERT INTO t VALUES ((1), 2)",
            "INSERT INTO t VALUES ((?), ?)",
            &["1", "2"],
        );
    }

    #[test]
    fn typed_literals_become_casts_and_dollar_quoted_code_stays() {
        check(
            "SELECT a FROM t WHERE d > DATE '2024-01-01' - interval '1 day'",
            "SELECT a FROM t WHERE d > ?::DATE - ?::interval",
            &["DATE'2024-01-01'", "interval'1 day'"],
        );
        check(
            "DO $$ BEGIN PERFORM 1; END $$",
            "DO $$ BEGIN PERFORM 1; END $$",
            &[],
        );
    }

    #[test]
    fn bind_parameters_take_their_logged_values() {
        let bound = |number: u32| (number == 2).then(|| "'7'".to_string());
        let bound_shape = shape("UPDATE t SET a = $1 WHERE id = $2 AND b = $1", &bound, "s3");
        assert_eq!(
            bound_shape.skeleton.replace(SLOT, "?"),
            "UPDATE t SET a = ? WHERE id = ? AND b = ?"
        );
        assert_eq!(bound_shape.values[1], "'7'");
        // An unknown value equals itself within the statement, and nothing of another one.
        assert_eq!(bound_shape.values[0], bound_shape.values[2]);
        assert_ne!(
            bound_shape.values[0],
            shape("SELECT $1", &no_parameters, "s4").values[0]
        );
    }

    #[test]
    fn comments_are_dropped_and_sqlcommenter_tags_kept() {
        let shape = shape(
            "SELECT * FROM users WHERE id = 3 /*action='show',controller='users',\
             traceparent='00-5bd66ef5095369c7b0d1f8f4bd33716a-c532cb4098ac3dd2-01'*/",
            &no_parameters,
            "s0",
        );
        assert_eq!(
            shape.skeleton.replace(SLOT, "?"),
            "SELECT * FROM users WHERE id = ?"
        );
        assert_eq!(
            shape.tags[1],
            ("controller".to_string(), "users".to_string())
        );
        check(
            "SELECT a/*x*/b, 1 -/*y*/-c/**/FROM t",
            "SELECT a b, ? - -c FROM t",
            &["1"],
        );
        assert_eq!(comment_tags("/* just a note */"), Vec::new());
        assert_eq!(
            comment_tags("/*controller='a%2Fb'*/"),
            vec![("controller".to_string(), "a/b".to_string())]
        );
    }

    #[test]
    fn statements_are_classified() {
        assert_eq!(
            classify("BEGIN ISOLATION LEVEL REPEATABLE READ", Dialect::Postgres),
            Kind::Begin(Some(Level::RepeatableRead))
        );
        assert_eq!(
            classify("start transaction", Dialect::Postgres),
            Kind::Begin(None)
        );
        assert_eq!(classify("END;", Dialect::Postgres), Kind::End);
        assert_eq!(
            classify("ROLLBACK TO SAVEPOINT a", Dialect::Postgres),
            Kind::Noise(Noise::Savepoint)
        );
        assert_eq!(
            classify(
                "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ WRITE",
                Dialect::Postgres
            ),
            Kind::TransactionLevel(Level::Serializable)
        );
        assert_eq!(
            classify(
                "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED",
                Dialect::Postgres
            ),
            Kind::SessionLevel(Some(Level::ReadCommitted))
        );
        assert_eq!(
            classify(
                "SET default_transaction_isolation = 'repeatable read'",
                Dialect::Postgres
            ),
            Kind::SessionLevel(Some(Level::RepeatableRead))
        );
        assert_eq!(
            classify(
                "set local default_transaction_isolation to serializable",
                Dialect::Postgres
            ),
            Kind::TransactionLevel(Level::Serializable)
        );
        assert_eq!(
            classify("RESET ALL", Dialect::Postgres),
            Kind::SessionLevel(None)
        );
        assert_eq!(
            classify("SET search_path TO app", Dialect::Postgres),
            Kind::Noise(Noise::Set)
        );
        assert_eq!(
            classify("SHOW transaction_isolation", Dialect::Postgres),
            Kind::Noise(Noise::Show)
        );
        assert_eq!(
            classify("SELECT 1", Dialect::Postgres),
            Kind::Noise(Noise::Ping)
        );
        assert_eq!(classify("", Dialect::Postgres), Kind::Noise(Noise::Ping));
        assert_eq!(
            classify(
                "SELECT t.oid FROM pg_type t WHERE typname = 'hstore'",
                Dialect::Postgres
            ),
            Kind::Noise(Noise::Catalog)
        );
        assert_eq!(
            classify(
                "select current_setting('server_version_num')",
                Dialect::Postgres
            ),
            Kind::Noise(Noise::Catalog)
        );
        assert_eq!(
            classify("SELECT pg_advisory_xact_lock(1)", Dialect::Postgres),
            Kind::Work
        );
        assert_eq!(
            classify("SELECT 1 FROM pgbench_accounts", Dialect::Postgres),
            Kind::Work
        );
        assert_eq!(
            classify("create table t (a int)", Dialect::Postgres),
            Kind::Noise(Noise::SchemaChange)
        );
        assert_eq!(
            classify("copy t from stdin", Dialect::Postgres),
            Kind::Noise(Noise::Utility)
        );
        assert_eq!(classify("LOCK TABLE t", Dialect::Postgres), Kind::Work);
        assert_eq!(
            classify("/* c */ \\connect db", Dialect::Postgres),
            Kind::Noise(Noise::Unreadable)
        );
    }

    #[test]
    fn mysql_statements_are_classified() {
        let mysql = |text: &str| classify(text, Dialect::Mysql);
        assert_eq!(
            mysql("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED"),
            Kind::SessionLevel(Some(Level::ReadCommitted))
        );
        assert_eq!(
            mysql("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE"),
            Kind::TransactionLevel(Level::Serializable)
        );
        assert_eq!(
            mysql("SET @@session.transaction_isolation = 'READ-COMMITTED'"),
            Kind::SessionLevel(Some(Level::ReadCommitted))
        );
        assert_eq!(mysql("SET autocommit=0"), Kind::Autocommit(false));
        assert_eq!(mysql("set autocommit = ON"), Kind::Autocommit(true));
        assert_eq!(
            mysql("SET GLOBAL transaction_isolation = 'SERIALIZABLE'"),
            Kind::Noise(Noise::Set)
        );
        assert_eq!(mysql("SET NAMES utf8mb4"), Kind::Noise(Noise::Set));
        assert_eq!(mysql("DELIMITER //"), Kind::Noise(Noise::Unreadable));
        assert_eq!(
            mysql("select @@version_comment limit 1"),
            Kind::Noise(Noise::Catalog)
        );
        assert_eq!(mysql("SELECT DATABASE()"), Kind::Noise(Noise::Catalog));
        assert_eq!(
            mysql("START TRANSACTION WITH CONSISTENT SNAPSHOT"),
            Kind::Begin(None)
        );
        assert_eq!(mysql("SELECT `balance` FROM `accounts` # note"), Kind::Work);
        assert_eq!(
            verb_and_table("UPDATE `accounts` SET balance = 1", Dialect::Mysql),
            "update_accounts"
        );
    }

    #[test]
    fn programs_are_named_from_verbs_and_tables() {
        assert_eq!(
            verb_and_table("UPDATE public.accounts SET a = 1", Dialect::Postgres),
            "update_accounts"
        );
        assert_eq!(
            verb_and_table("select a from \"Orders\" o", Dialect::Postgres),
            "select_Orders"
        );
        assert_eq!(
            verb_and_table("INSERT INTO h VALUES (1)", Dialect::Postgres),
            "insert_h"
        );
        assert_eq!(
            verb_and_table(
                "WITH x AS (DELETE FROM q RETURNING *) INSERT INTO a SELECT * FROM x",
                Dialect::Postgres
            ),
            "insert_a"
        );
        assert_eq!(verb_and_table("SELECT now()", Dialect::Postgres), "select");
    }
}
