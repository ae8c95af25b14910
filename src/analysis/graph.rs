//! The static dependency graph over programs (Fekete et al. 2005): an edge for every possible
//! conflict, with the vulnerable rw edges marked. It is looked at one pivot at a time
//! ([`DependencyGraph::around`]); nothing of it is held for the whole project.

use std::cell::{Cell, OnceCell};
use std::sync::Arc;

use super::conflict::{AccessRef, EdgeKind, forced_conflict, guards_exclude, serialized_running};
use super::unify::Unifier;
use super::{Context, Pair};
use crate::parse::plpgsql::Branch;

/// A vulnerable rw edge between two different programs: the reader can read a version the
/// concurrent writer then overwrites, and nothing forces one of them to fail.
#[derive(Debug, Clone)]
pub struct VulnerableEdge {
    pub reader: usize,
    pub writer: usize,
    pub read: AccessRef,
    pub write: AccessRef,
    pub kind: EdgeKind,
    /// Shared by the partners of one profile, whose edges differ only in their program.
    pub columns: Arc<[String]>,
    /// The read is locked and blocks this writer until the reader commits.
    pub read_locked: bool,
    /// The equalities the edge needs, the reader as instance 0 and the writer as 1 (shared
    /// like `columns`).
    pub unifier: Arc<Unifier>,
}

impl VulnerableEdge {
    /// The same edge with `from` replaced by `to` as reader or writer.
    pub fn with_program(&self, from: usize, to: usize) -> VulnerableEdge {
        let swap = |program: usize| if program == from { to } else { program };
        VulnerableEdge {
            reader: swap(self.reader),
            writer: swap(self.writer),
            ..self.clone()
        }
    }
}

/// The part of the static dependency graph around one pivot: the vulnerable edges into and
/// out of it, worked out partner by partner only as far as a rule looks. The graph is never
/// held whole: its edges grow with the pairs of programs, one pivot's neighbourhood does not.
pub struct DependencyGraph<'a> {
    pivot: usize,
    /// Each partner's edges with the pivot, in the partners' order (ascending), once worked
    /// out.
    edges: Vec<OnceCell<PartnerEdges>>,
    work: Box<dyn Fn(usize) -> PartnerEdges + 'a>,
    /// How many of `edges` are worked out.
    worked: Cell<usize>,
    /// Once every partner's edges are worked out: where each edge is, so that a rule that
    /// walks them again and again (once per edge of the other side) walks a list of edges,
    /// not every partner.
    listed: OnceCell<ListedEdges>,
}

/// Every edge of a pivot's partners as `(partner, index in its list)`, in the partners' order.
struct ListedEdges {
    incoming: Vec<(u32, u32)>,
    outgoing: Vec<(u32, u32)>,
}

/// The vulnerable edges between a pivot and one partner.
#[derive(Default)]
pub struct PartnerEdges {
    /// The partner reads, the pivot writes.
    pub incoming: Vec<VulnerableEdge>,
    /// The pivot reads, the partner writes.
    pub outgoing: Vec<VulnerableEdge>,
}

