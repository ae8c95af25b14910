//! `SET` statements: the engine settings a migration sets for the whole server, which describe
//! the server the transactions run on, and the choices a session's `SET` makes for the
//! transactions after it (TiDB's `tidb_txn_mode`).

use std::collections::BTreeMap;

use crate::parse;
use crate::program;
use crate::semantics::{self, Engine, Semantics};
use crate::source::{FileId, Role, SourceFile, TextRange};
use crate::{CheckOptions, Diagnostic, DiagnosticKind};

/// A server setting a migration makes: the setting's name in `isolint.toml`, its value, and
/// the statement that sets it.
#[derive(Clone)]
pub(crate) struct SettingFound {
    pub name: String,
    pub value: semantics::SettingValue,
    pub range: TextRange,
}

/// The engine's settings a migration's statement sets for the whole server (`SET CLUSTER
/// SETTING ...`, `SET GLOBAL ...`): each as taken, or the warning for a value the setting does
/// not take. `None` when the statement sets none of them: a session's `SET` in a migration
/// changes one connection and is not read.
pub(crate) fn server_settings(
    text: &str,
    tokens: &[parse::lexer::Token],
    range: TextRange,
    engine: Engine,
) -> Option<Vec<Result<SettingFound, String>>> {
    let mut read = Vec::new();
    for (scope, variable, value) in server_assignments(text, tokens) {
        let Some((name, setting)) =
            Semantics::embedded()
                .settings(engine)
                .iter()
                .find(|(_, setting)| {
                    setting.sql == Some(scope) && setting.variable.eq_ignore_ascii_case(&variable)
                })
        else {
            continue;
        };
        read.push(match setting_value(setting, &value) {
            Some(value) => Ok(SettingFound {
                name: name.clone(),
                value,
                range,
            }),
            None => Err(not_taken(setting, &value)),
        });
    }
    (!read.is_empty()).then_some(read)
}

/// Where a `SET` assignment takes effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetScope {
    /// The whole server, for connections made from then on.
    Server(semantics::SqlScope),
    /// The connection that runs it.
    Session,
}

/// The server-wide assignments of a `SET` statement (see [`set_assignments`]).
fn server_assignments(
    text: &str,
    tokens: &[parse::lexer::Token],
) -> Vec<(semantics::SqlScope, String, String)> {
    set_assignments(text, tokens)
        .into_iter()
        .filter_map(|(scope, name, value)| match scope {
            SetScope::Server(scope) => Some((scope, name, value)),
            SetScope::Session => None,
        })
        .collect()
}

/// The assignments of a `SET` statement to server or session variables, each with where it
/// takes effect, the variable's name and its value, unquoted and in lower case. Server-wide:
/// CockroachDB's `SET CLUSTER SETTING name = value` (or `TO value`), and MySQL's `SET GLOBAL
/// name = value`, `SET PERSIST name = value`, `SET @@GLOBAL.name = value` and `SET
/// @@PERSIST.name = value`. The session's: `SET name = value`, `SET SESSION`, `SET LOCAL`,
/// `@@name`, `@@SESSION.name`, `@@LOCAL.name`. In MySQL's list of assignments a scope word
/// holds for the assignments after it up to the next one. `SET PERSIST_ONLY` (the next
/// start's value) and user variables (`@name`) are left out.
fn set_assignments(text: &str, tokens: &[parse::lexer::Token]) -> Vec<(SetScope, String, String)> {
    use parse::lexer::TokenKind;
    use semantics::SqlScope;
    let words: Vec<&str> = tokens
        .iter()
        .filter(|token| !matches!(token.kind, TokenKind::Comment | TokenKind::Semicolon))
        .map(|token| token.text(text))
        .collect();
    let Some((first, rest)) = words.split_first() else {
        return Vec::new();
    };
    if !first.eq_ignore_ascii_case("set") {
        return Vec::new();
    }
    let is = |word: &str, expected: &str| word.eq_ignore_ascii_case(expected);
    if let [cluster, setting, assignment @ ..] = rest
        && is(cluster, "cluster")
        && is(setting, "setting")
    {
        return name_and_value(assignment)
            .map(|(name, value)| (SetScope::Server(SqlScope::Cluster), name, value))
            .into_iter()
            .collect();
    }
    let mut found = Vec::new();
    // Without a scope word, MySQL's SET assigns the session's value.
    let mut scope = Some(SetScope::Session);
    for mut assignment in top_level_items(rest) {
        if let Some((word, after)) = assignment.split_first() {
            if is(word, "global") || is(word, "persist") {
                scope = Some(SetScope::Server(SqlScope::Global));
                assignment = after;
            } else if is(word, "session") || is(word, "local") {
                scope = Some(SetScope::Session);
                assignment = after;
            } else if is(word, "persist_only") {
                scope = None;
                assignment = after;
            }
        }
        let Some((name, value)) = name_and_value(assignment) else {
            continue;
        };
        let (scope, name) = match name.strip_prefix("@@") {
            Some(system) => match system.split_once('.') {
                Some(("global" | "persist", name)) => {
                    (Some(SetScope::Server(SqlScope::Global)), name.to_string())
                }
                Some(("session" | "local", name)) => (Some(SetScope::Session), name.to_string()),
                // `@@PERSIST_ONLY.name`.
                Some(_) => (None, String::new()),
                None => (Some(SetScope::Session), system.to_string()),
            },
            None if name.starts_with('@') => (None, String::new()),
            None => (scope, name),
        };
        if let Some(scope) = scope.filter(|_| !name.is_empty()) {
            found.push((scope, name, value));
        }
    }
    found
}

