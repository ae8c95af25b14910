//! `isolint lsp`: the language server, on standard input and output.
//!
//! One synchronous main loop owns the state and answers every message, one handler per LSP
//! method. Checking runs on one worker thread, so the loop keeps answering while a workspace
//! loads: the loop sends the worker a job per changed folder (edits are debounced) and
//! publishes the diagnostics it gets back, for every file whose diagnostics changed.
//!
//! In a folder whose whole check is slow (more than [`FOCUS_AFTER`], some thousands of
//! transactions), an edit is answered twice: first the edited files' own findings (those at
//! fault in them, `check_focused`: each of their transactions against every other, nothing
//! else), published for those files only; then the whole check, which a newer edit
//! abandons, so the worker always works on the latest text.
//!
//! Architecture Invariant: the server never analyses SQL itself; it calls the library
//! (`check_sources_cached`) and turns the `CheckResult` into LSP types at the boundary.

mod code_actions;
mod diagnostics;
mod hover;
mod position;
mod transport;
pub mod workspace;

use std::collections::{BTreeMap, BTreeSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, select, unbounded};
use lsp_server::{ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::{self as notifications, Notification as _};
use lsp_types::request::{self as requests, Request as _};
use lsp_types::{
    CodeActionKind, CodeActionOptions, CodeActionProviderCapability, DiagnosticOptions,
    DiagnosticServerCapabilities, DocumentDiagnosticReport, DocumentDiagnosticReportResult,
    FullDocumentDiagnosticReport, Hover, HoverContents, HoverProviderCapability, InitializeParams,
    MarkupContent, MarkupKind, MessageType, OneOf, RelatedFullDocumentDiagnosticReport,
    ServerCapabilities, ServerInfo, TextDocumentSyncCapability, TextDocumentSyncKind,
    TextDocumentSyncOptions, TextDocumentSyncSaveOptions, Uri, WorkspaceFoldersServerCapabilities,
    WorkspaceServerCapabilities,
};

use crate::CheckResult;
use crate::source::{FileId, TextRange};
use position::Encoding;
use workspace::{Analyzer, path_to_uri, uri_to_path};

/// How long edits must pause before the folder is checked again.
const DEBOUNCE: Duration = Duration::from_millis(150);

/// How long a folder's last whole check must have taken for an edit to be answered with the
/// edited files' own findings first; `ISOLINT_LSP_FOCUS_AFTER_MS` sets it (0: always).
const FOCUS_AFTER: Duration = Duration::from_millis(300);

fn focus_after() -> Duration {
    std::env::var("ISOLINT_LSP_FOCUS_AFTER_MS")
        .ok()
        .and_then(|value| value.parse().ok())
        .map_or(FOCUS_AFTER, Duration::from_millis)
}

/// The server could not start or lost its connection.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum LspError {
    #[error("cannot start the language server: {0}")]
    #[diagnostic(
        code(isolint::lsp),
        help("run `isolint lsp` from an editor's LSP client")
    )]
    Start(std::io::Error),
    #[error("the editor closed the connection before initialising it: {0}")]
    #[diagnostic(
        code(isolint::lsp),
        help("the client must send `initialize` first; see the README's editor setup")
    )]
    Initialize(String),
}

/// Runs the server until the client sends `exit` or closes standard input.
pub fn run() -> Result<(), LspError> {
    let transport = transport::Transport::stdio().map_err(LspError::Start)?;
    serve(&transport.connection)?;
    transport.finish();
    Ok(())
}

