//! The database side of `confirm`: the server `--database-url` names (or a private one's),
//! connections to it, the errors it reports, and quoting. Two families of servers are spoken
//! to: PostgreSQL, and MySQL/MariaDB (InnoDB). What differs between them in the SQL `confirm`
//! writes or in how it asks the server is a method of [`Flavor`] or a branch of
//! [`Connection`]; everything above this module (plans, schedules, rows, verdicts) is shared.

use std::str::FromStr;

use postgres::error::ErrorPosition;
use postgres::{Client, NoTls, SimpleQueryMessage};

use crate::semantics::{Engine, Level};

/// Rows as the server prints them (text format); `None` is NULL.
pub type Rows = Vec<Vec<Option<String>>>;

/// The family of server a finding is replayed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Postgres,
    /// MySQL or MariaDB with InnoDB.
    Mysql,
}

impl Flavor {
    /// The server family that runs `engine`'s SQL, when `confirm` can run it.
    pub fn of(engine: Engine) -> Option<Flavor> {
        match engine {
            Engine::Postgres => Some(Flavor::Postgres),
            Engine::Mysql | Engine::Mariadb => Some(Flavor::Mysql),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Flavor::Postgres => "PostgreSQL",
            Flavor::Mysql => "MariaDB/MySQL",
        }
    }

    /// The engine whose dialect reads the statements sent to this server.
    pub fn engine(self) -> Engine {
        match self {
            Flavor::Postgres => Engine::Postgres,
            Flavor::Mysql => Engine::Mysql,
        }
    }

    /// An identifier as the server reads it in its default mode.
    pub fn quote_ident(self, name: &str) -> String {
        match self {
            Flavor::Postgres => quote_ident(name),
            Flavor::Mysql => format!("`{}`", name.replace('`', "``")),
        }
    }

    /// The statement that begins a transaction at `level`.
    pub fn begin(self, level: Level) -> String {
        match self {
            Flavor::Postgres => format!("BEGIN ISOLATION LEVEL {}", level.sql()),
            Flavor::Mysql => format!(
                "SET TRANSACTION ISOLATION LEVEL {}; START TRANSACTION",
                level.sql()
            ),
        }
    }

    /// Yesterday, today and tomorrow as `YYYY-MM-DD`, one row of three columns.
    pub fn days_sql(self) -> &'static str {
        match self {
            Flavor::Postgres => {
                "SELECT (current_date - 1)::text, current_date::text, (current_date + 1)::text"
            }
            Flavor::Mysql => {
                "SELECT CURRENT_DATE - INTERVAL 1 DAY, CURRENT_DATE, CURRENT_DATE + INTERVAL 1 DAY"
            }
        }
    }

    /// SQLSTATEs of errors that say a name is missing (a table, column, function, schema).
    pub fn is_missing_name(self, code: &str) -> bool {
        matches!(
            code,
            "42P01" | "42883" | "42703" | "42704" | "3F000" | "42S02" | "42S22"
        )
    }
}

/// A server and one of its databases.
#[derive(Clone)]
pub struct Database {
    config: Config,
}

#[derive(Clone)]
enum Config {
    Postgres(Box<postgres::Config>),
    Mysql(mysql::OptsBuilder),
}

