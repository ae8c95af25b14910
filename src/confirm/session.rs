//! Runs a schedule on real connections, one thread per session. A step that waits for a lock
//! is marked blocked and the schedule goes on with the other sessions, as PostgreSQL's own
//! isolation tester does: while a step has not answered, the server is asked whether its
//! backend waits for one of the other sessions (`pg_isolation_test_session_is_blocked`, the
//! tester's own question, which also counts waits for a safe snapshot; on MySQL, whether
//! InnoDB's monitor report shows its transaction in `LOCK WAIT`, or `PROCESSLIST` its
//! statement waiting for a table's metadata lock), so that a step waiting on a lock is told
//! from one still working. The blocked step completes when its
//! blocker commits or aborts. The lock-holder schedule's third session (`holder`) runs here
//! too, on a connection of its own; its statement is no part of the outcome.

use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use postgres::NoTls;
use serde::Serialize;

use super::catalog::Tables;
use super::database::{Connection, Database, Flavor, Rows, ServerError, query};
use super::plan::{Action, Plan, PlannedStep, Session};

/// The database one run happens in: a copy of the migrated template with the run's rows, and
/// a connection of its own to watch the sessions and read the outcome.
pub struct RunDatabase<'a> {
    pub database: &'a Database,
    pub admin: Connection,
    /// What every session runs first: where unqualified names resolve, time limits, and the
    /// server settings the check assumed.
    pub session_setup: String,
    pub tables: &'a Tables,
    /// The next transaction id when the copy was made, before its rows went in: every id
    /// from there on is handed out by this run.
    pub first_transaction: Option<i64>,
}

impl RunDatabase<'_> {
    /// A new connection for a transaction.
    fn session(&self) -> Result<Connection, String> {
        let mut client = self.database.connect()?;
        query(&mut client, &self.session_setup).map_err(|error| error.message)?;
        Ok(client)
    }

    /// Whether session `id` waits for a lock (or a safe snapshot) that one of `sessions`
    /// holds, as PostgreSQL's isolation tester asks it; on MySQL, whether its transaction
    /// waits for a row lock one of them holds, or its statement for a table's metadata lock.
    fn is_blocked(&mut self, id: i64, sessions: &[i64]) -> bool {
        let flavor = self.admin.flavor();
        let list = |ids: &[i64]| {
            ids.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let asked = match flavor {
            Flavor::Postgres => query(
                &mut self.admin,
                &format!(
                    "SELECT 1 WHERE pg_catalog.pg_isolation_test_session_is_blocked({id}, \
                     ARRAY[{}]::int4[])",
                    list(sessions)
                ),
            )
            // Servers before 9.6: any heavyweight lock wait.
            .or_else(|_| {
                query(
                    &mut self.admin,
                    &format!("SELECT 1 FROM pg_catalog.pg_locks WHERE pid = {id} AND NOT granted"),
                )
            }),
            // Only the run's sessions work in its database, so a wait is for one of them.
            // `information_schema.INNODB_TRX` would say it too, but InnoDB refreshes that table
            // only when nobody read it in the last 100 ms: polled (by this run or another),
            // it never shows a wait that began after the first question. The monitor's
            // report is made when asked.
            Flavor::Mysql => {
                let row_lock = query(&mut self.admin, "SHOW ENGINE INNODB STATUS").map(|rows| {
                    rows.into_iter()
                        .flatten()
                        .flatten()
                        .any(|status| innodb_status_waits(&status, id))
                });
                if row_lock.as_ref().is_ok_and(|waits| *waits) {
                    return true;
                }
                query(
                    &mut self.admin,
                    &format!(
                        "SELECT 1 FROM information_schema.PROCESSLIST \
                         WHERE ID = {id} AND STATE LIKE 'Waiting for %lock%'"
                    ),
                )
            }
        };
        asked.is_ok_and(|rows| !rows.is_empty())
    }

    /// Every table's rows, sorted, without volatile columns; key columns (`id`, `x_id`) with
    /// numbers a sequence gave out during the run masked. A table the run dropped is left out.
    fn contents(&mut self, fresh: &Fresh) -> Result<BTreeMap<String, Rows>, String> {
        let mut contents = BTreeMap::new();
        for table in self.tables.tables.iter().filter(|table| !table.partitioned) {
            let kept: Vec<String> = table
                .columns
                .iter()
                .filter(|column| !column.volatile())
                .map(|column| super::database::quote_ident(&column.name))
                .collect();
            if kept.is_empty() {
                continue;
            }
            let only = match self.admin.flavor() {
                Flavor::Postgres => "ONLY ",
                Flavor::Mysql => "",
            };
            let read = query(
                &mut self.admin,
                &format!(
                    "SELECT {} FROM {only}{}",
                    kept.join(", "),
                    table.qualified()
                ),
            );
            let mut rows = match read {
                Ok(rows) => rows,
                // The transactions dropped it (a queue's event table, with the queue): its
                // absence is part of what they left behind.
                Err(error) if matches!(error.code.as_deref(), Some("42P01" | "42S02")) => {
                    continue;
                }
                Err(error) => return Err(error.message),
            };
            let volatility: Vec<Volatility> = table
                .columns
                .iter()
                .filter(|column| !column.volatile())
                .map(|column| {
                    if is_key_name(&column.name) {
                        Volatility::WhenFresh
                    } else {
                        Volatility::Never
                    }
                })
                .collect();
            mask(&mut rows, &volatility, fresh, None);
            rows.sort();
            contents.insert(table.display(), rows);
        }
        Ok(contents)
    }
}

