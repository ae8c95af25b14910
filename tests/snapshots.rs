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
        .env_remove("GITHUB_ACTIONS")
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

#[test]
fn smallbank_sarif() {
    insta::assert_snapshot!(render(
        "smallbank",
        &["--isolation", "repeatable-read", "--format", "sarif"]
    ));
}

#[test]
fn doctors_on_call_github() {
    insta::assert_snapshot!(render("doctors_on_call", &["--format", "github"]));
}

#[test]
fn doctors_on_call_gitlab() {
    insta::assert_snapshot!(render("doctors_on_call", &["--format", "gitlab"]));
}

#[test]
fn doctors_on_call_junit() {
    insta::assert_snapshot!(render("doctors_on_call", &["--format", "junit"]));
}

#[test]
fn parse_errors_concise() {
    insta::assert_snapshot!(render(
        "mysql_mixed_engine_syntax_parse_error",
        &["--engine", "mysql", "--format", "concise"]
    ));
}

/// The SARIF report is valid against the SARIF 2.1.0 schema (OASIS, shipped in `tests/`).
#[test]
fn sarif_output_is_valid_sarif_2_1_0() {
    // The official schema's pattern for `run.language` has a stray `]` that strict regular
    // expressions reject; it is corrected here, the shipped file stays as published.
    let text = include_str!("sarif-schema-2.1.0.json").replace(
        "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$",
        "^[a-zA-Z]{2}(-[a-zA-Z]{2})?$",
    );
    let schema: serde_json::Value = serde_json::from_str(&text).expect("the schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    for (case, arguments) in [
        ("smallbank", &["--isolation", "repeatable-read"][..]),
        (
            "mysql_mixed_engine_syntax_parse_error",
            &["--engine", "mysql"],
        ),
        ("bank_atomic_update", &[]),
    ] {
        let mut arguments = arguments.to_vec();
        arguments.extend(["--format", "sarif"]);
        let report: serde_json::Value =
            serde_json::from_str(&render(case, &arguments)).expect("SARIF is JSON");
        let errors: Vec<String> = validator
            .iter_errors(&report)
            .map(|error| format!("{} at {}", error, error.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{case}: {}", errors.join("\n"));
        assert!(
            report["runs"][0]["tool"]["driver"]["rules"]
                .as_array()
                .unwrap()
                .len()
                >= 8
        );
    }
    // The validator does reject a broken report.
    let mut broken: serde_json::Value =
        serde_json::from_str(&render("smallbank", &["--format", "sarif"])).unwrap();
    broken["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(!validator.is_valid(&broken));
}
