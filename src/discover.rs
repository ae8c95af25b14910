//! Discovery: paths → ordered source files, each with its role (schema or transactions).
//!
//! Architecture Invariant: discovery reads files but never parses them. Schema files come
//! first, in natural path order (`2_x` before `10_x`; Flyway's `V1_1__x` by version, its
//! repeatable `R__x` after every versioned one); down migrations are skipped.
//!
//! A file's role comes from, in order: the config's globs (through the caller's classifier),
//! a `sqlc.yaml` / `sqlc.json` `schema:` or `queries:` path, its path (`migrations/`,
//! `migration/`, `migrate/`, `schema/`, `structure.sql`, `schema.sql`, `*.up.sql`, Flyway
//! names), then its first line (`--liquibase formatted sql`). A file named `schema.sql` that
//! holds no `CREATE`, `ALTER` or `DROP` is data, not schema. Every decision keeps its reason,
//! for `isolint check --explain-inputs`.

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
    /// Every `.sql` file met, as shown to users, with its role or why it was skipped, in the
    /// order the files are read.
    pub explanations: Vec<(PathBuf, String)>,
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
    let mut candidates: Vec<PathBuf> = Vec::new();
    let mut skipped: Vec<(PathBuf, String)> = Vec::new();
    let mut sqlc = SqlcPaths::default();
    let mut problems = Vec::new();
    for path in paths {
        if !path.exists() {
            return Err(DiscoverError::Missing {
                path: path.display().to_string(),
            });
        }
        if path.is_file() {
            candidates.push(path.clone());
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
                    if is_sqlc_config(path) {
                        sqlc.read(path);
                    } else if !is_sql {
                        continue;
                    } else if is_down_migration(path) {
                        skipped.push((path.to_path_buf(), "skipped: down migration".into()));
                    } else if is_seed(path) {
                        skipped.push((
                            path.to_path_buf(),
                            "skipped: seed.sql holds rows for `isolint confirm`".into(),
                        ));
                    } else {
                        candidates.push(path.to_path_buf());
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
    let mut found: Vec<Found> = Vec::new();
    for path in candidates {
        let Some(role) = classify(&path) else {
            skipped.push((path, "skipped: not included by isolint.toml".into()));
            continue;
        };
        let (heuristic, reason) = explain_role(&path);
        let (role, reason) = if role != heuristic {
            let reason = match role {
                Role::Schema => "schema: matches a `schema` glob in isolint.toml",
                Role::Transactions => "transactions: matches no `schema` glob in isolint.toml",
            };
            (role, reason.to_string())
        } else {
            sqlc.role_of(&path).unwrap_or((role, reason))
        };
        // The text can change a role the path alone decided, which changes the order.
        let text = read_text(&path);
        let by_path = reason.starts_with("schema: named schema.sql") || reason == DEFAULT_REASON;
        let (role, reason) = match &text {
            Ok((text, _)) if by_path => by_content(role, reason, text),
            _ => (role, reason),
        };
        found.push(Found {
            path,
            role,
            reason,
            text,
        });
    }
    found.sort_by(|a, b| {
        a.role
            .cmp(&b.role)
            .then_with(|| migration_cmp(&a.path, &b.path))
    });
    found.dedup_by(|a, b| a.path == b.path);
    let mut files = Vec::new();
    let mut explanations = Vec::new();
    for Found {
        path,
        role,
        reason,
        text,
    } in found
    {
        let shown = shown_path(&path, working_directory);
        match text {
            Ok((text, warning)) => {
                if let Some(message) = warning {
                    problems.push(FileProblem {
                        path: shown.clone(),
                        message,
                    });
                }
                explanations.push((shown.clone(), reason));
                files.push(SourceFile::new(shown, role, text));
            }
            Err(message) => {
                explanations.push((shown.clone(), format!("skipped: {message}")));
                problems.push(FileProblem {
                    path: shown,
                    message,
                });
            }
        }
    }
    skipped.sort_by(|a, b| natural_cmp(&a.0, &b.0));
    explanations.extend(
        skipped
            .into_iter()
            .map(|(path, reason)| (shown_path(&path, working_directory), reason)),
    );
    Ok(Discovered {
        files,
        problems,
        explanations,
    })
}

/// A file to read, with its role, why, and its text or why it cannot be read.
struct Found {
    path: PathBuf,
    role: Role,
    reason: String,
    text: Result<(String, Option<String>), String>,
}

const DEFAULT_REASON: &str =
    "transactions: default (no schema directory, migration name or sqlc.yaml path)";

/// Roles that the file's text decides: a Liquibase formatted SQL changelog is schema; a file
/// named `schema.sql` with no `CREATE`, `ALTER` or `DROP` is data, not schema.
fn by_content(role: Role, reason: String, text: &str) -> (Role, String) {
    let first_line = text
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or_default();
    let liquibase = first_line
        .strip_prefix("--")
        .map(|rest| rest.split_whitespace().collect::<Vec<_>>().join(" "))
        .is_some_and(|rest| rest.eq_ignore_ascii_case("liquibase formatted sql"));
    if liquibase {
        return (
            Role::Schema,
            "schema: a Liquibase formatted SQL changelog (`--liquibase formatted sql`)".into(),
        );
    }
    if role == Role::Schema && !holds_ddl(text) {
        return (
            Role::Transactions,
            "transactions: named schema.sql but holds no CREATE, ALTER or DROP".into(),
        );
    }
    (role, reason)
}

/// Whether `text` has a `CREATE`, `ALTER` or `DROP` word outside `--` comments: a cheap test,
/// since discovery does not parse.
fn holds_ddl(text: &str) -> bool {
    text.lines()
        .map(|line| line.split("--").next().unwrap_or_default())
        .flat_map(|line| line.split(|c: char| !c.is_ascii_alphanumeric() && c != '_'))
        .any(|word| {
            ["create", "alter", "drop"]
                .iter()
                .any(|ddl| word.eq_ignore_ascii_case(ddl))
        })
}

/// The `schema:` and `queries:` paths of the `sqlc.yaml` / `sqlc.json` files found, absolute.
#[derive(Default)]
struct SqlcPaths {
    schema: Vec<PathBuf>,
    queries: Vec<PathBuf>,
}

fn is_sqlc_config(path: &Path) -> bool {
    path.file_name().is_some_and(|name| {
        ["sqlc.yaml", "sqlc.yml", "sqlc.json"]
            .iter()
            .any(|known| name.eq_ignore_ascii_case(known))
    })
}

impl SqlcPaths {
    /// Reads one sqlc config; one that cannot be read adds nothing (sqlc itself reports it).
    fn read(&mut self, path: &Path) {
        let Ok(text) = std::fs::read_to_string(path) else {
            return;
        };
        let directory = path.parent().unwrap_or(Path::new("."));
        let is_json = path
            .extension()
            .is_some_and(|extension| extension.eq_ignore_ascii_case("json"));
        let (schema, queries) = if is_json {
            sqlc_json_paths(&text)
        } else {
            sqlc_yaml_paths(&text)
        };
        let resolve = |relative: String| normalized(&directory.join(relative));
        self.schema.extend(schema.into_iter().map(resolve));
        self.queries.extend(queries.into_iter().map(resolve));
    }

    fn role_of(&self, path: &Path) -> Option<(Role, String)> {
        let path = normalized(path);
        let under = |roots: &[PathBuf]| roots.iter().any(|root| path.starts_with(root));
        if under(&self.schema) {
            Some((Role::Schema, "schema: listed under sqlc `schema:`".into()))
        } else if under(&self.queries) {
            Some((
                Role::Transactions,
                "transactions: listed under sqlc `queries:`".into(),
            ))
        } else {
            None
        }
    }
}

/// `path` made absolute, without `.` components, so that paths from sqlc configs and from
/// the walk compare.
fn normalized(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    absolute
        .components()
        .filter(|component| !matches!(component, Component::CurDir))
        .collect()
}

/// The `schema:` and `queries:` values of a `sqlc.yaml`, version 1 (`packages:`) or 2
/// (`sql:`): a small reader for the YAML sqlc configs are written in: `key: value`,
/// `key: [a, b]`, and `key:` followed by `- item` lines.
fn sqlc_yaml_paths(text: &str) -> (Vec<String>, Vec<String>) {
    let (mut schema, mut queries) = (Vec::new(), Vec::new());
    let unquote = |value: &str| {
        value
            .trim()
            .trim_matches(|c| c == '"' || c == '\'')
            .to_string()
    };
    let lines: Vec<&str> = text.lines().collect();
    let mut index = 0;
    while index < lines.len() {
        let line = lines[index].split(" #").next().unwrap_or_default();
        index += 1;
        let body = line.trim_start();
        let body = body.strip_prefix("- ").unwrap_or(body).trim_start();
        let Some((key, value)) = body.split_once(':') else {
            continue;
        };
        let target = match key.trim() {
            "schema" => &mut schema,
            "queries" => &mut queries,
            _ => continue,
        };
        let value = value.trim();
        if let Some(list) = value.strip_prefix('[') {
            target.extend(
                list.trim_end_matches(']')
                    .split(',')
                    .map(unquote)
                    .filter(|item| !item.is_empty()),
            );
        } else if !value.is_empty() {
            target.push(unquote(value));
        } else {
            while let Some(item) = lines
                .get(index)
                .and_then(|next| next.trim_start().strip_prefix("- "))
                .filter(|item| !item.contains(": "))
            {
                target.push(unquote(item));
                index += 1;
            }
        }
    }
    (schema, queries)
}

/// The `schema` and `queries` values anywhere in a `sqlc.json`.
fn sqlc_json_paths(text: &str) -> (Vec<String>, Vec<String>) {
    fn walk(value: &serde_json::Value, schema: &mut Vec<String>, queries: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, value) in map {
                    let target = match key.as_str() {
                        "schema" => Some(&mut *schema),
                        "queries" => Some(&mut *queries),
                        _ => None,
                    };
                    match (target, value) {
                        (Some(target), serde_json::Value::String(path)) => {
                            target.push(path.clone())
                        }
                        (Some(target), serde_json::Value::Array(items)) => target.extend(
                            items
                                .iter()
                                .filter_map(|item| item.as_str().map(str::to_string)),
                        ),
                        _ => walk(value, schema, queries),
                    }
                }
            }
            serde_json::Value::Array(items) => {
                for item in items {
                    walk(item, schema, queries);
                }
            }
            _ => {}
        }
    }
    let (mut schema, mut queries) = (Vec::new(), Vec::new());
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(text) {
        walk(&value, &mut schema, &mut queries);
    }
    (schema, queries)
}

