//! Human output: one miette diagnostic per finding (primary label on the statement at fault,
//! secondary labels on the others, a related diagnostic for other files, the fix as `help`),
//! followed by the witness interleaving as a timeline with one column per transaction.

use std::fmt;

use miette::{
    Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, Severity,
    SourceSpan,
};

use super::{instance_label, step_text, summary_line};
use crate::CheckResult;
use crate::analysis::finding::{Finding, StatementRef};
use crate::rule::Severity as RuleSeverity;

pub struct Options {
    pub color: bool,
    pub width: usize,
}

#[derive(Debug)]
struct Rendered {
    message: String,
    code: Option<String>,
    severity: Severity,
    help: Option<String>,
    source: NamedSource<String>,
    labels: Vec<LabeledSpan>,
    related: Vec<Rendered>,
}

impl fmt::Display for Rendered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Rendered {}

impl Diagnostic for Rendered {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.code
            .as_ref()
            .map(|code| Box::new(code) as Box<dyn fmt::Display>)
    }
    fn severity(&self) -> Option<Severity> {
        Some(self.severity)
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|help| Box::new(help) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.labels.iter().cloned()))
    }
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        if self.related.is_empty() {
            None
        } else {
            Some(Box::new(self.related.iter().map(|d| d as &dyn Diagnostic)))
        }
    }
}

fn source_of(result: &CheckResult, file: usize) -> NamedSource<String> {
    let source = &result.files[file];
    NamedSource::new(source.display_path(), source.text.clone())
}

fn span(result: &CheckResult, at: StatementRef) -> (usize, SourceSpan) {
    let program = &result.programs[at.program];
    let range = program.statements[at.statement].range;
    (program.file, SourceSpan::from((range.start, range.len())))
}

fn finding_diagnostic(result: &CheckResult, finding: &Finding) -> Rendered {
    let (file, primary_span) = span(result, finding.primary);
    let mut labels = vec![LabeledSpan::new_primary_with_span(
        Some(primary_label(result, finding)),
        primary_span,
    )];
    let mut other_files: Vec<(usize, Vec<LabeledSpan>)> = Vec::new();
    for (at, message) in &finding.related {
        let (related_file, related_span) = span(result, *at);
        let label = LabeledSpan::new_with_span(Some(message.clone()), related_span);
        if related_file == file {
            if !labels.iter().any(|l| l.offset() == label.offset()) {
                labels.push(label);
            }
        } else {
            match other_files.iter_mut().find(|(f, _)| *f == related_file) {
                Some((_, spans)) => {
                    if !spans.iter().any(|l| l.offset() == label.offset()) {
                        spans.push(label)
                    }
                }
                None => other_files.push((related_file, vec![label])),
            }
        }
    }
    let related = other_files
        .into_iter()
        .map(|(related_file, labels)| Rendered {
            message: format!("the other side of this {}", finding.rule.id()),
            code: None,
            severity: Severity::Advice,
            help: None,
            source: source_of(result, related_file),
            labels,
            related: vec![],
        })
        .collect();
    let mut help = finding.why.clone();
    for fix in &finding.fixes {
        help.push_str("\nfix: ");
        help.push_str(&fix.title);
    }
    Rendered {
        message: finding.message.clone(),
        code: Some(format!("isolint::{}", finding.rule.id())),
        severity: match result.severity(finding) {
            RuleSeverity::Error => Severity::Error,
            RuleSeverity::Warning => Severity::Warning,
        },
        help: Some(help),
        source: source_of(result, file),
        labels,
        related,
    }
}

pub fn primary_label(result: &CheckResult, finding: &Finding) -> String {
    let program = &result.programs[finding.primary.program];
    // A lost update in steps that commit separately: the read may well lock, until its step
    // commits.
    if finding.rule == crate::rule::Rule::LostUpdate && !program.step_ends.is_empty() {
        return "reads the value it will overwrite, in a step that commits before the write"
            .to_string();
    }
    finding.rule.primary_label().to_string()
}

/// The witness as a timeline: one column per transaction, time going down.
pub fn timeline(result: &CheckResult, finding: &Finding, width: usize) -> String {
    let columns = finding.instances.len().max(1);
    let column_width = ((width.saturating_sub(6)) / columns).clamp(24, 60);
    let cell = |text: &str| format!("{text:<width$}", width = column_width - 2);
    let truncate = |text: String| {
        if text.chars().count() > column_width - 2 {
            // A step that commits on its own (`atomic = false`) keeps saying so.
            let commit = "; COMMIT";
            let kept = text.strip_suffix(commit).map_or("", |_| commit);
            let mut short: String = text.chars().take(column_width - 3 - kept.len()).collect();
            short.push('…');
            short.push_str(kept);
            short
        } else {
            text
        }
    };
    let mut out = String::from("  witness, one interleaving that produces it:\n");
    let header: Vec<String> = (0..columns)
        .map(|instance| cell(&truncate(instance_label(result, finding, instance))))
        .collect();
    out.push_str(&format!("      {}\n", header.join(" │ ").trim_end()));
    for (number, step) in finding.witness.iter().enumerate() {
        let row: Vec<String> = (0..columns)
            .map(|instance| {
                if instance == step.instance {
                    cell(&truncate(step_text(result, finding, instance, step.step)))
                } else {
                    cell("")
                }
            })
            .collect();
        out.push_str(&format!(
            "  {:>2}. {}\n",
            number + 1,
            row.join(" │ ").trim_end()
        ));
    }
    out
}

pub fn render(result: &CheckResult, options: &Options) -> String {
    let theme = if options.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(options.width)
        .with_links(false)
        .with_context_lines(1);
    let mut out = String::new();
    for diagnostic in &result.diagnostics {
        let message = format!("{}: {}", diagnostic.kind.id(), diagnostic.message);
        let rendered = Rendered {
            message,
            code: None,
            severity: if diagnostic.kind.is_error() {
                Severity::Error
            } else {
                Severity::Warning
            },
            help: None,
            source: diagnostic
                .file
                .map(|file| source_of(result, file))
                .unwrap_or_else(|| NamedSource::new("", String::new())),
            labels: diagnostic
                .file
                .map(|_| {
                    vec![LabeledSpan::new_primary_with_span(
                        None,
                        SourceSpan::from((diagnostic.range.start, diagnostic.range.len().min(200))),
                    )]
                })
                .unwrap_or_default(),
            related: vec![],
        };
        // Invariant: writing into a String cannot fail.
        let _ = handler.render_report(&mut out, &rendered);
        out.push('\n');
    }
    for finding in &result.findings {
        let _ = handler.render_report(&mut out, &finding_diagnostic(result, finding));
        out.push_str(&timeline(result, finding, options.width));
        out.push('\n');
    }
    out.push_str(&summary_line(result));
    out.push('\n');
    out
}
