//! PostgreSQL's log formats, read as a stream of records: stderr (with any `log_line_prefix`),
//! `csvlog`, `jsonlog`, and `pg_stat_statements` exported as CSV. A record is one log entry:
//! its session, virtual transaction id, application, severity and message.
//!
//! Architecture Invariant: reading never fails on content. A line that is no record is
//! counted and skipped; only I/O errors are errors. Nothing is held but the record being read.

use std::borrow::Cow;
use std::io::BufRead;

/// The formats `capture` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `log_destination = 'stderr'`: a `log_line_prefix`, a severity, a message; lines of a
    /// multi-line message after the first start with a tab.
    Stderr,
    /// `log_destination = 'csvlog'`.
    Csv,
    /// `log_destination = 'jsonlog'` (PostgreSQL 15 and later).
    Json,
    /// `pg_stat_statements` as CSV with a header holding `query` and `calls`.
    Statements,
    /// MySQL's or MariaDB's general query log (read by `mysql_log`).
    MysqlGeneral,
}

impl Format {
    pub fn label(self) -> &'static str {
        match self {
            Format::Stderr => "stderr log",
            Format::Csv => "csvlog",
            Format::Json => "jsonlog",
            Format::Statements => "pg_stat_statements export",
            Format::MysqlGeneral => "MySQL general query log",
        }
    }

    /// The format of a file whose first line is `first_line`.
    pub fn detect(first_line: &str) -> Format {
        if super::mysql_log::is_general_log(first_line) {
            return Format::MysqlGeneral;
        }
        let line = first_line.trim_start_matches('\u{feff}').trim_start();
        if line.starts_with('{') {
            return Format::Json;
        }
        let header: Vec<String> = line
            .split(',')
            .map(|field| field.trim().trim_matches('"').to_ascii_lowercase())
            .collect();
        if header.iter().any(|field| field == "query")
            && header.iter().any(|field| field == "calls")
        {
            return Format::Statements;
        }
        // csvlog starts with the time and a comma; stderr has the prefix, then a space.
        let bytes = line.as_bytes();
        let timestamp = bytes.len() > 19
            && bytes[..4].iter().all(u8::is_ascii_digit)
            && bytes[4] == b'-'
            && bytes[10] == b' ';
        if timestamp && line.split(' ').take(3).any(|part| part.contains(',')) {
            Format::Csv
        } else {
            Format::Stderr
        }
    }
}

/// One log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    /// The line it starts on, from 1.
    pub line: u64,
    /// The session (`%c`), else the backend's process id (`%p`), else the backend id of the
    /// virtual transaction id; empty when the log says nothing of who ran it.
    pub session: Cow<'a, str>,
    /// The virtual transaction id (`%v`), when logged and not `N/0`.
    pub vxid: Option<&'a str>,
    pub application: Option<Cow<'a, str>>,
    /// `LOG`, `DETAIL`, `ERROR`, ...
    pub severity: &'a str,
    pub message: Cow<'a, str>,
    /// The detail carried by the same entry (csvlog and jsonlog); stderr writes it as a
    /// `DETAIL` record of its own.
    pub detail: Option<Cow<'a, str>>,
}

/// The fields of a stderr prefix, from `log_line_prefix` when it was given.
#[derive(Debug)]
pub struct Prefix {
    pattern: regex::Regex,
}

/// `log_line_prefix` could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixError(pub String);

