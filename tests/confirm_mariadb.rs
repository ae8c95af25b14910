//! `isolint confirm` on MariaDB, started once for this file's tests: the MySQL-family
//! fixtures' findings are reproduced there (lost update and write skew at InnoDB's repeatable
//! read, phantoms and read skew at read committed), and what gap and next-key locks or
//! MariaDB's snapshot isolation stop is shown prevented. Engines without a server here are
//! refused with an error that says so.

mod support;

use isolint::confirm::{self, database::Database};
use isolint::semantics::Engine;
use support::agreement::Agreement;
use support::{case, isolint};

/// The fixtures written for MySQL and MariaDB.
fn mysql_family_fixtures() -> Vec<std::path::PathBuf> {
    case::all()
        .into_iter()
        .filter(|directory| {
            directory.file_name().is_some_and(|name| {
                let name = name.to_string_lossy();
                name.starts_with("mysql_") || name.starts_with("mariadb_")
            })
        })
        .collect()
}

#[test]
fn static_verdicts_agree_with_mariadb_on_mysql_family_fixtures() {
    let Some((_turn, database, _)) = support::mariadb::turn("static_verdicts_agree") else {
        return;
    };
    let fixtures = mysql_family_fixtures();
    assert!(fixtures.len() >= 10, "{fixtures:?}");
    // Each fixture works in databases of its own, and most of a run's time is the server's
    // DDL: a few fixtures at a time, their tables joined in fixture order.
    const AT_ONCE: usize = 3;
    let per_fixture: Vec<Agreement> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..AT_ONCE)
            .map(|worker| {
                let (database, fixtures) = (&database, &fixtures);
                scope.spawn(move || {
                    fixtures
                        .iter()
                        .enumerate()
                        .filter(|(index, _)| index % AT_ONCE == worker)
                        .map(|(index, directory)| {
                            let mut agreement = Agreement::new("MariaDB");
                            let seed = directory.join("seed.sql");
                            let seed = seed.is_file().then_some(seed);
                            agreement.fixture(
                                database,
                                directory,
                                &[Engine::Mysql, Engine::Mariadb],
                                seed.as_deref(),
                            );
                            (index, agreement)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut done: Vec<(usize, Agreement)> = workers
            .into_iter()
            .flat_map(|worker| worker.join().expect("a fixture's thread"))
            .collect();
        done.sort_by_key(|(index, _)| *index);
        done.into_iter().map(|(_, agreement)| agreement).collect()
    });
    let mut agreement = Agreement::new("MariaDB");
    for fixture in per_fixture {
        agreement.merge(fixture);
    }
    let table = agreement.table.clone();
    agreement.finish("confirm-agreement-mariadb.md");
    for rule in [
        "lost-update",
        "write-skew",
        "phantom-write-skew",
        "read-skew",
    ] {
        assert!(
            agreement.rules.contains(rule),
            "no MySQL-family fixture confirms {rule}"
        );
    }
    // What InnoDB's locks and MariaDB's snapshot check stop, run at the level that stops it.
    for prevented in [
        // Next-key locks: the second check waits on the first one's gap lock, and the two
        // inserts deadlock.
        "| mysql_phantom_gap_locks | mysql repeatable-read (read-committed's schedule) | \
         phantom-write-skew book_room | none | prevented |",
        // innodb_snapshot_isolation = ON: the second write of the row fails (error 1020).
        "| mysql_lost_update_rr | mariadb repeatable-read (read-committed's schedule) | \
         lost-update withdraw | none | prevented |",
        "| mysql_write_skew_doctors | mysql serializable (read-committed's schedule) | \
         write-skew leave_shift | none | prevented |",
        // The reads of a statement that writes lock at repeatable read: the second INSERT ...
        // SELECT and the second claim wait for the first and read what it wrote.
        "| mysql_a_writing_statements_reads_lock_at_repeatable_read | mysql repeatable-read \
         (read-committed's schedule) | phantom-write-skew add_note | none | prevented |",
        "| mysql_a_writing_statements_reads_lock_at_repeatable_read | mysql repeatable-read \
         (read-committed's schedule) | lost-update claim | none | prevented |",
    ] {
        assert!(table.contains(prevented), "{prevented}\nnot in\n{table}");
    }
}

#[test]
fn a_session_waiting_for_a_row_lock_is_blocked_and_a_sleeping_one_is_not() {
    let Some((_turn, database, _)) = support::mariadb::turn("a_session_waiting") else {
        return;
    };
    support::blocking::lock_wait_and_sleep(
        &database,
        "SELECT SLEEP(0.3)",
        "SET SESSION innodb_lock_wait_timeout = 30",
    );
}

/// The throwaway databases `confirm` left on the server, and every database there.
fn footprint(database: &Database) -> (usize, Vec<String>) {
    let mut connection = database.connect().expect("connect");
    let schemata: Vec<String> = confirm::database::query(
        &mut connection,
        "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA ORDER BY 1",
    )
    .expect("schemata")
    .into_iter()
    .filter_map(|row| row.into_iter().next().flatten())
    .collect();
    let throwaway = schemata
        .iter()
        .filter(|name| name.starts_with("isolint_confirm_"))
        .count();
    (throwaway, schemata)
}

/// The command line with `--database-url mysql://...`: the verdict and the interleaving are
/// shown, a reproduced anomaly exits 1, and nothing is left on the server. Without a URL a
/// private MariaDB is started, said so, and removed afterwards.
#[test]
fn confirm_on_mariadb_from_the_command_line() {
    let Some((_turn, database, shared)) = support::mariadb::turn("confirm_on_mariadb") else {
        return;
    };
    let url = shared.server.url();
    let before = footprint(&database);
    assert_eq!(before.0, 0, "{before:?}");
    let confirm_doctors = |url: &str| {
        isolint()
            .args(["confirm", "fixtures/mysql_write_skew_doctors"])
            .args(["--engine", "mysql", "--database-url", url])
            .output()
            .expect("run")
    };
    let output = confirm_doctors(&url);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("REPRODUCED"), "{stdout}");
    assert!(
        stdout.contains("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ; START TRANSACTION"),
        "{stdout}"
    );
    assert!(
        stdout.contains("1 reproduced, 0 prevented, 0 not reproduced, 0 inconclusive"),
        "{stdout}"
    );
    assert_eq!(footprint(&database), before);

    // A PostgreSQL URL for a MySQL project is a mistake, said before anything runs.
    let output = confirm_doctors("postgres://nobody@localhost/none");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("pass a mysql:// URL"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let output = isolint()
        .args([
            "confirm",
            "fixtures/mysql_lost_update_rr",
            "--engine",
            "mariadb",
            "--isolation",
            "read-committed",
        ])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    let directory = stderr
        .lines()
        .find_map(|line| line.strip_prefix("isolint: starting a private MariaDB "))
        .and_then(|rest| rest.split(" in ").nth(1))
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(
        !std::path::Path::new(directory).exists(),
        "{directory} is left"
    );
    assert!(
        stdout.contains("every session runs with innodb_snapshot_isolation = ON"),
        "{stdout}"
    );
}

/// Engines whose servers confirm cannot run say so in `confirm --help` and in the error.
#[test]
fn engines_without_a_server_here_are_refused() {
    let output = isolint().args(["confirm", "--help"]).output().expect("run");
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(
        help.contains("(SQL Server, Oracle, CockroachDB, SQLite, Spanner, TiDB, YugabyteDB)"),
        "{help}"
    );
    assert!(help.contains("isolint_confirm_<random>"), "{help}");
    for engine in ["sqlserver", "spanner", "tidb"] {
        let output = isolint()
            .args([
                "confirm",
                "fixtures/mysql_write_skew_doctors",
                "--engine",
                engine,
            ])
            .args(["--database-url", "mysql://nobody@localhost/none"])
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        // The message as one line, without the frame miette draws around it.
        let message = stderr
            .replace('│', " ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        assert!(
            message.contains(&format!("checked as {engine}, which has no server here")),
            "{stderr}"
        );
    }
}

/// With `innodb_snapshot_isolation = ON` (the `mariadb` engine's default), the lost update
/// that read committed lets through is stopped at repeatable read by MariaDB's own check: the
/// second write of the row fails with error 1020, a serialization failure.
#[test]
fn mariadb_snapshot_isolation_stops_the_second_write() {
    let Some((_turn, database, _)) = support::mariadb::turn("mariadb_snapshot_isolation") else {
        return;
    };
    let directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join("mysql_lost_update_rr");
    let case = case::Case::load(&directory).expect("case");
    let run_at = |level: Option<isolint::semantics::Level>| {
        case.run
            .iter()
            .find(|run| run.engine() == Engine::Mariadb && run.level() == level)
            .expect("a MariaDB run at that level")
            .check(&directory)
    };
    let read_committed = run_at(Some(isolint::semantics::Level::ReadCommitted));
    let mut repeatable_read = run_at(None);
    assert!(repeatable_read.findings.is_empty());
    repeatable_read.findings = read_committed.findings.clone();
    let setup = confirm::Setup::new(&repeatable_read, None).expect("setup");
    let schema = confirm::Schema::build(&database, &setup).expect("schema");
    let confirmation = confirm::confirm(
        &schema,
        &repeatable_read,
        &setup,
        &repeatable_read.findings[0],
    );
    assert_eq!(
        confirmation.verdict,
        confirm::Verdict::Prevented,
        "{}",
        confirmation.reason
    );
    assert!(
        confirmation.reason.contains("(error 1020, SQLSTATE HY000)"),
        "{}",
        confirmation.reason
    );
}

/// InnoDB reads the subqueries of a DELETE and of a multi-table UPDATE with shared locks even
/// at READ COMMITTED (only `INSERT ... SELECT` and a one-table UPDATE read theirs
/// consistently): a take or a claim whose subquery chose a job that another transaction is
/// finishing waits for it, reads it `done` and takes the next ready job, so the finished job
/// is left alone. isolint reports no lost update there
/// (`mysql_a_writing_statements_reads_lock_at_repeatable_read`, programs `take` and
/// `claim_join`).
#[test]
fn a_delete_and_a_joined_update_read_with_locks_at_read_committed() {
    let Some((_turn, database, _)) = support::mariadb::turn("a_delete_reads") else {
        return;
    };
    let answer = |connection: &mut confirm::database::Connection, sql: &str| {
        connection
            .answer(sql)
            .unwrap_or_else(|error| panic!("{sql}: {}", error.message))
    };
    let directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join("mysql_a_writing_statements_reads_lock_at_repeatable_read");
    let queries = std::fs::read_to_string(directory.join("queries/queries.sql")).expect("queries");
    let program = |name: &str| {
        queries
            .split("-- name: ")
            .find_map(|program| program.strip_prefix(&format!("{name}\n")))
            .unwrap_or_else(|| panic!("no program {name}"))
            .trim()
            .trim_end_matches(';')
            .replace('?', "'w2'")
    };
    let mut admin = database.connect().expect("connect");
    for (name, left) in [
        ("take", vec![("1", "done")]),
        ("claim_join", vec![("1", "done"), ("2", "running")]),
    ] {
        let sql = program(name);
        let database_name = format!("isolint_test_{}", confirm::database::random_suffix());
        answer(&mut admin, &format!("CREATE DATABASE {database_name}"));
        let project = database.with_database(&database_name);
        let mut setup = project.connect().expect("connect");
        answer(
            &mut setup,
            "CREATE TABLE jobs (id bigint PRIMARY KEY, state varchar(20) NOT NULL, \
             worker varchar(20)) ENGINE = InnoDB",
        );
        answer(
            &mut setup,
            "INSERT INTO jobs (id, state) VALUES (1, 'ready'), (2, 'ready')",
        );
        let mut finish = project.connect().expect("connect");
        let mut other = project.connect().expect("connect");
        for connection in [&mut finish, &mut other] {
            answer(
                connection,
                "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
            );
            answer(connection, "START TRANSACTION");
        }
        answer(&mut finish, "UPDATE jobs SET state = 'done' WHERE id = 1");
        let running = std::thread::spawn(move || {
            let changed = other.answer(&sql).map(|done| done.affected);
            (other, changed)
        });
        std::thread::sleep(std::time::Duration::from_millis(500));
        assert!(
            !running.is_finished(),
            "{name} does not wait for the finish"
        );
        answer(&mut finish, "COMMIT");
        let (mut other, changed) = running.join().expect("the thread");
        assert_eq!(changed.map_err(|error| error.message), Ok(1), "{name}");
        answer(&mut other, "COMMIT");
        let rows = confirm::database::query(&mut setup, "SELECT id, state FROM jobs ORDER BY id")
            .expect("jobs");
        let expected: Vec<Vec<Option<String>>> = left
            .iter()
            .map(|(id, state)| vec![Some(id.to_string()), Some(state.to_string())])
            .collect();
        assert_eq!(rows, expected, "{name}");
        answer(&mut admin, &format!("DROP DATABASE {database_name}"));
    }
}
