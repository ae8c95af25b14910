//! Text edits for the mechanical fixes the analysis proposes (lock the read, raise the
//! isolation level, assign in place), in bytes of the checked files: the language server offers
//! them as quick fixes, and the JSON output lists them under each fix.

use std::collections::BTreeSet;

use crate::CheckResult;
use crate::access::{Access, AccessKind, SetValue, Term};
use crate::analysis::finding::{Finding, FixEdit, StatementRef};
use crate::semantics::{Engine, Level};
use crate::source::{FileId, TextRange};

/// One text edit, in bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub file: FileId,
    pub range: TextRange,
    pub text: String,
}

/// The file and range of a program's statement.
pub fn statement_range(result: &CheckResult, at: StatementRef) -> (FileId, TextRange) {
    let program = &result.programs[at.program];
    (program.file, program.statements[at.statement].range)
}

/// The edits of the fix's first choice (the strongest lock clause, say) that applies to the
/// text as written; none when the fix is not mechanical or the text is not of the expected
/// shape. What the reports list under a fix.
pub fn first_choice(
    result: &CheckResult,
    finding: &Finding,
    fix: &crate::analysis::finding::Fix,
) -> Vec<Edit> {
    let Some(edit) = &fix.edit else {
        return Vec::new();
    };
    fix_edits(result, finding, edit)
        .into_iter()
        .map(|(_, edits, _)| edits)
        .find(|edits| !edits.is_empty())
        .unwrap_or_default()
}

/// The edits of one mechanical fix, each with its title and whether it may be the preferred
/// action (the fix's first choice, keeping the transaction's meaning). An empty list of edits means the text does not have the expected shape.
pub fn fix_edits(
    result: &CheckResult,
    finding: &Finding,
    edit: &FixEdit,
) -> Vec<(String, Vec<Edit>, bool)> {
    match edit {
        FixEdit::LockRead {
            read,
            clauses,
            in_every_program,
        } => {
            let targets = lock_targets(result, finding, read, *in_every_program);
            clauses
                .iter()
                .enumerate()
                .map(|(index, clause)| {
                    let names = names(result, targets.iter().map(|at| at.program));
                    let edits = targets
                        .iter()
                        .filter_map(|at| append_to_statement(result, *at, clause))
                        .collect::<Vec<_>>();
                    let edits = if edits.len() == targets.len() {
                        edits
                    } else {
                        Vec::new()
                    };
                    (
                        format!("Add `{clause}` to the read of `{}` in {names}", read.table),
                        edits,
                        index == 0,
                    )
                })
                .collect()
        }
        FixEdit::SetIsolation(level) => {
            let programs: BTreeSet<usize> = finding
                .programs
                .iter()
                .copied()
                .filter(|program| result.programs[*program].level < *level)
                .collect();
            let edits: Option<Vec<Edit>> = programs
                .iter()
                .map(|program| declare_level(result, *program, *level))
                .collect();
            let title = format!(
                "Run {} at {} (retry on serialization failure)",
                names(result, programs.iter().copied()),
                level.sql()
            );
            vec![(title, edits.unwrap_or_default(), true)]
        }
        FixEdit::InPlaceUpdate { table, column } => in_place(result, finding, table, column)
            .map(|(parameter, edit)| {
                let title = format!(
                    "Assign `{column}` in place: `{column} = {column} + {parameter}` \
                     ({parameter} becomes the change, not the new value)"
                );
                vec![(title, vec![edit], false)]
            })
            .unwrap_or_default(),
    }
}

fn names(result: &CheckResult, programs: impl Iterator<Item = usize>) -> String {
    let names: BTreeSet<String> = programs
        .map(|program| format!("`{}`", result.programs[program].name))
        .collect();
    names.into_iter().collect::<Vec<_>>().join(" and ")
}

fn unlocked_read_of(access: &Access, table: &str) -> bool {
    access.table == table
        && matches!(
            access.kind,
            AccessKind::Read {
                lock: None,
                aggregate: false,
                ..
            }
        )
}

/// The statement holding `read`, and with `in_every_program` the first unlocked read of its
/// table among the finding's statements in each other program.
fn lock_targets(
    result: &CheckResult,
    finding: &Finding,
    read: &Access,
    in_every_program: bool,
) -> Vec<StatementRef> {
    let statements: BTreeSet<StatementRef> = finding.statements().collect();
    let accesses =
        |at: &StatementRef| &result.programs[at.program].statements[at.statement].accesses;
    let mut targets: Vec<StatementRef> = statements
        .iter()
        .filter(|at| accesses(at).contains(read))
        .take(1)
        .copied()
        .collect();
    if in_every_program {
        for program in &finding.programs {
            if targets.iter().any(|at| at.program == *program) {
                continue;
            }
            targets.extend(
                statements
                    .iter()
                    .filter(|at| at.program == *program)
                    .find(|at| {
                        accesses(at)
                            .iter()
                            .any(|access| unlocked_read_of(access, &read.table))
                    }),
            );
        }
    }
    targets
}

/// ` FOR UPDATE` at the end of a `SELECT`, before its semicolon.
fn append_to_statement(result: &CheckResult, at: StatementRef, clause: &str) -> Option<Edit> {
    let (file, range) = statement_range(result, at);
    let text = result.files[file].slice(range);
    if !starts_with_word(text, "select") {
        return None;
    }
    let body = text.trim_end().trim_end_matches(';').trim_end();
    let end = range.start + body.len();
    Some(Edit {
        file,
        range: TextRange::new(end, end),
        text: format!(" {clause}"),
    })
}

