//! `phantom-write-skew` (G2): as write skew, but one side of the cycle is a row appearing in
//! the other's predicate (an INSERT, or an UPDATE moving a row in). Unique and exclusion
//! constraints can force the conflict; locked reads help only where they lock gaps.

use crate::analysis::cycles::{cycle_finding, open_cycles};
use crate::analysis::finding::Finding;
use crate::analysis::{Context, Pair};
use crate::rule::Rule;

pub fn detect(context: &Context, pair: &Pair, findings: &mut Vec<Finding>) {
    if !context.permits(
        &[pair.first.program, pair.second.program],
        Rule::PhantomWriteSkew,
    ) {
        return;
    }
    if let Some(cycle) = open_cycles(context, pair)
        .iter()
        .find(|cycle| cycle.has_phantom_edge())
    {
        findings.push(cycle_finding(context, pair, cycle, Rule::PhantomWriteSkew));
    }
}

#[cfg(test)]
mod tests {
    use crate::analysis::testing::{findings, run};
    use crate::semantics::{Engine, Level};

    const BOOK: &str = "-- name: book
        BEGIN;
        SELECT count(*) FROM bookings WHERE room_id = $1 AND during && $2;
        INSERT INTO bookings (room_id, during) VALUES ($1, $2);
        COMMIT;";

    fn check(engine: Engine, level: Option<Level>, schema: &str, expected: &[&str]) {
        assert_eq!(findings(engine, level, schema, BOOK), expected, "{schema}");
    }

    #[test]
    fn check_then_insert_double_books_without_a_constraint() {
        let schema =
            "CREATE TABLE bookings (id serial PRIMARY KEY, room_id int, during tstzrange);";
        check(
            Engine::Postgres,
            None,
            schema,
            &["phantom-write-skew: book"],
        );
        check(
            Engine::Postgres,
            Some(Level::RepeatableRead),
            schema,
            &["phantom-write-skew: book"],
        );
        check(Engine::Postgres, Some(Level::Serializable), schema, &[]);
    }

    #[test]
    fn delete_then_insert_replaces_race_but_a_delete_by_generated_id_does_not() {
        let schema =
            "CREATE TABLE user_roles (user_id int, role text, PRIMARY KEY (user_id, role));
            CREATE TABLE bookings (id serial PRIMARY KEY, room_id int, during tstzrange);";
        let replace = "-- name: set_roles
            BEGIN;
            DELETE FROM user_roles WHERE user_id = $1;
            INSERT INTO user_roles (user_id, role) VALUES ($1, $2), ($1, $3);
            COMMIT;";
        assert_eq!(
            findings(Engine::Postgres, None, schema, replace),
            ["phantom-write-skew: set_roles"]
        );
        // The insert leaves `id` to its sequence: the cancel's DELETE can never match it.
        let cancel = format!("{BOOK}\n-- name: cancel\nDELETE FROM bookings WHERE id = $1;");
        assert_eq!(
            findings(Engine::Postgres, None, schema, &cancel),
            ["phantom-write-skew: book"]
        );
    }

