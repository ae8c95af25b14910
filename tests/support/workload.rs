//! Small generated projects: a schema and a few transactions over it, built from arbitrary
//! bytes and rendered as SQL files. The property tests and the analysis fuzz target share it.

use std::path::PathBuf;

use arbitrary::{Arbitrary, Unstructured};
use isolint::semantics::{Engine, Level};
use isolint::source::{Role, SourceFile};

pub const MAX_TABLES: usize = 2;
pub const MAX_COLUMNS: usize = 3;
pub const MAX_TRANSACTIONS: usize = 3;
pub const MAX_STATEMENTS: usize = 3;
pub const MAX_PARAMETERS: u8 = 2;

#[derive(Debug, Clone)]
pub struct Workload {
    /// Columns per table (besides the `id` primary key), and which are UNIQUE.
    pub tables: Vec<Table>,
    pub transactions: Vec<Transaction>,
}

#[derive(Debug, Clone)]
pub struct Table {
    pub columns: usize,
    pub unique: Vec<usize>,
}

#[derive(Debug, Clone)]
pub struct Transaction {
    pub level: Option<Level>,
    pub statements: Vec<Statement>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Statement {
    Select {
        table: usize,
        column: usize,
        filter: Filter,
        for_update: bool,
    },
    Count {
        table: usize,
        filter: Filter,
        for_update: bool,
    },
    Update {
        table: usize,
        column: usize,
        value: Value,
        filter: Filter,
    },
    Insert {
        table: usize,
        columns: Vec<usize>,
    },
    Delete {
        table: usize,
        filter: Filter,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    Id(u8),
    Column(usize, u8),
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    Parameter(u8),
    Increment,
}

/// How names are spelled when rendering: the renaming laws render one workload twice.
#[derive(Debug, Clone)]
pub struct Names {
    pub table_prefix: String,
    pub column_prefix: String,
    /// Parameter `n` renders as `$(n + parameter_offset)`.
    pub parameter_offset: u8,
}

impl Default for Names {
    fn default() -> Self {
        Names {
            table_prefix: "t".into(),
            column_prefix: "c".into(),
            parameter_offset: 1,
        }
    }
}

impl Names {
    pub fn table(&self, table: usize) -> String {
        format!("{}{table}", self.table_prefix)
    }

    pub fn column(&self, column: usize) -> String {
        format!("{}{column}", self.column_prefix)
    }

    fn parameter(&self, parameter: u8) -> String {
        format!("${}", parameter + self.parameter_offset)
    }
}

fn index(input: &mut Unstructured, below: usize) -> arbitrary::Result<usize> {
    input.choose_index(below)
}

fn filter(input: &mut Unstructured, columns: usize) -> arbitrary::Result<Filter> {
    Ok(match index(input, 3)? {
        0 => Filter::Id(input.int_in_range(0..=MAX_PARAMETERS - 1)?),
        1 => Filter::Column(
            index(input, columns)?,
            input.int_in_range(0..=MAX_PARAMETERS - 1)?,
        ),
        _ => Filter::All,
    })
}

impl<'a> Arbitrary<'a> for Workload {
    fn arbitrary(input: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let mut tables = Vec::new();
        for _ in 0..=index(input, MAX_TABLES)? {
            let columns = 1 + index(input, MAX_COLUMNS)?;
            let unique = (0..columns)
                .filter(|_| input.ratio(1, 4).unwrap_or(false))
                .collect();
            tables.push(Table { columns, unique });
        }
        let mut transactions = Vec::new();
        for _ in 0..=index(input, MAX_TRANSACTIONS)? {
            let level = match index(input, Level::ALL.len() + 1)? {
                0 => None,
                chosen => Some(Level::ALL[chosen - 1]),
            };
            let mut statements = Vec::new();
            for _ in 0..=index(input, MAX_STATEMENTS)? {
                let table = index(input, tables.len())?;
                let columns = tables[table].columns;
                let statement = match index(input, 5)? {
                    0 => Statement::Select {
                        table,
                        column: index(input, columns)?,
                        filter: filter(input, columns)?,
                        for_update: input.arbitrary()?,
                    },
                    1 => Statement::Count {
                        table,
                        filter: filter(input, columns)?,
                        for_update: input.arbitrary()?,
                    },
                    2 => Statement::Update {
                        table,
                        column: index(input, columns)?,
                        value: if input.arbitrary()? {
                            Value::Increment
                        } else {
                            Value::Parameter(input.int_in_range(0..=MAX_PARAMETERS - 1)?)
                        },
                        filter: filter(input, columns)?,
                    },
                    3 => Statement::Insert {
                        table,
                        columns: (0..columns)
                            .filter(|_| input.arbitrary().unwrap_or(false))
                            .collect(),
                    },
                    _ => Statement::Delete {
                        table,
                        filter: filter(input, columns)?,
                    },
                };
                statements.push(statement);
            }
            transactions.push(Transaction { level, statements });
        }
        Ok(Workload {
            tables,
            transactions,
        })
    }
}

impl Workload {
    /// The workload from a byte string; `None` when the bytes run out too early.
    pub fn from_bytes(bytes: &[u8]) -> Option<Workload> {
        Workload::arbitrary(&mut Unstructured::new(bytes)).ok()
    }

    pub fn schema_sql(&self, names: &Names) -> String {
        let mut sql = String::new();
        for (table, spec) in self.tables.iter().enumerate() {
            let columns: Vec<String> = std::iter::once("id int PRIMARY KEY".to_string())
                .chain((0..spec.columns).map(|column| {
                    let unique = if spec.unique.contains(&column) {
                        " UNIQUE"
                    } else {
                        ""
                    };
                    format!("{} int{unique}", names.column(column))
                }))
                .collect();
            sql.push_str(&format!(
                "CREATE TABLE {} ({});\n",
                names.table(table),
                columns.join(", ")
            ));
        }
        sql
    }

    /// One transaction as SQL for `engine`, named `name`.
    pub fn transaction_sql(&self, engine: Engine, index: usize, names: &Names) -> String {
        let transaction = &self.transactions[index];
        let mut sql = format!("-- name: txn{index}\n");
        if let Some(level) = transaction.level {
            sql.push_str(&format!("-- isolint: isolation {}\n", level.id()));
        }
        sql.push_str(match engine {
            Engine::Mysql | Engine::Mariadb => "START TRANSACTION;\n",
            Engine::Sqlserver => "BEGIN TRANSACTION;\n",
            Engine::Oracle => "",
            _ => "BEGIN;\n",
        });
        for statement in &transaction.statements {
            sql.push_str(&render_statement(statement, engine, names));
            sql.push_str(";\n");
        }
        sql.push_str("COMMIT;\n");
        sql
    }

    /// The project as files: the schema, then one file per transaction.
    pub fn files(&self, engine: Engine, names: &Names) -> Vec<SourceFile> {
        let mut files = vec![SourceFile::new(
            PathBuf::from("migrations/001_schema.sql"),
            Role::Schema,
            self.schema_sql(names),
        )];
        for index in 0..self.transactions.len() {
            files.push(SourceFile::new(
                PathBuf::from(format!("txns/txn{index}.sql")),
                Role::Transactions,
                self.transaction_sql(engine, index, names),
            ));
        }
        files
    }
}

fn render_filter(filter: Filter, names: &Names) -> String {
    match filter {
        Filter::Id(parameter) => format!(" WHERE id = {}", names.parameter(parameter)),
        Filter::Column(column, parameter) => format!(
            " WHERE {} = {}",
            names.column(column),
            names.parameter(parameter)
        ),
        Filter::All => String::new(),
    }
}

/// A read's table and the lock clause after its filter: `FOR UPDATE`, or T-SQL's `UPDLOCK`
/// hint (SQLite has no row locks).
fn locked_read(engine: Engine, table: String, for_update: bool) -> (String, &'static str) {
    match engine {
        _ if !for_update => (table, ""),
        Engine::Sqlserver => (format!("{table} WITH (UPDLOCK)"), ""),
        Engine::Sqlite => (table, ""),
        _ => (table, " FOR UPDATE"),
    }
}

fn render_statement(statement: &Statement, engine: Engine, names: &Names) -> String {
    match statement {
        Statement::Select {
            table,
            column,
            filter,
            for_update,
        } => {
            let (from, lock) = locked_read(engine, names.table(*table), *for_update);
            format!(
                "SELECT {} FROM {from}{}{lock}",
                names.column(*column),
                render_filter(*filter, names),
            )
        }
        Statement::Count {
            table,
            filter,
            for_update,
        } => {
            let (from, lock) = locked_read(engine, names.table(*table), *for_update);
            format!(
                "SELECT count(*) FROM {from}{}{lock}",
                render_filter(*filter, names)
            )
        }
        Statement::Update {
            table,
            column,
            value,
            filter,
        } => {
            let column = names.column(*column);
            let value = match value {
                Value::Parameter(parameter) => names.parameter(*parameter),
                Value::Increment => format!("{column} + 1"),
            };
            format!(
                "UPDATE {} SET {column} = {value}{}",
                names.table(*table),
                render_filter(*filter, names)
            )
        }
        Statement::Insert { table, columns } => {
            let mut names_list = vec!["id".to_string()];
            let mut values = vec![names.parameter(0)];
            for column in columns {
                names_list.push(names.column(*column));
                values.push(names.parameter(1));
            }
            format!(
                "INSERT INTO {} ({}) VALUES ({})",
                names.table(*table),
                names_list.join(", "),
                values.join(", ")
            )
        }
        Statement::Delete { table, filter } => format!(
            "DELETE FROM {}{}",
            names.table(*table),
            render_filter(*filter, names)
        ),
    }
}
