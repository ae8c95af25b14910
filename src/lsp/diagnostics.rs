//! Findings and input problems as LSP diagnostics, grouped by file.
//!
//! A finding whose statements lie in several files is shown in each of them, on its first
//! statement there, so both sides of a write skew are marked; `relatedInformation` points at
//! the other statements.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use lsp_types::{
    CodeDescription, Diagnostic, DiagnosticRelatedInformation, DiagnosticSeverity, DiagnosticTag,
    Location, NumberOrString,
};

use super::position::Encoding;
use super::workspace::path_to_uri;
use crate::analysis::finding::{Finding, StatementRef};
use crate::edits::statement_range;
use crate::rule::Severity;
use crate::source::{FileId, TextRange};
use crate::{CheckResult, DiagnosticKind};

const SOURCE: &str = "isolint";

/// The first statement of `finding` in each file it involves, in the finding's order.
pub fn anchors(result: &CheckResult, finding: &Finding) -> Vec<(FileId, StatementRef)> {
    let mut anchors: Vec<(FileId, StatementRef)> = Vec::new();
    for at in finding.statements() {
        let file = result.programs[at.program].file;
        if !anchors.iter().any(|(seen, _)| *seen == file) {
            anchors.push((file, at));
        }
    }
    anchors
}

/// Every diagnostic of the result, by absolute path. Files without any are absent.
pub fn by_file(
    result: &CheckResult,
    root: &Path,
    encoding: Encoding,
) -> BTreeMap<PathBuf, Vec<Diagnostic>> {
    let mut by_file: BTreeMap<PathBuf, Vec<Diagnostic>> = BTreeMap::new();
    let path_of = |file: FileId| root.join(&result.files[file].path);
    for finding in &result.findings {
        for (file, diagnostic) in finding_diagnostics(result, root, encoding, finding) {
            by_file.entry(path_of(file)).or_default().push(diagnostic);
        }
    }
    for diagnostic in &result.diagnostics {
        let Some(file) = diagnostic.file else {
            continue;
        };
        let severity = if diagnostic.kind.is_error() {
            DiagnosticSeverity::ERROR
        } else {
            DiagnosticSeverity::WARNING
        };
        let tags = (diagnostic.kind == DiagnosticKind::UnusedIgnore)
            .then(|| vec![DiagnosticTag::UNNECESSARY]);
        by_file.entry(path_of(file)).or_default().push(Diagnostic {
            range: encoding.range(&result.files[file], diagnostic.range),
            severity: Some(severity),
            code: Some(NumberOrString::String(diagnostic.kind.id().to_string())),
            code_description: None,
            source: Some(SOURCE.to_string()),
            message: diagnostic.message.clone(),
            related_information: None,
            tags,
            data: None,
        });
    }
    by_file
}

/// The diagnostics in the file at `path` of `previous`'s findings at fault in other files, for
/// the time the whole check of the edited text runs (the findings at fault in the edited file
/// come afresh from a focused check, `now`): those the edits cannot have changed. Every
/// transaction such a finding involves, and every routine its statements run in, is in a
/// file whose text is as it was, or lies whole in the part of `path` before the first byte
/// that changed, so that the finding and every range it gives are still right. Only what the
/// edits added can be missing from it: a partner, or another choice of a structure's Tin and
/// Tout.
pub fn carried(
    previous: &CheckResult,
    now: &CheckResult,
    root: &Path,
    encoding: Encoding,
    path: &Path,
) -> Vec<Diagnostic> {
    let Some(file) = previous
        .files
        .iter()
        .position(|file| root.join(&file.path) == path)
    else {
        return Vec::new();
    };
    let texts_now: std::collections::HashMap<&Path, &str> = now
        .files
        .iter()
        .map(|file| (file.path.as_path(), file.text.as_str()))
        .collect();
    let text_now = |at: FileId| texts_now.get(previous.files[at].path.as_path()).copied();
    let unchanged = text_now(file).map_or(0, |now| {
        previous.files[file]
            .text
            .bytes()
            .zip(now.bytes())
            .take_while(|(before, now)| before == now)
            .count()
    });
    // Whether a range of `previous` reads the same now: in an unchanged file, or in `path`
    // before the first change (and not up to it: typing at a statement's end changes it).
    let same = |at: FileId, range: TextRange| {
        if at == file {
            range.end < unchanged
        } else {
            text_now(at) == Some(previous.files[at].text.as_str())
        }
    };
    let unmoved = |program: usize| {
        let program = &previous.programs[program];
        program.statements.iter().all(|statement| {
            same(program.file, statement.range)
                && statement
                    .via
                    .as_ref()
                    .is_none_or(|via| same(via.file, via.range))
        })
    };
    previous
        .findings
        .iter()
        .filter(|finding| previous.programs[finding.primary.program].file != file)
        .filter(|finding| {
            finding
                .statements()
                .any(|at| previous.programs[at.program].file == file)
                && finding
                    .programs
                    .iter()
                    .copied()
                    .chain(finding.partners.iter().map(|at| at.program))
                    .all(unmoved)
        })
        .flat_map(|finding| finding_diagnostics(previous, root, encoding, finding))
        .filter(|(in_file, _)| *in_file == file)
        .map(|(_, diagnostic)| diagnostic)
        .collect()
}

