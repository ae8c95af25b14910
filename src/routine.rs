//! Routines and triggers (PostgreSQL functions, procedures and `CREATE TRIGGER`; MySQL,
//! MariaDB, T-SQL and Oracle stored programs): each is a program of its own, and each call or
//! firing write runs its statements inside the program that makes it.
//!
//! Definitions apply in migration order, like the catalog: the latest `CREATE OR REPLACE`
//! wins, `DROP` removes, overloads differ by argument types. A routine's body is read by
//! [`crate::parse::plpgsql`]; its statements are parsed and reduced to accesses here, with
//! its arguments and variables as parameters. Inlining binds the callee's arguments to the
//! call's terms and a trigger's `NEW.col` / `OLD.col` to the written row's values; recursion
//! and calls deeper than [`MAX_DEPTH`] are cut off with a note. A call's constant arguments
//! (and a written row's constant values) decide the callee's branch conditions where they can
//! ([`crate::access::condition`]): the statements of a branch that cannot run are left out,
//! and the constants are passed on to the calls the callee makes. A PostgreSQL routine's
//! statements also carry a [`crate::program::Replay`], the plain SQL `isolint confirm` runs.
//!
//! Architecture Invariant: like `program`, this module sees no AST once a statement's
//! accesses are taken.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use crate::access::condition::{Condition, Constant, Guard};
use crate::access::{Access, AccessKind, Derived, OnConflict, SetValue, Term, extract};
use crate::catalog::Catalog;
use crate::parse::plpgsql::{self, Body};
use crate::parse::routine::{
    Language, RoutineDefinition, RoutineStatement, TriggerDefinition, TriggerEvent, TriggerTiming,
};
use crate::program::{
    Ignores, LevelSource, Program, ProgramKind, ProgramStatement, ValueGuard, Via, takes_snapshot,
};
use crate::semantics::{Engine, Level, Semantics};
use crate::source::{FileId, SourceFile, TextRange};

/// Calls nested deeper than this are not followed.
pub const MAX_DEPTH: usize = 16;

/// A definition as found in a file, with the rules silenced above it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub statement: RoutineStatement,
    /// The whole `CREATE` statement.
    pub range: TextRange,
    pub ignores: Ignores,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defined<T> {
    pub file: FileId,
    pub range: TextRange,
    pub ignores: Ignores,
    pub definition: T,
}

/// The project's routines and triggers after every file's definitions, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Routines {
    pub functions: Vec<Defined<RoutineDefinition>>,
    pub triggers: Vec<Defined<TriggerDefinition>>,
}

impl Routines {
    pub fn is_empty(&self) -> bool {
        self.functions.is_empty() && self.triggers.is_empty()
    }

    pub fn apply(&mut self, file: FileId, found: &Found) {
        match &found.statement {
            RoutineStatement::Define(definition) => {
                let signature = definition.signature();
                self.functions.retain(|defined| {
                    defined.definition.name != definition.name
                        || defined.definition.signature() != signature
                });
                self.functions.push(Defined {
                    file,
                    range: found.range,
                    ignores: found.ignores.clone(),
                    definition: definition.clone(),
                });
            }
            RoutineStatement::Drop { name, signature } => self.functions.retain(|defined| {
                defined.definition.name != *name
                    || signature
                        .as_ref()
                        .is_some_and(|signature| *signature != defined.definition.signature())
            }),
            RoutineStatement::Trigger(trigger) => {
                self.triggers.retain(|defined| {
                    defined.definition.name != trigger.name
                        || defined.definition.table != trigger.table
                });
                self.triggers.push(Defined {
                    file,
                    range: found.range,
                    ignores: found.ignores.clone(),
                    definition: trigger.clone(),
                });
            }
            RoutineStatement::DropTrigger { name, table } => self.triggers.retain(|defined| {
                defined.definition.name != *name || defined.definition.table != *table
            }),
        }
    }

    /// The routine a call of `name` with `arguments` arguments runs: the overload with that
    /// many arguments, else (defaults or variadic arguments) the first of that name.
    fn resolve(&self, name: &str, arguments: usize) -> Option<usize> {
        let mut candidates = self
            .functions
            .iter()
            .enumerate()
            .filter(|(_, defined)| defined.definition.name == name);
        let first = candidates.next()?;
        std::iter::once(first)
            .chain(candidates)
            .find(|(_, defined)| defined.definition.signature().len() == arguments)
            .or(Some(first))
            .map(|(index, _)| index)
    }
}

/// Something the routines' analysis says about the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub kind: NoteKind,
    pub file: FileId,
    pub range: TextRange,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteKind {
    ParseError,
    /// `EXECUTE` of dynamic SQL.
    UnanalysedDynamicSql,
    /// Recursion, unknown procedures, calls nested too deep, transaction control.
    Warning,
}

/// The programs of the project's routines and triggers, and what building them found.
#[derive(Debug, Default)]
pub struct Built {
    pub programs: Vec<Program>,
    pub notes: Vec<Note>,
    pub statements: usize,
    pub parse_errors: usize,
    /// For each function of [`Routines::functions`], its program in `programs`.
    function_programs: Vec<Option<usize>>,
    /// For each function of [`Routines::functions`], the names its body assigns or declares:
    /// an argument among them does not keep the value the call gives it.
    reassigned: Vec<BTreeSet<String>>,
}

/// Values of a routine's arguments (or a trigger's `NEW.col`) that a call fixes, by the names
/// the routine's statements use.
type Constants = BTreeMap<String, Constant>;

/// A routine body read into program statements.
struct ReadBody {
    statements: Vec<ProgramStatement>,
    /// See [`Built::reassigned`].
    reassigned: BTreeSet<String>,
}

pub struct BuildContext<'a> {
    pub engine: Engine,
    pub semantics: &'a Semantics,
    /// `--isolation` or the config's level, already resolved for the engine.
    pub configured: Option<Level>,
    /// Values of template variables (`:SCHEMA`, `${schema}`) in the SQL.
    pub variables: &'a crate::parse::templates::Variables,
}

