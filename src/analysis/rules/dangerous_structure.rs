//! `dangerous-structure` (Fekete et al. 2005): three distinct programs Tin ⇢ pivot ⇢ Tout
//! joined by two consecutive vulnerable rw edges, the pivot's outgoing read not locked, and a
//! chain of conflicts from Tout back to Tin. Snapshot isolation lets the cycle commit.

use crate::access::{Access, AccessKind};
use crate::analysis::Context;
use crate::analysis::conflict::EdgeKind;
use crate::analysis::finding::{Finding, StatementRef, Step, witness};
use crate::analysis::fixes;
use crate::analysis::graph::{DependencyGraph, VulnerableEdge};
use crate::analysis::unify::{Unifier, rows_meet};
use crate::rule::Rule;

/// One finding per pivot: the fix belongs to the pivot (or to the edges into and out of it),
/// and every Tin × Tout combination through a busy pivot would bury it. A structure whose Tin
/// writes comes first: it can store a state no serial order gives, where a Tin that only reads
/// can only show one, and is reported as a warning.
pub fn detect(context: &Context, graph: &DependencyGraph, findings: &mut Vec<Finding>) {
    let writes = |program: usize| context.programs[program].writes();
    for pivot in graph.pivots() {
        let found = structure(context, graph, pivot, writes)
            .or_else(|| structure(context, graph, pivot, |tin| !writes(tin)));
        if let Some((incoming, outgoing, weakest)) = found {
            let mut finding = finding(context, incoming, outgoing, weakest);
            if !writes(incoming.reader) {
                finding.severity = Some(crate::rule::Severity::Warning);
            }
            findings.push(finding);
        }
    }
}

/// The edges in and out of `pivot` and the weakest level of the first structure through it
/// whose Tin passes `tin_passes`.
fn structure<'g>(
    context: &Context,
    graph: &'g DependencyGraph<'_>,
    pivot: usize,
    tin_passes: impl Fn(usize) -> bool,
) -> Option<(
    &'g VulnerableEdge,
    &'g VulnerableEdge,
    Option<crate::semantics::Level>,
)> {
    graph
        .written_by(pivot)
        .filter(|incoming| tin_passes(incoming.reader))
        .find_map(|incoming| {
            graph
                .read_by(pivot)
                .filter(|edge| !edge.read_locked)
                .find_map(|outgoing| {
                    let (tin, tout) = (incoming.reader, outgoing.writer);
                    if tin == pivot
                        || tout == pivot
                        || tin == tout
                        || !context.programs[pivot]
                            .run_together(outgoing.read.statement, incoming.write.statement)
                    {
                        return None;
                    }
                    // The pivot's stale read must not be a report on a write its own
                    // statement already made.
                    let pivot_read = &context.programs[pivot].statements[outgoing.read.statement]
                        .accesses[outgoing.read.access];
                    if outgoing.read.statement == incoming.write.statement
                        && !pivot_read.feeds(outgoing.read.statement, incoming.write.statement)
                    {
                        return None;
                    }
                    // A DELETE by a whole key misses a new row of that key only when it found no
                    // row (then it wrote nothing an edge can come in through) or when the insert
                    // waited on the unique key for it to commit (then Tout cannot commit first).
                    // The insert waits too when the pivot had found and locked that row before.
                    let key = (outgoing.kind == EdgeKind::Phantom
                        && matches!(pivot_read.kind, AccessKind::Delete { .. }))
                    .then(|| {
                        pivot_read
                            .rows
                            .point_key(context.catalog.table(&pivot_read.table))
                    })
                    .flatten();
                    if let Some(key) = key
                        && (incoming.write == outgoing.read
                            || holds_row(
                                &context.programs[pivot],
                                outgoing.read.statement,
                                pivot_read,
                                &key.columns,
                            ))
                    {
                        return None;
                    }
                    if crate::analysis::conflict::upsert_outcomes_exclude(
                        &context.programs[pivot],
                        outgoing.read,
                        incoming.write,
                        incoming.kind,
                    ) {
                        return None;
                    }
                    let programs = [tin, pivot, tout].map(|index| &context.programs[index]);
                    let weakest = programs.iter().map(|program| program.level).min()?;
                    // Tin and Tout both conflict with the pivot, so a chain of conflicts always
                    // leads from one to the other; whether the cycle can close is `closes`.
                    (context.permits(&programs, Rule::DangerousStructure)
                        && closes(context, incoming, outgoing))
                    .then_some((incoming, outgoing, Some(weakest)))
                })
        })
}