impl Prefix {
    /// The matcher for lines written with `log_line_prefix = spec`.
    pub fn new(spec: &str) -> Result<Prefix, PrefixError> {
        let mut pattern = String::from("^");
        let mut optional_tail = false;
        let mut chars = spec.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '%' {
                pattern.push_str(&regex::escape(&c.to_string()));
                continue;
            }
            // A padding width (`%-10a`) changes nothing but spaces.
            let mut padded = false;
            while chars
                .peek()
                .is_some_and(|c| *c == '-' || c.is_ascii_digit())
            {
                chars.next();
                padded = true;
            }
            let Some(escape) = chars.next() else {
                return Err(PrefixError("it ends with a lone `%`".into()));
            };
            if padded {
                pattern.push_str(" *");
            }
            let group = match escape {
                'a' => "(?P<application>.*?)",
                'c' => "(?P<session>[0-9a-f]+\\.[0-9a-f]+)",
                'p' => "(?P<pid>[0-9]+)",
                'v' => "(?P<vxid>[0-9]*/?[0-9]*)",
                'x' | 'l' | 'P' | 'Q' => "[0-9]*",
                'q' => {
                    pattern.push_str("(?:");
                    optional_tail = true;
                    ""
                }
                '%' => "%",
                'm' | 't' | 'n' | 's' | 'u' | 'd' | 'r' | 'h' | 'i' | 'e' | 'b' | 'L' => ".*?",
                other => {
                    return Err(PrefixError(format!(
                        "`%{other}` is not a log_line_prefix escape"
                    )));
                }
            };
            if padded {
                pattern.push_str(group);
                pattern.push_str(" *");
            } else {
                pattern.push_str(group);
            }
        }
        if optional_tail {
            pattern.push_str(")?");
        }
        pattern.push_str("(?P<severity>[A-Z]+[0-9]?):  ");
        regex::Regex::new(&pattern)
            .map(|pattern| Prefix { pattern })
            .map_err(|error| PrefixError(error.to_string()))
    }
}

/// The severities PostgreSQL writes.
const SEVERITIES: [&str; 19] = [
    "LOG",
    "DETAIL",
    "STATEMENT",
    "ERROR",
    "HINT",
    "CONTEXT",
    "WARNING",
    "NOTICE",
    "INFO",
    "FATAL",
    "PANIC",
    "QUERY",
    "LOCATION",
    "DEBUG",
    "DEBUG1",
    "DEBUG2",
    "DEBUG3",
    "DEBUG4",
    "DEBUG5",
];

/// What reading one input found besides records.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Reading {
    /// Lines that are no record of the format.
    pub bad_lines: u64,
    /// Whether the input ends in the middle of a record (a file cut while being written);
    /// that record is not used.
    pub truncated: bool,
}

/// Reads `input` as a log of `format`, calling `on_record` for each record and `on_bytes`
/// with the bytes read so far, now and then.
pub fn read(
    input: &mut dyn BufRead,
    format: Format,
    prefix: Option<&Prefix>,
    on_record: &mut dyn FnMut(&Record),
    on_bytes: &mut dyn FnMut(u64),
) -> std::io::Result<Reading> {
    match format {
        Format::Stderr => read_stderr(input, prefix, on_record, on_bytes),
        Format::Csv => read_csv(input, on_record, on_bytes),
        Format::Json => read_json(input, on_record, on_bytes),
        Format::Statements => Ok(Reading::default()),
        Format::MysqlGeneral => super::mysql_log::read(input, on_record, on_bytes),
    }
}

/// Lines read between progress reports.
const REPORT_EVERY: u64 = 1 << 14;

fn read_stderr(
    input: &mut dyn BufRead,
    prefix: Option<&Prefix>,
    on_record: &mut dyn FnMut(&Record),
    on_bytes: &mut dyn FnMut(u64),
) -> std::io::Result<Reading> {
    let mut reading = Reading::default();
    // The record being read: its first line number and its text, continuation lines joined
    // with newlines and without the tab PostgreSQL puts before them.
    let mut record = String::new();
    let mut record_line = 0u64;
    for_each_line(input, on_bytes, &mut |line_number, line| {
        let complete = line.last() == Some(&b'\n');
        let text = String::from_utf8_lossy(line);
        let text = text.trim_end_matches(['\n', '\r']);
        if let Some(continuation) = text.strip_prefix('\t')
            && record_line != 0
        {
            record.push('\n');
            record.push_str(continuation);
        } else {
            if record_line != 0 {
                stderr_record(&record, record_line, prefix, &mut reading, on_record);
            }
            record.clear();
            record.push_str(text);
            record_line = line_number;
        }
        if !complete {
            reading.truncated = true;
            record_line = 0;
        }
    })?;
    if record_line != 0 {
        stderr_record(&record, record_line, prefix, &mut reading, on_record);
    }
    Ok(reading)
}

