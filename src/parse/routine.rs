//! Routine and trigger definitions read from a statement's tokens: `CREATE [OR REPLACE]
//! FUNCTION|PROCEDURE`, `CREATE TRIGGER`, and the `DROP`s that remove them (PostgreSQL).
//!
//! sqlparser reads only part of these (it has no PL/pgSQL, and misses many options), so they
//! are read from tokens: the name, the arguments, the language and where the body is. The
//! body itself is read by [`super::plpgsql`].

use super::lexer::{Token, TokenKind};
use crate::catalog::normalize_name;
use crate::source::TextRange;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Language {
    Plpgsql,
    Sql,
    /// A MySQL / MariaDB stored program body (`BEGIN ... END` or one statement).
    Mysql,
    /// A T-SQL procedure, function or trigger body.
    Tsql,
    /// An Oracle PL/SQL procedure, function or trigger body.
    Plsql,
    /// C, plpython, ...: a body isolint cannot read.
    Other,
}

/// One argument of a routine.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Argument {
    pub name: Option<String>,
    /// The type as written, lowercased and on one line: the routine's identity.
    pub type_name: String,
    /// `OUT` arguments are not passed by the caller and are not part of the identity.
    pub output: bool,
}

/// `CREATE [OR REPLACE] FUNCTION|PROCEDURE`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RoutineDefinition {
    pub name: String,
    pub procedure: bool,
    pub arguments: Vec<Argument>,
    pub returns_trigger: bool,
    /// `STABLE` or `IMMUTABLE`: PostgreSQL runs the body on the calling statement's
    /// snapshot, so its reads are part of that statement.
    pub stable: bool,
    pub language: Language,
    /// The body between its quotes, file-absolute; `None` for a body isolint cannot see.
    pub body: Option<TextRange>,
    /// The body was a single-quoted string: its `''` stand for one quote.
    pub body_single_quoted: bool,
    /// The routine's name as written in the definition, for locations.
    pub name_range: TextRange,
}

impl RoutineDefinition {
    /// The argument types a caller passes, which tell overloads apart.
    pub fn signature(&self) -> Vec<String> {
        self.arguments
            .iter()
            .filter(|argument| !argument.output)
            .map(|argument| argument.type_name.clone())
            .collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TriggerTiming {
    Before,
    After,
    InsteadOf,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TriggerEvent {
    Insert,
    /// `UPDATE [OF columns]`: empty means any column.
    Update(Vec<String>),
    Delete,
    Truncate,
}

/// `CREATE [OR REPLACE] [CONSTRAINT] TRIGGER`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TriggerDefinition {
    pub name: String,
    pub table: String,
    pub timing: TriggerTiming,
    pub events: Vec<TriggerEvent>,
    pub for_each_row: bool,
    pub function: String,
    pub name_range: TextRange,
}

/// What one statement does to the project's routines.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RoutineStatement {
    Define(RoutineDefinition),
    /// `DROP FUNCTION|PROCEDURE name [(types)]`: `None` types drop every overload.
    Drop {
        name: String,
        signature: Option<Vec<String>>,
    },
    Trigger(TriggerDefinition),
    DropTrigger {
        name: String,
        table: String,
    },
}

/// Whose stored programs a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// PostgreSQL: `CREATE FUNCTION ... AS $$ body $$ LANGUAGE plpgsql`.
    Postgres,
    /// MySQL / MariaDB: the body follows the header directly.
    Mysql,
    /// SQL Server: `CREATE [OR ALTER] PROC[EDURE] name @p type AS body`.
    Tsql,
    /// Oracle: `CREATE [OR REPLACE] PROCEDURE name (p IN type) IS declarations BEGIN ... END;`.
    Oracle,
}

