//! isolint: a static checker for SQL transactions.
//!
//! isolint reads a project's migrations (the schema) and its transaction scripts, works out
//! what each transaction reads, writes and locks, and reports the anomalies (lost update,
//! write skew, phantom write skew, snapshot-isolation dangerous structures, read skew, dirty
//! reads) that the declared isolation level of the declared engine lets through.
//!
//! The pipeline, one module per stage:
//!
//! ```text
//! discover → parse → catalog → program → access → analysis (conflicts, graph, rules) → report
//! ```
//!
//! ```
//! use isolint::{check_sources, CheckOptions, semantics::Engine, source::{Role, SourceFile}};
//!
//! let schema = SourceFile::new("migrations/1.sql".into(), Role::Schema,
//!     "CREATE TABLE accounts (id int PRIMARY KEY, balance int);".into());
//! let txns = SourceFile::new("withdraw.sql".into(), Role::Transactions,
//!     "BEGIN; SELECT balance FROM accounts WHERE id = $1;
//!      UPDATE accounts SET balance = $2 WHERE id = $1; COMMIT;".into());
//! let result = check_sources(vec![schema, txns], &CheckOptions::new(Engine::Postgres));
//! assert_eq!(result.findings[0].rule.id(), "lost-update");
//! ```

pub mod access;
pub mod advisor;
pub mod analysis;
pub mod baseline;
pub mod capture;
pub mod catalog;
pub mod cli;
pub mod compose;
pub mod config;
pub mod confirm;
pub mod discover;
pub mod edits;
pub mod lsp;
pub mod parse;
pub mod program;
pub mod progress;
pub mod report;
pub mod routine;
pub mod rule;
pub mod semantics;
pub mod set_statements;
pub mod settings;
pub mod source;
pub mod suggest;

use std::collections::{BTreeMap, BTreeSet};

use rayon::prelude::*;

use analysis::finding::Finding;
use catalog::Catalog;
use parse::directives::Directive;
use parse::{ParsedFile, RawStatement};
use program::{Program, ProgramKind, StatementFacts, StatementKind};
use rule::{Rule, Severity};
use semantics::{Engine, Level, Semantics};
use source::{FileId, Role, SourceFile, TextRange};

/// What to check and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckOptions {
    pub engine: Engine,
    /// The level for transactions that declare none (`--isolation` or config).
    pub isolation: Option<Level>,
    pub rules: BTreeSet<Rule>,
    /// Severities that replace a rule's documented one (from the config file).
    pub severities: BTreeMap<Rule, Severity>,
    /// Template variables for templated SQL (the config's `[variables]`).
    pub variables: parse::templates::Variables,
    /// Transactions composed from named queries (the config's `[[transaction]]`s).
    pub transactions: Vec<compose::Composition>,
    /// What callers pass for the parameters of named queries (the config's `[parameters]`).
    pub parameters: BTreeMap<String, access::extract::ParameterValues>,
    /// The engine's server settings (the config's `[engine]` table), which change what its
    /// levels do.
    pub engine_settings: semantics::EngineSettings,
}

impl CheckOptions {
    pub fn new(engine: Engine) -> Self {
        CheckOptions {
            engine,
            isolation: None,
            rules: Rule::ALL
                .into_iter()
                .filter(|rule| rule.enabled_by_default())
                .collect(),
            severities: BTreeMap::new(),
            variables: parse::templates::Variables::new(),
            transactions: Vec::new(),
            parameters: BTreeMap::new(),
            engine_settings: semantics::EngineSettings::new(),
        }
    }

    /// The engine table with the engine's settings applied.
    pub fn semantics(&self) -> &'static Semantics {
        Semantics::configured(&self.engine_settings)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DiagnosticKind {
    ParseError,
    Warning,
    UnusedIgnore,
    IoError,
    /// Part of the input was too large to analyse: the findings are incomplete.
    Limit,
    /// A routine runs dynamic SQL (`EXECUTE`) that cannot be analysed.
    UnanalysedDynamicSql,
}

impl DiagnosticKind {
    /// I/O errors and limits are errors; everything else the tool says about input is a
    /// warning.
    pub fn is_error(self) -> bool {
        matches!(self, DiagnosticKind::IoError | DiagnosticKind::Limit)
    }

    pub fn id(self) -> &'static str {
        match self {
            DiagnosticKind::ParseError => "parse-error",
            DiagnosticKind::Warning => "warning",
            DiagnosticKind::UnusedIgnore => "unused-ignore",
            DiagnosticKind::IoError => "io-error",
            DiagnosticKind::Limit => "limit",
            DiagnosticKind::UnanalysedDynamicSql => "unanalysed-dynamic-sql",
        }
    }
}

/// Something about the input that is not a finding: a statement that could not be parsed, a
/// directive naming an unknown rule, an unreadable file.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub kind: DiagnosticKind,
    pub file: Option<FileId>,
    pub range: TextRange,
    pub message: String,
}

/// Everything a report needs.
#[derive(Debug)]
pub struct CheckResult {
    pub engine: Engine,
    /// The engine table the result was computed with (the engine's settings applied).
    pub semantics: &'static Semantics,
    pub files: Vec<SourceFile>,
    pub programs: Vec<Program>,
    pub catalog: Catalog,
    pub findings: Vec<Finding>,
    pub diagnostics: Vec<Diagnostic>,
    pub statements: usize,
    pub parse_errors: usize,
    pub severities: BTreeMap<Rule, Severity>,
    /// What `isolint confirm` saw on a real database, by index into `findings`.
    pub confirmations: BTreeMap<usize, confirm::Confirmation>,
    /// `[[transaction]]` steps that name no query: a mistake in the config, which the CLI
    /// reports as one.
    pub unknown_steps: Vec<compose::UnknownStep>,
    /// The template variables the files were read with (the config's `[variables]`).
    pub variables: parse::templates::Variables,
}

impl CheckResult {
    /// Keeps only the findings with a statement (or a partner's) in one of `files`, and the
    /// diagnostics of those files: checking a few files with the whole project as context.
    pub fn retain_involving(&mut self, files: &BTreeSet<FileId>) {
        let programs = &self.programs;
        self.findings.retain(|finding| {
            finding
                .statements()
                .chain(finding.partners.iter().copied())
                .any(|at| files.contains(&programs[at.program].file))
        });
        self.diagnostics
            .retain(|diagnostic| diagnostic.file.is_none_or(|file| files.contains(&file)));
    }

    /// The engine settings `program`'s own SQL chose (TiDB's `BEGIN PESSIMISTIC`) where they
    /// differ from the run's, as the engine writes them (`tidb_txn_mode = 'pessimistic'`).
    pub fn own_settings(&self, program: &Program) -> Vec<String> {
        program
            .semantics
            .map(|own| own.differences(self.engine, self.semantics))
            .unwrap_or_default()
    }

