//! Partner shapes: a partner as the pair rules see it from one program. The rules decide a
//! pair `(program, partner)` from the whole of `program` but only part of its partner: the
//! partner's statements on the tables `program` touches, or on a table joined to one of them
//! by a foreign key (the *relevant* tables), and two facts about where the rest of the partner
//! stands. Partners with one shape give `program` the same findings, conflicts and graph
//! edges, up to their index, the indices of their kept statements and their parameters'
//! names; the driver decides one of them and lets the outcome stand for the others.
//!
//! A shape keeps, in order: the partner's level and kind; each statement with an access to a
//! relevant table or to no table (an advisory lock), as [`super::template`] writes it out (the
//! snapshot flag and its accesses, parameters numbered in order of appearance among the kept
//! statements); and, as a count of kept statements before it, where the partner takes its
//! snapshot and where its last write is. The rules compare a partner's statement indices only
//! with each other and with those two positions (`<`, `<=`, `==`, `min`), so counts in place
//! of indices decide every comparison alike:
//!
//! - locks serialise only when both sides lock the same table, row or advisory key, and the
//!   snapshot bounds which count (`conflict::usable_mutexes`);
//! - foreign keys tie a child table to its parent one hop apart (`conflict::forced_conflict`,
//!   `conflict::serialized_by_foreign_key`), which is why neighbours are relevant;
//! - a read decides a write when some write of the same program follows it, on any table
//!   (`cycles::open_cycles`): hence the last write;
//! - every other look at a partner is at accesses of a table the other program touches.
//!
//! Architecture Invariant: a shape is exact, never an approximation. A program whose findings
//! could depend on more than its shape is its own, as for templates (`template::is_its_own`),
//! and is never grouped; a finding or edge of the decided partner that names a statement
//! outside its shape is not carried over to the others, which are then decided on their own
//! (`driver`). A rule that comes to read more of a partner must be added here.

use std::collections::HashMap;
use std::ops::Range;

use rayon::prelude::*;

use crate::analysis::Context;
use crate::analysis::conflict::{Instance, snapshot_statement};

use super::template::{is_its_own, parameterless};

/// Marks the start of a statement in a key; no interned id reaches it.
const STATEMENT: u32 = u32::MAX;
/// Tokens at or above this stand for a parameter: `PARAMETER + its number`.
const PARAMETER: u32 = 1 << 31;
/// A position that does not exist (no snapshot, no write).
const NOWHERE: u32 = u32::MAX - 1;
/// The most tables a program may touch and still be grouped: its shapes are made ahead, one
/// per set of its tables that can be relevant to another program.
const MOST_TABLES: usize = 8;

/// Every program's shapes, one per set of its tables that may be the relevant ones, and each
/// table's neighbours.
pub struct Shapes {
    /// `None` for a program that is its own.
    programs: Vec<Option<ProgramShapes>>,
    /// Each program's tables (ids), ascending: `tables[table_starts[p]..table_starts[p + 1]]`.
    /// Flat, as `shape_ids`, so that the shapes of a program's partners, asked for in
    /// ascending order, are read in the order they lie in memory.
    tables: Vec<u32>,
    table_starts: Vec<u32>,
    /// The ids of each program's shapes by set of relevant tables (bit i: its i-th table):
    /// `shape_ids[shape_starts[p]..shape_starts[p + 1]]`, empty for a program that is its own.
    shape_ids: Vec<u32>,
    shape_starts: Vec<u32>,
    /// Each table's neighbours through a foreign key, either way.
    neighbours: Vec<Vec<u32>>,
    /// The parameter numbers of every shape, in the shape's order (ranges of it in
    /// [`ProgramShapes::subsets`]).
    numbers: Vec<u32>,
    /// How many shapes there are: their ids are `0..count`.
    count: usize,
}

