//! `read-skew` (G-single): T1 reads x, T2 writes x and y and commits, T1 reads y: T1 sees
//! half of T2. At MySQL/MariaDB repeatable read plain reads use one snapshot, so it happens
//! only when T1's later access is a write (which reads the latest rows).

use crate::access::{AccessKind, OnConflict};
use crate::analysis::conflict::{
    AccessRef, EdgeKind, Instance, RwEdge, guards_exclude, serialized_by_lock,
};
use crate::analysis::finding::{Finding, StatementRef, Step, witness};
use crate::analysis::fixes;
use crate::analysis::unify::{rows_meet, same_rows};
use crate::analysis::{Context, Pair};
use crate::rule::Rule;

pub fn detect(context: &Context, pair: &Pair, findings: &mut Vec<Finding>) {
    let flipped = pair.flipped();
    let views = if pair.same_program() {
        vec![pair]
    } else {
        vec![pair, &flipped]
    };
    for view in views {
        if let Some(finding) = detect_one(context, view) {
            findings.push(finding);
        }
    }
}

fn detect_one(context: &Context, view: &Pair) -> Option<Finding> {
    let (t1, t2) = (view.first, view.second);
    if !context.permits(&[t1.program], Rule::ReadSkew) {
        return None;
    }
    let needs_write = context
        .semantics_of(t1.program)
        .level(context.engine, t1.program.level)
        .read_skew_needs_write;
    // An UPDATE or DELETE reads the latest committed rows at every level; plain reads do
    // only where the level has no transaction-wide snapshot.
    let mut later_edges = write_edges(t1, t2);
    // An upsert's key check waits for T2's insert of the key and then finds T2's row; built
    // once a first read qualifies.
    let found_by_upsert = std::cell::OnceCell::new();
    if !needs_write {
        later_edges.extend(view.forward.iter().cloned());
    }
    // Item and phantom edges alike: a sum that misses an inserted row skews as much as a
    // value read before an update.
    for first in view
        .forward
        .iter()
        .filter(|edge| matches!(edge.kind, EdgeKind::Item | EdgeKind::Phantom))
    {
        let x = t1.access(first.read);
        // A lock on the first read keeps its rows until commit, or until its step commits
        // (`atomic = false`).
        let x_locked_at = |second: usize| {
            x.lock().is_some() && t1.program.lock_holds(first.read.statement, second)
        };
        if x_locked_at(usize::MAX) || !x.is_read() || ensures_existence(context, t1, first.read) {
            continue;
        }
        let upserts: &Vec<RwEdge> = found_by_upsert.get_or_init(|| arbiter_edges(t1, t2));
        for second in later_edges.iter().chain(upserts).filter(|edge| {
            matches!(edge.kind, EdgeKind::Item | EdgeKind::Phantom)
                && edge.read.statement > first.read.statement
        }) {
            let y = t1.access(second.read);
            let upsert_found = upserts
                .iter()
                .any(|edge| edge.read == second.read && edge.write == second.write);
            // Both reads in one call of the reader, both writes in one call of the writer.
            if !t1
                .program
                .run_together(first.read.statement, second.read.statement)
                || !t2
                    .program
                    .run_together(first.write.statement, second.write.statement)
                || y.lock().is_some()
                || x_locked_at(second.read.statement)
                // What an upsert finds decides nothing later, but that it found T2's new row
                // says T1 runs after T2, whose row its first read missed: even when the first
                // read looked for the same key (a count that found none).
                || (ensures_existence(context, t1, second.read) && !upsert_found)
                || (x.table == y.table
                    && !upsert_found
                    && same_rows(&x.rows, &y.rows, context.catalog.table(&x.table)))
            {
                continue;
            }
            let Some(unifier) = first.unifier.merge(&second.unifier) else {
                continue;
            };
            let ran = [
                [first.read.statement, second.read.statement],
                [first.write.statement, second.write.statement],
            ];
            if guards_exclude(t1, t2, [&ran[0], &ran[1]], &unifier)
                || finds_nothing_and_raises(t1, t2, second, &unifier)
            {
                continue;
            }
            let t2_from = first.write.statement.min(second.write.statement);
            if serialized_by_lock((t1, first.read.statement), (t2, t2_from), &unifier, context) {
                continue;
            }
            return Some(finding(context, t1, t2, first, second, upsert_found));
        }
    }
    None
}

