//! `isolint confirm`: runs each finding's witness interleaving on a real PostgreSQL, or on a
//! MySQL-family server (MariaDB, MySQL with InnoDB) for the `mysql` and `mariadb` engines, and
//! decides by serializability whether the anomaly happened. What differs between the two
//! servers is in `database` (connections, errors, the SQL written for each), `throwaway`,
//! `catalog`, `migrate` and the session's lock-wait question; the plan, the schedule, the rows
//! and the verdict are the same code for both.
//!
//! ```text
//! migrations, verbatim → throwaway database (the template)
//!   → the config's `[confirm] setup` files (the state the project's code expects)
//!   → its catalog and existing rows read back
//!   → plan (bind parameters to existing rows' values, else values of their columns' types;
//!     complete the schedule)
//!   → per run: a copy of the template, rows (seed.sql, or made to satisfy its constraints)
//!   → session (run the interleaving, then every serial order, each on a fresh copy)
//!   → verdict (does the interleaved outcome match a serial one?)
//! ```
//!
//! Everything happens in databases of its own, `isolint_confirm_<random>`, created on the
//! server and dropped afterwards (`throwaway`); without `--database-url`, on a private server
//! started for the run (`cluster` for PostgreSQL, `mariadb`). Nothing else on the server is
//! touched.

pub mod catalog;
pub mod cluster;
pub mod condition;
pub mod database;
pub mod holder;
pub mod mariadb;
pub mod migrate;
pub mod pause;
pub mod plan;
pub mod seed;
pub mod session;
pub mod throwaway;

use std::cell::OnceCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Serialize;
use sqlparser::ast::Statement;

use crate::CheckResult;
use crate::analysis::finding::{Finding, StatementRef};
use crate::parse::templates::Variables;
use crate::source::Role;
use catalog::Tables;
use database::{Database, Flavor};
use migrate::{Failure, Migrations};
use plan::{Action, Choice, Naming, Plan, PlannedStep};
use session::{Event, Execution, Outcome, RunDatabase};
use throwaway::Throwaway;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The interleaved outcome matches no serial order: the anomaly happened.
    Reproduced,
    /// A serialization failure, a deadlock or a constraint stopped it, or the outcome is that
    /// of a serial order.
    Prevented,
    /// The schedule ran, but with the rows and values tried the transactions never touched
    /// the same data: every serial order gives the same outcome, so nothing is shown either
    /// way.
    NotReproduced,
    /// It could not be run to a verdict; the reason says why.
    Inconclusive,
}

impl Verdict {
    pub fn id(self) -> &'static str {
        match self {
            Verdict::Reproduced => "reproduced",
            Verdict::Prevented => "prevented",
            Verdict::NotReproduced => "not_reproduced",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SerialOutcome {
    /// Session labels in the order they ran.
    pub order: Vec<String>,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, Serialize)]
pub struct Confirmation {
    pub verdict: Verdict,
    pub reason: String,
    /// The interleaving as it ran.
    pub schedule: Vec<Event>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed: Option<Outcome>,
    pub serial_outcomes: Vec<SerialOutcome>,
    /// The parameter values of each session (T1 first).
    pub parameters: Vec<BTreeMap<String, String>>,
    /// Values and rows chosen rather than given.
    pub assumptions: Vec<String>,
    /// Which schedule the interleaving followed, in words (empty when it did not run).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub interleaving: String,
    /// How the tables it ran on were built.
    pub schema: String,
    /// The partner whose pair this ran, when the finding's own pair did not reproduce it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partner: Option<String>,
}

impl Confirmation {
    fn inconclusive(reason: String, schema: String) -> Confirmation {
        Confirmation {
            verdict: Verdict::Inconclusive,
            reason,
            schema,
            schedule: vec![],
            observed: None,
            serial_outcomes: vec![],
            parameters: vec![],
            assumptions: vec![],
            interleaving: String::new(),
            partner: None,
        }
    }
}

/// What `confirm` needs from the project before it touches a server: the migrations as they
/// will be sent, isolint's model of their tables (for when the migrations cannot build what a
/// finding needs), and the seed rows when given.
pub struct Setup {
    pub migrations: Migrations,
    /// The tables, indexes and types isolint models, as statements for one schema.
    pub ddl: Vec<String>,
    /// Migration statements the model leaves out, with why.
    pub skipped: Vec<String>,
    /// `--seed`: rows for every finding.
    pub seed: Option<Vec<String>>,
    pub variables: Variables,
    /// The config's `[confirm] setup` files, run after the migrations and before any row is
    /// made: the state the project's functions expect (a queue created, a consumer
    /// registered), which each run's copy of the database starts from.
    pub setup_files: Migrations,
    /// On MariaDB/MySQL: `innodb_snapshot_isolation = ON|OFF`, as the check assumed it (the
    /// `mariadb` engine's setting; OFF for `mysql`, which has no such check).
    pub engine_settings: Option<String>,
}

/// `innodb_snapshot_isolation = ON|OFF` as the check assumed it, for the MySQL family.
fn snapshot_isolation(result: &CheckResult) -> Option<String> {
    use crate::semantics::{Engine, SettingValue};
    let on = match result.engine {
        Engine::Mysql => false,
        Engine::Mariadb => {
            let chosen = result
                .semantics
                .chosen()
                .of(Engine::Mariadb)
                .find(|(name, _)| *name == "snapshot_isolation")
                .map(|(_, value)| value.clone());
            let default = result
                .semantics
                .settings(Engine::Mariadb)
                .get("snapshot_isolation")
                .map(|setting| setting.default.clone());
            chosen.or(default) != Some(SettingValue::Boolean(false))
        }
        _ => return None,
    };
    Some(format!(
        "innodb_snapshot_isolation = {}",
        if on { "ON" } else { "OFF" }
    ))
}

impl Setup {
    pub fn new(result: &CheckResult, seed: Option<&Path>) -> Result<Setup, String> {
        let mut ddl = Vec::new();
        let mut skipped = Vec::new();
        // isolint's model of the tables is PostgreSQL DDL.
        let modelled = result.engine == crate::semantics::Engine::Postgres;
        for file in result
            .files
            .iter()
            .filter(|file| modelled && file.role == Role::Schema)
        {
            for (sql, prepared) in statements(&file.text, result.engine) {
                match prepared {
                    Ok(prepared) if prepared.iter().all(is_schema_statement) => {
                        ddl.extend(prepared.iter().map(ToString::to_string));
                    }
                    Ok(_) => skipped.push(format!(
                        "{}: `{}` (not a table, index, type or sequence definition)",
                        file.display_path(),
                        crate::one_line(&sql)
                    )),
                    Err(error) => match unparsed_schema_statement(&sql) {
                        Some(statement) => ddl.push(statement),
                        None => skipped.push(format!("{}: {error}", file.display_path())),
                    },
                }
            }
        }
        let seed = seed
            .map(|seed| read_seed(seed, result.engine))
            .transpose()?;
        Ok(Setup {
            migrations: Migrations::new(result, &result.variables),
            ddl,
            skipped,
            seed,
            variables: result.variables.clone(),
            setup_files: Migrations::for_engine(result.engine),
            engine_settings: snapshot_isolation(result),
        })
    }