/// Builds one program per routine with a body isolint reads (trigger functions excepted) and
/// one per trigger.
pub fn build(
    routines: &Routines,
    files: &[SourceFile],
    catalog: &Catalog,
    context: &BuildContext,
) -> Built {
    let mut built = Built::default();
    let (level, level_source) = match context.configured {
        Some(level) => (level, LevelSource::Configured),
        None => (
            context.semantics.default_level(context.engine),
            LevelSource::EngineDefault,
        ),
    };
    let overloaded: BTreeSet<&str> = {
        let mut seen = BTreeSet::new();
        routines
            .functions
            .iter()
            .map(|defined| defined.definition.name.as_str())
            .filter(|name| !seen.insert(*name))
            .collect()
    };
    let mut bodies: Vec<Option<Vec<ProgramStatement>>> = Vec::new();
    for defined in &routines.functions {
        // A trigger function reads the written row through the records NEW and OLD.
        let records: &[&str] = if defined.definition.returns_trigger {
            &["new", "old"]
        } else {
            &[]
        };
        let read = files.get(defined.file).and_then(|file| {
            body_statements(defined, &file.text, catalog, context, records, &mut built)
        });
        let (statements, reassigned) = match read {
            Some(read) => (Some(read.statements), read.reassigned),
            None => (None, BTreeSet::new()),
        };
        bodies.push(statements);
        built.reassigned.push(reassigned);
    }
    for (defined, statements) in routines.functions.iter().zip(&bodies) {
        let program = match statements {
            Some(statements) if !defined.definition.returns_trigger => {
                let definition = &defined.definition;
                // PostgreSQL runs a STABLE or IMMUTABLE function's body on the snapshot of the
                // statement that calls it, and forbids it to write: called on its own, its
                // reads all see one snapshot, as at REPEATABLE READ.
                let (level, level_source) = if definition.stable
                    && context.engine == Engine::Postgres
                    && level < Level::RepeatableRead
                {
                    (Level::RepeatableRead, LevelSource::StableFunction)
                } else {
                    (level, level_source)
                };
                let name = if overloaded.contains(definition.name.as_str()) {
                    format!("{}({})", definition.name, definition.signature().join(", "))
                } else {
                    definition.name.clone()
                };
                built.programs.push(Program {
                    name,
                    kind: ProgramKind::Routine,
                    file: defined.file,
                    range: definition.name_range,
                    level,
                    level_source,
                    semantics: None,
                    statements: statements.clone(),
                    ignores: defined.ignores.clone(),
                    examples: Vec::new(),
                    step_ends: Vec::new(),
                    declared: BTreeMap::new(),
                });
                Some(built.programs.len() - 1)
            }
            _ => None,
        };
        built.function_programs.push(program);
    }
    for program in &mut built.programs {
        drop_table_function_reads(&mut program.statements, routines);
    }
    for trigger in &routines.triggers {
        let Some(function) = routines.resolve(&trigger.definition.function, 0) else {
            continue;
        };
        let Some(statements) = bodies[function].clone() else {
            continue;
        };
        built.programs.push(Program {
            name: trigger.definition.name.clone(),
            kind: ProgramKind::Trigger,
            file: trigger.file,
            range: trigger.definition.name_range,
            level,
            level_source,
            semantics: None,
            statements,
            ignores: trigger.ignores.clone(),
            examples: Vec::new(),
            step_ends: Vec::new(),
            declared: BTreeMap::new(),
        });
    }
    built
}

