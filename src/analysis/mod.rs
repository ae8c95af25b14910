//! The analysis: pairs of transaction programs that share a table, the rw/wr/ww conflicts
//! between two instances of them, the dependency graph, and the rules that read anomalies off
//! them.
//!
//! Architecture Invariant: analysis does no I/O and never fails; findings are data.

pub mod conflict;
pub mod cycles;
pub mod finding;
pub mod fixes;
mod folding;
pub mod graph;
pub mod pair_conflicts;
mod pairing;

use folding::{dedupe_and_sort, fold_root_causes};
pub use pairing::{CandidatePairs, MAX_PAIRS, candidate_pairs};
pub mod rules;
pub mod unify;

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::rc::Rc;

use rayon::prelude::*;

use crate::catalog::Catalog;
use crate::program::Program;
use crate::progress::{Progress, Stage};
use crate::rule::Rule;
use crate::semantics::{Engine, EngineSettings, Level, Semantics};
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

    /// `program`'s level as [`Context::describe_level`] says it, with the settings it chose
    /// where they differ from the run's: "REPEATABLE READ on TiDB with tidb_txn_mode =
    /// 'pessimistic'".
    pub fn describe_level_of(&self, program: &Program) -> String {
        let own = self.semantics_of(program);
        let differences = own.differences(self.engine, self.semantics);
        let level = format!("{} on {}", program.level.sql(), own.display(self.engine));
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
}

impl<'a> Pair<'a> {
    pub fn new(context: &Context<'a>, first: usize, second: usize) -> Pair<'a> {
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
        Pair {
            first,
            second,
            forward: Rc::new(rw_edges(first, second)),
            backward: Rc::new(rw_edges(second, first)),
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
        }
    }
}

/// Pairs compared between two reports of progress.
const PROGRESS_CHUNK: usize = 4096;

/// The findings, sorted and without suppressed ones, and the ignore directives that
/// silenced something.
pub struct Analysis {
    pub findings: Vec<Finding>,
    /// `(file, directive start, rule)` of every ignore that silenced a finding.
    pub used_ignores: BTreeSet<(usize, usize, String)>,
    /// Tables whose conflicts were not checked (see `MAX_PAIRS`), with their programs.
    pub skipped_tables: Vec<(String, usize)>,
}

/// Runs every enabled rule.
pub fn analyse(context: &Context, enabled: &BTreeSet<Rule>) -> Analysis {
    analyse_cached(
        context,
        enabled,
        &mut PairCache::new(true),
        &crate::progress::Silent,
    )
}

/// The findings of the pair rules for each pair of programs, remembered by the programs'
/// contents, so that checking again after an edit re-runs only the pairs whose programs
/// changed (the language server checks on every keystroke).
///
/// Architecture Invariant: a pair rule sees only its two programs, the catalog, the engine
/// with its settings and the enabled rules; the cache is dropped whenever the last three
/// change.
#[derive(Default)]
pub struct PairCache {
    inputs: Option<(Catalog, Engine, EngineSettings, BTreeSet<Rule>, bool)>,
    /// The key of every program of the last run, with its position then. Two programs known
    /// there were paired there too (pairing depends only on the two programs), in this order.
    known: KeyMap<u64, usize>,
    /// What each pair that had findings or graph edges gave, with program indices 0 (first)
    /// and 1 (second), by program keys. A pair of known programs that is absent had none.
    entries: KeyMap<(u64, u64), PairOutcome>,
    /// Nothing is kept for a next run.
    one_shot: bool,
}

impl PairCache {
    /// An empty cache; a `one_shot` one keeps nothing.
    pub fn new(one_shot: bool) -> PairCache {
        PairCache {
            one_shot,
            ..PairCache::default()
        }
    }
}

/// What the pair rules and the dependency graph take from one pair of programs.
#[derive(Clone, Default)]
struct PairOutcome {
    findings: Vec<Finding>,
    edges: graph::PairEdges,
}

impl PairOutcome {
    fn is_empty(&self) -> bool {
        self.findings.is_empty() && !self.edges.conflicts && self.edges.vulnerable.is_empty()
    }

