//! Runs every scenario in `fixtures/`: each `[[run]]` of a `case.toml` must find every
//! `require`d finding and nothing that is neither required nor allowed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use isolint::analysis::rules::Rule;
use isolint::semantics::{Engine, Level};
use isolint::{CheckOptions, check_sources, discover};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    about: String,
    run: Vec<Run>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Run {
    engine: String,
    isolation: Option<String>,
    #[serde(default)]
    select: Vec<String>,
    #[serde(default)]
    require: Vec<(String, Vec<String>)>,
    #[serde(default)]
    allow: Vec<(String, Vec<String>)>,
}

type Expected = (String, BTreeSet<String>);

fn expected(entries: &[(String, Vec<String>)]) -> BTreeSet<Expected> {
    entries
        .iter()
        .map(|(rule, programs)| (rule.clone(), programs.iter().cloned().collect()))
        .collect()
}

fn check_case(directory: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(directory.join("case.toml")).expect("case.toml");
    let case: Case = match toml::from_str(&text) {
        Ok(case) => case,
        Err(error) => return vec![format!("case.toml does not parse: {error}")],
    };
    assert!(!case.about.is_empty());
    let mut failures = Vec::new();
    for (index, run) in case.run.iter().enumerate() {
        let label = format!(
            "run {} ({} {})",
            index + 1,
            run.engine,
            run.isolation.as_deref().unwrap_or("default")
        );
        let engine = Engine::parse(&run.engine).expect("engine");
        let mut options = CheckOptions::new(engine);
        options.isolation = run
            .isolation
            .as_deref()
            .map(|name| Level::parse(name).expect("level"));
        for rule in &run.select {
            options.rules.insert(Rule::from_id(rule).expect("rule"));
        }
        let discovered =
            discover::discover(&[directory.to_path_buf()], directory).expect("discover");
        let result = check_sources(discovered.files, &options);
        let found: Vec<(Expected, &str)> = result
            .findings
            .iter()
            .map(|finding| {
                let programs = finding
                    .programs
                    .iter()
                    .map(|program| result.programs[*program].name.clone())
                    .collect();
                (
                    (finding.rule.id().to_string(), programs),
                    finding.message.as_str(),
                )
            })
            .collect();
        let found_keys: BTreeSet<&Expected> = found.iter().map(|(key, _)| key).collect();
        let require = expected(&run.require);
        let allow = expected(&run.allow);
        for missing in require.iter().filter(|key| !found_keys.contains(key)) {
            failures.push(format!("{label}: missing {missing:?}"));
        }
        let mut reported = BTreeSet::new();
        for (key, message) in &found {
            if require.contains(key) || allow.contains(key) || !reported.insert(key) {
                continue;
            }
            failures.push(format!("{label}: unexpected {key:?}: {message}"));
        }
    }
    failures
}

#[test]
fn every_fixture_gives_exactly_the_expected_findings() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("fixtures/")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.join("case.toml").exists())
        .collect();
    cases.sort();
    assert!(cases.len() >= 40, "only {} fixture cases", cases.len());
    let filter = std::env::var("ISOLINT_FIXTURE").unwrap_or_default();
    let mut failures = Vec::new();
    for case in cases {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        if !name.contains(&filter) {
            continue;
        }
        for failure in check_case(&case) {
            failures.push(format!("{name}: {failure}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} fixture failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
