//! Rows for a finding when the project gives none: one row per row the transactions point at
//! (their pinned columns, with the bound values), every other column chosen so that the row
//! satisfies the schema the server has: enum columns take a label (one a statement names,
//! when one does), foreign keys point at parent rows made first, CHECK constraints with
//! simple comparisons are solved (`starts_at < ends_at`, `n > 0`, `IN`, `BETWEEN`), defaults
//! and generated columns are left to the server, unique columns get distinct values, and
//! the statements' own predicates (`run_at <= now()`, `locked_at IS NULL`) are followed where
//! the schema lets them. What the server still rejects is retried with other values: a CHECK
//! violation with other candidates for its columns, a missing parent by making it, a NULL by
//! a value. Rows the migrations or the setup files made win: a row pointed at that exists
//! already is not made again, and one that collides with a key is left out (`ON CONFLICT DO
//! NOTHING`).

use std::collections::{BTreeMap, BTreeSet};

use sqlparser::ast::Expr;

use super::catalog::{Column, Identity, Table, Tables};
use super::condition::{Atom, Condition, Kind, Row, Slot, ladder};
use super::database::{
    Connection, Flavor, ServerError, Violation, query, quote_ident, quote_literal,
};
use super::plan::Plan;
use crate::CheckResult;
use crate::access::{AccessKind, Term};
use crate::parse::lexer::{TokenKind, tokenize};
use crate::semantics::Engine;

/// Column → value of one row the transactions point at.
type Pins = BTreeMap<String, String>;

/// What the finding's transactions point at and say about values.
#[derive(Debug, Default)]
pub struct Wanted {
    /// Per table (index into [`Tables::tables`]): (read only, pins) of each row pointed at.
    rows: BTreeMap<usize, BTreeSet<(bool, Pins)>>,
    /// Tables the transactions use.
    touched: BTreeSet<usize>,
    /// Tables the transactions read (a subquery's join too).
    read: BTreeSet<usize>,
    /// String literals in the statements, to prefer among enum labels.
    literals: BTreeSet<String>,
    /// Comparisons in the statements' predicates.
    hints: Vec<Atom>,
    /// Values the transactions write into a column (table, column, value): a foreign key
    /// there needs its parent row.
    written: BTreeSet<(usize, String, String)>,
}

impl Wanted {
    pub fn new(result: &CheckResult, plan: &Plan, tables: &Tables) -> Wanted {
        let mut wanted = Wanted::default();
        // The unique keys the transactions insert, with their values: a row made up with one
        // of them would take the key before the insert, which the finding needs to succeed.
        let mut inserted_keys: BTreeSet<(usize, Pins)> = BTreeSet::new();
        for (session, planned) in plan.sessions.iter().enumerate() {
            let program = &result.programs[planned.program];
            for access in program.statements.iter().flat_map(|s| &s.accesses) {
                let (AccessKind::Insert { .. }, Some(table)) =
                    (&access.kind, tables.find(&access.table))
                else {
                    continue;
                };
                let definition = &tables.tables[table];
                for key in &definition.unique_keys {
                    let values: Option<Pins> = key
                        .iter()
                        .map(|column| {
                            let value = match access.rows.pins.get(column)? {
                                Term::Literal(literal) => unquote(literal),
                                Term::Param(name) => element_for(
                                    definition,
                                    column,
                                    plan.parameters[session].get(name)?,
                                ),
                            };
                            Some((column.clone(), value))
                        })
                        .collect();
                    if let Some(values) = values {
                        inserted_keys.insert((table, values));
                    }
                }
            }
        }
        for (session, planned) in plan.sessions.iter().enumerate() {
            let program = &result.programs[planned.program];
            for access in program.statements.iter().flat_map(|s| &s.accesses) {
                let Some(table) = tables.find(&access.table) else {
                    continue;
                };
                wanted.touched.insert(table);
                if access.is_read() {
                    wanted.read.insert(table);
                }
                let definition = &tables.tables[table];
                let value_of = |term: &Term, column: &str| match term {
                    Term::Literal(literal) => Some(unquote(literal)),
                    Term::Param(name) => plan.parameters[session]
                        .get(name)
                        .map(|value| element_for(definition, column, value)),
                };
                match &access.kind {
                    AccessKind::Insert { .. } => {
                        for (column, term) in &access.rows.pins {
                            if let Some(value) = value_of(term, column) {
                                wanted.written.insert((table, column.clone(), value));
                            }
                        }
                    }
                    AccessKind::Update { set, .. } => {
                        for (column, value) in set {
                            if let crate::access::SetValue::Term(term) = value
                                && let Some(value) = value_of(term, column)
                            {
                                wanted.written.insert((table, column.clone(), value));
                            }
                        }
                    }
                    _ => {}
                }
                // A check the transaction goes on past only when it finds nothing wants no row.
                let must_miss = matches!(
                    access.kind,
                    AccessKind::Read {
                        must_miss: true,
                        ..
                    }
                );
                if access.rows.pins.is_empty()
                    || must_miss
                    || matches!(access.kind, AccessKind::Insert { .. })
                {
                    continue;
                }
                let row: Pins = access
                    .rows
                    .pins
                    .iter()
                    .filter_map(|(column, term)| Some((column.clone(), value_of(term, column)?)))
                    .collect();
                let takes_inserted_key = inserted_keys.iter().any(|(keyed, key)| {
                    *keyed == table
                        && key
                            .iter()
                            .all(|(column, value)| row.get(column) == Some(value))
                });
                if !row.is_empty() && !takes_inserted_key {
                    wanted
                        .rows
                        .entry(table)
                        .or_default()
                        .insert((!access.is_write(), row));
                }
            }
            for sql in &planned.statements {
                wanted.read_statement(sql);
            }
        }
        wanted
    }

