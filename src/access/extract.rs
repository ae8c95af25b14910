//! sqlparser statement → accesses. The only place in `access` that sees sqlparser types.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;

use sqlparser::tokenizer::Location;

use sqlparser::ast::{
    Assignment, AssignmentTarget, BinaryOperator, ConflictTarget, Expr, FromTable, FunctionArg,
    FunctionArgExpr, FunctionArguments, GroupByExpr, Ident, InTarget, JoinConstraint, JoinOperator,
    Merge, MergeAction, MergeClauseKind, MergeUpdateKind, OnConflictAction, OnInsert, OrderByKind,
    Query, Select, SelectItem, SelectItemQualifiedWildcardKind, SetExpr, Statement, TableFactor,
    TableObject, TableWithJoins, UnaryOperator, UpdateTableFromKind, Value, Visit, Visitor,
    visit_expressions_mut,
};

use super::condition::{Condition, Constant, Operand};
use super::{
    Access, AccessKind, Arbiter, Bound, Call, Columns, Comparison, Derived, Domain, LockTarget,
    OnConflict, RowSet, SetValue, Term,
};
use crate::catalog::from_ast::{ident, object_name};
use crate::catalog::{Catalog, KeyKind};
use crate::parse::{LockClause, StatementLocks};

/// The accesses of one statement. `locks` are the lock clauses recognised from its tokens.
pub fn accesses(statement: &Statement, locks: &StatementLocks, catalog: &Catalog) -> Vec<Access> {
    accesses_and_joins(statement, locks, catalog).0
}

/// Two columns of two rows a statement reads that a join (or its WHERE) makes equal: `(access,
/// column)` on each side, accesses indexed as [`accesses_and_joins`] returns them. An outer
/// join's rows of `right` match `left`'s value, but `left`'s rows need no match: its values
/// flow one way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Join {
    pub left: (usize, String),
    pub right: (usize, String),
    pub both_ways: bool,
}

/// [`accesses`], and the inner-join equalities between the rows they read, so that a value
/// learnt later for one side (the routine variable a `SELECT ... INTO` fills) is known for the
/// other too.
pub fn accesses_and_joins(
    statement: &Statement,
    locks: &StatementLocks,
    catalog: &Catalog,
) -> (Vec<Access>, Vec<Join>) {
    let mut extractor = Extractor {
        catalog,
        accesses: Vec::new(),
        ctes: Vec::new(),
        anonymous: 0,
        nested_lock: locks.nested,
        lock_owners: None,
        lock_of: locks.of.clone(),
        uncommitted: locks.uncommitted,
        after_write: false,
        cte_rows: Vec::new(),
        last_from: Vec::new(),
        cte_sources: Vec::new(),
        joins: Vec::new(),
        cte_arrays: Vec::new(),
    };
    let top = if matches!(statement, Statement::Query(_)) {
        locks.top
    } else {
        // `INSERT ... SELECT ... FOR UPDATE`: the lock belongs to the source query.
        extractor.nested_lock = extractor.nested_lock.or(locks.top);
        None
    };
    // A top-level clause moved into the source query has no position of its own.
    if matches!(statement, Statement::Query(_)) || locks.top.is_none() {
        extractor.lock_owners = lock_owners(statement, &locks.nested_starts);
    }
    extractor.statement(statement, top);
    (extractor.accesses, extractor.joins)
}

/// Where the queries the nested lock clauses at `starts` are written in begin, when each of
/// `starts` is where one of `statement`'s queries begins; `None` otherwise (a position that
/// an edit to the text moved, or a query form [`query_start`] does not know), and then every
/// nested query takes the lock, as when nothing says which one holds it.
fn lock_owners(statement: &Statement, starts: &[(u64, u64)]) -> Option<Vec<Location>> {
    struct Starts(Vec<Location>);
    impl Visitor for Starts {
        type Break = ();

        fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
            self.0.extend(query_start(query));
            ControlFlow::Continue(())
        }
    }
    if starts.is_empty() {
        return None;
    }
    let mut found = Starts(Vec::new());
    let _ = statement.visit(&mut found);
    let owners: Vec<Location> = starts
        .iter()
        .map(|&(line, column)| Location::new(line, column))
        .collect();
    owners
        .iter()
        .all(|owner| found.0.contains(owner))
        .then_some(owners)
}

/// Where `query`'s first token is: its `WITH` or its first `SELECT`.
fn query_start(query: &Query) -> Option<Location> {
    if let Some(with) = &query.with {
        return Some(with.with_token.0.span.start);
    }
    fn body_start(body: &SetExpr) -> Option<Location> {
        match body {
            SetExpr::Select(select) => Some(select.select_token.0.span.start),
            SetExpr::SetOperation { left, .. } => body_start(left),
            _ => None,
        }
    }
    body_start(&query.body).filter(|start| start.line > 0)
}

/// The calls a statement makes: functions in expressions, table functions in `FROM`, and
/// `CALL`.
pub fn calls(statement: &Statement) -> Vec<Call> {
    struct Calls(Vec<Call>);
    impl Calls {
        fn push(
            &mut self,
            name: &sqlparser::ast::ObjectName,
            arguments: Vec<Expr>,
            procedure: bool,
        ) {
            self.0.push(Call {
                name: object_name(name),
                arguments: arguments.iter().map(call_argument).collect(),
                procedure,
            });
        }
    }
    impl Visitor for Calls {
        type Break = ();

        fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
            if let Expr::Function(function) = expr {
                self.push(&function.name, function_args(&function.args), false);
            }
            ControlFlow::Continue(())
        }

        fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
            if let TableFactor::Table {
                name,
                args: Some(args),
                ..
            } = factor
            {
                let arguments = args
                    .args
                    .iter()
                    .filter_map(|arg| match arg {
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(expr))
                        | FunctionArg::Named {
                            arg: FunctionArgExpr::Expr(expr),
                            ..
                        } => Some(expr.clone()),
                        _ => None,
                    })
                    .collect();
                self.push(name, arguments, false);
            }
            ControlFlow::Continue(())
        }
    }
    let mut calls = Calls(Vec::new());
    if let Statement::Execute {
        name: Some(name),
        parameters,
        ..
    } = statement
    {
        calls.push(name, parameters.clone(), true);
    } else if let Statement::Call(function) = statement {
        calls.push(&function.name, function_args(&function.args), true);
        for argument in function_args(&function.args) {
            let _ = argument.visit(&mut calls);
        }
    } else {
        let _ = statement.visit(&mut calls);
    }
    calls.0
}

/// The values a query's callers pass for some of its parameters, as SQL literals, by the
/// parameter's name without its sigil (`statuses` for `%(statuses)s`, `:statuses`, `@statuses`).
pub type ParameterValues = BTreeMap<String, Vec<String>>;

