//! The configuration file: finding `isolint.toml`, reading it into a [`Config`], matching paths
//! against its globs, and writing the commented file `isolint init` starts from.
//!
//! Every mistake in the file is a [`ConfigError`] whose label points at the offending key or
//! value, so miette can show it in context. This module does not merge the file with
//! command-line flags (the CLI does, flags winning) and reads no SQL files: [`guess_engine`]
//! takes text that was read elsewhere.
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

use crate::suggest::edit_distance;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use miette::{NamedSource, SourceSpan};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::CheckOptions;
use crate::compose::{Composition, Step, UnknownStep};
use crate::discover;
use crate::rule::{REGISTRY, Rule, Severity};
use crate::semantics::{Engine, EngineSettings, Level, Semantics, SettingError, SettingValue};
use crate::source::Role;

/// The names the file may have, in order of preference within one directory.
pub const FILE_NAMES: [&str; 2] = ["isolint.toml", ".isolint.toml"];

/// The top-level keys, each with the example its error messages show.
const TOP_LEVEL_KEYS: &[(&str, &str)] = &[
    ("engine", r#"engine = "postgres""#),
    ("isolation", r#"isolation = "read-committed""#),
    ("schema", r#"schema = ["migrations/**", "db/schema.sql"]"#),
    ("include", r#"include = ["**/*.sql"]"#),
    ("exclude", r#"exclude = ["vendor/**"]"#),
    ("rules", r#"[rules] write-skew = "error""#),
    ("variables", r#"[variables] SCHEMA = "app""#),
    (
        "transaction",
        r#"[[transaction]] name = "transfer" steps = ["GetAccount", "UpdateBalance"]"#,
    ),
    ("confirm", r#"[confirm] setup = ["confirm-setup.sql"]"#),
    (
        "parameters",
        r#"[parameters.delete_old_jobs] statuses = ["succeeded", "failed"]"#,
    ),
];

/// The keys of the `[confirm]` table.
const CONFIRM_KEYS: &[(&str, &str)] = &[("setup", r#"setup = ["confirm-setup.sql"]"#)];

/// The keys of a `[[transaction]]` table.
const TRANSACTION_KEYS: &[(&str, &str)] = &[
    ("name", r#"name = "transfer""#),
    ("isolation", r#"isolation = "repeatable-read""#),
    ("steps", r#"steps = ["GetAccount", "UpdateBalance"]"#),
    (
        "steps_run_alone",
        r#"steps_run_alone = false (or ["UpdateBalance"])"#,
    ),
    ("atomic", "atomic = false"),
    ("returns_if_found", r#"returns_if_found = ["GetAccount"]"#),
];

/// The key of the `[engine]` table that names the engine; the others are the engine's settings
/// (`rules/engines.toml`).
const ENGINE_NAME_KEY: (&str, &str) = ("name", r#"name = "tidb""#);

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

/// A commented `isolint.toml` for `isolint init`, with `engine` set and every other setting
/// shown with its default. `queries` are the named queries found in the project; the
/// `[[transaction]]` example composes the first of them.
pub fn init_text(engine: Engine, queries: &[String]) -> String {
    let semantics = Semantics::embedded();
    let levels = ids(semantics.levels(engine).into_iter().map(Level::id));
    let default_level = semantics.default_level(engine).id();
    let mut text = String::from(
        "# isolint configuration. isolint reads the nearest isolint.toml or .isolint.toml at or\n\
         # above the directory it checks; command-line flags win over this file.\n\n",
    );
    let engines = ids(Engine::ALL.into_iter().map(Engine::id));
    let settings = semantics.settings(engine);
    if settings.is_empty() {
        text.push_str(&comment(&format!("The database engine: {engines}.")));
        let _ = writeln!(text, "engine = \"{}\"\n", engine.id());
    }
    let _ = write!(
        text,
        "# The isolation level of transactions that declare none. {engine} accepts:\n\
         # {levels}.\n\
         # isolation = \"{default_level}\"\n\n\
         # The files that hold the schema, applied in natural path order (`2_x` before `10_x`).\n\
         # Without this, paths with a `migrations`, `migrate` or `schema` directory, `schema.sql`\n\
         # and `db/structure.sql` are schema. Globs are relative to this file's directory.\n\
         # schema = [\"migrations/**\", \"db/schema.sql\"]\n\n\
         # The files to check. Schema files are always read.\n\
         include = [\"**/*.sql\"]\n\n\
         # The files never to read, e.g. [\"vendor/**\", \"third_party/**\"].\n\
         exclude = []\n\n"
    );
    if !settings.is_empty() {
        text.push_str(
            "# The database engine and the server settings that change what its levels do.\n\
             [engine]\n",
        );
        text.push_str(&comment(&format!("One of: {engines}.")));
        let _ = writeln!(text, "name = \"{}\"", engine.id());
        for (name, setting) in settings {
            let values: Vec<String> = setting.accepted().iter().map(SettingValue::toml).collect();
            text.push_str(&comment(&format!(
                "{}: {}. One of: {}.",
                setting.variable,
                setting.about,
                values.join(", ")
            )));
            let _ = writeln!(text, "{name} = {}", setting.default.toml());
        }
        text.push('\n');
    }
    text.push_str(
        "# Each rule's severity: \"error\", \"warning\" or \"off\". A severity turns an opt-in rule\n\
         # on. `isolint rules` lists the rules; `isolint explain RULE` documents one. Defaults:\n\
         [rules]\n",
    );
    for spec in REGISTRY {
        let doc = spec.rule.doc();
        let setting = if doc.default_on {
            doc.severity.id()
        } else {
            "off"
        };
        let _ = writeln!(text, "# {} = \"{setting}\"", spec.id);
    }
    text.push_str(
        "\n# Values of the variables of templated SQL: psql's `:NAME`, `:'NAME'`, `:\"NAME\"`, and\n\
         # `${NAME}` / `{{NAME}}`. An undeclared one in a schema qualifier (`:NAME.jobs`) is dropped.\n\
         # [variables]\n\
         # SCHEMA = \"app\"\n",
    );
    let steps: Vec<String> = match queries {
        [] => vec!["GetAccount".into(), "UpdateBalance".into()],
        [one] => vec![one.clone(), one.clone()],
        [first, second, ..] => vec![first.clone(), second.clone()],
    };
    let steps = steps
        .iter()
        .map(|step| format!("\"{}\"", step.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect::<Vec<_>>()
        .join(", ");
    let found = if queries.is_empty() {
        String::new()
    } else {
        format!(
            "\n# This project has {} named queries, e.g. {}.",
            queries.len(),
            queries
                .iter()
                .take(5)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let _ = write!(
        text,
        "\n# Named queries (sqlc, yesql, aiosql, HugSQL, `-- name --` headers) each run on their own.\n\
         # A [[transaction]] runs several, in order, as one transaction, as the application does\n\
         # when it calls them between BEGIN and COMMIT; its isolation is optional. `atomic = false`\n\
         # says each step commits on its own (the application passes values between them).{found}\n\
         # [[transaction]]\n\
         # name = \"transfer\"\n\
         # isolation = \"{default_level}\"\n\
         # steps = [{steps}]\n"
    );
    text.push_str(
        "\n# `isolint confirm`: SQL files run in the throwaway database after the migrations and\n\
         # before each finding's rows, to build the state the project's functions expect (a queue\n\
         # created, a consumer registered). Paths are relative to this file's directory.\n\
         # [confirm]\n\
         # setup = [\"confirm-setup.sql\"]\n",
    );
    text.push_str(
        "\n# The values callers pass for a named query's parameters, where isolint cannot see the\n\
         # callers: a status list the application fills with final states only, say. A parameter\n\
         # compared with a column (`status = ANY(%(statuses)s)`, `state = @state`) then holds only\n\
         # these values; one with a single value is that literal everywhere.\n\
         # [parameters.delete_old_jobs]\n\
         # statuses = [\"succeeded\", \"failed\"]\n",
    );
    text
}

/// A guess at the engine that `texts` (SQL files) were written for, from syntax only one
/// engine has (`AUTO_INCREMENT`, `NVARCHAR`, `VARCHAR2`, `jsonb`, `PRAGMA` …); `None` when
/// nothing points anywhere.
pub fn guess_engine<'t>(texts: impl Iterator<Item = &'t str>) -> Option<Engine> {
    let mut scores: BTreeMap<Engine, usize> = BTreeMap::new();
    for text in texts {
        let tokens = sql_tokens(text);
        for start in 0..tokens.len() {
            for signal in SIGNALS {
                if tokens[start..]
                    .iter()
                    .map(String::as_str)
                    .take(signal.tokens.len())
                    .eq(signal.tokens.iter().copied())
                {
                    *scores.entry(signal.engine).or_default() += signal.weight;
                }
            }
        }
        // A line holding only `GO` ends a T-SQL batch.
        let batch_separators = text
            .lines()
            .filter(|line| line.trim().eq_ignore_ascii_case("go"))
            .count();
        *scores.entry(Engine::Sqlserver).or_default() += 3 * batch_separators;
    }
    // A dialect also speaks its parent's syntax: once its own shows up, the parent's counts too.
    for (dialect, parent) in [
        (Engine::Cockroachdb, Engine::Postgres),
        (Engine::Yugabytedb, Engine::Postgres),
        (Engine::Mariadb, Engine::Mysql),
        (Engine::Tidb, Engine::Mysql),
    ] {
        if scores.get(&dialect).is_some_and(|score| *score > 0) {
            let inherited = scores.get(&parent).copied().unwrap_or(0);
            *scores.entry(dialect).or_default() += inherited;
        }
    }
    // Ties go to the engine listed first in `Engine::ALL`.
    let mut best: Option<(Engine, usize)> = None;
    for engine in Engine::ALL {
        let score = scores.get(&engine).copied().unwrap_or(0);
        if score > 0 && best.is_none_or(|(_, best_score)| score > best_score) {
            best = Some((engine, score));
        }
    }
    best.map(|(engine, _)| engine)
}

/// A run of tokens that points at one engine. Words are upper case; `$n` is a numbered
/// placeholder (`$1`); anything else is one punctuation character.
struct Signal {
    engine: Engine,
    weight: usize,
    tokens: &'static [&'static str],
}

const fn signal(engine: Engine, weight: usize, tokens: &'static [&'static str]) -> Signal {
    Signal {
        engine,
        weight,
        tokens,
    }
}

const SIGNALS: &[Signal] = &[
    signal(Engine::Mysql, 1, &["`"]),
    signal(Engine::Mysql, 3, &["AUTO_INCREMENT"]),
    signal(Engine::Mysql, 5, &["ENGINE", "=", "INNODB"]),
    signal(Engine::Mysql, 5, &["ENGINE", "=", "MYISAM"]),
    signal(Engine::Mysql, 3, &["ON", "DUPLICATE", "KEY"]),
    signal(Engine::Mysql, 3, &["LOCK", "IN", "SHARE", "MODE"]),
    signal(Engine::Mysql, 2, &["UNSIGNED"]),
    signal(Engine::Mariadb, 5, &["ENGINE", "=", "ARIA"]),
    signal(Engine::Sqlserver, 3, &["[", "DBO", "]"]),
    signal(Engine::Sqlserver, 2, &["DBO", "."]),
    signal(Engine::Sqlserver, 2, &["NVARCHAR"]),
    signal(Engine::Sqlserver, 3, &["IDENTITY", "("]),
    signal(Engine::Sqlserver, 3, &["UNIQUEIDENTIFIER"]),
    signal(Engine::Sqlserver, 3, &["DATETIME2"]),
    signal(Engine::Sqlserver, 3, &["SET", "NOCOUNT"]),
    signal(Engine::Sqlserver, 3, &["BEGIN", "TRAN"]),
    signal(Engine::Sqlserver, 3, &["UPDLOCK"]),
    signal(Engine::Sqlserver, 3, &["NOLOCK"]),
    signal(Engine::Oracle, 3, &["VARCHAR2"]),
    signal(Engine::Oracle, 3, &["NVARCHAR2"]),
    signal(Engine::Oracle, 3, &["NUMBER", "("]),
    signal(Engine::Oracle, 2, &["SYSDATE"]),
    signal(Engine::Oracle, 2, &["SYSTIMESTAMP"]),
    signal(Engine::Oracle, 1, &["FROM", "DUAL"]),
    signal(Engine::Postgres, 3, &["BIGSERIAL"]),
    signal(Engine::Postgres, 2, &["SERIAL"]),
    signal(Engine::Postgres, 2, &["$n"]),
    signal(Engine::Postgres, 3, &["JSONB"]),
    signal(Engine::Postgres, 3, &["TIMESTAMPTZ"]),
    signal(Engine::Postgres, 3, &["BYTEA"]),
    signal(Engine::Postgres, 3, &["CREATE", "EXTENSION"]),
    signal(Engine::Postgres, 2, &["ILIKE"]),
    signal(Engine::Postgres, 1, &[":", ":"]),
    signal(Engine::Cockroachdb, 4, &["UNIQUE_ROWID", "("]),
    signal(Engine::Cockroachdb, 4, &["CRDB_INTERNAL"]),
    signal(Engine::Cockroachdb, 4, &["CLUSTER", "SETTING"]),
    signal(Engine::Cockroachdb, 3, &["INTERLEAVE"]),
    signal(Engine::Sqlite, 3, &["AUTOINCREMENT"]),
    signal(Engine::Sqlite, 3, &["PRAGMA"]),
    signal(Engine::Sqlite, 3, &["WITHOUT", "ROWID"]),
    signal(Engine::Sqlite, 3, &["BEGIN", "IMMEDIATE"]),
    signal(Engine::Sqlite, 3, &["BEGIN", "EXCLUSIVE"]),
    signal(Engine::Spanner, 4, &[")", "PRIMARY", "KEY", "("]),
    signal(Engine::Spanner, 3, &["INT64"]),
    signal(Engine::Spanner, 3, &["STRING", "(", "MAX", ")"]),
    signal(Engine::Spanner, 4, &["PENDING_COMMIT_TIMESTAMP", "("]),
    signal(Engine::Spanner, 4, &["ALLOW_COMMIT_TIMESTAMP"]),
    signal(Engine::Tidb, 5, &["AUTO_RANDOM"]),
    signal(Engine::Tidb, 5, &["SHARD_ROW_ID_BITS"]),
    signal(Engine::Tidb, 5, &["PRE_SPLIT_REGIONS"]),
    signal(Engine::Tidb, 5, &["TIDB_TXN_MODE"]),
    signal(Engine::Tidb, 5, &["BEGIN", "PESSIMISTIC"]),
    signal(Engine::Tidb, 5, &["BEGIN", "OPTIMISTIC"]),
    signal(Engine::Yugabytedb, 5, &["SPLIT", "INTO"]),
    signal(Engine::Yugabytedb, 5, &["YB_HASH_CODE", "("]),
    signal(Engine::Yugabytedb, 4, &["COLOCATION"]),
    signal(Engine::Yugabytedb, 4, &["TABLEGROUP"]),
    signal(Engine::Yugabytedb, 3, &["HASH", ")"]),
    signal(Engine::Yugabytedb, 3, &["HASH", ","]),
];

/// Rough SQL tokens for [`guess_engine`]: comments and `'…'` strings are skipped, so prose
/// about another engine does not count.
fn sql_tokens(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        let next = chars.peek().map(|&(_, next)| next);
        if c.is_whitespace() {
            continue;
        }
        if c == '-' && next == Some('-') {
            while chars.next_if(|&(_, c)| c != '\n').is_some() {}
        } else if c == '/' && next == Some('*') {
            chars.next();
            let mut previous = ' ';
            for (_, c) in chars.by_ref() {
                if previous == '*' && c == '/' {
                    break;
                }
                previous = c;
            }
        } else if c == '\'' {
            for (_, c) in chars.by_ref() {
                if c == '\'' {
                    break;
                }
            }
        } else if c == '$' && next.is_some_and(|next| next.is_ascii_digit()) {
            while chars.next_if(|&(_, c)| c.is_ascii_digit()).is_some() {}
            tokens.push("$n".to_string());
        } else if c.is_alphanumeric() || c == '_' {
            let mut end = start + c.len_utf8();
            while let Some((index, c)) = chars.next_if(|&(_, c)| c.is_alphanumeric() || c == '_') {
                end = index + c.len_utf8();
            }
            tokens.push(text[start..end].to_ascii_uppercase());
        } else {
            tokens.push(c.to_string());
        }
    }
    tokens
}

/// The configuration text being read, for errors that show it.
struct Document<'t> {
    name: String,
    text: &'t str,
}

type Entry<'a, 'i> = (
    &'a Spanned<toml::de::DeString<'i>>,
    &'a Spanned<DeValue<'i>>,
);

impl Document<'_> {
    fn source(&self) -> NamedSource<String> {
        NamedSource::new(&self.name, self.text.to_string())
    }

    fn read_engine(
        &self,
        value: &Spanned<DeValue>,
        config: &mut Config,
    ) -> Result<(), ConfigError> {
        let DeValue::Table(table) = value.get_ref() else {
            config.engine = Some(self.engine(value)?);
            return Ok(());
        };
        let mut settings = Vec::new();
        for (key, value) in in_file_order(table) {
            match key.get_ref().as_ref() {
                "name" => config.engine = Some(self.engine(value)?),
                _ => settings.push((key, value)),
            }
        }
        // The settings are the named engine's, and `name` may come after them.
        let engine = config.engine.unwrap_or(Engine::Postgres);
        let engine_keys = engine_keys(engine);
        for (key, value) in settings {
            let name = key.get_ref().as_ref();
            // A wrong type shows an example of the setting even when the engine is not named.
            let example = setting_example(name)
                .map(|(_, default)| format!("{name} = {}", default.toml()))
                .unwrap_or_default();
            let keys: Vec<(&str, &str)> = engine_keys
                .iter()
                .map(|(key, example)| (*key, example.as_str()))
                .chain(std::iter::once((name, example.as_str())))
                .collect();
            let setting = match (value.get_ref(), setting_example(name)) {
                (DeValue::Boolean(flag), None | Some((_, SettingValue::Boolean(_)))) => {
                    SettingValue::Boolean(*flag)
                }
                // Words are case-insensitive, as in the engine's SQL.
                (DeValue::String(text), None | Some((_, SettingValue::Text(_)))) => {
                    SettingValue::Text(text.to_ascii_lowercase())
                }
                (_, Some((_, SettingValue::Boolean(_)))) => {
                    return Err(self.wrong_type(name, "true or false", value, &keys));
                }
                (_, Some(_)) => return Err(self.wrong_type(name, "a string", value, &keys)),
                (_, None) => {
                    return Err(self.unknown_key(key, "[engine]", &keys[..engine_keys.len()]));
                }
            };
            let error = match config.engine_settings.set(engine, name, setting) {
                Ok(()) => continue,
                Err(error) => error,
            };
            return Err(match error {
                SettingError::Unknown { .. } => match setting_example(name) {
                    Some((owner, _)) if config.engine.is_none() => ConfigError::UnknownKey {
                        key: name.to_string(),
                        table: "[engine]",
                        src: self.source(),
                        span: key.span().into(),
                        help: format!(
                            "`{name}` is a setting of {owner}: name the engine with `name = \"{}\"`",
                            owner.id()
                        ),
                    },
                    _ => self.unknown_key(key, "[engine]", &keys[..engine_keys.len()]),
                },
                SettingError::WrongType { expected } => {
                    self.wrong_type(name, expected, value, &keys)
                }
                SettingError::UnknownValue { valid } => ConfigError::UnknownSettingValue {
                    key: name.to_string(),
                    value: self.text[value.span()].trim_matches('"').to_string(),
                    src: self.source(),
                    span: value.span().into(),
                    help: format!(
                        "{} ({}) takes: {}",
                        Semantics::embedded().display(engine),
                        // Invariant: `set` answers `UnknownValue` only for a setting it found
                        // in the engine's entry under `name`.
                        Semantics::embedded().settings(engine)[name].variable,
                        valid.join(", ")
                    ),
                },
            });
        }
        Ok(())
    }

    fn engine(&self, value: &Spanned<DeValue>) -> Result<Engine, ConfigError> {
        let name = self.string("engine", value)?;
        Engine::parse(name).ok_or_else(|| {
            let engines: Vec<&str> = Engine::ALL.into_iter().map(Engine::id).collect();
            ConfigError::UnknownEngine {
                value: name.to_string(),
                src: self.source(),
                span: value.span().into(),
                help: with_suggestion(name, &engines, "use one of"),
            }
        })
    }

    fn level(&self, value: &Spanned<DeValue>) -> Result<Level, ConfigError> {
        let name = self.string("isolation", value)?;
        Level::parse(name).ok_or_else(|| {
            let levels: Vec<&str> = Level::ALL.into_iter().map(Level::id).collect();
            ConfigError::UnknownLevel {
                value: name.to_string(),
                src: self.source(),
                span: value.span().into(),
                help: with_suggestion(name, &levels, "use one of"),
            }
        })
    }

    /// A list of globs, each checked to compile.
    fn globs(
        &self,
        key: &'static str,
        value: &Spanned<DeValue>,
    ) -> Result<Vec<String>, ConfigError> {
        let DeValue::Array(items) = value.get_ref() else {
            return Err(self.wrong_type(key, "an array of strings", value, TOP_LEVEL_KEYS));
        };
        let mut globs = Vec::new();
        for item in items {
            let glob = self.string(key, item)?;
            if let Err(error) = build_glob(glob) {
                return Err(ConfigError::BadGlob {
                    glob: glob.to_string(),
                    key,
                    message: error.kind().to_string(),
                    src: Some(self.source()),
                    span: Some(item.span().into()),
                });
            }
            globs.push(glob.to_string());
        }
        Ok(globs)
    }

    fn rules(&self, value: &Spanned<DeValue>) -> Result<BTreeMap<Rule, RuleSetting>, ConfigError> {
        let DeValue::Table(table) = value.get_ref() else {
            return Err(self.wrong_type("rules", "a table", value, TOP_LEVEL_KEYS));
        };
        let mut rules = BTreeMap::new();
        for (key, value) in in_file_order(table) {
            let id = key.get_ref().as_ref();
            let rule = Rule::from_id(id).ok_or_else(|| {
                let ids: Vec<&str> = REGISTRY.iter().map(|spec| spec.id).collect();
                ConfigError::UnknownRule {
                    rule: id.to_string(),
                    src: self.source(),
                    span: key.span().into(),
                    help: match closest(id, &ids) {
                        Some(close) => {
                            format!("did you mean `{close}`? `isolint rules` lists the rules")
                        }
                        None => "`isolint rules` lists the rules".to_string(),
                    },
                }
            })?;
            let DeValue::String(setting) = value.get_ref() else {
                return Err(ConfigError::WrongType {
                    key: id.to_string(),
                    expected: "a string",
                    found: article(value.get_ref()),
                    src: self.source(),
                    span: value.span().into(),
                    help: format!("for example: {id} = \"warning\""),
                });
            };
            let setting = match setting.trim().to_ascii_lowercase().as_str() {
                "error" => RuleSetting::Severity(Severity::Error),
                "warning" => RuleSetting::Severity(Severity::Warning),
                "off" => RuleSetting::Off,
                _ => {
                    return Err(ConfigError::UnknownSeverity {
                        value: setting.to_string(),
                        rule,
                        src: self.source(),
                        span: value.span().into(),
                    });
                }
            };
            rules.insert(rule, setting);
        }
        Ok(rules)
    }

    /// `[variables]`: names and their string values.
    fn variables(&self, value: &Spanned<DeValue>) -> Result<BTreeMap<String, String>, ConfigError> {
        let DeValue::Table(table) = value.get_ref() else {
            return Err(self.wrong_type("variables", "a table", value, TOP_LEVEL_KEYS));
        };
        let mut variables = BTreeMap::new();
        for (key, value) in in_file_order(table) {
            let name = key.get_ref().to_string();
            let text = match value.get_ref() {
                DeValue::String(text) => text.to_string(),
                _ => {
                    return Err(ConfigError::WrongType {
                        key: name.clone(),
                        expected: "a string",
                        found: article(value.get_ref()),
                        src: self.source(),
                        span: value.span().into(),
                        help: format!("for example: {name} = \"app\""),
                    });
                }
            };
            variables.insert(name, text);
        }
        Ok(variables)
    }

    /// `[parameters]`: a table per query, mapping each parameter to the values its callers pass
    /// (a string, integer or boolean, or an array of them), kept as SQL literals.
    fn parameters(
        &self,
        value: &Spanned<DeValue>,
    ) -> Result<BTreeMap<String, crate::access::extract::ParameterValues>, ConfigError> {
        let DeValue::Table(queries) = value.get_ref() else {
            return Err(self.wrong_type("parameters", "a table", value, TOP_LEVEL_KEYS));
        };
        let mut parameters = BTreeMap::new();
        for (query, table) in in_file_order(queries) {
            let query = query.get_ref().to_string();
            let DeValue::Table(table) = table.get_ref() else {
                return Err(self.wrong_type("parameters", "a table", table, TOP_LEVEL_KEYS));
            };
            let mut values = BTreeMap::new();
            for (name, value) in in_file_order(table) {
                let name = name.get_ref().to_string();
                let items = match value.get_ref() {
                    DeValue::Array(items) => items.iter().collect(),
                    _ => vec![value],
                };
                let example = format!(r#"{name} = ["succeeded", "failed"]"#);
                let literals = items
                    .into_iter()
                    .map(|item| match item.get_ref() {
                        DeValue::String(text) => Ok(format!("'{}'", text.replace('\'', "''"))),
                        DeValue::Integer(number) => Ok(number.to_string()),
                        DeValue::Boolean(flag) => Ok(flag.to_string()),
                        _ => Err(self.wrong_type(
                            &name,
                            "a string, an integer or a boolean",
                            item,
                            &[(name.as_str(), example.as_str())],
                        )),
                    })
                    .collect::<Result<Vec<String>, ConfigError>>()?;
                values.insert(name, literals);
            }
            parameters.insert(query, values);
        }
        Ok(parameters)
    }

    /// `[[transaction]]`: an array of tables with `name`, `steps` and maybe `isolation`.
    fn transactions(&self, value: &Spanned<DeValue>) -> Result<Vec<Composition>, ConfigError> {
        let DeValue::Array(items) = value.get_ref() else {
            return Err(self.wrong_type(
                "transaction",
                "an array of tables",
                value,
                TOP_LEVEL_KEYS,
            ));
        };
        let mut compositions = Vec::new();
        for item in items {
            let DeValue::Table(table) = item.get_ref() else {
                return Err(self.wrong_type("transaction", "a table", item, TOP_LEVEL_KEYS));
            };
            let mut name = None;
            let mut isolation = None;
            let mut steps = None;
            let mut steps_run_alone = None;
            let mut atomic = None;
            let mut returns_if_found = Vec::new();
            for (key, value) in in_file_order(table) {
                match key.get_ref().as_ref() {
                    "name" => name = Some(self.string_in("name", value, TRANSACTION_KEYS)?),
                    "isolation" => isolation = Some(self.level(value)?),
                    "steps" => steps = Some(self.step_names("steps", value)?),
                    "returns_if_found" => {
                        returns_if_found = self.step_names("returns_if_found", value)?;
                    }
                    "steps_run_alone" => {
                        steps_run_alone = match value.get_ref() {
                            DeValue::Array(_) => Some(self.step_names("steps_run_alone", value)?),
                            _ if self.boolean_in("steps_run_alone", value, TRANSACTION_KEYS)? => {
                                None
                            }
                            _ => Some(Vec::new()),
                        };
                    }
                    "atomic" => {
                        atomic = Some((
                            self.boolean_in("atomic", value, TRANSACTION_KEYS)?,
                            key.span(),
                        ));
                    }
                    _ => return Err(self.unknown_key(key, "[[transaction]]", TRANSACTION_KEYS)),
                }
            }
            let missing = |key: &str| {
                let mut error = self.wrong_type(key, "set", item, TRANSACTION_KEYS);
                if let ConfigError::WrongType { found, .. } = &mut error {
                    *found = "missing";
                }
                error
            };
            let name = name.ok_or_else(|| missing("name"))?;
            if let (Some((false, span)), Some(_)) = (&atomic, isolation) {
                return Err(ConfigError::IsolationOfSeparateSteps {
                    transaction: name,
                    src: self.source(),
                    span: span.clone().into(),
                });
            }
            let steps = steps.ok_or_else(|| missing("steps"))?;
            let listed = returns_if_found
                .iter()
                .map(|step| ("returns_if_found", step))
                .chain(
                    steps_run_alone
                        .iter()
                        .flatten()
                        .map(|step| ("steps_run_alone", step)),
                );
            if let Some((key, stray)) = listed
                .into_iter()
                .find(|(_, listed)| !steps.iter().any(|step| step.name == listed.name))
            {
                let mut error = self.wrong_type(
                    key,
                    "names of the transaction's steps",
                    &Spanned::new(
                        stray.span.clone(),
                        DeValue::String(stray.name.clone().into()),
                    ),
                    TRANSACTION_KEYS,
                );
                if let ConfigError::WrongType { found, .. } = &mut error {
                    *found = "a query the steps do not run";
                }
                return Err(error);
            }
            compositions.push(Composition {
                name,
                isolation,
                steps,
                steps_run_alone,
                atomic: atomic.is_none_or(|(atomic, _)| atomic),
                returns_if_found,
            });
        }
        Ok(compositions)
    }

    /// A `[[transaction]]`'s list of query names (`steps`, `returns_if_found`), each with where
    /// it is written.
    fn step_names(&self, key: &str, value: &Spanned<DeValue>) -> Result<Vec<Step>, ConfigError> {
        let DeValue::Array(names) = value.get_ref() else {
            return Err(self.wrong_type(key, "an array of query names", value, TRANSACTION_KEYS));
        };
        names
            .iter()
            .map(|step| {
                Ok(Step {
                    name: self.string_in(key, step, TRANSACTION_KEYS)?,
                    span: step.span(),
                })
            })
            .collect()
    }

    /// `[confirm]`: `setup`, a list of SQL files relative to the config's directory.
    fn confirm(
        &self,
        value: &Spanned<DeValue>,
        root: &Path,
    ) -> Result<Vec<SetupFile>, ConfigError> {
        let DeValue::Table(table) = value.get_ref() else {
            return Err(self.wrong_type("confirm", "a table", value, TOP_LEVEL_KEYS));
        };
        let mut files = Vec::new();
        for (key, value) in in_file_order(table) {
            match key.get_ref().as_ref() {
                "setup" => {
                    let DeValue::Array(items) = value.get_ref() else {
                        return Err(self.wrong_type(
                            "setup",
                            "an array of file paths",
                            value,
                            CONFIRM_KEYS,
                        ));
                    };
                    for item in items {
                        let written = self.string_in("setup", item, CONFIRM_KEYS)?;
                        files.push(SetupFile {
                            path: root.join(&written),
                            line: self.line_at(item.span().start),
                            written,
                        });
                    }
                }
                _ => return Err(self.unknown_key(key, "[confirm]", CONFIRM_KEYS)),
            }
        }
        Ok(files)
    }

    /// The 1-based line of a byte offset in the file.
    fn line_at(&self, offset: usize) -> usize {
        1 + self.text[..offset.min(self.text.len())]
            .bytes()
            .filter(|byte| *byte == b'\n')
            .count()
    }

    fn boolean_in(
        &self,
        key: &str,
        value: &Spanned<DeValue>,
        keys: &[(&str, &str)],
    ) -> Result<bool, ConfigError> {
        match value.get_ref() {
            DeValue::Boolean(flag) => Ok(*flag),
            _ => Err(self.wrong_type(key, "true or false", value, keys)),
        }
    }

    fn string_in(
        &self,
        key: &str,
        value: &Spanned<DeValue>,
        keys: &[(&str, &str)],
    ) -> Result<String, ConfigError> {
        match value.get_ref() {
            DeValue::String(text) => Ok(text.to_string()),
            _ => Err(self.wrong_type(key, "a string", value, keys)),
        }
    }

    fn string<'v>(&self, key: &str, value: &'v Spanned<DeValue>) -> Result<&'v str, ConfigError> {
        match value.get_ref() {
            DeValue::String(text) => Ok(text.as_ref()),
            _ => Err(self.wrong_type(key, "a string", value, TOP_LEVEL_KEYS)),
        }
    }

    fn wrong_type(
        &self,
        key: &str,
        expected: &'static str,
        value: &Spanned<DeValue>,
        keys: &[(&str, &str)],
    ) -> ConfigError {
        let example = keys
            .iter()
            .find(|(name, _)| *name == key)
            .map(|(_, example)| format!("for example: {example}"))
            .unwrap_or_default();
        ConfigError::WrongType {
            key: key.to_string(),
            expected,
            found: article(value.get_ref()),
            src: self.source(),
            span: value.span().into(),
            help: example,
        }
    }

    fn unknown_key(
        &self,
        key: &Spanned<toml::de::DeString>,
        table: &'static str,
        keys: &[(&str, &str)],
    ) -> ConfigError {
        let names: Vec<&str> = keys.iter().map(|(name, _)| *name).collect();
        ConfigError::UnknownKey {
            key: key.get_ref().to_string(),
            table,
            src: self.source(),
            span: key.span().into(),
            help: with_suggestion(key.get_ref(), &names, "valid keys"),
        }
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

/// A table's entries in the order they appear in the file, so the first mistake is reported
/// first.
fn in_file_order<'a, 'i>(table: &'a DeTable<'i>) -> Vec<Entry<'a, 'i>> {
    let mut entries: Vec<Entry<'a, 'i>> = table.iter().collect();
    entries.sort_by_key(|(key, _)| key.span().start);
    entries
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

/// `text` as `# ` comment lines of at most 92 characters.
fn comment(text: &str) -> String {
    let mut out = String::new();
    let mut line = String::from("#");
    for word in text.split_whitespace() {
        if line.len() > 1 && line.len() + 1 + word.len() > 92 {
            out.push_str(&line);
            out.push('\n');
            line = String::from("#");
        }
        line.push(' ');
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
    out
}

/// The keys of the `[engine]` table for `engine`, each with an example: `name`, then the
/// engine's settings at their defaults.
fn engine_keys(engine: Engine) -> Vec<(&'static str, String)> {
    std::iter::once((ENGINE_NAME_KEY.0, ENGINE_NAME_KEY.1.to_string()))
        .chain(
            Semantics::embedded()
                .settings(engine)
                .iter()
                .map(|(name, setting)| {
                    (
                        name.as_str(),
                        format!("{name} = {}", setting.default.toml()),
                    )
                }),
        )
        .collect()
}

/// Some engine's setting called `name`, with its default: enough to say what kind of value it
/// takes before the engine is known.
fn setting_example(name: &str) -> Option<(Engine, SettingValue)> {
    Engine::ALL.into_iter().find_map(|engine| {
        Semantics::embedded()
            .settings(engine)
            .get(name)
            .map(|setting| (engine, setting.default.clone()))
    })
}

/// "a string", "an integer" … for a value found where another kind was expected.
fn article(value: &DeValue) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a datetime",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

fn ids<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names.collect::<Vec<_>>().join(", ")
}

/// "did you mean `x`? {intro}: a, b, c" or "{intro}: a, b, c".
fn with_suggestion(wrong: &str, valid: &[&str], intro: &str) -> String {
    let list = valid.join(", ");
    match closest(wrong, valid) {
        Some(close) => format!("did you mean `{close}`? {intro}: {list}"),
        None => format!("{intro}: {list}"),
    }
}

/// The valid name nearest to `wrong`, if it is at most two edits away.
fn closest<'a>(wrong: &str, valid: &[&'a str]) -> Option<&'a str> {
    let wrong = wrong.to_ascii_lowercase();
    valid
        .iter()
        .map(|name| (edit_distance(&wrong, name), *name))
        .filter(|(distance, _)| *distance <= 2)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, name)| name)
}

#[cfg(test)]
mod tests {
    use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme};

    use super::*;

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

    #[test]
    fn guess_engine_reads_dialect_syntax() {
        let cases: &[(&str, Option<Engine>)] = &[
            (
                "CREATE TABLE `users` (id INT AUTO_INCREMENT PRIMARY KEY) ENGINE=InnoDB;",
                Some(Engine::Mysql),
            ),
            (
                "CREATE TABLE [dbo].[users] (id INT IDENTITY(1,1), name NVARCHAR(50));\nGO\n",
                Some(Engine::Sqlserver),
            ),
            (
                "CREATE TABLE users (id NUMBER(10) PRIMARY KEY, name VARCHAR2(50));",
                Some(Engine::Oracle),
            ),
            (
                "CREATE TABLE users (id bigserial PRIMARY KEY, data jsonb, at timestamptz);\n\
                 UPDATE users SET data = $2 WHERE id = $1;",
                Some(Engine::Postgres),
            ),
            (
                "PRAGMA foreign_keys = ON;\n\
                 CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT);",
                Some(Engine::Sqlite),
            ),
            (
                "CREATE TABLE users (id INT PRIMARY KEY DEFAULT unique_rowid(), data JSONB);",
                Some(Engine::Cockroachdb),
            ),
            (
                "CREATE TABLE Singers (SingerId INT64 NOT NULL, Name STRING(MAX)) \
                 PRIMARY KEY (SingerId);",
                Some(Engine::Spanner),
            ),
            (
                "CREATE TABLE `orders` (id BIGINT AUTO_RANDOM PRIMARY KEY, total DECIMAL(10,2));",
                Some(Engine::Tidb),
            ),
            (
                "CREATE TABLE orders (id bigint, region text, PRIMARY KEY (id HASH)) \
                 SPLIT INTO 16 TABLETS;\nUPDATE orders SET region = $2 WHERE id = $1;",
                Some(Engine::Yugabytedb),
            ),
            ("SELECT balance FROM accounts WHERE id = 1;", None),
            (
                "-- ported from MySQL: AUTO_INCREMENT, ENGINE=InnoDB\nSELECT 1;",
                None,
            ),
            ("SELECT 'NVARCHAR VARCHAR2 jsonb' FROM accounts;", None),
        ];
        for (sql, expected) in cases {
            assert_eq!(guess_engine(std::iter::once(*sql)), *expected, "{sql}");
        }
    }

    #[test]
    fn guess_engine_weighs_all_files() {
        let files = [
            "CREATE TABLE a (id serial PRIMARY KEY);",
            "CREATE TABLE `b` (id INT AUTO_INCREMENT);",
            "CREATE TABLE `c` (id INT AUTO_INCREMENT);",
        ];
        assert_eq!(guess_engine(files.into_iter()), Some(Engine::Mysql));
    }

    /// `# key = value` lines of a template, uncommented.
    fn uncommented(text: &str) -> String {
        text.lines()
            .map(|line| match line.strip_prefix("# ") {
                Some(rest) if rest.starts_with('[') => rest,
                Some(rest)
                    if rest.split_once(" = ").is_some_and(|(key, _)| {
                        key.chars()
                            .all(|c| c.is_ascii_lowercase() || c == '-' || c == '_')
                    }) =>
                {
                    rest
                }
                _ => line,
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn init_text_loads_and_comments_every_key() {
        for engine in Engine::ALL {
            let text = init_text(engine, &[]);
            let directory = tempfile::tempdir().unwrap();
            let path = directory.path().join("isolint.toml");
            std::fs::write(&path, &text).unwrap();
            let config = load(&path).unwrap();
            assert_eq!(config.engine, Some(engine));
            let settings = Semantics::embedded().settings(engine);
            let chosen: Vec<&str> = config
                .engine_settings
                .of(engine)
                .map(|(name, _)| name)
                .collect();
            assert_eq!(
                chosen,
                settings.keys().map(String::as_str).collect::<Vec<_>>()
            );
            // The template chooses every setting's default: nothing changes.
            assert_eq!(
                Semantics::configured(&config.engine_settings).levels(engine),
                Semantics::embedded().levels(engine)
            );

            let lines: Vec<&str> = text.lines().collect();
            for (index, line) in lines.iter().enumerate() {
                let is_setting = line.starts_with('[') || line.contains(" = ");
                if is_setting && !line.starts_with('#') {
                    assert!(
                        lines[index - 1].starts_with('#'),
                        "{engine}: `{line}` has no comment above it"
                    );
                }
            }
            for (key, _) in TOP_LEVEL_KEYS {
                let shown = |line: &&str| {
                    let line = line.trim_start_matches("# ");
                    line.starts_with(&format!("{key} = "))
                        || *line == format!("[{key}]")
                        || line.starts_with(&format!("[{key}."))
                        || *line == format!("[[{key}]]")
                };
                assert!(lines.iter().any(shown), "{engine}: `{key}` is not shown");
            }

            let every_setting = parse(Path::new("isolint.toml"), &uncommented(&text)).unwrap();
            assert_eq!(every_setting.transactions.len(), 1);
            assert_eq!(every_setting.rules.len(), Rule::ALL.len());
            assert!(every_setting.isolation.is_some());
            assert!(!every_setting.schema.is_empty());
        }
    }
}
