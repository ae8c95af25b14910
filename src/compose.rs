//! Transactions composed from named queries: a config `[[transaction]]` with
//! `steps = ["GetAccount", "UpdateBalance"]` is one program that runs those queries'
//! statements in order, as the application does when it calls them inside one database
//! transaction.
//!
//! A query used twice is two statements with the same parameter names: the usual case is one
//! call site that passes the same arguments (read an account, then write that account), and
//! it is the case where the anomalies are.
//!
//! A program has one file: a composed program's is its first step's, and the statements of
//! steps in that file keep their ranges there. A step from another file cannot point into it,
//! so its statements are placed at the first step's statement (their text, shown in witnesses
//! and messages, is their own); keep a transaction's queries in one file for exact locations.
//!
//! This module builds programs from programs: it reads no files and parses nothing.

use crate::suggest::edit_distance;
use std::collections::BTreeMap;
use std::ops::Range;

use crate::access::Term;
use crate::access::extract::ParameterValues;

use crate::program::{Ignores, LevelSource, Program, ProgramStatement};
use crate::semantics::{Engine, Level, Semantics};
use crate::source::{FileId, TextRange};

/// One `[[transaction]]` of the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composition {
    pub name: String,
    /// The level it runs at; else the configured default, else the engine's.
    pub isolation: Option<Level>,
    pub steps: Vec<Step>,
    /// Which steps' queries also run as transactions of their own: all of them (`None`, the
    /// default), or those listed (`steps_run_alone = false` lists none, `steps_run_alone =
    /// ["UpdateBalance"]` one); the others are dropped as programs.
    pub steps_run_alone: Option<Vec<Step>>,
    /// Whether the steps run in one database transaction (`atomic = false`: each step commits
    /// on its own, and the application passes values from one to the next).
    pub atomic: bool,
    /// Steps after which the application stops when they return a row (get-or-create: it
    /// returns the row found, and inserts only when there is none).
    pub returns_if_found: Vec<Step>,
}

/// A query name in `steps`, with where it is written in the config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub name: String,
    /// Byte range of the step's string in the config file.
    pub span: Range<usize>,
}

/// A step that names no query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownStep {
    pub transaction: String,
    pub step: Step,
    /// The known query name nearest to the step's, if one is close.
    pub suggestion: Option<String>,
}

/// A composition whose level the engine rejects (it is analysed at the engine's default), or
/// whose `[parameters]` cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComposeWarning {
    /// The composed program's file and range (its first step's).
    pub file: FileId,
    pub range: TextRange,
    pub message: String,
}

/// What composing gives besides the programs.
#[derive(Debug, Default)]
pub struct Composed {
    /// Steps that name no query.
    pub unknown_steps: Vec<UnknownStep>,
    pub warnings: Vec<ComposeWarning>,
}

