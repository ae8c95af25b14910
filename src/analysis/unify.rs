//! Unifiers: which parameters of two transaction instances must be equal for two row sets to
//! meet. Instances have independent parameters; a unifier records the equalities an anomaly
//! needs and nothing more (the most general unifier).

use std::collections::BTreeMap;

use crate::access::{RowSet, Term};

/// A parameter of one transaction instance, or a literal.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Atom {
    Var(u8, String),
    Lit(String),
}

impl Atom {
    pub fn of(term: &Term, instance: u8) -> Atom {
        match term {
            Term::Param(name) => Atom::Var(instance, name.clone()),
            Term::Literal(value) => Atom::Lit(value.clone()),
        }
    }
}

/// A consistent set of equalities between atoms (union-find; a literal is always its class's
/// representative, and two different literals never share a class).
///
/// The links are a vector sorted by child, not a map: a unifier holds a handful of them, and
/// one is kept for every conflict between every two programs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unifier {
    parent: Vec<(Atom, Atom)>,
}

impl Unifier {
    /// Builds from `(child, parent)` links; of two links from one child the last stays.
    fn from_links(links: impl IntoIterator<Item = (Atom, Atom)>) -> Unifier {
        let mut unifier = Unifier::default();
        for (child, parent) in links {
            unifier.link(child, parent);
        }
        unifier
    }

    fn parent_of(&self, atom: &Atom) -> Option<&Atom> {
        self.parent
            .binary_search_by(|(child, _)| child.cmp(atom))
            .ok()
            .map(|index| &self.parent[index].1)
    }

    fn link(&mut self, child: Atom, parent: Atom) {
        match self.parent.binary_search_by(|(known, _)| known.cmp(&child)) {
            Ok(index) => self.parent[index].1 = parent,
            Err(index) => self.parent.insert(index, (child, parent)),
        }
    }

    pub fn find(&self, atom: &Atom) -> Atom {
        self.root(atom).clone()
    }

    /// [`Unifier::find`] without copying the root.
    fn root<'s>(&'s self, atom: &'s Atom) -> &'s Atom {
        let mut current = atom;
        while let Some(next) = self.parent_of(current) {
            current = next;
        }
        current
    }

    /// Adds `a = b`; `false` (and no change) when it contradicts what is known.
    pub fn union(&mut self, a: &Atom, b: &Atom) -> bool {
        let (root_a, root_b) = (self.root(a), self.root(b));
        if root_a == root_b {
            return true;
        }
        match (root_a, root_b) {
            (Atom::Lit(_), Atom::Lit(_)) => false,
            (Atom::Lit(_), _) => {
                let (child, parent) = (root_b.clone(), root_a.clone());
                self.link(child, parent);
                true
            }
            _ => {
                let (child, parent) = (root_a.clone(), root_b.clone());
                self.link(child, parent);
                true
            }
        }
    }

    /// Whether the equalities imply `a = b`.
    pub fn equal(&self, a: &Atom, b: &Atom) -> bool {
        a == b || self.root(a) == self.root(b)
    }

    /// Both sets of equalities at once, if they are consistent.
    pub fn merge(&self, other: &Unifier) -> Option<Unifier> {
        let mut merged = self.clone();
        for (child, parent) in &other.parent {
            if !merged.union(child, parent) {
                return None;
            }
        }
        Some(merged)
    }

    /// The same equalities with instance tags renumbered: the instance tagged `tags[i]`
    /// becomes instance `i` (the numbering of a finding's witness).
    pub fn relabel(&self, tags: &[u8]) -> Unifier {
        let renumber = |atom: &Atom| match atom {
            Atom::Var(tag, name) => {
                let position = tags
                    .iter()
                    .position(|t| t == tag)
                    .unwrap_or(usize::from(*tag));
                Atom::Var(u8::try_from(position).unwrap_or(*tag), name.clone())
            }
            Atom::Lit(_) => atom.clone(),
        };
        Unifier::from_links(
            self.parent
                .iter()
                .map(|(child, parent)| (renumber(child), renumber(parent))),
        )
    }

