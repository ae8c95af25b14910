//! `isolint confirm` against a real PostgreSQL started for the test: for every fixture with a
//! `seed.sql`, the static verdict and the database must agree. Every finding a PostgreSQL run
//! requires is reproduced; at a level where the case expects nothing, the findings of its
//! weaker levels, run at that level, are prevented.

mod support;

use isolint::confirm::{self, Verdict, database::Database};
use isolint::semantics::{Engine, Level};
use isolint::source::{Role, SourceFile};
use isolint::{CheckOptions, CheckResult, check_sources};
use support::agreement::Agreement;
use support::postgres::Server;
use support::{case, isolint};

#[test]
fn static_verdicts_agree_with_postgresql_on_seeded_fixtures() {
    let Some(server) = Server::start("static_verdicts_agree_with_postgresql_on_seeded_fixtures")
    else {
        return;
    };
    let database = Database::new(&server.url()).expect("url");
    let mut agreement = Agreement::new("PostgreSQL");
    let mut seeded = 0;
    for directory in case::all() {
        let seed = directory.join("seed.sql");
        if !seed.is_file() {
            continue;
        }
        seeded += 1;
        agreement.fixture(&database, &directory, &[Engine::Postgres], Some(&seed));
    }
    assert!(seeded >= 15, "only {seeded} fixtures have a seed.sql");
    agreement.finish("confirm-agreement.md");
    for rule in [
        "lost-update",
        "write-skew",
        "phantom-write-skew",
        "read-skew",
        "dangerous-structure",
        "non-repeatable-read",
        "phantom-read",
    ] {
        assert!(
            agreement.rules.contains(rule),
            "no seeded fixture confirms {rule}"
        );
    }
}

/// PostgreSQL's READ UNCOMMITTED is READ COMMITTED: the schedule of a dirty read that MySQL
/// allows is prevented, as isolint's PostgreSQL semantics say (no dirty-read there).
#[test]
fn a_dirty_read_schedule_is_prevented_on_postgresql() {
    let Some(server) = Server::start("a_dirty_read_schedule_is_prevented_on_postgresql") else {
        return;
    };
    let files = |_: ()| {
        vec![
            SourceFile::new(
                "migrations/1.sql".into(),
                Role::Schema,
                "CREATE TABLE orders (id int PRIMARY KEY, status text NOT NULL);
                 INSERT INTO orders VALUES (1, 'open');"
                    .into(),
            ),
            SourceFile::new(
                "txns.sql".into(),
                Role::Transactions,
                "-- name: dashboard
                 BEGIN; SELECT status FROM orders WHERE id = 1; COMMIT;
                 -- name: cancel
                 BEGIN; UPDATE orders SET status = 'cancelled' WHERE id = 1; COMMIT;"
                    .into(),
            ),
        ]
    };
    let at = |engine, level| {
        let mut options = CheckOptions::new(engine);
        options.isolation = Some(level);
        check_sources(files(()), &options)
    };
    let mysql = at(Engine::Mysql, Level::ReadUncommitted);
    let dirty: Vec<_> = mysql
        .findings
        .iter()
        .filter(|finding| finding.rule.id() == "dirty-read")
        .cloned()
        .collect();
    assert_eq!(dirty.len(), 1);
    let mut postgres = at(Engine::Postgres, Level::ReadUncommitted);
    assert!(postgres.findings.is_empty(), "{:?}", postgres.findings);
    postgres.findings = dirty;
    let database = Database::new(&server.url()).expect("url");
    let setup = confirm::Setup::new(&postgres, None).expect("setup");
    let schema = confirm::Schema::build(&database, &setup).expect("schema");
    let confirmation = confirm::confirm(&schema, &postgres, &setup, &postgres.findings[0]);
    assert_eq!(
        confirmation.verdict,
        Verdict::Prevented,
        "{}",
        confirmation.reason
    );
    // The dashboard read the committed status while cancel had not committed.
    let read = confirmation
        .schedule
        .iter()
        .find(|event| event.sql.starts_with("SELECT status"))
        .expect("the read ran");
    assert_eq!(read.returned, Some(vec![vec![Some("open".to_string())]]));
}

/// What `isolint confirm` may leave on a server: throwaway databases still there, and the
/// relations and schemas of the database the URL names.
fn footprint(url: &str) -> (i64, Vec<String>) {
    let mut client = postgres::Client::connect(url, postgres::NoTls).expect("connect");
    let databases: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_database WHERE datname LIKE 'isolint\\_confirm\\_%'",
            &[],
        )
        .expect("query")
        .get(0);
    let objects = client
        .query(
            "SELECT n.nspname || '.' || coalesce(c.relname, '') FROM pg_namespace n \
             LEFT JOIN pg_class c ON c.relnamespace = n.oid \
             WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') \
               AND n.nspname NOT LIKE 'pg\\_%' ORDER BY 1",
            &[],
        )
        .expect("query")
        .iter()
        .map(|row| row.get(0))
        .collect();
    (databases, objects)
}

