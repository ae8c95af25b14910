//! Captured programs: one per distinct transaction shape, merged with what an earlier capture
//! wrote into the same directory, and written as named transaction scripts.
//!
//! A program's parameters: each slot of its statements is a value; two slots are one
//! parameter (`$n`) when their values were equal in every execution seen, so that the id a
//! transaction reads and then updates stays one parameter while coincidences fade as
//! executions add up. A script written before is read back the same way (its `$n` are its
//! classes), so merging refines it and never duplicates it.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use super::group::{LevelSource, Location, Transaction};
use super::normalise::{self, Dialect, Kind, SLOT, Shape};
use crate::semantics::Level;

/// Where a program was first seen.
#[derive(Debug, Clone, PartialEq, Eq)]
enum FirstSeen {
    /// Recorded by an earlier capture.
    Earlier(String),
    Here(Location),
}

#[derive(Debug, Clone)]
pub struct Program {
    skeletons: Vec<String>,
    /// Each slot's parameter class, numbered from 0 in order of first appearance.
    classes: Vec<u32>,
    pub count: u64,
    first_seen: FirstSeen,
    level: Option<(Level, LevelSource)>,
    autocommit: bool,
    application: Option<String>,
    tags: Vec<(String, String)>,
    /// The name of its script, once it has one.
    name: Option<String>,
}

/// Every program, found by shape.
#[derive(Default)]
pub struct Store {
    programs: Vec<Program>,
    by_key: HashMap<String, usize>,
    /// `.sql` files in the output directory that an earlier capture did not write: their
    /// names are taken.
    foreign_names: BTreeSet<String>,
    /// Programs read from the output directory.
    pub earlier: usize,
    /// Whose SQL the scripts hold: how they are lexed, and how a level is declared.
    pub dialect: Dialect,
}

fn key(autocommit: bool, level: Option<Level>, skeletons: &[&str]) -> String {
    let mut key = String::new();
    key.push(if autocommit { 'a' } else { 't' });
    key.push_str(level.map_or("-", Level::id));
    for skeleton in skeletons {
        key.push('\u{3}');
        key.push_str(skeleton);
    }
    key
}

/// Slots equal in value are one class, within the classes already known.
fn refine(classes: &[u32], values: &[&str]) -> Vec<u32> {
    let mut ids: HashMap<(u32, &str), u32> = HashMap::new();
    classes
        .iter()
        .zip(values)
        .map(|(class, value)| {
            let next = u32::try_from(ids.len()).unwrap_or(u32::MAX);
            *ids.entry((*class, value)).or_insert(next)
        })
        .collect()
}

impl Store {
    /// No programs yet, for scripts in `dialect`.
    pub fn new(dialect: Dialect) -> Store {
        Store {
            dialect,
            ..Store::default()
        }
    }

