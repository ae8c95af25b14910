//! Hover: on a transaction's `BEGIN` (its first statement) or its `-- name:` line, what the
//! transaction reads, writes and locks and whom it conflicts with; on a rule id in an ignore
//! directive, the rule's page.

use std::collections::BTreeSet;

use crate::CheckResult;
use crate::access::{Access, AccessKind, Columns, LockTarget};
use crate::analysis::{Context, Pair, PairIndex, PartnerScratch};
use crate::parse::LockStrength;
use crate::parse::directives::{Directive, parse_comment};
use crate::program::{LevelSource, Program};
use crate::rule::Rule;
use crate::source::FileId;

/// The Markdown shown at `offset` of `file`, if there is anything to say there.
pub fn hover(result: &CheckResult, file: FileId, offset: usize) -> Option<String> {
    let source = &result.files[file];
    let (_, line_start) = source
        .line_index
        .line_start_of(offset.min(source.text.len()));
    let line_end = source.text[line_start..]
        .find('\n')
        .map_or(source.text.len(), |end| line_start + end);
    let line = &source.text[line_start..line_end];
    let comment = line.find("--").map(|at| &line[at..]);
    match comment.and_then(parse_comment) {
        Some(Directive::Ignore(_) | Directive::IgnoreFile(_)) => {
            let rule = Rule::from_id(word_at(line, offset - line_start))?;
            return Some(rule.doc().body.trim_end().to_string());
        }
        Some(Directive::Name(name)) => {
            let program = result.programs.iter().position(|program| {
                program.file == file && program.name == name && program.range.start >= line_end
            })?;
            return Some(summary(result, program));
        }
        _ => {}
    }
    let program = result.programs.iter().position(|program| {
        program.file == file && program.range.start <= offset && offset <= program.range.end
    })?;
    Some(summary(result, program))
}

/// The rule-id-like word (letters and `-`) around a byte column of `line`.
fn word_at(line: &str, column: usize) -> &str {
    let is_word = |character: char| character.is_ascii_alphanumeric() || character == '-';
    let column = column.min(line.len());
    let start = line[..column]
        .rfind(|character: char| !is_word(character))
        .map_or(0, |at| at + 1);
    let end = line[column..]
        .find(|character: char| !is_word(character))
        .map_or(line.len(), |at| column + at);
    &line[start..end]
}

fn summary(result: &CheckResult, index: usize) -> String {
    let semantics = result.semantics;
    let program = &result.programs[index];
    let source = match program.level_source {
        LevelSource::Declared => "declared",
        LevelSource::Configured => "configured",
        LevelSource::EngineDefault => "engine default",
        LevelSource::StableFunction => "a STABLE function reads on one snapshot",
    };
    // The settings the transaction chose itself (TiDB's `BEGIN PESSIMISTIC`).
    let own = result.own_settings(program);
    let own = if own.is_empty() {
        String::new()
    } else {
        format!(" with {}", own.join(", "))
    };
    let mut out = format!(
        "**transaction `{}`** — {} ({source}) on {}{own}\n",
        program.name,
        program.level.sql(),
        semantics.display(result.engine)
    );
    let (reads, writes, locks) = accesses(program);
    for (heading, items) in [("reads", reads), ("writes", writes), ("locks", locks)] {
        if !items.is_empty() {
            out.push_str(&format!("\n{heading}:\n"));
            for item in items {
                out.push_str(&format!("- {item}\n"));
            }
        }
    }
    let conflicts = conflicts(result, index);
    if !conflicts.is_empty() {
        out.push_str("\nconflicts with:\n");
        for line in conflicts {
            out.push_str(&format!("- {line}\n"));
        }
    }
    out
}

/// What a program reads, writes and locks, one line per table and row set, without repeats.
fn accesses(program: &Program) -> (BTreeSet<String>, BTreeSet<String>, BTreeSet<String>) {
    let (mut reads, mut writes, mut locks) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    let every = program
        .statements
        .iter()
        .flat_map(|statement| &statement.accesses);
    for access in every {
        let rows = access.rows.describe();
        match &access.kind {
            AccessKind::Read {
                value,
                predicate,
                lock,
                ..
            } => {
                let mut columns: BTreeSet<String> = predicate.clone();
                if let Columns::Some(set) = value {
                    columns.extend(set.iter().cloned());
                }
                let shown = match value {
                    Columns::All => "*".to_string(),
                    Columns::Some(_) => columns.into_iter().collect::<Vec<_>>().join(", "),
                };
                reads.insert(format!("`{}` ({shown}) — {rows}", access.table));
                if let Some(lock) = lock {
                    let strength = match lock.strength {
                        LockStrength::KeyShare => "key share",
                        LockStrength::Share => "share",
                        LockStrength::NoKeyUpdate => "no key update",
                        LockStrength::Update => "update",
                    };
                    locks.insert(format!("`{}` ({strength}) — {rows}", access.table));
                }
            }
            AccessKind::Update { set, .. } => {
                writes.insert(format!(
                    "`{}` ({}) — {rows}",
                    access.table,
                    listed(set.keys())
                ));
            }
            AccessKind::Delete { .. } => {
                writes.insert(format!("`{}` (delete) — {rows}", access.table));
            }
            AccessKind::Insert { columns, .. } => {
                writes.insert(format!(
                    "`{}` (insert {}) — {rows}",
                    access.table,
                    listed(columns)
                ));
            }
            AccessKind::Lock(target) => {
                locks.insert(lock_target(access, target));
            }
        }
    }
    (reads, writes, locks)
}

fn listed<'a>(columns: impl IntoIterator<Item = &'a String>) -> String {
    columns
        .into_iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

fn lock_target(access: &Access, target: &LockTarget) -> String {
    match target {
        LockTarget::Table => format!("table `{}`", access.table),
        LockTarget::Advisory(keys) => {
            let keys: Vec<String> = keys
                .iter()
                .map(|key| key.as_ref().map_or("?".to_string(), |term| term.render()))
                .collect();
            format!("advisory lock ({})", keys.join(", "))
        }
    }
}

/// The programs that read what this one writes or write what it reads, with the findings
/// they share.
fn conflicts(result: &CheckResult, index: usize) -> Vec<String> {
    let context = Context {
        programs: &result.programs,
        catalog: &result.catalog,
        semantics: result.semantics,
        engine: result.engine,
    };
    let mut lines = Vec::new();
    let pairs = PairIndex::new(&result.programs);
    for other in pairs.partners(index, &mut PartnerScratch::default()) {
        let pair = Pair::new(&context, index.min(other), index.max(other));
        if pair.forward.is_empty() && pair.backward.is_empty() {
            continue;
        }
        let rules: BTreeSet<&str> = result
            .findings
            .iter()
            .filter(|finding| {
                finding.programs.contains(&index) && finding.programs.contains(&other)
            })
            .filter(|finding| other != index || finding.programs.len() == 1)
            .map(|finding| finding.rule.id())
            .collect();
        let who = if other == index {
            "another instance of itself".to_string()
        } else {
            format!("`{}`", result.programs[other].name)
        };
        let rules = if rules.is_empty() {
            String::new()
        } else {
            format!(": {}", rules.into_iter().collect::<Vec<_>>().join(", "))
        };
        lines.push(format!("{who}{rules}"));
    }
    lines
}
