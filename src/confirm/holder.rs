//! The isolation tester's third session. A statement that decides in a subquery or CTE which
//! rows it deletes (`DELETE ... WHERE id IN (SELECT ...)`) is raced by taking its snapshot,
//! waiting for a row lock, and going on after the other transaction committed: PostgreSQL then
//! re-checks only the statement's own WHERE on the newest row version (EvalPlanQual), never
//! the subquery. PostgreSQL's own isolation specs (`eval-plan-qual.spec`) get there with a
//! session that holds the row lock: it locks the rows, the statement starts and is seen
//! waiting in `pg_locks`, the other transaction runs and commits, the holder releases.
//!
//! The holder takes `FOR KEY SHARE`, the one row lock that stops a DELETE (and a write of a
//! key column) but not a plain UPDATE, a `FOR NO KEY UPDATE`, a `FOR SHARE` or an insert of a
//! row that references the held one: so the other transaction runs to its commit while the
//! statement waits. A lock that stopped the other transaction's UPDATE too would queue it
//! behind the waiting statement, which would then get the row first; that is why a waiting
//! UPDATE cannot be raced this way (any lock that stops it stops the other UPDATE as well)
//! and keeps the witness schedule. Whether the schedule happened as intended is read from the
//! run: the statement must have waited until the holder released, and the other transaction
//! must not have waited at all; otherwise the witness schedule runs instead.
//!
//! This module lays out and checks the schedule; it does not choose values or rows.

use crate::CheckResult;
use crate::access::AccessKind;
use crate::analysis::finding::{Finding, Step, WitnessStep};
use crate::semantics::Level;

use super::catalog::Tables;
use super::plan::{Action, PlannedStep, Session};
use super::session::{Event, event_of};

/// The lock-holder schedule of a finding, ready to run.
#[derive(Debug, Clone)]
pub struct LockHolder {
    /// The third session: BEGIN, the lock, COMMIT.
    pub session: Session,
    /// The schedule, the holder's steps with session index `sessions.len()`.
    pub steps: Vec<PlannedStep>,
    /// The session whose statement waits, and that statement's index among its statements.
    pub waiting: (usize, usize),
    /// The table whose rows are held, as the server names it.
    pub table: String,
}

impl LockHolder {
    /// The schedule in words, for the evidence of the verdict.
    pub fn describe(&self, sessions: &[Session]) -> String {
        let (waiting, _) = self.waiting;
        let others: Vec<&str> = sessions
            .iter()
            .enumerate()
            .filter(|(session, _)| *session != waiting)
            .map(|(_, session)| session.label.as_str())
            .collect();
        format!(
            "lock holder: a third session {holder} held FOR KEY SHARE on the rows of {table}; \
             {first}'s statement took its snapshot and waited for {holder} (seen in pg_locks), \
             {others} ran and committed, then {holder} committed and {first} went on",
            holder = self.session.label,
            table = self.table,
            first = sessions[waiting].label,
            others = others.join(", "),
        )
    }

    /// Whether a run followed the schedule: the waiting statement was blocked until the
    /// holder committed, and no other step waited. `event_steps` gives the step each event
    /// ran. Otherwise, why not.
    pub fn achieved(
        &self,
        sessions: &[Session],
        events: &[Event],
        event_steps: &[usize],
    ) -> Result<(), String> {
        let holder = sessions.len();
        let (waiting, statement) = self.waiting;
        let at = |wanted: PlannedStep| event_of(&self.steps, event_steps, wanted);
        let released = at(PlannedStep {
            session: holder,
            action: Action::Commit,
        });
        let decided = at(PlannedStep {
            session: waiting,
            action: Action::Statement(statement),
        });
        let label = &sessions[waiting].label;
        let (Some(released), Some(decided)) = (released, decided) else {
            return Err(format!(
                "the lock-holder schedule did not run to the statement of {label}"
            ));
        };
        if !events[decided].waited_for(released) {
            return Err(format!(
                "with the lock-holder schedule {label}'s statement did not wait for the held \
                 rows (it chose none of them)"
            ));
        }
        let others_waited: Vec<&str> = events
            .iter()
            .enumerate()
            .filter(|(event, entry)| *event != decided && entry.completed_after.is_some())
            .map(|(_, entry)| entry.session.as_str())
            .collect();
        if !others_waited.is_empty() {
            return Err(format!(
                "with the lock-holder schedule {} waited too (it takes a lock FOR KEY SHARE \
                 stops, or a lock of {label}'s)",
                others_waited.join(", ")
            ));
        }
        Ok(())
    }
}

