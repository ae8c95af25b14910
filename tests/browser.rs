//! The HTML report of SmallBank in a real browser: headless Chromium takes a screenshot and
//! dumps the DOM it built, which must hold the graph's nodes and the findings.
//!
//! Without `/usr/bin/chromium` (Debian package `chromium`) the test says loudly that it is
//! skipped, unless `ISOLINT_REQUIRE_BROWSER` is set (as `.ci/run` does): then it fails.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

const CHROMIUM: &str = "/usr/bin/chromium";

fn chromium(profile: &Path, arguments: &[&str]) -> Output {
    std::process::Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(arguments)
        .output()
        .expect("chromium runs")
}

fn browser_available() -> bool {
    if Path::new(CHROMIUM).exists() {
        return true;
    }
    assert!(
        std::env::var_os("ISOLINT_REQUIRE_BROWSER").is_none(),
        "ISOLINT_REQUIRE_BROWSER is set but {CHROMIUM} is missing: apt-get install -y chromium"
    );
    eprintln!(
        "\n======================================================================\n\
         SKIPPED: the browser test needs {CHROMIUM} (apt-get install -y chromium).\n\
         Set ISOLINT_REQUIRE_BROWSER=1 to make its absence a failure.\n\
         ======================================================================\n"
    );
    false
}

#[test]
fn smallbank_report_renders_in_chromium_with_its_graph_and_findings() {
    if !browser_available() {
        return;
    }
    let directory = tempfile::tempdir().expect("temporary directory");
    let report = directory.path().join("smallbank.html");
    let smallbank = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/smallbank");
    Command::cargo_bin("isolint")
        .expect("binary")
        .args(["report", ".", "--isolation", "repeatable-read", "-o"])
        .arg(&report)
        .current_dir(smallbank)
        .assert()
        .success();
    let url = format!("file://{}", report.display());

    let screenshot = directory.path().join("smallbank.png");
    let shot = chromium(
        &directory.path().join("profile-screenshot"),
        &[
            &format!("--screenshot={}", screenshot.display()),
            "--window-size=1280,2400",
            &url,
        ],
    );
    assert!(
        shot.status.success(),
        "{}",
        String::from_utf8_lossy(&shot.stderr)
    );
    let png = std::fs::read(&screenshot).expect("screenshot written");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    // An empty 1280x2400 page compresses to a few kilobytes; the rendered report does not.
    assert!(png.len() > 50_000, "screenshot of {} bytes", png.len());

    let dumped = chromium(&directory.path().join("profile-dom"), &["--dump-dom", &url]);
    assert!(
        dumped.status.success(),
        "{}",
        String::from_utf8_lossy(&dumped.stderr)
    );
    let dom = String::from_utf8_lossy(&dumped.stdout);
    for program in [
        "Amalgamate",
        "Balance",
        "DepositChecking",
        "TransactSavings",
        "WriteCheck",
    ] {
        assert!(
            dom.contains(&format!("data-program=\"{program}\"")),
            "no graph node for {program}"
        );
    }
    assert!(dom.contains("class=\"node pivot\" data-program=\"WriteCheck\""));
    assert_eq!(dom.matches("class=\"edge rw vulnerable\"").count(), 5);
    assert!(
        dom.contains(
            "class=\"finding warning\" id=\"finding-1\" data-rule=\"dangerous-structure\""
        )
    );
    assert!(dom.contains("<table class=\"swimlane\">"));
    assert!(dom.contains("id=\"advisor\""));
    assert!(dom.contains("id=\"matrix\""));
}
