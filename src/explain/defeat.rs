//! Defeats: rule instances whose positive premises and conditions all hold, but which
//! a `not` premise blocks because the negated fact was derived. Each names the
//! conclusion it would have drawn, what it would have been worth, and the facts that
//! defeated it, with their explanations.
//!
//! Exceptions in a rule set are written as `not` premises (`not false_flag_suspected(I, G)`),
//! so these are the conclusions an exception took away, and why.

use serde::Serialize;

use super::matcher::{Matcher, Partial};
use super::tree::{fact_text, round, Builder, Explanation};
use crate::eval::{FactId, Model};
use crate::program::{Literal, PredId, Program, Rule};
use crate::value::ValueId;

/// One defeated rule instance.
#[derive(Clone, Debug, Serialize)]
pub struct Defeat {
    /// The conclusion the instance would have drawn, e.g. `conducted_by(i, x)`.
    pub conclusion: String,
    /// The conclusion's values, for grouping by incident.
    #[serde(skip)]
    pub tuple: Vec<ValueId>,
    /// Whether the conclusion holds anyway, by another derivation.
    pub holds_anyway: bool,
    /// The rule's `@name`, or `rule #n`.
    pub rule: String,
    /// The rule with this instance's values.
    pub instance: String,
    /// The confidence the instance would have given: strength times its premises.
    pub would_be: f64,
    /// The negated premises that failed: the facts that hold, each explained.
    pub defeated_by: Vec<Explanation>,
}

/// Every defeated instance of the rules deriving `predicate` whose head matches
/// `tuple` (all instances when `None`), in rule order, strongest first within a rule.
/// Instances that differ only in premises but draw the same conclusion, by the same
/// rule, with the same defeaters are listed once, with the best confidence.
pub fn defeats(
    program: &Program,
    model: &Model,
    predicate: PredId,
    tuple: Option<&[ValueId]>,
) -> Vec<Defeat> {
    let mut builder = Builder::new(program, model);
    let mut out: Vec<Defeat> = Vec::new();
    for rule in program.rules() {
        if rule.head.predicate != predicate
            || !rule.body.iter().any(|l| matches!(l, Literal::Neg(_)))
        {
            continue;
        }
        let mut start: Partial = vec![None; rule.variables.len()];
        if let Some(tuple) = tuple {
            if !Matcher::unify(&rule.head, tuple, &mut start) {
                continue;
            }
        }
        let found = instances(&mut builder.matcher, rule, start);
        let mut for_rule: Vec<Defeat> = Vec::new();
        for (bindings, premises, blockers) in found {
            let head: Vec<ValueId> = rule
                .head
                .args
                .iter()
                .map(|t| match t {
                    crate::program::Term::Const(c) => *c,
                    crate::program::Term::Var(v) => {
                        bindings[v.0 as usize].expect("safe rules bind every head variable")
                    }
                })
                .collect();
            let would_be = rule.strength
                * premises
                    .iter()
                    .map(|p| model.confidence(*p))
                    .product::<f64>();
            let mut instance = String::new();
            crate::program::write_rule(
                &mut instance,
                program,
                rule,
                Some(&bindings),
                &builder.matcher.interner,
            );
            let conclusion = fact_text(program, &builder.matcher.interner, predicate, &head);
            let defeated_by: Vec<Explanation> = blockers
                .iter()
                .map(|&fact| {
                    let mut fresh = Builder::new(program, model);
                    Explanation::new(fresh.node(fact))
                })
                .collect();
            let same = for_rule.iter_mut().find(|d| {
                d.conclusion == conclusion
                    && d.defeated_by.len() == defeated_by.len()
                    && d.defeated_by
                        .iter()
                        .zip(&defeated_by)
                        .all(|(a, b)| a.root.fact == b.root.fact)
            });
            match same {
                Some(existing) if existing.would_be >= round(would_be) => {}
                Some(existing) => {
                    existing.would_be = round(would_be);
                    existing.instance = instance;
                }
                None => for_rule.push(Defeat {
                    holds_anyway: model.find(predicate, &head).is_some(),
                    conclusion,
                    tuple: head,
                    rule: rule.label(),
                    instance,
                    would_be: round(would_be),
                    defeated_by,
                }),
            }
        }
        for_rule.sort_by(|a, b| {
            b.would_be
                .total_cmp(&a.would_be)
                .then_with(|| a.conclusion.cmp(&b.conclusion))
        });
        out.extend(for_rule);
    }
    out
}

/// Instances of `rule`'s body without its negations, extending `start`, for which some
/// negated atom holds: the bindings, the positive premises, and the facts that match
/// the negated atoms (first match per atom, in model order).
fn instances(
    matcher: &mut Matcher<'_>,
    rule: &Rule,
    start: Partial,
) -> Vec<(Partial, Vec<FactId>, Vec<FactId>)> {
    let positive: Vec<&Literal> = rule
        .body
        .iter()
        .filter(|l| !matches!(l, Literal::Neg(_)))
        .collect();
    let mut solutions: Vec<(Partial, Vec<FactId>)> = Vec::new();
    let mut bindings = start;
    matcher.solve(
        rule,
        &positive,
        &mut bindings,
        &mut Vec::new(),
        &mut |b, premises| {
            solutions.push((b.clone(), premises.to_vec()));
            true
        },
    );
    let mut out = Vec::new();
    for (bindings, premises) in solutions {
        let mut blockers = Vec::new();
        for literal in &rule.body {
            let Literal::Neg(atom) = literal else {
                continue;
            };
            let predicate = atom.predicate;
            let model = matcher.model;
            let blocker = (0..model.len(predicate) as u32)
                .map(|row| FactId { predicate, row })
                .filter(|&fact| {
                    let mut trial = bindings.clone();
                    Matcher::unify(atom, model.tuple(fact), &mut trial)
                })
                .min_by(|&a, &b| model.tuple(a).cmp(model.tuple(b)));
            if let Some(fact) = blocker {
                blockers.push(fact);
            }
        }
        if !blockers.is_empty() {
            // The matcher reports positive premises in written order, the order in
            // which evaluation multiplies their confidences.
            out.push((bindings, premises, blockers));
        }
    }
    out
}

/// Defeats as text: one paragraph per defeated instance, each defeater's tree indented.
pub fn text(defeats: &[Defeat]) -> String {
    let mut out = String::new();
    for defeat in defeats {
        out.push_str(&format!(
            "{} was defeated{}: rule \"{}\" would give {} ({})\n",
            defeat.conclusion,
            if defeat.holds_anyway {
                " on one line (it holds by another)"
            } else {
                ""
            },
            defeat.rule,
            super::render::confidence(defeat.would_be),
            super::likelihood(defeat.would_be)
        ));
        out.push_str(&format!("    {}\n", defeat.instance));
        for explanation in &defeat.defeated_by {
            out.push_str("  defeated by:\n");
            for line in super::render::text(explanation).lines() {
                out.push_str("    ");
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}