/// Calls `each` with every line of `input` (its number from 1, its bytes with the newline),
/// and `on_bytes` with the bytes read so far now and then and at the end.
pub(super) fn for_each_line(
    input: &mut dyn BufRead,
    on_bytes: &mut dyn FnMut(u64),
    each: &mut dyn FnMut(u64, &[u8]),
) -> std::io::Result<()> {
    let mut line = Vec::new();
    let mut line_number = 0u64;
    let mut bytes = 0u64;
    loop {
        line.clear();
        let read = input.read_until(b'\n', &mut line)?;
        if read == 0 {
            break;
        }
        line_number += 1;
        bytes += read as u64;
        if line_number.is_multiple_of(REPORT_EVERY) {
            on_bytes(bytes);
        }
        each(line_number, &line);
    }
    on_bytes(bytes);
    Ok(())
}

fn stderr_record(
    text: &str,
    line: u64,
    prefix: Option<&Prefix>,
    reading: &mut Reading,
    on_record: &mut dyn FnMut(&Record),
) {
    let first_line_end = text.find('\n').unwrap_or(text.len());
    let first_line = &text[..first_line_end];
    let record = match prefix {
        Some(prefix) => prefixed_record(first_line, prefix),
        None => generic_record(first_line),
    };
    match record {
        Some((fields, message_start)) => on_record(&Record {
            line,
            session: fields.session,
            vxid: fields.vxid,
            application: fields.application.map(Cow::Borrowed),
            severity: fields.severity,
            message: Cow::Borrowed(&text[message_start..]),
            detail: None,
        }),
        None => reading.bad_lines += 1 + text.matches('\n').count() as u64,
    }
}

struct Fields<'a> {
    session: Cow<'a, str>,
    vxid: Option<&'a str>,
    application: Option<&'a str>,
    severity: &'a str,
}

/// A line read without knowing the prefix: the severity is the first `WORD:  ` that is one,
/// and the prefix before it yields what it plainly holds: `[pid]`, a session id
/// (`6b158efb.304d`), a virtual transaction id (`3/42`).
fn generic_record(line: &str) -> Option<(Fields<'_>, usize)> {
    let mut searched = 0;
    let (severity_start, message_start) = loop {
        let colon = searched + line[searched..].find(":  ")?;
        let word_start = line[..colon].rfind(' ').map_or(0, |space| space + 1);
        if SEVERITIES.contains(&&line[word_start..colon]) {
            break (word_start, colon + 3);
        }
        searched = colon + 1;
    };
    let prefix = &line[..severity_start];
    let mut pid = None;
    let mut session = None;
    let mut vxid = None;
    for part in prefix.split_whitespace() {
        if let Some(inner) = part.strip_prefix('[').and_then(|p| p.strip_suffix(']')) {
            // `[pid]`, or `[pid-line]` as some prefixes write it.
            let digits = inner.split('-').next().unwrap_or("");
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                pid.get_or_insert(digits);
            }
        } else if is_session_id(part) {
            session.get_or_insert(part);
        } else if let Some((backend, local)) = part.split_once('/')
            && !backend.is_empty()
            && backend.bytes().all(|b| b.is_ascii_digit())
            && !local.is_empty()
            && local.bytes().all(|b| b.is_ascii_digit())
        {
            vxid.get_or_insert(part);
        }
    }
    let fields = Fields {
        session: session_key(session, pid, vxid),
        vxid: vxid.filter(|vxid| !vxid.ends_with("/0")),
        application: None,
        severity: &line[severity_start..message_start - 3],
    };
    Some((fields, message_start))
}

fn prefixed_record<'a>(line: &'a str, prefix: &Prefix) -> Option<(Fields<'a>, usize)> {
    let captures = prefix.pattern.captures(line)?;
    let text = |name: &str| {
        captures
            .name(name)
            .map(|m| m.as_str())
            .filter(|t| !t.is_empty())
    };
    let severity = captures.name("severity")?;
    let vxid = text("vxid");
    let fields = Fields {
        session: session_key(text("session"), text("pid"), vxid),
        vxid: vxid.filter(|vxid| !vxid.ends_with("/0") && vxid.contains('/')),
        application: text("application"),
        severity: severity.as_str(),
    };
    Some((fields, captures.get(0)?.end()))
}

