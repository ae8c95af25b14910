//! Warnings about what tells isolint how to check rather than about the SQL: isolint directives
//! it cannot read, `[parameters]` of the config that bind nothing, and ignores that silence
//! nothing (`unused-ignore`).

use std::collections::{BTreeMap, BTreeSet};

use crate::access;
use crate::parse::ParsedFile;
use crate::parse::directives::Directive;
use crate::program::{Program, ProgramKind};
use crate::rule::Rule;
use crate::semantics::Level;
use crate::source::{FileId, TextRange};
use crate::{Diagnostic, DiagnosticKind};

/// Directives that name rules isolint does not have, or that it cannot read.
/// Warnings about directives; their file is filled in by the caller.
pub(super) fn directive_warnings(parsed: &ParsedFile) -> Vec<Diagnostic> {
    let mut warnings = Vec::new();
    for directive in &parsed.file_directives {
        let unknown_rules: Vec<&String> = match &directive.value {
            Directive::Ignore(rules) | Directive::IgnoreFile(rules) => rules
                .iter()
                .filter(|rule| Rule::from_id(rule).is_none())
                .collect(),
            _ => vec![],
        };
        let message = match &directive.value {
            _ if !unknown_rules.is_empty() => Some(format!(
                "unknown rule {} in isolint directive; `isolint rules` lists the rules",
                unknown_rules
                    .iter()
                    .map(|rule| format!("`{rule}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Directive::Isolation(level) if Level::parse(level).is_none() => Some(format!(
                "unknown isolation level `{level}` in isolint directive"
            )),
            Directive::Unknown(text) => Some(format!(
                "unknown isolint directive `{text}`; use `ignore`, `ignore-file`, `isolation` or \
                 `example NAME=VALUE ...`"
            )),
            _ => None,
        };
        if let Some(message) = message {
            warnings.push(Diagnostic {
                kind: DiagnosticKind::Warning,
                file: None,
                range: directive.range,
                message,
            });
        }
    }
    warnings
}

/// Warnings for the config's `[parameters]` that name no query, or a parameter the query
/// does not have: their values would change nothing, and nothing is to be silently skipped.
pub(super) fn unused_parameter_values(
    programs: &[Program],
    parameters: &BTreeMap<String, access::extract::ParameterValues>,
) -> Vec<Diagnostic> {
    let warning = |message: String| Diagnostic {
        kind: DiagnosticKind::Warning,
        file: None,
        range: TextRange::default(),
        message,
    };
    let mut warnings = Vec::new();
    for (query, values) in parameters {
        // The values are bound in named statements; a routine's arguments come from its callers.
        let named: Vec<&Program> = programs
            .iter()
            .filter(|program| {
                program.name == *query
                    && matches!(program.kind, ProgramKind::Query | ProgramKind::Script)
            })
            .collect();
        if named.is_empty() {
            warnings.push(warning(format!(
                "isolint.toml: `[parameters.{query}]` names no query (a routine's arguments \
                 come from its calls); its values are not used"
            )));
            continue;
        }
        for name in values.keys() {
            let used = named.iter().any(|program| {
                program
                    .statements
                    .iter()
                    .any(|statement| mentions_parameter(&statement.text, name))
            });
            if !used {
                warnings.push(warning(format!(
                    "isolint.toml: `[parameters.{query}]` names `{name}`, which `{query}` does \
                     not take; its values are not used"
                )));
            }
        }
    }
    warnings
}

/// Whether `sql` writes the parameter `name` in one of the forms query files use (`%(name)s`,
/// `:name`, `@name`, `$name`, `sqlc.arg(name)`).
fn mentions_parameter(sql: &str, name: &str) -> bool {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    ["%(", ":", "@", "$", "arg(", "arg('"].iter().any(|sigil| {
        let needle = format!("{sigil}{name}");
        sql.match_indices(&needle).any(|(at, _)| {
            let before = sql[..at].chars().next_back();
            let after = sql[at + needle.len()..].chars().next();
            !before.is_some_and(|c| *sigil == ":" && c == ':') && !after.is_some_and(word)
        })
    })
}

/// `unused-ignore` warnings: ignore directives for enabled rules that silenced nothing, and
/// directives naming rules that do not exist.
pub(super) fn unused_ignores(
    programs: &[Program],
    used: &BTreeSet<(FileId, usize, String)>,
    enabled: &BTreeSet<Rule>,
    focus: Option<&[bool]>,
) -> Vec<Diagnostic> {
    let mut seen = BTreeSet::new();
    let mut diagnostics = Vec::new();
    // A focused analysis decides every pair of the programs in focus, so it knows which of
    // their ignores the pair rules use; it searches no structure around another pivot.
    let judged = |program: usize| focus.is_none_or(|focus| focus.get(program) == Some(&true));
    let judged_rule = |rule: Rule| focus.is_none() || rule != Rule::DangerousStructure;
    let every_ignore = programs
        .iter()
        .enumerate()
        .filter(|(index, _)| judged(*index))
        .flat_map(|(_, program)| {
            program
                .ignores
                .iter()
                .chain(program.statements.iter().flat_map(|s| s.ignores.iter()))
                .map(move |(rule, range)| (program.file, *range, rule))
        });
    for (file, range, rule) in every_ignore {
        if !seen.insert((file, range.start, rule.clone())) {
            continue;
        }
        let message = match Rule::from_id(rule) {
            None => format!("unused-ignore: `{rule}` is not a rule (`isolint rules` lists them)"),
            Some(known) if !enabled.contains(&known) || !judged_rule(known) => continue,
            Some(_) if used.contains(&(file, range.start, rule.clone())) => continue,
            Some(_) => {
                format!("unused-ignore: the ignore of `{rule}` silences no finding; remove it")
            }
        };
        diagnostics.push(Diagnostic {
            kind: DiagnosticKind::UnusedIgnore,
            file: Some(file),
            range,
            message,
        });
    }
    diagnostics
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress;
    use crate::semantics::Engine;
    use crate::source::{Role, SourceFile};
    use crate::{CheckCache, CheckOptions, CheckResult, check_focused, check_sources};

    /// A focused check leaves to the whole check whether an ignore of `dangerous-structure`
    /// is used: here only the structure around `pivot`, outside the focus, uses `tin`'s.
    #[test]
    fn a_focused_check_leaves_ignores_of_structures_to_the_whole_check() {
        let file = |path: &str, role, text: &str| {
            SourceFile::new(std::path::PathBuf::from(path), role, text.to_string())
        };
        let files = vec![
            file(
                "migrations/001.sql",
                Role::Schema,
                "CREATE TABLE x (id int PRIMARY KEY, v int);
                 CREATE TABLE y (id int PRIMARY KEY, v int);
                 CREATE TABLE z (id int PRIMARY KEY, v int);",
            ),
            file(
                "txns/pivot.sql",
                Role::Transactions,
                "-- name: pivot\nBEGIN ISOLATION LEVEL REPEATABLE READ;
                 SELECT v FROM y WHERE id = $1; UPDATE x SET v = $2 WHERE id = $1; COMMIT;",
            ),
            file(
                "txns/tin.sql",
                Role::Transactions,
                "-- isolint: ignore dangerous-structure -- reviewed\n-- name: tin
                 BEGIN ISOLATION LEVEL REPEATABLE READ;
                 SELECT v FROM x WHERE id = $1; SELECT v FROM z WHERE id = $1; COMMIT;",
            ),
            file(
                "txns/tout.sql",
                Role::Transactions,
                "-- name: tout\nBEGIN ISOLATION LEVEL REPEATABLE READ;
                 UPDATE y SET v = $2 WHERE id = $1; UPDATE z SET v = $2 WHERE id = $1; COMMIT;",
            ),
        ];
        let options = CheckOptions::new(Engine::Postgres);
        let unused = |result: &CheckResult| {
            result
                .diagnostics
                .iter()
                .filter(|diagnostic| diagnostic.kind == DiagnosticKind::UnusedIgnore)
                .count()
        };
        let mut without_ignore = files.clone();
        without_ignore[2] = file(
            "txns/tin.sql",
            Role::Transactions,
            &files[2]
                .text
                .replace("-- isolint: ignore dangerous-structure -- reviewed", ""),
        );
        let silenced = check_sources(without_ignore, &options);
        assert_eq!(
            silenced.findings.len(),
            1,
            "the structure the ignore silences"
        );
        let whole = check_sources(files.clone(), &options);
        assert_eq!((whole.findings.len(), unused(&whole)), (0, 0));
        let focus = BTreeSet::from([std::path::PathBuf::from("txns/tin.sql")]);
        let focused = check_focused(
            files,
            &options,
            &mut CheckCache::default(),
            &focus,
            &progress::Silent,
        );
        assert_eq!((focused.findings.len(), unused(&focused)), (0, 0));
    }

    #[test]
    fn a_parameter_is_mentioned_in_the_forms_query_files_write_it() {
        for sql in [
            "DELETE FROM jobs WHERE status = ANY(%(statuses)s)",
            "DELETE FROM jobs WHERE status = ANY(:statuses)",
            "DELETE FROM jobs WHERE status = ANY(@statuses::text[])",
            "DELETE FROM jobs WHERE status = ANY(sqlc.arg(statuses))",
        ] {
            assert!(mentions_parameter(sql, "statuses"), "{sql}");
        }
        for sql in [
            "DELETE FROM jobs WHERE status = ANY(%(statuses_old)s)",
            "SELECT x::statuses FROM jobs",
            "DELETE FROM jobs WHERE statuses = 1",
        ] {
            assert!(!mentions_parameter(sql, "statuses"), "{sql}");
        }
    }
}
