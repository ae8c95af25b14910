//! The isolation advisor: for each program, the weakest level of the engine that clears every
//! finding it takes part in and what that level costs, and what-if finding counts for every
//! level of every engine.
//!
//! Architecture Invariant: the advisor decides no anomaly itself. It runs the analysis again
//! with the programs' levels overridden and reads the findings that come back.

use std::collections::{BTreeMap, BTreeSet};

use crate::analysis::finding::Finding;
use crate::analysis::{self, Context};
use crate::program::Program;
use crate::rule::Rule;
use crate::semantics::{Engine, Level, Semantics};
use crate::{CheckOptions, CheckResult, check_sources};

/// What the advisor says about one program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advice {
    pub program: usize,
    /// The findings the program takes part in at its current level.
    pub findings: usize,
    /// The weakest level that clears them (the current one when there are none); `None` when
    /// no level of the engine does.
    pub level: Option<Level>,
    /// The programs that share a finding with this one: they must run at that level too.
    pub partners: Vec<usize>,
}

/// Finding counts for one engine with every program at one level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhatIf {
    pub engine: Engine,
    /// One entry per level the engine accepts, weakest first.
    pub counts: Vec<(Level, usize)>,
    /// Statements this engine's parser could not read (the workload is written for another).
    pub parse_errors: usize,
}

/// Everything the advisor found.
#[derive(Debug, Clone)]
pub struct Advisor {
    pub advice: Vec<Advice>,
    /// The engine checked first, then the others.
    pub what_if: Vec<WhatIf>,
}

/// Runs the advisor on a finished check. `options` are the options of that check.
pub fn advise(result: &CheckResult, options: &CheckOptions) -> Advisor {
    Advisor {
        advice: program_advice(result, &options.rules),
        what_if: what_if(result, options),
    }
}

/// The findings of `result`'s workload with each program at the level `level_of` gives it.
fn findings_with_levels(
    result: &CheckResult,
    rules: &BTreeSet<Rule>,
    level_of: impl Fn(usize, &Program) -> Level,
) -> Vec<Finding> {
    let programs: Vec<Program> = result
        .programs
        .iter()
        .enumerate()
        .map(|(index, program)| Program {
            level: level_of(index, program),
            ..program.clone()
        })
        .collect();
    let context = Context {
        programs: &programs,
        catalog: &result.catalog,
        semantics: result.semantics,
        engine: result.engine,
    };
    analysis::analyse(&context, rules).findings
}

/// Per program: run every program that takes part in a finding at each level of the engine in
/// turn (never below its own level), and take the weakest level at which the program is in no
/// finding any more.
fn program_advice(result: &CheckResult, rules: &BTreeSet<Rule>) -> Vec<Advice> {
    let mut involved: BTreeMap<usize, (usize, BTreeSet<usize>)> = BTreeMap::new();
    for finding in &result.findings {
        for program in &finding.programs {
            let (count, partners) = involved.entry(*program).or_default();
            *count += 1;
            partners.extend(finding.programs.iter().filter(|other| *other != program));
        }
    }
    let mut still_involved: BTreeMap<Level, BTreeSet<usize>> = BTreeMap::new();
    if !involved.is_empty() {
        for level in result.semantics.levels(result.engine) {
            let raised = findings_with_levels(result, rules, |index, program| {
                if involved.contains_key(&index) {
                    program.level.max(level)
                } else {
                    program.level
                }
            });
            still_involved.insert(
                level,
                raised
                    .iter()
                    .flat_map(|finding| finding.programs.iter().copied())
                    .collect(),
            );
        }
    }
    result
        .programs
        .iter()
        .enumerate()
        .map(|(index, program)| match involved.get(&index) {
            None => Advice {
                program: index,
                findings: 0,
                level: Some(program.level),
                partners: Vec::new(),
            },
            Some((count, partners)) => Advice {
                program: index,
                findings: *count,
                level: still_involved
                    .iter()
                    .find(|(level, programs)| {
                        **level >= program.level && !programs.contains(&index)
                    })
                    .map(|(level, _)| *level),
                partners: partners.iter().copied().collect(),
            },
        })
        .collect()
}

