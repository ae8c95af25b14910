//! Findings: the data a rule produces. Rendering is `report`'s business.

use crate::analysis::unify::Unifier;
use crate::rule::Rule;

/// A statement of a program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StatementRef {
    pub program: usize,
    pub statement: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Statement(usize),
    Commit,
    Rollback,
}

/// One step of the interleaving that produces the anomaly: which transaction instance
/// (T1 = 0, T2 = 1, T3 = 2) does what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WitnessStep {
    pub instance: usize,
    pub step: Step,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fix {
    pub title: String,
    /// The change, when it is mechanical enough for an editor to make it.
    pub edit: Option<FixEdit>,
}

/// A mechanical fix, in terms of the analysis; the language server turns it into text edits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FixEdit {
    /// Append one of `clauses` (the engine's spellings, the strongest first) to the statement
    /// holding `read`, and, when `in_every_program`, to the unlocked reads of its table in the
    /// other programs of the finding too.
    LockRead {
        /// Shared: findings are cloned each time a check reuses them.
        read: std::sync::Arc<crate::access::Access>,
        clauses: &'static [&'static str],
        in_every_program: bool,
    },
    /// Declare this level on the transactions of the finding that run below it.
    SetIsolation(crate::semantics::Level),
    /// Assign `column` of `table` from its current value (`SET c = c + ...`) where the write
    /// assigns it a parameter.
    InPlaceUpdate { table: String, column: String },
}

#[derive(Debug, Clone)]
pub struct Finding {
    pub rule: Rule,
    pub message: String,
    /// Programs involved, each once, in the rule's order.
    pub programs: Vec<usize>,
    /// The program of each transaction instance in the witness.
    pub instances: Vec<usize>,
    /// The statement at fault.
    pub primary: StatementRef,
    /// The other statements involved, each with what it does in the anomaly.
    pub related: Vec<(StatementRef, String)>,
    pub witness: Vec<WitnessStep>,
    /// The equalities between the instances' parameters that the anomaly needs (instance `i`
    /// as in `witness`): `$1` of T1 = `$1` of T2 for the same shift, say. Parameters not
    /// named here are independent.
    pub bindings: Unifier,
    pub fixes: Vec<Fix>,
    /// Why the declared level lets it through on this engine.
    pub why: String,
    /// The other programs whose statements play the partner's part exactly as the witness's
    /// partner does (the same statements up to literals and parameters): each the statement
    /// of its own that stands where the witness's partner statement does. The finding stands
    /// for one pair per partner.
    pub partners: Vec<StatementRef>,
    /// Where the finding is less severe than its rule: a dangerous structure whose Tin only
    /// reads shows its caller a state no serial order gives but stores none, and is a warning
    /// as a read skew is. `None` keeps the rule's severity.
    pub severity: Option<crate::rule::Severity>,
}

impl Finding {
    /// Every statement the finding involves, the primary first.
    pub fn statements(&self) -> impl Iterator<Item = StatementRef> + '_ {
        std::iter::once(self.primary).chain(self.related.iter().map(|(at, _)| *at))
    }

    /// The programs of each pair the finding stands for: its own, then the program at fault
    /// with each partner.
    pub fn program_sets(&self) -> impl Iterator<Item = Vec<usize>> + '_ {
        std::iter::once(self.programs.clone()).chain(
            self.partners
                .iter()
                .map(|partner| vec![self.primary.program, partner.program]),
        )
    }

    /// The same finding with every program index replaced by `map(index)`.
    pub fn map_programs(mut self, map: impl Fn(usize) -> usize) -> Finding {
        for program in self.programs.iter_mut().chain(&mut self.instances) {
            *program = map(*program);
        }
        self.primary.program = map(self.primary.program);
        for at in self
            .related
            .iter_mut()
            .map(|(at, _)| at)
            .chain(&mut self.partners)
        {
            at.program = map(at.program);
        }
        self
    }
}

/// Builds a witness from `(instance, step)` pairs. A transaction runs its statements once and
/// in order: a step at or before a statement the instance already ran is dropped (a
/// one-statement transaction whose read and write are the same statement shows it once), and
/// a statement the pairs name later but that comes earlier in the program runs first (an
/// AFTER trigger's read follows the write that fires it).
pub fn witness(steps: &[(usize, Step)]) -> Vec<WitnessStep> {
    let mut named: std::collections::BTreeMap<usize, std::collections::BTreeSet<usize>> =
        Default::default();
    for (instance, step) in steps {
        if let Step::Statement(statement) = step {
            named.entry(*instance).or_default().insert(*statement);
        }
    }
    let mut ran: std::collections::BTreeMap<usize, usize> = Default::default();
    let mut witness = Vec::new();
    for (instance, step) in steps {
        let Step::Statement(statement) = step else {
            witness.push(WitnessStep {
                instance: *instance,
                step: *step,
            });
            continue;
        };
        let last = ran.get(instance).copied();
        if last.is_some_and(|last| *statement <= last) {
            continue;
        }
        let earlier = named[instance]
            .range(..*statement)
            .filter(|earlier| last.is_none_or(|last| **earlier > last));
        for run in earlier.chain(std::iter::once(statement)) {
            witness.push(WitnessStep {
                instance: *instance,
                step: Step::Statement(*run),
            });
        }
        ran.insert(*instance, *statement);
    }
    witness
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_earlier_statement_named_later_runs_first() {
        let steps = witness(&[
            (0, Step::Statement(1)),
            (1, Step::Statement(1)),
            (0, Step::Statement(0)),
            (1, Step::Statement(0)),
            (0, Step::Commit),
            (1, Step::Commit),
        ]);
        let shown: Vec<(usize, Step)> = steps.iter().map(|s| (s.instance, s.step)).collect();
        assert_eq!(
            shown,
            vec![
                (0, Step::Statement(0)),
                (0, Step::Statement(1)),
                (1, Step::Statement(0)),
                (1, Step::Statement(1)),
                (0, Step::Commit),
                (1, Step::Commit),
            ]
        );
    }

    #[test]
    fn a_statement_runs_once_per_instance() {
        let steps = witness(&[
            (0, Step::Statement(0)),
            (1, Step::Statement(0)),
            (0, Step::Statement(0)),
            (1, Step::Statement(0)),
            (0, Step::Statement(1)),
            (0, Step::Commit),
            (1, Step::Commit),
        ]);
        let shown: Vec<(usize, Step)> = steps.iter().map(|s| (s.instance, s.step)).collect();
        assert_eq!(
            shown,
            vec![
                (0, Step::Statement(0)),
                (1, Step::Statement(0)),
                (0, Step::Statement(1)),
                (0, Step::Commit),
                (1, Step::Commit),
            ]
        );
    }
}
