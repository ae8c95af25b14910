//! `isolint confirm`'s lock-holder schedule against a real PostgreSQL: a DELETE that chooses
//! its rows in a subquery takes its snapshot and waits for a third session's `FOR KEY SHARE`,
//! the other transaction's UPDATE runs and commits, the holder commits. PostgreSQL re-checks
//! only the DELETE's own WHERE on the updated row (EvalPlanQual): the race reproduces when the
//! status is decided in the subquery alone, and is prevented when the DELETE's own WHERE
//! repeats it. A transaction that needs a lock `FOR KEY SHARE` stops runs in the witness
//! order instead.

mod support;

use support::postgres::Server;

const MIGRATION: &str = "CREATE TABLE jobs (
    id int PRIMARY KEY,
    status text NOT NULL,
    finished_at timestamptz
);
";

/// Job 1 failed a day ago: both the DELETE's subquery and the retry choose it.
const SEED: &str = "INSERT INTO jobs VALUES (1, 'failed', now() - interval '1 day');\n";

/// Runs `isolint confirm --format json` on a project of the jobs table, `SEED` and `queries`,
/// and returns the report's findings.
fn confirm(server: &Server, queries: &str) -> Vec<serde_json::Value> {
    let output = server.confirm_project(&[
        ("migrations/001_jobs.sql", MIGRATION),
        ("seed.sql", SEED),
        ("queries.sql", queries),
    ]);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|_| {
        panic!(
            "no JSON report: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    report["findings"].as_array().cloned().unwrap_or_default()
}

/// The lost update of `delete_failed` against `retry`, with its confirmation.
fn delete_against_retry(findings: &[serde_json::Value]) -> &serde_json::Value {
    findings
        .iter()
        .find(|finding| {
            finding["rule"] == "lost-update"
                && finding["transactions"][0]["name"] == "delete_failed"
                && finding["transactions"][1]["name"] == "retry"
        })
        .unwrap_or_else(|| panic!("no lost update of delete_failed and retry: {findings:#?}"))
}

/// The schedule as it ran: (session, first word of the statement, result, step it completed
/// after).
fn events(confirmation: &serde_json::Value) -> Vec<(String, String, String, Option<u64>)> {
    confirmation["schedule"]
        .as_array()
        .expect("schedule")
        .iter()
        .map(|event| {
            (
                event["session"].as_str().unwrap_or_default().to_string(),
                event["sql"]
                    .as_str()
                    .unwrap_or_default()
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_string(),
                event["result"].as_str().unwrap_or_default().to_string(),
                event["completed_after"].as_u64(),
            )
        })
        .collect()
}

/// The holder begins and locks; the DELETE waits until the holder's COMMIT (event 7) answers,
/// after the retry committed (event 6).
fn assert_held_schedule(confirmation: &serde_json::Value) {
    let step = |session: &str, word: &str, result: &str, after: Option<u64>| {
        (
            session.to_string(),
            word.to_string(),
            result.to_string(),
            after,
        )
    };
    assert_eq!(
        events(confirmation),
        [
            step("H", "BEGIN", "ok", None),
            step("H", "SELECT", "ok", None),
            step("T1", "BEGIN", "ok", None),
            step("T1", "DELETE", "blocked", Some(7)),
            step("T2", "BEGIN", "ok", None),
            step("T2", "UPDATE", "ok", None),
            step("T2", "COMMIT", "ok", None),
            step("H", "COMMIT", "ok", None),
            step("T1", "COMMIT", "ok", None),
        ],
        "{}",
        serde_json::to_string_pretty(&confirmation["schedule"]).unwrap_or_default()
    );
    assert!(
        confirmation["interleaving"]
            .as_str()
            .is_some_and(|text| text
                .starts_with("lock holder: a third session H held FOR KEY SHARE on the rows of")),
        "{}",
        confirmation["interleaving"]
    );
}

/// The subquery alone decides on the status: the waiting DELETE re-checks only `id IN (...)`
/// on the retried row and deletes the job the retry just moved back to `todo`, which no
/// serial order does.
#[test]
fn a_waiting_delete_deletes_the_row_its_subquery_chose_before_the_update() {
    let Some(server) = Server::start("a_waiting_delete_deletes_the_row_its_subquery_chose") else {
        return;
    };
    let findings = confirm(
        &server,
        "-- name: delete_failed
DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE status = 'failed');

-- name: retry
-- isolint: example 1=1
UPDATE jobs SET status = 'todo' WHERE id = $1;
",
    );
    let confirmation = &delete_against_retry(&findings)["confirmation"];
    assert_eq!(
        confirmation["verdict"],
        "reproduced",
        "{}",
        serde_json::to_string_pretty(confirmation).unwrap_or_default()
    );
    assert_held_schedule(confirmation);
    // The retried job is gone.
    assert_eq!(
        confirmation["observed"]["contents"]["jobs"],
        serde_json::json!([])
    );
}

/// The DELETE's own WHERE repeats the status: EvalPlanQual re-checks it on the retried row,
/// finds `todo`, and keeps the job, as if the retry had run first.
#[test]
fn a_waiting_delete_that_rechecks_the_status_keeps_the_retried_row() {
    let Some(server) = Server::start("a_waiting_delete_that_rechecks_the_status") else {
        return;
    };
    let findings = confirm(
        &server,
        "-- name: delete_failed
DELETE FROM jobs
WHERE id IN (SELECT id FROM jobs WHERE status = 'failed' AND finished_at < now() - interval '1 hour')
  AND status = 'failed';

-- name: retry
-- isolint: example 1=1
UPDATE jobs SET status = 'todo', finished_at = NULL WHERE id = $1;
",
    );
    let confirmation = &delete_against_retry(&findings)["confirmation"];
    assert_eq!(
        confirmation["verdict"],
        "prevented",
        "{}",
        serde_json::to_string_pretty(confirmation).unwrap_or_default()
    );
    assert_held_schedule(confirmation);
    assert!(
        confirmation["reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("serial order T2, T1")),
        "{}",
        confirmation["reason"]
    );
}

/// The retry locks the job `FOR UPDATE` before it moves it, a lock `FOR KEY SHARE` stops: with
/// the holder it would queue behind the waiting DELETE, so the witness order runs instead
/// (the retry holds the row, the DELETE waits for its commit), and says why.
#[test]
fn a_transaction_that_needs_the_held_lock_runs_in_the_witness_order() {
    let Some(server) = Server::start("a_transaction_that_needs_the_held_lock") else {
        return;
    };
    let findings = confirm(
        &server,
        "-- name: delete_failed
DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE status = 'failed');

-- name: retry
-- isolint: example 1=1
BEGIN;
SELECT status FROM jobs WHERE id = $1 FOR UPDATE;
UPDATE jobs SET status = 'todo' WHERE id = $1;
COMMIT;
",
    );
    let confirmation = &delete_against_retry(&findings)["confirmation"];
    let shown = serde_json::to_string_pretty(confirmation).unwrap_or_default();
    assert_eq!(confirmation["verdict"], "reproduced", "{shown}");
    let interleaving = confirmation["interleaving"].as_str().unwrap_or_default();
    assert!(
        interleaving.starts_with("the witness order")
            && interleaving.contains("with the lock-holder schedule T2 waited too"),
        "{shown}"
    );
    assert!(
        events(confirmation)
            .iter()
            .all(|(session, ..)| session != "H"),
        "{shown}"
    );
}
