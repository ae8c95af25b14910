//! The configuration file: finding `isolint.toml`, reading it into a [`Config`], matching paths
//! against its globs, and writing the commented file `isolint init` starts from.
//!
//! Every mistake in the file is a [`ConfigError`] whose label points at the offending key or
//! value, so miette can show it in context. This module does not merge the file with
//! command-line flags (the CLI does, flags winning) and reads no SQL files: [`guess_engine`]
//! takes text that was read elsewhere.
//!
//! The file's text is read key by key in `document`, which also holds the keys each table
//! accepts; `init` writes the template and guesses the engine.
//!
//! ```toml
//! engine = "postgres"            # or an [engine] table with the engine's settings:
//!                                # name = "tidb", mode = "optimistic"
//! isolation = "read-committed"
//! schema = ["migrations/**", "db/schema.sql"]
//! include = ["**/*.sql"]
//! exclude = ["vendor/**"]
//!
//! [rules]
//! read-skew = "error"            # "error", "warning" or "off"
//! phantom-read = "warning"       # a severity turns an opt-in rule on
//!
//! [variables]                    # templated SQL: `:SCHEMA.jobs`, `${schema}`, `{{schema}}`
//! SCHEMA = "app"
//!
//! [[transaction]]                # named queries run as one transaction
//! name = "transfer"
//! isolation = "repeatable-read"
//! steps = ["GetAccount", "GetAccount", "UpdateBalance"]
//! atomic = false                 # optional: each step commits on its own (no `isolation` then)
//!
//! [confirm]                      # `isolint confirm`: SQL run after the migrations
//! setup = ["confirm-setup.sql"]
//! ```

// A `ConfigError` carries the file's text so miette can show the label in context. It is
// returned at most once per run, so its size costs nothing worth boxing it for.
#![allow(clippy::result_large_err)]

mod document;
mod init;

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use miette::{NamedSource, SourceSpan};
use toml::de::DeTable;

use crate::CheckOptions;
use crate::compose::{Composition, UnknownStep};
use crate::discover;
use crate::rule::{Rule, Severity};
use crate::semantics::{Engine, EngineSettings, Level, Semantics};
use crate::source::Role;
use document::{Document, TOP_LEVEL_KEYS, in_file_order};
pub use init::{guess_engine, init_text};

/// The names the file may have, in order of preference within one directory.
pub const FILE_NAMES: [&str; 2] = ["isolint.toml", ".isolint.toml"];

const GLOB_HELP: &str = "globs are relative to the config file's directory: `*` matches within \
                         one directory, `**` across directories, `{a,b}` either";

/// A rule's setting in the `[rules]` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleSetting {
    /// Run the rule and report its findings with this severity.
    Severity(Severity),
    /// Do not run the rule.
    Off,
}

/// The contents of an `isolint.toml`. `None` and empty lists mean the file does not say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The file, as it was given to [`load`].
    pub path: PathBuf,
    /// The file's directory, absolute; the globs are relative to it.
    pub root: PathBuf,
    pub engine: Option<Engine>,
    pub isolation: Option<Level>,
    /// Globs of the files that hold the schema (migrations, dumps).
    pub schema: Vec<String>,
    /// Globs of the files to check.
    pub include: Vec<String>,
    /// Globs of the files not to read.
    pub exclude: Vec<String>,
    pub rules: BTreeMap<Rule, RuleSetting>,
    /// The `[engine]` table's settings of the engine (`mode = "optimistic"` for TiDB).
    pub engine_settings: EngineSettings,
    /// `[variables]`: values of the template variables in templated SQL.
    pub variables: BTreeMap<String, String>,
    /// `[[transaction]]`: transactions composed from named queries.
    pub transactions: Vec<Composition>,
    /// `[confirm] setup`: SQL files `isolint confirm` runs after the migrations, in order.
    pub confirm_setup: Vec<SetupFile>,
    /// `[parameters.<query>]`: the values the query's callers pass for some of its parameters,
    /// as SQL literals, where isolint cannot see the callers.
    pub parameters: BTreeMap<String, crate::access::extract::ParameterValues>,
}

/// A `[confirm] setup` file: where it is, and where the config names it, for errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupFile {
    /// The path as written in the config.
    pub written: String,
    /// The path the config's directory gives it.
    pub path: PathBuf,
    /// The config file's line (1-based) that names it.
    pub line: usize,
}

