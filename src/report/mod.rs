//! Every output format, and the facts they share (locations, fingerprints, witness text).
//!
//! Architecture Invariant: only `report` (and the language server) serialises; internal types
//! are not `Serialize`. Wire types are built here, at the boundary.

pub mod concise;
pub mod confirmations;
pub mod engines;
pub mod github;
pub mod gitlab;
pub mod graph;
pub mod html;
pub mod human;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod review;
pub mod sarif;
pub mod svg;

use crate::CheckResult;
use crate::analysis::finding::{Finding, StatementRef, Step};
use crate::source::TextRange;

/// A location in a file, 1-based line and column (in characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
}

pub fn location(result: &CheckResult, file: usize, range: TextRange) -> Location {
    let source = &result.files[file];
    let (line, column) = source.line_col(range.start);
    let (end_line, end_column) = source.line_col(range.end);
    Location {
        file: source.display_path(),
        line,
        column,
        end_line,
        end_column,
    }
}

pub fn statement_location(result: &CheckResult, at: StatementRef) -> Location {
    let program = &result.programs[at.program];
    location(result, program.file, program.statements[at.statement].range)
}

/// The finding's related statements with their messages, then, for each of its statements
/// that runs inside a routine or trigger of another place, where that statement is written.
pub fn related_locations(result: &CheckResult, finding: &Finding) -> Vec<(Location, String)> {
    let mut related: Vec<(Location, String)> = finding
        .related
        .iter()
        .map(|(at, message)| (statement_location(result, *at), message.clone()))
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    for at in finding.statements() {
        let statement = &result.programs[at.program].statements[at.statement];
        if let Some(via) = &statement.via
            && seen.insert((via.file, via.range.start))
        {
            related.push((
                location(result, via.file, via.range),
                format!("runs inside {}, written here", via.routine),
            ));
        }
    }
    related
}

/// How many partners a finding points at one by one (SARIF related locations, editor
/// related information); the rest are counted in its message and listed in JSON.
pub const PARTNERS_SHOWN: usize = 10;

/// The first [`PARTNERS_SHOWN`] partners of a finding, each at its statement, with what it is.
pub fn partner_locations(result: &CheckResult, finding: &Finding) -> Vec<(Location, String)> {
    let count = finding.partners.len();
    finding
        .partners
        .iter()
        .take(PARTNERS_SHOWN)
        .map(|at| {
            (
                statement_location(result, *at),
                format!(
                    "`{}` meets the statement at fault too (one of {count} more partners)",
                    result.programs[at.program].name
                ),
            )
        })
        .collect()
}

/// "T1", "T2" labels with program names: `T1 withdraw`.
pub fn instance_label(result: &CheckResult, finding: &Finding, instance: usize) -> String {
    let program = finding.instances[instance];
    format!("T{} {}", instance + 1, result.programs[program].name)
}

/// The text of one witness step.
pub fn step_text(result: &CheckResult, finding: &Finding, instance: usize, step: Step) -> String {
    match step {
        Step::Statement(statement) => {
            let program = &result.programs[finding.instances[instance]];
            let text = program.statements[statement].text.clone();
            if program.step_ends.contains(&statement) {
                // `atomic = false`: the step commits on its own.
                format!("{text}; COMMIT")
            } else {
                text
            }
        }
        Step::Commit => "COMMIT".to_string(),
        Step::Rollback => "ROLLBACK".to_string(),
    }
}

/// Stable across line moves and reformatting: the rule, the programs' names and the
/// involved statements' whitespace-normalised text.
pub fn fingerprint(result: &CheckResult, finding: &Finding) -> String {
    let mut hasher = Fnv::default();
    hasher.write(finding.rule.id());
    for program in &finding.programs {
        hasher.write(&result.programs[*program].name);
    }
    for at in finding.statements() {
        hasher.write(
            &result.programs[at.program].statements[at.statement]
                .text
                .to_ascii_lowercase(),
        );
    }
    format!("{:016x}", hasher.0)
}

/// Character data for XML, HTML and SVG: markup characters become references, and characters
/// XML 1.0 forbids (most C0 controls, U+FFFE, U+FFFF) become U+FFFD, since no reference can
/// express them.
pub fn escape_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(character),
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => out.push('\u{fffd}'),
            _ => out.push(character),
        }
    }
    out
}

