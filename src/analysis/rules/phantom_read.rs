//! `phantom-read` (P3, opt-in): a transaction runs the same predicate read twice and another
//! transaction inserts (or moves in) a matching row in between.

use super::non_repeatable_read::repeated_read_findings;
use crate::analysis::conflict::EdgeKind;
use crate::analysis::finding::Finding;
use crate::analysis::rules::Rule;
use crate::analysis::{Context, Pair};

pub fn detect(context: &Context, pair: &Pair, findings: &mut Vec<Finding>) {
    repeated_read_findings(
        context,
        pair,
        Rule::PhantomRead,
        EdgeKind::Phantom,
        findings,
    );
}
