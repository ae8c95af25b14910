//! A synthetic but realistic isolint project: one migration that creates the tables, and one
//! file per named transaction mixing the statement shapes real applications use (point,
//! predicate and locked reads, in-place and blind updates, inserts, deletes, upserts) over a
//! Zipf-skewed choice of tables and columns, so that a few hot tables are shared by many
//! transactions, as in production code. On request, a migration history between the two
//! (`history.rs`) grows the project to tens of MB the way real projects grow.
//!
//! Shared by `examples/gen.rs` (which writes the files to disk) and `benches/pipeline.rs`
//! (which checks them in memory), so both measure the same workload. The output depends only
//! on the `WorkloadSpec`: the random numbers come from a seeded splitmix64.
//!
//! This module lives in `benches/workload/mod.rs` rather than `benches/workload.rs` so that
//! cargo does not take it for a bench target of its own.

mod history;

use std::fmt::Write as _;

/// Which SQL dialect the files are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// `$1` placeholders, `ON CONFLICT ... DO UPDATE`.
    Postgres,
    /// `?` placeholders, backticks, `ON DUPLICATE KEY UPDATE`.
    Mysql,
}

impl Dialect {
    pub fn from_name(name: &str) -> Option<Dialect> {
        match name {
            "postgres" | "postgresql" => Some(Dialect::Postgres),
            "mysql" => Some(Dialect::Mysql),
            _ => None,
        }
    }
}

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct WorkloadSpec {
    pub tables: usize,
    pub programs: usize,
    pub seed: u64,
    pub dialect: Dialect,
    /// How many bytes of migrations to write after the initial schema (0: none). The
    /// history leaves every column the transactions use as it is, so their findings do not
    /// change.
    pub history_bytes: usize,
}

/// One generated file, its path relative to the project root.
#[derive(Debug, Clone)]
pub struct GeneratedFile {
    pub relative_path: String,
    pub text: String,
}

/// The Zipf exponent of the choice of tables and columns: about what web workloads show.
const ZIPF_EXPONENT: f64 = 1.1;

/// Generates the project: `migrations/0001_init.sql` first, then the history's
/// `migrations/0002_<what>.sql` and on when `history_bytes` asks for them, then
/// `txns/txn_<i>.sql`.
pub fn generate(spec: &WorkloadSpec) -> Vec<GeneratedFile> {
    let mut random = SplitMix64::new(spec.seed);
    let tables: Vec<Table> = (0..spec.tables.max(1))
        .map(|index| Table::random(index, &mut random))
        .collect();
    let writer = SqlWriter {
        dialect: spec.dialect,
    };
    let mut files = Vec::with_capacity(spec.programs + 1);
    files.push(GeneratedFile {
        relative_path: "migrations/0001_init.sql".to_string(),
        text: writer.schema(&tables),
    });
    files.extend(history::migrations(
        &tables,
        &writer,
        spec.seed,
        spec.history_bytes,
    ));
    let table_choice = Zipf::new(tables.len(), ZIPF_EXPONENT);
    for program in 0..spec.programs {
        files.push(GeneratedFile {
            relative_path: format!("txns/txn_{program}.sql"),
            text: writer.transaction(program, &tables, &table_choice, &mut random),
        });
    }
    files
}

/// splitmix64 (Steele, Lea and Flood, 2014): tiny, fast and good enough for workloads.
struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut mixed = self.state;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        mixed ^ (mixed >> 31)
    }

    /// A float in `[0, 1)` from the top 53 bits.
    fn next_unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// An integer in `[low, high]`.
    fn range(&mut self, low: usize, high: usize) -> usize {
        low + (self.next_u64() % (high - low + 1) as u64) as usize
    }

    fn chance(&mut self, probability: f64) -> bool {
        self.next_unit() < probability
    }
}

