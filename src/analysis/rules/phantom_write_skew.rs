//! `phantom-write-skew` (G2): as write skew, but one side of the cycle is a row appearing in
//! the other's predicate (an INSERT, or an UPDATE moving a row in). Unique and exclusion
//! constraints can force the conflict; locked reads help only where they lock gaps.

use crate::analysis::cycles::{cycle_finding, open_cycles};
use crate::analysis::finding::Finding;
use crate::analysis::rules::Rule;
use crate::analysis::{Context, Pair};

pub fn detect(context: &Context, pair: &Pair, findings: &mut Vec<Finding>) {
    let levels = [pair.first.program.level, pair.second.program.level];
    if !context.permits(&levels, Rule::PhantomWriteSkew) {
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
