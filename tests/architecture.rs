//! The floors of the tree: the rule definitions are the ground floor and the engine table
//! stands on them alone, so every stage may name a rule or an engine; the pipeline (parse →
//! catalog → access → program/routine → analysis, with the settings they run with, and the
//! `check` that runs them in order) never reaches up into the shells that present it (the
//! command line, the language server, the reports, `confirm`), and the language server shares
//! the settings with the command line instead of importing it. Test modules (`#[cfg(test)]`
//! and below) may use anything.

use std::path::{Path, PathBuf};

/// The `crate::` paths a file's non-test code names.
fn imports(file: &Path) -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    text.lines()
        .enumerate()
        .take_while(|(_, line)| !line.trim_start().starts_with("#[cfg(test)]"))
        .filter_map(|(number, line)| {
            let at = line.find("crate::")?;
            let module: String = line[at + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            Some((number + 1, module))
        })
        .collect()
}

fn rust_files(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_path_buf()];
    }
    walkdir::WalkDir::new(path)
        .into_iter()
        .filter_map(Result::ok)
        .map(|entry| entry.into_path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .collect()
}

/// The files of the top-level module `part`: `src/part.rs` or everything under `src/part/`.
fn module_files(part: &str) -> Vec<PathBuf> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let path = if src.join(part).is_dir() {
        src.join(part)
    } else {
        src.join(format!("{part}.rs"))
    };
    assert!(path.exists(), "no module {part} in src/");
    rust_files(&path)
}

/// Where the modules of `floor` name one of the modules `above`.
fn violations(floor: &[&str], above: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for part in floor {
        for file in module_files(part) {
            for (line, module) in imports(&file) {
                if above.contains(&module.as_str()) {
                    found.push(format!("{}:{line} uses crate::{module}", file.display()));
                }
            }
        }
    }
    found
}

/// Where the module `part` names anything of the crate but itself and the modules `allowed`
/// (items of `lib.rs` such as `crate::CheckResult` count as the top floor).
fn imports_outside(part: &str, allowed: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for file in module_files(part) {
        for (line, module) in imports(&file) {
            if module != part && !allowed.contains(&module.as_str()) {
                found.push(format!("{}:{line} uses crate::{module}", file.display()));
            }
        }
    }
    found
}

#[test]
fn the_rule_definitions_import_nothing_from_the_crate() {
    let found = imports_outside("rule", &[]);
    assert!(
        found.is_empty(),
        "a lower floor imports a higher one:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_engine_table_imports_only_the_rule_definitions() {
    let found = imports_outside("semantics", &["rule"]);
    assert!(
        found.is_empty(),
        "a lower floor imports a higher one:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_pipeline_does_not_reach_up_into_its_shells() {
    let pipeline = [
        "parse",
        "catalog",
        "access",
        "program",
        "routine",
        "analysis",
        "check",
        "semantics",
        "settings",
        "set_statements",
    ];
    let shells = ["cli", "lsp", "report", "confirm"];
    let found = violations(&pipeline, &shells);
    assert!(
        found.is_empty(),
        "a lower floor imports a higher one:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_language_server_does_not_import_the_command_line() {
    let found = violations(&["lsp"], &["cli"]);
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn capture_reads_logs_with_the_lexer_and_analyses_nothing() {
    let found = imports_outside("capture", &["parse", "progress", "semantics"]);
    assert!(
        found.is_empty(),
        "capture writes scripts for check to analyse, and uses nothing of the analysis:\n{}",
        found.join("\n")
    );
}
