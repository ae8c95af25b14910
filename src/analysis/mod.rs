//! The analysis: pairs of transaction programs that share a table, the rw/wr/ww conflicts
//! between two instances of them, the dependency graph, and the rules that read anomalies off
//! them.
//!
//! Architecture Invariant: analysis does no I/O and never fails; findings are data.

pub mod conflict;
pub mod cycles;
mod driver;
pub mod finding;
pub mod fixes;
mod folding;
pub mod graph;
pub mod pair_conflicts;
mod pairing;
mod shapes;
mod template;

use folding::dedupe_and_sort;
pub use pairing::{CandidatePairs, PairIndex, PartnerScratch, candidate_pairs};
pub mod rules;
pub mod unify;

use std::collections::BTreeSet;
use std::rc::Rc;

use crate::catalog::Catalog;
use crate::program::Program;
use crate::progress::Progress;
use crate::rule::Rule;
use crate::semantics::{Engine, Level, Semantics};
use conflict::{Instance, RwEdge, rw_edges};
use finding::{Finding, StatementRef};

/// Everything a rule may look at.
pub struct Context<'a> {
    pub programs: &'a [Program],
    pub catalog: &'a Catalog,
    /// The run's engine table: the configured settings and the migrations'. A program whose
    /// own SQL chose a setting runs with its own table ([`Context::semantics_of`]).
    pub semantics: &'a Semantics,
    pub engine: Engine,
}

impl Context<'_> {
    /// The engine table `program` runs with: its own when its SQL chose one of the engine's
    /// settings for it (TiDB's `BEGIN OPTIMISTIC`), else the run's.
    pub fn semantics_of<'p>(&'p self, program: &'p Program) -> &'p Semantics {
        program.semantics.unwrap_or(self.semantics)
    }

    /// Whether the weakest of `programs`' levels lets `rule` through on this engine, each
    /// level as its program's own table has it. Repeatable read and snapshot are incomparable
    /// (SQL Server has both: one locks the rows it reads, the other reads a snapshot), so when
    /// both are weakest, either letting it through is enough; so is either of two programs at
    /// the weakest level in different modes (TiDB's pessimistic and optimistic).
    pub fn permits(&self, programs: &[&Program], rule: Rule) -> bool {
        let Some(weakest) = programs.iter().map(|program| program.level).min() else {
            return false;
        };
        programs
            .iter()
            .filter(|program| {
                program.level == weakest
                    || (weakest == Level::RepeatableRead && program.level == Level::Snapshot)
            })
            .any(|program| {
                self.semantics_of(program)
                    .permits(self.engine, program.level, rule)
            })
    }

    pub fn name_of(&self, program: usize) -> &str {
        &self.programs[program].name
    }

    /// "READ COMMITTED on PostgreSQL".
    pub fn describe_level(&self, level: Level) -> String {
        format!("{} on {}", level.sql(), self.semantics.display(self.engine))
    }

    /// The weakest of `programs`' levels as [`Context::describe_level`] says it, or that a
    /// program's steps commit separately where one's do: no level isolates those.
    pub fn describe_levels(&self, programs: &[&Program]) -> String {
        if let Some(separate) = programs.iter().find(|p| !p.step_ends.is_empty()) {
            return self.describe_level_of(separate);
        }
        programs
            .iter()
            .map(|program| program.level)
            .min()
            .map(|level| self.describe_level(level))
            .unwrap_or_default()
    }

    /// `program`'s level as [`Context::describe_level`] says it, with the settings it chose
    /// where they differ from the run's: "REPEATABLE READ on TiDB with tidb_txn_mode =
    /// 'pessimistic'".
    pub fn describe_level_of(&self, program: &Program) -> String {
        let own = self.semantics_of(program);
        let differences = own.differences(self.engine, self.semantics);
        let level = if program.step_ends.is_empty() {
            format!("{} on {}", program.level.sql(), own.display(self.engine))
        } else {
            format!(
                "steps that commit separately, each at {} on {}",
                program.level.sql(),
                own.display(self.engine)
            )
        };
        if differences.is_empty() {
            level
        } else {
            format!("{level} with {}", differences.join(", "))
        }
    }
}

/// Two instances of programs that share a table, with the rw edges between them.
pub struct Pair<'a> {
    /// Instance T1 (tag 0).
    pub first: Instance<'a>,
    /// Instance T2 (tag 1); the same program as `first` for two instances of one program.
    pub second: Instance<'a>,
    /// T1's reads → T2's writes (shared with the flipped pair).
    pub forward: Rc<Vec<RwEdge>>,
    /// T2's reads → T1's writes.
    pub backward: Rc<Vec<RwEdge>>,
    /// The open 2-cycles of this view, once a rule asked (`write-skew` and
    /// `phantom-write-skew` both read them): see [`cycles::open_cycles`].
    cycles: std::cell::OnceCell<Vec<cycles::CycleAt>>,
}

