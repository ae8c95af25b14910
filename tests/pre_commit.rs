//! The real `pre-commit` tool, installing isolint from a copy of this repository as a hook
//! of a fresh git repository: a commit with a write skew is rejected, the fixed one
//! passes. Uses `pre-commit` from PATH, else installs it from PyPI into a virtual environment
//! under `target/` (needs `python3` with `venv`, and `git`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn run(directory: &Path, program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> Output {
    let program = program.as_ref();
    let repository = Path::new(env!("CARGO_MANIFEST_DIR"));
    Command::new(program)
        .args(args)
        .current_dir(directory)
        // Reuse one cache of hook environments and one cargo build directory across runs.
        .env("PRE_COMMIT_HOME", repository.join("target/pre-commit-home"))
        .env(
            "CARGO_TARGET_DIR",
            repository.join("target/pre-commit-build"),
        )
        .env("GIT_AUTHOR_NAME", "isolint test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "isolint test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .env_remove("GITHUB_ACTIONS")
        .output()
        .unwrap_or_else(|error| panic!("cannot run {program:?}: {error}; is it installed?"))
}

/// `pre-commit` from PATH, or from a virtual environment this test creates once.
fn pre_commit() -> PathBuf {
    if Command::new("pre-commit")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return PathBuf::from("pre-commit");
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/pre-commit-venv");
    let binary = venv.join("bin/pre-commit");
    if !binary.exists() {
        let created = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .output()
            .expect("python3 is needed to install pre-commit");
        assert!(
            created.status.success(),
            "python3 -m venv: {}",
            text(&created)
        );
        let installed = Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "pre-commit"])
            .output()
            .expect("pip in the virtual environment");
        assert!(
            installed.status.success(),
            "pip install pre-commit: {}",
            text(&installed)
        );
    }
    binary
}

/// Copies the repository's files, without `target/` and `.git/`.
fn copy_sources(from: &Path, to: &Path) {
    let walker = walkdir::WalkDir::new(from)
        .into_iter()
        .filter_entry(|entry| {
            entry.depth() != 1 || !matches!(entry.file_name().to_str(), Some("target" | ".git"))
        });
    for entry in walker {
        let entry = entry.expect("readable repository");
        let target = to.join(entry.path().strip_prefix(from).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else if entry.file_type().is_file() {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

const SCHEMA: &str = "CREATE TABLE oncall (\n    shift_id  bigint NOT NULL,\n    doctor_id bigint NOT NULL,\n    on_call   boolean NOT NULL,\n    PRIMARY KEY (shift_id, doctor_id)\n);\n";

const LEAVE_SHIFT: &str = "-- name: leave_shift\nBEGIN;\nSELECT count(*) FROM oncall WHERE shift_id = $1 AND on_call;\nUPDATE oncall SET on_call = false WHERE shift_id = $1 AND doctor_id = $2;\nCOMMIT;\n";

#[test]
fn pre_commit_rejects_a_write_skew_and_accepts_the_fix() {
    // The hook source: this repository's files (committed or not) as a fresh git repository,
    // so the test needs no particular state of the checkout.
    let source = tempfile::tempdir().expect("temporary directory");
    copy_sources(Path::new(env!("CARGO_MANIFEST_DIR")), source.path());
    for args in [
        &["init", "--quiet", "--initial-branch", "main"][..],
        &["add", "--all"],
        &["commit", "--quiet", "-m", "isolint"],
    ] {
        let output = run(source.path(), "git", args);
        assert!(output.status.success(), "git {args:?}: {}", text(&output));
    }
    let head = run(source.path(), "git", &["rev-parse", "HEAD"]);
    let head = String::from_utf8_lossy(&head.stdout).trim().to_string();

    let project = tempfile::tempdir().expect("temporary directory");
    let root = project.path();
    std::fs::create_dir_all(root.join("migrations")).unwrap();
    std::fs::create_dir_all(root.join("txns")).unwrap();
    std::fs::write(root.join("migrations/001_oncall.sql"), SCHEMA).unwrap();
    std::fs::write(root.join("txns/leave_shift.sql"), LEAVE_SHIFT).unwrap();
    std::fs::write(
        root.join(".pre-commit-config.yaml"),
        format!(
            "repos:\n  - repo: {}\n    rev: {head}\n    hooks:\n      - id: isolint\n        args: [--engine, postgres]\n",
            source.path().display()
        ),
    )
    .unwrap();
    for args in [
        &["init", "--quiet", "--initial-branch", "main"][..],
        &["add", "--all"],
    ] {
        let output = run(root, "git", args);
        assert!(output.status.success(), "git {args:?}: {}", text(&output));
    }
    let install = run(root, pre_commit(), &["install"]);
    assert!(install.status.success(), "{}", text(&install));

    let rejected = run(root, "git", &["commit", "--quiet", "-m", "leave shift"]);
    let output = text(&rejected);
    assert!(
        !rejected.status.success(),
        "the write skew was committed:\n{output}"
    );
    assert!(output.contains("write-skew"), "{output}");
    assert!(output.contains("txns/leave_shift.sql"), "{output}");

    // The fix: the same transaction at SERIALIZABLE.
    std::fs::write(
        root.join("txns/leave_shift.sql"),
        LEAVE_SHIFT.replace("BEGIN;", "BEGIN ISOLATION LEVEL SERIALIZABLE;"),
    )
    .unwrap();
    let output = run(root, "git", &["add", "--all"]);
    assert!(output.status.success(), "{}", text(&output));
    let accepted = run(
        root,
        "git",
        &["commit", "--quiet", "-m", "leave shift, serializable"],
    );
    assert!(accepted.status.success(), "{}", text(&accepted));
}
