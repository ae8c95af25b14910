//! The rule registry: one row per rule, from which the CLI, the docs and the reports derive
//! everything they know about rules. A rule is one file beside this one; its user
//! documentation is `rules/<id>.md`, whose front matter gives its severity and default.

mod dangerous_structure;
mod dirty_read;
mod lost_update;
mod non_repeatable_read;
mod phantom_read;
mod phantom_write_skew;
mod read_skew;
mod write_skew;

use std::fmt;

use super::finding::Finding;
use super::graph::DependencyGraph;
use super::{Context, Pair};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    LostUpdate,
    WriteSkew,
    PhantomWriteSkew,
    DangerousStructure,
    ReadSkew,
    DirtyRead,
    NonRepeatableRead,
    PhantomRead,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Warning,
    Error,
}

impl Severity {
    pub fn id(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

pub enum Detector {
    /// Looks at two instances of programs that share a table.
    Pair(fn(&Context, &Pair, &mut Vec<Finding>)),
    /// Looks at the whole dependency graph.
    Graph(fn(&Context, &DependencyGraph, &mut Vec<Finding>)),
}

pub struct RuleSpec {
    pub rule: Rule,
    pub id: &'static str,
    pub doc: &'static str,
    pub detector: Detector,
}

/// The registry. Adding a rule: a variant above, a row here, a file beside this one and a page
/// in `rules/`.
pub static REGISTRY: &[RuleSpec] = &[
    RuleSpec {
        rule: Rule::LostUpdate,
        id: "lost-update",
        doc: include_str!("../../../rules/lost-update.md"),
        detector: Detector::Pair(lost_update::detect),
    },
    RuleSpec {
        rule: Rule::WriteSkew,
        id: "write-skew",
        doc: include_str!("../../../rules/write-skew.md"),
        detector: Detector::Pair(write_skew::detect),
    },
    RuleSpec {
        rule: Rule::PhantomWriteSkew,
        id: "phantom-write-skew",
        doc: include_str!("../../../rules/phantom-write-skew.md"),
        detector: Detector::Pair(phantom_write_skew::detect),
    },
    RuleSpec {
        rule: Rule::DangerousStructure,
        id: "dangerous-structure",
        doc: include_str!("../../../rules/dangerous-structure.md"),
        detector: Detector::Graph(dangerous_structure::detect),
    },
    RuleSpec {
        rule: Rule::ReadSkew,
        id: "read-skew",
        doc: include_str!("../../../rules/read-skew.md"),
        detector: Detector::Pair(read_skew::detect),
    },
    RuleSpec {
        rule: Rule::DirtyRead,
        id: "dirty-read",
        doc: include_str!("../../../rules/dirty-read.md"),
        detector: Detector::Pair(dirty_read::detect),
    },
    RuleSpec {
        rule: Rule::NonRepeatableRead,
        id: "non-repeatable-read",
        doc: include_str!("../../../rules/non-repeatable-read.md"),
        detector: Detector::Pair(non_repeatable_read::detect),
    },
    RuleSpec {
        rule: Rule::PhantomRead,
        id: "phantom-read",
        doc: include_str!("../../../rules/phantom-read.md"),
        detector: Detector::Pair(phantom_read::detect),
    },
];

impl Rule {
    pub const ALL: [Rule; 8] = [
        Rule::LostUpdate,
        Rule::WriteSkew,
        Rule::PhantomWriteSkew,
        Rule::DangerousStructure,
        Rule::ReadSkew,
        Rule::DirtyRead,
        Rule::NonRepeatableRead,
        Rule::PhantomRead,
    ];

    pub fn spec(self) -> &'static RuleSpec {
        // Invariant: a unit test checks that every rule has exactly one registry row.
        REGISTRY
            .iter()
            .find(|spec| spec.rule == self)
            .expect("every rule is registered")
    }

    pub fn id(self) -> &'static str {
        self.spec().id
    }

