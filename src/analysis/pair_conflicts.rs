//! What can happen between each two programs that share a table, both ways: the summary the
//! drawn dependency graph and the pair matrix of a design review show.

use rayon::prelude::*;

use super::graph::{representative_edges, ww_conflict};
use super::{Context, Pair, candidate_pairs};

/// The conflicts between two programs (`first <= second`; equal for two instances of one
/// program). Index 0 of the arrays is `first` → `second`, index 1 the other way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PairConflicts {
    pub first: usize,
    pub second: usize,
    /// An rw anti-dependency: the reader reads what the writer then changes (read the other
    /// way, a wr dependency: the writer's change is what the reader sees).
    pub rw: [bool; 2],
    /// The rw edge is vulnerable: nothing forces one of the two to fail.
    pub vulnerable: [bool; 2],
    /// Both write rows that can be the same.
    pub ww: bool,
}

/// How strong the strongest conflict of a pair is, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Strength {
    None,
    WriteWrite,
    ReadWrite,
    VulnerableReadWrite,
}

impl PairConflicts {
    pub fn strongest(&self) -> Strength {
        if self.vulnerable.iter().any(|v| *v) {
            Strength::VulnerableReadWrite
        } else if self.rw.iter().any(|rw| *rw) {
            Strength::ReadWrite
        } else if self.ww {
            Strength::WriteWrite
        } else {
            Strength::None
        }
    }
}

/// Every pair of programs sharing a table that has some conflict, in a stable order.
pub fn pair_conflicts(context: &Context) -> Vec<PairConflicts> {
    candidate_pairs(context.programs)
        .pairs
        .par_iter()
        .map(|(first, second)| {
            let pair = Pair::new(context, *first, *second);
            let flipped = pair.flipped();
            PairConflicts {
                first: *first,
                second: *second,
                rw: [!pair.forward.is_empty(), !pair.backward.is_empty()],
                vulnerable: [
                    !representative_edges(context, &pair).is_empty(),
                    !representative_edges(context, &flipped).is_empty(),
                ],
                ww: ww_conflict(&pair),
            }
        })
        .filter(|conflicts| conflicts.strongest() != Strength::None)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::semantics::{Engine, Semantics};

    fn conflicts(transactions: &str) -> Vec<(String, String, Strength)> {
        let (result, _) = crate::analysis::testing::check(
            Engine::Postgres,
            &[],
            None,
            "CREATE TABLE accounts (id int PRIMARY KEY, balance int);\n\
             CREATE TABLE audit (id int PRIMARY KEY, note text);",
            transactions,
            &[],
        );
        let context = Context {
            programs: &result.programs,
            catalog: &result.catalog,
            semantics: Semantics::embedded(),
            engine: result.engine,
        };
        pair_conflicts(&context)
            .into_iter()
            .map(|pair| {
                (
                    result.programs[pair.first].name.clone(),
                    result.programs[pair.second].name.clone(),
                    pair.strongest(),
                )
            })
            .collect()
    }

    #[test]
    fn a_read_of_what_another_program_writes_is_a_vulnerable_rw_edge() {
        let found = conflicts(
            "-- name: audit_read\nBEGIN; SELECT balance FROM accounts WHERE id = $1; COMMIT;\n\
             -- name: pay\nBEGIN; UPDATE accounts SET balance = balance - 1 WHERE id = $1; COMMIT;\n\
             -- name: note\nBEGIN; INSERT INTO audit (id, note) VALUES ($1, $2); COMMIT;\n",
        );
        assert!(found.contains(&(
            "audit_read".to_string(),
            "pay".to_string(),
            Strength::VulnerableReadWrite
        )));
        assert!(found.contains(&("pay".to_string(), "pay".to_string(), Strength::WriteWrite)));
        assert!(
            !found
                .iter()
                .any(|(first, second, _)| first == "note" && second != "note")
        );
    }
}
