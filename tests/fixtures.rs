//! Runs every scenario in `fixtures/`: each `[[run]]` of a `case.toml` must find every
//! `require`d finding and nothing that is neither required nor allowed.

mod support;

use std::collections::BTreeSet;
use std::path::Path;

use support::case::{self, Case, Expected, expected};

fn check_case(directory: &Path) -> Vec<String> {
    let case = match Case::load(directory) {
        Ok(case) => case,
        Err(error) => return vec![error],
    };
    assert!(!case.about.is_empty());
    let mut failures = Vec::new();
    for (index, run) in case.run.iter().enumerate() {
        let label = run.label(index);
        let result = match run.try_check(directory) {
            Ok(result) => result,
            Err(error) => {
                failures.push(format!("{label}: {error}"));
                continue;
            }
        };
        let found: Vec<(Expected, &str, String)> = result
            .findings
            .iter()
            .flat_map(|finding| {
                let at = case::at(&result, finding);
                case::keys(&result, finding)
                    .into_iter()
                    .map(move |key| (key, finding.message.as_str(), at.clone()))
            })
            .collect();
        let found_keys: BTreeSet<&Expected> = found.iter().map(|(key, ..)| key).collect();
        let require = expected(&run.require);
        let allow = expected(&run.allow);
        for missing in require.iter().filter(|key| !found_keys.contains(key)) {
            failures.push(format!("{label}: missing {missing:?}"));
        }
        for (key, at) in case::at_fault(&run.require) {
            let seen: Vec<&str> = found
                .iter()
                .filter(|(found, ..)| *found == key)
                .map(|(.., found_at)| found_at.as_str())
                .collect();
            if !seen.is_empty() && !seen.contains(&at) {
                failures.push(format!(
                    "{label}: {key:?} stands at {seen:?}, not at its statement at fault {at}"
                ));
            }
        }
        let mut reported = BTreeSet::new();
        for (key, message, _) in &found {
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
    let cases = case::all();
    assert!(cases.len() >= 40, "only {} fixture cases", cases.len());
    let filter = std::env::var("ISOLINT_FIXTURE").unwrap_or_default();
    let mut failures = Vec::new();
    let mut pending_cases = Vec::new();
    let mut checked = 0;
    for case in cases {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        if !name.contains(&filter) {
            continue;
        }
        checked += 1;
        let pending = Case::load(&case).ok().and_then(|case| case.pending);
        let found = check_case(&case);
        match pending {
            Some(reason) if found.is_empty() => failures.push(format!(
                "{name}: passes now; remove its `pending` marker ({reason})"
            )),
            Some(reason) => {
                pending_cases.push(format!("{name}: {reason} ({} differences)", found.len()))
            }
            None => failures.extend(
                found
                    .into_iter()
                    .map(|failure| format!("{name}: {failure}")),
            ),
        }
    }
    assert!(
        checked > 0,
        "ISOLINT_FIXTURE={filter:?} matches no fixture case: nothing was checked"
    );
    if !pending_cases.is_empty() {
        eprintln!(
            "\n{} fixture cases PENDING (open modelling defects, still failing as expected):\n{}\n",
            pending_cases.len(),
            pending_cases.join("\n")
        );
    }
    assert!(
        failures.is_empty(),
        "{} fixture failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
