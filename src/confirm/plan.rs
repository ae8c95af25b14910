//! From a finding to something a database can run: one session per transaction instance with
//! its statements made concrete (parameters bound to values of their columns' types, template
//! variables substituted), and the witness interleaving as an ordered list of steps.
//!
//! Statements that the check inlined from a called function or a fired trigger are not sent:
//! the function and the trigger exist in the throwaway database, so they run inside the
//! statement that calls or fires them, and a witness step on one of them is taken at that
//! statement.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;

use sqlparser::ast::{Ident, ObjectName, Statement};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use crate::CheckResult;
use crate::access::{AccessKind, SetValue, Term};
use crate::analysis::finding::{Finding, Step};
use crate::analysis::unify::Atom;
use crate::parse::lexer::TokenKind;
use crate::parse::templates::Variables;
use crate::program::ProgramKind;
use crate::semantics::{Engine, Level};
use crate::source::TextRange;

use super::catalog::Tables;
use super::database::{Flavor, quote_literal};
use super::holder::LockHolder;
use super::pause::{Pause, Pauses};

/// How statements are made concrete for the database they run on.
#[derive(Clone, Copy)]
pub struct Naming<'a> {
    /// Drop schema qualifiers (for tables modelled into one schema) rather than keep them.
    pub unqualify: bool,
    /// The config's `[variables]`, for templated SQL (`:SCHEMA.jobs`).
    pub variables: &'a Variables,
    /// The database's tables, to give parameters values of their columns' types.
    pub tables: Option<&'a Tables>,
    /// The server the statements run on, whose dialect reads them.
    pub flavor: Flavor,
}

/// A transaction instance ready to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// `T1`, `T2`, ...
    pub label: String,
    pub program: usize,
    pub level: Level,
    /// Every statement of the program, in order, as the database receives it; a value that
    /// an earlier statement reads into a routine's variable is a [`captured`] marker.
    pub statements: Vec<String>,
    /// Per statement, the routine variables its first row assigns (`SELECT ... INTO v`).
    pub captures: Vec<Vec<String>>,
    /// Whether the transaction ends with ROLLBACK in the witness (a dirty read's writer).
    pub rolls_back: bool,
    /// Whether the program is a routine's body (replayed, or called as one statement) rather
    /// than statements the application sends.
    pub routine: bool,
    /// The statements after which a step of the transaction commits and the next step begins
    /// a transaction of its own (`atomic = false`).
    pub commits_after: Vec<usize>,
    /// The statements after which the program returns when they find a row (a routine's `IF
    /// FOUND THEN RETURN`, a get-or-create step): its later statements do not run then.
    pub returns_if_found: Vec<usize>,
}

impl Session {
    /// Statement `statement`, then the commit of its step and the next step's begin when its
    /// step ends there.
    pub fn run(&self, statement: usize) -> impl Iterator<Item = Action> {
        let ends_step = self.commits_after.contains(&statement);
        std::iter::once(Action::Statement(statement)).chain(
            [Action::Commit, Action::Begin]
                .into_iter()
                .filter(move |_| ends_step),
        )
    }
}

/// What one step of the schedule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Begin,
    Statement(usize),
    Commit,
    Rollback,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedStep {
    pub session: usize,
    pub action: Action,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub sessions: Vec<Session>,
    /// The witness, completed: each session begins before its first step and runs every
    /// statement of its program, those the witness leaves out at the point program order
    /// puts them.
    pub steps: Vec<PlannedStep>,
    /// Parameter values chosen, per session, for the report.
    pub parameters: Vec<BTreeMap<String, String>>,
    /// What was chosen rather than given (values, rows), in words.
    pub assumptions: Vec<String>,
    /// The isolation tester's schedule with a third session holding the rows, for a finding
    /// whose statement must take its snapshot and wait while the other transaction commits.
    pub lock_holder: Option<LockHolder>,
    /// The schedule that stops calls of routines between their statements where the witness
    /// has another transaction go on, on PostgreSQL, when the plan has no lock holder.
    pub pauses: Option<Pauses>,
}

/// How a chosen value taken from a row that exists is marked in the assumptions.
pub const FROM_EXISTING_ROW: &str = "(a row that exists has it)";

/// How the assumption that lists the parameter values chosen begins.
pub const CHOSEN_VALUES: &str = "parameter values chosen";

/// Why a finding cannot be confirmed; the verdict is inconclusive with this reason.
pub type Unplannable = String;

/// How chosen values are picked, beyond the finding's bindings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Choice {
    /// Parameters of the same name or column take one value across the instances.
    pub share: bool,
    /// Which of the values existing rows have a parameter takes: the first not taken yet
    /// when 0, the next ones after it for a run again when the project's code rejected the
    /// first choice.
    pub existing_offset: usize,
}

/// Binds the finding's transactions and lays out its schedule.
/// The instances in `calls` run their routine as one call, for the reason given.
pub fn plan(
    result: &CheckResult,
    finding: &Finding,
    naming: Naming,
    calls: &BTreeMap<usize, String>,
    choice: Choice,
) -> Result<Plan, Unplannable> {
    let mut values = Values::new(result, finding, naming.tables);
    values.existing_offset = choice.existing_offset;
    if choice.share {
        values.shared = Some(BTreeMap::new());
    }
    let mut sessions = Vec::new();
    // Per session, per statement of the program: the statement of the session that runs it.
    let mut positions: Vec<Vec<usize>> = Vec::new();
    let mut inside: BTreeSet<String> = BTreeSet::new();
    let mut called: Vec<String> = Vec::new();
    for (instance, &program) in finding.instances.iter().enumerate() {
        let source = &result.programs[program];
        let replayed = match calls.get(&instance) {
            Some(why) => Err(why.clone()),
            None => replay(result, source, instance, naming, &mut values, &mut inside),
        };
        let (statements, captures, runs_at) = match replayed {
            Ok(replayed) => replayed,
            Err(reason) if source.kind == ProgramKind::Routine => {
                // The function is in the database: call it, as one statement.
                values.chosen[instance].clear();
                let call = call(source, instance, naming, &mut values)
                    .map_err(|why| format!("{reason}; and it cannot be called whole: {why}"))?;
                called.push(format!(
                    "`{}` ran as one call, `{call}`, because its body cannot be replayed \
                     statement by statement: {reason}",
                    source.name
                ));
                (
                    vec![call],
                    vec![Vec::new()],
                    vec![0; source.statements.len()],
                )
            }
            Err(reason) => return Err(reason),
        };
        // Steps that commit separately (`atomic = false`): the session's statements after
        // which its step commits.
        let commits_after: Vec<usize> = source
            .step_ends
            .iter()
            .filter_map(|end| runs_at.get(*end).copied())
            .collect();
        let returns_if_found: Vec<usize> = source
            .statements
            .iter()
            .zip(&runs_at)
            .filter(|(statement, _)| statement.returns_if_found)
            .map(|(_, at)| *at)
            .filter(|at| *at < statements.len())
            .collect();
        positions.push(runs_at);
        sessions.push(Session {
            label: format!("T{}", instance + 1),
            program,
            level: source.level,
            statements,
            captures,
            rolls_back: finding
                .witness
                .iter()
                .any(|step| step.instance == instance && matches!(step.step, Step::Rollback)),
            routine: source.kind == ProgramKind::Routine,
            commits_after,
            returns_if_found,
        });
    }
    // Per instance: whether its last statement in the witness writes or locks rows, so that
    // it can wait for another transaction's commit.
    let waits: Vec<bool> = finding
        .instances
        .iter()
        .enumerate()
        .map(|(instance, &program)| {
            let last = finding
                .witness
                .iter()
                .rev()
                .find_map(|step| match step.step {
                    Step::Statement(statement) if step.instance == instance => Some(statement),
                    _ => None,
                });
            last.and_then(|statement| result.programs[program].statements.get(statement))
                .is_some_and(|statement| {
                    statement
                        .accesses
                        .iter()
                        .any(|access| access.is_write() || access.lock().is_some())
                })
        })
        .collect();
    let steps = schedule(finding, &sessions, &positions, &waits, &[]);
    let lock_holder =
        super::holder::lock_holder(result, finding, &sessions, &positions, naming.tables);
    let pauses = match (&lock_holder, naming.flavor) {
        (None, Flavor::Postgres) => paused(result, finding, &sessions, &positions),
        _ => None,
    };
    let (parameters, mut assumptions) = values.finish();
    assumptions.extend(called);
    if !inside.is_empty() {
        assumptions.push(format!(
            "the routines and triggers are in the database, so their statements run inside the \
             statement that calls or fires them, where the schedule cannot stop between them: {}",
            inside.into_iter().collect::<Vec<_>>().join("; ")
        ));
    }
    Ok(Plan {
        sessions,
        steps,
        parameters,
        assumptions,
        lock_holder,
        pauses,
    })
}

/// The schedule with pauses for `finding`: where the witness has another transaction go on
/// between two statements of one session that run inside one call (a routine called whole, or
/// a function a statement calls), a pause before the later statement.
fn paused(
    result: &CheckResult,
    finding: &Finding,
    sessions: &[Session],
    positions: &[Vec<usize>],
) -> Option<Pauses> {
    let mut points = Vec::new();
    for (session, &program) in finding.instances.iter().enumerate() {
        let source = &result.programs[program];
        let mut previous: Option<usize> = None;
        let mut interrupted = false;
        for step in &finding.witness {
            if step.instance != session {
                interrupted |= previous.is_some();
                continue;
            }
            let Step::Statement(statement) = step.step else {
                continue;
            };
            let at = |statement: usize| positions.get(session)?.get(statement).copied();
            if let Some(before) = previous
                && interrupted
                && before != statement
                && at(before).is_some()
                && at(before) == at(statement)
                && let Some(written) = source.statements.get(statement)
            {
                // A statement of a called routine is written in that routine's body.
                let (file, range) = match &written.via {
                    Some(via) => (via.file, via.range),
                    None => written.written_in(source.file),
                };
                let text = result.files[file]
                    .text
                    .get(range.start..range.end)
                    .unwrap_or_default()
                    .trim()
                    .to_string();
                if !text.is_empty() {
                    points.push(Pause {
                        session,
                        statement,
                        text,
                    });
                }
            }
            previous = Some(statement);
            interrupted = false;
        }
    }
    if points.is_empty() {
        return None;
    }
    let controller = Pauses::controller(&points, *finding.instances.first()?);
    let no_waits = vec![false; sessions.len()];
    let steps = schedule(finding, sessions, positions, &no_waits, &points);
    let calls = points
        .iter()
        .map(|point| positions[point.session][point.statement])
        .collect();
    Some(Pauses {
        session: controller,
        steps,
        points,
        calls,
    })
}

