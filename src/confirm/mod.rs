//! `isolint confirm`: runs each finding's witness interleaving on a real PostgreSQL and
//! decides by serializability whether the anomaly happened.
//!
//! ```text
//! plan (bind parameters, complete the schedule) → scratch schema (DDL, seed rows)
//!   → session (run the interleaving, then every serial order, each on fresh rows)
//!   → verdict (does the interleaved outcome match a serial one?)
//! ```
//!
//! Everything runs in a schema of its own, `isolint_confirm_<random>`, dropped afterwards;
//! table names in the project's SQL are unqualified so that nothing else is touched.

pub mod database;
pub mod plan;
pub mod seed;
pub mod session;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use sqlparser::ast::Statement;

use crate::CheckResult;
use crate::analysis::finding::Finding;
use crate::source::Role;
use database::{Database, Scratch};
use plan::{Action, Plan, PlannedStep};
use session::{Event, Execution, Outcome};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The interleaved outcome matches no serial order: the anomaly happened.
    Reproduced,
    /// A serialization failure, a deadlock or a constraint stopped it, or the outcome is that
    /// of a serial order.
    Prevented,
    /// It could not be run to a verdict; the reason says why.
    Inconclusive,
}

impl Verdict {
    pub fn id(self) -> &'static str {
        match self {
            Verdict::Reproduced => "reproduced",
            Verdict::Prevented => "prevented",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SerialOutcome {
    /// Session labels in the order they ran.
    pub order: Vec<String>,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, Serialize)]
pub struct Confirmation {
    pub verdict: Verdict,
    pub reason: String,
    /// The interleaving as it ran.
    pub schedule: Vec<Event>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed: Option<Outcome>,
    pub serial_outcomes: Vec<SerialOutcome>,
    /// The parameter values of each session (T1 first).
    pub parameters: Vec<BTreeMap<String, String>>,
    /// Values and rows chosen rather than given.
    pub assumptions: Vec<String>,
}

impl Confirmation {
    fn inconclusive(reason: String) -> Confirmation {
        Confirmation {
            verdict: Verdict::Inconclusive,
            reason,
            schedule: vec![],
            observed: None,
            serial_outcomes: vec![],
            parameters: vec![],
            assumptions: vec![],
        }
    }
}

/// The project's schema as statements for a scratch schema, and seed rows when given.
pub struct Setup {
    pub ddl: Vec<String>,
    /// Migration statements left out, with why.
    pub skipped: Vec<String>,
    /// `--seed`: rows for every finding.
    pub seed: Option<Vec<String>>,
}

impl Setup {
    pub fn new(result: &CheckResult, seed: Option<&Path>) -> Result<Setup, String> {
        let mut ddl = Vec::new();
        let mut skipped = Vec::new();
        for file in result.files.iter().filter(|file| file.role == Role::Schema) {
            for (sql, prepared) in statements(&file.text) {
                match prepared {
                    Ok(prepared) if prepared.iter().all(is_schema_statement) => {
                        ddl.extend(prepared.iter().map(ToString::to_string));
                    }
                    Ok(_) => skipped.push(format!(
                        "{}: `{}` (not a table, index, type or sequence definition)",
                        file.display_path(),
                        crate::one_line(&sql)
                    )),
                    Err(error) => match unparsed_schema_statement(&sql) {
                        Some(statement) => ddl.push(statement),
                        None => skipped.push(format!("{}: {error}", file.display_path())),
                    },
                }
            }
        }
        let seed = seed.map(read_seed).transpose()?;
        Ok(Setup { ddl, skipped, seed })
    }

