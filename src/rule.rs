//! What the rules are: their ids, pages, severities and defaults, in one registry from which
//! the command line, the settings, the engine table, the reports and the language server
//! derive everything they know about rules. How a rule is decided is not here: each rule's
//! detector is one file under `analysis/rules/`, which pairs it with its row.
//!
//! Architecture Invariant: this module imports nothing from the rest of the crate, so any
//! floor may name a rule.

use std::fmt;

/// Declares the rules. The `Rule` enum, `Rule::ALL` and `REGISTRY` are written out from the one
/// list, so a rule cannot exist without its row and they list the rules in the same order.
/// Each row embeds its page `rules/<id>.md` by its id: a rule without a page does not compile.
macro_rules! rules {
    ($($rule:ident { id: $id:literal, primary_label: $label:literal $(,)? },)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Rule {
            $($rule,)*
        }

        const RULE_COUNT: usize = [$($id,)*].len();

        impl Rule {
            /// Every rule, in registry order.
            pub const ALL: [Rule; RULE_COUNT] = [$(Rule::$rule,)*];
        }

        /// The registry, one row per rule, in the order of `Rule::ALL`.
        pub static REGISTRY: &[RuleSpec] = &[$(
            RuleSpec {
                rule: Rule::$rule,
                id: $id,
                doc: include_str!(concat!("../rules/", $id, ".md")),
                primary_label: $label,
            },
        )*];
    };
}

// The order of the rows is the order findings of different rules sort in and the order SARIF
// lists the rules.
rules! {
    LostUpdate {
        id: "lost-update",
        primary_label: "reads the value it will overwrite, without a lock",
    },
    WriteSkew {
        id: "write-skew",
        primary_label: "this check can be stale when the write commits",
    },
    PhantomWriteSkew {
        id: "phantom-write-skew",
        primary_label: "this check can be stale when the write commits",
    },
    DangerousStructure {
        id: "dangerous-structure",
        primary_label: "the pivot reads here",
    },
    ReadSkew {
        id: "read-skew",
        primary_label: "first read",
    },
    DirtyRead {
        id: "dirty-read",
        primary_label: "reads uncommitted data",
    },
    NonRepeatableRead {
        id: "non-repeatable-read",
        primary_label: "the second read",
    },
    PhantomRead {
        id: "phantom-read",
        primary_label: "the second read",
    },
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

/// One row of the registry.
pub struct RuleSpec {
    pub rule: Rule,
    /// The id users write (`lost-update`): in config, directives, `--select` and every output.
    pub id: &'static str,
    /// The rule's page, `rules/<id>.md`.
    pub doc: &'static str,
    /// What the human report says at the first statement of a finding.
    pub primary_label: &'static str,
}

impl Rule {
    pub fn spec(self) -> &'static RuleSpec {
        // Invariant: `REGISTRY` and the enum are written out from one list by `rules!`, so the
        // row at a rule's position is its own.
        &REGISTRY[self as usize]
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
        static DOCS: std::sync::OnceLock<Vec<RuleDoc>> = std::sync::OnceLock::new();
        let docs = DOCS.get_or_init(|| {
            REGISTRY
                .iter()
                .map(|spec| RuleDoc::parse(spec.doc))
                .collect()
        });
        // Invariant: `docs` has one page per registry row, in registry order.
        &docs[self as usize]
    }

    pub fn severity(self) -> Severity {
        self.doc().severity
    }

    pub fn enabled_by_default(self) -> bool {
        self.doc().default_on
    }

    pub fn primary_label(self) -> &'static str {
        self.spec().primary_label
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
    fn every_rule_id_is_kebab_case_and_finds_its_own_rule() {
        for rule in Rule::ALL {
            let id = rule.id();
            assert!(
                !id.is_empty()
                    && id
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{id}"
            );
            assert_eq!(Rule::from_id(id), Some(rule), "{id} names another rule too");
        }
    }

    #[test]
    fn every_page_states_its_rule_and_has_the_fixed_sections() {
        for rule in Rule::ALL {
            let doc = rule.doc();
            assert_eq!(doc.id, rule.id(), "front matter id of {rule:?}");
            assert!(!doc.summary.is_empty(), "{rule:?} has no summary");
            assert!(!doc.adya.is_empty(), "{rule:?} has no Adya name");
            for section in [
                "## What it does",
                "## Why is this bad?",
                "## Example",
                "## Use instead",
            ] {
                assert!(doc.body.contains(section), "{rule:?} page lacks {section}");
            }
        }
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
    fn the_readme_table_lists_every_rule_as_its_page_does() {
        let readme = include_str!("../README.md");
        let table = readme
            .split_once("\n## Rules\n")
            .map(|(_, rest)| rest)
            .unwrap_or_default();
        let rows: Vec<Vec<&str>> = table
            .lines()
            .skip_while(|line| !line.starts_with("| `"))
            .take_while(|line| line.starts_with("| `"))
            .map(|line| line.split('|').map(str::trim).collect())
            .collect();
        let ids: Vec<&str> = rows
            .iter()
            .map(|cells| cells[1].trim_matches('`'))
            .collect();
        let expected: Vec<&str> = Rule::ALL.iter().map(|rule| rule.id()).collect();
        assert_eq!(ids, expected, "the README's rules table, in registry order");
        for (rule, cells) in Rule::ALL.into_iter().zip(&rows) {
            let doc = rule.doc();
            let default = if doc.default_on { "on" } else { "off" };
            assert_eq!(cells[2], default, "README default of {rule}");
            assert_eq!(cells[3], doc.severity.id(), "README severity of {rule}");
            assert!(doc.adya.contains(cells[4]), "README anomaly of {rule}");
        }
    }

    #[test]
    fn rule_ids_ignore_case_and_surrounding_space() {
        assert_eq!(Rule::from_id(" Write-Skew "), Some(Rule::WriteSkew));
        assert_eq!(Rule::from_id("write_skew"), None);
        assert_eq!(Rule::from_id("skew"), None);
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
