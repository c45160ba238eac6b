//! Combining independent lines of evidence: the facts of `@combine(noisy_or)` relations
//! and the uncertain sources each derivation rests on.
//!
//! A *line* is one way a fact holds: an input fact, or one instance of a rule. Its
//! *sources* are the `@source` texts (or, lacking one, the places) of the input facts
//! with a confidence below 1 that it rests on, through the best derivation of each
//! premise. Certain facts (reference data at confidence 1) make no line depend on
//! another: if they are true, the lines are independent given them.
//!
//! Lines are taken most confident first; a line is counted if it shares no source with
//! a line already counted, so two statements from one report count once. The fact's
//! confidence is then `1 - (1 - c1)(1 - c2)...` over the counted lines. Greedy
//! selection keeps the result explainable line by line; it is a lower bound of what an
//! exact treatment of overlapping lines would give, never more.

use rustc_hash::FxHashMap;

use super::relation::INPUT_BIT;
use super::FactId;
use crate::program::{PredId, Program, RuleId};

/// How one line of evidence holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LineOrigin {
    /// An input fact of the relation: its index in [`Program::facts`].
    Input(usize),
    /// An instance of a rule with these premise rows, one per positive atom.
    Rule {
        /// The rule.
        rule: RuleId,
        /// Row of each premise, in the order of the rule's positive atoms.
        premises: Vec<u32>,
    },
}

/// One line of evidence for a fact of a `@combine(noisy_or)` relation.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    /// How it holds.
    pub origin: LineOrigin,
    /// Its own confidence (strength times premises, or the input fact's).
    pub confidence: f64,
    /// The uncertain sources it rests on, as ids for [`Model::source_name`](super::Model::source_name), sorted.
    pub sources: Vec<u32>,
    /// Whether it counts towards the fact's confidence.
    pub counted: bool,
    /// For a line not counted: a source it shares with a line counted before it.
    pub shares: Option<u32>,
}

impl Line {
    /// A line not yet weighed against the others.
    pub(crate) fn new(origin: LineOrigin, confidence: f64, sources: Vec<u32>) -> Line {
        Line {
            origin,
            confidence,
            sources,
            counted: false,
            shares: None,
        }
    }
}

/// Names of sources and the sources each fact rests on, computed on demand.
#[derive(Clone, Debug, Default)]
pub(crate) struct Lineage {
    ids: FxHashMap<String, u32>,
    /// Source texts by id.
    pub names: Vec<String>,
    /// Sources per fact already computed (combined facts are entered when combined).
    memo: FxHashMap<FactId, Vec<u32>>,
}

/// Sorted union of two sorted lists.
pub(crate) fn union(a: &[u32], b: &[u32]) -> Vec<u32> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let next = match (a.get(i), b.get(j)) {
            (Some(&x), Some(&y)) if x < y => {
                i += 1;
                x
            }
            (Some(&x), Some(&y)) if y < x => {
                j += 1;
                y
            }
            (Some(&x), Some(_)) => {
                i += 1;
                j += 1;
                x
            }
            (Some(&x), None) => {
                i += 1;
                x
            }
            (None, Some(&y)) => {
                j += 1;
                y
            }
            (None, None) => break,
        };
        out.push(next);
    }
    out
}

impl Lineage {
    /// The id of a source text.
    fn id(&mut self, name: String) -> u32 {
        if let Some(&id) = self.ids.get(&name) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(name.clone());
        self.ids.insert(name, id);
        id
    }

    /// The uncertain sources of input fact `index`: its own, if its confidence is below 1
    /// (none for an index that names no input fact).
    pub fn of_input(&mut self, program: &Program, index: usize) -> Vec<u32> {
        let Some(fact) = program.facts().get(index) else {
            return Vec::new();
        };
        if fact.confidence() < 1.0 {
            vec![self.id(program.fact_source(fact))]
        } else {
            Vec::new()
        }
    }

    /// Records the sources of a combined fact.
    pub fn set(&mut self, fact: FactId, sources: Vec<u32>) {
        self.memo.insert(fact, sources);
    }