/// A routine body's statements as program statements, with its arguments and variables as
/// parameters; `None` for a body isolint cannot read (another language, no body).
fn body_statements(
    defined: &Defined<RoutineDefinition>,
    text: &str,
    catalog: &Catalog,
    context: &BuildContext,
    records: &[&str],
    built: &mut Built,
) -> Option<ReadBody> {
    let definition = &defined.definition;
    let body_range = definition.body?;
    let text: Cow<str> = if definition.body_single_quoted {
        // `''` stands for one quote: ` '` keeps every offset.
        let mut owned = text.to_string();
        let inner = text[body_range.start..body_range.end].replace("''", " '");
        owned.replace_range(body_range.start..body_range.end, &inner);
        Cow::Owned(owned)
    } else {
        Cow::Borrowed(text)
    };
    let body: Body = match definition.language {
        Language::Plpgsql => plpgsql::read_plpgsql_body(&text, body_range),
        Language::Sql => plpgsql::read_sql_body(&text, body_range),
        Language::Mysql => plpgsql::read_mysql_body(&text, body_range),
        Language::Tsql => plpgsql::read_tsql_body(&text, body_range),
        Language::Plsql => plpgsql::read_plsql_body(&text, body_range),
        Language::Other => return None,
    };
    let mut variables: BTreeMap<String, String> = BTreeMap::new();
    for (position, argument) in definition.arguments.iter().enumerate() {
        let name = argument_name(position, argument);
        variables.insert(format!("${}", position + 1), name.clone());
        variables.insert(name.clone(), name);
    }
    for variable in body
        .variables
        .iter()
        .map(String::as_str)
        .chain(records.iter().copied())
    {
        variables.insert(variable.to_string(), variable.to_string());
    }
    // PL/pgSQL also names an argument through its function: `add_job.identifier`.
    let routine_prefix = format!(
        "{}.",
        definition.name.rsplit('.').next().unwrap_or_default()
    );
    let known = |name: &str| {
        variables
            .get(name.strip_prefix(&routine_prefix).unwrap_or(name))
            .cloned()
    };
    let conditions: Vec<Condition> = body
        .conditions
        .iter()
        .map(|condition| {
            let raw = crate::parse::parse_body_statement(
                &text,
                condition,
                context.engine,
                context.variables,
            );
            match raw.parsed {
                Ok(mut asts) if asts.len() == 1 => {
                    extract::bind_variables(&mut asts[0], &known);
                    extract::condition(&asts[0])
                }
                _ => Condition::Unknown,
            }
        })
        .collect();
    // An argument starts with the caller's value, which is not fresh.
    let arguments: BTreeSet<String> = definition
        .arguments
        .iter()
        .enumerate()
        .map(|(position, argument)| argument_name(position, argument).to_ascii_lowercase())
        .collect();
    let fresh: BTreeSet<String> = body
        .fresh
        .iter()
        .filter(|name| !arguments.contains(*name))
        .map(|name| known(name).unwrap_or_else(|| name.clone()))
        .collect();
    let mut reassigned: BTreeSet<String> = body
        .assigned
        .iter()
        .chain(&body.variables)
        .map(|name| known(name).unwrap_or_else(|| name.clone()))
        .collect();
    if let Some(first) = body.dynamic.first() {
        built.notes.push(Note {
            kind: NoteKind::UnanalysedDynamicSql,
            file: defined.file,
            range: *first,
            message: format!(
                "`{}` runs dynamic SQL (EXECUTE) that isolint cannot analyse{}; its accesses \
                 are not checked",
                definition.name,
                match body.dynamic.len() {
                    1 => String::new(),
                    more => format!(" in {more} places"),
                }
            ),
        });
    }
    if let Some(first) = body.transaction_control.first() {
        built.notes.push(Note {
            kind: NoteKind::Warning,
            file: defined.file,
            range: *first,
            message: format!(
                "`{}` commits or rolls back inside its body; isolint analyses it as one \
                 transaction",
                definition.name
            ),
        });
    }
    let mut statements = Vec::new();
    // Variables a lookup assigned a value computed from the rows it read, with the lookup.
    let mut derived: Vec<(String, Derived, &plpgsql::BodyStatement)> = Vec::new();
    for body_statement in &body.statements {
        built.statements += 1;
        let raw = crate::parse::parse_body_statement(
            &text,
            body_statement,
            context.engine,
            context.variables,
        );
        let asts = match raw.parsed {
            Ok(asts) => asts,
            Err(error) => {
                built.parse_errors += 1;
                built.notes.push(Note {
                    kind: NoteKind::ParseError,
                    file: defined.file,
                    range: TextRange::new(error.offset, error.offset.max(raw.range.end)),
                    message: format!(
                        "statement of `{}` skipped: {}",
                        definition.name, error.message
                    ),
                });
                continue;
            }
        };
        let mut accesses = Vec::new();
        let mut calls = Vec::new();
        let mut from_tables = None;
        let mut joins = Vec::new();
        for mut ast in asts {
            if !extract::is_data_statement(&ast) {
                continue;
            }
            extract::bind_variables(&mut ast, &known);
            from_tables = extract::from_tables(&ast);
            let (found, joined) = extract::accesses_and_joins(&ast, &raw.locks, catalog);
            let outputs = extract::derived_outputs(&ast, &found);
            if outputs.len() == body_statement.targets.len() {
                for (target, output) in body_statement.targets.iter().zip(outputs) {
                    if let Some(output) = output {
                        let name = known(target).unwrap_or_else(|| target.clone());
                        derived.push((name, output, body_statement));
                    }
                }
            }
            joins.extend(joined.into_iter().map(|join| extract::Join {
                left: (join.left.0 + accesses.len(), join.left.1),
                right: (join.right.0 + accesses.len(), join.right.1),
                both_ways: join.both_ways,
            }));
            accesses.extend(found);
            calls.extend(extract::calls(&ast));
        }
        if body_statement.must_find {
            mark_must_find(&mut accesses, from_tables.as_deref(), catalog);
        }
        if body_statement.must_miss {
            crate::access::mark_must_miss(&mut accesses);
        }
        // `PERFORM ...; IF FOUND THEN RETURN; END IF;` before anything is written: the routine
        // writes only when the check found nothing.
        let returns_if_found = body_statement.returns_if_found
            && !body_statement.must_miss
            && !body
                .dynamic
                .iter()
                .any(|range| range.start < body_statement.range.start)
            && statements.iter().all(|earlier: &ProgramStatement| {
                earlier.calls.is_empty() && earlier.accesses.iter().all(|a| !a.is_write())
            });
        if returns_if_found {
            crate::access::mark_must_miss(&mut accesses);
            // `INSERT ... VALUES ... ON CONFLICT DO NOTHING RETURNING id INTO v; IF v IS NULL
            // THEN RETURN`: the routine goes on only when the check of the key found no row.
            if let [
                Access {
                    kind:
                        AccessKind::Read {
                            arbiter: Some(_),
                            must_miss,
                            ..
                        },
                    ..
                },
                Access {
                    kind:
                        AccessKind::Insert {
                            on_conflict: crate::access::OnConflict::DoNothing,
                            ..
                        },
                    ..
                },
            ] = accesses.as_mut_slice()
            {
                *must_miss = true;
            }
        }
        // Only where every read is a table of its FROM: a subquery's select list feeds the
        // statement's own WHERE.
        let from_only = from_tables
            .as_deref()
            .is_some_and(|tables| tables.len() == accesses.len());
        if body_statement.unused_into && from_only {
            forget_values(&mut accesses);
        }
        pin_found_row_to_targets(&mut accesses, &body_statement.into, &known, catalog);
        insert_derived_values(&mut accesses, body_statement, &derived, &body, &known);
        pin_joined_columns(&mut accesses, &joins);
        mark_fresh_values(&mut accesses, &fresh, catalog);
        if accesses.is_empty() && calls.is_empty() {
            continue;
        }
        // A procedure may assign the variables it is given (INOUT, OUTPUT).
        for call in calls.iter().filter(|call| call.procedure) {
            for argument in call.arguments.iter().flatten() {
                if let Term::Param(name) = argument {
                    reassigned.insert(name.clone());
                }
            }
        }
        let guards = body_statement
            .branches
            .iter()
            .filter_map(|branch| {
                let condition = conditions.get(branch.condition)?;
                (*condition != Condition::Unknown).then(|| Guard {
                    condition: condition.clone(),
                    holds: branch.holds,
                })
            })
            .collect();
        let arms = body_statement
            .branches
            .iter()
            .filter(|branch| !body.repeated.contains(&branch.condition))
            .copied()
            .collect();
        let value_guards = value_guards(
            (&body, body_statement),
            &conditions,
            &statements,
            defined.file,
            &known,
            catalog,
        );
        statements.push(ProgramStatement {
            range: body_statement.range,
            text: crate::one_line(&format!(
                "{}{}",
                body_statement.prefix,
                blanked(&text, body_statement)
            )),
            takes_snapshot: takes_snapshot(&accesses),
            accesses,
            ignores: Ignores::new(),
            calls,
            via: None,
            replay: matches!(definition.language, Language::Plpgsql | Language::Sql).then(|| {
                replay(
                    &text,
                    body_statement,
                    &|name| variables.get(name).cloned(),
                    definition,
                    &body.types,
                )
            }),
            guards,
            arms,
            certain: body_statement.certain,
            returns_if_found,
            raises_unless_found: body_statement.must_find,
            value_guards,
            positional_of: None,
            written_at: None,
        });
    }
    pin_picked_rows(&mut statements);
    Some(ReadBody {
        statements,
        reassigned,
    })
}

