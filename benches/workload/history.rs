//! The migration history of a generated project: after `0001_init.sql`, numbered migrations
//! (`0002_add_orders_note_1.sql`, ...) that evolve the schema the way long-lived projects
//! do. Columns are added, backfilled in batches, made NOT NULL, retyped, renamed and
//! documented; indexes are added; lookup tables are created, seeded with many rows and some
//! dropped again; views are created. Migrations are written until they hold the requested
//! number of bytes, most of them in data migrations, as in real projects.
//!
//! The history never drops, renames or retypes a column of the initial schema, and adds
//! unique keys only to its own tables, so the transactions see the same columns and keys
//! with or without it and their findings do not change. It draws from a random stream of its
//! own, so the transaction files are the same bytes too.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::{Dialect, GeneratedFile, SplitMix64, SqlWriter, Table, ZIPF_EXPONENT, Zipf, weighted};

/// Sets the history's random stream apart from the one of the tables and transactions.
const HISTORY_STREAM: u64 = 0x4849_5354_4F52_5953;

/// The migrations after `0001_init.sql`, numbered from 0002, together at least
/// `history_bytes` long (none for 0).
pub(super) fn migrations(
    tables: &[Table],
    writer: &SqlWriter,
    seed: u64,
    history_bytes: usize,
) -> Vec<GeneratedFile> {
    let mut history = History::new(tables, writer, seed ^ HISTORY_STREAM);
    let mut files = Vec::new();
    let mut written = 0;
    while written < history_bytes {
        let migration = history.next_migration();
        // 0001 is the initial schema.
        let number = files.len() + 2;
        written += migration.sql.len();
        files.push(GeneratedFile {
            relative_path: format!("migrations/{number:04}_{}.sql", migration.name),
            text: migration.sql,
        });
    }
    files
}

/// One migration file: what its name says after the number, and its SQL.
struct Migration {
    name: String,
    sql: String,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    AddColumn,
    Backfill,
    SetNotNull,
    ChangeType,
    RenameColumn,
    Document,
    AddIndex,
    CreateLookupTable,
    SeedLookupTable,
    DropLookupTable,
    CreateView,
}

/// How often each kind of migration is written, out of 100. Data migrations (seeds and
/// backfills) are a third of the files and most of the bytes.
const KINDS: &[(Kind, u32)] = &[
    (Kind::AddColumn, 16),
    (Kind::Backfill, 12),
    (Kind::SetNotNull, 6),
    (Kind::ChangeType, 4),
    (Kind::RenameColumn, 4),
    (Kind::Document, 6),
    (Kind::AddIndex, 10),
    (Kind::CreateLookupTable, 8),
    (Kind::SeedLookupTable, 24),
    (Kind::DropLookupTable, 3),
    (Kind::CreateView, 7),
];

/// What a column added by the history holds; it decides the column's types and values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ColumnKind {
    Text,
    Integer,
    Flag,
    Amount,
    Timestamp,
}

/// Names of added columns (a number is appended, so names never repeat) and what they hold.
const COLUMN_NOUNS: &[(&str, ColumnKind)] = &[
    ("note", ColumnKind::Text),
    ("remark", ColumnKind::Text),
    ("source", ColumnKind::Text),
    ("locale", ColumnKind::Text),
    ("priority", ColumnKind::Integer),
    ("retries", ColumnKind::Integer),
    ("score", ColumnKind::Integer),
    ("archived", ColumnKind::Flag),
    ("verified", ColumnKind::Flag),
    ("discount", ColumnKind::Amount),
    ("fee", ColumnKind::Amount),
    ("tax", ColumnKind::Amount),
    ("reviewed_at", ColumnKind::Timestamp),
    ("synced_at", ColumnKind::Timestamp),
    ("archived_at", ColumnKind::Timestamp),
];

const LOOKUP_CONCEPTS: &[&str] = &[
    "reasons",
    "currencies",
    "countries",
    "plans",
    "tags",
    "tiers",
    "channels",
    "carriers",
    "languages",
];

