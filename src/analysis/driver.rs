//! Runs the rules one program at a time. For each program, its partners after it (the
//! programs it can meet, [`PairIndex`]) are grouped by shape ([`Shapes`]: what the rules read
//! of a partner, seen from this program); the pair rules are decided once per group, on the
//! group's first partner, and the outcome stands for every partner of the group, its statements
//! moved to theirs. What is kept of each finding is its sort key and its pair, gathered by the
//! program at fault and folded into root causes there; only the finding kept for a root cause
//! is built again, from its own pair. A second pass looks at the edges of the dependency graph
//! around each program as a pivot, with its partners grouped the same way, working out a
//! partner's edges only when the rules come to them.
//!
//! With a focus (the language server's first answer after an edit), only the findings at
//! fault in the programs of the focus are made: each of them is paired with every partner,
//! before or after it, and searched as a pivot; nothing else is decided.
//!
//! Architecture Invariant: the findings are exactly those of deciding every pair on its own:
//! a group only saves work (see `shapes`). An outcome that names a statement of the decided
//! partner outside its shape is not moved; the partner it would stand for is decided apart.

use std::cell::{Cell, OnceCell};
use std::collections::BTreeSet;

use rayon::prelude::*;

use super::conflict::NumberedAccesses;
use super::finding::Finding;
use super::folding::Candidate;
use super::graph::{DependencyGraph, PartnerEdges, VulnerableEdge, representative_edges};
use super::pairing::{PairIndex, PartnerScratch};
use super::shapes::{Shape, ShapeScratch, Shapes};
use super::{Context, Pair, folding, rules, silencers};
use crate::progress::{Progress, Stage};

/// Programs analysed between two reports of progress, and between two merges of what they
/// found into the graph's connected parts.
const CHUNK: usize = 256;

/// What the driver found.
pub(super) struct DriverOutcome {
    /// The root causes of the pair rules and the findings of the graph rules, unsorted.
    pub findings: Vec<Finding>,
    pub used_ignores: BTreeSet<(usize, usize, String)>,
    /// Pairs of programs (a program with itself included) that can meet.
    pub pairs: usize,
    /// Times the pair rules were run on a pair (each stands for a group of pairs).
    pub decisions: usize,
}

/// Per-thread space.
#[derive(Default)]
struct Scratch {
    partners: PartnerScratch,
    shapes: ShapeScratch,
    /// By shape id and side (`2 * id + side`): `(stamp, group)` when the program being grouped
    /// (`stamp`) has a group of partners of that shape, at index `group`.
    group_of: Vec<(u32, u32)>,
    stamp: u32,
}

/// One partner of a program: its index and its shape (`None` when it is its own).
struct Member {
    program: usize,
    shape: Option<Shape>,
}

/// A program's partners with one shape ([`Shapes`]), ascending; the first stands for the
/// others.
struct Group<'p> {
    members: &'p [Member],
}

impl Group<'_> {
    fn representative(&self) -> &Member {
        &self.members[0]
    }
}

/// The pairs a program belongs to, grouped by shape.
struct Partners {
    /// The program meets another instance of itself.
    itself: bool,
    /// Every partner, group after group: group `i` is `members[starts[i]..starts[i + 1]]`.
    /// One list rather than one per group: a program has thousands of groups.
    members: Vec<Member>,
    starts: Vec<u32>,
    count: usize,
}

impl Partners {
    fn group_count(&self) -> usize {
        self.starts.len().saturating_sub(1)
    }

    fn group(&self, at: usize) -> Group<'_> {
        Group {
            members: &self.members[self.starts[at] as usize..self.starts[at + 1] as usize],
        }
    }

    fn groups(&self) -> impl Iterator<Item = Group<'_>> {
        (0..self.group_count()).map(|at| self.group(at))
    }
}

struct Inputs<'c> {
    index: PairIndex,
    shapes: Shapes,
    numbered: NumberedAccesses<'c>,
}

