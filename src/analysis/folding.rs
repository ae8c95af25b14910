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

/// One finding per rule and ordered set of programs; the first by statement position wins.
pub(super) fn dedupe_and_sort(context: &Context, mut findings: Vec<Finding>) -> Vec<Finding> {
    let key = |finding: &Finding| {
        let program = &context.programs[finding.primary.program];
        (
            program.file,
            program.statements[finding.primary.statement].range.start,
            finding.rule,
            finding.programs.clone(),
            finding
                .statements()
                .map(|at| (at.program, at.statement))
                .collect::<Vec<_>>(),
        )
    };
    findings.par_sort_by_cached_key(key);
    let mut seen = BTreeSet::new();
    findings.retain(|finding| seen.insert((finding.rule, finding.programs.clone())));
    fold_partners(context, findings)
}

/// One finding per rule and statement at fault: the findings of one rule at one statement are
/// one root cause, kept as the first of them (the statement's program against itself, where
/// that is a finding, else the first partner by position), with the other programs as
/// partners, each at its statement in the partner's part. A statement that races with each of
/// a data file's 100,000 single-row updates is one finding, not 100,000. A dangerous structure
/// is already one per pivot.
fn fold_partners(context: &Context, findings: Vec<Finding>) -> Vec<Finding> {
    let mut kept: Vec<Finding> = Vec::with_capacity(findings.len());
    let mut representative: HashMap<(Rule, StatementRef), usize> = HashMap::new();
    for finding in findings {
        let primary = finding.primary;
        let partner = finding
            .related
            .iter()
            .map(|(at, _)| *at)
            .find(|at| at.program != primary.program);
        let Some(partner) = partner.filter(|_| finding.programs.len() == 2) else {
            if finding.programs.len() == 1 {
                representative
                    .entry((finding.rule, primary))
                    .or_insert(kept.len());
            }
            kept.push(finding);
            continue;
        };
        match representative.entry((finding.rule, primary)) {
            std::collections::hash_map::Entry::Occupied(entry) => {
                kept[*entry.get()].partners.push(partner);
            }
            std::collections::hash_map::Entry::Vacant(entry) => {
                entry.insert(kept.len());
                kept.push(finding);
            }
        }
    }
    for finding in kept
        .iter_mut()
        .filter(|finding| !finding.partners.is_empty())
    {
        finding
            .message
            .push_str(&partners_sentence(context, &finding.partners));
    }
    kept
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