const LABEL_WORDS: &[&str] = &[
    "standard", "express", "refund", "pending", "priority", "internal", "partner", "trial",
    "annual", "regional", "legacy", "seasonal",
];

const VIEW_ADJECTIVES: &[&str] = &["active", "recent", "summary", "open", "report"];

/// Comments on tables and columns; some hold a quote, which SQL doubles.
const DESCRIPTIONS: &[&str] = &[
    "Shown on the customer's account page",
    "Set by the nightly reconciliation job",
    "Filled in by the import from the legacy system",
    "Used by the support dashboard",
    "Kept for the finance team's monthly report",
    "Written by the mobile app since version 4",
    "Read by the fraud checks before a payout",
];

impl ColumnKind {
    /// The types a column of this kind can have; columns are created with the first.
    fn types(self, dialect: Dialect) -> &'static [&'static str] {
        match (self, dialect) {
            (ColumnKind::Text, Dialect::Postgres) => &["text", "varchar(200)", "varchar(120)"],
            (ColumnKind::Text, Dialect::Mysql) => &["varchar(255)", "varchar(200)", "varchar(120)"],
            (ColumnKind::Integer, Dialect::Postgres) => &["integer", "bigint", "smallint"],
            (ColumnKind::Integer, Dialect::Mysql) => &["int", "bigint", "smallint"],
            (ColumnKind::Flag, Dialect::Postgres) => &["boolean"],
            (ColumnKind::Flag, Dialect::Mysql) => &["tinyint(1)"],
            (ColumnKind::Amount, Dialect::Postgres) => {
                &["numeric(12,2)", "numeric(14,2)", "numeric(18,4)"]
            }
            (ColumnKind::Amount, Dialect::Mysql) => {
                &["decimal(12,2)", "decimal(14,2)", "decimal(18,4)"]
            }
            (ColumnKind::Timestamp, Dialect::Postgres) => &["timestamptz", "timestamp"],
            (ColumnKind::Timestamp, Dialect::Mysql) => &["datetime", "timestamp"],
        }
    }

    fn default_value(self, dialect: Dialect) -> &'static str {
        match self {
            ColumnKind::Text => "''",
            ColumnKind::Integer => "0",
            ColumnKind::Flag => flag(false, dialect),
            ColumnKind::Amount => "0.00",
            ColumnKind::Timestamp => "CURRENT_TIMESTAMP",
        }
    }

    /// A value a data migration sets.
    fn value(self, dialect: Dialect, random: &mut SplitMix64) -> String {
        match self {
            ColumnKind::Text => quote(pick(LABEL_WORDS, random)),
            ColumnKind::Integer => random.range(1, 100).to_string(),
            ColumnKind::Flag => flag(random.chance(0.5), dialect).to_string(),
            ColumnKind::Amount => format!("{}.{:02}", random.range(0, 500), random.range(0, 99)),
            ColumnKind::Timestamp => match dialect {
                Dialect::Postgres => "now()".to_string(),
                Dialect::Mysql => "NOW()".to_string(),
            },
        }
    }
}

fn flag(value: bool, dialect: Dialect) -> &'static str {
    match (dialect, value) {
        (Dialect::Postgres, true) => "true",
        (Dialect::Postgres, false) => "false",
        (Dialect::Mysql, true) => "1",
        (Dialect::Mysql, false) => "0",
    }
}

/// A string literal.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn pick<'a>(pool: &[&'a str], random: &mut SplitMix64) -> &'a str {
    pool[random.range(0, pool.len() - 1)]
}

/// A column the history added to a table of the initial schema.
#[derive(Clone)]
struct AddedColumn {
    /// Index into the initial tables.
    table: usize,
    name: String,
    kind: ColumnKind,
    sql_type: &'static str,
    not_null: bool,
}