/// A program's statements for the database, each program statement's position among them,
/// and the variables each assigns: its own statements as written (a routine's replayed with
/// its variables carried), those inlined from routines and triggers left to run where they
/// are called or fired.
#[allow(clippy::type_complexity)] // Three parallel lists, named by the caller.
fn replay(
    result: &CheckResult,
    source: &crate::program::Program,
    instance: usize,
    naming: Naming,
    values: &mut Values,
    inside: &mut BTreeSet<String>,
) -> Result<(Vec<String>, Vec<Vec<String>>, Vec<usize>), Unplannable> {
    let text = &result.files[source.file].text;
    let mut statements = Vec::new();
    let mut captures = Vec::new();
    let mut runs_at = Vec::new();
    // Routine variables assigned so far, by INTO of an earlier statement.
    let mut assigned: Vec<String> = Vec::new();
    for (index, statement) in source.statements.iter().enumerate() {
        if let Some(via) = &statement.via {
            // It runs inside the statement that calls the routine or fires the trigger,
            // which stands at the same place in the program's file.
            let site = source
                .statements
                .iter()
                .enumerate()
                .filter(|(_, other)| other.via.is_none() && other.range == statement.range)
                .map(|(at, _)| at)
                .next();
            inside.insert(format!(
                "{} runs inside `{}`",
                via.routine,
                crate::one_line(
                    text.get(statement.range.start..statement.range.end)
                        .unwrap_or_default()
                )
            ));
            runs_at.push(match site {
                Some(site) if site > index => usize::MAX - 1,
                _ => statements.len().saturating_sub(1),
            });
            continue;
        }
        runs_at.push(statements.len());
        let Some(replay) = &statement.replay else {
            let (file, range) = statement.written_in(source.file);
            let sql = result.files[file]
                .text
                .get(range.start..range.end)
                .unwrap_or_default();
            statements.push(concrete(sql, naming, |name| {
                values.get(instance, &statement.parameter(name))
            })?);
            captures.push(Vec::new());
            continue;
        };
        if let Some(why) = &replay.unsupported {
            return Err(format!("`{}` cannot be replayed: {why}", source.name));
        }
        let sql = concrete(&replay.sql, naming, |name| {
            // A variable `v` is written `:v` in the replayed text and named `v` in terms.
            let name = name.strip_prefix(':').unwrap_or(name);
            if replay.arguments.iter().any(|argument| argument == name) {
                values.get(instance, name)
            } else if assigned.iter().any(|variable| variable == name) {
                Ok(captured(name))
            } else {
                Err(format!(
                    "`{}` uses `{name}` before a SELECT ... INTO assigns it (its value comes \
                     from an expression isolint does not run)",
                    source.name
                ))
            }
        })?;
        statements.push(sql);
        assigned.extend(replay.into.iter().cloned());
        captures.push(replay.into.clone());
    }
    // A statement that runs before its site (a BEFORE trigger's) is taken at the site.
    for at in (0..runs_at.len()).rev() {
        if runs_at[at] == usize::MAX - 1 {
            runs_at[at] = runs_at.get(at + 1).copied().unwrap_or(0);
        }
    }
    if statements.is_empty() {
        return Err(format!(
            "`{}` has no statement of its own to run",
            source.name
        ));
    }
    Ok((statements, captures, runs_at))
}

/// A routine program as one call of the function the migrations created: `SELECT * FROM
/// "pgq"."next_batch"(CAST('1' AS text), ...)` (`CALL` for a procedure), each argument
/// bound as the routine's variables are.
fn call(
    source: &crate::program::Program,
    instance: usize,
    naming: Naming,
    values: &mut Values,
) -> Result<String, Unplannable> {
    let tables = naming
        .tables
        .filter(|_| !naming.unqualify)
        .ok_or("the migrations did not build the function")?;
    let variables: Vec<String> = source
        .statements
        .iter()
        .find_map(|statement| statement.replay.as_ref())
        .map(|replay| replay.arguments.clone())
        .unwrap_or_default();
    let function = tables
        .function(&source.name, variables.len())
        .ok_or_else(|| format!("the database has no function `{}`", source.name))?;
    if function.returns_trigger {
        return Err("it is a trigger function, which only a write can run".to_string());
    }
    let mut arguments = Vec::new();
    for (position, (name, data_type)) in function.arguments.iter().enumerate() {
        // By name where the database knows it (OUT arguments may sit among the routine's),
        // else by position.
        let variable = if !name.is_empty() && variables.contains(name) {
            name.clone()
        } else {
            variables.get(position).cloned().unwrap_or_else(|| {
                if name.is_empty() {
                    format!("${}", position + 1)
                } else {
                    name.clone()
                }
            })
        };
        values.types[instance]
            .entry(parameter_key(&variable))
            .or_insert_with(|| data_type.clone());
        let value = values.get(instance, &variable)?;
        arguments.push(match naming.flavor {
            Flavor::Postgres => format!("CAST({} AS {data_type})", quote_literal(&value)),
            // MySQL converts a literal to the argument's type, and casts to other names.
            Flavor::Mysql => quote_literal(&value),
        });
    }
    // `SELECT * FROM f(...)` returns a composite result as its columns, named.
    let verb = match (function.procedure, naming.flavor) {
        (true, _) => "CALL",
        (false, Flavor::Postgres) => "SELECT * FROM",
        (false, Flavor::Mysql) => "SELECT",
    };
    Ok(format!(
        "{verb} {}({})",
        function.qualified(naming.flavor),
        arguments.join(", ")
    ))
}

/// The placeholder for a routine variable's value, which the session fills in when the
/// statement that reads it into the variable has run (quoted as a literal by [`concrete`]).
pub fn captured(variable: &str) -> String {
    format!("\u{1}{variable}\u{1}")
}

/// The witness with BEGIN before each session's first step and the statements it skips
/// filled in, in program order; `positions` maps a program's statements to the session's.
///
/// A routine that runs as one call cannot stop between its statements. When the witness
/// has another transaction commit between the routine's first and last statements and the
/// last one writes or locks rows (`waits`: it reads, the other writes and commits, it
/// writes), the call runs just before that commit: it reads without the other's write and
/// its own write waits for the commit, which is the witness as one call can follow it. Run
/// at its first statement it would finish before the other began, a serial order.
///
/// With `pauses`, a controller session (index `sessions.len()`) takes each pause's lock first
/// and releases it where the witness has the paused session go on.
fn schedule(
    finding: &Finding,
    sessions: &[Session],
    positions: &[Vec<usize>],
    waits: &[bool],
    pauses: &[Pause],
) -> Vec<PlannedStep> {
    // Per session that runs as one call: the witness index it runs at.
    let call_at: Vec<Option<usize>> = (0..sessions.len())
        .map(|session| {
            let one_call = waits.get(session) == Some(&true)
                && sessions[session].statements.len() == 1
                && positions[session].len() > 1
                && positions[session].iter().all(|position| *position == 0);
            if !one_call {
                return None;
            }
            let own: Vec<usize> = finding
                .witness
                .iter()
                .enumerate()
                .filter(|(_, step)| {
                    step.instance == session && matches!(step.step, Step::Statement(_))
                })
                .map(|(at, _)| at)
                .collect();
            let (first, last) = (*own.first()?, *own.last()?);
            finding.witness[first..last]
                .iter()
                .position(|step| {
                    step.instance != session && matches!(step.step, Step::Commit | Step::Rollback)
                })
                .map(|offset| first + offset)
        })
        .collect();
    let mut next = vec![0; sessions.len()];
    let mut begun = vec![false; sessions.len()];
    let mut ended = vec![false; sessions.len()];
    let controller = sessions.len();
    let mut steps: Vec<PlannedStep> = (0..pauses.len())
        .map(|key| Pauses::lock(controller, key))
        .collect();
    let mut run_until = |steps: &mut Vec<PlannedStep>, session: usize, until: usize| {
        if !begun[session] {
            begun[session] = true;
            steps.push(PlannedStep {
                session,
                action: Action::Begin,
            });
        }
        while next[session] < until.min(sessions[session].statements.len()) {
            steps.extend(
                sessions[session]
                    .run(next[session])
                    .map(|action| PlannedStep { session, action }),
            );
            next[session] += 1;
        }
    };
    for (at, step) in finding.witness.iter().enumerate() {
        for (session, runs_at) in call_at.iter().enumerate() {
            if *runs_at == Some(at) && !ended[session] {
                run_until(&mut steps, session, 1);
            }
        }
        let session = step.instance;
        if session >= sessions.len() || ended[session] {
            continue;
        }
        let paused = pauses.iter().position(|pause| {
            pause.session == session && step.step == Step::Statement(pause.statement)
        });
        match step.step {
            Step::Statement(_) if call_at[session].is_some() => {}
            Step::Statement(_) if paused.is_some() => {
                steps.extend(paused.map(|key| Pauses::release(controller, key)));
            }
            Step::Statement(statement) => {
                let position = positions[session]
                    .get(statement)
                    .copied()
                    .unwrap_or(statement);
                run_until(&mut steps, session, position.saturating_add(1));
            }
            Step::Commit | Step::Rollback => {
                run_until(&mut steps, session, usize::MAX);
                ended[session] = true;
                steps.push(PlannedStep {
                    session,
                    action: if step.step == Step::Commit {
                        Action::Commit
                    } else {
                        Action::Rollback
                    },
                });
            }
        }
    }
    for (session, ended) in ended.iter().enumerate() {
        if !ended {
            run_until(&mut steps, session, usize::MAX);
            steps.push(PlannedStep {
                session,
                action: Action::Commit,
            });
        }
    }
    steps
}

