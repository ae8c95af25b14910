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

#[path = "support/mod.rs"]
mod support;

use std::process::ExitCode;

use rayon::prelude::*;

use isolint::parse::parse_file;

const ABOUT: &str = "Discover and parse SQL files the way `isolint check` does, then stop";

fn main() -> ExitCode {
    let (engine, files) =
        match support::ProjectArguments::from_command_line(ABOUT).discover("floor") {
            Ok(found) => found,
            Err(code) => return code,
        };
    // Each file's syntax trees are dropped once counted, as `check` drops them once read.
    let counts: Vec<(usize, usize)> = files
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
        files.len()
    );
    ExitCode::SUCCESS
}