/// A table the history created: `id`, `code` (unique), `label`, `sort_order`, `active`,
/// `created_at`.
struct LookupTable {
    name: String,
    next_id: usize,
    dropped: bool,
}

/// The schema as the history has made it so far, and the random stream it draws from.
struct History<'a> {
    tables: &'a [Table],
    table_choice: Zipf,
    writer: &'a SqlWriter,
    random: SplitMix64,
    added_columns: Vec<AddedColumn>,
    lookup_tables: Vec<LookupTable>,
    index_names: BTreeSet<String>,
    /// Appended to the names the history makes up, so none is made twice.
    next_suffix: usize,
}

impl<'a> History<'a> {
    fn new(tables: &'a [Table], writer: &'a SqlWriter, seed: u64) -> Self {
        History {
            tables,
            table_choice: Zipf::new(tables.len(), ZIPF_EXPONENT),
            writer,
            random: SplitMix64::new(seed),
            added_columns: Vec::new(),
            lookup_tables: Vec::new(),
            index_names: BTreeSet::new(),
            next_suffix: 1,
        }
    }

    fn next_migration(&mut self) -> Migration {
        loop {
            let kind = weighted(KINDS, &mut self.random);
            // A kind with nothing to work on yet (no added column, no lookup table) yields to
            // another; adding a column and creating a table always succeed.
            if let Some(migration) = self.write(kind) {
                return migration;
            }
        }
    }

    fn write(&mut self, kind: Kind) -> Option<Migration> {
        match kind {
            Kind::AddColumn => Some(self.add_column()),
            Kind::Backfill => self.backfill(),
            Kind::SetNotNull => self.set_not_null(),
            Kind::ChangeType => self.change_type(),
            Kind::RenameColumn => self.rename_column(),
            Kind::Document => self.document(),
            Kind::AddIndex => self.add_index(),
            Kind::CreateLookupTable => Some(self.create_lookup_table()),
            Kind::SeedLookupTable => self.seed_lookup_table(),
            Kind::DropLookupTable => self.drop_lookup_table(),
            Kind::CreateView => Some(self.create_view()),
        }
    }

    // Migrations, one kind each.

    /// `ALTER TABLE t ADD COLUMN c ... DEFAULT ...`, its comment, sometimes a backfill and an
    /// index.
    fn add_column(&mut self) -> Migration {
        let table = self.table_choice.sample(&mut self.random);
        let (noun, kind) = COLUMN_NOUNS[self.random.range(0, COLUMN_NOUNS.len() - 1)];
        let column = AddedColumn {
            table,
            name: format!("{noun}_{}", self.suffix()),
            kind,
            sql_type: kind.types(self.writer.dialect)[0],
            not_null: self.random.chance(0.4),
        };
        let name = format!("add_{}_{}", self.tables[table].name, column.name);
        let description = pick(DESCRIPTIONS, &mut self.random);
        // MySQL has no COMMENT ON: the comment is part of the column's definition.
        let (inline_comment, comment_statement) = match self.writer.dialect {
            Dialect::Postgres => (String::new(), self.column_comment(&column, description)),
            Dialect::Mysql => (format!(" COMMENT {}", quote(description)), String::new()),
        };
        let mut sql = format!("-- Add {}.{}.\n", self.tables[table].name, column.name);
        let _ = writeln!(
            sql,
            "ALTER TABLE {} ADD COLUMN {} {}{inline_comment};",
            self.table_name(table),
            self.writer.name(&column.name),
            self.definition(&column)
        );
        sql.push_str(&comment_statement);
        if self.random.chance(0.3) {
            sql.push_str(&self.backfill_batches(&column));
        }
        if self.random.chance(0.2) {
            let columns = [column.name.clone()];
            sql.push_str(&self.create_index(table, &columns).unwrap_or_default());
        }
        self.added_columns.push(column);
        Migration { name, sql }
    }

