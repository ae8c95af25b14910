//! The schema: tables, columns, keys, exclusion constraints and foreign keys, built by applying
//! DDL in migration order.
//!
//! Architecture Invariant: sqlparser types appear only in `from_ast`; the token-level
//! `fallback` covers DDL that sqlparser rejects, so a migration it cannot parse does not lose
//! its table.

pub mod fallback;
pub mod from_ast;

use std::collections::BTreeMap;

use crate::access::Domain;

/// What makes a key: all its columns equal means the same row (or a constraint violation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyKind {
    Primary,
    Unique,
    /// `EXCLUDE USING gist (room WITH =, during WITH &&)`: two rows conflict when every `=`
    /// column is equal and every other element overlaps.
    Exclusion {
        other_columns: Vec<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub name: Option<String>,
    /// The columns compared with equality.
    pub columns: Vec<String>,
    pub kind: KeyKind,
    /// The rows the key constrains: a partial unique index holds only the rows its `WHERE`
    /// selects.
    pub rows: KeyRows,
}

/// Which rows of the table a key constrains.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum KeyRows {
    #[default]
    All,
    /// A partial index whose `WHERE` is exactly these literal conditions, all of them.
    Where(BTreeMap<String, Domain>),
    /// A partial index whose `WHERE` is more than literal conditions.
    Unknown,
}

impl Key {
    /// A key over every row of the table.
    pub fn new(name: Option<String>, columns: Vec<String>, kind: KeyKind) -> Key {
        Key {
            name,
            columns,
            kind,
            rows: KeyRows::All,
        }
    }

    /// A key whose equality columns identify one row (a partial index identifies a row only
    /// among the rows it holds, so it does not).
    pub fn identifies_row(&self) -> bool {
        !matches!(self.kind, KeyKind::Exclusion { .. })
            && !self.columns.is_empty()
            && self.rows == KeyRows::All
    }

