//! isolint: a static checker for SQL transactions.
//!
//! isolint reads a project's migrations (the schema) and its transaction scripts, works out
//! what each transaction reads, writes and locks, and reports the anomalies (lost update,
//! write skew, phantom write skew, snapshot-isolation dangerous structures, read skew, dirty
//! reads) that the declared isolation level of the declared engine lets through.
//!
//! The pipeline, one module per stage:
//!
//! ```text
//! discover → parse → catalog → program → access → analysis (conflicts, graph, rules) → report
//! ```
//!
//! ```
//! use isolint::{check_sources, CheckOptions, semantics::Engine, source::{Role, SourceFile}};
//!
//! let schema = SourceFile::new("migrations/1.sql".into(), Role::Schema,
//!     "CREATE TABLE accounts (id int PRIMARY KEY, balance int);".into());
//! let txns = SourceFile::new("withdraw.sql".into(), Role::Transactions,
//!     "BEGIN; SELECT balance FROM accounts WHERE id = $1;
//!      UPDATE accounts SET balance = $2 WHERE id = $1; COMMIT;".into());
//! let result = check_sources(vec![schema, txns], &CheckOptions::new(Engine::Postgres));
//! assert_eq!(result.findings[0].rule.id(), "lost-update");
//! ```

pub mod access;
pub mod advisor;
pub mod analysis;
pub mod baseline;
pub mod capture;
pub mod catalog;
pub mod cli;
pub mod compose;
pub mod config;
pub mod confirm;
pub mod discover;
pub mod edits;
pub mod lsp;
pub mod parse;
pub mod program;
pub mod progress;
pub mod report;
pub mod routine;
pub mod rule;
pub mod semantics;
pub mod set_statements;
pub mod settings;
pub mod source;
pub mod suggest;

/// Runs the stages in order, file by file where it can, and keeps what a next check can reuse.
mod check;

pub use check::{
    CheckCache, check_focused, check_sources, check_sources_cached, check_with_progress,
};

use std::collections::{BTreeMap, BTreeSet};

use analysis::finding::Finding;
use catalog::Catalog;
use program::Program;
use rule::{Rule, Severity};
use semantics::{Engine, Level, Semantics};
use source::{FileId, SourceFile, TextRange};

/// What to check and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckOptions {
    pub engine: Engine,
    /// The level for transactions that declare none (`--isolation` or config).
    pub isolation: Option<Level>,
    pub rules: BTreeSet<Rule>,
    /// Severities that replace a rule's documented one (from the config file).
    pub severities: BTreeMap<Rule, Severity>,
    /// Template variables for templated SQL (the config's `[variables]`).
    pub variables: parse::templates::Variables,
    /// Transactions composed from named queries (the config's `[[transaction]]`s).
    pub transactions: Vec<compose::Composition>,
    /// What callers pass for the parameters of named queries (the config's `[parameters]`).
    pub parameters: BTreeMap<String, access::extract::ParameterValues>,
    /// The engine's server settings (the config's `[engine]` table), which change what its
    /// levels do.
    pub engine_settings: semantics::EngineSettings,
}

impl CheckOptions {
    pub fn new(engine: Engine) -> Self {
        CheckOptions {
            engine,
            isolation: None,
            rules: Rule::ALL
                .into_iter()
                .filter(|rule| rule.enabled_by_default())
                .collect(),
            severities: BTreeMap::new(),
            variables: parse::templates::Variables::new(),
            transactions: Vec::new(),
            parameters: BTreeMap::new(),
            engine_settings: semantics::EngineSettings::new(),
        }
    }

    /// The engine table with the engine's settings applied.
    pub fn semantics(&self) -> &'static Semantics {
        Semantics::configured(&self.engine_settings)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DiagnosticKind {
    ParseError,
    Warning,
    UnusedIgnore,
    IoError,
    /// Part of the input was too large to analyse: the findings are incomplete.
    Limit,
    /// A routine runs dynamic SQL (`EXECUTE`) that cannot be analysed.
    UnanalysedDynamicSql,
}

impl DiagnosticKind {
    /// I/O errors and limits are errors; everything else the tool says about input is a
    /// warning.
    pub fn is_error(self) -> bool {
        matches!(self, DiagnosticKind::IoError | DiagnosticKind::Limit)
    }

    pub fn id(self) -> &'static str {
        match self {
            DiagnosticKind::ParseError => "parse-error",
            DiagnosticKind::Warning => "warning",
            DiagnosticKind::UnusedIgnore => "unused-ignore",
            DiagnosticKind::IoError => "io-error",
            DiagnosticKind::Limit => "limit",
            DiagnosticKind::UnanalysedDynamicSql => "unanalysed-dynamic-sql",
        }
    }
}

/// Something about the input that is not a finding: a statement that could not be parsed, a
/// directive naming an unknown rule, an unreadable file.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub kind: DiagnosticKind,
    pub file: Option<FileId>,
    pub range: TextRange,
    pub message: String,
}

/// Everything a report needs.
#[derive(Debug)]
pub struct CheckResult {
    pub engine: Engine,
    /// The engine table the result was computed with (the engine's settings applied).
    pub semantics: &'static Semantics,
    pub files: Vec<SourceFile>,
    pub programs: Vec<Program>,
    pub catalog: Catalog,
    pub findings: Vec<Finding>,
    pub diagnostics: Vec<Diagnostic>,
    pub statements: usize,
    pub parse_errors: usize,
    pub severities: BTreeMap<Rule, Severity>,
    /// What `isolint confirm` saw on a real database, by index into `findings`.
    pub confirmations: BTreeMap<usize, confirm::Confirmation>,
    /// `[[transaction]]` steps that name no query: a mistake in the config, which the CLI
    /// reports as one.
    pub unknown_steps: Vec<compose::UnknownStep>,
    /// The template variables the files were read with (the config's `[variables]`).
    pub variables: parse::templates::Variables,
}

impl CheckResult {
    /// Keeps only the findings with a statement (or a partner's) in one of `files`, and the
    /// diagnostics of those files: checking a few files with the whole project as context.
    pub fn retain_involving(&mut self, files: &BTreeSet<FileId>) {
        let programs = &self.programs;
        self.findings.retain(|finding| {
            finding
                .statements()
                .chain(finding.partners.iter().copied())
                .any(|at| files.contains(&programs[at.program].file))
        });
        self.diagnostics
            .retain(|diagnostic| diagnostic.file.is_none_or(|file| files.contains(&file)));
    }

    /// The engine settings `program`'s own SQL chose (TiDB's `BEGIN PESSIMISTIC`) where they
    /// differ from the run's, as the engine writes them (`tidb_txn_mode = 'pessimistic'`).
    pub fn own_settings(&self, program: &Program) -> Vec<String> {
        program
            .semantics
            .map(|own| own.differences(self.engine, self.semantics))
            .unwrap_or_default()
    }

    /// The severity a finding is reported with: the config's for its rule, else the
    /// finding's own where it is less severe than its rule's, else the rule's.
    pub fn severity(&self, finding: &Finding) -> Severity {
        self.severities
            .get(&finding.rule)
            .copied()
            .or(finding.severity)
            .unwrap_or_else(|| finding.rule.severity())
    }
}

/// The statement on one line, whitespace collapsed.
pub fn one_line(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ")
}