    /// A data migration: `UPDATE t SET c = ... WHERE id >= ... AND id < ...` in batches.
    fn backfill(&mut self) -> Option<Migration> {
        let index = self.pick_added_column(|_| true)?;
        let column = self.added_columns[index].clone();
        let table = &self.tables[column.table].name;
        let name = format!("backfill_{table}_{}", column.name);
        let sql = format!(
            "-- Backfill {table}.{} in batches.\n{}",
            column.name,
            self.backfill_batches(&column)
        );
        Some(Migration { name, sql })
    }

    /// Fills the NULLs of a column, then `SET NOT NULL` (MySQL: `MODIFY ... NOT NULL`).
    fn set_not_null(&mut self) -> Option<Migration> {
        let index = self.pick_added_column(|column| !column.not_null)?;
        self.added_columns[index].not_null = true;
        let column = &self.added_columns[index];
        let table = self.table_name(column.table);
        let name = self.writer.name(&column.name);
        let mut sql = format!(
            "-- Make {}.{} required.\n",
            self.tables[column.table].name, column.name
        );
        let _ = writeln!(
            sql,
            "UPDATE {table} SET {name} = {} WHERE {name} IS NULL;",
            column.kind.default_value(self.writer.dialect)
        );
        sql.push_str(&self.alter_column(column, "SET NOT NULL"));
        Some(Migration {
            name: format!("require_{}_{}", self.tables[column.table].name, column.name),
            sql,
        })
    }

    /// `ALTER COLUMN c TYPE ...` (MySQL: `MODIFY`) to another type of the same kind.
    fn change_type(&mut self) -> Option<Migration> {
        let dialect = self.writer.dialect;
        let index = self.pick_added_column(|column| column.kind.types(dialect).len() > 1)?;
        let types = self.added_columns[index].kind.types(dialect);
        let old_type = self.added_columns[index].sql_type;
        let new_type = loop {
            let candidate = pick(types, &mut self.random);
            if candidate != old_type {
                break candidate;
            }
        };
        self.added_columns[index].sql_type = new_type;
        let column = &self.added_columns[index];
        let name = self.writer.name(&column.name);
        let mut sql = format!(
            "-- Change {}.{} from {old_type} to {new_type}.\n",
            self.tables[column.table].name, column.name
        );
        let change = format!("TYPE {new_type} USING {name}::{new_type}");
        sql.push_str(&self.alter_column(column, &change));
        Some(Migration {
            name: format!("retype_{}_{}", self.tables[column.table].name, column.name),
            sql,
        })
    }

    /// `ALTER TABLE t RENAME COLUMN a TO b`, only ever of a column the history added.
    fn rename_column(&mut self) -> Option<Migration> {
        let index = self.pick_added_column(|_| true)?;
        let kind = self.added_columns[index].kind;
        let nouns: Vec<&str> = COLUMN_NOUNS
            .iter()
            .filter(|(_, noun_kind)| *noun_kind == kind)
            .map(|(noun, _)| *noun)
            .collect();
        let new_name = format!("{}_{}", pick(&nouns, &mut self.random), self.suffix());
        let column = &mut self.added_columns[index];
        let old_name = std::mem::replace(&mut column.name, new_name.clone());
        let table = &self.tables[column.table].name;
        let sql = format!(
            "-- Rename {table}.{old_name} to {new_name}.\nALTER TABLE {} RENAME COLUMN {} TO {};\n",
            self.writer.name(table),
            self.writer.name(&old_name),
            self.writer.name(&new_name)
        );
        Some(Migration {
            name: format!("rename_{table}_{old_name}_to_{new_name}"),
            sql,
        })
    }