struct ProgramShapes {
    /// Its parameters' names, in order of appearance.
    parameters: Vec<String>,
    /// Each statement's tables, as a mask over the program's tables (bit i: its i-th); `None`
    /// for a statement with an access to no table, kept in every shape.
    statements: Vec<Option<u32>>,
    /// By set of relevant tables (bit i: the program's i-th): the shape's id and its
    /// parameters' numbers (a range of [`Shapes::numbers`]).
    subsets: Vec<(u32, Range<u32>)>,
}

/// A program's statements as its shapes are written out from them.
struct Written {
    /// Level and kind, interned.
    attributes: u32,
    /// Where its snapshot is taken (`conflict::snapshot_statement`).
    snapshot: Option<usize>,
    statements: Vec<StatementTokens>,
}

struct StatementTokens {
    writes: bool,
    /// The snapshot flag, then each access's interned template followed by its parameters
    /// (`PARAMETER +` their number in order of appearance in the whole program).
    tokens: Vec<u32>,
}

/// Per-thread space for [`Shapes::shape`].
#[derive(Default)]
pub struct ShapeScratch {
    /// `relevant[table] == stamp` when `table` is relevant to the focused program.
    relevant: Vec<u32>,
    stamp: u32,
}

/// A partner's shape seen from one program.
#[derive(Clone, Copy)]
pub struct Shape {
    /// Equal ids, equal shapes.
    pub id: u32,
    /// The partner's relevant tables (bit i: its i-th).
    subset: u32,
}