    /// Adds `count` executions of `transaction`.
    pub fn add(&mut self, transaction: Transaction, count: u64) {
        let skeletons: Vec<&str> = transaction
            .statements
            .iter()
            .map(|shape| shape.skeleton.as_str())
            .collect();
        let key = key(
            transaction.autocommit,
            transaction.level.map(|(level, _)| level),
            &skeletons,
        );
        let values: Vec<&str> = transaction
            .statements
            .iter()
            .flat_map(|shape| shape.values.iter().map(String::as_str))
            .collect();
        match self.by_key.get(&key) {
            Some(&index) => {
                let program = &mut self.programs[index];
                if program.classes.len() == values.len() {
                    program.classes = refine(&program.classes, &values);
                }
                program.count += count;
                if let FirstSeen::Here(location) = &mut program.first_seen
                    && transaction.location < *location
                {
                    *location = transaction.location;
                }
                if program.application.is_none() {
                    program.application = transaction.application;
                }
            }
            None => {
                let classes = refine(&vec![0; values.len()], &values);
                let tags = transaction
                    .statements
                    .iter()
                    .flat_map(|shape| shape.tags.iter().cloned())
                    .filter(|(key, _)| !key.starts_with("trace"))
                    .collect::<Vec<_>>();
                let program = Program {
                    skeletons: skeletons.iter().map(|s| s.to_string()).collect(),
                    classes,
                    count,
                    first_seen: FirstSeen::Here(transaction.location),
                    level: transaction.level,
                    autocommit: transaction.autocommit,
                    application: transaction.application,
                    tags,
                    name: None,
                };
                self.by_key.insert(key, self.programs.len());
                self.programs.push(program);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.programs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.programs.is_empty()
    }

    /// Reads what an earlier capture wrote into `directory` (nothing when it does not exist).
    pub fn read_directory(&mut self, directory: &Path) -> std::io::Result<()> {
        for path in sql_files(directory)? {
            let stem = path
                .file_stem()
                .map(|stem| stem.to_string_lossy().into_owned())
                .unwrap_or_default();
            let text = std::fs::read_to_string(&path)?;
            match read_script(&text, self.dialect) {
                Some(mut program) => {
                    program.name = Some(stem);
                    let skeletons: Vec<&str> =
                        program.skeletons.iter().map(String::as_str).collect();
                    let key = key(
                        program.autocommit,
                        program.level.map(|(level, _)| level),
                        &skeletons,
                    );
                    if self.by_key.contains_key(&key) {
                        // Two scripts of one shape (copied by hand): keep the first.
                        self.foreign_names
                            .insert(program.name.take().unwrap_or_default());
                        continue;
                    }
                    self.earlier += 1;
                    self.by_key.insert(key, self.programs.len());
                    self.programs.push(program);
                }
                None => {
                    self.foreign_names.insert(stem);
                }
            }
        }
        Ok(())
    }

    /// Writes every program into `directory` as `NAME.sql`; `inputs` name the inputs for
    /// first-seen locations. Returns how many scripts were new.
    pub fn write(&mut self, directory: &Path, inputs: &[String]) -> std::io::Result<usize> {
        std::fs::create_dir_all(directory)?;
        let mut taken: BTreeSet<String> = self.foreign_names.clone();
        taken.extend(self.programs.iter().filter_map(|p| p.name.clone()));
        let mut new: Vec<usize> = (0..self.programs.len())
            .filter(|index| self.programs[*index].name.is_none())
            .collect();
        new.sort_by_key(|index| match &self.programs[*index].first_seen {
            FirstSeen::Here(location) => (*location, self.programs[*index].skeletons.clone()),
            FirstSeen::Earlier(_) => (Location { input: 0, line: 0 }, Vec::new()),
        });
        for index in &new {
            let base = base_name(&self.programs[*index], self.dialect);
            let mut name = base.clone();
            let mut number = 2;
            while taken.contains(&name.to_ascii_lowercase()) || taken.contains(&name) {
                name = format!("{base}_{number}");
                number += 1;
            }
            taken.insert(name.to_ascii_lowercase());
            self.programs[*index].name = Some(name);
        }
        for program in &self.programs {
            let name = program.name.clone().unwrap_or_default();
            let text = script(program, &name, inputs, self.dialect);
            std::fs::write(directory.join(format!("{name}.sql")), text)?;
        }
        Ok(new.len())
    }
}

/// `controller_action` from tags, else `verb_table_verb_table...`, with the application's name
/// in front when the log has it.
fn base_name(program: &Program, dialect: Dialect) -> String {
    let tag = |wanted: &str| {
        program
            .tags
            .iter()
            .find(|(key, _)| key == wanted)
            .map(|(_, value)| value.clone())
    };
    let from_tags: Vec<String> = [tag("controller"), tag("action")]
        .into_iter()
        .flatten()
        .chain(tag("route"))
        .collect();
    let mut parts: Vec<String> = Vec::new();
    if from_tags.is_empty() {
        if let Some(application) = &program.application
            && !is_driver_default(application)
        {
            parts.push(application.clone());
        }
        for skeleton in &program.skeletons {
            let piece = normalise::verb_and_table(skeleton, dialect);
            if !parts.contains(&piece) {
                parts.push(piece);
            }
        }
    } else {
        parts = from_tags;
    }
    let mut name = String::new();
    for part in parts {
        let part = sanitise(&part);
        if part.is_empty() {
            continue;
        }
        if name.len() + part.len() > 60 && !name.is_empty() {
            name.push_str("_etc");
            break;
        }
        if !name.is_empty() {
            name.push('_');
        }
        name.push_str(&part);
    }
    if name.is_empty() {
        "captured".to_string()
    } else {
        name
    }
}

/// Names drivers and tools send when the application sets none.
fn is_driver_default(application: &str) -> bool {
    application.is_empty()
        || application == "psql"
        || application.starts_with("PostgreSQL JDBC")
        || application.starts_with("pgAdmin")
}

fn sanitise(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    out.trim_end_matches('_').to_string()
}

const HEADER: &str = "-- captured: ";

/// The header line of a script of MySQL's SQL.
const MYSQL_HEADER: &str = "-- captured: engine mysql";

/// The `.sql` files directly in `directory`, sorted; none when it does not exist.
fn sql_files(directory: &Path) -> std::io::Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(directory) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error),
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "sql"))
        .collect();
    paths.sort();
    Ok(paths)
}