    /// Comments on a table and on every column the history added to it.
    fn document(&mut self) -> Option<Migration> {
        let column = self.pick_added_column(|_| true)?;
        let table = self.added_columns[column].table;
        let table_name = &self.tables[table].name;
        let mut sql = format!("-- Document {table_name}.\n");
        if self.writer.dialect == Dialect::Postgres {
            let description = pick(DESCRIPTIONS, &mut self.random);
            let _ = writeln!(
                sql,
                "COMMENT ON TABLE {} IS {};",
                self.table_name(table),
                quote(description)
            );
        }
        let columns: Vec<usize> = (0..self.added_columns.len())
            .filter(|&index| self.added_columns[index].table == table)
            .collect();
        for column in columns {
            let description = pick(DESCRIPTIONS, &mut self.random);
            sql.push_str(&self.column_comment(&self.added_columns[column], description));
        }
        Some(Migration {
            name: format!("document_{table_name}"),
            sql,
        })
    }

    /// `CREATE INDEX` on one or two columns of a table, added ones included.
    fn add_index(&mut self) -> Option<Migration> {
        let table = self.table_choice.sample(&mut self.random);
        let mut candidates: Vec<String> = self.tables[table]
            .filters
            .iter()
            .chain(&self.tables[table].counters)
            .map(|column| column.to_string())
            .collect();
        candidates.extend(
            self.added_columns
                .iter()
                .filter(|column| column.table == table)
                .map(|column| column.name.clone()),
        );
        let first = candidates.swap_remove(self.random.range(0, candidates.len() - 1));
        let mut columns = vec![first];
        if !candidates.is_empty() && self.random.chance(0.3) {
            columns.push(candidates[self.random.range(0, candidates.len() - 1)].clone());
        }
        let sql = self.create_index(table, &columns)?;
        Some(Migration {
            name: format!("index_{}_{}", self.tables[table].name, columns.join("_")),
            sql: format!(
                "-- Index {} on {}.\n{sql}",
                self.tables[table].name,
                columns.join(", ")
            ),
        })
    }

    /// A new table with a unique code, a comment and its first rows.
    fn create_lookup_table(&mut self) -> Migration {
        let concept = pick(LOOKUP_CONCEPTS, &mut self.random);
        let lookup = LookupTable {
            name: format!("lookup_{concept}_{}", self.suffix()),
            next_id: 1,
            dropped: false,
        };
        let writer = self.writer;
        let (text, short_text, integer, boolean, timestamp) = match writer.dialect {
            Dialect::Postgres => ("text", "text", "integer", "boolean", "timestamptz"),
            Dialect::Mysql => (
                "varchar(255)",
                "varchar(64)",
                "int",
                "tinyint(1)",
                "datetime",
            ),
        };
        let columns = [
            format!("{} bigint PRIMARY KEY", writer.name("id")),
            format!("{} {short_text} NOT NULL", writer.name("code")),
            format!("{} {text} NOT NULL", writer.name("label")),
            format!("{} {integer} NOT NULL DEFAULT 0", writer.name("sort_order")),
            format!(
                "{} {boolean} NOT NULL DEFAULT {}",
                writer.name("active"),
                flag(true, writer.dialect)
            ),
            format!(
                "{} {timestamp} NOT NULL DEFAULT CURRENT_TIMESTAMP",
                writer.name("created_at")
            ),
        ];
        let description = quote(pick(DESCRIPTIONS, &mut self.random));
        let mut sql = format!(
            "-- Create {}.\nCREATE TABLE {} (\n    {}\n)",
            lookup.name,
            writer.name(&lookup.name),
            columns.join(",\n    ")
        );
        match writer.dialect {
            Dialect::Postgres => {
                let _ = writeln!(
                    sql,
                    ";\nCOMMENT ON TABLE {} IS {description};",
                    writer.name(&lookup.name)
                );
            }
            Dialect::Mysql => {
                let _ = writeln!(
                    sql,
                    " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COMMENT={description};"
                );
            }
        }
        let _ = writeln!(
            sql,
            "CREATE UNIQUE INDEX {} ON {} ({});",
            writer.name(&format!("{}_code_key", lookup.name)),
            writer.name(&lookup.name),
            writer.name("code")
        );
        self.lookup_tables.push(lookup);
        let last = self.lookup_tables.len() - 1;
        let rows = self.random.range(20, 60);
        sql.push_str(&self.lookup_rows(last, rows));
        Migration {
            name: format!("create_{}", self.lookup_tables[last].name),
            sql,
        }
    }

