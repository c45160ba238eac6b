//! Which premises of a derivation are recorded, and how the others are found again.
//!
//! A recorded derivation names its rule and the row of each positive premise. Many
//! premises are implied by the others: once the head's values and some premises' values
//! are known, a premise whose every variable is among them is the one row with those
//! values (relations hold no duplicates). Only the smallest set of premises that
//! determines all others is stored; the rest are looked up when a derivation is read.
//! The result is the same derivation, premise for premise, as if every row were stored.

use rustc_hash::FxHashSet;

use crate::program::{Rule, Term, VarId};
use crate::value::ValueId;

/// Where a value of a premise that is not stored comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    /// A constant of the atom.
    Const(ValueId),
    /// A column of the derived fact.
    Head(usize),
    /// A column of the `k`-th stored premise.
    Stored(usize, usize),
}

/// A rule's premise layout: which positive atoms have their row stored, and how to
/// rebuild the values of the others.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Layout {
    /// Positions (among the rule's positive atoms, ascending) whose rows are stored.
    pub stored: Vec<usize>,
    /// Per positive atom not in `stored` (ascending position): its position and where
    /// each of its values comes from.
    pub rebuilt: Vec<(usize, Vec<Source>)>,
}

/// Tries every set of positive atoms by size (then lexicographically) up to this many
/// atoms; larger rules store every premise.
const SEARCH_LIMIT: usize = 12;

impl Layout {
    /// The layout of `rule` with no atom preferred.
    #[cfg(test)]
    pub fn of(rule: &Rule) -> Layout {
        Layout::preferring(rule, |_| false)
    }

    /// The layout of `rule`: the smallest set of positive atoms whose variables, with
    /// the head's, cover every variable of the other positive atoms. Among the smallest
    /// sets, one with the fewest atoms for which `late` holds (those of relations still
    /// growing when the rule runs), so that stored rows are more often rows of finished
    /// relations of earlier strata, which are small enough for narrow premise slots
    /// more often; the first such set in lexicographic order.
    pub fn preferring(rule: &Rule, late: impl Fn(usize) -> bool) -> Layout {
        let atoms: Vec<&[Term]> = rule.positive_atoms().map(|a| a.args.as_slice()).collect();
        let head: Vec<(VarId, usize)> = rule
            .head
            .args
            .iter()
            .enumerate()
            .filter_map(|(column, t)| match t {
                Term::Var(v) => Some((*v, column)),
                Term::Const(_) => None,
            })
            .collect();
        let anonymous = |v: VarId| rule.variables[v.0 as usize] == "_";
        // An atom with `_` is never implied: its anonymous values are known nowhere.
        let must_store: Vec<bool> = atoms
            .iter()
            .map(|args| {
                args.iter()
                    .any(|t| matches!(t, Term::Var(v) if anonymous(*v)))
            })
            .collect();
        let covers = |stored: &[usize]| -> bool {
            let mut known: FxHashSet<VarId> = head.iter().map(|&(v, _)| v).collect();
            for &i in stored {
                for t in atoms[i] {
                    if let Term::Var(v) = t {
                        known.insert(*v);
                    }
                }
            }
            (0..atoms.len()).all(|i| {
                stored.contains(&i)
                    || (!must_store[i]
                        && atoms[i].iter().all(|t| {
                            matches!(t, Term::Const(_))
                                || matches!(t, Term::Var(v) if known.contains(v))
                        }))
            })
        };
        let stored = if atoms.len() > SEARCH_LIMIT {
            (0..atoms.len()).collect()
        } else {
            (0..=atoms.len())
                .find_map(|size| {
                    subsets(atoms.len(), size)
                        .into_iter()
                        .filter(|s| covers(s))
                        .min_by_key(|s| s.iter().filter(|&&i| late(i)).count())
                })
                .expect("storing every premise covers every variable")
        };
        let rebuilt = (0..atoms.len())
            .filter(|i| !stored.contains(i))
            .map(|i| {
                let sources = atoms[i]
                    .iter()
                    .map(|t| match t {
                        Term::Const(value) => Source::Const(*value),
                        Term::Var(v) => head
                            .iter()
                            .find(|(w, _)| w == v)
                            .map(|&(_, column)| Source::Head(column))
                            .or_else(|| {
                                stored.iter().enumerate().find_map(|(k, &j)| {
                                    atoms[j]
                                        .iter()
                                        .position(|u| u == t)
                                        .map(|column| Source::Stored(k, column))
                                })
                            })
                            .expect("the stored premises cover this variable"),
                    })
                    .collect();
                (i, sources)
            })
            .collect();
        Layout { stored, rebuilt }
    }
}

/// The subsets of `0..n` with `size` elements, in lexicographic order.
fn subsets(n: usize, size: usize) -> Vec<Vec<usize>> {
    fn walk(
        start: usize,
        n: usize,
        size: usize,
        current: &mut Vec<usize>,
        out: &mut Vec<Vec<usize>>,
    ) {
        if current.len() == size {
            out.push(current.clone());
            return;
        }
        for i in start..n {
            current.push(i);
            walk(i + 1, n, size, current, out);
            current.pop();
        }
    }
    let mut out = Vec::new();
    walk(0, n, size, &mut Vec::new(), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Sources;
    use crate::program::lower;
    use crate::syntax::parse;

    /// The stored positions of the last rule of `text`.
    fn check(text: &str, expected: &[usize]) {
        let mut sources = Sources::default();
        let id = sources.add("t.rules", text);
        let (module, errors) = parse(id, text);
        assert!(errors.is_empty(), "{errors:?}");
        let program = lower(&[module], Vec::new(), &sources)
            .0
            .expect("valid program");
        let rule = program.rules().last().expect("a rule");
        assert_eq!(Layout::of(rule).stored, expected);
    }

    #[test]
    fn premises_implied_by_the_head_and_stored_ones_are_not_stored() {
        // `edge(Y, Z)` follows from the head and `path(X, Y)`.
        check(
            "edge(1, 2).\npath(X, Y) :- edge(X, Y).\npath(X, Z) :- path(X, Y), edge(Y, Z).",
            &[0],
        );
        // Every variable is in the head.
        check("e(1, 2).\ntri(X, Y, Z) :- e(X, Y), e(Y, Z), e(Z, X).", &[]);
        check(
            "p(1, 2).\ns(X, Y) :- p(X, Y).\ns(X, Y) :- p(X, A), s(A, B), p(Y, B).",
            &[1],
        );
    }

    #[test]
    fn anonymous_variables_and_assignments_need_the_row() {
        check("e(1, 2).\nq(X) :- e(X, _).", &[0]);
        check("e(1, 2). f(3).\nq(X) :- e(X, Y), W = Y + 1, f(W).", &[0, 1]);
    }
}