    /// The uncertain sources of `fact` through recorded derivations. `derivation`
    /// gives a fact's recorded rule (or `INPUT_BIT | index`) and premise rows.
    pub fn of_fact(
        &mut self,
        program: &Program,
        fact: FactId,
        derivation: &impl Fn(FactId) -> (u32, Vec<u32>),
    ) -> Vec<u32> {
        // Depth first with an explicit stack: derivations can be thousands deep.
        let mut stack = vec![(fact, false)];
        while let Some((at, expanded)) = stack.pop() {
            if self.memo.contains_key(&at) {
                continue;
            }
            let (rule, rows) = derivation(at);
            if rule & INPUT_BIT != 0 {
                let sources = self.of_input(program, (rule & !INPUT_BIT) as usize);
                self.memo.insert(at, sources);
                continue;
            }
            let premises: Vec<FactId> = program
                .rule(RuleId(rule))
                .positive_atoms()
                .zip(&rows)
                .map(|(atom, &row)| FactId {
                    predicate: atom.predicate,
                    row,
                })
                .collect();
            if expanded {
                let mut sources = Vec::new();
                for p in &premises {
                    // A premise still missing is one on a cycle of records (there are
                    // none: see the evaluation's invariants); it adds nothing.
                    if let Some(s) = self.memo.get(p) {
                        sources = union(&sources, s);
                    }
                }
                self.memo.insert(at, sources);
            } else {
                stack.push((at, true));
                for p in premises {
                    if !self.memo.contains_key(&p) {
                        stack.push((p, false));
                    }
                }
            }
        }
        self.memo.get(&fact).cloned().unwrap_or_default()
    }
}

/// Chooses the counted lines of one fact and returns its combined confidence. Lines
/// are ordered most confident first, then those resting on fewer sources (they block
/// fewer others), then as given; this is also the order shown.
pub(crate) fn noisy_or(lines: &mut [Line]) -> f64 {
    lines.sort_by(|a, b| {
        b.confidence
            .total_cmp(&a.confidence)
            .then(a.sources.len().cmp(&b.sources.len()))
    });
    // A set, not a sorted list merged again after each counted line: that was
    // quadratic in the lines of one fact (10^5 independent lines).
    let mut taken: rustc_hash::FxHashSet<u32> = rustc_hash::FxHashSet::default();
    let mut doubt = 1.0;
    for line in lines.iter_mut() {
        let shared = line.sources.iter().find(|s| taken.contains(s)).copied();
        line.counted = shared.is_none();
        line.shares = shared;
        if line.counted {
            doubt *= 1.0 - line.confidence;
            taken.extend(line.sources.iter().copied());
        }
    }
    1.0 - doubt
}

/// Every line of the facts of one combined relation, with their rows.
pub(crate) type Lines = FxHashMap<FactId, Vec<Line>>;

/// The relations of `program` declared `@combine(noisy_or)`.
pub(crate) fn combined_predicates(program: &Program) -> Vec<PredId> {
    program
        .predicates()
        .iter()
        .enumerate()
        .filter(|(_, p)| p.combine == crate::program::Combine::NoisyOr)
        .map(|(i, _)| PredId(i as u32))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(confidence: f64, sources: &[u32]) -> Line {
        Line {
            origin: LineOrigin::Input(0),
            confidence,
            sources: sources.to_vec(),
            counted: false,
            shares: None,
        }
    }

    #[test]
    fn independent_lines_add_up_and_shared_ones_count_once() {
        let mut lines = vec![line(0.6, &[1]), line(0.6, &[2])];
        assert!((noisy_or(&mut lines) - 0.84).abs() < 1e-12);
        assert!(lines.iter().all(|l| l.counted));

        let mut lines = vec![line(0.6, &[1]), line(0.7, &[1, 3]), line(0.5, &[2])];
        let c = noisy_or(&mut lines);
        assert!((c - (1.0 - 0.3 * 0.5)).abs() < 1e-12);
        assert_eq!(lines[0].confidence, 0.7);
        assert!(!lines[1].counted);
        assert_eq!(lines[1].shares, Some(1));
        assert!(lines[2].counted);
    }

    #[test]
    fn among_equals_lines_with_fewer_sources_go_first() {
        // Taking the line with two sources first would block both others: 0.6.
        let mut lines = vec![line(0.6, &[1, 2]), line(0.6, &[1]), line(0.6, &[2])];
        let c = noisy_or(&mut lines);
        assert!((c - 0.84).abs() < 1e-12);
        assert_eq!(lines[2].sources, vec![1, 2]);
        assert!(!lines[2].counted);
    }

    #[test]
    fn lines_resting_on_certain_facts_only_are_independent() {
        let mut lines = vec![line(0.5, &[]), line(0.5, &[])];
        assert_eq!(noisy_or(&mut lines), 0.75);
    }

    #[test]
    fn union_merges_sorted_lists() {
        assert_eq!(union(&[1, 3, 5], &[2, 3, 6]), vec![1, 2, 3, 5, 6]);
        assert_eq!(union(&[], &[4]), vec![4]);
    }
}
