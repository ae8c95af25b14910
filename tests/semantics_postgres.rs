//! The single-statement semantics of PostgreSQL that isolint's access model describes, proved
//! on a real server. Each test is named after a fixture: it loads that fixture's migrations into
//! a fresh database, replays the decisive interleaving of the fixture's own programs (their SQL
//! is read from the fixture, parameters bound to literals) across sessions, and asserts what
//! PostgreSQL does. Where the fixture requires a finding, the anomaly happens; where it requires
//! none, PostgreSQL prevents it and the test shows how: a wait and then 0 rows, a skipped row,
//! unique_violation (23505), serialization_failure (40001), a row re-checked on its newest
//! version.
//!
//! Schedules run as PostgreSQL's isolationtester runs them: each session is a connection on a
//! thread of its own; a step is sent to its session and either finishes or waits for a lock,
//! which an observer connection sees through `pg_isolation_test_session_is_blocked`; the
//! schedule then goes on with the other sessions and collects the waiting step's outcome once
//! it has finished. A "locker" session that holds a row lock makes a statement take its
//! snapshot and then wait, as a slow concurrent statement would. An autocommit program that
//! must keep its row locks while others run is replayed between BEGIN and COMMIT: the same
//! statement with a later commit.
//!
//! One server serves the whole file and each test makes its own database.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use postgres::{Client, NoTls, SimpleQueryMessage};

/// How long a step may run without finishing or waiting for a lock, and how long a waiting
/// step may take to finish once the schedule has released what it waits for.
const PATIENCE: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------------
// The runner
// ---------------------------------------------------------------------------------------------

/// What a step did.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// It finished: the rows it returned (columns joined by `|`, NULL as `NULL`) and the count
    /// of its command tag (rows affected, or rows returned by a SELECT).
    Done { rows: Vec<String>, count: u64 },
    /// It failed with this SQLSTATE.
    Failed { sqlstate: String, message: String },
    /// It waits for a lock that another session holds.
    Waiting,
}

impl Outcome {
    fn rows(&self) -> Vec<&str> {
        match self {
            Outcome::Done { rows, .. } => rows.iter().map(String::as_str).collect(),
            other => panic!("expected a finished step, got {other:?}"),
        }
    }

    fn count(&self) -> u64 {
        match self {
            Outcome::Done { count, .. } => *count,
            other => panic!("expected a finished step, got {other:?}"),
        }
    }

    fn sqlstate(&self) -> &str {
        match self {
            Outcome::Failed { sqlstate, .. } => sqlstate,
            other => panic!("expected a failed step, got {other:?}"),
        }
    }

    fn is_waiting(&self) -> bool {
        matches!(self, Outcome::Waiting)
    }
}

/// A fresh database holding one fixture's migrations.
struct Database {
    fixture: PathBuf,
    url: String,
}

impl Database {
    /// The database for `fixture`, or `None` when no PostgreSQL is installed (the test is then
    /// skipped loudly, see `support::postgres`).
    fn of(fixture: &str) -> Option<Database> {
        static CREATING: Mutex<()> = Mutex::new(());
        static NUMBER: AtomicUsize = AtomicUsize::new(0);
        let server = support::postgres::shared(fixture)?;
        let directory = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(fixture);
        assert!(directory.is_dir(), "no fixture {fixture}");
        // PostgreSQL names are at most 63 bytes; the number keeps two databases of one fixture
        // apart.
        let number = NUMBER.fetch_add(1, Ordering::Relaxed);
        let name = format!("{}_{number}", &fixture[..fixture.len().min(55)]);
        {
            let _one_at_a_time = CREATING.lock().unwrap_or_else(|poison| poison.into_inner());
            let mut admin = Client::connect(&server.url(), NoTls).expect("connect");
            admin
                .batch_execute(&format!("CREATE DATABASE \"{name}\""))
                .expect("create the database");
        }
        let database = Database {
            url: server
                .url()
                .replace("dbname=postgres", &format!("dbname={name}")),
            fixture: directory,
        };
        let mut migrations: Vec<PathBuf> = std::fs::read_dir(database.fixture.join("migrations"))
            .expect("migrations/")
            .map(|entry| entry.expect("entry").path())
            .collect();
        migrations.sort();
        let mut client = database.connect();
        for migration in migrations {
            let sql = std::fs::read_to_string(&migration).expect("migration");
            client
                .batch_execute(&sql)
                .unwrap_or_else(|error| panic!("{}: {error}", migration.display()));
        }
        Some(database)
    }

    /// What the fixture's case requires of PostgreSQL at `level` (`rule: program, ...`): each
    /// test states the expectation its replay proves, so the two cannot drift apart.
    fn requires(&self, level: &str) -> Vec<String> {
        let case = support::case::Case::load(&self.fixture).expect("case.toml");
        let run = case
            .run
            .iter()
            .find(|run| run.engine == "postgres" && run.isolation.as_deref() == Some(level))
            .unwrap_or_else(|| panic!("{}: no postgres {level} run", self.fixture.display()));
        run.require
            .iter()
            .map(|entry| {
                let (rule, programs) = entry.expected();
                let programs: Vec<String> = programs.into_iter().collect();
                format!("{rule}: {}", programs.join(", "))
            })
            .collect()
    }

    fn connect(&self) -> Client {
        Client::connect(&self.url, NoTls).expect("connect")
    }

    /// Runs setup SQL (rows for the schedule) on a connection of its own.
    fn execute(&self, sql: &str) {
        self.connect()
            .batch_execute(sql)
            .unwrap_or_else(|error| panic!("{sql}: {error}"));
    }

    /// The rows `sql` returns, as `Outcome::rows` shows them.
    fn query(&self, sql: &str) -> Vec<String> {
        match run(&mut self.connect(), sql) {
            Outcome::Done { rows, .. } => rows,
            other => panic!("{sql}: {other:?}"),
        }
    }

    /// The statements of the fixture's program `name` (without BEGIN and COMMIT), with its
    /// parameters (`$1`, `@id`, `sqlc.arg(id)`) replaced by the SQL literals of `parameters`.
    fn statements(&self, name: &str, parameters: &[(&str, &str)]) -> Vec<String> {
        let text = program_text(&self.fixture, name);
        split_statements(&text)
            .iter()
            .map(|statement| bind(statement, parameters, name))
            .collect()
    }

    /// The single statement of the fixture's program (or sqlc query) `name`.
    fn statement(&self, name: &str, parameters: &[(&str, &str)]) -> String {
        let mut statements = self.statements(name, parameters);
        assert_eq!(statements.len(), 1, "{name} is not one statement");
        statements.remove(0)
    }

    /// Sessions named `names`, each on a connection of its own.
    fn sessions<const N: usize>(&self, names: [&'static str; N]) -> Schedule {
        Schedule {
            sessions: names.map(|name| Session::open(&self.url, name)).into(),
            observer: self.connect(),
        }
    }
}

/// The text of program `name` in the fixture: from its `-- name: NAME` line to the next one.
fn program_text(fixture: &Path, name: &str) -> String {
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(fixture)
        .into_iter()
        .map(|entry| entry.expect("entry").into_path())
        .filter(|path| {
            path.extension().is_some_and(|extension| extension == "sql")
                && !path.starts_with(fixture.join("migrations"))
        })
        .collect();
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("program file");
        let mut lines = text.lines().skip_while(|line| name_of(line) != Some(name));
        if lines.next().is_some() {
            return lines
                .take_while(|line| name_of(line).is_none())
                .collect::<Vec<_>>()
                .join("\n");
        }
    }
    panic!("no program {name} in {}", fixture.display())
}

/// The program a `-- name: NAME [:kind]` line names.
fn name_of(line: &str) -> Option<&str> {
    line.trim()
        .strip_prefix("--")?
        .trim()
        .strip_prefix("name:")?
        .split_whitespace()
        .next()
}

/// Statements of a program, without comment lines, BEGIN and COMMIT.
fn split_statements(text: &str) -> Vec<String> {
    let code: Vec<&str> = text
        .lines()
        .filter(|line| !line.trim_start().starts_with("--"))
        .collect();
    code.join("\n")
        .split(';')
        .map(str::trim)
        .filter(|statement| {
            !statement.is_empty()
                && !["BEGIN", "COMMIT"].contains(&statement.to_ascii_uppercase().as_str())
        })
        .map(String::from)
        .collect()
}

/// `statement` with `$N`, `@name` and `sqlc.arg(name)` outside string literals replaced by
/// the SQL text `parameters` gives them.
fn bind(statement: &str, parameters: &[(&str, &str)], program: &str) -> String {
    let value = |name: &str| -> &str {
        parameters
            .iter()
            .find(|(parameter, _)| *parameter == name)
            .map(|(_, value)| *value)
            .unwrap_or_else(|| panic!("no value for parameter {name} of {program}"))
    };
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut bound = String::new();
    let mut rest = statement;
    let mut in_string = false;
    while let Some(c) = rest.chars().next() {
        let after = &rest[c.len_utf8()..];
        if c == '\'' {
            in_string = !in_string;
        } else if !in_string {
            let (name, tail) = if c == '$' && after.starts_with(|c: char| c.is_ascii_digit()) {
                let end = after
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(after.len());
                (Some(&after[..end]), &after[end..])
            } else if c == '@' && after.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
                let end = after.find(|c: char| !is_name(c)).unwrap_or(after.len());
                (Some(&after[..end]), &after[end..])
            } else if let Some(argument) = rest.strip_prefix("sqlc.arg(") {
                let end = argument.find(')').expect("sqlc.arg(...) is closed");
                (
                    Some(argument[..end].trim_matches('\'')),
                    &argument[end + 1..],
                )
            } else {
                (None, after)
            };
            if let Some(name) = name {
                bound.push_str(value(name));
                rest = tail;
                continue;
            }
        }
        bound.push(c);
        rest = after;
    }
    bound
}

/// Runs one statement with the simple query protocol.
fn run(client: &mut Client, sql: &str) -> Outcome {
    match client.simple_query(sql) {
        Ok(messages) => {
            let mut rows = Vec::new();
            let mut count = 0;
            for message in messages {
                match message {
                    SimpleQueryMessage::Row(row) => rows.push(
                        (0..row.len())
                            .map(|column| row.get(column).unwrap_or("NULL"))
                            .collect::<Vec<_>>()
                            .join("|"),
                    ),
                    SimpleQueryMessage::CommandComplete(affected) => count = affected,
                    _ => {}
                }
            }
            Outcome::Done { rows, count }
        }
        Err(error) => match error.as_db_error() {
            Some(database) => Outcome::Failed {
                sqlstate: database.code().code().to_string(),
                message: database.message().to_string(),
            },
            None => panic!("{sql}: {error}"),
        },
    }
}

/// A session: a connection on a thread of its own, fed one statement at a time.
struct Session {
    name: &'static str,
    pid: i32,
    statements: Sender<String>,
    outcomes: Receiver<Outcome>,
    waiting: bool,
}

impl Session {
    fn open(url: &str, name: &'static str) -> Session {
        let mut client = Client::connect(url, NoTls).expect("connect");
        let pid = client
            .query_one("SELECT pg_backend_pid()", &[])
            .expect("backend pid")
            .get(0);
        let (statements, to_run) = mpsc::channel::<String>();
        let (finished, outcomes) = mpsc::channel();
        std::thread::spawn(move || {
            for sql in to_run {
                if finished.send(run(&mut client, &sql)).is_err() {
                    break;
                }
            }
        });
        Session {
            name,
            pid,
            statements,
            outcomes,
            waiting: false,
        }
    }
}

/// An interleaving of steps across sessions.
struct Schedule {
    sessions: Vec<Session>,
    observer: Client,
}

impl Schedule {
    fn index(&self, name: &str) -> usize {
        self.sessions
            .iter()
            .position(|session| session.name == name)
            .unwrap_or_else(|| panic!("no session {name}"))
    }

    /// Runs `sql` in session `name`: its outcome, or `Outcome::Waiting` when it waits for a
    /// lock (collect it later with `finish`).
    fn step(&mut self, name: &str, sql: &str) -> Outcome {
        let index = self.index(name);
        let session = &self.sessions[index];
        assert!(!session.waiting, "{name} still waits for its last step");
        session.statements.send(sql.to_string()).expect("send");
        let started = Instant::now();
        loop {
            match self.sessions[index]
                .outcomes
                .recv_timeout(Duration::from_millis(5))
            {
                Ok(outcome) => return outcome,
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => panic!("{name}'s connection ended"),
            }
            if self.is_waiting(index) {
                self.sessions[index].waiting = true;
                return Outcome::Waiting;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "{name}: `{sql}` neither finished nor waited for a lock"
            );
        }
    }

    /// The outcome of the step session `name` was waiting in, once it has finished.
    fn finish(&mut self, name: &str) -> Outcome {
        let index = self.index(name);
        assert!(self.sessions[index].waiting, "{name} is not waiting");
        let outcome = self.sessions[index]
            .outcomes
            .recv_timeout(PATIENCE)
            .unwrap_or_else(|_| panic!("{name} still waits"));
        self.sessions[index].waiting = false;
        outcome
    }

    fn is_waiting(&mut self, index: usize) -> bool {
        let others: Vec<i32> = self
            .sessions
            .iter()
            .enumerate()
            .filter(|(other, _)| *other != index)
            .map(|(_, session)| session.pid)
            .collect();
        self.observer
            .query_one(
                "SELECT pg_isolation_test_session_is_blocked($1, $2)",
                &[&self.sessions[index].pid, &others],
            )
            .expect("is the session blocked")
            .get(0)
    }
}

// ---------------------------------------------------------------------------------------------
// Only reads that feed the write are decisive.
// ---------------------------------------------------------------------------------------------

const TWO_WORKERS: &str = "INSERT INTO workers (id, queue) VALUES (1, 'default'), (2, 'default')";

/// Two retirements overlap: worker 1's statement takes its snapshot and waits for a locker
/// holding its row while worker 2's retirement commits. The writes are those of the serial
/// order (2, then 1); only the count the outer SELECT reports is stale.
#[test]
fn cte_update_returning_outer_select_decides_nothing() {
    let fixture = "cte_update_returning_outer_select_decides_nothing";
    let Some(database) = Database::of(fixture) else {
        return;
    };
    assert!(database.requires("read-committed").is_empty());
    database.execute(TWO_WORKERS);
    let retire = |id| database.statement("RetireWorker", &[("id", id)]);
    let mut run = database.sessions(["locker", "retire_1", "retire_2"]);
    run.step("locker", "BEGIN");
    run.step("locker", "SELECT id FROM workers WHERE id = 1 FOR UPDATE");
    assert!(run.step("retire_1", &retire("1")).is_waiting());
    assert_eq!(run.step("retire_2", &retire("2")).rows(), ["default|2"]);
    run.step("locker", "COMMIT");
    // The outer SELECT read the statement's snapshot, where both workers are active.
    assert_eq!(run.finish("retire_1").rows(), ["default|2"]);
    let concurrent = database.query("SELECT id, active FROM workers ORDER BY id");
    assert_eq!(concurrent, ["1|f", "2|f"]);

    let serial = Database::of(fixture).expect("the server is up");
    serial.execute(TWO_WORKERS);
    let retire = |id| serial.statement("RetireWorker", &[("id", id)]);
    assert_eq!(serial.query(&retire("2")), ["default|2"]);
    assert_eq!(serial.query(&retire("1")), ["default|1"]);
    assert_eq!(
        serial.query("SELECT id, active FROM workers ORDER BY id"),
        concurrent,
        "the concurrent writes are those of the serial order"
    );
}

