//! The theory as metamorphic laws, checked on generated schemas and transactions: changes that
//! only make transactions safer never add a finding, and changes that only rename or move
//! code change no finding.

#[path = "support/workload.rs"]
mod workload;

use std::collections::BTreeSet;

use isolint::analysis::finding::Step;
use isolint::rule::Rule;
use isolint::semantics::{Engine, Level, Semantics};
use isolint::source::{Role, SourceFile};
use isolint::{CheckOptions, CheckResult, check_sources};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use workload::{Names, Statement, Workload};

/// Cases per law: few enough for `cargo test`; `PROPTEST_CASES=5000` searches harder.
fn config() -> ProptestConfig {
    let cases: u32 = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(64);
    ProptestConfig {
        // Laws about a kind of statement skip the workloads without one.
        max_global_rejects: cases.saturating_mul(4),
        ..ProptestConfig::with_cases(cases)
    }
}

/// A finding without names or locations: its rule, its transactions, and the statements
/// involved (transaction name, index in the transaction). Sets, not lists: which of two
/// transactions a rule calls T1 follows the order of the files, which moving code changes.
type Key = (String, BTreeSet<String>, BTreeSet<(String, usize)>);

fn check(files: Vec<SourceFile>, engine: Engine) -> CheckResult {
    let mut options = CheckOptions::new(engine);
    options.rules = Rule::ALL.into_iter().collect();
    check_sources(files, &options)
}

/// One key per pair a finding stands for: its own, then the statement at fault with each
/// partner's statement (which of them a finding keeps as its own follows the order of the
/// files).
fn keys(result: &CheckResult) -> BTreeSet<Key> {
    let name = |program: usize| result.programs[program].name.clone();
    result
        .findings
        .iter()
        .flat_map(|finding| {
            let own = (
                finding.rule.id().to_string(),
                finding
                    .programs
                    .iter()
                    .map(|&program| name(program))
                    .collect(),
                finding
                    .statements()
                    .map(|at| (name(at.program), at.statement))
                    .collect(),
            );
            let at_fault = finding.primary;
            let partners = finding.partners.iter().map(move |partner| {
                (
                    finding.rule.id().to_string(),
                    [name(at_fault.program), name(partner.program)].into(),
                    [
                        (name(at_fault.program), at_fault.statement),
                        (name(partner.program), partner.statement),
                    ]
                    .into(),
                )
            });
            std::iter::once(own).chain(partners).collect::<Vec<Key>>()
        })
        .collect()
}

/// Rule and transactions only: what "adds a finding" means for the monotonicity laws, where a
/// safer program may be reported on other statements of the same anomaly.
fn anomalies(result: &CheckResult) -> BTreeSet<(String, BTreeSet<String>)> {
    keys(result)
        .into_iter()
        .map(|(rule, programs, _)| (rule, programs))
        .collect()
}