    /// Reads the config's `[confirm] setup` files; a file that cannot be read is an error
    /// naming it and the config line that names it.
    pub fn with_setup_files(mut self, config: &crate::config::Config) -> Result<Setup, String> {
        for file in &config.confirm_setup {
            let text = std::fs::read_to_string(&file.path).map_err(|error| {
                format!(
                    "{}:{}: cannot read the confirm setup file `{}` ({}): {error}; setup paths \
                     are relative to the config file's directory",
                    config.path.display(),
                    file.line,
                    file.written,
                    file.path.display()
                )
            })?;
            let shown = config
                .relative_to_root(&file.path)
                .unwrap_or_else(|| file.path.clone());
            let script =
                self.setup_files
                    .prepare(&shown.display().to_string(), &text, &self.variables);
            self.setup_files.scripts.push(script);
        }
        Ok(self)
    }

    /// The rows for a finding: `--seed`, else the nearest `seed.sql` above the finding's
    /// first transaction file.
    fn seed_for(
        &self,
        result: &CheckResult,
        finding: &Finding,
    ) -> Result<Option<Vec<String>>, String> {
        if let Some(seed) = &self.seed {
            return Ok(Some(seed.clone()));
        }
        let file = &result.files[result.programs[finding.primary.program].file];
        let mut directory = file.path.parent();
        while let Some(current) = directory {
            let candidate = current.join("seed.sql");
            if candidate.is_file() {
                return read_seed(&candidate, result.engine).map(Some);
            }
            directory = current.parent();
        }
        Ok(None)
    }
}

/// A migrated template database and what the server says is in it.
pub struct Built {
    template: Throwaway,
    pub tables: Tables,
    /// What every connection to a copy runs first (PostgreSQL: where names resolve).
    session_setup: String,
    /// Whether the project's SQL must be unqualified to run on it (isolint's model of the
    /// tables, all in one schema).
    unqualified: bool,
}

/// The project's schema on the server: its migrations run verbatim in a throwaway database,
/// which every run copies; and, built only when a finding needs it, isolint's model of the
/// tables.
pub struct Schema {
    server: Database,
    verbatim: Built,
    failures: Vec<Failure>,
    modelled: OnceCell<Result<Built, String>>,
}

impl Schema {
    /// Creates the throwaway template database and runs the migrations in it.
    pub fn build(server: &Database, setup: &Setup) -> Result<Schema, String> {
        let template = Throwaway::create(server)?;
        let mut client = template.connect()?;
        if server.flavor() == Flavor::Postgres {
            let _ = database::query(&mut client, "SET statement_timeout = '300s'");
        }
        let failures = migrate::apply(&mut client, &setup.migrations);
        for script in &setup.setup_files.scripts {
            migrate::run_setup(&mut client, script).map_err(|failure| {
                format!(
                    "the confirm setup file failed at {failure}; it runs after the migrations, \
                     statement by statement, and must run cleanly"
                )
            })?;
        }
        client
            .quote_as_standard()
            .map_err(|error| format!("cannot set up the template database: {}", error.message))?;
        let mut tables = Tables::read(&mut client)?;
        tables.read_existing(&mut client)?;
        let session_setup = match server.flavor() {
            Flavor::Postgres => postgres_session_setup(&tables.search_path()),
            Flavor::Mysql => mysql_session_setup(&mut client, setup.engine_settings.as_ref()),
        };
        // A database is copied only while nobody is connected to it.
        drop(client);
        Ok(Schema {
            server: server.clone(),
            verbatim: Built {
                template,
                tables,
                session_setup,
                unqualified: false,
            },
            failures,
            modelled: OnceCell::new(),
        })
    }

    /// The migration statements the server rejected.
    pub fn failures(&self) -> &[Failure] {
        &self.failures
    }

    /// The tables the migrations built.
    pub fn tables(&self) -> &Tables {
        &self.verbatim.tables
    }

