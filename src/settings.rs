//! What a check runs with: the engine, the isolation level, the rules and the files' roles,
//! from the choices made on the command line (or none, in an editor) and the project's
//! `isolint.toml`. `isolint check` and the language server both start here.

use std::path::Path;

use crate::CheckOptions;
use crate::config::{self, Config};
use crate::discover;
use crate::rule::Rule;
use crate::semantics::{Engine, Level, Semantics};
use crate::source::Role;

/// Stack for the analysis threads: parsing and walking SQL recurses once per nesting level.
pub const STACK_SIZE: usize = 256 * 1024 * 1024;

/// The choices a user can make on top of the config: `--engine`, `--isolation`, `--select`,
/// `--extend-select`, `--ignore`. The default is no choice at all.
#[derive(Debug, Clone, Default)]
pub struct Choices {
    pub engine: Option<String>,
    pub isolation: Option<String>,
    pub select: Vec<String>,
    pub extend_select: Vec<String>,
    pub ignore: Vec<String>,
}

/// A choice or a config that names something isolint does not have.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum SettingsError {
    #[error("unknown engine `{0}`")]
    #[diagnostic(
        code(isolint::engine),
        help(
            "use one of: postgres, mysql, mariadb, sqlserver, oracle, cockroachdb, sqlite, \
             spanner, tidb, yugabytedb"
        )
    )]
    UnknownEngine(String),
    #[error("unknown isolation level `{0}`")]
    #[diagnostic(
        code(isolint::isolation),
        help(
            "use one of: read-uncommitted, read-committed, repeatable-read, snapshot, serializable"
        )
    )]
    UnknownLevel(String),
    #[error("{engine} has no {level} isolation level")]
    #[diagnostic(code(isolint::isolation), help("{engine} accepts: {accepted}"))]
    UnsupportedLevel {
        engine: String,
        level: String,
        accepted: String,
    },
    #[error("unknown rule `{0}`")]
    #[diagnostic(code(isolint::rule), help("`isolint rules` lists the rules"))]
    UnknownRule(String),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Config(#[from] Box<config::ConfigError>),
}

/// Turns the choices into options; every mistake is a `SettingsError`.
pub fn options(args: &Choices, config: Option<&Config>) -> Result<CheckOptions, SettingsError> {
    let engine = match &args.engine {
        Some(name) => {
            Engine::parse(name).ok_or_else(|| SettingsError::UnknownEngine(name.clone()))?
        }
        None => config.and_then(|c| c.engine).unwrap_or(Engine::Postgres),
    };
    // The config's engine settings describe the config's engine: another `--engine` runs
    // with its defaults.
    let engine_settings = config
        .filter(|config| config.engine.unwrap_or(Engine::Postgres) == engine)
        .map(|config| config.engine_settings.clone())
        .unwrap_or_default();
    let semantics = Semantics::configured(&engine_settings);
    let configured = config.and_then(|c| c.isolation);
    let isolation = match (&args.isolation, configured) {
        (None, None) => None,
        (None, Some(level)) => Some(level),
        (Some(name), _) => Level::parse(name)
            .ok_or_else(|| SettingsError::UnknownLevel(name.clone()))?
            .into(),
    };
    // The level as asked for: programs resolve it with the settings the migrations may add, so
    // only a level no setting makes the engine accept is a mistake before the check
    // (`rejected_level` decides the rest after it).
    if let Some(level) = isolation {
        hopeless(semantics, engine, level)?;
    }
    let parse_rules = |names: &[String]| -> Result<Vec<Rule>, SettingsError> {
        let mut rules = Vec::new();
        for name in names.iter().filter(|name| !name.trim().is_empty()) {
            if name.eq_ignore_ascii_case("all") {
                rules.extend(Rule::ALL);
            } else {
                rules.push(
                    Rule::from_id(name).ok_or_else(|| SettingsError::UnknownRule(name.clone()))?,
                );
            }
        }
        Ok(rules)
    };
    let mut options = CheckOptions {
        isolation,
        engine_settings,
        ..CheckOptions::new(engine)
    };
    if let Some(config) = config {
        config.apply_rules(&mut options);
        options.variables = config.variables.clone();
        options.transactions = config.transactions.clone();
        options.parameters = config.parameters.clone();
    }
    // A `[[transaction]]`'s level must be one the engine has, as `--isolation`'s must.
    for level in options.transactions.iter().filter_map(|t| t.isolation) {
        hopeless(semantics, engine, level)?;
    }
    if !args.select.is_empty() {
        options.rules = parse_rules(&args.select)?.into_iter().collect();
    }
    options.rules.extend(parse_rules(&args.extend_select)?);
    for rule in parse_rules(&args.ignore)? {
        options.rules.remove(&rule);
    }
    Ok(options)
}

/// A level the engine rejects whatever its settings: an error before the check, since no
/// migration can change it.
fn hopeless(semantics: &Semantics, engine: Engine, level: Level) -> Result<(), SettingsError> {
    if semantics.resolve(engine, level).is_none()
        && semantics.acceptance_hint(engine, level).is_none()
    {
        return Err(unsupported(semantics, engine, level));
    }
    Ok(())
}

/// After the check: a level the options ask for (`--isolation`, the config's `isolation`, a
/// `[[transaction]]`'s) that the engine rejects with the settings the check ran with, the
/// config's and the migrations' (`result.semantics`). The check itself analysed such programs
/// at the engine's default, with a warning; the CLI makes it an error, as it does for a level
/// no setting makes the engine accept.
pub fn rejected_level(options: &CheckOptions, semantics: &Semantics) -> Result<(), SettingsError> {
    let engine = options.engine;
    let asked = options
        .isolation
        .into_iter()
        .chain(options.transactions.iter().filter_map(|t| t.isolation));
    for level in asked {
        if semantics.resolve(engine, level).is_none() {
            return Err(unsupported(semantics, engine, level));
        }
    }
    Ok(())
}

/// The error for a level the engine rejects: the levels it accepts, and the settings under
/// which it would accept this one.
fn unsupported(semantics: &Semantics, engine: Engine, level: Level) -> SettingsError {
    let mut accepted = semantics
        .levels(engine)
        .iter()
        .map(|level| level.id())
        .collect::<Vec<_>>()
        .join(", ");
    if let Some(hint) = semantics.acceptance_hint(engine, level) {
        accepted.push_str(&format!("; {} too with {hint}", level.id()));
    }
    SettingsError::UnsupportedLevel {
        engine: semantics.display(engine).to_string(),
        level: level.sql().to_string(),
        accepted,
    }
}

/// A file's role from the config's globs, or `None` when they leave it out; without a config
/// (or for a file outside its directory), the path heuristics of discovery.
pub fn classifier(
    config: Option<&Config>,
) -> Result<impl Fn(&Path) -> Option<Role>, SettingsError> {
    let matchers = config.map(Config::matchers).transpose().map_err(Box::new)?;
    Ok(move |path: &Path| match (config, &matchers) {
        (Some(config), Some(matchers)) => match config.relative_to_root(path) {
            Some(relative) if matchers.is_included(&relative) => Some(matchers.role(&relative)),
            Some(_) => None,
            None => Some(discover::role_of(path)),
        },
        _ => Some(discover::role_of(path)),
    })
}