/// `6b158efb.304d`: the session start time and process id in hexadecimal.
fn is_session_id(part: &str) -> bool {
    part.split_once('.').is_some_and(|(time, pid)| {
        time.len() >= 6
            && !pid.is_empty()
            && time.bytes().all(|b| b.is_ascii_hexdigit())
            && pid.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

/// Who ran a statement: the session, else the process, else the backend of the virtual
/// transaction id (unique among the sessions connected at one time).
fn session_key<'a>(
    session: Option<&'a str>,
    pid: Option<&'a str>,
    vxid: Option<&'a str>,
) -> Cow<'a, str> {
    if let Some(session) = session {
        Cow::Borrowed(session)
    } else if let Some(pid) = pid {
        Cow::Owned(format!("pid {pid}"))
    } else if let Some((backend, _)) = vxid.and_then(|vxid| vxid.split_once('/')) {
        Cow::Owned(format!("backend {backend}"))
    } else {
        Cow::Borrowed("")
    }
}

/// csvlog's columns (PostgreSQL 13 to 17 agree on these).
const CSV_PID: usize = 3;
const CSV_SESSION: usize = 5;
const CSV_VXID: usize = 9;
const CSV_SEVERITY: usize = 11;
const CSV_MESSAGE: usize = 13;
const CSV_DETAIL: usize = 14;
const CSV_APPLICATION: usize = 22;

fn read_csv(
    input: &mut dyn BufRead,
    on_record: &mut dyn FnMut(&Record),
    on_bytes: &mut dyn FnMut(u64),
) -> std::io::Result<Reading> {
    let mut reading = Reading::default();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(input);
    let mut row = csv::ByteRecord::new();
    let mut rows = 0u64;
    while next_row(&mut reader, &mut row, &mut reading)? {
        rows += 1;
        if rows.is_multiple_of(REPORT_EVERY) {
            on_bytes(reader.position().byte());
        }
        let line = row.position().map_or(0, csv::Position::line);
        if row.len() <= CSV_APPLICATION {
            // A row cut short: the end of a truncated file, or not csvlog at all.
            reading.bad_lines += 1;
            continue;
        }
        let field = |index: usize| String::from_utf8_lossy(&row[index]);
        let session = field(CSV_SESSION);
        let pid = field(CSV_PID);
        let vxid = field(CSV_VXID);
        let severity = field(CSV_SEVERITY);
        let session = session_key(
            Some(session.as_ref()).filter(|s| !s.is_empty()),
            Some(pid.as_ref()).filter(|p| !p.is_empty()),
            None,
        );
        let application = field(CSV_APPLICATION);
        let detail = field(CSV_DETAIL);
        on_record(&Record {
            line,
            session,
            vxid: Some(vxid.as_ref()).filter(|v| !v.is_empty() && !v.ends_with("/0")),
            application: (!application.is_empty()).then_some(application),
            severity: &severity,
            message: field(CSV_MESSAGE),
            detail: (!detail.is_empty()).then_some(detail),
        });
    }
    on_bytes(reader.position().byte());
    Ok(reading)
}

/// Reads the next CSV row into `row`: false at the end. A row that is not CSV is counted
/// in `reading` and skipped; only I/O fails.
fn next_row<R: std::io::Read>(
    reader: &mut csv::Reader<R>,
    row: &mut csv::ByteRecord,
    reading: &mut Reading,
) -> std::io::Result<bool> {
    loop {
        match reader.read_byte_record(row) {
            Ok(more) => return Ok(more),
            Err(error) => match error.kind() {
                csv::ErrorKind::Io(_) => return Err(std::io::Error::other(error.to_string())),
                _ => reading.bad_lines += 1,
            },
        }
    }
}

/// The jsonlog keys `capture` reads.
#[derive(serde::Deserialize)]
struct JsonRecord<'a> {
    #[serde(borrow, default)]
    session_id: Option<Cow<'a, str>>,
    #[serde(default)]
    pid: Option<u64>,
    #[serde(borrow, default)]
    vxid: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    application_name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    error_severity: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    message: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    detail: Option<Cow<'a, str>>,
}