/// Adds one program per composition to `programs`, built from the programs its steps name
/// (the first of that name, in file order). Steps that name no program are returned; a
/// composition with one is left out. A composition that declares no level runs at
/// `configured` (already the level the engine runs), else the engine's default; one that
/// declares a level the engine rejects runs at the engine's default, with a warning (the CLI
/// rejects such a config).
pub fn compose(
    programs: &mut Vec<Program>,
    compositions: &[Composition],
    engine: Engine,
    semantics: &Semantics,
    configured: Option<Level>,
    parameters: &BTreeMap<String, ParameterValues>,
) -> Composed {
    let mut unknown = Vec::new();
    let mut warnings = Vec::new();
    let mut composed = Vec::new();
    for composition in compositions {
        let found: Vec<Option<&Program>> = composition
            .steps
            .iter()
            .map(|step| programs.iter().find(|program| program.name == step.name))
            .collect();
        let mut complete = true;
        for (step, program) in composition.steps.iter().zip(&found) {
            if program.is_none() {
                complete = false;
                unknown.push(UnknownStep {
                    transaction: composition.name.clone(),
                    step: step.clone(),
                    suggestion: closest(&step.name, programs),
                });
            }
        }
        let steps: Vec<&Program> = found.into_iter().flatten().collect();
        let Some(first) = steps.first().filter(|_| complete) else {
            continue;
        };
        let separate = !composition.atomic && steps.len() > 1;
        let (level, level_source) = match composition.isolation {
            // Nothing isolates one step from the next: each sees what committed before it, as
            // the statements of one READ COMMITTED transaction do.
            _ if separate => {
                let level = semantics
                    .resolve(engine, Level::ReadCommitted)
                    .unwrap_or_else(|| semantics.default_level(engine));
                if level != Level::ReadCommitted {
                    warnings.push(ComposeWarning {
                        file: first.file,
                        range: first.range,
                        message: format!(
                            "transaction `{}` of isolint.toml: its steps commit separately and \
                             are analysed as one READ COMMITTED transaction, which {} runs as \
                             {}; races between the steps may be missed",
                            composition.name,
                            semantics.display(engine),
                            level.sql()
                        ),
                    });
                }
                (level, LevelSource::Configured)
            }
            Some(level) => match semantics.effective_level(engine, level) {
                (level, None) => (level, LevelSource::Declared),
                (level, Some(warning)) => {
                    warnings.push(ComposeWarning {
                        file: first.file,
                        range: first.range,
                        message: format!(
                            "transaction `{}` of isolint.toml: {warning}",
                            composition.name
                        ),
                    });
                    (level, LevelSource::EngineDefault)
                }
            },
            None => match configured {
                Some(level) => (level, LevelSource::Configured),
                None => (semantics.default_level(engine), LevelSource::EngineDefault),
            },
        };
        let mut ignores = Ignores::new();
        let mut statements: Vec<ProgramStatement> = Vec::new();
        let mut step_ends = Vec::new();
        // The steps' own declared values, under the names their parameters take here.
        let mut declared: BTreeMap<String, String> = BTreeMap::new();
        // Each query numbers its positional parameters from 1: of several queries, one's `$1`
        // is not another's. A query used twice keeps its own, the same call's arguments.
        let several = steps.iter().any(|step| step.name != first.name);
        for step in &steps {
            for (name, value) in &step.declared {
                let named = if several && name.bytes().all(|b| b.is_ascii_digit()) {
                    crate::program::positional_name(&step.name, &format!("${name}"))
                } else {
                    name.clone()
                };
                declared.insert(named, value.clone());
            }
            if separate && !statements.is_empty() {
                step_ends.push(statements.len() - 1);
            }
            // A check the transaction goes on past only when it found nothing, before anything
            // was written: when it found a row, the run ends having only read.
            let returns = composition
                .returns_if_found
                .iter()
                .any(|returning| returning.name == step.name)
                && statements
                    .iter()
                    .all(|earlier| earlier.accesses.iter().all(|access| !access.is_write()));
            let same_file = step.file == first.file;
            if same_file {
                for (rule, range) in &step.ignores {
                    ignores.entry(rule.clone()).or_insert(*range);
                }
            }
            statements.extend(step.statements.iter().cloned().map(|mut statement| {
                // Ranges in another file would point at the wrong text of this one.
                if !same_file {
                    statement.ignores.clear();
                    statement.written_at = Some((step.file, statement.range));
                    statement.range = first.range;
                }
                if several {
                    statement.scope_positional(&step.name);
                }
                if returns {
                    crate::access::mark_must_miss(&mut statement.accesses);
                    statement.returns_if_found = true;
                }
                statement
            }));
        }
        if let Some(values) = parameters.get(&composition.name) {
            let message = |text: String| ComposeWarning {
                file: first.file,
                range: first.range,
                message: format!("isolint.toml: `[parameters.{}]` {text}", composition.name),
            };
            for (name, texts) in values {
                let literal = match texts.as_slice() {
                    [text] => crate::access::extract::literal_term(text),
                    _ => None,
                };
                let Some(literal) = literal else {
                    warnings.push(message(format!(
                        "gives `{name}` {} values: a transaction passes one value to a step's \
                         parameter (a list of what callers pass goes under the query's own \
                         `[parameters]`); not used",
                        texts.len()
                    )));
                    continue;
                };
                let bound = bind_parameter(&mut statements, name, &literal);
                for parameter in &bound {
                    declared.insert(
                        parameter.clone(),
                        literal.render().trim_matches('\'').to_string(),
                    );
                }
                if bound.is_empty() {
                    warnings.push(message(format!(
                        "names `{name}`, which no step of `{}` takes (a step's positional \
                         parameter is written `query.1`); not used",
                        composition.name
                    )));
                }
            }
        }
        let mut accesses: Vec<_> = statements
            .iter_mut()
            .map(|statement| std::mem::take(&mut statement.accesses))
            .collect();
        crate::access::pin_picked_rows(&mut accesses);
        for (statement, accesses) in statements.iter_mut().zip(accesses) {
            statement.accesses = accesses;
        }
        composed.push(Program {
            name: composition.name.clone(),
            kind: crate::program::ProgramKind::Script,
            file: first.file,
            range: first.range,
            level,
            level_source,
            semantics: None,
            statements,
            ignores,
            examples: Vec::new(),
            step_ends,
            declared,
        });
    }
    // Queries that run only inside their transactions are not programs of their own.
    let inside_only: std::collections::BTreeSet<&str> = compositions
        .iter()
        .filter_map(|composition| {
            let alone = composition.steps_run_alone.as_ref()?;
            Some(
                composition
                    .steps
                    .iter()
                    .filter(|step| !alone.iter().any(|also| also.name == step.name))
                    .map(|step| step.name.as_str()),
            )
        })
        .flatten()
        .collect();
    programs.retain(|program| !inside_only.contains(program.name.as_str()));
    programs.extend(composed);
    Composed {
        unknown_steps: unknown,
        warnings,
    }
}

