//! Snapshots of the full rendered output (human and JSON) for a few fixtures. Review changes
//! with `cargo insta review`; never edit a snapshot by hand.

use std::path::PathBuf;

use assert_cmd::Command;

fn render(case: &str, arguments: &[&str]) -> String {
    let directory = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(case);
    let output = Command::cargo_bin("isolint")
        .expect("binary")
        .arg("check")
        .arg(".")
        .args(arguments)
        .current_dir(directory)
        .env("NO_COLOR", "1")
        .output()
        .expect("runs");
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

#[test]
fn doctors_on_call_human() {
    insta::assert_snapshot!(render(
        "doctors_on_call",
        &["--isolation", "repeatable-read"]
    ));
}

#[test]
fn smallbank_human() {
    insta::assert_snapshot!(render("smallbank", &["--isolation", "repeatable-read"]));
}

#[test]
fn smallbank_json() {
    insta::assert_snapshot!(render(
        "smallbank",
        &["--isolation", "repeatable-read", "--format", "json"]
    ));
}

#[test]
fn booking_phantom_json() {
    insta::assert_snapshot!(render("booking_no_constraint", &["--format", "json"]));
}

#[test]
fn parse_errors_human() {
    insta::assert_snapshot!(render(
        "mysql_mixed_engine_syntax_parse_error",
        &["--engine", "mysql"]
    ));
}

#[test]
fn cross_file_write_skew_human() {
    insta::assert_snapshot!(render("pinned_literals_same", &[]));
}