    /// The same equalities with each parameter of instance `instance` renamed by `rename`
    /// (one to one; a name it leaves out stays): what the unifier of a pair says for another
    /// program that differs only in its parameters' names.
    pub fn rename(&self, instance: u8, rename: impl Fn(&str) -> Option<String>) -> Unifier {
        let renamed = |atom: &Atom| match atom {
            Atom::Var(tag, name) if *tag == instance => {
                Atom::Var(*tag, rename(name).unwrap_or_else(|| name.clone()))
            }
            _ => atom.clone(),
        };
        Unifier::from_links(
            self.parent
                .iter()
                .map(|(child, parent)| (renamed(child), renamed(parent))),
        )
    }

    /// Equalities between parameters of different instances, for messages: `$1 = $1'`.
    pub fn describe(&self) -> Vec<String> {
        let mut classes: BTreeMap<Atom, Vec<&Atom>> = BTreeMap::new();
        for (atom, _) in &self.parent {
            classes.entry(self.find(atom)).or_default().push(atom);
        }
        classes
            .into_iter()
            .map(|(root, mut members)| {
                members.push(&root);
                members.sort();
                members.dedup();
                members
                    .iter()
                    .map(|atom| render(atom))
                    .collect::<Vec<_>>()
                    .join(" = ")
            })
            .collect()
    }
}

pub fn render(atom: &Atom) -> String {
    match atom {
        Atom::Var(instance, name) => {
            let name = if name.starts_with('?') { "?" } else { name };
            format!("{name} (T{})", instance + 1)
        }
        Atom::Lit(value) => value.clone(),
    }
}

/// The unifier under which rows of `a` (in instance `ia`) and `b` (in `ib`) can be the same
/// rows, or `None` when some column is pinned to two different values or its literal values
/// on the two sides do not overlap (`status = 'todo'` against `status IN ('done', 'failed')`).
pub fn rows_meet(a: &RowSet, ia: u8, b: &RowSet, ib: u8) -> Option<Unifier> {
    // The checks that need no unifier first: building it copies every name it links.
    if !domains_overlap(a, b)
        || fresh_against_known(a, b)
        || fresh_against_known(b, a)
        || comparisons_exclude(a, b)
    {
        return None;
    }
    let mut unifier = Unifier::default();
    for (term_a, term_b) in shared_pins(a, b) {
        if !unifier.union(&Atom::of(term_a, ia), &Atom::of(term_b, ib)) {
            return None;
        }
    }
    Some(unifier)
}

/// The terms both row sets pin one column to, in the order of the columns: a walk of the two
/// sorted maps side by side, in place of a lookup of each column of one in the other.
fn shared_pins<'r>(a: &'r RowSet, b: &'r RowSet) -> impl Iterator<Item = (&'r Term, &'r Term)> {
    let (mut left, mut right) = (a.pins.iter().peekable(), b.pins.iter().peekable());
    std::iter::from_fn(move || {
        loop {
            let ((column_a, _), (column_b, _)) = (left.peek()?, right.peek()?);
            match column_a.cmp(column_b) {
                std::cmp::Ordering::Less => {
                    left.next();
                }
                std::cmp::Ordering::Greater => {
                    right.next();
                }
                std::cmp::Ordering::Equal => {
                    let ((_, term_a), (_, term_b)) = (left.next()?, right.next()?);
                    return Some((term_a, term_b));
                }
            }
        }
    })
}

/// A row given a fresh key by one side cannot be a row the other names by that key; one
/// linked to a new parent by a fresh value cannot be one the other names by a value it held.
fn fresh_against_known(a: &RowSet, b: &RowSet) -> bool {
    a.fresh.iter().any(|column| {
        b.pins.contains_key(column)
            || b.known.contains(column)
            || matches!(b.domains.get(column), Some(crate::access::Domain::In(_)))
    }) || a
        .linked
        .iter()
        .any(|column| b.pins.contains_key(column) && !b.found.contains(column))
}