/// The tool failed to read the configuration. Every variant about the file's contents carries
/// the file and a label on the key or value at fault.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ConfigError {
    #[error("cannot read `{}`: {error}", path.display())]
    #[diagnostic(
        code(isolint::config::read),
        help("the config must be a readable UTF-8 TOML file; fix or remove it, or pass --config")
    )]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },

    #[error("invalid TOML: {message}")]
    #[diagnostic(
        code(isolint::config::syntax),
        help("the file is TOML: `key = \"value\"` lines, then `[table]` sections")
    )]
    Syntax {
        message: String,
        #[source_code]
        src: NamedSource<String>,
        #[label("here")]
        span: SourceSpan,
    },

    #[error("unknown {table} key `{key}`")]
    #[diagnostic(code(isolint::config::key))]
    UnknownKey {
        key: String,
        table: &'static str,
        #[source_code]
        src: NamedSource<String>,
        #[label("not a setting isolint knows")]
        span: SourceSpan,
        #[help]
        help: String,
    },

    #[error("`{key}` must be {expected}, not {found}")]
    #[diagnostic(code(isolint::config::value_type))]
    WrongType {
        key: String,
        expected: &'static str,
        found: &'static str,
        #[source_code]
        src: NamedSource<String>,
        #[label("expected {expected}")]
        span: SourceSpan,
        #[help]
        help: String,
    },

    #[error("unknown engine `{value}`")]
    #[diagnostic(code(isolint::config::engine))]
    UnknownEngine {
        value: String,
        #[source_code]
        src: NamedSource<String>,
        #[label("not an engine isolint knows")]
        span: SourceSpan,
        #[help]
        help: String,
    },

    #[error("unknown isolation level `{value}`")]
    #[diagnostic(code(isolint::config::isolation))]
    UnknownLevel {
        value: String,
        #[source_code]
        src: NamedSource<String>,
        #[label("not an isolation level")]
        span: SourceSpan,
        #[help]
        help: String,
    },

    #[error("{engine} has no {level} isolation level")]
    #[diagnostic(code(isolint::config::isolation), help("{engine} accepts: {accepted}"))]
    UnsupportedLevel {
        engine: Engine,
        level: &'static str,
        accepted: String,
        #[source_code]
        src: NamedSource<String>,
        #[label("not a level of {engine}")]
        span: SourceSpan,
    },

    #[error("unknown severity `{value}` for rule `{rule}`")]
    #[diagnostic(
        code(isolint::config::severity),
        help("use \"error\", \"warning\" or \"off\"")
    )]
    UnknownSeverity {
        value: String,
        rule: Rule,
        #[source_code]
        src: NamedSource<String>,
        #[label("not a severity")]
        span: SourceSpan,
    },

    #[error("unknown rule `{rule}`")]
    #[diagnostic(code(isolint::config::rule))]
    UnknownRule {
        rule: String,
        #[source_code]
        src: NamedSource<String>,
        #[label("not a rule id")]
        span: SourceSpan,
        #[help]
        help: String,
    },

    /// A glob that does not compile. The source and label are missing when the glob did not
    /// come from the file (a caller added it to a loaded `Config`).
    #[error("invalid glob `{glob}` in `{key}`: {message}")]
    #[diagnostic(code(isolint::config::glob), help("{GLOB_HELP}"))]
    BadGlob {
        glob: String,
        key: &'static str,
        message: String,
        #[source_code]
        src: Option<NamedSource<String>>,
        #[label("invalid glob")]
        span: Option<SourceSpan>,
    },

    #[error("`{key}` cannot be `{value}`")]
    #[diagnostic(code(isolint::config::setting))]
    UnknownSettingValue {
        key: String,
        value: String,
        #[source_code]
        src: NamedSource<String>,
        #[label("not a value of this setting")]
        span: SourceSpan,
        #[help]
        help: String,
    },

    #[error(
        "transaction `{transaction}` sets `isolation`, but its steps commit separately \
         (`atomic = false`)"
    )]
    #[diagnostic(
        code(isolint::config::atomic),
        help(
            "nothing isolates one step from the next whatever level each runs at: remove \
             `isolation`, or `atomic = false` if the steps run in one transaction"
        )
    )]
    IsolationOfSeparateSteps {
        transaction: String,
        #[source_code]
        src: NamedSource<String>,
        #[label("each step commits on its own")]
        span: SourceSpan,
    },

    #[error("transaction `{transaction}` has a step `{step}` that names no query")]
    #[diagnostic(code(isolint::config::step))]
    UnknownStep {
        transaction: String,
        step: String,
        #[source_code]
        src: NamedSource<String>,
        #[label("no query has this name")]
        span: SourceSpan,
        #[help]
        help: String,
    },
}

