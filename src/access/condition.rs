//! When a routine's statement runs: the branch conditions (`IF`, `ELSIF`, `ELSE`, `CASE WHEN`,
//! `WHILE`) it sits under, and what they come to when some of the routine's variables are
//! known constants, as when a call passes `NULL` or `false` for an argument.
//!
//! Only the conditions that decide themselves from constants are read: a variable tested for
//! NULL or as a boolean, a variable compared with `=` or `<>` to a literal or another variable,
//! and `AND`, `OR`, `NOT`, `IS [NOT] TRUE|FALSE` of those. Anything else is
//! [`Condition::Unknown`], which can take every value. Values follow SQL's three-valued logic,
//! so an `ELSE` runs when the earlier conditions are false or NULL.

use std::collections::{BTreeMap, BTreeSet};

use super::Domain;

/// A value a call gives a routine's argument, or a trigger's written row gives `NEW.col`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Constant {
    Null,
    Bool(bool),
    /// A number as written (`42`, `-1.5`).
    Number(String),
    /// A string's value, without its quotes.
    Text(String),
}

impl Constant {
    /// The constant a normalised literal term (`NULL`, `true`, `42`, `'x'`) stands for.
    pub fn from_literal(literal: &str) -> Option<Constant> {
        if literal.eq_ignore_ascii_case("null") {
            return Some(Constant::Null);
        }
        if literal.eq_ignore_ascii_case("true") {
            return Some(Constant::Bool(true));
        }
        if literal.eq_ignore_ascii_case("false") {
            return Some(Constant::Bool(false));
        }
        if let Some(text) = literal
            .strip_prefix('\'')
            .and_then(|rest| rest.strip_suffix('\''))
        {
            return Some(Constant::Text(text.to_string()));
        }
        literal
            .parse::<f64>()
            .is_ok_and(f64::is_finite)
            .then(|| Constant::Number(literal.to_string()))
    }

    /// The constant read as a condition: a boolean, NULL, or a number where the engine takes
    /// one for a boolean (MySQL: anything but 0 is true; PostgreSQL rejects a number there,
    /// so no routine it runs tests one). A string is left undecided: engines read `'t'`
    /// differently.
    /// The constant as a value of a [`Domain`]: `NULL`, `true`, `1`, `'a'`.
    fn domain_value(&self) -> String {
        match self {
            Constant::Null => Domain::NULL.to_string(),
            Constant::Bool(value) => value.to_string(),
            Constant::Number(number) => number.clone(),
            Constant::Text(text) => format!("'{text}'"),
        }
    }

    fn truth(&self) -> Truths {
        match self {
            Constant::Null => Truths::NULL,
            Constant::Bool(value) => Truths::of(*value),
            Constant::Number(number) => match number.parse::<f64>() {
                Ok(value) => Truths::of(value != 0.0),
                Err(_) => Truths::ANY,
            },
            Constant::Text(_) => Truths::ANY,
        }
    }

    /// Whether two constants are equal, as SQL's `=` says; `None` when isolint cannot tell
    /// (types it does not compare, collations).
    fn equals(&self, other: &Constant) -> Option<bool> {
        use Constant::{Bool, Number, Text};
        match (self, other) {
            (Bool(a), Bool(b)) => Some(a == b),
            (Number(a), Number(b)) => numbers_equal(a, b),
            // MySQL: TRUE is 1 and FALSE is 0.
            (Bool(flag), Number(number)) | (Number(number), Bool(flag)) => {
                numbers_equal(if *flag { "1" } else { "0" }, number)
            }
            (Text(a), Text(b)) if a == b => Some(true),
            // A case-insensitive collation (MySQL's and SQL Server's defaults) or a padded
            // `char(n)` makes these equal; other strings differ under every collation.
            (Text(a), Text(b))
                if a.trim_end().eq_ignore_ascii_case(b.trim_end())
                    || !a.is_ascii()
                    || !b.is_ascii() =>
            {
                None
            }
            (Text(_), Text(_)) => Some(false),
            _ => None,
        }
    }
}