/// Whether no row can pass a comparison of two of its columns in `a` and a contradicting one
/// in `b` (`attempts < max_attempts` against `attempts >= max_attempts`): each holds for every
/// row of its set, or for the rows whose column has some values, and every row both sets allow
/// has such values.
fn comparisons_exclude(a: &RowSet, b: &RowSet) -> bool {
    // The rows both sets allow have `column` inside `when`'s values.
    let applies = |when: &Option<(String, crate::access::Domain)>| {
        when.as_ref().is_none_or(|(column, values)| {
            let both = match (a.domain(column), b.domain(column)) {
                (Some(x), Some(y)) => Some(x.and(&y)),
                (Some(x), None) | (None, Some(x)) => Some(x),
                (None, None) => None,
            };
            both.is_some_and(|both| both.within(values))
        })
    };
    a.comparisons.iter().any(|x| {
        b.comparisons
            .iter()
            .any(|y| x.contradicts(y) && applies(&x.when) && applies(&y.when))
    })
}

/// Whether some value of every column is allowed by both row sets' literal values.
///
/// This runs for every pair of accesses that might meet, so it allocates nothing.
pub fn domains_overlap(a: &RowSet, b: &RowSet) -> bool {
    // A column constrained on one side by a domain: the other side's domain or literal pin.
    let against = |x: &RowSet, y: &RowSet| {
        x.domains.iter().all(|(column, domain)| {
            if let Some(other) = y.domains.get(column) {
                domain.intersects(other)
            } else if let Some(crate::access::Term::Literal(value)) = y.pins.get(column) {
                domain.contains(value)
            } else {
                true
            }
        })
    };
    against(a, b) && against(b, a)
}

