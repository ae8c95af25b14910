//! `phantom-write-skew` (G2): as write skew, but one side of the cycle is a row appearing in
//! the other's predicate (an INSERT, or an UPDATE moving a row in). Unique and exclusion
//! constraints can force the conflict; locked reads help only where they lock gaps.

use crate::analysis::cycles::{cycle_finding, open_cycles};
use crate::analysis::finding::Finding;
use crate::analysis::rules::Rule;
use crate::analysis::{Context, Pair};

pub fn detect(context: &Context, pair: &Pair, findings: &mut Vec<Finding>) {
    let levels = [pair.first.program.level, pair.second.program.level];
    if !context.permits(&levels, Rule::PhantomWriteSkew) {
        return;
    }
    if let Some(cycle) = open_cycles(context, pair)
        .iter()
        .find(|cycle| cycle.has_phantom_edge())
    {
        findings.push(cycle_finding(context, pair, cycle, Rule::PhantomWriteSkew));
    }
}
