//! `phantom-read` (P3, opt-in): a transaction runs the same predicate read twice and another
//! transaction inserts (or moves in) a matching row in between.

use super::non_repeatable_read::repeated_read_findings;
use crate::analysis::conflict::EdgeKind;
use crate::analysis::finding::Finding;
use crate::analysis::{Context, Pair};
use crate::rule::Rule;

pub fn detect(context: &Context, pair: &Pair, findings: &mut Vec<Finding>) {
    repeated_read_findings(
        context,
        pair,
        Rule::PhantomRead,
        EdgeKind::Phantom,
        findings,
    );
}

#[cfg(test)]
mod tests {
    use crate::analysis::testing::run;
    use crate::rule::Rule;
    use crate::semantics::{Engine, Level};

    const SCHEMA: &str = "CREATE TABLE orders (id serial PRIMARY KEY, customer_id int, total int);";
    const TRANSACTIONS: &str = "-- name: page
        BEGIN;
        SELECT count(*) FROM orders WHERE customer_id = $1;
        SELECT id, total FROM orders WHERE customer_id = $1 ORDER BY id;
        COMMIT;
        -- name: place
        INSERT INTO orders (customer_id, total) VALUES ($1, $2);";

    fn found(level: Option<Level>, rules: &[Rule]) -> Vec<String> {
        run(Engine::Postgres, level, SCHEMA, TRANSACTIONS, rules)
            .into_iter()
            .map(|(line, _)| line)
            .collect()
    }

    #[test]
    fn opt_in_and_prevented_by_a_snapshot() {
        assert!(found(None, &[]).is_empty());
        assert_eq!(
            found(None, &[Rule::PhantomRead]),
            ["phantom-read: page, place"]
        );
        assert!(found(Some(Level::RepeatableRead), &[Rule::PhantomRead]).is_empty());
    }
}
