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
use crate::source::FileId;
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
    let location = |at: StatementRef| {
        let (file, range) = statement_range(result, at);
        Location::new(
            path_to_uri(&path_of(file)),
            encoding.range(&result.files[file], range),
        )
    };
    for finding in &result.findings {
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
            by_file.entry(path_of(file)).or_default().push(Diagnostic {
                range: encoding.range(&result.files[file], range),
                severity: Some(severity),
                code: Some(NumberOrString::String(finding.rule.id().to_string())),
                code_description: rule_page(finding.rule),
                source: Some(SOURCE.to_string()),
                message: finding.message.clone(),
                related_information: Some(related),
                tags: None,
                data: None,
            });
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

fn rule_page(rule: crate::rule::Rule) -> Option<CodeDescription> {
    let href = rule.page_url().parse().ok()?;
    Some(CodeDescription { href })
}
