//! The command line: exit codes, error messages, and the rules commands.

use assert_cmd::Command;
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

fn isolint() -> Command {
    Command::cargo_bin("isolint").expect("binary")
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
fn json_output_follows_the_contract() {
    let output = isolint()
        .args(["check", ".", "--format", "json"])
        .current_dir(fixture("doctors_on_call"))
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(json["version"], 1);
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

#[test]
fn garbage_input_is_diagnosed_not_fatal() {
    let directory = tempfile::tempdir().unwrap();
    std::fs::write(
        directory.path().join("binary.sql"),
        [0xff, 0x00, 0xfe, b';', 0x80],
    )
    .unwrap();
    std::fs::write(directory.path().join("broken.sql"), "SELECT 'unterminated").unwrap();
    std::fs::write(
        directory.path().join("nested.sql"),
        format!("SELECT {}1{};", "(".repeat(5000), ")".repeat(5000)),
    )
    .unwrap();
    let chain = vec!["a = 1"; 4000].join(" AND ");
    std::fs::write(
        directory.path().join("chain.sql"),
        format!("UPDATE t SET a = 1 WHERE {chain};"),
    )
    .unwrap();
    let long = vec!["1"; 100_000].join(" + ");
    std::fs::write(directory.path().join("long.sql"), format!("SELECT {long};")).unwrap();
    std::fs::write(directory.path().join("escape.sql"), "SELECT 'abc\\").unwrap();
    for engine in ["postgres", "mysql", "sqlserver"] {
        let output = isolint()
            .args(["check", ".", "--format", "json", "--engine", engine])
            .current_dir(directory.path())
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
        let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert!(
            json["summary"]["parse_errors"].as_u64().unwrap() >= 3,
            "{json}"
        );
    }
}