impl Database {
    /// `mysql://` (or `mariadb://`) URLs name a MySQL-family server, anything else a
    /// PostgreSQL one (`postgres://...`, `host=/tmp user=postgres`).
    pub fn new(url: &str) -> Result<Database, String> {
        let mysql_url = url
            .strip_prefix("mariadb://")
            .map(|rest| format!("mysql://{rest}"))
            .or_else(|| url.starts_with("mysql://").then(|| url.to_string()));
        if let Some(mysql_url) = mysql_url {
            let opts = mysql::Opts::from_url(&mysql_url).map_err(|error| {
                format!(
                    "`{url}` is not a MySQL connection URL ({error}); write \
                     mysql://USER[:PASSWORD]@HOST[:PORT]/DB or \
                     mysql://USER@localhost/DB?socket=/path/to/mysqld.sock"
                )
            })?;
            // Writes report the rows they matched, as PostgreSQL's do (and as most
            // applications' drivers ask), not only the rows whose values changed.
            let options = mysql::OptsBuilder::from_opts(opts)
                .additional_capabilities(mysql::consts::CapabilityFlags::CLIENT_FOUND_ROWS);
            return Ok(Database {
                config: Config::Mysql(options),
            });
        }
        let config = postgres::Config::from_str(url)
            .map_err(|error| format!("`{url}` is not a PostgreSQL connection string: {error}"))?;
        Ok(Database {
            config: Config::Postgres(Box::new(config)),
        })
    }

    pub fn flavor(&self) -> Flavor {
        match self.config {
            Config::Postgres(_) => Flavor::Postgres,
            Config::Mysql(_) => Flavor::Mysql,
        }
    }

    pub fn connect(&self) -> Result<Connection, String> {
        match &self.config {
            Config::Postgres(config) => config
                .connect(NoTls)
                .map(|client| Connection::Postgres(Box::new(client)))
                .map_err(|error| format!("cannot connect to PostgreSQL: {}", describe(&error))),
            Config::Mysql(options) => mysql::Conn::new(options.clone())
                .map(Connection::Mysql)
                .map_err(|error| {
                    format!(
                        "cannot connect to MariaDB/MySQL: {}",
                        ServerError::from_mysql(&error).message
                    )
                }),
        }
    }

    /// The same server, another database on it.
    pub fn with_database(&self, name: &str) -> Database {
        let config = match &self.config {
            Config::Postgres(config) => {
                let mut config = config.clone();
                config.dbname(name);
                Config::Postgres(config)
            }
            Config::Mysql(options) => Config::Mysql(options.clone().db_name(Some(name))),
        };
        Database { config }
    }
}

/// A connection to a [`Database`].
pub enum Connection {
    Postgres(Box<Client>),
    Mysql(mysql::Conn),
}

/// What a statement sent as text gave back.
#[derive(Debug, Default)]
pub struct Answer {
    pub rows: Rows,
    /// The number of rows the last statement affected (inserted, updated or deleted, or
    /// returned).
    pub affected: u64,
    /// Where each result column comes from, when the server says it with the rows (MySQL's
    /// column definitions); PostgreSQL's are asked for apart.
    pub columns: Vec<ResultColumn>,
}

/// A result column's origin as MySQL describes it with the rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultColumn {
    /// The table it is read from, empty for an expression.
    pub table: String,
    pub name: String,
    /// `timestamp`, `date`, `time` for those types, else empty.
    pub type_name: String,
}

impl Connection {
    pub fn flavor(&self) -> Flavor {
        match self {
            Connection::Postgres(_) => Flavor::Postgres,
            Connection::Mysql(_) => Flavor::Mysql,
        }
    }

    /// The PostgreSQL client, for what only PostgreSQL is asked (its catalog, typed rows).
    pub fn postgres(&mut self) -> Option<&mut Client> {
        match self {
            Connection::Postgres(client) => Some(&mut **client),
            Connection::Mysql(_) => None,
        }
    }

    /// The server's own id of this connection: PostgreSQL's backend pid, MySQL's thread id.
    pub fn session_id(&mut self) -> Result<i64, String> {
        match self {
            Connection::Postgres(client) => client
                .query_one("SELECT pg_backend_pid()", &[])
                .map(|row| i64::from(row.get::<_, i32>(0)))
                .map_err(|error| describe(&error)),
            Connection::Mysql(connection) => Ok(i64::from(connection.connection_id())),
        }
    }

