//! The access model (DESIGN.md section 3): what each statement reads, writes and locks, on
//! which columns and which rows.
//!
//! Architecture Invariant: accesses are plain facts. `extract` turns one sqlparser statement
//! into accesses and the AST is dropped right after; nothing downstream sees sqlparser.

pub mod condition;
pub mod extract;

use std::collections::{BTreeMap, BTreeSet};

use crate::catalog::{Key, Table};
use crate::parse::LockClause;

/// The value a pinned column is compared with.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Term {
    /// `$1`, `:name`, `@name`, or a `?` (named after the column it is compared with).
    Param(String),
    /// A normalised literal.
    Literal(String),
}

impl Term {
    /// SQL's NULL as a call's argument. Only calls carry it: a row set never pins a column to
    /// NULL, which equals nothing.
    pub fn null() -> Term {
        Term::Literal("NULL".to_string())
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Term::Literal(value) if value == "NULL")
    }

    pub fn render(&self) -> String {
        match self {
            Term::Param(name) if name.starts_with('?') => "?".to_string(),
            Term::Param(name) => name.clone(),
            Term::Literal(value) => value.clone(),
        }
    }
}

/// The rows an access touches: the conjunction of top-level `column = term` equalities, and
/// the literal values a column can take (`status IN ('a', 'b')`, `status <> 'done'`, `IS NULL`).
/// No pins and no domains mean "any row of the table".
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct RowSet {
    pub pins: BTreeMap<String, Term>,
    pub domains: BTreeMap<String, Domain>,
    /// Columns an INSERT fills with a value that no other transaction can know yet (a serial
    /// or identity key, a random uuid), or that any access pins to a value its transaction
    /// generated so (see [`crate::program::read_own_inserts`]): such rows never match
    /// `column = <term>` elsewhere.
    pub fresh: BTreeSet<String>,
    /// Columns an INSERT fills with a value its own transaction generated and gave a new row
    /// of another table too (a new parent's id copied into the child's foreign key): the row
    /// matches no value another transaction held before its statement, though a join to the
    /// parent row added with it does (see [`crate::program::read_own_inserts`]).
    pub linked: BTreeSet<String>,
    /// Columns pinned to a value the statement itself finds (its `INTO` variables, a column
    /// joined to them): not a value held before it.
    pub found: BTreeSet<String>,
    /// Columns a read compares with a column of another row it reads (`q.queue_id =
    /// s.sub_queue`): their values are in rows the reader sees, never one that another
    /// transaction has just generated and not yet committed.
    pub known: BTreeSet<String>,
    /// Columns the WHERE tests, each mapped to whether it is tested only in conjuncts of its
    /// own against literals (`state IN ('a', 'b') AND id = $1`): then its domain is exactly
    /// the values that pass, and a write that keeps the column inside that domain leaves the
    /// row in or out of these rows as it was.
    pub separable: BTreeMap<String, bool>,
    /// Comparisons between two columns of the row that the WHERE guarantees (`attempts <
    /// max_attempts`), some only for rows with certain values of a third column (`status =
    /// 'failed' AND attempts >= max_attempts OR status = 'done'`).
    pub comparisons: Vec<Comparison>,
    /// Columns the WHERE compares with a parameter or variable (`defer_timestamp <
    /// _defer_timestamp`): only rows whose value lies on that side of it.
    pub bounds: Vec<Bound>,
    /// Columns an INSERT fills with a value computed from the rows its statement reads
    /// (`INSERT INTO lines (parent, seq) SELECT $1, coalesce(max(seq), 0) + 1 FROM lines WHERE
    /// parent = $1`): two transactions that read the same rows insert the same value.
    pub derived: BTreeMap<String, Derived>,
}

/// A value computed from the rows one query reads (see [`RowSet::derived`]): the same
/// `source` run with equal `inputs` on the same rows gives the same value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Derived {
    /// The expression and the query it is computed over, written out (literals included).
    pub source: String,
    /// The parameters the query's conditions compare with, in the order of their columns:
    /// every parameter of the query but those only in its other output columns.
    pub inputs: Vec<Term>,
}

/// `column` compared with `term`, as the outcomes the WHERE lets through (see
/// [`Comparison`]): `defer_timestamp < $1` is `LESS`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Bound {
    pub column: String,
    pub outcomes: u8,
    pub term: Term,
}

