//! The command line: argument parsing, option merging and exit codes. No analysis logic.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::baseline;
use crate::config::{self, Config};
use crate::discover::FileProblem;
use crate::report;
use crate::rule::{REGISTRY, Rule, Severity};
use crate::semantics::{Engine, Level, Semantics};
use crate::settings::{self, SettingsError};
use crate::source::{FileId, Role, SourceFile};
use crate::{CheckOptions, CheckResult, discover};

#[derive(Parser, Debug)]
#[command(
    name = "isolint",
    version,
    about = "Static checker for SQL transaction isolation anomalies"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check migrations and transaction scripts for anomalies the isolation level lets through.
    Check(Box<CheckArgs>),
    /// Write a commented `isolint.toml` here, with the engine guessed from the SQL found.
    Init {
        /// Replace an existing `isolint.toml`.
        #[arg(long)]
        force: bool,
    },
    /// List the rules.
    Rules,
    /// Print a rule's documentation, or what each engine's levels let through.
    Explain {
        /// A rule id, e.g. `write-skew`.
        #[arg(required_unless_present = "engines")]
        rule: Option<String>,
        /// Print the engine table instead: what each level of each engine lets through, the
        /// settings that change it, and the documents it comes from.
        #[arg(long, conflicts_with = "rule")]
        engines: bool,
    },
    /// Serve diagnostics, quick fixes and hover to an editor (Language Server Protocol on
    /// standard input and output).
    Lsp,
    /// Run each finding's interleaving on a real database and report whether it happens.
    ///
    /// Findings run on PostgreSQL for `--engine postgres`, and on MariaDB (or MySQL with
    /// InnoDB) for `--engine mysql` and `--engine mariadb`. The other engines (SQL Server,
    /// Oracle, CockroachDB, SQLite, Spanner, TiDB, YugabyteDB) have no server here to confirm
    /// on, and confirm stops with an error for them.
    ///
    /// The project's migrations run verbatim, in the order the check applies them, in a
    /// throwaway database (`CREATE DATABASE isolint_confirm_<random>`) on the server of
    /// --database-url; every run works in a copy of it, and all of them are dropped afterwards
    /// (`DROP DATABASE`), also when confirm fails. Nothing outside those databases is touched:
    /// nothing is created in the database the URL names, and migration statements that would
    /// change the server as a whole (roles and users, databases, tablespaces, ALTER SYSTEM, SET
    /// GLOBAL, GRANT, USE, subscriptions, also inside DO blocks) are left out and listed.
    /// Without --database-url, a private server (PostgreSQL, or MariaDB for the MySQL family)
    /// is started in a temporary directory on a Unix socket (as an unprivileged user when run
    /// as root), and stopped and deleted afterwards.
    Confirm(Box<ConfirmArgs>),
    /// Write a design review: summary, dependency graph, transaction inventory, findings with
    /// witnesses, isolation advisor and pair matrix.
    Report(Box<ReportArgs>),
    /// Draw the dependency graph of the transactions.
    Graph(Box<GraphArgs>),
    /// Turn database logs into transaction scripts that `check` reads.
    ///
    /// Reads PostgreSQL logs written with `log_statement = 'all'` (stderr with a
    /// `log_line_prefix` holding `%c` or `%p`, and `%v`; csvlog; jsonlog), a
    /// `pg_stat_statements` CSV export, or MySQL's or MariaDB's general query log, groups the statements per transaction, makes literals
    /// and bind values parameters, drops savepoints, SET, SHOW, catalog queries and connection
    /// checks, and writes one named script per distinct transaction into the output directory,
    /// with its count, where it was first seen and its isolation level. Scripts an earlier
    /// capture wrote there are merged: counts add up, nothing is duplicated.
    Capture(Box<CaptureArgs>),
}