/// Migration order: natural path order, except that Flyway names order by version
/// (`V1__a` < `V1_1__b` < `V2__c`) and repeatable `R__x` files come after the versioned ones
/// of their directory. A total order: it compares paths rewritten so that natural order
/// gives exactly that.
fn migration_cmp(a: &Path, b: &Path) -> Ordering {
    natural_cmp(&flyway_sort_path(a), &flyway_sort_path(b))
}

fn flyway_sort_path(path: &Path) -> PathBuf {
    let Some(name) = path.file_name().map(|name| name.to_string_lossy()) else {
        return path.to_path_buf();
    };
    let key = match flyway_name(&name) {
        // `!` sorts before `_` and `.`, so `V1` comes before `V1_1`.
        Some(Flyway::Versioned(version, rest)) => format!("V{}!{rest}", version.join(".")),
        Some(Flyway::Repeatable) => format!("\u{10FFFF}{name}"),
        None => return path.to_path_buf(),
    };
    path.with_file_name(key)
}

enum Flyway<'a> {
    /// `V1_1__x.sql`: the version's numbers and the rest of the name.
    Versioned(Vec<&'a str>, &'a str),
    /// `R__x.sql`
    Repeatable,
}

/// Flyway's migration names: `V<version>__<description>.sql` (version numbers separated by `_`
/// or `.`) and `R__<description>.sql`.
fn flyway_name(name: &str) -> Option<Flyway<'_>> {
    if name.len() > 3 && (name.starts_with("R__") || name.starts_with("r__")) {
        return Some(Flyway::Repeatable);
    }
    let rest = name.strip_prefix('V').or_else(|| name.strip_prefix('v'))?;
    let (version, description) = rest.split_once("__")?;
    let parts: Vec<&str> = version.split(['_', '.']).collect();
    let valid = parts
        .iter()
        .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_digit()));
    valid.then_some(Flyway::Versioned(parts, description))
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

