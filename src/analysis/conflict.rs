//! Conflicts between two transaction instances (DESIGN.md section 4): rw edges with their
//! unifiers, forced conflicts that make snapshot isolation abort one side, and lock items that
//! serialise the two instances outright.

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::access::{
    Access, AccessKind, Columns, Domain, LockTarget, OnConflict, RowSet, SetValue, Term,
};
use crate::analysis::unify::{Atom, Unifier, rows_meet};
use crate::catalog::{Catalog, Key, KeyKind, KeyRows};
use crate::parse::LockStrength;
use crate::program::Program;

/// One instance of a program in a schedule; `tag` tells its parameters apart from the other
/// instance's (two instances of one program have independent parameters).
#[derive(Clone, Copy)]
pub struct Instance<'a> {
    pub program: &'a Program,
    pub index: usize,
    pub tag: u8,
}

impl<'a> Instance<'a> {
    pub fn accesses(&self) -> impl Iterator<Item = (AccessRef, &'a Access)> + 'a {
        self.program
            .statements
            .iter()
            .enumerate()
            .flat_map(|(statement, s)| {
                s.accesses
                    .iter()
                    .enumerate()
                    .map(move |(access, a)| (AccessRef { statement, access }, a))
            })
    }

    pub fn access(&self, at: AccessRef) -> &'a Access {
        &self.program.statements[at.statement].accesses[at.access]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AccessRef {
    pub statement: usize,
    pub access: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EdgeKind {
    /// The writer changes or deletes rows the reader saw.
    Item,
    /// The writer makes a row appear in the reader's predicate (INSERT, or an UPDATE that moves
    /// a row into it).
    Phantom,
}

/// An rw anti-dependency: the reader read what the writer then changes.
#[derive(Debug, Clone)]
pub struct RwEdge {
    pub read: AccessRef,
    pub write: AccessRef,
    pub kind: EdgeKind,
    /// The columns the write changes that the read looked at (empty for row appearance).
    pub columns: Vec<String>,
    pub unifier: Unifier,
}

/// An access with its table as a number: two accesses have one table exactly when they have
/// one number (an advisory lock's empty table included).
pub type Numbered<'a> = (AccessRef, &'a Access, u32);

/// Every program's accesses with their tables numbered, and its writes apart: what
/// [`rw_edges`] needs of a program, worked out once per run rather than once per pair, so
/// that it compares numbers, not names. An access of rows only its own transaction added
/// ([`Access::own_rows_only`]) is in no rw edge, and left out.
pub struct NumberedAccesses<'a> {
    /// Each program's accesses, in the order of [`Instance::accesses`].
    all: Vec<Vec<Numbered<'a>>>,
    /// Each program's writes, in that order.
    writes: Vec<Vec<Numbered<'a>>>,
}

impl<'a> NumberedAccesses<'a> {
    /// The accesses of every program; with `wanted`, of those it marks only (the others
    /// are never paired).
    pub fn new(programs: &'a [Program], wanted: Option<&[bool]>) -> NumberedAccesses<'a> {
        let mut numbers: std::collections::HashMap<&str, u32> = std::collections::HashMap::new();
        let mut all = Vec::with_capacity(programs.len());
        let mut writes = Vec::with_capacity(programs.len());
        for (index, program) in programs.iter().enumerate() {
            if wanted.is_some_and(|wanted| !wanted[index]) {
                all.push(Vec::new());
                writes.push(Vec::new());
                continue;
            }
            let instance = Instance {
                program,
                index,
                tag: 0,
            };
            let numbered: Vec<Numbered> = instance
                .accesses()
                .filter(|(_, access)| !access.own_rows_only())
                .map(|(at, access)| {
                    let next = u32::try_from(numbers.len()).unwrap_or(u32::MAX);
                    let number = *numbers.entry(access.table.as_str()).or_insert(next);
                    (at, access, number)
                })
                .collect();
            writes.push(
                numbered
                    .iter()
                    .copied()
                    .filter(|(_, access, _)| access.is_write())
                    .collect(),
            );
            all.push(numbered);
        }
        NumberedAccesses { all, writes }
    }

    /// Every rw edge from `reader`'s reads to `writer`'s writes ([`rw_edges`]).
    pub fn rw_edges(&self, reader: Instance, writer: Instance) -> Vec<RwEdge> {
        rw_edges_numbered(
            reader,
            writer,
            &self.all[reader.index],
            &self.writes[writer.index],
        )
    }
}

/// Every rw edge from `reader`'s reads to `writer`'s writes.
pub fn rw_edges(reader: Instance, writer: Instance) -> Vec<RwEdge> {
    // Tables numbered for these two programs alone.
    fn numbered<'a>(instance: Instance<'a>, names: &mut Vec<&'a str>) -> Vec<Numbered<'a>> {
        instance
            .accesses()
            .filter(|(_, access)| !access.own_rows_only())
            .map(|(at, access)| {
                let table = access.table.as_str();
                let number = names
                    .iter()
                    .position(|name| *name == table)
                    .unwrap_or_else(|| {
                        names.push(table);
                        names.len() - 1
                    });
                (at, access, u32::try_from(number).unwrap_or(u32::MAX))
            })
            .collect()
    }
    let mut names = Vec::new();
    let reads = numbered(reader, &mut names);
    let mut writes = numbered(writer, &mut names);
    writes.retain(|(_, access, _)| access.is_write());
    rw_edges_numbered(reader, writer, &reads, &writes)
}

/// [`rw_edges`] from `reader`'s accesses and `writer`'s writes, numbered alike, neither of
/// rows only its own transaction added.
fn rw_edges_numbered(
    reader: Instance,
    writer: Instance,
    reads: &[Numbered],
    writes: &[Numbered],
) -> Vec<RwEdge> {
    let mut edges = Vec::new();
    // No edge comes without a write.
    if writes.is_empty() {
        return edges;
    }
    for &(read_at, read, read_table) in reads {
        // A DELETE re-checks the rows it finds, but nothing rescans for rows inserted since:
        // its WHERE is a predicate read for phantoms (delete-then-insert "replace all"). Only
        // inserts that give every column the DELETE pins can match it: a column left to its
        // default (a serial id) never equals the DELETE's parameter.
        if matches!(read.kind, AccessKind::Delete { .. }) {
            for &(write_at, write, write_table) in writes {
                if write_table == read_table
                    && matches!(write.kind, AccessKind::Insert { .. })
                    && read
                        .rows
                        .pins
                        .keys()
                        .all(|column| write.rows.pins.contains_key(column))
                    && let Some(unifier) =
                        rows_meet(&read.rows, reader.tag, &write.rows, writer.tag)
                {
                    edges.push(RwEdge {
                        read: read_at,
                        write: write_at,
                        kind: EdgeKind::Phantom,
                        columns: vec![],
                        unifier,
                    });
                }
            }
            continue;
        }
        let Some((value, predicate)) = read.read_columns() else {
            continue;
        };
        // Neither an upsert's key check nor a one-row lookup that must find its row can miss a
        // new row: the first waits for it, the second found the only row its key allows.
        let arbiter = matches!(
            read.kind,
            AccessKind::Read {
                arbiter: Some(_),
                ..
            } | AccessKind::Read {
                must_find: true,
                ..
            }
        );
        // A check the transaction goes on past only when it found nothing saw no row that a
        // write could change or delete: only a row added or moved in can be one it missed.
        let missed = matches!(
            read.kind,
            AccessKind::Read {
                must_miss: true,
                ..
            }
        );
        // A read that locks its rows until commit, whose statement deletes them all: another
        // transaction's UPDATE or DELETE of one waits for that commit and finds it gone.
        let held_and_deleted = matches!(
            read.kind,
            AccessKind::Read {
                deleted: true,
                lock: Some(lock),
                ..
            } if lock.strength != LockStrength::KeyShare
        ) && reader.program.lock_holds_to_commit(read_at.statement);
        // The columns of `assigned` the read looks at, as a value or in its WHERE.
        let read_of = |assigned: &std::collections::BTreeMap<String, SetValue>| -> Vec<String> {
            assigned
                .keys()
                .filter(|column| value.contains(column) || predicate.contains(*column))
                .cloned()
                .collect()
        };
        for &(write_at, write, write_table) in writes {
            if write_table != read_table {
                continue;
            }
            let mut push = |kind, columns: Vec<String>, unifier| {
                edges.push(RwEdge {
                    read: read_at,
                    write: write_at,
                    kind,
                    columns,
                    unifier,
                })
            };
            match &write.kind {
                AccessKind::Update { set, .. } => {
                    let columns = read_of(set);
                    if !columns.is_empty()
                        && !missed
                        && !held_and_deleted
                        && let Some(unifier) =
                            rows_meet(&read.rows, reader.tag, &write.rows, writer.tag)
                    {
                        push(EdgeKind::Item, columns, unifier);
                    }
                    if !arbiter
                        && let Some((columns, unifier)) =
                            moves_row_in(read, reader.tag, predicate, write, writer.tag, set)
                    {
                        push(EdgeKind::Phantom, columns, unifier);
                    }
                }
                AccessKind::Delete { .. } => {
                    if !missed
                        && !held_and_deleted
                        && let Some(unifier) =
                            rows_meet(&read.rows, reader.tag, &write.rows, writer.tag)
                    {
                        push(EdgeKind::Item, vec![], unifier);
                    }
                }
                AccessKind::Insert { on_conflict, .. } => {
                    if let Some(unifier) =
                        rows_meet(&read.rows, reader.tag, &write.rows, writer.tag)
                    {
                        if let OnConflict::Update(set) = on_conflict {
                            let columns = read_of(set);
                            if !columns.is_empty() && !missed {
                                push(EdgeKind::Item, columns, unifier.clone());
                            }
                        }
                        if !arbiter {
                            push(EdgeKind::Phantom, vec![], unifier);
                        }
                    }
                }
                AccessKind::Read { .. } | AccessKind::Lock(_) => {}
            }
        }
    }
    edges
}

/// Whether one transaction's outgoing edge from `read` and incoming edge into `write` exclude
/// each other: `read` is an upsert's check of its key, which meets another transaction's write
/// only on a row it found, and `write` is the same statement's INSERT missed as a new row,
/// which exists only when the check found none.
pub fn upsert_outcomes_exclude(
    program: &crate::program::Program,
    read: AccessRef,
    write: AccessRef,
    write_kind: EdgeKind,
) -> bool {
    let access = &program.statements[read.statement].accesses[read.access];
    read.statement == write.statement
        && write_kind == EdgeKind::Phantom
        && matches!(
            access.kind,
            AccessKind::Read {
                arbiter: Some(crate::access::Arbiter { one_row: true }),
                ..
            }
        )
}

/// An UPDATE that assigns a predicate column of the read can move a row into the read's
/// predicate, unless it assigns a literal other than the one the read pins (that moves rows
/// out, which is an item conflict on rows the read saw).
fn moves_row_in(
    read: &Access,
    read_tag: u8,
    predicate: &std::collections::BTreeSet<String>,
    write: &Access,
    write_tag: u8,
    set: &std::collections::BTreeMap<String, SetValue>,
) -> Option<(Vec<String>, Unifier)> {
    let writes = match &write.kind {
        AccessKind::Update { writes, .. } => Some(writes),
        _ => None,
    };
    let written = |column: &str, value: &SetValue| match value {
        SetValue::Term(crate::access::Term::Literal(assigned)) => {
            Some(Domain::In(std::collections::BTreeSet::from([
                assigned.clone()
            ])))
        }
        _ => writes.and_then(|writes| writes.get(column).cloned()),
    };
    let moved: Vec<String> = set
        .iter()
        .filter(|(column, _)| predicate.contains(*column))
        // A value the read's rows never hold moves no row in (`SET status = 'done'` against
        // `status = 'todo'`; `SET seen_at = now()` against `seen_at < now() - interval`).
        .filter(
            |(column, value)| match (read.rows.domain(column), written(column, value)) {
                (Some(domain), Some(written)) => domain.intersects(&written),
                _ => true,
            },
        )
        // A row whose column already held a value the read lets through was in the read's rows
        // before (as far as this column goes): the write changes an item the read saw.
        .filter(|(column, _)| {
            !write
                .rows
                .domain(column)
                .is_some_and(|old| read.rows.keeps_in(column, &old))
        })
        .map(|(column, _)| column.clone())
        .collect();
    if moved.is_empty() {
        return None;
    }
    let after = after_update(&write.rows, set, writes);
    rows_meet(&read.rows, read_tag, &after, write_tag).map(|unifier| (moved, unifier))
}

/// The row an UPDATE leaves: the WHERE's pins and domains of the columns it does not assign,
/// the terms it assigns, and the values its other assignments certainly write (`writes`).
fn after_update(
    rows: &RowSet,
    set: &BTreeMap<String, SetValue>,
    writes: Option<&BTreeMap<String, Domain>>,
) -> RowSet {
    let mut after = rows.clone();
    after
        .comparisons
        .retain(|comparison| set.keys().all(|column| !comparison.mentions(column)));
    after
        .bounds
        .retain(|bound| !set.contains_key(&bound.column));
    for (column, value) in set {
        after.domains.remove(column);
        match value {
            SetValue::Term(term) => {
                after.pins.insert(column.clone(), term.clone());
            }
            _ => {
                after.pins.remove(column);
                if let Some(domain) = writes.and_then(|writes| writes.get(column)) {
                    after.domains.insert(column.clone(), domain.clone());
                }
            }
        }
    }
    after
}

/// Two writes that each leave a row inside one partial unique index with equal key values,
/// under `unifier`: an UPDATE that moves its row into it (`SET status = 'doing'` under
/// `UNIQUE (lock) WHERE status = 'doing'`), or a plain INSERT of a row in it (an upsert takes
/// its `ON CONFLICT` branch instead). The second waits on the key for the first and fails once
/// it commits, so both cannot commit. Only the last
/// write of the table in each transaction counts: a later one could move its row out again
/// before the commit. Keys over every row are left to [`forces`]: there a row a claim chose
/// and a row it missed share the claim's pins, and would look like one key.
fn enter_one_key(first: Instance, second: Instance, unifier: &Unifier, catalog: &Catalog) -> bool {
    fn partial(key: &Key) -> bool {
        !matches!(key.kind, KeyKind::Exclusion { .. })
            && matches!(key.rows, KeyRows::Where(_))
            && !key.columns.is_empty()
    }
    // The rows an instance leaves in a table with a partial unique key, as they are written.
    fn entering<'a>(instance: Instance<'a>, catalog: &Catalog) -> Vec<(&'a str, Cow<'a, RowSet>)> {
        let writes: Vec<(AccessRef, &Access)> = instance
            .accesses()
            .filter(|(_, a)| {
                a.is_write()
                    && catalog
                        .table(&a.table)
                        .is_some_and(|table| table.keys.iter().any(partial))
            })
            .collect();
        writes
            .iter()
            .filter(|(at, access)| {
                !writes.iter().any(|(later, other)| {
                    other.table == access.table && later.statement > at.statement
                })
            })
            .filter_map(|(_, access)| {
                // An upsert takes its `ON CONFLICT` branch instead and commits.
                let row = match &access.kind {
                    AccessKind::Insert {
                        on_conflict: OnConflict::Error,
                        ..
                    } => Cow::Borrowed(&access.rows),
                    AccessKind::Update { set, writes, .. } => {
                        Cow::Owned(after_update(&access.rows, set, Some(writes)))
                    }
                    _ => return None,
                };
                Some((access.table.as_str(), row))
            })
            .collect()
    }
    let ours = entering(first, catalog);
    if ours.is_empty() {
        return false;
    }
    let theirs = entering(second, catalog);
    ours.iter().any(|(table, a)| {
        let Some(definition) = catalog.table(table) else {
            return false;
        };
        theirs
            .iter()
            .filter(|(other, _)| other == table)
            .any(|(_, b)| {
                definition.keys.iter().any(|key| {
                    partial(key)
                        && key.holds(|column| a.domain(column))
                        && key.holds(|column| b.domain(column))
                        && key.columns.iter().all(|column| {
                            match (a.pins.get(column), b.pins.get(column)) {
                                (Some(x), Some(y)) => {
                                    unifier.equal(&Atom::of(x, first.tag), &Atom::of(y, second.tag))
                                }
                                _ => false,
                            }
                        })
                })
            })
    })
}

/// Whether the two instances cannot both go on under `unifier` when they run the statements
/// `ran` (of `a`, then of `b`): one raises unless it finds a row (`must_find`) that the other
/// raises if it finds (`must_miss`, `SELECT count(*) INTO n ...; IF n > 0 THEN RAISE`), both
/// reads in the same call as those statements; the check tests only columns the lookup pins to
/// the same values, and neither instance adds, removes or moves rows of that table across
/// those columns, so the two reads see the same rows and one of them raises. (`drop_queue`
/// goes on only when the queue has no subscription; a reader of the queue's ticks found its
/// own.)
pub fn guards_exclude(a: Instance, b: Instance, ran: [&[usize]; 2], unifier: &Unifier) -> bool {
    let with_ran = |instance: Instance, statement: usize, ran: &[usize]| {
        ran.iter()
            .all(|&other| instance.program.run_together(statement, other))
    };
    [(a, b, ran[0], ran[1]), (b, a, ran[1], ran[0])]
        .into_iter()
        .any(|(finder, misser, finder_ran, misser_ran)| {
            misser.accesses().any(|(check_at, check)| {
                let AccessKind::Read {
                    must_miss: true,
                    predicate,
                    ..
                } = &check.kind
                else {
                    return false;
                };
                let only_pins = !check.rows.pins.is_empty()
                    && predicate
                        .iter()
                        .all(|column| check.rows.pins.contains_key(column));
                only_pins
                    && with_ran(misser, check_at.statement, misser_ran)
                    && !moves_rows_across(a, check)
                    && !moves_rows_across(b, check)
                    && finder.accesses().any(|(lookup_at, lookup)| {
                        matches!(
                            lookup.kind,
                            AccessKind::Read {
                                must_find: true,
                                ..
                            }
                        ) && with_ran(finder, lookup_at.statement, finder_ran)
                            && lookup.table == check.table
                            && check.rows.pins.iter().all(|(column, term)| {
                                lookup.rows.pins.get(column).is_some_and(|found| {
                                    unifier.equal(
                                        &Atom::of(term, misser.tag),
                                        &Atom::of(found, finder.tag),
                                    )
                                })
                            })
                    })
            })
        })
}

/// Whether `instance` runs its statement `write` only when its earlier lookup `read` found a
/// row whose value `other` (an UPDATE or DELETE of another transaction) never selects: the
/// write sits behind `IF batch_id IS NOT NULL THEN RETURN` after `SELECT sub_batch INTO
/// batch_id`, and `other` updates `WHERE sub_batch = $1`. `other` then cannot have written
/// the version of the row that the lookup read, so the write does not overwrite it: a third
/// transaction must have written in between.
pub fn value_guard_excludes(
    instance: Instance,
    (read_at, read): (AccessRef, &Access),
    write: usize,
    other: &Access,
) -> bool {
    if !matches!(
        other.kind,
        AccessKind::Update { .. } | AccessKind::Delete { .. }
    ) || read_at.statement >= write
    {
        return false;
    }
    let file = instance.program.file;
    let statements = &instance.program.statements;
    let (Some(guarded), Some(between)) = (
        statements.get(write),
        statements.get(read_at.statement..write),
    ) else {
        return false;
    };
    guarded.value_guards.iter().any(|guard| {
        // The lookup of the same call: the last run of it before the write.
        let same_call = between[0].origin(file) == guard.lookup
            && !between[1..]
                .iter()
                .any(|statement| statement.origin(file) == guard.lookup);
        same_call
            && read.table == guard.table
            && other.table == guard.table
            && other
                .rows
                .domain(&guard.column)
                .is_some_and(|domain| !domain.intersects(&guard.domain))
    })
}

/// Whether `instance` can change which rows of `check`'s table match its pins: an INSERT, a
/// DELETE, or an UPDATE of a pinned column.
fn moves_rows_across(instance: Instance, check: &Access) -> bool {
    instance.accesses().any(|(_, write)| {
        write.table == check.table
            && match &write.kind {
                AccessKind::Insert { .. } | AccessKind::Delete { .. } => true,
                AccessKind::Update { set, .. } => set
                    .keys()
                    .any(|column| check.rows.pins.contains_key(column)),
                AccessKind::Read { .. } | AccessKind::Lock(_) => false,
            }
    })
}

/// A forced conflict under `unifier`: the two instances must write the same row (or insert the
/// same unique or excluded value), so under snapshot isolation one of them fails, and the
/// rw conflicts between them are harmless.
pub fn forced_conflict(
    first: Instance,
    second: Instance,
    unifier: &Unifier,
    catalog: &Catalog,
) -> bool {
    enter_one_key(first, second, unifier, catalog)
        || first.accesses().any(|(_, a)| {
            second.accesses().any(|(_, b)| {
                (a.table == b.table
                    && !a.table.is_empty()
                    && forces(a, first.tag, b, second.tag, unifier, catalog))
                    || child_meets_deleted_parent((first, a), (second, b), unifier, catalog)
                    || child_meets_deleted_parent((second, b), (first, a), unifier, catalog)
            })
        })
}

/// An INSERT of a child row and a DELETE of the parent row it references can never both
/// commit: the foreign key check locks the parent row (PostgreSQL `FOR KEY SHARE`, InnoDB
/// shared locks) or fails on its absence, whatever the isolation level; and the delete fails
/// while the child exists. Unless the deleter changes the children: `ON DELETE CASCADE | SET
/// NULL | SET DEFAULT`, or its own DELETE of children (then see
/// [`serialized_by_foreign_key`]).
fn child_meets_deleted_parent(
    child: (Instance, &Access),
    parent: (Instance, &Access),
    unifier: &Unifier,
    catalog: &Catalog,
) -> bool {
    let ((ci, child), (pi, parent)) = (child, parent);
    if !matches!(child.kind, AccessKind::Insert { .. })
        || !matches!(parent.kind, AccessKind::Delete { .. })
    {
        return false;
    }
    let (Some(child_table), Some(parent_table)) =
        (catalog.table(&child.table), catalog.table(&parent.table))
    else {
        return false;
    };
    // A deleter that also deletes children could delete this one after it commits.
    let deletes_children = pi.accesses().any(|(_, access)| {
        access.table == child.table && matches!(access.kind, AccessKind::Delete { .. })
    });
    !deletes_children
        && child_table
            .foreign_keys
            .iter()
            .filter(|fk| fk.references == parent.table && !fk.on_delete_changes_children)
            .any(|fk| {
                let Some((referenced, columns)) = referenced_row(ci, child, fk, parent_table)
                else {
                    return false;
                };
                is_referenced_row(
                    (&referenced, columns),
                    ci,
                    (pi, parent),
                    parent_table,
                    unifier,
                )
            })
}

/// Whether `access` of instance `pi` names the row of `parent_table` that `referenced` (in
/// instance `ci`) pins, by some key that identifies rows.
fn is_referenced_row(
    (referenced, referenced_columns): (&BTreeMap<String, Term>, &[String]),
    ci: Instance,
    (pi, access): (Instance, &Access),
    parent_table: &crate::catalog::Table,
    unifier: &Unifier,
) -> bool {
    let row = found_row(pi, &access.table, access.rows.pins.clone());
    // A key value found by lookup names one row only while no row takes it over: when either
    // side adds parent rows (deletes one name and creates it again), only the key the foreign
    // key references, which no new row reuses, tells rows apart.
    let adds_parents = |instance: Instance| {
        instance.accesses().any(|(_, access)| {
            access.table == parent_table.name && matches!(access.kind, AccessKind::Insert { .. })
        })
    };
    let any_key = !adds_parents(ci) && !adds_parents(pi);
    parent_table
        .keys
        .iter()
        .filter(|key| {
            key.identifies_row()
                && (any_key || key.columns.iter().all(|c| referenced_columns.contains(c)))
        })
        .any(|key| {
            key.columns
                .iter()
                .all(|column| match (referenced.get(column), row.get(column)) {
                    (Some(x), Some(y)) => unifier.equal(&Atom::of(x, ci.tag), &Atom::of(y, pi.tag)),
                    _ => false,
                })
        })
}

/// A child row that one instance inserts and its parent row that the other locks exclusively
/// (`FOR UPDATE`, `DELETE`): the insert's foreign key check locks the parent until commit, so
/// each waits for the other's commit from those statements on. When the other also deletes
/// the parent, an inserter whose insert ran commits only if the insert came first (after the
/// delete the check fails), so all of it precedes the other's lock. The insert ran when it is
/// among `ran` (the statements the anomaly runs) or the inserter runs every statement it has
/// (a script's own statements, not a routine's branches).
fn serialized_by_foreign_key(
    (ci, child_from, ran, child_read): (Instance, usize, &[usize], Option<AccessRef>),
    (pi, parent_from, parent_read): (Instance, usize, Option<AccessRef>),
    unifier: &Unifier,
    context: &crate::analysis::Context,
) -> bool {
    if !context.semantics.foreign_key_locks_parent(context.engine) {
        return false;
    }
    let catalog = context.catalog;
    let parent_snapshot = snapshot_statement(pi, context);
    let child_snapshot = snapshot_statement(ci, context);
    ci.accesses()
        .filter(|(_, access)| matches!(access.kind, AccessKind::Insert { .. }))
        .any(|(at, insert)| {
            let Some(child_table) = catalog.table(&insert.table) else {
                return false;
            };
            child_table.foreign_keys.iter().any(|fk| {
                let Some(parent_table) = catalog.table(&fk.references) else {
                    return false;
                };
                let Some((referenced, columns)) = referenced_row(ci, insert, fk, parent_table)
                else {
                    return false;
                };
                let same_row = |access: &Access| {
                    access.table == fk.references
                        && is_referenced_row(
                            (&referenced, columns),
                            ci,
                            (pi, access),
                            parent_table,
                            unifier,
                        )
                };
                let deletes = pi.accesses().any(|(_, access)| {
                    matches!(access.kind, AccessKind::Delete { .. }) && same_row(access)
                });
                let insert_ran = ran.contains(&at.statement)
                    || (matches!(
                        ci.program.kind,
                        crate::program::ProgramKind::Script | crate::program::ProgramKind::Query
                    ) && ci.program.statements[at.statement].via.is_none());
                let child_usable = if deletes && insert_ran {
                    true
                } else {
                    at.statement <= child_from
                        && child_snapshot.is_none_or(|s| at.statement < s)
                        && protects_read(ci, at.statement, child_read)
                };
                child_usable
                    && ci.program.lock_holds_to_commit(at.statement)
                    && pi.accesses().any(|(locked_at, access)| {
                        let exclusive = matches!(access.kind, AccessKind::Delete { .. })
                            || access.lock().is_some_and(|lock| {
                                lock.strength == LockStrength::Update && !lock.skip_locked
                            });
                        exclusive
                            && locked_at.statement <= parent_from
                            && protects_read(pi, locked_at.statement, parent_read)
                            && pi.program.lock_holds_to_commit(locked_at.statement)
                            && parent_snapshot.is_none_or(|s| locked_at.statement < s)
                            && same_row(access)
                    })
            })
        })
}

/// `pins` of a row of `table` with what `instance` learnt about that row from a lookup that
/// found it by the same values: the lookup's other keys (`SELECT queue_id INTO STRICT q FROM
/// queue WHERE queue_name = $1` teaches that the queue `queue_id = q.queue_id` is also
/// `queue_name = $1`, and the other way round).
fn found_row(
    instance: Instance,
    table: &str,
    mut pins: BTreeMap<String, Term>,
) -> BTreeMap<String, Term> {
    let found = instance.accesses().filter_map(|(_, access)| {
        let found = access.table == table
            && matches!(
                access.kind,
                AccessKind::Read {
                    must_find: true,
                    ..
                }
            );
        found.then_some(&access.rows.pins)
    });
    let mut learnt = BTreeMap::new();
    for row in found {
        if pins
            .iter()
            .all(|(column, term)| row.get(column) == Some(term))
        {
            learnt.extend(
                row.iter()
                    .map(|(column, term)| (column.clone(), term.clone())),
            );
        }
    }
    for (column, term) in learnt {
        pins.entry(column).or_insert(term);
    }
    pins
}

/// The parent row an inserted child row references through `fk`, as pins on the parent's
/// columns: the child's values of the foreign key, and the other keys of that row that the
/// child's transaction found it by (`SELECT queue_id INTO STRICT q FROM queue WHERE
/// queue_name = $1`, then `INSERT INTO tick (tick_queue) VALUES (q.queue_id)`: the parent is
/// also the queue named `$1`), with the referenced columns. `None` when a column of the
/// foreign key is not pinned.
fn referenced_row<'t>(
    child_instance: Instance,
    child: &Access,
    fk: &'t crate::catalog::ForeignKey,
    parent_table: &'t crate::catalog::Table,
) -> Option<(BTreeMap<String, Term>, &'t [String])> {
    let referenced: &[String] = if fk.referenced.is_empty() {
        &parent_table
            .keys
            .iter()
            .find(|key| key.kind == KeyKind::Primary)?
            .columns
    } else {
        &fk.referenced
    };
    if referenced.len() != fk.columns.len() {
        return None;
    }
    let mut pins = BTreeMap::new();
    for (column, parent_column) in fk.columns.iter().zip(referenced) {
        pins.insert(parent_column.clone(), child.rows.pins.get(column)?.clone());
    }
    Some((found_row(child_instance, &fk.references, pins), referenced))
}