    /// A data migration: one `INSERT INTO lookup_x (...) VALUES (...), ...` of many rows.
    fn seed_lookup_table(&mut self) -> Option<Migration> {
        let lookup = self.pick_lookup_table()?;
        let rows = self.random.range(40, 160);
        let insert = self.lookup_rows(lookup, rows);
        let sql = format!("-- Seed {}.\n{insert}", self.lookup_tables[lookup].name);
        Some(Migration {
            name: format!("seed_{}", self.lookup_tables[lookup].name),
            sql,
        })
    }

    fn drop_lookup_table(&mut self) -> Option<Migration> {
        let lookup = self.pick_lookup_table()?;
        self.lookup_tables[lookup].dropped = true;
        let name = &self.lookup_tables[lookup].name;
        Some(Migration {
            name: format!("drop_{name}"),
            sql: format!(
                "-- Drop {name}, no longer read.\nDROP TABLE IF EXISTS {};\n",
                self.writer.name(name)
            ),
        })
    }

    /// `CREATE VIEW` over columns of the initial schema.
    fn create_view(&mut self) -> Migration {
        let table = &self.tables[self.table_choice.sample(&mut self.random)];
        let adjective = pick(VIEW_ADJECTIVES, &mut self.random);
        let view = format!("{}_{adjective}_{}", table.name, self.suffix());
        let replace = if self.random.chance(0.3) {
            "OR REPLACE "
        } else {
            ""
        };
        let name = |name: &str| self.writer.name(name);
        let filter = table.filters[0];
        let counter = table.counters[0];
        let sql = format!(
            "-- Create the view {view}.\nCREATE {replace}VIEW {} AS\n    SELECT {}, {}, {}, {}\n    \
             FROM {}\n    WHERE {} > 0;\n",
            name(&view),
            name("id"),
            name(filter),
            name(counter),
            name(table.natural_key),
            name(&table.name),
            name(counter)
        );
        Migration {
            name: format!("create_view_{view}"),
            sql,
        }
    }

    // Parts shared by several kinds.

    fn suffix(&mut self) -> usize {
        self.next_suffix += 1;
        self.next_suffix - 1
    }

    fn table_name(&self, table: usize) -> String {
        self.writer.name(&self.tables[table].name)
    }

    /// A column's type, nullability and default, as `ADD COLUMN` and MySQL's `MODIFY` take it.
    fn definition(&self, column: &AddedColumn) -> String {
        let not_null = if column.not_null { " NOT NULL" } else { "" };
        format!(
            "{}{not_null} DEFAULT {}",
            column.sql_type,
            column.kind.default_value(self.writer.dialect)
        )
    }

    /// `ALTER TABLE t ALTER COLUMN c <postgres_change>`; MySQL has no such form and restates
    /// the whole column, as it now is, with `MODIFY COLUMN c <definition>`.
    fn alter_column(&self, column: &AddedColumn, postgres_change: &str) -> String {
        let table = self.table_name(column.table);
        let name = self.writer.name(&column.name);
        match self.writer.dialect {
            Dialect::Postgres => {
                format!("ALTER TABLE {table} ALTER COLUMN {name} {postgres_change};\n")
            }
            Dialect::Mysql => format!(
                "ALTER TABLE {table} MODIFY COLUMN {name} {};\n",
                self.definition(column)
            ),
        }
    }

