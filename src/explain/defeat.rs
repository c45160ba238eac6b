//! Defeats: rule instances whose positive premises and conditions all hold, but which
//! a `not` premise blocks because the negated fact was derived. Each names the
//! conclusion it would have drawn, what it would have been worth, and the facts that
//! defeated it, with their explanations.
//!
//! Exceptions in a rule set are written as `not` premises (`not false_flag_suspected(I, G)`)
//! over relations declared `@exception`; other negations (`not official(S)`, which
//! routes a claim to the right rule) block nothing worth reporting. A program that
//! declares no `@exception` relation has every negation counted.

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
    /// The instance's positive premises.
    #[serde(skip)]
    pub premises: Vec<FactId>,
    /// The facts that defeated it, in the order of `defeated_by`.
    #[serde(skip)]
    pub blockers: Vec<FactId>,
    /// For a conclusion defeated through a premise: the premise that was defeated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub through: Option<String>,
}

/// Every defeated instance of the rules deriving `predicate` whose head matches
/// `tuple` (all instances when `None`), in rule order, strongest first within a rule.
/// Instances that differ only in premises but draw the same conclusion, by the same
/// rule, with the same defeaters are listed once, with the best confidence and the
/// premises of all. Instances whose conclusion holds a value no fact of the model has
/// (made by the instance's own arithmetic) are left out.
pub fn defeats(
    program: &Program,
    model: &Model,
    predicate: PredId,
    tuple: Option<&[ValueId]>,
) -> Vec<Defeat> {
    let mut builder = Builder::new(program, model);
    let mut out: Vec<Defeat> = Vec::new();
    let is_exception = exception_test(program);
    for rule in program.rules() {
        if rule.head.predicate != predicate || !rule.body.iter().any(&is_exception) {
            continue;
        }
        let mut start: Partial = vec![None; rule.variables.len()];
        if let Some(tuple) = tuple {
            if !Matcher::unify(&rule.head, tuple, &mut start) {
                continue;
            }
        }
        let found = instances(&mut builder.matcher, rule, start, &is_exception);
        let mut for_rule: Vec<Defeat> = Vec::new();
        for (bindings, premises, blockers) in found {
            let head = head_of(rule, &bindings);
            if !known(model, &head) {
                continue;
            }
            let would_be = worth(model, rule, &premises);
            let instance = instance_text(&builder, rule, &bindings);
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
                // The same conclusion by the same rule, defeated by the same facts: one
                // entry, the best instance shown, the premises of all of them kept.
                Some(existing) => {
                    for p in premises {
                        if !existing.premises.contains(&p) {
                            existing.premises.push(p);
                        }
                    }
                    if existing.would_be < round(would_be) {
                        existing.would_be = round(would_be);
                        existing.instance = instance;
                    }
                }
                None => for_rule.push(Defeat {
                    holds_anyway: model.find(predicate, &head).is_some(),
                    conclusion,
                    tuple: head,
                    rule: rule.label(),
                    instance,
                    would_be: round(would_be),
                    defeated_by,
                    premises,
                    blockers,
                    through: None,
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

/// Conclusions of `predicate` defeated one step down: rule instances that would hold
/// if a defeated premise (a fact of a derived relation that an exception took away)
/// held. `would_be` multiplies what the premise would have been worth; the defeaters
/// are the premise's.
pub fn defeats_through(program: &Program, model: &Model, predicate: PredId) -> Vec<Defeat> {
    let mut builder = Builder::new(program, model);
    let is_exception = exception_test(program);
    let mut below: rustc_hash::FxHashMap<PredId, Vec<Defeat>> = rustc_hash::FxHashMap::default();
    let mut out: Vec<Defeat> = Vec::new();
    for rule in program.rules() {
        if rule.head.predicate != predicate {
            continue;
        }
        for (i, literal) in rule.body.iter().enumerate() {
            let Literal::Pos(atom) = literal else {
                continue;
            };
            if !program.predicate(atom.predicate).derived || atom.predicate == predicate {
                continue;
            }
            let premise_defeats = below
                .entry(atom.predicate)
                .or_insert_with(|| {
                    defeats(program, model, atom.predicate, None)
                        .into_iter()
                        .filter(|d| !d.holds_anyway)
                        .collect()
                })
                .clone();
            for defeat in premise_defeats {
                let mut bindings: Partial = vec![None; rule.variables.len()];
                if !Matcher::unify(atom, &defeat.tuple, &mut bindings) {
                    continue;
                }
                // The rule's own exceptions may hold too: they defeat the same instance.
                let rest: Vec<&Literal> = rule
                    .body
                    .iter()
                    .enumerate()
                    .filter(|(j, l)| *j != i && !is_exception(l))
                    .map(|(_, l)| l)
                    .collect();
                let mut solutions: Vec<(Partial, Vec<FactId>)> = Vec::new();
                builder.matcher.solve(
                    rule,
                    &rest,
                    &mut bindings,
                    &mut Vec::new(),
                    &mut |b, premises| {
                        solutions.push((b.clone(), premises.to_vec()));
                        true
                    },
                );
                for (bindings, premises) in solutions {
                    let head = head_of(rule, &bindings);
                    if !known(model, &head) {
                        continue;
                    }
                    let would_be = defeat.would_be * worth(model, rule, &premises);
                    let conclusion =
                        fact_text(program, &builder.matcher.interner, predicate, &head);
                    if out.iter().any(|d| {
                        d.conclusion == conclusion && d.through.as_ref() == Some(&defeat.conclusion)
                    }) {
                        continue;
                    }
                    let instance = instance_text(&builder, rule, &bindings);
                    let mut all_premises = premises.clone();
                    all_premises.extend(defeat.premises.iter().copied());
                    let mut all_blockers = defeat.blockers.clone();
                    let mut defeated_by = defeat.defeated_by.clone();
                    for blocker in blockers(model, rule, &bindings, &is_exception) {
                        if !all_blockers.contains(&blocker) {
                            all_blockers.push(blocker);
                            let mut fresh = Builder::new(program, model);
                            defeated_by.push(Explanation::new(fresh.node(blocker)));
                        }
                    }
                    out.push(Defeat {
                        holds_anyway: model.find(predicate, &head).is_some(),
                        conclusion,
                        tuple: head,
                        rule: rule.label(),
                        instance,
                        would_be: round(would_be),
                        defeated_by,
                        premises: all_premises,
                        blockers: all_blockers,
                        through: Some(defeat.conclusion.clone()),
                    });
                }
            }
        }
    }
    out
}

/// Instances of `rule`'s body without its exceptions, extending `start`, for which some
/// exception holds: the bindings, the positive premises, and the facts that match
/// the negated atoms (first match per atom, in model order).
fn instances(
    matcher: &mut Matcher<'_>,
    rule: &Rule,
    start: Partial,
    is_exception: &dyn Fn(&Literal) -> bool,
) -> Vec<(Partial, Vec<FactId>, Vec<FactId>)> {
    let positive: Vec<&Literal> = rule.body.iter().filter(|l| !is_exception(l)).collect();
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
        let blockers = blockers(matcher.model, rule, &bindings, is_exception);
        if !blockers.is_empty() {
            // The matcher reports positive premises in written order, the order in
            // which evaluation multiplies their confidences.
            out.push((bindings, premises, blockers));
        }
    }
    out
}

/// Whether a literal is an exception: a `not` over a relation declared `@exception`, or
/// any `not` in a program that declares none.
fn exception_test(program: &Program) -> impl Fn(&Literal) -> bool + '_ {
    let declared = program.predicates().iter().any(|p| p.exception);
    move |literal: &Literal| match literal {
        Literal::Neg(atom) => !declared || program.predicate(atom.predicate).exception,
        _ => false,
    }
}

/// Whether every value is one the model knows. A defeated instance whose conclusion
/// holds a value computed only by that instance's own arithmetic names nothing in the
/// model (no incident, no group), so it is left out.
fn known(model: &Model, values: &[ValueId]) -> bool {
    values
        .iter()
        .all(|v| (v.0 as usize) < model.interner().len())
}

/// What an instance of `rule` with these premises gives: strength times premises.
fn worth(model: &Model, rule: &Rule, premises: &[FactId]) -> f64 {
    rule.strength
        * premises
            .iter()
            .map(|p| model.confidence(*p))
            .product::<f64>()
}

/// The head of `rule` under `bindings`, which bind every head variable (rules are safe).
fn head_of(rule: &Rule, bindings: &Partial) -> Vec<ValueId> {
    rule.head
        .args
        .iter()
        .map(|t| match t {
            crate::program::Term::Const(c) => *c,
            crate::program::Term::Var(v) => {
                bindings[v.0 as usize].expect("safe rules bind every head variable")
            }
        })
        .collect()
}

/// `rule` written with the values of `bindings`.
fn instance_text(builder: &Builder<'_>, rule: &Rule, bindings: &Partial) -> String {
    let mut instance = String::new();
    crate::program::write_rule(
        &mut instance,
        builder.matcher.program,
        rule,
        Some(bindings),
        &builder.matcher.interner,
    );
    instance
}

/// The facts that make the exception premises of `rule` fail under `bindings`: for
/// each, the first matching fact in value order.
fn blockers(
    model: &Model,
    rule: &Rule,
    bindings: &Partial,
    is_exception: &dyn Fn(&Literal) -> bool,
) -> Vec<FactId> {
    let mut out = Vec::new();
    for literal in rule.body.iter().filter(|l| is_exception(l)) {
        let Literal::Neg(atom) = literal else {
            continue;
        };
        let predicate = atom.predicate;
        let blocker = (0..model.len(predicate) as u32)
            .map(|row| FactId { predicate, row })
            .filter(|&fact| {
                let mut trial = bindings.clone();
                Matcher::unify(atom, model.tuple(fact), &mut trial)
            })
            .min_by(|&a, &b| model.tuple(a).cmp(model.tuple(b)));
        if let Some(fact) = blocker {
            out.push(fact);
        }
    }
    out
}

/// Defeats as text: one paragraph per defeated instance, each defeater's tree indented.
pub fn text(defeats: &[Defeat]) -> String {
    let mut out = String::new();
    for (i, defeat) in defeats.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let through = match &defeat.through {
            Some(premise) => format!(" through its premise {premise}"),
            None => String::new(),
        };
        out.push_str(&format!(
            "{} was defeated{through}{}: rule \"{}\" would give {} ({})\n",
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