/// `SELECT coalesce(max(seq), 0) + 1 INTO v FROM lines WHERE parent = p; INSERT INTO lines
/// VALUES (p, v)`: a column an INSERT fills with a variable holds the value computed from the
/// rows the last lookup that assigned it read, if that lookup runs once per call
/// ([`plpgsql::BodyStatement::certain`]) and nothing assigned the variable since.
fn insert_derived_values(
    accesses: &mut [Access],
    statement: &plpgsql::BodyStatement,
    derived: &[(String, Derived, &plpgsql::BodyStatement)],
    body: &Body,
    known: &dyn Fn(&str) -> Option<String>,
) {
    for access in accesses {
        if !matches!(access.kind, AccessKind::Insert { .. }) {
            continue;
        }
        for (column, term) in &access.rows.pins {
            let Term::Param(variable) = term else {
                continue;
            };
            let Some((_, value, lookup)) = derived.iter().rfind(|(name, _, lookup)| {
                name == variable && lookup.range.end <= statement.range.start
            }) else {
                continue;
            };
            let assigned_between = body.assignments.iter().any(|(name, at)| {
                (lookup.range.end..statement.range.start).contains(at)
                    && known(name).as_deref().unwrap_or(name) == variable
            });
            if lookup.certain && !assigned_between {
                access.rows.derived.insert(column.clone(), value.clone());
            }
        }
    }
}

/// What the lookups before `statement` found, as far as the branches it runs under test the
/// values they read: for each branch taken at most one way per call whose condition says
/// something of a variable ([`Condition::implied_domains`]), the last lookup whose `INTO` set
/// that variable from a plain column before the condition, if it runs once per call
/// ([`plpgsql::BodyStatement::certain`]), nothing assigned the variable between them, and one
/// table of the lookup, read once and by key, has that column.
fn value_guards(
    (body, statement): (&Body, &plpgsql::BodyStatement),
    conditions: &[Condition],
    earlier: &[ProgramStatement],
    file: FileId,
    known: &dyn Fn(&str) -> Option<String>,
    catalog: &Catalog,
) -> Vec<ValueGuard> {
    let canonical = |name: &str| known(name).unwrap_or_else(|| name.to_string());
    let mut guards = Vec::new();
    for branch in &statement.branches {
        let (Some(condition), Some(tested)) = (
            conditions.get(branch.condition),
            body.conditions.get(branch.condition),
        ) else {
            continue;
        };
        if body.repeated.contains(&branch.condition) {
            continue;
        }
        for (variable, domain) in condition.implied_domains(branch.holds) {
            let lookup = body
                .statements
                .iter()
                .filter(|lookup| lookup.range.end <= tested.range.start)
                .filter_map(|lookup| {
                    let (column, _) = lookup
                        .into
                        .iter()
                        .find(|(_, target)| canonical(target) == variable)?;
                    Some((lookup, column))
                })
                .next_back();
            let Some((lookup, column)) = lookup else {
                continue;
            };
            let assigned_between = body.assignments.iter().any(|(name, at)| {
                (lookup.range.end..tested.range.start).contains(at) && canonical(name) == variable
            });
            let Some(read) = earlier.iter().find(|read| read.range == lookup.range) else {
                continue;
            };
            if !lookup.certain || assigned_between {
                continue;
            }
            let column = column.rsplit('.').next().unwrap_or(column).to_string();
            let mut owners = read.accesses.iter().filter(|access| {
                catalog
                    .table(&access.table)
                    .is_some_and(|table| table.has_column(&column))
            });
            let (Some(owner), None) = (owners.next(), owners.next()) else {
                continue;
            };
            let keyed = matches!(owner.kind, AccessKind::Read { .. })
                && owner.rows.point_key(catalog.table(&owner.table)).is_some();
            if keyed {
                guards.push(ValueGuard {
                    lookup: (file, read.range),
                    table: owner.table.clone(),
                    column,
                    domain,
                });
            }
        }
    }
    guards
}

/// A body statement as plain PostgreSQL: `INTO` blanked, each variable a `:name` parameter.
fn replay(
    text: &str,
    statement: &plpgsql::BodyStatement,
    variable: &dyn Fn(&str) -> Option<String>,
    definition: &RoutineDefinition,
    declared: &BTreeMap<String, String>,
) -> crate::program::Replay {
    // Each variable's type, so that its value reaches the server typed as in the routine
    // (`'100' - '3'` would be ambiguous; `CAST('100' AS bigint) - CAST('3' AS bigint)` is not).
    let mut types = declared.clone();
    for (position, argument) in definition.arguments.iter().enumerate() {
        let name = argument_name(position, argument);
        if !argument.type_name.starts_with("any") && !argument.type_name.contains('%') {
            types.insert(name, argument.type_name.clone());
        }
    }
    let sql = format!(
        "{}{}{}",
        statement.prefix,
        blanked(text, statement),
        statement.suffix
    );
    let flavor = crate::parse::flavor(Engine::Postgres);
    let tokens = crate::parse::lexer::tokenize(&sql, flavor);
    let mut edits: Vec<(TextRange, String)> = Vec::new();
    let mut unsupported = None;
    let columns = column_name_tokens(&tokens, &sql);
    // `add_job.identifier`: an argument qualified by the function's name.
    let function_name = definition
        .name
        .rsplit('.')
        .next()
        .unwrap_or(&definition.name)
        .to_ascii_lowercase();
    // Where such a qualifier starts, and the index of the argument's token after it.
    let mut qualifier: Option<(usize, usize)> = None;
    for (index, token) in tokens.iter().enumerate() {
        if columns.contains(&index) {
            continue;
        }
        if token.ident(&sql).as_deref() == Some(function_name.as_str())
            && tokens
                .get(index + 1)
                .is_some_and(|dot| dot.text(&sql) == ".")
            && tokens
                .get(index + 2)
                .and_then(|name| name.ident(&sql))
                .and_then(|name| variable(&name))
                .is_some()
        {
            qualifier = Some((token.range.start, index + 2));
            continue;
        }
        let after = |offset: usize| tokens.get(index + offset).map(|t| t.text(&sql));
        let qualified_by_function = qualifier.is_some_and(|(_, at)| at == index);
        let before_dot = index > 0 && tokens[index - 1].text(&sql) == "." && !qualified_by_function;
        let name = match token.kind {
            crate::parse::lexer::TokenKind::Word if !before_dot && after(1) != Some("(") => {
                token.ident(&sql).and_then(|name| variable(&name))
            }
            crate::parse::lexer::TokenKind::Param => variable(token.text(&sql)),
            _ => None,
        };
        let Some(name) = name else { continue };
        if after(1) == Some(".") {
            unsupported.get_or_insert(format!(
                "it reads the fields of the record `{name}`, which isolint does not carry \
                 between statements"
            ));
            continue;
        }
        // Positional `$1` already reads as a parameter.
        let parameter = if name.starts_with('$') {
            name.clone()
        } else {
            format!(":{name}")
        };
        let replacement = match types.get(&name) {
            Some(type_name) => format!("CAST({parameter} AS {type_name})"),
            None => parameter,
        };
        let start = qualifier
            .filter(|(_, at)| *at == index)
            .map_or(token.range.start, |(start, _)| start);
        edits.push((TextRange::new(start, token.range.end), replacement));
    }
    let mut sql = sql;
    for (range, replacement) in edits.into_iter().rev() {
        sql.replace_range(range.start..range.end, &replacement);
    }
    crate::program::Replay {
        sql,
        into: statement
            .targets
            .iter()
            .map(|target| variable(target).unwrap_or_else(|| target.clone()))
            .collect(),
        arguments: definition
            .arguments
            .iter()
            .enumerate()
            .map(|(position, argument)| argument_name(position, argument))
            .collect(),
        unsupported,
    }
}

