//! Writes a synthetic PostgreSQL stderr log for benchmarking `isolint capture`:
//!
//! ```text
//! cargo run --release --example gen_log -- OUT.log --mb 1024 [--sessions 64] [--seed 1]
//! /usr/bin/time -v target/release/isolint capture OUT.log -o captured/
//! ```
//!
//! The log is what a server with `log_statement = 'all'`, `log_min_duration_statement = 0`,
//! `log_connections` and `log_line_prefix = '%m [%p] %c %v %x %a '` writes for a mix of
//! clients, their sessions interleaved line by line: pgbench's TPC-B over the simple
//! protocol (inline literals, a duration line after each statement), an ORM's
//! read-modify-write over the extended protocol (`parse`, `bind`, `execute` with `DETAIL:
//! parameters`), ORM noise (`SAVEPOINT`, `SHOW`, `SET`, `SELECT 1`, catalog queries),
//! multi-line statements with continuation lines, `IN` lists of any length and sqlcommenter
//! comments with a fresh traceparent each time, reconnections, and now and then a line that
//! is no record. Output depends only on the arguments.

use std::io::Write;
use std::process::ExitCode;

/// splitmix64: small, seeded, the same everywhere.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound.max(1)
    }
}

/// A record without its prefix: the severity and the message (newlines become continuation
/// lines).
struct Line {
    severity: &'static str,
    message: String,
}

fn log(message: String) -> Line {
    Line {
        severity: "LOG",
        message,
    }
}

struct Session {
    pid: u64,
    backend: u64,
    local: u64,
    application: &'static str,
    queue: std::collections::VecDeque<Line>,
}

fn tpc_b(random: &mut Random, lines: &mut std::collections::VecDeque<Line>) {
    let aid = 1 + random.below(100_000);
    let tid = 1 + random.below(10);
    let bid = 1 + random.below(1);
    let delta = random.below(10_001) as i64 - 5000;
    for statement in [
        "BEGIN;".to_string(),
        format!("UPDATE pgbench_accounts SET abalance = abalance + {delta} WHERE aid = {aid};"),
        format!("SELECT abalance FROM pgbench_accounts WHERE aid = {aid};"),
        format!("UPDATE pgbench_tellers SET tbalance = tbalance + {delta} WHERE tid = {tid};"),
        format!("UPDATE pgbench_branches SET bbalance = bbalance + {delta} WHERE bid = {bid};"),
        format!(
            "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES ({tid}, {bid}, \
             {aid}, {delta}, CURRENT_TIMESTAMP);"
        ),
        "END;".to_string(),
    ] {
        lines.push_back(log(format!("statement: {statement}")));
        lines.push_back(log(format!("duration: 0.{:03} ms", random.below(1000))));
    }
}

fn read_modify_write(random: &mut Random, lines: &mut std::collections::VecDeque<Line>) {
    let id = 1 + random.below(10_000);
    let balance = random.below(100_000);
    lines.push_back(log("statement: BEGIN ISOLATION LEVEL READ COMMITTED".into()));
    let steps: [(&str, String); 2] = [
        (
            "SELECT accounts.id, accounts.balance, accounts.owner \nFROM accounts \nWHERE accounts.id = $1::INTEGER",
            format!("$1 = '{id}'"),
        ),
        (
            "UPDATE accounts SET balance=$1::INTEGER WHERE accounts.id = $2::INTEGER",
            format!("$1 = '{balance}', $2 = '{id}'"),
        ),
    ];
    for (statement, parameters) in steps {
        for step in ["parse", "bind"] {
            lines.push_back(log(format!(
                "duration: 0.{:03} ms  {step} <unnamed>: {statement}",
                random.below(1000)
            )));
        }
        lines.push_back(log(format!("execute <unnamed>: {statement}")));
        lines.push_back(Line {
            severity: "DETAIL",
            message: format!("parameters: {parameters}"),
        });
        lines.push_back(log(format!("duration: 0.{:03} ms", random.below(1000))));
    }
    lines.push_back(log("statement: COMMIT".into()));
}

fn orm_noise_and_lists(random: &mut Random, lines: &mut std::collections::VecDeque<Line>) {
    let ids: Vec<String> = (0..1 + random.below(12))
        .map(|_| (1 + random.below(10_000)).to_string())
        .collect();
    let trace = format!("{:016x}{:016x}", random.next(), random.next());
    for statement in [
        "SELECT 1".to_string(),
        "SHOW transaction_isolation".to_string(),
        "SET application_name = 'shop'".to_string(),
        "BEGIN".to_string(),
        "SAVEPOINT sa_savepoint_1".to_string(),
        format!(
            "SELECT orders.id, orders.status FROM orders WHERE orders.customer_id IN ({}) \
             /*controller='orders',action='index',traceparent='00-{trace}-01'*/",
            ids.join(", ")
        ),
        format!(
            "INSERT INTO order_events (order_id, kind, note)\nVALUES ({}, 'viewed',\n  \
             'it''s a note')",
            ids[0]
        ),
        "RELEASE SAVEPOINT sa_savepoint_1".to_string(),
        "COMMIT".to_string(),
        "SELECT t.oid, typarray FROM pg_type t WHERE typname = 'hstore'".to_string(),
    ] {
        lines.push_back(log(format!("statement: {statement}")));
    }
}