    fn read_statement(&mut self, sql: &str) {
        for token in tokenize(sql, crate::parse::flavor(Engine::Postgres)) {
            let text = token.text(sql);
            if token.kind == TokenKind::String && text.starts_with('\'') && !token.unterminated {
                self.literals.insert(unquote(text));
            }
        }
        let parsed = crate::parse::parse_file(sql, Engine::Postgres);
        for statement in &parsed.statements {
            for ast in statement.parsed.iter().flatten() {
                let _ = sqlparser::ast::visit_expressions(ast, |expr: &Expr| {
                    for atom in Condition::atoms_of(expr) {
                        let captured = match &atom {
                            Atom::Compare(_, _, super::condition::Operand::Value(value)) => {
                                value.contains('\u{1}')
                            }
                            _ => false,
                        };
                        if !captured && !self.hints.contains(&atom) {
                            self.hints.push(atom);
                        }
                    }
                    std::ops::ControlFlow::<()>::Continue(())
                });
            }
        }
    }
}

/// The value a row's column takes from a parameter's: its first element when the parameter
/// is an array the statement matches the column against (`id = ANY($1)` with `{3}`) and the
/// column holds no arrays.
fn element_for(table: &Table, column: &str, value: &str) -> String {
    let scalar = table.column(column).is_some_and(|column| {
        !column.data_type.ends_with("[]") && !matches!(column.base_type.as_str(), "json" | "jsonb")
    });
    match value
        .strip_prefix('{')
        .and_then(|rest| rest.strip_suffix('}'))
    {
        Some(elements) if scalar && !elements.is_empty() => {
            let first = elements.split(',').next().unwrap_or_default();
            first
                .strip_prefix('"')
                .and_then(|quoted| quoted.strip_suffix('"'))
                .map_or_else(
                    || first.to_string(),
                    |quoted| quoted.replace("\\\"", "\"").replace("\\\\", "\\"),
                )
        }
        _ => value.to_string(),
    }
}

fn unquote(literal: &str) -> String {
    let inner = literal
        .strip_prefix('\'')
        .and_then(|rest| rest.strip_suffix('\''))
        .unwrap_or(literal);
    inner.replace("''", "'")
}

/// A row to insert.
#[derive(Debug, Clone)]
pub struct Made {
    table: usize,
    row: Row,
}

impl Made {
    fn sql(&self, tables: &Tables) -> String {
        let table = &tables.tables[self.table];
        let mut names = Vec::new();
        let mut values = Vec::new();
        let mysql = tables.flavor == Some(Flavor::Mysql);
        // MySQL has no ON CONFLICT: its duplicate-key error is taken as the row being there.
        let on_conflict = if mysql { "" } else { " ON CONFLICT DO NOTHING" };
        let mut overriding = false;
        for column in &table.columns {
            let Some(Slot::Value(value)) = self.row.values.get(&column.name) else {
                continue;
            };
            overriding |= column.identity == Some(Identity::Always);
            names.push(quote_ident(&column.name));
            values.push(value.as_deref().map_or("NULL".to_string(), quote_literal));
        }
        if names.is_empty() {
            return if mysql {
                format!("INSERT INTO {} () VALUES ()", table.qualified())
            } else {
                format!(
                    "INSERT INTO {} DEFAULT VALUES{on_conflict}",
                    table.qualified()
                )
            };
        }
        format!(
            "INSERT INTO {} ({}){} VALUES ({}){on_conflict}",
            table.qualified(),
            names.join(", "),
            if overriding {
                " OVERRIDING SYSTEM VALUE"
            } else {
                ""
            },
            values.join(", ")
        )
    }
}

