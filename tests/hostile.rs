//! Hostile input: whatever a repository holds, isolint diagnoses it with the file, the line
//! and what to do, keeps checking the other files, and exits 2 only when it fails itself.

use std::path::Path;
use std::process::Output;

use assert_cmd::Command;

/// The binary, with the format not switched by the environment running the tests.
fn isolint() -> Command {
    let mut command = Command::cargo_bin("isolint").expect("binary");
    command.env_remove("GITHUB_ACTIONS").env("NO_COLOR", "1");
    command
}

fn write(root: &Path, path: &str, contents: impl AsRef<[u8]>) {
    let path = root.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, contents).unwrap();
}

/// A project with one lost update, which every run must still find.
fn project() -> tempfile::TempDir {
    let directory = tempfile::tempdir().unwrap();
    write(
        directory.path(),
        "migrations/001_accounts.sql",
        "CREATE TABLE accounts (id int PRIMARY KEY, balance int);\n",
    );
    write(
        directory.path(),
        "txns/withdraw.sql",
        "BEGIN;\nSELECT balance FROM accounts WHERE id = $1;\n\
         UPDATE accounts SET balance = $2 WHERE id = $1;\nCOMMIT;\n",
    );
    directory
}

fn check(root: &Path, arguments: &[&str]) -> Output {
    isolint()
        .arg("check")
        .args(arguments)
        .current_dir(root)
        .output()
        .unwrap()
}