fn read_json(
    input: &mut dyn BufRead,
    on_record: &mut dyn FnMut(&Record),
    on_bytes: &mut dyn FnMut(u64),
) -> std::io::Result<Reading> {
    let mut reading = Reading::default();
    for_each_line(input, on_bytes, &mut |line_number, line| {
        if line.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        let Ok(entry) = serde_json::from_slice::<JsonRecord>(line) else {
            if line.last() == Some(&b'\n') {
                reading.bad_lines += 1;
            } else {
                reading.truncated = true;
            }
            return;
        };
        let pid = entry.pid.map(|pid| pid.to_string());
        let vxid = entry.vxid.as_deref();
        let session = session_key(entry.session_id.as_deref(), pid.as_deref(), None);
        on_record(&Record {
            line: line_number,
            session: Cow::Owned(session.into_owned()),
            vxid: vxid.filter(|v| !v.is_empty() && !v.ends_with("/0")),
            application: entry.application_name.clone(),
            severity: entry.error_severity.as_deref().unwrap_or(""),
            message: entry.message.clone().unwrap_or_default(),
            detail: entry.detail.clone(),
        });
    })?;
    Ok(reading)
}

/// One row of a `pg_stat_statements` export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementRow {
    pub line: u64,
    pub query: String,
    pub calls: u64,
}

/// Reads a `pg_stat_statements` export: CSV with a header naming `query` and `calls` (other
/// columns are ignored).
pub fn read_statements(
    input: &mut dyn BufRead,
    on_row: &mut dyn FnMut(StatementRow),
) -> std::io::Result<Reading> {
    let mut reading = Reading::default();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(input);
    let headers = reader
        .byte_headers()
        .map_err(|error| std::io::Error::other(error.to_string()))?
        .clone();
    let column = |name: &str| {
        headers.iter().position(|field| {
            String::from_utf8_lossy(field)
                .trim()
                .eq_ignore_ascii_case(name)
        })
    };
    let (Some(query), Some(calls)) = (column("query"), column("calls")) else {
        return Ok(reading);
    };
    let mut row = csv::ByteRecord::new();
    while next_row(&mut reader, &mut row, &mut reading)? {
        let (Some(text), Some(count)) = (row.get(query), row.get(calls)) else {
            reading.bad_lines += 1;
            continue;
        };
        let Ok(count) = String::from_utf8_lossy(count).trim().parse::<u64>() else {
            reading.bad_lines += 1;
            continue;
        };
        on_row(StatementRow {
            line: row.position().map_or(0, csv::Position::line),
            query: String::from_utf8_lossy(text).into_owned(),
            calls: count,
        });
    }
    Ok(reading)
}

/// What a record's message says, as far as capture is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message<'a> {
    /// `statement: TEXT` (simple query protocol; may hold several statements).
    Statement(&'a str),
    /// `execute NAME: TEXT` (extended protocol); its parameters follow in a `DETAIL`.
    Execute(&'a str),
    /// `parameters: $1 = '...', ...`.
    Parameters(&'a str),
    /// The session ended.
    Disconnection,
    /// Anything else: connections, durations alone, parse and bind steps, errors.
    Other,
}

/// Reads a record's message.
pub fn message<'a>(severity: &str, message: &'a str) -> Message<'a> {
    match severity {
        "LOG" => {}
        "DETAIL" => {
            return match message.strip_prefix("parameters: ") {
                Some(parameters) => Message::Parameters(parameters),
                None => Message::Other,
            };
        }
        _ => return Message::Other,
    }
    // `log_min_duration_statement` writes `duration: 0.123 ms  statement: ...` when the
    // statement was not logged before it ran; with `log_statement = 'all'` the duration stands
    // alone.
    let message = match message.strip_prefix("duration: ") {
        Some(rest) => match rest.find(" ms  ") {
            Some(at) => &rest[at + " ms  ".len()..],
            None => return Message::Other,
        },
        None => message,
    };
    if let Some(text) = message.strip_prefix("statement: ") {
        Message::Statement(text)
    } else if let Some(rest) = message.strip_prefix("execute ") {
        // `execute fetch from S_1/C_2: ...` continues a portal already counted.
        if rest.starts_with("fetch from ") {
            return Message::Other;
        }
        match rest.find(": ") {
            Some(at) => Message::Execute(&rest[at + 2..]),
            None => Message::Other,
        }
    } else if message.starts_with("disconnection: ") {
        Message::Disconnection
    } else {
        Message::Other
    }
}

