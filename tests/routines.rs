//! Routines and triggers as programs: definitions in migration order, calls, recursion,
//! dynamic SQL and the notes isolint gives about what it cannot follow.

use isolint::program::ProgramKind;
use isolint::semantics::Engine;
use isolint::source::{Role, SourceFile};
use isolint::{CheckOptions, CheckResult, DiagnosticKind, check_sources};

fn check(files: &[(&str, Role, &str)]) -> CheckResult {
    let files = files
        .iter()
        .map(|(path, role, text)| SourceFile::new(path.into(), *role, text.to_string()))
        .collect();
    check_sources(files, &CheckOptions::new(Engine::Postgres))
}

fn programs(result: &CheckResult) -> Vec<(String, ProgramKind, usize)> {
    result
        .programs
        .iter()
        .map(|p| (p.name.clone(), p.kind, p.statements.len()))
        .collect()
}

const ACCOUNTS: &str = "CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL);\n";

#[test]
fn the_latest_definition_wins_drops_remove_and_overloads_are_told_apart() {
    let result = check(&[
        (
            "migrations/1.sql",
            Role::Schema,
            &format!(
                "{ACCOUNTS}CREATE FUNCTION touch(p int) RETURNS void LANGUAGE sql AS \
                 $$ UPDATE accounts SET balance = 0 WHERE id = p $$;\n\
                 CREATE FUNCTION gone() RETURNS void LANGUAGE sql AS $$ DELETE FROM accounts $$;\n\
                 CREATE FUNCTION pair(a int) RETURNS int LANGUAGE sql AS $$ SELECT balance FROM accounts WHERE id = a $$;\n\
                 CREATE FUNCTION pair(a int, b int) RETURNS int LANGUAGE sql AS $$ SELECT balance FROM accounts WHERE id IN (a, b) $$;"
            ),
        ),
        (
            "migrations/2.sql",
            Role::Schema,
            "CREATE OR REPLACE FUNCTION touch(p integer) RETURNS void LANGUAGE sql \
             BEGIN ATOMIC SELECT balance FROM accounts WHERE id = p; \
             UPDATE accounts SET balance = 1 WHERE id = p; END;\n\
             DROP FUNCTION gone();",
        ),
    ]);
    assert_eq!(
        programs(&result),
        // In order of their latest definition.
        vec![
            ("pair(integer)".into(), ProgramKind::Routine, 1),
            ("pair(integer, integer)".into(), ProgramKind::Routine, 1),
            ("touch".into(), ProgramKind::Routine, 2),
        ]
    );
    assert_eq!(result.parse_errors, 0);
}

#[test]
fn dynamic_sql_is_noted_once_per_routine_with_its_line() {
    let result = check(&[(
        "migrations/1.sql",
        Role::Schema,
        &format!(
            "{ACCOUNTS}CREATE FUNCTION purge(t text) RETURNS void LANGUAGE plpgsql AS $$\n\
             BEGIN\n  EXECUTE format('DELETE FROM %I', t);\n  EXECUTE 'VACUUM';\nEND $$;"
        ),
    )]);
    let notes: Vec<_> = result
        .diagnostics
        .iter()
        .filter(|d| d.kind == DiagnosticKind::UnanalysedDynamicSql)
        .collect();
    assert_eq!(notes.len(), 1, "{:?}", result.diagnostics);
    assert_eq!(result.files[0].line_col(notes[0].range.start).0, 4);
    assert!(notes[0].message.contains("in 2 places"));
}