/// The statements of `sql` as PostgreSQL reads them, table names unqualified: isolint's model
/// of the tables puts them all in one schema.
pub fn prepare(sql: &str) -> Result<Vec<Statement>, Unplannable> {
    let mut statements = Parser::parse_sql(&PostgreSqlDialect {}, sql)
        .map_err(|error| format!("PostgreSQL cannot take `{}`: {error}", crate::one_line(sql)))?;
    statements.iter_mut().for_each(unqualify);
    Ok(statements)
}

/// A statement for the database: the text as written, parameters replaced by quoted literals
/// (which PostgreSQL types from their context as it would a bound parameter), template
/// variables by their values, and table names unqualified when `naming` asks. The text is
/// edited rather than printed from the AST so that clauses sqlparser does not read (`FOR NO
/// KEY UPDATE`) reach the server as written.
pub fn concrete(
    sql: &str,
    naming: Naming,
    mut value_of: impl FnMut(&str) -> Result<String, Unplannable>,
) -> Result<String, Unplannable> {
    let engine = naming.flavor.engine();
    let parsed = crate::parse::parse_file_with(sql, engine, naming.variables);
    let mut edits: Vec<(TextRange, String)> = Vec::new();
    for statement in &parsed.statements {
        let asts = statement.parsed.as_ref().map_err(|error| {
            format!(
                "{} cannot take `{}`: {}",
                naming.flavor.name(),
                crate::one_line(sql),
                error.message
            )
        })?;
        // Query-file parameters (`%(x)s`, `sqlc.arg(x)`) as the check named them.
        let chunk = crate::parse::split::Chunk {
            range: statement.range,
            tokens: statement.tokens.clone(),
            leading_comments: Vec::new(),
            unterminated: false,
        };
        let rewritten = crate::parse::placeholders::parameter_edits(sql, &chunk, engine);
        let anonymous = anonymous_names(sql, &statement.tokens, naming.tables);
        let mut unnamed = 0;
        let mut unnamed_name = || {
            unnamed += 1;
            format!("?#{unnamed}")
        };
        for edit in &rewritten {
            let name = match edit.replacement.as_str() {
                "$0" | "?" => anonymous
                    .get(&edit.range.start)
                    .cloned()
                    .unwrap_or_else(&mut unnamed_name),
                other => other.to_string(),
            };
            edits.push((edit.range, quote_literal(&value_of(&name)?)));
        }
        let covered = |range: TextRange| {
            rewritten
                .iter()
                .any(|edit| edit.range.start <= range.start && range.end <= edit.range.end)
        };
        // psycopg formats `%(name)s` on the client, inside string literals too
        // (`interval '%(ttl)s seconds'`): the value goes in as its text.
        for token in statement
            .tokens
            .iter()
            .filter(|t| t.kind == TokenKind::String && !covered(t.range))
        {
            for (range, name) in psycopg_placeholders_in(sql, token.range) {
                let value = value_of(&format!(":{name}"))?;
                edits.push((range, value.replace('\'', "''")));
            }
        }
        for token in statement
            .tokens
            .iter()
            .filter(|t| t.kind == TokenKind::Param && !covered(t.range))
        {
            let token_text = token.text(sql);
            if let Some(replacement) = template_variable(sql, token.range, naming) {
                edits.push(replacement);
                continue;
            }
            let name = match anonymous.get(&token.range.start) {
                Some(name) => name.clone(),
                None if token_text == "?" => unnamed_name(),
                None => crate::parse::placeholders::parameter_name(token_text, engine),
            };
            let value = value_of(&name)?;
            edits.push((token.range, quote_literal(&value)));
        }
        if !naming.unqualify {
            continue;
        }
        let text = &sql[statement.range.start..statement.range.end];
        let mut unlocated = None;
        for ast in asts {
            let _ = sqlparser::ast::visit_relations(ast, |name: &ObjectName| {
                let parts: Vec<&Ident> = name.0.iter().filter_map(|part| part.as_ident()).collect();
                if let [first, .., last] = parts.as_slice() {
                    let at = |ident: &Ident| {
                        let start = ident.span.start;
                        crate::parse::offset_at(text, start.line as usize, start.column as usize)
                            .filter(|_| start.line > 0)
                    };
                    match (at(first), at(last)) {
                        (Some(from), Some(to)) if from < to => edits.push((
                            TextRange::new(
                                statement.range.start + from,
                                statement.range.start + to,
                            ),
                            String::new(),
                        )),
                        _ => unlocated = Some(name.to_string()),
                    }
                }
                ControlFlow::<()>::Continue(())
            });
        }
        if let Some(name) = unlocated {
            return Err(format!(
                "cannot locate the table name `{name}` to run it on the modelled tables"
            ));
        }
    }
    edits.sort_by_key(|(range, _)| std::cmp::Reverse(range.start));
    edits.dedup_by_key(|(range, _)| range.start);
    let mut text = sql.to_string();
    let mut last_start = usize::MAX;
    for (range, replacement) in edits {
        if range.end > last_start || text.get(range.start..range.end).is_none() {
            continue;
        }
        text.replace_range(range.start..range.end, &replacement);
        last_start = range.start;
    }
    Ok(text.trim().to_string())
}

/// The names the check gives a statement's anonymous `?` parameters, by each one's offset:
/// `?table.column` for one compared with a column (`id = ?`, `? < n`), assigned to it (`SET
/// balance = ?`) or inserted into it (`INSERT INTO t (a, b) VALUES (?, ?)`). The column's
/// table is the one its qualifier names (a table or an alias), else the first table of the
/// statement that has such a column. Read from the tokens, as the check reads them from the
/// statement: a `?` elsewhere (`LIMIT ?`, a function's argument) has no name here.
fn anonymous_names(
    sql: &str,
    tokens: &[crate::parse::lexer::Token],
    tables: Option<&Tables>,
) -> BTreeMap<usize, String> {
    let tokens: Vec<&crate::parse::lexer::Token> = tokens
        .iter()
        .filter(|token| token.kind != TokenKind::Comment)
        .collect();
    let name_at = |index: usize| -> Option<String> {
        let token = tokens.get(index)?;
        matches!(token.kind, TokenKind::Word | TokenKind::QuotedIdent)
            .then(|| token.ident(sql))
            .flatten()
            .map(|name| name.to_ascii_lowercase())
    };
    let punct_at = |index: usize, wanted: &[&str]| {
        tokens.get(index).is_some_and(|token| {
            token.kind == TokenKind::Punct && wanted.contains(&token.text(sql))
        })
    };
    let word_at = |index: usize, wanted: &[&str]| {
        tokens.get(index).is_some_and(|token| {
            token.kind == TokenKind::Word
                && wanted
                    .iter()
                    .any(|word| token.text(sql).eq_ignore_ascii_case(word))
        })
    };
    // The statement's tables in order, and their aliases.
    let mut statement_tables: Vec<String> = Vec::new();
    let mut aliases: BTreeMap<String, String> = BTreeMap::new();
    // INSERT's target and column list.
    let mut inserted: Option<(String, Vec<String>)> = None;
    for index in 0..tokens.len() {
        if !word_at(index, &["from", "join", "update", "into"]) {
            continue;
        }
        let mut at = index + 1;
        // `db.table`: the table.
        while punct_at(at + 1, &["."]) && name_at(at + 2).is_some() {
            at += 2;
        }
        let Some(table) = name_at(at) else {
            continue;
        };
        statement_tables.push(table.clone());
        let alias_at = if word_at(at + 1, &["as"]) {
            at + 2
        } else {
            at + 1
        };
        const CLAUSES: &[&str] = &[
            "set",
            "where",
            "on",
            "join",
            "left",
            "right",
            "inner",
            "cross",
            "values",
            "value",
            "using",
            "group",
            "order",
            "limit",
            "for",
            "lock",
            "select",
            "natural",
            "straight_join",
        ];
        if !word_at(alias_at, CLAUSES)
            && let Some(alias) = name_at(alias_at)
        {
            aliases.insert(alias, table.clone());
        }
        if word_at(index, &["into"]) && punct_at(at + 1, &["("]) {
            let mut columns = Vec::new();
            let mut next = at + 2;
            while let Some(column) = name_at(next) {
                columns.push(column);
                if !punct_at(next + 1, &[","]) {
                    break;
                }
                next += 2;
            }
            inserted = Some((table, columns));
        }
    }
    let table_of = |qualifier: Option<String>, column: &str| -> Option<String> {
        if let Some(qualifier) = qualifier {
            return Some(aliases.get(&qualifier).cloned().unwrap_or(qualifier));
        }
        let has_column = |table: &String| {
            tables
                .and_then(|tables| tables.find(table).map(|index| &tables.tables[index]))
                .is_some_and(|found| found.column(column).is_some())
        };
        statement_tables
            .iter()
            .find(|table| has_column(table))
            .or(statement_tables.first())
            .cloned()
    };
    // A column reference ending at `index`: the column and its qualifier.
    let reference_ending = |index: usize| -> Option<(Option<String>, String)> {
        let column = name_at(index)?;
        let qualifier = (index >= 2 && punct_at(index - 1, &["."]))
            .then(|| name_at(index - 2))
            .flatten();
        Some((qualifier, column))
    };
    let reference_starting = |index: usize| -> Option<(Option<String>, String)> {
        if punct_at(index + 1, &["."]) {
            Some((Some(name_at(index)?), name_at(index + 2)?))
        } else {
            Some((None, name_at(index)?))
        }
    };
    const COMPARISONS: &[&str] = &["=", "<", ">", "<=", ">=", "<>", "!=", "<=>"];
    let mut names = BTreeMap::new();
    // Inside `VALUES (...)`: the position in the tuple, counted at its own depth.
    let mut values_depth: Option<(usize, usize)> = None;
    // Inside the select list of `INSERT INTO t (...) SELECT ...`: the position in it.
    let mut selected: Option<usize> = None;
    let mut depth = 0usize;
    for (index, token) in tokens.iter().enumerate() {
        if depth == 0 && inserted.is_some() && token.kind == TokenKind::Word {
            if word_at(index, &["select"]) {
                selected = Some(0);
            } else if word_at(
                index,
                &[
                    "from", "where", "group", "having", "order", "limit", "union", "on",
                ],
            ) {
                selected = None;
            }
        }
        match (token.kind, token.text(sql)) {
            (TokenKind::Punct, "(") => {
                depth += 1;
                if values_depth.is_none() && index > 0 && word_at(index - 1, &["values", "value"]) {
                    values_depth = Some((depth, 0));
                }
                continue;
            }
            (TokenKind::Punct, ")") => {
                if values_depth.is_some_and(|(at, _)| at == depth) {
                    values_depth = None;
                }
                depth = depth.saturating_sub(1);
                continue;
            }
            (TokenKind::Punct, ",") => {
                if let Some((at, position)) = &mut values_depth
                    && *at == depth
                {
                    *position += 1;
                }
                if let Some(position) = &mut selected
                    && depth == 0
                {
                    *position += 1;
                }
                continue;
            }
            (TokenKind::Param, "?") => {}
            _ => continue,
        }
        let compared = if index >= 2 && punct_at(index - 1, COMPARISONS) {
            reference_ending(index - 2)
        } else if punct_at(index + 1, COMPARISONS) {
            reference_starting(index + 2)
        } else {
            None
        };
        let named = match (compared, values_depth, &inserted) {
            (Some((qualifier, column)), ..) => {
                table_of(qualifier, &column).map(|table| format!("?{table}.{column}"))
            }
            (None, Some((at, position)), Some((table, columns))) if at == depth => columns
                .get(position)
                .map(|column| format!("?{table}.{column}")),
            // Only a `?` that is the whole item, as the check names it.
            (None, None, Some((table, columns)))
                if depth == 0
                    && index > 0
                    && (punct_at(index - 1, &[","]) || word_at(index - 1, &["select"]))
                    && (index + 1 == tokens.len()
                        || punct_at(index + 1, &[","])
                        || word_at(index + 1, &["from", "where"])) =>
            {
                selected
                    .and_then(|position| columns.get(position))
                    .map(|column| format!("?{table}.{column}"))
            }
            _ => None,
        };
        if let Some(named) = named {
            names.insert(token.range.start, named);
        }
    }
    names
}

