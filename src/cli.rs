//! The command line: argument parsing, option merging and exit codes. No analysis logic.

use std::collections::BTreeSet;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::analysis::rules::{REGISTRY, Rule, Severity};
use crate::report;
use crate::semantics::{Engine, Level, Semantics};
use crate::{CheckOptions, CheckResult, check_sources, discover};

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
    Check(CheckArgs),
    /// List the rules.
    Rules,
    /// Print a rule's documentation.
    Explain {
        /// A rule id, e.g. `write-skew`.
        rule: String,
    },
}

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// Files or directories to check (default: the current directory).
    pub paths: Vec<PathBuf>,
    /// The database engine: postgres, mysql, mariadb, sqlserver, oracle, cockroachdb, sqlite.
    #[arg(long, default_value = "postgres")]
    pub engine: String,
    /// Isolation level for transactions that declare none (default: the engine's default).
    #[arg(long)]
    pub isolation: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Rules to run instead of the defaults (comma-separated ids, or ALL).
    #[arg(long, value_delimiter = ',')]
    pub select: Vec<String>,
    /// Rules to run in addition to the selected ones (e.g. the opt-in `phantom-read`).
    #[arg(long, value_delimiter = ',')]
    pub extend_select: Vec<String>,
    /// Rules not to run.
    #[arg(long, value_delimiter = ',')]
    pub ignore: Vec<String>,
    /// Never color the output.
    #[arg(long)]
    pub no_color: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
}

/// An error of the tool itself (usage, I/O): exit code 2.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum CliError {
    #[error("unknown engine `{0}`")]
    #[diagnostic(
        code(isolint::engine),
        help("use one of: postgres, mysql, mariadb, sqlserver, oracle, cockroachdb, sqlite")
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
    Discover(#[from] discover::DiscoverError),
    #[error("cannot determine the working directory: {0}")]
    WorkingDirectory(std::io::Error),
}

/// Stack for the analysis threads: parsing and walking SQL recurses once per nesting level.
const STACK_SIZE: usize = 256 * 1024 * 1024;

pub fn main() -> ExitCode {
    // Invariant: building the global pool can only fail when one exists already, and this is
    // the first thing the process does.
    let _ = rayon::ThreadPoolBuilder::new()
        .stack_size(STACK_SIZE)
        .build_global();
    let worker = std::thread::Builder::new()
        .stack_size(STACK_SIZE)
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
        Command::Explain { rule } => {
            let rule = Rule::from_id(&rule).ok_or(CliError::UnknownRule(rule))?;
            let _ = writeln!(stdout, "{}", rule.doc().body.trim_end());
            Ok(ExitCode::SUCCESS)
        }
        Command::Check(args) => check(args, &mut stdout),
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

/// Turns the arguments into options; every mistake is a `CliError`.
pub fn options(args: &CheckArgs) -> Result<CheckOptions, CliError> {
    let semantics = Semantics::embedded();
    let engine =
        Engine::parse(&args.engine).ok_or_else(|| CliError::UnknownEngine(args.engine.clone()))?;
    let isolation = match &args.isolation {
        None => None,
        Some(name) => {
            let level = Level::parse(name).ok_or_else(|| CliError::UnknownLevel(name.clone()))?;
            Some(semantics.resolve(engine, level).ok_or_else(|| {
                CliError::UnsupportedLevel {
                    engine: semantics.display(engine).to_string(),
                    level: level.sql().to_string(),
                    accepted: semantics
                        .levels(engine)
                        .iter()
                        .map(|level| level.id())
                        .collect::<Vec<_>>()
                        .join(", "),
                }
            })?)
        }
    };
    let parse_rules = |names: &[String]| -> Result<Vec<Rule>, CliError> {
        let mut rules = Vec::new();
        for name in names.iter().filter(|name| !name.trim().is_empty()) {
            if name.eq_ignore_ascii_case("all") {
                rules.extend(Rule::ALL);
            } else {
                rules.push(Rule::from_id(name).ok_or_else(|| CliError::UnknownRule(name.clone()))?);
            }
        }
        Ok(rules)
    };
    let mut rules: BTreeSet<Rule> = if args.select.is_empty() {
        CheckOptions::new(engine).rules
    } else {
        parse_rules(&args.select)?.into_iter().collect()
    };
    rules.extend(parse_rules(&args.extend_select)?);
    for rule in parse_rules(&args.ignore)? {
        rules.remove(&rule);
    }
    Ok(CheckOptions {
        engine,
        isolation,
        rules,
        severities: Default::default(),
    })
}

fn check(args: CheckArgs, stdout: &mut impl Write) -> Result<ExitCode, CliError> {
    let options = options(&args)?;
    let working_directory = std::env::current_dir().map_err(CliError::WorkingDirectory)?;
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let discovered = discover::discover(&paths, &working_directory)?;
    let mut result = check_sources(discovered.files, &options);
    for problem in discovered.problems {
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
    let default_level = options
        .isolation
        .unwrap_or_else(|| Semantics::embedded().default_level(options.engine));
    let text = match args.format {
        Format::Json => report::json::render(&result, default_level),
        Format::Human => {
            let color = !args.no_color
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
    let _ = stdout.write_all(text.as_bytes());
    Ok(exit_code(&result))
}

fn header(result: &CheckResult, options: &CheckOptions, default_level: Level) -> String {
    let source = if options.isolation.is_some() {
        "--isolation"
    } else {
        "engine default"
    };
    format!(
        "isolint: engine {}; transactions that declare no level run at {} ({source})\n\n",
        Semantics::embedded().display(result.engine),
        default_level.sql(),
    )
}

/// 1 when a finding has error severity, else 0.
pub fn exit_code(result: &CheckResult) -> ExitCode {
    if result
        .findings
        .iter()
        .any(|f| result.severity(f) == Severity::Error)
    {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