    /// `COMMENT ON COLUMN` (MySQL: `MODIFY COLUMN ... COMMENT`).
    fn column_comment(&self, column: &AddedColumn, description: &str) -> String {
        let table = self.table_name(column.table);
        let name = self.writer.name(&column.name);
        match self.writer.dialect {
            Dialect::Postgres => format!(
                "COMMENT ON COLUMN {table}.{name} IS {};\n",
                quote(description)
            ),
            Dialect::Mysql => format!(
                "ALTER TABLE {table} MODIFY COLUMN {name} {} COMMENT {};\n",
                self.definition(column),
                quote(description)
            ),
        }
    }

    /// `UPDATE t SET c = ... WHERE id >= ... AND id < ...`, 10 to 40 batches.
    fn backfill_batches(&mut self, column: &AddedColumn) -> String {
        let table = self.table_name(column.table);
        let name = self.writer.name(&column.name);
        let id = self.writer.name("id");
        let batch = [1_000, 5_000, 10_000][self.random.range(0, 2)];
        let mut sql = String::new();
        for start in (0..self.random.range(10, 40)).map(|number| number * batch) {
            let value = column.kind.value(self.writer.dialect, &mut self.random);
            let _ = writeln!(
                sql,
                "UPDATE {table} SET {name} = {value} WHERE {id} >= {start} AND {id} < {};",
                start + batch
            );
        }
        sql
    }

    /// `CREATE INDEX t_a_b_idx ON t (a, b)`; `None` when that index exists already.
    fn create_index(&mut self, table: usize, columns: &[String]) -> Option<String> {
        let index = format!("{}_{}_idx", self.tables[table].name, columns.join("_"));
        if !self.index_names.insert(index.clone()) {
            return None;
        }
        let concurrently = if self.writer.dialect == Dialect::Postgres && self.random.chance(0.3) {
            "CONCURRENTLY "
        } else {
            ""
        };
        let columns: Vec<String> = columns.iter().map(|c| self.writer.name(c)).collect();
        Some(format!(
            "CREATE INDEX {concurrently}{} ON {} ({});\n",
            self.writer.name(&index),
            self.table_name(table),
            columns.join(", ")
        ))
    }

    /// `INSERT INTO lookup (...) VALUES (...), ...` of `rows` new rows.
    fn lookup_rows(&mut self, lookup: usize, rows: usize) -> String {
        let writer = self.writer;
        let columns: Vec<String> = ["id", "code", "label", "sort_order", "active"]
            .iter()
            .map(|column| writer.name(column))
            .collect();
        let first_id = self.lookup_tables[lookup].next_id;
        self.lookup_tables[lookup].next_id += rows;
        let values: Vec<String> = (first_id..first_id + rows)
            .map(|id| {
                let word = pick(LABEL_WORDS, &mut self.random);
                let label = format!("{}{} {id}", word[..1].to_uppercase(), &word[1..]);
                format!(
                    "    ({id}, {}, {}, {}, {})",
                    quote(&format!("{word}_{id}")),
                    quote(&label),
                    id * 10,
                    flag(self.random.chance(0.9), writer.dialect)
                )
            })
            .collect();
        format!(
            "INSERT INTO {} ({}) VALUES\n{};\n",
            writer.name(&self.lookup_tables[lookup].name),
            columns.join(", "),
            values.join(",\n")
        )
    }

    /// An added column that `fits`, chosen at random; `None` when there is none.
    fn pick_added_column(&mut self, fits: impl Fn(&AddedColumn) -> bool) -> Option<usize> {
        let fitting: Vec<usize> = (0..self.added_columns.len())
            .filter(|&index| fits(&self.added_columns[index]))
            .collect();
        (!fitting.is_empty()).then(|| fitting[self.random.range(0, fitting.len() - 1)])
    }

    /// A lookup table not dropped yet; `None` when there is none.
    fn pick_lookup_table(&mut self) -> Option<usize> {
        let alive: Vec<usize> = (0..self.lookup_tables.len())
            .filter(|&index| !self.lookup_tables[index].dropped)
            .collect();
        (!alive.is_empty()).then(|| alive[self.random.range(0, alive.len() - 1)])
    }
}