    /// The severity a finding is reported with: the config's for its rule, else the
    /// finding's own where it is less severe than its rule's, else the rule's.
    pub fn severity(&self, finding: &Finding) -> Severity {
        self.severities
            .get(&finding.rule)
            .copied()
            .or(finding.severity)
            .unwrap_or_else(|| finding.rule.severity())
    }
}

/// Runs the whole pipeline on files already read.
pub fn check_sources(files: Vec<SourceFile>, options: &CheckOptions) -> CheckResult {
    check_sources_cached(files, options, &mut CheckCache::one_shot())
}

/// Like [`check_sources`], reusing what an earlier check of mostly the same files found (see
/// [`CheckCache`]).
pub fn check_sources_cached(
    files: Vec<SourceFile>,
    options: &CheckOptions,
    cache: &mut CheckCache,
) -> CheckResult {
    check_with_progress(files, options, cache, &progress::Silent)
}

/// Like [`check_sources_cached`], telling `progress` how far it has got.
///
/// Each file is parsed once and its syntax trees dropped as soon as its facts and programs
/// are taken from them, so memory holds facts, never every file's trees at once. Programs
/// depend on the catalog, which transaction files can change too (DDL in them is applied
/// after the migrations); they are built against the catalog known before the transaction
/// files are read, and the files whose programs turn out built against another catalog are
/// parsed again.
pub fn check_with_progress(
    files: Vec<SourceFile>,
    options: &CheckOptions,
    cache: &mut CheckCache,
    progress: &dyn progress::Progress,
) -> CheckResult {
    check_files(files, options, cache, None, progress)
}

/// Like [`check_sources_cached`], but makes only the findings at fault in the files at
/// `focus` (paths as in `files`): each of those files' programs is decided against every
/// partner in the project, nothing else is. They are the findings a whole check makes at
/// fault there, at a fraction of its cost in a large project; the language server shows them
/// for the edited file first. Diagnostics are the whole check's, except that unused ignores
/// are judged only for the programs in focus and for the pair rules: whether an ignore of
/// `dangerous-structure` is used can depend on a structure around another pivot.
pub fn check_focused(
    files: Vec<SourceFile>,
    options: &CheckOptions,
    cache: &mut CheckCache,
    focus: &BTreeSet<std::path::PathBuf>,
    progress: &dyn progress::Progress,
) -> CheckResult {
    check_files(files, options, cache, Some(focus), progress)
}

