//! Fix suggestions that are right for the engine: lock syntax, what a level really prevents
//! (read from the engine table), and the retry every stronger level needs.

use super::Context;
use super::finding::{Fix, FixEdit};
use crate::access::Access;
use crate::rule::Rule;
use crate::semantics::{Engine, Level};

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

/// `FOR UPDATE` on the read, or, for an aggregate on PostgreSQL (which rejects
/// `FOR UPDATE` with aggregates), a lock of the rows themselves.
pub fn lock_the_read(context: &Context, read: &Access, both_programs: bool) -> Option<Fix> {
    let clause = lock_clause(context.engine)?;
    let aggregate = matches!(
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
    let target = context
        .semantics
        .levels(context.engine)
        .into_iter()
        .filter(|level| *level > current)
        .find(|level| !context.semantics.permits(context.engine, *level, rule))?;
    let mut title = format!(
        "run the transactions at {} and retry on serialization failure (SQLSTATE 40001)",
        target.sql()
    );
    let skipped: Vec<Level> = context
        .semantics
        .levels(context.engine)
        .into_iter()
        .filter(|level| *level > current && *level < target)
        .collect();
    if let Some(weaker) = skipped.last() {
        title.push_str(&format!(
            "; {} does not prevent it on {}",
            weaker.sql(),
            context.semantics.display(context.engine)
        ));
    }
    Some(fix_with_edit(title, FixEdit::SetIsolation(target)))
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
/// read pins that key's columns.
pub fn parent_lock(context: &Context, read: &Access) -> Option<Fix> {
    let clause = lock_clause(context.engine)?;
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
    } else {
        ""
    };
    Some(fix(format!(
        "serialise the transactions on the row they share: {statement} as the first statement of \
         both{note}"
    )))
}
