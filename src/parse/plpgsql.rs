//! Routine bodies → the SQL statements they run, in order, with their file-absolute ranges:
//! PL/pgSQL and SQL (PostgreSQL), MySQL / MariaDB stored programs, T-SQL and Oracle PL/SQL,
//! one reader for the control flow they share and a few words each engine adds.
//!
//! Control flow is flattened: a statement in any branch, loop or exception handler is a
//! statement the routine may run (a may-path), so the order of the text is the order of the
//! statements. Conditions (`IF`, `ELSIF`, `WHILE`, `CASE`, `RETURN`, assignments) become
//! `SELECT <expression>` when they can read data or call a routine. Each statement keeps the
//! branches it sits in (the `IF`, `ELSIF`, searched `CASE WHEN` and `WHILE` conditions that
//! must be true, and the earlier ones an `ELSE` needs untrue), so that a call passing constants
//! can leave out what they disable; T-SQL bodies, cut at lines, keep none. `SELECT ... INTO v` and
//! `RETURNING ... INTO v` lose their `INTO` (blanked, so offsets stay exact) and `v` becomes a
//! variable of the routine. `EXECUTE` of dynamic SQL cannot be read: its range is recorded.
//!
//! The body is read from tokens with the project's own lexer rather than PostgreSQL's
//! PL/pgSQL parser: that keeps byte-exact locations for every statement and needs no C
//! toolchain (see the module `routine` of the crate for what is analysed).

use std::collections::BTreeSet;

use super::lexer::{Flavor, Token, TokenKind, tokenize_range};
use crate::source::TextRange;

/// One SQL statement a body runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyStatement {
    /// The statement's text in the file (after `PERFORM`, or the expression of a condition).
    pub range: TextRange,
    /// Ranges inside `range` to blank out before parsing (`INTO` targets).
    pub blanks: Vec<TextRange>,
    /// Text to put in front: `SELECT ` for `PERFORM` and for expressions.
    pub prefix: &'static str,
    /// Text to put after: T-SQL conditions are read as `SELECT CASE WHEN <condition> THEN 1
    /// END`.
    pub suffix: &'static str,
    /// `SELECT a, t.b INTO x, y`: each selected column with the variable that receives it,
    /// for the items of the select list that are plain columns. Into one record `r`, the
    /// variables are its fields (`r.a`); `SELECT * INTO r` is `("*", "r")`.
    pub into: Vec<(String, String)>,
    /// The variables `INTO` assigns, in order (`x`, `y`).
    pub targets: Vec<String>,
    /// The branches the statement sits in, outermost first: it runs only when each holds.
    pub branches: Vec<Branch>,
    /// The body raises unless the statement finds a row (`SELECT ... INTO STRICT`, or `IF NOT
    /// FOUND THEN RAISE` right after it).
    pub must_find: bool,
    /// The body raises if the statement finds a row (`SELECT count(*) INTO n ...` followed by
    /// `IF n > 0 THEN RAISE`, `PERFORM ...` or `SELECT ... INTO` followed by `IF FOUND THEN
    /// RAISE`, or the condition of `IF EXISTS (...) THEN RAISE`).
    pub must_miss: bool,
    /// It runs on every call that gets past the exits before it (`IF ... THEN RETURN`): not
    /// inside a loop, a branch, or a block with exception handlers (which roll it back).
    pub certain: bool,
    /// The body returns if the statement finds a row (`PERFORM ...; IF FOUND THEN RETURN ...;
    /// END IF;` outside any branch or loop): what follows runs only when it found none.
    pub returns_if_found: bool,
    /// Every variable its `INTO` assigns is one the body declares and never reads (`SELECT
    /// sub_batch INTO sub ...; IF FOUND THEN ...` with `sub` unused): only whether it found a
    /// row can matter, not the values it read.
    pub unused_into: bool,
}

/// A branch of an `IF`, `CASE` or `WHILE`: its statements run only when the condition
/// [`Body::conditions`]`[condition]` is true, or, when `holds` is false, only when it is not
/// (false or NULL: the `ELSE` and the later `ELSIF`s of an `IF`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Branch {
    pub condition: usize,
    pub holds: bool,
}

/// What a routine body runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Body {
    pub statements: Vec<BodyStatement>,
    /// Declared variables, loop targets and `INTO` targets, lowercased.
    pub variables: BTreeSet<String>,
    /// The declared type of a variable, where it is a plain type (`bigint`, `numeric(10, 2)`;
    /// not `t.c%TYPE` or `record`).
    pub types: std::collections::BTreeMap<String, String>,
    /// The conditions of the body's `IF`s, `ELSIF`s, searched `CASE WHEN`s and `WHILE`s, each
    /// as `SELECT <condition>`, for [`BodyStatement::branches`].
    pub conditions: Vec<BodyStatement>,
    /// The conditions (indexes into `conditions`) evaluated inside a loop, which can take
    /// both ways in one call; every other branch is taken at most one way per call.
    pub repeated: BTreeSet<usize>,
    /// Names the body assigns (`x := ...`, `SET x = ...`, `INTO x`, `FETCH ... INTO x`,
    /// `EXECUTE ... INTO x`), lowercased; `r` for `r.f := ...`. An argument among them does
    /// not keep the value a call gives it.
    pub assigned: BTreeSet<String>,
    /// Each assignment of [`Body::assigned`] (and each loop target) with the offset of the
    /// name it assigns, in text order: what a condition reads of a variable was last assigned
    /// before it.
    pub assignments: Vec<(String, usize)>,
    /// Variables assigned only `x := nextval(...)` or a random uuid: each value they hold is
    /// new to every other transaction.
    pub fresh: BTreeSet<String>,
    /// `EXECUTE` of dynamic SQL.
    pub dynamic: Vec<TextRange>,
    /// `COMMIT` / `ROLLBACK` inside a procedure.
    pub transaction_control: Vec<TextRange>,
}

fn flavor() -> Flavor {
    Flavor {
        dollar_quotes: true,
        nested_comments: true,
        ..Flavor::default()
    }
}

fn tokens_of(text: &str, range: TextRange) -> Vec<Token> {
    tokenize_range(text, range, flavor())
}

/// The statements a MySQL / MariaDB stored program body runs: the same control flow as
/// PL/pgSQL with MySQL's words (`WHILE ... DO`, `REPEAT ... UNTIL`, labels, `DECLARE` inside
/// `BEGIN`, handlers, `SET v = ...`).
pub fn read_mysql_body(text: &str, body: TextRange) -> Body {
    let flavor = Flavor {
        mysql: true,
        ..Flavor::default()
    };
    let tokens = tokenize_range(text, body, flavor);
    let mut reader = Reader::new(text, &tokens, true);
    reader.run();
    let mut handlers = std::mem::take(&mut reader.handler_statements);
    let mut body = reader.finish();
    body.statements.append(&mut handlers);
    body
}

/// The statements an Oracle PL/SQL body runs: declarations up to `BEGIN` (no `DECLARE` in a
/// procedure or function), then the same control flow as PL/pgSQL; `:NEW.col` and `:OLD.col`
/// are read as `NEW.col` and `OLD.col`.
pub fn read_plsql_body(text: &str, body: TextRange) -> Body {
    let tokens = tokenize_range(text, body, Flavor::default());
    let mut reader = Reader::new(text, &tokens, false);
    reader.declarations();
    reader.run();
    let mut body = reader.finish();
    for statement in body.statements.iter_mut().chain(&mut body.conditions) {
        for token in &tokens {
            let inside = token.range.start >= statement.range.start
                && token.range.end <= statement.range.end;
            let record = token.text(text).to_ascii_lowercase();
            if inside && token.kind == TokenKind::Param && (record == ":new" || record == ":old") {
                statement
                    .blanks
                    .push(TextRange::new(token.range.start, token.range.start + 1));
            }
        }
    }
    body
}

/// The statements a T-SQL procedure, function or trigger body runs. T-SQL needs no semicolons:
/// statements are cut at semicolons and before every line that starts with a statement
/// keyword, as in transaction files. `IF` and `WHILE` conditions are read as `SELECT CASE WHEN
/// <condition> THEN 1 END`; `DECLARE @v ... = <expression>` and `SET @v = <expression>` as
/// `SELECT <expression>`; `EXEC` of a procedure is a call, of a string dynamic SQL.
pub fn read_tsql_body(text: &str, body: TextRange) -> Body {
    let flavor = Flavor {
        brackets: true,
        ..Flavor::default()
    };
    let tokens = tokenize_range(text, body, flavor);
    let mut result = Body::default();
    for piece in tokens.split(|token| token.kind == TokenKind::Semicolon) {
        let (Some(first), Some(last)) = (piece.first(), piece.last()) else {
            continue;
        };
        let chunk = super::split::Chunk {
            range: TextRange::new(first.range.start, last.range.end),
            tokens: piece.to_vec(),
            leading_comments: Vec::new(),
            unterminated: false,
        };
        let lines =
            super::split::split_tsql_lines(text, &chunk, &[]).unwrap_or_else(|| vec![chunk]);
        for line in lines {
            tsql_statement(text, &line.tokens, &mut result);
        }
    }
    result
}

