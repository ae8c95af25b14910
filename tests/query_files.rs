//! Query files as projects write them (sqlc, yesql, aiosql, HugSQL, procrastinate): every
//! named query is a program named after its header, and its parameters are read.

use std::path::Path;

use isolint::access::Term;
use isolint::semantics::Engine;
use isolint::{CheckOptions, CheckResult, check_sources, discover};

fn check(case: &str) -> CheckResult {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(case);
    let discovered = discover::discover(std::slice::from_ref(&directory), &directory).unwrap();
    let mut options = CheckOptions::new(Engine::Postgres);
    let config = directory.join("isolint.toml");
    if config.exists() {
        let config = isolint::config::load(&config).unwrap();
        options.variables = config.variables;
        options.transactions = config.transactions;
    }
    check_sources(discovered.files, &options)
}

/// The terms each column of the program's first access is pinned to.
fn pins(result: &CheckResult, program: &str) -> Vec<(String, Term)> {
    let program = result
        .programs
        .iter()
        .find(|candidate| candidate.name == program)
        .unwrap_or_else(|| panic!("no program `{program}`"));
    program.statements[0].accesses[0]
        .rows
        .pins
        .iter()
        .map(|(column, term)| (column.clone(), term.clone()))
        .collect()
}

#[test]
fn every_named_query_is_a_program_named_after_its_header() {
    let result = check("query_files_named_queries");
    assert_eq!(result.parse_errors, 0, "{:?}", result.diagnostics);
    assert!(result.diagnostics.is_empty(), "{:?}", result.diagnostics);
    let mut names: Vec<&str> = result.programs.iter().map(|p| p.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "CountAccounts",
            "GetAccount",
            "ListAccounts",
            "UpdateBalance",
            "add-job",
            "fetch_job",
            "finish-job",
            "get-job",
            "job-count",
            "job_parity",
            "jobs-by-status",
            "set_job_status",
        ]
    );
    assert!(result.programs.iter().all(|p| p.statements.len() == 1));
}

#[test]
fn query_file_parameters_are_named_parameters() {
    let result = check("query_files_named_queries");
    let param = |name: &str| Term::Param(name.to_string());
    assert_eq!(pins(&result, "GetAccount"), [("id".into(), param(":id"))]);
    assert_eq!(
        pins(&result, "UpdateBalance"),
        [("id".into(), param(":id"))]
    );
    assert_eq!(pins(&result, "get-job"), [("id".into(), param(":id"))]);
    assert_eq!(
        pins(&result, "set_job_status"),
        [("id".into(), param(":job_id"))]
    );
    assert_eq!(
        pins(&result, "job_parity"),
        [("id".into(), param("?jobs.id"))]
    );
}

#[test]
fn templated_sql_reads_without_a_diagnostic() {
    let result = check("templated_sql_graphile_river");
    assert!(result.diagnostics.is_empty(), "{:?}", result.diagnostics);
    let jobs = result.catalog.table("jobs").expect("jobs");
    assert!(jobs.columns.iter().any(|column| column == "attempts"));
    assert!(result.catalog.table("river_job").is_some());
    let param = |name: &str| Term::Param(name.to_string());
    assert_eq!(
        pins(&result, "bump_attempts"),
        [("id".into(), param(":job_id"))]
    );
    assert_eq!(
        pins(&result, "unlock_jobs"),
        [("locked_by".into(), param(":worker_id"))]
    );
}

#[test]
fn composed_transactions_run_their_steps_in_order() {
    let result = check("query_files_composed_transfer");
    assert!(result.unknown_steps.is_empty());
    let withdraw = result
        .programs
        .iter()
        .find(|p| p.name == "withdraw_rr")
        .unwrap();
    let texts: Vec<&str> = withdraw
        .statements
        .iter()
        .map(|s| s.text.as_str())
        .collect();
    assert_eq!(
        texts,
        [
            "SELECT id, balance FROM accounts WHERE id = sqlc.arg(id)",
            "SELECT id, balance FROM accounts WHERE id = sqlc.arg(id)",
            "UPDATE accounts SET balance = sqlc.arg(balance) WHERE id = sqlc.arg(id)",
        ]
    );
    assert_eq!(withdraw.level, isolint::semantics::Level::RepeatableRead);
}