impl<'a> Pair<'a> {
    pub fn new(context: &Context<'a>, first: usize, second: usize) -> Pair<'a> {
        Pair::with_accesses(context, None, first, second)
    }

    /// [`Pair::new`], with the accesses of every program numbered ahead when there are.
    pub(crate) fn with_accesses(
        context: &Context<'a>,
        numbered: Option<&conflict::NumberedAccesses>,
        first: usize,
        second: usize,
    ) -> Pair<'a> {
        let first = Instance {
            program: &context.programs[first],
            index: first,
            tag: 0,
        };
        let second = Instance {
            program: &context.programs[second],
            index: second,
            tag: 1,
        };
        let edges = |reader: Instance, writer: Instance| match numbered {
            Some(numbered) => numbered.rw_edges(reader, writer),
            None => rw_edges(reader, writer),
        };
        Pair {
            first,
            second,
            forward: Rc::new(edges(first, second)),
            backward: Rc::new(edges(second, first)),
            cycles: std::cell::OnceCell::new(),
        }
    }

    pub fn same_program(&self) -> bool {
        self.first.index == self.second.index
    }

    /// The pair seen from the other side: T2 becomes T1. Tags stay with their instances.
    pub fn flipped(&self) -> Pair<'a> {
        Pair {
            first: self.second,
            second: self.first,
            forward: self.backward.clone(),
            backward: self.forward.clone(),
            cycles: std::cell::OnceCell::new(),
        }
    }
}

/// The findings, sorted and without suppressed ones, and the ignore directives that
/// silenced something.
pub struct Analysis {
    pub findings: Vec<Finding>,
    /// `(file, directive start, rule)` of every ignore that silenced a finding.
    pub used_ignores: BTreeSet<(usize, usize, String)>,
    /// Pairs of programs that can meet (a program with itself included).
    pub pairs: usize,
    /// Times the pair rules ran on a pair: once per program and shape of its partners.
    pub decisions: usize,
}

/// Runs every enabled rule.
/// A finding on a transaction whose steps commit separately (`atomic = false`): a lock or a
/// level helps only once the steps run in one transaction, so every fix starts with that.
fn in_one_transaction(context: &Context, mut finding: Finding) -> Finding {
    let separate: Vec<&str> = finding
        .programs
        .iter()
        .map(|program| &context.programs[*program])
        .filter(|program| !program.step_ends.is_empty())
        .map(|program| program.name.as_str())
        .collect();
    if separate.is_empty() {
        return finding;
    }
    let steps = separate
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(" and ");
    let first = format!(
        "run the steps of {steps} in one database transaction (and drop `atomic = false` from \
         isolint.toml)"
    );
    finding.fixes = if finding.fixes.is_empty() {
        vec![finding::Fix {
            title: first,
            edit: None,
        }]
    } else {
        finding
            .fixes
            .drain(..)
            .map(|fix| finding::Fix {
                title: format!("{first}, then {}", fix.title),
                ..fix
            })
            .collect()
    };
    finding
}

pub fn analyse(context: &Context, enabled: &BTreeSet<Rule>) -> Analysis {
    analyse_with_progress(context, enabled, None, &crate::progress::Silent)
}

/// Like [`analyse`], reporting progress; with `focus` (one flag per program), only the
/// findings at fault in the programs it marks, and the ignores they use. Those findings are
/// exactly the ones the whole analysis makes at fault there. Nothing is kept between checks:
/// each program's partners are decided afresh, which holds nothing per pair (see `driver`).
pub fn analyse_with_progress(
    context: &Context,
    enabled: &BTreeSet<Rule>,
    focus: Option<&[bool]>,
    progress: &dyn Progress,
) -> Analysis {
    // The rules that can fire at all: a rule no level in use lets through finds nothing, and
    // without graph rules the graph is not built.
    let detectors: Vec<rules::Detector> = Rule::ALL
        .into_iter()
        .filter(|rule| enabled.contains(rule) && possible(context, *rule))
        .map(rules::detector)
        .collect();
    if detectors.is_empty() {
        return Analysis {
            findings: Vec::new(),
            used_ignores: BTreeSet::new(),
            pairs: 0,
            decisions: 0,
        };
    }
    let outcome = driver::run(context, &detectors, focus, progress);
    let mut used_ignores = outcome.used_ignores;
    // The pair rules' root causes are filtered already; the graph rules' findings are not.
    let findings: Vec<Finding> = outcome
        .findings
        .into_iter()
        .filter(|finding| {
            if !matches!(rules::detector(finding.rule), rules::Detector::Graph(_)) {
                return true;
            }
            let silencers = silencers(context, finding);
            let silenced = !silencers.is_empty();
            used_ignores.extend(silencers);
            !silenced
        })
        .map(|finding| in_one_transaction(context, finding))
        .collect();
    Analysis {
        findings: dedupe_and_sort(context, findings),
        used_ignores,
        pairs: outcome.pairs,
        decisions: outcome.decisions,
    }
}