    fn modelled(&self, setup: &Setup) -> Result<&Built, String> {
        self.modelled
            .get_or_init(|| {
                if self.server.flavor() != Flavor::Postgres {
                    return Err("isolint models the tables as PostgreSQL DDL".to_string());
                }
                let template = Throwaway::create(&self.server)?;
                let mut client = template.connect()?;
                for statement in &setup.ddl {
                    // What the model cannot build is left out; the run says what is missing.
                    let _ = database::query(&mut client, statement);
                }
                let tables = Tables::read(&mut client)?;
                drop(client);
                Ok(Built {
                    template,
                    session_setup: postgres_session_setup("public"),
                    tables,
                    unqualified: true,
                })
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The migrations in words: how they ran and what failed.
    fn describe(&self, setup: &Setup) -> String {
        let files = setup.migrations.scripts.len();
        let mut text = format!(
            "the project's migrations ({files} file{}) run verbatim in a throwaway database",
            if files == 1 { "" } else { "s" }
        );
        if let Some(assumed) = setup
            .engine_settings
            .as_ref()
            .filter(|_| self.server.flavor() == Flavor::Mysql)
        {
            let applied = self
                .verbatim
                .session_setup
                .contains("innodb_snapshot_isolation");
            if applied {
                text.push_str(&format!(
                    "; every session runs with {assumed}, as the check assumed"
                ));
            } else if assumed.ends_with("ON") {
                text.push_str(&format!(
                    "; the check assumed {assumed}, which this server does not have (MariaDB \
                     10.6.18, 10.11.8 and later do), so its sessions run without that check"
                ));
            }
        }
        if !setup.setup_files.scripts.is_empty() {
            let names: Vec<&str> = setup
                .setup_files
                .scripts
                .iter()
                .map(|script| script.path.as_str())
                .collect();
            text.push_str(&format!(", then the setup {}", names.join(", ")));
        }
        if !self.failures.is_empty() {
            let shown: Vec<String> = self
                .failures
                .iter()
                .take(3)
                .map(ToString::to_string)
                .collect();
            text.push_str(&format!(
                "; {} statement{} failed: {}{}",
                self.failures.len(),
                if self.failures.len() == 1 { "" } else { "s" },
                shown.join("; "),
                if self.failures.len() > 3 { "; ..." } else { "" }
            ));
        }
        if !setup.migrations.left_out.is_empty() {
            text.push_str(&format!(
                "; {} left out (they would change more than that database or are psql's)",
                setup.migrations.left_out.len()
            ));
        }
        text
    }

    /// The database for `finding`: the migrated one, unless tables the finding uses are
    /// missing there and isolint's model has them. With why, when it is the model.
    fn for_finding(
        &self,
        setup: &Setup,
        result: &CheckResult,
        finding: &Finding,
    ) -> (&Built, Option<String>) {
        let used: BTreeSet<&str> = finding
            .programs
            .iter()
            .flat_map(|&program| &result.programs[program].statements)
            .flat_map(|statement| &statement.accesses)
            .map(|access| access.table.as_str())
            .filter(|table| !table.is_empty())
            .collect();
        let missing: Vec<&str> = used
            .iter()
            .copied()
            .filter(|table| self.verbatim.tables.find(table).is_none())
            .collect();
        if missing.is_empty() {
            return (&self.verbatim, None);
        }
        match self.modelled(setup) {
            Ok(modelled)
                if missing
                    .iter()
                    .all(|table| modelled.tables.find(table).is_some()) =>
            {
                let first_failure = self
                    .failures
                    .first()
                    .map(|failure| format!(" (first failure: {failure})"))
                    .unwrap_or_default();
                (
                    modelled,
                    Some(format!(
                        "run on the tables isolint models from the migrations, because the \
                         migrations run verbatim leave no table {}{first_failure}",
                        missing.join(", ")
                    )),
                )
            }
            _ => (&self.verbatim, None),
        }
    }
}

/// What a PostgreSQL session runs first: where unqualified names resolve, and a time limit.
fn postgres_session_setup(search_path: &str) -> String {
    format!("SET search_path TO {search_path}; SET statement_timeout = '30s'")
}

/// What a MySQL session runs first: a time limit on lock waits longer than a schedule may
/// stall, and MariaDB's `innodb_snapshot_isolation` as the check assumed it, where the server
/// has that setting (`innodb_snapshot_isolation = ON`).
fn mysql_session_setup(client: &mut database::Connection, snapshot: Option<&String>) -> String {
    let mut setup = "SET SESSION innodb_lock_wait_timeout = 30".to_string();
    let known = database::query(client, "SELECT @@SESSION.innodb_snapshot_isolation").is_ok();
    if let Some(assignment) = snapshot.filter(|_| known) {
        setup.push_str(&format!(", SESSION {assignment}"));
    }
    setup
}

/// The statements of a file as `engine`'s server reads them; on PostgreSQL each prepared for
/// one schema.
fn statements(
    text: &str,
    engine: crate::semantics::Engine,
) -> Vec<(String, Result<Vec<Statement>, String>)> {
    use crate::semantics::Engine;
    let postgres = !engine.is_mysql_family();
    let parsed = crate::parse::parse_file(text, if postgres { Engine::Postgres } else { engine });
    parsed
        .statements
        .iter()
        .filter_map(|statement| {
            let sql = text.get(statement.range.start..statement.range.end)?;
            let prepared = if postgres {
                plan::prepare(sql)
            } else {
                statement
                    .parsed
                    .clone()
                    .map_err(|error| format!("`{}`: {}", crate::one_line(sql), error.message))
            };
            Some((sql.to_string(), prepared))
        })
        .collect()
}

/// DDL sqlparser cannot read (`PARTITION OF`, `USING INDEX TABLESPACE`) is kept as written
/// when it creates or alters a table, index, type or sequence and names nothing qualified, so
/// that it lands in the one schema of the model.
fn unparsed_schema_statement(sql: &str) -> Option<String> {
    use crate::parse::lexer::TokenKind;
    let parsed = crate::parse::parse_file(sql, crate::semantics::Engine::Postgres);
    let [statement] = parsed.statements.as_slice() else {
        return None;
    };
    let words: Vec<String> = statement
        .tokens
        .iter()
        .filter(|token| token.kind == TokenKind::Word)
        .take(4)
        .map(|token| token.text(sql).to_ascii_lowercase())
        .collect();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let creates = matches!(
        words.as_slice(),
        ["create", "table" | "index" | "type" | "sequence", ..]
            | ["create", "unique", "index", ..]
            | ["create", "unlogged", "table", ..]
            | ["alter", "table", ..]
    );
    let qualified = statement.tokens.windows(2).any(|pair| {
        pair[0].kind == TokenKind::Punct
            && pair[0].text(sql) == "."
            && matches!(pair[1].kind, TokenKind::Word | TokenKind::QuotedIdent)
    });
    (creates && !qualified).then(|| sql.trim().to_string())
}

fn is_schema_statement(statement: &Statement) -> bool {
    matches!(
        statement,
        Statement::CreateTable(_)
            | Statement::CreateIndex(_)
            | Statement::AlterTable(_)
            | Statement::CreateType { .. }
            | Statement::CreateSequence { .. }
            | Statement::CreateDomain(_)
            | Statement::CreateView(_)
            | Statement::CreateExtension(_)
            | Statement::Insert(_)
    )
}

/// A seed file's statements as written; only INSERT, UPDATE and DELETE are allowed.
fn read_seed(path: &Path, engine: crate::semantics::Engine) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    let mut rows = Vec::new();
    for (sql, prepared) in statements(&text, engine) {
        let prepared = prepared.map_err(|error| format!("{}: {error}", path.display()))?;
        if !prepared.iter().all(|statement| {
            matches!(
                statement,
                Statement::Insert(_) | Statement::Update(_) | Statement::Delete(_)
            )
        }) {
            return Err(format!(
                "{}: `{}` is not INSERT, UPDATE or DELETE; a seed file only adds rows",
                path.display(),
                crate::one_line(&sql)
            ));
        }
        rows.push(sql.trim().to_string());
    }
    Ok(rows)
}

/// How many of a finding's partners are replayed, in order, when its own pair does not
/// reproduce it.
const MAX_PARTNERS_REPLAYED: usize = 10;

/// Confirms one finding: its own pair (the witness), then, unless that reproduced it, the pair
/// of each partner in turn until one does. The first reproduction is the verdict, naming the
/// partner; else the own pair's verdict stands.
pub fn confirm(
    schema: &Schema,
    result: &CheckResult,
    setup: &Setup,
    finding: &Finding,
) -> Confirmation {
    let own = confirm_pair(schema, result, setup, finding);
    if own.verdict == Verdict::Reproduced || finding.partners.is_empty() {
        return own;
    }
    for (partner, pair) in partner_pairs(result, finding) {
        let mut confirmation = confirm_pair(schema, result, setup, &pair);
        if confirmation.verdict == Verdict::Reproduced {
            let name = result.programs[partner.program].name.clone();
            confirmation.reason = format!(
                "with partner `{name}` (the finding's own pair: {}): {}",
                own.verdict.id().replace('_', " "),
                confirmation.reason
            );
            confirmation.partner = Some(name);
            return confirmation;
        }
    }
    own
}

/// The findings the first [`MAX_PARTNERS_REPLAYED`] of `finding`'s partners stand for, each
/// with its partner, unfolded with the engine table the check ran with (its settings and the
/// migrations' applied), so that a pair is what the check found.
fn partner_pairs(result: &CheckResult, finding: &Finding) -> Vec<(StatementRef, Finding)> {
    let context = crate::analysis::Context {
        programs: &result.programs,
        catalog: &result.catalog,
        semantics: result.semantics,
        engine: result.engine,
    };
    finding
        .partners
        .iter()
        .take(MAX_PARTNERS_REPLAYED)
        .filter_map(|partner| {
            crate::analysis::unfold(&context, finding, *partner).map(|pair| (*partner, pair))
        })
        .collect()
}

/// Confirms one pair's finding. When that is inconclusive because a routine's replayed
/// statement failed (a name the replay did not carry over, or a statement of a branch the
/// function would not have taken: the replay runs every branch), the routine runs again as
/// one call of the function.
fn confirm_pair(
    schema: &Schema,
    result: &CheckResult,
    setup: &Setup,
    finding: &Finding,
) -> Confirmation {
    let no_calls = BTreeMap::new();
    let first = confirm_sharing(schema, result, setup, finding, &no_calls);
    if first.verdict != Verdict::Inconclusive {
        return first;
    }
    let mut calls = BTreeMap::new();
    for event in &first.schedule {
        let Some(error) = event.result.strip_prefix("error ") else {
            continue;
        };
        let Some(instance) = event
            .session
            .strip_prefix('T')
            .and_then(|number| number.parse::<usize>().ok())
            .and_then(|number| number.checked_sub(1))
        else {
            continue;
        };
        let routine = finding.instances.get(instance).is_some_and(|&program| {
            result.programs[program].kind == crate::program::ProgramKind::Routine
        });
        // Already a call, or a failure the interleaving caused.
        let replayed = !event.sql.starts_with("SELECT * FROM ") && !event.sql.starts_with("CALL ");
        let caused_by_schedule = ["25P02", "40001", "40P01"]
            .iter()
            .any(|code| error.starts_with(code));
        if !replayed || caused_by_schedule {
            continue;
        }
        if routine {
            calls.entry(instance).or_insert_with(|| {
                format!(
                    "its replayed statement `{}` fails on the server: {error}",
                    crate::one_line(&event.sql)
                )
            });
        }
    }
    if calls.is_empty() {
        return first;
    }
    // A lost update is two writes of one row. A routine that runs as one call looks the row's
    // key up inside the function (`sub_queue = x_queue_id`, found from the queue's name), so
    // the bindings do not say which of its arguments name that row: shared values put both
    // transactions on it. The other rules' transactions may be on different rows, and their
    // calls keep the values chosen once.
    if finding.rule == crate::rule::Rule::LostUpdate {
        confirm_sharing(schema, result, setup, finding, &calls)
    } else {
        confirm_choosing(schema, result, setup, finding, &calls)
    }
}

/// Confirms one finding; when chosen values kept the transactions on different rows, once
/// more with one value per parameter name or column across them, kept when they then meet.
fn confirm_sharing(
    schema: &Schema,
    result: &CheckResult,
    setup: &Setup,
    finding: &Finding,
    calls: &BTreeMap<usize, String>,
) -> Confirmation {
    let first = confirm_choosing(schema, result, setup, finding, calls);
    // Sharing changes something only where values were chosen rather than given.
    let chosen = first
        .assumptions
        .iter()
        .any(|assumption| assumption.starts_with(plan::CHOSEN_VALUES));
    // Between steps that commit separately the application passes what one step read to the
    // next (the task a fetch returned to its touch), which no binding says: values chosen
    // apart can put each step on rows the other never sees, a serial run by construction.
    let separate_steps = finding
        .programs
        .iter()
        .any(|program| !result.programs[*program].step_ends.is_empty());
    let retry = match first.verdict {
        Verdict::NotReproduced => true,
        Verdict::Prevented => separate_steps,
        _ => false,
    };
    if !retry || !chosen {
        return first;
    }
    let choice = Choice {
        share: true,
        ..Choice::default()
    };
    let shared = confirm_with(schema, result, setup, finding, calls, choice);
    // An anomaly of fewer transactions than the finding's says more than a run in which
    // they never met.
    if matches!(shared.verdict, Verdict::Reproduced | Verdict::Prevented)
        || shared.reason.contains(WITHOUT_ONE)
    {
        shared
    } else {
        first
    }
}

/// Confirms one finding with the first choice of values; when the project's own code rejects
/// values taken from existing rows (a queue with consumers given to `drop_queue`), with the
/// other existing rows' values in turn.
fn confirm_choosing(
    schema: &Schema,
    result: &CheckResult,
    setup: &Setup,
    finding: &Finding,
    calls: &BTreeMap<usize, String>,
) -> Confirmation {
    let rejected = |confirmation: &Confirmation| {
        confirmation.verdict == Verdict::Inconclusive
            && confirmation.reason.contains(RAISED_BY_PROJECT)
            && confirmation
                .assumptions
                .iter()
                .any(|assumption| assumption.contains(plan::FROM_EXISTING_ROW))
    };
    let first = confirm_with(schema, result, setup, finding, calls, Choice::default());
    if !rejected(&first) {
        return first;
    }
    for existing_offset in 1..=MAX_EXISTING_OFFSET {
        let choice = Choice {
            existing_offset,
            ..Choice::default()
        };
        let again = confirm_with(schema, result, setup, finding, calls, choice);
        if !rejected(&again) {
            return again;
        }
    }
    first
}

/// How many other choices among the existing rows' values are tried when the project's code
/// rejects the first.
const MAX_EXISTING_OFFSET: usize = 3;

/// Confirms one finding, running the routines of the instances in `calls` as one call each,
/// and with one value per parameter name or column across the instances when `share`.
fn confirm_with(
    schema: &Schema,
    result: &CheckResult,
    setup: &Setup,
    finding: &Finding,
    calls: &BTreeMap<usize, String>,
    choice: Choice,
) -> Confirmation {
    let (built, modelled_because) = schema.for_finding(setup, result, finding);
    let described = match &modelled_because {
        Some(why) => why.clone(),
        None => schema.describe(setup),
    };
    let naming = Naming {
        unqualify: built.unqualified,
        variables: &setup.variables,
        tables: Some(&built.tables),
        flavor: schema.server.flavor(),
    };
    let with_schema = |reason: String| match &modelled_because {
        Some(why) => format!("{reason} ({why})"),
        None => reason,
    };
    let plan = match plan::plan(result, finding, naming, calls, choice) {
        Ok(plan) => plan,
        Err(reason) => return Confirmation::inconclusive(with_schema(reason), described),
    };
    if let Some(session) = plan
        .sessions
        .iter()
        .find(|session| session.level == crate::semantics::Level::Snapshot)
    {
        return Confirmation::inconclusive(
            format!(
                "{} runs at SNAPSHOT, which {} does not have",
                session.label,
                schema.server.flavor().name()
            ),
            described,
        );
    }
    let mut assumptions = plan.assumptions.clone();
    let rows = match setup.seed_for(result, finding) {
        Ok(Some(rows)) => Rows::Given(rows),
        Ok(None) => Rows::Generated(None),
        Err(reason) => return Confirmation::inconclusive(reason, described),
    };
    let mut runner = Runner {
        server: &schema.server,
        built,
        result,
        plan: &plan,
        naming,
        rows,
    };
    let (interleaved, interleaving, steps) = match runner.interleave() {
        Ok(ran) => ran,
        Err(reason) => {
            let mut confirmation = Confirmation::inconclusive(
                with_schema(incomplete(schema, reason, None)),
                described,
            );
            confirmation.assumptions = assumptions;
            return confirmation;
        }
    };
    if let Rows::Generated(Some(seed)) = &runner.rows {
        assumptions.extend(seed.notes.iter().cloned());
    }
    let mut confirmation = Confirmation {
        verdict: Verdict::Inconclusive,
        reason: String::new(),
        schema: described,
        schedule: interleaved.events.clone(),
        observed: Some(interleaved.outcome.clone()),
        serial_outcomes: vec![],
        parameters: plan.parameters.clone(),
        assumptions,
        interleaving,
        partner: None,
    };
    let stopped = stopped_by_error(&plan, &interleaved, calls);
    if let Some(Stop {
        verdict,
        reason,
        constraint: None,
    }) = stopped
    {
        confirmation.verdict = verdict;
        confirmation.reason = with_schema(if verdict == Verdict::Inconclusive {
            let first_error = interleaved.errors.iter().flatten().next();
            incomplete(schema, reason, first_error)
        } else {
            reason
        });
        return confirmation;
    }
    let committed: Vec<usize> = (0..plan.sessions.len())
        .filter(|session| !plan.sessions[*session].rolls_back)
        .collect();
    // A constraint that stopped a session prevents the anomaly only if the session passes it
    // when it runs alone first: otherwise it is the rows, not the interleaving.
    let orders = match &stopped {
        Some(Stop {
            constraint: Some((session, ..)),
            ..
        }) => permutations(&committed)
            .into_iter()
            .filter(|order| order.first() == Some(session))
            .take(1)
            .collect(),
        _ => permutations(&committed),
    };
    for order in orders {
        let steps = serial_steps(&plan, &order);
        match runner.run(&steps) {
            Ok(execution) => confirmation.serial_outcomes.push(SerialOutcome {
                order: order
                    .iter()
                    .map(|session| plan.sessions[*session].label.clone())
                    .collect(),
                outcome: execution.outcome,
            }),
            Err(reason) => {
                confirmation.reason = with_schema(format!("a serial run failed: {reason}"));
                return confirmation;
            }
        }
    }
    if let Some(Stop {
        verdict,
        reason,
        constraint: Some((session, code, cause)),
    }) = stopped
    {
        let alone = confirmation.serial_outcomes.first().is_some_and(|serial| {
            serial.outcome.results[session]
                .iter()
                .any(|result| *result == session::StatementResult::Error(code.clone()))
        });
        (confirmation.verdict, confirmation.reason) = match (alone, cause) {
            (true, Cause::Missing) => {
                let first_error = interleaved.errors.iter().flatten().next();
                (
                    Verdict::Inconclusive,
                    with_schema(incomplete(
                        schema,
                        format!("{reason}, and the same when it runs alone before the others"),
                        first_error,
                    )),
                )
            }
            (true, Cause::Constraint) => (
                Verdict::Inconclusive,
                with_schema(format!(
                    "{reason}, and fails the same way when it runs alone before the others: \
                     the rows, not the interleaving, break the constraint"
                )),
            ),
            (true, Cause::Raised) => (
                Verdict::Inconclusive,
                with_schema(format!(
                    "{reason}, {RAISED_BY_PROJECT}, and it raises the same when it runs alone \
                     before the others: the rows are not the state it expects (give them in a \
                     seed.sql, or make the state with a `[confirm] setup` file)"
                )),
            ),
            (true, Cause::Broken) => (
                Verdict::NotReproduced,
                with_schema(format!(
                    "{reason}, in the project's own routine run as one call, and the same when \
                     it runs alone before the others: as written it cannot run on this \
                     schema, so it never commits, and the anomaly needs it to"
                )),
            ),
            (false, Cause::Missing) => (
                verdict,
                with_schema(format!(
                    "{reason}, which it finds when it runs alone before the others: another \
                     transaction dropped it first"
                )),
            ),
            (false, Cause::Constraint) => (verdict, with_schema(reason)),
            (false, Cause::Raised) => (
                verdict,
                with_schema(format!(
                    "{reason}, {RAISED_BY_PROJECT}, which it passes when it runs alone before \
                     the others: the project's own check stopped the interleaving"
                )),
            ),
            (false, Cause::Broken) => (
                Verdict::Inconclusive,
                with_schema(format!(
                    "{reason}, which it does not when it runs alone before the others"
                )),
            ),
        };
        return confirmation;
    }
    let observed = &interleaved.outcome;
    let matching = confirmation
        .serial_outcomes
        .iter()
        .find(|serial| same_for(&committed, observed, &serial.outcome));
    let independent = confirmation.serial_outcomes.len() > 1
        && confirmation
            .serial_outcomes
            .iter()
            .all(|serial| same_for(&committed, observed, &serial.outcome));
    // A session that waited for another's lock met it: when every serial order gives what
    // the interleaving did, the wait is what kept it serial.
    // A call that waited only for its pause met nobody.
    let paused = match &plan.pauses {
        Some(pauses) if steps == pauses.steps => pauses.call_events(&interleaved.event_steps),
        _ => Vec::new(),
    };
    let waited = interleaved
        .events
        .iter()
        .enumerate()
        .any(|(event, entry)| entry.completed_after.is_some() && !paused.contains(&event));
    let (verdict, reason) = match matching {
        Some(_) if independent && waited => (
            Verdict::Prevented,
            format!(
                "a transaction waited for another's lock, and what they read and left behind is \
                 what every one of the {} serial orders gives",
                confirmation.serial_outcomes.len()
            ),
        ),
        Some(_) if independent => (
            Verdict::NotReproduced,
            format!(
                "{NOT_INTERACTING} (all {} serial orders read and leave what the interleaving \
                 did)",
                confirmation.serial_outcomes.len()
            ),
        ),
        Some(serial) => (
            Verdict::Prevented,
            format!(
                "what the transactions read and left behind is what the serial order {} gives",
                serial.order.join(", ")
            ),
        ),
        None => match runner.not_needed(&steps, &committed) {
            Some(left_out) => (
                Verdict::NotReproduced,
                format!(
                    "what the transactions read and left behind matches none of the {} serial \
                     orders, but {WITHOUT_ONE} {left} does not match any serial order of the \
                     others either: the run shows an anomaly of {others} alone, not one that \
                     {left} takes part in",
                    confirmation.serial_outcomes.len(),
                    left = plan.sessions[left_out].label,
                    others = committed
                        .iter()
                        .filter(|session| **session != left_out)
                        .map(|session| plan.sessions[*session].label.as_str())
                        .collect::<Vec<_>>()
                        .join(" and "),
                ),
            ),
            None => (
                Verdict::Reproduced,
                format!(
                    "what the transactions read and left behind matches none of the {} serial \
                     orders",
                    confirmation.serial_outcomes.len()
                ),
            ),
        },
    };
    confirmation.verdict = verdict;
    confirmation.reason = with_schema(reason);
    confirmation
}

/// Why a session that stopped a run failed, by its SQLSTATE (see [`stopped_by_error`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cause {
    /// A constraint of the schema (class 23).
    Constraint,
    /// The project's own `RAISE EXCEPTION` (P0001, MySQL's 45000).
    Raised,
    /// A table or other object it names is missing (42P01, 42704, MySQL's 42S02).
    Missing,
    /// Any other error of class 42 (a type mismatch, an unknown column) in a routine run as
    /// one call: the project's own SQL.
    Broken,
}

/// What the reason of a run stopped by the project's own exception (P0001) says.
const RAISED_BY_PROJECT: &str = "raised by the project's own code";

/// What the reason of a run says when the anomaly it reproduced needs fewer transactions
/// than the finding (see [`Runner::not_needed`]).
const WITHOUT_ONE: &str = "the same schedule without";

/// How the reason of a run whose transactions never met begins.
const NOT_INTERACTING: &str =
    "not reproduced with these rows and values: the transactions did not interact";

/// A reason a run could not finish; when a name the statements need is missing, with the
/// migration failures that may be why.
fn incomplete(schema: &Schema, reason: String, error: Option<&database::ServerError>) -> String {
    let flavor = schema.server.flavor();
    let missing_name = error.is_some_and(|error| {
        error
            .code
            .as_deref()
            .is_some_and(|code| flavor.is_missing_name(code))
    });
    match schema.failures.first() {
        Some(failure) if missing_name => format!(
            "{reason}; {} migration statement{} failed, which may be why (the first at {failure})",
            schema.failures.len(),
            if schema.failures.len() == 1 { "" } else { "s" }
        ),
        _ => reason,
    }
}

/// How a session's failure decides the verdict.
struct Stop {
    verdict: Verdict,
    reason: String,
    /// For a failure that the session run alone tells apart (a constraint violation, an
    /// exception the project's code raised, a missing relation, its own routine's broken SQL):
    /// the session, its SQLSTATE and why it failed.
    constraint: Option<(usize, String, Cause)>,
}

/// The verdict when a session failed: a serialization failure or a deadlock prevents the
/// anomaly; a constraint, or the project's own exception, prevents it when the session
/// passes it alone; any other error leaves it open.
fn stopped_by_error(
    plan: &Plan,
    execution: &Execution,
    calls: &BTreeMap<usize, String>,
) -> Option<Stop> {
    let failures: Vec<(usize, &database::ServerError)> = execution
        .errors
        .iter()
        .enumerate()
        .filter_map(|(session, error)| error.as_ref().map(|error| (session, error)))
        .collect();
    let (session, error) = failures
        .iter()
        .find(|(_, error)| error.is_serialization_failure())
        .or_else(|| {
            failures
                .iter()
                .find(|(_, error)| error.is_constraint_violation())
        })
        .or_else(|| failures.first())?;
    let label = &plan.sessions[*session].label;
    let reason = format!("{label} failed: {}", error.message);
    let code = error.code.clone().unwrap_or_default();
    let alone = |cause: Cause| Some((*session, code.clone(), cause));
    Some(if error.is_serialization_failure() {
        Stop {
            verdict: Verdict::Prevented,
            reason,
            constraint: None,
        }
    } else if error.is_constraint_violation() {
        Stop {
            verdict: Verdict::Prevented,
            reason,
            constraint: alone(Cause::Constraint),
        }
    } else if error.is_missing_object() {
        // Another transaction dropped what it uses: that prevents the anomaly when the
        // transaction finds it alone.
        Stop {
            verdict: Verdict::Prevented,
            reason,
            constraint: alone(Cause::Missing),
        }
    } else if error.is_raised_by_project() {
        // An exception the project's code raises is its own constraint: it prevents the
        // anomaly when the transaction passes it alone.
        Stop {
            verdict: Verdict::Prevented,
            reason,
            constraint: alone(Cause::Raised),
        }
    } else if code.starts_with("42") && calls.contains_key(session) {
        // The project's own routine, run as one call, whose SQL does not fit the schema.
        Stop {
            verdict: Verdict::Inconclusive,
            reason,
            constraint: alone(Cause::Broken),
        }
    } else {
        Stop {
            verdict: Verdict::Inconclusive,
            reason,
            constraint: None,
        }
    })
}

/// Whether two outcomes agree on what the committed sessions read and on the final rows.
fn same_for(committed: &[usize], a: &Outcome, b: &Outcome) -> bool {
    a.contents == b.contents
        && committed
            .iter()
            .all(|session| a.results.get(*session) == b.results.get(*session))
}

/// The sessions one after another: each begins, runs every statement and commits.
fn serial_steps(plan: &Plan, order: &[usize]) -> Vec<PlannedStep> {
    order
        .iter()
        .flat_map(|&session| {
            let each = &plan.sessions[session];
            std::iter::once(Action::Begin)
                .chain((0..each.statements.len()).flat_map(|statement| each.run(statement)))
                .chain(std::iter::once(Action::Commit))
                .map(move |action| PlannedStep { session, action })
        })
        .collect()
}

fn permutations(items: &[usize]) -> Vec<Vec<usize>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut all = Vec::new();
    for (index, first) in items.iter().enumerate() {
        let mut rest = items.to_vec();
        rest.remove(index);
        for mut tail in permutations(&rest) {
            tail.insert(0, *first);
            all.push(tail);
        }
    }
    all
}

/// Where a run's rows come from.
enum Rows {
    Given(Vec<String>),
    /// Made on the first run from the tables the server has, then run again as they went in.
    Generated(Option<seed::Seed>),
}

struct Runner<'a> {
    server: &'a Database,
    built: &'a Built,
    result: &'a CheckResult,
    plan: &'a Plan,
    naming: Naming<'a>,
    rows: Rows,
}

