//! `non-repeatable-read` (P2, opt-in): a transaction reads the same rows twice and another
//! transaction updates or deletes them in between, so the two reads disagree.

use crate::analysis::conflict::{AccessRef, EdgeKind, Instance, RwEdge};
use crate::analysis::finding::{Finding, StatementRef, Step, witness};
use crate::analysis::fixes;
use crate::analysis::{Context, Pair};
use crate::rule::Rule;

pub fn detect(context: &Context, pair: &Pair, findings: &mut Vec<Finding>) {
    repeated_read_findings(
        context,
        pair,
        Rule::NonRepeatableRead,
        EdgeKind::Item,
        findings,
    );
}

/// Shared with `phantom-read`: T1 reads the same rows (same table, same pins, same predicate)
/// in two statements, the first not locked, and T2 has an edge of `kind` from the first read.
pub fn repeated_read_findings(
    context: &Context,
    pair: &Pair,
    rule: Rule,
    kind: EdgeKind,
    findings: &mut Vec<Finding>,
) {
    let flipped = pair.flipped();
    let views = if pair.same_program() {
        vec![pair]
    } else {
        vec![pair, &flipped]
    };
    for view in views {
        let (t1, t2) = (view.first, view.second);
        if !context.permits(&[t1.program], rule) {
            continue;
        }
        let found = view
            .forward
            .iter()
            .filter(|edge| edge.kind == kind)
            .find_map(|edge| {
                let first = t1.access(edge.read);
                let locked = first.lock().is_some();
                if (locked && t1.program.lock_holds_to_commit(edge.read.statement))
                    || !first.is_read()
                {
                    return None;
                }
                t1.accesses()
                    .find(|(at, second)| {
                        at.statement > edge.read.statement
                            // Its lock ended with its step (`atomic = false`).
                            && !(locked && t1.program.lock_holds(edge.read.statement, at.statement))
                            && t1.program.run_together(edge.read.statement, at.statement)
                            && second.table == first.table
                            && second.rows == first.rows
                            && sees_the_change(second, edge)
                    })
                    .map(|(at, _)| (edge, at))
            });
        if let Some((edge, again)) = found {
            findings.push(finding(context, t1, t2, edge, again, rule));
        }
    }
}

/// The second read looks at what the write changed: a column it assigns, or any row at all
/// for a delete or an insert.
fn sees_the_change(second: &crate::access::Access, edge: &RwEdge) -> bool {
    let Some((value, predicate)) = second.read_columns() else {
        return false;
    };
    edge.columns.is_empty()
        || edge
            .columns
            .iter()
            .any(|column| value.contains(column) || predicate.contains(column))
}

fn finding(
    context: &Context,
    t1: Instance,
    t2: Instance,
    edge: &RwEdge,
    again: AccessRef,
    rule: Rule,
) -> Finding {
    let name = |index: usize| context.name_of(index).to_string();
    let same = t1.index == t2.index;
    let other = if same {
        format!("another `{}`", name(t2.index))
    } else {
        format!("`{}`", name(t2.index))
    };
    let read = t1.access(edge.read);
    let level = context.describe_level_of(t1.program);
    let (what, change) = if rule == Rule::PhantomRead {
        ("the same predicate", "add a matching row")
    } else {
        ("the same rows", "change them")
    };
    let mut programs = vec![t1.index];
    if !same {
        programs.push(t2.index);
    }
    let mut fixes = vec![crate::analysis::finding::Fix {
        title: "read once and reuse the result".to_string(),
        edit: None,
    }];
    fixes.extend(fixes::raise_level_of(context, t1.program, rule));
    Finding {
        rule,
        message: format!(
            "{}: `{}` reads {what} of `{}` twice; {other} can {change} in between, so the two \
             reads disagree ({level})",
            rule.id().replace('-', " "),
            name(t1.index),
            read.table
        ),
        programs,
        instances: vec![t1.index, t2.index],
        primary: StatementRef {
            program: t1.index,
            statement: again.statement,
        },
        related: vec![
            (
                StatementRef {
                    program: t1.index,
                    statement: edge.read.statement,
                },
                "the first read".to_string(),
            ),
            (
                StatementRef {
                    program: t2.index,
                    statement: edge.write.statement,
                },
                format!("{other} writes `{}`", read.table),
            ),
        ],
        bindings: edge.unifier.relabel(&[t1.tag, t2.tag]),
        witness: witness(&[
            (0, Step::Statement(edge.read.statement)),
            (1, Step::Statement(edge.write.statement)),
            (1, Step::Commit),
            (0, Step::Statement(again.statement)),
            (0, Step::Commit),
        ]),
        fixes,
        partners: Vec::new(),
        severity: None,
        why: format!("{level} gives each statement its own view of committed data"),
    }
}

#[cfg(test)]
mod tests {
    use crate::analysis::testing::run;
    use crate::rule::Rule;
    use crate::semantics::{Engine, Level};

    const SCHEMA: &str = "CREATE TABLE products (id int PRIMARY KEY, name text, price int);";
    const TRANSACTIONS: &str = "-- name: quote
        BEGIN;
        SELECT name, price FROM products WHERE id = $1;
        SELECT price FROM products WHERE id = $1;
        COMMIT;
        -- name: reprice
        UPDATE products SET price = $2 WHERE id = $1;
        -- name: rename
        UPDATE products SET name = $2 WHERE id = $1;";

    fn found(engine: Engine, level: Option<Level>) -> Vec<String> {
        let transactions = if engine == Engine::Sqlserver {
            TRANSACTIONS
                .replace("$1", "@id")
                .replace("$2", "@value")
                .replace("BEGIN;", "BEGIN TRANSACTION;")
        } else {
            TRANSACTIONS.to_string()
        };
        run(
            engine,
            level,
            SCHEMA,
            &transactions,
            &[Rule::NonRepeatableRead],
        )
        .into_iter()
        .map(|(line, _)| line)
        .collect()
    }

    #[test]
    fn the_second_read_sees_a_new_price_but_not_a_new_name() {
        assert_eq!(
            found(Engine::Postgres, None),
            ["non-repeatable-read: quote, reprice"]
        );
    }

    #[test]
    fn levels_with_a_snapshot_or_read_locks_prevent_it() {
        assert_eq!(
            found(Engine::Sqlserver, None),
            ["non-repeatable-read: quote, reprice"]
        );
        assert!(found(Engine::Postgres, Some(Level::RepeatableRead)).is_empty());
        assert!(found(Engine::Sqlserver, Some(Level::RepeatableRead)).is_empty());
    }
}