fn forces(a: &Access, ta: u8, b: &Access, tb: u8, unifier: &Unifier, catalog: &Catalog) -> bool {
    let Some(table) = catalog.table(&a.table) else {
        return false;
    };
    let equal = |x: &Term, y: &Term| unifier.equal(&Atom::of(x, ta), &Atom::of(y, tb));
    // A value computed from the rows a read selects is the same on both sides when the read is
    // the same and its parameters are equal: both read the same rows, as each misses the
    // other's (a third transaction changing those rows between the two reads is not modelled).
    let derived_equal =
        |column: &str| match (a.rows.derived.get(column), b.rows.derived.get(column)) {
            (Some(x), Some(y)) => {
                x.source == y.source
                    && x.inputs.len() == y.inputs.len()
                    && x.inputs.iter().zip(&y.inputs).all(|(x, y)| equal(x, y))
            }
            _ => false,
        };
    let pinned_equal = |column: &str| {
        let pins = match (a.rows.pins.get(column), b.rows.pins.get(column)) {
            (Some(x), Some(y)) => equal(x, y),
            _ => false,
        };
        pins || derived_equal(column)
    };
    // Equal columns give equal values of an expression index's key (`lower(name)`).
    let key_equal = |columns: &[String]| {
        columns.iter().all(|column| {
            pinned_equal(column)
                || crate::catalog::expression_key(column)
                    .is_some_and(|(_, base)| pinned_equal(base))
        })
    };
    let both_inserts =
        matches!(a.kind, AccessKind::Insert { .. }) && matches!(b.kind, AccessKind::Insert { .. });
    if both_inserts {
        let inserted = |access: &Access, column: &String| match &access.kind {
            AccessKind::Insert { columns, .. } => columns.contains(column),
            _ => false,
        };
        return table.keys.iter().any(|key| {
            let others_present = match &key.kind {
                KeyKind::Exclusion { other_columns } => other_columns
                    .iter()
                    .all(|column| inserted(a, column) && inserted(b, column)),
                _ => true,
            };
            // A partial index serialises only rows that are certainly in it.
            let in_key = |access: &Access| key.holds(|column| access.rows.domain(column));
            others_present && in_key(a) && in_key(b) && key_equal(&key.columns)
        });
    }
    let row_write = |access: &Access| {
        matches!(
            access.kind,
            AccessKind::Update { .. }
                | AccessKind::Delete { .. }
                | AccessKind::Insert {
                    on_conflict: OnConflict::Update(_),
                    ..
                }
        )
    };
    row_write(a)
        && row_write(b)
        && table
            .keys
            .iter()
            .any(|key| key.identifies_row() && key_equal(&key.columns))
}