/// Words that start a T-SQL statement, where a condition ends.
const TSQL_STATEMENTS: &[&str] = &[
    "select",
    "insert",
    "update",
    "delete",
    "merge",
    "exec",
    "execute",
    "set",
    "return",
    "throw",
    "raiserror",
    "print",
    "begin",
    "break",
    "continue",
    "goto",
    "declare",
    "if",
    "while",
    "with",
];

fn tsql_statement(text: &str, tokens: &[Token], body: &mut Body) {
    let word = |at: usize| {
        tokens
            .get(at)
            .filter(|token| token.kind == TokenKind::Word)
            .map(|token| token.text(text).to_ascii_lowercase())
    };
    let range = |from: usize, to: usize| {
        (from < to && to <= tokens.len())
            .then(|| TextRange::new(tokens[from].range.start, tokens[to - 1].range.end))
    };
    let depth_zero_word = |from: usize, words: &[&str]| {
        let mut depth = 0usize;
        (from..tokens.len())
            .find(|&at| {
                match tokens[at].text(text) {
                    "(" => depth += 1,
                    ")" => depth = depth.saturating_sub(1),
                    _ => {}
                }
                depth == 0 && word(at).is_some_and(|w| words.contains(&w.as_str()))
            })
            .unwrap_or(tokens.len())
    };
    // `= (SELECT ...)`: the query itself, so that its table hints (`WITH (UPDLOCK)`) stay on
    // its own read.
    let expression = |from: usize| -> (usize, usize, &'static str) {
        let to = tokens.len();
        let wrapped = to >= from + 3
            && tokens[from].text(text) == "("
            && tokens[to - 1].text(text) == ")"
            && word(from + 1).as_deref() == Some("select");
        if wrapped {
            (from + 1, to - 1, "")
        } else {
            (from, to, "SELECT ")
        }
    };
    let mut push = |range: Option<TextRange>, prefix: &'static str, suffix: &'static str| {
        if let Some(range) = range {
            body.statements.push(BodyStatement {
                range,
                blanks: Vec::new(),
                prefix,
                suffix,
                into: Vec::new(),
                targets: Vec::new(),
                branches: Vec::new(),
                must_find: false,
                must_miss: false,
                certain: false,
                returns_if_found: false,
                unused_into: false,
            });
        }
    };
    let Some(first) = word(0) else {
        return;
    };
    match first.as_str() {
        "begin"
            if matches!(
                word(1).as_deref(),
                Some("tran" | "transaction" | "distributed")
            ) => {}
        "begin" | "end" | "else" => tsql_statement(text, &tokens[1..], body),
        "if" | "while" => {
            let end = depth_zero_word(1, TSQL_STATEMENTS);
            push(range(1, end), "SELECT CASE WHEN ", " THEN 1 END");
            if end < tokens.len() {
                tsql_statement(text, &tokens[end..], body);
            }
        }
        "declare" => {
            if let Some(cursor) =
                (1..tokens.len()).find(|&at| word(at).as_deref() == Some("cursor"))
            {
                let query = depth_zero_word(cursor, &["select", "with"]);
                push(range(query, tokens.len()), "", "");
            } else if let Some(at) = (1..tokens.len()).find(|&at| tokens[at].text(text) == "=") {
                let (from, to, prefix) = expression(at + 1);
                push(range(from, to), prefix, "");
            }
        }
        "set" => {
            let assigns = tokens.get(1).is_some_and(|t| t.kind == TokenKind::Param);
            if assigns && let Some(at) = (2..tokens.len()).find(|&at| tokens[at].text(text) == "=")
            {
                let (from, to, prefix) = expression(at + 1);
                push(range(from, to), prefix, "");
            }
        }
        "exec" | "execute" => {
            let dynamic = tokens.get(1).is_some_and(|t| {
                t.kind == TokenKind::Param
                    || t.kind == TokenKind::String
                    || t.text(text) == "("
                    || t.text(text).eq_ignore_ascii_case("sp_executesql")
            });
            if dynamic {
                if let Some(range) = range(0, tokens.len()) {
                    body.dynamic.push(range);
                }
            } else {
                push(range(0, tokens.len()), "", "");
            }
        }
        "return" => push(range(1, tokens.len()), "SELECT ", ""),
        "select" | "insert" | "update" | "delete" | "merge" | "with" => {
            push(range(0, tokens.len()), "", "");
        }
        _ => {}
    }
}

/// The statements of a `LANGUAGE sql` body: its top-level statements.
pub fn read_sql_body(text: &str, body: TextRange) -> Body {
    let tokens = tokens_of(text, body);
    let mut result = Body::default();
    for statement in tokens.split(|token| token.kind == TokenKind::Semicolon) {
        if let (Some(first), Some(last)) = (statement.first(), statement.last()) {
            result.statements.push(BodyStatement {
                range: TextRange::new(first.range.start, last.range.end),
                blanks: Vec::new(),
                prefix: "",
                suffix: "",
                into: Vec::new(),
                targets: Vec::new(),
                branches: Vec::new(),
                must_find: false,
                must_miss: false,
                certain: true,
                returns_if_found: false,
                unused_into: false,
            });
        }
    }
    result
}

