//! The static dependency graph over programs (Fekete et al. 2005): an edge for every possible
//! conflict, with the vulnerable rw edges marked.

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};

use super::conflict::{AccessRef, EdgeKind, forced_conflict, guards_exclude, serialized_by_lock};
use super::unify::Unifier;
use super::{Context, Pair};
use crate::parse::plpgsql::Branch;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dependency {
    /// Some conflict (rw, wr or ww) in this direction is possible.
    Conflict,
}

/// A vulnerable rw edge between two different programs: the reader can read a version the
/// concurrent writer then overwrites, and nothing forces one of them to fail.
#[derive(Debug, Clone)]
pub struct VulnerableEdge {
    pub reader: usize,
    pub writer: usize,
    pub read: AccessRef,
    pub write: AccessRef,
    pub kind: EdgeKind,
    pub columns: Vec<String>,
    /// The read is locked and blocks this writer until the reader commits.
    pub read_locked: bool,
    /// The equalities the edge needs, the reader as instance 0 and the writer as 1.
    pub unifier: Unifier,
}

pub struct DependencyGraph {
    pub graph: DiGraph<usize, Dependency>,
    pub vulnerable: Vec<VulnerableEdge>,
    /// Indices into `vulnerable` by reading program.
    by_reader: Vec<Vec<usize>>,
    /// Indices into `vulnerable` by writing program.
    by_writer: Vec<Vec<usize>>,
    /// Each program's strongly connected component: a chain of conflicts leads from one
    /// program to another exactly when they share one.
    component: Vec<usize>,
}

/// What one pair of different programs adds to the graph: whether they conflict at all, and
/// the vulnerable edge that stands for each direction.
#[derive(Debug, Clone, Default)]
pub struct PairEdges {
    pub conflicts: bool,
    pub vulnerable: Vec<VulnerableEdge>,
}

impl PairEdges {
    /// The pair's part of the graph; nothing for two instances of one program.
    pub fn of(context: &Context, pair: &Pair) -> PairEdges {
        if pair.same_program() {
            return PairEdges::default();
        }
        let conflicts = ww_conflict(pair) || !pair.forward.is_empty() || !pair.backward.is_empty();
        let mut vulnerable = Vec::new();
        vulnerable.extend(representative_edges(context, &pair.flipped()));
        vulnerable.extend(representative_edges(context, pair));
        PairEdges {
            conflicts,
            vulnerable,
        }
    }

    /// The same edges with every program index replaced by `map(index)`.
    pub fn map_programs(mut self, map: impl Fn(usize) -> usize) -> PairEdges {
        for edge in &mut self.vulnerable {
            edge.reader = map(edge.reader);
            edge.writer = map(edge.writer);
        }
        self
    }
}

impl DependencyGraph {
    /// The graph of `context`'s programs from the parts of the pairs `(first, second, part)`.
    pub fn build(context: &Context, parts: Vec<(usize, usize, PairEdges)>) -> DependencyGraph {
        let mut graph = DiGraph::new();
        let nodes: Vec<NodeIndex> = (0..context.programs.len())
            .map(|i| graph.add_node(i))
            .collect();
        let mut vulnerable = Vec::new();
        for (first, second, part) in parts {
            if part.conflicts {
                graph.add_edge(nodes[first], nodes[second], Dependency::Conflict);
                graph.add_edge(nodes[second], nodes[first], Dependency::Conflict);
            }
            vulnerable.extend(part.vulnerable);
        }
        let mut by_reader = vec![Vec::new(); context.programs.len()];
        let mut by_writer = vec![Vec::new(); context.programs.len()];
        for (index, edge) in vulnerable.iter().enumerate() {
            by_reader[edge.reader].push(index);
            by_writer[edge.writer].push(index);
        }
        let mut component = vec![0; context.programs.len()];
        for (id, members) in tarjan_scc(&graph).into_iter().enumerate() {
            for node in members {
                component[graph[node]] = id;
            }
        }
        DependencyGraph {
            graph,
            vulnerable,
            by_reader,
            by_writer,
            component,
        }
    }

    /// Whether some chain of conflicts leads from `from` to `to`.
    pub fn connected(&self, from: usize, to: usize) -> bool {
        self.component[from] == self.component[to]
    }

    /// The vulnerable edges whose writer is `program`.
    pub fn written_by(&self, program: usize) -> impl Iterator<Item = &VulnerableEdge> {
        self.by_writer[program]
            .iter()
            .map(|index| &self.vulnerable[*index])
    }

    /// The vulnerable edges whose reader is `program`.
    pub fn read_by(&self, program: usize) -> impl Iterator<Item = &VulnerableEdge> {
        self.by_reader[program]
            .iter()
            .map(|index| &self.vulnerable[*index])
    }
}

/// The vulnerable rw edges from `view.first`'s reads to `view.second`'s writes that stand for
/// the pair: per way the two statements can run in a call (the routine branches they sit in),
/// the first whose read does not block the writer, else the first. One per direction and path
/// is all the structures need, and it keeps the graph linear in the pairs.
pub(crate) fn representative_edges(context: &Context, view: &Pair) -> Vec<VulnerableEdge> {
    type Arms<'a> = (&'a [Branch], &'a [Branch]);
    let mut chosen: Vec<(Arms, VulnerableEdge)> = Vec::new();
    for edge in view.forward.iter() {
        if forced_conflict(view.first, view.second, &edge.unifier, context.catalog)
            || guards_exclude(
                view.first,
                view.second,
                [&[edge.read.statement], &[edge.write.statement]],
                &edge.unifier,
            )
            || serialized_by_lock(
                (view.first, edge.read.statement),
                (view.second, edge.write.statement),
                &edge.unifier,
                context,
            )
        {
            continue;
        }
        let arms: Arms = (
            &view.first.program.statements[edge.read.statement].arms,
            &view.second.program.statements[edge.write.statement].arms,
        );
        let earlier = chosen.iter().position(|(other, _)| *other == arms);
        if earlier.is_some_and(|at| !chosen[at].1.read_locked) {
            continue;
        }
        let read = view.first.access(edge.read);
        let vulnerable = VulnerableEdge {
            reader: view.first.index,
            writer: view.second.index,
            read: edge.read,
            write: edge.write,
            kind: edge.kind,
            columns: edge.columns.clone(),
            read_locked: super::cycles::read_blocks_writer(
                context,
                view.first.program,
                read,
                edge.kind,
            ),
            unifier: edge.unifier.relabel(&[view.first.tag, view.second.tag]),
        };
        match earlier {
            Some(at) if !vulnerable.read_locked => chosen[at].1 = vulnerable,
            Some(_) => {}
            None => chosen.push((arms, vulnerable)),
        }
    }
    chosen.into_iter().map(|(_, edge)| edge).collect()
}

/// Both instances write rows that can be the same.
pub(crate) fn ww_conflict(pair: &Pair) -> bool {
    pair.first.accesses().any(|(_, a)| {
        a.is_write()
            && pair.second.accesses().any(|(_, b)| {
                b.is_write()
                    && a.table == b.table
                    && crate::analysis::unify::rows_meet(&a.rows, 0, &b.rows, 1).is_some()
            })
    })
}
