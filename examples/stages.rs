//! Times the stages of one check on a project, for the "analysed after parsing" figures of
//! BENCHMARKS.md:
//!
//! ```text
//! cargo run --release --example stages -- DIR [--engine postgres|mysql|...]
//! ```
//!
//! Prints the seconds of discovery, of parsing and building programs (every rule off, so no
//! pair is compared), and of the analysis on those programs (candidate pairs, pair rules,
//! dependency graph and its rules), with the counts that explain them.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;

use isolint::analysis::{Context, analyse, candidate_pairs};
use isolint::semantics::{Engine, Semantics};
use isolint::{CheckOptions, check_sources};

#[derive(Debug, Parser)]
#[command(about = "Time discovery, parsing and analysis of one check separately")]
struct Arguments {
    /// Directories or files, as given to `isolint check`.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// The engine (`isolint check --engine`).
    #[arg(long, default_value = "postgres")]
    engine: String,
}

fn main() -> ExitCode {
    let arguments = Arguments::parse();
    let Some(engine) = Engine::parse(&arguments.engine) else {
        eprintln!("stages: unknown engine `{}`", arguments.engine);
        return ExitCode::from(2);
    };
    let working_directory = std::env::current_dir().unwrap_or_default();
    let started = Instant::now();
    let discovered = match isolint::discover::discover(&arguments.paths, &working_directory) {
        Ok(discovered) => discovered,
        Err(error) => {
            eprintln!("stages: {error}");
            return ExitCode::from(2);
        }
    };
    let files = discovered.files.len();
    println!(
        "discover: {:.3} s, {files} files",
        started.elapsed().as_secs_f64()
    );

    let options = CheckOptions::new(engine);
    let mut no_rules = options.clone();
    no_rules.rules.clear();
    let started = Instant::now();
    let built = check_sources(discovered.files, &no_rules);
    println!(
        "parse and build programs: {:.3} s, {} statements, {} programs",
        started.elapsed().as_secs_f64(),
        built.statements,
        built.programs.len()
    );

    let context = Context {
        programs: &built.programs,
        catalog: &built.catalog,
        semantics: Semantics::embedded(),
        engine,
    };
    let started = Instant::now();
    let pairs = candidate_pairs(&built.programs).pairs.len();
    let analysis = analyse(&context, &options.rules);
    println!(
        "analysis: {:.3} s, {pairs} candidate pairs, {} findings",
        started.elapsed().as_secs_f64(),
        analysis.findings.len()
    );
    ExitCode::SUCCESS
}