fn numbers_equal(a: &str, b: &str) -> Option<bool> {
    if let (Ok(a), Ok(b)) = (a.parse::<i128>(), b.parse::<i128>()) {
        return Some(a == b);
    }
    let (a_value, b_value) = (a.parse::<f64>().ok()?, b.parse::<f64>().ok()?);
    if a_value != b_value {
        Some(false)
    } else if a == b {
        Some(true)
    } else {
        // Equal as doubles, written differently: they may differ in a digit a double loses.
        None
    }
}

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operand {
    /// A variable or argument of the routine, by the name its accesses use.
    Variable(String),
    Constant(Constant),
}

impl Operand {
    fn value<'a>(&'a self, constants: &'a BTreeMap<String, Constant>) -> Option<&'a Constant> {
        match self {
            Operand::Variable(name) => constants.get(name),
            Operand::Constant(constant) => Some(constant),
        }
    }
}

/// A branch condition, as far as constants can decide it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// Anything else: a query, a function, `FOUND`, an ordering.
    Unknown,
    /// A variable or constant read as a boolean (`IF x_force THEN`).
    Value(Operand),
    IsNull(Operand),
    /// `left = right`, or `left <> right` when `equal` is false.
    Compare {
        left: Operand,
        right: Operand,
        equal: bool,
    },
    Not(Box<Condition>),
    And(Box<Condition>, Box<Condition>),
    Or(Box<Condition>, Box<Condition>),
    /// `condition IS [NOT] TRUE|FALSE`: never NULL.
    Is {
        condition: Box<Condition>,
        value: bool,
        negated: bool,
    },
}

impl Condition {
    /// The values the condition can take when the variables of `constants` have those values
    /// and every other variable may have any value.
    pub fn truths(&self, constants: &BTreeMap<String, Constant>) -> Truths {
        match self {
            Condition::Unknown => Truths::ANY,
            Condition::Value(operand) => operand
                .value(constants)
                .map_or(Truths::ANY, Constant::truth),
            Condition::IsNull(operand) => match operand.value(constants) {
                Some(value) => Truths::of(*value == Constant::Null),
                None => Truths::TRUE | Truths::FALSE,
            },
            Condition::Compare { left, right, equal } => {
                match (left.value(constants), right.value(constants)) {
                    (Some(Constant::Null), _) | (_, Some(Constant::Null)) => Truths::NULL,
                    (Some(left), Some(right)) => left
                        .equals(right)
                        .map_or(Truths::TRUE | Truths::FALSE, |same| {
                            Truths::of(same == *equal)
                        }),
                    _ => Truths::ANY,
                }
            }
            Condition::Not(inner) => inner.truths(constants).not(),
            Condition::And(left, right) => left.truths(constants).and(right.truths(constants)),
            Condition::Or(left, right) => left.truths(constants).or(right.truths(constants)),
            Condition::Is {
                condition,
                value,
                negated,
            } => {
                let inner = condition.truths(constants);
                let mut truths = Truths::NONE;
                if inner.contains(Truths::of(*value)) {
                    truths = truths | Truths::of(!negated);
                }
                if inner.contains(Truths::of(!value)) || inner.contains(Truths::NULL) {
                    truths = truths | Truths::of(*negated);
                }
                truths
            }
        }
    }
}

