//! Which programs to compare: pairs of programs that can touch the same rows of a table, one
//! of them writing it. Nothing here holds the pairs: [`PairIndex`] answers "who meets this
//! program", one program at a time, so memory grows with the programs, not with their pairs.

use std::collections::{BTreeMap, BTreeSet};

use crate::access::{Access, Term};
use crate::program::Program;

/// Every pair of programs (including a program with itself) where one writes a table the other
/// reads or writes, smaller index first, in a stable order. This materialises the pairs, which
/// grow with the square of the programs on a hot table: for a summary of every pair (the
/// drawn dependency graph); the analysis asks [`PairIndex::partners`] one program at a time.
pub struct CandidatePairs {
    pub pairs: Vec<(usize, usize)>,
}

/// See [`CandidatePairs`].
pub fn candidate_pairs(programs: &[Program]) -> CandidatePairs {
    let index = PairIndex::new(programs);
    let mut scratch = PartnerScratch::default();
    let mut pairs = Vec::new();
    for program in 0..programs.len() {
        for partner in index.partners(program, &mut scratch) {
            if partner >= program {
                pairs.push((program, partner));
            }
        }
    }
    CandidatePairs { pairs }
}

/// The programs of each table, as pairing needs them. Programs are indexed by table, so
/// programs with nothing in common never meet, nor do programs that only read the tables they
/// share: every conflict (rw, wr, ww) needs a write. Within a table, accesses that pin one
/// column to a literal (`WHERE id = 42`, `VALUES (42, ...)`) meet only the accesses that pin
/// it to the same literal or not at all ([`crate::analysis::unify::rows_meet`]): a data file
/// of single-row statements pairs each of them with the few that name its row, not with the
/// others.
pub struct PairIndex {
    tables: Vec<TableMembers>,
    /// Each program's tables: `(table, wild, writes, literal groups it is in)`.
    by_program: Vec<Vec<ProgramOnTable>>,
}

struct ProgramOnTable {
    table: usize,
    /// One of its accesses to the table does not pin the bucket column to a literal.
    wild: bool,
    /// The literal groups of the table it is in (empty when wild).
    groups: Vec<usize>,
}

/// The programs on one table.
struct TableMembers {
    /// Every program on the table, ascending.
    members: Vec<usize>,
    /// Whether each of `members` writes the table.
    writes: Vec<bool>,
    /// Programs with an access that does not pin the bucket column to a literal, ascending.
    wild: Vec<usize>,
    /// The other programs, grouped by a literal one of their accesses pins (a program can be in
    /// several groups), each ascending.
    groups: Vec<Vec<usize>>,
}

impl TableMembers {
    fn writes(&self, program: usize) -> bool {
        self.members
            .binary_search(&program)
            .is_ok_and(|at| self.writes[at])
    }
}

/// Reusable space for [`PairIndex::partners`]: one per thread.
#[derive(Default)]
pub struct PartnerScratch {
    /// `seen[p] == stamp` when `p` was collected for the current program.
    seen: Vec<u32>,
    stamp: u32,
}

impl PairIndex {
    pub fn new(programs: &[Program]) -> PairIndex {
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
        // The programs that touch a table, and whether each writes it; those whose every access
        // to it pins the table's bucket column to a literal, by literal.
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
        let mut tables = Vec::with_capacity(by_table.len());
        let mut by_program: Vec<Vec<ProgramOnTable>> =
            (0..programs.len()).map(|_| Vec::new()).collect();
        for (table_index, (name, members)) in by_table.into_iter().enumerate() {
            let wild: Vec<usize> = wild
                .get(name)
                .map(|wild| wild.iter().copied().collect())
                .unwrap_or_default();
            let groups = literal_members.remove(name).unwrap_or_default();
            for &program in members.keys() {
                by_program[program].push(ProgramOnTable {
                    table: table_index,
                    wild: wild.binary_search(&program).is_ok(),
                    groups: Vec::new(),
                });
            }
            for (group_index, group) in groups.iter().enumerate() {
                for &program in group {
                    if let Some(on_table) = by_program[program]
                        .iter_mut()
                        .find(|on_table| on_table.table == table_index)
                    {
                        on_table.groups.push(group_index);
                    }
                }
            }
            let (members, writes) = members.into_iter().unzip();
            tables.push(TableMembers {
                members,
                writes,
                wild,
                groups,
            });
        }
        PairIndex { tables, by_program }
    }

    /// The programs `program` meets on some table, one of the two writing it (`program` itself
    /// when two instances of it meet), ascending.
    pub fn partners(&self, program: usize, scratch: &mut PartnerScratch) -> Vec<usize> {
        self.partners_from(program, 0, scratch)
    }

    /// [`PairIndex::partners`] from `first` on: those below it are left out.
    pub fn partners_from(
        &self,
        program: usize,
        first: usize,
        scratch: &mut PartnerScratch,
    ) -> Vec<usize> {
        let count = self.by_program.len();
        if scratch.seen.len() < count {
            scratch.seen.resize(count, 0);
        }
        scratch.stamp = scratch.stamp.wrapping_add(1);
        if scratch.stamp == 0 {
            scratch.seen.iter_mut().for_each(|seen| *seen = 0);
            scratch.stamp = 1;
        }
        let stamp = scratch.stamp;
        let mut partners = Vec::new();
        for on_table in &self.by_program[program] {
            let table = &self.tables[on_table.table];
            let writes = table.writes(program);
            let mut visit = |candidates: &[usize], partners: &mut Vec<usize>| {
                // Each list is ascending: those below `first` are a prefix.
                let from = candidates.partition_point(|other| *other < first);
                for &other in &candidates[from..] {
                    if scratch.seen[other] != stamp && (writes || table.writes(other)) {
                        scratch.seen[other] = stamp;
                        partners.push(other);
                    }
                }
            };
            if on_table.wild {
                visit(&table.members, &mut partners);
            } else {
                visit(&table.wild, &mut partners);
                for &group in &on_table.groups {
                    visit(&table.groups[group], &mut partners);
                }
            }
        }
        partners.sort_unstable();
        partners
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
