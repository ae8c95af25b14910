//! `isolint init`: a commented `isolint.toml` in the working directory, for the engine the
//! project's SQL looks like.

use std::path::PathBuf;
use std::process::ExitCode;

use super::CliError;
use crate::config;
use crate::discover;
use crate::semantics::{Engine, Semantics};
use crate::source::{Role, SourceFile};

/// `isolint init`: a commented config for the engine the project's SQL looks like.
pub(super) fn init(force: bool) -> Result<ExitCode, CliError> {
    let working_directory = std::env::current_dir().map_err(CliError::WorkingDirectory)?;
    let path = working_directory.join(config::FILE_NAMES[0]);
    if path.exists() && !force {
        return Err(CliError::ConfigExists(path.display().to_string()));
    }
    let discovered = discover::discover(&[PathBuf::from(".")], &working_directory)?;
    let guessed = config::guess_engine(discovered.files.iter().map(|file| file.text.as_str()));
    let engine = guessed.unwrap_or(Engine::Postgres);
    let queries = query_names(&discovered.files);
    std::fs::write(&path, config::init_text(engine, &queries)).map_err(|source| {
        CliError::Output {
            path: path.display().to_string(),
            source,
        }
    })?;
    let how = match guessed {
        Some(_) => format!("guessed from {} SQL file(s)", discovered.files.len()),
        None => "no SQL found to guess from; change it if needed".to_string(),
    };
    eprintln!(
        "isolint: wrote {} for {} ({how})",
        config::FILE_NAMES[0],
        Semantics::embedded().display(engine)
    );
    Ok(ExitCode::SUCCESS)
}

/// The names of the named queries (`-- name: X`, `-- x --`, ...) in transaction files, in
/// file order: what a `[[transaction]]` can compose.
fn query_names(files: &[SourceFile]) -> Vec<String> {
    use crate::parse::directives::{Directive, parse_comment};
    files
        .iter()
        .filter(|file| file.role == Role::Transactions)
        .flat_map(|file| file.text.lines())
        .filter(|line| line.trim_start().starts_with("--"))
        .filter_map(|line| match parse_comment(line) {
            Some(Directive::Name(name)) => Some(name),
            _ => None,
        })
        .collect()
}