/// Serves one client on `connection` (standard input and output, or an in-memory connection
/// in tests) from `initialize` to `exit`.
pub fn serve(connection: &lsp_server::Connection) -> Result<(), LspError> {
    let (id, params) = connection
        .initialize_start()
        .map_err(|error| LspError::Initialize(error.to_string()))?;
    let params: InitializeParams = serde_json::from_value(params).unwrap_or_default();
    let encoding = Encoding::negotiate(&params.capabilities);
    let pull = params
        .capabilities
        .text_document
        .as_ref()
        .is_some_and(|text| text.diagnostic.is_some());
    let refresh = params
        .capabilities
        .workspace
        .as_ref()
        .and_then(|workspace| workspace.diagnostic.as_ref())
        .and_then(|diagnostic| diagnostic.refresh_support)
        .unwrap_or(false);
    let result = serde_json::json!({
        "capabilities": capabilities(encoding),
        "serverInfo": ServerInfo {
            name: "isolint".to_string(),
            version: Some(env!("CARGO_PKG_VERSION").to_string()),
        },
    });
    connection
        .initialize_finish(id, result)
        .map_err(|error| LspError::Initialize(error.to_string()))?;
    #[allow(deprecated)] // Clients without workspace folders still send `rootUri`.
    let roots: Vec<PathBuf> = match (&params.workspace_folders, &params.root_uri) {
        (Some(folders), _) => folders.iter().filter_map(|f| uri_to_path(&f.uri)).collect(),
        (None, Some(root)) => uri_to_path(root).into_iter().collect(),
        (None, None) => Vec::new(),
    };
    let (jobs, worker_jobs) = unbounded();
    let (worker_done, done) = unbounded();
    let latest = Latest::default();
    let worker_latest = latest.clone();
    // The worker is not joined: a check still running when the client exits is abandoned.
    std::thread::Builder::new()
        .name("isolint-check".to_string())
        .stack_size(crate::settings::STACK_SIZE)
        .spawn(move || work(&worker_jobs, &worker_done, &worker_latest))
        .map_err(LspError::Start)?;
    let mut server = Server {
        sender: connection.sender.clone(),
        encoding,
        pull,
        refresh,
        roots: Vec::new(),
        overlays: BTreeMap::new(),
        results: BTreeMap::new(),
        provisional: BTreeMap::new(),
        edited: BTreeMap::new(),
        published: BTreeMap::new(),
        dirty: BTreeMap::new(),
        deadline: None,
        generation: 0,
        submitted: BTreeMap::new(),
        finished: BTreeMap::new(),
        waiting: Vec::new(),
        jobs,
        latest,
        shut_down: false,
        next_request: 0,
    };
    for root in roots {
        server.add_root(root);
    }
    server.main_loop(&connection.receiver, &done);
    drop(server);
    Ok(())
}

fn capabilities(encoding: Encoding) -> ServerCapabilities {
    ServerCapabilities {
        position_encoding: Some(encoding.kind()),
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::FULL),
                save: Some(TextDocumentSyncSaveOptions::Supported(true)),
                ..TextDocumentSyncOptions::default()
            },
        )),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
            code_action_kinds: Some(vec![CodeActionKind::QUICKFIX]),
            ..CodeActionOptions::default()
        })),
        diagnostic_provider: Some(DiagnosticServerCapabilities::Options(DiagnosticOptions {
            identifier: Some("isolint".to_string()),
            inter_file_dependencies: true,
            workspace_diagnostics: false,
            ..DiagnosticOptions::default()
        })),
        workspace: Some(WorkspaceServerCapabilities {
            workspace_folders: Some(WorkspaceFoldersServerCapabilities {
                supported: Some(true),
                change_notifications: Some(OneOf::Left(true)),
            }),
            file_operations: None,
        }),
        ..ServerCapabilities::default()
    }
}

/// A request to check one folder.
struct Job {
    root: PathBuf,
    generation: u64,
    overlays: BTreeMap<PathBuf, String>,
    /// Documents edited since the last job (absolute paths).
    edited: BTreeSet<PathBuf>,
    /// Read the files on disk again.
    rescan: bool,
    /// Read the configuration again (it changed), which also rescans.
    reload: bool,
}

impl Job {
    /// This job followed by `newer`, of the same folder: only the newest text matters, but
    /// what the older one asked for (a rescan, the edited files) still has to happen.
    fn then(self, newer: Job) -> Job {
        let mut edited = self.edited;
        edited.extend(newer.edited);
        Job {
            edited,
            rescan: self.rescan || newer.rescan,
            reload: self.reload || newer.reload,
            ..newer
        }
    }
}

/// A checked folder, or the panic message of a check that failed.
struct Done {
    root: PathBuf,
    generation: u64,
    /// `Some(files)` for the findings at fault in those files only, ahead of the whole check.
    focus: Option<BTreeSet<PathBuf>>,
    outcome: Result<CheckResult, String>,
    config_problem: Option<String>,
}

