//! Which programs to compare: pairs of programs that can touch the same rows of a table, one
//! of them writing it.

use std::collections::{BTreeMap, BTreeSet};

use crate::access::{Access, Term};
use crate::program::Program;

/// The most pairs of programs compared in one run. Every pair of programs sharing a table is
/// compared, so the work grows with the square of the programs on one table; past this (some
/// 10,000 programs on one table, a data load rather than a workload) time and memory would run
/// away, so the most crowded tables are left out instead and a diagnostic names them.
pub const MAX_PAIRS: usize = 50_000_000;

/// The pairs to compare, and the tables left out to stay within `MAX_PAIRS`.
pub struct CandidatePairs {
    pub pairs: Vec<(usize, usize)>,
    /// Each table left out, with the number of programs that touch it.
    pub skipped_tables: Vec<(String, usize)>,
}

/// Pairs of programs (including a program with itself) where one writes a table the other
/// reads or writes, in a stable order. Programs are indexed by table, so programs with nothing
/// in common are never compared, nor are programs that only read the tables they share: every
/// conflict (rw, wr, ww) needs a write, so such pairs cannot have one. Within a table, accesses
/// that pin one column to a literal (`WHERE id = 42`, `VALUES (42, ...)`) meet only the accesses
/// that pin it to the same literal or not at all ([`unify::rows_meet`]): a data file of
/// single-row statements pairs each of them with the few that name its row, not with the
/// others.
pub fn candidate_pairs(programs: &[Program]) -> CandidatePairs {
    let accesses = || {
        programs.iter().enumerate().flat_map(|(index, program)| {
            program
                .statements
                .iter()
                .flat_map(|statement| &statement.accesses)
                .filter(|access| !access.table.is_empty())
                .map(move |access| (index, access))
        })
    };
    let bucket_columns = bucket_columns(accesses());
    // The programs that touch a table, and whether each writes it; those whose every access to
    // it pins the table's bucket column to a literal, by literal.
    let mut by_table: BTreeMap<&str, BTreeMap<usize, bool>> = BTreeMap::new();
    let mut wild: BTreeMap<&str, BTreeSet<usize>> = BTreeMap::new();
    let mut by_literal: BTreeMap<(&str, &str), BTreeSet<usize>> = BTreeMap::new();
    for (index, access) in accesses() {
        let table = access.table.as_str();
        *by_table.entry(table).or_default().entry(index).or_default() |= access.is_write();
        match bucket_columns
            .get(table)
            .and_then(|column| literal_pin(access, column))
        {
            Some(value) => {
                by_literal.entry((table, value)).or_default().insert(index);
            }
            None => {
                wild.entry(table).or_default().insert(index);
            }
        }
    }
    // A program with a wild access meets every program on the table; the others only those
    // sharing one of their literals.
    let mut literal_members: BTreeMap<&str, Vec<Vec<usize>>> = BTreeMap::new();
    for ((table, _), members) in by_literal {
        let wild = wild.get(table);
        let members: Vec<usize> = members
            .into_iter()
            .filter(|index| wild.is_none_or(|wild| !wild.contains(index)))
            .collect();
        if !members.is_empty() {
            literal_members.entry(table).or_default().push(members);
        }
    }
    let mut tables: Vec<Table> = by_table
        .into_iter()
        .map(|(name, members)| {
            let wild: Vec<usize> = wild
                .get(name)
                .map(|wild| wild.iter().copied().collect())
                .unwrap_or_default();
            let groups = literal_members.remove(name).unwrap_or_default();
            Table {
                name,
                members,
                wild,
                groups,
            }
        })
        .collect();
    // The least crowded tables first, so a budget overrun leaves out the fewest tables.
    tables.sort_by_key(|table| (table.pairs(), table.name));
    let mut budget = MAX_PAIRS;
    // Sorting once is much cheaper than a set for the millions of pairs that a few hot tables
    // give.
    let mut pairs = Vec::new();
    let mut skipped_tables = Vec::new();
    for table in tables {
        let count = table.pairs();
        if count > budget {
            skipped_tables.push((table.name.to_string(), table.members.len()));
            continue;
        }
        budget -= count;
        table.push_pairs(&mut pairs);
    }
    pairs.sort_unstable();
    pairs.dedup();
    skipped_tables.sort();
    CandidatePairs {
        pairs,
        skipped_tables,
    }
}