/// FNV-1a, 64 bits: stable across platforms and releases, unlike `DefaultHasher`.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn write(&mut self, text: &str) {
        for byte in text.bytes().chain(std::iter::once(0xff)) {
            self.0 ^= u64::from(byte);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// The one-line summary both formats end with.
pub fn summary_line(result: &CheckResult) -> String {
    let errors = result
        .findings
        .iter()
        .filter(|f| result.severity(f) == crate::rule::Severity::Error)
        .count();
    let warnings = result.findings.len() - errors;
    let kinds = ProgramCounts::of(result);
    let programs = if kinds.scripts == result.programs.len() {
        format!(
            "{} transaction{}",
            result.programs.len(),
            plural(result.programs.len())
        )
    } else {
        format!(
            "{} program{} ({} script{}, {} routine{}, {} quer{}, {} trigger{})",
            result.programs.len(),
            plural(result.programs.len()),
            kinds.scripts,
            plural(kinds.scripts),
            kinds.routines,
            plural(kinds.routines),
            kinds.queries,
            if kinds.queries == 1 { "y" } else { "ies" },
            kinds.triggers,
            plural(kinds.triggers),
        )
    };
    format!(
        "{} finding{} ({errors} error{}, {warnings} warning{}) in {programs}; {} of {} statement{} analysed, {} skipped as unparseable; {} file{}",
        result.findings.len(),
        plural(result.findings.len()),
        plural(errors),
        plural(warnings),
        result.statements - result.parse_errors,
        result.statements,
        plural(result.statements),
        result.parse_errors,
        result.files.len(),
        plural(result.files.len()),
    )
}

/// How many programs of each kind a check found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ProgramCounts {
    pub scripts: usize,
    pub routines: usize,
    pub queries: usize,
    pub triggers: usize,
}

impl ProgramCounts {
    pub fn of(result: &CheckResult) -> ProgramCounts {
        let mut counts = ProgramCounts::default();
        for program in &result.programs {
            *match program.kind {
                crate::program::ProgramKind::Script => &mut counts.scripts,
                crate::program::ProgramKind::Routine => &mut counts.routines,
                crate::program::ProgramKind::Query => &mut counts.queries,
                crate::program::ProgramKind::Trigger => &mut counts.triggers,
            } += 1;
        }
        counts
    }
}

pub(crate) fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}

/// The on-call write skew, shared by the format tests.
#[cfg(test)]
pub(crate) mod test_support {
    use crate::semantics::Engine;
    use crate::source::{Role, SourceFile};
    use crate::{CheckOptions, CheckResult, check_sources};

    const ONCALL_SCHEMA: &str = "CREATE TABLE oncall (shift_id int, doctor_id int, \
                                 on_call boolean, PRIMARY KEY (shift_id, doctor_id));\n";

    pub const LEAVE_SHIFT: &str = "-- name: leave_shift\n\
                               BEGIN;\n\
                               SELECT count(*) FROM oncall WHERE shift_id = $1 AND on_call;\n\
                               UPDATE oncall SET on_call = false WHERE shift_id = $1 AND doctor_id = $2;\n\
                               COMMIT;\n";

    /// Checks `transactions`, as `queries/leave_shift.sql`, against the on-call schema.
    pub fn check(transactions: &str) -> CheckResult {
        check_file("queries/leave_shift.sql", transactions)
    }

    /// A report that must be JSON, parsed.
    pub fn parse_json(text: &str) -> serde_json::Value {
        serde_json::from_str(text).expect("valid JSON")
    }

    /// Checks `transactions` (as the file `path`) against the on-call schema.
    pub fn check_file(path: &str, transactions: &str) -> CheckResult {
        let files = vec![
            SourceFile::new(
                "migrations/001_oncall.sql".into(),
                Role::Schema,
                ONCALL_SCHEMA.to_string(),
            ),
            SourceFile::new(path.into(), Role::Transactions, transactions.to_string()),
        ];
        check_sources(files, &CheckOptions::new(Engine::Postgres))
    }
}