/// The settings a session's `SET` chooses for its later transactions (TiDB's `SET
/// tidb_txn_mode = 'optimistic'`; see [`semantics::SettingSpec::per_transaction`]), and for
/// each assignment of such a setting to a value it does not take, a warning.
pub(crate) fn session_choices(
    text: &str,
    tokens: &[parse::lexer::Token],
    engine: Engine,
) -> (program::SettingChoices, Vec<String>) {
    let mut choices = program::SettingChoices::new();
    let mut warnings = Vec::new();
    for (scope, variable, value) in set_assignments(text, tokens) {
        if scope != SetScope::Session {
            continue;
        }
        let Some((name, setting)) = Semantics::embedded().session_setting(engine, &variable) else {
            continue;
        };
        match setting_value(setting, &value) {
            Some(value) => {
                choices.insert(name.to_string(), value);
            }
            None => warnings.push(not_taken(setting, &value)),
        }
    }
    (choices, warnings)
}

/// The warning for a `SET` of `setting` to a value it does not take.
fn not_taken(setting: &semantics::SettingSpec, value: &str) -> String {
    format!(
        "{} takes {}, not `{value}`: this statement is not read",
        setting.variable,
        setting
            .accepted()
            .iter()
            .map(semantics::SettingValue::key)
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// `name = value` or `name TO value`, from a `SET`'s words: the name's words joined and in
/// lower case, the value's joined, unquoted and in lower case.
fn name_and_value(words: &[&str]) -> Option<(String, String)> {
    let split = words
        .iter()
        .position(|word| *word == "=" || word.eq_ignore_ascii_case("to"))?;
    let name = words[..split].concat().to_ascii_lowercase();
    let value = words[split + 1..].concat();
    let value = value
        .trim_matches(|c| c == '\'' || c == '"')
        .to_ascii_lowercase();
    (!name.is_empty() && !value.is_empty()).then_some((name, value))
}

/// `words` split at the commas outside parentheses.
fn top_level_items<'w, 't>(words: &'w [&'t str]) -> Vec<&'w [&'t str]> {
    let mut items = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (index, word) in words.iter().enumerate() {
        match *word {
            "(" => depth += 1,
            ")" => depth = depth.saturating_sub(1),
            "," if depth == 0 => {
                items.push(&words[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    items.push(&words[start..]);
    items
}

/// The engine settings a check runs with: the options' (the config's `[engine]` table), then
/// those the migrations set, in migration order. A migration's setting wins: it says what the
/// server runs. Where the setting a migration leaves in force differs from the one the options
/// chose, a warning at its statement says which is used.
pub(crate) fn migration_settings(
    files: &[SourceFile],
    found: &[&[SettingFound]],
    options: &CheckOptions,
) -> (semantics::EngineSettings, Vec<Diagnostic>) {
    let engine = options.engine;
    let mut settings = options.engine_settings.clone();
    // The statement that last sets each setting, by name.
    let mut last: BTreeMap<&str, (FileId, &SettingFound)> = BTreeMap::new();
    for (index, (file, file_found)) in files.iter().zip(found).enumerate() {
        if file.role == Role::Schema {
            for found in *file_found {
                // Invariant: `server_settings` kept only settings of this engine and values
                // they take.
                let _ = settings.set(engine, &found.name, found.value.clone());
                last.insert(&found.name, (index, found));
            }
        }
    }
    let specs = Semantics::embedded().settings(engine);
    let mut warnings = Vec::new();
    for (name, (file, found)) in last {
        let chosen = options
            .engine_settings
            .of(engine)
            .find(|(chosen, _)| *chosen == name);
        let (Some((_, chosen)), Some(spec)) = (chosen, specs.get(name)) else {
            continue;
        };
        if *chosen == found.value {
            continue;
        }
        warnings.push(Diagnostic {
            kind: DiagnosticKind::Warning,
            file: Some(file),
            range: found.range,
            message: format!(
                "this statement sets {} and [engine] in isolint.toml sets `{name} = {}`: the \
                 migration's value is used, as migrations say what the server runs",
                spec.assignment(&found.value),
                chosen.toml(),
            ),
        });
    }
    (settings, warnings)
}

/// A `SET` statement's value as the setting takes it: `on`, `1` and `true` for a boolean.
fn setting_value(setting: &semantics::SettingSpec, value: &str) -> Option<semantics::SettingValue> {
    use semantics::SettingValue;
    let value = match (&setting.default, value) {
        (SettingValue::Boolean(_), "true" | "on" | "1" | "yes") => SettingValue::Boolean(true),
        (SettingValue::Boolean(_), "false" | "off" | "0" | "no") => SettingValue::Boolean(false),
        (SettingValue::Boolean(_), _) => return None,
        (SettingValue::Text(_), text) => SettingValue::Text(text.to_string()),
    };
    setting.accepted().contains(&value).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assignments(engine: Engine, sql: &str) -> Vec<(semantics::SqlScope, String, String)> {
        let tokens = parse::lexer::tokenize(sql, parse::flavor(engine));
        server_assignments(sql, &tokens)
    }

    #[test]
    fn server_wide_set_statements_name_a_variable_and_a_value() {
        use semantics::SqlScope::{Cluster, Global};
        for (engine, sql, scope, name, value) in [
            (
                Engine::Cockroachdb,
                "SET CLUSTER SETTING sql.txn.repeatable_read_isolation.enabled = true;",
                Cluster,
                "sql.txn.repeatable_read_isolation.enabled",
                "true",
            ),
            (
                Engine::Cockroachdb,
                "set cluster setting sql.txn.read_committed_isolation.enabled to off",
                Cluster,
                "sql.txn.read_committed_isolation.enabled",
                "off",
            ),
            (
                Engine::Tidb,
                "SET GLOBAL tidb_txn_mode = 'Optimistic'",
                Global,
                "tidb_txn_mode",
                "optimistic",
            ),
            (
                Engine::Tidb,
                "SET PERSIST tidb_txn_mode = 'optimistic'",
                Global,
                "tidb_txn_mode",
                "optimistic",
            ),
            (
                Engine::Tidb,
                "SET @@GLOBAL.tidb_skip_isolation_level_check = 1",
                Global,
                "tidb_skip_isolation_level_check",
                "1",
            ),
            (
                Engine::Tidb,
                "SET @@persist.tidb_txn_mode = 'optimistic'",
                Global,
                "tidb_txn_mode",
                "optimistic",
            ),
        ] {
            assert_eq!(
                assignments(engine, sql),
                [(scope, name.to_string(), value.to_string())],
                "{sql}"
            );
        }
        // A scope word holds for the assignments after it, up to the next one.
        assert_eq!(
            assignments(
                Engine::Tidb,
                "SET GLOBAL tidb_txn_mode = 'optimistic', tidb_skip_isolation_level_check = 1, \
                 SESSION tidb_txn_mode = 'pessimistic'"
            ),
            [
                (
                    Global,
                    "tidb_txn_mode".to_string(),
                    "optimistic".to_string()
                ),
                (
                    Global,
                    "tidb_skip_isolation_level_check".to_string(),
                    "1".to_string()
                ),
            ]
        );
    }

    #[test]
    fn session_set_statements_and_user_variables_are_not_server_settings() {
        for (engine, sql) in [
            (Engine::Tidb, "SET tidb_txn_mode = 'optimistic'"),
            (Engine::Tidb, "SET SESSION tidb_txn_mode = 'optimistic'"),
            (Engine::Tidb, "SET LOCAL tidb_txn_mode = 'optimistic'"),
            (Engine::Tidb, "SET @@tidb_txn_mode = 'optimistic'"),
            (Engine::Tidb, "SET @@session.tidb_txn_mode = 'optimistic'"),
            (Engine::Tidb, "SET @tidb_txn_mode = 'optimistic'"),
            (
                Engine::Tidb,
                "SET PERSIST_ONLY tidb_txn_mode = 'optimistic'",
            ),
            (
                Engine::Tidb,
                "SET GLOBAL TRANSACTION ISOLATION LEVEL SERIALIZABLE",
            ),
            (
                Engine::Yugabytedb,
                "set yb_enable_read_committed_isolation to on",
            ),
            (
                Engine::Cockroachdb,
                "SET sql.txn.repeatable_read_isolation.enabled = true",
            ),
            (Engine::Tidb, "SELECT 1"),
        ] {
            assert_eq!(assignments(engine, sql), [], "{sql}");
        }
    }

    #[test]
    fn set_values_are_read_as_the_setting_takes_them() {
        let semantics = Semantics::embedded();
        let mode = &semantics.settings(Engine::Tidb)["mode"];
        assert_eq!(
            setting_value(mode, "optimistic"),
            Some(semantics::SettingValue::Text("optimistic".into()))
        );
        assert_eq!(setting_value(mode, "lazy"), None);
        let skip = &semantics.settings(Engine::Tidb)["skip_isolation_level_check"];
        for on in ["1", "on", "true"] {
            assert_eq!(
                setting_value(skip, on),
                Some(semantics::SettingValue::Boolean(true))
            );
        }
        assert_eq!(
            setting_value(skip, "off"),
            Some(semantics::SettingValue::Boolean(false))
        );
        assert_eq!(setting_value(skip, "maybe"), None);
    }

    #[test]
    fn a_sessions_set_of_the_tidb_mode_is_a_choice_for_its_later_transactions() {
        use semantics::SettingValue;
        let choices = |engine: Engine, sql: &str| {
            let tokens = parse::lexer::tokenize(sql, parse::flavor(engine));
            session_choices(sql, &tokens, engine)
        };
        let optimistic = program::SettingChoices::from([(
            "mode".to_string(),
            SettingValue::Text("optimistic".into()),
        )]);
        for sql in [
            "SET tidb_txn_mode = 'optimistic'",
            "SET SESSION tidb_txn_mode = 'Optimistic'",
            "SET LOCAL tidb_txn_mode = 'optimistic'",
            "SET @@tidb_txn_mode = 'optimistic'",
            "set @@SESSION.tidb_txn_mode = \"optimistic\"",
            "SET GLOBAL autocommit = 0, SESSION tidb_txn_mode = 'optimistic'",
        ] {
            assert_eq!(
                choices(Engine::Tidb, sql),
                (optimistic.clone(), vec![]),
                "{sql}"
            );
        }
        for (engine, sql) in [
            (Engine::Tidb, "SET GLOBAL tidb_txn_mode = 'optimistic'"),
            (Engine::Tidb, "SET @@global.tidb_txn_mode = 'optimistic'"),
            (
                Engine::Tidb,
                "SET PERSIST_ONLY tidb_txn_mode = 'optimistic'",
            ),
            (
                Engine::Tidb,
                "SET @@persist_only.tidb_txn_mode = 'optimistic'",
            ),
            (Engine::Tidb, "SET @tidb_txn_mode = 'optimistic'"),
            (Engine::Tidb, "SET tidb_skip_isolation_level_check = 1"),
            (Engine::Mysql, "SET tidb_txn_mode = 'optimistic'"),
        ] {
            assert_eq!(choices(engine, sql), Default::default(), "{sql}");
        }
        let (chosen, warnings) = choices(Engine::Tidb, "SET tidb_txn_mode = 'lazy'");
        assert!(chosen.is_empty());
        assert_eq!(
            warnings,
            ["tidb_txn_mode takes pessimistic, optimistic, not `lazy`: this statement is not read"]
        );
    }
}