/// Schema when a directory is `migrations`, `migration`, `migrate` or `schema`, the file is
/// `structure.sql` (Rails) or `schema.sql`, an up migration (`*.up.sql`) or has a Flyway name
/// (`V1__x.sql`, `R__x.sql`).
pub fn role_of(path: &Path) -> Role {
    explain_role(path).0
}

/// The role the path gives a file, and why.
pub fn explain_role(path: &Path) -> (Role, String) {
    let components: Vec<String> = path
        .components()
        .filter_map(|component| match component {
            Component::Normal(name) => Some(name.to_string_lossy().to_ascii_lowercase()),
            _ => None,
        })
        .collect();
    let schema = |reason: String| (Role::Schema, reason);
    let Some((name, directories)) = components.split_last() else {
        return (Role::Transactions, DEFAULT_REASON.to_string());
    };
    if let Some(directory) = directories.iter().find(|name| {
        matches!(
            name.as_str(),
            "migrations" | "migration" | "migrate" | "schema"
        )
    }) {
        return schema(format!("schema: path has a `{directory}` component"));
    }
    match name.as_str() {
        "structure.sql" => {
            return schema("schema: named structure.sql (a Rails schema dump)".into());
        }
        "schema.sql" => return schema("schema: named schema.sql".into()),
        _ => {}
    }
    if name.ends_with(".up.sql") {
        return schema("schema: an up migration (`*.up.sql`)".into());
    }
    let original = path
        .file_name()
        .map(|name| name.to_string_lossy().to_string())
        .unwrap_or_default();
    if flyway_name(&original).is_some() {
        return schema("schema: a Flyway migration name (`V<version>__x.sql`, `R__x.sql`)".into());
    }
    (Role::Transactions, DEFAULT_REASON.to_string())
}