/// Rank `k` (0-based) is drawn with probability proportional to `1 / (k + 1)^exponent`.
struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    fn new(count: usize, exponent: f64) -> Self {
        let mut total = 0.0;
        let mut cumulative: Vec<f64> = (1..=count.max(1))
            .map(|rank| {
                total += 1.0 / (rank as f64).powf(exponent);
                total
            })
            .collect();
        for weight in &mut cumulative {
            *weight /= total;
        }
        Zipf { cumulative }
    }

    fn sample(&self, random: &mut SplitMix64) -> usize {
        let target = random.next_unit();
        self.cumulative
            .partition_point(|&weight| weight <= target)
            .min(self.cumulative.len() - 1)
    }
}

const TABLE_NOUNS: &[&str] = &[
    "accounts",
    "orders",
    "order_items",
    "users",
    "bookings",
    "invoices",
    "payments",
    "shipments",
    "coupons",
    "rooms",
    "inventory",
    "carts",
    "subscriptions",
    "tickets",
    "wallets",
    "sessions",
];

/// Columns a counter can live in: `SET c = c + $1` makes sense for them.
const COUNTER_COLUMNS: &[&str] = &["balance", "quantity", "version", "total", "seats", "points"];
/// Columns transactions filter on: predicate reads, updates and deletes use them.
const FILTER_COLUMNS: &[&str] = &["owner_id", "status", "region", "category_id", "parent_id"];
/// Columns that identify a row besides its id: some get a UNIQUE constraint or index.
const NATURAL_KEY_COLUMNS: &[&str] = &["code", "email", "slug", "external_ref"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UniqueKind {
    None,
    Constraint,
    Index,
}

struct Table {
    name: String,
    /// Numeric columns, hottest first (chosen with a Zipf skew like tables).
    counters: Vec<&'static str>,
    filters: Vec<&'static str>,
    natural_key: &'static str,
    unique: UniqueKind,
}

impl Table {
    fn random(index: usize, random: &mut SplitMix64) -> Table {
        let noun = TABLE_NOUNS[index % TABLE_NOUNS.len()];
        let name = if index < TABLE_NOUNS.len() {
            noun.to_string()
        } else {
            format!("{noun}_{}", index / TABLE_NOUNS.len())
        };
        let counters = pick_distinct(COUNTER_COLUMNS, random.range(1, 3), random);
        let filters = pick_distinct(FILTER_COLUMNS, random.range(1, 2), random);
        let natural_key = NATURAL_KEY_COLUMNS[random.range(0, NATURAL_KEY_COLUMNS.len() - 1)];
        let unique = match random.range(0, 9) {
            0..=3 => UniqueKind::Constraint,
            4..=6 => UniqueKind::Index,
            _ => UniqueKind::None,
        };
        Table {
            name,
            counters,
            filters,
            natural_key,
            unique,
        }
    }

    fn has_unique_key(&self) -> bool {
        self.unique != UniqueKind::None
    }
}

fn pick_distinct(
    pool: &'static [&'static str],
    count: usize,
    random: &mut SplitMix64,
) -> Vec<&'static str> {
    let mut chosen: Vec<&'static str> = Vec::with_capacity(count);
    while chosen.len() < count.min(pool.len()) {
        let candidate = pool[random.range(0, pool.len() - 1)];
        if !chosen.contains(&candidate) {
            chosen.push(candidate);
        }
    }
    chosen
}

/// The statement shapes a transaction mixes, with their weights out of 100.
#[derive(Debug, Clone, Copy)]
enum Shape {
    PointRead,
    PredicateRead,
    LockedRead,
    InPlaceUpdate,
    BlindUpdate,
    Insert,
    Delete,
    Upsert,
}

const SHAPES: &[(Shape, u32)] = &[
    (Shape::PointRead, 22),
    (Shape::PredicateRead, 14),
    (Shape::LockedRead, 8),
    (Shape::InPlaceUpdate, 16),
    (Shape::BlindUpdate, 12),
    (Shape::Insert, 14),
    (Shape::Delete, 5),
    (Shape::Upsert, 9),
];

