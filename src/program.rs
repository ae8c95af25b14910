//! Transactions: boundaries, names, declared isolation levels and suppressions, for every
//! engine's syntax.
//!
//! Architecture Invariant: a program is built from statement facts alone; it never sees an AST.

use std::collections::{BTreeMap, BTreeSet};

use crate::access::condition::Guard;
use crate::access::{Access, AccessKind, Call, LockTarget};
use crate::parse::directives::{Directive, Located};
use crate::parse::plpgsql::Branch;
use crate::semantics::{Engine, Level, Semantics, SettingValue};
use crate::source::{FileId, TextRange};

/// Engine settings that SQL chose for one transaction or for a session's later ones, by the
/// setting's name in `isolint.toml` (`mode`), each with a value the setting takes.
pub type SettingChoices = BTreeMap<String, SettingValue>;

/// What one statement is, as far as transactions are concerned.
#[derive(Debug, Clone)]
pub enum StatementKind {
    Begin {
        level: Option<Level>,
        /// What the BEGIN itself chooses: TiDB's `BEGIN OPTIMISTIC`.
        settings: SettingChoices,
    },
    Commit,
    Rollback,
    /// `SET [SESSION] TRANSACTION ISOLATION LEVEL x`.
    SetTransaction {
        level: Option<Level>,
        session: bool,
    },
    /// A session's `SET` of settings a transaction can choose for itself (TiDB's `SET
    /// tidb_txn_mode = 'optimistic'`): they hold for the explicit transactions that begin
    /// after it.
    SetSession {
        settings: SettingChoices,
    },
    /// DML: what it reads, writes and locks, and the routines it calls.
    Data {
        accesses: Vec<Access>,
        calls: Vec<Call>,
    },
    /// DDL or anything else that is not part of a transaction's data accesses.
    Other,
    /// sqlparser could not read it; a diagnostic says so.
    Unparsed,
}

/// A statement of a transaction file, reduced to facts.
#[derive(Debug, Clone)]
pub struct StatementFacts {
    pub range: TextRange,
    /// The SQL on one line, for witnesses and messages.
    pub text: String,
    pub directives: Vec<Located<Directive>>,
    pub kind: StatementKind,
}

/// Where a program's isolation level came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LevelSource {
    /// `BEGIN ISOLATION LEVEL`, `SET TRANSACTION`, `-- isolint: isolation`.
    Declared,
    /// `--isolation` or the config file.
    Configured,
    EngineDefault,
    /// A `STABLE` or `IMMUTABLE` PostgreSQL function called as a transaction of its own: its
    /// body runs on the calling statement's snapshot, so its reads see one snapshot, as at
    /// REPEATABLE READ (and it cannot write).
    StableFunction,
}

#[derive(Debug, Clone)]
pub struct ProgramStatement {
    pub range: TextRange,
    pub text: String,
    pub accesses: Vec<Access>,
    /// Rules silenced by an ignore directive above this statement, with the directive.
    pub ignores: Ignores,
    /// Whether the statement is a `LOCK TABLE`, which takes no snapshot.
    pub takes_snapshot: bool,
    /// The routines it calls, before they are inlined.
    pub calls: Vec<Call>,
    /// Set when the statement runs inside a routine or trigger of another file: it stands at
    /// the call (or the firing write) in this program's file.
    pub via: Option<Via>,
    /// For a statement of a PL/pgSQL or SQL routine's own program: how to replay it outside
    /// the routine.
    pub replay: Option<Replay>,
    /// For a statement of a routine's own program: the branch conditions it runs under (those
    /// constants could decide), in the routine's names. A call that passes constants leaves
    /// out the statements whose branch they disable.
    pub guards: Vec<Guard>,
    /// The routine branches it runs under that are taken one way at most per call (an `IF`
    /// outside any loop), in the program's own numbering: a statement on the other side of
    /// one never runs in the same call. An inlined statement has its call's.
    pub arms: Vec<Branch>,
    /// It runs on every run of the program that gets past the routine exits before it (a
    /// script's statements; a routine's outside loops, branches and exception blocks).
    pub certain: bool,
    /// Its reads are `must_miss` only because the routine returns (and commits) when they find
    /// a row: true in the routine's own program, where nothing was written before; a caller
    /// that inlines the routine goes on either way.
    pub returns_if_found: bool,
    /// The routine raises unless the statement finds a row (`SELECT ... INTO STRICT`, or `IF
    /// NOT FOUND THEN RAISE` right after it): whenever its transaction commits, it found one,
    /// whatever key it looked by.
    pub raises_unless_found: bool,
    /// What rows an earlier lookup of the same call found, as far as the branches this
    /// statement runs under tested the values it read (see [`ValueGuard`]).
    pub value_guards: Vec<ValueGuard>,
    /// In a transaction composed of several named queries: the query whose positional
    /// parameters (`$1`, `$2`) the statement's are. Each query numbers its own from 1, so its
    /// `$1` is named `query.$1` in the accesses (see [`ProgramStatement::parameter`]).
    pub positional_of: Option<String>,
    /// For a step of a composed transaction written in another file than the transaction's
    /// first step: where it is written (its `range` is the first step's, in the program's
    /// file). `isolint confirm` runs it from there.
    pub written_at: Option<(crate::source::FileId, TextRange)>,
}