/// Makes the rows, parents before children.
pub struct Maker<'a> {
    tables: &'a Tables,
    wanted: &'a Wanted,
    pub made: Vec<Made>,
    pub notes: Vec<String>,
    number: usize,
}

/// How deep a chain of parents is followed.
const MAX_PARENTS: usize = 8;

impl<'a> Maker<'a> {
    pub fn new(tables: &'a Tables, wanted: &'a Wanted) -> Maker<'a> {
        Maker {
            tables,
            wanted,
            made: Vec::new(),
            notes: Vec::new(),
            number: 0,
        }
    }

    /// Every row the transactions point at, with the parents they need.
    pub fn make_all(&mut self) {
        for table in self.parents_first() {
            let Some(rows) = self.wanted.rows.get(&table) else {
                continue;
            };
            for pins in merge(rows.clone()) {
                if !self.exists(table, &pins) {
                    self.make(table, &pins, &BTreeSet::new(), 0);
                }
            }
        }
        // The parents of the values the transactions write into foreign keys.
        for (table, column, value) in &self.wanted.written {
            for key in &self.tables.tables[*table].foreign_keys {
                if key.columns.as_slice() != std::slice::from_ref(column) {
                    continue;
                }
                let Some(parent_column) = key.parent_columns.first() else {
                    continue;
                };
                let pins = Pins::from([(parent_column.clone(), value.clone())]);
                if !self.exists(key.parent, &pins) {
                    self.make(key.parent, &pins, &BTreeSet::new(), 1);
                }
            }
        }
    }

    /// A row of each table the transactions read that points at a row made for them, when
    /// no row pointed at is wanted of that table: a subquery that joins it (`jobs JOIN
    /// events ON events.job_id = jobs.id`) finds the row only through one. Its timestamps
    /// take values in the past rather than their defaults (`now()`), so that the age a
    /// statement asks of it (`latest_at < now() - interval '1 hour'`) holds.
    pub fn make_joined(&mut self) {
        let parents: Vec<usize> = (0..self.made.len())
            .filter(|&made| self.wanted.rows.contains_key(&self.made[made].table))
            .collect();
        for &child in &self.wanted.read {
            if self.wanted.rows.contains_key(&child) {
                continue;
            }
            let definition = &self.tables.tables[child];
            let dated: BTreeSet<String> = definition
                .columns
                .iter()
                .filter(|column| {
                    column.default.is_some()
                        && !column.generated
                        && (column.base_type.starts_with("timestamp") || column.base_type == "date")
                })
                .map(|column| column.name.clone())
                .collect();
            for key in &definition.foreign_keys {
                for &parent in &parents {
                    if self.made[parent].table != key.parent || key.parent == child {
                        continue;
                    }
                    let pins: Option<Pins> = key
                        .columns
                        .iter()
                        .zip(&key.parent_columns)
                        .map(|(column, parent_column)| {
                            match self.made[parent].row.values.get(parent_column) {
                                Some(Slot::Value(Some(value))) => {
                                    Some((column.clone(), value.clone()))
                                }
                                _ => None,
                            }
                        })
                        .collect();
                    let Some(pins) = pins else {
                        continue;
                    };
                    if !self.exists(child, &pins) {
                        self.make(child, &pins, &dated, 1);
                    }
                }
            }
        }
    }

    /// The tables with rows wanted, each after the tables its foreign keys point at.
    fn parents_first(&self) -> Vec<usize> {
        fn visit(
            tables: &Tables,
            table: usize,
            seen: &mut BTreeSet<usize>,
            order: &mut Vec<usize>,
        ) {
            if !seen.insert(table) {
                return;
            }
            for key in &tables.tables[table].foreign_keys {
                visit(tables, key.parent, seen, order);
            }
            order.push(table);
        }
        let mut seen = BTreeSet::new();
        let mut order = Vec::new();
        for &table in self.wanted.rows.keys() {
            visit(self.tables, table, &mut seen, &mut order);
        }
        order.retain(|table| self.wanted.rows.contains_key(table));
        order
    }

    /// Whether a row made already, or one the database holds (from the migrations or the
    /// setup files), has these values.
    fn exists(&self, table: usize, pins: &Pins) -> bool {
        self.tables.tables[table].has_row(pins)
            || self.made.iter().any(|made| {
                made.table == table
                    && pins.iter().all(|(column, value)| {
                        made.row.values.get(column) == Some(&Slot::Value(Some(value.clone())))
                    })
            })
    }

    /// Makes a row of `table` with `pins`; `required` columns get explicit values (a
    /// parent's key, which a child copies). Its index in `made`.
    fn make(
        &mut self,
        table: usize,
        pins: &Pins,
        required: &BTreeSet<String>,
        depth: usize,
    ) -> usize {
        self.number += 1;
        let number = self.number;
        let tables = self.tables;
        let definition = &tables.tables[table];
        let mut row = Row {
            values: BTreeMap::new(),
            fixed: BTreeSet::new(),
            kinds: definition
                .columns
                .iter()
                .map(|column| (column.name.clone(), Kind::of(&column.base_type)))
                .collect(),
            nullable: definition
                .columns
                .iter()
                .filter(|column| !column.not_null)
                .map(|column| column.name.clone())
                .collect(),
        };
        for (column, value) in pins {
            if definition.column(column).is_some_and(|c| !c.generated) {
                row.values
                    .insert(column.clone(), Slot::Value(Some(value.clone())));
                row.fixed.insert(column.clone());
            }
        }
        for key in &definition.foreign_keys {
            if key.columns.iter().all(|column| row.fixed.contains(column)) {
                let values: Vec<String> = key
                    .columns
                    .iter()
                    .filter_map(|column| match row.values.get(column) {
                        Some(Slot::Value(Some(value))) => Some(value.clone()),
                        _ => None,
                    })
                    .collect();
                if key.parent != table && depth < MAX_PARENTS {
                    let parent_pins: Pins =
                        key.parent_columns.iter().cloned().zip(values).collect();
                    if !self.exists(key.parent, &parent_pins) {
                        self.make(key.parent, &parent_pins, &BTreeSet::new(), depth + 1);
                    }
                }
                continue;
            }
            if key.columns.iter().any(|column| row.fixed.contains(column)) {
                continue;
            }
            let not_null = key
                .columns
                .iter()
                .any(|column| definition.column(column).is_some_and(|c| c.not_null));
            let wanted = not_null || self.wanted.touched.contains(&key.parent);
            if key.parent == table || !wanted || depth >= MAX_PARENTS {
                if !not_null {
                    for column in &key.columns {
                        row.values.insert(column.clone(), Slot::Value(None));
                    }
                }
                continue;
            }
            let parent = match self.parent_with_key(key.parent, &key.parent_columns) {
                Some(parent) => parent,
                None => {
                    let required: BTreeSet<String> = key.parent_columns.iter().cloned().collect();
                    self.make(key.parent, &Pins::new(), &required, depth + 1)
                }
            };
            for (column, parent_column) in key.columns.iter().zip(&key.parent_columns) {
                if let Some(value) = self.made[parent].row.values.get(parent_column).cloned() {
                    row.values.insert(column.clone(), value);
                    row.fixed.insert(column.clone());
                }
            }
        }
        for column in &definition.columns {
            if column.generated || row.values.contains_key(&column.name) {
                continue;
            }
            let slot = if required.contains(&column.name) {
                Slot::Value(filler(column, number, true).or_else(|| self.label(column)))
            } else if column.numbered_by_server() {
                Slot::Default
            } else if !column.labels.is_empty() {
                Slot::Value(self.label(column))
            } else if column.default.is_some() {
                Slot::Default
            } else if let Some(value) = filler(column, number, definition.is_unique(&column.name)) {
                Slot::Value(Some(value))
            } else if column.not_null {
                Slot::Default
            } else {
                Slot::Value(None)
            };
            row.values.insert(column.name.clone(), slot);
        }
        // The statements' predicates, where the schema leaves the columns free: each is kept
        // only when it breaks none taken before it.
        let mut followed: Vec<Condition> = Vec::new();
        for hint in &self.wanted.hints {
            if definition.column(hint.column()).is_none() || row.fixed.contains(hint.column()) {
                continue;
            }
            let condition = Condition::Atom(hint.clone());
            let saved = row.values.clone();
            row.satisfy(&condition);
            let labels_kept = definition.column(hint.column()).is_none_or(|column| {
                column.labels.is_empty()
                    || match row.values.get(&column.name) {
                        Some(Slot::Value(Some(value))) => column.labels.contains(value),
                        _ => true,
                    }
            });
            if !labels_kept
                || followed
                    .iter()
                    .any(|earlier| row.holds(earlier) == Some(false))
            {
                row.values = saved;
            } else {
                followed.push(condition);
            }
        }
        let checks: Vec<Condition> = definition
            .checks
            .iter()
            .map(|check| Condition::from_check(&check.definition, check.value_column.as_deref()))
            .collect();
        for _ in 0..2 {
            for check in &checks {
                row.satisfy(check);
            }
        }
        self.made.push(Made { table, row });
        self.made.len() - 1
    }

    /// A row made already whose `columns` all have values.
    fn parent_with_key(&self, table: usize, columns: &[String]) -> Option<usize> {
        self.made.iter().position(|made| {
            made.table == table
                && columns
                    .iter()
                    .all(|column| matches!(made.row.values.get(column), Some(Slot::Value(Some(_)))))
        })
    }

    /// The label to use for an enum column: the first one a statement names, else the first.
    fn label(&self, column: &Column) -> Option<String> {
        column
            .labels
            .iter()
            .find(|label| self.wanted.literals.contains(*label))
            .or_else(|| column.labels.first())
            .cloned()
    }
}