/// The lock-holder schedule for `finding`, when its first transaction deletes rows it chose
/// in a subquery or CTE of the same statement and the finding has two transactions.
/// `positions` maps each program statement to the session's statement that runs it.
pub fn lock_holder(
    result: &CheckResult,
    finding: &Finding,
    sessions: &[Session],
    positions: &[Vec<usize>],
    tables: Option<&Tables>,
) -> Option<LockHolder> {
    if sessions.len() != 2 || finding.instances.len() != 2 {
        return None;
    }
    let program = *finding.instances.first()?;
    let primary = finding.primary;
    if primary.program != program {
        return None;
    }
    // The witness has the first transaction's statement run while the other is open, and go
    // on once it commits.
    let at = |wanted: WitnessStep| finding.witness.iter().position(|step| *step == wanted);
    let decides = at(WitnessStep {
        instance: 0,
        step: Step::Statement(primary.statement),
    })?;
    let other_commits = at(WitnessStep {
        instance: 1,
        step: Step::Commit,
    })?;
    let other_writes_first = finding.witness[..decides]
        .iter()
        .any(|step| step.instance == 1 && matches!(step.step, Step::Statement(_)));
    if !(other_writes_first && decides < other_commits) {
        return None;
    }
    // A DELETE that reads in the same statement: its subquery or CTE.
    let statement = result.programs[program].statements.get(primary.statement)?;
    let deleted = statement
        .accesses
        .iter()
        .find(|access| matches!(access.kind, AccessKind::Delete { .. }))?;
    if !statement.accesses.iter().any(|access| access.is_read()) {
        return None;
    }
    let tables = tables?;
    let table = tables.tables[tables.find(&deleted.table)?].qualified();
    let waiting_statement = *positions.first()?.get(primary.statement)?;
    if waiting_statement >= sessions[0].statements.len() {
        return None;
    }
    let holder = sessions.len();
    let session = Session {
        label: "H".to_string(),
        program,
        level: Level::ReadCommitted,
        statements: vec![format!(
            "SELECT count(*) AS held FROM (SELECT 1 FROM {table} FOR KEY SHARE) AS held_rows"
        )],
        captures: vec![Vec::new()],
        rolls_back: false,
        routine: false,
        commits_after: Vec::new(),
        returns_if_found: Vec::new(),
    };
    let step = |session: usize, action: Action| PlannedStep { session, action };
    let end = |session: usize| {
        step(
            session,
            if sessions[session].rolls_back {
                Action::Rollback
            } else {
                Action::Commit
            },
        )
    };
    let mut steps = vec![
        step(holder, Action::Begin),
        step(holder, Action::Statement(0)),
        step(0, Action::Begin),
    ];
    let run = |session: usize, statements: std::ops::Range<usize>| {
        statements.flat_map(move |index| {
            sessions[session]
                .run(index)
                .map(move |action| step(session, action))
        })
    };
    steps.extend(run(0, 0..waiting_statement + 1));
    steps.push(step(1, Action::Begin));
    steps.extend(run(1, 0..sessions[1].statements.len()));
    steps.push(end(1));
    steps.push(step(holder, Action::Commit));
    steps.extend(run(0, waiting_statement + 1..sessions[0].statements.len()));
    steps.push(end(0));
    Some(LockHolder {
        session,
        steps,
        waiting: (0, waiting_statement),
        table,
    })
}
