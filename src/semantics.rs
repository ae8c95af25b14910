//! Engines and isolation levels: what each level of each engine lets through.
//!
//! The facts live in `rules/engines.toml` (embedded in the binary); this module loads them and
//! answers `permits(engine, level, rule)`. An engine's server settings (CockroachDB's cluster
//! settings, TiDB's transaction mode, ...) are data too: [`EngineSettings`] holds the values a
//! project chose, and [`Semantics::configured`] is the table with them applied, which every
//! stage of a check asks instead of the embedded one. Architecture Invariant: no other module matches on an
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
    Spanner,
    Tidb,
    Yugabytedb,
}

impl Engine {
    pub const ALL: [Engine; 10] = [
        Engine::Postgres,
        Engine::Mysql,
        Engine::Mariadb,
        Engine::Sqlserver,
        Engine::Oracle,
        Engine::Cockroachdb,
        Engine::Sqlite,
        Engine::Spanner,
        Engine::Tidb,
        Engine::Yugabytedb,
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
            Engine::Spanner => "spanner",
            Engine::Tidb => "tidb",
            Engine::Yugabytedb => "yugabytedb",
        }
    }

    /// Accepts the ids and the usual other names (`postgresql`, `mssql`, `tsql`, `cockroach`,
    /// `yugabyte`).
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
            "spanner" | "cloud-spanner" => Engine::Spanner,
            "tidb" => Engine::Tidb,
            "yugabytedb" | "yugabyte" | "ysql" => Engine::Yugabytedb,
            _ => return None,
        };
        Some(engine)
    }

    /// Transactions start implicitly with the first statement after a commit (no BEGIN).
    pub fn implicit_transactions(self) -> bool {
        self == Engine::Oracle
    }

    /// Engines that speak MySQL's SQL: MariaDB and TiDB.
    pub fn is_mysql_family(self) -> bool {
        matches!(self, Engine::Mysql | Engine::Mariadb | Engine::Tidb)
    }

    /// Engines that speak PostgreSQL's SQL: CockroachDB, YugabyteDB's YSQL, and Spanner, whose
    /// SQL isolint reads as its PostgreSQL interface's.
    pub fn is_postgres_family(self) -> bool {
        matches!(
            self,
            Engine::Postgres | Engine::Cockroachdb | Engine::Yugabytedb | Engine::Spanner
        )
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
    /// A few words shown beside the level's name in tables (`snapshot isolation`).
    #[serde(default)]
    pub note: Option<String>,
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
    /// A locking read does not wait for another locking read of the same row: it fails at
    /// commit when the row changed (Spanner's optimistic read lock mode), so two transactions
    /// that lock the same row without changing it are not serialised by it.
    #[serde(default)]
    pub locking_reads_validate: bool,
    /// The reads of a statement that writes (`INSERT ... SELECT`'s source, an UPDATE's or
    /// DELETE's subqueries and joined tables) lock the rows they scan, shared, and read the
    /// newest committed rows, as `LOCK IN SHARE MODE` does (InnoDB at REPEATABLE READ and
    /// SERIALIZABLE).
    #[serde(default)]
    pub write_reads_lock: bool,
    /// The reads of a DELETE (its subqueries, its `USING` tables) and of an UPDATE of joined
    /// tables lock as [`LevelSpec::write_reads_lock`] says, where other writing statements
    /// read as plain reads do (InnoDB at READ COMMITTED: only `INSERT ... SELECT` and a
    /// one-table UPDATE read their subqueries consistently).
    #[serde(default)]
    pub delete_reads_lock: bool,
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
    /// What a transaction that must be retried fails with; a serialization failure (SQLSTATE
    /// 40001) when the table says nothing.
    #[serde(default)]
    pub retry: Option<String>,
    /// The documents the engine's facts come from.
    #[serde(default)]
    pub sources: Vec<String>,
    /// The server settings that change what the levels do, by the name `isolint.toml` gives
    /// them.
    #[serde(default)]
    pub settings: BTreeMap<String, SettingSpec>,
}

/// A server setting that changes what an engine's levels do.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingSpec {
    /// The engine's own name for it (`tidb_txn_mode`).
    pub variable: String,
    /// What it does, in a sentence without its first capital.
    pub about: String,
    pub default: SettingValue,
    /// The values a text setting takes; a setting whose default is a boolean takes booleans.
    #[serde(default)]
    pub values: Vec<String>,
    /// The statement that sets it for the whole server in the engine's own SQL, which a
    /// migration may run; `None` when no SQL statement does (a server flag, a client option).
    #[serde(default)]
    pub sql: Option<SqlScope>,
    /// One transaction chooses its own value with `BEGIN <VALUE>` (TiDB's `BEGIN OPTIMISTIC`),
    /// over every other choice, and a session's `SET variable = value` chooses it for the
    /// session's later transactions (see [`Semantics::with_choices`]). Only a setting that
    /// takes words can be.
    #[serde(default)]
    pub per_transaction: bool,
    /// What changes, per value other than the default.
    #[serde(default)]
    pub when: BTreeMap<String, Overlay>,
}