/// Whether `program`, before statement `before`, found and locked the row of `delete`'s table
/// that `delete` names by `key` (`SELECT ... WHERE name = $1 FOR UPDATE` raising when missing,
/// then `DELETE ... WHERE name = $1`): the row exists until the program commits, so an insert
/// of that key waits for it.
fn holds_row(
    program: &crate::program::Program,
    before: usize,
    delete: &crate::access::Access,
    key: &[String],
) -> bool {
    program.statements[..before]
        .iter()
        .enumerate()
        .filter(|(at, _)| program.run_together(*at, before))
        .flat_map(|(_, statement)| &statement.accesses)
        .any(|lookup| {
            lookup.table == delete.table
                && matches!(
                    lookup.kind,
                    AccessKind::Read {
                        must_find: true,
                        lock: Some(_),
                        ..
                    }
                )
                && key
                    .iter()
                    .all(|column| lookup.rows.pins.get(column) == delete.rows.pins.get(column))
        })
}

fn finding(
    context: &Context,
    incoming: &VulnerableEdge,
    outgoing: &VulnerableEdge,
    weakest: Option<crate::semantics::Level>,
) -> Finding {
    let (tin, pivot, tout) = (incoming.reader, incoming.writer, outgoing.writer);
    let name = |index: usize| context.name_of(index).to_string();
    let programs = [tin, pivot, tout].map(|index| &context.programs[index]);
    let level = match weakest {
        Some(_) => context.describe_levels(&programs),
        None => String::new(),
    };
    let table = |program: usize, at: crate::analysis::conflict::AccessRef| {
        context.programs[program].statements[at.statement].accesses[at.access]
            .table
            .clone()
    };
    let message = format!(
        "dangerous structure with pivot `{}`: `{}` reads `{}` that `{}` writes, and `{}` reads \
         `{}` that `{}` writes; with `{}` committing first, the three can commit in an order no \
         serial execution gives ({level})",
        name(pivot),
        name(tin),
        table(tin, incoming.read),
        name(pivot),
        name(pivot),
        table(pivot, outgoing.read),
        name(tout),
        name(tout),
    );
    let at = |program: usize, statement: usize| StatementRef { program, statement };
    let mut steps = vec![
        (1, Step::Statement(outgoing.read.statement)),
        (2, Step::Statement(outgoing.write.statement)),
        (2, Step::Commit),
    ];
    // Tin runs after Tout committed: it sees Tout's writes (closing the cycle) and reads what
    // the pivot has not committed yet.
    steps.extend(
        tin_reads(context, tin, tout, incoming)
            .into_iter()
            .map(|s| (0, Step::Statement(s))),
    );
    steps.extend([
        (1, Step::Statement(incoming.write.statement)),
        (1, Step::Commit),
        (0, Step::Commit),
    ]);
    let pivot_read =
        &context.programs[pivot].statements[outgoing.read.statement].accesses[outgoing.read.access];
    let mut fixes = Vec::new();
    let stops = fixes::locking_stops(context, &context.programs[pivot], pivot_read, outgoing.kind);
    if let Some(lock) = stops
        .then(|| fixes::lock_the_read(context, pivot_read, false))
        .flatten()
    {
        fixes.push(crate::analysis::finding::Fix {
            title: format!("in the pivot `{}`: {}", name(pivot), lock.title),
            edit: lock.edit,
        });
    }
    fixes.extend(fixes::raise_level(
        context,
        Rule::DangerousStructure,
        weakest.unwrap_or(crate::semantics::Level::ReadCommitted),
    ));
    Finding {
        rule: Rule::DangerousStructure,
        message,
        programs: vec![tin, pivot, tout],
        instances: vec![tin, pivot, tout],
        primary: at(pivot, outgoing.read.statement),
        related: vec![
            (
                at(tout, outgoing.write.statement),
                format!(
                    "`{}` (Tout) writes what the pivot read, and commits first",
                    name(tout)
                ),
            ),
            (
                at(tin, incoming.read.statement),
                format!("`{}` (Tin) reads what the pivot then writes", name(tin)),
            ),
            (
                at(pivot, incoming.write.statement),
                format!("the pivot `{}` writes", name(pivot)),
            ),
        ],
        witness: witness(&steps),
        bindings: structure_bindings(incoming, outgoing),
        fixes,
        partners: Vec::new(),
        severity: None,
        why: format!(
            "{level} checks only write-write conflicts; two consecutive read-write conflicts \
             through one pivot go unnoticed"
        ),
    }
}