/// The command line: the nearest `seed.sql` is found, the verdict and the interleaving are
/// shown, a reproduced anomaly exits 1, no throwaway database is left behind and nothing is
/// created in the database the URL names.
#[test]
fn confirm_on_the_command_line() {
    let Some(server) = Server::start("confirm_on_the_command_line") else {
        return;
    };
    let before = footprint(&server.url());
    assert_eq!(before.0, 0);
    let output = isolint()
        .args([
            "confirm",
            "fixtures/doctors_on_call",
            "--isolation",
            "repeatable-read",
        ])
        .args(["--database-url", &server.url()])
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("REPRODUCED"), "{stdout}");
    // Both instances read both doctors on call (the seed's rows), then each goes off call.
    assert_eq!(stdout.matches("→ (2, t), (3, t)").count(), 2, "{stdout}");
    assert!(
        stdout.contains("1 reproduced, 0 prevented, 0 not reproduced, 0 inconclusive"),
        "{stdout}"
    );
    assert_eq!(footprint(&server.url()), before);

    let output = isolint()
        .args([
            "confirm",
            "fixtures/doctors_on_call",
            "--isolation",
            "serializable",
        ])
        .args(["--database-url", &server.url(), "--format", "json"])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(report["findings"].as_array().map(Vec::len), Some(0));

    // The design review shows the verdict with each finding.
    let output = isolint()
        .args([
            "report",
            "fixtures/doctors_on_call",
            "--isolation",
            "repeatable-read",
        ])
        .args(["--format", "markdown", "--database-url", &server.url()])
        .output()
        .expect("run");
    let review = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0));
    assert!(
        review.contains(
            "**On PostgreSQL** (`isolint confirm`): reproduced: what the transactions read and \
             left behind matches none of the 2 serial orders (T1 with $1=1 $2=2; T2 with $1=1 $2=3)"
        ),
        "{review}"
    );

    assert_eq!(footprint(&server.url()), before);
}

/// Without `--database-url`, confirm starts a private PostgreSQL in a temporary directory
/// (as an unprivileged user when run as root), says so, and removes it afterwards.
#[test]
fn without_a_url_confirm_runs_on_a_private_server() {
    let Some(bin) =
        support::postgres::binaries_for("without_a_url_confirm_runs_on_a_private_server")
    else {
        return;
    };
    let path = std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .expect("PATH");
    let output = isolint()
        .args([
            "confirm",
            "fixtures/doctors_on_call",
            "--isolation",
            "repeatable-read",
        ])
        .env("PATH", path)
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains("1 reproduced, 0 prevented, 0 not reproduced, 0 inconclusive"),
        "{stdout}"
    );
    let directory = stderr
        .lines()
        .find_map(|line| line.strip_prefix("isolint: starting a private PostgreSQL "))
        .and_then(|rest| rest.split_once(" in "))
        .map(|(_, path)| path.split(" as user ").next().unwrap_or(path).to_string())
        .unwrap_or_else(|| panic!("no progress line: {stderr}"));
    assert!(directory.contains("isolint-pg-"), "{stderr}");
    assert!(
        !std::path::Path::new(&directory).exists(),
        "{directory} is left behind"
    );
}