/// The statements a PL/pgSQL body runs.
pub fn read_plpgsql_body(text: &str, body: TextRange) -> Body {
    let tokens = tokens_of(text, body);
    let mut reader = Reader::new(text, &tokens, false);
    reader.run();
    reader.finish()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HandlerEnd {
    Block(usize),
    Statement(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    Begin {
        handlers: bool,
    },
    If,
    Loop,
    /// `simple`: `CASE selector WHEN value`, whose branches isolint does not read as
    /// conditions; else `CASE WHEN condition`.
    Case {
        simple: bool,
    },
}

/// A block the reader is inside.
#[derive(Debug, Clone)]
struct Open {
    block: Block,
    /// What a statement of the block's current branch runs under.
    branches: Vec<Branch>,
    /// The conditions of the block's branches so far (`None`: one isolint does not read),
    /// which its later branches and its `ELSE` run without.
    conditions: Vec<Option<usize>>,
    /// How many statements the body had when the block opened.
    first_statement: usize,
    /// An `IF` whose only branch so far ends the routine (`RETURN`, or a `RAISE` that aborts):
    /// what follows the `END IF` runs only when its condition is not true.
    exits: bool,
    /// The `IF` has an `ELSE`.
    has_else: bool,
}

/// Words that start a SQL statement inside a body.
const SQL_LEADERS: &[&str] = &[
    "select", "with", "insert", "update", "delete", "merge", "values", "table", "lock", "call",
    "create", "alter", "drop", "truncate", "analyze", "notify", "listen", "unlisten", "refresh",
    "grant", "revoke", "comment", "copy", "reset", "set", "do", "cluster", "vacuum", "reindex",
];

/// Statements that read no data and call nothing isolint can follow.
const SKIPPED: &[&str] = &[
    "raise", "assert", "null", "move", "close", "exit", "continue",
];

struct Reader<'a> {
    text: &'a str,
    tokens: &'a [Token],
    index: usize,
    blocks: Vec<Open>,
    body: Body,
    /// MySQL's stored program syntax rather than PL/pgSQL's.
    mysql: bool,
    /// Declared cursors: name → the token where its query starts. The query is read where
    /// the cursor opens (`OPEN c`, `FOR r IN c LOOP`), not where it is declared.
    cursors: std::collections::BTreeMap<String, usize>,
    /// Statements of MySQL condition handlers: they run after a statement fails, so they go
    /// after the body's other statements rather than where they are declared.
    handler_statements: Vec<BodyStatement>,
    /// Inside a handler: the block depth its `BEGIN ... END` ends at, or the token index of
    /// the semicolon ending its one statement.
    in_handler: Option<HandlerEnd>,
    /// Names assigned something other than a fresh value (see [`Body::fresh`]).
    not_fresh: BTreeSet<String>,
    /// The statement `FOUND` describes, when it is a `SELECT ... INTO` or a `PERFORM` (the
    /// lookups a `NOT FOUND` guard can be about); `None` after any other statement that sets it.
    found_by: Option<usize>,
    /// The last statement when it is an `INSERT ... VALUES ... ON CONFLICT DO NOTHING
    /// RETURNING ... INTO`, with its targets: `FOUND` is whether it inserted, and each target
    /// is NULL when its check of the key found a row.
    inserted_by: Option<(usize, Vec<String>)>,
    /// The tokens that declare a variable (`sub record;`), by name.
    declarations: Vec<(String, usize)>,
}

impl<'a> Reader<'a> {
    fn new(text: &'a str, tokens: &'a [Token], mysql: bool) -> Self {
        Reader {
            text,
            tokens,
            index: 0,
            blocks: Vec::new(),
            body: Body::default(),
            mysql,
            handler_statements: Vec::new(),
            in_handler: None,
            cursors: Default::default(),
            not_fresh: BTreeSet::new(),
            found_by: None,
            inserted_by: None,
            declarations: Vec::new(),
        }
    }

    /// Records that the body assigns `name`; `fresh` when the value is new to every other
    /// transaction (`nextval(...)`).
    fn assign(&mut self, name: String, fresh: bool, at: usize) {
        if let Some(token) = self.tokens.get(at) {
            self.body
                .assignments
                .push((name.clone(), token.range.start));
        }
        if fresh {
            self.body.fresh.insert(name.clone());
        } else {
            self.not_fresh.insert(name.clone());
        }
        self.body.assigned.insert(name);
    }

    /// The body with [`Body::fresh`] final.
    fn finish(mut self) -> Body {
        let not_fresh = std::mem::take(&mut self.not_fresh);
        self.body.fresh.retain(|name| !not_fresh.contains(name));
        self.mark_unused_into();
        self.body
    }

    /// Sets [`BodyStatement::unused_into`]: a target is unused when it is declared once and
    /// no token of the body names it but its declaration and this statement's `INTO`.
    fn mark_unused_into(&mut self) {
        let (text, tokens) = (self.text, self.tokens);
        let declarations = &self.declarations;
        let unused = |name: &str, into: &[TextRange]| {
            let mut declared = declarations.iter().filter(|(declared, _)| declared == name);
            let (Some((_, at)), None) = (declared.next(), declared.next()) else {
                return false;
            };
            !tokens.iter().enumerate().any(|(index, token)| {
                index != *at
                    && token.ident(text).as_deref() == Some(name)
                    && !into.iter().any(|blank| {
                        blank.start <= token.range.start && token.range.end <= blank.end
                    })
            })
        };
        for statement in &mut self.body.statements {
            statement.unused_into = !statement.targets.is_empty()
                && statement.targets.iter().all(|target| {
                    let base = target.split('.').next().unwrap_or(target);
                    unused(base, &statement.blanks)
                });
        }
    }

    /// Whether the tokens from `from` to `to` are a call that makes a fresh value
    /// (`nextval('s')`, `gen_random_uuid()`), possibly cast.
    fn is_fresh_call(&self, from: usize, to: usize) -> bool {
        let Some(name) = self.word(from) else {
            return false;
        };
        if name == "identity"
            || !crate::catalog::generates_fresh_values(&name)
            || self.punct(from + 1) != Some("(")
        {
            return false;
        }
        let mut depth = 0usize;
        for at in from + 1..to {
            match self.punct(at) {
                Some("(") => depth += 1,
                Some(")") => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return at + 1 == to || self.punct(at + 1) == Some(":");
                    }
                }
                _ => {}
            }
        }
        false
    }

    fn emit(&mut self, mut statement: BodyStatement) {
        statement.branches = self
            .blocks
            .iter()
            .flat_map(|open| open.branches.iter().copied())
            .collect();
        statement.certain = self.in_handler.is_none()
            && self
                .blocks
                .iter()
                .all(|open| open.block == Block::Begin { handlers: false });
        if let Some(HandlerEnd::Statement(end)) = self.in_handler
            && self.index > end
        {
            self.in_handler = None;
        }
        match self.in_handler {
            Some(_) => self.handler_statements.push(statement),
            None => self.body.statements.push(statement),
        }
    }

    fn open(&mut self, block: Block) {
        self.blocks.push(Open {
            block,
            branches: Vec::new(),
            conditions: Vec::new(),
            first_statement: self.body.statements.len(),
            exits: false,
            has_else: false,
        });
    }

    /// A statement that ends the routine (`RETURN`, a `RAISE` that aborts) directly in the
    /// innermost block.
    fn exit(&mut self) {
        if let Some(open) = self.blocks.last_mut() {
            open.exits = true;
        }
    }

    /// The innermost block ends. After `IF c THEN ... RETURN; END IF;` (one branch, no `ELSE`,
    /// ending the routine) the enclosing block's later statements run only when `c` was not
    /// true. An `EXCEPTION` section starts without those conditions: a handler runs after a
    /// raise.
    fn close(&mut self) {
        let Some(closed) = self.blocks.pop() else {
            return;
        };
        let exits_unless = match (closed.block, closed.conditions.as_slice()) {
            (Block::If, [Some(condition)]) if closed.exits && !closed.has_else => Some(*condition),
            _ => None,
        };
        if let (Some(condition), Some(open)) = (exits_unless, self.blocks.last_mut()) {
            open.branches.push(Branch {
                condition,
                holds: false,
            });
        }
    }

    fn innermost(&self) -> Option<Block> {
        self.blocks.last().map(|open| open.block)
    }

    /// The next branch of the innermost block, guarded by the condition from token `from` to
    /// `to`: its statements run when the condition is true and the earlier branches' were
    /// not. The condition itself is read (as a query, if it reads data) where it is tested.
    fn branch(&mut self, from: usize, to: usize) {
        self.else_branch();
        self.expression(from, to);
        let condition = self.range(from, to).map(|range| {
            self.body.conditions.push(BodyStatement {
                range,
                blanks: Vec::new(),
                prefix: "SELECT ",
                suffix: "",
                into: Vec::new(),
                targets: Vec::new(),
                branches: Vec::new(),
                must_find: false,
                must_miss: false,
                certain: false,
                returns_if_found: false,
                unused_into: false,
            });
            self.body.conditions.len() - 1
        });
        if let Some(condition) = condition
            && self.blocks.iter().any(|open| open.block == Block::Loop)
        {
            self.body.repeated.insert(condition);
        }
        if let Some(open) = self.blocks.last_mut() {
            open.branches.extend(condition.map(|condition| Branch {
                condition,
                holds: true,
            }));
            open.conditions.push(condition);
        }
    }

    /// The innermost block's next branch runs when none of its earlier conditions was true.
    fn else_branch(&mut self) {
        if let Some(open) = self.blocks.last_mut() {
            open.branches = open
                .conditions
                .iter()
                .flatten()
                .map(|&condition| Branch {
                    condition,
                    holds: false,
                })
                .collect();
        }
    }

    /// Records the names the tokens from `from` to `to` hold as assigned: for statements
    /// that assign some of them (`FETCH c INTO x`, `EXECUTE ... INTO x`).
    fn assigns_any(&mut self, from: usize, to: usize) {
        for at in from..to.min(self.tokens.len()) {
            if let Some(name) = self.tokens[at].ident(self.text) {
                self.assign(name, false, at);
            }
        }
    }

    fn word(&self, at: usize) -> Option<String> {
        let token = self.tokens.get(at)?;
        (token.kind == TokenKind::Word).then(|| token.text(self.text).to_ascii_lowercase())
    }

    fn is(&self, at: usize, word: &str) -> bool {
        self.tokens
            .get(at)
            .is_some_and(|token| token.is_word(self.text, word))
    }

    /// Whether the statements from `at` are assignments (`msg := ...;`) and then a `RAISE` that
    /// aborts (`EXCEPTION`, or no level), as in `IF NOT FOUND THEN msg := ...; RAISE ...`.
    /// Whether the `IF` condition starting at `at` raises when statement `found_by` found a
    /// row: `IF FOUND THEN RAISE` after a lookup, or `IF n > 0 THEN RAISE` (also `n <> 0`, `n
    /// != 0`, `n >= 1`, `0 < n`) after `SELECT count(*) INTO n`.
    fn raises_if_found(&self, at: usize, found_by: usize) -> bool {
        let then = self.find(at, &["then"]);
        let condition: String = (at..then)
            .filter_map(|index| self.tokens.get(index))
            .map(|token| token.text(self.text).to_ascii_lowercase())
            .collect();
        let Some(statement) = self.body.statements.get(found_by) else {
            return false;
        };
        let counted = match statement.targets.as_slice() {
            [target] => {
                let text = self.text[statement.range.start..statement.range.end]
                    .to_ascii_lowercase()
                    .split_whitespace()
                    .collect::<String>();
                (text.starts_with("selectcount(*)") || text.starts_with("selectcount(1)"))
                    .then_some(target)
            }
            _ => None,
        };
        let found = condition == "found"
            || counted.is_some_and(|n| {
                [
                    format!("{n}>0"),
                    format!("{n}<>0"),
                    format!("{n}!=0"),
                    format!("{n}>=1"),
                    format!("0<{n}"),
                ]
                .contains(&condition)
            });
        found && self.raises_after_assignments(then + 1)
    }

    /// `IF FOUND THEN RETURN ...; END IF;` from the condition at `at`, in a block that is no
    /// branch or loop.
    fn returns_if_found(&self, at: usize) -> bool {
        let then = self.find(at, &["then"]);
        let Some(end) = self
            .is(then + 1, "return")
            .then(|| self.find(then + 1, &[]))
        else {
            return false;
        };
        then == at + 1
            && self.is(at, "found")
            && self.is(end + 1, "end")
            && self.is(end + 2, "if")
            && self.blocks[..self.blocks.len().saturating_sub(1)]
                .iter()
                .all(|open| open.block == Block::Begin { handlers: false })
    }

    /// `IF NOT FOUND THEN RETURN ...; END IF;` or `IF v IS NULL THEN RETURN ...; END IF;` for
    /// one of the `targets` an insert returned into, from the condition at `at`, in a block
    /// that is no branch or loop.
    fn returns_unless_inserted(&self, at: usize, targets: &[String]) -> bool {
        let then = self.find(at, &["then"]);
        let condition: Vec<String> = (at..then)
            .filter_map(|index| self.tokens.get(index))
            .map(|token| token.text(self.text).to_ascii_lowercase())
            .collect();
        let tested = match condition.as_slice() {
            [not, found] => not == "not" && found == "found",
            [target, is, null] => is == "is" && null == "null" && targets.contains(target),
            _ => false,
        };
        let Some(end) = self
            .is(then + 1, "return")
            .then(|| self.find(then + 1, &[]))
        else {
            return false;
        };
        tested
            && self.is(end + 1, "end")
            && self.is(end + 2, "if")
            && self.blocks[..self.blocks.len().saturating_sub(1)]
                .iter()
                .all(|open| open.block == Block::Begin { handlers: false })
    }

    /// The `)` closing the `(` at `open`.
    fn closing(&self, open: usize) -> Option<usize> {
        let mut depth = 0usize;
        for at in open..self.tokens.len() {
            match self.punct(at) {
                Some("(") => depth += 1,
                Some(")") => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        return Some(at);
                    }
                }
                _ => {}
            }
        }
        None
    }

    fn raises_after_assignments(&self, mut at: usize) -> bool {
        loop {
            if self.is(at, "raise") {
                return !["debug", "log", "info", "notice", "warning"]
                    .iter()
                    .any(|level| self.is(at + 1, level));
            }
            let assignment = self.punct(at + 1) == Some(":") && self.punct(at + 2) == Some("=");
            if !assignment {
                return false;
            }
            let end = self.find(at, &[]);
            if self.tokens.get(end).is_none() {
                return false;
            }
            at = end + 1;
        }
    }

    fn punct(&self, at: usize) -> Option<&str> {
        let token = self.tokens.get(at)?;
        (token.kind == TokenKind::Punct).then(|| token.text(self.text))
    }

    /// The index of the first of `stops` at parenthesis and CASE depth 0 from `from`, or of
    /// the next semicolon (or the end) when none comes first.
    fn find(&self, from: usize, stops: &[&str]) -> usize {
        let mut depth = 0usize;
        let mut case_depth = 0usize;
        let mut at = from;
        while let Some(token) = self.tokens.get(at) {
            match token.kind {
                TokenKind::Semicolon => return at,
                TokenKind::Punct => match token.text(self.text) {
                    "(" | "[" => depth += 1,
                    ")" | "]" => depth = depth.saturating_sub(1),
                    _ => {}
                },
                TokenKind::Word if depth == 0 => {
                    let word = token.text(self.text).to_ascii_lowercase();
                    if case_depth == 0 && stops.contains(&word.as_str()) {
                        return at;
                    }
                    match word.as_str() {
                        "case" => case_depth += 1,
                        "end" => case_depth = case_depth.saturating_sub(1),
                        _ => {}
                    }
                }
                _ => {}
            }
            at += 1;
        }
        at
    }

    /// Moves past the next semicolon.
    fn skip_statement(&mut self) {
        self.index = self.find(self.index, &[]) + 1;
    }

    fn range(&self, from: usize, to: usize) -> Option<TextRange> {
        let first = self.tokens.get(from)?;
        let last = self.tokens.get(to.checked_sub(1)?)?;
        (from < to).then(|| TextRange::new(first.range.start, last.range.end))
    }

    /// An expression from token `from` to `to` (exclusive), read as `SELECT <expression>` when
    /// it can read data or call a routine: it holds a subquery or a function call.
    fn expression(&mut self, from: usize, to: usize) {
        let Some(range) = self.range(from, to) else {
            return;
        };
        let reads = (from..to).any(|at| {
            self.is(at, "select") || (self.word(at).is_some() && self.punct(at + 1) == Some("("))
        });
        if reads {
            self.emit(BodyStatement {
                range,
                blanks: Vec::new(),
                prefix: "SELECT ",
                suffix: "",
                into: Vec::new(),
                targets: Vec::new(),
                branches: Vec::new(),
                must_find: false,
                must_miss: false,
                certain: false,
                returns_if_found: false,
                unused_into: false,
            });
        }
    }

    /// A SQL statement from `from` up to the next semicolon, its PL/pgSQL `INTO` blanked.
    fn sql_statement(&mut self, from: usize, prefix: &'static str) {
        let end = self.find(from, &[]);
        let Some(range) = self.range(from, end) else {
            self.index = end + 1;
            return;
        };
        let mut blanks = Vec::new();
        let mut into = Vec::new();
        let mut all_targets = Vec::new();
        let mut must_find = false;
        let mut depth = 0usize;
        let mut at = from;
        while at < end {
            match self.punct(at) {
                Some("(") => depth += 1,
                Some(")") => depth = depth.saturating_sub(1),
                _ => {}
            }
            // In `INSERT INTO t` and `MERGE INTO t` the INTO names the table.
            let names_table = at > from && (self.is(at - 1, "insert") || self.is(at - 1, "merge"));
            if depth == 0
                && self.is(at, "into")
                && !names_table
                && let Some((blank, targets)) = self.read_into_targets(at, end)
            {
                must_find |= self.is(at + 1, "strict") && self.is(from, "select");
                blanks.push(blank);
                all_targets.extend(targets.iter().cloned());
                if self.is(from, "select") {
                    let columns = self.plain_columns(from + 1, at);
                    if at == from + 2 && self.punct(from + 1) == Some("*") {
                        // `SELECT * INTO r`: every column, into the record's field of its name.
                        into = targets
                            .into_iter()
                            .map(|record| ("*".to_string(), record))
                            .take(1)
                            .collect();
                    } else if columns.len() == targets.len() {
                        into = columns
                            .into_iter()
                            .zip(targets)
                            .filter_map(|(column, target)| Some((column?, target)))
                            .collect();
                    } else if let [record] = targets.as_slice() {
                        // `SELECT a, t.b INTO r`: a record, whose fields are named after the
                        // columns.
                        into = columns
                            .into_iter()
                            .flatten()
                            .map(|column| {
                                let field = format!("{record}.{column}");
                                (column, field)
                            })
                            .collect();
                    }
                }
            }
            at += 1;
        }
        // `SELECT ... INTO` and `PERFORM` set FOUND to whether they found a row; so do other
        // statements, which a `NOT FOUND` guard is then not about.
        let lookup =
            !self.mysql && (prefix == "SELECT " || (self.is(from, "select") && !blanks.is_empty()));
        let has = |first: &str, second: &str| {
            (from..end).any(|at| self.is(at, first) && self.is(at + 1, second))
        };
        let inserts_unless_found = !self.mysql
            && self.is(from, "insert")
            && has("on", "conflict")
            && has("do", "nothing")
            && (from..end).any(|at| self.is(at, "values"))
            && !(from..end).any(|at| self.is(at, "select"))
            && !all_targets.is_empty();
        let targets = all_targets.clone();
        self.emit(BodyStatement {
            range,
            blanks,
            prefix,
            suffix: "",
            into,
            targets: all_targets,
            branches: Vec::new(),
            must_find,
            must_miss: false,
            certain: false,
            returns_if_found: false,
            unused_into: false,
        });
        self.found_by = lookup.then(|| self.body.statements.len().saturating_sub(1));
        self.inserted_by =
            inserts_unless_found.then(|| (self.body.statements.len().saturating_sub(1), targets));
        self.index = end + 1;
    }

    /// Each item of a select list from `from` to `to`: its column when it is a plain, possibly
    /// qualified, column name (`None` for an expression). Commas inside parentheses separate
    /// nothing.
    fn plain_columns(&self, from: usize, to: usize) -> Vec<Option<String>> {
        let mut items = vec![Vec::new()];
        let mut depth = 0usize;
        for token in &self.tokens[from..to] {
            let punct = (token.kind == TokenKind::Punct).then(|| token.text(self.text));
            match punct {
                Some("(") => depth += 1,
                Some(")") => depth = depth.saturating_sub(1),
                Some(",") if depth == 0 => {
                    items.push(Vec::new());
                    continue;
                }
                _ => {}
            }
            if let Some(item) = items.last_mut() {
                item.push(token);
            }
        }
        items
            .iter()
            .map(|item| match item.as_slice() {
                [name] => name.ident(self.text),
                [_, dot, name] if dot.text(self.text) == "." => name.ident(self.text),
                _ => None,
            })
            .collect()
    }

    /// `INTO [STRICT] a, r.b`: the range to blank, and the targets, which become variables.
    fn read_into_targets(&mut self, into: usize, end: usize) -> Option<(TextRange, Vec<String>)> {
        let mut at = into + 1;
        if self.is(at, "strict") {
            at += 1;
        }
        let mut last = None;
        let mut targets = Vec::new();
        while at < end {
            let token = self.tokens[at];
            if !matches!(token.kind, TokenKind::Word | TokenKind::QuotedIdent) {
                break;
            }
            if let Some(name) = token.ident(self.text) {
                self.body.variables.insert(name.clone());
                self.assign(name.clone(), false, at);
                targets.push(name);
            }
            at += 1;
            while self.punct(at) == Some(".") && at + 1 < end {
                at += 2;
            }
            last = Some(at - 1);
            if self.punct(at) == Some(",") {
                at += 1;
            } else {
                break;
            }
        }
        let last = last?;
        Some((
            TextRange::new(self.tokens[into].range.start, self.tokens[last].range.end),
            targets,
        ))
    }

    fn dynamic(&mut self, from: usize) {
        let end = self.find(from, &[]);
        if let Some(range) = self.range(from, end) {
            self.body.dynamic.push(range);
        }
        self.assigns_any(from, end);
    }

    /// Records the plain type of the declaration `name [CONSTANT] type [NOT NULL] ...` that
    /// runs from token `from` to `to`.
    fn declared_type(&mut self, from: usize, to: usize) {
        let Some(name) = self.tokens.get(from).and_then(|t| t.ident(self.text)) else {
            return;
        };
        let mut words = Vec::new();
        for at in from + 1..to {
            let word = self.tokens[at].text(self.text).to_ascii_lowercase();
            if matches!(word.as_str(), "not" | "collate") {
                break;
            }
            if word != "constant" {
                words.push(word);
            }
        }
        let plain = !words.is_empty()
            && !words
                .iter()
                .any(|w| w.contains('%') || w == "record" || w.starts_with("any"));
        if plain {
            self.body.types.insert(name, words.join(" "));
        }
    }

    fn declarations(&mut self) {
        while self.index < self.tokens.len() && !self.is(self.index, "begin") {
            let end = self.find(self.index, &[]);
            if let Some(name) = self.tokens[self.index].ident(self.text) {
                self.declarations.push((name.clone(), self.index));
                self.body.variables.insert(name);
            }
            // `c CURSOR FOR <query>` (`CURSOR c IS <query>` in PL/SQL): the query is read
            // when the cursor opens.
            let cursor_name = if self.is(self.index, "cursor") {
                self.tokens.get(self.index + 1)
            } else if self.is(self.index + 1, "cursor") || self.is(self.index + 2, "cursor") {
                self.tokens.get(self.index)
            } else {
                None
            };
            if let Some(name) = cursor_name.and_then(|token| token.ident(self.text)) {
                let query = self.find(self.index, &["for", "is"]);
                if query < end {
                    self.cursors.insert(name, query + 1);
                }
                self.index = end + 1;
                continue;
            }
            let default = (self.index..end).find(|&at| {
                self.is(at, "default")
                    || (self.punct(at) == Some(":") && self.punct(at + 1) == Some("="))
                    || self.punct(at) == Some("=")
            });
            self.declared_type(self.index, default.unwrap_or(end));
            if let Some(at) = default {
                let from = if self.punct(at) == Some(":") {
                    at + 2
                } else {
                    at + 1
                };
                // An initial value is an assignment (a caller's value, or a fresh one).
                if let Some(name) = self.tokens[self.index].ident(self.text) {
                    let fresh = self.is_fresh_call(from, end);
                    if fresh {
                        self.body.fresh.insert(name);
                    } else {
                        self.not_fresh.insert(name);
                    }
                }
                self.expression(from, end);
            }
            self.index = end + 1;
        }
    }

    fn run(&mut self) {
        while self.index < self.tokens.len() {
            // `<<label>>`
            if self.punct(self.index) == Some("<") && self.punct(self.index + 1) == Some("<") {
                self.index += 2;
                while self.index < self.tokens.len() && self.punct(self.index) != Some(">") {
                    self.index += 1;
                }
                self.index += 2;
                continue;
            }
            if self.tokens[self.index].kind == TokenKind::Semicolon {
                self.index += 1;
                continue;
            }
            let Some(word) = self.word(self.index) else {
                self.assignment_or_skip();
                continue;
            };
            let next = self.index + 1;
            if self.mysql && self.mysql_statement(&word) {
                continue;
            }
            match word.as_str() {
                "declare" => {
                    self.index = next;
                    self.declarations();
                }
                "begin" => {
                    self.open(Block::Begin { handlers: false });
                    self.index = next;
                }
                "exception" => {
                    if let Some(Open {
                        block: Block::Begin { handlers },
                        first_statement,
                        ..
                    }) = self.blocks.last_mut()
                    {
                        *handlers = true;
                        // A handler may catch the raise: the block's lookups need not find.
                        let first = *first_statement;
                        for statement in self.body.statements.iter_mut().skip(first) {
                            statement.must_find = false;
                            statement.must_miss = false;
                            statement.certain = false;
                            statement.returns_if_found = false;
                        }
                    }
                    // A handler runs after a raise: not under the exits before it.
                    if let Some(open) = self.blocks.last_mut()
                        && matches!(open.block, Block::Begin { .. })
                    {
                        open.branches.clear();
                    }
                    self.found_by = None;
                    self.inserted_by = None;
                    self.index = next;
                }
                "end" => {
                    self.close();
                    if self.in_handler == Some(HandlerEnd::Block(self.blocks.len())) {
                        self.in_handler = None;
                    }
                    self.skip_statement();
                }
                "if" | "elsif" | "elseif" => {
                    if word == "if" {
                        self.open(Block::If);
                        // `IF NOT FOUND THEN RAISE`: the statement before must find its row.
                        let raises_unless_found = self.is(next, "not")
                            && self.is(next + 1, "found")
                            && self.is(next + 2, "then")
                            && self.raises_after_assignments(next + 3);
                        if raises_unless_found
                            && let Some(found_by) = self.found_by
                            && let Some(statement) = self.body.statements.get_mut(found_by)
                        {
                            statement.must_find = true;
                        }
                        if let Some(found_by) = self.found_by
                            && self.raises_if_found(next, found_by)
                            && let Some(statement) = self.body.statements.get_mut(found_by)
                        {
                            statement.must_miss = true;
                        }
                        // `INSERT ... ON CONFLICT DO NOTHING RETURNING id INTO v; IF v IS NULL
                        // THEN RETURN`: the routine goes on only when the insert's check of the
                        // key found no row.
                        if let Some((inserted_by, targets)) = &self.inserted_by
                            && self.returns_unless_inserted(next, targets)
                            && let Some(statement) = self.body.statements.get_mut(*inserted_by)
                            && statement.certain
                        {
                            statement.returns_if_found = true;
                        }
                        if let Some(found_by) = self.found_by
                            && self.returns_if_found(next)
                            && let Some(statement) = self.body.statements.get_mut(found_by)
                            && statement.certain
                        {
                            statement.returns_if_found = true;
                        }
                    }
                    let statements_before = self.body.statements.len();
                    let then = self.find(next, &["then"]);
                    if self.innermost() == Some(Block::If) {
                        self.branch(next, then);
                    } else {
                        self.expression(next, then);
                    }
                    // `IF EXISTS (SELECT ...) THEN RAISE`: the condition's query finds nothing
                    // when the body goes on.
                    if word == "if"
                        && self.is(next, "exists")
                        && self.punct(next + 1) == Some("(")
                        && self.closing(next + 1) == Some(then - 1)
                        && self.raises_after_assignments(then + 1)
                        && self.body.statements.len() == statements_before + 1
                        && let Some(condition) = self.body.statements.last_mut()
                    {
                        condition.must_miss = true;
                    }
                    self.index = then + 1;
                }
                "else" => {
                    if matches!(self.innermost(), Some(Block::If | Block::Case { .. })) {
                        self.else_branch();
                        if let Some(open) = self.blocks.last_mut() {
                            open.has_else = true;
                        }
                    }
                    self.index = next;
                }
                "when" => {
                    let then = self.find(next, &["then"]);
                    // Exception handlers name conditions, not expressions.
                    match self.innermost() {
                        Some(Block::Case { simple: false }) => self.branch(next, then),
                        Some(Block::Case { simple: true }) => {
                            self.else_branch();
                            self.expression(next, then);
                            if let Some(open) = self.blocks.last_mut() {
                                open.conditions.push(None);
                            }
                        }
                        _ => {}
                    }
                    self.index = then + 1;
                }
                "case" => {
                    let when = self.find(next, &["when"]);
                    self.expression(next, when);
                    self.open(Block::Case {
                        simple: when > next,
                    });
                    self.index = when;
                }
                "loop" => {
                    self.open(Block::Loop);
                    self.index = next;
                }
                "while" => {
                    self.open(Block::Loop);
                    let body = self.find(next, &["loop"]);
                    self.branch(next, body);
                    self.index = body + 1;
                }
                "for" => self.for_loop(next),
                "foreach" => {
                    self.open(Block::Loop);
                    let body = self.find(next, &["loop"]);
                    let source = self.find(next, &["array"]);
                    self.expression((source + 1).min(body), body);
                    self.index = body + 1;
                }
                "return" => {
                    if self.is(next, "query") {
                        if self.is(next + 1, "execute") {
                            self.dynamic(next + 1);
                            self.skip_statement();
                        } else {
                            self.sql_statement(next + 1, "");
                        }
                    } else {
                        if !self.is(next, "next") {
                            self.exit();
                        }
                        let from = if self.is(next, "next") {
                            next + 1
                        } else {
                            next
                        };
                        let end = self.find(from, &[]);
                        self.expression(from, end);
                        self.index = end + 1;
                    }
                }
                "perform" => self.sql_statement(next, "SELECT "),
                "execute" => {
                    self.dynamic(self.index);
                    self.skip_statement();
                }
                "open" => {
                    let end = self.find(next, &[]);
                    let source = self.find(next, &["for"]);
                    if source < end && self.is(source + 1, "execute") {
                        self.dynamic(self.index);
                        self.index = end + 1;
                    } else if source < end {
                        self.sql_statement(source + 1, "");
                    } else {
                        self.open_cursor(next);
                        self.index = end + 1;
                    }
                }
                "commit" | "rollback" => {
                    let end = self.find(self.index, &[]);
                    if let Some(range) = self.range(self.index, end) {
                        self.body.transaction_control.push(range);
                    }
                    self.index = end + 1;
                }
                "get" | "fetch" => {
                    // `GET DIAGNOSTICS v = ROW_COUNT`, `FETCH c INTO v`.
                    self.found_by = None;
                    self.inserted_by = None;
                    let end = self.find(self.index, &[]);
                    self.assigns_any(next, end);
                    self.index = end + 1;
                }
                "raise" if self.raises_after_assignments(self.index) => {
                    self.exit();
                    self.skip_statement();
                }
                _ if SKIPPED.contains(&word.as_str()) => self.skip_statement(),
                _ if SQL_LEADERS.contains(&word.as_str()) && !self.is_assignment() => {
                    self.sql_statement(self.index, "");
                }
                _ => self.assignment_or_skip(),
            }
        }
    }

    /// MySQL's own statements; false when `word` starts one PL/pgSQL shares.
    fn mysql_statement(&mut self, word: &str) -> bool {
        let next = self.index + 1;
        // `label: LOOP`
        if self.punct(next) == Some(":") && self.punct(next + 1) != Some("=") {
            self.index = next + 1;
            return true;
        }
        match word {
            "declare" => {
                let end = self.find(self.index, &[]);
                if let Some(name) = self.tokens.get(next).and_then(|t| t.ident(self.text)) {
                    self.body.variables.insert(name);
                }
                let cursor = self.find(next, &["cursor"]);
                let handler = self.find(next, &["handler"]);
                if cursor < end {
                    let query = self.find(cursor, &["for"]);
                    if query < end
                        && let Some(name) = self.tokens.get(next).and_then(|t| t.ident(self.text))
                    {
                        self.cursors.insert(name, query + 1);
                    }
                } else if handler < end {
                    // `DECLARE ... HANDLER FOR cond stmt`: the statement runs on the condition.
                    let condition = self.find(handler, &["for"]);
                    self.index = (condition + 2).min(end);
                    self.in_handler = Some(if self.is(self.index, "begin") {
                        HandlerEnd::Block(self.blocks.len())
                    } else {
                        HandlerEnd::Statement(self.find(self.index, &[]))
                    });
                    return true;
                } else {
                    let default = self.find(next, &["default"]);
                    self.expression(default + 1, end);
                }
                self.index = end + 1;
            }
            "while" => {
                self.open(Block::Loop);
                let body = self.find(next, &["do"]);
                self.branch(next, body);
                self.index = body + 1;
            }
            "repeat" => {
                self.open(Block::Loop);
                self.index = next;
            }
            "until" => {
                let end = self.find(next, &["end"]);
                self.expression(next, end);
                self.index = end;
            }
            "set" => {
                // `SET v = expression [, w = expression]`
                let end = self.find(self.index, &[]);
                if let Some(at) = (next..end).find(|&at| self.punct(at) == Some("=")) {
                    self.expression(at + 1, end);
                }
                // Each `v =` of the list; `r` for `r.f =` (`SET NEW.col = ...`).
                for at in next..end {
                    if self.punct(at + 1) != Some("=") {
                        continue;
                    }
                    let mut first = at;
                    while first >= next + 2 && self.punct(first - 1) == Some(".") {
                        first -= 2;
                    }
                    if let Some(name) = self.tokens[first].ident(self.text) {
                        self.assign(name, false, first);
                    }
                }
                self.index = end + 1;
            }
            "start" => {
                let end = self.find(self.index, &[]);
                if let Some(range) = self.range(self.index, end) {
                    self.body.transaction_control.push(range);
                }
                self.index = end + 1;
            }
            "open" => {
                let end = self.find(self.index, &[]);
                self.open_cursor(next);
                self.index = end + 1;
            }
            "leave" | "iterate" | "signal" | "resignal" => self.skip_statement(),
            _ => return false,
        }
        true
    }

    /// Whether the statement at the cursor is `target := expression` (or `target = ...`).
    fn assignment_operator(&self) -> Option<usize> {
        let end = self.find(self.index, &[]);
        (self.index + 1..end)
            .find(|&at| {
                (self.punct(at) == Some(":") && self.punct(at + 1) == Some("="))
                    || (self.punct(at) == Some("=") && self.punct(at - 1) != Some(":"))
            })
            .filter(|&at| {
                // The target is a name, a field or an array element, not an expression.
                (self.index..at).all(|i| {
                    matches!(
                        self.tokens[i].kind,
                        TokenKind::Word | TokenKind::QuotedIdent | TokenKind::Number
                    ) || matches!(self.punct(i), Some("." | "[" | "]"))
                })
            })
    }

    fn is_assignment(&self) -> bool {
        self.assignment_operator()
            .is_some_and(|at| at <= self.index + 1 || self.punct(self.index + 1) == Some("."))
    }

    fn assignment_or_skip(&mut self) {
        let end = self.find(self.index, &[]);
        if let Some(at) = self.assignment_operator() {
            let from = if self.punct(at) == Some(":") {
                at + 2
            } else {
                at + 1
            };
            // `x := ...`, `r.f := ...`, `a[i] := ...`: the variable is `x`, `r`, `a`.
            if let Some(name) = self.tokens[self.index].ident(self.text) {
                let whole = at == self.index + 1;
                let fresh = whole && self.is_fresh_call(from, end);
                self.assign(name, fresh, self.index);
            }
            self.expression(from, end);
        }
        self.index = end + 1;
    }

    /// Reads the query of the cursor named at token `at`, where it opens; the reader's place
    /// in the body does not move.
    fn open_cursor(&mut self, at: usize) {
        let Some(query) = self.tokens.get(at).and_then(|token| token.ident(self.text)) else {
            return;
        };
        if let Some(&start) = self.cursors.get(&query) {
            let resume = self.index;
            self.sql_statement(start, "");
            self.index = resume;
        }
    }

    /// The query of `FOR r IN <query> LOOP`, or of PL/SQL's `FOR r IN (<query>) LOOP`.
    fn loop_query(&self, from: usize, to: usize) -> Option<TextRange> {
        let is_query = |at: usize| {
            ["select", "with", "values", "table"]
                .iter()
                .any(|leader| self.is(at, leader))
        };
        if is_query(from) {
            return self.range(from, to);
        }
        let wrapped = self.punct(from) == Some("(")
            && self.punct(to.checked_sub(1)?) == Some(")")
            && is_query(from + 1);
        if wrapped {
            self.range(from + 1, to - 1)
        } else {
            None
        }
    }

    /// `FOR target IN query LOOP`, `FOR i IN a .. b LOOP`, `FOR r IN EXECUTE ... LOOP`,
    /// `FOR r IN cursor LOOP`.
    fn for_loop(&mut self, from: usize) {
        self.open(Block::Loop);
        let body = self.find(from, &["loop"]);
        let source = self.find(from, &["in"]);
        for at in from..source.min(body) {
            if let Some(name) = self.tokens[at].ident(self.text) {
                self.body.variables.insert(name.clone());
                if let Some(token) = self.tokens.get(at) {
                    self.body.assignments.push((name, token.range.start));
                }
            }
        }
        let query = source + 1;
        if query < body {
            let is_range = (query..body)
                .any(|at| self.punct(at) == Some(".") && self.punct(at + 1) == Some("."));
            if self.is(query, "execute") {
                if let Some(range) = self.range(query, body) {
                    self.body.dynamic.push(range);
                }
            } else if is_range {
                // Integer bounds: nothing a concurrent transaction changes.
            } else if self.tokens[query]
                .ident(self.text)
                .is_some_and(|name| self.cursors.contains_key(&name))
            {
                self.open_cursor(query);
            } else if let Some(range) = self.loop_query(query, body) {
                self.emit(BodyStatement {
                    range,
                    blanks: Vec::new(),
                    prefix: "",
                    suffix: "",
                    into: Vec::new(),
                    targets: Vec::new(),
                    branches: Vec::new(),
                    must_find: false,
                    must_miss: false,
                    certain: false,
                    returns_if_found: false,
                    unused_into: false,
                });
            }
        }
        self.index = body + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each statement as the parser will see it.
    fn statements(body: &str) -> Vec<String> {
        let read = read_plpgsql_body(body, TextRange::new(0, body.len()));
        read.statements
            .iter()
            .map(|statement| {
                let mut sql = body[statement.range.start..statement.range.end].to_string();
                for blank in &statement.blanks {
                    let (from, to) = (
                        blank.start - statement.range.start,
                        blank.end - statement.range.start,
                    );
                    sql.replace_range(from..to, &" ".repeat(to - from));
                }
                format!("{}{}", statement.prefix, crate::one_line(&sql))
            })
            .collect()
    }

    #[test]
    fn an_into_whose_variables_are_never_read_is_unused() {
        let body = "
            DECLARE
                sub record;
                n int;
                r record;
            BEGIN
                SELECT sub_last_tick, sub_batch INTO sub FROM subscription WHERE id = p_id;
                IF FOUND THEN
                    UPDATE subscription SET sub_batch = NULL WHERE id = p_id;
                END IF;
                SELECT count(*) INTO n FROM subscription;
                IF n > 0 THEN
                    RAISE EXCEPTION 'busy';
                END IF;
                SELECT * INTO r FROM queue WHERE id = p_id;
                RETURN r.queue_name;
            END";
        let read = read_plpgsql_body(body, TextRange::new(0, body.len()));
        let unused: Vec<bool> = read
            .statements
            .iter()
            .filter(|statement| !statement.targets.is_empty())
            .map(|statement| statement.unused_into)
            .collect();
        assert_eq!(unused, [true, false, false]);
        // A target the body does not declare (an OUT parameter, returned by `RETURN;`) is
        // never unused.
        let body = "BEGIN SELECT sub_batch INTO batch_id FROM subscription WHERE id = p_id; \
            RETURN; END";
        let read = read_plpgsql_body(body, TextRange::new(0, body.len()));
        assert!(!read.statements[0].unused_into);
    }

    #[test]
    fn select_into_loses_its_into_and_control_flow_is_flattened() {
        let body = "
            DECLARE
                v_balance int;
                v_id bigint := (SELECT max(id) FROM accounts);
            BEGIN
                SELECT balance INTO STRICT v_balance FROM accounts WHERE id = p_id;
                IF v_balance < amount THEN
                    RAISE EXCEPTION 'insufficient funds';
                ELSIF NOT EXISTS (SELECT 1 FROM holds WHERE account = p_id) THEN
                    UPDATE accounts SET balance = v_balance - amount WHERE id = p_id;
                ELSE
                    PERFORM pg_notify('x', 'y');
                END IF;
                INSERT INTO log (account) VALUES (p_id) RETURNING id INTO v_id;
                RETURN v_balance;
            EXCEPTION WHEN unique_violation THEN
                RETURN 0;
            END;";
        assert_eq!(
            statements(body),
            vec![
                "SELECT (SELECT max(id) FROM accounts)",
                "SELECT balance FROM accounts WHERE id = p_id",
                "SELECT NOT EXISTS (SELECT 1 FROM holds WHERE account = p_id)",
                "UPDATE accounts SET balance = v_balance - amount WHERE id = p_id",
                "SELECT pg_notify('x', 'y')",
                "INSERT INTO log (account) VALUES (p_id) RETURNING id",
            ]
        );
        let read = read_plpgsql_body(body, TextRange::new(0, body.len()));
        assert!(read.variables.contains("v_balance") && read.variables.contains("v_id"));
    }

    /// An `IF` inside a loop can go each way in one call; one outside is taken one way.
    #[test]
    fn conditions_inside_loops_are_repeated() {
        let body = "
            BEGIN
                IF p_mode = 'a' THEN
                    SELECT 1;
                END IF;
                FOR i IN 1..2 LOOP
                    IF i = 1 THEN
                        SELECT 2;
                    END IF;
                END LOOP;
                WHILE v < 3 LOOP
                    v := v + 1;
                END LOOP;
            END;";
        let read = read_plpgsql_body(body, TextRange::new(0, body.len()));
        let conditions: Vec<&str> = read
            .conditions
            .iter()
            .map(|condition| body[condition.range.start..condition.range.end].trim())
            .collect();
        assert_eq!(conditions, ["p_mode = 'a'", "i = 1", "v < 3"]);
        assert_eq!(read.repeated, BTreeSet::from([1, 2]));
    }

    #[test]
    fn checks_the_body_raises_after_must_miss() {
        let body = "
            BEGIN
                SELECT count(*) INTO n FROM subscriptions WHERE queue_id = v_id;
                IF n > 0 THEN
                    RAISE EXCEPTION 'consumers attached';
                END IF;
                PERFORM 1 FROM retries WHERE owner = v_id;
                IF FOUND THEN
                    RAISE EXCEPTION 'retries pending';
                END IF;
                IF EXISTS (SELECT 1 FROM ticks WHERE queue_id = v_id) THEN
                    RAISE EXCEPTION 'ticks left';
                END IF;
                SELECT count(*) INTO m FROM events WHERE queue_id = v_id;
                IF m > 0 THEN
                    RETURN 0;
                END IF;
                IF EXISTS (SELECT 1 FROM ticks WHERE queue_id = v_id) OR p_force THEN
                    RAISE EXCEPTION 'maybe';
                END IF;
            END;";
        let read = read_plpgsql_body(body, TextRange::new(0, body.len()));
        let must_miss: Vec<bool> = read.statements.iter().map(|s| s.must_miss).collect();
        assert_eq!(must_miss, [true, true, true, false, false]);
    }

    #[test]
    fn a_return_when_found_outside_branches_and_loops_is_recorded() {
        let body = "
            BEGIN
                PERFORM 1 FROM queues WHERE name = p_name;
                IF FOUND THEN
                    RETURN 0;
                END IF;
                PERFORM 1 FROM ticks WHERE queue_id = v_id;
                IF FOUND THEN
                    RETURN 0;
                ELSE
                    v_id := 1;
                END IF;
                IF p_force THEN
                    PERFORM 1 FROM retries WHERE owner = v_id;
                    IF FOUND THEN
                        RETURN 0;
                    END IF;
                END IF;
                FOR i IN 1..2 LOOP
                    PERFORM 1 FROM events WHERE id = i;
                    IF FOUND THEN
                        RETURN 0;
                    END IF;
                END LOOP;
                BEGIN
                    PERFORM 1 FROM queues WHERE name = p_other;
                    IF FOUND THEN
                        RETURN 0;
                    END IF;
                EXCEPTION WHEN others THEN
                    NULL;
                END;
            END;";
        let read = read_plpgsql_body(body, TextRange::new(0, body.len()));
        let returns: Vec<bool> = read
            .statements
            .iter()
            .filter(|s| body[s.range.start..s.range.end].starts_with('1'))
            .map(|s| s.returns_if_found)
            .collect();
        assert_eq!(returns, [true, false, false, false, false]);
    }

    #[test]
    fn lookups_the_body_raises_without_must_find() {
        let body = "
            BEGIN
                SELECT id INTO v_id FROM queues WHERE name = p_name;
                IF NOT FOUND THEN
                    RAISE EXCEPTION 'no queue';
                END IF;
                SELECT id INTO v_other FROM queues WHERE name = p_other;
                IF NOT FOUND THEN
                    v_other := 0;
                END IF;
                SELECT id INTO STRICT v_third FROM queues WHERE name = p_third;
                SELECT id INTO v_fourth FROM queues WHERE name = p_fourth;
                IF NOT FOUND THEN
                    v_message := 'no queue ' || coalesce(p_fourth, 'NULL');
                    RAISE EXCEPTION '%', v_message;
                END IF;
                SELECT id INTO v_fifth FROM queues WHERE name = p_fifth;
                IF NOT FOUND THEN
                    v_message := 'no queue';
                    RAISE NOTICE '%', v_message;
                END IF;
            END;";
        let read = read_plpgsql_body(body, TextRange::new(0, body.len()));
        let must_find: Vec<bool> = read
            .statements
            .iter()
            .filter(|s| !s.targets.is_empty())
            .map(|s| s.must_find)
            .collect();
        assert_eq!(must_find, [true, false, true, true, false]);
    }

    #[test]
    fn variables_holding_only_sequence_values_are_fresh() {
        let body = "
            DECLARE id integer; other integer; mixed integer;
            BEGIN
                id := nextval('pgq.queue_queue_id_seq');
                other := nextval('s') + 1;
                mixed := gen_random_uuid();
                SELECT co_id INTO mixed FROM consumer WHERE co_name = p_name;
                INSERT INTO queue (queue_id) VALUES (id);
            END;";
        let read = read_plpgsql_body(body, TextRange::new(0, body.len()));
        assert_eq!(read.fresh.iter().collect::<Vec<_>>(), ["id"]);
    }

    #[test]
    fn into_pairs_each_plain_column_with_its_target() {
        let body = "
            BEGIN
                SELECT s.sub_id, c.co_id, (s.a IS NULL OR coalesce(s.b, 0) > 1)
                  INTO x_sub_id, x_consumer_id, x_flag
                  FROM subscription s, consumer c WHERE c.co_name = p_name FOR UPDATE OF s, c;
            END;";
        let read = read_plpgsql_body(body, TextRange::new(0, body.len()));
        let pairs = |(column, target): &(String, String)| (column.clone(), target.clone());
        assert_eq!(
            read.statements[0]
                .into
                .iter()
                .map(pairs)
                .collect::<Vec<_>>(),
            [
                ("sub_id".to_string(), "x_sub_id".to_string()),
                ("co_id".to_string(), "x_consumer_id".to_string()),
            ],
            "the expression's target gets no column"
        );
    }

    #[test]
    fn into_a_record_pairs_each_plain_column_with_its_field() {
        let body = "
            BEGIN
                SELECT queue_id, pgq.seq_getval(queue_event_seq) AS event_seq, q0.queue_name
                  INTO q FROM pgq.queue q0 WHERE queue_name = i_queue_name;
                SELECT * INTO STRICT r FROM pgq.queue WHERE queue_name = i_queue_name FOR UPDATE;
            END;";
        let read = read_plpgsql_body(body, TextRange::new(0, body.len()));
        let pairs = |statement: usize| {
            read.statements[statement]
                .into
                .iter()
                .map(|(column, target)| format!("{column} -> {target}"))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            pairs(0),
            ["queue_id -> q.queue_id", "queue_name -> q.queue_name"]
        );
        assert_eq!(pairs(1), ["* -> r"]);
    }

    #[test]
    fn loops_cases_and_dynamic_sql() {
        let body = "
            BEGIN
              FOR r IN SELECT id FROM jobs WHERE status = 'todo' FOR UPDATE SKIP LOCKED LOOP
                CASE r.kind WHEN 'a' THEN DELETE FROM jobs WHERE id = r.id; ELSE NULL; END CASE;
              END LOOP;
              FOR i IN 1 .. 10 LOOP NULL; END LOOP;
              EXECUTE format('DELETE FROM %I', tbl);
              RETURN QUERY SELECT * FROM jobs WHERE id = r.id;
            END;";
        assert_eq!(
            statements(body),
            vec![
                "SELECT id FROM jobs WHERE status = 'todo' FOR UPDATE SKIP LOCKED",
                "DELETE FROM jobs WHERE id = r.id",
                "SELECT * FROM jobs WHERE id = r.id",
            ]
        );
        let read = read_plpgsql_body(body, TextRange::new(0, body.len()));
        assert_eq!(read.dynamic.len(), 1);
        assert!(read.variables.contains("r"));
    }

    #[test]
    fn mysql_handlers_run_after_the_body() {
        let body = "BEGIN
              DECLARE v INT DEFAULT 0;
              DECLARE EXIT HANDLER FOR 1062 BEGIN SELECT id FROM r WHERE k = p; END;
              DECLARE CONTINUE HANDLER FOR NOT FOUND SET v = 0;
              label1: WHILE v < 3 DO SET v = (SELECT count(*) FROM r); END WHILE label1;
              INSERT INTO r (k) VALUES (p);
            END";
        let read = read_mysql_body(body, TextRange::new(0, body.len()));
        let texts: Vec<&str> = read
            .statements
            .iter()
            .map(|s| &body[s.range.start..s.range.end])
            .collect();
        assert_eq!(
            texts,
            vec![
                "(SELECT count(*) FROM r)",
                "INSERT INTO r (k) VALUES (p)",
                "SELECT id FROM r WHERE k = p",
            ]
        );
    }

    #[test]
    fn tsql_bodies_are_cut_at_lines_and_conditions_are_reads() {
        let body = "BEGIN
    SET NOCOUNT ON;
    DECLARE @balance int = (SELECT balance FROM accounts WITH (UPDLOCK) WHERE id = @id);
    IF NOT EXISTS (SELECT 1 FROM holds WHERE id = @id)
    BEGIN
        UPDATE accounts SET balance = @balance - 1 WHERE id = @id
        EXEC dbo.audit @id
    END
    EXEC (@sql)
END";
        let read = read_tsql_body(body, TextRange::new(0, body.len()));
        let texts: Vec<String> = read
            .statements
            .iter()
            .map(|s| {
                format!(
                    "{}{}{}",
                    s.prefix,
                    &body[s.range.start..s.range.end],
                    s.suffix
                )
            })
            .collect();
        assert_eq!(
            texts,
            vec![
                "SELECT balance FROM accounts WITH (UPDLOCK) WHERE id = @id",
                "SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM holds WHERE id = @id) THEN 1 END",
                "UPDATE accounts SET balance = @balance - 1 WHERE id = @id",
                "EXEC dbo.audit @id",
            ]
        );
        assert_eq!(read.dynamic.len(), 1);
    }

    #[test]
    fn cursors_are_read_where_they_open() {
        let body = "DECLARE
                c CURSOR FOR SELECT id FROM jobs WHERE queue = q;
                unused CURSOR FOR SELECT id FROM archive;
            BEGIN
                UPDATE queues SET seen = now() WHERE name = q;
                OPEN c;
                FOR r IN c LOOP NULL; END LOOP;
            END";
        assert_eq!(
            statements(body),
            vec![
                "UPDATE queues SET seen = now() WHERE name = q",
                "SELECT id FROM jobs WHERE queue = q",
                "SELECT id FROM jobs WHERE queue = q",
            ]
        );
    }

    /// Each statement of `body` with the branches it runs under: `text [c, not d]`.
    fn branches_shown(body: &str) -> (Body, Vec<String>) {
        let read = read_plpgsql_body(body, TextRange::new(0, body.len()));
        let condition = |index: usize| {
            let range = read.conditions[index].range;
            &body[range.start..range.end]
        };
        let shown: Vec<String> = read
            .statements
            .iter()
            .map(|statement| {
                let branches: Vec<String> = statement
                    .branches
                    .iter()
                    .map(|branch| {
                        let sign = if branch.holds { "" } else { "not " };
                        format!("{sign}{}", condition(branch.condition))
                    })
                    .collect();
                let text = &body[statement.range.start..statement.range.end];
                format!("{text} [{}]", branches.join(", "))
            })
            .collect();
        (read, shown)
    }

    #[test]
    fn statements_know_the_branches_they_sit_in() {
        let body = "BEGIN
                IF a IS NULL THEN UPDATE t SET x = 1;
                ELSIF b THEN UPDATE t SET x = 2;
                ELSE UPDATE t SET x = 3;
                END IF;
                CASE WHEN c = 1 THEN DELETE FROM t; ELSE DELETE FROM u; END CASE;
                CASE d WHEN 1 THEN DELETE FROM v; ELSE DELETE FROM w; END CASE;
                WHILE e LOOP
                    IF f THEN INSERT INTO t VALUES (1); END IF;
                END LOOP;
                INSERT INTO u VALUES (1);
                k := 1;
                r.g := 2;
                SELECT 1 INTO m;
                FETCH cur INTO n;
            END";
        let (read, shown) = branches_shown(body);
        assert_eq!(
            shown,
            vec![
                "UPDATE t SET x = 1 [a IS NULL]",
                "UPDATE t SET x = 2 [not a IS NULL, b]",
                "UPDATE t SET x = 3 [not a IS NULL, not b]",
                "DELETE FROM t [c = 1]",
                "DELETE FROM u [not c = 1]",
                // A simple CASE's values are not read as conditions.
                "DELETE FROM v []",
                "DELETE FROM w []",
                "INSERT INTO t VALUES (1) [e, f]",
                "INSERT INTO u VALUES (1) []",
                "SELECT 1 INTO m []",
            ]
        );
        for name in ["k", "r", "m", "n"] {
            assert!(read.assigned.contains(name), "{name}: {:?}", read.assigned);
        }
        assert!(!read.assigned.contains("a") && !read.assigned.contains("t"));
    }

    /// What follows `IF c THEN RETURN; END IF;` (or a `RAISE` that aborts) runs only when `c`
    /// was not true; not so after a notice, an `IF` with an `ELSE`, or in an exception handler
    /// for the raises of its own block.
    #[test]
    fn an_if_that_ends_the_routine_guards_what_follows() {
        let body = "BEGIN
                SELECT x INTO v FROM t WHERE id = p;
                IF v IS NOT NULL THEN RETURN; END IF;
                UPDATE t SET x = 1 WHERE id = p;
                IF w THEN RAISE EXCEPTION 'no'; END IF;
                DELETE FROM t WHERE id = p;
                IF z THEN RAISE NOTICE 'hi'; END IF;
                IF q THEN RETURN; ELSE NULL; END IF;
                INSERT INTO t VALUES (1);
                BEGIN
                    IF y THEN RAISE 'e'; END IF;
                    UPDATE u SET a = 1;
                EXCEPTION WHEN others THEN
                    UPDATE u SET a = 2;
                END;
                LOOP
                    IF r THEN RETURN NEXT; END IF;
                    UPDATE u SET a = 3;
                END LOOP;
            END";
        let (_, shown) = branches_shown(body);
        assert_eq!(
            shown,
            vec![
                "SELECT x INTO v FROM t WHERE id = p []",
                "UPDATE t SET x = 1 WHERE id = p [not v IS NOT NULL]",
                "DELETE FROM t WHERE id = p [not v IS NOT NULL, not w]",
                "INSERT INTO t VALUES (1) [not v IS NOT NULL, not w]",
                "UPDATE u SET a = 1 [not v IS NOT NULL, not w, not y]",
                "UPDATE u SET a = 2 [not v IS NOT NULL, not w]",
                "UPDATE u SET a = 3 [not v IS NOT NULL, not w]",
            ]
        );
    }

    #[test]
    fn assignments_with_subqueries_are_reads() {
        let body = "BEGIN v := (SELECT count(*) FROM t); w = v + 1; UPDATE t SET n = v; END";
        assert_eq!(
            statements(body),
            vec!["SELECT (SELECT count(*) FROM t)", "UPDATE t SET n = v"]
        );
    }
}