/// `seed.sql`: rows for `isolint confirm`, not part of the schema or the workload.
pub fn is_seed(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|name| name.eq_ignore_ascii_case("seed.sql"))
}

/// `*.down.sql`, `down.sql`, Flyway undo migrations (`U1__x.sql`) and sqitch `revert/`
/// folders.
pub fn is_down_migration(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let flyway_undo = name
        .strip_prefix('u')
        .and_then(|rest| rest.split_once("__"))
        .is_some_and(|(version, _)| {
            !version.is_empty()
                && version
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == '_' || c == '.')
        });
    flyway_undo
        || name.ends_with(".down.sql")
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
    fn migration_names_of_every_tool_are_schema() {
        for path in [
            "db/migration/V1__init.sql",
            "V2_1__add.sql",
            "R__views.sql",
            "db/migrate/20240101_init.sql",
            "sql/001_init.up.sql",
            "structure.sql",
        ] {
            assert_eq!(role_of(Path::new(path)), Role::Schema, "{path}");
        }
        assert_eq!(role_of(Path::new("Vacations.sql")), Role::Transactions);
        assert!(is_down_migration(Path::new("db/migration/U1_1__init.sql")));
        assert!(!is_down_migration(Path::new("db/migration/update__x.sql")));
    }

    #[test]
    fn flyway_versions_sort_by_version_and_repeatables_last() {
        let mut paths = [
            PathBuf::from("m/R__views.sql"),
            PathBuf::from("m/V2__c.sql"),
            PathBuf::from("m/V1_1__b.sql"),
            PathBuf::from("m/V10__d.sql"),
            PathBuf::from("m/V1__a.sql"),
        ];
        paths.sort_by(|a, b| migration_cmp(a, b));
        let names: Vec<_> = paths
            .iter()
            .map(|p| p.to_string_lossy().to_string())
            .collect();
        assert_eq!(
            names,
            [
                "m/V1__a.sql",
                "m/V1_1__b.sql",
                "m/V2__c.sql",
                "m/V10__d.sql",
                "m/R__views.sql"
            ]
        );
    }

    #[test]
    fn content_decides_liquibase_and_data_only_schema_sql() {
        let (role, _) = by_content(
            Role::Transactions,
            DEFAULT_REASON.into(),
            "-- liquibase formatted sql\n--changeset a:1\nCREATE TABLE t (id int);",
        );
        assert_eq!(role, Role::Schema);
        let (role, reason) = by_content(
            Role::Schema,
            "schema: named schema.sql".into(),
            "-- create nothing\nINSERT INTO t VALUES (1);",
        );
        assert_eq!(role, Role::Transactions, "{reason}");
        let (role, _) = by_content(
            Role::Schema,
            "schema: named schema.sql".into(),
            "create table t (id int);",
        );
        assert_eq!(role, Role::Schema);
    }

    #[test]
    fn sqlc_configs_of_both_versions_give_their_paths() {
        let version_1 = "version: \"1\"\npackages:\n  - name: \"db\"\n    path: \"internal/db\"\n    queries: \"./sql/query/\"\n    schema: \"./sql/schema/\"\n";
        assert_eq!(
            sqlc_yaml_paths(version_1),
            (
                vec!["./sql/schema/".to_string()],
                vec!["./sql/query/".to_string()]
            )
        );
        let version_2 = "version: '2'\nsql:\n- schema:\n  - db/a.sql\n  - db/b.sql\n  queries: [q1.sql, \"q2.sql\"]\n  engine: postgresql\n";
        assert_eq!(
            sqlc_yaml_paths(version_2),
            (
                vec!["db/a.sql".to_string(), "db/b.sql".to_string()],
                vec!["q1.sql".to_string(), "q2.sql".to_string()]
            )
        );
        let json = r#"{"version": "2", "sql": [{"schema": ["s.sql"], "queries": "q/"}]}"#;
        assert_eq!(
            sqlc_json_paths(json),
            (vec!["s.sql".to_string()], vec!["q/".to_string()])
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
