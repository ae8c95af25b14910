//! Real projects' SQL (`corpus/`, vendored with their licences): what isolint reports on each
//! must stay what `docs/real-world.md` reviews finding by finding. `corpus/<project>/findings.txt`
//! holds the reviewed output (the summary, then one line per finding); a change fails here
//! until the review is redone and the file rewritten with `ISOLINT_BLESS=1`.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

/// Every project with an `isolint.toml`, and the share of statements (routine bodies
/// included) that must parse.
const PROJECTS: &[(&str, f64)] = &[
    ("apalis-postgres-1.0.0", 0.99),
    ("graphile-worker-0.18.0", 0.99),
    ("pgq-3.5", 0.99),
    ("procrastinate-0.9.0", 0.96),
    ("procrastinate-3.10.0", 0.99),
    ("sqlxmq-0.6.0", 0.99),
];

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

/// The summary and findings of `isolint check` run in the project's folder, one line each.
fn reported(project: &Path) -> (Value, Vec<String>) {
    let output = Command::cargo_bin("isolint")
        .expect("the binary")
        .current_dir(project)
        .args(["check", ".", "--format", "json", "--exit-zero"])
        .output()
        .expect("isolint runs");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "{}: no JSON report ({error}): {}",
            project.display(),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let summary = &report["summary"];
    let mut lines = vec![format!(
        "summary: {} statements, {} parse errors, programs {}",
        summary["statements"], summary["parse_errors"], summary["programs"]
    )];
    let mut findings: Vec<String> = report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|finding| {
            let programs: Vec<&str> = finding["transactions"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|program| program["name"].as_str())
                .collect();
            format!(
                "{} [{}] {}:{}",
                finding["rule"].as_str().unwrap_or_default(),
                programs.join(", "),
                finding["location"]["file"].as_str().unwrap_or_default(),
                finding["location"]["line"],
            )
        })
        .collect();
    findings.sort();
    lines.extend(findings);
    (report, lines)
}

#[test]
fn every_corpus_project_reports_what_its_review_says() {
    let mut failures = Vec::new();
    for (name, parse_share) in PROJECTS {
        let project = corpus().join(name);
        assert!(
            project.join("isolint.toml").is_file(),
            "corpus project {name} is absent from {}: it is vendored with the repository, so \
             restore it (scripts/corpus.sh --vendor)",
            corpus().display()
        );
        let (report, lines) = reported(&project);
        let statements = report["summary"]["statements"].as_f64().unwrap_or(0.0);
        let errors = report["summary"]["parse_errors"].as_f64().unwrap_or(0.0);
        if statements == 0.0 || (statements - errors) / statements < *parse_share {
            failures.push(format!(
                "{name}: {errors} of {statements} statements do not parse (at most {:.0}% may \
                 not)",
                (1.0 - parse_share) * 100.0
            ));
        }
        let expected_path = project.join("findings.txt");
        let actual = lines.join("\n") + "\n";
        if std::env::var_os("ISOLINT_BLESS").is_some() {
            std::fs::write(&expected_path, &actual).expect("findings.txt is writable");
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if expected != actual {
            let missing: Vec<&str> = expected
                .lines()
                .filter(|line| !lines.iter().any(|l| l == line))
                .collect();
            let unexpected: Vec<&String> = lines
                .iter()
                .filter(|line| !expected.lines().any(|l| l == line.as_str()))
                .collect();
            failures.push(format!(
                "{name}: isolint's report differs from the reviewed one in {}:\n  no longer \
                 reported: {missing:#?}\n  newly reported: {unexpected:#?}\n  review the change \
                 in docs/real-world.md, then rewrite the file with ISOLINT_BLESS=1",
                expected_path.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