impl ProgramStatement {
    /// Where the statement's own text is: its range in `file` (the program's), or the file and
    /// range of a composed step written elsewhere.
    pub fn written_in(&self, file: crate::source::FileId) -> (crate::source::FileId, TextRange) {
        self.written_at.unwrap_or((file, self.range))
    }

    /// The name the accesses give the parameter written `name` in the statement's text.
    pub fn parameter(&self, name: &str) -> String {
        match &self.positional_of {
            Some(query) => positional_name(query, name),
            None => name.to_string(),
        }
    }

    /// Makes the statement's positional parameters those of `query`, apart from the other
    /// queries' of a composed transaction.
    pub fn scope_positional(&mut self, query: &str) {
        self.positional_of = Some(query.to_string());
        for access in &mut self.accesses {
            access.bind(&mut |name| crate::access::Term::Param(positional_name(query, name)));
        }
    }

    /// Where the statement is written: its own range in `file` (the program's), or for an
    /// inlined statement the routine's statement it runs.
    pub fn origin(&self, file: FileId) -> (FileId, TextRange) {
        self.via
            .as_ref()
            .map_or((file, self.range), |via| (via.file, via.range))
    }
}

/// A value an earlier lookup of the same call must have found for a statement to run: the
/// statement sits in a branch whose condition tests a variable that the lookup's `INTO` set
/// and nothing assigned since (`SELECT s.sub_batch INTO batch_id ...; IF batch_id IS NOT NULL
/// THEN RETURN; END IF; UPDATE ...`: the UPDATE runs only when the row had `sub_batch` NULL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueGuard {
    /// The lookup, where it is written ([`ProgramStatement::origin`]).
    pub lookup: (FileId, TextRange),
    /// The one table of the lookup that has the column.
    pub table: String,
    pub column: String,
    /// The values the column had in the row the lookup found.
    pub domain: crate::access::Domain,
}

/// A routine's statement as plain SQL: its variables are parameters (`:name`), its `INTO`
/// is gone and the variables it assigned are listed, so that `isolint confirm` can run the
/// body statement by statement and carry the values read into later statements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replay {
    pub sql: String,
    /// The variables the statement's `INTO` assigns from its first row, in order.
    pub into: Vec<String>,
    /// The routine's arguments (values chosen for the run); every other variable in `sql`
    /// must have been assigned by an earlier `INTO`.
    pub arguments: Vec<String>,
    /// Why it cannot be replayed (a record variable's field, a trigger's `NEW`), if so.
    pub unsupported: Option<String>,
}

/// Where an inlined statement comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    /// `fetch_job()`, or `trigger jobs_notify`; nested ones joined by `→`.
    pub routine: String,
    pub file: FileId,
    /// The statement in the routine's body.
    pub range: TextRange,
}

/// Where a program comes from, for the summary and the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProgramKind {
    /// A `BEGIN ... COMMIT` block, an implicit transaction or an autocommit statement.
    Script,
    /// A function or procedure.
    Routine,
    /// A named query of a query file (sqlc, yesql, ...).
    Query,
    /// A trigger: its function's statements, with `NEW` and `OLD` as parameters.
    Trigger,
}

