//! `isolint capture`: database logs → transaction scripts that `check` reads like any other.
//!
//! ```text
//! postgres_log (records) → group (transactions per session) → normalise (shapes)
//!                        → write (programs merged by shape, one named script each)
//! ```
//!
//! Logs are streamed: memory grows with the sessions open at one time and the distinct
//! programs, never with the size of a log. Bad lines, cut files and unknown statements are
//! counted in the [`Summary`]; only I/O fails.
//!
//! Architecture Invariant: capture does not analyse. What it writes is ordinary input for
//! `check`, and nothing else of the pipeline knows that it came from a log.

pub mod group;
pub mod mysql_log;
pub mod normalise;
pub mod postgres_log;
pub mod write;

use std::io::BufRead;
use std::path::{Path, PathBuf};

use crate::progress::{Progress, Stage};
pub use postgres_log::Format;

/// What to capture and where.
#[derive(Debug, Clone)]
pub struct Options {
    /// Log files, read in this order (oldest first: sessions continue across files).
    pub inputs: Vec<PathBuf>,
    /// The directory of scripts; scripts an earlier capture wrote there are merged.
    pub output: PathBuf,
    /// The format of every input, instead of detecting each one's.
    pub format: Option<Format>,
    /// The server's `log_line_prefix`, to read stderr logs exactly.
    pub log_line_prefix: Option<String>,
}

/// An error of capture itself: an input or the output cannot be used.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum CaptureError {
    #[error("cannot read {path}: {source}")]
    #[diagnostic(
        code(isolint::capture::input),
        help("check that the log file exists and is readable by this user")
    )]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write the scripts into {path}: {source}")]
    #[diagnostic(
        code(isolint::capture::output),
        help("choose a directory that is writable (it is created when missing)")
    )]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "the logs and the scripts already in the output directory are not all of one engine \
         (MySQL or PostgreSQL)"
    )]
    #[diagnostic(
        code(isolint::capture::engines),
        help("capture each engine's logs into a directory of its own")
    )]
    MixedEngines,
    #[error("--log-line-prefix {prefix:?} cannot be used: {reason}")]
    #[diagnostic(
        code(isolint::capture::prefix),
        help(
            "pass the server's setting as `SHOW log_line_prefix` prints it, e.g. '%m [%p] %c %v %a '"
        )
    )]
    Prefix { prefix: String, reason: String },
}

/// What one input held.
#[derive(Debug, Clone)]
pub struct InputSummary {
    pub path: String,
    pub format: Format,
    pub bytes: u64,
    pub reading: postgres_log::Reading,
}

/// What a capture did, for the summary on standard error.
#[derive(Debug, Clone)]
pub struct Summary {
    pub inputs: Vec<InputSummary>,
    pub counts: group::Counts,
    /// Statements of `pg_stat_statements` exports, with the sum of their calls.
    pub exported_statements: (u64, u64),
    pub programs: usize,
    pub new_programs: usize,
    pub earlier_programs: usize,
    pub output: String,
    /// Whose SQL the scripts hold.
    pub dialect: normalise::Dialect,
}

