//! What `isolint init` writes: the commented `isolint.toml` ([`init_text`]), and the guess at
//! the engine a project's SQL was written for ([`guess_engine`]), from syntax only one engine
//! has.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::ids;
use crate::rule::REGISTRY;
use crate::semantics::{Engine, Level, Semantics, SettingValue};

/// A commented `isolint.toml` for `isolint init`, with `engine` set and every other setting
/// shown with its default. `queries` are the named queries found in the project; the
/// `[[transaction]]` example composes the first of them.
pub fn init_text(engine: Engine, queries: &[String]) -> String {
    let semantics = Semantics::embedded();
    let levels = ids(semantics.levels(engine).into_iter().map(Level::id));
    let default_level = semantics.default_level(engine).id();
    let mut text = String::from(
        "# isolint configuration. isolint reads the nearest isolint.toml or .isolint.toml at or\n\
         # above the directory it checks; command-line flags win over this file.\n\n",
    );
    let engines = ids(Engine::ALL.into_iter().map(Engine::id));
    let settings = semantics.settings(engine);
    if settings.is_empty() {
        text.push_str(&comment(&format!("The database engine: {engines}.")));
        let _ = writeln!(text, "engine = \"{}\"\n", engine.id());
    }
    let _ = write!(
        text,
        "# The isolation level of transactions that declare none. {engine} accepts:\n\
         # {levels}.\n\
         # isolation = \"{default_level}\"\n\n\
         # The files that hold the schema, applied in natural path order (`2_x` before `10_x`).\n\
         # Without this, paths with a `migrations`, `migrate` or `schema` directory, `schema.sql`\n\
         # and `db/structure.sql` are schema. Globs are relative to this file's directory.\n\
         # schema = [\"migrations/**\", \"db/schema.sql\"]\n\n\
         # The files to check. Schema files are always read.\n\
         include = [\"**/*.sql\"]\n\n\
         # The files never to read, e.g. [\"vendor/**\", \"third_party/**\"].\n\
         exclude = []\n\n"
    );
    if !settings.is_empty() {
        text.push_str(
            "# The database engine and the server settings that change what its levels do.\n\
             [engine]\n",
        );
        text.push_str(&comment(&format!("One of: {engines}.")));
        let _ = writeln!(text, "name = \"{}\"", engine.id());
        for (name, setting) in settings {
            let values: Vec<String> = setting.accepted().iter().map(SettingValue::toml).collect();
            text.push_str(&comment(&format!(
                "{}: {}. One of: {}.",
                setting.variable,
                setting.about,
                values.join(", ")
            )));
            let _ = writeln!(text, "{name} = {}", setting.default.toml());
        }
        text.push('\n');
    }
    text.push_str(
        "# Each rule's severity: \"error\", \"warning\" or \"off\". A severity turns an opt-in rule\n\
         # on. `isolint rules` lists the rules; `isolint explain RULE` documents one. Defaults:\n\
         [rules]\n",
    );
    for spec in REGISTRY {
        let doc = spec.rule.doc();
        let setting = if doc.default_on {
            doc.severity.id()
        } else {
            "off"
        };
        let _ = writeln!(text, "# {} = \"{setting}\"", spec.id);
    }
    text.push_str(
        "\n# Values of the variables of templated SQL: psql's `:NAME`, `:'NAME'`, `:\"NAME\"`, and\n\
         # `${NAME}` / `{{NAME}}`. An undeclared one in a schema qualifier (`:NAME.jobs`) is dropped.\n\
         # [variables]\n\
         # SCHEMA = \"app\"\n",
    );
    let steps: Vec<String> = match queries {
        [] => vec!["GetAccount".into(), "UpdateBalance".into()],
        [one] => vec![one.clone(), one.clone()],
        [first, second, ..] => vec![first.clone(), second.clone()],
    };
    let steps = steps
        .iter()
        .map(|step| format!("\"{}\"", step.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect::<Vec<_>>()
        .join(", ");
    let found = if queries.is_empty() {
        String::new()
    } else {
        format!(
            "\n# This project has {} named queries, e.g. {}.",
            queries.len(),
            queries
                .iter()
                .take(5)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let _ = write!(
        text,
        "\n# Named queries (sqlc, yesql, aiosql, HugSQL, `-- name --` headers) each run on their own.\n\
         # A [[transaction]] runs several, in order, as one transaction, as the application does\n\
         # when it calls them between BEGIN and COMMIT; its isolation is optional. `atomic = false`\n\
         # says each step commits on its own (the application passes values between them).{found}\n\
         # [[transaction]]\n\
         # name = \"transfer\"\n\
         # isolation = \"{default_level}\"\n\
         # steps = [{steps}]\n"
    );
    text.push_str(
        "\n# `isolint confirm`: SQL files run in the throwaway database after the migrations and\n\
         # before each finding's rows, to build the state the project's functions expect (a queue\n\
         # created, a consumer registered). Paths are relative to this file's directory.\n\
         # [confirm]\n\
         # setup = [\"confirm-setup.sql\"]\n",
    );
    text.push_str(
        "\n# The values callers pass for a named query's parameters, where isolint cannot see the\n\
         # callers: a status list the application fills with final states only, say. A parameter\n\
         # compared with a column (`status = ANY(%(statuses)s)`, `state = @state`) then holds only\n\
         # these values; one with a single value is that literal everywhere.\n\
         # [parameters.delete_old_jobs]\n\
         # statuses = [\"succeeded\", \"failed\"]\n",
    );
    text
}

/// A guess at the engine that `texts` (SQL files) were written for, from syntax only one
/// engine has (`AUTO_INCREMENT`, `NVARCHAR`, `VARCHAR2`, `jsonb`, `PRAGMA` …); `None` when
/// nothing points anywhere.
pub fn guess_engine<'t>(texts: impl Iterator<Item = &'t str>) -> Option<Engine> {
    let mut scores: BTreeMap<Engine, usize> = BTreeMap::new();
    for text in texts {
        let tokens = sql_tokens(text);
        for start in 0..tokens.len() {
            for signal in SIGNALS {
                if tokens[start..]
                    .iter()
                    .map(String::as_str)
                    .take(signal.tokens.len())
                    .eq(signal.tokens.iter().copied())
                {
                    *scores.entry(signal.engine).or_default() += signal.weight;
                }
            }
        }
        // A line holding only `GO` ends a T-SQL batch.
        let batch_separators = text
            .lines()
            .filter(|line| line.trim().eq_ignore_ascii_case("go"))
            .count();
        *scores.entry(Engine::Sqlserver).or_default() += 3 * batch_separators;
    }
    // A dialect also speaks its parent's syntax: once its own shows up, the parent's counts too.
    for (dialect, parent) in [
        (Engine::Cockroachdb, Engine::Postgres),
        (Engine::Yugabytedb, Engine::Postgres),
        (Engine::Mariadb, Engine::Mysql),
        (Engine::Tidb, Engine::Mysql),
    ] {
        if scores.get(&dialect).is_some_and(|score| *score > 0) {
            let inherited = scores.get(&parent).copied().unwrap_or(0);
            *scores.entry(dialect).or_default() += inherited;
        }
    }
    // Ties go to the engine listed first in `Engine::ALL`.
    let mut best: Option<(Engine, usize)> = None;
    for engine in Engine::ALL {
        let score = scores.get(&engine).copied().unwrap_or(0);
        if score > 0 && best.is_none_or(|(_, best_score)| score > best_score) {
            best = Some((engine, score));
        }
    }
    best.map(|(engine, _)| engine)
}

/// A run of tokens that points at one engine. Words are upper case; `$n` is a numbered
/// placeholder (`$1`); anything else is one punctuation character.
struct Signal {
    engine: Engine,
    weight: usize,
    tokens: &'static [&'static str],
}

const fn signal(engine: Engine, weight: usize, tokens: &'static [&'static str]) -> Signal {
    Signal {
        engine,
        weight,
        tokens,
    }
}

const SIGNALS: &[Signal] = &[
    signal(Engine::Mysql, 1, &["`"]),
    signal(Engine::Mysql, 3, &["AUTO_INCREMENT"]),
    signal(Engine::Mysql, 5, &["ENGINE", "=", "INNODB"]),
    signal(Engine::Mysql, 5, &["ENGINE", "=", "MYISAM"]),
    signal(Engine::Mysql, 3, &["ON", "DUPLICATE", "KEY"]),
    signal(Engine::Mysql, 3, &["LOCK", "IN", "SHARE", "MODE"]),
    signal(Engine::Mysql, 2, &["UNSIGNED"]),
    signal(Engine::Mariadb, 5, &["ENGINE", "=", "ARIA"]),
    signal(Engine::Sqlserver, 3, &["[", "DBO", "]"]),
    signal(Engine::Sqlserver, 2, &["DBO", "."]),
    signal(Engine::Sqlserver, 2, &["NVARCHAR"]),
    signal(Engine::Sqlserver, 3, &["IDENTITY", "("]),
    signal(Engine::Sqlserver, 3, &["UNIQUEIDENTIFIER"]),
    signal(Engine::Sqlserver, 3, &["DATETIME2"]),
    signal(Engine::Sqlserver, 3, &["SET", "NOCOUNT"]),
    signal(Engine::Sqlserver, 3, &["BEGIN", "TRAN"]),
    signal(Engine::Sqlserver, 3, &["UPDLOCK"]),
    signal(Engine::Sqlserver, 3, &["NOLOCK"]),
    signal(Engine::Oracle, 3, &["VARCHAR2"]),
    signal(Engine::Oracle, 3, &["NVARCHAR2"]),
    signal(Engine::Oracle, 3, &["NUMBER", "("]),
    signal(Engine::Oracle, 2, &["SYSDATE"]),
    signal(Engine::Oracle, 2, &["SYSTIMESTAMP"]),
    signal(Engine::Oracle, 1, &["FROM", "DUAL"]),
    signal(Engine::Postgres, 3, &["BIGSERIAL"]),
    signal(Engine::Postgres, 2, &["SERIAL"]),
    signal(Engine::Postgres, 2, &["$n"]),
    signal(Engine::Postgres, 3, &["JSONB"]),
    signal(Engine::Postgres, 3, &["TIMESTAMPTZ"]),
    signal(Engine::Postgres, 3, &["BYTEA"]),
    signal(Engine::Postgres, 3, &["CREATE", "EXTENSION"]),
    signal(Engine::Postgres, 2, &["ILIKE"]),
    signal(Engine::Postgres, 1, &[":", ":"]),
    signal(Engine::Cockroachdb, 4, &["UNIQUE_ROWID", "("]),
    signal(Engine::Cockroachdb, 4, &["CRDB_INTERNAL"]),
    signal(Engine::Cockroachdb, 4, &["CLUSTER", "SETTING"]),
    signal(Engine::Cockroachdb, 3, &["INTERLEAVE"]),
    signal(Engine::Sqlite, 3, &["AUTOINCREMENT"]),
    signal(Engine::Sqlite, 3, &["PRAGMA"]),
    signal(Engine::Sqlite, 3, &["WITHOUT", "ROWID"]),
    signal(Engine::Sqlite, 3, &["BEGIN", "IMMEDIATE"]),
    signal(Engine::Sqlite, 3, &["BEGIN", "EXCLUSIVE"]),
    signal(Engine::Spanner, 4, &[")", "PRIMARY", "KEY", "("]),
    signal(Engine::Spanner, 3, &["INT64"]),
    signal(Engine::Spanner, 3, &["STRING", "(", "MAX", ")"]),
    signal(Engine::Spanner, 4, &["PENDING_COMMIT_TIMESTAMP", "("]),
    signal(Engine::Spanner, 4, &["ALLOW_COMMIT_TIMESTAMP"]),
    signal(Engine::Tidb, 5, &["AUTO_RANDOM"]),
    signal(Engine::Tidb, 5, &["SHARD_ROW_ID_BITS"]),
    signal(Engine::Tidb, 5, &["PRE_SPLIT_REGIONS"]),
    signal(Engine::Tidb, 5, &["TIDB_TXN_MODE"]),
    signal(Engine::Tidb, 5, &["BEGIN", "PESSIMISTIC"]),
    signal(Engine::Tidb, 5, &["BEGIN", "OPTIMISTIC"]),
    signal(Engine::Yugabytedb, 5, &["SPLIT", "INTO"]),
    signal(Engine::Yugabytedb, 5, &["YB_HASH_CODE", "("]),
    signal(Engine::Yugabytedb, 4, &["COLOCATION"]),
    signal(Engine::Yugabytedb, 4, &["TABLEGROUP"]),
    signal(Engine::Yugabytedb, 3, &["HASH", ")"]),
    signal(Engine::Yugabytedb, 3, &["HASH", ","]),
];

/// Rough SQL tokens for [`guess_engine`]: comments and `'…'` strings are skipped, so prose
/// about another engine does not count.
fn sql_tokens(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        let next = chars.peek().map(|&(_, next)| next);
        if c.is_whitespace() {
            continue;
        }
        if c == '-' && next == Some('-') {
            while chars.next_if(|&(_, c)| c != '\n').is_some() {}
        } else if c == '/' && next == Some('*') {
            chars.next();
            let mut previous = ' ';
            for (_, c) in chars.by_ref() {
                if previous == '*' && c == '/' {
                    break;
                }
                previous = c;
            }
        } else if c == '\'' {
            for (_, c) in chars.by_ref() {
                if c == '\'' {
                    break;
                }
            }
        } else if c == '$' && next.is_some_and(|next| next.is_ascii_digit()) {
            while chars.next_if(|&(_, c)| c.is_ascii_digit()).is_some() {}
            tokens.push("$n".to_string());
        } else if c.is_alphanumeric() || c == '_' {
            let mut end = start + c.len_utf8();
            while let Some((index, c)) = chars.next_if(|&(_, c)| c.is_alphanumeric() || c == '_') {
                end = index + c.len_utf8();
            }
            tokens.push(text[start..end].to_ascii_uppercase());
        } else {
            tokens.push(c.to_string());
        }
    }
    tokens
}

