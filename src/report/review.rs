//! The design review (`isolint report`): what its HTML and Markdown renderings share. The
//! facts come from the check, the pair conflicts and the advisor; this module only arranges
//! and words them.

use std::collections::{BTreeMap, BTreeSet};

use crate::access::{Access, AccessKind, Columns, LockTarget, OnConflict, SetValue};
use crate::advisor::{self, Advisor};
use crate::analysis::Context;
use crate::analysis::finding::{Finding, StatementRef};
use crate::analysis::pair_conflicts::{PairConflicts, Strength, pair_conflicts};
use crate::parse::{LockClause, LockStrength};
use crate::program::{LevelSource, Program};
use crate::report::graph::{DrawnGraph, drawn_graph, most_involved};
use crate::rule::{Rule, Severity};
use crate::semantics::Level;
use crate::{CheckOptions, CheckResult};

/// More programs than this and the pair matrix shows only the programs most involved in
/// findings.
pub const MAX_MATRIX: usize = 30;

pub struct Review<'a> {
    pub result: &'a CheckResult,
    pub pairs: Vec<PairConflicts>,
    pub graph: DrawnGraph,
    pub advisor: Advisor,
}

impl<'a> Review<'a> {
    pub fn build(result: &'a CheckResult, options: &CheckOptions) -> Review<'a> {
        let pairs = conflicts_of(result);
        Review {
            graph: drawn_graph(result, &pairs),
            pairs,
            advisor: advisor::advise(result, options),
            result,
        }
    }

    /// What `isolint confirm` saw of the finding numbered `number` (from 1), in one sentence:
    /// the verdict, why, and the parameter values it ran with.
    pub fn confirmation(&self, number: usize) -> Option<String> {
        let confirmation = self.result.confirmations.get(&number.checked_sub(1)?)?;
        let values: Vec<String> = confirmation
            .parameters
            .iter()
            .enumerate()
            .filter(|(_, values)| !values.is_empty())
            .map(|(session, values)| {
                let pairs: Vec<String> = values
                    .iter()
                    .map(|(name, value)| format!("{name}={value}"))
                    .collect();
                format!("T{} with {}", session + 1, pairs.join(" "))
            })
            .collect();
        let with = if values.is_empty() {
            String::new()
        } else {
            format!(" ({})", values.join("; "))
        };
        Some(format!(
            "{}: {}{with}",
            confirmation.verdict.id(),
            confirmation.reason
        ))
    }

    pub fn engine_name(&self) -> &str {
        self.result.semantics.display(self.result.engine)
    }

    /// The strongest conflict between two programs.
    pub fn strength(&self, first: usize, second: usize) -> Strength {
        let key = (first.min(second), first.max(second));
        self.pairs
            .binary_search_by_key(&key, |pair| (pair.first, pair.second))
            .map(|index| self.pairs[index].strongest())
            .unwrap_or(Strength::None)
    }

    /// The programs of the pair matrix: all, or the most involved in findings.
    pub fn matrix_programs(&self) -> Vec<usize> {
        most_involved(self.result, MAX_MATRIX)
    }

    /// Whether the two programs share a finding.
    pub fn share_a_finding(&self, first: usize, second: usize) -> bool {
        self.result.findings.iter().any(|finding| {
            finding.programs.contains(&first)
                && finding.programs.contains(&second)
                && (first != second
                    || finding.instances.iter().filter(|p| **p == first).count() > 1)
        })
    }
}

/// The pair conflicts of a finished check.
pub fn conflicts_of(result: &CheckResult) -> Vec<PairConflicts> {
    let context = Context {
        programs: &result.programs,
        catalog: &result.catalog,
        semantics: result.semantics,
        engine: result.engine,
    };
    let mut pairs = pair_conflicts(&context);
    pairs.sort_by_key(|pair| (pair.first, pair.second));
    pairs
}

/// The picture alone, for `isolint graph`.
pub fn graph_of(result: &CheckResult) -> DrawnGraph {
    drawn_graph(result, &conflicts_of(result))
}

/// Each level in use with the number of programs at it, weakest first.
pub fn levels_in_use(result: &CheckResult) -> Vec<(Level, usize)> {
    let mut counts: BTreeMap<Level, usize> = BTreeMap::new();
    for program in &result.programs {
        *counts.entry(program.level).or_default() += 1;
    }
    counts.into_iter().collect()
}

/// Findings per rule and the severity they are reported at (a rule can have findings of
/// both), in registry order, errors first.
pub fn rule_counts(result: &CheckResult) -> Vec<(Rule, Severity, usize)> {
    let mut counts: BTreeMap<(Rule, bool), usize> = BTreeMap::new();
    for finding in &result.findings {
        let warning = result.severity(finding) == Severity::Warning;
        *counts.entry((finding.rule, warning)).or_default() += 1;
    }
    counts
        .into_iter()
        .map(|((rule, warning), count)| {
            let severity = if warning {
                Severity::Warning
            } else {
                Severity::Error
            };
            (rule, severity, count)
        })
        .collect()
}

pub fn severity_counts(result: &CheckResult) -> (usize, usize) {
    let errors = result
        .findings
        .iter()
        .filter(|finding| result.severity(finding) == Severity::Error)
        .count();
    (errors, result.findings.len() - errors)
}

pub fn level_source(program: &Program) -> &'static str {
    match program.level_source {
        LevelSource::Declared => "declared",
        LevelSource::Configured => "configured",
        LevelSource::EngineDefault => "engine default",
        LevelSource::StableFunction => "a STABLE function reads on one snapshot",
    }
}