/// `left` compared with `right` in one row, as the set of outcomes the WHERE lets through
/// ([`Comparison::LESS`], [`Comparison::EQUAL`], [`Comparison::GREATER`]); NULLs never pass.
/// With `when`, it holds only for rows whose column has a value of the domain.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Comparison {
    pub left: String,
    pub right: String,
    pub outcomes: u8,
    pub when: Option<(String, Domain)>,
}

impl Comparison {
    pub const LESS: u8 = 0b001;
    pub const EQUAL: u8 = 0b010;
    pub const GREATER: u8 = 0b100;

    /// The comparison with its columns in name order (`b > a` is `a < b`).
    pub fn normalised(mut self) -> Comparison {
        if self.left > self.right {
            std::mem::swap(&mut self.left, &mut self.right);
            self.outcomes = Self::flipped(self.outcomes);
        }
        self
    }

    /// Whether no row can pass both (each normalised): the same two columns, no outcome in
    /// common.
    pub fn contradicts(&self, other: &Comparison) -> bool {
        self.left == other.left && self.right == other.right && self.outcomes & other.outcomes == 0
    }

    /// The outcomes of the comparison the other way round (`a < b` is `b > a`).
    pub fn flipped(outcomes: u8) -> u8 {
        (outcomes & Self::EQUAL)
            | ((outcomes & Self::LESS) << 2)
            | ((outcomes & Self::GREATER) >> 2)
    }

    /// The SQL operator that lets exactly `outcomes` through (`<=` for `LESS | EQUAL`).
    pub fn operator(outcomes: u8) -> &'static str {
        match outcomes & (Self::LESS | Self::EQUAL | Self::GREATER) {
            Self::LESS => "<",
            o if o == Self::LESS | Self::EQUAL => "<=",
            Self::EQUAL => "=",
            o if o == Self::GREATER | Self::EQUAL => ">=",
            Self::GREATER => ">",
            o if o == Self::LESS | Self::GREATER => "<>",
            0 => "never",
            _ => "any",
        }
    }

    /// Human text: `attempts < max_attempts`, `... when status IN ('failed')`.
    pub fn describe(&self) -> String {
        let mut text = format!(
            "{} {} {}",
            self.left,
            Self::operator(self.outcomes),
            self.right
        );
        if let Some((column, domain)) = &self.when {
            text.push_str(&format!(" when {column} {}", domain.describe()));
        }
        text
    }

    /// Whether it mentions `column`, as a compared column or in its condition.
    pub fn mentions(&self, column: &str) -> bool {
        self.left == column
            || self.right == column
            || self.when.as_ref().is_some_and(|(when, _)| when == column)
    }
}

/// The literal values a column of the touched rows can hold: a superset, never a guess. NULL is
/// the literal `NULL`; a comparison (`=`, `<>`, `IN`) never holds for it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Domain {
    /// One of these values.
    In(BTreeSet<String>),
    /// Anything but these values.
    NotIn(BTreeSet<String>),
}

impl Domain {
    pub const NULL: &'static str = "NULL";
    /// The time of the transaction or statement that wrote the value (`now()`,
    /// `CURRENT_TIMESTAMP`, `DEFAULT now()`): a time stamp as old as its writer, taken to be
    /// younger than any age a condition tests (`c < now() - interval '5 minutes'`).
    pub const CLOCK: &'static str = "now()";
    /// The writer's clock plus a positive amount (`now() + ttl`): a time ahead of its writer,
    /// taken to be still ahead of any reader's clock (`c < now()`).
    pub const LATER: &'static str = "now() + ...";

    pub fn contains(&self, value: &str) -> bool {
        match self {
            Domain::In(values) => values.contains(value),
            Domain::NotIn(values) => !values.contains(value),
        }
    }

    /// Both at once: the values in both.
    pub fn and(&self, other: &Domain) -> Domain {
        match (self, other) {
            (Domain::In(a), Domain::In(b)) => Domain::In(a.intersection(b).cloned().collect()),
            (Domain::In(a), Domain::NotIn(b)) | (Domain::NotIn(b), Domain::In(a)) => {
                Domain::In(a.difference(b).cloned().collect())
            }
            (Domain::NotIn(a), Domain::NotIn(b)) => Domain::NotIn(a.union(b).cloned().collect()),
        }
    }

