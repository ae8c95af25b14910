//! A transaction file's programs: each parsed statement reduced to the facts programs need
//! ([`statement_facts`], where the syntax tree is dropped), the config's `[parameters]` bound
//! into named queries, and the programs built from the facts with the file's ignores.

use crate::access;
use crate::catalog::Catalog;
use crate::one_line;
use crate::parse::directives::Directive;
use crate::parse::{ParsedFile, RawStatement};
use crate::program::{self, Program, StatementFacts, StatementKind};
use crate::semantics::{Engine, Level, Semantics};
use crate::set_statements;
use crate::source::{FileId, SourceFile};
use crate::{CheckOptions, Diagnostic, DiagnosticKind};

/// A transaction file's programs, and the warnings building them gave.
pub(super) type FilePrograms = (Vec<Program>, Vec<Diagnostic>);

pub(super) fn build_programs(
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use crate::access;
    use crate::semantics::Engine;
    use crate::source::{Role, SourceFile};
    use crate::{CheckOptions, check_sources};

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
}
