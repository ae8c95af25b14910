//! Discovery: paths → ordered source files, each with its role (schema or transactions).
//!
//! Architecture Invariant: discovery reads files but never parses them. Schema files come
//! first, in natural path order (`2_x` before `10_x`); down migrations are skipped.

use std::cmp::Ordering;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use walkdir::WalkDir;

use crate::source::{Role, SourceFile};

const SKIPPED_DIRECTORIES: &[&str] = &[".git", "target", "node_modules"];

/// A problem with one file that does not stop the run.
#[derive(Debug, Clone)]
pub struct FileProblem {
    pub path: PathBuf,
    pub message: String,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum DiscoverError {
    #[error("`{path}` does not exist")]
    #[diagnostic(code(isolint::path), help("pass a directory or .sql file that exists"))]
    Missing { path: String },
}

pub struct Discovered {
    pub files: Vec<SourceFile>,
    pub problems: Vec<FileProblem>,
}

/// Finds the `.sql` files under `paths` (explicit files are always read).
pub fn discover(paths: &[PathBuf], working_directory: &Path) -> Result<Discovered, DiscoverError> {
    discover_with(paths, working_directory, &|path| Some(role_of(path)))
}

/// Like `discover`, with `classify` deciding each file's role, or `None` to leave it out
/// (a config file's `schema`, `include` and `exclude` globs).
pub fn discover_with(
    paths: &[PathBuf],
    working_directory: &Path,
    classify: &dyn Fn(&Path) -> Option<Role>,
) -> Result<Discovered, DiscoverError> {
    let mut found: Vec<(PathBuf, Role)> = Vec::new();
    let mut problems = Vec::new();
    for path in paths {
        if !path.exists() {
            return Err(DiscoverError::Missing {
                path: path.display().to_string(),
            });
        }
        if path.is_file() {
            if let Some(role) = classify(path) {
                found.push((path.clone(), role));
            }
            continue;
        }
        let walker = WalkDir::new(path)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|entry| {
                entry.depth() == 0
                    || !SKIPPED_DIRECTORIES
                        .iter()
                        .any(|skipped| entry.file_name() == *skipped)
            });
        for entry in walker {
            match entry {
                Ok(entry) if entry.file_type().is_file() => {
                    let path = entry.path();
                    let is_sql = path
                        .extension()
                        .is_some_and(|extension| extension.eq_ignore_ascii_case("sql"));
                    if is_sql
                        && !is_down_migration(path)
                        && !is_seed(path)
                        && let Some(role) = classify(path)
                    {
                        found.push((path.to_path_buf(), role));
                    }
                }
                Ok(_) => {}
                Err(error) => problems.push(FileProblem {
                    path: shown_path(error.path().unwrap_or(path), working_directory),
                    message: cannot_read(error.into_io_error()),
                }),
            }
        }
    }
    found.sort_by(|(a, role_a), (b, role_b)| role_a.cmp(role_b).then_with(|| natural_cmp(a, b)));
    found.dedup_by(|a, b| a.0 == b.0);
    let mut files = Vec::new();
    for (path, role) in found {
        let shown = shown_path(&path, working_directory);
        match read_text(&path) {
            Ok((text, warning)) => {
                if let Some(message) = warning {
                    problems.push(FileProblem {
                        path: shown.clone(),
                        message,
                    });
                }
                files.push(SourceFile::new(shown, role, text));
            }
            Err(message) => problems.push(FileProblem {
                path: shown,
                message,
            }),
        }
    }
    Ok(Discovered { files, problems })
}

/// Larger files are not read: a file this big is a data dump, not hand-written SQL, and
/// analysing it takes memory in proportion, some 130 bytes per byte of SQL (800 MB for a 6 MB
/// file of 100,000 statements), so this bounds a run to a few GB.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// A file's text, with a warning when it had to be repaired; `Err` with the reason when it is
/// skipped. A UTF-8 byte order mark is dropped.
fn read_text(path: &Path) -> Result<(String, Option<String>), String> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|error| cannot_read(Some(error)))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!(
            "skipped: larger than the {} MB isolint reads; exclude it in isolint.toml, or split \
             it if it is SQL to check",
            MAX_FILE_BYTES / (1024 * 1024)
        ));
    }
    if let Some(nul) = bytes.iter().position(|&byte| byte == 0) {
        return Err(format!(
            "skipped: line {} holds a NUL byte, so this is a binary file, not SQL; exclude it \
             in isolint.toml or rename it",
            line_at(&bytes, nul)
        ));
    }
    let (text, warning) = match String::from_utf8(bytes) {
        Ok(text) => (text, None),
        Err(error) => {
            let line = line_at(error.as_bytes(), error.utf8_error().valid_up_to());
            let text = String::from_utf8_lossy(error.as_bytes()).into_owned();
            let warning = format!(
                "line {line} is not valid UTF-8; invalid bytes were read as U+FFFD; save the \
                 file as UTF-8"
            );
            (text, Some(warning))
        }
    };
    let text = match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    };
    Ok((text, warning))
}