    fn map_programs(self, map: impl Fn(usize) -> usize + Copy) -> PairOutcome {
        PairOutcome {
            findings: self
                .findings
                .into_iter()
                .map(|finding| finding.map_programs(map))
                .collect(),
            edges: self.edges.map_programs(map),
        }
    }
}

/// A map keyed by program keys, which are hashes already: hashing them again is wasted work
/// on the hundreds of thousands of pairs that a few hot tables give.
type KeyMap<K, V> = HashMap<K, V, BuildHasherDefault<KeyHasher>>;

#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.write_u64(u64::from(*byte));
        }
    }

    fn write_u64(&mut self, key: u64) {
        self.0 = self.0.rotate_left(5) ^ key;
    }
}

/// What a pair rule can see of a program, hashed: not its file or position, so that programs
/// of unchanged files keep their key when another file is edited, added or removed.
fn program_key(program: &Program) -> u64 {
    let mut hasher = DefaultHasher::new();
    program.name.hash(&mut hasher);
    program.level.hash(&mut hasher);
    program
        .semantics
        .map(|semantics| semantics.chosen())
        .hash(&mut hasher);
    for statement in &program.statements {
        statement.text.hash(&mut hasher);
        statement.accesses.hash(&mut hasher);
        statement.takes_snapshot.hash(&mut hasher);
    }
    hasher.finish()
}

/// Like [`analyse`], reusing the pair findings in `cache` and leaving there those of this run.
pub fn analyse_cached(
    context: &Context,
    enabled: &BTreeSet<Rule>,
    cache: &mut PairCache,
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
            skipped_tables: Vec::new(),
        };
    }
    let graph_rules: Vec<rules::Detector> = detectors
        .iter()
        .copied()
        .filter(|detector| matches!(detector, rules::Detector::Graph(_)))
        .collect();
    let CandidatePairs {
        pairs,
        skipped_tables,
    } = candidate_pairs(context.programs);
    let with_graph = !graph_rules.is_empty();
    let inputs = (
        context.catalog.clone(),
        context.engine,
        context.semantics.chosen().clone(),
        enabled.clone(),
        with_graph,
    );
    if cache.inputs.as_ref() != Some(&inputs) {
        *cache = PairCache {
            inputs: Some(inputs),
            ..PairCache::new(cache.one_shot)
        };
    }
    let keys: Vec<u64> = context.programs.par_iter().map(program_key).collect();
    let known: Vec<Option<usize>> = keys
        .iter()
        .map(|key| cache.known.get(key).copied())
        .collect();
    // A pair is analysed again unless both programs are known, in the same order as before.
    let reusable = |first: usize, second: usize| match (known[first], known[second]) {
        (Some(before_first), Some(before_second)) => before_first <= before_second,
        _ => false,
    };
    // Each pair's conflicts are worked out once, for the pair rules and the graph alike.
    let to_compare: Vec<(usize, usize)> = pairs
        .iter()
        .copied()
        .filter(|&(first, second)| !reusable(first, second))
        .collect();
    progress.start(Stage::Analyse, to_compare.len());
    let compared: Vec<((usize, usize), PairOutcome)> = to_compare
        .par_chunks(PROGRESS_CHUNK)
        .flat_map_iter(|chunk| {
            let outcomes: Vec<_> = chunk
                .iter()
                .map(|&(first, second)| {
                    let outcome = compare(context, &detectors, with_graph, first, second);
                    ((first, second), outcome)
                })
                .filter(|(_, outcome)| !outcome.is_empty())
                .collect();
            progress.advance(chunk.len());
            outcomes
        })
        .collect();
    // A one-shot check compared every pair just now, in order.
    let outcomes = if cache.one_shot {
        compared
    } else {
        remember(cache, &keys, &pairs, reusable, compared)
    };
    let mut findings = Vec::new();
    let mut graph_parts = Vec::new();
    for ((first, second), outcome) in outcomes {
        findings.extend(outcome.findings);
        if with_graph {
            graph_parts.push((first, second, outcome.edges));
        }
    }
    if with_graph {
        let graph = graph::DependencyGraph::build(context, graph_parts);
        for detector in graph_rules {
            if let rules::Detector::Graph(detect) = detector {
                detect(context, &graph, &mut findings);
            }
        }
    }
    let mut used_ignores = BTreeSet::new();
    findings.retain(|finding| {
        let silencers = silencers(context, finding);
        let silenced = !silencers.is_empty();
        used_ignores.extend(silencers);
        !silenced
    });
    Analysis {
        findings: dedupe_and_sort(context, findings),
        used_ignores,
        skipped_tables,
    }
}