/// The tokens that can only name columns, never a variable, as PL/pgSQL reads them: an
/// INSERT's target table alias and column list, `ON CONFLICT (...)` and the targets of `SET`.
fn column_name_tokens(tokens: &[crate::parse::lexer::Token], sql: &str) -> BTreeSet<usize> {
    use crate::parse::lexer::TokenKind;
    let text = |at: usize| tokens.get(at).map_or("", |token| token.text(sql));
    let word = |at: usize, expected: &str| tokens.get(at).is_some_and(|t| t.is_word(sql, expected));
    // The words up to the parenthesis that closes the one at `open`.
    let inside = |open: usize, into: &mut BTreeSet<usize>| {
        let mut depth = 0usize;
        for (at, token) in tokens.iter().enumerate().skip(open) {
            match token.text(sql) {
                "(" => depth += 1,
                ")" => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        break;
                    }
                }
                _ if depth == 1 && token.kind == TokenKind::Word => {
                    into.insert(at);
                }
                _ => {}
            }
        }
    };
    let mut columns = BTreeSet::new();
    // Inside an UPDATE's (or DO UPDATE's) SET list, at this parenthesis depth.
    let mut set_list: Option<usize> = None;
    let mut depth = 0usize;
    for index in 0..tokens.len() {
        match text(index) {
            "(" => depth += 1,
            ")" => depth = depth.saturating_sub(1),
            _ => {}
        }
        if set_list == Some(depth)
            && ["where", "from", "returning"]
                .iter()
                .any(|keyword| word(index, keyword))
        {
            set_list = None;
        }
        if word(index, "set") {
            set_list = Some(depth);
        }
        if word(index, "insert") && word(index + 1, "into") {
            // The table's name (maybe qualified or templated), an alias, the column list.
            let mut at = index + 2;
            while tokens.get(at).is_some_and(|token| {
                matches!(
                    token.kind,
                    TokenKind::Word | TokenKind::QuotedIdent | TokenKind::Param
                ) || token.text(sql) == "."
            }) && !word(at, "as")
                && !word(at, "values")
                && !word(at, "select")
                && !word(at, "default")
            {
                at += 1;
            }
            if word(at, "as") {
                columns.insert(at + 1);
                at += 2;
            }
            if text(at) == "(" && !word(at + 1, "select") && !word(at + 1, "with") {
                inside(at, &mut columns);
            }
        }
        if word(index, "conflict") && text(index + 1) == "(" {
            inside(index + 1, &mut columns);
        }
        if word(index, "constraint") && index > 0 && word(index - 1, "on") {
            columns.insert(index + 1);
        }
        if (word(index, "set") || (text(index) == "," && set_list == Some(depth)))
            && tokens
                .get(index + 1)
                .is_some_and(|t| t.kind == TokenKind::Word)
            && text(index + 2) == "="
        {
            columns.insert(index + 1);
        }
    }
    columns
}

/// `SELECT co_id INTO v FROM consumer WHERE co_name = $1 FOR UPDATE` locks one row, found by
/// one key; the row's other columns are then known by the variables that receive them
/// (`co_id = v`). Later statements find the row by `v`: with the pin, two calls that lock the
/// same row are seen to serialise on it whichever key they name it by. Only a locked read of
/// one row gets these pins, so no predicate is narrowed.
///
/// A lookup that must find its row (`INTO STRICT`, `IF NOT FOUND THEN RAISE`) gets the pins of
/// the columns that identify a row (`queue_id = q.queue_id` after `SELECT queue_id INTO q
/// FROM queue WHERE queue_name = $1`): the row it found has them, so a later `INSERT INTO
/// tick (tick_queue) VALUES (q.queue_id)` is known to reference the queue named `$1`.
fn pin_found_row_to_targets(
    accesses: &mut [Access],
    into: &[(String, String)],
    variable: &dyn Fn(&str) -> Option<String>,
    catalog: &Catalog,
) {
    let single_table = accesses.len() == 1;
    // In a join, a column name two of the tables have is not known to be this table's.
    let owners = |column: &str| {
        accesses
            .iter()
            .filter(|access| {
                catalog
                    .table(&access.table)
                    .is_some_and(|table| table.has_column(column))
            })
            .map(|access| access.table.as_str())
            .collect::<BTreeSet<_>>()
            .len()
    };
    let owners: Vec<usize> = into.iter().map(|(column, _)| owners(column)).collect();
    for access in accesses.iter_mut() {
        let Some(table) = catalog.table(&access.table) else {
            continue;
        };
        let must_find = matches!(
            access.kind,
            crate::access::AccessKind::Read {
                must_find: true,
                ..
            }
        );
        // A lookup that must find its row found one row (by pins, or by key columns joined to
        // rows found with it): the row's key is what the targets receive. Found through a join,
        // only its primary key is known never to be NULL.
        let keyed = access.rows.point_key(Some(table)).is_some();
        if !keyed && !must_find {
            continue;
        }
        let identifies = |column: &str| {
            table.keys.iter().any(|key| {
                key.identifies_row()
                    && (keyed || key.kind == crate::catalog::KeyKind::Primary)
                    && key.columns.iter().any(|c| c == column)
            })
        };
        let locked = access.lock().is_some();
        let pinned = |column: &str| {
            table.has_column(column) && (locked || (must_find && identifies(column)))
        };
        let pairs: Vec<(String, String)> = match into {
            [(star, record)] if star == "*" => {
                if !single_table {
                    continue;
                }
                table
                    .columns
                    .iter()
                    .map(|column| (column.clone(), format!("{record}.{column}")))
                    .collect()
            }
            _ => into
                .iter()
                .zip(&owners)
                .filter(|(_, owners)| **owners == 1)
                .map(|(pair, _)| pair.clone())
                .collect(),
        };
        for (column, target) in pairs {
            if pinned(&column) && !access.rows.pins.contains_key(&column) {
                let name = variable(&target).unwrap_or(target);
                access.rows.found.insert(column.clone());
                access.rows.pins.insert(column, Term::Param(name));
            }
        }
    }
}

