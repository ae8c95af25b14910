//! Shows why two programs meet: each program's accesses, then the rw edges from each one's
//! reads to the other's writes, as the pair rules see them.
//!
//! ```text
//! cargo run --release --example pair -- DIR --first mq_insert --second mq_poll
//! ```

// Only the arguments are shared here; the command line is parsed with this tool's own.
#[allow(dead_code)]
#[path = "support/mod.rs"]
mod support;

use std::process::ExitCode;

use clap::Parser;

use isolint::analysis::conflict::{Instance, rw_edges};
use isolint::{CheckOptions, check_sources};

#[derive(Debug, Parser)]
#[command(about = "Print two programs' accesses and the rw edges between them")]
struct Arguments {
    #[command(flatten)]
    project: support::ProjectArguments,
    /// The name of the first program.
    #[arg(long)]
    first: String,
    /// The name of the second program (the first again for two instances of one program).
    #[arg(long)]
    second: String,
}

fn main() -> ExitCode {
    let arguments = Arguments::parse();
    let (engine, files) = match arguments.project.discover("pair") {
        Ok(found) => found,
        Err(code) => return code,
    };
    let mut options = CheckOptions::new(engine);
    options.rules.clear();
    // The transactions and parameter values of the isolint.toml above the working directory.
    let here = std::env::current_dir().unwrap_or_default();
    if let Some(path) = isolint::config::find(&here) {
        match isolint::config::load(&path) {
            Ok(config) => {
                options.transactions = config.transactions.clone();
                options.parameters = config.parameters.clone();
            }
            Err(error) => {
                eprintln!("pair: {}: {error}", path.display());
                return ExitCode::from(2);
            }
        }
    }
    let built = check_sources(files, &options);
    let find = |name: &str| {
        built
            .programs
            .iter()
            .position(|program| program.name == name)
    };
    let (Some(first), Some(second)) = (find(&arguments.first), find(&arguments.second)) else {
        eprintln!(
            "pair: no program named `{}` or `{}`",
            arguments.first, arguments.second
        );
        return ExitCode::from(2);
    };
    let instance = |index: usize, tag: u8| Instance {
        program: &built.programs[index],
        index,
        tag,
    };
    for (tag, index) in [(0, first), (1, second)] {
        let program = &built.programs[index];
        println!("T{} {} ({:?})", tag + 1, program.name, program.kind);
        for (at, access) in instance(index, tag).accesses() {
            println!("  {at:?} {access:#?}");
        }
    }
    let indices = [first, second];
    for (reader, writer) in [(0u8, 1u8), (1, 0)] {
        let (reader, writer) = (
            instance(indices[usize::from(reader)], reader),
            instance(indices[usize::from(writer)], writer),
        );
        println!(
            "rw edges T{} {} → T{} {}:",
            reader.tag + 1,
            reader.program.name,
            writer.tag + 1,
            writer.program.name
        );
        for edge in rw_edges(reader, writer) {
            println!("  {edge:?}");
        }
    }
    ExitCode::SUCCESS
}