/// Whether `rule` can find anything in `context`: some program runs at a level that lets it
/// through (a dirty read also happens through a read-uncommitted table hint at any level).
fn possible(context: &Context, rule: Rule) -> bool {
    context.programs.iter().any(|program| {
        context.permits(&[program], rule)
            || (rule == Rule::DirtyRead
                && program
                    .statements
                    .iter()
                    .flat_map(|statement| &statement.accesses)
                    .any(|access| access.reads_uncommitted()))
    })
}

/// The finding one of `finding`'s partners stands for, as the analysis made it before it was
/// folded: the same rule at the same statement at fault, between the program at fault and the
/// partner's program. `None` for a rule of the whole graph, which has no partners.
pub fn unfold(context: &Context, finding: &Finding, partner: StatementRef) -> Option<Finding> {
    let detector = rules::detector(finding.rule);
    if !matches!(detector, rules::Detector::Pair(_)) {
        return None;
    }
    let findings = driver::compare(
        context,
        None,
        &[detector],
        finding.primary.program,
        partner.program,
    );
    findings.into_iter().find(|unfolded| {
        unfolded.rule == finding.rule
            && unfolded.primary == finding.primary
            && unfolded.programs.contains(&partner.program)
    })
}

/// The ignore directives that silence `finding`: on a program it involves, or on one of its
/// statements.
fn silencers(context: &Context, finding: &Finding) -> Vec<(usize, usize, String)> {
    let rule = finding.rule.id();
    let program_ignores = finding.programs.iter().filter_map(|program| {
        let program = &context.programs[*program];
        program
            .ignores
            .get(rule)
            .map(|range| (program.file, range.start))
    });
    let statement_ignores = finding.statements().filter_map(|at| {
        let program = &context.programs[at.program];
        program.statements[at.statement]
            .ignores
            .get(rule)
            .map(|range| (program.file, range.start))
    });
    program_ignores
        .chain(statement_ignores)
        .map(|(file, start)| (file, start, rule.to_string()))
        .collect()
}

/// A small harness for rule tests: schema and transactions as strings in, findings as
/// `rule: program, program` lines out.
#[cfg(test)]
pub mod testing {
    use crate::semantics::{Engine, Level, SettingValue};
    use crate::source::{Role, SourceFile};
    use crate::{CheckOptions, CheckResult, check_sources};

    pub fn findings(
        engine: Engine,
        level: Option<Level>,
        schema: &str,
        transactions: &str,
    ) -> Vec<String> {
        run(engine, level, schema, transactions, &[])
            .into_iter()
            .map(|(line, _)| line)
            .collect()
    }

    /// Checks `schema` (as a migration) and `transactions` (as `txns.sql`) with `settings` of
    /// `engine` chosen (as `[engine]` in `isolint.toml` chooses them), the default rules and
    /// `extra_rules`.
    pub fn check(
        engine: Engine,
        settings: &[(&str, SettingValue)],
        level: Option<Level>,
        schema: &str,
        transactions: &str,
        extra_rules: &[super::Rule],
    ) -> (CheckResult, CheckOptions) {
        let files = vec![
            SourceFile::new("migrations/1.sql".into(), Role::Schema, schema.to_string()),
            SourceFile::new(
                "txns.sql".into(),
                Role::Transactions,
                transactions.to_string(),
            ),
        ];
        let mut options = CheckOptions::new(engine);
        options.isolation = level;
        options.rules.extend(extra_rules.iter().copied());
        for (name, value) in settings {
            options
                .engine_settings
                .set(engine, name, value.clone())
                .unwrap_or_else(|error| panic!("setting `{name}`: {error:?}"));
        }
        (check_sources(files, &options), options)
    }