impl Inputs<'_> {
    /// `program`'s partners, grouped by shape and side (the rules see the pair's first
    /// program first); only those after it when `after_only`.
    fn partners(&self, program: usize, after_only: bool, scratch: &mut Scratch) -> Partners {
        let first = if after_only { program } else { 0 };
        let all = self
            .index
            .partners_from(program, first, &mut scratch.partners);
        self.shapes.focus(program, &mut scratch.shapes);
        let mut itself = false;
        // Each partner with its group, and the size of each group, then the partners laid out
        // group after group (in the order they came within each).
        let mut grouped: Vec<(Member, u32)> = Vec::with_capacity(all.len());
        let mut sizes: Vec<u32> = Vec::new();
        let slots = 2 * self.shapes.count();
        if scratch.group_of.len() < slots {
            scratch.group_of.resize(slots, (0, 0));
        }
        scratch.stamp = scratch.stamp.wrapping_add(1);
        if scratch.stamp == 0 {
            scratch.group_of.iter_mut().for_each(|slot| *slot = (0, 0));
            scratch.stamp = 1;
        }
        let stamp = scratch.stamp;
        for &partner in &all {
            if partner == program {
                itself = true;
                continue;
            }
            let shape = self.shapes.shape(partner, &scratch.shapes);
            let member = Member {
                program: partner,
                shape,
            };
            let slot = shape.map(|shape| 2 * shape.id as usize + usize::from(partner > program));
            let group = match slot {
                Some(slot) if scratch.group_of[slot].0 == stamp => scratch.group_of[slot].1,
                _ => {
                    let group = u32::try_from(sizes.len()).unwrap_or(u32::MAX);
                    if let Some(slot) = slot {
                        scratch.group_of[slot] = (stamp, group);
                    }
                    sizes.push(0);
                    group
                }
            };
            sizes[group as usize] += 1;
            grouped.push((member, group));
        }
        let mut starts = Vec::with_capacity(sizes.len() + 1);
        let mut next = 0u32;
        starts.push(0);
        for size in &sizes {
            next += size;
            starts.push(next);
        }
        // Stable: within a group, partners stay in the order they came (ascending).
        grouped.sort_by_key(|(_, group)| *group);
        Partners {
            itself,
            members: grouped.into_iter().map(|(member, _)| member).collect(),
            starts,
            count: all.len(),
        }
    }

    /// `from`'s statement `statement` as `to`'s, `from` and `to` of one group: the i-th
    /// statement one shape keeps is the i-th the other keeps. `None` for a statement the
    /// shape does not keep.
    fn statement(&self, from: &Member, to: &Member, statement: usize) -> Option<usize> {
        let (from_shape, to_shape) = (from.shape?, to.shape?);
        let at = self
            .shapes
            .kept(from.program, from_shape)
            .position(|kept| kept == statement)?;
        self.shapes.kept(to.program, to_shape).nth(at)
    }
}

/// The pair `(program, partner)` in index order, as the rules see it.
fn ordered(program: usize, partner: usize) -> (usize, usize) {
    (program.min(partner), program.max(partner))
}

/// Runs the pair rules among `detectors` on every pair and the graph rules around every
/// pivot; with `focus`, only for the findings at fault in the programs it marks.
pub(super) fn run(
    context: &Context,
    detectors: &[rules::Detector],
    focus: Option<&[bool]>,
    progress: &dyn Progress,
) -> DriverOutcome {
    let count = context.programs.len();
    let in_focus = |program: usize| focus.is_none_or(|focus| focus.get(program) == Some(&true));
    let programs: Vec<usize> = (0..count).filter(|&program| in_focus(program)).collect();
    let index = PairIndex::new(context.programs);
    // With a focus, only its programs and their partners are ever paired, and each partner
    // is decided on its own: for a few programs, making every partner's shapes costs more
    // than the decisions they save.
    let (shapes, numbered) = match focus {
        None => (
            Shapes::new(context),
            NumberedAccesses::new(context.programs, None),
        ),
        Some(_) => {
            let mut paired = vec![false; count];
            let mut scratch = PartnerScratch::default();
            for &program in &programs {
                paired[program] = true;
                for partner in index.partners_from(program, 0, &mut scratch) {
                    paired[partner] = true;
                }
            }
            (
                Shapes::none(count),
                NumberedAccesses::new(context.programs, Some(&paired)),
            )
        }
    };
    let inputs = Inputs {
        index,
        shapes,
        numbered,
    };
    let pair_rules: Vec<rules::Detector> = detectors
        .iter()
        .copied()
        .filter(|detector| matches!(detector, rules::Detector::Pair(_)))
        .collect();
    let graph_rules: Vec<rules::Detector> = detectors
        .iter()
        .copied()
        .filter(|detector| matches!(detector, rules::Detector::Graph(_)))
        .collect();
    let stages = usize::from(!pair_rules.is_empty()) + usize::from(!graph_rules.is_empty());
    progress.start(Stage::Analyse, stages * programs.len());
    let mut candidates: Vec<Vec<Candidate>> = (0..count).map(|_| Vec::new()).collect();
    let mut used_ignores = BTreeSet::new();
    let (mut pairs, mut decisions) = (0, 0);
    // Without a focus each pair is decided once, from its first program; with one, every
    // pair of a program in focus is, and only what is at fault in that program is kept.
    let after_only = focus.is_none();
    for chunk in programs.chunks(CHUNK) {
        if pair_rules.is_empty() || progress.cancelled() {
            break;
        }
        let outcomes: Vec<ProgramOutcome> = chunk
            .par_iter()
            .map_init(Scratch::default, |scratch, &program| {
                let partners = inputs.partners(program, after_only, scratch);
                pair_outcome(context, &inputs, &pair_rules, program, &partners)
            })
            .collect();
        progress.advance(chunk.len());
        for (&program, outcome) in chunk.iter().zip(outcomes) {
            for candidate in outcome.candidates {
                let at_fault = candidate.key.4[0].0;
                if after_only || at_fault == program {
                    candidates[at_fault].push(candidate);
                }
            }
            used_ignores.extend(outcome.used_ignores);
            pairs += outcome.pairs;
            decisions += outcome.decisions;
        }
    }
    let mut findings: Vec<Finding> = candidates
        .into_par_iter()
        .enumerate()
        .flat_map_iter(|(program, candidates)| {
            folding::fold_program(
                program,
                candidates,
                |(first, second)| {
                    compare(context, Some(&inputs.numbered), &pair_rules, first, second)
                },
                context,
            )
        })
        .collect();
    if !graph_rules.is_empty() {
        for chunk in programs.chunks(CHUNK) {
            if progress.cancelled() {
                break;
            }
            let found: Vec<Vec<Finding>> = chunk
                .par_iter()
                .map_init(Scratch::default, |scratch, &pivot| {
                    if !could_be_pivot(context, pivot) {
                        return Vec::new();
                    }
                    let partners = inputs.partners(pivot, false, scratch);
                    structures_around(context, &inputs, &graph_rules, pivot, &partners)
                })
                .collect();
            progress.advance(chunk.len());
            findings.extend(found.into_iter().flatten());
        }
    }
    DriverOutcome {
        findings,
        used_ignores,
        pairs,
        decisions,
    }
}

