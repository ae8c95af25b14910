//! `isolint report` and `isolint graph`: snapshots of the Markdown and the SVG on small
//! fixtures, and the isolation advisor's answers where the right one is known.

use std::path::PathBuf;

use assert_cmd::Command;
use isolint::advisor::{Advice, advise};
use isolint::report::review::fixes_without_level_change;
use isolint::semantics::{Engine, Level};
use isolint::{CheckOptions, CheckResult, check_sources, discover};

fn fixture(case: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(case)
}

/// Runs `isolint ARGUMENTS .` in the fixture and returns its standard output.
fn run(case: &str, arguments: &[&str]) -> String {
    let output = Command::cargo_bin("isolint")
        .expect("binary")
        .args(arguments)
        .arg(".")
        .current_dir(fixture(case))
        .env_remove("GITHUB_ACTIONS")
        .output()
        .expect("runs");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

#[test]
fn doctors_on_call_markdown() {
    insta::assert_snapshot!(run("doctors_on_call", &["report", "--format", "markdown"]));
}

#[test]
fn smallbank_svg() {
    insta::assert_snapshot!(run(
        "smallbank",
        &["graph", "--format", "svg", "--isolation", "repeatable-read"]
    ));
}

#[test]
fn smallbank_dot() {
    insta::assert_snapshot!(run(
        "smallbank",
        &["graph", "--isolation", "repeatable-read"]
    ));
}

#[test]
fn the_html_report_is_self_contained() {
    let html = run("smallbank", &["report", "--isolation", "repeatable-read"]);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    for external in ["<link", "src=\"http", "href=\"http", "url(http", "@import"] {
        assert!(!html.contains(external), "the report loads `{external}`");
    }
}

#[test]
fn the_report_is_the_same_every_run() {
    let first = run("smallbank", &["report", "--format", "markdown"]);
    let second = run("smallbank", &["report", "--format", "markdown"]);
    assert_eq!(first, second);
}

#[test]
fn report_writes_the_output_file() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let path = directory.path().join("review.html");
    let printed = run(
        "doctors_on_call",
        &["report", "-o", path.to_str().expect("UTF-8 path")],
    );
    assert!(printed.is_empty());
    let written = std::fs::read_to_string(&path).expect("report written");
    assert!(written.contains("leave_shift"));
}

fn check(case: &str, engine: Engine, isolation: Option<Level>) -> (CheckResult, CheckOptions) {
    let directory = fixture(case);
    let discovered =
        discover::discover(std::slice::from_ref(&directory), &directory).expect("fixture");
    let options = CheckOptions {
        isolation,
        ..CheckOptions::new(engine)
    };
    (check_sources(discovered.files, &options), options)
}

fn advice_for(result: &CheckResult, options: &CheckOptions, program: &str) -> Advice {
    let index = result
        .programs
        .iter()
        .position(|candidate| candidate.name == program)
        .expect("program");
    advise(result, options).advice.remove(index)
}

#[test]
fn doctors_on_call_needs_serializable_or_for_update_on_postgres() {
    for level in [Level::ReadCommitted, Level::RepeatableRead] {
        let (result, options) = check("doctors_on_call", Engine::Postgres, Some(level));
        let advice = advice_for(&result, &options, "leave_shift");
        assert_eq!(advice.findings, 1, "at {level}");
        assert_eq!(advice.level, Some(Level::Serializable), "at {level}");
        let keep_level = fixes_without_level_change(&result, advice.program);
        assert!(
            keep_level.iter().any(|fix| fix.contains("FOR UPDATE")),
            "{keep_level:?}"
        );
    }
}

#[test]
fn bank_read_modify_write_needs_repeatable_read_on_postgres() {
    let (result, options) = check("bank_read_modify_write", Engine::Postgres, None);
    let advice = advice_for(&result, &options, "withdraw");
    assert!(advice.findings > 0);
    assert_eq!(advice.level, Some(Level::RepeatableRead));
}

#[test]
fn bank_read_modify_write_needs_serializable_on_mysql() {
    let (result, options) = check("bank_read_modify_write", Engine::Mysql, None);
    let advice = advice_for(&result, &options, "withdraw");
    assert_eq!(result.programs[advice.program].level, Level::RepeatableRead);
    assert!(advice.findings > 0);
    assert_eq!(advice.level, Some(Level::Serializable));
}

#[test]
fn what_if_counts_follow_the_engine_table_on_the_bank() {
    let (result, options) = check("bank_read_modify_write", Engine::Postgres, None);
    let advisor = advise(&result, &options);
    let count = |engine: Engine, level: Level| {
        advisor
            .what_if
            .iter()
            .find(|table| table.engine == engine)
            .and_then(|table| table.counts.iter().find(|(at, _)| *at == level))
            .map(|(_, count)| *count)
    };
    assert!(count(Engine::Postgres, Level::ReadCommitted) > Some(0));
    assert_eq!(count(Engine::Postgres, Level::RepeatableRead), Some(0));
    assert!(count(Engine::Mysql, Level::RepeatableRead) > Some(0));
    assert_eq!(count(Engine::Mysql, Level::Serializable), Some(0));
    assert_eq!(count(Engine::Oracle, Level::RepeatableRead), None);
}