/// The value a `SELECT ... INTO` gave one side of a join (`s.sub_queue`, now `batch.sub_queue`)
/// is the other side's too (`last.tick_queue = s.sub_queue`): the rows read there have it. An
/// outer join's value flows only into its joined table.
fn pin_joined_columns(accesses: &mut [Access], joins: &[extract::Join]) {
    let mut changed = true;
    while changed {
        changed = false;
        for join in joins {
            let back = join.both_ways.then_some((&join.right, &join.left));
            for (from, to) in std::iter::once((&join.left, &join.right)).chain(back) {
                let Some(term) = accesses
                    .get(from.0)
                    .and_then(|access| access.rows.pins.get(&from.1))
                    .cloned()
                else {
                    continue;
                };
                if let Some(target) = accesses.get_mut(to.0)
                    && !target.rows.pins.contains_key(&to.1)
                {
                    target.rows.found.insert(to.1.clone());
                    target.rows.pins.insert(to.1.clone(), term);
                    changed = true;
                }
            }
        }
    }
}

/// A `SELECT ... INTO` whose variables the body never reads: the values it returns go nowhere,
/// so its reads look only at which rows match (`FOUND`), like `PERFORM 1 FROM ...`.
fn forget_values(accesses: &mut [Access]) {
    for access in accesses {
        if let AccessKind::Read { value, .. } = &mut access.kind {
            *value = crate::access::Columns::default();
        }
    }
}

/// A statement the body raises unless it finds a row, when each of its reads is a lookup of
/// one row: that read found its row. One table looked up by a key; or a join of tables in its
/// `FROM` alone (`from_tables`: whether each is on the inner side), each inner one found by a
/// key whose columns are pinned or joined to another table's (`s.sub_queue = q.queue_id AND
/// s.sub_consumer = c.co_id`), so that a result row holds one row of each; an outer-joined
/// table may have contributed none. A subquery (`NOT EXISTS`) or an aggregate (which always
/// returns a row) says nothing about which of its reads found rows.
fn mark_must_find(accesses: &mut [Access], from_tables: Option<&[bool]>, catalog: &Catalog) {
    let one_row = |access: &Access| {
        let table = catalog.table(&access.table);
        access.rows.point_key(table).is_some()
            || (accesses.len() > 1
                && table.is_some_and(|table| {
                    table.keys.iter().any(|key| {
                        key.identifies_row()
                            && key.columns.iter().all(|column| {
                                access.rows.pins.contains_key(column)
                                    || access.rows.known.contains(column)
                            })
                    })
                }))
    };
    let lookup = |access: &Access| {
        matches!(
            access.kind,
            crate::access::AccessKind::Read {
                aggregate: false,
                ..
            }
        ) && one_row(access)
    };
    let inner: Vec<bool> = match (accesses.len(), from_tables) {
        (1, _) => vec![true],
        (count, Some(tables)) if tables.len() == count => tables.to_vec(),
        _ => return,
    };
    let found = accesses
        .iter()
        .zip(&inner)
        .all(|(access, inner)| !inner || lookup(access));
    if !found || !inner.contains(&true) {
        return;
    }
    for (access, inner) in accesses.iter_mut().zip(&inner) {
        if let (true, crate::access::AccessKind::Read { must_find, .. }) = (inner, &mut access.kind)
        {
            *must_find = true;
        }
    }
}

/// An INSERT of a variable that only ever holds `nextval(...)` (`id := nextval('s'); INSERT
/// ... VALUES (id, ...)`) gives the row a value no other transaction knows, like a serial
/// default.
fn mark_fresh_values(accesses: &mut [Access], fresh: &BTreeSet<String>, catalog: &Catalog) {
    for access in accesses {
        if !matches!(access.kind, crate::access::AccessKind::Insert { .. }) {
            continue;
        }
        let Some(table) = catalog.table(&access.table) else {
            continue;
        };
        for (column, term) in &access.rows.pins {
            if let Term::Param(name) = term
                && fresh.contains(name)
                && table.identifies_new_rows(column)
            {
                access.rows.fresh.insert(column.clone());
            }
        }
    }
}

/// How a routine's body names its argument at `position`: its name, or `$n` (1-based).
fn argument_name(position: usize, argument: &crate::parse::routine::Argument) -> String {
    argument
        .name
        .clone()
        .unwrap_or_else(|| format!("${}", position + 1))
}

/// A body statement's text with its `INTO` targets taken out.
fn blanked(text: &str, statement: &plpgsql::BodyStatement) -> String {
    let range = statement.range;
    let mut sql = text[range.start..range.end].to_string();
    for blank in &statement.blanks {
        if let Some(part) = sql.get(blank.start - range.start..blank.end - range.start) {
            let spaces = " ".repeat(part.len());
            sql.replace_range(blank.start - range.start..blank.end - range.start, &spaces);
        }
    }
    sql
}

fn pin_picked_rows(statements: &mut [ProgramStatement]) {
    let mut accesses: Vec<Vec<Access>> = statements
        .iter_mut()
        .map(|statement| std::mem::take(&mut statement.accesses))
        .collect();
    crate::access::pin_picked_rows(&mut accesses);
    for (statement, accesses) in statements.iter_mut().zip(accesses) {
        statement.accesses = accesses;
    }
}

/// Runs every call and trigger inside the programs that make them: the callee's statements
/// (its own calls and triggers included) follow the calling statement, a BEFORE trigger's
/// statements precede the firing write and an AFTER trigger's follow it. Each inlined
/// statement stands at the call or the write, and says where it comes from.
pub fn inline(
    programs: &mut [Program],
    routines: &Routines,
    built: &Built,
    first_routine_program: usize,
) -> Vec<Note> {
    if routines.is_empty() {
        return Vec::new();
    }
    for program in programs.iter_mut() {
        drop_table_function_reads(&mut program.statements, routines);
    }
    let mut inliner = Inliner {
        routines,
        built,
        first_routine_program,
        programs_before: programs.to_vec(),
        stack: Vec::new(),
        notes: Vec::new(),
        noted: BTreeSet::new(),
    };
    for (index, program) in programs.iter_mut().enumerate() {
        let needs = program.statements.iter().any(|statement| {
            !statement.calls.is_empty() || statement.accesses.iter().any(|a| a.is_write())
        });
        if !needs || is_bare_call(program, routines) {
            continue;
        }
        inliner.stack.clear();
        if let Some(own) = inliner.function_of_program(index) {
            inliner.stack.push(Frame::Function(own));
        }
        let statements = inliner.expand(
            &inliner.programs_before[index].statements.clone(),
            program.file,
            0,
            &Constants::new(),
        );
        program.statements = statements;
        pin_picked_rows(&mut program.statements);
    }
    inliner.notes
}

