//! The command line: exit codes, error messages, and the rules commands.

use assert_cmd::Command;
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// The binary, with the format not switched by the environment running the tests.
fn isolint() -> Command {
    let mut command = Command::cargo_bin("isolint").expect("binary");
    command.env_remove("GITHUB_ACTIONS");
    command
}

fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).to_string()
}

#[test]
fn exit_code_is_1_when_an_error_finding_is_reported() {
    isolint()
        .args(["check", "."])
        .current_dir(fixture("bank_read_modify_write"))
        .assert()
        .code(1);
}

#[test]
fn exit_code_is_0_when_nothing_is_found() {
    isolint()
        .args(["check", "."])
        .current_dir(fixture("bank_atomic_update"))
        .assert()
        .code(0);
}

#[test]
fn warnings_alone_exit_0() {
    let output = isolint()
        .args(["check", ".", "--select", "read-skew"])
        .current_dir(fixture("read_skew_transfer"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&output.stdout).contains("isolint::read-skew"));
}

/// The severity of each dangerous structure `check` reports on `paths` of the batch fixture.
fn structure_severities(paths: &[&str]) -> Vec<(String, String)> {
    let output = isolint()
        .args(["check", "--format", "json"])
        .args(paths)
        .current_dir(fixture("read_only_tin_structure_is_a_warning"))
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|finding| finding["rule"] == "dangerous-structure")
        .map(|finding| {
            let tin = finding["transactions"][0]["name"]
                .as_str()
                .unwrap_or_default();
            let severity = finding["severity"].as_str().unwrap_or_default();
            (tin.to_string(), severity.to_string())
        })
        .collect()
}

