//! The throwaway database's tables as the server has them after the migrations: columns with
//! their types, defaults and generation, enum labels, CHECK constraints (as
//! `pg_get_constraintdef` prints them), foreign keys, and unique keys. Seed rows are made to
//! satisfy them, and parameters take values of their columns' types.

use std::collections::BTreeMap;

use postgres::Client;

use super::database::{describe, quote_ident};

#[derive(Debug, Clone, Default)]
pub struct Tables {
    pub tables: Vec<Table>,
    /// Schemas the migrations created (other than `public`), in name order.
    pub schemas: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Table {
    pub schema: String,
    pub name: String,
    /// A partitioned table's parent, which holds no rows of its own.
    pub partitioned: bool,
    pub columns: Vec<Column>,
    pub checks: Vec<Check>,
    pub foreign_keys: Vec<ForeignKey>,
    /// The primary key first, then UNIQUE constraints and unique indexes on plain columns
    /// without a predicate.
    pub unique_keys: Vec<Vec<String>>,
}

impl Table {
    /// `"schema"."name"`, for SQL.
    pub fn qualified(&self) -> String {
        format!("{}.{}", quote_ident(&self.schema), quote_ident(&self.name))
    }

    /// `name` for a table in `public`, else `schema.name`.
    pub fn display(&self) -> String {
        if self.schema == "public" {
            self.name.clone()
        } else {
            format!("{}.{}", self.schema, self.name)
        }
    }

    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|column| column.name == name)
    }

    pub fn is_unique(&self, column: &str) -> bool {
        self.unique_keys
            .iter()
            .any(|key| key.iter().any(|part| part == column))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    Always,
    ByDefault,
}

#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    /// As `format_type` prints it: `integer`, `character varying(20)`, `job_status`.
    pub data_type: String,
    /// The type under a domain, else `data_type`.
    pub base_type: String,
    pub not_null: bool,
    pub default: Option<String>,
    /// `GENERATED ALWAYS AS (...) STORED`: the server computes it, nobody writes it.
    pub generated: bool,
    pub identity: Option<Identity>,
    /// The labels of an enum type (or of a domain over one), in their order.
    pub labels: Vec<String>,
}

impl Column {
    /// A serial or identity column: the server numbers rows.
    pub fn numbered_by_server(&self) -> bool {
        self.identity.is_some()
            || self
                .default
                .as_deref()
                .is_some_and(|default| default.starts_with("nextval("))
    }

    /// Values that differ from run to run for the same transactions (clock readings, random
    /// ids, sequence numbers taken in another order): left out when final contents are
    /// compared.
    pub fn volatile(&self) -> bool {
        let base = self.base_type.as_str();
        base.contains("time") || base == "date" || base == "uuid" || self.numbered_by_server()
    }
}

