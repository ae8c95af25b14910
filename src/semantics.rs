//! Engines and isolation levels: what each level of each engine lets through.
//!
//! The facts live in `rules/engines.toml` (embedded in the binary); this module loads them and
//! answers `permits(engine, level, rule)`. Architecture Invariant: no other module matches on an
//! engine to decide what an isolation level prevents. Architecture Invariant: this module imports
//! nothing of the crate but the rule definitions (`crate::rule`), so every stage from the parser
//! up may ask it about engines.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::rule::Rule;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Engine {
    Postgres,
    Mysql,
    Mariadb,
    Sqlserver,
    Oracle,
    Cockroachdb,
    Sqlite,
}

impl Engine {
    pub const ALL: [Engine; 7] = [
        Engine::Postgres,
        Engine::Mysql,
        Engine::Mariadb,
        Engine::Sqlserver,
        Engine::Oracle,
        Engine::Cockroachdb,
        Engine::Sqlite,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Engine::Postgres => "postgres",
            Engine::Mysql => "mysql",
            Engine::Mariadb => "mariadb",
            Engine::Sqlserver => "sqlserver",
            Engine::Oracle => "oracle",
            Engine::Cockroachdb => "cockroachdb",
            Engine::Sqlite => "sqlite",
        }
    }

    /// Accepts the ids and the usual other names (`postgresql`, `mssql`, `tsql`, `cockroach`).
    pub fn parse(name: &str) -> Option<Engine> {
        let name = name.trim().to_ascii_lowercase();
        let engine = match name.as_str() {
            "postgres" | "postgresql" | "pg" => Engine::Postgres,
            "mysql" => Engine::Mysql,
            "mariadb" => Engine::Mariadb,
            "sqlserver" | "mssql" | "tsql" | "t-sql" => Engine::Sqlserver,
            "oracle" => Engine::Oracle,
            "cockroachdb" | "cockroach" | "crdb" => Engine::Cockroachdb,
            "sqlite" | "sqlite3" => Engine::Sqlite,
            _ => return None,
        };
        Some(engine)
    }

    /// Transactions start implicitly with the first statement after a commit (no BEGIN).
    pub fn implicit_transactions(self) -> bool {
        self == Engine::Oracle
    }

    pub fn is_mysql_family(self) -> bool {
        matches!(self, Engine::Mysql | Engine::Mariadb)
    }

    pub fn is_postgres_family(self) -> bool {
        matches!(self, Engine::Postgres | Engine::Cockroachdb)
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// The ANSI levels plus SQL Server's SNAPSHOT, ordered from weakest to strongest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    ReadUncommitted,
    ReadCommitted,
    RepeatableRead,
    Snapshot,
    Serializable,
}

