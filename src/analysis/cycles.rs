//! Two-transaction rw cycles (T1 reads what T2 writes and T2 reads what T1 writes), shared by
//! `write-skew` and `phantom-write-skew`, which differ in the kind of edges they accept.

use super::conflict::Instance;
use super::conflict::{
    AccessRef, EdgeKind, RwEdge, forced_conflict, guards_exclude, serialized_running,
    upsert_outcomes_exclude,
};
use super::unify::{Atom, Unifier};
use super::{Context, Pair};
use crate::access::Access;
use crate::access::{AccessKind, Comparison};
use crate::parse::LockStrength;
use crate::program::{Program, ProgramKind};

/// A cycle T1 → T2 → T1 of rw edges under one joint unifier.
pub struct Cycle<'e> {
    /// T1's read → T2's write.
    pub forward: &'e RwEdge,
    /// T2's read → T1's write.
    pub backward: &'e RwEdge,
    pub unifier: &'e Unifier,
}

/// A cycle as a pair keeps it: the indices of its edges in the pair's `forward` and
/// `backward`, and its joint unifier.
pub(super) struct CycleAt {
    forward: usize,
    backward: usize,
    unifier: Unifier,
}

impl Cycle<'_> {
    pub fn has_phantom_edge(&self) -> bool {
        self.forward.kind == EdgeKind::Phantom || self.backward.kind == EdgeKind::Phantom
    }
}

/// Every 2-cycle of the pair that no forced conflict, lock or pair of locked reads prevents.
/// Worked out once per pair, whichever rule asks first.
pub fn open_cycles<'p>(context: &Context, pair: &'p Pair) -> Vec<Cycle<'p>> {
    pair.cycles
        .get_or_init(|| find_open_cycles(context, pair))
        .iter()
        .map(|cycle| Cycle {
            forward: &pair.forward[cycle.forward],
            backward: &pair.backward[cycle.backward],
            unifier: &cycle.unifier,
        })
        .collect()
}

fn find_open_cycles(context: &Context, pair: &Pair) -> Vec<CycleAt> {
    let mut cycles = Vec::new();
    // Only a read that feeds a write decides it: one in an earlier statement, or in the
    // write's own statement and not in its report on the write (`WITH x AS (UPDATE ...)
    // SELECT ... FROM x, other`).
    // In routine code a later read still decides when its result raises an exception, which
    // isolint does not follow: there only the same-statement report is left out.
    // The write the other side missed may come first (`UPDATE batches ...; SELECT ... FROM
    // jobs; UPDATE jobs ...`): a read that decides any later write still rests on a state no
    // serial order gives.
    let decides = |instance: &super::conflict::Instance, read: AccessRef, write: AccessRef| {
        let program = instance.program;
        let feeds = |write: AccessRef| instance.access(read).feeds(read.statement, write.statement);
        (read.statement != write.statement
            && (matches!(program.kind, ProgramKind::Routine | ProgramKind::Trigger)
                || program.statements[read.statement].via.is_some()))
            || instance
                .accesses()
                .any(|(at, access)| access.is_write() && feeds(at))
    };
    for (forward_at, forward) in pair.forward.iter().enumerate() {
        for (backward_at, backward) in pair.backward.iter().enumerate() {
            // Each side's read and the write the other misses, in one call.
            let together =
                |instance: &super::conflict::Instance, read: AccessRef, write: AccessRef| {
                    instance
                        .program
                        .run_together(read.statement, write.statement)
                };
            if !together(&pair.first, forward.read, backward.write)
                || !together(&pair.second, backward.read, forward.write)
                || !decides(&pair.first, forward.read, backward.write)
                || !decides(&pair.second, backward.read, forward.write)
            {
                continue;
            }
            if upsert_outcomes_exclude(
                pair.first.program,
                forward.read,
                backward.write,
                backward.kind,
            ) || upsert_outcomes_exclude(
                pair.second.program,
                backward.read,
                forward.write,
                forward.kind,
            ) {
                continue;
            }
            let Some(unifier) = forward.unifier.merge(&backward.unifier) else {
                continue;
            };
            if forced_conflict(pair.first, pair.second, &unifier, context.catalog)
                || orders_exclude(pair, forward, backward, &unifier)
                || guards_exclude(
                    pair.first,
                    pair.second,
                    [
                        &[forward.read.statement, backward.write.statement],
                        &[backward.read.statement, forward.write.statement],
                    ],
                    &unifier,
                )
            {
                continue;
            }
            let blocked = |edge: &RwEdge, reader: &Program| {
                let access = &reader.statements[edge.read.statement].accesses[edge.read.access];
                read_blocks_writer(context, reader, (edge.read.statement, access), edge.kind)
            };
            if blocked(forward, pair.first.program) && blocked(backward, pair.second.program) {
                continue;
            }
            let first_from = forward.read.statement.min(backward.write.statement);
            let second_from = backward.read.statement.min(forward.write.statement);
            let first_ran = [forward.read.statement, backward.write.statement];
            let second_ran = [backward.read.statement, forward.write.statement];
            if serialized_running(
                (pair.first, first_from, &first_ran, Some(forward.read)),
                (pair.second, second_from, &second_ran, Some(backward.read)),
                &unifier,
                context,
            ) {
                continue;
            }
            cycles.push(CycleAt {
                forward: forward_at,
                backward: backward_at,
                unifier,
            });
        }
    }
    cycles
}

