//! SARIF 2.1.0, for GitHub code scanning and other SARIF viewers: one run whose driver lists
//! every rule (documentation from `rules/<id>.md`), one result per finding, and the
//! diagnostics as tool execution notifications.
//!
//! Columns count Unicode code points (`columnKind`), not SARIF's default UTF-16 code units,
//! because that is what `report::location` produces; `endColumn` is the column just past the
//! statement.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Location, fingerprint, location, statement_location};
use crate::CheckResult;
use crate::rule::Rule;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
const INFORMATION_URI: &str = "https://github.com/isolint/isolint";
/// The version of the fingerprint scheme in `report::fingerprint`; bump it when that changes.
const FINGERPRINT_KEY: &str = "isolint/v1";

#[derive(Serialize)]
struct Log {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: Vec<Run>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run {
    tool: Tool,
    invocations: Vec<Invocation>,
    column_kind: &'static str,
    results: Vec<ResultOut>,
}

#[derive(Serialize)]
struct Tool {
    driver: Driver,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver {
    name: &'static str,
    information_uri: &'static str,
    version: &'static str,
    rules: Vec<ReportingDescriptor>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReportingDescriptor {
    id: &'static str,
    short_description: Message,
    full_description: Message,
    help: MarkdownMessage,
    help_uri: String,
    default_configuration: Configuration,
}

#[derive(Serialize)]
struct Message {
    text: String,
}

#[derive(Serialize)]
struct MarkdownMessage {
    text: String,
    markdown: String,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Invocation {
    execution_successful: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_execution_notifications: Vec<Notification>,
}

#[derive(Serialize)]
struct Notification {
    level: &'static str,
    message: Message,
    descriptor: DescriptorReference,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    locations: Vec<LocationOut>,
}

#[derive(Serialize)]
struct DescriptorReference {
    id: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResultOut {
    rule_id: &'static str,
    /// Omitted rather than wrong should a rule ever be missing from `Rule::ALL`.
    #[serde(skip_serializing_if = "Option::is_none")]
    rule_index: Option<usize>,
    level: &'static str,
    message: Message,
    locations: Vec<LocationOut>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    related_locations: Vec<LocationOut>,
    partial_fingerprints: BTreeMap<&'static str, String>,
    /// The mechanical fixes, with their text edits.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    fixes: Vec<FixOut>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LocationOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<usize>,
    physical_location: PhysicalLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<Message>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    region: Region,
}

/// A fix as SARIF states it: the text edits, by file.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FixOut {
    description: Message,
    artifact_changes: Vec<ArtifactChange>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactChange {
    artifact_location: ArtifactLocation,
    replacements: Vec<Replacement>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Replacement {
    deleted_region: Region,
    inserted_content: Message,
}

#[derive(Serialize)]
struct ArtifactLocation {
    uri: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: usize,
    start_column: usize,
    end_line: usize,
    end_column: usize,
}

impl From<Location> for PhysicalLocation {
    fn from(location: Location) -> Self {
        PhysicalLocation {
            artifact_location: ArtifactLocation {
                uri: artifact_uri(&location.file),
            },
            region: Region {
                start_line: location.line,
                start_column: location.column,
                end_line: location.end_line,
                end_column: location.end_column,
            },
        }
    }
}

pub fn render(result: &CheckResult) -> String {
    let log = Log {
        schema: SCHEMA,
        version: "2.1.0",
        runs: vec![Run {
            tool: Tool {
                driver: Driver {
                    name: "isolint",
                    information_uri: INFORMATION_URI,
                    version: env!("CARGO_PKG_VERSION"),
                    rules: Rule::ALL.into_iter().map(reporting_descriptor).collect(),
                },
            },
            invocations: vec![Invocation {
                execution_successful: true,
                tool_execution_notifications: notifications(result),
            }],
            column_kind: "unicodeCodePoints",
            results: results(result),
        }],
    };
    // Invariant: these types serialise without error (map keys are strings).
    let mut text = serde_json::to_string_pretty(&log).unwrap_or_default();
    text.push('\n');
    text
}

fn reporting_descriptor(rule: Rule) -> ReportingDescriptor {
    let doc = rule.doc();
    ReportingDescriptor {
        id: rule.id(),
        short_description: Message {
            text: doc.summary.clone(),
        },
        full_description: Message {
            text: doc.body.to_string(),
        },
        help: MarkdownMessage {
            text: doc.body.to_string(),
            markdown: doc.body.to_string(),
        },
        help_uri: rule.page_url(),
        default_configuration: Configuration {
            level: doc.severity.id(),
        },
    }
}

fn results(result: &CheckResult) -> Vec<ResultOut> {
    result
        .findings
        .iter()
        .map(|finding| ResultOut {
            rule_id: finding.rule.id(),
            rule_index: Rule::ALL.iter().position(|rule| *rule == finding.rule),
            level: result.severity(finding).id(),
            message: Message {
                text: finding.message.clone(),
            },
            locations: vec![LocationOut {
                id: None,
                physical_location: statement_location(result, finding.primary).into(),
                message: None,
            }],
            related_locations: super::related_locations(result, finding)
                .into_iter()
                .chain(super::partner_locations(result, finding))
                .enumerate()
                .map(|(id, (location, message))| LocationOut {
                    id: Some(id),
                    physical_location: location.into(),
                    message: Some(Message { text: message }),
                })
                .collect(),
            partial_fingerprints: BTreeMap::from([(FINGERPRINT_KEY, fingerprint(result, finding))]),
            fixes: finding
                .fixes
                .iter()
                .filter_map(|fix| {
                    let edits = crate::edits::first_choice(result, finding, fix);
                    let mut changes: BTreeMap<usize, Vec<Replacement>> = BTreeMap::new();
                    for edit in edits {
                        let at = location(result, edit.file, edit.range);
                        changes.entry(edit.file).or_default().push(Replacement {
                            deleted_region: PhysicalLocation::from(at).region,
                            inserted_content: Message { text: edit.text },
                        });
                    }
                    (!changes.is_empty()).then(|| FixOut {
                        description: Message {
                            text: fix.title.clone(),
                        },
                        artifact_changes: changes
                            .into_iter()
                            .map(|(file, replacements)| ArtifactChange {
                                artifact_location: ArtifactLocation {
                                    uri: artifact_uri(&result.files[file].display_path()),
                                },
                                replacements,
                            })
                            .collect(),
                    })
                })
                .collect(),
        })
        .collect()
}

/// Diagnostics do not make the run unsuccessful: the analysis went on without the statement
/// or file they are about.
fn notifications(result: &CheckResult) -> Vec<Notification> {
    result
        .diagnostics
        .iter()
        .map(|diagnostic| Notification {
            level: if diagnostic.kind.is_error() {
                "error"
            } else {
                "warning"
            },
            message: Message {
                text: diagnostic.message.clone(),
            },
            descriptor: DescriptorReference {
                id: diagnostic.kind.id(),
            },
            locations: diagnostic
                .file
                .map(|file| LocationOut {
                    id: None,
                    physical_location: location(result, file, diagnostic.range).into(),
                    message: None,
                })
                .into_iter()
                .collect(),
        })
        .collect()
}

/// A path as a URI reference. Paths are shown relative to the working directory, which makes
/// them relative references; an absolute path becomes a `file:` URI. Every byte outside the
/// unreserved set and `/` is percent-encoded, so that a space or `#` in a name stays part of
/// the path.
fn artifact_uri(path: &str) -> String {
    let bytes = path.as_bytes();
    let has_drive_letter = bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':';
    if has_drive_letter {
        format!("file:///{}:{}", &path[..1], percent_encode(&path[2..]))
    } else if path.starts_with('/') {
        format!("file://{}", percent_encode(path))
    } else {
        percent_encode(path)
    }
}

fn percent_encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::DiagnosticKind;
    use crate::report::test_support::{LEAVE_SHIFT, check, parse_json as parse};
    use crate::rule::Severity;

    use crate::Diagnostic;

    #[test]
    fn the_log_is_one_run_of_isolint_with_every_rule() {
        let sarif = parse(&render(&check(LEAVE_SHIFT)));
        assert_eq!(sarif["$schema"], SCHEMA);
        assert_eq!(sarif["version"], "2.1.0");
        assert_eq!(sarif["runs"].as_array().map(Vec::len), Some(1));
        let run = &sarif["runs"][0];
        assert_eq!(run["columnKind"], "unicodeCodePoints");
        let driver = &run["tool"]["driver"];
        assert_eq!(driver["name"], "isolint");
        assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
        let ids: Vec<&str> = driver["rules"]
            .as_array()
            .expect("rules")
            .iter()
            .filter_map(|rule| rule["id"].as_str())
            .collect();
        let expected: Vec<&str> = Rule::ALL.iter().map(|rule| rule.id()).collect();
        assert_eq!(ids, expected);
        assert_eq!(run["invocations"][0]["executionSuccessful"], true);
        assert!(run["invocations"][0]["toolExecutionNotifications"].is_null());
    }

    #[test]
    fn a_rule_carries_its_page() {
        let sarif = parse(&render(&check(LEAVE_SHIFT)));
        let rules = &sarif["runs"][0]["tool"]["driver"]["rules"];
        let index = Rule::ALL
            .iter()
            .position(|rule| *rule == Rule::ReadSkew)
            .expect("listed");
        let read_skew = &rules[index];
        assert_eq!(read_skew["id"], "read-skew");
        assert_eq!(
            read_skew["shortDescription"]["text"],
            Rule::ReadSkew.doc().summary
        );
        let body = read_skew["help"]["markdown"].as_str().expect("markdown");
        assert!(body.starts_with("# read-skew"), "{body}");
        assert!(body.contains("## Why is this bad?"));
        assert!(!body.contains("severity: warning"), "front matter leaked");
        assert_eq!(read_skew["fullDescription"]["text"], body);
        assert_eq!(
            read_skew["helpUri"],
            "https://github.com/isolint/isolint/blob/main/rules/read-skew.md"
        );
        assert_eq!(read_skew["defaultConfiguration"]["level"], "warning");
        assert_eq!(rules[0]["defaultConfiguration"]["level"], "error");
    }

    /// The partners folded into a finding are related locations after its own.
    #[test]
    fn partners_are_related_locations() {
        let updates: String = (1..=3)
            .map(|id| {
                format!("UPDATE oncall SET on_call = false WHERE shift_id = {id} AND doctor_id = {id};\n")
            })
            .collect();
        let cover = "-- name: cover\nBEGIN;\n\
                     SELECT on_call FROM oncall WHERE shift_id = $1 AND doctor_id = $2;\n\
                     UPDATE oncall SET on_call = $3 WHERE shift_id = $1 AND doctor_id = $2;\n\
                     COMMIT;\n";
        let result = check(&format!("{cover}{updates}"));
        let folded: Vec<&crate::analysis::finding::Finding> = result
            .findings
            .iter()
            .filter(|finding| !finding.partners.is_empty())
            .collect();
        assert_eq!(folded.len(), 1, "{:?}", result.findings);
        let sarif = parse(&render(&result));
        let results = sarif["runs"][0]["results"].as_array().expect("results");
        let index = result
            .findings
            .iter()
            .position(|finding| !finding.partners.is_empty())
            .expect("folded");
        let related = results[index]["relatedLocations"]
            .as_array()
            .expect("related");
        let partners: Vec<(&str, u64)> = related
            .iter()
            .skip(folded[0].related.len())
            .map(|location| {
                (
                    location["message"]["text"].as_str().expect("text"),
                    location["physicalLocation"]["region"]["startLine"]
                        .as_u64()
                        .expect("line"),
                )
            })
            .collect();
        let expected: Vec<(String, u64)> = (6..=8)
            .map(|line| {
                (
                    format!(
                        "`leave_shift:{line}` meets the statement at fault too (one of 3 more \
                         partners)"
                    ),
                    line,
                )
            })
            .collect();
        let partners: Vec<(String, u64)> = partners
            .into_iter()
            .map(|(text, line)| (text.to_string(), line))
            .collect();
        assert_eq!(partners, expected);
    }

    #[test]
    fn a_finding_is_a_result_with_locations_and_a_fingerprint() {
        let result = check(LEAVE_SHIFT);
        let sarif = parse(&render(&result));
        let results = sarif["runs"][0]["results"].as_array().expect("results");
        assert_eq!(results.len(), 1);
        let write_skew = &results[0];
        assert_eq!(write_skew["ruleId"], "write-skew");
        let index = write_skew["ruleIndex"].as_u64().expect("index") as usize;
        assert_eq!(
            sarif["runs"][0]["tool"]["driver"]["rules"][index]["id"],
            "write-skew"
        );
        assert_eq!(write_skew["level"], "error");
        assert_eq!(write_skew["message"]["text"], result.findings[0].message);
        assert_eq!(
            write_skew["locations"],
            json!([{"physicalLocation": {
                "artifactLocation": {"uri": "queries/leave_shift.sql"},
                "region": {"startLine": 3, "startColumn": 1, "endLine": 3, "endColumn": 60},
            }}])
        );
        let related = write_skew["relatedLocations"].as_array().expect("related");
        assert_eq!(related.len(), result.findings[0].related.len());
        assert_eq!(related[0]["id"], 0);
        assert_eq!(related[0]["message"]["text"], "then updates `oncall`");
        assert_eq!(
            related[0]["physicalLocation"]["region"]["startLine"], 4,
            "{related:?}"
        );
        assert_eq!(
            write_skew["partialFingerprints"],
            json!({"isolint/v1": fingerprint(&result, &result.findings[0])})
        );
    }

    #[test]
    fn the_configured_severity_sets_the_level() {
        let mut result = check(LEAVE_SHIFT);
        result.severities.insert(Rule::WriteSkew, Severity::Warning);
        let sarif = parse(&render(&result));
        assert_eq!(sarif["runs"][0]["results"][0]["level"], "warning");
    }

    #[test]
    fn diagnostics_are_notifications_of_a_successful_run() {
        let transactions =
            format!("{LEAVE_SHIFT}UPDATE oncall SET on_call = WHERE shift_id = $1;\n");
        let mut result = check(&transactions);
        result.diagnostics.push(Diagnostic {
            kind: DiagnosticKind::IoError,
            file: None,
            range: Default::default(),
            message: "queries/locked: cannot read".to_string(),
        });
        let sarif = parse(&render(&result));
        let invocation = &sarif["runs"][0]["invocations"][0];
        assert_eq!(invocation["executionSuccessful"], true);
        let notifications = invocation["toolExecutionNotifications"]
            .as_array()
            .expect("notifications");
        assert_eq!(notifications.len(), 2);
        let parse_error = &notifications[0];
        assert_eq!(parse_error["level"], "warning");
        assert_eq!(parse_error["descriptor"]["id"], "parse-error");
        assert!(
            parse_error["message"]["text"]
                .as_str()
                .is_some_and(|text| text.starts_with("statement skipped: "))
        );
        assert_eq!(
            parse_error["locations"][0]["physicalLocation"]["region"]["startLine"],
            6
        );
        assert_eq!(notifications[1]["level"], "error");
        assert!(notifications[1]["locations"].is_null());
    }

    #[test]
    fn paths_become_uri_references() {
        assert_eq!(
            artifact_uri("queries/leave_shift.sql"),
            "queries/leave_shift.sql"
        );
        assert_eq!(
            artifact_uri("my queries/#1 café.sql"),
            "my%20queries/%231%20caf%C3%A9.sql"
        );
        assert_eq!(artifact_uri("/srv/app/q.sql"), "file:///srv/app/q.sql");
        assert_eq!(artifact_uri("C:/app/q 1.sql"), "file:///C:/app/q%201.sql");
    }
}