fn random_shape(random: &mut SplitMix64) -> Shape {
    weighted(SHAPES, random)
}

/// One of `choices`, each drawn with probability proportional to its weight.
fn weighted<T: Copy>(choices: &[(T, u32)], random: &mut SplitMix64) -> T {
    let total: u32 = choices.iter().map(|(_, weight)| weight).sum();
    let mut target = random.range(0, total as usize - 1) as u32;
    for &(choice, weight) in choices {
        if target < weight {
            return choice;
        }
        target -= weight;
    }
    choices[0].0
}

struct SqlWriter {
    dialect: Dialect,
}

/// The placeholders of one transaction. Parameter 1 is the id of the entity the transaction
/// is about, shared by its statements as in real code; every other value is a fresh parameter.
struct Placeholders {
    next: usize,
}

impl Placeholders {
    fn new() -> Self {
        Placeholders { next: 2 }
    }

    fn fresh(&mut self) -> usize {
        self.next += 1;
        self.next - 1
    }
}

impl SqlWriter {
    fn name(&self, name: &str) -> String {
        match self.dialect {
            Dialect::Postgres => name.to_string(),
            Dialect::Mysql => format!("`{name}`"),
        }
    }

    fn placeholder(&self, number: usize) -> String {
        match self.dialect {
            Dialect::Postgres => format!("${number}"),
            Dialect::Mysql => "?".to_string(),
        }
    }

    fn schema(&self, tables: &[Table]) -> String {
        let (text_type, bigint) = match self.dialect {
            Dialect::Postgres => ("text", "bigint"),
            // MySQL cannot index TEXT without a prefix length.
            Dialect::Mysql => ("varchar(255)", "bigint"),
        };
        let mut sql = String::from("-- Generated by examples/gen.rs: the schema.\n\n");
        for table in tables {
            let mut columns = vec![format!("    {} {bigint} PRIMARY KEY", self.name("id"))];
            for filter in &table.filters {
                let column_type = if filter.ends_with("_id") {
                    bigint
                } else {
                    text_type
                };
                columns.push(format!("    {} {column_type}", self.name(filter)));
            }
            for counter in &table.counters {
                columns.push(format!(
                    "    {} {bigint} NOT NULL DEFAULT 0",
                    self.name(counter)
                ));
            }
            columns.push(format!(
                "    {} {text_type} NOT NULL",
                self.name(table.natural_key)
            ));
            if table.unique == UniqueKind::Constraint {
                columns.push(format!("    UNIQUE ({})", self.name(table.natural_key)));
            }
            let _ = writeln!(
                sql,
                "CREATE TABLE {} (\n{}\n);",
                self.name(&table.name),
                columns.join(",\n")
            );
            if table.unique == UniqueKind::Index {
                let _ = writeln!(
                    sql,
                    "CREATE UNIQUE INDEX {} ON {} ({});",
                    self.name(&format!("{}_{}_key", table.name, table.natural_key)),
                    self.name(&table.name),
                    self.name(table.natural_key)
                );
            }
            sql.push('\n');
        }
        sql
    }

    fn transaction(
        &self,
        index: usize,
        tables: &[Table],
        table_choice: &Zipf,
        random: &mut SplitMix64,
    ) -> String {
        let mut sql = format!("-- name: t{index}\nBEGIN;\n");
        let mut placeholders = Placeholders::new();
        let statements = random.range(2, 6);
        for _ in 0..statements {
            let table = &tables[table_choice.sample(random)];
            let statement = self.statement(random_shape(random), table, &mut placeholders, random);
            sql.push_str(&statement);
            sql.push_str(";\n");
        }
        sql.push_str("COMMIT;\n");
        sql
    }