/// One transaction program: a `BEGIN ... COMMIT` block, an Oracle implicit transaction, or an
/// autocommit statement.
#[derive(Debug, Clone)]
pub struct Program {
    pub name: String,
    pub kind: ProgramKind,
    pub file: FileId,
    /// The range of the first statement (the `BEGIN` where there is one).
    pub range: TextRange,
    pub level: Level,
    pub level_source: LevelSource,
    /// The engine table the transaction runs with when its own SQL chose one of the engine's
    /// settings for it (TiDB's `BEGIN OPTIMISTIC`, or a session's `SET tidb_txn_mode` before
    /// its `BEGIN`): the run's table with that choice over it. `None` for the run's table.
    /// [`crate::analysis::Context::semantics_of`] reads it.
    pub semantics: Option<&'static Semantics>,
    pub statements: Vec<ProgramStatement>,
    /// Rules silenced for the whole transaction, with the directive (in the program's file).
    pub ignores: Ignores,
    /// Parameter values for concrete instances (`-- isolint: example`), one map per instance.
    pub examples: Vec<BTreeMap<String, String>>,
    /// For a `[[transaction]]` whose steps commit separately (`atomic = false`): the last
    /// statement of each step but the last, where that step commits and its locks end. Empty
    /// for a transaction that commits once, at its end.
    pub step_ends: Vec<usize>,
    /// The one value the config's `[parameters]` gives a parameter (named as the accesses name
    /// it, without `$`, `:` or `@` for the program's own): what `isolint confirm` binds.
    pub declared: BTreeMap<String, String>,
}

impl Program {
    /// Whether statements `a` and `b` can both run in one call: not on opposite sides of a
    /// branch taken once per call (`IF c THEN a ELSE b`, or `a` inside an `IF c` that returns
    /// and `b` after it).
    pub fn run_together(&self, a: usize, b: usize) -> bool {
        let (Some(a), Some(b)) = (self.statements.get(a), self.statements.get(b)) else {
            return true;
        };
        !a.arms.iter().any(|arm| {
            b.arms
                .iter()
                .any(|other| other.condition == arm.condition && other.holds != arm.holds)
        })
    }

    /// Whether a lock taken by statement `taken` is still held when statement `at` runs: no
    /// step commits in between.
    pub fn lock_holds(&self, taken: usize, at: usize) -> bool {
        !self.step_ends.iter().any(|end| taken <= *end && *end < at)
    }

    /// Whether a lock taken by statement `taken` is held until the program commits.
    pub fn lock_holds_to_commit(&self, taken: usize) -> bool {
        self.step_ends.iter().all(|end| *end < taken)
    }

    /// Whether the program writes anything (an INSERT, UPDATE or DELETE on some path).
    pub fn writes(&self) -> bool {
        self.statements
            .iter()
            .any(|statement| statement.accesses.iter().any(|access| access.is_write()))
    }
}

/// The name a parameter written `name` in `query` takes in a transaction composed of several
/// queries: `query.$1` for a positional one, the name itself otherwise.
pub fn positional_name(query: &str, name: &str) -> String {
    if is_positional(name) {
        format!("{query}.{name}")
    } else {
        name.to_string()
    }
}

/// `$1`, `$2`: a parameter numbered within its statement's query.
fn is_positional(name: &str) -> bool {
    name.strip_prefix('$')
        .is_some_and(|number| !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()))
}

/// Silenced rule id → where the directive that silences it is.
pub type Ignores = BTreeMap<String, TextRange>;

/// A problem found while building programs, reported as a diagnostic.
#[derive(Debug, Clone)]
pub struct ProgramWarning {
    pub range: TextRange,
    pub message: String,
}

pub struct BuildContext<'a> {
    pub engine: Engine,
    pub semantics: &'a Semantics,
    /// `--isolation` or the config's level, already resolved for the engine.
    pub configured: Option<Level>,
    /// The same level as asked, before the run's settings resolved it: a transaction that
    /// chose settings of its own resolves it with them.
    pub requested: Option<Level>,
    pub file: FileId,
    pub file_stem: String,
    /// Line numbers for `stem:LINE` names.
    pub line_of: &'a dyn Fn(usize) -> usize,
}

#[derive(Default)]
struct Open {
    range: TextRange,
    level: Option<Level>,
    /// The settings its own SQL chose: the session's, then its BEGIN's.
    settings: SettingChoices,
    directives: Vec<Located<Directive>>,
    statements: Vec<ProgramStatement>,
    explicit: bool,
}