/// Puts the values callers are declared to pass (`[parameters]` in `isolint.toml`) where the
/// statement compares a parameter with a column: `c = ANY(:p)` becomes `c = ANY(ARRAY[...])`
/// and `c = :p` becomes `c IN (...)`, so the column's literal domain is those values. A
/// parameter with one value is that literal wherever it stands. A value that is no SQL literal
/// leaves its parameter as it is (the config writes every value as one).
pub fn bind_parameter_values(statement: &mut Statement, values: &ParameterValues) {
    let literals: BTreeMap<&str, Vec<Expr>> = values
        .iter()
        .filter_map(|(name, texts)| {
            let exprs: Option<Vec<Expr>> = texts.iter().map(|text| literal_expr(text)).collect();
            Some((name.as_str(), exprs?))
        })
        .collect();
    let declared = |expr: &Expr| declared_parameter(expr, &literals);
    let _ = visit_expressions_mut(statement, |expr| {
        match expr {
            Expr::AnyOp {
                compare_op: BinaryOperator::Eq,
                right,
                ..
            } => {
                if let Some(exprs) = declared(right) {
                    **right = Expr::Array(sqlparser::ast::Array {
                        elem: exprs,
                        named: true,
                    });
                }
            }
            Expr::BinaryOp {
                left,
                op: BinaryOperator::Eq,
                right,
            } => {
                let (column, values) = match declared(right) {
                    Some(values) => (left, Some(values)),
                    None => (right, declared(left)),
                };
                if let Some(exprs) = values {
                    let column = std::mem::replace(column.as_mut(), Expr::value(Value::Null));
                    *expr = Expr::In {
                        expr: Box::new(column),
                        target: InTarget::List(exprs),
                        negated: false,
                        global: false,
                    };
                }
            }
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    let _ = visit_expressions_mut(statement, |expr| {
        if let Some(exprs) = declared(expr)
            && let [only] = exprs.as_slice()
        {
            *expr = only.clone();
        }
        ControlFlow::<()>::Continue(())
    });
}

/// The parameter `expr` is (through casts and parentheses), when its values are declared.
fn declared_parameter(expr: &Expr, literals: &BTreeMap<&str, Vec<Expr>>) -> Option<Vec<Expr>> {
    let name = match expr {
        Expr::Value(value) => match &value.value {
            Value::Placeholder(name) => name.trim_start_matches([':', '@', '$']),
            _ => return None,
        },
        Expr::Identifier(ident) => ident.value.strip_prefix('@')?,
        Expr::Nested(inner) | Expr::Cast { expr: inner, .. } => {
            return declared_parameter(inner, literals);
        }
        _ => return None,
    };
    literals.get(name).cloned()
}

/// A literal written in SQL (`'failed'`, `3`, `true`), as the term a pin or a SET holds.
pub fn literal_term(text: &str) -> Option<Term> {
    plain_term(&literal_expr(text)?)
}

/// A literal written in SQL (`'failed'`, `3`, `true`), as an expression.
fn literal_expr(text: &str) -> Option<Expr> {
    let dialect = sqlparser::dialect::PostgreSqlDialect {};
    let expr = sqlparser::parser::Parser::new(&dialect)
        .try_with_sql(text)
        .ok()?
        .parse_expr()
        .ok()?;
    plain_term(&expr).is_some().then_some(expr)
}

/// Makes a routine's variables parameters: an unqualified name that `variable` knows (a
/// PL/pgSQL variable or argument), or `record.field` whose record it knows (`NEW.id`,
/// a loop's `r.id`), becomes a placeholder named after it; `$n` is renamed the same way.
/// PostgreSQL rejects a name that could be both a column and a variable unless qualified, so
/// an unqualified known name is the variable.
pub fn bind_variables(statement: &mut Statement, variable: &dyn Fn(&str) -> Option<String>) {
    let placeholder = |name: String| {
        Expr::Value(sqlparser::ast::ValueWithSpan {
            value: Value::Placeholder(name),
            span: sqlparser::tokenizer::Span::empty(),
        })
    };
    let _ = visit_expressions_mut(statement, |expr| {
        let bound = match expr {
            Expr::Identifier(name) if name.quote_style.is_none() => variable(&ident(name)),
            Expr::CompoundIdentifier(parts) if parts.len() == 2 => {
                variable(&format!("{}.{}", ident(&parts[0]), ident(&parts[1]))).or_else(|| {
                    variable(&ident(&parts[0]))
                        .map(|record| format!("{record}.{}", ident(&parts[1])))
                })
            }
            Expr::Value(value) => match &value.value {
                Value::Placeholder(name) if name.starts_with('$') => variable(name),
                _ => None,
            },
            _ => None,
        };
        if let Some(name) = bound {
            *expr = placeholder(name);
        }
        ControlFlow::<()>::Continue(())
    });
}

/// A call's argument: a term, or NULL (`NULL`, `NULL::bigint`), which a callee's branch
/// conditions can test.
fn call_argument(expr: &Expr) -> Option<Term> {
    plain_term(expr).or_else(|| is_null_literal(expr).then(Term::null))
}

fn is_null_literal(expr: &Expr) -> bool {
    match expr {
        Expr::Value(value) => matches!(value.value, Value::Null),
        Expr::Nested(inner) | Expr::Cast { expr: inner, .. } => is_null_literal(inner),
        _ => false,
    }
}

/// The branch condition of `SELECT <condition>` (a routine's `IF`, `WHILE` or `CASE WHEN`
/// read as a query, its variables bound by [`bind_variables`]), as far as constants can
/// decide it.
pub fn condition(statement: &Statement) -> Condition {
    let Statement::Query(query) = statement else {
        return Condition::Unknown;
    };
    let SetExpr::Select(select) = query.body.as_ref() else {
        return Condition::Unknown;
    };
    match select.projection.as_slice() {
        [SelectItem::UnnamedExpr(expr)] if select.from.is_empty() && select.selection.is_none() => {
            condition_of(expr)
        }
        _ => Condition::Unknown,
    }
}

fn condition_of(expr: &Expr) -> Condition {
    let boxed = |expr: &Expr| Box::new(condition_of(expr));
    let is = |expr: &Expr, value: bool, negated: bool| Condition::Is {
        condition: boxed(expr),
        value,
        negated,
    };
    match expr {
        Expr::Nested(inner) => condition_of(inner),
        Expr::UnaryOp {
            op: UnaryOperator::Not,
            expr,
        } => Condition::Not(boxed(expr)),
        Expr::BinaryOp { left, op, right } => match op {
            BinaryOperator::And => Condition::And(boxed(left), boxed(right)),
            BinaryOperator::Or => Condition::Or(boxed(left), boxed(right)),
            BinaryOperator::Eq | BinaryOperator::NotEq => match (operand(left), operand(right)) {
                (Some(left), Some(right)) => Condition::Compare {
                    left,
                    right,
                    equal: *op == BinaryOperator::Eq,
                },
                _ => Condition::Unknown,
            },
            _ => Condition::Unknown,
        },
        Expr::IsNull(inner) => operand(inner).map_or(Condition::Unknown, Condition::IsNull),
        Expr::IsNotNull(inner) => operand(inner).map_or(Condition::Unknown, |operand| {
            Condition::Not(Box::new(Condition::IsNull(operand)))
        }),
        Expr::IsTrue(inner) => is(inner, true, false),
        Expr::IsNotTrue(inner) => is(inner, true, true),
        Expr::IsFalse(inner) => is(inner, false, false),
        Expr::IsNotFalse(inner) => is(inner, false, true),
        _ => operand(expr).map_or(Condition::Unknown, Condition::Value),
    }
}

/// A variable (a bound placeholder, or a T-SQL `@v`) or a literal.
fn operand(expr: &Expr) -> Option<Operand> {
    match call_argument(expr)? {
        Term::Param(name) => Some(Operand::Variable(name)),
        Term::Literal(literal) => Constant::from_literal(&literal).map(Operand::Constant),
    }
}

/// A literal or named parameter, without the naming of anonymous `?` that needs a column.
fn plain_term(expr: &Expr) -> Option<Term> {
    match expr {
        Expr::Value(value) => match &value.value {
            Value::Placeholder(name) if is_anonymous(name) => None,
            Value::Placeholder(name) => Some(Term::Param(name.clone())),
            Value::Number(number, _) => Some(Term::Literal(normal_number(number))),
            Value::SingleQuotedString(text)
            | Value::NationalStringLiteral(text)
            | Value::EscapedStringLiteral(text) => Some(Term::Literal(format!("'{text}'"))),
            Value::Boolean(flag) => Some(Term::Literal(flag.to_string())),
            // `X'0A'` and T-SQL's `0x0A`: one spelling for one byte string.
            Value::HexStringLiteral(hex) => {
                Some(Term::Literal(format!("X'{}'", hex.to_ascii_uppercase())))
            }
            _ => None,
        },
        Expr::Identifier(Ident { value, .. }) if value.starts_with('@') => {
            Some(Term::Param(value.to_ascii_lowercase()))
        }
        Expr::Nested(inner) | Expr::Cast { expr: inner, .. } => plain_term(inner),
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => match plain_term(expr)? {
            Term::Literal(number) => Some(Term::Literal(format!("-{number}"))),
            param => Some(param),
        },
        _ => None,
    }
}

/// One spelling per number: `1.0`, `1.00` and `1` are `1`; `0.50` is `0.5`.
fn normal_number(number: &str) -> String {
    match number.split_once('.') {
        Some((whole, fraction)) if fraction.chars().all(|c| c.is_ascii_digit()) => {
            let fraction = fraction.trim_end_matches('0');
            let whole = if whole.is_empty() { "0" } else { whole };
            if fraction.is_empty() {
                whole.to_string()
            } else {
                format!("{whole}.{fraction}")
            }
        }
        _ => number.to_string(),
    }
}

/// Whether a statement reads or writes table data (rather than DDL, SET or control).
pub fn is_data_statement(statement: &Statement) -> bool {
    matches!(
        statement,
        Statement::Query(_)
            | Statement::Insert(_)
            | Statement::Update(_)
            | Statement::Delete(_)
            | Statement::Merge(_)
            | Statement::Lock(_)
            | Statement::LockTables { .. }
            | Statement::Call(_)
            | Statement::Execute { name: Some(_), .. }
    )
}

/// The tables a `SELECT` reads in its top-level `FROM`, in order, when they are all plain
/// tables: for each, whether every row of the result holds one of its rows (it is not on the
/// nullable side of an outer join). `None` for anything else (a subquery in `FROM`, a set
/// operation). Together with the statement's accesses it tells a lookup whose tables each
/// contributed their row.
pub fn from_tables(statement: &Statement) -> Option<Vec<bool>> {
    let Statement::Query(query) = statement else {
        return None;
    };
    let SetExpr::Select(select) = query.body.as_ref() else {
        return None;
    };
    let plain = |factor: &TableFactor| matches!(factor, TableFactor::Table { .. });
    let mut tables = Vec::new();
    for from in &select.from {
        if !plain(&from.relation) {
            return None;
        }
        let first = tables.len();
        tables.push(true);
        for join in &from.joins {
            if !plain(&join.relation) {
                return None;
            }
            match join.join_operator {
                JoinOperator::Join(_) | JoinOperator::Inner(_) | JoinOperator::CrossJoin(_) => {
                    tables.push(true)
                }
                JoinOperator::Left(_) | JoinOperator::LeftOuter(_) => tables.push(false),
                JoinOperator::Right(_) | JoinOperator::RightOuter(_) => {
                    // Everything joined so far is on the nullable side.
                    for inner in &mut tables[first..] {
                        *inner = false;
                    }
                    tables.push(true);
                }
                _ => return None,
            }
        }
    }
    Some(tables)
}

type ColumnRef = (Option<String>, String);

static TRUE: Expr = Expr::Value(sqlparser::ast::ValueWithSpan {
    value: Value::Boolean(true),
    span: sqlparser::tokenizer::Span::empty(),
});
static FALSE: Expr = Expr::Value(sqlparser::ast::ValueWithSpan {
    value: Value::Boolean(false),
    span: sqlparser::tokenizer::Span::empty(),
});

/// How the top-level query of a statement reads: its lock clause, and whether a LIMIT, FETCH
/// or TOP picks some of the matching rows.
#[derive(Debug, Clone, Copy, Default)]
struct ReadMode {
    lock: Option<LockClause>,
    limited: bool,
    /// The query of `EXISTS (...)`: its select list is never read, only whether rows match.
    exists: bool,
}

/// One table in a statement's FROM list.
struct ScopeEntry {
    /// The alias or, without one, the table name.
    alias: String,
    table: String,
    /// Index into `accesses`; `None` for CTEs and derived tables.
    access: Option<usize>,
    /// A derived table's reads: its columns are theirs (`(SELECT job.* FROM jobs job) AS j`
    /// filtered on `j.status` reads `jobs.status`).
    derived: Vec<usize>,
    /// A derived table's columns that are one base table's column row for row (see
    /// [`Extractor::passed_through`]): a condition on one restricts that table's rows.
    columns: BTreeMap<String, usize>,
    /// A derived table's plain columns (`(SELECT id FROM jobs WHERE ... LIMIT 10) AS m`), each
    /// with the base read it comes from when that is known, and the accesses the derived table
    /// made: a write joined to one by its key writes rows the derived table chose.
    picks: Option<Picks>,
}

/// A derived table's plain columns with the read each comes from, and its accesses.
type Picks = (Vec<(String, Option<usize>)>, std::ops::Range<usize>);

impl ScopeEntry {
    /// The access whose rows a condition on `column` restricts: the entry's own table, or the
    /// base table a derived table passes the column through from.
    fn restricted(&self, column: &str) -> Option<usize> {
        self.access.or_else(|| self.columns.get(column).copied())
    }
}

struct Extractor<'a> {
    catalog: &'a Catalog,
    accesses: Vec<Access>,
    ctes: Vec<String>,
    anonymous: usize,
    /// A lock clause found inside parentheses: applied to the nested queries (CTEs,
    /// subqueries, derived tables) that start where such a clause's query does
    /// ([`lock_owners`]), or to every nested query when those are not known.
    nested_lock: Option<LockClause>,
    /// Where the queries a nested lock clause is written in start; `None` when not every
    /// clause's query was found.
    lock_owners: Option<Vec<Location>>,
    /// `FOR UPDATE OF ...` names; empty when the lock covers every table.
    lock_of: Vec<String>,
    /// A `NOLOCK` / `READUNCOMMITTED` table hint in the statement.
    uncommitted: bool,
    /// Reading the outer query of a statement whose data-modifying CTE writes.
    after_write: bool,
    /// CTEs that return one column: name, column and the accesses of their query.
    cte_rows: Vec<(String, String, std::ops::Range<usize>)>,
    /// CTE columns that are one read's column (see [`Extractor::column_sources`]): name,
    /// column, that read and its alias in the CTE's FROM.
    cte_sources: Vec<(String, String, usize, String)>,
    /// The FROM list of the SELECT read last, as (alias, table, its read): what a derived
    /// table's or a CTE's columns come from.
    last_from: Vec<(String, String, Option<usize>)>,
    /// See [`Join`].
    joins: Vec<Join>,
    /// Columns of CTEs that unnest a parameter array (`x AS (SELECT unnest($1) AS id)`): CTE,
    /// column and the array.
    cte_arrays: Vec<(String, String, Expr)>,
}

/// Collects column references, subqueries and advisory locks of expressions, without going
/// into subqueries (those are reads of their own).
#[derive(Default)]
struct Collector {
    depth: usize,
    columns: Vec<ColumnRef>,
    subqueries: Vec<Subquery>,
    advisory: Vec<Vec<Expr>>,
    /// An `EXISTS` was just entered: the next query visited is its subquery.
    entering_exists: bool,
}

/// A query inside an expression.
struct Subquery {
    query: Query,
    /// Under `EXISTS`: only whether it finds rows counts.
    exists: bool,
}

impl Visitor for Collector {
    type Break = ();

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        if self.depth == 0 {
            self.subqueries.push(Subquery {
                query: query.clone(),
                exists: std::mem::take(&mut self.entering_exists),
            });
        }
        self.depth += 1;
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _query: &Query) -> ControlFlow<()> {
        self.depth -= 1;
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        if self.depth > 0 {
            return ControlFlow::Continue(());
        }
        match expr {
            Expr::Exists { .. } => self.entering_exists = true,
            Expr::Identifier(name) if !name.value.starts_with('@') => {
                self.columns.push((None, ident(name)));
            }
            Expr::CompoundIdentifier(parts) if parts.len() >= 2 => {
                let qualifier = ident(&parts[parts.len() - 2]);
                self.columns
                    .push((Some(qualifier), ident(&parts[parts.len() - 1])));
            }
            Expr::Function(function) => {
                let name = object_name(&function.name);
                if is_advisory_lock(&name) {
                    self.advisory.push(function_args(&function.args));
                }
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

fn is_advisory_lock(name: &str) -> bool {
    matches!(
        name,
        "pg_advisory_xact_lock"
            | "pg_advisory_lock"
            | "pg_try_advisory_xact_lock"
            | "pg_try_advisory_lock"
            | "get_lock"
    )
}

fn function_args(args: &FunctionArguments) -> Vec<Expr> {
    match args {
        FunctionArguments::List(list) => list
            .args
            .iter()
            .filter_map(|arg| match arg {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(expr)) => Some(expr.clone()),
                FunctionArg::Named {
                    arg: FunctionArgExpr::Expr(expr),
                    ..
                } => Some(expr.clone()),
                _ => None,
            })
            .collect(),
        _ => vec![],
    }
}

fn collect<V: Visit>(node: &V) -> Collector {
    let mut collector = Collector::default();
    let _ = node.visit(&mut collector);
    collector
}

/// The literal values each column can hold where `expr` is true: `=`, `<>`, `IN`, `NOT IN`,
/// `= ANY(ARRAY[...])`, `IS [NOT] NULL` and bare booleans, through AND, OR and NOT. A column
/// left out is unconstrained; a domain is always a superset of the values that pass.
fn domains(expr: &Expr) -> BTreeMap<ColumnRef, Domain> {
    match expr {
        Expr::Nested(inner) => domains(inner),
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => both_domains(domains(left), domains(right)),
        Expr::BinaryOp {
            left,
            op: BinaryOperator::Or,
            right,
        } => either_domains(domains(left), &domains(right)),
        Expr::BinaryOp { left, op, right }
            if matches!(op, BinaryOperator::Eq | BinaryOperator::NotEq) =>
        {
            let (column, value) = match (column_ref(left), column_ref(right)) {
                (Some(column), None) => (column, right.as_ref()),
                (None, Some(column)) => (column, left.as_ref()),
                // `t.lock_by = w.id`: neither side is NULL where it holds.
                (Some(a), Some(b)) => {
                    let mut both = single(Some(a), Domain::NotIn(not_null()));
                    both.extend(single(Some(b), Domain::NotIn(not_null())));
                    return both;
                }
                (None, None) => return BTreeMap::new(),
            };
            let Some(value) = literal(value) else {
                // `c = $1` or `c <> $1`: at least not NULL.
                return single(Some(column), Domain::NotIn(not_null()));
            };
            let domain = if *op == BinaryOperator::Eq {
                Domain::In(BTreeSet::from([value]))
            } else {
                Domain::NotIn(BTreeSet::from([value, Domain::NULL.to_string()]))
            };
            single(Some(column), domain)
        }
        // An order comparison or a pattern never holds for NULL.
        Expr::BinaryOp {
            left,
            op:
                op @ (BinaryOperator::Lt
                | BinaryOperator::LtEq
                | BinaryOperator::Gt
                | BinaryOperator::GtEq),
            right,
        } => {
            let mut both = single(column_ref(left), Domain::NotIn(not_null()));
            both.extend(single(column_ref(right), Domain::NotIn(not_null())));
            if let Some((column, excluded)) = before_clock(left, op.clone(), right) {
                both.insert(column, Domain::NotIn(excluded));
            }
            both
        }
        Expr::Like {
            expr,
            negated: false,
            ..
        }
        | Expr::ILike {
            expr,
            negated: false,
            ..
        } => single(column_ref(expr), Domain::NotIn(not_null())),
        Expr::In {
            expr,
            target: InTarget::List(list),
            negated,
            ..
        } => match literals(list) {
            Some(values) if *negated => {
                let mut values = values;
                values.insert(Domain::NULL.to_string());
                single(column_ref(expr), Domain::NotIn(values))
            }
            Some(values) => single(column_ref(expr), Domain::In(values)),
            None => single(column_ref(expr), Domain::NotIn(not_null())),
        },
        Expr::AnyOp {
            left,
            compare_op: BinaryOperator::Eq,
            right,
            ..
        } => {
            let values = array_literals(right);
            single(
                column_ref(left),
                values.map_or(Domain::NotIn(not_null()), Domain::In),
            )
        }
        Expr::IsNull(inner) => single(
            column_ref(inner),
            Domain::In(BTreeSet::from([Domain::NULL.to_string()])),
        ),
        Expr::IsNotNull(inner) => single(column_ref(inner), Domain::NotIn(not_null())),
        Expr::IsTrue(inner) => single(
            column_ref(inner),
            Domain::In(BTreeSet::from(["true".to_string()])),
        ),
        Expr::IsFalse(inner) => single(
            column_ref(inner),
            Domain::In(BTreeSet::from(["false".to_string()])),
        ),
        Expr::Identifier(_) | Expr::CompoundIdentifier(_) => single(
            column_ref(expr),
            Domain::In(BTreeSet::from(["true".to_string()])),
        ),
        Expr::UnaryOp {
            op: UnaryOperator::Not,
            expr: inner,
        } => false_domains(inner),
        _ => BTreeMap::new(),
    }
}

/// The literal values each column can hold where `expr` is false (so `NOT expr` is true):
/// De Morgan through AND and OR, and a comparison is false only for a non-NULL value.
fn false_domains(expr: &Expr) -> BTreeMap<ColumnRef, Domain> {
    let with_null = |mut values: BTreeSet<String>| {
        values.insert(Domain::NULL.to_string());
        values
    };
    match expr {
        Expr::Nested(inner) => false_domains(inner),
        Expr::UnaryOp {
            op: UnaryOperator::Not,
            expr: inner,
        } => domains(inner),
        // Both sides false.
        Expr::BinaryOp {
            left,
            op: BinaryOperator::Or,
            right,
        } => both_domains(false_domains(left), false_domains(right)),
        // Either side false.
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => either_domains(false_domains(left), &false_domains(right)),
        Expr::BinaryOp {
            left,
            op: BinaryOperator::Eq,
            right,
        } => match (column_ref(left), column_ref(right)) {
            (Some(column), None) => match literal(right) {
                Some(value) => single(
                    Some(column),
                    Domain::NotIn(with_null(BTreeSet::from([value]))),
                ),
                None => BTreeMap::new(),
            },
            (None, Some(column)) => match literal(left) {
                Some(value) => single(
                    Some(column),
                    Domain::NotIn(with_null(BTreeSet::from([value]))),
                ),
                None => BTreeMap::new(),
            },
            _ => BTreeMap::new(),
        },
        Expr::In {
            expr,
            target: InTarget::List(list),
            negated: false,
            ..
        } => match list
            .iter()
            .map(&literal)
            .collect::<Option<BTreeSet<String>>>()
        {
            Some(values) => single(column_ref(expr), Domain::NotIn(with_null(values))),
            None => BTreeMap::new(),
        },
        Expr::IsNull(inner) => single(column_ref(inner), Domain::NotIn(with_null(BTreeSet::new()))),
        Expr::IsNotNull(inner) => single(
            column_ref(inner),
            Domain::In(BTreeSet::from([Domain::NULL.to_string()])),
        ),
        Expr::Identifier(_) | Expr::CompoundIdentifier(_) => single(
            column_ref(expr),
            Domain::In(BTreeSet::from(["false".to_string()])),
        ),
        _ => BTreeMap::new(),
    }
}

/// A comparison of two columns of one row (see [`Comparison`]), before its columns are
/// resolved to a table.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RawComparison {
    left: ColumnRef,
    right: ColumnRef,
    outcomes: u8,
    when: Option<(ColumnRef, Domain)>,
}

/// The comparisons of two columns of one row that every row `expr` lets through passes: `a <
/// b` itself, those of either side of an AND, and of an OR those every branch implies, or that
/// one branch implies for the values it allows a column (`status = 'failed' AND attempts >=
/// max_attempts`) where each other branch implies them too or allows none of those values.
fn comparisons(expr: &Expr) -> Vec<RawComparison> {
    match expr {
        Expr::Nested(inner) => comparisons(inner),
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            let mut both = comparisons(left);
            both.extend(comparisons(right));
            both
        }
        Expr::BinaryOp {
            op: BinaryOperator::Or,
            ..
        } => either_comparisons(&disjuncts(expr)),
        Expr::BinaryOp { left, op, right } => {
            let Some(outcomes) = outcomes_of(op) else {
                return Vec::new();
            };
            match (column_ref(left), column_ref(right)) {
                (Some(left), Some(right)) if left.0 == right.0 && left.1 != right.1 => {
                    let normal = Comparison {
                        left: left.1.clone(),
                        right: right.1.clone(),
                        outcomes,
                        when: None,
                    }
                    .normalised();
                    let (left, right) = if normal.left == left.1 {
                        (left, right)
                    } else {
                        (right, left)
                    };
                    vec![RawComparison {
                        left,
                        right,
                        outcomes: normal.outcomes,
                        when: None,
                    }]
                }
                _ => Vec::new(),
            }
        }
        _ => Vec::new(),
    }
}

/// The outcomes a comparison operator lets through (see [`Comparison`]).
fn outcomes_of(op: &BinaryOperator) -> Option<u8> {
    Some(match op {
        BinaryOperator::Lt => Comparison::LESS,
        BinaryOperator::LtEq => Comparison::LESS | Comparison::EQUAL,
        BinaryOperator::Gt => Comparison::GREATER,
        BinaryOperator::GtEq => Comparison::GREATER | Comparison::EQUAL,
        BinaryOperator::Eq => Comparison::EQUAL,
        BinaryOperator::NotEq => Comparison::LESS | Comparison::GREATER,
        _ => return None,
    })
}

/// The branches of a chain of ORs.
fn disjuncts(expr: &Expr) -> Vec<&Expr> {
    match expr {
        Expr::Nested(inner)
            if matches!(
                unnested(inner),
                Expr::BinaryOp {
                    op: BinaryOperator::Or,
                    ..
                }
            ) =>
        {
            disjuncts(inner)
        }
        Expr::BinaryOp {
            left,
            op: BinaryOperator::Or,
            right,
        } => {
            let mut branches = disjuncts(left);
            branches.extend(disjuncts(right));
            branches
        }
        _ => vec![expr],
    }
}

/// [`comparisons`] of an OR of `branches`.
fn either_comparisons(branches: &[&Expr]) -> Vec<RawComparison> {
    let facts: Vec<(BTreeMap<ColumnRef, Domain>, Vec<RawComparison>)> = branches
        .iter()
        .map(|branch| (domains(branch), comparisons(branch)))
        .collect();
    let mut found: Vec<RawComparison> = Vec::new();
    for (at, (allowed, implied)) in facts.iter().enumerate() {
        for comparison in implied {
            // Branch `other` lets through only rows that pass `comparison` everywhere.
            let implies = |other: usize| {
                facts[other].1.iter().any(|known| {
                    known.when.is_none()
                        && known.left == comparison.left
                        && known.right == comparison.right
                        && known.outcomes & !comparison.outcomes == 0
                })
            };
            let others = || (0..facts.len()).filter(move |&other| other != at);
            if comparison.when.is_none() && others().all(implies) {
                found.push(comparison.clone());
                continue;
            }
            let conditions: Vec<(ColumnRef, Domain)> = match &comparison.when {
                Some(when) => vec![when.clone()],
                None => allowed
                    .iter()
                    .filter(|(_, domain)| matches!(domain, Domain::In(_)))
                    .map(|(column, domain)| (column.clone(), domain.clone()))
                    .collect(),
            };
            for (column, domain) in conditions {
                let excluded = |other: usize| {
                    facts[other]
                        .0
                        .get(&column)
                        .is_some_and(|theirs| !theirs.intersects(&domain))
                };
                if others().all(|other| implies(other) || excluded(other)) {
                    found.push(RawComparison {
                        when: Some((column, domain)),
                        ..comparison.clone()
                    });
                }
            }
        }
    }
    found.dedup();
    found
}

/// One column's domain, when the expression is a column.
fn single(column: Option<ColumnRef>, domain: Domain) -> BTreeMap<ColumnRef, Domain> {
    column.map(|column| (column, domain)).into_iter().collect()
}

/// The normalised text of a literal.
/// The normalised literal an expression is (`'a'`, `'a'::state`, `1`, `NULL`), if it is one.
pub fn literal_value(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Value(value) if value.value == Value::Null => Some(Domain::NULL.to_string()),
        Expr::Cast { expr, .. } | Expr::Nested(expr) => literal_value(expr),
        _ => literal(expr),
    }
}

/// The literal values a condition allows each column, when the condition is exactly that (a
/// conjunction of `=`, `<>`, `IN`, `NOT IN`, `IS [NOT] NULL` and boolean columns against
/// literals): a row is selected if and only if each column holds one of its values. `None`
/// for anything else (a partial index's `WHERE attempts < 3`).
pub fn exact_domains(expr: &Expr) -> Option<BTreeMap<String, Domain>> {
    let conditions = match expr {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            let left = exact_domains(left)?;
            let right = exact_domains(right)?;
            let mut both = left;
            for (column, domain) in right {
                let domain = match both.get(&column) {
                    Some(known) => known.and(&domain),
                    None => domain,
                };
                both.insert(column, domain);
            }
            return Some(both);
        }
        Expr::Nested(inner) => return exact_domains(inner),
        Expr::BinaryOp { left, op, right } => {
            let column = column_ref(left)?.1;
            let value = literal_value(right)?;
            if value == Domain::NULL {
                return None;
            }
            let values = BTreeSet::from([value]);
            match op {
                BinaryOperator::Eq => (column, Domain::In(values)),
                BinaryOperator::NotEq => {
                    let mut excluded = values;
                    excluded.insert(Domain::NULL.to_string());
                    (column, Domain::NotIn(excluded))
                }
                _ => return None,
            }
        }
        Expr::In {
            expr,
            target: InTarget::List(list),
            negated,
            ..
        } => {
            let column = column_ref(expr)?.1;
            let values: BTreeSet<String> = list.iter().map(literal_value).collect::<Option<_>>()?;
            if values.contains(Domain::NULL) {
                return None;
            }
            if *negated {
                let mut excluded = values;
                excluded.insert(Domain::NULL.to_string());
                (column, Domain::NotIn(excluded))
            } else {
                (column, Domain::In(values))
            }
        }
        Expr::IsNull(inner) => (column_ref(inner)?.1, Domain::In(not_null())),
        Expr::IsNotNull(inner) => (column_ref(inner)?.1, Domain::NotIn(not_null())),
        Expr::UnaryOp {
            op: UnaryOperator::Not,
            expr: inner,
        } => (
            column_ref(inner)?.1,
            Domain::In(BTreeSet::from(["false".to_string()])),
        ),
        _ => (
            column_ref(expr)?.1,
            Domain::In(BTreeSet::from(["true".to_string()])),
        ),
    };
    Some(BTreeMap::from([conditions]))
}

fn literal(expr: &Expr) -> Option<String> {
    match plain_term(expr) {
        Some(Term::Literal(value)) => Some(value),
        _ => None,
    }
}

fn literals(list: &[Expr]) -> Option<BTreeSet<String>> {
    list.iter().map(literal).collect()
}

fn not_null() -> BTreeSet<String> {
    BTreeSet::from([Domain::NULL.to_string()])
}

/// Both conditions hold: each column's values are in both domains.
fn both_domains(
    mut left: BTreeMap<ColumnRef, Domain>,
    right: BTreeMap<ColumnRef, Domain>,
) -> BTreeMap<ColumnRef, Domain> {
    for (column, domain) in right {
        let domain = match left.get(&column) {
            Some(known) => known.and(&domain),
            None => domain,
        };
        left.insert(column, domain);
    }
    left
}

/// Either condition holds: only columns both constrain stay constrained.
fn either_domains(
    left: BTreeMap<ColumnRef, Domain>,
    right: &BTreeMap<ColumnRef, Domain>,
) -> BTreeMap<ColumnRef, Domain> {
    left.into_iter()
        .filter_map(|(column, domain)| Some((column.clone(), domain.or(right.get(&column)?))))
        .collect()
}

/// The literals of `ARRAY['a', 'b']` or `'{a,b}'` (with or without a cast).
fn array_literals(expr: &Expr) -> Option<BTreeSet<String>> {
    match expr {
        Expr::Nested(inner) | Expr::Cast { expr: inner, .. } => array_literals(inner),
        Expr::Array(array) => array
            .elem
            .iter()
            .map(|item| match plain_term(item) {
                Some(Term::Literal(value)) => Some(value),
                _ => None,
            })
            .collect(),
        Expr::Value(value) => match &value.value {
            Value::SingleQuotedString(text) => {
                let inner = text.trim().strip_prefix('{')?.strip_suffix('}')?;
                Some(
                    inner
                        .split(',')
                        .map(|item| {
                            let item = item.trim().trim_matches('"');
                            if item.parse::<f64>().is_ok() {
                                item.to_string()
                            } else {
                                format!("'{item}'")
                            }
                        })
                        .filter(|item| item != "''")
                        .collect(),
                )
            }
            _ => None,
        },
        _ => None,
    }
}

/// The one column a subquery returns, by name: `SELECT id FROM ...`, `SELECT j.id AS id ...`.
fn only_column(query: &Query) -> Option<String> {
    match projected_columns(query).as_slice() {
        [column] => Some(column.clone()),
        _ => None,
    }
}

/// The plain columns a query returns, each under its own name (a renamed column is left out:
/// its name outside is not the table's).
fn projected_columns(query: &Query) -> Vec<String> {
    let SetExpr::Select(select) = query.body.as_ref() else {
        return vec![];
    };
    select
        .projection
        .iter()
        .filter_map(|item| match item {
            SelectItem::UnnamedExpr(expr) => column_ref(expr).map(|(_, name)| name),
            SelectItem::ExprWithAlias { expr, alias } => column_ref(expr)
                .map(|(_, name)| name)
                .filter(|name| *name == ident(alias)),
            _ => None,
        })
        .collect()
}

/// The top-level conjuncts of a WHERE clause.
/// The columns that `selection` tests only in top-level conjuncts of their own against
/// literals, so that [`domains`] gives exactly the values that pass.
fn separate_tests(selection: &Expr) -> BTreeSet<ColumnRef> {
    let mut alone = BTreeSet::new();
    let mut mixed = BTreeSet::new();
    for conjunct in conjuncts(selection) {
        match literal_test(conjunct) {
            Some(column) => {
                alone.insert(column);
            }
            None => mixed.extend(collect(conjunct).columns),
        }
    }
    alone.retain(|column| !mixed.contains(column));
    alone
}

/// The one column `expr` compares with literals only (`=`, `<>`, `IN`, `= ANY(ARRAY[...])`,
/// `IS [NOT] NULL`, a bare boolean, through AND, OR and NOT), if it is such a test.
fn literal_test(expr: &Expr) -> Option<ColumnRef> {
    match expr {
        Expr::Nested(inner) => literal_test(inner),
        Expr::IsNull(inner)
        | Expr::IsNotNull(inner)
        | Expr::IsTrue(inner)
        | Expr::IsFalse(inner) => column_ref(inner),
        // `NOT` of one test that `false_domains` negates exactly.
        Expr::UnaryOp {
            op: UnaryOperator::Not,
            expr: inner,
        } => match unnested(inner) {
            Expr::BinaryOp {
                op: BinaryOperator::Eq,
                ..
            }
            | Expr::In { negated: false, .. }
            | Expr::IsNull(_)
            | Expr::IsNotNull(_)
            | Expr::Identifier(_)
            | Expr::CompoundIdentifier(_) => literal_test(unnested(inner)),
            _ => None,
        },
        Expr::Identifier(_) | Expr::CompoundIdentifier(_) => column_ref(expr),
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And | BinaryOperator::Or,
            right,
        } => {
            let column = literal_test(left)?;
            (literal_test(right)? == column).then_some(column)
        }
        Expr::BinaryOp {
            left,
            op: BinaryOperator::Eq | BinaryOperator::NotEq,
            right,
        } => match (column_ref(left), column_ref(right)) {
            (Some(column), None) => literal(right).map(|_| column),
            (None, Some(column)) => literal(left).map(|_| column),
            _ => None,
        },
        Expr::In {
            expr,
            target: InTarget::List(list),
            ..
        } => literals(list).and_then(|_| column_ref(expr)),
        Expr::AnyOp {
            left,
            compare_op: BinaryOperator::Eq,
            right,
            ..
        } => array_literals(right).and_then(|_| column_ref(left)),
        _ => None,
    }
}