/// Reads every input and writes the programs into the output directory.
pub fn capture(options: &Options, progress: &dyn Progress) -> Result<Summary, CaptureError> {
    let prefix = match &options.log_line_prefix {
        Some(spec) => {
            Some(
                postgres_log::Prefix::new(spec).map_err(|error| CaptureError::Prefix {
                    prefix: spec.clone(),
                    reason: error.0,
                })?,
            )
        }
        None => None,
    };
    let shown: Vec<String> = options
        .inputs
        .iter()
        .map(|path| path.display().to_string())
        .collect();
    let read_error = |path: &Path| {
        let path = path.display().to_string();
        move |source| CaptureError::Read { path, source }
    };
    let sizes: Vec<u64> = options
        .inputs
        .iter()
        .map(|path| {
            std::fs::metadata(path)
                .map(|metadata| metadata.len())
                .map_err(read_error(path))
        })
        .collect::<Result<_, _>>()?;
    // Every input's format, before reading any: they decide whose SQL the scripts hold.
    let formats: Vec<Format> = options
        .inputs
        .iter()
        .map(|path| match options.format {
            Some(format) => Ok(format),
            None => detect(path).map_err(read_error(path)),
        })
        .collect::<Result<_, _>>()?;
    let mysql = formats
        .iter()
        .filter(|f| **f == Format::MysqlGeneral)
        .count();
    if mysql > 0 && mysql < formats.len() {
        return Err(CaptureError::MixedEngines);
    }
    let write_error = |source| CaptureError::Write {
        path: options.output.display().to_string(),
        source,
    };
    let earlier = write::directory_dialect(&options.output).map_err(write_error)?;
    let dialect = match (formats.is_empty(), mysql > 0, earlier) {
        (true, _, earlier) => earlier.unwrap_or_default(),
        (false, true, _) => normalise::Dialect::Mysql,
        (false, false, _) => normalise::Dialect::Postgres,
    };
    if earlier.is_some_and(|earlier| earlier != dialect) {
        return Err(CaptureError::MixedEngines);
    }
    let mut store = write::Store::new(dialect);
    store
        .read_directory(&options.output)
        .map_err(|source| CaptureError::Write {
            path: options.output.display().to_string(),
            source,
        })?;
    let total: u64 = sizes.iter().sum();
    progress.start(Stage::Capture, usize::try_from(total).unwrap_or(usize::MAX));
    let mut inputs = Vec::new();
    let mut exported = (0u64, 0u64);
    let mut add = |transaction: group::Transaction| store.add(transaction, 1);
    let mut grouper = group::Grouper::new(dialect, &mut add);
    let mut statement_rows = Vec::new();
    for (index, path) in options.inputs.iter().enumerate() {
        let file = std::fs::File::open(path).map_err(read_error(path))?;
        let mut reader = std::io::BufReader::with_capacity(1 << 16, file);
        let format = formats[index];
        let mut reported = 0u64;
        let mut on_bytes = |bytes: u64| {
            progress.advance(usize::try_from(bytes.saturating_sub(reported)).unwrap_or(0));
            reported = reported.max(bytes);
        };
        let reading = if format == Format::Statements {
            let reading = postgres_log::read_statements(&mut reader, &mut |row| {
                statement_rows.push((index, row));
            })
            .map_err(read_error(path))?;
            on_bytes(sizes[index]);
            reading
        } else {
            let details_inline = format != Format::Stderr;
            postgres_log::read(
                &mut reader,
                format,
                prefix.as_ref(),
                &mut |record| grouper.record(record, index, details_inline),
                &mut on_bytes,
            )
            .map_err(read_error(path))?
        };
        inputs.push(InputSummary {
            path: shown[index].clone(),
            format,
            bytes: sizes[index],
            reading,
        });
    }
    grouper.finish();
    let counts = grouper.counts.clone();
    drop(grouper);
    for (index, row) in statement_rows {
        statement_row(&mut store, &mut exported, index, row);
    }
    let earlier_programs = store.earlier;
    let new_programs =
        store
            .write(&options.output, &shown)
            .map_err(|source| CaptureError::Write {
                path: options.output.display().to_string(),
                source,
            })?;
    Ok(Summary {
        inputs,
        counts,
        exported_statements: exported,
        programs: store.len(),
        new_programs,
        earlier_programs,
        output: options.output.display().to_string(),
        dialect,
    })
}

/// The format of the log at `path`, from its first line.
fn detect(path: &Path) -> std::io::Result<Format> {
    let file = std::fs::File::open(path)?;
    let mut reader = std::io::BufReader::with_capacity(1 << 16, file);
    let start = reader.fill_buf()?;
    let first_line = start.split(|b| *b == b'\n').next().unwrap_or(&[]);
    Ok(Format::detect(&String::from_utf8_lossy(first_line)))
}

