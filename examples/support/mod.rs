//! What the measuring examples (`floor`, `stages`) share: the arguments `isolint check` takes
//! for a project, and discovering its files the same way.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser};

use isolint::semantics::Engine;
use isolint::source::SourceFile;

#[derive(Debug, Parser)]
pub struct ProjectArguments {
    /// Directories or files, as given to `isolint check`.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// The engine (`isolint check --engine`).
    #[arg(long, default_value = "postgres")]
    pub engine: String,
}

impl ProjectArguments {
    /// The command line, with `about` in the help.
    pub fn from_command_line(about: &'static str) -> ProjectArguments {
        let matches = ProjectArguments::command().about(about).get_matches();
        ProjectArguments::from_arg_matches(&matches).unwrap_or_else(|error| error.exit())
    }

    /// The engine and the discovered files, or the exit code after telling why not (`tool`
    /// names the example in the message).
    pub fn discover(&self, tool: &str) -> Result<(Engine, Vec<SourceFile>), ExitCode> {
        let Some(engine) = Engine::parse(&self.engine) else {
            eprintln!("{tool}: unknown engine `{}`", self.engine);
            return Err(ExitCode::from(2));
        };
        let working_directory = std::env::current_dir().unwrap_or_default();
        match isolint::discover::discover(&self.paths, &working_directory) {
            Ok(discovered) => Ok((engine, discovered.files)),
            Err(error) => {
                eprintln!("{tool}: {error}");
                Err(ExitCode::from(2))
            }
        }
    }
}