    /// Runs `sql` (one statement, or several), with the rows of every statement.
    pub fn answer(&mut self, sql: &str) -> Result<Answer, ServerError> {
        match self {
            Connection::Postgres(client) => {
                let messages = client
                    .simple_query(sql)
                    .map_err(|error| ServerError::new(&error))?;
                let mut answer = Answer::default();
                for message in messages {
                    match message {
                        SimpleQueryMessage::Row(row) => answer.rows.push(
                            (0..row.len())
                                .map(|index| row.get(index).map(str::to_string))
                                .collect(),
                        ),
                        SimpleQueryMessage::CommandComplete(affected) => {
                            answer.affected = affected;
                        }
                        _ => {}
                    }
                }
                Ok(answer)
            }
            Connection::Mysql(connection) => mysql_answer(connection, sql),
        }
    }

    /// Makes `"name"` an identifier on this connection, as isolint quotes the names it
    /// writes itself ([`quote_ident`]): MySQL's `ANSI_QUOTES`. The project's own SQL never
    /// runs on a connection in this mode.
    pub fn quote_as_standard(&mut self) -> Result<(), ServerError> {
        match self {
            Connection::Postgres(_) => Ok(()),
            Connection::Mysql(_) => self
                .answer("SET SESSION sql_mode = CONCAT(@@SESSION.sql_mode, ',ANSI_QUOTES')")
                .map(|_| ()),
        }
    }
}

/// Every result set of `sql` on a MySQL connection: the rows of all of them, the columns
/// and affected count of the last.
fn mysql_answer(connection: &mut mysql::Conn, sql: &str) -> Result<Answer, ServerError> {
    use mysql::prelude::Queryable;
    let mut result = connection
        .query_iter(sql)
        .map_err(|error| ServerError::from_mysql(&error))?;
    let mut answer = Answer::default();
    while let Some(set) = result.iter() {
        let columns: Vec<ResultColumn> = set
            .columns()
            .as_ref()
            .iter()
            .map(|column| {
                use mysql::consts::ColumnType;
                let type_name = match column.column_type() {
                    ColumnType::MYSQL_TYPE_TIMESTAMP
                    | ColumnType::MYSQL_TYPE_TIMESTAMP2
                    | ColumnType::MYSQL_TYPE_DATETIME
                    | ColumnType::MYSQL_TYPE_DATETIME2 => "timestamp",
                    ColumnType::MYSQL_TYPE_DATE | ColumnType::MYSQL_TYPE_NEWDATE => "date",
                    ColumnType::MYSQL_TYPE_TIME | ColumnType::MYSQL_TYPE_TIME2 => "time",
                    _ => "",
                };
                ResultColumn {
                    table: column.org_table_str().to_string(),
                    name: column.org_name_str().to_string(),
                    type_name: type_name.to_string(),
                }
            })
            .collect();
        let mut rows = Vec::new();
        let mut affected = set.affected_rows();
        for row in set {
            let row = row.map_err(|error| ServerError::from_mysql(&error))?;
            rows.push(row.unwrap().into_iter().map(mysql_text).collect());
        }
        if !columns.is_empty() {
            affected = rows.len() as u64;
        }
        answer.rows.extend(rows);
        answer.affected = affected;
        answer.columns = columns;
    }
    Ok(answer)
}

/// A value of MySQL's text protocol as text; `None` is NULL.
fn mysql_text(value: mysql::Value) -> Option<String> {
    use mysql::Value;
    Some(match value {
        Value::NULL => return None,
        Value::Bytes(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Value::Int(number) => number.to_string(),
        Value::UInt(number) => number.to_string(),
        Value::Float(number) => number.to_string(),
        Value::Double(number) => number.to_string(),
        other => other.as_sql(true).trim_matches('\'').to_string(),
    })
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
    /// What kind of constraint stopped it, when one did.
    pub violation: Option<Violation>,
    /// MySQL's error number (`1213`), which says more than its SQLSTATE.
    pub number: Option<u16>,
}

/// The kind of constraint a violation broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Violation {
    Check,
    NotNull,
    ForeignKey,
    Unique,
}

