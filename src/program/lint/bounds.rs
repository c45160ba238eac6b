//! The best confidence each relation can reach, whatever the input: `None` for a relation
//! that can never hold.
//!
//! A relation declared with `rel` may get facts from fact files at run time, with any
//! confidence up to 1. An undeclared relation has only the facts of the program and what
//! its rules derive: at most the strength of a rule times the bounds of its positive
//! premises (aggregates and negations add no factor). A `@combine(noisy_or)` relation
//! adds up lines, so any line above 0 bounds it by 1. Strata are done in evaluation
//! order; within a recursive stratum, relations are finished best first (Knuth's
//! generalisation of Dijkstra's algorithm, sound because a factor is at most 1), so the
//! whole computation is one pass over the rules plus a heap.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::program::{Combine, PredId, Program, Rule};

/// A relation with a confidence it can reach, ordered by confidence for the heap.
#[derive(PartialEq)]
struct Candidate(f64, PredId);

impl Eq for Candidate {}

impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0
            .total_cmp(&other.0)
            .then_with(|| other.1.cmp(&self.1))
    }
}

/// The strength of `rule` times the bounds of its positive premises; `None` if a premise
/// can never hold.
pub(super) fn rule_bound(rule: &Rule, bounds: &[Option<f64>]) -> Option<f64> {
    let mut value = rule.strength;
    for atom in rule.positive_atoms() {
        value *= bounds[atom.predicate.0 as usize]?;
    }
    Some(value)
}

/// The bound of every relation, by [`PredId`].
pub(super) fn bounds(program: &Program) -> Vec<Option<f64>> {
    let n = program.predicates().len();
    let mut bounds: Vec<Option<f64>> = program
        .predicates()
        .iter()
        .map(|p| p.declared_at.map(|_| 1.0))
        .collect();
    for fact in program.facts() {
        let bound = &mut bounds[fact.predicate.0 as usize];
        *bound = Some(bound.map_or(fact.confidence(), |b: f64| b.max(fact.confidence())));
    }
    let mut stratum_of = vec![usize::MAX; n];
    for (index, stratum) in program.strata().iter().enumerate() {
        for p in &stratum.predicates {
            stratum_of[p.0 as usize] = index;
        }
    }
    let mut waiting: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (index, stratum) in program.strata().iter().enumerate() {
        if !stratum.recursive {
            for &rule in &stratum.rules {
                let rule = program.rule(rule);
                let head = rule.head.predicate.0 as usize;
                let Some(mut value) = rule_bound(rule, &bounds) else {
                    continue;
                };
                if program.predicate(rule.head.predicate).combine == Combine::NoisyOr && value > 0.0
                {
                    value = 1.0;
                }
                bounds[head] = Some(bounds[head].map_or(value, |b| b.max(value)));
            }
            continue;
        }
        let mut heap = BinaryHeap::new();
        for p in &stratum.predicates {
            if let Some(b) = bounds[p.0 as usize].take() {
                heap.push(Candidate(b, *p));
            }
        }
        // Per rule of the stratum: the product so far and the premises of this stratum
        // still unfinished.
        let mut partial = Vec::with_capacity(stratum.rules.len());
        let mut missing = Vec::with_capacity(stratum.rules.len());
        for (slot, &rule) in stratum.rules.iter().enumerate() {
            let rule = program.rule(rule);
            let mut value = Some(rule.strength);
            let mut count = 0usize;
            for atom in rule.positive_atoms() {
                let q = atom.predicate.0 as usize;
                if stratum_of[q] == index {
                    count += 1;
                    waiting[q].push(slot);
                } else {
                    value = value.zip(bounds[q]).map(|(v, b)| v * b);
                }
            }
            if let (Some(v), 0) = (value, count) {
                heap.push(Candidate(v, rule.head.predicate));
            }
            partial.push(value);
            missing.push(count);
        }
        let mut finished = vec![false; stratum.predicates.len()];
        let local = |p: PredId| {
            stratum
                .predicates
                .binary_search(&p)
                .expect("a relation of this stratum")
        };
        while let Some(Candidate(value, p)) = heap.pop() {
            if std::mem::replace(&mut finished[local(p)], true) {
                continue;
            }
            bounds[p.0 as usize] = Some(value);
            for slot in std::mem::take(&mut waiting[p.0 as usize]) {
                partial[slot] = partial[slot].map(|v| v * value);
                missing[slot] -= 1;
                if missing[slot] == 0 {
                    let rule = program.rule(stratum.rules[slot]);
                    if let Some(v) = partial[slot] {
                        if !finished[local(rule.head.predicate)] {
                            heap.push(Candidate(v, rule.head.predicate));
                        }
                    }
                }
            }
        }
        for p in &stratum.predicates {
            waiting[p.0 as usize].clear();
        }
    }
    bounds
}