    /// Also returns each finding's fix titles.
    pub fn run(
        engine: Engine,
        level: Option<Level>,
        schema: &str,
        transactions: &str,
        extra_rules: &[super::Rule],
    ) -> Vec<(String, Vec<String>)> {
        let (result, _) = check(engine, &[], level, schema, transactions, extra_rules);
        lines(&result)
    }

    /// [`findings`] with `settings` of `engine` chosen.
    pub fn findings_with(
        engine: Engine,
        settings: &[(&str, SettingValue)],
        schema: &str,
        transactions: &str,
    ) -> Vec<String> {
        let (result, _) = check(engine, settings, None, schema, transactions, &[]);
        lines(&result).into_iter().map(|(line, _)| line).collect()
    }

    fn lines(result: &CheckResult) -> Vec<(String, Vec<String>)> {
        // One line per pair a finding stands for: its own programs, then each partner's.
        result
            .findings
            .iter()
            .flat_map(|finding| {
                finding.program_sets().map(|programs| {
                    let names: Vec<&str> = programs
                        .iter()
                        .map(|program| result.programs[*program].name.as_str())
                        .collect();
                    (
                        format!("{}: {}", finding.rule.id(), names.join(", ")),
                        finding.fixes.iter().map(|fix| fix.title.clone()).collect(),
                    )
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::semantics::Engine;
    use crate::source::{Role, SourceFile};
    use crate::{CheckCache, CheckOptions, check_sources, check_sources_cached};

    const SCHEMA: &str = "CREATE TABLE limits (account_id int, kind text, amount int,
        PRIMARY KEY (account_id, kind));";
    const RAISE: &str = "-- name: raise
        BEGIN; SELECT amount FROM limits WHERE account_id = $1 AND kind = 'monthly';
        UPDATE limits SET amount = $2 WHERE account_id = $1 AND kind = 'daily'; COMMIT;";
    const LOWER: &str = "-- name: lower
        BEGIN; SELECT amount FROM limits WHERE account_id = $1 AND kind = 'daily';
        UPDATE limits SET amount = $2 WHERE account_id = $1 AND kind = 'monthly'; COMMIT;";
    const COUNTER: &str = "UPDATE limits SET amount = amount + 1 WHERE account_id = $1;";

    /// The schema and transaction files `(path, text)`, in this order.
    fn project(transactions: &[(&str, &str)]) -> Vec<SourceFile> {
        let schema = SourceFile::new("migrations/1.sql".into(), Role::Schema, SCHEMA.into());
        std::iter::once(schema)
            .chain(transactions.iter().map(|(path, text)| {
                SourceFile::new((*path).into(), Role::Transactions, (*text).into())
            }))
            .collect()
    }

    fn rendered(files: Vec<SourceFile>, cache: Option<&mut CheckCache>) -> String {
        let options = CheckOptions::new(Engine::Postgres);
        let result = match cache {
            Some(cache) => check_sources_cached(files, &options, cache),
            None => check_sources(files, &options),
        };
        crate::report::concise::render(&result)
    }

    #[test]
    fn cached_checks_after_edits_equal_fresh_checks() {
        let locked = RAISE.replace("'monthly';", "'monthly' FOR UPDATE;");
        let states = [
            project(&[("b.sql", RAISE), ("c.sql", LOWER)]),
            project(&[("b.sql", &locked), ("c.sql", LOWER)]),
            project(&[("a.sql", COUNTER), ("b.sql", RAISE), ("c.sql", LOWER)]),
            // The same program twice, and the programs in the other order.
            project(&[("a.sql", LOWER), ("b.sql", RAISE), ("c.sql", LOWER)]),
            project(&[("a.sql", LOWER), ("b.sql", RAISE)]),
            project(&[("a.sql", RAISE), ("b.sql", LOWER)]),
            project(&[("b.sql", RAISE), ("c.sql", LOWER)]),
            // A parse error, and DDL in a transaction file that changes the catalog.
            project(&[("b.sql", &format!("{RAISE} SELEC x;")), ("c.sql", LOWER)]),
            project(&[
                ("b.sql", RAISE),
                (
                    "c.sql",
                    &format!("ALTER TABLE limits ADD COLUMN note text; {LOWER}"),
                ),
            ]),
            project(&[("b.sql", RAISE), ("c.sql", LOWER)]),
        ];
        let mut cache = CheckCache::default();
        for files in states {
            let fresh = rendered(files.clone(), None);
            assert!(fresh.contains("write-skew"), "{fresh}");
            assert_eq!(rendered(files, Some(&mut cache)), fresh);
        }
    }
}