/// The values of `$1 = '5', $2 = NULL, ...`, unquoted; `None` for NULL. A list cut short
/// (`log_parameter_max_length`) keeps what was read.
pub fn parameters(text: &str) -> Vec<(u32, Option<String>)> {
    let mut values = Vec::new();
    let mut rest = text;
    while let Some(after_dollar) = rest.strip_prefix('$') {
        let digits = after_dollar.bytes().take_while(u8::is_ascii_digit).count();
        let Ok(number) = after_dollar[..digits].parse::<u32>() else {
            break;
        };
        let Some(value) = after_dollar[digits..].strip_prefix(" = ") else {
            break;
        };
        if let Some(after) = value.strip_prefix("NULL") {
            values.push((number, None));
            rest = after;
        } else if let Some(quoted) = value.strip_prefix('\'') {
            let mut unquoted = String::new();
            let mut chars = quoted.char_indices();
            let mut end = None;
            while let Some((at, c)) = chars.next() {
                if c == '\'' {
                    if quoted[at + 1..].starts_with('\'') {
                        unquoted.push('\'');
                        chars.next();
                    } else {
                        end = Some(at + 1);
                        break;
                    }
                } else {
                    unquoted.push(c);
                }
            }
            let Some(end) = end else {
                break;
            };
            values.push((number, Some(unquoted)));
            rest = &quoted[end..];
        } else {
            break;
        }
        match rest.strip_prefix(", ") {
            Some(next) => rest = next,
            None => break,
        }
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(text: &str, format: Format, prefix: Option<&Prefix>) -> (Vec<String>, Reading) {
        let mut seen = Vec::new();
        let reading = read(
            &mut text.as_bytes(),
            format,
            prefix,
            &mut |record| {
                seen.push(format!(
                    "{}|{}|{}|{}|{}|{}",
                    record.line,
                    record.session,
                    record.vxid.unwrap_or("-"),
                    record.application.as_deref().unwrap_or("-"),
                    record.severity,
                    record.message
                ))
            },
            &mut |_| {},
        )
        .expect("read");
        (seen, reading)
    }

    const STDERR: &str = "\
2026-12-06 16:36:36.658 UTC [13291] postgres@postgres 6b158f14.33eb 3/44 0 bank app LOG:  execute <unnamed>: SELECT balance
\t  FROM accounts WHERE id = $1
2026-12-06 16:36:36.658 UTC [13291] postgres@postgres 6b158f14.33eb 3/44 0 bank app DETAIL:  parameters: $1 = '1'
garbage without a prefix
2026-12-06 16:36:11.706 UTC [12350] LOG:  starting PostgreSQL 15.18
";

    #[test]
    fn stderr_records_span_continuation_lines_and_bad_lines_are_counted() {
        let (seen, reading) = records(STDERR, Format::Stderr, None);
        assert_eq!(
            seen,
            [
                "1|6b158f14.33eb|3/44|-|LOG|execute <unnamed>: SELECT balance\n  FROM accounts WHERE id = $1",
                "3|6b158f14.33eb|3/44|-|DETAIL|parameters: $1 = '1'",
                "5|pid 12350|-|-|LOG|starting PostgreSQL 15.18",
            ]
        );
        assert_eq!(
            reading,
            Reading {
                bad_lines: 1,
                truncated: false
            }
        );
    }

    #[test]
    fn a_given_prefix_yields_the_application_name() {
        let prefix = Prefix::new("%m [%p] %q%u@%d %c %v %x %a ").expect("prefix");
        let (seen, _) = records(STDERR, Format::Stderr, Some(&prefix));
        assert_eq!(seen[0].split('|').nth(3), Some("bank app"));
        assert_eq!(seen[2], "5|pid 12350|-|-|LOG|starting PostgreSQL 15.18");
        assert!(Prefix::new("%m %z").is_err());
    }

    #[test]
    fn a_record_cut_by_the_end_of_the_file_is_not_used() {
        let (seen, reading) = records(
            "2026-12-06 16:36:36.658 UTC [1] LOG:  statement: BEGIN\n\
             2026-12-06 16:36:36.658 UTC [1] LOG:  statement: UPDATE t SET a = 1 WH",
            Format::Stderr,
            None,
        );
        assert_eq!(seen.len(), 1);
        assert!(reading.truncated);
    }

    #[test]
    fn csvlog_and_jsonlog_records_are_read() {
        let csv = "2026-12-06 16:36:12.014 UTC,\"postgres\",\"postgres\",12382,\"[local]\",\
            6b158efc.305e,3,\"idle in transaction\",2026-12-06 16:36:12 UTC,3/38,0,LOG,00000,\
            \"statement: UPDATE t SET a = 'x\"\"\ny' WHERE id = 1;\",,,,,,,,,\"pgbench\",\"client backend\",,0\n\
            not,csv\n";
        assert_eq!(
            Format::detect(csv.lines().next().unwrap_or("")),
            Format::Csv
        );
        let (seen, reading) = records(csv, Format::Csv, None);
        assert_eq!(
            seen,
            ["1|6b158efc.305e|3/38|pgbench|LOG|statement: UPDATE t SET a = 'x\"\ny' WHERE id = 1;"]
        );
        assert_eq!(reading.bad_lines, 1);
        let json = "{\"timestamp\":\"2026-12-06 16:36:12.014 UTC\",\"pid\":12382,\
            \"session_id\":\"6b158efc.305e\",\"vxid\":\"3/0\",\"error_severity\":\"LOG\",\
            \"message\":\"statement: SELECT '\\u00e9'\",\"application_name\":\"pgbench\"}\n{\"cut";
        assert_eq!(Format::detect(json), Format::Json);
        let (seen, reading) = records(json, Format::Json, None);
        assert_eq!(
            seen,
            ["1|6b158efc.305e|-|pgbench|LOG|statement: SELECT 'é'"]
        );
        assert!(reading.truncated);
    }

    #[test]
    fn messages_are_read() {
        assert_eq!(
            message("LOG", "statement: BEGIN"),
            Message::Statement("BEGIN")
        );
        assert_eq!(
            message("LOG", "duration: 0.1 ms  execute S_1: SELECT $1"),
            Message::Execute("SELECT $1")
        );
        assert_eq!(message("LOG", "duration: 0.1 ms"), Message::Other);
        assert_eq!(
            message("LOG", "duration: 0.1 ms  bind S_1: SELECT $1"),
            Message::Other
        );
        assert_eq!(
            message("LOG", "execute fetch from S_1/C_2: SELECT 1"),
            Message::Other
        );
        assert_eq!(message("ERROR", "statement: x"), Message::Other);
        assert_eq!(
            message("DETAIL", "parameters: $1 = '1'"),
            Message::Parameters("$1 = '1'")
        );
    }

    #[test]
    fn parameters_are_unquoted() {
        assert_eq!(
            parameters("$1 = '990', $2 = NULL, $3 = 'it''s, ok'"),
            [
                (1, Some("990".to_string())),
                (2, None),
                (3, Some("it's, ok".to_string()))
            ]
        );
        assert_eq!(parameters("$1 = 'cut"), []);
    }

    #[test]
    fn formats_are_detected() {
        assert_eq!(
            Format::detect("query,calls,total_exec_time"),
            Format::Statements
        );
        assert_eq!(
            Format::detect("2026-12-06 16:36:11.706 UTC [12350] LOG:  x"),
            Format::Stderr
        );
    }
}
