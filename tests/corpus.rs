//! Real projects' SQL (`corpus/`, vendored with their licences, or fetched by
//! `scripts/corpus.sh` into `target/corpus/` when their licence keeps them out of the repository):
//! what isolint reports on each must stay what `docs/real-world.md` reviews finding by finding.
//! `corpus/<project>/findings.txt` holds the reviewed output (the summary, then one line per
//! finding); a change fails here until the review is redone and the file rewritten with
//! `ISOLINT_BLESS=1`.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

/// Where a project's SQL is.
#[derive(Clone, Copy, PartialEq)]
enum Source {
    /// In `corpus/<project>/`, with its `LICENSE`.
    Vendored,
    /// In `target/corpus/<project>/`, extracted by `scripts/corpus.sh` with a copy of
    /// `corpus/<project>/isolint.toml`; `corpus/<project>/` holds only that file,
    /// `PROVENANCE.md` and `findings.txt`. Skipped, loudly, until the script has run, unless
    /// `ISOLINT_REQUIRE_CORPUS` is set.
    Fetched,
}

/// Every project with an `isolint.toml`, the share of statements (routine bodies included)
/// that must parse, and where its SQL is.
const PROJECTS: &[(&str, f64, Source)] = &[
    ("apalis-postgres-1.0.0", 0.99, Source::Vendored),
    ("fang-0.11.0", 0.99, Source::Fetched),
    ("graphile-worker-0.18.0", 0.99, Source::Vendored),
    ("oban-0.7.0", 0.99, Source::Vendored),
    ("pg-boss-12.38.1", 0.99, Source::Vendored),
    ("pgq-3.5", 0.99, Source::Vendored),
    // 2 of 47 statements do not parse: an expression in the ON CONFLICT target of
    // queries/aggregate_log.sql and queries/aggregate_log_locked.sql.
    ("pgqueuer-1.6.0", 0.95, Source::Vendored),
    ("procrastinate-0.9.0", 0.96, Source::Vendored),
    ("procrastinate-3.10.0", 0.99, Source::Vendored),
    ("sqlxmq-0.6.0", 0.99, Source::Vendored),
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
        .flat_map(|finding| {
            // One line per pair the finding stands for, as the review judges them: its own
            // programs, then the program at fault with each partner.
            let programs: Vec<&str> = finding["transactions"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|program| program["name"].as_str())
                .collect();
            let partners = finding["partners"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|partner| partner["name"].as_str())
                .map(|partner| vec![programs[0], partner]);
            std::iter::once(programs.clone())
                .chain(partners)
                .map(|programs| {
                    format!(
                        "{} [{}] {}:{}",
                        finding["rule"].as_str().unwrap_or_default(),
                        programs.join(", "),
                        finding["location"]["file"].as_str().unwrap_or_default(),
                        finding["location"]["line"],
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect();
    findings.sort();
    lines.extend(findings);
    (report, lines)
}

#[test]
fn every_corpus_project_reports_what_its_review_says() {
    let mut failures = Vec::new();
    for (name, parse_share, source) in PROJECTS {
        let reviewed = corpus().join(name);
        assert!(
            reviewed.join("isolint.toml").is_file(),
            "corpus project {name} is absent from {}: it is kept with the repository, so \
             restore it (scripts/corpus.sh --vendor)",
            corpus().display()
        );
        let project = match source {
            Source::Vendored => reviewed.clone(),
            Source::Fetched => {
                let fetched = Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("target")
                    .join("corpus")
                    .join(name);
                if !fetched.join("isolint.toml").is_file() {
                    let message = format!(
                        "{name}: fetch-only, and {} is absent: run scripts/corpus.sh",
                        fetched.display()
                    );
                    if std::env::var_os("ISOLINT_REQUIRE_CORPUS").is_some() {
                        failures.push(message);
                    } else {
                        eprintln!("SKIPPED {message}");
                    }
                    continue;
                }
                let copied = std::fs::read_to_string(fetched.join("isolint.toml"));
                let kept = std::fs::read_to_string(reviewed.join("isolint.toml"));
                if copied.ok() != kept.ok() {
                    failures.push(format!(
                        "{name}: {}/isolint.toml differs from the reviewed one in corpus/: run \
                         scripts/corpus.sh again",
                        fetched.display()
                    ));
                    continue;
                }
                fetched
            }
        };
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
        let expected_path = reviewed.join("findings.txt");
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