/// Something only one transaction can hold at a time until it commits.
#[derive(Debug, Clone)]
enum Mutex<'a> {
    Table(&'a str),
    Advisory(&'a [Option<crate::access::Term>]),
    /// A row locked exclusively (FOR UPDATE, UPDATE, DELETE) by a point row set.
    Row(&'a Access),
}

fn mutexes<'a>(instance: Instance<'a>) -> Vec<(usize, Mutex<'a>)> {
    instance
        .accesses()
        .filter_map(|(at, access)| {
            let mutex = match &access.kind {
                AccessKind::Lock(LockTarget::Table) => Mutex::Table(&access.table),
                AccessKind::Lock(LockTarget::Advisory(key)) => Mutex::Advisory(key),
                AccessKind::Read {
                    lock: Some(lock), ..
                } if lock.strength >= LockStrength::NoKeyUpdate && !lock.skip_locked => {
                    Mutex::Row(access)
                }
                AccessKind::Update { .. } | AccessKind::Delete { .. } => Mutex::Row(access),
                _ => return None,
            };
            Some((at.statement, mutex))
        })
        .collect()
}

/// Where the instance's snapshot is taken: the first statement that reads table data through
/// it. PostgreSQL-like engines take it at the first query of any kind (a `SELECT ... FOR
/// UPDATE` or `SELECT pg_advisory_xact_lock()` included); MySQL at the first plain read.
pub(crate) fn snapshot_statement(
    instance: Instance,
    context: &crate::analysis::Context,
) -> Option<usize> {
    let spec = context
        .semantics_of(instance.program)
        .level(context.engine, instance.program.level);
    if !spec.snapshot {
        return None;
    }
    instance.program.statements.iter().position(|statement| {
        if spec.snapshot_at_first_plain_read {
            statement
                .accesses
                .iter()
                .any(|access| access.is_read() && access.lock().is_none())
        } else {
            statement.takes_snapshot
        }
    })
}

/// Whether a lock the instance takes in statement `at` protects its `read`: a lock taken by the
/// read's own statement comes after that statement's snapshot, so it does only when the read
/// is a locking read itself (which reads the newest rows).
fn protects_read(instance: Instance, at: usize, read: Option<AccessRef>) -> bool {
    read.is_none_or(|read| {
        at < read.statement
            || instance
                .access(read)
                .lock()
                .is_some_and(|lock| !lock.skip_locked)
    })
}

/// The locks an instance holds from statement `from` on that were taken early enough: before
/// `from` and, at a snapshot level, before its snapshot; and held until it commits, not
/// released by a step that commits on its own (`atomic = false`).
///
/// With `read`, the anomaly's read in this instance: a lock taken by the read's own statement
/// comes after that statement's snapshot, so it protects the read only when the read is a
/// locking read itself (which reads the newest rows); `WITH e AS (SELECT ... FROM events ...
/// FOR UPDATE) INSERT ... WHERE (SELECT count(*) FROM seats ...) < e.capacity` counts on the
/// snapshot it took before waiting for the event.
fn usable_mutexes<'a>(
    instance: Instance<'a>,
    from: usize,
    read: Option<AccessRef>,
    context: &crate::analysis::Context,
) -> Vec<Mutex<'a>> {
    let snapshot = snapshot_statement(instance, context);
    mutexes(instance)
        .into_iter()
        .filter(|(at, _)| {
            *at <= from
                && protects_read(instance, *at, read)
                && snapshot.is_none_or(|s| *at < s)
                && instance.program.lock_holds_to_commit(*at)
        })
        .map(|(_, mutex)| mutex)
        .collect()
}