    pub fn from_id(id: &str) -> Option<Rule> {
        REGISTRY
            .iter()
            .find(|spec| spec.id.eq_ignore_ascii_case(id.trim()))
            .map(|spec| spec.rule)
    }

    /// The rule's page, read once (severity is asked for every finding).
    pub fn doc(self) -> &'static RuleDoc {
        static DOCS: std::sync::OnceLock<Vec<(Rule, RuleDoc)>> = std::sync::OnceLock::new();
        let docs = DOCS.get_or_init(|| {
            REGISTRY
                .iter()
                .map(|spec| (spec.rule, RuleDoc::parse(spec.doc)))
                .collect()
        });
        // Invariant: `docs` has a row for every registered rule, as `spec` requires.
        &docs
            .iter()
            .find(|(rule, _)| *rule == self)
            .expect("every rule is registered")
            .1
    }

    pub fn severity(self) -> Severity {
        self.doc().severity
    }

    pub fn enabled_by_default(self) -> bool {
        self.doc().default_on
    }

    /// Where the rule's page (`rules/<id>.md`) is published.
    pub fn page_url(self) -> String {
        format!(
            "https://github.com/isolint/isolint/blob/main/rules/{}.md",
            self.id()
        )
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// A rule page: front matter (`key: value` lines between `---`) and the Markdown body.
#[derive(Debug, Clone)]
pub struct RuleDoc {
    pub id: String,
    pub severity: Severity,
    pub adya: String,
    pub default_on: bool,
    pub summary: String,
    pub body: &'static str,
}

impl RuleDoc {
    pub fn parse(text: &'static str) -> RuleDoc {
        let mut doc = RuleDoc {
            id: String::new(),
            severity: Severity::Error,
            adya: String::new(),
            default_on: true,
            summary: String::new(),
            body: text,
        };
        let Some(rest) = text.strip_prefix("---\n") else {
            return doc;
        };
        let Some((front, body)) = rest.split_once("\n---\n") else {
            return doc;
        };
        doc.body = body.trim_start();
        for line in front.lines() {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim().to_string();
            match key.trim() {
                "id" => doc.id = value,
                "severity" if value == "warning" => doc.severity = Severity::Warning,
                "adya" => doc.adya = value,
                "default" => doc.default_on = value != "off",
                "summary" => doc.summary = value,
                _ => {}
            }
        }
        doc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_has_one_registry_row_and_a_matching_page() {
        for rule in Rule::ALL {
            let rows = REGISTRY.iter().filter(|spec| spec.rule == rule).count();
            assert_eq!(rows, 1, "{rule:?}");
            let doc = rule.doc();
            assert_eq!(doc.id, rule.id(), "front matter id of {rule:?}");
            assert!(!doc.summary.is_empty(), "{rule:?} has no summary");
            for section in [
                "## What it does",
                "## Why is this bad?",
                "## Example",
                "## Use instead",
            ] {
                assert!(doc.body.contains(section), "{rule:?} page lacks {section}");
            }
        }
        assert_eq!(REGISTRY.len(), Rule::ALL.len());
    }

    #[test]
    fn every_page_in_rules_has_a_rule() {
        let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
        for entry in std::fs::read_dir(folder).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "md") {
                let stem = path.file_stem().unwrap().to_string_lossy().to_string();
                assert!(
                    Rule::from_id(&stem).is_some(),
                    "rules/{stem}.md has no rule"
                );
            }
        }
    }

    #[test]
    fn opt_in_rules_are_off_by_default() {
        assert!(!Rule::NonRepeatableRead.enabled_by_default());
        assert!(!Rule::PhantomRead.enabled_by_default());
        assert!(Rule::WriteSkew.enabled_by_default());
        assert_eq!(Rule::ReadSkew.severity(), Severity::Warning);
        assert_eq!(Rule::LostUpdate.severity(), Severity::Error);
    }
}