/// Groups a transaction file's statements into programs.
pub fn build(
    statements: &[StatementFacts],
    context: &BuildContext,
) -> (Vec<Program>, Vec<ProgramWarning>) {
    let mut builder = Builder {
        context,
        open: None,
        session_level: None,
        session_settings: SettingChoices::new(),
        next_level: None,
        pending_directives: Vec::new(),
        finished: Vec::new(),
        warnings: Vec::new(),
    };
    for statement in statements {
        builder.statement(statement);
    }
    if let Some(open) = builder.open.take() {
        if open.explicit {
            builder.warnings.push(ProgramWarning {
                range: open.range,
                message: "transaction has no COMMIT or ROLLBACK before the end of the file; \
                          analysed as if it committed there"
                    .to_string(),
            });
        }
        builder.close(open);
    }
    let Builder {
        finished,
        mut warnings,
        ..
    } = builder;
    let programs = name_programs(finished, context, &mut warnings);
    (programs, warnings)
}

struct Builder<'a> {
    context: &'a BuildContext<'a>,
    open: Option<Open>,
    /// MySQL `SET SESSION TRANSACTION` and T-SQL `SET TRANSACTION`: all later transactions.
    session_level: Option<Level>,
    /// TiDB's `SET tidb_txn_mode = ...`: all later explicit transactions.
    session_settings: SettingChoices,
    /// `SET TRANSACTION` before a block: the next transaction only.
    next_level: Option<Level>,
    /// Directives above a `SET TRANSACTION` that precedes the block they name.
    pending_directives: Vec<Located<Directive>>,
    finished: Vec<(Open, Option<String>)>,
    warnings: Vec<ProgramWarning>,
}

impl Builder<'_> {
    fn statement(&mut self, statement: &StatementFacts) {
        let engine = self.context.engine;
        match &statement.kind {
            StatementKind::Begin { level, settings } => {
                if let Some(open) = self.open.take() {
                    self.warnings.push(ProgramWarning {
                        range: statement.range,
                        message: "BEGIN inside an open transaction: the open one is treated as \
                                  committed here"
                            .to_string(),
                    });
                    self.close(open);
                }
                let mut directives = std::mem::take(&mut self.pending_directives);
                directives.extend(statement.directives.iter().cloned());
                // `BEGIN OPTIMISTIC` takes precedence over the session's mode.
                let mut chosen = self.session_settings.clone();
                chosen.extend(settings.clone());
                self.open = Some(Open {
                    range: statement.range,
                    level: level.or(self.next_level.take()).or(self.session_level),
                    settings: chosen,
                    directives,
                    statements: Vec::new(),
                    explicit: true,
                });
            }
            StatementKind::Commit | StatementKind::Rollback => {
                if let Some(open) = self.open.take() {
                    self.close(open);
                }
            }
            StatementKind::SetTransaction { level, session } => {
                if let Some(open) = &mut self.open {
                    if open.statements.is_empty() || engine.implicit_transactions() {
                        open.level = level.or(open.level);
                    }
                    if engine == Engine::Sqlserver {
                        self.session_level = *level;
                    }
                } else if engine.implicit_transactions() {
                    self.open = Some(Open {
                        range: statement.range,
                        level: *level,
                        directives: statement.directives.clone(),
                        statements: Vec::new(),
                        explicit: true,
                        ..Open::default()
                    });
                } else if *session || engine == Engine::Sqlserver {
                    self.session_level = *level;
                } else {
                    self.next_level = *level;
                    self.pending_directives = statement.directives.clone();
                }
            }
            StatementKind::Data { accesses, calls } => {
                let program_statement = ProgramStatement {
                    range: statement.range,
                    text: statement.text.clone(),
                    accesses: accesses.clone(),
                    ignores: ignores_in(&statement.directives),
                    takes_snapshot: takes_snapshot(accesses),
                    calls: calls.clone(),
                    via: None,
                    replay: None,
                    guards: Vec::new(),
                    arms: Vec::new(),
                    certain: true,
                    returns_if_found: false,
                    raises_unless_found: false,
                    value_guards: Vec::new(),
                    positional_of: None,
                    written_at: None,
                };
                match &mut self.open {
                    Some(open) => open.statements.push(program_statement),
                    None => {
                        let mut directives = std::mem::take(&mut self.pending_directives);
                        directives.extend(statement.directives.iter().cloned());
                        // The session's settings are not read for an autocommit statement:
                        // TiDB's `tidb_txn_mode` is the mode of explicit transactions.
                        let open = Open {
                            range: statement.range,
                            level: self.next_level.take().or(self.session_level),
                            directives,
                            statements: vec![program_statement],
                            explicit: engine.implicit_transactions(),
                            ..Open::default()
                        };
                        if engine.implicit_transactions() {
                            self.open = Some(open);
                        } else {
                            self.close(open);
                        }
                    }
                }
            }
            // The mode of an open transaction was fixed at its BEGIN.
            StatementKind::SetSession { settings } => {
                self.session_settings.extend(settings.clone());
            }
            StatementKind::Other | StatementKind::Unparsed => {}
        }
    }

    fn close(&mut self, mut open: Open) {
        let mut accesses: Vec<Vec<Access>> = open
            .statements
            .iter_mut()
            .map(|statement| std::mem::take(&mut statement.accesses))
            .collect();
        crate::access::pin_picked_rows(&mut accesses);
        for (statement, accesses) in open.statements.iter_mut().zip(accesses) {
            statement.accesses = accesses;
        }
        let name = open
            .directives
            .iter()
            .rev()
            .find_map(|directive| match &directive.value {
                Directive::Name(name) => Some(name.clone()),
                _ => None,
            });
        self.finished.push((open, name));
    }
}