/// Finding counts with every program at each level, on this engine and on the others. The
/// other engines check the same files again, parsed in their own dialect.
fn what_if(result: &CheckResult, options: &CheckOptions) -> Vec<WhatIf> {
    let others = Engine::ALL
        .into_iter()
        .filter(|engine| *engine != result.engine);
    let mut tables = vec![counts_per_level(result, &options.rules)];
    for engine in others {
        let checked = check_sources(
            result.files.clone(),
            &CheckOptions {
                engine,
                isolation: None,
                ..options.clone()
            },
        );
        tables.push(counts_per_level(&checked, &options.rules));
    }
    tables
}

fn counts_per_level(result: &CheckResult, rules: &BTreeSet<Rule>) -> WhatIf {
    let counts = result
        .semantics
        .levels(result.engine)
        .into_iter()
        .map(|level| {
            (
                level,
                findings_with_levels(result, rules, |_, _| level).len(),
            )
        })
        .collect();
    WhatIf {
        engine: result.engine,
        counts,
        parse_errors: result.parse_errors,
    }
}

/// What running at `level` costs on `engine`, read from what the level prevents and how.
pub fn level_cost(semantics: &Semantics, engine: Engine, level: Level) -> String {
    let spec = semantics.level(engine, level);
    let prevents_lost_update = !semantics.permits(engine, level, Rule::LostUpdate);
    let retry = semantics.retry(engine);
    match (spec.permits.is_empty(), spec.snapshot) {
        (true, true) => format!("every transaction at this level must retry on {retry}"),
        (true, false) => match semantics.declared_retry(engine) {
            None => "reads lock what they read until commit: more blocking and deadlocks, so \
                     retry on deadlock"
                .to_string(),
            Some(retry) => format!(
                "reads lock what they read until commit: more blocking, and transactions fail \
                 with {retry}"
            ),
        },
        (false, true) if prevents_lost_update => {
            format!("a concurrent update of the same row aborts one transaction: retry on {retry}")
        }
        _ => "no extra waits or retries".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(transactions: &str) -> (CheckResult, CheckOptions) {
        crate::analysis::testing::check(Engine::Postgres, &[], None, ACCOUNTS, transactions, &[])
    }

    /// The advice for the first program of `transactions` on PostgreSQL.
    fn first_advice(transactions: &str) -> Advice {
        let (result, options) = check(transactions);
        advise(&result, &options).advice.remove(0)
    }

    const ACCOUNTS: &str = "CREATE TABLE accounts (id int PRIMARY KEY, balance int);";
    const WITHDRAW: &str = "-- name: withdraw\nBEGIN;\n\
                            SELECT balance FROM accounts WHERE id = $1;\n\
                            UPDATE accounts SET balance = $2 WHERE id = $1;\nCOMMIT;\n";

    #[test]
    fn a_program_without_findings_keeps_its_level() {
        let advice = first_advice(
            "BEGIN; UPDATE accounts SET balance = balance - $2 WHERE id = $1; COMMIT;",
        );
        assert_eq!(
            (advice.findings, advice.level),
            (0, Some(Level::ReadCommitted))
        );
    }

    #[test]
    fn lost_update_needs_repeatable_read_on_postgres() {
        let advice = first_advice(WITHDRAW);
        assert_eq!(
            (advice.findings, advice.level),
            (1, Some(Level::RepeatableRead))
        );
    }

    #[test]
    fn what_if_covers_every_level_of_every_engine() {
        let (result, options) = check(WITHDRAW);
        let advisor = advise(&result, &options);
        let engines: Vec<Engine> = advisor.what_if.iter().map(|table| table.engine).collect();
        assert_eq!(engines[0], Engine::Postgres);
        assert_eq!(engines.len(), Engine::ALL.len());
        let postgres: Vec<(Level, usize)> = advisor.what_if[0].counts.clone();
        assert_eq!(
            postgres,
            vec![
                (Level::ReadCommitted, 1),
                (Level::RepeatableRead, 0),
                (Level::Serializable, 0)
            ]
        );
    }

    #[test]
    fn serializable_costs_retries_on_postgres_and_locks_on_mysql() {
        assert!(
            level_cost(Semantics::embedded(), Engine::Postgres, Level::Serializable)
                .contains("40001")
        );
        assert!(
            level_cost(Semantics::embedded(), Engine::Mysql, Level::Serializable)
                .contains("deadlock")
        );
        assert_eq!(
            level_cost(
                Semantics::embedded(),
                Engine::Postgres,
                Level::ReadCommitted
            ),
            "no extra waits or retries"
        );
    }
}
