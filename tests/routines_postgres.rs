//! Trigger semantics on a real PostgreSQL: the write skew that isolint reports for
//! `fixtures/trigger_invariant_write_skew` happens at READ COMMITTED, where each withdrawal's
//! AFTER trigger checks the owner's total without the other's uncommitted change, and is
//! prevented at SERIALIZABLE, where isolint reports nothing. The interleaving is the finding's
//! witness: T1's UPDATE (its trigger runs inside it), T2's UPDATE, both commits.

mod support;

use std::path::Path;

use support::postgres::Server;

fn fixture() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/trigger_invariant_write_skew")
}

/// The finding's rules at `isolation`, from isolint itself.
fn reported(isolation: &str) -> Vec<String> {
    let output = assert_cmd::Command::cargo_bin("isolint")
        .expect("the binary")
        .current_dir(fixture())
        .args(["check", ".", "--format", "json", "--exit-zero"])
        .args(["--isolation", isolation])
        .output()
        .expect("isolint runs");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|finding| finding["rule"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Runs the witness on a fresh database at `level`: the owner's total afterwards, and the
/// error T2's commit met, if any.
fn replay(server: &Server, level: &str) -> (i64, Option<String>) {
    let mut admin = postgres::Client::connect(&server.url(), postgres::NoTls).expect("connect");
    let database = format!("trigger_skew_{}", level.replace(' ', "_").to_lowercase());
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {database}"))
        .expect("drop");
    admin
        .batch_execute(&format!("CREATE DATABASE {database}"))
        .expect("create");
    let url = server
        .url()
        .replace("dbname=postgres", &format!("dbname={database}"));
    let mut setup = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
    let schema = std::fs::read_to_string(fixture().join("migrations/001_accounts.sql"))
        .expect("the fixture's migration");
    setup.batch_execute(&schema).expect("schema");
    setup
        .batch_execute("INSERT INTO accounts VALUES (1, 7, 50), (2, 7, 50)")
        .expect("rows");
    let mut t1 = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
    let mut t2 = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
    let withdraw = "UPDATE accounts SET balance = balance - 80 WHERE id = $1 AND owner_id = 7";
    t1.batch_execute(&format!("BEGIN ISOLATION LEVEL {level}"))
        .expect("begin");
    t1.execute(withdraw, &[&1i64]).expect("T1 withdraws");
    t2.batch_execute(&format!("BEGIN ISOLATION LEVEL {level}"))
        .expect("begin");
    t2.execute(withdraw, &[&2i64]).expect("T2 withdraws");
    t1.batch_execute("COMMIT").expect("T1 commits");
    let failure = t2.batch_execute("COMMIT").err().map(|error| {
        error
            .as_db_error()
            .map(|db| db.code().code().to_string())
            .unwrap_or_else(|| error.to_string())
    });
    let total: i64 = setup
        .query_one(
            "SELECT sum(balance)::bigint FROM accounts WHERE owner_id = 7",
            &[],
        )
        .expect("total")
        .get(0);
    (total, failure)
}

#[test]
fn a_trigger_checked_invariant_is_skewed_at_read_committed_and_kept_at_serializable() {
    let Some(server) = Server::start("trigger write skew") else {
        return;
    };
    assert_eq!(reported("read-committed"), vec!["write-skew"]);
    let (total, failure) = replay(&server, "READ COMMITTED");
    assert_eq!(
        (total, failure),
        (-60, None),
        "both withdrawals commit and the owner's total goes negative"
    );

    assert!(reported("serializable").is_empty());
    let (total, failure) = replay(&server, "SERIALIZABLE");
    assert_eq!(total, 20, "only T1's withdrawal is kept: -30 + 50");
    assert_eq!(failure.as_deref(), Some("40001"));
}
