//! MySQL's and MariaDB's general query log (`general_log = ON`), read as the same records as
//! PostgreSQL's: the connection id is the session, `Query` and `Execute` are statements,
//! `Connect` and `Quit` open and close the session.
//!
//! ```text
//! 2024-03-01T10:00:00.123456Z→    9 Query→SELECT ...        (MySQL 8)
//! 241206 17:20:12→     3 Query→SELECT ...                (MariaDB; the time only when it changed)
//! →→     3 Query→SELECT 'multi
//! line'                                                   (a statement's later lines as they are)
//! ```
//!
//! (`→` is a tab.)
//!
//! Architecture Invariant: as for PostgreSQL's logs, reading never fails on content.

use std::borrow::Cow;
use std::io::BufRead;

use super::postgres_log::{Reading, Record, for_each_line};

/// Whether `first_line` opens a general query log (`mysqld, Version: ... started with:`).
pub fn is_general_log(first_line: &str) -> bool {
    (first_line.contains(", Version: ") && first_line.trim_end().ends_with("started with:"))
        || split_record(first_line).is_some()
}

/// The connection id, command and argument of a line that starts an entry.
fn split_record(line: &str) -> Option<(&str, &str, &str)> {
    let (_time, rest) = line.split_once('\t')?;
    let rest = rest.trim_start_matches(['\t', ' ']);
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let (id, rest) = rest.split_at(digits);
    let rest = rest.strip_prefix(' ')?;
    let (command, argument) = rest.split_once('\t').unwrap_or((rest, ""));
    let known = matches!(
        command,
        "Query"
            | "Execute"
            | "Prepare"
            | "Close stmt"
            | "Reset stmt"
            | "Connect"
            | "Quit"
            | "Init DB"
            | "Field List"
            | "Ping"
            | "Statistics"
            | "Change user"
            | "Binlog Dump"
            | "Set option"
            | "Shutdown"
            | "Kill"
    );
    known.then_some((id, command, argument))
}

/// The header lines a server writes when it opens the log.
fn is_header(line: &str) -> bool {
    line.contains(", Version: ")
        || line.starts_with("Tcp port:")
        || (line.starts_with("Time") && line.contains("Command") && line.contains("Argument"))
}

/// Reads a general query log, calling `on_record` with each entry as a PostgreSQL record
/// would say it (`statement: ...`, `connection authorized: ...`, `disconnection: ...`).
pub fn read(
    input: &mut dyn BufRead,
    on_record: &mut dyn FnMut(&Record),
    on_bytes: &mut dyn FnMut(u64),
) -> std::io::Result<Reading> {
    let mut reading = Reading::default();
    // The entry being read: its line, connection, command and argument so far.
    let mut entry: Option<(u64, String, String, String)> = None;
    for_each_line(input, on_bytes, &mut |line_number, line| {
        let complete = line.last() == Some(&b'\n');
        let text = String::from_utf8_lossy(line);
        let text = text.trim_end_matches(['\n', '\r']);
        if let Some((id, command, argument)) = split_record(text) {
            if let Some(done) = entry.take() {
                emit(&done, on_record);
            }
            entry = Some((
                line_number,
                id.to_string(),
                command.to_string(),
                argument.to_string(),
            ));
        } else if is_header(text) {
            if let Some(done) = entry.take() {
                emit(&done, on_record);
            }
        } else if let Some((_, _, _, argument)) = &mut entry {
            argument.push('\n');
            argument.push_str(text);
        } else if !text.trim().is_empty() {
            reading.bad_lines += 1;
        }
        if !complete {
            reading.truncated = true;
            entry = None;
        }
    })?;
    if let Some(done) = entry.take() {
        emit(&done, on_record);
    }
    Ok(reading)
}

fn emit(
    (line, id, command, argument): &(u64, String, String, String),
    on_record: &mut dyn FnMut(&Record),
) {
    let message = match command.as_str() {
        "Query" | "Execute" => format!("statement: {argument}"),
        "Connect" => format!("connection authorized: {argument}"),
        "Quit" => "disconnection: ".to_string(),
        _ => return,
    };
    on_record(&Record {
        line: *line,
        session: Cow::Owned(format!("connection {id}")),
        vxid: None,
        application: None,
        severity: "LOG",
        message: Cow::Owned(message),
        detail: None,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_of_mariadb_and_mysql_logs_are_records() {
        let log = "mariadbd, Version: 10.11.19-MariaDB-0+deb12u1-log (Debian 12). started with:\n\
            Tcp port: 0  Unix socket: /tmp/sock\n\
            Time\t\t    Id Command\tArgument\n\
            261206 17:20:12\t     3 Connect\troot@localhost on  using Socket\n\
            \t\t     3 Init DB\tapp\n\
            \t\t     3 Query\tSELECT 'multi\n\
            line'\n\
            2024-03-01T10:00:00.123456Z\t   12 Query\tCOMMIT\n\
            \t\t     3 Quit\t\n";
        assert!(is_general_log(log.lines().next().unwrap_or("")));
        let mut seen = Vec::new();
        let reading = read(
            &mut log.as_bytes(),
            &mut |record| {
                seen.push(format!(
                    "{}|{}|{}",
                    record.line, record.session, record.message
                ))
            },
            &mut |_| {},
        )
        .expect("read");
        assert_eq!(
            seen,
            [
                "4|connection 3|connection authorized: root@localhost on  using Socket",
                "6|connection 3|statement: SELECT 'multi\nline'",
                "8|connection 12|statement: COMMIT",
                "9|connection 3|disconnection: ",
            ]
        );
        assert_eq!(reading, Reading::default());
    }
}