/// The programs on one table, as [`candidate_pairs`] pairs them.
struct Table<'a> {
    name: &'a str,
    /// Every program on the table, and whether it writes it.
    members: BTreeMap<usize, bool>,
    /// Programs with an access that does not pin the bucket column to a literal.
    wild: Vec<usize>,
    /// The other programs, grouped by a literal one of their accesses pins (a program can be in
    /// several groups).
    groups: Vec<Vec<usize>>,
}

impl Table<'_> {
    fn writes(&self, program: usize) -> bool {
        self.members.get(&program).copied().unwrap_or(false)
    }

    /// How many pairs [`Table::push_pairs`] pushes, at most.
    fn pairs(&self) -> usize {
        let square = |n: usize| n.saturating_mul(n.saturating_add(1)) / 2;
        let wild = self.wild.len().saturating_mul(self.members.len());
        self.groups
            .iter()
            .map(|group| square(group.len()))
            .fold(wild, usize::saturating_add)
    }

    /// Each two programs that can meet here, one of them writing (smaller index first).
    fn push_pairs(&self, pairs: &mut Vec<(usize, usize)>) {
        let mut push = |a: usize, b: usize| {
            if self.writes(a) || self.writes(b) {
                pairs.push((a.min(b), a.max(b)));
            }
        };
        for &first in &self.wild {
            for &second in self.members.keys() {
                push(first, second);
            }
        }
        for group in &self.groups {
            for (position, &first) in group.iter().enumerate() {
                for &second in &group[position..] {
                    push(first, second);
                }
            }
        }
    }
}

/// For each table, the column its accesses most often pin to a literal (the first by name among
/// equals), the one [`candidate_pairs`] groups them by.
fn bucket_columns<'a>(
    accesses: impl Iterator<Item = (usize, &'a Access)>,
) -> BTreeMap<&'a str, &'a str> {
    let mut counts: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for (_, access) in accesses {
        for (column, term) in &access.rows.pins {
            if matches!(term, Term::Literal(_)) {
                *counts.entry((&access.table, column)).or_default() += 1;
            }
        }
    }
    let mut best: BTreeMap<&str, (&str, usize)> = BTreeMap::new();
    for ((table, column), count) in counts {
        let entry = best.entry(table).or_insert((column, count));
        if count > entry.1 {
            *entry = (column, count);
        }
    }
    best.into_iter()
        .map(|(table, (column, _))| (table, column))
        .collect()
}

/// The literal `access` pins `column` to, unless it also assigns the column (an UPDATE or upsert
/// that moves its row to another value can meet rows pinned to that one).
fn literal_pin<'a>(access: &'a Access, column: &str) -> Option<&'a str> {
    if access
        .assignments()
        .is_some_and(|set| set.contains_key(column))
    {
        return None;
    }
    match access.rows.pins.get(column) {
        Some(Term::Literal(value)) => Some(value),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::semantics::Engine;

    const ACCOUNTS: &str = "CREATE TABLE accounts (id int PRIMARY KEY, balance int, note text);";

    #[test]
    fn literal_keys_pair_only_programs_that_name_the_same_row() {
        let programs = "UPDATE accounts SET balance = balance + 1 WHERE id = 1;
            UPDATE accounts SET balance = balance + 1 WHERE id = 2;
            UPDATE accounts SET balance = 0 WHERE id = 2;
            SELECT balance FROM accounts WHERE balance > 10;";
        let (result, _) =
            crate::analysis::testing::check(Engine::Postgres, &[], None, ACCOUNTS, programs, &[]);
        let name = |program: usize| result.programs[program].name.clone();
        let pairs: Vec<(String, String)> = super::candidate_pairs(&result.programs)
            .pairs
            .into_iter()
            .map(|(first, second)| (name(first), name(second)))
            .collect();
        let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
        // The read by a predicate meets every writer; id = 1 and id = 2 never meet.
        assert_eq!(
            pairs,
            [
                pair("txns:1", "txns:1"),
                pair("txns:1", "txns:4"),
                pair("txns:2", "txns:2"),
                pair("txns:2", "txns:3"),
                pair("txns:2", "txns:4"),
                pair("txns:3", "txns:3"),
                pair("txns:3", "txns:4"),
            ]
        );
    }
}
