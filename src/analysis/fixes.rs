//! Fix suggestions that are right for the engine: lock syntax, what a level really prevents
//! (read from the engine table), and the retry every stronger level needs.

use super::Context;
use super::finding::{Fix, FixEdit};
use crate::access::Access;
use crate::program::Program;
use crate::rule::Rule;
use crate::semantics::{Engine, Level, Semantics};

fn fix(title: impl Into<String>) -> Fix {
    Fix {
        title: title.into(),
        edit: None,
    }
}

fn fix_with_edit(title: impl Into<String>, edit: FixEdit) -> Fix {
    Fix {
        title: title.into(),
        edit: Some(edit),
    }
}

/// The lock clauses that can be appended to a `SELECT` on this engine, the strongest first.
/// PostgreSQL's `FOR NO KEY UPDATE` blocks the same updates of non-key columns without
/// blocking inserts that reference the row.
fn appendable_lock_clauses(engine: Engine) -> &'static [&'static str] {
    match engine {
        Engine::Postgres | Engine::Yugabytedb => &["FOR UPDATE", "FOR NO KEY UPDATE"],
        Engine::Cockroachdb
        | Engine::Mysql
        | Engine::Mariadb
        | Engine::Oracle
        | Engine::Spanner
        | Engine::Tidb => &["FOR UPDATE"],
        // T-SQL locks with a table hint, and SQLite has no row locks.
        Engine::Sqlserver | Engine::Sqlite => &[],
    }
}

/// How to lock the rows a read returns, in this engine's syntax.
fn lock_clause(engine: Engine) -> Option<&'static str> {
    match engine {
        Engine::Postgres
        | Engine::Cockroachdb
        | Engine::Mysql
        | Engine::Mariadb
        | Engine::Oracle
        | Engine::Spanner
        | Engine::Tidb
        | Engine::Yugabytedb => Some("FOR UPDATE"),
        Engine::Sqlserver => Some("WITH (UPDLOCK, ROWLOCK)"),
        Engine::Sqlite => None,
    }
}

/// Whether the engine rejects a lock clause on an aggregate (`SELECT count(*) ... FOR UPDATE`):
/// PostgreSQL and the engines that follow it, and Oracle. MySQL's family and Spanner lock the
/// rows the aggregate scans.
fn rejects_locked_aggregates(engine: Engine) -> bool {
    matches!(
        engine,
        Engine::Postgres | Engine::Cockroachdb | Engine::Yugabytedb | Engine::Oracle
    )
}

/// The key columns of a table, for `SELECT <key> ... FOR UPDATE` suggestions.
fn key_columns(context: &Context, table: &str) -> String {
    context
        .catalog
        .table(table)
        .and_then(|table| {
            table
                .keys
                .iter()
                .find(|key| key.kind == crate::catalog::KeyKind::Primary)
                .or_else(|| table.keys.iter().find(|key| key.identifies_row()))
        })
        .map(|key| key.columns.join(", "))
        .unwrap_or_else(|| "id".to_string())
}

/// Whether locking `read` of `program` holds back the write of an rw edge of `kind` from it:
/// the write of a row the read returned waits for the lock, but a row added to (or moved
/// into) what it scanned waits only where locking reads lock the gaps. A read that locks
/// already (`FOR UPDATE SKIP LOCKED` in a claim) is not one to lock.
pub fn locking_stops(
    context: &Context,
    program: &Program,
    read: &Access,
    kind: crate::analysis::conflict::EdgeKind,
) -> bool {
    read.lock().is_none()
        && (kind == crate::analysis::conflict::EdgeKind::Item
            || context
                .semantics_of(program)
                .level(context.engine, program.level)
                .gap_locks)
}