#[derive(clap::Args, Debug)]
pub struct CaptureArgs {
    /// Log files, read in the order given (oldest first: sessions continue from one file into
    /// the next).
    #[arg(required = true, value_name = "LOG")]
    pub logs: Vec<PathBuf>,
    /// The directory to write the scripts into (created when missing).
    #[arg(long, short = 'o', value_name = "DIRECTORY")]
    pub output: PathBuf,
    /// The server's `log_line_prefix` (`SHOW log_line_prefix`), to read stderr logs exactly and
    /// take application names from them; without it, the process id, session id and virtual
    /// transaction id are recognised by their shape.
    #[arg(long, value_name = "PREFIX")]
    pub log_line_prefix: Option<String>,
    /// The logs' format, instead of detecting each one's from its first line.
    #[arg(long, value_enum)]
    pub log_format: Option<LogFormat>,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum LogFormat {
    /// `log_destination = 'stderr'`.
    Stderr,
    /// `log_destination = 'csvlog'`.
    Csvlog,
    /// `log_destination = 'jsonlog'`.
    Jsonlog,
    /// `pg_stat_statements` exported as CSV with a header (`query`, `calls`, ...).
    PgStatStatements,
    /// MySQL's or MariaDB's general query log (`general_log = ON`).
    MysqlGeneral,
}

#[derive(clap::Args, Debug)]
pub struct ConfirmArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Confirm only findings of these rules (opt-in rules included).
    #[arg(long, value_delimiter = ',')]
    pub rule: Vec<String>,
    /// Confirm only the findings with these fingerprints (from the JSON report).
    #[arg(long, value_delimiter = ',')]
    pub finding: Vec<String>,
    #[arg(long, value_enum, default_value_t = ConfirmFormat::Human)]
    pub format: ConfirmFormat,
}

