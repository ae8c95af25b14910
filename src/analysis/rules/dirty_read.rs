//! `dirty-read` (G1): a transaction at an honoured READ UNCOMMITTED reads rows another
//! transaction has written but not committed (and may roll back).

use crate::analysis::conflict::serialized_by_lock;
use crate::analysis::finding::{Finding, StatementRef, Step, witness};
use crate::analysis::fixes;
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
        let (reader, writer) = (view.first, view.second);
        let level_permits = context.permits(&[reader.program], Rule::DirtyRead);
        let Some(edge) = view.forward.iter().find(|edge| {
            let read = reader.access(edge.read);
            read.is_read()
                && (level_permits || read.reads_uncommitted())
                && !serialized_by_lock(
                    (reader, edge.read.statement),
                    (writer, edge.write.statement),
                    &edge.unifier,
                    context,
                )
        }) else {
            continue;
        };
        let name = |index: usize| context.name_of(index).to_string();
        let same = pair.same_program();
        let other = if same {
            format!("another `{}`", name(writer.index))
        } else {
            format!("`{}`", name(writer.index))
        };
        let table = &reader.access(edge.read).table;
        let level = context.describe_level_of(reader.program);
        let mut programs = vec![reader.index];
        if !same {
            programs.push(writer.index);
        }
        let mut fixes = Vec::new();
        let how = if level_permits {
            fixes.extend(fixes::raise_level_of(
                context,
                reader.program,
                Rule::DirtyRead,
            ));
            "at READ UNCOMMITTED"
        } else {
            fixes.push(fixes::drop_nolock_hint());
            "with a NOLOCK hint"
        };
        findings.push(Finding {
            rule: Rule::DirtyRead,
            message: format!(
                "dirty read: `{}` reads `{table}` {how} and can see rows {other} has written \
                 but not committed, and may still roll back ({level})",
                name(reader.index)
            ),
            programs,
            instances: vec![reader.index, writer.index],
            primary: StatementRef {
                program: reader.index,
                statement: edge.read.statement,
            },
            related: vec![(
                StatementRef {
                    program: writer.index,
                    statement: edge.write.statement,
                },
                format!("{other} writes `{table}`"),
            )],
            witness: witness(&[
                (1, Step::Statement(edge.write.statement)),
                (0, Step::Statement(edge.read.statement)),
                (1, Step::Rollback),
                (0, Step::Commit),
            ]),
            bindings: edge.unifier.relabel(&[reader.tag, writer.tag]),
            fixes,
            partners: Vec::new(),
            severity: None,
            why: if level_permits {
                format!("{level} reads uncommitted versions")
            } else {
                "a NOLOCK or READUNCOMMITTED table hint reads uncommitted versions at any level"
                    .to_string()
            },
        });
    }
}

#[cfg(test)]
mod tests {
    use crate::analysis::testing::findings;
    use crate::semantics::{Engine, Level};

    const SCHEMA: &str = "CREATE TABLE orders (id int PRIMARY KEY, status text);";
    const TRANSACTIONS: &str = "-- name: dashboard
        SELECT status FROM orders WHERE id = ?;
        -- name: cancel
        UPDATE orders SET status = 'cancelled' WHERE id = ?;";

    #[test]
    fn read_uncommitted_reads_dirty_data_where_the_engine_honours_it() {
        let found = findings(
            Engine::Mysql,
            Some(Level::ReadUncommitted),
            SCHEMA,
            TRANSACTIONS,
        );
        assert_eq!(found, ["dirty-read: dashboard, cancel"]);
        let found = findings(
            Engine::Sqlserver,
            Some(Level::ReadUncommitted),
            SCHEMA,
            &TRANSACTIONS.replace('?', "@id"),
        );
        assert_eq!(found, ["dirty-read: dashboard, cancel"]);
    }

    #[test]
    fn postgres_read_uncommitted_is_read_committed() {
        let found = findings(
            Engine::Postgres,
            Some(Level::ReadUncommitted),
            SCHEMA,
            &TRANSACTIONS.replace('?', "$1"),
        );
        assert!(found.is_empty(), "{found:?}");
        assert!(
            findings(
                Engine::Mysql,
                Some(Level::ReadCommitted),
                SCHEMA,
                TRANSACTIONS
            )
            .is_empty()
        );
    }
}