/// The outcome of every pair of `pairs` that has one, in order: reused from `cache` where
/// `reusable`, else taken from `compared`; `cache` then holds this run's.
fn remember(
    cache: &mut PairCache,
    keys: &[u64],
    pairs: &[(usize, usize)],
    reusable: impl Fn(usize, usize) -> bool,
    compared: Vec<((usize, usize), PairOutcome)>,
) -> Vec<((usize, usize), PairOutcome)> {
    let mut previous = std::mem::take(&mut cache.entries);
    let mut fresh: KeyMap<(u64, u64), PairOutcome> = compared
        .into_iter()
        .map(|((first, second), outcome)| {
            let global_to_local = |program| usize::from(program != first);
            (
                (keys[first], keys[second]),
                outcome.map_programs(global_to_local),
            )
        })
        .collect();
    // Identical programs share keys, so a key can serve several pairs: it moves into the new
    // cache only after the loop.
    let mut used = BTreeSet::new();
    let mut outcomes = Vec::new();
    for &(first, second) in pairs {
        let key = (keys[first], keys[second]);
        let known = if reusable(first, second) {
            previous.get(&key)
        } else {
            fresh.get(&key)
        };
        let Some(known) = known else {
            continue;
        };
        let local_to_global = |program| if program == 0 { first } else { second };
        outcomes.push(((first, second), known.clone().map_programs(local_to_global)));
        used.insert(key);
    }
    for key in used {
        if let Some(local) = fresh.remove(&key).or_else(|| previous.remove(&key)) {
            cache.entries.insert(key, local);
        }
    }
    cache.known = keys
        .iter()
        .enumerate()
        .map(|(position, key)| (*key, position))
        .collect();
    outcomes
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

/// What the pair rules and, `with_graph`, the dependency graph take from one pair.
fn compare(
    context: &Context,
    detectors: &[rules::Detector],
    with_graph: bool,
    first: usize,
    second: usize,
) -> PairOutcome {
    let pair = Pair::new(context, first, second);
    let mut findings = Vec::new();
    for detector in detectors {
        if let rules::Detector::Pair(detect) = *detector {
            detect(context, &pair, &mut findings);
        }
    }
    fold_root_causes(&mut findings, |finding| {
        !silencers(context, finding).is_empty()
    });
    let edges = if with_graph {
        graph::PairEdges::of(context, &pair)
    } else {
        graph::PairEdges::default()
    };
    PairOutcome { findings, edges }
}

/// The finding one of `finding`'s partners stands for, as the analysis made it before it was
/// folded: the same rule at the same statement at fault, between the program at fault and the
/// partner's program. `None` for a rule of the whole graph, which has no partners.
pub fn unfold(context: &Context, finding: &Finding, partner: StatementRef) -> Option<Finding> {
    let detector = rules::detector(finding.rule);
    if !matches!(detector, rules::Detector::Pair(_)) {
        return None;
    }
    let outcome = compare(
        context,
        &[detector],
        false,
        finding.primary.program,
        partner.program,
    );
    outcome.findings.into_iter().find(|unfolded| {
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