impl SettingSpec {
    /// The values it takes, the default first.
    pub fn accepted(&self) -> Vec<SettingValue> {
        match &self.default {
            SettingValue::Boolean(default) => vec![
                SettingValue::Boolean(*default),
                SettingValue::Boolean(!default),
            ],
            SettingValue::Text(default) => std::iter::once(default.clone())
                .chain(
                    self.values
                        .iter()
                        .filter(|value| *value != default)
                        .cloned(),
                )
                .map(SettingValue::Text)
                .collect(),
        }
    }

    /// `variable = value`, as the engine writes it.
    pub fn assignment(&self, value: &SettingValue) -> String {
        format!("{} = {}", self.variable, value.sql())
    }

    /// The statement that sets it to `value` server-wide (`SET GLOBAL tidb_txn_mode =
    /// 'optimistic'`), if SQL can.
    pub fn statement(&self, value: &SettingValue) -> Option<String> {
        self.sql
            .map(|scope| format!("{} {}", scope.keywords(), self.assignment(value)))
    }
}

/// How a setting is set for the whole server in SQL. Only these statements are read from
/// migrations: a session's `SET` changes one connection, not the server the transactions run
/// on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SqlScope {
    /// CockroachDB's `SET CLUSTER SETTING name = value`.
    Cluster,
    /// The MySQL family's `SET GLOBAL name = value`, `SET PERSIST name = value`, `SET
    /// @@GLOBAL.name = value` and `SET @@PERSIST.name = value`.
    Global,
}

impl SqlScope {
    /// The words after `SET` that give the scope.
    pub fn keywords(self) -> &'static str {
        match self {
            SqlScope::Cluster => "SET CLUSTER SETTING",
            SqlScope::Global => "SET GLOBAL",
        }
    }
}

/// A setting's value: `true`, or a word (`optimistic`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(untagged)]
pub enum SettingValue {
    Boolean(bool),
    Text(String),
}

impl SettingValue {
    /// The key of its `when` table, and how `isolint.toml` spells a text value.
    pub fn key(&self) -> String {
        match self {
            SettingValue::Boolean(flag) => flag.to_string(),
            SettingValue::Text(text) => text.clone(),
        }
    }

    /// As TOML writes it (`true`, `"optimistic"`).
    pub fn toml(&self) -> String {
        match self {
            SettingValue::Boolean(flag) => flag.to_string(),
            SettingValue::Text(text) => format!("\"{text}\""),
        }
    }

    /// As SQL writes it (`true`, `'optimistic'`).
    pub fn sql(&self) -> String {
        match self {
            SettingValue::Boolean(flag) => flag.to_string(),
            SettingValue::Text(text) => format!("'{text}'"),
        }
    }
}

/// What a setting's value changes in its engine's entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Overlay {
    /// The engine's name in output, when the value changes what it is.
    #[serde(default)]
    pub display: Option<String>,
    /// Levels that run as another one.
    #[serde(default)]
    pub aliases: BTreeMap<String, String>,
    /// Levels that behave otherwise, or exist only with this value.
    #[serde(default)]
    pub levels: BTreeMap<String, LevelSpec>,
}

/// The values chosen for an engine's settings (in `isolint.toml`), by setting name. A setting
/// left out has its default. Only [`EngineSettings::set`] adds a value, after checking it
/// against the engine table, so every value here is one the table knows.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EngineSettings {
    engine: Option<Engine>,
    values: BTreeMap<String, SettingValue>,
}

/// A setting the engine table does not know, or a value it does not take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingError {
    /// The engine has no such setting; `valid` lists the ones it has.
    Unknown { valid: Vec<String> },
    /// A boolean setting given a word, or a word setting given a boolean.
    WrongType { expected: &'static str },
    /// A value the setting does not take; `valid` lists the ones it takes.
    UnknownValue { valid: Vec<String> },
}

impl EngineSettings {
    /// No choice: every setting at its default.
    pub fn new() -> EngineSettings {
        EngineSettings::default()
    }

    /// Chooses `value` for `engine`'s setting `name`. Settings of another engine than the one
    /// chosen before are dropped: they describe a server the project does not run on.
    pub fn set(
        &mut self,
        engine: Engine,
        name: &str,
        value: SettingValue,
    ) -> Result<(), SettingError> {
        let spec = Semantics::embedded().spec(engine);
        let setting = spec
            .settings
            .get(name)
            .ok_or_else(|| SettingError::Unknown {
                valid: spec.settings.keys().cloned().collect(),
            })?;
        let accepted = setting.accepted();
        match (&setting.default, &value) {
            (SettingValue::Boolean(_), SettingValue::Text(_)) => {
                return Err(SettingError::WrongType {
                    expected: "true or false",
                });
            }
            (SettingValue::Text(_), SettingValue::Boolean(_)) => {
                return Err(SettingError::WrongType {
                    expected: "a string",
                });
            }
            _ => {}
        }
        if !accepted.contains(&value) {
            return Err(SettingError::UnknownValue {
                valid: accepted.iter().map(SettingValue::key).collect(),
            });
        }
        if self.engine != Some(engine) {
            self.values.clear();
            self.engine = Some(engine);
        }
        self.values.insert(name.to_string(), value);
        Ok(())
    }