/// What kind of program it is, for the inventory: empty for a transaction script.
pub fn program_kind(program: &Program) -> &'static str {
    match program.kind {
        crate::program::ProgramKind::Script => "",
        crate::program::ProgramKind::Routine => " (routine)",
        crate::program::ProgramKind::Query => " (query)",
        crate::program::ProgramKind::Trigger => " (trigger)",
    }
}

/// One line of the transaction inventory: what one access of one statement does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRow {
    /// `reads`, `reads (FOR UPDATE)`, `writes`, `deletes`, `inserts`, `upserts`, `locks`.
    pub action: String,
    pub table: String,
    pub columns: String,
    pub rows: String,
}

/// What each access of `program` does, statement by statement: `(statement, rows)`.
pub fn inventory(program: &Program) -> Vec<(usize, Vec<AccessRow>)> {
    program
        .statements
        .iter()
        .enumerate()
        .filter(|(_, statement)| !statement.accesses.is_empty())
        .map(|(index, statement)| (index, statement.accesses.iter().map(access_row).collect()))
        .collect()
}

fn access_row(access: &Access) -> AccessRow {
    let names = |columns: &BTreeSet<String>| columns.iter().cloned().collect::<Vec<_>>().join(", ");
    let (action, columns) = match &access.kind {
        AccessKind::Read {
            value,
            predicate,
            lock,
            ..
        } => {
            let action = match lock {
                Some(lock) => format!("reads ({})", lock_sql(lock)),
                None => "reads".to_string(),
            };
            let mut columns = match value {
                Columns::All => "*".to_string(),
                Columns::Some(set) => names(set),
            };
            if !predicate.is_empty() {
                if !columns.is_empty() {
                    columns.push_str("; ");
                }
                columns.push_str(&format!("compares {}", names(predicate)));
            }
            (action, columns)
        }
        AccessKind::Update { set, guarded, .. } => {
            let action = if *guarded {
                "writes (compare-and-set)"
            } else {
                "writes"
            };
            (action.to_string(), assignments(set))
        }
        AccessKind::Delete { .. } => ("deletes".to_string(), "whole rows".to_string()),
        AccessKind::Insert {
            columns,
            on_conflict,
        } => {
            let action = match on_conflict {
                OnConflict::Update(set) => {
                    format!("upserts (on conflict sets {})", assignments(set))
                }
                OnConflict::DoNothing => "inserts (on conflict do nothing)".to_string(),
                OnConflict::Error => "inserts".to_string(),
            };
            (action, names(columns))
        }
        AccessKind::Lock(LockTarget::Table) => ("locks".to_string(), "the table".to_string()),
        AccessKind::Lock(LockTarget::Advisory(keys)) => {
            let keys: Vec<String> = keys
                .iter()
                .map(|key| key.as_ref().map_or("?".to_string(), |term| term.render()))
                .collect();
            (
                "locks".to_string(),
                format!("advisory lock ({})", keys.join(", ")),
            )
        }
    };
    AccessRow {
        action,
        table: if access.table.is_empty() {
            "—".to_string()
        } else {
            access.table.clone()
        },
        columns,
        rows: access.rows.describe(),
    }
}

