//! The language server end to end: the built binary, spoken to over stdio with
//! `Content-Length` framing, on a project written to a temporary directory.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Long enough for a slow machine; reached only when the server hangs.
const PATIENCE: Duration = Duration::from_secs(60);

const SCHEMA: &str = "CREATE TABLE account_limits (
    account_id bigint NOT NULL,
    kind       text NOT NULL,
    amount     numeric(12, 2) NOT NULL,
    PRIMARY KEY (account_id, kind)
);
";

/// Each reads the row the other writes: a write skew across two files.
const RAISE: &str = "-- name: raise_daily_limit
BEGIN;
SELECT amount FROM account_limits WHERE account_id = $1 AND kind = 'monthly';
UPDATE account_limits SET amount = $2 WHERE account_id = $1 AND kind = 'daily';
COMMIT;
";

const LOWER: &str = "-- name: lower_monthly_limit
BEGIN;
SELECT amount FROM account_limits WHERE account_id = $1 AND kind = 'daily';
UPDATE account_limits SET amount = $2 WHERE account_id = $1 AND kind = 'monthly';
COMMIT;
";

/// A read-modify-write of the daily limit: a lost update of its own, and with `LOWER` and
/// `RAISE` a dangerous structure at fault in `lower_monthly_limit`.
const BUMP: &str = "-- name: bump_daily_limit
BEGIN;
SELECT amount FROM account_limits WHERE account_id = $1 AND kind = 'daily';
UPDATE account_limits SET amount = $2 WHERE account_id = $1 AND kind = 'daily';
COMMIT;
";

struct Project {
    directory: tempfile::TempDir,
}

impl Project {
    fn new(files: &[(&str, &str)]) -> Project {
        let directory = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let path = directory.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        Project { directory }
    }

    fn limits() -> Project {
        Project::new(&[
            ("migrations/001_limits.sql", SCHEMA),
            ("txns/raise.sql", RAISE),
            ("txns/lower.sql", LOWER),
        ])
    }

    fn root(&self) -> PathBuf {
        self.directory.path().canonicalize().unwrap()
    }

    fn uri(&self, path: &str) -> String {
        format!("file://{}", self.root().join(path).display())
    }
}

struct Client {
    child: Child,
    stdin: ChildStdin,
    incoming: Receiver<Value>,
    next_id: i64,
    /// The latest diagnostics published for each URI.
    diagnostics: BTreeMap<String, Vec<Value>>,
}

impl Client {
    /// Starts the server and initialises it for `project`, offering `capabilities`.
    fn start(project: &Project, capabilities: Value) -> Client {
        Client::start_with(project, capabilities, &[])
    }