    /// The settings chosen for `engine`, by name; none when they were chosen for another.
    pub fn of(&self, engine: Engine) -> impl Iterator<Item = (&str, &SettingValue)> {
        self.values
            .iter()
            .filter(move |_| self.engine == Some(engine))
            .map(|(name, value)| (name.as_str(), value))
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// A level that runs as another one because of a setting's value: `REPEATABLE READ on
/// CockroachDB with sql.txn.repeatable_read_isolation.enabled = false runs as SERIALIZABLE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upgrade {
    pub requested: Vec<Level>,
    pub runs_as: Level,
    /// `variable = value`, the setting's value that decides it.
    pub because: String,
}

/// The engine table, loaded once from the embedded `rules/engines.toml`, with the settings of
/// one engine applied (none for [`Semantics::embedded`]).
#[derive(Debug, Clone)]
pub struct Semantics {
    engines: BTreeMap<Engine, EngineSpec>,
    /// The settings applied, for the engine they were chosen for.
    settings: EngineSettings,
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

    /// The embedded table with `settings` applied. Each distinct choice is built once and kept
    /// for the life of the process: settings take finitely many values (each is checked against
    /// the table's list when chosen), so at most one table per combination ever exists.
    pub fn configured(settings: &EngineSettings) -> &'static Semantics {
        type Built = BTreeMap<EngineSettings, &'static Semantics>;
        static BUILT: OnceLock<std::sync::Mutex<Built>> = OnceLock::new();
        let embedded = Semantics::embedded();
        if settings.is_empty() {
            return embedded;
        }
        let built = BUILT.get_or_init(Default::default);
        // A thread that panicked while holding the lock left the map whole: every insert is
        // one call.
        let mut built = built
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        built.entry(settings.clone()).or_insert_with(|| {
            let mut semantics = embedded.clone();
            semantics.apply(settings);
            Box::leak(Box::new(semantics))
        })
    }

    /// Applies the overlays of `settings`' values, in the order of the settings' names.
    fn apply(&mut self, settings: &EngineSettings) {
        let Some(engine) = settings.engine else {
            return;
        };
        let Some(spec) = self.engines.get_mut(&engine) else {
            return;
        };
        let overlays: Vec<Overlay> = settings
            .values
            .iter()
            .filter_map(|(name, value)| spec.settings.get(name)?.when.get(&value.key()))
            .cloned()
            .collect();
        for overlay in &overlays {
            apply_overlay(spec, overlay);
        }
        self.settings = settings.clone();
    }

    pub fn from_toml(text: &str) -> Result<Semantics, String> {
        let raw: BTreeMap<String, EngineSpec> =
            toml::from_str(text).map_err(|error| error.to_string())?;
        let mut engines = BTreeMap::new();
        for (name, spec) in raw {
            let engine = Engine::parse(&name).ok_or_else(|| format!("unknown engine `{name}`"))?;
            check_entry(engine, &spec)?;
            for (setting_name, setting) in &spec.settings {
                check_setting(engine, &spec, setting_name, setting)?;
            }
            engines.insert(engine, spec);
        }
        // A rule no level lets through would never be reported: a rule added to the code but
        // not to the table must fail here, not be silently off.
        for rule in Rule::ALL {
            let listed = engines
                .values()
                .flat_map(|spec| {
                    let overlays = spec
                        .settings
                        .values()
                        .flat_map(|setting| setting.when.values())
                        .flat_map(|overlay| overlay.levels.values());
                    spec.levels.values().chain(overlays)
                })
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
            if !engines.contains_key(&engine) {
                return Err(format!("engine `{engine}` is missing"));
            }
        }
        Ok(Semantics {
            engines,
            settings: EngineSettings::new(),
        })
    }

    fn spec(&self, engine: Engine) -> &EngineSpec {
        // Invariant: `from_toml` checked that every engine has an entry.
        &self.engines[&engine]
    }

    /// See [`EngineSpec::foreign_key_locks_parent`].
    pub fn foreign_key_locks_parent(&self, engine: Engine) -> bool {
        self.spec(engine).foreign_key_locks_parent
    }

    /// The engine's name in output, as its settings make it.
    pub fn display(&self, engine: Engine) -> &str {
        &self.spec(engine).display
    }

    /// What a transaction that must be retried fails with on `engine`.
    pub fn retry(&self, engine: Engine) -> &str {
        self.declared_retry(engine)
            .unwrap_or("serialization failure (SQLSTATE 40001)")
    }

    /// What the table says a transaction that must be retried fails with, if it says.
    pub fn declared_retry(&self, engine: Engine) -> Option<&str> {
        self.spec(engine).retry.as_deref()
    }

    /// The documents the engine's facts come from.
    pub fn sources(&self, engine: Engine) -> &[String] {
        &self.spec(engine).sources
    }

    /// The engine's settings, by the name `isolint.toml` gives them.
    pub fn settings(&self, engine: Engine) -> &BTreeMap<String, SettingSpec> {
        &self.spec(engine).settings
    }

    /// The settings this table was built with, for the engine they were chosen for.
    pub fn chosen(&self) -> &EngineSettings {
        &self.settings
    }

