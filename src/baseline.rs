//! Baselines for adoption: record today's findings by fingerprint, then report only new ones.
//! Fingerprints hash the rule, the programs' names and the statements' normalised text
//! (`report::fingerprint`), so reformatting or moving a transaction keeps its findings known.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::CheckResult;
use crate::report::fingerprint;

#[derive(Serialize, Deserialize)]
struct BaselineFile {
    version: u32,
    findings: Vec<Entry>,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    fingerprint: String,
    rule: String,
    transactions: Vec<String>,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum BaselineError {
    #[error("cannot read baseline {path}: {source}")]
    #[diagnostic(
        code(isolint::baseline),
        help("create it with `isolint check --write-baseline {path}`")
    )]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("baseline {path} is not an isolint baseline: {message}")]
    #[diagnostic(
        code(isolint::baseline),
        help("regenerate it with `isolint check --write-baseline {path}`")
    )]
    Invalid { path: String, message: String },
    #[error("cannot write baseline {path}: {source}")]
    #[diagnostic(code(isolint::baseline))]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// The fingerprints recorded in a baseline file.
pub fn load(path: &Path) -> Result<BTreeSet<String>, BaselineError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| BaselineError::Read {
        path: shown.clone(),
        source,
    })?;
    let file: BaselineFile =
        serde_json::from_str(&text).map_err(|error| BaselineError::Invalid {
            path: shown.clone(),
            message: error.to_string(),
        })?;
    if file.version != 1 {
        return Err(BaselineError::Invalid {
            path: shown,
            message: format!("version {} is not supported", file.version),
        });
    }
    Ok(file
        .findings
        .into_iter()
        .map(|entry| entry.fingerprint)
        .collect())
}

/// Drops the findings a baseline already records; returns how many were dropped.
pub fn apply(result: &mut CheckResult, known: &BTreeSet<String>) -> usize {
    let before = result.findings.len();
    let keep: Vec<bool> = result
        .findings
        .iter()
        .map(|finding| !known.contains(&fingerprint(result, finding)))
        .collect();
    let mut keep = keep.into_iter();
    result.findings.retain(|_| keep.next().unwrap_or(true));
    before - result.findings.len()
}

/// Writes today's findings as a baseline (sorted, one entry per fingerprint).
pub fn write(result: &CheckResult, path: &PathBuf) -> Result<usize, BaselineError> {
    let mut findings: Vec<Entry> = result
        .findings
        .iter()
        .map(|finding| Entry {
            fingerprint: fingerprint(result, finding),
            rule: finding.rule.id().to_string(),
            transactions: finding
                .programs
                .iter()
                .map(|program| result.programs[*program].name.clone())
                .collect(),
        })
        .collect();
    findings.sort_by(|a, b| a.fingerprint.cmp(&b.fingerprint));
    findings.dedup_by(|a, b| a.fingerprint == b.fingerprint);
    let count = findings.len();
    let mut text = serde_json::to_string_pretty(&BaselineFile {
        version: 1,
        findings,
    })
    .unwrap_or_default();
    text.push('\n');
    std::fs::write(path, text).map_err(|source| BaselineError::Write {
        path: path.display().to_string(),
        source,
    })?;
    Ok(count)
}
