//! `isolint confirm` against a real PostgreSQL started for the test: for every fixture with a
//! `seed.sql`, the static verdict and the database must agree. Every finding a PostgreSQL run
//! requires is reproduced; at a level where the case expects nothing, the findings of its
//! weaker levels, run at that level, are prevented.

mod support;

use std::collections::BTreeSet;
use std::fmt::Write;

use isolint::confirm::{self, Verdict, database::Database};
use isolint::semantics::{Engine, Level};
use isolint::source::{Role, SourceFile};
use isolint::{CheckOptions, CheckResult, check_sources};
use support::case::{self, Case};
use support::postgres::Server;

/// The agreement table (fixture × level → static verdict, PostgreSQL verdict) and the
/// disagreements.
struct Agreement {
    table: String,
    failures: Vec<String>,
}

impl Agreement {
    /// Confirms every finding of `result`; one table line per finding.
    fn confirm_all(
        &mut self,
        database: &Database,
        result: &CheckResult,
        seed: Option<&std::path::Path>,
        (fixture, level): (&str, &str),
        wanted: Option<Verdict>,
    ) {
        let (table, failures) = (&mut self.table, &mut self.failures);
        let setup = confirm::Setup::new(result, seed).expect("setup");
        for finding in &result.findings {
            let (rule, programs) = case::key(result, finding);
            let programs: Vec<String> = programs.into_iter().collect();
            let confirmation = confirm::confirm(database, result, &setup, finding);
            let _ = writeln!(
                table,
                "| {fixture} | {level} | {rule} {} | {} | {} |",
                programs.join(", "),
                match wanted {
                    Some(Verdict::Reproduced) => "finding",
                    Some(_) => "none",
                    None => "allowed",
                },
                confirmation.verdict.id()
            );
            if let Some(wanted) = wanted
                && confirmation.verdict != wanted
            {
                failures.push(format!(
                    "{fixture} at {level}: {rule} ({}) was {} on PostgreSQL, expected {}: {}\n{}",
                    programs.join(", "),
                    confirmation.verdict.id(),
                    wanted.id(),
                    confirmation.reason,
                    serde_json::to_string_pretty(&confirmation.schedule).unwrap_or_default()
                ));
            }
        }
    }
}

#[test]
fn static_verdicts_agree_with_postgresql_on_seeded_fixtures() {
    let Some(server) = Server::start("static_verdicts_agree_with_postgresql_on_seeded_fixtures")
    else {
        return;
    };
    let database = Database::new(&server.url()).expect("url");
    let mut agreement = Agreement {
        table: String::from(
            "| fixture | level | finding | static | PostgreSQL |\n|---|---|---|---|---|\n",
        ),
        failures: Vec::new(),
    };
    let mut seeded = 0;
    let mut rules = BTreeSet::new();
    for directory in case::all() {
        let seed = directory.join("seed.sql");
        if !seed.is_file() {
            continue;
        }
        seeded += 1;
        let name = directory.file_name().unwrap().to_string_lossy().to_string();
        let case = Case::load(&directory).expect("case");
        let mut weaker: Vec<(Level, CheckResult)> = Vec::new();
        let mut runs: Vec<_> = case
            .run
            .iter()
            .filter(|run| run.engine() == Engine::Postgres)
            .collect();
        let level_of = |run: &support::case::Run| run.level().unwrap_or(Level::ReadCommitted);
        runs.sort_by_key(|run| level_of(run));
        for run in runs {
            let level = level_of(run).id();
            let mut result = run.check(&directory);
            let required = case::expected(&run.require);
            if required.is_empty() {
                // The schedules that weaker levels let through, at this level.
                for (weak_level, weak) in weaker.iter().filter(|(weak, _)| *weak < level_of(run)) {
                    result.findings = weak.findings.clone();
                    agreement.confirm_all(
                        &database,
                        &result,
                        Some(&seed),
                        (&name, &format!("{level} ({}'s schedule)", weak_level.id())),
                        Some(Verdict::Prevented),
                    );
                }
                continue;
            }
            let findings = std::mem::take(&mut result.findings);
            let of = |expected: &BTreeSet<case::Expected>| -> Vec<_> {
                findings
                    .iter()
                    .filter(|finding| expected.contains(&case::key(&result, finding)))
                    .cloned()
                    .collect()
            };
            let (required, allowed) = (of(&required), of(&case::expected(&run.allow)));
            // Allowed findings are the model's known imprecisions: shown, not asserted.
            result.findings = allowed;
            agreement.confirm_all(&database, &result, Some(&seed), (&name, level), None);
            result.findings = required;
            rules.extend(result.findings.iter().map(|finding| finding.rule.id()));
            agreement.confirm_all(
                &database,
                &result,
                Some(&seed),
                (&name, level),
                Some(Verdict::Reproduced),
            );
            weaker.push((level_of(run), result));
        }
    }
    println!("{}", agreement.table);
    let _ = std::fs::write(
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("confirm-agreement.md"),
        &agreement.table,
    );
    assert!(seeded >= 15, "only {seeded} fixtures have a seed.sql");
    assert!(
        agreement.failures.is_empty(),
        "{}",
        agreement.failures.join("\n\n")
    );
    for rule in [
        "lost-update",
        "write-skew",
        "phantom-write-skew",
        "read-skew",
        "dangerous-structure",
        "non-repeatable-read",
        "phantom-read",
    ] {
        assert!(rules.contains(rule), "no seeded fixture confirms {rule}");
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
    let confirmation = confirm::confirm(&database, &postgres, &setup, &postgres.findings[0]);
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

/// The command line: the nearest `seed.sql` is found, the verdict and the interleaving are
/// shown, a reproduced anomaly exits 1, and no scratch schema is left behind.
#[test]
fn confirm_on_the_command_line() {
    let Some(server) = Server::start("confirm_on_the_command_line") else {
        return;
    };
    let isolint = || {
        let mut command = assert_cmd::Command::cargo_bin("isolint").expect("binary");
        command.current_dir(env!("CARGO_MANIFEST_DIR"));
        command
    };
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
        stdout.contains("1 reproduced, 0 prevented, 0 inconclusive"),
        "{stdout}"
    );
    let mut client = postgres::Client::connect(&server.url(), postgres::NoTls).expect("connect");
    let left: i64 = client
        .query_one(
            "SELECT count(*) FROM information_schema.schemata \
             WHERE schema_name LIKE 'isolint_confirm_%'",
            &[],
        )
        .expect("query")
        .get(0);
    assert_eq!(left, 0);

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

    let output = isolint()
        .args(["confirm", "fixtures/doctors_on_call"])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--database-url"));
}
