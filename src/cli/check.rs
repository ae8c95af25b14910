//! `isolint check`: the config, the files the arguments name, the check, and the report,
//! statistics and exit code after it. `confirm`, `report` and `graph` read and check the
//! project through [`analyse`] too.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::{CheckArgs, CliError, Format, emit, exit_code};
use crate::baseline;
use crate::config::{self, Config};
use crate::discover::FileProblem;
use crate::report;
use crate::semantics::{Engine, Level, Semantics};
use crate::settings;
use crate::source::{FileId, SourceFile};
use crate::{CheckOptions, CheckResult, discover};

/// Reads the project the arguments name and checks it: what `check`, `confirm`, `report` and
/// `graph` share.
pub(super) fn analyse(args: &CheckArgs) -> Result<(CheckResult, CheckOptions), CliError> {
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
pub(super) fn project_config(args: &CheckArgs) -> Result<Option<Config>, CliError> {
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

pub(super) fn check(args: CheckArgs, stdout: &mut impl Write) -> Result<ExitCode, CliError> {
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

/// The level of transactions that declare none.
pub(super) fn default_level(options: &CheckOptions, result: &CheckResult) -> Level {
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