    #[test]
    fn an_exclusion_constraint_forces_the_conflict() {
        let schema = "CREATE TABLE bookings (id serial PRIMARY KEY, room_id int, during tstzrange,
            EXCLUDE USING gist (room_id WITH =, during WITH &&));";
        check(Engine::Postgres, Some(Level::RepeatableRead), schema, &[]);
    }

    #[test]
    fn a_unique_key_forces_the_conflict_only_when_the_check_pins_all_its_columns() {
        let schema = "CREATE TABLE bookings (id serial PRIMARY KEY, room_id int, slot int);
            CREATE UNIQUE INDEX one_per_slot ON bookings (room_id, slot);";
        let exact = BOOK
            .replace("during && $2", "slot = $2")
            .replace("during)", "slot)");
        assert_eq!(
            findings(Engine::Postgres, None, schema, &exact),
            Vec::<String>::new()
        );
        // Overlapping ranges are different values: a unique index on them stops nothing.
        let schema = "CREATE TABLE bookings (id serial PRIMARY KEY, room_id int, during tstzrange);
            CREATE UNIQUE INDEX one_per_range ON bookings (room_id, during);";
        check(
            Engine::Postgres,
            None,
            schema,
            &["phantom-write-skew: book"],
        );
    }

    #[test]
    fn for_update_does_not_stop_phantoms_without_gap_locks() {
        let schema = "CREATE TABLE bookings (id int PRIMARY KEY, room_id int, during text);";
        let locked = BOOK
            .replace("&& $2;", "&& $2 FOR UPDATE;")
            .replace("count(*)", "id");
        let found = |engine, level| findings(engine, level, schema, &locked);
        assert_eq!(
            found(Engine::Postgres, Some(Level::RepeatableRead)),
            ["phantom-write-skew: book"]
        );
        let mysql = locked
            .replace("$1", "?")
            .replace("$2", "?")
            .replace("&&", "=");
        let found = |level| findings(Engine::Mysql, level, schema, &mysql);
        assert_eq!(found(Some(Level::RepeatableRead)), Vec::<String>::new());
        assert_eq!(
            found(Some(Level::ReadCommitted)),
            ["phantom-write-skew: book"]
        );
    }

    /// `SET state = 'on_call'` moves a reserve row into `WHERE state = 'on_call'` as an INSERT
    /// would; a row whose literal values lie outside the checked set is neither seen nor
    /// moved in (`IN`, `OR`, `<>`, `NOT`).
    #[test]
    fn an_update_moving_a_row_in_is_a_phantom_unless_its_literals_are_outside_the_set() {
        let schema = "CREATE TABLE doctors (id int PRIMARY KEY, shift int, state text);";
        let found = |assigned: &str, checked: &str| {
            let programs = format!(
                "-- name: call_in
                BEGIN;
                SELECT count(*) FROM doctors WHERE shift = $1 AND {checked};
                UPDATE doctors SET state = {assigned} WHERE id = $2 AND state = 'reserve';
                COMMIT;"
            );
            let mut found = findings(Engine::Postgres, None, schema, &programs);
            // The count and the UPDATE's WHERE read the table twice: a read skew beside.
            found.retain(|finding| !finding.starts_with("read-skew"));
            found
        };
        assert_eq!(
            found("'on_call'", "state = 'on_call'"),
            ["phantom-write-skew: call_in"]
        );
        assert_eq!(
            found("'on_call'", "(state = 'on_call' OR state = 'standby')"),
            ["phantom-write-skew: call_in"]
        );
        assert!(found("'off'", "state IN ('on_call', 'standby')").is_empty());
        assert!(found("'off'", "(state = 'on_call' OR state = 'standby')").is_empty());
        assert!(found("'off'", "NOT (state = 'reserve' OR state = 'off')").is_empty());
        assert!(found("'off'", "NOT (state IN ('reserve', 'off'))").is_empty());
        // The reserve row itself is in the checked set: an item write skew.
        assert_eq!(found("'off'", "state <> 'off'"), ["write-skew: call_in"]);
    }

    /// A serial key is new: no other transaction can name it in a keyed read.
    #[test]
    fn an_insert_with_a_fresh_key_cannot_enter_a_keyed_read() {
        let schema = "CREATE TABLE items (id bigserial PRIMARY KEY, list int, n int);";
        let programs = "-- name: add
            BEGIN;
            SELECT n FROM items WHERE id = $1;
            INSERT INTO items (list, n) VALUES ($2, $3);
            COMMIT;";
        assert!(findings(Engine::Postgres, None, schema, programs).is_empty());
        let by_list = programs.replace("WHERE id = $1", "WHERE list = $2");
        assert_eq!(
            findings(Engine::Postgres, None, schema, &by_list),
            ["phantom-write-skew: add"]
        );
    }

    #[test]
    fn the_fix_is_a_constraint_not_for_update_on_postgres() {
        let schema =
            "CREATE TABLE bookings (id serial PRIMARY KEY, room_id int, during tstzrange);";
        let found = run(Engine::Postgres, None, schema, BOOK, &[]);
        let fixes = found[0].1.join("\n");
        assert!(fixes.contains("UNIQUE or EXCLUDE constraint"), "{fixes}");
        assert!(!fixes.contains("add `FOR UPDATE`"), "{fixes}");
    }
}
