//! Every derivation of a fact, not only the best one: the rule instances that derive it,
//! and the input facts that some derivation of it rests on, transitively.
//!
//! The best derivation says why a fact has its confidence; the full support says which
//! evidence is consistent with it at all, which is what an analysis of competing
//! hypotheses lists.

use std::collections::BTreeSet;

use rustc_hash::{FxHashMap, FxHashSet};

use super::matcher::{Matcher, Partial};
use crate::eval::{FactId, Model};
use crate::program::{Literal, Program, RuleId};
use crate::value::ValueId;

/// One way a fact is derived: a rule and its positive premises in written order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instance {
    /// The rule.
    pub rule: RuleId,
    /// The positive premises.
    pub premises: Vec<FactId>,
}

/// Finds derivations and supports over one model.
pub struct Support<'a> {
    matcher: Matcher<'a>,
    inputs: FxHashMap<(u32, Vec<ValueId>), Vec<usize>>,
    memo: FxHashMap<FactId, BTreeSet<usize>>,
}

impl<'a> Support<'a> {
    /// Prepares searches over `model`.
    pub fn new(program: &'a Program, model: &'a Model) -> Support<'a> {
        let mut inputs: FxHashMap<(u32, Vec<ValueId>), Vec<usize>> = FxHashMap::default();
        for (index, fact) in program.facts().iter().enumerate() {
            inputs
                .entry((fact.predicate.0, fact.tuple.clone()))
                .or_default()
                .push(index);
        }
        Support {
            matcher: Matcher::new(program, model),
            inputs,
            memo: FxHashMap::default(),
        }
    }

    /// Every rule instance that derives `fact` in the model, in rule order.
    pub fn instances(&mut self, fact: FactId) -> Vec<Instance> {
        let program = self.matcher.program;
        let model = self.matcher.model;
        let mut out = Vec::new();
        for rule in program.rules() {
            if rule.head.predicate != fact.predicate {
                continue;
            }
            let mut bindings: Partial = vec![None; rule.variables.len()];
            if !Matcher::unify(&rule.head, model.tuple(fact), &mut bindings) {
                continue;
            }
            let body: Vec<&Literal> = rule.body.iter().collect();
            self.matcher.solve(
                rule,
                &body,
                &mut bindings,
                &mut Vec::new(),
                &mut |_, premises| {
                    let instance = Instance {
                        rule: rule.id,
                        premises: premises.to_vec(),
                    };
                    if !out.contains(&instance) {
                        out.push(instance);
                    }
                    true
                },
            );
        }
        out
    }

    /// The input facts (indexes into [`Program::facts`]) that some derivation of `fact`
    /// rests on, through every derivation of every premise.
    pub fn inputs(&mut self, fact: FactId) -> BTreeSet<usize> {
        if let Some(known) = self.memo.get(&fact) {
            return known.clone();
        }
        let model = self.matcher.model;
        let mut out = BTreeSet::new();
        let mut seen = FxHashSet::default();
        let mut stack = vec![fact];
        while let Some(at) = stack.pop() {
            if !seen.insert(at) {
                continue;
            }
            if let Some(known) = self.memo.get(&at) {
                out.extend(known.iter().copied());
                continue;
            }
            let key = (at.predicate.0, model.tuple(at).to_vec());
            if let Some(indexes) = self.inputs.get(&key) {
                out.extend(indexes.iter().copied());
            }
            for instance in self.instances(at) {
                stack.extend(instance.premises);
            }
        }
        self.memo.insert(fact, out.clone());
        out
    }
}