    /// Whether some value is in both (`and` without building the result).
    pub fn intersects(&self, other: &Domain) -> bool {
        match (self, other) {
            (Domain::In(a), Domain::In(b)) => a.iter().any(|value| b.contains(value)),
            (Domain::In(a), Domain::NotIn(b)) | (Domain::NotIn(b), Domain::In(a)) => {
                a.iter().any(|value| !b.contains(value))
            }
            (Domain::NotIn(_), Domain::NotIn(_)) => true,
        }
    }

    /// Whether every value of this one is in `other`.
    pub fn within(&self, other: &Domain) -> bool {
        match (self, other) {
            (Domain::In(a), Domain::In(b)) => a.is_subset(b),
            (Domain::In(a), Domain::NotIn(b)) => a.is_disjoint(b),
            (Domain::NotIn(a), Domain::NotIn(b)) => b.is_subset(a),
            (Domain::NotIn(_), Domain::In(_)) => false,
        }
    }

    /// Either: the values in one or the other.
    pub fn or(&self, other: &Domain) -> Domain {
        match (self, other) {
            (Domain::In(a), Domain::In(b)) => Domain::In(a.union(b).cloned().collect()),
            (Domain::In(a), Domain::NotIn(b)) | (Domain::NotIn(b), Domain::In(a)) => {
                Domain::NotIn(b.difference(a).cloned().collect())
            }
            (Domain::NotIn(a), Domain::NotIn(b)) => {
                Domain::NotIn(a.intersection(b).cloned().collect())
            }
        }
    }

    /// The values not in this one.
    pub fn not(&self) -> Domain {
        match self {
            Domain::In(values) => Domain::NotIn(values.clone()),
            Domain::NotIn(values) => Domain::In(values.clone()),
        }
    }

    /// Whether no value is left (`NotIn` leaves infinitely many).
    pub fn is_empty(&self) -> bool {
        matches!(self, Domain::In(values) if values.is_empty())
    }

    /// Human text: `IN ('a', 'b')`, `NOT IN ('c')`.
    pub fn describe(&self) -> String {
        let list =
            |values: &BTreeSet<String>| values.iter().cloned().collect::<Vec<_>>().join(", ");
        match self {
            Domain::In(values) if values.len() == 1 && values.contains(Domain::NULL) => {
                "IS NULL".to_string()
            }
            Domain::In(values) => format!("IN ({})", list(values)),
            // The clock's time stamps come from an age test (`c < now() - d`), not a list.
            Domain::NotIn(values) if values.contains(Domain::CLOCK) => "< now() - ...".to_string(),
            Domain::NotIn(values) if values.contains(Domain::LATER) => "<= now()".to_string(),
            Domain::NotIn(values) => {
                let values: BTreeSet<String> = values
                    .iter()
                    .filter(|v| *v != Domain::NULL)
                    .cloned()
                    .collect();
                if values.is_empty() {
                    "IS NOT NULL".to_string()
                } else {
                    format!("NOT IN ({})", list(&values))
                }
            }
        }
    }
}

impl RowSet {
    /// The first unique key of `table` whose every column is pinned.
    pub fn point_key<'t>(&self, table: Option<&'t Table>) -> Option<&'t Key> {
        table?.keys.iter().find(|key| {
            key.identifies_row() && key.columns.iter().all(|c| self.pins.contains_key(c))
        })
    }

    /// Whether a row's `column` moving from one value of `old` to another cannot bring the row
    /// into these rows: `old` lies inside this set's exact domain of the column.
    pub fn keeps_in(&self, column: &str, old: &Domain) -> bool {
        self.separable.get(column) == Some(&true)
            && self
                .domain(column)
                .is_some_and(|domain| old.within(&domain))
    }

    /// The literal values `column` can hold, from its pin or its domain.
    pub fn domain(&self, column: &str) -> Option<Domain> {
        match self.pins.get(column) {
            Some(Term::Literal(value)) => Some(Domain::In(BTreeSet::from([value.clone()]))),
            _ => self.domains.get(column).cloned(),
        }
    }

    /// Human text: `id = $1 AND kind = 'a' AND attempts < max_attempts`, or `any row`.
    pub fn describe(&self) -> String {
        if self.pins.is_empty()
            && self.domains.is_empty()
            && self.comparisons.is_empty()
            && self.bounds.is_empty()
        {
            return "any row".to_string();
        }
        let mut parts: Vec<String> = self
            .pins
            .iter()
            .map(|(column, term)| format!("{column} = {}", term.render()))
            .collect();
        parts.extend(
            self.domains
                .iter()
                .filter(|(column, _)| !self.pins.contains_key(*column))
                .map(|(column, domain)| format!("{column} {}", domain.describe())),
        );
        parts.extend(self.bounds.iter().map(|bound| {
            format!(
                "{} {} {}",
                bound.column,
                Comparison::operator(bound.outcomes),
                bound.term.render()
            )
        }));
        parts.extend(self.comparisons.iter().map(Comparison::describe));
        format!("rows where {}", parts.join(" AND "))
    }
}