/// A project whose migrations use what isolint does not model: an enum extended by
/// `ALTER TYPE ... ADD VALUE`, a CHECK between two columns, a foreign key, a partial unique
/// index on an expression, a trigger function and a `DO` block. They run verbatim, the rows
/// made for the finding satisfy the schema, and the finding gets a verdict from the server.
#[test]
fn real_migrations_run_verbatim_and_their_findings_get_a_verdict() {
    let Some(server) = Server::start("real_migrations_run_verbatim") else {
        return;
    };
    let files = [
        (
            "migrations/001_bookings.sql",
            "CREATE TYPE booking_state AS ENUM ('pending', 'confirmed');
CREATE TABLE rooms (id serial PRIMARY KEY, name text NOT NULL);
CREATE TABLE bookings (
    id serial PRIMARY KEY,
    room_id int NOT NULL REFERENCES rooms (id),
    guest text NOT NULL,
    state booking_state NOT NULL DEFAULT 'pending',
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    CHECK (starts_at < ends_at)
);
CREATE TABLE booking_log (booking_id int NOT NULL, logged_at timestamptz NOT NULL DEFAULT now());
",
        ),
        (
            "migrations/002_cancel.sql",
            "ALTER TYPE booking_state ADD VALUE 'cancelled';\n",
        ),
        (
            "migrations/003_rules.sql",
            "CREATE UNIQUE INDEX one_active_booking_per_guest ON bookings (lower(guest))
    WHERE state <> 'cancelled';
CREATE FUNCTION log_booking() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO booking_log (booking_id) VALUES (NEW.id);
    RETURN NEW;
END
$$;
CREATE TRIGGER bookings_log AFTER INSERT ON bookings
    FOR EACH ROW EXECUTE FUNCTION log_booking();
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_type WHERE typname = 'booking_state') THEN
        RAISE EXCEPTION 'booking_state is missing';
    END IF;
END
$$;
",
        ),
        (
            "book_room.sql",
            "-- name: book_room
-- isolint: example 1=1 2=2024-03-01 3=2024-03-05 4=ann
-- isolint: example 1=1 2=2024-03-02 3=2024-03-04 4=bob
BEGIN;
SELECT count(*) FROM bookings
    WHERE room_id = $1 AND state = 'confirmed' AND starts_at < $3 AND ends_at > $2;
INSERT INTO bookings (room_id, guest, state, starts_at, ends_at)
    VALUES ($1, $4, 'confirmed', $2, $3);
COMMIT;
",
        ),
    ];
    let before = footprint(&server.url());
    let output = server.confirm_project(&files);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("migration failed"), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let findings = report["findings"].as_array().expect("findings");
    assert!(!findings.is_empty(), "{stderr}");
    for finding in findings {
        let confirmation = &finding["confirmation"];
        let verdict = confirmation["verdict"].as_str().unwrap_or_default();
        assert!(
            verdict == "reproduced" || verdict == "prevented",
            "{}: {verdict}: {}\n{}",
            finding["rule"],
            confirmation["reason"],
            serde_json::to_string_pretty(confirmation).unwrap_or_default()
        );
        assert!(
            confirmation["schema"].as_str().is_some_and(
                |schema| schema.starts_with("the project's migrations (3 files) run verbatim")
            ),
            "{}",
            confirmation["schema"]
        );
    }
    // The two bookings of the write skew both went in, and the trigger logged them with the
    // booking made for the room's existing confirmed stay.
    let phantom = findings
        .iter()
        .find(|finding| finding["rule"] == "phantom-write-skew")
        .expect("a phantom write skew");
    assert_eq!(phantom["confirmation"]["verdict"], "reproduced");
    let contents = &phantom["confirmation"]["observed"]["contents"];
    assert_eq!(contents["booking_log"].as_array().map(Vec::len), Some(3));
    assert_eq!(footprint(&server.url()), before);
}

/// A finding whose own pair does not reproduce it is replayed with each partner until one
/// does: closing an account races with freezing it (a partner), not with a no-op write of the
/// same state (the witness's pair).
#[test]
fn a_finding_is_confirmed_with_a_partner_when_its_own_pair_does_not_reproduce() {
    let Some(server) = Server::start("a_finding_is_confirmed_with_a_partner") else {
        return;
    };
    let files = [
        (
            "migrations/001_accounts.sql",
            "CREATE TABLE accounts (id int PRIMARY KEY, status text NOT NULL);\n\
             INSERT INTO accounts VALUES (1, 'open');\n",
        ),
        (
            "a_close.sql",
            "-- name: a_close\nBEGIN;\nSELECT status FROM accounts WHERE id = $1;\n\
             -- the application closes an open account\n\
             UPDATE accounts SET status = 'closed' WHERE id = $1;\nCOMMIT;\n",
        ),
        (
            "b1_refreeze.sql",
            "-- name: b1_refreeze\n\
             UPDATE accounts SET status = 'frozen' WHERE id = $1 AND status = 'frozen';\n",
        ),
        (
            "b2_freeze.sql",
            "-- name: b2_freeze\nUPDATE accounts SET status = 'frozen' WHERE id = $1;\n",
        ),
    ];
    let output = server.confirm_project(&files);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let findings = report["findings"].as_array().expect("findings");
    let lost = findings
        .iter()
        .find(|finding| finding["rule"] == "lost-update")
        .unwrap_or_else(|| panic!("no lost update: {findings:?}\n{stderr}"));
    let own: Vec<&str> = lost["transactions"]
        .as_array()
        .expect("transactions")
        .iter()
        .filter_map(|transaction| transaction["name"].as_str())
        .collect();
    assert_eq!(own, ["a_close", "b1_refreeze"]);
    assert_eq!(lost["partners"][0]["name"], "b2_freeze");
    let confirmation = &lost["confirmation"];
    assert_eq!(
        confirmation["verdict"], "reproduced",
        "{}",
        confirmation["reason"]
    );
    assert_eq!(confirmation["partner"], "b2_freeze");
    assert!(
        confirmation["reason"].as_str().is_some_and(|reason| reason
            .starts_with("with partner `b2_freeze` (the finding's own pair: not reproduced)")),
        "{}",
        confirmation["reason"]
    );
}

/// Asserts a finding's `confirmation`: its verdict, and a part of its reason.
fn assert_confirmed(confirmation: &serde_json::Value, verdict: &str, reason: &str) {
    assert_eq!(
        confirmation["verdict"], verdict,
        "{}",
        confirmation["reason"]
    );
    assert!(
        confirmation["reason"]
            .as_str()
            .is_some_and(|text| text.contains(reason)),
        "{}",
        confirmation["reason"]
    );
}