/// A locked read makes writers of the rows it read wait until the reader commits. It stops a
/// row from appearing only where locking reads also lock gaps (MySQL/MariaDB at repeatable
/// read and serializable, T-SQL HOLDLOCK). A lock that a step of its own commits before the
/// reader's end (`atomic = false`) stops nothing after that step.
pub fn read_blocks_writer(
    context: &Context,
    reader: &Program,
    (statement, read): (usize, &Access),
    kind: EdgeKind,
) -> bool {
    if !reader.lock_holds_to_commit(statement) {
        return false;
    }
    // A DELETE's WHERE locks what it scans, gaps included where the level takes gap locks.
    if matches!(read.kind, crate::access::AccessKind::Delete { .. }) {
        return match kind {
            EdgeKind::Item => true,
            EdgeKind::Phantom => {
                context
                    .semantics_of(reader)
                    .level(context.engine, reader.level)
                    .gap_locks
            }
        };
    }
    let Some(lock) = read.lock() else {
        return false;
    };
    if lock.strength == LockStrength::KeyShare {
        return false;
    }
    match kind {
        EdgeKind::Item => true,
        EdgeKind::Phantom => {
            lock.key_range
                || context
                    .semantics_of(reader)
                    .level(context.engine, reader.level)
                    .gap_locks
        }
    }
}

/// An order between two values that an edge needs: `(w, LESS, r)` when the row the writer
/// adds or writes with `column = w` is one the reader's `column < r` lets through.
type Order = (Atom, u8, Atom);

/// The orders `edge` needs (see [`Order`]): a bound of the read on a column whose value the
/// write's row has, the value an INSERT gives it or, for a write of a row the read saw, the
/// value its WHERE pins.
fn needed_orders(reader: Instance, writer: Instance, edge: &RwEdge) -> Vec<Order> {
    let (read, write) = (reader.access(edge.read), writer.access(edge.write));
    let row_values = match write.kind {
        AccessKind::Insert { .. } => true,
        AccessKind::Update { .. } | AccessKind::Delete { .. } => edge.kind == EdgeKind::Item,
        AccessKind::Read { .. } | AccessKind::Lock(_) => false,
    };
    if !row_values {
        return Vec::new();
    }
    let mut orders: Vec<Order> = read
        .rows
        .bounds
        .iter()
        .filter_map(|bound| {
            let value = write.rows.pins.get(&bound.column)?;
            Some((
                Atom::of(value, writer.tag),
                bound.outcomes,
                Atom::of(&bound.term, reader.tag),
            ))
        })
        .collect();
    // A row the read found by its value and the write chose by a bound.
    if edge.kind == EdgeKind::Item {
        orders.extend(write.rows.bounds.iter().filter_map(|bound| {
            let value = read.rows.pins.get(&bound.column)?;
            Some((
                Atom::of(value, reader.tag),
                bound.outcomes,
                Atom::of(&bound.term, writer.tag),
            ))
        }));
    }
    orders
}

/// Whether the orders the two edges need cannot all hold (`T2's timestamp < T1's` and `T1's <
/// T2's`: each side deletes the rows older than its own and misses the other's new one).
fn orders_exclude(pair: &Pair, forward: &RwEdge, backward: &RwEdge, unifier: &Unifier) -> bool {
    let mut orders = needed_orders(pair.first, pair.second, forward);
    orders.extend(needed_orders(pair.second, pair.first, backward));
    let same = |a: &Atom, b: &Atom| unifier.equal(a, b);
    orders
        .iter()
        .enumerate()
        .any(|(at, (left, outcomes, right))| {
            (same(left, right) && outcomes & Comparison::EQUAL == 0)
                || orders[at + 1..]
                    .iter()
                    .any(|(other_left, other, other_right)| {
                        (same(left, other_left)
                            && same(right, other_right)
                            && outcomes & other == 0)
                            || (same(left, other_right)
                                && same(right, other_left)
                                && outcomes & Comparison::flipped(*other) == 0)
                    })
        })
}