/// Declares `level` for a program: on its `BEGIN` / `START TRANSACTION` on PostgreSQL and
/// CockroachDB, else with `SET TRANSACTION ISOLATION LEVEL` just before it (MySQL, MariaDB and
/// SQL Server take no level on `START TRANSACTION` / `BEGIN TRAN`; Oracle has no `BEGIN`).
fn declare_level(result: &CheckResult, program: usize, level: Level) -> Option<Edit> {
    let program = &result.programs[program];
    let source = &result.files[program.file];
    let text = source.slice(program.range);
    let is_begin = starts_with_word(text, "begin") || starts_with_word(text, "start");
    if result.engine.is_postgres_family() {
        if !is_begin {
            return None;
        }
        let lowered = text.to_ascii_lowercase();
        if let Some(at) = lowered.find("isolation level") {
            let after = at + "isolation level".len();
            let rest = &lowered[after..];
            let spaces = rest.len() - rest.trim_start().len();
            let declared = Level::ALL
                .iter()
                .map(|level| level.sql().to_ascii_lowercase())
                .filter(|name| rest.trim_start().starts_with(name.as_str()))
                .max_by_key(String::len)?;
            let start = program.range.start + after + spaces;
            return Some(Edit {
                file: program.file,
                range: TextRange::new(start, start + declared.len()),
                text: level.sql().to_string(),
            });
        }
        // After `BEGIN`, `BEGIN TRANSACTION`, `BEGIN WORK` or `START TRANSACTION`.
        let words: Vec<(usize, &str)> = words(text).take(2).collect();
        let last = match words.as_slice() {
            [first, (at, second)]
                if ["transaction", "work"].contains(&second.to_ascii_lowercase().as_str())
                    || first.1.eq_ignore_ascii_case("start") =>
            {
                at + second.len()
            }
            [(at, first), ..] => at + first.len(),
            [] => return None,
        };
        let end = program.range.start + last;
        return Some(Edit {
            file: program.file,
            range: TextRange::new(end, end),
            text: format!(" ISOLATION LEVEL {}", level.sql()),
        });
    }
    if result.engine == Engine::Sqlite
        || program.level_source == crate::program::LevelSource::Declared
    {
        return None;
    }
    let (_, line_start) = source.line_index.line_start_of(program.range.start);
    let indent = &source.text[line_start..program.range.start];
    Some(Edit {
        file: program.file,
        range: TextRange::new(program.range.start, program.range.start),
        text: format!("SET TRANSACTION ISOLATION LEVEL {};\n{indent}", level.sql()),
    })
}

/// `SET c = $2` → `SET c = c + $2` in the finding's UPDATE of `table` that assigns `column` a
/// named parameter.
fn in_place(
    result: &CheckResult,
    finding: &Finding,
    table: &str,
    column: &str,
) -> Option<(String, Edit)> {
    finding.statements().find_map(|at| {
        let statement = &result.programs[at.program].statements[at.statement];
        let parameter = statement
            .accesses
            .iter()
            .find_map(|access| match &access.kind {
                AccessKind::Update { set, .. } if access.table == table => match set.get(column) {
                    Some(SetValue::Term(Term::Param(name))) if !name.starts_with('?') => {
                        Some(name.clone())
                    }
                    _ => None,
                },
                _ => None,
            })?;
        let (file, range) = statement_range(result, at);
        let text = result.files[file].slice(range);
        // The assignment: `column`, `=`, the parameter, as consecutive words.
        let tokens: Vec<(usize, &str)> = words(text).collect();
        let found = tokens.windows(3).find(|window| {
            window[0].1.eq_ignore_ascii_case(column)
                && window[1].1 == "="
                && window[2].1.trim_end_matches(',') == parameter
        })?;
        let start = range.start + found[2].0;
        Some((
            parameter.clone(),
            Edit {
                file,
                range: TextRange::new(start, start),
                text: format!("{column} + "),
            },
        ))
    })
}

fn starts_with_word(text: &str, word: &str) -> bool {
    words(text)
        .next()
        .is_some_and(|(_, first)| first.eq_ignore_ascii_case(word))
}

/// Whitespace-separated words with their byte offsets; `=` stands alone.
fn words(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut pieces = Vec::new();
    let mut start = None;
    for (index, character) in text.char_indices() {
        let separate = character.is_whitespace() || character == '=' || character == ';';
        match (start, separate) {
            (None, false) => start = Some(index),
            (Some(from), true) => {
                pieces.push((from, &text[from..index]));
                start = None;
            }
            _ => {}
        }
        if character == '=' {
            pieces.push((index, "="));
        }
    }
    if let Some(from) = start {
        pieces.push((from, &text[from..]));
    }
    pieces.into_iter()
}

/// `comment` on its own line above the line holding `offset`, with that line's indentation.
pub fn line_above(result: &CheckResult, file: FileId, offset: usize, comment: &str) -> Edit {
    let source = &result.files[file];
    let (_, line_start) = source.line_index.line_start_of(offset);
    let indent: String = source.text[line_start..offset]
        .chars()
        .take_while(|character| character.is_whitespace())
        .collect();
    Edit {
        file,
        range: TextRange::new(line_start, line_start),
        text: format!("{indent}{comment}\n"),
    }
}
