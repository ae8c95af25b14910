//! The database side of `confirm`: the server `--database-url` names (or a private cluster's),
//! connections to it, the errors it reports, and quoting.

use std::str::FromStr;

use postgres::error::ErrorPosition;
use postgres::{Client, NoTls, SimpleQueryMessage};

/// Rows as PostgreSQL prints them (text format); `None` is NULL.
pub type Rows = Vec<Vec<Option<String>>>;

/// A PostgreSQL server and one of its databases.
#[derive(Clone)]
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

    /// The same server, another database on it.
    pub fn with_database(&self, name: &str) -> Database {
        let mut config = self.config.clone();
        config.dbname(name);
        Database { config }
    }
}

/// An error the server reported, with its SQLSTATE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerError {
    pub code: Option<String>,
    pub message: String,
    /// Where in the statement sent the server found the error: a 1-based character index.
    pub position: Option<usize>,
    /// The constraint a constraint violation names.
    pub constraint: Option<String>,
    /// The column a NOT NULL violation names.
    pub column: Option<String>,
}

impl ServerError {
    pub fn new(error: &postgres::Error) -> ServerError {
        let db = error.as_db_error();
        ServerError {
            code: error.code().map(|code| code.code().to_string()),
            message: describe(error),
            position: db.and_then(|db| match db.position() {
                Some(ErrorPosition::Original(position)) => usize::try_from(*position).ok(),
                _ => None,
            }),
            constraint: db.and_then(|db| db.constraint()).map(str::to_string),
            column: db.and_then(|db| db.column()).map(str::to_string),
        }
    }

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

/// Runs one statement (or several, in one implicit transaction) with the simple query
/// protocol; the rows (empty for a statement that returns none).
pub fn query(client: &mut Client, sql: &str) -> Result<Rows, ServerError> {
    let messages = client
        .simple_query(sql)
        .map_err(|error| ServerError::new(&error))?;
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

/// Like [`query`], with the number of rows the last statement affected (its command tag's
/// count: rows inserted, updated or deleted, or returned).
pub fn query_counted(client: &mut Client, sql: &str) -> Result<(Rows, u64), ServerError> {
    let messages = client
        .simple_query(sql)
        .map_err(|error| ServerError::new(&error))?;
    let mut rows = Vec::new();
    let mut count = 0;
    for message in messages {
        match message {
            SimpleQueryMessage::Row(row) => rows.push(
                (0..row.len())
                    .map(|index| row.get(index).map(str::to_string))
                    .collect(),
            ),
            SimpleQueryMessage::CommandComplete(affected) => count = affected,
            _ => {}
        }
    }
    Ok((rows, count))
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
/// database name, and `CREATE DATABASE` fails rather than reuse one.
pub fn random_suffix() -> String {
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