/// T1's second read raises unless it finds a row (`SELECT ... INTO ...; IF NOT FOUND THEN
/// RAISE`), and T2 deleted every row it could find and adds none back: after T2 commits, the
/// read finds nothing and T1 never commits. (`register_consumer_at` looks up the queue, then
/// its latest tick, raising without one; `drop_queue` deletes the queue's ticks.)
fn finds_nothing_and_raises(
    t1: Instance,
    t2: Instance,
    second: &RwEdge,
    unifier: &crate::analysis::unify::Unifier,
) -> bool {
    use crate::analysis::unify::Atom;
    let (read, write) = (t1.access(second.read), t2.access(second.write));
    let covered = second.kind == EdgeKind::Item
        && t1.program.statements[second.read.statement].raises_unless_found
        && matches!(write.kind, AccessKind::Delete { .. })
        // The deleted rows hold every row the read can find: each column the DELETE pins, the
        // read pins to the same value, and the DELETE tests nothing else.
        && write.rows.pins.iter().all(|(column, term)| {
            read.rows.pins.get(column).is_some_and(|found| {
                unifier.equal(&Atom::of(found, t1.tag), &Atom::of(term, t2.tag))
            })
        })
        && write.rows.domains.iter().all(|(column, domain)| {
            write.rows.pins.contains_key(column)
                && matches!(domain, crate::access::Domain::NotIn(values)
                    if values.len() == 1 && values.contains(crate::access::Domain::NULL))
        });
    let adds_rows = || {
        t2.accesses().any(|(_, access)| {
            access.table == read.table
                && matches!(
                    access.kind,
                    AccessKind::Insert { .. } | AccessKind::Update { .. }
                )
        })
    };
    covered && !adds_rows()
}

/// Whether the read at `at` is an insert-if-missing's check of the key its own statement
/// inserts (`INSERT INTO t (k) SELECT $1 WHERE NOT EXISTS (SELECT 1 FROM t WHERE k = $1) ON
/// CONFLICT DO NOTHING`, or a plain INSERT whose key is unique): whichever way it decides, the
/// row exists afterwards (or the statement fails), and it returns nothing but that key, so no
/// later read can contradict what it saw.
fn ensures_existence(context: &Context, t1: Instance, at: AccessRef) -> bool {
    let read = t1.access(at);
    let Some((value, _)) = read.read_columns() else {
        return false;
    };
    // It may return the key it checks (an `ON CONFLICT` arbiter does), nothing else.
    let key_only = match value {
        crate::access::Columns::All => false,
        crate::access::Columns::Some(columns) => columns
            .iter()
            .all(|column| read.rows.pins.contains_key(column)),
    };
    // No filter beyond the key: a pinned column's domain is at most "not NULL", which its
    // equality already says.
    let filters = read.rows.domains.iter().any(|(column, domain)| {
        !read.rows.pins.contains_key(column)
            || !matches!(domain, crate::access::Domain::NotIn(values)
                if values.len() == 1 && values.contains(crate::access::Domain::NULL))
    });
    if !key_only || read.rows.pins.is_empty() || filters {
        return false;
    }
    let table = context.catalog.table(&read.table);
    t1.program.statements[at.statement]
        .accesses
        .iter()
        .any(|insert| {
            let AccessKind::Insert { on_conflict, .. } = &insert.kind else {
                return false;
            };
            insert.table == read.table
                && read
                    .rows
                    .pins
                    .iter()
                    .all(|(column, term)| insert.rows.pins.get(column) == Some(term))
                && match on_conflict {
                    OnConflict::DoNothing => true,
                    OnConflict::Error => read.rows.point_key(table).is_some(),
                    OnConflict::Update(_) => false,
                }
        })
}

/// Edges from T1's upsert key checks (`ON CONFLICT`) to T2's inserts of the same key: the
/// upsert waits for T2 and, once T2 commits, takes its `ON CONFLICT` branch on T2's row.
fn arbiter_edges(t1: Instance, t2: Instance) -> Vec<RwEdge> {
    let mut edges = Vec::new();
    for (read_at, check) in t1.accesses() {
        if !matches!(
            check.kind,
            AccessKind::Read {
                arbiter: Some(_),
                ..
            }
        ) {
            continue;
        }
        for (write_at, insert) in t2.accesses() {
            if insert.table != check.table || !matches!(insert.kind, AccessKind::Insert { .. }) {
                continue;
            }
            if let Some(unifier) = rows_meet(&check.rows, t1.tag, &insert.rows, t2.tag) {
                edges.push(RwEdge {
                    read: read_at,
                    write: write_at,
                    kind: EdgeKind::Item,
                    columns: Vec::new(),
                    unifier,
                });
            }
        }
    }
    edges
}

