//! The database side of `confirm`: connections, a scratch schema per run (created, filled,
//! read back and dropped), and nothing outside it.

use std::collections::BTreeMap;
use std::str::FromStr;

use postgres::{Client, NoTls, SimpleQueryMessage};

/// Rows as PostgreSQL prints them (text format); `None` is NULL.
pub type Rows = Vec<Vec<Option<String>>>;

/// The server named by `--database-url`.
pub struct Database {
    config: postgres::Config,
}

impl Database {
    pub fn new(url: &str) -> Result<Database, String> {
        let config = postgres::Config::from_str(url)
            .map_err(|error| format!("`{url}` is not a PostgreSQL connection string: {error}"))?;
        Ok(Database { config })
    }

    pub fn connect(&self) -> Result<Client, String> {
        self.config
            .connect(NoTls)
            .map_err(|error| format!("cannot connect to PostgreSQL: {}", describe(&error)))
    }
}

/// A column of a scratch table, as the server describes it.
#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub data_type: String,
    pub nullable: bool,
    pub default: Option<String>,
}

impl Column {
    /// Filled by the server: a serial or identity column.
    pub fn generated(&self) -> bool {
        self.default
            .as_deref()
            .is_some_and(|default| default.starts_with("nextval("))
    }

    /// Date, time and uuid columns take values (`now()`, random ids) that differ from run to
    /// run, so final contents are compared without them.
    pub fn volatile(&self) -> bool {
        self.data_type.contains("time") || self.data_type == "date" || self.data_type == "uuid"
    }
}

/// A schema of its own (`isolint_confirm_<random>`), dropped when this is dropped.
pub struct Scratch {
    pub name: String,
    admin: Client,
}

impl Scratch {
    pub fn create(database: &Database) -> Result<Scratch, String> {
        let mut admin = database.connect()?;
        let name = format!("isolint_confirm_{}", random_suffix());
        admin
            .batch_execute(&format!(
                "CREATE SCHEMA {name}; SET search_path TO {name}; SET statement_timeout = '30s'"
            ))
            .map_err(|error| format!("cannot create schema {name}: {}", describe(&error)))?;
        Ok(Scratch { name, admin })
    }

    /// Runs statements in the scratch schema, each on its own (autocommit).
    pub fn apply(&mut self, statements: &[String]) -> Result<(), String> {
        for statement in statements {
            self.admin
                .batch_execute(statement)
                .map_err(|error| format!("`{statement}` failed: {}", describe(&error)))?;
        }
        Ok(())
    }

    /// Like `apply`, with foreign-key triggers off where the role may turn them off: rows
    /// made up for a finding need not come with their parents.
    pub fn apply_without_foreign_keys(&mut self, statements: &[String]) -> Result<(), String> {
        let relaxed = self
            .admin
            .batch_execute("SET session_replication_role = replica")
            .is_ok();
        let applied = self.apply(statements);
        if relaxed {
            let _ = self
                .admin
                .batch_execute("SET session_replication_role = DEFAULT");
        }
        applied
    }

    /// A new connection whose names resolve in the scratch schema only.
    pub fn session(&self, database: &Database) -> Result<Client, String> {
        let mut client = database.connect()?;
        client
            .batch_execute(&format!(
                "SET search_path TO {}; SET statement_timeout = '30s'",
                self.name
            ))
            .map_err(|error| describe(&error))?;
        Ok(client)
    }

    /// The backend process of a connection, to watch it from the admin connection.
    pub fn backend_pid(client: &mut Client) -> Result<i32, String> {
        client
            .query_one("SELECT pg_backend_pid()", &[])
            .map(|row| row.get(0))
            .map_err(|error| describe(&error))
    }

    /// Whether the backend waits for a lock held by another transaction.
    pub fn waits_for_lock(&mut self, pid: i32) -> bool {
        self.admin
            .query_opt(
                "SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'",
                &[&pid],
            )
            .is_ok_and(|row| row.is_some())
    }

    pub fn columns(&mut self) -> Result<BTreeMap<String, Vec<Column>>, String> {
        let rows = self
            .admin
            .query(
                "SELECT table_name::text, column_name::text, data_type::text, \
                 is_nullable = 'YES', column_default::text \
                 FROM information_schema.columns WHERE table_schema = $1 \
                 ORDER BY table_name, ordinal_position",
                &[&self.name],
            )
            .map_err(|error| describe(&error))?;
        let mut tables: BTreeMap<String, Vec<Column>> = BTreeMap::new();
        for row in rows {
            tables.entry(row.get(0)).or_default().push(Column {
                name: row.get(1),
                data_type: row.get(2),
                nullable: row.get(3),
                default: row.get(4),
            });
        }
        Ok(tables)
    }

    /// Every table's rows, sorted, without volatile columns.
    pub fn contents(&mut self) -> Result<BTreeMap<String, Rows>, String> {
        let mut contents = BTreeMap::new();
        for (table, columns) in self.columns()? {
            let kept: Vec<String> = columns
                .iter()
                .filter(|column| !column.volatile())
                .map(|column| quote_ident(&column.name))
                .collect();
            if kept.is_empty() {
                continue;
            }
            let mut rows = query(
                &mut self.admin,
                &format!("SELECT {} FROM {}", kept.join(", "), quote_ident(&table)),
            )
            .map_err(|error| error.message)?;
            rows.sort();
            contents.insert(table, rows);
        }
        Ok(contents)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = self
            .admin
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
    }
}

/// An error the server reported, with its SQLSTATE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerError {
    pub code: Option<String>,
    pub message: String,
}

impl ServerError {
    /// 40001 (serialization failure) or 40P01 (deadlock detected).
    pub fn is_serialization_failure(&self) -> bool {
        matches!(self.code.as_deref(), Some("40001" | "40P01"))
    }

    /// Class 23: a constraint stopped it.
    pub fn is_constraint_violation(&self) -> bool {
        self.code
            .as_deref()
            .is_some_and(|code| code.starts_with("23"))
    }
}

/// Runs one statement; its rows (empty for a statement that returns none).
pub fn query(client: &mut Client, sql: &str) -> Result<Rows, ServerError> {
    let messages = client.simple_query(sql).map_err(|error| ServerError {
        code: error.code().map(|code| code.code().to_string()),
        message: describe(&error),
    })?;
    let mut rows = Vec::new();
    for message in messages {
        if let SimpleQueryMessage::Row(row) = message {
            rows.push(
                (0..row.len())
                    .map(|index| row.get(index).map(str::to_string))
                    .collect(),
            );
        }
    }
    Ok(rows)
}

/// The server's message where there is one, else the client's.
pub fn describe(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => error.to_string(),
    }
}

pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

pub fn quote_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// Sixteen hex digits from the clock, the process and a counter: unique enough for a
/// schema name, and `CREATE SCHEMA` fails rather than reuse one.
fn random_suffix() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.as_nanos())
            .unwrap_or_default(),
    );
    hasher.write_u32(std::process::id());
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    format!("{:016x}", hasher.finish())
}
