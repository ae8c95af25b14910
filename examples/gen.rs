//! Writes a synthetic isolint project for benchmarks and profiling:
//!
//! ```text
//! cargo run --release --example gen -- --tables N --programs M --seed S --out DIR \
//!     [--dialect postgres|mysql]
//! ```
//!
//! `DIR/migrations/0001_init.sql` holds the schema and `DIR/txns/txn_<i>.sql` one named
//! transaction each. The same arguments always write the same bytes. The generator itself is
//! `benches/workload/mod.rs`, shared with the criterion benchmarks.

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
    let spec = WorkloadSpec {
        tables: arguments.tables,
        programs: arguments.programs,
        seed: arguments.seed,
        dialect,
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
