//! Every derivation of a fact, not only the best one: the rule instances that derive it,
//! and the input facts that some derivation of it rests on, transitively.
//!
//! The best derivation says why a fact has its confidence; the full support says which
//! evidence is consistent with it at all, which is what an analysis of competing
//! hypotheses lists.

use std::collections::BTreeSet;

use rustc_hash::{FxHashMap, FxHashSet};

use serde::Serialize;

use super::matcher::{Matcher, Partial};
use super::tree::{fact_text, round};
use crate::eval::{Derivation, FactId, Model};
use crate::program::{Literal, Program, RuleId};
use crate::value::ValueId;

/// One derivation of a fact, for `explain --all`.
#[derive(Clone, Debug, Serialize)]
pub struct Way {
    /// `input` or the rule's `@name` (`rule #n` without one).
    pub by: String,
    /// The rule instance with its values, or the input fact's source.
    pub text: String,
    /// What this derivation alone gives: strength times premises, or the input's confidence.
    pub confidence: f64,
    /// The ICD 203 term of the confidence.
    pub likelihood: &'static str,
    /// The positive premises with their confidences.
    pub premises: Vec<(String, f64)>,
    /// Whether this is the derivation the explanation tree shows.
    pub best: bool,
}

/// Every derivation of `fact`: its input facts first, then every rule instance in rule
/// order, each with what it alone would give.
pub fn all_derivations(program: &Program, model: &Model, fact: FactId) -> Vec<Way> {
    let mut support = Support::new(program, model);
    let mut builder = super::tree::Builder::new(program, model);
    let recorded = model.derivation(program, fact);
    let mut out = Vec::new();
    let key = (fact.predicate.0, model.tuple(fact).to_vec());
    for &index in support.inputs.get(&key).map(Vec::as_slice).unwrap_or(&[]) {
        let input = &program.facts()[index];
        out.push(Way {
            by: "input".to_string(),
            text: format!(
                "{} at {}",
                program.fact_source(input),
                program.fact_location(input)
            ),
            confidence: round(program.fact_confidence(input)),
            likelihood: super::likelihood(program.fact_confidence(input)),
            premises: Vec::new(),
            best: recorded == Derivation::Input(index),
        });
    }
    for instance in support.instances(fact) {
        let rule = program.rule(instance.rule);
        let bindings = builder.bindings(rule, fact, &instance.premises);
        let confidence = rule.strength
            * instance
                .premises
                .iter()
                .map(|p| model.confidence(*p))
                .product::<f64>()
            * builder.matcher.body_factors(rule, &bindings);
        let mut text = String::new();
        crate::program::write_rule(
            &mut text,
            program,
            rule,
            Some(&bindings),
            &builder.matcher.interner,
        );
        if super::budget::charge(text.len()) {
            break;
        }
        let rows: Vec<u32> = instance.premises.iter().map(|p| p.row).collect();
        let best = matches!(&recorded, Derivation::Rule { rule: r, premises } if *r == instance.rule && premises.as_slice() == rows.as_slice());
        out.push(Way {
            by: rule.label(),
            text,
            confidence: round(confidence),
            likelihood: super::likelihood(confidence),
            premises: instance
                .premises
                .iter()
                .map(|p| {
                    (
                        fact_text(program, model.interner(), p.predicate, model.tuple(*p)),
                        round(model.confidence(*p)),
                    )
                })
                .collect(),
            best,
        });
    }
    out
}

/// The derivations as text, one paragraph each.
pub fn text(fact: &str, ways: &[Way]) -> String {
    let mut out = format!(
        "{fact} is derived {} way{}:\n",
        ways.len(),
        if ways.len() == 1 { "" } else { "s" }
    );
    for (i, way) in ways.iter().enumerate() {
        out.push_str(&format!(
            "{}. {}  [{} {}]{}\n   {}\n",
            i + 1,
            if way.by == "input" {
                "input fact".to_string()
            } else {
                format!("by rule \"{}\"", way.by)
            },
            super::render::confidence(way.confidence),
            way.likelihood,
            if way.best {
                "  (best: the explanation shows this one)"
            } else {
                ""
            },
            way.text
        ));
        for (premise, confidence) in &way.premises {
            out.push_str(&format!(
                "   - {premise}  [{}]\n",
                super::render::confidence(*confidence)
            ));
        }
    }
    out
}

/// One way a fact is derived: a rule and its positive premises in written order.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
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
                .entry((fact.predicate.0, fact.tuple.to_vec()))
                .or_default()
                .push(index);
        }
        Support {
            matcher: Matcher::new(program, model),
            inputs,
            memo: FxHashMap::default(),
        }
    }

    /// The input facts (indexes into [`Program::facts`]) with the values of `fact`.
    pub fn input_indexes(&self, fact: FactId) -> &[usize] {
        let key = (fact.predicate.0, self.matcher.model.tuple(fact).to_vec());
        self.inputs.get(&key).map_or(&[], Vec::as_slice)
    }

    /// Every rule instance that derives `fact` in the model, in rule order.
    pub fn instances(&mut self, fact: FactId) -> Vec<Instance> {
        let program = self.matcher.program;
        let model = self.matcher.model;
        let mut out = Vec::new();
        // Instances met before: a rule can reach one instance through several solutions
        // (aggregates, repeated atoms), and a list search would be quadratic.
        let mut seen: rustc_hash::FxHashSet<Instance> = rustc_hash::FxHashSet::default();
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
                    if seen.insert(instance.clone()) {
                        // The instance, and its share of the text shown for it.
                        let stop = super::budget::charge(48 + 40 * instance.premises.len());
                        out.push(instance);
                        return !stop;
                    }
                    true
                },
            );
        }
        out
    }

    /// The facts the aggregates of `instance` (a derivation of `fact`) count: one
    /// instance of each distinct solution of each aggregate's body.
    pub fn counted(&mut self, fact: FactId, instance: &Instance) -> Vec<FactId> {
        let program = self.matcher.program;
        let model = self.matcher.model;
        let rule = program.rule(instance.rule);
        if !rule.body.iter().any(|l| matches!(l, Literal::Agg(_))) {
            return Vec::new();
        }
        let mut bindings: Partial = vec![None; rule.variables.len()];
        let unified = Matcher::unify(&rule.head, model.tuple(fact), &mut bindings)
            && rule
                .positive_atoms()
                .zip(&instance.premises)
                .all(|(atom, premise)| Matcher::unify(atom, model.tuple(*premise), &mut bindings));
        if !unified {
            return Vec::new();
        }
        // Assignments and aggregates before an aggregate may bind what it reads.
        let rest: Vec<&Literal> = rule
            .body
            .iter()
            .filter(|l| !matches!(l, Literal::Pos(_)))
            .collect();
        let mut complete = bindings.clone();
        self.matcher
            .solve(rule, &rest, &mut bindings, &mut Vec::new(), &mut |b, _| {
                complete = b.clone();
                false
            });
        let mut out = Vec::new();
        for literal in &rule.body {
            if let Literal::Agg(agg) = literal {
                for (_, facts) in self.matcher.aggregate_solutions(rule, agg, &complete) {
                    out.extend(facts);
                }
            }
        }
        out
    }

    /// The input facts (indexes into [`Program::facts`]) that some derivation of `fact`
    /// rests on, through every derivation of every premise and the facts its
    /// aggregates count.
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
                stack.extend(self.counted(at, &instance));
                stack.extend(instance.premises);
            }
        }
        self.memo.insert(fact, out.clone());
        out
    }
}
