//! Stopping a routine between two of its statements. A function called from one SQL statement
//! runs all its statements inside that call, so a witness that has another transaction commit
//! between two of them cannot be followed from outside. Within the run's own copy of the
//! database, the function is made again with a pause before the statement where the witness
//! goes on: a PL/pgSQL `IF` that, in the paused session only, waits for an advisory lock a
//! controller session holds. The call is seen waiting in `pg_locks`, the other transactions run
//! and commit, the controller releases the lock and the call goes on; at READ COMMITTED its
//! next statement takes a snapshot of its own, as it would after any pause. Serial runs leave
//! the functions as the migrations made them.
//!
//! This module lays out the pauses, makes the functions again and checks that a run waited
//! where it should; it does not choose values or rows.

use crate::parse::lexer::{TokenKind, tokenize};
use crate::semantics::{Engine, Level};

use super::database::{Connection, query, quote_literal};
use super::plan::{Action, PlannedStep, Session};
use super::session::{Event, event_of};

/// The first key of the advisory locks of pauses (the second is the pause's number), chosen
/// to meet no project's own advisory keys.
const CLASS: i32 = 0x1501_1a70;

/// Where a session stops inside one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pause {
    /// The session that stops, and the program statement it stops before.
    pub session: usize,
    pub statement: usize,
    /// That statement as written in its routine's body.
    pub text: String,
}

/// The schedule with pauses, ready to run.
#[derive(Debug, Clone)]
pub struct Pauses {
    /// The controller: per pause, a statement that takes its lock and one that releases it.
    pub session: Session,
    /// The schedule, the controller's steps with session index `sessions.len()`.
    pub steps: Vec<PlannedStep>,
    pub points: Vec<Pause>,
    /// Per pause, the session statement that runs the call it stops.
    pub calls: Vec<usize>,
}

impl Pauses {
    /// The controller for `points`, one lock and one release per point.
    pub fn controller(points: &[Pause], program: usize) -> Session {
        let statements = (0..points.len())
            .flat_map(|key| {
                [
                    format!("SELECT pg_advisory_lock({CLASS}, {key})"),
                    format!("SELECT pg_advisory_unlock({CLASS}, {key})"),
                ]
            })
            .collect::<Vec<_>>();
        Session {
            label: "P".to_string(),
            program,
            level: Level::ReadCommitted,
            captures: vec![Vec::new(); statements.len()],
            statements,
            rolls_back: false,
            routine: false,
            commits_after: Vec::new(),
            returns_if_found: Vec::new(),
        }
    }

    /// The step that takes pause `key`'s lock and the one that releases it.
    pub fn lock(controller: usize, key: usize) -> PlannedStep {
        PlannedStep {
            session: controller,
            action: Action::Statement(2 * key),
        }
    }

    pub fn release(controller: usize, key: usize) -> PlannedStep {
        PlannedStep {
            session: controller,
            action: Action::Statement(2 * key + 1),
        }
    }

    /// The schedule in words, for the evidence of the verdict.
    pub fn describe(&self, sessions: &[Session]) -> String {
        let stops: Vec<String> = self
            .points
            .iter()
            .map(|point| {
                format!(
                    "{} before `{}`",
                    sessions[point.session].label,
                    crate::one_line(&point.text)
                )
            })
            .collect();
        format!(
            "pauses inside a call: the functions were made again in the run's database with a \
             wait for an advisory lock a controller session {} held, so that the call stopped \
             ({}), seen in pg_locks, while the others ran; then {} released it and the call \
             went on",
            self.session.label,
            stops.join("; "),
            self.session.label
        )
    }

    /// The events of a run of [`Pauses::steps`] that ran the calls it stops.
    pub fn call_events(&self, event_steps: &[usize]) -> Vec<usize> {
        event_steps
            .iter()
            .enumerate()
            .filter(|(_, step)| {
                self.steps.get(**step).is_some_and(|step| {
                    self.points.iter().zip(&self.calls).any(|(point, call)| {
                        step.session == point.session && step.action == Action::Statement(*call)
                    })
                })
            })
            .map(|(event, _)| event)
            .collect()
    }

    /// Whether a run stopped where the schedule says: each paused call went on only after its
    /// release. `event_steps` gives the step each event ran. Otherwise, why not.
    pub fn achieved(
        &self,
        sessions: &[Session],
        events: &[Event],
        event_steps: &[usize],
    ) -> Result<(), String> {
        let controller = sessions.len();
        let event_of = |wanted: PlannedStep| event_of(&self.steps, event_steps, wanted);
        for (key, point) in self.points.iter().enumerate() {
            let label = &sessions[point.session].label;
            let call = event_of(PlannedStep {
                session: point.session,
                action: Action::Statement(self.calls[key]),
            });
            let released = event_of(Self::release(controller, key));
            let (Some(call), Some(released)) = (call, released) else {
                return Err(format!(
                    "the schedule with pauses did not run to the call of {label}"
                ));
            };
            if !events[call].waited_for(released) {
                return Err(format!(
                    "{label}'s call did not stop before `{}` (it did not reach that statement)",
                    crate::one_line(&point.text)
                ));
            }
        }
        Ok(())
    }
}