    /// The rows for a finding: `--seed`, else the nearest `seed.sql` above the finding's
    /// first transaction file.
    fn seed_for(
        &self,
        result: &CheckResult,
        finding: &Finding,
    ) -> Result<Option<Vec<String>>, String> {
        if let Some(seed) = &self.seed {
            return Ok(Some(seed.clone()));
        }
        let file = &result.files[result.programs[finding.primary.program].file];
        let mut directory = file.path.parent();
        while let Some(current) = directory {
            let candidate = current.join("seed.sql");
            if candidate.is_file() {
                return read_seed(&candidate).map(Some);
            }
            directory = current.parent();
        }
        Ok(None)
    }
}

/// The statements of a file as PostgreSQL reads them, each prepared for a scratch schema.
fn statements(text: &str) -> Vec<(String, Result<Vec<Statement>, String>)> {
    let parsed = crate::parse::parse_file(text, crate::semantics::Engine::Postgres);
    parsed
        .statements
        .iter()
        .filter_map(|statement| text.get(statement.range.start..statement.range.end))
        .map(|sql| (sql.to_string(), plan::prepare(sql)))
        .collect()
}

/// DDL sqlparser cannot read (`PARTITION OF`, `USING INDEX TABLESPACE`) is sent as written
/// when it creates or alters a table, index, type or sequence and names nothing qualified, so
/// that it can only land in the scratch schema.
fn unparsed_schema_statement(sql: &str) -> Option<String> {
    use crate::parse::lexer::TokenKind;
    let parsed = crate::parse::parse_file(sql, crate::semantics::Engine::Postgres);
    let [statement] = parsed.statements.as_slice() else {
        return None;
    };
    let words: Vec<String> = statement
        .tokens
        .iter()
        .filter(|token| token.kind == TokenKind::Word)
        .take(4)
        .map(|token| token.text(sql).to_ascii_lowercase())
        .collect();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let creates = matches!(
        words.as_slice(),
        ["create", "table" | "index" | "type" | "sequence", ..]
            | ["create", "unique", "index", ..]
            | ["create", "unlogged", "table", ..]
            | ["alter", "table", ..]
    );
    let qualified = statement.tokens.windows(2).any(|pair| {
        pair[0].kind == TokenKind::Punct
            && pair[0].text(sql) == "."
            && matches!(pair[1].kind, TokenKind::Word | TokenKind::QuotedIdent)
    });
    (creates && !qualified).then(|| sql.trim().to_string())
}

fn is_schema_statement(statement: &Statement) -> bool {
    matches!(
        statement,
        Statement::CreateTable(_)
            | Statement::CreateIndex(_)
            | Statement::AlterTable(_)
            | Statement::CreateType { .. }
            | Statement::CreateSequence { .. }
            | Statement::CreateDomain(_)
            | Statement::CreateView(_)
            | Statement::CreateExtension(_)
            | Statement::Insert(_)
    )
}

fn read_seed(path: &Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    let mut rows = Vec::new();
    for (sql, prepared) in statements(&text) {
        let prepared = prepared.map_err(|error| format!("{}: {error}", path.display()))?;
        for statement in prepared {
            if !matches!(
                statement,
                Statement::Insert(_) | Statement::Update(_) | Statement::Delete(_)
            ) {
                return Err(format!(
                    "{}: `{}` is not INSERT, UPDATE or DELETE; a seed file only adds rows",
                    path.display(),
                    crate::one_line(&sql)
                ));
            }
            rows.push(statement.to_string());
        }
    }
    Ok(rows)
}

/// Confirms one finding.
pub fn confirm(
    database: &Database,
    result: &CheckResult,
    setup: &Setup,
    finding: &Finding,
) -> Confirmation {
    // A routine's own program is replayed statement by statement, its variables carried from
    // one statement to the next. Statements inlined from a call or a trigger run inside one
    // statement of the caller, where a schedule cannot interleave them.
    let inlined = finding.programs.iter().find_map(|&index| {
        let program = &result.programs[index];
        program
            .statements
            .iter()
            .find_map(|statement| statement.via.as_ref())
            .map(|via| (&program.name, &via.routine))
    });
    if let Some((name, routine)) = inlined {
        return Confirmation::inconclusive(format!(
            "`{name}` runs statements of {routine} inside one of its own statements, where a \
             schedule cannot interleave them; replay it by hand"
        ));
    }
    let plan = match plan::plan(result, finding) {
        Ok(plan) => plan,
        Err(reason) => return Confirmation::inconclusive(reason),
    };
    if let Some(session) = plan
        .sessions
        .iter()
        .find(|session| session.level == crate::semantics::Level::Snapshot)
    {
        return Confirmation::inconclusive(format!(
            "{} runs at SNAPSHOT, which PostgreSQL does not have",
            session.label
        ));
    }
    let mut assumptions = plan.assumptions.clone();
    let rows = match setup.seed_for(result, finding) {
        Ok(Some(rows)) => Rows::Given(rows),
        Ok(None) => Rows::Generated(None),
        Err(reason) => return Confirmation::inconclusive(reason),
    };
    let mut runner = Runner {
        database,
        result,
        setup,
        plan: &plan,
        rows,
    };
    let interleaved = match runner.run(&plan.steps) {
        Ok(execution) => execution,
        Err(reason) => return Confirmation::inconclusive(reason),
    };
    if let Rows::Generated(Some((_, notes))) = &runner.rows {
        assumptions.extend(notes.iter().cloned());
    }
    let mut confirmation = Confirmation {
        verdict: Verdict::Inconclusive,
        reason: String::new(),
        schedule: interleaved.events.clone(),
        observed: Some(interleaved.outcome.clone()),
        serial_outcomes: vec![],
        parameters: plan.parameters.clone(),
        assumptions,
    };
    if let Some((verdict, reason)) = stopped_by_error(&plan, &interleaved) {
        confirmation.verdict = verdict;
        confirmation.reason = reason;
        return confirmation;
    }
    let committed: Vec<usize> = (0..plan.sessions.len())
        .filter(|session| !plan.sessions[*session].rolls_back)
        .collect();
    for order in permutations(&committed) {
        let steps = serial_steps(&plan, &order);
        match runner.run(&steps) {
            Ok(execution) => confirmation.serial_outcomes.push(SerialOutcome {
                order: order
                    .iter()
                    .map(|session| plan.sessions[*session].label.clone())
                    .collect(),
                outcome: execution.outcome,
            }),
            Err(reason) => {
                confirmation.reason = format!("a serial run failed: {reason}");
                return confirmation;
            }
        }
    }
    let observed = &interleaved.outcome;
    let matching = confirmation
        .serial_outcomes
        .iter()
        .find(|serial| same_for(&committed, observed, &serial.outcome));
    (confirmation.verdict, confirmation.reason) = match matching {
        Some(serial) => (
            Verdict::Prevented,
            format!(
                "what the transactions read and left behind is what the serial order {} gives",
                serial.order.join(", ")
            ),
        ),
        None => (
            Verdict::Reproduced,
            format!(
                "what the transactions read and left behind matches none of the {} serial orders",
                confirmation.serial_outcomes.len()
            ),
        ),
    };
    confirmation
}

/// The verdict when a session failed: a serialization failure or a constraint prevents the
/// anomaly; any other error leaves it open.
fn stopped_by_error(plan: &Plan, execution: &Execution) -> Option<(Verdict, String)> {
    let failures: Vec<(usize, &database::ServerError)> = execution
        .errors
        .iter()
        .enumerate()
        .filter_map(|(session, error)| error.as_ref().map(|error| (session, error)))
        .collect();
    let (session, error) = failures
        .iter()
        .find(|(_, error)| error.is_serialization_failure())
        .or_else(|| {
            failures
                .iter()
                .find(|(_, error)| error.is_constraint_violation())
        })
        .or_else(|| failures.first())?;
    let label = &plan.sessions[*session].label;
    Some(
        if error.is_serialization_failure() || error.is_constraint_violation() {
            (
                Verdict::Prevented,
                format!("{label} failed: {}", error.message),
            )
        } else {
            (
                Verdict::Inconclusive,
                format!("{label} failed: {}", error.message),
            )
        },
    )
}

/// Whether two outcomes agree on what the committed sessions read and on the final rows.
fn same_for(committed: &[usize], a: &Outcome, b: &Outcome) -> bool {
    a.contents == b.contents
        && committed
            .iter()
            .all(|session| a.results.get(*session) == b.results.get(*session))
}

/// The sessions one after another: each begins, runs every statement and commits.
fn serial_steps(plan: &Plan, order: &[usize]) -> Vec<PlannedStep> {
    order
        .iter()
        .flat_map(|&session| {
            std::iter::once(Action::Begin)
                .chain((0..plan.sessions[session].statements.len()).map(Action::Statement))
                .chain(std::iter::once(Action::Commit))
                .map(move |action| PlannedStep { session, action })
        })
        .collect()
}

fn permutations(items: &[usize]) -> Vec<Vec<usize>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut all = Vec::new();
    for (index, first) in items.iter().enumerate() {
        let mut rest = items.to_vec();
        rest.remove(index);
        for mut tail in permutations(&rest) {
            tail.insert(0, *first);
            all.push(tail);
        }
    }
    all
}

