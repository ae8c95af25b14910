//! Reading the text of an `isolint.toml`: the [`Document`] walked key by key into a
//! [`Config`], the keys each table accepts (with the example its errors show), and the helpers
//! of its error messages (the closest valid name, "a string" or "an integer" for what was found).

use std::collections::BTreeMap;
use std::path::Path;

use miette::NamedSource;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::{Config, ConfigError, RuleSetting, SetupFile, build_glob};
use crate::compose::{Composition, Step};
use crate::rule::{REGISTRY, Rule, Severity};
use crate::semantics::{Engine, Level, Semantics, SettingError, SettingValue};
use crate::suggest::edit_distance;

/// The top-level keys, each with the example its error messages show.
pub(super) const TOP_LEVEL_KEYS: &[(&str, &str)] = &[
    ("engine", r#"engine = "postgres""#),
    ("isolation", r#"isolation = "read-committed""#),
    ("schema", r#"schema = ["migrations/**", "db/schema.sql"]"#),
    ("include", r#"include = ["**/*.sql"]"#),
    ("exclude", r#"exclude = ["vendor/**"]"#),
    ("rules", r#"[rules] write-skew = "error""#),
    ("variables", r#"[variables] SCHEMA = "app""#),
    (
        "transaction",
        r#"[[transaction]] name = "transfer" steps = ["GetAccount", "UpdateBalance"]"#,
    ),
    ("confirm", r#"[confirm] setup = ["confirm-setup.sql"]"#),
    (
        "parameters",
        r#"[parameters.delete_old_jobs] statuses = ["succeeded", "failed"]"#,
    ),
];

/// The keys of the `[confirm]` table.
const CONFIRM_KEYS: &[(&str, &str)] = &[("setup", r#"setup = ["confirm-setup.sql"]"#)];

/// The keys of a `[[transaction]]` table.
const TRANSACTION_KEYS: &[(&str, &str)] = &[
    ("name", r#"name = "transfer""#),
    ("isolation", r#"isolation = "repeatable-read""#),
    ("steps", r#"steps = ["GetAccount", "UpdateBalance"]"#),
    (
        "steps_run_alone",
        r#"steps_run_alone = false (or ["UpdateBalance"])"#,
    ),
    ("atomic", "atomic = false"),
    ("returns_if_found", r#"returns_if_found = ["GetAccount"]"#),
];

/// The key of the `[engine]` table that names the engine; the others are the engine's settings
/// (`rules/engines.toml`).
const ENGINE_NAME_KEY: (&str, &str) = ("name", r#"name = "tidb""#);

/// The configuration text being read, for errors that show it.
pub(super) struct Document<'t> {
    pub(super) name: String,
    pub(super) text: &'t str,
}

type Entry<'a, 'i> = (
    &'a Spanned<toml::de::DeString<'i>>,
    &'a Spanned<DeValue<'i>>,
);

impl Document<'_> {
    pub(super) fn source(&self) -> NamedSource<String> {
        NamedSource::new(&self.name, self.text.to_string())
    }

    pub(super) fn read_engine(
        &self,
        value: &Spanned<DeValue>,
        config: &mut Config,
    ) -> Result<(), ConfigError> {
        let DeValue::Table(table) = value.get_ref() else {
            config.engine = Some(self.engine(value)?);
            return Ok(());
        };
        let mut settings = Vec::new();
        for (key, value) in in_file_order(table) {
            match key.get_ref().as_ref() {
                "name" => config.engine = Some(self.engine(value)?),
                _ => settings.push((key, value)),
            }
        }
        // The settings are the named engine's, and `name` may come after them.
        let engine = config.engine.unwrap_or(Engine::Postgres);
        let engine_keys = engine_keys(engine);
        for (key, value) in settings {
            let name = key.get_ref().as_ref();
            // A wrong type shows an example of the setting even when the engine is not named.
            let example = setting_example(name)
                .map(|(_, default)| format!("{name} = {}", default.toml()))
                .unwrap_or_default();
            let keys: Vec<(&str, &str)> = engine_keys
                .iter()
                .map(|(key, example)| (*key, example.as_str()))
                .chain(std::iter::once((name, example.as_str())))
                .collect();
            let setting = match (value.get_ref(), setting_example(name)) {
                (DeValue::Boolean(flag), None | Some((_, SettingValue::Boolean(_)))) => {
                    SettingValue::Boolean(*flag)
                }
                // Words are case-insensitive, as in the engine's SQL.
                (DeValue::String(text), None | Some((_, SettingValue::Text(_)))) => {
                    SettingValue::Text(text.to_ascii_lowercase())
                }
                (_, Some((_, SettingValue::Boolean(_)))) => {
                    return Err(self.wrong_type(name, "true or false", value, &keys));
                }
                (_, Some(_)) => return Err(self.wrong_type(name, "a string", value, &keys)),
                (_, None) => {
                    return Err(self.unknown_key(key, "[engine]", &keys[..engine_keys.len()]));
                }
            };
            let error = match config.engine_settings.set(engine, name, setting) {
                Ok(()) => continue,
                Err(error) => error,
            };
            return Err(match error {
                SettingError::Unknown { .. } => match setting_example(name) {
                    Some((owner, _)) if config.engine.is_none() => ConfigError::UnknownKey {
                        key: name.to_string(),
                        table: "[engine]",
                        src: self.source(),
                        span: key.span().into(),
                        help: format!(
                            "`{name}` is a setting of {owner}: name the engine with `name = \"{}\"`",
                            owner.id()
                        ),
                    },
                    _ => self.unknown_key(key, "[engine]", &keys[..engine_keys.len()]),
                },
                SettingError::WrongType { expected } => {
                    self.wrong_type(name, expected, value, &keys)
                }
                SettingError::UnknownValue { valid } => ConfigError::UnknownSettingValue {
                    key: name.to_string(),
                    value: self.text[value.span()].trim_matches('"').to_string(),
                    src: self.source(),
                    span: value.span().into(),
                    help: format!(
                        "{} ({}) takes: {}",
                        Semantics::embedded().display(engine),
                        // Invariant: `set` answers `UnknownValue` only for a setting it found
                        // in the engine's entry under `name`.
                        Semantics::embedded().settings(engine)[name].variable,
                        valid.join(", ")
                    ),
                },
            });
        }
        Ok(())
    }

    fn engine(&self, value: &Spanned<DeValue>) -> Result<Engine, ConfigError> {
        let name = self.string("engine", value)?;
        Engine::parse(name).ok_or_else(|| {
            let engines: Vec<&str> = Engine::ALL.into_iter().map(Engine::id).collect();
            ConfigError::UnknownEngine {
                value: name.to_string(),
                src: self.source(),
                span: value.span().into(),
                help: with_suggestion(name, &engines, "use one of"),
            }
        })
    }

    pub(super) fn level(&self, value: &Spanned<DeValue>) -> Result<Level, ConfigError> {
        let name = self.string("isolation", value)?;
        Level::parse(name).ok_or_else(|| {
            let levels: Vec<&str> = Level::ALL.into_iter().map(Level::id).collect();
            ConfigError::UnknownLevel {
                value: name.to_string(),
                src: self.source(),
                span: value.span().into(),
                help: with_suggestion(name, &levels, "use one of"),
            }
        })
    }

    /// A list of globs, each checked to compile.
    pub(super) fn globs(
        &self,
        key: &'static str,
        value: &Spanned<DeValue>,
    ) -> Result<Vec<String>, ConfigError> {
        let DeValue::Array(items) = value.get_ref() else {
            return Err(self.wrong_type(key, "an array of strings", value, TOP_LEVEL_KEYS));
        };
        let mut globs = Vec::new();
        for item in items {
            let glob = self.string(key, item)?;
            if let Err(error) = build_glob(glob) {
                return Err(ConfigError::BadGlob {
                    glob: glob.to_string(),
                    key,
                    message: error.kind().to_string(),
                    src: Some(self.source()),
                    span: Some(item.span().into()),
                });
            }
            globs.push(glob.to_string());
        }
        Ok(globs)
    }

    pub(super) fn rules(
        &self,
        value: &Spanned<DeValue>,
    ) -> Result<BTreeMap<Rule, RuleSetting>, ConfigError> {
        let DeValue::Table(table) = value.get_ref() else {
            return Err(self.wrong_type("rules", "a table", value, TOP_LEVEL_KEYS));
        };
        let mut rules = BTreeMap::new();
        for (key, value) in in_file_order(table) {
            let id = key.get_ref().as_ref();
            let rule = Rule::from_id(id).ok_or_else(|| {
                let ids: Vec<&str> = REGISTRY.iter().map(|spec| spec.id).collect();
                ConfigError::UnknownRule {
                    rule: id.to_string(),
                    src: self.source(),
                    span: key.span().into(),
                    help: match closest(id, &ids) {
                        Some(close) => {
                            format!("did you mean `{close}`? `isolint rules` lists the rules")
                        }
                        None => "`isolint rules` lists the rules".to_string(),
                    },
                }
            })?;
            let DeValue::String(setting) = value.get_ref() else {
                return Err(ConfigError::WrongType {
                    key: id.to_string(),
                    expected: "a string",
                    found: article(value.get_ref()),
                    src: self.source(),
                    span: value.span().into(),
                    help: format!("for example: {id} = \"warning\""),
                });
            };
            let setting = match setting.trim().to_ascii_lowercase().as_str() {
                "error" => RuleSetting::Severity(Severity::Error),
                "warning" => RuleSetting::Severity(Severity::Warning),
                "off" => RuleSetting::Off,
                _ => {
                    return Err(ConfigError::UnknownSeverity {
                        value: setting.to_string(),
                        rule,
                        src: self.source(),
                        span: value.span().into(),
                    });
                }
            };
            rules.insert(rule, setting);
        }
        Ok(rules)
    }

    /// `[variables]`: names and their string values.
    pub(super) fn variables(
        &self,
        value: &Spanned<DeValue>,
    ) -> Result<BTreeMap<String, String>, ConfigError> {
        let DeValue::Table(table) = value.get_ref() else {
            return Err(self.wrong_type("variables", "a table", value, TOP_LEVEL_KEYS));
        };
        let mut variables = BTreeMap::new();
        for (key, value) in in_file_order(table) {
            let name = key.get_ref().to_string();
            let text = match value.get_ref() {
                DeValue::String(text) => text.to_string(),
                _ => {
                    return Err(ConfigError::WrongType {
                        key: name.clone(),
                        expected: "a string",
                        found: article(value.get_ref()),
                        src: self.source(),
                        span: value.span().into(),
                        help: format!("for example: {name} = \"app\""),
                    });
                }
            };
            variables.insert(name, text);
        }
        Ok(variables)
    }

    /// `[parameters]`: a table per query, mapping each parameter to the values its callers pass
    /// (a string, integer or boolean, or an array of them), kept as SQL literals.
    pub(super) fn parameters(
        &self,
        value: &Spanned<DeValue>,
    ) -> Result<BTreeMap<String, crate::access::extract::ParameterValues>, ConfigError> {
        let DeValue::Table(queries) = value.get_ref() else {
            return Err(self.wrong_type("parameters", "a table", value, TOP_LEVEL_KEYS));
        };
        let mut parameters = BTreeMap::new();
        for (query, table) in in_file_order(queries) {
            let query = query.get_ref().to_string();
            let DeValue::Table(table) = table.get_ref() else {
                return Err(self.wrong_type("parameters", "a table", table, TOP_LEVEL_KEYS));
            };
            let mut values = BTreeMap::new();
            for (name, value) in in_file_order(table) {
                let name = name.get_ref().to_string();
                let items = match value.get_ref() {
                    DeValue::Array(items) => items.iter().collect(),
                    _ => vec![value],
                };
                let example = format!(r#"{name} = ["succeeded", "failed"]"#);
                let literals = items
                    .into_iter()
                    .map(|item| match item.get_ref() {
                        DeValue::String(text) => Ok(format!("'{}'", text.replace('\'', "''"))),
                        DeValue::Integer(number) => Ok(number.to_string()),
                        DeValue::Boolean(flag) => Ok(flag.to_string()),
                        _ => Err(self.wrong_type(
                            &name,
                            "a string, an integer or a boolean",
                            item,
                            &[(name.as_str(), example.as_str())],
                        )),
                    })
                    .collect::<Result<Vec<String>, ConfigError>>()?;
                values.insert(name, literals);
            }
            parameters.insert(query, values);
        }
        Ok(parameters)
    }

    /// `[[transaction]]`: an array of tables with `name`, `steps` and maybe `isolation`.
    pub(super) fn transactions(
        &self,
        value: &Spanned<DeValue>,
    ) -> Result<Vec<Composition>, ConfigError> {
        let DeValue::Array(items) = value.get_ref() else {
            return Err(self.wrong_type(
                "transaction",
                "an array of tables",
                value,
                TOP_LEVEL_KEYS,
            ));
        };
        let mut compositions = Vec::new();
        for item in items {
            let DeValue::Table(table) = item.get_ref() else {
                return Err(self.wrong_type("transaction", "a table", item, TOP_LEVEL_KEYS));
            };
            let mut name = None;
            let mut isolation = None;
            let mut steps = None;
            let mut steps_run_alone = None;
            let mut atomic = None;
            let mut returns_if_found = Vec::new();
            for (key, value) in in_file_order(table) {
                match key.get_ref().as_ref() {
                    "name" => name = Some(self.string_in("name", value, TRANSACTION_KEYS)?),
                    "isolation" => isolation = Some(self.level(value)?),
                    "steps" => steps = Some(self.step_names("steps", value)?),
                    "returns_if_found" => {
                        returns_if_found = self.step_names("returns_if_found", value)?;
                    }
                    "steps_run_alone" => {
                        steps_run_alone = match value.get_ref() {
                            DeValue::Array(_) => Some(self.step_names("steps_run_alone", value)?),
                            _ if self.boolean_in("steps_run_alone", value, TRANSACTION_KEYS)? => {
                                None
                            }
                            _ => Some(Vec::new()),
                        };
                    }
                    "atomic" => {
                        atomic = Some((
                            self.boolean_in("atomic", value, TRANSACTION_KEYS)?,
                            key.span(),
                        ));
                    }
                    _ => return Err(self.unknown_key(key, "[[transaction]]", TRANSACTION_KEYS)),
                }
            }
            let missing = |key: &str| {
                let mut error = self.wrong_type(key, "set", item, TRANSACTION_KEYS);
                if let ConfigError::WrongType { found, .. } = &mut error {
                    *found = "missing";
                }
                error
            };
            let name = name.ok_or_else(|| missing("name"))?;
            if let (Some((false, span)), Some(_)) = (&atomic, isolation) {
                return Err(ConfigError::IsolationOfSeparateSteps {
                    transaction: name,
                    src: self.source(),
                    span: span.clone().into(),
                });
            }
            let steps = steps.ok_or_else(|| missing("steps"))?;
            let listed = returns_if_found
                .iter()
                .map(|step| ("returns_if_found", step))
                .chain(
                    steps_run_alone
                        .iter()
                        .flatten()
                        .map(|step| ("steps_run_alone", step)),
                );
            if let Some((key, stray)) = listed
                .into_iter()
                .find(|(_, listed)| !steps.iter().any(|step| step.name == listed.name))
            {
                let mut error = self.wrong_type(
                    key,
                    "names of the transaction's steps",
                    &Spanned::new(
                        stray.span.clone(),
                        DeValue::String(stray.name.clone().into()),
                    ),
                    TRANSACTION_KEYS,
                );
                if let ConfigError::WrongType { found, .. } = &mut error {
                    *found = "a query the steps do not run";
                }
                return Err(error);
            }
            compositions.push(Composition {
                name,
                isolation,
                steps,
                steps_run_alone,
                atomic: atomic.is_none_or(|(atomic, _)| atomic),
                returns_if_found,
            });
        }
        Ok(compositions)
    }

    /// A `[[transaction]]`'s list of query names (`steps`, `returns_if_found`), each with where
    /// it is written.
    fn step_names(&self, key: &str, value: &Spanned<DeValue>) -> Result<Vec<Step>, ConfigError> {
        let DeValue::Array(names) = value.get_ref() else {
            return Err(self.wrong_type(key, "an array of query names", value, TRANSACTION_KEYS));
        };
        names
            .iter()
            .map(|step| {
                Ok(Step {
                    name: self.string_in(key, step, TRANSACTION_KEYS)?,
                    span: step.span(),
                })
            })
            .collect()
    }

    /// `[confirm]`: `setup`, a list of SQL files relative to the config's directory.
    pub(super) fn confirm(
        &self,
        value: &Spanned<DeValue>,
        root: &Path,
    ) -> Result<Vec<SetupFile>, ConfigError> {
        let DeValue::Table(table) = value.get_ref() else {
            return Err(self.wrong_type("confirm", "a table", value, TOP_LEVEL_KEYS));
        };
        let mut files = Vec::new();
        for (key, value) in in_file_order(table) {
            match key.get_ref().as_ref() {
                "setup" => {
                    let DeValue::Array(items) = value.get_ref() else {
                        return Err(self.wrong_type(
                            "setup",
                            "an array of file paths",
                            value,
                            CONFIRM_KEYS,
                        ));
                    };
                    for item in items {
                        let written = self.string_in("setup", item, CONFIRM_KEYS)?;
                        files.push(SetupFile {
                            path: root.join(&written),
                            line: self.line_at(item.span().start),
                            written,
                        });
                    }
                }
                _ => return Err(self.unknown_key(key, "[confirm]", CONFIRM_KEYS)),
            }
        }
        Ok(files)
    }

    /// The 1-based line of a byte offset in the file.
    fn line_at(&self, offset: usize) -> usize {
        1 + self.text[..offset.min(self.text.len())]
            .bytes()
            .filter(|byte| *byte == b'\n')
            .count()
    }

    fn boolean_in(
        &self,
        key: &str,
        value: &Spanned<DeValue>,
        keys: &[(&str, &str)],
    ) -> Result<bool, ConfigError> {
        match value.get_ref() {
            DeValue::Boolean(flag) => Ok(*flag),
            _ => Err(self.wrong_type(key, "true or false", value, keys)),
        }
    }

    fn string_in(
        &self,
        key: &str,
        value: &Spanned<DeValue>,
        keys: &[(&str, &str)],
    ) -> Result<String, ConfigError> {
        match value.get_ref() {
            DeValue::String(text) => Ok(text.to_string()),
            _ => Err(self.wrong_type(key, "a string", value, keys)),
        }
    }

    fn string<'v>(&self, key: &str, value: &'v Spanned<DeValue>) -> Result<&'v str, ConfigError> {
        match value.get_ref() {
            DeValue::String(text) => Ok(text.as_ref()),
            _ => Err(self.wrong_type(key, "a string", value, TOP_LEVEL_KEYS)),
        }
    }

    fn wrong_type(
        &self,
        key: &str,
        expected: &'static str,
        value: &Spanned<DeValue>,
        keys: &[(&str, &str)],
    ) -> ConfigError {
        let example = keys
            .iter()
            .find(|(name, _)| *name == key)
            .map(|(_, example)| format!("for example: {example}"))
            .unwrap_or_default();
        ConfigError::WrongType {
            key: key.to_string(),
            expected,
            found: article(value.get_ref()),
            src: self.source(),
            span: value.span().into(),
            help: example,
        }
    }

    pub(super) fn unknown_key(
        &self,
        key: &Spanned<toml::de::DeString>,
        table: &'static str,
        keys: &[(&str, &str)],
    ) -> ConfigError {
        let names: Vec<&str> = keys.iter().map(|(name, _)| *name).collect();
        ConfigError::UnknownKey {
            key: key.get_ref().to_string(),
            table,
            src: self.source(),
            span: key.span().into(),
            help: with_suggestion(key.get_ref(), &names, "valid keys"),
        }
    }
}

/// A table's entries in the order they appear in the file, so the first mistake is reported
/// first.
pub(super) fn in_file_order<'a, 'i>(table: &'a DeTable<'i>) -> Vec<Entry<'a, 'i>> {
    let mut entries: Vec<Entry<'a, 'i>> = table.iter().collect();
    entries.sort_by_key(|(key, _)| key.span().start);
    entries
}

/// The keys of the `[engine]` table for `engine`, each with an example: `name`, then the
/// engine's settings at their defaults.
fn engine_keys(engine: Engine) -> Vec<(&'static str, String)> {
    std::iter::once((ENGINE_NAME_KEY.0, ENGINE_NAME_KEY.1.to_string()))
        .chain(
            Semantics::embedded()
                .settings(engine)
                .iter()
                .map(|(name, setting)| {
                    (
                        name.as_str(),
                        format!("{name} = {}", setting.default.toml()),
                    )
                }),
        )
        .collect()
}

/// Some engine's setting called `name`, with its default: enough to say what kind of value it
/// takes before the engine is known.
fn setting_example(name: &str) -> Option<(Engine, SettingValue)> {
    Engine::ALL.into_iter().find_map(|engine| {
        Semantics::embedded()
            .settings(engine)
            .get(name)
            .map(|setting| (engine, setting.default.clone()))
    })
}

/// "a string", "an integer" … for a value found where another kind was expected.
fn article(value: &DeValue) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a datetime",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// "did you mean `x`? {intro}: a, b, c" or "{intro}: a, b, c".
fn with_suggestion(wrong: &str, valid: &[&str], intro: &str) -> String {
    let list = valid.join(", ");
    match closest(wrong, valid) {
        Some(close) => format!("did you mean `{close}`? {intro}: {list}"),
        None => format!("{intro}: {list}"),
    }
}

/// The valid name nearest to `wrong`, if it is at most two edits away.
fn closest<'a>(wrong: &str, valid: &[&'a str]) -> Option<&'a str> {
    let wrong = wrong.to_ascii_lowercase();
    valid
        .iter()
        .map(|name| (edit_distance(&wrong, name), *name))
        .filter(|(distance, _)| *distance <= 2)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, name)| name)
}
