//! `isolint confirm` without a seed file, against a real PostgreSQL: the rows it makes for a
//! DELETE that chooses jobs by their status and by their latest event's time. The job the
//! retry moves needs an event row for the DELETE's join to find it, with a time in the past,
//! and the DELETE's status parameter must name the state the retry takes the job through.

mod support;

use support::postgres::Server;

const MIGRATION: &str = "CREATE TYPE job_status AS ENUM ('todo', 'doing', 'failed', 'succeeded');
CREATE TABLE jobs (
    id bigserial PRIMARY KEY,
    status job_status NOT NULL DEFAULT 'todo'
);
CREATE TABLE job_events (
    id bigserial PRIMARY KEY,
    job_id bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    at timestamptz NOT NULL DEFAULT now()
);
-- A running job whose abort was asked fails; a failed one goes back to the queue. It returns
-- the job it moved.
CREATE FUNCTION retry_job(job bigint) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    moved bigint;
BEGIN
    UPDATE jobs SET status = 'failed' WHERE id = job AND status = 'doing' RETURNING id INTO moved;
    UPDATE jobs SET status = 'todo' WHERE id = job AND status IN ('doing', 'failed')
        RETURNING id INTO moved;
    RETURN moved;
END
$$;
";

const QUERIES: &str = "-- name: delete_old_jobs
DELETE FROM jobs WHERE id IN (
    SELECT job.id FROM jobs job JOIN job_events event ON event.job_id = job.id
    WHERE job.status = ANY(:statuses::job_status[])
      AND event.at < now() - interval '1 hour'
);
";

#[test]
fn a_subquerys_joined_table_gets_an_old_row_for_the_job_the_other_transaction_moves() {
    let Some(server) = Server::start("a_subquerys_joined_table_gets_an_old_row") else {
        return;
    };
    let output = server.confirm_project(&[
        ("migrations/001_jobs.sql", MIGRATION),
        ("queries.sql", QUERIES),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|_| panic!("no report: {stderr}"));
    let findings = report["findings"].as_array().cloned().unwrap_or_default();
    let finding = findings
        .iter()
        .find(|finding| {
            finding["rule"] == "lost-update"
                && finding["transactions"][0]["name"] == "delete_old_jobs"
                && finding["transactions"][1]["name"] == "retry_job"
        })
        .unwrap_or_else(|| {
            panic!("no lost update of delete_old_jobs and retry_job: {findings:#?}")
        });
    let confirmation = &finding["confirmation"];
    let shown = serde_json::to_string_pretty(confirmation).unwrap_or_default();
    assert_eq!(confirmation["verdict"], "reproduced", "{shown}");
    // The retry moves jobs into `failed` and acts on `doing` and `failed` jobs: the DELETE's
    // statuses name both.
    assert_eq!(
        confirmation["parameters"][0][":statuses"], "{doing,failed}",
        "{shown}"
    );
    let assumptions = confirmation["assumptions"].to_string();
    assert!(
        assumptions.contains("INSERT INTO \\\"public\\\".\\\"job_events\\\"")
            && assumptions.contains("2024-01-"),
        "{shown}"
    );
    // The retry moved the job back to the queue, and the job is gone, its event with it.
    let moved = confirmation["schedule"]
        .as_array()
        .expect("schedule")
        .iter()
        .any(|event| {
            event["session"] == "T2"
                && event["sql"]
                    .as_str()
                    .is_some_and(|sql| sql.contains("'todo'"))
                && event["returned"] == serde_json::json!([["2"]])
        });
    assert!(moved, "{shown}");
    assert_eq!(
        confirmation["observed"]["contents"]["jobs"],
        serde_json::json!([]),
        "{shown}"
    );
}