    /// [`Client::start`] with `environment` set for the server.
    fn start_with(project: &Project, capabilities: Value, environment: &[(&str, &str)]) -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_isolint"))
            .arg("lsp")
            .envs(environment.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (sender, incoming) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            while let Some(message) = read_message(&mut reader) {
                if sender.send(message).is_err() {
                    return;
                }
            }
        });
        let mut client = Client {
            child,
            stdin,
            incoming,
            next_id: 0,
            diagnostics: BTreeMap::new(),
        };
        let root = project.uri("");
        let initialized = client.request(
            "initialize",
            json!({
                "processId": null,
                "rootUri": root,
                "capabilities": capabilities,
                "workspaceFolders": [{"uri": root, "name": "project"}],
            }),
        );
        assert!(
            initialized["result"]["capabilities"].is_object(),
            "{initialized}"
        );
        client.notify("initialized", json!({}));
        client
    }

    fn write_raw(&mut self, bytes: &[u8]) {
        self.stdin.write_all(bytes).unwrap();
        self.stdin.flush().unwrap();
    }

    fn send(&mut self, message: Value) {
        let body = message.to_string();
        self.write_raw(format!("Content-Length: {}\r\n\r\n{body}", body.len()).as_bytes());
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// Sends a request and returns the whole response.
    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        self.wait_for(|message| message["id"] == json!(id) && message.get("method").is_none())
    }

    /// The next message `wanted` accepts; publishes seen on the way are recorded.
    fn wait_for(&mut self, wanted: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let message = match self.incoming.recv_timeout(left) {
                Ok(message) => message,
                Err(RecvTimeoutError::Timeout) => panic!("no answer from the server"),
                Err(RecvTimeoutError::Disconnected) => panic!("the server closed its output"),
            };
            if message["method"] == "textDocument/publishDiagnostics" {
                let uri = message["params"]["uri"].as_str().unwrap().to_string();
                let list = message["params"]["diagnostics"].as_array().unwrap().clone();
                self.diagnostics.insert(uri, list);
            }
            if wanted(&message) {
                return message;
            }
        }
    }

    /// Waits until the published diagnostics satisfy `done`.
    fn diagnostics_until(&mut self, done: impl Fn(&BTreeMap<String, Vec<Value>>) -> bool) {
        while !done(&self.diagnostics) {
            self.wait_for(|message| message["method"] == "textDocument/publishDiagnostics");
        }
    }

    /// Opens a document, waits for a finding of `rule` in it and returns the code actions on
    /// its statement.
    fn actions_for(&mut self, uri: &str, text: &str, rule: &str) -> Vec<Value> {
        self.open(uri, text);
        self.diagnostics_until(|map| has_rule(map, uri, rule));
        let diagnostic = self.diagnostics[uri][0].clone();
        let response = self.request(
            "textDocument/codeAction",
            json!({
                "textDocument": {"uri": uri},
                "range": diagnostic["range"],
                "context": {"diagnostics": [diagnostic]},
            }),
        );
        response["result"].as_array().unwrap().clone()
    }

    fn open(&mut self, uri: &str, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "sql", "version": 1, "text": text}}),
        );
    }

    fn change(&mut self, uri: &str, version: i64, text: &str) {
        self.notify(
            "textDocument/didChange",
            json!({
                "textDocument": {"uri": uri, "version": version},
                "contentChanges": [{"text": text}],
            }),
        );
    }

    /// Shuts the server down and waits for it to exit.
    fn shut_down(mut self) -> std::process::ExitStatus {
        let response = self.request("shutdown", Value::Null);
        assert_eq!(response["result"], Value::Null, "{response}");
        self.notify("exit", Value::Null);
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "the server did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_message(reader: &mut impl BufRead) -> Option<Value> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(value) = line.strip_prefix("Content-Length: ") {
            length = value.parse::<usize>().ok();
        }
    }
    let mut body = vec![0; length?];
    reader.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

fn codes(diagnostics: &[Value]) -> Vec<&str> {
    diagnostics
        .iter()
        .filter_map(|d| d["code"].as_str())
        .collect()
}

fn has_rule(map: &BTreeMap<String, Vec<Value>>, uri: &str, rule: &str) -> bool {
    map.get(uri).is_some_and(|list| codes(list).contains(&rule))
}

/// Whether diagnostics were published for each of `uris`, and the last ones were empty.
fn cleared(map: &BTreeMap<String, Vec<Value>>, uris: &[&str]) -> bool {
    uris.iter()
        .all(|uri| map.get(*uri).is_some_and(Vec::is_empty))
}

/// Applies LSP text edits (UTF-16 columns; these texts are ASCII) to `text`.
fn apply(text: &str, edits: &[Value]) -> String {
    let offset = |position: &Value| {
        let line = position["line"].as_u64().unwrap() as usize;
        let character = position["character"].as_u64().unwrap() as usize;
        let start: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
        start + character
    };
    let mut edits: Vec<(usize, usize, &str)> = edits
        .iter()
        .map(|edit| {
            (
                offset(&edit["range"]["start"]),
                offset(&edit["range"]["end"]),
                edit["newText"].as_str().unwrap(),
            )
        })
        .collect();
    edits.sort_by_key(|(start, _, _)| std::cmp::Reverse(*start));
    let mut text = text.to_string();
    for (start, end, new_text) in edits {
        text.replace_range(start..end, new_text);
    }
    text
}

