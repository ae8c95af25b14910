//! Writes a synthetic isolint project for benchmarks and profiling:
//!
//! ```text
//! cargo run --release --example gen -- --tables N --programs M --seed S --out DIR \
//!     [--dialect postgres|mysql] [--history-mb MB]
//! ```
//!
//! `DIR/migrations/0001_init.sql` holds the schema and `DIR/txns/txn_<i>.sql` one named
//! transaction each; `--history-mb` adds that many MB (10^6 bytes) of later migrations,
//! `DIR/migrations/0002_<what>.sql` and on, which leave the transactions' findings as they
//! are. The same arguments always write the same bytes. The generator itself is
//! `benches/workload/mod.rs` (the history: `benches/workload/history.rs`), shared with the
//! criterion benchmarks; the tests below run with `cargo test`.

#[path = "../benches/workload/mod.rs"]
mod workload;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use workload::{Dialect, WorkloadSpec};

#[derive(Debug, Parser)]
#[command(about = "Write a synthetic isolint project (schema plus named transactions)")]
struct Arguments {
    /// How many tables the migration creates.
    #[arg(long, default_value_t = 20)]
    tables: usize,
    /// How many transaction files to write.
    #[arg(long, default_value_t = 100)]
    programs: usize,
    /// The seed of the generator: the same seed gives the same project.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The directory to write into (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// `postgres` or `mysql`.
    #[arg(long, default_value = "postgres")]
    dialect: String,
    /// MB (10^6 bytes) of migration history to write after the initial schema.
    #[arg(long, default_value_t = 0.0)]
    history_mb: f64,
}

fn main() -> ExitCode {
    let arguments = Arguments::parse();
    let Some(dialect) = Dialect::from_name(&arguments.dialect) else {
        eprintln!(
            "gen: unknown dialect `{}`; use postgres or mysql",
            arguments.dialect
        );
        return ExitCode::from(2);
    };
    if !(arguments.history_mb >= 0.0 && arguments.history_mb.is_finite()) {
        eprintln!(
            "gen: --history-mb must be a number of MB, 0 or more, not {}",
            arguments.history_mb
        );
        return ExitCode::from(2);
    }
    let spec = WorkloadSpec {
        tables: arguments.tables,
        programs: arguments.programs,
        seed: arguments.seed,
        dialect,
        history_bytes: (arguments.history_mb * 1e6) as usize,
    };
    let mut bytes = 0;
    let files = workload::generate(&spec);
    for file in &files {
        let path = arguments.out.join(&file.relative_path);
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&path, &file.text));
        if let Err(error) = written {
            eprintln!("gen: cannot write {}: {error}", path.display());
            return ExitCode::FAILURE;
        }
        bytes += file.text.len();
    }
    eprintln!(
        "gen: wrote {} files ({} tables, {} programs, {bytes} bytes of SQL) to {}",
        files.len(),
        spec.tables,
        spec.programs,
        arguments.out.display()
    );
    ExitCode::SUCCESS
}

/// The generator's promises about the migration history, checked with isolint itself.
#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use isolint::discover::role_of;
    use isolint::parse::parse_file;
    use isolint::semantics::Engine;
    use isolint::source::SourceFile;
    use isolint::{CheckOptions, CheckResult, check_sources};

    use crate::workload::{Dialect, GeneratedFile, WorkloadSpec, generate};

    const HISTORY_BYTES: usize = 150_000;

    fn spec(dialect: Dialect, history_bytes: usize) -> WorkloadSpec {
        WorkloadSpec {
            tables: 20,
            programs: 80,
            seed: 3,
            dialect,
            history_bytes,
        }
    }

    fn engine(dialect: Dialect) -> Engine {
        match dialect {
            Dialect::Postgres => Engine::Postgres,
            Dialect::Mysql => Engine::Mysql,
        }
    }

    fn history(files: &[GeneratedFile]) -> Vec<&GeneratedFile> {
        files
            .iter()
            .filter(|file| file.relative_path.starts_with("migrations/") && !is_init(file))
            .collect()
    }

    fn is_init(file: &GeneratedFile) -> bool {
        file.relative_path == "migrations/0001_init.sql"
    }

    fn check(files: Vec<GeneratedFile>, dialect: Dialect) -> CheckResult {
        let sources = files
            .into_iter()
            .map(|file| {
                let path = PathBuf::from(file.relative_path);
                SourceFile::new(path.clone(), role_of(&path), file.text)
            })
            .collect();
        check_sources(sources, &CheckOptions::new(engine(dialect)))
    }

    #[test]
    fn history_is_numbered_migrations_of_the_requested_size_before_the_same_transactions() {
        for dialect in [Dialect::Postgres, Dialect::Mysql] {
            let without = generate(&spec(dialect, 0));
            let with = generate(&spec(dialect, HISTORY_BYTES));
            assert!(history(&without).is_empty());
            let added = history(&with);
            for (position, file) in added.iter().enumerate() {
                let prefix = format!("migrations/{:04}_", position + 2);
                assert!(
                    file.relative_path.starts_with(&prefix),
                    "{}",
                    file.relative_path
                );
            }
            let bytes: usize = added.iter().map(|file| file.text.len()).sum();
            let last = added.last().map_or(0, |file| file.text.len());
            assert!(bytes >= HISTORY_BYTES && bytes - last < HISTORY_BYTES);
            let others = |files: &[GeneratedFile]| -> Vec<(String, String)> {
                files
                    .iter()
                    .filter(|file| is_init(file) || file.relative_path.starts_with("txns/"))
                    .map(|file| (file.relative_path.clone(), file.text.clone()))
                    .collect()
            };
            assert_eq!(others(&without), others(&with));
            assert_eq!(others(&with).len(), with.len() - added.len());
        }
    }

    #[test]
    fn every_history_statement_parses_in_its_dialect() {
        for dialect in [Dialect::Postgres, Dialect::Mysql] {
            let files = generate(&spec(dialect, HISTORY_BYTES));
            for file in history(&files) {
                let parsed = parse_file(&file.text, engine(dialect));
                assert!(!parsed.statements.is_empty(), "{}", file.relative_path);
                for statement in &parsed.statements {
                    let text = &file.text[statement.range.start..statement.range.end];
                    assert!(
                        statement.parsed.is_ok(),
                        "{}: {text}: {:?}",
                        file.relative_path,
                        statement.parsed.as_ref().err()
                    );
                }
            }
        }
    }

    #[test]
    fn history_keeps_the_keys_and_findings_of_the_transactions() {
        for dialect in [Dialect::Postgres, Dialect::Mysql] {
            let without = check(generate(&spec(dialect, 0)), dialect);
            let with = check(generate(&spec(dialect, HISTORY_BYTES)), dialect);
            assert!(with.statements > without.statements);
            assert_eq!(with.parse_errors, 0);
            for table in without.catalog.tables() {
                let evolved = with
                    .catalog
                    .table(&table.name)
                    .expect("a table of 0001_init");
                assert_eq!(evolved.keys, table.keys, "{}", table.name);
                assert!(table.columns.iter().all(|c| evolved.has_column(c)));
            }
            let findings = |result: &CheckResult| -> Vec<String> {
                result
                    .findings
                    .iter()
                    .map(|finding| {
                        format!(
                            "{:?} {} {:?} {:?} {:?} {:?}",
                            finding.rule,
                            finding.message,
                            finding.instances,
                            finding.primary,
                            finding.related,
                            finding.why
                        )
                    })
                    .collect()
            };
            assert!(!without.findings.is_empty());
            assert_eq!(findings(&with), findings(&without));
        }
    }
}