impl Runner<'_> {
    /// Runs the interleaving: the lock-holder schedule where the plan has one and the run
    /// follows it, else the witness order. With which schedule it was, in words.
    fn interleave(&mut self) -> Result<(Execution, String, Vec<PlannedStep>), String> {
        let postgres = self.server.flavor() == Flavor::Postgres;
        let witness = format!(
            "the witness order, one connection per transaction, a step that waits for a lock \
             marked blocked ({}) while the others go on",
            if postgres {
                "pg_locks"
            } else {
                "SHOW ENGINE INNODB STATUS"
            }
        );
        // The holder races PostgreSQL's re-check of a waiting row (EvalPlanQual), which InnoDB
        // does not do that way: its locking reads and writes read the newest row version.
        if let Some(pauses) = self.plan.pauses.as_ref().filter(|_| postgres) {
            let sessions = &self.plan.sessions;
            let why = match self.run(&pauses.steps) {
                Ok(paused) => {
                    match pauses.achieved(sessions, &paused.events, &paused.event_steps) {
                        Ok(()) => {
                            return Ok((paused, pauses.describe(sessions), pauses.steps.clone()));
                        }
                        Err(why) => why,
                    }
                }
                Err(why) => why,
            };
            return Ok((
                self.run(&self.plan.steps)?,
                format!("{witness} (without pauses inside calls: {why})"),
                self.plan.steps.clone(),
            ));
        }
        let Some(holder) = self.plan.lock_holder.as_ref().filter(|_| postgres) else {
            return Ok((
                self.run(&self.plan.steps)?,
                witness,
                self.plan.steps.clone(),
            ));
        };
        let held = self.run(&holder.steps)?;
        let sessions = &self.plan.sessions;
        match holder.achieved(sessions, &held.events, &held.event_steps) {
            Ok(()) => Ok((held, holder.describe(sessions), holder.steps.clone())),
            Err(why) => Ok((
                self.run(&self.plan.steps)?,
                format!("{witness} ({why})"),
                self.plan.steps.clone(),
            )),
        }
    }

    /// A transaction of three or more that the anomaly a run reproduced does not need: the
    /// schedule `steps` without it still leaves what no serial order of the others gives.
    /// A run that fails decides nothing.
    fn not_needed(&mut self, steps: &[PlannedStep], committed: &[usize]) -> Option<usize> {
        if committed.len() < 3 {
            return None;
        }
        committed.iter().copied().find(|&left_out| {
            let without: Vec<PlannedStep> = steps
                .iter()
                .filter(|step| step.session != left_out)
                .copied()
                .collect();
            let others: Vec<usize> = committed
                .iter()
                .copied()
                .filter(|session| *session != left_out)
                .collect();
            let Ok(ran) = self.run(&without) else {
                return false;
            };
            if ran.errors.iter().flatten().next().is_some() {
                return false;
            }
            permutations(&others).iter().all(|order| {
                self.run(&serial_steps(self.plan, order))
                    .is_ok_and(|serial| !same_for(&others, &ran.outcome, &serial.outcome))
            })
        })
    }

    /// Runs `steps` in a fresh copy of the migrated database, with the rows.
    fn run(&mut self, steps: &[PlannedStep]) -> Result<Execution, String> {
        let copy = Throwaway::copy_of(self.server, &self.built.template)?;
        let mut admin = copy.connect()?;
        database::query(&mut admin, &self.built.session_setup).map_err(|error| error.message)?;
        let first_transaction = session::next_transaction(&mut admin);
        match &mut self.rows {
            Rows::Given(rows) => {
                for row in rows.iter() {
                    let sql = if self.naming.unqualify {
                        plan::concrete(row, self.naming, |name| {
                            Err(format!("the seed file uses parameter {name}"))
                        })?
                    } else {
                        row.clone()
                    };
                    database::query(&mut admin, &sql).map_err(|error| {
                        format!("`{}` failed: {}", crate::one_line(&sql), error.message)
                    })?;
                }
            }
            Rows::Generated(None) => {
                admin.quote_as_standard().map_err(|error| error.message)?;
                let wanted = seed::Wanted::new(self.result, self.plan, &self.built.tables);
                let mut maker = seed::Maker::new(&self.built.tables, &wanted);
                maker.make_all();
                maker.make_joined();
                let mut made = seed::insert(&mut admin, &mut maker);
                made.notes.extend(maker.notes);
                self.rows = Rows::Generated(Some(made));
            }
            Rows::Generated(Some(seed)) => {
                admin.quote_as_standard().map_err(|error| error.message)?;
                for statement in &seed.statements {
                    let _ = database::query(&mut admin, statement);
                }
            }
        }
        // Calls stop where the schedule with pauses has them stop.
        if let Some(pauses) = &self.plan.pauses
            && steps
                .iter()
                .any(|step| step.session == self.plan.sessions.len())
        {
            let labels: Vec<String> = self
                .plan
                .sessions
                .iter()
                .map(|session| session.label.clone())
                .collect();
            pause::instrument(&mut admin, &pauses.points, &labels)?;
        }
        // The outcome is read with isolint's own quoting.
        admin.quote_as_standard().map_err(|error| error.message)?;
        let mut run = RunDatabase {
            database: copy.database(),
            admin,
            session_setup: self.built.session_setup.clone(),
            tables: &self.built.tables,
            first_transaction,
        };
        session::run(self.plan, steps, &mut run)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreadable_ddl_is_modelled_only_when_it_names_nothing_qualified() {
        let partition = "CREATE TABLE nights_2025 PARTITION OF nights\n    FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')";
        assert_eq!(
            unparsed_schema_statement(partition).as_deref(),
            Some(partition)
        );
        let qualified =
            "CREATE TABLE public.nights_2025 PARTITION OF public.nights FOR VALUES IN (1)";
        assert_eq!(unparsed_schema_statement(qualified), None);
        assert_eq!(unparsed_schema_statement("CREATE ROLE reader LOGIN"), None);
    }

    #[test]
    fn partners_unfold_with_the_engine_table_the_check_ran_with() {
        use crate::semantics::{Engine, SettingValue};
        // MariaDB's repeatable read lets lost updates through only with innodb_snapshot_isolation
        // off: the embedded table (on) would find no pair for the partner.
        let (result, _) = crate::analysis::testing::check(
            Engine::Mariadb,
            &[("snapshot_isolation", SettingValue::Boolean(false))],
            None,
            "CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL);",
            "-- name: withdraw
             BEGIN;
             SELECT balance FROM accounts WHERE id = ?;
             UPDATE accounts SET balance = ? WHERE id = ?;
             COMMIT;
             -- name: deposit
             BEGIN;
             UPDATE accounts SET balance = balance + ? WHERE id = ?;
             COMMIT;",
            &[],
        );
        let finding = result
            .findings
            .iter()
            .find(|finding| !finding.partners.is_empty())
            .expect("a finding with a partner");
        let pairs = partner_pairs(&result, finding);
        assert_eq!(pairs.len(), finding.partners.len());
        for (partner, pair) in pairs {
            assert_eq!(pair.rule, finding.rule);
            assert!(pair.programs.contains(&partner.program));
        }
    }

    #[test]
    fn every_order_of_three() {
        assert_eq!(permutations(&[0, 1, 2]).len(), 6);
        assert_eq!(permutations(&[4]), vec![vec![4]]);
    }
}
