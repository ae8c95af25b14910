//! `write-skew` (G2-item): T1 and T2 each read existing rows the other then updates or
//! deletes, with no forced conflict between them, and both commit.

use crate::analysis::cycles::{cycle_finding, open_cycles};
use crate::analysis::finding::Finding;
use crate::analysis::rules::Rule;
use crate::analysis::{Context, Pair};

pub fn detect(context: &Context, pair: &Pair, findings: &mut Vec<Finding>) {
    let levels = [pair.first.program.level, pair.second.program.level];
    if !context.permits(&levels, Rule::WriteSkew) {
        return;
    }
    if let Some(cycle) = open_cycles(context, pair)
        .iter()
        .find(|cycle| !cycle.has_phantom_edge())
    {
        findings.push(cycle_finding(context, pair, cycle, Rule::WriteSkew));
    }
}