#[test]
fn recursion_and_unknown_procedures_are_cut_off_with_a_warning() {
    let result = check(&[
        (
            "migrations/1.sql",
            Role::Schema,
            &format!(
                "{ACCOUNTS}CREATE FUNCTION ping(n int) RETURNS int LANGUAGE plpgsql AS $$\n\
                 BEGIN UPDATE accounts SET balance = balance + 1 WHERE id = n; \
                 RETURN pong(n); END $$;\n\
                 CREATE FUNCTION pong(n int) RETURNS int LANGUAGE plpgsql AS $$\n\
                 BEGIN RETURN ping(n); END $$;"
            ),
        ),
        (
            "app/run.sql",
            Role::Transactions,
            "CALL nowhere(1);\nBEGIN;\nSELECT ping($1);\nSELECT balance FROM accounts WHERE id = $1;\nCOMMIT;",
        ),
    ]);
    let warnings: Vec<&str> = result
        .diagnostics
        .iter()
        .filter(|d| d.kind == DiagnosticKind::Warning)
        .map(|d| d.message.as_str())
        .collect();
    assert!(
        warnings.iter().any(|w| w.contains("`ping` calls itself")),
        "{warnings:?}"
    );
    assert!(
        warnings.iter().any(|w| w.contains("`CALL nowhere`")),
        "{warnings:?}"
    );
    // The script's call runs ping's update (and pong's call of ping stops there).
    let run = result
        .programs
        .iter()
        .find(|p| p.name == "run:2")
        .expect("the calling script");
    assert!(
        run.statements
            .iter()
            .any(|s| s.text.starts_with("ping(): UPDATE"))
    );
}

#[test]
fn a_trigger_runs_in_the_program_whose_write_fires_it_with_new_bound() {
    let result = check(&[
        (
            "migrations/1.sql",
            Role::Schema,
            &format!(
                "{ACCOUNTS}CREATE TABLE audit (account int, balance int);\n\
                 CREATE FUNCTION audit_balance() RETURNS trigger LANGUAGE plpgsql AS $$\n\
                 BEGIN INSERT INTO audit VALUES (NEW.id, NEW.balance); RETURN NEW; END $$;\n\
                 CREATE TRIGGER accounts_audit AFTER UPDATE OF balance ON accounts \
                 FOR EACH ROW EXECUTE FUNCTION audit_balance();\n\
                 CREATE TRIGGER accounts_other AFTER UPDATE OF id ON accounts \
                 FOR EACH ROW EXECUTE FUNCTION audit_balance();"
            ),
        ),
        (
            "app/deposit.sql",
            Role::Transactions,
            "UPDATE accounts SET balance = $2 WHERE id = $1;",
        ),
    ]);
    let deposit = result
        .programs
        .iter()
        .find(|p| p.name == "deposit")
        .expect("the script");
    // Only the trigger on `balance` fires, after the write, with NEW.id and NEW.balance bound.
    assert_eq!(deposit.statements.len(), 2);
    let audit = &deposit.statements[1];
    assert!(audit.text.starts_with("trigger accounts_audit: INSERT"));
    let pins = &audit.accesses[0].rows.pins;
    assert_eq!(pins["account"].render(), "$1");
    assert_eq!(pins["balance"].render(), "$2");
    assert_eq!(
        result
            .programs
            .iter()
            .filter(|p| p.kind == ProgramKind::Trigger)
            .count(),
        2
    );
}

