//! The schedule that tells a session waiting for a lock from one that is merely slow, on any
//! server `confirm` runs on.

use isolint::confirm::{self, database::Database};
use isolint::semantics::Level;

/// T1 increments a row, T2 tries to and must wait (blocked), T1 then sleeps with `sleep` (it
/// must be waited for, not taken for a lock wait) and commits, and T2's increment completes
/// after that commit, on top of T1's.
pub fn lock_wait_and_sleep(database: &Database, sleep: &str, session_setup: &str) {
    use confirm::plan::{Action, Plan, PlannedStep, Session};
    let throwaway = confirm::throwaway::Throwaway::create(database).expect("database");
    let mut admin = throwaway.connect().expect("connect");
    for sql in [
        "CREATE TABLE t (id int PRIMARY KEY, n int)",
        "INSERT INTO t VALUES (1, 0)",
    ] {
        confirm::database::query(&mut admin, sql).expect("table");
    }
    admin.quote_as_standard().expect("quoting");
    let tables = confirm::catalog::Tables::read(&mut admin).expect("catalog");
    let session = |label: &str, statements: &[&str]| Session {
        label: label.to_string(),
        program: 0,
        level: Level::ReadCommitted,
        statements: statements.iter().map(|sql| sql.to_string()).collect(),
        captures: statements.iter().map(|_| Vec::new()).collect(),
        rolls_back: false,
        routine: false,
        commits_after: Vec::new(),
        returns_if_found: Vec::new(),
    };
    let step = |session: usize, action: Action| PlannedStep { session, action };
    let plan = Plan {
        sessions: vec![
            session("T1", &["UPDATE t SET n = n + 1 WHERE id = 1", sleep]),
            session("T2", &["UPDATE t SET n = n + 10 WHERE id = 1"]),
        ],
        steps: vec![
            step(0, Action::Begin),
            step(0, Action::Statement(0)),
            step(1, Action::Begin),
            step(1, Action::Statement(0)),
            step(0, Action::Statement(1)),
            step(0, Action::Commit),
            step(1, Action::Commit),
        ],
        parameters: vec![],
        assumptions: vec![],
        lock_holder: None,
        pauses: None,
    };
    let mut run = confirm::session::RunDatabase {
        database: throwaway.database(),
        admin,
        session_setup: session_setup.to_string(),
        tables: &tables,
        first_transaction: None,
    };
    let execution = confirm::session::run(&plan, &plan.steps, &mut run).expect("runs");
    let shown: Vec<(String, Option<usize>)> = execution
        .events
        .iter()
        .map(|event| (event.result.clone(), event.completed_after))
        .collect();
    assert_eq!(
        shown,
        [
            ("ok".to_string(), None),
            ("ok".to_string(), None),
            ("ok".to_string(), None),
            ("blocked".to_string(), Some(5)),
            ("ok".to_string(), None),
            ("ok".to_string(), None),
            ("ok".to_string(), None),
        ],
        "{:#?}",
        execution.events
    );
    // T2 waited for T1's increment and added to it.
    assert_eq!(
        execution.outcome.contents.get("t"),
        Some(&vec![vec![Some("1".to_string()), Some("11".to_string())]]),
        "{:#?}",
        execution.outcome.contents
    );
}
