//! `write-skew` (G2-item): T1 and T2 each read existing rows the other then updates or
//! deletes, with no forced conflict between them, and both commit.

use crate::analysis::cycles::{cycle_finding, open_cycles};
use crate::analysis::finding::Finding;
use crate::analysis::{Context, Pair};
use crate::rule::Rule;

pub fn detect(context: &Context, pair: &Pair, findings: &mut Vec<Finding>) {
    if !context.permits(&[pair.first.program, pair.second.program], Rule::WriteSkew) {
        return;
    }
    if let Some(cycle) = open_cycles(context, pair)
        .iter()
        .find(|cycle| !cycle.has_phantom_edge())
    {
        findings.push(cycle_finding(context, pair, cycle, Rule::WriteSkew));
    }
}

#[cfg(test)]
mod tests {
    use crate::analysis::testing::{findings, run};
    use crate::semantics::{Engine, Level};

    const SCHEMA: &str = "CREATE TABLE shifts (id int PRIMARY KEY);
        CREATE TABLE oncall (shift_id int REFERENCES shifts (id), doctor_id int, on_call boolean,
            PRIMARY KEY (shift_id, doctor_id));";

    const LEAVE: &str = "-- name: leave_shift
        BEGIN;
        SELECT count(*) FROM oncall WHERE shift_id = $1 AND on_call;
        UPDATE oncall SET on_call = false WHERE shift_id = $1 AND doctor_id = $2;
        COMMIT;";

    fn check(level: Option<Level>, transactions: &str, expected: &[&str]) {
        assert_eq!(
            findings(Engine::Postgres, level, SCHEMA, transactions),
            expected,
            "{transactions}"
        );
    }

    #[test]
    fn doctors_on_call_is_a_write_skew_up_to_repeatable_read() {
        check(None, LEAVE, &["write-skew: leave_shift"]);
        check(
            Some(Level::RepeatableRead),
            LEAVE,
            &["write-skew: leave_shift"],
        );
        check(Some(Level::Serializable), LEAVE, &[]);
    }

    #[test]
    fn locking_the_rows_in_both_prevents_it() {
        let locked = "BEGIN;
            SELECT doctor_id FROM oncall WHERE shift_id = $1 AND on_call FOR UPDATE;
            UPDATE oncall SET on_call = false WHERE shift_id = $1 AND doctor_id = $2;
            COMMIT;";
        check(Some(Level::RepeatableRead), locked, &[]);
    }

    #[test]
    fn parent_row_lock_works_at_read_committed_only() {
        let parent = "-- name: leave_shift
            BEGIN;
            SELECT id FROM shifts WHERE id = $1 FOR UPDATE;
            SELECT count(*) FROM oncall WHERE shift_id = $1 AND on_call;
            UPDATE oncall SET on_call = false WHERE shift_id = $1 AND doctor_id = $2;
            COMMIT;";
        check(None, parent, &[]);
        // The FOR UPDATE takes the snapshot before it waits, so the count is stale.
        check(
            Some(Level::RepeatableRead),
            parent,
            &["write-skew: leave_shift"],
        );
    }

    #[test]
    fn lock_table_before_the_first_query_works_at_every_level() {
        let table_lock = "BEGIN;
            LOCK TABLE oncall IN EXCLUSIVE MODE;
            SELECT count(*) FROM oncall WHERE shift_id = $1 AND on_call;
            UPDATE oncall SET on_call = false WHERE shift_id = $1 AND doctor_id = $2;
            COMMIT;";
        check(None, table_lock, &[]);
        check(Some(Level::RepeatableRead), table_lock, &[]);
    }

    #[test]
    fn a_lock_in_only_one_program_does_not_help() {
        let mixed = format!(
            "{LEAVE}
            -- name: leave_shift_locked
            BEGIN;
            SELECT doctor_id FROM oncall WHERE shift_id = $1 AND on_call FOR UPDATE;
            UPDATE oncall SET on_call = false WHERE shift_id = $1 AND doctor_id = $2;
            COMMIT;"
        );
        check(
            Some(Level::RepeatableRead),
            &mixed,
            &[
                "write-skew: leave_shift",
                "write-skew: leave_shift, leave_shift_locked",
            ],
        );
    }

    #[test]
    fn the_weakest_level_decides() {
        let mixed = format!(
            "{LEAVE}
            -- name: leave_shift_strict
            BEGIN ISOLATION LEVEL SERIALIZABLE;
            SELECT count(*) FROM oncall WHERE shift_id = $1 AND on_call;
            UPDATE oncall SET on_call = false WHERE shift_id = $1 AND doctor_id = $2;
            COMMIT;"
        );
        check(
            None,
            &mixed,
            &[
                "write-skew: leave_shift",
                "write-skew: leave_shift, leave_shift_strict",
            ],
        );
    }

    #[test]
    fn aggregate_reads_get_no_for_update_on_the_aggregate() {
        let found = run(Engine::Postgres, None, SCHEMA, LEAVE, &[]);
        let fixes = found[0].1.join("\n");
        assert!(
            fixes.contains("SELECT shift_id, doctor_id FROM oncall WHERE ... FOR UPDATE"),
            "{fixes}"
        );
        assert!(
            fixes.contains("SELECT 1 FROM shifts WHERE id = $1"),
            "{fixes}"
        );
        assert!(!fixes.contains("add `FOR UPDATE` to this read"), "{fixes}");
        assert!(fixes.contains("SQLSTATE 40001"), "{fixes}");
    }

    /// SQL Server's repeatable read locks what it reads, but a snapshot transaction reads
    /// without locks and its write waits only for the lock: each can still miss the other's
    /// write. The two levels are incomparable, so neither hides the other's anomalies.
    #[test]
    fn repeatable_read_with_snapshot_is_not_taken_as_repeatable_read() {
        let schema = "CREATE TABLE t (id int PRIMARY KEY, c int UNIQUE);";
        let programs = "-- name: a
            -- isolint: isolation repeatable-read
            BEGIN TRANSACTION; SELECT c FROM t WHERE id = @p; DELETE FROM t WHERE id = @p; COMMIT;
            -- name: b
            -- isolint: isolation snapshot
            BEGIN TRANSACTION; SELECT c FROM t WHERE id = @p; DELETE FROM t; COMMIT;";
        let found = findings(Engine::Sqlserver, None, schema, programs);
        assert!(found.contains(&"write-skew: a, b".to_string()), "{found:?}");
    }
}