/// Edges from T1's UPDATE/DELETE statements, whose WHERE reads the latest committed rows, to
/// T2's updates of the columns that WHERE compares.
fn write_edges(t1: Instance, t2: Instance) -> Vec<RwEdge> {
    let mut edges = Vec::new();
    for (read_at, access) in t1.accesses() {
        let compared = match &access.kind {
            AccessKind::Update { predicate, .. } | AccessKind::Delete { predicate } => predicate,
            _ => continue,
        };
        for (write_at, write) in t2.accesses() {
            if write.table != access.table {
                continue;
            }
            let Some(set) = write.assignments() else {
                continue;
            };
            let columns: Vec<String> = set
                .keys()
                .filter(|column| compared.contains(*column))
                .cloned()
                .collect();
            if columns.is_empty() {
                continue;
            }
            if let Some(unifier) = rows_meet(&access.rows, t1.tag, &write.rows, t2.tag) {
                edges.push(RwEdge {
                    read: read_at,
                    write: write_at,
                    kind: EdgeKind::Item,
                    columns,
                    unifier,
                });
            }
        }
    }
    edges
}

fn finding(
    context: &Context,
    t1: Instance,
    t2: Instance,
    first: &RwEdge,
    second: &RwEdge,
    upsert_found: bool,
) -> Finding {
    let name = |index: usize| context.name_of(index).to_string();
    let same = t1.index == t2.index;
    let other = if same {
        format!("another `{}`", name(t2.index))
    } else {
        format!("`{}`", name(t2.index))
    };
    let level = context.describe_level_of(t1.program);
    let x = t1.access(first.read);
    let y = t1.access(second.read);
    let message = if upsert_found {
        format!(
            "read skew: `{}` reads `{}`, missing the row {other} inserts, and then its `ON \
             CONFLICT` waits for that row and finds it: `{}` goes on from a read that its own \
             upsert contradicts, a state no serial order gives ({level})",
            name(t1.index),
            x.table,
            name(t1.index),
        )
    } else {
        format!(
            "read skew: `{}` reads `{}` and later `{}` in separate statements; {other} can \
             change both in between and commit, so `{}` sees part of its change and not the rest \
             ({level})",
            name(t1.index),
            x.table,
            y.table,
            name(t1.index),
        )
    };
    let mut steps = vec![
        (0, Step::Statement(first.read.statement)),
        (1, Step::Statement(first.write.statement)),
    ];
    if second.write.statement != first.write.statement {
        steps.push((1, Step::Statement(second.write.statement)));
    }
    steps.extend([
        (1, Step::Commit),
        (0, Step::Statement(second.read.statement)),
        (0, Step::Commit),
    ]);
    let at = |instance: Instance, at: AccessRef| StatementRef {
        program: instance.index,
        statement: at.statement,
    };
    let mut fixes = Vec::new();
    if upsert_found {
        // A lock of rows that are not there yet holds nothing back.
        fixes.push(crate::analysis::finding::Fix {
            title: "decide on what the upsert did, not on the earlier read: `RETURNING` the \
                    row it inserted (none when the key was taken) and write only then"
                .to_string(),
            edit: None,
        });
    } else {
        fixes.push(crate::analysis::finding::Fix {
            title: "read both in one statement (a join or subquery sees one consistent state)"
                .to_string(),
            edit: None,
        });
        if fixes::locking_stops(context, t1.program, x, first.kind) {
            fixes.extend(fixes::lock_the_read(context, x, false));
        }
    }
    fixes.extend(fixes::raise_level_of(context, t1.program, Rule::ReadSkew));
    let mut programs = vec![t1.index];
    if !same {
        programs.push(t2.index);
    }
    let mut related = vec![(
        at(t1, second.read),
        if upsert_found {
            format!("its `ON CONFLICT` finds the row {other} inserted")
        } else {
            format!("reads `{}` after {other} committed", y.table)
        },
    )];
    related.push((at(t2, first.write), format!("{other} writes `{}`", x.table)));
    if second.write.statement != first.write.statement {
        related.push((
            at(t2, second.write),
            format!("{other} writes `{}`", y.table),
        ));
    }
    Finding {
        rule: Rule::ReadSkew,
        message,
        programs,
        instances: vec![t1.index, t2.index],
        primary: at(t1, first.read),
        related,
        witness: witness(&steps),
        bindings: first
            .unifier
            .merge(&second.unifier)
            .unwrap_or_default()
            .relabel(&[t1.tag, t2.tag]),
        fixes,
        partners: Vec::new(),
        severity: None,
        why: format!("{level} gives each statement its own view of committed data"),
    }
}

