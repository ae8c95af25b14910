//! Log records → transactions. Each session is followed on its own (sessions interleave in a
//! log): `BEGIN` ... `COMMIT`/`ROLLBACK` is one transaction, a statement outside one runs
//! alone (autocommit), several statements sent in one simple query without `BEGIN` are one
//! implicit transaction. The virtual transaction id, when logged, tells where a transaction
//! ended although its `COMMIT` line is missing, and which statements at the start of a log
//! belonged to a transaction whose `BEGIN` came before it.
//!
//! Architecture Invariant: memory grows with the sessions open at one time, not with the log:
//! a session is forgotten when it disconnects, and only its open transaction is kept.

use std::collections::{BTreeMap, HashMap};

use super::normalise::{self, Dialect, Kind, Noise, Shape};
use super::postgres_log::{self, Message, Record};
use crate::semantics::Level;

/// Where a record is: the input's index among the inputs, and its line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    pub input: usize,
    pub line: u64,
}

/// How a transaction's level is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LevelSource {
    /// `BEGIN ISOLATION LEVEL x` / `START TRANSACTION ISOLATION LEVEL x`.
    Begin,
    /// `SET TRANSACTION ISOLATION LEVEL x` inside the transaction.
    SetTransaction,
    /// The session's default, set earlier in the session (`SET SESSION CHARACTERISTICS`,
    /// `SET default_transaction_isolation`).
    Session,
}

impl LevelSource {
    pub fn label(self) -> &'static str {
        match self {
            LevelSource::Begin => "BEGIN ISOLATION LEVEL",
            LevelSource::SetTransaction => "SET TRANSACTION ISOLATION LEVEL",
            LevelSource::Session => "the session's default_transaction_isolation",
        }
    }

    /// The source a label names.
    pub fn from_label(label: &str) -> Option<LevelSource> {
        [
            LevelSource::Begin,
            LevelSource::SetTransaction,
            LevelSource::Session,
        ]
        .into_iter()
        .find(|source| source.label() == label)
    }
}

/// One transaction as it ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    pub statements: Vec<Shape>,
    pub level: Option<(Level, LevelSource)>,
    /// A statement that ran alone, outside any transaction block.
    pub autocommit: bool,
    pub application: Option<String>,
    /// Where its first statement is.
    pub location: Location,
}

/// What grouping saw besides transactions.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Counts {
    pub transactions: u64,
    pub statements: u64,
    pub dropped: BTreeMap<Noise, u64>,
    /// `BEGIN` ... `COMMIT` with nothing of the workload in between.
    pub empty: u64,
    /// Transactions whose beginning or end is not in the log (it starts or ends inside them,
    /// or lines are missing), or whose session disconnected inside them: not used.
    pub cut_off: u64,
}

#[derive(Default)]
struct Session {
    default_level: Option<Level>,
    application: Option<String>,
    open: Option<Open>,
    /// An `execute` whose parameters may follow in a `DETAIL` record (stderr).
    pending: Option<Pending>,
    /// Until a session's first boundary is seen (it may have been inside a transaction when
    /// the log starts), the statements outside transactions with one virtual transaction id.
    held: Option<Held>,
    /// Whether the session's transaction boundaries are known.
    in_step: bool,
    /// MySQL's `SET autocommit = 0`: a statement outside a transaction begins one.
    autocommit_off: bool,
    /// MySQL's `SET TRANSACTION ISOLATION LEVEL x` outside a transaction: the next one's level.
    next_level: Option<Level>,
}

struct Open {
    level: Option<(Level, LevelSource)>,
    statements: Vec<Shape>,
    location: Location,
    vxid: Option<String>,
}

struct Pending {
    text: String,
    location: Location,
    vxid: Option<String>,
}

struct Held {
    vxid: String,
    statements: Vec<(Shape, Location)>,
}

/// Follows every session of the logs, handing each finished transaction to `sink`.
pub struct Grouper<'s> {
    sessions: HashMap<String, Session>,
    pub counts: Counts,
    dialect: Dialect,
    sink: &'s mut dyn FnMut(Transaction),
}

