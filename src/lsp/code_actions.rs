//! Quick fixes: the mechanical fixes the analysis proposes (lock the read, raise the isolation
//! level, assign in place) as workspace edits, and ignore directives for the transaction or the
//! file.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use lsp_types::{CodeAction, CodeActionKind, TextEdit, Uri, WorkspaceEdit};

use super::diagnostics::anchors;
use super::position::Encoding;
use super::workspace::path_to_uri;
use crate::CheckResult;
use crate::edits::{Edit, fix_edits, line_above, statement_range};
use crate::source::{FileId, TextRange};

/// The actions for the findings shown in `file` at a statement overlapping `range`.
pub fn code_actions(
    result: &CheckResult,
    root: &Path,
    file: FileId,
    range: TextRange,
    encoding: Encoding,
) -> Vec<CodeAction> {
    let mut actions: Vec<CodeAction> = Vec::new();
    let build = |title: String, edits: Vec<Edit>, preferred: bool| {
        // lsp-types keys `WorkspaceEdit::changes` by `Uri`, whose cached parts clippy sees as
        // interior mutability; nothing mutates a key here.
        #[allow(clippy::mutable_key_type)]
        let mut changes: HashMap<Uri, Vec<TextEdit>> = HashMap::new();
        for edit in edits {
            let source = &result.files[edit.file];
            changes
                .entry(path_to_uri(&root.join(&source.path)))
                .or_default()
                .push(TextEdit::new(encoding.range(source, edit.range), edit.text));
        }
        CodeAction {
            title,
            kind: Some(CodeActionKind::QUICKFIX),
            edit: Some(WorkspaceEdit::new(changes)),
            is_preferred: preferred.then_some(true),
            ..CodeAction::default()
        }
    };
    for finding in &result.findings {
        let Some(anchor) = anchors(result, finding)
            .into_iter()
            .find(|(anchor_file, at)| {
                *anchor_file == file && overlaps(statement_range(result, *at).1, range)
            })
            .map(|(_, at)| at)
        else {
            continue;
        };
        // The first fix the analysis lists that keeps the transaction's meaning is the one to
        // apply; assigning in place changes what the parameter means.
        let mut preferred_given = false;
        for edit in finding.fixes.iter().filter_map(|fix| fix.edit.as_ref()) {
            for (title, edits, first_choice) in fix_edits(result, finding, edit) {
                if edits.is_empty() {
                    continue;
                }
                let preferred = first_choice && !preferred_given;
                preferred_given |= preferred;
                actions.push(build(title, edits, preferred));
            }
        }
        let rule = finding.rule.id();
        let program = &result.programs[anchor.program];
        actions.push(build(
            format!("Ignore {rule} for transaction `{}`", program.name),
            vec![line_above(
                result,
                file,
                program.range.start,
                &format!("-- isolint: ignore {rule}"),
            )],
            false,
        ));
        actions.push(build(
            format!("Ignore {rule} for this file"),
            vec![Edit {
                file,
                range: TextRange::new(0, 0),
                text: format!("-- isolint: ignore-file {rule}\n"),
            }],
            false,
        ));
    }
    let mut seen = BTreeSet::new();
    actions.retain(|action| seen.insert(action.title.clone()));
    actions
}

fn overlaps(statement: TextRange, wanted: TextRange) -> bool {
    statement.start <= wanted.end && wanted.start <= statement.end
}
