//! What one file yields on its own, before the catalog is known: its schema changes, its
//! routine and trigger definitions, the server settings a migration sets, and its parse and
//! directive warnings ([`FileFacts`]); and the catalog and routines all files' facts add up to.

use super::warnings::directive_warnings;
use crate::catalog::{self, Catalog};
use crate::parse::{self, ParsedFile};
use crate::program;
use crate::routine;
use crate::semantics::Engine;
use crate::set_statements;
use crate::source::{Role, SourceFile, TextRange};
use crate::{Diagnostic, DiagnosticKind};

/// What one file yields on its own, before the catalog is known.
#[derive(Clone, Default)]
pub(super) struct FileFacts {
    pub(super) statements: usize,
    /// The schema changes its DDL makes, in order.
    pub(super) changes: Vec<catalog::Change>,
    /// Parse errors and directive warnings.
    pub(super) diagnostics: Vec<Diagnostic>,
    /// Statements skipped as unparseable.
    pub(super) parse_errors: usize,
    /// Routine and trigger definitions and drops, in order.
    pub(super) routines: Vec<routine::Found>,
    /// The engine's settings a schema file sets server-wide (`SET CLUSTER SETTING ...`, `SET
    /// GLOBAL ...`), in order.
    pub(super) settings: Vec<set_statements::SettingFound>,
}

/// A file's schema changes and diagnostics. A statement sqlparser rejects is read from tokens
/// when it is DDL, and its diagnostic says so.
pub(super) fn file_facts(file: &SourceFile, parsed: &ParsedFile, engine: Engine) -> FileFacts {
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
pub(super) fn build_catalog(files: &[SourceFile], facts: &[Option<FileFacts>]) -> Catalog {
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
pub(super) fn build_routines(
    files: &[SourceFile],
    found: &[Vec<routine::Found>],
) -> routine::Routines {
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

#[cfg(test)]
mod tests {
    use crate::semantics::{self, Engine};
    use crate::source::{Role, SourceFile};
    use crate::{CheckOptions, CheckResult, Diagnostic, DiagnosticKind, check_sources};

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
}