fn assignments(set: &BTreeMap<String, SetValue>) -> String {
    set.iter()
        .map(|(column, value)| match value {
            SetValue::InPlace => format!("{column} (in place)"),
            _ => column.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn lock_sql(lock: &LockClause) -> &'static str {
    match lock.strength {
        LockStrength::KeyShare => "FOR KEY SHARE",
        LockStrength::Share => "FOR SHARE",
        LockStrength::NoKeyUpdate => "FOR NO KEY UPDATE",
        LockStrength::Update => "FOR UPDATE",
    }
}

/// The price of a suggested fix, from the kind of fix its title describes.
pub fn fix_trade_off(title: &str) -> &'static str {
    let title_mentions = |words: &[&str]| words.iter().any(|word| title.contains(word));
    if title.starts_with("run the transactions at") {
        "every transaction at that level may fail with a serialization error and must be retried"
    } else if title_mentions(&["UNIQUE or EXCLUDE"]) {
        "the second write fails with a constraint violation the application must handle"
    } else if title_mentions(&["guard the write", "compare-and-set"]) {
        "the loser updates 0 rows and must re-read and retry"
    } else if title_mentions(&["inside one UPDATE"]) {
        "none at run time; the check moves into SQL"
    } else if title_mentions(&["NOLOCK"]) {
        "reads wait for writers (or use row versioning)"
    } else if title_mentions(&["FOR UPDATE", "FOR SHARE", "UPDLOCK", "HOLDLOCK", "lock"]) {
        "blocking: a concurrent transaction on the same rows waits until this one commits"
    } else {
        "see the rule's documentation (`isolint explain`)"
    }
}

/// The advisor's answer for a program, in words.
pub fn advice_text(review: &Review, advice: &advisor::Advice) -> (String, String) {
    let engine = review.result.engine;
    match advice.level {
        _ if advice.findings == 0 => (
            "its level".to_string(),
            "no finding involves it".to_string(),
        ),
        Some(level) => (
            level.sql().to_string(),
            advisor::level_cost(review.result.semantics, engine, level),
        ),
        None => (
            "none".to_string(),
            "no level of this engine clears it: use a fix below".to_string(),
        ),
    }
}

/// At most this many fixes that keep the level are listed per program.
const MAX_KEEP_LEVEL_FIXES: usize = 3;

/// The fixes that keep the program's level, from the findings it takes part in.
pub fn fixes_without_level_change(result: &CheckResult, program: usize) -> Vec<&str> {
    let mut titles: Vec<&str> = Vec::new();
    for finding in &result.findings {
        if !finding.programs.contains(&program) {
            continue;
        }
        for fix in &finding.fixes {
            if !fix.title.starts_with("run the transactions at")
                && !titles.contains(&fix.title.as_str())
            {
                titles.push(&fix.title);
            }
            if titles.len() == MAX_KEEP_LEVEL_FIXES {
                return titles;
            }
        }
    }
    titles
}

/// The source text of a statement, as written.
pub fn statement_source(result: &CheckResult, at: StatementRef) -> &str {
    let program = &result.programs[at.program];
    result.files[program.file].slice(program.statements[at.statement].range)
}

/// More findings than this and the ones after it are listed in a table without their
/// statements, witness and fixes, so the review stays readable and small.
pub const MAX_DETAILED: usize = 100;

/// At most this many partners are named per program in the advisor; the rest are counted.
const MAX_PARTNERS: usize = 6;

/// The names of the programs an advice's program shares findings with, and how many more
/// there are.
pub fn partner_names<'r>(
    result: &'r CheckResult,
    advice: &advisor::Advice,
) -> (Vec<&'r str>, usize) {
    let names = advice
        .partners
        .iter()
        .take(MAX_PARTNERS)
        .map(|partner| result.programs[*partner].name.as_str())
        .collect();
    (names, advice.partners.len().saturating_sub(MAX_PARTNERS))
}

/// The statements a finding involves, each once (two instances of one program run the same
/// statements), with what each does in the anomaly.
pub fn involved_statements(result: &CheckResult, finding: &Finding) -> Vec<(StatementRef, String)> {
    let labels = std::iter::once(super::human::primary_label(result, finding))
        .chain(finding.related.iter().map(|(_, label)| label.clone()));
    let mut involved: Vec<(StatementRef, String)> = Vec::new();
    for (at, label) in finding.statements().zip(labels) {
        match involved.iter_mut().find(|(seen, _)| *seen == at) {
            Some((_, labels)) => {
                labels.push_str("; ");
                labels.push_str(&label);
            }
            None => involved.push((at, label)),
        }
    }
    involved
}

/// The statements isolint could not (fully) read: `file:line` when known, and why.
pub fn unread_statements(result: &CheckResult) -> Vec<(String, &str)> {
    result
        .diagnostics
        .iter()
        .filter(|diagnostic| diagnostic.kind == crate::DiagnosticKind::ParseError)
        .map(|diagnostic| {
            let place = diagnostic.file.map_or(String::new(), |file| {
                let at = super::location(result, file, diagnostic.range);
                format!("{}:{}", at.file, at.line)
            });
            (place, diagnostic.message.as_str())
        })
        .collect()
}