/// A `LOCK TABLE` takes no snapshot; every other statement does.
pub fn takes_snapshot(accesses: &[Access]) -> bool {
    !accesses
        .iter()
        .all(|access| matches!(access.kind, AccessKind::Lock(LockTarget::Table)))
}

pub fn ignores_in(directives: &[Located<Directive>]) -> Ignores {
    let mut ignores = Ignores::new();
    for directive in directives {
        if let Directive::Ignore(rules) = &directive.value {
            for rule in rules {
                ignores.entry(rule.clone()).or_insert(directive.range);
            }
        }
    }
    ignores
}

fn name_programs(
    finished: Vec<(Open, Option<String>)>,
    context: &BuildContext,
    warnings: &mut Vec<ProgramWarning>,
) -> Vec<Program> {
    let finished: Vec<_> = finished
        .into_iter()
        .filter(|(open, _)| !open.statements.is_empty())
        .collect();
    let single = finished.len() == 1;
    finished
        .into_iter()
        .map(|(open, name)| {
            // A statement named by a query file's header, outside any BEGIN, is a query.
            let kind = if name.is_some() && !open.explicit {
                ProgramKind::Query
            } else {
                ProgramKind::Script
            };
            let name = name.unwrap_or_else(|| {
                if single {
                    context.file_stem.clone()
                } else {
                    format!(
                        "{}:{}",
                        context.file_stem,
                        (context.line_of)(open.range.start)
                    )
                }
            });
            let declared = open.level.or_else(|| {
                open.directives
                    .iter()
                    .find_map(|directive| match &directive.value {
                        Directive::Isolation(level) => Level::parse(level),
                        _ => None,
                    })
            });
            let own_semantics = (!open.settings.is_empty()).then(|| {
                context
                    .semantics
                    .with_choices(context.engine, &open.settings)
            });
            let semantics = own_semantics.unwrap_or(context.semantics);
            let (level, level_source) = match declared {
                Some(level) => (level, LevelSource::Declared),
                None => match context.configured {
                    Some(level) => (
                        own_semantics.and(context.requested).unwrap_or(level),
                        LevelSource::Configured,
                    ),
                    None => (
                        semantics.default_level(context.engine),
                        LevelSource::EngineDefault,
                    ),
                },
            };
            // With its own settings, a level runs as they make it (READ COMMITTED runs as
            // REPEATABLE READ in TiDB's optimistic mode).
            let (level, level_source) = match semantics.effective_level(context.engine, level) {
                (level, None) => (level, level_source),
                (default, Some(warning)) => {
                    warnings.push(ProgramWarning {
                        range: open.range,
                        message: warning,
                    });
                    (default, LevelSource::EngineDefault)
                }
            };
            let ignores = ignores_in(&open.directives);
            let examples = open
                .directives
                .iter()
                .filter_map(|directive| match &directive.value {
                    Directive::Example(pairs) => Some(pairs.iter().cloned().collect()),
                    _ => None,
                })
                .collect();
            Program {
                name,
                kind,
                file: context.file,
                range: open.range,
                level,
                level_source,
                semantics: own_semantics,
                statements: open.statements,
                ignores,
                examples,
                step_ends: Vec::new(),
                declared: BTreeMap::new(),
            }
        })
        .collect()
}