#[cfg(test)]
mod tests {
    use crate::analysis::testing::findings;
    use crate::semantics::{Engine, Level};

    const SCHEMA: &str = "CREATE TABLE checking (id int PRIMARY KEY, balance int, status text);
        CREATE TABLE savings (id int PRIMARY KEY, balance int);";

    const TRANSFER: &str = "-- name: transfer
        BEGIN;
        UPDATE checking SET balance = balance - $2 WHERE id = $1;
        UPDATE savings SET balance = balance + $2 WHERE id = $1;
        COMMIT;";

    fn with_transfer(engine: Engine, level: Option<Level>, reader: &str) -> Vec<String> {
        let transactions = format!("{reader}\n{TRANSFER}");
        let transactions = if engine.is_mysql_family() {
            transactions.replace("$1", "?").replace("$2", "?")
        } else {
            transactions
        };
        findings(engine, level, SCHEMA, &transactions)
    }

    const REPORT: &str = "-- name: report
        BEGIN;
        SELECT balance FROM checking WHERE id = $1;
        SELECT balance FROM savings WHERE id = $1;
        COMMIT;";

    #[test]
    fn two_reads_around_a_transfer_at_read_committed() {
        assert_eq!(
            with_transfer(Engine::Postgres, None, REPORT),
            ["read-skew: report, transfer"]
        );
        assert!(with_transfer(Engine::Postgres, Some(Level::RepeatableRead), REPORT).is_empty());
    }

    #[test]
    fn mysql_repeatable_read_needs_a_later_write() {
        assert!(with_transfer(Engine::Mysql, None, REPORT).is_empty());
        let closes = "-- name: close
            BEGIN;
            SELECT balance FROM savings WHERE id = $1;
            UPDATE checking SET status = 'closed' WHERE id = $1 AND balance = 0;
            COMMIT;";
        assert_eq!(
            with_transfer(Engine::Mysql, None, closes),
            ["read-skew: close, transfer"]
        );
        // MariaDB with innodb_snapshot_isolation rejects the stale write instead.
        assert!(with_transfer(Engine::Mariadb, None, closes).is_empty());
    }

    #[test]
    fn one_statement_sees_one_state() {
        let joined = "BEGIN;
            SELECT c.balance, s.balance FROM checking c JOIN savings s ON s.id = c.id WHERE c.id = $1;
            COMMIT;";
        assert!(with_transfer(Engine::Postgres, None, joined).is_empty());
    }

    /// An insert-if-missing's check of its own key leaves the row there whichever way it
    /// decides, so what a later statement reads cannot contradict it; a plain read of the same
    /// row can be.
    #[test]
    fn an_insert_if_missing_check_shows_nothing_to_skew() {
        let schema = "CREATE TABLE tasks (name text PRIMARY KEY);
            CREATE TABLE jobs (id int PRIMARY KEY, task text, runs int);";
        let add = "-- name: add_job
            BEGIN;
            INSERT INTO tasks (name) SELECT $1 WHERE NOT EXISTS (SELECT 1 FROM tasks WHERE name = $1)
                ON CONFLICT DO NOTHING;
            SELECT runs FROM jobs WHERE id = $2;
            COMMIT;
            -- name: rename
            BEGIN;
            DELETE FROM tasks WHERE name = $1;
            UPDATE jobs SET runs = 0 WHERE id = $2;
            COMMIT;";
        assert!(
            !findings(Engine::Postgres, None, schema, add)
                .iter()
                .any(|finding| finding.starts_with("read-skew")),
            "{:?}",
            findings(Engine::Postgres, None, schema, add)
        );
        let plain = add.replace(
            "INSERT INTO tasks (name) SELECT $1 WHERE NOT EXISTS (SELECT 1 FROM tasks WHERE name = $1)
                ON CONFLICT DO NOTHING;",
            "SELECT 1 FROM tasks WHERE name = $1;",
        );
        assert_ne!(plain, add);
        assert!(
            findings(Engine::Postgres, None, schema, &plain)
                .contains(&"read-skew: add_job, rename".to_string()),
            "{:?}",
            findings(Engine::Postgres, None, schema, &plain)
        );
    }
}
