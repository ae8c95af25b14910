//! `lost-update` (P4): T1 reads column c of some rows without a lock, later writes c of those
//! rows; T2 writes c of the same rows in between, and T1's write overwrites it.

use crate::access::{Access, AccessKind, SetValue};
use crate::analysis::conflict::{
    AccessRef, Instance, guards_exclude, serialized_by_lock, value_guard_excludes,
};
use crate::analysis::finding::{Finding, StatementRef, Step, witness};
use crate::analysis::fixes;
use crate::analysis::unify::{Unifier, domains_overlap, rows_meet, same_rows};
use crate::analysis::{Context, Pair};
use crate::parse::LockStrength;
use crate::rule::Rule;

pub fn detect(context: &Context, pair: &Pair, findings: &mut Vec<Finding>) {
    let flipped = pair.flipped();
    let views = if pair.same_program() {
        vec![pair]
    } else {
        vec![pair, &flipped]
    };
    for view in views {
        if let Some(finding) = detect_one(context, view.first, view.second) {
            findings.push(finding);
        }
    }
}

/// `t1` reads then writes; `t2` writes in between.
fn detect_one(context: &Context, t1: Instance, t2: Instance) -> Option<Finding> {
    if !context.permits(&[t1.program], Rule::LostUpdate) {
        return None;
    }
    // Only a partner's UPDATE (or upsert) can assign the column in between: a read of a
    // table it assigns nothing in cannot lose an update to it.
    let assigned: Vec<&str> = t2
        .accesses()
        .filter(|(_, access)| access.assignments().is_some())
        .map(|(_, access)| access.table.as_str())
        .collect();
    for (read_at, read) in t1.accesses() {
        // A lock held until commit protects every later write; one that a step commits before
        // then (`atomic = false`) only the writes of its step.
        let locked_until = |write_at: usize| {
            (blocks_writers(read) && t1.program.lock_holds(read_at.statement, write_at))
                || covered_by_earlier_lock(t1, read_at, read, write_at)
        };
        let steps_commit = !t1.program.step_ends.is_empty();
        if !assigned.contains(&read.table.as_str()) || locked_until(usize::MAX) {
            continue;
        }
        let Some((value, predicate)) = read.read_columns() else {
            continue;
        };
        for (write_at, write) in t1.accesses() {
            if write_at.statement < read_at.statement
                || write.table != read.table
                || (steps_commit && locked_until(write_at.statement))
                || !t1
                    .program
                    .run_together(read_at.statement, write_at.statement)
            {
                continue;
            }
            let columns: Vec<&String> = if write_at.statement == read_at.statement {
                if locked_in_statement(context, t1, write_at, write) {
                    continue;
                }
                decided_in_statement(read_at, read, write_at, write)
            } else {
                let Some(set) = write.overwrites() else {
                    continue;
                };
                // The write must be able to touch rows the read saw: `WHERE lock_by = $1` and
                // `WHERE lock_by IS NULL` never name one row.
                if !same_rows(&read.rows, &write.rows, context.catalog.table(&read.table))
                    || !domains_overlap(&read.rows, &write.rows)
                {
                    continue;
                }
                set.keys()
                    .filter(|column| value.contains(column) || predicate.contains(*column))
                    .take(1)
                    .collect()
            };
            let claims = claims(read, (read_at, write_at), write);
            for (other_at, other) in t2.accesses() {
                if other.table != write.table || (!claims && same_constants(write, other)) {
                    continue;
                }
                let Some(column) = columns.iter().copied().find(|column| {
                    other.assignments().is_some_and(|c| c.contains_key(*column))
                        && changes_rows_read(read, other, column)
                }) else {
                    continue;
                };
                let Some(unifier) = rows_meet(&write.rows, t1.tag, &other.rows, t2.tag) else {
                    continue;
                };
                let ran = [read_at.statement, write_at.statement];
                if guards_exclude(t1, t2, [&ran, &[other_at.statement]], &unifier)
                    || value_guard_excludes(t1, (read_at, read), write_at.statement, other)
                {
                    continue;
                }
                // Within one statement the write's own row lock comes after the subquery's
                // snapshot: only locks of earlier statements serialise the decision.
                let locked = if write_at.statement == read_at.statement {
                    read_at.statement.checked_sub(1).is_some_and(|before| {
                        serialized_by_lock(
                            (t1, before),
                            (t2, other_at.statement),
                            &unifier,
                            context,
                        )
                    })
                } else {
                    serialized_by_lock(
                        (t1, read_at.statement),
                        (t2, other_at.statement),
                        &unifier,
                        context,
                    )
                };
                if locked {
                    continue;
                }
                return Some(finding(
                    context,
                    t1,
                    t2,
                    (read_at, read),
                    (write_at, write),
                    other_at,
                    column,
                    write.assignments().and_then(|set| set.get(column)),
                    &unifier,
                ));
            }
        }
    }
    None
}

