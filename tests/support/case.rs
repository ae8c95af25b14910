//! A fixture case: `fixtures/<name>/case.toml` and the runs it describes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use isolint::semantics::{Engine, Level};
use isolint::settings::{self, Choices};
use isolint::{CheckResult, check_sources, discover};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub about: String,
    /// An open modelling defect that this case shows: the case must still fail (it is reported
    /// as pending), and the fixture test fails once it passes, so that the marker is removed.
    #[serde(default)]
    pub pending: Option<String>,
    pub run: Vec<Run>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Run {
    pub engine: String,
    pub isolation: Option<String>,
    /// The engine's server settings, as `[engine]` in `isolint.toml` sets them:
    /// `settings = { mode = "optimistic" }`.
    #[serde(default)]
    pub settings: BTreeMap<String, toml::Value>,
    #[serde(default)]
    pub select: Vec<String>,
    #[serde(default)]
    pub require: Vec<Entry>,
    #[serde(default)]
    pub allow: Vec<Entry>,
}

/// One expected pair: `["rule", ["program", ...]]`, or with the statement at fault the
/// finding stands at, `["rule", ["program", ...], "path:line"]` (the path as the report
/// shows it).
#[derive(Deserialize)]
#[serde(untagged)]
pub enum Entry {
    Pair(String, Vec<String>),
    At(String, Vec<String>, String),
}

impl Entry {
    /// The pair the entry names.
    pub fn expected(&self) -> Expected {
        let (Entry::Pair(rule, programs) | Entry::At(rule, programs, _)) = self;
        (rule.clone(), programs.iter().cloned().collect())
    }
}

/// A finding as a case names it: the rule and the set of program names.
pub type Expected = (String, BTreeSet<String>);

pub fn expected(entries: &[Entry]) -> BTreeSet<Expected> {
    entries.iter().map(Entry::expected).collect()
}

/// The entries that name their statement at fault, with it.
pub fn at_fault(entries: &[Entry]) -> Vec<(Expected, &str)> {
    entries
        .iter()
        .filter_map(|entry| match entry {
            Entry::At(_, _, at) => Some((entry.expected(), at.as_str())),
            Entry::Pair(..) => None,
        })
        .collect()
}

/// Where a finding's statement at fault is: `path:line`, the path as the report shows it.
pub fn at(result: &CheckResult, finding: &isolint::analysis::finding::Finding) -> String {
    let location = isolint::report::statement_location(result, finding.primary);
    format!("{}:{}", location.file, location.line)
}

impl Case {
    pub fn load(directory: &Path) -> Result<Case, String> {
        let text = std::fs::read_to_string(directory.join("case.toml")).expect("case.toml");
        toml::from_str(&text).map_err(|error| format!("case.toml does not parse: {error}"))
    }
}

impl Run {
    pub fn engine(&self) -> Engine {
        Engine::parse(&self.engine).expect("engine")
    }

    pub fn level(&self) -> Option<Level> {
        self.isolation
            .as_deref()
            .map(|name| Level::parse(name).expect("level"))
    }

    pub fn label(&self, index: usize) -> String {
        let settings: String = self
            .settings
            .iter()
            .map(|(name, value)| format!(" {name}={value}"))
            .collect();
        format!(
            "run {} ({} {}{settings})",
            index + 1,
            self.engine,
            self.isolation.as_deref().unwrap_or("default")
        )
    }

    /// The run's settings as the `[engine]` table of an `isolint.toml` writes them.
    fn engine_table(&self) -> String {
        let mut table = format!("[engine]\nname = \"{}\"\n", self.engine);
        for (name, value) in &self.settings {
            table.push_str(&format!("{name} = {value}\n"));
        }
        table
    }

    /// The whole project in `directory`, checked as `isolint check` checks it: the case's
    /// `isolint.toml` (if any) with the run's settings in place of its `[engine]` table, the
    /// run's engine and level as `--engine` and `--isolation`, its rules as `--extend-select`,
    /// all merged by `settings::options`; a level the engine rejects after the migrations'
    /// settings is an error, as it is for the CLI.
    pub fn try_check(&self, directory: &Path) -> Result<CheckResult, String> {
        let path = directory.join("isolint.toml");
        let mut config = if path.exists() {
            Some(isolint::config::load(&path).map_err(|error| format!("isolint.toml: {error}"))?)
        } else {
            None
        };
        if !self.settings.is_empty() {
            // A run's settings replace the file's, and go through the config's reader.
            let table = isolint::config::parse(&path, &self.engine_table())
                .map_err(|error| format!("settings: {error}"))?;
            match &mut config {
                Some(config) => {
                    config.engine = table.engine;
                    config.engine_settings = table.engine_settings;
                }
                None => config = Some(table),
            }
        }
        let choices = Choices {
            engine: Some(self.engine.clone()),
            isolation: self.isolation.clone(),
            extend_select: self.select.clone(),
            ..Choices::default()
        };
        let options =
            settings::options(&choices, config.as_ref()).map_err(|error| error.to_string())?;
        let discovered =
            discover::discover(&[directory.to_path_buf()], directory).expect("discover");
        let result = check_sources(discovered.files, &options);
        settings::rejected_level(&options, result.semantics).map_err(|error| error.to_string())?;
        Ok(result)
    }

    /// [`Run::try_check`], for a run that must check.
    pub fn check(&self, directory: &Path) -> CheckResult {
        self.try_check(directory)
            .unwrap_or_else(|error| panic!("{}: {error}", directory.display()))
    }
}

/// How a finding of `result` is named in a case.
pub fn key(result: &CheckResult, finding: &isolint::analysis::finding::Finding) -> Expected {
    (
        finding.rule.id().to_string(),
        finding
            .programs
            .iter()
            .map(|program| result.programs[*program].name.clone())
            .collect(),
    )
}

/// The key of each pair a finding stands for: its own, then one per partner. Expectations
/// name pairs, so a finding folded into another at the same statement is still checked.
pub fn keys(result: &CheckResult, finding: &isolint::analysis::finding::Finding) -> Vec<Expected> {
    finding
        .program_sets()
        .map(|programs| {
            (
                finding.rule.id().to_string(),
                programs
                    .iter()
                    .map(|program| result.programs[*program].name.clone())
                    .collect(),
            )
        })
        .collect()
}

/// Every fixture directory, sorted.
pub fn all() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("fixtures/")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.join("case.toml").exists())
        .collect();
    cases.sort();
    cases
}