/// What the pair rules give one program.
struct ProgramOutcome {
    /// The findings of its pairs with its partners (itself included) that no ignore silences.
    candidates: Vec<Candidate>,
    used_ignores: Vec<(usize, usize, String)>,
    pairs: usize,
    decisions: usize,
}

/// What the pair rules say of one pair: its findings, after the pair's own folding.
pub(super) fn compare(
    context: &Context,
    numbered: Option<&NumberedAccesses>,
    detectors: &[rules::Detector],
    first: usize,
    second: usize,
) -> Vec<Finding> {
    let pair = Pair::with_accesses(context, numbered, first, second);
    let mut findings = Vec::new();
    for detector in detectors {
        if let rules::Detector::Pair(detect) = *detector {
            detect(context, &pair, &mut findings);
        }
    }
    folding::fold_root_causes(&mut findings, |finding| {
        !silencers(context, finding).is_empty()
    });
    findings
}

/// The findings of `program`'s pairs with its `partners`.
fn pair_outcome(
    context: &Context,
    inputs: &Inputs,
    detectors: &[rules::Detector],
    program: usize,
    partners: &Partners,
) -> ProgramOutcome {
    let mut candidates = Vec::new();
    let mut used_ignores = Vec::new();
    let mut decisions = 0;
    // The findings that no ignore silences.
    let keep = |findings: Vec<Finding>, used_ignores: &mut Vec<_>| -> Vec<Finding> {
        findings
            .into_iter()
            .filter(|finding| {
                let silencers = silencers(context, finding);
                let silenced = !silencers.is_empty();
                used_ignores.extend(silencers);
                !silenced
            })
            .collect()
    };
    // The rules see a pair in index order.
    let decide = |partner: usize| {
        let (first, second) = ordered(program, partner);
        compare(context, Some(&inputs.numbered), detectors, first, second)
    };
    if partners.itself {
        let findings = decide(program);
        decisions += 1;
        candidates.extend(
            keep(findings, &mut used_ignores)
                .iter()
                .map(|finding| Candidate::of(context, finding, (program, program))),
        );
    }
    for group in partners.groups() {
        let representative = group.representative();
        let findings = decide(representative.program);
        decisions += 1;
        let findings = keep(findings, &mut used_ignores);
        // The members of a group are on one side of the program, so their pairs keep the
        // representative's order.
        let pair = ordered(program, representative.program);
        candidates.extend(
            findings
                .iter()
                .map(|finding| Candidate::of(context, finding, pair)),
        );
        if findings.is_empty() {
            continue;
        }
        for member in &group.members[1..] {
            let moved: Option<Vec<Candidate>> = findings
                .iter()
                .map(|finding| {
                    Candidate::moved(
                        context,
                        finding,
                        pair,
                        (representative.program, member.program),
                        |statement| inputs.statement(representative, member, statement),
                    )
                })
                .collect();
            match moved {
                Some(moved) => candidates.extend(moved),
                None => {
                    // A finding names a statement outside the shape: decide this pair apart.
                    let findings = decide(member.program);
                    decisions += 1;
                    let pair = ordered(program, member.program);
                    candidates.extend(
                        keep(findings, &mut used_ignores)
                            .iter()
                            .map(|finding| Candidate::of(context, finding, pair)),
                    );
                }
            }
        }
    }
    ProgramOutcome {
        candidates,
        used_ignores,
        pairs: partners.count,
        decisions,
    }
}