/// One row per distinct row pointed at: pins that agree with a row already made (a shared
/// column with the same value, no column with another) are that row's too, as a read of
/// `shift_id = 1 AND on_call` and an update of `shift_id = 1 AND doctor_id = 2` point at one
/// row. Rows written are laid down first, rows only read merged into them.
fn merge(pinned: BTreeSet<(bool, Pins)>) -> Vec<Pins> {
    let mut pinned: Vec<(bool, Pins)> = pinned.into_iter().collect();
    pinned.sort_by_key(|(read_only, pins)| (*read_only, std::cmp::Reverse(pins.len())));
    let mut rows: Vec<Pins> = Vec::new();
    for (_, pins) in pinned {
        let agrees = |row: &Pins| {
            pins.iter()
                .any(|(column, value)| row.get(column) == Some(value))
                && pins
                    .iter()
                    .all(|(column, value)| row.get(column).is_none_or(|other| other == value))
        };
        let mut merged = false;
        for row in rows.iter_mut().filter(|row| agrees(row)) {
            row.extend(
                pins.iter()
                    .map(|(column, value)| (column.clone(), value.clone())),
            );
            merged = true;
        }
        if !merged {
            rows.push(pins);
        }
    }
    rows
}

/// A value of the column's type for row `number`; distinct per row when `unique`. `None`
/// for types without an obvious value (left to the default, or NULL).
fn filler(column: &Column, number: usize, unique: bool) -> Option<String> {
    let base = column.base_type.as_str();
    let day = number.clamp(1, 28);
    let plain = base.split('(').next().unwrap_or(base).trim();
    if base.ends_with("[]") {
        return Some("{}".to_string());
    }
    let value = match plain {
        "smallint" | "integer" | "bigint" if unique => (1000 + number).to_string(),
        "smallint" | "integer" | "bigint" | "numeric" | "real" | "double precision" | "money" => {
            "100".to_string()
        }
        "boolean" => "true".to_string(),
        "text" | "character varying" | "character" | "citext" | "name" => {
            let text = format!("{}{number}", column.name);
            match length_limit(base) {
                Some(limit) if text.chars().count() > limit => {
                    let digits = number.to_string();
                    digits
                        .chars()
                        .rev()
                        .take(limit)
                        .collect::<Vec<_>>()
                        .into_iter()
                        .rev()
                        .collect()
                }
                _ => text,
            }
        }
        "date" => format!("2024-01-{day:02}"),
        // Another group than the uuids chosen for parameters (`...-8000-...`), so that a row
        // made here never takes the key a transaction inserts.
        "uuid" => format!("00000000-0000-4000-a000-{number:012}"),
        "json" | "jsonb" => "{}".to_string(),
        "bytea" => "\\x00".to_string(),
        "hstore" => String::new(),
        "interval" => "1 hour".to_string(),
        "inet" | "cidr" => "127.0.0.1".to_string(),
        "xml" => "<x/>".to_string(),
        "point" => "(0,0)".to_string(),
        _ if plain.starts_with("timestamp") => format!("2024-01-{day:02} 12:00:00"),
        _ if plain.starts_with("time") => "12:00:00".to_string(),
        _ => return None,
    };
    Some(value)
}