/// The same overlap where the CTE's count decides the UPDATE: worker 1's statement waits for
/// the locker, EvalPlanQual re-checks only its own row (id, active), the count keeps the
/// snapshot, and the queue ends with no active worker. SERIALIZABLE fails one of the two.
#[test]
fn cte_select_feeds_update_write_skew() {
    let Some(database) = Database::of("cte_select_feeds_update_write_skew") else {
        return;
    };
    assert_eq!(
        database.requires("read-committed"),
        ["write-skew: RetireWorker"]
    );
    assert!(database.requires("serializable").is_empty());
    let retire = |id| database.statement("RetireWorker", &[("queue", "'default'"), ("id", id)]);
    for level in ["READ COMMITTED", "REPEATABLE READ", "SERIALIZABLE"] {
        database.execute(&format!("DELETE FROM workers; {TWO_WORKERS}"));
        let mut run = database.sessions(["locker", "retire_1", "retire_2"]);
        run.step("locker", "BEGIN");
        run.step("locker", "SELECT id FROM workers WHERE id = 1 FOR UPDATE");
        run.step("retire_1", &format!("BEGIN ISOLATION LEVEL {level}"));
        assert!(run.step("retire_1", &retire("1")).is_waiting());
        run.step("retire_2", &format!("BEGIN ISOLATION LEVEL {level}"));
        let retire_2 = run.step("retire_2", &retire("2"));
        let commit_2 = run.step("retire_2", "COMMIT");
        run.step("locker", "COMMIT");
        let retire_1 = run.finish("retire_1");
        let commit_1 = run.step("retire_1", "COMMIT");
        let active = database.query("SELECT count(*) FROM workers WHERE active");
        if level == "SERIALIZABLE" {
            let failed = [&retire_2, &commit_2, &retire_1, &commit_1]
                .iter()
                .filter(|outcome| matches!(outcome, Outcome::Failed { sqlstate, .. } if sqlstate == "40001"))
                .count();
            assert_eq!(failed, 1, "{level}: one of the two fails with 40001");
            assert_eq!(active, ["1"], "{level}: one worker stays active");
        } else {
            assert_eq!(
                (retire_2.rows(), retire_1.rows()),
                (vec!["2"], vec!["1"]),
                "{level}"
            );
            assert_eq!(active, ["0"], "{level}: no active worker is left");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// EvalPlanQual at read committed.
// ---------------------------------------------------------------------------------------------

/// Job 1 was discarded and job 2 completed two days ago.
const TWO_FINALIZED_JOBS: &str = "INSERT INTO jobs (id, kind, state, finalized_at) VALUES \
     (1, 'email', 'discarded', now() - interval '2 days'), \
     (2, 'email', 'completed', now() - interval '2 days')";

fn delete_finalized(database: &Database) -> String {
    database.statement(
        "DeleteFinalizedBefore",
        &[("before", "now() - interval '1 day'"), ("max", "10")],
    )
}

/// RetryJob holds job 1 (now available) while the DELETE picks it in its subquery and waits;
/// after RetryJob commits, the DELETE re-checks only `id IN (...)` and deletes the retried job.
/// At REPEATABLE READ the DELETE fails with 40001 instead.
#[test]
fn epq_does_not_recheck_subquery() {
    let Some(database) = Database::of("epq_does_not_recheck_subquery") else {
        return;
    };
    assert_eq!(
        database.requires("read-committed"),
        ["lost-update: DeleteFinalizedBefore, RetryJob"]
    );
    assert!(database.requires("repeatable-read").is_empty());
    for level in ["READ COMMITTED", "REPEATABLE READ"] {
        database.execute(&format!("DELETE FROM jobs; {TWO_FINALIZED_JOBS}"));
        let mut run = database.sessions(["retry", "delete"]);
        run.step("retry", "BEGIN");
        let retried = run.step("retry", &database.statement("RetryJob", &[("id", "1")]));
        assert_eq!(retried.rows(), ["1"]);
        run.step("delete", &format!("BEGIN ISOLATION LEVEL {level}"));
        assert!(
            run.step("delete", &delete_finalized(&database))
                .is_waiting()
        );
        run.step("retry", "COMMIT");
        let deleted = run.finish("delete");
        run.step("delete", "COMMIT");
        let jobs = database.query("SELECT id, state FROM jobs ORDER BY id");
        if level == "READ COMMITTED" {
            assert_eq!(deleted.count(), 2, "the retried job is deleted too");
            assert!(jobs.is_empty(), "RetryJob's write is lost: {jobs:?}");
        } else {
            assert_eq!(deleted.sqlstate(), "40001");
            assert_eq!(jobs, ["1|available", "2|completed"]);
        }
    }
}

/// The same schedule with the predicate repeated in the DELETE's own WHERE: after the wait,
/// PostgreSQL re-checks it on job 1's newest version and skips the retried job. The other
/// order: the DELETE holds job 1, RetryJob waits and then finds no row.
#[test]
fn epq_rechecks_target_row_quals() {
    let Some(database) = Database::of("epq_rechecks_target_row_quals") else {
        return;
    };
    assert!(database.requires("read-committed").is_empty());
    database.execute(TWO_FINALIZED_JOBS);
    let mut run = database.sessions(["retry", "delete"]);
    run.step("retry", "BEGIN");
    let retried = run.step("retry", &database.statement("RetryJob", &[("id", "1")]));
    assert_eq!(retried.rows(), ["1"]);
    assert!(
        run.step("delete", &delete_finalized(&database))
            .is_waiting()
    );
    run.step("retry", "COMMIT");
    assert_eq!(run.finish("delete").count(), 1, "only job 2 is deleted");
    assert_eq!(
        database.query("SELECT id, state FROM jobs ORDER BY id"),
        ["1|available"]
    );

    database.execute(
        "INSERT INTO jobs (id, kind, state, finalized_at) \
         VALUES (3, 'email', 'cancelled', now() - interval '2 days')",
    );
    run.step("delete", "BEGIN");
    assert_eq!(run.step("delete", &delete_finalized(&database)).count(), 1);
    let retry = database.statement("RetryJob", &[("id", "3")]);
    assert!(run.step("retry", &retry).is_waiting());
    run.step("delete", "COMMIT");
    assert_eq!(
        run.finish("retry").count(),
        0,
        "the deleted job is not retried"
    );
}

// ---------------------------------------------------------------------------------------------
// Locks travel through CTEs and joins.
// ---------------------------------------------------------------------------------------------

/// A scheduled job (1), a discarded job (2) and a job running for two hours (3).
const MAINTENANCE_JOBS: &str = "INSERT INTO jobs (id, kind, state, scheduled_at, attempted_at, finalized_at) VALUES \
     (1, 'email', 'scheduled', now() - interval '1 minute', NULL, NULL), \
     (2, 'email', 'discarded', now() - interval '3 days', NULL, now() - interval '2 days'), \
     (3, 'email', 'running', now() - interval '3 hours', now() - interval '2 hours', NULL)";

/// Each single-row statement changes a job and holds it; the maintenance statement that picked
/// the job in its CTE or subquery then waits. What it does with the job after the commit is the
/// question: (ScheduleDue, CancelJob on job 1), (DeleteFinalizedBefore, RetryJob on job 2),
/// (RescueStuck, CompleteJob on job 3). Returns the maintenance outcomes.
fn overwrite_schedules(database: &Database, level: &str) -> [Outcome; 3] {
    let schedule_due = database.statement("ScheduleDue", &[("max", "10")]);
    let delete = delete_finalized(database);
    let rescue = database.statement(
        "RescueStuck",
        &[("horizon", "now() - interval '1 hour'"), ("max", "10")],
    );
    let pairs = [
        ("CancelJob", "1", schedule_due),
        ("RetryJob", "2", delete),
        ("CompleteJob", "3", rescue),
    ];
    pairs.map(|(single_row, job, maintenance)| {
        let mut run = database.sessions(["single_row", "maintenance"]);
        run.step("single_row", "BEGIN");
        let changed = run.step(
            "single_row",
            &database.statement(single_row, &[("id", job)]),
        );
        assert_eq!(changed.rows(), [job], "{single_row}");
        run.step("maintenance", &format!("BEGIN ISOLATION LEVEL {level}"));
        assert!(run.step("maintenance", &maintenance).is_waiting());
        run.step("single_row", "COMMIT");
        let outcome = run.finish("maintenance");
        run.step("maintenance", "COMMIT");
        outcome
    })
}

/// With FOR UPDATE in the CTE or subquery, the locking read waits for the single-row statement,
/// re-checks its quals on the newest version of the job and drops it: the maintenance statement
/// leaves the cancelled, retried and completed jobs alone. REPEATABLE READ fails with 40001.
#[test]
fn locks_through_cte_update_from() {
    let Some(database) = Database::of("locks_through_cte_update_from") else {
        return;
    };
    assert!(database.requires("read-committed").is_empty());
    assert!(database.requires("repeatable-read").is_empty());
    database.execute(MAINTENANCE_JOBS);
    let [scheduled, deleted, rescued] = overwrite_schedules(&database, "READ COMMITTED");
    assert!(
        scheduled.rows().is_empty(),
        "ScheduleDue drops the cancelled job"
    );
    assert_eq!(
        deleted.count(),
        0,
        "DeleteFinalizedBefore keeps the retried job"
    );
    assert_eq!(rescued.count(), 0, "RescueStuck leaves the completed job");
    assert_eq!(
        database.query("SELECT id, state FROM jobs ORDER BY id"),
        ["1|cancelled", "2|available", "3|completed"]
    );

    // The other order: ScheduleDue locks job 4 first, CancelJob waits and re-checks its guard
    // on the available version, which it still allows (the serial order ScheduleDue, CancelJob).
    database.execute(
        "INSERT INTO jobs (id, kind, state, scheduled_at) \
         VALUES (4, 'email', 'scheduled', now() - interval '1 minute')",
    );
    let mut run = database.sessions(["schedule", "cancel"]);
    run.step("schedule", "BEGIN");
    let schedule_due = database.statement("ScheduleDue", &[("max", "10")]);
    assert_eq!(run.step("schedule", &schedule_due).rows(), ["4"]);
    let cancel = database.statement("CancelJob", &[("id", "4")]);
    assert!(run.step("cancel", &cancel).is_waiting());
    run.step("schedule", "COMMIT");
    assert_eq!(run.finish("cancel").rows(), ["4"]);

    database.execute(&format!("DELETE FROM jobs; {MAINTENANCE_JOBS}"));
    for outcome in overwrite_schedules(&database, "REPEATABLE READ") {
        assert_eq!(outcome.sqlstate(), "40001");
    }
}

/// Without the lock, the same schedules overwrite: the cancelled job becomes available again,
/// the retried job is deleted, the completed job goes back to retryable. REPEATABLE READ fails
/// each maintenance statement with 40001.
#[test]
fn unlocked_cte_update_from_lost_update() {
    let Some(database) = Database::of("unlocked_cte_update_from_lost_update") else {
        return;
    };
    assert_eq!(
        database.requires("read-committed"),
        [
            "lost-update: CancelJob, ScheduleDue",
            "lost-update: DeleteFinalizedBefore, RetryJob",
            "lost-update: CompleteJob, RescueStuck"
        ]
    );
    assert!(database.requires("repeatable-read").is_empty());
    database.execute(MAINTENANCE_JOBS);
    let [scheduled, deleted, rescued] = overwrite_schedules(&database, "READ COMMITTED");
    assert_eq!(
        scheduled.rows(),
        ["1"],
        "ScheduleDue writes the cancelled job"
    );
    assert_eq!(
        deleted.count(),
        1,
        "DeleteFinalizedBefore deletes the retried job"
    );
    assert_eq!(rescued.count(), 1, "RescueStuck writes the completed job");
    assert_eq!(
        database.query("SELECT id, state, finalized_at IS NOT NULL FROM jobs ORDER BY id"),
        ["1|available|t", "3|retryable|t"],
        "every single-row write is lost"
    );

    database.execute(&format!("DELETE FROM jobs; {MAINTENANCE_JOBS}"));
    for outcome in overwrite_schedules(&database, "REPEATABLE READ") {
        assert_eq!(outcome.sqlstate(), "40001");
    }
}

// ---------------------------------------------------------------------------------------------
// SKIP LOCKED claims.
// ---------------------------------------------------------------------------------------------

fn claim_jobs(database: &Database, worker: &str) -> String {
    database.statement(
        "ClaimJobs",
        &[("queue", "'default'"), ("max", "1"), ("worker", worker)],
    )
}

/// Worker 1 claims job 1 and holds it; worker 2 skips it and claims job 2; worker 3 finds
/// nothing; CancelJob waits for job 1 and its guard fails on the running version.
#[test]
fn skip_locked_claim_never_shares_a_row() {
    let Some(database) = Database::of("skip_locked_claim_never_shares_a_row") else {
        return;
    };
    assert!(database.requires("read-committed").is_empty());
    database.execute("INSERT INTO jobs (id, kind) VALUES (1, 'email'), (2, 'email')");
    let mut run = database.sessions(["w1", "w2", "w3", "cancel"]);
    run.step("w1", "BEGIN");
    assert_eq!(run.step("w1", &claim_jobs(&database, "'w1'")).rows(), ["1"]);
    assert_eq!(run.step("w2", &claim_jobs(&database, "'w2'")).rows(), ["2"]);
    assert!(
        run.step("w3", &claim_jobs(&database, "'w3'"))
            .rows()
            .is_empty()
    );
    let cancel = database.statement("CancelJob", &[("id", "1")]);
    assert!(run.step("cancel", &cancel).is_waiting());
    run.step("w1", "COMMIT");
    assert_eq!(
        run.finish("cancel").count(),
        0,
        "a running job is not cancelled"
    );
    assert_eq!(
        database.query("SELECT id, state, attempt, attempted_by FROM jobs ORDER BY id"),
        ["1|running|1|w1", "2|running|1|w2"]
    );
    let complete =
        |id, worker| database.statement("CompleteJob", &[("id", id), ("worker", worker)]);
    assert!(database.query(&complete("1", "'w2'")).is_empty());
    assert_eq!(database.query(&complete("1", "'w1'")), ["1"]);
}

/// cancel_job reads job 1 without a lock, so the claim does not skip it; the claim commits and
/// the unguarded cancel overwrites it. At REPEATABLE READ the cancel fails with 40001.
#[test]
fn skip_locked_claim_unlocked_cancel_lost_update() {
    let Some(database) = Database::of("skip_locked_claim_unlocked_cancel_lost_update") else {
        return;
    };
    assert_eq!(
        database.requires("read-committed"),
        ["lost-update: ClaimJobs, cancel_job"]
    );
    assert!(database.requires("repeatable-read").is_empty());
    for level in ["READ COMMITTED", "REPEATABLE READ"] {
        database.execute("DELETE FROM jobs; INSERT INTO jobs (id, kind) VALUES (1, 'email')");
        let [read, cancel] =
            <[String; 2]>::try_from(database.statements("cancel_job", &[("1", "1")]))
                .expect("two statements");
        let mut run = database.sessions(["cancel", "worker"]);
        run.step("cancel", &format!("BEGIN ISOLATION LEVEL {level}"));
        assert_eq!(run.step("cancel", &read).rows(), ["available|NULL"]);
        assert_eq!(
            run.step("worker", &claim_jobs(&database, "'w1'")).rows(),
            ["1"]
        );
        let cancelled = run.step("cancel", &cancel);
        run.step("cancel", "COMMIT");
        let job = database.query("SELECT state, attempt, attempted_by FROM jobs");
        if level == "READ COMMITTED" {
            assert_eq!(cancelled.count(), 1);
            assert_eq!(
                job,
                ["cancelled|1|w1"],
                "the claim is lost while w1 runs the job"
            );
        } else {
            assert_eq!(cancelled.sqlstate(), "40001");
            assert_eq!(job, ["running|1|w1"]);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Disjointness from literals and moves.
// ---------------------------------------------------------------------------------------------

/// Four statements run at once on a running job (1), an available one (2), one completed two
/// days ago (3) and a due scheduled one (4): none waits for another, none overwrites or deletes
/// a row another writes, and the result is that of running them one after the other.
#[test]
fn literal_sets_disjoint_status() {
    let Some(database) = Database::of("literal_sets_disjoint_status") else {
        return;
    };
    assert!(database.requires("read-committed").is_empty());
    database.execute(
        "INSERT INTO jobs (id, kind, state, scheduled_at, attempted_by, finalized_at) VALUES \
         (1, 'email', 'running', now() - interval '1 hour', 'w1', NULL), \
         (2, 'email', 'available', now() - interval '1 hour', NULL, NULL), \
         (3, 'email', 'completed', now() - interval '3 days', 'w1', now() - interval '2 days'), \
         (4, 'email', 'scheduled', now() - interval '1 minute', NULL, NULL)",
    );
    let mut run = database.sessions(["complete", "cancel", "claim", "delete"]);
    run.step("complete", "BEGIN");
    let complete = database.statement("CompleteJob", &[("id", "1")]);
    assert_eq!(run.step("complete", &complete).rows(), ["1"]);
    run.step("cancel", "BEGIN");
    let cancel = |id| database.statement("CancelJob", &[("id", id)]);
    // state <> 'running' is false for job 1 in the snapshot: no wait, no row.
    assert!(run.step("cancel", &cancel("1")).rows().is_empty());
    assert_eq!(run.step("cancel", &cancel("2")).rows(), ["2"]);
    let claim = database.statement(
        "ClaimJobs",
        &[("queue", "'default'"), ("max", "10"), ("worker", "'w2'")],
    );
    // Job 2 is held by the cancel (skipped); job 4 is a due scheduled job.
    assert_eq!(run.step("claim", &claim).rows(), ["4"]);
    let delete = database.statement(
        "DeleteFinalizedBefore",
        &[("before", "now() - interval '1 day'"), ("max", "10")],
    );
    assert_eq!(
        run.step("delete", &delete).count(),
        1,
        "job 3 only, without waiting"
    );
    run.step("complete", "COMMIT");
    run.step("cancel", "COMMIT");
    assert_eq!(
        database.query("SELECT id, state FROM jobs ORDER BY id"),
        ["1|completed", "2|cancelled", "4|running"]
    );
}

/// Two claimers on a queue limited to one running job: SKIP LOCKED gives them different jobs,
/// each count sees the other's job as available, and two jobs run. Run one after the other, the
/// second claimer gets nothing.
#[test]
fn status_move_into_predicate() {
    let Some(database) = Database::of("status_move_into_predicate") else {
        return;
    };
    assert_eq!(
        database.requires("read-committed"),
        ["phantom-write-skew: ClaimJob"]
    );
    database.execute(
        "INSERT INTO jobs (id, queue, kind) VALUES \
         (1, 'default', 'email'), (2, 'default', 'email'), (3, 'other', 'email'), (4, 'other', 'email')",
    );
    let claim = |queue, worker| {
        database.statement(
            "ClaimJob",
            &[("queue", queue), ("worker", worker), ("limit", "1")],
        )
    };
    let mut run = database.sessions(["w1", "w2"]);
    run.step("w1", "BEGIN");
    assert_eq!(run.step("w1", &claim("'default'", "'w1'")).rows(), ["1"]);
    assert_eq!(run.step("w2", &claim("'default'", "'w2'")).rows(), ["2"]);
    run.step("w1", "COMMIT");
    assert_eq!(
        database.query("SELECT count(*) FROM jobs WHERE queue = 'default' AND state = 'running'"),
        ["2"],
        "the limit of one running job is exceeded"
    );

    assert_eq!(run.step("w1", &claim("'other'", "'w1'")).rows(), ["3"]);
    assert!(run.step("w2", &claim("'other'", "'w2'")).rows().is_empty());
}

// ---------------------------------------------------------------------------------------------
// An UPDATE that moves rows into another's predicate is a phantom write.
// ---------------------------------------------------------------------------------------------

/// Shift 1 with doctor 1 on call and doctors 2 and 3 off call.
const ONE_ON_CALL: &str = "DELETE FROM oncall; DELETE FROM shifts; \
     INSERT INTO shifts VALUES (1, 'A&E', '2024-01-01 20:00+00', '2024-01-02 08:00+00'); \
     INSERT INTO oncall (shift_id, doctor_id, on_call) VALUES (1, 1, true), (1, 2, false), (1, 3, false)";

/// Doctors 2 and 3 go on call at once. Doctor 3's check waits for doctor 2's locks, and then
/// returns: the rows it locked (one on call, or every row of the shift) and the session.
fn go_on_call_together(database: &Database, level: &str) -> (Outcome, Schedule) {
    database.execute(ONE_ON_CALL);
    let steps = |doctor| database.statements("go_on_call", &[("1", "1"), ("2", doctor)]);
    let (check_2, check_3) = (steps("2")[0].clone(), steps("3")[0].clone());
    let mut run = database.sessions(["doctor_2", "doctor_3"]);
    run.step("doctor_2", &format!("BEGIN ISOLATION LEVEL {level}"));
    assert!(!run.step("doctor_2", &check_2).rows().is_empty());
    run.step("doctor_3", &format!("BEGIN ISOLATION LEVEL {level}"));
    assert!(run.step("doctor_3", &check_3).is_waiting());
    assert_eq!(run.step("doctor_2", &steps("2")[1]).count(), 1);
    run.step("doctor_2", "COMMIT");
    (run.finish("doctor_3"), run)
}

/// The check locks the doctors on call; doctor 3's check waits for doctor 1's row, yet after
/// the wait it still sees one doctor on call: doctor 2, who moved in, was not among the rows it
/// scanned. Three doctors end on call, at both levels.
#[test]
fn update_moves_row_into_predicate_phantom() {
    let Some(database) = Database::of("update_moves_row_into_predicate_phantom") else {
        return;
    };
    assert_eq!(
        database.requires("read-committed"),
        ["phantom-write-skew: go_on_call"]
    );
    assert_eq!(
        database.requires("repeatable-read"),
        ["phantom-write-skew: go_on_call"]
    );
    for level in ["READ COMMITTED", "REPEATABLE READ"] {
        let (check, mut run) = go_on_call_together(&database, level);
        assert_eq!(check.rows(), ["1"], "{level}: doctor 2 is a phantom");
        let join = &database.statements("go_on_call", &[("1", "1"), ("2", "3")])[1];
        assert_eq!(run.step("doctor_3", join).count(), 1);
        run.step("doctor_3", "COMMIT");
        assert_eq!(
            database.query("SELECT count(*) FROM oncall WHERE on_call"),
            ["3"],
            "{level}"
        );
    }
}

/// The check locks every row of the shift: doctor 3's check waits and then returns the newest
/// versions (two on call), so the application refuses. REPEATABLE READ fails with 40001.
#[test]
fn update_into_predicate_of_locked_rows_serialises() {
    let Some(database) = Database::of("update_into_predicate_of_locked_rows_serialises") else {
        return;
    };
    assert!(database.requires("read-committed").is_empty());
    assert!(database.requires("repeatable-read").is_empty());
    let (check, mut run) = go_on_call_together(&database, "READ COMMITTED");
    assert_eq!(check.rows(), ["1|t", "2|t", "3|f"]);
    run.step("doctor_3", "ROLLBACK");
    let (check, _) = go_on_call_together(&database, "REPEATABLE READ");
    assert_eq!(check.sqlstate(), "40001");
    assert_eq!(
        database.query("SELECT count(*) FROM oncall WHERE on_call"),
        ["2"]
    );
}

/// Shift 1 with doctor 1 primary, doctor 2 backup (when `backup`, else off) and doctor 3 off.
fn roles(database: &Database, backup: bool) {
    let role_2 = if backup { "backup" } else { "off" };
    database.execute(&format!(
        "DELETE FROM oncall; INSERT INTO oncall VALUES \
         (1, 1, 'primary'), (1, 2, '{role_2}'), (1, 3, 'off')"
    ));
}

/// A check that locks the doctors holding a role. swap_roles moves rows between roles the check
/// lets through: the second swap's check waits for the first and returns the newest versions
/// of the same two rows, and the two swaps end where a serial order ends. take_backup moves
/// a doctor in from `off`: a concurrent check misses that row, whichever program it belongs to.
#[test]
fn update_within_locked_predicate_serialises() {
    let Some(database) = Database::of("update_within_locked_predicate_serialises") else {
        return;
    };
    assert_eq!(
        database.requires("read-committed"),
        [
            "phantom-write-skew: take_backup",
            "phantom-write-skew: swap_roles, take_backup"
        ]
    );
    let swap = database.statements("swap_roles", &[("1", "1")]);
    let take = |doctor| database.statements("take_backup", &[("1", "1"), ("2", doctor)]);

    roles(&database, true);
    let mut run = database.sessions(["first", "second"]);
    run.step("first", "BEGIN");
    assert_eq!(
        run.step("first", &swap[0]).rows(),
        ["1|primary", "2|backup"]
    );
    run.step("second", "BEGIN");
    assert!(run.step("second", &swap[0]).is_waiting());
    assert_eq!(run.step("first", &swap[1]).count(), 2);
    run.step("first", "COMMIT");
    assert_eq!(
        run.finish("second").rows(),
        ["1|backup", "2|primary"],
        "the waiting check returns the newest versions of the rows it locked"
    );
    assert_eq!(run.step("second", &swap[1]).count(), 2);
    run.step("second", "COMMIT");
    assert_eq!(
        database.query("SELECT doctor_id, role FROM oncall ORDER BY doctor_id"),
        ["1|primary", "2|backup", "3|off"],
        "two swaps, as in either serial order"
    );

    roles(&database, false);
    let mut run = database.sessions(["doctor_2", "doctor_3"]);
    run.step("doctor_2", "BEGIN");
    assert_eq!(run.step("doctor_2", &take("2")[0]).rows(), ["1|primary"]);
    run.step("doctor_3", "BEGIN");
    assert!(run.step("doctor_3", &take("3")[0]).is_waiting());
    assert_eq!(run.step("doctor_2", &take("2")[1]).count(), 1);
    run.step("doctor_2", "COMMIT");
    assert_eq!(
        run.finish("doctor_3").rows(),
        ["1|primary"],
        "doctor 2 moved in after the check's snapshot"
    );
    assert_eq!(run.step("doctor_3", &take("3")[1]).count(), 1);
    run.step("doctor_3", "COMMIT");
    assert_eq!(
        database.query("SELECT count(*) FROM oncall WHERE role <> 'off'"),
        ["3"]
    );

    roles(&database, false);
    let mut run = database.sessions(["take", "swap"]);
    run.step("take", "BEGIN");
    assert_eq!(run.step("take", &take("2")[0]).rows(), ["1|primary"]);
    run.step("swap", "BEGIN");
    assert!(run.step("swap", &swap[0]).is_waiting());
    assert_eq!(run.step("take", &take("2")[1]).count(), 1);
    run.step("take", "COMMIT");
    assert_eq!(
        run.finish("swap").rows(),
        ["1|primary"],
        "swap_roles misses the backup take_backup moved in"
    );
    run.step("swap", "ROLLBACK");
}

/// Fekete's batch anomaly at read committed: the receipt reads batch 1 as current, the batch is
/// closed, and the archive (Tin) stores batch 1's total before the receipt lands in it. The
/// stored total misses a receipt of a closed batch; batch_report runs the same reads and only
/// shows that total (a warning when it is the structure's only Tin, see tests/cli.rs).
#[test]
fn read_only_tin_structure_is_a_warning() {
    let Some(database) = Database::of("read_only_tin_structure_is_a_warning") else {
        return;
    };
    assert_eq!(
        database.requires("read-committed"),
        ["dangerous-structure: archive_batch, close_batch, new_receipt"]
    );
    database.execute(
        "INSERT INTO control VALUES (1, 1); \
         INSERT INTO receipts (batch_no, amount) VALUES (1, 10)",
    );
    let receipt = database.statements("new_receipt", &[("1", "1"), ("2", "5")]);
    let archive = database.statements("archive_batch", &[("1", "1")]);
    let report = database.statements("batch_report", &[("1", "1")]);
    let close = database.statements("close_batch", &[]);
    let mut run = database.sessions(["receipt", "close", "archive", "report"]);
    run.step("receipt", "BEGIN");
    assert_eq!(run.step("receipt", &receipt[0]).rows(), ["1"]);
    run.step("close", "BEGIN");
    assert_eq!(run.step("close", &close[0]).count(), 1);
    run.step("close", "COMMIT");
    run.step("report", "BEGIN");
    assert_eq!(run.step("report", &report[0]).rows(), ["2"]);
    assert_eq!(run.step("report", &report[1]).rows(), ["10"]);
    run.step("report", "COMMIT");
    run.step("archive", "BEGIN");
    assert_eq!(run.step("archive", &archive[0]).rows(), ["2"]);
    assert_eq!(run.step("archive", &archive[1]).count(), 1);
    run.step("archive", "COMMIT");
    assert_eq!(run.step("receipt", &receipt[1]).count(), 1);
    run.step("receipt", "COMMIT");
    assert_eq!(
        database.query(
            "SELECT t.total, (SELECT sum(amount) FROM receipts WHERE batch_no = 1) \
             FROM batch_totals t WHERE t.batch_no = 1"
        ),
        ["10|15"],
        "the archived total of closed batch 1 misses a receipt filed under it"
    );
}

/// A pushed job holds lock_by NULL: a worker's count of `lock_by = 'w1'` never includes it,
/// before or after the push commits. Two TakeJob of one worker both count none and both take a
/// job: the worker runs two.
#[test]
fn insert_of_null_cannot_match_equality() {
    let Some(database) = Database::of("insert_of_null_cannot_match_equality") else {
        return;
    };
    assert_eq!(
        database.requires("read-committed"),
        ["phantom-write-skew: TakeJob", "phantom-write-skew: PushJob"]
    );
    database.execute(
        "INSERT INTO jobs VALUES ('a', 'Pending', NULL, now()), ('b', 'Pending', NULL, now())",
    );
    let take = |job| database.statements("TakeJob", &[("worker", "'w1'"), ("id", job)]);
    let push = database.statements("PushJob", &[("id", "'c'")]);
    let mut run = database.sessions(["take", "push"]);
    run.step("take", "BEGIN");
    assert_eq!(run.step("take", &take("'a'")[0]).rows(), ["0"]);
    run.step("push", "BEGIN");
    assert_eq!(run.step("push", &push[0]).rows(), ["2"]);
    assert_eq!(run.step("push", &push[1]).count(), 1);
    run.step("push", "COMMIT");
    assert_eq!(
        run.step("take", &take("'a'")[0]).rows(),
        ["0"],
        "the pushed job is nobody's: it never enters the worker's count"
    );
    run.step("take", "ROLLBACK");

    let mut run = database.sessions(["first", "second"]);
    run.step("first", "BEGIN");
    assert_eq!(run.step("first", &take("'a'")[0]).rows(), ["0"]);
    run.step("second", "BEGIN");
    assert_eq!(run.step("second", &take("'b'")[0]).rows(), ["0"]);
    assert_eq!(run.step("first", &take("'a'")[1]).count(), 1);
    assert_eq!(run.step("second", &take("'b'")[1]).count(), 1);
    run.step("first", "COMMIT");
    run.step("second", "COMMIT");
    assert_eq!(
        database.query("SELECT count(*) FROM jobs WHERE lock_by = 'w1'"),
        ["2"],
        "both saw none running and the worker runs two"
    );
}

/// `NOT EXISTS (SELECT * ...)` learns only whether a message follows the tail. A Claim that
/// commits between Append's tail read and its commit changes attempts and attempt_at of the
/// tail, which the read never looked at: Append chains after the same tail as in either serial
/// order. Two Append of one channel both find the tail and fork the chain.
#[test]
fn exists_reads_only_its_predicate() {
    let Some(database) = Database::of("exists_reads_only_its_predicate") else {
        return;
    };
    assert_eq!(
        database.requires("read-committed"),
        ["phantom-write-skew: Append"]
    );
    database.execute(
        "INSERT INTO msgs (id, channel, after_id, attempt_at) VALUES \
         (1, 'c', NULL, now() - interval '2 minutes'), (2, 'c', 1, now() - interval '1 minute')",
    );
    let append = |id| database.statement("Append", &[("1", id), ("2", "'c'")]);
    let claim = database.statement("Claim", &[("1", "'c'")]);
    let mut run = database.sessions(["append", "claim"]);
    run.step("append", "BEGIN");
    run.step("claim", "BEGIN");
    assert_eq!(run.step("claim", &claim).count(), 1);
    assert_eq!(run.step("append", &append("3")).count(), 1);
    run.step("claim", "COMMIT");
    run.step("append", "COMMIT");
    assert_eq!(
        database.query("SELECT after_id FROM msgs WHERE id = 3"),
        ["2"],
        "the claim left the tail where it was: Append followed message 2, as in a serial order"
    );

    let mut run = database.sessions(["first", "second"]);
    run.step("first", "BEGIN");
    run.step("second", "BEGIN");
    assert_eq!(run.step("first", &append("4")).count(), 1);
    assert_eq!(run.step("second", &append("5")).count(), 1);
    run.step("first", "COMMIT");
    run.step("second", "COMMIT");
    assert_eq!(
        database.query("SELECT id FROM msgs WHERE after_id = 3 ORDER BY id"),
        ["4", "5"],
        "both found message 3 as the tail: the chain forks"
    );
}

/// drop_queue raises while the queue has a subscription, and read_batch raises without its
/// own: with neither adding or removing one, they never both go on, so drop_queue cannot
/// delete the ticks and queue between read_batch's reads. drop_queue_anyway has no such check:
/// read_batch sees the queue's ticks and then no queue.
#[test]
fn raise_if_found_guard_excludes_a_finder() {
    let Some(database) = Database::of("raise_if_found_guard_excludes_a_finder") else {
        return;
    };
    assert_eq!(
        database.requires("read-committed"),
        [
            "read-skew: drop_queue_anyway, read_batch",
            "read-skew: drop_queue_anyway, read_batch_by_name"
        ]
    );
    database.execute(
        "INSERT INTO queues VALUES (1, 'q'); INSERT INTO ticks VALUES (1, 1), (1, 2); \
         INSERT INTO subscriptions VALUES (1, 'c')",
    );
    let mut run = database.sessions(["reader", "dropper"]);
    run.step("reader", "BEGIN");
    assert_eq!(
        run.step(
            "reader",
            "SELECT queue_id FROM subscriptions WHERE queue_id = 1 AND consumer = 'c'"
        )
        .rows(),
        ["1"]
    );
    assert_eq!(
        run.step(
            "reader",
            "SELECT max(tick_id) FROM ticks WHERE queue_id = 1"
        )
        .rows(),
        ["2"]
    );
    assert_eq!(
        run.step("dropper", "SELECT drop_queue('q')").sqlstate(),
        "P0001",
        "the subscription read_batch found stops the guarded drop"
    );
    run.step("dropper", "SELECT drop_queue_anyway('q')");
    assert!(
        run.step("reader", "SELECT name FROM queues WHERE id = 1")
            .rows()
            .is_empty(),
        "the unguarded drop deleted the queue between the reads: ticks seen, queue gone"
    );
    run.step("reader", "COMMIT");
}

/// A queue `create_queue` has not committed cannot be found by name: `tick` raises rather than
/// miss its first tick, and once it is committed `tick` sees that tick. `create_queue` returns
/// when its name check finds a row, so it never goes on after seeing the queue `drop_queue`
/// deletes; a second `create_queue` of the name waits on the unique key and fails.
#[test]
fn new_queue_rows_are_its_own() {
    let Some(database) = Database::of("new_queue_rows_are_its_own") else {
        return;
    };
    assert_eq!(
        database.requires("read-committed"),
        ["phantom-write-skew: tick"]
    );
    let mut run = database.sessions(["creator", "ticker"]);
    run.step("creator", "BEGIN");
    assert_eq!(
        run.step("creator", "SELECT create_queue('q')").rows(),
        ["1"]
    );
    assert_eq!(
        run.step("ticker", "SELECT tick('q')").sqlstate(),
        "P0001",
        "the queue is not there until create_queue commits"
    );
    run.step("creator", "COMMIT");
    assert_eq!(
        run.step("ticker", "SELECT tick('q') IS NOT NULL").rows(),
        ["t"],
        "once committed, its first tick is seen"
    );

    let mut run = database.sessions(["dropper", "creator"]);
    run.step("dropper", "BEGIN");
    run.step("dropper", "SELECT drop_queue('q')");
    assert_eq!(
        run.step("creator", "SELECT create_queue('q')").rows(),
        ["0"],
        "the name check finds the queue being dropped and returns"
    );
    run.step("dropper", "COMMIT");
    assert_eq!(
        run.step("creator", "SELECT create_queue('q')").rows(),
        ["1"]
    );

    let mut run = database.sessions(["a", "b"]);
    run.step("a", "BEGIN");
    assert_eq!(run.step("a", "SELECT create_queue('r')").rows(), ["1"]);
    assert!(
        run.step("b", "SELECT create_queue('r')").is_waiting(),
        "the second insert of the name waits on the unique key"
    );
    run.step("a", "COMMIT");
    assert_eq!(run.finish("b").sqlstate(), "23505");
}

/// StopProducer deletes by the primary key. A producer StartProducer adds with that uuid is
/// missed only when the row was absent (the DELETE deletes nothing) or when the INSERT waits
/// on the key for the DELETE to commit, so StartProducer never commits before StopProducer.
#[test]
fn delete_by_key_misses_only_absent_rows() {
    let Some(database) = Database::of("delete_by_key_misses_only_absent_rows") else {
        return;
    };
    assert_eq!(
        database.requires("repeatable-read"),
        ["dangerous-structure: CountProducers, StartProducer, StopProducersNamed"]
    );
    let uuid = "'00000000-0000-0000-0000-000000000001'";
    database.execute(&format!("INSERT INTO producers VALUES ({uuid}, 'p')"));
    let stop = database.statement("StopProducer", &[("1", uuid)]);
    let start = database.statement("StartProducer", &[("1", uuid), ("2", "'q'")]);
    let mut run = database.sessions(["stop", "start"]);
    run.step("stop", "BEGIN ISOLATION LEVEL REPEATABLE READ");
    run.step("start", "BEGIN ISOLATION LEVEL REPEATABLE READ");
    assert_eq!(run.step("stop", &stop).count(), 1);
    assert!(
        run.step("start", &start).is_waiting(),
        "the insert of the key waits for the delete of the row that holds it"
    );
    run.step("stop", "COMMIT");
    assert_eq!(run.finish("start").count(), 1);
    run.step("start", "COMMIT");

    let mut run = database.sessions(["stop", "start"]);
    let absent = "'00000000-0000-0000-0000-000000000002'";
    let stop = database.statement("StopProducer", &[("1", absent)]);
    let start = database.statement("StartProducer", &[("1", absent), ("2", "'r'")]);
    run.step("stop", "BEGIN ISOLATION LEVEL REPEATABLE READ");
    assert_eq!(
        run.step("stop", &stop).count(),
        0,
        "missing a row that is not there yet deletes nothing"
    );
    run.step("start", &start);
    run.step("stop", "COMMIT");
}

// ---------------------------------------------------------------------------------------------
// Unique keys and ON CONFLICT serialise.
// ---------------------------------------------------------------------------------------------

/// Two check-then-insert transactions of one key: both checks find nothing, the second INSERT
/// waits for the first transaction and fails with 23505 when it commits.
fn check_then_insert_twice(database: &Database, check: &[String], insert_a: &str, insert_b: &str) {
    let mut run = database.sessions(["a", "b"]);
    for session in ["a", "b"] {
        run.step(session, "BEGIN");
        assert!(run.step(session, &check[0]).rows().is_empty());
    }
    assert_eq!(run.step("a", insert_a).count(), 1);
    assert!(run.step("b", insert_b).is_waiting());
    run.step("a", "COMMIT");
    assert_eq!(run.finish("b").sqlstate(), "23505");
    run.step("b", "ROLLBACK");
}

/// ON CONFLICT DO NOTHING: the second insert of the key waits, then inserts nothing.
/// Check-then-insert: unique_violation. ON CONFLICT DO UPDATE: the second upsert waits and
/// computes least(...) from the first's committed version.
#[test]
fn unique_key_on_conflict_do_nothing() {
    let Some(database) = Database::of("unique_key_on_conflict_do_nothing") else {
        return;
    };
    assert!(database.requires("read-committed").is_empty());
    let insert_unique = database.statement(
        "InsertUniqueJob",
        &[
            ("queue", "'default'"),
            ("kind", "'report'"),
            ("args", "'{}'"),
            ("unique_key", "'report:7'"),
        ],
    );
    let mut run = database.sessions(["a", "b"]);
    run.step("a", "BEGIN");
    assert_eq!(run.step("a", &insert_unique).count(), 1);
    assert!(run.step("b", &insert_unique).is_waiting());
    run.step("a", "COMMIT");
    assert!(run.finish("b").rows().is_empty(), "DO NOTHING: no row back");

    let enqueue_once = |queue| {
        database.statements(
            "enqueue_once",
            &[
                ("1", "'report:8'"),
                ("2", queue),
                ("3", "'report'"),
                ("4", "'{}'"),
            ],
        )
    };
    let (a, b) = (enqueue_once("'default'"), enqueue_once("'reports'"));
    check_then_insert_twice(&database, &a, &a[1], &b[1]);
    assert_eq!(
        database.query("SELECT unique_key, count(*) FROM jobs GROUP BY 1 ORDER BY 1"),
        ["report:7|1", "report:8|1"]
    );

    database
        .execute("INSERT INTO periodic_jobs VALUES ('nightly', 'report', '2030-01-02 00:00+00')");
    let upsert = |at| {
        database.statement(
            "UpsertPeriodicJob",
            &[
                ("name", "'nightly'"),
                ("kind", "'report'"),
                ("next_run_at", at),
            ],
        )
    };
    run.step("a", "BEGIN");
    assert_eq!(run.step("a", &upsert("'2030-01-01 09:00+00'")).count(), 1);
    assert!(run.step("b", &upsert("'2030-01-01 10:00+00'")).is_waiting());
    run.step("a", "COMMIT");
    assert_eq!(run.finish("b").count(), 1);
    assert_eq!(
        database.query("SELECT next_run_at AT TIME ZONE 'UTC' FROM periodic_jobs"),
        ["2030-01-01 09:00:00"],
        "the second upsert computed from the first's committed version"
    );
}

/// Inserts of live jobs are entries of the partial unique index: the second waits and fails,
/// or takes DO NOTHING. A finalized job's key is outside the predicate and does not conflict.
#[test]
fn partial_unique_index_insert() {
    let Some(database) = Database::of("partial_unique_index_insert") else {
        return;
    };
    assert!(database.requires("read-committed").is_empty());
    let enqueue_once = |key| {
        database.statements(
            "enqueue_once",
            &[("1", key), ("2", "'default'"), ("3", "'report'")],
        )
    };
    let live = enqueue_once("'report:7'");
    check_then_insert_twice(&database, &live, &live[1], &live[1]);

    let insert_unique = database.statement(
        "InsertUniqueJob",
        &[
            ("queue", "'default'"),
            ("kind", "'report'"),
            ("unique_key", "'report:8'"),
        ],
    );
    let mut run = database.sessions(["a", "b"]);
    run.step("a", "BEGIN");
    assert_eq!(run.step("a", &insert_unique).count(), 1);
    assert!(run.step("b", &insert_unique).is_waiting());
    run.step("a", "COMMIT");
    assert!(run.finish("b").rows().is_empty(), "DO NOTHING: no row back");

    database.execute(
        "INSERT INTO jobs (kind, unique_key, state, finalized_at) \
         VALUES ('report', 'report:9', 'completed', now())",
    );
    for statement in enqueue_once("'report:9'") {
        database.execute(&statement);
    }
    assert_eq!(
        database.query("SELECT unique_key, state FROM jobs ORDER BY id"),
        [
            "report:7|available",
            "report:8|available",
            "report:9|completed",
            "report:9|available"
        ]
    );
}

/// Two scheduled jobs of one key: neither INSERT waits, both commit. Promoting them to
/// available brings both into the index, and the second promotion fails.
#[test]
fn partial_unique_index_uncovered_insert_phantom() {
    let Some(database) = Database::of("partial_unique_index_uncovered_insert_phantom") else {
        return;
    };
    assert_eq!(
        database.requires("read-committed"),
        ["phantom-write-skew: schedule_once"]
    );
    let steps = database.statements(
        "schedule_once",
        &[
            ("1", "'report:7'"),
            ("2", "'default'"),
            ("3", "'report'"),
            ("4", "now() + interval '1 hour'"),
        ],
    );
    let mut run = database.sessions(["a", "b"]);
    for session in ["a", "b"] {
        run.step(session, "BEGIN");
        assert!(run.step(session, &steps[0]).rows().is_empty());
    }
    for session in ["a", "b"] {
        assert_eq!(run.step(session, &steps[1]).count(), 1);
    }
    for session in ["a", "b"] {
        assert_eq!(run.step(session, "COMMIT").count(), 0);
    }
    assert_eq!(
        database.query("SELECT count(*) FROM jobs WHERE unique_key = 'report:7'"),
        ["2"]
    );
    let promote = "UPDATE jobs SET state = 'available' WHERE unique_key = 'report:7'";
    assert_eq!(run.step("a", promote).sqlstate(), "23505");
}

/// Two case variants of one queue name: the second INSERT waits on the expression index and
/// fails with 23505.
#[test]
fn unique_expression_index() {
    let Some(database) = Database::of("unique_expression_index") else {
        return;
    };
    assert!(database.requires("read-committed").is_empty());
    let (upper, lower) = (
        database.statements("create_queue", &[("1", "'Emails'")]),
        database.statements("create_queue", &[("1", "'emails'")]),
    );
    let mut run = database.sessions(["a", "b"]);
    run.step("a", "BEGIN");
    assert!(run.step("a", &upper[0]).rows().is_empty());
    run.step("b", "BEGIN");
    assert!(run.step("b", &lower[0]).rows().is_empty());
    assert_eq!(run.step("a", &upper[1]).count(), 1);
    assert!(run.step("b", &lower[1]).is_waiting());
    run.step("a", "COMMIT");
    assert_eq!(run.finish("b").sqlstate(), "23505");
}

/// With UNIQUE on the name as written, the same interleaving commits both: two queues whose
/// names differ only in case.
#[test]
fn unique_plain_key_case_insensitive_check_phantom() {
    let Some(database) = Database::of("unique_plain_key_case_insensitive_check_phantom") else {
        return;
    };
    assert_eq!(
        database.requires("read-committed"),
        ["phantom-write-skew: create_queue"]
    );
    let (upper, lower) = (
        database.statements("create_queue", &[("1", "'Emails'")]),
        database.statements("create_queue", &[("1", "'emails'")]),
    );
    let mut run = database.sessions(["a", "b"]);
    run.step("a", "BEGIN");
    assert!(run.step("a", &upper[0]).rows().is_empty());
    run.step("b", "BEGIN");
    assert!(run.step("b", &lower[0]).rows().is_empty());
    assert_eq!(run.step("a", &upper[1]).count(), 1);
    assert_eq!(
        run.step("b", &lower[1]).count(),
        1,
        "no key conflict: b does not wait"
    );
    run.step("a", "COMMIT");
    run.step("b", "COMMIT");
    assert_eq!(
        database.query("SELECT count(*) FROM queues WHERE lower(name) = 'emails'"),
        ["2"],
        "both checks passed and both queues exist"
    );
}

/// Job 1 holds the lock. Job 2's ON CONFLICT DO NOTHING finds it held and takes no lock on the
/// row, so the release's DELETE does not wait; the release found no waiter, job 2 queued up:
/// the lock is gone and job 2 waits forever. The same at REPEATABLE READ.
#[test]
fn on_conflict_do_nothing_reads_the_key_lost_wakeup() {
    let Some(database) = Database::of("on_conflict_do_nothing_reads_the_key_lost_wakeup") else {
        return;
    };
    assert_eq!(
        database.requires("read-committed"),
        ["phantom-write-skew: acquire_or_wait, release"]
    );
    assert_eq!(
        database.requires("repeatable-read"),
        ["phantom-write-skew: acquire_or_wait, release"]
    );
    for level in ["READ COMMITTED", "REPEATABLE READ"] {
        database.execute(
            "DELETE FROM job_lock_waiters; DELETE FROM job_locks; \
             INSERT INTO job_locks (key, job_id) VALUES ('invoice:42', 1)",
        );
        let acquire = database.statements("acquire_or_wait", &[("1", "'invoice:42'"), ("2", "2")]);
        let release = database.statements("release", &[("1", "'invoice:42'"), ("2", "1")]);
        let mut run = database.sessions(["acquire", "release"]);
        run.step("acquire", &format!("BEGIN ISOLATION LEVEL {level}"));
        assert!(run.step("acquire", &acquire[0]).rows().is_empty(), "held");
        run.step("release", &format!("BEGIN ISOLATION LEVEL {level}"));
        assert!(
            run.step("release", &release[0]).rows().is_empty(),
            "no waiter"
        );
        assert_eq!(run.step("acquire", &acquire[1]).count(), 1);
        assert_eq!(run.step("release", &release[1]).count(), 1, "no wait");
        assert_eq!(run.step("release", "COMMIT").count(), 0);
        assert_eq!(run.step("acquire", "COMMIT").count(), 0);
        assert!(database.query("SELECT key FROM job_locks").is_empty());
        assert_eq!(
            database.query("SELECT key, job_id FROM job_lock_waiters"),
            ["invoice:42|2"],
            "{level}: a waiter and no lock to hand over"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Phantoms need an insert that can match.
// ---------------------------------------------------------------------------------------------

const ONE_BATCH: &str = "INSERT INTO batches (id, name) VALUES (1, 'monthly invoices'); \
     INSERT INTO jobs (id, kind, batch_id) VALUES (1, 'invoice', 1); \
     SELECT setval('jobs_id_seq', 1)";

fn enqueue_into_batch(database: &Database) -> Vec<String> {
    database.statements(
        "enqueue_into_batch",
        &[
            ("1", "1"),
            ("2", "'default'"),
            ("3", "'invoice'"),
            ("4", "'{}'"),
        ],
    )
}

/// The enqueued job takes id 2 from the sequence: the cancel's keyed read of job 1 reads the
/// same row before and after, and the outcome is that of enqueue, then cancel.
#[test]
fn insert_with_fresh_serial_key_cannot_match_keyed_read() {
    let Some(database) = Database::of("insert_with_fresh_serial_key_cannot_match_keyed_read")
    else {
        return;
    };
    assert!(database.requires("read-committed").is_empty());
    database.execute(ONE_BATCH);
    let enqueue = enqueue_into_batch(&database);
    let cancel = database.statements("cancel_batch_of_job", &[("1", "1"), ("2", "1")]);
    let mut run = database.sessions(["enqueue", "cancel"]);
    run.step("enqueue", "BEGIN");
    assert_eq!(run.step("enqueue", &enqueue[0]).rows(), ["1"]);
    run.step("cancel", "BEGIN");
    assert_eq!(run.step("cancel", &cancel[0]).rows(), ["1|available"]);
    assert_eq!(run.step("enqueue", &enqueue[1]).count(), 1);
    assert_eq!(run.step("cancel", &cancel[1]).count(), 1, "no wait");
    run.step("enqueue", "COMMIT");
    assert_eq!(
        run.step("cancel", &cancel[0]).rows(),
        ["1|available"],
        "the keyed read sees no new row"
    );
    run.step("cancel", "COMMIT");
    assert_eq!(
        database.query("SELECT id, batch_id, state FROM jobs ORDER BY id"),
        ["1|1|available", "2|1|available"]
    );
}

/// The cancel's read of the batch's unfinished jobs misses the job enqueued meanwhile, which
/// stays available in a cancelled batch, at both levels.
#[test]
fn insert_matching_batch_predicate_phantom() {
    let Some(database) = Database::of("insert_matching_batch_predicate_phantom") else {
        return;
    };
    assert_eq!(
        database.requires("read-committed"),
        ["phantom-write-skew: cancel_batch, enqueue_into_batch"]
    );
    assert_eq!(
        database.requires("repeatable-read"),
        ["phantom-write-skew: cancel_batch, enqueue_into_batch"]
    );
    for level in ["READ COMMITTED", "REPEATABLE READ"] {
        database.execute(&format!(
            "DELETE FROM jobs; DELETE FROM batches; {ONE_BATCH}"
        ));
        let enqueue = enqueue_into_batch(&database);
        let cancel = database.statements("cancel_batch", &[("1", "1")]);
        let mut run = database.sessions(["enqueue", "cancel"]);
        run.step("enqueue", &format!("BEGIN ISOLATION LEVEL {level}"));
        assert_eq!(run.step("enqueue", &enqueue[0]).rows(), ["1"]);
        run.step("cancel", &format!("BEGIN ISOLATION LEVEL {level}"));
        assert_eq!(run.step("cancel", &cancel[0]).count(), 1);
        assert_eq!(run.step("cancel", &cancel[1]).rows(), ["1|available"]);
        assert_eq!(run.step("cancel", &cancel[2]).count(), 1);
        assert_eq!(run.step("enqueue", &enqueue[1]).count(), 1, "no wait");
        run.step("cancel", "COMMIT");
        assert_eq!(run.step("enqueue", "COMMIT").count(), 0);
        assert_eq!(
            database.query(
                "SELECT j.id, j.state, b.cancelled_at IS NOT NULL \
                 FROM jobs j JOIN batches b ON b.id = j.batch_id ORDER BY j.id"
            ),
            ["1|cancelled|t", "2|available|t"],
            "{level}: a live job in a cancelled batch"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Literals and casts.
// ---------------------------------------------------------------------------------------------

/// complete_batch (GetRunningJobs, CompleteJobs over `= ANY(@ids::bigint[])`) against SnoozeJob
/// (`@id::bigint`): CompleteJobs waits for the snoozed job 1, its guard `state =
/// 'running'::job_state` fails on the new version, and only job 2 is completed. REPEATABLE READ
/// fails with 40001. ClaimJobs (`sqlc.arg(max)::int`) and ListAvailableOfKinds (`$1::text[]`)
/// bind as their uncast forms.
#[test]
fn sqlc_casts_and_any_arrays() {
    let Some(database) = Database::of("sqlc_casts_and_any_arrays") else {
        return;
    };
    assert!(database.requires("read-committed").is_empty());
    assert!(database.requires("repeatable-read").is_empty());
    for level in ["READ COMMITTED", "REPEATABLE READ"] {
        database.execute(
            "DELETE FROM jobs; \
             INSERT INTO jobs (id, kind, state, attempted_by) VALUES \
             (1, 'email', 'running', 'w1'), (2, 'email', 'running', 'w1'), (3, 'sms', 'available', NULL)",
        );
        let ids = [("ids", "'{1,2}'")];
        let mut run = database.sessions(["worker", "snooze"]);
        run.step("worker", &format!("BEGIN ISOLATION LEVEL {level}"));
        let running = run.step("worker", &database.statement("GetRunningJobs", &ids));
        assert_eq!(running.rows(), ["1|w1", "2|w1"]);
        run.step("snooze", "BEGIN");
        let snooze = database.statement(
            "SnoozeJob",
            &[("id", "1"), ("until", "'2030-01-01 00:00+00'")],
        );
        assert_eq!(run.step("snooze", &snooze).count(), 1);
        let complete = run.step("worker", &database.statement("CompleteJobs", &ids));
        assert!(complete.is_waiting());
        run.step("snooze", "COMMIT");
        let completed = run.finish("worker");
        run.step("worker", "COMMIT");
        let jobs = database.query("SELECT id, state FROM jobs ORDER BY id");
        if level == "READ COMMITTED" {
            assert_eq!(completed.count(), 1, "job 1 is re-checked and skipped");
            assert_eq!(jobs, ["1|scheduled", "2|completed", "3|available"]);
        } else {
            assert_eq!(completed.sqlstate(), "40001");
            assert_eq!(jobs, ["1|scheduled", "2|running", "3|available"]);
        }
    }
    let kinds = database.statement("ListAvailableOfKinds", &[("1", "'{sms,push}'")]);
    assert_eq!(database.query(&kinds), ["3|sms"]);
    let claim = database.statement(
        "ClaimJobs",
        &[("queue", "'default'"), ("max", "5"), ("worker", "'w2'")],
    );
    assert_eq!(database.query(&claim), ["3"]);
}

/// cancel_batch (GetJobs, CancelJobs over `= ANY(@ids::bigint[])`) reads job 1 as available,
/// ClaimJobs claims it and commits, CancelJobs overwrites it. REPEATABLE READ fails with 40001.
#[test]
fn sqlc_casts_and_any_arrays_lost_update() {
    let Some(database) = Database::of("sqlc_casts_and_any_arrays_lost_update") else {
        return;
    };
    assert_eq!(
        database.requires("read-committed"),
        ["lost-update: ClaimJobs, cancel_batch"]
    );
    assert!(database.requires("repeatable-read").is_empty());
    for level in ["READ COMMITTED", "REPEATABLE READ"] {
        database.execute("DELETE FROM jobs; INSERT INTO jobs (id, kind) VALUES (1, 'email')");
        let ids = [("ids", "'{1}'")];
        let claim = database.statement(
            "ClaimJobs",
            &[("queue", "'default'"), ("max", "1"), ("worker", "'w1'")],
        );
        let mut run = database.sessions(["admin", "worker"]);
        run.step("admin", &format!("BEGIN ISOLATION LEVEL {level}"));
        let jobs = run.step("admin", &database.statement("GetJobs", &ids));
        assert_eq!(jobs.rows(), ["1|available"]);
        assert_eq!(run.step("worker", &claim).rows(), ["1"]);
        let cancelled = run.step("admin", &database.statement("CancelJobs", &ids));
        run.step("admin", "COMMIT");
        let job = database.query("SELECT state, attempt, attempted_by FROM jobs");
        if level == "READ COMMITTED" {
            assert_eq!(cancelled.count(), 1);
            assert_eq!(
                job,
                ["cancelled|1|w1"],
                "the claim is lost while w1 runs the job"
            );
        } else {
            assert_eq!(cancelled.sqlstate(), "40001");
            assert_eq!(job, ["running|1|w1"]);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A lookup the routine raises without.
// ---------------------------------------------------------------------------------------------

/// create_queue's steps, run by hand up to its insert: it counts queue 0's events of topic 'q'
/// (none) and inserts queue 7, uncommitted.
fn create_queue_until_insert(run: &mut Schedule) {
    run.step("creator", "BEGIN");
    assert_eq!(
        run.step(
            "creator",
            "SELECT count(*) FROM events WHERE queue_id = 0 AND topic = 'q'"
        )
        .rows(),
        ["0"]
    );
    assert_eq!(
        run.step("creator", "INSERT INTO queues (id, name) VALUES (7, 'q')")
            .count(),
        1
    );
}

/// publish, called while create_queue's queue is uncommitted, does not find it and raises: no
/// event is published to a queue it missed.
#[test]
fn plpgsql_raise_unless_found_no_phantom() {
    let Some(database) = Database::of("plpgsql_raise_unless_found_no_phantom") else {
        return;
    };
    assert!(database.requires("read-committed").is_empty());
    let mut run = database.sessions(["creator", "publisher"]);
    create_queue_until_insert(&mut run);
    assert_eq!(
        run.step("publisher", "SELECT publish('q', 'x')").sqlstate(),
        "P0001",
        "no queue q yet: publish raises"
    );
    run.step("creator", "COMMIT");
    assert_eq!(database.query("SELECT count(*) FROM events"), ["0"]);
}

/// publish_or_default, called at the same point, publishes to queue 0; create_queue has
/// already counted queue 0's events and commits its queue: the event stays behind.
#[test]
fn plpgsql_not_found_default_queue_phantom() {
    let Some(database) = Database::of("plpgsql_not_found_default_queue_phantom") else {
        return;
    };
    assert_eq!(
        database.requires("read-committed"),
        ["phantom-write-skew: create_queue, publish_or_default"]
    );
    let mut run = database.sessions(["creator", "publisher"]);
    create_queue_until_insert(&mut run);
    assert_eq!(
        run.step("publisher", "SELECT publish_or_default('q', 'x')")
            .rows(),
        [""]
    );
    run.step("creator", "COMMIT");
    assert_eq!(
        database.query("SELECT e.queue_id, q.id FROM events e JOIN queues q ON q.name = e.topic"),
        ["0|7"],
        "topic q has queue 7, and its event is stranded in queue 0"
    );
}

// ---------------------------------------------------------------------------------------------
// The foreign key's lock on the parent row.
// ---------------------------------------------------------------------------------------------

/// tick's INSERT takes FOR KEY SHARE on queue 'q': drop_queue's FOR UPDATE waits until tick
/// commits, then counts and deletes that tick too. In the other order tick's INSERT waits for
/// drop_queue and then fails the foreign key. Either way the two run one after the other.
#[test]
fn foreign_key_insert_serialises_with_parent_delete() {
    let Some(database) = Database::of("foreign_key_insert_serialises_with_parent_delete") else {
        return;
    };
    assert!(database.requires("read-committed").is_empty());
    database.execute("INSERT INTO queues (id, name) VALUES (1, 'q'), (2, 'r')");
    let mut run = database.sessions(["ticker", "dropper"]);

    run.step("ticker", "BEGIN");
    assert_eq!(
        run.step("ticker", "SELECT id FROM queues WHERE name = 'q'")
            .rows(),
        ["1"]
    );
    assert_eq!(
        run.step("ticker", "INSERT INTO ticks (queue_id) VALUES (1)")
            .count(),
        1
    );
    run.step("dropper", "BEGIN");
    assert!(
        run.step(
            "dropper",
            "SELECT * FROM queues WHERE name = 'q' FOR UPDATE"
        )
        .is_waiting(),
        "FOR UPDATE waits for the tick's FOR KEY SHARE"
    );
    run.step("ticker", "COMMIT");
    assert_eq!(run.finish("dropper").count(), 1);
    assert_eq!(
        run.step("dropper", "SELECT count(*) FROM ticks WHERE queue_id = 1")
            .rows(),
        ["1"],
        "drop_queue counts the tick"
    );
    run.step("dropper", "DELETE FROM ticks WHERE queue_id = 1");
    run.step("dropper", "DELETE FROM queues WHERE name = 'q'");
    run.step("dropper", "COMMIT");

    run.step("ticker", "BEGIN");
    assert_eq!(
        run.step("ticker", "SELECT id FROM queues WHERE name = 'r'")
            .rows(),
        ["2"]
    );
    run.step("dropper", "BEGIN");
    assert_eq!(
        run.step(
            "dropper",
            "SELECT id FROM queues WHERE name = 'r' FOR UPDATE"
        )
        .rows(),
        ["2"]
    );
    assert_eq!(
        run.step("dropper", "SELECT count(*) FROM ticks WHERE queue_id = 2")
            .rows(),
        ["0"]
    );
    run.step("dropper", "DELETE FROM ticks WHERE queue_id = 2");
    assert!(
        run.step("ticker", "INSERT INTO ticks (queue_id) VALUES (2)")
            .is_waiting(),
        "the foreign key check waits for drop_queue's lock"
    );
    run.step("dropper", "DELETE FROM queues WHERE name = 'r'");
    run.step("dropper", "COMMIT");
    assert_eq!(run.finish("ticker").sqlstate(), "23503");
    assert_eq!(database.query("SELECT count(*) FROM ticks"), ["0"]);
}

/// close_queue's UPDATE of `closed` takes FOR NO KEY UPDATE, which does not wait for tick's
/// FOR KEY SHARE: both commit, and the closed queue has a tick close_queue did not count.
#[test]
fn foreign_key_insert_beside_parent_update_phantom() {
    let Some(database) = Database::of("foreign_key_insert_beside_parent_update_phantom") else {
        return;
    };
    assert_eq!(
        database.requires("read-committed"),
        ["phantom-write-skew: close_queue, tick"]
    );
    database.execute("INSERT INTO queues (id, name) VALUES (1, 'q')");
    let mut run = database.sessions(["ticker", "closer"]);
    run.step("ticker", "BEGIN");
    assert_eq!(
        run.step(
            "ticker",
            "SELECT id FROM queues WHERE name = 'q' AND NOT closed"
        )
        .rows(),
        ["1"]
    );
    run.step("closer", "BEGIN");
    assert_eq!(
        run.step("closer", "SELECT count(*) FROM ticks WHERE queue_id = 1")
            .rows(),
        ["0"]
    );
    assert_eq!(
        run.step("ticker", "INSERT INTO ticks (queue_id) VALUES (1)")
            .count(),
        1
    );
    assert_eq!(
        run.step("closer", "UPDATE queues SET closed = true WHERE id = 1")
            .count(),
        1,
        "FOR NO KEY UPDATE does not wait for FOR KEY SHARE"
    );
    run.step("closer", "COMMIT");
    run.step("ticker", "COMMIT");
    assert_eq!(
        database.query(
            "SELECT q.closed, count(t.id) FROM queues q JOIN ticks t ON t.queue_id = q.id \
             GROUP BY q.closed"
        ),
        ["t|1"],
        "a closed queue with a tick close_queue did not count"
    );
}

/// publish, called while create_queue's queue and topic are uncommitted, finds no row of the
/// join and raises: no event is published past a topic it missed.
#[test]
fn plpgsql_raise_unless_join_finds_no_phantom() {
    let Some(database) = Database::of("plpgsql_raise_unless_join_finds_no_phantom") else {
        return;
    };
    assert!(database.requires("read-committed").is_empty());
    let mut run = database.sessions(["creator", "publisher"]);
    run.step("creator", "BEGIN");
    assert_eq!(
        run.step(
            "creator",
            "SELECT count(*) FROM events WHERE queue_id = 0 AND topic = 'q'"
        )
        .rows(),
        ["0"]
    );
    run.step("creator", "INSERT INTO queues (id, name) VALUES (7, 'q')");
    run.step(
        "creator",
        "INSERT INTO topics (name, queue_id) VALUES ('q', 7)",
    );
    assert_eq!(
        run.step("publisher", "SELECT publish('q', 'x')").sqlstate(),
        "P0001",
        "no topic q yet: publish raises"
    );
    run.step("creator", "COMMIT");
    assert_eq!(database.query("SELECT count(*) FROM events"), ["0"]);
    run.step("publisher", "SELECT publish('q', 'y')");
    assert_eq!(
        database.query("SELECT queue_id, payload FROM events"),
        ["7|y"],
        "once the topic is committed, publish finds it"
    );
}

/// tick(q, false) runs no insert, so it takes no lock on the queue: it finds queue q, drop_queue
/// deletes q's ticks and q and commits, and tick counts no ticks and commits.
#[test]
fn foreign_key_conditional_insert_read_skew() {
    let Some(database) = Database::of("foreign_key_conditional_insert_read_skew") else {
        return;
    };
    assert_eq!(
        database.requires("read-committed"),
        ["read-skew: drop_queue, tick", "phantom-write-skew: tick"]
    );
    database.execute(
        "INSERT INTO queues (id, name) VALUES (1, 'q'); INSERT INTO ticks (queue_id) VALUES (1)",
    );
    let mut run = database.sessions(["ticker", "dropper"]);
    run.step("ticker", "BEGIN");
    assert_eq!(
        run.step("ticker", "SELECT id FROM queues WHERE name = 'q'")
            .rows(),
        ["1"]
    );
    run.step("dropper", "BEGIN");
    assert_eq!(run.step("dropper", "SELECT drop_queue('q')").rows(), ["1"]);
    run.step("dropper", "COMMIT");
    assert_eq!(
        run.step("ticker", "SELECT count(*) FROM ticks WHERE queue_id = 1")
            .rows(),
        ["0"],
        "tick saw queue q, and then no ticks of it"
    );
    assert_eq!(run.step("ticker", "COMMIT").count(), 0);
}

/// reposition's `SELECT ... INTO sub` is never read again: it only checks that the
/// subscription exists, and the UPDATE writes its argument and NULL. open_batch committing in
/// between leaves the row exactly as the serial order open_batch, reposition does. add_credit
/// writes the balance from the value it read, and loses the other add_credit's credit.
#[test]
fn unused_into_checks_only_existence() {
    let Some(database) = Database::of("unused_into_checks_only_existence") else {
        return;
    };
    assert_eq!(
        database.requires("read-committed"),
        ["lost-update: add_credit"]
    );
    let row = "INSERT INTO subscription (consumer, last_tick) VALUES ('c', 1)";
    database.execute(row);
    let mut run = database.sessions(["reposition", "open_batch"]);
    run.step("reposition", "BEGIN");
    run.step(
        "reposition",
        "SELECT last_tick, batch FROM subscription WHERE consumer = 'c'",
    );
    run.step("open_batch", "SELECT open_batch('c', 7)");
    run.step(
        "reposition",
        "UPDATE subscription SET last_tick = 5, batch = NULL WHERE consumer = 'c'",
    );
    run.step("reposition", "COMMIT");
    let concurrent = database.query("SELECT last_tick, batch FROM subscription");
    database.execute(&format!("DELETE FROM subscription; {row}"));
    database.execute("SELECT open_batch('c', 7); SELECT reposition('c', 5)");
    assert_eq!(
        concurrent,
        database.query("SELECT last_tick, batch FROM subscription"),
        "the same row as open_batch, then reposition"
    );

    database.execute(&format!("DELETE FROM subscription; {row}"));
    let mut run = database.sessions(["first", "second"]);
    run.step("first", "BEGIN");
    assert_eq!(
        run.step(
            "first",
            "SELECT balance FROM subscription WHERE consumer = 'c'"
        )
        .rows(),
        ["0"]
    );
    run.step("second", "SELECT add_credit('c', 10)");
    run.step(
        "first",
        "UPDATE subscription SET balance = 0 + 5 WHERE consumer = 'c'",
    );
    run.step("first", "COMMIT");
    assert_eq!(
        database.query("SELECT balance FROM subscription"),
        ["5"],
        "the credit of 10 is lost"
    );
}

/// retry_batch inserts exactly the keys its LEFT JOIN on the whole primary key found missing:
/// a second retry_batch of the same owner and event waits on the key and fails. retry_late
/// checks the event id only and inserts under its own owner: two owners both add a row.
#[test]
fn function_rows_are_values_of_the_statement() {
    let Some(database) = Database::of("function_rows_are_values_of_the_statement") else {
        return;
    };
    assert_eq!(
        database.requires("read-committed"),
        ["phantom-write-skew: retry_late"]
    );
    database.execute("INSERT INTO event VALUES (1, 10)");
    let mut run = database.sessions(["first", "second"]);
    run.step("first", "BEGIN");
    run.step("first", "SELECT retry_batch(7, 10)");
    assert!(
        run.step("second", "SELECT retry_batch(7, 10)").is_waiting(),
        "the second insert of the key waits for the first"
    );
    run.step("first", "COMMIT");
    assert_eq!(run.finish("second").sqlstate(), "23505");

    database.execute("DELETE FROM retry_queue");
    let mut run = database.sessions(["first", "second"]);
    run.step("first", "BEGIN");
    run.step("first", "SELECT retry_late(7, 10)");
    run.step("second", "SELECT retry_late(8, 10)");
    run.step("first", "COMMIT");
    assert_eq!(
        database.query("SELECT ev_owner, ev_id FROM retry_queue ORDER BY ev_owner"),
        ["7|1", "8|1"],
        "each missed the other's row: the event is queued twice"
    );
}

/// DeleteOldJobs keeps only final jobs through its derived table's `job.state IN (...)`. A claim
/// of an available job holds that job while the DELETE runs: the DELETE never chose it, so it
/// neither waits nor deletes it. A retry of a cancelled job holds that job: the DELETE chose it
/// from its snapshot, waits, re-checks only `id IN (...)` and deletes the retried job.
#[test]
fn derived_table_conditions_restrict_its_rows() {
    let Some(database) = Database::of("derived_table_conditions_restrict_its_rows") else {
        return;
    };
    assert_eq!(
        database.requires("read-committed"),
        ["lost-update: DeleteOldJobs, RetryJob"]
    );
    let seed = "DELETE FROM jobs; \
        INSERT INTO jobs (id, kind, state) VALUES \
        (1, 'email', 'cancelled'), (2, 'email', 'completed'), (3, 'email', 'available'); \
        INSERT INTO job_events (job_id, at) VALUES \
        (1, now() - interval '2 days'), (2, now() - interval '2 days'), \
        (3, now() - interval '2 days')";
    let delete_old = database.statement("DeleteOldJobs", &[("before", "now() - interval '1 day'")]);

    database.execute(seed);
    let mut run = database.sessions(["claim", "delete"]);
    run.step("claim", "BEGIN");
    let claimed = run.step("claim", &database.statement("ClaimJob", &[("id", "3")]));
    assert_eq!(claimed.rows(), ["3"]);
    let deleted = run.step("delete", &delete_old);
    assert!(
        !deleted.is_waiting(),
        "the DELETE never chose the claimed job"
    );
    assert_eq!(deleted.count(), 2);
    run.step("claim", "COMMIT");
    assert_eq!(
        database.query("SELECT id, state FROM jobs ORDER BY id"),
        ["3|running"],
        "the claim is kept"
    );

    database.execute(seed);
    let mut run = database.sessions(["retry", "delete"]);
    run.step("retry", "BEGIN");
    let retried = run.step("retry", &database.statement("RetryJob", &[("id", "1")]));
    assert_eq!(retried.rows(), ["1"]);
    assert!(run.step("delete", &delete_old).is_waiting());
    run.step("retry", "COMMIT");
    assert_eq!(
        run.finish("delete").count(),
        2,
        "the retried job is deleted too"
    );
    assert_eq!(
        database.query("SELECT id, state FROM jobs ORDER BY id"),
        ["3|available"],
        "RetryJob's write is lost"
    );
}

/// open_batch writes only after `IF v_batch IS NOT NULL THEN RETURN`: the row it read had no
/// batch. close_batch updates only `WHERE batch = p_batch`, so between open_batch's read and
/// its write it finds no row to update, and the outcome is the serial order close_batch,
/// open_batch. assign_batch writes whatever the row holds, and open_batch overwrites it.
#[test]
fn a_branch_on_a_read_value_excludes_writers_of_other_values() {
    let Some(database) = Database::of("a_branch_on_a_read_value_excludes_writers_of_other_values")
    else {
        return;
    };
    assert_eq!(
        database.requires("read-committed"),
        [
            "lost-update: open_batch",
            "lost-update: assign_batch, open_batch"
        ]
    );
    let row = "INSERT INTO subscription (consumer) VALUES ('c')";
    database.execute(row);
    let mut run = database.sessions(["opener", "closer"]);
    run.step("opener", "BEGIN");
    assert_eq!(
        run.step(
            "opener",
            "SELECT batch IS NULL FROM subscription WHERE consumer = 'c'"
        )
        .rows(),
        ["t"]
    );
    assert_eq!(
        run.step("closer", "SELECT close_batch(1)").rows(),
        ["0"],
        "close_batch finds no row with a batch open"
    );
    run.step(
        "opener",
        "UPDATE subscription SET batch = 5 WHERE consumer = 'c'",
    );
    run.step("opener", "COMMIT");
    assert_eq!(database.query("SELECT batch FROM subscription"), ["5"]);

    database.execute(&format!("DELETE FROM subscription; {row}"));
    let mut run = database.sessions(["opener", "assigner"]);
    run.step("opener", "BEGIN");
    run.step(
        "opener",
        "SELECT batch FROM subscription WHERE consumer = 'c'",
    );
    run.step("assigner", "SELECT assign_batch('c', 9)");
    run.step(
        "opener",
        "UPDATE subscription SET batch = 5 WHERE consumer = 'c'",
    );
    run.step("opener", "COMMIT");
    assert_eq!(
        database.query("SELECT batch FROM subscription"),
        ["5"],
        "assign_batch's batch 9 is lost"
    );
}

/// A lock clause inside parentheses locks the rows of its own query only: `close_empty` locks
/// the owner, not the account its other subquery found empty, so a deposit committed while
/// the UPDATE waits for the account is followed by its closing. `claim` locks the job it
/// writes in its CTE: a cancel of that job is never overwritten, in either order; its
/// unlocked NOT EXISTS lets two claims start two jobs of one queue.
#[test]
fn a_lock_clause_locks_only_the_query_it_is_written_in() {
    let Some(database) = Database::of("a_lock_clause_locks_only_the_query_it_is_written_in") else {
        return;
    };
    assert_eq!(
        database.requires("read-committed"),
        [
            "lost-update: close_empty, deposit",
            "phantom-write-skew: claim"
        ]
    );
    let close_empty = "UPDATE accounts SET closed = true \
        WHERE id IN (SELECT id FROM accounts WHERE balance = 0 AND NOT closed) \
        AND owner IN (SELECT id FROM owners WHERE active FOR UPDATE)";
    database.execute(
        "INSERT INTO owners (id) VALUES (1); INSERT INTO accounts (id, owner) VALUES (1, 1)",
    );
    let mut run = database.sessions(["depositor", "closer"]);
    run.step("depositor", "BEGIN");
    run.step(
        "depositor",
        "UPDATE accounts SET balance = balance + 100 WHERE id = 1",
    );
    assert!(
        run.step("closer", close_empty).is_waiting(),
        "the closing waits for the account the deposit holds"
    );
    run.step("depositor", "COMMIT");
    assert_eq!(run.finish("closer").count(), 1);
    assert_eq!(
        database.query("SELECT balance, closed FROM accounts"),
        ["100|t"],
        "an account holding the deposit is closed"
    );

    let claim = "WITH next AS (SELECT id FROM jobs WHERE status = 'todo' \
        AND NOT EXISTS (SELECT 1 FROM jobs AS other \
        WHERE other.queue = jobs.queue AND other.status = 'doing') \
        ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) \
        UPDATE jobs SET status = 'doing' FROM next WHERE jobs.id = next.id";
    database.execute("INSERT INTO jobs (id, queue) VALUES (1, 'q')");
    let mut run = database.sessions(["canceller", "claimer"]);
    run.step("canceller", "BEGIN");
    run.step(
        "canceller",
        "UPDATE jobs SET status = 'cancelled' WHERE id = 1",
    );
    assert_eq!(
        run.step("claimer", claim).count(),
        0,
        "the held job is passed by"
    );
    run.step("canceller", "COMMIT");
    assert_eq!(
        run.step("claimer", claim).count(),
        0,
        "the cancelled job is no longer todo"
    );
    assert_eq!(database.query("SELECT status FROM jobs"), ["cancelled"]);

    database.execute("DELETE FROM jobs; INSERT INTO jobs (id, queue) VALUES (1, 'q'), (2, 'q')");
    let mut run = database.sessions(["first", "second"]);
    run.step("first", "BEGIN");
    assert_eq!(run.step("first", claim).count(), 1);
    assert_eq!(run.step("second", claim).count(), 1);
    run.step("first", "COMMIT");
    assert_eq!(
        database.query("SELECT count(*) FROM jobs WHERE queue = 'q' AND status = 'doing'"),
        ["2"],
        "two jobs of one queue run at once"
    );
}

/// Two claims of jobs of one lock: each misses the other's uncommitted `doing` job, and each
/// moves a different job to `doing`. On `jobs`, the partial unique index admits one `doing` job
/// per lock, so the second UPDATE waits for the first and fails; on `tasks`, with no index,
/// both commit and two tasks of one lock run at once.
#[test]
fn a_partial_unique_index_serialises_rows_moved_into_it() {
    let Some(database) = Database::of("a_partial_unique_index_serialises_rows_moved_into_it")
    else {
        return;
    };
    assert_eq!(
        database.requires("read-committed"),
        ["phantom-write-skew: claim_task"]
    );
    database.execute(
        "INSERT INTO jobs (lock) VALUES ('l'), ('l'); INSERT INTO tasks (lock) VALUES ('l'), ('l')",
    );
    let mut run = database.sessions(["first", "second"]);
    run.step("first", "BEGIN");
    assert_eq!(run.step("first", "SELECT claim_job()").rows(), ["1"]);
    assert!(
        run.step("second", "SELECT claim_job()").is_waiting(),
        "the second job of the lock waits on the index entry of the first"
    );
    run.step("first", "COMMIT");
    assert_eq!(run.finish("second").sqlstate(), "23505");

    let mut run = database.sessions(["first", "second"]);
    run.step("first", "BEGIN");
    assert_eq!(run.step("first", "SELECT claim_task()").rows(), ["1"]);
    assert_eq!(run.step("second", "SELECT claim_task()").rows(), ["2"]);
    run.step("first", "COMMIT");
    assert_eq!(
        database.query("SELECT count(*) FROM tasks WHERE lock = 'l' AND status = 'doing'"),
        ["2"],
        "two tasks of one lock run at once"
    );
}

/// Steps that commit separately (`atomic = false`): a fetch with `FOR UPDATE SKIP LOCKED` on
/// the pool, then a touch of the task it returned in another transaction. The fetch's lock ends
/// with it, so a second worker fetches the same task and both mark it taken. The same two
/// statements in one transaction each: the second fetch passes the held task by and takes the
/// next one.
#[test]
fn steps_that_commit_separately_hold_no_lock() {
    let Some(database) = Database::of("steps_that_commit_separately_hold_no_lock") else {
        return;
    };
    assert_eq!(
        database.requires("read-committed"),
        [
            "lost-update: claim_separately",
            "lost-update: claim_in_one, claim_separately"
        ]
    );
    let fetch = "SELECT id FROM tasks WHERE task_type = 'mail' AND state = 'new' \
        ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED";
    let touch =
        |id: &str| format!("UPDATE tasks SET state = 'in_progress' WHERE id = '{id}' RETURNING id");
    let (one, two) = (
        "00000000-0000-0000-0000-000000000001",
        "00000000-0000-0000-0000-000000000002",
    );
    database.execute(&format!(
        "INSERT INTO tasks (id, task_type, created_at) VALUES \
         ('{one}', 'mail', '2026-01-01'), ('{two}', 'mail', '2026-01-02')"
    ));
    let mut run = database.sessions(["first", "second"]);
    assert_eq!(run.step("first", fetch).rows(), [one]);
    assert_eq!(
        run.step("second", fetch).rows(),
        [one],
        "the first fetch's lock ended when it committed"
    );
    assert_eq!(run.step("first", &touch(one)).rows(), [one]);
    assert_eq!(
        run.step("second", &touch(one)).rows(),
        [one],
        "both workers took task one: it runs twice"
    );

    database.execute("UPDATE tasks SET state = 'new'");
    let mut run = database.sessions(["first", "second"]);
    run.step("first", "BEGIN");
    run.step("second", "BEGIN");
    assert_eq!(run.step("first", fetch).rows(), [one]);
    assert_eq!(
        run.step("second", fetch).rows(),
        [two],
        "the held task is passed by"
    );
    run.step("first", &touch(one));
    run.step("second", &touch(two));
    run.step("first", "COMMIT");
    run.step("second", "COMMIT");
    assert_eq!(
        database.query("SELECT state, count(*) FROM tasks GROUP BY state"),
        ["in_progress|2"]
    );
}

/// Get-or-create in steps that commit separately: two callers of one hash both find nothing,
/// both insert, and two tasks have the hash. A removal of the task a caller found leaves what
/// a serial order leaves: that caller returned the task and wrote nothing.
#[test]
fn get_or_create_returns_what_it_finds() {
    let Some(database) = Database::of("get_or_create_returns_what_it_finds") else {
        return;
    };
    assert_eq!(
        database.requires("read-committed"),
        ["phantom-write-skew: get_or_create"]
    );
    let find = "SELECT id FROM tasks WHERE uniq_hash = 'h' AND state = 'new' LIMIT 1";
    let insert = |id: &str| format!("INSERT INTO tasks (id, uniq_hash) VALUES ('{id}', 'h')");
    let mut run = database.sessions(["first", "second"]);
    assert_eq!(run.step("first", find).count(), 0);
    assert_eq!(run.step("second", find).count(), 0);
    run.step("first", &insert("00000000-0000-0000-0000-000000000001"));
    run.step("second", &insert("00000000-0000-0000-0000-000000000002"));
    assert_eq!(
        database.query("SELECT count(*) FROM tasks WHERE uniq_hash = 'h'"),
        ["2"],
        "two tasks with one hash"
    );

    database.execute("DELETE FROM tasks WHERE id = '00000000-0000-0000-0000-000000000002'");
    let mut run = database.sessions(["caller", "remover"]);
    assert_eq!(
        run.step("caller", find).rows(),
        ["00000000-0000-0000-0000-000000000001"],
        "the caller finds a task and returns it"
    );
    run.step(
        "remover",
        "DELETE FROM tasks WHERE id = '00000000-0000-0000-0000-000000000001'",
    );
    assert_eq!(
        database.query("SELECT count(*) FROM tasks WHERE uniq_hash = 'h'"),
        ["0"],
        "as get_or_create, then RemoveTask"
    );
}

/// An upsert that finds the key another transaction inserted: both count no hold on the room,
/// the second's `ON CONFLICT DO NOTHING` waits for the first's hold, finds it, inserts nothing,
/// and the second books on its stale count. With a plain INSERT the second fails; at
/// REPEATABLE READ the upsert fails with a serialization failure.
#[test]
fn an_upsert_that_finds_the_row_sees_what_an_earlier_count_missed() {
    let Some(database) =
        Database::of("an_upsert_that_finds_the_row_sees_what_an_earlier_count_missed")
    else {
        return;
    };
    assert_eq!(
        database.requires("read-committed"),
        [
            "read-skew: hold_and_book",
            "read-skew: hold_and_book, hold_and_book_strict"
        ]
    );
    assert!(database.requires("repeatable-read").is_empty());
    let count = "SELECT count(*) FROM holds WHERE room_id = 1";
    let hold = |user: u32| {
        format!("INSERT INTO holds (room_id, user_id) VALUES (1, {user}) ON CONFLICT DO NOTHING")
    };
    let book = |user: u32| format!("INSERT INTO bookings (room_id, user_id) VALUES (1, {user})");
    let mut run = database.sessions(["first", "second"]);
    run.step("first", "BEGIN");
    run.step("second", "BEGIN");
    assert_eq!(run.step("first", count).rows(), ["0"]);
    assert_eq!(run.step("second", count).rows(), ["0"]);
    assert_eq!(run.step("first", &hold(1)).count(), 1);
    assert!(
        run.step("second", &hold(2)).is_waiting(),
        "the upsert waits for the first's hold"
    );
    run.step("first", &book(1));
    run.step("first", "COMMIT");
    assert_eq!(run.finish("second").count(), 0, "it finds the hold");
    run.step("second", &book(2));
    run.step("second", "COMMIT");
    assert_eq!(
        database.query("SELECT count(*) FROM bookings WHERE room_id = 1"),
        ["2"],
        "one hold, two bookings"
    );

    database.execute("DELETE FROM holds; DELETE FROM bookings");
    let mut run = database.sessions(["first", "second"]);
    run.step("first", "BEGIN");
    run.step("second", "BEGIN");
    assert_eq!(run.step("first", count).rows(), ["0"]);
    assert_eq!(run.step("second", count).rows(), ["0"]);
    run.step("first", &hold(1));
    assert!(
        run.step(
            "second",
            "INSERT INTO holds (room_id, user_id) VALUES (1, 2)"
        )
        .is_waiting()
    );
    run.step("first", "COMMIT");
    assert_eq!(run.finish("second").sqlstate(), "23505");
    run.step("second", "ROLLBACK");

    database.execute("DELETE FROM holds; DELETE FROM bookings");
    let mut run = database.sessions(["first", "second"]);
    run.step("first", "BEGIN ISOLATION LEVEL REPEATABLE READ");
    run.step("second", "BEGIN ISOLATION LEVEL REPEATABLE READ");
    assert_eq!(run.step("first", count).rows(), ["0"]);
    assert_eq!(run.step("second", count).rows(), ["0"]);
    run.step("first", &hold(1));
    assert!(run.step("second", &hold(2)).is_waiting());
    run.step("first", "COMMIT");
    assert_eq!(run.finish("second").sqlstate(), "40001");
}

/// A `CASE` that keeps every state but the two it toggles changes nothing a prune of completed
/// jobs decided on: the prune waits for the toggle's lock and deletes the job, still completed,
/// as after the toggle. A retry that makes the job available again, in the same place, has its
/// job deleted.
#[test]
fn a_case_that_keeps_other_values_changes_no_decision() {
    let Some(database) = Database::of("a_case_that_keeps_other_values_changes_no_decision") else {
        return;
    };
    assert_eq!(
        database.requires("read-committed"),
        ["lost-update: prune, retry"]
    );
    let prune = "WITH old AS (SELECT id FROM jobs WHERE state = 'completed' \
        AND completed_at < now() - interval '1 day') \
        DELETE FROM jobs WHERE id IN (SELECT id FROM old)";
    let old_job = "INSERT INTO jobs VALUES (1, 'completed', now() - interval '2 days')";
    for (writer, left) in [
        (
            "UPDATE jobs SET state = CASE WHEN state = 'available' THEN 'scheduled' \
             WHEN state = 'scheduled' THEN 'available' ELSE state END WHERE id = 1",
            "0",
        ),
        (
            "UPDATE jobs SET state = 'available', completed_at = NULL WHERE id = 1",
            "0",
        ),
    ] {
        database.execute(&format!("DELETE FROM jobs; {old_job}"));
        let mut run = database.sessions(["writer", "pruner"]);
        run.step("writer", "BEGIN");
        assert_eq!(run.step("writer", writer).count(), 1);
        assert!(run.step("pruner", prune).is_waiting(), "the prune waits");
        run.step("writer", "COMMIT");
        assert_eq!(run.finish("pruner").count(), 1, "{writer}");
        assert_eq!(database.query("SELECT count(*) FROM jobs"), [left]);
    }
    // The toggle: the job was completed before and after it, so deleting it is what the serial
    // order (toggle, then prune) does. The retry: the job the caller was told is available
    // again is gone, which no serial order does (prune first deletes it and the retry updates
    // nothing; retry first and the prune skips it).
    database.execute(&format!("DELETE FROM jobs; {old_job}"));
    database.execute("UPDATE jobs SET state = 'available', completed_at = NULL WHERE id = 1");
    database.execute(prune);
    assert_eq!(
        database.query("SELECT state FROM jobs"),
        ["available"],
        "retry, then prune, keeps the job"
    );
}

/// A worker joining with `DEFAULT now()` is never a minute old, so a reap whose DELETE missed
/// it ends as the serial order (join, then reap) does; a worker added with an old time is a
/// phantom the reap misses, and the two end as no serial order does.
#[test]
fn a_time_stamp_of_the_clock_is_younger_than_an_age() {
    let Some(database) = Database::of("a_time_stamp_of_the_clock_is_younger_than_an_age") else {
        return;
    };
    assert_eq!(
        database.requires("read-committed"),
        [
            "phantom-write-skew: join_backdated, reap",
            "dangerous-structure: join, join_backdated, reap"
        ]
    );
    let stale = "SELECT count(*) FROM workers WHERE last_seen < now() - interval '1 minute'";
    let reap = database.statements("reap", &[("1", "'p'")]);
    for (join, parameters, stale_left) in [
        ("join", vec![("1", "'p'")], "0"),
        (
            "join_backdated",
            vec![("1", "'p'"), ("2", "now() - interval '2 minutes'")],
            "1",
        ),
    ] {
        database.execute(
            "DELETE FROM workers; DELETE FROM pools; INSERT INTO pools VALUES ('p', NULL)",
        );
        let joining = database.statements(join, &parameters);
        let mut run = database.sessions(["join", "reap"]);
        run.step("join", "BEGIN");
        assert_eq!(
            run.step("join", &joining[0]).rows(),
            ["NULL"],
            "no reap yet"
        );
        assert_eq!(run.step("join", &joining[1]).count(), 1);
        run.step("reap", "BEGIN");
        assert_eq!(
            run.step("reap", &reap[0]).count(),
            0,
            "the new worker is not seen"
        );
        assert_eq!(run.step("reap", &reap[1]).count(), 1);
        run.step("reap", "COMMIT");
        run.step("join", "COMMIT");
        // join read no reap, so it comes first in any serial order; a reap after it deletes
        // every worker older than a minute.
        assert_eq!(database.query(stale), [stale_left], "{join}");
        assert_eq!(
            database.query("SELECT reaped_at IS NOT NULL FROM pools"),
            ["t"]
        );
        database.execute(&reap.join(";"));
        assert_eq!(database.query(stale), ["0"], "{join}, then reap");
    }
    // Two takers of an expired lease: neither DELETE can miss a lease that expires in 30
    // seconds, and the second INSERT waits on the name and finds the first's lease held by
    // another: one holder.
    database.execute("INSERT INTO leases VALUES ('leader', 'old', now() - interval '1 minute')");
    let take = |holder| database.statements("take_lease", &[("1", "'leader'"), ("2", holder)]);
    let (first, second) = (take("'a'"), take("'b'"));
    let mut run = database.sessions(["a", "b"]);
    run.step("a", "BEGIN");
    run.step("b", "BEGIN");
    assert_eq!(run.step("a", &first[0]).count(), 1, "the expired lease");
    assert!(
        run.step("b", &second[0]).is_waiting(),
        "on the expired lease's row"
    );
    assert_eq!(run.step("a", &first[1]).rows(), ["a"]);
    run.step("a", "COMMIT");
    assert_eq!(run.finish("b").count(), 0, "the row it waited for is gone");
    assert!(
        run.step("b", &second[1]).rows().is_empty(),
        "a holds the lease"
    );
    run.step("b", "COMMIT");
    assert_eq!(database.query("SELECT holder FROM leases"), ["a"]);
}

/// `subscribe` reads its queue, then the queue's latest tick, and raises unless it finds one:
/// when `drop_queue` commits between the two reads, the second finds nothing and the call never
/// commits. `subscribe_at_start` goes on without a tick and subscribes to a queue that is gone.
#[test]
fn a_read_that_raises_unless_found_aborts_after_a_delete() {
    let Some(database) = Database::of("a_read_that_raises_unless_found_aborts_after_a_delete")
    else {
        return;
    };
    assert_eq!(
        database.requires("read-committed"),
        ["read-skew: drop_queue, subscribe_at_start"]
    );
    for (latest_tick, raises) in [
        (
            "SELECT tick_id FROM ticks WHERE queue_id = 1 ORDER BY tick_id DESC LIMIT 1",
            true,
        ),
        (
            "SELECT coalesce(max(tick_id), 0) FROM ticks WHERE queue_id = 1",
            false,
        ),
    ] {
        database.execute(
            "DELETE FROM subscriptions; DELETE FROM ticks; DELETE FROM queues; \
             INSERT INTO queues VALUES (1, 'q'); INSERT INTO ticks VALUES (1, 1), (1, 2)",
        );
        let mut run = database.sessions(["subscriber", "dropper"]);
        run.step("subscriber", "BEGIN");
        assert_eq!(
            run.step("subscriber", "SELECT id FROM queues WHERE name = 'q'")
                .rows(),
            ["1"]
        );
        run.step("dropper", "SELECT drop_queue('q')");
        let ticks = run.step("subscriber", latest_tick).rows().join(",");
        if raises {
            assert_eq!(ticks, "", "no tick is left: subscribe raises here");
            assert_eq!(
                run.step("subscriber", "SELECT subscribe('q', 'c')")
                    .sqlstate(),
                "P0001"
            );
        } else {
            assert_eq!(ticks, "0");
            run.step("subscriber", "INSERT INTO subscriptions VALUES (1, 'c', 0)");
            run.step("subscriber", "COMMIT");
            assert_eq!(
                database.query(
                    "SELECT count(*) FROM subscriptions s \
                     WHERE NOT EXISTS (SELECT 1 FROM queues q WHERE q.id = s.queue_id)"
                ),
                ["1"],
                "subscribed to a dropped queue"
            );
        }
    }
}

/// `claim` takes failed jobs with attempts left and `finished` reads failed jobs without: no
/// row is in both, whatever the order. `finished_or_failed` reads every failed job: it sees a
/// job `push` adds after `claim`'s snapshot, and the job `claim` takes still failed, which no
/// serial order gives (after `push`, `claim` takes the new job, whose id is lower).
#[test]
fn a_comparison_of_two_columns_keeps_rows_apart() {
    let Some(database) = Database::of("a_comparison_of_two_columns_keeps_rows_apart") else {
        return;
    };
    assert_eq!(
        database.requires("read-committed"),
        ["dangerous-structure: claim, finished_or_failed, push"]
    );
    let claim = database.statement("claim", &[("1", "'a'"), ("2", "'w'")]);
    let push = database.statement("push", &[("1", "0"), ("2", "'a'"), ("3", "'failed'")]);
    // Apart: a job out of attempts is finished and never claimed; one with attempts left is
    // claimed and never finished.
    database.execute(
        "INSERT INTO jobs (id, job_type, status, attempts, max_attempts) \
         VALUES (1, 'a', 'failed', 1, 3), (2, 'a', 'failed', 3, 3)",
    );
    let finished = database.statement("finished", &[("1", "'[1, 2]'")]);
    assert_eq!(database.query(&finished), ["2|failed|NULL"]);
    assert_eq!(database.query(&claim), ["1"]);
    assert!(database.query(&claim).is_empty(), "job 2 is never claimed");
    for (reader, seen) in [
        ("finished", vec![]),
        ("finished_or_failed", vec!["0|failed|NULL", "1|failed|NULL"]),
    ] {
        database.execute(
            "DELETE FROM jobs; INSERT INTO jobs (id, job_type, status, attempts, max_attempts) \
             VALUES (1, 'a', 'failed', 1, 3)",
        );
        let read = database.statement(reader, &[("1", "'[0, 1]'")]);
        let mut run = database.sessions(["claim", "push", "read"]);
        run.step("claim", "BEGIN");
        assert_eq!(run.step("claim", &claim).rows(), ["1"]);
        run.step("push", &push);
        let outcome = run.step("read", &read);
        let mut rows = outcome.rows();
        rows.sort_unstable();
        assert_eq!(rows, seen, "{reader}");
        run.step("claim", "COMMIT");
        assert_eq!(
            database.query("SELECT id, status FROM jobs ORDER BY id"),
            ["0|failed", "1|running"],
            "claim missed the job push added"
        );
    }
}

/// Two `beat`s each insert a heartbeat and delete the worker's older ones: the second misses the
/// first's row only when that row is older, and then the first could not have deleted the
/// second's: both rows stay, as when the newer one runs first. `beat_other` deletes every other
/// heartbeat, and beside `beat` both rows stay where either serial order deletes one.
#[test]
fn deleting_rows_older_than_its_own_misses_only_newer_ones() {
    let Some(database) = Database::of("deleting_rows_older_than_its_own_misses_only_newer_ones")
    else {
        return;
    };
    assert_eq!(
        database.requires("read-committed"),
        [
            "phantom-write-skew: beat, beat_other",
            "phantom-write-skew: beat_other"
        ]
    );
    for second in ["beat", "beat_other"] {
        let first = database.statements("beat", &[("1", "'w'"), ("2", "10")]);
        // The second beat is newer than the first; beat_other's is older.
        let at = if second == "beat" { "11" } else { "5" };
        let other = database.statements(second, &[("1", "'w'"), ("2", at)]);
        database.execute("DELETE FROM heartbeats");
        let mut run = database.sessions(["first", "second"]);
        run.step("first", "BEGIN");
        run.step("second", "BEGIN");
        for (one, two) in first.iter().zip(&other) {
            run.step("first", one);
            run.step("second", two);
        }
        run.step("first", "COMMIT");
        run.step("second", "COMMIT");
        let both = database.query("SELECT beat_at FROM heartbeats ORDER BY beat_at");
        let serial = |order: [&Vec<String>; 2]| {
            database.execute("DELETE FROM heartbeats");
            for statements in order {
                database.execute(&statements.join(";"));
            }
            database.query("SELECT beat_at FROM heartbeats ORDER BY beat_at")
        };
        let (first_then_second, second_then_first) =
            (serial([&first, &other]), serial([&other, &first]));
        assert_eq!(both.len(), 2, "{second}: each missed the other's row");
        if second == "beat" {
            // 10 and 11: the newer's DELETE missed the older row, as when the newer runs first.
            assert_eq!(both, second_then_first);
        } else {
            assert_ne!(both, first_then_second, "no serial order keeps both");
            assert_ne!(both, second_then_first, "no serial order keeps both");
        }
    }
}

/// Two calls each find their own time already recorded: `defer_always` goes on and deletes the
/// other's, so no row is left; `defer_once` returns at the key it found and deletes nothing.
#[test]
fn an_upsert_that_returns_on_conflict_goes_on_only_for_a_new_key() {
    let Some(database) =
        Database::of("an_upsert_that_returns_on_conflict_goes_on_only_for_a_new_key")
    else {
        return;
    };
    assert_eq!(
        database.requires("read-committed"),
        [
            "phantom-write-skew: defer_once",
            "phantom-write-skew: defer_always, defer_once",
            "write-skew: defer_always"
        ]
    );
    // The routines' statements, run one by one as two calls running side by side would.
    let insert = |at| {
        format!(
            "INSERT INTO defers (task, defer_at) VALUES ('t', {at}) ON CONFLICT DO NOTHING \
             RETURNING id"
        )
    };
    let delete = |at| format!("DELETE FROM defers WHERE task = 't' AND defer_at <> {at}");
    database.execute(
        "DELETE FROM defers; INSERT INTO defers (task, defer_at) VALUES ('t', 5), ('t', 6)",
    );
    let mut run = database.sessions(["five", "six"]);
    run.step("five", "BEGIN");
    run.step("six", "BEGIN");
    assert!(
        run.step("five", &insert(5)).rows().is_empty(),
        "5 is recorded"
    );
    assert!(
        run.step("six", &insert(6)).rows().is_empty(),
        "6 is recorded"
    );
    // defer_always goes on; defer_once returns here (`v_id IS NULL`).
    assert_eq!(run.step("five", &delete(5)).count(), 1);
    assert_eq!(run.step("six", &delete(6)).count(), 1);
    run.step("five", "COMMIT");
    run.step("six", "COMMIT");
    assert!(
        database.query("SELECT defer_at FROM defers").is_empty(),
        "each deleted the other's: no time is left, where either serial order keeps one"
    );
    // defer_once itself: a call whose time is recorded deletes nothing.
    database.execute("INSERT INTO defers (task, defer_at) VALUES ('t', 5), ('t', 6)");
    assert_eq!(database.query("SELECT defer_once('t', 5)"), ["NULL"]);
    assert_eq!(
        database.query("SELECT defer_at FROM defers ORDER BY defer_at"),
        ["5", "6"]
    );
}

/// Two `beat_locked`s side by side, either first: the second's locked read waits for the old
/// heartbeat the first locked and deleted, finds it gone and deletes nothing, and each misses
/// the other's new row; the outcome is a serial order's (the newer first).
#[test]
fn a_locked_read_its_statement_deletes_is_written_by_no_one_after() {
    let Some(database) =
        Database::of("a_locked_read_its_statement_deletes_is_written_by_no_one_after")
    else {
        return;
    };
    assert!(database.requires("read-committed").is_empty());
    let beat = |at: &str| database.statements("beat_locked", &[("1", "'w'"), ("2", at)]);
    let serial = |order: [&Vec<String>; 2]| {
        database.execute(
            "DELETE FROM heartbeats; INSERT INTO heartbeats (worker, beat_at) VALUES ('w', 1)",
        );
        for statements in order {
            database.execute(&statements.join(";"));
        }
        database.query("SELECT beat_at FROM heartbeats ORDER BY beat_at")
    };
    let (older, newer) = (beat("10"), beat("11"));
    for (first, second) in [(&older, &newer), (&newer, &older)] {
        database.execute(
            "DELETE FROM heartbeats; INSERT INTO heartbeats (worker, beat_at) VALUES ('w', 1)",
        );
        let mut run = database.sessions(["first", "second"]);
        run.step("first", "BEGIN");
        run.step("second", "BEGIN");
        run.step("first", &first[0]);
        run.step("second", &second[0]);
        run.step("first", &first[1]);
        // The second's DELETE waits for the row the first locked and deleted.
        assert!(run.step("second", &second[1]).is_waiting());
        run.step("first", "COMMIT");
        assert_eq!(
            run.finish("second").count(),
            0,
            "the rows it chose are gone"
        );
        run.step("second", "COMMIT");
        let rows = database.query("SELECT beat_at FROM heartbeats ORDER BY beat_at");
        assert!(
            rows == serial([first, second]) || rows == serial([second, first]),
            "{rows:?}"
        );
    }
}

/// Two workers' `claim`s choose job 1 in their derived tables; the second waits for the first's
/// row, re-checks `attempt_at <= now()` on the claimed version and skips it: one worker holds
/// the job. `claim_unchecked` chooses on `state`, which its own WHERE does not repeat: the
/// second claim overwrites the first's once it commits.
#[test]
fn a_derived_table_chooses_the_rows_its_statement_writes() {
    let Some(database) = Database::of("a_derived_table_chooses_the_rows_its_statement_writes")
    else {
        return;
    };
    assert_eq!(
        database.requires("read-committed"),
        ["lost-update: claim_unchecked"]
    );
    for (claim, second) in [("claim", 0), ("claim_unchecked", 1)] {
        database.execute(
            "DELETE FROM jobs; INSERT INTO jobs (id, attempt_at) \
             VALUES (1, now() - interval '2 minutes'), (2, now() - interval '1 minute')",
        );
        let first = database.statement(claim, &[("1", "'w1'")]);
        let other = database.statement(claim, &[("1", "'w2'")]);
        let mut run = database.sessions(["w1", "w2"]);
        run.step("w1", "BEGIN");
        assert_eq!(run.step("w1", &first).rows(), ["1"], "{claim}");
        assert!(run.step("w2", &other).is_waiting(), "{claim}");
        run.step("w1", "COMMIT");
        assert_eq!(run.finish("w2").count(), second, "{claim}");
        let holder = if second == 0 { "1|w1" } else { "1|w2" };
        assert_eq!(
            database.query("SELECT id, worker FROM jobs WHERE worker IS NOT NULL"),
            [holder],
            "{claim}"
        );
    }
}

/// The two functions of the fixture, made again with a pause between their reads (a wait for
/// an advisory lock the test holds), each called while a deposit commits in the pause: the
/// VOLATILE one returns the balance before the deposit beside the total after it, the STABLE
/// one both from before, since its reads are on the snapshot of the statement that called it.
#[test]
fn a_stable_function_reads_on_one_snapshot() {
    let Some(database) = Database::of("a_stable_function_reads_on_one_snapshot") else {
        return;
    };
    assert_eq!(
        database.requires("read-committed"),
        ["read-skew: deposit, statement_of_volatile"]
    );
    let pause = "PERFORM pg_advisory_lock_shared(7); PERFORM pg_advisory_unlock_shared(7);";
    for (function, volatility, returned) in [
        ("statement_of", "STABLE", "100/100"),
        ("statement_of_volatile", "VOLATILE", "100/110"),
    ] {
        database.execute(&format!(
            "CREATE FUNCTION paused_{function}(p_id int) RETURNS text LANGUAGE plpgsql \
             {volatility} AS $$ DECLARE v_balance int; v_total int; BEGIN \
             SELECT balance INTO v_balance FROM accounts WHERE id = p_id; {pause} \
             SELECT total INTO v_total FROM ledger WHERE account_id = p_id; \
             RETURN v_balance || '/' || v_total; END $$; \
             DELETE FROM ledger; DELETE FROM accounts; \
             INSERT INTO accounts VALUES (1, 100); INSERT INTO ledger VALUES (1, 100);"
        ));
        let mut run = database.sessions(["test", "reader", "deposit"]);
        run.step("test", "SELECT pg_advisory_lock(7)");
        assert!(
            run.step("reader", &format!("SELECT paused_{function}(1)"))
                .is_waiting()
        );
        run.step("deposit", "SELECT deposit(1, 10)");
        run.step("test", "SELECT pg_advisory_unlock(7)");
        assert_eq!(run.finish("reader").rows(), [returned], "{function}");
    }
}

/// The locked claim holds job 1; the checked claim, whose subquery chose jobs 1 and 2, waits
/// for job 1, re-checks `state = 'ready'` on the running version and takes job 2 alone: each
/// job has one worker, as when the locked claim runs first. The unchecked claim that chose job
/// 1 waits for the locked claim and then takes job 1 from it.
#[test]
fn a_scalar_subquery_chooses_the_row_its_statement_writes() {
    let Some(database) = Database::of("a_scalar_subquery_chooses_the_row_its_statement_writes")
    else {
        return;
    };
    assert_eq!(
        database.requires("read-committed"),
        [
            "lost-update: claim_unchecked",
            "lost-update: claim_skip, claim_unchecked",
            "lost-update: claim_checked, claim_unchecked"
        ]
    );
    for (second, taken, workers) in [
        ("claim_checked", "2", ["1|w1", "2|w2"]),
        ("claim_unchecked", "1", ["1|w2", "2|NULL"]),
    ] {
        database.execute("DELETE FROM jobs; INSERT INTO jobs (id) VALUES (1), (2)");
        let first = database.statement("claim_skip", &[("1", "'w1'")]);
        let other = database.statement(second, &[("1", "'w2'")]);
        let mut run = database.sessions(["w1", "w2"]);
        run.step("w1", "BEGIN");
        assert_eq!(run.step("w1", &first).rows(), ["1"]);
        assert!(run.step("w2", &other).is_waiting(), "{second}");
        run.step("w1", "COMMIT");
        assert_eq!(run.finish("w2").rows(), [taken], "{second}");
        assert_eq!(
            database.query("SELECT id, worker FROM jobs ORDER BY id"),
            workers,
            "{second}"
        );
    }
}

/// Two writers of one invoice both read its highest line number and insert the next: the
/// second insert waits for the first on the key (invoice, number) and fails with 23505, in one
/// statement or through a routine's variable, and either with the other. Without the key, both
/// notes get number 1; numbered over every invoice, two invoices' stamps both get number 1.
#[test]
fn a_number_computed_from_the_rows_read_collides_on_a_unique_key() {
    let Some(database) =
        Database::of("a_number_computed_from_the_rows_read_collides_on_a_unique_key")
    else {
        return;
    };
    assert_eq!(
        database.requires("read-committed"),
        [
            "phantom-write-skew: add_note",
            "phantom-write-skew: add_note, add_note_fn",
            "phantom-write-skew: add_note_fn",
            "phantom-write-skew: stamp"
        ]
    );
    let add_line = |body: &str| database.statement("add_line", &[("1", "1"), ("2", body)]);
    let add_line_fn = |body: &str| format!("SELECT add_line_fn(1, {body})");
    let add_note = |body: &str| database.statement("add_note", &[("1", "1"), ("2", body)]);
    let add_note_fn = |body: &str| format!("SELECT add_note_fn(1, {body})");
    database.execute("INSERT INTO invoices VALUES (1), (2)");
    for (first, second) in [
        (add_line("'a'"), add_line("'b'")),
        (add_line_fn("'a'"), add_line_fn("'b'")),
        (add_line("'a'"), add_line_fn("'b'")),
    ] {
        database.execute("DELETE FROM lines");
        let mut run = database.sessions(["a", "b"]);
        run.step("a", "BEGIN");
        assert_eq!(run.step("a", &first).rows(), ["1"], "{first}");
        assert!(run.step("b", &second).is_waiting(), "{second}");
        run.step("a", "COMMIT");
        assert_eq!(run.finish("b").sqlstate(), "23505", "{second}");
        assert_eq!(
            database.query("SELECT line_no, body FROM lines"),
            ["1|a"],
            "{second}"
        );
    }
    for (first, second) in [
        (add_note("'a'"), add_note("'b'")),
        (add_note_fn("'a'"), add_note_fn("'b'")),
        (add_note("'a'"), add_note_fn("'b'")),
    ] {
        database.execute("DELETE FROM notes");
        let mut run = database.sessions(["a", "b"]);
        run.step("a", "BEGIN");
        assert_eq!(run.step("a", &first).rows(), ["1"], "{first}");
        assert_eq!(run.step("b", &second).rows(), ["1"], "{second}");
        run.step("a", "COMMIT");
        assert_eq!(
            database.query("SELECT note_no, body FROM notes ORDER BY body"),
            ["1|a", "1|b"],
            "{second}"
        );
    }
    let mut run = database.sessions(["a", "b"]);
    run.step("a", "BEGIN");
    let stamp = |invoice: &str| database.statement("stamp", &[("1", invoice)]);
    assert_eq!(run.step("a", &stamp("1")).rows(), ["1"]);
    assert_eq!(run.step("b", &stamp("2")).rows(), ["1"]);
    run.step("a", "COMMIT");
    assert_eq!(
        database.query("SELECT invoice_id, stamp_no FROM stamps ORDER BY invoice_id"),
        ["1|1", "2|1"]
    );
}

/// The last seat of an event, booked twice. In one statement whose CTE locks the event, the
/// second booking waits for the event and then counts the seats on the snapshot it took before
/// waiting: both insert. Locking the event in a statement of its own first, the second
/// booking's INSERT starts after the first commits and sees its seat: it inserts nothing.
#[test]
fn a_lock_taken_by_the_reading_statement_comes_after_its_snapshot() {
    let Some(database) =
        Database::of("a_lock_taken_by_the_reading_statement_comes_after_its_snapshot")
    else {
        return;
    };
    assert_eq!(
        database.requires("read-committed"),
        [
            "phantom-write-skew: book_in_one_statement",
            "phantom-write-skew: book_after_lock, book_in_one_statement"
        ]
    );
    database.execute("INSERT INTO events VALUES (1, 1)");
    for (program, seats) in [
        ("book_in_one_statement", vec!["10", "20"]),
        ("book_after_lock", vec!["10"]),
    ] {
        let (booked, waited) = book_twice(&database, program);
        assert_eq!(booked, seats, "{program}");
        // Both wait for the event the first booking locked.
        assert!(waited, "{program}");
    }
}

/// Books the last seat of event 1 twice with `program` (users 10, then 20), the second booking
/// starting once the first has run all its statements and committing after it: the seats
/// booked, and whether the second waited for a lock.
fn book_twice(database: &Database, program: &str) -> (Vec<String>, bool) {
    database.execute("DELETE FROM seats");
    let first = database.statements(program, &[("1", "1"), ("2", "10")]);
    let second = database.statements(program, &[("1", "1"), ("2", "20")]);
    let mut run = database.sessions(["a", "b"]);
    run.step("a", "BEGIN");
    run.step("b", "BEGIN");
    for statement in &first {
        run.step("a", statement);
    }
    let mut waited = false;
    for statement in &second {
        if run.step("b", statement).is_waiting() {
            waited = true;
            run.step("a", "COMMIT");
            run.finish("b");
        }
    }
    if !waited {
        run.step("a", "COMMIT");
    }
    run.step("b", "COMMIT");
    let seats = database.query("SELECT user_id FROM seats ORDER BY user_id");
    (seats, waited)
}

/// The last seat of an event, booked twice by `INSERT ... SELECT id, $2 FROM events WHERE id =
/// $1 AND <count of its seats> < capacity`. After locking the event in a statement of its own,
/// the second booking waits, and its INSERT, on a snapshot taken after the first commits, sees
/// the first's seat and inserts nothing, whether the source names the column `id` or `e.id`.
/// Without the lock both count no seat and both insert.
#[test]
fn an_insert_select_inserts_the_key_its_where_pins() {
    let Some(database) = Database::of("an_insert_select_inserts_the_key_its_where_pins") else {
        return;
    };
    assert_eq!(
        database.requires("read-committed"),
        [
            "phantom-write-skew: book_without_lock",
            "phantom-write-skew: book_after_lock, book_without_lock",
            "phantom-write-skew: book_after_lock_aliased, book_without_lock"
        ]
    );
    database.execute("INSERT INTO events VALUES (1, 1)");
    for (program, seats, waits) in [
        ("book_after_lock", vec!["10"], true),
        ("book_after_lock_aliased", vec!["10"], true),
        // No lock: the second booking neither waits nor sees the first's seat.
        ("book_without_lock", vec!["10", "20"], false),
    ] {
        let (booked, waited) = book_twice(&database, program);
        assert_eq!(booked, seats, "{program}");
        assert_eq!(waited, waits, "{program}");
    }
}

/// A finish that deletes the ids of its parameter array, unnested in a subquery or in a CTE,
/// against an enqueue that adds jobs whose ids a sequence gives: in the order the witness had
/// (enqueue, then the finish, then both commit), the rows are those of enqueue then finish;
/// the finish cannot have missed the new job. Two taggers that count the tags of the listed
/// jobs each see two and each add one: four, where a serial order stops at three.
#[test]
fn an_unnested_array_names_the_rows_as_any_does() {
    let Some(database) = Database::of("an_unnested_array_names_the_rows_as_any_does") else {
        return;
    };
    assert_eq!(
        database.requires("read-committed"),
        ["phantom-write-skew: tag_within_limit"]
    );
    for (finish, parameters) in [
        ("finish", vec![("1", "'{1}'")]),
        ("finish_or_fail", vec![("1", "'{1}'"), ("2", "'{done}'")]),
    ] {
        database.execute(
            "TRUNCATE jobs; INSERT INTO jobs (id, status, dedupe_key) VALUES (1, 'picked', 'k');
             SELECT setval('jobs_id_seq', 100)",
        );
        let mut run = database.sessions(["enqueue", "finish"]);
        run.step("enqueue", "BEGIN");
        run.step("finish", "BEGIN");
        let enqueue = database.statement("enqueue", &[("1", "'{k,n}'")]);
        // `k` is taken by the picked job 1: only `n` is added, with an id past 100.
        assert_eq!(run.step("enqueue", &enqueue).count(), 1, "{finish}");
        let delete = database.statement(finish, &parameters);
        assert_eq!(run.step("finish", &delete).count(), 1, "{finish}");
        run.step("enqueue", "COMMIT");
        run.step("finish", "COMMIT");
        // Serial enqueue, then finish.
        assert_eq!(
            database.query("SELECT id > 100, status, dedupe_key FROM jobs ORDER BY id"),
            ["t|queued|n"],
            "{finish}"
        );
    }
    database.execute("INSERT INTO tags VALUES ('a', 'x'), ('b', 'y')");
    let mut run = database.sessions(["a", "b"]);
    run.step("a", "BEGIN");
    run.step("b", "BEGIN");
    let tag = |name: &str| {
        database.statement(
            "tag_within_limit",
            &[("1", "'{a,b}'"), ("2", "'a'"), ("3", name)],
        )
    };
    assert_eq!(run.step("a", &tag("'z1'")).count(), 1);
    assert_eq!(run.step("b", &tag("'z2'")).count(), 1);
    run.step("a", "COMMIT");
    run.step("b", "COMMIT");
    assert_eq!(
        database.query("SELECT count(*) FROM tags WHERE job_key IN ('a', 'b')"),
        ["4"]
    );
}

/// Two resumes of one cancelled job: the second waits for the first's row lock, re-checks its
/// own `state = 'cancelled'` on the newest version and skips the job, returning nothing, as a
/// serial order does, whether its rows were chosen by a CTE or an `IN` subquery. Two retries
/// that copy the count a CTE read both write 1, where a serial order gives 2.
#[test]
fn a_filter_the_writes_own_where_repeats_is_rechecked() {
    let Some(database) = Database::of("a_filter_the_writes_own_where_repeats_is_rechecked") else {
        return;
    };
    assert_eq!(
        database.requires("read-committed"),
        ["lost-update: retry_from_copy"]
    );
    for (first, second) in [("resume", "resume"), ("resume_chosen", "resume")] {
        database.execute(
            "TRUNCATE jobs; INSERT INTO jobs (id, state, completed_on) VALUES
             (1, 'cancelled', '2024-01-01'), (2, 'cancelled', '2024-01-02'),
             (3, 'cancelled', '2024-01-03')",
        );
        let mut run = database.sessions(["a", "b"]);
        run.step("a", "BEGIN");
        run.step("b", "BEGIN");
        assert_eq!(
            run.step("a", &database.statement(first, &[("1", "'{1,2}'")]))
                .count(),
            2,
            "{first}"
        );
        assert!(
            run.step("b", &database.statement(second, &[("1", "'{2,3}'")]))
                .is_waiting(),
            "{first}, {second}"
        );
        run.step("a", "COMMIT");
        // Only job 3, which the first did not resume.
        assert_eq!(run.finish("b").count(), 1, "{first}, {second}");
        run.step("b", "COMMIT");
        assert_eq!(
            database.query("SELECT state FROM jobs ORDER BY id"),
            ["created", "created", "created"],
            "{first}, {second}"
        );
    }
    database.execute("TRUNCATE jobs; INSERT INTO jobs (id, state) VALUES (1, 'created')");
    let retry = database.statement("retry_from_copy", &[("1", "'{1}'")]);
    let mut run = database.sessions(["a", "b"]);
    run.step("a", "BEGIN");
    run.step("b", "BEGIN");
    run.step("a", &retry);
    assert!(run.step("b", &retry).is_waiting());
    run.step("a", "COMMIT");
    run.finish("b");
    run.step("b", "COMMIT");
    assert_eq!(database.query("SELECT retries FROM jobs"), ["1"]);
}

/// Two fetchers of one due schedule, writing the rows `(entrypoint, expression) IN (SELECT ...
/// FROM picked)`. When the CTE locks them `FOR UPDATE SKIP LOCKED`, the second skips the
/// schedule the first holds and takes nothing. Without the lock, the second waits for the
/// first's row, then takes the schedule again: both callers get it.
#[test]
fn a_row_value_in_over_a_unique_key_chooses_the_rows() {
    let Some(database) = Database::of("a_row_value_in_over_a_unique_key_chooses_the_rows") else {
        return;
    };
    assert_eq!(
        database.requires("read-committed"),
        [
            "lost-update: fetch_unlocked",
            "lost-update: fetch_schedule, fetch_unlocked"
        ]
    );
    for (program, second_takes) in [("fetch_schedule", 0), ("fetch_unlocked", 1)] {
        database.execute(
            "TRUNCATE schedules; INSERT INTO schedules (expression, entrypoint, next_run)
             VALUES ('* * * * *', 'e', now() - interval '1 minute')",
        );
        let fetch = |worker: &str| database.statement(program, &[("1", "'e'"), ("2", worker)]);
        let mut run = database.sessions(["a", "b"]);
        run.step("a", "BEGIN");
        run.step("b", "BEGIN");
        assert_eq!(run.step("a", &fetch("'w1'")).count(), 1, "{program}");
        let second = run.step("b", &fetch("'w2'"));
        assert_eq!(second.is_waiting(), second_takes == 1, "{program}");
        if second.is_waiting() {
            run.step("a", "COMMIT");
            assert_eq!(run.finish("b").count(), second_takes, "{program}");
        } else {
            assert_eq!(second.count(), second_takes, "{program}");
            run.step("a", "COMMIT");
        }
        run.step("b", "COMMIT");
        let holder = if second_takes == 1 { "w2" } else { "w1" };
        assert_eq!(
            database.query("SELECT picked_by FROM schedules"),
            [holder],
            "{program}"
        );
    }
}

/// Sweeps of stale jobs that name the queue as `name = ANY(ARRAY['q'])`. Two sweeps that repeat
/// the CTE's filter in the DELETE's own WHERE: the second waits and deletes nothing. A touch of
/// the heartbeat, then a sweep that took its snapshot before the touch committed: the sweep
/// that repeats the filter skips the refreshed job; the one that does not deletes it, though
/// the touch reported its heartbeat written.
#[test]
fn a_one_element_array_is_an_equality() {
    let Some(database) = Database::of("a_one_element_array_is_an_equality") else {
        return;
    };
    assert_eq!(
        database.requires("read-committed"),
        ["lost-update: expire_unchecked, touch"]
    );
    let stale =
        "TRUNCATE job; INSERT INTO job VALUES (1, 'q', 'active', now() - interval '1 hour')";
    database.execute(stale);
    let expire = database.statement("expire", &[]);
    let mut run = database.sessions(["a", "b"]);
    run.step("a", "BEGIN");
    run.step("b", "BEGIN");
    assert_eq!(run.step("a", &expire).count(), 1);
    assert!(run.step("b", &expire).is_waiting());
    run.step("a", "COMMIT");
    assert_eq!(run.finish("b").count(), 0);
    run.step("b", "COMMIT");
    for (sweep, left) in [("expire", vec!["1"]), ("expire_unchecked", vec![])] {
        database.execute(stale);
        let mut run = database.sessions(["touch", "sweep"]);
        run.step("touch", "BEGIN");
        run.step("sweep", "BEGIN");
        let touch = database.statement("touch", &[("1", "'q'"), ("2", "1")]);
        assert_eq!(run.step("touch", &touch).count(), 1, "{sweep}");
        assert!(
            run.step("sweep", &database.statement(sweep, &[]))
                .is_waiting(),
            "{sweep}"
        );
        run.step("touch", "COMMIT");
        run.finish("sweep");
        run.step("sweep", "COMMIT");
        assert_eq!(database.query("SELECT id FROM job"), left, "{sweep}");
    }
}
