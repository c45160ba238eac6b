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
}

/// Explains why `predicate(tuple)` was not derived.
pub fn why_not(program: &Program, model: &Model, predicate: PredId, values: &[Value]) -> WhyNot {
    let mut matcher = Matcher::new(program, model);
    let tuple: Vec<ValueId> = values
        .iter()
        .map(|v| matcher.interner.intern(v.clone()))
        .collect();
    let tuple = tuple.as_slice();
    let mut rules = Vec::new();
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
    WhyNot {
        fact: super::fact_text(program, &matcher.interner, predicate, tuple),
        rules,
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
        out
    }
}