/// `isolint confirm` of the project `files` on `server`: its first finding of `rule`.
fn confirm_first(server: &Server, files: &[(&str, &str)], rule: &str) -> serde_json::Value {
    let output = server.confirm_project(files);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let findings = report["findings"].as_array().expect("findings");
    findings
        .iter()
        .find(|finding| finding["rule"] == rule)
        .cloned()
        .unwrap_or_else(|| panic!("no {rule}: {findings:?}\n{stderr}"))
}

/// Asserts that the schedule a confirmation ran is described with each of `parts`.
fn assert_interleaving(confirmation: &serde_json::Value, parts: &[&str]) {
    let interleaving = confirmation["interleaving"].as_str().unwrap_or_default();
    for part in parts {
        assert!(interleaving.contains(part), "{interleaving}");
    }
}

/// A job queue's orphan sweep and a worker's heartbeat race (the write skew, reproduced); a
/// third statement that starts jobs makes isolint report a dangerous structure through them.
/// Its run leaves an outcome no serial order gives, but the same schedule without the start
/// does too: what ran is the sweep's and the heartbeat's own anomaly, so the structure is not
/// reproduced by it.
#[test]
fn a_structure_whose_run_needs_only_two_of_its_transactions_is_not_reproduced() {
    let Some(server) = Server::start("a_structure_whose_run_needs_only_two") else {
        return;
    };
    let files = [
        (
            "migrations/001_jobs.sql",
            "CREATE TABLE workers (id text PRIMARY KEY, worker_type text NOT NULL,\n\
             \x20   last_seen timestamptz NOT NULL DEFAULT now());\n\
             CREATE TABLE jobs (id text PRIMARY KEY, status text NOT NULL DEFAULT 'Pending',\n\
             \x20   attempts int NOT NULL DEFAULT 0, max_attempts int NOT NULL DEFAULT 25,\n\
             \x20   run_at timestamptz NOT NULL DEFAULT now(), lock_by text REFERENCES workers (id),\n\
             \x20   lock_at timestamptz, done_at timestamptz);\n",
        ),
        (
            "sweep.sql",
            "-- name: sweep\n\
             WITH stale AS (\n\
             \x20   SELECT jobs.id FROM jobs INNER JOIN workers ON jobs.lock_by = workers.id\n\
             \x20   WHERE (jobs.status = 'Running' OR jobs.status = 'Queued')\n\
             \x20     AND NOW() - workers.last_seen >= $1 AND workers.worker_type = $2\n\
             \x20   FOR UPDATE OF jobs SKIP LOCKED\n\
             )\n\
             UPDATE jobs SET status = 'Pending', done_at = NULL, lock_by = NULL, lock_at = NULL,\n\
             \x20   attempts = attempts + 1\n\
             FROM stale WHERE jobs.id = stale.id;\n",
        ),
        (
            "heartbeat.sql",
            "-- name: heartbeat\n\
             UPDATE workers w SET last_seen = NOW()\n\
             WHERE w.id = $1 AND w.worker_type = $2\n\
             \x20 AND (SELECT COUNT(*) FROM jobs j WHERE j.lock_by = w.id AND j.id = ANY($3::text[]))\n\
             \x20     = cardinality($3::text[]);\n",
        ),
        (
            "start.sql",
            "-- name: start\n\
             UPDATE jobs SET status = 'Running', lock_at = now(), lock_by = $2\n\
             WHERE (status = 'Pending' OR status = 'Queued'\n\
             \x20      OR (status = 'Failed' AND attempts < max_attempts))\n\
             \x20 AND run_at < now() AND id = ANY($1);\n",
        ),
    ];
    let output = server.confirm_project(&files);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let findings = report["findings"].as_array().expect("findings");
    let find = |rule: &str| {
        findings
            .iter()
            .find(|finding| finding["rule"] == rule)
            .unwrap_or_else(|| panic!("no {rule}: {findings:?}\n{stderr}"))
    };
    let skew = &find("write-skew")["confirmation"];
    assert_eq!(skew["verdict"], "reproduced", "{}", skew["reason"]);
    let structure = find("dangerous-structure");
    let names: Vec<&str> = structure["transactions"]
        .as_array()
        .expect("transactions")
        .iter()
        .filter_map(|transaction| transaction["name"].as_str())
        .collect();
    assert_eq!(names, ["sweep", "heartbeat", "start"]);
    assert_confirmed(
        &structure["confirmation"],
        "not_reproduced",
        "the same schedule without T3 does not match any serial order of the others either",
    );
}