/// The anomalies with those folded into a more specific one on the same programs spelt out:
/// a lost update stands for a write skew and a phantom write skew on its statements, a write
/// skew for a phantom write skew.
fn anomalies_unfolded(result: &CheckResult) -> BTreeSet<(String, BTreeSet<String>)> {
    let mut all = anomalies(result);
    let folded: Vec<(String, BTreeSet<String>)> = all
        .iter()
        .flat_map(|(rule, programs)| {
            let under: &[&str] = match rule.as_str() {
                "lost-update" => &["write-skew", "phantom-write-skew"],
                "write-skew" => &["phantom-write-skew"],
                _ => &[],
            };
            under
                .iter()
                .map(|rule| (rule.to_string(), programs.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    all.extend(folded);
    all
}

fn findings(workload: &Workload, engine: Engine) -> CheckResult {
    check(workload.files(engine, &Names::default()), engine)
}

fn engine() -> impl Strategy<Value = Engine> {
    proptest::sample::select(Engine::ALL.to_vec())
}

/// Workloads from random bytes; the few byte strings too short to build one are skipped.
fn workload() -> impl Strategy<Value = Workload> {
    proptest::collection::vec(any::<u8>(), 16..256)
        .prop_filter_map("too few bytes", |bytes| Workload::from_bytes(&bytes))
}

/// The level a transaction runs at on `engine`, as the engine resolves it.
fn effective(engine: Engine, declared: Option<Level>) -> Option<Level> {
    let semantics = Semantics::embedded();
    semantics.resolve(
        engine,
        declared.unwrap_or_else(|| semantics.default_level(engine)),
    )
}

/// Whether `stronger` isolates at least as much as `weaker`. Isolation levels form a partial
/// order, not a chain: repeatable read (locks on rows read, phantoms possible) and snapshot
/// (no phantoms, write skew possible) are incomparable, as in Adya's PL-2.99 and PL-SI.
fn at_least_as_strong(stronger: Level, weaker: Level) -> bool {
    use Level::*;
    stronger == weaker
        || matches!(
            (weaker, stronger),
            (ReadUncommitted, _) | (_, Serializable) | (ReadCommitted, RepeatableRead | Snapshot)
        )
}

fn has_locking_read(workload: &Workload) -> bool {
    workload
        .transactions
        .iter()
        .flat_map(|transaction| &transaction.statements)
        .any(|statement| {
            matches!(
                statement,
                Statement::Select {
                    for_update: true,
                    ..
                } | Statement::Count {
                    for_update: true,
                    ..
                }
            )
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn raising_a_transactions_level_never_adds_a_finding(
        workload in workload(),
        engine in engine(),
        which in any::<prop::sample::Index>(),
        to in any::<prop::sample::Index>(),
    ) {
        let transaction = which.index(workload.transactions.len());
        let Some(current) = effective(engine, workload.transactions[transaction].level) else {
            return Ok(());
        };
        let stronger: Vec<Level> = Semantics::embedded()
            .levels(engine)
            .into_iter()
            .filter(|&level| level != current && at_least_as_strong(level, current))
            .collect();
        prop_assume!(!stronger.is_empty());
        let target = stronger[to.index(stronger.len())];
        // A row lock serialises two transactions only when both take it before their
        // snapshots: read committed reads the latest rows after waiting for a `FOR UPDATE`,
        // a snapshot taken before the wait does not. Moving a transaction that locks rows
        // into a snapshot can therefore let a cycle through that read committed stopped.
        let semantics = Semantics::embedded();
        let into_snapshot = semantics.level(engine, target).snapshot
            && !semantics.level(engine, current).snapshot;
        prop_assume!(!(into_snapshot && has_locking_read(&workload)));
        let mut raised = workload.clone();
        raised.transactions[transaction].level = Some(target);
        let before = anomalies_unfolded(&findings(&workload, engine));
        let after = anomalies(&findings(&raised, engine));
        prop_assert!(after.is_subset(&before), "added: {:?}", after.difference(&before));
    }

    #[test]
    fn serializable_everywhere_finds_nothing(
        workload in workload(),
        engine in proptest::sample::select(vec![
            Engine::Postgres, Engine::Mysql, Engine::Sqlserver, Engine::Cockroachdb,
        ]),
    ) {
        let mut serializable = workload;
        for transaction in &mut serializable.transactions {
            transaction.level = Some(Level::Serializable);
        }
        let result = findings(&serializable, engine);
        prop_assert!(result.findings.is_empty(), "{:?}", keys(&result));
    }

    #[test]
    fn a_locking_read_never_adds_a_finding(
        workload in workload(),
        engine in engine(),
        which in any::<prop::sample::Index>(),
    ) {
        let mut locked = workload.clone();
        let mut plain_reads: Vec<&mut bool> = locked
            .transactions
            .iter_mut()
            .flat_map(|transaction| transaction.statements.iter_mut())
            .filter_map(|statement| match statement {
                Statement::Select { for_update, .. } | Statement::Count { for_update, .. }
                    if !*for_update => Some(for_update),
                _ => None,
            })
            .collect();
        prop_assume!(!plain_reads.is_empty());
        let chosen = which.index(plain_reads.len());
        *plain_reads[chosen] = true;
        let before = anomalies_unfolded(&findings(&workload, engine));
        let after = anomalies(&findings(&locked, engine));
        prop_assert!(after.is_subset(&before), "added: {:?}", after.difference(&before));
    }

    #[test]
    fn a_unique_constraint_on_inserted_columns_never_adds_a_phantom_write_skew(
        workload in workload(),
        engine in engine(),
        which in any::<prop::sample::Index>(),
    ) {
        let inserts: Vec<(usize, Vec<usize>)> = workload
            .transactions
            .iter()
            .flat_map(|transaction| &transaction.statements)
            .filter_map(|statement| match statement {
                Statement::Insert { table, columns } if !columns.is_empty() => {
                    Some((*table, columns.clone()))
                }
                _ => None,
            })
            .collect();
        prop_assume!(!inserts.is_empty());
        let (table, columns) = &inserts[which.index(inserts.len())];
        let mut constrained = workload.clone();
        constrained.tables[*table].unique.extend(columns);
        let phantom_write_skews = |workload: &Workload| -> BTreeSet<_> {
            anomalies(&findings(workload, engine))
                .into_iter()
                .filter(|(rule, _)| rule == Rule::PhantomWriteSkew.id())
                .collect()
        };
        let before = phantom_write_skews(&workload);
        let after = phantom_write_skews(&constrained);
        prop_assert!(after.is_subset(&before), "added: {:?}", after.difference(&before));
    }

    #[test]
    fn renaming_tables_columns_and_parameters_changes_no_finding(
        workload in workload(),
        engine in engine(),
    ) {
        let renamed = Names {
            table_prefix: "ledger_".into(),
            column_prefix: "amount_".into(),
            parameter_offset: 4,
        };
        let before = keys(&findings(&workload, engine));
        let after = keys(&check(workload.files(engine, &renamed), engine));
        prop_assert_eq!(before, after);
    }

    #[test]
    fn reordering_splitting_and_joining_files_changes_no_finding(
        workload in workload(),
        engine in engine(),
        rotation in any::<prop::sample::Index>(),
    ) {
        let names = Names::default();
        // Rule and transactions: when one anomaly shows in several statement pairs, which one
        // is reported first, and kept, follows the order of the files.
        let before = anomalies(&findings(&workload, engine));
        // Transaction files in another order, and the schema one table per migration.
        let mut files: Vec<SourceFile> = (0..workload.tables.len())
            .map(|table| {
                let mut single = workload.clone();
                single.tables = workload.tables[..=table].to_vec();
                let statement = single.schema_sql(&names).lines().last().unwrap_or("").to_string();
                SourceFile::new(format!("migrations/{table:03}.sql").into(), Role::Schema, statement)
            })
            .collect();
        let mut transactions: Vec<SourceFile> = workload.files(engine, &names).split_off(1);
        let shift = rotation.index(transactions.len());
        transactions.rotate_left(shift);
        files.extend(transactions);
        prop_assert_eq!(&before, &anomalies(&check(files, engine)));
        // Every transaction in one file.
        let joined: String = (0..workload.transactions.len())
            .map(|index| workload.transaction_sql(engine, index, &names))
            .collect();
        let files = vec![
            SourceFile::new("schema.sql".into(), Role::Schema, workload.schema_sql(&names)),
            SourceFile::new("all.sql".into(), Role::Transactions, joined),
        ];
        prop_assert_eq!(&before, &anomalies(&check(files, engine)));
    }

    #[test]
    fn output_is_byte_identical_across_runs_and_thread_counts(
        workload in workload(),
        engine in engine(),
    ) {
        let render = |threads: usize| -> String {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| {
                let result = findings(&workload, engine);
                let level = Semantics::embedded().default_level(engine);
                let options = isolint::report::human::Options { color: false, width: 100 };
                isolint::report::json::render(&result, level)
                    + &isolint::report::human::render(&result, &options)
                    + &isolint::report::sarif::render(&result)
            })
        };
        let first = render(1);
        for threads in [1, 2, 4] {
            prop_assert_eq!(&first, &render(threads));
        }
    }

    #[test]
    fn a_focused_check_makes_exactly_the_findings_at_fault_in_its_focus(
        workload in workload(),
        engine in engine(),
    ) {
        let files = workload.files(engine, &Names::default());
        let mut options = CheckOptions::new(engine);
        options.rules = Rule::ALL.into_iter().collect();
        let whole = check_sources(files.clone(), &options);
        let file_of = |result: &CheckResult, finding: &isolint::analysis::finding::Finding| {
            result.files[result.programs[finding.primary.program].file].path.clone()
        };
        for file in &files {
            let focus = BTreeSet::from([file.path.clone()]);
            let focused = isolint::check_focused(
                files.clone(),
                &options,
                &mut isolint::CheckCache::default(),
                &focus,
                &isolint::progress::Silent,
            );
            let expected: Vec<String> = whole
                .findings
                .iter()
                .filter(|finding| file_of(&whole, finding) == file.path)
                .map(|finding| format!("{finding:?}"))
                .collect();
            let found: Vec<String> = focused
                .findings
                .iter()
                .map(|finding| format!("{finding:?}"))
                .collect();
            prop_assert_eq!(found, expected, "focus {}", file.path.display());
        }
    }

    #[test]
    fn a_witness_uses_only_statements_of_its_transactions(
        workload in workload(),
        engine in engine(),
    ) {
        let result = findings(&workload, engine);
        for finding in &result.findings {
            for at in finding.statements() {
                prop_assert!(finding.programs.contains(&at.program), "{finding:?}");
                prop_assert!(at.statement < result.programs[at.program].statements.len());
            }
            for step in &finding.witness {
                let program = finding.instances[step.instance];
                prop_assert!(finding.programs.contains(&program), "{finding:?}");
                if let Step::Statement(statement) = step.step {
                    prop_assert!(
                        statement < result.programs[program].statements.len(),
                        "{finding:?}"
                    );
                }
            }
        }
    }
}

/// The generator reaches the anomalies the laws are about; without this the laws could hold
/// on workloads that never produce a finding.
#[test]
fn generated_workloads_produce_findings_of_several_rules() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut rules = BTreeSet::new();
    for _ in 0..200 {
        let workload = workload().new_tree(&mut runner).unwrap().current();
        for (rule, _) in anomalies(&findings(&workload, Engine::Postgres)) {
            rules.insert(rule);
        }
    }
    for rule in ["lost-update", "write-skew", "phantom-write-skew"] {
        assert!(rules.contains(rule), "{rule} never found; found {rules:?}");
    }
}
