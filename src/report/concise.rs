//! Concise output: one line per finding, `file:line:col: rule message`, then one line per
//! diagnostic, `file:line:col: parse-error message`. No header, no witness, no summary, so the
//! output suits `grep`, editors' quickfix lists and CI problem matchers.

use super::{Location, location, statement_location};
use crate::analysis::finding::Finding;
use crate::{CheckResult, Diagnostic, one_line};

pub fn render(result: &CheckResult) -> String {
    let mut out = String::new();
    for finding in &result.findings {
        out.push_str(&finding_line(result, finding));
        out.push('\n');
    }
    for diagnostic in &result.diagnostics {
        out.push_str(&diagnostic_line(result, diagnostic));
        out.push('\n');
    }
    out
}

/// `file:line:col: rule message`, at the statement at fault.
pub fn finding_line(result: &CheckResult, finding: &Finding) -> String {
    let at = statement_location(result, finding.primary);
    format!(
        "{}: {} {}",
        position(&at),
        finding.rule.id(),
        one_line(&finding.message)
    )
}

/// `file:line:col: kind message`; a diagnostic about no file in particular (an unreadable
/// directory entry, whose message names the path) is `kind message`.
pub fn diagnostic_line(result: &CheckResult, diagnostic: &Diagnostic) -> String {
    let message = one_line(&diagnostic.message);
    match diagnostic.file {
        Some(file) => format!(
            "{}: {} {message}",
            position(&location(result, file, diagnostic.range)),
            diagnostic.kind.id()
        ),
        None => format!("{} {message}", diagnostic.kind.id()),
    }
}

fn position(at: &Location) -> String {
    format!("{}:{}:{}", at.file, at.line, at.column)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::test_support::{LEAVE_SHIFT, check};

    use crate::DiagnosticKind;

    #[test]
    fn a_finding_is_one_line_at_the_statement_at_fault() {
        let result = check(LEAVE_SHIFT);
        let expected = format!(
            "queries/leave_shift.sql:3:1: write-skew {}\n",
            result.findings[0].message
        );
        assert_eq!(render(&result), expected);
    }

    #[test]
    fn parse_errors_follow_the_findings_one_line_each() {
        let transactions =
            format!("{LEAVE_SHIFT}UPDATE oncall SET on_call = WHERE shift_id = $1;\n");
        let result = check(&transactions);
        let text = render(&result);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].starts_with("queries/leave_shift.sql:3:1: write-skew "));
        assert!(
            lines[1].starts_with("queries/leave_shift.sql:6:35: parse-error statement skipped: "),
            "{}",
            lines[1]
        );
    }

    #[test]
    fn a_multi_line_message_stays_on_one_line() {
        let mut result = check(LEAVE_SHIFT);
        result.findings[0].message = "first\nsecond".to_string();
        result.diagnostics.push(Diagnostic {
            kind: DiagnosticKind::IoError,
            file: None,
            range: Default::default(),
            message: "queries/locked: cannot read:\npermission denied".to_string(),
        });
        assert_eq!(
            render(&result),
            "queries/leave_shift.sql:3:1: write-skew first second\n\
             io-error queries/locked: cannot read: permission denied\n"
        );
    }

    #[test]
    fn no_findings_no_output() {
        let result = check("-- name: read_only\nBEGIN;\nSELECT count(*) FROM oncall;\nCOMMIT;\n");
        assert!(result.findings.is_empty());
        assert_eq!(render(&result), "");
    }
}
