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

/// The rows an access touches: the conjunction of top-level `column = term` equalities.
/// An empty set of pins means "any row of the table".
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct RowSet {
    pub pins: BTreeMap<String, Term>,
}

impl RowSet {
    /// The first unique key of `table` whose every column is pinned.
    pub fn point_key<'t>(&self, table: Option<&'t Table>) -> Option<&'t Key> {
        table?.keys.iter().find(|key| {
            key.identifies_row() && key.columns.iter().all(|c| self.pins.contains_key(c))
        })
    }

    /// Human text: `id = $1 AND kind = 'a'`, or `every row`.
    pub fn describe(&self) -> String {
        if self.pins.is_empty() {
            return "any row".to_string();
        }
        let parts: Vec<String> = self
            .pins
            .iter()
            .map(|(column, term)| format!("{column} = {}", term.render()))
            .collect();
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
    },
    Update {
        set: BTreeMap<String, SetValue>,
        predicate: BTreeSet<String>,
        /// A compare-and-set or fencing-token guard: losing the race updates 0 rows.
        guarded: bool,
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
                read.rows.pins.insert(column.clone(), term.clone());
            }
        }
    }
}