/// `text` as `# ` comment lines of at most 92 characters.
fn comment(text: &str) -> String {
    let mut out = String::new();
    let mut line = String::from("#");
    for word in text.split_whitespace() {
        if line.len() > 1 && line.len() + 1 + word.len() > 92 {
            out.push_str(&line);
            out.push('\n');
            line = String::from("#");
        }
        line.push(' ');
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::document::TOP_LEVEL_KEYS;
    use crate::config::{load, parse};
    use crate::rule::Rule;

    #[test]
    fn guess_engine_reads_dialect_syntax() {
        let cases: &[(&str, Option<Engine>)] = &[
            (
                "CREATE TABLE `users` (id INT AUTO_INCREMENT PRIMARY KEY) ENGINE=InnoDB;",
                Some(Engine::Mysql),
            ),
            (
                "CREATE TABLE [dbo].[users] (id INT IDENTITY(1,1), name NVARCHAR(50));\nGO\n",
                Some(Engine::Sqlserver),
            ),
            (
                "CREATE TABLE users (id NUMBER(10) PRIMARY KEY, name VARCHAR2(50));",
                Some(Engine::Oracle),
            ),
            (
                "CREATE TABLE users (id bigserial PRIMARY KEY, data jsonb, at timestamptz);\n\
                 UPDATE users SET data = $2 WHERE id = $1;",
                Some(Engine::Postgres),
            ),
            (
                "PRAGMA foreign_keys = ON;\n\
                 CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT);",
                Some(Engine::Sqlite),
            ),
            (
                "CREATE TABLE users (id INT PRIMARY KEY DEFAULT unique_rowid(), data JSONB);",
                Some(Engine::Cockroachdb),
            ),
            (
                "CREATE TABLE Singers (SingerId INT64 NOT NULL, Name STRING(MAX)) \
                 PRIMARY KEY (SingerId);",
                Some(Engine::Spanner),
            ),
            (
                "CREATE TABLE `orders` (id BIGINT AUTO_RANDOM PRIMARY KEY, total DECIMAL(10,2));",
                Some(Engine::Tidb),
            ),
            (
                "CREATE TABLE orders (id bigint, region text, PRIMARY KEY (id HASH)) \
                 SPLIT INTO 16 TABLETS;\nUPDATE orders SET region = $2 WHERE id = $1;",
                Some(Engine::Yugabytedb),
            ),
            ("SELECT balance FROM accounts WHERE id = 1;", None),
            (
                "-- ported from MySQL: AUTO_INCREMENT, ENGINE=InnoDB\nSELECT 1;",
                None,
            ),
            ("SELECT 'NVARCHAR VARCHAR2 jsonb' FROM accounts;", None),
        ];
        for (sql, expected) in cases {
            assert_eq!(guess_engine(std::iter::once(*sql)), *expected, "{sql}");
        }
    }

    #[test]
    fn guess_engine_weighs_all_files() {
        let files = [
            "CREATE TABLE a (id serial PRIMARY KEY);",
            "CREATE TABLE `b` (id INT AUTO_INCREMENT);",
            "CREATE TABLE `c` (id INT AUTO_INCREMENT);",
        ];
        assert_eq!(guess_engine(files.into_iter()), Some(Engine::Mysql));
    }

    /// `# key = value` lines of a template, uncommented.
    fn uncommented(text: &str) -> String {
        text.lines()
            .map(|line| match line.strip_prefix("# ") {
                Some(rest) if rest.starts_with('[') => rest,
                Some(rest)
                    if rest.split_once(" = ").is_some_and(|(key, _)| {
                        key.chars()
                            .all(|c| c.is_ascii_lowercase() || c == '-' || c == '_')
                    }) =>
                {
                    rest
                }
                _ => line,
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn init_text_loads_and_comments_every_key() {
        for engine in Engine::ALL {
            let text = init_text(engine, &[]);
            let directory = tempfile::tempdir().unwrap();
            let path = directory.path().join("isolint.toml");
            std::fs::write(&path, &text).unwrap();
            let config = load(&path).unwrap();
            assert_eq!(config.engine, Some(engine));
            let settings = Semantics::embedded().settings(engine);
            let chosen: Vec<&str> = config
                .engine_settings
                .of(engine)
                .map(|(name, _)| name)
                .collect();
            assert_eq!(
                chosen,
                settings.keys().map(String::as_str).collect::<Vec<_>>()
            );
            // The template chooses every setting's default: nothing changes.
            assert_eq!(
                Semantics::configured(&config.engine_settings).levels(engine),
                Semantics::embedded().levels(engine)
            );

            let lines: Vec<&str> = text.lines().collect();
            for (index, line) in lines.iter().enumerate() {
                let is_setting = line.starts_with('[') || line.contains(" = ");
                if is_setting && !line.starts_with('#') {
                    assert!(
                        lines[index - 1].starts_with('#'),
                        "{engine}: `{line}` has no comment above it"
                    );
                }
            }
            for (key, _) in TOP_LEVEL_KEYS {
                let shown = |line: &&str| {
                    let line = line.trim_start_matches("# ");
                    line.starts_with(&format!("{key} = "))
                        || *line == format!("[{key}]")
                        || line.starts_with(&format!("[{key}."))
                        || *line == format!("[[{key}]]")
                };
                assert!(lines.iter().any(shown), "{engine}: `{key}` is not shown");
            }

            let every_setting = parse(Path::new("isolint.toml"), &uncommented(&text)).unwrap();
            assert_eq!(every_setting.transactions.len(), 1);
            assert_eq!(every_setting.rules.len(), Rule::ALL.len());
            assert!(every_setting.isolation.is_some());
            assert!(!every_setting.schema.is_empty());
        }
    }
}