/// `n` of `character varying(n)` or `character(n)`.
fn length_limit(data_type: &str) -> Option<usize> {
    let (_, rest) = data_type.split_once('(')?;
    rest.split(')').next()?.trim().parse().ok()
}

/// The rows inserted, as statements to run again for the next run, and what was assumed.
#[derive(Debug, Clone, Default)]
pub struct Seed {
    pub statements: Vec<String>,
    pub notes: Vec<String>,
}

/// How many times one row is tried with other values.
const MAX_ATTEMPTS: usize = 32;

/// Inserts the rows made, retrying what the server rejects, then moves every sequence past
/// the numbers given explicitly so that the transactions' own inserts do not collide.
pub fn insert(client: &mut Connection, maker: &mut Maker) -> Seed {
    let tables = maker.tables;
    let mut seed = Seed::default();
    let mut index = 0;
    while index < maker.made.len() {
        insert_one(client, maker, index, &mut seed, 0);
        index += 1;
    }
    let mut numbered: BTreeSet<(usize, String)> = BTreeSet::new();
    for made in &maker.made {
        for column in &tables.tables[made.table].columns {
            if column.numbered_by_server()
                && matches!(
                    made.row.values.get(&column.name),
                    Some(Slot::Value(Some(_)))
                )
            {
                numbered.insert((made.table, column.name.clone()));
            }
        }
    }
    // MySQL's AUTO_INCREMENT moves past the numbers given by itself.
    let postgres = client.flavor() == Flavor::Postgres;
    let numbered = numbered.into_iter().filter(|_| postgres);
    for (table, column) in numbered {
        let table = &tables.tables[table];
        let statement = format!(
            "SELECT setval(pg_get_serial_sequence({}, {}), m) FROM (SELECT max({})::bigint AS m \
             FROM {}) AS numbers WHERE m IS NOT NULL",
            quote_literal(&table.qualified()),
            quote_literal(&column),
            quote_ident(&column),
            table.qualified()
        );
        if query(client, &statement).is_ok() {
            seed.statements.push(statement);
        }
    }
    let shown: Vec<String> = seed
        .statements
        .iter()
        .filter(|statement| statement.starts_with("INSERT"))
        .cloned()
        .collect();
    if !shown.is_empty() {
        seed.notes.insert(
            0,
            format!(
                "rows made up (no seed.sql gives them): {}",
                shown.join("; ")
            ),
        );
    }
    seed
}