/// Whose SQL the scripts an earlier capture wrote into `directory` hold, if there are any.
pub fn directory_dialect(directory: &Path) -> std::io::Result<Option<Dialect>> {
    for path in sql_files(directory)? {
        let text = std::fs::read_to_string(&path)?;
        if !text.starts_with(HEADER) {
            continue;
        }
        let mysql = text
            .lines()
            .take_while(|line| line.starts_with("--"))
            .any(|line| line == MYSQL_HEADER);
        return Ok(Some(if mysql {
            Dialect::Mysql
        } else {
            Dialect::Postgres
        }));
    }
    Ok(None)
}

/// The script of `program`.
fn script(program: &Program, name: &str, inputs: &[String], dialect: Dialect) -> String {
    let mut text = String::new();
    let first_seen = match &program.first_seen {
        FirstSeen::Earlier(text) => text.clone(),
        FirstSeen::Here(location) => format!(
            "{}:{}",
            inputs.get(location.input).map_or("?", String::as_str),
            location.line
        ),
    };
    let runs = if program.autocommit {
        format!(
            "{} run{} outside a transaction",
            program.count,
            if program.count == 1 { "" } else { "s" }
        )
    } else {
        format!(
            "{} transaction{}",
            program.count,
            if program.count == 1 { "" } else { "s" }
        )
    };
    text.push_str(&format!("{HEADER}{runs}, first seen at {first_seen}\n"));
    if dialect == Dialect::Mysql {
        text.push_str(MYSQL_HEADER);
        text.push('\n');
    }
    if let Some((level, source)) = program.level {
        text.push_str(&format!(
            "{HEADER}isolation {} ({})\n",
            level.sql(),
            source.label()
        ));
    }
    if let Some(application) = &program.application {
        text.push_str(&format!(
            "{HEADER}application_name {}\n",
            one_line(application)
        ));
    }
    if !program.tags.is_empty() {
        let tags: Vec<String> = program
            .tags
            .iter()
            .map(|(key, value)| format!("{key}='{}'", one_line(value).replace('\'', "''")))
            .collect();
        text.push_str(&format!("{HEADER}tags {}\n", tags.join(", ")));
    }
    if program.autocommit
        && let Some((level, _)) = program.level
    {
        text.push_str(&format!("-- isolint: isolation {}\n", level.id()));
    }
    text.push_str(&format!("-- name: {name}\n"));
    if !program.autocommit {
        match (program.level, dialect) {
            (Some((level, _)), Dialect::Postgres) => {
                text.push_str(&format!("BEGIN ISOLATION LEVEL {};\n", level.sql()))
            }
            (Some((level, _)), Dialect::Mysql) => text.push_str(&format!(
                "SET TRANSACTION ISOLATION LEVEL {};\nSTART TRANSACTION;\n",
                level.sql()
            )),
            (None, Dialect::Postgres) => text.push_str("BEGIN;\n"),
            (None, Dialect::Mysql) => text.push_str("START TRANSACTION;\n"),
        }
    }
    let mut classes = program.classes.iter();
    for skeleton in &program.skeletons {
        for piece in skeleton.split(SLOT).enumerate() {
            let (index, piece) = piece;
            if index > 0 {
                let class = classes.next().copied().unwrap_or(0);
                text.push_str(&format!("${}", class + 1));
            }
            text.push_str(piece);
        }
        text.push_str(";\n");
    }
    if !program.autocommit {
        text.push_str("COMMIT;\n");
    }
    text
}

fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