/// Whether the cycle closes in one execution: Tout writes rows that Tin then reads or writes
/// (Tin sees Tout's commit), under equalities that agree with both rw edges'. Edges that need
/// contradictory parameter values, or a Tout whose writes Tin never touches, make no cycle.
fn closes(context: &Context, incoming: &VulnerableEdge, outgoing: &VulnerableEdge) -> bool {
    let (tin, tout) = (incoming.reader, outgoing.writer);
    // Instances: Tin 0, the pivot 1, Tout 2.
    let Some(edges) = incoming
        .unifier
        .merge(&outgoing.unifier.relabel(&[2, 0, 1]))
    else {
        return false;
    };
    let accesses = |program: usize| {
        context.programs[program]
            .statements
            .iter()
            .flat_map(|statement| &statement.accesses)
    };
    accesses(tout)
        .filter(|write| write.is_write())
        .any(|write| {
            accesses(tin).any(|seen| {
                seen.table == write.table
                    && (seen.is_write() || sees_write(seen, write))
                    && rows_meet(&write.rows, 2, &seen.rows, 0)
                        .is_some_and(|closing| edges.merge(&closing).is_some())
            })
        })
}

/// Whether `read` looks at what `write` changes: a column it assigns, or rows it adds or
/// removes.
fn sees_write(read: &Access, write: &Access) -> bool {
    match (read.read_columns(), write.written_columns()) {
        (None, _) => false,
        (Some((value, predicate)), Some(columns))
            if !matches!(write.kind, AccessKind::Insert { .. }) =>
        {
            columns
                .iter()
                .any(|column| value.contains(column) || predicate.contains(*column))
        }
        _ => true,
    }
}

/// The equalities both edges need, with Tin, the pivot and Tout as instances 0, 1 and 2. The
/// incoming edge's alone when the two cannot hold at once.
fn structure_bindings(incoming: &VulnerableEdge, outgoing: &VulnerableEdge) -> Unifier {
    // The outgoing edge's reader (instance 0) is the pivot (1), its writer (1) Tout (2).
    let outgoing = outgoing.unifier.relabel(&[2, 0, 1]);
    incoming
        .unifier
        .merge(&outgoing)
        .unwrap_or_else(|| Unifier::clone(&incoming.unifier))
}

/// Tin's statements to show: its read on the incoming edge and its reads of tables Tout
/// writes, in program order.
fn tin_reads(context: &Context, tin: usize, tout: usize, incoming: &VulnerableEdge) -> Vec<usize> {
    let written_by_tout: Vec<&str> = context.programs[tout]
        .statements
        .iter()
        .flat_map(|statement| &statement.accesses)
        .filter(|access| access.is_write())
        .map(|access| access.table.as_str())
        .collect();
    let mut statements: Vec<usize> = context.programs[tin]
        .statements
        .iter()
        .enumerate()
        .filter(|(_, statement)| {
            statement
                .accesses
                .iter()
                .any(|access| access.is_read() && written_by_tout.contains(&access.table.as_str()))
        })
        .map(|(index, _)| index)
        .collect();
    statements.push(incoming.read.statement);
    statements.sort_unstable();
    statements.dedup();
    statements
}

#[cfg(test)]
mod tests {
    use crate::analysis::testing::findings;
    use crate::semantics::{Engine, Level};

    const SCHEMA: &str = "CREATE TABLE savings (custid int PRIMARY KEY, bal int);
        CREATE TABLE checking (custid int PRIMARY KEY, bal int);";

    const SMALLBANK: &str = "-- name: Balance
        BEGIN; SELECT bal FROM savings WHERE custid = $1; SELECT bal FROM checking WHERE custid = $1; COMMIT;
        -- name: WriteCheck
        BEGIN; SELECT bal FROM savings WHERE custid = $1; SELECT bal FROM checking WHERE custid = $1;
        UPDATE checking SET bal = bal - $2 WHERE custid = $1; COMMIT;
        -- name: TransactSavings
        BEGIN; UPDATE savings SET bal = bal + $2 WHERE custid = $1; COMMIT;";

