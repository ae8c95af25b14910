//! Conditions on a row's columns, read from a CHECK constraint (as `pg_get_constraintdef`
//! prints it) or from a statement's predicates, and a small solver that changes the columns a
//! row is free to change until the simple ones hold: comparisons with values, with `now()` and
//! between columns (`starts_at < ends_at`), `IN` lists and `= ANY (ARRAY[...])`, `BETWEEN`,
//! `IS [NOT] NULL`, under `AND`, `OR` and `NOT`. Anything else is opaque: the server decides,
//! and the seed retries with other values when it says no.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use sqlparser::ast::{BinaryOperator, Expr, InTarget, UnaryOperator, Value};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

/// What a column's values are, for comparing and choosing them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Integer,
    Decimal,
    Boolean,
    Text,
    Timestamp,
    Date,
    Other,
}

impl Kind {
    /// From a type as `format_type` prints it.
    pub fn of(data_type: &str) -> Kind {
        let base = data_type.split('(').next().unwrap_or("").trim();
        if data_type.ends_with("[]") {
            return Kind::Other;
        }
        match base {
            "smallint" | "integer" | "bigint" => Kind::Integer,
            "numeric" | "real" | "double precision" | "money" => Kind::Decimal,
            "boolean" => Kind::Boolean,
            "text" | "character varying" | "character" | "citext" | "name" => Kind::Text,
            "date" => Kind::Date,
            _ if base.starts_with("timestamp") => Kind::Timestamp,
            _ => Kind::Other,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operand {
    Column(String),
    Value(String),
    Null,
    /// `now()`, `CURRENT_TIMESTAMP` and their kin.
    Now,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl Op {
    fn negate(self) -> Op {
        match self {
            Op::Lt => Op::Ge,
            Op::Le => Op::Gt,
            Op::Gt => Op::Le,
            Op::Ge => Op::Lt,
            Op::Eq => Op::Ne,
            Op::Ne => Op::Eq,
        }
    }

    /// `a op b` as `b op' a`.
    fn flip(self) -> Op {
        match self {
            Op::Lt => Op::Gt,
            Op::Le => Op::Ge,
            Op::Gt => Op::Lt,
            Op::Ge => Op::Le,
            other => other,
        }
    }

    fn holds(self, ordering: Ordering) -> bool {
        match self {
            Op::Lt => ordering == Ordering::Less,
            Op::Le => ordering != Ordering::Greater,
            Op::Gt => ordering == Ordering::Greater,
            Op::Ge => ordering != Ordering::Less,
            Op::Eq => ordering == Ordering::Equal,
            Op::Ne => ordering != Ordering::Equal,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Atom {
    Compare(String, Op, Operand),
    IsNull(String),
    IsNotNull(String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
}

impl Atom {
    pub fn column(&self) -> &str {
        match self {
            Atom::Compare(column, ..)
            | Atom::IsNull(column)
            | Atom::IsNotNull(column)
            | Atom::In(column, _)
            | Atom::NotIn(column, _) => column,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    All(Vec<Condition>),
    Any(Vec<Condition>),
    Atom(Atom),
    /// Something the solver does not read.
    Opaque,
}

impl Condition {
    /// A CHECK constraint as `pg_get_constraintdef` prints it (`CHECK ((a < b))`, maybe
    /// `NOT VALID`); a domain's `VALUE` is `value_column`.
    pub fn from_check(definition: &str, value_column: Option<&str>) -> Condition {
        let body = definition
            .trim()
            .strip_prefix("CHECK")
            .unwrap_or(definition)
            .trim();
        let body = body.strip_suffix("NOT VALID").unwrap_or(body).trim();
        let body = body.strip_suffix("NO INHERIT").unwrap_or(body).trim();
        let Ok(expr) = Parser::new(&PostgreSqlDialect {})
            .with_recursion_limit(50)
            .try_with_sql(body)
            .and_then(|mut parser| parser.parse_expr())
        else {
            return Condition::Opaque;
        };
        Reader { value_column }.condition(&expr, false)
    }

    /// The simple comparisons anywhere in `expr` (a statement's predicates), as hints.
    pub fn atoms_of(expr: &Expr) -> Vec<Atom> {
        let mut atoms = Vec::new();
        if let Condition::Atom(atom) = (Reader { value_column: None }).condition(expr, false) {
            atoms.push(atom);
        }
        atoms
    }

    /// The columns it names.
    pub fn columns(&self, into: &mut BTreeSet<String>) {
        match self {
            Condition::All(items) | Condition::Any(items) => {
                items.iter().for_each(|item| item.columns(into));
            }
            Condition::Atom(atom) => {
                into.insert(atom.column().to_string());
                if let Atom::Compare(_, _, Operand::Column(other)) = atom {
                    into.insert(other.clone());
                }
            }
            Condition::Opaque => {}
        }
    }
}

struct Reader<'a> {
    value_column: Option<&'a str>,
}

impl Reader<'_> {
    /// `expr` in negation normal form (`negated`: under an odd number of NOTs).
    fn condition(&self, expr: &Expr, negated: bool) -> Condition {
        match expr {
            Expr::Nested(inner) => self.condition(inner, negated),
            Expr::UnaryOp {
                op: UnaryOperator::Not,
                expr,
            } => self.condition(expr, !negated),
            Expr::BinaryOp { left, op, right } => match op {
                BinaryOperator::And | BinaryOperator::Or => {
                    let items = vec![
                        self.condition(left, negated),
                        self.condition(right, negated),
                    ];
                    if (*op == BinaryOperator::And) != negated {
                        Condition::All(items)
                    } else {
                        Condition::Any(items)
                    }
                }
                _ => {
                    let Some(op) = comparison(op) else {
                        return Condition::Opaque;
                    };
                    let op = if negated { op.negate() } else { op };
                    // `now() - last_seen >= $1`: an age at least some interval, which a
                    // timestamp in the past has (taken as `last_seen < now()`).
                    let old_enough = match (self.age(left), self.age(right)) {
                        (Some(column), _) if matches!(op, Op::Gt | Op::Ge) => Some(column),
                        (_, Some(column)) if matches!(op, Op::Lt | Op::Le) => Some(column),
                        _ => None,
                    };
                    if let Some(column) = old_enough {
                        return Condition::Atom(Atom::Compare(column, Op::Lt, Operand::Now));
                    }
                    match (self.operand(left), self.operand(right)) {
                        (Some(Operand::Column(column)), Some(other)) => {
                            Condition::Atom(Atom::Compare(column, op, other))
                        }
                        (Some(other), Some(Operand::Column(column))) => {
                            Condition::Atom(Atom::Compare(column, op.flip(), other))
                        }
                        _ => Condition::Opaque,
                    }
                }
            },
            Expr::IsNull(inner) | Expr::IsNotNull(inner) => {
                let Some(Operand::Column(column)) = self.operand(inner) else {
                    return Condition::Opaque;
                };
                if matches!(expr, Expr::IsNull(_)) != negated {
                    Condition::Atom(Atom::IsNull(column))
                } else {
                    Condition::Atom(Atom::IsNotNull(column))
                }
            }
            Expr::In {
                expr: inner,
                target: InTarget::List(list),
                negated: not_in,
                ..
            } => self.membership(inner, list, *not_in != negated),
            Expr::AnyOp {
                left,
                compare_op: BinaryOperator::Eq,
                right,
                ..
            } => match (array_elements(right), self.operand(right)) {
                (Some(list), _) => self.membership(left, list, negated),
                // `= ANY('{a,b}')`: an array literal, as a bound parameter becomes.
                (None, Some(Operand::Value(literal))) => {
                    match (self.operand(left), array_literal(&literal)) {
                        (Some(Operand::Column(column)), Some(values)) if negated => {
                            Condition::Atom(Atom::NotIn(column, values))
                        }
                        (Some(Operand::Column(column)), Some(values)) => {
                            Condition::Atom(Atom::In(column, values))
                        }
                        _ => Condition::Opaque,
                    }
                }
                _ => Condition::Opaque,
            },
            Expr::AllOp {
                left,
                compare_op: BinaryOperator::NotEq,
                right,
            } => match array_elements(right) {
                Some(list) => self.membership(left, list, !negated),
                None => Condition::Opaque,
            },
            Expr::Between {
                expr: inner,
                negated: not_between,
                low,
                high,
            } => {
                let negated = negated != *not_between;
                let Some(Operand::Column(column)) = self.operand(inner) else {
                    return Condition::Opaque;
                };
                let (Some(low), Some(high)) = (self.operand(low), self.operand(high)) else {
                    return Condition::Opaque;
                };
                let (low_op, high_op) = if negated {
                    (Op::Lt, Op::Gt)
                } else {
                    (Op::Ge, Op::Le)
                };
                let items = vec![
                    Condition::Atom(Atom::Compare(column.clone(), low_op, low)),
                    Condition::Atom(Atom::Compare(column, high_op, high)),
                ];
                if negated {
                    Condition::Any(items)
                } else {
                    Condition::All(items)
                }
            }
            _ => Condition::Opaque,
        }
    }

    fn membership(&self, expr: &Expr, list: &[Expr], negated: bool) -> Condition {
        let Some(Operand::Column(column)) = self.operand(expr) else {
            return Condition::Opaque;
        };
        let values: Option<Vec<String>> = list
            .iter()
            .map(|item| match self.operand(item) {
                Some(Operand::Value(value)) => Some(value),
                _ => None,
            })
            .collect();
        match values {
            Some(values) if negated => Condition::Atom(Atom::NotIn(column, values)),
            Some(values) => Condition::Atom(Atom::In(column, values)),
            None => Condition::Opaque,
        }
    }

    /// The column of `now() - column`, the age of a timestamp.
    fn age(&self, expr: &Expr) -> Option<String> {
        match expr {
            Expr::Nested(inner) => self.age(inner),
            Expr::BinaryOp {
                left,
                op: BinaryOperator::Minus,
                right,
            } => match (self.operand(left)?, self.operand(right)?) {
                (Operand::Now, Operand::Column(column)) => Some(column),
                _ => None,
            },
            _ => None,
        }
    }

    fn operand(&self, expr: &Expr) -> Option<Operand> {
        match expr {
            Expr::Nested(inner) | Expr::Cast { expr: inner, .. } => self.operand(inner),
            Expr::Identifier(ident) => {
                let name = ident.value.clone();
                match self.value_column {
                    Some(column) if name.eq_ignore_ascii_case("value") => {
                        Some(Operand::Column(column.to_string()))
                    }
                    _ if ident.quote_style.is_none()
                        && ["current_timestamp", "current_date", "localtimestamp"]
                            .contains(&name.to_ascii_lowercase().as_str()) =>
                    {
                        Some(Operand::Now)
                    }
                    _ => Some(Operand::Column(name)),
                }
            }
            Expr::CompoundIdentifier(parts) => {
                parts.last().map(|part| Operand::Column(part.value.clone()))
            }
            Expr::Value(value) => match &value.value {
                Value::Number(number, _) => Some(Operand::Value(number.to_string())),
                Value::SingleQuotedString(text) | Value::EscapedStringLiteral(text) => {
                    Some(Operand::Value(text.clone()))
                }
                Value::Boolean(flag) => Some(Operand::Value(flag.to_string())),
                Value::Null => Some(Operand::Null),
                _ => None,
            },
            Expr::UnaryOp {
                op: UnaryOperator::Minus,
                expr,
            } => match self.operand(expr)? {
                Operand::Value(number) => Some(Operand::Value(format!("-{number}"))),
                _ => None,
            },
            Expr::Function(function) => {
                let name = function.name.to_string().to_ascii_lowercase();
                [
                    "now",
                    "current_timestamp",
                    "transaction_timestamp",
                    "statement_timestamp",
                    "clock_timestamp",
                    "pg_catalog.now",
                ]
                .contains(&name.as_str())
                .then_some(Operand::Now)
            }
            _ => None,
        }
    }
}

fn comparison(op: &BinaryOperator) -> Option<Op> {
    Some(match op {
        BinaryOperator::Lt => Op::Lt,
        BinaryOperator::LtEq => Op::Le,
        BinaryOperator::Gt => Op::Gt,
        BinaryOperator::GtEq => Op::Ge,
        BinaryOperator::Eq => Op::Eq,
        BinaryOperator::NotEq => Op::Ne,
        _ => return None,
    })
}

/// The elements of a one-dimensional array literal `{a,"b c"}`.
fn array_literal(literal: &str) -> Option<Vec<String>> {
    let inner = literal.trim().strip_prefix('{')?.strip_suffix('}')?;
    if inner.contains('{') {
        return None;
    }
    if inner.trim().is_empty() {
        return Some(Vec::new());
    }
    let mut values = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => quoted = !quoted,
            '\\' if quoted => current.extend(chars.next()),
            ',' if !quoted => values.push(std::mem::take(&mut current).trim().to_string()),
            _ => current.push(c),
        }
    }
    values.push(current.trim().to_string());
    Some(values)
}

fn array_elements(expr: &Expr) -> Option<&[Expr]> {
    match expr {
        Expr::Nested(inner) | Expr::Cast { expr: inner, .. } => array_elements(inner),
        Expr::Array(array) => Some(&array.elem),
        _ => None,
    }
}

/// A column's value in a row being made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slot {
    /// `None` is NULL.
    Value(Option<String>),
    /// Left to the column's default (or the server's numbering).
    Default,
}

/// A row being made: its columns' values, which of them may not change, and their kinds.
#[derive(Debug, Clone)]
pub struct Row {
    pub values: BTreeMap<String, Slot>,
    /// Columns whose values the transactions need (pinned) or a parent row fixes.
    pub fixed: BTreeSet<String>,
    pub kinds: BTreeMap<String, Kind>,
    pub nullable: BTreeSet<String>,
}

/// `now()` for comparisons: later than every past value chosen here, earlier than every
/// future one.
const NOW: &str = "2050-01-01 00:00:00";

const TIMESTAMPS: &[&str] = &[
    "1970-01-01 00:00:00",
    "2000-01-01 00:00:00",
    "2024-01-01 12:00:00",
    "2024-01-02 12:00:00",
    "2024-01-03 12:00:00",
    "2100-01-01 00:00:00",
];

impl Row {
    fn kind(&self, column: &str) -> Kind {
        self.kinds.get(column).copied().unwrap_or(Kind::Other)
    }

    fn value(&self, column: &str) -> Option<&Slot> {
        self.values.get(column)
    }

    fn free(&self, column: &str) -> bool {
        self.kinds.contains_key(column) && !self.fixed.contains(column)
    }

    /// Whether `condition` holds: `None` when it cannot be told here.
    pub fn holds(&self, condition: &Condition) -> Option<bool> {
        match condition {
            Condition::All(items) => {
                let results: Vec<Option<bool>> = items.iter().map(|c| self.holds(c)).collect();
                if results.contains(&Some(false)) {
                    Some(false)
                } else if results.iter().all(|r| *r == Some(true)) {
                    Some(true)
                } else {
                    None
                }
            }
            Condition::Any(items) => {
                let results: Vec<Option<bool>> = items.iter().map(|c| self.holds(c)).collect();
                if results.contains(&Some(true)) {
                    Some(true)
                } else if results.iter().all(|r| *r == Some(false)) {
                    Some(false)
                } else {
                    None
                }
            }
            Condition::Atom(atom) => self.atom_holds(atom),
            Condition::Opaque => None,
        }
    }

    fn known(&self, column: &str) -> Option<Option<&str>> {
        match self.value(column)? {
            Slot::Value(value) => Some(value.as_deref()),
            Slot::Default => None,
        }
    }

    fn atom_holds(&self, atom: &Atom) -> Option<bool> {
        let column = atom.column();
        let value = self.known(column)?;
        let kind = self.kind(column);
        match atom {
            Atom::IsNull(_) => Some(value.is_none()),
            Atom::IsNotNull(_) => Some(value.is_some()),
            // A NULL makes a CHECK pass and a WHERE fail; neither is a choice to rely on.
            Atom::In(_, list) => value.map(|value| {
                list.iter()
                    .any(|item| compare(kind, value, item) == Some(Ordering::Equal))
            }),
            Atom::NotIn(_, list) => value.map(|value| {
                list.iter()
                    .all(|item| compare(kind, value, item) != Some(Ordering::Equal))
            }),
            Atom::Compare(_, op, other) => {
                let value = value?;
                let other = match other {
                    Operand::Column(other) => self.known(other)??.to_string(),
                    Operand::Value(other) => other.clone(),
                    Operand::Now => NOW.to_string(),
                    Operand::Null => return None,
                };
                compare(kind, value, &other).map(|ordering| op.holds(ordering))
            }
        }
    }

    /// Changes free columns until `condition` holds, where it can; whether it holds (or
    /// cannot be told).
    pub fn satisfy(&mut self, condition: &Condition) -> bool {
        if self.holds(condition) == Some(true) {
            return true;
        }
        match condition {
            Condition::All(items) => {
                for _ in 0..2 {
                    for item in items {
                        self.satisfy(item);
                    }
                    if self.holds(condition) != Some(false) {
                        return true;
                    }
                }
                false
            }
            Condition::Any(items) => {
                let saved = self.values.clone();
                for item in items {
                    if self.satisfy(item) && self.holds(item) != Some(false) {
                        return true;
                    }
                    self.values = saved.clone();
                }
                false
            }
            Condition::Atom(atom) => {
                self.satisfy_atom(atom);
                self.holds(condition) != Some(false)
            }
            Condition::Opaque => true,
        }
    }

    fn set(&mut self, column: &str, value: Option<String>) {
        self.values.insert(column.to_string(), Slot::Value(value));
    }

    fn satisfy_atom(&mut self, atom: &Atom) {
        let column = atom.column().to_string();
        let kind = self.kind(&column);
        match atom {
            Atom::IsNull(_) if self.free(&column) && self.nullable.contains(&column) => {
                self.set(&column, None);
            }
            Atom::IsNotNull(_)
                if self.free(&column)
                    && !matches!(self.value(&column), Some(Slot::Value(Some(_)))) =>
            {
                if let Some(filler) = ladder(kind).first().cloned() {
                    self.set(&column, Some(filler));
                }
            }
            Atom::In(_, list) if self.free(&column) => {
                if let Some(first) = list.first() {
                    self.set(&column, Some(first.clone()));
                }
            }
            Atom::NotIn(_, list) if self.free(&column) => {
                let current = self.known(&column).flatten().map(str::to_string);
                let candidates = current.into_iter().chain(ladder(kind));
                if let Some(value) = candidates.into_iter().find(|value| !list.contains(value)) {
                    self.set(&column, Some(value));
                }
            }
            Atom::Compare(_, op, other) => {
                let target = match other {
                    Operand::Value(value) => Some(value.clone()),
                    Operand::Now => Some(NOW.to_string()),
                    Operand::Null => None,
                    Operand::Column(other) => {
                        // `a < b`: move whichever side is free, relative to the other.
                        let other_value = self.known(other).flatten().map(str::to_string);
                        let mine = self.known(&column).flatten().map(str::to_string);
                        if self.free(&column) && other_value.is_some() {
                            other_value
                        } else if self.free(other) {
                            let base = mine.or_else(|| ladder(kind).into_iter().nth(2));
                            if let Some(base) = base {
                                if self.known(&column).flatten().is_none() && self.free(&column) {
                                    self.set(&column, Some(base.clone()));
                                }
                                if let Some(chosen) = choose(kind, op.flip(), &base) {
                                    self.set(other, Some(chosen));
                                }
                            }
                            return;
                        } else {
                            None
                        }
                    }
                };
                if let Some(target) = target
                    && self.free(&column)
                    && let Some(chosen) = choose(kind, *op, &target)
                {
                    self.set(&column, Some(chosen));
                }
            }
            _ => {}
        }
    }
}

/// Values of a kind to try, in order of preference.
pub fn ladder(kind: Kind) -> Vec<String> {
    let values: &[&str] = match kind {
        Kind::Integer | Kind::Decimal => &["100", "1", "0", "1000", "-1"],
        Kind::Boolean => &["true", "false"],
        Kind::Text => &["x", "a", "z", ""],
        Kind::Timestamp => TIMESTAMPS,
        Kind::Date => &["2024-01-01", "2000-01-01", "2024-01-02", "2100-01-01"],
        Kind::Other => &[],
    };
    values.iter().map(|value| value.to_string()).collect()
}

/// Orders two values of a kind; `None` when they cannot be compared here.
pub fn compare(kind: Kind, a: &str, b: &str) -> Option<Ordering> {
    match kind {
        Kind::Integer | Kind::Decimal => {
            let (a, b) = (a.trim().parse::<f64>().ok()?, b.trim().parse::<f64>().ok()?);
            a.partial_cmp(&b)
        }
        Kind::Boolean => Some(boolean(a)?.cmp(&boolean(b)?)),
        Kind::Timestamp | Kind::Date => {
            let normal = |value: &str| value.trim().replace('T', " ");
            let (a, b) = (normal(a), normal(b));
            let length = a.len().min(b.len()).min(19);
            Some(a.get(..length)?.cmp(b.get(..length)?))
        }
        Kind::Text => Some(a.cmp(b)),
        Kind::Other => (a == b).then_some(Ordering::Equal),
    }
}

fn boolean(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "t" | "true" | "y" | "yes" | "on" | "1" => Some(true),
        "f" | "false" | "n" | "no" | "off" | "0" => Some(false),
        _ => None,
    }
}

/// A value `v` with `v op target`.
pub fn choose(kind: Kind, op: Op, target: &str) -> Option<String> {
    if op == Op::Eq {
        return Some(target.to_string());
    }
    match kind {
        Kind::Integer | Kind::Decimal => {
            let number: f64 = target.trim().parse().ok()?;
            let chosen = match op {
                Op::Lt => (number - 1.0).floor(),
                Op::Gt | Op::Ne => (number + 1.0).floor(),
                Op::Le => number.floor(),
                Op::Ge => number.ceil(),
                Op::Eq => number,
            };
            chosen
                .is_finite()
                .then(|| format!("{}", chosen as i64))
                .filter(|_| chosen.abs() < 9.0e15)
        }
        Kind::Boolean => match op {
            Op::Ne => boolean(target).map(|flag| (!flag).to_string()),
            _ => None,
        },
        Kind::Timestamp | Kind::Date => {
            let candidates = ladder(kind);
            let fits = |candidate: &&String| {
                compare(kind, candidate, target).is_some_and(|ordering| op.holds(ordering))
            };
            match op {
                Op::Lt | Op::Le => candidates.iter().rev().find(fits).cloned(),
                _ => candidates.iter().find(fits).cloned(),
            }
        }
        Kind::Text => match op {
            Op::Lt => Some(String::new()).filter(|empty| empty.as_str() < target),
            Op::Le | Op::Ge => Some(target.to_string()),
            Op::Gt | Op::Ne => Some(format!("{target}z")),
            Op::Eq => Some(target.to_string()),
        },
        Kind::Other => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(columns: &[(&str, Kind, Option<&str>, bool)]) -> Row {
        Row {
            values: columns
                .iter()
                .map(|(name, _, value, _)| {
                    (name.to_string(), Slot::Value(value.map(str::to_string)))
                })
                .collect(),
            fixed: columns
                .iter()
                .filter(|(_, _, _, fixed)| *fixed)
                .map(|(name, ..)| name.to_string())
                .collect(),
            kinds: columns
                .iter()
                .map(|(name, kind, ..)| (name.to_string(), *kind))
                .collect(),
            nullable: BTreeSet::new(),
        }
    }

    fn value<'a>(row: &'a Row, column: &str) -> Option<&'a str> {
        match row.values.get(column) {
            Some(Slot::Value(value)) => value.as_deref(),
            _ => None,
        }
    }

    #[test]
    fn an_age_of_at_least_an_interval_wants_a_past_timestamp() {
        let parse = |sql: &str| {
            let statement = &crate::confirm::plan::prepare(&format!("SELECT 1 WHERE {sql}"))
                .expect("parses")[0];
            let mut atoms = Vec::new();
            let _ = sqlparser::ast::visit_expressions(statement, |expr: &Expr| {
                atoms.extend(Condition::atoms_of(expr));
                std::ops::ControlFlow::<()>::Continue(())
            });
            atoms
        };
        let stale = Atom::Compare("last_seen".into(), Op::Lt, Operand::Now);
        assert!(parse("NOW() - workers.last_seen >= '4'").contains(&stale));
        assert!(parse("'4' < now() - last_seen").contains(&stale));
        assert!(!parse("now() - last_seen < '4'").contains(&stale));
    }

    #[test]
    fn a_range_between_two_columns_is_made_to_hold() {
        let check = Condition::from_check("CHECK ((starts_at < ends_at))", None);
        let mut booking = row(&[
            (
                "starts_at",
                Kind::Timestamp,
                Some("2024-01-02 12:00:00"),
                false,
            ),
            (
                "ends_at",
                Kind::Timestamp,
                Some("2024-01-02 12:00:00"),
                false,
            ),
        ]);
        assert_eq!(booking.holds(&check), Some(false));
        assert!(booking.satisfy(&check));
        assert_eq!(booking.holds(&check), Some(true));
        assert_eq!(value(&booking, "starts_at"), Some("2024-01-01 12:00:00"));
    }

    #[test]
    fn printed_checks_are_read() {
        let check = Condition::from_check(
            "CHECK ((status = ANY (ARRAY['todo'::text, 'done'::text])))",
            None,
        );
        assert_eq!(
            check,
            Condition::Atom(Atom::In(
                "status".into(),
                vec!["todo".into(), "done".into()]
            ))
        );
        let between = Condition::from_check("CHECK (((n >= 1) AND (n <= 10)))", None);
        let mut counter = row(&[("n", Kind::Integer, Some("100"), false)]);
        assert!(counter.satisfy(&between));
        assert_eq!(counter.holds(&between), Some(true));
        let positive = Condition::from_check("CHECK ((VALUE > 0))", Some("amount"));
        let mut payment = row(&[("amount", Kind::Decimal, Some("-5"), false)]);
        assert!(payment.satisfy(&positive));
        assert_eq!(value(&payment, "amount"), Some("1"));
        assert_eq!(
            Condition::from_check("CHECK ((char_length(name) > 0))", None),
            Condition::Opaque
        );
        assert_eq!(
            Condition::from_check(
                "CHECK ((queue = ANY (CAST('{a,\"b c\"}' AS text[]))))",
                None
            ),
            Condition::Atom(Atom::In("queue".into(), vec!["a".into(), "b c".into()]))
        );
    }

    #[test]
    fn a_disjunction_takes_a_branch_the_fixed_columns_allow() {
        let check = Condition::from_check(
            "CHECK ((((status = 'done'::text) AND (finished_at IS NOT NULL)) OR \
             ((status <> 'done'::text) AND (finished_at IS NULL))))",
            None,
        );
        let mut job = row(&[
            ("status", Kind::Text, Some("done"), true),
            ("finished_at", Kind::Timestamp, None, false),
        ]);
        assert!(job.satisfy(&check));
        assert!(value(&job, "finished_at").is_some());
        let not = Condition::from_check("CHECK ((NOT (attempts > max_attempts)))", None);
        let mut retries = row(&[
            ("attempts", Kind::Integer, Some("100"), true),
            ("max_attempts", Kind::Integer, Some("25"), false),
        ]);
        assert!(retries.satisfy(&not));
        assert_eq!(value(&retries, "max_attempts"), Some("100"));
    }

    #[test]
    fn fixed_values_are_never_changed() {
        let check = Condition::from_check("CHECK ((balance >= 0))", None);
        let mut account = row(&[("balance", Kind::Integer, Some("-3"), true)]);
        assert!(!account.satisfy(&check));
        assert_eq!(value(&account, "balance"), Some("-3"));
    }
}