impl ServerError {
    pub fn new(error: &postgres::Error) -> ServerError {
        let db = error.as_db_error();
        let code = error.code().map(|code| code.code().to_string());
        ServerError {
            violation: match code.as_deref() {
                Some("23514") => Some(Violation::Check),
                Some("23502") => Some(Violation::NotNull),
                Some("23503") => Some(Violation::ForeignKey),
                Some("23505") => Some(Violation::Unique),
                _ => None,
            },
            code,
            message: describe(error),
            position: db.and_then(|db| match db.position() {
                Some(ErrorPosition::Original(position)) => usize::try_from(*position).ok(),
                _ => None,
            }),
            constraint: db.and_then(|db| db.constraint()).map(str::to_string),
            column: db.and_then(|db| db.column()).map(str::to_string),
            number: None,
        }
    }

    /// MySQL says which constraint or column only in its message: `CONSTRAINT `c` failed`,
    /// `a foreign key constraint fails (..., CONSTRAINT `fk` FOREIGN KEY ...)`, `Column 'x'
    /// cannot be null`, `Field 'x' doesn't have a default value`.
    pub fn from_mysql(error: &mysql::Error) -> ServerError {
        let mysql::Error::MySqlError(server) = error else {
            return ServerError {
                code: None,
                message: error.to_string(),
                position: None,
                constraint: None,
                column: None,
                violation: None,
                number: None,
            };
        };
        let between = |text: &str, open: &str, close: char| {
            let start = text.find(open)? + open.len();
            let length = text[start..].find(close)?;
            Some(text[start..start + length].to_string())
        };
        let violation = match server.code {
            // ER_CONSTRAINT_FAILED (MariaDB), ER_CHECK_CONSTRAINT_VIOLATED (MySQL).
            4025 | 3819 => Some(Violation::Check),
            // ER_BAD_NULL_ERROR, ER_NO_DEFAULT_FOR_FIELD.
            1048 | 1364 => Some(Violation::NotNull),
            // ER_NO_REFERENCED_ROW(_2), ER_ROW_IS_REFERENCED(_2).
            1216 | 1217 | 1451 | 1452 => Some(Violation::ForeignKey),
            // ER_DUP_ENTRY.
            1062 => Some(Violation::Unique),
            _ => None,
        };
        ServerError {
            code: Some(server.state.clone()),
            message: format!(
                "{} (error {}, SQLSTATE {})",
                server.message, server.code, server.state
            ),
            position: None,
            constraint: between(&server.message, "CONSTRAINT `", '`'),
            column: match violation {
                Some(Violation::NotNull) => between(&server.message, "'", '\''),
                _ => None,
            },
            // A NOT NULL column without a default is HY000 in strict mode: a constraint all
            // the same.
            violation,
            number: Some(server.code),
        }
    }

    /// 40001 (serialization failure; MySQL's deadlock too) or 40P01 (PostgreSQL's deadlock
    /// detected), or MariaDB's snapshot-isolation write check (error 1020, "Record has
    /// changed since last read").
    pub fn is_serialization_failure(&self) -> bool {
        matches!(self.code.as_deref(), Some("40001" | "40P01")) || self.number == Some(1020)
    }

    /// Class 23, or a constraint MySQL reports in another class: a constraint stopped it.
    pub fn is_constraint_violation(&self) -> bool {
        self.violation.is_some()
            || self
                .code
                .as_deref()
                .is_some_and(|code| code.starts_with("23"))
    }

    /// A table or other object it names does not exist (42P01, 42704; MySQL's 1146): in a
    /// run where another transaction drops it (a routine's `DROP TABLE`), the interleaving's
    /// doing.
    pub fn is_missing_object(&self) -> bool {
        matches!(self.code.as_deref(), Some("42P01" | "42704")) || self.number == Some(1146)
    }

