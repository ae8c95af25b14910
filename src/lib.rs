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
pub mod settings;
pub mod source;
pub mod suggest;

use std::collections::{BTreeMap, BTreeSet};

use rayon::prelude::*;

use analysis::finding::Finding;
use catalog::Catalog;
use parse::directives::Directive;
use parse::{ParsedFile, RawStatement};
use program::{Program, StatementFacts, StatementKind};
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
    let engine = options.engine;
    if cache.options.as_ref() != Some(options) {
        *cache = CheckCache {
            options: Some(options.clone()),
            one_shot: cache.one_shot,
            pairs: analysis::PairCache::new(cache.one_shot),
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
    // Settings the migrations make win over the config's: they say what the server runs.
    let mut settings = options.engine_settings.clone();
    for (file, file_facts) in files.iter().zip(&facts) {
        if file.role == Role::Schema
            && let Some(file_facts) = file_facts
        {
            for (name, value) in &file_facts.settings {
                // Invariant: `file_facts` kept only settings of this engine and values they
                // take.
                let _ = settings.set(engine, name, value.clone());
            }
        }
    }
    let semantics = Semantics::configured(&settings);
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
            let programs = build_programs(file, index, parsed, &guessed, options, semantics);
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
            let programs =
                build_programs(&files[index], index, parsed, &catalog, options, semantics);
            (index, programs)
        })
        .collect();
    for (index, programs) in rebuilt {
        built[index] = Some(programs);
    }
    let mut diagnostics = Vec::new();
    let mut programs = Vec::new();
    let mut entries = std::collections::HashMap::new();
    let mut statements = 0;
    let mut parse_errors = 0;
    for (index, ((file, facts), built)) in files.iter().zip(facts).zip(built).enumerate() {
        let (file_programs, program_diagnostics) = match built {
            Some(built) => built,
            None => cache
                .files
                .remove(&file.path)
                .map(|entry| (entry.programs, entry.program_diagnostics))
                .unwrap_or_default(),
        };
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
        programs.extend(file_programs.iter().cloned().map(placed));
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
    // The level of programs that declare none, as the engine runs it.
    let configured = options
        .isolation
        .map(|level| semantics.resolve(engine, level).unwrap_or(level));
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
    let unknown_steps = compose::compose(
        &mut programs,
        &options.transactions,
        engine,
        semantics,
        configured,
    );
    let context = analysis::Context {
        programs: &programs,
        catalog: &catalog,
        semantics,
        engine,
    };
    let analysis = analysis::analyse_cached(&context, &options.rules, &mut cache.pairs, progress);
    let findings = analysis.findings;
    for (table, programs) in &analysis.skipped_tables {
        diagnostics.push(Diagnostic {
            kind: DiagnosticKind::Limit,
            file: None,
            range: TextRange::default(),
            message: format!(
                "table `{table}` is used by {programs} transactions, too many to compare every \
                 pair, so its conflicts were not checked; exclude data-loading files in \
                 isolint.toml or check fewer files at once"
            ),
        });
    }
    diagnostics.extend(unused_ignores(
        &programs,
        &analysis.used_ignores,
        &options.rules,
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
/// checks after every edit): each file's parse results and programs, by path and text, and the
/// pair findings of unchanged programs. Everything is dropped when the options change;
/// programs also when the catalog does.
#[derive(Default)]
pub struct CheckCache {
    options: Option<CheckOptions>,
    /// The engine settings the cached programs were built with: the options' and the
    /// migrations'.
    settings: Option<semantics::EngineSettings>,
    catalog: Option<Catalog>,
    files: std::collections::HashMap<std::path::PathBuf, CachedFile>,
    pairs: analysis::PairCache,
    /// Nothing is kept: the check runs once, so copies for a next one would be waste.
    one_shot: bool,
}

impl CheckCache {
    /// A cache for a single check, which keeps nothing.
    pub fn one_shot() -> CheckCache {
        CheckCache {
            one_shot: true,
            pairs: analysis::PairCache::new(true),
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
    /// The engine's settings a schema file sets (`SET CLUSTER SETTING ...`, `SET GLOBAL ...`),
    /// in order: the setting's name in `isolint.toml` and its value.
    settings: Vec<(String, semantics::SettingValue)>,
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
        // A migration that sets one of the engine's settings describes the server the
        // transactions run on; a transaction file's `SET` is a session's, and not read.
        if file.role == Role::Schema
            && let Some((variable, value)) = setting_assignment(&file.text, &statement.tokens)
            && let Some((name, setting)) = Semantics::embedded()
                .settings(engine)
                .iter()
                .find(|(_, setting)| setting.variable.eq_ignore_ascii_case(&variable))
        {
            match setting_value(setting, &value) {
                Some(value) => facts.settings.push((name.clone(), value)),
                None => facts.diagnostics.push(Diagnostic {
                    kind: DiagnosticKind::Warning,
                    file: None,
                    range: statement.range,
                    message: format!(
                        "{} takes {}, not `{value}`: this statement is not read",
                        setting.variable,
                        setting
                            .accepted()
                            .iter()
                            .map(semantics::SettingValue::key)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                }),
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

/// `SET [GLOBAL | SESSION] name = value`, `SET @@GLOBAL.name = value`, `SET name TO value`
/// and CockroachDB's `SET CLUSTER SETTING name = value`: the variable's name and its value,
/// unquoted and in lower case.
fn setting_assignment(text: &str, tokens: &[parse::lexer::Token]) -> Option<(String, String)> {
    use parse::lexer::TokenKind;
    let words: Vec<&str> = tokens
        .iter()
        .filter(|token| !matches!(token.kind, TokenKind::Comment | TokenKind::Semicolon))
        .map(|token| token.text(text))
        .collect();
    let (first, mut rest) = words.split_first()?;
    if !first.eq_ignore_ascii_case("set") {
        return None;
    }
    for scope in [
        &["cluster", "setting"][..],
        &["global"],
        &["session"],
        &["persist"],
    ] {
        if rest.len() > scope.len()
            && rest
                .iter()
                .zip(scope)
                .all(|(word, expected)| word.eq_ignore_ascii_case(expected))
        {
            rest = &rest[scope.len()..];
            break;
        }
    }
    let split = rest
        .iter()
        .position(|word| *word == "=" || word.eq_ignore_ascii_case("to"))?;
    let name: String = rest[..split].concat().to_ascii_lowercase();
    let name = name.trim_start_matches('@');
    let name = name
        .strip_prefix("global.")
        .or_else(|| name.strip_prefix("session."))
        .unwrap_or(name);
    let value: String = rest[split + 1..].concat();
    let value = value
        .trim_matches(|c| c == '\'' || c == '"')
        .to_ascii_lowercase();
    (!name.is_empty() && !value.is_empty()).then(|| (name.to_string(), value))
}

/// A `SET` statement's value as the setting takes it: `on`, `1` and `true` for a boolean.
fn setting_value(setting: &semantics::SettingSpec, value: &str) -> Option<semantics::SettingValue> {
    use semantics::SettingValue;
    let value = match (&setting.default, value) {
        (SettingValue::Boolean(_), "true" | "on" | "1" | "yes") => SettingValue::Boolean(true),
        (SettingValue::Boolean(_), "false" | "off" | "0" | "no") => SettingValue::Boolean(false),
        (SettingValue::Boolean(_), _) => return None,
        (SettingValue::Text(_), text) => SettingValue::Text(text.to_string()),
    };
    setting.accepted().contains(&value).then_some(value)
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
) -> FilePrograms {
    let facts: Vec<StatementFacts> = parsed
        .statements
        .into_iter()
        .map(|statement| {
            statement_facts(
                &file.text,
                statement,
                catalog,
                options.engine == Engine::Sqlserver,
            )
        })
        .collect();
    let stem = file
        .path
        .file_stem()
        .map(|stem| stem.to_string_lossy().to_string())
        .unwrap_or_default();
    let line_of = |offset: usize| file.line_col(offset).0;
    let context = program::BuildContext {
        engine: options.engine,
        semantics,
        configured: options.isolation,
        file: file_id,
        file_stem: stem,
        line_of: &line_of,
    };
    let (mut programs, warnings) = program::build(&facts, &context);
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
    is_tsql: bool,
) -> StatementFacts {
    use sqlparser::ast::{Statement, TransactionIsolationLevel, TransactionMode};
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
        && is_tsql;
    let kind = match &statement.parsed {
        _ if tsql_block => StatementKind::Other,
        Ok(asts) => match asts.first() {
            Some(Statement::StartTransaction { modes, .. }) => StatementKind::Begin {
                level: level_of(modes),
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
            "BEGIN" | "START" => StatementKind::Begin { level: None },
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

/// `unused-ignore` warnings: ignore directives for enabled rules that silenced nothing, and
/// directives naming rules that do not exist.
fn unused_ignores(
    programs: &[Program],
    used: &BTreeSet<(FileId, usize, String)>,
    enabled: &BTreeSet<Rule>,
) -> Vec<Diagnostic> {
    let mut seen = BTreeSet::new();
    let mut diagnostics = Vec::new();
    let every_ignore = programs.iter().flat_map(|program| {
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
            Some(known) if !enabled.contains(&known) => continue,
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

    fn assignment(sql: &str) -> Option<(String, String)> {
        let tokens = parse::lexer::tokenize(sql, parse::flavor(Engine::Mysql));
        setting_assignment(sql, &tokens)
    }

    #[test]
    fn set_statements_name_a_variable_and_a_value() {
        let found = |name: &str, value: &str| Some((name.to_string(), value.to_string()));
        assert_eq!(
            assignment("SET CLUSTER SETTING sql.txn.repeatable_read_isolation.enabled = true;"),
            found("sql.txn.repeatable_read_isolation.enabled", "true")
        );
        assert_eq!(
            assignment("SET GLOBAL tidb_txn_mode = 'Optimistic'"),
            found("tidb_txn_mode", "optimistic")
        );
        assert_eq!(
            assignment("SET @@GLOBAL.tidb_skip_isolation_level_check = 1"),
            found("tidb_skip_isolation_level_check", "1")
        );
        assert_eq!(
            assignment("set yb_enable_read_committed_isolation to on"),
            found("yb_enable_read_committed_isolation", "on")
        );
        assert_eq!(
            assignment("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE"),
            None
        );
        assert_eq!(assignment("SELECT 1"), None);
    }

    #[test]
    fn set_values_are_read_as_the_setting_takes_them() {
        let semantics = Semantics::embedded();
        let mode = &semantics.settings(Engine::Tidb)["mode"];
        assert_eq!(
            setting_value(mode, "optimistic"),
            Some(semantics::SettingValue::Text("optimistic".into()))
        );
        assert_eq!(setting_value(mode, "lazy"), None);
        let skip = &semantics.settings(Engine::Tidb)["skip_isolation_level_check"];
        for on in ["1", "on", "true"] {
            assert_eq!(
                setting_value(skip, on),
                Some(semantics::SettingValue::Boolean(true))
            );
        }
        assert_eq!(
            setting_value(skip, "off"),
            Some(semantics::SettingValue::Boolean(false))
        );
        assert_eq!(setting_value(skip, "maybe"), None);
    }
}