/// Whether `program` can be the pivot of a dangerous structure: it writes, and it reads (a
/// DELETE's WHERE reads for phantoms).
fn could_be_pivot(context: &Context, program: usize) -> bool {
    let accesses = || {
        context.programs[program]
            .statements
            .iter()
            .flat_map(|statement| &statement.accesses)
    };
    accesses().any(|access| access.is_write())
        && accesses().any(|access| {
            access.is_read() || matches!(access.kind, crate::access::AccessKind::Delete { .. })
        })
}

/// The vulnerable edges into `pivot` (its partner reads, it writes) and out of it (it reads,
/// its partner writes) of the pair with `partner`.
fn edges(
    context: &Context,
    numbered: &NumberedAccesses,
    pivot: usize,
    partner: usize,
) -> PartnerEdges {
    let (first, second) = ordered(pivot, partner);
    let pair = Pair::with_accesses(context, Some(numbered), first, second);
    let flipped = pair.flipped();
    // A view's first instance reads: into the pivot, the partner reads.
    let (into, out_of) = if pivot == first {
        (&flipped, &pair)
    } else {
        (&pair, &flipped)
    };
    PartnerEdges {
        incoming: representative_edges(context, into),
        outgoing: representative_edges(context, out_of),
    }
}

/// `edge` of the pair of the pivot and `from`, for the partner `to` of the same shape: its
/// program, its statement in the partner and the partner's parameters moved to `to`'s. `None`
/// when the edge names a statement of `from` outside the shape.
fn moved_edge(
    inputs: &Inputs,
    edge: &VulnerableEdge,
    from: &Member,
    to: &Member,
) -> Option<VulnerableEdge> {
    let (from_shape, to_shape) = (from.shape?, to.shape?);
    let mut moved = edge.with_program(from.program, to.program);
    // The partner's side of the edge: it reads (instance 0 of the unifier) or it writes (1).
    let (instance, at) = if edge.reader == from.program {
        (0, &mut moved.read)
    } else {
        (1, &mut moved.write)
    };
    at.statement = inputs.statement(from, to, at.statement)?;
    // A handful of names: a list searched from its end (a later name wins, as in a map
    // collected from it) costs less than hashing them.
    let names: Vec<(&str, &str)> = inputs
        .shapes
        .parameters(from.program, from_shape)
        .zip(inputs.shapes.parameters(to.program, to_shape))
        .collect();
    // A parameter the shape does not number is not the partner's to rename.
    let unnamed = Cell::new(false);
    moved.unifier = std::sync::Arc::new(edge.unifier.rename(instance, |name| {
        let renamed = names
            .iter()
            .rev()
            .find(|(from, _)| *from == name)
            .map(|(_, to)| to.to_string());
        unnamed.set(unnamed.get() || renamed.is_none());
        renamed
    }));
    (!unnamed.get()).then_some(moved)
}