/// The `%(name)s` placeholders inside the string literal at `range` of `sql`, with their
/// ranges.
fn psycopg_placeholders_in(sql: &str, range: TextRange) -> Vec<(TextRange, String)> {
    let mut found = Vec::new();
    let Some(text) = sql.get(range.start..range.end) else {
        return found;
    };
    let mut from = 0;
    while let Some(start) = text[from..].find("%(").map(|at| from + at) {
        let rest = &text[start + 2..];
        let name_length = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if name_length > 0 && rest[name_length..].starts_with(")s") {
            let end = start + 2 + name_length + 2;
            found.push((
                TextRange::new(range.start + start, range.start + end),
                rest[..name_length].to_string(),
            ));
            from = end;
        } else {
            from = start + 2;
        }
    }
    found
}

/// A `:name` that is a template variable rather than a parameter: one declared under
/// `[variables]`, or a schema qualifier (`:SCHEMA.jobs`), as the migrations were sent. Its
/// replacement: the value, else the name itself; a dropped qualifier when unqualifying.
fn template_variable(sql: &str, range: TextRange, naming: Naming) -> Option<(TextRange, String)> {
    let name = sql.get(range.start..range.end)?.strip_prefix(':')?;
    let qualifies = sql[range.end..].starts_with('.');
    let declared = naming.variables.get(name).cloned().or_else(|| {
        naming
            .variables
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.clone())
    });
    match (declared, qualifies) {
        (_, true) if naming.unqualify => {
            Some((TextRange::new(range.start, range.end + 1), String::new()))
        }
        (Some(value), _) => Some((range, value)),
        (None, true) => Some((range, name.to_string())),
        (None, false) => None,
    }
}

/// Drops schema (and database) qualifiers from every table name in `statement`.
pub fn unqualify(statement: &mut Statement) {
    let _ = sqlparser::ast::visit_relations_mut(statement, |name: &mut ObjectName| {
        if name.0.len() > 1
            && let Some(last) = name.0.pop()
        {
            name.0 = vec![last];
        }
        ControlFlow::<()>::Continue(())
    });
}

/// Parameter values: given by `-- isolint: example`, else chosen from the finding's bindings
/// (equal where the anomaly needs the same row, distinct integers otherwise).
struct Values<'a> {
    result: &'a CheckResult,
    finding: &'a Finding,
    tables: Option<&'a Tables>,
    /// Per instance: parameter → the table and column it is compared with or stored in.
    columns: Vec<BTreeMap<String, (String, String)>>,
    /// Per instance: parameter → the type it is cast to (a routine's argument type, or a
    /// `$1::bigint[]` in the statement).
    types: Vec<BTreeMap<String, String>>,
    /// Per instance: parameters that stand for arrays (`= ANY($1)`, `unnest(:ids)`,
    /// `jsonb_array_elements($1)`) or row counts (`LIMIT $2`).
    shapes: Vec<BTreeMap<String, Shape>>,
    /// Per instance: parameters that only give a new row its values (INSERT), never pick
    /// rows.
    inserted: Vec<BTreeSet<String>>,
    /// Value of each class of the bindings, by its representative.
    classes: BTreeMap<Atom, String>,
    /// When set, one value per parameter name or column across the instances: the run
    /// again of a finding whose transactions touched different rows with distinct values.
    shared: Option<BTreeMap<String, String>>,
    used: BTreeSet<String>,
    /// See [`Choice::existing_offset`].
    existing_offset: usize,
    chosen: Vec<BTreeMap<String, String>>,
    assumed: BTreeSet<String>,
}

impl<'a> Values<'a> {
    fn new(result: &'a CheckResult, finding: &'a Finding, tables: Option<&'a Tables>) -> Self {
        let columns = finding
            .instances
            .iter()
            .map(|&program| parameter_columns(result, &result.programs[program]))
            .collect();
        let (types, shapes) = finding
            .instances
            .iter()
            .map(|&program| parameter_types(result, &result.programs[program]))
            .unzip();
        let inserted = finding
            .instances
            .iter()
            .map(|&program| inserted_parameters(&result.programs[program]))
            .collect();
        let mut values = Values {
            result,
            finding,
            tables,
            columns,
            inserted,
            types,
            shapes,
            classes: BTreeMap::new(),
            shared: None,
            used: BTreeSet::new(),
            existing_offset: 0,
            chosen: vec![BTreeMap::new(); finding.instances.len()],
            assumed: BTreeSet::new(),
        };
        // Given values first, so that chosen ones avoid them and unified parameters share them.
        for instance in 0..finding.instances.len() {
            if let Some(example) = values.example(instance) {
                for (name, value) in example {
                    for spelling in ["$", ":", "@"] {
                        let atom = Atom::Var(tag(instance), format!("{spelling}{name}"));
                        values
                            .classes
                            .entry(finding.bindings.find(&atom))
                            .or_insert_with(|| value.clone());
                    }
                    values.used.insert(value.clone());
                }
            }
        }
        values
    }