fn insert_one(
    client: &mut Connection,
    maker: &mut Maker,
    index: usize,
    seed: &mut Seed,
    depth: usize,
) {
    let tables = maker.tables;
    let mut alternatives: BTreeMap<String, Vec<BTreeMap<String, Option<String>>>> = BTreeMap::new();
    for _ in 0..MAX_ATTEMPTS {
        let sql = maker.made[index].sql(tables);
        let error = match query(client, &sql) {
            Ok(_) => {
                seed.statements.push(sql);
                return;
            }
            Err(error) => error,
        };
        let table = &tables.tables[maker.made[index].table];
        let retry = match error.violation {
            // The row is there already (MySQL, which has no ON CONFLICT DO NOTHING).
            Some(Violation::Unique) if client.flavor() == Flavor::Mysql => return,
            Some(Violation::Check) => {
                retry_check(&mut maker.made[index], table, &error, &mut alternatives)
            }
            Some(Violation::NotNull) => retry_not_null(&mut maker.made[index], table, &error),
            Some(Violation::ForeignKey) if depth < MAX_PARENTS => {
                make_missing_parent(client, maker, index, &error, seed, depth)
            }
            _ => false,
        };
        if !retry {
            seed.notes.push(format!(
                "a row for {} could not be made: {} (`{}`)",
                table.display(),
                error.message,
                sql
            ));
            return;
        }
    }
    seed.notes.push(format!(
        "a row for {} could not be made: the server rejected {MAX_ATTEMPTS} choices of values",
        tables.tables[maker.made[index].table].display()
    ));
}

/// Another choice of values for the free columns of the CHECK the server says is broken.
fn retry_check(
    made: &mut Made,
    table: &Table,
    error: &ServerError,
    alternatives: &mut BTreeMap<String, Vec<BTreeMap<String, Option<String>>>>,
) -> bool {
    let Some(name) = &error.constraint else {
        return false;
    };
    let Some(check) = table.checks.iter().find(|check| &check.name == name) else {
        return false;
    };
    let remaining = alternatives
        .entry(name.clone())
        .or_insert_with(|| candidates_for(check, table, &made.row));
    let Some(choice) = remaining.pop() else {
        return false;
    };
    for (column, value) in choice {
        made.row.values.insert(column, Slot::Value(value));
    }
    true
}