/// A `pg_stat_statements` row: a statement run `calls` times, alone as far as anyone knows.
fn statement_row(
    store: &mut write::Store,
    exported: &mut (u64, u64),
    input: usize,
    row: postgres_log::StatementRow,
) {
    let dialect = normalise::Dialect::Postgres;
    let tokens = normalise::tokens(&row.query, dialect);
    if normalise::classify_tokens(&tokens, &row.query, dialect) != normalise::Kind::Work {
        return;
    }
    exported.0 += 1;
    exported.1 += row.calls;
    let shape = normalise::shape_tokens(&tokens, &row.query, &|_| None, "0:");
    if shape.skeleton.is_empty() {
        return;
    }
    store.add(
        group::Transaction {
            statements: vec![shape],
            level: None,
            autocommit: true,
            application: None,
            location: group::Location {
                input,
                line: row.line,
            },
        },
        row.calls.max(1),
    );
}

impl Summary {
    /// The summary, one `isolint:` line per topic.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for input in &self.inputs {
            out.push_str(&format!(
                "isolint: read {} ({}, {} bytes)\n",
                input.path,
                input.format.label(),
                input.bytes
            ));
        }
        let counts = &self.counts;
        out.push_str(&format!(
            "isolint: {} transaction{} ({} statement{}) became {} program{} in {}: {} new, {} \
             merged with an earlier capture\n",
            counts.transactions,
            plural(counts.transactions),
            counts.statements,
            plural(counts.statements),
            self.programs,
            plural(self.programs as u64),
            self.output,
            self.new_programs,
            self.programs - self.new_programs,
        ));
        if self.exported_statements.0 > 0 {
            out.push_str(&format!(
                "isolint: {} statement{} of pg_stat_statements ({} calls) taken as run alone: \
                 the export does not say which ran together\n",
                self.exported_statements.0,
                plural(self.exported_statements.0),
                self.exported_statements.1
            ));
        }
        let dropped: Vec<String> = counts
            .dropped
            .iter()
            .map(|(noise, count)| format!("{count} {}", noise.label()))
            .collect();
        if !dropped.is_empty() {
            out.push_str(&format!(
                "isolint: statements dropped: {}\n",
                dropped.join(", ")
            ));
        }
        let bad_lines: u64 = self
            .inputs
            .iter()
            .map(|input| input.reading.bad_lines)
            .sum();
        let truncated: Vec<&str> = self
            .inputs
            .iter()
            .filter(|input| input.reading.truncated)
            .map(|input| input.path.as_str())
            .collect();
        let mut unused = Vec::new();
        if counts.cut_off > 0 {
            unused.push(format!(
                "{} transaction{} cut off (begun before the log, not ended in it, or ended by a \
                 disconnection)",
                counts.cut_off,
                plural(counts.cut_off)
            ));
        }
        if counts.empty > 0 {
            unused.push(format!(
                "{} empty transaction{}",
                counts.empty,
                plural(counts.empty)
            ));
        }
        if bad_lines > 0 {
            unused.push(format!(
                "{bad_lines} line{} that are no log record",
                plural(bad_lines)
            ));
        }
        if !truncated.is_empty() {
            unused.push(format!(
                "the last record of {} (the file ends inside it)",
                truncated.join(", ")
            ));
        }
        if !unused.is_empty() {
            out.push_str(&format!("isolint: not used: {}\n", unused.join("; ")));
        }
        if self.dialect == normalise::Dialect::Mysql {
            out.push_str(
                "isolint: the scripts are MySQL's: check them with --engine mysql (or mariadb); \
                 a transaction with no level written runs at the server's default\n",
            );
        }
        if counts.transactions == 0 && self.exported_statements.0 == 0 {
            out.push_str(
                "isolint: no statement found: is `log_statement = 'all'` (or \
                 `log_min_duration_statement = 0`) set on the server?\n",
            );
        }
        out
    }
}

