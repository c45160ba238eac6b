//! "Why not": for a fact that was not derived, which rules could derive it and which of
//! their premises fails first.
//!
//! For each rule whose head matches the fact, the body is tried in written order: the
//! longest prefix of literals that has an instance is found, and the next literal is the
//! one that blocks the rule, shown with the values of one instance of the prefix.

use serde::Serialize;

use super::matcher::{Matcher, Partial};
use crate::eval::Model;
use crate::program::{write_literal, Literal, PredId, Program};
use crate::value::{Value, ValueId};

/// Why one rule does not derive the fact.
#[derive(Clone, Debug, Serialize)]
pub struct Blocked {
    /// The rule's `@name`, or `rule #n`.
    pub rule: String,
    /// The first literal (written order) without an instance, with known values filled in.
    pub missing: String,
    /// What kind of failure: `no_fact`, `fact_present` (for `not`), `condition_fails`.
    pub reason: &'static str,
}

/// Why a fact does not hold.
#[derive(Clone, Debug, Serialize)]
pub struct WhyNot {
    /// The fact asked about.
    pub fact: String,
    /// One entry per rule whose head could produce the fact, in program order.
    pub rules: Vec<Blocked>,
    /// Instances that an exception (a `not` premise) defeated, with what defeated them:
    /// of the fact itself, then of the derived premises that block its rules.
    pub defeated: Vec<super::Defeat>,
}

/// Explains why `predicate(tuple)` was not derived.
pub fn why_not(program: &Program, model: &Model, predicate: PredId, values: &[Value]) -> WhyNot {
    let mut matcher = Matcher::new(program, model);
    let tuple: Vec<ValueId> = values
        .iter()
        .map(|v| matcher.interner.intern_ref(v))
        .collect();
    let tuple = tuple.as_slice();
    let mut rules = Vec::new();
    // Derived premises that block a rule: an exception may have defeated them in turn.
    let mut premises_missing: Vec<(PredId, Vec<ValueId>)> = Vec::new();
    for rule in program.rules() {
        if rule.head.predicate != predicate {
            continue;
        }
        let mut head_bindings: Partial = vec![None; rule.variables.len()];
        if !Matcher::unify(&rule.head, tuple, &mut head_bindings) {
            continue;
        }
        // Find the first literal that cannot be added to an instance of the prefix.
        let mut blocked = None;
        for end in 1..=rule.body.len() {
            let prefix: Vec<&Literal> = rule.body[..end].iter().collect();
            let mut bindings = head_bindings.clone();
            let mut any = false;
            matcher.solve(
                rule,
                &prefix,
                &mut bindings,
                &mut Vec::new(),
                &mut |_, _| {
                    any = true;
                    false
                },
            );
            if !any {
                // Values known before the failing literal: one instance of the prefix.
                let before: Vec<&Literal> = rule.body[..end - 1].iter().collect();
                let mut example = head_bindings.clone();
                let mut bindings = head_bindings.clone();
                matcher.solve(
                    rule,
                    &before,
                    &mut bindings,
                    &mut Vec::new(),
                    &mut |b, _| {
                        example = b.clone();
                        false
                    },
                );
                let literal = &rule.body[end - 1];
                let mut text = String::new();
                write_literal(
                    &mut text,
                    program,
                    rule,
                    literal,
                    Some(&example),
                    &matcher.interner,
                );
                if let Literal::Pos(atom) = literal {
                    let ground: Option<Vec<ValueId>> = atom
                        .args
                        .iter()
                        .map(|t| match t {
                            crate::program::Term::Const(c) => Some(*c),
                            crate::program::Term::Var(v) => example[v.0 as usize],
                        })
                        .collect();
                    if let Some(ground) = ground {
                        if program.predicate(atom.predicate).derived
                            && !premises_missing.contains(&(atom.predicate, ground.clone()))
                        {
                            premises_missing.push((atom.predicate, ground));
                        }
                    }
                }
                let reason = match literal {
                    Literal::Pos(_) | Literal::Agg(_) => "no_fact",
                    Literal::Neg(_) => "fact_present",
                    Literal::Cmp { .. } | Literal::Assign { .. } => "condition_fails",
                };
                blocked = Some(Blocked {
                    rule: rule.label(),
                    missing: text,
                    reason,
                });
                break;
            }
        }
        if let Some(blocked) = blocked {
            rules.push(blocked);
        }
    }
    let known = |t: &[ValueId]| t.iter().all(|v| (v.0 as usize) < model.interner().len());
    // A value the model never saw cannot occur in any instance.
    let mut defeated = if known(tuple) {
        super::defeats(program, model, predicate, Some(tuple))
    } else {
        Vec::new()
    };
    for (premise, values) in &premises_missing {
        if known(values) {
            defeated.extend(super::defeats(program, model, *premise, Some(values)));
        }
    }
    WhyNot {
        fact: super::fact_text(program, &matcher.interner, predicate, tuple),
        rules,
        defeated,
    }
}

impl WhyNot {
    /// The answer as text.
    pub fn text(&self) -> String {
        let mut out = format!("{} was not derived.\n", self.fact);
        if self.rules.is_empty() {
            out.push_str("No rule has a head that matches it, and it is not an input fact.\n");
        }
        for blocked in &self.rules {
            let why = match blocked.reason {
                "fact_present" => "holds, so the negation fails",
                "condition_fails" => "is false",
                _ => "has no matching fact",
            };
            let shown = blocked
                .missing
                .strip_prefix("not ")
                .unwrap_or(&blocked.missing);
            out.push_str(&format!("- rule \"{}\": `{}` {why}\n", blocked.rule, shown));
        }
        if !self.defeated.is_empty() {
            out.push('\n');
            out.push_str(&super::defeat::text(&self.defeated));
        }
        out
    }
}