fn check_files(
    files: Vec<SourceFile>,
    options: &CheckOptions,
    cache: &mut CheckCache,
    focus: Option<&BTreeSet<std::path::PathBuf>>,
    progress: &dyn progress::Progress,
) -> CheckResult {
    let engine = options.engine;
    if cache.options.as_ref() != Some(options) {
        *cache = CheckCache {
            options: Some(options.clone()),
            one_shot: cache.one_shot,
            ..CheckCache::default()
        };
    }
    let cached = |file: &SourceFile| {
        cache
            .files
            .get(&file.path)
            .filter(|entry| entry.role == file.role && entry.text == file.text)
    };
    progress.start(progress::Stage::Parse, files.len());
    // Facts of the schema files and of transaction files seen unchanged before.
    let mut facts: Vec<Option<FileFacts>> = files
        .par_iter()
        .map(|file| {
            let facts = match cached(file) {
                Some(entry) => Some(entry.facts.clone()),
                None if file.role == Role::Schema => Some(file_facts(
                    file,
                    &parse::parse_file_with(&file.text, engine, &options.variables),
                    engine,
                )),
                None => None,
            };
            if facts.is_some() {
                progress.advance(1);
            }
            facts
        })
        .collect();
    let found_settings: Vec<&[set_statements::SettingFound]> = facts
        .iter()
        .map(|facts| {
            facts
                .as_ref()
                .map_or(&[][..], |facts| facts.settings.as_slice())
        })
        .collect();
    let (settings, settings_warnings) =
        set_statements::migration_settings(&files, &found_settings, options);
    let semantics = Semantics::configured(&settings);
    // The level of programs that declare none, as the engine runs it; a level the engine
    // rejects leaves them at its default, with one warning.
    let (configured, configured_warning) = match options.isolation {
        None => (None, None),
        Some(level) => match semantics.effective_level(engine, level) {
            (level, None) => (Some(level), None),
            (_, Some(warning)) => (None, Some(warning)),
        },
    };
    // Programs resolve their levels with the settings: cached ones built with others are stale.
    let settings_fit = cache.settings.as_ref() == Some(&settings);
    cache.settings = Some(settings);
    let guessed = build_catalog(&files, &facts);
    // The other transaction files, parsed once: facts, and programs against `guessed`.
    let mut built: Vec<Option<FilePrograms>> = files
        .par_iter()
        .zip(&mut facts)
        .enumerate()
        .map(|(index, (file, facts))| {
            if facts.is_some() {
                return None;
            }
            let parsed = parse::parse_file_with(&file.text, engine, &options.variables);
            *facts = Some(file_facts(file, &parsed, engine));
            let programs = build_programs(
                file, index, parsed, &guessed, options, semantics, configured,
            );
            progress.advance(1);
            Some(programs)
        })
        .collect();
    let catalog = build_catalog(&files, &facts);
    let facts: Vec<FileFacts> = facts.into_iter().map(Option::unwrap_or_default).collect();
    let facts_routines: Vec<Vec<routine::Found>> =
        facts.iter().map(|facts| facts.routines.clone()).collect();
    let cache_fits = settings_fit && cache.catalog.as_ref() == Some(&catalog);
    if !cache_fits {
        cache.files.clear();
        cache.catalog = Some(catalog.clone());
    }
    // Programs built against a catalog other than the final one are built again.
    let guessed_right = guessed == catalog;
    let stale: Vec<usize> = (0..files.len())
        .filter(|&index| {
            files[index].role == Role::Transactions
                && match built[index] {
                    Some(_) => !guessed_right,
                    None => !cache_fits,
                }
        })
        .collect();
    let rebuilt: Vec<(usize, FilePrograms)> = stale
        .par_iter()
        .map(|&index| {
            let parsed = parse::parse_file_with(&files[index].text, engine, &options.variables);
            let programs = build_programs(
                &files[index],
                index,
                parsed,
                &catalog,
                options,
                semantics,
                configured,
            );
            (index, programs)
        })
        .collect();
    for (index, programs) in rebuilt {
        built[index] = Some(programs);
    }
    let mut diagnostics = settings_warnings;
    diagnostics.extend(configured_warning.map(|warning| Diagnostic {
        kind: DiagnosticKind::Warning,
        file: None,
        range: TextRange::default(),
        message: format!("the configured isolation level: {warning}"),
    }));
    // Each file's programs: built now, or as an earlier check left them.
    let file_programs: Vec<FilePrograms> = files
        .iter()
        .zip(built)
        .map(|(file, built)| match built {
            Some(built) => built,
            None => cache
                .files
                .remove(&file.path)
                .map(|entry| (entry.programs, entry.program_diagnostics))
                .unwrap_or_default(),
        })
        .collect();
    // The check's own copies, made on every core; the cache keeps the programs as built.
    let mut copies: Vec<Vec<Program>> = if cache.one_shot {
        Vec::new()
    } else {
        file_programs
            .par_iter()
            .map(|(programs, _)| programs.clone())
            .collect()
    };
    let mut programs = Vec::new();
    let mut entries = std::collections::HashMap::new();
    let mut statements = 0;
    let mut parse_errors = 0;
    for (index, ((file, facts), (file_programs, program_diagnostics))) in
        files.iter().zip(facts).zip(file_programs).enumerate()
    {
        let with_file = |diagnostic: &Diagnostic| Diagnostic {
            file: Some(index),
            ..diagnostic.clone()
        };
        diagnostics.extend(facts.diagnostics.iter().map(with_file));
        diagnostics.extend(program_diagnostics.iter().map(with_file));
        statements += facts.statements;
        parse_errors += facts.parse_errors;
        let placed = |mut program: Program| {
            program.file = index;
            program
        };
        if cache.one_shot {
            programs.extend(file_programs.into_iter().map(placed));
            continue;
        }
        programs.extend(std::mem::take(&mut copies[index]).into_iter().map(placed));
        entries.insert(
            file.path.clone(),
            CachedFile {
                role: file.role,
                text: file.text.clone(),
                facts,
                programs: file_programs,
                program_diagnostics,
            },
        );
    }
    cache.files = entries;
    let routines = build_routines(&files, &facts_routines);
    let first_routine_program = programs.len();
    let built = routine::build(
        &routines,
        &files,
        &catalog,
        &routine::BuildContext {
            engine,
            semantics,
            configured,
            variables: &options.variables,
        },
    );
    statements += built.statements;
    parse_errors += built.parse_errors;
    programs.extend(built.programs.iter().cloned());
    let inline_notes = routine::inline(&mut programs, &routines, &built, first_routine_program);
    for program in &mut programs {
        program::read_own_inserts(program, &catalog);
    }
    diagnostics.extend(
        built
            .notes
            .iter()
            .chain(&inline_notes)
            .map(|note| Diagnostic {
                kind: match note.kind {
                    routine::NoteKind::ParseError => DiagnosticKind::ParseError,
                    routine::NoteKind::UnanalysedDynamicSql => DiagnosticKind::UnanalysedDynamicSql,
                    routine::NoteKind::Warning => DiagnosticKind::Warning,
                },
                file: Some(note.file),
                range: note.range,
                message: note.message.clone(),
            }),
    );
    // A transaction's own `[parameters]` are its steps' values, used as it is composed.
    let query_parameters: BTreeMap<String, access::extract::ParameterValues> = options
        .parameters
        .iter()
        .filter(|(name, _)| !options.transactions.iter().any(|t| t.name == **name))
        .map(|(name, values)| (name.clone(), values.clone()))
        .collect();
    diagnostics.extend(unused_parameter_values(&programs, &query_parameters));
    let composed = compose::compose(
        &mut programs,
        &options.transactions,
        engine,
        semantics,
        configured,
        &options.parameters,
    );
    diagnostics.extend(composed.warnings.into_iter().map(|warning| Diagnostic {
        kind: DiagnosticKind::Warning,
        file: Some(warning.file),
        range: warning.range,
        message: warning.message,
    }));
    let unknown_steps = composed.unknown_steps;
    let context = analysis::Context {
        programs: &programs,
        catalog: &catalog,
        semantics,
        engine,
    };
    let focus: Option<Vec<bool>> = focus.map(|focus| {
        programs
            .iter()
            .map(|program| focus.contains(&files[program.file].path))
            .collect()
    });
    let analysis =
        analysis::analyse_with_progress(&context, &options.rules, focus.as_deref(), progress);
    let findings = analysis.findings;
    diagnostics.extend(unused_ignores(
        &programs,
        &analysis.used_ignores,
        &options.rules,
        focus.as_deref(),
    ));
    diagnostics
        .sort_by_key(|diagnostic| (diagnostic.file, diagnostic.range.start, diagnostic.kind));
    CheckResult {
        engine,
        semantics,
        files,
        programs,
        catalog,
        findings,
        diagnostics,
        statements,
        parse_errors,
        severities: options.severities.clone(),
        confirmations: BTreeMap::new(),
        unknown_steps,
        variables: options.variables.clone(),
    }
}

/// What earlier checks found, for checking mostly the same files again (the language server
/// checks after every edit): each file's parse results and programs, by path and text. The
/// analysis runs again in full: it holds nothing per pair. Everything is dropped when the
/// options change; programs also when the catalog does.
#[derive(Default)]
pub struct CheckCache {
    options: Option<CheckOptions>,
    /// The engine settings the cached programs were built with: the options' and the
    /// migrations'.
    settings: Option<semantics::EngineSettings>,
    catalog: Option<Catalog>,
    files: std::collections::HashMap<std::path::PathBuf, CachedFile>,
    /// Nothing is kept: the check runs once, so copies for a next one would be waste.
    one_shot: bool,
}

impl CheckCache {
    /// A cache for a single check, which keeps nothing.
    pub fn one_shot() -> CheckCache {
        CheckCache {
            one_shot: true,
            ..CheckCache::default()
        }
    }
}

struct CachedFile {
    role: Role,
    text: String,
    facts: FileFacts,
    /// Programs and their warnings, for the catalog in `CheckCache::catalog`.
    programs: Vec<Program>,
    program_diagnostics: Vec<Diagnostic>,
}

/// What one file yields on its own, before the catalog is known.
#[derive(Clone, Default)]
struct FileFacts {
    statements: usize,
    /// The schema changes its DDL makes, in order.
    changes: Vec<catalog::Change>,
    /// Parse errors and directive warnings.
    diagnostics: Vec<Diagnostic>,
    /// Statements skipped as unparseable.
    parse_errors: usize,
    /// Routine and trigger definitions and drops, in order.
    routines: Vec<routine::Found>,
    /// The engine's settings a schema file sets server-wide (`SET CLUSTER SETTING ...`, `SET
    /// GLOBAL ...`), in order.
    settings: Vec<set_statements::SettingFound>,
}