/// Whether InnoDB's monitor report (`SHOW ENGINE INNODB STATUS`) shows the transaction of
/// connection `id` waiting for a lock: its `---TRANSACTION` entry has a `LOCK WAIT` line and
/// names the connection (`MariaDB thread id 5,`, `MySQL thread id 5,`).
fn innodb_status_waits(status: &str, id: i64) -> bool {
    let thread = format!(" thread id {id},");
    status.split("\n---TRANSACTION ").skip(1).any(|entry| {
        let entry = entry.split("\n--------\n").next().unwrap_or(entry);
        entry.lines().any(|line| line.starts_with("LOCK WAIT"))
            && entry.lines().any(|line| line.contains(&thread))
    })
}

/// How long a schedule may make no progress before it is given up (PostgreSQL detects a
/// deadlock after a second).
const STALL_LIMIT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(5);

/// What a statement gave the application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatementResult {
    /// The rows it returned, sorted (a statement without RETURNING returns none).
    Rows(Rows),
    /// A write without RETURNING: how many rows it inserted, updated or deleted, which the
    /// application sees (a retry that reports one job moved back, though the job is gone).
    Affected(u64),
    /// It failed with this SQLSTATE.
    Error(String),
    /// It did not run: its transaction had failed before.
    Skipped,
}

/// What the transactions observed and left behind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// Per session (T1 first), per statement of its program.
    pub results: Vec<Vec<StatementResult>>,
    /// Every table's final rows, sorted.
    pub contents: BTreeMap<String, Rows>,
}

/// One line of the schedule as it ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    pub session: String,
    pub sql: String,
    /// `ok`, `blocked`, `error <SQLSTATE>: message`, `skipped`.
    pub result: String,
    /// The rows a read returned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub returned: Option<Rows>,
    /// For a step that blocked: the step after which it completed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_after: Option<usize>,
}

impl Event {
    /// Whether the step blocked and completed only after event `other` (a release).
    pub fn waited_for(&self, other: usize) -> bool {
        self.completed_after.is_some_and(|after| after >= other)
    }
}

/// The event of a run of `steps` that ran step `wanted`; `event_steps` gives the step each
/// event ran.
pub fn event_of(
    steps: &[PlannedStep],
    event_steps: &[usize],
    wanted: PlannedStep,
) -> Option<usize> {
    event_steps
        .iter()
        .position(|&step| steps.get(step) == Some(&wanted))
}

pub struct Execution {
    pub events: Vec<Event>,
    pub outcome: Outcome,
    /// The first error of each session, if it had one.
    pub errors: Vec<Option<ServerError>>,
    /// For each event, the index of the step it ran.
    pub event_steps: Vec<usize>,
}

/// Why a schedule could not be run to the end.
pub type Stalled = String;

/// What a statement returned, and where each of its result columns comes from.
struct Reply {
    /// The rows returned, and how many rows the statement affected.
    rows: Result<(Rows, u64), ServerError>,
    columns: Vec<Origin>,
}

/// A result column's table and `attnum` (for a plain column reference) and type.
struct Origin {
    table: Option<u32>,
    number: Option<i16>,
    /// The table's name, where the server names it rather than numbers it (MySQL).
    table_name: Option<String>,
    name: String,
    type_name: String,
}

