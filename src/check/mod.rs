//! Running a check: the entry points ([`check_sources`] and its variants), the order the
//! stages run in, and the [`CheckCache`] that lets the language server check again after an
//! edit without parsing every file again.
//!
//! Each file's own facts (its schema changes, routines and server settings) are read in
//! `facts`; a transaction file's programs are built in `programs`; what the check says about
//! directives, ignores and the config's `[parameters]` is decided in `warnings`. This module
//! only runs the stages in order: it does no I/O (the files come already read) and presents
//! nothing; the command line, the language server and the reports do.

mod facts;
mod programs;
mod warnings;

use std::collections::{BTreeMap, BTreeSet};

use rayon::prelude::*;

use crate::access;
use crate::analysis;
use crate::catalog::Catalog;
use crate::compose;
use crate::parse;
use crate::program::{self, Program};
use crate::progress;
use crate::routine;
use crate::semantics::{self, Semantics};
use crate::set_statements;
use crate::source::{Role, SourceFile, TextRange};
use crate::{CheckOptions, CheckResult, Diagnostic, DiagnosticKind};
use facts::{FileFacts, build_catalog, build_routines, file_facts};
use programs::{FilePrograms, build_programs};
use warnings::{unused_ignores, unused_parameter_values};

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
    for program in &mut programs {
        program::lock_reads_of_writes(program, engine, semantics);
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check_sources;
    use crate::rule::Rule;
    use crate::semantics::{Engine, Level};

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