    /// An exception the project's own code raised: PL/pgSQL's `RAISE EXCEPTION` (P0001), a
    /// MySQL routine's `SIGNAL SQLSTATE '45000'`.
    pub fn is_raised_by_project(&self) -> bool {
        matches!(self.code.as_deref(), Some("P0001" | "45000"))
    }
}

/// Runs one statement (or several, in one implicit transaction on PostgreSQL); the rows
/// (empty for a statement that returns none).
pub fn query(connection: &mut Connection, sql: &str) -> Result<Rows, ServerError> {
    connection.answer(sql).map(|answer| answer.rows)
}

/// Like [`query`], with the number of rows the last statement affected (its command tag's
/// count: rows inserted, updated or deleted, or returned).
pub fn query_counted(connection: &mut Connection, sql: &str) -> Result<(Rows, u64), ServerError> {
    connection
        .answer(sql)
        .map(|answer| (answer.rows, answer.affected))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn mysql_error(code: u16, state: &str, message: &str) -> ServerError {
        ServerError::from_mysql(&mysql::Error::MySqlError(mysql::MySqlError {
            state: state.to_string(),
            message: message.to_string(),
            code,
        }))
    }

    #[test]
    fn mysql_errors_say_which_constraint_or_column() {
        let foreign = mysql_error(
            1452,
            "23000",
            "Cannot add or update a child row: a foreign key constraint fails \
             (`db`.`bookings`, CONSTRAINT `fk_bookings_room` FOREIGN KEY (`room_id`) \
             REFERENCES `rooms` (`id`))",
        );
        assert_eq!(foreign.violation, Some(Violation::ForeignKey));
        assert_eq!(foreign.constraint.as_deref(), Some("fk_bookings_room"));
        assert!(foreign.is_constraint_violation());
        let not_null = mysql_error(1364, "HY000", "Field 'email' doesn't have a default value");
        assert_eq!(not_null.violation, Some(Violation::NotNull));
        assert_eq!(not_null.column.as_deref(), Some("email"));
        let check = mysql_error(
            4025,
            "23000",
            "CONSTRAINT `qty_positive` failed for `db`.`t`",
        );
        assert_eq!(check.constraint.as_deref(), Some("qty_positive"));
        let deadlock = mysql_error(1213, "40001", "Deadlock found when trying to get lock");
        assert!(deadlock.is_serialization_failure());
        assert_eq!(
            deadlock.message,
            "Deadlock found when trying to get lock (error 1213, SQLSTATE 40001)"
        );
        // MariaDB's snapshot isolation check is a serialization failure too.
        assert!(
            mysql_error(1020, "HY000", "Record has changed since last read")
                .is_serialization_failure()
        );
        assert!(mysql_error(1644, "45000", "out of stock").is_raised_by_project());
        // Odd messages give no names, never a panic.
        let odd = mysql_error(1452, "23000", "CONSTRAINT `");
        assert_eq!(odd.constraint, None);
    }

    #[test]
    fn urls_choose_the_server_family() {
        let flavor = |url: &str| Database::new(url).map(|database| database.flavor());
        assert_eq!(flavor("postgres://me@localhost/db"), Ok(Flavor::Postgres));
        assert_eq!(flavor("host=/tmp user=postgres"), Ok(Flavor::Postgres));
        assert_eq!(
            flavor("mysql://root@localhost/?socket=/tmp/x/mariadbd.sock"),
            Ok(Flavor::Mysql)
        );
        assert_eq!(flavor("mariadb://root@localhost/db"), Ok(Flavor::Mysql));
        let error = flavor("mysql://root@localhost:notaport/db").unwrap_err();
        assert!(error.contains("is not a MySQL connection URL"), "{error}");
        assert_eq!(
            Flavor::Mysql.begin(Level::Serializable),
            "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE; START TRANSACTION"
        );
        assert_eq!(Flavor::Mysql.quote_ident("a`b"), "`a``b`");
    }
}
