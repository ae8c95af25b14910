//! Program templates: programs that are instances of one template (the same statements up to
//! the names of their parameters; literals kept) give every other program the same findings
//! and the same graph edges, up to their index and their parameters' names. The rules are run
//! on one instance and the outcome stands for the others: a query repeated in many files, or
//! an ORM's statement in many places, is decided once per program it meets.
//!
//! A template keeps what the rules read of a program: its level and kind, and each statement's
//! accesses (parameters renamed in order of appearance, so `$1` and `$7` are alike when each is
//! the first parameter seen) and whether it takes the snapshot. Names, files, positions and
//! SQL text are left out: they only change what a finding says, and a finding that is shown is
//! built again from its own pair.
//!
//! Architecture Invariant: a template is exact, never an approximation. A program whose
//! findings could depend on something a template leaves out (an ignore directive, which
//! silences findings by where it stands; routine code, with its branches, guards and calls;
//! examples) is a template of its own.

use std::collections::HashMap;

use crate::access::Access;
use crate::program::{Program, ProgramKind};

/// The template of every program, and the names of its parameters in the template's order.
pub struct Templates {
    /// Programs of one template share its id; `None` for a program that is its own.
    template: Vec<Option<u32>>,
    /// Each program's parameters, in the order its template numbers them.
    parameters: Vec<Vec<String>>,
}

impl Templates {
    pub fn new(programs: &[Program]) -> Templates {
        let mut accesses: HashMap<String, u32> = HashMap::new();
        let mut templates: HashMap<Vec<u32>, u32> = HashMap::new();
        let mut template = Vec::with_capacity(programs.len());
        let mut parameters = Vec::with_capacity(programs.len());
        for program in programs {
            let (key, names) = written_out(program, &mut accesses);
            // A name with an escape in it is not the name itself.
            let own = is_its_own(program) || names.iter().any(|name| name.contains('\\'));
            template.push((!own).then(|| {
                let next = u32::try_from(templates.len()).unwrap_or(u32::MAX);
                *templates.entry(key).or_insert(next)
            }));
            parameters.push(names);
        }
        Templates {
            template,
            parameters,
        }
    }

    /// The template of `program`; `None` when it is its own.
    pub fn of(&self, program: usize) -> Option<u32> {
        self.template[program]
    }

    /// `program`'s parameters in its template's order: the i-th of one instance stands where
    /// the i-th of another does.
    pub fn parameters(&self, program: usize) -> &[String] {
        &self.parameters[program]
    }
}

/// A program whose findings could depend on more than its template.
fn is_its_own(program: &Program) -> bool {
    !matches!(program.kind, ProgramKind::Script | ProgramKind::Query)
        || !program.ignores.is_empty()
        || !program.examples.is_empty()
        // An engine table of its own (TiDB's `BEGIN OPTIMISTIC`).
        || program.semantics.is_some()
        || program.statements.iter().any(|statement| {
            !statement.ignores.is_empty()
                || !statement.arms.is_empty()
                || !statement.guards.is_empty()
                || !statement.calls.is_empty()
                || statement.via.is_some()
                || !statement.certain
                || statement.returns_if_found
        })
}

/// Marks the start of a statement in a key; no interned id reaches it.
const STATEMENT: u32 = u32::MAX;

/// `program`'s template key (its accesses, interned in `accesses` without their parameters'
/// names, each followed by the canonical number of each parameter it names) and its
/// parameters' names in canonical order.
fn written_out(program: &Program, accesses: &mut HashMap<String, u32>) -> (Vec<u32>, Vec<String>) {
    let attributes = format!("program {:?} {:?}", program.level, program.kind);
    let next = u32::try_from(accesses.len()).unwrap_or(u32::MAX);
    let mut key = vec![*accesses.entry(attributes).or_insert(next)];
    let mut names: Vec<String> = Vec::new();
    for statement in &program.statements {
        key.push(STATEMENT);
        key.push(u32::from(statement.takes_snapshot));
        for access in &statement.accesses {
            let (template, named) = parameterless(access);
            let next = u32::try_from(accesses.len()).unwrap_or(u32::MAX);
            key.push(*accesses.entry(template).or_insert(next));
            for name in named {
                let number = match names.iter().position(|known| *known == name) {
                    Some(number) => number,
                    None => {
                        names.push(name);
                        names.len() - 1
                    }
                };
                key.push(u32::try_from(number).unwrap_or(u32::MAX));
            }
        }
    }
    (key, names)
}

/// `access` written out with every parameter's name replaced by `?`, and the names in the
/// order they were replaced. The written form is the access's `Debug`, so that any part of an
/// access that holds a parameter, now or later, is renamed alike.
fn parameterless(access: &Access) -> (String, Vec<String>) {
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

#[cfg(test)]
mod tests {
    use crate::semantics::Engine;

    const ACCOUNTS: &str = "CREATE TABLE accounts (id int PRIMARY KEY, balance int);";

    fn templates(transactions: &str) -> Vec<Option<u32>> {
        let (result, _) = crate::analysis::testing::check(
            Engine::Postgres,
            &[],
            None,
            ACCOUNTS,
            transactions,
            &[],
        );
        let templates = super::Templates::new(&result.programs);
        (0..result.programs.len())
            .map(|program| templates.of(program))
            .collect()
    }

    #[test]
    fn programs_alike_up_to_parameter_names_share_a_template() {
        let found = templates(
            "BEGIN; SELECT balance FROM accounts WHERE id = $1;
             UPDATE accounts SET balance = $2 WHERE id = $1; COMMIT;
             BEGIN; SELECT balance FROM accounts WHERE id = $4;
             UPDATE accounts SET balance = $3 WHERE id = $4; COMMIT;
             BEGIN; SELECT balance FROM accounts WHERE id = $1;
             UPDATE accounts SET balance = $2 WHERE id = $2; COMMIT;
             BEGIN; SELECT balance FROM accounts WHERE id = 7;
             UPDATE accounts SET balance = $2 WHERE id = 7; COMMIT;",
        );
        assert_eq!(found[0], found[1]);
        assert_ne!(
            found[0], found[2],
            "a parameter used twice is another template"
        );
        assert_ne!(found[0], found[3], "literals are kept");
    }

    #[test]
    fn a_program_with_an_ignore_is_its_own_template() {
        let found = templates(
            "UPDATE accounts SET balance = balance + 1 WHERE id = $1;
             -- isolint: ignore lost-update
             UPDATE accounts SET balance = balance + 1 WHERE id = $1;",
        );
        assert_eq!(found[1], None);
    }
}