/// Gives the parameter `name` (as `[parameters]` writes it: `id`, or `query.1` for a step's
/// `$1`) the value `literal` in every access; the names the accesses gave it.
fn bind_parameter(
    statements: &mut [ProgramStatement],
    name: &str,
    literal: &Term,
) -> std::collections::BTreeSet<String> {
    let written = |parameter: &str| {
        let (query, own) = match parameter.rsplit_once('.') {
            Some((query, own)) => (Some(query), own),
            None => (None, parameter),
        };
        let own = own.trim_start_matches([':', '@', '$']);
        match query {
            Some(query) => format!("{query}.{own}"),
            None => own.to_string(),
        }
    };
    let mut bound = std::collections::BTreeSet::new();
    for access in statements.iter_mut().flat_map(|s| s.accesses.iter_mut()) {
        access.bind(&mut |parameter| {
            if written(parameter) == name {
                bound.insert(parameter.to_string());
                literal.clone()
            } else {
                Term::Param(parameter.to_string())
            }
        });
    }
    bound
}

/// The program name nearest to `wrong`, when it is at most a third of its length away.
fn closest(wrong: &str, programs: &[Program]) -> Option<String> {
    let wrong_lower = wrong.to_lowercase();
    programs
        .iter()
        .map(|program| {
            let distance = edit_distance(&wrong_lower, &program.name.to_lowercase());
            (distance, &program.name)
        })
        .filter(|(distance, name)| *distance <= (name.chars().count() / 3).max(2))
        .min()
        .map(|(_, name)| name.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{Role, SourceFile};
    use crate::{CheckOptions, check_sources};

    const SCHEMA: &str = "CREATE TABLE accounts (id int PRIMARY KEY, balance int);";
    const QUERIES: &str = "-- name: GetAccount :one\n\
        SELECT balance FROM accounts WHERE id = @id;\n\
        -- name: UpdateBalance :exec\n\
        UPDATE accounts SET balance = @balance WHERE id = @id;\n";

    fn step(name: &str) -> Step {
        Step {
            name: name.into(),
            span: 0..0,
        }
    }

    fn check(steps: &[&str]) -> crate::CheckResult {
        check_composed(steps, true)
    }

    fn check_composed(steps: &[&str], steps_run_alone: bool) -> crate::CheckResult {
        let files = vec![
            SourceFile::new("migrations/1.sql".into(), Role::Schema, SCHEMA.into()),
            SourceFile::new("queries.sql".into(), Role::Transactions, QUERIES.into()),
        ];
        let mut options = CheckOptions::new(Engine::Postgres);
        options.transactions = vec![Composition {
            name: "withdraw".into(),
            isolation: None,
            steps: steps.iter().map(|name| step(name)).collect(),
            steps_run_alone: (!steps_run_alone).then(Vec::new),
            atomic: true,
            returns_if_found: Vec::new(),
        }];
        check_sources(files, &options)
    }

    /// `$1` of one query and `$1` of another are different values; a transaction's
    /// `[parameters]` fix a step's, named `query.1`.
    #[test]
    fn positional_parameters_belong_to_their_query() {
        let queries = "-- name: GetAccount :one\n\
            SELECT balance FROM accounts WHERE id = $1;\n\
            -- name: SetBalance :exec\n\
            UPDATE accounts SET balance = $1 WHERE id = $2;\n\
            -- name: Audit :exec\n\
            UPDATE accounts SET balance = balance WHERE id = $1;\n";
        let files = vec![
            SourceFile::new("migrations/1.sql".into(), Role::Schema, SCHEMA.into()),
            SourceFile::new("queries.sql".into(), Role::Transactions, queries.into()),
        ];
        let mut options = CheckOptions::new(Engine::Postgres);
        options.transactions = vec![Composition {
            name: "reset".into(),
            isolation: None,
            steps: vec![step("GetAccount"), step("SetBalance")],
            steps_run_alone: Some(vec![step("SetBalance")]),
            atomic: true,
            returns_if_found: Vec::new(),
        }];
        options.parameters = BTreeMap::from([(
            "reset".to_string(),
            BTreeMap::from([
                ("SetBalance.1".to_string(), vec!["0".to_string()]),
                ("SetBalance.7".to_string(), vec!["1".to_string()]),
            ]),
        )]);
        let result = check_sources(files, &options);
        let reset = result
            .programs
            .iter()
            .find(|program| program.name == "reset")
            .expect("composed");
        let read = &reset.statements[0].accesses[0];
        let write = &reset.statements[1].accesses[0];
        assert_eq!(
            read.rows.pins.get("id"),
            Some(&Term::Param("GetAccount.$1".into()))
        );
        assert_eq!(
            write.rows.pins.get("id"),
            Some(&Term::Param("SetBalance.$2".into()))
        );
        assert_eq!(
            write.assignments().and_then(|set| set.get("balance")),
            Some(&crate::access::SetValue::Term(Term::Literal("0".into())))
        );
        assert_eq!(
            reset.declared.get("SetBalance.$1").map(String::as_str),
            Some("0")
        );
        let names: Vec<&str> = result.programs.iter().map(|p| p.name.as_str()).collect();
        assert!(
            !names.contains(&"GetAccount"),
            "runs only inside reset: {names:?}"
        );
        assert!(names.contains(&"SetBalance"), "runs alone too: {names:?}");
        assert!(
            result.diagnostics.iter().any(|d| d
                .message
                .contains("`[parameters.reset]` names `SetBalance.7`, which no step")),
            "{:?}",
            result.diagnostics
        );
    }

    #[test]
    fn composed_queries_are_one_transaction_with_its_anomalies() {
        let result = check(&["GetAccount", "UpdateBalance"]);
        let withdraw = result
            .programs
            .iter()
            .find(|program| program.name == "withdraw")
            .unwrap();
        assert_eq!(withdraw.statements.len(), 2);
        let names: Vec<Vec<&str>> = result
            .findings
            .iter()
            .map(|finding| {
                finding
                    .programs
                    .iter()
                    .map(|&p| result.programs[p].name.as_str())
                    .collect()
            })
            .collect();
        assert!(
            result
                .findings
                .iter()
                .any(|finding| finding.rule.id() == "lost-update"),
            "{names:?}"
        );
        assert!(result.unknown_steps.is_empty());
    }

    #[test]
    fn steps_that_run_only_inside_the_transaction_are_no_programs_of_their_own() {
        let names = |result: &crate::CheckResult| -> Vec<String> {
            result.programs.iter().map(|p| p.name.clone()).collect()
        };
        let alone = check_composed(&["GetAccount", "UpdateBalance"], true);
        assert_eq!(names(&alone), ["GetAccount", "UpdateBalance", "withdraw"]);
        let inside = check_composed(&["GetAccount", "UpdateBalance"], false);
        assert_eq!(names(&inside), ["withdraw"]);
        assert_eq!(
            inside.findings.len(),
            1,
            "withdraw's lost update, against itself"
        );
        assert_eq!(inside.findings[0].programs.len(), 1);
    }

    #[test]
    fn a_query_used_twice_is_two_statements() {
        let result = check(&["GetAccount", "GetAccount", "UpdateBalance"]);
        let withdraw = result
            .programs
            .iter()
            .find(|p| p.name == "withdraw")
            .unwrap();
        assert_eq!(withdraw.statements.len(), 3);
        assert_eq!(withdraw.statements[0].range, withdraw.statements[1].range);
    }

    #[test]
    fn unknown_steps_are_reported_with_the_nearest_name() {
        let result = check(&["GetAcount", "UpdateBalance"]);
        assert_eq!(
            result.unknown_steps,
            [UnknownStep {
                transaction: "withdraw".into(),
                step: step("GetAcount"),
                suggestion: Some("GetAccount".into()),
            }]
        );
        assert!(result.programs.iter().all(|p| p.name != "withdraw"));
    }
}