/// Where `confirm` runs findings, and with which rows.
#[derive(clap::Args, Debug)]
pub struct DatabaseArgs {
    /// The server to run findings on: PostgreSQL (`postgres://user@localhost/db`, `host=/tmp
    /// user=postgres`; the user needs CREATEDB) for `--engine postgres`, MariaDB or MySQL
    /// (`mysql://user:password@localhost/db`, `mysql://root@localhost/?socket=/run/mysqld/
    /// mysqld.sock`; the user needs CREATE and DROP on `isolint_confirm_%` databases, and
    /// PROCESS to see lock waits) for `--engine mysql|mariadb`. Everything runs in throwaway
    /// databases created there and dropped afterwards; nothing else on the server is touched.
    /// Without it, `isolint confirm` starts a private server of its own when the server
    /// binaries are installed (and `isolint report` confirms nothing).
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// Rows to load before each run (INSERT statements), instead of the nearest `seed.sql`.
    #[arg(long, value_name = "FILE")]
    pub seed: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum ConfirmFormat {
    Human,
    Json,
}

/// The project to analyse, for the commands that need nothing else of `check`'s options.
#[derive(clap::Args, Debug)]
pub struct ProjectArgs {
    /// Files or directories to analyse (default: the current directory).
    pub paths: Vec<PathBuf>,
    /// The database engine (default: the config's, else postgres).
    #[arg(long)]
    pub engine: Option<String>,
    /// Isolation level for transactions that declare none (default: the engine's default).
    #[arg(long)]
    pub isolation: Option<String>,
    /// Use this config file instead of searching for `isolint.toml` upwards.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Write to this file instead of standard output.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// `html`: one self-contained page; `markdown`: for pull requests and wikis (GitHub).
    #[arg(long, value_enum, default_value_t = ReportFormat::Html)]
    pub format: ReportFormat,
    /// With `--database-url`, each finding shows what `isolint confirm` saw on the database.
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(clap::Args, Debug)]
pub struct GraphArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// `dot` (Graphviz), `mermaid`, or `svg` (laid out by isolint).
    #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
    pub format: GraphFormat,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum ReportFormat {
    Html,
    Markdown,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum GraphFormat {
    Dot,
    Mermaid,
    Svg,
}

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// Files or directories to check (default: the current directory). Given files are
    /// checked with the whole project as context; `-` reads standard input.
    pub paths: Vec<PathBuf>,
    /// The database engine: postgres, mysql, mariadb, sqlserver, oracle, cockroachdb, sqlite
    /// (default: the config's, else postgres).
    #[arg(long)]
    pub engine: Option<String>,
    /// Isolation level for transactions that declare none (default: the engine's default).
    #[arg(long)]
    pub isolation: Option<String>,
    /// Output format (default: human, or github inside GitHub Actions).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Write the report to this file instead of standard output.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    /// Rules to run instead of the defaults (comma-separated ids, or ALL).
    #[arg(long, value_delimiter = ',')]
    pub select: Vec<String>,
    /// Rules to run in addition to the selected ones (e.g. the opt-in `phantom-read`).
    #[arg(long, value_delimiter = ',')]
    pub extend_select: Vec<String>,
    /// Rules not to run.
    #[arg(long, value_delimiter = ',')]
    pub ignore: Vec<String>,
    /// Print the number of findings per rule after the report (on standard error).
    #[arg(long)]
    pub statistics: bool,
    /// Print every file's role (schema, transactions, skipped) and why, then exit without
    /// checking.
    #[arg(long)]
    pub explain_inputs: bool,
    /// Report only findings that this baseline file does not record.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Record today's findings in this baseline file.
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
    /// Exit 0 even when there are findings (errors of the tool itself still exit 2).
    #[arg(long)]
    pub exit_zero: bool,
    /// The lowest severity that makes the exit code 1.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
    /// The file name of the text read from standard input (with `-` as the path).
    #[arg(long, value_name = "NAME")]
    pub stdin_filename: Option<PathBuf>,
    /// Use this config file instead of searching for `isolint.toml` upwards.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Never color the output.
    #[arg(long)]
    pub no_color: bool,
}

impl CheckArgs {
    /// What the command line chooses on top of the config.
    pub fn choices(&self) -> settings::Choices {
        settings::Choices {
            engine: self.engine.clone(),
            isolation: self.isolation.clone(),
            select: self.select.clone(),
            extend_select: self.extend_select.clone(),
            ignore: self.ignore.clone(),
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
    Concise,
    Sarif,
    Github,
    Gitlab,
    Junit,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum FailOn {
    Error,
    Warning,
}

/// An error of the tool itself (usage, I/O): exit code 2.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum CliError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Discover(#[from] discover::DiscoverError),
    #[error("cannot determine the working directory: {0}")]
    WorkingDirectory(std::io::Error),
    #[error("{0} exists already")]
    #[diagnostic(code(isolint::init), help("pass --force to replace it"))]
    ConfigExists(String),
    #[error("cannot read standard input: {0}")]
    Stdin(std::io::Error),
    #[error("cannot write {path}: {source}")]
    #[diagnostic(
        code(isolint::output),
        help("check that the directory exists and is writable")
    )]
    Output {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Baseline(#[from] crate::baseline::BaselineError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Config(#[from] Box<config::ConfigError>),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Lsp(#[from] crate::lsp::LspError),
    #[error("{0}")]
    #[diagnostic(code(isolint::confirm))]
    Confirm(String),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Capture(#[from] crate::capture::CaptureError),
}

pub fn main() -> ExitCode {
    // Invariant: building the global pool can only fail when one exists already, and this is
    // the first thing the process does.
    let _ = rayon::ThreadPoolBuilder::new()
        .stack_size(settings::STACK_SIZE)
        .build_global();
    let worker = std::thread::Builder::new()
        .stack_size(settings::STACK_SIZE)
        .spawn(main_on_large_stack);
    match worker.map(std::thread::JoinHandle::join) {
        Ok(Ok(code)) => code,
        _ => {
            eprintln!("isolint: internal error; please report it with the input that caused it");
            ExitCode::from(2)
        }
    }
}

fn main_on_large_stack() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() { 2 } else { 0 });
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("{:?}", miette::Report::new(error));
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, CliError> {
    let mut stdout = std::io::stdout().lock();
    match cli.command {
        Command::Rules => {
            let _ = stdout.write_all(rules_table().as_bytes());
            Ok(ExitCode::SUCCESS)
        }
        Command::Explain { rule, engines } => {
            if engines {
                let _ = stdout.write_all(report::engines::markdown().as_bytes());
                return Ok(ExitCode::SUCCESS);
            }
            let rule = rule.unwrap_or_default();
            let rule =
                Rule::from_id(&rule).ok_or(CliError::Settings(SettingsError::UnknownRule(rule)))?;
            let _ = writeln!(stdout, "{}", rule.doc().body.trim_end());
            Ok(ExitCode::SUCCESS)
        }
        Command::Check(args) => check(*args, &mut stdout),
        Command::Capture(args) => capture(*args),
        Command::Confirm(args) => confirm(*args, &mut stdout),
        Command::Init { force } => init(force),
        Command::Lsp => {
            // The server writes from its own thread.
            drop(stdout);
            crate::lsp::run()?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Report(args) => {
            let check = check_args(&args.project);
            let (mut result, options) = analyse(&check)?;
            if args.database.database_url.is_some() {
                let config = project_config(&check)?;
                confirm_findings(&mut result, &args.database, config.as_ref())?;
            }
            let review = report::review::Review::build(&result, &options);
            let text = match args.format {
                ReportFormat::Html => report::html::render(&review),
                ReportFormat::Markdown => report::markdown::render(&review),
            };
            emit(args.project.output.as_deref(), &text, &mut stdout)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Graph(args) => {
            let (result, _) = analyse(&check_args(&args.project))?;
            let graph = report::review::graph_of(&result);
            let text = match args.format {
                GraphFormat::Dot => report::graph::dot(&graph),
                GraphFormat::Mermaid => report::graph::mermaid(&graph),
                GraphFormat::Svg => report::svg::render(&graph),
            };
            emit(args.project.output.as_deref(), &text, &mut stdout)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `isolint capture`: logs into scripts, with progress and a summary on stderr.
fn capture(args: CaptureArgs) -> Result<ExitCode, CliError> {
    use crate::capture::{self, Format};
    let options = capture::Options {
        inputs: args.logs,
        output: args.output,
        format: args.log_format.map(|format| match format {
            LogFormat::Stderr => Format::Stderr,
            LogFormat::Csvlog => Format::Csv,
            LogFormat::Jsonlog => Format::Json,
            LogFormat::PgStatStatements => Format::Statements,
            LogFormat::MysqlGeneral => Format::MysqlGeneral,
        }),
        log_line_prefix: args.log_line_prefix,
    };
    let bar = crate::progress::TerminalBar::stderr();
    let summary = capture::capture(&options, &bar);
    bar.finish();
    eprint!("{}", summary?.render());
    Ok(ExitCode::SUCCESS)
}

/// `check`'s arguments for `project`, every other option at its default.
fn check_args(project: &ProjectArgs) -> CheckArgs {
    #[derive(Parser)]
    struct Defaults {
        #[command(flatten)]
        args: CheckArgs,
    }
    let mut args = Defaults::parse_from(["isolint"]).args;
    args.paths = project.paths.clone();
    args.engine = project.engine.clone();
    args.isolation = project.isolation.clone();
    args.config = project.config.clone();
    args
}

/// Writes `text` to `output`, or to standard output.
fn emit(output: Option<&Path>, text: &str, stdout: &mut impl Write) -> Result<(), CliError> {
    match output {
        Some(path) => std::fs::write(path, text).map_err(|source| CliError::Output {
            path: path.display().to_string(),
            source,
        }),
        None => {
            let _ = stdout.write_all(text.as_bytes());
            Ok(())
        }
    }
}

/// `isolint init`: a commented config for the engine the project's SQL looks like.
fn init(force: bool) -> Result<ExitCode, CliError> {
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

fn rules_table() -> String {
    let mut out = String::new();
    for spec in REGISTRY {
        let doc = spec.rule.doc();
        out.push_str(&format!(
            "{:<22} {:<8} {:<4} {:<20} {}\n",
            spec.id,
            doc.severity.id(),
            if doc.default_on { "on" } else { "off" },
            doc.adya,
            doc.summary
        ));
    }
    out
}

/// Reads the project the arguments name and checks it: what `check`, `confirm`, `report` and
/// `graph` share.
fn analyse(args: &CheckArgs) -> Result<(CheckResult, CheckOptions), CliError> {
    let working_directory = std::env::current_dir().map_err(CliError::WorkingDirectory)?;
    let config = load_config(args, &working_directory)?;
    let options = settings::options(&args.choices(), config.as_ref())?;
    let (files, problems, focus) = gather(args, config.as_ref(), &working_directory)?;
    let bar = crate::progress::TerminalBar::stderr();
    let mut result =
        crate::check_with_progress(files, &options, &mut crate::CheckCache::one_shot(), &bar);
    bar.finish();
    if let (Some(config), Some(unknown)) = (&config, result.unknown_steps.first()) {
        return Err(Box::new(config.unknown_step(unknown)).into());
    }
    // Whether the engine accepts the level asked for depends on the migrations' settings too.
    settings::rejected_level(&options, result.semantics)?;
    for problem in problems {
        result.diagnostics.insert(
            0,
            crate::Diagnostic {
                kind: crate::DiagnosticKind::IoError,
                file: None,
                range: Default::default(),
                message: format!("{}: {}", problem.path.display(), problem.message),
            },
        );
    }
    if let Some(focus) = focus {
        result.retain_involving(&focus);
    }
    Ok((result, options))
}

/// The config that `analyse` read for `args`, for what comes after the check.
fn project_config(args: &CheckArgs) -> Result<Option<Config>, CliError> {
    let working_directory = std::env::current_dir().map_err(CliError::WorkingDirectory)?;
    load_config(args, &working_directory)
}

/// The config file `--config` names, else the nearest one, if any.
fn load_config(args: &CheckArgs, working_directory: &Path) -> Result<Option<Config>, CliError> {
    match args
        .config
        .clone()
        .or_else(|| config::find(working_directory))
    {
        Some(path) => {
            // Shown relative to the working directory, as discovered files are.
            let shown = path.strip_prefix(working_directory).unwrap_or(&path);
            Ok(Some(config::load(shown).map_err(Box::new)?))
        }
        None => Ok(None),
    }
}

/// `check --explain-inputs`: every file discovery meets, with its role and the reason.
fn explain_inputs(args: &CheckArgs, stdout: &mut impl Write) -> Result<ExitCode, CliError> {
    let working_directory = std::env::current_dir().map_err(CliError::WorkingDirectory)?;
    let config = load_config(args, &working_directory)?;
    let classify = settings::classifier(config.as_ref())?;
    let paths = if args.paths.is_empty() {
        vec![
            config
                .as_ref()
                .map_or_else(|| PathBuf::from("."), |c| c.root.clone()),
        ]
    } else {
        args.paths.clone()
    };
    let discovered = discover::discover_with(&paths, &working_directory, &classify)?;
    let shown: Vec<String> = discovered
        .explanations
        .iter()
        .map(|(path, _)| path.display().to_string())
        .collect();
    let width = shown
        .iter()
        .map(|path| path.chars().count())
        .max()
        .unwrap_or(0);
    let mut text = String::new();
    for (path, (_, reason)) in shown.iter().zip(&discovered.explanations) {
        text.push_str(&format!("{path:<width$}  {reason}\n"));
    }
    emit(args.output.as_deref(), &text, stdout)?;
    Ok(ExitCode::SUCCESS)
}

fn check(args: CheckArgs, stdout: &mut impl Write) -> Result<ExitCode, CliError> {
    if args.explain_inputs {
        return explain_inputs(&args, stdout);
    }
    let (mut result, options) = analyse(&args)?;
    if let Some(path) = &args.write_baseline {
        let count = baseline::write(&result, path)?;
        eprintln!("isolint: recorded {count} finding(s) in {}", path.display());
    }
    if let Some(path) = &args.baseline {
        let known = baseline::load(path)?;
        let dropped = baseline::apply(&mut result, &known);
        if dropped > 0 {
            eprintln!(
                "isolint: {dropped} finding(s) recorded in {} not shown",
                path.display()
            );
        }
    }
    let default_level = default_level(&options, &result);
    let format = args.format.unwrap_or_else(|| {
        if std::env::var("GITHUB_ACTIONS").is_ok_and(|value| value == "true") {
            Format::Github
        } else {
            Format::Human
        }
    });
    let text = match format {
        Format::Json => {
            // The report can be large: stream it instead of building it in memory.
            let written = match &args.output {
                Some(path) => std::fs::File::create(path)
                    .and_then(|mut file| report::json::write(&result, default_level, &mut file)),
                None => report::json::write(&result, default_level, stdout),
            };
            if let (Err(source), Some(path)) = (written, &args.output) {
                return Err(CliError::Output {
                    path: path.display().to_string(),
                    source,
                });
            }
            return Ok(finish(&args, &result));
        }
        Format::Concise => report::concise::render(&result),
        Format::Sarif => report::sarif::render(&result),
        Format::Github => report::github::render(&result),
        Format::Gitlab => report::gitlab::render(&result),
        Format::Junit => report::junit::render(&result),
        Format::Human => {
            let color = !args.no_color
                && args.output.is_none()
                && std::env::var_os("NO_COLOR").is_none()
                && std::io::stdout().is_terminal();
            let mut text = header(&result, &options, default_level);
            text.push_str(&report::human::render(
                &result,
                &report::human::Options { color, width: 100 },
            ));
            text
        }
    };
    emit(args.output.as_deref(), &text, stdout)?;
    Ok(finish(&args, &result))
}

/// `isolint confirm`: each finding's witness on a real PostgreSQL. Exit 1 when one is
/// reproduced, 0 when none is, 2 when the tool could not run.
fn confirm(args: ConfirmArgs, stdout: &mut impl Write) -> Result<ExitCode, CliError> {
    let mut check = check_args(&args.project);
    // The rules asked for run even when they are opt-in.
    check.select = args.rule.clone();
    let (mut result, options) = analyse(&check)?;
    if !args.finding.is_empty() {
        let keep: Vec<bool> = result
            .findings
            .iter()
            .map(|finding| {
                args.finding
                    .contains(&report::fingerprint(&result, finding))
            })
            .collect();
        let mut kept = keep.into_iter();
        result.findings.retain(|_| kept.next().unwrap_or(false));
    }
    let config = project_config(&check)?;
    confirm_findings(&mut result, &args.database, config.as_ref())?;
    let text = match args.format {
        ConfirmFormat::Json => report::json::render(&result, default_level(&options, &result)),
        ConfirmFormat::Human => report::confirmations::render(&result),
    };
    emit(args.project.output.as_deref(), &text, stdout)?;
    let reproduced = result
        .confirmations
        .values()
        .any(|confirmation| confirmation.verdict == crate::confirm::Verdict::Reproduced);
    Ok(if reproduced {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Runs every finding of `result` on the database, with progress on standard error: on the
/// server `--database-url` names, else on a private one started for the run.
fn confirm_findings(
    result: &mut CheckResult,
    database: &DatabaseArgs,
    config: Option<&Config>,
) -> Result<(), CliError> {
    use crate::confirm;
    use crate::confirm::database::Flavor;
    let Some(flavor) = Flavor::of(result.engine) else {
        return Err(CliError::Confirm(format!(
            "confirm runs findings on PostgreSQL (--engine postgres) and on MariaDB or MySQL \
             (--engine mysql, --engine mariadb); this project is checked as {}, which has no \
             server here to run them on. Its findings stand as the check reports them; pass \
             one of those engines if the project's SQL runs there too",
            result.engine.id()
        )));
    };
    let mut setup =
        confirm::Setup::new(result, database.seed.as_deref()).map_err(CliError::Confirm)?;
    if let Some(config) = config {
        setup = setup.with_setup_files(config).map_err(CliError::Confirm)?;
    }
    // Dropped after everything that uses it: a private server outlives its databases.
    let (_private_postgres, _private_mariadb);
    let progress = |message: &str| eprintln!("isolint: {message}");
    let url = match (&database.database_url, flavor) {
        (Some(url), _) => url.clone(),
        (None, Flavor::Postgres) => {
            let cluster = confirm::cluster::Cluster::start(&progress).map_err(CliError::Confirm)?;
            let url = cluster.url();
            _private_postgres = cluster;
            url
        }
        (None, Flavor::Mysql) => {
            let server = confirm::mariadb::Mariadb::start(&progress).map_err(CliError::Confirm)?;
            let url = server.url();
            _private_mariadb = server;
            url
        }
    };
    let server = confirm::database::Database::new(&url).map_err(CliError::Confirm)?;
    if server.flavor() != flavor {
        return Err(CliError::Confirm(format!(
            "this project is checked as {}, whose findings run on {}, and --database-url names \
             a {} server; pass a {} URL",
            result.engine.id(),
            flavor.name(),
            server.flavor().name(),
            match flavor {
                Flavor::Postgres => "postgres://",
                Flavor::Mysql => "mysql://",
            }
        )));
    }
    // Fail early when the server cannot be reached.
    server.connect().map_err(CliError::Confirm)?;
    for left_out in setup
        .migrations
        .left_out
        .iter()
        .chain(&setup.setup_files.left_out)
    {
        eprintln!("isolint: migration statement left out: {left_out}");
    }
    for note in &setup.migrations.notes {
        eprintln!("isolint: {note}");
    }
    eprintln!(
        "isolint: running {} migration file{} in a throwaway database",
        setup.migrations.scripts.len(),
        if setup.migrations.scripts.len() == 1 {
            ""
        } else {
            "s"
        }
    );
    let schema = confirm::Schema::build(&server, &setup).map_err(CliError::Confirm)?;
    const SHOWN_FAILURES: usize = 20;
    for failure in schema.failures().iter().take(SHOWN_FAILURES) {
        eprintln!("isolint: migration failed: {failure}");
    }
    if schema.failures().len() > SHOWN_FAILURES {
        eprintln!(
            "isolint: ... and {} more migration statements failed",
            schema.failures().len() - SHOWN_FAILURES
        );
    }
    let total = result.findings.len();
    for (index, finding) in result.findings.iter().enumerate() {
        eprintln!(
            "isolint: confirming {}/{total}: {} ({})",
            index + 1,
            finding.rule.id(),
            finding
                .programs
                .iter()
                .map(|program| result.programs[*program].name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        let confirmation = confirm::confirm(&schema, result, &setup, finding);
        result.confirmations.insert(index, confirmation);
    }
    Ok(())
}

/// The level of transactions that declare none.
fn default_level(options: &CheckOptions, result: &CheckResult) -> Level {
    let semantics = result.semantics;
    options
        .isolation
        .map(|level| semantics.effective_level(options.engine, level).0)
        .unwrap_or_else(|| semantics.default_level(options.engine))
}

/// After the report: statistics on stderr, and the exit code.
fn finish(args: &CheckArgs, result: &CheckResult) -> ExitCode {
    if args.statistics {
        eprint!("{}", statistics(result));
    }
    let incomplete = result
        .diagnostics
        .iter()
        .any(|diagnostic| diagnostic.kind == crate::DiagnosticKind::Limit);
    if incomplete {
        // The analysis could not finish: an absence of findings would be a lie.
        ExitCode::from(2)
    } else if args.exit_zero {
        ExitCode::SUCCESS
    } else {
        exit_code(result, args.fail_on)
    }
}

/// The files to analyse, problems met reading them, and, when the user named files (as
/// pre-commit does), the ids of those files: the rest of the project is context only.
fn gather(
    args: &CheckArgs,
    config: Option<&Config>,
    working_directory: &Path,
) -> Result<Gathered, CliError> {
    let classify = settings::classifier(config)?;
    let discover = |paths: &[PathBuf]| discover::discover_with(paths, working_directory, &classify);
    let stdin = Path::new("-");
    let named_files: Vec<&PathBuf> = args
        .paths
        .iter()
        .filter(|path| path.as_path() == stdin || path.is_file())
        .collect();
    if named_files.is_empty() {
        // Without paths, the whole project: the config's directory, else the working one.
        let paths = if args.paths.is_empty() {
            vec![config.map_or_else(|| PathBuf::from("."), |c| c.root.clone())]
        } else {
            args.paths.clone()
        };
        let discovered = discover(&paths)?;
        return Ok((discovered.files, discovered.problems, None));
    }
    // The project around the named files: the directories given, else the config's
    // directory, else the working directory.
    let mut context: Vec<PathBuf> = args.paths.iter().filter(|p| p.is_dir()).cloned().collect();
    if context.is_empty() {
        context.push(config.map_or_else(|| PathBuf::from("."), |c| c.root.clone()));
    }
    let discovered = discover(&context)?;
    let mut files = discovered.files;
    let mut problems = discovered.problems;
    let mut focus = BTreeSet::new();
    for path in named_files {
        let (shown, text) = if path.as_path() == stdin {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(CliError::Stdin)?;
            let name = args
                .stdin_filename
                .clone()
                .unwrap_or_else(|| PathBuf::from("-"));
            (discover::shown_path(&name, working_directory), Some(text))
        } else {
            (discover::shown_path(path, working_directory), None)
        };
        let existing = files
            .iter()
            .position(|file| file.display_path() == shown.to_string_lossy().replace('\\', "/"));
        let index = match (existing, text) {
            (Some(index), None) => index,
            (Some(index), Some(text)) => {
                let role = files[index].role;
                files[index] = SourceFile::new(shown, role, text);
                index
            }
            (None, text) => {
                let text = match text {
                    Some(text) => text,
                    None => {
                        let read = discover(std::slice::from_ref(path))?;
                        problems.extend(read.problems);
                        match read.files.into_iter().next() {
                            Some(file) => file.text,
                            None => continue,
                        }
                    }
                };
                let Some(role) = classify(&working_directory.join(&shown)) else {
                    continue;
                };
                files.push(SourceFile::new(shown, role, text));
                files.len() - 1
            }
        };
        focus.insert(index);
    }
    Ok((files, problems, Some(focus)))
}

/// The files to analyse, problems met reading them, and the files the user named, if any.
type Gathered = (Vec<SourceFile>, Vec<FileProblem>, Option<BTreeSet<FileId>>);

/// `--statistics`: findings per rule and severity, most frequent first.
fn statistics(result: &CheckResult) -> String {
    let mut rows = crate::report::review::rule_counts(result);
    rows.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)).then(a.1.cmp(&b.1)));
    let mut out = String::new();
    for (rule, severity, count) in rows {
        out.push_str(&format!(
            "{count:>6}  {:<22} {}\n",
            rule.id(),
            severity.id()
        ));
    }
    out.push_str(&format!("{:>6}  total\n", result.findings.len()));
    out
}

fn header(result: &CheckResult, options: &CheckOptions, default_level: Level) -> String {
    let source = if options.isolation.is_some() {
        "--isolation"
    } else {
        "engine default"
    };
    let semantics = result.semantics;
    let engine = result.engine;
    let display = semantics.display(engine);
    let mut out = format!(
        "isolint: engine {display}{}; transactions that declare no level run at {} ({source})\n",
        settings_summary(semantics, engine),
        default_level.sql(),
    );
    for upgrade in semantics.upgrades(engine) {
        let levels: Vec<&str> = upgrade.requested.iter().map(|level| level.sql()).collect();
        out.push_str(&format!(
            "isolint: {} on {display} with {} {} as {}\n",
            levels.join(" and "),
            upgrade.because,
            if levels.len() == 1 { "runs" } else { "run" },
            upgrade.runs_as.sql()
        ));
    }
    // Transactions whose own SQL chose other settings (TiDB's `BEGIN PESSIMISTIC`), by them.
    let mut own: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    for program in &result.programs {
        let settings = result.own_settings(program);
        if !settings.is_empty() {
            own.entry(settings.join(", "))
                .or_default()
                .insert(&program.name);
        }
    }
    const SHOWN: usize = 5;
    for (settings, names) in own {
        let mut list = names
            .iter()
            .take(SHOWN)
            .copied()
            .collect::<Vec<_>>()
            .join(", ");
        if names.len() > SHOWN {
            list.push_str(&format!(" and {} more", names.len() - SHOWN));
        }
        out.push_str(&format!(
            "isolint: transactions that choose {settings} themselves: {list}\n"
        ));
    }
    out.push('\n');
    out
}

/// ` (tidb_txn_mode = 'optimistic')`: the settings chosen away from their defaults, unless the
/// engine's name already says them.
fn settings_summary(semantics: &Semantics, engine: Engine) -> String {
    let specs = semantics.settings(engine);
    let chosen: Vec<String> = semantics
        .chosen()
        .of(engine)
        .filter_map(|(name, value)| {
            let spec = specs.get(name)?;
            let overlay = spec.when.get(&value.key())?;
            overlay.display.is_none().then(|| spec.assignment(value))
        })
        .collect();
    if chosen.is_empty() {
        String::new()
    } else {
        format!(" ({})", chosen.join(", "))
    }
}

/// 1 when a finding is at least as severe as `fail_on`, else 0.
pub fn exit_code(result: &CheckResult, fail_on: FailOn) -> ExitCode {
    let fails = |severity: Severity| match fail_on {
        FailOn::Error => severity == Severity::Error,
        FailOn::Warning => true,
    };
    if result.findings.iter().any(|f| fails(result.severity(f))) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