#[test]
fn a_finding_inside_a_trigger_points_at_the_trigger_body_too() {
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/trigger_invariant_write_skew");
    let output = assert_cmd::Command::cargo_bin("isolint")
        .expect("the binary")
        .current_dir(&fixture)
        .args(["check", ".", "--format", "json"])
        .output()
        .expect("isolint runs");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let related = report["findings"][0]["related"]
        .as_array()
        .expect("related locations");
    assert!(
        related
            .iter()
            .any(|location| location["file"] == "migrations/001_accounts.sql"
                && location["line"] == 12
                && location["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("trigger accounts_owner_total"))),
        "{related:#?}"
    );
}

#[test]
fn a_query_that_only_calls_a_routine_is_reported_on_the_routine() {
    let result = check(&[
        (
            "migrations/1.sql",
            Role::Schema,
            &format!(
                "{ACCOUNTS}CREATE FUNCTION withdraw(p int, amount int) RETURNS SETOF int \
                 LANGUAGE plpgsql AS $$ DECLARE v int; BEGIN \
                 SELECT balance INTO v FROM accounts WHERE id = p; \
                 UPDATE accounts SET balance = v - amount WHERE id = p; RETURN NEXT v; END $$;"
            ),
        ),
        (
            "queries.sql",
            Role::Transactions,
            "-- name: Withdraw :many\nSELECT unnest(array(SELECT withdraw($1, $2)));",
        ),
    ]);
    let query = result
        .programs
        .iter()
        .find(|p| p.name == "Withdraw")
        .expect("the query");
    assert_eq!(query.kind, ProgramKind::Query);
    assert!(query.statements.iter().all(|s| s.accesses.is_empty()));
    let names: Vec<Vec<&str>> = result
        .findings
        .iter()
        .map(|f| {
            f.programs
                .iter()
                .map(|&p| result.programs[p].name.as_str())
                .collect()
        })
        .collect();
    assert_eq!(names, vec![vec!["withdraw"]]);
}

#[test]
fn a_stable_function_reads_on_the_calling_statements_snapshot() {
    let result = check(&[(
        "migrations/1.sql",
        Role::Schema,
        &format!(
            "{ACCOUNTS}CREATE FUNCTION rich() RETURNS SETOF int LANGUAGE sql STABLE AS \
             $$ SELECT id FROM accounts WHERE balance > 100 $$;\n\
             CREATE FUNCTION poor() RETURNS SETOF int LANGUAGE sql AS \
             $$ SELECT id FROM accounts WHERE balance < 0 $$;\n\
             CREATE FUNCTION tax() RETURNS void LANGUAGE plpgsql AS $$ BEGIN \
             UPDATE accounts SET balance = balance - 1 FROM rich() r WHERE accounts.id = r; \
             UPDATE accounts SET balance = balance + 1 FROM poor() p WHERE accounts.id = p; \
             END $$;"
        ),
    )]);
    let tax = result
        .programs
        .iter()
        .find(|p| p.name == "tax")
        .expect("the routine");
    let texts: Vec<&str> = tax.statements.iter().map(|s| s.text.as_str()).collect();
    // rich() is STABLE: its read joins the UPDATE; poor() is VOLATILE: its read follows.
    assert_eq!(texts.len(), 3, "{texts:?}");
    assert!(texts[2].starts_with("poor(): SELECT"), "{texts:?}");
    assert!(
        tax.statements[0]
            .accesses
            .iter()
            .any(|a| a.is_read() && a.table == "accounts")
    );
    assert!(!tax.statements[0].accesses.iter().any(|a| a.table == "rich"));
}

/// The statements of the program named `name`, on one line each.
fn statements_of<'a>(result: &'a CheckResult, name: &str) -> Vec<&'a str> {
    result
        .programs
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no program {name}"))
        .statements
        .iter()
        .map(|s| s.text.as_str())
        .collect()
}

fn count(statements: &[&str], word: &str) -> usize {
    statements.iter().filter(|s| s.contains(word)).count()
}

