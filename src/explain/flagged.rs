//! Warnings the rule set derives: every fact of a `@warn` relation is a mistake in the
//! input that the rules can recognise (a group name that resolves to nothing, a claim
//! relation no rule reads, a grade written in lower case, a claim about an incident
//! nobody declared), reported as `W0620` at the input fact it rests on, with a
//! did-you-mean from the `@suggest` relation.
//!
//! The rules decide what is a mistake; this module only turns their conclusions into
//! diagnostics. It runs after evaluation, so `ascribe check` evaluates a program that
//! has `@warn` relations.

use std::collections::BTreeSet;

use crate::diagnostic::{suggest, Diagnostic};
use crate::eval::Model;
use crate::program::{annotate, PredId, Program};
use crate::value::{Value, ValueId};

use super::support::Support;

/// One `W0620` per fact of each `@warn` relation, in relation order and sorted within.
pub fn flagged(program: &Program, model: &Model) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let relations: Vec<PredId> = (0..program.predicates().len() as u32)
        .map(PredId)
        .filter(|&p| program.predicate(p).warn.is_some())
        .collect();
    if relations.is_empty() {
        return out;
    }
    let interner = model.interner();
    let mut support = Support::new(program, model);
    for p in relations {
        let predicate = program.predicate(p);
        let warn = predicate.warn.as_ref().expect("filtered on `@warn`");
        let choices: Vec<String> = match warn.suggest {
            Some((_, relation)) if program.predicate(relation).arity > 0 => model
                .sorted_facts(relation)
                .into_iter()
                .map(|f| plain(interner.value(model.tuple(f)[0])))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
            _ => Vec::new(),
        };
        for fact in model.sorted_facts(p) {
            let tuple = model.tuple(fact);
            let values: Vec<String> = tuple.iter().map(|&v| plain(interner.value(v))).collect();
            let message = annotate::fill(&warn.message, &predicate.columns, &values);
            let suspect: Option<ValueId> = warn.suggest.map(|(column, _)| tuple[column]);
            // The input fact to point at: the first one the conclusion rests on that
            // holds the suspect value, else the first one it rests on.
            let inputs = support.inputs(fact);
            let holding = suspect.and_then(|v| {
                inputs
                    .iter()
                    .copied()
                    .find(|&i| program.facts()[i].tuple.contains(&v))
            });
            let Some(index) = holding.or_else(|| inputs.iter().next().copied()) else {
                continue;
            };
            let input = &program.facts()[index];
            let mut d = Diagnostic::warning("W0620", message, input.span)
                .with_label("the rule set flags this fact")
                .with_note(format!(
                    "derived as `{}`; the rule set declares `{}` with `@warn`",
                    super::fact_text(program, interner, p, tuple),
                    predicate.name
                ));
            if let Some((column, relation)) = warn.suggest {
                let written = &values[column];
                d = match closest(written, &choices) {
                    Some(s) => d.with_help(format!("did you mean `{s}`?")),
                    None => d.with_help(format!(
                        "no value of `{}` is close to `{written}`; add it there if it is right",
                        program.predicate(relation).name
                    )),
                };
            }
            out.push(d);
        }
    }
    out
}

/// A value as written in a message: text without quotes.
fn plain(value: &Value) -> String {
    match value {
        Value::Text(text) => text.to_string(),
        other => other.to_string(),
    }
}

/// The closest choice: one equal but for case first (`b` -> `B`, `Apt40` -> `APT40`),
/// then the most similar ignoring case, then as written.
fn closest<'a>(written: &str, choices: &'a [String]) -> Option<&'a str> {
    if let Some(same) = choices
        .iter()
        .find(|c| c.as_str() != written && c.eq_ignore_ascii_case(written))
    {
        return Some(same);
    }
    let lower = written.to_lowercase();
    let lowered: Vec<String> = choices.iter().map(|c| c.to_lowercase()).collect();
    if let Some(found) = suggest(&lower, lowered.iter().map(String::as_str)) {
        let at = lowered
            .iter()
            .position(|c| c == found)
            .expect("found among the lowered choices");
        return Some(&choices[at]);
    }
    suggest(written, choices.iter().map(String::as_str))
}

#[cfg(test)]
mod tests {
    use super::closest;

    fn check(written: &str, choices: &[&str], expected: Option<&str>) {
        let choices: Vec<String> = choices.iter().map(|c| c.to_string()).collect();
        assert_eq!(closest(written, &choices), expected, "{written}");
    }

    #[test]
    fn closest_prefers_the_same_letters_in_another_case() {
        check("b", &["A", "B", "C"], Some("B"));
        check("Hafnium", &["HAFNIUM", "hafnium_x"], Some("HAFNIUM"));
        check(
            "conducted_bi",
            &["conducted_by", "operates_for"],
            Some("conducted_by"),
        );
        check("Sandwrom", &["Sandworm", "Sandworm Team"], Some("Sandworm"));
        check("zzz", &["conducted_by"], None);
    }
}
