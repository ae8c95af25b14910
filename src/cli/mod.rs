//! The command line: argument parsing, option merging and exit codes. No analysis logic.
//!
//! The argument types, the dispatch and the commands of a few lines are here; the others have a
//! file each: `check` (with the reading and checking of a project that `confirm`, `report` and
//! `graph` share), `confirm`, `init` and `capture`.

mod capture;
mod check;
mod confirm;
mod init;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::config;
use crate::report;
use crate::rule::{REGISTRY, Rule, Severity};
use crate::settings::{self, SettingsError};
use crate::{CheckResult, discover};
use capture::capture;
use check::{analyse, check, project_config};
use confirm::{confirm, confirm_findings};
use init::init;

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