/// Reads a routine or trigger statement from its tokens; `None` for any other statement.
pub fn read(text: &str, tokens: &[Token], syntax: Syntax) -> Option<Vec<RoutineStatement>> {
    let mut cursor = Cursor {
        text,
        tokens,
        index: 0,
    };
    if cursor.eat("create") {
        if cursor.eat("or") && !(cursor.eat("replace") || cursor.eat("alter")) {
            return None;
        }
        match syntax {
            Syntax::Mysql => return cursor.mysql_definition(),
            Syntax::Tsql => return cursor.tsql_definition(),
            Syntax::Oracle => return cursor.oracle_definition(),
            Syntax::Postgres => {}
        }
        cursor.eat("constraint");
        if cursor.eat("function") {
            return cursor
                .routine(false)
                .map(|d| vec![RoutineStatement::Define(d)]);
        }
        if cursor.eat("procedure") {
            return cursor
                .routine(true)
                .map(|d| vec![RoutineStatement::Define(d)]);
        }
        if cursor.eat("trigger") {
            return cursor.trigger().map(|d| vec![RoutineStatement::Trigger(d)]);
        }
        return None;
    }
    if cursor.eat("drop") {
        if cursor.eat("function") || cursor.eat("procedure") || cursor.eat("routine") {
            return Some(cursor.drop_routines());
        }
        if cursor.eat("trigger") {
            cursor.if_exists();
            let name = cursor.name()?;
            cursor.expect("on")?;
            let table = cursor.name()?;
            return Some(vec![RoutineStatement::DropTrigger { name, table }]);
        }
    }
    None
}