/// The graph rules' findings with `pivot` as the pivot. A partner's edges are worked out only
/// when a rule comes to them, on the first partner of its group, and moved to the others.
fn structures_around(
    context: &Context,
    inputs: &Inputs,
    detectors: &[rules::Detector],
    pivot: usize,
    partners: &Partners,
) -> Vec<Finding> {
    let mut order: Vec<(usize, usize, usize)> = partners
        .groups()
        .enumerate()
        .flat_map(|(group, members)| {
            members
                .members
                .iter()
                .enumerate()
                .map(move |(at, member)| (member.program, group, at))
        })
        .collect();
    if order.is_empty() {
        return Vec::new();
    }
    // The graph orders a pivot's edges by the program at their other end.
    order.sort_unstable();
    let decided: Vec<OnceCell<PartnerEdges>> = (0..partners.group_count())
        .map(|_| OnceCell::new())
        .collect();
    let work = |at: usize| -> PartnerEdges {
        let (program, group_index, member) = order[at];
        let group = partners.group(group_index);
        let representative = group.representative();
        let found = decided[group_index]
            .get_or_init(|| edges(context, &inputs.numbered, pivot, representative.program));
        if member == 0 {
            return PartnerEdges {
                incoming: found.incoming.clone(),
                outgoing: found.outgoing.clone(),
            };
        }
        let member = &group.members[member];
        let moved = |edges: &[VulnerableEdge]| -> Option<Vec<VulnerableEdge>> {
            edges
                .iter()
                .map(|edge| moved_edge(inputs, edge, representative, member))
                .collect()
        };
        match (moved(&found.incoming), moved(&found.outgoing)) {
            (Some(incoming), Some(outgoing)) => PartnerEdges { incoming, outgoing },
            // An edge names a statement outside the shape: work this partner out apart.
            _ => edges(context, &inputs.numbered, pivot, program),
        }
    };
    let graph = DependencyGraph::around(pivot, order.len(), work);
    let mut findings = Vec::new();
    for detector in detectors {
        if let rules::Detector::Graph(detect) = detector {
            detect(context, &graph, &mut findings);
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use crate::progress::{Progress, Stage};
    use crate::semantics::Engine;

    /// A check no longer wanted from its start.
    struct Unwanted;

    impl Progress for Unwanted {
        fn start(&self, _: Stage, _: usize) {}
        fn advance(&self, _: usize) {}
        fn cancelled(&self) -> bool {
            true
        }
    }

    /// A cancelled check stops before deciding any pair, where a wanted one finds the race.
    #[test]
    fn a_cancelled_analysis_decides_nothing() {
        let transactions = "BEGIN; SELECT balance FROM accounts WHERE id = $1;
            UPDATE accounts SET balance = $2 WHERE id = $1; COMMIT;";
        let (result, _) = crate::analysis::testing::check(
            Engine::Postgres,
            &[],
            None,
            ACCOUNTS,
            transactions,
            &[],
        );
        let context = crate::analysis::Context {
            programs: &result.programs,
            catalog: &result.catalog,
            semantics: result.semantics,
            engine: result.engine,
        };
        let rules = crate::rule::Rule::ALL.into_iter().collect();
        let wanted = crate::analysis::analyse_with_progress(
            &context,
            &rules,
            None,
            &crate::progress::Silent,
        );
        assert_eq!(wanted.findings.len(), 1);
        let unwanted = crate::analysis::analyse_with_progress(&context, &rules, None, &Unwanted);
        assert_eq!((unwanted.decisions, unwanted.findings.len()), (0, 0));
    }

    const ACCOUNTS: &str = "CREATE TABLE accounts (id int PRIMARY KEY, balance int);";

    /// Instances of one template are decided once, and each still stands for itself: as a
    /// partner, and at fault in a finding that names it.
    #[test]
    fn instances_of_one_template_are_partners_each_named_in_their_own_findings() {
        let deposit = |name: &str, parameter: &str| {
            format!(
                "-- name: {name}\nBEGIN; SELECT balance FROM accounts WHERE id = {parameter};\n\
                 UPDATE accounts SET balance = $9 WHERE id = {parameter}; COMMIT;\n"
            )
        };
        let transactions = [
            deposit("withdraw", "$1"),
            deposit("deposit_a", "$2"),
            deposit("deposit_b", "$3"),
            deposit("deposit_c", "$2"),
        ]
        .concat();
        let (result, _) = crate::analysis::testing::check(
            Engine::Postgres,
            &[],
            None,
            ACCOUNTS,
            &transactions,
            &[],
        );
        let name = |program: usize| result.programs[program].name.as_str();
        let found: Vec<(String, Vec<&str>)> = result
            .findings
            .iter()
            .map(|finding| {
                (
                    finding.message.clone(),
                    finding.partners.iter().map(|at| name(at.program)).collect(),
                )
            })
            .collect();
        assert_eq!(found.len(), 4, "{found:#?}");
        for (at, program) in ["withdraw", "deposit_a", "deposit_b", "deposit_c"]
            .into_iter()
            .enumerate()
        {
            let (message, partners) = &found[at];
            assert!(
                message.starts_with(&format!("lost update: `{program}` reads")),
                "{message}"
            );
            let others: Vec<&str> = ["withdraw", "deposit_a", "deposit_b", "deposit_c"]
                .into_iter()
                .filter(|other| *other != program)
                .collect();
            assert_eq!(partners, &others);
        }
    }
}