/// A read inside the writing statement (a subquery or CTE of the same table, not the write's
/// own WHERE) that decides which rows it updates or deletes, or what it writes: a waiting write
/// re-checks only its own WHERE on the newest row version (PostgreSQL's EvalPlanQual), never the
/// subquery, which keeps the statement's snapshot. The columns the decision rests on, when the
/// write's own WHERE does not compare them again: assigned columns computed from the stale read
/// first, then the columns the choice of rows rests on (those compared with values first).
fn decided_in_statement<'a>(
    read_at: AccessRef,
    read: &'a Access,
    write_at: AccessRef,
    write: &'a Access,
) -> Vec<&'a String> {
    if !read.feeds(read_at.statement, write_at.statement) {
        return vec![];
    }
    let Some((value, predicate)) = read.read_columns() else {
        return vec![];
    };
    let rechecked = match &write.kind {
        AccessKind::Update { predicate, .. } | AccessKind::Delete { predicate } => predicate,
        _ => return vec![],
    };
    // Only a value computed from the read can carry its stale value into the row: a literal, a
    // parameter, the clock or the row's own current value (`c = c + 1`, re-read on the newest
    // version) cannot.
    let assigned = write
        .assignments()
        .into_iter()
        .flat_map(|set| set.iter())
        .filter(|(column, assigned)| {
            **assigned == SetValue::Expr && value.contains(column) && !rechecked.contains(*column)
        })
        .map(|(column, _)| column);
    let mut chosen: Vec<&String> = predicate
        .iter()
        .filter(|column| !rechecked.contains(*column) && !write.rows.pins.contains_key(*column))
        .collect();
    chosen.sort_by_key(|column| !read.rows.domains.contains_key(*column));
    assigned.chain(chosen).collect()
}

/// The rows `write` writes are locked in its own statement by a read of exactly those rows
/// that blocks writers (`WITH c AS (SELECT ... FOR UPDATE SKIP LOCKED) UPDATE t ... FROM c
/// WHERE t.id = c.id`): a partner's write of them either waits for the lock, or is waited for
/// and then the locking read re-checks its own conditions on the newest version of the row
/// (EvalPlanQual). A subquery that decided on other rows is stale still, but the partner's
/// change of a written row is not lost.
fn locked_in_statement(
    context: &Context,
    t1: Instance,
    write_at: AccessRef,
    write: &Access,
) -> bool {
    t1.accesses().any(|(at, read)| {
        at.statement == write_at.statement
            && read.is_read()
            && read.table == write.table
            && blocks_writers(read)
            && same_rows(&read.rows, &write.rows, context.catalog.table(&read.table))
    })
}

/// Both writes assign the same literals (and the time of the write) to the same columns:
/// whichever commits last, the row ends the same up to a timestamp, so nothing is lost (two
/// clicks on "take me off call").
fn same_constants(write: &Access, other: &Access) -> bool {
    match (write.assignments(), other.assignments()) {
        (Some(a), Some(b)) => {
            a == b
                && a.values().all(|value| {
                    matches!(
                        value,
                        SetValue::Term(crate::access::Term::Literal(_)) | SetValue::Clock
                    )
                })
        }
        _ => false,
    }
}