/// A file's schema changes and diagnostics. A statement sqlparser rejects is read from tokens
/// when it is DDL, and its diagnostic says so.
fn file_facts(file: &SourceFile, parsed: &ParsedFile, engine: Engine) -> FileFacts {
    let mut facts = FileFacts {
        statements: parsed.statements.len(),
        changes: Vec::new(),
        diagnostics: Vec::new(),
        parse_errors: 0,
        routines: Vec::new(),
        settings: Vec::new(),
    };
    let text = parsed.folded.as_deref().unwrap_or(&file.text);
    for statement in &parsed.statements {
        // A migration that sets one of the engine's settings for the whole server describes
        // the server the transactions run on; a session's `SET` in a migration changes one
        // connection and is not read. In a transaction file, a session's `SET` of a setting
        // that a transaction can choose for itself holds for the file's later transactions
        // (see `statement_facts`); a value the setting does not take is said here.
        if file.role == Role::Transactions {
            let (_, warnings) =
                set_statements::session_choices(&file.text, &statement.tokens, engine);
            facts
                .diagnostics
                .extend(warnings.into_iter().map(|message| Diagnostic {
                    kind: DiagnosticKind::Warning,
                    file: None,
                    range: statement.range,
                    message,
                }));
        }
        if file.role == Role::Schema
            && let Some(settings) = set_statements::server_settings(
                &file.text,
                &statement.tokens,
                statement.range,
                engine,
            )
        {
            for setting in settings {
                match setting {
                    Ok(found) => facts.settings.push(found),
                    Err(message) => facts.diagnostics.push(Diagnostic {
                        kind: DiagnosticKind::Warning,
                        file: None,
                        range: statement.range,
                        message,
                    }),
                }
            }
            continue;
        }
        let syntax = if engine.is_postgres_family() {
            Some(parse::routine::Syntax::Postgres)
        } else if engine.is_mysql_family() {
            Some(parse::routine::Syntax::Mysql)
        } else if engine == Engine::Sqlserver {
            Some(parse::routine::Syntax::Tsql)
        } else if engine == Engine::Oracle {
            Some(parse::routine::Syntax::Oracle)
        } else {
            None
        };
        let routine =
            syntax.and_then(|syntax| parse::routine::read(text, &statement.tokens, syntax));
        // An anonymous `DO` block runs once, when the migration does: not a concurrent
        // program. Its DDL is not read; when it may alter defaults (through EXECUTE, say), what
        // leaving a column out stores is no longer known.
        if engine.is_postgres_family() && statement.keyword == "DO" {
            let body = statement
                .tokens
                .iter()
                .map(|token| token.text(text).to_ascii_lowercase());
            let body: String = body.collect::<Vec<_>>().join(" ");
            if body.contains("alter") && body.contains("default") {
                facts.changes.push(catalog::Change::ForgetDefaults);
            }
            continue;
        }
        if let Some(found) = routine {
            let ignores = program::ignores_in(&statement.directives);
            facts
                .routines
                .extend(found.into_iter().map(|statement_found| routine::Found {
                    statement: statement_found,
                    range: statement.range,
                    ignores: ignores.clone(),
                }));
            // Read from tokens: sqlparser's view of it does not matter.
            continue;
        }
        match &statement.parsed {
            Ok(asts) => facts
                .changes
                .extend(asts.iter().filter_map(catalog::from_ast::changes).flatten()),
            Err(error) => {
                let recovered = catalog::fallback::changes(
                    parsed.folded.as_deref().unwrap_or(&file.text),
                    &statement.tokens,
                )
                .filter(|changes| !changes.is_empty());
                let nothing = catalog::fallback::models_nothing(
                    parsed.folded.as_deref().unwrap_or(&file.text),
                    &statement.tokens,
                );
                let message = match recovered {
                    _ if let Some(what) = nothing => format!(
                        "statement not read: {what} changes no table, key or constraint, so \
                         nothing isolint checks depends on it ({})",
                        error.message
                    ),
                    Some(changes) => {
                        facts.changes.extend(changes);
                        format!(
                            "statement read in part: its table, columns and keys were taken \
                             from its tokens ({})",
                            error.message
                        )
                    }
                    None => {
                        facts.parse_errors += 1;
                        format!("statement skipped: {}", error.message)
                    }
                };
                facts.diagnostics.push(Diagnostic {
                    kind: DiagnosticKind::ParseError,
                    file: None,
                    range: TextRange::new(error.offset, error.offset.max(statement.range.end)),
                    message,
                });
            }
        }
    }
    facts.diagnostics.extend(directive_warnings(parsed));
    facts
}

/// Applies DDL in order: schema files (already in migration order), then DDL found in
/// transaction files; files whose facts are not known yet are left out.
fn build_catalog(files: &[SourceFile], facts: &[Option<FileFacts>]) -> Catalog {
    let mut catalog = Catalog::default();
    for role in [Role::Schema, Role::Transactions] {
        for (file, file_facts) in files.iter().zip(facts) {
            if file.role == role
                && let Some(file_facts) = file_facts
            {
                for change in &file_facts.changes {
                    catalog.apply(change.clone());
                }
            }
        }
    }
    catalog
}

/// Applies routine and trigger definitions in the order of the catalog's DDL: schema files,
/// then transaction files.
fn build_routines(files: &[SourceFile], found: &[Vec<routine::Found>]) -> routine::Routines {
    let mut routines = routine::Routines::default();
    for role in [Role::Schema, Role::Transactions] {
        for (index, (file, found)) in files.iter().zip(found).enumerate() {
            if file.role == role {
                for definition in found {
                    routines.apply(index, definition);
                }
            }
        }
    }
    routines
}

/// A transaction file's programs, and the warnings building them gave.
type FilePrograms = (Vec<Program>, Vec<Diagnostic>);