impl Shapes {
    pub fn new(context: &Context) -> Shapes {
        let programs = context.programs;
        let mut table_ids: HashMap<&str, u32> = HashMap::new();
        let mut accesses: HashMap<String, u32> = HashMap::new();
        let intern = |text: String, accesses: &mut HashMap<String, u32>| -> u32 {
            let next = u32::try_from(accesses.len()).unwrap_or(PARAMETER - 1);
            *accesses.entry(text).or_insert(next)
        };
        let mut written = Vec::with_capacity(programs.len());
        let mut tables = Vec::with_capacity(programs.len());
        let mut statement_tables: Vec<Vec<Option<Vec<u32>>>> = Vec::with_capacity(programs.len());
        for (index, program) in programs.iter().enumerate() {
            let mut names: Vec<String> = Vec::new();
            let mut own = is_its_own(program);
            let mut statements = Vec::with_capacity(program.statements.len());
            let mut program_tables: Vec<u32> = Vec::new();
            let mut each_tables = Vec::with_capacity(program.statements.len());
            for statement in &program.statements {
                let mut shape = StatementTokens {
                    writes: false,
                    tokens: vec![u32::from(statement.takes_snapshot)],
                };
                let mut named_tables = Some(Vec::new());
                for access in &statement.accesses {
                    if access.table.is_empty() {
                        named_tables = None;
                    } else {
                        let id = u32::try_from(table_ids.len()).unwrap_or(u32::MAX);
                        let id = *table_ids.entry(access.table.as_str()).or_insert(id);
                        program_tables.push(id);
                        if let Some(named) = &mut named_tables {
                            named.push(id);
                        }
                    }
                    shape.writes |= access.is_write();
                    let (template, named) = parameterless(access);
                    shape.tokens.push(intern(template, &mut accesses));
                    for name in named {
                        // A name with an escape in it is not the name itself.
                        own |= name.contains('\\');
                        let number = match names.iter().position(|known| *known == name) {
                            Some(number) => number,
                            None => {
                                names.push(name);
                                names.len() - 1
                            }
                        };
                        let number = u32::try_from(number).unwrap_or(PARAMETER - 1);
                        shape.tokens.push(PARAMETER + number.min(PARAMETER - 1));
                    }
                }
                statements.push(shape);
                each_tables.push(named_tables);
            }
            program_tables.sort_unstable();
            program_tables.dedup();
            own |= program_tables.len() > MOST_TABLES;
            let attributes = format!(
                "program {:?} {:?} {:?}",
                program.level, program.kind, program.step_ends
            );
            let attributes = intern(attributes, &mut accesses);
            let instance = Instance {
                program,
                index,
                tag: 0,
            };
            written.push((!own).then(|| {
                (
                    names,
                    Written {
                        attributes,
                        snapshot: snapshot_statement(instance, context),
                        statements,
                    },
                )
            }));
            tables.push(program_tables);
            statement_tables.push(each_tables);
        }
        // Every shape of every program, one per set of its tables, then their ids.
        let keys: Vec<Option<ProgramKeys>> = written
            .par_iter()
            .zip(&statement_tables)
            .zip(&tables)
            .map(|((written, each_tables), program_tables)| {
                let (_, written) = written.as_ref()?;
                let masks: Vec<Option<u32>> = each_tables
                    .iter()
                    .map(|named| {
                        named.as_ref().map(|named| {
                            named
                                .iter()
                                .filter_map(|table| program_tables.binary_search(table).ok())
                                .fold(0u32, |mask, at| mask | (1 << at))
                        })
                    })
                    .collect();
                let keys = (0..1u32 << program_tables.len())
                    .map(|subset| shape_key(written, &masks, subset))
                    .collect();
                Some(ProgramKeys { masks, keys })
            })
            .collect();
        let mut ids: HashMap<Vec<u32>, u32> = HashMap::new();
        let mut numbers = Vec::new();
        let shapes: Vec<Option<ProgramShapes>> = written
            .into_iter()
            .zip(keys)
            .map(|(written, keys)| {
                let (parameters, _) = written?;
                let ProgramKeys {
                    masks: statements,
                    keys,
                } = keys?;
                let subsets = keys
                    .into_iter()
                    .map(|ShapeKey { key, parameters }| {
                        let next = u32::try_from(ids.len()).unwrap_or(u32::MAX);
                        let id = *ids.entry(key).or_insert(next);
                        let start = u32::try_from(numbers.len()).unwrap_or(u32::MAX);
                        numbers.extend(parameters);
                        let end = u32::try_from(numbers.len()).unwrap_or(u32::MAX);
                        (id, start..end)
                    })
                    .collect();
                Some(ProgramShapes {
                    parameters,
                    statements,
                    subsets,
                })
            })
            .collect();
        let count = ids.len();
        // Neighbours exactly as the rules find them: `catalog.table(access table)`'s foreign
        // keys, and the tables they reference by name.
        let mut neighbours: Vec<Vec<u32>> = vec![Vec::new(); table_ids.len()];
        for (name, &id) in &table_ids {
            let Some(table) = context.catalog.table(name) else {
                continue;
            };
            for foreign_key in &table.foreign_keys {
                if let Some(&parent) = table_ids.get(foreign_key.references.as_str()) {
                    neighbours[id as usize].push(parent);
                    neighbours[parent as usize].push(id);
                }
            }
        }
        for list in &mut neighbours {
            list.sort_unstable();
            list.dedup();
        }
        let flat = |lists: Vec<Vec<u32>>| -> (Vec<u32>, Vec<u32>) {
            let mut starts = vec![0];
            let mut flat = Vec::new();
            for list in lists {
                flat.extend(list);
                starts.push(u32::try_from(flat.len()).unwrap_or(u32::MAX));
            }
            (flat, starts)
        };
        let ids = shapes
            .iter()
            .map(|shapes: &Option<ProgramShapes>| {
                shapes
                    .iter()
                    .flat_map(|shapes| shapes.subsets.iter().map(|(id, _)| *id))
                    .collect()
            })
            .collect();
        let (shape_ids, shape_starts) = flat(ids);
        let (tables, table_starts) = flat(tables);
        Shapes {
            programs: shapes,
            tables,
            table_starts,
            shape_ids,
            shape_starts,
            neighbours,
            numbers,
            count,
        }
    }

