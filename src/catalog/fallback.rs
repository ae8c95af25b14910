//! Token-level reading of `CREATE TABLE`, `ALTER TABLE ... ADD [CONSTRAINT]` and
//! `CREATE UNIQUE INDEX` for the DDL sqlparser rejects (keywords used as names,
//! `ALTER CONSTRAINT`, vendor options), so the catalog keeps the table and its keys.

use super::{Change, Key, KeyKind, KeyRows, Table};
use crate::parse::lexer::{Token, TokenKind};

/// Words that start a table-level constraint rather than a column definition.
const CONSTRAINT_WORDS: &[&str] = &[
    "constraint",
    "primary",
    "unique",
    "exclude",
    "foreign",
    "check",
    "key",
    "index",
    "fulltext",
    "spatial",
    "like",
    "period",
];

struct Cursor<'a> {
    text: &'a str,
    tokens: &'a [Token],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn peek_is(&self, word: &str) -> bool {
        self.tokens
            .get(self.at)
            .is_some_and(|token| token.is_word(self.text, word))
    }

    fn eat(&mut self, word: &str) -> bool {
        let found = self.peek_is(word);
        if found {
            self.at += 1;
        }
        found
    }

    fn eat_all(&mut self, words: &[&str]) -> bool {
        let start = self.at;
        for word in words {
            if !self.eat(word) {
                self.at = start;
                return false;
            }
        }
        true
    }

    fn punct(&self) -> Option<&'a str> {
        let token = self.tokens.get(self.at)?;
        (token.kind == TokenKind::Punct).then(|| token.text(self.text))
    }

    /// A possibly qualified name; returns its last part.
    fn name(&mut self) -> Option<String> {
        let mut last = self.tokens.get(self.at)?.ident(self.text)?;
        self.at += 1;
        while self.punct() == Some(".") {
            self.at += 1;
            last = self.tokens.get(self.at)?.ident(self.text)?;
            self.at += 1;
        }
        Some(last)
    }

    /// The tokens of a parenthesised list, split at top-level commas. The cursor must be on `(`.
    fn paren_items(&mut self) -> Option<Vec<&'a [Token]>> {
        if self.punct() != Some("(") {
            return None;
        }
        self.at += 1;
        let mut items = vec![];
        let mut depth = 0usize;
        let mut item_start = self.at;
        while let Some(token) = self.tokens.get(self.at) {
            match (token.kind, token.text(self.text)) {
                (TokenKind::Punct, "(") => depth += 1,
                (TokenKind::Punct, ")") if depth == 0 => {
                    items.push(&self.tokens[item_start..self.at]);
                    self.at += 1;
                    return Some(items);
                }
                (TokenKind::Punct, ")") => depth -= 1,
                (TokenKind::Punct, ",") if depth == 0 => {
                    items.push(&self.tokens[item_start..self.at]);
                    item_start = self.at + 1;
                }
                _ => {}
            }
            self.at += 1;
        }
        items.push(&self.tokens[item_start..]);
        Some(items)
    }
}

/// Reads the statement if it is DDL this fallback knows; `None` otherwise.
/// DDL that changes nothing the catalog holds (types, comments, privileges, extensions): what
/// it is, when the statement is one.
pub fn models_nothing(text: &str, tokens: &[Token]) -> Option<&'static str> {
    let words: Vec<String> = tokens
        .iter()
        .take(3)
        .map(|token| token.text(text).to_ascii_lowercase())
        .collect();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["alter", "type", ..] => Some("ALTER TYPE"),
        ["comment", "on", ..] => Some("COMMENT ON"),
        ["grant", ..] => Some("GRANT"),
        ["revoke", ..] => Some("REVOKE"),
        ["create" | "alter" | "drop", "extension", ..] => Some("an extension"),
        ["security", "label", ..] => Some("SECURITY LABEL"),
        _ => None,
    }
}

pub fn changes(text: &str, tokens: &[Token]) -> Option<Vec<Change>> {
    let mut cursor = Cursor {
        text,
        tokens,
        at: 0,
    };
    if cursor.eat("create") {
        cursor.eat_all(&["or", "replace"]);
        for modifier in ["global", "local", "temporary", "temp", "unlogged"] {
            cursor.eat(modifier);
        }
        if cursor.eat("table") {
            cursor.eat_all(&["if", "not", "exists"]);
            return create_table(&mut cursor);
        }
        if cursor.eat("unique") {
            cursor.eat("clustered");
            cursor.eat("nonclustered");
            if cursor.eat("index") {
                return unique_index(&mut cursor);
            }
        }
        return None;
    }
    if cursor.eat_all(&["alter", "table"]) {
        cursor.eat_all(&["if", "exists"]);
        cursor.eat("only");
        let table = cursor.name()?;
        let mut changes = vec![];
        // Defaults are not read here: what an INSERT leaving a column out stores is unknown.
        if tokens.iter().any(|token| token.is_word(text, "default")) {
            changes.push(Change::SetDefault {
                table: table.clone(),
                column: None,
                omitted: None,
            });
        }
        while cursor.at < tokens.len() {
            if cursor.eat("add") {
                if let Some(change) = table_constraint(&mut cursor, &table) {
                    changes.push(change);
                }
            } else {
                cursor.at += 1;
            }
        }
        return Some(changes);
    }
    None
}