#[test]
fn constant_arguments_leave_out_the_branches_they_disable() {
    let result = check(&[(
        "migrations/1.sql",
        Role::Schema,
        &format!(
            "{ACCOUNTS}CREATE TABLE log (account int);\n\
             CREATE FUNCTION move(p int, target int, mode text) RETURNS void LANGUAGE plpgsql AS $$\n\
             BEGIN\n\
               IF target IS NOT NULL THEN\n\
                 UPDATE accounts SET balance = target WHERE id = p;\n\
               ELSIF mode = 'reset' THEN\n\
                 DELETE FROM accounts WHERE id = p;\n\
               ELSE\n\
                 INSERT INTO log VALUES (p);\n\
               END IF;\n\
             END $$;\n\
             CREATE FUNCTION keep(p int) RETURNS void LANGUAGE plpgsql AS $$\n\
             BEGIN PERFORM move(p, NULL, 'keep'); END $$;\n\
             CREATE FUNCTION reset(p int) RETURNS void LANGUAGE plpgsql AS $$\n\
             BEGIN PERFORM move(p, NULL, 'reset'); END $$;\n\
             CREATE FUNCTION set_to(p int, v int) RETURNS void LANGUAGE plpgsql AS $$\n\
             BEGIN PERFORM move(p, v, 'keep'); END $$;\n\
             CREATE FUNCTION set_zero(p int) RETURNS void LANGUAGE sql AS $$\n\
             SELECT move(p, 0, NULL) $$;\n\
             CREATE FUNCTION pass_on(p int, t int) RETURNS void LANGUAGE plpgsql AS $$\n\
             BEGIN PERFORM move(p, t, 'keep'); END $$;\n\
             CREATE FUNCTION keep_twice(p int) RETURNS void LANGUAGE plpgsql AS $$\n\
             BEGIN PERFORM pass_on(p, NULL); END $$;"
        ),
    )]);
    let keep = statements_of(&result, "keep");
    assert_eq!(
        (
            count(&keep, "UPDATE"),
            count(&keep, "DELETE"),
            count(&keep, "INSERT")
        ),
        (0, 0, 1),
        "{keep:#?}"
    );
    let reset = statements_of(&result, "reset");
    assert_eq!(
        (
            count(&reset, "UPDATE"),
            count(&reset, "DELETE"),
            count(&reset, "INSERT")
        ),
        (0, 1, 0),
        "{reset:#?}"
    );
    // A parameter can be anything, so its branch and the ELSE stay; `'keep'` still rules
    // out the reset.
    let set_to = statements_of(&result, "set_to");
    assert_eq!(
        (
            count(&set_to, "UPDATE"),
            count(&set_to, "DELETE"),
            count(&set_to, "INSERT")
        ),
        (1, 0, 1),
        "{set_to:#?}"
    );
    // A number decides `IS NOT NULL` whatever `mode` is.
    let set_zero = statements_of(&result, "set_zero");
    assert_eq!(
        (
            count(&set_zero, "UPDATE"),
            count(&set_zero, "DELETE"),
            count(&set_zero, "INSERT")
        ),
        (1, 0, 0),
        "{set_zero:#?}"
    );
    // The constant goes on through a wrapper that passes its argument.
    let keep_twice = statements_of(&result, "keep_twice");
    assert_eq!(
        (
            count(&keep_twice, "UPDATE"),
            count(&keep_twice, "DELETE"),
            count(&keep_twice, "INSERT")
        ),
        (0, 0, 1),
        "{keep_twice:#?}"
    );
    // The routine's own program keeps every path.
    assert_eq!(statements_of(&result, "move").len(), 3);
}

#[test]
fn an_argument_the_body_assigns_keeps_every_branch() {
    let result = check(&[(
        "migrations/1.sql",
        Role::Schema,
        &format!(
            "{ACCOUNTS}CREATE FUNCTION touch(p int, target int) RETURNS void LANGUAGE plpgsql AS $$\n\
             BEGIN\n\
               target := coalesce(target, (SELECT max(balance) FROM accounts));\n\
               IF target IS NOT NULL THEN\n\
                 UPDATE accounts SET balance = target WHERE id = p;\n\
               END IF;\n\
             END $$;\n\
             CREATE FUNCTION touch_any(p int) RETURNS void LANGUAGE plpgsql AS $$\n\
             BEGIN PERFORM touch(p, NULL); END $$;"
        ),
    )]);
    assert_eq!(count(&statements_of(&result, "touch_any"), "UPDATE"), 1);
}

#[test]
fn a_trigger_leaves_out_the_branches_the_written_row_disables() {
    let result = check(&[
        (
            "migrations/1.sql",
            Role::Schema,
            "CREATE TABLE jobs (id int PRIMARY KEY, status text NOT NULL);\n\
             CREATE TABLE done (job int);\n\
             CREATE FUNCTION record_done() RETURNS trigger LANGUAGE plpgsql AS $$\n\
             BEGIN\n\
               IF NEW.status = 'done' THEN INSERT INTO done VALUES (NEW.id); END IF;\n\
               RETURN NEW;\n\
             END $$;\n\
             CREATE TRIGGER jobs_done AFTER UPDATE ON jobs \
             FOR EACH ROW EXECUTE FUNCTION record_done();",
        ),
        (
            "app/finish.sql",
            Role::Transactions,
            "UPDATE jobs SET status = 'done' WHERE id = $1;",
        ),
        (
            "app/retry.sql",
            Role::Transactions,
            "UPDATE jobs SET status = 'todo' WHERE id = $1;",
        ),
        (
            "app/set.sql",
            Role::Transactions,
            "UPDATE jobs SET status = $2 WHERE id = $1;",
        ),
    ]);
    assert_eq!(statements_of(&result, "finish").len(), 2);
    assert_eq!(statements_of(&result, "retry").len(), 1);
    assert_eq!(statements_of(&result, "set").len(), 2);
}