/// The diagnostics of one finding: one in each file it involves (see [`anchors`]).
fn finding_diagnostics(
    result: &CheckResult,
    root: &Path,
    encoding: Encoding,
    finding: &Finding,
) -> Vec<(FileId, Diagnostic)> {
    let path_of = |file: FileId| root.join(&result.files[file].path);
    let location = |at: StatementRef| {
        let (file, range) = statement_range(result, at);
        Location::new(
            path_to_uri(&path_of(file)),
            encoding.range(&result.files[file], range),
        )
    };
    let mut diagnostics = Vec::new();
    let severity = match result.severity(finding) {
        Severity::Error => DiagnosticSeverity::ERROR,
        Severity::Warning => DiagnosticSeverity::WARNING,
    };
    let at_fault = format!(
        "the statement at fault, in `{}`",
        result.programs[finding.primary.program].name
    );
    let partners = finding
        .partners
        .iter()
        .take(crate::report::PARTNERS_SHOWN)
        .map(|at| {
            (
                *at,
                format!(
                    "`{}` meets the statement at fault too",
                    result.programs[at.program].name
                ),
            )
        });
    let explained = std::iter::once((finding.primary, at_fault))
        .chain(finding.related.iter().cloned())
        .chain(partners);
    let explained: Vec<(StatementRef, String)> = explained.collect();
    // Statements that run inside a routine or trigger also point at where it is written.
    let mut inside: Vec<DiagnosticRelatedInformation> = Vec::new();
    for at in finding.statements() {
        let statement = &result.programs[at.program].statements[at.statement];
        if let Some(via) = &statement.via {
            let information = DiagnosticRelatedInformation {
                location: Location::new(
                    path_to_uri(&path_of(via.file)),
                    encoding.range(&result.files[via.file], via.range),
                ),
                message: format!("runs inside {}, written here", via.routine),
            };
            if !inside.contains(&information) {
                inside.push(information);
            }
        }
    }
    for (file, anchor) in anchors(result, finding) {
        let related = explained
            .iter()
            .filter(|(at, _)| *at != anchor)
            .map(|(at, message)| DiagnosticRelatedInformation {
                location: location(*at),
                message: message.clone(),
            })
            .chain(inside.iter().cloned())
            .collect();
        let (_, range) = statement_range(result, anchor);
        diagnostics.push((
            file,
            Diagnostic {
                range: encoding.range(&result.files[file], range),
                severity: Some(severity),
                code: Some(NumberOrString::String(finding.rule.id().to_string())),
                code_description: rule_page(finding.rule),
                source: Some(SOURCE.to_string()),
                message: finding.message.clone(),
                related_information: Some(related),
                tags: None,
                data: None,
            },
        ));
    }
    diagnostics
}

fn rule_page(rule: crate::rule::Rule) -> Option<CodeDescription> {
    let href = rule.page_url().parse().ok()?;
    Some(CodeDescription { href })
}