fn build_programs(
    file: &SourceFile,
    file_id: FileId,
    parsed: ParsedFile,
    catalog: &Catalog,
    options: &CheckOptions,
    semantics: &Semantics,
    configured: Option<Level>,
) -> FilePrograms {
    let stem = file
        .path
        .file_stem()
        .map(|stem| stem.to_string_lossy().to_string())
        .unwrap_or_default();
    // `[parameters.<stem>]` for a file whose one transaction is named after it: known to be
    // its only one once built, so its statements are read again with the values then.
    let stem_values = options.parameters.get(&stem);
    let statements = stem_values.map(|_| parsed.statements.clone());
    let facts: Vec<StatementFacts> = parsed
        .statements
        .into_iter()
        .map(|statement| statement_facts(&file.text, statement, catalog, options, None))
        .collect();
    let line_of = |offset: usize| file.line_col(offset).0;
    let context = program::BuildContext {
        engine: options.engine,
        semantics,
        configured,
        requested: options.isolation,
        file: file_id,
        file_stem: stem.clone(),
        line_of: &line_of,
    };
    let (mut programs, mut warnings) = program::build(&facts, &context);
    if let (Some(values), Some(statements)) = (stem_values, statements)
        && let [only] = programs.as_slice()
        && only.name == stem
    {
        let facts: Vec<StatementFacts> = statements
            .into_iter()
            .map(|statement| statement_facts(&file.text, statement, catalog, options, Some(values)))
            .collect();
        (programs, warnings) = program::build(&facts, &context);
    }
    let mut ignored_in_file = program::Ignores::new();
    for directive in &parsed.file_directives {
        if let Directive::IgnoreFile(rules) = &directive.value {
            for rule in rules {
                ignored_in_file
                    .entry(rule.clone())
                    .or_insert(directive.range);
            }
        }
    }
    for program in &mut programs {
        for (rule, range) in &ignored_in_file {
            program.ignores.entry(rule.clone()).or_insert(*range);
        }
        // What `isolint confirm` binds where the config gives a parameter one value.
        if let Some(values) = options.parameters.get(&program.name) {
            for (name, texts) in values {
                if let [text] = texts.as_slice() {
                    program
                        .declared
                        .insert(name.clone(), text.trim_matches('\'').to_string());
                }
            }
        }
    }
    let diagnostics = warnings
        .into_iter()
        .map(|warning| Diagnostic {
            kind: DiagnosticKind::Warning,
            file: Some(file_id),
            range: warning.range,
            message: warning.message,
        })
        .collect();
    (programs, diagnostics)
}

/// Reduces one parsed statement to the facts programs need; the AST is dropped here.
fn statement_facts(
    text: &str,
    statement: RawStatement,
    catalog: &Catalog,
    options: &CheckOptions,
    file_values: Option<&access::extract::ParameterValues>,
) -> StatementFacts {
    use sqlparser::ast::{Statement, TransactionIsolationLevel, TransactionMode};
    let engine = options.engine;
    // The values the config says callers pass for this named query's parameters (or, given
    // as `file_values`, for the one transaction of a file named after the file).
    let named = statement
        .directives
        .iter()
        .rev()
        .find_map(|directive| match &directive.value {
            Directive::Name(name) => Some(name),
            _ => None,
        });
    let declared = match named {
        Some(name) => options.parameters.get(name),
        None => file_values,
    };
    let level_of = |modes: &[TransactionMode]| {
        modes.iter().find_map(|mode| match mode {
            TransactionMode::IsolationLevel(level) => Some(match level {
                TransactionIsolationLevel::ReadUncommitted => Level::ReadUncommitted,
                TransactionIsolationLevel::ReadCommitted => Level::ReadCommitted,
                TransactionIsolationLevel::RepeatableRead => Level::RepeatableRead,
                TransactionIsolationLevel::Serializable => Level::Serializable,
                TransactionIsolationLevel::Snapshot => Level::Snapshot,
            }),
            _ => None,
        })
    };
    // T-SQL `BEGIN` / `END` without TRAN or TRANSACTION delimit a block, not a transaction.
    let tsql_block = statement.tokens.len() == 1
        && matches!(statement.keyword.as_str(), "BEGIN" | "END")
        && engine == Engine::Sqlserver;
    // TiDB's `BEGIN OPTIMISTIC` chooses the transaction's mode.
    let begin_settings: program::SettingChoices = statement
        .begin_mode
        .as_deref()
        .and_then(|word| Semantics::embedded().begin_choice(engine, word))
        .into_iter()
        .collect();
    let session_settings = if statement.keyword == "SET" {
        set_statements::session_choices(text, &statement.tokens, engine).0
    } else {
        program::SettingChoices::new()
    };
    let kind = match &statement.parsed {
        _ if tsql_block => StatementKind::Other,
        _ if !session_settings.is_empty() => StatementKind::SetSession {
            settings: session_settings,
        },
        Ok(asts) => match asts.first() {
            Some(Statement::StartTransaction { modes, .. }) => StatementKind::Begin {
                level: level_of(modes),
                settings: begin_settings,
            },
            Some(Statement::Commit { .. }) => StatementKind::Commit,
            Some(Statement::Rollback {
                savepoint: None, ..
            }) => StatementKind::Rollback,
            Some(Statement::Set(sqlparser::ast::Set::SetTransaction {
                modes, session, ..
            })) => {
                // sqlparser drops MySQL's `SESSION` / `GLOBAL` scope; the tokens keep it.
                let scoped =
                    statement.tokens.iter().take(3).any(|token| {
                        token.is_word(text, "session") || token.is_word(text, "global")
                    });
                StatementKind::SetTransaction {
                    level: level_of(modes),
                    session: *session || scoped,
                }
            }
            Some(_) => {
                let bound: Vec<Statement>;
                let asts = match declared {
                    Some(values) => {
                        bound = asts
                            .iter()
                            .cloned()
                            .map(|mut ast| {
                                access::extract::bind_parameter_values(&mut ast, values);
                                ast
                            })
                            .collect();
                        &bound
                    }
                    None => asts,
                };
                let data = asts
                    .iter()
                    .filter(|ast| access::extract::is_data_statement(ast));
                let accesses: Vec<_> = data
                    .clone()
                    .flat_map(|ast| access::extract::accesses(ast, &statement.locks, catalog))
                    .collect();
                let calls: Vec<_> = data.flat_map(access::extract::calls).collect();
                if asts.iter().any(access::extract::is_data_statement) {
                    StatementKind::Data { accesses, calls }
                } else {
                    StatementKind::Other
                }
            }
            None => StatementKind::Other,
        },
        // Transaction control that sqlparser rejects still delimits transactions.
        Err(_) => match statement.keyword.as_str() {
            "BEGIN" | "START" => StatementKind::Begin {
                level: None,
                settings: begin_settings,
            },
            "COMMIT" | "END" => StatementKind::Commit,
            "ROLLBACK" => StatementKind::Rollback,
            _ => StatementKind::Unparsed,
        },
    };
    StatementFacts {
        range: statement.range,
        text: one_line(&text[statement.range.start..statement.range.end]),
        directives: statement.directives,
        kind,
    }
}