impl Level {
    pub const ALL: [Level; 5] = [
        Level::ReadUncommitted,
        Level::ReadCommitted,
        Level::RepeatableRead,
        Level::Snapshot,
        Level::Serializable,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Level::ReadUncommitted => "read-uncommitted",
            Level::ReadCommitted => "read-committed",
            Level::RepeatableRead => "repeatable-read",
            Level::Snapshot => "snapshot",
            Level::Serializable => "serializable",
        }
    }

    pub fn sql(self) -> &'static str {
        match self {
            Level::ReadUncommitted => "READ UNCOMMITTED",
            Level::ReadCommitted => "READ COMMITTED",
            Level::RepeatableRead => "REPEATABLE READ",
            Level::Snapshot => "SNAPSHOT",
            Level::Serializable => "SERIALIZABLE",
        }
    }

    /// Case-insensitive; spaces, `-` and `_` are equivalent (`read-committed`, `READ COMMITTED`).
    pub fn parse(name: &str) -> Option<Level> {
        let normalized: String = name
            .trim()
            .chars()
            .map(|c| match c {
                ' ' | '_' | '\t' => '-',
                other => other.to_ascii_lowercase(),
            })
            .collect();
        Level::ALL
            .into_iter()
            .find(|level| level.id() == normalized)
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// What one level of one engine does.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LevelSpec {
    #[serde(default)]
    pub permits: BTreeSet<String>,
    #[serde(default)]
    pub snapshot: bool,
    #[serde(default)]
    pub gap_locks: bool,
    #[serde(default)]
    pub read_skew_needs_write: bool,
    /// The snapshot is taken at the first plain (non-locking) read, not at the first query:
    /// a locking read or lock taken first still protects what follows.
    #[serde(default)]
    pub snapshot_at_first_plain_read: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineSpec {
    pub display: String,
    pub default: String,
    #[serde(default)]
    pub aliases: BTreeMap<String, String>,
    pub levels: BTreeMap<String, LevelSpec>,
    /// Inserting a child row locks the parent row it references until commit (PostgreSQL `FOR
    /// KEY SHARE`, InnoDB's shared record lock), so it waits for a transaction that locked or
    /// deleted the parent, and such a transaction waits for it.
    #[serde(default)]
    pub foreign_key_locks_parent: bool,
}

/// The engine table, loaded once from the embedded `rules/engines.toml`.
#[derive(Debug, Clone)]
pub struct Semantics {
    engines: BTreeMap<Engine, EngineSpec>,
}

pub const ENGINES_TOML: &str = include_str!("../rules/engines.toml");

impl Semantics {
    /// The embedded table. Invariant: `engines.toml` is part of the binary and a unit test loads
    /// it, so a malformed table cannot ship.
    pub fn embedded() -> &'static Semantics {
        static SEMANTICS: OnceLock<Semantics> = OnceLock::new();
        SEMANTICS.get_or_init(|| {
            Semantics::from_toml(ENGINES_TOML).expect("rules/engines.toml is valid")
        })
    }

    pub fn from_toml(text: &str) -> Result<Semantics, String> {
        let raw: BTreeMap<String, EngineSpec> =
            toml::from_str(text).map_err(|error| error.to_string())?;
        let mut engines = BTreeMap::new();
        for (name, spec) in raw {
            let engine = Engine::parse(&name).ok_or_else(|| format!("unknown engine `{name}`"))?;
            for (level_name, level) in &spec.levels {
                Level::parse(level_name).ok_or_else(|| format!("unknown level `{level_name}`"))?;
                for rule in &level.permits {
                    Rule::from_id(rule).ok_or_else(|| format!("unknown rule `{rule}`"))?;
                }
            }
            engines.insert(engine, spec);
        }
        // A rule no level lets through would never be reported: a rule added to the code but
        // not to the table must fail here, not be silently off.
        for rule in Rule::ALL {
            let listed = engines
                .values()
                .flat_map(|spec| spec.levels.values())
                .any(|level| level.permits.contains(rule.id()));
            if !listed {
                return Err(format!(
                    "rule `{}` is permitted by no engine's level: add it to the levels that let \
                     it through",
                    rule.id()
                ));
            }
        }
        for engine in Engine::ALL {
            let spec = engines
                .get(&engine)
                .ok_or_else(|| format!("engine `{engine}` is missing"))?;
            let default = Level::parse(&spec.default)
                .ok_or_else(|| format!("{engine}: bad default level"))?;
            if !spec.levels.contains_key(default.id()) {
                return Err(format!("{engine}: default level has no entry"));
            }
        }
        Ok(Semantics { engines })
    }

    fn spec(&self, engine: Engine) -> &EngineSpec {
        // Invariant: `from_toml` checked that every engine has an entry.
        &self.engines[&engine]
    }

    /// See [`EngineSpec::foreign_key_locks_parent`].
    pub fn foreign_key_locks_parent(&self, engine: Engine) -> bool {
        self.spec(engine).foreign_key_locks_parent
    }

    pub fn display(&self, engine: Engine) -> &str {
        &self.spec(engine).display
    }

    pub fn default_level(&self, engine: Engine) -> Level {
        // Invariant: checked by `from_toml`.
        Level::parse(&self.spec(engine).default).unwrap_or(Level::Serializable)
    }

    /// The level the engine really runs for a requested level, or `None` when the engine has
    /// no such level.
    pub fn resolve(&self, engine: Engine, requested: Level) -> Option<Level> {
        let spec = self.spec(engine);
        if spec.levels.contains_key(requested.id()) {
            return Some(requested);
        }
        spec.aliases
            .get(requested.id())
            .and_then(|target| Level::parse(target))
    }

    /// The levels an engine accepts, weakest first.
    pub fn levels(&self, engine: Engine) -> Vec<Level> {
        let spec = self.spec(engine);
        Level::ALL
            .into_iter()
            .filter(|level| spec.levels.contains_key(level.id()))
            .collect()
    }

    pub fn level(&self, engine: Engine, level: Level) -> &LevelSpec {
        static EMPTY: OnceLock<LevelSpec> = OnceLock::new();
        self.resolve(engine, level)
            .and_then(|resolved| self.spec(engine).levels.get(resolved.id()))
            .unwrap_or_else(|| EMPTY.get_or_init(LevelSpec::default))
    }

    pub fn permits(&self, engine: Engine, level: Level, rule: Rule) -> bool {
        self.level(engine, level).permits.contains(rule.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_table_loads_and_covers_every_engine() {
        let semantics = Semantics::from_toml(ENGINES_TOML).unwrap();
        for engine in Engine::ALL {
            assert!(!semantics.levels(engine).is_empty());
        }
    }

    /// The table with `rule` struck from every level's `permits`.
    fn without(rule: Rule) -> String {
        let quoted = format!("\"{}\"", rule.id());
        ENGINES_TOML
            .replace(&format!("{quoted}, "), "")
            .replace(&format!(", {quoted}"), "")
            .replace(&quoted, "")
    }

    #[test]
    fn a_rule_no_level_lets_through_is_an_error() {
        for rule in Rule::ALL {
            let table = without(rule);
            assert!(!table.contains(&format!("\"{}\"", rule.id())), "{rule:?}");
            let error = Semantics::from_toml(&table).unwrap_err();
            assert!(error.contains(&format!("`{}`", rule.id())), "{error}");
        }
    }

    #[test]
    fn an_unknown_rule_in_the_table_is_an_error() {
        let table = ENGINES_TOML.replacen("\"lost-update\"", "\"lost-updates\"", 1);
        let error = Semantics::from_toml(&table).unwrap_err();
        assert_eq!(error, "unknown rule `lost-updates`");
    }

    #[test]
    fn level_names_are_forgiving() {
        assert_eq!(Level::parse("READ COMMITTED"), Some(Level::ReadCommitted));
        assert_eq!(Level::parse("repeatable_read"), Some(Level::RepeatableRead));
        assert_eq!(Level::parse("Serializable"), Some(Level::Serializable));
        assert_eq!(Level::parse("eventual"), None);
    }

    #[test]
    fn postgres_read_uncommitted_is_read_committed() {
        let semantics = Semantics::embedded();
        assert_eq!(
            semantics.resolve(Engine::Postgres, Level::ReadUncommitted),
            Some(Level::ReadCommitted)
        );
        assert_eq!(
            semantics.resolve(Engine::Oracle, Level::RepeatableRead),
            None
        );
    }

    #[test]
    fn mysql_repeatable_read_lets_lost_updates_through_but_mariadb_does_not() {
        let semantics = Semantics::embedded();
        assert!(semantics.permits(Engine::Mysql, Level::RepeatableRead, Rule::LostUpdate));
        assert!(!semantics.permits(Engine::Mariadb, Level::RepeatableRead, Rule::LostUpdate));
        assert!(!semantics.permits(Engine::Postgres, Level::RepeatableRead, Rule::LostUpdate));
    }

    #[test]
    fn serializable_prevents_everything_where_it_is_true_serializability() {
        let semantics = Semantics::embedded();
        for engine in [
            Engine::Postgres,
            Engine::Mysql,
            Engine::Sqlserver,
            Engine::Cockroachdb,
        ] {
            for rule in Rule::ALL {
                assert!(!semantics.permits(engine, Level::Serializable, rule));
            }
        }
    }
}