/// `expr` without the parentheses around it.
fn unnested(expr: &Expr) -> &Expr {
    match expr {
        Expr::Nested(inner) => unnested(inner),
        other => other,
    }
}

fn conjuncts(expr: &Expr) -> Vec<&Expr> {
    match expr {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            let mut result = conjuncts(left);
            result.extend(conjuncts(right));
            result
        }
        Expr::Nested(inner) => conjuncts(inner),
        other => vec![other],
    }
}

/// The values of `column` a `CASE` assigned to it can change: `CASE WHEN column = 'a' AND ...
/// THEN ... WHEN column IN ('b', 'c') THEN ... ELSE column END` changes it only on rows where
/// it is one of the values its branches require (each branch's condition a conjunction with a
/// literal test of the column), and the `ELSE` (or a missing one, which is NULL and so no
/// keeping) must give the column back unchanged.
fn case_changes_only(value: &Expr, column: &str) -> Option<Domain> {
    let Expr::Case {
        operand,
        conditions,
        else_result: Some(otherwise),
        ..
    } = unnested(value)
    else {
        return None;
    };
    let is_column = |expr: &Expr| column_ref(unnested(expr)).is_some_and(|c| c.1 == column);
    if !is_column(otherwise) {
        return None;
    }
    let mut changed: Option<Domain> = None;
    for when in conditions {
        let domain = match operand {
            // `CASE state WHEN 'a' THEN ...`
            Some(operand) if is_column(operand) => {
                Domain::In(BTreeSet::from([literal(&when.condition)?]))
            }
            Some(_) => return None,
            None => conjuncts(&when.condition)
                .into_iter()
                .find_map(|conjunct| {
                    exact_domains(conjunct).and_then(|domains| domains.get(column).cloned())
                })
                .filter(|domain| matches!(domain, Domain::In(_)))?,
        };
        changed = Some(match changed {
            Some(known) => known.or(&domain),
            None => domain,
        });
    }
    changed
}

/// `x = y` conjuncts between two columns.
fn column_equalities(expr: &Expr) -> Vec<(ColumnRef, ColumnRef)> {
    conjuncts(expr)
        .into_iter()
        .filter_map(|conjunct| match conjunct {
            Expr::BinaryOp {
                left,
                op: BinaryOperator::Eq,
                right,
            } => Some((column_ref(left)?, column_ref(right)?)),
            _ => None,
        })
        .collect()
}

fn column_ref(expr: &Expr) -> Option<ColumnRef> {
    match expr {
        Expr::Identifier(name) if !name.value.starts_with('@') => Some((None, ident(name))),
        Expr::CompoundIdentifier(parts) if parts.len() >= 2 => Some((
            Some(ident(&parts[parts.len() - 2])),
            ident(&parts[parts.len() - 1]),
        )),
        Expr::Nested(inner) => column_ref(inner),
        _ => None,
    }
}

/// The array `(SELECT unnest($1))` lists, one row per element: `id IN` it, or `= ANY` it, is
/// `id = ANY($1)`. Only a parameter or variable (through casts) that nothing filters.
fn unnested_array(query: &Query) -> Option<&Expr> {
    let SetExpr::Select(select) = query.body.as_ref() else {
        return None;
    };
    if query.with.is_some() || !select.from.is_empty() || select.selection.is_some() {
        return None;
    }
    let [SelectItem::UnnamedExpr(item) | SelectItem::ExprWithAlias { expr: item, .. }] =
        select.projection.as_slice()
    else {
        return None;
    };
    let (function, argument) = unary_call(unnested(item))?;
    let mut array = unnested(argument);
    while let Expr::Cast { expr, .. } = array {
        array = unnested(expr);
    }
    (function.eq_ignore_ascii_case("unnest") && parameter_name(array).is_some()).then_some(argument)
}

fn is_anonymous(placeholder: &str) -> bool {
    placeholder == "?" || placeholder == "$0"
}