/// Makes the PL/pgSQL functions whose bodies hold a pause's statement again, with the pause
/// before the PL/pgSQL statement that holds it, for the session labelled as in `labels`.
pub fn instrument(
    admin: &mut Connection,
    points: &[Pause],
    labels: &[String],
) -> Result<(), String> {
    for (key, point) in points.iter().enumerate() {
        let found = query(
            admin,
            &format!(
                "SELECT p.prosrc, pg_catalog.pg_get_functiondef(p.oid) FROM pg_catalog.pg_proc p \
                 JOIN pg_catalog.pg_language l ON l.oid = p.prolang \
                 WHERE l.lanname = 'plpgsql' AND strpos(p.prosrc, {}) > 0",
                quote_literal(&point.text)
            ),
        )
        .map_err(|error| error.message)?;
        if found.is_empty() {
            return Err(format!(
                "no PL/pgSQL function of the database has `{}` in its body",
                crate::one_line(&point.text)
            ));
        }
        let label = labels
            .get(point.session)
            .ok_or("a pause names a session the plan does not have")?;
        let pause = format!(
            " IF current_setting('isolint.session', true) = {} THEN \
             PERFORM pg_advisory_lock_shared({CLASS}, {key}); \
             PERFORM pg_advisory_unlock_shared({CLASS}, {key}); END IF; ",
            quote_literal(label)
        );
        for row in found {
            let (Some(Some(body)), Some(Some(definition))) = (row.first(), row.get(1)) else {
                continue;
            };
            let Some(base) = definition.find(body.as_str()) else {
                return Err("a function's definition does not hold its body".to_string());
            };
            let mut made = definition.clone();
            let points = statement_starts(body, &point.text);
            if points.is_empty() {
                return Err(format!(
                    "no PL/pgSQL statement starts before `{}`",
                    crate::one_line(&point.text)
                ));
            }
            for at in points.into_iter().rev() {
                made.insert_str(base + at, &pause);
            }
            query(admin, &made).map_err(|error| {
                format!(
                    "the function could not be made again with a pause: {}",
                    error.message
                )
            })?;
        }
    }
    Ok(())
}

/// Where the PL/pgSQL statements that hold `text` start in `body`, once each: after the `;`,
/// `BEGIN`, `LOOP`, `THEN` or `ELSE` before each place `text` is written (strings and comments
/// aside), so that a pause there runs before the whole statement (`RETURN QUERY`, `FOR ... IN`,
/// `IF (SELECT ...)`).
fn statement_starts(body: &str, text: &str) -> Vec<usize> {
    if text.is_empty() {
        return Vec::new();
    }
    let boundaries: Vec<usize> = tokenize(body, crate::parse::flavor(Engine::Postgres))
        .into_iter()
        .filter(|token| {
            token.kind == TokenKind::Semicolon
                || ["begin", "loop", "then", "else"]
                    .iter()
                    .any(|word| token.is_word(body, word))
        })
        .map(|token| token.range.end)
        .collect();
    let mut starts: Vec<usize> = body
        .match_indices(text)
        .filter_map(|(at, _)| {
            boundaries
                .iter()
                .copied()
                .take_while(|boundary| *boundary <= at)
                .last()
        })
        .collect();
    starts.dedup();
    starts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pause_goes_before_the_whole_plpgsql_statement() {
        let body = "\nDECLARE v int; -- not here; nor 'here;'\nBEGIN\n    v := 1;\n    \
                    RETURN QUERY SELECT a FROM t WHERE id = v;\n    FOR r IN SELECT b FROM u LOOP\n        \
                    UPDATE u SET b = 1;\n    END LOOP;\nEND\n";
        let at = |text: &str| {
            statement_starts(body, text)
                .into_iter()
                .map(|at| {
                    body[at..]
                        .trim_start()
                        .split(' ')
                        .next()
                        .unwrap_or_default()
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(at("SELECT a FROM t"), ["RETURN"]);
        assert_eq!(at("SELECT b FROM u"), ["FOR"]);
        assert_eq!(at("UPDATE u SET b = 1"), ["UPDATE"]);
        assert!(at("DELETE FROM t").is_empty());
    }

    #[test]
    fn semicolons_in_strings_and_comments_are_no_boundary() {
        let body = "BEGIN\n  x := 'a;b'; -- c;\n  IF (SELECT count(*) FROM t) > 0 THEN\n    \
                    DELETE FROM t;\n  END IF;\nEND";
        let starts = statement_starts(body, "SELECT count(*) FROM t");
        assert_eq!(starts.len(), 1);
        assert!(body[starts[0]..].trim_start().starts_with("-- c;\n  IF"));
        let delete = statement_starts(body, "DELETE FROM t");
        assert!(body[delete[0]..].trim_start().starts_with("DELETE"));
    }
}