impl<'s> Grouper<'s> {
    pub fn new(dialect: Dialect, sink: &'s mut dyn FnMut(Transaction)) -> Grouper<'s> {
        Grouper {
            sessions: HashMap::new(),
            counts: Counts::default(),
            dialect,
            sink,
        }
    }

    /// Takes one record of input `input`; `details_inline` when the format carries a
    /// statement's parameters in its own record (csvlog, jsonlog).
    pub fn record(&mut self, record: &Record, input: usize, details_inline: bool) {
        let location = Location {
            input,
            line: record.line,
        };
        let message = postgres_log::message(record.severity, &record.message);
        if matches!(message, Message::Other) && !record.message.starts_with("connection ") {
            // Most records are durations and the like: nothing to look up.
            if let Some(session) = self.sessions.get(record.session.as_ref())
                && session.pending.is_none()
            {
                return;
            }
        }
        // The session is taken out of the map while its record is handled, and put back
        // under the same key.
        let (key, mut session) = self
            .sessions
            .remove_entry(record.session.as_ref())
            .unwrap_or_else(|| (record.session.to_string(), Session::default()));
        if let Some(application) = record.application.as_deref()
            && session.application.as_deref() != Some(application)
        {
            session.application = Some(application.to_string());
        }
        if let Message::Parameters(parameters) = message {
            let values = postgres_log::parameters(parameters);
            self.run_pending(&mut session, &values);
            self.sessions.insert(key, session);
            return;
        }
        self.run_pending(&mut session, &[]);
        match message {
            Message::Statement(text) => {
                self.simple_query(&mut session, text, location, record.vxid)
            }
            Message::Execute(text) => {
                let parameters = record.detail.as_deref().and_then(|detail| {
                    match postgres_log::message("DETAIL", detail) {
                        Message::Parameters(parameters) => {
                            Some(postgres_log::parameters(parameters))
                        }
                        _ => None,
                    }
                });
                match parameters {
                    Some(values) => {
                        self.statement(&mut session, text, &values, location, record.vxid, false)
                    }
                    None if details_inline => {
                        self.statement(&mut session, text, &[], location, record.vxid, false)
                    }
                    None => {
                        session.pending = Some(Pending {
                            text: text.to_string(),
                            location,
                            vxid: record.vxid.map(str::to_string),
                        })
                    }
                }
            }
            Message::Disconnection => {
                self.release_held(&mut session);
                if session.open.is_some() {
                    self.counts.cut_off += 1;
                }
                return;
            }
            Message::Parameters(_) | Message::Other => {
                if let Some(rest) = record.message.strip_prefix("connection authorized: ") {
                    session.in_step = true;
                    if let Some(application) = rest.split(" application_name=").nth(1) {
                        session.application = Some(application.trim().to_string());
                    }
                } else if record.message.starts_with("connection received: ") {
                    session.in_step = true;
                }
            }
        }
        self.sessions.insert(key, session);
    }

    /// Ends the logs: transactions still open never finished in them.
    pub fn finish(&mut self) {
        let mut keys: Vec<String> = self.sessions.keys().cloned().collect();
        keys.sort();
        for key in keys {
            let Some(mut session) = self.sessions.remove(&key) else {
                continue;
            };
            self.run_pending(&mut session, &[]);
            self.release_held(&mut session);
            if session.open.is_some() {
                self.counts.cut_off += 1;
            }
        }
    }

    /// A simple query: one statement, or several that run as one implicit transaction unless
    /// they hold their own `BEGIN`.
    fn simple_query(
        &mut self,
        session: &mut Session,
        text: &str,
        location: Location,
        vxid: Option<&str>,
    ) {
        let body = text.trim_end().trim_end_matches(';');
        if !body.contains(';') {
            self.statement(session, text, &[], location, vxid, false);
            return;
        }
        let split = crate::parse::split::split(text, self.dialect.flavor(), false);
        let implicit = session.open.is_none()
            && !split.chunks.iter().any(|chunk| {
                matches!(
                    normalise::classify(&text[chunk.range.start..chunk.range.end], self.dialect),
                    Kind::Begin(_)
                )
            })
            && split.chunks.len() > 1;
        if implicit {
            self.begin(session, None, location, vxid);
        }
        for chunk in &split.chunks {
            let statement = &text[chunk.range.start..chunk.range.end];
            let line = location.line + text[..chunk.range.start].matches('\n').count() as u64;
            let location = Location { line, ..location };
            self.statement(session, statement, &[], location, vxid, implicit);
        }
        if implicit && session.open.is_some() {
            self.end(session);
        }
    }

    /// Runs the `execute` that waited for its parameters, with `values`.
    fn run_pending(&mut self, session: &mut Session, values: &[(u32, Option<String>)]) {
        if let Some(pending) = session.pending.take() {
            let vxid = pending.vxid.as_deref();
            self.statement(
                session,
                &pending.text,
                values,
                pending.location,
                vxid,
                false,
            );
        }
    }

    fn statement(
        &mut self,
        session: &mut Session,
        text: &str,
        values: &[(u32, Option<String>)],
        location: Location,
        vxid: Option<&str>,
        in_implicit: bool,
    ) {
        // A transaction whose virtual id is not this statement's ended without its COMMIT in
        // the log.
        if let (Some(open), Some(vxid)) = (&session.open, vxid)
            && open
                .vxid
                .as_deref()
                .is_some_and(|open_vxid| open_vxid != vxid)
            && !in_implicit
        {
            session.open = None;
            self.counts.cut_off += 1;
        }
        if let Some(held) = &session.held
            && vxid != Some(held.vxid.as_str())
        {
            self.release_held(session);
        }
        let tokens = normalise::tokens(text, self.dialect);
        let kind = normalise::classify_tokens(&tokens, text, self.dialect);
        match kind {
            Kind::Begin(level) => {
                self.release_held(session);
                session.in_step = true;
                // PostgreSQL ignores a BEGIN inside a transaction (with a warning).
                if session.open.is_none() {
                    self.begin(
                        session,
                        level.map(|level| (level, LevelSource::Begin)),
                        location,
                        vxid,
                    );
                }
            }
            Kind::End => {
                if let Some(held) = session.held.take() {
                    // Statements of a transaction whose BEGIN came before the log.
                    if vxid == Some(held.vxid.as_str()) {
                        self.counts.cut_off += 1;
                    } else {
                        session.held = Some(held);
                        self.release_held(session);
                    }
                }
                session.in_step = true;
                if !in_implicit {
                    self.end(session);
                }
            }
            Kind::TransactionLevel(level) => {
                *self.counts.dropped.entry(Noise::Set).or_default() += 1;
                match &mut session.open {
                    Some(open) => open.level = Some((level, LevelSource::SetTransaction)),
                    // PostgreSQL ignores it outside a transaction; MySQL keeps it for the next.
                    None if self.dialect == Dialect::Mysql => session.next_level = Some(level),
                    None => {}
                }
            }
            Kind::Autocommit(on) => {
                *self.counts.dropped.entry(Noise::Set).or_default() += 1;
                // Turning autocommit on commits the open transaction.
                if on && session.open.is_some() {
                    self.end(session);
                }
                session.autocommit_off = !on;
            }
            Kind::SessionLevel(level) => {
                *self.counts.dropped.entry(Noise::Set).or_default() += 1;
                session.default_level = level;
            }
            Kind::Noise(noise) => *self.counts.dropped.entry(noise).or_default() += 1,
            Kind::Work => {
                let parameter = |number: u32| {
                    values
                        .iter()
                        .find(|(n, _)| *n == number)
                        .and_then(|(_, value)| value.clone())
                };
                // Unknown values are told apart by the statement's place in its transaction.
                let place = session
                    .open
                    .as_ref()
                    .map_or(0, |open| open.statements.len());
                let shape =
                    normalise::shape_tokens(&tokens, text, &parameter, &format!("{place}:"));
                if shape.skeleton.is_empty() {
                    *self.counts.dropped.entry(Noise::Ping).or_default() += 1;
                    return;
                }
                self.counts.statements += 1;
                if session.open.is_none() && session.autocommit_off {
                    self.begin(session, None, location, vxid);
                }
                match &mut session.open {
                    Some(open) => {
                        open.statements.push(shape);
                        if open.vxid.is_none() {
                            open.vxid = vxid.map(str::to_string);
                        }
                    }
                    None => match vxid {
                        Some(vxid) if !session.in_step => {
                            let held = session.held.get_or_insert_with(|| Held {
                                vxid: vxid.to_string(),
                                statements: Vec::new(),
                            });
                            held.statements.push((shape, location));
                        }
                        _ => {
                            session.in_step = true;
                            self.emit_autocommit(session, shape, location);
                        }
                    },
                }
            }
        }
    }

    fn begin(
        &mut self,
        session: &mut Session,
        level: Option<(Level, LevelSource)>,
        location: Location,
        vxid: Option<&str>,
    ) {
        let next_level = session.next_level.take();
        let level = level
            .or_else(|| next_level.map(|level| (level, LevelSource::SetTransaction)))
            .or_else(|| {
                session
                    .default_level
                    .map(|level| (level, LevelSource::Session))
            });
        session.open = Some(Open {
            level,
            statements: Vec::new(),
            location,
            vxid: vxid.map(str::to_string),
        });
    }

    fn end(&mut self, session: &mut Session) {
        let Some(open) = session.open.take() else {
            return;
        };
        if open.statements.is_empty() {
            self.counts.empty += 1;
            return;
        }
        self.counts.transactions += 1;
        (self.sink)(Transaction {
            statements: open.statements,
            level: open.level,
            autocommit: false,
            application: session.application.clone(),
            location: open.location,
        });
    }

    fn emit_autocommit(&mut self, session: &Session, shape: Shape, location: Location) {
        self.counts.transactions += 1;
        (self.sink)(Transaction {
            statements: vec![shape],
            level: session
                .default_level
                .map(|level| (level, LevelSource::Session)),
            autocommit: true,
            application: session.application.clone(),
            location,
        });
    }

    /// The held statements ran alone after all, unless several share one virtual id: then
    /// they were one transaction whose beginning is not in the log.
    fn release_held(&mut self, session: &mut Session) {
        let Some(held) = session.held.take() else {
            return;
        };
        session.in_step = true;
        if held.statements.len() > 1 {
            self.counts.cut_off += 1;
            return;
        }
        for (shape, location) in held.statements {
            self.emit_autocommit(session, shape, location);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::capture::normalise::SLOT;

    /// Runs `records` (`session vxid severity message`, `|`-separated) and returns each
    /// transaction as `level; statement | statement` with slots as `?`.
    fn group(records: &[&str]) -> (Vec<String>, Counts) {
        group_in(Dialect::Postgres, records)
    }

    fn group_in(dialect: Dialect, records: &[&str]) -> (Vec<String>, Counts) {
        let mut seen = Vec::new();
        let mut sink = |transaction: Transaction| {
            let statements: Vec<String> = transaction
                .statements
                .iter()
                .map(|shape| format!("{} {:?}", shape.skeleton.replace(SLOT, "?"), shape.values))
                .collect();
            seen.push(format!(
                "{}{}; {}",
                if transaction.autocommit { "auto " } else { "" },
                transaction.level.map_or("-", |(level, _)| level.sql()),
                statements.join(" | ")
            ));
        };
        let mut grouper = Grouper::new(dialect, &mut sink);
        for (line, text) in records.iter().enumerate() {
            let mut parts = text.splitn(4, '|');
            let session = parts.next().unwrap_or("");
            let vxid = parts.next().filter(|vxid| !vxid.is_empty());
            let severity = parts.next().unwrap_or("");
            let message = parts.next().unwrap_or("");
            grouper.record(
                &Record {
                    line: line as u64 + 1,
                    session: Cow::Borrowed(session),
                    vxid,
                    application: None,
                    severity,
                    message: Cow::Borrowed(message),
                    detail: None,
                },
                0,
                false,
            );
        }
        grouper.finish();
        let counts = grouper.counts.clone();
        (seen, counts)
    }

    #[test]
    fn interleaved_sessions_are_grouped_apart_with_their_parameters() {
        let (seen, counts) = group(&[
            "a||LOG|statement: BEGIN ISOLATION LEVEL READ COMMITTED",
            "b||LOG|statement: BEGIN",
            "a||LOG|execute <unnamed>: SELECT balance FROM accounts WHERE id = $1",
            "a||DETAIL|parameters: $1 = '1'",
            "b||LOG|statement: UPDATE t SET x = x + 1 WHERE id = 5",
            "a||LOG|execute <unnamed>: UPDATE accounts SET balance = $1 WHERE id = $2",
            "a||DETAIL|parameters: $1 = '990', $2 = '1'",
            "a||LOG|statement: COMMIT",
            "b||LOG|statement: SAVEPOINT s",
            "b||LOG|statement: END",
        ]);
        assert_eq!(
            seen,
            [
                "READ COMMITTED; SELECT balance FROM accounts WHERE id = ? [\"1\"] | \
                 UPDATE accounts SET balance = ? WHERE id = ? [\"990\", \"1\"]",
                "-; UPDATE t SET x = x + ? WHERE id = ? [\"1\", \"5\"]",
            ]
        );
        assert_eq!(counts.dropped.get(&Noise::Savepoint), Some(&1));
        assert_eq!(counts.transactions, 2);
    }

    #[test]
    fn session_levels_apply_to_later_transactions_and_autocommit_statements() {
        let (seen, _) = group(&[
            "a||LOG|statement: SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE",
            "a||LOG|statement: SELECT a FROM t",
            "a||LOG|statement: BEGIN",
            "a||LOG|statement: SET TRANSACTION ISOLATION LEVEL REPEATABLE READ",
            "a||LOG|statement: SELECT b FROM t",
            "a||LOG|statement: COMMIT",
            "a||LOG|statement: RESET ALL",
            "a||LOG|statement: BEGIN; UPDATE t SET a = 1; COMMIT;",
            "a||LOG|statement: UPDATE t SET a = 2; UPDATE u SET b = 3",
        ]);
        assert_eq!(
            seen,
            [
                "auto SERIALIZABLE; SELECT a FROM t []",
                "REPEATABLE READ; SELECT b FROM t []",
                "-; UPDATE t SET a = ? [\"1\"]",
                "-; UPDATE t SET a = ? [\"2\"] | UPDATE u SET b = ? [\"3\"]",
            ]
        );
    }

    #[test]
    fn mysql_autocommit_off_and_levels_for_the_next_transaction() {
        let (seen, _) = group_in(
            Dialect::Mysql,
            &[
                "c||LOG|statement: SET autocommit=0",
                "c||LOG|statement: SET TRANSACTION ISOLATION LEVEL READ COMMITTED",
                "c||LOG|statement: SELECT balance FROM accounts WHERE id = 1",
                "c||LOG|statement: UPDATE accounts SET balance = 90 WHERE id = 1",
                "c||LOG|statement: COMMIT",
                "c||LOG|statement: SELECT `x` FROM t # a comment",
                "c||LOG|statement: SET autocommit=1",
                "c||LOG|statement: SELECT y FROM t",
            ],
        );
        assert_eq!(
            seen,
            [
                "READ COMMITTED; SELECT balance FROM accounts WHERE id = ? [\"1\"] | \
                 UPDATE accounts SET balance = ? WHERE id = ? [\"90\", \"1\"]",
                "-; SELECT `x` FROM t []",
                "auto -; SELECT y FROM t []",
            ]
        );
    }

    #[test]
    fn transactions_cut_by_the_log_or_a_disconnection_are_counted_not_used() {
        let (seen, counts) = group(&[
            // Inside a transaction when the log starts: its statements share a vxid.
            "a|3/7|LOG|statement: UPDATE t SET a = 1",
            "a|3/7|LOG|statement: UPDATE t SET a = 2",
            "a|3/7|LOG|statement: COMMIT",
            "a|3/8|LOG|statement: SELECT a FROM t",
            "a|3/9|LOG|statement: SELECT b FROM t",
            // A COMMIT line lost: the next statement has another vxid.
            "a|3/10|LOG|statement: BEGIN",
            "a|3/10|LOG|statement: SELECT c FROM t",
            "a|3/11|LOG|statement: SELECT d FROM t",
            "b||LOG|statement: BEGIN",
            "b||LOG|statement: SELECT e FROM t",
            "b||LOG|disconnection: session time: 0:00:00.002",
            "c||LOG|statement: BEGIN",
            "c||LOG|statement: SELECT f FROM t",
        ]);
        assert_eq!(
            seen,
            [
                "auto -; SELECT a FROM t []",
                "auto -; SELECT b FROM t []",
                "auto -; SELECT d FROM t []",
            ]
        );
        assert_eq!(counts.cut_off, 4);
    }
}