struct Cursor<'a> {
    text: &'a str,
    tokens: &'a [Token],
    index: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.index)
    }

    fn is(&self, word: &str) -> bool {
        self.peek()
            .is_some_and(|token| token.is_word(self.text, word))
    }

    fn is_punct(&self, punct: &str) -> bool {
        self.peek()
            .is_some_and(|token| token.kind == TokenKind::Punct && token.text(self.text) == punct)
    }

    fn eat(&mut self, word: &str) -> bool {
        let found = self.is(word);
        if found {
            self.index += 1;
        }
        found
    }

    fn eat_punct(&mut self, punct: &str) -> bool {
        let found = self.is_punct(punct);
        if found {
            self.index += 1;
        }
        found
    }

    fn expect(&mut self, word: &str) -> Option<()> {
        self.eat(word).then_some(())
    }

    fn if_exists(&mut self) {
        if self.is("if") {
            self.index += 1;
            self.eat("exists");
        }
    }

    /// A possibly qualified name: its last part, normalised.
    fn name(&mut self) -> Option<String> {
        let (name, _) = self.name_with_range()?;
        Some(name)
    }

    fn name_with_range(&mut self) -> Option<(String, TextRange)> {
        let mut last = None;
        loop {
            let token = *self.peek()?;
            // A templated schema, `:SCHEMA.name` (psql variables): the name follows.
            if token.kind == TokenKind::Param
                && self
                    .tokens
                    .get(self.index + 1)
                    .is_some_and(|next| next.text(self.text) == ".")
            {
                self.index += 2;
                continue;
            }
            let part = match token.kind {
                TokenKind::Word => normalize_name(token.text(self.text), false),
                TokenKind::QuotedIdent => normalize_name(&token.ident(self.text)?, true),
                _ => break,
            };
            last = Some((part, token.range));
            self.index += 1;
            if !self.eat_punct(".") {
                break;
            }
        }
        last
    }

    /// The tokens of a parenthesised list, split at top-level commas; the cursor ends after
    /// the closing parenthesis.
    fn parenthesised_list(&mut self) -> Option<Vec<Vec<Token>>> {
        if !self.eat_punct("(") {
            return None;
        }
        let mut items = vec![Vec::new()];
        let mut depth = 0usize;
        while let Some(token) = self.peek().copied() {
            self.index += 1;
            if token.kind == TokenKind::Punct {
                match token.text(self.text) {
                    "(" | "[" => depth += 1,
                    ")" if depth == 0 => {
                        items.retain(|item| !item.is_empty());
                        return Some(items);
                    }
                    ")" | "]" => depth = depth.saturating_sub(1),
                    "," if depth == 0 => {
                        items.push(Vec::new());
                        continue;
                    }
                    _ => {}
                }
            }
            if let Some(item) = items.last_mut() {
                item.push(token);
            }
        }
        None
    }

    fn routine(&mut self, procedure: bool) -> Option<RoutineDefinition> {
        let (name, name_range) = self.name_with_range()?;
        let arguments = self
            .parenthesised_list()?
            .iter()
            .map(|tokens| argument(self.text, tokens))
            .collect();
        let mut definition = RoutineDefinition {
            name,
            procedure,
            arguments,
            returns_trigger: false,
            stable: false,
            language: Language::Sql,
            body: None,
            body_single_quoted: false,
            name_range,
        };
        let mut language = None;
        while let Some(token) = self.peek().copied() {
            self.index += 1;
            if token.is_word(self.text, "returns") {
                definition.returns_trigger = self.is("trigger") || self.is("event_trigger");
            } else if token.is_word(self.text, "stable") || token.is_word(self.text, "immutable") {
                definition.stable = true;
            } else if token.is_word(self.text, "language") {
                language = self.peek().map(|t| {
                    let name = t.ident(self.text).or_else(|| {
                        // `LANGUAGE 'plpgsql'`, as older code writes it.
                        Some(t.text(self.text).trim_matches('\'').to_ascii_lowercase())
                    });
                    match name.as_deref() {
                        Some("plpgsql") => Language::Plpgsql,
                        Some("sql") => Language::Sql,
                        _ => Language::Other,
                    }
                });
            } else if token.is_word(self.text, "as") && definition.body.is_none() {
                let Some(body) = self.peek().copied() else {
                    break;
                };
                if body.kind == TokenKind::String {
                    definition.body = string_inside(self.text, body);
                    definition.body_single_quoted = self.text[body.range.start..].starts_with('\'');
                    self.index += 1;
                }
            } else if token.is_word(self.text, "begin") && self.is("atomic") {
                // A SQL-standard body: the statements up to the final END.
                let start = self.tokens.get(self.index + 1)?.range.start;
                let end = self.tokens.last()?.range.start;
                definition.body = Some(TextRange::new(start, end.max(start)));
                language.get_or_insert(Language::Sql);
                break;
            }
        }
        definition.language = language.unwrap_or(Language::Sql);
        Some(definition)
    }

    /// `CREATE [DEFINER = u] PROCEDURE|FUNCTION name(args) [characteristics] body` and
    /// `CREATE [DEFINER = u] TRIGGER name BEFORE|AFTER event ON t FOR EACH ROW body`; a
    /// trigger's body becomes a routine named `trigger:name`.
    fn mysql_definition(&mut self) -> Option<Vec<RoutineStatement>> {
        if self.eat("definer") {
            while let Some(token) = self.peek() {
                if ["procedure", "function", "trigger", "event"]
                    .iter()
                    .any(|word| token.is_word(self.text, word))
                {
                    break;
                }
                self.index += 1;
            }
        }
        let procedure = self.eat("procedure");
        if procedure || self.eat("function") {
            self.if_not_exists();
            let (name, name_range) = self.name_with_range()?;
            let arguments = self
                .parenthesised_list()?
                .iter()
                .map(|tokens| argument(self.text, tokens))
                .collect();
            let body = self.mysql_body()?;
            return Some(vec![RoutineStatement::Define(RoutineDefinition {
                name,
                procedure,
                arguments,
                returns_trigger: false,
                stable: false,
                language: Language::Mysql,
                body: Some(body),
                body_single_quoted: false,
                name_range,
            })]);
        }
        if !self.eat("trigger") {
            return None;
        }
        self.if_not_exists();
        let (name, name_range) = self.name_with_range()?;
        let timing = if self.eat("before") {
            TriggerTiming::Before
        } else if self.eat("after") {
            TriggerTiming::After
        } else {
            return None;
        };
        let event = if self.eat("insert") {
            TriggerEvent::Insert
        } else if self.eat("update") {
            TriggerEvent::Update(Vec::new())
        } else if self.eat("delete") {
            TriggerEvent::Delete
        } else {
            return None;
        };
        self.expect("on")?;
        let table = self.name()?;
        let body = self.mysql_body()?;
        let trigger = TriggerDefinition {
            name,
            table,
            timing,
            events: vec![event],
            for_each_row: true,
            function: String::new(),
            name_range,
        };
        Some(trigger_with_body(trigger, Language::Mysql, body))
    }

    /// `CREATE [OR ALTER] PROC[EDURE] name [(]@p type [= default] [OUTPUT][)] [WITH ...] AS
    /// body`, `CREATE FUNCTION name (@p type) RETURNS ... AS body` and `CREATE TRIGGER name ON
    /// t {FOR | AFTER | INSTEAD OF} INSERT, UPDATE, DELETE AS body`; a trigger's body becomes a
    /// routine named `trigger:name`.
    fn tsql_definition(&mut self) -> Option<Vec<RoutineStatement>> {
        let procedure = self.eat("proc") || self.eat("procedure");
        if procedure || self.eat("function") {
            let (name, name_range) = self.name_with_range()?;
            let header_start = self.index;
            let body_at = self.depth_zero_as()?;
            let arguments = tsql_arguments(self.text, &self.tokens[header_start..body_at]);
            let body = self.rest_after(body_at)?;
            return Some(vec![RoutineStatement::Define(RoutineDefinition {
                name,
                procedure,
                arguments,
                returns_trigger: false,
                stable: false,
                language: Language::Tsql,
                body: Some(body),
                body_single_quoted: false,
                name_range,
            })]);
        }
        if !self.eat("trigger") {
            return None;
        }
        let (name, name_range) = self.name_with_range()?;
        self.expect("on")?;
        let table = self.name()?;
        let body_at = self.depth_zero_as()?;
        let mut timing = TriggerTiming::After;
        let mut events = Vec::new();
        for token in &self.tokens[self.index..body_at] {
            match token.text(self.text).to_ascii_lowercase().as_str() {
                "instead" => timing = TriggerTiming::InsteadOf,
                "insert" => events.push(TriggerEvent::Insert),
                "update" => events.push(TriggerEvent::Update(Vec::new())),
                "delete" => events.push(TriggerEvent::Delete),
                _ => {}
            }
        }
        let body = self.rest_after(body_at)?;
        let trigger = TriggerDefinition {
            name,
            table,
            timing,
            events,
            for_each_row: false,
            function: String::new(),
            name_range,
        };
        Some(trigger_with_body(trigger, Language::Tsql, body))
    }

    /// `CREATE [OR REPLACE] [EDITIONABLE] PROCEDURE|FUNCTION name [(args)] [RETURN type]
    /// IS|AS body` and `CREATE TRIGGER name BEFORE|AFTER event [OR event] ON t [FOR EACH ROW]
    /// [WHEN (...)] [DECLARE ...] BEGIN ... END`; a trigger's body becomes a routine named
    /// `trigger:name`. Packages are not read.
    fn oracle_definition(&mut self) -> Option<Vec<RoutineStatement>> {
        let _ = self.eat("editionable") || self.eat("noneditionable");
        let procedure = self.eat("procedure");
        if procedure || self.eat("function") {
            let (name, name_range) = self.name_with_range()?;
            let arguments = if self.is_punct("(") {
                self.parenthesised_list()?
                    .iter()
                    .map(|tokens| oracle_argument(self.text, tokens))
                    .collect()
            } else {
                Vec::new()
            };
            let body_at = self.depth_zero_word(&["is", "as"])?;
            let body = self.rest_after(body_at)?;
            return Some(vec![RoutineStatement::Define(RoutineDefinition {
                name,
                procedure,
                arguments,
                returns_trigger: false,
                stable: false,
                language: Language::Plsql,
                body: Some(body),
                body_single_quoted: false,
                name_range,
            })]);
        }
        if !self.eat("trigger") {
            return None;
        }
        let (name, name_range) = self.name_with_range()?;
        let (timing, events, table) = self.trigger_header()?;
        let for_each_row = self.tokens[self.index..]
            .iter()
            .any(|token| token.is_word(self.text, "row"));
        let body_at = self.depth_zero_word(&["declare", "begin"])?;
        let body = TextRange::new(
            self.tokens[body_at].range.start,
            self.tokens.last()?.range.end,
        );
        let trigger = TriggerDefinition {
            name,
            table,
            timing,
            events,
            for_each_row,
            function: String::new(),
            name_range,
        };
        Some(trigger_with_body(trigger, Language::Plsql, body))
    }

    /// The index of the first of `words` outside parentheses from the cursor on.
    fn depth_zero_word(&self, words: &[&str]) -> Option<usize> {
        let mut depth = 0usize;
        (self.index..self.tokens.len()).find(|&at| {
            let token = self.tokens[at];
            match token.text(self.text) {
                "(" => depth += 1,
                ")" => depth = depth.saturating_sub(1),
                _ => {}
            }
            depth == 0 && words.iter().any(|word| token.is_word(self.text, word))
        })
    }

    /// The index of the first `AS` outside parentheses from the cursor on, where a T-SQL
    /// routine's body starts (a function may go straight to `BEGIN`).
    fn depth_zero_as(&self) -> Option<usize> {
        let mut depth = 0usize;
        let mut begin = None;
        for at in self.index..self.tokens.len() {
            let token = self.tokens[at];
            match token.text(self.text) {
                "(" => depth += 1,
                ")" => depth = depth.saturating_sub(1),
                _ if depth == 0 && token.is_word(self.text, "as") => return Some(at),
                _ if depth == 0 && token.is_word(self.text, "begin") => {
                    begin.get_or_insert(at - 1);
                }
                _ => {}
            }
        }
        begin
    }

    /// The text from the token after `at` to the end of the statement.
    fn rest_after(&self, at: usize) -> Option<TextRange> {
        let first = self.tokens.get(at + 1)?;
        let last = self.tokens.last()?;
        Some(TextRange::new(first.range.start, last.range.end))
    }

    fn if_not_exists(&mut self) {
        if self.is("if") {
            self.index += 1;
            self.eat("not");
            self.eat("exists");
        }
    }

    /// The body after a MySQL routine's header: from `BEGIN` (or its one statement) to the end.
    fn mysql_body(&mut self) -> Option<TextRange> {
        const STARTS: &[&str] = &[
            "begin", "select", "insert", "update", "delete", "replace", "call", "return", "set",
            "if", "declare", "while", "repeat", "loop",
        ];
        let mut previous_returns = false;
        while let Some(token) = self.peek().copied() {
            let starts = STARTS.iter().any(|word| token.is_word(self.text, word));
            // `RETURNS SET(...)`-like types aside, a starting word after RETURNS is its type.
            if starts && !previous_returns {
                let end = self.tokens.last()?.range.end;
                return Some(TextRange::new(token.range.start, end));
            }
            previous_returns = token.is_word(self.text, "returns");
            self.index += 1;
        }
        None
    }

    /// `BEFORE | AFTER | INSTEAD OF event [OR event ...] ON table`, as PostgreSQL and Oracle
    /// write a trigger's header.
    fn trigger_header(&mut self) -> Option<(TriggerTiming, Vec<TriggerEvent>, String)> {
        let timing = if self.eat("before") {
            TriggerTiming::Before
        } else if self.eat("after") {
            TriggerTiming::After
        } else if self.eat("instead") {
            self.expect("of")?;
            TriggerTiming::InsteadOf
        } else {
            return None;
        };
        let mut events = Vec::new();
        loop {
            if self.eat("insert") {
                events.push(TriggerEvent::Insert);
            } else if self.eat("delete") {
                events.push(TriggerEvent::Delete);
            } else if self.eat("truncate") {
                events.push(TriggerEvent::Truncate);
            } else if self.eat("update") {
                let mut columns = Vec::new();
                if self.eat("of") {
                    while let Some(column) = self.name() {
                        columns.push(column);
                        if !self.eat_punct(",") {
                            break;
                        }
                    }
                }
                events.push(TriggerEvent::Update(columns));
            } else {
                return None;
            }
            if !self.eat("or") {
                break;
            }
        }
        self.expect("on")?;
        let table = self.name()?;
        Some((timing, events, table))
    }

    fn trigger(&mut self) -> Option<TriggerDefinition> {
        let (name, name_range) = self.name_with_range()?;
        let (timing, events, table) = self.trigger_header()?;
        let mut for_each_row = false;
        let mut function = None;
        while let Some(token) = self.peek().copied() {
            self.index += 1;
            if token.is_word(self.text, "row") {
                for_each_row = true;
            } else if token.is_word(self.text, "execute") {
                if !(self.eat("function") || self.eat("procedure")) {
                    return None;
                }
                function = self.name();
                break;
            }
        }
        Some(TriggerDefinition {
            name,
            table,
            timing,
            events,
            for_each_row,
            function: function?,
            name_range,
        })
    }

    fn drop_routines(&mut self) -> Vec<RoutineStatement> {
        self.if_exists();
        let mut dropped = Vec::new();
        while let Some(name) = self.name() {
            let signature = self.parenthesised_list().map(|items| {
                items
                    .iter()
                    .map(|tokens| argument(self.text, tokens))
                    .filter(|argument| !argument.output)
                    .map(|argument| argument.type_name)
                    .collect()
            });
            dropped.push(RoutineStatement::Drop { name, signature });
            if !self.eat_punct(",") {
                break;
            }
        }
        dropped
    }
}