#[test]
fn a_write_skew_across_two_files_is_shown_in_both_with_related_information() {
    let project = Project::limits();
    let (raise, lower) = (project.uri("txns/raise.sql"), project.uri("txns/lower.sql"));
    let mut client = Client::start(&project, json!({}));
    client.open(&raise, RAISE);
    client.diagnostics_until(|map| {
        has_rule(map, &raise, "write-skew") && has_rule(map, &lower, "write-skew")
    });
    let on_raise = &client.diagnostics[&raise][0];
    assert_eq!(on_raise["severity"], 1, "{on_raise}");
    assert_eq!(on_raise["source"], "isolint");
    assert!(
        on_raise["codeDescription"]["href"]
            .as_str()
            .unwrap()
            .ends_with("rules/write-skew.md"),
        "{on_raise}"
    );
    // The SELECT of raise_daily_limit, line 2 (0-based).
    assert_eq!(
        on_raise["range"]["start"],
        json!({"line": 2, "character": 0})
    );
    let related = on_raise["relatedInformation"].as_array().unwrap();
    let related_uris: Vec<&str> = related
        .iter()
        .map(|r| r["location"]["uri"].as_str().unwrap())
        .collect();
    assert!(related_uris.contains(&lower.as_str()), "{related_uris:?}");
    assert!(related.iter().any(|r| {
        r["message"]
            .as_str()
            .unwrap()
            .contains("lower_monthly_limit")
    }));
    let on_lower = &client.diagnostics[&lower][0];
    assert_eq!(on_lower["range"]["start"]["line"], 2, "{on_lower}");
    let back: Vec<&str> = on_lower["relatedInformation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["location"]["uri"].as_str().unwrap())
        .collect();
    assert!(back.contains(&raise.as_str()), "{back:?}");
    assert!(client.shut_down().success());
}

#[test]
fn the_lock_quick_fix_edits_both_files_and_clears_both_diagnostics() {
    let project = Project::limits();
    let (raise, lower) = (project.uri("txns/raise.sql"), project.uri("txns/lower.sql"));
    let mut client = Client::start(&project, json!({}));
    client.open(&lower, LOWER);
    let actions = client.actions_for(&raise, RAISE, "write-skew");
    client.diagnostics_until(|map| has_rule(map, &lower, "write-skew"));
    let titles: Vec<&str> = actions
        .iter()
        .map(|a| a["title"].as_str().unwrap())
        .collect();
    assert!(
        titles.contains(&"Ignore write-skew for this file"),
        "{titles:?}"
    );
    assert!(
        titles
            .iter()
            .any(|t| t.starts_with("Add `FOR NO KEY UPDATE`")),
        "{titles:?}"
    );
    let lock = actions
        .iter()
        .find(|a| a["isPreferred"] == true)
        .unwrap_or_else(|| panic!("no preferred fix in {titles:?}"));
    assert_eq!(
        lock["title"],
        "Add `FOR UPDATE` to the read of `account_limits` in `lower_monthly_limit` and `raise_daily_limit`"
    );
    let changes = &lock["edit"]["changes"];
    let new_raise = apply(RAISE, changes[&raise].as_array().unwrap());
    let new_lower = apply(LOWER, changes[&lower].as_array().unwrap());
    assert!(
        new_raise.contains("kind = 'monthly' FOR UPDATE;\n"),
        "{new_raise}"
    );
    assert!(
        new_lower.contains("kind = 'daily' FOR UPDATE;\n"),
        "{new_lower}"
    );
    client.change(&raise, 2, &new_raise);
    client.change(&lower, 2, &new_lower);
    client.diagnostics_until(|map| cleared(map, &[&raise, &lower]));
    assert!(client.shut_down().success());
}

#[test]
fn quick_fixes_raise_the_level_on_begin_and_add_ignore_comments() {
    let project = Project::limits();
    let raise = project.uri("txns/raise.sql");
    let mut client = Client::start(&project, json!({}));
    let actions = client.actions_for(&raise, RAISE, "write-skew");
    let action = |prefix: &str| {
        actions
            .iter()
            .find(|a| a["title"].as_str().unwrap().starts_with(prefix))
            .unwrap_or_else(|| panic!("no `{prefix}` in {actions:?}"))
            .clone()
    };
    let serializable = action("Run `lower_monthly_limit` and `raise_daily_limit` at SERIALIZABLE");
    let edited = apply(
        RAISE,
        serializable["edit"]["changes"][&raise].as_array().unwrap(),
    );
    assert!(
        edited.contains("\nBEGIN ISOLATION LEVEL SERIALIZABLE;\n"),
        "{edited}"
    );
    let ignore = action("Ignore write-skew for transaction `raise_daily_limit`");
    let edited = apply(RAISE, ignore["edit"]["changes"][&raise].as_array().unwrap());
    assert!(
        edited.starts_with("-- name: raise_daily_limit\n-- isolint: ignore write-skew\nBEGIN;"),
        "{edited}"
    );
    // The edited text really silences the finding.
    client.change(&raise, 2, &edited);
    client.diagnostics_until(|map| cleared(map, &[&raise]));
    assert!(client.shut_down().success());
}

#[test]
fn hover_summarises_a_transaction_and_shows_rule_pages() {
    let ignored = format!("-- isolint: ignore-file write-skew\n{RAISE}");
    let project = Project::limits();
    let raise = project.uri("txns/raise.sql");
    let mut client = Client::start(&project, json!({}));
    client.open(&raise, RAISE);
    client.diagnostics_until(|map| has_rule(map, &raise, "write-skew"));
    let hover = |client: &mut Client, line: u32, character: u32| {
        let response = client.request(
            "textDocument/hover",
            json!({"textDocument": {"uri": raise}, "position": {"line": line, "character": character}}),
        );
        response["result"]["contents"]["value"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    let on_begin = hover(&mut client, 1, 2);
    assert!(
        on_begin.starts_with(
            "**transaction `raise_daily_limit`** — READ COMMITTED (engine default) on PostgreSQL"
        ),
        "{on_begin}"
    );
    assert!(on_begin.contains("- `account_limits` (account_id, amount, kind) — rows where account_id = $1 AND kind = 'monthly'"), "{on_begin}");
    assert!(
        on_begin.contains(
            "writes:\n- `account_limits` (amount) — rows where account_id = $1 AND kind = 'daily'"
        ),
        "{on_begin}"
    );
    assert!(on_begin.contains("conflicts with:\n"), "{on_begin}");
    assert!(
        on_begin.contains("- `lower_monthly_limit`: write-skew"),
        "{on_begin}"
    );
    assert_eq!(hover(&mut client, 0, 5), on_begin, "the `-- name:` line");
    client.change(&raise, 2, &ignored);
    client.diagnostics_until(|map| cleared(map, &[&raise]));
    let page = hover(&mut client, 0, 30);
    assert!(
        page.starts_with("# write-skew\n\n## What it does\n"),
        "{page}"
    );
    assert_eq!(page, hover(&mut client, 0, 26), "anywhere on the rule id");
    assert_eq!(hover(&mut client, 0, 3), "", "not on a rule id");
    assert!(client.shut_down().success());
}

#[test]
fn columns_count_utf16_code_units_unless_utf8_is_negotiated() {
    let prefix = "/* größe 😀 */ ";
    let text = RAISE.replace("\nSELECT", &format!("\n{prefix}SELECT"));
    let project = Project::new(&[
        ("migrations/001_limits.sql", SCHEMA),
        ("txns/raise.sql", &text),
        ("txns/lower.sql", LOWER),
    ]);
    let raise = project.uri("txns/raise.sql");
    for (capabilities, column) in [
        (json!({}), prefix.encode_utf16().count()),
        (
            json!({"general": {"positionEncodings": ["utf-8", "utf-16"]}}),
            prefix.len(),
        ),
    ] {
        let mut client = Client::start(&project, capabilities);
        client.open(&raise, &text);
        client.diagnostics_until(|map| has_rule(map, &raise, "write-skew"));
        let start = &client.diagnostics[&raise][0]["range"]["start"];
        assert_eq!(start, &json!({"line": 2, "character": column}));
        assert!(client.shut_down().success());
    }
}

#[test]
fn malformed_messages_are_answered_with_errors_and_the_server_keeps_serving() {
    let project = Project::limits();
    let raise = project.uri("txns/raise.sql");
    let mut client = Client::start(&project, json!({}));
    client.write_raw(b"Content-Length: 9\r\n\r\n{not json");
    let error = client.wait_for(|message| message.get("error").is_some());
    assert_eq!(error["error"]["code"], -32700, "{error}");
    assert_eq!(error["id"], Value::Null);
    client.write_raw(b"Content-Length: ten\r\n\r\n");
    let error = client.wait_for(|message| message.get("error").is_some());
    assert_eq!(error["error"]["code"], -32700, "{error}");
    client.send(json!({"jsonrpc": "2.0", "something": "else"}));
    let error = client.wait_for(|message| message.get("error").is_some());
    assert_eq!(error["error"]["code"], -32600, "{error}");
    let unknown = client.request("isolint/unknown", json!({}));
    assert_eq!(unknown["error"]["code"], -32601, "{unknown}");
    let invalid = client.request("textDocument/hover", json!({"nonsense": true}));
    assert_eq!(invalid["error"]["code"], -32602, "{invalid}");
    client.notify("isolint/unknownNotification", json!({}));
    client.notify("textDocument/didOpen", json!({"wrong": 1}));
    client.open(&raise, RAISE);
    client.diagnostics_until(|map| has_rule(map, &raise, "write-skew"));
    let far = client.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": raise}, "position": {"line": 9999, "character": 9999}}),
    );
    assert!(far.get("error").is_none(), "{far}");
    let nowhere = client.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": "file:///no/such/file.sql"}, "position": {"line": 0, "character": 0}}),
    );
    assert_eq!(nowhere["result"], Value::Null, "{nowhere}");
    assert!(client.shut_down().success());
}

#[test]
fn a_deleted_file_takes_its_findings_along() {
    let project = Project::limits();
    let (raise, lower) = (project.uri("txns/raise.sql"), project.uri("txns/lower.sql"));
    let mut client = Client::start(&project, json!({}));
    client.open(&raise, RAISE);
    client.diagnostics_until(|map| has_rule(map, &lower, "write-skew"));
    std::fs::remove_file(project.root().join("txns/lower.sql")).unwrap();
    client.notify(
        "workspace/didChangeWatchedFiles",
        json!({"changes": [{"uri": lower, "type": 3}]}),
    );
    client.diagnostics_until(|map| cleared(map, &[&raise, &lower]));
    assert!(client.shut_down().success());
}

#[test]
fn clients_that_pull_get_diagnostics_on_request() {
    let project = Project::limits();
    let raise = project.uri("txns/raise.sql");
    let mut client = Client::start(&project, json!({"textDocument": {"diagnostic": {}}}));
    client.open(&raise, RAISE);
    let response = client.request(
        "textDocument/diagnostic",
        json!({"textDocument": {"uri": raise}}),
    );
    assert_eq!(response["result"]["kind"], "full", "{response}");
    let items = response["result"]["items"].as_array().unwrap();
    assert_eq!(codes(items), ["write-skew"], "{response}");
    assert!(
        client.diagnostics.is_empty(),
        "a pulling client gets no pushes"
    );
    assert!(client.shut_down().success());
}

#[test]
fn the_server_exits_after_shutdown_and_exit() {
    let project = Project::new(&[("a.sql", "SELECT 1;")]);
    let client = Client::start(&project, json!({}));
    let status = client.shut_down();
    assert!(status.success(), "{status:?}");
}

#[test]
fn a_lost_update_is_fixed_by_locking_the_read_or_assigning_in_place() {
    let withdraw = "-- name: withdraw
BEGIN;
SELECT balance FROM accounts WHERE id = :id;
UPDATE accounts SET balance = :balance WHERE id = :id;
COMMIT;
";
    let project = Project::new(&[
        (
            "migrations/001.sql",
            "CREATE TABLE accounts (id bigint PRIMARY KEY, balance int);",
        ),
        ("withdraw.sql", withdraw),
    ]);
    let uri = project.uri("withdraw.sql");
    let mut client = Client::start(&project, json!({}));
    let actions = client.actions_for(&uri, withdraw, "lost-update");
    let edited = |title: &str| {
        let action = actions
            .iter()
            .find(|a| a["title"] == title)
            .unwrap_or_else(|| panic!("no `{title}` in {actions:?}"));
        (
            apply(
                withdraw,
                action["edit"]["changes"][&uri].as_array().unwrap(),
            ),
            action["isPreferred"] == true,
        )
    };
    let (in_place, preferred) = edited(
        "Assign `balance` in place: `balance = balance + :balance` (:balance becomes the change, not the new value)",
    );
    assert!(
        in_place.contains("\nUPDATE accounts SET balance = balance + :balance WHERE id = :id;\n"),
        "{in_place}"
    );
    assert!(
        !preferred,
        "assigning in place changes what the parameter means"
    );
    let (locked, preferred) = edited("Add `FOR UPDATE` to the read of `accounts` in `withdraw`");
    assert!(
        locked.contains("\nSELECT balance FROM accounts WHERE id = :id FOR UPDATE;\n"),
        "{locked}"
    );
    assert!(preferred);
    client.change(&uri, 2, &locked);
    client.diagnostics_until(|map| cleared(map, &[&uri]));
    let hover = client.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": uri}, "position": {"line": 1, "character": 0}}),
    );
    let hover = hover["result"]["contents"]["value"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        hover.contains("locks:\n- `accounts` (update) — rows where id = :id\n"),
        "{hover}"
    );
    assert!(client.shut_down().success());
}

