//! One finding per root cause: the most specific anomaly of a pair stands for the others, and
//! the pairs of one statement at fault are one finding, its partners listed.

use std::collections::{BTreeSet, HashMap};

use rayon::prelude::*;

use super::Context;
use super::finding::{Finding, StatementRef};
use crate::rule::Rule;

/// One finding per root cause within a pair: where a lost update, a write skew, a phantom
/// write skew and a read skew share a statement, the most specific one (in that order) stands
/// for the others (a read skew between two reads the other side's write skew already names is
/// that write skew seen from one side).
///
/// A finding silenced by an ignore directive stands for nothing: what it would fold is
/// reported on its own, so `ignore write-skew` does not also hide a read skew.
pub(super) fn fold_root_causes(findings: &mut Vec<Finding>, silenced: impl Fn(&Finding) -> bool) {
    use Rule::{LostUpdate, PhantomWriteSkew, ReadSkew, WriteSkew};
    let specificity = |rule| match rule {
        LostUpdate => Some(0),
        WriteSkew => Some(1),
        PhantomWriteSkew => Some(2),
        ReadSkew => Some(3),
        _ => None,
    };
    let programs =
        |finding: &Finding| -> BTreeSet<usize> { finding.programs.iter().copied().collect() };
    let folded: Vec<bool> = findings
        .iter()
        .map(|finding| {
            let Some(rank) = specificity(finding.rule) else {
                return false;
            };
            let statements: BTreeSet<StatementRef> = finding.statements().collect();
            findings.iter().any(|other| {
                specificity(other.rule).is_some_and(|other_rank| other_rank < rank)
                    && programs(other) == programs(finding)
                    && !silenced(other)
                    && other.statements().any(|at| statements.contains(&at))
            })
        })
        .collect();
    let mut index = 0;
    findings.retain(|_| {
        index += 1;
        !folded[index - 1]
    });
}

/// The sort key of a finding: where its statement at fault is, then its rule, programs and
/// statements.
pub(super) type SortKey = (usize, usize, Rule, Vec<usize>, Vec<(usize, usize)>);

fn sort_key(context: &Context, finding: &Finding) -> SortKey {
    let program = &context.programs[finding.primary.program];
    (
        program.file,
        program.statements[finding.primary.statement].range.start,
        finding.rule,
        finding.programs.clone(),
        finding
            .statements()
            .map(|at| (at.program, at.statement))
            .collect(),
    )
}

/// Sorted, one finding per rule and ordered set of programs (the first by statement position
/// wins). The pair rules' findings come folded already ([`fold_program`]), one per rule and
/// statement at fault, and stay as they are.
pub(super) fn dedupe_and_sort(context: &Context, mut findings: Vec<Finding>) -> Vec<Finding> {
    findings.par_sort_by_cached_key(|finding| sort_key(context, finding));
    let mut seen = BTreeSet::new();
    findings.retain(|finding| seen.insert((finding.rule, finding.programs.clone())));
    findings
}

/// A finding of one pair, before it is built: its sort key, and the pair (in the order the
/// rules saw it) that gives it.
pub(super) struct Candidate {
    pub key: SortKey,
    pub pair: (usize, usize),
}

impl Candidate {
    /// `finding` of the pair `pair`.
    pub(super) fn of(context: &Context, finding: &Finding, pair: (usize, usize)) -> Candidate {
        let statements = finding
            .statements()
            .map(|at| (at.program, at.statement))
            .collect();
        Candidate::with(context, finding, pair, |program| program, statements)
    }

    /// The same finding of the pair with `to` in place of `from` (a partner of the same shape,
    /// [`super::shapes`]), `from`'s statement `s` becoming `to`'s `statement(s)`. `None` when
    /// the finding names a statement of `from` that `statement` does not map.
    pub(super) fn moved(
        context: &Context,
        finding: &Finding,
        pair: (usize, usize),
        (from, to): (usize, usize),
        statement: impl Fn(usize) -> Option<usize>,
    ) -> Option<Candidate> {
        let program = |at: usize| if at == from { to } else { at };
        let statements: Vec<(usize, usize)> = finding
            .statements()
            .map(|at| {
                if at.program == from {
                    statement(at.statement).map(|moved| (to, moved))
                } else {
                    Some((at.program, at.statement))
                }
            })
            .collect::<Option<_>>()?;
        Some(Candidate::with(context, finding, pair, program, statements))
    }

    /// `finding` of `pair` with `program` in place of each program and `statements` in place
    /// of its statements.
    fn with(
        context: &Context,
        finding: &Finding,
        pair: (usize, usize),
        program: impl Fn(usize) -> usize,
        statements: Vec<(usize, usize)>,
    ) -> Candidate {
        let (owner, statement) = statements[0];
        let owner = &context.programs[owner];
        Candidate {
            key: (
                owner.file,
                owner.statements[statement].range.start,
                finding.rule,
                finding.programs.iter().map(|at| program(*at)).collect(),
                statements,
            ),
            pair: (program(pair.0), program(pair.1)),
        }
    }
}