/// A script written by `capture`, read back; `None` for any other file.
fn read_script(text: &str, dialect: Dialect) -> Option<Program> {
    let mut lines = text.lines();
    let first = lines.next()?.strip_prefix(HEADER)?;
    let (runs, first_seen) = first.split_once(", first seen at ")?;
    let count: u64 = runs.split(' ').next()?.parse().ok()?;
    let autocommit = runs.contains("outside a transaction");
    let mut level = None;
    let mut application = None;
    let mut tags = Vec::new();
    for line in text.lines().skip(1) {
        if let Some(rest) = line.strip_prefix(HEADER) {
            if let Some(rest) = rest.strip_prefix("isolation ") {
                let (name, source) = rest.split_once(" (")?;
                let source = LevelSource::from_label(source.strip_suffix(')')?)?;
                level = Some((Level::parse(name)?, source));
            } else if let Some(rest) = rest.strip_prefix("application_name ") {
                application = Some(rest.to_string());
            } else if let Some(rest) = rest.strip_prefix("tags ") {
                tags = normalise::comment_tags(&format!("/*{rest}*/"));
            }
        } else if !line.starts_with("--") {
            break;
        }
    }
    // The body: what follows the header comments.
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if !line.starts_with("--") {
            break;
        }
        offset += line.len();
    }
    let body = &text[offset..];
    let split = crate::parse::split::split(body, dialect.flavor(), false);
    let mut shapes: Vec<Shape> = Vec::new();
    for chunk in &split.chunks {
        let statement = &body[chunk.range.start..chunk.range.end];
        let tokens = normalise::tokens(statement, dialect);
        // The transaction's own statements (BEGIN, SET TRANSACTION, COMMIT) are not its work.
        if normalise::classify_tokens(&tokens, statement, dialect) == Kind::Work {
            shapes.push(normalise::shape_tokens(&tokens, statement, &|_| None, ""));
        }
    }
    if shapes.is_empty() {
        return None;
    }
    let values: Vec<&str> = shapes
        .iter()
        .flat_map(|shape| shape.values.iter().map(String::as_str))
        .collect();
    Some(Program {
        classes: refine(&vec![0; values.len()], &values),
        skeletons: shapes.iter().map(|shape| shape.skeleton.clone()).collect(),
        count,
        first_seen: FirstSeen::Earlier(first_seen.to_string()),
        level,
        autocommit,
        application,
        tags,
        name: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transaction(statements: &[(&str, &[&str])], line: u64) -> Transaction {
        Transaction {
            statements: statements
                .iter()
                .map(|(skeleton, values)| Shape {
                    skeleton: skeleton.replace('?', &SLOT.to_string()),
                    values: values.iter().map(|v| v.to_string()).collect(),
                    tags: Vec::new(),
                })
                .collect(),
            level: Some((Level::ReadCommitted, LevelSource::Begin)),
            autocommit: false,
            application: Some("bank_app".into()),
            location: Location { input: 0, line },
        }
    }

    fn withdraw(balance: &str, id: &str, line: u64) -> Transaction {
        transaction(
            &[
                ("SELECT balance FROM accounts WHERE id = ?", &[id]),
                (
                    "UPDATE accounts SET balance = ? WHERE id = ?",
                    &[balance, id],
                ),
            ],
            line,
        )
    }

    #[test]
    fn values_equal_in_every_execution_are_one_parameter() {
        let mut store = Store::default();
        // In the first execution the new balance happens to equal the id.
        store.add(withdraw("1", "1", 7), 1);
        assert_eq!(store.programs[0].classes, [0, 0, 0]);
        store.add(withdraw("990", "2", 3), 1);
        assert_eq!(store.programs[0].classes, [0, 1, 0]);
        assert_eq!(store.programs[0].count, 2);
        let text = script(
            &store.programs[0],
            "withdraw",
            &["pg.log".into()],
            Dialect::Postgres,
        );
        assert_eq!(
            text,
            "-- captured: 2 transactions, first seen at pg.log:3\n\
             -- captured: isolation READ COMMITTED (BEGIN ISOLATION LEVEL)\n\
             -- captured: application_name bank_app\n\
             -- name: withdraw\n\
             BEGIN ISOLATION LEVEL READ COMMITTED;\n\
             SELECT balance FROM accounts WHERE id = $1;\n\
             UPDATE accounts SET balance = $2 WHERE id = $1;\n\
             COMMIT;\n"
        );
    }

    #[test]
    fn a_script_read_back_merges_with_new_executions() {
        let directory = tempfile::tempdir().expect("directory");
        let mut store = Store::default();
        store.add(withdraw("990", "1", 10), 1);
        store.add(withdraw("980", "1", 20), 1);
        assert_eq!(
            store
                .write(directory.path(), &["old.log".into()])
                .expect("write"),
            1
        );
        std::fs::write(directory.path().join("mine.sql"), "SELECT 1;\n").expect("write");

        let mut again = Store::default();
        again.read_directory(directory.path()).expect("read");
        assert_eq!(again.earlier, 1);
        again.add(withdraw("970", "3", 5), 2);
        again.add(
            transaction(&[("DELETE FROM accounts WHERE id = ?", &["1"])], 9),
            1,
        );
        assert_eq!(again.len(), 2);
        assert_eq!(
            again
                .write(directory.path(), &["new.log".into()])
                .expect("write"),
            1
        );
        let mut files: Vec<String> = std::fs::read_dir(directory.path())
            .expect("list")
            .map(|entry| {
                entry
                    .expect("entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        files.sort();
        assert_eq!(
            files,
            [
                "bank_app_delete_accounts.sql",
                "bank_app_select_accounts_update_accounts.sql",
                "mine.sql"
            ]
        );
        let merged = std::fs::read_to_string(
            directory
                .path()
                .join("bank_app_select_accounts_update_accounts.sql"),
        )
        .expect("read");
        assert!(
            merged.starts_with("-- captured: 4 transactions, first seen at old.log:10\n"),
            "{merged}"
        );
        assert!(
            merged.contains("UPDATE accounts SET balance = $2 WHERE id = $1;"),
            "{merged}"
        );
    }

    #[test]
    fn a_statement_run_alone_declares_its_session_level_as_a_directive() {
        let mut store = Store::default();
        let mut alone = transaction(
            &[("UPDATE accounts SET balance = ? WHERE id = ?", &["5", "1"])],
            4,
        );
        alone.autocommit = true;
        alone.level = Some((Level::Serializable, LevelSource::Session));
        alone.application = None;
        store.add(alone, 3);
        assert_eq!(
            script(
                &store.programs[0],
                "update_accounts",
                &["pg.log".into()],
                Dialect::Postgres
            ),
            "-- captured: 3 runs outside a transaction, first seen at pg.log:4\n\
             -- captured: isolation SERIALIZABLE (the session's default_transaction_isolation)\n\
             -- isolint: isolation serializable\n\
             -- name: update_accounts\n\
             UPDATE accounts SET balance = $1 WHERE id = $2;\n"
        );
        let read_back = read_script(
            &script(&store.programs[0], "x", &[], Dialect::Postgres),
            Dialect::Postgres,
        )
        .expect("read back");
        assert_eq!(
            read_back.level,
            Some((Level::Serializable, LevelSource::Session))
        );
        assert!(read_back.autocommit);
        assert_eq!(read_back.count, 3);
    }

    #[test]
    fn names_come_from_tags_and_are_unique() {
        let mut store = Store::default();
        let mut tagged = withdraw("1", "2", 1);
        tagged.statements[0].tags = vec![
            ("controller".into(), "accounts".into()),
            ("action".into(), "withdraw".into()),
            ("traceparent".into(), "00-ab".into()),
        ];
        store.add(tagged, 1);
        let mut other = transaction(&[("SELECT 1 FROM accounts WHERE id = ?", &["1"])], 2);
        other.statements[0].tags = vec![
            ("controller".into(), "accounts".into()),
            ("action".into(), "withdraw".into()),
        ];
        store.add(other, 1);
        let directory = tempfile::tempdir().expect("directory");
        store
            .write(directory.path(), &["x.log".into()])
            .expect("write");
        assert_eq!(store.programs[0].name.as_deref(), Some("accounts_withdraw"));
        assert_eq!(
            store.programs[1].name.as_deref(),
            Some("accounts_withdraw_2")
        );
        let text =
            std::fs::read_to_string(directory.path().join("accounts_withdraw.sql")).expect("read");
        assert!(text.contains("-- captured: tags controller='accounts', action='withdraw'\n"));
    }
}