#[test]
fn a_mysql_procedure_called_with_a_constant_leaves_out_its_branch() {
    let text = "CREATE TABLE t (id INT PRIMARY KEY, n INT NOT NULL);\n\
                DELIMITER //\n\
                CREATE PROCEDURE purge(IN p_id INT, IN p_force BOOLEAN)\n\
                BEGIN\n\
                  IF p_force THEN DELETE FROM t WHERE id = p_id; END IF;\n\
                  UPDATE t SET n = n + 1 WHERE id = p_id;\n\
                END //\n\
                CREATE PROCEDURE soft_purge(IN p_id INT)\n\
                BEGIN\n\
                  CALL purge(p_id, FALSE);\n\
                END //\n\
                DELIMITER ;\n";
    let files = vec![SourceFile::new(
        "migrations/1.sql".into(),
        Role::Schema,
        text.to_string(),
    )];
    let result = check_sources(files, &CheckOptions::new(Engine::Mysql));
    let soft = statements_of(&result, "soft_purge");
    assert_eq!(
        (count(&soft, "DELETE"), count(&soft, "UPDATE")),
        (0, 1),
        "{soft:#?}"
    );
    assert_eq!(statements_of(&result, "purge").len(), 2);
}

#[test]
fn a_branch_on_a_value_read_into_a_variable_guards_the_statements_it_runs() {
    let result = check(&[(
        "migrations/1.sql",
        Role::Schema,
        "CREATE TABLE sub (id int PRIMARY KEY, batch bigint);\n\
         CREATE FUNCTION open(p int) RETURNS void LANGUAGE plpgsql AS $$\n\
         DECLARE b bigint;\n\
         BEGIN\n\
           SELECT batch INTO b FROM sub WHERE id = p;\n\
           IF b IS NOT NULL THEN RETURN; END IF;\n\
           UPDATE sub SET batch = 1 WHERE id = p;\n\
         END $$;\n\
         CREATE FUNCTION reopen(p int) RETURNS void LANGUAGE plpgsql AS $$\n\
         DECLARE b bigint;\n\
         BEGIN\n\
           SELECT batch INTO b FROM sub WHERE id = p;\n\
           b := coalesce(b, 0);\n\
           IF b IS NOT NULL THEN RETURN; END IF;\n\
           UPDATE sub SET batch = 1 WHERE id = p;\n\
         END $$;\n\
         CREATE FUNCTION scan() RETURNS void LANGUAGE plpgsql AS $$\n\
         DECLARE b bigint;\n\
         BEGIN\n\
           SELECT batch INTO b FROM sub;\n\
           IF b IS NOT NULL THEN RETURN; END IF;\n\
           UPDATE sub SET batch = 1;\n\
         END $$;\n",
    )]);
    let guards = |name: &str| {
        let program = result
            .programs
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("no program {name}"));
        program
            .statements
            .iter()
            .map(|s| {
                s.value_guards
                    .iter()
                    .map(|g| format!("{}.{} {:?}", g.table, g.column, g.domain))
                    .collect::<Vec<_>>()
            })
            .collect::<Vec<_>>()
    };
    // The UPDATE runs only when the row found by key had no batch.
    assert_eq!(
        guards("open"),
        [vec![], vec![r#"sub.batch In({"NULL"})"#.to_string()]]
    );
    // Assigned again before the test, or read without a key: nothing is known of the row.
    assert!(guards("reopen").iter().all(Vec::is_empty));
    assert!(guards("scan").iter().all(Vec::is_empty));
}