/// The root causes at fault in `program`, from its candidates (every finding of every pair at
/// fault in it that no ignore silences, in the order the pairs gave them). As across a whole
/// project: sorted, one per rule and ordered set of programs (the first by statement position
/// wins), then one per rule and statement at fault, kept as the first of them (the
/// statement's program against itself, where that is a finding, else the first partner by
/// position), with the other programs as partners, each at its statement in the partner's
/// part. A statement that races with each of a data file's 100,000 single-row updates is one
/// finding, not 100,000.
///
/// The finding kept for a root cause is built again from its pair (`rebuild(pair)` gives the
/// pair's findings), so that it names its own programs.
pub(super) fn fold_program(
    program: usize,
    mut candidates: Vec<Candidate>,
    rebuild: impl Fn((usize, usize)) -> Vec<Finding>,
    context: &Context,
) -> Vec<Finding> {
    // Stable: of two findings with one key, the pair's first stays, as it would across the
    // whole project.
    candidates.sort_by(|a, b| a.key.cmp(&b.key));
    let mut seen = BTreeSet::new();
    candidates.retain(|candidate| seen.insert((candidate.key.2, candidate.key.3.clone())));
    // One per rule and statement at fault: the kept candidate, and its partners.
    let mut kept: Vec<(&Candidate, Vec<StatementRef>)> = Vec::new();
    let mut representative: HashMap<(Rule, usize), usize> = HashMap::new();
    for candidate in &candidates {
        let (_, _, rule, programs, statements) = &candidate.key;
        let primary = statements[0].1;
        let partner = statements[1..]
            .iter()
            .find(|(at, _)| *at != program)
            .map(|&(program, statement)| StatementRef { program, statement });
        let Some(partner) = partner.filter(|_| programs.len() == 2) else {
            if programs.len() == 1 {
                representative.entry((*rule, primary)).or_insert(kept.len());
            }
            kept.push((candidate, Vec::new()));
            continue;
        };
        match representative.entry((*rule, primary)) {
            std::collections::hash_map::Entry::Occupied(entry) => {
                kept[*entry.get()].1.push(partner);
            }
            std::collections::hash_map::Entry::Vacant(entry) => {
                entry.insert(kept.len());
                kept.push((candidate, Vec::new()));
            }
        }
    }
    kept.into_iter()
        .filter_map(|(candidate, partners)| {
            // Invariant: partners of one shape have the same findings up to their statements
            // (see `shapes`), so the pair gives the finding its candidate stands for.
            let mut finding = rebuild(candidate.pair)
                .into_iter()
                .find(|finding| sort_key(context, finding) == candidate.key)?;
            if !partners.is_empty() {
                finding
                    .message
                    .push_str(&partners_sentence(context, &partners));
            }
            finding.partners = partners;
            Some(finding)
        })
        .collect()
}

/// How a finding's message names the partners folded into it: a count and the first few.
fn partners_sentence(context: &Context, partners: &[StatementRef]) -> String {
    const NAMED: usize = 3;
    let names: Vec<String> = partners
        .iter()
        .take(NAMED)
        .map(|at| format!("`{}`", context.name_of(at.program)))
        .collect();
    let more = if partners.len() > NAMED { ", …" } else { "" };
    let count = partners.len();
    let transactions = if count == 1 {
        "transaction"
    } else {
        "transactions"
    };
    format!(
        "; the same holds with {count} more {transactions}: {}{more}",
        names.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use crate::semantics::Engine;

    const ACCOUNTS: &str = "CREATE TABLE accounts (id int PRIMARY KEY, balance int, note text);";

    const WITHDRAW: &str = "-- name: withdraw
        BEGIN; SELECT balance FROM accounts WHERE id = $1;
        UPDATE accounts SET balance = $2 WHERE id = $1; COMMIT;
        ";

    /// The names of each finding's programs, then its partners'.
    fn folded(transactions: &str) -> Vec<(String, Vec<String>)> {
        let (result, _) = crate::analysis::testing::check(
            Engine::Postgres,
            &[],
            None,
            ACCOUNTS,
            transactions,
            &[],
        );
        let name = |program: usize| result.programs[program].name.clone();
        result
            .findings
            .iter()
            .map(|finding| {
                let names: Vec<String> = finding.programs.iter().map(|p| name(*p)).collect();
                (
                    format!("{}: {}", finding.rule.id(), names.join(", ")),
                    finding.partners.iter().map(|at| name(at.program)).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn the_pairs_of_one_statement_at_fault_are_one_finding() {
        let updates: String = (1..=5)
            .map(|id| format!("UPDATE accounts SET balance = balance + {id} WHERE id = {id};\n"))
            .collect();
        let reset = "UPDATE accounts SET balance = 0, note = 'reset' WHERE id = $1;\n";
        let found = folded(&format!("{WITHDRAW}{updates}{reset}"));
        let names = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        // `withdraw` against itself stands first; every other writer of the row is a partner.
        assert_eq!(
            found,
            [(
                "lost-update: withdraw".to_string(),
                names(&["txns:4", "txns:5", "txns:6", "txns:7", "txns:8", "txns:9"])
            )]
        );
    }

    #[test]
    fn each_statement_at_fault_is_its_own_finding() {
        let deposit = WITHDRAW.replace("withdraw", "deposit");
        let found = folded(&format!("{WITHDRAW}{deposit}"));
        let names = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        assert_eq!(
            found,
            [
                ("lost-update: withdraw".to_string(), names(&["deposit"])),
                ("lost-update: deposit".to_string(), names(&["withdraw"])),
            ]
        );
    }
}