    /// No shapes for `count` programs: every partner is its own.
    pub fn none(count: usize) -> Shapes {
        Shapes {
            programs: (0..count).map(|_| None).collect(),
            tables: Vec::new(),
            table_starts: vec![0; count + 1],
            shape_ids: Vec::new(),
            shape_starts: vec![0; count + 1],
            neighbours: Vec::new(),
            numbers: Vec::new(),
            count: 0,
        }
    }

    /// How many shapes there are: every [`Shape::id`] is below it.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Marks the tables relevant to `program` in `scratch`, for the shapes that follow.
    pub fn focus(&self, program: usize, scratch: &mut ShapeScratch) {
        if scratch.relevant.len() < self.neighbours.len() {
            scratch.relevant.resize(self.neighbours.len(), 0);
        }
        scratch.stamp = scratch.stamp.wrapping_add(1);
        if scratch.stamp == 0 {
            scratch.relevant.iter_mut().for_each(|stamp| *stamp = 0);
            scratch.stamp = 1;
        }
        let stamp = scratch.stamp;
        for &table in self.tables_of(program) {
            scratch.relevant[table as usize] = stamp;
            for &neighbour in &self.neighbours[table as usize] {
                scratch.relevant[neighbour as usize] = stamp;
            }
        }
    }

    /// `partner`'s shape seen from the focused program; `None` when the partner is its own.
    pub fn shape(&self, partner: usize, scratch: &ShapeScratch) -> Option<Shape> {
        let first = self.shape_starts[partner] as usize;
        if first == self.shape_starts[partner + 1] as usize {
            return None;
        }
        let subset = self
            .tables_of(partner)
            .iter()
            .enumerate()
            .filter(|(_, table)| scratch.relevant[**table as usize] == scratch.stamp)
            .fold(0u32, |subset, (at, _)| subset | (1 << at));
        let id = self.shape_ids[first + subset as usize];
        Some(Shape { id, subset })
    }

    fn tables_of(&self, program: usize) -> &[u32] {
        &self.tables[self.table_starts[program] as usize..self.table_starts[program + 1] as usize]
    }

    /// The statements of `partner` that `shape` keeps, by index, in order.
    pub fn kept(&self, partner: usize, shape: Shape) -> impl Iterator<Item = usize> + '_ {
        self.programs[partner]
            .iter()
            .flat_map(|shapes| shapes.statements.iter().enumerate())
            .filter(move |(_, mask)| mask.is_none_or(|mask| mask & shape.subset != 0))
            .map(|(at, _)| at)
    }

    /// The names of `partner`'s parameters in the order `shape` numbers them: the i-th of
    /// one partner stands where the i-th of another of the same shape does.
    pub fn parameters(&self, partner: usize, shape: Shape) -> impl Iterator<Item = &str> + '_ {
        let shapes = self.programs[partner].as_ref();
        let range = shapes.map_or(0..0, |shapes| {
            let range = &shapes.subsets[shape.subset as usize].1;
            range.start as usize..range.end as usize
        });
        self.numbers[range].iter().filter_map(move |number| {
            shapes
                .and_then(|shapes| shapes.parameters.get(*number as usize))
                .map(String::as_str)
        })
    }
}

/// A program's statements' tables as masks (see [`ProgramShapes::statements`]) and its shapes
/// written out, by set of relevant tables.
struct ProgramKeys {
    masks: Vec<Option<u32>>,
    keys: Vec<ShapeKey>,
}

/// One shape written out: its key and the numbers of its parameters in the key's order.
struct ShapeKey {
    key: Vec<u32>,
    parameters: Vec<u32>,
}

