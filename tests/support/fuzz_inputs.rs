//! What each fuzz target does with its input, shared with the regression test that replays
//! the inputs that once crashed.

use isolint::parse::{flavor, split::split};
use isolint::report;
use isolint::rule::Rule;
use isolint::semantics::{Engine, Semantics};
use isolint::source::{Role, SourceFile};
use isolint::{CheckOptions, check_sources};

use crate::workload::{Names, Workload};

/// The engine the first byte picks, and the rest.
fn engine_and_text(data: &[u8]) -> Option<(Engine, String)> {
    let (&selector, rest) = data.split_first()?;
    let engine = Engine::ALL[usize::from(selector) % Engine::ALL.len()];
    Some((engine, String::from_utf8_lossy(rest).into_owned()))
}

/// The splitter on any text with every engine's lexer flavor: every statement range lies
/// inside the text, on character boundaries, in order.
pub fn split_any(data: &[u8]) {
    let Some((engine, text)) = engine_and_text(data) else {
        return;
    };
    let result = split(&text, flavor(engine), engine == Engine::Sqlserver);
    let mut previous_end = 0;
    for chunk in &result.chunks {
        assert!(chunk.range.start >= previous_end && chunk.range.end <= text.len());
        assert!(text.is_char_boundary(chunk.range.start) && text.is_char_boundary(chunk.range.end));
        previous_end = chunk.range.end;
    }
}

/// Parsing, the catalog and access extraction on any bytes: the text is cut at its first NUL
/// into a migration and a transaction script.
pub fn parse_extract_any(data: &[u8]) {
    let Some((engine, text)) = engine_and_text(data) else {
        return;
    };
    let (schema, transactions) = text.split_once('\0').unwrap_or(("", &text));
    let files = vec![
        SourceFile::new("migrations/1.sql".into(), Role::Schema, schema.to_string()),
        SourceFile::new(
            "txns/t.sql".into(),
            Role::Transactions,
            transactions.to_string(),
        ),
    ];
    let result = check_sources(files, &CheckOptions::new(engine));
    for diagnostic in &result.diagnostics {
        if let Some(file) = diagnostic.file {
            result.files[file].line_col(diagnostic.range.start);
        }
    }
}

/// The whole analysis, every rule on, and every report on a generated project.
fn analyse_workload(selector: u8, workload: &Workload) {
    let engine = Engine::ALL[usize::from(selector) % Engine::ALL.len()];
    let mut options = CheckOptions::new(engine);
    options.rules = Rule::ALL.into_iter().collect();
    let result = check_sources(workload.files(engine, &Names::default()), &options);
    let level = Semantics::embedded().default_level(engine);
    report::json::render(&result, level);
    report::sarif::render(&result);
    let human = report::human::Options {
        color: false,
        width: 80,
    };
    report::human::render(&result, &human);
    report::junit::render(&result);
    report::gitlab::render(&result);
}

/// `analyse_workload` on the project the bytes after the engine selector generate.
pub fn analysis_any(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    if let Some(workload) = Workload::from_bytes(rest) {
        analyse_workload(selector, &workload);
    }
}

/// The language server's message handler on any sequence of messages: the bytes are cut at
/// newlines into message bodies, and those that are JSON-RPC messages are sent after
/// `initialize`, followed by `shutdown` and `exit`. The server must answer without panicking
/// and stop.
pub fn lsp_any(data: &[u8]) {
    use lsp_server::{Connection, Message, Notification, Request, RequestId};
    let (server, client) = Connection::memory();
    let serving = std::thread::spawn(move || isolint::lsp::serve(&server));
    let send = |message: Message| {
        let _ = client.sender.send(message);
    };
    send(Message::Request(Request::new(
        RequestId::from(0),
        "initialize".to_string(),
        serde_json::json!({ "capabilities": {} }),
    )));
    send(Message::Notification(Notification::new(
        "initialized".to_string(),
        serde_json::json!({}),
    )));
    for body in data.split(|byte| *byte == b'\n') {
        if let Ok(message) = serde_json::from_slice::<Message>(body) {
            send(message);
        }
    }
    send(Message::Request(Request::new(
        RequestId::from("fuzz-shutdown".to_string()),
        "shutdown".to_string(),
        serde_json::Value::Null,
    )));
    send(Message::Notification(Notification::new(
        "exit".to_string(),
        serde_json::Value::Null,
    )));
    drop(client.sender);
    // Whatever the server says, until it stops.
    for _ in client.receiver.iter() {}
    let served = serving.join().expect("the server thread does not panic");
    assert!(served.is_ok(), "{served:?}");
}