/// Whether a lock held by both instances (a table lock, an advisory key, an exclusively locked
/// row) serialises them over the statements from `first_from` and `second_from` on: each must
/// take it before those statements and, at a snapshot level, before its snapshot.
pub fn serialized_by_lock(
    first: (Instance, usize),
    second: (Instance, usize),
    unifier: &Unifier,
    context: &crate::analysis::Context,
) -> bool {
    serialized_running(
        (first.0, first.1, &[], None),
        (second.0, second.1, &[], None),
        unifier,
        context,
    )
}

/// [`serialized_by_lock`], knowing statements each instance runs in the anomaly (`ran`): a lock
/// they take is held whatever branches the rest of the instance takes; and, where given, each
/// instance's read in the anomaly (see [`usable_mutexes`]).
pub fn serialized_running(
    first: (Instance, usize, &[usize], Option<AccessRef>),
    second: (Instance, usize, &[usize], Option<AccessRef>),
    unifier: &Unifier,
    context: &crate::analysis::Context,
) -> bool {
    if serialized_by_foreign_key(first, (second.0, second.1, second.3), unifier, context)
        || serialized_by_foreign_key(second, (first.0, first.1, first.3), unifier, context)
    {
        return true;
    }
    let (first_read, second_read) = (first.3, second.3);
    let (first, second) = ((first.0, first.1), (second.0, second.1));
    let first_mutexes = usable_mutexes(first.0, first.1, first_read, context);
    let second_mutexes = usable_mutexes(second.0, second.1, second_read, context);
    let (ta, tb) = (first.0.tag, second.0.tag);
    first_mutexes.iter().any(|a| {
        second_mutexes.iter().any(|b| match (a, b) {
            (Mutex::Table(x), Mutex::Table(y)) => x == y,
            (Mutex::Advisory(x), Mutex::Advisory(y)) => {
                x.len() == y.len()
                    && x.iter().zip(y.iter()).all(|(p, q)| match (p, q) {
                        (Some(p), Some(q)) => unifier.equal(&Atom::of(p, ta), &Atom::of(q, tb)),
                        _ => false,
                    })
            }
            (Mutex::Row(x), Mutex::Row(y)) => {
                x.table == y.table
                    && context.catalog.table(&x.table).is_some_and(|table| {
                        table.keys.iter().any(|key| {
                            key.identifies_row()
                                && key.columns.iter().all(|column| {
                                    match (x.rows.pins.get(column), y.rows.pins.get(column)) {
                                        (Some(p), Some(q)) => {
                                            unifier.equal(&Atom::of(p, ta), &Atom::of(q, tb))
                                        }
                                        _ => false,
                                    }
                                })
                        })
                    })
            }
            _ => false,
        })
    })
}

/// Whether the read's columns include any of `columns`.
pub fn reads_any(read: &Access, columns: &Columns) -> bool {
    match read.read_columns() {
        Some((value, predicate)) => match columns {
            Columns::All => true,
            Columns::Some(set) => set
                .iter()
                .any(|c| value.contains(c) || predicate.contains(c)),
        },
        None => false,
    }
}
