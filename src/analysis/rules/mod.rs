//! The detectors: one file per rule beside this one, each paired with its rule here. What a
//! rule is (its id, page, severity) is the registry in `crate::rule`.

mod dangerous_structure;
mod dirty_read;
mod lost_update;
mod non_repeatable_read;
mod phantom_read;
mod phantom_write_skew;
mod read_skew;
mod write_skew;

use crate::rule::Rule;

use super::finding::Finding;
use super::graph::DependencyGraph;
use super::{Context, Pair};

#[derive(Clone, Copy)]
pub enum Detector {
    /// Looks at two instances of programs that share a table.
    Pair(fn(&Context, &Pair, &mut Vec<Finding>)),
    /// Looks at the whole dependency graph.
    Graph(fn(&Context, &DependencyGraph, &mut Vec<Finding>)),
}

/// The detector of each rule. The match is exhaustive, so a rule without a detector does not
/// compile.
pub fn detector(rule: Rule) -> Detector {
    match rule {
        Rule::LostUpdate => Detector::Pair(lost_update::detect),
        Rule::WriteSkew => Detector::Pair(write_skew::detect),
        Rule::PhantomWriteSkew => Detector::Pair(phantom_write_skew::detect),
        Rule::DangerousStructure => Detector::Graph(dangerous_structure::detect),
        Rule::ReadSkew => Detector::Pair(read_skew::detect),
        Rule::DirtyRead => Detector::Pair(dirty_read::detect),
        Rule::NonRepeatableRead => Detector::Pair(non_repeatable_read::detect),
        Rule::PhantomRead => Detector::Pair(phantom_read::detect),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// "Where is write skew decided" is answered by a file name: `write_skew.rs`.
    #[test]
    fn every_rule_has_a_detector_file_named_after_it() {
        let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/analysis/rules");
        for rule in Rule::ALL {
            let file = folder.join(format!("{}.rs", rule.id().replace('-', "_")));
            assert!(file.is_file(), "{rule:?} has no {}", file.display());
        }
    }
}