/// How a statement still running is stopped.
enum Cancel {
    Postgres(postgres::CancelToken),
    /// `KILL QUERY` of this connection id, from another connection to the database.
    Mysql(Database, i64),
}

impl Cancel {
    fn cancel(&self) {
        match self {
            Cancel::Postgres(token) => {
                let _ = token.cancel_query(NoTls);
            }
            Cancel::Mysql(database, id) => {
                if let Ok(mut connection) = database.connect() {
                    let _ = query(&mut connection, &format!("KILL QUERY {id}"));
                }
            }
        }
    }
}

struct Worker {
    commands: Sender<String>,
    replies: Receiver<Reply>,
    /// The server's id of its connection.
    pid: i64,
    cancel: Cancel,
    thread: Option<JoinHandle<()>>,
    /// The event of the statement it is blocked in.
    blocked_at: Option<usize>,
    failed: bool,
    /// A statement after which the program returns found a row: it runs nothing more.
    returned: bool,
}

impl Worker {
    /// A connection of its own, on which `setup` runs first.
    fn start(run: &RunDatabase, setup: Option<&str>) -> Result<Worker, String> {
        let mut client = run.session()?;
        if let Some(setup) = setup {
            query(&mut client, setup).map_err(|error| error.message)?;
        }
        let pid = client.session_id()?;
        let cancel = match &client {
            Connection::Postgres(postgres) => Cancel::Postgres(postgres.cancel_token()),
            Connection::Mysql(_) => Cancel::Mysql(run.database.clone(), pid),
        };
        let (commands, inbox) = channel::<String>();
        let (outbox, replies) = channel();
        let thread = std::thread::spawn(move || {
            for sql in inbox {
                let described = origins(&mut client, &sql);
                let answer = client.answer(&sql);
                let columns = match &answer {
                    // MySQL describes the result columns with the rows.
                    Ok(answer) if described.is_empty() => answer
                        .columns
                        .iter()
                        .map(|column| Origin {
                            table: None,
                            number: None,
                            table_name: Some(column.table.clone())
                                .filter(|table| !table.is_empty()),
                            name: column.name.clone(),
                            type_name: column.type_name.clone(),
                        })
                        .collect(),
                    _ => described,
                };
                let reply = Reply {
                    rows: answer.map(|answer| (answer.rows, answer.affected)),
                    columns,
                };
                if outbox.send(reply).is_err() {
                    break;
                }
            }
        });
        Ok(Worker {
            commands,
            replies,
            pid,
            cancel,
            thread: Some(thread),
            blocked_at: None,
            failed: false,
            returned: false,
        })
    }
}

