//! The JSON contract (DESIGN.md section 6), version 2: a finding is a root cause, and the
//! programs of one template that meet its statement the same way are its `partners`.

use std::io::Write;

use serde::Serialize;

use super::{Location, fingerprint, location, statement_location, step_text};
use crate::CheckResult;
use crate::program::LevelSource;

#[derive(Serialize)]
struct Output<'a> {
    version: u32,
    engine: &'a str,
    levels: Levels,
    summary: Summary,
    findings: Vec<FindingOut<'a>>,
    diagnostics: Vec<DiagnosticOut>,
}

/// The levels assumed: the default for transactions that declare none, and those in use.
#[derive(Serialize)]
struct Levels {
    default: String,
    used: Vec<String>,
}

#[derive(Serialize)]
struct Summary {
    files: usize,
    statements: usize,
    transactions: usize,
    /// `transactions` by where they come from.
    programs: super::ProgramCounts,
    findings: usize,
    parse_errors: usize,
}

#[derive(Serialize)]
struct FindingOut<'a> {
    rule: &'static str,
    severity: &'static str,
    message: String,
    transactions: Vec<TransactionOut>,
    /// The other programs of the partner's template that give the same finding, each at its
    /// statement in the partner's part; the finding stands for one pair per partner besides
    /// the witness's.
    partners: Vec<PartnerOut>,
    location: LocationOut,
    related: Vec<RelatedOut>,
    witness: Vec<StepOut>,
    fixes: Vec<FixOut>,
    fingerprint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    confirmation: Option<&'a crate::confirm::Confirmation>,
}

#[derive(Serialize)]
struct TransactionOut {
    name: String,
    file: String,
    line: usize,
    isolation: &'static str,
    isolation_source: &'static str,
    /// The engine settings the transaction chose for itself where they differ from the run's
    /// (`tidb_txn_mode = 'pessimistic'` for TiDB's `BEGIN PESSIMISTIC`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    settings: Vec<String>,
}

#[derive(Serialize)]
struct PartnerOut {
    name: String,
    file: String,
    line: usize,
}

#[derive(Serialize)]
struct LocationOut {
    file: String,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
}

impl From<Location> for LocationOut {
    fn from(location: Location) -> Self {
        LocationOut {
            file: location.file,
            line: location.line,
            column: location.column,
            end_line: location.end_line,
            end_column: location.end_column,
        }
    }
}

#[derive(Serialize)]
struct RelatedOut {
    file: String,
    line: usize,
    column: usize,
    message: String,
}

#[derive(Serialize)]
struct StepOut {
    txn: usize,
    step: String,
}

#[derive(Serialize)]
struct FixOut {
    title: String,
    /// The text edits that make the fix, where it is mechanical: inserting at a point has
    /// `line` = `end_line` and `column` = `end_column`.
    edits: Vec<EditOut>,
}

#[derive(Serialize)]
struct EditOut {
    #[serde(flatten)]
    at: LocationOut,
    text: String,
}

#[derive(Serialize)]
struct DiagnosticOut {
    kind: &'static str,
    file: Option<String>,
    line: Option<usize>,
    column: Option<usize>,
    message: String,
}

pub fn render(result: &CheckResult, default_level: crate::semantics::Level) -> String {
    let mut bytes = Vec::new();
    // Invariant: writing to a Vec does not fail.
    let _ = write(result, default_level, &mut bytes);
    String::from_utf8(bytes).unwrap_or_default()
}

/// Writes the report to `out` as it serialises, without building the text in memory first.
pub fn write(
    result: &CheckResult,
    default_level: crate::semantics::Level,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let mut used: Vec<String> = result
        .programs
        .iter()
        .map(|p| p.level.id().to_string())
        .collect();
    used.sort();
    used.dedup();
    let findings = result
        .findings
        .iter()
        .enumerate()
        .map(|(index, finding)| FindingOut {
            rule: finding.rule.id(),
            severity: result.severity(finding).id(),
            message: finding.message.clone(),
            transactions: finding
                .programs
                .iter()
                .map(|index| {
                    let program = &result.programs[*index];
                    let (line, _) = result.files[program.file].line_col(program.range.start);
                    TransactionOut {
                        name: program.name.clone(),
                        file: result.files[program.file].display_path(),
                        line,
                        isolation: program.level.id(),
                        isolation_source: match program.level_source {
                            LevelSource::Declared => "declared",
                            LevelSource::Configured => "configured",
                            LevelSource::EngineDefault => "engine-default",
                            LevelSource::StableFunction => "stable-function",
                        },
                        settings: result.own_settings(program),
                    }
                })
                .collect(),
            partners: finding
                .partners
                .iter()
                .map(|at| {
                    let location = statement_location(result, *at);
                    PartnerOut {
                        name: result.programs[at.program].name.clone(),
                        file: location.file,
                        line: location.line,
                    }
                })
                .collect(),
            location: statement_location(result, finding.primary).into(),
            related: super::related_locations(result, finding)
                .into_iter()
                .map(|(location, message)| RelatedOut {
                    file: location.file,
                    line: location.line,
                    column: location.column,
                    message,
                })
                .collect(),
            witness: finding
                .witness
                .iter()
                .map(|step| StepOut {
                    txn: step.instance,
                    step: step_text(result, finding, step.instance, step.step),
                })
                .collect(),
            fixes: finding
                .fixes
                .iter()
                .map(|fix| FixOut {
                    title: fix.title.clone(),
                    edits: crate::edits::first_choice(result, finding, fix)
                        .into_iter()
                        .map(|edit| EditOut {
                            at: location(result, edit.file, edit.range).into(),
                            text: edit.text,
                        })
                        .collect(),
                })
                .collect(),
            fingerprint: fingerprint(result, finding),
            confirmation: result.confirmations.get(&index),
        })
        .collect();
    let diagnostics = result
        .diagnostics
        .iter()
        .map(|diagnostic| {
            let location = diagnostic
                .file
                .map(|file| location(result, file, diagnostic.range));
            DiagnosticOut {
                kind: diagnostic.kind.id(),
                file: location.as_ref().map(|l| l.file.clone()),
                line: location.as_ref().map(|l| l.line),
                column: location.as_ref().map(|l| l.column),
                message: diagnostic.message.clone(),
            }
        })
        .collect();
    let output = Output {
        version: 2,
        engine: result.engine.id(),
        levels: Levels {
            default: default_level.id().to_string(),
            used,
        },
        summary: Summary {
            files: result.files.len(),
            statements: result.statements,
            transactions: result.programs.len(),
            programs: super::ProgramCounts::of(result),
            findings: result.findings.len(),
            parse_errors: result.parse_errors,
        },
        findings,
        diagnostics,
    };
    let mut out = std::io::BufWriter::new(out);
    serde_json::to_writer_pretty(&mut out, &output).map_err(std::io::Error::other)?;
    out.write_all(b"\n")?;
    out.flush()
}