/// The generation of the last job sent for each folder, shared by the server and its worker.
type Latest = std::sync::Arc<std::sync::Mutex<BTreeMap<PathBuf, u64>>>;

/// Gives up a check as soon as a newer job for its folder is sent.
struct UntilNewer<'a> {
    latest: &'a Latest,
    root: &'a Path,
    generation: u64,
    gave_up: std::sync::atomic::AtomicBool,
}

impl UntilNewer<'_> {
    fn gave_up(&self) -> bool {
        self.gave_up.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl crate::progress::Progress for UntilNewer<'_> {
    fn start(&self, _: crate::progress::Stage, _: usize) {}
    fn advance(&self, _: usize) {}
    fn cancelled(&self) -> bool {
        // A poisoned lock only means the server's thread panicked while holding it.
        let latest = self
            .latest
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let newer = latest
            .get(self.root)
            .is_some_and(|latest| *latest > self.generation);
        if newer {
            self.gave_up
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
        newer
    }
}

/// The worker: checks folders, the latest job per folder, until the server hangs up.
fn work(jobs: &Receiver<Job>, done: &Sender<Done>, latest: &Latest) {
    let mut analyzers: BTreeMap<PathBuf, Analyzer> = BTreeMap::new();
    // How long each folder's last whole check took.
    let mut took: BTreeMap<PathBuf, Duration> = BTreeMap::new();
    let mut pending: BTreeMap<PathBuf, Job> = BTreeMap::new();
    let focus_after = focus_after();
    loop {
        if pending.is_empty() {
            let Ok(job) = jobs.recv() else {
                return;
            };
            pending.insert(job.root.clone(), job);
        }
        // Edits that arrived while the last check ran: only the newest state of each folder
        // matters.
        for job in jobs.try_iter() {
            let job = match pending.remove(&job.root) {
                Some(older) => older.then(job),
                None => job,
            };
            pending.insert(job.root.clone(), job);
        }
        let Some((root, job)) = pending.pop_first() else {
            continue;
        };
        if job.reload {
            analyzers.remove(&root);
        }
        let analyzer = analyzers
            .entry(root.clone())
            .or_insert_with(|| Analyzer::new(root.clone()));
        if job.rescan {
            analyzer.rescan();
        }
        let slow = took.get(&root).is_some_and(|took| *took >= focus_after);
        let newer = || UntilNewer {
            latest,
            root: &root,
            generation: job.generation,
            gave_up: false.into(),
        };
        if slow && !job.edited.is_empty() && !job.rescan {
            let focused = newer();
            let checked = catch_unwind(AssertUnwindSafe(|| {
                analyzer.check_focused(&job.overlays, &job.edited, &focused)
            }));
            if checked.is_err() {
                // The analyzer's cache may be half-updated: start afresh.
                analyzers.remove(&root);
            }
            if !focused.gave_up() {
                let sent = done.send(Done {
                    root: root.clone(),
                    generation: job.generation,
                    focus: Some(job.edited.clone()),
                    outcome: checked.map_err(|panic| panic_message(panic.as_ref())),
                    config_problem: None,
                });
                if sent.is_err() {
                    return;
                }
            }
        }
        let analyzer = analyzers
            .entry(root.clone())
            .or_insert_with(|| Analyzer::new(root.clone()));
        let started = Instant::now();
        let whole = newer();
        let checked = catch_unwind(AssertUnwindSafe(|| analyzer.check(&job.overlays, &whole)));
        if checked.is_ok() && whole.gave_up() {
            // Abandoned for a newer job of the folder, already sent: checked with it. Its
            // rescan is done.
            pending.insert(
                root,
                Job {
                    edited: BTreeSet::new(),
                    rescan: false,
                    reload: false,
                    ..job
                },
            );
            continue;
        }
        took.insert(root.clone(), started.elapsed());
        let config_problem = analyzer.config_problem.clone();
        let outcome = checked.map_err(|panic| {
            // The analyzer's cache may be half-updated: start afresh next time.
            analyzers.remove(&root);
            panic_message(panic.as_ref())
        });
        let sent = done.send(Done {
            root,
            generation: job.generation,
            focus: None,
            outcome,
            config_problem,
        });
        if sent.is_err() {
            return;
        }
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|text| text.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string())
}

struct Server {
    sender: Sender<Message>,
    encoding: Encoding,
    /// The client pulls diagnostics (`textDocument/diagnostic`); otherwise they are pushed.
    pull: bool,
    /// The client accepts `workspace/diagnostic/refresh`.
    refresh: bool,
    /// Workspace folders, and folders made up for documents outside them.
    roots: Vec<PathBuf>,
    /// Open documents' unsaved text.
    overlays: BTreeMap<PathBuf, String>,
    results: BTreeMap<PathBuf, CheckResult>,
    /// Per folder, the files edited last and the findings at fault in them, while the whole
    /// check of that text runs: newer than `results` for those files.
    provisional: BTreeMap<PathBuf, (BTreeSet<PathBuf>, CheckResult)>,
    /// Per folder, the documents edited since its last job.
    edited: BTreeMap<PathBuf, BTreeSet<PathBuf>>,
    /// What was last published for each file, to publish only changes and to clear files whose
    /// diagnostics went away.
    published: BTreeMap<PathBuf, Vec<lsp_types::Diagnostic>>,
    /// Folders to check when the deadline passes: (rescan, reload).
    dirty: BTreeMap<PathBuf, (bool, bool)>,
    deadline: Option<Instant>,
    generation: u64,
    /// The generation of the last job sent for each folder.
    submitted: BTreeMap<PathBuf, u64>,
    /// The generation of the last result received for each folder.
    finished: BTreeMap<PathBuf, u64>,
    /// Pull requests waiting for a folder's check to finish.
    waiting: Vec<(RequestId, PathBuf)>,
    jobs: Sender<Job>,
    /// The generation of the last job sent for each folder, for the worker to give up older
    /// ones.
    latest: Latest,
    shut_down: bool,
    next_request: i32,
}

impl Server {
    fn main_loop(&mut self, messages: &Receiver<Message>, done: &Receiver<Done>) {
        loop {
            let timeout = self.deadline.map_or(Duration::from_secs(3600), |deadline| {
                deadline.saturating_duration_since(Instant::now())
            });
            select! {
                recv(messages) -> message => match message {
                    Ok(Message::Request(request)) => self.on_request(request),
                    Ok(Message::Notification(notification)) => {
                        if notification.method == notifications::Exit::METHOD {
                            return;
                        }
                        self.on_notification(notification);
                    }
                    // Answers to the server's own requests (refresh) need no action.
                    Ok(Message::Response(_)) => {}
                    Err(_) => return,
                },
                recv(done) -> finished => {
                    if let Ok(finished) = finished {
                        self.on_done(finished);
                    }
                }
                default(timeout) => {}
            }
            if self
                .deadline
                .is_some_and(|deadline| deadline <= Instant::now())
            {
                self.submit();
            }
        }
    }

    fn send(&self, message: impl Into<Message>) {
        let _ = self.sender.send(message.into());
    }

    fn notify<N: lsp_types::notification::Notification>(&self, params: N::Params) {
        self.send(Notification::new(N::METHOD.to_string(), params));
    }

    /// A message in the client's log and on standard error.
    fn log(&self, kind: MessageType, message: String) {
        eprintln!("isolint lsp: {message}");
        self.notify::<notifications::LogMessage>(lsp_types::LogMessageParams {
            typ: kind,
            message,
        });
    }

    fn on_request(&mut self, request: Request) {
        if self.shut_down {
            self.send(Response::new_err(
                request.id,
                ErrorCode::InvalidRequest as i32,
                "the server is shutting down".to_string(),
            ));
            return;
        }
        let id = request.id.clone();
        let method = request.method.clone();
        let answered = catch_unwind(AssertUnwindSafe(|| self.answer(request)));
        let response = match answered {
            Ok(Some(Ok(value))) => Response::new_ok(id, value),
            Ok(Some(Err((code, message)))) => Response::new_err(id, code as i32, message),
            // Answered later (a pull waiting for a check).
            Ok(None) => return,
            Err(panic) => {
                let message = format!("{method} failed: {}", panic_message(panic.as_ref()));
                self.log(MessageType::ERROR, message.clone());
                Response::new_err(id, ErrorCode::InternalError as i32, message)
            }
        };
        self.send(response);
    }

    /// The answer to a request, or `None` when it will be answered later.
    fn answer(
        &mut self,
        request: Request,
    ) -> Option<Result<serde_json::Value, (ErrorCode, String)>> {
        fn params<P: serde::de::DeserializeOwned>(
            request: Request,
        ) -> Result<P, (ErrorCode, String)> {
            serde_json::from_value(request.params).map_err(|error| {
                (
                    ErrorCode::InvalidParams,
                    format!("invalid {} parameters: {error}", request.method),
                )
            })
        }
        let value = |value: Result<serde_json::Value, serde_json::Error>| {
            value.map_err(|error| (ErrorCode::InternalError, error.to_string()))
        };
        Some(match request.method.as_str() {
            requests::Shutdown::METHOD => {
                self.shut_down = true;
                Ok(serde_json::Value::Null)
            }
            requests::HoverRequest::METHOD => {
                params(request).and_then(|params| value(serde_json::to_value(self.hover(params))))
            }
            requests::CodeActionRequest::METHOD => params(request)
                .and_then(|params| value(serde_json::to_value(self.code_actions(params)))),
            requests::DocumentDiagnosticRequest::METHOD => {
                let id = request.id.clone();
                let params: lsp_types::DocumentDiagnosticParams = match params(request) {
                    Ok(params) => params,
                    Err(error) => return Some(Err(error)),
                };
                // A document that is not a file has no diagnostics.
                let path = uri_to_path(&params.text_document.uri).unwrap_or_default();
                if !path.as_os_str().is_empty() {
                    let root = self.root_of(&path);
                    if self.dirty.contains_key(&root) || self.in_flight(&root) {
                        self.waiting.push((id, path));
                        return None;
                    }
                }
                value(serde_json::to_value(self.pulled(&path)))
            }
            _ => Err((
                ErrorCode::MethodNotFound,
                format!("unknown method {}", request.method),
            )),
        })
    }

    fn on_notification(&mut self, notification: Notification) {
        use serde_json::from_value as parse;
        let method = notification.method;
        let params = notification.params;
        let handled = match method.as_str() {
            notifications::DidOpenTextDocument::METHOD => parse(params).map(|p| self.did_open(p)),
            notifications::DidChangeTextDocument::METHOD => {
                parse(params).map(|p| self.did_change(p))
            }
            notifications::DidSaveTextDocument::METHOD => parse(params).map(|p| self.did_save(p)),
            notifications::DidCloseTextDocument::METHOD => parse(params).map(|p| self.did_close(p)),
            notifications::DidChangeWatchedFiles::METHOD => {
                parse(params).map(|p| self.did_change_watched_files(p))
            }
            notifications::DidChangeWorkspaceFolders::METHOD => {
                parse(params).map(|p| self.did_change_workspace_folders(p))
            }
            // `initialized`, `$/cancelRequest`, `$/setTrace` and the rest need nothing.
            _ => Ok(()),
        };
        if let Err(error) = handled {
            self.log(
                MessageType::WARNING,
                format!("ignored {method} with invalid parameters: {error}"),
            );
        }
    }

    fn did_open(&mut self, params: lsp_types::DidOpenTextDocumentParams) {
        let document = params.text_document;
        self.set_overlay(&document.uri, Some(document.text), false);
    }

    fn did_change(&mut self, params: lsp_types::DidChangeTextDocumentParams) {
        // Full synchronisation: the last change holds the whole text.
        if let Some(change) = params.content_changes.into_iter().last() {
            self.set_overlay(&params.text_document.uri, Some(change.text), true);
        }
    }

    fn did_save(&mut self, params: lsp_types::DidSaveTextDocumentParams) {
        self.file_changed(&params.text_document.uri);
    }

    fn did_close(&mut self, params: lsp_types::DidCloseTextDocumentParams) {
        self.set_overlay(&params.text_document.uri, None, false);
        self.file_changed(&params.text_document.uri);
    }

    fn did_change_watched_files(&mut self, params: lsp_types::DidChangeWatchedFilesParams) {
        for change in params.changes {
            self.file_changed(&change.uri);
        }
    }

    fn did_change_workspace_folders(&mut self, params: lsp_types::DidChangeWorkspaceFoldersParams) {
        let paths = |folders: &[lsp_types::WorkspaceFolder]| -> Vec<PathBuf> {
            folders.iter().filter_map(|f| uri_to_path(&f.uri)).collect()
        };
        for removed in paths(&params.event.removed) {
            self.remove_root(&removed);
        }
        for added in paths(&params.event.added) {
            self.add_root(added);
        }
    }

    fn add_root(&mut self, root: PathBuf) {
        if !self.roots.contains(&root) {
            self.roots.push(root.clone());
            self.mark(root, true, false, Duration::ZERO);
        }
    }

    fn remove_root(&mut self, root: &Path) {
        self.roots.retain(|known| known != root);
        self.results.remove(root);
        self.provisional.remove(root);
        self.edited.remove(root);
        self.dirty.remove(root);
        let gone: Vec<PathBuf> = self
            .published
            .keys()
            .filter(|path| path.starts_with(root))
            .cloned()
            .collect();
        for path in gone {
            self.publish(&path, Vec::new());
        }
    }

    /// The folder a file belongs to: the innermost workspace folder holding it, else a folder
    /// made up for it (its config's directory, else its own directory).
    fn root_of(&mut self, path: &Path) -> PathBuf {
        if let Some(root) = self
            .roots
            .iter()
            .filter(|root| path.starts_with(root))
            .max_by_key(|root| root.components().count())
        {
            return root.clone();
        }
        let directory = path.parent().unwrap_or(path).to_path_buf();
        let root = crate::config::find(&directory)
            .and_then(|config| config.parent().map(Path::to_path_buf))
            .unwrap_or(directory);
        self.add_root(root.clone());
        root
    }

    fn set_overlay(&mut self, uri: &Uri, text: Option<String>, debounce: bool) {
        let Some(path) = uri_to_path(uri) else {
            return;
        };
        match text {
            Some(text) => self.overlays.insert(path.clone(), text),
            None => self.overlays.remove(&path),
        };
        let root = self.root_of(&path);
        if debounce {
            self.edited.entry(root.clone()).or_default().insert(path);
        }
        self.mark(
            root,
            false,
            false,
            if debounce { DEBOUNCE } else { Duration::ZERO },
        );
    }

    /// A file changed on disk (saved, created, deleted, or its config changed).
    fn file_changed(&mut self, uri: &Uri) {
        let Some(path) = uri_to_path(uri) else {
            return;
        };
        let is_config = path
            .file_name()
            .is_some_and(|name| crate::config::FILE_NAMES.iter().any(|known| name == *known));
        if is_config {
            // A config applies to every folder beneath its directory.
            let directory = path.parent().unwrap_or(&path).to_path_buf();
            let affected: Vec<PathBuf> = self
                .roots
                .iter()
                .filter(|root| root.starts_with(&directory) || directory.starts_with(root))
                .cloned()
                .collect();
            for root in affected {
                self.mark(root, true, true, Duration::ZERO);
            }
            return;
        }
        let root = self.root_of(&path);
        self.mark(root, true, false, Duration::ZERO);
    }

    fn mark(&mut self, root: PathBuf, rescan: bool, reload: bool, delay: Duration) {
        let entry = self.dirty.entry(root).or_insert((false, false));
        entry.0 |= rescan;
        entry.1 |= reload;
        let due = Instant::now() + delay;
        // A later edit pushes the check back; an immediate one brings it forward.
        self.deadline = Some(if delay.is_zero() {
            self.deadline.map_or(due, |deadline| deadline.min(due))
        } else {
            due
        });
    }

    fn in_flight(&self, root: &Path) -> bool {
        self.submitted
            .get(root)
            .is_some_and(|sent| self.finished.get(root) != Some(sent))
    }

    /// Sends the worker a job for every folder marked since the last one.
    fn submit(&mut self) {
        self.deadline = None;
        for (root, (rescan, reload)) in std::mem::take(&mut self.dirty) {
            self.generation += 1;
            let overlays = self
                .overlays
                .iter()
                .filter(|(path, _)| path.starts_with(&root))
                .map(|(path, text)| (path.clone(), text.clone()))
                .collect();
            self.submitted.insert(root.clone(), self.generation);
            let edited = self.edited.remove(&root).unwrap_or_default();
            let _ = self.jobs.send(Job {
                root: root.clone(),
                generation: self.generation,
                overlays,
                edited,
                rescan,
                reload,
            });
            // After sending: a check given up for this job finds it waiting.
            self.latest
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(root, self.generation);
        }
    }

    fn on_done(&mut self, done: Done) {
        if let Some(focus) = done.focus {
            self.on_focused(done.root, done.generation, focus, done.outcome);
            return;
        }
        self.finished.insert(done.root.clone(), done.generation);
        if let Some(problem) = done.config_problem {
            self.log(
                MessageType::ERROR,
                format!("{}: {problem}", done.root.display()),
            );
        }
        match done.outcome {
            Ok(result) => {
                for diagnostic in result.diagnostics.iter().filter(|d| d.file.is_none()) {
                    self.log(MessageType::WARNING, diagnostic.message.clone());
                }
                if self.roots.contains(&done.root) {
                    self.provisional.remove(&done.root);
                    let previous = self.results.insert(done.root.clone(), result);
                    self.show(&done.root);
                    // Dropped after publishing: freeing a large result takes a while.
                    drop(previous);
                }
            }
            Err(panic) => self.log(
                MessageType::ERROR,
                format!(
                    "checking {} failed: {panic}; please report it with the SQL that caused it",
                    done.root.display()
                ),
            ),
        }
        if !self.in_flight(&done.root) && !self.dirty.contains_key(&done.root) {
            let (ready, still): (Vec<_>, Vec<_>) = std::mem::take(&mut self.waiting)
                .into_iter()
                .partition(|(_, path)| path.starts_with(&done.root));
            self.waiting = still;
            for (id, path) in ready {
                let report = self.pulled(&path);
                self.send(Response::new_ok(id, report));
            }
        }
    }

    /// The findings at fault in the edited files `focus`, ahead of the whole check: published
    /// for those files, and kept for hovers and quick fixes there until the whole check ends.
    fn on_focused(
        &mut self,
        root: PathBuf,
        generation: u64,
        focus: BTreeSet<PathBuf>,
        outcome: Result<CheckResult, String>,
    ) {
        let result = match outcome {
            Ok(result) => result,
            Err(panic) => {
                self.log(
                    MessageType::ERROR,
                    format!(
                        "checking {} failed: {panic}; please report it with the SQL that caused it",
                        focus
                            .iter()
                            .map(|path| path.display().to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
                return;
            }
        };
        if !self.roots.contains(&root) {
            return;
        }
        let mut current = diagnostics::by_file(&result, &root, self.encoding);
        for path in &focus {
            let mut shown = current.remove(path).unwrap_or_default();
            // Findings at fault elsewhere that mark this file too wait for the whole check;
            // meanwhile those the edits cannot have changed are shown as they were.
            if let Some(previous) = self.results.get(&root) {
                shown.extend(diagnostics::carried(
                    previous,
                    &result,
                    &root,
                    self.encoding,
                    path,
                ));
            }
            // A pulling client pulls the document it edits; its pull waits for this.
            self.publish(path, shown);
        }
        self.provisional
            .insert(root.clone(), (focus.clone(), result));
        // Pulls of the edited files, unless a newer edit of the folder is on its way.
        let current =
            self.submitted.get(&root) == Some(&generation) && !self.dirty.contains_key(&root);
        if current {
            let (ready, still): (Vec<_>, Vec<_>) = std::mem::take(&mut self.waiting)
                .into_iter()
                .partition(|(_, path)| focus.contains(path));
            self.waiting = still;
            for (id, path) in ready {
                let report = self.pulled(&path);
                self.send(Response::new_ok(id, report));
            }
        }
    }

    /// Asks a pulling client to pull every document's diagnostics again.
    fn refresh(&mut self) {
        self.next_request += 1;
        self.send(Request::new(
            RequestId::from(format!("isolint-refresh-{}", self.next_request)),
            requests::WorkspaceDiagnosticRefresh::METHOD.to_string(),
            serde_json::Value::Null,
        ));
    }

    /// Publishes (or, for a pulling client, asks it to pull again) every file of the folder
    /// whose diagnostics changed, clearing those that have none any more.
    fn show(&mut self, root: &Path) {
        let Some(result) = self.results.get(root) else {
            return;
        };
        let mut current = diagnostics::by_file(result, root, self.encoding);
        let before: Vec<PathBuf> = self
            .published
            .keys()
            .filter(|path| path.starts_with(root) && self.root_of_known(path) == Some(root))
            .cloned()
            .collect();
        let mut changed = false;
        for path in before {
            if !current.contains_key(&path) {
                changed |= self.publish(&path, Vec::new());
            }
        }
        for (path, diagnostics) in std::mem::take(&mut current) {
            changed |= self.publish(&path, diagnostics);
        }
        if changed && self.pull && self.refresh {
            self.refresh();
        }
    }

    /// The innermost known folder holding `path`.
    fn root_of_known(&self, path: &Path) -> Option<&Path> {
        self.roots
            .iter()
            .filter(|root| path.starts_with(root))
            .max_by_key(|root| root.components().count())
            .map(PathBuf::as_path)
    }

    /// Records (and pushes, unless the client pulls) a file's diagnostics; whether they changed.
    fn publish(&mut self, path: &Path, diagnostics: Vec<lsp_types::Diagnostic>) -> bool {
        let unchanged = match self.published.get(path) {
            Some(before) => *before == diagnostics,
            None => diagnostics.is_empty(),
        };
        if unchanged {
            return false;
        }
        if !self.pull {
            self.notify::<notifications::PublishDiagnostics>(lsp_types::PublishDiagnosticsParams {
                uri: path_to_uri(path),
                diagnostics: diagnostics.clone(),
                version: None,
            });
        }
        if diagnostics.is_empty() {
            self.published.remove(path);
        } else {
            self.published.insert(path.to_path_buf(), diagnostics);
        }
        true
    }

    fn pulled(&self, path: &Path) -> DocumentDiagnosticReportResult {
        let items = self.published.get(path).cloned().unwrap_or_default();
        DocumentDiagnosticReportResult::Report(DocumentDiagnosticReport::Full(
            RelatedFullDocumentDiagnosticReport {
                related_documents: None,
                full_document_diagnostic_report: FullDocumentDiagnosticReport {
                    result_id: None,
                    items,
                },
            },
        ))
    }

    /// The checked result holding the document, and its file id there, when the text checked is
    /// the text the editor has now (positions in a stale result would point elsewhere): the
    /// whole check's, else the edited files' own findings checked ahead of it.
    fn document(&self, uri: &Uri) -> Option<(&CheckResult, &Path, FileId)> {
        let path = uri_to_path(uri)?;
        let root = self.root_of_known(&path)?;
        let current = self.overlays.get(&path);
        let provisional = self
            .provisional
            .get(root)
            .filter(|(focus, _)| focus.contains(&path))
            .map(|(_, result)| result);
        [self.results.get(root), provisional]
            .into_iter()
            .flatten()
            .find_map(|result| {
                let file = result
                    .files
                    .iter()
                    .position(|file| root.join(&file.path) == path)?;
                let fresh = current.is_none_or(|text| *text == result.files[file].text);
                fresh.then_some((result, root, file))
            })
    }

    fn hover(&self, params: lsp_types::HoverParams) -> Option<Hover> {
        let at = params.text_document_position_params;
        let (result, _, file) = self.document(&at.text_document.uri)?;
        let offset = self.encoding.offset(&result.files[file], at.position);
        let markdown = hover::hover(result, file, offset)?;
        Some(Hover {
            contents: HoverContents::Markup(MarkupContent {
                kind: MarkupKind::Markdown,
                value: markdown,
            }),
            range: None,
        })
    }

    fn code_actions(&self, params: lsp_types::CodeActionParams) -> Vec<lsp_types::CodeAction> {
        let Some((result, root, file)) = self.document(&params.text_document.uri) else {
            return Vec::new();
        };
        let source = &result.files[file];
        let range = TextRange::new(
            self.encoding.offset(source, params.range.start),
            self.encoding.offset(source, params.range.end),
        );
        code_actions::code_actions(result, root, file, range, self.encoding)
    }
}