    /// The level transactions that declare none run at: the engine's default, as the engine
    /// runs it (YugabyteDB's READ COMMITTED default runs as REPEATABLE READ unless enabled).
    pub fn default_level(&self, engine: Engine) -> Level {
        // Invariant: `from_toml` checked that the default resolves, with every setting's value.
        Level::parse(&self.spec(engine).default)
            .and_then(|level| self.resolve(engine, level))
            .unwrap_or(Level::Serializable)
    }

    /// The level the engine really runs for a requested level, or `None` when the engine has
    /// no such level.
    pub fn resolve(&self, engine: Engine, requested: Level) -> Option<Level> {
        resolve_in(self.spec(engine), requested)
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

    /// The levels that run as another one on `engine` because of a setting's value (the value
    /// chosen, else the default), grouped by the level they run as and the setting: what a
    /// user who asks for those levels should know.
    pub fn upgrades(&self, engine: Engine) -> Vec<Upgrade> {
        let mut upgrades: Vec<Upgrade> = Vec::new();
        for alternative in self.alternatives(engine) {
            let Some(setting) = self.settings(engine).get(&alternative.name) else {
                continue;
            };
            let because = setting.assignment(self.value_of(engine, &alternative.name, setting));
            for requested in Level::ALL {
                let runs_as = self.resolve(engine, requested);
                let Some(runs_as) = runs_as.filter(|runs_as| *runs_as != requested) else {
                    continue;
                };
                // The setting is the reason only where its other value runs the level as
                // itself, or rejects it.
                let otherwise = alternative.semantics.resolve(engine, requested);
                if otherwise.is_some_and(|otherwise| otherwise != requested) {
                    continue;
                }
                match upgrades
                    .iter_mut()
                    .find(|upgrade| upgrade.runs_as == runs_as && upgrade.because == because)
                {
                    Some(upgrade) if !upgrade.requested.contains(&requested) => {
                        upgrade.requested.push(requested);
                    }
                    Some(_) => {}
                    None => upgrades.push(Upgrade {
                        requested: vec![requested],
                        runs_as,
                        because: because.clone(),
                    }),
                }
            }
        }
        upgrades
    }

    /// The value the table was built with for `engine`'s setting `name` (the chosen one, else
    /// the default); `None` when the engine has no such setting.
    pub fn value(&self, engine: Engine, name: &str) -> Option<&SettingValue> {
        let setting = self.settings(engine).get(name)?;
        Some(self.value_of(engine, name, setting))
    }

    /// The settings whose value here differs from their value in `other`, as the engine writes
    /// them (`tidb_txn_mode = 'optimistic'`), in the order of their names.
    pub fn differences(&self, engine: Engine, other: &Semantics) -> Vec<String> {
        self.settings(engine)
            .iter()
            .filter_map(|(name, setting)| {
                let value = self.value_of(engine, name, setting);
                (value != other.value_of(engine, name, setting)).then(|| setting.assignment(value))
            })
            .collect()
    }

    /// The setting and value that `BEGIN <word>` chooses for one transaction on `engine`
    /// (TiDB's `BEGIN OPTIMISTIC`: `mode = "optimistic"`), if it chooses one.
    pub fn begin_choice(&self, engine: Engine, word: &str) -> Option<(String, SettingValue)> {
        let value = SettingValue::Text(word.to_ascii_lowercase());
        self.settings(engine)
            .iter()
            .find(|(_, setting)| setting.per_transaction && setting.accepted().contains(&value))
            .map(|(name, _)| (name.clone(), value))
    }

    /// The setting that a session's `SET variable = value` chooses for the session's later
    /// transactions on `engine` (TiDB's `tidb_txn_mode`), with its name in `isolint.toml`.
    pub fn session_setting(&self, engine: Engine, variable: &str) -> Option<(&str, &SettingSpec)> {
        self.settings(engine)
            .iter()
            .find(|(_, setting)| {
                setting.per_transaction && setting.variable.eq_ignore_ascii_case(variable)
            })
            .map(|(name, setting)| (name.as_str(), setting))
    }

    /// The table of a transaction whose own SQL chose `choices` (by setting name, each a value
    /// the setting takes): this table's settings with `choices` over them. The table is built
    /// from the embedded one, as every table the checker uses is.
    pub fn with_choices(
        &self,
        engine: Engine,
        choices: &BTreeMap<String, SettingValue>,
    ) -> &'static Semantics {
        let mut settings = self.settings.clone();
        for (name, value) in choices {
            // Invariant: choices come from `begin_choice` and `session_setting`, which name
            // settings of `engine`, with values checked against them; `set` would only drop
            // another engine's, which cannot be here.
            let _ = settings.set(engine, name, value.clone());
        }
        Semantics::configured(&settings)
    }

    /// The value the table was built with for `engine`'s setting `name`: the chosen one, else
    /// the default.
    fn value_of<'a>(
        &'a self,
        engine: Engine,
        name: &str,
        setting: &'a SettingSpec,
    ) -> &'a SettingValue {
        self.settings
            .of(engine)
            .find(|(chosen, _)| *chosen == name)
            .map_or(&setting.default, |(_, value)| value)
    }
}

/// Another value of one of an engine's settings, and the table it makes.
pub struct Alternative {
    /// The setting's name in `isolint.toml`.
    pub name: String,
    pub value: SettingValue,
    /// `variable = value`, as the engine writes it.
    pub assignment: String,
    pub semantics: &'static Semantics,
}

