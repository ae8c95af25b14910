//! sqlparser DDL → catalog changes. The only place in `catalog` that sees sqlparser types.

use sqlparser::ast::{
    AlterColumnOperation, AlterTableOperation, ColumnOption, ExcludeConstraintOperator, Expr,
    Ident, IndexColumn, ObjectName, ObjectNamePart, ObjectType, RenameTableNameKind, Statement,
    TableConstraint,
};

use super::{Change, ForeignKey, Key, KeyKind, KeyRows, Table, normalize_name};

pub fn ident(ident: &Ident) -> String {
    normalize_name(&ident.value, ident.quote_style.is_some())
}

pub fn object_name(name: &ObjectName) -> String {
    name.0
        .iter()
        .rev()
        .find_map(|part| match part {
            ObjectNamePart::Identifier(name) => Some(ident(name)),
            ObjectNamePart::Function(_) => None,
        })
        .unwrap_or_default()
}

/// The catalog changes a statement makes; `None` when it is not DDL the catalog tracks.
pub fn changes(statement: &Statement) -> Option<Vec<Change>> {
    match statement {
        Statement::CreateTable(create) => {
            let table_name = object_name(&create.name);
            let mut table = Table {
                name: table_name.clone(),
                ..Table::default()
            };
            for column in &create.columns {
                let column_name = ident(&column.name);
                table.columns.push(column_name.clone());
                let generated = super::generates_fresh_values(&column.to_string());
                if generated {
                    table.generated.push(column_name.clone());
                }
                if let Some(omitted) = omitted_value(column) {
                    table.omitted.insert(column_name.clone(), omitted);
                }
                for option in &column.options {
                    match &option.option {
                        ColumnOption::PrimaryKey(constraint) => table.keys.push(Key::new(
                            constraint.name.as_ref().map(ident),
                            vec![column_name.clone()],
                            KeyKind::Primary,
                        )),
                        ColumnOption::Unique(constraint) => table.keys.push(Key::new(
                            constraint.name.as_ref().map(ident),
                            vec![column_name.clone()],
                            KeyKind::Unique,
                        )),
                        ColumnOption::ForeignKey(constraint) => {
                            table.foreign_keys.push(ForeignKey {
                                columns: vec![column_name.clone()],
                                ..foreign_key(constraint)
                            })
                        }
                        _ => {}
                    }
                }
            }
            let mut changes = vec![];
            for constraint in &create.constraints {
                match constraint_change(&table_name, constraint) {
                    Some(Change::AddKey { key, .. }) => table.keys.push(key),
                    Some(Change::AddForeignKey { foreign_key, .. }) => {
                        table.foreign_keys.push(foreign_key)
                    }
                    Some(other) => changes.push(other),
                    None => {}
                }
            }
            changes.insert(0, Change::CreateTable(table));
            Some(changes)
        }
        Statement::AlterTable(alter) => {
            let table = object_name(&alter.name);
            let changes = alter
                .operations
                .iter()
                .filter_map(|operation| alter_change(&table, operation))
                .collect();
            Some(changes)
        }
        Statement::CreateIndex(index) if index.unique => {
            let table = object_name(&index.table_name);
            let mut key = Key::new(
                index.name.as_ref().map(object_name),
                index_columns(&index.columns),
                KeyKind::Unique,
            );
            if let Some(predicate) = &index.predicate {
                key.rows = match crate::access::extract::exact_domains(predicate) {
                    Some(conditions) => KeyRows::Where(conditions),
                    None => KeyRows::Unknown,
                };
            }
            Some(vec![Change::AddKey { table, key }])
        }
        Statement::CreateIndex(_) => Some(vec![]),
        Statement::Drop {
            object_type, names, ..
        } => {
            let changes = names
                .iter()
                .filter_map(|name| match object_type {
                    ObjectType::Table => Some(Change::DropTable(object_name(name))),
                    ObjectType::Index => Some(Change::DropIndex {
                        name: object_name(name),
                    }),
                    _ => None,
                })
                .collect();
            Some(changes)
        }
        _ => None,
    }
}