/// The configuration that applies to `start`: the nearest `isolint.toml` or `.isolint.toml` in
/// `start` or a directory above it. `isolint.toml` wins over `.isolint.toml` in one directory.
pub fn find(start: &Path) -> Option<PathBuf> {
    // Walking up needs an absolute path: the ancestors of `.` are only `.` and ``.
    let start = start
        .canonicalize()
        .or_else(|_| std::path::absolute(start))
        .unwrap_or_else(|_| start.to_path_buf());
    start
        .ancestors()
        .flat_map(|directory| FILE_NAMES.iter().map(|name| directory.join(name)))
        .find(|candidate| candidate.is_file())
}

/// Reads and checks the configuration file at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
        path: path.to_path_buf(),
        error,
    })?;
    parse(path, &text)
}

/// Checks the text of a configuration file; `path` names it in errors and gives the root.
pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
    let document = Document {
        name: path.display().to_string(),
        text,
    };
    let table = DeTable::parse(text).map_err(|error| ConfigError::Syntax {
        message: error.message().to_string(),
        src: document.source(),
        span: error.span().unwrap_or(0..0).into(),
    })?;
    let mut config = Config {
        path: path.to_path_buf(),
        root: root_of(path),
        engine: None,
        isolation: None,
        schema: Vec::new(),
        include: Vec::new(),
        exclude: Vec::new(),
        rules: BTreeMap::new(),
        engine_settings: EngineSettings::new(),
        variables: BTreeMap::new(),
        transactions: Vec::new(),
        confirm_setup: Vec::new(),
        parameters: BTreeMap::new(),
    };
    let mut isolation_span = 0..0;
    for (key, value) in in_file_order(table.get_ref()) {
        match key.get_ref().as_ref() {
            "engine" => document.read_engine(value, &mut config)?,
            "isolation" => {
                config.isolation = Some(document.level(value)?);
                isolation_span = value.span();
            }
            "schema" => config.schema = document.globs("schema", value)?,
            "include" => config.include = document.globs("include", value)?,
            "exclude" => config.exclude = document.globs("exclude", value)?,
            "rules" => config.rules = document.rules(value)?,
            "variables" => config.variables = document.variables(value)?,
            "transaction" => config.transactions = document.transactions(value)?,
            "confirm" => config.confirm_setup = document.confirm(value, &config.root)?,
            "parameters" => config.parameters = document.parameters(value)?,
            _ => return Err(document.unknown_key(key, "top-level", TOP_LEVEL_KEYS)),
        }
    }
    // A level the engine accepts with another setting may be accepted with the migrations'
    // settings: the check decides (`settings::rejected_level`).
    if let (Some(engine), Some(level)) = (config.engine, config.isolation) {
        let semantics = Semantics::configured(&config.engine_settings);
        if semantics.resolve(engine, level).is_none()
            && semantics.acceptance_hint(engine, level).is_none()
        {
            return Err(ConfigError::UnsupportedLevel {
                engine,
                level: level.id(),
                accepted: ids(semantics.levels(engine).into_iter().map(Level::id)),
                src: document.source(),
                span: isolation_span.into(),
            });
        }
    }
    Ok(config)
}