/// `isolint confirm` of the one finding of PgQ (the vendored corpus) with `rule` and the
/// transactions `wanted`, on `server`: its confirmation.
fn confirm_pgq_finding(server: &Server, rule: &str, wanted: &[&str]) -> serde_json::Value {
    let project = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/pgq-3.5");
    let run = |arguments: &[&str]| {
        let output = assert_cmd::Command::cargo_bin("isolint")
            .expect("binary")
            .current_dir(&project)
            .args(arguments)
            .output()
            .expect("run");
        let report: serde_json::Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&output.stderr)));
        report
    };
    let names = |finding: &serde_json::Value| -> Vec<String> {
        finding["transactions"]
            .as_array()
            .expect("transactions")
            .iter()
            .filter_map(|transaction| transaction["name"].as_str().map(str::to_string))
            .collect()
    };
    let checked = run(&["check", ".", "--format", "json"]);
    let finding = checked["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|finding| finding["rule"] == rule && names(finding) == wanted)
        .unwrap_or_else(|| panic!("no {rule} {wanted:?} in PgQ"));
    let fingerprint = finding["fingerprint"].as_str().expect("fingerprint");
    let url = server.url();
    let confirmed = run(&[
        "confirm",
        ".",
        "--format",
        "json",
        "--finding",
        fingerprint,
        "--database-url",
        &url,
    ]);
    confirmed["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|finding| finding["fingerprint"] == fingerprint)
        .map(|finding| finding["confirmation"].clone())
        .expect("the finding, confirmed")
}

/// PgQ's forced `drop_queue` unsubscribes the queue's consumers and drops its tables under the
/// queue row's lock. `batch_retry`, stopped by a pause before its INSERT where the witness has
/// the drop commit, goes on to find its batch gone and raises 'batch not found'; alone it finds
/// the batch, so the drop is what stopped it: prevented, not rows that fail the project's
/// check.
#[test]
fn a_structure_through_a_forced_drop_is_prevented_by_the_projects_own_check() {
    let Some(server) = Server::start("a_structure_through_a_forced_drop") else {
        return;
    };
    let wanted = [
        "maint_retry_events",
        "batch_retry",
        "drop_queue(text, boolean)",
    ];
    let confirmation = confirm_pgq_finding(&server, "dangerous-structure", &wanted);
    assert_confirmed(
        &confirmation,
        "prevented",
        "batch not found (P0001), raised by the project's own code, which it passes when it \
         runs alone before the others",
    );
    assert_interleaving(
        &confirmation,
        &[
            "pauses inside a call",
            "T2 before `insert into pgq.retry_queue",
        ],
    );
}

/// The forced drop drops the queue's sequences (dynamic `DROP SEQUENCE`) as well; `ticker()`,
/// stopped before its tick insert while the drop commits, then reads a sequence that is gone
/// (42P01). Alone it finds the sequence, so the drop is what stopped it: prevented, not a
/// migration that failed.
#[test]
fn a_relation_another_transaction_dropped_prevents_the_anomaly() {
    let Some(server) = Server::start("a_relation_another_transaction_dropped") else {
        return;
    };
    let wanted = ["ticker()", "drop_queue(text, boolean)"];
    let confirmation = confirm_pgq_finding(&server, "phantom-write-skew", &wanted);
    assert_confirmed(
        &confirmation,
        "prevented",
        "(42P01), which it finds when it runs alone before the others: another transaction \
         dropped it first",
    );
}

/// A routine whose own SQL does not fit the schema (a json value into a bytea column, which
/// PL/pgSQL accepts when the function is created) fails on every call, alone too: it never
/// commits, so the read skew it would cause is not reproduced, and the reason says why.
#[test]
fn a_routine_that_fails_on_every_call_never_commits() {
    let Some(server) = Server::start("a_routine_that_fails_on_every_call") else {
        return;
    };
    let files = [
        (
            "migrations/001_accounts.sql",
            "CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL);\n\
             CREATE TABLE notes (id int PRIMARY KEY, data bytea);\n\
             CREATE FUNCTION note(p_id int, p_note text) RETURNS void AS $$\n\
             BEGIN\n\
             \x20   UPDATE accounts SET balance = balance + 1 WHERE id = p_id;\n\
             \x20   UPDATE notes SET data = to_json(p_note) WHERE id = p_id;\n\
             END;\n\
             $$ LANGUAGE plpgsql;\n",
        ),
        (
            "report.sql",
            "-- name: report\nBEGIN;\nSELECT balance FROM accounts WHERE id = $1;\n\
             SELECT data FROM notes WHERE id = $1;\nCOMMIT;\n",
        ),
    ];
    let skew = confirm_first(&server, &files, "read-skew");
    assert_confirmed(
        &skew["confirmation"],
        "not_reproduced",
        "(42804), in the project's own routine run as one call, and the same when it runs alone \
         before the others",
    );
}

/// A function that reads a balance and then the ledger, called as one statement (its first
/// statement computes the key, which isolint does not run, so it is not replayed): the run
/// makes the function again with a pause before its second read, the deposit commits in
/// between, and the statement returns the old balance beside the new total.
#[test]
fn a_read_skew_inside_one_call_is_reproduced_with_a_pause() {
    let Some(server) = Server::start("a_read_skew_inside_one_call") else {
        return;
    };
    let files = [(
        "migrations/001_accounts.sql",
        "CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL);\n\
         CREATE TABLE ledger (account_id int PRIMARY KEY REFERENCES accounts (id),\n\
         \x20   total int NOT NULL);\n\
         CREATE FUNCTION statement_of(p_id int) RETURNS text LANGUAGE plpgsql AS $$\n\
         DECLARE v_id int; v_balance int; v_total int;\n\
         BEGIN\n\
         \x20   v_id := p_id + 0; -- a key the function computes; the pause goes after it\n\
         \x20   SELECT balance INTO v_balance FROM accounts WHERE id = v_id;\n\
         \x20   SELECT total INTO v_total FROM ledger WHERE account_id = v_id;\n\
         \x20   RETURN v_balance || '/' || v_total;\n\
         END\n\
         $$;\n\
         CREATE FUNCTION deposit(p_id int, p_amount int) RETURNS void LANGUAGE plpgsql AS $$\n\
         BEGIN\n\
         \x20   UPDATE accounts SET balance = balance + p_amount WHERE id = p_id;\n\
         \x20   UPDATE ledger SET total = total + p_amount WHERE account_id = p_id;\n\
         END\n\
         $$;\n",
    )];
    let confirmation = &confirm_first(&server, &files, "read-skew")["confirmation"];
    assert_confirmed(
        confirmation,
        "reproduced",
        "matches none of the 2 serial orders",
    );
    assert_interleaving(
        confirmation,
        &["T1 before `SELECT total INTO v_total FROM ledger WHERE account_id = v_id`"],
    );
    // The call returned the balance before the deposit beside the total after it.
    let returned = confirmation["observed"]["results"][0][0]["rows"][0][0].as_str();
    assert_eq!(returned, Some("100/102"), "{confirmation}");
}

/// Steps that commit separately (`atomic = false`) are replayed with a COMMIT after each
/// step: the fetch's lock ends there, and both workers take the task.
#[test]
fn steps_that_commit_separately_are_replayed_with_a_commit_between_them() {
    let Some(server) = Server::start("steps_that_commit_separately") else {
        return;
    };
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/steps_that_commit_separately_hold_no_lock");
    let read = |path: &str| std::fs::read_to_string(fixture.join(path)).expect("fixture file");
    let (schema, queries) = (read("migrations/001_tasks.sql"), read("queries/tasks.sql"));
    let config = "engine = \"postgres\"\n[[transaction]]\nname = \"claim_separately\"\n\
                  steps = [\"FetchTask\", \"TouchTask\"]\natomic = false\nsteps_run_alone = false\n";
    let output = server.confirm_project(&[
        ("migrations/001_tasks.sql", &schema),
        ("queries/tasks.sql", &queries),
        ("isolint.toml", config),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let findings = report["findings"].as_array().expect("findings");
    assert_eq!(findings.len(), 1, "{findings:?}\n{stderr}");
    assert_eq!(findings[0]["rule"], "lost-update");
    let confirmation = &findings[0]["confirmation"];
    assert_eq!(
        confirmation["verdict"], "reproduced",
        "{}",
        confirmation["reason"]
    );
    let schedule: Vec<String> = confirmation["schedule"]
        .as_array()
        .expect("schedule")
        .iter()
        .map(|event| {
            format!(
                "{} {}",
                event["session"].as_str().unwrap_or(""),
                event["sql"].as_str().unwrap_or("")
            )
        })
        .collect();
    let fetch = schedule
        .iter()
        .position(|event| event.starts_with("T1 SELECT"))
        .expect("T1 fetches");
    assert_eq!(
        schedule[fetch + 1],
        "T1 COMMIT",
        "the fetch's step commits before the other worker fetches: {schedule:?}"
    );
}

/// A parameter compared with a column from the left (`$2 >= scheduled_at`, as fang writes
/// it) takes a value of the column's type, not a number the server rejects.
#[test]
fn a_parameter_left_of_a_comparison_takes_the_columns_type() {
    let Some(server) = Server::start("a_parameter_left_of_a_comparison") else {
        return;
    };
    let files = [
        (
            "migrations/001_tasks.sql",
            "CREATE TABLE tasks (id int PRIMARY KEY, retries int NOT NULL, \
             scheduled_at timestamptz NOT NULL);\n",
        ),
        (
            "retry.sql",
            "-- name: retry\nBEGIN;\n\
             SELECT retries FROM tasks WHERE id = $1 AND $2 >= scheduled_at;\n\
             UPDATE tasks SET retries = $3 WHERE id = $1;\nCOMMIT;\n",
        ),
    ];
    let output = server.confirm_project(&files);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let finding = &report["findings"][0];
    assert_eq!(finding["rule"], "lost-update", "{stderr}");
    let confirmation = &finding["confirmation"];
    assert_eq!(
        confirmation["verdict"], "reproduced",
        "{}",
        confirmation["reason"]
    );
}

/// A migration the server rejects is reported with its file, its line (from the server's
/// error position) and the server's message; the rest of the file is still built.
#[test]
fn a_failing_migration_is_reported_where_it_fails() {
    let Some(server) = Server::start("a_failing_migration_is_reported_where_it_fails") else {
        return;
    };
    let result = check_sources(
        vec![SourceFile::new(
            "migrations/001.sql".into(),
            Role::Schema,
            "CREATE TABLE a (id int PRIMARY KEY);\n\nCREATE TABLE b (\n    id int,\n    a_id int REFERENCES nowhere (id)\n);\nCREATE TABLE c (id int);\n\\connect other\nCREATE ROLE intruder;\nCREATE TABLE d (\n    id int,\n    at timestamptz DEFALT now()\n);\n"
                .into(),
        )],
        &CheckOptions::new(Engine::Postgres),
    );
    let setup = confirm::Setup::new(&result, None).expect("setup");
    let left_out: Vec<String> = setup
        .migrations
        .left_out
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        left_out,
        [
            "migrations/001.sql:8: `\\connect other` (psql's \\connect is not run: confirm sends the SQL only)",
            "migrations/001.sql:9: `CREATE ROLE intruder` (roles belong to the whole server)",
        ]
    );
    let database = Database::new(&server.url()).expect("url");
    let schema = confirm::Schema::build(&database, &setup).expect("schema");
    let failures: Vec<String> = schema.failures().iter().map(ToString::to_string).collect();
    // Without a position from the server, the line is the statement's.
    assert_eq!(
        failures,
        [
            "migrations/001.sql:3: relation \"nowhere\" does not exist (42P01)",
            "migrations/001.sql:12: syntax error at or near \"DEFALT\" (42601)",
        ]
    );
    let tables: Vec<String> = schema
        .tables()
        .tables
        .iter()
        .map(|table| table.display())
        .collect();
    assert_eq!(tables, ["a", "c"]);
    drop(schema);
    let mut client = postgres::Client::connect(&server.url(), postgres::NoTls).expect("connect");
    let roles: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_roles WHERE rolname = 'intruder'",
            &[],
        )
        .expect("query")
        .get(0);
    assert_eq!(roles, 0);
    assert_eq!(footprint(&server.url()).0, 0);
}

/// When the migrations leave out a table a finding uses and isolint's model of the tables has
/// it, the finding runs on the model, and its reason says why.
#[test]
fn a_table_the_migrations_leave_out_is_taken_from_the_model() {
    let Some(server) = Server::start("a_table_the_migrations_leave_out_is_taken_from_the_model")
    else {
        return;
    };
    let result = check_sources(
        vec![
            SourceFile::new(
                "migrations/001.sql".into(),
                Role::Schema,
                "CREATE TABLE bank.accounts (id int PRIMARY KEY, balance int NOT NULL);\n".into(),
            ),
            SourceFile::new(
                "withdraw.sql".into(),
                Role::Transactions,
                "BEGIN;\nSELECT balance FROM bank.accounts WHERE id = $1;\n\
                 UPDATE bank.accounts SET balance = $2 WHERE id = $1;\nCOMMIT;\n"
                    .into(),
            ),
        ],
        &CheckOptions::new(Engine::Postgres),
    );
    assert_eq!(result.findings.len(), 1, "{:?}", result.findings);
    let setup = confirm::Setup::new(&result, None).expect("setup");
    let database = Database::new(&server.url()).expect("url");
    let schema = confirm::Schema::build(&database, &setup).expect("schema");
    assert_eq!(schema.failures().len(), 1);
    let confirmation = confirm::confirm(&schema, &result, &setup, &result.findings[0]);
    assert_ne!(
        confirmation.verdict,
        Verdict::Inconclusive,
        "{}",
        confirmation.reason
    );
    assert!(
        confirmation.reason.contains(
            "run on the tables isolint models from the migrations, because the migrations run \
             verbatim leave no table accounts (first failure: migrations/001.sql:1: schema \
             \"bank\" does not exist (3F000))"
        ),
        "{}",
        confirmation.reason
    );
    drop(schema);
    assert_eq!(footprint(&server.url()).0, 0);
}

/// A step that waits for another session's row lock is marked blocked and the schedule goes
/// on; a step that is merely slow (`pg_sleep`) is waited for, as PostgreSQL's isolation
/// tester tells them apart.
#[test]
fn a_session_waiting_for_a_lock_is_blocked_and_a_sleeping_one_is_not() {
    let Some(server) = Server::start("a_session_waiting_for_a_lock_is_blocked") else {
        return;
    };
    let database = Database::new(&server.url()).expect("url");
    support::blocking::lock_wait_and_sleep(
        &database,
        "SELECT pg_sleep(0.3)",
        "SET search_path TO public",
    );
}

/// The bank of [`setup_files_build_the_state_the_projects_code_expects`]: `withdraw` refuses
/// to run until the bank has two accounts, which only the setup file makes (the rows confirm
/// makes itself are the one account the transactions point at). Its body reads a record's
/// fields, so it runs as one call, exception and all.
const BANK: &str = "CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL);
CREATE FUNCTION withdraw(account int, amount int) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    acct record;
BEGIN
    IF (SELECT count(*) FROM accounts) < 2 THEN
        RAISE EXCEPTION 'the bank is not open';
    END IF;
    SELECT * INTO acct FROM accounts WHERE id = account;
    UPDATE accounts SET balance = acct.balance - amount WHERE id = account;
    RETURN acct.balance - amount;
END $$;
";

/// A project directory with the bank's migration, an `isolint.toml` naming `setup` under
/// `[confirm]`, and the given files.
fn bank_project(setup: &str, files: &[(&str, &str)]) -> (tempfile::TempDir, CheckResult) {
    let directory = tempfile::tempdir().expect("temporary directory");
    std::fs::write(
        directory.path().join("isolint.toml"),
        format!("engine = \"postgres\"\n\n[confirm]\nsetup = [{setup}]\n"),
    )
    .expect("config");
    for (name, text) in files {
        std::fs::write(directory.path().join(name), text).expect("file");
    }
    let result = check_sources(
        vec![SourceFile::new(
            "migrations/001.sql".into(),
            Role::Schema,
            BANK.into(),
        )],
        &CheckOptions::new(Engine::Postgres),
    );
    (directory, result)
}

/// The `[confirm] setup` files run after the migrations, and the values chosen point at the
/// rows they made: the lost update of two `withdraw` calls reproduces only with them.
#[test]
fn setup_files_build_the_state_the_projects_code_expects() {
    let Some(server) = Server::start("setup_files_build_the_state_the_projects_code_expects")
    else {
        return;
    };
    let database = Database::new(&server.url()).expect("url");
    let (directory, result) = bank_project(
        "\"state.sql\"",
        &[(
            "state.sql",
            "-- Three accounts.\nINSERT INTO accounts VALUES (7, 100), (8, 100), (9, 100);\n",
        )],
    );
    let finding = result
        .findings
        .iter()
        .find(|finding| finding.rule.id() == "lost-update")
        .unwrap_or_else(|| panic!("no lost update in {:?}", result.findings));

    let without = confirm::Setup::new(&result, None).expect("setup");
    let schema = confirm::Schema::build(&database, &without).expect("schema");
    let confirmation = confirm::confirm(&schema, &result, &without, finding);
    assert_eq!(
        confirmation.verdict,
        Verdict::Inconclusive,
        "{}",
        confirmation.reason
    );
    assert!(
        confirmation.reason.contains("the bank is not open")
            && confirmation
                .reason
                .contains("raised by the project's own code"),
        "{}",
        confirmation.reason
    );
    drop(schema);

    let config =
        isolint::config::load(&directory.path().join("isolint.toml")).expect("the config loads");
    let with = confirm::Setup::new(&result, None)
        .expect("setup")
        .with_setup_files(&config)
        .expect("the setup file is read");
    let schema = confirm::Schema::build(&database, &with).expect("schema");
    let confirmation = confirm::confirm(&schema, &result, &with, finding);
    assert_eq!(
        confirmation.verdict,
        Verdict::Reproduced,
        "{}\n{:?}",
        confirmation.reason,
        confirmation.schedule
    );
    assert!(
        confirmation
            .assumptions
            .iter()
            .any(|assumption| assumption.contains("account = 7 (a row that exists has it)")),
        "{:?}",
        confirmation.assumptions
    );
    assert!(
        confirmation.schema.contains("then the setup state.sql"),
        "{}",
        confirmation.schema
    );
    drop(schema);
    assert_eq!(footprint(&server.url()).0, 0);
}

/// A setup file that is missing, or that the server rejects, stops confirm with an error
/// naming the file and the line.
#[test]
fn a_missing_or_failing_setup_file_is_an_error_naming_it() {
    let Some(server) = Server::start("a_missing_or_failing_setup_file_is_an_error_naming_it")
    else {
        return;
    };
    let (directory, result) = bank_project("\"state.sql\", \"missing.sql\"", &[("state.sql", "")]);
    let config =
        isolint::config::load(&directory.path().join("isolint.toml")).expect("the config loads");
    let error = confirm::Setup::new(&result, None)
        .expect("setup")
        .with_setup_files(&config)
        .err()
        .expect("a missing setup file is an error");
    assert!(
        error.contains("isolint.toml:4: cannot read the confirm setup file `missing.sql`"),
        "{error}"
    );

    let (directory, result) = bank_project(
        "\"state.sql\"",
        &[(
            "state.sql",
            "INSERT INTO accounts VALUES (1, 100);\n\nINSERT INTO acounts VALUES (2, 100);\n",
        )],
    );
    let config =
        isolint::config::load(&directory.path().join("isolint.toml")).expect("the config loads");
    let setup = confirm::Setup::new(&result, None)
        .expect("setup")
        .with_setup_files(&config)
        .expect("the setup file is read");
    let database = Database::new(&server.url()).expect("url");
    let error = confirm::Schema::build(&database, &setup)
        .err()
        .expect("a failing setup file is an error");
    assert!(
        error.contains(
            "the confirm setup file failed at state.sql:3: relation \"acounts\" does not exist \
             (42P01)"
        ),
        "{error}"
    );
    assert_eq!(footprint(&server.url()).0, 0);
}