fn alter_change(table: &str, operation: &AlterTableOperation) -> Option<Change> {
    let table = table.to_string();
    match operation {
        AlterTableOperation::AddConstraint { constraint, .. } => {
            constraint_change(&table, constraint)
        }
        AlterTableOperation::AddColumn { column_def, .. } => Some(Change::AddColumn {
            table,
            column: ident(&column_def.name),
            omitted: omitted_value(column_def),
        }),
        AlterTableOperation::AlterColumn { column_name, op } => match op {
            AlterColumnOperation::SetDefault { value } => Some(Change::SetDefault {
                table,
                column: Some(ident(column_name)),
                omitted: default_value(value),
            }),
            // NOT NULL changes leave the default as it was (an INSERT leaving out a NOT NULL
            // column without one fails, and commits nothing).
            AlterColumnOperation::SetNotNull | AlterColumnOperation::DropNotNull => None,
            // A built-in type keeps the default; a domain may bring one of its own.
            AlterColumnOperation::SetDataType { data_type, .. }
                if !matches!(data_type, sqlparser::ast::DataType::Custom(..)) =>
            {
                None
            }
            // DROP DEFAULT (NULL, or an implicit default under MySQL's NOT NULL), a domain
            // type, and the rest: no longer known.
            _ => Some(Change::SetDefault {
                table,
                column: Some(ident(column_name)),
                omitted: None,
            }),
        },
        // MySQL's MODIFY COLUMN restates the whole column, its default included.
        AlterTableOperation::ModifyColumn {
            col_name,
            data_type,
            options,
            ..
        } => {
            let options: Vec<&ColumnOption> = options.iter().collect();
            let text: Vec<String> = options.iter().map(|option| option.to_string()).collect();
            let generated =
                super::generates_fresh_values(&format!("{data_type} {}", text.join(" ")));
            Some(Change::SetDefault {
                table,
                column: Some(ident(col_name)),
                omitted: omitted_value_of(data_type, &options, generated),
            })
        }
        // CHANGE COLUMN renames it as well: what its columns hold is no longer known.
        AlterTableOperation::ChangeColumn { .. } => Some(Change::SetDefault {
            table,
            column: None,
            omitted: None,
        }),
        AlterTableOperation::DropColumn { column_names, .. } => {
            // One change per column would need a Vec; the common case drops one.
            column_names.first().map(|column| Change::DropColumn {
                table,
                column: ident(column),
            })
        }
        AlterTableOperation::DropConstraint { name, .. } => Some(Change::DropConstraint {
            table,
            name: ident(name),
        }),
        AlterTableOperation::DropPrimaryKey { .. } => Some(Change::DropPrimaryKey { table }),
        AlterTableOperation::DropIndex { name } => Some(Change::DropIndex { name: ident(name) }),
        AlterTableOperation::RenameColumn {
            old_column_name,
            new_column_name,
        } => Some(Change::RenameColumn {
            table,
            from: ident(old_column_name),
            to: ident(new_column_name),
        }),
        AlterTableOperation::RenameTable { table_name } => {
            let (RenameTableNameKind::As(name) | RenameTableNameKind::To(name)) = table_name;
            Some(Change::RenameTable {
                from: table,
                to: object_name(name),
            })
        }
        _ => None,
    }
}

/// What an INSERT leaving the column out stores, when a literal: its literal default, or NULL
/// without a default (`None` for any other default, and for generated columns).
/// What an INSERT leaving the column out stores, where that is certain and compares safely:
/// a `DEFAULT` text literal that spells no number or boolean (`'queued'`, but not `'0'` or
/// `'f'`, which other statements may spell `0` or `false`), or NULL for a nullable column of a
/// built-in type without a default. A domain or enum type may carry a default of its own, and
/// NOT NULL without a default fails or, in MySQL's non-strict mode, stores an implicit value.
fn omitted_value(column: &sqlparser::ast::ColumnDef) -> Option<String> {
    let options: Vec<&ColumnOption> = column.options.iter().map(|option| &option.option).collect();
    let generated = super::generates_fresh_values(&column.to_string());
    omitted_value_of(&column.data_type, &options, generated)
}

/// See [`omitted_value`]: a column's type and options, wherever the DDL gives them.
fn omitted_value_of(
    data_type: &sqlparser::ast::DataType,
    options: &[&ColumnOption],
    generated: bool,
) -> Option<String> {
    if generated {
        return None;
    }
    let default = options.iter().find_map(|option| match option {
        ColumnOption::Default(value) => Some(value),
        _ => None,
    });
    let unknown_without_default = options.iter().any(|option| {
        matches!(
            option,
            ColumnOption::Generated { .. }
                | ColumnOption::Identity(_)
                | ColumnOption::NotNull
                | ColumnOption::PrimaryKey(_)
        )
    });
    match default {
        Some(value) => default_value(value),
        None if unknown_without_default => None,
        None if matches!(data_type, sqlparser::ast::DataType::Custom(..)) => None,
        None => Some(crate::access::Domain::NULL.to_string()),
    }
}

