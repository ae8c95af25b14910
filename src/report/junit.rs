//! JUnit XML, for CI systems that show test reports: one test suite `isolint`, one failing
//! test case per finding (JUnit has no warnings, so a `warning` finding fails too; its
//! severity is in the failure text), or a single passing case `isolint` when there is none.
//! Diagnostics go to the suite's `<system-err>`, one concise line each.

use super::concise::diagnostic_line;
use super::{escape_markup, statement_location};
use crate::CheckResult;
use crate::analysis::finding::Finding;

pub fn render(result: &CheckResult) -> String {
    let tests = result.findings.len().max(1);
    let failures = result.findings.len();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"isolint\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\">\n"
    ));
    out.push_str(&format!(
        "  <testsuite name=\"isolint\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" \
         skipped=\"0\">\n"
    ));
    if result.findings.is_empty() {
        out.push_str("    <testcase classname=\"isolint\" name=\"isolint\"/>\n");
    }
    for finding in &result.findings {
        out.push_str(&test_case(result, finding));
    }
    if !result.diagnostics.is_empty() {
        let lines: Vec<String> = result
            .diagnostics
            .iter()
            .map(|diagnostic| diagnostic_line(result, diagnostic))
            .collect();
        out.push_str(&format!(
            "    <system-err>{}</system-err>\n",
            escape_markup(&lines.join("\n"))
        ));
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// `classname` is the file of the statement at fault, `name` is `rule: program, program`; the
/// failure text lists every statement involved, why the level allows it and the fixes.
fn test_case(result: &CheckResult, finding: &Finding) -> String {
    let at = statement_location(result, finding.primary);
    let programs: Vec<&str> = finding
        .programs
        .iter()
        .map(|program| result.programs[*program].name.as_str())
        .collect();
    let mut details = vec![format!(
        "{}: {}:{}:{}: {}",
        result.severity(finding).id(),
        at.file,
        at.line,
        at.column,
        finding.message
    )];
    for (related, message) in &finding.related {
        let related = statement_location(result, *related);
        details.push(format!(
            "{}:{}:{}: {message}",
            related.file, related.line, related.column
        ));
    }
    details.push(finding.why.clone());
    details.extend(
        finding
            .fixes
            .iter()
            .map(|fix| format!("fix: {}", fix.title)),
    );
    format!(
        "    <testcase classname=\"{}\" name=\"{}\">\n      \
         <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>\n",
        escape_attribute(&at.file),
        escape_attribute(&format!("{}: {}", finding.rule.id(), programs.join(", "))),
        escape_attribute(&finding.message),
        finding.rule.id(),
        escape_markup(&details.join("\n")),
    )
}

/// An attribute value: as character data, and line breaks and tabs as references, because a
/// parser replaces literal ones in attribute values with spaces.
fn escape_attribute(text: &str) -> String {
    escape_markup(text)
        .replace('\t', "&#9;")
        .replace('\n', "&#10;")
        .replace('\r', "&#13;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::test_support::{LEAVE_SHIFT, check};

    #[test]
    fn a_finding_is_a_failing_test_case() {
        let result = check(LEAVE_SHIFT);
        let xml = render(&result);
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"));
        assert!(xml.contains(
            "<testsuite name=\"isolint\" tests=\"1\" failures=\"1\" errors=\"0\" skipped=\"0\">"
        ));
        assert!(xml.contains(
            "<testcase classname=\"queries/leave_shift.sql\" name=\"write-skew: leave_shift\">"
        ));
        assert!(xml.contains("<failure message=\"write skew: two instances of `leave_shift`"));
        assert!(xml.contains("type=\"write-skew\">error: queries/leave_shift.sql:3:1: write skew"));
        assert!(xml.contains("\nqueries/leave_shift.sql:4:1: then updates `oncall`\n"));
        assert!(xml.contains("\nfix: run the transactions at SERIALIZABLE"));
        assert!(!xml.contains("<system-err>"));
        assert_eq!(xml.matches("<testcase ").count(), 1);
    }

    #[test]
    fn no_findings_is_one_passing_test_case() {
        let result = check("-- name: read_only\nBEGIN;\nSELECT count(*) FROM oncall;\nCOMMIT;\n");
        assert_eq!(
            render(&result),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <testsuites name=\"isolint\" tests=\"1\" failures=\"0\" errors=\"0\">\n  \
             <testsuite name=\"isolint\" tests=\"1\" failures=\"0\" errors=\"0\" skipped=\"0\">\n    \
             <testcase classname=\"isolint\" name=\"isolint\"/>\n  \
             </testsuite>\n</testsuites>\n"
        );
    }

    #[test]
    fn markup_in_messages_is_escaped() {
        let mut result = check(LEAVE_SHIFT);
        result.findings[0].message = ",:%\n<&\"'>\u{1}".to_string();
        let xml = render(&result);
        assert!(xml.contains("<failure message=\",:%&#10;&lt;&amp;&quot;&apos;&gt;\u{fffd}\""));
        assert!(
            xml.contains("queries/leave_shift.sql:3:1: ,:%\n&lt;&amp;&quot;&apos;&gt;\u{fffd}\n")
        );
        assert!(!xml.contains("<&"));
    }

    #[test]
    fn parse_errors_go_to_system_err() {
        let transactions =
            format!("{LEAVE_SHIFT}UPDATE oncall SET on_call = WHERE shift_id = $1;\n");
        let xml = render(&check(&transactions));
        assert!(
            xml.contains(
                "<system-err>queries/leave_shift.sql:6:35: parse-error statement skipped: "
            ),
            "{xml}"
        );
    }
}
