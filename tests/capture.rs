//! `isolint capture` on the logs of real clients: a PostgreSQL server that logs every statement
//! in all three formats, driven by pgbench's built-in TPC-B script and by a psycopg application
//! that does an ORM's read-modify-write from several threads. The captured scripts are then
//! checked: the application's lost update is reported with its statements as the client wrote
//! them, and TPC-B (atomic `x = x + delta` updates) gets no finding.
//!
//! Skipped loudly when the server, pgbench, Python or psycopg is missing, unless
//! `ISOLINT_REQUIRE_DB` is set (as in CI), where that is a failure.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::postgres::Server;

const TEST: &str = "capture";

/// What the server logs: every statement, in stderr, csvlog and jsonlog at once.
const PREFIX: &str = "%m [%p] %c %v %x %a ";

fn logging_options() -> String {
    format!(
        "-c logging_collector=on -c log_destination=stderr,csvlog,jsonlog \
         -c log_directory=log -c log_filename=pg.log -c log_statement=all \
         -c log_min_duration_statement=0 -c log_connections=on -c log_disconnections=on \
         -c 'log_line_prefix={PREFIX}'"
    )
}

/// Says a client is missing: a failure under `ISOLINT_REQUIRE_DB`, else a loud skip.
fn missing(what: &str) {
    let message = format!("{TEST}: SKIPPED: {what}");
    assert!(
        std::env::var_os("ISOLINT_REQUIRE_DB").is_none(),
        "{message}, and ISOLINT_REQUIRE_DB asks for it"
    );
    eprintln!("\n!!! {message} !!!\n");
}

/// `name` next to the server binaries, else on PATH.
fn client(server_bin: Option<PathBuf>, name: &str) -> Option<PathBuf> {
    if let Some(bin) = server_bin
        && bin.join(name).is_file()
    {
        return Some(bin.join(name));
    }
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|directory| directory.join(name))
        .find(|path| path.is_file())
}

fn run(command: &mut Command) -> String {
    let output = command.output().expect("start");
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn isolint(directory: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_isolint"));
    command.current_dir(directory).env_remove("GITHUB_ACTIONS");
    command
}

/// The scripts of a capture, by file name.
fn scripts(directory: &Path) -> Vec<(String, String)> {
    let mut scripts: Vec<(String, String)> = std::fs::read_dir(directory)
        .expect("captured directory")
        .map(|entry| {
            let path = entry.expect("entry").path();
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read_to_string(&path).expect("script"))
        })
        .collect();
    scripts.sort();
    scripts
}

/// The script holding `statement`.
fn script_with<'a>(scripts: &'a [(String, String)], statement: &str) -> &'a (String, String) {
    scripts
        .iter()
        .find(|(_, text)| text.contains(statement))
        .unwrap_or_else(|| panic!("no script holds {statement:?}: {scripts:#?}"))
}

const READ: &str = "SELECT balance FROM accounts WHERE id = $1;";
const WRITE: &str = "UPDATE accounts SET balance = $2 WHERE id = $1;";
const TPC_B: &str = "UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2;";