    /// The example for this instance: the k-th instance of a program takes its k-th example.
    fn example(&self, instance: usize) -> Option<&'a BTreeMap<String, String>> {
        let program = self.finding.instances[instance];
        let examples = &self.result.programs[program].examples;
        let earlier = self.finding.instances[..instance]
            .iter()
            .filter(|other| **other == program)
            .count();
        (!examples.is_empty()).then(|| &examples[earlier % examples.len()])
    }

    fn get(&mut self, instance: usize, name: &str) -> Result<String, Unplannable> {
        if is_anonymous(name) {
            return Err(format!(
                "positional `{name}` parameters cannot be bound; use `$1` or named parameters"
            ));
        }
        let bare = name.trim_start_matches(['$', ':', '@']);
        let declared = &self.result.programs[self.finding.instances[instance]].declared;
        let given = self
            .example(instance)
            .and_then(|example| example.get(bare).cloned())
            .or_else(|| declared.get(bare).or_else(|| declared.get(name)).cloned());
        let value = match given {
            Some(value) => value,
            None => {
                let root = self
                    .finding
                    .bindings
                    .find(&Atom::Var(tag(instance), name.into()));
                match &root {
                    Atom::Lit(literal) => literal.trim_matches('\'').to_string(),
                    Atom::Var(..) => match self.classes.get(&root) {
                        Some(value) => value.clone(),
                        None if self.shared_value(instance, name).is_some() => {
                            let value = self.shared_value(instance, name).unwrap_or_default();
                            self.classes.insert(root, value.clone());
                            self.assumed
                                .insert(format!("T{} {name} = {value}", instance + 1));
                            value
                        }
                        None if self.existing(instance, name).is_some() => {
                            let value = self.existing(instance, name).unwrap_or_default();
                            self.used.insert(value.clone());
                            self.classes.insert(root, value.clone());
                            self.share(instance, name, &value);
                            self.assumed.insert(format!(
                                "T{} {name} = {value} {FROM_EXISTING_ROW}",
                                instance + 1
                            ));
                            value
                        }
                        None => {
                            // A new row's key must not be one a row has already.
                            let taken = self.existing_in_column(instance, name);
                            let number = (1..)
                                .find(|n: &u64| {
                                    let text = n.to_string();
                                    !self.used.contains(&text) && !taken.contains(&text)
                                })
                                .unwrap_or_default();
                            self.used.insert(number.to_string());
                            let fresh = self.typed(instance, name, number);
                            self.used.insert(fresh.clone());
                            self.classes.insert(root, fresh.clone());
                            self.share(instance, name, &fresh);
                            self.assumed
                                .insert(format!("T{} {name} = {fresh}", instance + 1));
                            fresh
                        }
                    },
                }
            }
        };
        self.chosen[instance].insert(name.to_string(), value.clone());
        Ok(value)
    }

    /// What parameters share a value by, when values are shared: the column they go with,
    /// then their name (a routine called whole names its argument, not the column it reaches
    /// through its variables).
    fn share_keys(&self, instance: usize, name: &str) -> Vec<String> {
        let column = self.columns[instance]
            .get(name)
            .map(|(table, column)| format!("{table}.{column}"));
        column.into_iter().chain([parameter_key(name)]).collect()
    }

    /// Records `value` as the shared value of `name`'s keys that have none yet.
    fn share(&mut self, instance: usize, name: &str, value: &str) {
        let keys = self.share_keys(instance, name);
        if let Some(shared) = &mut self.shared {
            for key in keys {
                shared.entry(key).or_insert_with(|| value.to_string());
            }
        }
    }

    /// A value of the column the parameter is compared with that a row of the database has
    /// already (made by the migrations or the setup files), so that the project's code finds
    /// the row it looks for: one no other parameter took yet (the first, or the one
    /// [`Choice::existing_offset`] names), else one taken already. None for a
    /// parameter that only goes into a unique column of a new row, which must not collide.
    fn existing(&self, instance: usize, name: &str) -> Option<String> {
        let tables = self.tables?;
        let (table, column) = self.columns[instance].get(name)?;
        let table = &tables.tables[tables.find(table)?];
        if self.inserted[instance].contains(name) && table.is_unique(column) {
            return None;
        }
        let values = table.existing_values(column);
        let free: Vec<&str> = values
            .iter()
            .copied()
            .filter(|value| !self.used.contains(*value))
            .collect();
        // A value the transaction writes into a column (`SET sub_last_tick = x_tick_pos`)
        // changes what the rows hold there only when no row holds it already.
        let held = self.held_where_written(instance, name);
        let changing: Vec<&str> = free
            .iter()
            .copied()
            .filter(|value| !held.contains(*value))
            .collect();
        let choices = if !changing.is_empty() {
            &changing
        } else if !free.is_empty() {
            &free
        } else {
            &values
        };
        let value = choices.get(self.existing_offset % choices.len().max(1))?;
        let bare = parameter_key(name);
        Some(match self.shapes[instance].get(&bare) {
            Some(Shape::Array) => format!(
                "{{\"{}\"}}",
                value.replace('\\', "\\\\").replace('"', "\\\"")
            ),
            Some(Shape::JsonArray { .. } | Shape::Limit | Shape::Offset) => return None,
            None => value.to_string(),
        })
    }

    /// The values rows of the database hold in the columns the instance's UPDATEs assign the
    /// parameter to.
    fn held_where_written(&self, instance: usize, name: &str) -> BTreeSet<String> {
        let Some(tables) = self.tables else {
            return BTreeSet::new();
        };
        let program = &self.result.programs[self.finding.instances[instance]];
        let key = parameter_key(name);
        let mut held = BTreeSet::new();
        for access in program
            .statements
            .iter()
            .flat_map(|statement| &statement.accesses)
        {
            let Some(set) = access.assignments() else {
                continue;
            };
            let Some(table) = tables.find(&access.table) else {
                continue;
            };
            for (column, value) in set {
                let assigned = matches!(
                    value,
                    SetValue::Term(Term::Param(parameter))
                        if parameter == name || parameter_key(parameter) == key
                );
                if assigned {
                    held.extend(
                        tables.tables[table]
                            .existing_values(column)
                            .into_iter()
                            .map(str::to_string),
                    );
                }
            }
        }
        held
    }

    /// The values the other transactions' writes require of the column the parameter goes
    /// with (their `WHERE status IN ('doing', 'failed')`), and the literals they write into
    /// it (`SET status = 'failed'`, a new row's `'failed'`).
    fn met_values(&self, instance: usize, name: &str) -> (BTreeSet<String>, BTreeSet<String>) {
        let mut met = BTreeSet::new();
        let mut written = BTreeSet::new();
        let Some((table, column)) = self.columns[instance].get(name) else {
            return (met, written);
        };
        let unquoted = |value: &String| value.trim_matches('\'').to_string();
        for (other, &program) in self.finding.instances.iter().enumerate() {
            if other == instance {
                continue;
            }
            let accesses = self.result.programs[program]
                .statements
                .iter()
                .flat_map(|statement| &statement.accesses)
                .filter(|access| &access.table == table);
            for access in accesses {
                let writes = matches!(
                    access.kind,
                    AccessKind::Update { .. } | AccessKind::Delete { .. }
                );
                if writes
                    && let Some(crate::access::Domain::In(values)) = access.rows.domains.get(column)
                {
                    met.extend(values.iter().map(unquoted));
                }
                if let Some(SetValue::Term(Term::Literal(value))) =
                    access.assignments().and_then(|set| set.get(column))
                {
                    written.insert(unquoted(value));
                }
                if let (AccessKind::Insert { .. }, Some(Term::Literal(value))) =
                    (&access.kind, access.rows.pins.get(column))
                {
                    written.insert(unquoted(value));
                }
            }
        }
        (met, written)
    }

    /// The values existing rows have in the column the parameter goes with.
    fn existing_in_column(&self, instance: usize, name: &str) -> BTreeSet<String> {
        let Some(tables) = self.tables else {
            return BTreeSet::new();
        };
        self.columns[instance]
            .get(name)
            .and_then(|(table, column)| {
                let table = &tables.tables[tables.find(table)?];
                Some(
                    table
                        .existing_values(column)
                        .into_iter()
                        .map(str::to_string)
                        .collect(),
                )
            })
            .unwrap_or_default()
    }

    fn shared_value(&self, instance: usize, name: &str) -> Option<String> {
        // A new row's unique key is never another transaction's: two inserts of one key
        // cannot both commit, which is no run of an anomaly that needs both.
        if self.inserted[instance].contains(name)
            && self.columns[instance]
                .get(name)
                .is_some_and(|(table, column)| {
                    self.tables.is_some_and(|tables| {
                        tables
                            .find(table)
                            .is_some_and(|at| tables.tables[at].is_unique(column))
                    })
                })
        {
            return None;
        }
        let shared = self.shared.as_ref()?;
        self.share_keys(instance, name)
            .iter()
            .find_map(|key| shared.get(key))
            .cloned()
    }

    /// Fresh value `number` in the type the parameter is cast to or of the column it goes
    /// with: an enum's label, a uuid, a timestamp, an array of composites; the number itself
    /// otherwise.
    fn typed(&self, instance: usize, name: &str, number: u64) -> String {
        match self.shapes[instance].get(&parameter_key(name)) {
            Some(Shape::Limit) => return "100".to_string(),
            Some(Shape::Offset) => return "0".to_string(),
            _ => {}
        }
        let Some(tables) = self.tables else {
            return number.to_string();
        };
        let column = self.columns[instance]
            .get(name)
            .and_then(|(table, column)| tables.tables[tables.find(table)?].column(column));
        let bare = parameter_key(name);
        let shape = self.shapes[instance].get(&bare).copied();
        // An enum's labels: the column's, else those of an enum column the parameter is
        // named after (`states` for `state`), which code that takes the parameter apart
        // (`json_array_elements_text(:states)`) passes on to it.
        let (met, written) = self.met_values(instance, name);
        // A column of no enum type whose values the other transactions' writes require
        // (`WHERE status IN ('Pending', 'Failed')` on a text column) takes one of those: a
        // number would meet none of their rows.
        let required: Vec<String>;
        let labels = match column {
            Some(column) if column.labels.is_empty() && !met.is_empty() => {
                required = met.iter().cloned().collect();
                required.as_slice()
            }
            Some(column) => column.labels.as_slice(),
            None => named_enum_labels(tables, &bare),
        };
        // A state the other transactions both move rows into and act on rows in: the rows
        // they write meet this parameter's rows in it.
        let meeting: BTreeSet<&String> = met.intersection(&written).collect();
        let label = (!labels.is_empty()).then(|| {
            labels
                .iter()
                .filter(|label| meeting.contains(label))
                .find(|label| !self.used.contains(*label))
                .or_else(|| labels.iter().find(|label| meeting.contains(label)))
                .or_else(|| labels.iter().find(|label| !self.used.contains(*label)))
                .or_else(|| labels.first())
                .cloned()
                .unwrap_or_default()
        });
        match (shape, &label) {
            (Some(Shape::JsonArray { text: true }), Some(label)) => {
                return format!("[\"{}\"]", label.replace('\\', "\\\\").replace('"', "\\\""));
            }
            (Some(Shape::JsonArray { text: true }), None) => return format!("[\"{number}\"]"),
            (Some(Shape::JsonArray { text: false }), _) => return "[{}]".to_string(),
            _ => {}
        }
        let array = shape == Some(Shape::Array);
        if let Some(label) = label {
            if !array {
                return label;
            }
            // An array meets the other transactions' rows in every state they act on rows in,
            // when they move rows into one of those states: a row taken through them.
            let states: Vec<&String> = if meeting.is_empty() {
                vec![&label]
            } else {
                labels.iter().filter(|label| met.contains(*label)).collect()
            };
            return format!(
                "{{{}}}",
                states
                    .iter()
                    .map(|state| state.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            );
        }
        let written_array = self.types[instance]
            .get(&bare)
            .is_some_and(|data_type| data_type.ends_with("[]"));
        let written = self.types[instance]
            .get(&bare)
            .cloned()
            .or_else(|| column.map(|column| column.data_type.clone()))
            .map(|data_type| {
                if array && !data_type.ends_with("[]") {
                    format!("{data_type}[]")
                } else {
                    data_type
                }
            });
        written
            .and_then(|data_type| tables.value_of_type(&data_type, &bare, number))
            .unwrap_or_else(|| {
                if array || written_array {
                    format!("{{{number}}}")
                } else {
                    number.to_string()
                }
            })
    }

    fn finish(self) -> (Vec<BTreeMap<String, String>>, Vec<String>) {
        let mut assumptions = Vec::new();
        if self.shared.is_some() {
            assumptions.push(
                "run again with one value per parameter name or column across the \
                 transactions: with distinct values they touched different rows"
                    .to_string(),
            );
        }
        if !self.assumed.is_empty() {
            assumptions.push(format!(
                "{CHOSEN_VALUES} (no `-- isolint: example` gives them): {}",
                self.assumed.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
        (self.chosen, assumptions)
    }
}

/// The labels of the enum column named `parameter` or, for a plural, its singular
/// (`states` → `state`), in the first table that has one; none when no enum column is.
fn named_enum_labels<'t>(tables: &'t Tables, parameter: &str) -> &'t [String] {
    let singular = parameter.strip_suffix('s').unwrap_or(parameter);
    tables
        .tables
        .iter()
        .flat_map(|table| &table.columns)
        .find(|column| {
            !column.labels.is_empty() && (column.name == parameter || column.name == singular)
        })
        .map_or(&[], |column| column.labels.as_slice())
}

/// Each parameter of `program` with the type it is cast to: `CAST(:v AS bigint)` (how a
/// routine's replayed statements carry its arguments' types) and `$1::text[]`.
fn parameter_types(
    result: &CheckResult,
    program: &crate::program::Program,
) -> (BTreeMap<String, String>, BTreeMap<String, Shape>) {
    let mut types = BTreeMap::new();
    let mut arrays = BTreeMap::new();
    for statement in &program.statements {
        let sql = statement_sql(result, program, statement);
        let sql = sql.as_str();
        for (name, data_type) in casts(sql) {
            types
                .entry(statement.parameter(&parameter_key(&name)))
                .or_insert(data_type);
        }
        let tokens = crate::parse::lexer::tokenize(sql, crate::parse::flavor(Engine::Postgres));
        for (index, token) in tokens.iter().enumerate() {
            // `f(` then the parameter, maybe inside `CAST(`.
            let argument = if tokens.get(index + 1).is_some_and(|t| t.text(sql) == "(") {
                match tokens.get(index + 2) {
                    Some(param) if param.kind == TokenKind::Param => Some(param),
                    Some(cast) if cast.is_word(sql, "cast") => tokens
                        .get(index + 4)
                        .filter(|param| param.kind == TokenKind::Param),
                    _ => None,
                }
            } else {
                None
            };
            // `LIMIT :n` and `OFFSET :n`, maybe as `CAST(:n AS integer)`.
            let count = match token.text(sql).to_ascii_lowercase().as_str() {
                "limit" => Some(Shape::Limit),
                "offset" => Some(Shape::Offset),
                _ => None,
            };
            if let Some(count) = count {
                let param = match tokens.get(index + 1) {
                    Some(param) if param.kind == TokenKind::Param => Some(param),
                    Some(cast) if cast.is_word(sql, "cast") => tokens
                        .get(index + 3)
                        .filter(|param| param.kind == TokenKind::Param),
                    _ => None,
                };
                if let Some(param) = param {
                    arrays.insert(statement.parameter(&parameter_key(param.text(sql))), count);
                }
                continue;
            }
            let Some(argument) = argument else {
                continue;
            };
            let function = token.text(sql).to_ascii_lowercase();
            let shape = match function.as_str() {
                "any" | "all" | "unnest" | "array_length" | "cardinality" => Shape::Array,
                "jsonb_array_elements_text" | "json_array_elements_text" => {
                    Shape::JsonArray { text: true }
                }
                "jsonb_array_elements" | "json_array_elements" => Shape::JsonArray { text: false },
                _ => continue,
            };
            arrays.insert(
                statement.parameter(&parameter_key(argument.text(sql))),
                shape,
            );
        }
    }
    (types, arrays)
}

/// What a parameter holds when a statement takes it apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Array,
    /// A JSON array, of strings when its elements are taken as text.
    JsonArray {
        text: bool,
    },
    /// `LIMIT`'s count: enough for every row the run makes.
    Limit,
    /// `OFFSET`'s count: none skipped.
    Offset,
}