fn plural(count: u64) -> &'static str {
    if count == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::progress::Silent;

    /// Pieces of every format's records, and of the SQL in them, to build hostile logs from.
    const PIECES: [&str; 38] = [
        "2026-12-06 16:36:12.014 UTC [12] 6b158efc.305e 3/38 0 app LOG:  statement: ",
        "2026-12-06 16:36:12.014 UTC [13] 6b158efc.305f 4/2 0 app LOG:  execute <unnamed>: ",
        "2026-12-06 16:36:12.014 UTC [13] 6b158efc.305f 4/2 0 app DETAIL:  parameters: $1 = '",
        "2026-12-06 16:36:12.014 UTC,\"u\",\"d\",12,\"[local]\",6b158efc.305e,3,\"\",x,3/38,0,LOG,00000,\"statement: ",
        "\",,,,,,,,,\"app\",\"client backend\",,0\n",
        "{\"session_id\":\"a.b\",\"vxid\":\"3/1\",\"error_severity\":\"LOG\",\"message\":\"statement: ",
        "\"}\n",
        "query,calls\n\"",
        "\",7\n",
        "disconnection: session time: 0:00:00.001",
        "BEGIN ISOLATION LEVEL SERIALIZABLE",
        "COMMIT",
        "ROLLBACK TO s",
        "SET default_transaction_isolation = 'repeatable read'",
        "SELECT balance FROM accounts WHERE id = ",
        "UPDATE accounts SET balance = ",
        " WHERE id IN (",
        " VALUES (",
        "261206 17:20:12\t     3 Query\t",
        "\t\t     4 Query\tSET autocommit=0",
        "`",
        ")",
        "; ",
        "$1",
        "'",
        "''",
        "$$",
        "/*controller='x'*/",
        "/*",
        "--",
        "\n",
        "\n\t",
        "-",
        "7",
        "DATE '",
        "E'\\",
        "\"",
        ",",
    ];

    fn hostile_log() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            4 => proptest::sample::select(PIECES.to_vec()).prop_map(|piece| piece.as_bytes().to_vec()),
            1 => proptest::collection::vec(any::<u8>(), 0..6),
        ];
        proptest::collection::vec(piece, 0..80).prop_map(|pieces| pieces.concat())
    }

    /// Every file of a directory, path and text, sorted by path.
    type Files = Vec<(PathBuf, String)>;

    fn files(directory: &Path) -> Files {
        let mut files: Files = std::fs::read_dir(directory)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|entry| {
                        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
                        (entry.path(), text)
                    })
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
    }

    /// Captures `log` read as `format` into a new directory, then captures nothing more into
    /// it: the first capture's summary, and the scripts after each capture.
    /// How many statements the capture dropped as unreadable.
    fn unreadable(summary: &Summary) -> Option<u64> {
        summary
            .counts
            .dropped
            .get(&normalise::Noise::Unreadable)
            .copied()
    }

    fn capture_twice(log: &[u8], format: Option<Format>) -> (Summary, Files, Files) {
        let directory = tempfile::tempdir().expect("directory");
        let input = directory.path().join("postgresql.log");
        std::fs::write(&input, log).expect("log");
        let output = directory.path().join("captured");
        let options = Options {
            inputs: vec![input],
            output: output.clone(),
            format,
            log_line_prefix: None,
        };
        let summary = capture(&options, &Silent).expect("capture");
        let written = files(&output);
        let again = Options {
            inputs: Vec::new(),
            ..options
        };
        capture(&again, &Silent).expect("capture again");
        (summary, written, files(&output))
    }

    #[test]
    fn a_statement_starting_with_a_backslash_is_unreadable_so_no_script_loses_it_when_read_back() {
        // Found by `any_log_is_captured_and_its_scripts_read_back_unchanged`. The csvlog
        // message runs past its closing quote to the end of the input, so its simple query is
        // `SELECT ... WHERE id = ;\2026-12-06 ...`: the second statement starts with a
        // backslash. The first capture wrote it as a line of the script; read back, that line
        // was a psql meta-command, and the statement was gone.
        let log = concat!(
            r#"2026-12-06 16:36:12.014 UTC [12] 6b158efc.305e 3/38 0 app LOG:  statement: "#,
            r#"2026-12-06 16:36:12.014 UTC [12] 6b158efc.305e 3/38 0 app LOG:  statement: "#,
            r#"2026-12-06 16:36:12.014 UTC,"u","d",12,"[local]",6b158efc.305e,3,"",x,3/38,0,LOG,00000,"statement: "#,
            r#"SELECT balance FROM accounts WHERE id = ";\"#,
            r#"2026-12-06 16:36:12.014 UTC [13] 6b158efc.305f 4/2 0 app DETAIL:  parameters: $1 = ''"#,
            r#"2026-12-06 16:36:12.014 UTC [13] 6b158efc.305f 4/2 0 app DETAIL:  parameters: $1 = '"#,
            r#"2026-12-06 16:36:12.014 UTC [13] 6b158efc.305f 4/2 0 app DETAIL:  parameters: $1 = '"#,
            r#"2026-12-06 16:36:12.014 UTC,"u","d",12,"[local]",6b158efc.305e,3,"",x,3/38,0,LOG,00000,"statement: "#,
        );
        let (summary, written, read_back) = capture_twice(log.as_bytes(), Some(Format::Csv));
        assert_eq!(unreadable(&summary), Some(1));
        assert_eq!(written.len(), 1);
        let (_, script) = &written[0];
        assert!(
            script.ends_with(
                "/postgresql.log:1\n\
                 -- captured: application_name 3/38\n\
                 -- name: 3_38_select_accounts\n\
                 BEGIN;\n\
                 SELECT balance FROM accounts WHERE id =;\n\
                 COMMIT;\n"
            ),
            "{script}"
        );
        assert_eq!(read_back, written);
    }

    #[test]
    fn a_comment_glued_to_the_tokens_around_it_still_keeps_them_apart_in_the_script() {
        // Found by `any_log_is_captured_and_its_scripts_read_back_unchanged`. The statement
        // holds `0.001\x80/*controller='x'*/$$2026...$$`: the byte that is no UTF-8 reads as
        // U+FFFD, a name; with the comment dropped and nothing in its place, the script held
        // `\u{fffd}$$2026`, which reads back as one name instead of a name and a
        // dollar-quoted string.
        let log = b"\",,,,,,,,,\"app\",\"client backend\",,0\n\
            2026-12-06 16:36:12.014 UTC [12] 6b158efc.305e 3/38 0 app LOG:  statement: \
            disconnection: session time: 0:00:00.001\x80/*controller='x'*/\
            $$2026-12-06 16:36:12.014 UTC [13] 6b158efc.305f 4/2 0 app DETAIL:  parameters: $1 = ''A$$\
            \"2026-12-06 16:36:12.014 UTC,\"u\",\"d\",12,\"[local]\",6b158efc.305e,3,\"\",x,3/38,0,LOG,00000,\
            \"statement: {\"session_id\":\"a.b\",\"vxid\":\"3/1\",\"error_severity\":\"LOG\",\
            \"message\":\"statement: \",,,,,,,,,\"app\",\"client backend\",,0\n";
        let (_, written, read_back) = capture_twice(log, None);
        assert_eq!(written.len(), 1);
        let (_, script) = &written[0];
        assert!(
            script.contains(
                "\n-- name: x\n\
                 disconnection: session time: $1:$2:$3 \u{fffd} $$2026-12-06 16:36:12.014 UTC [13] "
            ),
            "{script}"
        );
        assert_eq!(read_back, written);
    }

    #[test]
    fn a_comment_inside_an_in_list_does_not_hide_the_list_so_the_script_reads_back_unchanged() {
        // Found by `any_log_is_captured_and_its_scripts_read_back_unchanged` once a dropped
        // comment became a space: a literal list was one slot only where no comment stood in
        // it, so `IN (/*x*/$1)` was written `IN ( $1)` and read back as the list `IN ($1)`
        // (and `IN (/*x*/1, 2)` was written with two slots and read back with one).
        let log = concat!(
            r#"2026-12-06 16:36:12.014 UTC,"u","d",12,"[local]",6b158efc.305e,3,"",x,3/38,0,LOG,00000,"#,
            r#""statement:  WHERE id IN (/*controller='x'*/$1)",,,,,,,,,"app","client backend",,0"#,
            "\n",
        );
        let (_, written, read_back) = capture_twice(log.as_bytes(), Some(Format::Csv));
        assert_eq!(written.len(), 1);
        let (_, script) = &written[0];
        assert!(
            script.ends_with("\n-- captured: tags controller='x'\n-- name: x\nWHERE id IN ($1);\n"),
            "{script}"
        );
        assert_eq!(read_back, written);
    }

    #[test]
    fn a_mysql_statement_starting_with_delimiter_is_unreadable_so_no_script_loses_a_line() {
        // MySQL's client reads `DELIMITER x` to the end of its line; the server never gets it.
        // Written as a line of a script, it would read back as the client's command, and the
        // statement's next line as the statement.
        let log = "261206 17:20:12\t     3 Query\tdelimiter x\nSELECT a FROM t WHERE id = 1\n\
                   261206 17:20:12\t     3 Query\tSELECT b FROM u\n";
        let (summary, written, read_back) =
            capture_twice(log.as_bytes(), Some(Format::MysqlGeneral));
        assert_eq!(unreadable(&summary), Some(1));
        let names: Vec<String> = written
            .iter()
            .filter_map(|(path, _)| Some(path.file_name()?.to_string_lossy().into_owned()))
            .collect();
        assert_eq!(names, ["select_u.sql"]);
        assert_eq!(read_back, written);
    }

    #[test]
    fn a_pg_stat_statements_export_gives_one_program_per_statement_with_its_calls() {
        let directory = tempfile::tempdir().expect("directory");
        let export = directory.path().join("statements.csv");
        std::fs::write(
            &export,
            "userid,query,calls,total_exec_time\n\
             10,\"SELECT balance FROM accounts WHERE id = $1\",120,3.5\n\
             10,BEGIN,240,0.1\n\
             10,\"UPDATE accounts\nSET balance = $1 WHERE id = $2\",118,4.0\n\
             10,\"SELECT 1\",9,0.0\n\
             10,not a number,x,1\n",
        )
        .expect("export");
        let output = directory.path().join("captured");
        let summary = capture(
            &Options {
                inputs: vec![export],
                output: output.clone(),
                format: None,
                log_line_prefix: None,
            },
            &Silent,
        )
        .expect("capture");
        assert_eq!(summary.inputs[0].format, Format::Statements);
        assert_eq!(summary.exported_statements, (2, 238));
        assert_eq!(summary.inputs[0].reading.bad_lines, 1);
        let scripts: Vec<String> = files(&output).into_iter().map(|(_, text)| text).collect();
        assert_eq!(scripts.len(), 2);
        assert!(
            scripts[0].starts_with("-- captured: 120 runs outside a transaction,"),
            "{scripts:?}"
        );
        assert!(scripts[1].contains("UPDATE accounts\nSET balance = $1 WHERE id = $2;\n"));
    }

    proptest! {
        // Few enough for `cargo test`; `PROPTEST_CASES=5000` searches harder.
        #![proptest_config(ProptestConfig::with_cases(
            std::env::var("PROPTEST_CASES").ok().and_then(|cases| cases.parse().ok()).unwrap_or(200)
        ))]

        /// Whatever a log holds, capture finishes, and the scripts it writes read back as the
        /// same programs: capturing nothing more into the directory changes no byte.
        #[test]
        fn any_log_is_captured_and_its_scripts_read_back_unchanged(
            log in hostile_log(),
            format in proptest::sample::select(vec![
                None,
                Some(Format::Stderr),
                Some(Format::Csv),
                Some(Format::Json),
                Some(Format::Statements),
                Some(Format::MysqlGeneral),
            ]),
        ) {
            let (summary, written, read_back) = capture_twice(&log, format);
            let _ = summary.render();
            prop_assert_eq!(written.len(), summary.programs);
            prop_assert_eq!(read_back, written);
        }
    }
}