/// A MySQL or T-SQL trigger, whose body is written in the trigger itself: the body becomes a
/// routine named `trigger:NAME`, which the trigger runs.
fn trigger_with_body(
    mut trigger: TriggerDefinition,
    language: Language,
    body: TextRange,
) -> Vec<RoutineStatement> {
    trigger.function = format!("trigger:{}", trigger.name);
    vec![
        RoutineStatement::Define(RoutineDefinition {
            name: trigger.function.clone(),
            procedure: false,
            arguments: Vec::new(),
            returns_trigger: true,
            stable: false,
            language,
            body: Some(body),
            body_single_quoted: false,
            name_range: trigger.name_range,
        }),
        RoutineStatement::Trigger(trigger),
    ]
}

/// An Oracle argument: `name [IN | OUT | IN OUT] [NOCOPY] type [DEFAULT expr | := expr]`.
fn oracle_argument(text: &str, tokens: &[Token]) -> Argument {
    let name = tokens.first().and_then(|token| token.ident(text));
    let mut output = false;
    let mut type_words = Vec::new();
    for token in tokens.iter().skip(1) {
        let word = token.text(text).to_ascii_lowercase();
        match word.as_str() {
            "in" | "nocopy" => {}
            "out" => output = true,
            "default" | ":" => break,
            _ => type_words.push(word),
        }
    }
    Argument {
        name,
        type_name: canonical_type(&type_words.join(" ")),
        output,
    }
}

