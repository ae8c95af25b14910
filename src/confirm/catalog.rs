//! The throwaway database's tables as the server has them after the migrations: columns with
//! their types, defaults and generation, enum labels, CHECK constraints (as
//! `pg_get_constraintdef` prints them), foreign keys, unique keys, and the rows already there
//! (from the migrations and the project's setup files). Seed rows are made to satisfy them,
//! and parameters take values of their columns' types, those of existing rows first.

use std::collections::BTreeMap;

use postgres::Client;

use super::database::{Connection, Flavor, Rows, describe, query, quote_ident};

#[derive(Debug, Clone, Default)]
pub struct Tables {
    /// The server family they were read from (PostgreSQL when made by hand).
    pub flavor: Option<Flavor>,
    pub tables: Vec<Table>,
    /// Schemas the migrations created (other than `public`), in name order.
    pub schemas: Vec<String>,
    pub types: Types,
    /// The functions and procedures the migrations created.
    pub functions: Vec<Function>,
}

#[derive(Debug, Clone)]
pub struct Function {
    pub schema: String,
    pub name: String,
    pub procedure: bool,
    pub returns_trigger: bool,
    /// The arguments a caller passes: name (empty when unnamed) and type, as `format_type`
    /// prints it.
    pub arguments: Vec<(String, String)>,
}

impl Function {
    /// `"schema"."name"` for SQL on PostgreSQL, `` `name` `` on MySQL (where its schema is
    /// the session's database).
    pub fn qualified(&self, flavor: Flavor) -> String {
        match flavor {
            Flavor::Postgres => {
                format!("{}.{}", quote_ident(&self.schema), quote_ident(&self.name))
            }
            Flavor::Mysql => flavor.quote_ident(&self.name),
        }
    }
}

/// Every type the database knows, to write a value of any of them: a routine's argument of
/// type `mq_new_t[]` takes `{"(00000000-...,1 hour,100,...)"}`.
#[derive(Debug, Clone, Default)]
pub struct Types {
    by_oid: BTreeMap<i64, TypeInfo>,
    /// `typname` → oids, `pg_catalog` and `public` first.
    by_name: BTreeMap<String, Vec<i64>>,
}

#[derive(Debug, Clone)]
struct TypeInfo {
    name: String,
    schema: String,
    /// `typtype`: b(ase), c(omposite), d(omain), e(num), r(ange), m(ultirange), p(seudo).
    kind: String,
    /// `typcategory`: N(umeric), S(tring), B(oolean), D(ate/time), A(rray), ...
    category: String,
    element: i64,
    base: i64,
    /// A composite's attributes: name and type.
    fields: Vec<(String, i64)>,
    labels: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Table {
    /// PostgreSQL's oid; on MySQL, a number of isolint's own.
    pub oid: i64,
    /// Empty on MySQL, whose tables are in the database the session uses.
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
    /// Rows the database holds before a run's own rows go in (those the migrations and the
    /// `[confirm] setup` files made), at most [`EXISTING_ROWS`] of them: column → value as
    /// text, NULLs left out.
    pub existing: Vec<BTreeMap<String, String>>,
}

/// How many rows of each table [`Tables::read_existing`] keeps.
pub const EXISTING_ROWS: usize = 50;

impl Table {
    /// `"schema"."name"`, for SQL.
    pub fn qualified(&self) -> String {
        if self.schema.is_empty() {
            return quote_ident(&self.name);
        }
        format!("{}.{}", quote_ident(&self.schema), quote_ident(&self.name))
    }