/// The statement's SQL as the check names its parameters: a routine's replayed text, or the
/// text where it is written with query-file parameters as `:x`.
fn statement_sql(
    result: &CheckResult,
    program: &crate::program::Program,
    statement: &crate::program::ProgramStatement,
) -> String {
    match &statement.replay {
        Some(replay) => replay.sql.clone(),
        None => {
            let (file, range) = statement.written_in(program.file);
            with_named_parameters(
                result.files[file]
                    .text
                    .get(range.start..range.end)
                    .unwrap_or_default(),
            )
        }
    }
}

/// `sql` with query-file parameters (`%(x)s`, `sqlc.arg(x)`) written `:x`, as the check
/// names them.
fn with_named_parameters(sql: &str) -> String {
    let split = crate::parse::split::split(sql, crate::parse::flavor(Engine::Postgres), false);
    let edits: Vec<_> = split
        .chunks
        .iter()
        .flat_map(|chunk| crate::parse::placeholders::parameter_edits(sql, chunk, Engine::Postgres))
        .collect();
    crate::parse::placeholders::apply(sql, 0, edits)
}

/// A parameter's name without its `:` or `@`: a routine's variable is `:v` in the replayed
/// text and `v` in terms.
fn parameter_key(name: &str) -> String {
    name.trim_start_matches([':', '@']).to_string()
}

/// `(parameter, type)` of every `CAST(:name AS type)`, `CAST($1 AS type)` and `$1::type` in
/// `sql`.
fn casts(sql: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let tokens = crate::parse::lexer::tokenize(sql, crate::parse::flavor(Engine::Postgres));
    for (index, token) in tokens.iter().enumerate() {
        if token.kind != TokenKind::Param {
            continue;
        }
        let name = token.text(sql).to_string();
        let text_of = |at: usize| tokens.get(at).map(|t| t.text(sql));
        let type_end = if index >= 2
            && text_of(index - 1) == Some("(")
            && tokens[index - 2].is_word(sql, "cast")
            && tokens.get(index + 1).is_some_and(|t| t.is_word(sql, "as"))
        {
            // Up to the parenthesis that closes the CAST.
            let mut depth = 0usize;
            let mut end = None;
            for later in &tokens[index + 2..] {
                match later.text(sql) {
                    "(" => depth += 1,
                    ")" if depth == 0 => {
                        end = Some((tokens[index + 1].range.end, later.range.start));
                        break;
                    }
                    ")" => depth -= 1,
                    _ => {}
                }
            }
            end
        } else if text_of(index + 1) == Some(":") && text_of(index + 2) == Some(":") {
            // A type name: words, dots, quotes and `[]`, no spaces.
            tokens.get(index + 2).map(|colon| {
                let start = colon.range.end;
                let length = sql[start..]
                    .find(|c: char| {
                        !(c.is_alphanumeric() || matches!(c, '_' | '.' | '"' | '[' | ']'))
                    })
                    .unwrap_or(sql.len() - start);
                (start, start + length)
            })
        } else {
            None
        };
        if let Some((start, end)) = type_end
            && let Some(data_type) = sql.get(start..end)
        {
            let data_type = data_type.trim();
            if !data_type.is_empty() {
                found.push((name, data_type.to_string()));
            }
        }
    }
    found
}