impl Semantics {
    /// The tables `engine`'s settings make when one of them takes another value than now.
    pub fn alternatives(&self, engine: Engine) -> Vec<Alternative> {
        let chosen: BTreeMap<&str, &SettingValue> = self.settings.of(engine).collect();
        let mut found = Vec::new();
        for (name, setting) in self.settings(engine) {
            let current = self.value_of(engine, name, setting);
            for value in setting.accepted() {
                if &value == current {
                    continue;
                }
                let mut flipped = EngineSettings {
                    engine: Some(engine),
                    values: chosen
                        .iter()
                        .map(|(name, value)| (name.to_string(), (*value).clone()))
                        .collect(),
                };
                flipped.values.insert(name.clone(), value.clone());
                found.push(Alternative {
                    name: name.clone(),
                    assignment: setting.assignment(&value),
                    value,
                    semantics: Semantics::configured(&flipped),
                });
            }
        }
        found
    }

    /// The other setting values with which `engine` would accept a level it rejects now, for a
    /// hint to the user.
    pub fn accepted_with(&self, engine: Engine, level: Level) -> Vec<(String, SettingValue)> {
        if self.resolve(engine, level).is_some() {
            return Vec::new();
        }
        self.alternatives(engine)
            .into_iter()
            .filter(|alternative| alternative.semantics.resolve(engine, level).is_some())
            .map(|alternative| (alternative.name, alternative.value))
            .collect()
    }

    /// How the engine would accept a level it rejects now: each other setting value that makes
    /// it accept the level, as `isolint.toml` writes it and, where SQL can set it, as a
    /// migration does. `None` when no setting does.
    pub fn acceptance_hint(&self, engine: Engine, level: Level) -> Option<String> {
        let ways: Vec<String> = self
            .accepted_with(engine, level)
            .iter()
            .map(|(name, value)| {
                let mut way = format!("`{name} = {}` under [engine] in isolint.toml", value.toml());
                if let Some(statement) = self
                    .settings(engine)
                    .get(name)
                    .and_then(|setting| setting.statement(value))
                {
                    way.push_str(&format!(" or `{statement}` in a migration"));
                }
                way
            })
            .collect();
        (!ways.is_empty()).then(|| ways.join("; or "))
    }

    /// The level a transaction that asks for `requested` is analysed at: the level the engine
    /// runs it as; for a level the engine rejects, its default, with a warning that says so.
    /// Every program's level, declared or configured, goes through here, so none is analysed
    /// at a level the table has no entry for.
    pub fn effective_level(&self, engine: Engine, requested: Level) -> (Level, Option<String>) {
        if let Some(resolved) = self.resolve(engine, requested) {
            return (resolved, None);
        }
        let default = self.default_level(engine);
        let accepted: Vec<&str> = self.levels(engine).into_iter().map(Level::sql).collect();
        let hint = self
            .acceptance_hint(engine, requested)
            .map(|hint| {
                format!(
                    " ({} too with {hint}, if the server accepts it)",
                    requested.sql()
                )
            })
            .unwrap_or_default();
        let warning = format!(
            "{} has no {} isolation level; analysed at its default, {}; declare one of: {}{hint}",
            self.display(engine),
            requested.sql(),
            default.sql(),
            accepted.join(", "),
        );
        (default, Some(warning))
    }

    /// The other setting values with which `level` would prevent `rule` on `engine` without
    /// letting more of the rules that are on by default through: a fix that changes the server
    /// instead of the SQL.
    pub fn preventing(&self, engine: Engine, level: Level, rule: Rule) -> Vec<Alternative> {
        let permitted = |semantics: &Semantics| {
            Rule::ALL
                .into_iter()
                .filter(|rule| rule.enabled_by_default() && semantics.permits(engine, level, *rule))
                .count()
        };
        if !self.permits(engine, level, rule) {
            return Vec::new();
        }
        let now = permitted(self);
        self.alternatives(engine)
            .into_iter()
            .filter(|alternative| {
                alternative.semantics.resolve(engine, level).is_some()
                    && !alternative.semantics.permits(engine, level, rule)
                    && permitted(alternative.semantics) <= now
            })
            .collect()
    }
}

/// `requested` in one engine's entry: its own level, else the level it is an alias of.
fn resolve_in(spec: &EngineSpec, requested: Level) -> Option<Level> {
    if spec.levels.contains_key(requested.id()) {
        return Some(requested);
    }
    spec.aliases
        .get(requested.id())
        .and_then(|target| Level::parse(target))
        .filter(|target| spec.levels.contains_key(target.id()))
}

/// A level the overlay defines replaces an alias of that name, and an alias replaces a level,
/// so the overlay's word is the last.
fn apply_overlay(spec: &mut EngineSpec, overlay: &Overlay) {
    if let Some(display) = &overlay.display {
        spec.display = display.clone();
    }
    for (name, level) in &overlay.levels {
        spec.aliases.remove(name);
        spec.levels.insert(name.clone(), level.clone());
    }
    for (name, target) in &overlay.aliases {
        spec.levels.remove(name);
        spec.aliases.insert(name.clone(), target.clone());
    }
}