#[derive(Debug, Clone)]
pub struct Check {
    pub name: String,
    /// `CHECK ((starts_at < ends_at))`, as `pg_get_constraintdef` prints it.
    pub definition: String,
    /// For a domain's check: the column it applies to, which the definition calls `VALUE`.
    pub value_column: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ForeignKey {
    pub name: String,
    pub columns: Vec<String>,
    /// Index into [`Tables::tables`].
    pub parent: usize,
    pub parent_columns: Vec<String>,
}

impl Tables {
    pub fn read(client: &mut Client) -> Result<Tables, String> {
        let failed = |error: postgres::Error| {
            format!(
                "cannot read the throwaway database's catalog: {}",
                describe(&error)
            )
        };
        let user_schemas = "n.nspname NOT IN ('pg_catalog', 'information_schema') \
                            AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'";
        let mut labels: BTreeMap<i64, Vec<String>> = BTreeMap::new();
        for row in client
            .query(
                "SELECT enumtypid::int8, enumlabel::text FROM pg_enum \
                 ORDER BY enumtypid, enumsortorder",
                &[],
            )
            .map_err(failed)?
        {
            labels.entry(row.get(0)).or_default().push(row.get(1));
        }
        let mut tables: Vec<Table> = Vec::new();
        let mut by_oid: BTreeMap<i64, usize> = BTreeMap::new();
        // Per table, attnum → column name.
        let mut attnums: BTreeMap<i64, BTreeMap<i32, String>> = BTreeMap::new();
        // Columns by the domain they are of, for domain checks.
        let mut of_domain: BTreeMap<i64, Vec<(usize, String)>> = BTreeMap::new();
        let columns = client
            .query(
                &format!(
                    "SELECT c.oid::int8, n.nspname::text, c.relname::text, c.relkind::text, \
                       a.attnum::int4, a.attname::text, format_type(a.atttypid, a.atttypmod), \
                       CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) \
                            ELSE format_type(a.atttypid, a.atttypmod) END, \
                       a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attgenerated::text, \
                       a.attidentity::text, \
                       CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END::int8, \
                       CASE WHEN t.typtype = 'd' THEN t.oid END::int8 \
                     FROM pg_class c \
                     JOIN pg_namespace n ON n.oid = c.relnamespace \
                     JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 \
                          AND NOT a.attisdropped \
                     JOIN pg_type t ON t.oid = a.atttypid \
                     LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum \
                     WHERE c.relkind IN ('r', 'p') AND {user_schemas} \
                     ORDER BY n.nspname, c.relname, a.attnum"
                ),
                &[],
            )
            .map_err(failed)?;
        for row in columns {
            let oid: i64 = row.get(0);
            let index = *by_oid.entry(oid).or_insert_with(|| {
                tables.push(Table {
                    schema: row.get(1),
                    name: row.get(2),
                    partitioned: row.get::<_, String>(3) == "p",
                    columns: Vec::new(),
                    checks: Vec::new(),
                    foreign_keys: Vec::new(),
                    unique_keys: Vec::new(),
                });
                tables.len() - 1
            });
            let name: String = row.get(5);
            attnums
                .entry(oid)
                .or_default()
                .insert(row.get(4), name.clone());
            let identity: String = row.get(11);
            let type_oid: i64 = row.get(12);
            if let Some(domain) = row.get::<_, Option<i64>>(13) {
                of_domain
                    .entry(domain)
                    .or_default()
                    .push((index, name.clone()));
            }
            tables[index].columns.push(Column {
                name,
                data_type: row.get(6),
                base_type: row.get(7),
                not_null: row.get(8),
                default: row.get(9),
                generated: !row.get::<_, String>(10).is_empty(),
                identity: match identity.as_str() {
                    "a" => Some(Identity::Always),
                    "d" => Some(Identity::ByDefault),
                    _ => None,
                },
                labels: labels.get(&type_oid).cloned().unwrap_or_default(),
            });
        }
        let names = |table: i64, numbers: &Option<Vec<i32>>| -> Vec<String> {
            numbers
                .iter()
                .flatten()
                .filter_map(|number| attnums.get(&table).and_then(|names| names.get(number)))
                .cloned()
                .collect()
        };
        let constraints = client
            .query(
                "SELECT conrelid::int8, contype::text, conname::text, \
                   pg_get_constraintdef(oid), conkey::int4[], confrelid::int8, confkey::int4[] \
                 FROM pg_constraint WHERE conrelid <> 0 AND contype IN ('c', 'f', 'p', 'u') \
                 ORDER BY contype = 'p' DESC, conname",
                &[],
            )
            .map_err(failed)?;
        for row in constraints {
            let table: i64 = row.get(0);
            let Some(&index) = by_oid.get(&table) else {
                continue;
            };
            let kind: String = row.get(1);
            let name: String = row.get(2);
            let columns = names(table, &row.get(4));
            match kind.as_str() {
                "c" => tables[index].checks.push(Check {
                    name,
                    definition: row.get(3),
                    value_column: None,
                }),
                "f" => {
                    let parent_oid: i64 = row.get(5);
                    if let Some(&parent) = by_oid.get(&parent_oid) {
                        let parent_columns = names(parent_oid, &row.get(6));
                        tables[index].foreign_keys.push(ForeignKey {
                            name,
                            columns,
                            parent,
                            parent_columns,
                        });
                    }
                }
                _ => tables[index].unique_keys.push(columns),
            }
        }
        let indexes = client
            .query(
                "SELECT indrelid::int8, string_to_array(indkey::text, ' ')::int4[] \
                 FROM pg_index WHERE indisunique AND indpred IS NULL AND indexprs IS NULL",
                &[],
            )
            .map_err(failed)?;
        for row in indexes {
            let table: i64 = row.get(0);
            if let Some(&index) = by_oid.get(&table) {
                let key = names(table, &row.get(1));
                if !key.is_empty() && !tables[index].unique_keys.contains(&key) {
                    tables[index].unique_keys.push(key);
                }
            }
        }
        let domain_checks = client
            .query(
                "SELECT contypid::int8, conname::text, pg_get_constraintdef(oid) \
                 FROM pg_constraint WHERE contypid <> 0 AND contype = 'c' ORDER BY conname",
                &[],
            )
            .map_err(failed)?;
        for row in domain_checks {
            let domain: i64 = row.get(0);
            for (index, column) in of_domain.get(&domain).into_iter().flatten() {
                tables[*index].checks.push(Check {
                    name: row.get(1),
                    definition: row.get(2),
                    value_column: Some(column.clone()),
                });
            }
        }
        let schemas = client
            .query(
                &format!(
                    "SELECT n.nspname::text FROM pg_namespace n \
                     WHERE {user_schemas} AND n.nspname <> 'public' ORDER BY 1"
                ),
                &[],
            )
            .map_err(failed)?
            .iter()
            .map(|row| row.get(0))
            .collect();
        Ok(Tables { tables, schemas })
    }

    /// The table a statement names: `schema.name` exactly, else by its name alone, preferring
    /// `public`, then the other schemas in name order.
    pub fn find(&self, name: &str) -> Option<usize> {
        if let Some((schema, table)) = name.rsplit_once('.') {
            let exact = self
                .tables
                .iter()
                .position(|candidate| candidate.schema == schema && candidate.name == table);
            if exact.is_some() {
                return exact;
            }
            return self.find(table);
        }
        let mut matching: Vec<usize> = (0..self.tables.len())
            .filter(|&index| self.tables[index].name == name)
            .collect();
        matching.sort_by_key(|&index| {
            let table = &self.tables[index];
            (table.schema != "public", table.schema.clone())
        });
        matching.first().copied()
    }

    /// `search_path` for the sessions: `public` first, then the schemas the migrations made,
    /// so that a name resolves wherever the project's runner would have found it.
    pub fn search_path(&self) -> String {
        std::iter::once("public".to_string())
            .chain(self.schemas.iter().map(|schema| quote_ident(schema)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}