/// The shape of `written` whose relevant tables are `subset` (of the masks `masks`, one per
/// statement).
fn shape_key(written: &Written, masks: &[Option<u32>], subset: u32) -> ShapeKey {
    let kept: Vec<usize> = masks
        .iter()
        .enumerate()
        .filter(|(_, mask)| mask.is_none_or(|mask| mask & subset != 0))
        .map(|(at, _)| at)
        .collect();
    let mut key = vec![written.attributes];
    let mut parameters: Vec<u32> = Vec::new();
    for &at in &kept {
        key.push(STATEMENT);
        for &token in &written.statements[at].tokens {
            if token < PARAMETER {
                key.push(token);
                continue;
            }
            let own_number = token - PARAMETER;
            let number = match parameters.iter().position(|known| *known == own_number) {
                Some(number) => number,
                None => {
                    parameters.push(own_number);
                    parameters.len() - 1
                }
            };
            key.push(PARAMETER + u32::try_from(number).unwrap_or(PARAMETER - 1));
        }
    }
    // Where the snapshot and the last write stand among the kept statements.
    let last_write = (0..masks.len())
        .rev()
        .find(|at| written.statements[*at].writes);
    let kept_before = |position: Option<usize>| -> u32 {
        position.map_or(NOWHERE, |position| {
            let count = kept.iter().filter(|at| **at < position).count();
            u32::try_from(count).unwrap_or(NOWHERE)
        })
    };
    key.push(STATEMENT);
    key.push(kept_before(written.snapshot));
    key.push(kept_before(last_write));
    ShapeKey { key, parameters }
}

#[cfg(test)]
mod tests {
    use super::{ShapeScratch, Shapes};
    use crate::analysis::Context;
    use crate::semantics::Engine;

    const SCHEMA: &str = "CREATE TABLE accounts (id int PRIMARY KEY, balance int);
        CREATE TABLE notes (id int PRIMARY KEY, body text);";

    /// The shape of every program after the first, seen from the first (`None` for a program
    /// that is its own).
    fn seen_from_first(transactions: &str) -> Vec<Option<u32>> {
        let (result, _) =
            crate::analysis::testing::check(Engine::Postgres, &[], None, SCHEMA, transactions, &[]);
        let context = Context {
            programs: &result.programs,
            catalog: &result.catalog,
            semantics: result.semantics,
            engine: result.engine,
        };
        let shapes = Shapes::new(&context);
        let mut scratch = ShapeScratch::default();
        shapes.focus(0, &mut scratch);
        (1..result.programs.len())
            .map(|partner| shapes.shape(partner, &scratch).map(|shape| shape.id))
            .collect()
    }

    #[test]
    fn partners_alike_on_the_tables_a_program_touches_share_a_shape() {
        let found = seen_from_first(
            "BEGIN; SELECT balance FROM accounts WHERE id = $1;
             UPDATE accounts SET balance = $2 WHERE id = $1; COMMIT;
             UPDATE accounts SET balance = $2 WHERE id = $1;
             BEGIN; UPDATE accounts SET balance = $7 WHERE id = $3;
             SELECT body FROM notes WHERE id = $3; COMMIT;
             UPDATE accounts SET balance = $1 WHERE id = $1;
             BEGIN; UPDATE accounts SET balance = $2 WHERE id = $1;
             UPDATE notes SET body = $3 WHERE id = $1; COMMIT;",
        );
        assert_eq!(found[0], found[1], "a read of another table is left out");
        assert!(found[0].is_some());
        assert_ne!(
            found[0], found[2],
            "a parameter used twice is another shape"
        );
        assert_ne!(
            found[0], found[3],
            "a write after the kept statements is another shape: a read before it decides"
        );
    }

    #[test]
    fn a_program_with_an_ignore_is_its_own() {
        let found = seen_from_first(
            "UPDATE accounts SET balance = balance + 1 WHERE id = $1;
             UPDATE accounts SET balance = balance + 1 WHERE id = $1;
             -- isolint: ignore lost-update
             UPDATE accounts SET balance = balance + 1 WHERE id = $1;",
        );
        assert!(found[0].is_some());
        assert_eq!(found[1], None);
    }
}