    /// `name` for a table in `public` (or on MySQL), else `schema.name`.
    pub fn display(&self) -> String {
        if self.schema == "public" || self.schema.is_empty() {
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

    /// The distinct values `column` has in the rows that exist, in the order they were read.
    pub fn existing_values(&self, column: &str) -> Vec<&str> {
        let mut values: Vec<&str> = Vec::new();
        for value in self.existing.iter().filter_map(|row| row.get(column)) {
            if !values.contains(&value.as_str()) {
                values.push(value);
            }
        }
        values
    }

    /// Whether a row that exists has every one of these values.
    pub fn has_row(&self, values: &BTreeMap<String, String>) -> bool {
        self.existing.iter().any(|row| {
            values
                .iter()
                .all(|(column, value)| row.get(column) == Some(value))
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    Always,
    ByDefault,
}

#[derive(Debug, Clone)]
pub struct Column {
    /// `attnum`.
    pub number: i32,
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
    /// A foreign key column pointing at a serial or identity column: it holds a number the
    /// server gave out.
    pub references_numbered: bool,
}

impl Column {
    /// A nullable column of `data_type` with nothing else to it, for catalogs made by hand.
    #[cfg(test)]
    pub fn plain(name: &str, data_type: &str) -> Column {
        Column {
            number: 0,
            name: name.into(),
            data_type: data_type.into(),
            base_type: data_type.into(),
            not_null: false,
            default: None,
            generated: false,
            identity: None,
            labels: Vec::new(),
            references_numbered: false,
        }
    }

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
        base.contains("time")
            || base == "date"
            || base == "uuid"
            || self.numbered_by_server()
            || self.references_numbered
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
    /// What the server has in the connection's database. On MySQL the connection quotes
    /// names as isolint writes them ([`Connection::quote_as_standard`]).
    pub fn read(connection: &mut Connection) -> Result<Tables, String> {
        let mut tables = match connection {
            Connection::Postgres(client) => Tables::read_postgres(client),
            Connection::Mysql(_) => Tables::read_mysql(connection),
        }?;
        tables.flavor = Some(connection.flavor());
        Ok(tables)
    }

    fn read_postgres(client: &mut Client) -> Result<Tables, String> {
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
                    oid,
                    schema: row.get(1),
                    name: row.get(2),
                    partitioned: row.get::<_, String>(3) == "p",
                    columns: Vec::new(),
                    checks: Vec::new(),
                    foreign_keys: Vec::new(),
                    unique_keys: Vec::new(),
                    existing: Vec::new(),
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
                number: row.get(4),
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
                references_numbered: false,
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
        // Foreign keys to numbered columns, once every key is known.
        let mut numbered_references = Vec::new();
        for (index, table) in tables.iter().enumerate() {
            for key in &table.foreign_keys {
                for (column, parent_column) in key.columns.iter().zip(&key.parent_columns) {
                    let numbered = tables[key.parent]
                        .column(parent_column)
                        .is_some_and(Column::numbered_by_server);
                    if numbered {
                        numbered_references.push((index, column.clone()));
                    }
                }
            }
        }
        for (index, column) in numbered_references {
            if let Some(column) = tables[index]
                .columns
                .iter_mut()
                .find(|candidate| candidate.name == column)
            {
                column.references_numbered = true;
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
        let types = Types::read(client, &labels)?;
        let mut functions = Vec::new();
        for row in client
            .query(
                &format!(
                    "SELECT n.nspname::text, p.proname::text, p.prokind = 'p', \
                       p.prorettype = 'trigger'::regtype, \
                       ARRAY(SELECT format_type(t, NULL) FROM unnest(p.proargtypes::oid[]) \
                             WITH ORDINALITY AS a(t, i) ORDER BY i), \
                       coalesce(p.proargnames, '{{}}')::text[], \
                       coalesce(p.proargmodes::text[], '{{}}') \
                     FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
                     WHERE {user_schemas} AND p.prokind IN ('f', 'p') \
                     ORDER BY n.nspname <> 'public', n.nspname, p.proname, p.pronargs"
                ),
                &[],
            )
            .map_err(failed)?
        {
            let types: Vec<String> = row.get(4);
            let names: Vec<String> = row.get(5);
            let modes: Vec<String> = row.get(6);
            // Names cover every argument when modes are given, else the input ones.
            let input_names: Vec<String> = if modes.is_empty() {
                names
            } else {
                names
                    .into_iter()
                    .zip(&modes)
                    .filter(|(_, mode)| matches!(mode.as_str(), "i" | "b" | "v"))
                    .map(|(name, _)| name)
                    .collect()
            };
            let arguments = types
                .into_iter()
                .enumerate()
                .map(|(position, data_type)| {
                    (
                        input_names.get(position).cloned().unwrap_or_default(),
                        data_type,
                    )
                })
                .collect();
            functions.push(Function {
                schema: row.get(0),
                name: row.get(1),
                procedure: row.get(2),
                returns_trigger: row.get(3),
                arguments,
            });
        }
        Ok(Tables {
            flavor: None,
            tables,
            schemas,
            types,
            functions,
        })
    }

    /// MySQL's tables from `information_schema`, their types written as PostgreSQL names
    /// them (`int` is `integer`, `varchar(20)` is `character varying(20)`) so that values and
    /// rows are chosen for them as for PostgreSQL's; an `enum(...)` column has its labels.
    fn read_mysql(connection: &mut Connection) -> Result<Tables, String> {
        let mut read = |sql: &str| -> Result<Rows, String> {
            query(connection, sql).map_err(|error| {
                format!(
                    "cannot read the throwaway database's catalog: {}",
                    error.message
                )
            })
        };
        let text = |row: &[Option<String>], index: usize| -> String {
            row.get(index).cloned().flatten().unwrap_or_default()
        };
        let mut tables: Vec<Table> = Vec::new();
        let columns = read(
            "SELECT c.TABLE_NAME, c.ORDINAL_POSITION, c.COLUMN_NAME, c.DATA_TYPE, \
               c.COLUMN_TYPE, c.IS_NULLABLE, c.COLUMN_DEFAULT, c.EXTRA, \
               c.CHARACTER_MAXIMUM_LENGTH \
             FROM information_schema.COLUMNS c JOIN information_schema.TABLES t \
               ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME \
             WHERE c.TABLE_SCHEMA = DATABASE() AND t.TABLE_TYPE = 'BASE TABLE' \
             ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION",
        )?;
        for row in &columns {
            let table_name = text(row, 0);
            if tables.last().is_none_or(|table| table.name != table_name) {
                tables.push(Table {
                    oid: i64::try_from(tables.len() + 1).unwrap_or(i64::MAX),
                    schema: String::new(),
                    name: table_name,
                    partitioned: false,
                    columns: Vec::new(),
                    checks: Vec::new(),
                    foreign_keys: Vec::new(),
                    unique_keys: Vec::new(),
                    existing: Vec::new(),
                });
            }
            let column_type = text(row, 4);
            let extra = text(row, 7).to_ascii_uppercase();
            let data_type = postgres_type_name(&text(row, 3), &column_type, &text(row, 8));
            let default = row
                .get(6)
                .cloned()
                .flatten()
                .filter(|value| value != "NULL");
            let Some(table) = tables.last_mut() else {
                continue;
            };
            table.columns.push(Column {
                number: text(row, 1).parse().unwrap_or_default(),
                name: text(row, 2),
                base_type: data_type.clone(),
                data_type,
                not_null: text(row, 5) == "NO",
                default,
                generated: ["GENERATED", "VIRTUAL", "PERSISTENT", "STORED"]
                    .iter()
                    .any(|word| extra.contains(word)),
                identity: extra
                    .contains("AUTO_INCREMENT")
                    .then_some(Identity::ByDefault),
                labels: enum_labels(&column_type),
                references_numbered: false,
            });
        }
        let find =
            |tables: &[Table], name: &str| tables.iter().position(|table| table.name == name);
        let indexes = read(
            "SELECT TABLE_NAME, INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS \
             WHERE TABLE_SCHEMA = DATABASE() AND NON_UNIQUE = 0 AND SUB_PART IS NULL \
             ORDER BY TABLE_NAME, INDEX_NAME <> 'PRIMARY', INDEX_NAME, SEQ_IN_INDEX",
        )?;
        let mut last_index = (String::new(), String::new());
        for row in &indexes {
            let Some(index) = find(&tables, &text(row, 0)) else {
                continue;
            };
            let key = (text(row, 0), text(row, 1));
            if key != last_index {
                tables[index].unique_keys.push(Vec::new());
                last_index = key;
            }
            if let Some(columns) = tables[index].unique_keys.last_mut() {
                columns.push(text(row, 2));
            }
        }
        let references = read(
            "SELECT TABLE_NAME, CONSTRAINT_NAME, COLUMN_NAME, REFERENCED_TABLE_NAME, \
               REFERENCED_COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE \
             WHERE TABLE_SCHEMA = DATABASE() AND REFERENCED_TABLE_SCHEMA = DATABASE() \
             ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION",
        )?;
        for row in &references {
            let (Some(index), Some(parent)) =
                (find(&tables, &text(row, 0)), find(&tables, &text(row, 3)))
            else {
                continue;
            };
            let name = text(row, 1);
            let keys = &mut tables[index].foreign_keys;
            if keys.last().is_none_or(|key| key.name != name) {
                keys.push(ForeignKey {
                    name,
                    columns: Vec::new(),
                    parent,
                    parent_columns: Vec::new(),
                });
            }
            if let Some(key) = keys.last_mut() {
                key.columns.push(text(row, 2));
                key.parent_columns.push(text(row, 4));
            }
        }
        // MariaDB names each check's table; MySQL only through TABLE_CONSTRAINTS.
        let checks = read(
            "SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE FROM \
             information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE() \
             ORDER BY CONSTRAINT_NAME",
        )
        .or_else(|_| {
            read(
                "SELECT t.TABLE_NAME, c.CONSTRAINT_NAME, c.CHECK_CLAUSE \
                 FROM information_schema.CHECK_CONSTRAINTS c \
                 JOIN information_schema.TABLE_CONSTRAINTS t \
                   ON t.CONSTRAINT_SCHEMA = c.CONSTRAINT_SCHEMA \
                  AND t.CONSTRAINT_NAME = c.CONSTRAINT_NAME \
                 WHERE c.CONSTRAINT_SCHEMA = DATABASE() ORDER BY c.CONSTRAINT_NAME",
            )
        })
        .unwrap_or_default();
        for row in &checks {
            if let Some(index) = find(&tables, &text(row, 0)) {
                tables[index].checks.push(Check {
                    name: text(row, 1),
                    // As PostgreSQL prints a check, so that it is read as one.
                    definition: format!("CHECK ({})", text(row, 2).replace('`', "\"")),
                    value_column: None,
                });
            }
        }
        let routines = read(
            "SELECT r.ROUTINE_NAME, r.ROUTINE_TYPE, p.PARAMETER_NAME, p.DATA_TYPE, \
               p.DTD_IDENTIFIER, p.CHARACTER_MAXIMUM_LENGTH, p.PARAMETER_MODE \
             FROM information_schema.ROUTINES r LEFT JOIN information_schema.PARAMETERS p \
               ON p.SPECIFIC_SCHEMA = r.ROUTINE_SCHEMA AND p.SPECIFIC_NAME = r.SPECIFIC_NAME \
              AND p.ORDINAL_POSITION > 0 \
             WHERE r.ROUTINE_SCHEMA = DATABASE() \
             ORDER BY r.ROUTINE_NAME, r.ROUTINE_TYPE, p.ORDINAL_POSITION",
        )?;
        let mut functions: Vec<Function> = Vec::new();
        for row in &routines {
            let (name, procedure) = (text(row, 0), text(row, 1) == "PROCEDURE");
            let known = functions
                .last()
                .is_some_and(|last| last.name == name && last.procedure == procedure);
            if !known {
                functions.push(Function {
                    schema: String::new(),
                    name,
                    procedure,
                    returns_trigger: false,
                    arguments: Vec::new(),
                });
            }
            // A caller passes IN and INOUT arguments (a function's have no mode).
            let passed = row.get(2).is_some_and(Option::is_some)
                && matches!(text(row, 6).as_str(), "" | "IN" | "INOUT");
            if let Some(function) = functions.last_mut().filter(|_| passed) {
                function.arguments.push((
                    text(row, 2),
                    postgres_type_name(&text(row, 3), &text(row, 4), &text(row, 5)),
                ));
            }
        }
        Ok(Tables {
            flavor: None,
            tables,
            schemas: Vec::new(),
            types: Types::named_as_postgres(),
            functions,
        })
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

    /// The column a query result's column comes from, by table oid and `attnum`.
    pub fn column_at(&self, table: u32, number: i16) -> Option<&Column> {
        self.tables
            .iter()
            .find(|candidate| candidate.oid == i64::from(table))?
            .columns
            .iter()
            .find(|column| column.number == i32::from(number))
    }

    /// The function a routine program is named after: `name`, `schema.name` or
    /// `name(type, ...)` (overloads), with `arguments` inputs.
    pub fn function(&self, program_name: &str, arguments: usize) -> Option<&Function> {
        let (name, types) = match program_name.split_once('(') {
            Some((name, rest)) => (name.trim(), Some(rest.trim_end_matches(')'))),
            None => (program_name.trim(), None),
        };
        let (schema, name) = match name.rsplit_once('.') {
            Some((schema, name)) => (Some(schema), name),
            None => (None, name),
        };
        let written: Option<Vec<Option<i64>>> = types.map(|types| {
            types
                .split(',')
                .map(str::trim)
                .filter(|written| !written.is_empty())
                .map(|written| self.types.find(written))
                .collect()
        });
        let mut candidates: Vec<&Function> = self
            .functions
            .iter()
            .filter(|function| {
                function.name.eq_ignore_ascii_case(name)
                    && schema.is_none_or(|schema| function.schema.eq_ignore_ascii_case(schema))
                    && written
                        .as_ref()
                        .is_none_or(|written| function.arguments.len() == written.len())
            })
            .collect();
        // Without types, the one whose inputs are as many as the routine's arguments (which
        // may count OUT ones too) first.
        candidates.sort_by_key(|function| function.arguments.len() != arguments);
        let same_types = |function: &&&Function| {
            written.as_ref().is_none_or(|written| {
                function
                    .arguments
                    .iter()
                    .zip(written)
                    .all(|((_, data_type), oid)| {
                        oid.is_none() || self.types.find(data_type) == *oid
                    })
            })
        };
        candidates
            .iter()
            .find(same_types)
            .or_else(|| candidates.first())
            .copied()
    }

    /// A value for row `number` of a column or argument of the type `data_type` (as written in
    /// SQL or printed by `format_type`); `None` when no value of it can be written here.
    pub fn value_of_type(&self, data_type: &str, name: &str, number: u64) -> Option<String> {
        self.types.value(data_type, name, number)
    }

    /// Reads the rows each table holds now (up to [`EXISTING_ROWS`], oldest first where the
    /// table has a primary key), so that values can be chosen that point at them.
    pub fn read_existing(&mut self, connection: &mut Connection) -> Result<(), String> {
        let postgres = connection.flavor() == Flavor::Postgres;
        for table in &mut self.tables {
            if table.partitioned || table.columns.is_empty() {
                continue;
            }
            let columns: Vec<String> = table
                .columns
                .iter()
                .map(|column| {
                    // MySQL sends every value as text already.
                    let cast = if postgres { "::text" } else { "" };
                    format!("{}{cast}", quote_ident(&column.name))
                })
                .collect();
            let order = match table.unique_keys.first() {
                Some(key) if !key.is_empty() => format!(
                    " ORDER BY {}",
                    key.iter()
                        .map(|column| quote_ident(column))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                _ => String::new(),
            };
            let sql = format!(
                "SELECT {} FROM {}{}{order} LIMIT {EXISTING_ROWS}",
                columns.join(", "),
                if postgres { "ONLY " } else { "" },
                table.qualified()
            );
            let rows = super::database::query(connection, &sql).map_err(|error| {
                format!(
                    "cannot read the rows of {}: {}",
                    table.display(),
                    error.message
                )
            })?;
            table.existing = rows
                .into_iter()
                .map(|row| {
                    table
                        .columns
                        .iter()
                        .zip(row)
                        .filter_map(|(column, value)| Some((column.name.clone(), value?)))
                        .collect()
                })
                .collect();
        }
        Ok(())
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

impl Types {
    /// The base types [`postgres_type_name`] writes MySQL's as, so that a value of each is
    /// written as for PostgreSQL (a date for a `date` column, a timestamp for a `datetime`).
    fn named_as_postgres() -> Types {
        let mut types = Types::default();
        let base = [
            ("int2", "N"),
            ("int4", "N"),
            ("int8", "N"),
            ("numeric", "N"),
            ("float4", "N"),
            ("float8", "N"),
            ("varchar", "S"),
            ("bpchar", "S"),
            ("text", "S"),
            ("json", "U"),
            ("date", "D"),
            ("timestamp", "D"),
            ("time", "D"),
        ];
        for (oid, (name, category)) in (1..).zip(base) {
            types.by_name.insert(name.to_string(), vec![oid]);
            types.by_oid.insert(
                oid,
                TypeInfo {
                    name: name.to_string(),
                    schema: "pg_catalog".to_string(),
                    kind: "b".to_string(),
                    category: category.to_string(),
                    element: 0,
                    base: 0,
                    fields: Vec::new(),
                    labels: Vec::new(),
                },
            );
        }
        types
    }

    fn read(client: &mut Client, labels: &BTreeMap<i64, Vec<String>>) -> Result<Types, String> {
        let failed = |error: postgres::Error| {
            format!(
                "cannot read the throwaway database's types: {}",
                describe(&error)
            )
        };
        let mut types = Types::default();
        for row in client
            .query(
                "SELECT t.oid::int8, t.typname::text, n.nspname::text, t.typtype::text, \
                   t.typcategory::text, t.typelem::int8, t.typbasetype::int8 \
                 FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
                 ORDER BY n.nspname <> 'pg_catalog', n.nspname <> 'public', n.nspname",
                &[],
            )
            .map_err(failed)?
        {
            let oid: i64 = row.get(0);
            let info = TypeInfo {
                name: row.get(1),
                schema: row.get(2),
                kind: row.get(3),
                category: row.get(4),
                element: row.get(5),
                base: row.get(6),
                fields: Vec::new(),
                labels: labels.get(&oid).cloned().unwrap_or_default(),
            };
            types
                .by_name
                .entry(info.name.clone())
                .or_default()
                .push(oid);
            types.by_oid.insert(oid, info);
        }
        for row in client
            .query(
                "SELECT t.oid::int8, a.attname::text, a.atttypid::int8 \
                 FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
                 JOIN pg_attribute a ON a.attrelid = t.typrelid AND a.attnum > 0 \
                      AND NOT a.attisdropped \
                 WHERE t.typtype = 'c' AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
                 ORDER BY t.oid, a.attnum",
                &[],
            )
            .map_err(failed)?
        {
            let oid: i64 = row.get(0);
            if let Some(info) = types.by_oid.get_mut(&oid) {
                info.fields.push((row.get(1), row.get(2)));
            }
        }
        Ok(types)
    }

    /// The type a name written in SQL stands for: `int` is `int4`, `timestamptz` is
    /// `timestamp with time zone`, `pgq.ret_batch_event` is looked up in `pgq`.
    pub fn find(&self, written: &str) -> Option<i64> {
        let written = written.trim().trim_matches('"');
        let without_modifier = match written.find('(') {
            Some(open) => {
                let close = written.rfind(')').unwrap_or(written.len() - 1);
                format!(
                    "{}{}",
                    &written[..open],
                    &written[(close + 1).min(written.len())..]
                )
            }
            None => written.to_string(),
        };
        let lowered = without_modifier.trim().to_ascii_lowercase();
        let (schema, name) = match lowered.rsplit_once('.') {
            Some((schema, name)) => (Some(schema.trim_matches('"').to_string()), name.to_string()),
            None => (None, lowered.clone()),
        };
        let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
        let internal = match name.as_str() {
            "int" | "integer" | "serial" => "int4",
            "bigint" | "bigserial" => "int8",
            "smallint" | "smallserial" => "int2",
            "boolean" => "bool",
            "real" => "float4",
            "double precision" | "float" => "float8",
            "decimal" => "numeric",
            "character varying" | "varchar" => "varchar",
            "character" | "char" => "bpchar",
            "timestamp with time zone" => "timestamptz",
            "timestamp without time zone" | "timestamp" => "timestamp",
            "time with time zone" => "timetz",
            "time without time zone" | "time" => "time",
            other => other,
        };
        let candidates = self.by_name.get(internal)?;
        match schema {
            Some(schema) => candidates.iter().copied().find(|oid| {
                self.by_oid
                    .get(oid)
                    .is_some_and(|info| info.schema == schema)
            }),
            None => candidates.first().copied(),
        }
    }

    fn value(&self, data_type: &str, name: &str, number: u64) -> Option<String> {
        let data_type = data_type.trim();
        if let Some(element) = data_type.strip_suffix("[]") {
            let value = self.value(element, name, number)?;
            return Some(format!("{{{}}}", quote_element(&value, "{},\"\\")));
        }
        self.value_of(self.find(data_type)?, name, number, 0)
    }

    fn value_of(&self, oid: i64, name: &str, number: u64, depth: usize) -> Option<String> {
        let info = self.by_oid.get(&oid)?;
        if depth > 4 {
            return None;
        }
        if !info.labels.is_empty() {
            return info.labels.first().cloned();
        }
        let day = number.clamp(1, 28);
        let value = match (
            info.kind.as_str(),
            info.category.as_str(),
            info.name.as_str(),
        ) {
            ("d", ..) => return self.value_of(info.base, name, number, depth + 1),
            ("c", ..) => {
                let fields: Option<Vec<String>> = info
                    .fields
                    .iter()
                    .map(|(field, field_type)| {
                        self.value_of(*field_type, field, number, depth + 1)
                            .map(|value| quote_element(&value, "(),\"\\"))
                    })
                    .collect();
                format!("({})", fields?.join(","))
            }
            (_, "A", _) => {
                let element = self.value_of(info.element, name, number, depth + 1)?;
                format!("{{{}}}", quote_element(&element, "{},\"\\"))
            }
            (_, _, "json" | "jsonb") => "{}".to_string(),
            (_, _, "uuid") => format!("00000000-0000-4000-8000-{number:012}"),
            (_, _, "bool") => "true".to_string(),
            (_, _, "date") => format!("2024-01-{day:02}"),
            (_, _, "timestamp" | "timestamptz") => format!("2024-01-{day:02} 12:00:00"),
            (_, _, "time" | "timetz") => "12:00:00".to_string(),
            (_, _, "interval") => "1 hour".to_string(),
            (_, _, "bytea") => "\\x00".to_string(),
            (_, _, "inet" | "cidr") => "127.0.0.1".to_string(),
            // The extension's map type: the empty map (a number is no hstore).
            (_, _, "hstore") => String::new(),
            (_, "N", _) => number.to_string(),
            // A text column or argument whose name says it holds JSON is cast to it.
            (_, "S", _) if name.to_ascii_lowercase().contains("json") => "{}".to_string(),
            // One whose name says it is a condition (`i_extra_where`) is pasted into a WHERE
            // by the routine's dynamic SQL: a condition every row passes.
            (_, "S", _) if name.to_ascii_lowercase().contains("where") => "true".to_string(),
            (_, "S", _) => number.to_string(),
            _ => return None,
        };
        Some(value)
    }
}

/// A MySQL column type as PostgreSQL names the type of the same values: what rows and
/// parameters are chosen by. `data_type` is `DATA_TYPE`, `column_type` `COLUMN_TYPE`.
fn postgres_type_name(data_type: &str, column_type: &str, length: &str) -> String {
    let data_type = data_type.to_ascii_lowercase();
    let sized = |name: &str| {
        if length.is_empty() {
            name.to_string()
        } else {
            format!("{name}({length})")
        }
    };
    match data_type.as_str() {
        "tinyint" | "smallint" => "smallint".to_string(),
        "mediumint" | "int" | "integer" => "integer".to_string(),
        "bigint" => "bigint".to_string(),
        "decimal" | "numeric" => "numeric".to_string(),
        "float" => "real".to_string(),
        "double" => "double precision".to_string(),
        "varchar" => sized("character varying"),
        "char" => sized("character"),
        "tinytext" | "text" | "mediumtext" | "longtext" | "enum" | "set" => "text".to_string(),
        "datetime" | "timestamp" => "timestamp".to_string(),
        "date" | "time" | "json" => data_type,
        _ if column_type.is_empty() => data_type,
        _ => column_type.to_ascii_lowercase(),
    }
}

/// The labels of `enum('a','b')`, in order; none for another type.
fn enum_labels(column_type: &str) -> Vec<String> {
    let Some(inner) = column_type
        .strip_prefix("enum(")
        .and_then(|rest| rest.strip_suffix(')'))
    else {
        return Vec::new();
    };
    let mut labels = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut characters = inner.chars().peekable();
    while let Some(character) = characters.next() {
        match (quoted, character) {
            (false, '\'') => quoted = true,
            (true, '\'') if characters.peek() == Some(&'\'') => {
                current.push('\'');
                characters.next();
            }
            (true, '\'') => {
                quoted = false;
                labels.push(std::mem::take(&mut current));
            }
            (true, _) => current.push(character),
            _ => {}
        }
    }
    labels
}

/// An array element or composite field, double-quoted when it holds one of `special`,
/// whitespace, or nothing.
fn quote_element(value: &str, special: &str) -> String {
    let plain = !value.is_empty()
        && !value.eq_ignore_ascii_case("null")
        && !value
            .chars()
            .any(|c| c.is_whitespace() || special.contains(c));
    if plain {
        value.to_string()
    } else {
        format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_hstore_parameter_is_the_empty_map() {
        let mut types = Types::default();
        let info = |name: &str, category: &str, element: i64| TypeInfo {
            name: name.to_string(),
            schema: "public".to_string(),
            kind: "b".to_string(),
            category: category.to_string(),
            element,
            base: 0,
            fields: Vec::new(),
            labels: Vec::new(),
        };
        types.by_name.insert("hstore".to_string(), vec![1]);
        types.by_oid.insert(1, info("hstore", "U", 0));
        // An extension type without a value of its own still gets none, not a number.
        types.by_name.insert("ltree".to_string(), vec![2]);
        types.by_oid.insert(2, info("ltree", "U", 0));
        assert_eq!(types.value("hstore", "metadata", 12).as_deref(), Some(""));
        assert_eq!(
            types.value("hstore[]", "metadata", 12).as_deref(),
            Some("{\"\"}")
        );
        assert_eq!(types.value("ltree", "path", 12), None);
    }

    #[test]
    fn a_text_argument_named_as_a_condition_is_one_every_row_passes() {
        let mut types = Types::default();
        types.by_name.insert("text".to_string(), vec![1]);
        types.by_oid.insert(
            1,
            TypeInfo {
                name: "text".to_string(),
                schema: "pg_catalog".to_string(),
                kind: "b".to_string(),
                category: "S".to_string(),
                element: 0,
                base: 0,
                fields: Vec::new(),
                labels: Vec::new(),
            },
        );
        assert_eq!(
            types.value("text", "i_extra_where", 4).as_deref(),
            Some("true")
        );
        assert_eq!(types.value("text", "i_queue_name", 4).as_deref(), Some("4"));
    }

    #[test]
    fn mysql_types_are_named_as_postgres_names_the_same_values() {
        assert_eq!(postgres_type_name("int", "int(10) unsigned", ""), "integer");
        assert_eq!(
            postgres_type_name("varchar", "varchar(20)", "20"),
            "character varying(20)"
        );
        assert_eq!(postgres_type_name("DATETIME", "datetime", ""), "timestamp");
        assert_eq!(postgres_type_name("enum", "enum('a')", "1"), "text");
        assert_eq!(postgres_type_name("blob", "blob", "65535"), "blob");
        assert_eq!(enum_labels("enum('open','it''s','')"), ["open", "it's", ""]);
        assert!(enum_labels("set('a')").is_empty());
        assert!(enum_labels("enum('unterminated").is_empty());
        // A date column takes a date, and a text one its number, as on PostgreSQL.
        let types = Types::named_as_postgres();
        assert_eq!(
            types.value("date", "stay_date", 2).as_deref(),
            Some("2024-01-02")
        );
        assert_eq!(
            types.value("character varying(20)", "name", 7).as_deref(),
            Some("7")
        );
    }
}