/// InnoDB at REPEATABLE READ and SERIALIZABLE reads the rows a writing statement reads
/// (`INSERT ... SELECT`'s source, an UPDATE's subquery) as `LOCK IN SHARE MODE` does, and at
/// READ COMMITTED those a DELETE or a multi-table UPDATE reads: each plain read of such a statement gets a shared
/// lock, where the program's level says so ([`crate::semantics::LevelSpec::write_reads_lock`],
/// [`crate::semantics::LevelSpec::delete_reads_lock`]).
pub fn lock_reads_of_writes(program: &mut Program, engine: Engine, semantics: &Semantics) {
    let semantics = program.semantics.unwrap_or(semantics);
    let spec = semantics.level(engine, program.level);
    if !spec.write_reads_lock && !spec.delete_reads_lock {
        return;
    }
    for statement in &mut program.statements {
        let locks = statement.accesses.iter().any(|access| {
            (spec.write_reads_lock && access.is_write())
                || (spec.delete_reads_lock
                    && matches!(
                        access.kind,
                        AccessKind::Delete { .. } | AccessKind::Update { joined: true, .. }
                    ))
        });
        if !locks {
            continue;
        }
        for access in &mut statement.accesses {
            if let AccessKind::Read {
                lock: lock @ None,
                uncommitted: false,
                arbiter: None,
                after_write: false,
                ..
            } = &mut access.kind
            {
                *lock = Some(crate::parse::LockClause {
                    strength: crate::parse::LockStrength::Share,
                    skip_locked: false,
                    nowait: false,
                    key_range: false,
                });
            }
        }
    }
}