/// What a default stores as a value of a [`crate::access::Domain`]: a literal no statement
/// spells another way, or a time stamp of the inserting transaction's clock (`now()`).
fn default_value(value: &Expr) -> Option<String> {
    distinctive_literal(value)
        .or_else(|| crate::access::extract::clock_value(value).map(str::to_string))
}

/// A literal no statement spells another way: a number (one spelling: `1.0` is `1`), or a text
/// that is not a number (`'0'` is also `0`) and not a boolean (`'f'` is also `false`).
fn distinctive_literal(value: &Expr) -> Option<String> {
    let literal = crate::access::extract::literal_value(value)?;
    if literal.parse::<f64>().is_ok() {
        return Some(literal);
    }
    let text = literal
        .strip_prefix('\'')?
        .strip_suffix('\'')?
        .to_ascii_lowercase();
    let boolean = matches!(
        text.as_str(),
        "t" | "f" | "true" | "false" | "y" | "n" | "yes" | "no" | "on" | "off"
    );
    let number = text.trim().parse::<f64>().is_ok();
    (!boolean && !number).then_some(literal)
}

fn constraint_change(table: &str, constraint: &TableConstraint) -> Option<Change> {
    let table = table.to_string();
    let key = match constraint {
        TableConstraint::PrimaryKey(primary) => Key::new(
            primary.name.as_ref().map(ident),
            index_columns(&primary.columns),
            KeyKind::Primary,
        ),
        TableConstraint::Unique(unique) => Key::new(
            unique
                .name
                .as_ref()
                .or(unique.index_name.as_ref())
                .map(ident),
            index_columns(&unique.columns),
            KeyKind::Unique,
        ),
        TableConstraint::Exclude(exclude) => {
            let mut columns = vec![];
            let mut other_columns = vec![];
            for element in &exclude.elements {
                let names = expr_columns(&element.column.column.expr);
                let is_equality = matches!(&element.operator,
                    ExcludeConstraintOperator::Token(token) if token == "=")
                    || matches!(&element.operator,
                    ExcludeConstraintOperator::PGOperator(parts) if parts.last().is_some_and(|p| p == "="));
                if is_equality {
                    columns.extend(names);
                } else {
                    other_columns.extend(names);
                }
            }
            Key::new(
                exclude.name.as_ref().map(ident),
                columns,
                KeyKind::Exclusion { other_columns },
            )
        }
        TableConstraint::ForeignKey(foreign) => {
            return Some(Change::AddForeignKey {
                table,
                foreign_key: foreign_key(foreign),
            });
        }
        _ => return None,
    };
    Some(Change::AddKey { table, key })
}

fn foreign_key(constraint: &sqlparser::ast::ForeignKeyConstraint) -> ForeignKey {
    use sqlparser::ast::ReferentialAction;
    ForeignKey {
        name: constraint.name.as_ref().map(ident),
        columns: constraint.columns.iter().map(ident).collect(),
        references: object_name(&constraint.foreign_table),
        referenced: constraint.referred_columns.iter().map(ident).collect(),
        on_delete_changes_children: matches!(
            constraint.on_delete,
            Some(
                ReferentialAction::Cascade
                    | ReferentialAction::SetNull
                    | ReferentialAction::SetDefault
            )
        ),
    }
}

/// Columns of an index; an expression index (`lower(email)`) counts the columns it uses:
/// equal columns give equal expressions, which is all a forced conflict needs.
fn index_columns(columns: &[IndexColumn]) -> Vec<String> {
    columns
        .iter()
        .flat_map(|column| {
            let expr = &column.column.expr;
            // `lower(name)`: the key is the function's value, named `lower(name)`.
            match crate::access::extract::unary_call(expr) {
                Some((function, Expr::Identifier(name))) => {
                    vec![format!("{function}({})", ident(name))]
                }
                _ => expr_columns(expr),
            }
        })
        .collect()
}

