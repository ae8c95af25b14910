//! The fixtures' static verdicts against a real server: every finding a run requires must be
//! reproduced there, and at a level where the case expects nothing, the findings of the same
//! engine's weaker levels, run at that level, must be prevented. Findings a run only allows
//! are the model's known imprecisions: shown in the table, not asserted.

use std::collections::BTreeSet;
use std::fmt::Write;
use std::path::Path;

use isolint::CheckResult;
use isolint::confirm::{self, Verdict, database::Database};
use isolint::semantics::{Engine, Level, Semantics};

use super::case::{self, Case};

/// The agreement table (fixture × level → static verdict, the server's verdict), the
/// disagreements, and the rules confirmed.
pub struct Agreement {
    /// The server's name in the table and the failures: `PostgreSQL`, `MariaDB`.
    server: &'static str,
    pub table: String,
    pub failures: Vec<String>,
    pub rules: BTreeSet<&'static str>,
}

impl Agreement {
    pub fn new(server: &'static str) -> Agreement {
        Agreement {
            server,
            table: format!(
                "| fixture | level | finding | static | {server} |\n|---|---|---|---|---|\n"
            ),
            failures: Vec::new(),
            rules: BTreeSet::new(),
        }
    }

    /// Runs the case in `directory`: each of its runs with an engine of `engines`, the runs of
    /// one engine from the weakest level up.
    pub fn fixture(
        &mut self,
        database: &Database,
        directory: &Path,
        engines: &[Engine],
        seed: Option<&Path>,
    ) {
        let name = directory
            .file_name()
            .map(|name| name.to_string_lossy().to_string())
            .unwrap_or_default();
        let case = Case::load(directory).expect("case");
        for &engine in engines {
            let level_of = |run: &case::Run| {
                run.level()
                    .unwrap_or_else(|| Semantics::embedded().default_level(engine))
            };
            let mut runs: Vec<_> = case
                .run
                .iter()
                .filter(|run| run.engine() == engine)
                .collect();
            runs.sort_by_key(|run| level_of(run));
            let mut weaker: Vec<(Level, CheckResult)> = Vec::new();
            for run in runs {
                let level = format!("{} {}", engine.id(), level_of(run).id());
                let mut result = run.check(directory);
                let required = case::expected(&run.require);
                if required.is_empty() {
                    // The schedules that weaker levels let through, at this level; a schedule
                    // two weaker levels share runs once.
                    let mut replayed = BTreeSet::new();
                    for (weak_level, weak) in
                        weaker.iter().filter(|(weak, _)| *weak < level_of(run))
                    {
                        result.findings = weak
                            .findings
                            .iter()
                            .filter(|finding| {
                                replayed.insert((
                                    case::key(weak, finding),
                                    format!("{:?}", finding.witness),
                                ))
                            })
                            .cloned()
                            .collect();
                        self.confirm_all(
                            database,
                            &result,
                            seed,
                            (&name, &format!("{level} ({}'s schedule)", weak_level.id())),
                            Some(Verdict::Prevented),
                        );
                    }
                    continue;
                }
                let findings = std::mem::take(&mut result.findings);
                let of = |expected: &BTreeSet<case::Expected>| -> Vec<_> {
                    findings
                        .iter()
                        .filter(|finding| expected.contains(&case::key(&result, finding)))
                        .cloned()
                        .collect()
                };
                let (required, allowed) = (of(&required), of(&case::expected(&run.allow)));
                result.findings = allowed;
                self.confirm_all(database, &result, seed, (&name, &level), None);
                result.findings = required;
                self.rules
                    .extend(result.findings.iter().map(|finding| finding.rule.id()));
                self.confirm_all(
                    database,
                    &result,
                    seed,
                    (&name, &level),
                    Some(Verdict::Reproduced),
                );
                weaker.push((level_of(run), result));
            }
        }
    }

    /// Confirms every finding of `result`; one table line per finding.
    pub fn confirm_all(
        &mut self,
        database: &Database,
        result: &CheckResult,
        seed: Option<&Path>,
        (fixture, level): (&str, &str),
        wanted: Option<Verdict>,
    ) {
        let (table, failures) = (&mut self.table, &mut self.failures);
        if result.findings.is_empty() {
            return;
        }
        let setup = confirm::Setup::new(result, seed).expect("setup");
        let schema = confirm::Schema::build(database, &setup).expect("the migrations run");
        if !schema.failures().is_empty() {
            failures.push(format!(
                "{fixture}: migrations failed: {:?}",
                schema.failures()
            ));
        }
        for finding in &result.findings {
            let (rule, programs) = case::key(result, finding);
            let programs: Vec<String> = programs.into_iter().collect();
            let confirmation = confirm::confirm(&schema, result, &setup, finding);
            let _ = writeln!(
                table,
                "| {fixture} | {level} | {rule} {} | {} | {} |",
                programs.join(", "),
                match wanted {
                    Some(Verdict::Reproduced) => "finding",
                    Some(_) => "none",
                    None => "allowed",
                },
                confirmation.verdict.id()
            );
            if let Some(wanted) = wanted
                && confirmation.verdict != wanted
            {
                failures.push(format!(
                    "{fixture} at {level}: {rule} ({}) was {} on {}, expected {}: {}\n{}",
                    programs.join(", "),
                    confirmation.verdict.id(),
                    self.server,
                    wanted.id(),
                    confirmation.reason,
                    serde_json::to_string_pretty(&confirmation.schedule).unwrap_or_default()
                ));
            }
        }
    }

    /// Adds what `other` found, after what this one found.
    pub fn merge(&mut self, other: Agreement) {
        let rows = other.table.lines().skip(2).map(|line| format!("{line}\n"));
        self.table.extend(rows);
        self.failures.extend(other.failures);
        self.rules.extend(other.rules);
    }

    /// Prints the table, keeps it beside the test binaries as `file`, and fails with every
    /// disagreement.
    pub fn finish(&self, file: &str) {
        println!("{}", self.table);
        let _ = std::fs::write(
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(file),
            &self.table,
        );
        assert!(self.failures.is_empty(), "{}", self.failures.join("\n\n"));
    }
}
