//! The floor of `isolint check`: discovery, then splitting and parsing every file in parallel
//! (the first stage of `isolint::check_sources`, done the same way), and nothing after it.
//! isolint has no mode that stops there, so `scripts/bench.sh` times this instead:
//!
//! ```text
//! cargo run --release --example floor -- DIR [--engine postgres|mysql|...]
//! ```
//!
//! Prints the number of files, statements and parse errors, so the work cannot be optimised
//! away and a reader can see it parsed what `check` parses.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use rayon::prelude::*;

use isolint::parse::parse_file;
use isolint::semantics::Engine;

#[derive(Debug, Parser)]
#[command(about = "Discover and parse SQL files the way `isolint check` does, then stop")]
struct Arguments {
    /// Directories or files, as given to `isolint check`.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// The engine whose dialect to parse (`isolint check --engine`).
    #[arg(long, default_value = "postgres")]
    engine: String,
}

fn main() -> ExitCode {
    let arguments = Arguments::parse();
    let Some(engine) = Engine::parse(&arguments.engine) else {
        eprintln!("floor: unknown engine `{}`", arguments.engine);
        return ExitCode::from(2);
    };
    let working_directory = std::env::current_dir().unwrap_or_default();
    let discovered = match isolint::discover::discover(&arguments.paths, &working_directory) {
        Ok(discovered) => discovered,
        Err(error) => {
            eprintln!("floor: {error}");
            return ExitCode::from(2);
        }
    };
    // Each file's syntax trees are dropped once counted, as `check` drops them once it has
    // their facts: holding every tree of a 50 MB project at once would cost gigabytes and
    // make the floor slower than the check it bounds.
    let counts: Vec<(usize, usize)> = discovered
        .files
        .par_iter()
        .map(|file| {
            let parsed = parse_file(&file.text, engine);
            let errors = parsed
                .statements
                .iter()
                .filter(|statement| statement.parsed.is_err())
                .count();
            (parsed.statements.len(), errors)
        })
        .collect();
    let statements: usize = counts.iter().map(|(statements, _)| statements).sum();
    let parse_errors: usize = counts.iter().map(|(_, errors)| errors).sum();
    println!(
        "floor: {} files, {statements} statements, {parse_errors} parse errors",
        discovered.files.len()
    );
    ExitCode::SUCCESS
}