/// Where the result columns of `sql` come from, as PostgreSQL describes the statement
/// (transaction control and statements it cannot describe have none; MySQL's come with its
/// rows).
fn origins(connection: &mut Connection, sql: &str) -> Vec<Origin> {
    let Some(client) = connection.postgres() else {
        return Vec::new();
    };
    let first_word = sql
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if matches!(first_word.as_str(), "begin" | "commit" | "rollback" | "") {
        return Vec::new();
    }
    // Describing changes nothing, and takes its snapshot at the moment the statement would.
    // It runs in a savepoint so that a statement the server cannot describe (it then fails
    // when it runs, with the same error) does not abort the transaction before it runs.
    let savepoint = client.batch_execute("SAVEPOINT isolint_describe").is_ok();
    let described = client.prepare(sql);
    if savepoint {
        if described.is_err() {
            let _ = client.batch_execute("ROLLBACK TO SAVEPOINT isolint_describe");
        }
        let _ = client.batch_execute("RELEASE SAVEPOINT isolint_describe");
    }
    match described {
        Ok(statement) => statement
            .columns()
            .iter()
            .map(|column| Origin {
                table: column.table_oid(),
                number: column.column_id(),
                table_name: None,
                name: column.name().to_string(),
                type_name: column.type_().name().to_string(),
            })
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Values that differ from run to run whatever the order (clock readings, random ids,
/// numbers a sequence gave out during the run) are masked before outcomes are compared.
/// Numbers a sequence gave out are named by `labels` (see [`mask`]).
fn masked(
    mut rows: Rows,
    columns: &[Origin],
    tables: &Tables,
    fresh: &Fresh,
    labels: &mut BTreeMap<String, String>,
) -> Rows {
    let volatile: Vec<Volatility> = columns
        .iter()
        .map(
            |origin| match (origin.table, origin.number, &origin.table_name) {
                (Some(table), Some(number), _) if table != 0 => {
                    volatility_of(tables.column_at(table, number))
                }
                (_, _, Some(table)) => volatility_of(
                    tables
                        .find(table)
                        .and_then(|index| tables.tables[index].column(&origin.name)),
                ),
                _ if matches!(
                    origin.type_name.as_str(),
                    "timestamp" | "timestamptz" | "date" | "time" | "timetz" | "uuid" | "interval"
                ) =>
                {
                    Volatility::Always
                }
                _ if is_key_name(&origin.name) => Volatility::WhenFresh,
                _ => Volatility::Never,
            },
        )
        .collect();
    mask(&mut rows, &volatile, fresh, Some(labels));
    rows
}

/// How a table's column varies from run to run.
fn volatility_of(column: Option<&super::catalog::Column>) -> Volatility {
    match column {
        Some(column) if column.volatile() => Volatility::Always,
        Some(column) if is_key_name(&column.name) => Volatility::WhenFresh,
        _ => Volatility::Never,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Volatility {
    Never,
    Always,
    /// A key column: its value varies when a sequence gave it out during the run.
    WhenFresh,
}

/// `id`, `job_id`: a column that may hold a number a sequence gave out, declared or not.
fn is_key_name(name: &str) -> bool {
    name == "id" || name.ends_with("_id")
}

/// With `labels`, a number a sequence gave out during the run is named by when it was first
/// returned (`(new 1)`, `(new 2)`, ...) rather than masked whole: which values a run returned
/// were equal stays part of its outcome (two calls that got one batch against two), while
/// which numbers they were does not. Table contents, read in no fixed order, are masked whole.
fn mask(
    rows: &mut Rows,
    volatile: &[Volatility],
    fresh: &Fresh,
    mut labels: Option<&mut BTreeMap<String, String>>,
) {
    for row in rows.iter_mut() {
        for (value, volatile) in row.iter_mut().zip(volatile) {
            if *volatile == Volatility::Never
                && let Some(text) = value.as_mut()
            {
                *text = fresh.without_clock_readings(text);
            }
            let varies = match volatile {
                Volatility::Never => value
                    .as_deref()
                    .is_some_and(|value| fresh.is_transaction(value)),
                Volatility::Always => value.is_some(),
                Volatility::WhenFresh => {
                    value.as_deref().is_some_and(|value| fresh.contains(value))
                }
            };
            if !varies {
                continue;
            }
            *value = match (volatile, labels.as_deref_mut(), value.take()) {
                (Volatility::WhenFresh, Some(labels), Some(number)) => {
                    let next = format!("(new {})", labels.len() + 1);
                    Some(labels.entry(number).or_insert(next).clone())
                }
                _ => Some("(varies)".to_string()),
            };
        }
    }
    rows.sort();
}

/// The numbers the database's sequences and its transaction counter gave out during a run,
/// `(before, after]` of each, and the days it ran on.
#[derive(Debug, Default)]
struct Fresh {
    ranges: Vec<(i64, i64)>,
    transactions: Option<(i64, i64)>,
    /// The dates around the run (`2026-12-06`): a timestamp on one of them inside a value
    /// (`{"cancel_attempted_at": "2026-12-06T05:25:31.972053"}`) is a clock reading.
    days: Vec<String>,
}

impl Fresh {
    fn contains(&self, value: &str) -> bool {
        value.parse::<i64>().is_ok_and(|number| {
            self.ranges
                .iter()
                .any(|(before, after)| *before < number && number <= *after)
        })
    }

    /// `text` with every timestamp on a day of the run (`2026-12-06T05:25:31.97`,
    /// `2026-12-06 05:25:31+00`) written `(varies)`: the clock read it.
    fn without_clock_readings(&self, text: &str) -> String {
        let mut kept = String::with_capacity(text.len());
        let mut rest = text;
        'scan: while !rest.is_empty() {
            for day in &self.days {
                let Some(after) = rest.strip_prefix(day.as_str()) else {
                    continue;
                };
                let bytes = after.as_bytes();
                let time = bytes.len() >= 9
                    && matches!(bytes[0], b'T' | b' ')
                    && bytes[1..9].iter().enumerate().all(|(at, byte)| {
                        if at % 3 == 2 {
                            *byte == b':'
                        } else {
                            byte.is_ascii_digit()
                        }
                    });
                if time {
                    let length = 9 + after[9..]
                        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '+' | '-' | ':')))
                        .unwrap_or(after.len() - 9);
                    kept.push_str("(varies)");
                    rest = &after[length..];
                    continue 'scan;
                }
            }
            let Some(next) = rest.chars().next() else {
                break;
            };
            kept.push(next);
            rest = &rest[next.len_utf8()..];
        }
        kept
    }

    /// A transaction id handed out during the run, wherever it was stored, or a snapshot
    /// (`xmin:xmax:xip,...`, as `txid_current_snapshot()` prints it) that names one: the ids
    /// are far above any value chosen for a row or a parameter.
    fn is_transaction(&self, value: &str) -> bool {
        let Some((before, after)) = self.transactions else {
            return false;
        };
        let during = |text: &str| {
            text.parse::<i64>()
                .is_ok_and(|number| before < number && number <= after)
        };
        if during(value) {
            return true;
        }
        let parts: Vec<&str> = value.split(':').collect();
        let snapshot = parts.len() == 3
            && parts[..2].iter().all(|part| part.parse::<i64>().is_ok())
            && parts[2]
                .split(',')
                .all(|xip| xip.is_empty() || xip.parse::<i64>().is_ok());
        snapshot && parts.iter().flat_map(|part| part.split(',')).any(during)
    }
}

/// The next transaction id the server will hand out (PostgreSQL's; MySQL's are not kept).
pub fn next_transaction(client: &mut Connection) -> Option<i64> {
    client.postgres()?;
    query(client, "SELECT txid_snapshot_xmax(txid_current_snapshot())")
        .ok()?
        .first()?
        .first()?
        .as_deref()?
        .parse()
        .ok()
}

/// Every sequence's last value (its start less one before its first use); on MySQL, every
/// table's AUTO_INCREMENT counter less one.
fn sequence_values(client: &mut Connection) -> BTreeMap<String, i64> {
    let sql = match client.flavor() {
        Flavor::Postgres => {
            "SELECT schemaname || '.' || sequencename, coalesce(last_value, start_value - 1) \
             FROM pg_catalog.pg_sequences"
        }
        Flavor::Mysql => {
            "SELECT TABLE_NAME, AUTO_INCREMENT - 1 FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = DATABASE() AND AUTO_INCREMENT IS NOT NULL"
        }
    };
    let rows = query(client, sql).unwrap_or_default();
    rows.into_iter()
        .filter_map(|row| {
            let name = row.first()?.clone()?;
            let value = row.get(1)?.as_deref()?.parse().ok()?;
            Some((name, value))
        })
        .collect()
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Whatever the session still runs (a statement the schedule gave up on) stops now;
        // an idle session ignores the request.
        self.cancel.cancel();
        // Closing the channel ends the thread, which drops its connection.
        let (closed, _) = channel();
        self.commands = closed;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A routine's statement with the values its variables received: a variable never assigned
/// (its `SELECT ... INTO` found no row, or did not run) is NULL, as in PL/pgSQL.
fn with_variables(sql: &str, variables: &BTreeMap<String, Option<String>>) -> String {
    if !sql.contains('\u{1}') {
        return sql.to_string();
    }
    let mut sql = sql.to_string();
    for (name, value) in variables {
        let marker = super::database::quote_literal(&super::plan::captured(name));
        let literal = value
            .as_deref()
            .map_or_else(|| "NULL".to_string(), super::database::quote_literal);
        sql = sql.replace(&marker, &literal);
    }
    // Markers left: variables whose statement did not run.
    while let Some(start) = sql.find("'\u{1}") {
        let Some(length) = sql[start + 2..].find("\u{1}'") else {
            break;
        };
        sql.replace_range(start..start + 2 + length + 2, "NULL");
    }
    sql
}

/// Runs `steps` (of `plan`'s sessions) in a database already set up.
pub fn run(
    plan: &Plan,
    steps: &[PlannedStep],
    run: &mut RunDatabase,
) -> Result<Execution, Stalled> {
    // The sessions of the plan, and the lock holder or the pauses' controller when a step is
    // its.
    let holder = plan
        .lock_holder
        .as_ref()
        .map(|holder| &holder.session)
        .or(plan.pauses.as_ref().map(|pauses| &pauses.session))
        .filter(|_| steps.iter().any(|step| step.session >= plan.sessions.len()));
    let sessions: Vec<&Session> = plan.sessions.iter().chain(holder).collect();
    if steps.iter().any(|step| step.session >= sessions.len()) {
        return Err("a step of the schedule names a session the plan does not have".to_string());
    }
    // Each PostgreSQL session says which it is, for the pauses of routines (`pause`).
    let mut workers = sessions
        .iter()
        .map(|session| {
            let label = match run.admin.flavor() {
                Flavor::Postgres => Some(format!(
                    "SET isolint.session = {}",
                    super::database::quote_literal(&session.label)
                )),
                Flavor::Mysql => None,
            };
            Worker::start(run, label.as_deref())
        })
        .collect::<Result<Vec<_>, _>>()?;
    let pids: Vec<i64> = workers.iter().map(|worker| worker.pid).collect();
    let mut results: Vec<Vec<StatementResult>> = sessions
        .iter()
        .map(|session| vec![StatementResult::Skipped; session.statements.len()])
        .collect();
    let mut errors: Vec<Option<ServerError>> = vec![None; sessions.len()];
    // Per session, the values routine variables received from `SELECT ... INTO`.
    let mut variables: Vec<BTreeMap<String, Option<String>>> =
        vec![BTreeMap::new(); sessions.len()];
    let mut events: Vec<Event> = Vec::new();
    let mut pending: Vec<usize> = (0..steps.len()).collect();
    // Which step each event ran.
    let mut event_step: Vec<usize> = Vec::new();
    let tables = run.tables;
    let sequences_before = sequence_values(&mut run.admin);
    let transactions_before = run.first_transaction;
    // Per session, per statement: where its result columns come from.
    let mut origins: Vec<Vec<Vec<Origin>>> = sessions
        .iter()
        .map(|session| session.statements.iter().map(|_| Vec::new()).collect())
        .collect();
    let mut record = |workers: &mut [Worker],
                      variables: &mut [BTreeMap<String, Option<String>>],
                      events: &mut Vec<Event>,
                      step: &PlannedStep,
                      event: usize,
                      reply: Reply| {
        let worker = &mut workers[step.session];
        match reply.rows {
            Ok((mut rows, affected)) => {
                rows.sort();
                if !rows.is_empty() {
                    events[event].returned = Some(rows.clone());
                }
                if let Action::Statement(index) = step.action {
                    if !rows.is_empty() && sessions[step.session].returns_if_found.contains(&index)
                    {
                        worker.returned = true;
                    }
                    let targets = &sessions[step.session].captures[index];
                    for (position, target) in targets.iter().enumerate() {
                        let value = rows.first().and_then(|row| row.get(position).cloned());
                        variables[step.session].insert(target.clone(), value.flatten());
                    }
                    origins[step.session][index] = reply.columns;
                    // A routine's own statements report their counts to nobody.
                    let sent_by_application = !sessions[step.session].routine;
                    results[step.session][index] =
                        if rows.is_empty() && affected > 0 && sent_by_application {
                            StatementResult::Affected(affected)
                        } else {
                            StatementResult::Rows(rows)
                        };
                }
                if events[event].result == "blocked" {
                    events[event].completed_after = Some(events.len() - 1);
                } else {
                    events[event].result = "ok".to_string();
                }
            }
            Err(error) => {
                if let Action::Statement(index) = step.action {
                    results[step.session][index] =
                        StatementResult::Error(error.code.clone().unwrap_or_default());
                }
                let text = format!(
                    "error {}: {}",
                    error.code.as_deref().unwrap_or("?"),
                    error.message
                );
                if events[event].result == "blocked" {
                    events[event].completed_after = Some(events.len() - 1);
                }
                events[event].result = text;
                worker.failed = true;
                errors[step.session].get_or_insert(error);
            }
        }
    };
    let mut last_progress = Instant::now();
    while !pending.is_empty() || workers.iter().any(|worker| worker.blocked_at.is_some()) {
        // Finish what blocked steps are done.
        for session in 0..workers.len() {
            if let Some(event) = workers[session].blocked_at
                && let Ok(reply) = workers[session].replies.try_recv()
            {
                workers[session].blocked_at = None;
                let step = steps[event_step[event]];
                record(
                    &mut workers,
                    &mut variables,
                    &mut events,
                    &step,
                    event,
                    reply,
                );
                last_progress = Instant::now();
            }
        }
        // The first pending step whose session is free and has no earlier pending step.
        let next = pending.iter().position(|&candidate| {
            let session = steps[candidate].session;
            workers[session].blocked_at.is_none()
                && pending
                    .iter()
                    .take_while(|&&earlier| earlier != candidate)
                    .all(|&earlier| steps[earlier].session != session)
        });
        let Some(position) = next else {
            if last_progress.elapsed() > STALL_LIMIT {
                let waiting: Vec<String> = workers
                    .iter()
                    .enumerate()
                    .filter(|(_, worker)| worker.blocked_at.is_some())
                    .map(|(session, _)| sessions[session].label.clone())
                    .collect();
                return Err(format!(
                    "the schedule stalled: {} waited {} s for locks",
                    waiting.join(", "),
                    STALL_LIMIT.as_secs()
                ));
            }
            std::thread::sleep(POLL);
            continue;
        };
        let index = pending.remove(position);
        let step = steps[index];
        let session = sessions[step.session];
        let failed = workers[step.session].failed;
        let sql = match step.action {
            Action::Begin => run.admin.flavor().begin(session.level),
            Action::Statement(statement) => {
                with_variables(&session.statements[statement], &variables[step.session])
            }
            Action::Commit if !failed => "COMMIT".to_string(),
            Action::Commit | Action::Rollback => "ROLLBACK".to_string(),
        };
        let event = events.len();
        event_step.push(index);
        events.push(Event {
            session: session.label.clone(),
            sql: sql.clone(),
            result: "skipped".to_string(),
            returned: None,
            completed_after: None,
        });
        if (failed || workers[step.session].returned) && matches!(step.action, Action::Statement(_))
        {
            continue;
        }
        last_progress = Instant::now();
        let worker = &mut workers[step.session];
        if worker.commands.send(sql).is_err() {
            return Err(format!("the connection of {} closed", session.label));
        }
        loop {
            match workers[step.session].replies.recv_timeout(POLL) {
                Ok(reply) => {
                    record(
                        &mut workers,
                        &mut variables,
                        &mut events,
                        &step,
                        event,
                        reply,
                    );
                    break;
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(format!("the connection of {} closed", session.label));
                }
                Err(RecvTimeoutError::Timeout) => {
                    let pid = workers[step.session].pid;
                    if run.is_blocked(pid, &pids) {
                        workers[step.session].blocked_at = Some(event);
                        events[event].result = "blocked".to_string();
                        break;
                    }
                    if last_progress.elapsed() > STALL_LIMIT {
                        return Err(format!(
                            "`{}` of {} did not finish in {} s",
                            events[event].sql,
                            session.label,
                            STALL_LIMIT.as_secs()
                        ));
                    }
                }
            }
        }
    }
    drop(workers);
    if let Some(holder) = holder
        && let Some(Some(error)) = errors.get(plan.sessions.len())
    {
        return Err(format!(
            "the third session {} failed: {}",
            holder.label, error.message
        ));
    }
    // The holder's own statement is no part of the outcome.
    results.truncate(plan.sessions.len());
    errors.truncate(plan.sessions.len());
    let flavor = run.admin.flavor();
    let fresh = Fresh {
        ranges: sequence_values(&mut run.admin)
            .into_iter()
            .filter_map(|(name, after)| Some((*sequences_before.get(&name)?, after)))
            .filter(|(before, after)| before < after)
            .collect(),
        // Transaction ids handed out during the run (`txid_current()` stored in a row).
        transactions: transactions_before
            .zip(next_transaction(&mut run.admin))
            .map(|(before, after)| (before - 1, after - 1)),
        days: query(&mut run.admin, flavor.days_sql())
            .ok()
            .and_then(|rows| rows.into_iter().next())
            .map(|row| row.into_iter().flatten().collect())
            .unwrap_or_default(),
    };
    // Sessions in plan order, whatever order they ran in: a session's first new number is
    // named alike in every run.
    let mut labels = BTreeMap::new();
    for (session, statements) in results.iter_mut().enumerate() {
        for (index, result) in statements.iter_mut().enumerate() {
            if let StatementResult::Rows(rows) = result {
                *rows = masked(
                    std::mem::take(rows),
                    &origins[session][index],
                    tables,
                    &fresh,
                    &mut labels,
                );
            }
        }
    }
    let contents = run.contents(&fresh)?;
    Ok(Execution {
        events,
        event_steps: event_step,
        outcome: Outcome { results, contents },
        errors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::confirm::database::quote_literal;
    use crate::confirm::plan::captured;

    #[test]
    fn innodb_monitor_reports_show_which_connection_waits() {
        let status = "TRANSACTIONS\n------------\nTrx id counter 22\n\
            LIST OF TRANSACTIONS FOR EACH SESSION:\n\
            ---TRANSACTION 21, ACTIVE 1 sec starting index read\n\
            mysql tables in use 1, locked 1\n\
            LOCK WAIT 4 lock struct(s), heap size 1128, 2 row lock(s)\n\
            MariaDB thread id 5, OS thread handle 139822058755776, query id 12 localhost root Updating\n\
            update t set n=5 where id=1\n\
            ------- TRX HAS BEEN WAITING 1009091 us FOR THIS LOCK TO BE GRANTED:\n\
            ------------------\n\
            ---TRANSACTION (0x7f2adcfd8b80), ACTIVE 2 sec\n\
            2 lock struct(s), heap size 1128, 1 row lock(s)\n\
            MariaDB thread id 4, OS thread handle 139822059062976, query id 8 localhost root User sleep\n\
            select sleep(3)\n\
            --------\nFILE I/O\n";
        assert!(innodb_status_waits(status, 5));
        assert!(!innodb_status_waits(status, 4));
        assert!(!innodb_status_waits(status, 55));
        assert!(!innodb_status_waits("", 5));
    }

    #[test]
    fn variables_take_the_values_read_into_them_and_null_otherwise() {
        let sql = format!(
            "UPDATE t SET n = CAST({} AS int) - CAST({} AS int) WHERE id = 1",
            quote_literal(&captured("v")),
            quote_literal(&captured("w"))
        );
        let values = BTreeMap::from([("v".to_string(), Some("10".to_string()))]);
        assert_eq!(
            with_variables(&sql, &values),
            "UPDATE t SET n = CAST('10' AS int) - CAST(NULL AS int) WHERE id = 1"
        );
    }

    #[test]
    fn new_numbers_returned_keep_which_were_equal() {
        let fresh = Fresh {
            ranges: vec![(2, 10)],
            ..Fresh::default()
        };
        let run = |returned: [&str; 2]| {
            let mut labels = BTreeMap::new();
            returned
                .map(|number| {
                    let mut rows = vec![vec![Some(number.to_string()), Some("70".to_string())]];
                    let volatile = [Volatility::WhenFresh, Volatility::WhenFresh];
                    mask(&mut rows, &volatile, &fresh, Some(&mut labels));
                    rows
                })
                .to_vec()
        };
        // Two calls that got batches 3 and 4, or 4 and 3, against two that got one batch.
        assert_eq!(run(["3", "4"]), run(["4", "3"]));
        assert_ne!(run(["3", "4"]), run(["4", "4"]));
        // A number no sequence gave out during the run is kept.
        assert_eq!(run(["3", "3"])[0][0][1].as_deref(), Some("70"));
        let mut contents = vec![vec![Some("3".to_string())]];
        mask(&mut contents, &[Volatility::WhenFresh], &fresh, None);
        assert_eq!(contents[0][0].as_deref(), Some("(varies)"));
    }

    #[test]
    fn snapshots_naming_a_transaction_of_the_run_vary() {
        let fresh = Fresh {
            ranges: vec![],
            transactions: Some((1200, 1220)),
            days: vec![],
        };
        assert!(fresh.is_transaction("1213"));
        assert!(fresh.is_transaction("1213:1213:"));
        assert!(fresh.is_transaction("800:1230:805,1215"));
        assert!(!fresh.is_transaction("812:812:"));
        assert!(!fresh.is_transaction("12:13"));
        assert!(!fresh.is_transaction("1213:abc:"));
    }

    #[test]
    fn timestamps_of_the_run_inside_values_vary() {
        let fresh = Fresh {
            days: vec!["2026-12-06".to_string()],
            ..Fresh::default()
        };
        assert_eq!(
            fresh.without_clock_readings(
                r#"{"cancel_attempted_at": "2026-12-06T05:25:31.972053", "at": "2024-01-01T12:00:00"}"#
            ),
            r#"{"cancel_attempted_at": "(varies)", "at": "2024-01-01T12:00:00"}"#
        );
        assert_eq!(
            fresh.without_clock_readings("2026-12-06 05:25:31+00 and 2026-12-06"),
            "(varies) and 2026-12-06"
        );
    }
}