/// A read that picks some of the matching rows (`LIMIT`) whose contents then reach the caller
/// (a separate SELECT, or the write's `RETURNING`): a claim. Two claims of one row are a double
/// claim even when both write the same values, since each caller goes on to act on the row.
/// So is a read of the time the write then stamps (`SELECT locked_at ...; SET locked_at =
/// now()`): a lease taken on what the read saw.
fn claims(read: &Access, (read_at, write_at): (AccessRef, AccessRef), write: &Access) -> bool {
    let reads = |column: &String| {
        read.read_columns()
            .is_some_and(|(value, predicate)| value.contains(column) || predicate.contains(column))
    };
    let stamps_what_it_read = write.assignments().is_some_and(|set| {
        set.iter()
            .any(|(column, value)| *value == SetValue::Clock && reads(column))
    });
    if stamps_what_it_read {
        return true;
    }
    let picks = matches!(read.kind, AccessKind::Read { limited: true, .. });
    let returned = read_at.statement != write_at.statement
        || matches!(
            write.kind,
            AccessKind::Update {
                returns_contents: true,
                ..
            }
        );
    picks && returned
}

/// Whether `other`'s assignment of `column` can change it on rows `read` saw: not when it
/// changes the column only on values the read's rows never hold (a `CASE` that moves `state`
/// between `available` and `scheduled` and keeps it otherwise, against a read of `completed`
/// jobs).
fn changes_rows_read(read: &Access, other: &Access, column: &str) -> bool {
    let AccessKind::Update { changes_only, .. } = &other.kind else {
        return true;
    };
    match (changes_only.get(column), read.rows.domain(column)) {
        (Some(changed), Some(held)) => changed.intersects(&held),
        _ => true,
    }
}

/// A row lock that makes an UPDATE of the row wait. PostgreSQL's `FOR KEY SHARE` conflicts
/// only with `FOR UPDATE`: a plain UPDATE of a non-key column goes through.
fn blocks_writers(read: &Access) -> bool {
    read.lock()
        .is_some_and(|lock| lock.strength != LockStrength::KeyShare)
}

/// An earlier locked read of the same rows keeps them locked until commit, or until its step
/// commits (`atomic = false`): still locked when statement `until` runs.
fn covered_by_earlier_lock(t1: Instance, read_at: AccessRef, read: &Access, until: usize) -> bool {
    t1.accesses().any(|(at, earlier)| {
        at.statement < read_at.statement
            && t1.program.lock_holds(at.statement, until)
            && earlier.table == read.table
            && blocks_writers(earlier)
            && earlier
                .rows
                .pins
                .iter()
                .all(|(column, term)| read.rows.pins.get(column) == Some(term))
    })
}

#[allow(clippy::too_many_arguments)] // Reason: the finding names every statement involved.
fn finding(
    context: &Context,
    t1: Instance,
    t2: Instance,
    (read_at, read): (AccessRef, &Access),
    (write_at, write): (AccessRef, &Access),
    other_at: AccessRef,
    column: &str,
    assigned: Option<&SetValue>,
    unifier: &Unifier,
) -> Finding {
    let name = |instance: Instance| context.name_of(instance.index).to_string();
    let same = t1.index == t2.index;
    let other = other_name(context, t1, t2);
    let level = context.describe_level_of(t1.program);
    let in_statement = read_at.statement == write_at.statement;
    let message = if in_statement {
        format!(
            "lost update: `{}` decides on `{}.{column}` in a subquery and writes the rows it chose in the same statement; a write that waits re-checks only its own WHERE, not the subquery, so {other} can change `{column}` in between and that change is lost ({level})",
            name(t1),
            read.table
        )
    } else {
        format!(
            "lost update: `{}` reads `{}.{column}` and later writes it back; {other} can update the same row in between and that update is lost ({level})",
            name(t1),
            read.table
        )
    };
    if in_statement {
        // T2's write holds the row; T1's statement takes its snapshot, waits, and goes on
        // with the subquery's stale choice once T2 commits.
        let steps = [
            (1, Step::Statement(other_at.statement)),
            (0, Step::Statement(write_at.statement)),
            (1, Step::Commit),
            (0, Step::Commit),
        ];
        return in_statement_finding(
            context,
            (t1, t2),
            (read, write, write_at),
            other_at,
            column,
            message,
            witness(&steps),
            unifier,
        );
    }
    let mut steps = vec![(0, Step::Statement(read_at.statement))];
    // When T2 reads the same column first (two instances of one program), show it reading too.
    if let Some((t2_read, _)) = t2.accesses().find(|(at, access)| {
        at.statement < other_at.statement && access.table == read.table && access.is_read()
    }) {
        steps.push((1, Step::Statement(t2_read.statement)));
    }
    steps.extend([
        (1, Step::Statement(other_at.statement)),
        (1, Step::Commit),
        (0, Step::Statement(write_at.statement)),
        (0, Step::Commit),
    ]);
    let mut fixes = Vec::new();
    if matches!(
        assigned,
        Some(SetValue::Expr | SetValue::Term(crate::access::Term::Param(_)))
    ) {
        fixes.push(fixes::atomic_update(column, &write.table));
    }
    fixes.extend(fixes::lock_the_read(context, read, false));
    fixes.push(fixes::compare_and_set(column));
    fixes.extend(fixes::raise_level_of(context, t1.program, Rule::LostUpdate));
    let programs = if same {
        vec![t1.index]
    } else {
        vec![t1.index, t2.index]
    };
    Finding {
        rule: Rule::LostUpdate,
        message,
        programs,
        instances: vec![t1.index, t2.index],
        primary: StatementRef {
            program: t1.index,
            statement: read_at.statement,
        },
        related: vec![
            (
                StatementRef {
                    program: t1.index,
                    statement: write_at.statement,
                },
                format!("writes `{column}` from the value read earlier"),
            ),
            (
                StatementRef {
                    program: t2.index,
                    statement: other_at.statement,
                },
                format!("{other} writes `{column}` of the same row"),
            ),
        ],
        witness: witness(&steps),
        bindings: unifier.relabel(&[t1.tag, t2.tag]),
        fixes,
        partners: Vec::new(),
        severity: None,
        why: format!("{level} lets a transaction write a row that changed after it read it"),
    }
}