/// Within one transaction: the two row sets name the same rows as far as the text shows
/// (every column pinned in both is pinned to the same term, or both name one row of `table` by
/// the same key whatever else they pin).
pub fn same_rows(a: &RowSet, b: &RowSet, table: Option<&crate::catalog::Table>) -> bool {
    let same = |column: &String| matches!((a.pins.get(column), b.pins.get(column)), (Some(x), Some(y)) if x == y);
    a.pins
        .iter()
        .all(|(column, term)| b.pins.get(column).is_none_or(|other| other == term))
        || table.is_some_and(|table| {
            table
                .keys
                .iter()
                .any(|key| key.identifies_row() && key.columns.iter().all(same))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::Domain;

    fn rows(pins: &[(&str, Term)]) -> RowSet {
        RowSet {
            pins: pins
                .iter()
                .map(|(column, term)| (column.to_string(), term.clone()))
                .collect(),
            ..Default::default()
        }
    }

    fn param(name: &str) -> Term {
        Term::Param(name.into())
    }

    fn literal(value: &str) -> Term {
        Term::Literal(value.into())
    }

    #[test]
    fn contradicting_comparisons_keep_rows_apart() {
        use crate::access::Comparison;
        let status =
            |values: &[&str]| Domain::In(values.iter().map(|value| value.to_string()).collect());
        let with = |outcomes, when: Option<&[&str]>, domain: &[&str]| {
            let mut rows = rows(&[]);
            rows.domains.insert("status".into(), status(domain));
            rows.comparisons.push(Comparison {
                left: "attempts".into(),
                right: "max_attempts".into(),
                outcomes,
                when: when.map(|values| ("status".into(), status(values))),
            });
            rows
        };
        let left = Comparison::LESS;
        let at_most = Comparison::GREATER | Comparison::EQUAL;
        // Failed with attempts left against failed without, or done.
        let claimed = with(left, Some(&["'failed'"]), &["'failed'", "'pending'"]);
        let finished = with(at_most, Some(&["'failed'"]), &["'done'", "'failed'"]);
        assert!(rows_meet(&claimed, 0, &finished, 1).is_none());
        // Done rows pass the second whatever their attempts.
        let any_done = with(
            at_most,
            Some(&["'failed'"]),
            &["'done'", "'failed'", "'pending'"],
        );
        let pending = with(left, None, &["'done'", "'pending'"]);
        assert!(rows_meet(&pending, 0, &any_done, 1).is_some());
        // Without a condition, the comparisons alone decide.
        let below = with(left, None, &["'failed'"]);
        let not_below = with(at_most, None, &["'failed'"]);
        assert!(rows_meet(&below, 0, &not_below, 1).is_none());
        let at_or_below = with(Comparison::LESS | Comparison::EQUAL, None, &["'failed'"]);
        assert!(rows_meet(&at_or_below, 0, &not_below, 1).is_some());
    }

    #[test]
    fn literal_values_meet_only_where_they_share_one() {
        let with = |domain: Domain| {
            let mut rows = rows(&[]);
            rows.domains.insert("state".to_string(), domain);
            rows
        };
        let set = |values: &[&str]| values.iter().map(|v| v.to_string()).collect();
        let todo_or_doing = with(Domain::In(set(&["'todo'", "'doing'"])));
        let not_todo = with(Domain::NotIn(set(&["'todo'"])));
        let done = rows(&[("state", literal("'done'"))]);
        assert!(
            domains_overlap(&todo_or_doing, &not_todo),
            "'doing' is in both"
        );
        assert!(!domains_overlap(&todo_or_doing, &done));
        assert!(domains_overlap(&not_todo, &done));
        assert!(!domains_overlap(
            &with(Domain::NotIn(set(&["'done'"]))),
            &done
        ));
        assert!(domains_overlap(
            &not_todo,
            &with(Domain::NotIn(set(&["'x'"])))
        ));
    }

    #[test]
    fn a_fresh_key_never_meets_a_pinned_or_joined_one() {
        let mut insert = rows(&[("name", param("$1"))]);
        insert.fresh.insert("id".to_string());
        let by_key = rows(&[("id", param("$1"))]);
        let mut joined = rows(&[]);
        joined.known.insert("id".to_string());
        assert!(rows_meet(&insert, 0, &by_key, 1).is_none());
        assert!(rows_meet(&insert, 0, &joined, 1).is_none());
        assert!(
            rows_meet(&insert, 0, &rows(&[]), 1).is_some(),
            "a scan sees new rows"
        );
    }

    #[test]
    fn different_literals_never_meet() {
        let a = rows(&[("kind", literal("'a'"))]);
        let b = rows(&[("kind", literal("'b'"))]);
        assert!(rows_meet(&a, 0, &b, 1).is_none());
        assert!(rows_meet(&a, 0, &a, 1).is_some());
    }

    #[test]
    fn parameters_of_two_instances_unify() {
        let a = rows(&[("shift", param("$1")), ("doctor", param("$2"))]);
        let b = rows(&[("shift", param("$1"))]);
        let unifier = rows_meet(&a, 0, &b, 1).unwrap();
        assert!(unifier.equal(&Atom::Var(0, "$1".into()), &Atom::Var(1, "$1".into())));
        assert!(!unifier.equal(&Atom::Var(0, "$2".into()), &Atom::Var(1, "$2".into())));
    }

    #[test]
    fn a_parameter_cannot_equal_two_literals() {
        let a = rows(&[("x", param("$1")), ("y", param("$1"))]);
        let b = rows(&[("x", literal("1")), ("y", literal("2"))]);
        assert!(rows_meet(&a, 0, &b, 1).is_none());
    }

    #[test]
    fn merging_contradictions_fails() {
        let mut first = Unifier::default();
        assert!(first.union(&Atom::Var(0, "$1".into()), &Atom::Lit("1".into())));
        let mut second = Unifier::default();
        assert!(second.union(&Atom::Var(0, "$1".into()), &Atom::Lit("2".into())));
        assert!(first.merge(&second).is_none());
    }

    #[test]
    fn same_rows_within_a_transaction() {
        let a = rows(&[("id", param("$1"))]);
        let b = rows(&[("id", param("$1")), ("v", param("$2"))]);
        let c = rows(&[("id", param("$2"))]);
        assert!(same_rows(&a, &b, None));
        assert!(!same_rows(&a, &c, None));
    }
}