/// `FOR UPDATE` on the read, or, for an aggregate on PostgreSQL (which rejects
/// `FOR UPDATE` with aggregates), a lock of the rows themselves.
pub fn lock_the_read(context: &Context, read: &Access, both_programs: bool) -> Option<Fix> {
    let clause = lock_clause(context.engine)?;
    let aggregate = rejects_locked_aggregates(context.engine)
        && matches!(
            read.kind,
            crate::access::AccessKind::Read {
                aggregate: true,
                ..
            }
        );
    let scope = if both_programs {
        " in both transactions (a lock in only one of them does not help)"
    } else {
        ""
    };
    let title = if context.engine == Engine::Sqlserver {
        format!("read with `FROM {} {clause}`{scope}", read.table)
    } else if aggregate {
        format!(
            "lock the rows before counting them, with `SELECT {} FROM {} WHERE ... {clause}`{scope}; \
             {clause} is not allowed on an aggregate",
            key_columns(context, &read.table),
            read.table
        )
    } else {
        format!("add `{clause}` to this read{scope}")
    };
    let clauses = appendable_lock_clauses(context.engine);
    if aggregate || clauses.is_empty() {
        return Some(fix(title));
    }
    let edit = FixEdit::LockRead {
        read: std::sync::Arc::new(read.clone()),
        clauses,
        in_every_program: both_programs,
    };
    Some(fix_with_edit(title, edit))
}

/// The weakest level of this engine, stronger than every participant's, that prevents `rule`,
/// with the retry it needs.
pub fn raise_level(context: &Context, rule: Rule, current: Level) -> Option<Fix> {
    raise_level_in(context, context.semantics, rule, current)
}

/// [`raise_level`] for a finding that one program's level decides, with the engine table that
/// program runs with (its own mode, on TiDB).
pub fn raise_level_of(context: &Context, program: &Program, rule: Rule) -> Option<Fix> {
    raise_level_in(context, context.semantics_of(program), rule, program.level)
}

fn raise_level_in(
    context: &Context,
    semantics: &Semantics,
    rule: Rule,
    current: Level,
) -> Option<Fix> {
    let engine = context.engine;
    let Some(target) = semantics
        .levels(engine)
        .into_iter()
        .filter(|level| *level > current)
        .find(|level| !semantics.permits(engine, *level, rule))
    else {
        return change_setting(context, semantics, rule, current);
    };
    let retry = semantics.retry(engine);
    let mut title = format!(
        "run the transactions at {} and retry on {retry}",
        target.sql()
    );
    let skipped: Vec<Level> = semantics
        .levels(engine)
        .into_iter()
        .filter(|level| *level > current && *level < target)
        .collect();
    if let Some(weaker) = skipped.last() {
        title.push_str(&format!(
            "; {} does not prevent it on {}",
            weaker.sql(),
            semantics.display(engine)
        ));
    }
    // A server setting that runs the current level as the target does the same.
    for alternative in semantics
        .preventing(engine, current, rule)
        .iter()
        .filter(|alternative| alternative.semantics.resolve(engine, current) == Some(target))
    {
        title.push_str(&format!(
            "; or, on the server, {} (`{} = {}` under [engine] in isolint.toml): {} then runs \
             as {}",
            alternative.assignment,
            alternative.name,
            alternative.value.toml(),
            current.sql(),
            target.sql()
        ));
    }
    Some(fix_with_edit(title, FixEdit::SetIsolation(target)))
}

/// When no level of the engine prevents `rule` at `current`, another value of a setting under
/// which `current` does (TiDB's optimistic mode against lost updates). A setting one
/// transaction can choose for itself is suggested for the transaction first (`BEGIN
/// OPTIMISTIC`): its own choice outranks the server's, which holds only for transactions that
/// choose nothing.
fn change_setting(
    context: &Context,
    semantics: &Semantics,
    rule: Rule,
    current: Level,
) -> Option<Fix> {
    let engine = context.engine;
    let alternative = semantics
        .preventing(engine, current, rule)
        .into_iter()
        .next()?;
    let server = format!(
        "set {} on the server (`{} = {}` under [engine] in isolint.toml)",
        alternative.assignment,
        alternative.name,
        alternative.value.toml(),
    );
    let per_transaction = semantics
        .settings(engine)
        .get(&alternative.name)
        .is_some_and(|setting| setting.per_transaction);
    let how = if !per_transaction {
        server
    } else if context.semantics.value(engine, &alternative.name) == Some(&alternative.value) {
        // The server has it already: this transaction chose otherwise.
        format!(
            "start the transaction with `BEGIN {}`",
            alternative.value.key().to_uppercase()
        )
    } else {
        format!(
            "start the transaction with `BEGIN {}`, or, for every transaction that does not \
             choose its own, {server}",
            alternative.value.key().to_uppercase()
        )
    };
    Some(fix(format!(
        "{how}: {} on {} then prevents it; retry on {}",
        current.sql(),
        alternative.semantics.display(engine),
        alternative.semantics.retry(engine)
    )))
}