impl Config {
    /// The globs, compiled. `load` has compiled them once already, so this fails only for a
    /// glob a caller added afterwards.
    pub fn matchers(&self) -> Result<Matchers, ConfigError> {
        let compile = |key: &'static str, globs: &[String]| {
            let mut builder = GlobSetBuilder::new();
            for glob in globs {
                builder.add(build_glob(glob).map_err(|error| ConfigError::BadGlob {
                    glob: glob.clone(),
                    key,
                    message: error.kind().to_string(),
                    src: None,
                    span: None,
                })?);
            }
            // Globs that compile one by one can still fail together, when the combined
            // pattern outgrows the regex size limit.
            builder.build().map_err(|error| ConfigError::BadGlob {
                glob: globs.join(", "),
                key,
                message: error.kind().to_string(),
                src: None,
                span: None,
            })
        };
        // The `[confirm] setup` files are `confirm`'s, not transactions of the project.
        let mut exclude = self.exclude.clone();
        exclude.extend(
            self.confirm_setup
                .iter()
                .map(|file| literal_glob(&file.written)),
        );
        Ok(Matchers {
            schema: compile("schema", &self.schema)?,
            include: compile("include", &self.include)?,
            exclude: compile("exclude", &exclude)?,
            has_schema: !self.schema.is_empty(),
            has_include: !self.include.is_empty(),
        })
    }

    /// `path` relative to [`Config::root`], for the matchers; `None` when it lies outside.
    pub fn relative_to_root(&self, path: &Path) -> Option<PathBuf> {
        let absolute = std::path::absolute(path).ok()?;
        absolute
            .strip_prefix(&self.root)
            .ok()
            .map(Path::to_path_buf)
    }

    /// The error for a `[[transaction]]` step that names no query, pointing at the step in
    /// this file (read again: the config keeps no copy of its text).
    pub fn unknown_step(&self, unknown: &UnknownStep) -> ConfigError {
        let text = std::fs::read_to_string(&self.path).unwrap_or_default();
        let span = if text.get(unknown.step.span.clone()).is_some() {
            unknown.step.span.clone()
        } else {
            0..0
        };
        ConfigError::UnknownStep {
            transaction: unknown.transaction.clone(),
            step: unknown.step.name.clone(),
            src: NamedSource::new(self.path.display().to_string(), text),
            span: span.into(),
            help: match &unknown.suggestion {
                Some(name) => format!(
                    "did you mean `{name}`? a step is the name of a query, from its \
                     `-- name: NAME` line"
                ),
                None => "a step is the name of a query, from its `-- name: NAME` line; \
                         `isolint check --format json` lists the transactions found"
                    .to_string(),
            },
        }
    }

    /// Applies the `[rules]` table: `off` removes a rule, a severity adds the rule (turning an
    /// opt-in rule on) and replaces its documented severity.
    pub fn apply_rules(&self, options: &mut CheckOptions) {
        for (&rule, setting) in &self.rules {
            match setting {
                RuleSetting::Off => {
                    options.rules.remove(&rule);
                    options.severities.remove(&rule);
                }
                RuleSetting::Severity(severity) => {
                    options.rules.insert(rule);
                    options.severities.insert(rule, *severity);
                }
            }
        }
    }
}

/// The compiled `schema`, `include` and `exclude` globs. Paths are relative to the config's
/// directory. A glob that matches a directory matches everything beneath it, so `vendor` and
/// `vendor/**` exclude the same files.
#[derive(Debug, Clone)]
pub struct Matchers {
    schema: GlobSet,
    include: GlobSet,
    exclude: GlobSet,
    has_schema: bool,
    has_include: bool,
}

impl Matchers {
    /// Whether a `schema` glob matches the file.
    pub fn is_schema(&self, relative: &Path) -> bool {
        matches_path_or_ancestor(&self.schema, relative)
    }

    /// The file's role: the `schema` globs decide when there are any, else the path heuristics
    /// of discovery do.
    pub fn role(&self, relative: &Path) -> Role {
        if !self.has_schema {
            discover::role_of(relative)
        } else if self.is_schema(relative) {
            Role::Schema
        } else {
            Role::Transactions
        }
    }

    /// Whether a `exclude` glob matches the file.
    pub fn is_excluded(&self, relative: &Path) -> bool {
        matches_path_or_ancestor(&self.exclude, relative)
    }

    /// Whether the file is read: not excluded, and matched by an `include` glob (any file when
    /// there are none) or by a `schema` glob, since checking needs the schema.
    pub fn is_included(&self, relative: &Path) -> bool {
        !self.is_excluded(relative)
            && (!self.has_include
                || matches_path_or_ancestor(&self.include, relative)
                || self.is_schema(relative))
    }
}