/// Each parameter of `program` with a column it is compared with (a pinned column), assigned
/// to or inserted into.
fn parameter_columns(
    result: &CheckResult,
    program: &crate::program::Program,
) -> BTreeMap<String, (String, String)> {
    let mut columns = BTreeMap::new();
    for statement in &program.statements {
        for access in &statement.accesses {
            for (column, term) in &access.rows.pins {
                if let Term::Param(name) = term {
                    columns
                        .entry(name.clone())
                        .or_insert_with(|| (access.table.clone(), column.clone()));
                }
            }
            if let AccessKind::Update { set, .. } = &access.kind {
                for (column, value) in set {
                    if let SetValue::Term(Term::Param(name)) = value {
                        columns
                            .entry(name.clone())
                            .or_insert_with(|| (access.table.clone(), column.clone()));
                    }
                }
            }
        }
        // A parameter compared with `column` in the WHERE of one of the statement's accesses
        // stands for that column's values: named as the statement writes it (`:names`, `$1`)
        // and as a routine's variable is named in terms (`names`).
        let compared_with =
            |columns: &mut BTreeMap<String, (String, String)>, parameter: &str, column: &str| {
                let table = statement.accesses.iter().find(|access| {
                    let predicate = match &access.kind {
                        AccessKind::Read { predicate, .. }
                        | AccessKind::Update { predicate, .. }
                        | AccessKind::Delete { predicate } => Some(predicate),
                        _ => None,
                    };
                    predicate.is_some_and(|predicate| predicate.contains(column))
                });
                if let Some(access) = table {
                    let keys = [
                        parameter.to_string(),
                        parameter_key(parameter),
                        statement.parameter(parameter),
                    ];
                    for key in keys {
                        columns
                            .entry(key)
                            .or_insert_with(|| (access.table.clone(), column.to_string()));
                    }
                }
            };
        // `queue_name = ANY(:names)`: an array of the column's values.
        let sql = statement_sql(result, program, statement);
        let tokens = crate::parse::lexer::tokenize(&sql, crate::parse::flavor(Engine::Postgres));
        for (index, token) in tokens.iter().enumerate() {
            if token.kind != TokenKind::Word
                || tokens.get(index + 1).map(|t| t.text(&sql)) != Some("=")
                || !tokens
                    .get(index + 2)
                    .is_some_and(|t| t.is_word(&sql, "any"))
                || tokens.get(index + 3).map(|t| t.text(&sql)) != Some("(")
            {
                continue;
            }
            let parameter = match tokens.get(index + 4) {
                Some(param) if param.kind == TokenKind::Param => Some(param),
                Some(cast) if cast.is_word(&sql, "cast") => tokens
                    .get(index + 6)
                    .filter(|param| param.kind == TokenKind::Param),
                _ => None,
            };
            let (Some(parameter), Some(column)) = (parameter, token.ident(&sql)) else {
                continue;
            };
            compared_with(&mut columns, parameter.text(&sql), &column);
        }
        // `scheduled_at <= coalesce(:before, now())`, `attempt < :max`: a value of the
        // column's type, though it pins no row.
        for (index, token) in tokens.iter().enumerate() {
            let Some(column) = token.ident(&sql).filter(|_| token.kind == TokenKind::Word) else {
                continue;
            };
            // The column alone on its side: not `now() - last_seen >= $1`.
            let mut first = index;
            while first >= 2
                && tokens[first - 1].text(&sql) == "."
                && matches!(
                    tokens[first - 2].kind,
                    TokenKind::Word | TokenKind::QuotedIdent
                )
            {
                first -= 2;
            }
            let operand = first > 0
                && tokens[first - 1].kind == TokenKind::Punct
                && matches!(
                    tokens[first - 1].text(&sql),
                    "-" | "+" | "*" | "/" | "|" | "%" | "^"
                );
            if operand {
                continue;
            }
            let Some(mut at) = past_comparison(&tokens, &sql, index + 1) else {
                continue;
            };
            let wrapped = tokens.get(at).is_some_and(|t| {
                ["coalesce", "greatest", "least"]
                    .iter()
                    .any(|function| t.is_word(&sql, function))
            }) && tokens.get(at + 1).map(|t| t.text(&sql)) == Some("(");
            if wrapped {
                at += 2;
            }
            let Some(parameter) = tokens.get(at).filter(|t| t.kind == TokenKind::Param) else {
                continue;
            };
            compared_with(&mut columns, parameter.text(&sql), &column);
        }
        // `$2 >= scheduled_at`: the same with the parameter on the left.
        for (index, token) in tokens.iter().enumerate() {
            if token.kind != TokenKind::Param {
                continue;
            }
            let Some(at) = past_comparison(&tokens, &sql, index + 1) else {
                continue;
            };
            // The column, maybe qualified (`t.scheduled_at`), alone on its side.
            let mut last = at;
            while tokens.get(last + 1).is_some_and(|t| t.text(&sql) == ".")
                && tokens
                    .get(last + 2)
                    .is_some_and(|t| matches!(t.kind, TokenKind::Word | TokenKind::QuotedIdent))
            {
                last += 2;
            }
            let operand = tokens.get(last + 1).is_some_and(|t| {
                t.kind == TokenKind::Punct
                    && matches!(t.text(&sql), "-" | "+" | "*" | "/" | "|" | "%" | "^" | "(")
            });
            let Some(column) = tokens
                .get(last)
                .filter(|t| t.kind == TokenKind::Word && !operand)
                .and_then(|t| t.ident(&sql))
            else {
                continue;
            };
            compared_with(&mut columns, token.text(&sql), &column);
        }
    }
    columns
}

/// The position after the comparison operator (`<`, `>=`, `<>`, `!=`, `=`) that starts at
/// `start`, if one does.
fn past_comparison(
    tokens: &[crate::parse::lexer::Token],
    sql: &str,
    start: usize,
) -> Option<usize> {
    let mut at = start;
    while tokens
        .get(at)
        .is_some_and(|t| t.kind == TokenKind::Punct && matches!(t.text(sql), "<" | ">" | "=" | "!"))
    {
        at += 1;
    }
    (at > start).then_some(at)
}

/// The parameters of `program` that appear only as values of inserted rows.
fn inserted_parameters(program: &crate::program::Program) -> BTreeSet<String> {
    let mut inserted = BTreeSet::new();
    let mut picking = BTreeSet::new();
    for access in program
        .statements
        .iter()
        .flat_map(|statement| &statement.accesses)
    {
        let into = if matches!(access.kind, AccessKind::Insert { .. }) {
            &mut inserted
        } else {
            &mut picking
        };
        for term in access.rows.pins.values() {
            if let Term::Param(name) = term {
                into.insert(name.clone());
            }
        }
    }
    inserted.retain(|name| !picking.contains(name));
    inserted
}

fn tag(instance: usize) -> u8 {
    u8::try_from(instance).unwrap_or(u8::MAX)
}

