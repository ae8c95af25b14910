//! GitLab Code Quality: a JSON array of issues (a subset of the Code Climate format) that
//! GitLab shows in merge requests when a job publishes it as `artifacts:reports:codequality`.
//!
//! Severity mapping: GitLab's scale is info, minor, major, critical, blocker. An `error`
//! finding is `critical` (a concurrency bug the declared isolation level lets through) and a
//! `warning` finding is `minor`. Diagnostics (statements isolint could not parse) are not
//! issues in the code under review and are left out; the other formats report them.

use serde::Serialize;

use super::{fingerprint, statement_location};
use crate::CheckResult;
use crate::rule::Severity;

#[derive(Serialize)]
struct Issue {
    description: String,
    check_name: &'static str,
    fingerprint: String,
    severity: &'static str,
    location: IssueLocation,
}

#[derive(Serialize)]
struct IssueLocation {
    path: String,
    lines: Lines,
}

#[derive(Serialize)]
struct Lines {
    begin: usize,
    end: usize,
}

pub fn render(result: &CheckResult) -> String {
    let issues: Vec<Issue> = result
        .findings
        .iter()
        .map(|finding| {
            let at = statement_location(result, finding.primary);
            Issue {
                description: finding.message.clone(),
                check_name: finding.rule.id(),
                fingerprint: fingerprint(result, finding),
                severity: match result.severity(finding) {
                    Severity::Error => "critical",
                    Severity::Warning => "minor",
                },
                location: IssueLocation {
                    path: at.file,
                    lines: Lines {
                        begin: at.line,
                        end: at.end_line,
                    },
                },
            }
        })
        .collect();
    // Invariant: these types serialise without error (no maps with non-string keys).
    let mut text = serde_json::to_string_pretty(&issues).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::report::test_support::{LEAVE_SHIFT, check, parse_json as parse};
    use crate::rule::Rule;

    #[test]
    fn a_finding_is_one_issue_on_the_statement_at_fault() {
        let result = check(LEAVE_SHIFT);
        let issues = parse(&render(&result));
        assert_eq!(
            issues,
            json!([{
                "description": result.findings[0].message,
                "check_name": "write-skew",
                "fingerprint": fingerprint(&result, &result.findings[0]),
                "severity": "critical",
                "location": {"path": "queries/leave_shift.sql", "lines": {"begin": 3, "end": 3}},
            }])
        );
    }

    #[test]
    fn warning_severity_is_minor() {
        let mut result = check(LEAVE_SHIFT);
        result.severities.insert(Rule::WriteSkew, Severity::Warning);
        assert_eq!(parse(&render(&result))[0]["severity"], "minor");
    }

    #[test]
    fn the_fingerprint_survives_moving_the_transaction() {
        let moved = format!("-- a comment that shifts every line down\n\n{LEAVE_SHIFT}");
        let before = parse(&render(&check(LEAVE_SHIFT)));
        let after = parse(&render(&check(&moved)));
        assert_eq!(after[0]["location"]["lines"]["begin"], 5);
        assert_eq!(before[0]["fingerprint"], after[0]["fingerprint"]);
    }

    #[test]
    fn parse_errors_are_not_issues_and_no_findings_is_an_empty_array() {
        let result = check("UPDATE oncall SET on_call = WHERE shift_id = $1;\n");
        assert_eq!(result.parse_errors, 1);
        assert_eq!(render(&result), "[]\n");
    }
}