/// How messages name T2: `another `withdraw`` for a second instance of T1's program.
fn other_name(context: &Context, t1: Instance, t2: Instance) -> String {
    let name = context.name_of(t2.index);
    if t1.index == t2.index {
        format!("another `{name}`")
    } else {
        format!("`{name}`")
    }
}

#[allow(clippy::too_many_arguments)] // Reason: the finding names every statement involved.
fn in_statement_finding(
    context: &Context,
    (t1, t2): (Instance, Instance),
    (read, write, write_at): (&Access, &Access, AccessRef),
    other_at: AccessRef,
    column: &str,
    message: String,
    witness: Vec<crate::analysis::finding::WitnessStep>,
    unifier: &Unifier,
) -> Finding {
    let same = t1.index == t2.index;
    let other = other_name(context, t1, t2);
    let level = context.describe_level_of(t1.program);
    let mut fixes = Vec::new();
    fixes.push(crate::analysis::finding::Fix {
        title: format!(
            "repeat the condition on `{column}` in the {} statement's own WHERE (it is re-checked on the newest row version), or lock the subquery's rows with `FOR UPDATE` (`SKIP LOCKED` for a queue)",
            if matches!(write.kind, AccessKind::Delete { .. }) {
                "DELETE"
            } else {
                "UPDATE"
            }
        ),
        edit: None,
    });
    fixes.extend(fixes::lock_the_read(context, read, false));
    fixes.extend(fixes::raise_level_of(context, t1.program, Rule::LostUpdate));
    let programs = if same {
        vec![t1.index]
    } else {
        vec![t1.index, t2.index]
    };
    Finding {
        rule: Rule::LostUpdate,
        message,
        programs,
        instances: vec![t1.index, t2.index],
        primary: StatementRef {
            program: t1.index,
            statement: write_at.statement,
        },
        related: vec![(
            StatementRef {
                program: t2.index,
                statement: other_at.statement,
            },
            format!("{other} writes `{column}` of the same row"),
        )],
        witness,
        bindings: unifier.relabel(&[t1.tag, t2.tag]),
        fixes,
        partners: Vec::new(),
        severity: None,
        why: format!(
            "{level} re-checks a waiting write's own WHERE on the newest row version, but not a subquery or CTE, which keeps the statement's snapshot"
        ),
    }
}

#[cfg(test)]
mod tests {
    use crate::analysis::testing::{findings, findings_with, run};
    use crate::semantics::{Engine, Level, SettingValue};

    fn text(word: &str) -> SettingValue {
        SettingValue::Text(word.to_string())
    }

    const SCHEMA: &str = "CREATE TABLE accounts (id int PRIMARY KEY, balance int, version int);";

