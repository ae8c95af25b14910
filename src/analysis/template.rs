//! Templates: what the rules read of a program, written out without its parameters' names,
//! so that programs alike up to those names can be told alike ([`super::shapes`] builds its
//! keys from them). Each access is written out in full, its parameters renamed in order of
//! appearance (so `$1` and `$7` are alike when each is the first parameter seen), literals
//! kept. Names, files, positions and SQL text are left out: they only change what a finding
//! says, and a finding that is shown is built again from its own pair.
//!
//! Architecture Invariant: a template is exact, never an approximation. A program whose
//! findings could depend on something a template leaves out (an ignore directive, which
//! silences findings by where it stands; routine code, with its branches and guards;
//! examples; an engine table of its own) is its own ([`is_its_own`]) and is never grouped with
//! another.

use crate::access::Access;
use crate::program::{Program, ProgramKind};

/// A program whose findings could depend on more than its template. A statement's calls are
/// not among these: the analysis never reads them (a call of a routine the project defines
/// brings the routine's statements in, each with its `via`), and a call of a built-in
/// function (`count(*)`) changes nothing.
pub(super) fn is_its_own(program: &Program) -> bool {
    !matches!(program.kind, ProgramKind::Script | ProgramKind::Query)
        || !program.ignores.is_empty()
        || !program.examples.is_empty()
        // An engine table of its own (TiDB's `BEGIN OPTIMISTIC`).
        || program.semantics.is_some()
        || program.statements.iter().any(|statement| {
            !statement.ignores.is_empty()
                || !statement.arms.is_empty()
                || !statement.guards.is_empty()
                || statement.via.is_some()
                || !statement.certain
                || statement.returns_if_found
        })
}

/// `access` written out with every parameter's name replaced by `?`, and the names in the
/// order they were replaced. The written form is the access's `Debug`, so that any part of an
/// access that holds a parameter, now or later, is renamed alike.
pub(super) fn parameterless(access: &Access) -> (String, Vec<String>) {
    const OPEN: &str = "Param(\"";
    let written = format!("{access:?}");
    let mut template = String::with_capacity(written.len());
    let mut names = Vec::new();
    let mut rest = written.as_str();
    while let Some(at) = rest.find(OPEN) {
        template.push_str(&rest[..at + OPEN.len()]);
        rest = &rest[at + OPEN.len()..];
        // The name runs to the first quote that no backslash escapes.
        let mut end = rest.len();
        let mut escaped = false;
        for (offset, character) in rest.char_indices() {
            match character {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => {
                    end = offset;
                    break;
                }
                _ => escaped = false,
            }
        }
        names.push(rest[..end].to_string());
        template.push('?');
        rest = &rest[end..];
    }
    template.push_str(rest);
    (template, names)
}