fn create_table(cursor: &mut Cursor) -> Option<Vec<Change>> {
    let name = cursor.name()?;
    let items = cursor.paren_items()?;
    let mut table = Table {
        name: name.clone(),
        ..Table::default()
    };
    for item in items {
        let mut item_cursor = Cursor {
            text: cursor.text,
            tokens: item,
            at: 0,
        };
        let Some(first) = item.first() else { continue };
        let is_constraint = first.kind == TokenKind::Word
            && CONSTRAINT_WORDS
                .iter()
                .any(|word| first.is_word(cursor.text, word));
        if is_constraint {
            if let Some(Change::AddKey { key, .. }) = table_constraint(&mut item_cursor, &name) {
                table.keys.push(key);
            }
            continue;
        }
        let Some(column) = first.ident(cursor.text) else {
            continue;
        };
        table.columns.push(column.clone());
        let definition: Vec<&str> = item.iter().map(|token| token.text(cursor.text)).collect();
        if super::generates_fresh_values(&definition.join(" ")) {
            table.generated.push(column.clone());
        }
        for index in 1..item.len() {
            let at = |offset: usize, word: &str| {
                item.get(index + offset)
                    .is_some_and(|token| token.is_word(cursor.text, word))
            };
            if at(0, "primary") && at(1, "key") {
                table
                    .keys
                    .push(Key::new(None, vec![column.clone()], KeyKind::Primary));
            } else if at(0, "unique") {
                table
                    .keys
                    .push(Key::new(None, vec![column.clone()], KeyKind::Unique));
            }
        }
    }
    // Spanner's GoogleSQL names the primary key after the column list:
    // `CREATE TABLE t (...) PRIMARY KEY (a, b DESC)`.
    if cursor.peek_is("primary")
        && let Some(Change::AddKey { key, .. }) = table_constraint(cursor, &name)
    {
        table.keys.push(key);
    }
    Some(vec![Change::CreateTable(table)])
}

/// `[CONSTRAINT name] PRIMARY KEY (...) | UNIQUE [KEY|INDEX] [name] (...) | EXCLUDE ...`
fn table_constraint(cursor: &mut Cursor, table: &str) -> Option<Change> {
    let mut name = None;
    if cursor.eat("constraint") {
        name = cursor.name();
    }
    let kind = if cursor.eat_all(&["primary", "key"]) {
        KeyKind::Primary
    } else if cursor.eat("unique") {
        eat_nulls_distinct(cursor);
        if (cursor.eat("key") || cursor.eat("index")) && cursor.punct() != Some("(") {
            name = name.or_else(|| cursor.name());
        }
        KeyKind::Unique
    } else if cursor.eat("exclude") {
        if cursor.eat("using") {
            cursor.name();
        }
        let items = cursor.paren_items()?;
        let mut columns = vec![];
        let mut other_columns = vec![];
        for item in items {
            let column = item.first().and_then(|token| token.ident(cursor.text));
            let with_at = item
                .iter()
                .position(|token| token.is_word(cursor.text, "with"));
            let operator: String = with_at
                .map(|at| item[at + 1..].iter().map(|t| t.text(cursor.text)).collect())
                .unwrap_or_default();
            if let Some(column) = column {
                if operator == "=" {
                    columns.push(column);
                } else {
                    other_columns.push(column);
                }
            }
        }
        return Some(Change::AddKey {
            table: table.to_string(),
            key: Key::new(name, columns, KeyKind::Exclusion { other_columns }),
        });
    } else {
        return None;
    };
    cursor.eat("clustered");
    cursor.eat("nonclustered");
    let columns = key_columns(cursor)?;
    Some(Change::AddKey {
        table: table.to_string(),
        key: Key::new(name, columns, kind),
    })
}

/// PostgreSQL 15's `UNIQUE NULLS [NOT] DISTINCT` changes only how NULLs compare.
fn eat_nulls_distinct(cursor: &mut Cursor) {
    if cursor.eat("nulls") {
        cursor.eat("not");
        cursor.eat("distinct");
    }
}