/// T-SQL arguments: `@p type [= default] [OUT | OUTPUT | READONLY]`, comma separated, in
/// optional parentheses, up to `RETURNS` or `WITH`.
fn tsql_arguments(text: &str, tokens: &[Token]) -> Vec<Argument> {
    let end = tokens
        .iter()
        .position(|t| t.is_word(text, "returns") || t.is_word(text, "with"))
        .unwrap_or(tokens.len());
    let mut list = &tokens[..end];
    // `(@a int, @b decimal(10, 2))`: the list inside its parentheses.
    if list.first().is_some_and(|t| t.text(text) == "(") {
        let mut depth = 0usize;
        let close = list.iter().position(|t| {
            match t.text(text) {
                "(" => depth += 1,
                ")" => depth = depth.saturating_sub(1),
                _ => {}
            }
            depth == 0
        });
        if let Some(close) = close {
            list = &list[1..close];
        }
    }
    let mut arguments = Vec::new();
    let mut depth = 0usize;
    let mut current: Vec<Token> = Vec::new();
    let mut finish = |current: &mut Vec<Token>| {
        let Some(name) = current.first().filter(|t| t.kind == TokenKind::Param) else {
            current.clear();
            return;
        };
        let words: Vec<String> = current[1..]
            .iter()
            .map(|t| t.text(text).to_ascii_lowercase())
            .collect();
        let type_end = words
            .iter()
            .position(|w| matches!(w.as_str(), "=" | "out" | "output" | "readonly" | "varying"))
            .unwrap_or(words.len());
        arguments.push(Argument {
            name: Some(name.text(text).to_ascii_lowercase()),
            type_name: canonical_type(&words[..type_end].join(" ")),
            output: words.iter().any(|w| w == "out" || w == "output"),
        });
        current.clear();
    };
    for token in list {
        match token.text(text) {
            "(" => depth += 1,
            ")" => depth = depth.saturating_sub(1),
            "," if depth == 0 => {
                finish(&mut current);
                continue;
            }
            _ => {}
        }
        current.push(*token);
    }
    finish(&mut current);
    arguments
}