impl Extractor<'_> {
    /// A literal or parameter, with anonymous `?` named after the column it is compared with.
    fn term(&mut self, expr: &Expr, compared_with: Option<(&str, &str)>) -> Option<Term> {
        match expr {
            Expr::Value(value) => match &value.value {
                Value::Placeholder(name) if is_anonymous(name) => {
                    Some(Term::Param(match compared_with {
                        Some((table, column)) => format!("?{table}.{column}"),
                        None => {
                            self.anonymous += 1;
                            format!("?#{}", self.anonymous)
                        }
                    }))
                }
                _ => plain_term(expr),
            },
            Expr::Nested(inner) | Expr::Cast { expr: inner, .. } => self.term(inner, compared_with),
            Expr::UnaryOp {
                op: UnaryOperator::Minus,
                expr,
            } => match self.term(expr, compared_with)? {
                Term::Literal(number) => Some(Term::Literal(format!("-{number}"))),
                param => Some(param),
            },
            _ => plain_term(expr),
        }
    }

    fn statement(&mut self, statement: &Statement, lock: Option<LockClause>) {
        match statement {
            Statement::Query(query) => self.query(
                query,
                ReadMode {
                    lock,
                    ..ReadMode::default()
                },
            ),
            Statement::Insert(insert) => {
                let TableObject::TableName(name) = &insert.table else {
                    return;
                };
                let table = object_name(name);
                let columns: Vec<String> = if insert.columns.is_empty() {
                    self.catalog
                        .table(&table)
                        .map(|t| t.columns.clone())
                        .unwrap_or_default()
                } else {
                    insert.columns.iter().map(object_name).collect()
                };
                let mut rows = RowSet::default();
                if let Some(source) = &insert.source {
                    match source.body.as_ref() {
                        // A column pins the inserted rows when every row gives it the same
                        // term (`VALUES (:user, 'a'), (:user, 'b')` pins the user).
                        SetExpr::Values(values) => {
                            for (position, column) in columns.iter().enumerate() {
                                let mut terms = values.rows.iter().map(|row| {
                                    row.get(position)
                                        .and_then(|expr| self.term(expr, Some((&table, column))))
                                });
                                let first = terms.next().flatten();
                                // Anonymous `?` markers of different rows are different values.
                                let anonymous = matches!(&first, Some(Term::Param(name)) if name.starts_with('?'));
                                if let Some(term) = first
                                    && (values.rows.len() == 1 || !anonymous)
                                    && terms.all(|other| other.as_ref() == Some(&term))
                                {
                                    rows.pins.insert(column.clone(), term);
                                }
                                // NULL is no term (`lock_by = $1` never holds for it) but
                                // a value the column certainly holds.
                                if values.rows.iter().all(|row| {
                                    row.get(position).and_then(literal_value).as_deref()
                                        == Some(Domain::NULL)
                                }) {
                                    rows.domains.insert(
                                        column.clone(),
                                        Domain::In(BTreeSet::from([Domain::NULL.to_string()])),
                                    );
                                }
                                // `VALUES (now())`: a time stamp of the writer's clock.
                                let stamps: Option<BTreeSet<String>> = values
                                    .rows
                                    .iter()
                                    .map(|row| {
                                        row.get(position).and_then(clock_value).map(str::to_string)
                                    })
                                    .collect();
                                if let Some(stamps) = stamps.filter(|stamps| !stamps.is_empty()) {
                                    rows.domains.insert(column.clone(), Domain::In(stamps));
                                }
                                if values
                                    .rows
                                    .iter()
                                    .all(|row| row.get(position).is_some_and(is_fresh_value))
                                    && self.identifies_new_rows(&table, column)
                                {
                                    rows.fresh.insert(column.clone());
                                }
                            }
                            for row in &values.rows {
                                for expr in row.iter() {
                                    self.subqueries_of(expr);
                                }
                            }
                        }
                        body => {
                            // `INSERT ... SELECT $1, 'x' FROM ...` inserts those values in every row.
                            if let SetExpr::Select(select) = body {
                                for (column, item) in columns.iter().zip(&select.projection) {
                                    let (SelectItem::UnnamedExpr(expr)
                                    | SelectItem::ExprWithAlias { expr, .. }) = item
                                    else {
                                        continue;
                                    };
                                    if is_fresh_value(expr) {
                                        if self.identifies_new_rows(&table, column) {
                                            rows.fresh.insert(column.clone());
                                        }
                                        continue;
                                    }
                                    if let Some(stamp) = clock_value(expr) {
                                        rows.domains.insert(
                                            column.clone(),
                                            Domain::In(BTreeSet::from([stamp.to_string()])),
                                        );
                                        continue;
                                    }
                                    // A qualified column is the value of a source row
                                    // (`SELECT spec.key FROM unnest(specs) spec`): see
                                    // `outer_value`.
                                    let term =
                                        self.term(expr, Some((&table, column))).or_else(|| {
                                            match column_ref(expr) {
                                                Some((Some(qualifier), name)) => {
                                                    Some(Term::Param(format!("{qualifier}.{name}")))
                                                }
                                                _ => None,
                                            }
                                        });
                                    if let Some(term) = term {
                                        rows.pins.insert(column.clone(), term);
                                    }
                                }
                            }
                            let reads = self.accesses.len();
                            self.query(source, self.nested_mode());
                            if let SetExpr::Select(select) = body {
                                if source.with.is_none() {
                                    self.pin_source_columns(
                                        select,
                                        &columns,
                                        reads,
                                        &mut rows.pins,
                                    );
                                }
                                let values = derived_values(select, &self.accesses[reads..]);
                                rows.derived = columns
                                    .iter()
                                    .zip(values)
                                    .filter_map(|(column, value)| Some((column.clone(), value?)))
                                    .collect();
                            }
                        }
                    }
                }
                let target = insert
                    .table_alias
                    .as_ref()
                    .map(|alias| ident(&alias.alias))
                    .unwrap_or_else(|| table.clone());
                let on_conflict = match &insert.on {
                    Some(OnInsert::DuplicateKeyUpdate(assignments)) => {
                        OnConflict::Update(self.upsert_set(assignments, &[&target, &table]))
                    }
                    Some(OnInsert::OnConflict(conflict)) => match &conflict.action {
                        OnConflictAction::DoNothing => OnConflict::DoNothing,
                        OnConflictAction::DoUpdate(update) => OnConflict::Update(
                            self.upsert_set(&update.assignments, &[&target, &table]),
                        ),
                    },
                    _ if insert.ignore => OnConflict::DoNothing,
                    // REPLACE deletes the old row and inserts the new one: every column is
                    // overwritten with the inserted value.
                    _ if insert.replace_into => OnConflict::Update(
                        columns
                            .iter()
                            .map(|column| {
                                let value = rows
                                    .pins
                                    .get(column)
                                    .map_or(SetValue::Expr, |term| SetValue::Term(term.clone()));
                                (column.clone(), value)
                            })
                            .collect(),
                    ),
                    _ => OnConflict::Error,
                };
                // `INSERT ... DEFAULT VALUES` gives every column its default.
                let defaulted =
                    |column: &String| insert.source.is_none() || !columns.contains(column);
                if let Some(known) = self.catalog.table(&table) {
                    for column in &known.generated {
                        if defaulted(column) {
                            rows.fresh.insert(column.clone());
                        }
                    }
                    // An expression index's key (`lower(name)`) of a pinned column.
                    for column in known.keys.iter().flat_map(|key| &key.columns) {
                        if let Some((function, base)) = crate::catalog::expression_key(column)
                            && let Some(term) = rows.pins.get(base)
                        {
                            let term = Term::Param(format!("{function}({})", term.render()));
                            rows.pins.insert(column.clone(), term);
                        }
                    }
                    // A column left out holds its default (a literal, or NULL without one) in the
                    // row an INSERT adds; an upsert's DO UPDATE keeps the existing row's value.
                    let adds_only =
                        matches!(on_conflict, OnConflict::Error | OnConflict::DoNothing);
                    for (column, value) in known.omitted.iter().filter(|_| adds_only) {
                        if defaulted(column) {
                            rows.domains.insert(
                                column.clone(),
                                Domain::In(BTreeSet::from([value.clone()])),
                            );
                        }
                    }
                }
                if let Some(read) = self.arbiter_read(&table, insert, &columns, &rows, &on_conflict)
                {
                    self.accesses.push(read);
                }
                self.accesses.push(Access {
                    table,
                    rows,
                    kind: AccessKind::Insert {
                        columns: columns.into_iter().collect(),
                        on_conflict,
                    },
                });
            }
            Statement::Update(update) => {
                let mut scope = Vec::new();
                let Some((alias, table)) = table_name_of(&update.table.relation) else {
                    return;
                };
                let target = self.accesses.len();
                self.accesses.push(Access {
                    table: table.clone(),
                    rows: RowSet::default(),
                    kind: AccessKind::Update {
                        set: BTreeMap::new(),
                        predicate: BTreeSet::new(),
                        guarded: false,
                        changes_only: BTreeMap::new(),
                        writes: BTreeMap::new(),
                        returns_contents: update
                            .returning
                            .as_deref()
                            .is_some_and(|items| self.returns_contents(&table, items)),
                        joined: !update.table.joins.is_empty() || update.from.is_some(),
                    },
                });
                scope.push(ScopeEntry {
                    alias,
                    table,
                    access: Some(target),
                    derived: Vec::new(),
                    columns: BTreeMap::new(),
                    picks: None,
                });
                for join in &update.table.joins {
                    self.table_factor(&join.relation, ReadMode::default(), &mut scope);
                }
                if let Some(
                    UpdateTableFromKind::BeforeSet(from) | UpdateTableFromKind::AfterSet(from),
                ) = &update.from
                {
                    self.read_from_list(from, ReadMode::default(), &mut scope);
                }
                let mut set = BTreeMap::new();
                let mut changes_only = BTreeMap::new();
                let mut writes = BTreeMap::new();
                for assignment in &update.assignments {
                    let targets = assignment_targets(assignment);
                    let used = collect(&assignment.value);
                    for subquery in &used.subqueries {
                        self.subquery(subquery);
                    }
                    for column in &targets {
                        let value =
                            self.assigned_value(&assignment.value, column, &[&scope[0].alias]);
                        set.insert(column.clone(), value);
                        if let Some(domain) = case_changes_only(&assignment.value, column) {
                            changes_only.insert(column.clone(), domain);
                        }
                        if let Some(domain) = written_domain(&assignment.value) {
                            writes.insert(column.clone(), domain);
                        }
                    }
                    // Columns of other tables used in SET are value reads of those tables.
                    self.assign_columns(&scope[1..], &used.columns, Use::Value);
                }
                let guarded = update
                    .selection
                    .as_ref()
                    .is_some_and(|selection| is_guard(selection, &set));
                if let AccessKind::Update {
                    set: target_set,
                    guarded: target_guarded,
                    changes_only: target_changes_only,
                    writes: target_writes,
                    ..
                } = &mut self.accesses[target].kind
                {
                    *target_set = set;
                    *target_guarded = guarded;
                    *target_changes_only = changes_only;
                    *target_writes = writes;
                }
                self.where_clause(update.selection.as_ref(), &scope);
                for join in &update.table.joins {
                    let used = collect(&join.join_operator);
                    self.assign_columns(&scope, &used.columns, Use::Predicate);
                }
            }
            Statement::Delete(delete) => {
                let from = match &delete.from {
                    FromTable::WithFromKeyword(from) | FromTable::WithoutKeyword(from) => from,
                };
                let mut scope = Vec::new();
                let Some(first) = from.first() else { return };
                let Some((alias, table)) = table_name_of(&first.relation) else {
                    return;
                };
                let target = self.accesses.len();
                self.accesses.push(Access {
                    table: table.clone(),
                    rows: RowSet::default(),
                    kind: AccessKind::Delete {
                        predicate: BTreeSet::new(),
                    },
                });
                scope.push(ScopeEntry {
                    alias,
                    table,
                    access: Some(target),
                    derived: Vec::new(),
                    columns: BTreeMap::new(),
                    picks: None,
                });
                if let Some(using) = &delete.using {
                    self.read_from_list(using, ReadMode::default(), &mut scope);
                }
                self.where_clause(delete.selection.as_ref(), &scope);
            }
            Statement::Merge(merge) => self.merge(merge),
            Statement::Lock(lock_statement) => {
                for target in &lock_statement.tables {
                    self.push_table_lock(object_name(&target.name));
                }
            }
            Statement::LockTables { tables } => {
                for target in tables {
                    self.push_table_lock(ident(&target.table));
                }
            }
            _ => {}
        }
    }

    /// `MERGE INTO t USING s ON ... WHEN MATCHED THEN UPDATE ... WHEN NOT MATCHED THEN INSERT`:
    /// an upsert when it inserts, an UPDATE or DELETE when it does not. A source of constants
    /// (`USING (SELECT @sku AS sku) AS s`) pins the target's ON columns to those terms.
    fn merge(&mut self, merge: &Merge) {
        let Some((alias, table)) = table_name_of(&merge.table) else {
            return;
        };
        let mut set = BTreeMap::new();
        let mut inserted: Option<BTreeSet<String>> = None;
        let mut deletes = false;
        for clause in &merge.clauses {
            match (&clause.clause_kind, &clause.action) {
                (MergeClauseKind::Matched, MergeAction::Update(update)) => {
                    if let MergeUpdateKind::Set(assignments) = &update.kind {
                        set.extend(self.upsert_set(assignments, &[&alias, &table]));
                    }
                }
                (MergeClauseKind::Matched, MergeAction::Delete { .. }) => deletes = true,
                (
                    MergeClauseKind::NotMatched | MergeClauseKind::NotMatchedByTarget,
                    MergeAction::Insert(insert),
                ) => {
                    let columns: BTreeSet<String> = if insert.columns.is_empty() {
                        self.catalog
                            .table(&table)
                            .map(|t| t.columns.iter().cloned().collect())
                            .unwrap_or_default()
                    } else {
                        insert.columns.iter().map(object_name).collect()
                    };
                    inserted.get_or_insert_default().extend(columns);
                }
                _ => {}
            }
        }
        let kind = match inserted {
            Some(columns) => AccessKind::Insert {
                columns,
                on_conflict: if set.is_empty() {
                    OnConflict::Error
                } else {
                    OnConflict::Update(set)
                },
            },
            None if !set.is_empty() || !deletes => AccessKind::Update {
                set,
                predicate: BTreeSet::new(),
                guarded: false,
                returns_contents: false,
                joined: true,
                changes_only: BTreeMap::new(),
                writes: BTreeMap::new(),
            },
            None => AccessKind::Delete {
                predicate: BTreeSet::new(),
            },
        };
        let target = self.accesses.len();
        self.accesses.push(Access {
            table: table.clone(),
            rows: RowSet::default(),
            kind,
        });
        let mut scope = vec![ScopeEntry {
            alias,
            table,
            access: Some(target),
            derived: Vec::new(),
            columns: BTreeMap::new(),
            picks: None,
        }];
        let constants = merge_source_constants(&merge.source);
        self.table_factor(&merge.source, self.nested_mode(), &mut scope);
        let mut on = (*merge.on).clone();
        let _ = visit_expressions_mut(&mut on, |expr| {
            if let Some((Some(qualifier), column)) = column_ref(expr)
                && let Some(term) = constants.get(&(qualifier, column))
            {
                *expr = term.clone();
            }
            ControlFlow::<()>::Continue(())
        });
        self.where_clause(Some(&on), &scope);
        // Source columns used in WHEN MATCHED ... SET are value reads of the source.
        for clause in &merge.clauses {
            if let MergeAction::Update(update) = &clause.action
                && let MergeUpdateKind::Set(assignments) = &update.kind
            {
                for assignment in assignments {
                    let used = collect(&assignment.value);
                    self.assign_columns(&scope[1..], &used.columns, Use::Value);
                }
            }
        }
    }

    fn push_table_lock(&mut self, table: String) {
        self.accesses.push(Access {
            table,
            rows: RowSet::default(),
            kind: AccessKind::Lock(LockTarget::Table),
        });
    }

    fn subqueries_of(&mut self, expr: &Expr) {
        for subquery in collect(expr).subqueries {
            self.subquery(&subquery);
        }
    }

    fn query(&mut self, query: &Query, mode: ReadMode) {
        let mode = ReadMode {
            limited: mode.limited || query.limit_clause.is_some() || query.fetch.is_some(),
            ..mode
        };
        let cte_count = self.ctes.len();
        let after_write = self.after_write;
        if let Some(with) = &query.with {
            for cte in &with.cte_tables {
                let first = self.accesses.len();
                self.query(&cte.query, self.nested_mode_of(&cte.query));
                let name = ident(&cte.alias.name);
                // A column taken from one table's read chose that read's rows.
                let sources = match cte.query.body.as_ref() {
                    SetExpr::Select(select) => self.column_sources(select),
                    _ => BTreeMap::new(),
                };
                for (column, read) in sources {
                    let alias = self
                        .last_from
                        .iter()
                        .find(|(_, _, from)| *from == Some(read))
                        .map(|(alias, _, _)| alias.clone())
                        .unwrap_or_default();
                    self.cte_sources.push((name.clone(), column, read, alias));
                }
                if let SetExpr::Select(select) = cte.query.body.as_ref()
                    && select.from.is_empty()
                    && select.selection.is_none()
                {
                    for item in &select.projection {
                        if let SelectItem::ExprWithAlias { expr, alias } = item
                            && let Some((function, array)) = unary_call(unnested(expr))
                            && function.eq_ignore_ascii_case("unnest")
                            && parameter_name(array).is_some()
                        {
                            self.cte_arrays
                                .push((name.clone(), ident(alias), array.clone()));
                        }
                    }
                }
                for column in projected_columns(&cte.query) {
                    self.cte_rows
                        .push((name.clone(), column, first..self.accesses.len()));
                }
                self.ctes.push(name);
            }
            // `WITH x AS (UPDATE ... RETURNING ...) SELECT ... FROM x, other`: the SELECT's
            // reads only report on a write already decided.
            let writes = with.cte_tables.iter().any(|cte| {
                matches!(
                    cte.query.body.as_ref(),
                    SetExpr::Insert(_)
                        | SetExpr::Update(_)
                        | SetExpr::Delete(_)
                        | SetExpr::Merge(_)
                )
            });
            let reports = matches!(
                query.body.as_ref(),
                SetExpr::Select(_) | SetExpr::Query(_) | SetExpr::SetOperation { .. }
            );
            self.after_write |= writes && reports;
        }
        let order_by: Vec<&Expr> = match &query.order_by {
            Some(order_by) => match &order_by.kind {
                OrderByKind::Expressions(exprs) => exprs.iter().map(|e| &e.expr).collect(),
                OrderByKind::All(_) => vec![],
            },
            None => vec![],
        };
        self.set_expr(&query.body, mode, &order_by);
        self.ctes.truncate(cte_count);
        self.cte_arrays
            .retain(|(name, _, _)| self.ctes.contains(name));
        self.after_write = after_write;
    }

    fn set_expr(&mut self, body: &SetExpr, mode: ReadMode, order_by: &[&Expr]) {
        match body {
            SetExpr::Select(select) => self.select(select, mode, order_by),
            SetExpr::Query(query) => self.query(query, mode),
            SetExpr::SetOperation { left, right, .. } => {
                self.set_expr(left, mode, &[]);
                self.set_expr(right, mode, &[]);
            }
            SetExpr::Insert(statement)
            | SetExpr::Update(statement)
            | SetExpr::Delete(statement)
            | SetExpr::Merge(statement) => self.statement(statement, None),
            SetExpr::Values(values) => {
                for row in &values.rows {
                    for expr in row.iter() {
                        self.subqueries_of(expr);
                    }
                }
            }
            SetExpr::Table(table) => {
                if let Some(name) = &table.table_name {
                    let name = name.value.to_ascii_lowercase();
                    if !self.ctes.contains(&name) {
                        self.accesses.push(Access {
                            table: name,
                            rows: RowSet::default(),
                            kind: AccessKind::Read {
                                value: Columns::All,
                                predicate: BTreeSet::new(),
                                lock: mode.lock,
                                aggregate: false,
                                limited: mode.limited,
                                uncommitted: self.uncommitted,
                                after_write: self.after_write,
                                arbiter: None,
                                must_find: false,
                                must_miss: false,
                                deleted: false,
                            },
                        });
                    }
                }
            }
        }
    }

    fn select(&mut self, select: &Select, mode: ReadMode, order_by: &[&Expr]) {
        let mode = ReadMode {
            limited: mode.limited || select.top.is_some(),
            ..mode
        };
        let mut scope = Vec::new();
        self.read_from_list(&select.from, mode, &mut scope);
        if mode.lock.is_some() {
            self.restrict_lock_to_of(&scope);
        }
        let mut aggregate = false;
        for item in &select.projection {
            match item {
                // `EXISTS (SELECT * ...)` reads whether rows match, not their columns.
                SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) if mode.exists => {}
                SelectItem::Wildcard(_) => {
                    for entry in &scope {
                        self.mark_all_columns(entry.access);
                    }
                }
                SelectItem::QualifiedWildcard(kind, _) => {
                    let qualifier = match kind {
                        SelectItemQualifiedWildcardKind::ObjectName(name) => object_name(name),
                        SelectItemQualifiedWildcardKind::Expr(_) => String::new(),
                    };
                    for entry in scope.iter().filter(|entry| entry.alias == qualifier) {
                        self.mark_all_columns(entry.access);
                    }
                }
                SelectItem::UnnamedExpr(expr)
                | SelectItem::ExprWithAlias { expr, .. }
                | SelectItem::ExprWithAliases { expr, .. } => {
                    aggregate |= is_aggregate(expr);
                    let used = collect(expr);
                    if !mode.exists {
                        self.assign_columns(&scope, &used.columns, Use::Value);
                    }
                    for subquery in &used.subqueries {
                        self.subquery(subquery);
                    }
                    for args in &used.advisory {
                        let key = args.iter().map(|arg| self.term(arg, None)).collect();
                        self.accesses.push(Access {
                            table: String::new(),
                            rows: RowSet::default(),
                            kind: AccessKind::Lock(LockTarget::Advisory(key)),
                        });
                    }
                }
            }
        }
        if aggregate {
            for entry in &scope {
                if let Some(AccessKind::Read {
                    aggregate: flag, ..
                }) = entry.access.map(|index| &mut self.accesses[index].kind)
                {
                    *flag = true;
                }
            }
        }
        self.where_clause(select.selection.as_ref(), &scope);
        let mut predicate_exprs: Vec<&Expr> = order_by.to_vec();
        if let GroupByExpr::Expressions(exprs, _) = &select.group_by {
            predicate_exprs.extend(exprs.iter());
        }
        predicate_exprs.extend(select.having.iter());
        for expr in predicate_exprs {
            let used = collect(expr);
            self.assign_columns(&scope, &used.columns, Use::Predicate);
            for subquery in &used.subqueries {
                self.subquery(subquery);
            }
        }
        let mut equalities: Vec<(ColumnRef, ColumnRef)> = Vec::new();
        let mut directed: Vec<(ColumnRef, ColumnRef)> = Vec::new();
        equalities.extend(select.selection.iter().flat_map(column_equalities));
        for from in &select.from {
            for join in &from.joins {
                let used = collect(&join.join_operator);
                self.assign_columns(&scope, &used.columns, Use::Predicate);
                for subquery in &used.subqueries {
                    self.subquery(subquery);
                }
                match &join.join_operator {
                    JoinOperator::Join(JoinConstraint::On(on))
                    | JoinOperator::Inner(JoinConstraint::On(on)) => {
                        equalities.extend(column_equalities(on));
                        self.pin(on, &scope, None);
                    }
                    // A LEFT JOIN reads the joined table's matching rows only, but keeps every
                    // row of the other side: pins flow into the joined table, never out of it.
                    JoinOperator::Left(JoinConstraint::On(on))
                    | JoinOperator::LeftOuter(JoinConstraint::On(on)) => {
                        let Some((joined, _)) = table_name_of(&join.relation) else {
                            continue;
                        };
                        self.pin(on, &scope, Some(&joined));
                        let in_joined =
                            |column: &ColumnRef| column.0.as_deref() == Some(joined.as_str());
                        for (a, b) in column_equalities(on) {
                            match (in_joined(&a), in_joined(&b)) {
                                (false, true) => directed.push((a, b)),
                                (true, false) => directed.push((b, a)),
                                _ => {}
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        self.propagate_pins(&scope, &equalities, &directed);
        let inner = equalities.iter().map(|(a, b)| (a, b, true));
        let outer = directed.iter().map(|(from, to)| (from, to, false));
        for (a, b, both_ways) in inner.chain(outer) {
            let access = |column: &ColumnRef| self.resolve(&scope, column)?.access;
            if let (Some(x), Some(y)) = (access(a), access(b))
                && x != y
            {
                self.joins.push(Join {
                    left: (x, a.1.clone()),
                    right: (y, b.1.clone()),
                    both_ways,
                });
            }
        }
        self.last_from = scope
            .iter()
            .map(|entry| (entry.alias.clone(), entry.table.clone(), entry.access))
            .collect();
    }

    /// An inner join reads only the rows whose columns equal the other side's: with
    /// `o.account_id = a.id` and `a.id = $1`, the rows of `o` read are `account_id = $1`.
    /// (Outer joins keep rows without a match, so they pin nothing.)
    fn propagate_pins(
        &mut self,
        scope: &[ScopeEntry],
        equalities: &[(ColumnRef, ColumnRef)],
        directed: &[(ColumnRef, ColumnRef)],
    ) {
        let both_ways = equalities
            .iter()
            .flat_map(|(x, y)| [(x, y), (y, x)])
            .chain(directed.iter().map(|(from, to)| (from, to)));
        let pairs: Vec<(&ColumnRef, &ColumnRef)> = both_ways.collect();
        let mut changed = true;
        while changed {
            changed = false;
            {
                for &(from, to) in &pairs {
                    let Some(target) = self.resolve(scope, to).and_then(|entry| entry.access)
                    else {
                        continue;
                    };
                    let term = match self.resolve(scope, from).and_then(|entry| entry.access) {
                        Some(source) => self.accesses[source].rows.pins.get(&from.1).cloned(),
                        None => self.outer_value(scope, from),
                    };
                    if let Some(term) = term
                        && !self.accesses[target].rows.pins.contains_key(&to.1)
                    {
                        self.accesses[target].rows.pins.insert(to.1.clone(), term);
                        changed = true;
                    }
                }
            }
        }
    }

    /// A qualified column that is not a table read here (an outer query's row, a CTE, a derived
    /// table or `unnest(...)`) is one value for the rows compared with it: a term named after it,
    /// so that the same value named elsewhere in the statement (the row an INSERT ... SELECT adds,
    /// the CTE row an UPDATE ... FROM writes) is recognised as the same.
    fn outer_value(&self, scope: &[ScopeEntry], column: &ColumnRef) -> Option<Term> {
        let qualifier = column.0.as_ref()?;
        if self
            .resolve(scope, column)
            .is_some_and(|entry| entry.access.is_some())
        {
            return None;
        }
        Some(Term::Param(format!("{qualifier}.{}", column.1)))
    }

    /// `INSERT INTO seats (event_id, ...) SELECT id, ... FROM events WHERE id = $1` inserts
    /// `$1`: a column of the source's table that its WHERE pins is that term in every row.
    /// Only a table that appears once in the FROM list and is read nowhere else in the source,
    /// so that its read (the first of `accesses[reads..]` on it) is that table's.
    fn pin_source_columns(
        &self,
        select: &Select,
        columns: &[String],
        reads: usize,
        pins: &mut BTreeMap<String, Term>,
    ) {
        let factors: Vec<(String, String)> = select
            .from
            .iter()
            .flat_map(|from| {
                std::iter::once(&from.relation).chain(from.joins.iter().map(|join| &join.relation))
            })
            .filter_map(table_name_of)
            .collect();
        for (column, item) in columns.iter().zip(&select.projection) {
            let (SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. }) = item
            else {
                continue;
            };
            let Some((qualifier, name)) = column_ref(expr) else {
                continue;
            };
            let mut candidates = factors.iter().filter(|(alias, table)| match &qualifier {
                Some(qualifier) => qualifier == alias,
                None => self
                    .catalog
                    .table(table)
                    .is_some_and(|t| t.columns.contains(&name)),
            });
            let (Some((_, table)), None) = (candidates.next(), candidates.next()) else {
                continue;
            };
            let mut reads_of_table = self.accesses[reads..].iter().filter(|access| {
                access.table == *table && matches!(access.kind, AccessKind::Read { .. })
            });
            if let (Some(read), None) = (reads_of_table.next(), reads_of_table.next())
                && let Some(term) = read.rows.pins.get(&name)
            {
                pins.insert(column.clone(), term.clone());
            }
        }
    }

    /// The CTE a qualified column names, through the alias the FROM list gave it (`FROM
    /// resumable r`: `r.id` is `resumable`'s `id`).
    fn cte_named(&self, scope: &[ScopeEntry], column: &ColumnRef) -> Option<String> {
        let qualifier = column.0.as_ref()?;
        match self.resolve(scope, column) {
            Some(entry) if entry.access.is_none() && self.ctes.contains(&entry.table) => {
                Some(entry.table.clone())
            }
            _ => Some(qualifier.clone()),
        }
    }

    /// The parameter array whose elements a one-column subquery returns: `SELECT unnest($1)`,
    /// or `SELECT x.id FROM x [WHERE ...]` of a CTE that unnests one into `id`.
    fn array_of(&self, query: &Query) -> Option<Expr> {
        if let Some(array) = unnested_array(query) {
            return Some(array.clone());
        }
        let SetExpr::Select(select) = query.body.as_ref() else {
            return None;
        };
        let [from] = select.from.as_slice() else {
            return None;
        };
        let (alias, name) = table_name_of(&from.relation)?;
        let [SelectItem::UnnamedExpr(item) | SelectItem::ExprWithAlias { expr: item, .. }] =
            select.projection.as_slice()
        else {
            return None;
        };
        let (qualifier, column) = column_ref(item)?;
        if !from.joins.is_empty()
            || query.with.is_some()
            || qualifier.is_some_and(|qualifier| qualifier != alias)
        {
            return None;
        }
        self.cte_arrays
            .iter()
            .rev()
            .find(|(cte, cte_column, _)| *cte == name && *cte_column == column)
            .map(|(_, _, array)| array.clone())
    }

    /// An upsert (`ON CONFLICT DO NOTHING` / `DO UPDATE`, `INSERT IGNORE`, `ON DUPLICATE KEY
    /// UPDATE`) reads the row of its key to decide whether to insert: a read of that key, with
    /// a row lock when it goes on to update the row (`DO NOTHING` takes none).
    fn arbiter_read(
        &self,
        table: &str,
        insert: &sqlparser::ast::Insert,
        columns: &[String],
        rows: &RowSet,
        on_conflict: &OnConflict,
    ) -> Option<Access> {
        if *on_conflict == OnConflict::Error {
            return None;
        }
        let known = self.catalog.table(table);
        let target = match &insert.on {
            Some(OnInsert::OnConflict(conflict)) => conflict.conflict_target.as_ref(),
            _ => None,
        };
        let key: Vec<String> = match target {
            Some(ConflictTarget::Columns { columns, .. }) => columns.iter().map(ident).collect(),
            Some(ConflictTarget::OnConstraint(name)) => {
                let name = object_name(name);
                known?
                    .keys
                    .iter()
                    .find(|key| key.name.as_deref() == Some(name.as_str()))?
                    .columns
                    .clone()
            }
            None => known?
                .keys
                .iter()
                .find(|key| {
                    !matches!(key.kind, KeyKind::Exclusion { .. })
                        && key.columns.iter().all(|column| columns.contains(column))
                })?
                .columns
                .clone(),
        };
        let pins = key
            .iter()
            .filter_map(|column| Some((column.clone(), rows.pins.get(column)?.clone())))
            .collect();
        let one_row = match insert.source.as_deref().map(|source| source.body.as_ref()) {
            Some(SetExpr::Values(values)) => values.rows.len() == 1,
            _ => false,
        };
        let lock = matches!(on_conflict, OnConflict::Update(_)).then_some(LockClause {
            strength: crate::parse::LockStrength::Update,
            skip_locked: false,
            nowait: false,
            key_range: false,
        });
        Some(Access {
            table: table.to_string(),
            rows: RowSet {
                pins,
                ..RowSet::default()
            },
            kind: AccessKind::Read {
                value: Columns::Some(key.iter().cloned().collect()),
                predicate: key.into_iter().collect(),
                lock,
                aggregate: false,
                limited: false,
                uncommitted: false,
                after_write: false,
                arbiter: Some(Arbiter { one_row }),
                must_find: false,
                must_miss: false,
                deleted: false,
            },
        })
    }

    /// See [`crate::catalog::Table::identifies_new_rows`]; a table the schema does not show
    /// has no known keys.
    fn identifies_new_rows(&self, table: &str, column: &str) -> bool {
        self.catalog
            .table(table)
            .is_some_and(|table| table.identifies_new_rows(column))
    }

    /// Whether a `RETURNING` list gives more than the primary key of `table`'s rows (`*`, or
    /// any other column or expression).
    fn returns_contents(&self, table: &str, items: &[SelectItem]) -> bool {
        let key: Vec<String> = self
            .catalog
            .table(table)
            .and_then(|table| table.keys.iter().find(|key| key.kind == KeyKind::Primary))
            .map(|key| key.columns.clone())
            .unwrap_or_default();
        items.iter().any(|item| match item {
            SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. } => {
                let column = match expr {
                    Expr::Identifier(name) => Some(ident(name)),
                    Expr::CompoundIdentifier(parts) => parts.last().map(ident),
                    _ => None,
                };
                !column.is_some_and(|column| key.contains(&column))
            }
            _ => true,
        })
    }

    /// What `column = value` assigns: in place when the value reads the column of the row
    /// being written (unqualified, or qualified by one of `targets`), else a term or an
    /// expression. `EXCLUDED.c`, `VALUES(c)` and a MERGE source's columns are new values.
    fn assigned_value(&mut self, value: &Expr, column: &str, targets: &[&str]) -> SetValue {
        let in_place = !is_inserted_value(value)
            && collect(value).columns.iter().any(|(qualifier, name)| {
                name == column
                    && qualifier
                        .as_ref()
                        .is_none_or(|q| targets.contains(&q.as_str()))
            });
        if in_place {
            SetValue::InPlace
        } else if is_clock(value) {
            SetValue::Clock
        } else if matches!(value, Expr::Value(v) if v.value == Value::Null) {
            SetValue::Term(Term::null())
        } else if let Some(term) = self.term(value, None) {
            SetValue::Term(term)
        } else {
            SetValue::Expr
        }
    }

    fn upsert_set(
        &mut self,
        assignments: &[Assignment],
        targets: &[&str],
    ) -> BTreeMap<String, SetValue> {
        let mut set = BTreeMap::new();
        for assignment in assignments {
            for column in assignment_targets(assignment) {
                let value = self.assigned_value(&assignment.value, &column, targets);
                set.insert(column, value);
            }
        }
        set
    }

    fn nested_mode(&self) -> ReadMode {
        ReadMode {
            lock: self.nested_lock,
            ..ReadMode::default()
        }
    }

    /// How the nested query `query` reads: locked only when a nested lock clause is written
    /// in it (`WITH c AS (SELECT ... FOR UPDATE) UPDATE ... WHERE EXISTS (SELECT ...)` locks
    /// the CTE's rows, not the EXISTS's).
    fn nested_mode_of(&self, query: &Query) -> ReadMode {
        let owns = match &self.lock_owners {
            Some(owners) => query_start(query).is_some_and(|start| owners.contains(&start)),
            None => true,
        };
        ReadMode {
            lock: self.nested_lock.filter(|_| owns),
            ..ReadMode::default()
        }
    }

    /// A subquery of an expression, read in its own right.
    fn subquery(&mut self, subquery: &Subquery) {
        let mode = ReadMode {
            exists: subquery.exists,
            ..self.nested_mode_of(&subquery.query)
        };
        self.query(&subquery.query, mode);
    }

    /// `FOR UPDATE OF a`: only the rows of `a` are locked. An Oracle `OF column` locks the
    /// tables that have that column; a name matching nothing leaves every table locked.
    fn restrict_lock_to_of(&mut self, scope: &[ScopeEntry]) {
        if self.lock_of.is_empty() {
            return;
        }
        let names_table =
            |name: &String, entry: &ScopeEntry| *name == entry.alias || *name == entry.table;
        let has_column = |name: &String, entry: &ScopeEntry| {
            self.catalog
                .table(&entry.table)
                .is_some_and(|table| table.columns.contains(name))
        };
        let matches: Vec<bool> = scope
            .iter()
            .map(|entry| {
                self.lock_of
                    .iter()
                    .any(|name| names_table(name, entry) || has_column(name, entry))
            })
            .collect();
        if !matches.contains(&true) {
            return;
        }
        for (entry, locked) in scope.iter().zip(matches) {
            if !locked
                && let Some(AccessKind::Read { lock, .. }) =
                    entry.access.map(|index| &mut self.accesses[index].kind)
            {
                *lock = None;
            }
        }
    }

    fn mark_all_columns(&mut self, access: Option<usize>) {
        if let Some(AccessKind::Read { value, .. }) = access.map(|i| &mut self.accesses[i].kind) {
            *value = Columns::All;
        }
    }

    fn read_from_list(
        &mut self,
        from: &[TableWithJoins],
        mode: ReadMode,
        scope: &mut Vec<ScopeEntry>,
    ) {
        for table in from {
            self.table_factor(&table.relation, mode, scope);
            for join in &table.joins {
                self.table_factor(&join.relation, mode, scope);
            }
        }
    }

    fn table_factor(&mut self, factor: &TableFactor, mode: ReadMode, scope: &mut Vec<ScopeEntry>) {
        match factor {
            TableFactor::Table {
                name, alias, args, ..
            } => {
                let table = object_name(name);
                let alias = alias
                    .as_ref()
                    .map(|alias| ident(&alias.name))
                    .unwrap_or_else(|| table.clone());
                // A set-returning function (`FROM get_batch_events($1) b`) reads no table here
                // (a routine's reads are its call's): each of its columns is one value for the
                // statement, the same wherever it names it (`rq.ev_id = b.ev_id`, and the row
                // an INSERT ... SELECT adds from `b.ev_id`).
                let access = if self.ctes.contains(&table) || args.is_some() {
                    None
                } else {
                    self.accesses.push(Access {
                        table: table.clone(),
                        rows: RowSet::default(),
                        kind: AccessKind::Read {
                            value: Columns::default(),
                            predicate: BTreeSet::new(),
                            lock: mode.lock,
                            aggregate: false,
                            limited: mode.limited,
                            uncommitted: self.uncommitted,
                            after_write: self.after_write,
                            arbiter: None,
                            must_find: false,
                            must_miss: false,
                            deleted: false,
                        },
                    });
                    Some(self.accesses.len() - 1)
                };
                scope.push(ScopeEntry {
                    alias,
                    table,
                    access,
                    derived: Vec::new(),
                    columns: BTreeMap::new(),
                    picks: None,
                });
            }
            TableFactor::Derived {
                subquery, alias, ..
            } => {
                let first = self.accesses.len();
                self.query(subquery, self.nested_mode_of(subquery));
                if let Some(alias) = alias {
                    let derived = (first..self.accesses.len())
                        .filter(|&index| self.accesses[index].is_read())
                        .collect();
                    let columns = self.passed_through(subquery);
                    let sources = match subquery.body.as_ref() {
                        SetExpr::Select(select) => self.column_sources(select),
                        _ => BTreeMap::new(),
                    };
                    let picked = projected_columns(subquery)
                        .into_iter()
                        .map(|column| {
                            let source = sources.get(&column).copied();
                            (column, source)
                        })
                        .collect();
                    scope.push(ScopeEntry {
                        alias: ident(&alias.name),
                        table: String::new(),
                        access: None,
                        derived,
                        columns,
                        picks: Some((picked, first..self.accesses.len())),
                    });
                }
            }
            TableFactor::NestedJoin {
                table_with_joins, ..
            } => self.read_from_list(std::slice::from_ref(table_with_joins), mode, scope),
            _ => {}
        }
    }

    /// The columns of the derived table `query`, just read, that are a column of one base
    /// table, row for row, mapped to that table's read: filtering the derived table on such a
    /// column keeps exactly the rows of that table that pass, so the condition restricts the
    /// base read as it would in its own WHERE. Only a plain SELECT qualifies: a LIMIT, a
    /// grouping, an aggregate or a window makes rows that are filtered out change the rows
    /// kept, and `DISTINCT ON` keeps the base table's columns only when it is by a key of that
    /// table (one row per row of it).
    fn passed_through(&self, query: &Query) -> BTreeMap<String, usize> {
        let SetExpr::Select(select) = query.body.as_ref() else {
            return BTreeMap::new();
        };
        let grouped =
            !matches!(&select.group_by, GroupByExpr::Expressions(exprs, _) if exprs.is_empty());
        let computed = select.projection.iter().any(|item| match item {
            SelectItem::UnnamedExpr(expr)
            | SelectItem::ExprWithAlias { expr, .. }
            | SelectItem::ExprWithAliases { expr, .. } => is_aggregate(expr) || has_window(expr),
            _ => false,
        });
        if query.with.is_some()
            || query.limit_clause.is_some()
            || query.fetch.is_some()
            || select.top.is_some()
            || select.having.is_some()
            || select.qualify.is_some()
            || grouped
            || computed
        {
            return BTreeMap::new();
        }
        let mut columns = self.column_sources(select);
        // `DISTINCT ON (job.id)`: one row per row of a table whose key it covers.
        if let Some(sqlparser::ast::Distinct::On(exprs)) = &select.distinct {
            let on: Vec<ColumnRef> = exprs.iter().filter_map(column_ref).collect();
            let from = &self.last_from;
            let keyed = |access: usize| {
                let table = &self.accesses[access].table;
                let Some((alias, _, _)) = from.iter().find(|(_, _, read)| *read == Some(access))
                else {
                    return false;
                };
                let names_it = |qualifier: &Option<String>| match qualifier {
                    Some(qualifier) => qualifier == alias,
                    None => from.len() == 1,
                };
                self.catalog.table(table).is_some_and(|table| {
                    table.keys.iter().any(|key| {
                        key.identifies_row()
                            && key.columns.iter().all(|column| {
                                on.iter()
                                    .any(|(qualifier, name)| name == column && names_it(qualifier))
                            })
                    })
                })
            };
            columns.retain(|_, access| keyed(*access));
        }
        columns
    }

    /// The columns `select`, just read, returns that are a column of one table of its FROM
    /// list, mapped to that table's read (`SELECT jobs.* FROM jobs`, `SELECT j.id, j.status`).
    /// A name the select list gives twice, and a `*` over anything but tables the catalog
    /// knows, give nothing.
    fn column_sources(&self, select: &Select) -> BTreeMap<String, usize> {
        let from = &self.last_from;
        let access_of = |alias: &str| -> Option<usize> {
            let mut named = from.iter().filter(|(name, _, _)| name == alias);
            let (_, _, read) = named.next()?;
            named.next().is_none().then_some(*read)?
        };
        let alias_of = |qualifier: &Option<String>| match (qualifier, from.as_slice()) {
            (Some(alias), _) => Some(alias.clone()),
            (None, [(alias, _, _)]) => Some(alias.clone()),
            (None, _) => None,
        };
        // Every name the select list gives, with the read it comes from, if one.
        let mut names: Vec<(String, Option<usize>)> = Vec::new();
        for item in &select.projection {
            let aliases: Vec<String> = match item {
                SelectItem::Wildcard(_) => from.iter().map(|(alias, _, _)| alias.clone()).collect(),
                SelectItem::QualifiedWildcard(
                    SelectItemQualifiedWildcardKind::ObjectName(name),
                    _,
                ) => vec![object_name(name)],
                SelectItem::UnnamedExpr(expr) => {
                    // An expression that is not a column has no name a condition can use.
                    if let Some((qualifier, column)) = column_ref(expr) {
                        names.push((column, alias_of(&qualifier).and_then(|a| access_of(&a))));
                    }
                    continue;
                }
                SelectItem::ExprWithAlias { expr, alias } => {
                    let name = ident(alias);
                    let read = column_ref(expr)
                        .filter(|(_, column)| *column == name)
                        .and_then(|(qualifier, _)| alias_of(&qualifier))
                        .and_then(|alias| access_of(&alias));
                    names.push((name, read));
                    continue;
                }
                _ => return BTreeMap::new(),
            };
            for alias in aliases {
                let known = from
                    .iter()
                    .find(|(name, _, _)| *name == alias)
                    .and_then(|(_, table, _)| self.catalog.table(table));
                let Some(known) = known else {
                    return BTreeMap::new();
                };
                let read = access_of(&alias);
                names.extend(known.columns.iter().map(|column| (column.clone(), read)));
            }
        }
        let mut columns = BTreeMap::new();
        for (name, read) in &names {
            if let Some(read) = read
                && names.iter().filter(|(other, _)| other == name).count() == 1
            {
                columns.insert(name.clone(), *read);
            }
        }
        columns
    }

    /// Pins and predicate columns from a WHERE clause; subqueries become reads of their own.
    fn where_clause(&mut self, selection: Option<&Expr>, scope: &[ScopeEntry]) {
        let Some(selection) = selection else { return };
        let used = collect(selection);
        self.assign_columns(scope, &used.columns, Use::Predicate);
        let mut subquery_reads = Vec::new();
        for subquery in &used.subqueries {
            let first = self.accesses.len();
            self.subquery(subquery);
            subquery_reads.push((&subquery.query, first..self.accesses.len()));
        }
        self.pin(selection, scope, None);
        // `WHERE id IN (SELECT id FROM t WHERE ...)`, `id = (SELECT id ... LIMIT 1)`, `id =
        // ANY(SELECT ...)` or `id = ANY(ARRAY(SELECT ...))`: the statement writes or reads
        // exactly the rows the subquery chose.
        for conjunct in conjuncts(selection) {
            let (expr, subquery) = match conjunct {
                Expr::In {
                    expr,
                    target: InTarget::Subquery(subquery),
                    negated: false,
                    ..
                } => (expr, subquery),
                Expr::BinaryOp {
                    left,
                    op: BinaryOperator::Eq,
                    right,
                } => match (unnested(left), unnested(right)) {
                    (Expr::Subquery(subquery), _) => (right, subquery),
                    (_, Expr::Subquery(subquery)) => (left, subquery),
                    _ => continue,
                },
                Expr::AnyOp {
                    left,
                    compare_op: BinaryOperator::Eq,
                    right,
                    ..
                } => match unnested(right) {
                    Expr::Subquery(subquery) => (left, subquery),
                    Expr::Function(function)
                        if object_name(&function.name).eq_ignore_ascii_case("array") =>
                    {
                        match &function.args {
                            FunctionArguments::Subquery(subquery) => (left, subquery),
                            _ => continue,
                        }
                    }
                    _ => continue,
                },
                _ => continue,
            };
            // `(entrypoint, expression) IN (SELECT entrypoint, expression FROM picked)` over a
            // unique key of the target chooses its rows column by column.
            let pairs: Vec<(ColumnRef, String)> = match unnested(expr) {
                Expr::Tuple(items) => {
                    let columns: Option<Vec<ColumnRef>> = items.iter().map(column_ref).collect();
                    let chosen = projected_columns(subquery);
                    match (columns, &*subquery.body) {
                        (Some(columns), SetExpr::Select(select))
                            if columns.len() == chosen.len()
                                && select.projection.len() == chosen.len() =>
                        {
                            columns.into_iter().zip(chosen).collect()
                        }
                        _ => continue,
                    }
                }
                expr => match (column_ref(expr), only_column(subquery)) {
                    (Some(column), Some(chosen)) => vec![(column, chosen)],
                    _ => continue,
                },
            };
            let targets: BTreeSet<Option<usize>> = pairs
                .iter()
                .map(|(column, _)| self.resolve(scope, column).and_then(|entry| entry.access))
                .collect();
            let [Some(target)] = targets.into_iter().collect::<Vec<_>>()[..] else {
                continue;
            };
            let keyed = pairs.len() == 1
                || self
                    .catalog
                    .table(&self.accesses[target].table)
                    .is_some_and(|table| {
                        table.keys.iter().any(|key| {
                            key.identifies_row()
                                && key
                                    .columns
                                    .iter()
                                    .all(|c| pairs.iter().any(|(column, _)| column.1 == *c))
                        })
                    });
            if !keyed {
                continue;
            }
            let Some((_, range)) = subquery_reads
                .iter()
                .find(|(query, _)| **query == **subquery)
            else {
                continue;
            };
            let only_equality = conjuncts(selection).len() == 1;
            // `IN (SELECT id FROM cte)`: the CTE chose the rows.
            let from_cte = match subquery.body.as_ref() {
                SetExpr::Select(select) => match select.from.as_slice() {
                    [from] if from.joins.is_empty() => table_name_of(&from.relation),
                    _ => None,
                },
                _ => None,
            };
            for (column, chosen) in pairs {
                let name = format!("{}.{} chosen", self.accesses[target].table, chosen);
                if let Some(reader) =
                    self.link_chosen_rows(target, &column.1, range.clone(), &chosen, name.clone())
                {
                    self.mark_deleted(reader, target, only_equality);
                    continue;
                }
                let cte = from_cte.as_ref().and_then(|(_, cte)| {
                    self.cte_rows
                        .iter()
                        .find(|(name, projected, _)| name == cte && *projected == chosen)
                        .cloned()
                });
                if let Some((_, _, range)) = cte {
                    let _ = self.link_chosen_rows(target, &column.1, range, &chosen, name);
                }
            }
        }
    }

    /// `UPDATE t ... FROM c WHERE t.id = c.id` with `c AS (SELECT t.* FROM t WHERE status =
    /// 'todo' ...)`, where the CTE reads `t` more than once (in a `NOT EXISTS`, say): `c.id` is
    /// the key of a row the CTE's own read of `t` chose, so the row written held that read's
    /// literal values when it was read. Only the values are taken: the read keeps its own rows
    /// (which rows it chose still depends on every row it scanned). A column of the chosen row
    /// that the CTE's subqueries name (`NOT EXISTS (... other.lock = jobs.lock)`, a value
    /// `jobs.lock` of the statement) is that value in the row written too.
    fn take_chosen_domains(&mut self, target: usize, column: &str, (cte, chosen): (&str, &str)) {
        let Some((_, _, read, alias)) = self
            .cte_sources
            .iter()
            .find(|(name, source, _, _)| name == cte && source == chosen)
        else {
            return;
        };
        let (read, alias) = (*read, alias.clone());
        let table = &self.accesses[target].table;
        let by_key = chosen == column
            && self.accesses[read].table == *table
            && self.catalog.table(table).is_some_and(|table| {
                table
                    .keys
                    .iter()
                    .any(|key| key.identifies_row() && key.columns == [column])
            });
        if !by_key {
            return;
        }
        for (chosen_column, domain) in self.accesses[read].rows.domains.clone() {
            self.accesses[target]
                .rows
                .domains
                .entry(chosen_column)
                .or_insert(domain);
        }
        self.take_chosen_comparisons(target, read);
        let named: BTreeSet<String> = self
            .accesses
            .iter()
            .flat_map(|access| access.rows.pins.values())
            .filter_map(|term| match term {
                Term::Param(name) => name
                    .strip_prefix(alias.as_str())
                    .and_then(|rest| rest.strip_prefix('.'))
                    .map(str::to_string),
                Term::Literal(_) => None,
            })
            .collect();
        let Some(table) = self.catalog.table(&self.accesses[target].table) else {
            return;
        };
        let rows = &mut self.accesses[target].rows;
        for named_column in named {
            if !alias.is_empty()
                && table.has_column(&named_column)
                && !rows.pins.contains_key(&named_column)
            {
                let term = Term::Param(format!("{alias}.{named_column}"));
                rows.pins.insert(named_column.clone(), term);
                rows.found.insert(named_column);
            }
        }
    }

    /// The label and accesses of the derived table whose plain column `outer` names, unless
    /// that column is known to come from a table other than `table`.
    fn derived_rows(
        &self,
        scope: &[ScopeEntry],
        outer: &ColumnRef,
        table: &str,
    ) -> Option<(String, std::ops::Range<usize>)> {
        let entry = self.resolve(scope, outer)?;
        let (columns, range) = entry.picks.as_ref()?;
        let (_, source) = columns.iter().find(|(name, _)| *name == outer.1)?;
        if source.is_some_and(|read| self.accesses[read].table != table) {
            return None;
        }
        Some((format!("{}.{}", entry.alias, outer.1), range.clone()))
    }

    /// The comparisons of columns the rows `read` chose passed, for the rows `target` writes.
    fn take_chosen_comparisons(&mut self, target: usize, read: usize) {
        let chosen = self.accesses[read].rows.clone();
        let rows = &mut self.accesses[target].rows;
        for comparison in chosen.comparisons {
            if !rows.comparisons.contains(&comparison) {
                rows.comparisons.push(comparison);
            }
        }
        for bound in chosen.bounds {
            if !rows.bounds.contains(&bound) {
                rows.bounds.push(bound);
            }
        }
    }

    /// Pins `column` of `target` and `chosen` of the reads of the same table in `sources` to
    /// one value: the rows the sources chose are the rows the target touches.
    fn link_chosen_rows(
        &mut self,
        target: usize,
        column: &str,
        sources: std::ops::Range<usize>,
        chosen: &str,
        name: String,
    ) -> Option<usize> {
        let table = self.accesses[target].table.clone();
        let readers: Vec<usize> = sources
            .filter(|&index| self.accesses[index].is_read() && self.accesses[index].table == table)
            .collect();
        if readers.len() != 1 || self.accesses[target].rows.pins.contains_key(column) {
            return None;
        }
        // A source that pins the chosen column already (`id = ANY($1) AND ...`) names the rows
        // written by that term.
        let term = self.accesses[readers[0]]
            .rows
            .pins
            .get(chosen)
            .cloned()
            .unwrap_or(Term::Param(name));
        // The rows written are rows the source chose: they held the source's literal values
        // when it read them.
        let chosen_domains = self.accesses[readers[0]].rows.domains.clone();
        for (chosen_column, domain) in chosen_domains {
            self.accesses[target]
                .rows
                .domains
                .entry(chosen_column)
                .or_insert(domain);
        }
        self.take_chosen_comparisons(target, readers[0]);
        self.accesses[target]
            .rows
            .pins
            .insert(column.to_string(), term.clone());
        self.accesses[readers[0]]
            .rows
            .pins
            .entry(chosen.to_string())
            .or_insert(term);
        Some(readers[0])
    }

    /// When `target` is a DELETE restricted by nothing but the rows `reader` chose, marks the
    /// read as one whose rows its statement deletes.
    fn mark_deleted(&mut self, reader: usize, target: usize, only_equality: bool) {
        if only_equality
            && matches!(self.accesses[target].kind, AccessKind::Delete { .. })
            && let AccessKind::Read { deleted, .. } = &mut self.accesses[reader].kind
        {
            *deleted = true;
        }
    }

    /// Pins and literal domains of the rows `selection` lets through, for the tables of
    /// `scope` (only the table named `only` when given: a LEFT JOIN's ON filters only the
    /// joined table).
    fn pin(&mut self, selection: &Expr, scope: &[ScopeEntry], only: Option<&str>) {
        let counts = |column: &ColumnRef| match (only, &column.0) {
            (None, _) => true,
            (Some(only), Some(qualifier)) => qualifier == only,
            (Some(_), None) => false,
        };
        let only_equality = only.is_none() && conjuncts(selection).len() == 1;
        for conjunct in conjuncts(selection) {
            // `id IN (SELECT unnest($1))`, or `id = ANY(SELECT x.id FROM x)` of a CTE `x AS
            // (SELECT unnest($1) AS id, ...)`: one of the values the parameter holds, as `id =
            // ANY($1)` (the subquery may keep fewer of them).
            if let Some((column, subquery)) = match conjunct {
                Expr::In {
                    expr,
                    target: InTarget::Subquery(subquery),
                    negated: false,
                    ..
                } => Some((expr.as_ref(), subquery.as_ref())),
                Expr::AnyOp {
                    left,
                    compare_op: BinaryOperator::Eq,
                    right,
                    ..
                } => match unnested(right) {
                    Expr::Subquery(subquery) => Some((left.as_ref(), subquery.as_ref())),
                    _ => None,
                },
                _ => None,
            } && let Some(column) = column_ref(column).filter(|column| counts(column))
                && let Some(array) = self.array_of(subquery)
                && let Some(access) = self
                    .resolve(scope, &column)
                    .and_then(|entry| entry.restricted(&column.1))
            {
                let table = self.accesses[access].table.clone();
                if let Some(term) = self.term(&array, Some((&table, &column.1))) {
                    self.accesses[access].rows.pins.insert(column.1, term);
                }
                continue;
            }
            // `name = ANY(ARRAY['q'])` (or `'{q}'`) is `name = 'q'`.
            if let Expr::AnyOp {
                left,
                compare_op: BinaryOperator::Eq,
                right,
                ..
            } = conjunct
                && let Some(values) = array_literals(right)
                && let [value] = Vec::from_iter(values).as_slice()
                && let Some(column) = column_ref(left).filter(|column| counts(column))
                && let Some(access) = self
                    .resolve(scope, &column)
                    .and_then(|entry| entry.restricted(&column.1))
            {
                self.accesses[access]
                    .rows
                    .pins
                    .insert(column.1, Term::Literal(value.clone()));
                continue;
            }
            // `lower(name) = lower($1)`: the value of an expression index's key.
            if let Expr::BinaryOp {
                left,
                op: BinaryOperator::Eq,
                right,
            } = conjunct
                && let Some((function, argument)) = unary_call(left)
                && let Some(column) = column_ref(argument)
                && counts(&column)
                && let Some(access) = self.resolve(scope, &column).and_then(|entry| entry.access)
            {
                let term = match unary_call(right) {
                    Some((other, inner)) if other == function => self
                        .term(inner, None)
                        .map(|term| Term::Param(format!("{function}({})", term.render()))),
                    _ => self.term(right, None),
                };
                if let Some(term) = term {
                    let key = format!("{function}({})", column.1);
                    self.accesses[access].rows.pins.insert(key, term);
                }
                continue;
            }
            let (column, value) = match conjunct {
                // `id = ANY($1)`: one of the values a parameter holds. Two instances meet when
                // their arrays share a value, which is taken as the parameters being equal.
                Expr::AnyOp {
                    left,
                    compare_op: BinaryOperator::Eq,
                    right,
                    ..
                } if array_literals(right).is_none() => match column_ref(left) {
                    Some(column) => (column, right.as_ref()),
                    None => continue,
                },

                Expr::BinaryOp {
                    left,
                    op: BinaryOperator::Eq,
                    right,
                } => match (column_ref(left), column_ref(right)) {
                    (Some(column), None) => (column, right.as_ref()),
                    (None, Some(column)) => (column, left.as_ref()),
                    // A column of an outer query (`existing.key = spec.key` in a correlated
                    // NOT EXISTS) is one value for this read: the same value wherever the
                    // statement names it, such as in the row an INSERT ... SELECT adds.
                    (Some(a), Some(b)) => {
                        let outer = |column: &ColumnRef| self.outer_value(scope, column).is_some();
                        match (outer(&a), outer(&b)) {
                            (false, true) => (a, right.as_ref()),
                            (true, false) => (b, left.as_ref()),
                            (false, false) => {
                                // A join of two rows read here: each side's value is known.
                                let access = |column: &ColumnRef| {
                                    self.resolve(scope, column).and_then(|entry| entry.access)
                                };
                                if let (Some(x), Some(y)) = (access(&a), access(&b))
                                    && x != y
                                {
                                    if counts(&a) {
                                        self.accesses[x].rows.known.insert(a.1.clone());
                                    }
                                    if counts(&b) {
                                        self.accesses[y].rows.known.insert(b.1.clone());
                                    }
                                }
                                continue;
                            }
                            (true, true) => continue,
                        }
                    }
                    _ => continue,
                },
                Expr::In {
                    expr,
                    target: InTarget::List(list),
                    negated: false,
                    ..
                } if list.len() == 1 => match column_ref(expr) {
                    Some(column) => (column, &list[0]),
                    None => continue,
                },
                // A bare boolean column (`WHERE on_call`) pins it to true, `NOT on_call` and
                // `on_call IS FALSE` to false.
                Expr::Identifier(_) | Expr::CompoundIdentifier(_) | Expr::IsTrue(_) => {
                    let inner = match conjunct {
                        Expr::IsTrue(inner) => inner.as_ref(),
                        other => other,
                    };
                    match column_ref(inner) {
                        Some(column) => (column, &TRUE),
                        None => continue,
                    }
                }
                Expr::UnaryOp {
                    op: UnaryOperator::Not,
                    expr: inner,
                }
                | Expr::IsFalse(inner) => match column_ref(inner) {
                    Some(column) => (column, &FALSE),
                    None => continue,
                },
                _ => continue,
            };
            if !counts(&column) {
                continue;
            }
            let Some(entry) = self.resolve(scope, &column) else {
                continue;
            };
            let Some(access) = entry.restricted(&column.1) else {
                continue;
            };
            let table = self.accesses[access].table.clone();
            let term = match column_ref(value) {
                Some(outer) => {
                    // `UPDATE t ... FROM c WHERE t.id = c.id` with `c AS (SELECT id FROM t ...)`:
                    // the rows the CTE chose are the rows written.
                    let cte_name = self.cte_named(scope, &outer);
                    let cte = self.cte_rows.iter().find(|(name, chosen, _)| {
                        cte_name.as_deref() == Some(name.as_str()) && *chosen == outer.1
                    });
                    if let Some((name, chosen, range)) = cte.cloned() {
                        let label = format!("{name}.{chosen}");
                        if let Some(reader) =
                            self.link_chosen_rows(access, &column.1, range, &chosen, label)
                        {
                            self.mark_deleted(reader, access, only_equality);
                            continue;
                        }
                    }
                    // `UPDATE t ... FROM (SELECT id FROM t WHERE ... LIMIT 10) m WHERE t.id =
                    // m.id`: as with a CTE, the rows the derived table chose are the rows
                    // written.
                    if let Some((label, range)) = self.derived_rows(scope, &outer, &table)
                        && let Some(reader) =
                            self.link_chosen_rows(access, &column.1, range, &outer.1, label)
                    {
                        self.mark_deleted(reader, access, only_equality);
                        continue;
                    }
                    if let Some(cte) = cte_name {
                        self.take_chosen_domains(access, &column.1, (&cte, &outer.1));
                    }
                    // `DELETE FROM t USING (SELECT id FROM t ...) x WHERE t.id = x.id`.
                    if let Some(reader) = self
                        .resolve(scope, &outer)
                        .filter(|entry| entry.access.is_none() && outer.1 == column.1)
                        .and_then(|entry| entry.columns.get(&outer.1).copied())
                        .filter(|&reader| self.accesses[reader].table == table)
                    {
                        self.mark_deleted(reader, access, only_equality);
                    }
                    self.outer_value(scope, &outer)
                }
                None => self.term(value, Some((&table, &column.1))),
            };
            if let Some(term) = term {
                self.accesses[access].rows.pins.insert(column.1, term);
            }
        }
        for (column, domain) in domains(selection) {
            if !counts(&column) {
                continue;
            }
            let Some(access) = self.restricted(scope, &column) else {
                continue;
            };
            let domains = &mut self.accesses[access].rows.domains;
            let domain = match domains.get(&column.1) {
                Some(known) => known.and(&domain),
                None => domain,
            };
            domains.insert(column.1, domain);
        }
        for conjunct in conjuncts(selection) {
            let Expr::BinaryOp { left, op, right } = conjunct else {
                continue;
            };
            // Equality is a pin.
            let Some(outcomes) = outcomes_of(op).filter(|outcomes| {
                ![Comparison::EQUAL, Comparison::LESS | Comparison::GREATER].contains(outcomes)
            }) else {
                continue;
            };
            let (column, value, outcomes) = match (column_ref(left), column_ref(right)) {
                (Some(column), None) => (column, right.as_ref(), outcomes),
                (None, Some(column)) => (column, left.as_ref(), Comparison::flipped(outcomes)),
                _ => continue,
            };
            if !counts(&column) {
                continue;
            }
            let Some(access) = self.restricted(scope, &column) else {
                continue;
            };
            let table = self.accesses[access].table.clone();
            if let Some(term @ Term::Param(_)) = self.term(value, Some((&table, &column.1))) {
                let bound = Bound {
                    column: column.1,
                    outcomes,
                    term,
                };
                let known = &mut self.accesses[access].rows.bounds;
                if !known.contains(&bound) {
                    known.push(bound);
                }
            }
        }
        for comparison in comparisons(selection) {
            let columns = std::iter::once(&comparison.left)
                .chain(std::iter::once(&comparison.right))
                .chain(comparison.when.as_ref().map(|(column, _)| column));
            let owners: Option<BTreeSet<usize>> = columns
                .map(|column| {
                    counts(column)
                        .then(|| self.restricted(scope, column))
                        .flatten()
                })
                .collect();
            // All three columns in the one row.
            let Some(owners) = owners.filter(|owners| owners.len() == 1) else {
                continue;
            };
            let Some(&access) = owners.first() else {
                continue;
            };
            let comparison = Comparison {
                left: comparison.left.1,
                right: comparison.right.1,
                outcomes: comparison.outcomes,
                when: comparison.when.map(|(column, domain)| (column.1, domain)),
            };
            let known = &mut self.accesses[access].rows.comparisons;
            if !known.contains(&comparison) {
                known.push(comparison);
            }
        }
        let separate = separate_tests(selection);
        for column in collect(selection).columns {
            if !counts(&column) {
                continue;
            }
            let Some(access) = self.restricted(scope, &column) else {
                continue;
            };
            let alone = separate.contains(&column);
            self.accesses[access]
                .rows
                .separable
                .entry(column.1)
                .and_modify(|separable| *separable &= alone)
                .or_insert(alone);
        }
    }

    /// The access whose rows a condition on `column` restricts (see
    /// [`ScopeEntry::restricted`]).
    fn restricted(&self, scope: &[ScopeEntry], column: &ColumnRef) -> Option<usize> {
        self.resolve(scope, column)?.restricted(&column.1)
    }

    /// The scope entry a column belongs to: by qualifier, else the only table, else the one
    /// whose catalog table has the column.
    fn resolve<'s>(&self, scope: &'s [ScopeEntry], column: &ColumnRef) -> Option<&'s ScopeEntry> {
        match &column.0 {
            Some(qualifier) => scope.iter().find(|entry| entry.alias == *qualifier),
            None if scope.len() == 1 => scope.first(),
            None => {
                let mut owners = scope.iter().filter(|entry| {
                    self.catalog
                        .table(&entry.table)
                        .is_some_and(|table| table.has_column(&column.1))
                });
                let first = owners.next();
                if owners.next().is_some() { None } else { first }
            }
        }
    }

    fn assign_columns(&mut self, scope: &[ScopeEntry], columns: &[ColumnRef], usage: Use) {
        for column in columns {
            let targets: Vec<usize> = match self.resolve(scope, column) {
                Some(entry) if entry.access.is_none() => entry
                    .derived
                    .iter()
                    .copied()
                    .filter(|&index| {
                        self.catalog
                            .table(&self.accesses[index].table)
                            .is_none_or(|table| table.has_column(&column.1))
                    })
                    .collect(),
                Some(entry) => entry.access.into_iter().collect(),
                // Unknown to the catalog: every table might own it.
                None if column.0.is_none() => scope.iter().filter_map(|e| e.access).collect(),
                None => vec![],
            };
            for index in targets {
                match (&mut self.accesses[index].kind, usage) {
                    (AccessKind::Read { value, .. }, Use::Value) => value.insert(column.1.clone()),
                    (
                        AccessKind::Read { predicate, .. }
                        | AccessKind::Update { predicate, .. }
                        | AccessKind::Delete { predicate },
                        Use::Predicate,
                    ) => {
                        predicate.insert(column.1.clone());
                    }
                    _ => {}
                }
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Use {
    Value,
    Predicate,
}

fn table_name_of(factor: &TableFactor) -> Option<(String, String)> {
    match factor {
        TableFactor::Table { name, alias, .. } => {
            let table = object_name(name);
            let alias = alias
                .as_ref()
                .map(|alias| ident(&alias.name))
                .unwrap_or_else(|| table.clone());
            Some((alias, table))
        }
        _ => None,
    }
}

/// `USING (SELECT @sku AS sku, 5 AS qty) AS s`: `s.sku` and `s.qty` are those expressions.
fn merge_source_constants(source: &TableFactor) -> BTreeMap<(String, String), Expr> {
    let mut constants = BTreeMap::new();
    let TableFactor::Derived {
        subquery,
        alias: Some(alias),
        ..
    } = source
    else {
        return constants;
    };
    let source_alias = ident(&alias.name);
    let SetExpr::Select(select) = subquery.body.as_ref() else {
        return constants;
    };
    if !select.from.is_empty() {
        return constants;
    }
    for item in &select.projection {
        if let SelectItem::ExprWithAlias { expr, alias } = item {
            constants.insert((source_alias.clone(), ident(alias)), expr.clone());
        }
    }
    constants
}

fn assignment_targets(assignment: &Assignment) -> Vec<String> {
    match &assignment.target {
        AssignmentTarget::ColumnName(name) => vec![object_name(name)],
        AssignmentTarget::Tuple(names) => names.iter().map(object_name).collect(),
    }
}

/// MySQL's `VALUES(c)` in `ON DUPLICATE KEY UPDATE`: the value the INSERT carried.
fn is_inserted_value(expr: &Expr) -> bool {
    matches!(expr, Expr::Function(function) if object_name(&function.name) == "values")
}

/// `lower(x)`: a call of a function on one argument, with the function's name.
pub fn unary_call(expr: &Expr) -> Option<(String, &Expr)> {
    let Expr::Function(function) = expr else {
        return None;
    };
    let FunctionArguments::List(list) = &function.args else {
        return None;
    };
    match list.args.as_slice() {
        [FunctionArg::Unnamed(FunctionArgExpr::Expr(argument))] => {
            Some((object_name(&function.name), argument))
        }
        _ => None,
    }
}

/// A value no other transaction can know yet: `nextval('seq')`, `gen_random_uuid()`, ...
fn is_fresh_value(expr: &Expr) -> bool {
    match expr {
        Expr::Cast { expr, .. } | Expr::Nested(expr) => is_fresh_value(expr),
        Expr::Function(function) => {
            let name = object_name(&function.name);
            name != "identity" && crate::catalog::generates_fresh_values(&name)
        }
        _ => false,
    }
}

/// The time of the statement or transaction: `now()`, `CURRENT_TIMESTAMP`, `clock_timestamp()`,
/// with or without a cast or a time zone.
fn is_clock(expr: &Expr) -> bool {
    match expr {
        Expr::Cast { expr, .. }
        | Expr::Nested(expr)
        | Expr::AtTimeZone {
            timestamp: expr, ..
        } => is_clock(expr),
        Expr::Function(function) if object_name(&function.name) == "timezone" => {
            function_args(&function.args).last().is_some_and(is_clock)
        }
        Expr::Function(function) => matches!(
            object_name(&function.name).as_str(),
            "now"
                | "current_timestamp"
                | "current_date"
                | "current_time"
                | "localtimestamp"
                | "localtime"
                | "clock_timestamp"
                | "statement_timestamp"
                | "transaction_timestamp"
                | "sysdate"
                | "systimestamp"
                | "getdate"
                | "getutcdate"
                | "sysdatetime"
                | "sysutcdatetime"
                | "utc_timestamp"
        ),
        Expr::Identifier(name) => matches!(
            name.value.to_ascii_lowercase().as_str(),
            "current_timestamp" | "current_date" | "localtimestamp" | "sysdate"
        ),
        _ => false,
    }
}

/// The time stamp a value is next to its writer's clock: [`Domain::CLOCK`] for the clock
/// itself, [`Domain::LATER`] for the clock plus an amount that is not zero or negative as
/// written (`now() + interval '1 hour'`, `now() + ttl`, `now() + retry_backoff`).
pub fn clock_value(expr: &Expr) -> Option<&'static str> {
    match expr {
        _ if is_clock(expr) => Some(Domain::CLOCK),
        Expr::Cast { expr, .. } | Expr::Nested(expr) => clock_value(expr),
        Expr::BinaryOp {
            left,
            op: BinaryOperator::Plus,
            right,
        } => {
            let later = (is_clock(left) && positive_amount(right))
                || (is_clock(right) && positive_amount(left));
            later.then_some(Domain::LATER)
        }
        _ => None,
    }
}

/// An amount of time added to or taken from the clock that is not written as zero or
/// negative: a parameter or a column counts as positive.
fn positive_amount(expr: &Expr) -> bool {
    match unnested(expr) {
        Expr::Cast { expr, .. } => positive_amount(expr),
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            ..
        } => false,
        Expr::Interval(interval) => positive_amount(&interval.value),
        // A literal says its sign: `'-1 day'` and `'0 seconds'` are none; a text whose number
        // is left to a parameter (`'%(ttl)s seconds'`) counts as positive.
        other => literal_value(other).is_none_or(|literal| {
            let text = literal.trim_matches('\'').trim();
            let mut numbers = text
                .split(|c: char| !c.is_ascii_digit() && c != '.')
                .filter(|part| !part.is_empty())
                .peekable();
            let zero = numbers.peek().is_some()
                && numbers.all(|number| number.parse::<f64>().is_ok_and(|n| n == 0.0));
            !text.starts_with('-') && !zero
        }),
    }
}

/// The value a column certainly holds after `value` is assigned to it, where the value says:
/// a literal, NULL, a time stamp of the clock, or a `CASE` whose every result is one of those.
fn written_domain(value: &Expr) -> Option<Domain> {
    let value = unnested(value);
    if let Some(literal) = literal_value(value) {
        return Some(Domain::In(BTreeSet::from([literal])));
    }
    if let Some(stamp) = clock_value(value) {
        return Some(Domain::In(BTreeSet::from([stamp.to_string()])));
    }
    let Expr::Case {
        conditions,
        else_result,
        ..
    } = value
    else {
        return None;
    };
    let mut domain = match else_result {
        Some(otherwise) => written_domain(otherwise)?,
        None => Domain::In(BTreeSet::from([Domain::NULL.to_string()])),
    };
    for when in conditions {
        domain = domain.or(&written_domain(&when.result)?);
    }
    Some(domain)
}

/// `column < now() - amount` (or `<=`, either way round, or `column + amount < now()`): a
/// condition that no time stamp of a concurrent writer's clock meets, since that writer is
/// taken to be younger than the amount; `column < now()` is met by the clock of a writer that
/// began earlier, and only a time ahead of the clock ([`Domain::LATER`]) never meets it. The
/// column and the time stamps it never holds where the condition is true.
fn before_clock(
    left: &Expr,
    op: BinaryOperator,
    right: &Expr,
) -> Option<(ColumnRef, BTreeSet<String>)> {
    let (early, late) = match op {
        BinaryOperator::Lt | BinaryOperator::LtEq => (left, right),
        BinaryOperator::Gt | BinaryOperator::GtEq => (right, left),
        _ => return None,
    };
    // How far before the clock the bound is: none (`now()`), or a positive amount.
    let (column, ahead) = match unnested(early) {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::Plus,
            right,
        } => match (column_ref(left), column_ref(right)) {
            (Some(column), None) if positive_amount(right) => (column, true),
            (None, Some(column)) if positive_amount(left) => (column, true),
            _ => return None,
        },
        other => (column_ref(other)?, false),
    };
    let behind = match unnested(late) {
        clock if is_clock(clock) => ahead,
        Expr::BinaryOp {
            left,
            op: BinaryOperator::Minus,
            right,
        } if is_clock(left) && positive_amount(right) => true,
        _ => return None,
    };
    let mut excluded = BTreeSet::from([Domain::NULL.to_string(), Domain::LATER.to_string()]);
    if behind {
        excluded.insert(Domain::CLOCK.to_string());
    }
    Some((column, excluded))
}

/// Whether `expr` calls a window function (`row_number() OVER (...)`) anywhere.
fn has_window(expr: &Expr) -> bool {
    sqlparser::ast::visit_expressions(expr, |inner| match inner {
        Expr::Function(function) if function.over.is_some() => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    })
    .is_break()
}

/// What each output column of a `SELECT` is, when it is computed from the rows the query reads
/// (see [`RowSet::derived`]): for `INSERT ... SELECT` (the columns it fills) or `SELECT ...
/// INTO` in a routine (the variables it assigns). `statement` is such a `SELECT`, or the
/// `INSERT`, and `accesses` what it reads.
pub fn derived_outputs(statement: &Statement, accesses: &[Access]) -> Vec<Option<Derived>> {
    let Statement::Query(query) = statement else {
        return Vec::new();
    };
    match query.body.as_ref() {
        SetExpr::Select(select) if query.with.is_none() => {
            let reads = accesses.iter().filter(|access| access.is_read()).count();
            if reads == accesses.len() {
                derived_values(select, accesses)
            } else {
                Vec::new()
            }
        }
        _ => Vec::new(),
    }
}

/// Each output column of `select` whose value is an aggregate of the one table it reads
/// (`SELECT $1, coalesce(max(seq), 0) + 1 FROM lines WHERE parent = $1`; see
/// [`aggregate_value`]), in a query whose every parameter, but those only in its other output
/// columns, is one its WHERE pins a column to. `accesses` are the query's reads: one.
fn derived_values(select: &Select, accesses: &[Access]) -> Vec<Option<Derived>> {
    let grouped =
        !matches!(&select.group_by, GroupByExpr::Expressions(exprs, _) if exprs.is_empty());
    let (false, None, [from], [read]) = (grouped, &select.having, &select.from[..], accesses)
    else {
        return Vec::new();
    };
    if !from.joins.is_empty() || !read.is_read() || !read.rows.bounds.is_empty() {
        return Vec::new();
    }
    let mut inputs: Vec<Term> = Vec::new();
    for term in read.rows.pins.values() {
        if matches!(term, Term::Param(_)) && !inputs.contains(term) {
            inputs.push(term.clone());
        }
    }
    // The query written out with each parameter named by its place among the inputs, so that
    // two statements that name their parameters differently compute the same value.
    let numbered = |expr: &Expr| -> Option<String> {
        let mut expr = expr.clone();
        let mut unknown = false;
        let _ = visit_expressions_mut(&mut expr, |inner| {
            if let Expr::Value(value) = inner
                && let Value::Placeholder(name) = &mut value.value
            {
                let term = Term::Param(name.clone());
                match inputs.iter().position(|input| *input == term) {
                    Some(at) if !is_anonymous(name) => *name = format!("$input{at}"),
                    _ => unknown = true,
                }
            }
            ControlFlow::<()>::Continue(())
        });
        (!unknown).then(|| expr.to_string())
    };
    let condition = match &select.selection {
        Some(selection) => match numbered(selection) {
            Some(text) => format!(" WHERE {text}"),
            None => return Vec::new(),
        },
        None => String::new(),
    };
    select
        .projection
        .iter()
        .map(|item| {
            let (SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. }) = item
            else {
                return None;
            };
            let value = numbered(expr).filter(|_| aggregate_value(expr))?;
            Some(Derived {
                source: format!("{value} FROM {from}{condition}"),
                inputs: inputs.clone(),
            })
        })
        .collect()
}