impl<'a> DependencyGraph<'a> {
    /// The neighbourhood of `pivot` among `partners` partners, whose edges `work(i)` gives
    /// for the i-th (ascending).
    pub fn around(
        pivot: usize,
        partners: usize,
        work: impl Fn(usize) -> PartnerEdges + 'a,
    ) -> DependencyGraph<'a> {
        DependencyGraph {
            pivot,
            edges: (0..partners).map(|_| OnceCell::new()).collect(),
            work: Box::new(work),
            worked: Cell::new(0),
            listed: OnceCell::new(),
        }
    }

    /// The programs whose neighbourhood the graph holds.
    pub fn pivots(&self) -> impl Iterator<Item = usize> + '_ {
        std::iter::once(self.pivot)
    }

    /// The edges of the `at`-th partner, worked out now if they were not.
    fn partner_edges(&self, at: usize) -> &PartnerEdges {
        self.edges[at].get_or_init(|| {
            self.worked.set(self.worked.get() + 1);
            (self.work)(at)
        })
    }

    /// The list of every edge, once every partner's edges are worked out.
    fn listed(&self) -> Option<&ListedEdges> {
        if self.worked.get() < self.edges.len() {
            return None;
        }
        Some(self.listed.get_or_init(|| {
            let list = |side: fn(&PartnerEdges) -> &Vec<VulnerableEdge>| -> Vec<(u32, u32)> {
                self.edges
                    .iter()
                    .enumerate()
                    .filter_map(|(at, edges)| Some((at, edges.get()?)))
                    .flat_map(|(at, edges)| {
                        (0..side(edges).len()).map(move |edge| (at as u32, edge as u32))
                    })
                    .collect()
            };
            ListedEdges {
                incoming: list(|edges| &edges.incoming),
                outgoing: list(|edges| &edges.outgoing),
            }
        }))
    }

    /// One side of every partner's edges with `program`, a pivot, in the partners' order:
    /// from the list once there is one, else partner by partner, working each out as the
    /// walk comes to it.
    fn side(
        &self,
        program: usize,
        side: fn(&PartnerEdges) -> &Vec<VulnerableEdge>,
        listed_side: fn(&ListedEdges) -> &Vec<(u32, u32)>,
    ) -> impl Iterator<Item = &VulnerableEdge> {
        let pivot = program == self.pivot;
        let listed = if pivot { self.listed() } else { None };
        let from_list = listed.map(|listed| {
            listed_side(listed).iter().filter_map(move |&(at, edge)| {
                let edges = self.edges[at as usize].get()?;
                side(edges).get(edge as usize)
            })
        });
        let walked = (pivot && listed.is_none())
            .then(|| (0..self.edges.len()).flat_map(move |at| side(self.partner_edges(at)).iter()));
        from_list
            .into_iter()
            .flatten()
            .chain(walked.into_iter().flatten())
    }

    /// The vulnerable edges whose writer is `program`, a pivot, ordered by reader.
    pub fn written_by(&self, program: usize) -> impl Iterator<Item = &VulnerableEdge> {
        self.side(program, |edges| &edges.incoming, |listed| &listed.incoming)
    }

    /// The vulnerable edges whose reader is `program`, a pivot, ordered by writer.
    pub fn read_by(&self, program: usize) -> impl Iterator<Item = &VulnerableEdge> {
        self.side(program, |edges| &edges.outgoing, |listed| &listed.outgoing)
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
            || serialized_running(
                (view.first, edge.read.statement, &[], Some(edge.read)),
                (view.second, edge.write.statement, &[], None),
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
        // A DELETE by a whole key is an edge a structure can refuse (it missed the row it
        // would have come in through): an edge to another write of the pair stands better.
        let key_delete = |write: AccessRef| {
            let access = view.second.access(write);
            matches!(access.kind, crate::access::AccessKind::Delete { .. })
                && access
                    .rows
                    .point_key(context.catalog.table(&access.table))
                    .is_some()
        };
        let earlier = chosen.iter().position(|(other, _)| *other == arms);
        let settled = |at: usize| {
            let earlier = &chosen[at].1;
            !earlier.read_locked && (!key_delete(earlier.write) || key_delete(edge.write))
        };
        if earlier.is_some_and(settled) {
            continue;
        }
        let read = view.first.access(edge.read);
        let vulnerable = VulnerableEdge {
            reader: view.first.index,
            writer: view.second.index,
            read: edge.read,
            write: edge.write,
            kind: edge.kind,
            columns: edge.columns.as_slice().into(),
            read_locked: super::cycles::read_blocks_writer(
                context,
                view.first.program,
                (edge.read.statement, read),
                edge.kind,
            ),
            unifier: Arc::new(edge.unifier.relabel(&[view.first.tag, view.second.tag])),
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
