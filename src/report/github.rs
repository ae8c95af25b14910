//! GitHub Actions workflow commands: one `::error` or `::warning` line per finding, which the
//! runner turns into an annotation on the pull request's diff, then one `::warning` line per
//! diagnostic (an unreadable file is an `::error`). Nothing else is printed.
//!
//! Columns are 1-based characters and `endColumn` is the column just past the statement, as in
//! SARIF. Escaping follows the runner's rules (actions/toolkit, `command.ts`): `%`, CR and LF in
//! the message; also `:` and `,` in property values such as the file name.

use super::{Location, location, statement_location};
use crate::CheckResult;
use crate::rule::Severity;

pub fn render(result: &CheckResult) -> String {
    let mut out = String::new();
    for finding in &result.findings {
        let command = match result.severity(finding) {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        out.push_str(&workflow_command(
            command,
            Some(&statement_location(result, finding.primary)),
            &format!("isolint {}", finding.rule.id()),
            &finding.message,
        ));
    }
    for diagnostic in &result.diagnostics {
        let command = if diagnostic.kind.is_error() {
            "error"
        } else {
            "warning"
        };
        let at = diagnostic
            .file
            .map(|file| location(result, file, diagnostic.range));
        out.push_str(&workflow_command(
            command,
            at.as_ref(),
            &format!("isolint {}", diagnostic.kind.id()),
            &diagnostic.message,
        ));
    }
    out
}

/// `::command file=F,line=L,col=C,endLine=..,endColumn=..,title=T::message`, newline-terminated.
fn workflow_command(command: &str, at: Option<&Location>, title: &str, message: &str) -> String {
    let mut properties = Vec::new();
    if let Some(at) = at {
        properties.push(format!("file={}", escape_property(&at.file)));
        properties.push(format!("line={}", at.line));
        properties.push(format!("col={}", at.column));
        properties.push(format!("endLine={}", at.end_line));
        properties.push(format!("endColumn={}", at.end_column));
    }
    properties.push(format!("title={}", escape_property(title)));
    format!(
        "::{command} {}::{}\n",
        properties.join(","),
        escape_data(message)
    )
}

fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DiagnosticKind;
    use crate::report::test_support::{LEAVE_SHIFT, check_file as check};

    use crate::Diagnostic;

    #[test]
    fn an_error_finding_annotates_the_statement_at_fault() {
        let result = check("queries/leave_shift.sql", LEAVE_SHIFT);
        let expected = format!(
            "::error file=queries/leave_shift.sql,line=3,col=1,endLine=3,endColumn=60,\
             title=isolint write-skew::{}\n",
            result.findings[0].message
        );
        assert_eq!(render(&result), expected);
    }

    #[test]
    fn a_warning_severity_finding_is_a_warning_command() {
        let mut result = check("queries/leave_shift.sql", LEAVE_SHIFT);
        result
            .severities
            .insert(crate::rule::Rule::WriteSkew, Severity::Warning);
        assert!(render(&result).starts_with("::warning file=queries/leave_shift.sql,line=3,"));
    }

    #[test]
    fn message_and_properties_are_escaped() {
        let mut result = check("queries/a,b:c%.sql", LEAVE_SHIFT);
        result.findings[0].message = "x,:%\n<&\"\ry".to_string();
        assert_eq!(
            render(&result),
            "::error file=queries/a%2Cb%3Ac%25.sql,line=3,col=1,endLine=3,endColumn=60,\
             title=isolint write-skew::x,:%25%0A<&\"%0Dy\n"
        );
    }

    #[test]
    fn parse_errors_are_warnings_and_unreadable_files_errors() {
        let transactions =
            format!("{LEAVE_SHIFT}UPDATE oncall SET on_call = WHERE shift_id = $1;\n");
        let mut result = check("queries/leave_shift.sql", &transactions);
        result.diagnostics.push(Diagnostic {
            kind: DiagnosticKind::IoError,
            file: None,
            range: Default::default(),
            message: "queries/locked: cannot read".to_string(),
        });
        let text = render(&result);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].starts_with("::error "));
        assert!(
            lines[1].starts_with(
                "::warning file=queries/leave_shift.sql,line=6,col=35,endLine=6,endColumn=48,\
                 title=isolint parse-error::statement skipped: "
            ),
            "{}",
            lines[1]
        );
        assert_eq!(
            lines[2],
            "::error title=isolint io-error::queries/locked: cannot read"
        );
    }
}
