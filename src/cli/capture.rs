//! `isolint capture`: the command line's options turned into the capture's, and its progress
//! and summary on standard error.

use std::process::ExitCode;

use super::{CaptureArgs, CliError, LogFormat};

/// `isolint capture`: logs into scripts, with progress and a summary on stderr.
pub(super) fn capture(args: CaptureArgs) -> Result<ExitCode, CliError> {
    use crate::capture::{self, Format};
    let options = capture::Options {
        inputs: args.logs,
        output: args.output,
        format: args.log_format.map(|format| match format {
            LogFormat::Stderr => Format::Stderr,
            LogFormat::Csvlog => Format::Csv,
            LogFormat::Jsonlog => Format::Json,
            LogFormat::PgStatStatements => Format::Statements,
            LogFormat::MysqlGeneral => Format::MysqlGeneral,
        }),
        log_line_prefix: args.log_line_prefix,
    };
    let bar = crate::progress::TerminalBar::stderr();
    let summary = capture::capture(&options, &bar);
    bar.finish();
    eprint!("{}", summary?.render());
    Ok(ExitCode::SUCCESS)
}