/// A glob that matches exactly `path`: its metacharacters in brackets.
fn literal_glob(path: &str) -> String {
    let relative = path.strip_prefix("./").unwrap_or(path);
    let mut glob = String::with_capacity(relative.len());
    for character in relative.chars() {
        match character {
            '*' | '?' | '[' | ']' | '{' | '}' | '!' => {
                glob.push('[');
                glob.push(character);
                glob.push(']');
            }
            _ => glob.push(character),
        }
    }
    glob
}

/// The file's directory, absolute where the working directory is known.
fn root_of(path: &Path) -> PathBuf {
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    std::path::absolute(directory).unwrap_or_else(|_| directory.to_path_buf())
}

fn build_glob(glob: &str) -> Result<Glob, globset::Error> {
    GlobBuilder::new(glob.strip_prefix("./").unwrap_or(glob))
        .literal_separator(true)
        .build()
}

fn matches_path_or_ancestor(set: &GlobSet, relative: &Path) -> bool {
    let relative: PathBuf = relative
        .components()
        .filter(|component| !matches!(component, Component::CurDir))
        .collect();
    relative
        .ancestors()
        .filter(|path| !path.as_os_str().is_empty())
        .any(|path| set.is_match(path))
}

fn ids<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names.collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme};

    use super::*;
    use crate::compose::Step;
    use crate::semantics::SettingValue;

    fn render(error: &ConfigError) -> String {
        let mut out = String::new();
        GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
            .with_width(200)
            .render_report(&mut out, error)
            .unwrap();
        out
    }

    /// Parses `text` as `isolint.toml`, expecting an error whose label covers `labelled`, on
    /// `line`, and whose rendering includes `help`.
    fn check_error(text: &str, labelled: &str, line: usize, help: &str) {
        let error = parse(Path::new("isolint.toml"), text).unwrap_err();
        let labels: Vec<_> = error.labels().expect("the error has a label").collect();
        assert_eq!(labels.len(), 1, "{error:?}");
        let span = labels[0].inner();
        assert_eq!(&text[span.offset()..span.offset() + span.len()], labelled);
        let rendered = render(&error);
        assert!(
            rendered.contains(&format!("[isolint.toml:{line}:")),
            "no isolint.toml:{line} in\n{rendered}"
        );
        assert!(rendered.contains(help), "no `{help}` in\n{rendered}");
    }

    #[test]
    fn a_full_config_is_read() {
        let text = r#"
engine = "mysql"
isolation = "READ COMMITTED"
schema = ["migrations/**", "db/schema.sql"]
include = ["**/*.sql"]
exclude = ["vendor/**"]

[rules]
phantom-read = "warning"
read-skew = "error"
lost-update = "off"
"#;
        let config = parse(Path::new("project/isolint.toml"), text).unwrap();
        assert_eq!(
            config,
            Config {
                path: PathBuf::from("project/isolint.toml"),
                root: std::path::absolute("project").unwrap(),
                engine: Some(Engine::Mysql),
                isolation: Some(Level::ReadCommitted),
                schema: vec!["migrations/**".into(), "db/schema.sql".into()],
                include: vec!["**/*.sql".into()],
                exclude: vec!["vendor/**".into()],
                rules: BTreeMap::from([
                    (Rule::PhantomRead, RuleSetting::Severity(Severity::Warning)),
                    (Rule::ReadSkew, RuleSetting::Severity(Severity::Error)),
                    (Rule::LostUpdate, RuleSetting::Off),
                ]),
                engine_settings: EngineSettings::new(),
                variables: BTreeMap::new(),
                transactions: Vec::new(),
                confirm_setup: Vec::new(),
                parameters: BTreeMap::new(),
            }
        );
    }

    #[test]
    fn steps_that_commit_separately_take_no_level() {
        let text =
            "[[transaction]]\nname = \"claim\"\nsteps = [\"Fetch\", \"Touch\"]\natomic = false\n";
        let config = parse(Path::new("isolint.toml"), text).unwrap();
        assert!(!config.transactions[0].atomic);
        let default = parse(
            Path::new("isolint.toml"),
            "[[transaction]]\nname = \"claim\"\nsteps = [\"Fetch\", \"Touch\"]\n",
        )
        .unwrap();
        assert!(default.transactions[0].atomic);
        check_error(
            "[[transaction]]\nname = \"claim\"\nisolation = \"serializable\"\nsteps = [\"Fetch\"]\natomic = false\n",
            "atomic",
            5,
            "remove `isolation`",
        );
    }

    #[test]
    fn step_lists_name_steps_of_the_transaction() {
        let text = "[[transaction]]\nname = \"get_or_create\"\nsteps = [\"Find\", \"Insert\"]\n\
                    returns_if_found = [\"Find\"]\nsteps_run_alone = [\"Insert\"]\n";
        let config = parse(Path::new("isolint.toml"), text).unwrap();
        let names = |steps: &[Step]| steps.iter().map(|s| s.name.clone()).collect::<Vec<_>>();
        let transaction = &config.transactions[0];
        assert_eq!(names(&transaction.returns_if_found), ["Find"]);
        assert_eq!(
            transaction.steps_run_alone.as_deref().map(names),
            Some(vec!["Insert".to_string()])
        );
        check_error(
            "[[transaction]]\nname = \"get_or_create\"\nsteps = [\"Find\", \"Insert\"]\nreturns_if_found = [\"Fnd\"]\n",
            "\"Fnd\"",
            4,
            "returns_if_found",
        );
    }

    #[test]
    fn confirm_setup_files_are_relative_to_the_config_with_their_lines() {
        let text = "engine = \"postgres\"\n\n[confirm]\nsetup = [\n  \"setup/queues.sql\",\n  \"batches.sql\",\n]\n";
        let config = parse(Path::new("project/isolint.toml"), text).unwrap();
        let root = std::path::absolute("project").unwrap();
        assert_eq!(
            config.confirm_setup,
            [
                SetupFile {
                    written: "setup/queues.sql".into(),
                    path: root.join("setup/queues.sql"),
                    line: 5,
                },
                SetupFile {
                    written: "batches.sql".into(),
                    path: root.join("batches.sql"),
                    line: 6,
                },
            ]
        );
        check_error(
            "[confirm]\nsetup = \"confirm-setup.sql\"\n",
            "\"confirm-setup.sql\"",
            2,
            "setup = [\"confirm-setup.sql\"]",
        );
        check_error(
            "[confirm]\nsetpu = []\n",
            "setpu",
            2,
            "did you mean `setup`?",
        );
    }

    #[test]
    fn parameter_values_are_sql_literals_by_query_and_parameter() {
        let text = "[parameters.delete_old_jobs]\nstatuses = [\"succeeded\", \"it's\"]\n\
                    limit = 10\nforce = false\n";
        let config = parse(Path::new("isolint.toml"), text).unwrap();
        let values = &config.parameters["delete_old_jobs"];
        assert_eq!(values["statuses"], ["'succeeded'", "'it''s'"]);
        assert_eq!(values["limit"], ["10"]);
        assert_eq!(values["force"], ["false"]);
        let error = parse(
            Path::new("isolint.toml"),
            "[parameters.delete_old_jobs]\nstatuses = [1.5]\n",
        )
        .unwrap_err();
        assert!(
            error.to_string().contains("statuses"),
            "the error names the parameter: {error}"
        );
    }

    #[test]
    fn confirm_setup_files_are_not_checked() {
        let config = parse(
            Path::new("isolint.toml"),
            "exclude = [\"vendor/**\"]\n[confirm]\nsetup = [\"./state/confirm-setup.sql\", \"odd[1].sql\"]\n",
        )
        .unwrap();
        let matchers = config.matchers().unwrap();
        assert!(matchers.is_excluded(Path::new("state/confirm-setup.sql")));
        assert!(matchers.is_excluded(Path::new("odd[1].sql")));
        assert!(!matchers.is_excluded(Path::new("odd1.sql")));
        assert!(!matchers.is_excluded(Path::new("queries/jobs.sql")));
        assert!(matchers.is_excluded(Path::new("vendor/x.sql")));
    }

    #[test]
    fn an_empty_file_says_nothing() {
        let config = parse(Path::new("isolint.toml"), "").unwrap();
        assert_eq!(config.engine, None);
        assert!(config.rules.is_empty() && config.schema.is_empty());
    }

    #[test]
    fn engine_table_names_the_engine_and_its_options() {
        let text = "[engine]\nname = \"mariadb\"\nsnapshot_isolation = false\n";
        let config = parse(Path::new("isolint.toml"), text).unwrap();
        assert_eq!(config.engine, Some(Engine::Mariadb));
        let settings: Vec<(&str, &SettingValue)> =
            config.engine_settings.of(Engine::Mariadb).collect();
        assert_eq!(
            settings,
            [("snapshot_isolation", &SettingValue::Boolean(false))]
        );
    }

    #[test]
    fn setting_values_are_case_insensitive() {
        let text = "[engine]\nname = \"tidb\"\nmode = \"Optimistic\"\n";
        let config = parse(Path::new("isolint.toml"), text).unwrap();
        let settings: Vec<(&str, &SettingValue)> =
            config.engine_settings.of(Engine::Tidb).collect();
        assert_eq!(
            settings,
            [("mode", &SettingValue::Text("optimistic".into()))]
        );
    }

    #[test]
    fn a_level_a_setting_makes_the_engine_accept_is_left_to_the_check() {
        // A migration may set tidb_skip_isolation_level_check: the check decides.
        let config = parse(
            Path::new("isolint.toml"),
            "engine = \"tidb\"\nisolation = \"serializable\"\n",
        )
        .unwrap();
        assert_eq!(config.isolation, Some(Level::Serializable));
    }

    #[test]
    fn unknown_key_suggests_the_closest() {
        check_error(
            "engin = \"postgres\"\n",
            "engin",
            1,
            "did you mean `engine`? valid keys: engine, isolation, schema, include, exclude, rules, variables, transaction, confirm",
        );
    }

    #[test]
    fn unknown_table_lists_the_valid_keys() {
        check_error(
            "engine = \"postgres\"\n\n[tool]\nx = 1\n",
            "tool",
            3,
            "valid keys: engine, isolation, schema, include, exclude, rules, variables, transaction, confirm",
        );
    }

    #[test]
    fn unknown_engine_option_is_an_error() {
        check_error(
            "[engine]\nname = \"mariadb\"\nsnapshot = true\n",
            "snapshot",
            3,
            "valid keys: name, snapshot_isolation",
        );
    }

    #[test]
    fn bad_engine_lists_the_engines() {
        check_error(
            "engine = \"postgress\"\n",
            "\"postgress\"",
            1,
            "did you mean `postgres`? use one of: postgres, mysql, mariadb, sqlserver, oracle, \
             cockroachdb, sqlite",
        );
    }

    #[test]
    fn bad_level_lists_the_levels() {
        check_error(
            "engine = \"postgres\"\nisolation = \"eventual\"\n",
            "\"eventual\"",
            2,
            "use one of: read-uncommitted, read-committed, repeatable-read, snapshot, serializable",
        );
    }

    #[test]
    fn level_the_engine_lacks_lists_the_engines_levels() {
        check_error(
            "engine = \"oracle\"\nisolation = \"repeatable-read\"\n",
            "\"repeatable-read\"",
            2,
            "oracle accepts: read-committed, serializable",
        );
    }

    #[test]
    fn bad_severity_names_the_choices() {
        check_error(
            "[rules]\nwrite-skew = \"fatal\"\n",
            "\"fatal\"",
            2,
            "use \"error\", \"warning\" or \"off\"",
        );
    }

    #[test]
    fn unknown_rule_points_to_isolint_rules() {
        check_error(
            "[rules]\nwrite-skw = \"error\"\n",
            "write-skw",
            2,
            "did you mean `write-skew`? `isolint rules` lists the rules",
        );
        check_error(
            "[rules]\nanything-goes = \"error\"\n",
            "anything-goes",
            2,
            "`isolint rules` lists the rules",
        );
    }

    #[test]
    fn bad_glob_is_labelled() {
        check_error(
            "exclude = [\"vendor/**\", \"a/[b\"]\n",
            "\"a/[b\"",
            1,
            "globs are relative to the config file's directory",
        );
    }

    #[test]
    fn wrong_type_shows_an_example() {
        check_error(
            "schema = \"migrations/**\"\n",
            "\"migrations/**\"",
            1,
            "for example: schema = [\"migrations/**\", \"db/schema.sql\"]",
        );
        check_error(
            "[engine]\nsnapshot_isolation = \"yes\"\n",
            "\"yes\"",
            2,
            "for example: snapshot_isolation = true",
        );
        check_error(
            "[rules]\nwrite-skew = true\n",
            "true",
            2,
            "for example: write-skew = \"warning\"",
        );
    }

    #[test]
    fn toml_syntax_error_is_labelled() {
        check_error(
            "engine = \"postgres\"\ninclude = [\"**/*.sql\"\n",
            "",
            2,
            "the file is TOML",
        );
        check_error("engine = postgres\n", "postgres", 1, "the file is TOML");
        check_error(
            "engine = \"postgres\"\nengine = \"mysql\"\n",
            "engine",
            2,
            "the file is TOML",
        );
    }

    #[test]
    fn unreadable_file_is_named() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("isolint.toml");
        let error = load(&path).unwrap_err();
        assert!(matches!(error, ConfigError::Read { .. }));
        assert!(render(&error).contains(&path.display().to_string()));
    }

    #[test]
    fn find_walks_up_to_the_nearest_file() {
        let directory = tempfile::tempdir().unwrap();
        let top = directory.path().canonicalize().unwrap();
        let nested = top.join("a/b/c");
        std::fs::create_dir_all(&nested).unwrap();
        std::fs::write(top.join("isolint.toml"), "").unwrap();
        assert_eq!(find(&nested), Some(top.join("isolint.toml")));

        std::fs::write(top.join("a/.isolint.toml"), "").unwrap();
        assert_eq!(find(&nested), Some(top.join("a/.isolint.toml")));

        std::fs::write(top.join("a/isolint.toml"), "").unwrap();
        assert_eq!(find(&nested), Some(top.join("a/isolint.toml")));

        let config = load(&find(&nested).unwrap()).unwrap();
        assert_eq!(config.root, top.join("a"));
        assert_eq!(
            config.relative_to_root(&nested.join("x.sql")),
            Some(PathBuf::from("b/c/x.sql"))
        );
    }

    /// Checks the role and inclusion of each path under `text`'s globs.
    fn check_matchers(text: &str, expected: &[(&str, Role, bool)]) {
        let matchers = parse(Path::new("isolint.toml"), text)
            .unwrap()
            .matchers()
            .unwrap();
        for (path, role, included) in expected {
            let path = Path::new(path);
            assert_eq!(matchers.role(path), *role, "role of {path:?}");
            assert_eq!(matchers.is_included(path), *included, "{path:?} included");
        }
    }

    #[test]
    fn globs_decide_roles_and_inclusion() {
        check_matchers(
            r#"
schema = ["db/**", "structure.sql"]
include = ["app/**/*.sql"]
exclude = ["app/vendor", "./**/*.down.sql"]
"#,
            &[
                ("db/1_init.sql", Role::Schema, true),
                ("./structure.sql", Role::Schema, true),
                ("migrations/1_init.sql", Role::Transactions, false),
                ("app/transfer.sql", Role::Transactions, true),
                ("app/deep/er/transfer.sql", Role::Transactions, true),
                ("app/vendor/lib/x.sql", Role::Transactions, false),
                ("app/1.down.sql", Role::Transactions, false),
                ("other/x.sql", Role::Transactions, false),
            ],
        );
    }

    #[test]
    fn without_globs_discovery_decides() {
        check_matchers(
            "",
            &[
                ("migrations/1_init.sql", Role::Schema, true),
                ("queries/transfer.sql", Role::Transactions, true),
            ],
        );
    }

    #[test]
    fn glob_added_after_loading_is_checked_without_a_label() {
        let mut config = parse(Path::new("isolint.toml"), "").unwrap();
        config.exclude.push("[".into());
        let error = config.matchers().unwrap_err();
        assert!(matches!(error, ConfigError::BadGlob { span: None, .. }));
        assert!(render(&error).contains("invalid glob `[` in `exclude`"));
    }

    #[test]
    fn rules_table_turns_rules_on_and_off() {
        let config = parse(
            Path::new("isolint.toml"),
            "[rules]\nphantom-read = \"warning\"\nwrite-skew = \"off\"\nread-skew = \"error\"\n",
        )
        .unwrap();
        let mut options = CheckOptions::new(Engine::Postgres);
        config.apply_rules(&mut options);
        assert!(options.rules.contains(&Rule::PhantomRead));
        assert!(!options.rules.contains(&Rule::WriteSkew));
        assert_eq!(
            options.severities.get(&Rule::PhantomRead),
            Some(&Severity::Warning)
        );
        assert_eq!(
            options.severities.get(&Rule::ReadSkew),
            Some(&Severity::Error)
        );
    }
}