pub fn atomic_update(column: &str, table: &str) -> Fix {
    let edit = FixEdit::InPlaceUpdate {
        table: table.to_string(),
        column: column.to_string(),
    };
    fix_with_edit(
        format!(
            "compute the new value inside one UPDATE from the current one (`UPDATE {table} SET \
         {column} = <expression of {column}> WHERE ...`), with any check in its WHERE, and test \
         the row count"
        ),
        edit,
    )
}

pub fn compare_and_set(column: &str) -> Fix {
    fix(format!(
        "guard the write with the value you read: `... WHERE id = ... AND {column} = <value read>` \
         and retry when it updates 0 rows"
    ))
}

pub fn drop_nolock_hint() -> Fix {
    fix(
        "remove the `NOLOCK` / `READUNCOMMITTED` hint: it reads uncommitted rows whatever the \
         isolation level (for reads that do not block, use READ_COMMITTED_SNAPSHOT or SNAPSHOT)"
            .to_string(),
    )
}

pub fn constraint(table: &str) -> Fix {
    fix(format!(
        "let a UNIQUE or EXCLUDE constraint on `{table}` reject the second row (the database then \
         decides, whatever the isolation level)"
    ))
}

/// Serialise on a parent row: the table a foreign key of the read's table references, when the
/// read pins that key's columns. Not where locking reads only validate at commit: two
/// transactions that lock the same unchanged row both commit.
pub fn parent_lock(context: &Context, read: &Access) -> Option<Fix> {
    let clause = lock_clause(context.engine)?;
    let validates_only = context
        .semantics
        .levels(context.engine)
        .iter()
        .any(|level| {
            context
                .semantics
                .level(context.engine, *level)
                .locking_reads_validate
        });
    if validates_only {
        return None;
    }
    let parent = context.catalog.table(&read.table).and_then(|table| {
        table.foreign_keys.iter().find_map(|foreign_key| {
            let terms: Option<Vec<String>> = foreign_key
                .columns
                .iter()
                .map(|column| read.rows.pins.get(column).map(|term| term.render()))
                .collect();
            let terms = terms?;
            let referenced = key_columns(context, &foreign_key.references);
            let conditions: Vec<String> = referenced
                .split(", ")
                .zip(terms)
                .map(|(column, term)| format!("{column} = {term}"))
                .collect();
            Some(format!(
                "`SELECT 1 FROM {} WHERE {} {clause}`",
                foreign_key.references,
                conditions.join(" AND ")
            ))
        })
    });
    let statement =
        parent.unwrap_or_else(|| format!("`SELECT ... FROM <parent> WHERE id = ... {clause}`"));
    let note = if context.engine.is_postgres_family() {
        " (this works at READ COMMITTED; at REPEATABLE READ the snapshot is taken before the lock \
         wait, so use SERIALIZABLE there)"
    } else if context.engine == Engine::Tidb {
        " (this works at READ COMMITTED; at REPEATABLE READ plain reads see the snapshot taken \
         when the transaction started, so read the rows with FOR UPDATE there too)"
    } else {
        ""
    };
    Some(fix(format!(
        "serialise the transactions on the row they share: {statement} as the first statement of \
         both{note}"
    )))
}

#[cfg(test)]
mod tests {
    use crate::semantics::{Engine, Level, SettingValue};

    const ACCOUNTS: &str = "CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL);";
    const WITHDRAW: &str = "BEGIN;\n\
                            SELECT balance FROM accounts WHERE id = $1;\n\
                            UPDATE accounts SET balance = $2 WHERE id = $1;\n\
                            COMMIT;\n";
    /// The same in MySQL's placeholders.
    const WITHDRAW_MYSQL: &str = "BEGIN;\n\
                                  SELECT balance FROM accounts WHERE id = ?;\n\
                                  UPDATE accounts SET balance = ? WHERE id = ?;\n\
                                  COMMIT;\n";