/// A set of columns, where `*` is all of them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Columns {
    All,
    Some(BTreeSet<String>),
}

impl Default for Columns {
    fn default() -> Self {
        Columns::Some(BTreeSet::new())
    }
}

impl Columns {
    pub fn contains(&self, column: &str) -> bool {
        match self {
            Columns::All => true,
            Columns::Some(set) => set.contains(column),
        }
    }

    pub fn insert(&mut self, column: String) {
        if let Columns::Some(set) = self {
            set.insert(column);
        }
    }

    pub fn is_empty(&self) -> bool {
        matches!(self, Columns::Some(set) if set.is_empty())
    }
}

/// What the statement assigns to a column in `SET`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SetValue {
    /// `c = c + 1`: computed from the row's current value by the engine.
    InPlace,
    /// `c = $1` or `c = 'x'`.
    Term(Term),
    /// `c = now()`, `c = CURRENT_TIMESTAMP`: the time of the write. Two such writes differ only
    /// in when they ran, so one overwriting the other loses nothing.
    Clock,
    /// Anything else.
    Expr,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OnConflict {
    /// A plain INSERT: a duplicate key is an error.
    Error,
    DoNothing,
    /// `ON CONFLICT DO UPDATE` / `ON DUPLICATE KEY UPDATE` / `REPLACE` / MERGE: an atomic
    /// upsert, with what it assigns to each column of an existing row.
    Update(BTreeMap<String, SetValue>),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LockTarget {
    /// `LOCK TABLE t`: every row, present and future.
    Table,
    /// `pg_advisory_xact_lock(k, ...)`: a virtual item keyed by the terms (`None`: unknown).
    Advisory(Vec<Option<Term>>),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AccessKind {
    Read {
        /// Columns whose values are returned.
        value: Columns,
        /// Columns the WHERE, JOIN, GROUP BY and ORDER BY compare.
        predicate: BTreeSet<String>,
        lock: Option<LockClause>,
        /// `SELECT count(*)`-like: an aggregate, where PostgreSQL rejects `FOR UPDATE`.
        aggregate: bool,
        /// LIMIT, FETCH FIRST or TOP: the read picks some of the matching rows.
        limited: bool,
        /// T-SQL `WITH (NOLOCK)` / `READUNCOMMITTED`: read uncommitted whatever the level.
        uncommitted: bool,
        /// In the outer query of a statement whose data-modifying CTE writes: the result goes
        /// to the client or a later statement, not into this statement's write.
        after_write: bool,
        /// An upsert's check of its own key (`ON CONFLICT`, `ON DUPLICATE KEY`): it waits for
        /// an uncommitted insert of the same key instead of missing it, so only an UPDATE or a
        /// DELETE of the row it found can change what it read.
        arbiter: Option<Arbiter>,
        /// A lookup of one row by a key in code that raises unless it finds the row (`SELECT
        /// ... INTO STRICT`, `IF NOT FOUND THEN RAISE`): when its transaction commits, the row
        /// was there, so no new row can enter what it read.
        must_find: bool,
        /// A read in code that raises if it finds a row (`SELECT count(*) INTO n ...; IF n > 0
        /// THEN RAISE`): when its transaction commits, no row matched.
        must_miss: bool,
        /// Its statement deletes every row it returns, and nothing else restricts the DELETE
        /// (`DELETE FROM t USING (SELECT id FROM t ... FOR UPDATE) x WHERE t.id = x.id`, or the
        /// same with a CTE): with a lock, no other transaction writes those rows after it.
        deleted: bool,
    },
    Update {
        set: BTreeMap<String, SetValue>,
        predicate: BTreeSet<String>,
        /// A compare-and-set or fencing-token guard: losing the race updates 0 rows.
        guarded: bool,
        /// `RETURNING` hands the written rows' contents (more than their key) to the caller,
        /// which acts on them: an UPDATE that picks a job and returns it is a claim.
        returns_contents: bool,
        /// It names other tables than its target (`UPDATE t JOIN u ...`, `UPDATE t, u ...`,
        /// `UPDATE t ... FROM u`): a multi-table UPDATE to MySQL.
        joined: bool,
        /// Columns whose assignment changes only rows holding one of these values, and keeps
        /// every other row's (`SET state = CASE WHEN state = 'a' ... THEN 'b' WHEN state = 'b'
        /// ... THEN 'a' ELSE state END` changes `state` only where it is `a` or `b`).
        changes_only: BTreeMap<String, Domain>,
        /// The values assigned columns certainly hold after the write, where the assignment
        /// says: a literal, NULL, the clock ([`Domain::CLOCK`]), the clock plus an amount
        /// ([`Domain::LATER`]), or a `CASE` of those.
        writes: BTreeMap<String, Domain>,
    },
    Delete {
        predicate: BTreeSet<String>,
    },
    Insert {
        columns: BTreeSet<String>,
        on_conflict: OnConflict,
    },
    Lock(LockTarget),
}

/// An upsert's key check: see `arbiter` in [`AccessKind::Read`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Arbiter {
    /// The INSERT adds one row (`VALUES` with one row): the key was there or the row is new,
    /// never both. Several rows can be both at once (one found, another added).
    pub one_row: bool,
}

/// One access by one statement. For advisory locks `table` is `""`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Access {
    pub table: String,
    pub rows: RowSet,
    pub kind: AccessKind,
}