/// Value combinations for a CHECK's free columns, the last to try first: NULL where allowed,
/// the constraint's own literals, enum labels, and values of the columns' kinds.
fn candidates_for(
    check: &super::catalog::Check,
    table: &Table,
    row: &Row,
) -> Vec<BTreeMap<String, Option<String>>> {
    let condition = Condition::from_check(&check.definition, check.value_column.as_deref());
    let mut columns = BTreeSet::new();
    condition.columns(&mut columns);
    if columns.is_empty() {
        // Opaque: every column whose name the definition mentions.
        for token in tokenize(&check.definition, crate::parse::flavor(Engine::Postgres)) {
            if let Some(name) = token.ident(&check.definition)
                && table.column(&name).is_some()
            {
                columns.insert(name);
            }
        }
        if let Some(column) = &check.value_column {
            columns.insert(column.clone());
        }
    }
    let literals: Vec<String> = tokenize(&check.definition, crate::parse::flavor(Engine::Postgres))
        .into_iter()
        .filter(|token| matches!(token.kind, TokenKind::String | TokenKind::Number))
        .map(|token| unquote(token.text(&check.definition)))
        .collect();
    let free: Vec<&Column> = columns
        .iter()
        .filter(|column| !row.fixed.contains(*column))
        .filter_map(|column| table.column(column))
        .filter(|column| !column.generated)
        .take(2)
        .collect();
    let options = |column: &Column| -> Vec<Option<String>> {
        let mut values: Vec<Option<String>> = Vec::new();
        if !column.not_null {
            values.push(None);
        }
        let kind = Kind::of(&column.base_type);
        let typed: Vec<String> = if column.labels.is_empty() {
            literals.iter().cloned().chain(ladder(kind)).collect()
        } else {
            column.labels.clone()
        };
        for value in typed {
            if !values.contains(&Some(value.clone())) {
                values.push(Some(value));
            }
        }
        values
    };
    let mut combinations: Vec<BTreeMap<String, Option<String>>> = vec![BTreeMap::new()];
    for column in free {
        let mut next = Vec::new();
        for combination in &combinations {
            for value in options(column) {
                let mut extended = combination.clone();
                extended.insert(column.name.clone(), value);
                next.push(extended);
            }
        }
        combinations = next;
    }
    combinations.retain(|combination| !combination.is_empty());
    combinations.truncate(MAX_ATTEMPTS);
    combinations.reverse();
    combinations
}

/// A value for a free column the server says may not be NULL.
fn retry_not_null(made: &mut Made, table: &Table, error: &ServerError) -> bool {
    let Some(name) = &error.column else {
        return false;
    };
    let Some(column) = table.column(name) else {
        return false;
    };
    if made.row.fixed.contains(name) {
        return false;
    }
    let value = filler(column, 1, table.is_unique(name))
        .or_else(|| column.labels.first().cloned())
        .or_else(|| ladder(Kind::of(&column.base_type)).into_iter().next());
    match value {
        Some(value) if made.row.values.get(name) != Some(&Slot::Value(Some(value.clone()))) => {
            made.row
                .values
                .insert(name.clone(), Slot::Value(Some(value)));
            true
        }
        _ => false,
    }
}