    /// The fix titles of every finding, with `settings` of `engine` chosen.
    fn fixes(
        engine: Engine,
        settings: &[(&str, SettingValue)],
        level: Option<Level>,
        schema: &str,
        transactions: &str,
    ) -> Vec<(String, Vec<String>)> {
        let (result, _) =
            crate::analysis::testing::check(engine, settings, level, schema, transactions, &[]);
        result
            .findings
            .iter()
            .map(|finding| {
                (
                    finding.rule.id().to_string(),
                    finding.fixes.iter().map(|fix| fix.title.clone()).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn tidb_lost_update_suggests_optimistic_mode_where_no_level_prevents_it() {
        let found = fixes(Engine::Tidb, &[], None, ACCOUNTS, WITHDRAW_MYSQL);
        assert_eq!(found.len(), 1, "{found:?}");
        let (rule, titles) = &found[0];
        assert_eq!(rule, "lost-update");
        assert!(
            titles
                .iter()
                .any(|title| title == "add `FOR UPDATE` to this read")
        );
        let setting = titles
            .iter()
            .find(|title| title.contains("tidb_txn_mode = 'optimistic'"))
            .expect("a fix naming optimistic mode");
        // One transaction's own choice first: it outranks the server's.
        assert!(
            setting.starts_with("start the transaction with `BEGIN OPTIMISTIC`, or, for every"),
            "{setting}"
        );
        assert!(setting.contains("`mode = \"optimistic\"`"), "{setting}");
        assert!(setting.contains("error 9007"), "{setting}");
        // In optimistic mode there is no lost update left to fix.
        let optimistic = fixes(
            Engine::Tidb,
            &[("mode", SettingValue::Text("optimistic".into()))],
            None,
            ACCOUNTS,
            WITHDRAW_MYSQL,
        );
        assert!(optimistic.is_empty(), "{optimistic:?}");
        // Unless the transaction chose pessimistic mode itself: the server's mode does not
        // reach it, its BEGIN does.
        let pessimistic = fixes(
            Engine::Tidb,
            &[("mode", SettingValue::Text("optimistic".into()))],
            None,
            ACCOUNTS,
            &WITHDRAW_MYSQL.replace("BEGIN;", "BEGIN PESSIMISTIC;"),
        );
        assert_eq!(pessimistic.len(), 1, "{pessimistic:?}");
        assert!(
            pessimistic[0].1.iter().any(|title| title
                == "start the transaction with `BEGIN OPTIMISTIC`: REPEATABLE READ on TiDB then \
                    prevents it; retry on write conflict (error 9007) or deadlock (error 1213)"),
            "{pessimistic:?}"
        );
    }

    #[test]
    fn yugabyte_read_committed_names_the_level_and_the_flag() {
        let found = fixes(
            Engine::Yugabytedb,
            &[("read_committed_enabled", SettingValue::Boolean(true))],
            Some(Level::ReadCommitted),
            ACCOUNTS,
            WITHDRAW,
        );
        let (_, titles) = &found[0];
        let raise = titles
            .iter()
            .find(|title| title.starts_with("run the transactions at REPEATABLE READ"))
            .expect("a level fix");
        assert!(
            raise.contains("yb_enable_read_committed_isolation = false"),
            "{raise}"
        );
    }

    #[test]
    fn spanner_retries_on_aborted_and_locks_aggregates() {
        let schema = "CREATE TABLE doctors (id int PRIMARY KEY, shift int NOT NULL, \
                      on_call boolean NOT NULL);";
        let leave = "BEGIN;\n\
                     SELECT count(*) FROM doctors WHERE shift = $1 AND on_call;\n\
                     UPDATE doctors SET on_call = false WHERE id = $2;\n\
                     COMMIT;\n";
        let found = fixes(
            Engine::Spanner,
            &[],
            Some(Level::RepeatableRead),
            schema,
            leave,
        );
        let (rule, titles) = &found[0];
        assert_eq!(rule, "write-skew");
        assert!(
            titles.iter().any(|title| title
                == "add `FOR UPDATE` to this read in both transactions (a lock in only one of \
                    them does not help)"),
            "{titles:?}"
        );
        assert!(
            titles.iter().any(|title| title
                .starts_with("run the transactions at SERIALIZABLE and retry on ABORTED")),
            "{titles:?}"
        );
        // A FOR UPDATE on a parent row only validates at commit in the optimistic mode.
        assert!(
            !titles.iter().any(|title| title.starts_with("serialise")),
            "{titles:?}"
        );
        // PostgreSQL rejects FOR UPDATE on an aggregate: lock the rows instead.
        let postgres = fixes(
            Engine::Postgres,
            &[],
            Some(Level::RepeatableRead),
            schema,
            leave,
        );
        assert!(
            postgres[0]
                .1
                .iter()
                .any(|title| title.contains("FOR UPDATE is not allowed on an aggregate")),
            "{postgres:?}"
        );
    }
}