/// The text inside a string token's quotes: `'...'`, `E'...'` or `$tag$...$tag$`.
fn string_inside(text: &str, token: Token) -> Option<TextRange> {
    let raw = token.text(text);
    let (open, close) = if let Some(after) = raw.strip_prefix('$') {
        let tag_end = after.find('$')? + 2;
        (tag_end, if token.unterminated { 0 } else { tag_end })
    } else {
        let open = raw.find('\'')? + 1;
        (open, usize::from(!token.unterminated))
    };
    let start = token.range.start + open;
    let end = token.range.end.checked_sub(close)?;
    (start <= end).then(|| TextRange::new(start, end))
}

/// `[IN|OUT|INOUT|VARIADIC] [name] type [DEFAULT expr | = expr]`.
fn argument(text: &str, tokens: &[Token]) -> Argument {
    let mut tokens = tokens;
    let mut output = false;
    if let Some(first) = tokens.first() {
        for mode in ["in", "out", "inout", "variadic"] {
            if first.is_word(text, mode) && tokens.len() > 1 {
                output = mode == "out";
                tokens = &tokens[1..];
                break;
            }
        }
    }
    let end = tokens
        .iter()
        .position(|token| {
            token.is_word(text, "default")
                || (token.kind == TokenKind::Punct && token.text(text) == "=")
        })
        .unwrap_or(tokens.len());
    let tokens = &tokens[..end];
    let named = tokens.len() >= 2
        && matches!(tokens[0].kind, TokenKind::Word | TokenKind::QuotedIdent)
        && matches!(tokens[1].kind, TokenKind::Word | TokenKind::QuotedIdent)
        && !starts_multi_word_type(text, tokens);
    let (name, type_tokens) = if named {
        (tokens[0].ident(text), &tokens[1..])
    } else {
        (None, tokens)
    };
    let written = type_tokens
        .iter()
        .map(|token| token.text(text).to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join(" ");
    let type_name = canonical_type(&written);
    Argument {
        name,
        type_name,
        output,
    }
}

/// One spelling for the types PostgreSQL knows by several names, so that `DROP FUNCTION
/// f(int)` removes `CREATE FUNCTION f(integer)`.
fn canonical_type(written: &str) -> String {
    let (base, array) = match written.strip_suffix("[ ]") {
        Some(base) => (base.trim_end(), "[]"),
        None => (written, ""),
    };
    let base = base.trim_start_matches("pg_catalog . ");
    let canonical = match base {
        "int" | "int4" => "integer",
        "int8" => "bigint",
        "int2" => "smallint",
        "bool" => "boolean",
        "varchar" | "character varying" => "varchar",
        "char" | "character" => "char",
        "float8" | "double precision" => "double precision",
        "float4" | "real" => "real",
        "timestamptz" | "timestamp with time zone" => "timestamptz",
        "timestamp" | "timestamp without time zone" => "timestamp",
        "decimal" => "numeric",
        other => other,
    };
    format!("{canonical}{array}")
}

/// `double precision`, `character varying`, `timestamp with time zone`, `bit varying`: the
/// first word is part of the type, not an argument name.
fn starts_multi_word_type(text: &str, tokens: &[Token]) -> bool {
    let first = tokens[0].text(text).to_ascii_lowercase();
    let second = tokens[1].text(text).to_ascii_lowercase();
    matches!(
        (first.as_str(), second.as_str()),
        ("double", "precision")
            | ("character" | "char" | "bit" | "national", "varying")
            | ("timestamp" | "time", "with" | "without")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::lexer::{Flavor, tokenize};

    fn read_one(sql: &str) -> RoutineStatement {
        let flavor = Flavor {
            dollar_quotes: true,
            nested_comments: true,
            ..Flavor::default()
        };
        let tokens: Vec<Token> = tokenize(sql, flavor)
            .into_iter()
            .filter(|t| t.kind != TokenKind::Comment && t.kind != TokenKind::Semicolon)
            .collect();
        read(sql, &tokens, Syntax::Postgres)
            .expect("a routine statement")
            .remove(0)
    }

    #[test]
    fn function_with_named_arguments_language_and_dollar_body() {
        let sql = "CREATE OR REPLACE FUNCTION public.fetch_job(target_queue character varying[], \
                   OUT id bigint, n int DEFAULT 1) RETURNS SETOF jobs LANGUAGE plpgsql AS \
                   $f$ BEGIN RETURN; END; $f$";
        let RoutineStatement::Define(definition) = read_one(sql) else {
            panic!("not a definition")
        };
        assert_eq!(definition.name, "fetch_job");
        assert_eq!(definition.language, Language::Plpgsql);
        assert_eq!(
            definition.signature(),
            vec!["varchar[]".to_string(), "integer".to_string()]
        );
        assert_eq!(
            definition.arguments[0].name.as_deref(),
            Some("target_queue")
        );
        let body = definition.body.expect("a body");
        assert_eq!(&sql[body.start..body.end], " BEGIN RETURN; END; ");
    }

    #[test]
    fn unnamed_multi_word_types_are_not_names() {
        let RoutineStatement::Define(definition) = read_one(
            "CREATE FUNCTION f(double precision, timestamp with time zone) RETURNS int AS 'SELECT 1' LANGUAGE sql",
        ) else {
            panic!("not a definition")
        };
        assert!(definition.arguments.iter().all(|a| a.name.is_none()));
        assert_eq!(definition.language, Language::Sql);
        assert!(definition.body_single_quoted);
    }

    #[test]
    fn triggers_with_events_and_update_columns() {
        let sql = "CREATE TRIGGER jobs_notify AFTER INSERT OR UPDATE OF status, queue ON app.jobs \
                   FOR EACH ROW WHEN (NEW.status = 'todo') EXECUTE PROCEDURE notify_job()";
        let RoutineStatement::Trigger(trigger) = read_one(sql) else {
            panic!("not a trigger")
        };
        assert_eq!(trigger.table, "jobs");
        assert_eq!(trigger.timing, TriggerTiming::After);
        assert_eq!(
            trigger.events,
            vec![
                TriggerEvent::Insert,
                TriggerEvent::Update(vec!["status".into(), "queue".into()])
            ]
        );
        assert!(trigger.for_each_row);
        assert_eq!(trigger.function, "notify_job");
    }

    #[test]
    fn tsql_procedures_with_and_without_parentheses() {
        let flavor = Flavor {
            brackets: true,
            ..Flavor::default()
        };
        for sql in [
            "CREATE OR ALTER PROCEDURE dbo.pay @id int, @amount decimal(10, 2) = 0 OUTPUT AS BEGIN SELECT 1 END",
            "CREATE PROC pay (@id int, @amount decimal(10, 2) = 0 OUTPUT) WITH RECOMPILE AS SELECT 1",
        ] {
            let tokens: Vec<Token> = tokenize(sql, flavor)
                .into_iter()
                .filter(|t| t.kind != TokenKind::Comment)
                .collect();
            let Some(RoutineStatement::Define(definition)) =
                read(sql, &tokens, Syntax::Tsql).map(|mut found| found.remove(0))
            else {
                panic!("not a definition: {sql}")
            };
            assert_eq!(definition.name, "pay");
            assert_eq!(definition.language, Language::Tsql);
            let names: Vec<_> = definition
                .arguments
                .iter()
                .map(|a| {
                    (
                        a.name.clone().unwrap_or_default(),
                        a.type_name.clone(),
                        a.output,
                    )
                })
                .collect();
            assert_eq!(
                names,
                vec![
                    ("@id".into(), "integer".into(), false),
                    ("@amount".into(), "decimal ( 10 , 2 )".into(), true)
                ],
                "{sql}"
            );
            let body = definition.body.expect("a body");
            assert!(
                sql[body.start..].trim_start().starts_with("BEGIN")
                    || sql[body.start..].starts_with("SELECT")
            );
        }
    }

    #[test]
    fn drops_with_and_without_signatures() {
        assert_eq!(
            read_one("DROP FUNCTION IF EXISTS f(integer, text)"),
            RoutineStatement::Drop {
                name: "f".into(),
                signature: Some(vec!["integer".into(), "text".into()])
            }
        );
        assert_eq!(
            read_one("DROP TRIGGER t ON jobs"),
            RoutineStatement::DropTrigger {
                name: "t".into(),
                table: "jobs".into()
            }
        );
    }
}