/// The finding for a 2-cycle: both read, both write, both commit.
pub fn cycle_finding(
    context: &Context,
    pair: &Pair,
    cycle: &Cycle,
    rule: crate::rule::Rule,
) -> super::finding::Finding {
    use super::finding::{Finding, StatementRef, Step, witness};
    use super::fixes;
    use crate::rule::Rule;

    let (t1, t2) = (pair.first, pair.second);
    let name = |index: usize| context.name_of(index).to_string();
    let same = pair.same_program();
    let other = if same {
        format!("another `{}`", name(t2.index))
    } else {
        format!("`{}`", name(t2.index))
    };
    let first_read = t1.access(cycle.forward.read);
    let second_read = t2.access(cycle.backward.read);
    let level = context.describe_levels(&[t1.program, t2.program]);
    let what = |edge: &RwEdge, read: &Access| {
        if edge.columns.is_empty() {
            format!("rows of `{}`", read.table)
        } else {
            format!("`{}.{}`", read.table, edge.columns.join("`, `"))
        }
    };
    let message = if rule == Rule::PhantomWriteSkew {
        format!(
            "phantom write skew: `{}` checks {} and then writes, and {other} does the same; each \
             misses the row the other adds, and both commit ({level})",
            name(t1.index),
            first_read.rows.describe(),
        )
    } else {
        if same {
            format!(
                "write skew: two instances of `{}` each read {} and then update rows the other \
                 read; both decide on stale data and both commit ({level})",
                name(t1.index),
                what(cycle.forward, first_read),
            )
        } else {
            format!(
                "write skew: `{}` reads {} that {other} writes, and {other} reads {} that `{}` \
                 writes; both decide on stale data and both commit ({level})",
                name(t1.index),
                what(cycle.forward, first_read),
                what(cycle.backward, second_read),
                name(t1.index),
            )
        }
    };
    let at = |instance: &super::conflict::Instance, statement: usize| StatementRef {
        program: instance.index,
        statement,
    };
    let steps = [
        (0, Step::Statement(cycle.forward.read.statement)),
        (1, Step::Statement(cycle.backward.read.statement)),
        (0, Step::Statement(cycle.backward.write.statement)),
        (1, Step::Statement(cycle.forward.write.statement)),
        (0, Step::Commit),
        (1, Step::Commit),
    ];
    let both = !same;
    let mut fixes = Vec::new();
    let weakest = t1.program.level.min(t2.program.level);
    if rule == Rule::PhantomWriteSkew {
        let written = t2.access(cycle.forward.write);
        fixes.push(fixes::constraint(&written.table));
        if context.semantics.level(context.engine, weakest).gap_locks {
            fixes.extend(fixes::lock_the_read(context, first_read, both));
        }
        fixes.extend(fixes::parent_lock(context, first_read));
    } else {
        fixes.extend(fixes::lock_the_read(context, first_read, true));
        fixes.extend(fixes::parent_lock(context, first_read));
    }
    fixes.extend(fixes::raise_level(context, rule, weakest));
    let mut programs = vec![t1.index];
    if !same {
        programs.push(t2.index);
    }
    let describe_write = |instance: &super::conflict::Instance, edge: &RwEdge| {
        let access = instance.access(edge.write);
        match &access.kind {
            crate::access::AccessKind::Insert { .. } => format!("inserts into `{}`", access.table),
            crate::access::AccessKind::Delete { .. } => format!("deletes from `{}`", access.table),
            _ => format!("updates `{}`", access.table),
        }
    };
    Finding {
        rule,
        message,
        programs,
        instances: vec![t1.index, t2.index],
        primary: at(&t1, cycle.forward.read.statement),
        related: vec![
            (
                at(&t1, cycle.backward.write.statement),
                format!("then {}", describe_write(&t1, cycle.backward)),
            ),
            (
                at(&t2, cycle.backward.read.statement),
                format!("{other} reads {}", what(cycle.backward, second_read)),
            ),
            (
                at(&t2, cycle.forward.write.statement),
                format!("{other} {}", describe_write(&t2, cycle.forward)),
            ),
        ],
        witness: witness(&steps),
        bindings: cycle.unifier.relabel(&[t1.tag, t2.tag]),
        fixes,
        partners: Vec::new(),
        severity: None,
        why: if rule == Rule::PhantomWriteSkew {
            format!(
                "{level} does not stop a row from appearing in a predicate another transaction already checked"
            )
        } else {
            format!("{level} lets two transactions commit when each changed what the other read")
        },
    }
}