/// The statement on one line, whitespace collapsed.
pub fn one_line(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Directives that name rules isolint does not have, or that it cannot read.
/// Warnings about directives; their file is filled in by the caller.
fn directive_warnings(parsed: &ParsedFile) -> Vec<Diagnostic> {
    let mut warnings = Vec::new();
    for directive in &parsed.file_directives {
        let unknown_rules: Vec<&String> = match &directive.value {
            Directive::Ignore(rules) | Directive::IgnoreFile(rules) => rules
                .iter()
                .filter(|rule| Rule::from_id(rule).is_none())
                .collect(),
            _ => vec![],
        };
        let message = match &directive.value {
            _ if !unknown_rules.is_empty() => Some(format!(
                "unknown rule {} in isolint directive; `isolint rules` lists the rules",
                unknown_rules
                    .iter()
                    .map(|rule| format!("`{rule}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Directive::Isolation(level) if Level::parse(level).is_none() => Some(format!(
                "unknown isolation level `{level}` in isolint directive"
            )),
            Directive::Unknown(text) => Some(format!(
                "unknown isolint directive `{text}`; use `ignore`, `ignore-file`, `isolation` or \
                 `example NAME=VALUE ...`"
            )),
            _ => None,
        };
        if let Some(message) = message {
            warnings.push(Diagnostic {
                kind: DiagnosticKind::Warning,
                file: None,
                range: directive.range,
                message,
            });
        }
    }
    warnings
}

/// Warnings for the config's `[parameters]` that name no query, or a parameter the query
/// does not have: their values would change nothing, and nothing is to be silently skipped.
fn unused_parameter_values(
    programs: &[Program],
    parameters: &BTreeMap<String, access::extract::ParameterValues>,
) -> Vec<Diagnostic> {
    let warning = |message: String| Diagnostic {
        kind: DiagnosticKind::Warning,
        file: None,
        range: TextRange::default(),
        message,
    };
    let mut warnings = Vec::new();
    for (query, values) in parameters {
        // The values are bound in named statements; a routine's arguments come from its callers.
        let named: Vec<&Program> = programs
            .iter()
            .filter(|program| {
                program.name == *query
                    && matches!(program.kind, ProgramKind::Query | ProgramKind::Script)
            })
            .collect();
        if named.is_empty() {
            warnings.push(warning(format!(
                "isolint.toml: `[parameters.{query}]` names no query (a routine's arguments \
                 come from its calls); its values are not used"
            )));
            continue;
        }
        for name in values.keys() {
            let used = named.iter().any(|program| {
                program
                    .statements
                    .iter()
                    .any(|statement| mentions_parameter(&statement.text, name))
            });
            if !used {
                warnings.push(warning(format!(
                    "isolint.toml: `[parameters.{query}]` names `{name}`, which `{query}` does \
                     not take; its values are not used"
                )));
            }
        }
    }
    warnings
}

/// Whether `sql` writes the parameter `name` in one of the forms query files use (`%(name)s`,
/// `:name`, `@name`, `$name`, `sqlc.arg(name)`).
fn mentions_parameter(sql: &str, name: &str) -> bool {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    ["%(", ":", "@", "$", "arg(", "arg('"].iter().any(|sigil| {
        let needle = format!("{sigil}{name}");
        sql.match_indices(&needle).any(|(at, _)| {
            let before = sql[..at].chars().next_back();
            let after = sql[at + needle.len()..].chars().next();
            !before.is_some_and(|c| *sigil == ":" && c == ':') && !after.is_some_and(word)
        })
    })
}

/// `unused-ignore` warnings: ignore directives for enabled rules that silenced nothing, and
/// directives naming rules that do not exist.
fn unused_ignores(
    programs: &[Program],
    used: &BTreeSet<(FileId, usize, String)>,
    enabled: &BTreeSet<Rule>,
    focus: Option<&[bool]>,
) -> Vec<Diagnostic> {
    let mut seen = BTreeSet::new();
    let mut diagnostics = Vec::new();
    // A focused analysis decides every pair of the programs in focus, so it knows which of
    // their ignores the pair rules use; it searches no structure around another pivot.
    let judged = |program: usize| focus.is_none_or(|focus| focus.get(program) == Some(&true));
    let judged_rule = |rule: Rule| focus.is_none() || rule != Rule::DangerousStructure;
    let every_ignore = programs
        .iter()
        .enumerate()
        .filter(|(index, _)| judged(*index))
        .flat_map(|(_, program)| {
            program
                .ignores
                .iter()
                .chain(program.statements.iter().flat_map(|s| s.ignores.iter()))
                .map(move |(rule, range)| (program.file, *range, rule))
        });
    for (file, range, rule) in every_ignore {
        if !seen.insert((file, range.start, rule.clone())) {
            continue;
        }
        let message = match Rule::from_id(rule) {
            None => format!("unused-ignore: `{rule}` is not a rule (`isolint rules` lists them)"),
            Some(known) if !enabled.contains(&known) || !judged_rule(known) => continue,
            Some(_) if used.contains(&(file, range.start, rule.clone())) => continue,
            Some(_) => {
                format!("unused-ignore: the ignore of `{rule}` silences no finding; remove it")
            }
        };
        diagnostics.push(Diagnostic {
            kind: DiagnosticKind::UnusedIgnore,
            file: Some(file),
            range,
            message,
        });
    }
    diagnostics
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A focused check leaves to the whole check whether an ignore of `dangerous-structure`
    /// is used: here only the structure around `pivot`, outside the focus, uses `tin`'s.
    #[test]
    fn a_focused_check_leaves_ignores_of_structures_to_the_whole_check() {
        let file = |path: &str, role, text: &str| {
            SourceFile::new(std::path::PathBuf::from(path), role, text.to_string())
        };
        let files = vec![
            file(
                "migrations/001.sql",
                Role::Schema,
                "CREATE TABLE x (id int PRIMARY KEY, v int);
                 CREATE TABLE y (id int PRIMARY KEY, v int);
                 CREATE TABLE z (id int PRIMARY KEY, v int);",
            ),
            file(
                "txns/pivot.sql",
                Role::Transactions,
                "-- name: pivot\nBEGIN ISOLATION LEVEL REPEATABLE READ;
                 SELECT v FROM y WHERE id = $1; UPDATE x SET v = $2 WHERE id = $1; COMMIT;",
            ),
            file(
                "txns/tin.sql",
                Role::Transactions,
                "-- isolint: ignore dangerous-structure -- reviewed\n-- name: tin
                 BEGIN ISOLATION LEVEL REPEATABLE READ;
                 SELECT v FROM x WHERE id = $1; SELECT v FROM z WHERE id = $1; COMMIT;",
            ),
            file(
                "txns/tout.sql",
                Role::Transactions,
                "-- name: tout\nBEGIN ISOLATION LEVEL REPEATABLE READ;
                 UPDATE y SET v = $2 WHERE id = $1; UPDATE z SET v = $2 WHERE id = $1; COMMIT;",
            ),
        ];
        let options = CheckOptions::new(Engine::Postgres);
        let unused = |result: &CheckResult| {
            result
                .diagnostics
                .iter()
                .filter(|diagnostic| diagnostic.kind == DiagnosticKind::UnusedIgnore)
                .count()
        };
        let mut without_ignore = files.clone();
        without_ignore[2] = file(
            "txns/tin.sql",
            Role::Transactions,
            &files[2]
                .text
                .replace("-- isolint: ignore dangerous-structure -- reviewed", ""),
        );
        let silenced = check_sources(without_ignore, &options);
        assert_eq!(
            silenced.findings.len(),
            1,
            "the structure the ignore silences"
        );
        let whole = check_sources(files.clone(), &options);
        assert_eq!((whole.findings.len(), unused(&whole)), (0, 0));
        let focus = BTreeSet::from([std::path::PathBuf::from("txns/tin.sql")]);
        let focused = check_focused(
            files,
            &options,
            &mut CheckCache::default(),
            &focus,
            &progress::Silent,
        );
        assert_eq!((focused.findings.len(), unused(&focused)), (0, 0));
    }

    /// A query file with one statement and no `-- name:` is the program named after the file;
    /// its `[parameters]` bind there as a named query's do, and `confirm` binds them too.
    #[test]
    fn parameter_values_bind_a_query_named_after_its_file() {
        let files = vec![
            SourceFile::new(
                "migrations/1.sql".into(),
                Role::Schema,
                "CREATE TABLE jobs (id int PRIMARY KEY, state text NOT NULL);".into(),
            ),
            SourceFile::new(
                "queries/fail_job.sql".into(),
                Role::Transactions,
                "UPDATE jobs SET state = $1 WHERE id = $2;\n".into(),
            ),
        ];
        let mut options = CheckOptions::new(Engine::Postgres);
        options.parameters = BTreeMap::from([(
            "fail_job".to_string(),
            BTreeMap::from([("1".to_string(), vec!["'failed'".to_string()])]),
        )]);
        let result = check_sources(files, &options);
        let program = result
            .programs
            .iter()
            .find(|program| program.name == "fail_job")
            .expect("fail_job");
        assert_eq!(
            program.statements[0].accesses[0]
                .assignments()
                .and_then(|set| set.get("state")),
            Some(&access::SetValue::Term(access::Term::Literal(
                "'failed'".into()
            )))
        );
        assert_eq!(
            program.declared.get("1").map(String::as_str),
            Some("failed")
        );
        assert!(result.diagnostics.is_empty(), "{:?}", result.diagnostics);
    }

    #[test]
    fn a_parameter_is_mentioned_in_the_forms_query_files_write_it() {
        for sql in [
            "DELETE FROM jobs WHERE status = ANY(%(statuses)s)",
            "DELETE FROM jobs WHERE status = ANY(:statuses)",
            "DELETE FROM jobs WHERE status = ANY(@statuses::text[])",
            "DELETE FROM jobs WHERE status = ANY(sqlc.arg(statuses))",
        ] {
            assert!(mentions_parameter(sql, "statuses"), "{sql}");
        }
        for sql in [
            "DELETE FROM jobs WHERE status = ANY(%(statuses_old)s)",
            "SELECT x::statuses FROM jobs",
            "DELETE FROM jobs WHERE statuses = 1",
        ] {
            assert!(!mentions_parameter(sql, "statuses"), "{sql}");
        }
    }

    #[test]
    fn a_sessions_set_of_the_tidb_mode_is_a_choice_for_its_later_transactions() {
        use semantics::SettingValue;
        let choices = |engine: Engine, sql: &str| {
            let tokens = parse::lexer::tokenize(sql, parse::flavor(engine));
            set_statements::session_choices(sql, &tokens, engine)
        };
        let optimistic = program::SettingChoices::from([(
            "mode".to_string(),
            SettingValue::Text("optimistic".into()),
        )]);
        for sql in [
            "SET tidb_txn_mode = 'optimistic'",
            "SET SESSION tidb_txn_mode = 'Optimistic'",
            "SET LOCAL tidb_txn_mode = 'optimistic'",
            "SET @@tidb_txn_mode = 'optimistic'",
            "set @@SESSION.tidb_txn_mode = \"optimistic\"",
            "SET GLOBAL autocommit = 0, SESSION tidb_txn_mode = 'optimistic'",
        ] {
            assert_eq!(
                choices(Engine::Tidb, sql),
                (optimistic.clone(), vec![]),
                "{sql}"
            );
        }
        for (engine, sql) in [
            (Engine::Tidb, "SET GLOBAL tidb_txn_mode = 'optimistic'"),
            (Engine::Tidb, "SET @@global.tidb_txn_mode = 'optimistic'"),
            (
                Engine::Tidb,
                "SET PERSIST_ONLY tidb_txn_mode = 'optimistic'",
            ),
            (
                Engine::Tidb,
                "SET @@persist_only.tidb_txn_mode = 'optimistic'",
            ),
            (Engine::Tidb, "SET @tidb_txn_mode = 'optimistic'"),
            (Engine::Tidb, "SET tidb_skip_isolation_level_check = 1"),
            (Engine::Mysql, "SET tidb_txn_mode = 'optimistic'"),
        ] {
            assert_eq!(choices(engine, sql), Default::default(), "{sql}");
        }
        let (chosen, warnings) = choices(Engine::Tidb, "SET tidb_txn_mode = 'lazy'");
        assert!(chosen.is_empty());
        assert_eq!(
            warnings,
            ["tidb_txn_mode takes pessimistic, optimistic, not `lazy`: this statement is not read"]
        );
    }

    /// Pair findings kept for the language server are dropped when a migration changes what
    /// the engine's levels do, though no program changed.
    #[test]
    fn a_cached_check_follows_a_migration_that_changes_the_mode() {
        let mut options = CheckOptions::new(Engine::Tidb);
        // Without a rule of the whole graph, which optimistic mode lets through and
        // pessimistic mode does not, the analysis asks for the same rules in both modes.
        options.rules.remove(&Rule::DangerousStructure);
        let withdraw = SourceFile::new(
            "withdraw.sql".into(),
            Role::Transactions,
            "BEGIN; SELECT balance FROM accounts WHERE id = ?;
             UPDATE accounts SET balance = ? WHERE id = ?; COMMIT;"
                .into(),
        );
        let schema = |global: &str| {
            SourceFile::new(
                "migrations/1.sql".into(),
                Role::Schema,
                format!("CREATE TABLE accounts (id int PRIMARY KEY, balance int);\n{global}"),
            )
        };
        let mut cache = CheckCache::default();
        let pessimistic =
            check_sources_cached(vec![schema(""), withdraw.clone()], &options, &mut cache);
        assert_eq!(pessimistic.findings.len(), 1);
        let optimistic = check_sources_cached(
            vec![schema("SET GLOBAL tidb_txn_mode = 'optimistic';"), withdraw],
            &options,
            &mut cache,
        );
        assert!(optimistic.findings.is_empty(), "{:?}", optimistic.findings);
    }

    /// The settings and warnings a check of `migration` with `configured` chosen for `engine`
    /// ends with.
    fn settings_after(
        engine: Engine,
        configured: &[(&str, semantics::SettingValue)],
        migration: &str,
    ) -> CheckResult {
        let mut options = CheckOptions::new(engine);
        for (name, value) in configured {
            options
                .engine_settings
                .set(engine, name, value.clone())
                .unwrap();
        }
        let files = vec![SourceFile::new(
            "migrations/1.sql".into(),
            Role::Schema,
            migration.to_string(),
        )];
        check_sources(files, &options)
    }

    #[test]
    fn only_settings_the_engines_sql_sets_server_wide_are_read_from_migrations() {
        use semantics::SettingValue;
        let chosen = |result: &CheckResult, engine| -> Vec<(String, SettingValue)> {
            result
                .semantics
                .chosen()
                .of(engine)
                .map(|(name, value)| (name.to_string(), value.clone()))
                .collect()
        };
        let tidb = settings_after(
            Engine::Tidb,
            &[],
            "SET tidb_txn_mode = 'optimistic';\nSET @tidb_skip_isolation_level_check = 1;\n\
             SET GLOBAL tidb_skip_isolation_level_check = ON;",
        );
        assert_eq!(
            chosen(&tidb, Engine::Tidb),
            [(
                "skip_isolation_level_check".to_string(),
                SettingValue::Boolean(true)
            )]
        );
        // A YB-TServer flag and a client option: no statement sets them.
        let yugabyte = settings_after(
            Engine::Yugabytedb,
            &[],
            "SET yb_enable_read_committed_isolation = on;",
        );
        assert_eq!(chosen(&yugabyte, Engine::Yugabytedb), []);
        let spanner = settings_after(Engine::Spanner, &[], "SET read_lock_mode = 'pessimistic';");
        assert_eq!(chosen(&spanner, Engine::Spanner), []);
    }

    #[test]
    fn a_migration_setting_that_differs_from_the_config_says_which_is_used() {
        use semantics::SettingValue;
        let result = settings_after(
            Engine::Tidb,
            &[("mode", SettingValue::Text("pessimistic".into()))],
            "CREATE TABLE t (id int PRIMARY KEY);\nSET GLOBAL tidb_txn_mode = 'optimistic';",
        );
        let warnings: Vec<&Diagnostic> = result
            .diagnostics
            .iter()
            .filter(|diagnostic| diagnostic.kind == DiagnosticKind::Warning)
            .collect();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        let warning = warnings[0];
        assert_eq!(warning.file, Some(0));
        assert_eq!(
            &result.files[0].text[warning.range.start..warning.range.end],
            "SET GLOBAL tidb_txn_mode = 'optimistic'"
        );
        assert!(
            warning.message.contains("`mode = \"pessimistic\"`"),
            "{}",
            warning.message
        );
        assert!(
            warning.message.contains("tidb_txn_mode = 'optimistic'"),
            "{}",
            warning.message
        );
        assert!(result.semantics.chosen().of(Engine::Tidb).any(
            |(name, value)| name == "mode" && *value == SettingValue::Text("optimistic".into())
        ));
        // The same value says nothing.
        let agreeing = settings_after(
            Engine::Tidb,
            &[("mode", SettingValue::Text("optimistic".into()))],
            "SET GLOBAL tidb_txn_mode = 'optimistic';",
        );
        assert!(
            agreeing.diagnostics.is_empty(),
            "{:?}",
            agreeing.diagnostics
        );
    }

    const WITHDRAW_FUNCTION: &str = "CREATE TABLE accounts (id bigint PRIMARY KEY, balance \
        bigint NOT NULL);
        CREATE FUNCTION withdraw(p_account bigint, p_amount bigint) RETURNS void
        LANGUAGE plpgsql AS $$
        DECLARE v_balance bigint;
        BEGIN
            SELECT balance INTO v_balance FROM accounts WHERE id = p_account;
            UPDATE accounts SET balance = v_balance - p_amount WHERE id = p_account;
        END;
        $$;";

    /// The level `withdraw` ran at, after asserting it lost an update and that a warning
    /// says `warned`.
    fn withdraw_level(result: &CheckResult, warned: &str) -> (Level, program::LevelSource) {
        let withdraw = result
            .programs
            .iter()
            .find(|program| program.name == "withdraw")
            .expect("a program withdraw");
        assert!(
            result
                .findings
                .iter()
                .any(|finding| finding.rule == Rule::LostUpdate),
            "{:?}",
            result.findings
        );
        assert!(
            result
                .diagnostics
                .iter()
                .any(|diagnostic| diagnostic.kind == DiagnosticKind::Warning
                    && diagnostic.message.contains(warned)),
            "{warned} missing from {:?}",
            result.diagnostics
        );
        (withdraw.level, withdraw.level_source)
    }

    #[test]
    fn a_routine_given_a_level_the_engine_rejects_runs_at_the_default_with_a_warning() {
        let mut options = CheckOptions::new(Engine::Postgres);
        // PostgreSQL has no SNAPSHOT level.
        options.isolation = Some(Level::Snapshot);
        let files = vec![SourceFile::new(
            "migrations/1.sql".into(),
            Role::Schema,
            WITHDRAW_FUNCTION.to_string(),
        )];
        let result = check_sources(files, &options);
        assert_eq!(
            withdraw_level(&result, "PostgreSQL has no SNAPSHOT isolation level"),
            (Level::ReadCommitted, program::LevelSource::EngineDefault)
        );
    }

    #[test]
    fn a_composition_given_a_level_the_engine_rejects_runs_at_the_default_with_a_warning() {
        let mut options = CheckOptions::new(Engine::Tidb);
        options.transactions = vec![compose::Composition {
            name: "withdraw".into(),
            isolation: Some(Level::Serializable),
            steps: ["GetBalance", "SetBalance"]
                .into_iter()
                .map(|name| compose::Step {
                    name: name.into(),
                    span: 0..0,
                })
                .collect(),
            steps_run_alone: Some(Vec::new()),
            atomic: true,
            returns_if_found: Vec::new(),
        }];
        let files = vec![
            SourceFile::new(
                "migrations/1.sql".into(),
                Role::Schema,
                "CREATE TABLE accounts (id bigint PRIMARY KEY, balance bigint NOT NULL);".into(),
            ),
            SourceFile::new(
                "queries.sql".into(),
                Role::Transactions,
                "-- name: GetBalance\nSELECT balance FROM accounts WHERE id = ?;\n\
                 -- name: SetBalance\nUPDATE accounts SET balance = ? WHERE id = ?;\n"
                    .into(),
            ),
        ];
        let result = check_sources(files, &options);
        // TiDB rejects SERIALIZABLE unless tidb_skip_isolation_level_check is set: its default,
        // pessimistic repeatable read, loses the update.
        assert_eq!(
            withdraw_level(
                &result,
                "transaction `withdraw` of isolint.toml: TiDB has no SERIALIZABLE isolation level"
            ),
            (Level::RepeatableRead, program::LevelSource::EngineDefault)
        );
    }
}