fn is_anonymous(name: &str) -> bool {
    name == "?"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::testing::check;
    use crate::analysis::unify::Unifier;
    use crate::semantics::Engine;

    /// Each step as `<session number><action>`: `1Begin`, `2Statement(0)`.
    fn shown(steps: &[PlannedStep]) -> Vec<String> {
        steps
            .iter()
            .map(|step| format!("{}{:?}", step.session + 1, step.action))
            .collect()
    }

    fn same_value(bindings: &Unifier, a: (usize, &str), b: (usize, &str)) -> bool {
        bindings.equal(
            &Atom::Var(tag(a.0), a.1.to_string()),
            &Atom::Var(tag(b.0), b.1.to_string()),
        )
    }

    const NO_VARIABLES: &Variables = &Variables::new();

    fn modelled() -> Naming<'static> {
        Naming {
            unqualify: true,
            variables: NO_VARIABLES,
            tables: None,
            flavor: Flavor::Postgres,
        }
    }

    fn verbatim() -> Naming<'static> {
        Naming {
            unqualify: false,
            ..modelled()
        }
    }

    fn table(name: &str, columns: &[&str]) -> super::super::catalog::Table {
        super::super::catalog::Table {
            oid: 0,
            schema: String::new(),
            name: name.to_string(),
            partitioned: false,
            columns: columns
                .iter()
                .map(|column| super::super::catalog::Column::plain(column, "integer"))
                .collect(),
            checks: Vec::new(),
            foreign_keys: Vec::new(),
            unique_keys: Vec::new(),
            existing: Vec::new(),
        }
    }

    /// Every parameter `concrete` asks a value for, in order.
    fn asked(sql: &str, naming: Naming) -> Vec<String> {
        let mut asked = Vec::new();
        let bound = concrete(sql, naming, |name| {
            asked.push(name.to_string());
            Ok(asked.len().to_string())
        });
        assert!(bound.is_ok(), "{bound:?}");
        asked
    }

    #[test]
    fn anonymous_parameters_are_named_after_their_columns() {
        let mysql = Naming {
            flavor: Flavor::Mysql,
            ..verbatim()
        };
        assert_eq!(
            asked(
                "UPDATE `accounts` a SET balance = ?, updated_at = NOW() \
                 WHERE a.`id` = ? AND ? < version LIMIT ?",
                mysql
            ),
            [
                "?accounts.balance",
                "?accounts.id",
                "?accounts.version",
                "?#1"
            ]
        );
        assert_eq!(
            asked(
                "INSERT INTO `bookings` (`room_id`, `stay_date`, `note`) VALUES (?, ?, LOWER(?))",
                mysql
            ),
            // A `?` inside a function is no column's value: the check leaves it unnamed.
            ["?bookings.room_id", "?bookings.stay_date", "?#1"]
        );
        // `INSERT ... SELECT ?, ...`: a `?` of the select list is the value of its column.
        assert_eq!(
            asked(
                "INSERT INTO notes (invoice_id, note_no, body) SELECT ?, max(note_no) + ?, ? \
                 FROM notes WHERE invoice_id = ?",
                mysql
            ),
            [
                "?notes.invoice_id",
                "?#1",
                "?notes.body",
                "?notes.invoice_id"
            ]
        );
        // The column's table, among a join's, is the one the catalog gives that column.
        let tables = Tables {
            tables: vec![
                table("orders", &["id", "customer_id"]),
                table("customers", &["id", "email"]),
            ],
            ..Tables::default()
        };
        assert_eq!(
            asked(
                "SELECT o.id FROM orders o JOIN customers c ON c.id = o.customer_id \
                 WHERE email = ? AND o.id = ?",
                Naming {
                    tables: Some(&tables),
                    ..mysql
                }
            ),
            ["?customers.email", "?orders.id"]
        );
    }

    const SCHEMA: &str = "CREATE TABLE oncall (shift_id int, doctor_id int, on_call boolean,
        PRIMARY KEY (shift_id, doctor_id));";

    #[test]
    fn write_skew_binds_the_same_shift_and_different_doctors() {
        let result = check(
            Engine::Postgres,
            &[],
            None,
            SCHEMA,
            "-- name: leave
            BEGIN;
            SELECT count(*) FROM public.oncall WHERE shift_id = $1 AND on_call;
            UPDATE oncall SET on_call = false WHERE shift_id = $1 AND doctor_id = $2;
            COMMIT;",
            &[],
        )
        .0;
        let finding = &result.findings[0];
        assert!(same_value(&finding.bindings, (0, "$1"), (1, "$1")));
        assert!(!same_value(&finding.bindings, (0, "$2"), (1, "$2")));
        let plan = plan(
            &result,
            finding,
            modelled(),
            &BTreeMap::new(),
            Choice::default(),
        )
        .unwrap();
        assert_eq!(
            plan.sessions[0].statements[0],
            "SELECT count(*) FROM oncall WHERE shift_id = '1' AND on_call"
        );
        assert_eq!(
            plan.sessions[1].statements[1],
            "UPDATE oncall SET on_call = false WHERE shift_id = '1' AND doctor_id = '3'"
        );
        assert_eq!(plan.parameters[0]["$2"], "2");
        let order = shown(&plan.steps);
        assert_eq!(
            order,
            [
                "1Begin",
                "1Statement(0)",
                "2Begin",
                "2Statement(0)",
                "1Statement(1)",
                "2Statement(1)",
                "1Commit",
                "2Commit"
            ]
        );
    }

    /// T1 is a routine that runs as one call; the witness has it read, T2 write and commit,
    /// then T1 write. Run at its read, the call would finish before T2 began.
    #[test]
    fn a_routine_run_as_one_call_runs_just_before_the_commit_it_must_wait_for() {
        use crate::analysis::finding::WitnessStep;
        let session = |label: &str, statements: usize| Session {
            label: label.to_string(),
            program: 0,
            level: Level::ReadCommitted,
            statements: vec![String::new(); statements],
            captures: vec![Vec::new(); statements],
            rolls_back: false,
            routine: true,
            commits_after: Vec::new(),
            returns_if_found: Vec::new(),
        };
        let sessions = [session("T1", 1), session("T2", 1)];
        // T1's two program statements both run inside its one call; T2's one statement.
        let positions = [vec![0, 0], vec![0]];
        let step = |instance: usize, step: Step| WitnessStep { instance, step };
        let finding = Finding {
            rule: crate::rule::Rule::LostUpdate,
            message: String::new(),
            programs: vec![0, 1],
            instances: vec![0, 1],
            primary: crate::analysis::finding::StatementRef {
                program: 0,
                statement: 0,
            },
            related: vec![],
            witness: vec![
                step(0, Step::Statement(0)),
                step(1, Step::Statement(0)),
                step(1, Step::Commit),
                step(0, Step::Statement(1)),
                step(0, Step::Commit),
            ],
            bindings: Unifier::default(),
            fixes: vec![],
            partners: Vec::new(),
            severity: None,
            why: String::new(),
        };
        let order = shown(&schedule(
            &finding,
            &sessions,
            &positions,
            &[true, true],
            &[],
        ));
        assert_eq!(
            order,
            [
                "2Begin",
                "2Statement(0)",
                "1Begin",
                "1Statement(0)",
                "2Commit",
                "1Commit"
            ]
        );
        // When its last statement only reads, nothing in the call waits: it runs where it
        // first appears.
        let order = shown(&schedule(
            &finding,
            &sessions,
            &positions,
            &[false, true],
            &[],
        ));
        assert_eq!(
            order,
            [
                "1Begin",
                "1Statement(0)",
                "2Begin",
                "2Statement(0)",
                "2Commit",
                "1Commit"
            ]
        );
        // Replayed statement by statement, T1 reads first, as the witness says.
        let replayed = [session("T1", 2), session("T2", 1)];
        let order = shown(&schedule(
            &finding,
            &replayed,
            &[vec![0, 1], vec![0]],
            &[true, true],
            &[],
        ));
        assert_eq!(
            order,
            [
                "1Begin",
                "1Statement(0)",
                "2Begin",
                "2Statement(0)",
                "2Commit",
                "1Statement(1)",
                "1Commit"
            ]
        );
        // With a pause before T1's second statement, T1's call starts where the witness has
        // it start, and the controller (session 3) releases it after T2's commit.
        let pause = Pause {
            session: 0,
            statement: 1,
            text: "SELECT 1".to_string(),
        };
        let order = shown(&schedule(
            &finding,
            &sessions,
            &positions,
            &[false, false],
            &[pause],
        ));
        assert_eq!(
            order,
            [
                "3Statement(0)",
                "1Begin",
                "1Statement(0)",
                "2Begin",
                "2Statement(0)",
                "2Commit",
                "3Statement(1)",
                "1Commit"
            ]
        );
    }

    #[test]
    fn a_limit_takes_every_row_and_an_offset_skips_none() {
        let plan = plan_of_first_finding(
            "-- name: leave
            BEGIN;
            SELECT doctor_id FROM oncall WHERE shift_id = $1 AND on_call LIMIT $3 OFFSET $4;
            UPDATE oncall SET on_call = false WHERE shift_id = $1 AND doctor_id = $2;
            COMMIT;",
        );
        assert!(
            plan.sessions[0].statements[0].ends_with("LIMIT '100' OFFSET '0'"),
            "{}",
            plan.sessions[0].statements[0]
        );
    }

    /// The plan of the first finding of `transactions` over [`SCHEMA`] on PostgreSQL.
    fn plan_of_first_finding(transactions: &str) -> Plan {
        let result = check(Engine::Postgres, &[], None, SCHEMA, transactions, &[]).0;
        plan(
            &result,
            &result.findings[0],
            modelled(),
            &BTreeMap::new(),
            Choice::default(),
        )
        .unwrap()
    }

    #[test]
    fn examples_give_values_per_instance() {
        let plan = plan_of_first_finding(
            "-- name: leave
            -- isolint: example 1=10 2=100
            -- isolint: example 1=10 2=200
            BEGIN;
            SELECT count(*) FROM oncall WHERE shift_id = $1 AND on_call;
            UPDATE oncall SET on_call = false WHERE shift_id = $1 AND doctor_id = $2;
            COMMIT;",
        );
        assert!(plan.sessions[0].statements[1].ends_with("doctor_id = '100'"));
        assert!(plan.sessions[1].statements[1].ends_with("doctor_id = '200'"));
        assert!(plan.assumptions.is_empty(), "{:?}", plan.assumptions);
    }

    #[test]
    fn text_is_kept_as_written_with_names_unqualified() {
        let sql = "SELECT balance FROM \"shop\".accounts a JOIN public.limits l ON l.id = a.id\n  WHERE a.id = :id FOR NO KEY UPDATE OF a";
        let bound = concrete(sql, modelled(), |name| Ok(format!("{name}'s"))).unwrap();
        assert_eq!(
            bound,
            "SELECT balance FROM accounts a JOIN limits l ON l.id = a.id\n  WHERE a.id = ':id''s' FOR NO KEY UPDATE OF a"
        );
        let kept = concrete(sql, verbatim(), |name| Ok(format!("{name}'s"))).unwrap();
        assert!(kept.starts_with("SELECT balance FROM \"shop\".accounts a JOIN public.limits"));
    }

    #[test]
    fn statements_postgres_cannot_take_are_unplannable() {
        let error = concrete("SELEC 1", verbatim(), |_| Ok(String::new())).unwrap_err();
        assert!(
            error.contains("PostgreSQL cannot take `SELEC 1`"),
            "{error}"
        );
        let error = concrete("SELECT * FROM t WHERE id = ?", verbatim(), |name| {
            Err(format!("no value for {name}"))
        })
        .unwrap_err();
        // A JDBC `?` is asked for by the name the check gives it: its column's.
        assert_eq!(error, "no value for ?t.id");
    }

    #[test]
    fn casts_give_parameters_their_types() {
        assert_eq!(
            casts(
                "SELECT f(CAST(:new AS mq_new_t[]), CAST(:n AS numeric(10, 2))) WHERE id = ANY($1::bigint[]) AND s = $2::pgq.state"
            ),
            [
                (":new".to_string(), "mq_new_t[]".to_string()),
                (":n".to_string(), "numeric(10, 2)".to_string()),
                ("$1".to_string(), "bigint[]".to_string()),
                ("$2".to_string(), "pgq.state".to_string()),
            ]
        );
    }

    #[test]
    fn query_file_parameters_and_template_variables_are_bound() {
        let variables = Variables::from([("app".to_string(), "shop".to_string())]);
        let naming = Naming {
            variables: &variables,
            ..verbatim()
        };
        let bound = concrete(
            "SELECT * FROM :GRAPHILE_WORKER_SCHEMA.jobs j JOIN :app.t USING (id) WHERE j.id = %(job_id)s AND q = sqlc.arg(queue)",
            naming,
            |name| Ok(format!("<{name}>")),
        )
        .unwrap();
        assert_eq!(
            bound,
            "SELECT * FROM GRAPHILE_WORKER_SCHEMA.jobs j JOIN shop.t USING (id) WHERE j.id = '<:job_id>' AND q = '<:queue>'"
        );
        let dropped = concrete(
            "SELECT * FROM :GRAPHILE_WORKER_SCHEMA.jobs WHERE id = $1",
            modelled(),
            |_| Ok("7".to_string()),
        )
        .unwrap();
        assert_eq!(dropped, "SELECT * FROM jobs WHERE id = '7'");
    }

    #[test]
    fn psycopg_placeholders_inside_string_literals_take_the_value_as_text() {
        let bound = concrete(
            "SELECT now() + interval '%(ttl)s seconds' WHERE name = %(name)s AND note = '100%%'",
            verbatim(),
            |name| Ok(format!("<{name}>")),
        )
        .unwrap();
        assert_eq!(
            bound,
            "SELECT now() + interval '<:ttl> seconds' WHERE name = '<:name>' AND note = '100%%'"
        );
    }

    #[test]
    fn statements_of_a_trigger_run_inside_the_write_that_fires_it() {
        let result = check(
            Engine::Postgres,
            &[],
            None,
            "CREATE TABLE jobs (id int PRIMARY KEY, status text, n int);
             CREATE TABLE events (job_id int, status text);
             CREATE FUNCTION log_status() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN INSERT INTO events VALUES (NEW.id, NEW.status); RETURN NEW; END $$;
             CREATE TRIGGER log AFTER UPDATE ON jobs FOR EACH ROW EXECUTE FUNCTION log_status();",
            "-- name: finish
            BEGIN;
            SELECT n FROM jobs WHERE id = $1;
            UPDATE jobs SET n = $2 WHERE id = $1;
            COMMIT;",
            &[],
        )
        .0;
        let finding = &result.findings[0];
        let plan = plan(
            &result,
            finding,
            verbatim(),
            &BTreeMap::new(),
            Choice::default(),
        )
        .unwrap();
        assert_eq!(
            plan.sessions[0].statements.len(),
            2,
            "{:?}",
            plan.sessions[0]
        );
        assert!(
            plan.assumptions
                .iter()
                .any(|assumption| assumption.contains("trigger log")),
            "{:?}",
            plan.assumptions
        );
    }
}