/// One value computed from the rows a query reads: an aggregate, through arithmetic, casts,
/// `coalesce`, `greatest` and `least`, of nothing else but literals and parameters
/// (`coalesce(max(seq), 0) + 1`, `count(*) + 1`).
fn aggregate_value(expr: &Expr) -> bool {
    fn computed(expr: &Expr) -> Option<bool> {
        match expr {
            Expr::Function(function) if function.over.is_none() && is_aggregate(expr) => Some(true),
            Expr::Function(function)
                if function.over.is_none()
                    && matches!(
                        object_name(&function.name).as_str(),
                        "coalesce" | "greatest" | "least"
                    ) =>
            {
                let FunctionArguments::List(list) = &function.args else {
                    return None;
                };
                let mut aggregate = false;
                for arg in &list.args {
                    let FunctionArg::Unnamed(FunctionArgExpr::Expr(arg)) = arg else {
                        return None;
                    };
                    aggregate |= computed(arg)?;
                }
                Some(aggregate)
            }
            Expr::BinaryOp {
                left,
                op: BinaryOperator::Plus | BinaryOperator::Minus | BinaryOperator::Multiply,
                right,
            } => Some(computed(left)? | computed(right)?),
            Expr::Nested(inner) | Expr::Cast { expr: inner, .. } => computed(inner),
            Expr::Value(_) => Some(false),
            _ => None,
        }
    }
    computed(expr) == Some(true)
}