impl Access {
    pub fn is_read(&self) -> bool {
        matches!(self.kind, AccessKind::Read { .. })
    }

    pub fn is_write(&self) -> bool {
        matches!(
            self.kind,
            AccessKind::Update { .. } | AccessKind::Delete { .. } | AccessKind::Insert { .. }
        )
    }

    /// A read, update or delete of rows by a value its own transaction generated (see
    /// [`RowSet::fresh`]): it touches only rows that transaction added, which no other
    /// transaction sees or changes before it commits.
    pub fn own_rows_only(&self) -> bool {
        !matches!(self.kind, AccessKind::Insert { .. })
            && self
                .rows
                .fresh
                .iter()
                .any(|column| self.rows.pins.contains_key(column))
    }

    /// A read that sees uncommitted rows whatever the transaction's level (a T-SQL hint).
    pub fn reads_uncommitted(&self) -> bool {
        matches!(
            self.kind,
            AccessKind::Read {
                uncommitted: true,
                ..
            }
        )
    }

    /// Whether this read can decide a write made by statement `write` of the same program
    /// when the read is in statement `read`: an earlier statement, or the write's own
    /// statement when the read feeds it.
    pub fn feeds(&self, read: usize, write: usize) -> bool {
        read < write
            || (read == write
                && !matches!(
                    self.kind,
                    AccessKind::Read {
                        after_write: true,
                        ..
                    }
                ))
    }

    pub fn lock(&self) -> Option<LockClause> {
        match &self.kind {
            AccessKind::Read { lock, .. } => *lock,
            _ => None,
        }
    }

    /// Every column the read looks at, values and predicates.
    pub fn read_columns(&self) -> Option<(&Columns, &BTreeSet<String>)> {
        match &self.kind {
            AccessKind::Read {
                value, predicate, ..
            } => Some((value, predicate)),
            _ => None,
        }
    }

    /// Columns an UPDATE or upsert assigns.
    pub fn written_columns(&self) -> Option<BTreeSet<&String>> {
        self.assignments().map(|set| set.keys().collect())
    }

    /// What an UPDATE or an upsert assigns to an existing row.
    pub fn assignments(&self) -> Option<&BTreeMap<String, SetValue>> {
        match &self.kind {
            AccessKind::Update { set, .. } => Some(set),
            AccessKind::Insert {
                on_conflict: OnConflict::Update(set),
                ..
            } => Some(set),
            _ => None,
        }
    }

    /// What an unguarded UPDATE or an upsert assigns to an existing row: the writes that can
    /// overwrite a value read earlier in the same transaction.
    pub fn overwrites(&self) -> Option<&BTreeMap<String, SetValue>> {
        match &self.kind {
            AccessKind::Update { guarded: true, .. } => None,
            _ => self.assignments(),
        }
    }
}