fn expr_columns(expr: &Expr) -> Vec<String> {
    let mut names = vec![];
    let _ = sqlparser::ast::visit_expressions(expr, |expr| {
        match expr {
            Expr::Identifier(name) => names.push(ident(name)),
            Expr::CompoundIdentifier(parts) => {
                if let Some(last) = parts.last() {
                    names.push(ident(last));
                }
            }
            _ => {}
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::parser::Parser;
    use std::collections::BTreeMap;

    fn catalog(sql: &str) -> Catalog {
        let mut catalog = Catalog::default();
        for statement in Parser::parse_sql(&PostgreSqlDialect {}, sql).unwrap() {
            for change in changes(&statement).unwrap_or_default() {
                catalog.apply(change);
            }
        }
        catalog
    }

    #[test]
    fn reads_keys_from_create_table() {
        let catalog = catalog(
            "CREATE TABLE public.bookings (id bigint PRIMARY KEY, room int REFERENCES rooms, \
             during tstzrange, email text UNIQUE, \
             EXCLUDE USING gist (room WITH =, during WITH &&))",
        );
        let table = catalog.table("bookings").unwrap();
        assert_eq!(table.columns, vec!["id", "room", "during", "email"]);
        assert_eq!(table.keys.len(), 3);
        assert_eq!(
            table.keys[2].kind,
            KeyKind::Exclusion {
                other_columns: vec!["during".into()]
            }
        );
        assert_eq!(table.foreign_keys[0].references, "rooms");
    }

    #[test]
    fn partial_unique_index_holds_only_the_rows_its_where_selects() {
        let catalog = catalog(
            "CREATE TABLE jobs (id int, key text, state text, attempts int);\n\
             CREATE UNIQUE INDEX live ON jobs (key) WHERE state IN ('available', 'running');\n\
             CREATE UNIQUE INDEX few ON jobs (key) WHERE attempts < 3;",
        );
        let keys = &catalog.table("jobs").unwrap().keys;
        let live = crate::access::Domain::In(["'available'".into(), "'running'".into()].into());
        assert_eq!(
            keys[0].rows,
            KeyRows::Where([("state".to_string(), live.clone())].into())
        );
        assert_eq!(keys[1].rows, KeyRows::Unknown);
        assert!(!keys[0].identifies_row());
        let state = |value: &'static str| {
            move |column: &str| {
                (column == "state").then(|| crate::access::Domain::In([value.to_string()].into()))
            }
        };
        assert!(keys[0].holds(state("'running'")));
        assert!(!keys[0].holds(state("'scheduled'")));
        assert!(
            !keys[0].holds(|_: &str| None),
            "an unknown state may be outside"
        );
        assert!(!keys[1].holds(state("'running'")));
    }

    #[test]
    fn what_an_insert_leaving_a_column_out_stores() {
        let catalog = catalog(
            "CREATE TABLE jobs (id bigserial PRIMARY KEY, state text NOT NULL DEFAULT 'todo', \
             queued_at timestamptz DEFAULT now(), lock text, done boolean DEFAULT false, \
             kind job_kind, note text NOT NULL, code text DEFAULT '0');\n\
             ALTER TABLE jobs ADD COLUMN owner text;\n\
             ALTER TABLE jobs ADD COLUMN stage text DEFAULT 'new';\n\
             ALTER TABLE jobs ALTER COLUMN stage SET DEFAULT 'fresh';\n\
             ALTER TABLE jobs ALTER COLUMN lock SET DEFAULT md5(random()::text);",
        );
        let omitted = &catalog.table("jobs").unwrap().omitted;
        let expected: BTreeMap<String, String> = [
            ("owner", "NULL"),
            ("queued_at", crate::access::Domain::CLOCK),
            ("stage", "'fresh'"),
            ("state", "'todo'"),
        ]
        .into_iter()
        .map(|(column, value)| (column.to_string(), value.to_string()))
        .collect();
        assert_eq!(
            *omitted, expected,
            "not known: a serial, an expression, a boolean or numeric spelling, a custom type \
             that may carry a default, NOT NULL without a default; `now()` is the inserting \
             transaction's clock"
        );
    }

    #[test]
    fn unique_index_and_alter_table_only() {
        let catalog = catalog(
            "CREATE TABLE users (id int, email text, org int);\n\
             ALTER TABLE ONLY public.users ADD CONSTRAINT users_pkey PRIMARY KEY (id);\n\
             CREATE UNIQUE INDEX users_email ON users (org, lower(email));",
        );
        let keys = &catalog.table("users").unwrap().keys;
        assert_eq!(keys[0].kind, KeyKind::Primary);
        assert_eq!(keys[1].columns, vec!["org", "lower(email)"]);
    }
}