/// A table function in `FROM` (`FROM fetch_job($1)`) is a call of a routine, not a read of a
/// table of that name.
fn drop_table_function_reads(statements: &mut [ProgramStatement], routines: &Routines) {
    for statement in statements {
        let called: Vec<&str> = statement
            .calls
            .iter()
            .filter(|call| routines.resolve(&call.name, call.arguments.len()).is_some())
            .map(|call| call.name.as_str())
            .collect();
        if !called.is_empty() {
            statement
                .accesses
                .retain(|access| !called.contains(&access.table.as_str()));
        }
    }
}

/// A script or query that only calls routines, in one statement (`SELECT fetch_job($1)`):
/// it runs exactly what the routines' own programs run, so inlining would report every
/// finding of theirs a second time under its name.
fn is_bare_call(program: &Program, routines: &Routines) -> bool {
    let [only] = program.statements.as_slice() else {
        return false;
    };
    let resolves =
        |call: &crate::access::Call| routines.resolve(&call.name, call.arguments.len()).is_some();
    // Built-in functions around the call (`unnest(f(...))`) change nothing; a CALL of an
    // unknown procedure is inlined so that it is reported.
    matches!(program.kind, ProgramKind::Script | ProgramKind::Query)
        && only.accesses.is_empty()
        && only.calls.iter().any(resolves)
        && only
            .calls
            .iter()
            .all(|call| resolves(call) || !call.procedure)
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Frame {
    Function(usize),
    Trigger(usize),
}

struct Inliner<'a> {
    routines: &'a Routines,
    built: &'a Built,
    first_routine_program: usize,
    /// The programs as built, before anything was inlined.
    programs_before: Vec<Program>,
    stack: Vec<Frame>,
    notes: Vec<Note>,
    noted: BTreeSet<(FileId, usize)>,
}

impl Inliner<'_> {
    fn function_of_program(&self, index: usize) -> Option<usize> {
        let local = index.checked_sub(self.first_routine_program)?;
        self.built
            .function_programs
            .iter()
            .position(|program| *program == Some(local))
    }

    fn note(&mut self, file: FileId, range: TextRange, message: String) {
        if self.noted.insert((file, range.start)) {
            self.notes.push(Note {
                kind: NoteKind::Warning,
                file,
                range,
                message,
            });
        }
    }

    /// The statements of `statements` with their calls and triggers inlined; `constants` are
    /// the values of their variables that the call running them fixes.
    fn expand(
        &mut self,
        statements: &[ProgramStatement],
        file: FileId,
        depth: usize,
        constants: &Constants,
    ) -> Vec<ProgramStatement> {
        let mut expanded = Vec::new();
        for statement in statements {
            let mut before = Vec::new();
            let mut after = Vec::new();
            let mut within = Vec::new();
            let mut rewritten = Vec::new();
            for (position, access) in statement.accesses.iter().enumerate() {
                for (index, trigger) in self.routines.triggers.iter().enumerate() {
                    if !fires(&trigger.definition, access) {
                        continue;
                    }
                    if trigger.definition.timing != TriggerTiming::After {
                        rewritten.push(position);
                    }
                    let fired =
                        self.trigger_statements(index, access, statement, file, depth, constants);
                    match trigger.definition.timing {
                        TriggerTiming::Before | TriggerTiming::InsteadOf => before.extend(fired),
                        TriggerTiming::After => after.extend(fired),
                    }
                }
            }
            for call in &statement.calls {
                let Some(function) = self.routines.resolve(&call.name, call.arguments.len()) else {
                    if call.procedure {
                        self.note(
                            file,
                            statement.range,
                            format!(
                                "`CALL {}`: no such procedure in the project's SQL; its accesses \
                                 are not checked",
                                call.name
                            ),
                        );
                    }
                    continue;
                };
                let inlined =
                    self.call_statements(function, call, statement, file, depth, constants);
                if self.routines.functions[function].definition.stable {
                    // Read on the calling statement's snapshot: part of that statement.
                    within.extend(inlined.into_iter().flat_map(|s| s.accesses));
                } else {
                    after.extend(inlined);
                }
            }
            expanded.extend(before);
            let mut own = statement.clone();
            own.calls.clear();
            // A BEFORE trigger may set any column of the new row: its defaults are not known.
            for position in rewritten {
                if matches!(own.accesses[position].kind, AccessKind::Insert { .. }) {
                    own.accesses[position].rows.domains.clear();
                }
            }
            own.accesses.extend(within);
            expanded.push(own);
            expanded.extend(after);
        }
        expanded
    }

    /// The callee's statements, expanded, with its parameters bound for this call; a branch
    /// that the call's constant arguments disable is left out.
    fn call_statements(
        &mut self,
        function: usize,
        call: &crate::access::Call,
        site: &ProgramStatement,
        file: FileId,
        depth: usize,
        constants: &Constants,
    ) -> Vec<ProgramStatement> {
        let defined = &self.routines.functions[function];
        let Some(program) = self.built.function_programs[function] else {
            return Vec::new();
        };
        if self.stack.contains(&Frame::Function(function)) || depth >= MAX_DEPTH {
            self.note(
                file,
                site.range,
                format!(
                    "`{}` calls itself, directly or through other routines (or calls nest \
                     deeper than {MAX_DEPTH}); the repeated call is not followed",
                    defined.definition.name
                ),
            );
            return Vec::new();
        }
        let definition = &defined.definition;
        let reassigned = &self.built.reassigned[function];
        let mut arguments: BTreeMap<String, Term> = BTreeMap::new();
        let mut fixed = Constants::new();
        for (position, argument) in definition
            .arguments
            .iter()
            .filter(|a| !a.output)
            .enumerate()
        {
            let name = argument_name(position, argument);
            let Some(Some(term)) = call.arguments.get(position) else {
                continue;
            };
            if let Some(constant) = constant_of(term, constants)
                && keeps_value(reassigned, &name)
            {
                fixed.insert(name.clone(), constant);
            }
            // A NULL argument is no value a row can be found by: the callee's variable stays
            // a parameter of its own.
            if !term.is_null() {
                arguments.insert(name, term.clone());
            }
        }
        let prefix = definition.name.clone();
        let routine_file = defined.file;
        let label = format!("{}()", definition.name);
        self.stack.push(Frame::Function(function));
        let body = runnable(&self.built.programs[program].statements, &fixed);
        let inner = self.expand(&body, routine_file, depth + 1, &fixed);
        self.stack.pop();
        inner
            .into_iter()
            .map(|statement| {
                inlined(statement, site, routine_file, &label, &mut |name| {
                    arguments
                        .get(name)
                        .cloned()
                        .unwrap_or_else(|| unbound(&prefix, name))
                })
            })
            .collect()
    }

    /// A trigger's statements for one firing write, `NEW` and `OLD` bound to its row; a
    /// branch that the row's constant values disable is left out.
    fn trigger_statements(
        &mut self,
        index: usize,
        access: &Access,
        site: &ProgramStatement,
        file: FileId,
        depth: usize,
        constants: &Constants,
    ) -> Vec<ProgramStatement> {
        let trigger = &self.routines.triggers[index];
        let Some(function) = self.routines.resolve(&trigger.definition.function, 0) else {
            return Vec::new();
        };
        if self.stack.contains(&Frame::Trigger(index)) || depth >= MAX_DEPTH {
            self.note(
                file,
                site.range,
                format!(
                    "trigger `{}` fires again through its own writes; the repeated firing is not \
                     followed",
                    trigger.definition.name
                ),
            );
            return Vec::new();
        }
        // The trigger's own program holds the function's statements with NEW and OLD read.
        let Some(program) = self.built.programs.iter().position(|p| {
            p.kind == ProgramKind::Trigger
                && p.name == trigger.definition.name
                && p.file == trigger.file
        }) else {
            return Vec::new();
        };
        let defined_function = &self.routines.functions[function];
        let routine_file = defined_function.file;
        let label = format!("trigger {}", trigger.definition.name);
        let prefix = trigger.definition.function.clone();
        let row = written_row(access);
        let reassigned = &self.built.reassigned[function];
        let fixed: Constants = row
            .iter()
            .filter(|(name, _)| keeps_value(reassigned, name))
            .filter_map(|(name, term)| Some((name.clone(), constant_of(term, constants)?)))
            .collect();
        self.stack.push(Frame::Trigger(index));
        let body = runnable(&self.built.programs[program].statements, &fixed);
        let inner = self.expand(&body, routine_file, depth + 1, &fixed);
        self.stack.pop();
        inner
            .into_iter()
            .map(|statement| {
                inlined(statement, site, routine_file, &label, &mut |name| {
                    row.get(name)
                        .cloned()
                        .unwrap_or_else(|| unbound(&prefix, name))
                })
            })
            .collect()
    }
}