/// The exit code, then standard output and standard error, for snapshots.
fn transcript(output: &Output) -> String {
    format!(
        "exit code: {:?}\n--- stdout\n{}--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The transcript of a run that must fail as a usage error.
fn usage_error(root: &Path, arguments: &[&str]) -> String {
    let output = check(root, arguments);
    assert_eq!(output.status.code(), Some(2), "{}", transcript(&output));
    transcript(&output)
}

fn finds_the_lost_update(output: &Output) -> bool {
    String::from_utf8_lossy(&output.stdout).contains("txns/withdraw.sql:2:1: lost-update")
}

#[test]
fn broken_files_are_diagnosed_and_the_rest_is_checked() {
    let project = project();
    let root = project.path();
    write(root, "txns/empty.sql", "");
    write(
        root,
        "txns/only_comments.sql",
        "-- nothing here\n/* or here */\n",
    );
    write(
        root,
        "txns/bom_crlf.sql",
        "\u{feff}BEGIN;\r\nSELECT balance FROM accounts WHERE id = $1;\r\n\
         UPDATE accounts SET balance = balance + 1 WHERE id = $1;\r\nCOMMIT;\r\n",
    );
    write(
        root,
        "txns/latin1.sql",
        b"SELECT 1;\n-- caf\xe9\nSELECT 2;\n",
    );
    write(
        root,
        "txns/image.sql",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00",
    );
    write(
        root,
        "txns/string.sql",
        "SELECT 1;\nSELECT 'never closed;\n",
    );
    write(
        root,
        "txns/comment.sql",
        "SELECT 1;\n/* never closed\nSELECT 2;\n",
    );
    write(
        root,
        "txns/dollar.sql",
        "SELECT 1;\nSELECT $body$ never closed;\n",
    );
    write(root, "txns/nul.sql", "SELECT 1;\n\0\0\0\n");
    write(
        root,
        "txns/deep.sql",
        format!("SELECT {}1{};\n", "(".repeat(10_000), ")".repeat(10_000)),
    );
    write(
        root,
        "txns/with space/naïve ünïcode.sql",
        "BEGIN;\nSELECT balance FROM accounts WHERE id = $1;\n\
         UPDATE accounts SET balance = $2 WHERE id = $1;\nCOMMIT;\n",
    );
    let output = check(root, &["--format", "concise"]);
    assert_eq!(output.status.code(), Some(1), "{}", transcript(&output));
    assert!(finds_the_lost_update(&output), "{}", transcript(&output));
    insta::assert_snapshot!(transcript(&output));
    // The same files, one engine per lexer flavor: no crash, no tool failure.
    for engine in ["mysql", "sqlserver", "oracle", "sqlite"] {
        let output = check(root, &["--format", "json", "--engine", engine]);
        assert!(
            matches!(output.status.code(), Some(0 | 1)),
            "{}",
            transcript(&output)
        );
    }
}

#[test]
fn garbage_input_is_diagnosed_not_fatal() {
    let directory = tempfile::tempdir().unwrap();
    let root = directory.path();
    write(root, "binary.sql", [0xff, 0xfe, b';', 0x80]);
    write(root, "broken.sql", "SELECT 'unterminated");
    write(
        root,
        "nested.sql",
        format!("SELECT {}1{};", "(".repeat(5000), ")".repeat(5000)),
    );
    let chain = vec!["a = 1"; 4000].join(" AND ");
    write(
        root,
        "chain.sql",
        format!("UPDATE t SET a = 1 WHERE {chain};"),
    );
    let long = vec!["1"; 100_000].join(" + ");
    write(root, "long.sql", format!("SELECT {long};"));
    write(root, "escape.sql", "SELECT 'abc\\");
    for engine in ["postgres", "mysql", "sqlserver"] {
        let output = check(root, &["--format", "json", "--engine", engine]);
        assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
        let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert!(
            json["summary"]["parse_errors"].as_u64().unwrap() >= 3,
            "{json}"
        );
    }
}

#[test]
fn a_file_too_large_to_read_is_skipped_with_a_diagnostic() {
    let project = project();
    let root = project.path();
    // 200 MB written in pieces, so the test itself stays small in memory.
    let statement = "UPDATE accounts SET balance = balance + 1 WHERE id = 1;\n";
    let mut file =
        std::io::BufWriter::new(std::fs::File::create(root.join("txns/dump.sql")).unwrap());
    let mut written = 0;
    while written < 200 * 1024 * 1024 {
        std::io::Write::write_all(&mut file, statement.as_bytes()).unwrap();
        written += statement.len();
    }
    drop(file);
    let output = check(root, &["--format", "concise"]);
    assert_eq!(output.status.code(), Some(1), "{}", transcript(&output));
    assert!(finds_the_lost_update(&output), "{}", transcript(&output));
    insta::assert_snapshot!(transcript(&output));
}

/// A hundred thousand autocommit updates of one table, each of its own row, are a hundred
/// thousand transactions. Each meets only the transactions that can name its row (its own
/// literal id, or a parameter), so nothing is left out: the lost update beside them is
/// reported once, at its statement, with the 100,000 updates it races with as partners.
#[test]
fn a_hundred_thousand_statements_in_one_file_keep_the_lost_update_beside_them() {
    let project = project();
    let root = project.path();
    let statements: String = (0..100_000)
        .map(|id| format!("UPDATE accounts SET balance = balance + 1 WHERE id = {id};\n"))
        .collect();
    write(root, "txns/many.sql", statements);
    let output = check(root, &["--format", "json"]);
    assert_eq!(output.status.code(), Some(1), "{}", transcript(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        json["summary"]["statements"],
        100_000 + 4 + 1,
        "{}",
        json["summary"]
    );
    assert!(
        json["diagnostics"].as_array().unwrap().is_empty(),
        "{}",
        json["diagnostics"]
    );
    let findings = json["findings"].as_array().unwrap();
    let names = |finding: &serde_json::Value| -> Vec<String> {
        finding["transactions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect()
    };
    let lost_updates: Vec<(Vec<String>, usize)> = findings
        .iter()
        .filter(|finding| finding["rule"] == "lost-update")
        .map(|finding| {
            (
                names(finding),
                finding["partners"].as_array().unwrap().len(),
            )
        })
        .collect();
    // One finding at the statement at fault: `withdraw` against itself, and every update as
    // a partner.
    assert_eq!(
        lost_updates,
        [(vec!["withdraw".to_string()], 100_000)],
        "{}",
        transcript(&output)
    );
    assert_eq!(findings.len(), 1, "{}", transcript(&output));
}

#[cfg(unix)]
#[test]
fn symlink_loops_neither_hang_nor_stop_the_run() {
    let project = project();
    let root = project.path();
    std::os::unix::fs::symlink(root.join("txns"), root.join("txns/loop")).unwrap();
    std::os::unix::fs::symlink("self.sql", root.join("txns/self.sql")).unwrap();
    let output = check(root, &["--format", "concise"]);
    assert_eq!(output.status.code(), Some(1), "{}", transcript(&output));
    assert!(finds_the_lost_update(&output), "{}", transcript(&output));
    insta::assert_snapshot!(transcript(&output));
}

/// Permission bits do not stop root, so an unreadable file is made from `/proc/self/mem`,
/// which nobody can read at offset 0, and permission bits are tried only where they bite.
#[cfg(target_os = "linux")]
#[test]
fn unreadable_files_and_directories_are_reported_and_skipped() {
    use std::os::unix::fs::PermissionsExt;
    let project = project();
    let root = project.path();
    // A named file is checked with the project as context: its problem is reported, and the
    // run goes on.
    let output = check(root, &["--format", "concise", ".", "/proc/self/mem"]);
    assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("io-error /proc/self/mem: cannot read it"),
        "{stdout}"
    );

    write(root, "txns/locked/secret.sql", "SELECT 1;\n");
    write(root, "txns/locked.sql", "SELECT 1;\n");
    let lock = |path: &str, mode: u32| {
        std::fs::set_permissions(root.join(path), std::fs::Permissions::from_mode(mode)).unwrap()
    };
    lock("txns/locked/secret.sql", 0o000);
    lock("txns/locked.sql", 0o000);
    lock("txns/locked", 0o000);
    let readable_anyway = std::fs::read(root.join("txns/locked.sql")).is_ok();
    let output = check(root, &["--format", "concise"]);
    lock("txns/locked", 0o755);
    assert_eq!(output.status.code(), Some(1), "{}", transcript(&output));
    assert!(finds_the_lost_update(&output), "{}", transcript(&output));
    if readable_anyway {
        eprintln!(
            "running with privileges that ignore permission bits (root): files with mode 000 \
             are readable here, so only /proc/self/mem shows an unreadable file"
        );
    } else {
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            stdout.contains("txns/locked.sql: cannot read it"),
            "{stdout}"
        );
        assert!(stdout.contains("txns/locked: cannot read it"), "{stdout}");
    }
}

#[test]
fn a_config_that_is_not_toml_is_a_usage_error_naming_the_line() {
    let project = project();
    let root = project.path();
    write(
        root,
        "isolint.toml",
        "engine = \"postgres\"\n[rules\nlost-update = off\n",
    );
    insta::assert_snapshot!(usage_error(root, &[]));
    write(root, "isolint.toml", b"\x89PNG\r\n\x1a\n\x00");
    insta::assert_snapshot!("config_binary", usage_error(root, &[]));
}

#[test]
fn unknown_engines_and_levels_are_usage_errors_saying_what_to_use() {
    let project = project();
    let root = project.path();
    let unknown_engine = usage_error(root, &["--engine", "db2"]);
    insta::assert_snapshot!("unknown_engine", unknown_engine);
    let unknown_level = usage_error(root, &["--isolation", "eventual"]);
    insta::assert_snapshot!("unknown_level", unknown_level);
    write(root, "isolint.toml", "engine = \"db2\"\n");
    insta::assert_snapshot!("unknown_engine_in_config", usage_error(root, &[]));
}

#[test]
fn a_directive_naming_a_level_the_engine_lacks_is_a_warning_not_silence() {
    let project = project();
    let root = project.path();
    write(
        root,
        "txns/withdraw.sql",
        "-- isolint: isolation snapshot\nBEGIN;\nSELECT balance FROM accounts WHERE id = $1;\n\
         UPDATE accounts SET balance = $2 WHERE id = $1;\nCOMMIT;\n",
    );
    let output = check(root, &["--format", "concise", "--engine", "mysql"]);
    insta::assert_snapshot!(transcript(&output));
}