fn unique_index(cursor: &mut Cursor) -> Option<Vec<Change>> {
    cursor.eat("concurrently");
    cursor.eat_all(&["if", "not", "exists"]);
    let name = if cursor.peek_is("on") {
        None
    } else {
        cursor.name()
    };
    if !cursor.eat("on") {
        return None;
    }
    cursor.eat("only");
    let table = cursor.name()?;
    if cursor.eat("using") {
        cursor.name();
    }
    let columns = key_columns(cursor)?;
    let mut key = Key::new(name, columns, KeyKind::Unique);
    // A partial index's WHERE is not read here: which rows it holds is unknown.
    if cursor.tokens[cursor.at..]
        .iter()
        .any(|token| token.is_word(cursor.text, "where"))
    {
        key.rows = KeyRows::Unknown;
    }
    Some(vec![Change::AddKey { table, key }])
}

/// `(a, b DESC, lower(c))` → the column names used.
fn key_columns(cursor: &mut Cursor) -> Option<Vec<String>> {
    let items = cursor.paren_items()?;
    let mut columns = vec![];
    for item in items {
        // An expression element: the identifiers that are not followed by `(` (functions).
        let names = item.iter().enumerate().filter_map(|(index, token)| {
            let is_call = item
                .get(index + 1)
                .is_some_and(|next| next.text(cursor.text) == "(");
            let is_modifier = ["asc", "desc", "nulls", "first", "last", "collate"]
                .iter()
                .any(|word| token.is_word(cursor.text, word));
            (!is_call && !is_modifier)
                .then(|| token.ident(cursor.text))
                .flatten()
        });
        columns.extend(names.take(if item.len() == 1 { 1 } else { usize::MAX }));
    }
    Some(columns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::parse::lexer::{Flavor, tokenize};

    fn apply(sql: &str) -> Catalog {
        let mut catalog = Catalog::default();
        let flavor = Flavor {
            dollar_quotes: true,
            ..Flavor::default()
        };
        let tokens: Vec<Token> = tokenize(sql, flavor)
            .into_iter()
            .filter(|token| token.kind != TokenKind::Comment)
            .collect();
        for change in changes(sql, &tokens).expect("recognised") {
            catalog.apply(change);
        }
        catalog
    }

    #[test]
    fn keyword_named_references_keep_the_table() {
        // A column named after a keyword's table (`REFERENCES comment`) does not stop the
        // token-level reader: the table and its keys survive.
        let catalog = apply(
            "CREATE TABLE reactions (id bigserial PRIMARY KEY, \
             comment_id bigint REFERENCES comment (id), user_id bigint NOT NULL, \
             CONSTRAINT one_per_user UNIQUE (comment_id, user_id))",
        );
        let table = catalog.table("reactions").unwrap();
        assert_eq!(table.columns, vec!["id", "comment_id", "user_id"]);
        assert_eq!(table.keys[0].kind, KeyKind::Primary);
        assert_eq!(table.keys[1].columns, vec!["comment_id", "user_id"]);
        assert_eq!(table.keys[1].name.as_deref(), Some("one_per_user"));
    }

    #[test]
    fn alter_table_add_exclusion_constraint() {
        let catalog = apply(
            "ALTER TABLE ONLY public.bookings ADD CONSTRAINT no_overlap \
             EXCLUDE USING gist (room_id WITH =, during WITH &&) DEFERRABLE",
        );
        let key = &catalog.table("bookings").unwrap().keys[0];
        assert_eq!(key.columns, vec!["room_id"]);
        assert_eq!(
            key.kind,
            KeyKind::Exclusion {
                other_columns: vec!["during".into()]
            }
        );
    }

    #[test]
    fn unique_index_on_expression() {
        let catalog = apply(
            "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS u ON ONLY users USING btree (lower(email), org_id DESC)",
        );
        let key = &catalog.table("users").unwrap().keys[0];
        assert_eq!(key.columns, vec!["email", "org_id"]);
        assert_eq!(key.name.as_deref(), Some("u"));
    }

    #[test]
    fn spanner_primary_key_after_the_columns() {
        let catalog = apply(
            "CREATE TABLE Albums (SingerId INT64 NOT NULL, AlbumId INT64 NOT NULL, \
             Title STRING(MAX),) PRIMARY KEY (SingerId, AlbumId DESC), \
             INTERLEAVE IN PARENT Singers ON DELETE CASCADE",
        );
        let table = catalog.table("albums").unwrap();
        assert_eq!(table.columns, vec!["singerid", "albumid", "title"]);
        assert_eq!(table.keys.len(), 1);
        assert_eq!(table.keys[0].kind, KeyKind::Primary);
        assert_eq!(table.keys[0].columns, vec!["singerid", "albumid"]);
    }

    #[test]
    fn other_statements_are_not_recognised() {
        let sql = "ALTER SEQUENCE s RESTART";
        let tokens = tokenize(sql, Flavor::default());
        assert!(changes(sql, &tokens).is_none());
    }
}