/// Where a run's rows come from.
enum Rows {
    Given(Vec<String>),
    /// Made up on the first run from the columns the server reports, then reused.
    Generated(Option<(Vec<String>, Vec<String>)>),
}

struct Runner<'a> {
    database: &'a Database,
    result: &'a CheckResult,
    setup: &'a Setup,
    plan: &'a Plan,
    rows: Rows,
}

impl Runner<'_> {
    /// Runs `steps` in a fresh scratch schema with the project's tables and the rows.
    fn run(&mut self, steps: &[PlannedStep]) -> Result<Execution, String> {
        let mut scratch = Scratch::create(self.database)?;
        scratch.apply(&self.setup.ddl)?;
        match &mut self.rows {
            Rows::Given(rows) => scratch.apply(rows)?,
            Rows::Generated(generated) => {
                if generated.is_none() {
                    let columns = scratch.columns()?;
                    *generated = Some(seed::generate(self.result, self.plan, &columns));
                }
                if let Some((rows, _)) = generated {
                    scratch.apply_without_foreign_keys(rows)?;
                }
            }
        }
        session::run(self.plan, steps, &mut scratch, self.database)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreadable_ddl_is_sent_only_when_it_stays_in_the_scratch_schema() {
        let partition = "CREATE TABLE nights_2025 PARTITION OF nights\n    FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')";
        assert_eq!(
            unparsed_schema_statement(partition).as_deref(),
            Some(partition)
        );
        let qualified =
            "CREATE TABLE public.nights_2025 PARTITION OF public.nights FOR VALUES IN (1)";
        assert_eq!(unparsed_schema_statement(qualified), None);
        assert_eq!(unparsed_schema_statement("CREATE ROLE reader LOGIN"), None);
    }

    #[test]
    fn every_order_of_three() {
        assert_eq!(permutations(&[0, 1, 2]).len(), 6);
        assert_eq!(permutations(&[4]), vec![vec![4]]);
    }
}