/// In a folder whose whole check is slow (here: any, by `ISOLINT_LSP_FOCUS_AFTER_MS=0`), an
/// edit is answered first for the edited file alone: its own findings afresh, and the write
/// skew at fault in `lower.sql` that marks it too, carried over since the edit left its
/// statements where they were. The whole check follows with what needs every file: the
/// structure at fault in `lower.sql` that the new transaction completes.
#[test]
fn an_edit_shows_the_edited_files_own_findings_before_the_whole_check() {
    let project = Project::limits();
    let mut client =
        Client::start_with(&project, json!({}), &[("ISOLINT_LSP_FOCUS_AFTER_MS", "0")]);
    let (raise, lower) = (project.uri("txns/raise.sql"), project.uri("txns/lower.sql"));
    client.diagnostics_until(|map| {
        has_rule(map, &raise, "write-skew") && has_rule(map, &lower, "write-skew")
    });
    client.open(&raise, RAISE);
    client.change(&raise, 2, &format!("{RAISE}\n{BUMP}"));
    let first = client.wait_for(|message| message["method"] == "textDocument/publishDiagnostics");
    assert_eq!(first["params"]["uri"], raise.as_str(), "{first}");
    let mut shown = codes(first["params"]["diagnostics"].as_array().unwrap());
    shown.sort();
    assert_eq!(shown, ["lost-update", "write-skew"], "{first}");
    client.diagnostics_until(|map| {
        has_rule(map, &lower, "dangerous-structure") && has_rule(map, &raise, "dangerous-structure")
    });
    let mut shown = codes(&client.diagnostics[&raise]);
    shown.sort();
    assert_eq!(shown, ["dangerous-structure", "lost-update", "write-skew"]);
    assert!(client.shut_down().success());
}
