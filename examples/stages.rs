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

#[path = "support/mod.rs"]
mod support;

use std::process::ExitCode;
use std::time::Instant;

use isolint::analysis::{Context, analyse};
use isolint::semantics::Semantics;
use isolint::{CheckOptions, check_sources};

const ABOUT: &str = "Time discovery, parsing and analysis of one check separately";

fn main() -> ExitCode {
    let started = Instant::now();
    let (engine, files) =
        match support::ProjectArguments::from_command_line(ABOUT).discover("stages") {
            Ok(found) => found,
            Err(code) => return code,
        };
    println!(
        "discover: {:.3} s, {} files",
        started.elapsed().as_secs_f64(),
        files.len()
    );

    let options = CheckOptions::new(engine);
    let mut no_rules = options.clone();
    no_rules.rules.clear();
    let started = Instant::now();
    let built = check_sources(files, &no_rules);
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
    let analysis = analyse(&context, &options.rules);
    let partners: usize = analysis
        .findings
        .iter()
        .map(|finding| finding.partners.len())
        .sum();
    println!(
        "analysis: {:.3} s, {} pairs that can meet, {} decisions (pairs the rules ran on), {} \
         findings, {partners} partners",
        started.elapsed().as_secs_f64(),
        analysis.pairs,
        analysis.decisions,
        analysis.findings.len()
    );
    ExitCode::SUCCESS
}
