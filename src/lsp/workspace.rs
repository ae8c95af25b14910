//! One workspace folder as the server checks it: its `isolint.toml`, its SQL files on disk, and
//! the unsaved text of its open documents laid over them. Checking reuses the library's
//! pipeline and keeps its pair cache between runs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::config::{self, Config};
use crate::progress::Progress;
use crate::settings::{self, Choices};
use crate::source::SourceFile;
use crate::{
    CheckCache, CheckOptions, CheckResult, Diagnostic, DiagnosticKind, check_focused,
    check_with_progress,
};

/// Checks one folder again and again, after edits, saves and file changes.
pub struct Analyzer {
    root: PathBuf,
    config: Option<Config>,
    options: CheckOptions,
    /// What went wrong reading the configuration; the folder is then checked with defaults.
    pub config_problem: Option<String>,
    /// The files on disk, read again after `rescan`.
    disk: Option<Vec<SourceFile>>,
    disk_problems: Vec<String>,
    cache: CheckCache,
}

impl Analyzer {
    /// Reads the folder's configuration: the nearest `isolint.toml` at or above `root`, found and
    /// read as `isolint check` does. The files are read by the first `check`.
    pub fn new(root: PathBuf) -> Analyzer {
        let loaded = config::find(&root).map(|path| config::load(&path).map_err(|e| render(&e)));
        let (config, mut config_problem) = match loaded {
            None => (None, None),
            Some(Ok(config)) => (Some(config), None),
            Some(Err(problem)) => (None, Some(problem)),
        };
        // An editor makes no command-line choices: the config decides, as for `isolint check`.
        let options =
            settings::options(&Choices::default(), config.as_ref()).map_err(|e| render(&e));
        let options = options.unwrap_or_else(|problem| {
            config_problem = Some(problem);
            CheckOptions::new(crate::semantics::Engine::Postgres)
        });
        Analyzer {
            root,
            config,
            options,
            config_problem,
            disk: None,
            disk_problems: Vec::new(),
            cache: CheckCache::default(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Forgets the files read from disk: the next check reads them again.
    pub fn rescan(&mut self) {
        self.disk = None;
    }

    /// Checks the folder with `overlays` (absolute path → text) in place of the files on disk.
    /// Overlays of files that discovery would read but are not on disk yet are added.
    pub fn check(
        &mut self,
        overlays: &BTreeMap<PathBuf, String>,
        progress: &dyn Progress,
    ) -> CheckResult {
        self.check_scoped(overlays, None, progress)
    }

    /// Like [`Analyzer::check`], making only the findings at fault in the files at `focus`
    /// (absolute paths; see [`crate::check_focused`]): the edited file's, in a fraction of the
    /// time a whole check takes.
    pub fn check_focused(
        &mut self,
        overlays: &BTreeMap<PathBuf, String>,
        focus: &BTreeSet<PathBuf>,
        progress: &dyn Progress,
    ) -> CheckResult {
        self.check_scoped(overlays, Some(focus), progress)
    }

    fn check_scoped(
        &mut self,
        overlays: &BTreeMap<PathBuf, String>,
        focus: Option<&BTreeSet<PathBuf>>,
        progress: &dyn Progress,
    ) -> CheckResult {
        let config = self.config.clone();
        match settings::classifier(config.as_ref()) {
            Ok(classify) => self.check_with(classify, overlays, focus, progress),
            Err(error) => {
                self.config_problem = Some(render(&error));
                let classify = |path: &Path| Some(crate::discover::role_of(path));
                self.check_with(classify, overlays, focus, progress)
            }
        }
    }

    fn check_with(
        &mut self,
        classify: impl Fn(&Path) -> Option<crate::source::Role>,
        overlays: &BTreeMap<PathBuf, String>,
        focus: Option<&BTreeSet<PathBuf>>,
        progress: &dyn Progress,
    ) -> CheckResult {
        if self.disk.is_none() {
            let (files, problems) = match crate::discover::discover_with(
                std::slice::from_ref(&self.root),
                &self.root,
                &classify,
            ) {
                Ok(discovered) => (
                    discovered.files,
                    discovered
                        .problems
                        .into_iter()
                        .map(|problem| format!("{}: {}", problem.path.display(), problem.message))
                        .collect(),
                ),
                Err(error) => (Vec::new(), vec![error.to_string()]),
            };
            self.disk = Some(files);
            self.disk_problems = problems;
        }
        let mut files = self.disk.clone().unwrap_or_default();
        let mut unseen: BTreeMap<&PathBuf, &String> = overlays
            .iter()
            .filter(|(path, _)| path.starts_with(&self.root))
            .collect();
        for file in &mut files {
            if let Some(text) = unseen.remove(&self.root.join(&file.path)) {
                *file = SourceFile::new(file.path.clone(), file.role, text.clone());
            }
        }
        for (path, text) in unseen {
            if let (Some(role), Ok(relative)) = (classify(path), path.strip_prefix(&self.root)) {
                files.push(SourceFile::new(relative.to_path_buf(), role, text.clone()));
            }
        }
        let mut result = match focus {
            None => check_with_progress(files, &self.options, &mut self.cache, progress),
            Some(focus) => {
                let relative: BTreeSet<PathBuf> = focus
                    .iter()
                    .filter_map(|path| path.strip_prefix(&self.root).ok())
                    .map(Path::to_path_buf)
                    .collect();
                check_focused(files, &self.options, &mut self.cache, &relative, progress)
            }
        };
        // A `[[transaction]]` step naming no query is a mistake in the config, as in the CLI.
        if let (Some(config), Some(unknown)) = (&self.config, result.unknown_steps.first()) {
            self.config_problem = Some(render(&config.unknown_step(unknown)));
        }
        for problem in &self.disk_problems {
            result.diagnostics.insert(
                0,
                Diagnostic {
                    kind: DiagnosticKind::IoError,
                    file: None,
                    range: Default::default(),
                    message: problem.clone(),
                },
            );
        }
        result
    }
}

fn render(error: &dyn miette::Diagnostic) -> String {
    let mut text = error.to_string();
    if let Some(help) = error.help() {
        text.push_str(&format!(" ({help})"));
    }
    text
}

/// The path of a `file:` URI, percent-decoded; `None` for other schemes.
pub fn uri_to_path(uri: &lsp_types::Uri) -> Option<PathBuf> {
    let rest = uri.as_str().strip_prefix("file://")?;
    // `file:///path` has an empty authority; `file://localhost/path` names this machine.
    let path = rest.strip_prefix("localhost").unwrap_or(rest);
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let bytes = path.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = (bytes[index] == b'%')
            .then(|| path.get(index + 1..index + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                decoded.push(byte);
                index += 3;
            }
            None => {
                decoded.push(bytes[index]);
                index += 1;
            }
        }
    }
    let path = String::from_utf8(decoded).ok()?;
    // Windows: `file:///C:/x` → `C:/x`.
    let path = match path.as_bytes() {
        [b'/', drive, b':', ..] if drive.is_ascii_alphabetic() => path[1..].to_string(),
        _ => path,
    };
    Some(PathBuf::from(path))
}

/// The `file:` URI of an absolute path.
pub fn path_to_uri(path: &Path) -> lsp_types::Uri {
    let text = path.to_string_lossy().replace('\\', "/");
    let mut uri = String::from("file://");
    if !text.starts_with('/') {
        uri.push('/');
    }
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"/-._~:".contains(&byte) {
            uri.push(char::from(byte));
        } else {
            uri.push_str(&format!("%{byte:02X}"));
        }
    }
    // Invariant: every byte outside the unreserved set is escaped above, so this parses.
    uri.parse()
        .unwrap_or_else(|_| "file:///".parse().expect("a constant URI parses"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_survive_the_round_trip_through_uris() {
        for path in ["/a/b c/d.sql", "/tmp/ünï/😀.sql", "/x/%41.sql"] {
            let uri = path_to_uri(Path::new(path));
            assert_eq!(
                uri_to_path(&uri),
                Some(PathBuf::from(path)),
                "{}",
                uri.as_str()
            );
        }
        let uri: lsp_types::Uri = "file:///a/b%20c.sql".parse().unwrap();
        assert_eq!(uri_to_path(&uri), Some(PathBuf::from("/a/b c.sql")));
        let other: lsp_types::Uri = "untitled:Untitled-1".parse().unwrap();
        assert_eq!(uri_to_path(&other), None);
    }
}