#[test]
fn captured_logs_of_real_clients_report_the_orm_lost_update_and_nothing_for_tpc_b() {
    let Some(server) = Server::start_with(TEST, &logging_options()) else {
        return;
    };
    let bin = support::postgres::binaries_for(TEST);
    let Some(pgbench) = client(bin.clone(), "pgbench") else {
        return missing("pgbench is not installed");
    };
    let Some(pg_dump) = client(bin, "pg_dump") else {
        return missing("pg_dump is not installed");
    };
    // The first `python3` on PATH (a pyenv or venv one) may lack the distribution's psycopg.
    let Some(python) = ["python3", "/usr/bin/python3"].into_iter().find(|python| {
        Command::new(python)
            .args(["-c", "import importlib.util as u, sys; sys.exit(0 if u.find_spec('psycopg') or u.find_spec('psycopg2') else 1)"])
            .status()
            .is_ok_and(|status| status.success())
    }) else {
        return missing("python3 with psycopg (or psycopg2) is not installed");
    };
    let host = server.directory().display().to_string();
    let connect = ["-h", host.as_str(), "-U", "postgres"];
    run(Command::new(&pgbench)
        .args(connect)
        .args(["-i", "-s", "1", "-q", "postgres"]));
    run(Command::new(&pgbench)
        .args(connect)
        .args(["-t", "20", "-c", "2", "postgres"]));
    let app = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/capture/bank_app.py");
    run(Command::new(python)
        .arg(&app)
        .arg(server.url())
        .args(["4", "10"]));

    let work = tempfile::tempdir().expect("work directory");
    // The schema, as a project without migrations gets it.
    // pg_dump's own output, psql meta-commands (`\restrict`) included.
    let schema = run(Command::new(&pg_dump)
        .args(connect)
        .args(["--schema-only", "postgres"]));
    std::fs::create_dir_all(work.path().join("schema/migrations")).expect("schema directory");
    std::fs::write(work.path().join("schema/migrations/schema.sql"), schema).expect("schema");

    // Everything is in the logs once a last statement is.
    let mut marker = postgres::Client::connect(&server.url(), postgres::NoTls).expect("connect");
    marker
        .batch_execute("SELECT 'capture test done'")
        .expect("marker");
    let log_directory = server.directory().join("data/log");
    let formats = ["pg.log", "pg.csv", "pg.json"];
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !formats.iter().all(|name| {
        std::fs::read_to_string(log_directory.join(name))
            .is_ok_and(|text| text.contains("capture test done"))
    }) {
        assert!(
            std::time::Instant::now() < deadline,
            "the logs never showed the last statement"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    for name in formats {
        std::fs::copy(log_directory.join(name), work.path().join(name)).expect("copy log");
    }
    drop(marker);
    drop(server);

    let mut captures = Vec::new();
    for name in formats {
        let output_directory = format!("captured_{}", &name[3..]);
        let mut capture = isolint(work.path());
        capture.args(["capture", name, "-o", &output_directory]);
        if name == "pg.log" {
            capture.args(["--log-line-prefix", PREFIX]);
        }
        let output = capture.output().expect("capture");
        let summary = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(output.status.success(), "{summary}");
        assert!(summary.contains("statements dropped:"), "{summary}");
        let captured = scripts(&work.path().join(&output_directory));

        let (withdraw_file, withdraw) = script_with(&captured, READ);
        assert!(
            withdraw.starts_with("-- captured: 40 transactions, first seen at pg."),
            "{withdraw}"
        );
        assert!(
            withdraw.contains(&format!(
                "BEGIN ISOLATION LEVEL READ COMMITTED;\n{READ}\n{WRITE}\nCOMMIT;\n"
            )),
            "{withdraw}"
        );
        assert!(
            withdraw.contains("-- captured: application_name bank_app\n"),
            "{withdraw}"
        );
        let (tpc_b_file, tpc_b) = script_with(&captured, TPC_B);
        assert!(
            tpc_b.starts_with("-- captured: 40 transactions,"),
            "{tpc_b}"
        );

        let output = isolint(work.path())
            .args(["check", "--format", "json", &output_directory, "schema"])
            .output()
            .expect("check");
        let report: serde_json::Value =
            serde_json::from_slice(&output.stdout).expect("the check's JSON report");
        let findings = report["findings"].as_array().expect("findings");
        let files = |finding: &serde_json::Value| -> Vec<String> {
            finding["transactions"]
                .as_array()
                .expect("transactions")
                .iter()
                .map(|transaction| transaction["file"].as_str().unwrap_or("").to_string())
                .collect()
        };
        let lost_update = findings
            .iter()
            .find(|finding| {
                finding["rule"] == "lost-update"
                    && files(finding).contains(&format!("{output_directory}/{withdraw_file}"))
            })
            .unwrap_or_else(|| panic!("no lost update on {withdraw_file}: {report:#}"));
        assert_eq!(
            lost_update["transactions"][0]["isolation"],
            "read-committed"
        );
        let steps: Vec<&str> = lost_update["witness"]
            .as_array()
            .expect("witness")
            .iter()
            .filter_map(|step| step["step"].as_str())
            .collect();
        assert!(steps.contains(&READ.trim_end_matches(';')), "{steps:?}");
        assert!(steps.contains(&WRITE.trim_end_matches(';')), "{steps:?}");
        let on_tpc_b: Vec<&serde_json::Value> = findings
            .iter()
            .filter(|finding| files(finding).contains(&format!("{output_directory}/{tpc_b_file}")))
            .collect();
        assert!(on_tpc_b.is_empty(), "TPC-B has findings: {on_tpc_b:#?}");
        captures.push(captured);
    }
    // The three formats hold the same run: the same scripts, but for where each was first seen.
    let without_origin = |captured: &[(String, String)]| -> Vec<(String, String)> {
        captured
            .iter()
            .map(|(name, text)| {
                let body = text.split_once('\n').map_or("", |(_, body)| body);
                (name.clone(), body.to_string())
            })
            .collect()
    };
    assert_eq!(without_origin(&captures[0]), without_origin(&captures[1]));
    assert_eq!(without_origin(&captures[1]), without_origin(&captures[2]));

    // Capturing a newer log into the same directory merges: counts add up, no script is new.
    let output = isolint(work.path())
        .args(["capture", "pg.json", "-o", "captured_log"])
        .output()
        .expect("capture again");
    let summary = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{summary}");
    assert!(summary.contains(": 0 new,"), "{summary}");
    let merged = scripts(&work.path().join("captured_log"));
    assert_eq!(merged.len(), captures[0].len());
    let (_, withdraw) = script_with(&merged, READ);
    assert!(
        withdraw.starts_with("-- captured: 80 transactions, first seen at pg.log:"),
        "{withdraw}"
    );
}

/// A MariaDB server of one test, in a temporary directory, on a Unix socket only, with its
/// general query log on; shut down when dropped. As root it runs as the `mysql` user.
struct Mariadb {
    directory: tempfile::TempDir,
    server: std::process::Child,
    client: PathBuf,
}

impl Mariadb {
    fn start() -> Option<Mariadb> {
        let server = client(None, "mariadbd")
            .or_else(|| Some(PathBuf::from("/usr/sbin/mariadbd")).filter(|path| path.is_file()));
        let (Some(server), Some(install), Some(client_binary)) = (
            server,
            client(None, "mariadb-install-db"),
            client(None, "mariadb"),
        ) else {
            eprintln!(
                "\n!!! {TEST}: SKIPPED the MariaDB part: mariadbd, mariadb-install-db or mariadb is not installed !!!\n"
            );
            return None;
        };
        let directory = tempfile::Builder::new()
            .prefix("isolint-mariadb")
            .tempdir_in("/tmp")
            .expect("directory");
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0");
        let as_server_user = |program: &Path| {
            if root {
                let mut command = Command::new("runuser");
                command.args(["-u", "mysql", "--"]).arg(program);
                command
            } else {
                Command::new(program)
            }
        };
        if root {
            run(Command::new("chown").arg("mysql:").arg(directory.path()));
        }
        let data = directory.path().join("data");
        run(as_server_user(&install)
            .args([
                "--no-defaults",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ])
            .arg(format!("--datadir={}", data.display())));
        let path = |name: &str| directory.path().join(name).display().to_string();
        let server = as_server_user(&server)
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--socket={}", path("sock")))
            .arg(format!("--pid-file={}", path("pid")))
            .args(["--skip-networking", "--general-log=1"])
            .arg(format!("--general-log-file={}", path("general.log")))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start mariadbd");
        let mariadb = Mariadb {
            directory,
            server,
            client: client_binary,
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !mariadb.sql("SELECT 1").status.success() {
            assert!(
                std::time::Instant::now() < deadline,
                "mariadbd did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Some(mariadb)
    }

    fn client(&self) -> Command {
        let mut command = Command::new(&self.client);
        command
            .arg(format!(
                "--socket={}",
                self.directory.path().join("sock").display()
            ))
            .args(["-u", "root"]);
        command
    }

    fn sql(&self, sql: &str) -> std::process::Output {
        self.client().args(["-e", sql]).output().expect("mariadb")
    }

    fn log(&self) -> PathBuf {
        self.directory.path().join("general.log")
    }
}

impl Drop for Mariadb {
    fn drop(&mut self) {
        let _ = self.sql("SHUTDOWN");
        let _ = self.server.wait();
    }
}

/// What an ORM with autocommit off sends for one withdrawal, the values inlined by the client.
fn mariadb_withdrawals(client: usize) -> String {
    (0..10)
        .map(|round| {
            let id = (client + round) % 2 + 1;
            format!(
                "SET autocommit=0;\nSET TRANSACTION ISOLATION LEVEL READ COMMITTED;\n\
                 SELECT balance FROM accounts WHERE id = {id};\n\
                 UPDATE accounts SET balance = {} WHERE id = {id};\nCOMMIT;\n",
                1000 - round
            )
        })
        .collect()
}

#[test]
fn a_captured_mariadb_general_log_reports_the_lost_update_on_mariadb() {
    let Some(server) = Mariadb::start() else {
        return;
    };
    let setup = server.sql(
        "CREATE DATABASE app; CREATE TABLE app.accounts (id int PRIMARY KEY, balance int NOT NULL); \
         INSERT INTO app.accounts VALUES (1, 1000), (2, 1000)",
    );
    assert!(
        setup.status.success(),
        "{}",
        String::from_utf8_lossy(&setup.stderr)
    );
    let clients: Vec<std::process::Child> = (0..3)
        .map(|client| {
            let mut child = server
                .client()
                .arg("app")
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::null())
                .spawn()
                .expect("mariadb client");
            let mut stdin = child.stdin.take().expect("stdin");
            std::io::Write::write_all(&mut stdin, mariadb_withdrawals(client).as_bytes())
                .expect("send");
            child
        })
        .collect();
    for mut child in clients {
        assert!(child.wait().expect("client").success());
    }
    let work = tempfile::tempdir().expect("work directory");
    std::fs::copy(server.log(), work.path().join("general.log")).expect("copy log");
    drop(server);

    let output = isolint(work.path())
        .args(["capture", "general.log", "-o", "captured"])
        .output()
        .expect("capture");
    let summary = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{summary}");
    assert!(summary.contains("MySQL general query log"), "{summary}");
    let captured = scripts(&work.path().join("captured"));
    let (withdraw_file, withdraw) = script_with(&captured, READ);
    assert!(
        withdraw.starts_with("-- captured: 30 transactions,"),
        "{withdraw}"
    );
    assert!(
        withdraw.contains(&format!(
            "SET TRANSACTION ISOLATION LEVEL READ COMMITTED;\nSTART TRANSACTION;\n{READ}\n{WRITE}\nCOMMIT;\n"
        )),
        "{withdraw}"
    );
    let output = isolint(work.path())
        .args([
            "check", "--engine", "mariadb", "--format", "json", "captured",
        ])
        .output()
        .expect("check");
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("the check's JSON report");
    let lost_update = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|finding| finding["rule"] == "lost-update")
        .unwrap_or_else(|| panic!("no lost update: {report:#}"));
    assert_eq!(
        lost_update["transactions"][0]["file"],
        format!("captured/{withdraw_file}")
    );
    assert_eq!(
        lost_update["transactions"][0]["isolation"],
        "read-committed"
    );
}
