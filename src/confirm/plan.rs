//! From a finding to something a database can run: one session per transaction instance with
//! its statements made concrete (parameters bound, names resolved in the scratch schema), and
//! the witness interleaving as an ordered list of steps.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;

use sqlparser::ast::{Ident, ObjectName, Statement};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use crate::CheckResult;
use crate::analysis::finding::{Finding, Step};
use crate::analysis::unify::Atom;
use crate::parse::lexer::TokenKind;
use crate::semantics::{Engine, Level};
use crate::source::TextRange;

use super::database::quote_literal;

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
}

/// Why a finding cannot be confirmed; the verdict is inconclusive with this reason.
pub type Unplannable = String;

/// Binds the finding's transactions and lays out its schedule.
pub fn plan(result: &CheckResult, finding: &Finding) -> Result<Plan, Unplannable> {
    let mut values = Values::new(result, finding);
    let mut sessions = Vec::new();
    for (instance, &program) in finding.instances.iter().enumerate() {
        let source = &result.programs[program];
        let text = &result.files[source.file].text;
        let mut statements = Vec::new();
        let mut captures = Vec::new();
        // Routine variables assigned so far, by INTO of an earlier statement.
        let mut assigned: Vec<String> = Vec::new();
        for statement in &source.statements {
            let Some(replay) = &statement.replay else {
                let sql = text
                    .get(statement.range.start..statement.range.end)
                    .unwrap_or_default();
                statements.push(concrete(sql, |name| values.get(instance, name))?);
                captures.push(Vec::new());
                continue;
            };
            if let Some(why) = &replay.unsupported {
                return Err(format!("`{}` cannot be replayed: {why}", source.name));
            }
            let sql = concrete(&replay.sql, |name| {
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
        });
    }
    let steps = schedule(finding, &sessions);
    let (parameters, assumptions) = values.finish();
    Ok(Plan {
        sessions,
        steps,
        parameters,
        assumptions,
    })
}

/// The placeholder for a routine variable's value, which the session fills in when the
/// statement that reads it into the variable has run (quoted as a literal by [`concrete`]).
pub fn captured(variable: &str) -> String {
    format!("\u{1}{variable}\u{1}")
}

/// The witness with BEGIN before each session's first step and the statements it skips
/// filled in, in program order.
fn schedule(finding: &Finding, sessions: &[Session]) -> Vec<PlannedStep> {
    let mut next = vec![0; sessions.len()];
    let mut begun = vec![false; sessions.len()];
    let mut ended = vec![false; sessions.len()];
    let mut steps = Vec::new();
    let mut run_until = |steps: &mut Vec<PlannedStep>, session: usize, until: usize| {
        if !begun[session] {
            begun[session] = true;
            steps.push(PlannedStep {
                session,
                action: Action::Begin,
            });
        }
        while next[session] < until.min(sessions[session].statements.len()) {
            steps.push(PlannedStep {
                session,
                action: Action::Statement(next[session]),
            });
            next[session] += 1;
        }
    };
    for step in &finding.witness {
        let session = step.instance;
        if session >= sessions.len() || ended[session] {
            continue;
        }
        match step.step {
            Step::Statement(statement) => run_until(&mut steps, session, statement + 1),
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

/// The statements of `sql` as PostgreSQL reads them, table names unqualified so that they
/// resolve in the scratch schema and nowhere else.
pub fn prepare(sql: &str) -> Result<Vec<Statement>, Unplannable> {
    let mut statements = Parser::parse_sql(&PostgreSqlDialect {}, sql)
        .map_err(|error| format!("PostgreSQL cannot take `{}`: {error}", crate::one_line(sql)))?;
    statements.iter_mut().for_each(unqualify);
    Ok(statements)
}

/// A statement for the scratch schema: the text as written, table names unqualified and
/// parameters replaced by quoted literals (which PostgreSQL types from their context as it
/// would a bound parameter). The text is edited rather than printed from the AST so that
/// clauses sqlparser does not read (`FOR NO KEY UPDATE`) reach the server as written.
pub fn concrete(
    sql: &str,
    mut value_of: impl FnMut(&str) -> Result<String, Unplannable>,
) -> Result<String, Unplannable> {
    let parsed = crate::parse::parse_file(sql, Engine::Postgres);
    let mut edits: Vec<(TextRange, String)> = Vec::new();
    for statement in &parsed.statements {
        let asts = statement.parsed.as_ref().map_err(|error| {
            format!(
                "PostgreSQL cannot take `{}`: {}",
                crate::one_line(sql),
                error.message
            )
        })?;
        for token in statement
            .tokens
            .iter()
            .filter(|t| t.kind == TokenKind::Param)
        {
            let name =
                crate::parse::placeholders::parameter_name(token.text(sql), Engine::Postgres);
            let value = value_of(&name)?;
            edits.push((token.range, quote_literal(&value)));
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
                "cannot locate the table name `{name}` to run it in a scratch schema"
            ));
        }
    }
    edits.sort_by_key(|(range, _)| std::cmp::Reverse(range.start));
    edits.dedup_by_key(|(range, _)| range.start);
    let mut text = sql.to_string();
    for (range, replacement) in edits {
        text.replace_range(range.start..range.end, &replacement);
    }
    Ok(text.trim().to_string())
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
    /// Value of each class of the bindings, by its representative.
    classes: BTreeMap<Atom, String>,
    used: BTreeSet<String>,
    chosen: Vec<BTreeMap<String, String>>,
    assumed: BTreeSet<String>,
}

impl<'a> Values<'a> {
    fn new(result: &'a CheckResult, finding: &'a Finding) -> Self {
        let mut values = Values {
            result,
            finding,
            classes: BTreeMap::new(),
            used: BTreeSet::new(),
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
        let given = self
            .example(instance)
            .and_then(|example| example.get(bare).cloned());
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
                        None => {
                            let fresh = (1..)
                                .map(|n: u64| n.to_string())
                                .find(|n| !self.used.contains(n))
                                .unwrap_or_default();
                            self.used.insert(fresh.clone());
                            self.classes.insert(root, fresh.clone());
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

    fn finish(self) -> (Vec<BTreeMap<String, String>>, Vec<String>) {
        let mut assumptions = Vec::new();
        if !self.assumed.is_empty() {
            assumptions.push(format!(
                "parameter values chosen (no `-- isolint: example` gives them): {}",
                self.assumed.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
        (self.chosen, assumptions)
    }
}

fn tag(instance: usize) -> u8 {
    u8::try_from(instance).unwrap_or(u8::MAX)
}

fn is_anonymous(name: &str) -> bool {
    name.starts_with('?')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::testing::check;
    use crate::analysis::unify::Unifier;
    use crate::semantics::Engine;

    fn same_value(bindings: &Unifier, a: (usize, &str), b: (usize, &str)) -> bool {
        bindings.equal(
            &Atom::Var(tag(a.0), a.1.to_string()),
            &Atom::Var(tag(b.0), b.1.to_string()),
        )
    }

    const SCHEMA: &str = "CREATE TABLE oncall (shift_id int, doctor_id int, on_call boolean,
        PRIMARY KEY (shift_id, doctor_id));";

    #[test]
    fn write_skew_binds_the_same_shift_and_different_doctors() {
        let result = check(
            Engine::Postgres,
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
        let plan = plan(&result, finding).unwrap();
        assert_eq!(
            plan.sessions[0].statements[0],
            "SELECT count(*) FROM oncall WHERE shift_id = '1' AND on_call"
        );
        assert_eq!(
            plan.sessions[1].statements[1],
            "UPDATE oncall SET on_call = false WHERE shift_id = '1' AND doctor_id = '3'"
        );
        assert_eq!(plan.parameters[0]["$2"], "2");
        let shown: Vec<String> = plan
            .steps
            .iter()
            .map(|step| format!("{}{:?}", step.session + 1, step.action))
            .collect();
        assert_eq!(
            shown,
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

    #[test]
    fn examples_give_values_per_instance() {
        let result = check(
            Engine::Postgres,
            None,
            SCHEMA,
            "-- name: leave
            -- isolint: example 1=10 2=100
            -- isolint: example 1=10 2=200
            BEGIN;
            SELECT count(*) FROM oncall WHERE shift_id = $1 AND on_call;
            UPDATE oncall SET on_call = false WHERE shift_id = $1 AND doctor_id = $2;
            COMMIT;",
            &[],
        )
        .0;
        let plan = plan(&result, &result.findings[0]).unwrap();
        assert!(plan.sessions[0].statements[1].ends_with("doctor_id = '100'"));
        assert!(plan.sessions[1].statements[1].ends_with("doctor_id = '200'"));
        assert!(plan.assumptions.is_empty(), "{:?}", plan.assumptions);
    }

    #[test]
    fn text_is_kept_as_written_with_names_unqualified() {
        let sql = "SELECT balance FROM \"shop\".accounts a JOIN public.limits l ON l.id = a.id\n  WHERE a.id = :id FOR NO KEY UPDATE OF a";
        let bound = concrete(sql, |name| Ok(format!("{name}'s"))).unwrap();
        assert_eq!(
            bound,
            "SELECT balance FROM accounts a JOIN limits l ON l.id = a.id\n  WHERE a.id = ':id''s' FOR NO KEY UPDATE OF a"
        );
    }

    #[test]
    fn statements_postgres_cannot_take_are_unplannable() {
        let error = concrete("SELEC 1", |_| Ok(String::new())).unwrap_err();
        assert!(
            error.contains("PostgreSQL cannot take `SELEC 1`"),
            "{error}"
        );
        let error = concrete("SELECT * FROM t WHERE id = ?", |name| {
            Err(format!("no value for {name}"))
        })
        .unwrap_err();
        assert_eq!(error, "no value for ?");
    }
}