    /// MySQL-family engines get `?` placeholders, as their drivers send.
    fn check(engine: Engine, level: Option<Level>, transactions: &str, expected: &[&str]) {
        let transactions = if engine.is_mysql_family() {
            transactions
                .replace("$1", "?")
                .replace("$2", "?")
                .replace("$3", "?")
        } else {
            transactions.to_string()
        };
        assert_eq!(
            findings(engine, level, SCHEMA, &transactions),
            expected,
            "{transactions}"
        );
    }

    const READ_MODIFY_WRITE: &str = "-- name: withdraw
        BEGIN;
        SELECT balance FROM accounts WHERE id = $1;
        UPDATE accounts SET balance = $2 WHERE id = $1;
        COMMIT;";

    #[test]
    fn read_modify_write_loses_updates_at_read_committed() {
        check(
            Engine::Postgres,
            None,
            READ_MODIFY_WRITE,
            &["lost-update: withdraw"],
        );
        check(
            Engine::Mysql,
            Some(Level::RepeatableRead),
            READ_MODIFY_WRITE,
            &["lost-update: withdraw"],
        );
    }

    /// PostgreSQL's EvalPlanQual re-checks a waiting DELETE's own WHERE, not its subquery: a
    /// job retried (moved back to `available`) after the pruner's snapshot is deleted anyway.
    #[test]
    fn a_subquery_decision_is_not_rechecked_but_the_own_where_is() {
        let schema = "CREATE TABLE jobs (id bigserial PRIMARY KEY, state text NOT NULL);";
        let retry = "-- name: retry
            UPDATE jobs SET state = 'available' WHERE id = $1;";
        let prune = "-- name: prune
            DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE state = 'completed' LIMIT 100);";
        let found = findings(Engine::Postgres, None, schema, &format!("{retry}\n{prune}"));
        assert_eq!(found, ["lost-update: prune, retry"]);
        let rechecked = "-- name: prune
            DELETE FROM jobs WHERE state = 'completed'
              AND id IN (SELECT id FROM jobs WHERE state = 'completed' LIMIT 100);";
        let found = findings(
            Engine::Postgres,
            None,
            schema,
            &format!("{retry}\n{rechecked}"),
        );
        assert!(found.is_empty(), "{found:?}");
        let locked = "-- name: prune
            DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE state = 'completed' LIMIT 100 FOR UPDATE SKIP LOCKED);";
        let found = findings(
            Engine::Postgres,
            None,
            schema,
            &format!("{retry}\n{locked}"),
        );
        assert!(found.is_empty(), "{found:?}");
        // Under a transaction snapshot the waiting DELETE fails instead (first updater wins).
        let found = findings(
            Engine::Postgres,
            Some(Level::RepeatableRead),
            schema,
            &format!("{retry}\n{prune}"),
        );
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn first_updater_wins_prevents_it() {
        check(
            Engine::Postgres,
            Some(Level::RepeatableRead),
            READ_MODIFY_WRITE,
            &[],
        );
        check(
            Engine::Mariadb,
            Some(Level::RepeatableRead),
            READ_MODIFY_WRITE,
            &[],
        );
        check(
            Engine::Oracle,
            Some(Level::Serializable),
            READ_MODIFY_WRITE,
            &[],
        );
    }

    /// On TiDB the mode of the transaction that reads and writes back decides, whatever the
    /// run's: an optimistic one fails its COMMIT on a row committed since it began (error
    /// 9007), a pessimistic one writes over the latest row. `BEGIN OPTIMISTIC` and `BEGIN
    /// PESSIMISTIC` choose it over the configured mode.
    #[test]
    fn tidb_the_mode_of_the_transaction_that_writes_back_decides() {
        let optimistic = text("optimistic");
        let with_mode = |begin: &str, settings: &[(&str, SettingValue)]| {
            let transactions = READ_MODIFY_WRITE
                .replace("BEGIN;", begin)
                .replace('$', "?")
                .replace("?1", "?")
                .replace("?2", "?");
            findings_with(Engine::Tidb, settings, SCHEMA, &transactions)
        };
        assert_eq!(with_mode("BEGIN OPTIMISTIC;", &[]), Vec::<String>::new());
        assert_eq!(
            with_mode("BEGIN /*T! OPTIMISTIC */;", &[]),
            Vec::<String>::new()
        );
        assert_eq!(
            with_mode("BEGIN PESSIMISTIC;", &[("mode", optimistic.clone())]),
            ["lost-update: withdraw"]
        );
        assert_eq!(
            with_mode("BEGIN;", &[("mode", optimistic)]),
            Vec::<String>::new()
        );
        // In a pair that mixes modes, the writer whose read went stale decides: the
        // pessimistic `pay` loses the optimistic `refund`'s update, not the other way round.
        let pair = "-- name: pay
            BEGIN PESSIMISTIC;
            SELECT balance FROM accounts WHERE id = ?;
            UPDATE accounts SET balance = ? WHERE id = ?;
            COMMIT;
            -- name: refund
            BEGIN OPTIMISTIC;
            SELECT balance FROM accounts WHERE id = ?;
            UPDATE accounts SET balance = ? WHERE id = ?;
            COMMIT;";
        assert_eq!(
            findings_with(Engine::Tidb, &[], SCHEMA, pair),
            ["lost-update: pay", "lost-update: pay, refund"]
        );
    }

    /// A session's `SET tidb_txn_mode` holds for the transactions that begin after it; the
    /// open transaction keeps the mode it began with.
    #[test]
    fn tidb_a_session_mode_holds_from_the_next_begin() {
        let transactions = "SET SESSION tidb_txn_mode = 'optimistic';
            -- name: first
            BEGIN;
            SELECT balance FROM accounts WHERE id = ?;
            SET tidb_txn_mode = 'pessimistic';
            UPDATE accounts SET balance = ? WHERE id = ?;
            COMMIT;
            -- name: second
            BEGIN;
            SELECT balance FROM accounts WHERE id = ?;
            UPDATE accounts SET balance = ? WHERE id = ?;
            COMMIT;";
        assert_eq!(
            findings_with(Engine::Tidb, &[], SCHEMA, transactions),
            ["lost-update: second", "lost-update: second, first"]
        );
        // MySQL has no such variable: both lose updates at its repeatable read.
        assert_eq!(
            findings_with(Engine::Mysql, &[], SCHEMA, transactions),
            [
                "lost-update: first",
                "lost-update: first, second",
                "lost-update: second",
                "lost-update: second, first"
            ]
        );
    }

    #[test]
    fn locked_read_prevents_lost_update() {
        let locked = READ_MODIFY_WRITE.replace("WHERE id = $1;\n", "WHERE id = $1 FOR UPDATE;\n");
        check(Engine::Postgres, None, &locked, &[]);
    }

    #[test]
    fn compare_and_set_guard_prevents_lost_update() {
        check(
            Engine::Postgres,
            None,
            "BEGIN; SELECT balance, version FROM accounts WHERE id = $1;
             UPDATE accounts SET balance = $2, version = version + 1 WHERE id = $1 AND version = $3;
             COMMIT;",
            &[],
        );
    }

    #[test]
    fn atomic_update_alone_is_safe() {
        check(
            Engine::Postgres,
            None,
            "UPDATE accounts SET balance = balance - $2 WHERE id = $1;",
            &[],
        );
    }

    #[test]
    fn different_literal_rows_do_not_meet() {
        check(
            Engine::Postgres,
            None,
            "-- name: a
             BEGIN; SELECT balance FROM accounts WHERE id = 1; UPDATE accounts SET balance = $1 WHERE id = 1; COMMIT;
             -- name: b
             UPDATE accounts SET balance = 0 WHERE id = 2;",
            &["lost-update: a"],
        );
    }

    #[test]
    fn fixes_name_the_engine_syntax_and_the_level_that_works() {
        let mysql = READ_MODIFY_WRITE.replace("$1", "?").replace("$2", "?");
        let found = run(
            Engine::Mysql,
            Some(Level::ReadCommitted),
            SCHEMA,
            &mysql,
            &[],
        );
        let fixes = found[0].1.join("\n");
        assert!(fixes.contains("FOR UPDATE"), "{fixes}");
        assert!(fixes.contains("SERIALIZABLE"), "{fixes}");
        assert!(
            fixes.contains("REPEATABLE READ does not prevent it"),
            "{fixes}"
        );
        let tsql = READ_MODIFY_WRITE
            .replace("BEGIN;", "BEGIN TRANSACTION;")
            .replace("$1", "@id")
            .replace("$2", "@balance");
        let found = run(Engine::Sqlserver, None, SCHEMA, &tsql, &[]);
        assert!(found[0].1.join("\n").contains("UPDLOCK"));
    }
}
