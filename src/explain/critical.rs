//! Sensitivity: which input facts a conclusion cannot do without.
//!
//! An input fact is critical to a conclusion when evaluating the program without it no
//! longer derives the conclusion, or derives it with a confidence below a threshold.
//! The candidates are the input facts at the leaves of the conclusion's best
//! derivation (and, for a combined fact, of each counted line), with the facts its
//! aggregates count (they set its value and its confidence) and the facts that keep
//! each exception it negates from holding (without one, the exception may hold and
//! defeat it). Each candidate is removed in turn and the program evaluated again.

use std::collections::BTreeSet;

use serde::Serialize;

use super::matcher::Partial;
use super::support::{Instance, Support};
use super::tree::{fact_text, Builder};
use crate::eval::{evaluate, Derivation, EvalOptions, FactId, LineOrigin, Model};
use crate::program::{Literal, Program, RuleId, Term};
use crate::value::ValueId;

/// What removing one input fact does to the conclusion.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "effect", rename_all = "snake_case")]
pub enum Effect {
    /// The conclusion is no longer derived.
    Fails,
    /// The conclusion is derived with this confidence, below the threshold.
    FallsTo {
        /// The confidence without the input fact.
        confidence: f64,
    },
    /// The conclusion still holds at or above the threshold, with this confidence.
    Holds {
        /// The confidence without the input fact.
        confidence: f64,
    },
}

/// One input fact of the best derivation and what its removal does.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Sensitivity {
    /// The input fact, as written.
    pub fact: String,
    /// Its source annotation, or where it was written.
    pub source: String,
    /// What removing it does.
    #[serde(flatten)]
    pub effect: Effect,
}

impl Sensitivity {
    /// Whether the conclusion fails or falls below the threshold without this fact.
    pub fn is_critical(&self) -> bool {
        !matches!(self.effect, Effect::Holds { .. })
    }
}

/// The input facts at the leaves of `fact`'s recorded best derivation, as indexes into
/// [`Program::facts`], in ascending order; with, at each rule node, the facts its
/// aggregates count and the facts that keep each of its negated atoms from holding
/// (removing one of those may let an exception hold and defeat the conclusion).
fn leaves(program: &Program, model: &Model, fact: FactId) -> BTreeSet<usize> {
    let mut out = BTreeSet::new();
    let mut seen = BTreeSet::new();
    let mut stack = vec![fact];
    let mut support = Support::new(program, model);
    let mut builder = Builder::new(program, model);
    while let Some(fact) = stack.pop() {
        if !seen.insert(fact) {
            continue;
        }
        if let Some(lines) = model.lines(fact) {
            // A combined fact rests on every counted line: removing a fact of any of
            // them lowers its confidence. Lines not counted change nothing if removed.
            for line in lines.iter().filter(|l| l.counted) {
                match &line.origin {
                    LineOrigin::Input(index) => {
                        out.insert(*index);
                    }
                    LineOrigin::Rule { rule, premises } => {
                        let premises = premise_facts(program, *rule, premises);
                        stack.extend(body_extras(
                            &mut support,
                            &mut builder,
                            fact,
                            *rule,
                            &premises,
                        ));
                        stack.extend(premises);
                    }
                }
            }
            continue;
        }
        match model.derivation(program, fact) {
            Derivation::Input(index) => {
                out.insert(index);
            }
            Derivation::Rule { rule, premises } => {
                let premises = premise_facts(program, rule, &premises);
                stack.extend(body_extras(
                    &mut support,
                    &mut builder,
                    fact,
                    rule,
                    &premises,
                ));
                stack.extend(premises);
            }
            Derivation::Unrecorded => {}
        }
    }
    out
}

/// The premise facts of a derivation by `rule` from its premise rows.
fn premise_facts(program: &Program, rule: RuleId, rows: &[u32]) -> Vec<FactId> {
    program
        .rule(rule)
        .positive_atoms()
        .zip(rows)
        .map(|(atom, &row)| FactId {
            predicate: atom.predicate,
            row,
        })
        .collect()
}