/// The parent row a foreign key violation says is missing: made and inserted first.
fn make_missing_parent(
    client: &mut Connection,
    maker: &mut Maker,
    index: usize,
    error: &ServerError,
    seed: &mut Seed,
    depth: usize,
) -> bool {
    let tables = maker.tables;
    let made = &maker.made[index];
    let table = &tables.tables[made.table];
    let Some(key) = error
        .constraint
        .as_ref()
        .and_then(|name| table.foreign_keys.iter().find(|key| &key.name == name))
    else {
        return false;
    };
    let mut pins = Pins::new();
    for (column, parent_column) in key.columns.iter().zip(&key.parent_columns) {
        match made.row.values.get(column) {
            Some(Slot::Value(Some(value))) => {
                pins.insert(parent_column.clone(), value.clone());
            }
            _ => return false,
        }
    }
    if maker.exists(key.parent, &pins)
        && maker.made.iter().take(index).any(|m| m.table == key.parent)
    {
        // Made and tried already: it did not go in.
        return false;
    }
    let parent = maker.make(key.parent, &pins, &BTreeSet::new(), depth + 1);
    insert_one(client, maker, parent, seed, depth + 1);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, data_type: &str) -> Column {
        Column::plain(name, data_type)
    }

    #[test]
    fn pins_of_one_row_merge() {
        let pins = |read_only: bool, pairs: &[(&str, &str)]| {
            (
                read_only,
                pairs
                    .iter()
                    .map(|(column, value)| (column.to_string(), value.to_string()))
                    .collect(),
            )
        };
        let rows = merge(BTreeSet::from([
            pins(true, &[("shift_id", "1"), ("on_call", "true")]),
            pins(false, &[("shift_id", "1"), ("doctor_id", "2")]),
            pins(false, &[("shift_id", "1"), ("doctor_id", "3")]),
            pins(true, &[("shift_id", "5")]),
        ]));
        let shown: Vec<String> = rows.iter().map(|row| format!("{row:?}")).collect();
        assert_eq!(
            shown,
            [
                r#"{"doctor_id": "2", "on_call": "true", "shift_id": "1"}"#,
                r#"{"doctor_id": "3", "on_call": "true", "shift_id": "1"}"#,
                r#"{"shift_id": "5"}"#,
            ]
        );
    }

    #[test]
    fn fillers_follow_the_type() {
        assert_eq!(
            filler(&column("balance", "integer"), 1, false).as_deref(),
            Some("100")
        );
        assert_eq!(
            filler(&column("id", "bigint"), 2, true).as_deref(),
            Some("1002")
        );
        assert_eq!(
            filler(&column("on_call", "boolean"), 1, false).as_deref(),
            Some("true")
        );
        assert_eq!(
            filler(&column("name", "text"), 2, false).as_deref(),
            Some("name2")
        );
        assert_eq!(
            filler(&column("code", "character varying(2)"), 13, false).as_deref(),
            Some("13")
        );
        assert_eq!(
            filler(&column("token", "uuid"), 3, false).as_deref(),
            Some("00000000-0000-4000-a000-000000000003")
        );
        assert_eq!(filler(&column("snapshot", "txid_snapshot"), 1, false), None);
    }

    #[test]
    fn an_array_matched_with_any_gives_a_scalar_column_its_first_element() {
        let tables = tables();
        let shifts = &tables.tables[0];
        assert_eq!(element_for(shifts, "id", "{3,4}"), "3");
        assert_eq!(
            element_for(shifts, "starts_at", "{\"2024-01-01 12:00:00\"}"),
            "2024-01-01 12:00:00"
        );
        assert_eq!(element_for(shifts, "id", "7"), "7");
        let tagged = Table {
            columns: vec![column("tags", "text[]"), column("meta", "jsonb")],
            ..shifts.clone()
        };
        assert_eq!(element_for(&tagged, "tags", "{a}"), "{a}");
        assert_eq!(element_for(&tagged, "meta", "{}"), "{}");
    }

    fn tables() -> Tables {
        let mut shifts = Table {
            oid: 1,
            schema: "public".into(),
            name: "shifts".into(),
            partitioned: false,
            columns: vec![
                Column {
                    default: Some("nextval('shifts_id_seq'::regclass)".into()),
                    not_null: true,
                    ..column("id", "integer")
                },
                Column {
                    not_null: true,
                    ..column("starts_at", "timestamp with time zone")
                },
                Column {
                    not_null: true,
                    ..column("ends_at", "timestamp with time zone")
                },
            ],
            checks: vec![super::super::catalog::Check {
                name: "shifts_check".into(),
                definition: "CHECK ((starts_at < ends_at))".into(),
                value_column: None,
            }],
            foreign_keys: vec![],
            unique_keys: vec![vec!["id".into()]],
            existing: vec![],
        };
        shifts.columns[0].identity = None;
        let oncall = Table {
            oid: 2,
            schema: "public".into(),
            name: "oncall".into(),
            partitioned: false,
            columns: vec![
                Column {
                    not_null: true,
                    ..column("shift_id", "integer")
                },
                Column {
                    not_null: true,
                    labels: vec!["on".into(), "off".into()],
                    ..column("state", "duty")
                },
                column("note", "text"),
            ],
            checks: vec![],
            foreign_keys: vec![super::super::catalog::ForeignKey {
                name: "oncall_shift_id_fkey".into(),
                columns: vec!["shift_id".into()],
                parent: 0,
                parent_columns: vec!["id".into()],
            }],
            unique_keys: vec![],
            existing: vec![],
        };
        Tables {
            flavor: None,
            tables: vec![shifts, oncall],
            schemas: vec![],
            types: Default::default(),
            functions: Vec::new(),
        }
    }

    #[test]
    fn parents_come_first_and_rows_satisfy_checks_and_enums() {
        let tables = tables();
        let mut wanted = Wanted::default();
        wanted.rows.insert(
            1,
            BTreeSet::from([(false, Pins::from([("note".to_string(), "x".to_string())]))]),
        );
        wanted.literals.insert("off".into());
        let mut maker = Maker::new(&tables, &wanted);
        maker.make_all();
        let statements: Vec<String> = maker.made.iter().map(|made| made.sql(&tables)).collect();
        assert_eq!(
            statements,
            [
                "INSERT INTO \"public\".\"shifts\" (\"id\", \"starts_at\", \"ends_at\") VALUES \
                 ('1002', '2024-01-01 12:00:00', '2024-01-02 12:00:00') ON CONFLICT DO NOTHING",
                "INSERT INTO \"public\".\"oncall\" (\"shift_id\", \"state\", \"note\") VALUES \
                 ('1002', 'off', 'x') ON CONFLICT DO NOTHING",
            ]
        );
    }
}