    /// Whether a row whose columns can hold only the values `domain` gives is certainly in the
    /// key (`None`: nothing known of that column).
    pub fn holds(&self, domain: impl Fn(&str) -> Option<Domain>) -> bool {
        match &self.rows {
            KeyRows::All => true,
            KeyRows::Where(conditions) => conditions.iter().all(|(column, condition)| {
                domain(column).is_some_and(|values| values.and(&condition.not()).is_empty())
            }),
            KeyRows::Unknown => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKey {
    pub name: Option<String>,
    pub columns: Vec<String>,
    pub references: String,
    /// The referenced columns, in the order of `columns`; empty: the parent's primary key.
    pub referenced: Vec<String>,
    /// `ON DELETE CASCADE | SET NULL | SET DEFAULT`: deleting the parent changes the children
    /// instead of failing while they exist.
    pub on_delete_changes_children: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    pub name: String,
    pub columns: Vec<String>,
    pub keys: Vec<Key>,
    pub foreign_keys: Vec<ForeignKey>,
    /// Columns that an INSERT leaving them out fills with a value no one has seen yet: serial,
    /// identity and AUTO_INCREMENT columns, `DEFAULT nextval(...)`, `DEFAULT gen_random_uuid()`.
    pub generated: Vec<String>,
    /// The literal an INSERT that leaves a column out stores in it (`'available'`, `0`, `NULL`
    /// for a column without a default, [`crate::access::Domain::CLOCK`] for `DEFAULT now()`),
    /// for the columns where the migrations show it. A column with another default (an
    /// expression), or whose default changed in DDL that was not read, is absent. `BEFORE
    /// INSERT` triggers that rewrite a column are not seen.
    pub omitted: BTreeMap<String, String>,
}

/// A key column that is an expression index's `function(column)`: the function and the column.
pub fn expression_key(key_column: &str) -> Option<(&str, &str)> {
    let (function, rest) = key_column.split_once('(')?;
    Some((function, rest.strip_suffix(')')?))
}

/// Whether a column definition (its SQL text) fills the column with a fresh value by default.
pub fn generates_fresh_values(definition: &str) -> bool {
    let definition = definition.to_ascii_lowercase();
    let words: Vec<&str> = definition
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .collect();
    words.iter().any(|word| {
        matches!(
            *word,
            "serial"
                | "bigserial"
                | "smallserial"
                | "serial4"
                | "serial8"
                | "serial2"
                | "identity"
                | "auto_increment"
                | "autoincrement"
                | "nextval"
                | "gen_random_uuid"
                | "uuid_generate_v1"
                | "uuid_generate_v4"
                | "uuidv7"
                | "newid"
                | "newsequentialid"
        )
    })
}

impl Table {
    pub fn has_column(&self, column: &str) -> bool {
        self.columns.iter().any(|c| c == column)
    }

    /// Whether a freshly generated value in `column` makes the row new to everyone: the column
    /// is part of a key that identifies the row, and not a reference to another table's row
    /// (a new parent's id copied into a child row is that child's link, not its identity).
    pub fn identifies_new_rows(&self, column: &str) -> bool {
        let in_key = self
            .keys
            .iter()
            .any(|key| key.identifies_row() && key.columns.iter().any(|c| c == column));
        let references = self
            .foreign_keys
            .iter()
            .any(|foreign_key| foreign_key.columns.iter().any(|c| c == column));
        in_key && !references
    }
}

/// One change to the schema, in the order the migrations make it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    CreateTable(Table),
    DropTable(String),
    RenameTable {
        from: String,
        to: String,
    },
    AddColumn {
        table: String,
        column: String,
        /// What an INSERT that leaves it out stores, when a literal (see [`Table::omitted`]).
        omitted: Option<String>,
    },
    /// `ALTER COLUMN ... SET DEFAULT` / `DROP DEFAULT` (`column: None`: some column, unknown).
    SetDefault {
        table: String,
        column: Option<String>,
        omitted: Option<String>,
    },
    DropColumn {
        table: String,
        column: String,
    },
    RenameColumn {
        table: String,
        from: String,
        to: String,
    },
    AddKey {
        table: String,
        key: Key,
    },
    AddForeignKey {
        table: String,
        foreign_key: ForeignKey,
    },
    DropConstraint {
        table: String,
        name: String,
    },
    DropPrimaryKey {
        table: String,
    },
    /// `DROP INDEX name` names no table.
    DropIndex {
        name: String,
    },
    /// DDL not read (a `DO` block's `EXECUTE`) may have changed any table's defaults.
    ForgetDefaults,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    tables: BTreeMap<String, Table>,
}

impl Catalog {
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.get(name)
    }

    pub fn tables(&self) -> impl Iterator<Item = &Table> {
        self.tables.values()
    }

    pub fn apply(&mut self, change: Change) {
        match change {
            Change::CreateTable(table) => {
                // `CREATE TABLE IF NOT EXISTS` twice, or a table first seen through ALTER:
                // merge rather than lose what is known.
                let entry = self.tables.entry(table.name.clone()).or_default();
                entry.name = table.name;
                for column in table.columns {
                    // The latest definition of a column decides what leaving it out stores.
                    match table.omitted.get(&column) {
                        Some(value) => entry.omitted.insert(column.clone(), value.clone()),
                        None => entry.omitted.remove(&column),
                    };
                    if !entry.has_column(&column) {
                        entry.columns.push(column);
                    }
                }
                for column in table.generated {
                    if !entry.generated.contains(&column) {
                        entry.generated.push(column);
                    }
                }
                for key in table.keys {
                    if !entry.keys.contains(&key) {
                        entry.keys.push(key);
                    }
                }
                entry.foreign_keys.extend(table.foreign_keys);
            }
            Change::DropTable(name) => {
                self.tables.remove(&name);
            }
            Change::RenameTable { from, to } => {
                if let Some(mut table) = self.tables.remove(&from) {
                    table.name = to.clone();
                    self.tables.insert(to, table);
                }
            }
            Change::AddColumn {
                table,
                column,
                omitted,
            } => {
                let table = self.table_mut(&table);
                if !table.has_column(&column) {
                    table.columns.push(column.clone());
                }
                set_omitted(table, column, omitted);
            }
            Change::SetDefault {
                table,
                column,
                omitted,
            } => {
                let table = self.table_mut(&table);
                match column {
                    Some(column) => set_omitted(table, column, omitted),
                    None => table.omitted.clear(),
                }
            }
            Change::DropColumn { table, column } => {
                let table = self.table_mut(&table);
                table.columns.retain(|c| *c != column);
                table.omitted.remove(&column);
                table.keys.retain(|key| !key.columns.contains(&column));
            }
            Change::RenameColumn { table, from, to } => {
                let table = self.table_mut(&table);
                for name in table
                    .columns
                    .iter_mut()
                    .chain(table.keys.iter_mut().flat_map(|key| key.columns.iter_mut()))
                {
                    if *name == from {
                        *name = to.clone();
                    }
                }
                if let Some(value) = table.omitted.remove(&from) {
                    table.omitted.insert(to.clone(), value);
                }
                for key in &mut table.keys {
                    if let KeyRows::Where(conditions) = &mut key.rows
                        && let Some(condition) = conditions.remove(&from)
                    {
                        conditions.insert(to.clone(), condition);
                    }
                }
            }
            Change::AddKey { table, key } => {
                let table = self.table_mut(&table);
                if !table.keys.contains(&key) {
                    table.keys.push(key);
                }
            }
            Change::AddForeignKey { table, foreign_key } => {
                self.table_mut(&table).foreign_keys.push(foreign_key);
            }
            Change::DropConstraint { table, name } => {
                let table = self.table_mut(&table);
                table
                    .keys
                    .retain(|key| key.name.as_deref() != Some(name.as_str()));
                table
                    .foreign_keys
                    .retain(|fk| fk.name.as_deref() != Some(name.as_str()));
            }
            Change::DropPrimaryKey { table } => {
                self.table_mut(&table)
                    .keys
                    .retain(|key| key.kind != KeyKind::Primary);
            }
            Change::ForgetDefaults => {
                for table in self.tables.values_mut() {
                    table.omitted.clear();
                }
            }
            Change::DropIndex { name } => {
                for table in self.tables.values_mut() {
                    table
                        .keys
                        .retain(|key| key.name.as_deref() != Some(name.as_str()));
                }
            }
        }
    }

    fn table_mut(&mut self, name: &str) -> &mut Table {
        self.tables
            .entry(name.to_string())
            .or_insert_with(|| Table {
                name: name.to_string(),
                ..Table::default()
            })
    }
}

fn set_omitted(table: &mut Table, column: String, omitted: Option<String>) {
    match omitted {
        Some(value) => table.omitted.insert(column, value),
        None => table.omitted.remove(&column),
    };
}

/// The last part of a possibly qualified name: unquoted names are lowercased, quoted ones
/// keep their case (PostgreSQL's rule). Engines that compare quoted names differently have
/// them folded in the text before parsing (`parse::fold_quoted_names`).
pub fn normalize_name(last_part: &str, quoted: bool) -> String {
    if quoted {
        last_part.to_string()
    } else {
        last_part.to_ascii_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unique(name: &str, columns: &[&str]) -> Key {
        Key::new(
            Some(name.into()),
            columns.iter().map(|c| c.to_string()).collect(),
            KeyKind::Unique,
        )
    }

    #[test]
    fn constraints_come_and_go_in_order() {
        let mut catalog = Catalog::default();
        catalog.apply(Change::CreateTable(Table {
            name: "users".into(),
            columns: vec!["id".into(), "email".into()],
            ..Table::default()
        }));
        catalog.apply(Change::AddKey {
            table: "users".into(),
            key: unique("users_email_key", &["email"]),
        });
        assert_eq!(catalog.table("users").unwrap().keys.len(), 1);
        catalog.apply(Change::DropConstraint {
            table: "users".into(),
            name: "users_email_key".into(),
        });
        assert!(catalog.table("users").unwrap().keys.is_empty());
        catalog.apply(Change::AddKey {
            table: "users".into(),
            key: unique("users_email_idx", &["email"]),
        });
        catalog.apply(Change::DropIndex {
            name: "users_email_idx".into(),
        });
        assert!(catalog.table("users").unwrap().keys.is_empty());
    }

    #[test]
    fn dropping_a_column_drops_its_keys() {
        let mut catalog = Catalog::default();
        catalog.apply(Change::AddKey {
            table: "t".into(),
            key: unique("k", &["a", "b"]),
        });
        catalog.apply(Change::DropColumn {
            table: "t".into(),
            column: "b".into(),
        });
        assert!(catalog.table("t").unwrap().keys.is_empty());
    }
}