/// A set of SQL truth values: the values a condition can take.
impl Condition {
    /// What the condition being true (`holds`), or not true (false or NULL: an `ELSE`, or what
    /// follows `IF c THEN RETURN; END IF;`), says of single variables: `v IS NULL` true puts
    /// `v` in `{NULL}`, `v = 'a'` not true puts it outside `{'a'}` (NULL included). Only
    /// what certainly follows; a disjunction that holds says nothing.
    pub fn implied_domains(&self, holds: bool) -> Vec<(String, Domain)> {
        let one = |name: &str, domain: Domain| vec![(name.to_string(), domain)];
        let values = |constants: &[&Constant]| {
            constants
                .iter()
                .map(|constant| constant.domain_value())
                .collect::<BTreeSet<String>>()
        };
        // `v IS NULL` and a boolean `v` hold exactly when `v` is that one constant.
        let is = |name: &str, constant: Constant| {
            let value = values(&[&constant]);
            one(
                name,
                if holds {
                    Domain::In(value)
                } else {
                    Domain::NotIn(value)
                },
            )
        };
        match self {
            Condition::IsNull(Operand::Variable(name)) => is(name, Constant::Null),
            Condition::Value(Operand::Variable(name)) => is(name, Constant::Bool(true)),
            Condition::Compare { left, right, equal } => {
                let (name, constant) = match (left, right) {
                    (Operand::Variable(name), Operand::Constant(constant))
                    | (Operand::Constant(constant), Operand::Variable(name)) => (name, constant),
                    _ => return Vec::new(),
                };
                if *constant == Constant::Null {
                    return Vec::new();
                }
                match (*equal, holds) {
                    (true, true) => one(name, Domain::In(values(&[constant]))),
                    (true, false) => one(name, Domain::NotIn(values(&[constant]))),
                    (false, true) => one(name, Domain::NotIn(values(&[constant, &Constant::Null]))),
                    (false, false) => one(name, Domain::In(values(&[constant, &Constant::Null]))),
                }
            }
            // NOT c is true only when c is false; it is not true when c is true or NULL, which
            // says something only of a condition that is never NULL.
            Condition::Not(inner) if holds || matches!(**inner, Condition::IsNull(_)) => {
                inner.implied_domains(!holds)
            }
            // Both sides of an AND that holds, or of an OR that does not, say the same.
            Condition::And(left, right) | Condition::Or(left, right)
                if holds == matches!(self, Condition::And(..)) =>
            {
                let mut both = left.implied_domains(holds);
                both.extend(right.implied_domains(holds));
                both
            }
            _ => Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Truths(u8);

impl Truths {
    pub const NONE: Truths = Truths(0);
    pub const TRUE: Truths = Truths(1);
    pub const FALSE: Truths = Truths(2);
    pub const NULL: Truths = Truths(4);
    pub const ANY: Truths = Truths(7);

    fn of(value: bool) -> Truths {
        if value { Truths::TRUE } else { Truths::FALSE }
    }

    pub fn contains(self, other: Truths) -> bool {
        self.0 & other.0 == other.0
    }

    /// The single values in the set, as Kleene's three values.
    fn values(self) -> impl Iterator<Item = Option<bool>> {
        [
            (Truths::TRUE, Some(true)),
            (Truths::FALSE, Some(false)),
            (Truths::NULL, None),
        ]
        .into_iter()
        .filter(move |(single, _)| self.contains(*single))
        .map(|(_, value)| value)
    }

    fn single(value: Option<bool>) -> Truths {
        value.map_or(Truths::NULL, Truths::of)
    }

    fn combine(
        self,
        other: Truths,
        operator: fn(Option<bool>, Option<bool>) -> Option<bool>,
    ) -> Truths {
        let mut truths = Truths::NONE;
        for left in self.values() {
            for right in other.values() {
                truths = truths | Truths::single(operator(left, right));
            }
        }
        truths
    }

    fn not(self) -> Truths {
        self.values().fold(Truths::NONE, |truths, value| {
            truths | Truths::single(value.map(|v| !v))
        })
    }

    fn and(self, other: Truths) -> Truths {
        self.combine(other, |left, right| match (left, right) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (Some(true), Some(true)) => Some(true),
            _ => None,
        })
    }

    fn or(self, other: Truths) -> Truths {
        self.combine(other, |left, right| match (left, right) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (Some(false), Some(false)) => Some(false),
            _ => None,
        })
    }
}

impl std::ops::BitOr for Truths {
    type Output = Truths;

    fn bitor(self, other: Truths) -> Truths {
        Truths(self.0 | other.0)
    }
}

/// A branch a statement sits in: it runs only when `condition` is true (`IF c THEN`,
/// `WHILE c LOOP`), or, when `holds` is false, only when it is not (false or NULL: the `ELSE`
/// and the later `ELSIF`s of an `IF c`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guard {
    pub condition: Condition,
    pub holds: bool,
}