/// `count(*)`, `sum(x)`, ... at the top of a projection item.
fn is_aggregate(expr: &Expr) -> bool {
    match expr {
        Expr::Function(function) => matches!(
            object_name(&function.name).as_str(),
            "count"
                | "sum"
                | "min"
                | "max"
                | "avg"
                | "bool_and"
                | "bool_or"
                | "every"
                | "array_agg"
                | "string_agg"
                | "json_agg"
                | "jsonb_agg"
                | "group_concat"
        ),
        Expr::Nested(inner) => is_aggregate(inner),
        Expr::BinaryOp { left, right, .. } => is_aggregate(left) || is_aggregate(right),
        Expr::Cast { expr, .. } => is_aggregate(expr),
        _ => false,
    }
}

/// A compare-and-set guard: the WHERE pins with `=` a column the statement also writes, or
/// compares a written column with `<`, `<=`, `>`, `>=` against a parameter (a fencing token).
fn is_guard(selection: &Expr, set: &BTreeMap<String, SetValue>) -> bool {
    conjuncts(selection).into_iter().any(|conjunct| {
        let Expr::BinaryOp { left, op, right } = conjunct else {
            return false;
        };
        let (column, other) = match (column_ref(left), column_ref(right)) {
            (Some(column), None) => (column, right.as_ref()),
            (None, Some(column)) => (column, left.as_ref()),
            _ => return false,
        };
        if !set.contains_key(&column.1) {
            return false;
        }
        match op {
            BinaryOperator::Eq => true,
            // A fencing token: the value compared is the value written (`SET t = :t WHERE
            // t < :t`), so the later writer of a stale token updates nothing. Comparing an
            // overwrite with another value (`SET balance = $2 WHERE balance >= $3`) guards
            // nothing.
            BinaryOperator::Lt
            | BinaryOperator::LtEq
            | BinaryOperator::Gt
            | BinaryOperator::GtEq => match (parameter_name(other), set.get(&column.1)) {
                // `SET n = n - $2 WHERE n >= $2`: checked and computed on the latest row.
                (Some(_), Some(SetValue::InPlace)) => true,
                (Some(compared), Some(SetValue::Term(Term::Param(written)))) => {
                    // Anonymous `?` markers cannot be told apart: trust the pattern.
                    is_anonymous(&compared) || compared == *written
                }
                _ => false,
            },
            _ => false,
        }
    })
}