/// A transaction that inserts a row and later looks it up by a unique key finds that row:
/// what the lookup passes on (`SELECT queue_id INTO q ... WHERE queue_name = $1` after
/// `INSERT INTO queue (queue_id, queue_name) VALUES (id, $1)`) is what it inserted, so the
/// later statements' `q.queue_id` is `id`. When that value is fresh (`id := nextval(...)`), a
/// child row that copies it into a foreign key (`INSERT INTO tick (tick_queue) VALUES
/// (q.queue_id)`) is new to every other transaction too: none can name it before this one
/// commits, and one that sees it sees the whole transaction.
///
/// The insert must run whenever the lookup does (a plain INSERT, [`ProgramStatement::certain`],
/// under no branch the lookup is not under), and nothing in between may write the table.
pub fn read_own_inserts(program: &mut Program, catalog: &crate::catalog::Catalog) {
    use crate::access::{OnConflict, Term};
    let statements = &mut program.statements;
    for lookup in 0..statements.len() {
        // Each read of a row inserted here, with the inserted row's pinned values.
        let mut found: Vec<(usize, BTreeMap<String, Term>)> = Vec::new();
        for (index, read) in statements[lookup].accesses.iter().enumerate() {
            if !matches!(
                read.kind,
                AccessKind::Read {
                    aggregate: false,
                    ..
                }
            ) {
                continue;
            }
            let Some(table) = catalog.table(&read.table) else {
                continue;
            };
            let inserted =
                statements[..lookup]
                    .iter()
                    .enumerate()
                    .rev()
                    .find_map(|(at, statement)| {
                        let insert = statement.accesses.iter().find(|access| {
                            access.table == read.table
                                && matches!(
                                    access.kind,
                                    AccessKind::Insert {
                                        on_conflict: OnConflict::Error,
                                        ..
                                    }
                                )
                        })?;
                        let runs_first = statement.certain
                            && statement
                                .arms
                                .iter()
                                .all(|arm| statements[lookup].arms.contains(arm));
                        let untouched = statements[at + 1..lookup].iter().all(|between| {
                            between
                                .accesses
                                .iter()
                                .all(|access| access.table != read.table || !access.is_write())
                        });
                        let same_key = table.keys.iter().any(|key| {
                            key.identifies_row()
                                && key.columns.iter().all(|column| {
                                    matches!(
                                        (read.rows.pins.get(column), insert.rows.pins.get(column)),
                                        (Some(a), Some(b)) if a == b
                                    )
                                })
                        });
                        (runs_first && untouched && same_key).then_some(insert)
                    });
            if let Some(insert) = inserted {
                found.push((index, insert.rows.pins.clone()));
            }
        }
        let mut renames: BTreeMap<String, Term> = BTreeMap::new();
        for (index, inserted) in found {
            let read = &mut statements[lookup].accesses[index];
            // The row found is the row inserted: its values, and the variables it fills.
            for (column, value) in inserted {
                if let Some(term @ Term::Param(name)) = read.rows.pins.get(&column)
                    && *term != value
                {
                    renames.insert(name.clone(), value.clone());
                }
                read.rows.pins.insert(column, value);
            }
        }
        // Until a later `SELECT ... INTO` assigns the variable again.
        for statement in &mut statements[lookup + 1..] {
            if renames.is_empty() {
                break;
            }
            for access in &mut statement.accesses {
                access.bind(&mut |name| {
                    renames
                        .get(name)
                        .cloned()
                        .unwrap_or_else(|| Term::Param(name.to_string()))
                });
            }
            // A record's fields (`q.queue_id`) go with the record (`q`).
            for assigned in statement.replay.iter().flat_map(|replay| &replay.into) {
                renames.retain(|name, _| {
                    name != assigned
                        && !name
                            .strip_prefix(assigned.as_str())
                            .is_some_and(|field| field.starts_with('.'))
                });
            }
        }
    }
    // A fresh value names only this transaction's rows: a read, update or delete by it touches
    // rows added here alone, and a child row that copies it is linked to the new parent.
    let fresh: BTreeSet<Term> = statements
        .iter()
        .flat_map(|statement| &statement.accesses)
        .filter(|access| matches!(access.kind, AccessKind::Insert { .. }))
        .flat_map(|access| {
            access
                .rows
                .fresh
                .iter()
                .filter_map(|column| access.rows.pins.get(column).cloned())
        })
        .filter(|term| matches!(term, Term::Param(_)))
        .collect();
    if fresh.is_empty() {
        return;
    }
    for access in statements
        .iter_mut()
        .flat_map(|statement| &mut statement.accesses)
    {
        let insert = matches!(access.kind, AccessKind::Insert { .. });
        let table = catalog.table(&access.table);
        let columns: Vec<String> = access
            .rows
            .pins
            .iter()
            .filter(|(_, term)| fresh.contains(*term))
            .map(|(column, _)| column.clone())
            .collect();
        for column in columns {
            // A new row's identity, or only its link to the new parent.
            if !insert || table.is_some_and(|table| table.identifies_new_rows(&column)) {
                access.rows.fresh.insert(column);
            } else {
                access.rows.linked.insert(column);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::analysis::testing::findings;
    use crate::semantics::Engine;

    const SCHEMA: &str = "CREATE SEQUENCE queue_id_seq;
        CREATE TABLE queues (id int PRIMARY KEY, name text NOT NULL UNIQUE);
        CREATE TABLE ticks (queue_id int NOT NULL REFERENCES queues (id), tick_id bigserial,
            PRIMARY KEY (queue_id, tick_id));";

    /// The variable that held the new queue's id holds another queue's once a later lookup
    /// assigns it: ticks read and added by it are that queue's, and two calls race on them.
    fn routine(second_lookup: &str) -> String {
        format!(
            "{SCHEMA}
            CREATE FUNCTION add_and_tick(p_name text, p_other text) RETURNS bigint AS $$
            DECLARE v_id int; q int; v_last bigint;
            BEGIN
                v_id := nextval('queue_id_seq');
                INSERT INTO queues (id, name) VALUES (v_id, p_name);
                SELECT id INTO q FROM queues WHERE name = p_name;
                IF NOT FOUND THEN RAISE EXCEPTION 'missing'; END IF;
                {second_lookup}
                SELECT max(tick_id) INTO v_last FROM ticks WHERE queue_id = q;
                INSERT INTO ticks (queue_id) VALUES (q);
                RETURN v_last;
            END $$ LANGUAGE plpgsql;"
        )
    }

    #[test]
    fn a_lookup_of_the_own_new_row_holds_its_values_until_reassigned() {
        let own = findings(Engine::Postgres, None, &routine(""), "");
        assert!(own.is_empty(), "{own:?}");
        let other = findings(
            Engine::Postgres,
            None,
            &routine(
                "SELECT id INTO q FROM queues WHERE name = p_other;
                IF NOT FOUND THEN RAISE EXCEPTION 'no other'; END IF;",
            ),
            "",
        );
        assert_eq!(other, ["phantom-write-skew: add_and_tick"]);
    }
}