/// Appends `line` as `session` logs it at `milliseconds` into the run.
fn format_record(session: &Session, line: &Line, milliseconds: u64, record: &mut String) {
    let seconds = milliseconds / 1000;
    // `%c` is the session's start time and process id in hexadecimal.
    record.push_str(&format!(
        "2026-12-06 {:02}:{:02}:{:02}.{:03} UTC [{}] 6b15{:04x}.{:x} {}/{} 0 {} {}:  ",
        (seconds / 3600) % 24,
        (seconds / 60) % 60,
        seconds % 60,
        milliseconds % 1000,
        session.pid,
        session.pid % 0x10000,
        session.pid,
        session.backend,
        session.local,
        session.application,
        line.severity,
    ));
    record.push_str(&line.message.replace('\n', "\n\t"));
    record.push('\n');
}

fn main() -> ExitCode {
    let mut arguments = std::env::args().skip(1);
    let mut output = None;
    let mut megabytes = 1024u64;
    let mut sessions = 64u64;
    let mut seed = 1u64;
    while let Some(argument) = arguments.next() {
        let mut number = |name: &str| -> Option<u64> {
            let value = arguments.next().and_then(|value| value.parse().ok());
            if value.is_none() {
                eprintln!("gen_log: {name} needs a number");
            }
            value
        };
        match argument.as_str() {
            "--mb" => match number("--mb") {
                Some(value) => megabytes = value,
                None => return ExitCode::from(2),
            },
            "--sessions" => match number("--sessions") {
                Some(value) => sessions = value.max(1),
                None => return ExitCode::from(2),
            },
            "--seed" => match number("--seed") {
                Some(value) => seed = value,
                None => return ExitCode::from(2),
            },
            path if output.is_none() => output = Some(path.to_string()),
            other => {
                eprintln!("gen_log: unexpected argument {other:?}");
                return ExitCode::from(2);
            }
        }
    }
    let Some(output) = output else {
        eprintln!("usage: gen_log OUT.log [--mb N] [--sessions N] [--seed N]");
        return ExitCode::from(2);
    };
    let file = match std::fs::File::create(&output) {
        Ok(file) => file,
        Err(error) => {
            eprintln!("gen_log: cannot create {output}: {error}");
            return ExitCode::from(2);
        }
    };
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut random = Random(seed);
    let applications = ["pgbench", "bank_app", "shop"];
    let mut next_pid = 1000u64;
    let mut new_session = |random: &mut Random, backend: u64| {
        next_pid += 1 + random.below(7);
        Session {
            pid: next_pid,
            backend,
            local: 1,
            application: applications[random.below(3) as usize],
            queue: std::collections::VecDeque::new(),
        }
    };
    let mut all: Vec<Session> = (0..sessions)
        .map(|backend| new_session(&mut random, backend + 3))
        .collect();
    let target = megabytes << 20;
    let mut written = 0u64;
    let mut milliseconds = 0u64;
    let mut record = String::new();
    while written < target {
        let index = random.below(sessions) as usize;
        record.clear();
        if all[index].queue.is_empty() {
            // Between transactions, now and then, the client reconnects.
            if random.below(200) == 0 {
                let disconnection = log(
                    "disconnection: session time: 0:00:01.002 user=app database=app host=[local]"
                        .into(),
                );
                format_record(&all[index], &disconnection, milliseconds, &mut record);
                let backend = all[index].backend;
                all[index] = new_session(&mut random, backend);
            }
            let session = &mut all[index];
            session.local += 1;
            match session.application {
                "pgbench" => tpc_b(&mut random, &mut session.queue),
                "bank_app" => read_modify_write(&mut random, &mut session.queue),
                _ => orm_noise_and_lists(&mut random, &mut session.queue),
            }
        }
        let session = &mut all[index];
        let Some(line) = session.queue.pop_front() else {
            continue;
        };
        milliseconds += random.below(3);
        format_record(session, &line, milliseconds, &mut record);
        if random.below(100_000) == 0 {
            record.push_str("could not receive data from client: Connection reset by peer\n");
        }
        if let Err(error) = out.write_all(record.as_bytes()) {
            eprintln!("gen_log: cannot write {output}: {error}");
            return ExitCode::from(2);
        }
        written += record.len() as u64;
    }
    if let Err(error) = out.flush() {
        eprintln!("gen_log: cannot write {output}: {error}");
        return ExitCode::from(2);
    }
    eprintln!("gen_log: wrote {written} bytes to {output}");
    ExitCode::SUCCESS
}