/// The 1-based line of a byte offset.
fn line_at(bytes: &[u8], offset: usize) -> usize {
    bytes[..offset]
        .iter()
        .filter(|&&byte| byte == b'\n')
        .count()
        + 1
}

fn cannot_read(error: Option<std::io::Error>) -> String {
    match error {
        Some(error) => {
            format!("cannot read it ({error}); fix its permissions or exclude it in isolint.toml")
        }
        None => "cannot read it (a symbolic link loop); remove the link or exclude it in \
                 isolint.toml"
            .to_string(),
    }
}

/// A path as users see it: relative to the working directory, without `./`.
pub fn shown_path(path: &Path, working_directory: &Path) -> PathBuf {
    let relative = path.strip_prefix(working_directory).unwrap_or(path);
    relative
        .strip_prefix("./")
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| relative.to_path_buf())
}

/// Schema when a path component is `migrations`, `migrate`, `schema` or `db/structure`.
pub fn role_of(path: &Path) -> Role {
    let components: Vec<String> = path
        .components()
        .filter_map(|component| match component {
            Component::Normal(name) => Some(name.to_string_lossy().to_ascii_lowercase()),
            _ => None,
        })
        .collect();
    let schema = components.iter().enumerate().any(|(index, name)| {
        let stem = name.trim_end_matches(".sql");
        matches!(name.as_str(), "migrations" | "migrate" | "schema")
            || (stem == "structure" && index > 0 && components[index - 1] == "db")
            || (stem == "schema" && index + 1 == components.len())
    });
    if schema {
        Role::Schema
    } else {
        Role::Transactions
    }
}

/// `seed.sql`: rows for `isolint confirm`, not part of the schema or the workload.
pub fn is_seed(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|name| name.eq_ignore_ascii_case("seed.sql"))
}

/// `*.down.sql`, `down.sql` and sqitch `revert/` folders.
pub fn is_down_migration(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    name.ends_with(".down.sql")
        || name == "down.sql"
        || path
            .components()
            .any(|component| component.as_os_str().eq_ignore_ascii_case("revert"))
}

/// Natural order: runs of digits compare as numbers, so `2_x` sorts before `10_x`.
pub fn natural_cmp(a: &Path, b: &Path) -> Ordering {
    let (a, b) = (a.to_string_lossy(), b.to_string_lossy());
    let (mut left, mut right) = (a.chars().peekable(), b.chars().peekable());
    loop {
        match (left.peek().copied(), right.peek().copied()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let take = |chars: &mut std::iter::Peekable<std::str::Chars>| {
                    let mut digits = String::new();
                    while let Some(c) = chars.peek().copied().filter(char::is_ascii_digit) {
                        digits.push(c);
                        chars.next();
                    }
                    digits
                };
                let (x, y) = (take(&mut left), take(&mut right));
                let (xt, yt) = (x.trim_start_matches('0'), y.trim_start_matches('0'));
                let order = xt
                    .len()
                    .cmp(&yt.len())
                    .then_with(|| xt.cmp(yt))
                    .then_with(|| x.len().cmp(&y.len()));
                if order != Ordering::Equal {
                    return order;
                }
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(&y);
                }
                left.next();
                right.next();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_follow_path_components() {
        assert_eq!(role_of(Path::new("db/migrations/1_init.sql")), Role::Schema);
        assert_eq!(role_of(Path::new("db/structure.sql")), Role::Schema);
        assert_eq!(role_of(Path::new("schema.sql")), Role::Schema);
        assert_eq!(
            role_of(Path::new("app/queries/transfer.sql")),
            Role::Transactions
        );
    }

    #[test]
    fn natural_order_compares_numbers() {
        let mut paths = [
            PathBuf::from("m/10_b.sql"),
            PathBuf::from("m/2_a.sql"),
            PathBuf::from("m/1_z.sql"),
        ];
        paths.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(paths[0], PathBuf::from("m/1_z.sql"));
        assert_eq!(paths[1], PathBuf::from("m/2_a.sql"));
    }

    #[test]
    fn down_migrations_are_recognised() {
        assert!(is_down_migration(Path::new("m/001_init.down.sql")));
        assert!(is_down_migration(Path::new("m/001_init/down.sql")));
        assert!(is_down_migration(Path::new("sqitch/revert/users.sql")));
        assert!(!is_down_migration(Path::new("m/001_init.up.sql")));
    }
}