    fn statement(
        &self,
        shape: Shape,
        table: &Table,
        placeholders: &mut Placeholders,
        random: &mut SplitMix64,
    ) -> String {
        let name = self.name(&table.name);
        let id = self.name("id");
        let counter_choice = Zipf::new(table.counters.len(), ZIPF_EXPONENT);
        let counter = self.name(table.counters[counter_choice.sample(random)]);
        let filter = self.name(table.filters[random.range(0, table.filters.len() - 1)]);
        match shape {
            Shape::PointRead => {
                let key = self.row_key(placeholders, random);
                format!("SELECT {counter} FROM {name} WHERE {id} = {key}")
            }
            Shape::PredicateRead => {
                let value = self.placeholder(placeholders.fresh());
                if random.chance(0.5) {
                    format!("SELECT count(*) FROM {name} WHERE {filter} = {value}")
                } else {
                    format!("SELECT {id}, {counter} FROM {name} WHERE {filter} = {value}")
                }
            }
            Shape::LockedRead => {
                let key = self.row_key(placeholders, random);
                format!("SELECT {counter} FROM {name} WHERE {id} = {key} FOR UPDATE")
            }
            Shape::InPlaceUpdate => {
                let amount = self.placeholder(placeholders.fresh());
                let key = self.row_key(placeholders, random);
                format!("UPDATE {name} SET {counter} = {counter} + {amount} WHERE {id} = {key}")
            }
            Shape::BlindUpdate => {
                let value = self.placeholder(placeholders.fresh());
                if random.chance(0.25) {
                    let matched = self.placeholder(placeholders.fresh());
                    format!("UPDATE {name} SET {counter} = {value} WHERE {filter} = {matched}")
                } else {
                    let key = self.row_key(placeholders, random);
                    format!("UPDATE {name} SET {counter} = {value} WHERE {id} = {key}")
                }
            }
            Shape::Insert => {
                let new_id = self.placeholder(placeholders.fresh());
                let filter_value = self.placeholder(placeholders.fresh());
                let key_value = self.placeholder(placeholders.fresh());
                let natural_key = self.name(table.natural_key);
                format!(
                    "INSERT INTO {name} ({id}, {filter}, {natural_key}) \
                     VALUES ({new_id}, {filter_value}, {key_value})"
                )
            }
            Shape::Delete => {
                if random.chance(0.3) {
                    let value = self.placeholder(placeholders.fresh());
                    format!("DELETE FROM {name} WHERE {filter} = {value}")
                } else {
                    let key = self.row_key(placeholders, random);
                    format!("DELETE FROM {name} WHERE {id} = {key}")
                }
            }
            Shape::Upsert => self.upsert(table, &counter, placeholders),
        }
    }

    /// The id a statement addresses: mostly the transaction's entity (parameter 1), as real
    /// code passes one id to all its statements; sometimes another row.
    fn row_key(&self, placeholders: &mut Placeholders, random: &mut SplitMix64) -> String {
        if random.chance(0.7) {
            self.placeholder(1)
        } else {
            self.placeholder(placeholders.fresh())
        }
    }

    /// An insert that falls back to an in-place update when the row's key already exists.
    fn upsert(&self, table: &Table, counter: &str, placeholders: &mut Placeholders) -> String {
        let name = self.name(&table.name);
        let conflict_column = if table.has_unique_key() {
            table.natural_key
        } else {
            "id"
        };
        let conflict = self.name(conflict_column);
        let id = self.name("id");
        let natural_key = self.name(table.natural_key);
        let values = [
            self.placeholder(placeholders.fresh()),
            self.placeholder(placeholders.fresh()),
            self.placeholder(placeholders.fresh()),
        ]
        .join(", ");
        match self.dialect {
            Dialect::Postgres => format!(
                "INSERT INTO {name} ({id}, {natural_key}, {counter}) VALUES ({values}) \
                 ON CONFLICT ({conflict}) DO UPDATE SET {counter} = {name}.{counter} + \
                 EXCLUDED.{counter}"
            ),
            Dialect::Mysql => format!(
                "INSERT INTO {name} ({id}, {natural_key}, {counter}) VALUES ({values}) \
                 ON DUPLICATE KEY UPDATE {counter} = {counter} + VALUES({counter})"
            ),
        }
    }
}