/// A call of a function or procedure (`SELECT f($1)`, `FROM f($1)`, `PERFORM f()`, `CALL p()`):
/// a routine of the project's runs inside the calling statement.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Call {
    /// The routine's name, unqualified and normalised.
    pub name: String,
    /// Each argument: a parameter or literal ([`Term::null`] included), or `None` for any
    /// other expression.
    pub arguments: Vec<Option<Term>>,
    /// A `CALL` statement, which names a procedure that must exist.
    pub procedure: bool,
}

impl Access {
    /// Replaces every parameter by what `bind` gives for it (a routine's arguments bound to
    /// the call's terms, a trigger's `NEW.col` to the written row's values).
    pub fn bind(&mut self, bind: &mut dyn FnMut(&str) -> Term) {
        let mut term = |term: &mut Term| {
            if let Term::Param(name) = term {
                *term = bind(name);
            }
        };
        for pinned in self.rows.pins.values_mut() {
            term(pinned);
        }
        let mut set_values = |set: &mut BTreeMap<String, SetValue>| {
            for value in set.values_mut() {
                if let SetValue::Term(value) = value {
                    term(value);
                }
            }
        };
        match &mut self.kind {
            AccessKind::Update { set, .. } => set_values(set),
            AccessKind::Insert {
                on_conflict: OnConflict::Update(set),
                ..
            } => set_values(set),
            AccessKind::Lock(LockTarget::Advisory(keys)) => {
                for key in keys.iter_mut().flatten() {
                    term(key);
                }
            }
            _ => {}
        }
    }
}

/// A statement whose transaction goes on only when it finds no row: a routine's `IF n > 0
/// THEN RAISE` after `SELECT count(*) INTO n`, `IF FOUND THEN RETURN` before anything is
/// written, or a get-or-create step the application ends on when it returns a row. When it
/// reads one table, no row matched its WHERE in a run that goes on.
pub fn mark_must_miss(accesses: &mut [Access]) {
    if let [access] = accesses
        && let AccessKind::Read { must_miss, .. } = &mut access.kind
    {
        *must_miss = true;
    }
}

/// A LIMIT read that returns a column which a later UPDATE or DELETE of the same table pins to
/// a parameter picks the rows that statement writes (`SELECT id ... LIMIT 1` then
/// `UPDATE ... WHERE id = $1`): the read is narrowed to those rows, so claiming different rows
/// is not mistaken for a conflict, and claiming the same row still is.
pub fn pin_picked_rows(statements: &mut [Vec<Access>]) {
    for index in 0..statements.len() {
        let (before, after) = statements.split_at_mut(index + 1);
        for read in before[index].iter_mut() {
            let AccessKind::Read {
                value,
                limited: true,
                ..
            } = &read.kind
            else {
                continue;
            };
            let picked = after.iter().flatten().find_map(|write| {
                if write.table != read.table
                    || !matches!(
                        write.kind,
                        AccessKind::Update { .. } | AccessKind::Delete { .. }
                    )
                {
                    return None;
                }
                write.rows.pins.iter().find(|(column, term)| {
                    matches!(term, Term::Param(_))
                        && value.contains(column)
                        && !read.rows.pins.contains_key(*column)
                })
            });
            if let Some((column, term)) = picked {
                read.rows.found.insert(column.clone());
                read.rows.pins.insert(column.clone(), term.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_set_describes_its_bounds_and_comparisons() {
        let rows = RowSet {
            pins: BTreeMap::from([("queue".to_string(), Term::Param("$1".to_string()))]),
            bounds: vec![Bound {
                column: "run_at".to_string(),
                outcomes: Comparison::LESS | Comparison::EQUAL,
                term: Term::Param("$2".to_string()),
            }],
            comparisons: vec![Comparison {
                left: "attempts".to_string(),
                right: "max_attempts".to_string(),
                outcomes: Comparison::LESS,
                when: Some((
                    "status".to_string(),
                    Domain::In(BTreeSet::from(["'failed'".to_string()])),
                )),
            }],
            ..RowSet::default()
        };
        assert_eq!(
            rows.describe(),
            "rows where queue = $1 AND run_at <= $2 AND attempts < max_attempts when status \
             IN ('failed')"
        );
        let only_compared = RowSet {
            comparisons: vec![Comparison {
                left: "a".to_string(),
                right: "b".to_string(),
                outcomes: Comparison::LESS | Comparison::GREATER,
                when: None,
            }],
            ..RowSet::default()
        };
        assert_eq!(only_compared.describe(), "rows where a <> b");
        assert_eq!(RowSet::default().describe(), "any row");
    }
}