    #[test]
    fn smallbank_has_one_pivot_under_snapshot_isolation() {
        let found = findings(
            Engine::Postgres,
            Some(Level::RepeatableRead),
            SCHEMA,
            SMALLBANK,
        );
        assert_eq!(
            found,
            ["dangerous-structure: Balance, WriteCheck, TransactSavings"]
        );
        let found = findings(Engine::Oracle, Some(Level::Serializable), SCHEMA, SMALLBANK);
        assert_eq!(
            found,
            ["dangerous-structure: Balance, WriteCheck, TransactSavings"]
        );
    }

    #[test]
    fn not_reported_at_serializable() {
        assert!(
            findings(
                Engine::Postgres,
                Some(Level::Serializable),
                SCHEMA,
                SMALLBANK
            )
            .is_empty()
        );
    }

    /// Read committed isolates less than snapshot isolation, so a cycle snapshot isolation lets
    /// commit commits there too, even when no two of its programs form a pair anomaly.
    #[test]
    fn reported_at_read_committed_where_no_pair_shows_the_cycle() {
        let schema = "CREATE TABLE t (id int PRIMARY KEY, c int UNIQUE);";
        let programs = "-- name: purge
            BEGIN; INSERT INTO t (id) VALUES ($1); DELETE FROM t WHERE c = $1; COMMIT;
            -- name: audit
            BEGIN; SELECT count(*) FROM t; INSERT INTO t (id) VALUES ($1); COMMIT;
            -- name: add
            BEGIN; INSERT INTO t (id, c) VALUES ($1, $2); COMMIT;";
        let found = findings(
            Engine::Postgres,
            Some(Level::ReadCommitted),
            schema,
            programs,
        );
        assert!(
            found.contains(&"dangerous-structure: audit, purge, add".to_string()),
            "{found:?}"
        );
    }

    /// A claim that locks what it takes (`FOR UPDATE SKIP LOCKED`) misses the jobs an insert
    /// adds meanwhile: no lock of its read holds an insert back on PostgreSQL, so none is
    /// offered. Where the pivot's read is plain and Tout updates what it read, one is.
    #[test]
    fn a_lock_is_offered_only_where_it_holds_tout_back() {
        let schema = "CREATE TABLE jobs (id int PRIMARY KEY, status text, lock_by text);";
        let programs = "-- name: listing
            SELECT * FROM jobs WHERE status = $1;
            -- name: claim
            WITH picked AS (SELECT id FROM jobs WHERE status = 'Pending' FOR UPDATE SKIP LOCKED)
            UPDATE jobs SET status = 'Queued', lock_by = $1 FROM picked WHERE jobs.id = picked.id;
            -- name: push
            INSERT INTO jobs (id, status) VALUES ($1, 'Pending');";
        let found = crate::analysis::testing::run(
            Engine::Postgres,
            Some(Level::ReadCommitted),
            schema,
            programs,
            &[],
        );
        let (_, fixes) = found
            .iter()
            .find(|(line, _)| line == "dangerous-structure: listing, claim, push")
            .unwrap_or_else(|| panic!("{found:?}"));
        assert!(
            !fixes.iter().any(|fix| fix.contains("FOR UPDATE")),
            "{fixes:?}"
        );
        let found = crate::analysis::testing::run(
            Engine::Postgres,
            Some(Level::RepeatableRead),
            SCHEMA,
            SMALLBANK,
            &[],
        );
        assert!(
            found[0]
                .1
                .iter()
                .any(|fix| fix.contains("add `FOR UPDATE`")),
            "{found:?}"
        );
    }

    #[test]
    fn locking_the_pivot_read_removes_it() {
        let locked = SMALLBANK.replace(
            "-- name: WriteCheck\n        BEGIN; SELECT bal FROM savings WHERE custid = $1;",
            "-- name: WriteCheck\n        BEGIN; SELECT bal FROM savings WHERE custid = $1 FOR UPDATE;",
        );
        assert!(locked.contains("FOR UPDATE"));
        let found = findings(
            Engine::Postgres,
            Some(Level::RepeatableRead),
            SCHEMA,
            &locked,
        );
        assert!(found.is_empty(), "{found:?}");
    }
}