impl Guard {
    /// Whether the branch can be taken when the variables of `constants` have those values.
    pub fn may_run(&self, constants: &BTreeMap<String, Constant>) -> bool {
        let truths = self.condition.truths(constants);
        if self.holds {
            truths.contains(Truths::TRUE)
        } else {
            truths != Truths::TRUE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variable(name: &str) -> Operand {
        Operand::Variable(name.to_string())
    }

    fn constant(literal: &str) -> Operand {
        Operand::Constant(Constant::from_literal(literal).expect("a literal"))
    }

    fn constants(pairs: &[(&str, &str)]) -> BTreeMap<String, Constant> {
        pairs
            .iter()
            .map(|(name, literal)| {
                (
                    name.to_string(),
                    Constant::from_literal(literal).expect("a literal"),
                )
            })
            .collect()
    }

    fn not(condition: Condition) -> Condition {
        Condition::Not(Box::new(condition))
    }

    fn and(left: Condition, right: Condition) -> Condition {
        Condition::And(Box::new(left), Box::new(right))
    }

    fn or(left: Condition, right: Condition) -> Condition {
        Condition::Or(Box::new(left), Box::new(right))
    }

    #[test]
    fn a_condition_true_or_not_tells_the_values_of_its_variables() {
        let set = |values: &[&str]| values.iter().map(|v| v.to_string()).collect();
        let is_null = || Condition::IsNull(variable("b"));
        let equals = |equal| Condition::Compare {
            left: variable("s"),
            right: constant("'done'"),
            equal,
        };
        let one = |name: &str, domain| vec![(name.to_string(), domain)];
        // `IF b IS NOT NULL THEN RETURN; END IF;` and what follows: b is NULL.
        assert_eq!(
            not(is_null()).implied_domains(false),
            one("b", Domain::In(set(&["NULL"])))
        );
        assert_eq!(
            not(is_null()).implied_domains(true),
            one("b", Domain::NotIn(set(&["NULL"])))
        );
        // `s = 'done'` not true: s is another value or NULL; `s <> 'done'` true: neither.
        assert_eq!(
            equals(true).implied_domains(false),
            one("s", Domain::NotIn(set(&["'done'"])))
        );
        assert_eq!(
            equals(false).implied_domains(true),
            one("s", Domain::NotIn(set(&["'done'", "NULL"])))
        );
        assert_eq!(
            equals(false).implied_domains(false),
            one("s", Domain::In(set(&["'done'", "NULL"])))
        );
        // NOT (s = 'done') not true: s = 'done' is true or NULL, so nothing certain.
        assert_eq!(not(equals(true)).implied_domains(false), []);
        // A conjunction that holds, a disjunction that does not: both parts.
        assert_eq!(and(is_null(), equals(true)).implied_domains(true).len(), 2);
        assert_eq!(or(is_null(), equals(true)).implied_domains(false).len(), 2);
        assert_eq!(or(is_null(), equals(true)).implied_domains(true), []);
    }

    fn equals(name: &str, literal: &str) -> Condition {
        Condition::Compare {
            left: variable(name),
            right: constant(literal),
            equal: true,
        }
    }

    fn check(condition: &Condition, pairs: &[(&str, &str)], expected: Truths) {
        assert_eq!(
            condition.truths(&constants(pairs)),
            expected,
            "{condition:?} with {pairs:?}"
        );
    }

    #[test]
    fn literals_become_constants() {
        assert_eq!(Constant::from_literal("NULL"), Some(Constant::Null));
        assert_eq!(Constant::from_literal("false"), Some(Constant::Bool(false)));
        assert_eq!(
            Constant::from_literal("-1.5"),
            Some(Constant::Number("-1.5".into()))
        );
        assert_eq!(
            Constant::from_literal("'full'"),
            Some(Constant::Text("full".into()))
        );
        assert_eq!(Constant::from_literal("now"), None);
        assert_eq!(Constant::from_literal("inf"), None);
    }

    #[test]
    fn a_null_argument_decides_is_null_and_makes_comparisons_null() {
        let is_null = Condition::IsNull(variable("x_tick_pos"));
        check(&is_null, &[("x_tick_pos", "NULL")], Truths::TRUE);
        check(
            &not(is_null.clone()),
            &[("x_tick_pos", "NULL")],
            Truths::FALSE,
        );
        check(&is_null, &[("x_tick_pos", "42")], Truths::FALSE);
        // Unbound: true or false, never NULL.
        check(&is_null, &[], Truths::TRUE | Truths::FALSE);
        check(
            &equals("x_tick_pos", "1"),
            &[("x_tick_pos", "NULL")],
            Truths::NULL,
        );
        check(
            &Condition::Value(variable("x_force")),
            &[("x_force", "NULL")],
            Truths::NULL,
        );
    }

    #[test]
    fn booleans_and_comparisons_with_literals() {
        let force = Condition::Value(variable("x_force"));
        check(&force, &[("x_force", "false")], Truths::FALSE);
        check(&not(force.clone()), &[("x_force", "false")], Truths::TRUE);
        check(&force, &[("other", "false")], Truths::ANY);
        check(
            &equals("mode", "'full'"),
            &[("mode", "'full'")],
            Truths::TRUE,
        );
        check(
            &equals("mode", "'full'"),
            &[("mode", "'part'")],
            Truths::FALSE,
        );
        // Equal under a case-insensitive collation.
        check(
            &equals("mode", "'full'"),
            &[("mode", "'FULL'")],
            Truths::TRUE | Truths::FALSE,
        );
        check(
            &equals("n", "1"),
            &[("n", "1.0")],
            Truths::TRUE | Truths::FALSE,
        );
        check(&equals("n", "1"), &[("n", "2")], Truths::FALSE);
        check(
            &equals("n", "1"),
            &[("n", "'1'")],
            Truths::TRUE | Truths::FALSE,
        );
        let differs = Condition::Compare {
            left: variable("a"),
            right: variable("b"),
            equal: false,
        };
        check(&differs, &[("a", "3"), ("b", "3")], Truths::FALSE);
        check(&differs, &[("a", "3")], Truths::ANY);
    }

    #[test]
    fn three_valued_and_or_not() {
        let unknown = Condition::Unknown;
        let force = Condition::Value(variable("f"));
        // FALSE AND anything is FALSE; TRUE OR anything is TRUE.
        check(
            &and(force.clone(), unknown.clone()),
            &[("f", "false")],
            Truths::FALSE,
        );
        check(
            &or(force.clone(), unknown.clone()),
            &[("f", "true")],
            Truths::TRUE,
        );
        check(
            &or(force.clone(), unknown.clone()),
            &[("f", "false")],
            Truths::ANY,
        );
        // NULL AND FALSE is FALSE, NULL OR FALSE is NULL, NOT NULL is NULL.
        let null = Condition::Value(constant("NULL"));
        let no = Condition::Value(constant("false"));
        check(&and(null.clone(), no.clone()), &[], Truths::FALSE);
        check(&or(null.clone(), no), &[], Truths::NULL);
        check(&not(null), &[], Truths::NULL);
    }

    #[test]
    fn is_true_and_is_false_are_never_null() {
        let is_not_true = Condition::Is {
            condition: Box::new(Condition::Value(variable("f"))),
            value: true,
            negated: true,
        };
        check(&is_not_true, &[("f", "NULL")], Truths::TRUE);
        check(&is_not_true, &[("f", "true")], Truths::FALSE);
        check(&is_not_true, &[], Truths::TRUE | Truths::FALSE);
    }

    #[test]
    fn an_else_runs_when_the_condition_is_false_or_null() {
        let guard = |holds| Guard {
            condition: Condition::Value(variable("f")),
            holds,
        };
        let null = constants(&[("f", "NULL")]);
        assert!(!guard(true).may_run(&null));
        assert!(guard(false).may_run(&null));
        let yes = constants(&[("f", "true")]);
        assert!(guard(true).may_run(&yes));
        assert!(!guard(false).may_run(&yes));
        assert!(guard(true).may_run(&BTreeMap::new()) && guard(false).may_run(&BTreeMap::new()));
    }
}