/// The value a call's term has: a literal's, or the constant the caller's own variable has.
fn constant_of(term: &Term, constants: &Constants) -> Option<Constant> {
    match term {
        Term::Literal(literal) => Constant::from_literal(literal),
        Term::Param(name) => constants.get(name).cloned(),
    }
}

/// Whether the routine's variable `name` (`x`, or a record's field `new.x`) keeps the value
/// the call gives it: the body neither assigns nor redeclares it.
fn keeps_value(reassigned: &BTreeSet<String>, name: &str) -> bool {
    !reassigned.contains(name)
        && !name
            .split_once('.')
            .is_some_and(|(record, _)| reassigned.contains(record))
}

/// The statements whose every branch condition can hold with the variables of `constants`
/// fixed.
fn runnable(statements: &[ProgramStatement], constants: &Constants) -> Vec<ProgramStatement> {
    statements
        .iter()
        .filter(|statement| {
            statement
                .guards
                .iter()
                .all(|guard| guard.may_run(constants))
        })
        .cloned()
        .collect()
}

/// The parameter for a callee's value the call does not give: named after the callee, unless
/// an inner callee already named it (`inner.v` stays `inner.v` rather than growing a prefix per
/// level; a record field of the caller's own, `new.id`, is always qualified).
fn unbound(callee: &str, name: &str) -> Term {
    let qualified = name.contains('.') && !name.starts_with("new.") && !name.starts_with("old.");
    Term::Param(if qualified {
        name.to_string()
    } else {
        format!("{callee}.{name}")
    })
}

/// A routine's statement placed at `site`, its parameters bound.
fn inlined(
    mut statement: ProgramStatement,
    site: &ProgramStatement,
    routine_file: FileId,
    label: &str,
    bind: &mut dyn FnMut(&str) -> Term,
) -> ProgramStatement {
    for access in &mut statement.accesses {
        access.bind(bind);
    }
    // The text says where the statement runs, since it stands at the call.
    statement.text = format!("{label}: {}", statement.text);
    statement.via = Some(match statement.via.take() {
        Some(inner) => Via {
            routine: format!("{label} → {}", inner.routine),
            ..inner
        },
        None => Via {
            routine: label.to_string(),
            file: routine_file,
            range: statement.range,
        },
    });
    statement.range = site.range;
    statement.ignores = site.ignores.clone();
    statement.calls.clear();
    statement.replay = None;
    // In the callee's names, and already applied.
    statement.guards.clear();
    // The callee's own branches are numbered in the callee: only the call's are kept.
    statement.arms = site.arms.clone();
    statement.certain &= site.certain;
    if std::mem::take(&mut statement.returns_if_found) {
        for access in &mut statement.accesses {
            if let crate::access::AccessKind::Read { must_miss, .. } = &mut access.kind {
                *must_miss = false;
            }
        }
    }
    statement
}

/// Whether a write fires the trigger.
fn fires(trigger: &TriggerDefinition, access: &Access) -> bool {
    if access.table != trigger.table {
        return false;
    }
    trigger
        .events
        .iter()
        .any(|event| match (event, &access.kind) {
            (TriggerEvent::Insert, AccessKind::Insert { .. }) => true,
            (TriggerEvent::Update(columns), AccessKind::Update { set, .. })
            | (
                TriggerEvent::Update(columns),
                AccessKind::Insert {
                    on_conflict: OnConflict::Update(set),
                    ..
                },
            ) => columns.is_empty() || columns.iter().any(|column| set.contains_key(column)),
            (TriggerEvent::Delete, AccessKind::Delete { .. }) => true,
            _ => false,
        })
}

/// `new.col` and `old.col` of the row a write touches, where the write pins them.
fn written_row(access: &Access) -> BTreeMap<String, Term> {
    let mut row = BTreeMap::new();
    for (column, term) in &access.rows.pins {
        row.insert(format!("new.{column}"), term.clone());
        if !matches!(access.kind, AccessKind::Insert { .. }) {
            row.insert(format!("old.{column}"), term.clone());
        }
    }
    if let Some(set) = access.assignments() {
        for (column, value) in set {
            match value {
                SetValue::Term(term) => {
                    row.insert(format!("new.{column}"), term.clone());
                }
                _ => {
                    row.remove(&format!("new.{column}"));
                }
            }
        }
    }
    row
}