/// An engine's entry (or its entry with a setting applied) names real levels and rules, its
/// aliases lead to levels, and its default level resolves.
fn check_entry(engine: Engine, spec: &EngineSpec) -> Result<(), String> {
    for (level_name, level) in &spec.levels {
        Level::parse(level_name).ok_or_else(|| format!("unknown level `{level_name}`"))?;
        for rule in &level.permits {
            Rule::from_id(rule).ok_or_else(|| format!("unknown rule `{rule}`"))?;
        }
    }
    for (from, to) in &spec.aliases {
        let from = Level::parse(from).ok_or_else(|| format!("unknown level `{from}`"))?;
        let to = Level::parse(to).ok_or_else(|| format!("unknown level `{to}`"))?;
        if !spec.levels.contains_key(to.id()) {
            return Err(format!(
                "{engine}: {} runs as {}, which has no entry",
                from.id(),
                to.id()
            ));
        }
    }
    let default =
        Level::parse(&spec.default).ok_or_else(|| format!("{engine}: bad default level"))?;
    if resolve_in(spec, default).is_none() {
        return Err(format!("{engine}: default level has no entry"));
    }
    Ok(())
}

/// A setting's default and values agree, each value it lists changes something real, and the
/// entry stays whole with each value applied.
fn check_setting(
    engine: Engine,
    spec: &EngineSpec,
    name: &str,
    setting: &SettingSpec,
) -> Result<(), String> {
    match &setting.default {
        SettingValue::Boolean(_) if !setting.values.is_empty() => {
            return Err(format!(
                "{engine}: setting `{name}` is a boolean and lists values"
            ));
        }
        SettingValue::Text(default) if !setting.values.contains(default) => {
            return Err(format!(
                "{engine}: setting `{name}`'s default is not among its values"
            ));
        }
        _ => {}
    }
    if setting.per_transaction && !matches!(setting.default, SettingValue::Text(_)) {
        return Err(format!(
            "{engine}: setting `{name}` is chosen per transaction with `BEGIN <value>`, so it \
             must take words"
        ));
    }
    let accepted: Vec<String> = setting.accepted().iter().map(SettingValue::key).collect();
    for (value, overlay) in &setting.when {
        if !accepted.contains(value) || *value == setting.default.key() {
            return Err(format!(
                "{engine}: setting `{name}` has a `when` for `{value}`, which is not one of its \
                 other values ({})",
                accepted.join(", ")
            ));
        }
        let mut applied = spec.clone();
        apply_overlay(&mut applied, overlay);
        check_entry(engine, &applied)
            .map_err(|error| format!("{error} (with {name} = {value})"))?;
    }
    Ok(())
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
            Engine::Spanner,
            Engine::Yugabytedb,
        ] {
            for rule in Rule::ALL {
                assert!(!semantics.permits(engine, Level::Serializable, rule));
            }
        }
    }

    fn with(engine: Engine, choices: &[(&str, SettingValue)]) -> &'static Semantics {
        let mut settings = EngineSettings::new();
        for (name, value) in choices {
            settings.set(engine, name, value.clone()).unwrap();
        }
        Semantics::configured(&settings)
    }

    fn boolean(flag: bool) -> SettingValue {
        SettingValue::Boolean(flag)
    }

    fn text(word: &str) -> SettingValue {
        SettingValue::Text(word.to_string())
    }

    #[test]
    fn cockroach_repeatable_read_runs_as_serializable_unless_enabled() {
        let default = Semantics::embedded();
        let rr = Level::RepeatableRead;
        assert_eq!(
            default.resolve(Engine::Cockroachdb, rr),
            Some(Level::Serializable)
        );
        assert!(!default.permits(Engine::Cockroachdb, rr, Rule::WriteSkew));
        let enabled = with(
            Engine::Cockroachdb,
            &[("repeatable_read_enabled", boolean(true))],
        );
        assert_eq!(enabled.resolve(Engine::Cockroachdb, rr), Some(rr));
        assert!(enabled.permits(Engine::Cockroachdb, rr, Rule::WriteSkew));
        assert!(!enabled.permits(Engine::Cockroachdb, rr, Rule::LostUpdate));
        assert_eq!(
            enabled.resolve(Engine::Cockroachdb, Level::Snapshot),
            Some(rr)
        );
    }

    #[test]
    fn cockroach_read_committed_can_be_turned_off() {
        let rc = Level::ReadCommitted;
        assert!(Semantics::embedded().permits(Engine::Cockroachdb, rc, Rule::LostUpdate));
        let off = with(
            Engine::Cockroachdb,
            &[("read_committed_enabled", boolean(false))],
        );
        assert_eq!(
            off.resolve(Engine::Cockroachdb, rc),
            Some(Level::Serializable)
        );
        assert_eq!(
            off.resolve(Engine::Cockroachdb, Level::ReadUncommitted),
            Some(Level::Serializable)
        );
        assert!(!off.permits(Engine::Cockroachdb, rc, Rule::LostUpdate));
    }

    #[test]
    fn tidb_modes_differ_at_repeatable_read() {
        let rr = Level::RepeatableRead;
        let pessimistic = Semantics::embedded();
        assert!(pessimistic.permits(Engine::Tidb, rr, Rule::LostUpdate));
        assert!(pessimistic.level(Engine::Tidb, rr).read_skew_needs_write);
        assert!(!pessimistic.level(Engine::Tidb, rr).gap_locks);
        let optimistic = with(Engine::Tidb, &[("mode", text("optimistic"))]);
        assert!(!optimistic.permits(Engine::Tidb, rr, Rule::LostUpdate));
        assert!(optimistic.permits(Engine::Tidb, rr, Rule::DangerousStructure));
        // READ COMMITTED takes effect in pessimistic mode only.
        assert_eq!(
            pessimistic.resolve(Engine::Tidb, Level::ReadCommitted),
            Some(Level::ReadCommitted)
        );
        assert_eq!(
            optimistic.resolve(Engine::Tidb, Level::ReadCommitted),
            Some(rr)
        );
    }

    #[test]
    fn tidb_transactions_choose_their_own_mode() {
        let rr = Level::RepeatableRead;
        let run = Semantics::embedded();
        assert_eq!(
            run.begin_choice(Engine::Tidb, "OPTIMISTIC"),
            Some(("mode".to_string(), text("optimistic")))
        );
        assert_eq!(run.begin_choice(Engine::Tidb, "lazy"), None);
        assert_eq!(run.begin_choice(Engine::Mysql, "optimistic"), None);
        assert_eq!(
            run.session_setting(Engine::Tidb, "TIDB_TXN_MODE")
                .map(|(name, _)| name),
            Some("mode")
        );
        // A setting no transaction chooses for itself is the server's only.
        assert!(
            run.session_setting(Engine::Tidb, "tidb_skip_isolation_level_check")
                .is_none()
        );
        let optimistic = BTreeMap::from([("mode".to_string(), text("optimistic"))]);
        let own = run.with_choices(Engine::Tidb, &optimistic);
        assert!(!own.permits(Engine::Tidb, rr, Rule::LostUpdate));
        assert_eq!(
            own.differences(Engine::Tidb, run),
            ["tidb_txn_mode = 'optimistic'"]
        );
        // Over the run's other settings, which it keeps.
        let skipped = with(
            Engine::Tidb,
            &[("skip_isolation_level_check", boolean(true))],
        );
        let own = skipped.with_choices(Engine::Tidb, &optimistic);
        assert_eq!(
            own.resolve(Engine::Tidb, Level::Serializable),
            Some(Level::Serializable)
        );
        assert_eq!(
            own.differences(Engine::Tidb, skipped),
            ["tidb_txn_mode = 'optimistic'"]
        );
        // The run's own value differs in nothing.
        let pessimistic = BTreeMap::from([("mode".to_string(), text("pessimistic"))]);
        let own = run.with_choices(Engine::Tidb, &pessimistic);
        assert!(own.differences(Engine::Tidb, run).is_empty());
        assert!(own.permits(Engine::Tidb, rr, Rule::LostUpdate));
    }

    #[test]
    fn only_a_setting_that_takes_words_is_chosen_per_transaction() {
        let table = ENGINES_TOML.replacen(
            "variable = \"tidb_skip_isolation_level_check\"\n",
            "variable = \"tidb_skip_isolation_level_check\"\nper_transaction = true\n",
            1,
        );
        assert_ne!(table, ENGINES_TOML);
        let error = Semantics::from_toml(&table).unwrap_err();
        assert!(error.contains("must take words"), "{error}");
    }

    #[test]
    fn tidb_rejects_serializable_unless_the_check_is_skipped() {
        let semantics = Semantics::embedded();
        assert_eq!(semantics.resolve(Engine::Tidb, Level::Serializable), None);
        assert_eq!(
            semantics.resolve(Engine::Tidb, Level::ReadUncommitted),
            None
        );
        // Accepted, SERIALIZABLE is snapshot isolation in either mode: write skew, no lost
        // update, no read skew. READ UNCOMMITTED runs as the mode's repeatable read.
        let pessimistic = with(
            Engine::Tidb,
            &[("skip_isolation_level_check", boolean(true))],
        );
        let optimistic = with(
            Engine::Tidb,
            &[
                ("skip_isolation_level_check", boolean(true)),
                ("mode", text("optimistic")),
            ],
        );
        for skipped in [pessimistic, optimistic] {
            assert_eq!(
                skipped.resolve(Engine::Tidb, Level::Serializable),
                Some(Level::Serializable)
            );
            assert_eq!(
                skipped.resolve(Engine::Tidb, Level::ReadUncommitted),
                Some(Level::RepeatableRead)
            );
            for rule in [
                Rule::WriteSkew,
                Rule::PhantomWriteSkew,
                Rule::DangerousStructure,
            ] {
                assert!(
                    skipped.permits(Engine::Tidb, Level::Serializable, rule),
                    "{rule}"
                );
            }
            for rule in [Rule::LostUpdate, Rule::ReadSkew] {
                assert!(
                    !skipped.permits(Engine::Tidb, Level::Serializable, rule),
                    "{rule}"
                );
            }
            assert!(skipped.level(Engine::Tidb, Level::Serializable).snapshot);
        }
        assert!(pessimistic.permits(Engine::Tidb, Level::ReadUncommitted, Rule::LostUpdate));
        assert!(!optimistic.permits(Engine::Tidb, Level::ReadUncommitted, Rule::LostUpdate));
    }

    #[test]
    fn yugabyte_read_committed_is_snapshot_isolation_unless_enabled() {
        let semantics = Semantics::embedded();
        assert_eq!(
            semantics.default_level(Engine::Yugabytedb),
            Level::RepeatableRead
        );
        assert!(!semantics.permits(Engine::Yugabytedb, Level::ReadCommitted, Rule::LostUpdate));
        let enabled = with(
            Engine::Yugabytedb,
            &[("read_committed_enabled", boolean(true))],
        );
        assert_eq!(
            enabled.default_level(Engine::Yugabytedb),
            Level::ReadCommitted
        );
        assert!(enabled.permits(Engine::Yugabytedb, Level::ReadCommitted, Rule::LostUpdate));
        assert_eq!(
            enabled.resolve(Engine::Yugabytedb, Level::ReadUncommitted),
            Some(Level::ReadCommitted)
        );
    }

    #[test]
    fn spanner_repeatable_read_locking_reads_stop_phantoms() {
        let semantics = Semantics::embedded();
        let rr = semantics.level(Engine::Spanner, Level::RepeatableRead);
        assert!(rr.snapshot && rr.gap_locks);
        assert!(!semantics.permits(Engine::Spanner, Level::RepeatableRead, Rule::LostUpdate));
        assert!(semantics.permits(Engine::Spanner, Level::RepeatableRead, Rule::WriteSkew));
        assert_eq!(
            semantics.default_level(Engine::Spanner),
            Level::Serializable
        );
        assert_eq!(
            semantics.resolve(Engine::Spanner, Level::ReadCommitted),
            None
        );
        assert!(semantics.retry(Engine::Spanner).contains("ABORTED"));
    }

    #[test]
    fn mariadb_without_snapshot_isolation_behaves_as_mysql() {
        let off = with(Engine::Mariadb, &[("snapshot_isolation", boolean(false))]);
        let rr = Level::RepeatableRead;
        for rule in Rule::ALL {
            assert_eq!(
                off.permits(Engine::Mariadb, rr, rule),
                off.permits(Engine::Mysql, rr, rule),
                "{rule}"
            );
        }
        assert!(off.display(Engine::Mariadb).contains("OFF"));
    }

    #[test]
    fn upgrades_name_the_setting_that_decides_them() {
        let upgrades = Semantics::embedded().upgrades(Engine::Cockroachdb);
        assert_eq!(
            upgrades,
            [Upgrade {
                requested: vec![Level::RepeatableRead],
                runs_as: Level::Serializable,
                because: "sql.txn.repeatable_read_isolation.enabled = false".to_string(),
            }]
        );
        let yugabyte = Semantics::embedded().upgrades(Engine::Yugabytedb);
        assert_eq!(yugabyte.len(), 1);
        assert_eq!(yugabyte[0].requested, [Level::ReadCommitted]);
        assert_eq!(yugabyte[0].runs_as, Level::RepeatableRead);
        assert!(Semantics::embedded().upgrades(Engine::Postgres).is_empty());
        assert!(Semantics::embedded().upgrades(Engine::Tidb).is_empty());
        let skipped = with(
            Engine::Tidb,
            &[("skip_isolation_level_check", boolean(true))],
        );
        let upgrades = skipped.upgrades(Engine::Tidb);
        assert_eq!(upgrades.len(), 1);
        // SERIALIZABLE runs as itself (snapshot isolation), READ UNCOMMITTED as REPEATABLE READ.
        assert_eq!(upgrades[0].requested, [Level::ReadUncommitted]);
        assert_eq!(upgrades[0].runs_as, Level::RepeatableRead);
        assert_eq!(
            upgrades[0].because,
            "tidb_skip_isolation_level_check = true"
        );
    }

    #[test]
    fn settings_are_checked_against_the_table() {
        let mut settings = EngineSettings::new();
        assert_eq!(
            settings.set(Engine::Tidb, "mode", text("lazy")),
            Err(SettingError::UnknownValue {
                valid: vec!["pessimistic".into(), "optimistic".into()]
            })
        );
        assert_eq!(
            settings.set(Engine::Tidb, "mode", boolean(true)),
            Err(SettingError::WrongType {
                expected: "a string"
            })
        );
        assert_eq!(
            settings.set(Engine::Postgres, "mode", text("optimistic")),
            Err(SettingError::Unknown { valid: vec![] })
        );
        assert!(settings.is_empty());
        settings
            .set(Engine::Tidb, "mode", text("optimistic"))
            .unwrap();
        // Settings of another engine replace them.
        settings
            .set(Engine::Yugabytedb, "read_committed_enabled", boolean(true))
            .unwrap();
        assert_eq!(settings.of(Engine::Tidb).count(), 0);
        assert_eq!(settings.of(Engine::Yugabytedb).count(), 1);
    }

    #[test]
    fn a_setting_value_that_breaks_the_entry_is_an_error() {
        let table = ENGINES_TOML.replacen(
            "aliases = { read-committed = \"repeatable-read\" }",
            "aliases = { read-committed = \"serializable\" }",
            1,
        );
        let error = Semantics::from_toml(&table).unwrap_err();
        assert!(error.contains("with mode = optimistic"), "{error}");
    }
}