/// The name of a parameter as `Extractor::term` names it (`$1`, `:t`, `@t`).
fn parameter_name(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Value(value) => match &value.value {
            Value::Placeholder(name) => Some(name.clone()),
            _ => None,
        },
        Expr::Identifier(name) if name.value.starts_with('@') => {
            Some(name.value.to_ascii_lowercase())
        }
        Expr::Nested(inner) | Expr::Cast { expr: inner, .. } => parameter_name(inner),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::parse::parse_file;
    use crate::semantics::Engine;

    /// One line per access: `kind table rows {..} cols`.
    fn render(access: &Access) -> String {
        let rows: Vec<String> = access
            .rows
            .pins
            .iter()
            .map(|(column, term)| format!("{column}={}", term.render()))
            .collect();
        let detail = match &access.kind {
            AccessKind::Read {
                value,
                predicate,
                lock,
                aggregate,
                limited,
                ..
            } => {
                let value = match value {
                    Columns::All => "*".to_string(),
                    Columns::Some(set) => set.iter().cloned().collect::<Vec<_>>().join(","),
                };
                let predicate: Vec<_> = predicate.iter().cloned().collect();
                format!(
                    "read value[{value}] pred[{}]{}{}{}",
                    predicate.join(","),
                    if lock.is_some() { " locked" } else { "" },
                    if *aggregate { " aggregate" } else { "" },
                    if *limited { " limited" } else { "" },
                )
            }
            AccessKind::Update { set, guarded, .. } => {
                let set: Vec<String> = set
                    .iter()
                    .map(|(column, value)| match value {
                        SetValue::InPlace => format!("{column}+="),
                        SetValue::Term(term) => format!("{column}:={}", term.render()),
                        SetValue::Expr => format!("{column}:=expr"),
                        SetValue::Clock => format!("{column}:=now"),
                    })
                    .collect();
                format!(
                    "update [{}]{}",
                    set.join(","),
                    if *guarded { " guarded" } else { "" }
                )
            }
            AccessKind::Delete { .. } => "delete".to_string(),
            AccessKind::Insert { on_conflict, .. } => format!("insert {on_conflict:?}"),
            AccessKind::Lock(target) => format!("lock {target:?}"),
        };
        format!("{} {} {{{}}}", detail, access.table, rows.join(" "))
    }

    fn accesses_of(engine: Engine, sql: &str) -> Vec<Access> {
        let file = parse_file(sql, engine);
        let statement = &file.statements[0];
        let asts = statement.parsed.as_ref().expect("parses");
        asts.iter()
            .flat_map(|ast| accesses(ast, &statement.locks, &Catalog::default()))
            .collect()
    }

    fn check(engine: Engine, sql: &str, expected: &[&str]) {
        let catalog = Catalog::default();
        let file = parse_file(sql, engine);
        let statement = &file.statements[0];
        let asts = statement.parsed.as_ref().expect("parses");
        let rendered: Vec<String> = asts
            .iter()
            .flat_map(|ast| accesses(ast, &statement.locks, &catalog))
            .map(|access| render(&access))
            .collect();
        assert_eq!(rendered, expected, "{sql}");
    }

    /// The domains each access of `sql`'s first statement holds, over the schema `schema`.
    fn catalog_of(schema: &str) -> Catalog {
        let mut catalog = Catalog::default();
        for ast in
            sqlparser::parser::Parser::parse_sql(&sqlparser::dialect::PostgreSqlDialect {}, schema)
                .expect("schema parses")
        {
            for change in crate::catalog::from_ast::changes(&ast).unwrap_or_default() {
                catalog.apply(change);
            }
        }
        catalog
    }

    fn domains_with(schema: &str, sql: &str) -> Vec<String> {
        let catalog = catalog_of(schema);
        let file = parse_file(sql, Engine::Postgres);
        let statement = &file.statements[0];
        let asts = statement.parsed.as_ref().expect("parses");
        asts.iter()
            .flat_map(|ast| accesses(ast, &statement.locks, &catalog))
            .map(|access| format!("{} {:?}", access.table, access.rows.domains))
            .collect()
    }

    const JOBS: &str = "CREATE TABLE jobs (id bigint PRIMARY KEY, state text, queue text); \
                        CREATE TABLE events (id bigint PRIMARY KEY, job_id bigint, at timestamptz)";

    #[test]
    fn a_derived_tables_condition_restricts_the_base_rows_it_passes_through() {
        let state = r#""state": In({"'done'"})"#;
        // `job.*`, one row per job by its key: the condition is on jobs' own rows.
        let keyed = domains_with(
            JOBS,
            "SELECT j.id FROM (SELECT DISTINCT ON (job.id) job.*, e.at AS latest \
             FROM jobs job JOIN events e ON e.job_id = job.id ORDER BY job.id, e.at DESC) AS j \
             WHERE j.state = 'done'",
        );
        assert!(
            keyed[0].starts_with("jobs ") && keyed[0].contains(state),
            "{keyed:?}"
        );
        // A plain column of one table, renamed to itself.
        let plain = domains_with(
            JOBS,
            "SELECT j.id FROM (SELECT id, state AS state FROM jobs) j WHERE j.state = 'done'",
        );
        assert!(
            plain[0].starts_with("jobs ") && plain[0].contains(state),
            "{plain:?}"
        );
    }

    #[test]
    fn a_row_a_cte_chose_by_key_held_its_values_when_the_cte_read_it() {
        let sql = "WITH c AS (SELECT jobs.* FROM jobs WHERE state = 'todo' AND NOT EXISTS \
                   (SELECT 1 FROM jobs o WHERE o.queue = jobs.queue AND o.state = 'doing') \
                   LIMIT 1 FOR UPDATE SKIP LOCKED) \
                   UPDATE jobs SET state = 'doing' FROM c WHERE jobs.id = c.id";
        let domains = domains_with(JOBS, sql);
        let written = domains.last().expect("the UPDATE");
        assert!(
            written.contains(r#""state": In({"'todo'"})"#),
            "{domains:?}"
        );
        // The queue the NOT EXISTS names as `jobs.queue` is the written row's.
        let catalog = catalog_of(JOBS);
        let file = parse_file(sql, Engine::Postgres);
        let statement = &file.statements[0];
        let asts = statement.parsed.as_ref().expect("parses");
        let update = asts
            .iter()
            .flat_map(|ast| accesses(ast, &statement.locks, &catalog))
            .last()
            .expect("the UPDATE");
        assert_eq!(
            update.rows.pins.get("queue"),
            Some(&Term::Param("jobs.queue".to_string()))
        );
        assert!(update.rows.found.contains("queue"));
        // Joined on a column that is not a key, the rows written are other rows.
        let by_queue = sql.replace("jobs.id = c.id", "jobs.queue = c.queue");
        let domains = domains_with(JOBS, &by_queue);
        assert!(
            !domains.last().expect("the UPDATE").contains("state"),
            "{domains:?}"
        );
    }

    #[test]
    fn a_derived_table_that_filtered_rows_could_change_passes_nothing_through() {
        for sql in [
            // The LIMIT chooses among every row: one filtered out can push one kept out.
            "SELECT j.id FROM (SELECT * FROM jobs ORDER BY queue LIMIT 10) j WHERE j.state = 'done'",
            // DISTINCT ON a column that is not a key keeps one job of many.
            "SELECT j.id FROM (SELECT DISTINCT ON (queue) * FROM jobs ORDER BY queue, id) j \
             WHERE j.state = 'done'",
            // A computed column named like the table's.
            "SELECT j.id FROM (SELECT id, upper(queue) AS state FROM jobs) j WHERE j.state = 'done'",
            // A window over every row.
            "SELECT j.id FROM (SELECT *, count(*) OVER () AS n FROM jobs) j WHERE j.state = 'done'",
            // Two columns of that name.
            "SELECT j.id FROM (SELECT jobs.*, events.id AS state FROM jobs JOIN events \
             ON events.job_id = jobs.id) j WHERE j.state = 'done'",
        ] {
            let jobs = &domains_with(JOBS, sql)[0];
            assert!(!jobs.contains("state"), "{sql}: {jobs}");
        }
    }

    #[test]
    fn a_case_that_keeps_other_values_changes_only_the_values_it_tests() {
        let changes = |sql: &str| {
            let parsed = sqlparser::parser::Parser::parse_sql(
                &sqlparser::dialect::PostgreSqlDialect {},
                sql,
            )
            .unwrap();
            let statement = &parsed[0];
            let Statement::Update(update) = statement else {
                panic!("{sql}");
            };
            case_changes_only(&update.assignments[0].value, "state").map(|d| d.describe())
        };
        assert_eq!(
            changes(
                "UPDATE jobs SET state = CASE WHEN state = 'available' AND $1 > now() \
                 THEN 'scheduled' WHEN state IN ('scheduled', 'retryable') THEN 'available' \
                 ELSE state END WHERE id = $2"
            )
            .as_deref(),
            Some("IN ('available', 'retryable', 'scheduled')")
        );
        assert_eq!(
            changes("UPDATE jobs SET state = CASE state WHEN 'a' THEN 'b' ELSE state END")
                .as_deref(),
            Some("IN ('a')")
        );
        // No ELSE sets NULL; an ELSE of another value, or a branch on another column, can
        // change any row.
        for sql in [
            "UPDATE jobs SET state = CASE WHEN state = 'a' THEN 'b' END",
            "UPDATE jobs SET state = CASE WHEN state = 'a' THEN 'b' ELSE 'c' END",
            "UPDATE jobs SET state = CASE WHEN kind = 'a' THEN 'b' ELSE state END",
        ] {
            assert_eq!(changes(sql), None, "{sql}");
        }
    }

    /// A time stamp of the writer's clock is younger than any age a condition tests: `c <
    /// now() - d` never holds for it, and `c < now()` never for a time ahead of the clock.
    #[test]
    fn time_stamps_of_the_clock_are_younger_than_an_age() {
        const TIMES: &str = "CREATE TABLE workers (id bigserial PRIMARY KEY, \
                             seen timestamptz NOT NULL DEFAULT now(), state text)";
        let domain = |sql: &str| domains_with(TIMES, sql).join(" | ");
        let stale = r#"workers {"seen": NotIn({"NULL", "now()", "now() + ..."})}"#;
        for sql in [
            "DELETE FROM workers WHERE seen < now() - interval '5 minutes'",
            "DELETE FROM workers WHERE seen <= NOW() - ($1 || ' SECOND')::interval",
            "DELETE FROM workers WHERE now() - $1 > seen",
            "DELETE FROM workers WHERE seen + interval '30 seconds' < CURRENT_TIMESTAMP",
            "DELETE FROM workers WHERE seen < timezone('UTC', now()) - make_interval(secs => $1)",
            "DELETE FROM workers WHERE seen < now() - interval '%(age)s seconds'",
        ] {
            assert_eq!(domain(sql), stale, "{sql}");
        }
        // A writer that began earlier stamps a time before the reader's clock.
        assert_eq!(
            domain("DELETE FROM workers WHERE seen < now()"),
            r#"workers {"seen": NotIn({"NULL", "now() + ..."})}"#
        );
        // An amount written as zero or negative is no age; a later bound is none either.
        for sql in [
            "DELETE FROM workers WHERE seen < now() - interval '0 seconds'",
            "DELETE FROM workers WHERE seen < now() - -1",
            "DELETE FROM workers WHERE seen < now() + $1",
            "DELETE FROM workers WHERE seen > now() - $1",
        ] {
            assert_eq!(domain(sql), r#"workers {"seen": NotIn({"NULL"})}"#, "{sql}");
        }
        // What an INSERT stamps: a default, a value, the clock plus an amount.
        let new_row = r#"workers {"seen": In({"now()"}), "state": In({"NULL"})}"#;
        assert_eq!(domain("INSERT INTO workers DEFAULT VALUES"), new_row);
        assert_eq!(
            domain("INSERT INTO workers (state) VALUES ('a')"),
            r#"workers {"seen": In({"now()"})}"#
        );
        assert_eq!(
            domain("INSERT INTO workers (seen, state) VALUES (now() + $1, NULL)"),
            r#"workers {"seen": In({"now() + ..."}), "state": In({"NULL"})}"#
        );
    }

    #[test]
    fn what_an_update_certainly_writes() {
        let writes = |sql: &str| {
            let parsed = sqlparser::parser::Parser::parse_sql(
                &sqlparser::dialect::PostgreSqlDialect {},
                sql,
            )
            .unwrap();
            let Statement::Update(update) = &parsed[0] else {
                panic!("{sql}");
            };
            written_domain(&update.assignments[0].value).map(|d| d.describe())
        };
        let cases = [
            ("UPDATE t SET c = 'done'", Some("IN ('done')")),
            ("UPDATE t SET c = NULL", Some("IS NULL")),
            ("UPDATE t SET c = now()", Some("IN (now())")),
            (
                "UPDATE t SET c = CASE WHEN n = 1 THEN NULL ELSE now() + backoff END",
                Some("IN (NULL, now() + ...)"),
            ),
            (
                "UPDATE t SET c = CASE WHEN n >= m THEN 'discarded' ELSE 'available' END",
                Some("IN ('available', 'discarded')"),
            ),
            (
                "UPDATE t SET c = CASE WHEN n = 1 THEN 'a' END",
                Some("IN ('a', NULL)"),
            ),
            ("UPDATE t SET c = CASE WHEN n = 1 THEN 'a' ELSE c END", None),
            ("UPDATE t SET c = now() - interval '1 day'", None),
            ("UPDATE t SET c = $1", None),
        ];
        for (sql, expected) in cases {
            assert_eq!(writes(sql).as_deref(), expected, "{sql}");
        }
    }

    #[test]
    fn comparisons_of_two_columns_of_a_row() {
        let found = |condition: &str| {
            let sql = format!("SELECT 1 FROM t WHERE {condition}");
            let parsed = sqlparser::parser::Parser::parse_sql(
                &sqlparser::dialect::PostgreSqlDialect {},
                &sql,
            )
            .unwrap();
            let Statement::Query(query) = &parsed[0] else {
                panic!("{sql}");
            };
            let SetExpr::Select(select) = query.body.as_ref() else {
                panic!("{sql}");
            };
            let mut found: Vec<String> = comparisons(select.selection.as_ref().unwrap())
                .into_iter()
                .map(|c| {
                    let when = c
                        .when
                        .map(|(column, domain)| format!(" when {} {}", column.1, domain.describe()))
                        .unwrap_or_default();
                    format!("{} {:03b} {}{when}", c.left.1, c.outcomes, c.right.1)
                })
                .collect();
            found.sort();
            found
        };
        let cases: [(&str, &[&str]); 7] = [
            ("attempts < max_attempts", &["attempts 001 max_attempts"]),
            ("max_attempts <= attempts", &["attempts 110 max_attempts"]),
            (
                "status = 'done' OR (status = 'failed' AND attempts >= max_attempts) \
                 OR status = 'killed'",
                &["attempts 110 max_attempts when status IN ('failed')"],
            ),
            // The other branch allows failed rows without the comparison.
            (
                "status IN ('done', 'failed') OR (status = 'failed' AND attempts >= max_attempts)",
                &[],
            ),
            ("a < b OR (a < b AND c = 1)", &["a 001 b"]),
            ("a < b OR c = 1", &[]),
            // Not a comparison of one row's columns.
            ("t.a < u.b AND NOT a < b", &[]),
        ];
        for (condition, expected) in cases {
            assert_eq!(found(condition), expected, "{condition}");
        }
    }

    #[test]
    fn point_read_with_projection() {
        check(
            Engine::Postgres,
            "SELECT balance FROM accounts WHERE id = $1",
            &["read value[balance] pred[id] accounts {id=$1}"],
        );
    }

    #[test]
    fn count_star_reads_no_value_column_and_bare_booleans_pin_true() {
        check(
            Engine::Postgres,
            "SELECT count(*) FROM oncall WHERE shift_id = $1 AND on_call",
            &["read value[] pred[on_call,shift_id] aggregate oncall {on_call=true shift_id=$1}"],
        );
    }

    #[test]
    fn in_place_update_with_guard() {
        check(
            Engine::Postgres,
            "UPDATE accounts SET balance = balance - $2 WHERE id = $1 AND balance >= $2",
            &["update [balance+=] guarded accounts {id=$1}"],
        );
        check(
            Engine::Postgres,
            "UPDATE docs SET body = $2, version = version + 1 WHERE id = $1 AND version = $3",
            &["update [body:=$2,version+=] guarded docs {id=$1 version=$3}"],
        );
        check(
            Engine::Postgres,
            "UPDATE leases SET holder = $2, token = $3 WHERE id = $1 AND token < $3",
            &["update [holder:=$2,token:=$3] guarded leases {id=$1}"],
        );
    }

    #[test]
    fn a_comparison_with_another_value_is_no_guard() {
        check(
            Engine::Postgres,
            "UPDATE accounts SET balance = $2 WHERE id = $1 AND balance >= $3",
            &["update [balance:=$2] accounts {id=$1}"],
        );
    }

    #[test]
    fn blind_update_is_not_guarded() {
        check(
            Engine::Postgres,
            "UPDATE accounts SET balance = $2 WHERE id = $1",
            &["update [balance:=$2] accounts {id=$1}"],
        );
    }

    #[test]
    fn joins_attribute_columns_by_alias() {
        check(
            Engine::Postgres,
            "SELECT a.balance, l.amount FROM accounts a JOIN limits l ON l.account_id = a.id WHERE a.owner = $1",
            &[
                "read value[balance] pred[id,owner] accounts {owner=$1}",
                "read value[amount] pred[account_id] limits {}",
            ],
        );
    }

    #[test]
    fn joins_carry_pins_across_and_left_joins_only_into_the_joined_table() {
        check(
            Engine::Postgres,
            "SELECT a.balance, o.limit_amount FROM accounts a JOIN overdraft_limits o \
             ON o.account_id = a.id WHERE a.id = $1",
            &[
                "read value[balance] pred[id] accounts {id=$1}",
                "read value[limit_amount] pred[account_id] overdraft_limits {account_id=$1}",
            ],
        );
        check(
            Engine::Postgres,
            "SELECT a.balance FROM accounts a, limits l WHERE l.account_id = a.id AND l.kind = 'daily' AND a.id = :id",
            &[
                "read value[balance] pred[id] accounts {id=:id}",
                "read value[] pred[account_id,kind] limits {account_id=:id kind='daily'}",
            ],
        );
        check(
            Engine::Postgres,
            "SELECT a.balance, o.limit_amount FROM accounts a LEFT JOIN overdraft_limits o \
             ON o.account_id = a.id WHERE a.id = $1",
            &[
                "read value[balance] pred[id] accounts {id=$1}",
                "read value[limit_amount] pred[account_id] overdraft_limits {account_id=$1}",
            ],
        );
        // A row of `o` without a match still comes back: nothing flows from `o` to `a`.
        check(
            Engine::Postgres,
            "SELECT a.balance FROM accounts a LEFT JOIN overdraft_limits o \
             ON o.account_id = a.id WHERE o.account_id = $1",
            &[
                "read value[balance] pred[id] accounts {}",
                "read value[] pred[account_id] overdraft_limits {account_id=$1}",
            ],
        );
    }

    #[test]
    fn subqueries_are_reads_of_their_own() {
        check(
            Engine::Postgres,
            "UPDATE oncall SET on_call = false WHERE doctor_id = $2 AND \
             (SELECT count(*) FROM oncall WHERE shift_id = $1 AND on_call) > 1",
            &[
                "update [on_call:=false] oncall {doctor_id=$2}",
                "read value[] pred[on_call,shift_id] aggregate oncall {on_call=true shift_id=$1}",
            ],
        );
    }

    /// Join equalities between two rows read are kept, so that a value learnt later for one
    /// side is known for the other; an outer join's only towards its joined table.
    #[test]
    fn inner_join_equalities_are_joins() {
        let sql = "SELECT s.sub_queue FROM subscription s JOIN tick t ON t.tick_queue = s.sub_queue \
                   LEFT JOIN queue q ON q.queue_id = s.sub_queue WHERE s.sub_batch = $1";
        let file = parse_file(sql, Engine::Postgres);
        let statement = &file.statements[0];
        let ast = &statement.parsed.as_ref().expect("parses")[0];
        let (found, joins) = accesses_and_joins(ast, &statement.locks, &Catalog::default());
        let tables: Vec<&str> = found.iter().map(|access| access.table.as_str()).collect();
        assert_eq!(tables, ["subscription", "tick", "queue"]);
        assert_eq!(
            joins,
            [
                Join {
                    left: (1, "tick_queue".to_string()),
                    right: (0, "sub_queue".to_string()),
                    both_ways: true,
                },
                Join {
                    left: (0, "sub_queue".to_string()),
                    right: (2, "queue_id".to_string()),
                    both_ways: false,
                },
            ]
        );
    }

    /// `EXISTS (SELECT * ...)` learns whether rows match its WHERE, never their columns: an
    /// UPDATE of other columns changes nothing it saw.
    #[test]
    fn an_exists_subquery_reads_only_its_predicate() {
        check(
            Engine::Postgres,
            "SELECT id FROM msgs m WHERE m.channel = $1 AND NOT EXISTS \
             (SELECT * FROM msgs m2 WHERE m2.after_id = m.id)",
            &[
                "read value[id] pred[channel] msgs {channel=$1}",
                "read value[] pred[after_id] msgs {after_id=m.id}",
            ],
        );
        check(
            Engine::Postgres,
            "SELECT id FROM msgs WHERE EXISTS (SELECT m2.id, m2.state FROM msgs m2 WHERE m2.state = 'new')",
            &[
                "read value[id] pred[] msgs {}",
                "read value[] pred[state] msgs {state='new'}",
            ],
        );
    }

    #[test]
    fn for_update_of_locks_only_the_named_tables() {
        check(
            Engine::Postgres,
            "SELECT a.balance, l.amount FROM accounts a JOIN limits l ON l.account_id = a.id \
             WHERE a.id = $1 FOR UPDATE OF l",
            &[
                "read value[balance] pred[id] accounts {id=$1}",
                "read value[amount] pred[account_id] locked limits {account_id=$1}",
            ],
        );
    }

    #[test]
    fn a_lock_inside_a_subquery_locks_the_subquery() {
        check(
            Engine::Postgres,
            "UPDATE jobs SET state = 'running' WHERE id = \
             (SELECT id FROM jobs WHERE state = 'queued' LIMIT 1 FOR UPDATE SKIP LOCKED)",
            // The subquery chose the row written (`id = (SELECT id ...)`, as `IN`).
            &[
                "update [state:='running'] jobs {id=jobs.id chosen}",
                "read value[id] pred[state] locked limited jobs {id=jobs.id chosen state='queued'}",
            ],
        );
        for any in ["ANY", "ANY(ARRAY"] {
            let close = if any == "ANY" { "" } else { ")" };
            check(
                Engine::Postgres,
                &format!(
                    "UPDATE jobs SET state = 'running' WHERE id = {any}(SELECT id FROM jobs \
                     WHERE state = 'queued' LIMIT 5 FOR UPDATE SKIP LOCKED){close}"
                ),
                &[
                    "update [state:='running'] jobs {id=jobs.id chosen}",
                    "read value[id] pred[state] locked limited jobs {id=jobs.id chosen state='queued'}",
                ],
            );
        }
        check(
            Engine::Postgres,
            "WITH picked AS (SELECT id FROM jobs WHERE state = 'queued' FOR UPDATE) \
             SELECT id FROM picked",
            &["read value[id] pred[state] locked jobs {state='queued'}"],
        );
    }

    #[test]
    fn a_lock_inside_parentheses_locks_only_the_query_it_is_written_in() {
        // The CTE's rows are locked; the outer EXISTS, and the CTE's own NOT EXISTS, read
        // without a lock.
        let sql = "WITH picked AS (\n  SELECT id FROM jobs\n  WHERE state = 'queued' AND NOT EXISTS \
             (SELECT 1 FROM jobs AS o WHERE o.state = 'running')\n  LIMIT 1 FOR UPDATE SKIP LOCKED)\n\
             SELECT 1 WHERE EXISTS (SELECT 1 FROM jobs WHERE state = 'done')";
        let file = parse_file(sql, Engine::Postgres);
        let statement = &file.statements[0];
        let asts = statement.parsed.as_ref().expect("parses");
        let locks: Vec<bool> = accesses(&asts[0], &statement.locks, &Catalog::default())
            .iter()
            .map(|access| access.lock().is_some())
            .collect();
        assert_eq!(locks, [true, false, false]);
        // Where nothing says which query holds the clause, every nested one takes it.
        let mut unknown = statement.locks.clone();
        unknown.nested_starts = vec![(9, 9)];
        let locks: Vec<bool> = accesses(&asts[0], &unknown, &Catalog::default())
            .iter()
            .map(|access| access.lock().is_some())
            .collect();
        assert_eq!(locks, [true, true, true]);
    }

    #[test]
    fn insert_select_pins_projected_values() {
        check(
            Engine::Postgres,
            "INSERT INTO users (email, name) SELECT $1, $2 WHERE NOT EXISTS \
             (SELECT 1 FROM users WHERE email = $1)",
            &[
                "read value[] pred[email] users {email=$1}",
                "insert Error users {email=$1 name=$2}",
            ],
        );
    }

    #[test]
    fn an_aggregate_of_the_rows_an_insert_reads_is_derived_from_them() {
        let derived = |sql: &str| -> Vec<String> {
            let file = parse_file(sql, Engine::Postgres);
            let statement = &file.statements[0];
            let asts = statement.parsed.as_ref().expect("parses");
            let found = accesses(&asts[0], &statement.locks, &Catalog::default());
            found
                .iter()
                .flat_map(|access| &access.rows.derived)
                .map(|(column, value)| format!("{column} = {} {:?}", value.source, value.inputs))
                .collect()
        };
        assert_eq!(
            derived(
                "INSERT INTO lines (parent, seq, body) SELECT :p, coalesce(max(seq), 0) + 1, $2 \
                 FROM lines WHERE parent = :p AND kind = 'x'"
            ),
            [
                "seq = coalesce(max(seq), 0) + 1 FROM lines WHERE parent = $input0 AND kind = 'x' \
                 [Param(\":p\")]"
            ]
        );
        // A parameter the WHERE does not pin, a group, a join, a value that is no aggregate:
        // the value depends on more than the rows of equal pins.
        for sql in [
            "INSERT INTO lines (parent, seq) SELECT $1, max(seq) + 1 FROM lines WHERE parent = $1 \
             AND seq > $3",
            "INSERT INTO lines (parent, seq) SELECT $1, max(seq) + 1 FROM lines WHERE parent = $1 \
             OR kind = $3",
            "INSERT INTO lines (parent, seq) SELECT $1, max(seq) + 1 FROM lines WHERE parent = $1 \
             GROUP BY kind",
            "INSERT INTO lines (parent, seq) SELECT $1, max(l.seq) + 1 FROM lines l JOIN kinds k \
             ON k.id = l.kind WHERE l.parent = $1",
            "INSERT INTO lines (parent, seq) SELECT $1, seq + 1 FROM lines WHERE parent = $1",
            "INSERT INTO lines (parent, seq) SELECT $1, max(seq) + $2 FROM lines WHERE parent = $1",
            "INSERT INTO lines (parent, seq) SELECT $1, max(seq) + random() FROM lines \
             WHERE parent = $1",
        ] {
            assert_eq!(derived(sql), Vec::<String>::new(), "{sql}");
        }
    }

    #[test]
    fn inserts_pin_their_values_and_upserts_are_marked() {
        check(
            Engine::Postgres,
            "INSERT INTO bookings (room_id, during) VALUES ($1, $2)",
            &["insert Error bookings {during=$2 room_id=$1}"],
        );
        check(
            Engine::Postgres,
            "INSERT INTO counters (key, n) VALUES ($1, 1) ON CONFLICT (key) DO UPDATE SET n = counters.n + 1",
            &[
                "read value[key] pred[key] locked counters {key=$1}",
                "insert Update({\"n\": InPlace}) counters {key=$1 n=1}",
            ],
        );
        // DO NOTHING reads the key's row without locking it.
        check(
            Engine::Postgres,
            "INSERT INTO job_locks (key, job_id) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
            &[
                "read value[key] pred[key] job_locks {key=$1}",
                "insert DoNothing job_locks {job_id=$2 key=$1}",
            ],
        );
        check(
            Engine::Mysql,
            "INSERT INTO `counters` (`key`, `n`) VALUES (?, 1) ON DUPLICATE KEY UPDATE `n` = `n` + 1",
            &["insert Update({\"n\": InPlace}) counters {key=? n=1}"],
        );
        check(
            Engine::Mysql,
            "INSERT INTO prefs (k, v) VALUES (?, ?) ON DUPLICATE KEY UPDATE v = VALUES(v)",
            &["insert Update({\"v\": Expr}) prefs {k=? v=?}"],
        );
        check(
            Engine::Postgres,
            "INSERT INTO prefs (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v",
            &[
                "read value[k] pred[k] locked prefs {k=$1}",
                "insert Update({\"v\": Expr}) prefs {k=$1 v=$2}",
            ],
        );
    }

    #[test]
    fn from_tables_tells_the_tables_every_result_row_holds() {
        let tables = |sql: &str| {
            let file = parse_file(sql, Engine::Postgres);
            from_tables(&file.statements[0].parsed.as_ref().unwrap()[0])
        };
        assert_eq!(
            tables("SELECT 1 FROM a, b JOIN c ON c.id = b.c WHERE a.id = $1"),
            Some(vec![true, true, true])
        );
        assert_eq!(
            tables("SELECT 1 FROM a, b LEFT JOIN c ON c.id = b.c"),
            Some(vec![true, true, false])
        );
        assert_eq!(
            tables("SELECT 1 FROM a JOIN b ON b.id = a.b RIGHT JOIN c ON c.id = b.c"),
            Some(vec![false, false, true])
        );
        assert_eq!(tables("SELECT 1 FROM a FULL JOIN b ON b.id = a.b"), None);
        assert_eq!(tables("SELECT 1 FROM (SELECT * FROM a) x"), None);
        assert_eq!(tables("SELECT 1 FROM a UNION SELECT 1 FROM b"), None);
        assert_eq!(tables("UPDATE a SET x = 1"), None);
    }

    #[test]
    fn join_columns_are_known_values() {
        let catalog = Catalog::default();
        let file = parse_file(
            "SELECT q.name FROM subscription s, queue q WHERE s.consumer = $1 AND q.id = s.queue",
            Engine::Postgres,
        );
        let statement = &file.statements[0];
        let reads = accesses(
            &statement.parsed.as_ref().unwrap()[0],
            &statement.locks,
            &catalog,
        );
        let known: Vec<(&str, Vec<&String>)> = reads
            .iter()
            .map(|read| (read.table.as_str(), read.rows.known.iter().collect()))
            .collect();
        assert_eq!(
            known,
            [
                ("subscription", vec![&"queue".to_string()]),
                ("queue", vec![&"id".to_string()])
            ]
        );
    }

    #[test]
    fn literals_of_every_engine() {
        check(
            Engine::Sqlserver,
            "SELECT id FROM tokens WHERE kind = N'reset' AND hash = 0xAB12",
            &["read value[id] pred[hash,kind] tokens {hash=X'AB12' kind='reset'}"],
        );
        check(
            Engine::Postgres,
            "SELECT id FROM tokens WHERE hash = X'ab12'",
            &["read value[id] pred[hash] tokens {hash=X'AB12'}"],
        );
        check(
            Engine::Oracle,
            "SELECT id FROM shifts WHERE on_call = 1 AND active = 'Y'",
            &["read value[id] pred[active,on_call] shifts {active='Y' on_call=1}"],
        );
    }

    #[test]
    fn sequence_and_random_values_are_fresh() {
        let mut catalog = Catalog::default();
        let schema = "CREATE TABLE tick (tick_queue bigint REFERENCES queue, tick_id bigint, \
                      tick_uuid text UNIQUE, PRIMARY KEY (tick_queue, tick_id))";
        for statement in
            sqlparser::parser::Parser::parse_sql(&sqlparser::dialect::PostgreSqlDialect {}, schema)
                .unwrap()
        {
            for change in crate::catalog::from_ast::changes(&statement).unwrap_or_default() {
                catalog.apply(change);
            }
        }
        let file = parse_file(
            "INSERT INTO tick (tick_queue, tick_id, tick_uuid) \
             VALUES (nextval('queue_seq'), nextval('tick_seq'), gen_random_uuid()::text)",
            Engine::Postgres,
        );
        let statement = &file.statements[0];
        let insert = &accesses(
            &statement.parsed.as_ref().unwrap()[0],
            &statement.locks,
            &catalog,
        )[0];
        let fresh: Vec<&str> = insert.rows.fresh.iter().map(String::as_str).collect();
        assert_eq!(fresh, ["tick_id", "tick_uuid"]);
    }

    #[test]
    fn replace_overwrites_every_column() {
        check(
            Engine::Mysql,
            "REPLACE INTO prefs (k, v) VALUES (?, ?)",
            &[
                "insert Update({\"k\": Term(Param(\"?prefs.k\")), \"v\": Term(Param(\"?prefs.v\"))}) prefs {k=? v=?}",
            ],
        );
    }

    #[test]
    fn merge_is_an_upsert_pinned_by_its_constant_source() {
        check(
            Engine::Sqlserver,
            "MERGE stock AS t USING (SELECT @sku AS sku, @qty AS qty) AS s ON t.sku = s.sku \
             WHEN MATCHED THEN UPDATE SET t.on_hand = t.on_hand + s.qty \
             WHEN NOT MATCHED THEN INSERT (sku, on_hand) VALUES (s.sku, s.qty);",
            &["insert Update({\"on_hand\": InPlace}) stock {sku=@sku}"],
        );
        check(
            Engine::Sqlserver,
            "MERGE stock AS t USING incoming AS s ON t.sku = s.sku \
             WHEN MATCHED THEN UPDATE SET t.on_hand = s.on_hand;",
            &[
                "update [on_hand:=expr] stock {}",
                "read value[on_hand] pred[sku] incoming {}",
            ],
        );
    }

    #[test]
    fn insert_select_reads_its_source() {
        check(
            Engine::Postgres,
            "INSERT INTO archive (id, body) SELECT id, body FROM docs WHERE id = $1",
            &[
                "read value[body,id] pred[id] docs {id=$1}",
                "insert Error archive {}",
            ],
        );
    }

    #[test]
    fn locks_and_limits_are_recorded() {
        check(
            Engine::Postgres,
            "SELECT id FROM jobs WHERE state = 'queued' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED",
            &["read value[id] pred[id,state] locked limited jobs {state='queued'}"],
        );
        check(
            Engine::Sqlserver,
            "SELECT TOP 1 balance FROM accounts WITH (UPDLOCK) WHERE id = @id",
            &["read value[balance] pred[id] locked limited accounts {id=@id}"],
        );
    }

    #[test]
    fn table_and_advisory_locks() {
        check(
            Engine::Postgres,
            "LOCK TABLE oncall IN EXCLUSIVE MODE",
            &["lock Table oncall {}"],
        );
        check(
            Engine::Postgres,
            "SELECT pg_advisory_xact_lock($1)",
            &["lock Advisory([Some(Param(\"$1\"))])  {}"],
        );
    }

    #[test]
    fn anonymous_placeholders_are_named_after_their_column() {
        check(
            Engine::Mysql,
            "SELECT `balance` FROM `accounts` WHERE `id` = ?",
            &["read value[balance] pred[id] accounts {id=?}"],
        );
        let file = parse_file("SELECT a FROM t WHERE id = ? AND k = ?", Engine::Postgres);
        let asts = file.statements[0].parsed.as_ref().unwrap();
        let access = &accesses(&asts[0], &StatementLocks::default(), &Catalog::default())[0];
        assert_eq!(access.rows.pins["id"], Term::Param("?t.id".into()));
        assert_eq!(access.rows.pins["k"], Term::Param("?t.k".into()));
    }

    #[test]
    fn ctes_are_not_tables_and_data_modifying_ctes_count() {
        check(
            Engine::Postgres,
            "WITH moved AS (DELETE FROM inbox WHERE id = $1 RETURNING id, body) \
             INSERT INTO archive (id, body) SELECT id, body FROM moved",
            &["delete inbox {id=$1}", "insert Error archive {}"],
        );
    }

    #[test]
    fn delete_pins_its_rows() {
        check(
            Engine::Postgres,
            "DELETE FROM sessions WHERE user_id = $1 AND device = 'web'",
            &["delete sessions {device='web' user_id=$1}"],
        );
    }

    #[test]
    fn an_unnested_parameter_array_pins_rows_as_any_does() {
        for sql in [
            "DELETE FROM jobs WHERE id = ANY($1::bigint[])",
            "DELETE FROM jobs WHERE id IN (SELECT unnest($1::bigint[]))",
            "DELETE FROM jobs WHERE id = ANY(SELECT unnest($1::bigint[]) AS id)",
            "WITH x AS (SELECT unnest($1::bigint[]) AS id, unnest($2::text[]) AS s) \
             DELETE FROM jobs WHERE id = ANY(SELECT x.id FROM x WHERE x.s <> 'failed')",
        ] {
            let found = accesses_of(Engine::Postgres, sql);
            let delete = found
                .iter()
                .find(|access| matches!(access.kind, AccessKind::Delete { .. }))
                .expect(sql);
            assert_eq!(
                delete.rows.pins.get("id").map(Term::render).as_deref(),
                Some("$1"),
                "{sql}"
            );
        }
        // A subquery that filters the array's elements by a column of a table, or unnests
        // a column, is no parameter's array.
        for sql in [
            "DELETE FROM jobs WHERE id IN (SELECT unnest(ids) FROM batches WHERE batch = $1)",
            "DELETE FROM jobs WHERE id IN (SELECT unnest($1::bigint[]) WHERE $2)",
        ] {
            let found = accesses_of(Engine::Postgres, sql);
            let delete = found
                .iter()
                .find(|access| matches!(access.kind, AccessKind::Delete { .. }))
                .expect(sql);
            assert!(!delete.rows.pins.contains_key("id"), "{sql}");
        }
    }

    /// The columns of the first access of `sql` mapped to whether their domain is exact.
    fn separable(sql: &str) -> Vec<(String, bool)> {
        let file = parse_file(sql, Engine::Postgres);
        let statement = &file.statements[0];
        let ast = &statement.parsed.as_ref().expect("parses")[0];
        let access = accesses(ast, &statement.locks, &Catalog::default()).remove(0);
        access.rows.separable.into_iter().collect()
    }

    #[test]
    fn a_column_tested_alone_against_literals_has_an_exact_domain() {
        assert_eq!(
            separable(
                "SELECT id FROM jobs WHERE queue = $1 AND state IN ('a', 'b') \
                 AND (kind = 'x' OR kind IS NULL) AND NOT (done) FOR UPDATE"
            ),
            [
                ("done".to_string(), true),
                ("kind".to_string(), true),
                ("queue".to_string(), false),
                ("state".to_string(), true),
            ]
        );
    }

    #[test]
    fn a_column_also_tested_with_another_column_has_a_superset_domain() {
        assert_eq!(
            separable(
                "SELECT id FROM jobs WHERE state IN ('a', 'b') \
                 AND (state = 'a' OR attempt > 3)"
            ),
            [("attempt".to_string(), false), ("state".to_string(), false)]
        );
    }

    #[test]
    fn a_domain_within_another() {
        let set = |values: &[&str]| values.iter().map(|v| v.to_string()).collect();
        assert!(Domain::In(set(&["a"])).within(&Domain::In(set(&["a", "b"]))));
        assert!(!Domain::In(set(&["a", "c"])).within(&Domain::In(set(&["a", "b"]))));
        assert!(Domain::In(set(&["a"])).within(&Domain::NotIn(set(&["b"]))));
        assert!(Domain::NotIn(set(&["a", "b"])).within(&Domain::NotIn(set(&["a"]))));
        assert!(!Domain::NotIn(set(&["a"])).within(&Domain::In(set(&["b"]))));
    }
}