#[test]
fn a_structure_whose_tin_only_reads_is_a_warning_and_one_whose_tin_writes_comes_first() {
    assert_eq!(
        structure_severities(&["."]),
        [("archive_batch".to_string(), "error".to_string())]
    );
    let without_archive = [
        "migrations",
        "txns/new_receipt.sql",
        "txns/close_batch.sql",
        "txns/batch_report.sql",
    ];
    assert_eq!(
        structure_severities(&without_archive),
        [("batch_report".to_string(), "warning".to_string())]
    );
    // A warning alone does not fail the run, and the statistics count it as one.
    let output = isolint()
        .args(["check", "--statistics"])
        .args(without_archive)
        .current_dir(fixture("read_only_tin_structure_is_a_warning"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains("     1  dangerous-structure    warning"),
        "{stderr}"
    );
}

#[test]
fn a_missing_path_is_a_usage_error_naming_it() {
    let output = isolint().args(["check", "no/such/dir"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = stderr_of(&output);
    assert!(stderr.contains("`no/such/dir` does not exist"), "{stderr}");
    assert!(
        stderr.contains("pass a directory or .sql file that exists"),
        "{stderr}"
    );
}

#[test]
fn a_bad_engine_is_a_usage_error_listing_the_engines() {
    let output = isolint()
        .args(["check", ".", "--engine", "db2"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = stderr_of(&output);
    assert!(stderr.contains("unknown engine `db2`"), "{stderr}");
    assert!(stderr.contains("use one of: postgres, mysql"), "{stderr}");
    assert!(stderr.contains("sqlite"), "{stderr}");
}

#[test]
fn a_bad_isolation_level_is_a_usage_error() {
    let output = isolint()
        .args(["check", ".", "--isolation", "eventual"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr_of(&output).contains("unknown isolation level `eventual`"));
}

#[test]
fn a_level_the_engine_lacks_is_a_usage_error_listing_its_levels() {
    let output = isolint()
        .args([
            "check",
            ".",
            "--engine",
            "oracle",
            "--isolation",
            "repeatable read",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains("Oracle has no REPEATABLE READ isolation level"),
        "{stderr}"
    );
    assert!(stderr.contains("read-committed, serializable"), "{stderr}");
}

#[test]
fn an_unknown_rule_is_a_usage_error() {
    let output = isolint()
        .args(["check", ".", "--ignore", "lost-updates"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr_of(&output).contains("unknown rule `lost-updates`"));
}

#[test]
fn ignore_turns_a_rule_off() {
    isolint()
        .args(["check", ".", "--ignore", "lost-update"])
        .current_dir(fixture("bank_read_modify_write"))
        .assert()
        .code(0);
}

#[test]
fn rules_lists_every_rule_and_explain_prints_its_page() {
    let output = isolint().arg("rules").output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    for id in [
        "lost-update",
        "write-skew",
        "phantom-write-skew",
        "dangerous-structure",
        "read-skew",
        "dirty-read",
        "non-repeatable-read",
        "phantom-read",
    ] {
        assert!(stdout.contains(id), "{id} missing from:\n{stdout}");
    }
    let output = isolint().args(["explain", "write-skew"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.starts_with("# write-skew"), "{stdout}");
    assert!(stdout.contains("## Use instead"));
    isolint().args(["explain", "nope"]).assert().code(2);
}

#[test]
fn explain_engines_prints_the_readmes_engine_table() {
    let output = isolint().args(["explain", "--engines"]).output().unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let readme =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .unwrap();
    assert!(readme.contains(stdout.as_ref()), "{stdout}");
    for engine in ["Spanner", "TiDB", "YugabyteDB", "CockroachDB"] {
        assert!(stdout.contains(&format!("| {engine} |")), "{engine}");
    }
    // A rule or the table, not both, and one of them.
    isolint()
        .args(["explain", "write-skew", "--engines"])
        .assert()
        .code(2);
    isolint().arg("explain").assert().code(2);
}

#[test]
fn engine_settings_in_the_config_change_the_level_and_are_checked() {
    let directory = tempfile::tempdir().unwrap();
    std::fs::create_dir(directory.path().join("migrations")).unwrap();
    std::fs::write(
        directory.path().join("migrations/1.sql"),
        "CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL);\n",
    )
    .unwrap();
    std::fs::write(
        directory.path().join("withdraw.sql"),
        "BEGIN;\nSELECT balance FROM accounts WHERE id = ?;\n\
         UPDATE accounts SET balance = ? WHERE id = ?;\nCOMMIT;\n",
    )
    .unwrap();
    let config = directory.path().join("isolint.toml");
    // TiDB's default pessimistic mode writes the latest row: a lost update.
    std::fs::write(&config, "engine = \"tidb\"\n").unwrap();
    let check = |arguments: &[&str]| {
        isolint()
            .args(arguments)
            .current_dir(directory.path())
            .output()
            .unwrap()
    };
    isolint()
        .args(["check", "."])
        .current_dir(directory.path())
        .assert()
        .code(1);
    // The optimistic mode aborts the second writer at COMMIT.
    std::fs::write(
        &config,
        "[engine]\nname = \"tidb\"\nmode = \"optimistic\"\n",
    )
    .unwrap();
    let output = check(&["check", "."]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout_of(&output));
    assert!(
        stdout_of(&output).starts_with(
            "isolint: engine TiDB (tidb_txn_mode = 'optimistic'); transactions that declare no \
             level run at REPEATABLE READ (engine default)\n\
             isolint: READ COMMITTED on TiDB with tidb_txn_mode = 'optimistic' runs as REPEATABLE \
             READ\n"
        ),
        "{}",
        stdout_of(&output)
    );
    // A level the engine rejects names the setting that makes it accept it.
    let output = check(&["check", "--isolation", "serializable", "."]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains("serializable too with") && stderr.contains("skip_isolation_level_check"),
        "{stderr}"
    );
    // A value the setting does not take names the file, the line and the values it takes.
    std::fs::write(&config, "[engine]\nname = \"tidb\"\nmode = \"eager\"\n").unwrap();
    let output = check(&["check", "."]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = stderr_of(&output);
    assert!(stderr.contains("isolint.toml:3:8"), "{stderr}");
    assert!(
        stderr.contains("takes: pessimistic, optimistic"),
        "{stderr}"
    );
    // A setting of another engine is an unknown key listing this engine's.
    std::fs::write(
        &config,
        "[engine]\nname = \"cockroachdb\"\nmode = \"optimistic\"\n",
    )
    .unwrap();
    let output = check(&["check", "."]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains("valid keys: name, read_committed_enabled, repeatable_read_enabled"),
        "{stderr}"
    );
}

#[test]
fn json_output_follows_the_contract() {
    let output = isolint()
        .args(["check", ".", "--format", "json"])
        .current_dir(fixture("doctors_on_call"))
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(json["version"], 2);
    assert_eq!(json["engine"], "postgres");
    let finding = &json["findings"][0];
    assert_eq!(finding["rule"], "write-skew");
    assert_eq!(finding["severity"], "error");
    assert_eq!(finding["transactions"][0]["name"], "leave_shift");
    assert_eq!(finding["transactions"][0]["isolation"], "read-committed");
    assert_eq!(finding["location"]["file"], "txns/leave_shift.sql");
    assert!(finding["witness"].as_array().unwrap().len() >= 4);
    assert_eq!(finding["fingerprint"].as_str().unwrap().len(), 16);
}

/// The JSON lists each mechanical fix's text edits; applying the lock's edits to the files
/// removes the finding.
#[test]
fn json_fixes_carry_edits_that_fix_the_finding() {
    let project = tempfile::tempdir().unwrap();
    let fixture = fixture("bank_read_modify_write");
    for entry in walkdir::WalkDir::new(&fixture) {
        let entry = entry.unwrap();
        let target = project
            .path()
            .join(entry.path().strip_prefix(&fixture).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
    let check = || {
        let output = isolint()
            .args(["check", ".", "--format", "json"])
            .current_dir(project.path())
            .output()
            .unwrap();
        serde_json::from_slice::<serde_json::Value>(&output.stdout).expect("JSON")
    };
    let before = check();
    let finding = &before["findings"][0];
    assert_eq!(finding["rule"], "lost-update");
    let lock = finding["fixes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|fix| fix["title"].as_str().unwrap().contains("FOR UPDATE"))
        .expect("a lock fix");
    let edits = lock["edits"].as_array().unwrap();
    assert_eq!(edits.len(), 1, "{lock}");
    let edit = &edits[0];
    assert_eq!(edit["file"], "txns/withdraw.sql");
    assert_eq!(edit["line"], edit["end_line"]);
    assert_eq!(edit["text"], " FOR UPDATE");
    let path = project.path().join("txns/withdraw.sql");
    let text = std::fs::read_to_string(&path).unwrap();
    let line_start: usize = text
        .split_inclusive('\n')
        .take(edit["line"].as_u64().unwrap() as usize - 1)
        .map(str::len)
        .sum();
    let at = line_start + edit["column"].as_u64().unwrap() as usize - 1;
    let fixed = format!(
        "{}{}{}",
        &text[..at],
        edit["text"].as_str().unwrap(),
        &text[at..]
    );
    std::fs::write(&path, &fixed).unwrap();
    assert!(fixed.contains("FOR UPDATE;"), "{fixed}");
    let after = check();
    assert_eq!(after["findings"].as_array().unwrap().len(), 0, "{after}");
}

#[test]
fn output_is_byte_identical_across_runs() {
    let run = || {
        isolint()
            .args(["check", ".", "--format", "json"])
            .current_dir(fixture("smallbank"))
            .output()
            .unwrap()
            .stdout
    };
    assert_eq!(run(), run());
}

fn stdout_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).to_string()
}

/// A copy of the demo project to write baselines into.
fn demo_copy() -> tempfile::TempDir {
    let directory = tempfile::tempdir().unwrap();
    let demo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("demo");
    for entry in walkdir::WalkDir::new(&demo) {
        let entry = entry.unwrap();
        let target = directory
            .path()
            .join(entry.path().strip_prefix(&demo).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
    directory
}

#[test]
fn a_baseline_hides_known_findings_and_shows_new_ones() {
    let project = demo_copy();
    let root = project.path();
    let written = isolint()
        .args([
            "check",
            ".",
            "--write-baseline",
            "baseline.json",
            "--format",
            "concise",
        ])
        .current_dir(root)
        .output()
        .unwrap();
    assert_eq!(written.status.code(), Some(1), "{}", stderr_of(&written));
    // The demo's three statements at fault.
    let known = stdout_of(&written).lines().count();
    assert_eq!(known, 3, "{}", stdout_of(&written));
    assert!(stderr_of(&written).contains(&format!("recorded {known} finding(s)")));

    // Reformatting and moving the statements keeps the findings known.
    let rooms = root.join("app/queries/rooms.sql");
    let text = std::fs::read_to_string(&rooms).unwrap();
    std::fs::write(
        &rooms,
        format!("\n\n-- moved down\n{}", text.replace(' ', "  ")),
    )
    .unwrap();
    isolint()
        .args(["check", ".", "--baseline", "baseline.json"])
        .current_dir(root)
        .assert()
        .code(0);

    // So does moving a transaction to another file.
    let (book_room, cancel) = text.split_at(text.find("-- name: CancelBooking").unwrap());
    std::fs::write(&rooms, cancel).unwrap();
    std::fs::write(root.join("app/queries/booking.sql"), book_room).unwrap();
    isolint()
        .args(["check", ".", "--baseline", "baseline.json"])
        .current_dir(root)
        .assert()
        .code(0);

    // A new transaction with a lost update is reported.
    std::fs::write(
        root.join("app/queries/new.sql"),
        "-- name: Rename\nBEGIN;\nSELECT name FROM doctors WHERE id = $1;\nUPDATE doctors SET name = $2 WHERE id = $1;\nCOMMIT;\n",
    )
    .unwrap();
    let output = isolint()
        .args([
            "check",
            ".",
            "--baseline",
            "baseline.json",
            "--format",
            "concise",
        ])
        .current_dir(root)
        .output()
        .unwrap();
    let stdout = stdout_of(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("app/queries/new.sql"), "{stdout}");
    assert!(!stdout.contains("rooms.sql"), "{stdout}");
}

#[test]
fn exit_zero_and_fail_on_set_the_exit_code() {
    isolint()
        .args(["check", ".", "--exit-zero"])
        .current_dir(fixture("bank_read_modify_write"))
        .assert()
        .code(0);
    isolint()
        .args([
            "check",
            ".",
            "--select",
            "read-skew",
            "--fail-on",
            "warning",
        ])
        .current_dir(fixture("read_skew_transfer"))
        .assert()
        .code(1);
}

#[test]
fn named_files_are_checked_with_the_project_as_context() {
    let demo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("demo");
    let output = isolint()
        .args(["check", "app/queries/rooms.sql", "--format", "concise"])
        .current_dir(&demo)
        .output()
        .unwrap();
    let stdout = stdout_of(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(!stdout.is_empty());
    for line in stdout.lines() {
        assert!(line.starts_with("app/queries/rooms.sql:"), "{line}");
    }
    // Unsaved text on stdin replaces the file of that name, with the project still as context.
    let fixed = "-- name: BookRoom\nBEGIN ISOLATION LEVEL SERIALIZABLE;\nSELECT 1 FROM bookings WHERE room_id = $1 AND during && $2;\nINSERT INTO bookings (room_id, during) VALUES ($1, $2);\nCOMMIT;\n";
    let output = isolint()
        .args([
            "check",
            "-",
            "--stdin-filename",
            "app/queries/rooms.sql",
            "--format",
            "concise",
        ])
        .current_dir(&demo)
        .write_stdin(fixed)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stdout_of(&output));
    assert_eq!(stdout_of(&output), "");
}

#[test]
fn output_goes_to_a_file_and_statistics_to_stderr() {
    let directory = tempfile::tempdir().unwrap();
    let report = directory.path().join("report.json");
    let output = isolint()
        .args(["check", ".", "--format", "json", "--statistics", "--output"])
        .arg(&report)
        .current_dir(fixture("bank_read_modify_write"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout_of(&output), "");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let findings = json["findings"].as_array().unwrap().len();
    let stderr = stderr_of(&output);
    assert!(stderr.contains("lost-update"), "{stderr}");
    assert!(
        stderr.contains(&format!("{findings:>6}  total")),
        "{stderr}"
    );
}

/// A temporary project holding the accounts table and the given files.
fn accounts_project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let directory = tempfile::tempdir().unwrap();
    let root = directory.path();
    std::fs::create_dir_all(root.join("migrations")).unwrap();
    std::fs::write(
        root.join("migrations/001.sql"),
        "CREATE TABLE accounts (id bigint PRIMARY KEY, balance numeric NOT NULL);\n",
    )
    .unwrap();
    for (path, text) in files {
        std::fs::write(root.join(path), text).unwrap();
    }
    directory
}

#[test]
fn an_ignore_that_silences_nothing_is_reported() {
    // The ignore of lost-update is used; the ignore of write-skew silences nothing, and
    // `write-skwe` is no rule.
    let directory = accounts_project(&[(
        "withdraw.sql",
        "-- name: withdraw\n-- isolint: ignore lost-update\nBEGIN;\nSELECT balance FROM accounts WHERE id = $1;\nUPDATE accounts SET balance = $2 WHERE id = $1;\nCOMMIT;\n\n-- name: deposit\n-- isolint: ignore write-skew, write-skwe\nUPDATE accounts SET balance = balance + $2 WHERE id = $1;\n",
    )]);
    let root = directory.path();
    let output = isolint()
        .args(["check", ".", "--format", "concise"])
        .current_dir(root)
        .output()
        .unwrap();
    let stdout = stdout_of(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(!stdout.contains("lost-update"), "{stdout}");
    let unused: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("unused-ignore"))
        .collect();
    assert_eq!(unused.len(), 2, "{stdout}");
    assert!(unused[0].starts_with("withdraw.sql:9:1:"), "{stdout}");
    assert!(
        unused.iter().any(|l| l.contains("`write-skew`")),
        "{stdout}"
    );
    assert!(
        unused
            .iter()
            .any(|l| l.contains("`write-skwe` is not a rule")),
        "{stdout}"
    );
}

#[test]
fn the_config_file_sets_engine_and_rules_and_its_mistakes_are_usage_errors() {
    let project = demo_copy();
    let root = project.path();
    std::fs::write(
        root.join("isolint.toml"),
        "engine = \"postgres\"\nexclude = [\"app/queries/rooms.sql\"]\n[rules]\nlost-update = \"warning\"\n",
    )
    .unwrap();
    let output = isolint()
        .args(["check", "--format", "json"])
        .current_dir(root.join("app"))
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    // Run from a subdirectory, the project is the config's directory: schema included.
    assert!(json["summary"]["files"].as_u64().unwrap() >= 4, "{json}");
    let findings = json["findings"].as_array().unwrap();
    assert!(!findings.is_empty());
    for finding in findings {
        let file = finding["location"]["file"].as_str().unwrap();
        assert!(!file.ends_with("rooms.sql"), "excluded: {file}");
        if finding["rule"] == "lost-update" {
            assert_eq!(finding["severity"], "warning");
        }
    }

    std::fs::write(
        root.join("isolint.toml"),
        "engine = \"postgres\"\nexlude = []\n",
    )
    .unwrap();
    let output = isolint()
        .args(["check"])
        .current_dir(root)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = stderr_of(&output);
    assert!(stderr.contains("isolint.toml:2:1"), "{stderr}");
    assert!(stderr.contains("did you mean `exclude`?"), "{stderr}");
}

#[test]
fn a_named_file_reports_findings_whose_other_side_is_in_an_unchanged_file() {
    let directory = accounts_project(&[
        (
            "withdraw.sql",
            "-- name: withdraw\nBEGIN;\nSELECT balance FROM accounts WHERE id = $1;\nUPDATE accounts SET balance = $2 WHERE id = $1;\nCOMMIT;\n",
        ),
        (
            "deposit.sql",
            "-- name: deposit\nUPDATE accounts SET balance = balance + $2 WHERE id = $1;\n",
        ),
        (
            "audit.sql",
            "-- name: audit\nSELECT id FROM accounts WHERE balance < 0;\n",
        ),
    ]);
    let root = directory.path();
    // Only deposit.sql changed: the lost update at withdraw's statement (in an unchanged
    // file) is reported, because deposit's write is one of its partners; audit's read of
    // accounts is in no finding.
    let output = isolint()
        .args(["check", "deposit.sql", "--format", "json"])
        .current_dir(root)
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let names = |list: &serde_json::Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect()
    };
    let findings: Vec<(String, Vec<String>, Vec<String>)> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|finding| {
            (
                finding["rule"].as_str().unwrap().to_string(),
                names(&finding["transactions"]),
                names(&finding["partners"]),
            )
        })
        .collect();
    assert_eq!(
        findings,
        vec![(
            "lost-update".to_string(),
            vec!["withdraw".to_string()],
            vec!["deposit".to_string()]
        )],
        "{json}"
    );
    assert_eq!(json["findings"][0]["partners"][0]["file"], "deposit.sql");
    assert_eq!(json["findings"][0]["location"]["file"], "withdraw.sql");
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn inside_github_actions_the_default_format_is_workflow_commands() {
    let output = isolint()
        .args(["check", "."])
        .env("GITHUB_ACTIONS", "true")
        .current_dir(fixture("bank_read_modify_write"))
        .output()
        .unwrap();
    let stdout = stdout_of(&output);
    assert!(
        stdout.starts_with("::error file=txns/withdraw.sql,line="),
        "{stdout}"
    );
    let output = isolint()
        .args(["check", ".", "--format", "concise"])
        .env("GITHUB_ACTIONS", "true")
        .current_dir(fixture("bank_read_modify_write"))
        .output()
        .unwrap();
    assert!(stdout_of(&output).starts_with("txns/withdraw.sql:"));
}

#[test]
fn an_unknown_transaction_step_is_a_config_error_with_a_suggestion() {
    let directory = tempfile::tempdir().unwrap();
    let root = directory.path();
    std::fs::write(
        root.join("queries.sql"),
        "-- name: GetAccount :one\nSELECT balance FROM accounts WHERE id = @id;\n",
    )
    .unwrap();
    std::fs::write(
        root.join("isolint.toml"),
        "[[transaction]]\nname = \"withdraw\"\nsteps = [\"GetAcount\"]\n",
    )
    .unwrap();
    let output = isolint()
        .args(["check", "--no-color"])
        .current_dir(root)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains("step `GetAcount` that names no query"),
        "{stderr}"
    );
    assert!(stderr.contains("isolint.toml:3:10"), "{stderr}");
    assert!(stderr.contains("did you mean `GetAccount`?"), "{stderr}");
}

#[test]
fn explain_inputs_gives_every_files_role_and_reason() {
    let output = isolint()
        .args(["check", "--explain-inputs", "."])
        .current_dir(fixture("discovery_flyway_liquibase_sqlc"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let lines: Vec<String> = stdout_of(&output)
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        lines,
        [
            "db/changelog/wallets.sql schema: a Liquibase formatted SQL changelog (`--liquibase formatted sql`)",
            "db/migration/V1__seats.sql schema: path has a `migration` component",
            "db/migration/V1_1__unique_seat.sql schema: path has a `migration` component",
            "db/migration/R__seat_counts.sql schema: path has a `migration` component",
            "sql/ddl/tickets.sql schema: listed under sqlc `schema:`",
            "app/book_seat.sql transactions: default (no schema directory, migration name or sqlc.yaml path)",
            "app/withdraw.sql transactions: default (no schema directory, migration name or sqlc.yaml path)",
            "sql/queries/tickets.sql transactions: listed under sqlc `queries:`",
            "db/migration/U1_1__unique_seat.sql skipped: down migration",
        ]
    );
}

#[test]
fn a_transaction_level_the_engine_lacks_is_a_usage_error() {
    let directory = tempfile::tempdir().unwrap();
    let root = directory.path();
    std::fs::write(
        root.join("queries.sql"),
        "-- name: GetAccount\nSELECT balance FROM accounts WHERE id = :id;\n",
    )
    .unwrap();
    std::fs::write(
        root.join("isolint.toml"),
        "engine = \"oracle\"\n[[transaction]]\nname = \"t\"\nisolation = \"repeatable-read\"\nsteps = [\"GetAccount\"]\n",
    )
    .unwrap();
    let output = isolint()
        .args(["check", "--no-color"])
        .current_dir(root)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr_of(&output).contains("REPEATABLE READ"),
        "{}",
        stderr_of(&output)
    );
}

#[test]
fn the_readmes_upgrade_lines_are_what_check_prints() {
    let project = accounts_project(&[]);
    let output = isolint()
        .args(["check", "--engine", "cockroachdb", "--no-color"])
        .current_dir(project.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let stdout = stdout_of(&output);
    let header: String = stdout
        .lines()
        .take_while(|line| !line.is_empty())
        .map(|line| format!("{line}\n"))
        .collect();
    assert_eq!(header.lines().count(), 2, "{stdout}");
    let readme =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .unwrap();
    assert!(
        readme.contains(&format!("```text\n{header}```")),
        "README.md's example of the upgrade lines should read:\n{header}"
    );
}

/// A TiDB project whose withdraw loses updates at repeatable read, with `migration` as its
/// second migration and `config` as its `isolint.toml`.
fn tidb_project(migration: &str, config: &str) -> tempfile::TempDir {
    accounts_project(&[
        ("migrations/002.sql", migration),
        ("isolint.toml", config),
        (
            "withdraw.sql",
            "BEGIN;\nSELECT balance FROM accounts WHERE id = ?;\n\
             UPDATE accounts SET balance = ? WHERE id = ?;\nCOMMIT;\n",
        ),
    ])
}

#[test]
fn a_level_the_migrations_settings_make_the_engine_accept_is_checked_at_it() {
    let config = "[engine]\nname = \"tidb\"\n";
    let accepting = tidb_project("SET GLOBAL tidb_skip_isolation_level_check = 1;\n", config);
    // Accepted, SERIALIZABLE is snapshot isolation: no lost update.
    let output = isolint()
        .args(["check", "--isolation", "serializable", "--no-color"])
        .current_dir(accepting.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    // In the file as well as on the command line.
    std::fs::write(
        accepting.path().join("isolint.toml"),
        format!("isolation = \"serializable\"\n{config}"),
    )
    .unwrap();
    let output = isolint()
        .args(["check", "--no-color"])
        .current_dir(accepting.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    // A session's SET changes nothing on the server: the level is rejected, and the error says
    // how the server would accept it.
    let session = tidb_project("SET tidb_skip_isolation_level_check = 1;\n", config);
    let output = isolint()
        .args(["check", "--isolation", "serializable", "--no-color"])
        .current_dir(session.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains("TiDB has no SERIALIZABLE isolation level"),
        "{stderr}"
    );
    assert!(
        stderr.contains("SET GLOBAL tidb_skip_isolation_level_check = true"),
        "{stderr}"
    );
}

#[test]
fn a_migration_setting_that_differs_from_the_config_is_a_warning_in_every_format() {
    let project = tidb_project(
        "SET GLOBAL tidb_txn_mode = 'optimistic';\n",
        "[engine]\nname = \"tidb\"\nmode = \"Pessimistic\"\n",
    );
    for format in ["human", "concise", "json", "sarif", "github", "junit"] {
        let output = isolint()
            .args(["check", "--no-color", "--format", format])
            .current_dir(project.path())
            .output()
            .unwrap();
        // The migration's optimistic mode is used: no lost update.
        assert_eq!(
            output.status.code(),
            Some(0),
            "{format}: {}",
            stderr_of(&output)
        );
        let stdout = stdout_of(&output);
        // Only the warning names isolint.toml and the file's value (lower case, as every value
        // is read); the human format wraps it.
        for said in ["isolint.toml", "pessimistic", "migrations/002.sql"] {
            assert!(
                stdout.contains(said),
                "{format}: {said} missing from {stdout}"
            );
        }
    }
}

#[test]
fn capture_of_a_missing_log_is_an_error_naming_it() {
    let output = tempfile::tempdir().expect("directory");
    let result = isolint()
        .args(["capture", "no-such.log", "-o"])
        .arg(output.path().join("captured"))
        .output()
        .unwrap();
    assert_eq!(result.status.code(), Some(2));
    let stderr = stderr_of(&result);
    assert!(stderr.contains("cannot read no-such.log"), "{stderr}");
    assert!(stderr.contains("readable"), "{stderr}");
    assert!(!output.path().join("captured").exists());
}

#[test]
fn capture_of_a_bad_log_line_prefix_is_an_error_saying_why() {
    let output = tempfile::tempdir().expect("directory");
    let log = output.path().join("postgresql.log");
    std::fs::write(&log, "").unwrap();
    let result = isolint()
        .arg("capture")
        .arg(&log)
        .args(["-o", "captured", "--log-line-prefix", "%m %z "])
        .current_dir(output.path())
        .output()
        .unwrap();
    assert_eq!(result.status.code(), Some(2));
    let stderr = stderr_of(&result);
    assert!(stderr.contains("`%z` is not a"), "{stderr}");
}

#[test]
fn capture_of_a_log_without_statements_says_what_to_turn_on() {
    let output = tempfile::tempdir().expect("directory");
    std::fs::write(
        output.path().join("postgresql.log"),
        "2026-12-06 16:36:11.706 UTC [12350] LOG:  database system is ready to accept connections\n",
    )
    .unwrap();
    let result = isolint()
        .args(["capture", "postgresql.log", "-o", "captured"])
        .current_dir(output.path())
        .output()
        .unwrap();
    assert_eq!(result.status.code(), Some(0));
    let stderr = stderr_of(&result);
    assert!(stderr.contains("log_statement = 'all'"), "{stderr}");
}

/// `[parameters]` that name no query, a routine, or a parameter the query does not take are
/// warnings naming the config's entry: their values would change nothing.
#[test]
fn parameter_values_that_bind_nothing_are_warnings() {
    let directory = tempfile::tempdir().unwrap();
    std::fs::create_dir(directory.path().join("migrations")).unwrap();
    std::fs::write(
        directory.path().join("migrations/1.sql"),
        "CREATE TABLE jobs (id int PRIMARY KEY, state text NOT NULL);\n\
         CREATE FUNCTION retry(job int) RETURNS void LANGUAGE sql AS \
         $$ UPDATE jobs SET state = 'todo' WHERE id = job $$;\n",
    )
    .unwrap();
    std::fs::write(
        directory.path().join("queries.sql"),
        "-- name: DeleteIn :execrows\nDELETE FROM jobs WHERE state = ANY(@states::text[]);\n",
    )
    .unwrap();
    std::fs::write(
        directory.path().join("isolint.toml"),
        "engine = \"postgres\"\n\
         [parameters.DeleteIn]\nstates = [\"done\"]\nkinds = [\"email\"]\n\
         [parameters.retry]\njob = 1\n\
         [parameters.Missing]\nx = 1\n",
    )
    .unwrap();
    let output = isolint()
        .args(["check", "."])
        .current_dir(directory.path())
        .output()
        .unwrap();
    let all = format!("{}{}", stdout_of(&output), stderr_of(&output));
    assert!(
        all.contains("`[parameters.DeleteIn]` names `kinds`, which `DeleteIn` does not take"),
        "{all}"
    );
    assert!(all.contains("`[parameters.retry]` names no query"), "{all}");
    assert!(
        all.contains("`[parameters.Missing]` names no query"),
        "{all}"
    );
    assert!(!all.contains("names `states`"), "{all}");
}

/// Every README example of `isolint check --format concise` on a fixture prints what the
/// README shows: documentation with real output.
#[test]
fn the_readmes_concise_examples_are_what_isolint_prints() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let lines: Vec<&str> = readme.lines().collect();
    let mut checked = 0;
    for (at, line) in lines.iter().enumerate() {
        if !line.contains("(`isolint check --format concise`)") {
            continue;
        }
        let fixture = lines[at.saturating_sub(6)..=at]
            .iter()
            .rev()
            .find_map(|line| {
                let start = line.rfind("`fixtures/")? + "`fixtures/".len();
                let end = line[start..].find('`')?;
                Some(line[start..start + end].to_string())
            })
            .unwrap_or_else(|| panic!("README.md:{}: no fixture named before it", at + 1));
        let open = (at..lines.len())
            .find(|index| lines[*index].trim() == "```text")
            .unwrap_or_else(|| panic!("README.md:{}: no ```text block after it", at + 1));
        let shown: Vec<&str> = lines[open + 1..]
            .iter()
            .take_while(|line| line.trim() != "```")
            .map(|line| line.trim())
            .collect();
        let output = isolint()
            .args(["check", "--format", "concise"])
            .current_dir(root.join("fixtures").join(&fixture))
            .output()
            .unwrap();
        let printed = stdout_of(&output);
        let printed: Vec<&str> = printed.lines().map(str::trim).collect();
        assert_eq!(
            printed,
            shown,
            "README.md:{}: `fixtures/{fixture}` prints otherwise",
            at + 1
        );
        checked += 1;
    }
    assert!(checked >= 3, "only {checked} README examples found");
}