/// What a derivation of `fact` by `rule` rests on besides its positive premises: the
/// facts its aggregates count, the facts of its negated atoms that hold (uncertain
/// defeaters), and for each negated atom that does not hold, the facts that block it:
/// for every rule that would derive the atom, the fact of one of its negated literals
/// that holds where all its positive premises do.
fn body_extras(
    support: &mut Support<'_>,
    builder: &mut Builder<'_>,
    fact: FactId,
    rule: RuleId,
    premises: &[FactId],
) -> Vec<FactId> {
    let program = builder.matcher.program;
    let rule_ref = program.rule(rule);
    let mut out = support.counted(
        fact,
        &Instance {
            rule,
            premises: premises.to_vec(),
        },
    );
    let bindings = builder.bindings(rule_ref, fact, premises);
    for literal in &rule_ref.body {
        let Literal::Neg(atom) = literal else {
            continue;
        };
        let found = builder.matcher.matching(atom, &bindings);
        if !found.is_empty() {
            out.extend(found);
            continue;
        }
        // The atom's values under this derivation (`_` unbound).
        let values: Vec<Option<ValueId>> = atom
            .args
            .iter()
            .map(|t| match t {
                Term::Const(c) => Some(*c),
                Term::Var(v) => bindings[v.0 as usize],
            })
            .collect();
        for other in program.rules() {
            if other.head.predicate != atom.predicate {
                continue;
            }
            let mut head: Partial = vec![None; other.variables.len()];
            let unified =
                other
                    .head
                    .args
                    .iter()
                    .zip(&values)
                    .all(|(term, value)| match (term, value) {
                        (_, None) => true,
                        (Term::Const(c), Some(v)) => c == v,
                        (Term::Var(var), Some(v)) => match head[var.0 as usize] {
                            Some(bound) => bound == *v,
                            None => {
                                head[var.0 as usize] = Some(*v);
                                true
                            }
                        },
                    });
            if !unified {
                continue;
            }
            // Each negated literal of the other rule in turn, read as positive: its
            // facts, where the rest of the body holds, are what keep the atom away.
            for (k, flipped) in other.body.iter().enumerate() {
                let Literal::Neg(blocker) = flipped else {
                    continue;
                };
                let positive = Literal::Pos(blocker.clone());
                let body: Vec<&Literal> = other
                    .body
                    .iter()
                    .enumerate()
                    .map(|(j, l)| if j == k { &positive } else { l })
                    .collect();
                let n_positive = other.positive_atoms().count();
                let mut found = Vec::new();
                builder.matcher.solve(
                    other,
                    &body,
                    &mut head.clone(),
                    &mut Vec::new(),
                    &mut |_, premises| {
                        found.extend(premises.iter().copied());
                        found.len() < 64 * (n_positive + 1)
                    },
                );
                out.extend(found);
            }
        }
    }
    out
}

/// For each input fact of `fact`'s best derivation, what evaluating the program without
/// it gives. Facts whose removal makes the conclusion fail come first, then those that
/// lower it below `threshold` (lowest first), then the rest; ties in fact order.
pub fn critical(
    program: &Program,
    model: &Model,
    fact: FactId,
    threshold: f64,
) -> Vec<Sensitivity> {
    let tuple: Vec<_> = model
        .tuple(fact)
        .iter()
        .map(|v| model.interner().value(*v).clone())
        .collect();
    let mut out = Vec::new();
    for index in leaves(program, model, fact) {
        let input = &program.facts()[index];
        let reduced = program.without_fact(index);
        let options = EvalOptions {
            record_derivations: false,
            ..EvalOptions::default()
        };
        // Each input costs one evaluation: under a limit on explaining, it gets what is
        // left of the limit, and the search stops at the first evaluation that runs out.
        let reduced_model = match super::budget::remaining() {
            None => evaluate(&reduced, &options),
            Some(limits) => match crate::eval::evaluate_limited(&reduced, &options, &limits) {
                Ok(model) => model,
                Err(stopped) => {
                    super::budget::stop(stopped.limit);
                    break;
                }
            },
        };
        let ids: Option<Vec<_>> = tuple
            .iter()
            .map(|v| reduced_model.interner().get(v))
            .collect();
        let found = ids.and_then(|ids| reduced_model.find(fact.predicate, &ids));
        let effect = match found {
            None => Effect::Fails,
            Some(found) => {
                let confidence = super::round(reduced_model.confidence(found));
                if confidence < threshold {
                    Effect::FallsTo { confidence }
                } else {
                    Effect::Holds { confidence }
                }
            }
        };
        out.push(Sensitivity {
            fact: fact_text(program, program.interner(), input.predicate, &input.tuple),
            source: program.fact_source(input),
            effect,
        });
    }
    let rank = |s: &Sensitivity| match s.effect {
        Effect::Fails => (0, 0.0),
        Effect::FallsTo { confidence } => (1, confidence),
        Effect::Holds { confidence } => (2, -confidence),
    };
    out.sort_by(|a, b| {
        let (ka, ca) = rank(a);
        let (kb, cb) = rank(b);
        ka.cmp(&kb)
            .then(ca.total_cmp(&cb))
            .then_with(|| a.fact.cmp(&b.fact))
    });
    out
}

/// The answer as text: the critical facts with their sources, then a count of the rest.
pub fn text(conclusion: &str, sensitivities: &[Sensitivity], threshold: f64) -> String {
    let mut out = String::new();
    let still = if threshold > 0.0 {
        format!("still holds at {threshold} or more")
    } else {
        "is still derived".to_string()
    };
    let critical: Vec<&Sensitivity> = sensitivities.iter().filter(|s| s.is_critical()).collect();
    if critical.is_empty() {
        out.push_str(&format!(
            "No single input fact is critical to {conclusion}: without any one of the {} input facts of its best derivation it {still}.\n",
            sensitivities.len()
        ));
        return out;
    }
    out.push_str(&format!("Input facts critical to {conclusion}:\n"));
    for s in critical {
        let effect = match &s.effect {
            Effect::Fails => "without it the conclusion is not derived".to_string(),
            Effect::FallsTo { confidence } => format!(
                "without it the confidence falls to {confidence:.3} ({})",
                super::likelihood(*confidence)
            ),
            Effect::Holds { .. } => unreachable!("filtered above"),
        };
        out.push_str(&format!(
            "- {}\n    source: {}\n    {effect}\n",
            s.fact, s.source
        ));
    }
    let rest = sensitivities.iter().filter(|s| !s.is_critical()).count();
    if rest > 0 {
        out.push_str(&format!(
            "{rest} other input fact{} of the best derivation can each be removed and the conclusion {still}.\n",
            if rest == 1 { "" } else { "s" }
        ));
    }
    out
}
